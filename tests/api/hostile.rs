//! Hostile requests: every admission limit answers quickly with an OperationOutcome naming
//! it, control characters are refused, HTTP hygiene (HEAD, no-store, nosniff, slow bodies),
//! and cursors that cannot be forged.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::{TestApp, backends, settings, spawn_app_on, spawn_apps, spawn_with};

/// Sends `method path` with `body` (form-encoded when given) and `headers`; the answer must be
/// an OperationOutcome of `status`, whose diagnostics are returned.
async fn refused(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<String>,
    headers: &[(&str, String)],
    status: u16,
) -> String {
    let mut req = app.client.request(method, format!("{}/{path}", app.base));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/x-www-form-urlencoded")
            .body(b);
    }
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.expect("request");
    let got = res.status().as_u16();
    // Refused before any statement ran.
    let statements = res
        .headers()
        .get("x-sql-statements")
        .map(|v| v.to_str().unwrap().to_string());
    assert!(
        statements.is_none() || statements.as_deref() == Some("0"),
        "{path}: {statements:?}"
    );
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    let text = res.text().await.unwrap();
    assert_eq!(
        got,
        status,
        "{}: {} {text}",
        app.dialect,
        &path[..path.len().min(80)]
    );
    assert!(ct.starts_with("application/fhir+json"), "{ct}");
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["resourceType"], "OperationOutcome");
    crate::fhir_schema::assert_valid(&body);
    body["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .to_string()
}

fn repeat(param: &str, n: usize) -> String {
    vec![param; n].join("&")
}

#[tokio::test]
async fn every_admission_limit_is_an_operation_outcome_naming_it() {
    for app in spawn_apps().await {
        let get = |path: String, status| {
            let app = &app;
            async move { refused(app, Method::GET, &path, None, &[], status).await }
        };
        // 5,000 repeated parameters (45 KB): the URL is over its limit.
        let d = get(format!("Patient?{}", repeat("family=a", 5000)), 414).await;
        assert!(d.contains("bytes of URL") && d.contains("16384"), "{d}");
        let d = get(format!("Patient?{}", repeat("family=a", 101)), 400).await;
        assert!(
            d.contains("101 parameters") && d.contains("at most 100"),
            "{d}"
        );
        let ids: Vec<String> = (1..=101).map(|i| i.to_string()).collect();
        let d = get(format!("Patient?_id={}", ids.join(",")), 400).await;
        assert!(d.contains("in '_id'") && d.contains("at most 100"), "{d}");
        let eighty: Vec<String> = (1..=80).map(|i| format!("a{i}")).collect();
        let d = get(
            format!(
                "Patient?{}",
                repeat(&format!("family={}", eighty.join(",")), 4)
            ),
            400,
        )
        .await;
        assert!(
            d.contains("values in all") && d.contains("at most 300"),
            "{d}"
        );
        let d = get(
            format!("Observation?{}", repeat("patient.family=a", 9)),
            400,
        )
        .await;
        assert!(
            d.contains("crossed by chains") && d.contains("at most 8"),
            "{d}"
        );
        let d = get(format!("Patient?_sort={}", ["family"; 9].join(",")), 400).await;
        assert!(d.contains("_sort keys"), "{d}");
        let d = get(
            format!("Patient?_sort=family&{}", repeat("_sort=-birthdate", 8)),
            400,
        )
        .await;
        assert!(d.contains("_sort keys"), "{d}");
        let d = get(
            format!("Encounter?{}", repeat("_include=Encounter:patient", 17)),
            400,
        )
        .await;
        assert!(d.contains("_include and _revinclude"), "{d}");
        // The 89 KB body of 3,000 chained :contains.
        let body = (0..3000)
            .map(|i| format!("patient.family:contains=a{i}"))
            .collect::<Vec<_>>()
            .join("&");
        assert!(body.len() > 80_000);
        let d = refused(
            &app,
            Method::POST,
            "Observation/_search",
            Some(body),
            &[],
            413,
        )
        .await;
        assert!(d.contains("bytes of body") && d.contains("65536"), "{d}");
        // A small body over the parameter limits.
        let body = repeat("patient.family:contains=a", 120);
        let d = refused(
            &app,
            Method::POST,
            "Observation/_search",
            Some(body),
            &[],
            400,
        )
        .await;
        assert!(d.contains("120 parameters"), "{d}");
        let header = ("x-padding", "x".repeat(40_000));
        let d = refused(&app, Method::GET, "Patient/1", None, &[header], 431).await;
        assert!(d.contains("bytes of headers"), "{d}");
        // Reads and $everything are covered too.
        let d = get(format!("Patient/1?{}", repeat("_pretty=true", 101)), 400).await;
        assert!(d.contains("101 parameters"), "{d}");
    }
}

#[tokio::test]
async fn limits_are_configurable() {
    let b = &backends()[0];
    let mut s = settings(&b.url, crate::helpers::MAPPING);
    s.limits.max_url_bytes = 100_000;
    s.limits.max_body_bytes = 200_000;
    s.limits.max_params = 3;
    let app = spawn_with(b, s).await;
    // Past the URL limit, the parameter limit answers.
    let d = refused(
        &app,
        Method::GET,
        &format!("Patient?{}", repeat("family=a", 5000)),
        None,
        &[],
        400,
    )
    .await;
    assert!(
        d.contains("5000 parameters") && d.contains("at most 3"),
        "{d}"
    );
    assert_eq!(
        app.get("Patient?family=a&gender=male&_count=2").await.0,
        200
    );
}

#[tokio::test]
async fn control_characters_are_refused_before_any_database_work() {
    for app in spawn_apps().await {
        for path in [
            "Patient?family=%00",
            "Patient?family:contains=%00",
            "Patient?family:exact=a%00b",
            "Patient?identifier=a%00",
            "Patient?identifier=http://x%00|1",
            "Observation?code:text=%01",
            "Observation?subject=Patient/1%00",
            "Patient?_sort=family%00",
            "Patient/1?_elements=name%00",
            "Patient/1/$everything?_type=Observation%00",
            "Patient?fam%00ily=a",
        ] {
            let d = refused(&app, Method::GET, path, None, &[], 400).await;
            assert!(d.contains("control character"), "{path}: {d}");
        }
        let d = refused(
            &app,
            Method::POST,
            "Patient/_search",
            Some("family=%00".into()),
            &[],
            400,
        )
        .await;
        assert!(d.contains("control character"), "{d}");
    }
}

#[tokio::test]
async fn head_is_served_for_every_get_route_and_responses_are_not_cached() {
    let app = spawn_app_on(&backends()[0]).await;
    for path in [
        "metadata",
        "Patient/1",
        "Patient?family=a",
        "Patient/1/Observation",
        "Patient/1/$everything",
        "Patient/999999",
        "nothing/here/at/all/really",
    ] {
        let url = format!("{}/{path}", app.base);
        let get = app.client.get(&url).send().await.unwrap();
        let head = app.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), get.status(), "{path}");
        assert_ne!(head.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        for h in ["content-type", "cache-control", "x-content-type-options"] {
            assert_eq!(head.headers().get(h), get.headers().get(h), "{path}: {h}");
        }
        assert_eq!(get.headers()["cache-control"], "no-store", "{path}");
        assert_eq!(get.headers()["x-content-type-options"], "nosniff", "{path}");
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "{path}: HEAD has a body"
        );
        assert!(!get.bytes().await.unwrap().is_empty(), "{path}");
    }
    // Configurable.
    let b = &backends()[0];
    let mut s = settings(&b.url, crate::helpers::MAPPING);
    s.http.cache_control = Some("private, max-age=60".into());
    let app = spawn_with(b, s).await;
    let res = app
        .client
        .get(format!("{}/Patient/1", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["cache-control"], "private, max-age=60");
}

#[tokio::test]
async fn a_slow_body_is_cut_off_with_an_operation_outcome() {
    let b = &backends()[0];
    let mut s = settings(&b.url, crate::helpers::MAPPING);
    s.http.body_timeout = Duration::from_millis(800);
    let app = spawn_with(b, s).await;
    let addr = app
        .base
        .trim_start_matches("http://")
        .trim_end_matches("/fhir")
        .to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = "POST /fhir/Patient/_search HTTP/1.1\r\nHost: x\r\n\
                Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n";
    conn.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    // One byte every 200 ms: never done in time.
    let trickle = async {
        for _ in 0..50 {
            if conn.write_all(b"f").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            let mut buf = [0u8; 4096];
            if let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_millis(1), conn.read(&mut buf)).await
            {
                answer.extend_from_slice(&buf[..n]);
                if n == 0 || answer.ends_with(b"}") {
                    break;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(8), trickle)
        .await
        .expect("the server must answer");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("OperationOutcome"), "{text}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn cursors_of_another_start_are_refused() {
    // Without a configured secret each start signs with its own random secret: a cursor
    // cannot be made from the (public) mapping.
    let b = &backends()[0];
    let one = spawn_app_on(b).await;
    let two = spawn_app_on(b).await;
    let (_, page) = one.get("Patient?_count=2").await;
    let next = page["link"][1]["url"].as_str().unwrap();
    let query = next.split_once('?').unwrap().1;
    assert_eq!(one.get(&format!("Patient?{query}")).await.0, 200);
    let (status, body) = two.get(&format!("Patient?{query}")).await;
    assert_eq!(status, 400, "{body}");
    // With a shared secret, any instance serves any page.
    let mut s = settings(&b.url, crate::helpers::MAPPING);
    s.cursor_secret = Some("shared".into());
    let one = spawn_with(b, s.clone()).await;
    let two = spawn_with(b, s).await;
    let (_, page) = one.get("Patient?_count=2").await;
    let next = page["link"][1]["url"].as_str().unwrap();
    let query = next.split_once('?').unwrap().1;
    assert_eq!(two.get(&format!("Patient?{query}")).await.0, 200);
}

#[tokio::test]
async fn forged_cursors_with_values_of_the_wrong_type_are_400() {
    use fhir_facade::request::cursor::{Cursor, CursorCodec};
    use fhir_facade::sql::Value as V;
    // Someone who has the secret (or a cursor format bug) must still not reach the database
    // with values of another type than the key and sort columns.
    let codec = CursorCodec::new(b"known");
    let params = vec!["_sort=birthdate".to_string(), "_count=2".to_string()];
    let token = |after: V, sort: Vec<V>| {
        codec.encode(
            &Cursor {
                source: 0,
                after: Some(after),
                sort,
            },
            "Patient",
            &params,
        )
    };
    for b in backends() {
        let mut s = settings(&b.url, crate::helpers::MAPPING);
        s.cursor_secret = Some("known".into());
        let app = spawn_with(b, s).await;
        let path = |t: String| format!("Patient?_sort=birthdate&_count=2&_cursor={t}");
        let good = token(V::Int(5), vec![V::Text("19500101".into())]);
        let (status, body) = app.get(&path(good)).await;
        assert_eq!(status, 200, "{}: {body}", b.dialect);
        for bad in [
            token(V::Text("5".into()), vec![V::Text("19500101".into())]),
            token(V::Int(5), vec![V::Int(19500101)]),
            token(V::Int(5), vec![V::Bytes(vec![0, 1])]),
            token(V::Null, vec![V::Text("19500101".into())]),
            token(V::Int(5), vec![]),
        ] {
            let (status, body) = app.get(&path(bad)).await;
            if b.dialect == fhir_facade::sql::Dialect::Sqlite && status == 200 {
                // SQLite compares values of any type (an integer sorts before text).
                continue;
            }
            assert_eq!(status, 400, "{}: {body}", b.dialect);
        }
    }
}

/// Ids of every match of `query` (one page of up to 1000).
async fn ids(app: &TestApp, query: &str) -> Vec<String> {
    let (status, body) = app.get(&format!("{query}&_count=1000")).await;
    assert_eq!(status, 200, "{}: {query}: {body}", app.dialect);
    let mut out: Vec<String> = body["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|x| x["resource"]["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[tokio::test]
async fn chains_through_one_reference_written_together_mean_the_same() {
    for app in spawn_apps().await {
        let a = ids(&app, "Observation?patient.family=b").await;
        assert!(a.len() < 100);
        // The same, each criterion on its own: the matches of the first that meet the second.
        let expected = ids(
            &app,
            &format!("Observation?_id={}&patient.gender=female", a.join(",")),
        )
        .await;
        let both = ids(&app, "Observation?patient.family=b&patient.gender=female").await;
        assert!(!expected.is_empty() && expected.len() < a.len());
        assert_eq!(both, expected, "{}", app.dialect);
    }
}
