//! Criteria that cross resources (chains and `_has`) as uncorrelated `IN` subqueries over
//! the other resource's sources. Pure.
//!
//! A forward hop (`subject:Patient.name=x`) keeps the rows whose reference column is among the
//! keys of the patients matching `name=x`; a reverse hop (`_has:Observation:patient:code=y`)
//! keeps the rows whose key is among the reference columns of the observations matching
//! `code=y`. The rest of the criterion is planned in the other source's context, so every
//! parameter type, modifier and further hop works there too. Subqueries do not refer to the
//! outer query, so aliases cannot clash and databases run them as semi-joins.

use super::read::{write_relation, write_source_select_list, write_value};
use super::search::{Context, PlanError, in_location, leaf_sql, write_filter};
use crate::mapping::references::{links_from, links_of};
use crate::mapping::{ElementMapping, ElementValue, Location, Source, SqlValue};
use crate::request::chain::Hop;
use crate::request::search::Filter;
use crate::sql::SqlWriter;

/// Writes `f`, whose first hop is `hops[0]`, for `cx.source`.
pub fn write_hops(w: &mut SqlWriter, cx: &Context, f: &Filter) -> Result<(), PlanError> {
    let (hop, rest) = f.hops.split_first().expect("a chained filter has hops");
    let inner = Filter {
        hops: rest.to_vec(),
        ..f.clone()
    };
    match hop {
        Hop::Forward { param, targets } => write_forward(w, cx, param, targets, &inner),
        Hop::Reverse {
            resource_type,
            param,
        } => write_reverse(w, cx, resource_type, param, &inner),
    }
}

/// `(ref IN (SELECT target.key ... WHERE <inner>) OR ...)` over every reference of `param`
/// to one of `targets`.
fn write_forward(
    w: &mut SqlWriter,
    cx: &Context,
    param: &str,
    targets: &[String],
    inner: &Filter,
) -> Result<(), PlanError> {
    let links: Vec<_> = links_from(cx.mapping, cx.source)
        .into_iter()
        .filter(|l| l.code == param && targets.iter().any(|t| t == l.target_type()))
        .collect();
    if links.is_empty() {
        w.push("1=0");
        return Ok(());
    }
    w.push("(");
    for (i, link) in links.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        let target = link.target;
        in_location(w, cx, link.leaf.location, |w| {
            let (sql, el) = leaf_sql(cx, link.leaf);
            let (outer, inner_cast) = match key_kinds(leaf_integer(el), &target.id.value) {
                Some((true, false)) => (cx.dialect.text_cast(&sql), false),
                Some((false, true)) => (sql, true),
                _ => (sql, false),
            };
            w.push(&outer).push(" IN (");
            write_keys_matching(w, cx, target, inner, inner_cast)?;
            w.push(")");
            Ok(())
        })?;
    }
    w.push(")");
    Ok(())
}

/// `(key IN (SELECT ref FROM <referring source> WHERE <inner>) OR ...)` over every source of
/// `resource_type` whose parameter `param` refers to `cx.source`.
fn write_reverse(
    w: &mut SqlWriter,
    cx: &Context,
    resource_type: &str,
    param: &str,
    inner: &Filter,
) -> Result<(), PlanError> {
    let mut any = false;
    w.push("(");
    for link in links_of(cx.mapping, resource_type) {
        if link.code != param || link.target.name != cx.source.name {
            continue;
        }
        let referring = link.from;
        if any {
            w.push(" OR ");
        }
        any = true;
        let rcx = cx.with_source(referring);
        let (ref_sql, el) = leaf_sql(&rcx, link.leaf);
        let mut key = SqlWriter::new(cx.dialect);
        write_value(&mut key, &cx.source.alias, &cx.source.id.value);
        let key = key.finish().sql;
        // Compare as text when one side is an integer column and the other is not.
        let (outer, projected) = match key_kinds(leaf_integer(el), &cx.source.id.value) {
            Some((true, false)) => (key, cx.dialect.text_cast(&ref_sql)),
            Some((false, true)) => (cx.dialect.text_cast(&key), ref_sql.clone()),
            _ => (key, ref_sql.clone()),
        };
        w.push(&outer).push(" IN (");
        match link.leaf.location {
            Location::Row => {
                w.push("SELECT ");
                w.push(&projected);
                write_source_select_list(w, referring);
                w.push(" AND ").push(&ref_sql);
                w.push(" IS NOT NULL AND ");
                write_filter(w, &rcx, inner)?;
            }
            Location::Child(c) => {
                // The reference is in a child table: its rows whose parent matches.
                let child = &referring.children[c];
                let key = SqlValue::Column(child.key.clone());
                w.push("SELECT ").push(&projected).push(" FROM ");
                write_relation(w, &child.relation, &child.alias);
                w.push(" WHERE ").push(&ref_sql).push(" IS NOT NULL");
                if let Some(f) = &child.filter {
                    w.push(" AND (").push(f).push(")");
                }
                w.push(" AND ");
                write_value(w, &child.alias, &key);
                w.push(" IN (SELECT ");
                write_value(w, &referring.alias, &child.parent_key);
                write_source_select_list(w, referring);
                w.push(" AND ");
                write_filter(w, &rcx, inner)?;
                w.push(")");
            }
        }
        w.push(")");
    }
    if !any {
        w.push("1=0");
    }
    w.push(")");
    Ok(())
}

/// `SELECT <key> FROM <target> WHERE <key> IS NOT NULL AND <inner>`, the key as text when
/// `as_text`.
fn write_keys_matching(
    w: &mut SqlWriter,
    cx: &Context,
    target: &Source,
    inner: &Filter,
    as_text: bool,
) -> Result<(), PlanError> {
    let tcx = cx.with_source(target);
    w.push("SELECT ");
    if as_text {
        let mut k = SqlWriter::new(cx.dialect);
        write_value(&mut k, &target.alias, &target.id.value);
        w.push(&cx.dialect.text_cast(&k.finish().sql));
    } else {
        write_value(w, &target.alias, &target.id.value);
    }
    write_source_select_list(w, target);
    w.push(" AND ");
    write_value(w, &target.alias, &target.id.value);
    w.push(" IS NOT NULL AND ");
    write_filter(w, &tcx, inner)
}

/// Whether a reference column holds integers (`None` for expressions: left as they are).
fn leaf_integer(el: &ElementMapping) -> Option<bool> {
    match &el.value {
        ElementValue::Sql {
            value: SqlValue::Column(c),
            ..
        } => Some(c.info.integer),
        _ => None,
    }
}

/// (reference is integer, key is integer) when both are columns of known types.
fn key_kinds(reference: Option<bool>, key: &SqlValue) -> Option<(bool, bool)> {
    match key {
        SqlValue::Column(c) => Some((reference?, c.info.integer)),
        SqlValue::Expr(_) => None,
    }
}
