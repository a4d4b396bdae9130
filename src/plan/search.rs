//! Search planning: a parsed search → the statements of one page of it. Pure.
//!
//! One page statement over every source of the type (see [`super::page`]), resumed after the
//! cursor's keyset, and, when a total is asked for, one count (or planner estimate) per
//! source. Everything about the request is decided here before any statement runs: sort keys
//! resolved per source and checked to merge, the cursor checked to fit the search.

use super::PlanError;
use super::context::{Context, write_from};
use super::criteria::{Filter, write_filter};
use super::page::{Branch, Keyset, PageQuery, page_query};
use super::scope::Scope;
use super::sort::{
    FoldedText, SortExpr, check_sort_types, effective_sort, sort_values, widen_dates,
};
use super::subquery::Subqueries;
use crate::mapping::{LeafRef, Location, Mapping, SearchTarget, Source, SqlValue};
use crate::request::criterion::{Criterion, Test};
use crate::request::cursor::Cursor;
use crate::request::search::{SearchRequest, SortKey, TotalMode};
use crate::search::SearchValue;
use crate::search::string::StringMatch;
use crate::sql::{Accents, Caps, ColumnInfo, Dialect, SqlType, SqlWriter, Statement, Value};

/// The planned statements of one page of a search.
pub struct SearchPlan<'a> {
    /// The sources of the type, in mapping order (the page's rows name them by index).
    pub sources: Vec<&'a Source>,
    /// The page statement: `count + 1` rows at most (one more tells that there is more).
    pub page: PageQuery,
    /// When a total is asked for, how to total each source.
    pub totals: Vec<Total>,
}

/// How to total the matches of one source.
pub struct Total {
    /// `SELECT COUNT(*)` of the matches.
    pub count: Statement,
    /// `_total=estimate` where the database has a planner estimate: its `EXPLAIN` (read with
    /// [`crate::sql::explain::read_estimate`]; `count` is the fallback).
    pub estimate: Option<Statement>,
}

/// Plans the page of `req` that starts after `after` (the first page when `None`), its
/// sub-selects written as they are.
pub fn search<'a>(
    mapping: &'a Mapping,
    caps: &'a Caps,
    scope: &'a Scope,
    req: &SearchRequest,
    after: Option<&Cursor>,
) -> Result<SearchPlan<'a>, PlanError> {
    search_sized(mapping, caps, scope, req, after, None)
}

/// [`search`], with the sizes of its sub-selects known so far (`subqueries` then lists those
/// it asks about: see [`super::subquery`]).
pub fn search_sized<'a>(
    mapping: &'a Mapping,
    caps: &'a Caps,
    scope: &'a Scope,
    req: &SearchRequest,
    after: Option<&Cursor>,
    subqueries: Option<&Subqueries>,
) -> Result<SearchPlan<'a>, PlanError> {
    let sources: Vec<&Source> = mapping.sources_of(&req.resource_type).collect();
    let cx = |source| Context {
        mapping,
        caps,
        scope,
        source,
        subqueries,
    };
    let all = req.all_criteria();
    let criteria = Filter {
        all: &all,
        any_of: &req.any_of,
    };
    let implicit = match req.sort.is_empty() && req.any_of.is_empty() {
        true => index_order(caps, &sources, &all),
        false => None,
    };
    let (spec, mut sorts, key_desc) = match &implicit {
        Some((key, sorts)) => (std::slice::from_ref(key), sorts.clone(), false),
        None => {
            let mut sorts = Vec::with_capacity(sources.len());
            let mut key_desc = false;
            for s in &sources {
                let (sort, desc) = sort_values(s, &req.sort)?;
                key_desc = desc;
                sorts.push(sort);
            }
            (effective_sort(&req.sort), sorts, key_desc)
        }
    };
    if sources.len() > 1 && key_desc {
        return Err(PlanError::Unsupported(format!(
            "_sort=-_id is not supported on {}: its resources come from several sources",
            req.resource_type
        )));
    }
    if let Some(first) = sources.first() {
        check_sort_types(&cx(first), &sorts, spec)?;
        widen_dates(&mut sorts, caps.dialect);
    }
    let branches: Vec<Branch> = sources
        .iter()
        .zip(sorts)
        .map(|(s, sort)| Branch { cx: cx(s), sort })
        .collect();
    let keyset = match after {
        Some(c) => keyset(c, &branches, spec.len())?,
        None => None,
    };
    let page = page_query(
        &branches,
        spec,
        key_desc,
        criteria,
        keyset.as_ref(),
        req.count + 1,
    )?;
    let mut totals = Vec::new();
    if req.counts_only() || req.total != TotalMode::None {
        for b in &branches {
            // Under a scope, a planner's estimate could reflect rows out of scope (it comes
            // from statistics of whole tables): count exactly instead.
            let estimate = match req.total {
                TotalMode::Estimate if scope.is_none() => estimate(&b.cx, criteria)?,
                _ => None,
            };
            totals.push(Total {
                count: count(&b.cx, criteria)?,
                estimate,
            });
        }
    }
    Ok(SearchPlan {
        sources,
        page,
        totals,
    })
}

/// The page order of a search without `_sort` whose criteria can be served by an index
/// that also gives the page its order, so that a first page reads about `_count` index
/// entries however many rows match, instead of every match sorted by key:
/// - a starts-with string search on a column of the source's table (`Patient?family=smi`):
///   the folded string, as the expression index that serves the search orders it. Only where
///   that order is the code point order such an index keeps (PostgreSQL's "C" collation,
///   SQLite's binary one): on MySQL/MariaDB `LOWER(col)` has no index, and the key order lets
///   a scan stop early;
/// - a date search on a column of the source's table (`Patient?birthdate=lt1950`,
///   `Observation?date=ge2024&date=lt2025`: one date parameter, however many times): the column, as its index orders it (an index on the column
///   alone serves `(column, key)` on every database: InnoDB and SQLite keep the key in the
///   entry, PostgreSQL sorts only the rows of one date).
///
/// Then the key. `None` for any other search (the key order), and when the sources' columns
/// cannot be merged in one order.
pub(super) fn index_order(
    caps: &Caps,
    sources: &[&Source],
    criteria: &[Criterion],
) -> Option<(SortKey, Vec<Vec<Option<SortExpr>>>)> {
    let (c, rest) = criteria.split_first()?;
    let order: fn(&Caps, &SearchTarget, &Source) -> Option<SortExpr> = match one_value(c)? {
        SearchValue::String(v) if v.how == StringMatch::StartsWith && rest.is_empty() => {
            caps.dialect.code_point_order("x")?;
            folded_order
        }
        // A range is often two criteria of one parameter (`date=ge2024&date=lt2025`).
        SearchValue::Date(_)
            if rest.iter().all(|r| {
                r.code == c.code && matches!(one_value(r), Some(SearchValue::Date(_)))
            }) =>
        {
            date_order
        }
        _ => return None,
    };
    let mut sorts = Vec::with_capacity(sources.len());
    for s in sources {
        let Some(d) = s.search_decl(&c.code) else {
            sorts.push(vec![None]);
            continue;
        };
        let [target] = &d.targets[..] else {
            return None;
        };
        sorts.push(vec![Some(order(caps, target, s)?)]);
    }
    // Several sources merge in one order only when their values compare (as `_sort` checks).
    let present: Vec<SqlType> = sorts
        .iter()
        .filter_map(|s| s[0].as_ref().map(SortExpr::sql_type))
        .collect();
    let merge = present.len() < 2 || present.iter().all(|t| present[0].comparable(*t));
    if present.is_empty() || !merge {
        return None;
    }
    let key = SortKey {
        code: c.code.clone(),
        desc: false,
    };
    Some((key, sorts))
}

/// The one value of a criterion on the searched type's own parameter (no chain, no `:not`).
fn one_value(c: &Criterion) -> Option<&SearchValue> {
    match &c.test {
        Test::AnyOf {
            values,
            negate: false,
        } if values.len() == 1 && c.hops.is_empty() && c.alternatives.is_empty() => values.first(),
        _ => None,
    }
}

/// A column of the source's own table that leads an index of it (`folded`: as `lower(..)`,
/// with the "C" collation on PostgreSQL, as [`SortExpr::Folded`] orders), so that the index
/// can serve the order (an expression, a joined table's column, or a
/// column without such an index would sort every match).
fn indexed_column(source: &Source, leaf: LeafRef, folded: Option<Dialect>) -> Option<SqlValue> {
    if leaf.location != Location::Row {
        return None;
    }
    let value = source.leaf(leaf).sql_value()?;
    let SqlValue::Column(c) = value else {
        return None;
    };
    let column = c.name.to_lowercase();
    let leads = source.index_leads.iter().any(|k| {
        let k: String = k.chars().filter(|c| !matches!(c, '"' | '`')).collect();
        match folded {
            Some(d) => {
                // What the order adds to the folded value (` COLLATE "C"`), as the catalog
                // writes it in the index's key.
                let collation = d
                    .code_point_order("")
                    .unwrap_or_default()
                    .to_lowercase()
                    .replace('"', "");
                k.contains("lower(") && has_word(&k, &column) && k.contains(collation.trim())
            }
            None => k == column,
        }
    });
    (c.qualifier.is_none() && leads).then(|| value.clone())
}

/// Whether `word` occurs in `text` as a whole identifier.
fn has_word(text: &str, word: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The folded string of a string parameter's indexed column.
fn folded_order(caps: &Caps, target: &SearchTarget, source: &Source) -> Option<SortExpr> {
    let SearchTarget::String(l) = target else {
        return None;
    };
    let unaccent = match &caps.accents {
        Accents::Unaccent(f) => Some(f.clone()),
        Accents::AsStored => None,
    };
    Some(SortExpr::Folded(FoldedText {
        value: indexed_column(source, *l, Some(caps.dialect))?,
        unaccent,
    }))
}

/// The indexed column of a date parameter that is one value (not a period's two).
fn date_order(_: &Caps, target: &SearchTarget, source: &Source) -> Option<SortExpr> {
    match target {
        SearchTarget::Date { start, end } if end.is_none_or(|e| e == *start) => {
            Some(SortExpr::Value(indexed_column(source, *start, None)?))
        }
        _ => None,
    }
}

/// Where the page after `c` starts, checked against the search (its `branches`, `sort_len`
/// keys): the source exists, and every value has the type of the key or sort value it stands
/// for (so that it binds as the database compares it); `None` for a cursor at the start of its
/// source.
fn keyset(c: &Cursor, branches: &[Branch], sort_len: usize) -> Result<Option<Keyset>, PlanError> {
    let misfit = || PlanError::InvalidValue("the _cursor does not fit this search".into());
    let Some(key) = &c.after else {
        return Ok(None);
    };
    if c.sort.len() != sort_len || c.source >= branches.len() {
        return Err(misfit());
    }
    let b = &branches[c.source];
    // Types are known once the mapping was checked against the database.
    let known = |info: &&ColumnInfo| !info.type_name.is_empty();
    let key_fits = match b.cx.source.id.value.column_info().filter(known) {
        Some(info) if info.integer() => matches!(key, Value::Int(_)),
        // A NUMERIC key: an integer where the database returns one (SQLite), else its text.
        Some(info) if info.sql_type == SqlType::Decimal => match key {
            Value::Int(_) => true,
            Value::Text(t) => crate::sql::is_decimal_text(t),
            _ => false,
        },
        // Other keys are kept as their text (`Value::as_key`).
        Some(_) => matches!(key, Value::Text(_)),
        None => matches!(key, Value::Int(_) | Value::Text(_)),
    };
    if !key_fits {
        return Err(misfit());
    }
    let dialect = b.cx.dialect();
    for (j, v) in c.sort.iter().enumerate() {
        for branch in branches {
            let fits = match branch.sort.get(j).and_then(Option::as_ref) {
                None => true,
                Some(SortExpr::Mapped(_) | SortExpr::Code(_) | SortExpr::Folded(_)) => {
                    matches!(v, Value::Null | Value::Text(_))
                }
                Some(SortExpr::Widened(_)) => matches!(
                    v,
                    Value::Null | Value::Text(_) | Value::Date(_) | Value::Timestamp(_)
                ),
                Some(SortExpr::Value(sql)) => sql
                    .column_info()
                    .filter(known)
                    .is_none_or(|info| dialect.value_fits(info.compared_type(), v)),
            };
            if !fits {
                return Err(misfit());
            }
        }
    }
    Ok(Some(Keyset {
        source: c.source,
        key: key.clone(),
        sort: c.sort.clone(),
    }))
}

/// `SELECT COUNT(*)` of the rows of `cx.source` matching every criterion.
fn count(cx: &Context, criteria: Filter) -> Result<Statement, PlanError> {
    let mut w = SqlWriter::new(cx.dialect());
    w.push("SELECT COUNT(*)");
    write_from(&mut w, cx)?;
    write_filter(&mut w, cx, criteria)?;
    Ok(w.finish())
}

/// The statement that asks the query planner how many rows of `cx.source` match every
/// criterion, without running the query (`_total=estimate`); `None` when the database has no
/// estimate (SQLite: the caller counts).
fn estimate(cx: &Context, criteria: Filter) -> Result<Option<Statement>, PlanError> {
    let Some(explain) = cx.dialect().explain_prefix() else {
        return Ok(None);
    };
    let mut w = SqlWriter::new(cx.dialect());
    w.push(explain).push("SELECT 1");
    write_from(&mut w, cx)?;
    write_filter(&mut w, cx, criteria)?;
    Ok(Some(w.finish()))
}
