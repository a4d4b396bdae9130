//! The SQL dialects the façade speaks, and every way they differ: one method per difference,
//! so that the planner and the search semantics above never match on a dialect themselves.

use std::fmt;

use rust_decimal::Decimal;
use sea_query::Value as Param;

use super::{ColumnInfo, SqlType};

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
    /// All dialects.
    pub const ALL: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

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

    /// The key used for per-dialect SQL in the mapping file (and for per-dialect files).
    pub fn key(self) -> &'static str {
        self.choose("sqlite", "postgres", "mysql")
    }

    /// The one of three per-dialect values that applies to this dialect (per-dialect SQL of
    /// the mapping file, per-dialect schema scripts).
    pub fn choose<T>(self, sqlite: T, postgres: T, mysql: T) -> T {
        match self {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
            Dialect::Mysql => mysql,
        }
    }

    /// Quotes an identifier (a real table or column name) for this dialect.
    pub fn quote_ident(self, name: &str) -> String {
        let q = self.choose('"', '"', '`');
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

    /// Whether unquoted identifiers are folded to lower case (PostgreSQL), so that a schema
    /// created without quotes has lower-case names.
    pub fn folds_unquoted_to_lower(self) -> bool {
        self == Dialect::Postgres
    }

    /// The placeholder of the `n`th bound parameter (1-based).
    pub fn placeholder(self, n: usize) -> String {
        let mut out = String::new();
        self.push_placeholder(&mut out, n);
        out
    }

    /// Appends [`Self::placeholder`] `n` to `sql` (no string formatted per parameter: pages
    /// bind dozens).
    pub fn push_placeholder(self, sql: &mut String, n: usize) {
        match self {
            Dialect::Postgres => {
                sql.push('$');
                sql.push_str(itoa::Buffer::new().format(n));
            }
            Dialect::Sqlite | Dialect::Mysql => sql.push('?'),
        }
    }

    /// The most parameters one statement may bind.
    pub fn max_bind_params(self) -> usize {
        self.choose(32_766, 65_535, 65_535)
    }

    /// The name of the character type in a `CAST` (`CHAR` on MySQL, which has no `TEXT` cast).
    pub fn text_type(self) -> &'static str {
        self.choose("TEXT", "TEXT", "CHAR")
    }

    /// `sql` converted to text (to compare an integer key with a text one).
    pub fn text_cast(self, sql: &str) -> String {
        format!("CAST({sql} AS {})", self.text_type())
    }

    /// `sql`, text holding numbers, converted to a number where it is one (an optional sign,
    /// digits with at most one decimal point, blanks around), NULL where it is not: `REAL` on
    /// SQLite (it has no decimal type), `NUMERIC` on PostgreSQL, `DECIMAL(38,10)` on
    /// MySQL/MariaDB. Legacy result columns mix numbers with text (`positive`, `<5`, `1-2`),
    /// which PostgreSQL refuses to cast (the statement fails) and SQLite and MySQL cast to 0 or
    /// to their leading digits (a search would match them).
    pub fn number_cast(self, sql: &str) -> String {
        const NUMBER: &str = "'^[[:space:]]*[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)[[:space:]]*$'";
        match self {
            Dialect::Sqlite => {
                let t = format!("TRIM({sql})");
                format!(
                    "CASE WHEN ({t} GLOB '[0-9]*' OR {t} GLOB '[-+.][0-9]*' OR {t} GLOB '[-+].[0-9]*') \
                     AND SUBSTR({t}, 2) NOT GLOB '*[^0-9.]*' AND {t} NOT GLOB '*.*.*' \
                     THEN CAST({sql} AS REAL) END"
                )
            }
            Dialect::Postgres => {
                format!("CASE WHEN {sql} ~ {NUMBER} THEN CAST({sql} AS NUMERIC) END")
            }
            Dialect::Mysql => {
                format!("CASE WHEN {sql} REGEXP {NUMBER} THEN CAST({sql} AS DECIMAL(38,10)) END")
            }
        }
    }

    /// An exact decimal as a bound parameter: `NUMERIC`/`DECIMAL` on PostgreSQL and MySQL, a
    /// double on SQLite (no decimal type there; the conversion goes through the decimal text so
    /// it is correctly rounded, as SQLite's own conversion of stored text is).
    pub fn decimal_param(self, d: Decimal) -> Param {
        match self {
            Dialect::Sqlite => Param::Double(Some(
                d.to_string()
                    .parse::<f64>()
                    .expect("a decimal's text is a valid float"),
            )),
            Dialect::Postgres | Dialect::Mysql => Param::Decimal(Some(d)),
        }
    }

    /// The type a text value compared with `column` is cast to: on PostgreSQL, `bpchar` for a
    /// blank-padded `CHAR(n)` column, where the database would otherwise compare as text and
    /// cast every row (so that an index on the column serves the comparison), and `uuid` for
    /// a `uuid` column, which has no comparison with text at all.
    pub fn text_param_cast(self, column: &ColumnInfo) -> Option<&'static str> {
        if self != Dialect::Postgres {
            return None;
        }
        if column.is_char() {
            Some("bpchar")
        } else if column.type_name.eq_ignore_ascii_case("UUID") {
            Some("uuid")
        } else {
            None
        }
    }

    /// Whether the database compares the trailing blanks of `CHAR(n)` values (SQLite, which
    /// stores them as written), so a value must also be bound blank-padded.
    pub fn compares_char_padding(self) -> bool {
        self == Dialect::Sqlite
    }

    /// A NULL of the database type `type_name` where the database needs its type (PostgreSQL
    /// resolves an untyped NULL that two branches of a UNION share as text, which then clashes
    /// with a typed branch); a plain `NULL` elsewhere, or when the type is not a plain name.
    pub fn typed_null(self, type_name: Option<&str>) -> String {
        match type_name {
            Some(t)
                if self == Dialect::Postgres
                    && !t.is_empty()
                    && t.chars().all(|c| {
                        c.is_ascii_alphanumeric() || c == '_' || c == ' ' || c == '[' || c == ']'
                    })
                    && !t.eq_ignore_ascii_case("unknown")
                    && !t.eq_ignore_ascii_case("void") =>
            {
                format!("CAST(NULL AS {t})")
            }
            _ => "NULL".to_string(),
        }
    }

    /// How a branch of a `UNION ALL` with its own `ORDER BY ... LIMIT` opens: SQLite takes
    /// no parenthesized compound members, so the branch is a subquery there.
    pub fn union_branch_open(self) -> &'static str {
        self.choose("SELECT * FROM (", "(", "(")
    }

    /// Whether `ORDER BY x` puts NULLs before every value (SQLite, MySQL/MariaDB) rather than
    /// after (PostgreSQL).
    pub fn nulls_sort_first(self) -> bool {
        self != Dialect::Postgres
    }

    /// Whether the planner chooses how to read an `IN (<sub-select>)` by its estimate of the
    /// sub-select (PostgreSQL: a semi-join, hashed or not), rather than reading it first and
    /// whole (SQLite, MySQL/MariaDB).
    pub fn plans_subselects_by_estimate(self) -> bool {
        self == Dialect::Postgres
    }

    /// Whether a bound value must have the type of the value it is compared with
    /// (PostgreSQL: text is bound as `text`, which compares with no integer or `uuid` and, with
    /// a `CHAR(n)` column, only through a cast: see [`Self::text_param_cast`]); SQLite and
    /// MySQL/MariaDB convert.
    pub fn strict_param_types(self) -> bool {
        self == Dialect::Postgres
    }

    /// `sql` compared in code point order, where the database can do it with an index
    /// (SQLite's binary order as it is; PostgreSQL in the `"C"` collation, which an index
    /// declared `COLLATE "C"` serves). `None` on MySQL/MariaDB, whose usual collations have no
    /// code point order: a range `[p, next(p))` is not a prefix test there.
    pub fn code_point_order(self, sql: &str) -> Option<String> {
        match self {
            Dialect::Sqlite => Some(sql.to_string()),
            Dialect::Postgres => Some(format!("{sql} COLLATE \"C\"")),
            Dialect::Mysql => None,
        }
    }

    /// Whether a starts-with search is best written as the `LIKE 'prefix%'` alone, in code
    /// point order (PostgreSQL): the planner reads the index range of the prefix itself, and
    /// estimates it no lower than one value's share, where a range written out is estimated
    /// from the histogram alone (one family name of 104, 9,605 patients, as 13: the page then
    /// sorted all 9,605 instead of reading 21 in index order). SQLite needs the range written
    /// out (its LIKE ignores case and uses no index).
    pub fn plans_like_prefix(self) -> bool {
        self == Dialect::Postgres
    }

    /// Whether a `UNION ALL` column that is NULL in its first two branches is typed as text
    /// whatever the later branches hold (PostgreSQL resolves a union's types pair by pair), so
    /// that a union whose columns are NULL in most branches must open with a branch that types
    /// them ([`crate::mapping::sql::children_rows`]).
    pub fn types_union_nulls_as_text(self) -> bool {
        self == Dialect::Postgres
    }

    /// Whether the child tables of a page are read in one `UNION ALL`
    /// ([`crate::mapping::sql::children_rows`]) rather than one statement each: where the
    /// union gives each column exactly its child's type. PostgreSQL does (a first, empty
    /// branch types the columns). MySQL/MariaDB merge each column's type with the NULLs of the
    /// other branches (`tinyint(1)`, a boolean, becomes `tinyint(4)`; `INT UNSIGNED` becomes
    /// `DECIMAL(10,0)`), and SQLite keeps declared types for the first branch's columns only, so
    /// values would decode differently from a read's.
    pub fn reads_children_in_one_union(self) -> bool {
        self == Dialect::Postgres
    }

    /// Whether comparisons ignore case (and accents) by default, so that an exact comparison
    /// must be rechecked with `BINARY` (MySQL/MariaDB's usual `_ci` collations).
    pub fn needs_binary_recheck(self) -> bool {
        self == Dialect::Mysql
    }

    /// Whether keys compared with a value described by `column` (`None`: an expression) are
    /// rechecked case-sensitively ([`Self::needs_binary_recheck`]; FHIR ids are
    /// case-sensitive): text keys, not numbers or booleans.
    pub fn rechecks_case(self, column: Option<&crate::sql::ColumnInfo>) -> bool {
        self.needs_binary_recheck()
            && !column.is_some_and(|c| c.is_numeric() || c.sql_type == crate::sql::SqlType::Boolean)
    }

    /// Whether `LOWER()` folds ASCII letters only (SQLite), so a value compared with it must
    /// be folded the same way.
    pub fn lower_folds_ascii_only(self) -> bool {
        self == Dialect::Sqlite
    }

    /// Whether `DATE` and `TIMESTAMP` values are stored and compared as text
    /// (`'YYYY-MM-DD'`, `'YYYY-MM-DD HH:MM:SS'`), as SQLite keeps them.
    pub fn dates_are_text(self) -> bool {
        self == Dialect::Sqlite
    }

    /// Whether text compares with a bound date or timestamp (SQLite, which keeps dates as
    /// text; MySQL/MariaDB, which convert the text); PostgreSQL has no `text >= timestamp`.
    pub fn compares_text_with_times(self) -> bool {
        self != Dialect::Postgres
    }

    /// Whether `DATE` and `DATETIME` columns can hold values that are no calendar date, such
    /// as the zero date `0000-00-00` (MySQL/MariaDB, under the usual SQL modes).
    pub fn keeps_invalid_dates(self) -> bool {
        self == Dialect::Mysql
    }

    /// A text literal: quoted, quotes doubled, and on MySQL/MariaDB (where a backslash escapes
    /// in literals) backslashes doubled. For values of the mapping file only (trusted text);
    /// request values are always bound.
    pub fn string_literal(self, text: &str) -> String {
        let mut out = text.replace('\'', "''");
        if self == Dialect::Mysql {
            out = out.replace('\\', "\\\\");
        }
        format!("'{out}'")
    }

    /// A date written as the date-time of its midnight, where dates and date-times would not
    /// compare as such otherwise (SQLite's text: `'2023-05-10' < '2023-05-10 00:00:00'`);
    /// `None` where the database compares them natively.
    pub fn date_as_datetime(self, sql: &str) -> Option<String> {
        self.choose(Some(format!("datetime({sql})")), None, None)
    }

    /// A value of the mapping file (a `none` sentinel) as an SQL literal a column of
    /// `sql_type` is compared with; `None` when no such column can hold it (letters for an
    /// integer column, the zero date on PostgreSQL).
    pub fn literal(self, sql_type: SqlType, text: &str) -> Option<String> {
        let t = text.trim();
        match sql_type {
            SqlType::Integer => t.parse::<i64>().ok().map(|i| i.to_string()),
            SqlType::Decimal | SqlType::Float | SqlType::Real => t
                .parse::<rust_decimal::Decimal>()
                .ok()
                .map(|d| d.to_string()),
            SqlType::Boolean => None,
            SqlType::Date | SqlType::DateTime | SqlType::Instant | SqlType::Time
                if !self.dates_are_text() && !self.keeps_invalid_dates() =>
            {
                let valid = chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d").is_ok()
                    || chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").is_ok()
                    || chrono::NaiveTime::parse_from_str(t, "%H:%M:%S").is_ok();
                valid.then(|| self.string_literal(t))
            }
            _ => Some(self.string_literal(text)),
        }
    }

    /// The functions that may remove accents, in order of preference (PostgreSQL's
    /// `unaccent`, or an IMMUTABLE wrapper of it named `wrapper`); none elsewhere.
    pub fn unaccent_candidates(self, wrapper: &'static str) -> Vec<&'static str> {
        match self {
            Dialect::Postgres => vec![wrapper, "unaccent"],
            Dialect::Sqlite | Dialect::Mysql => Vec::new(),
        }
    }

    /// Whether `value` (read back from a paging cursor) can be compared with a column of type
    /// `type_name` here, as a value the database returned for such a column would be: a value
    /// of another type would make PostgreSQL or MySQL fail (`integer > text`) rather than
    /// compare. SQLite compares values of any type, so anything but bytes fits there.
    pub fn value_fits(self, type_name: &str, value: &crate::sql::Value) -> bool {
        use crate::sql::Value as V;
        let t = type_name.to_ascii_uppercase();
        let has = |k: &str| t.contains(k);
        if matches!(value, V::Null) {
            return true;
        }
        if self == Dialect::Sqlite {
            return !matches!(value, V::Bytes(_));
        }
        let is_timestamp = has("TIMESTAMP") || has("DATETIME");
        match value {
            V::Int(_) => {
                has("INT")
                    || has("OID")
                    || has("NUM")
                    || has("DEC")
                    || has("FLOAT")
                    || has("DOUBLE")
                    || has("REAL")
                    || has("YEAR")
                    || has("BIT")
            }
            V::Float(_) | V::Decimal(_) => {
                has("NUM") || has("DEC") || has("FLOAT") || has("DOUBLE") || has("REAL")
            }
            V::Bool(_) => has("BOOL") || has("BIT"),
            // Dates and date-times compare with each other (a sort across a DATE and a
            // DATETIME source carries either).
            V::Date(_) | V::Timestamp(_) | V::TimestampTz(_) => is_timestamp || t == "DATE",
            V::Time(_) => t == "TIME" || t.starts_with("TIME "),
            V::Text(_) => {
                has("CHAR")
                    || has("TEXT")
                    || has("NAME")
                    || has("ENUM")
                    || has("SET")
                    || has("JSON")
                    || has("UUID")
                    || has("CLOB")
                    || t == "UNKNOWN"
                    || has("BINARY")
                    || has("BLOB")
            }
            V::Bytes(_) => has("BYTEA") || has("BINARY") || has("BLOB"),
            V::Null => true,
        }
    }

    /// What precedes a `SELECT` to have the planner estimate its rows without running it
    /// (read by [`super::explain::read_estimate`]); `None` when the database has no estimate
    /// (SQLite).
    pub fn explain_prefix(self) -> Option<&'static str> {
        self.choose(None, Some("EXPLAIN (FORMAT JSON) "), Some("EXPLAIN "))
    }

    /// What precedes a `SELECT` to have the database show its plan, readable by a person,
    /// without running it (the admin console).
    pub fn plan_prefix(self) -> &'static str {
        self.choose("EXPLAIN QUERY PLAN ", "EXPLAIN ", "EXPLAIN ")
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.choose("SQLite", "PostgreSQL", "MySQL/MariaDB"))
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

    #[test]
    fn cursor_values_fit_the_column_types_they_were_read_from() {
        use crate::sql::Value as V;
        let pg = Dialect::Postgres;
        assert!(pg.value_fits("INT4", &V::Int(3)));
        assert!(!pg.value_fits("INT4", &V::Text("3".into())));
        assert!(pg.value_fits("TEXT", &V::Text("a".into())));
        assert!(!pg.value_fits("TEXT", &V::Int(1)));
        assert!(pg.value_fits("NUMERIC", &V::Decimal("1.5".into())));
        assert!(!pg.value_fits("DATE", &V::Text("2020-01-01".into())));
        assert!(pg.value_fits("DATE", &V::Timestamp(chrono::Utc::now().naive_utc())));
        assert!(!pg.value_fits("TIME", &V::Timestamp(chrono::Utc::now().naive_utc())));
        assert!(pg.value_fits(
            "TIMESTAMPTZ",
            &V::TimestampTz(chrono::Utc::now().fixed_offset())
        ));
        assert!(pg.value_fits("BPCHAR", &V::Null));
        assert!(
            Dialect::Mysql.value_fits("DATETIME", &V::Timestamp(chrono::Utc::now().naive_utc()))
        );
        assert!(!Dialect::Mysql.value_fits("VARCHAR", &V::Float(1.0)));
        assert!(Dialect::Sqlite.value_fits("INTEGER", &V::Text("x".into())));
        assert!(!Dialect::Sqlite.value_fits("TEXT", &V::Bytes(vec![0])));
    }

    #[test]
    fn casts_and_nulls_per_dialect() {
        assert_eq!(Dialect::Mysql.text_cast("x"), "CAST(x AS CHAR)");
        assert_eq!(Dialect::Sqlite.text_cast("x"), "CAST(x AS TEXT)");
        assert_eq!(
            Dialect::Postgres.number_cast("x"),
            "CASE WHEN x ~ '^[[:space:]]*[-+]?([0-9]+([.][0-9]*)?|[.][0-9]+)[[:space:]]*$' THEN CAST(x AS NUMERIC) END"
        );
        assert_eq!(
            Dialect::Postgres.typed_null(Some("timestamp with time zone")),
            "CAST(NULL AS timestamp with time zone)"
        );
        assert_eq!(Dialect::Postgres.typed_null(Some("a;b")), "NULL");
        assert_eq!(Dialect::Postgres.typed_null(Some("unknown")), "NULL");
        assert_eq!(Dialect::Sqlite.typed_null(Some("INTEGER")), "NULL");
        assert_eq!(
            Dialect::Postgres.code_point_order("LOWER(x)").as_deref(),
            Some("LOWER(x) COLLATE \"C\"")
        );
        assert_eq!(Dialect::Mysql.code_point_order("x"), None);
    }
}
