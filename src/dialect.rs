//! The SQL dialects the façade speaks, and the few things that differ between them.

use std::fmt;

/// A database family. Chosen once at start-up from the database URL's scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite 3.
    Sqlite,
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB.
    Mysql,
}

impl Dialect {
    /// The dialect of a database URL (`sqlite:`, `postgres:`/`postgresql:`, `mysql:`/`mariadb:`).
    pub fn from_url(url: &str) -> Option<Dialect> {
        let scheme = url.split_once(':')?.0.to_ascii_lowercase();
        match scheme.as_str() {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }

    /// The key used for per-dialect SQL in the mapping file.
    pub fn key(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// All dialects.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

    /// Quotes an identifier (a real table or column name) for this dialect.
    pub fn quote_ident(self, name: &str) -> String {
        let q = match self {
            Dialect::Mysql => '`',
            _ => '"',
        };
        let mut out = String::with_capacity(name.len() + 2);
        out.push(q);
        for c in name.chars() {
            if c == q {
                out.push(q);
            }
            out.push(c);
        }
        out.push(q);
        out
    }

    /// `sql` converted to text (to compare an integer key with a text one).
    pub fn text_cast(self, sql: &str) -> String {
        match self {
            Dialect::Mysql => format!("CAST({sql} AS CHAR)"),
            Dialect::Sqlite | Dialect::Postgres => format!("CAST({sql} AS TEXT)"),
        }
    }

    /// The placeholder of the `n`th bound parameter (1-based).
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            _ => "?".to_string(),
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL/MariaDB",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialect_from_url_scheme() {
        assert_eq!(Dialect::from_url("sqlite:data/x.db"), Some(Dialect::Sqlite));
        assert_eq!(
            Dialect::from_url("postgresql://h/db"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::from_url("MariaDB://h/db"), Some(Dialect::Mysql));
        assert_eq!(Dialect::from_url("oracle://h/db"), None);
        assert_eq!(Dialect::from_url("no-scheme"), None);
    }

    #[test]
    fn quoting_escapes_quote_characters() {
        assert_eq!(Dialect::Sqlite.quote_ident("A\"B"), "\"A\"\"B\"");
        assert_eq!(Dialect::Mysql.quote_ident("A`B"), "`A``B`");
        assert_eq!(Dialect::Postgres.placeholder(3), "$3");
        assert_eq!(Dialect::Mysql.placeholder(3), "?");
    }
}
