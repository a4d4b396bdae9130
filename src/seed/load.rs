//! Database side of seeding: one connection per backend, schema statements, and batched
//! multi-row INSERTs with bound parameters.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use crate::sql::Dialect;
use sqlx::mysql::{MySqlArguments, MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgArguments, PgConnectOptions, PgConnection};
use sqlx::query::Query;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteLockingMode,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, MySql, Postgres, Row as SqlxRow, Sqlite};

use super::SeedError;
use super::rows::{ALL_TABLES, Row, TableDef, Val};

/// The schema script (table DDL, then indexes) of a dialect.
pub fn schema_sql(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => include_str!("../../migrations/sqlite/0001_schema.sql"),
        Dialect::Postgres => include_str!("../../migrations/postgres/0001_schema.sql"),
        Dialect::Mysql => include_str!("../../migrations/mysql/0001_schema.sql"),
    }
}

/// Largest number of bind parameters in one statement.
fn max_params(dialect: Dialect) -> usize {
    match dialect {
        Dialect::Sqlite => 32_766,
        Dialect::Postgres | Dialect::Mysql => 65_535,
    }
}

/// An identifier of the sample schema as written in SQL. PostgreSQL's schema is created
/// unquoted, so its names are folded to lower case (as in most real PostgreSQL databases);
/// the others keep the upper-case spelling.
pub fn ident(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Postgres => dialect.quote_ident(&name.to_ascii_lowercase()),
        other => other.quote_ident(name),
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

/// One open connection to the target database.
pub enum Conn {
    /// SQLite.
    Sqlite(SqliteConnection),
    /// PostgreSQL.
    Postgres(PgConnection),
    /// MySQL / MariaDB.
    MySql(MySqlConnection),
}

impl Conn {
    /// Connects to `url`; for SQLite the file is created if missing and bulk-load pragmas set.
    pub async fn open(url: &str) -> Result<Self, SeedError> {
        Ok(match dialect_of(url)? {
            Dialect::Sqlite => {
                let opts = SqliteConnectOptions::from_str(url)?
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Off)
                    .synchronous(SqliteSynchronous::Off)
                    .locking_mode(SqliteLockingMode::Exclusive)
                    .pragma("cache_size", "-262144")
                    .pragma("temp_store", "MEMORY")
                    .disable_statement_logging();
                Conn::Sqlite(opts.connect().await?)
            }
            Dialect::Postgres => {
                let opts = PgConnectOptions::from_str(url)?.disable_statement_logging();
                Conn::Postgres(opts.connect().await?)
            }
            Dialect::Mysql => {
                let url = match url.strip_prefix("mariadb:") {
                    Some(rest) => format!("mysql:{rest}"),
                    None => url.to_owned(),
                };
                let opts = MySqlConnectOptions::from_str(&url)?.disable_statement_logging();
                Conn::MySql(opts.connect().await?)
            }
        })
    }

    /// The dialect of this connection.
    pub fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
            Conn::MySql(_) => Dialect::Mysql,
        }
    }

    /// Executes one statement without parameters.
    pub async fn exec(&mut self, sql: &str) -> Result<(), SeedError> {
        let q = sqlx::raw_sql(AssertSqlSafe(sql.to_owned()));
        match self {
            Conn::Sqlite(c) => q.execute(c).await.map(drop)?,
            Conn::Postgres(c) => q.execute(c).await.map(drop)?,
            Conn::MySql(c) => q.execute(c).await.map(drop)?,
        }
        Ok(())
    }

    /// Names of the seed tables that already exist in the target schema.
    pub async fn existing_tables(&mut self) -> Result<Vec<String>, SeedError> {
        let names: Vec<String> = ALL_TABLES.iter().map(|t| format!("'{}'", t.name)).collect();
        let list = names.join(", ");
        let sql = match self.dialect() {
            Dialect::Sqlite => {
                format!(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND upper(name) IN ({list})"
                )
            }
            Dialect::Postgres => format!(
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND upper(table_name) IN ({list})"
            ),
            Dialect::Mysql => format!(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND upper(table_name) IN ({list})"
            ),
        };
        let sql = AssertSqlSafe(sql);
        Ok(match self {
            Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_all(c).await?,
            Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_all(c).await?,
            Conn::MySql(c) => sqlx::query_scalar(sql).fetch_all(c).await?,
        })
    }

    /// Runs a query whose columns are all text (cast them in SQL) and returns its rows.
    pub async fn fetch_strings(
        &mut self,
        sql: &str,
    ) -> Result<Vec<Vec<Option<String>>>, SeedError> {
        fn decode<R: SqlxRow>(row: &R) -> Result<Vec<Option<String>>, sqlx::Error>
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            (0..row.len())
                .map(|i| row.try_get::<Option<String>, usize>(i))
                .collect()
        }
        let sql = AssertSqlSafe(sql.to_owned());
        let rows = match self {
            Conn::Sqlite(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(decode)
                .collect::<Result<_, _>>()?,
            Conn::Postgres(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(decode)
                .collect::<Result<_, _>>()?,
            Conn::MySql(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(decode)
                .collect::<Result<_, _>>()?,
        };
        Ok(rows)
    }

    /// Every row of `table`, each value cast to text in SQL (NULL stays `None`), ordered
    /// by the first two columns (the key of every seed table).
    pub async fn dump_table(
        &mut self,
        table: &TableDef,
    ) -> Result<Vec<Vec<Option<String>>>, SeedError> {
        let d = self.dialect();
        let text = if d == Dialect::Mysql { "CHAR" } else { "TEXT" };
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
        self.fetch_strings(&sql).await
    }

    /// Starts a transaction.
    pub async fn begin(&mut self) -> Result<(), SeedError> {
        self.exec("BEGIN").await
    }

    /// Commits the current transaction.
    pub async fn commit(&mut self) -> Result<(), SeedError> {
        self.exec("COMMIT").await
    }

    /// Closes the connection cleanly.
    pub async fn close(self) -> Result<(), SeedError> {
        match self {
            Conn::Sqlite(c) => c.close().await?,
            Conn::Postgres(c) => c.close().await?,
            Conn::MySql(c) => c.close().await?,
        }
        Ok(())
    }

    async fn insert(
        &mut self,
        sql: Arc<str>,
        vals: Vec<Val>,
        persistent: bool,
    ) -> Result<(), SeedError> {
        let sql = AssertSqlSafe(sql);
        match self {
            Conn::Sqlite(c) => {
                let q = vals.into_iter().fold(sqlx::query(sql), bind_sqlite);
                q.persistent(persistent).execute(c).await?;
            }
            Conn::Postgres(c) => {
                let q = vals.into_iter().fold(sqlx::query(sql), bind_pg);
                q.persistent(persistent).execute(c).await?;
            }
            Conn::MySql(c) => {
                let q = vals.into_iter().fold(sqlx::query(sql), bind_mysql);
                q.persistent(persistent).execute(c).await?;
            }
        }
        Ok(())
    }
}

fn bind_sqlite(
    q: Query<'_, Sqlite, SqliteArguments>,
    v: Val,
) -> Query<'_, Sqlite, SqliteArguments> {
    // SQLite stores dates and timestamps as text in their canonical form; decimals are
    // bound as text and take the column's NUMERIC affinity.
    match v {
        Val::Int(x) => q.bind(x),
        Val::Text(x) => q.bind(x),
        Val::Date(_) | Val::Ts(_) | Val::Dec(_) => q.bind(v.to_text()),
    }
}

fn bind_pg(q: Query<'_, Postgres, PgArguments>, v: Val) -> Query<'_, Postgres, PgArguments> {
    match v {
        Val::Int(x) => q.bind(x),
        Val::Text(x) => q.bind(x),
        Val::Date(x) => q.bind(x),
        Val::Ts(x) => q.bind(x),
        Val::Dec(x) => q.bind(x),
    }
}

fn bind_mysql(q: Query<'_, MySql, MySqlArguments>, v: Val) -> Query<'_, MySql, MySqlArguments> {
    match v {
        Val::Int(x) => q.bind(x),
        Val::Text(x) => q.bind(x),
        Val::Date(x) => q.bind(x),
        Val::Ts(x) => q.bind(x),
        Val::Dec(x) => q.bind(x),
    }
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
                match dialect {
                    Dialect::Postgres => sql.push_str(&format!("${}", r * n + c + 1)),
                    _ => sql.push('?'),
                }
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
            let full_rows = (max_params(dialect) / table.columns.len())
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
            self.conn.insert(sql, vals, true).await?;
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
            let sql: Arc<str> = Self::insert_sql(dialect, buf.table, n).into();
            self.conn.insert(sql, vals, false).await?;
            *self.counts.entry(name).or_default() += n as u64;
        }
        Ok(())
    }

    /// Gives the connection back.
    pub fn into_conn(self) -> Conn {
        self.conn
    }
}
