//! The sample legacy hospital database: schema and deterministic seed data.
//!
//! A 1990s-2000s style hospital system, deliberately *not* shaped like FHIR: upper-case
//! terse table and column names, CHAR(n) codes stored blank-padded, birth dates as
//! `CHAR(8)` `YYYYMMDD` text, `Y`/`N` flags, soft-deleted rows (`DEL_FLG = 'Y'`, about 2%
//! of PATIENT, VISIT, DIAGNOSIS, LAB_RESULT, VITALS and RX_ORDER rows; such rows must never
//! be served), a wide VITALS table and a local-code → LOINC map table.
//!
//! The schema scripts live in `migrations/<dialect>/0001_schema.sql` (embedded; see
//! [`schema_sql`]). There is no migration-tracking table. No FOREIGN KEY
//! constraints are declared, but every foreign-key column is indexed. On PostgreSQL the
//! identifiers are created unquoted, so they are folded to lower case (`patient`; see
//! [`ident`]).
//!
//! The data is written through the set-up connection [`crate::db::admin::Conn`]; this module
//! turns its rows into bound parameters ([`rows::Val`] → `sea_query::Value`).
//!
//! Generation is deterministic (ChaCha8, fixed seed [`DEFAULT_SEED`]): the same
//! `patients` and `seed` give identical rows on every machine and every backend, and the
//! rows of patient k do not depend on the total, so a bigger database contains a smaller
//! one as a prefix (all ids are dense running counters in PAT_ID order).
//!
//! # Well-known rows (guaranteed for every `patients >= 2`, any seed)
//!
//! | table | id | what it is |
//! |---|---|---|
//! | DEPT | 1 | `RGH   ` RIVERSIDE GENERAL HOSPITAL, type `HOSP`, no parent |
//! | DEPT | 4 | `IMED  ` INTERNAL MEDICINE, type `DEPT`, parent 1 |
//! | DEPT | 7 | `LAB   ` CORE LABORATORY, type `LAB ` ; 8 = `PHARM ` type `PHAR`; 13 = inactive (`ACTIVE_FLG='N'`) |
//! | PROVIDER | 1 | WELBY, MARCUS A, MD, `SPEC_CD='IM  '`, NPI `1234567893`, DEPT 4, active |
//! | PATIENT | 1 | CHALMERS, PETER JAMES, `SEX_CD='M'`, `BIRTH_DT='19740625'`, married, `ENG`, PCP 1, not deleted, `ROW_VER=4` |
//! | PAT_IDENT | (1, `MRN `) | `M1242486`, authority `RGH`; (1, `SSN `) `900-12-3456` (SSA); (1, `DL  `) `C45120374625` (IL DMV) |
//! | PAT_PHONE | (1, 1), (1, 2) | `H` `(555) 201-4477`, `C` `(555) 382-9910` (exactly 2 phones) |
//! | PAT_ADDR | (1, 1) | `H` 1200 W JEFFERSON ST, SPRINGFIELD, IL 62702, USA, EFF_DT 2010-04-01 (exactly 1 address) |
//! | VISIT | 1 | `V10000001`, patient 1, outpatient `O`, discharged `D`, 2019-03-14 09:30:00, DEPT 4, attending 1 |
//! | VISIT | 2 | patient 1, inpatient `I`, discharged, admitted 2021-11-02 22:10:00, DEPT 5 |
//! | VISIT | 3 | patient 1, emergency `E`, active `A` (DISCH_TS null), admitted 2024-12-30 18:45:00, DEPT 3 |
//! | DIAGNOSIS | 1, 2 | visit 1: `E11.9   ` principal `P`, active; `I10     ` secondary `S`, active |
//! | LAB_RESULT | 1..=5 | visit 1, final `F`: `GLU   `, `NA    `, `K     `, `CREAT `, `BUN   ` (numeric values) |
//! | LAB_RESULT | 6 | visit 1: `HGBA1C`, final |
//! | LAB_RESULT | 7 | visit 1: `XTEST ` — the local code deliberately absent from LAB_TEST_MAP |
//! | VITALS | 1 | visit 1, every measurement column non-null |
//! | RX_ORDER | 1, 2 | visit 1, active `A`: metformin 500 MG (RxNorm 861007), lisinopril 10 MG (314076) |
//! | PATIENT | 2 | soft-deleted (`DEL_FLG='Y'`); its child rows exist |
//!
//! No row of patient 1 is soft-deleted. LAB_TEST_MAP holds 14 local codes (all but `XTEST `).

mod generator;
mod load;
pub mod rows;
mod sample;
pub mod vocab;

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::db::admin::Conn;
pub use crate::sql::Dialect;
pub use generator::{DEFAULT_SEED, Generator, mrn_for, visit_no_for};
pub use load::{dump_table, ident, schema_sql, split_statements};
pub use sample::ensure_sample;

/// Options for [`seed_database`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedOptions {
    /// Number of patients (PAT_ID 1..=patients).
    pub patients: u32,
    /// Seed of the deterministic generator.
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        SeedOptions {
            patients: 300,
            seed: DEFAULT_SEED,
        }
    }
}

/// What [`seed_database`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedReport {
    /// Rows inserted per table, in load order.
    pub rows: Vec<(&'static str, u64)>,
    /// Wall-clock time of the whole run.
    pub elapsed: Duration,
}

impl SeedReport {
    /// Rows inserted into `table` (0 if unknown).
    pub fn count(&self, table: &str) -> u64 {
        self.rows
            .iter()
            .find(|(t, _)| *t == table)
            .map_or(0, |(_, n)| *n)
    }

    /// Total rows inserted.
    pub fn total(&self) -> u64 {
        self.rows.iter().map(|(_, n)| n).sum()
    }
}

/// Why seeding failed.
#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    /// The URL scheme is not sqlite:, postgres:, postgresql:, mysql: or mariadb:.
    #[error(
        "unsupported database URL scheme `{0}` (expected sqlite:, postgres:, mysql: or mariadb:)"
    )]
    UnsupportedUrl(String),
    /// The target already holds some of the seed tables.
    #[error("the target database is not empty: table(s) {0} already exist")]
    NotEmpty(String),
    /// A database error.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// The generator thread failed.
    #[error("generator failed: {0}")]
    Generator(String),
}

/// Patients per transaction.
const PATIENTS_PER_TX: u32 = 5_000;
/// Patients between progress log lines.
const PROGRESS_EVERY: u32 = 10_000;
/// Patients per chunk handed from the generator thread to the loader.
const CHUNK: usize = 256;
/// Upper bound on rows in one INSERT statement.
const MAX_ROWS_PER_INSERT: usize = 1_000;

/// Creates the schema and inserts the data into an EMPTY database at `url` (`sqlite:`,
/// `postgres:`/`postgresql:`, `mysql:`/`mariadb:`). For SQLite the file is created if
/// missing. Fails with [`SeedError::NotEmpty`] if any of the tables already exists.
///
/// Patients are generated on a separate thread and streamed (memory stays flat however
/// many patients), inserted with multi-row INSERTs in transactions of
/// `PATIENTS_PER_TX` patients; indexes are created after the data is loaded.
pub async fn seed_database(url: &str, opts: &SeedOptions) -> Result<SeedReport, SeedError> {
    let started = Instant::now();
    let dialect = load::dialect_of(url)?;
    let mut conn = Conn::open(url).await?;
    let existing = load::existing_seed_tables(&mut conn).await?;
    if !existing.is_empty() {
        return Err(SeedError::NotEmpty(existing.join(", ")));
    }
    let statements = split_statements(schema_sql(dialect));
    let is_index = |s: &String| {
        s.to_ascii_uppercase().starts_with("CREATE INDEX")
            || s.to_ascii_uppercase().starts_with("CREATE UNIQUE INDEX")
    };
    for stmt in statements.iter().filter(|s| !is_index(s)) {
        conn.exec(stmt).await?;
    }
    conn.begin_bulk_load().await?;

    let mut loader = load::Loader::new(conn, MAX_ROWS_PER_INSERT);
    let generator = Generator::new(opts.seed);
    loader.conn().begin().await?;
    loader.push_all(&generator.departments()).await?;
    loader.push_all(generator.providers()).await?;
    loader.push_all(&generator.lab_test_map()).await?;

    let (tx, mut rx) = mpsc::channel::<Vec<rows::PatientRows>>(8);
    let patients = opts.patients;
    let producer = std::thread::spawn(move || {
        let mut generator = generator;
        let mut chunk = Vec::with_capacity(CHUNK);
        for _ in 0..patients {
            chunk.push(generator.next_patient());
            if chunk.len() == CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                if tx.blocking_send(full).is_err() {
                    return;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.blocking_send(chunk);
        }
    });

    let mut done: u32 = 0;
    while let Some(chunk) = rx.recv().await {
        for p in chunk {
            loader.push(&p.patient).await?;
            loader.push_all(&p.idents).await?;
            loader.push_all(&p.phones).await?;
            loader.push_all(&p.addrs).await?;
            loader.push_all(&p.visits).await?;
            loader.push_all(&p.diagnoses).await?;
            loader.push_all(&p.labs).await?;
            loader.push_all(&p.vitals).await?;
            loader.push_all(&p.rx).await?;
            done += 1;
            if done.is_multiple_of(PATIENTS_PER_TX) {
                loader.flush().await?;
                loader.conn().commit().await?;
                loader.conn().begin().await?;
            }
            if done.is_multiple_of(PROGRESS_EVERY) {
                tracing::info!(
                    patients = done,
                    of = patients,
                    elapsed_s = started.elapsed().as_secs(),
                    "seeding"
                );
            }
        }
    }
    producer
        .join()
        .map_err(|_| SeedError::Generator("generator thread panicked".into()))?;
    loader.flush().await?;
    loader.conn().commit().await?;

    let counts = loader.counts().clone();
    let mut conn = loader.into_conn();
    tracing::info!(patients = done, "creating indexes");
    for stmt in statements.iter().filter(|s| is_index(s)) {
        conn.exec(stmt).await?;
    }
    conn.end_bulk_load().await?;
    conn.close().await?;
    let rows = rows::ALL_TABLES
        .iter()
        .map(|t| (t.name, counts.get(t.name).copied().unwrap_or(0)))
        .collect();
    let report = SeedReport {
        rows,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        patients = done,
        rows = report.total(),
        elapsed_ms = report.elapsed.as_millis() as u64,
        "seeding done"
    );
    Ok(report)
}
