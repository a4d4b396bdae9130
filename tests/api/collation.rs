//! String starts-with under a linguistic collation. Production PostgreSQL databases usually
//! compare text by a language's rules (`en_US.UTF-8`, ICU), where punctuation and digits sort
//! before letters or are ignored at first: there the bound "prefix with its last character
//! incremented" (`schulz` → `schul{`) is no upper bound, so the range must be compared in
//! code point order (the `"C"` collation), and the expression index must be declared in it.
//!
//! Each backend gets a small database of its own whose family names are set here; on
//! PostgreSQL the family name column is declared `COLLATE "en-x-icu"`. Expected matches come
//! from Rust's own `starts_with` on the names.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use fhir_facade::sql::Accents;
use fhir_facade::sql::Dialect;
use sqlx::{Connection, Row};

use crate::accents::{WRAPPER, ids, prepare_names, probe, unaccent_available};
use crate::helpers::{Backend, MAPPING, backend, block_on, settings, spawn_with};
use crate::plans::{explain, page_statement};
use crate::servers::{fresh_database, in_ci};

/// PAT_ID → LAST_NM: names with punctuation, digits and spaces after a common prefix.
const NAMES: [(u32, &str); 8] = [
    (1, "SCHULZ"),
    (2, "SCHULTZ"),
    (3, "O'BRIEN"),
    (4, "OBRIEN"),
    (5, "X9"),
    (6, "SMITH"),
    (7, "SMITH-JONES"),
    (8, "VAN DER BERG"),
];

/// The ICU collation the PostgreSQL tests declare the column in.
const ICU: &str = "en-x-icu";

/// Declares `PATIENT.LAST_NM` in the ICU collation (its indexes are rebuilt in it).
const ICU_COLUMN: &str =
    "ALTER TABLE PATIENT ALTER COLUMN LAST_NM TYPE VARCHAR(35) COLLATE \"en-x-icu\"";

/// The index the docs advise with the unaccent wrapper (docs/mapping.md §12).
const WRAPPER_INDEX: &str = "CREATE INDEX ix_patient_last_nm_unaccent \
    ON PATIENT ((fhir_facade_unaccent(LOWER(LAST_NM)) COLLATE \"C\"))";

/// Whether the PostgreSQL server at `url` has the ICU collation [`ICU`].
async fn icu_available(url: &str) -> bool {
    let mut c = sqlx::PgConnection::connect(url).await.unwrap();
    let n: i64 = sqlx::query("SELECT COUNT(*) FROM pg_collation WHERE collname = $1")
        .bind(ICU)
        .fetch_one(&mut c)
        .await
        .unwrap()
        .get(0);
    n > 0
}

/// The collation databases that can be had here, with what each should find for accents.
/// Made once per run (the tests of this module share them).
fn databases() -> &'static [(Backend, Accents)] {
    static DATABASES: LazyLock<Vec<(Backend, Accents)>> =
        LazyLock::new(|| block_on(make_databases()));
    &DATABASES
}

async fn make_databases() -> Vec<(Backend, Accents)> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap().keep();
    let sqlite = format!("sqlite:{}", dir.join("collation.db").display());
    prepare_names(&sqlite, &NAMES, &[]).await;
    out.push((Dialect::Sqlite, sqlite, Accents::AsStored));

    if let Some(url) = fresh_database(Dialect::Postgres, "fhir_facade_collation").await {
        if icu_available(&url).await {
            prepare_names(&url, &NAMES, &[ICU_COLUMN]).await;
            out.push((Dialect::Postgres, url.clone(), Accents::AsStored));
            if unaccent_available(&url).await {
                let url = fresh_database(Dialect::Postgres, "fhir_facade_collation_ua")
                    .await
                    .unwrap();
                let ext = "CREATE EXTENSION IF NOT EXISTS unaccent";
                prepare_names(&url, &NAMES, &[ICU_COLUMN, ext, WRAPPER, WRAPPER_INDEX]).await;
                let wrapper = Accents::Unaccent("fhir_facade_unaccent".into());
                out.push((Dialect::Postgres, url, wrapper));
            }
        } else {
            assert!(!in_ci(), "CI=true: PostgreSQL has no ICU collation {ICU}");
            eprintln!("NOTICE: skipping the PostgreSQL collation tests: no collation {ICU}");
        }
    }
    if let Some(url) = fresh_database(Dialect::Mysql, "fhir_facade_collation").await {
        prepare_names(&url, &NAMES, &[]).await;
        out.push((Dialect::Mysql, url, Accents::AsStored));
    }
    let mut dbs = Vec::new();
    for (dialect, url, accents) in out {
        assert_eq!(probe(&url).await, accents, "{dialect}: {url}");
        dbs.push((Backend { dialect, url }, accents));
    }
    dbs
}

/// The patients whose family name starts with `prefix`, ignoring case.
fn starting_with(prefix: &str) -> BTreeSet<u32> {
    NAMES
        .iter()
        .filter(|(_, n)| n.to_lowercase().starts_with(&prefix.to_lowercase()))
        .map(|(id, _)| *id)
        .collect()
}

#[tokio::test]
async fn prefixes_match_whatever_the_columns_collation() {
    let mut wrong = Vec::new();
    for (backend, accents) in databases() {
        let app = spawn_with(backend, settings(&backend.url, MAPPING)).await;
        for prefix in [
            "schulz",
            "schul",
            "SCHULT",
            "x9",
            "x",
            "o'",
            "o",
            "ob",
            "smith",
            "smith-",
            "smith-jones",
            "van d",
            "van",
            "s",
            "z",
            "9",
        ] {
            let want = starting_with(prefix);
            let got = ids(&app, &format!("family={prefix}")).await;
            if got != want {
                wrong.push(format!(
                    "{} ({accents:?}): family={prefix} found {got:?}, not {want:?}",
                    backend.dialect
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// PostgreSQL serves `family=smi` from the expression index the schema declares in the `"C"`
/// collation, whatever the column's own collation: on the API test database (default
/// collation) and on the collation databases (an ICU column, and the unaccent wrapper's
/// index). SQLite from its `LOWER(LAST_NM)` index, as before.
#[tokio::test]
async fn the_expression_index_serves_starts_with() {
    let mut dbs: Vec<(Backend, Accents)> = [Dialect::Sqlite, Dialect::Postgres]
        .into_iter()
        .filter_map(backend)
        .map(|b| (b.clone(), Accents::AsStored))
        .collect();
    dbs.extend(
        databases()
            .iter()
            .filter(|(b, _)| b.dialect == Dialect::Postgres)
            .cloned(),
    );
    for (b, accents) in dbs {
        let stmt = page_statement(&b.url, b.dialect, "Patient", &[("family", "smi")], None).await;
        let plan = explain(&b.url, b.dialect, &stmt, false).await;
        let index = match (&accents, b.dialect) {
            (Accents::Unaccent(_), _) => "ix_patient_last_nm_unaccent",
            (_, Dialect::Sqlite) => "IX_PATIENT_LAST_NM_LC",
            _ => "ix_patient_last_nm_lc",
        };
        let used = match b.dialect {
            Dialect::Sqlite => plan.lines().any(|l| {
                l.contains(&format!(
                    "SEARCH PATIENT USING INDEX {index} (<expr>>? AND <expr><?)"
                ))
            }),
            // The index scan, then its condition: the range.
            _ => {
                let lines: Vec<&str> = plan.lines().map(str::trim).collect();
                lines.windows(2).any(|w| {
                    (w[0].contains(&format!("Index Scan using {index} "))
                        || w[0].contains(&format!("Index Scan on {index} ")))
                        && w[1].starts_with("Index Cond: ")
                        && w[1].contains(" >= ")
                        && w[1].contains(" < ")
                })
            }
        };
        assert!(
            used,
            "{} ({accents:?}): {index} does not serve the search\n{plan}\n{}",
            b.dialect, stmt.sql
        );
    }
}
