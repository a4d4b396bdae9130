//! Criteria → SQL predicates over one source: the dispatch from each criterion to the
//! predicate writer of its parameter type (in [`crate::search`]), over the targets the mapping
//! bound to the parameter. Here are decided only what is not a type's semantics: which targets
//! a value is compared with (OR), where they live (the source row, or a child table reached by
//! a semi-join), alternatives, `:not`, `:missing`, and hops to other resources. Request values
//! are always bound parameters.
//!
//! A criterion a source cannot satisfy (it does not declare the parameter, or a constant does
//! not match) becomes `1=0` for that source, so multi-source types stay exact.

use super::PlanError;
use super::chain;
use super::context::Context;
use super::keys::write_key_lists;
use super::location::{at, in_repetition};
use super::lookup::{Lookup, lookup_of};
use super::missing::write_present;
use super::parts::{part, part_location, write_guard};
use super::sql_param;
use super::subquery::{binds_keys, write_sized_membership};
use crate::mapping::{CompositeTarget, Location, SearchDecl, SearchTarget, Source, TokenPart};
use crate::request::criterion::{Criterion, Test};
use crate::search::date::{self, DateTarget};
use crate::search::number::{self, NumberTarget, QuantityTarget};
use crate::search::operand::{Part, write_bool};
use crate::search::string::write_string_match;
use crate::search::token::{self, TokenSearch, TokenTarget};
use crate::search::{SearchValue, id, reference, uri};
use crate::sql::SqlWriter;

/// ` AND <criterion>` for every criterion. Criteria that follow the same reference first
/// (`patient.family=a&patient.given=b`) are written together ([`chain::write_chained`]): one
/// subquery rather than one per criterion.
pub fn write_criteria(
    w: &mut SqlWriter,
    cx: &Context,
    criteria: &[Criterion],
) -> Result<(), PlanError> {
    for group in chain::groups(criteria) {
        w.push(" AND ");
        match group.as_slice() {
            [c] => write_criterion(w, cx, c)?,
            many => chain::write_chained(w, cx, many)?,
        }
    }
    Ok(())
}

/// What the rows of a statement must match: every criterion of `all`, and, when `any_of` has
/// sets, every criterion of one of them (several `_typeFilter`s of one type in an export).
#[derive(Debug, Clone, Copy)]
pub struct Filter<'a> {
    /// Criteria that must all hold.
    pub all: &'a [Criterion],
    /// Sets of criteria, one of which must hold entirely (none: no such condition).
    pub any_of: &'a [Vec<Criterion>],
}

/// ` AND <criterion>` for every criterion of `f.all`, then ` AND ((…) OR (…))` for its sets.
pub fn write_filter(w: &mut SqlWriter, cx: &Context, f: Filter) -> Result<(), PlanError> {
    write_criteria(w, cx, f.all)?;
    if f.any_of.is_empty() {
        return Ok(());
    }
    w.push(" AND (");
    for (i, set) in f.any_of.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        // `1=1` takes the place of the first ` AND ` that each criterion writes.
        w.push("(1=1");
        write_criteria(w, cx, set)?;
        w.push(")");
    }
    w.push(")");
    Ok(())
}

/// One criterion, OR-ed with its alternatives.
pub fn write_criterion(w: &mut SqlWriter, cx: &Context, c: &Criterion) -> Result<(), PlanError> {
    if c.alternatives.is_empty() {
        return write_one(w, cx, c);
    }
    w.push("(");
    write_one(w, cx, c)?;
    for alt in &c.alternatives {
        w.push(" OR ");
        write_criterion(w, cx, alt)?;
    }
    w.push(")");
    Ok(())
}

/// `_id`, and `_lastUpdated` where the source has a last-updated time, for criteria the
/// server makes itself (compartments, includes, `$everything`'s `_since`) on sources that do
/// not declare them. Requests can only use declared parameters.
fn implicit_decl(source: &Source, code: &str) -> Option<SearchDecl> {
    let (param_type, target) = match code {
        "_id" => (crate::fhir::SearchParamType::Token, SearchTarget::Id),
        "_lastUpdated" if source.last_updated.is_some() => (
            crate::fhir::SearchParamType::Date,
            SearchTarget::LastUpdated,
        ),
        _ => return None,
    };
    Some(SearchDecl {
        code: code.to_string(),
        line: 0,
        param_type,
        definition: String::new(),
        targets: vec![target],
    })
}

fn write_one(w: &mut SqlWriter, cx: &Context, c: &Criterion) -> Result<(), PlanError> {
    if !c.hops.is_empty() {
        return chain::write_hops(w, cx, c);
    }
    let implicit;
    let d = match cx.source.search_decl(&c.code) {
        Some(d) => d,
        None => match implicit_decl(cx.source, &c.code) {
            Some(d) => {
                implicit = d;
                &implicit
            }
            None => {
                // The source does not have this parameter: nothing in it can match, except a
                // `:missing=true` (it has no such value at all).
                let missing_only = c.test
                    == Test::Missing {
                        missing: true,
                        present: false,
                    };
                write_bool(w, missing_only);
                return Ok(());
            }
        },
    };
    let (values, negate) = match &c.test {
        Test::Missing { missing, present } => {
            match (missing, present) {
                (true, true) => write_bool(w, true),
                (true, false) => {
                    w.push("NOT ");
                    write_present(w, cx, &d.targets, None)?;
                }
                _ => write_present(w, cx, &d.targets, None)?,
            }
            return Ok(());
        }
        Test::AnyOf { values, negate } => (values, *negate),
    };
    if values.len() > 1 && !negate && write_key_lists(w, cx, d, values)? {
        return Ok(());
    }
    if negate {
        // :not matches resources without a matching value, including those without a value.
        w.push("NOT COALESCE(");
    }
    w.push("(");
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        write_targets_match(w, cx, &c.code, &d.targets, v, None)?;
    }
    w.push(")");
    if negate {
        w.push(", 1=0)");
    }
    Ok(())
}

/// A token target with its parts resolved (`None` for another kind of target).
fn token_target<'a>(cx: &Context<'a>, t: &'a SearchTarget) -> Option<TokenTarget<'a>> {
    match t {
        SearchTarget::Token {
            system,
            code,
            display,
            ..
        } => Some(token_parts(cx, t, system, code, display)),
        _ => None,
    }
}

/// The resolved parts of token target `t` (whose system, code and display are given).
fn token_parts<'a>(
    cx: &Context<'a>,
    t: &'a SearchTarget,
    system: &'a TokenPart,
    code: &'a TokenPart,
    display: &'a TokenPart,
) -> TokenTarget<'a> {
    let of_type = match t {
        SearchTarget::Token {
            of_type: Some((s, c)),
            ..
        } => Some((part(cx, s), part(cx, c))),
        _ => None,
    };
    TokenTarget {
        system: part(cx, system),
        code: part(cx, code),
        display: part(cx, display),
        of_type,
    }
}

/// One value (of parameter `code`): OR over `targets`.
fn write_targets_match(
    w: &mut SqlWriter,
    cx: &Context,
    code: &str,
    targets: &[SearchTarget],
    value: &SearchValue,
    within: Option<Location>,
) -> Result<(), PlanError> {
    // Token alternatives that cannot match are left out rather than written as `1=0 AND ...`:
    // SQLite does not simplify them away, and an OR with them keeps it from using an index.
    let live: Vec<&SearchTarget> = targets
        .iter()
        .filter(|t| match (value, token_target(cx, t)) {
            (SearchValue::Token(s), Some(tt)) => !s.never_matches(&tt),
            _ => true,
        })
        .collect();
    if live.is_empty() {
        w.push("(1=0)");
        return Ok(());
    }
    // Only when the keys can be bound as the column compares them.
    let sizable = |l: &Lookup| {
        cx.subqueries.is_some() && within.is_none() && binds_keys(cx.dialect(), l.source_info)
    };
    let looked_up = |w: &mut SqlWriter, l: &Lookup, targets: &[&SearchTarget]| {
        write_sized_membership(w, cx, l.source_column, l.source_info, false, |w, _| {
            w.push("SELECT ").push(l.join_column).push(" FROM ");
            w.push(&l.join.table)
                .push(" ")
                .push(&l.join.alias)
                .push(" WHERE ");
            write_any_target(w, cx, code, targets, value, None)
        })
    };
    if let Some(l) = lookup_of(cx.source, &live).filter(sizable) {
        return looked_up(w, &l, &live);
    }
    // Some targets on a lookup table and others not (a code mapped through a code table, and
    // the local code itself): the former looked up first, the latter as they are. Written on
    // the join, the OR hides from PostgreSQL that a code no row has matches nothing: it read
    // every lab result in key order for a first match (20 s on the 1M database).
    let alone = |t: &&SearchTarget| lookup_of(cx.source, std::slice::from_ref(t)).filter(sizable);
    if let Some(l) = live.iter().find_map(alone) {
        let (on_lookup, rest): (Vec<&SearchTarget>, Vec<&SearchTarget>) = live
            .iter()
            .partition(|t| alone(t).is_some_and(|m| std::ptr::eq(m.join, l.join)));
        w.push("(");
        looked_up(w, &l, &on_lookup)?;
        w.push(" OR ");
        write_any_target(w, cx, code, &rest, value, within)?;
        w.push(")");
        return Ok(());
    }
    write_any_target(w, cx, code, &live, value, within)
}

/// `(<value matches the first target> OR ...)`.
fn write_any_target(
    w: &mut SqlWriter,
    cx: &Context,
    code: &str,
    targets: &[&SearchTarget],
    value: &SearchValue,
    within: Option<Location>,
) -> Result<(), PlanError> {
    w.push("(");
    for (i, t) in targets.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        write_target_match(w, cx, code, t, value, within)?;
    }
    w.push(")");
    Ok(())
}

/// One value compared with one target, by the value's type.
fn write_target_match(
    w: &mut SqlWriter,
    cx: &Context,
    code: &str,
    target: &SearchTarget,
    value: &SearchValue,
    within: Option<Location>,
) -> Result<(), PlanError> {
    let dialect = cx.dialect();
    let invalid = |e: date::DateError| PlanError::InvalidValue(format!("{code}: {e}"));
    match (target, value) {
        (SearchTarget::Id, SearchValue::Id(id)) => id::write_predicate(w, cx.source, id),
        (
            SearchTarget::Token {
                system,
                code: value_part,
                display,
                of_type: _,
            },
            SearchValue::Token(s),
        ) => {
            let t = token_parts(cx, target, system, value_part, display);
            if matches!(s, TokenSearch::OfType { .. }) && t.of_type.is_none() {
                write_bool(w, false);
                return Ok(());
            }
            let location = part_location(value_part)
                .or(part_location(system))
                .or(part_location(display))
                .unwrap_or(Location::Row);
            at(w, cx, within, location, |w| {
                token::write_predicate(w, &t, s, &cx.caps.accents);
                Ok(())
            })?;
        }
        (SearchTarget::String(l), SearchValue::String(s)) => {
            at(w, cx, within, l.location, |w| {
                let (op, _) = cx.leaf(*l);
                write_string_match(w, &op.sql, op.column, &s.text, s.how, &cx.caps.accents);
                op.write_not_none(w);
                Ok(())
            })?;
        }
        (SearchTarget::Reference(l), SearchValue::Reference(r)) => {
            let key = cx
                .source
                .leaf(*l)
                .reference_target()
                .and_then(|(resource_type, prefix)| r.key_in(resource_type, prefix));
            match key {
                Some(key) => at(w, cx, within, l.location, |w| {
                    reference::write_predicate(w, &cx.leaf(*l).0, key);
                    Ok(())
                })?,
                None => write_bool(w, false),
            }
        }
        (SearchTarget::Number(l), SearchValue::Number(n)) => {
            at(w, cx, within, l.location, |w| {
                let op = cx.leaf(*l).0;
                number::write_number_predicate(w, &NumberTarget::of(&op), n);
                op.write_not_none(w);
                Ok(())
            })?;
        }
        (
            SearchTarget::Quantity {
                value: l,
                system,
                code: unit_code,
                unit,
            },
            SearchValue::Quantity(q),
        ) => {
            at(w, cx, within, l.location, |w| {
                let op = cx.leaf(*l).0;
                let target = QuantityTarget {
                    value: NumberTarget::of(&op),
                    system: number::Part::of(dialect, &part(cx, system)),
                    code: number::Part::of(dialect, &part(cx, unit_code)),
                    unit: number::Part::of(dialect, &part(cx, unit)),
                };
                number::write_quantity_predicate(w, &target, q);
                op.write_not_none(w);
                Ok(())
            })?;
        }
        (SearchTarget::Date { start, end }, SearchValue::Date(d)) => {
            at(w, cx, within, start.location, |w| {
                let (start_op, el) = cx.leaf(*start);
                let Some(end_op) = end.map(|e| cx.leaf(e).0) else {
                    let target = DateTarget::of(&start_op, None, el.text_format());
                    date::write_predicate(w, &target, d, cx.mapping.timezone).map_err(invalid)?;
                    start_op.write_not_none(w);
                    return Ok(());
                };
                // A period's "no value" start or end is an open side, as a NULL one is.
                let (start_op, end_op) =
                    (start_op.none_as_null(dialect), end_op.none_as_null(dialect));
                let target = DateTarget::of(&start_op, Some(&end_op), el.text_format());
                date::write_predicate(w, &target, d, cx.mapping.timezone).map_err(invalid)
            })?;
        }
        (SearchTarget::LastUpdated, SearchValue::Date(d)) => {
            let Some(value) = &cx.source.last_updated else {
                write_bool(w, false);
                return Ok(());
            };
            let op = cx.row_value(value);
            let target = DateTarget::of(&op, None, None);
            w.push("(");
            date::write_predicate(w, &target, d, cx.mapping.timezone).map_err(invalid)?;
            op.write_not_none(w);
            w.push(")");
        }
        (SearchTarget::Uri(p), SearchValue::Uri(m)) => {
            let location = part_location(p).unwrap_or(Location::Row);
            at(w, cx, within, location, |w| {
                let part = part(cx, p);
                uri::write_predicate(w, &part, m);
                if let (Part::Sql(op), uri::UriMatch::Below(_)) = (&part, m) {
                    op.write_not_none(w);
                }
                Ok(())
            })?;
        }
        (SearchTarget::Composite(ct), SearchValue::Composite(parts)) => {
            write_composite_match(w, cx, code, ct, parts, within)?;
        }
        // The guard and the value hold in one repetition (one child row).
        (SearchTarget::Guarded(g), _) => in_repetition(w, cx, within, g.within, |w, inner| {
            write_guard(w, cx, g, inner)?;
            w.push(" AND ");
            write_targets_match(w, cx, code, &g.targets, value, inner)
        })?,
        (SearchTarget::Sql(condition), _) => {
            let (sql, bound) = sql_param::condition(dialect, code, condition, value)?;
            w.push("(").push_with_value(sql, bound).push(")");
        }
        // A value of another type than the target (not produced by the parser).
        _ => write_bool(w, false),
    }
    Ok(())
}

/// A composite value in one repetition: every component's part matches (with that
/// component's own type semantics) in the same repetition.
fn write_composite_match(
    w: &mut SqlWriter,
    cx: &Context,
    code: &str,
    ct: &CompositeTarget,
    parts: &[SearchValue],
    within: Option<Location>,
) -> Result<(), PlanError> {
    // Every component holds in one repetition (one child row).
    in_repetition(w, cx, within, ct.within, |w, inner| {
        for (i, ((component, targets), part)) in
            ct.components.iter().zip(&ct.targets).zip(parts).enumerate()
        {
            if i > 0 {
                w.push(" AND ");
            }
            let label = format!("{code} ({})", component.code);
            write_targets_match(w, cx, &label, targets, part, inner)?;
        }
        Ok(())
    })
}
