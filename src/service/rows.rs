//! Turns source rows into resources, fetching child-table rows in one batched statement per
//! child table (never one per row).

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::assemble::resource::{ChildRows, resource};
use crate::db::{Database, DbError, QueryCounter};
use crate::mapping::{Mapping, Source};
use crate::plan::read::child_rows;
use crate::plan::{ChildLayout, KeyValue, SourceLayout};
use crate::sql::{Row, Value};

/// Most keys bound in one child statement (far below every backend's parameter limit).
const MAX_KEYS_PER_STATEMENT: usize = 1000;

fn key_value(v: &Value) -> Option<KeyValue> {
    match v {
        Value::Null => None,
        Value::Int(i) => Some(KeyValue::Int(*i)),
        other => other.key_text().map(KeyValue::Text),
    }
}

/// The rows of one child table for a page of parents.
struct FetchedChild {
    rows: Vec<Row>,
    /// Parent key text → indexes into `rows`.
    by_parent: HashMap<String, Vec<usize>>,
}

/// Builds the resources of `rows` (all from `source`), parallel to `rows` (`None` for a row
/// without a usable id).
pub async fn build_resources(
    mapping: &Mapping,
    db: &Database,
    source: &Source,
    layout: &SourceLayout,
    rows: &[Row],
    counter: &QueryCounter,
) -> Result<Vec<Option<Map<String, Json>>>, DbError> {
    let child_layouts: Vec<ChildLayout> = source.children.iter().map(ChildLayout::of).collect();
    let mut fetched: Vec<FetchedChild> = Vec::new();
    for (k, (child, cl)) in source.children.iter().zip(&child_layouts).enumerate() {
        let mut keys: Vec<KeyValue> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for row in rows {
            if let Some(kv) = row.get(layout.parent_keys[k]).and_then(key_value)
                && seen.insert(kv.clone())
            {
                keys.push(kv);
            }
        }
        let mut child_rows_all = Vec::new();
        for chunk in keys.chunks(MAX_KEYS_PER_STATEMENT) {
            let stmt = child_rows(child, cl, chunk, db.dialect());
            child_rows_all.extend(db.fetch(&stmt, counter).await?);
        }
        let mut by_parent: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in child_rows_all.iter().enumerate() {
            if let Some(k) = r.get(cl.key).and_then(Value::key_text) {
                by_parent.entry(k).or_default().push(i);
            }
        }
        fetched.push(FetchedChild {
            rows: child_rows_all,
            by_parent,
        });
    }
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let children: Vec<ChildRows> = source
            .children
            .iter()
            .zip(&child_layouts)
            .enumerate()
            .map(|(k, (child, cl))| {
                let f = &fetched[k];
                let rows = row
                    .get(layout.parent_keys[k])
                    .and_then(Value::key_text)
                    .and_then(|key| f.by_parent.get(&key))
                    .map(|idx| idx.iter().map(|&i| &f.rows[i]).collect())
                    .unwrap_or_default();
                ChildRows {
                    child,
                    layout: cl,
                    rows,
                }
            })
            .collect();
        let r = resource(source, layout, row, &children, mapping.timezone);
        if r.is_none() {
            tracing::warn!(source = %source.name, "row without a usable id skipped");
        }
        out.push(r);
    }
    Ok(out)
}
