//! What mainstream FHIR clients send: unknown parameters ignored and reported by default
//! (FHIR search §3.1.1.4) or refused on request (`Prefer: handling=strict`, `--handling
//! strict`); `_count=0` as a count; `$everything` saying which types it cannot reach; and the
//! HTTP variants of older or looser clients (Accept, `_format`, `_pretty`, trailing slashes,
//! `If-None-Match` lists).

use fhir_facade::request::Handling;
use reqwest::StatusCode;
use serde_json::Value;
use sqlx::Row;

use crate::helpers::{MAPPING, TestApp, backends, settings, spawn_apps, spawn_with};

/// GET `path` with `headers`: status and JSON body.
async fn get(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = app.client.get(format!("{}/{path}", app.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

const STRICT: &[(&str, &str)] = &[("prefer", "handling=strict")];
const LENIENT: &[(&str, &str)] = &[("prefer", "handling=lenient")];

fn diagnostics(outcome: &Value) -> Vec<String> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["diagnostics"].as_str().unwrap().to_string())
        .collect()
}

/// The outcome entry of a searchset Bundle, if any.
fn outcome(bundle: &Value) -> Option<&Value> {
    bundle["entry"]
        .as_array()?
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .map(|e| &e["resource"])
}

fn matches(bundle: &Value) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|a| a.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect()
}

async fn count(app: &TestApp, sql: &str) -> u64 {
    let n: i64 = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get(0);
    n.try_into().unwrap()
}

#[tokio::test]
async fn unknown_parameters_are_ignored_and_reported_unless_strict() {
    for app in spawn_apps().await {
        let d = app.dialect;
        // fhirpy's count(): `_totalMethod` is not FHIR; `_count=0` asks for the total only.
        let patients = count(&app, "SELECT COUNT(*) FROM PATIENT WHERE DEL_FLG <> 'Y'").await;
        let (s, b) = get(&app, "Patient?_count=0&_totalMethod=count", &[]).await;
        assert_eq!(s, 200, "{d}: {b}");
        crate::fhir_schema::assert_valid(&b);
        assert_eq!(b["total"], patients, "{d}");
        assert!(matches(&b).is_empty(), "{d}: {b}");
        let o = outcome(&b).expect("an outcome entry");
        assert_eq!(o["issue"][0]["severity"], "warning");
        let text = diagnostics(o).join(" ");
        assert!(
            text.contains("'_totalMethod'") && text.contains("ignored"),
            "{text}"
        );
        let self_link = b["link"][0]["url"].as_str().unwrap();
        assert!(
            !self_link.contains("_totalMethod") && self_link.contains("_count=0"),
            "{self_link}"
        );
        // Strict: refused, naming it.
        let (s, b) = get(&app, "Patient?_count=0&_totalMethod=count", STRICT).await;
        assert_eq!(s, 400, "{d}: {b}");
        assert!(diagnostics(&b)[0].contains("'_totalMethod'"), "{b}");
        // Several unknown ones, each named; the known criteria still apply.
        let females = count(
            &app,
            "SELECT COUNT(*) FROM PATIENT WHERE DEL_FLG <> 'Y' AND SEX_CD = 'F'",
        )
        .await;
        let (s, b) = get(
            &app,
            "Patient?gender=female&_tag=x&foo:exact=1&_count=0",
            &[],
        )
        .await;
        assert_eq!((s, b["total"].as_u64()), (200, Some(females)), "{d}: {b}");
        let text = diagnostics(outcome(&b).unwrap()).join(" ");
        assert!(text.contains("'_tag'") && text.contains("'foo'"), "{text}");
        // A read ignores unknown parameters too, unless strict.
        let (s, b) = get(&app, "Patient/1?foo=bar", &[]).await;
        assert_eq!((s, b["id"].as_str()), (200, Some("1")), "{d}: {b}");
        let (s, b) = get(&app, "Patient/1?foo=bar", STRICT).await;
        assert_eq!(s, 400, "{d}: {b}");
        assert!(diagnostics(&b)[0].contains("'foo'"), "{b}");
        // Unsupported modifiers and invalid values are errors either way.
        for path in [
            "Patient?gender:exact=male",
            "Patient?birthdate=soon",
            "Patient?_count=x",
            "Patient/1?_pretty=maybe",
            "Patient/1/$everything?_count=x",
        ] {
            for headers in [&[][..], LENIENT, STRICT] {
                let (s, b) = get(&app, path, headers).await;
                assert_eq!(s, 400, "{d}: {path} {headers:?}: {b}");
            }
        }
        // $everything: the same.
        let (s, b) = get(&app, "Patient/1/$everything?foo=bar", &[]).await;
        assert_eq!(s, 200, "{d}: {b}");
        assert!(diagnostics(outcome(&b).unwrap())[0].contains("'foo'"));
        let (s, _) = get(&app, "Patient/1/$everything?foo=bar", STRICT).await;
        assert_eq!(s, 400, "{d}");
    }
}

#[tokio::test]
async fn a_strict_server_refuses_unknown_parameters_unless_asked_to_be_lenient() {
    let backend = &backends()[0];
    let mut s = settings(&backend.url, MAPPING);
    s.handling = Handling::Strict;
    let app = spawn_with(backend, s).await;
    let (s, b) = get(&app, "Patient?foo=bar", &[]).await;
    assert_eq!(s, 400, "{b}");
    assert!(diagnostics(&b)[0].contains("unknown search parameter 'foo'"));
    let (s, b) = get(&app, "Patient/1?foo=bar", &[]).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = get(&app, "Patient?foo=bar&_count=1", LENIENT).await;
    assert_eq!(s, 200, "{b}");
    assert!(diagnostics(outcome(&b).unwrap())[0].contains("'foo'"));
    // The CapabilityStatement says which default is in force.
    let (_, cs) = get(&app, "metadata", &[]).await;
    let doc = cs["rest"][0]["documentation"].as_str().unwrap();
    assert!(doc.contains("Default handling: strict"), "{doc}");
    let lenient = spawn_with(backend, settings(&backend.url, MAPPING)).await;
    let (_, cs) = get(&lenient, "metadata", &[]).await;
    let doc = cs["rest"][0]["documentation"].as_str().unwrap();
    assert!(
        doc.contains("Default handling: lenient") && doc.contains("handling=strict"),
        "{doc}"
    );
}

#[tokio::test]
async fn count_zero_answers_the_total_only() {
    for app in spawn_apps().await {
        let d = app.dialect;
        let want = count(
            &app,
            "SELECT COUNT(*) FROM DIAGNOSIS WHERE DEL_FLG <> 'Y' AND TRIM(ICD10_CD) = 'E11.9'",
        )
        .await;
        assert!(want > 0);
        for q in [
            "Condition?code=E11.9&_count=0",
            "Condition?code=E11.9&_summary=count",
            "Condition?code=E11.9&_count=0&_include=Condition:patient",
        ] {
            let (s, b) = get(&app, q, STRICT).await;
            assert_eq!(s, 200, "{d}: {q}: {b}");
            crate::fhir_schema::assert_valid(&b);
            assert_eq!(b["total"], want, "{d}: {q}");
            assert!(b.get("entry").is_none(), "{d}: {q}: {b}");
            assert_eq!(b["link"].as_array().unwrap().len(), 1, "{d}: {q}: no next");
        }
    }
}

#[tokio::test]
async fn everything_names_the_types_it_cannot_reach() {
    // Observation and MedicationRequest declare `patient` but not `subject`, the parameter the
    // R4 Patient CompartmentDefinition names for them.
    let text = std::fs::read_to_string(MAPPING).unwrap();
    let at = text.find("type = \"Observation\"").unwrap();
    let text = format!(
        "{}{}",
        &text[..at],
        text[at..].replace("\nsubject = true", "")
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mapping.toml");
    std::fs::write(&path, text).unwrap();
    let backend = &backends()[0];
    let app = spawn_with(backend, settings(&backend.url, path.to_str().unwrap())).await;
    let (s, b) = get(&app, "Patient/1/$everything?_count=1000", STRICT).await;
    assert_eq!(s, 200, "{b}");
    let types: Vec<&str> = b["entry"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["resourceType"].as_str().unwrap())
        .collect();
    assert!(!types.contains(&"Observation") && types.contains(&"Condition"));
    let o = outcome(&b).expect("an outcome entry");
    assert!(
        o["issue"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["severity"] == "warning")
    );
    let text = diagnostics(o);
    for t in ["Observation", "MedicationRequest"] {
        assert!(
            text.iter().any(
                |d| d.starts_with(&format!("{t} is in the Patient compartment"))
                    && d.contains(&format!(
                        "declare `subject = true` under [resource.search] of {t}"
                    ))
            ),
            "{t}: {text:?}"
        );
    }
    // The compartment search says the same, as an error.
    let (s, b) = get(&app, "Patient/1/Observation", &[]).await;
    assert_eq!(s, 400);
    assert!(diagnostics(&b)[0].contains("declare `subject = true`"));
    let (s, b) = get(&app, "Patient/1/$everything?_type=Observation", &[]).await;
    assert_eq!(s, 400);
    assert!(diagnostics(&b)[0].contains("declare `subject = true`"));
    // With the sample mapping, nothing to report.
    let app = spawn_with(backend, settings(&backend.url, MAPPING)).await;
    let (_, b) = get(&app, "Patient/1/$everything?_count=1000", STRICT).await;
    assert!(outcome(&b).is_none(), "{b}");
}

#[tokio::test]
async fn http_variants_of_mainstream_clients_are_understood() {
    let app = crate::helpers::spawn_app_on(&backends()[0]).await;
    let version: i64 = sqlx::query("SELECT ROW_VER FROM PATIENT WHERE PAT_ID = 1")
        .fetch_one(&app.db)
        .await
        .unwrap()
        .get(0);
    let send = |path: &str, headers: &[(&str, &str)]| {
        let mut req = app.client.get(format!("{}/{path}", app.base));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send()
    };
    // Accept and _format variants: DSTU2-era media types, fhirVersion, an unescaped `+`.
    for (path, headers) in [
        ("Patient/1", vec![("accept", "application/json+fhir")]),
        (
            "Patient/1",
            vec![("accept", "application/fhir+json; fhirVersion=4.0")],
        ),
        (
            "Patient/1",
            vec![(
                "accept",
                "application/fhir+json;q=0.9, application/xml;q=0.1",
            )],
        ),
        ("Patient/1?_format=application/fhir+json", vec![]),
        ("Patient/1?_format=application/json+fhir", vec![]),
        ("Patient/1?_format=application%2Ffhir%2Bjson", vec![]),
        ("Patient/1?_format=json&_pretty=TRUE", vec![]),
    ] {
        let res = send(path, &headers).await.unwrap();
        assert_eq!(res.status(), 200, "{path} {headers:?}");
        let ct = res.headers()["content-type"].to_str().unwrap().to_string();
        assert!(ct.starts_with("application/fhir+json"), "{path}: {ct}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["id"], "1", "{path}");
    }
    let res = send(
        "Patient/1",
        &[("accept", "application/fhir+json; fhirVersion=3.0")],
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_ACCEPTABLE);
    // Trailing slashes.
    for (path, kind) in [
        ("Patient/1/", "Patient"),
        ("Patient/", "Bundle"),
        ("Patient/1/Observation/", "Bundle"),
        ("metadata/", "CapabilityStatement"),
    ] {
        let (s, b) = get(&app, path, &[]).await;
        assert_eq!((s, b["resourceType"].as_str()), (200, Some(kind)), "{path}");
    }
    let (s, b) = get(&app, "", &[]).await;
    assert_eq!(
        (s, b["resourceType"].as_str()),
        (404, Some("OperationOutcome"))
    );
    // If-None-Match with a list of tags, weak or strong: any match is a 304.
    for (tags, status) in [
        (format!("W/\"999\", W/\"{version}\""), 304),
        (format!("\"{version}\""), 304),
        ("W/\"998\", \"999\"".to_string(), 200),
    ] {
        let res = send("Patient/1", &[("if-none-match", &tags)])
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{tags}");
    }
}
