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
use crate::mapping::{
    CompositeTarget, Convert, ElementMapping, ElementValue, LeafRef, Location, MapField, MapValue,
    Mapping, SearchDecl, SearchTarget, Source, SqlValue, TokenPart,
};
use crate::request::search::{Filter, Modifier, TokenValue, split_escaped, token_value, unescape};
use crate::search::string::{Accents, normalize, write_string_match};
use crate::search::{date, number};
use crate::sql::Dialect;
use crate::sql::{SqlWriter, Statement};

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
        "token" | "string" | "reference" | "number" | "quantity" | "date" | "uri" | "composite" => {
            true
        }
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
    /// How string searches treat accents.
    pub accents: &'a Accents,
    /// The whole mapping (chains and `_has` go to other sources).
    pub mapping: &'a Mapping,
}

impl<'a> Context<'a> {
    /// The same context for another source.
    pub fn with_source(&self, source: &'a Source) -> Context<'a> {
        Context {
            source,
            dialect: self.dialect,
            tz: self.tz,
            base_url: self.base_url,
            mapping: self.mapping,
            accents: self.accents,
        }
    }
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
            SearchTarget::Uri(TokenPart::Leaf(l)) => (*l, false),
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

/// `_id`, and `_lastUpdated` where the source has a last-updated time, for criteria the
/// server makes itself (compartments, `$everything`'s `_since`) on sources that do not
/// declare them. Requests can only use declared parameters.
fn implicit_decl(source: &Source, code: &str) -> Option<SearchDecl> {
    let (param_type, target) = match code {
        "_id" => ("token", SearchTarget::Id),
        "_lastUpdated" if source.last_updated.is_some() => ("date", SearchTarget::LastUpdated),
        _ => return None,
    };
    Some(SearchDecl {
        code: code.to_string(),
        param_type: param_type.to_string(),
        definition: String::new(),
        targets: vec![target],
    })
}

/// One criterion: its values OR-ed over every target (or, with hops, over the resources the
/// hops lead to), OR-ed with its alternatives.
pub(super) fn write_filter(w: &mut SqlWriter, cx: &Context, f: &Filter) -> Result<(), PlanError> {
    if f.alternatives.is_empty() {
        return write_one_filter(w, cx, f);
    }
    w.push("(");
    write_one_filter(w, cx, f)?;
    for alt in &f.alternatives {
        w.push(" OR ");
        write_filter(w, cx, alt)?;
    }
    w.push(")");
    Ok(())
}

fn write_one_filter(w: &mut SqlWriter, cx: &Context, f: &Filter) -> Result<(), PlanError> {
    if !f.hops.is_empty() {
        return super::chain::write_hops(w, cx, f);
    }
    let implicit;
    let d = match decl(cx.source, &f.code) {
        Some(d) => Some(d),
        None => {
            implicit = implicit_decl(cx.source, &f.code);
            implicit.as_ref()
        }
    };
    let Some(d) = d else {
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
    if f.values.len() > 1 && write_key_lists(w, cx, d, f)? {
        return Ok(());
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
    write_targets_present(w, cx, &d.targets, None)
}

/// Whether any of `targets` has a value (`within`: as in [`write_targets_match`]).
fn write_targets_present(
    w: &mut SqlWriter,
    cx: &Context,
    targets: &[SearchTarget],
    within: Option<Location>,
) -> Result<(), PlanError> {
    w.push("(");
    for (i, t) in targets.iter().enumerate() {
        if i > 0 {
            w.push(" OR ");
        }
        let leaf = match t {
            SearchTarget::Id => None,
            SearchTarget::LastUpdated => {
                w.push("1=1");
                continue;
            }
            SearchTarget::Token { code: part, .. } | SearchTarget::Uri(part) => match part {
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
            SearchTarget::Composite(ct) => {
                // Every component has a value in the same repetition.
                let inner = within.or(ct.within);
                let body = |w: &mut SqlWriter| {
                    for (j, targets) in ct.targets.iter().enumerate() {
                        if j > 0 {
                            w.push(" AND ");
                        }
                        write_targets_present(w, cx, targets, inner)?;
                    }
                    Ok(())
                };
                match (within, ct.within) {
                    (None, Some(location)) => in_location(w, cx, location, body)?,
                    _ => {
                        w.push("(");
                        body(w)?;
                        w.push(")");
                    }
                }
                continue;
            }
        };
        match leaf {
            None => write_bool(w, true),
            Some(l) => at(w, cx, within, l.location, |w| {
                let (sql, el) = leaf_sql(cx, l);
                write_not_blank(w, &sql, column_info(el));
                Ok(())
            })?,
        }
    }
    w.push(")");
    Ok(())
}

/// Writes `body` for the source row, or for the rows of a child table (a semi-join).
pub(crate) fn in_location(
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
    source.leaf(l)
}

/// The SQL text of a leaf's value (qualified for its location) and its element.
pub(crate) fn leaf_sql<'a>(cx: &'a Context, l: LeafRef) -> (String, &'a ElementMapping) {
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

pub(crate) fn column_info(el: &ElementMapping) -> Option<&crate::mapping::ColumnInfo> {
    match &el.value {
        ElementValue::Sql {
            value: SqlValue::Column(c),
            ..
        } => Some(&c.info),
        _ => None,
    }
}

/// The values to bind to compare a column with `v`: an integer for integer columns (none when
/// `v` is not one), and for CHAR(n) columns whose padding counts (SQLite) the blank-padded
/// form too.
fn equal_binds(dialect: Dialect, info: Option<&crate::mapping::ColumnInfo>, v: &str) -> Vec<Value> {
    if info.is_some_and(|i| i.integer) {
        return v
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .into_iter()
            .collect();
    }
    let mut out = vec![Value::from(v.to_string())];
    if let Some(n) = info.and_then(|i| i.pad_to)
        && dialect.compares_char_padding()
        && (v.chars().count() as u32) < n
    {
        out.push(Value::from(format!("{v:<width$}", width = n as usize)));
    }
    out
}

/// `sql IN (values...)`, bound as [`equal_binds`] says, each as the column compares it
/// ([`SqlWriter::param_for`]); `1=0` when no value can be in the column (letters for an
/// integer column).
pub(crate) fn write_equals(
    w: &mut SqlWriter,
    sql: &str,
    info: Option<&crate::mapping::ColumnInfo>,
    values: &[String],
) {
    let binds: Vec<Value> = values
        .iter()
        .flat_map(|v| equal_binds(w.dialect(), info, v))
        .collect();
    if binds.is_empty() {
        w.push("1=0");
        return;
    }
    w.push(sql).push(" IN (");
    for (i, b) in binds.into_iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        w.param_for(info, b);
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
        TokenPart::Mapped(l, field) => write_mapped(w, cx, *l, *field, |v| v == want),
    }
}

/// A value-mapped leaf whose mapped `field` satisfies `wanted` (`None`: the entry has no such
/// field), searched in reverse: the legacy codes whose entry satisfies it (and, when the map's
/// default does, every code the map does not list).
fn write_mapped(
    w: &mut SqlWriter,
    cx: &Context,
    l: LeafRef,
    field: MapField,
    wanted: impl Fn(Option<&str>) -> bool,
) {
    let (sql, el) = leaf_sql(cx, l);
    let Some(map) = value_map(el) else {
        write_bool(w, false);
        return;
    };
    let keys: Vec<String> = map
        .values
        .iter()
        .filter(|(_, v)| wanted(map_field(v, field).as_deref()))
        .map(|(k, _)| k.clone())
        .collect();
    let default_matches = map
        .default
        .as_ref()
        .is_some_and(|d| wanted(map_field(d, field).as_deref()));
    w.push("(");
    write_equals(w, &sql, column_info(el), &keys);
    if default_matches {
        // Codes the map does not list take the default.
        let listed: Vec<String> = map.values.keys().cloned().collect();
        w.push(" OR (");
        write_not_blank(w, &sql, column_info(el));
        w.push(" AND NOT (");
        write_equals(w, &sql, column_info(el), &listed);
        w.push("))");
    }
    w.push(")");
}

/// `sql` holds a value: not NULL and, for a text column, not blank (blank text is absent
/// from the resources too).
fn write_not_blank(w: &mut SqlWriter, sql: &str, info: Option<&crate::mapping::ColumnInfo>) {
    w.push(sql).push(" IS NOT NULL");
    let text = info.is_some_and(|i| {
        let t = i.type_name.to_ascii_uppercase();
        !i.integer && (t.contains("CHAR") || t.contains("TEXT") || t.contains("CLOB"))
    });
    if text {
        w.push(" AND TRIM(").push(sql).push(") <> ''");
    }
}

/// Whether a plain token value (`code`, `system|code`, `|code`, `system|`) can be seen to miss
/// `t` from the mapping alone: a constant or absent system or code that differs, or a value map
/// with no entry for it.
fn token_cannot_match(cx: &Context, t: &SearchTarget, c: &Criterion, raw: &str) -> bool {
    let SearchTarget::Token { system, code, .. } = t else {
        return false;
    };
    if matches!(c.modifier, Some(Modifier::Text | Modifier::OfType)) {
        return false;
    }
    let tv = token_value(raw);
    let misses = |part: &TokenPart, want: Option<&str>| match part {
        TokenPart::Absent => want.is_some(),
        TokenPart::Const(k) => want != Some(k.as_str()),
        TokenPart::Leaf(_) => false,
        TokenPart::Mapped(l, field) => {
            let Some(map) = value_map(element(cx.source, *l)) else {
                return true;
            };
            let hit = |v: &MapValue| map_field(v, *field).as_deref() == want;
            !map.values.values().any(hit) && !map.default.as_ref().is_some_and(hit)
        }
    };
    let system_misses = match tv.system.as_deref() {
        None => false,
        Some("") => misses(system, None),
        Some(s) => misses(system, Some(s)),
    };
    system_misses || tv.code.as_deref().is_some_and(|v| misses(code, Some(v)))
}

/// The leaf a token part reads, for locating the predicate.
fn part_location(part: &TokenPart) -> Option<Location> {
    match part {
        TokenPart::Leaf(l) | TokenPart::Mapped(l, _) => Some(l.location),
        _ => None,
    }
}

/// How the values of a criterion are read: the parameter's code (for messages) and modifier.
struct Criterion<'a> {
    code: &'a str,
    modifier: Option<&'a Modifier>,
}

/// One value of a criterion: OR over the parameter's targets.
fn write_value_match(
    w: &mut SqlWriter,
    cx: &Context,
    d: &SearchDecl,
    f: &Filter,
    raw: &str,
) -> Result<(), PlanError> {
    let c = Criterion {
        code: &f.code,
        modifier: f.modifier.as_ref(),
    };
    write_targets_match(w, cx, &d.targets, &c, raw, None)
}

/// Writes `body` where a value at `location` is compared: in its own place (a semi-join for a
/// child table), or as it is when already `within` a semi-join (a composite's repetition).
fn at(
    w: &mut SqlWriter,
    cx: &Context,
    within: Option<Location>,
    location: Location,
    body: impl FnOnce(&mut SqlWriter) -> Result<(), PlanError>,
) -> Result<(), PlanError> {
    match within {
        Some(_) => {
            w.push("(");
            body(w)?;
            w.push(")");
            Ok(())
        }
        None => in_location(w, cx, location, body),
    }
}

/// One value: OR over `targets`.
fn write_targets_match(
    w: &mut SqlWriter,
    cx: &Context,
    targets: &[SearchTarget],
    c: &Criterion,
    raw: &str,
    within: Option<Location>,
) -> Result<(), PlanError> {
    // Alternatives that cannot match are left out rather than written as `1=0 AND ...`:
    // SQLite does not simplify them away, and an OR with them keeps it from using an index.
    let live: Vec<&SearchTarget> = targets
        .iter()
        .filter(|t| !token_cannot_match(cx, t, c, raw))
        .collect();
    if live.is_empty() {
        w.push("(1=0)");
        return Ok(());
    }
    w.push("(");
    for (i, t) in live.into_iter().enumerate() {
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
                if c.modifier == Some(&Modifier::Text) {
                    let text = unescape(raw);
                    at(w, cx, within, location, |w| {
                        match display {
                            TokenPart::Leaf(l) => {
                                let (sql, el) = leaf_sql(cx, *l);
                                let column = column_info(el);
                                write_string_match(w, &sql, column, &text, None, cx.accents);
                            }
                            TokenPart::Const(c) => {
                                let strip = cx.accents.insensitive();
                                write_bool(
                                    w,
                                    normalize(c, strip).starts_with(&normalize(&text, strip)),
                                )
                            }
                            _ => write_bool(w, false),
                        }
                        Ok(())
                    })?;
                    continue;
                }
                if c.modifier == Some(&Modifier::OfType) {
                    let parts = split_escaped(raw, '|');
                    let [type_system, type_code, value] = parts.as_slice() else {
                        return Err(PlanError::InvalidValue(format!(
                            "{}:of-type takes type-system|type-code|value, not '{raw}'",
                            c.code
                        )));
                    };
                    let Some((ts, tc)) = of_type else {
                        write_bool(w, false);
                        continue;
                    };
                    let (ts_v, tc_v, v) =
                        (unescape(type_system), unescape(type_code), unescape(value));
                    at(w, cx, within, location, |w| {
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
                at(w, cx, within, location, |w| {
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
                at(w, cx, within, l.location, |w| {
                    let (sql, el) = leaf_sql(cx, *l);
                    let column = column_info(el);
                    write_string_match(w, &sql, column, &text, c.modifier, cx.accents);
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
                            ..
                        },
                    ..
                } = &el.value
                else {
                    write_bool(w, false);
                    continue;
                };
                let wanted_type = match c.modifier {
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
                        at(w, cx, within, l.location, |w| {
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
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", c.code)))?;
                at(w, cx, within, l.location, |w| {
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
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", c.code)))?;
                at(w, cx, within, value.location, |w| {
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
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", c.code)))?;
                at(w, cx, within, start.location, |w| {
                    let (start_sql, el) = leaf_sql(cx, *start);
                    let (end_sql, end_el) = end.map(|e| leaf_sql(cx, e)).unzip();
                    let target = date::DateTarget {
                        start: start_sql,
                        end: end_sql,
                        start_column: el_info(el).cloned(),
                        end_column: end_el.and_then(el_info).cloned(),
                        storage: date_storage(cx.dialect, el_info(el), el_format(el)),
                    };
                    date::write_predicate(w, &target, &search, cx.tz)
                        .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", c.code)))
                })?;
            }
            SearchTarget::LastUpdated => {
                let search = date::parse(raw, cx.tz)
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", c.code)))?;
                let Some(value) = &cx.source.last_updated else {
                    write_bool(w, false);
                    continue;
                };
                let mut vw = SqlWriter::new(cx.dialect);
                write_value(&mut vw, &cx.source.alias, value);
                let info = value.column_info();
                let target = date::DateTarget {
                    start: vw.finish().sql,
                    end: None,
                    start_column: info.cloned(),
                    end_column: None,
                    storage: date_storage(cx.dialect, info, None),
                };
                w.push("(");
                date::write_predicate(w, &target, &search, cx.tz)
                    .map_err(|e| PlanError::InvalidValue(format!("{}: {e}", c.code)))?;
                w.push(")");
            }
            SearchTarget::Uri(part) => {
                let m = uri_match(c, raw)?;
                let location = part_location(part).unwrap_or(Location::Row);
                at(w, cx, within, location, |w| {
                    write_uri_match(w, cx, part, &m);
                    Ok(())
                })?;
            }
            SearchTarget::Composite(ct) => write_composite_match(w, cx, ct, c, raw, within)?,
        }
    }
    w.push(")");
    Ok(())
}

/// A composite value (`part$part...`) in one repetition: every component's part matches
/// (with that component's own type semantics) in the same repetition.
fn write_composite_match(
    w: &mut SqlWriter,
    cx: &Context,
    ct: &CompositeTarget,
    c: &Criterion,
    raw: &str,
    within: Option<Location>,
) -> Result<(), PlanError> {
    let parts = split_escaped(raw, '$');
    if parts.len() != ct.components.len() || parts.iter().any(|p| p.is_empty()) {
        let codes: Vec<&str> = ct.components.iter().map(|k| k.code.as_str()).collect();
        return Err(PlanError::InvalidValue(format!(
            "{} takes {} values separated by $ ({}), not '{raw}'",
            c.code,
            ct.components.len(),
            codes.join("$")
        )));
    }
    let within = within.or(ct.within);
    let body = |w: &mut SqlWriter| {
        for (i, ((component, targets), part)) in ct
            .components
            .iter()
            .zip(&ct.targets)
            .zip(&parts)
            .enumerate()
        {
            if i > 0 {
                w.push(" AND ");
            }
            let code = format!("{} ({})", c.code, component.code);
            let cc = Criterion {
                code: &code,
                modifier: None,
            };
            write_targets_match(w, cx, targets, &cc, part, within)?;
        }
        Ok(())
    };
    match ct.within {
        // One semi-join on the child table: all components hold on the same child row.
        Some(location) => in_location(w, cx, location, body),
        None => {
            w.push("(");
            body(w)?;
            w.push(")");
            Ok(())
        }
    }
}

/// How a uri value is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UriMatch {
    /// Equal to one of these (the value; with `:above`, also its parent paths).
    AnyOf(Vec<String>),
    /// Starts with this (`:below`).
    Below(String),
}

/// The comparison a uri criterion asks for. `:above` and `:below` apply to URLs only
/// (`scheme://...`), not to URNs.
fn uri_match(c: &Criterion, raw: &str) -> Result<UriMatch, PlanError> {
    let value = unescape(raw);
    let modifier = match c.modifier {
        Some(m @ (Modifier::Above | Modifier::Below)) => m,
        _ => return Ok(UriMatch::AnyOf(vec![value])),
    };
    let Some(after_scheme) = value.find("://").map(|i| i + 3) else {
        return Err(PlanError::InvalidValue(format!(
            "{}:{} applies to URLs (scheme://...), not to '{value}'",
            c.code,
            modifier.code()
        )));
    };
    if *modifier == Modifier::Below {
        return Ok(UriMatch::Below(value));
    }
    Ok(UriMatch::AnyOf(uri_parents(&value, after_scheme)))
}

/// `value` and its parent paths, e.g. for `http://a.org/fhir/ValueSet/1`: itself,
/// `http://a.org/fhir/ValueSet/` and `http://a.org/fhir/ValueSet`, ... `http://a.org/` and
/// `http://a.org`. The path ends at a query or fragment; parents start after the authority.
fn uri_parents(value: &str, after_scheme: usize) -> Vec<String> {
    let path_end = value[after_scheme..]
        .find(['?', '#'])
        .map_or(value.len(), |i| after_scheme + i);
    let mut out = vec![value.to_string()];
    let slashes: Vec<usize> = value[after_scheme..path_end]
        .match_indices('/')
        .map(|(i, _)| after_scheme + i)
        .collect();
    let mut cuts: Vec<usize> = slashes.iter().flat_map(|&i| [i, i + 1]).collect();
    cuts.push(path_end);
    for cut in cuts.into_iter().rev() {
        let parent = &value[..cut];
        if cut > after_scheme && !out.iter().any(|p| p == parent) {
            out.push(parent.to_string());
        }
    }
    out
}

/// A uri part compared as `m` asks: exact and case-sensitive on every database (MySQL's usual
/// collations ignore case, so it rechecks with BINARY).
fn write_uri_match(w: &mut SqlWriter, cx: &Context, part: &TokenPart, m: &UriMatch) {
    let matches = |v: Option<&str>| match (m, v) {
        (_, None) => false,
        (UriMatch::AnyOf(values), Some(v)) => values.iter().any(|x| x == v),
        (UriMatch::Below(prefix), Some(v)) => v.starts_with(prefix.as_str()),
    };
    match part {
        TokenPart::Absent => write_bool(w, false),
        TokenPart::Const(c) => write_bool(w, matches(Some(c))),
        TokenPart::Mapped(l, field) => write_mapped(w, cx, *l, *field, matches),
        TokenPart::Leaf(l) => {
            let (sql, el) = leaf_sql(cx, *l);
            match m {
                UriMatch::AnyOf(values) => {
                    write_equals(w, &sql, column_info(el), values);
                    if w.dialect().needs_binary_recheck() {
                        w.push(" AND BINARY ");
                        write_equals(w, &sql, column_info(el), values);
                    }
                }
                UriMatch::Below(prefix) => write_prefix_match(w, &sql, prefix),
            }
        }
    }
}

/// `sql` starts with `prefix`, case-sensitively, as a range an index can serve: on SQLite a
/// range in its binary order; on PostgreSQL a range in the "C" collation (code point order
/// whatever the column's collation, served by an index on `(col COLLATE "C")`); on MySQL a
/// LIKE on the column (a range on its index) rechecked with BINARY.
fn write_prefix_match(w: &mut SqlWriter, sql: &str, prefix: &str) {
    match w.dialect().code_point_order(sql) {
        None => {
            let pattern = format!("{}%", crate::search::string::like_escaped(prefix));
            w.push(sql).push(" LIKE ").param(pattern.clone());
            w.push(" ESCAPE '!' AND BINARY ")
                .push(sql)
                .push(" LIKE ")
                .param(pattern);
            w.push(" ESCAPE '!'");
        }
        Some(col) => {
            w.push(&col).push(" >= ").param(prefix.to_string());
            match crate::search::string::prefix_upper_bound(prefix) {
                Some(upper) => {
                    w.push(" AND ").push(&col).push(" < ").param(upper);
                }
                None => {
                    w.push(" AND ").push(sql).push(" IS NOT NULL");
                }
            }
        }
    }
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
    } else if t == "TIMESTAMP" && dialect.timestamp_is_instant() {
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

/// A quantity's system/code/unit as the number module takes it. A value-mapped part carries
/// its map, searched in reverse as token parts are.
fn quantity_part(cx: &Context, part: &TokenPart) -> number::Part {
    match part {
        TokenPart::Const(c) => number::Part::Const(Some(c.clone())),
        TokenPart::Leaf(l) => {
            let (sql, el) = leaf_sql(cx, *l);
            number::Part::Sql(sql, column_info(el).cloned())
        }
        TokenPart::Mapped(l, field) => {
            let (sql, el) = leaf_sql(cx, *l);
            let Some(map) = value_map(el) else {
                return number::Part::Const(None);
            };
            number::Part::Mapped {
                entries: map
                    .values
                    .iter()
                    .map(|(k, v)| {
                        (
                            equal_binds(cx.dialect, column_info(el), k),
                            map_field(v, *field),
                        )
                    })
                    .collect(),
                default: map.default.as_ref().map(|d| map_field(d, *field)),
                column: column_info(el).cloned(),
                sql,
            }
        }
        TokenPart::Absent => number::Part::Const(None),
    }
}

/// Several `_id` or reference values as one `IN (...)` list per target, instead of an `OR` of
/// equalities (includes and `$everything` ask for hundreds at once). `Ok(false)`, writing
/// nothing, when the parameter has other kinds of targets.
fn write_key_lists(
    w: &mut SqlWriter,
    cx: &Context,
    d: &SearchDecl,
    f: &Filter,
) -> Result<bool, PlanError> {
    let wanted_type = match &f.modifier {
        None => None,
        Some(Modifier::Type(t)) => Some(t.as_str()),
        Some(_) => return Ok(false),
    };
    let mut lists: Vec<(Option<LeafRef>, Vec<String>)> = Vec::new();
    for t in &d.targets {
        match t {
            SearchTarget::Id if wanted_type.is_none() => {
                let prefix = cx.source.id.prefix.as_str();
                let keys = f
                    .values
                    .iter()
                    .map(|raw| unescape(raw))
                    .filter_map(|id| {
                        let rest = id.strip_prefix(prefix).filter(|r| !r.is_empty())?;
                        super::read::key_for_id(cx.source, rest)?;
                        Some(rest.to_string())
                    })
                    .collect();
                lists.push((None, keys));
            }
            SearchTarget::Reference(l) => {
                let ElementValue::Sql {
                    convert:
                        Convert::Reference {
                            resource_type,
                            prefix,
                            ..
                        },
                    ..
                } = &element(cx.source, *l).value
                else {
                    return Ok(false);
                };
                let mut keys = Vec::new();
                for raw in &f.values {
                    if let Some((ty, id)) = reference_key(cx.base_url, &unescape(raw), wanted_type)?
                        && ty.as_deref().is_none_or(|t| t == resource_type)
                        && let Some(key) = id.strip_prefix(prefix.as_str())
                        && !key.is_empty()
                    {
                        keys.push(key.to_string());
                    }
                }
                lists.push((Some(*l), keys));
            }
            _ => return Ok(false),
        }
    }
    w.push("(");
    let mut any = false;
    for (leaf, keys) in lists {
        if keys.is_empty() {
            continue;
        }
        if any {
            w.push(" OR ");
        }
        any = true;
        match leaf {
            None => {
                let mut id = SqlWriter::new(cx.dialect);
                write_value(&mut id, &cx.source.alias, &cx.source.id.value);
                let info = cx.source.id.value.column_info();
                write_equals(w, &id.finish().sql, info, &keys);
            }
            Some(l) => in_location(w, cx, l.location, |w| {
                let (sql, el) = leaf_sql(cx, l);
                write_equals(w, &sql, column_info(el), &keys);
                Ok(())
            })?,
        }
    }
    if !any {
        w.push("1=0");
    }
    w.push(")");
    Ok(true)
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
            w.push(" = ").param_for(source.id.value.column_info(), k);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_text_counts_as_absent() {
        let sql = |type_name: &str, integer: bool| {
            let info = crate::mapping::ColumnInfo {
                type_name: type_name.into(),
                integer,
                pad_to: None,
            };
            let mut w = SqlWriter::new(Dialect::Postgres);
            write_not_blank(&mut w, "P.C", Some(&info));
            w.finish().sql
        };
        assert_eq!(sql("VARCHAR", false), "P.C IS NOT NULL AND TRIM(P.C) <> ''");
        assert_eq!(sql("bpchar", false), "P.C IS NOT NULL AND TRIM(P.C) <> ''");
        assert_eq!(sql("INTEGER", true), "P.C IS NOT NULL");
        assert_eq!(sql("DATE", false), "P.C IS NOT NULL");
        let mut w = SqlWriter::new(Dialect::Sqlite);
        write_not_blank(&mut w, "(expr)", None);
        assert_eq!(w.finish().sql, "(expr) IS NOT NULL");
    }

    #[test]
    fn uri_parents_cut_at_path_slashes() {
        let v = "http://a.org/fhir/ValueSet/1";
        assert_eq!(
            uri_parents(v, 7),
            [
                "http://a.org/fhir/ValueSet/1",
                "http://a.org/fhir/ValueSet/",
                "http://a.org/fhir/ValueSet",
                "http://a.org/fhir/",
                "http://a.org/fhir",
                "http://a.org/",
                "http://a.org",
            ]
        );
        assert_eq!(
            uri_parents("urn://x/y?a=b/c", 6),
            ["urn://x/y?a=b/c", "urn://x/y", "urn://x/", "urn://x"]
        );
        assert_eq!(uri_parents("http://a.org", 7), ["http://a.org"]);
    }

    #[test]
    fn uri_modifiers_apply_to_urls_only() {
        let below = Criterion {
            code: "url",
            modifier: Some(&Modifier::Below),
        };
        assert_eq!(
            uri_match(&below, "http://a.org/x").unwrap(),
            UriMatch::Below("http://a.org/x".into())
        );
        assert!(uri_match(&below, "urn:oid:1.2.3").is_err());
        let exact = Criterion {
            code: "url",
            modifier: None,
        };
        assert_eq!(
            uri_match(&exact, "urn:oid:1.2\\,3").unwrap(),
            UriMatch::AnyOf(vec!["urn:oid:1.2,3".into()])
        );
    }

    #[test]
    fn equal_values_bind_as_the_column_compares_them() {
        let char6 = crate::mapping::ColumnInfo {
            type_name: "CHAR".into(),
            integer: false,
            pad_to: Some(6),
        };
        let sql = |d, info| {
            let mut w = SqlWriter::new(d);
            write_equals(&mut w, "T.\"CD\"", info, &["K".into(), "HGBA1C".into()]);
            let s = w.finish();
            (s.sql, s.params)
        };
        let texts = |v: &[&str]| v.iter().map(|t| Value::from(*t)).collect::<Vec<_>>();
        assert_eq!(
            sql(Dialect::Postgres, Some(&char6)),
            (
                "T.\"CD\" IN (CAST($1 AS bpchar), CAST($2 AS bpchar))".into(),
                texts(&["K", "HGBA1C"])
            )
        );
        assert_eq!(
            sql(Dialect::Postgres, None),
            ("T.\"CD\" IN ($1, $2)".into(), texts(&["K", "HGBA1C"]))
        );
        // SQLite compares the padding: the padded form is bound too.
        assert_eq!(
            sql(Dialect::Sqlite, Some(&char6)),
            (
                "T.\"CD\" IN (?, ?, ?)".into(),
                texts(&["K", "K     ", "HGBA1C"])
            )
        );
    }

    #[test]
    fn prefix_matches_per_dialect() {
        let sql = |d| {
            let mut w = SqlWriter::new(d);
            write_prefix_match(&mut w, "O.\"SRC\"", "http://a/");
            w.finish()
        };
        let s = sql(Dialect::Sqlite);
        assert_eq!(s.sql, "O.\"SRC\" >= ? AND O.\"SRC\" < ?");
        assert_eq!(
            s.params,
            vec![Value::from("http://a/"), Value::from("http://a0")]
        );
        assert_eq!(
            sql(Dialect::Postgres).sql,
            "O.\"SRC\" COLLATE \"C\" >= $1 AND O.\"SRC\" COLLATE \"C\" < $2"
        );
        let m = sql(Dialect::Mysql);
        assert_eq!(
            m.sql,
            "O.\"SRC\" LIKE ? ESCAPE '!' AND BINARY O.\"SRC\" LIKE ? ESCAPE '!'"
        );
        assert_eq!(m.params[0], Value::from("http://a/%"));
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
