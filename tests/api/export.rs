//! Bulk Data `$export`: kick-off → poll → download on every backend, every line valid FHIR and
//! the ids of each type those of the database (computed by SQL here); `_type`, `_since`,
//! `_typeFilter` (several per type ORed), `_elements`, `patient`, POST with a Parameters body;
//! errors; cancel; expiry; a job lost in a restart or stopped by a database failure fails
//! cleanly; SMART scopes; an S3-compatible bucket (moto) as the store.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use fhir_facade::export::ExportSettings;
use fhir_facade::export::job::{JobRecord, JobState};
use serde_json::{Value, json};

use crate::expect::{expected, observations_where};
use crate::helpers::{Backend, TestApp, backends, settings, spawn_with};
use crate::issuer::{Issuer, smart_settings};
use crate::moto::Moto;

/// Export settings for a test: files split small (so splitting is exercised), small pages.
fn export_settings(dir: &Path) -> ExportSettings {
    ExportSettings {
        dir: dir.to_path_buf(),
        file_bytes: 300_000,
        page_size: 200,
        ..ExportSettings::default()
    }
}

async fn spawn_export(
    backend: &Backend,
    dir: &Path,
    f: impl FnOnce(&mut ExportSettings),
) -> TestApp {
    let mut s = settings(&backend.url, crate::helpers::MAPPING);
    let mut e = export_settings(dir);
    f(&mut e);
    s.export = Some(e);
    spawn_with(backend, s).await
}

/// Kicks off `path` (relative to the base); the status URL.
async fn kick_off(app: &TestApp, path: &str) -> String {
    let res = app
        .client
        .get(format!("{}/{path}", app.base))
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("content-location")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        status,
        202,
        "{}: {path}: {}",
        app.dialect,
        res.text().await.unwrap()
    );
    let location = location.expect("Content-Location");
    assert!(location.starts_with(&format!("{}/$export-status/", app.base)));
    location
}

/// Polls `status_url` until the job ends: its status and body.
async fn poll(app: &TestApp, status_url: &str) -> (u16, Value) {
    for _ in 0..600 {
        let res = app.client.get(status_url).send().await.unwrap();
        let status = res.status().as_u16();
        if status == 202 {
            assert!(res.headers().contains_key("x-progress"));
            assert_eq!(res.headers()["retry-after"], "1");
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        return (status, res.json().await.unwrap_or(Value::Null));
    }
    panic!("{}: the export did not end", app.dialect);
}

/// Kicks off, waits for the manifest.
async fn export(app: &TestApp, path: &str) -> (String, Value) {
    let url = kick_off(app, path).await;
    let (status, manifest) = poll(app, &url).await;
    assert_eq!(status, 200, "{}: {path}: {manifest}", app.dialect);
    (url, manifest)
}

/// Every line of every output file, per type, checked: it parses, is of its type, is valid
/// against the R4 schema (when `validate`), and the file has the manifest's count.
async fn download(app: &TestApp, manifest: &Value, validate: bool) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for item in manifest["output"].as_array().unwrap() {
        let ty = item["type"].as_str().unwrap();
        let res = app
            .client
            .get(item["url"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}: {item}", app.dialect);
        assert_eq!(res.headers()["content-type"], "application/fhir+ndjson");
        let text = res.text().await.unwrap();
        let mut n = 0;
        for line in text.lines() {
            let r: Value = serde_json::from_str(line).expect("a JSON line");
            assert_eq!(r["resourceType"], ty, "{}", app.dialect);
            if validate {
                crate::fhir_schema::assert_valid(&r);
            }
            out.entry(ty.to_string()).or_default().push(r);
            n += 1;
        }
        assert_eq!(item["count"], n, "{}: {item}", app.dialect);
    }
    out
}

fn ids(resources: Option<&Vec<Value>>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    for r in resources.into_iter().flatten() {
        let id = r["id"].as_str().unwrap().to_string();
        assert!(seen.insert(id.clone()), "{id} exported twice");
    }
    seen
}

/// The ids of every mapped type in the database, by SQL.
async fn database_ids(app: &TestApp) -> BTreeMap<&'static str, BTreeSet<String>> {
    let mut m = BTreeMap::new();
    for (ty, sql) in [
        ("Patient", "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y'"),
        ("Practitioner", "SELECT PROV_ID FROM PROVIDER"),
        ("Organization", "SELECT DEPT_ID FROM DEPT"),
        (
            "Encounter",
            "SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y'",
        ),
        (
            "Condition",
            "SELECT DX_ID FROM DIAGNOSIS WHERE DEL_FLG <> 'Y'",
        ),
        (
            "MedicationRequest",
            "SELECT RX_ID FROM RX_ORDER WHERE DEL_FLG <> 'Y'",
        ),
    ] {
        m.insert(ty, expected(app, "", sql).await);
    }
    m.insert("Observation", observations_where(app, "1=1").await);
    m
}

async fn files_in(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in walk_dir(dir) {
        out.push(e);
    }
    out.sort();
    out
}

fn walk_dir(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk_dir(&p));
        } else {
            out.push(p.display().to_string());
        }
    }
    out
}

#[tokio::test]
async fn a_system_export_writes_every_resource_of_every_type_on_every_backend() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let app = spawn_export(backend, dir.path(), |_| {}).await;
        let (_, manifest) = export(&app, "$export").await;
        assert_eq!(manifest["requiresAccessToken"], false);
        assert_eq!(manifest["request"], format!("{}/$export", app.base));
        assert!(manifest["transactionTime"].as_str().unwrap().ends_with('Z'));
        assert_eq!(manifest["error"], json!([]));
        let files = download(&app, &manifest, true).await;
        let want = database_ids(&app).await;
        for (ty, want) in &want {
            assert!(!want.is_empty(), "{ty}");
            assert_eq!(&ids(files.get(*ty)), want, "{}: {ty}", app.dialect);
        }
        assert_eq!(files.len(), want.len(), "{}: types", app.dialect);
        // Observations do not fit one file of 300 kB: they are split.
        let obs_files = manifest["output"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|o| o["type"] == "Observation")
            .count();
        assert!(obs_files > 1, "{}: {manifest}", app.dialect);
    }
}

#[tokio::test]
async fn export_parameters_errors_and_cancel() {
    let backend = &backends()[0];
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_export(backend, dir.path(), |_| {}).await;
    let want = database_ids(&app).await;

    // The CapabilityStatement advertises the operations.
    let (_, cs) = app.get("metadata").await;
    assert_eq!(
        cs["instantiates"],
        json!(["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"])
    );
    assert_eq!(cs["rest"][0]["operation"][0]["name"], "export");
    let patient = cs["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Patient")
        .unwrap();
    assert!(
        patient["operation"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "export")
    );

    // Patient level with _type, _typeFilter (through the search engine) and _elements.
    let (_, m) = export(
        &app,
        "Patient/$export?_type=Patient,Condition,Observation&_typeFilter=Observation%3Fcode%3Dhttp://loinc.org%7C8867-4&_elements=id,Observation.status&_outputFormat=application/ndjson",
    )
    .await;
    let files = download(&app, &m, true).await;
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["Condition", "Observation", "Patient"]
    );
    assert_eq!(ids(files.get("Patient")), want["Patient"]);
    assert_eq!(ids(files.get("Condition")), want["Condition"]);
    let heart_rates = observations_where(&app, "1=1")
        .await
        .into_iter()
        .filter(|id| id.starts_with("vs-hr-"))
        .collect::<BTreeSet<_>>();
    assert_eq!(ids(files.get("Observation")), heart_rates);
    let obs = &files["Observation"][0];
    assert!(
        obs.get("status").is_some() && obs.get("subject").is_none(),
        "{obs}"
    );
    assert!(files["Patient"][0].get("name").is_none());
    assert_eq!(obs["meta"]["tag"][0]["code"], "SUBSETTED");

    // _since: what the _lastUpdated search finds; a type without last-updated time is
    // exported whole, with a warning in the error file.
    let since = "2023-06-01T00:00:00Z";
    let (_, m) = export(
        &app,
        &format!("$export?_type=Patient,Observation&_since={since}"),
    )
    .await;
    let files = download(&app, &m, false).await;
    let (_, page) = app
        .get(&format!(
            "Patient?_lastUpdated=ge{since}&_count=1000&_elements=id"
        ))
        .await;
    let searched: BTreeSet<String> = page["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids(files.get("Patient")), searched);
    assert!(searched.len() < want["Patient"].len() && !searched.is_empty());
    assert_eq!(ids(files.get("Observation")), want["Observation"]);
    let errors = m["error"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{m}");
    let res = app
        .client
        .get(errors[0]["url"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    let oo: Value =
        serde_json::from_str(res.text().await.unwrap().lines().next().unwrap()).unwrap();
    crate::fhir_schema::assert_valid(&oo);
    assert!(
        oo["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("Observation")
    );

    // POST with a Parameters body.
    let res = post_kick_off(
        &app,
        "$export",
        json!([{"name": "_type", "valueString": "Organization"}]),
    )
    .await;
    assert_eq!(res.status(), 202);
    let url = res.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, m) = poll(&app, &url).await;
    assert_eq!(status, 200);
    let files = download(&app, &m, true).await;
    assert_eq!(ids(files.get("Organization")), want["Organization"]);
    assert_eq!(files.len(), 1);

    // Errors: no Prefer: respond-async; unsupported parameters when strict; lenient ignores
    // them with a warning in the error file; unknown jobs and files.
    let (status, body) = app.get("$export").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("respond-async")
    );
    // Group export is not offered: the mapping cannot define groups.
    let (status, body) = app.get("Group/1/$export").await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(
        body["issue"][0]["diagnostics"],
        "operation $export is not supported on Group"
    );
    for bad in [
        "$export?_outputFormat=text/csv",
        "$export?_typeFilter=Observation%3Fnope%3D1",
        "$export?_since=yesterday",
    ] {
        let res = app
            .client
            .get(format!("{}/{bad}", app.base))
            .header("Prefer", "respond-async, handling=strict")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
    }
    let res = app
        .client
        .get(format!(
            "{}/$export?_type=Organization&includeAssociatedData=LatestProvenanceResources",
            app.base
        ))
        .header("Prefer", "respond-async, handling=lenient")
        .send()
        .await
        .unwrap();
    let url = res.headers()["content-location"]
        .to_str()
        .unwrap()
        .to_string();
    let (_, m) = poll(&app, &url).await;
    assert_eq!(m["error"].as_array().unwrap().len(), 1, "{m}");
    let (status, _) = app.get(&format!("$export-status/{}", "0".repeat(32))).await;
    assert_eq!(status, 404);
    let (status, _) = app.get("$export-file/../x").await;
    assert_eq!(status, 404);

    // Cancel: 202, then the job and its files are gone.
    let url = kick_off(&app, "$export").await;
    let res = app.client.delete(&url).send().await.unwrap();
    assert_eq!(res.status(), 202);
    let res = app.client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 404);
    let id = url.rsplit('/').next().unwrap();
    for _ in 0..100 {
        if !dir.path().join(id).exists() || files_in(&dir.path().join(id)).await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(files_in(&dir.path().join(id)).await.is_empty());
    // Deleting a complete job removes its files too.
    let (url, m) = export(&app, "$export?_type=Practitioner").await;
    let file_url = m["output"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(app.client.delete(&url).send().await.unwrap().status(), 202);
    assert_eq!(
        app.client.get(&file_url).send().await.unwrap().status(),
        404
    );
    assert_eq!(app.client.delete(&url).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn export_jobs_expire_and_fail_cleanly() {
    let backend = &backends()[0];
    let dir = tempfile::tempdir().unwrap();
    // A job the server was running when it stopped: reported failed, never resumed.
    let lost = JobRecord {
        id: "1".repeat(32),
        state: JobState::Running,
        request: "http://x/fhir/$export".into(),
        transaction_time: "2024-01-01T00:00:00Z".into(),
        expires_ms: None,
        requires_access_token: false,
        owner: None,
        output: vec![],
        error: vec![],
        progress: String::new(),
        failure: None,
    };
    std::fs::create_dir_all(dir.path().join(&lost.id)).unwrap();
    std::fs::write(
        dir.path().join(&lost.id).join("job.json"),
        serde_json::to_vec(&lost).unwrap(),
    )
    .unwrap();
    // A copy of the database, to break while the server uses it.
    let copy = dir.path().join("copy.db");
    std::fs::copy(crate::helpers::sample_db(), &copy).unwrap();
    let broken = Backend {
        dialect: backend.dialect,
        url: format!("sqlite:{}", copy.display()),
    };
    let exports = dir.path().join("out");
    std::fs::create_dir_all(exports.join(&lost.id)).unwrap();
    std::fs::rename(
        dir.path().join(&lost.id).join("job.json"),
        exports.join(&lost.id).join("job.json"),
    )
    .unwrap();
    std::fs::write(exports.join(&lost.id).join("Patient-1.ndjson"), "{}\n").unwrap();
    let app = spawn_export(&broken, &exports, |e| {
        e.retention = Duration::from_millis(1500);
        e.page_size = 50;
    })
    .await;
    let (status, body) = app.get(&format!("$export-status/{}", lost.id)).await;
    assert_eq!(status, 500, "{body}");
    assert!(
        body["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("server stopped")
    );
    // The file it had completed is removed, never served.
    assert!(!exports.join(&lost.id).join("Patient-1.ndjson").exists());

    // Expiry: the job and its files are removed after the retention time.
    let (url, m) = export(&app, "$export?_type=Organization").await;
    let id = url.rsplit('/').next().unwrap().to_string();
    assert!(!files_in(&exports.join(&id)).await.is_empty());
    let file_url = m["output"][0]["url"].as_str().unwrap().to_string();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 404);
    assert_eq!(
        app.client.get(&file_url).send().await.unwrap().status(),
        404
    );
    assert!(files_in(&exports.join(&id)).await.is_empty());

    // The database fails during an export (the last type's table is gone): the job fails,
    // nothing is served, no file of it is left.
    let rw = sqlx::SqlitePool::connect(&format!("sqlite:{}", copy.display()))
        .await
        .unwrap();
    sqlx::query("DROP TABLE RX_ORDER")
        .execute(&rw)
        .await
        .unwrap();
    rw.close().await;
    let url = kick_off(&app, "$export").await;
    let (status, body) = poll(&app, &url).await;
    assert_eq!(status, 500, "{body}");
    let why = body["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(
        why.contains("database failed") && !why.contains("RX_ORDER"),
        "{why}"
    );
    let id = url.rsplit('/').next().unwrap();
    let left: Vec<String> = files_in(&exports.join(id))
        .await
        .into_iter()
        .filter(|f| !f.ends_with("job.json"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn smart_exports_follow_the_scopes_and_the_owner() {
    let backend = &backends()[0];
    let issuer = Issuer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut s = settings(&backend.url, crate::helpers::MAPPING);
    s.auth = smart_settings(&issuer);
    s.export = Some(export_settings(dir.path()));
    let app = spawn_with(backend, s).await;
    let token = |scope: &str, patient: Option<&str>| {
        app.with_token(&issuer.token(&app.base, scope, patient))
    };
    // Without a system scope, no system export.
    let user = token("user/*.rs", None);
    let res = user
        .client
        .get(format!("{}/$export", app.base))
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // A system scope of some types: those types only (naming another is refused).
    let system = token("system/Patient.rs system/Organization.read", None);
    let (url, m) = export(&system, "$export").await;
    assert_eq!(m["requiresAccessToken"], true);
    let files = download(&system, &m, false).await;
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["Organization", "Patient"]
    );
    let res = system
        .client
        .get(format!("{}/$export?_type=Observation", app.base))
        .header("Prefer", "respond-async")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // The status and the files need a token, of the same client and user.
    let file_url = m["output"][0]["url"].as_str().unwrap();
    let anonymous = reqwest::Client::new();
    assert_eq!(anonymous.get(file_url).send().await.unwrap().status(), 401);
    let mut other = issuer.claims(&app.base, "system/*.rs", None);
    other["sub"] = json!("someone-else");
    let stranger = app.with_token(&crate::issuer::sign_hs256(
        crate::issuer::HS256_SECRET.as_bytes(),
        None,
        &other,
    ));
    assert_eq!(
        stranger.client.get(file_url).send().await.unwrap().status(),
        404
    );
    assert_eq!(
        stranger.client.get(&url).send().await.unwrap().status(),
        404
    );
    // Patient scopes: only the patient's compartment.
    let (p,): (i64,) = sqlx::query_as("SELECT MIN(PAT_ID) FROM VISIT WHERE DEL_FLG <> 'Y'")
        .fetch_one(&app.db)
        .await
        .unwrap();
    let patient = token("patient/*.rs", Some(&p.to_string()));
    let (_, m) = export(&patient, "Patient/$export").await;
    let files = download(&patient, &m, false).await;
    assert_eq!(ids(files.get("Patient")), BTreeSet::from([p.to_string()]));
    let visits = expected(
        &app,
        "",
        &format!("SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND PAT_ID = {p}"),
    )
    .await;
    assert_eq!(ids(files.get("Encounter")), visits);
    assert!(!files.contains_key("Practitioner"));
}

#[tokio::test]
async fn a_kick_off_body_is_bounded_like_a_query() {
    let backend = &backends()[0];
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_export(backend, dir.path(), |_| {}).await;
    let max = fhir_facade::request::RequestLimits::default().max_params;
    // More _typeFilter queries than a request may carry parameters.
    let filters: Vec<Value> = (0..=max)
        .map(|i| json!({"name": "_typeFilter", "valueString": format!("Patient?family=a{i}")}))
        .collect();
    let res = post_kick_off(&app, "Patient/$export", json!(filters)).await;
    let status = res.status().as_u16();
    let outcome: Value = res.json().await.unwrap();
    assert_eq!(status, 400, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    // One fewer is accepted.
    let res = post_kick_off(&app, "Patient/$export", json!(filters[..max])).await;
    assert_eq!(res.status(), 202);
}

/// POSTs a kick-off of `path` with a `Parameters` body of `parameters`.
async fn post_kick_off(app: &TestApp, path: &str, parameters: Value) -> reqwest::Response {
    app.client
        .post(format!("{}/{path}", app.base))
        .header("Prefer", "respond-async")
        .header("Content-Type", "application/fhir+json")
        .body(json!({"resourceType": "Parameters", "parameter": parameters}).to_string())
        .send()
        .await
        .unwrap()
}

/// The first id of `sql` (a `SELECT MIN(...)`), as text.
async fn one_id(app: &TestApp, sql: &str) -> String {
    let (id,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.db)
        .await
        .unwrap();
    id.to_string()
}

#[tokio::test]
async fn several_type_filters_of_a_type_export_the_union_once() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let app = spawn_export(backend, dir.path(), |e| e.page_size = 50).await;
        let male = one_id(
            &app,
            "SELECT MIN(PAT_ID) FROM PATIENT WHERE DEL_FLG <> 'Y' AND SEX_CD = 'M'",
        )
        .await;
        let female = one_id(
            &app,
            "SELECT MIN(PAT_ID) FROM PATIENT WHERE DEL_FLG <> 'Y' AND SEX_CD = 'F'",
        )
        .await;
        // Patient: all women, or two ids (one of them a woman: found by both filters).
        // Observation: heart rates, or those of men (a chain: a subquery in the OR).
        let path = format!(
            "$export?_type=Patient,Observation,Condition\
             &_typeFilter=Patient%3Fgender%3Dfemale\
             &_typeFilter=Observation%3Fcode%3Dhttp://loinc.org%7C8867-4\
             &_typeFilter=Patient%3F_id%3D{male},{female}\
             &_typeFilter=Observation%3Fsubject:Patient.gender%3Dmale"
        );
        let (_, m) = export(&app, &path).await;
        assert_eq!(m["error"], json!([]), "{}: {m}", app.dialect);
        let files = download(&app, &m, false).await;
        let mut want_patients = expected(
            &app,
            "",
            "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND SEX_CD = 'F'",
        )
        .await;
        want_patients.extend([male.clone(), female.clone()]);
        // `ids` fails on an id exported twice.
        assert_eq!(ids(files.get("Patient")), want_patients, "{}", app.dialect);
        let mut want_obs: BTreeSet<String> = observations_where(&app, "1=1")
            .await
            .into_iter()
            .filter(|id| id.starts_with("vs-hr-"))
            .collect();
        let heart_rates = want_obs.len();
        let of_men = observations_where(
            &app,
            "PAT_ID IN (SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND SEX_CD = 'M')",
        )
        .await;
        let overlap = of_men.iter().filter(|i| want_obs.contains(*i)).count();
        assert!(
            overlap > 0 && heart_rates > overlap,
            "{}: a real overlap",
            app.dialect
        );
        want_obs.extend(of_men);
        assert_eq!(ids(files.get("Observation")), want_obs, "{}", app.dialect);
        // A type without filter is exported whole.
        let conditions =
            expected(&app, "", "SELECT DX_ID FROM DIAGNOSIS WHERE DEL_FLG <> 'Y'").await;
        assert_eq!(ids(files.get("Condition")), conditions, "{}", app.dialect);
    }
}

#[tokio::test]
async fn the_patient_parameter_restricts_a_patient_export_to_their_compartments() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let app = spawn_export(backend, dir.path(), |_| {}).await;
        // Two patients with visits (the patient itself not deleted).
        let with_visits = "FROM VISIT WHERE DEL_FLG <> 'Y' AND PAT_ID IN (SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y')";
        let first = one_id(&app, &format!("SELECT MIN(PAT_ID) {with_visits}")).await;
        let last = one_id(&app, &format!("SELECT MAX(PAT_ID) {with_visits}")).await;
        assert_ne!(first, last);
        let unknown = "987654321";
        let res = post_kick_off(
            &app,
            "Patient/$export",
            json!([
                {"name": "_type", "valueString": "Patient,Encounter,Observation"},
                {"name": "patient", "valueReference": {"reference": format!("Patient/{first}")}},
                {"name": "patient", "valueReference": {"reference": format!("{}/Patient/{last}", app.base)}},
                {"name": "patient", "valueReference": {"reference": format!("Patient/{unknown}")}},
            ]),
        )
        .await;
        assert_eq!(res.status(), 202, "{}", app.dialect);
        let url = res.headers()["content-location"]
            .to_str()
            .unwrap()
            .to_string();
        let (status, m) = poll(&app, &url).await;
        assert_eq!(status, 200, "{}: {m}", app.dialect);
        let files = download(&app, &m, true).await;
        let who = format!("PAT_ID IN ({first}, {last})");
        assert_eq!(
            ids(files.get("Patient")),
            BTreeSet::from([first.clone(), last.clone()]),
            "{}",
            app.dialect
        );
        let visits = expected(
            &app,
            "",
            &format!("SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND {who}"),
        )
        .await;
        assert!(!visits.is_empty());
        assert_eq!(ids(files.get("Encounter")), visits, "{}", app.dialect);
        assert_eq!(
            ids(files.get("Observation")),
            observations_where(&app, &who).await,
            "{}",
            app.dialect
        );
        // The unknown patient: an OperationOutcome error in the error file.
        let errors = m["error"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{m}");
        let text = app
            .client
            .get(errors[0]["url"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let outcomes: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(outcomes.len(), 1, "{text}");
        crate::fhir_schema::assert_valid(&outcomes[0]);
        let issue = &outcomes[0]["issue"][0];
        assert_eq!(
            (issue["severity"].as_str(), issue["code"].as_str()),
            (Some("error"), Some("not-found"))
        );
        assert!(
            issue["diagnostics"]
                .as_str()
                .unwrap()
                .contains(&format!("Patient/{unknown}"))
        );
        assert!(!text.contains(&format!("Patient/{first} ")));
    }

    // Refused: in the URL (GET, or a POST's query string), even lenient; at system level;
    // not a Patient reference.
    let backend = &backends()[0];
    let dir = tempfile::tempdir().unwrap();
    let app = spawn_export(backend, dir.path(), |_| {}).await;
    for prefer in ["respond-async", "respond-async, handling=lenient"] {
        let res = app
            .client
            .get(format!("{}/Patient/$export?patient=Patient/1", app.base))
            .header("Prefer", prefer)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{prefer}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["resourceType"], "OperationOutcome");
        assert!(
            body["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("POST")
        );
    }
    let res = app
        .client
        .post(format!("{}/Patient/$export?patient=Patient/1", app.base))
        .header("Prefer", "respond-async")
        .header("Content-Type", "application/fhir+json")
        .body(json!({"resourceType": "Parameters"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // At system level: not supported, so refused when strict (ignored with a warning when
    // lenient, the server's default).
    let patient = json!([{"name": "patient", "valueReference": {"reference": "Patient/1"}}]);
    let res = app
        .client
        .post(format!("{}/$export", app.base))
        .header("Prefer", "respond-async, handling=strict")
        .header("Content-Type", "application/fhir+json")
        .body(json!({"resourceType": "Parameters", "parameter": patient}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let observation =
        json!([{"name": "patient", "valueReference": {"reference": "Observation/1"}}]);
    assert_eq!(
        post_kick_off(&app, "Patient/$export", observation)
            .await
            .status(),
        400
    );
}

/// The server binary, run with `args` and `env` (the S3 settings come from the environment),
/// stopped when dropped.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        self.0.kill().ok();
        self.0.wait().ok();
    }
}

/// The server binary storing its exports in moto's bucket `exports` under `prefix`, kept
/// `retention` seconds; the settings of the bucket in the `AWS_*` environment variables.
async fn s3_server(moto: &Moto, prefix: &str, retention: f64) -> (Process, TestApp) {
    let port = crate::moto::free_port();
    let server = Process(
        std::process::Command::new(env!("CARGO_BIN_EXE_fhir-facade"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--mapping", crate::helpers::MAPPING])
            .arg("--database-url")
            .arg(format!("sqlite:{}", crate::helpers::sample_db().display()))
            .args(["--export-store", &format!("s3://exports/{prefix}")])
            .args(["--export-retention", &retention.to_string()])
            .args(["--export-file-bytes", "300000", "--export-page-size", "200"])
            .env("AWS_ENDPOINT_URL", &moto.endpoint)
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_ALLOW_HTTP", "true")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start the server"),
    );
    let app = TestApp {
        dialect: backends()[0].dialect,
        base: format!("http://127.0.0.1:{port}/fhir"),
        client: crate::helpers::client(reqwest::Client::builder()),
        db: sqlx::SqlitePool::connect_with(
            sqlx::sqlite::SqliteConnectOptions::new()
                .filename(crate::helpers::sample_db())
                .read_only(true),
        )
        .await
        .unwrap(),
    };
    for _ in 0..600 {
        if app
            .client
            .get(format!("{}/metadata", app.base))
            .send()
            .await
            .is_ok()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    (server, app)
}

/// Waits (a few seconds at most) until moto's bucket has no key under `folder`; those left.
async fn keys_left(moto: &Moto, folder: &str) -> Vec<String> {
    let mut left = moto.keys("exports", folder).await;
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        left = moto.keys("exports", folder).await;
    }
    left
}

#[tokio::test]
async fn an_export_to_an_s3_bucket_is_downloaded_from_the_bucket_and_removed_there() {
    let Some(moto) = Moto::start().await else {
        return;
    };
    moto.create_bucket("exports").await;
    // A job that was running when a server stopped, with a file it had completed.
    let lost = JobRecord {
        id: "1".repeat(32),
        state: JobState::Running,
        request: "http://x/fhir/$export".into(),
        transaction_time: "2024-01-01T00:00:00Z".into(),
        expires_ms: None,
        requires_access_token: false,
        owner: None,
        output: vec![],
        error: vec![],
        progress: String::new(),
        failure: None,
    };
    let lost_folder = format!("facade/jobs/{}/", lost.id);
    let record = serde_json::to_vec(&lost).unwrap();
    moto.put("exports", &format!("{lost_folder}job.json"), record)
        .await;
    moto.put(
        "exports",
        &format!("{lost_folder}Patient-1.ndjson"),
        b"{}\n".to_vec(),
    )
    .await;
    let retention = 600;
    let (_server, app) = s3_server(&moto, "facade/jobs", retention as f64).await;
    // Reported failed, never resumed; its file removed from the bucket.
    let (status, body) = app.get(&format!("$export-status/{}", lost.id)).await;
    assert_eq!(status, 500, "{body}");
    assert_eq!(
        moto.keys("exports", &lost_folder).await,
        [format!("{lost_folder}job.json")]
    );

    let (url, m) = export(&app, "$export").await;
    let id = url.rsplit('/').next().unwrap().to_string();
    // The manifest points at the bucket: pre-signed URLs valid for the retention time, and
    // no access token is needed.
    assert_eq!(m["requiresAccessToken"], false, "{m}");
    let folder = format!("facade/jobs/{id}/");
    for item in m["output"].as_array().unwrap() {
        let u = item["url"].as_str().unwrap();
        assert!(
            u.starts_with(&format!("{}/exports/{folder}", moto.endpoint)),
            "{u}"
        );
        let expires: u64 = u
            .split(['?', '&'])
            .find_map(|p| p.strip_prefix("X-Amz-Expires="))
            .expect("a pre-signed URL")
            .parse()
            .unwrap();
        assert!((retention - 60..=retention).contains(&expires), "{u}");
    }
    // Downloaded from moto directly: every line parses, the ids are the database's.
    let files = download(&app, &m, true).await;
    let want = database_ids(&app).await;
    for (ty, want) in &want {
        assert_eq!(&ids(files.get(*ty)), want, "S3: {ty}");
    }
    assert_eq!(files.len(), want.len());
    let keys = moto.keys("exports", &folder).await;
    for item in m["output"].as_array().unwrap() {
        let u = item["url"].as_str().unwrap();
        let key = u
            .split('?')
            .next()
            .unwrap()
            .split("/exports/")
            .nth(1)
            .unwrap();
        assert!(keys.iter().any(|k| k == key), "{key} not in {keys:?}");
    }
    assert!(keys.contains(&format!("{folder}job.json")), "{keys:?}");

    // DELETE removes the objects.
    assert_eq!(app.client.delete(&url).send().await.unwrap().status(), 202);
    let left = keys_left(&moto, &folder).await;
    assert!(left.is_empty(), "{left:?}");
    let first = m["output"][0]["url"].as_str().unwrap();
    assert_eq!(app.client.get(first).send().await.unwrap().status(), 404);
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 404);

    // Expiry removes them too (a server keeping jobs 2 s).
    let (_short, app) = s3_server(&moto, "facade/short", 2.0).await;
    let (url, m) = export(&app, "$export?_type=Organization").await;
    let id = url.rsplit('/').next().unwrap().to_string();
    let folder = format!("facade/short/{id}/");
    assert!(!moto.keys("exports", &folder).await.is_empty());
    let file = m["output"][0]["url"].as_str().unwrap().to_string();
    assert!(file.contains("X-Amz-Expires="), "{file}");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let left = keys_left(&moto, &folder).await;
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 404);
}
