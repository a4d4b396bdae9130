//! Statements that read a source's rows by id, and the batched child-table reads.

use sea_query::Value;

use super::layout::{ChildLayout, SourceLayout};
use crate::mapping::{Child, Relation, Source, SqlValue};
use crate::sql::Dialect;
use crate::sql::{SqlWriter, Statement};

/// A key value bound into a statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum KeyValue {
    /// An integer key.
    Int(i64),
    /// A text key.
    Text(String),
}

impl From<KeyValue> for Value {
    fn from(k: KeyValue) -> Value {
        match k {
            KeyValue::Int(i) => Value::from(i),
            KeyValue::Text(s) => Value::from(s),
        }
    }
}

/// The key to look up for the part of a logical id after the source's prefix, or `None` when
/// no row can have it (e.g. letters for an integer key).
pub fn key_for_id(source: &Source, rest: &str) -> Option<KeyValue> {
    if source.id.integer {
        rest.parse::<i64>().ok().map(KeyValue::Int)
    } else {
        Some(KeyValue::Text(rest.to_string()))
    }
}

/// Writes a selected value: a qualified, quoted column or a parenthesized expression.
pub fn write_value(w: &mut SqlWriter, alias: &str, v: &SqlValue) {
    match v {
        SqlValue::Column(c) => {
            // Aliases are written unquoted, exactly as the mapping's own SQL fragments (filters,
            // join conditions) refer to them; column names are the database's real spelling.
            w.push(c.qualifier.as_deref().unwrap_or(alias));
            w.push(".").ident(&c.name);
        }
        SqlValue::Expr(e) => {
            w.push("(").push(e).push(")");
        }
    }
}

/// `<table> <alias>` or `(<query>) <alias>`.
pub fn write_relation(w: &mut SqlWriter, relation: &Relation, alias: &str) {
    match relation {
        Relation::Table(t) => w.push(t),
        Relation::Query(q) => w.push("(").push(q).push(")"),
    };
    w.push(" ").push(alias);
}

/// `SELECT <columns> FROM <source> LEFT JOIN <lookups> WHERE (<filter>)`.
pub fn write_source_select(w: &mut SqlWriter, source: &Source, layout: &SourceLayout) {
    w.push("SELECT ");
    for (i, c) in layout.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        write_value(w, &source.alias, c);
    }
    write_source_select_list(w, source);
}

/// ` FROM <source> LEFT JOIN <lookups> WHERE (<filter>)`: what follows a select list.
pub fn write_source_select_list(w: &mut SqlWriter, source: &Source) {
    w.push(" FROM ");
    write_relation(w, &source.relation, &source.alias);
    for j in &source.joins {
        w.push(" LEFT JOIN ")
            .push(&j.table)
            .push(" ")
            .push(&j.alias);
        w.push(" ON (").push(&j.on).push(")");
    }
    w.push(" WHERE ");
    match &source.filter {
        Some(f) => w.push("(").push(f).push(")"),
        None => w.push("1=1"),
    };
}

/// Reads the row of `source` whose id key is `key`.
pub fn read_by_id(
    source: &Source,
    layout: &SourceLayout,
    key: KeyValue,
    dialect: Dialect,
) -> Statement {
    let mut w = SqlWriter::new(dialect);
    write_source_select(&mut w, source, layout);
    w.push(" AND ");
    write_value(&mut w, &source.alias, &source.id.value);
    w.push(" = ").param_for(source.id.value.column_info(), key);
    w.finish()
}

/// `SELECT 1` when `source` serves the row whose id key is `key` (no row otherwise).
pub fn exists_by_id(source: &Source, key: KeyValue, dialect: Dialect) -> Statement {
    let mut w = SqlWriter::new(dialect);
    w.push("SELECT 1");
    write_source_select_list(&mut w, source);
    w.push(" AND ");
    write_value(&mut w, &source.alias, &source.id.value);
    w.push(" = ").param(key);
    w.finish()
}

/// Reads the rows of `child` for every parent key in `keys`, in one statement (no key: a
/// statement that returns nothing, used as a start-up probe).
pub fn child_rows(
    child: &Child,
    layout: &ChildLayout,
    keys: &[KeyValue],
    dialect: Dialect,
) -> Statement {
    let mut w = SqlWriter::new(dialect);
    w.push("SELECT ");
    for (i, c) in layout.columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        write_value(&mut w, &child.alias, c);
    }
    w.push(" FROM ");
    write_relation(&mut w, &child.relation, &child.alias);
    w.push(" WHERE ");
    if let Some(f) = &child.filter {
        w.push("(").push(f).push(") AND ");
    }
    if keys.is_empty() {
        w.push("1=0");
    } else {
        write_value(&mut w, &child.alias, &SqlValue::Column(child.key.clone()));
        w.push(" IN (");
        for (i, k) in keys.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.param_for(Some(&child.key.info), k.clone());
        }
        w.push(")");
    }
    if let Some(o) = &child.order_by {
        w.push(" ORDER BY ").push(o);
    }
    w.finish()
}

/// Statements that select every mapped value but return no row: run at start-up, they make
/// the database check every expression, filter and join of the mapping.
pub fn probes(source: &Source, dialect: Dialect) -> Vec<(String, Statement)> {
    let entry = format!("resource \"{}\" ({})", source.name, source.resource_type);
    let layout = SourceLayout::of(source);
    let mut w = SqlWriter::new(dialect);
    write_source_select(&mut w, source, &layout);
    w.push(" AND 1=0");
    let mut out = vec![(entry.clone(), w.finish())];
    for child in &source.children {
        let cl = ChildLayout::of(child);
        let stmt = child_rows(child, &cl, &[], dialect);
        out.push((format!("{entry}, child \"{}\"", child.written), stmt));
    }
    out
}
