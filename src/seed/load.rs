//! Database side of seeding: schema statements, and batched multi-row INSERTs with bound
//! parameters, over the set-up connection [`Conn`].

use std::collections::HashMap;
use std::sync::Arc;

use sea_query::Value as Param;

use super::SeedError;
use super::rows::{ALL_TABLES, Row, TableDef, Val};
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

/// Runs one INSERT with the values `vals` bound in order.
async fn insert(
    conn: &mut Conn,
    sql: &str,
    vals: Vec<Val>,
    persistent: bool,
) -> Result<(), SeedError> {
    let dialect = conn.dialect();
    let params = vals.into_iter().map(|v| param(dialect, v)).collect();
    Ok(conn.execute(sql, params, persistent).await?)
}

/// Accumulates rows per table and flushes them as multi-row INSERTs.
pub struct Loader {
    conn: Conn,
    max_rows_per_stmt: usize,
    buffers: HashMap<&'static str, Buffer>,
    counts: HashMap<&'static str, u64>,
}

struct Buffer {
    table: &'static TableDef,
    vals: Vec<Val>,
    rows: usize,
    full_rows: usize,
    full_sql: Arc<str>,
}

impl Loader {
    /// Wraps a connection; at most `max_rows_per_stmt` rows go into one INSERT (further
    /// limited by the dialect's bind-parameter limit).
    pub fn new(conn: Conn, max_rows_per_stmt: usize) -> Self {
        Loader {
            conn,
            max_rows_per_stmt,
            buffers: HashMap::new(),
            counts: HashMap::new(),
        }
    }

    /// The underlying connection.
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Rows inserted so far, per table.
    pub fn counts(&self) -> &HashMap<&'static str, u64> {
        &self.counts
    }

    fn insert_sql(dialect: Dialect, table: &TableDef, rows: usize) -> String {
        let cols: Vec<String> = table.columns.iter().map(|c| ident(dialect, c)).collect();
        let mut sql = format!(
            "INSERT INTO {} ({}) VALUES ",
            ident(dialect, table.name),
            cols.join(", ")
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

    /// Queues one row, flushing its table's buffer when it is full.
    pub async fn push<R: Row>(&mut self, row: &R) -> Result<(), SeedError> {
        let table = R::TABLE;
        let dialect = self.conn.dialect();
        let max_rows = self.max_rows_per_stmt;
        let buf = self.buffers.entry(table.name).or_insert_with(|| {
            let full_rows = (dialect.max_bind_params() / table.columns.len())
                .min(max_rows)
                .max(1);
            Buffer {
                table,
                vals: Vec::with_capacity(full_rows * table.columns.len()),
                rows: 0,
                full_rows,
                full_sql: Self::insert_sql(dialect, table, full_rows).into(),
            }
        });
        row.push_values(&mut buf.vals);
        buf.rows += 1;
        if buf.rows >= buf.full_rows {
            let vals = std::mem::replace(
                &mut buf.vals,
                Vec::with_capacity(buf.full_rows * table.columns.len()),
            );
            let sql = buf.full_sql.clone();
            let n = buf.rows as u64;
            buf.rows = 0;
            insert(&mut self.conn, &sql, vals, true).await?;
            *self.counts.entry(table.name).or_default() += n;
        }
        Ok(())
    }

    /// Queues many rows.
    pub async fn push_all<R: Row>(&mut self, rows: &[R]) -> Result<(), SeedError> {
        for r in rows {
            self.push(r).await?;
        }
        Ok(())
    }

    /// Writes every partially filled buffer.
    pub async fn flush(&mut self) -> Result<(), SeedError> {
        let dialect = self.conn.dialect();
        let mut names: Vec<&'static str> = self.buffers.keys().copied().collect();
        names.sort_unstable();
        for name in names {
            let buf = self.buffers.get_mut(name).expect("buffer exists");
            if buf.rows == 0 {
                continue;
            }
            let vals = std::mem::take(&mut buf.vals);
            let n = buf.rows;
            buf.rows = 0;
            let sql = Self::insert_sql(dialect, buf.table, n);
            insert(&mut self.conn, &sql, vals, false).await?;
            *self.counts.entry(name).or_default() += n as u64;
        }
        Ok(())
    }

    /// Gives the connection back.
    pub fn into_conn(self) -> Conn {
        self.conn
    }
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
