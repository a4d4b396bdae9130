//! Database servers for integration tests: PostgreSQL and MySQL/MariaDB on this machine.
//!
//! URLs come from `FHIR_FACADE_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`)
//! and `FHIR_FACADE_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`). A server
//! that cannot be reached is skipped with a printed notice, except under `CI=true`, where
//! that is a failure.

#![allow(dead_code)] // each test binary uses only part of this module

use fhir_facade::db::admin::Conn;
use fhir_facade::sql::Dialect;

/// Whether this is a CI run (every backend must be reachable).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// The admin URL of a server backend.
pub fn admin_url(dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres => std::env::var("FHIR_FACADE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into()),
        Dialect::Mysql => std::env::var("FHIR_FACADE_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into()),
        Dialect::Sqlite => unreachable!("SQLite needs no server"),
    }
}

/// `url` with its database name replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let cut = base.rfind('/').expect("URL has a database");
    format!("{}/{db}{query}", &base[..cut])
}

/// `name` suffixed with a short hash of this checkout's path, so test runs of several
/// checkouts (git worktrees) on one machine do not drop each other's databases.
fn checkout_scoped(name: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    env!("CARGO_MANIFEST_DIR").hash(&mut h);
    format!("{name}_{:08x}", h.finish() as u32)
}

/// Creates (or re-creates) an empty database `name` on the server of `dialect` and returns
/// its URL; `None` (after a notice) when the server is unreachable outside CI.
pub async fn fresh_database(dialect: Dialect, name: &str) -> Option<String> {
    let name = &checkout_scoped(name);
    let admin = admin_url(dialect);
    let mut conn = match Conn::open(&admin).await {
        Ok(c) => c,
        Err(e) if !in_ci() => {
            eprintln!("NOTICE: skipping {dialect} tests: server unreachable at {admin}: {e}");
            return None;
        }
        Err(e) => panic!("{dialect} unreachable at {admin} (CI=true requires it): {e}"),
    };
    let statements = match dialect {
        Dialect::Postgres => vec![
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ],
        _ => vec![
            format!("DROP DATABASE IF EXISTS {name}"),
            format!("CREATE DATABASE {name}"),
        ],
    };
    for s in statements {
        conn.exec(&s).await.expect("create the test database");
    }
    conn.close().await.ok();
    Some(with_database(&admin, name))
}

/// Runs `sql` on the database at `url` (test set-up only).
pub async fn exec(url: &str, sql: &str) {
    let mut conn = Conn::open(url).await.expect("connect");
    conn.exec(sql).await.expect("set-up statement");
    conn.close().await.ok();
}
