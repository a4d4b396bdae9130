//! Search planning: a parsed search + one source → the page and count statements. Pure.
//!
//! Each criterion becomes a predicate over the source row, or an `EXISTS` on a child table,
//! built from the targets the mapping bound to the parameter. Request values are always bound
//! parameters. A criterion a source cannot satisfy (it does not declare the parameter, or a
//! constant does not match) becomes `1=0` for that source, so multi-source types stay exact.

use chrono_tz::Tz;
use sea_query::Value;

use super::read::{write_relation, write_source_select_list, write_value};
use super::sort::{MappedCode, SortExpr};
use super::sql::{SqlWriter, Statement};
use crate::dialect::Dialect;
use crate::mapping::{
    Convert, ElementMapping, ElementValue, LeafRef, Location, MapField, MapValue, SearchDecl,
    SearchTarget, Source, SqlValue, TokenPart,
};
use crate::request::search::{Filter, Modifier, TokenValue, split_escaped, token_value, unescape};
use crate::search::{date, number};

/// Why a search cannot be planned (the client's values are wrong).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// A value that cannot be used.
    #[error("{0}")]
    InvalidValue(String),
    /// Something this server does not support yet.
    #[error("{0}")]
    Unsupported(String),
}

/// Whether parameters of this type can be searched (what the CapabilityStatement lists).
pub fn searchable(param_type: &str, code: &str) -> bool {
    match param_type {
        "token" | "string" | "reference" | "number" | "quantity" | "date" => true,
        _ => code == "_id",
    }
}

pub use super::page::{Branch, Keyset, PageQuery, page_query};
pub use crate::request::search::SortKey as SortSpec;
use crate::request::search::SortKey;

/// Everything the predicates need to know besides the criterion.
pub struct Context<'a> {
    /// The source searched.
    pub source: &'a Source,
    /// The dialect.
    pub dialect: Dialect,
    /// Time zone of naive timestamps.
    pub tz: Tz,
    /// The server's FHIR base URL (absolute references on it are accepted).
    pub base_url: &'a str,
}

/// What `_sort` key `code` orders `cx.source` by: `Ok(None)` when the source does not declare
/// the parameter (its rows have no value for it, like NULLs). Only single-valued values of the
/// source row can be sorted on (not a child table's); a value-mapped token sorts by the FHIR
/// code its map gives, a constant token by its code.
fn sort_value(cx: &Context, code: &str) -> Result<Option<SortExpr>, PlanError> {
    if code == "_lastUpdated" {
        return Ok(cx.source.last_updated.clone().map(SortExpr::Value));
    }
    let Some(d) = decl(cx.source, code) else {
        return Ok(None);
    };
    let value = d.targets.iter().find_map(|t| {
        let (l, mapped) = match t {
            SearchTarget::String(l)
            | SearchTarget::Reference(l)
            | SearchTarget::Number(l)
            | SearchTarget::Date { start: l, .. }
            | SearchTarget::Quantity { value: l, .. } => (*l, false),
            SearchTarget::Token {
                code: TokenPart::Leaf(l),
                ..
            } => (*l, false),
            SearchTarget::Token {
                code: TokenPart::Mapped(l, MapField::Code),
                ..
            } => (*l, true),
            SearchTarget::Token {
                code: TokenPart::Const(c),
                ..
            } => return Some(SortExpr::Code(c.clone())),
            _ => return None,
        };
        if l.location != Location::Row {
            return None;
        }
        let el = element(cx.source, l);
        let ElementValue::Sql { value, .. } = &el.value else {
            return None;
        };
        if !mapped {
            return Some(SortExpr::Value(value.clone()));
        }
        let map = value_map(el)?;
        let mut codes: Vec<(String, Vec<String>)> = Vec::new();
        for (legacy, v) in &map.values {
            let Some(code) = map_field(v, MapField::Code) else {
                continue;
            };
            match codes.iter_mut().find(|(c, _)| *c == code) {
                Some((_, l)) => l.push(legacy.clone()),
                None => codes.push((code, vec![legacy.clone()])),
            }
        }
        Some(SortExpr::Mapped(MappedCode {
            value: value.clone(),
            info: column_info(el).cloned(),
            codes,
            default: map
                .default
                .as_ref()
                .and_then(|d| map_field(d, MapField::Code)),
        }))
    });
    match value {
        Some(v) => Ok(Some(v)),
        None => Err(PlanError::Unsupported(format!(
            "_sort: {} cannot be sorted on '{code}' (supported: parameters backed by one column, expression, value-mapped or constant code of the resource's own row, _id, _lastUpdated)",
            cx.source.resource_type
        ))),
    }
}

/// The sort values of `cx.source` for `keys` (up to a `_id` key, which is the tie-breaker
/// anyway), and whether the id key runs descending.
pub fn sort_values(
    cx: &Context,
    keys: &[SortKey],
) -> Result<(Vec<Option<SortExpr>>, bool), PlanError> {
    let mut out = Vec::new();
    for k in keys {
        if k.code == "_id" {
            return Ok((out, k.desc));
        }
        out.push(sort_value(cx, &k.code)?);
    }
    Ok((out, false))
}

/// The `_sort` keys that matter (those before a `_id` key).
pub fn effective_sort(keys: &[SortKey]) -> &[SortKey] {
    let end = keys
        .iter()
        .position(|k| k.code == "_id")
        .unwrap_or(keys.len());
    &keys[..end]
}

/// Several sources can be merged on a sort key only when they store it alike (the database
/// compares their values in one column of the union). A key only one source has is compared
/// with NULLs alone, so any value does.
pub fn check_sort_types(branches: &[Branch], keys: &[SortKey]) -> Result<(), PlanError> {
    for (j, k) in keys.iter().enumerate() {
        let present: Vec<&Branch> = branches.iter().filter(|b| b.sort[j].is_some()).collect();
        if present.len() < 2 {
            continue;
        }
        let mut seen: Option<String> = None;
        for b in present {
            let t = b.sort[j]
                .as_ref()
                .and_then(|v| v.storage())
                .unwrap_or_default();
            let same = seen.get_or_insert_with(|| t.clone()) == &t;
            if t.is_empty() || !same {
                return Err(PlanError::Unsupported(format!(
                    "_sort: {}'s sources store '{}' differently, so they cannot be sorted together",
                    b.cx.source.resource_type, k.code
                )));
            }
        }
    }
    Ok(())
}

/// ` AND <criterion>` for every filter.
pub fn write_filters(w: &mut SqlWriter, cx: &Context, filters: &[Filter]) -> Result<(), PlanError> {
    for f in filters {
        w.push(" AND ");
        write_filter(w, cx, f)?;
    }
    Ok(())
}

/// `SELECT COUNT(*)` of the rows of `source` matching every filter.
pub fn count_statement(cx: &Context, filters: &[Filter]) -> Result<Statement, PlanError> {
    let mut w = SqlWriter::new(cx.dialect);
    w.push("SELECT COUNT(*)");
    write_source_select_list(&mut w, cx.source);
    write_filters(&mut w, cx, filters)?;
    Ok(w.finish())
}

fn decl<'a>(source: &'a Source, code: &str) -> Option<&'a SearchDecl> {
    source.search.iter().find(|d| d.code == code)
}

/// One criterion: its values OR-ed over every target.
fn write_filter(w: &mut SqlWriter, cx: &Context, f: &Filter) -> Result<(), PlanError> {
    let Some(d) = decl(cx.source, &f.code) else {
        // The source does not have this parameter: nothing in it can match, except a
        // `:missing=true` (it has no such value at all).
        let missing_true = f.modifier == Some(Modifier::Missing) && f.values == ["true"];
        w.push(if missing_true { "1=1" } else { "1=0" });
        return Ok(());
    };
    if f.modifier == Some(Modifier::Missing) {
        let want_missing = f.values.iter().any(|v| v == "true");
        let want_present = f.values.iter().any(|v| v == "false");
        return match (want_missing, want_present) {
            (true, true) => {
                w.push("1=1");
                Ok(())
            }
            (true, false) => {
                w.push("NOT ");
                write_present(w, cx, d)
            }
            _ => write_present(w, cx, d),
        };
    }
    let negate = f.modifier == Some(Modifier::Not);
    if negate {
        // :not matches resources without a matching value, including those without a value.
        w.push("NOT COALESCE(");
    }
    w.push("(");
    for (i, raw) in f.values.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        write_value_match(w, cx, d, f, raw)?;
    }
    w.push(")");
    if negate {
        w.push(", 1=0)");
    }
    Ok(())
}

/// `(target 1 present OR target 2 present ...)`.
fn write_present(w: &mut SqlWriter, cx: &Context, d: &SearchDecl) -> Result<(), PlanError> {
    w.push("(");
    for (i, t) in d.targets.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        let leaf = match t {
            SearchTarget::Id => None,
            SearchTarget::LastUpdated => {
                w.push("1=1");
                continue;
            }
            SearchTarget::Token { code, .. } => match code {
                TokenPart::Leaf(l) | TokenPart::Mapped(l, _) => Some(*l),
                TokenPart::Const(_) => None,
                TokenPart::Absent => {
                    w.push("1=0");
                    continue;
                }
            },
            SearchTarget::String(l)
            | SearchTarget::Reference(l)
            | SearchTarget::Number(l)
            | SearchTarget::Date { start: l, .. }
            | SearchTarget::Quantity { value: l, .. } => Some(*l),
        };
        match leaf {
            None => write_bool(w, true),
            Some(l) => in_location(w, cx, l.location, |w| {
                let (sql, _) = leaf_sql(cx, l);
                w.push(&sql).push(" IS NOT NULL");
                Ok(())
            })?,
        }
    }
    w.push(")");
    Ok(())
}

/// Writes `body` for the source row, or for the rows of a child table (a semi-join).
fn in_location(
    w: &mut SqlWriter,
    cx: &Context,
    location: Location,
    body: impl FnOnce(&mut SqlWriter) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    match location {
        Location::Row => {
            w.push("(");
            body(w)?;
            w.push(")");
        }
        Location::Child(c) => {
            // `parent IN (SELECT key ...)` rather than a correlated EXISTS: every database
            // runs it as a semi-join from the child's index.
            let child = &cx.source.children[c];
            let key = SqlValue::Column(child.key.clone());
            w.push("(");
            write_value(w, &cx.source.alias, &child.parent_key);
            w.push(" IN (SELECT ");
            write_value(w, &child.alias, &key);
            w.push(" FROM ");
            write_relation(w, &child.relation, &child.alias);
            w.push(" WHERE ");
            write_value(w, &child.alias, &key);
            w.push(" IS NOT NULL");
            if let Some(f) = &child.filter {
                w.push(" AND (").push(f).push(")");
            }
            w.push(" AND (");
            body(w)?;
            w.push(")))");
        }
    }
    Ok(())
}

/// The element a leaf refers to.
fn element(source: &Source, l: LeafRef) -> &ElementMapping {
    match (l.location, l.element) {
        (Location::Row, Some(i)) => &source.elements[i],
        (Location::Child(c), Some(i)) => &source.children[c].elements[i],
        (Location::Child(c), None) => source.children[c]
            .value
            .as_ref()
            .expect("a child value leaf has a value"),
        (Location::Row, None) => unreachable!("row leaves name an element"),
    }
}

/// The SQL text of a leaf's value (qualified for its location) and its element.
fn leaf_sql<'a>(cx: &'a Context, l: LeafRef) -> (String, &'a ElementMapping) {
    let el = element(cx.source, l);
    let alias = match l.location {
        Location::Row => cx.source.alias.as_str(),
        Location::Child(c) => cx.source.children[c].alias.as_str(),
    };
    let ElementValue::Sql { value, .. } = &el.value else {
        return ("NULL".to_string(), el);
    };
    let mut w = SqlWriter::new(cx.dialect);
    write_value(&mut w, alias, value);
    (w.finish().sql, el)
}

fn column_info(el: &ElementMapping) -> Option<&crate::mapping::ColumnInfo> {
    match &el.value {
        ElementValue::Sql {
            value: SqlValue::Column(c),
            ..
        } => Some(&c.info),
        _ => None,
    }
}

/// `sql = value`, binding an integer for integer columns, and the blank-padded form too for
/// CHAR(n) columns whose padding counts (SQLite). `None` when the value cannot be in the
/// column (letters for an integer column).
pub(super) fn write_equals(
    w: &mut SqlWriter,
    sql: &str,
    info: Option<&crate::mapping::ColumnInfo>,
    values: &[String],
) {
    let mut binds: Vec<Value> = Vec::new();
    for v in values {
        if info.is_some_and(|i| i.integer) {
            if let Ok(n) = v.trim().parse::<i64>() {
                binds.push(Value::from(n));
            }
            continue;
        }
        binds.push(Value::from(v.clone()));
        if let Some(n) = info.and_then(|i| i.pad_to)
            && w.dialect() == Dialect::Sqlite
            && (v.chars().count() as u32) < n
        {
            binds.push(Value::from(format!("{v:<width$}", width = n as usize)));
        }
    }
    if binds.is_empty() {
        w.push("1=0");
        return;
    }
    w.push(sql).push(" IN (");
    for (i, b) in binds.into_iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.param(b);
    }
    w.push(")");
}

fn write_bool(w: &mut SqlWriter, b: bool) {
    w.push(if b { "1=1" } else { "1=0" });
}

/// The value map of a mapped element.
fn value_map(el: &ElementMapping) -> Option<&crate::mapping::ValueMap> {
    match &el.value {
        ElementValue::Sql {
            convert: Convert::Mapped { map, .. },
            ..
        } => Some(map),
        _ => None,
    }
}

fn map_field(v: &MapValue, field: MapField) -> Option<String> {
    match (v, field) {
        (MapValue::Scalar(s), MapField::Code) => Some(match s {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        }),
        (MapValue::Scalar(_), _) => None,
        (MapValue::Coding { system, .. }, MapField::System) => system.clone(),
        (MapValue::Coding { code, .. }, MapField::Code) => Some(code.clone()),
        (MapValue::Coding { display, .. }, MapField::Display) => display.clone(),
    }
}

/// A part compared with `want` (`None` = "must be absent", e.g. `|code` on the system).
fn write_part(w: &mut SqlWriter, cx: &Context, part: &TokenPart, want: Option<&str>) {
    match part {
        TokenPart::Absent => write_bool(w, want.is_none()),
        TokenPart::Const(c) => write_bool(w, want == Some(c.as_str())),
        TokenPart::Leaf(l) => {
            let (sql, el) = leaf_sql(cx, *l);
            match want {
                None => {
                    w.push(&sql).push(" IS NULL");
                }
                Some(v) => write_equals(w, &sql, column_info(el), &[v.to_string()]),
            }
        }
        TokenPart::Mapped(l, field) => {
            let (sql, el) = leaf_sql(cx, *l);
            let Some(map) = value_map(el) else {
                write_bool(w, false);
                return;
            };
            let keys: Vec<String> = map
                .values
                .iter()
                .filter(|(_, v)| map_field(v, *field).as_deref() == want)
                .map(|(k, _)| k.clone())
                .collect();
            let default_matches = map
                .default
                .as_ref()
                .is_some_and(|d| map_field(d, *field).as_deref() == want);
            w.push("(");
            write_equals(w, &sql, column_info(el), &keys);
            if default_matches {
                // Codes the map does not list take the default.
                let listed: Vec<String> = map.values.keys().cloned().collect();
                w.push(" OR (").push(&sql).push(" IS NOT NULL AND NOT (");
                write_equals(w, &sql, column_info(el), &listed);
                w.push("))");
            }
            w.push(")");
        }
    }
}

/// The leaf a token part reads, for locating the predicate.
fn part_location(part: &TokenPart) -> Option<Location> {
    match part {
        TokenPart::Leaf(l) | TokenPart::Mapped(l, _) => Some(l.location),
        _ => None,
    }
}

/// One value of a criterion: OR over the parameter's targets.
fn write_value_match(
    w: &mut SqlWriter,
    cx: &Context,
    d: &SearchDecl,
    f: &Filter,
    raw: &str,
) -> Result<(), PlanError> {
    w.push("(");
    for (i, t) in d.targets.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        match t {
            SearchTarget::Id => write_id(w, cx, raw),
            SearchTarget::Token {
                system,
                code,
                display,
                of_type,
            } => {
                let location = part_location(code)
                    .or(part_location(system))
                    .or(part_location(display))
                    .unwrap_or(Location::Row);
                if f.modifier == Some(Modifier::Text) {
                    let text = unescape(raw);
                    in_location(w, cx, location, |w| {
                        match display {
                            TokenPart::Leaf(l) => {
                                let (sql, _) = leaf_sql(cx, *l);
                                write_string_match(w, &sql, &text, None);
                            }
                            TokenPart::Const(c) => {
                                write_bool(w, c.to_lowercase().starts_with(&text.to_lowercase()))
                            }
                            _ => write_bool(w, false),
                        }
                        Ok(())
                    })?;
                    continue;
                }
                if f.modifier == Some(Modifier::OfType) {
                    let parts = split_escaped(raw, '|');
                    let [type_system, type_code, value] = parts.as_slice() else {
                        return Err(PlanError::InvalidValue(format!(
                            "{}:of-type takes type-system|type-code|value, not '{raw}'",
                            f.code
                        )));
                    };
                    let Some((ts, tc)) = of_type else {
                        write_bool(w, false);
                        continue;
                    };
                    let (ts_v, tc_v, v) =
                        (unescape(type_system), unescape(type_code), unescape(value));
                    in_location(w, cx, location, |w| {
                        write_part(w, cx, ts, Some(&ts_v));
                        w.push(" AND ");
                        write_part(w, cx, tc, Some(&tc_v));
                        w.push(" AND ");
                        write_part(w, cx, code, Some(&v));
                        Ok(())
                    })?;
                    continue;
                }
                let tv: TokenValue = token_value(raw);
                in_location(w, cx, location, |w| {
                    match tv.system.as_deref() {
                        None => write_bool(w, true),
                        Some("") => write_part(w, cx, system, None),
                        Some(s) => write_part(w, cx, system, Some(s)),
                    }
                    w.push(" AND ");
                    match tv.code.as_deref() {
                        None => write_bool(w, true),
                        Some(c) => write_part(w, cx, code, Some(c)),
                    }
                    Ok(())
                })?;
            }
            SearchTarget::String(l) => {
                let text = unescape(raw);
                in_location(w, cx, l.location, |w| {
                    let (sql, _) = leaf_sql(cx, *l);
                    write_string_match(w, &sql, &text, f.modifier.as_ref());
                    Ok(())
                })?;
            }
            SearchTarget::Reference(l) => {
                let el = element(cx.source, *l);
                let ElementValue::Sql {
                    convert:
                        Convert::Reference {
                            resource_type,
                            prefix,
                        },
                    ..
                } = &el.value
                else {
                    write_bool(w, false);
                    continue;
                };
                let wanted_type = match &f.modifier {
                    Some(Modifier::Type(t)) => Some(t.as_str()),
                    _ => None,
                };
                match reference_key(cx.base_url, &unescape(raw), wanted_type)? {
                    Some((ty, id))
                        if ty.as_deref().is_none_or(|t| t == resource_type)
                            && id.starts_with(prefix.as_str())
                            && id.len() > prefix.len() =>
                    {
                        let key = id[prefix.len()..].to_string();
                        in_location(w, cx, l.location, |w| {
                            let (sql, el) = leaf_sql(cx, *l);
                            write_equals(w, &sql, column_info(el), &[key]);
                            Ok(())
                        })?;
                    }
                    _ => write_bool(w, false),
                }
            }
            SearchTarget::Number(l) => {
                let search = number::parse_number(raw)
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", f.code)))?;
                in_location(w, cx, l.location, |w| {
                    let (sql, el) = leaf_sql(cx, *l);
                    number::write_number_predicate(w, &number_target(sql, el), &search);
                    Ok(())
                })?;
            }
            SearchTarget::Quantity {
                value,
                system,
                code,
                unit,
            } => {
                let search = number::parse_quantity(raw)
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", f.code)))?;
                in_location(w, cx, value.location, |w| {
                    let (sql, el) = leaf_sql(cx, *value);
                    let target = number::QuantityTarget {
                        value: number_target(sql, el),
                        system: quantity_part(cx, system),
                        code: quantity_part(cx, code),
                        unit: quantity_part(cx, unit),
                    };
                    number::write_quantity_predicate(w, &target, &search);
                    Ok(())
                })?;
            }
            SearchTarget::Date { start, end } => {
                let search = date::parse(raw, cx.tz)
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", f.code)))?;
                in_location(w, cx, start.location, |w| {
                    let (start_sql, el) = leaf_sql(cx, *start);
                    let target = date::DateTarget {
                        start: start_sql,
                        end: end.map(|e| leaf_sql(cx, e).0),
                        storage: date_storage(cx.dialect, el_info(el), el_format(el)),
                    };
                    date::write_predicate(w, &target, &search, cx.tz)
                        .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", f.code)))
                })?;
            }
            SearchTarget::LastUpdated => {
                let search = date::parse(raw, cx.tz)
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", f.code)))?;
                let Some(value) = &cx.source.last_updated else {
                    write_bool(w, false);
                    continue;
                };
                let mut vw = SqlWriter::new(cx.dialect);
                write_value(&mut vw, &cx.source.alias, value);
                let info = match value {
                    SqlValue::Column(c) => Some(&c.info),
                    SqlValue::Expr(_) => None,
                };
                let target = date::DateTarget {
                    start: vw.finish().sql,
                    end: None,
                    storage: date_storage(cx.dialect, info, None),
                };
                w.push("(");
                date::write_predicate(w, &target, &search, cx.tz)
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", f.code)))?;
                w.push(")");
            }
        }
    }
    w.push(")");
    Ok(())
}

fn el_info(el: &ElementMapping) -> Option<&crate::mapping::ColumnInfo> {
    column_info(el)
}

fn el_format(el: &ElementMapping) -> Option<&str> {
    match &el.value {
        ElementValue::Sql {
            convert: Convert::Primitive { format, .. },
            ..
        } => format.as_deref(),
        _ => None,
    }
}

/// How a date is stored, from the column's type (and the mapping's `format` for text dates).
/// Expressions are taken to yield timestamps.
pub fn date_storage(
    dialect: Dialect,
    info: Option<&crate::mapping::ColumnInfo>,
    format: Option<&str>,
) -> date::DateStorage {
    if let Some(f) = format {
        return date::DateStorage::Text {
            format: f.to_string(),
        };
    }
    let t = info
        .map(|i| i.type_name.to_ascii_uppercase())
        .unwrap_or_default();
    if t.contains("TIMESTAMPTZ") || t.contains("WITH TIME ZONE") {
        date::DateStorage::TimestampTz
    } else if t == "TIMESTAMP" && dialect == Dialect::Mysql {
        // MySQL TIMESTAMP values are instants (read in the session's UTC).
        date::DateStorage::TimestampTz
    } else if t.contains("TIME") {
        date::DateStorage::Timestamp
    } else if t.contains("DATE") {
        date::DateStorage::Date
    } else {
        date::DateStorage::Timestamp
    }
}

/// A number target: text columns and expressions are cast to a number, numeric columns are
/// compared as they are (so their indexes serve).
fn number_target(sql: String, el: &ElementMapping) -> number::NumberTarget {
    let numeric_column = column_info(el).is_some_and(|i| {
        let t = i.type_name.to_ascii_uppercase();
        ["INT", "DEC", "NUM", "REAL", "FLOAT", "DOUBLE"]
            .iter()
            .any(|k| t.contains(k))
    });
    if numeric_column {
        number::NumberTarget::numeric(sql)
    } else {
        number::NumberTarget::text(sql)
    }
}

/// A quantity's system/code/unit as the number module takes it. Value-mapped parts are not
/// searchable (they count as absent).
fn quantity_part(cx: &Context, part: &TokenPart) -> number::Part {
    match part {
        TokenPart::Const(c) => number::Part::Const(Some(c.clone())),
        TokenPart::Leaf(l) => number::Part::Sql(leaf_sql(cx, *l).0),
        TokenPart::Absent | TokenPart::Mapped(..) => number::Part::Const(None),
    }
}

fn write_id(w: &mut SqlWriter, cx: &Context, raw: &str) {
    let id = unescape(raw);
    let source = cx.source;
    let key = id
        .strip_prefix(source.id.prefix.as_str())
        .filter(|rest| !rest.is_empty())
        .and_then(|rest| super::read::key_for_id(source, rest));
    match key {
        Some(k) => {
            write_value(w, &source.alias, &source.id.value);
            w.push(" = ").param(k);
        }
        None => write_bool(w, false),
    }
}

/// `(type, id)` of a reference search value: `Type/id`, `id`, or `[base]/Type/id`.
/// `Ok(None)` when it cannot point into this server.
fn reference_key(
    base_url: &str,
    value: &str,
    wanted_type: Option<&str>,
) -> Result<Option<(Option<String>, String)>, PlanError> {
    let local = match value.strip_prefix(base_url) {
        Some(rest) => rest.trim_start_matches('/'),
        None if value.contains("://") => return Ok(None),
        None => value,
    };
    let (ty, id) = match local.split_once('/') {
        Some((t, i)) => (Some(t.to_string()), i.to_string()),
        None => (wanted_type.map(str::to_string), local.to_string()),
    };
    if let (Some(t), Some(w)) = (&ty, wanted_type)
        && t != w
    {
        return Ok(None);
    }
    if id.is_empty() || id.contains('/') {
        return Err(PlanError::InvalidValue(format!(
            "'{value}' is not a reference (use Type/id, id, or {base_url}/Type/id)"
        )));
    }
    Ok(Some((ty, id)))
}

/// The LIKE pattern of `text` with `%`, `_` and the escape character escaped.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '!') {
            out.push('!');
        }
        out.push(c);
    }
    out
}

/// The smallest string above every string starting with `prefix`, if there is one.
fn prefix_upper_bound(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = char::from_u32(last as u32 + 1) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// A string criterion on `sql`: case-insensitive starts-with by default (a range on
/// `LOWER(col)` that an expression index can serve, rechecked with LIKE), `:exact`,
/// `:contains`.
fn write_string_match(w: &mut SqlWriter, sql: &str, text: &str, modifier: Option<&Modifier>) {
    match modifier {
        Some(Modifier::Exact) => {
            w.push(sql).push(" = ").param(text.to_string());
            if w.dialect() == Dialect::Mysql {
                // MySQL's usual collations ignore case; :exact must not.
                w.push(" AND BINARY ")
                    .push(sql)
                    .push(" = ")
                    .param(text.to_string());
            }
        }
        Some(Modifier::Contains) => {
            w.push("LOWER(").push(sql).push(") LIKE ");
            w.param(format!("%{}%", like_escaped(&text.to_lowercase())));
            w.push(" ESCAPE '!'");
        }
        _ => {
            let lower = text.to_lowercase();
            w.push("LOWER(")
                .push(sql)
                .push(") >= ")
                .param(lower.clone());
            if let Some(upper) = prefix_upper_bound(&lower) {
                w.push(" AND LOWER(").push(sql).push(") < ").param(upper);
            }
            w.push(" AND LOWER(").push(sql).push(") LIKE ");
            w.param(format!("{}%", like_escaped(&lower)));
            w.push(" ESCAPE '!'");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_bounds_and_like_escapes() {
        assert_eq!(prefix_upper_bound("smi").as_deref(), Some("smj"));
        assert_eq!(like_escaped("50%_!"), "50!%!_!!");
        let mut w = SqlWriter::new(Dialect::Postgres);
        write_string_match(&mut w, "P.\"LAST_NM\"", "Smi", None);
        let s = w.finish();
        assert_eq!(
            s.sql,
            "LOWER(P.\"LAST_NM\") >= $1 AND LOWER(P.\"LAST_NM\") < $2 AND LOWER(P.\"LAST_NM\") LIKE $3 ESCAPE '!'"
        );
        assert_eq!(
            s.params,
            vec![Value::from("smi"), Value::from("smj"), Value::from("smi%")]
        );
    }

    #[test]
    fn reference_values() {
        let base = "http://h/fhir";
        assert_eq!(
            reference_key(base, "Patient/1", None).unwrap(),
            Some((Some("Patient".into()), "1".into()))
        );
        assert_eq!(
            reference_key(base, "http://h/fhir/Patient/1", None).unwrap(),
            Some((Some("Patient".into()), "1".into()))
        );
        assert_eq!(
            reference_key(base, "http://other/fhir/Patient/1", None).unwrap(),
            None
        );
        assert_eq!(
            reference_key(base, "1", Some("Patient")).unwrap(),
            Some((Some("Patient".into()), "1".into()))
        );
        assert_eq!(
            reference_key(base, "Practitioner/1", Some("Patient")).unwrap(),
            None
        );
        assert!(reference_key(base, "Patient/", None).is_err());
    }
}
