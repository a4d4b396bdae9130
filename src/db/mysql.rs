//! MySQL/MariaDB backend: read-only sessions with a server-side statement time limit; a
//! statement still running at its request's deadline is stopped (`KILL QUERY`); values decoded
//! by their column type.

use std::str::FromStr;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use sqlx::mysql::{MySqlConnectOptions, MySqlConnection, MySqlPool, MySqlRow, MySqlValueRef};
use sqlx::{AssertSqlSafe, Decode, Executor, MySql, Row as _, TypeInfo, ValueRef};

use super::common::{CANCEL_TIMEOUT, Cancel, Readable};
use super::warm::Warm;
use super::{Backend, DbError, DbSettings, Run, common};
use crate::sql::{DbColumn, Dialect, Row, SqlType, Statement, Value};

/// A read-only MySQL/MariaDB pool.
pub struct MysqlBackend {
    pool: Warm<MySql>,
    /// Where statements are stopped from.
    control: MySqlPool,
}

/// How `control` stops the statement of connection `id`.
fn cancel(control: MySqlPool, id: u64) -> Cancel {
    Arc::new(move || {
        let control = control.clone();
        Box::pin(async move {
            // The id is the server's own number, not request data.
            let kill = format!("KILL QUERY {id}");
            let q = async {
                let mut conn = control.acquire().await?;
                conn.execute(AssertSqlSafe(kill)).await
            };
            match tokio::time::timeout(CANCEL_TIMEOUT, q).await {
                Ok(Ok(_)) => tracing::debug!(id, "statement stopped"),
                // The statement ended meanwhile.
                Ok(Err(e)) if e.to_string().contains("Unknown thread") => {}
                Ok(Err(e)) => tracing::warn!(id, error = %e, "cannot stop a statement"),
                Err(_) => tracing::warn!(id, "cannot stop a statement: no answer"),
            }
        })
    })
}

/// sqlx knows only the `mysql:` scheme; `mariadb:` means the same.
pub fn sqlx_url(url: &str) -> String {
    match url.split_once(':') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("mariadb") => format!("mysql:{rest}"),
        _ => url.to_string(),
    }
}

impl MysqlBackend {
    /// Opens a pool whose sessions are read-only and time statements out on the server.
    pub async fn connect(
        settings: &DbSettings,
        url: &str,
        lazy: bool,
    ) -> Result<MysqlBackend, DbError> {
        // `||` concatenates in the mapping's SQL on every database (docs/mapping.md §5.2):
        // sessions add PIPES_AS_CONCAT to the server's sql_mode (the driver's default, pinned).
        let options = MySqlConnectOptions::from_str(&sqlx_url(url))
            .map_err(|e| DbError::Config(e.to_string()))?
            .pipes_as_concat(true);
        let options = common::quiet(options);
        let control = common::control_pool(settings, options.clone());
        let timeout = settings.statement_timeout;
        let pool = common::pool_options::<MySql>(settings).after_connect(move |conn, _meta| {
            Box::pin(async move {
                conn.execute("SET SESSION TRANSACTION READ ONLY").await?;
                // MariaDB and MySQL name their statement time limits differently.
                let mariadb = format!("SET SESSION max_statement_time = {}", timeout.as_secs_f64());
                let mysql = format!("SET SESSION max_execution_time = {}", timeout.as_millis());
                if conn.execute(AssertSqlSafe(mariadb)).await.is_err() {
                    let _ = conn.execute(AssertSqlSafe(mysql)).await;
                } else {
                    // The correlated EXISTS of a large chain (plan::subquery) is tested per
                    // row read in page order; MariaDB would rewrite it into a semi-join
                    // materialized whole on every page.
                    // (MariaDB 10.0.2 and later have the flag; a server without it keeps
                    // its default.)
                    let _ = conn
                        .execute("SET SESSION optimizer_switch = 'exists_to_in=off'")
                        .await;
                }
                Ok(())
            })
        });
        let loopback = !lazy
            && options.get_socket().is_none()
            && common::default_tls_on_loopback(options.get_host(), url);
        let pool: MySqlPool = common::open(pool, options, lazy).await?;
        if loopback {
            let cipher: Result<Option<(String, String)>, _> =
                sqlx::query_as("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                    .fetch_optional(&pool)
                    .await;
            if let Ok(Some((_, cipher))) = cipher
                && !cipher.is_empty()
            {
                common::hint_tls_on_loopback(
                    "?ssl-mode=DISABLED",
                    "mysql://USER@localhost/DB?socket=/run/mysqld/mysqld.sock",
                );
            }
        }
        Ok(MysqlBackend {
            pool: Warm::new(pool, connection_id),
            control,
        })
    }
}

fn d<'r, T: Decode<'r, MySql>>(raw: MySqlValueRef<'r>) -> Result<T, sqlx::Error> {
    T::decode(raw).map_err(sqlx::Error::Decode)
}

/// The broad kind of a MySQL type name, or `None` when the façade cannot decode it.
fn kind(type_name: &str) -> Option<&'static str> {
    let base = type_name.split_whitespace().next().unwrap_or("");
    Some(match base {
        "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" | "YEAR" => {
            if type_name.ends_with("UNSIGNED") {
                "uint"
            } else {
                "int"
            }
        }
        "BOOLEAN" => "bool",
        "BIT" => "bit",
        "DECIMAL" => "decimal",
        "FLOAT" => "float4",
        "DOUBLE" => "float8",
        "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET"
        | "JSON" | "NULL" => "text",
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => "bytes",
        "DATE" => "date",
        "TIME" => "time",
        "DATETIME" => "datetime",
        "TIMESTAMP" => "timestamp",
        _ => return None,
    })
}

/// What a MySQL type holds: `TIMESTAMP` values are instants (read in the session's UTC), a
/// `tinyint(1)` (reported as `BOOLEAN`) a boolean; binary strings are text (expressions often
/// come back with a binary collation).
fn sql_type(type_name: &str) -> SqlType {
    match kind(type_name) {
        Some("int" | "uint" | "bit") => SqlType::Integer,
        Some("bool") => SqlType::Boolean,
        Some("decimal") => SqlType::Decimal,
        Some("float4") => SqlType::Real,
        Some("float8") => SqlType::Float,
        Some("text") => SqlType::Text,
        Some("bytes") if type_name.contains("BINARY") => SqlType::Text,
        Some("bytes") => SqlType::Binary,
        Some("date") => SqlType::Date,
        Some("time") => SqlType::Time,
        Some("datetime") => SqlType::DateTime,
        Some("timestamp") => SqlType::Instant,
        _ => SqlType::Unknown,
    }
}

fn decode(row: &MySqlRow, i: usize) -> Result<Value, sqlx::Error> {
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = kind(raw.type_info().name()).unwrap_or("text");
    Ok(match kind {
        "int" => Value::Int(d::<i64>(raw)?),
        "uint" => {
            Value::Int(i64::try_from(d::<u64>(raw)?).map_err(|e| sqlx::Error::Decode(e.into()))?)
        }
        "bool" => Value::Bool(d::<bool>(raw)?),
        "bit" => {
            Value::Int(i64::try_from(d::<u64>(raw)?).map_err(|e| sqlx::Error::Decode(e.into()))?)
        }
        "decimal" => Value::Decimal(d::<rust_decimal::Decimal>(raw)?.to_string()),
        "float4" => Value::Float(d::<f32>(raw)?.into()),
        "float8" => Value::Float(d::<f64>(raw)?),
        "date" => match d::<chrono::NaiveDate>(raw.clone()) {
            Ok(v) => Value::Date(v),
            Err(_) => invalid_date(raw, false)?,
        },
        "time" => Value::Time(d::<chrono::NaiveTime>(raw)?),
        "datetime" => match d::<chrono::NaiveDateTime>(raw.clone()) {
            Ok(v) => Value::Timestamp(v),
            Err(_) => invalid_date(raw, true)?,
        },
        "timestamp" => match d::<chrono::DateTime<chrono::Utc>>(raw.clone()) {
            Ok(v) => Value::TimestampTz(v.fixed_offset()),
            Err(_) => invalid_date(raw, true)?,
        },
        "bytes" => match d::<String>(raw.clone()) {
            // Text computed by expressions may come back with a binary collation.
            Ok(s) => Value::Text(s),
            Err(_) => Value::Bytes(d::<Vec<u8>>(raw)?),
        },
        _ => Value::Text(d::<String>(raw)?),
    })
}

/// A `DATE`, `DATETIME` or `TIMESTAMP` that is no calendar date (the zero date `0000-00-00`,
/// or `2020-00-00` where the SQL mode allows it), as its text, so that it reads as no value
/// (or a declared `none`) rather than failing the whole row. In the binary protocol the value
/// is a length byte (0 for the zero date), year (2 bytes), month, day, and the time parts.
fn invalid_date(raw: MySqlValueRef<'_>, with_time: bool) -> Result<Value, sqlx::Error> {
    let bytes = <&[u8] as Decode<MySql>>::decode(raw).map_err(sqlx::Error::Decode)?;
    let part = |i: usize| u32::from(bytes.get(i).copied().unwrap_or(0));
    let (year, month, day) = match bytes.first() {
        Some(n) if *n >= 4 => (part(1) | (part(2) << 8), part(3), part(4)),
        // Text protocol (or the zero date): the text itself, or zeros.
        _ => match std::str::from_utf8(bytes) {
            Ok(text) if text.len() >= 10 && text.as_bytes()[4] == b'-' => {
                return Ok(Value::Text(text.to_string()));
            }
            _ => (0, 0, 0),
        },
    };
    let date = format!("{year:04}-{month:02}-{day:02}");
    Ok(Value::Text(if with_time {
        let (h, m, s) = match bytes.first() {
            Some(n) if *n >= 7 => (part(5), part(6), part(7)),
            _ => (0, 0, 0),
        };
        format!("{date} {h:02}:{m:02}:{s:02}")
    } else {
        date
    }))
}

fn decode_row(row: &MySqlRow, parts: Option<&[usize]>) -> Result<Row, sqlx::Error> {
    common::decode_row(row.len(), parts, |i| decode(row, i))
}

/// Which server connection `conn` is (what a statement is stopped by).
fn connection_id(conn: &mut MySqlConnection) -> BoxFuture<'_, Result<u64, sqlx::Error>> {
    Box::pin(sqlx::query_scalar("SELECT CONNECTION_ID()").fetch_one(conn))
}

impl Backend for MysqlBackend {
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
        Dialect::Mysql
    }

    fn fetch<'a>(
        &'a self,
        stmt: &'a Statement,
        run: &'a Run,
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>> {
        let cancel = |id| cancel(self.control.clone(), id);
        Box::pin(self.pool.fetch(stmt, run, cancel, decode_row))
    }

    fn describe<'a>(&'a self, select: &'a str) -> BoxFuture<'a, Result<Vec<DbColumn>, DbError>> {
        Box::pin(self.pool.describe(select, |t| match kind(t) {
            Some(_) => (sql_type(t), Readable::Decoded),
            None => (sql_type(t), Readable::No),
        }))
    }
}
