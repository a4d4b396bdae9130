//! Searches across resources on every backend: chains, `_has`, `:identifier`, Patient
//! compartments and `$everything`. Expected ids come from SQL written here over the SQLite
//! copy of the same sample data (not from the code under test).

use std::collections::BTreeSet;

use serde_json::Value;

use crate::expect::{all_entries, check, expected, observations_where, rejected, typed, walk};
use crate::helpers::{TestApp, spawn_apps};

/// The first column of the first row of `sql`, as text.
async fn scalar(app: &TestApp, sql: &str) -> String {
    use sqlx::Row;
    let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_one(&app.db)
        .await
        .unwrap();
    row.get::<String, _>(0).trim().to_string()
}

/// Asserts a 400 OperationOutcome whose diagnostics contain `needle`.
async fn refused(app: &TestApp, path: &str, needle: &str) {
    let text = rejected(app, path).await;
    assert!(
        text.contains(needle),
        "{}: {path}: '{text}' lacks '{needle}'",
        app.dialect
    );
}

#[tokio::test]
async fn chained_parameters_follow_references() {
    for app in spawn_apps().await {
        // One level, two criteria through the same reference (each may match another patient).
        let women_before_1960 = "PAT_ID IN (SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' \
             AND SEX_CD = 'F' AND BIRTH_DT < '19600101')";
        let want = observations_where(&app, women_before_1960).await;
        assert!(!want.is_empty());
        check(
            &app,
            "Observation?subject:Patient.gender=female&patient.birthdate=lt1960&_count=200",
            want,
        )
        .await;

        // Two levels: Observation → Encounter → Organization.
        let cardiology = "VISIT_ID IN (SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND \
             DEPT_ID IN (SELECT DEPT_ID FROM DEPT WHERE LOWER(DEPT_NM) LIKE 'card%'))";
        let want = observations_where(&app, cardiology).await;
        assert!(!want.is_empty());
        check(
            &app,
            "Observation?encounter.service-provider.name=card&_count=500",
            want,
        )
        .await;

        // :identifier: the referenced practitioner has that NPI.
        let npi = scalar(
            &app,
            "SELECT NPI FROM PROVIDER WHERE NPI IS NOT NULL AND PROV_ID IN \
             (SELECT PRESC_PROV_ID FROM RX_ORDER) ORDER BY PROV_ID LIMIT 1",
        )
        .await;
        let want = expected(
            &app,
            "",
            &format!(
                "SELECT RX_ID FROM RX_ORDER WHERE DEL_FLG <> 'Y' AND PRESC_PROV_ID IN \
                 (SELECT PROV_ID FROM PROVIDER WHERE NPI = '{npi}')"
            ),
        )
        .await;
        assert!(!want.is_empty());
        check(
            &app,
            &format!("MedicationRequest?requester:identifier=http://hl7.org/fhir/sid/us-npi|{npi}"),
            want,
        )
        .await;
        check(
            &app,
            &format!("MedicationRequest?requester:identifier=http://other|{npi}"),
            BTreeSet::new(),
        )
        .await;
        let mrn = scalar(
            &app,
            "SELECT ID_VAL FROM PAT_IDENT WHERE PAT_ID = 3 AND TRIM(ID_TYP) = 'MRN'",
        )
        .await;
        let want = observations_where(
            &app,
            &format!(
                "PAT_ID IN (SELECT I.PAT_ID FROM PAT_IDENT I JOIN PATIENT P ON P.PAT_ID = I.PAT_ID \
                 WHERE P.DEL_FLG <> 'Y' AND I.ID_VAL = '{mrn}')"
            ),
        )
        .await;
        assert!(!want.is_empty());
        check(&app, &format!("Observation?subject:identifier={mrn}"), want).await;

        // Errors: undeclared references and parameters, wrong types, too deep.
        refused(
            &app,
            "Observation?specimen.type=x",
            "no reference search parameter 'specimen'",
        )
        .await;
        refused(
            &app,
            "Observation?subject.nope=x",
            "unknown search parameter 'nope' for Patient",
        )
        .await;
        refused(
            &app,
            "Encounter?practitioner:Patient.name=x",
            "does not refer to Patient",
        )
        .await;
        refused(
            &app,
            "Observation?code.name=x",
            "no reference search parameter 'code'",
        )
        .await;
        refused(
            &app,
            "Observation?subject:Patient._has:Encounter:patient:service-provider.partof.name=x",
            "crosses 4 resources",
        )
        .await;
        refused(&app, "Patient?organization:identifier=x", "organization").await;
    }
}

#[tokio::test]
async fn reverse_chains_select_referred_resources() {
    for app in spawn_apps().await {
        let glucose_labs = "SELECT R.PAT_ID FROM LAB_RESULT R JOIN LAB_TEST_MAP M \
             ON M.LOCAL_CD = R.TEST_CD WHERE R.DEL_FLG <> 'Y' AND M.LOINC_CD = '2339-0'";
        let want = expected(
            &app,
            "",
            &format!(
                "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND PAT_ID IN ({glucose_labs})"
            ),
        )
        .await;
        assert!(!want.is_empty());
        check(
            &app,
            "Patient?_has:Observation:patient:code=http://loinc.org|2339-0&_count=100",
            want.clone(),
        )
        .await;
        // Combined with a criterion of the patient itself.
        let women = expected(
            &app,
            "",
            &format!(
                "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND SEX_CD = 'F' AND PAT_ID IN ({glucose_labs})"
            ),
        )
        .await;
        assert!(!women.is_empty() && women.len() < want.len());
        check(
            &app,
            "Patient?gender=female&_has:Observation:subject:code=http://loinc.org|2339-0",
            women,
        )
        .await;

        // Nested: practitioners attending encounters that have a glucose result.
        let want = expected(
            &app,
            "",
            "SELECT PROV_ID FROM PROVIDER WHERE PROV_ID IN (SELECT ATTEND_PROV_ID FROM VISIT \
             WHERE DEL_FLG <> 'Y' AND VISIT_ID IN (SELECT R.VISIT_ID FROM LAB_RESULT R \
             JOIN LAB_TEST_MAP M ON M.LOCAL_CD = R.TEST_CD WHERE R.DEL_FLG <> 'Y' \
             AND M.LOINC_CD = '2339-0'))",
        )
        .await;
        assert!(!want.is_empty());
        check(
            &app,
            "Practitioner?_has:Encounter:practitioner:_has:Observation:encounter:code=http://loinc.org|2339-0",
            want,
        )
        .await;

        // A reverse chain ending in a forward chain.
        let want = expected(
            &app,
            "",
            "SELECT DEPT_ID FROM DEPT WHERE DEPT_ID IN (SELECT DEPT_ID FROM VISIT WHERE \
             DEL_FLG <> 'Y' AND PAT_ID IN (SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' \
             AND BIRTH_DT >= '20100101'))",
        )
        .await;
        check(
            &app,
            "Organization?_has:Encounter:service-provider:patient.birthdate=ge2010",
            want,
        )
        .await;

        refused(
            &app,
            "Patient?_has:Observation:performer:code=x",
            "pointing to Patient",
        )
        .await;
        refused(&app, "Patient?_has:Observation:patient", "_has takes").await;
        refused(&app, "Patient?_has:Specimen:patient:type=x", "Specimen").await;
        // Lenient: an unknown chain is dropped and reported.
        let res = app
            .client
            .get(format!(
                "{}/Patient?_has:Observation:nope:code=x&_count=1",
                app.base
            ))
            .header("Prefer", "handling=lenient")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", app.dialect);
        let bundle: Value = res.json().await.unwrap();
        let outcome = bundle["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["search"]["mode"] == "outcome")
            .expect("an outcome entry");
        assert!(
            outcome["resource"]["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("_has:Observation:nope:code")
        );
    }
}

/// The Patient compartment of patient `pat` per type, computed by SQL.
async fn compartment_of(app: &TestApp, pat: u32) -> Vec<(&'static str, BTreeSet<String>)> {
    let on = format!("PAT_ID = {pat}");
    vec![
        (
            "Patient",
            expected(
                app,
                "",
                &format!("SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND {on}"),
            )
            .await,
        ),
        (
            "Encounter",
            expected(
                app,
                "",
                &format!("SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND {on}"),
            )
            .await,
        ),
        (
            "Condition",
            expected(
                app,
                "",
                &format!("SELECT DX_ID FROM DIAGNOSIS WHERE DEL_FLG <> 'Y' AND {on}"),
            )
            .await,
        ),
        ("Observation", observations_where(app, &on).await),
        (
            "MedicationRequest",
            expected(
                app,
                "",
                &format!("SELECT RX_ID FROM RX_ORDER WHERE DEL_FLG <> 'Y' AND {on}"),
            )
            .await,
        ),
    ]
}

#[tokio::test]
async fn compartment_searches_stay_in_the_patients_compartment() {
    for app in spawn_apps().await {
        for (ty, want) in compartment_of(&app, 3).await {
            assert!(!want.is_empty(), "{ty}");
            let got: BTreeSet<String> = all_entries(&app, &format!("Patient/3/{ty}?_count=4"))
                .await
                .into_iter()
                .collect();
            assert_eq!(got, typed(ty, want), "{}: Patient/3/{ty}", app.dialect);
        }
        // With criteria, and through POST.
        let want = expected(
            &app,
            "lab-",
            "SELECT RSLT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND PAT_ID = 3 AND TEST_CD IN \
             (SELECT LOCAL_CD FROM LAB_TEST_MAP WHERE LOINC_CD = '2339-0')",
        )
        .await;
        assert!(!want.is_empty());
        check(
            &app,
            "Patient/3/Observation?code=http://loinc.org|2339-0",
            want.clone(),
        )
        .await;
        let res = app
            .client
            .post(format!("{}/Patient/3/Observation/_search", app.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("code=http%3A%2F%2Floinc.org%7C2339-0&_count=100")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let bundle: Value = res.json().await.unwrap();
        let got: BTreeSet<String> = bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, want, "{}", app.dialect);
        assert!(
            bundle["link"][0]["url"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}/Patient/3/Observation?", app.base))
        );

        // A cursor belongs to its compartment.
        let (_, page) = app.get("Patient/3/Observation?_count=2").await;
        let next = page["link"][1]["url"].as_str().unwrap();
        let elsewhere = next.replace("/Patient/3/", "/Patient/4/");
        let res = app.client.get(&elsewhere).send().await.unwrap();
        assert_eq!(res.status(), 400, "{}", app.dialect);

        refused(
            &app,
            "Patient/3/Practitioner",
            "not in the Patient compartment",
        )
        .await;
        refused(&app, "Encounter/3/Observation", "Patient compartment").await;
        refused(&app, "Patient/3/Observation?nope=1", "nope").await;
        let (status, _) = app.get("Patient/3/Nope").await;
        assert_eq!(status, 404);
    }
}

#[tokio::test]
async fn everything_pages_through_the_whole_compartment() {
    for app in spawn_apps().await {
        let parts = compartment_of(&app, 5).await;
        let order: Vec<&str> = parts.iter().map(|(t, _)| *t).collect();
        let want: BTreeSet<String> = parts
            .iter()
            .flat_map(|(t, ids)| typed(t, ids.clone()))
            .collect();
        let (got, included) = walk(&app, "Patient/5/$everything?_count=7").await;
        // With the practitioners and organizations they refer to (through declared references).
        let on = "PAT_ID = 5 AND DEL_FLG <> 'Y'";
        let mut referenced = typed(
            "Practitioner",
            expected(
                &app,
                "",
                &format!(
                    "SELECT PROV_ID FROM PROVIDER WHERE PROV_ID IN (
                       SELECT PCP_PROV_ID FROM PATIENT WHERE {on}
                       UNION SELECT ATTEND_PROV_ID FROM VISIT WHERE {on}
                       UNION SELECT ENTERED_BY FROM VITALS WHERE {on} AND (HR IS NOT NULL
                         OR (BP_SYS IS NOT NULL AND BP_DIA IS NOT NULL) OR TEMP_F IS NOT NULL
                         OR WT_KG IS NOT NULL)
                       UNION SELECT PRESC_PROV_ID FROM RX_ORDER WHERE {on})"
                ),
            )
            .await,
        );
        referenced.extend(typed(
            "Organization",
            expected(
                &app,
                "",
                &format!(
                    "SELECT DEPT_ID FROM DEPT WHERE DEPT_ID IN (SELECT DEPT_ID FROM VISIT WHERE {on})"
                ),
            )
            .await,
        ));
        assert!(referenced.len() > 2);
        assert_eq!(included, referenced, "{}", app.dialect);
        assert_eq!(
            got[0], "Patient/5",
            "{}: the patient comes first",
            app.dialect
        );
        // Types come in mapping order, each once.
        let rank = |k: &String| {
            order
                .iter()
                .position(|t| k.starts_with(&format!("{t}/")))
                .unwrap()
        };
        assert!(
            got.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
            "{}: {got:?}",
            app.dialect
        );
        assert_eq!(
            got.iter().cloned().collect::<BTreeSet<_>>(),
            want,
            "{}",
            app.dialect
        );

        // _type restricts (and keeps mapping order whatever the order asked).
        let got = all_entries(
            &app,
            "Patient/5/$everything?_type=MedicationRequest,Condition&_count=3",
        )
        .await;
        let mut want: BTreeSet<String> = BTreeSet::new();
        for (t, ids) in &parts {
            if *t == "Condition" || *t == "MedicationRequest" {
                want.extend(typed(t, ids.clone()));
            }
        }
        assert_eq!(
            got.iter().cloned().collect::<BTreeSet<_>>(),
            want,
            "{}",
            app.dialect
        );
        assert!(got[0].starts_with("Condition/"));
        // Without the patient in the page: one statement checks it exists, one reads the page.
        let res = app
            .client
            .get(format!(
                "{}/Patient/5/$everything?_type=Condition",
                app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-sql-statements"], "2", "{}", app.dialect);

        // _since: 2020-01-01T06:00:00Z is midnight in Chicago, where the timestamps are kept.
        let since = "2020-01-01 00:00:00";
        let mut want = BTreeSet::new();
        for (ty, sql) in [
            (
                "Patient",
                format!(
                    "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' AND PAT_ID = 5 AND LAST_UPD_TS >= '{since}'"
                ),
            ),
            (
                "Encounter",
                format!(
                    "SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND PAT_ID = 5 AND LAST_UPD_TS >= '{since}'"
                ),
            ),
            (
                "Condition",
                format!(
                    "SELECT DX_ID FROM DIAGNOSIS WHERE DEL_FLG <> 'Y' AND PAT_ID = 5 AND RECORDED_TS >= '{since}'"
                ),
            ),
            (
                "MedicationRequest",
                format!(
                    "SELECT RX_ID FROM RX_ORDER WHERE DEL_FLG <> 'Y' AND PAT_ID = 5 AND LAST_UPD_TS >= '{since}'"
                ),
            ),
        ] {
            want.extend(typed(ty, expected(&app, "", &sql).await));
        }
        // Vital signs have no last-updated time: all observations come, with a warning.
        want.extend(typed("Observation", parts[3].1.clone()));
        let got = all_entries(
            &app,
            "Patient/5/$everything?_since=2020-01-01T06:00:00Z&_count=50",
        )
        .await;
        assert_eq!(
            got.iter().cloned().collect::<BTreeSet<_>>(),
            want,
            "{}",
            app.dialect
        );
        let (_, first) = app
            .get("Patient/5/$everything?_since=2020-01-01T06:00:00Z")
            .await;
        let warning = first["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["search"]["mode"] == "outcome")
            .expect("a warning about _since");
        assert!(
            warning["resource"]["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("Observation")
        );

        let (status, body) = app.get("Patient/999999/$everything").await;
        assert_eq!(status, 404, "{}: {body}", app.dialect);
        let (status, _) = app.get("Patient/999999/$everything?_type=Condition").await;
        assert_eq!(status, 404);
        refused(
            &app,
            "Patient/5/$everything?_type=Practitioner",
            "Practitioner",
        )
        .await;
        refused(&app, "Patient/5/$everything?_since=2020", "_since").await;
        refused(&app, "Patient/5/$everything?code=x", "code").await;
        refused(&app, "Patient/5/$everything?_count=0", "_count").await;
        // A cursor belongs to its patient.
        let (_, page) = app.get("Patient/5/$everything?_count=2").await;
        let next = page["link"][1]["url"]
            .as_str()
            .unwrap()
            .replace("/Patient/5/", "/Patient/6/");
        assert_eq!(app.client.get(&next).send().await.unwrap().status(), 400);
    }
}

/// Legacy schemas store some references as text and their keys as integers (or the other way
/// round): chains and `_has` compare them as text rather than fail on the database's types.
#[tokio::test]
async fn chains_between_text_and_integer_keys() {
    use crate::helpers::{MAPPING, backends, settings, spawn_with};
    use crate::servers::exec;
    use fhir_facade::sql::Dialect;

    let extra = r#"
[[resource]]
type = "Flag"
table = "flag_text_ref"
id = "flag_id"
[resource.elements]
status = { constant = "active" }
"code.text" = { constant = "legacy flag" }
subject = { column = "pat_ref", reference = "Patient" }
[resource.search]
_id = true
patient = true
"#;
    let text = std::fs::read_to_string(MAPPING).unwrap() + extra;
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    for b in backends().iter().filter(|b| b.dialect != Dialect::Sqlite) {
        exec(&b.url, "DROP TABLE IF EXISTS flag_text_ref").await;
        exec(
            &b.url,
            "CREATE TABLE flag_text_ref (flag_id INTEGER PRIMARY KEY, pat_ref VARCHAR(20))",
        )
        .await;
        exec(
            &b.url,
            "INSERT INTO flag_text_ref VALUES (1, '1'), (2, '3'), (3, 'legacy-x'), (4, NULL)",
        )
        .await;
        let app = spawn_with(b, settings(&b.url, file.path().to_str().unwrap())).await;
        let family = app.resource("Patient/3").await["name"][0]["family"]
            .as_str()
            .unwrap()
            .to_string();
        // Forward: the text reference against the integer key of PATIENT.
        let (status, body) = app
            .get(&format!("Flag?patient.family:exact={family}"))
            .await;
        assert_eq!(status, 200, "{}: {body}", b.dialect);
        let ids: Vec<&str> = body["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["2"], "{}", b.dialect);
        // Reverse: the integer key against the text references.
        let (status, body) = app.get("Patient?_has:Flag:patient:_id=1,2,3").await;
        assert_eq!(status, 200, "{}: {body}", b.dialect);
        let ids: BTreeSet<&str> = body["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, BTreeSet::from(["1", "3"]), "{}", b.dialect);
        exec(&b.url, "DROP TABLE flag_text_ref").await;
    }
}

/// References mapped in a child table (Encounter.participant from its own relation) are
/// followed by chains and `_has` too.
#[tokio::test]
async fn chains_through_references_in_child_tables() {
    use crate::helpers::{backends, settings, spawn_with};
    let mapping = crate::include::mapping_with_child_reference();
    for b in backends() {
        let app = spawn_with(b, settings(&b.url, mapping.to_str().unwrap())).await;
        let want = expected(
            &app,
            "",
            "SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND ATTEND_PROV_ID IN \
             (SELECT PROV_ID FROM PROVIDER WHERE LOWER(LAST_NM) LIKE 'w%' OR \
             LOWER(FIRST_NM) LIKE 'w%' OR LOWER(MID_INIT) LIKE 'w%' OR LOWER(CRED_CD) LIKE 'w%')",
        )
        .await;
        assert!(!want.is_empty());
        check(&app, "Encounter?practitioner.name=w&_count=100", want).await;
        let want = expected(
            &app,
            "",
            "SELECT PROV_ID FROM PROVIDER WHERE PROV_ID IN (SELECT ATTEND_PROV_ID FROM VISIT \
             WHERE DEL_FLG <> 'Y' AND PAT_ID = 1)",
        )
        .await;
        assert!(!want.is_empty());
        check(
            &app,
            "Practitioner?_has:Encounter:practitioner:patient=Patient/1",
            want,
        )
        .await;
    }
}
