//! Database side of seeding: schema statements, and the writing of encoded batches (`COPY` on
//! PostgreSQL, multi-row INSERTs with bound parameters elsewhere) over the set-up connection
//! [`Conn`].

use std::collections::HashMap;
use std::sync::Arc;

use sea_query::Value as Param;

use super::SeedError;
use super::batch::{Batch, Encoding, Payload};
use super::rows::{ALL_TABLES, TableDef, Val};
use crate::db::admin::Conn;
use crate::sql::Dialect;

/// The schema script (table DDL, then indexes) of a dialect.
pub fn schema_sql(dialect: Dialect) -> &'static str {
    dialect.choose(
        include_str!("../../migrations/sqlite/0001_schema.sql"),
        include_str!("../../migrations/postgres/0001_schema.sql"),
        include_str!("../../migrations/mysql/0001_schema.sql"),
    )
}

/// An identifier of the sample schema as written in SQL. PostgreSQL's schema is created
/// unquoted, so its names are folded to lower case (as in most real PostgreSQL databases);
/// the others keep the upper-case spelling.
pub fn ident(dialect: Dialect, name: &str) -> String {
    if dialect.folds_unquoted_to_lower() {
        dialect.quote_ident(&name.to_ascii_lowercase())
    } else {
        dialect.quote_ident(name)
    }
}

/// The dialect of a seed URL.
pub fn dialect_of(url: &str) -> Result<Dialect, SeedError> {
    Dialect::from_url(url).ok_or_else(|| {
        SeedError::UnsupportedUrl(url.split(':').next().unwrap_or_default().to_string())
    })
}

/// Splits a schema script into statements: `--` comment lines are dropped and statements end
/// with a `;` at the end of a line (the scripts contain no string literals with semicolons).
pub fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for line in script.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with("--") || trimmed.is_empty() {
            continue;
        }
        cur.push_str(line);
        cur.push('\n');
        if trimmed.ends_with(';') {
            let stmt = cur.trim().trim_end_matches(';').trim().to_owned();
            if !stmt.is_empty() {
                out.push(stmt);
            }
            cur.clear();
        }
    }
    let rest = cur.trim();
    if !rest.is_empty() {
        out.push(rest.to_owned());
    }
    out
}

/// Every row of `table`, each value cast to text in SQL (NULL stays `None`), ordered by the
/// first two columns (the key of every seed table).
pub async fn dump_table(
    conn: &mut Conn,
    table: &TableDef,
) -> Result<Vec<Vec<Option<String>>>, SeedError> {
    let d = conn.dialect();
    let text = d.text_type();
    let cols: Vec<String> = table
        .columns
        .iter()
        .map(|c| format!("CAST({} AS {text})", ident(d, c)))
        .collect();
    let order: Vec<String> = table.columns.iter().take(2).map(|c| ident(d, c)).collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {}",
        cols.join(", "),
        ident(d, table.name),
        order.join(", ")
    );
    Ok(conn.fetch_strings(&sql).await?)
}

/// Names of the seed tables that already exist in the target schema.
pub async fn existing_seed_tables(conn: &mut Conn) -> Result<Vec<String>, SeedError> {
    let names: Vec<&str> = ALL_TABLES.iter().map(|t| t.name).collect();
    Ok(conn.existing_tables(&names).await?)
}

/// A seed value as the parameter bound for it on `dialect`.
fn param(dialect: Dialect, v: Val) -> Param {
    // SQLite has no date or decimal types: dates and timestamps are bound as text in their
    // canonical form, decimals as text that takes the column's NUMERIC affinity.
    if dialect.dates_are_text() && matches!(v, Val::Date(_) | Val::Ts(_) | Val::Dec(_)) {
        return Param::String(v.to_text());
    }
    match v {
        Val::Int(x) => Param::BigInt(x),
        Val::Text(x) => Param::String(x),
        Val::Date(x) => Param::ChronoDate(x),
        Val::Ts(x) => Param::ChronoDateTime(x),
        Val::Dec(x) => Param::Decimal(x),
    }
}

/// How rows are batched for `dialect`: `COPY` text on PostgreSQL, multi-row INSERTs of at
/// most `max_rows` rows elsewhere.
pub fn encoding_for(dialect: Dialect, copy_bytes: usize, max_rows: usize) -> Encoding {
    let params = Encoding::Params {
        max_rows,
        max_params: dialect.max_bind_params(),
    };
    dialect.choose(params, Encoding::CopyText { bytes: copy_bytes }, params)
}

/// Writes [`Batch`]es over the set-up connection and counts the rows per table.
pub struct Writer {
    conn: Conn,
    encoding: Encoding,
    counts: HashMap<&'static str, u64>,
    full_insert_sql: HashMap<&'static str, Arc<str>>,
}

impl Writer {
    /// Wraps a connection; `encoding` is the one the batches were made with.
    pub fn new(conn: Conn, encoding: Encoding) -> Self {
        Writer {
            conn,
            encoding,
            counts: HashMap::new(),
            full_insert_sql: HashMap::new(),
        }
    }

    /// The underlying connection.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Rows written so far, per table.
    pub fn counts(&self) -> &HashMap<&'static str, u64> {
        &self.counts
    }

    /// Writes one batch: a `COPY … FROM STDIN` or a multi-row INSERT.
    pub async fn write(&mut self, batch: Batch) -> Result<(), SeedError> {
        let dialect = self.conn.dialect();
        let table = batch.table;
        let full = batch.is_full(self.encoding);
        match batch.payload {
            Payload::Copy(data) => {
                let sql = copy_sql(dialect, table);
                self.conn.copy_in(&sql, &data).await?;
            }
            Payload::Params(vals) => {
                let sql: Arc<str> = if full {
                    self.full_insert_sql
                        .entry(table.name)
                        .or_insert_with(|| insert_sql(dialect, table, batch.rows).into())
                        .clone()
                } else {
                    insert_sql(dialect, table, batch.rows).into()
                };
                let params = vals.into_iter().map(|v| param(dialect, v)).collect();
                self.conn.execute(&sql, params, full).await?;
            }
        }
        *self.counts.entry(table.name).or_default() += batch.rows as u64;
        Ok(())
    }

    /// Gives the connection back.
    pub fn into_conn(self) -> Conn {
        self.conn
    }
}

fn column_list(dialect: Dialect, table: &TableDef) -> String {
    let cols: Vec<String> = table.columns.iter().map(|c| ident(dialect, c)).collect();
    cols.join(", ")
}

/// `COPY <table> (<columns>) FROM STDIN` (text format).
fn copy_sql(dialect: Dialect, table: &TableDef) -> String {
    format!(
        "COPY {} ({}) FROM STDIN",
        ident(dialect, table.name),
        column_list(dialect, table)
    )
}

/// A multi-row INSERT of `rows` rows, all values bound.
fn insert_sql(dialect: Dialect, table: &TableDef, rows: usize) -> String {
    let mut sql = format!(
        "INSERT INTO {} ({}) VALUES ",
        ident(dialect, table.name),
        column_list(dialect, table)
    );
    let n = table.columns.len();
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..n {
            if c > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&dialect.placeholder(r * n + c + 1));
        }
        sql.push(')');
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use rust_decimal::Decimal;

    #[test]
    fn dates_and_decimals_are_text_on_sqlite_only() {
        let date = NaiveDate::from_ymd_opt(2019, 3, 14).unwrap();
        let dec = Decimal::new(9860, 2);
        assert_eq!(
            param(Dialect::Sqlite, Val::Date(Some(date))),
            Param::String(Some("2019-03-14".into()))
        );
        assert_eq!(
            param(Dialect::Sqlite, Val::Dec(Some(dec))),
            Param::String(Some("98.60".into()))
        );
        assert_eq!(param(Dialect::Sqlite, Val::Ts(None)), Param::String(None));
        assert_eq!(
            param(Dialect::Postgres, Val::Date(Some(date))),
            Param::ChronoDate(Some(date))
        );
        assert_eq!(
            param(Dialect::Mysql, Val::Dec(Some(dec))),
            Param::Decimal(Some(dec))
        );
        assert_eq!(
            param(Dialect::Sqlite, Val::Int(Some(7))),
            Param::BigInt(Some(7))
        );
    }
}
