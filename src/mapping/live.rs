//! Checks a compiled mapping against the live database, before serving: every table and
//! column it names exists (names get the database's own spelling, types are recorded), and
//! every SQL fragment it holds runs (a probe query per source and child table that selects
//! every mapped value and returns no row). What the server does at start-up, and what a
//! `check` command would run.

use std::collections::HashMap;

use super::layout::{ChildLayout, SourceLayout};
use super::schema_check::{SchemaInfo, apply_schema_each, relation_key, relations};
use super::sql::{child_rows, write_select};
use super::typing;
use super::{Mapping, MappingError, MappingLoadError, Relation, Source};
use crate::db::Database;
use crate::sql::{DbColumn, Dialect, SqlWriter, Statement};

/// Statements that select every mapped value of `source` (and of each of its child tables)
/// but return no row: run at start-up, they make the database check every expression, filter
/// and join of the mapping. Each comes with the entry it checks, for messages.
pub fn probes(source: &Source, dialect: Dialect) -> Vec<(String, Statement)> {
    let entry = format!("resource \"{}\" ({})", source.name, source.resource_type);
    let layout = SourceLayout::of(source);
    let mut w = SqlWriter::new(dialect);
    write_select(&mut w, source, &layout);
    w.push(" AND 1=0");
    let mut out = vec![(entry.clone(), w.finish())];
    for child in &source.children {
        let cl = ChildLayout::of(child);
        let stmt = child_rows(child, &cl, &[], dialect);
        out.push((format!("{entry}, child \"{}\"", child.written), stmt));
    }
    out
}

fn select_all(r: &Relation) -> String {
    match r {
        Relation::Table(t) => format!("SELECT * FROM {t}"),
        Relation::Query(q) => format!("SELECT * FROM ({q}) probe"),
    }
}

/// How a table name from the mapping is written in SQL: quoted as written when that works
/// (keeps case, survives keywords), else as written (unquoted names folded by the database,
/// e.g. PostgreSQL's lower case, or names the user quoted themselves).
async fn resolve_table(db: &Database, table: &str) -> (String, Result<Vec<DbColumn>, String>) {
    let plain = table
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if plain {
        let quoted = table
            .split('.')
            .map(|part| db.dialect().quote_ident(part))
            .collect::<Vec<_>>()
            .join(".");
        if let Ok(cols) = db.describe_table(&quoted).await {
            return (quoted, Ok(cols));
        }
    }
    let described = db.describe_table(table).await.map_err(|e| e.to_string());
    (table.to_string(), described)
}

fn rename_tables(mapping: &mut Mapping, renamed: &HashMap<String, String>) {
    let rename = |r: &mut Relation| {
        if let Relation::Table(t) = r
            && let Some(new) = renamed.get(t.as_str())
        {
            *t = new.clone();
        }
    };
    for s in &mut mapping.sources {
        rename(&mut s.relation);
        for j in &mut s.joins {
            if let Some(new) = renamed.get(&j.table) {
                j.table = new.clone();
            }
        }
        for c in &mut s.children {
            rename(&mut c.relation);
        }
    }
}

/// Checks every table, column and SQL fragment of the mapping against the database, and
/// replaces column names by their real spelling and types every value; every problem found.
pub async fn check_against_database(
    path: &str,
    mapping: &mut Mapping,
    db: &Database,
) -> Result<(), MappingLoadError> {
    let errors = check(mapping, db).await;
    if errors.is_empty() {
        Ok(())
    } else {
        Err(MappingLoadError::Invalid {
            path: path.to_string(),
            errors,
        })
    }
}

/// What [`check_against_database`] does, returning every problem: the schema (tables and
/// columns), the types of expressions (from the probe queries), and the probe queries
/// themselves; and each source is given the leading keys of its table's indexes. A source whose tables or columns are wrong is not probed (its SQL would fail
/// for the same reason).
pub async fn check(mapping: &mut Mapping, db: &Database) -> Vec<MappingError> {
    let mut schema = SchemaInfo::new();
    let mut renamed = HashMap::new();
    for r in relations(mapping) {
        match &r {
            Relation::Table(t) => {
                let (text, described) = resolve_table(db, t).await;
                schema.insert(relation_key(&Relation::Table(text.clone())), described);
                renamed.insert(t.clone(), text);
            }
            Relation::Query(_) => {
                let described = db
                    .describe(&select_all(&r))
                    .await
                    .map_err(|e| e.to_string());
                schema.insert(relation_key(&r), described);
            }
        }
    }
    rename_tables(mapping, &renamed);
    let (mut errors, failed) = apply_schema_each(mapping, &schema);
    for (i, source) in mapping.sources.iter_mut().enumerate() {
        if failed.contains(&i) {
            continue;
        }
        // What each selected expression yields, as the database describes the probe query.
        let probes = probes(source, db.dialect());
        let mut described = Vec::new();
        for (_, stmt) in &probes {
            described.push(db.describe(&stmt.sql).await.unwrap_or_default());
        }
        typing::type_source(source, &described, db.dialect(), &mut errors);
    }
    typing::type_references(mapping);
    // A source whose tables or columns are wrong has no types to check.
    typing::check_types_needed(mapping, db.dialect(), &|i| failed.contains(&i), &mut errors);
    for (i, source) in mapping.sources.iter().enumerate() {
        if failed.contains(&i) {
            continue;
        }
        for (entry, stmt) in probes(source, db.dialect()) {
            if let Err(e) = db.fetch(&stmt).await {
                errors.push(
                    MappingError::new(source.line, entry, format!("the generated SQL fails: {e}"))
                        .hint("check `filter`, `expr`, `join` and `order_by` SQL against your database"),
                );
            }
        }
    }
    read_index_leads(mapping, db).await;
    errors
}

/// Gives each source the leading keys of its table's indexes. Without them a search pages in
/// key order, so a catalog that cannot be read costs speed, not correctness (logged).
async fn read_index_leads(mapping: &mut Mapping, db: &Database) {
    let leads = match crate::db::introspect::index_leads(db).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "the indexes could not be read: searches page in key order");
            return;
        }
    };
    for source in &mut mapping.sources {
        if let Some(table) = source.table_name() {
            source.index_leads = leads
                .iter()
                .filter(|(t, _)| *t == table)
                .map(|(_, k)| k.clone())
                .collect();
        }
    }
}
