//! Seeds PostgreSQL and MySQL/MariaDB (each into a fresh schema / database of its own) and
//! compares every table with a SQLite seed of the same size.
//!
//! Servers: `SEED_TEST_PG_URL` (default `postgres://postgres@127.0.0.1:5432/test`) and
//! `SEED_TEST_MYSQL_URL` (default `mysql://root@127.0.0.1:3306/test`). When a server is
//! unreachable the test prints a notice and passes, unless `CI=true`, where it fails.

#[path = "seed_common.rs"]
mod common;

use common::{dump_all, unique_suffix};
use fhir_facade::db::admin::Conn;
use fhir_facade::seed::{SeedError, SeedOptions, seed_database};

const PATIENTS: u32 = 20;

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

async fn connect_or_skip(url: &str, what: &str) -> Option<Conn> {
    match Conn::open(url).await {
        Ok(c) => Some(c),
        Err(e) if !in_ci() => {
            eprintln!("NOTICE: skipping {what} seed test, server unreachable at {url}: {e}");
            None
        }
        Err(e) => panic!("{what} unreachable at {url} (CI=true): {e}"),
    }
}

async fn sqlite_reference() -> Vec<(&'static str, common::Dump)> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ref.db").display());
    seed_database(
        &url,
        &SeedOptions {
            patients: PATIENTS,
            ..SeedOptions::default()
        },
    )
    .await
    .unwrap();
    let mut conn = Conn::open(&url).await.unwrap();
    let dump = dump_all(&mut conn).await.unwrap();
    conn.close().await.unwrap();
    dump
}

fn assert_same(
    backend: &str,
    got: &[(&'static str, common::Dump)],
    want: &[(&'static str, common::Dump)],
) {
    for ((name, g), (_, w)) in got.iter().zip(want) {
        assert_eq!(g.len(), w.len(), "{backend} {name}: row count");
        for (gr, wr) in g.iter().zip(w) {
            assert_eq!(gr, wr, "{backend} {name}: row differs from SQLite");
        }
    }
}

async fn seed_and_compare(backend: &str, url: &str) -> Result<(), SeedError> {
    let report = seed_database(
        url,
        &SeedOptions {
            patients: PATIENTS,
            ..SeedOptions::default()
        },
    )
    .await?;
    assert_eq!(report.count("PATIENT"), u64::from(PATIENTS));
    let err = seed_database(
        url,
        &SeedOptions {
            patients: 1,
            ..SeedOptions::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, SeedError::NotEmpty(_)), "{backend}: {err}");
    let mut conn = Conn::open(url).await?;
    let got = dump_all(&mut conn).await?;
    conn.close().await?;
    assert_same(backend, &got, &sqlite_reference().await);
    Ok(())
}

#[tokio::test]
async fn postgres_matches_sqlite() {
    let base = std::env::var("SEED_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let Some(mut admin) = connect_or_skip(&base, "PostgreSQL").await else {
        return;
    };
    let schema = format!("seedtest_{}", unique_suffix());
    admin
        .exec(&format!("CREATE SCHEMA {schema}"))
        .await
        .unwrap();
    let sep = if base.contains('?') { '&' } else { '?' };
    let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
    let result = seed_and_compare("PostgreSQL", &url).await;
    // Names are unquoted, so folded to lower case, and the declared types are real dates.
    let types = admin
        .fetch_strings(&format!(
            "SELECT CAST(data_type AS TEXT) FROM information_schema.columns WHERE table_schema = '{schema}' \
             AND table_name = 'visit' AND column_name IN ('admit_ts') "
        ))
        .await;
    admin
        .exec(&format!("DROP SCHEMA {schema} CASCADE"))
        .await
        .unwrap();
    admin.close().await.unwrap();
    result.unwrap();
    assert_eq!(
        types.unwrap(),
        vec![vec![Some("timestamp without time zone".to_owned())]]
    );
}

#[tokio::test]
async fn mysql_matches_sqlite() {
    let base = std::env::var("SEED_TEST_MYSQL_URL")
        .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".into());
    let Some(mut admin) = connect_or_skip(&base, "MySQL/MariaDB").await else {
        return;
    };
    let db = format!("test_seed_{}", unique_suffix());
    admin.exec(&format!("CREATE DATABASE {db}")).await.unwrap();
    let root = base.rsplit_once('/').map_or(base.as_str(), |(r, _)| r);
    // The mariadb: scheme is accepted and rewritten to mysql:.
    let url = format!("{}/{db}", root.replacen("mysql:", "mariadb:", 1));
    let result = seed_and_compare("MySQL", &url).await;
    admin.exec(&format!("DROP DATABASE {db}")).await.unwrap();
    admin.close().await.unwrap();
    result.unwrap();
}
