//! A read with child tables is one statement (docs/mapping.md §1): the resource's row and the
//! rows of each child table keyed by its id, each child reached through its key index. What it
//! answers is what the search of the same id answers, whose child rows are read apart, one
//! statement per child table; a child keyed by another column of the row is read apart.

use std::collections::BTreeMap;

use fhir_facade::plan::{self, Scope};
use fhir_facade::sql::Dialect;
use serde_json::Value;

use crate::extra_mapping::{BP_CHILD_PREFIX, extended};
use crate::helpers::{MAPPING, TestApp, backends, settings, spawn_apps, spawn_with};
use crate::plans::{checked_mapping, connect, explain, explain_mysql};

/// GET `path`: status, the number of statements it ran (0 when not said), and the body.
async fn get(app: &TestApp, path: &str) -> (u16, usize, Value) {
    let res = app
        .client
        .get(format!("{}/{path}", app.base))
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let statements = res
        .headers()
        .get("x-sql-statements")
        .map_or(0, |v| v.to_str().unwrap().parse().unwrap());
    (status, statements, res.json().await.unwrap())
}

/// The resources of the searchset at `path`, by id (their child rows read apart).
async fn searched(app: &TestApp, path: &str) -> BTreeMap<String, Value> {
    let (status, _, bundle) = get(app, path).await;
    assert_eq!(status, 200, "{}: {path}: {bundle}", app.dialect);
    bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let r = e["resource"].clone();
            (r["id"].as_str().unwrap().to_string(), r)
        })
        .collect()
}

#[tokio::test]
async fn a_read_with_child_tables_is_one_statement_and_answers_as_the_search_does() {
    for app in spawn_apps().await {
        let patients = searched(&app, "Patient?_count=1000").await;
        assert!(patients.len() > 100, "{}", app.dialect);
        let mut with_children = 0;
        for (id, want) in &patients {
            let (status, statements, got) = get(&app, &format!("Patient/{id}")).await;
            assert_eq!(status, 200, "{}: Patient/{id}", app.dialect);
            assert_eq!(statements, 1, "{}: Patient/{id}", app.dialect);
            assert_eq!(&got, want, "{}: Patient/{id}", app.dialect);
            if ["identifier", "telecom", "address"]
                .iter()
                .all(|p| got.get(*p).is_some())
            {
                with_children += 1;
            }
        }
        assert!(with_children > 10, "{}: {with_children}", app.dialect);
        // Soft-deleted or unknown: 404 in one statement.
        let (status, _, _) = get(&app, "Patient/999999").await;
        assert_eq!(status, 404, "{}", app.dialect);
    }
}

/// The sample mapping with the blood-pressure source of `extra_mapping.rs` (its components a
/// child `sql` query keyed by the id), given notes from the patient's phone numbers: a child
/// keyed by another column of the row (`parent_key = "PAT_ID"`), which is read apart.
fn mapping_with_a_child_read_apart() -> tempfile::TempPath {
    let text = extended(&std::fs::read_to_string(MAPPING).unwrap())
        + r#"
[[resource.child]]
path = "note"
table = "PAT_PHONE"
alias = "PHONES"
key = "PAT_ID"
parent_key = "PAT_ID"
filter = "PHONE_TYP <> 'X'"
order_by = "SEQ_NO DESC"
[resource.child.elements]
text = "PHONE_NO"
"#;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    file.into_temp_path()
}

#[tokio::test]
async fn a_child_query_is_read_with_the_row_and_a_child_on_another_key_apart() {
    let file = mapping_with_a_child_read_apart();
    for b in backends() {
        let app = spawn_with(b, settings(&b.url, file.to_str().unwrap())).await;
        let ids: Vec<String> = sqlx::query_scalar::<_, i64>(
            "SELECT VS_ID FROM VITALS WHERE DEL_FLG <> 'Y' AND (BP_SYS IS NOT NULL OR BP_DIA IS NOT NULL) ORDER BY VS_ID LIMIT 40",
        )
        .fetch_all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|k| format!("{BP_CHILD_PREFIX}{k}"))
        .collect();
        let found = searched(
            &app,
            &format!("Observation?_id={}&_count=100", ids.join(",")),
        )
        .await;
        assert_eq!(found.len(), ids.len(), "{}", app.dialect);
        assert!(found.len() > 20, "{}: {}", app.dialect, found.len());
        let (mut components, mut notes) = (0, 0);
        for (id, want) in &found {
            let (status, statements, got) = get(&app, &format!("Observation/{id}")).await;
            assert_eq!(status, 200, "{}: {id}", app.dialect);
            // The row with its components, then the notes apart.
            assert_eq!(statements, 2, "{}: {id}", app.dialect);
            assert_eq!(&got, want, "{}: {id}", app.dialect);
            components += got["component"].as_array().map_or(0, Vec::len);
            notes += got["note"].as_array().map_or(0, Vec::len);
        }
        assert!(components > found.len() && notes > 0, "{}", app.dialect);
    }
}

#[tokio::test]
async fn each_child_table_of_a_read_is_reached_by_its_key_index() {
    let children = ["PAT_IDENT", "PAT_PHONE", "PAT_ADDR"];
    for b in backends() {
        let (m, caps) = checked_mapping(&b.url, b.dialect).await;
        let read = plan::read(&m, &caps, Scope::none(), "Patient", "1")
            .unwrap()
            .unwrap();
        assert!(read.children.is_some(), "{}", b.dialect);
        match b.dialect {
            Dialect::Sqlite => {
                let plan = explain(&b.url, b.dialect, &read.statement, false).await;
                for t in children.iter().chain(&["PATIENT"]) {
                    assert!(
                        plan.lines()
                            .any(|l| l.contains(&format!("SEARCH {t} USING "))),
                        "{t}:\n{plan}"
                    );
                    assert!(!plan.contains(&format!("SCAN {t}")), "{t}:\n{plan}");
                }
            }
            Dialect::Postgres => {
                // Sequential scans off: one remains only where no index can serve.
                let plan = explain(&b.url, b.dialect, &read.statement, true).await;
                for t in children.iter().chain(&["PATIENT"]) {
                    let t = t.to_ascii_lowercase();
                    assert!(
                        plan.lines()
                            .any(|l| l.contains("Index") && l.contains(&format!(" on {t} "))),
                        "{t}:\n{plan}"
                    );
                    assert!(!plan.contains(&format!("Seq Scan on {t}")), "{t}:\n{plan}");
                }
            }
            Dialect::Mysql => {
                let db = connect(&b.url).await;
                let rows = explain_mysql(&db, &read.statement).await;
                for t in children.iter().chain(&["PATIENT"]) {
                    let row = rows
                        .iter()
                        .find(|r| r[1].eq_ignore_ascii_case(t))
                        .unwrap_or_else(|| panic!("{t}: {rows:?}"));
                    assert!(!row[2].is_empty(), "{t} read without an index: {rows:?}");
                }
            }
        }
    }
}
