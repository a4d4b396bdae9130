//! What a `_sort` key orders a source by, and how it is written in SQL.

use sea_query::Value;

use super::read::write_value;
use super::search::write_equals;
use crate::mapping::{ColumnInfo, SqlValue};
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
            SortExpr::Value(v) => write_value(w, alias, v),
            SortExpr::Mapped(m) => {
                let mut vw = SqlWriter::new(w.dialect());
                write_value(&mut vw, alias, &m.value);
                let sql = vw.finish().sql;
                w.push("(CASE");
                if m.default.is_some() {
                    w.push(" WHEN ").push(&sql).push(" IS NULL THEN NULL");
                }
                for (code, legacy) in &m.codes {
                    w.push(" WHEN ");
                    write_equals(w, &sql, m.info.as_ref(), legacy);
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
        }
    }

    /// Whether every row of the source has the same value (nothing to order by).
    pub fn is_constant(&self) -> bool {
        matches!(self, SortExpr::Code(_))
    }

    /// How the values are stored, for merging several sources in one column of the page's
    /// union: `None` when not known (an SQL expression).
    pub fn storage(&self) -> Option<String> {
        match self {
            SortExpr::Value(SqlValue::Column(c)) => Some(c.info.type_name.to_ascii_uppercase()),
            SortExpr::Value(SqlValue::Expr(_)) => None,
            // FHIR codes, bound as text.
            SortExpr::Mapped(_) | SortExpr::Code(_) => Some("code".into()),
        }
    }

    /// Writes a keyset bound compared with this value, bound as its column compares it
    /// ([`SqlWriter::param_for`]).
    pub fn write_bound(&self, w: &mut SqlWriter, value: Value) {
        let column = match self {
            SortExpr::Value(v) => v.column_info(),
            SortExpr::Mapped(_) | SortExpr::Code(_) => None,
        };
        w.param_for(column, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::ColumnRef;
    use crate::sql::Dialect;

    fn column(name: &str, type_name: &str, integer: bool) -> SqlValue {
        SqlValue::Column(ColumnRef {
            qualifier: None,
            name: name.into(),
            info: ColumnInfo {
                type_name: type_name.into(),
                integer,
                pad_to: None,
            },
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
            integer: true,
            pad_to: None,
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
