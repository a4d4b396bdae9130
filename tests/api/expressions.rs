//! Values computed by expressions behave like the columns they come from: a reference
//! written `{ expr = "NULLIF(PCP_PROV_ID, 0)", reference = "Practitioner" }` (the legacy
//! "0 means none") is searched, chained and included with its target's key type on every
//! backend, with the same answers as the column itself.

use std::collections::BTreeSet;

use serde_json::Value;
use sqlx::Row;

use crate::accents::ids;
use crate::helpers::{MAPPING, TestApp, backends, settings, spawn_app_on, spawn_with};

const COLUMN: &str =
    "\"generalPractitioner[0]\" = { column = \"PCP_PROV_ID\", reference = \"Practitioner\" }";
const EXPR: &str = "\"generalPractitioner[0]\" = { expr = \"NULLIF(PCP_PROV_ID, 0)\", reference = \"Practitioner\" }";

/// The included resources of a search, as `Type/id`.
async fn included(app: &TestApp, query: &str) -> BTreeSet<String> {
    let (status, b) = app.get(&format!("Patient?{query}")).await;
    assert_eq!(status, 200, "{}: {query}: {b}", app.dialect);
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "include")
        .map(|e| {
            let r: &Value = &e["resource"];
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect()
}

#[tokio::test]
async fn references_from_expressions_search_chain_and_include_like_columns() {
    let text = std::fs::read_to_string(MAPPING).unwrap();
    assert!(text.contains(COLUMN), "the sample mapping changed");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mapping.toml");
    std::fs::write(&path, text.replacen(COLUMN, EXPR, 1)).unwrap();
    for b in backends() {
        let plain = spawn_app_on(b).await;
        let expr = spawn_with(b, settings(&b.url, path.to_str().unwrap())).await;
        let rows = sqlx::query(
            "SELECT P.PROV_ID, P.LAST_NM FROM PROVIDER P WHERE P.PROV_ID IN \
             (SELECT PCP_PROV_ID FROM PATIENT) ORDER BY P.PROV_ID LIMIT 3",
        )
        .fetch_all(&plain.db)
        .await
        .unwrap();
        assert!(!rows.is_empty());
        for row in rows {
            let id: i64 = row.get(0);
            let family: String = row.get(1);
            for q in [
                format!("general-practitioner={id}"),
                format!("general-practitioner=Practitioner/{id}"),
                format!("general-practitioner:Practitioner.name={family}"),
                format!("general-practitioner:missing=true&family={family}"),
            ] {
                let want = ids(&plain, &q).await;
                assert_eq!(ids(&expr, &q).await, want, "{}: {q}", b.dialect);
            }
            let found = ids(&plain, &format!("general-practitioner={id}")).await;
            assert!(!found.is_empty(), "{}: patients of {id}", b.dialect);
            let first = found.iter().next().unwrap();
            let q = format!("_id={first}&_include=Patient:general-practitioner");
            let want = included(&plain, &q).await;
            assert_eq!(want, BTreeSet::from([format!("Practitioner/{id}")]));
            assert_eq!(included(&expr, &q).await, want, "{}: {q}", b.dialect);
        }
    }
}
