//! Criteria that cross resources (chains and `_has`) as uncorrelated `IN` subqueries over
//! the other resource's sources. Pure.
//!
//! A forward hop (`subject:Patient.name=x`) keeps the rows whose reference column is among the
//! keys of the patients matching `name=x`; a reverse hop (`_has:Observation:patient:code=y`)
//! keeps the rows whose key is among the reference columns of the observations matching
//! `code=y`. The rest of the criterion is planned in the other source's context, so every
//! parameter type, modifier and further hop works there too, and the request's scope applies
//! to every source crossed. Subqueries do not refer to the outer query, so aliases cannot
//! clash and databases run them as semi-joins.

use super::PlanError;
use super::context::{Context, write_from};
use super::criteria::{write_criteria, write_criterion};
use super::location::in_location;
use super::search::index_order;
use super::subquery::{Form, can_correlate, text_info, write_membership};
use crate::mapping::references::{links_from, links_of};
use crate::mapping::sql::{write_relation, write_value};
use crate::mapping::{ElementMapping, Location, Source, SqlValue};
use crate::request::chain::Hop;
use crate::request::criterion::Criterion;
use crate::sql::SqlWriter;

/// Writes `c`, whose first hop is `c.hops[0]`, for `cx.source`.
pub fn write_hops(w: &mut SqlWriter, cx: &Context, c: &Criterion) -> Result<(), PlanError> {
    let Some((hop, rest)) = c.hops.split_first() else {
        return write_criterion(w, cx, c);
    };
    let inner = Criterion {
        hops: rest.to_vec(),
        ..c.clone()
    };
    match hop {
        Hop::Forward { param, targets } => {
            let links = forward_links(cx, param, targets);
            write_forward(w, cx, &links, std::slice::from_ref(&inner))
        }
        Hop::Reverse {
            resource_type,
            param,
        } => write_reverse(w, cx, resource_type, param, &inner),
    }
}

/// The criteria in groups that can be written together: those whose first hop follows the
/// same reference forward (and that have no alternatives), in order of first appearance;
/// every other criterion alone.
pub fn groups(criteria: &[Criterion]) -> Vec<Vec<Criterion>> {
    let mut out: Vec<Vec<Criterion>> = Vec::new();
    for c in criteria {
        let forward = |c: &Criterion| match c.hops.first() {
            Some(h @ Hop::Forward { .. }) if c.alternatives.is_empty() => Some(h.clone()),
            _ => None,
        };
        let hop = forward(c);
        let joined = hop
            .as_ref()
            .and_then(|h| out.iter_mut().find(|g| forward(&g[0]).as_ref() == Some(h)));
        match joined {
            Some(g) => g.push(c.clone()),
            None => out.push(vec![c.clone()]),
        }
    }
    out
}

/// Criteria (a group of [`groups`], at least one) that all follow the same reference first.
/// Where the reference is one column of the row to one target source, the resource it refers
/// to must match every criterion: one subquery `ref IN (SELECT key ... WHERE <all>)`, however
/// many criteria there are (a reference holding one value meets them all in the same target,
/// or not at all). Elsewhere (several columns or targets, a child table) each criterion is
/// written on its own, as FHIR asks of repeated parameters.
pub fn write_chained(
    w: &mut SqlWriter,
    cx: &Context,
    group: &[Criterion],
) -> Result<(), PlanError> {
    let Some(Hop::Forward { param, targets }) = group.first().and_then(|c| c.hops.first()) else {
        return Err(PlanError::Unsupported(
            "a group without a forward hop".into(),
        ));
    };
    let links = forward_links(cx, param, targets);
    let single_valued = matches!(links.as_slice(), [l] if l.leaf.location == Location::Row);
    if !single_valued {
        w.push("(");
        for (i, c) in group.iter().enumerate() {
            if i > 0 {
                w.push(" AND ");
            }
            write_criterion(w, cx, c)?;
        }
        w.push(")");
        return Ok(());
    }
    let inners: Vec<Criterion> = group
        .iter()
        .map(|c| Criterion {
            hops: c.hops[1..].to_vec(),
            ..c.clone()
        })
        .collect();
    write_forward(w, cx, &links, &inners)
}

/// The references of `param` of `cx.source` to one of `targets`.
fn forward_links<'a>(
    cx: &Context<'a>,
    param: &str,
    targets: &[String],
) -> Vec<crate::mapping::references::RefLink<'a>> {
    links_from(cx.mapping, cx.source)
        .into_iter()
        .filter(|l| l.code == param && targets.iter().any(|t| t == l.target_type()))
        .collect()
}

/// `(ref IN (SELECT target.key ... WHERE <inners>) OR ...)` over every reference of `links`.
fn write_forward(
    w: &mut SqlWriter,
    cx: &Context,
    links: &[crate::mapping::references::RefLink<'_>],
    inners: &[Criterion],
) -> Result<(), PlanError> {
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
            let (op, el) = cx.leaf(link.leaf);
            let text = text_info();
            let (outer, outer_info, inner_cast) =
                match key_kinds(leaf_integer(el), &target.id.value) {
                    Some((true, false)) => (cx.dialect().text_cast(&op.sql), Some(&text), false),
                    Some((false, true)) => (op.sql.clone(), el.column_info(), true),
                    _ => (op.sql.clone(), el.column_info(), false),
                };
            // Correlated only with the reference in the row, no further hop, and aliases
            // that cannot capture the reference.
            let correlated = link.leaf.location == Location::Row
                && inners.iter().all(|c| c.hops.is_empty())
                && can_correlate(cx.source, target);
            let tcx = cx.with_source(target);
            write_membership(w, cx, &outer, outer_info, correlated, |w, form| {
                write_keys_matching(w, &tcx, inners, inner_cast, form)
            })?;
            // A "no value" reference refers to nothing, even to a row with that key.
            op.write_not_none(w);
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
    inner: &Criterion,
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
        let (reference, el) = rcx.leaf(link.leaf);
        let key = cx.row_value(&cx.source.id.value).sql;
        // Compare as text when one side is an integer column and the other is not.
        let text = text_info();
        let key_info = cx.source.id.value.column_info();
        let (outer, outer_info, projected) = match key_kinds(leaf_integer(el), &cx.source.id.value)
        {
            Some((true, false)) => (key, key_info, cx.dialect().text_cast(&reference.sql)),
            Some((false, true)) => (
                cx.dialect().text_cast(&key),
                Some(&text),
                reference.sql.clone(),
            ),
            _ => (key, key_info, reference.sql.clone()),
        };
        let correlated = link.leaf.location == Location::Row
            && inner.hops.is_empty()
            && can_correlate(cx.source, referring);
        write_membership(w, cx, &outer, outer_info, correlated, |w, form| {
            match link.leaf.location {
                Location::Row => {
                    match form {
                        Form::Keys | Form::Probe => {
                            w.push("SELECT ").push(&projected);
                            write_from(w, &rcx)?;
                            w.push(" AND ").push(&reference.sql).push(" IS NOT NULL");
                        }
                        Form::Correlated(outer) => {
                            w.push("SELECT 1");
                            write_from(w, &rcx)?;
                            w.push(" AND ").push(&projected).push(" = ").push(outer);
                        }
                    }
                    reference.write_not_none(w);
                    w.push(" AND ");
                    write_criterion(w, &rcx, inner)?;
                    if matches!(form, Form::Probe) {
                        write_probe_order(w, &rcx, std::slice::from_ref(inner));
                    }
                    Ok(())
                }
                Location::Child(c) => {
                    // The reference is in a child table: its rows whose parent matches.
                    let child = &referring.children[c];
                    let key = SqlValue::Column(child.key.clone());
                    w.push("SELECT ").push(&projected).push(" FROM ");
                    write_relation(w, &child.relation, &child.alias);
                    w.push(" WHERE ").push(&reference.sql).push(" IS NOT NULL");
                    reference.write_not_none(w);
                    if let Some(f) = &child.filter {
                        w.push(" AND (").push(f).push(")");
                    }
                    w.push(" AND ");
                    write_value(w, &child.alias, &key);
                    w.push(" IN (SELECT ");
                    write_value(w, &referring.alias, &child.parent_key);
                    write_from(w, &rcx)?;
                    w.push(" AND ");
                    write_criterion(w, &rcx, inner)?;
                    w.push(")");
                    Ok(())
                }
            }
        })?;
    }
    if !any {
        w.push("1=0");
    }
    w.push(")");
    Ok(())
}

/// `SELECT <key> FROM <target> WHERE <key> IS NOT NULL AND <inners>` (`tcx`: the target's
/// context), the key as text when `as_text`; correlated: `SELECT 1 ... WHERE <key> = <outer>
/// AND <inners>`.
fn write_keys_matching(
    w: &mut SqlWriter,
    tcx: &Context,
    inners: &[Criterion],
    as_text: bool,
    form: Form,
) -> Result<(), PlanError> {
    let target: &Source = tcx.source;
    let key = tcx.row_value(&target.id.value).sql;
    let projected = match as_text {
        true => tcx.dialect().text_cast(&key),
        false => key.clone(),
    };
    match form {
        Form::Keys | Form::Probe => {
            w.push("SELECT ").push(&projected);
            write_from(w, tcx)?;
            w.push(" AND ").push(&key).push(" IS NOT NULL");
        }
        Form::Correlated(outer) => {
            w.push("SELECT 1");
            write_from(w, tcx)?;
            w.push(" AND ").push(&projected).push(" = ").push(outer);
        }
    }
    write_criteria(w, tcx, inners)?;
    if matches!(form, Form::Probe) {
        write_probe_order(w, tcx, inners);
    }
    Ok(())
}

/// ` ORDER BY <the order of an index serving criteria>` of a sub-select being sized, where
/// one serves them (a name prefix, a date range: as a page would be read; see
/// [`Form::Probe`]).
fn write_probe_order(w: &mut SqlWriter, cx: &Context, criteria: &[Criterion]) {
    if let Some((_, sorts)) = index_order(cx.caps, &[cx.source], criteria)
        && let Some(Some(order)) = sorts.first().and_then(|s| s.first())
    {
        w.push(" ORDER BY ");
        order.write(w, &cx.source.alias);
    }
}

/// Whether a reference column holds integers (`None` for expressions: left as they are).
fn leaf_integer(el: &ElementMapping) -> Option<bool> {
    el.column_info().map(|c| c.integer())
}

/// (reference is integer, key is integer) when both are columns of known types.
fn key_kinds(reference: Option<bool>, key: &SqlValue) -> Option<(bool, bool)> {
    Some((reference?, key.column_info()?.integer()))
}
