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
//! The data is written through the set-up connection [`crate::db::admin::Conn`]: PostgreSQL
//! receives `COPY` text, the others multi-row INSERTs whose values are bound parameters
//! ([`rows::Val`] → `sea_query::Value`). A million patients (about 36 million rows, of which
//! 17 million LAB_RESULT and 3.7 million VITALS rows, i.e. over 25 million Observations) load
//! in minutes; see docs/benchmarks.md.
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

mod batch;
mod generator;
mod load;
pub mod rows;
mod sample;
pub mod vocab;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures_util::future::try_join_all;

use tokio::sync::mpsc;

use crate::db::admin::Conn;
pub use crate::sql::Dialect;
use batch::{Batch, Batcher};
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

/// Rows between commits on the database servers (SQLite loads in one transaction).
const COMMIT_EVERY_ROWS: u64 = 500_000;
/// Patients between progress log lines.
const PROGRESS_EVERY: u32 = 50_000;
/// Target size of a PostgreSQL `COPY` batch.
const COPY_BATCH_BYTES: usize = 1 << 20;
/// Upper bound on rows in one INSERT statement.
const MAX_ROWS_PER_INSERT: usize = 1_000;
/// Batches in flight between the generator thread and the writer (bounds the memory).
const BATCHES_IN_FLIGHT: usize = 16;

/// The writer (connection) that loads `table` when there are `lanes` of them: LAB_RESULT,
/// about half of all rows, gets a connection of its own.
fn lane_of(table: &'static rows::TableDef, lanes: usize) -> usize {
    if lanes > 1 && std::ptr::eq(table, &rows::LAB_RESULT) {
        1
    } else {
        0
    }
}

/// Progress shared by the writers.
struct Progress {
    started: Instant,
    patients: u32,
    rows: AtomicU64,
    next_report: AtomicU32,
}

impl Progress {
    fn wrote(&self, rows: u64, patients_done: u32) {
        let total = self.rows.fetch_add(rows, Ordering::Relaxed) + rows;
        let next = self.next_report.load(Ordering::Relaxed);
        if patients_done < next {
            return;
        }
        let after = (patients_done / PROGRESS_EVERY + 1) * PROGRESS_EVERY;
        if self
            .next_report
            .compare_exchange(next, after, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            let secs = self.started.elapsed().as_secs_f64();
            tracing::info!(
                patients = patients_done,
                of = self.patients,
                rows = total,
                rows_per_s = (total as f64 / secs.max(0.001)) as u64,
                elapsed_s = secs as u64,
                "seeding"
            );
        }
    }
}

/// Writes the batches of one lane, committing every `commit_every` rows (or once at the end).
async fn write_lane(
    mut writer: load::Writer,
    mut rx: mpsc::Receiver<Batch>,
    commit_every: Option<u64>,
    progress: &Progress,
) -> Result<load::Writer, SeedError> {
    writer.conn().begin().await?;
    let mut since_commit: u64 = 0;
    while let Some(batch) = rx.recv().await {
        let rows = batch.rows as u64;
        let patients_done = batch.patients_done;
        writer.write(batch).await?;
        since_commit += rows;
        if commit_every.is_some_and(|n| since_commit >= n) {
            writer.conn().commit().await?;
            writer.conn().begin().await?;
            since_commit = 0;
        }
        progress.wrote(rows, patients_done);
    }
    writer.conn().commit().await?;
    Ok(writer)
}

/// The statements that create the indexes after the load: on MySQL/MariaDB one `ALTER TABLE`
/// per table adding all of its indexes, which InnoDB builds in one read of the table (one
/// `CREATE INDEX` each would read the table once per index); elsewhere as written.
fn index_statements(dialect: Dialect, creates: &[&String]) -> Vec<String> {
    if !dialect.choose(false, false, true) {
        return creates.iter().map(|s| s.to_string()).collect();
    }
    let mut per_table: Vec<(String, Vec<String>)> = Vec::new();
    for stmt in creates {
        let Some((table, added)) = as_added_index(stmt) else {
            per_table.push((String::new(), vec![stmt.to_string()]));
            continue;
        };
        match per_table.iter_mut().find(|(t, _)| *t == table) {
            Some((_, adds)) => adds.push(added),
            None => per_table.push((table.to_string(), vec![added])),
        }
    }
    per_table
        .into_iter()
        .map(|(table, adds)| match table.is_empty() {
            true => adds.concat(),
            false => format!("ALTER TABLE {table} {}", adds.join(", ")),
        })
        .collect()
}

/// `CREATE [UNIQUE] INDEX name ON table (columns)` as its table and `ADD [UNIQUE] INDEX name
/// (columns)`.
fn as_added_index(stmt: &str) -> Option<(&str, String)> {
    let (unique, rest) = match stmt.get(..20) {
        Some(p) if p.eq_ignore_ascii_case("CREATE UNIQUE INDEX ") => (true, &stmt[20..]),
        _ => (
            false,
            stmt.get(13..)
                .filter(|_| stmt[..13].eq_ignore_ascii_case("CREATE INDEX "))?,
        ),
    };
    let (name, rest) = rest.split_once(" ON ")?;
    let (table, columns) = rest.trim().split_once(' ')?;
    let unique = if unique { "UNIQUE " } else { "" };
    Some((
        table,
        format!("ADD {unique}INDEX {} {}", name.trim(), columns.trim()),
    ))
}

/// Creates the schema and inserts the data into an EMPTY database at `url` (`sqlite:`,
/// `postgres:`/`postgresql:`, `mysql:`/`mariadb:`). For SQLite the file is created if
/// missing. Fails with [`SeedError::NotEmpty`] if any of the tables already exists.
///
/// Tables are created without their secondary indexes. Patients are generated and encoded on
/// a separate thread and streamed to the writers in batches (memory stays flat however many
/// patients): `COPY … FROM STDIN` on PostgreSQL, multi-row INSERTs with bound parameters on
/// MySQL/MariaDB and SQLite. The servers are written over two connections (LAB_RESULT on
/// one, the other tables on the other) and commit every `COMMIT_EVERY_ROWS` rows; SQLite
/// loads over one connection in one transaction, with journal and syncs off. The indexes are
/// created after the data is loaded (on the servers, two at a time), then the planner
/// statistics are refreshed.
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
    let lanes: usize = dialect.choose(1, 2, 2);
    let mut conns = vec![conn];
    for _ in 1..lanes {
        conns.push(Conn::open(url).await?);
    }
    for c in &mut conns {
        c.begin_bulk_load().await?;
    }

    let encoding = load::encoding_for(dialect, COPY_BATCH_BYTES, MAX_ROWS_PER_INSERT);
    let commit_every = dialect.choose(None, Some(COMMIT_EVERY_ROWS), Some(COMMIT_EVERY_ROWS));
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..lanes)
        .map(|_| mpsc::channel::<Batch>(BATCHES_IN_FLIGHT))
        .unzip();
    let patients = opts.patients;
    let seed = opts.seed;
    let producer = std::thread::spawn(move || {
        let send = |batch: Batch| {
            senders[lane_of(batch.table, senders.len())]
                .blocking_send(batch)
                .is_ok()
        };
        let mut generator = Generator::new(seed);
        let mut batcher = Batcher::new(encoding);
        batcher.push_all(&generator.departments());
        batcher.push_all(generator.providers());
        batcher.push_all(&generator.lab_test_map());
        for _ in 0..patients {
            batcher.push_patient(&generator.next_patient());
            for batch in batcher.take_ready() {
                if !send(batch) {
                    return;
                }
            }
        }
        for batch in batcher.finish() {
            if !send(batch) {
                return;
            }
        }
    });

    let progress = Progress {
        started,
        patients,
        rows: AtomicU64::new(0),
        next_report: AtomicU32::new(PROGRESS_EVERY),
    };
    let writers = try_join_all(conns.into_iter().zip(receivers).map(|(conn, rx)| {
        write_lane(
            load::Writer::new(conn, encoding),
            rx,
            commit_every,
            &progress,
        )
    }))
    .await?;
    producer
        .join()
        .map_err(|_| SeedError::Generator("generator thread panicked".into()))?;

    let mut counts: HashMap<&'static str, u64> = HashMap::new();
    let mut conns = Vec::new();
    for w in writers {
        for (&table, &n) in w.counts() {
            *counts.entry(table).or_default() += n;
        }
        conns.push(w.into_conn());
    }
    let loaded = started.elapsed();
    tracing::info!(
        rows = counts.values().sum::<u64>(),
        elapsed_s = loaded.as_secs(),
        "rows loaded; creating indexes"
    );
    let indexes: Vec<&String> = statements.iter().filter(|s| is_index(s)).collect();
    let indexes = index_statements(dialect, &indexes);
    let indexes = &indexes;
    try_join_all(conns.iter_mut().enumerate().map(|(lane, conn)| async move {
        for stmt in indexes.iter().skip(lane).step_by(lanes) {
            let t = Instant::now();
            conn.exec(stmt).await?;
            tracing::debug!(elapsed_ms = t.elapsed().as_millis() as u64, "{stmt}");
        }
        Ok::<(), SeedError>(())
    }))
    .await?;
    for (lane, mut conn) in conns.into_iter().enumerate() {
        if lane == 0 {
            conn.end_bulk_load().await?;
        }
        conn.close().await?;
    }
    let rows = rows::ALL_TABLES
        .iter()
        .map(|t| (t.name, counts.get(t.name).copied().unwrap_or(0)))
        .collect();
    let report = SeedReport {
        rows,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        patients,
        rows = report.total(),
        load_s = loaded.as_secs(),
        indexes_s = (report.elapsed - loaded).as_secs(),
        elapsed_ms = report.elapsed.as_millis() as u64,
        "seeding done"
    );
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mysql_indexes_are_added_per_table_in_one_statement() {
        let creates = [
            "CREATE INDEX IX_A_X ON A (X)".to_string(),
            "CREATE UNIQUE INDEX UX_B_Y ON B (Y, Z)".to_string(),
            "CREATE INDEX IX_A_Y ON A (Y)".to_string(),
            "CREATE INDEX odd".to_string(),
        ];
        let refs: Vec<&String> = creates.iter().collect();
        assert_eq!(
            index_statements(Dialect::Mysql, &refs),
            [
                "ALTER TABLE A ADD INDEX IX_A_X (X), ADD INDEX IX_A_Y (Y)",
                "ALTER TABLE B ADD UNIQUE INDEX UX_B_Y (Y, Z)",
                "CREATE INDEX odd",
            ]
        );
        assert_eq!(index_statements(Dialect::Postgres, &refs), creates);
    }
}
