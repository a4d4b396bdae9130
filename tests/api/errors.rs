//! Every failure a client can cause answers the right status with an OperationOutcome.

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{TestApp, spawn_apps};

async fn outcome(
    app: &TestApp,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut req = app.client.request(method, format!("{}/{path}", app.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(
        ct.starts_with("application/fhir+json"),
        "{path}: content-type {ct}"
    );
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome", "{path}: {body}");
    crate::fhir_schema::assert_valid(&body);
    (status, body)
}

fn diagnostics(body: &Value) -> &str {
    body["issue"][0]["diagnostics"].as_str().unwrap()
}

#[tokio::test]
async fn unknown_types_and_ids_are_404() {
    for app in spawn_apps().await {
        let (s, b) = outcome(&app, Method::GET, "Foo/1", &[]).await;
        assert_eq!(s, 404);
        assert!(diagnostics(&b).contains("not a FHIR R4 resource type"));
        let (s, b) = outcome(&app, Method::GET, "Medication/1", &[]).await;
        assert_eq!(s, 404);
        assert!(diagnostics(&b).contains("not served"));
        let (s, b) = outcome(&app, Method::GET, "Patient/999999", &[]).await;
        assert_eq!(s, 404);
        assert_eq!(b["issue"][0]["code"], "not-found");
        // Ids of a prefixed source that no source serves, or with a non-numeric key.
        for path in [
            "Observation/999",
            "Observation/lab-abc",
            "Observation/vs-xx-1",
            "Patient/1.5",
        ] {
            assert_eq!(outcome(&app, Method::GET, path, &[]).await.0, 404, "{path}");
        }
        assert_eq!(
            outcome(&app, Method::GET, "Patient/1/_history", &[])
                .await
                .0,
            404
        );
    }
}

#[tokio::test]
async fn malformed_ids_are_400() {
    for app in spawn_apps().await {
        for id in ["a_b", "a%20b", &"x".repeat(65), "%C3%A9"] {
            let (s, b) = outcome(&app, Method::GET, &format!("Patient/{id}"), &[]).await;
            assert_eq!(s, 400, "{id}");
            assert!(diagnostics(&b).contains("not a valid FHIR id"));
        }
    }
}

#[tokio::test]
async fn writes_are_405() {
    for app in spawn_apps().await {
        for (m, path) in [
            (Method::POST, "Patient"),
            (Method::PUT, "Patient/1"),
            (Method::PATCH, "Patient/1"),
            (Method::DELETE, "Patient/1"),
            (Method::POST, ""),
            (Method::DELETE, "metadata"),
        ] {
            let (s, b) = outcome(&app, m.clone(), path, &[]).await;
            assert_eq!(s, 405, "{m} {path}");
            assert!(diagnostics(&b).contains("read-only"));
        }
        let res = app
            .client
            .delete(format!("{}/Patient/1", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["allow"], "GET, HEAD");
    }
}

#[tokio::test]
async fn rdf_only_is_406_and_json_variants_work() {
    for app in spawn_apps().await {
        for (path, headers) in [
            ("Patient/1?_format=ttl", vec![]),
            ("Patient/1?_format=application/fhir%2Bturtle", vec![]),
            ("Patient/1", vec![("accept", "text/turtle")]),
            (
                "metadata",
                vec![("accept", "application/fhir+xml; fhirVersion=3.0")],
            ),
        ] {
            let (s, _) = outcome(&app, Method::GET, path, &headers).await;
            assert_eq!(s, 406, "{path} {headers:?}");
        }
        for (query, accept, ct) in [
            ("_format=json", None, "application/fhir+json"),
            ("_format=application/json", None, "application/json"),
            (
                "_format=application/fhir%2Bjson",
                None,
                "application/fhir+json",
            ),
            ("", Some("application/json"), "application/json"),
            ("", Some("application/fhir+json"), "application/fhir+json"),
            ("", Some("text/html,*/*;q=0.8"), "application/fhir+json"),
            ("_pretty=true", None, "application/fhir+json"),
        ] {
            let mut req = app.client.get(format!("{}/Patient/1?{query}", app.base));
            if let Some(a) = accept {
                req = req.header("accept", a);
            }
            let res = req.send().await.unwrap();
            assert_eq!(res.status(), 200, "{query} {accept:?}");
            let got = res.headers()["content-type"].to_str().unwrap().to_string();
            assert!(got.starts_with(ct), "{query} {accept:?}: {got}");
            let text = res.text().await.unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            assert_eq!(v["id"], "1");
            assert_eq!(query == "_pretty=true", text.contains('\n'));
        }
    }
}

#[tokio::test]
async fn search_errors_are_400_with_outcomes() {
    for app in spawn_apps().await {
        for (path, needle) in [
            // Unsupported modifiers and invalid values are errors whatever the handling (the
            // server's default here is lenient).
            (
                "Patient?gender:exact=male",
                "modifier ':exact' is not supported",
            ),
            ("Patient?_count=abc", "_count must be a whole number"),
            ("Patient?_count=100000", "_count must be at most"),
            ("Patient?_total=maybe", "_total must be"),
            ("Patient?_summary=maybe", "_summary must be"),
            (
                "Patient?_summary=true&_elements=name",
                "cannot be combined with _elements",
            ),
            ("Patient/1?_summary=count", "searches only"),
            (
                "Patient/1?_summary=data&_elements=name",
                "cannot be combined",
            ),
            ("Patient?_cursor=abc.def", "_cursor is invalid"),
            (
                "Patient?_sort=identifier",
                "cannot be sorted on 'identifier'",
            ),
            (
                "Observation?_sort=value-quantity",
                "store 'value-quantity' differently",
            ),
            ("Observation?value-quantity=abc", "is not a number"),
            ("Observation?subject=Patient/", "is not a reference"),
            ("Patient?family=", "has an empty value"),
            ("Patient?gender:missing=maybe", "takes true or false"),
            (
                "Patient?identifier:of-type=a|b",
                "of-type takes type-system|type-code|value",
            ),
        ] {
            let (s, b) = outcome(&app, Method::GET, path, &[]).await;
            assert_eq!(s, 400, "{}: {path}: {b}", app.dialect);
            assert!(diagnostics(&b).contains(needle), "{path}: {b}");
        }
        assert_eq!(outcome(&app, Method::GET, "Foo?x=1", &[]).await.0, 404);
        let (s, b) = outcome(&app, Method::GET, "Observation?_sort=-_id", &[]).await;
        assert_eq!(s, 400, "{b}");
        assert!(diagnostics(&b).contains("several sources"));
        let res = app
            .client
            .post(format!("{}/Patient/_search", app.base))
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
        // A cursor of another search is refused.
        let (_, first) = app.get("Patient?gender=female&_count=2").await;
        let next = first["link"][1]["url"].as_str().unwrap().to_string();
        let token = next.split("_cursor=").nth(1).unwrap();
        let (s, _) = outcome(
            &app,
            Method::GET,
            &format!("Patient?gender=male&_count=2&_cursor={token}"),
            &[],
        )
        .await;
        assert_eq!(s, 400);
    }
}
