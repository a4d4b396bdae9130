//! PostgreSQL backend: read-only sessions with a server-side statement timeout; a statement
//! still running at its request's deadline is cancelled (`pg_cancel_backend`); values decoded
//! by their column type.

use std::str::FromStr;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgRow, PgValueRef};
use sqlx::{Decode, Postgres, Row as _, ValueRef};

use super::common::{CANCEL_TIMEOUT, Cancel, Readable};
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
        let loopback = !lazy
            && options.get_socket().is_none()
            && common::default_tls_on_loopback(options.get_host(), url);
        let pool: PgPool = common::open(pool, options, lazy).await?;
        if loopback {
            let tls: Result<Option<bool>, _> =
                sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                    .fetch_optional(&pool)
                    .await;
            if let Ok(Some(true)) = tls {
                common::hint_tls_on_loopback(
                    "?sslmode=disable",
                    "postgres://USER@localhost/DB?host=/var/run/postgresql",
                );
            }
        }
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

/// How a column of type `type_name` is read: every type has a text form (`CAST(x AS text)`
/// works for all of them), which is what a type not decoded as a value is read and compared
/// as (an enum, which has no comparison with text; `json`, `interval`, `inet`, a domain...).
fn classify(type_name: &str) -> (SqlType, Readable) {
    match DECODABLE.contains(&type_name) {
        true => (sql_type(type_name), Readable::Decoded),
        false => (SqlType::Text, Readable::AsText),
    }
}

fn d<'r, T: Decode<'r, Postgres>>(raw: PgValueRef<'r>) -> Result<T, sqlx::Error> {
    T::decode(raw).map_err(sqlx::Error::Decode)
}

/// Built-in type OIDs (`pg_type.oid`, fixed across PostgreSQL versions) of the types
/// decoded as something else than text.
mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const OID: u32 = 26;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const NUMERIC: u32 = 1700;
    pub const UUID: u32 = 2950;
}

/// A `uuid` value (16 bytes in the binary protocol) as PostgreSQL writes it:
/// `a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11`.
fn uuid_text(bytes: &[u8]) -> Result<String, sqlx::Error> {
    if bytes.len() != 16 {
        return Err(sqlx::Error::Decode(
            format!("a uuid of {} bytes", bytes.len()).into(),
        ));
    }
    let mut out = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    Ok(out)
}

fn decode(row: &PgRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    // By the type's OID: one integer comparison where the name took up to 15 string ones
    // (every text value compared against every other name first).
    let ty = raw.type_info().oid().map_or(0, |o| o.0);
    Ok(match ty {
        oid::INT2 => Value::Int(d::<i16>(raw)?.into()),
        oid::INT4 => Value::Int(d::<i32>(raw)?.into()),
        oid::INT8 => Value::Int(d::<i64>(raw)?),
        oid::OID => Value::Int(d::<sqlx::postgres::types::Oid>(raw)?.0.into()),
        oid::NUMERIC => Value::Decimal(d::<rust_decimal::Decimal>(raw)?.to_string()),
        oid::FLOAT4 => Value::Float(d::<f32>(raw)?.into()),
        oid::FLOAT8 => Value::Float(d::<f64>(raw)?),
        oid::BOOL => Value::Bool(d::<bool>(raw)?),
        oid::DATE => Value::Date(d::<chrono::NaiveDate>(raw)?),
        oid::TIME => Value::Time(d::<chrono::NaiveTime>(raw)?),
        oid::TIMESTAMP => Value::Timestamp(d::<chrono::NaiveDateTime>(raw)?),
        oid::TIMESTAMPTZ => {
            Value::TimestampTz(d::<chrono::DateTime<chrono::Utc>>(raw)?.fixed_offset())
        }
        oid::BYTEA => Value::Bytes(d::<Vec<u8>>(raw)?),
        oid::UUID => Value::Text(uuid_text(raw.as_bytes().map_err(sqlx::Error::Decode)?)?),
        _ => Value::Text(d::<String>(raw)?),
    })
}

fn decode_row(row: &PgRow, parts: Option<&[usize]>) -> Result<Row, sqlx::Error> {
    common::decode_row(row.len(), parts, |i| decode(row, i))
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
        Box::pin(self.pool.describe(select, classify))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_written_as_postgresql_writes_them() {
        let bytes: Vec<u8> = (0..16).map(|i| i * 17).collect();
        assert_eq!(
            uuid_text(&bytes).unwrap(),
            "00112233-4455-6677-8899-aabbccddeeff"
        );
        assert!(uuid_text(&bytes[..15]).is_err());
    }
}
