//! `uri` and composite search parameters, and quantities with value-mapped units, on every
//! backend, the matches compared with ids
//! computed by SQL written here over the SQLite copy of the same sample data.

use std::collections::BTreeSet;

use sqlx::Row;

use crate::expect::{expected, rejected};
use crate::extra_mapping::{BP_CHILD_PREFIX, SOURCE_BASE, extended};
use crate::helpers::{MAPPING, TestApp, backends, settings, spawn_with};

async fn check(app: &TestApp, query: &str, want: &BTreeSet<String>) {
    crate::expect::check(app, query, want.clone()).await;
}

/// A server per backend over the sample mapping with the additions of `extra_mapping.rs`.
async fn spawn_extended_apps() -> Vec<TestApp> {
    let text = extended(&std::fs::read_to_string(MAPPING).unwrap());
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), text).unwrap();
    let mut apps = Vec::new();
    for b in backends() {
        apps.push(spawn_with(b, settings(&b.url, file.path().to_str().unwrap())).await);
    }
    apps
}

const DEPTS: &str = "SELECT DEPT_ID FROM DEPT WHERE";
const IN_DEPT: &str = "DEPT_TYP NOT IN ('HOSP', 'PHAR')";

#[tokio::test]
async fn uri_searches_exact_below_above_missing() {
    for app in spawn_extended_apps().await {
        let hospital_1 = expected(
            &app,
            "",
            &format!("{DEPTS} DEPT_TYP = 'HOSP' AND DEPT_ID = 1"),
        )
        .await;
        assert_eq!(hospital_1.len(), 1);
        check(
            &app,
            &format!("Organization?_source={SOURCE_BASE}1"),
            &hospital_1,
        )
        .await;
        // Exact and case-sensitive.
        check(
            &app,
            &format!("Organization?_source={SOURCE_BASE}1/"),
            &BTreeSet::new(),
        )
        .await;
        check(
            &app,
            "Organization?_source=HTTP://HOSPITAL.EXAMPLE.ORG/fhir/org/1",
            &BTreeSet::new(),
        )
        .await;

        let under_1 = expected(
            &app,
            "",
            &format!("{DEPTS} {IN_DEPT} AND PARENT_DEPT_ID = 1"),
        )
        .await;
        assert!(!under_1.is_empty());
        check(
            &app,
            &format!("Organization?_source:below={SOURCE_BASE}1/"),
            &under_1,
        )
        .await;
        let starting_1 = expected(
            &app,
            "",
            &format!(
                "{DEPTS} (DEPT_TYP = 'HOSP' AND CAST(DEPT_ID AS TEXT) LIKE '1%') \
                 OR ({IN_DEPT} AND CAST(PARENT_DEPT_ID AS TEXT) LIKE '1%')"
            ),
        )
        .await;
        assert!(starting_1.len() > under_1.len());
        check(
            &app,
            &format!("Organization?_source:below={SOURCE_BASE}1"),
            &starting_1,
        )
        .await;
        let with_source = expected(&app, "", &format!("{DEPTS} DEPT_TYP <> 'PHAR'")).await;
        check(
            &app,
            &format!("Organization?_source:below={SOURCE_BASE}"),
            &with_source,
        )
        .await;
        check(&app, "Organization?_source:missing=false", &with_source).await;
        check(
            &app,
            "Organization?_source:below=http://hospital.example.org/FHIR/",
            &BTreeSet::new(),
        )
        .await;
        let pharmacies = expected(&app, "", &format!("{DEPTS} DEPT_TYP = 'PHAR'")).await;
        assert!(!pharmacies.is_empty());
        check(&app, "Organization?_source:missing=true", &pharmacies).await;

        // :above: the department's own URL and its hospital's (a parent path).
        let row = sqlx::query(
            "SELECT DEPT_ID, PARENT_DEPT_ID, TRIM(DEPT_CD) FROM DEPT \
             WHERE DEPT_TYP NOT IN ('HOSP', 'PHAR') ORDER BY DEPT_ID LIMIT 1",
        )
        .fetch_one(&app.db)
        .await
        .unwrap();
        let (dept, parent, code): (i64, i64, String) = (row.get(0), row.get(1), row.get(2));
        let want: BTreeSet<String> = [dept.to_string(), parent.to_string()].into();
        check(
            &app,
            &format!("Organization?_source:above={SOURCE_BASE}{parent}/{code}/_history/2"),
            &want,
        )
        .await;
        check(
            &app,
            &format!(
                "Organization?_source:above={SOURCE_BASE}{parent}/{}",
                code.to_lowercase()
            ),
            &[parent.to_string()].into(),
        )
        .await;

        let msg = rejected(&app, "Organization?_source:above=urn:oid:1.2.3").await;
        assert!(msg.contains("applies to URLs"), "{msg}");
        let msg = rejected(&app, "Organization?_source:contains=x").await;
        assert!(msg.contains("_source"), "{msg}");

        let (_, cs) = app.get("metadata").await;
        let org = cs["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Organization")
            .unwrap();
        let source = org["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "_source")
            .expect("_source is listed");
        assert_eq!(source["type"], "uri");
        assert!(
            source["documentation"]
                .as_str()
                .unwrap()
                .contains("below, above"),
            "{source}"
        );
    }
}

const LABS: &str = "SELECT R.RSLT_ID FROM LAB_RESULT R JOIN LAB_TEST_MAP M ON M.LOCAL_CD = R.TEST_CD \
                    WHERE R.DEL_FLG <> 'Y'";
const NUMERIC: &str = "R.RSLT_VAL GLOB '[0-9]*' AND R.RSLT_VAL NOT GLOB '*[^0-9.]*'";
const VITALS: &str = "SELECT VS_ID FROM VITALS WHERE DEL_FLG <> 'Y'";

/// The blood pressures matching `cond`, from both blood-pressure sources.
async fn pressures(app: &TestApp, cond: &str) -> BTreeSet<String> {
    let mut out = expected(
        app,
        "vs-bp-",
        &format!("{VITALS} AND BP_SYS IS NOT NULL AND BP_DIA IS NOT NULL AND {cond}"),
    )
    .await;
    out.extend(
        expected(
            app,
            BP_CHILD_PREFIX,
            &format!("{VITALS} AND (BP_SYS IS NOT NULL OR BP_DIA IS NOT NULL) AND {cond}"),
        )
        .await,
    );
    out
}

#[tokio::test]
async fn composite_searches_match_within_one_repetition() {
    for app in spawn_extended_apps().await {
        // The code and the value of the same Observation.
        let glucose_high = expected(
            &app,
            "lab-",
            &format!(
                "{LABS} AND M.LOINC_CD = '2339-0' AND {NUMERIC} AND CAST(R.RSLT_VAL AS REAL) > 150"
            ),
        )
        .await;
        assert!(!glucose_high.is_empty());
        check(
            &app,
            "Observation?code-value-quantity=http://loinc.org|2339-0$gt150",
            &glucose_high,
        )
        .await;
        check(
            &app,
            "Observation?combo-code-value-quantity=2339-0$gt150",
            &glucose_high,
        )
        .await;
        let fast_hearts = expected(&app, "vs-hr-", &format!("{VITALS} AND HR > 100")).await;
        assert!(!fast_hearts.is_empty());
        check(
            &app,
            "Observation?code-value-quantity=http://loinc.org|8867-4$gt100||/min",
            &fast_hearts,
        )
        .await;
        check(
            &app,
            "Observation?code-value-quantity=http://loinc.org|8867-4$gt100|http://unitsofmeasure.org|mm[Hg]",
            &BTreeSet::new(),
        )
        .await;
        let hemolyzed = expected(
            &app,
            "lab-",
            &format!("{LABS} AND M.LOINC_CD = '2823-3' AND R.RSLT_VAL LIKE 'HEM%'"),
        )
        .await;
        assert!(!hemolyzed.is_empty());
        check(
            &app,
            "Observation?code-value-string=http://loinc.org|2823-3$hem",
            &hemolyzed,
        )
        .await;
        check(
            &app,
            "Observation?code-value-string=http://loinc.org|2339-0$hem",
            &BTreeSet::new(),
        )
        .await;

        // Components: the code and the value of the same component (a column pair of the row,
        // or one child row), never the code of one and the value of the other.
        let diastolic_high = pressures(&app, "BP_DIA > 90").await;
        let any_high = pressures(&app, "(BP_DIA > 90 OR BP_SYS > 90)").await;
        assert!(!diastolic_high.is_empty() && diastolic_high.len() < any_high.len());
        for param in ["component-code-value-quantity", "combo-code-value-quantity"] {
            check(
                &app,
                &format!("Observation?{param}=http://loinc.org|8462-4$gt90"),
                &diastolic_high,
            )
            .await;
        }
        let either = pressures(&app, "(BP_SYS > 160 OR BP_DIA < 60)").await;
        check(
            &app,
            "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt160,http://loinc.org|8462-4$lt60",
            &either,
        )
        .await;
        let both = pressures(&app, "BP_SYS > 140 AND BP_DIA > 90").await;
        assert!(!both.is_empty());
        check(
            &app,
            "Observation?component-code-value-quantity=http://loinc.org|8480-6$gt140\
             &component-code-value-quantity=http://loinc.org|8462-4$gt90",
            &both,
        )
        .await;
        let all_pressures = pressures(&app, "1=1").await;
        check(
            &app,
            "Observation?component-code-value-quantity:missing=false",
            &all_pressures,
        )
        .await;

        for (query, needle) in [
            (
                "Observation?code-value-quantity=2339-0",
                "takes 2 values separated by $",
            ),
            (
                "Observation?code-value-quantity=2339-0$gt150$x",
                "takes 2 values separated by $",
            ),
            (
                "Observation?code-value-quantity=2339-0$abc",
                "code-value-quantity",
            ),
            ("Observation?code-value-quantity:not=2339-0$1", "modifier"),
        ] {
            let msg = rejected(&app, query).await;
            assert!(msg.contains(needle), "{query}: {msg}");
        }
        // An escaped $ belongs to the part.
        check(
            &app,
            "Observation?code-value-quantity=2339\\$0$gt150",
            &BTreeSet::new(),
        )
        .await;

        let (_, cs) = app.get("metadata").await;
        let obs = cs["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == "Observation")
            .unwrap();
        let p = obs["searchParam"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "component-code-value-quantity")
            .expect("listed");
        assert_eq!(p["type"], "composite");
        assert_eq!(
            p["definition"],
            "http://hl7.org/fhir/SearchParameter/Observation-component-code-value-quantity"
        );
        let doc = p["documentation"].as_str().unwrap();
        assert!(
            doc.contains("component-code (token) $ component-value-quantity (quantity)"),
            "{doc}"
        );
    }
}

#[tokio::test]
async fn quantity_codes_are_searched_through_their_value_map() {
    for app in spawn_extended_apps().await {
        let labs = |cond: &str| {
            format!(
                "SELECT R.RSLT_ID FROM LAB_RESULT R WHERE R.DEL_FLG <> 'Y' AND {NUMERIC} AND {cond}"
            )
        };
        let mg_dl_high = expected(
            &app,
            "lab-",
            &labs("R.RSLT_UNITS = 'MG/DL' AND CAST(R.RSLT_VAL AS REAL) > 100"),
        )
        .await;
        assert!(!mg_dl_high.is_empty());
        check(
            &app,
            "Observation?value-quantity=gt100|http://unitsofmeasure.org|mg/dL",
            &mg_dl_high,
        )
        .await;
        // number||code: the code or the unit (the legacy text).
        check(&app, "Observation?value-quantity=gt100||mg/dL", &mg_dl_high).await;
        check(&app, "Observation?value-quantity=gt100||MG/DL", &mg_dl_high).await;
        check(
            &app,
            "Observation?value-quantity=gt100|http://unitsofmeasure.org|MG/DL",
            &BTreeSet::new(),
        )
        .await;
        let counts = expected(
            &app,
            "lab-",
            &labs("R.RSLT_UNITS = 'K/UL' AND CAST(R.RSLT_VAL AS REAL) > 5"),
        )
        .await;
        assert!(!counts.is_empty());
        check(
            &app,
            "Observation?value-quantity=gt5|http://unitsofmeasure.org|10*3/uL",
            &counts,
        )
        .await;
        // U/L is not listed: the map's default.
        let enzymes = expected(&app, "lab-", &labs("R.RSLT_UNITS = 'U/L'")).await;
        assert!(!enzymes.is_empty());
        check(
            &app,
            "Observation?value-quantity=ge0|http://unitsofmeasure.org|U/L",
            &enzymes,
        )
        .await;
        check(
            &app,
            "Observation?value-quantity=ge0|http://unitsofmeasure.org|mmol/l",
            &BTreeSet::new(),
        )
        .await;
    }
}
