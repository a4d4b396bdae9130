//! Warm connections: connections taken from the pool once, kept with the server's number for
//! them (the PostgreSQL backend pid, the MySQL connection id: what stops a statement), and
//! handed to the next statement without a round trip.
//!
//! sqlx does not say which server process a connection talks to, so asking costs a round trip
//! (`SELECT pg_backend_pid()`); done at every pool checkout, with the pool's liveness ping, it
//! tripled the round trips of every statement. A connection is asked once, when first taken
//! from the pool; afterwards it stays here between statements. A kept connection that turns
//! out to be broken (the server restarted) is dropped and its statement retried once on a new
//! one (statements are read-only).
//!
//! Kept connections count as in use for the pool, so a task that must wait for the pool is
//! counted (`waiting`), and a connection coming back while one waits goes back to the pool
//! instead of being kept: nobody waits for the pool while a connection sits here.

use std::sync::Mutex;

use futures_util::future::BoxFuture;
use sea_query_sqlx::SqlxValues;
use sqlx::pool::PoolConnection;
use sqlx::{Executor, IntoArguments, Pool};

use super::common::{self, Cancel, Classify};
use super::{DbError, Run};
use crate::sql::{DbColumn, Row, Statement};

/// Asks a fresh connection for the server's number of it.
pub(super) type AskId<DB> = for<'c> fn(
    &'c mut <DB as sqlx::Database>::Connection,
) -> BoxFuture<'c, Result<u64, sqlx::Error>>;

/// A connection and the server's number for it.
struct Known<DB: sqlx::Database> {
    conn: PoolConnection<DB>,
    id: u64,
}

struct State<DB: sqlx::Database> {
    /// Connections between statements (the last one back is used first).
    kept: Vec<Known<DB>>,
    /// Tasks waiting for the pool itself.
    waiting: usize,
}

/// A pool whose connections stay checked out, with their ids, between statements.
pub(super) struct Warm<DB: sqlx::Database> {
    pool: Pool<DB>,
    ask_id: AskId<DB>,
    state: Mutex<State<DB>>,
}

/// Counts a task waiting for the pool for as long as it waits (also when it is dropped).
struct Waiting<'a, DB: sqlx::Database>(&'a Warm<DB>);

impl<DB: sqlx::Database> Drop for Waiting<'_, DB> {
    fn drop(&mut self) {
        self.0.lock().waiting -= 1;
    }
}

impl<DB: sqlx::Database> Warm<DB> {
    /// Connections open, kept ones included.
    pub(super) fn size(&self) -> u32 {
        self.pool.size()
    }

    /// Idle connections: the pool's, and those kept between statements.
    pub(super) fn num_idle(&self) -> usize {
        self.pool.num_idle() + self.lock().kept.len()
    }

    /// Closes the kept connections and the pool.
    pub(super) async fn close(&self) {
        let kept = std::mem::take(&mut self.lock().kept);
        drop(kept);
        self.pool.close().await
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<DB>> {
        // A panic while the lock is held leaves the state consistent (push, pop, counter).
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl<DB> Warm<DB>
where
    DB: sqlx::Database,
    SqlxValues: IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    /// Keeps the connections of `pool`, asking each for its id with `ask_id`.
    pub(super) fn new(pool: Pool<DB>, ask_id: AskId<DB>) -> Warm<DB> {
        Warm {
            pool,
            ask_id,
            state: Mutex::new(State {
                kept: Vec::new(),
                waiting: 0,
            }),
        }
    }

    /// A kept connection (`true`), else one from the pool, asked for its id.
    async fn checkout(&self) -> Result<(Known<DB>, bool), DbError> {
        {
            let mut state = self.lock();
            if let Some(k) = state.kept.pop() {
                return Ok((k, true));
            }
            state.waiting += 1;
        }
        let waiting = Waiting(self);
        let mut conn = self.pool.acquire().await.map_err(DbError::from_sqlx)?;
        drop(waiting);
        let id = (self.ask_id)(&mut conn).await.map_err(DbError::from_sqlx)?;
        Ok((Known { conn, id }, false))
    }

    /// Keeps `k` for the next statement, or gives it back to the pool when a task waits there.
    fn give_back(&self, k: Known<DB>) {
        let mut state = self.lock();
        if state.waiting == 0 {
            state.kept.push(k);
            return;
        }
        drop(state);
        drop(k);
    }

    /// Runs `stmt` (see [`common::fetch_on`]) on a warm connection; `cancel` makes what stops
    /// a statement of the connection with the given id.
    pub(super) async fn fetch(
        &self,
        stmt: &Statement,
        run: &Run,
        cancel: impl Fn(u64) -> Cancel,
        decode: common::Decode<DB>,
    ) -> Result<Vec<Row>, DbError> {
        let mut retried = false;
        loop {
            let (known, reused) = self.checkout().await?;
            let id = known.id;
            let (out, conn) = common::fetch_on(known.conn, stmt, run, cancel(id), decode).await;
            let broken = matches!(out, Err(DbError::Unavailable(_)));
            if broken && reused && !retried {
                // A kept connection broke while unused: once more on a new one.
                retried = true;
                continue;
            }
            if let Some(conn) = conn
                && !broken
            {
                self.give_back(Known { conn, id });
            }
            return out;
        }
    }

    /// The columns `select` would return, without running it (on a warm connection, so that
    /// it never waits for a pool whose connections are kept here).
    pub(super) async fn describe(
        &self,
        select: &str,
        classify: Classify,
    ) -> Result<Vec<DbColumn>, DbError> {
        let (mut known, _) = self.checkout().await?;
        let out = common::describe(&mut *known.conn, select, classify).await;
        if !matches!(out, Err(DbError::Unavailable(_))) {
            self.give_back(known);
        }
        out
    }
}
