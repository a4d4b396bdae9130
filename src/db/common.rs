//! What the three backends do alike: run a statement until its deadline and decode its rows,
//! stop it in the database when the deadline passes, describe a query's columns. Each backend
//! supplies only how a statement is stopped, its row decoder and its type classification.

use std::sync::Arc;
use std::time::Duration;

use futures_util::future::BoxFuture;
use log::LevelFilter;
use sea_query_sqlx::SqlxValues;
use sqlx::pool::{PoolConnection, PoolOptions};
use sqlx::{
    AssertSqlSafe, Column, ConnectOptions, Executor, IntoArguments, Pool, SqlSafeStr, TypeInfo,
};

use super::{DbError, DbSettings, Run};
use crate::sql::{DbColumn, Row, SqlType, Statement, Value};

/// How long the database has to confirm that it stopped a statement (by ending it) before the
/// statement is left to end in the background.
const CONFIRM: Duration = Duration::from_secs(2);

/// How often a statement left in the background is asked again to stop.
const RETRY: Duration = Duration::from_secs(5);

/// How long one request to stop a statement may take.
pub(super) const CANCEL_TIMEOUT: Duration = Duration::from_secs(2);

/// Asks the database to stop one running statement (bounded in time; failures are logged).
pub(super) type Cancel = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// The pool options every backend starts from: its size and how long to wait for a
/// connection. No liveness ping at checkout (a round trip before every statement): a broken
/// connection shows as an error of its statement, retried once on a new connection (see
/// [`super::warm`]).
pub(super) fn pool_options<DB: sqlx::Database>(settings: &DbSettings) -> PoolOptions<DB> {
    PoolOptions::new()
        .max_connections(settings.max_connections)
        .acquire_timeout(settings.connect_timeout)
        .test_before_acquire(false)
}

/// A small pool of its own for asking the database to stop statements, so that it works
/// when every connection of the main pool is busy. Connected when first used.
pub(super) fn control_pool<DB: sqlx::Database>(
    settings: &DbSettings,
    options: <DB::Connection as sqlx::Connection>::Options,
) -> Pool<DB> {
    PoolOptions::new()
        .max_connections(1)
        .acquire_timeout(CANCEL_TIMEOUT.min(settings.connect_timeout))
        .connect_lazy_with(options)
}

/// Connection options whose statement logging (SQL text, never values) is at DEBUG: the
/// driver's own INFO and slow-statement WARN lines would put every SQL text in the log.
pub(super) fn quiet<O: ConnectOptions>(options: O) -> O {
    options
        .log_statements(LevelFilter::Debug)
        .log_slow_statements(LevelFilter::Debug, Duration::from_secs(1))
}

/// Opens `pool` with `options`: connected now, or when first used (`lazy`, so that a replica
/// that is down does not stop the server).
pub(super) async fn open<DB: sqlx::Database>(
    pool: PoolOptions<DB>,
    options: <DB::Connection as sqlx::Connection>::Options,
    lazy: bool,
) -> Result<Pool<DB>, DbError> {
    if lazy {
        Ok(pool.connect_lazy_with(options))
    } else {
        pool.connect_with(options).await.map_err(DbError::from_sqlx)
    }
}

/// Runs `stmt` on `conn` until `run.deadline()` (stopping it with `cancel` then) and decodes
/// every row with `decode`. The connection is handed back when the statement ended in time;
/// else it goes back to the pool only once the statement has ended in the database.
pub(super) async fn fetch_on<DB>(
    mut conn: PoolConnection<DB>,
    stmt: &Statement,
    run: &Run,
    cancel: Cancel,
    decode: Decode<DB>,
) -> (Result<Vec<Row>, DbError>, Option<PoolConnection<DB>>)
where
    DB: sqlx::Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let values = SqlxValues(sea_query::Values(stmt.params.clone()));
    // The text comes from the planner and the mapping file only; request values are bound
    // parameters.
    let sql = stmt.sql.clone();
    let work: BoxFuture<'static, _> = Box::pin(async move {
        let rows = sqlx::query_with(AssertSqlSafe(sql), values)
            .fetch_all(&mut *conn)
            .await;
        (rows, conn)
    });
    let Some((rows, conn)) = until_deadline(work, run, cancel).await else {
        return (Err(DbError::Timeout(Duration::ZERO)), None);
    };
    let rows = rows.map_err(DbError::from_sqlx).and_then(|rows| {
        let parts = stmt.parts.as_deref();
        rows.iter()
            .map(|r| decode(r, parts))
            .collect::<Result<_, _>>()
            .map_err(DbError::from_sqlx)
    });
    (rows, Some(conn))
}

/// A statement's work (owning its connection) that, when dropped before it ends (the
/// request's deadline passed, or the client went away), is stopped with `cancel` and left to
/// end in the background, keeping its connection and the request's slot until the database
/// has confirmed, so that the pool and the budget always bound the load on the database.
struct Guarded<T: Send + 'static> {
    work: Option<BoxFuture<'static, T>>,
    cancel: Cancel,
    hold: Run,
}

impl<T: Send + 'static> Drop for Guarded<T> {
    fn drop(&mut self) {
        let Some(work) = self.work.take() else {
            return;
        };
        let (cancel, hold) = (self.cancel.clone(), self.hold.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(stop(work, cancel, hold));
        }
    }
}

/// Stops `work`'s statement and waits for its end, asking again from time to time.
async fn stop<T>(mut work: BoxFuture<'static, T>, cancel: Cancel, hold: Run) {
    cancel().await;
    if tokio::time::timeout(CONFIRM, &mut work).await.is_ok() {
        return;
    }
    tracing::warn!(
        "the database has not yet stopped a cancelled statement; its connection stays out of \
         the pool until it has"
    );
    loop {
        if tokio::time::timeout(RETRY, &mut work).await.is_ok() {
            break;
        }
        cancel().await;
    }
    drop(hold);
    tracing::info!("a cancelled statement has ended");
}

/// Awaits `work` until `run.deadline()`; `None` when the deadline passed first, after the
/// database has been asked to stop the statement and has confirmed it (or, failing a
/// confirmation in time, with the work left to end in the background).
pub(super) async fn until_deadline<T: Send + 'static>(
    work: BoxFuture<'static, T>,
    run: &Run,
    cancel: Cancel,
) -> Option<T> {
    let mut guarded = Guarded {
        work: Some(work),
        cancel,
        hold: run.clone(),
    };
    let deadline = tokio::time::Instant::from_std(run.deadline());
    let work = guarded.work.as_mut().expect("set above");
    if let Ok(out) = tokio::time::timeout_at(deadline, work).await {
        guarded.work = None;
        return Some(out);
    }
    let work = guarded.work.take().expect("not finished");
    (guarded.cancel)().await;
    let mut work = work;
    if tokio::time::timeout(CONFIRM, &mut work).await.is_err() {
        let (cancel, hold) = (guarded.cancel.clone(), guarded.hold.clone());
        tokio::spawn(stop(work, cancel, hold));
    }
    None
}

/// How the façade reads a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Readable {
    /// Decoded as they come.
    Decoded,
    /// Through their text form, `CAST(x AS text)` ([`crate::sql::ColumnInfo::as_text`]).
    AsText,
    /// Not at all (the mapping must cast it in an `expr`).
    No,
}

/// How a backend classifies a column type name: what it holds, and how the façade reads it.
pub(super) type Classify = fn(&str) -> (SqlType, Readable);

/// The columns `select` would return, without running it, prepared through `executor` (a
/// pool or a connection).
pub(super) async fn describe<'e, DB, E>(
    executor: E,
    select: &str,
    classify: Classify,
) -> Result<Vec<DbColumn>, DbError>
where
    DB: sqlx::Database,
    E: Executor<'e, Database = DB>,
{
    let stmt = executor
        .prepare(AssertSqlSafe(select).into_sql_str())
        .await
        .map_err(DbError::from_sqlx)?;
    Ok(sqlx::Statement::columns(&stmt)
        .iter()
        .map(|c| {
            let type_name = c.type_info().name().to_string();
            let (sql_type, readable) = classify(&type_name);
            DbColumn {
                name: c.name().to_string(),
                sql_type,
                decodable: readable != Readable::No,
                as_text: readable == Readable::AsText,
                type_name,
                scale: None,
                char_len: None,
            }
        })
        .collect())
}

/// Whether a connection is encrypted only because the driver prefers TLS when the server
/// offers it (`sslmode` not set in `url`), although it goes to `host` on this machine
/// (`localhost`, a loopback address) where TLS protects nothing and costs both sides CPU.
pub(super) fn default_tls_on_loopback(host: &str, url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    if lower.contains("sslmode") || lower.contains("ssl-mode") || lower.contains("ssl_mode") {
        return false;
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Says once, at start-up, that the connection to a database on this machine is encrypted by
/// default and how to stop it.
pub(super) fn hint_tls_on_loopback(option: &str, socket: &str) {
    tracing::info!(
        "the connections to the database on this machine use TLS (the driver's default when \
         the server offers it): on loopback it protects nothing and costs the database and the \
         server CPU on every row (up to a quarter of a search's throughput measured); add \
         {option} to the database URL, or connect through the Unix socket ({socket})"
    );
}

/// How a backend decodes a row: every column, or those [`Statement::parts`] says.
pub type Decode<DB> =
    fn(&<DB as sqlx::Database>::Row, Option<&[usize]>) -> Result<Row, sqlx::Error>;

/// A row of `len` values decoded by `decode` (into a vector of that size at once); with
/// `parts` ([`Statement::parts`]), only its branch number, its branch's own columns and its
/// last column.
pub fn decode_row(
    len: usize,
    parts: Option<&[usize]>,
    mut decode: impl FnMut(usize) -> Result<Value, sqlx::Error>,
) -> Result<Row, sqlx::Error> {
    let Some(widths) = parts else {
        let mut row = Vec::with_capacity(len);
        for i in 0..len {
            row.push(decode(i)?);
        }
        return Ok(row);
    };
    let part = decode(0)?;
    let own = part
        .as_u64()
        .and_then(|p| usize::try_from(p).ok())
        .filter(|&p| p < widths.len() && len == widths.iter().sum::<usize>() + 2)
        .map(|p| (1 + widths[..p].iter().sum::<usize>(), widths[p]));
    let Some((start, width)) = own else {
        return Err(sqlx::Error::Decode(
            "a row of another shape than its statement's branches".into(),
        ));
    };
    let mut row = Vec::with_capacity(width + 2);
    row.push(part);
    for i in start..start + width {
        row.push(decode(i)?);
    }
    row.push(decode(len - 1)?);
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::{decode_row, default_tls_on_loopback};
    use crate::sql::Value;

    #[test]
    fn rows_of_branches_decode_their_own_columns_only() {
        // part, branch 0 (2 columns), branch 1 (3 columns), row number.
        let columns = 7;
        for (part, own) in [(0, vec![1, 2]), (1, vec![3, 4, 5])] {
            let mut decoded = Vec::new();
            let row = decode_row(columns, Some(&[2, 3]), |i| {
                decoded.push(i);
                Ok(if i == 0 {
                    Value::Int(part)
                } else {
                    Value::Int(i as i64 * 10)
                })
            })
            .unwrap();
            let mut expected = vec![0];
            expected.extend(&own);
            expected.push(6);
            assert_eq!(decoded, expected);
            assert_eq!(row.len(), own.len() + 2);
            assert_eq!(row[0], Value::Int(part));
            assert_eq!(row[own.len() + 1], Value::Int(60));
        }
        let all = decode_row(3, None, |i| Ok(Value::Int(i as i64))).unwrap();
        assert_eq!(all, vec![Value::Int(0), Value::Int(1), Value::Int(2)]);
        // A branch number out of range, or a row of another width, is an error, not a panic.
        assert!(decode_row(columns, Some(&[2, 3]), |_| Ok(Value::Int(2))).is_err());
        assert!(decode_row(columns, Some(&[2, 2]), |_| Ok(Value::Int(0))).is_err());
        assert!(decode_row(columns, Some(&[2, 3]), |_| Ok(Value::Null)).is_err());
    }

    #[test]
    fn tls_is_pointless_only_on_loopback_by_default() {
        for (host, url) in [
            ("127.0.0.1", "postgres://u@127.0.0.1/db"),
            ("localhost", "postgres://u@localhost/db"),
            ("::1", "postgres://u@[::1]/db"),
            ("[::1]", "mysql://u@[::1]/db"),
            ("127.0.0.2", "mysql://u@127.0.0.2:3306/db"),
        ] {
            assert!(default_tls_on_loopback(host, url), "{url}");
        }
        for (host, url) in [
            ("db.example.org", "postgres://u@db.example.org/db"),
            ("10.0.0.5", "postgres://u@10.0.0.5/db"),
            ("127.0.0.1", "postgres://u@127.0.0.1/db?sslmode=require"),
            ("localhost", "postgres://u@localhost/db?sslmode=prefer"),
            ("127.0.0.1", "mysql://u@127.0.0.1/db?ssl-mode=REQUIRED"),
        ] {
            assert!(!default_tls_on_loopback(host, url), "{url}");
        }
    }
}
