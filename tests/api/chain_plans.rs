//! Sub-selects of chains and `_has` sized first on every database (SQLite and MySQL/MariaDB
//! read an `IN (SELECT ...)` first and whole; PostgreSQL follows its estimate of it): a few
//! keys become a bound list, many a correlated `EXISTS` tested while the page is read in key
//! order. The statements are planned as the server plans them, their sub-selects sized on the
//! database, and the plans read back.

use fhir_facade::sql::Dialect;
use sqlx::Row;

use crate::expect::check;
use crate::helpers::{backend, spawn_apps};
use fhir_facade::plan::subquery::{MAX_LISTED, Subqueries};
use fhir_facade::plan::{self, Scope};
use fhir_facade::sql::Value;

use crate::plans::{
    checked_mapping, explain, explain_mysql, request, sized_page, sizing_statements,
};

#[tokio::test]
async fn a_large_reverse_chain_is_a_correlated_exists_read_in_page_order() {
    // Every lab result's patient: more rows than a key list holds.
    let params = [("_has:Observation:patient:category", "laboratory")];
    for dialect in [Dialect::Sqlite, Dialect::Mysql] {
        let Some(b) = backend(dialect) else {
            continue;
        };
        let (stmt, sized, db) = sized_page(&b.url, dialect, "Patient", &params).await;
        assert!(sized > 0, "{dialect}: nothing sized");
        assert!(
            stmt.sql.contains("EXISTS (SELECT 1 FROM"),
            "{dialect}: {}",
            stmt.sql
        );
        match dialect {
            Dialect::Sqlite => {
                let plan = explain(&b.url, dialect, &stmt, false).await;
                assert!(plan.contains("CORRELATED"), "{plan}");
                assert!(!plan.contains("USE TEMP B-TREE FOR ORDER BY"), "{plan}");
                assert!(!plan.contains("LIST SUBQUERY"), "{plan}");
            }
            _ => {
                let rows = explain_mysql(&db, &stmt).await;
                assert!(
                    rows.iter().any(|r| r[0] == "DEPENDENT SUBQUERY"),
                    "{rows:?}"
                );
                let patient = rows.iter().find(|r| r[1] == "PATIENT").expect("PATIENT");
                assert!(!patient[3].contains("filesort"), "{rows:?}");
            }
        }
    }
    // PostgreSQL estimates this one as large too: its own plan of the sub-select is kept.
    if let Some(b) = backend(Dialect::Postgres) {
        let (stmt, sized, _) = sized_page(&b.url, b.dialect, "Patient", &params).await;
        assert!(sized > 0, "nothing sized");
        assert!(stmt.sql.contains("IN (SELECT"), "{}", stmt.sql);
        assert!(!stmt.sql.contains("EXISTS"), "{}", stmt.sql);
    }
}

/// On PostgreSQL a large sub-select becomes a correlated `EXISTS` only when its planner
/// estimates it as small (where it would join it in the wrong order), and that `EXISTS` is
/// tested per row read in key order.
#[tokio::test]
async fn on_postgresql_a_large_sub_select_is_an_exists_only_where_misestimated() {
    let Some(b) = backend(Dialect::Postgres) else {
        return;
    };
    let (m, caps) = checked_mapping(&b.url, Dialect::Postgres).await;
    let params = [("_has:Observation:patient:category", "laboratory")];
    let req = request(&m, "Patient", &params);
    let planned = |estimated: Option<u64>| {
        let mut sizes = Subqueries::default();
        plan::search_sized(&m, &caps, Scope::none(), &req, None, Some(&sizes)).unwrap();
        // One sub-select per source of Observation (five), each recorded as large.
        let asked = sizes.take_asked();
        assert!(!asked.is_empty());
        let many: Vec<Vec<Value>> = (0..=MAX_LISTED as i64)
            .map(|k| vec![Value::Int(k)])
            .collect();
        for s in &asked {
            sizes.record(s, &many);
            let explain = sizes
                .estimate(s, Dialect::Postgres)
                .expect("asks for the estimate");
            assert!(explain.sql.starts_with("EXPLAIN "), "{}", explain.sql);
            if let Some(n) = estimated {
                sizes.record_estimate(s, n);
            }
        }
        plan::search_sized(&m, &caps, Scope::none(), &req, None, Some(&sizes))
            .unwrap()
            .page
            .statement
    };
    let kept = planned(Some(5_000)).sql;
    assert!(
        kept.contains("IN (SELECT") && !kept.contains("EXISTS"),
        "{kept}"
    );
    for estimated in [Some(94), None] {
        let stmt = planned(estimated);
        assert!(stmt.sql.contains("EXISTS (SELECT 1 FROM"), "{}", stmt.sql);
        assert!(stmt.sql.contains(" LIMIT 1 OFFSET 0)"), "{}", stmt.sql);
        // Tested per patient read in key order: not pulled up into a join, no sort.
        let plan = explain(&b.url, Dialect::Postgres, &stmt, false).await;
        assert!(plan.contains("SubPlan"), "{plan}");
        assert!(!plan.contains("Semi Join"), "{plan}");
        assert!(!plan.contains("Sort"), "{plan}");
    }
    // SQLite and MySQL/MariaDB read a sub-select whole whatever they estimate: not asked.
    for dialect in [Dialect::Sqlite, Dialect::Mysql] {
        let sizes = Subqueries::default();
        let s = fhir_facade::sql::Statement {
            sql: "SELECT 1".into(),
            params: Vec::new(),
            parts: None,
        };
        assert!(sizes.estimate(&s, dialect).is_none());
    }
}

#[tokio::test]
async fn a_small_chain_is_a_list_of_bound_keys() {
    let params = [("patient.family", "c")];
    for dialect in Dialect::ALL {
        let Some(b) = backend(dialect) else {
            continue;
        };
        let (stmt, sized, _) = sized_page(&b.url, b.dialect, "Observation", &params).await;
        assert!(sized > 0, "{dialect}: nothing sized");
        assert!(!stmt.sql.contains("IN (SELECT"), "{dialect}: {}", stmt.sql);
        assert!(!stmt.sql.contains("EXISTS"), "{dialect}: {}", stmt.sql);
        let listed = match dialect {
            Dialect::Postgres => " IN ($",
            _ => " IN (?",
        };
        assert!(stmt.sql.contains(listed), "{dialect}: {}", stmt.sql);
    }
}

#[tokio::test]
async fn nested_sub_selects_are_sized_innermost_first() {
    // The code is looked up in the lookup table, then the lab results of that code sized.
    let params = [("_has:Observation:patient:code", "http://loinc.org|2339-0")];
    for dialect in Dialect::ALL {
        let Some(b) = backend(dialect) else {
            continue;
        };
        let (stmt, sized, _) = sized_page(&b.url, dialect, "Patient", &params).await;
        // The lookup, and the lab results of each Observation source.
        assert!(sized >= 2, "{dialect}: {sized} sized");
        assert!(
            !stmt.sql.contains("(SELECT MAP."),
            "{dialect}: {}",
            stmt.sql
        );
        assert!(!stmt.sql.contains("IN (SELECT"), "{dialect}: {}", stmt.sql);
    }
}

/// Both forms answer what the sub-select answers: the served ids equal those of the plain
/// `IN (SELECT ...)` statement run by the test (and of PostgreSQL, which keeps it).
#[tokio::test]
async fn sized_and_plain_forms_select_the_same_resources() {
    for app in spawn_apps().await {
        for (query, sql) in [
            // Correlated (many lab results), and a list of keys (few).
            (
                "Patient?_has:Observation:patient:category=laboratory",
                "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND PAT_ID IN (SELECT PAT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y')",
            ),
            (
                "Patient?_has:Observation:patient:status=corrected",
                "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND PAT_ID IN (SELECT PAT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND RSLT_STAT = 'C')",
            ),
            // Nested: a code looked up in the lookup table, inside the `_has`.
            (
                "Patient?_has:Observation:patient:code=http://loinc.org|2339-0",
                "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND PAT_ID IN (SELECT R.PAT_ID FROM LAB_RESULT R JOIN LAB_TEST_MAP M ON M.LOCAL_CD = R.TEST_CD WHERE R.DEL_FLG <> 'Y' AND M.LOINC_CD = '2339-0')",
            ),
        ] {
            let want = sqlx::query(sql)
                .fetch_all(&app.db)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<i64, _>(0).to_string())
                .collect();
            check(&app, &format!("{query}&_count=50"), want).await;
        }
    }
}

#[tokio::test]
async fn a_sub_select_is_sized_in_the_order_of_an_index_that_serves_it() {
    // Sizing reads 513 rows at most: in the index's order it stops there, where a scan of the
    // table (or a sort of every match) would not. A name prefix where the database has a code
    // point order, a date everywhere.
    let cases: [(&str, &str, &[Dialect]); 2] = [
        ("patient.family", "s", &[Dialect::Sqlite, Dialect::Postgres]),
        ("patient.birthdate", "lt1960", &Dialect::ALL),
    ];
    for (param, value, dialects) in cases {
        for &dialect in dialects {
            let Some(b) = backend(dialect) else {
                continue;
            };
            let (asked, db) =
                sizing_statements(&b.url, dialect, "Condition", &[(param, value)]).await;
            let [probe] = &asked[..] else {
                panic!("{dialect} {param}: {asked:?}");
            };
            let order = probe
                .sql
                .rsplit_once(" ORDER BY ")
                .map(|(_, o)| o.to_lowercase());
            let column = if param.ends_with("family") {
                "lower("
            } else {
                "birth_dt"
            };
            assert!(
                order.as_deref().is_some_and(|o| o.contains(column)),
                "{dialect} {param}: {}",
                probe.sql
            );
            match dialect {
                Dialect::Sqlite => {
                    let plan = explain(&b.url, dialect, probe, false).await;
                    assert!(!plan.contains("USE TEMP B-TREE FOR ORDER BY"), "{plan}");
                    assert!(!plan.contains("SCAN PATIENT"), "{plan}");
                }
                Dialect::Postgres => {
                    let plan = explain(&b.url, dialect, probe, true).await;
                    assert!(!plan.contains("Sort"), "{plan}");
                    assert!(plan.contains("Index Scan"), "{plan}");
                }
                // MariaDB weighs the index against a scan and a sort by cost: on the sample's
                // few thousand patients it scans; the statement is only checked to run.
                Dialect::Mysql => {
                    let rows = explain_mysql(&db, probe).await;
                    assert!(rows.iter().any(|r| r[1] == "PATIENT"), "{rows:?}");
                }
            }
        }
    }
    // Without an order an index serves, none: a token.
    for dialect in Dialect::ALL {
        let Some(b) = backend(dialect) else {
            continue;
        };
        let (asked, _) =
            sizing_statements(&b.url, dialect, "Condition", &[("patient.gender", "male")]).await;
        assert_eq!(asked.len(), 1, "{dialect}");
        assert!(!asked[0].sql.contains("ORDER BY"), "{}", asked[0].sql);
    }
}
