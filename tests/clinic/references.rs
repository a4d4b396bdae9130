//! References stored as integers where 0 means "none": searches by reference never match 0,
//! `:missing=true` counts 0 as missing, chains, `_has`, `_include` and `_revinclude` go through
//! them (also through a joined table's column), on every backend.

use std::collections::BTreeSet;

use crate::app::{App, apps, observations, with_prefix};

/// The ids of the Practitioners whose `name` starts with `prefix` (lower case), as a subquery.
fn named(prefix: &str) -> String {
    format!(
        "(SELECT id FROM users WHERE authorized = 1 AND (lower(lname) LIKE '{prefix}%' \
         OR lower(fname) LIKE '{prefix}%' OR lower(mname) LIKE '{prefix}%'))"
    )
}

async fn check_all(app: &App, cases: &[(String, String)]) {
    for (query, sql) in cases {
        let want = app.expected("", sql).await;
        app.check(query, &want).await;
    }
}

#[tokio::test]
async fn general_practitioner_with_0_as_none() {
    let p = "SELECT pid FROM patient_data WHERE";
    let mut cases = Vec::new();
    // Every user id (providers, staff accounts, which no Practitioner is) and 0.
    for id in 0..=8 {
        let want = format!("{p} providerID = {id} AND providerID <> 0");
        cases.push((
            format!("Patient?general-practitioner=Practitioner/{id}"),
            want.clone(),
        ));
        cases.push((format!("Patient?general-practitioner={id}"), want));
    }
    cases.extend([
        (
            "Patient?general-practitioner:missing=true".to_string(),
            format!("{p} providerID IS NULL OR providerID = 0"),
        ),
        (
            "Patient?general-practitioner:missing=false".to_string(),
            format!("{p} providerID <> 0"),
        ),
        (
            "Patient?general-practitioner=Practitioner/2,Practitioner/0,Practitioner/5".to_string(),
            format!("{p} providerID IN (2, 5)"),
        ),
        (
            "Patient?general-practitioner:Practitioner=3".to_string(),
            format!("{p} providerID = 3"),
        ),
    ]);
    for app in apps().await {
        check_all(&app, &cases).await;
    }
}

#[tokio::test]
async fn chains_and_has_through_0_means_none() {
    let p = "SELECT pid FROM patient_data WHERE providerID IN";
    let prov = "SELECT id FROM users WHERE authorized = 1 AND";
    let cases = vec![
        (
            "Patient?general-practitioner.name=stone".to_string(),
            format!("{p} {}", named("stone")),
        ),
        (
            "Patient?general-practitioner.active=false".to_string(),
            format!("{p} ({prov} active = 0)"),
        ),
        (
            "Patient?general-practitioner.active=true".to_string(),
            format!("{p} ({prov} active = 1)"),
        ),
        (
            "Patient?general-practitioner:Practitioner.identifier=http://hl7.org/fhir/sid/us-npi|1234567893".to_string(),
            format!("{p} ({prov} npi = '1234567893')"),
        ),
        // The NPI is blank for one provider and NULL for another: both are missing.
        (
            "Patient?general-practitioner.identifier:missing=true".to_string(),
            format!("{p} ({prov} (npi IS NULL OR npi = ''))"),
        ),
        (
            "Practitioner?_has:Patient:general-practitioner:gender=female".to_string(),
            format!("{prov} id IN (SELECT providerID FROM patient_data WHERE sex = 'Female')"),
        ),
        (
            "Practitioner?_has:Patient:general-practitioner:active=false".to_string(),
            format!("{prov} id IN (SELECT providerID FROM patient_data WHERE active = 0)"),
        ),
        // Encounters: provider and facility, 0 for none.
        (
            "Encounter?practitioner.name=stone".to_string(),
            format!(
                "SELECT encounter FROM form_encounter WHERE provider_id IN {}",
                named("stone")
            ),
        ),
        (
            "Encounter?service-provider.active=false".to_string(),
            "SELECT encounter FROM form_encounter WHERE facility_id IN (SELECT id FROM facility WHERE inactive = 1)"
                .to_string(),
        ),
        (
            "Encounter?service-provider:missing=true".to_string(),
            "SELECT encounter FROM form_encounter WHERE facility_id = 0".to_string(),
        ),
        (
            "Encounter?participant:missing=true".to_string(),
            "SELECT encounter FROM form_encounter WHERE provider_id = 0".to_string(),
        ),
        (
            "Encounter?practitioner=Practitioner/0".to_string(),
            "SELECT encounter FROM form_encounter WHERE 1 = 0".to_string(),
        ),
        // Prescriptions: requester and encounter, 0 for none; a chain to the encounter's date.
        (
            "MedicationRequest?requester:missing=true".to_string(),
            "SELECT id FROM prescriptions WHERE provider_id = 0".to_string(),
        ),
        (
            "MedicationRequest?encounter:missing=true".to_string(),
            "SELECT id FROM prescriptions WHERE encounter IS NULL OR encounter = 0".to_string(),
        ),
        (
            "MedicationRequest?requester.active=false".to_string(),
            format!("SELECT id FROM prescriptions WHERE provider_id IN ({prov} active = 0)"),
        ),
        (
            "MedicationRequest?encounter.date=lt2023-03-01".to_string(),
            "SELECT id FROM prescriptions WHERE encounter IN \
             (SELECT encounter FROM form_encounter WHERE date < '2023-03-01 00:00:00')"
                .to_string(),
        ),
        (
            "Encounter?_has:MedicationRequest:encounter:status=stopped".to_string(),
            "SELECT encounter FROM form_encounter WHERE encounter IN \
             (SELECT encounter FROM prescriptions WHERE active = 0)"
                .to_string(),
        ),
        // PractitionerRole: a second type from users, its facility 0 for none.
        (
            "PractitionerRole?organization:missing=true".to_string(),
            format!("{prov} facility_id = 0"),
        ),
        (
            "PractitionerRole?organization=Organization/1".to_string(),
            format!("{prov} facility_id = 1"),
        ),
        (
            "PractitionerRole?practitioner.active=false".to_string(),
            format!("{prov} active = 0"),
        ),
    ];
    for app in apps().await {
        check_all(&app, &cases).await;
    }
}

#[tokio::test]
async fn observation_references_through_a_joined_order() {
    for app in apps().await {
        let db = &app.db;
        // performer and encounter come from the joined procedure_order, 0 for none; the
        // vitals sources do not declare performer or encounter, so they are missing there.
        let stone = format!("po.provider_id IN {}", named("stone"));
        let reyes_lab = format!(
            "po.patient_id IN (SELECT pid FROM patient_data WHERE providerID IN {})",
            named("reyes")
        );
        let reyes_vitals = format!(
            "v.pid IN (SELECT pid FROM patient_data WHERE providerID IN {})",
            named("reyes")
        );
        let cases: [(&str, &str, &str); 7] = [
            ("performer=Practitioner/2", "po.provider_id = 2", "1 = 0"),
            ("performer=Practitioner/0", "1 = 0", "1 = 0"),
            ("performer:missing=true", "po.provider_id = 0", "1 = 1"),
            ("performer.name=stone", &stone, "1 = 0"),
            ("encounter:missing=true", "po.encounter_id = 0", "1 = 1"),
            (
                "patient.general-practitioner.name=reyes",
                &reyes_lab,
                &reyes_vitals,
            ),
            ("subject=Patient/12", "po.patient_id = 12", "v.pid = 12"),
        ];
        for (query, lab, vitals) in cases {
            let want = observations(db, lab, vitals).await;
            app.check(&format!("Observation?{query}"), &want).await;
        }
    }
}

/// The `Type/id` of every included resource of `query` (all pages), and the matches.
async fn included(app: &App, query: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let (matches, included) = app.walk(query).await;
    let key = |r: &serde_json::Value| crate::app::key_of(r);
    (
        matches.iter().map(key).collect(),
        included.iter().map(key).collect(),
    )
}

#[tokio::test]
async fn includes_skip_0_references() {
    for app in apps().await {
        let d = app.dialect;
        // Patients' practitioners: 0, NULL and the staff account (not a Practitioner) bring none.
        let (matches, inc) = included(
            &app,
            "Patient?_include=Patient:general-practitioner&_count=7",
        )
        .await;
        let want_matches = with_prefix(
            "Patient/",
            &app.expected("", "SELECT pid FROM patient_data").await,
        );
        assert_eq!(matches, want_matches, "{d}");
        let want = with_prefix(
            "Practitioner/",
            &app.expected(
                "",
                "SELECT id FROM users WHERE authorized = 1 AND id IN (SELECT providerID FROM patient_data)",
            )
            .await,
        );
        assert_eq!(inc, want, "{d}: included practitioners");

        // Encounters' organizations and practitioners.
        let (_, inc) = included(&app, "Encounter?date=lt2023-04-01&_include=Encounter:*").await;
        let mut want = with_prefix(
            "Organization/",
            &app.expected(
                "",
                "SELECT id FROM facility WHERE id IN (SELECT facility_id FROM form_encounter \
                 WHERE date < '2023-04-01 00:00:00')",
            )
            .await,
        );
        want.extend(with_prefix(
            "Patient/",
            &app.expected(
                "",
                "SELECT pid FROM form_encounter WHERE date < '2023-04-01 00:00:00'",
            )
            .await,
        ));
        want.extend(with_prefix(
            "Practitioner/",
            &app.expected(
                "",
                "SELECT id FROM users WHERE authorized = 1 AND id IN (SELECT provider_id FROM \
                 form_encounter WHERE date < '2023-04-01 00:00:00')",
            )
            .await,
        ));
        assert_eq!(inc, want, "{d}: Encounter:*");

        // Reverse: the patients of each practitioner.
        let (matches, inc) = included(
            &app,
            "Practitioner?_revinclude=Patient:general-practitioner",
        )
        .await;
        let providers = app
            .expected("", "SELECT id FROM users WHERE authorized = 1")
            .await;
        assert_eq!(matches, with_prefix("Practitioner/", &providers), "{d}");
        let want = with_prefix(
            "Patient/",
            &app.expected(
                "",
                "SELECT pid FROM patient_data WHERE providerID IN (SELECT id FROM users WHERE authorized = 1)",
            )
            .await,
        );
        assert_eq!(inc, want, "{d}: revincluded patients");

        // Lab results' performers through the joined order (0 for none).
        let (_, inc) = included(
            &app,
            "Observation?category=laboratory&_include=Observation:performer",
        )
        .await;
        let want = with_prefix(
            "Practitioner/",
            &app.expected(
                "",
                "SELECT id FROM users WHERE authorized = 1 AND id IN (SELECT provider_id FROM procedure_order)",
            )
            .await,
        );
        assert_eq!(inc, want, "{d}: performers");
    }
}
