//! What the tests expect, computed independently of the code under test (SQL written here
//! over the SQLite copy of the sample data), and walkers that collect what the server answers.

use std::collections::BTreeSet;

use serde_json::Value;
use sqlx::Row;

use crate::helpers::TestApp;

/// Ids selected by `sql` (first column), each with `prefix`.
pub async fn expected(app: &TestApp, prefix: &str, sql: &str) -> BTreeSet<String> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&app.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| format!("{prefix}{}", r.get::<i64, _>(0)))
        .collect()
}

/// `Type/id` for each id.
pub fn typed(ty: &str, ids: BTreeSet<String>) -> BTreeSet<String> {
    ids.into_iter().map(|i| format!("{ty}/{i}")).collect()
}

/// Observation ids from all five sources (LAB_RESULT and the four measurements of the wide
/// VITALS row) whose row satisfies `cond` on its own table (PAT_ID, VISIT_ID...).
pub async fn observations_where(app: &TestApp, cond: &str) -> BTreeSet<String> {
    let mut ids = expected(
        app,
        "lab-",
        &format!("SELECT RSLT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND {cond}"),
    )
    .await;
    for (prefix, present) in [
        ("vs-hr-", "HR IS NOT NULL"),
        ("vs-bp-", "BP_SYS IS NOT NULL AND BP_DIA IS NOT NULL"),
        ("vs-temp-", "TEMP_F IS NOT NULL"),
        ("vs-wt-", "WT_KG IS NOT NULL"),
    ] {
        ids.extend(
            expected(
                app,
                prefix,
                &format!("SELECT VS_ID FROM VITALS WHERE DEL_FLG <> 'Y' AND {present} AND {cond}"),
            )
            .await,
        );
    }
    ids
}

/// `Type/id` of every match of every page of `path`, following the next links; checks each
/// Bundle against the FHIR schema, the entries' `fullUrl`, and that nothing comes twice.
pub async fn all_entries(app: &TestApp, path: &str) -> Vec<String> {
    walk(app, path).await.0
}

/// `Type/id` of the matches (in order, each once) and of the included resources (each once a
/// page, possibly on several pages) of every page of `path`.
pub async fn walk(app: &TestApp, path: &str) -> (Vec<String>, BTreeSet<String>) {
    let mut url = format!("{}/{path}", app.base);
    let mut out = Vec::new();
    let mut included = BTreeSet::new();
    for _ in 0..500 {
        let res = app.client.get(&url).send().await.unwrap();
        assert_eq!(res.status(), 200, "{}: {url}", app.dialect);
        let bundle: Value = res.json().await.unwrap();
        crate::fhir_schema::assert_valid(&bundle);
        assert_eq!(bundle["type"], "searchset");
        let mut on_page = BTreeSet::new();
        for e in bundle["entry"].as_array().into_iter().flatten() {
            let mode = e["search"]["mode"].as_str().unwrap();
            if mode == "outcome" {
                continue;
            }
            let r = &e["resource"];
            let key = format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            );
            assert_eq!(e["fullUrl"], format!("{}/{key}", app.base));
            assert!(
                on_page.insert(key.clone()),
                "{}: {key} twice on a page of {path}",
                app.dialect
            );
            match mode {
                "match" => {
                    assert!(
                        !out.contains(&key),
                        "{}: {key} served twice by {path}",
                        app.dialect
                    );
                    out.push(key);
                }
                "include" => {
                    included.insert(key);
                }
                other => panic!("{}: search.mode {other} in {path}", app.dialect),
            }
        }
        match next_link(&bundle) {
            Some(next) => url = next,
            None => return (out, included),
        }
    }
    panic!("{}: too many pages: {path}", app.dialect);
}

/// The Bundle's `next` link.
pub fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_string())
}

/// The ids of every match of every page of `query` (of one type), in the order served.
pub async fn all_pages(app: &TestApp, query: &str) -> Vec<String> {
    all_entries(app, query)
        .await
        .into_iter()
        .map(|k| k.split_once('/').unwrap().1.to_string())
        .collect()
}

/// Asserts that `query` matches exactly the ids `want`.
pub async fn check(app: &TestApp, query: &str, want: BTreeSet<String>) {
    let got: BTreeSet<String> = all_pages(app, query).await.into_iter().collect();
    assert_eq!(got, want, "{}: {query}", app.dialect);
}

/// The diagnostics of the 400 OperationOutcome `path` must answer with strict handling
/// (`Prefer: handling=strict`: unknown parameters are refused too, not ignored).
pub async fn rejected(app: &TestApp, path: &str) -> String {
    let res = app
        .client
        .get(format!("{}/{path}", app.base))
        .header("prefer", "handling=strict")
        .send()
        .await
        .expect("request");
    let status = res.status().as_u16();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    assert_eq!(status, 400, "{}: {path}: {body}", app.dialect);
    assert_eq!(body["resourceType"], "OperationOutcome");
    body["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
