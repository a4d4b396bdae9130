//! Paging benchmark: page 1000 of a search must cost about what page 1 costs (keyset paging,
//! never OFFSET). Seeds a SQLite sample, starts the server in-process, walks the `next` links
//! and compares the latency of the first pages with the latest ones.
//!
//! `cargo bench --bench paging` (env `BENCH_PATIENTS`, default 20000; `BENCH_PAGES`, default
//! 1000). Exits non-zero when late pages are more than 3 times slower than early ones.

use std::time::{Duration, Instant};

use fhir_facade::config::Settings;
use fhir_facade::startup::Application;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main]
async fn main() {
    let patients = env("BENCH_PATIENTS", 20_000) as u32;
    let pages = env("BENCH_PAGES", 1000);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let started = Instant::now();
    fhir_facade::seed::seed_database(
        &url,
        &fhir_facade::seed::SeedOptions {
            patients,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    eprintln!("seeded {patients} patients in {:?}", started.elapsed());
    let settings = {
        let mut s = Settings::new(&url, concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml"));
        s.db.max_connections = 4;
        s.db.statement_timeout = Duration::from_secs(30);
        s.listen = "127.0.0.1:0".into();
        s
    };
    let app = Application::build(settings).await.unwrap();
    let base = app.base_url().to_string();
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let mut failed = false;
    for query in [
        "Patient?_count=20",
        // A bare sort: the index on BIRTH_DT read in order, NULLs where the database puts them.
        "Patient?_sort=birthdate&_count=20",
        "Patient?_sort=-birthdate&_count=20",
        "Observation?_count=20",
        "Observation?category=laboratory&_sort=date&_count=20",
        // Across resources: a chain and a reverse chain (IN subqueries), and an include (one
        // more statement per page).
        "Observation?patient.birthdate=lt1960&_count=20",
        "Patient?_has:Observation:patient:code=http://loinc.org|2339-0&_count=20",
        "Observation?category=laboratory&_include=Observation:patient&_count=20",
    ] {
        let mut url = format!("{base}/{query}");
        let mut times = Vec::new();
        for _ in 0..pages {
            let t = Instant::now();
            let bundle: serde_json::Value =
                client.get(&url).send().await.unwrap().json().await.unwrap();
            times.push(t.elapsed());
            match bundle["link"]
                .as_array()
                .and_then(|l| l.iter().find(|l| l["relation"] == "next"))
            {
                Some(next) => url = next["url"].as_str().unwrap().to_string(),
                None => break,
            }
        }
        let n = times.len();
        let early = median(times[..10.min(n)].to_vec());
        let late = median(times[n.saturating_sub(10)..].to_vec());
        let ratio = late.as_secs_f64() / early.as_secs_f64();
        println!(
            "{query}: {n} pages; pages 1-10 median {early:?}, last 10 median {late:?}, ratio {ratio:.2}"
        );
        if ratio > 3.0 {
            failed = true;
        }
    }
    if failed {
        eprintln!("FAIL: late pages cost more than 3 times early ones");
        std::process::exit(1);
    }
}
