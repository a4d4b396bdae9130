//! Booleans stored as integers (SQLite INTEGER, PostgreSQL SMALLINT), `tinyint(1)` (MariaDB)
//! and BOOLEAN (PostgreSQL): token searches `=true|false`, `:not` and `:missing`, directly and
//! through value maps keyed "1"/"0", find the same rows on every backend.

use crate::app::{App, apps};

/// Checks each `(query, SQL)` pair on `app`: the query matches the ids the SQL selects.
async fn check_all(app: &App, cases: &[(&str, &str)]) {
    for (query, sql) in cases {
        let want = app.expected("", sql).await;
        app.check(query, &want).await;
    }
}

#[tokio::test]
async fn patient_active_on_an_integer_or_tinyint_flag() {
    for app in apps().await {
        let p = "SELECT pid FROM patient_data WHERE";
        check_all(
            &app,
            &[
                ("Patient?active=true", &format!("{p} active = 1")),
                ("Patient?active=false", &format!("{p} active = 0")),
                // :not also finds the resources without a value (pid 10: NULL).
                ("Patient?active:not=true", &format!("{p} active IS NOT 1")),
                ("Patient?active:not=false", &format!("{p} active IS NOT 0")),
                (
                    "Patient?active:missing=true",
                    &format!("{p} active IS NULL"),
                ),
                (
                    "Patient?active:missing=false",
                    &format!("{p} active IS NOT NULL"),
                ),
                (
                    "Patient?active=true,false",
                    &format!("{p} active IN (1, 0)"),
                ),
                (
                    "Patient?active=true&gender=female",
                    &format!("{p} active = 1 AND sex = 'Female'"),
                ),
            ],
        )
        .await;
    }
}

#[tokio::test]
async fn practitioner_and_role_active_on_a_tinyint_flag() {
    for app in apps().await {
        let u = "SELECT id FROM users WHERE authorized = 1 AND";
        check_all(
            &app,
            &[
                ("Practitioner?active=true", &format!("{u} active = 1")),
                ("Practitioner?active=false", &format!("{u} active = 0")),
                ("Practitioner?active:not=true", &format!("{u} active <> 1")),
                ("PractitionerRole?active=false", &format!("{u} active = 0")),
                ("PractitionerRole?active=true", &format!("{u} active = 1")),
            ],
        )
        .await;
    }
}

#[tokio::test]
async fn organization_active_through_a_map_of_an_inverted_flag() {
    for app in apps().await {
        let f = "SELECT id FROM facility WHERE";
        check_all(
            &app,
            &[
                ("Organization?active=true", &format!("{f} inactive = 0")),
                ("Organization?active=false", &format!("{f} inactive = 1")),
                (
                    "Organization?active:not=false",
                    &format!("{f} inactive = 0"),
                ),
                (
                    "Organization?active:missing=false",
                    &format!("{f} inactive IS NOT NULL"),
                ),
            ],
        )
        .await;
    }
}

#[tokio::test]
async fn status_codes_through_maps_keyed_1_and_0() {
    for app in apps().await {
        let rx = "SELECT id FROM prescriptions WHERE";
        let dx = "SELECT id FROM lists WHERE type = 'medical_problem' AND";
        let al = "SELECT id FROM lists WHERE type = 'allergy' AND";
        check_all(
            &app,
            &[
                ("MedicationRequest?status=active", &format!("{rx} active = 1")),
                ("MedicationRequest?status=stopped", &format!("{rx} active = 0")),
                ("MedicationRequest?status:not=active", &format!("{rx} active <> 1")),
                ("MedicationRequest?status=completed", &format!("{rx} 1 = 0")),
                ("Condition?clinical-status=active", &format!("{dx} activity = 1")),
                (
                    "Condition?clinical-status=http://terminology.hl7.org/CodeSystem/condition-clinical|resolved",
                    &format!("{dx} activity = 0"),
                ),
                ("AllergyIntolerance?clinical-status=inactive", &format!("{al} activity = 0")),
                (
                    "AllergyIntolerance?verification-status=unconfirmed",
                    &format!("{al} verification = 'unconfirmed'"),
                ),
                // A blank verification is no value.
                (
                    "AllergyIntolerance?verification-status:missing=true",
                    &format!("{al} verification = ''"),
                ),
            ],
        )
        .await;
    }
}
