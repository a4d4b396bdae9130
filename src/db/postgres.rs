//! PostgreSQL backend: read-only sessions with a server-side statement timeout; a statement
//! still running at its request's deadline is cancelled (`pg_cancel_backend`); values decoded
//! by their column type.

use std::str::FromStr;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgRow, PgValueRef};
use sqlx::{Decode, Postgres, Row as _, TypeInfo, ValueRef};

use super::common::{CANCEL_TIMEOUT, Cancel};
use super::warm::Warm;
use super::{Backend, DbError, DbSettings, Run, common};
use crate::sql::{DbColumn, Dialect, Row, SqlType, Statement, Value};

/// A read-only PostgreSQL pool.
pub struct PostgresBackend {
    pool: Warm<Postgres>,
    /// Where statements are cancelled from.
    control: PgPool,
}

/// How `control` stops the statement of backend `pid`.
fn cancel(control: PgPool, pid: u64) -> Cancel {
    // A backend pid is a positive int4.
    let pid = i32::try_from(pid).unwrap_or(0);
    Arc::new(move || {
        let control = control.clone();
        Box::pin(async move {
            let q = sqlx::query("SELECT pg_cancel_backend($1)").bind(pid);
            match tokio::time::timeout(CANCEL_TIMEOUT, q.execute(&control)).await {
                Ok(Ok(_)) => tracing::debug!(pid, "statement cancelled"),
                Ok(Err(e)) => tracing::warn!(pid, error = %e, "cannot cancel a statement"),
                Err(_) => tracing::warn!(pid, "cannot cancel a statement: no answer"),
            }
        })
    })
}

impl PostgresBackend {
    /// Opens a pool whose sessions are read-only and time statements out on the server.
    pub async fn connect(
        settings: &DbSettings,
        url: &str,
        lazy: bool,
    ) -> Result<PostgresBackend, DbError> {
        let timeout_ms = settings.statement_timeout.as_millis().to_string();
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| DbError::Config(e.to_string()))?
            .application_name("fhir-facade")
            .options([
                ("default_transaction_read_only", "on"),
                ("statement_timeout", timeout_ms.as_str()),
                // One core per statement: parallel workers take 10-20 ms to start, more than
                // a page costs, and would let one request use several of the database's
                // cores (the pool and the budget bound statements, not their workers).
                ("max_parallel_workers_per_gather", "0"),
            ]);
        let options = common::quiet(options);
        let control = common::control_pool(settings, options.clone());
        let pool = common::pool_options(settings);
        let pool = common::open(pool, options, lazy).await?;
        Ok(PostgresBackend {
            pool: Warm::new(pool, backend_pid),
            control,
        })
    }
}

/// Type names this backend decodes.
const DECODABLE: &[&str] = &[
    "INT2",
    "INT4",
    "INT8",
    "OID",
    "NUMERIC",
    "FLOAT4",
    "FLOAT8",
    "TEXT",
    "VARCHAR",
    "BPCHAR",
    "NAME",
    "CHAR",
    "\"CHAR\"",
    "UNKNOWN",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "TIMESTAMPTZ",
    "BOOL",
    "BYTEA",
    "UUID",
];

/// What a PostgreSQL type holds.
fn sql_type(type_name: &str) -> SqlType {
    match type_name {
        "INT2" | "INT4" | "INT8" | "OID" => SqlType::Integer,
        "NUMERIC" => SqlType::Decimal,
        "FLOAT4" => SqlType::Real,
        "FLOAT8" => SqlType::Float,
        "BOOL" => SqlType::Boolean,
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CHAR" | "\"CHAR\"" | "UNKNOWN" | "UUID" => {
            SqlType::Text
        }
        "DATE" => SqlType::Date,
        "TIME" => SqlType::Time,
        "TIMESTAMP" => SqlType::DateTime,
        "TIMESTAMPTZ" => SqlType::Instant,
        "BYTEA" => SqlType::Binary,
        _ => SqlType::Unknown,
    }
}

fn d<'r, T: Decode<'r, Postgres>>(raw: PgValueRef<'r>) -> Result<T, sqlx::Error> {
    T::decode(raw).map_err(sqlx::Error::Decode)
}

fn decode(row: &PgRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    // The type's name borrowed from an owned copy of the type (no allocation for built-in
    // types), as `raw` is consumed by the decode.
    let ty = raw.type_info().into_owned();
    Ok(match ty.name() {
        "INT2" => Value::Int(d::<i16>(raw)?.into()),
        "INT4" => Value::Int(d::<i32>(raw)?.into()),
        "INT8" => Value::Int(d::<i64>(raw)?),
        "OID" => Value::Int(d::<sqlx::postgres::types::Oid>(raw)?.0.into()),
        "NUMERIC" => Value::Decimal(d::<rust_decimal::Decimal>(raw)?.to_string()),
        "FLOAT4" => Value::Float(d::<f32>(raw)?.into()),
        "FLOAT8" => Value::Float(d::<f64>(raw)?),
        "BOOL" => Value::Bool(d::<bool>(raw)?),
        "DATE" => Value::Date(d::<chrono::NaiveDate>(raw)?),
        "TIME" => Value::Time(d::<chrono::NaiveTime>(raw)?),
        "TIMESTAMP" => Value::Timestamp(d::<chrono::NaiveDateTime>(raw)?),
        "TIMESTAMPTZ" => {
            Value::TimestampTz(d::<chrono::DateTime<chrono::Utc>>(raw)?.fixed_offset())
        }
        "BYTEA" => Value::Bytes(d::<Vec<u8>>(raw)?),
        _ => Value::Text(d::<String>(raw)?),
    })
}

fn decode_row(row: &PgRow) -> Result<Row, sqlx::Error> {
    (0..row.len()).map(|i| decode(row, i)).collect()
}

/// Which server process serves `conn` (what a statement is cancelled by).
fn backend_pid(conn: &mut PgConnection) -> BoxFuture<'_, Result<u64, sqlx::Error>> {
    Box::pin(async move {
        let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
            .fetch_one(conn)
            .await?;
        Ok(u64::try_from(pid).unwrap_or(0))
    })
}

impl Backend for PostgresBackend {
    fn pool_stats(&self) -> super::PoolStats {
        super::PoolStats {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
        }
    }

    fn close(&self) -> BoxFuture<'_, ()> {
        Box::pin(self.pool.close())
    }

    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn fetch<'a>(
        &'a self,
        stmt: &'a Statement,
        run: &'a Run,
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        let cancel = |pid| cancel(self.control.clone(), pid);
        Box::pin(self.pool.fetch(stmt, run, cancel, decode_row))
    }

    fn describe<'a>(&'a self, select: &'a str) -> BoxFuture<'a, Result<Vec<DbColumn>, DbError>> {
        Box::pin(
            self.pool
                .describe(select, |t| (sql_type(t), DECODABLE.contains(&t))),
        )
    }
}
