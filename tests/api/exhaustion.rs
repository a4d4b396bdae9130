//! Exhaustion, per backend, bounded in time: a request's deadline stops its statement in the
//! database (nothing of it still runs after its 503), a flood of expensive searches is answered
//! with 200 or a quick 503 while reads by id stay fast, and no request answers 500.

use std::sync::Arc;
use std::time::{Duration, Instant};

use fhir_facade::sql::Dialect;

use crate::helpers::{Backend, MAPPING, TestApp, backends, settings, spawn_with};
use crate::servers;

/// A mapping whose Organization name takes the database a long time to compute (about a
/// minute); `marker` makes its statements recognizable in the process list.
fn slow_mapping(marker: u32) -> tempfile::TempPath {
    let slow = format!(
        r#"name = {{ expr = {{ postgres = "(SELECT CAST(COUNT(*) AS TEXT) FROM generate_series(1, {pg}))", mysql = "CASE WHEN SLEEP(60.{marker}) = 0 THEN DEPT_NM END", sqlite = "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {lite}) SELECT CAST(COUNT(*) AS TEXT) FROM c)" }} }}"#,
        pg = 2_000_000_000u64 + u64::from(marker),
        lite = 2_000_000_000u64 + u64::from(marker),
    );
    let original = std::fs::read_to_string(MAPPING).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        file.path(),
        original.replacen("name = \"DEPT_NM\"", &slow, 1),
    )
    .unwrap();
    file.into_temp_path()
}

/// Statements carrying `marker` that the database server is running now.
async fn running(b: &Backend, marker: u32) -> i64 {
    let (sql, needle) = match b.dialect {
        Dialect::Postgres => (
            "SELECT query FROM pg_stat_activity WHERE state = 'active' AND application_name = 'fhir-facade'",
            (2_000_000_000u64 + u64::from(marker)).to_string(),
        ),
        Dialect::Mysql => (
            "SELECT info FROM information_schema.processlist WHERE info IS NOT NULL",
            format!("SLEEP(60.{marker})"),
        ),
        Dialect::Sqlite => return 0,
    };
    let mut conn = fhir_facade::db::admin::Conn::open(&b.url).await.unwrap();
    let rows = conn.fetch_strings(sql).await.unwrap();
    conn.close().await.ok();
    rows.iter()
        .filter(|r| r.iter().flatten().any(|q| q.contains(&needle)))
        .count() as i64
}

async fn slow_app(
    b: &Backend,
    marker: u32,
    tune: impl FnOnce(&mut fhir_facade::config::Settings),
) -> (TestApp, tempfile::TempPath) {
    let mapping = slow_mapping(marker);
    let mut s = settings(&b.url, mapping.to_str().unwrap());
    s.db.statement_timeout = Duration::from_secs(60);
    s.db.budget.request_timeout = Duration::from_millis(800);
    tune(&mut s);
    (spawn_with(b, s).await, mapping)
}

#[tokio::test]
async fn at_its_deadline_a_request_is_503_and_its_statement_no_longer_runs() {
    for (n, b) in backends().iter().enumerate() {
        let marker = 101 + n as u32;
        // One connection: if the statement went on, the next read would wait for it.
        let (app, _m) = slow_app(b, marker, |s| {
            s.db.max_connections = 1;
            s.db.budget.reserved_for_reads = 0;
        })
        .await;
        for _ in 0..2 {
            let started = Instant::now();
            let (status, body) = app.get("Organization/1").await;
            let took = started.elapsed();
            assert_eq!(status, 503, "{}: {body}", b.dialect);
            assert_eq!(body["issue"][0]["code"], "timeout");
            assert!(took < Duration::from_secs(4), "{}: {took:?}", b.dialect);
            assert_eq!(
                running(b, marker).await,
                0,
                "{}: the statement still runs after its 503",
                b.dialect
            );
            let started = Instant::now();
            assert_eq!(app.get("Patient/1").await.0, 200, "{}", b.dialect);
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{}: the only connection was not free: {:?}",
                b.dialect,
                started.elapsed()
            );
        }
    }
}

#[tokio::test]
async fn a_client_that_goes_away_does_not_leave_its_statement_running() {
    for (n, b) in backends().iter().enumerate() {
        if b.dialect == Dialect::Sqlite {
            continue;
        }
        let marker = 201 + n as u32;
        let (app, _m) = slow_app(b, marker, |s| {
            s.db.budget.request_timeout = Duration::from_secs(60);
        })
        .await;
        let url = format!("{}/Organization/1", app.base);
        let client = app.client.clone();
        let gone = tokio::time::timeout(Duration::from_millis(700), client.get(&url).send()).await;
        assert!(
            gone.is_err(),
            "{}: answered before the client left",
            b.dialect
        );
        // The server notices the client left, stops the statement, and the database confirms.
        let deadline = Instant::now() + Duration::from_secs(6);
        while running(b, marker).await > 0 {
            assert!(
                Instant::now() < deadline,
                "{}: the statement of a client that left still runs",
                b.dialect
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

#[tokio::test]
async fn a_flood_of_expensive_searches_gets_200_or_quick_503s_while_reads_stay_fast() {
    for (n, b) in backends().iter().enumerate() {
        let marker = 301 + n as u32;
        let (app, _m) = slow_app(b, marker, |s| {
            s.db.max_connections = 4;
            s.db.budget.reserved_for_reads = 1;
            s.db.budget.queue_timeout = Duration::from_millis(300);
            s.db.budget.request_timeout = Duration::from_secs(3);
        })
        .await;
        let app = Arc::new(app);
        let flood: Vec<_> = (0..24)
            .map(|i| {
                let app = app.clone();
                tokio::spawn(async move {
                    // Mostly statements that keep the database busy; a few unselective chains
                    // (few: building a large page is CPU work on the server's own workers,
                    // slow in a debug build).
                    let path = if i % 6 == 5 {
                        "Observation?patient.birthdate=gt1800&_count=200"
                    } else {
                        "Organization?name=x&_count=1000"
                    };
                    let started = Instant::now();
                    let (status, body) = app.get(path).await;
                    (status, body, started.elapsed())
                })
            })
            .collect();
        let mut reads = Vec::new();
        for _ in 0..15 {
            let started = Instant::now();
            let (status, body) = app.get("Patient/1").await;
            assert_eq!(status, 200, "{}: read during the flood: {body}", b.dialect);
            reads.push(started.elapsed());
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
        let mut throttled = 0;
        for f in flood {
            let (status, body, took) = f.await.unwrap();
            assert!(
                status == 200 || status == 503,
                "{}: {status} {body}",
                b.dialect
            );
            if status == 503 {
                throttled += 1;
                let code = body["issue"][0]["code"].as_str().unwrap();
                assert!(code == "throttled" || code == "timeout", "{body}");
            }
            assert!(took < Duration::from_secs(8), "{}: {took:?}", b.dialect);
        }
        assert!(throttled > 0, "{}: nothing was refused", b.dialect);
        reads.sort();
        let slowest = *reads.last().unwrap();
        eprintln!(
            "{}: reads of Patient/1 during the flood: median {:?}, slowest {slowest:?}",
            b.dialect,
            reads[reads.len() / 2]
        );
        // The read budget keeps reads out of the queue: they never wait for a search's slot
        // (which would take the queue timeout, then 503). Generous for a loaded machine.
        assert!(
            slowest < Duration::from_millis(1500),
            "{}: {reads:?}",
            b.dialect
        );
        // Nothing of the flood still runs in the database once it is answered.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(running(b, marker).await, 0, "{}", b.dialect);
    }
    if !servers::in_ci() && backends().len() == 1 {
        eprintln!("NOTICE: the flood ran on SQLite only");
    }
}
