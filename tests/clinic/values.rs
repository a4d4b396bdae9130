//! What the resources hold, compared element by element with their rows (read with SQL on the
//! SQLite copy): zero dates and blank strings are absent, 0 is no reference, integer and
//! tinyint(1) flags are booleans, prefixed codes are split into system and code, numbers stored
//! as text are numbers. On every backend (which must also agree byte for byte, see `read`).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::app::{App, apps};

type Row = Vec<Option<String>>;

/// The resources of `query` (all pages) by id.
async fn by_id(app: &App, query: &str) -> BTreeMap<String, Value> {
    let (matches, _) = app.walk(query).await;
    matches
        .into_iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r))
        .collect()
}

/// Rows of `sql` by their first column.
async fn rows_by_id(app: &App, sql: &str) -> BTreeMap<String, Row> {
    app.rows(sql)
        .await
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r))
        .collect()
}

/// A value that is not NULL, blank or a zero date.
fn present(v: &Option<String>) -> Option<&str> {
    match v.as_deref().map(str::trim) {
        None | Some("" | "0000-00-00" | "0000-00-00 00:00:00") => None,
        Some(v) => Some(v),
    }
}

/// A reference column: 0 and NULL are none.
fn reference(ty: &str, v: &Option<String>) -> Value {
    match present(v) {
        None | Some("0") => Value::Null,
        Some(id) => json!({ "reference": format!("{ty}/{id}") }),
    }
}

/// A stored local date-time `YYYY-MM-DD HH:MM:SS` as the start of its FHIR dateTime.
fn date_time_prefix(v: &str) -> String {
    v.replace(' ', "T")
}

fn assert_date_time(what: &str, got: &Value, stored: &Option<String>) {
    match present(stored) {
        None => assert!(got.is_null(), "{what}: {got} for {stored:?}"),
        Some(v) => {
            let got = got
                .as_str()
                .unwrap_or_else(|| panic!("{what}: missing ({v})"));
            assert!(
                got.starts_with(&date_time_prefix(v)),
                "{what}: {got} for {v}"
            );
        }
    }
}

fn assert_date(what: &str, got: &Value, stored: &Option<String>) {
    match present(stored) {
        None => assert!(got.is_null(), "{what}: {got} for {stored:?}"),
        Some(v) => assert_eq!(got, v, "{what}"),
    }
}

/// A number stored as text (digits with one optional decimal point), as a number.
fn stored_number(v: &Option<String>) -> Option<f64> {
    let v = v.as_deref()?.trim();
    let digits = !v.is_empty()
        && v.chars().all(|c| c.is_ascii_digit() || c == '.')
        && v.matches('.').count() <= 1
        && v.starts_with(|c: char| c.is_ascii_digit());
    digits.then(|| v.parse().unwrap())
}

fn assert_number(what: &str, got: &Value, want: Option<f64>) {
    match want {
        None => assert!(got.is_null(), "{what}: {got}"),
        Some(w) => {
            let g = got
                .as_f64()
                .unwrap_or_else(|| panic!("{what}: {got} is not a number ({w})"));
            assert!((g - w).abs() < 1e-6, "{what}: {got} for {w}");
        }
    }
}

#[tokio::test]
async fn patients_hold_their_row_values() {
    for app in apps().await {
        let d = app.dialect;
        let served = by_id(&app, "Patient?_count=15").await;
        let rows = rows_by_id(
            &app,
            "SELECT pid, DOB, sex, active, providerID, phone_home, phone_cell, email, deceased_date, \
             pubpid, lname FROM patient_data",
        )
        .await;
        assert_eq!(served.len(), rows.len(), "{d}");
        for (id, row) in &rows {
            let p = &served[id];
            let what = format!("{d}: Patient/{id}");
            assert_date(&format!("{what} birthDate"), &p["birthDate"], &row[1]);
            let gender = match row[2].as_deref() {
                Some("Male") => json!("male"),
                Some("Female") => json!("female"),
                _ => Value::Null,
            };
            assert_eq!(p["gender"], gender, "{what} gender");
            let active = match row[3].as_deref() {
                Some("1") => json!(true),
                Some("0") => json!(false),
                _ => Value::Null,
            };
            assert_eq!(p["active"], active, "{what} active");
            assert_eq!(
                p["generalPractitioner"][0],
                reference("Practitioner", &row[4]),
                "{what} generalPractitioner"
            );
            let telecom: Vec<(&str, &str)> =
                [("phone", &row[5]), ("phone", &row[6]), ("email", &row[7])]
                    .into_iter()
                    .filter_map(|(system, v)| present(v).map(|v| (system, v)))
                    .collect();
            let got: Vec<(&str, &str)> = p["telecom"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| (t["system"].as_str().unwrap(), t["value"].as_str().unwrap()))
                .collect();
            assert_eq!(got, telecom, "{what} telecom");
            assert_date_time(
                &format!("{what} deceasedDateTime"),
                &p["deceasedDateTime"],
                &row[8],
            );
            assert_eq!(
                p["identifier"][0]["value"].as_str(),
                present(&row[9]),
                "{what} identifier"
            );
            assert_eq!(
                p["name"][0]["family"].as_str(),
                row[10].as_deref(),
                "{what} family"
            );
        }
    }
}

/// `(system, code)` of a `PREFIX:code` text given the known prefixes; unknown prefixes and
/// codes without one are codes without a system.
fn split_code(v: &Option<String>, systems: &[(&str, &str)]) -> Option<(Option<String>, String)> {
    let v = present(v)?;
    for (prefix, system) in systems {
        if let Some(code) = v.strip_prefix(&format!("{prefix}:")) {
            return Some((Some(system.to_string()), code.to_string()));
        }
    }
    Some((None, v.to_string()))
}

fn assert_coding(what: &str, coding: &Value, want: Option<(Option<String>, String)>) {
    match want {
        None => assert!(coding.is_null(), "{what}: {coding}"),
        Some((system, code)) => {
            assert_eq!(coding["code"].as_str(), Some(code.as_str()), "{what} code");
            assert_eq!(
                coding["system"].as_str(),
                system.as_deref(),
                "{what} system"
            );
        }
    }
}

const DIAGNOSIS_SYSTEMS: [(&str, &str); 2] = [
    ("ICD10", "http://hl7.org/fhir/sid/icd-10-cm"),
    ("SNOMED-CT", "http://snomed.info/sct"),
];
const ALLERGY_SYSTEMS: [(&str, &str); 2] = [
    ("RXCUI", "http://www.nlm.nih.gov/research/umls/rxnorm"),
    ("SNOMED-CT", "http://snomed.info/sct"),
];

#[tokio::test]
async fn conditions_and_allergies_hold_their_row_values() {
    for app in apps().await {
        let d = app.dialect;
        let conditions = by_id(&app, "Condition?_count=30").await;
        let rows = rows_by_id(
            &app,
            "SELECT id, diagnosis, activity, begdate, enddate, pid FROM lists WHERE type = 'medical_problem'",
        )
        .await;
        assert_eq!(conditions.len(), rows.len(), "{d}");
        for (id, row) in &rows {
            let c = &conditions[id];
            let what = format!("{d}: Condition/{id}");
            assert_coding(
                &what,
                &c["code"]["coding"][0],
                split_code(&row[1], &DIAGNOSIS_SYSTEMS),
            );
            let status = if row[2].as_deref() == Some("1") {
                "active"
            } else {
                "resolved"
            };
            assert_eq!(c["clinicalStatus"]["coding"][0]["code"], status, "{what}");
            assert_date_time(&format!("{what} onset"), &c["onsetDateTime"], &row[3]);
            assert_date(
                &format!("{what} abatement"),
                &c["abatementDateTime"],
                &row[4],
            );
            assert_eq!(c["subject"], reference("Patient", &row[5]), "{what}");
        }
        let allergies = by_id(&app, "AllergyIntolerance").await;
        let rows = rows_by_id(
            &app,
            "SELECT id, diagnosis, activity, verification, reaction, severity_al FROM lists WHERE type = 'allergy'",
        )
        .await;
        assert_eq!(allergies.len(), rows.len(), "{d}");
        for (id, row) in &rows {
            let a = &allergies[id];
            let what = format!("{d}: AllergyIntolerance/{id}");
            assert_coding(
                &what,
                &a["code"]["coding"][0],
                split_code(&row[1], &ALLERGY_SYSTEMS),
            );
            let status = if row[2].as_deref() == Some("1") {
                "active"
            } else {
                "inactive"
            };
            assert_eq!(a["clinicalStatus"]["coding"][0]["code"], status, "{what}");
            assert_eq!(
                a["verificationStatus"]["coding"][0]["code"].as_str(),
                present(&row[3]),
                "{what}"
            );
            assert_eq!(
                a["reaction"][0]["manifestation"][0]["text"].as_str(),
                present(&row[4]),
                "{what}"
            );
            assert_eq!(
                a["reaction"][0]["severity"].as_str(),
                present(&row[5]),
                "{what}"
            );
        }
    }
}

#[tokio::test]
async fn observations_hold_their_row_values() {
    for app in apps().await {
        let d = app.dialect;
        let served = by_id(&app, "Observation?_count=100").await;
        let labs = rows_by_id(
            &app,
            "SELECT 'lab-' || r.procedure_result_id, r.result_code, r.result, r.date, po.patient_id, \
             po.encounter_id, po.provider_id, r.units FROM procedure_result r \
             JOIN procedure_order po ON po.procedure_order_id = r.procedure_order_id",
        )
        .await;
        for (id, row) in &labs {
            let o = &served[id];
            let what = format!("{d}: Observation/{id}");
            assert_coding(
                &what,
                &o["code"]["coding"][0],
                split_code(&row[1], &[("LOINC", "http://loinc.org")]),
            );
            let number = stored_number(&row[2]);
            assert_number(&what, &o["valueQuantity"]["value"], number);
            let string = if number.is_some() {
                None
            } else {
                present(&row[2])
            };
            assert_eq!(o["valueString"].as_str(), string, "{what} valueString");
            if number.is_some() {
                assert_eq!(
                    o["valueQuantity"]["unit"].as_str(),
                    present(&row[7]),
                    "{what} unit"
                );
            }
            assert_date_time(
                &format!("{what} effective"),
                &o["effectiveDateTime"],
                &row[3],
            );
            assert_eq!(o["subject"], reference("Patient", &row[4]), "{what}");
            assert_eq!(o["encounter"], reference("Encounter", &row[5]), "{what}");
            assert_eq!(
                o["performer"][0],
                reference("Practitioner", &row[6]),
                "{what}"
            );
        }
        let vitals = app
            .rows(
                "SELECT id, date, pid, bps, bpd, pulse, weight FROM form_vitals WHERE activity = 1",
            )
            .await;
        let mut seen = labs.len();
        for row in &vitals {
            let id = row[0].as_deref().unwrap();
            for (prefix, value) in [
                ("bp-", None),
                ("pulse-", Some(&row[5])),
                ("wt-", Some(&row[6])),
            ] {
                let Some(o) = served.get(&format!("{prefix}{id}")) else {
                    continue;
                };
                seen += 1;
                let what = format!("{d}: Observation/{prefix}{id}");
                assert_date(
                    &format!("{what} effective"),
                    &o["effectiveDateTime"],
                    &row[1],
                );
                assert_eq!(o["subject"], reference("Patient", &row[2]), "{what}");
                match value {
                    None => {
                        assert_number(
                            &what,
                            &o["component"][0]["valueQuantity"]["value"],
                            stored_number(&row[3]),
                        );
                        assert_number(
                            &what,
                            &o["component"][1]["valueQuantity"]["value"],
                            stored_number(&row[4]),
                        );
                    }
                    Some(v) => {
                        let want = v.as_deref().and_then(|v| v.parse::<f64>().ok());
                        assert_number(&what, &o["valueQuantity"]["value"], want);
                    }
                }
            }
        }
        assert_eq!(seen, served.len(), "{d}: every Observation checked");
    }
}

#[tokio::test]
async fn encounters_and_prescriptions_hold_their_row_values() {
    for app in apps().await {
        let d = app.dialect;
        let encounters = by_id(&app, "Encounter?_count=50").await;
        let rows = rows_by_id(
            &app,
            "SELECT encounter, pid, provider_id, facility_id, date, date_end FROM form_encounter",
        )
        .await;
        assert_eq!(encounters.len(), rows.len(), "{d}");
        for (id, row) in &rows {
            let e = &encounters[id];
            let what = format!("{d}: Encounter/{id}");
            assert_eq!(e["subject"], reference("Patient", &row[1]), "{what}");
            assert_eq!(
                e["participant"][0]["individual"],
                reference("Practitioner", &row[2]),
                "{what} participant"
            );
            assert_eq!(
                e["serviceProvider"],
                reference("Organization", &row[3]),
                "{what}"
            );
            assert_date_time(&format!("{what} start"), &e["period"]["start"], &row[4]);
            assert_date_time(&format!("{what} end"), &e["period"]["end"], &row[5]);
        }
        let requests = by_id(&app, "MedicationRequest?_count=50").await;
        let rows = rows_by_id(
            &app,
            "SELECT id, active, start_date, provider_id, encounter, rxnorm_drugcode, quantity, patient_id \
             FROM prescriptions",
        )
        .await;
        assert_eq!(requests.len(), rows.len(), "{d}");
        for (id, row) in &rows {
            let m = &requests[id];
            let what = format!("{d}: MedicationRequest/{id}");
            let status = if row[1].as_deref() == Some("1") {
                "active"
            } else {
                "stopped"
            };
            assert_eq!(m["status"], status, "{what}");
            assert_date(&format!("{what} authoredOn"), &m["authoredOn"], &row[2]);
            assert_eq!(m["requester"], reference("Practitioner", &row[3]), "{what}");
            assert_eq!(m["encounter"], reference("Encounter", &row[4]), "{what}");
            assert_eq!(
                m["medicationCodeableConcept"]["coding"][0]["code"].as_str(),
                present(&row[5]),
                "{what}"
            );
            assert_number(
                &what,
                &m["dispenseRequest"]["quantity"]["value"],
                stored_number(&row[6]),
            );
            assert_eq!(m["subject"], reference("Patient", &row[7]), "{what}");
        }
    }
}

#[tokio::test]
async fn practitioners_roles_and_organizations_hold_their_row_values() {
    for app in apps().await {
        let d = app.dialect;
        let practitioners = by_id(&app, "Practitioner").await;
        let roles = by_id(&app, "PractitionerRole").await;
        let rows = rows_by_id(
            &app,
            "SELECT id, active, npi, facility_id, phone, email FROM users WHERE authorized = 1",
        )
        .await;
        assert_eq!(practitioners.len(), rows.len(), "{d}");
        assert_eq!(roles.len(), rows.len(), "{d}");
        for (id, row) in &rows {
            let p = &practitioners[id];
            let what = format!("{d}: Practitioner/{id}");
            assert_eq!(p["active"], json!(row[1].as_deref() == Some("1")), "{what}");
            assert_eq!(
                p["identifier"][0]["value"].as_str(),
                present(&row[2]),
                "{what}"
            );
            let telecom: Vec<&str> = [&row[4], &row[5]].into_iter().filter_map(present).collect();
            let got: Vec<&str> = p["telecom"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|t| t["value"].as_str().unwrap())
                .collect();
            assert_eq!(got, telecom, "{what} telecom");
            let r = &roles[id];
            assert_eq!(
                r["practitioner"],
                reference("Practitioner", &row[0]),
                "{d}: role {id}"
            );
            assert_eq!(
                r["organization"],
                reference("Organization", &row[3]),
                "{d}: role {id}"
            );
            assert_eq!(r["active"], p["active"], "{d}: role {id}");
        }
        let organizations = by_id(&app, "Organization").await;
        let rows = rows_by_id(&app, "SELECT id, inactive, facility_npi FROM facility").await;
        assert_eq!(organizations.len(), rows.len(), "{d}");
        for (id, row) in &rows {
            let o = &organizations[id];
            let what = format!("{d}: Organization/{id}");
            assert_eq!(o["active"], json!(row[1].as_deref() == Some("0")), "{what}");
            assert_eq!(
                o["identifier"][0]["value"].as_str(),
                present(&row[2]),
                "{what}"
            );
        }
    }
}
