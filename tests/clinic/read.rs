//! Reads of every type on every backend: the mapping starts, every row is served (or not) as
//! its source says, and every backend answers byte for byte the same.

use std::collections::BTreeSet;

use crate::app::{self, VITALS_SOURCES, apps, expected};

#[tokio::test]
async fn the_clinic_mapping_starts_on_every_backend() {
    if let Some(errors) = app::start_up_errors() {
        panic!("the clinic mapping does not start:\n{errors}");
    }
}

/// `(path, served)` for every row of every source table (served or not), plus ids that
/// match no row.
async fn read_paths(db: &sqlx::SqlitePool) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut add = async |ty: &str, prefix: &str, all: &str, served: &str| {
        let all = expected(db, prefix, all).await;
        let served = expected(db, prefix, served).await;
        assert!(!served.is_empty(), "{ty}: nothing served");
        assert!(served.is_subset(&all));
        for id in &all {
            out.push((format!("{ty}/{id}"), served.contains(id)));
        }
    };
    add(
        "Patient",
        "",
        "SELECT pid FROM patient_data",
        "SELECT pid FROM patient_data",
    )
    .await;
    for ty in ["Practitioner", "PractitionerRole"] {
        add(
            ty,
            "",
            "SELECT id FROM users",
            "SELECT id FROM users WHERE authorized = 1",
        )
        .await;
    }
    add(
        "Organization",
        "",
        "SELECT id FROM facility",
        "SELECT id FROM facility",
    )
    .await;
    add(
        "Encounter",
        "",
        "SELECT encounter FROM form_encounter UNION SELECT id FROM form_encounter",
        "SELECT encounter FROM form_encounter",
    )
    .await;
    add(
        "Condition",
        "",
        "SELECT id FROM lists",
        "SELECT id FROM lists WHERE type = 'medical_problem'",
    )
    .await;
    add(
        "AllergyIntolerance",
        "",
        "SELECT id FROM lists",
        "SELECT id FROM lists WHERE type = 'allergy'",
    )
    .await;
    add(
        "Observation",
        "lab-",
        "SELECT procedure_result_id FROM procedure_result",
        "SELECT procedure_result_id FROM procedure_result",
    )
    .await;
    for (prefix, present) in VITALS_SOURCES {
        add(
            "Observation",
            prefix,
            "SELECT id FROM form_vitals",
            &format!("SELECT v.id FROM form_vitals v WHERE v.activity = 1 AND {present}"),
        )
        .await;
    }
    add(
        "MedicationRequest",
        "",
        "SELECT id FROM prescriptions",
        "SELECT id FROM prescriptions",
    )
    .await;
    for missing in [
        "Patient/999",
        "Observation/7",
        "Observation/lab-999",
        "Encounter/0",
    ] {
        out.push((missing.to_string(), false));
    }
    out
}

#[tokio::test]
async fn every_type_reads_the_same_on_every_backend() {
    let apps = apps().await;
    let paths = read_paths(&apps[0].db).await;
    let mut served = 0;
    for (path, exists) in &paths {
        let (status, body) = apps[0].get_text(path).await;
        assert_eq!(
            status,
            if *exists { 200 } else { 404 },
            "{}: GET {path}: {body}",
            apps[0].dialect
        );
        if *exists {
            served += 1;
            let resource: serde_json::Value = serde_json::from_str(&body).unwrap();
            crate::fhir_schema::assert_valid(&resource);
            assert_eq!(resource["id"], path.split_once('/').unwrap().1, "{path}");
        }
        for other in &apps[1..] {
            let (s, b) = other.get_text(path).await;
            assert_eq!(
                (s, &b),
                (status, &body),
                "{path}: {} differs from {}",
                other.dialect,
                apps[0].dialect
            );
        }
    }
    // The fixture holds 467 servable rows; fewer means the paths above lost a type.
    assert!(served >= 467, "{served} resources read");
}

#[tokio::test]
async fn one_table_feeds_conditions_and_allergies_and_nothing_else() {
    for app in apps().await {
        let db = &app.db;
        let problems = expected(
            db,
            "",
            "SELECT id FROM lists WHERE type = 'medical_problem'",
        )
        .await;
        let allergies = expected(db, "", "SELECT id FROM lists WHERE type = 'allergy'").await;
        assert!(problems.is_disjoint(&allergies));
        app.check("Condition?_count=25", &problems).await;
        app.check("AllergyIntolerance?_count=5", &allergies).await;
        // A medication row of the list is neither.
        let others: BTreeSet<String> = expected(
            db,
            "",
            "SELECT id FROM lists WHERE type NOT IN ('medical_problem', 'allergy')",
        )
        .await;
        for id in others {
            assert_eq!(
                app.get(&format!("Condition/{id}")).await.0,
                404,
                "{}",
                app.dialect
            );
            assert_eq!(
                app.get(&format!("AllergyIntolerance/{id}")).await.0,
                404,
                "{}",
                app.dialect
            );
        }
    }
}
