//! Load benchmark: the façade side by side with a minimal hand-written actix-web + sqlx server
//! running the same SQL ([`reference`]), against PostgreSQL, in the same run.
//!
//! `cargo bench --bench load` (see docs/benchmarks.md for the settings). Seeds a PostgreSQL
//! database once (kept for later runs), starts both servers in this process on 127.0.0.1 (each
//! with its own worker threads and a pool of `BENCH_CONNECTIONS` connections), then for each
//! request kind drives one server and then the other with the same requests, `BENCH_RUNS`
//! times, and prints the medians: requests a second, p50/p99 latency, the ratio façade /
//! reference, the statements (transactions) each request cost PostgreSQL and its CPU time per
//! request (from /proc, for the backends of the benchmark's database only).

mod driver;
mod reference;

use std::sync::Arc;
use std::time::Duration;

use fhir_facade::config::Settings;
use fhir_facade::db::Database;
use fhir_facade::sql::Caps;
use fhir_facade::startup::Application;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| default.to_string())
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Creates the database of `url` if missing and seeds it if empty.
async fn prepare(url: &str, patients: u32) {
    let (server, name) = url.rsplit_once('/').expect("URL with a database name");
    let mut admin = PgConnection::connect(&format!("{server}/postgres"))
        .await
        .expect("PostgreSQL reachable");
    let exists: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut admin)
        .await
        .expect("asks");
    if exists.is_none() {
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("creates the database");
    }
    let mut conn = PgConnection::connect(url).await.expect("connects");
    let seeded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM PATIENT")
        .fetch_one(&mut conn)
        .await
        .unwrap_or(0);
    if seeded == 0 {
        let started = std::time::Instant::now();
        fhir_facade::seed::seed_database(
            url,
            &fhir_facade::seed::SeedOptions {
                patients,
                ..Default::default()
            },
        )
        .await
        .expect("seeds");
        eprintln!("seeded {patients} patients in {:?}", started.elapsed());
        sqlx::query("ANALYZE")
            .execute(&mut conn)
            .await
            .expect("analyzes");
    } else {
        eprintln!("using the {seeded} patients already in {url}");
    }
}

fn settings(url: &str, connections: u32) -> Settings {
    let mut s = Settings::new(url, concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml"));
    s.db.max_connections = connections;
    s.db.statement_timeout = Duration::from_secs(30);
    s.listen = "127.0.0.1:0".into();
    s.cursor_secret = Some("bench".into());
    s
}

/// Statements committed and CPU time (in clock ticks) of the backends of database `name`.
async fn database_work(conn: &mut PgConnection, name: &str) -> (i64, u64) {
    // Statistics are flushed by the backends about once a second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = sqlx::query("SELECT pg_stat_clear_snapshot()")
        .execute(&mut *conn)
        .await;
    let xacts: i64 = sqlx::query_scalar(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = $1",
    )
    .bind(name)
    .fetch_one(&mut *conn)
    .await
    .expect("statistics");
    (xacts, backend_ticks(name))
}

/// CPU ticks (user + system) of the PostgreSQL backends serving database `name` (their
/// command line is `postgres: USER DATABASE HOST(PORT) STATE`).
fn backend_ticks(name: &str) -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut ticks = 0;
    for entry in dir.flatten() {
        let path = entry.path();
        let Ok(cmd) = std::fs::read(path.join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd);
        // (`postgres: CLUSTER: USER DATABASE …` where the cluster is named.)
        if !cmd.starts_with("postgres: ") || !cmd.split_whitespace().take(4).any(|w| w == name) {
            continue;
        }
        let Ok(stat) = std::fs::read_to_string(path.join("stat")) else {
            continue;
        };
        // Fields after the command (which is in parentheses): utime is the 14th field overall.
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let (u, s) = (f.get(11), f.get(12));
        ticks += u.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
            + s.and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    }
    ticks
}

#[derive(Default)]
struct Side {
    measured: Vec<driver::Measured>,
    /// Statements per request, per run.
    statements: Vec<f64>,
    /// Database CPU µs per request, per run.
    db_cpu_us: Vec<f64>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

impl Side {
    fn rps(&self) -> f64 {
        median(self.measured.iter().map(|m| m.rps).collect())
    }
    fn ms(&self, f: fn(&driver::Measured) -> Duration) -> f64 {
        median(
            self.measured
                .iter()
                .map(|m| f(m).as_secs_f64() * 1e3)
                .collect(),
        )
    }
}

#[tokio::main]
async fn main() {
    let url = env_or(
        "BENCH_DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/fhir_bench",
    );
    let patients = env_num("BENCH_PATIENTS", 5_000) as u32;
    let connections = env_num("BENCH_CONNECTIONS", 16) as usize;
    let seconds = env_num("BENCH_SECONDS", 5);
    let runs = env_num("BENCH_RUNS", 3);
    let name = url.rsplit_once('/').expect("database name").1.to_string();
    prepare(&url, patients).await;

    let app = Application::build(settings(&url, connections as u32))
        .await
        .expect("the façade starts");
    let facade = app.base_url().to_string();
    tokio::spawn(app.run_until_stopped());
    // The mapping as the server checks it against the database (column names as stored).
    let db = Database::connect(&settings(&url, 1).db)
        .await
        .expect("connects");
    let caps = Caps {
        dialect: db.dialect(),
        accents: db.probe_accents().await,
    };
    let mapping = fhir_facade::check::load_checked(
        concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml"),
        &db,
        &caps,
    )
    .await
    .expect("mapping");
    let reference = reference::start(&url, &mapping, connections as u32).await;

    let mut conn = PgConnection::connect(&url).await.expect("connects");
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT CAST(PAT_ID AS BIGINT) FROM PATIENT WHERE DEL_FLG <> 'Y' ORDER BY md5(PAT_ID::text) LIMIT 1000",
    )
    .fetch_all(&mut conn)
    .await
    .expect("ids");
    let codes: Vec<String> = sqlx::query_scalar(
        "SELECT DISTINCT TRIM(ICD10_CD) FROM DIAGNOSIS WHERE ICD10_CD IS NOT NULL",
    )
    .fetch_all(&mut conn)
    .await
    .expect("codes");
    let kinds: Vec<(&str, Vec<String>)> = vec![
        (
            "Patient/{id}",
            ids.iter().map(|id| format!("/Patient/{id}")).collect(),
        ),
        (
            "Condition?code=X&_count=20",
            codes
                .iter()
                .map(|c| format!("/Condition?code={c}&_count=20"))
                .collect(),
        ),
    ];
    println!(
        "{} patients, {connections} connections, {seconds} s a run, {runs} runs (medians)",
        ids.len()
    );
    let warmup = Duration::from_secs(1);
    let duration = Duration::from_secs(seconds);
    println!(
        "| request | façade req/s | reference req/s | ratio | façade p50 / p99 ms | reference p50 / p99 ms | statements / request (façade, reference) | PostgreSQL CPU µs / request (façade, reference) |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let tick_us = 1e6 / 100.0; // USER_HZ
    for (kind, paths) in kinds {
        let mut sides = [Side::default(), Side::default()];
        for run in 0..runs {
            // Alternate which server goes first.
            let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
            for s in order {
                let base = if s == 0 { &facade } else { &reference };
                let urls = Arc::new(paths.iter().map(|p| format!("{base}{p}")).collect());
                let before = database_work(&mut conn, &name).await;
                let m = driver::drive(urls, connections, warmup, duration).await;
                let after = database_work(&mut conn, &name).await;
                // The warm-up's requests ran too; count them as the measured rate had them.
                let total = m.rps * (duration + warmup).as_secs_f64();
                // Our own statistics queries: two transactions.
                let statements = (after.0 - before.0 - 2) as f64 / total;
                let cpu = (after.1 - before.1) as f64 * tick_us / total;
                if m.errors > 0 {
                    eprintln!("{kind}: {} errors of {}", m.errors, m.requests);
                }
                sides[s].measured.push(m);
                sides[s].statements.push(statements);
                sides[s].db_cpu_us.push(cpu);
            }
        }
        let [f, r] = &sides;
        println!(
            "| `{kind}` | {:.0} | {:.0} | {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.1}, {:.1} | {:.0}, {:.0} |",
            f.rps(),
            r.rps(),
            f.rps() / r.rps(),
            f.ms(|m| m.p50),
            f.ms(|m| m.p99),
            r.ms(|m| m.p50),
            r.ms(|m| m.p99),
            median(f.statements.clone()),
            median(r.statements.clone()),
            median(f.db_cpu_us.clone()),
            median(r.db_cpu_us.clone()),
        );
    }
}
