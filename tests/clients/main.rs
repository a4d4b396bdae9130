//! Real FHIR client libraries against the real server: fhirpy and fhirclient (SMART on FHIR)
//! from PyPI, fhir-kit-client from npm, used unmodified as their users use them. Each client
//! script (beside this file) prints what it got; the expected answers are computed here with
//! SQL on the SQLite copy of the sample. The clients speak HTTP only, so the SQLite sample
//! serves for all (the backends are compared by the api tests).
//!
//! The libraries are installed on first use under the target directory (see `tools.rs`).

#[path = "../support/fhir_schema.rs"]
mod fhir_schema;
#[path = "../support/servers.rs"]
mod servers;

#[allow(dead_code)]
#[path = "../api/expect.rs"]
mod expect;
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

mod tools;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fhir_facade::sql::Dialect;
use serde_json::{Value, json};
use sqlx::Row;

use expect::{expected, observations_where};
use helpers::{Backend, TestApp, sample_db, spawn_app_on};

/// The LOINC code searched for (glucose), as a token.
const CODE: &str = "http://loinc.org|2339-0";

/// How long one client script may run.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The server over the SQLite sample.
async fn spawn() -> TestApp {
    let backend = Backend {
        dialect: Dialect::Sqlite,
        url: format!("sqlite:{}", sample_db().display()),
    };
    spawn_app_on(&backend).await
}

async fn one_i64(app: &TestApp, sql: &str) -> Option<i64> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

async fn strings(app: &TestApp, sql: &str) -> Vec<(String, Option<String>)> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&app.db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .iter()
        .map(|r| (r.get::<i64, _>(0).to_string(), r.get(1)))
        .collect()
}

/// The first resource of every source of every mapped type (`[type, id]`), and the patient
/// with the most lab results: what the scripts are asked about.
async fn plan(app: &TestApp) -> Value {
    let mut reads = Vec::new();
    for (ty, prefix, sql) in [
        (
            "Patient",
            "",
            "SELECT MIN(PAT_ID) FROM PATIENT WHERE DEL_FLG <> 'Y'",
        ),
        ("Practitioner", "", "SELECT MIN(PROV_ID) FROM PROVIDER"),
        ("Organization", "", "SELECT MIN(DEPT_ID) FROM DEPT"),
        (
            "Encounter",
            "",
            "SELECT MIN(VISIT_ID) FROM VISIT WHERE DEL_FLG <> 'Y'",
        ),
        (
            "Condition",
            "",
            "SELECT MIN(DX_ID) FROM DIAGNOSIS WHERE DEL_FLG <> 'Y'",
        ),
        (
            "Observation",
            "lab-",
            "SELECT MIN(RSLT_ID) FROM LAB_RESULT WHERE DEL_FLG <> 'Y'",
        ),
        (
            "Observation",
            "vs-hr-",
            "SELECT MIN(VS_ID) FROM VITALS WHERE DEL_FLG <> 'Y' AND HR IS NOT NULL",
        ),
        (
            "Observation",
            "vs-bp-",
            "SELECT MIN(VS_ID) FROM VITALS WHERE DEL_FLG <> 'Y' AND BP_SYS IS NOT NULL AND BP_DIA IS NOT NULL",
        ),
        (
            "Observation",
            "vs-temp-",
            "SELECT MIN(VS_ID) FROM VITALS WHERE DEL_FLG <> 'Y' AND TEMP_F IS NOT NULL",
        ),
        (
            "Observation",
            "vs-wt-",
            "SELECT MIN(VS_ID) FROM VITALS WHERE DEL_FLG <> 'Y' AND WT_KG IS NOT NULL",
        ),
        (
            "MedicationRequest",
            "",
            "SELECT MIN(RX_ID) FROM RX_ORDER WHERE DEL_FLG <> 'Y'",
        ),
    ] {
        let id = one_i64(app, sql).await.expect(sql);
        reads.push(json!([ty, format!("{prefix}{id}")]));
    }
    // Every type the server serves is read.
    let (_, cs) = app.get("metadata").await;
    let served: BTreeSet<&str> = cs["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    let read: BTreeSet<&str> = reads.iter().map(|r| r[0].as_str().unwrap()).collect();
    assert_eq!(read, served);
    let patient = one_i64(
        app,
        "SELECT r.PAT_ID FROM LAB_RESULT r JOIN PATIENT p ON p.PAT_ID = r.PAT_ID \
         WHERE r.DEL_FLG <> 'Y' AND p.DEL_FLG <> 'Y' GROUP BY r.PAT_ID ORDER BY COUNT(*) DESC, r.PAT_ID LIMIT 1",
    )
    .await
    .unwrap();
    json!({"reads": reads, "patient": patient.to_string(), "code": CODE})
}

/// Runs `program script base plan` and parses what it prints.
async fn drive(mut cmd: Command, script: &Path, app: &TestApp, plan: &Value) -> Value {
    cmd.arg(script).arg(&app.base).arg(plan.to_string());
    let what = script.display().to_string();
    let out = tokio::task::spawn_blocking(move || tools::run(cmd, SCRIPT_TIMEOUT))
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.success(),
        "{what} failed ({:?}):\n{}\n{}",
        out.status,
        out.stdout,
        out.stderr
    );
    serde_json::from_str(out.stdout.trim())
        .unwrap_or_else(|e| panic!("{what}: output is not JSON ({e}): {}", out.stdout))
}

fn script(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/clients")
        .join(name)
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

/// `ids`, each once, as a set.
fn distinct(v: &Value) -> BTreeSet<String> {
    let list = ids(v);
    let set: BTreeSet<String> = list.iter().cloned().collect();
    assert_eq!(set.len(), list.len(), "served twice: {v}");
    set
}

/// The reads asked for were answered with the same type and id.
fn check_reads(client: &str, plan: &Value, got: &Value) {
    assert_eq!(got["reads"], plan["reads"], "{client}: reads");
}

async fn active_patients(app: &TestApp, cond: &str) -> BTreeSet<String> {
    expected(
        app,
        "",
        &format!("SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND {cond}"),
    )
    .await
}

/// Each patient's birth date as FHIR writes it (`BIRTH_DT` is text `YYYYMMDD`).
async fn birth_dates(app: &TestApp) -> std::collections::BTreeMap<String, Option<String>> {
    strings(
        app,
        "SELECT PAT_ID, BIRTH_DT FROM PATIENT WHERE DEL_FLG <> 'Y'",
    )
    .await
    .into_iter()
    .map(|(id, d)| {
        let d = d
            .filter(|d| d.trim().len() == 8)
            .map(|d| format!("{}-{}-{}", &d[..4], &d[4..6], &d[6..8]));
        (id, d)
    })
    .collect()
}

/// `[[id, birthDate]...]` served sorted: every active patient once, with their birth date, in
/// order (`descending`: latest first), patients without one where SQLite sorts NULLs (first
/// ascending, last descending).
async fn check_sorted(app: &TestApp, client: &str, got: &Value, descending: bool) {
    let want = birth_dates(app).await;
    let rows: Vec<(String, Option<String>)> = got
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().map(str::to_string),
            )
        })
        .collect();
    let served: BTreeSet<&String> = rows.iter().map(|(id, _)| id).collect();
    assert_eq!(served.len(), rows.len(), "{client}: a patient served twice");
    assert_eq!(
        served,
        want.keys().collect::<BTreeSet<_>>(),
        "{client}: sorted patients"
    );
    for (id, date) in &rows {
        assert_eq!(date, &want[id], "{client}: birthDate of Patient/{id}");
    }
    let dates: Vec<&Option<String>> = rows.iter().map(|(_, d)| d).collect();
    let ordered = dates.windows(2).all(|w| {
        if descending {
            w[0] >= w[1]
        } else {
            w[0] <= w[1]
        }
    });
    assert!(ordered, "{client}: not sorted: {dates:?}");
}

/// The lab results of `CODE`.
async fn glucose(app: &TestApp) -> BTreeSet<String> {
    expected(
        app,
        "lab-",
        "SELECT r.RSLT_ID FROM LAB_RESULT r JOIN LAB_TEST_MAP m ON m.LOCAL_CD = r.TEST_CD \
         WHERE r.DEL_FLG <> 'Y' AND m.LOINC_CD = '2339-0'",
    )
    .await
}

/// The patient and encounter of a lab result (`lab-N`).
async fn lab_refs(app: &TestApp, id: &str) -> (String, Option<String>) {
    let n: i64 = id.strip_prefix("lab-").unwrap().parse().unwrap();
    let row = sqlx::query("SELECT PAT_ID, VISIT_ID FROM LAB_RESULT WHERE RSLT_ID = ?")
        .bind(n)
        .fetch_one(&app.db)
        .await
        .unwrap();
    (
        row.get::<i64, _>(0).to_string(),
        row.get::<Option<i64>, _>(1).map(|v| v.to_string()),
    )
}

/// A first page of `CODE` lab results with their patients included: `[[mode, type, id]...]`.
async fn check_include(app: &TestApp, client: &str, entries: &Value) {
    let all = glucose(app).await;
    let mut matches = BTreeSet::new();
    let mut included = BTreeSet::new();
    for e in entries.as_array().unwrap() {
        let (mode, ty, id) = (
            e[0].as_str().unwrap(),
            e[1].as_str().unwrap(),
            e[2].as_str().unwrap().to_string(),
        );
        match (mode, ty) {
            ("match", "Observation") => assert!(matches.insert(id)),
            ("include", "Patient") => assert!(included.insert(id)),
            other => panic!("{client}: unexpected entry {other:?}"),
        }
    }
    assert_eq!(matches.len(), all.len().min(10), "{client}: page size");
    assert!(matches.is_subset(&all), "{client}: {matches:?}");
    // Their patients, but those soft-deleted (never served).
    let list: Vec<&str> = matches
        .iter()
        .map(|m| m.strip_prefix("lab-").unwrap())
        .collect();
    let patients = expected(
        app,
        "",
        &format!(
            "SELECT DISTINCT r.PAT_ID FROM LAB_RESULT r JOIN PATIENT p ON p.PAT_ID = r.PAT_ID \
             WHERE p.DEL_FLG <> 'Y' AND r.RSLT_ID IN ({})",
            list.join(", ")
        ),
    )
    .await;
    assert!(!patients.is_empty());
    assert_eq!(included, patients, "{client}: included patients");
}

#[tokio::test(flavor = "multi_thread")]
async fn fhirpy_reads_pages_counts_sorts_includes_and_resolves() {
    let Some(python) = tools::python() else {
        return;
    };
    let app = spawn().await;
    let plan = plan(&app).await;
    let got = drive(
        Command::new(python),
        &script("fhirpy_check.py"),
        &app,
        &plan,
    )
    .await;
    check_reads("fhirpy", &plan, &got);
    let all = active_patients(&app, "1 = 1").await;
    assert_eq!(got["count_all"], all.len(), "fhirpy: count()");
    let men = active_patients(&app, "SEX_CD = 'M'").await;
    assert_eq!(got["count_male"], men.len(), "fhirpy: count() of a search");
    let women = active_patients(&app, "SEX_CD = 'F'").await;
    assert!(women.len() > 7, "several pages");
    assert_eq!(distinct(&got["females"]), women, "fhirpy: fetch_all()");
    let patient = plan["patient"].as_str().unwrap();
    let observations = observations_where(&app, &format!("PAT_ID = {patient}")).await;
    assert_eq!(
        distinct(&got["observations"]),
        observations,
        "fhirpy: fetch_all() over five sources"
    );
    check_sorted(&app, "fhirpy", &got["by_birthdate"], false).await;
    check_include(&app, "fhirpy", &got["include"]).await;
    let resolved = got["resolved"].as_array().unwrap();
    assert!(resolved.len() >= 3, "{resolved:?}");
    for r in resolved {
        let obs = r[0].as_str().unwrap();
        let (pat, visit) = lab_refs(&app, obs).await;
        let want = match r[1].as_str().unwrap() {
            "subject" => json!(["Patient", pat]),
            _ => json!(["Encounter", visit.unwrap()]),
        };
        assert_eq!(json!([r[2], r[3]]), want, "fhirpy: to_resource() of {r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fhirclient_parses_everything_into_its_strict_models() {
    let Some(python) = tools::python() else {
        return;
    };
    let app = spawn().await;
    let plan = plan(&app).await;
    let got = drive(
        Command::new(python),
        &script("fhirclient_check.py"),
        &app,
        &plan,
    )
    .await;
    assert_eq!(got["ready"], true);
    assert_eq!(got["fhirVersion"], "4.0.1");
    check_reads("fhirclient", &plan, &got);
    let women = active_patients(&app, "SEX_CD = 'F'").await;
    assert_eq!(distinct(&got["females"]), women, "fhirclient: every page");
    check_sorted(&app, "fhirclient", &got["by_birthdate_desc"], true).await;
    check_include(&app, "fhirclient", &got["include"]).await;
    let resolved = got["resolved"].as_array().unwrap();
    assert!(!resolved.is_empty());
    for r in resolved {
        let (pat, _) = lab_refs(&app, r[0].as_str().unwrap()).await;
        assert_eq!(json!([r[2], r[3]]), json!(["Patient", pat]), "{r}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fhir_kit_client_reads_pages_to_the_end_and_resolves() {
    let Some(dir) = tools::node_dir() else {
        return;
    };
    // The script runs from the folder that holds node_modules, so that its import resolves.
    let local = dir.join("fhir_kit_check.mjs");
    std::fs::copy(script("fhir_kit_check.mjs"), &local).unwrap();
    let app = spawn().await;
    let plan = plan(&app).await;
    let got = drive(Command::new("node"), &local, &app, &plan).await;
    assert_eq!(got["fhirVersion"], "4.0.1");
    check_reads("fhir-kit-client", &plan, &got);
    let patient = plan["patient"].as_str().unwrap();
    let observations = observations_where(&app, &format!("PAT_ID = {patient}")).await;
    assert_eq!(
        distinct(&got["observations"]),
        observations,
        "fhir-kit-client: nextPage() to the end"
    );
    assert_eq!(got["pages"], observations.len().div_ceil(5));
    let resolved = got["resolved"].as_array().unwrap();
    assert!(!resolved.is_empty());
    for r in resolved {
        let (pat, _) = lab_refs(&app, r[0].as_str().unwrap()).await;
        assert_eq!(r[1], format!("Patient/{pat}"));
        assert_eq!((&r[2], &r[3]), (&json!(pat), &json!(pat)), "{r}");
    }
}

#[tokio::test]
async fn fhir_js_reads_the_xml_answers_as_the_json_ones() {
    let Some(dir) = tools::node_dir() else {
        return;
    };
    let local = dir.join("fhir_xml_check.mjs");
    std::fs::copy(script("fhir_xml_check.mjs"), &local).unwrap();
    let app = spawn().await;
    let plan = plan(&app).await;
    let mut paths: Vec<String> = plan["reads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("{}/{}", r[0].as_str().unwrap(), r[1].as_str().unwrap()))
        .collect();
    let patient = plan["patient"].as_str().unwrap();
    paths.extend([
        "metadata".to_owned(),
        format!("Observation?patient={patient}&_count=5&_include=Observation:subject"),
        format!("Patient/{patient}/$everything?_count=20"),
        "Patient?_count=2&no-such-param=x".to_owned(),
        "Patient/no-such-patient".to_owned(),
    ]);
    let got = drive(Command::new("node"), &local, &app, &json!(paths)).await;
    assert_eq!(got.as_array().unwrap().len(), paths.len());
    for item in got.as_array().unwrap() {
        let path = &item["path"];
        let (js, xs) = (&item["status"][0], &item["status"][1]);
        assert_eq!(js, xs, "{path}");
        let ct = item["contentType"].as_str().unwrap();
        assert!(ct.starts_with("application/fhir+xml"), "{path}: {ct}");
        let parse = |key: &str| -> Value {
            serde_json::from_str(item[key].as_str().unwrap())
                .unwrap_or_else(|e| panic!("{path} {key}: {e}"))
        };
        assert_eq!(
            parse("fromXml"),
            parse("json"),
            "FHIR.js reading the XML of {path}"
        );
    }
}
