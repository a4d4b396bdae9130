//! The SQL types of the mapping's values: what each column and expression yields, from what
//! the database says (the table's columns, the probe query's result columns for expressions)
//! and what the mapping declares (`type = "..."`). Searches bind values of these types, and
//! sorts, chains and keys compare by them. Pure: the descriptions are passed in.
//!
//! - A column takes the database's type; a declared type must agree with it.
//! - An expression takes the type the database reports for it in the probe query (PostgreSQL
//!   and MySQL/MariaDB always do; SQLite never does), checked against a declared one; else the
//!   declared type. With neither, an expression feeding a text element (a string, a code, a
//!   value-mapped code) or an id is taken as text, one feeding a reference takes the type of
//!   the key it refers to, and any other is an error where the server compares it (a
//!   searched date, number or boolean, `last_updated`).

use super::layout::{ChildLayout, SourceLayout};
use super::{
    Convert, ElementMapping, ElementValue, LeafRef, Location, Mapping, MappingError, Primitive,
    SearchTarget, Source, SqlValue, TokenPart,
};
use crate::sql::{ColumnInfo, DbColumn, Dialect, SqlType};

/// Types the expressions of `source` from `described` (the columns of its probe queries, in
/// the order of [`super::live::probes`]: the source's, then each child's), and reconciles
/// declared types with the database's.
pub fn type_source(
    source: &mut Source,
    described: &[Vec<DbColumn>],
    dialect: Dialect,
    errors: &mut Vec<MappingError>,
) {
    let entry = format!("resource \"{}\" ({})", source.name, source.resource_type);
    let layout = SourceLayout::of(source);
    let row = reported(&layout.columns, described.first());
    let line = source.line;
    let t = Typer {
        dialect,
        reported: &row,
    };
    t.apply(
        &mut source.id.value,
        line,
        &format!("{entry}, id"),
        Some(SqlType::Text),
        errors,
    );
    if let Some(v) = &mut source.last_updated {
        t.apply(v, line, &format!("{entry}, last_updated"), None, errors);
    }
    if let Some(v) = &mut source.version {
        t.apply(
            v,
            line,
            &format!("{entry}, version"),
            Some(SqlType::Text),
            errors,
        );
    }
    for el in &mut source.elements {
        t.apply_element(el, &entry, errors);
    }
    for (k, child) in source.children.iter_mut().enumerate() {
        let what = format!("{entry}, child \"{}\", parent_key", child.written);
        t.apply(
            &mut child.parent_key,
            child.line,
            &what,
            Some(SqlType::Text),
            errors,
        );
        let cl = ChildLayout::of(child);
        let rows = reported(&cl.columns, described.get(k + 1));
        let ct = Typer {
            dialect,
            reported: &rows,
        };
        let centry = format!("{entry}, child \"{}\"", child.written);
        for el in child.elements.iter_mut().chain(child.value.iter_mut()) {
            ct.apply_element(el, &centry, errors);
        }
    }
}

/// What the database reported for each expression of a layout: the expression (as compiled)
/// and the column the probe query returned at its position.
fn reported(columns: &[SqlValue], described: Option<&Vec<DbColumn>>) -> Vec<(SqlValue, DbColumn)> {
    let Some(described) = described else {
        return Vec::new();
    };
    columns
        .iter()
        .zip(described)
        .filter(|(v, _)| matches!(v, SqlValue::Expr(_)))
        .map(|(v, c)| (v.clone(), c.clone()))
        .collect()
}

struct Typer<'a> {
    dialect: Dialect,
    reported: &'a [(SqlValue, DbColumn)],
}

impl Typer<'_> {
    fn apply_element(&self, el: &mut ElementMapping, entry: &str, errors: &mut Vec<MappingError>) {
        let default = match &el.value {
            ElementValue::Sql { convert, .. } => match convert {
                Convert::Mapped { .. } | Convert::Prefixed { .. } => Some(SqlType::Text),
                Convert::Primitive {
                    to: Primitive::String | Primitive::Code,
                    ..
                } => Some(SqlType::Text),
                // A date read from text with a format is text.
                Convert::Primitive {
                    format: Some(_), ..
                } => Some(SqlType::Text),
                _ => None,
            },
            ElementValue::Constant(_) => return,
        };
        let what = format!("{entry}, element \"{}\"", el.written);
        if let ElementValue::Sql { value, convert } = &mut el.value {
            self.apply(value, el.line, &what, default, errors);
            if let Some(e) = text_form_misfit(value, convert, &el.fhir_type, el.line, &what) {
                errors.push(e);
            }
        }
    }

    /// Types one value: the database's type, checked against (or, where it says nothing,
    /// replaced by) the declared one; `default` when neither is known.
    fn apply(
        &self,
        value: &mut SqlValue,
        line: usize,
        what: &str,
        default: Option<SqlType>,
        errors: &mut Vec<MappingError>,
    ) {
        let declared = value.declared();
        let reported = match value {
            SqlValue::Column(c) => Some(c.info.clone()),
            SqlValue::Expr(_) => self
                .reported
                .iter()
                .find(|(v, _)| v == value)
                .map(|(_, c)| c.info()),
        };
        let reported = reported.unwrap_or_default();
        let (type_name, known) = (reported.type_name, reported.sql_type);
        let sql_type = match (declared, known) {
            (Some(d), SqlType::Unknown) => d,
            (Some(d), r) if d == r || d.comparable(r) => r,
            // SQLite keeps dates as text: a text column declared as a date holds dates.
            (Some(d), SqlType::Text) if d.is_temporal() && self.dialect.dates_are_text() => d,
            (Some(d), r) => {
                errors.push(
                    MappingError::new(
                        line,
                        what,
                        format!(
                            "declared as {d}, but the database says it is {r} ({type_name})"
                        ),
                    )
                    .hint(format!(
                        "declare type = \"{r}\" (the type of what the column or expression holds), or convert it in an expr"
                    )),
                );
                r
            }
            (None, SqlType::Unknown) => default.unwrap_or_default(),
            (None, r) => r,
        };
        let info = match value {
            SqlValue::Column(c) => &mut c.info,
            SqlValue::Expr(e) => &mut e.info,
        };
        info.sql_type = sql_type;
        info.as_text |= reported.as_text;
        if !type_name.is_empty() && info.type_name.is_empty() {
            info.type_name = type_name;
        }
    }
}

/// A value read through its text form ([`ColumnInfo::as_text`]: a PostgreSQL `money`,
/// `interval`, `timetz`...) filling a number, date or time without a `format`: PostgreSQL
/// writes such values as no FHIR number or date (`$12.50`, `1 day 02:00:00`), so every one
/// would be left out, and a search on it would fail in the database.
fn text_form_misfit(
    value: &SqlValue,
    convert: &Convert,
    fhir_type: &str,
    line: usize,
    what: &str,
) -> Option<MappingError> {
    let info = value.column_info().filter(|i| i.as_text)?;
    let Convert::Primitive {
        to, format: None, ..
    } = convert
    else {
        return None;
    };
    let cast = match to {
        Primitive::Integer => "BIGINT",
        Primitive::Decimal => "NUMERIC",
        Primitive::Date => "DATE",
        Primitive::DateTime | Primitive::Instant => "TIMESTAMP",
        Primitive::Time => "TIME",
        Primitive::String | Primitive::Code | Primitive::Boolean => return None,
    };
    let sql = match value {
        SqlValue::Column(c) => c.name.clone(),
        SqlValue::Expr(e) => e.sql.clone(),
    };
    Some(
        MappingError::new(
            line,
            what,
            format!(
                "the database's type {} has no {fhir_type} value the server can read: it is read as text, as PostgreSQL writes it",
                info.type_name
            ),
        )
        .hint(format!(
            "convert it in an expr, e.g. {{ expr = \"CAST({sql} AS {cast})\" }} (where the type converts), or map it to a string element"
        )),
    )
}

/// Gives a reference held by an expression of unknown type the type of the key it refers to
/// (`NULLIF(PROV_ID, 0)` refers to integer keys).
pub fn type_references(mapping: &mut Mapping) {
    let keys: Vec<(String, ColumnInfo)> = mapping
        .sources
        .iter()
        .map(|s| {
            let info = s.id.value.column_info().cloned().unwrap_or_default();
            (s.name.clone(), info)
        })
        .collect();
    let key_of = |name: &str| keys.iter().find(|(n, _)| n == name).map(|(_, i)| i);
    for source in &mut mapping.sources {
        let elements = source.elements.iter_mut().chain(
            source
                .children
                .iter_mut()
                .flat_map(|c| c.elements.iter_mut().chain(c.value.iter_mut())),
        );
        for el in elements {
            if let ElementValue::Sql {
                value: SqlValue::Expr(e),
                convert: Convert::Reference { source: target, .. },
            } = &mut el.value
                && e.info.sql_type == SqlType::Unknown
                && let Some(key) = key_of(target)
            {
                e.info.sql_type = key.sql_type;
            }
        }
    }
}

/// Reports the values whose type is still unknown where the server compares them in SQL: the
/// targets of declared date, number and quantity parameters, boolean token parts, and
/// `last_updated`.
pub fn check_types_needed(
    mapping: &Mapping,
    dialect: Dialect,
    skip: &dyn Fn(usize) -> bool,
    errors: &mut Vec<MappingError>,
) {
    for (i, source) in mapping.sources.iter().enumerate() {
        if skip(i) {
            continue;
        }
        let entry = format!("resource \"{}\" ({})", source.name, source.resource_type);
        if let Some(v) = &source.last_updated {
            let what = format!("{entry}, last_updated");
            if v.sql_type() == SqlType::Unknown {
                errors.push(unknown(
                    source.line,
                    &what,
                    "its time is compared by _lastUpdated, _sort and $everything's _since",
                    "datetime",
                ));
            } else if !dialect.compares_text_with_times() && v.sql_type() == SqlType::Text {
                errors.push(
                    MappingError::new(
                        source.line,
                        &what,
                        "the database holds text there, which PostgreSQL does not compare with the times of _lastUpdated and $everything's _since",
                    )
                    .hint("convert it in an expr, e.g. last_updated = { expr = \"CAST(COL AS TIMESTAMP)\" }"),
                );
            }
        }
        let mut reported: Vec<LeafRef> = Vec::new();
        for d in &source.search {
            for leaf in compared_leaves(source, &d.targets, false) {
                let el = source.leaf(leaf);
                let Some(v) = el.sql_value() else {
                    continue;
                };
                let text_date = !dialect.compares_text_with_times()
                    && v.sql_type() == SqlType::Text
                    && !v.column_info().is_some_and(|i| i.as_text)
                    && compared_leaves(source, &d.targets, true).contains(&leaf)
                    && !matches!(
                        &el.value,
                        ElementValue::Sql {
                            convert: Convert::Primitive {
                                format: Some(_),
                                ..
                            },
                            ..
                        }
                    );
                if !(v.sql_type() == SqlType::Unknown || text_date) || reported.contains(&leaf) {
                    continue;
                }
                reported.push(leaf);
                let line = match leaf.location {
                    Location::Row => el.line,
                    Location::Child(c) => source.children[c].line.max(el.line),
                };
                let what = format!("{entry}, element \"{}\"", el.written);
                errors.push(match text_date {
                    false => unknown(
                        line,
                        &what,
                        &format!("it is searched by '{}'", d.code),
                        suggested(&el.fhir_type),
                    ),
                    true => MappingError::new(
                        line,
                        &what,
                        format!(
                            "it is searched by '{}' as a date, but the database holds text there, which PostgreSQL does not compare with dates",
                            d.code
                        ),
                    )
                    .hint(
                        "give the text's format, e.g. format = \"%Y-%m-%d\" (section 14.3 of docs/mapping.md), or convert it in an expr, e.g. CAST(COL AS DATE)",
                    ),
                });
            }
        }
    }
}

fn unknown(line: usize, what: &str, why: &str, suggested: &str) -> MappingError {
    MappingError::new(
        line,
        what,
        format!("the database does not say what this expression yields, and {why}"),
    )
    .hint(format!(
        "declare the SQL type of what it returns, e.g. type = \"{suggested}\", or type = \"text\" when it returns text (one of: {})",
        SqlType::DECLARABLE.map(SqlType::name).join(", ")
    ))
}

fn suggested(fhir_type: &str) -> &'static str {
    match fhir_type {
        "date" => "date",
        "dateTime" | "instant" => "datetime",
        "boolean" => "boolean",
        "integer" | "positiveInt" | "unsignedInt" => "integer",
        "decimal" => "decimal",
        _ => "text",
    }
}

/// The leaves of `targets` whose values the SQL compares by type: dates, numbers, quantity
/// values and boolean token parts (text is compared as text whatever it is); the dates only
/// when `dates_only`.
fn compared_leaves(source: &Source, targets: &[SearchTarget], dates_only: bool) -> Vec<LeafRef> {
    let mut out = Vec::new();
    for t in targets {
        match t {
            SearchTarget::Date { start, end } => {
                out.push(*start);
                out.extend(end);
            }
            SearchTarget::Number(l) | SearchTarget::Quantity { value: l, .. } if !dates_only => {
                out.push(*l)
            }
            SearchTarget::Token { code, .. } if !dates_only => match code {
                TokenPart::Leaf(l) if source.leaf(*l).fhir_type == "boolean" => out.push(*l),
                TokenPart::Truth(leaves) => {
                    out.extend(leaves.iter().filter(|(_, flag)| *flag).map(|(l, _)| *l));
                }
                _ => {}
            },
            SearchTarget::Guarded(g) => out.extend(compared_leaves(source, &g.targets, dates_only)),
            SearchTarget::Composite(ct) => {
                for targets in &ct.targets {
                    out.extend(compared_leaves(source, targets, dates_only));
                }
            }
            _ => {}
        }
    }
    out
}
