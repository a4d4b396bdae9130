//! A starts-with name search without `_sort` pages in the order of the index that serves it
//! (`LOWER(LAST_NM)`), so a first page reads about `_count` index entries however many
//! patients match; and paging that order returns every match once.

use std::collections::{BTreeSet, HashMap};

use fhir_facade::request::cursor::Cursor;
use fhir_facade::sql::{Dialect, Value};
use sqlx::Row;

use crate::expect::all_pages;
use crate::helpers::{backend, spawn_apps};
use crate::plans::{explain, page_statement};

/// PATIENT is read through `IX_PATIENT_LAST_NM_LC` and its rows are not sorted apart.
fn check(dialect: Dialect, plan: &str) -> Result<(), String> {
    match dialect {
        Dialect::Sqlite => {
            if !plan.contains("USING INDEX IX_PATIENT_LAST_NM_LC") {
                return Err("not through the name index".into());
            }
            if plan.contains("USE TEMP B-TREE FOR ORDER BY") {
                return Err("the rows are sorted apart".into());
            }
        }
        _ => {
            if !plan.contains("using ix_patient_last_nm_lc on patient") {
                return Err("not through the name index".into());
            }
            // The index keeps (name, key) order: a sort only ever sorts the few rows of the
            // keyset's parts (`Append`), never the rows read.
            let lines: Vec<&str> = plan
                .lines()
                .map(|l| l.trim_start().trim_start_matches("->  "))
                .collect();
            for (i, node) in lines.iter().enumerate() {
                if node.starts_with("Sort  (") || node.starts_with("Incremental Sort  (") {
                    let input = lines[i + 1..]
                        .iter()
                        .find(|l| !l.starts_with("Sort Key") && !l.starts_with("Presorted Key"))
                        .copied()
                        .unwrap_or_default();
                    if !input.starts_with("Append") && !input.starts_with("Merge Append") {
                        return Err(format!("sorts the rows read: {input}"));
                    }
                }
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn a_name_search_without_sort_reads_the_name_index_in_order() {
    let after = Cursor {
        source: 0,
        sort: vec![Value::Text("sm".into())],
        after: Some(Value::Int(1)),
    };
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let Some(b) = backend(dialect) else {
            continue;
        };
        for (n, k) in [None, Some(&after)].into_iter().enumerate() {
            let params = [("family", "s"), ("_count", "5")];
            let stmt = page_statement(&b.url, dialect, "Patient", &params, k).await;
            assert!(stmt.sql.contains("ORDER BY LOWER("), "{}", stmt.sql);
            let plan = explain(&b.url, dialect, &stmt, true).await;
            if let Err(e) = check(dialect, &plan) {
                panic!("{dialect} page {}: {e}\n{plan}\n{}", n + 1, stmt.sql);
            }
        }
    }
}

#[tokio::test]
async fn the_checks_reject_a_sorted_name_search() {
    assert!(check(Dialect::Sqlite, "3 0 SEARCH PATIENT USING INDEX IX_PATIENT_LAST_NM_LC (<expr>>? AND <expr><?)\n20 0 USE TEMP B-TREE FOR ORDER BY").is_err());
    let postgres = "Limit  (cost=1.00..2.00 rows=6 width=117)
  ->  Sort  (cost=1.00..2.00 rows=116 width=117)
        Sort Key: pat_id
        ->  Index Scan using ix_patient_last_nm_lc on patient  (cost=0.14..18.24 rows=116 width=117)";
    assert!(check(Dialect::Postgres, postgres).is_err());
}

#[tokio::test]
async fn paging_a_name_search_in_name_order_returns_every_match_once() {
    for app in spawn_apps().await {
        let names: HashMap<String, String> = sqlx::query("SELECT PAT_ID, LAST_NM FROM PATIENT")
            .fetch_all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get::<i64, _>(0).to_string(), r.get::<String, _>(1)))
            .collect();
        // Small pages, so that runs of one family name cross page boundaries.
        for prefix in ["c", "r", "m"] {
            // Every page, each match once (checked by the walk).
            let served = all_pages(&app, &format!("Patient?family={prefix}&_count=2")).await;
            let want: BTreeSet<String> = sqlx::query(
                "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND LOWER(LAST_NM) LIKE ? || '%'",
            )
            .bind(prefix)
            .fetch_all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>(0).to_string())
            .collect();
            assert!(want.len() > 6, "{prefix}: too few matches to page");
            let got: BTreeSet<String> = served.iter().cloned().collect();
            assert_eq!(got, want, "{}: family={prefix}", app.dialect);
            // In name order where the database keeps an index order (not MySQL/MariaDB).
            if app.dialect != Dialect::Mysql {
                let order: Vec<String> = served.iter().map(|id| names[id].to_lowercase()).collect();
                let mut sorted = order.clone();
                sorted.sort();
                assert_eq!(order, sorted, "{}: family={prefix}", app.dialect);
            }
        }
    }
}
