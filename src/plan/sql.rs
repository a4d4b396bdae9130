//! A parameterized SQL statement and the writer that builds one for a dialect.
//!
//! Text written with [`SqlWriter::push`] comes only from the mapping file or from the planner
//! itself; request values go through [`SqlWriter::param`] and are bound, never spliced.

use sea_query::Value;

use crate::dialect::Dialect;

/// SQL text with its bound parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// The SQL, with the dialect's placeholders.
    pub sql: String,
    /// Parameter values, in placeholder order.
    pub params: Vec<Value>,
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
        let ph = self.dialect.placeholder(self.params.len());
        self.sql.push_str(&ph);
        self
    }

    /// The finished statement.
    pub fn finish(self) -> Statement {
        Statement {
            sql: self.sql,
            params: self.params,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
