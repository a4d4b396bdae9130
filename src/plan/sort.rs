//! What a `_sort` key orders a source by, and how it is written in SQL.

use sea_query::Value;

use super::read::write_value;
use super::search::write_equals;
use super::sql::SqlWriter;
use crate::dialect::Dialect;
use crate::mapping::{ColumnInfo, SqlValue};

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

    /// Writes a keyset bound compared with this value: on PostgreSQL a text bound is cast to
    /// `bpchar` for a `CHAR(n)` column, so the comparison uses the column's operators (and its
    /// index) rather than casting every row to text.
    pub fn write_bound(&self, w: &mut SqlWriter, value: Value) {
        let bpchar = w.dialect() == Dialect::Postgres
            && matches!(value, Value::String(_))
            && matches!(self, SortExpr::Value(SqlValue::Column(c))
                if c.info.type_name.eq_ignore_ascii_case("CHAR")
                    || c.info.type_name.eq_ignore_ascii_case("BPCHAR"));
        if bpchar {
            w.push("CAST(").param(value).push(" AS bpchar)");
        } else {
            w.param(value);
        }
    }
}
