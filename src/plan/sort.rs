//! What a `_sort` key orders a source by, and how it is written in SQL.

use sea_query::Value;

use super::PlanError;
use super::context::Context;
use crate::mapping::sql::write_value;
use crate::mapping::{ColumnInfo, Location, MapField, SearchTarget, Source, SqlValue, TokenPart};
use crate::request::search::SortKey;
use crate::search::operand::{Operand, write_equals};
use crate::sql::SqlType;
use crate::sql::SqlWriter;

/// The value one `_sort` key orders a source's rows by.
#[derive(Debug, Clone, PartialEq)]
pub enum SortExpr {
    /// A column or expression of the row, ordered as the database stores it.
    Value(SqlValue),
    /// A value-mapped code, ordered by the FHIR code it maps to (a token sorts by its code).
    Mapped(MappedCode),
    /// A code the mapping gives every row of the source (a bound parameter).
    Code(String),
    /// A date sorted with date-times of other sources, written as the date-time of its
    /// midnight where the database needs it ([`crate::sql::Dialect::date_as_datetime`]).
    Widened(SqlValue),
    /// A string folded as string searches compare it (`LOWER(col) COLLATE "C"`, through
    /// `unaccent` where accents are ignored): the order of the index that serves a
    /// starts-with search, used as the page order of such a search without `_sort`.
    Folded(FoldedText),
}

/// A string value folded as string searches fold it.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldedText {
    /// The string.
    pub value: SqlValue,
    /// The PostgreSQL function that removes accents, where string searches use it.
    pub unaccent: Option<String>,
}

/// A legacy code column and the FHIR codes its value map gives.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedCode {
    /// The legacy code.
    pub value: SqlValue,
    /// Its column's type, when it is a column (codes bind as the column compares them).
    pub info: Option<ColumnInfo>,
    /// Each FHIR code with the legacy codes that map to it, in map order.
    pub codes: Vec<(String, Vec<String>)>,
    /// The code of legacy codes the map does not list (`None`: they have no code).
    pub default: Option<String>,
}

impl SortExpr {
    /// Writes the value of the row of `alias`. Legacy and FHIR codes of a value map are bound
    /// parameters, not SQL text.
    pub fn write(&self, w: &mut SqlWriter, alias: &str) {
        match self {
            SortExpr::Value(v) if !v.none().is_empty() => {
                // "No value" sentinels sort as no value (NULL).
                let sql = crate::mapping::sql::value_sql(w.dialect(), alias, v);
                let op = Operand {
                    none: v.none(),
                    ..Operand::new(sql, v.column_info())
                };
                w.push(&op.none_as_null(w.dialect()).sql);
            }
            SortExpr::Value(v) => write_value(w, alias, v),
            SortExpr::Mapped(m) => {
                let sql = crate::mapping::sql::value_sql(w.dialect(), alias, &m.value);
                let op = Operand::new(sql, m.info.as_ref());
                w.push("(CASE");
                if m.default.is_some() {
                    w.push(" WHEN ").push(&op.sql).push(" IS NULL THEN NULL");
                }
                for (code, legacy) in &m.codes {
                    w.push(" WHEN ");
                    write_equals(w, &op, legacy);
                    w.push(" THEN ").param(code.clone());
                }
                if let Some(d) = &m.default {
                    w.push(" ELSE ").param(d.clone());
                }
                w.push(" END)");
            }
            SortExpr::Code(c) => {
                w.param(c.clone());
            }
            SortExpr::Widened(v) => {
                let sql = SortExpr::Value(v.clone()).sql(w.dialect(), alias);
                let widened = w.dialect().date_as_datetime(&sql).unwrap_or(sql);
                w.push(&widened);
            }
            SortExpr::Folded(f) => {
                let sql = crate::mapping::sql::value_sql(w.dialect(), alias, &f.value);
                let folded = match &f.unaccent {
                    Some(u) => format!("{u}(LOWER({sql}))"),
                    None => format!("LOWER({sql})"),
                };
                let ordered = w.dialect().code_point_order(&folded).unwrap_or(folded);
                w.push(&ordered);
            }
        }
    }

    /// The SQL text of a value (without binds).
    fn sql(&self, dialect: crate::sql::Dialect, alias: &str) -> String {
        let mut w = SqlWriter::new(dialect);
        self.write(&mut w, alias);
        w.finish().sql
    }

    /// Whether every row of the source has the same value (nothing to order by).
    pub fn is_constant(&self) -> bool {
        matches!(self, SortExpr::Code(_))
    }

    /// What the values are, for merging several sources in one column of the page's union.
    pub fn sql_type(&self) -> SqlType {
        match self {
            SortExpr::Value(v) => v.sql_type(),
            SortExpr::Widened(_) => SqlType::DateTime,
            // FHIR codes, bound as text.
            SortExpr::Mapped(_) | SortExpr::Code(_) | SortExpr::Folded(_) => SqlType::Text,
        }
    }

    /// Writes a keyset bound compared with this value, bound as its column compares it
    /// ([`SqlWriter::param_for`]).
    pub fn write_bound(&self, w: &mut SqlWriter, value: Value) {
        let column = match self {
            SortExpr::Value(v) => v.column_info(),
            SortExpr::Mapped(_)
            | SortExpr::Code(_)
            | SortExpr::Widened(_)
            | SortExpr::Folded(_) => None,
        };
        w.param_for(column, value);
    }
}

/// What `_sort` key `code` orders `source` by: `Ok(None)` when the source does not declare
/// the parameter (its rows have no value for it, like NULLs). Only single-valued values of the
/// source row can be sorted on (not a child table's); a value-mapped token sorts by the FHIR
/// code its map gives, a constant token by its code.
fn sort_value(source: &Source, code: &str) -> Result<Option<SortExpr>, PlanError> {
    if code == "_lastUpdated" {
        return Ok(source.last_updated.clone().map(SortExpr::Value));
    }
    let Some(d) = source.search_decl(code) else {
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
        let el = source.leaf(l);
        let value = el.sql_value()?;
        if !mapped {
            return Some(SortExpr::Value(value.clone()));
        }
        let map = el.value_map()?;
        let mut codes: Vec<(String, Vec<String>)> = Vec::new();
        for (legacy, v) in &map.values {
            let Some(code) = v.field(MapField::Code) else {
                continue;
            };
            match codes.iter_mut().find(|(c, _)| *c == code) {
                Some((_, l)) => l.push(legacy.clone()),
                None => codes.push((code, vec![legacy.clone()])),
            }
        }
        Some(SortExpr::Mapped(MappedCode {
            value: value.clone(),
            info: el.column_info().cloned(),
            codes,
            default: map.default.as_ref().and_then(|d| d.field(MapField::Code)),
        }))
    });
    match value {
        Some(v) => Ok(Some(v)),
        None => Err(PlanError::Unsupported(format!(
            "_sort: {} cannot be sorted on '{code}' (supported: parameters backed by one column, expression, value-mapped or constant code of the resource's own row, _id, _lastUpdated)",
            source.resource_type
        ))),
    }
}

/// The sort values of `source` for `keys` (up to a `_id` key, which is the tie-breaker
/// anyway), and whether the id key runs descending.
pub fn sort_values(
    source: &Source,
    keys: &[SortKey],
) -> Result<(Vec<Option<SortExpr>>, bool), PlanError> {
    let mut out = Vec::new();
    for k in keys {
        if k.code == "_id" {
            return Ok((out, k.desc));
        }
        out.push(sort_value(source, &k.code)?);
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

/// Several sources can be merged on a sort key only when their values compare with each other
/// (the database compares them in one column of the union): numbers with numbers, dates with
/// date-times, text and codes with text ([`SqlType::comparable`]). A key only one source has
/// is compared with NULLs alone, so any value does. `sorts`: each source's sort values.
pub fn check_sort_types(
    cx: &Context,
    sorts: &[Vec<Option<SortExpr>>],
    keys: &[SortKey],
) -> Result<(), PlanError> {
    for (j, k) in keys.iter().enumerate() {
        let present: Vec<&SortExpr> = sorts.iter().filter_map(|s| s[j].as_ref()).collect();
        if present.len() < 2 {
            continue;
        }
        let first = present[0].sql_type();
        for v in present {
            if !first.comparable(v.sql_type()) {
                return Err(PlanError::Unsupported(format!(
                    "_sort: {}'s sources store '{}' differently, so they cannot be sorted together",
                    cx.source.resource_type, k.code
                )));
            }
        }
    }
    Ok(())
}

/// Where the database does not compare dates with date-times as such, a key that merges
/// date sources with date-time sources sorts the dates as the date-times of their midnight.
pub fn widen_dates(sorts: &mut [Vec<Option<SortExpr>>], dialect: crate::sql::Dialect) {
    if dialect.date_as_datetime("x").is_none() {
        return;
    }
    let keys = sorts.first().map_or(0, Vec::len);
    for j in 0..keys {
        let types: Vec<SqlType> = sorts
            .iter()
            .filter_map(|s| s[j].as_ref().map(SortExpr::sql_type))
            .collect();
        let mixed = types.contains(&SqlType::Date)
            && types
                .iter()
                .any(|t| matches!(t, SqlType::DateTime | SqlType::Instant));
        if !mixed {
            continue;
        }
        for s in sorts.iter_mut() {
            if let Some(SortExpr::Value(v)) = &s[j]
                && v.sql_type() == SqlType::Date
            {
                s[j] = Some(SortExpr::Widened(v.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::ColumnRef;
    use crate::sql::Dialect;

    fn column(name: &str, type_name: &str, integer: bool) -> SqlValue {
        let sql_type = if integer {
            SqlType::Integer
        } else {
            SqlType::Text
        };
        SqlValue::Column(ColumnRef {
            qualifier: None,
            name: name.into(),
            info: ColumnInfo {
                type_name: type_name.into(),
                sql_type,
                pad_to: None,
                as_text: false,
            },
            declared: None,
            none: Vec::new(),
        })
    }

    #[test]
    fn mapped_codes_are_a_case_over_bound_codes() {
        let sex = SortExpr::Mapped(MappedCode {
            value: column("SEX_CD", "CHAR", false),
            info: None,
            codes: vec![
                ("male".into(), vec!["M".into(), "m".into()]),
                ("female".into(), vec!["F".into()]),
            ],
            default: Some("unknown".into()),
        });
        let mut w = SqlWriter::new(Dialect::Postgres);
        sex.write(&mut w, "P");
        let s = w.finish();
        assert_eq!(
            s.sql,
            "(CASE WHEN P.\"SEX_CD\" IS NULL THEN NULL WHEN P.\"SEX_CD\" IN ($1, $2) THEN $3 \
             WHEN P.\"SEX_CD\" IN ($4) THEN $5 ELSE $6 END)"
        );
        let texts: Vec<Value> = ["M", "m", "male", "F", "female", "unknown"]
            .into_iter()
            .map(Value::from)
            .collect();
        assert_eq!(s.params, texts);
        // An integer code column binds integers; a code that cannot be in it matches nothing.
        let info = ColumnInfo {
            type_name: "INTEGER".into(),
            sql_type: SqlType::Integer,
            pad_to: None,
            as_text: false,
        };
        let level = SortExpr::Mapped(MappedCode {
            value: column("LVL", "INTEGER", true),
            info: Some(info),
            codes: vec![
                ("low".into(), vec!["1".into()]),
                ("odd".into(), vec!["x".into()]),
            ],
            default: None,
        });
        let mut w = SqlWriter::new(Dialect::Sqlite);
        level.write(&mut w, "T");
        let s = w.finish();
        assert_eq!(
            s.sql,
            "(CASE WHEN T.\"LVL\" IN (?) THEN ? WHEN 1=0 THEN ? END)"
        );
        assert_eq!(
            s.params,
            vec![Value::from(1i64), Value::from("low"), Value::from("odd")]
        );
    }

    #[test]
    fn text_bounds_on_postgres_char_columns_are_cast_to_bpchar() {
        let birth = SortExpr::Value(column("BIRTH_DT", "CHAR", false));
        let bound = |d, e: &SortExpr, v: Value| {
            let mut w = SqlWriter::new(d);
            e.write_bound(&mut w, v);
            w.finish().sql
        };
        assert_eq!(
            bound(Dialect::Postgres, &birth, Value::from("19740625")),
            "CAST($1 AS bpchar)"
        );
        assert_eq!(bound(Dialect::Sqlite, &birth, Value::from("19740625")), "?");
        assert_eq!(bound(Dialect::Mysql, &birth, Value::from("19740625")), "?");
        let name = SortExpr::Value(column("LAST_NM", "VARCHAR", false));
        assert_eq!(bound(Dialect::Postgres, &name, Value::from("A")), "$1");
        assert_eq!(bound(Dialect::Postgres, &birth, Value::from(5i64)), "$1");
    }
}
