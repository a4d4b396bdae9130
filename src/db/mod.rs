//! Execution: connection pools per backend, statement execution, row decoding, introspection.
//!
//! One [`Backend`] implementation per database family, chosen at start-up from the URL's
//! scheme; each decodes its rows into the neutral [`Value`](crate::sql::Value). Connections
//! are read-only; [`admin`] holds the one read-write connection, for set-up work only (the
//! sample database, test fixtures).

pub mod admin;
pub mod budget;
mod common;
pub mod introspect;
pub mod mysql;
pub mod postgres;
pub mod sqlite;
mod warm;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;

pub use budget::{BudgetSettings, Cost};

use crate::sql::column::{declared_char_len, declared_scale};
use crate::sql::{Accents, DbColumn, Dialect, Row, SqlType, Statement};
use budget::{Budget, RequestBudget};

/// Why a statement failed.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database cannot be reached (connection refused, pool exhausted, network error).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The statement ran longer than the statement timeout (or past its request's deadline).
    #[error("statement timed out after {0:?}")]
    Timeout(Duration),
    /// Every slot of the database budget stayed in use while the request waited.
    #[error("every database slot is in use")]
    Busy,
    /// The database refused the statement as too large or too deeply nested for it.
    #[error("statement too complex: {0}")]
    TooComplex(String),
    /// The database rejected or failed the statement.
    #[error("query failed: {0}")]
    Query(String),
    /// The database URL or options are wrong.
    #[error("invalid database configuration: {0}")]
    Config(String),
}

impl DbError {
    /// Classifies an sqlx error.
    pub fn from_sqlx(e: sqlx::Error) -> DbError {
        match e {
            // A broken connection shows as I/O, TLS or protocol errors (garbage or EOF where the
            // server's answer was expected).
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => DbError::Unavailable(e.to_string()),
            sqlx::Error::Configuration(_) => DbError::Config(e.to_string()),
            sqlx::Error::Database(ref d) if is_unavailable_code(d.code().as_deref()) => {
                DbError::Unavailable(e.to_string())
            }
            sqlx::Error::Database(ref d) if is_timeout(d.as_ref()) => {
                DbError::Timeout(Duration::ZERO)
            }
            sqlx::Error::Database(ref d) if is_too_complex(d.as_ref()) => {
                DbError::TooComplex(e.to_string())
            }
            other => DbError::Query(other.to_string()),
        }
    }
}

/// SQLSTATE / vendor codes meaning "the server is going away or not ready".
fn is_unavailable_code(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("57P01" | "57P02" | "57P03" | "08000" | "08003" | "08006" | "08001" | "08004")
    )
}

/// Whether the database cancelled the statement for running too long (PostgreSQL
/// query_canceled, MariaDB max_statement_time, MySQL max_execution_time, a query killed,
/// SQLite interrupted by the deadline's progress handler).
fn is_timeout(e: &dyn sqlx::error::DatabaseError) -> bool {
    if matches!(e.code().as_deref(), Some("57014" | "70100")) {
        return true;
    }
    if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        return e.code().as_deref() == Some("9"); // SQLITE_INTERRUPT
    }
    e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|m| matches!(m.number(), 1317 | 1969 | 3024))
}

/// Whether the database refused a statement as too large or too deeply nested (PostgreSQL
/// program limits, SQLite's expression depth and term counts, MySQL/MariaDB's stack, nesting
/// and placeholder limits): the request asked too much, not a fault of the server.
fn is_too_complex(e: &dyn sqlx::error::DatabaseError) -> bool {
    if e.code().as_deref().is_some_and(|c| c.starts_with("54")) {
        return true;
    }
    if e.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
        let m = e.message();
        return ["too large", "too many", "too big", "stack overflow"]
            .iter()
            .any(|t| m.contains(t));
    }
    e.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|m| matches!(m.number(), 1104 | 1116 | 1117 | 1390 | 1436 | 1473))
}

/// What one statement may use: when it must have ended, and what stays held while a
/// statement that outlived it is being stopped (the request's slot).
#[derive(Clone)]
pub struct Run {
    /// How long the statement may run once it is sent.
    timeout: Duration,
    /// The request's deadline for all its statements (`None`: the server's own statements).
    request_deadline: Option<Instant>,
    /// The request's use of the budget, kept as long as its statement runs.
    _hold: Option<Arc<RequestBudget>>,
}

impl Run {
    /// When a statement sent now must have ended: the statement timeout from now (waiting for
    /// a connection does not count), within the request's deadline. Backends ask once, when
    /// the statement is about to be sent.
    pub fn deadline(&self) -> Instant {
        let statement = Instant::now() + self.timeout;
        self.request_deadline
            .map_or(statement, |r| statement.min(r))
    }
}

/// Connection settings.
#[derive(Debug, Clone)]
pub struct DbSettings {
    /// Database URL (`sqlite:`, `postgres:`, `mysql:`).
    pub url: String,
    /// URLs of read replicas (same schema and data), sharing the requests.
    pub replicas: Vec<String>,
    /// Maximum pool size.
    pub max_connections: u32,
    /// How long to wait for a connection.
    pub connect_timeout: Duration,
    /// How long one statement may run.
    pub statement_timeout: Duration,
    /// How many requests may use the database at once, and for how long.
    pub budget: BudgetSettings,
}

/// A database family's executor. Implementations decode rows into [`Value`](crate::sql::Value)s.
pub trait Backend: Send + Sync {
    /// The SQL dialect.
    fn dialect(&self) -> Dialect;
    /// Runs a query and decodes every row. A statement still running at `run.deadline()` is
    /// stopped in the database, and its connection is back in the pool only once the database
    /// has confirmed it.
    fn fetch<'a>(
        &'a self,
        stmt: &'a Statement,
        run: &'a Run,
    ) -> BoxFuture<'a, Result<Vec<Row>, DbError>>;
    /// The columns a SELECT would return, without running it.
    fn describe<'a>(&'a self, select: &'a str) -> BoxFuture<'a, Result<Vec<DbColumn>, DbError>>;
    /// What a column of the declared type text `declared` holds, for databases whose
    /// descriptions of queries do not say (SQLite); `Unknown` elsewhere.
    fn declared_sql_type(&self, _declared: &str) -> SqlType {
        SqlType::Unknown
    }
    /// The connections of its pool.
    fn pool_stats(&self) -> PoolStats;
    /// Closes its pool (waits for the connections in use to be given back).
    fn close(&self) -> BoxFuture<'_, ()>;
    /// Column name → declared type text of a table, for databases whose values do not carry
    /// the declared precision (SQLite). Others answer nothing.
    fn declared_types<'a>(
        &'a self,
        _table: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, String)>, DbError>> {
        Box::pin(async { Ok(Vec::new()) })
    }
}

/// How long a copy that failed is left out of the rotation.
const REST_MS: u64 = 5_000;

/// Counts the statements one request runs (for logs, metrics and tests) and, when asked to
/// (the admin console), records each with its parameters and timing.
#[derive(Debug, Default)]
pub struct QueryCounter {
    count: AtomicUsize,
    /// `Some` when recording (off unless asked for: it copies every statement).
    log: Option<std::sync::Mutex<Vec<Recorded>>>,
}

/// One statement a request ran, as recorded by [`QueryCounter::recording`].
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The statement, with its bound parameters.
    pub statement: Statement,
    /// How long it took, from being sent (after its slot of the budget) to its last row.
    pub elapsed: Duration,
    /// Rows returned, or why it failed.
    pub outcome: Result<usize, String>,
    /// Which copy of the database ran it (0: the primary, then the replicas in order).
    pub copy: usize,
}

impl QueryCounter {
    /// A counter that also records every statement.
    pub fn recording() -> QueryCounter {
        QueryCounter {
            count: AtomicUsize::new(0),
            log: Some(std::sync::Mutex::default()),
        }
    }

    /// Statements run so far.
    pub fn get(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// The statements recorded so far (none unless made by [`QueryCounter::recording`]).
    pub fn recorded(&self) -> Vec<Recorded> {
        self.log
            .as_ref()
            .map(|l| l.lock().unwrap_or_else(|e| e.into_inner()).clone())
            .unwrap_or_default()
    }

    fn record(&self, r: impl FnOnce() -> Recorded) {
        if let Some(log) = &self.log {
            log.lock().unwrap_or_else(|e| e.into_inner()).push(r());
        }
    }
}

/// The connections of one copy's pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PoolStats {
    /// Connections open (in use or idle).
    pub size: u32,
    /// Connections open and idle.
    pub idle: usize,
}

/// The state of one copy of the database, as [`Database::copies`] tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyState {
    /// 0: the primary; then the replicas, in the order configured.
    pub copy: usize,
    /// Its pool.
    pub pool: PoolStats,
    /// Whether it is being skipped after a failure.
    pub resting: bool,
}

/// The database as the rest of the server sees it: one or more interchangeable copies (a
/// primary and read replicas) of the same schema.
///
/// [`Database::for_request`] picks a copy round-robin, so a request's statements all see the
/// same copy; a copy that is unreachable is skipped for the next one.
#[derive(Clone)]
pub struct Database {
    /// Copies, in the order they are tried.
    backends: Arc<[Arc<dyn Backend>]>,
    /// Where the next request starts.
    next: Arc<AtomicUsize>,
    /// Per copy: until when (ms since `epoch`) it is considered down after failing.
    down_until: Arc<[AtomicU64]>,
    epoch: Instant,
    /// Index of the copy this handle tries first.
    first: usize,
    statement_timeout: Duration,
    /// Counts the statements run through this handle (per request).
    counter: Arc<QueryCounter>,
    /// The slots requests take.
    budget: Arc<Budget>,
    /// This request's use of the budget (`None`: the server's own statements, at start-up).
    request: Option<Arc<RequestBudget>>,
}

impl Database {
    /// Opens read-only pools for `settings.url` (connected now) and every replica (connected
    /// when first used, so a replica that is down does not stop the server).
    pub async fn connect(settings: &DbSettings) -> Result<Database, DbError> {
        let dialect = dialect_of(&settings.url)?;
        let mut backends: Vec<Arc<dyn Backend>> = Vec::new();
        for (i, url) in std::iter::once(&settings.url)
            .chain(&settings.replicas)
            .enumerate()
        {
            if dialect_of(url)? != dialect {
                return Err(DbError::Config(format!(
                    "every database URL must be of the same kind; {} is not {dialect}",
                    redact(url)
                )));
            }
            let lazy = i > 0;
            let backend: Arc<dyn Backend> = match dialect {
                Dialect::Sqlite => {
                    Arc::new(sqlite::SqliteBackend::connect(settings, url, lazy).await?)
                }
                Dialect::Postgres => {
                    Arc::new(postgres::PostgresBackend::connect(settings, url, lazy).await?)
                }
                Dialect::Mysql => {
                    Arc::new(mysql::MysqlBackend::connect(settings, url, lazy).await?)
                }
            };
            backends.push(backend);
        }
        Ok(Database {
            down_until: backends.iter().map(|_| AtomicU64::new(0)).collect(),
            backends: backends.into(),
            next: Arc::new(AtomicUsize::new(0)),
            epoch: Instant::now(),
            first: 0,
            statement_timeout: settings.statement_timeout,
            counter: Arc::default(),
            budget: Arc::new(Budget::new(settings.max_connections, settings.budget)),
            request: None,
        })
    }

    /// The SQL dialect.
    pub fn dialect(&self) -> Dialect {
        self.backends[0].dialect()
    }

    /// A handle for one request of `cost`: it uses the next copy in turn (and the others only
    /// when that one is unreachable), counts its statements in `counter`, takes a slot of the
    /// budget before its first statement and keeps it to its end, and stops at the request's
    /// deadline.
    pub fn for_request(&self, counter: Arc<QueryCounter>, cost: Cost) -> Database {
        let n = self.backends.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let now = self.now_ms();
        // The next copy in turn that is not resting after a failure (else the one in turn).
        let first = (0..n)
            .map(|k| (start + k) % n)
            .find(|&i| self.down_until[i].load(Ordering::Relaxed) <= now)
            .unwrap_or(start);
        Database {
            first,
            counter,
            request: Some(Arc::new(RequestBudget::new(self.budget.clone(), cost))),
            ..self.clone()
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Runs `stmt` within the statement timeout and the request's deadline, counting it.
    ///
    /// With trace export on, in a span of its own (the statement text, never its values)
    /// under the request's; the server's own statements (start-up checks, export jobs outside
    /// a request) are not traced.
    pub async fn fetch(&self, stmt: &Statement) -> Result<Vec<Row>, DbError> {
        use crate::telemetry::otel;
        if !otel::enabled() || tracing::Span::current().is_none() {
            return self.fetch_counted(stmt).await;
        }
        let span = tracing::info_span!(
            target: otel::SQL_TARGET,
            "sql",
            otel.name = otel::operation(&stmt.sql),
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
            db.system = otel::db_system(self.dialect()),
            db.statement = %stmt.sql,
        );
        let result = tracing::Instrument::instrument(self.fetch_counted(stmt), span.clone()).await;
        if result.is_err() {
            span.record("otel.status_code", "error");
        }
        result
    }

    async fn fetch_counted(&self, stmt: &Statement) -> Result<Vec<Row>, DbError> {
        let run = self.admit().await?;
        self.counter.count.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(sql = %stmt.sql, params = stmt.params.len(), "sql");
        let n = self.backends.len();
        let mut last = None;
        for k in 0..n {
            let i = (self.first + k) % n;
            let start = Instant::now();
            let result = self.fetch_on(self.backends[i].as_ref(), stmt, &run).await;
            let elapsed = start.elapsed();
            if crate::telemetry::metrics::enabled() {
                metrics::histogram!(crate::telemetry::metrics::SQL_DURATION)
                    .record(elapsed.as_secs_f64());
            }
            self.counter.record(|| Recorded {
                statement: stmt.clone(),
                elapsed,
                outcome: match &result {
                    Ok(rows) => Ok(rows.len()),
                    Err(e) => Err(e.to_string()),
                },
                copy: i,
            });
            match result {
                Err(DbError::Unavailable(e)) => {
                    if n > 1 {
                        tracing::warn!(error = %e, copy = i, "database copy unavailable; trying the next");
                        self.down_until[i].store(self.now_ms() + REST_MS, Ordering::Relaxed);
                    }
                    last = Some(DbError::Unavailable(e));
                }
                other => return other,
            }
        }
        Err(last.unwrap_or_else(|| DbError::Unavailable("no database".into())))
    }

    /// The request's slot (taken now if it has none yet), and what its next statement may use:
    /// the statement timeout, within what is left of the request's time.
    async fn admit(&self) -> Result<Run, DbError> {
        let mut request_deadline = None;
        if let Some(r) = &self.request {
            r.admit().await?;
            if Instant::now() >= r.deadline() {
                return Err(DbError::Timeout(self.budget.settings().request_timeout));
            }
            request_deadline = Some(r.deadline());
        }
        Ok(Run {
            timeout: self.statement_timeout,
            request_deadline,
            _hold: self.request.clone(),
        })
    }

    async fn fetch_on(
        &self,
        backend: &dyn Backend,
        stmt: &Statement,
        run: &Run,
    ) -> Result<Vec<Row>, DbError> {
        // The backend stops the statement at its deadline; this bound also covers waiting for
        // a connection (bounded by the pool's own timeout) and a network that stopped
        // answering.
        let limit = run.deadline() + Duration::from_secs(10);
        let limit = tokio::time::Instant::from_std(limit);
        match tokio::time::timeout_at(limit, backend.fetch(stmt, run)).await {
            Ok(Err(DbError::Timeout(_))) | Err(_) => Err(DbError::Timeout(self.statement_timeout)),
            Ok(result) => result,
        }
    }

    /// Each copy's pool and whether it is resting after a failure (for metrics).
    pub fn copies(&self) -> Vec<CopyState> {
        let now = self.now_ms();
        self.backends
            .iter()
            .enumerate()
            .map(|(copy, b)| CopyState {
                copy,
                pool: b.pool_stats(),
                resting: self.down_until[copy].load(Ordering::Relaxed) > now,
            })
            .collect()
    }

    /// Requests waiting for a slot of the budget.
    pub fn waiting(&self) -> usize {
        self.budget.waiting()
    }

    /// Asks every copy `SELECT 1`, at most `timeout` each (all at once): per copy, `Ok` or why
    /// it did not answer. A copy that answers is taken back into the rotation.
    pub async fn ping(&self, timeout: Duration) -> Vec<Result<(), String>> {
        let probe = Statement {
            sql: "SELECT 1".into(),
            params: Vec::new(),
            parts: None,
        };
        let run = Run {
            timeout,
            request_deadline: None,
            _hold: None,
        };
        let pings = self.backends.iter().enumerate().map(|(i, b)| {
            let (probe, run) = (&probe, &run);
            async move {
                let limit = tokio::time::Instant::now() + timeout;
                let answer = match tokio::time::timeout_at(limit, b.fetch(probe, run)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err(format!("no answer within {timeout:?}")),
                };
                if answer.is_ok() {
                    self.down_until[i].store(0, Ordering::Relaxed);
                }
                answer
            }
        });
        futures_util::future::join_all(pings).await
    }

    /// Closes every pool: waits for the connections in use to be given back, then closes
    /// them all (at shutdown).
    pub async fn close(&self) {
        futures_util::future::join_all(self.backends.iter().map(|b| b.close())).await;
    }

    /// The columns a SELECT returns (asked of the primary). The database prepares the
    /// statement without running it.
    pub async fn describe(&self, select: &str) -> Result<Vec<DbColumn>, DbError> {
        // A statement described is prepared with the parameter types the database infers
        // (an integer next to an integer column), and the driver may keep it for statements of
        // the same text, which then bind their values as they type them (a decimal): the
        // database would read those values in the wrong format. The mark keeps the texts apart.
        let marked = format!("{select} /* described */");
        self.backends[0].describe(&marked).await
    }

    /// The columns of a table (written as in SQL), with declared decimal scales.
    pub async fn describe_table(&self, table: &str) -> Result<Vec<DbColumn>, DbError> {
        let mut cols = self.describe(&format!("SELECT * FROM {table}")).await?;
        for (name, ty) in self.backends[0]
            .declared_types(table)
            .await
            .unwrap_or_default()
        {
            if let Some(c) = cols.iter_mut().find(|c| c.name == name) {
                c.scale = declared_scale(&ty);
                c.char_len = declared_char_len(&ty);
                let declared = self.backends[0].declared_sql_type(&ty);
                if declared != SqlType::Unknown {
                    c.sql_type = declared;
                }
            }
        }
        Ok(cols)
    }
}

/// An IMMUTABLE wrapper of PostgreSQL's `unaccent` that a DBA may create, so that expression
/// indexes serve accent-insensitive string searches (see docs/mapping.md §12). Used in
/// preference to `unaccent` when it exists.
pub const UNACCENT_WRAPPER: &str = "fhir_facade_unaccent";

impl Database {
    /// How string searches can treat accents here: whether a function that removes them
    /// ([`Dialect::unaccent_candidates`]: PostgreSQL's `unaccent` or its wrapper
    /// [`UNACCENT_WRAPPER`]) can be called; else as stored (the collation decides on
    /// MySQL/MariaDB). Said once in the log.
    pub async fn probe_accents(&self) -> Accents {
        let candidates = self.dialect().unaccent_candidates(UNACCENT_WRAPPER);
        if candidates.is_empty() {
            return Accents::AsStored;
        }
        for function in candidates {
            let probe = Statement {
                sql: format!("SELECT {function}('\u{c9}t\u{e9}')"),
                params: Vec::new(),
                parts: None,
            };
            let answer = self.fetch(&probe).await.ok();
            let first = answer.as_ref().and_then(|rows| rows.first()?.first());
            if first == Some(&crate::sql::Value::Text("Ete".into())) {
                tracing::info!(function, "string searches ignore accents");
                return Accents::Unaccent(function.to_string());
            }
        }
        tracing::info!(
            "the PostgreSQL extension unaccent is not available in this database, so string \
             searches match accents exactly (CREATE EXTENSION unaccent makes them ignore accents)"
        );
        Accents::AsStored
    }
}

fn dialect_of(url: &str) -> Result<Dialect, DbError> {
    Dialect::from_url(url).ok_or_else(|| {
        DbError::Config(format!(
            "unsupported database URL scheme in '{}': use sqlite:, postgres: or mysql:",
            redact(url)
        ))
    })
}

/// The URL with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(redact("sqlite:x.db"), "sqlite:x.db");
    }
}
