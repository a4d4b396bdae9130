//! A starts-with name search or a date search without `_sort` pages in the order of the index
//! that serves it (`LOWER(LAST_NM)`, `BIRTH_DT`), so a first page reads about `_count` index
//! entries however many rows match; and paging that order returns every match once.

use std::collections::{BTreeSet, HashMap};

use fhir_facade::request::cursor::Cursor;
use fhir_facade::sql::{Dialect, Value};
use sqlx::Row;

use crate::expect::all_pages;
use crate::helpers::{backend, spawn_apps};
use crate::plans::{connect, explain, explain_mysql, page_statement};

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

/// PostgreSQL reads `IX_PATIENT_BIRTH_DT` and sorts no rows it read (but those of the part
/// for patients without a birth date, which is always empty).
fn postgres_date_plan(plan: &str) -> Result<(), String> {
    let lines: Vec<&str> = plan.lines().map(str::trim_start).collect();
    let scans: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("using ix_patient_birth_dt on patient"))
        .collect();
    if scans.is_empty() {
        return Err("not through the date index".into());
    }
    for i in scans {
        // The node above the scan (skipping that node's details).
        let above = (0..i).rev().find(|&j| j == 0 || lines[j].starts_with("->"));
        let parent = lines[above.unwrap_or(0)].trim_start_matches("->  ");
        let nulls = lines.get(i + 1).is_some_and(|l| l.contains("IS NULL"));
        if parent.starts_with("Sort  (") && !nulls {
            return Err("sorts the rows read".into());
        }
    }
    Ok(())
}

#[tokio::test]
async fn the_date_check_rejects_a_sort_of_the_rows_read() {
    let sorted = "Limit  (cost=1.00..2.00 rows=6 width=117)
  ->  Sort  (cost=1.00..2.00 rows=116 width=117)
        Sort Key: birth_dt, pat_id
        ->  Index Scan using ix_patient_birth_dt on patient  (cost=0.14..18.24 rows=116 width=117)
              Index Cond: (birth_dt < '19900101'::bpchar)";
    assert!(postgres_date_plan(sorted).is_err());
    let incremental = sorted.replace("->  Sort  (", "->  Incremental Sort  (");
    assert!(postgres_date_plan(&incremental).is_ok());
}

#[tokio::test]
async fn a_date_search_without_sort_reads_the_date_index_in_order() {
    let after = Cursor {
        source: 0,
        sort: vec![Value::Text("19600101".into())],
        after: Some(Value::Int(1)),
    };
    for dialect in Dialect::ALL {
        let Some(b) = backend(dialect) else {
            continue;
        };
        for (n, k) in [None, Some(&after)].into_iter().enumerate() {
            let params = [("birthdate", "lt1990"), ("_count", "5")];
            let stmt = page_statement(&b.url, dialect, "Patient", &params, k).await;
            let sql = stmt.sql.to_lowercase().replace(['"', '`'], "");
            assert!(
                sql.contains("order by patient.birth_dt, patient.pat_id"),
                "{}",
                stmt.sql
            );
            let page = n + 1;
            match dialect {
                Dialect::Mysql => {
                    let db = connect(&b.url).await;
                    let rows = explain_mysql(&db, &stmt).await;
                    let patient = rows.iter().find(|r| r[1].eq_ignore_ascii_case("patient"));
                    let patient = patient.unwrap_or_else(|| panic!("page {page}: {rows:?}"));
                    assert!(
                        patient[2].eq_ignore_ascii_case("IX_PATIENT_BIRTH_DT"),
                        "page {page}: {rows:?}"
                    );
                    assert!(!patient[3].contains("filesort"), "page {page}: {rows:?}");
                }
                Dialect::Sqlite => {
                    let plan = explain(&b.url, dialect, &stmt, true).await;
                    assert!(
                        plan.contains("USING INDEX IX_PATIENT_BIRTH_DT"),
                        "page {page}: {plan}"
                    );
                    assert!(!plan.contains("TEMP B-TREE"), "page {page}: {plan}");
                }
                Dialect::Postgres => {
                    // The index orders by date; PostgreSQL sorts the few patients of one date
                    // by key (an incremental sort), never the rows read.
                    let plan = explain(&b.url, dialect, &stmt, true).await;
                    if let Err(e) = postgres_date_plan(&plan) {
                        panic!("page {page}: {e}\n{plan}");
                    }
                }
            }
        }
    }
}

#[tokio::test]
async fn paging_a_date_search_in_date_order_returns_every_match_once() {
    for app in spawn_apps().await {
        let births: HashMap<String, String> =
            sqlx::query("SELECT PAT_ID, BIRTH_DT FROM PATIENT WHERE DEL_FLG <> 'Y'")
                .fetch_all(&app.db)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<i64, _>(0).to_string(), r.get::<String, _>(1)))
                .collect();
        let query = "Patient?birthdate=ge1950&birthdate=lt1980&_count=4";
        let served = all_pages(&app, query).await;
        let want: BTreeSet<String> = births
            .iter()
            .filter(|(_, b)| b.as_str() >= "19500101" && b.as_str() < "19800101")
            .map(|(id, _)| id.clone())
            .collect();
        assert!(want.len() > 12, "too few matches to page");
        let got: BTreeSet<String> = served.iter().cloned().collect();
        assert_eq!(got, want, "{}: {query}", app.dialect);
        assert_eq!(
            served.len(),
            want.len(),
            "{}: {query}: repeated",
            app.dialect
        );
        let order: Vec<&str> = served.iter().map(|id| births[id].as_str()).collect();
        assert!(order.is_sorted(), "{}: {query}: {order:?}", app.dialect);
        // Several sources merged in date order: the same matches as in key order.
        let query = "Observation?date=ge2021&date=lt2022&_count=40";
        let served = all_pages(&app, query).await;
        let keyed = all_pages(&app, &format!("{query}&_sort=_id")).await;
        assert!(
            keyed.len() > 80,
            "{}: too few observations to page",
            app.dialect
        );
        let got: BTreeSet<&String> = served.iter().collect();
        assert_eq!(
            got.len(),
            served.len(),
            "{}: {query}: repeated",
            app.dialect
        );
        assert_eq!(got, keyed.iter().collect(), "{}: {query}", app.dialect);
    }
}
