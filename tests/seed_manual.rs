//! Manual seeding run (ignored by default), for inspecting data and timing bulk loads:
//! `SEED_URL=sqlite:///tmp/h.db SEED_PATIENTS=100000 cargo test --release --test seed_manual -- --ignored --nocapture`

use fhir_facade::seed::{SeedOptions, seed_database};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "manual: set SEED_URL (and SEED_PATIENTS)"]
async fn seed_from_env() {
    let url = std::env::var("SEED_URL").expect("SEED_URL");
    let patients = std::env::var("SEED_PATIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let report = seed_database(
        &url,
        &SeedOptions {
            patients,
            ..SeedOptions::default()
        },
    )
    .await
    .expect("seed");
    for (table, n) in &report.rows {
        println!("{table:<14} {n:>10}");
    }
    println!(
        "total rows {}, elapsed {:.2?}",
        report.total(),
        report.elapsed
    );
}
