//! Turns source rows into resources, fetching the child tables' rows of a page in batched
//! statements, never one per row: one for all of them on PostgreSQL, else one per child table
//! ([`crate::sql::Dialect::reads_children_in_one_union`]).

use std::collections::{HashMap, HashSet};

use super::matches::Session;
use crate::assemble::resource::{ChildRows, build};
use crate::assemble::served::Resource;
use crate::db::DbError;
use crate::mapping::sql::{ChildRead, child_rows, children_rows, split_children_rows};
use crate::mapping::{ChildLayout, Source, SourceLayout};
use crate::plan::MAX_KEYS_PER_STATEMENT;
use crate::sql::{Row, Value};

/// The most keys bound in one statement reading several child tables (PostgreSQL binds at
/// most 65,535 parameters): a source with more child tables than that allows reads them one
/// statement each.
const MAX_UNION_PARAMS: usize = 32_000;

/// The rows of one child table for a page of parents.
struct FetchedChild {
    rows: Vec<Row>,
    /// Parent key text → indexes into `rows` (hashed with foldhash: keys from the database,
    /// looked up once per parent of every page).
    by_parent: HashMap<String, Vec<usize>, foldhash::fast::RandomState>,
}

impl FetchedChild {
    /// `rows` of a child table, indexed by the text of their key.
    fn of(rows: Vec<Row>, layout: &ChildLayout) -> FetchedChild {
        let mut by_parent: HashMap<String, Vec<usize>, _> = HashMap::default();
        for (i, r) in rows.iter().enumerate() {
            if let Some(k) = r.get(layout.key).and_then(Value::key_text) {
                by_parent.entry(k).or_default().push(i);
            }
        }
        FetchedChild { rows, by_parent }
    }
}

/// `keys` with the last one repeated up to the next power of two (at most
/// [`MAX_KEYS_PER_STATEMENT`]), so that pages of 13 or 20 parents send the same statement
/// text (`IN` with 32 parameters) and the database's prepared statement is reused.
fn padded(keys: &[Value]) -> Vec<Value> {
    let len = keys
        .len()
        .next_power_of_two()
        .min(MAX_KEYS_PER_STATEMENT)
        .max(keys.len());
    let mut out = keys.to_vec();
    if let Some(last) = keys.last() {
        out.resize(len, last.clone());
    }
    out
}

/// Builds the resources of `rows` (all from `source`), parallel to `rows` (`None` for a row
/// without a usable id); written as JSON at once where the session says so.
pub(super) async fn build_resources<'m>(
    session: &Session<'_>,
    source: &'m Source,
    layout: &SourceLayout,
    rows: &[Row],
) -> Result<Vec<Option<Resource<'m>>>, DbError> {
    build_resources_given(session, source, layout, rows, Vec::new()).await
}

/// [`build_resources`], with the rows of some child tables already read (`given[k]`: the rows
/// of child `k` for the keys of `rows`, as its own statement would have read them; a child
/// without an entry, or `None`, is read here).
pub(super) async fn build_resources_given<'m>(
    session: &Session<'_>,
    source: &'m Source,
    layout: &SourceLayout,
    rows: &[Row],
    mut given: Vec<Option<Vec<Row>>>,
) -> Result<Vec<Option<Resource<'m>>>, DbError> {
    let dialect = session.fhir.caps.dialect;
    let child_layouts: Vec<ChildLayout> = source.children.iter().map(ChildLayout::of).collect();
    given.resize(source.children.len(), None);
    // The parent keys of every child not given, each chunk of keys read with the other
    // children's same chunk, in one statement.
    let mut wanted: Vec<(usize, Vec<Value>)> = Vec::new();
    for (k, given) in given.iter().enumerate() {
        if given.is_some() {
            continue;
        }
        let mut keys: Vec<Value> = Vec::new();
        let mut seen = HashSet::with_hasher(foldhash::fast::RandomState::default());
        for row in rows {
            if let Some(key) = row.get(layout.parent_keys[k]).and_then(Value::as_key)
                && seen.insert(key.key_text())
            {
                keys.push(key);
            }
        }
        if !keys.is_empty() {
            wanted.push((k, keys));
        }
    }
    let chunks = wanted
        .iter()
        .map(|(_, keys)| keys.len().div_ceil(MAX_KEYS_PER_STATEMENT))
        .max()
        .unwrap_or(0);
    for c in 0..chunks {
        let chunk: Vec<(usize, Vec<Value>)> = wanted
            .iter()
            .filter_map(|(k, keys)| {
                let part = keys.chunks(MAX_KEYS_PER_STATEMENT).nth(c)?;
                Some((*k, padded(part)))
            })
            .collect();
        let params: usize = chunk.iter().map(|(_, keys)| keys.len()).sum();
        if chunk.len() == 1 || !dialect.reads_children_in_one_union() || params > MAX_UNION_PARAMS {
            for (k, keys) in &chunk {
                let stmt = child_rows(&source.children[*k], &child_layouts[*k], keys, dialect);
                let read = session.db.fetch(&stmt).await?;
                given[*k].get_or_insert_with(Vec::new).extend(read);
            }
            continue;
        }
        let reads: Vec<ChildRead> = chunk
            .iter()
            .map(|(k, keys)| ChildRead {
                child: &source.children[*k],
                layout: &child_layouts[*k],
                keys,
            })
            .collect();
        let read = session.db.fetch(&children_rows(&reads, dialect)).await?;
        let widths: Vec<usize> = reads.iter().map(|r| r.layout.columns.len()).collect();
        let Some(parts) = split_children_rows(read, &widths) else {
            return Err(DbError::Query(
                "the child tables' statement returned rows of another shape".into(),
            ));
        };
        for ((k, _), part) in chunk.iter().zip(parts) {
            given[*k].get_or_insert_with(Vec::new).extend(part);
        }
    }
    let fetched: Vec<FetchedChild> = given
        .into_iter()
        .zip(&child_layouts)
        .map(|(rows, cl)| FetchedChild::of(rows.unwrap_or_default(), cl))
        .collect();
    let tz = session.fhir.mapping.timezone;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let children: Vec<ChildRows> = source
            .children
            .iter()
            .zip(&child_layouts)
            .zip(&fetched)
            .enumerate()
            .map(|(k, ((child, cl), f))| ChildRows {
                child,
                layout: cl,
                rows: row
                    .get(layout.parent_keys[k])
                    .and_then(Value::key_text)
                    .and_then(|key| f.by_parent.get(&key))
                    .map(|idx| idx.iter().map(|&i| &f.rows[i]).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let r = build(source, layout, row, &children, tz);
        if r.is_none() {
            tracing::warn!(source = %source.name, "row without a usable id skipped");
        }
        out.push(r.map(|b| {
            if session.compact_json {
                Resource::written(b)
            } else {
                Resource::Built(b)
            }
        }));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_lists_are_padded_to_a_power_of_two_with_the_last_key() {
        let keys: Vec<Value> = (1..=13).map(Value::Int).collect();
        let p = padded(&keys);
        assert_eq!(p.len(), 16);
        assert_eq!(&p[..13], &keys[..]);
        assert!(p[13..].iter().all(|k| *k == Value::Int(13)));
        assert_eq!(padded(&keys[..1]), vec![Value::Int(1)]);
        assert!(padded(&[]).is_empty());
        let many: Vec<Value> = (0..1000).map(Value::Int).collect();
        assert_eq!(padded(&many).len(), 1000);
    }
}
