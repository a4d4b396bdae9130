//! Load benchmark: the façade side by side with a minimal actix-web + sqlx server running the
//! same SQL without the façade ([`reference`]), against PostgreSQL, in the same run.
//!
//! `cargo bench --bench load` (see docs/benchmarks.md for the settings). Seeds a PostgreSQL
//! database once (kept for later runs), starts both servers in this process on 127.0.0.1 (each
//! with its own worker threads and a pool of `BENCH_CONNECTIONS` connections), then for each
//! request kind (those `BENCH_KINDS` selects) drives one server and then the other with the
//! same requests, `BENCH_RUNS` times, and prints the medians: requests a second, p50/p99
//! latency, the ratio façade / reference, the statements (transactions) each request cost
//! PostgreSQL and its CPU time per request (from /proc, for the backends of the benchmark's
//! database only); then the latency of page 500 of a search over that of its page 1.

mod driver;
mod reference;
mod replay;

use std::sync::Arc;
use std::time::Duration;

use fhir_facade::config::Settings;
use fhir_facade::db::Database;
use fhir_facade::sql::Caps;
use fhir_facade::sql::Statement;
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

/// `url` as the server part, the database name and the options (`?sslmode=disable`, or "").
fn split_url(url: &str) -> (&str, &str, &str) {
    let (path, options) = url.find('?').map_or((url, ""), |i| url.split_at(i));
    let (server, name) = path.rsplit_once('/').expect("URL with a database name");
    (server, name, options)
}

/// Creates the database of `url` if missing and seeds it if empty; returns its patients.
async fn prepare(url: &str, patients: u32) -> i64 {
    let (server, name, options) = split_url(url);
    let mut admin = PgConnection::connect(&format!("{server}/postgres{options}"))
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
        i64::from(patients)
    } else {
        eprintln!("using the {seeded} patients already in {url}");
        seeded
    }
}

fn settings(url: &str, connections: u32) -> Settings {
    let mut s = Settings::new(url, concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml"));
    s.db.max_connections = connections;
    s.db.statement_timeout = Duration::from_secs(30);
    s.listen = "127.0.0.1:0".into();
    s.cursor_secret = Some("bench".into());
    // Each answer says how many statements it ran (`x-sql-statements`), as the reference's do.
    s.expose_sql_count = true;
    s
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

/// How the reference answers a kind.
#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    /// A hand-written handler (`reference.rs`): statements planned once at start-up, the
    /// request's values bound.
    Hand,
    /// `/replay/{n}`: the statements the façade ran for that very request, recorded at set-up.
    Replay,
}

/// One request kind: its name, the paths sent to the façade (after its base URL), and how the
/// reference answers them.
struct Kind {
    name: String,
    paths: Vec<String>,
    by: By,
}

/// Whether `BENCH_KINDS` (comma-separated substrings, any case; all when unset) selects `name`.
fn selected(filter: &[String], name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()))
}

/// The URL of the `next` link of the Bundle at `url`.
async fn next_link(client: &reqwest::Client, url: &str) -> Option<String> {
    let res = client.get(url).send().await.ok()?;
    if !res.status().is_success() {
        eprintln!("{url}: {}", res.status());
        return None;
    }
    let bundle: serde_json::Value = res.json().await.ok()?;
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .and_then(|l| l["url"].as_str())
        .map(str::to_string)
}

/// The path (after `base`) of page `page` of the search `first` (a path), following `next`
/// links from page 1; `None` when the search has fewer pages.
async fn page_path(base: &str, first: &str, page: u64) -> Option<String> {
    let client = reqwest::Client::new();
    let mut url = format!("{base}{first}");
    for _ in 1..page {
        url = next_link(&client, &url).await?;
    }
    url.strip_prefix(base).map(str::to_string)
}

/// The server binary's allocator (src/main.rs), for both servers.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let url = env_or(
        "BENCH_DATABASE_URL",
        // Without TLS, as a database on the same machine should be reached (README, TLS).
        "postgres://postgres@127.0.0.1:5432/fhir_bench?sslmode=disable",
    );
    let patients = env_num("BENCH_PATIENTS", 5_000) as u32;
    let connections = env_num("BENCH_CONNECTIONS", 16) as usize;
    let seconds = env_num("BENCH_SECONDS", 5);
    let runs = env_num("BENCH_RUNS", 3);
    let deep = env_num("BENCH_PAGE", 500);
    let paged = env_or(
        "BENCH_PAGED_SEARCH",
        "Observation?code=http://loinc.org|2339-0&_count=20",
    );
    let filter: Vec<String> = env_or("BENCH_KINDS", "")
        .split(',')
        .map(|f| f.trim().to_ascii_lowercase())
        .filter(|f| !f.is_empty())
        .collect();
    let show_sql = env_num("BENCH_SHOW_SQL", 0) != 0;
    let name = split_url(&url).1.to_string();
    let patients = prepare(&url, patients).await;

    let server_settings = settings(&url, connections as u32);
    let app = Application::build(server_settings.clone())
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
    // The façade's service as the server has it, to record what each request runs.
    let recorder = replay::service(&server_settings, mapping, db.clone(), caps, &facade);

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
    // The first three letters of family names, the most common first.
    let prefixes: Vec<String> = sqlx::query_scalar(
        "SELECT LOWER(SUBSTR(LAST_NM, 1, 3)) AS p FROM PATIENT WHERE DEL_FLG <> 'Y' AND LENGTH(LAST_NM) >= 3 \
         GROUP BY p ORDER BY COUNT(*) DESC, p LIMIT 100",
    )
    .fetch_all(&mut conn)
    .await
    .expect("prefixes");
    let each = |f: &dyn Fn(&str) -> String, values: &[String]| -> Vec<String> {
        values.iter().map(|v| f(v)).collect()
    };
    let years: Vec<String> = (1940..=1970).map(|y| y.to_string()).collect();
    let id_texts: Vec<String> = ids.iter().map(|id| id.to_string()).collect();
    let mut kinds = vec![
        Kind {
            name: "Patient/{id}".into(),
            paths: each(&|id| format!("/Patient/{id}"), &id_texts),
            by: By::Hand,
        },
        Kind {
            name: "Condition?code=X&_count=20".into(),
            paths: each(&|c| format!("/Condition?code={c}&_count=20"), &codes),
            by: By::Hand,
        },
        Kind {
            name: "Patient?family=PREFIX&_count=20".into(),
            paths: each(&|p| format!("/Patient?family={p}&_count=20"), &prefixes),
            by: By::Replay,
        },
        Kind {
            name: "Patient?birthdate=ltYEAR&_count=20".into(),
            paths: each(&|y| format!("/Patient?birthdate=lt{y}&_count=20"), &years),
            by: By::Replay,
        },
        Kind {
            name: "Condition?patient.family=PREFIX&_count=20".into(),
            paths: each(
                &|p| format!("/Condition?patient.family={p}&_count=20"),
                &prefixes,
            ),
            by: By::Replay,
        },
        Kind {
            name: "Condition?code=X&_include=Condition:patient&_count=20".into(),
            paths: each(
                &|c| format!("/Condition?code={c}&_include=Condition:patient&_count=20"),
                &codes,
            ),
            by: By::Replay,
        },
        Kind {
            name: format!("page 1: {paged}"),
            paths: vec![format!("/{paged}")],
            by: By::Replay,
        },
        Kind {
            name: format!("page {deep}: {paged}"),
            paths: Vec::new(),
            by: By::Replay,
        },
        Kind {
            name: "Observation?_count=1000".into(),
            paths: vec!["/Observation?_count=1000".into()],
            by: By::Replay,
        },
        Kind {
            name: "Patient/{id}/$everything".into(),
            paths: each(
                &|id| format!("/Patient/{id}/$everything"),
                &id_texts[..100.min(id_texts.len())],
            ),
            by: By::Replay,
        },
    ];
    kinds.retain(|k| selected(&filter, &k.name));
    let deep_name = format!("page {deep}: {paged}");
    if let Some(k) = kinds.iter_mut().find(|k| k.name == deep_name) {
        let started = std::time::Instant::now();
        match page_path(&facade, &format!("/{paged}"), deep).await {
            Some(path) => {
                eprintln!(
                    "followed {} next links in {:?}",
                    deep - 1,
                    started.elapsed()
                );
                k.paths.push(path);
            }
            None => eprintln!("{paged}: fewer than {deep} pages; {deep_name} is skipped"),
        }
    }
    kinds.retain(|k| !k.paths.is_empty());

    // The statements of the replayed requests, and the reference's path of each request.
    let mut recorded: Vec<Vec<Statement>> = Vec::new();
    let mut reference_paths: Vec<Vec<String>> = Vec::new();
    for k in &kinds {
        reference_paths.push(match k.by {
            By::Hand => k.paths.clone(),
            By::Replay => {
                let mut paths = Vec::new();
                for (i, p) in k.paths.iter().enumerate() {
                    let statements = replay::record(&recorder, p)
                        .await
                        .unwrap_or_else(|e| panic!("{}: {e}", k.name));
                    if show_sql && i == 0 {
                        eprintln!("{p}: {} statement(s)", statements.len());
                        for s in &statements {
                            eprintln!("  {} -- {:?}", s.sql, s.params);
                        }
                    }
                    paths.push(format!("/replay/{}", recorded.len()));
                    recorded.push(statements);
                }
                paths
            }
        });
    }
    let reference = reference::start(&url, recorder.mapping(), connections as u32, recorded).await;

    println!(
        "{name}: {patients} patients, {connections} connections, {seconds} s a run, {runs} runs (medians); load average at the start: {}",
        load_average()
    );
    let warmup = Duration::from_secs(1);
    let duration = Duration::from_secs(seconds);
    println!(
        "| request | reference | façade req/s | reference req/s | ratio | façade p50 / p99 ms | reference p50 / p99 ms | statements / request (façade, reference) | PostgreSQL CPU µs / request (façade, reference) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let tick_us = 1e6 / 100.0; // USER_HZ
    // p50 of page 1 and of the deep page, façade and reference.
    let mut page_p50 = [[f64::NAN; 2]; 2];
    for (kind, reference_paths) in kinds.iter().zip(&reference_paths) {
        let mut sides = [Side::default(), Side::default()];
        for run in 0..runs {
            // Alternate which server goes first.
            let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
            for s in order {
                let urls = Arc::new(if s == 0 {
                    kind.paths.iter().map(|p| format!("{facade}{p}")).collect()
                } else {
                    reference_paths
                        .iter()
                        .map(|p| format!("{reference}{p}"))
                        .collect()
                });
                let before = backend_ticks(&name);
                let m = driver::drive(urls, connections, warmup, duration).await;
                let after = backend_ticks(&name);
                let statements = m.statements as f64 / m.requests as f64;
                // CPU over every request of the run, the warm-up's included.
                let cpu = (after - before) as f64 * tick_us / m.sent as f64;
                if m.errors > 0 {
                    eprintln!("{}: {} errors of {}", kind.name, m.errors, m.requests);
                }
                sides[s].measured.push(m);
                sides[s].statements.push(statements);
                sides[s].db_cpu_us.push(cpu);
            }
        }
        let [f, r] = &sides;
        if kind.name.starts_with("page 1: ") {
            page_p50[0] = [f.ms(|m| m.p50), r.ms(|m| m.p50)];
        } else if kind.name == deep_name {
            page_p50[1] = [f.ms(|m| m.p50), r.ms(|m| m.p50)];
        }
        println!(
            "| `{}` | {} | {:.0} | {:.0} | {:.2} | {:.2} / {:.2} | {:.2} / {:.2} | {:.1}, {:.1} | {:.0}, {:.0} |",
            // (A pipe, even in code, ends a Markdown table cell.)
            kind.name.replace('|', "\\|"),
            match kind.by {
                By::Hand => "hand-written",
                By::Replay => "replayed",
            },
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
    if page_p50.iter().flatten().all(|v| v.is_finite()) {
        println!(
            "\npage {deep} / page 1 (p50 latency): façade {:.2} ({:.2} / {:.2} ms), reference {:.2} ({:.2} / {:.2} ms)",
            page_p50[1][0] / page_p50[0][0],
            page_p50[1][0],
            page_p50[0][0],
            page_p50[1][1] / page_p50[0][1],
            page_p50[1][1],
            page_p50[0][1],
        );
    }
    println!("load average at the end: {}", load_average());
}

/// The 1, 5 and 15-minute load averages (the machine is shared: say how busy it was).
fn load_average() -> String {
    let avg = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    avg.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}
