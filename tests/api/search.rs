//! Search on every backend, the matches compared with ids computed by SQL written here over
//! the SQLite copy of the same sample data (not by the code under test).

use std::collections::BTreeSet;

use serde_json::Value;
use sqlx::Row;

use crate::expect::{all_pages, check, expected};
use crate::helpers::spawn_apps;

const PATIENTS: &str = "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y'";

#[tokio::test]
async fn token_searches() {
    for app in spawn_apps().await {
        let f = expected(&app, "", &format!("{PATIENTS} AND SEX_CD = 'F'")).await;
        assert!(!f.is_empty());
        check(&app, "Patient?gender=female", f.clone()).await;
        check(
            &app,
            "Patient?gender=http://hl7.org/fhir/administrative-gender|female",
            f.clone(),
        )
        .await;
        check(&app, "Patient?gender=|female", BTreeSet::new()).await;
        check(&app, "Patient?gender=http://other|female", BTreeSet::new()).await;
        let not_f = expected(&app, "", &format!("{PATIENTS} AND SEX_CD <> 'F'")).await;
        check(&app, "Patient?gender:not=female", not_f).await;
        let fm = expected(&app, "", &format!("{PATIENTS} AND SEX_CD IN ('F', 'M')")).await;
        check(&app, "Patient?gender=female,male", fm).await;
        check(&app, "Patient?gender:missing=true", BTreeSet::new()).await;

        // Identifiers live in a child table; CHAR-padded type codes pick the system.
        check(
            &app,
            "Patient?identifier=http://hospital.example.org/fhir/sid/mrn|M1242486",
            ["1".to_string()].into(),
        )
        .await;
        let ssn = expected(
            &app,
            "",
            &format!(
                "{PATIENTS} AND PAT_ID IN (SELECT PAT_ID FROM PAT_IDENT WHERE ID_TYP = 'SSN ')"
            ),
        )
        .await;
        check(
            &app,
            "Patient?identifier=http://hl7.org/fhir/sid/us-ssn|",
            ssn,
        )
        .await;

        // LOINC through the code-map join; constants of the vital-sign sources.
        let glucose = expected(
            &app,
            "lab-",
            "SELECT RSLT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND TEST_CD = 'GLU   '",
        )
        .await;
        assert!(!glucose.is_empty());
        check(&app, "Observation?code=http://loinc.org|2339-0", glucose).await;
        let hr = expected(
            &app,
            "vs-hr-",
            "SELECT VS_ID FROM VITALS WHERE DEL_FLG <> 'Y' AND HR IS NOT NULL",
        )
        .await;
        check(&app, "Observation?code=http://loinc.org|8867-4", hr).await;
        // CHAR(8) ICD-10 codes, stored blank-padded.
        let dm = expected(
            &app,
            "",
            "SELECT DX_ID FROM DIAGNOSIS WHERE DEL_FLG <> 'Y' AND TRIM(ICD10_CD) = 'E11.9'",
        )
        .await;
        assert!(!dm.is_empty());
        check(&app, "Condition?code=E11.9", dm).await;
        let done = expected(
            &app,
            "",
            "SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND VISIT_STAT IN ('D', 'C')",
        )
        .await;
        check(&app, "Encounter?status=finished,cancelled", done).await;
        let metformin = expected(
            &app,
            "",
            "SELECT RX_ID FROM RX_ORDER WHERE DEL_FLG <> 'Y' AND RXNORM_CD = '861007'",
        )
        .await;
        check(
            &app,
            "MedicationRequest?code=http://www.nlm.nih.gov/research/umls/rxnorm|861007",
            metformin,
        )
        .await;
        check(
            &app,
            "Patient?_id=1,2,3",
            expected(&app, "", &format!("{PATIENTS} AND PAT_ID IN (1, 2, 3)")).await,
        )
        .await;
        // :text searches the display.
        let glucose_text = expected(
            &app,
            "lab-",
            "SELECT R.RSLT_ID FROM LAB_RESULT R JOIN LAB_TEST_MAP M ON M.LOCAL_CD = R.TEST_CD \
             WHERE R.DEL_FLG <> 'Y' AND lower(M.LOINC_NM) LIKE 'glucose%'",
        )
        .await;
        check(&app, "Observation?code:text=Glucose", glucose_text).await;
    }
}

#[tokio::test]
async fn string_searches() {
    for app in spawn_apps().await {
        let cha = expected(
            &app,
            "",
            &format!("{PATIENTS} AND lower(LAST_NM) LIKE 'cha%'"),
        )
        .await;
        assert!(cha.contains("1"));
        check(&app, "Patient?family=cha", cha.clone()).await;
        check(&app, "Patient?family=CHA", cha).await;
        check(
            &app,
            "Patient?family:exact=CHALMERS",
            expected(&app, "", &format!("{PATIENTS} AND LAST_NM = 'CHALMERS'")).await,
        )
        .await;
        check(&app, "Patient?family:exact=Chalmers", BTreeSet::new()).await;
        let ete = expected(
            &app,
            "",
            &format!(
                "{PATIENTS} AND (lower(LAST_NM) LIKE '%ete%' OR lower(FIRST_NM) LIKE '%ete%' \
                 OR lower(COALESCE(MID_NM, '')) LIKE '%ete%' OR lower(COALESCE(SUFFIX, '')) LIKE '%ete%')"
            ),
        )
        .await;
        assert!(!ete.is_empty());
        check(&app, "Patient?name:contains=ete", ete).await;
        let j = expected(
            &app,
            "",
            &format!("{PATIENTS} AND (lower(FIRST_NM) LIKE 'j%' OR lower(COALESCE(MID_NM, '')) LIKE 'j%')"),
        )
        .await;
        check(&app, "Patient?given=j", j).await;
        // AND of two parameters, and a LIKE wildcard taken literally.
        let both = expected(
            &app,
            "",
            &format!("{PATIENTS} AND lower(LAST_NM) LIKE 'cha%' AND SEX_CD = 'M'"),
        )
        .await;
        check(&app, "Patient?family=cha&gender=male", both).await;
        check(&app, "Patient?family=%25", BTreeSet::new()).await;
    }
}

#[tokio::test]
async fn reference_and_quantity_searches() {
    for app in spawn_apps().await {
        let mut of_patient_1 = expected(
            &app,
            "lab-",
            "SELECT RSLT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND PAT_ID = 1",
        )
        .await;
        for (prefix, col) in [
            ("vs-hr-", "HR"),
            ("vs-bp-", "BP_SYS"),
            ("vs-temp-", "TEMP_F"),
            ("vs-wt-", "WT_KG"),
        ] {
            of_patient_1.extend(
                expected(
                    &app,
                    prefix,
                    &format!(
                        "SELECT VS_ID FROM VITALS WHERE DEL_FLG <> 'Y' AND PAT_ID = 1 AND {col} IS NOT NULL"
                    ),
                )
                .await,
            );
        }
        check(&app, "Observation?patient=Patient/1", of_patient_1.clone()).await;
        check(&app, "Observation?subject=Patient/1", of_patient_1.clone()).await;
        check(
            &app,
            &format!("Observation?subject={}/Patient/1", app.base),
            of_patient_1.clone(),
        )
        .await;
        check(&app, "Observation?subject:Patient=1", of_patient_1).await;
        check(&app, "Observation?subject=Practitioner/1", BTreeSet::new()).await;
        check(
            &app,
            "Observation?subject=http://elsewhere/fhir/Patient/1",
            BTreeSet::new(),
        )
        .await;

        let mut high = expected(
            &app,
            "lab-",
            "SELECT RSLT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND RSLT_VAL GLOB '[0-9]*' \
             AND RSLT_VAL NOT GLOB '*[^0-9.]*' AND CAST(RSLT_VAL AS REAL) > 150",
        )
        .await;
        for (prefix, col) in [
            ("vs-hr-", "HR"),
            ("vs-temp-", "TEMP_F"),
            ("vs-wt-", "WT_KG"),
        ] {
            high.extend(
                expected(
                    &app,
                    prefix,
                    &format!("SELECT VS_ID FROM VITALS WHERE DEL_FLG <> 'Y' AND {col} > 150"),
                )
                .await,
            );
        }
        assert!(!high.is_empty());
        check(&app, "Observation?value-quantity=gt150", high).await;
        let glucose_mg = expected(
            &app,
            "lab-",
            "SELECT RSLT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND TEST_CD = 'GLU   ' \
             AND RSLT_VAL GLOB '[0-9]*' AND RSLT_VAL NOT GLOB '*[^0-9.]*' \
             AND CAST(RSLT_VAL AS REAL) >= 99.5 AND CAST(RSLT_VAL AS REAL) < 100.5",
        )
        .await;
        check(
            &app,
            "Observation?value-quantity=100|http://unitsofmeasure.org|mg/dL&code=2339-0",
            glucose_mg,
        )
        .await;
    }
}

#[tokio::test]
async fn paging_totals_and_post() {
    for app in spawn_apps().await {
        let all: BTreeSet<String> = expected(&app, "", PATIENTS).await;
        // Every match once, none twice, across pages of 7.
        let paged = all_pages(&app, "Patient?_count=7").await;
        assert_eq!(paged.len(), all.len());
        assert_eq!(paged.iter().cloned().collect::<BTreeSet<_>>(), all);
        // Within one source, pages follow the key order.
        let keys: Vec<i64> = paged.iter().map(|s| s.parse().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]));
        // Across sources of a multi-source type.
        let obs = all_pages(&app, "Observation?patient=Patient/1&_count=5").await;
        assert_eq!(obs.len(), obs.iter().collect::<BTreeSet<_>>().len());

        let (_, b) = app
            .get("Patient?gender=female&_total=accurate&_count=2")
            .await;
        let females = expected(&app, "", &format!("{PATIENTS} AND SEX_CD = 'F'")).await;
        assert_eq!(b["total"], females.len());
        assert_eq!(b["entry"].as_array().unwrap().len(), 2);
        let (_, b) = app.get("Patient?gender=female&_summary=count").await;
        assert_eq!(b["total"], females.len());
        assert!(b.get("entry").is_none());
        let (_, b) = app.get("Patient?gender=female&_count=0").await;
        assert!(b.get("entry").is_none());

        // Links echo the normalized parameters.
        let (_, b) = app.get("Patient?family=cha&_count=5").await;
        assert_eq!(
            b["link"][0]["url"],
            format!("{}/Patient?family=cha&_count=5", app.base)
        );

        // POST _search with a form body answers the same.
        let res = app
            .client
            .post(format!("{}/Patient/_search", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("gender=female&_count=1000")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let b: Value = res.json().await.unwrap();
        let got: BTreeSet<String> = b["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got, females);
    }
}

#[tokio::test]
async fn lenient_handling_drops_unknown_parameters_and_says_so() {
    // Lenient is the default, and what `Prefer: handling=lenient` asks for.
    for (app, prefer) in spawn_apps()
        .await
        .into_iter()
        .flat_map(|app| [(app.clone(), None), (app, Some("handling=lenient"))])
    {
        let mut req = app.client.get(format!(
            "{}/Patient?foo=bar&gender=female&_count=3",
            app.base
        ));
        if let Some(p) = prefer {
            req = req.header("prefer", p);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 200);
        let b: Value = res.json().await.unwrap();
        crate::fhir_schema::assert_valid(&b);
        let self_url = b["link"][0]["url"].as_str().unwrap();
        assert!(!self_url.contains("foo"), "{self_url}");
        let entries = b["entry"].as_array().unwrap();
        let outcome = entries.last().unwrap();
        assert_eq!(outcome["search"]["mode"], "outcome");
        assert_eq!(outcome["resource"]["resourceType"], "OperationOutcome");
        assert!(
            outcome["resource"]["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains("foo")
        );
        assert_eq!(entries.len(), 4);
    }
}

#[tokio::test]
async fn a_page_takes_a_constant_number_of_statements() {
    for app in spawn_apps().await {
        let res = app
            .client
            .get(format!("{}/Patient?_count=100", app.base))
            .send()
            .await
            .unwrap();
        // One page statement and one per child table (one for all three on PostgreSQL),
        // however many patients.
        let children = if app.dialect.reads_children_in_one_union() {
            1
        } else {
            3
        };
        assert_eq!(
            res.headers()["x-sql-statements"],
            (1 + children).to_string().as_str(),
            "{}",
            app.dialect
        );
        // Five sources, one statement: a UNION ALL, each branch ordered and limited.
        let res = app
            .client
            .get(format!(
                "{}/Observation?patient=Patient/1&_count=100&_sort=date",
                app.base
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["x-sql-statements"], "1", "{}", app.dialect);
    }
}

#[tokio::test]
async fn date_searches() {
    for app in spawn_apps().await {
        // Text 'YYYYMMDD' birth dates.
        let y1974 = expected(&app, "", &format!("{PATIENTS} AND BIRTH_DT LIKE '1974%'")).await;
        assert!(y1974.contains("1"));
        check(&app, "Patient?birthdate=1974", y1974).await;
        check(
            &app,
            "Patient?birthdate=1974-06-25",
            ["1".to_string()].into(),
        )
        .await;
        check(
            &app,
            "Patient?birthdate=lt1930",
            expected(&app, "", &format!("{PATIENTS} AND BIRTH_DT < '19300101'")).await,
        )
        .await;
        check(
            &app,
            "Patient?birthdate=ge1990-06",
            expected(&app, "", &format!("{PATIENTS} AND BIRTH_DT >= '19900601'")).await,
        )
        .await;
        check(
            &app,
            "Patient?birthdate=gt1990-06",
            expected(&app, "", &format!("{PATIENTS} AND BIRTH_DT >= '19900701'")).await,
        )
        .await;
        check(
            &app,
            "Patient?birthdate=le1950-01-01",
            expected(&app, "", &format!("{PATIENTS} AND BIRTH_DT <= '19500101'")).await,
        )
        .await;
        check(
            &app,
            "Patient?birthdate=ne1974",
            expected(
                &app,
                "",
                &format!("{PATIENTS} AND BIRTH_DT NOT LIKE '1974%'"),
            )
            .await,
        )
        .await;
        check(
            &app,
            "Patient?birthdate=ge1960&birthdate=lt1970",
            expected(
                &app,
                "",
                &format!("{PATIENTS} AND BIRTH_DT >= '19600101' AND BIRTH_DT < '19700101'"),
            )
            .await,
        )
        .await;
        // A period (admission to discharge): eq needs the whole stay inside the month.
        let march = expected(
            &app,
            "",
            "SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND ADMIT_TS >= '2019-03-01 00:00:00' \
             AND DISCH_TS IS NOT NULL AND DISCH_TS < '2019-04-01 00:00:00'",
        )
        .await;
        assert!(march.contains("1"));
        check(&app, "Encounter?date=2019-03", march).await;
        // Open stays (no discharge yet) go on for ever.
        let open_after = expected(
            &app,
            "",
            "SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND (DISCH_TS IS NULL OR DISCH_TS >= '2024-01-01 00:00:00')",
        )
        .await;
        check(&app, "Encounter?date=gt2023", open_after).await;
        // Timestamps of several sources.
        let mut before_2016 = expected(
            &app,
            "lab-",
            "SELECT RSLT_ID FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND COLLECT_TS < '2016-01-01 00:00:00'",
        )
        .await;
        for (prefix, col) in [
            ("vs-hr-", "HR"),
            ("vs-bp-", "BP_SYS"),
            ("vs-temp-", "TEMP_F"),
            ("vs-wt-", "WT_KG"),
        ] {
            before_2016.extend(
                expected(
                    &app,
                    prefix,
                    &format!(
                        "SELECT VS_ID FROM VITALS WHERE DEL_FLG <> 'Y' AND {col} IS NOT NULL AND TAKEN_TS < '2016-01-01 00:00:00'"
                    ),
                )
                .await,
            );
        }
        assert!(!before_2016.is_empty());
        check(&app, "Observation?date=lt2016", before_2016).await;
        // With a time zone: 2019-03-14T15:00:00Z is 10:00:00 in Chicago (CDT, -05:00); `sa`
        // wants stays that start after that second.
        let after_10 = expected(
            &app,
            "",
            "SELECT VISIT_ID FROM VISIT WHERE DEL_FLG <> 'Y' AND ADMIT_TS >= '2019-03-14 10:00:01' \
             AND ADMIT_TS < '2019-03-15 00:00:00'",
        )
        .await;
        check(
            &app,
            "Encounter?date=sa2019-03-14T15:00:00Z&date=lt2019-03-15",
            after_10,
        )
        .await;
        check(
            &app,
            "Patient?_lastUpdated=ge2024-06-01",
            expected(
                &app,
                "",
                &format!("{PATIENTS} AND LAST_UPD_TS >= '2024-06-01 00:00:00'"),
            )
            .await,
        )
        .await;
    }
}

#[tokio::test]
async fn elements_subset_resources() {
    for app in spawn_apps().await {
        let (s, b) = app.get("Patient?_id=1&_elements=name,gender").await;
        assert_eq!(s, 200);
        crate::fhir_schema::assert_valid(&b);
        let r = &b["entry"][0]["resource"];
        let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["resourceType", "id", "meta", "name", "gender"].into()
        );
        assert!(r["meta"]["tag"].to_string().contains("SUBSETTED"));
        assert!(
            b["link"][0]["url"]
                .as_str()
                .unwrap()
                .contains("_elements=name%2Cgender")
        );
        let r = app.resource("Patient/1?_elements=birthDate").await;
        assert_eq!(r["birthDate"], "1974-06-25");
        assert!(r.get("name").is_none());
        let (s, b) = app.get("Patient?_elements=nonsense").await;
        assert_eq!(s, 400, "{b}");
        // Mandatory elements stay (Encounter.status and class are 1..1), so subsetted
        // resources remain valid.
        let (s, b) = app.get("Encounter?_elements=period&_count=3").await;
        assert_eq!(s, 200);
        crate::fhir_schema::assert_valid(&b);
        let r = &b["entry"][0]["resource"];
        let keys: BTreeSet<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["resourceType", "id", "meta", "status", "class", "period"].into()
        );
    }
}

#[tokio::test]
async fn sorted_paging_serves_every_match_once_in_order() {
    for app in spawn_apps().await {
        let birth: std::collections::HashMap<String, String> =
            sqlx::query("SELECT PAT_ID, BIRTH_DT FROM PATIENT WHERE DEL_FLG <> 'Y'")
                .fetch_all(&app.db)
                .await
                .unwrap()
                .iter()
                .map(|r| (r.get::<i64, _>(0).to_string(), r.get::<String, _>(1)))
                .collect();
        let ids = all_pages(&app, "Patient?_sort=-birthdate,family&_count=13").await;
        assert_eq!(ids.len(), birth.len(), "{}", app.dialect);
        let dates: Vec<&String> = ids.iter().map(|i| &birth[i]).collect();
        assert!(
            dates.windows(2).all(|w| w[0] >= w[1]),
            "{}: not by birth date descending",
            app.dialect
        );
        // Ties on the sort keys fall back to the key order, so paging is stable.
        let by_id = all_pages(&app, "Patient?_sort=-_id&_count=50").await;
        let keys: Vec<i64> = by_id.iter().map(|s| s.parse().unwrap()).collect();
        assert!(keys.windows(2).all(|w| w[0] > w[1]));
        assert_eq!(keys.len(), birth.len());
        // Several sources merged in one order.
        let mut when: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        for r in sqlx::query("SELECT RSLT_ID, COLLECT_TS FROM LAB_RESULT WHERE PAT_ID = 1")
            .fetch_all(&app.db)
            .await
            .unwrap()
        {
            when.insert(format!("lab-{}", r.get::<i64, _>(0)), r.get::<String, _>(1));
        }
        for r in sqlx::query("SELECT VS_ID, TAKEN_TS FROM VITALS WHERE PAT_ID = 1")
            .fetch_all(&app.db)
            .await
            .unwrap()
        {
            for p in ["vs-hr-", "vs-bp-", "vs-temp-", "vs-wt-"] {
                when.insert(format!("{p}{}", r.get::<i64, _>(0)), r.get::<String, _>(1));
            }
        }
        let merged = all_pages(&app, "Observation?patient=Patient/1&_sort=-date&_count=4").await;
        let unsorted = all_pages(&app, "Observation?patient=Patient/1").await;
        assert_eq!(merged.len(), unsorted.len(), "{}", app.dialect);
        let times: Vec<&String> = merged.iter().map(|i| &when[i]).collect();
        assert!(
            times.windows(2).all(|w| w[0] >= w[1]),
            "{}: {times:?}",
            app.dialect
        );
        if app.dialect == fhir_facade::sql::Dialect::Sqlite {
            let want: Vec<String> = sqlx::query(
                "SELECT PAT_ID FROM PATIENT WHERE DEL_FLG <> 'Y' ORDER BY LAST_NM, PAT_ID",
            )
            .fetch_all(&app.db)
            .await
            .unwrap()
            .iter()
            .map(|r| r.get::<i64, _>(0).to_string())
            .collect();
            assert_eq!(all_pages(&app, "Patient?_sort=family&_count=9").await, want);
        }
    }
}

/// One match as the expected order sees it: its sort values (`None`: NULL or no value),
/// source index (mapping order) and id key.
struct Sortable {
    id: String,
    sort: Vec<Option<String>>,
    source: usize,
    key: i64,
}

/// The ids of `rows` in page order, computed here: each key ascending or descending
/// (`desc[j]`) with NULL as the smallest value on SQLite and MySQL and the largest on
/// PostgreSQL (their native `ORDER BY`), then source, then key (`key_desc`: descending).
fn expected_order(
    dialect: fhir_facade::sql::Dialect,
    mut rows: Vec<Sortable>,
    desc: &[bool],
    key_desc: bool,
) -> Vec<String> {
    use std::cmp::Ordering;
    let nulls_largest = dialect == fhir_facade::sql::Dialect::Postgres;
    rows.sort_by(|a, b| {
        for (j, d) in desc.iter().enumerate() {
            let o = match (&a.sort[j], &b.sort[j]) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) if nulls_largest => Ordering::Greater,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) if nulls_largest => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(x), Some(y)) => x.cmp(y),
            };
            let o = if *d { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        let k = if key_desc {
            b.key.cmp(&a.key)
        } else {
            a.key.cmp(&b.key)
        };
        a.source.cmp(&b.source).then(k)
    });
    rows.into_iter().map(|r| r.id).collect()
}

/// The sample's value map `sex` (mapping.toml), for expected values.
fn sex_code(legacy: &str) -> Option<String> {
    match legacy {
        "M" => Some("male".into()),
        "F" => Some("female".into()),
        "U" => Some("unknown".into()),
        _ => None,
    }
}

/// The sample's value map `lab_status` (mapping.toml).
fn lab_status_code(legacy: &str) -> Option<String> {
    match legacy {
        "F" => Some("final".into()),
        "P" => Some("preliminary".into()),
        "C" => Some("corrected".into()),
        "X" => Some("cancelled".into()),
        _ => None,
    }
}

/// Whole result sets paged with small pages, ascending and descending, on values with NULLs
/// and ties, value-mapped codes, and a type with several sources (some without the value):
/// every match served once, in the order computed here from the sample data.
#[tokio::test]
async fn sorted_paging_follows_the_database_order_with_nulls_and_ties() {
    for app in spawn_apps().await {
        let d = app.dialect;
        let patients = || async {
            sqlx::query("SELECT PAT_ID, DEATH_DT, SEX_CD FROM PATIENT WHERE DEL_FLG <> 'Y'")
                .fetch_all(&app.db)
                .await
                .unwrap()
        };
        let rows = patients().await;
        let nulls = rows
            .iter()
            .filter(|r| r.get::<Option<String>, _>(1).is_none())
            .count();
        assert!(
            nulls > 10 && nulls < rows.len(),
            "the sample has NULL death dates"
        );
        // death-date (mostly NULL, one date shared by two patients), both directions, then
        // with the value-mapped gender as a second key, and gender alone with -_id.
        for (query, keys, desc, key_desc) in [
            (
                "Patient?_sort=death-date&_count=7",
                &[1][..],
                &[false][..],
                false,
            ),
            ("Patient?_sort=-death-date&_count=7", &[1], &[true], false),
            (
                "Patient?_sort=-death-date,gender&_count=6",
                &[1, 2],
                &[true, false],
                false,
            ),
            ("Patient?_sort=gender,-_id&_count=11", &[2], &[false], true),
            ("Patient?_sort=-gender&_count=11", &[2], &[true], false),
        ] {
            let want = expected_order(
                d,
                rows.iter()
                    .map(|r| {
                        let key = r.get::<i64, _>(0);
                        let values = [
                            None,
                            r.get::<Option<String>, _>(1),
                            sex_code(&r.get::<String, _>(2)),
                        ];
                        Sortable {
                            id: key.to_string(),
                            sort: keys.iter().map(|k| values[*k].clone()).collect(),
                            source: 0,
                            key,
                        }
                    })
                    .collect(),
                desc,
                key_desc,
            );
            assert_eq!(all_pages(&app, query).await, want, "{d}: {query}");
        }

        // Observation: five sources. Vital signs share one timestamp per VITALS row (ties
        // across sources); only lab results have a _lastUpdated (the others sort as NULLs);
        // status is value-mapped for lab results and the constant "final" for vital signs.
        let mut obs = Vec::new();
        for r in sqlx::query(
            "SELECT RSLT_ID, COLLECT_TS, COALESCE(RESULT_TS, COLLECT_TS), RSLT_STAT \
             FROM LAB_RESULT WHERE DEL_FLG <> 'Y' AND PAT_ID = 90",
        )
        .fetch_all(&app.db)
        .await
        .unwrap()
        {
            let key = r.get::<i64, _>(0);
            obs.push((
                format!("lab-{key}"),
                0,
                key,
                [
                    r.get::<Option<String>, _>(1),
                    r.get::<Option<String>, _>(2),
                    lab_status_code(&r.get::<String, _>(3)),
                ],
            ));
        }
        for (source, prefix, column) in [
            (1, "vs-hr-", "HR IS NOT NULL"),
            (2, "vs-bp-", "BP_SYS IS NOT NULL AND BP_DIA IS NOT NULL"),
            (3, "vs-temp-", "TEMP_F IS NOT NULL"),
            (4, "vs-wt-", "WT_KG IS NOT NULL"),
        ] {
            let sql = format!(
                "SELECT VS_ID, TAKEN_TS FROM VITALS WHERE DEL_FLG <> 'Y' AND PAT_ID = 90 AND {column}"
            );
            for r in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&app.db)
                .await
                .unwrap()
            {
                let key = r.get::<i64, _>(0);
                obs.push((
                    format!("{prefix}{key}"),
                    source,
                    key,
                    [r.get::<Option<String>, _>(1), None, Some("final".into())],
                ));
            }
        }
        assert!(obs.iter().any(|o| o.1 > 0) && obs.iter().any(|o| o.1 == 0));
        for (query, keys, desc) in [
            (
                "Observation?patient=Patient/90&_sort=date&_count=7",
                &[0][..],
                &[false][..],
            ),
            (
                "Observation?patient=Patient/90&_sort=-date&_count=5",
                &[0],
                &[true],
            ),
            (
                "Observation?patient=Patient/90&_sort=_lastUpdated&_count=6",
                &[1],
                &[false],
            ),
            (
                "Observation?patient=Patient/90&_sort=-_lastUpdated&_count=6",
                &[1],
                &[true],
            ),
            (
                "Observation?patient=Patient/90&_sort=status,-date&_count=8",
                &[2, 0],
                &[false, true],
            ),
            (
                "Observation?patient=Patient/90&_sort=-status,_lastUpdated&_count=4",
                &[2, 1],
                &[true, false],
            ),
        ] {
            let want = expected_order(
                d,
                obs.iter()
                    .map(|(id, source, key, values)| Sortable {
                        id: id.clone(),
                        sort: keys.iter().map(|k| values[*k].clone()).collect(),
                        source: *source,
                        key: *key,
                    })
                    .collect(),
                desc,
                false,
            );
            assert_eq!(all_pages(&app, query).await, want, "{d}: {query}");
        }
    }
}
