//! A parameterized SQL statement and the writer that builds one for a dialect.
//!
//! Text written with [`SqlWriter::push`] comes only from the mapping file or from the planner
//! itself; request values go through [`SqlWriter::param`] and are bound, never spliced.

use sea_query::Value;

use super::{ColumnInfo, Dialect, SqlType};

/// SQL text with its bound parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL, with the dialect's placeholders.
    pub sql: String,
    /// Parameter values, in placeholder order.
    pub params: Vec<Value>,
    /// For a `UNION ALL` whose branches select their own columns side by side, each padded
    /// with NULLs where the others' are ([`crate::mapping::sql::children_rows`]): the number of
    /// columns of each branch. Its rows are decoded as the branch number (the first column),
    /// that branch's own columns, then the last column; the NULLs are not decoded.
    pub parts: Option<Vec<usize>>,
}

/// `value` as a number where it is text of one compared with a numeric `column`.
fn numeric_for(dialect: Dialect, column: Option<&ColumnInfo>, value: Value) -> Value {
    let Value::String(Some(text)) = &value else {
        return value;
    };
    match column.map(|c| c.sql_type) {
        Some(SqlType::Integer) => text.parse::<i64>().map_or(value, Value::from),
        Some(SqlType::Decimal) => decimal_text_param(dialect, text).unwrap_or(value),
        _ => value,
    }
}

/// `text` bound as the decimal number it is ([`Dialect::decimal_param`]); `None` when it is
/// no decimal number ([`is_decimal_text`]).
pub fn decimal_text_param(dialect: Dialect, text: &str) -> Option<Value> {
    if !is_decimal_text(text) {
        return None;
    }
    let d = text.parse::<rust_decimal::Decimal>().ok()?;
    Some(dialect.decimal_param(d))
}

/// Whether `text` is a decimal number as databases write one: digits, maybe a sign and a
/// fraction (`12`, `-0.50`; no exponent, no blanks).
pub fn is_decimal_text(text: &str) -> bool {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, "0"));
    !int.is_empty()
        && !frac.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
}

/// Whether `text` is a UUID as written `8-4-4-4-12` in hexadecimal digits (either case).
fn is_uuid_text(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The byte offsets of the `?` of `sql` outside quoted text (`'...'`, `"..."`, `` `...` ``).
fn question_marks(sql: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    for (i, c) in sql.char_indices() {
        match (quote, c) {
            (None, '\'' | '"' | '`') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '?') => out.push(i),
            _ => {}
        }
    }
    out
}

/// How many `?` placeholders `sql` holds outside quoted text.
pub fn placeholders(sql: &str) -> usize {
    question_marks(sql).len()
}

/// Builds a [`Statement`] for one dialect.
#[derive(Debug)]
pub struct SqlWriter {
    dialect: Dialect,
    sql: String,
    params: Vec<Value>,
}

impl SqlWriter {
    /// An empty statement for `dialect`.
    pub fn new(dialect: Dialect) -> Self {
        SqlWriter {
            dialect,
            sql: String::new(),
            params: Vec::new(),
        }
    }

    /// The dialect being written.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Appends trusted SQL text.
    pub fn push(&mut self, text: &str) -> &mut Self {
        self.sql.push_str(text);
        self
    }

    /// Appends a quoted identifier.
    pub fn ident(&mut self, name: &str) -> &mut Self {
        let quoted = self.dialect.quote_ident(name);
        self.sql.push_str(&quoted);
        self
    }

    /// Appends a placeholder bound to `value`.
    pub fn param(&mut self, value: impl Into<Value>) -> &mut Self {
        self.params.push(value.into());
        self.dialect
            .push_placeholder(&mut self.sql, self.params.len());
        self
    }

    /// Appends a placeholder bound to `value` where it is compared with a column described by
    /// `column` (`None`: an expression). On PostgreSQL a text value compared with a `CHAR(n)`
    /// column is cast to `bpchar`: request values are bound as `text`, and `bpchar = text`
    /// compares as text, casting every row, so an index on the column could not serve it; one
    /// compared with a `uuid` column is cast to `uuid` (a NULL when it is no UUID, which
    /// matches nothing): PostgreSQL has no `uuid = text`.
    ///
    /// Text that is a number compared with an integer or `NUMERIC`/`DECIMAL` column is bound
    /// as that number: keys travel as text (a paging cursor, a child's parent key, an id), and
    /// PostgreSQL has no `numeric = text`.
    pub fn param_for(&mut self, column: Option<&ColumnInfo>, value: impl Into<Value>) -> &mut Self {
        let value = numeric_for(self.dialect, column, value.into());
        let cast = column.and_then(|c| self.dialect.text_param_cast(c));
        match (cast, &value) {
            (Some(ty), Value::String(Some(text))) => {
                // Text that is no uuid names no row (PostgreSQL would refuse the cast).
                let value = if ty == "uuid" && !is_uuid_text(text) {
                    Value::String(None)
                } else {
                    value
                };
                self.push("CAST(")
                    .param(value)
                    .push(" AS ")
                    .push(ty)
                    .push(")")
            }
            _ => self.param(value),
        }
    }

    /// `sql IN (values...)`, each value bound as compared with `column`
    /// ([`Self::param_for`]); `1=0` when there is no value.
    pub fn in_list<V: Into<Value>>(
        &mut self,
        sql: &str,
        column: Option<&ColumnInfo>,
        values: impl IntoIterator<Item = V>,
    ) -> &mut Self {
        let mut values = values.into_iter().peekable();
        if values.peek().is_none() {
            return self.push("1=0");
        }
        self.push(sql).push(" IN (");
        for (i, v) in values.enumerate() {
            if i > 0 {
                self.push(", ");
            }
            self.param_for(column, v);
        }
        self.push(")")
    }

    /// Appends trusted SQL text from the mapping in which each `?` outside quotes stands for
    /// `value` (bound once per `?`).
    pub fn push_with_value(&mut self, sql: &str, value: impl Into<Value>) -> &mut Self {
        let value = value.into();
        let mut start = 0;
        for i in question_marks(sql) {
            self.push(&sql[start..i]).param(value.clone());
            start = i + 1;
        }
        self.push(&sql[start..])
    }

    /// The finished statement.
    pub fn finish(self) -> Statement {
        Statement {
            sql: self.sql,
            params: self.params,
            parts: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_text_is_digits_with_a_sign_and_a_fraction() {
        for yes in ["0", "12", "-3", "12.50", "-0.5"] {
            assert!(is_decimal_text(yes), "{yes}");
        }
        for no in [
            "", "-", "1.", ".5", "+1", "1e3", " 1", "1 ", "abc", "1.2.3", "--1",
        ] {
            assert!(!is_decimal_text(no), "{no}");
        }
    }

    #[test]
    fn text_compared_with_a_uuid_column_is_cast_and_checked_on_postgres() {
        let uuid = ColumnInfo {
            type_name: "UUID".into(),
            ..ColumnInfo::of(SqlType::Text)
        };
        let id = "0c9d0007-aaaa-4bbb-8CCC-000000000007";
        assert!(is_uuid_text(id));
        for no in [
            "",
            "abc",
            "0c9d0007aaaa4bbb8ccc000000000007",
            "{0c9d0007-aaaa-4bbb-8ccc-000000000007}",
            "0c9d0007-aaaa-4bbb-8ccc-00000000000g",
        ] {
            assert!(!is_uuid_text(no), "{no}");
        }
        let mut w = SqlWriter::new(Dialect::Postgres);
        w.param_for(Some(&uuid), id.to_string())
            .push(" ")
            .param_for(Some(&uuid), "abc".to_string());
        let s = w.finish();
        assert_eq!(s.sql, "CAST($1 AS uuid) CAST($2 AS uuid)");
        assert_eq!(
            s.params,
            vec![Value::from(id.to_string()), Value::String(None)]
        );
        // Elsewhere a uuid is text.
        let mut w = SqlWriter::new(Dialect::Mysql);
        w.param_for(Some(&uuid), "abc".to_string());
        assert_eq!(w.finish().sql, "?");
    }

    #[test]
    fn numbers_as_text_bind_as_numbers_for_numeric_columns() {
        let int = ColumnInfo::of(SqlType::Integer);
        let dec = ColumnInfo::of(SqlType::Decimal);
        let text = ColumnInfo::of(SqlType::Text);
        let bound = |column: Option<&ColumnInfo>, v: &str| {
            let mut w = SqlWriter::new(Dialect::Postgres);
            w.param_for(column, v.to_string());
            w.finish().params.remove(0)
        };
        assert_eq!(bound(Some(&int), "42"), Value::from(42_i64));
        assert_eq!(
            bound(Some(&dec), "12.50"),
            Value::Decimal(Some("12.50".parse().unwrap()))
        );
        // Not a number, another type, or no column: as sent.
        assert_eq!(bound(Some(&int), "4x"), Value::from("4x".to_string()));
        assert_eq!(bound(Some(&dec), "1e3"), Value::from("1e3".to_string()));
        assert_eq!(bound(Some(&text), "42"), Value::from("42".to_string()));
        assert_eq!(bound(None, "42"), Value::from("42".to_string()));
    }

    #[test]
    fn placeholders_follow_the_dialect() {
        for (d, expected) in [
            (
                Dialect::Postgres,
                "SELECT \"A\" FROM t WHERE x = $1 AND y = $2",
            ),
            (Dialect::Sqlite, "SELECT \"A\" FROM t WHERE x = ? AND y = ?"),
            (Dialect::Mysql, "SELECT `A` FROM t WHERE x = ? AND y = ?"),
        ] {
            let mut w = SqlWriter::new(d);
            w.push("SELECT ")
                .ident("A")
                .push(" FROM t WHERE x = ")
                .param(1i64);
            w.push(" AND y = ").param("b");
            let s = w.finish();
            assert_eq!(s.sql, expected);
            assert_eq!(s.params, vec![Value::from(1i64), Value::from("b")]);
        }
    }

    #[test]
    fn text_compared_with_postgres_char_columns_is_cast_to_bpchar() {
        let info = |type_name: &str| ColumnInfo {
            type_name: type_name.into(),
            sql_type: crate::sql::SqlType::Text,
            pad_to: None,
            as_text: false,
        };
        let bound = |d, column: Option<&ColumnInfo>, v: Value| {
            let mut w = SqlWriter::new(d);
            w.param_for(column, v);
            let s = w.finish();
            assert_eq!(s.params.len(), 1);
            s.sql
        };
        let (char8, bpchar) = (info("CHAR"), info("bpchar"));
        let text = || Value::from("19740625");
        assert_eq!(
            bound(Dialect::Postgres, Some(&char8), text()),
            "CAST($1 AS bpchar)"
        );
        assert_eq!(
            bound(Dialect::Postgres, Some(&bpchar), text()),
            "CAST($1 AS bpchar)"
        );
        assert_eq!(bound(Dialect::Sqlite, Some(&char8), text()), "?");
        assert_eq!(bound(Dialect::Mysql, Some(&char8), text()), "?");
        assert_eq!(
            bound(Dialect::Postgres, Some(&info("VARCHAR")), text()),
            "$1"
        );
        assert_eq!(bound(Dialect::Postgres, None, text()), "$1");
        assert_eq!(
            bound(Dialect::Postgres, Some(&char8), Value::from(5i64)),
            "$1"
        );
    }
}
