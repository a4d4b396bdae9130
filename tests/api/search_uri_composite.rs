//! `uri` and composite search parameters on every backend, the matches compared with ids
//! computed by SQL written here over the SQLite copy of the same sample data.

use std::collections::BTreeSet;

use serde_json::Value;
use sqlx::Row;

use crate::extra_mapping::{SOURCE_BASE, with_uri_source};
use crate::helpers::{MAPPING, TestApp, backends, settings, spawn_with};

/// Ids selected by `sql` (first column), each with `prefix`.
async fn expected(app: &TestApp, prefix: &str, sql: &str) -> BTreeSet<String> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|r| format!("{prefix}{}", r.get::<i64, _>(0)))
        .collect()
}

/// Every id of every page of `query`.
async fn all_ids(app: &TestApp, query: &str) -> BTreeSet<String> {
    let mut url = format!("{}/{query}", app.base);
    let mut ids = BTreeSet::new();
    loop {
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}: {url}", app.dialect);
        let bundle: Value = res.json().await.unwrap();
        crate::fhir_schema::assert_valid(&bundle);
        for e in bundle["entry"].as_array().into_iter().flatten() {
            let id = e["resource"]["id"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "{}: {id} twice", app.dialect);
        }
        match bundle["link"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["relation"] == "next")
        {
            Some(next) => url = next["url"].as_str().unwrap().to_string(),
            None => break,
        }
    }
    ids
}

async fn check(app: &TestApp, query: &str, want: &BTreeSet<String>) {
    assert_eq!(&all_ids(app, query).await, want, "{}: {query}", app.dialect);
}

/// The 400 OperationOutcome's diagnostics for `query`.
async fn rejected(app: &TestApp, query: &str) -> String {
    let (status, body) = app.get(query).await;
    assert_eq!(status, 400, "{}: {query}: {body}", app.dialect);
    assert_eq!(body["resourceType"], "OperationOutcome");
    body["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// A server per backend over the sample mapping with `Organization.meta.source` mapped.
async fn spawn_uri_apps() -> Vec<TestApp> {
    let text = with_uri_source(&std::fs::read_to_string(MAPPING).unwrap());
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let mut apps = Vec::new();
    for b in backends() {
        apps.push(spawn_with(b, settings(&b.url, file.path().to_str().unwrap())).await);
    }
    apps
}

const DEPTS: &str = "SELECT DEPT_ID FROM DEPT WHERE";
const IN_DEPT: &str = "DEPT_TYP NOT IN ('HOSP', 'PHAR')";

#[tokio::test]
async fn uri_searches_exact_below_above_missing() {
    for app in spawn_uri_apps().await {
        let hospital_1 = expected(
            &app,
            "",
            &format!("{DEPTS} DEPT_TYP = 'HOSP' AND DEPT_ID = 1"),
        )
        .await;
        assert_eq!(hospital_1.len(), 1);
        check(
            &app,
            &format!("Organization?_source={SOURCE_BASE}1"),
            &hospital_1,
        )
        .await;
        // Exact and case-sensitive.
        check(
            &app,
            &format!("Organization?_source={SOURCE_BASE}1/"),
            &BTreeSet::new(),
        )
        .await;
        check(
            &app,
            "Organization?_source=HTTP://HOSPITAL.EXAMPLE.ORG/fhir/org/1",
            &BTreeSet::new(),
        )
        .await;

        let under_1 = expected(
            &app,
            "",
            &format!("{DEPTS} {IN_DEPT} AND PARENT_DEPT_ID = 1"),
        )
        .await;
        assert!(!under_1.is_empty());
        check(
            &app,
            &format!("Organization?_source:below={SOURCE_BASE}1/"),
            &under_1,
        )
        .await;
        let starting_1 = expected(
            &app,
            "",
            &format!(
                "{DEPTS} (DEPT_TYP = 'HOSP' AND CAST(DEPT_ID AS TEXT) LIKE '1%') \
                 OR ({IN_DEPT} AND CAST(PARENT_DEPT_ID AS TEXT) LIKE '1%')"
            ),
        )
        .await;
        assert!(starting_1.len() > under_1.len());
        check(
            &app,
            &format!("Organization?_source:below={SOURCE_BASE}1"),
            &starting_1,
        )
        .await;
        let with_source = expected(&app, "", &format!("{DEPTS} DEPT_TYP <> 'PHAR'")).await;
        check(
            &app,
            &format!("Organization?_source:below={SOURCE_BASE}"),
            &with_source,
        )
        .await;
        check(&app, "Organization?_source:missing=false", &with_source).await;
        check(
            &app,
            "Organization?_source:below=http://hospital.example.org/FHIR/",
            &BTreeSet::new(),
        )
        .await;
        let pharmacies = expected(&app, "", &format!("{DEPTS} DEPT_TYP = 'PHAR'")).await;
        assert!(!pharmacies.is_empty());
        check(&app, "Organization?_source:missing=true", &pharmacies).await;

        // :above: the department's own URL and its hospital's (a parent path).
        let row = sqlx::query(
            "SELECT DEPT_ID, PARENT_DEPT_ID, TRIM(DEPT_CD) FROM DEPT \
             WHERE DEPT_TYP NOT IN ('HOSP', 'PHAR') ORDER BY DEPT_ID LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        let (dept, parent, code): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        let want: BTreeSet<String> = [dept.to_string(), parent.to_string()].into();
        check(
            &app,
            &format!("Organization?_source:above={SOURCE_BASE}{parent}/{code}/_history/2"),
            &want,
        )
        .await;
        check(
            &app,
            &format!(
                "Organization?_source:above={SOURCE_BASE}{parent}/{}",
                code.to_lowercase()
            ),
            &[parent.to_string()].into(),
        )
        .await;

        let msg = rejected(&app, "Organization?_source:above=urn:oid:1.2.3").await;
        assert!(msg.contains("applies to URLs"), "{msg}");
        let msg = rejected(&app, "Organization?_source:contains=x").await;
        assert!(msg.contains("_source"), "{msg}");

        let (_, cs) = app.get("metadata").await;
        let org = cs["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Organization")
            .unwrap();
        let source = org["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "_source")
            .expect("_source is listed");
        assert_eq!(source["type"], "uri");
        assert!(
            source["documentation"]
                .as_str()
                .unwrap()
                .contains("below, above"),
            "{source}"
        );
    }
}
