//! Sub-selects of chains and `_has` sized first on SQLite and MySQL/MariaDB (which read an
//! `IN (SELECT ...)` first and whole): a few keys become a bound list, many a correlated
//! `EXISTS` tested while the page is read in key order. The statements are planned as the
//! server plans them, their sub-selects sized on the database, and the plans read back.

use std::time::Duration;

use fhir_facade::db::{Database, DbSettings};
use fhir_facade::plan::subquery::Subqueries;
use fhir_facade::plan::{self, Scope};
use fhir_facade::request::search::{SearchOptions, SearchRequest};
use fhir_facade::sql::{Dialect, Statement, Value};
use sqlx::Row;

use crate::helpers::{Backend, backend, spawn_apps};
use crate::plans::{checked_mapping, explain};

/// The page statement of `resource?params` with its sub-selects sized on `b`, and how many
/// sub-selects were sized.
async fn sized_page(
    b: &Backend,
    resource: &str,
    params: &[(&str, &str)],
) -> (Statement, usize, Database) {
    let (m, caps) = checked_mapping(&b.url, b.dialect).await;
    let db = Database::connect(&DbSettings {
        url: b.url.clone(),
        replicas: vec![],
        max_connections: 1,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
        budget: Default::default(),
    })
    .await
    .unwrap();
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = SearchOptions {
        base_url: "http://localhost/fhir",
        max_count: 1000,
        max_chain_depth: 3,
        lenient: false,
        limits: Default::default(),
    };
    let req = SearchRequest::parse(&m, &opts, resource, &params).unwrap();
    let mut sizes = Subqueries::default();
    let asked = {
        let first = plan::search_sized(&m, &caps, Scope::none(), &req, None, Some(&sizes));
        first.unwrap();
        sizes.take_asked()
    };
    for s in &asked {
        let rows = db.fetch(&Subqueries::probe(s)).await.unwrap();
        sizes.record(s, &rows);
    }
    let plan = plan::search_sized(&m, &caps, Scope::none(), &req, None, Some(&sizes)).unwrap();
    (plan.page.statement.clone(), asked.len(), db)
}

/// MySQL/MariaDB EXPLAIN rows (select_type, table, key, Extra), explained on a connection
/// of the server's own pool (whose sessions set the optimizer switches it relies on).
async fn explain_mysql(db: &Database, stmt: &Statement) -> Vec<[String; 4]> {
    let explain = Statement {
        sql: format!("EXPLAIN {}", stmt.sql),
        params: stmt.params.clone(),
    };
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        Value::Null => String::new(),
        other => format!("{other:?}"),
    };
    db.fetch(&explain)
        .await
        .unwrap()
        .iter()
        .map(|r| [1, 2, 5, 9].map(|i| r.get(i).map(text).unwrap_or_default()))
        .collect()
}

#[tokio::test]
async fn a_large_reverse_chain_is_a_correlated_exists_read_in_page_order() {
    // Every lab result's patient: more rows than a key list holds.
    let params = [("_has:Observation:patient:category", "laboratory")];
    for dialect in [Dialect::Sqlite, Dialect::Mysql] {
        let Some(b) = backend(dialect) else {
            continue;
        };
        let (stmt, sized, db) = sized_page(b, "Patient", &params).await;
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
}

#[tokio::test]
async fn a_small_chain_is_a_list_of_bound_keys() {
    let params = [("patient.family", "c")];
    for dialect in [Dialect::Sqlite, Dialect::Mysql] {
        let Some(b) = backend(dialect) else {
            continue;
        };
        let (stmt, sized, _) = sized_page(b, "Observation", &params).await;
        assert!(sized > 0, "{dialect}: nothing sized");
        assert!(!stmt.sql.contains("IN (SELECT"), "{dialect}: {}", stmt.sql);
        assert!(!stmt.sql.contains("EXISTS"), "{dialect}: {}", stmt.sql);
        assert!(stmt.sql.contains(" IN (?"), "{dialect}: {}", stmt.sql);
    }
    // PostgreSQL chooses by cost: nothing is sized, the sub-select stays.
    if let Some(b) = backend(Dialect::Postgres) {
        let (stmt, sized, _) = sized_page(b, "Observation", &params).await;
        assert_eq!(sized, 0);
        assert!(stmt.sql.contains("IN (SELECT"), "{}", stmt.sql);
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
        ] {
            let mut want: Vec<String> = sqlx::query(sql)
                .fetch_all(&app.db)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<i64, _>(0).to_string())
                .collect();
            want.sort();
            let mut got = Vec::new();
            let mut url = format!("{}/{query}&_count=50", app.base);
            loop {
                let bundle: serde_json::Value = app
                    .client
                    .get(&url)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for e in bundle["entry"].as_array().into_iter().flatten() {
                    got.push(e["resource"]["id"].as_str().unwrap().to_string());
                }
                let next = bundle["link"]
                    .as_array()
                    .and_then(|ls| ls.iter().find(|l| l["relation"] == "next"))
                    .and_then(|l| l["url"].as_str())
                    .map(str::to_string);
                match next {
                    Some(n) => url = n,
                    None => break,
                }
            }
            got.sort();
            assert_eq!(got, want, "{}: {query}", app.dialect);
        }
    }
}
