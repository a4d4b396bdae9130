//! Reads of every mapped type, compared field by field with the rows of the sample database
//! (read directly with SQL written here, independently of the mapping code).

use chrono::{NaiveDateTime, TimeZone};
use serde_json::{Value, json};
use sqlx::Row;

use crate::helpers::{TestApp, spawn_apps};

/// `YYYYMMDD` → `YYYY-MM-DD`, independently of the server's conversion code.
fn d8(s: &str) -> String {
    format!("{}-{}-{}", &s[0..4], &s[4..6], &s[6..8])
}

/// A naive `YYYY-MM-DD HH:MM:SS` in the mapping's zone (America/Chicago) as RFC 3339.
fn chicago(ts: &str) -> String {
    let naive = NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S").unwrap();
    chrono_tz::America::Chicago
        .from_local_datetime(&naive)
        .earliest()
        .unwrap()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
}

fn text(v: &Value) -> &str {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
}

async fn rows(app: &TestApp, sql: &str) -> Vec<sqlx::sqlite::SqliteRow> {
    sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(&app.db)
        .await
        .unwrap()
}

fn s(row: &sqlx::sqlite::SqliteRow, col: &str) -> Option<String> {
    row.try_get::<Option<String>, _>(col)
        .unwrap()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn i(row: &sqlx::sqlite::SqliteRow, col: &str) -> Option<i64> {
    row.try_get::<Option<i64>, _>(col).unwrap()
}

#[tokio::test]
async fn patients_match_their_rows_and_child_tables() {
    for app in spawn_apps().await {
        let gender = |c: &str| match c {
            "M" => "male",
            "F" => "female",
            _ => "unknown",
        };
        for p in rows(&app, "SELECT * FROM PATIENT ORDER BY PAT_ID").await {
            let id = i(&p, "PAT_ID").unwrap();
            if s(&p, "DEL_FLG").as_deref() == Some("Y") {
                let (status, body) = app.get(&format!("Patient/{id}")).await;
                assert_eq!(status, 404, "soft-deleted Patient/{id} must not be served");
                assert_eq!(body["resourceType"], "OperationOutcome");
                continue;
            }
            let r = app.resource(&format!("Patient/{id}")).await;
            assert_eq!(r["id"], id.to_string());
            assert_eq!(
                r["meta"]["versionId"],
                i(&p, "ROW_VER").unwrap().to_string()
            );
            assert_eq!(
                r["meta"]["lastUpdated"],
                chicago(&s(&p, "LAST_UPD_TS").unwrap())
            );
            let name = &r["name"][0];
            assert_eq!(name["family"], s(&p, "LAST_NM").unwrap());
            let mut given = vec![s(&p, "FIRST_NM").unwrap()];
            given.extend(s(&p, "MID_NM"));
            assert_eq!(name["given"], json!(given));
            match s(&p, "SUFFIX") {
                Some(sfx) => assert_eq!(name["suffix"], json!([sfx])),
                None => assert!(name.get("suffix").is_none()),
            }
            assert_eq!(r["gender"], gender(&s(&p, "SEX_CD").unwrap()));
            assert_eq!(r["birthDate"], d8(&s(&p, "BIRTH_DT").unwrap()));
            match s(&p, "DEATH_DT") {
                Some(dd) => {
                    assert_eq!(r["deceasedDateTime"], d8(&dd));
                    assert!(r.get("deceasedBoolean").is_none());
                }
                None => assert_eq!(
                    r["deceasedBoolean"],
                    s(&p, "DECEASED_FLG").as_deref() == Some("Y")
                ),
            }
            match i(&p, "PCP_PROV_ID") {
                Some(pcp) => assert_eq!(
                    r["generalPractitioner"],
                    json!([{"reference": format!("Practitioner/{pcp}")}])
                ),
                None => assert!(r.get("generalPractitioner").is_none()),
            }
            match s(&p, "MARITAL_CD") {
                Some(m) => assert_eq!(r["maritalStatus"]["coding"][0]["code"], m),
                None => assert!(r.get("maritalStatus").is_none()),
            }

            let idents = rows(
                &app,
                &format!("SELECT * FROM PAT_IDENT WHERE PAT_ID = {id} ORDER BY ID_TYP"),
            )
            .await;
            let got: Vec<&str> = r["identifier"]
                .as_array()
                .map(|a| a.iter().map(|x| text(&x["value"])).collect())
                .unwrap_or_default();
            let want: Vec<String> = idents.iter().map(|x| s(x, "ID_VAL").unwrap()).collect();
            assert_eq!(got, want, "identifiers of Patient/{id}");
            for (ident, row) in r["identifier"]
                .as_array()
                .into_iter()
                .flatten()
                .zip(&idents)
            {
                let (code, system) = match s(row, "ID_TYP").unwrap().as_str() {
                    "MRN" => ("MR", "http://hospital.example.org/fhir/sid/mrn"),
                    "SSN" => ("SS", "http://hl7.org/fhir/sid/us-ssn"),
                    _ => ("DL", "http://hospital.example.org/fhir/sid/drivers-license"),
                };
                assert_eq!(ident["type"]["coding"][0]["code"], code);
                assert_eq!(ident["system"], system);
            }

            let phones = rows(
                &app,
                &format!("SELECT * FROM PAT_PHONE WHERE PAT_ID = {id} ORDER BY SEQ_NO"),
            )
            .await;
            let got: Vec<&str> = r["telecom"]
                .as_array()
                .map(|a| a.iter().map(|x| text(&x["value"])).collect())
                .unwrap_or_default();
            let want: Vec<String> = phones.iter().map(|x| s(x, "PHONE_NO").unwrap()).collect();
            assert_eq!(got, want, "phones of Patient/{id}");

            let addrs = rows(
                &app,
                &format!("SELECT * FROM PAT_ADDR WHERE PAT_ID = {id} ORDER BY ADDR_SEQ"),
            )
            .await;
            let got = r["address"].as_array().cloned().unwrap_or_default();
            assert_eq!(got.len(), addrs.len(), "addresses of Patient/{id}");
            for (a, row) in got.iter().zip(&addrs) {
                let mut lines = vec![s(row, "LINE1").unwrap()];
                lines.extend(s(row, "LINE2"));
                assert_eq!(a["line"], json!(lines));
                assert_eq!(a["city"], s(row, "CITY").unwrap());
                assert_eq!(a["state"], s(row, "STATE_CD").unwrap());
                assert_eq!(a["postalCode"], s(row, "ZIP").unwrap());
                assert_eq!(
                    a.get("period")
                        .and_then(|p| p.get("end"))
                        .and_then(Value::as_str),
                    s(row, "END_DT").as_deref()
                );
            }
        }
    }
}

#[tokio::test]
async fn well_known_patient_one_reads_as_documented() {
    for app in spawn_apps().await {
        let r = app.resource("Patient/1").await;
        assert_eq!(r["name"][0]["family"], "CHALMERS");
        assert_eq!(r["name"][0]["given"], json!(["PETER", "JAMES"]));
        assert_eq!(r["birthDate"], "1974-06-25");
        assert_eq!(r["gender"], "male");
        let mrn = r["identifier"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["type"]["coding"][0]["code"] == "MR")
            .unwrap();
        // The CHAR(4) code 'MRN ' was matched after trimming.
        assert_eq!(mrn["value"], "M1242486");
        assert_eq!(mrn["use"], "usual");
        assert_eq!(r["telecom"].as_array().unwrap().len(), 2);
        assert_eq!(r["telecom"][1]["use"], "mobile");
        assert_eq!(r["address"][0]["period"]["start"], "2010-04-01");
    }
}

#[tokio::test]
async fn practitioners_and_organizations_match_their_rows() {
    for app in spawn_apps().await {
        for p in rows(&app, "SELECT * FROM PROVIDER ORDER BY PROV_ID").await {
            let id = i(&p, "PROV_ID").unwrap();
            let r = app.resource(&format!("Practitioner/{id}")).await;
            assert_eq!(r["name"][0]["family"], s(&p, "LAST_NM").unwrap());
            assert_eq!(r["active"], s(&p, "ACTIVE_FLG").as_deref() == Some("Y"));
            match s(&p, "NPI") {
                Some(npi) => assert_eq!(
                    r["identifier"],
                    json!([{"system": "http://hl7.org/fhir/sid/us-npi", "value": npi}])
                ),
                None => assert!(r.get("identifier").is_none(), "no NPI, no identifier: {r}"),
            }
            match s(&p, "PHONE_NO") {
                Some(ph) => assert_eq!(r["telecom"][0]["value"], ph),
                // `required`: no telecom holding only its constants.
                None => assert!(r.get("telecom").is_none(), "{r}"),
            }
            assert_eq!(
                r["meta"]["lastUpdated"],
                chicago(&s(&p, "LAST_MOD_TS").unwrap())
            );
        }
        for d in rows(&app, "SELECT * FROM DEPT ORDER BY DEPT_ID").await {
            let id = i(&d, "DEPT_ID").unwrap();
            let r = app.resource(&format!("Organization/{id}")).await;
            assert_eq!(r["name"], s(&d, "DEPT_NM").unwrap());
            assert_eq!(r["identifier"][0]["value"], s(&d, "DEPT_CD").unwrap());
            match i(&d, "PARENT_DEPT_ID") {
                Some(parent) => {
                    assert_eq!(r["partOf"]["reference"], format!("Organization/{parent}"))
                }
                None => assert!(r.get("partOf").is_none()),
            }
            let expected_type = if s(&d, "DEPT_TYP").as_deref() == Some("HOSP") {
                "prov"
            } else {
                "dept"
            };
            assert_eq!(r["type"][0]["coding"][0]["code"], expected_type);
        }
    }
}

#[tokio::test]
async fn encounters_and_conditions_match_their_rows() {
    for app in spawn_apps().await {
        for v in rows(&app, "SELECT * FROM VISIT ORDER BY VISIT_ID LIMIT 250").await {
            let id = i(&v, "VISIT_ID").unwrap();
            if s(&v, "DEL_FLG").as_deref() == Some("Y") {
                assert_eq!(app.get(&format!("Encounter/{id}")).await.0, 404);
                continue;
            }
            let r = app.resource(&format!("Encounter/{id}")).await;
            let status = match s(&v, "VISIT_STAT").unwrap().as_str() {
                "A" => "in-progress",
                "D" => "finished",
                _ => "cancelled",
            };
            assert_eq!(r["status"], status);
            let class = match s(&v, "VISIT_TYP").unwrap().as_str() {
                "I" => "IMP",
                "O" => "AMB",
                _ => "EMER",
            };
            assert_eq!(r["class"]["code"], class);
            assert_eq!(
                r["subject"]["reference"],
                format!("Patient/{}", i(&v, "PAT_ID").unwrap())
            );
            assert_eq!(r["identifier"][0]["value"], s(&v, "VISIT_NO").unwrap());
            assert_eq!(r["period"]["start"], chicago(&s(&v, "ADMIT_TS").unwrap()));
            match s(&v, "DISCH_TS") {
                Some(t) => assert_eq!(r["period"]["end"], chicago(&t)),
                None => assert!(r["period"].get("end").is_none()),
            }
            match i(&v, "ATTEND_PROV_ID") {
                Some(p) => assert_eq!(
                    r["participant"][0]["individual"]["reference"],
                    format!("Practitioner/{p}")
                ),
                None => assert!(r.get("participant").is_none(), "{r}"),
            }
        }
        for c in rows(&app, "SELECT * FROM DIAGNOSIS ORDER BY DX_ID LIMIT 250").await {
            let id = i(&c, "DX_ID").unwrap();
            if s(&c, "DEL_FLG").as_deref() == Some("Y") {
                assert_eq!(app.get(&format!("Condition/{id}")).await.0, 404);
                continue;
            }
            let r = app.resource(&format!("Condition/{id}")).await;
            // CHAR(8) 'E11.9   ' is served trimmed.
            assert_eq!(r["code"]["coding"][0]["code"], s(&c, "ICD10_CD").unwrap());
            assert_eq!(
                r["code"]["coding"][0]["system"],
                "http://hl7.org/fhir/sid/icd-10-cm"
            );
            let clinical = match s(&c, "CLIN_STAT").unwrap().as_str() {
                "A" => "active",
                "R" => "resolved",
                _ => "inactive",
            };
            assert_eq!(r["clinicalStatus"]["coding"][0]["code"], clinical);
            assert_eq!(r["onsetDateTime"].as_str(), s(&c, "ONSET_DT").as_deref());
            assert_eq!(
                r["abatementDateTime"].as_str(),
                s(&c, "RESOLVED_DT").as_deref()
            );
            match i(&c, "VISIT_ID") {
                Some(v) => assert_eq!(r["encounter"]["reference"], format!("Encounter/{v}")),
                None => assert!(r.get("encounter").is_none()),
            }
        }
    }
}

#[tokio::test]
async fn lab_results_use_the_loinc_code_map_and_keep_decimal_digits() {
    for app in spawn_apps().await {
        let labs = rows(
            &app,
            "SELECT R.*, M.LOINC_CD, M.UCUM_CD FROM LAB_RESULT R \
             LEFT JOIN LAB_TEST_MAP M ON M.LOCAL_CD = R.TEST_CD ORDER BY R.RSLT_ID LIMIT 400",
        )
        .await;
        let mut unmapped = 0;
        let mut textual = 0;
        for l in labs {
            let id = i(&l, "RSLT_ID").unwrap();
            let path = format!("Observation/lab-{id}");
            if s(&l, "DEL_FLG").as_deref() == Some("Y") {
                assert_eq!(app.get(&path).await.0, 404);
                continue;
            }
            let res = app
                .client
                .get(format!("{}/{path}", app.base))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 200);
            let raw = res.text().await.unwrap();
            let r: Value = serde_json::from_str(&raw).unwrap();
            crate::fhir_schema::assert_valid(&r);
            let codings = r["code"]["coding"].as_array().unwrap();
            let local = s(&l, "TEST_CD").unwrap();
            match s(&l, "LOINC_CD") {
                Some(loinc) => {
                    assert_eq!(
                        codings[0],
                        json!({"system": "http://loinc.org", "code": loinc,
                        "display": codings[0]["display"].clone()})
                    );
                    assert_eq!(codings[1]["code"], local);
                }
                None => {
                    unmapped += 1;
                    assert_eq!(
                        codings.len(),
                        1,
                        "no LOINC coding for an unmapped code: {r}"
                    );
                    assert_eq!(codings[0]["code"], local);
                }
            }
            let val = s(&l, "RSLT_VAL").unwrap();
            if val.chars().all(|c| c.is_ascii_digit() || c == '.') {
                // The digits are kept exactly as stored ("5.70" stays 5.70).
                assert!(raw.contains(&format!("\"value\":{val}")), "{val} in {raw}");
                assert_eq!(r["valueQuantity"]["unit"], s(&l, "RSLT_UNITS").unwrap());
                assert!(r.get("valueString").is_none());
            } else {
                textual += 1;
                assert_eq!(r["valueString"], val);
                assert!(r.get("valueQuantity").is_none(), "{r}");
            }
            let status = match s(&l, "RSLT_STAT").unwrap().as_str() {
                "F" => "final",
                "P" => "preliminary",
                "C" => "corrected",
                _ => "cancelled",
            };
            assert_eq!(r["status"], status);
            assert_eq!(
                r["effectiveDateTime"],
                chicago(&s(&l, "COLLECT_TS").unwrap())
            );
        }
        assert!(
            unmapped > 0,
            "the sample must exercise unmapped local codes"
        );
        assert!(textual > 0, "the sample must exercise non-numeric results");
    }
}

#[tokio::test]
async fn one_vitals_row_becomes_one_observation_per_measurement() {
    for app in spawn_apps().await {
        let vitals = rows(
            &app,
            "SELECT VS_ID, HR, BP_SYS, BP_DIA, CAST(TEMP_F AS TEXT) AS TEMP_F, \
             CAST(WT_KG AS TEXT) AS WT_KG, DEL_FLG, PAT_ID FROM VITALS ORDER BY VS_ID LIMIT 150",
        )
        .await;
        for v in vitals {
            let id = i(&v, "VS_ID").unwrap();
            let deleted = s(&v, "DEL_FLG").as_deref() == Some("Y");
            let checks = [
                ("hr", "8867-4", i(&v, "HR").map(|x| x.to_string())),
                ("bp", "85354-9", i(&v, "BP_SYS").map(|x| x.to_string())),
                ("temp", "8310-5", s(&v, "TEMP_F")),
                ("wt", "29463-7", s(&v, "WT_KG")),
            ];
            for (prefix, loinc, value) in checks {
                let path = format!("Observation/vs-{prefix}-{id}");
                match value {
                    Some(value) if !deleted => {
                        let r = app.resource(&path).await;
                        assert_eq!(r["code"]["coding"][0]["code"], loinc);
                        assert_eq!(
                            r["subject"]["reference"],
                            format!("Patient/{}", i(&v, "PAT_ID").unwrap())
                        );
                        if prefix == "bp" {
                            assert_eq!(
                                r["component"][0]["valueQuantity"]["value"].to_string(),
                                value
                            );
                            assert_eq!(
                                r["component"][1]["valueQuantity"]["value"].to_string(),
                                i(&v, "BP_DIA").unwrap().to_string()
                            );
                        } else {
                            let got: f64 = r["valueQuantity"]["value"].to_string().parse().unwrap();
                            assert_eq!(got, value.parse::<f64>().unwrap(), "{path}");
                        }
                    }
                    _ => assert_eq!(app.get(&path).await.0, 404, "{path} must not exist"),
                }
            }
        }
    }
}

#[tokio::test]
async fn medication_requests_match_their_rows() {
    for app in spawn_apps().await {
        for m in rows(&app, "SELECT * FROM RX_ORDER ORDER BY RX_ID LIMIT 200").await {
            let id = i(&m, "RX_ID").unwrap();
            if s(&m, "DEL_FLG").as_deref() == Some("Y") {
                assert_eq!(app.get(&format!("MedicationRequest/{id}")).await.0, 404);
                continue;
            }
            let r = app.resource(&format!("MedicationRequest/{id}")).await;
            let coding = &r["medicationCodeableConcept"]["coding"][0];
            assert_eq!(
                coding["system"],
                "http://www.nlm.nih.gov/research/umls/rxnorm"
            );
            assert_eq!(coding["code"], s(&m, "RXNORM_CD").unwrap());
            assert_eq!(coding["display"], s(&m, "DRUG_NM").unwrap());
            let status = match s(&m, "ORDER_STAT").unwrap().as_str() {
                "A" => "active",
                "D" => "stopped",
                "C" => "completed",
                _ => "cancelled",
            };
            assert_eq!(r["status"], status);
            assert_eq!(r["intent"], "order");
            assert_eq!(r["authoredOn"], chicago(&s(&m, "ORDER_TS").unwrap()));
            assert_eq!(
                r["dispenseRequest"]["validityPeriod"]
                    .get("start")
                    .and_then(Value::as_str),
                s(&m, "START_DT").as_deref()
            );
            let is_prn = s(&m, "FREQ_CD").as_deref() == Some("PRN");
            assert_eq!(
                r["dosageInstruction"][0].get("asNeededBoolean").is_some(),
                is_prn
            );
        }
    }
}

#[tokio::test]
async fn a_read_batches_child_tables() {
    for app in spawn_apps().await {
        let res = app
            .client
            .get(format!("{}/Patient/1", app.base))
            .send()
            .await
            .unwrap();
        // One statement for the patient row and its child tables (identifiers, phones,
        // addresses), however many child rows there are.
        assert_eq!(res.headers()["x-sql-statements"], "1");
        let res = app
            .client
            .get(format!("{}/Observation/lab-1", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()["x-sql-statements"], "1");
    }
}
