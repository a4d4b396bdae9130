//! The mapping's SQL fragments written out: a mapped value (a qualified column or an
//! expression), a relation, a source's `FROM ... WHERE <filter>`, and the batched read of a
//! child table's rows. Text written here comes from the mapping file only. The planner builds
//! every statement on these (adding the request's scope to every source it reads); start-up
//! probes use them as they are.

use super::layout::{ChildLayout, SourceLayout};
use super::{Child, Relation, Source, SqlValue};
use crate::sql::{Dialect, SqlWriter, Statement, Value};

/// Writes a selected value: a qualified, quoted column or a parenthesized expression.
pub fn write_value(w: &mut SqlWriter, alias: &str, v: &SqlValue) {
    match v {
        SqlValue::Column(c) => {
            if c.info.as_text {
                w.push("CAST(");
            }
            // Aliases are written unquoted, exactly as the mapping's own SQL fragments (filters,
            // join conditions) refer to them; column names are the database's real spelling.
            w.push(c.qualifier.as_deref().unwrap_or(alias));
            w.push(".").ident(&c.name);
            if c.info.as_text {
                w.push(" AS text)");
            }
        }
        SqlValue::Expr(e) if e.info.as_text => {
            w.push("CAST((").push(&e.sql).push(") AS text)");
        }
        SqlValue::Expr(e) => {
            w.push("(").push(&e.sql).push(")");
        }
    }
}

/// The SQL text of a mapped value of the relation `alias` ([`write_value`]).
pub fn value_sql(dialect: Dialect, alias: &str, v: &SqlValue) -> String {
    let mut w = SqlWriter::new(dialect);
    write_value(&mut w, alias, v);
    w.finish().sql
}

/// `<table> <alias>` or `(<query>) <alias>`.
pub fn write_relation(w: &mut SqlWriter, relation: &Relation, alias: &str) {
    match relation {
        Relation::Table(t) => w.push(t),
        Relation::Query(q) => w.push("(").push(q).push(")"),
    };
    w.push(" ").push(alias);
}

/// `SELECT <columns>` of a layout, qualified with `alias`.
pub fn write_columns(w: &mut SqlWriter, alias: &str, columns: &[SqlValue]) {
    w.push("SELECT ");
    for (i, c) in columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        write_value(w, alias, c);
    }
}

/// `SELECT <columns> FROM <source> LEFT JOIN <lookups> WHERE (<filter>)`, unscoped.
pub fn write_select(w: &mut SqlWriter, source: &Source, layout: &SourceLayout) {
    write_columns(w, &source.alias, &layout.columns);
    write_from(w, source);
}

/// ` FROM <source> LEFT JOIN <lookups> WHERE (<filter>)`: what follows a select list. Unscoped:
/// the planner's statements go through `plan`'s scoped writer, which adds the request's scope.
pub fn write_from(w: &mut SqlWriter, source: &Source) {
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

/// Reads the rows of `child` for every parent key in `keys`, in one statement (no key: a
/// statement that returns nothing, used as a start-up probe). The parents are read by the
/// planner, in the request's scope; their child rows are part of them.
pub fn child_rows(
    child: &Child,
    layout: &ChildLayout,
    keys: &[Value],
    dialect: Dialect,
) -> Statement {
    let mut w = SqlWriter::new(dialect);
    write_columns(&mut w, &child.alias, &layout.columns);
    w.push(" FROM ");
    write_relation(&mut w, &child.relation, &child.alias);
    w.push(" WHERE ");
    if let Some(f) = &child.filter {
        w.push("(").push(f).push(") AND ");
    }
    if keys.is_empty() {
        w.push("1=0");
    } else {
        let key = value_sql(dialect, &child.alias, &SqlValue::Column(child.key.clone()));
        let params = keys.iter().map(|k| k.to_param(dialect));
        w.in_list(&key, Some(&child.key.info), params);
    }
    if let Some(o) = &child.order_by {
        w.push(" ORDER BY ").push(o);
    }
    w.finish()
}
