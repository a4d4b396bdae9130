//! SQLite backend: a read-only pool; a statement is interrupted by SQLite itself at its
//! request's deadline (a progress handler); values decoded by their storage class.

use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqliteRow};
use sqlx::{Decode, Row as _, Sqlite, TypeInfo, ValueRef};

use super::common::Cancel;
use super::{Backend, DbError, DbSettings, Run, common};
use crate::sql::{DbColumn, Dialect, Row, SqlType, Statement, Value};

/// A read-only SQLite pool.
pub struct SqliteBackend {
    pool: SqlitePool,
}

impl SqliteBackend {
    /// Opens `settings.url` read-only. The file must exist.
    pub async fn connect(
        settings: &DbSettings,
        url: &str,
        lazy: bool,
    ) -> Result<SqliteBackend, DbError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| DbError::Config(e.to_string()))?
            .read_only(true)
            .create_if_missing(false);
        let options = common::quiet(options);
        let pool = common::pool_options(settings);
        let pool = common::open(pool, options, lazy).await?;
        Ok(SqliteBackend { pool })
    }
}

/// What a column of SQLite's declared type `declared` holds (SQLite keeps any value in any
/// column; the declared type, by the usual affinity names, says what the schema meant).
/// Expressions have no declared type: `Unknown`.
pub fn sql_type(declared: &str) -> SqlType {
    let t = declared.to_ascii_uppercase();
    let has = |k: &str| t.contains(k);
    if has("BOOL") {
        SqlType::Boolean
    } else if has("INT") {
        SqlType::Integer
    } else if has("DATETIME") || has("TIMESTAMP") {
        SqlType::DateTime
    } else if has("DATE") {
        SqlType::Date
    } else if has("TIME") {
        SqlType::Time
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        SqlType::Text
    } else if has("BLOB") {
        SqlType::Binary
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        SqlType::Float
    } else if has("DEC") || has("NUM") {
        SqlType::Decimal
    } else {
        SqlType::Unknown
    }
}
/// Virtual machine instructions between two calls of the progress handler (a few
/// microseconds of work).
const PROGRESS_OPS: i32 = 1000;

fn decode(row: &SqliteRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ty = raw.type_info().into_owned();
    let boxed = |e| sqlx::Error::Decode(e);
    Ok(match ty.name() {
        "INTEGER" | "BOOLEAN" => Value::Int(<i64 as Decode<Sqlite>>::decode(raw).map_err(boxed)?),
        "REAL" => Value::Float(<f64 as Decode<Sqlite>>::decode(raw).map_err(boxed)?),
        "BLOB" => Value::Bytes(<Vec<u8> as Decode<Sqlite>>::decode(raw).map_err(boxed)?),
        _ => Value::Text(<String as Decode<Sqlite>>::decode(raw).map_err(boxed)?),
    })
}

fn decode_row(row: &SqliteRow, parts: Option<&[usize]>) -> Result<Row, sqlx::Error> {
    common::decode_row(row.len(), parts, |i| decode(row, i))
}

impl Backend for SqliteBackend {
    fn pool_stats(&self) -> super::PoolStats {
        super::PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
        }
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.pool.close())
    }

    fn declared_types<'a>(
        &'a self,
        table: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, DbError>> {
        Box::pin(async move {
            let (schema, name) = match table.rsplit_once('.') {
                Some((s, n)) => (s.trim_matches('"'), n),
                None => ("main", table),
            };
            let name = name.trim_matches('"');
            sqlx::query_as::<_, (String, String)>(
                "SELECT name, type FROM pragma_table_info(?1, ?2)",
            )
            .bind(name)
            .bind(schema)
            .fetch_all(&self.pool)
            .await
            .map_err(DbError::from_sqlx)
        })
    }

    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn declared_sql_type(&self, declared: &str) -> SqlType {
        sql_type(declared)
    }

    fn fetch<'a>(
        &'a self,
        stmt: &'a Statement,
        run: &'a Run,
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        Box::pin(async move {
            let mut conn = self.pool.acquire().await.map_err(DbError::from_sqlx)?;
            // SQLite calls the handler every PROGRESS_OPS virtual machine instructions and stops
            // the statement when it answers false: at the deadline, or when asked to stop.
            // Once the statement has ended the handler lets anything else run (`ended`), until
            // the next statement replaces it.
            let stopped = Arc::new(AtomicBool::new(false));
            let ended = Arc::new(AtomicBool::new(false));
            let (flag, done, deadline) = (stopped.clone(), ended.clone(), run.deadline());
            conn.lock_handle()
                .await
                .map_err(DbError::from_sqlx)?
                .set_progress_handler(PROGRESS_OPS, move || {
                    done.load(Ordering::Relaxed)
                        || (!flag.load(Ordering::Relaxed) && Instant::now() < deadline)
                });
            let cancel: Cancel = Arc::new(move || {
                stopped.store(true, Ordering::Relaxed);
                Box::pin(async {})
            });
            let (out, _conn) = common::fetch_on(conn, stmt, run, cancel, decode_row).await;
            if !matches!(out, Err(DbError::Timeout(_))) {
                ended.store(true, Ordering::Relaxed);
            }
            out
        })
    }

    fn describe<'a>(&'a self, select: &'a str) -> BoxFuture<'a, Result<Vec<DbColumn>, DbError>> {
        Box::pin(common::describe(&self.pool, select, |t| {
            (sql_type(t), common::Readable::Decoded)
        }))
    }
}
