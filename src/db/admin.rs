//! A read-write connection for set-up work: creating the sample database, test fixtures.
//!
//! It is never used to serve requests (the server's pools are read-only). One connection per
//! database family, statements bound with [`sea_query::Value`]s; the SQL that differs between
//! the families (the catalog query, bulk-load session settings) is a method here.

use std::str::FromStr;

use sea_query::Value;
use sea_query_sqlx::SqlxValues;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteLockingMode, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row as SqlxRow};

use crate::sql::Dialect;

/// One open read-write connection, of the database family of its URL.
pub enum Conn {
    /// SQLite.
    Sqlite(SqliteConnection),
    /// PostgreSQL.
    Postgres(PgConnection),
    /// MySQL / MariaDB.
    MySql(MySqlConnection),
}

impl Conn {
    /// Connects to `url` (`sqlite:`, `postgres:`/`postgresql:`, `mysql:`/`mariadb:`); another
    /// scheme is a [`sqlx::Error::Configuration`]. For SQLite the file is created if missing
    /// and set up for bulk loading (no journal, no syncs, exclusive lock).
    pub async fn open(url: &str) -> Result<Self, sqlx::Error> {
        let dialect = Dialect::from_url(url).ok_or_else(|| {
            sqlx::Error::Configuration(
                format!(
                    "unsupported database URL scheme `{}` (expected sqlite:, postgres: or mysql:)",
                    url.split(':').next().unwrap_or_default()
                )
                .into(),
            )
        })?;
        Ok(match dialect {
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

    /// Executes one statement (or several, `;`-separated) without parameters.
    pub async fn exec(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        // Set-up SQL only: written by the caller, never taken from a request.
        let q = sqlx::raw_sql(AssertSqlSafe(sql));
        match self {
            Conn::Sqlite(c) => q.execute(c).await.map(drop),
            Conn::Postgres(c) => q.execute(c).await.map(drop),
            Conn::MySql(c) => q.execute(c).await.map(drop),
        }
    }

    /// Executes one statement with bound `params`; a `persistent` statement is prepared once
    /// and kept in the connection's cache (for a statement run many times).
    pub async fn execute(
        &mut self,
        sql: &str,
        params: Vec<Value>,
        persistent: bool,
    ) -> Result<(), sqlx::Error> {
        let values = SqlxValues(sea_query::Values(params));
        match self {
            Conn::Sqlite(c) => sqlx::query_with(AssertSqlSafe(sql), values)
                .persistent(persistent)
                .execute(c)
                .await
                .map(drop),
            Conn::Postgres(c) => sqlx::query_with(AssertSqlSafe(sql), values)
                .persistent(persistent)
                .execute(c)
                .await
                .map(drop),
            Conn::MySql(c) => sqlx::query_with(AssertSqlSafe(sql), values)
                .persistent(persistent)
                .execute(c)
                .await
                .map(drop),
        }
    }

    /// Runs a PostgreSQL `COPY … FROM STDIN` statement and sends it `data` (in the format the
    /// statement names); returns the number of rows copied. Other databases have no `COPY`
    /// protocol: a [`sqlx::Error::Configuration`].
    pub async fn copy_in(&mut self, statement: &str, data: &[u8]) -> Result<u64, sqlx::Error> {
        match self {
            Conn::Postgres(c) => {
                let mut copy = c.copy_in_raw(statement).await?;
                if let Err(e) = copy.send(data).await {
                    // Best effort: the error that matters is the one from `send`.
                    let _ = copy.abort(e.to_string()).await;
                    return Err(e);
                }
                copy.finish().await
            }
            Conn::Sqlite(_) | Conn::MySql(_) => Err(sqlx::Error::Configuration(
                "COPY is only available on PostgreSQL".into(),
            )),
        }
    }

    /// Runs a query whose columns are all text (cast them in SQL) and returns its rows
    /// (NULL as `None`).
    pub async fn fetch_strings(
        &mut self,
        sql: &str,
    ) -> Result<Vec<Vec<Option<String>>>, sqlx::Error> {
        fn decode<R: SqlxRow>(row: &R) -> Result<Vec<Option<String>>, sqlx::Error>
        where
            for<'r> Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            usize: sqlx::ColumnIndex<R>,
        {
            (0..row.len())
                .map(|i| row.try_get::<Option<String>, usize>(i))
                .collect()
        }
        let sql = AssertSqlSafe(sql);
        match self {
            Conn::Sqlite(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(decode)
                .collect(),
            Conn::Postgres(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(decode)
                .collect(),
            Conn::MySql(c) => sqlx::query(sql)
                .fetch_all(c)
                .await?
                .iter()
                .map(decode)
                .collect(),
        }
    }

    /// Which of the tables `names` exist in the current schema (compared case-insensitively),
    /// as the database spells them.
    pub async fn existing_tables(&mut self, names: &[&str]) -> Result<Vec<String>, sqlx::Error> {
        let list = names
            .iter()
            .map(|n| format!("'{}'", n.to_ascii_uppercase().replace('\'', "''")))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = AssertSqlSafe(match self {
            Conn::Sqlite(_) => format!(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND upper(name) IN ({list})"
            ),
            Conn::Postgres(_) => format!(
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND upper(table_name) IN ({list})"
            ),
            Conn::MySql(_) => format!(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND upper(table_name) IN ({list})"
            ),
        });
        match self {
            Conn::Sqlite(c) => sqlx::query_scalar(sql).fetch_all(c).await,
            Conn::Postgres(c) => sqlx::query_scalar(sql).fetch_all(c).await,
            Conn::MySql(c) => sqlx::query_scalar(sql).fetch_all(c).await,
        }
    }

    /// Session settings for loading many rows and then building indexes, before the first
    /// row: MySQL/MariaDB skips unique checks on secondary indexes; PostgreSQL does not wait
    /// for the WAL flush at each commit and sorts index keys in more memory. (SQLite gets its
    /// bulk-load settings when the connection is opened.)
    pub async fn begin_bulk_load(&mut self) -> Result<(), sqlx::Error> {
        match self {
            Conn::MySql(_) => self.exec("SET unique_checks = 0").await,
            Conn::Postgres(_) => {
                self.exec("SET synchronous_commit = off; SET maintenance_work_mem = '256MB'")
                    .await
            }
            Conn::Sqlite(_) => Ok(()),
        }
    }

    /// Ends a bulk load, after the indexes are created: restores the settings and refreshes
    /// the planner's statistics (SQLite also gets its rollback journal back).
    pub async fn end_bulk_load(&mut self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Sqlite(_) => {
                self.exec("PRAGMA journal_mode = DELETE").await?;
                self.exec("ANALYZE").await
            }
            Conn::Postgres(_) => self.exec("ANALYZE").await,
            Conn::MySql(_) => self.exec("SET unique_checks = 1").await,
        }
    }

    /// Starts a transaction.
    pub async fn begin(&mut self) -> Result<(), sqlx::Error> {
        self.exec("BEGIN").await
    }

    /// Commits the current transaction.
    pub async fn commit(&mut self) -> Result<(), sqlx::Error> {
        self.exec("COMMIT").await
    }

    /// Closes the connection cleanly.
    pub async fn close(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Sqlite(c) => c.close().await,
            Conn::Postgres(c) => c.close().await,
            Conn::MySql(c) => c.close().await,
        }
    }
}
