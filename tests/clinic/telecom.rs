//! Standard parameters whose expression is not a plain path (`phone`, `email`: telecom
//! `.where(system=…)`), over columns with blank strings, and a SQL-defined parameter.

use crate::app::{App, apps};

async fn check_all(app: &App, cases: &[(String, String)]) {
    for (query, sql) in cases {
        let want = app.expected("", sql).await;
        app.check(query, &want).await;
    }
}

/// The first non-blank value of `col` (by pid), from SQL.
async fn some_value(app: &App, table: &str, col: &str, skip: usize) -> String {
    app.rows(&format!(
        "SELECT {col} FROM {table} WHERE TRIM({col}) <> '' ORDER BY id LIMIT 1 OFFSET {skip}"
    ))
    .await[0][0]
        .clone()
        .unwrap()
}

fn enc(v: &str) -> String {
    form_urlencoded::byte_serialize(v.as_bytes()).collect()
}

#[tokio::test]
async fn phone_and_email_search_their_own_telecom_entries() {
    for app in apps().await {
        let home = some_value(&app, "patient_data", "phone_home", 2).await;
        let cell = some_value(&app, "patient_data", "phone_cell", 1).await;
        let email = some_value(&app, "patient_data", "email", 0).await;
        let p = "SELECT pid FROM patient_data WHERE";
        let blank = |c: &str| format!("({c} IS NULL OR TRIM({c}) = '')");
        let cases = vec![
            (
                format!("Patient?phone={}", enc(&home)),
                format!("{p} phone_home = '{home}' OR phone_cell = '{home}'"),
            ),
            (
                format!("Patient?phone={}", enc(&cell)),
                format!("{p} phone_home = '{cell}' OR phone_cell = '{cell}'"),
            ),
            (
                format!("Patient?email={}", enc(&email)),
                format!("{p} email = '{email}'"),
            ),
            // A phone number is no email, and an email no phone.
            (
                format!("Patient?email={}", enc(&home)),
                format!("{p} email = '{home}'"),
            ),
            (
                format!("Patient?phone={}", enc(&email)),
                format!("{p} phone_home = '{email}' OR phone_cell = '{email}'"),
            ),
            (
                format!("Patient?telecom={}", enc(&email)),
                format!("{p} '{email}' IN (phone_home, phone_cell, email)"),
            ),
            // Blank strings are no value.
            (
                "Patient?phone:missing=true".to_string(),
                format!("{p} {} AND {}", blank("phone_home"), blank("phone_cell")),
            ),
            (
                "Patient?phone:missing=false".to_string(),
                format!(
                    "{p} NOT ({} AND {})",
                    blank("phone_home"),
                    blank("phone_cell")
                ),
            ),
            (
                "Patient?email:missing=true".to_string(),
                format!("{p} {}", blank("email")),
            ),
            (
                format!("Patient?phone:not={}", enc(&home)),
                format!(
                    "{p} NOT (COALESCE(phone_home, '') = '{home}' OR COALESCE(phone_cell, '') = '{home}')"
                ),
            ),
        ];
        check_all(&app, &cases).await;

        let work = some_value(&app, "users", "phone", 1).await;
        let u = "SELECT id FROM users WHERE authorized = 1 AND";
        let cases = vec![
            (
                format!("Practitioner?phone={}", enc(&work)),
                format!("{u} phone = '{work}'"),
            ),
            (
                format!("Practitioner?email={}", enc(&work)),
                format!("{u} email = '{work}'"),
            ),
            (
                "Practitioner?email:missing=true".to_string(),
                format!("{u} {}", blank("email")),
            ),
            (
                "Practitioner?phone:missing=true".to_string(),
                format!("{u} {}", blank("phone")),
            ),
        ];
        check_all(&app, &cases).await;
    }
}

#[tokio::test]
async fn mrn_is_a_sql_defined_parameter_on_text() {
    for app in apps().await {
        let p = "SELECT pid FROM patient_data WHERE";
        let mrn = some_value(&app, "patient_data", "pubpid", 11).await;
        let unpadded = mrn.trim_start_matches('0').to_string();
        let cases = vec![
            (
                format!("Patient?mrn={mrn}"),
                format!("{p} pubpid = '{mrn}'"),
            ),
            // The chart number is text: leading zeros count.
            (
                format!("Patient?mrn={unpadded}"),
                format!("{p} pubpid = '{unpadded}'"),
            ),
            (
                format!("Patient?mrn={mrn}&active=true"),
                format!("{p} pubpid = '{mrn}' AND active = 1"),
            ),
            (
                format!("Patient?identifier=http://clinic.example.org/fhir/sid/pubpid|{mrn}"),
                format!("{p} pubpid = '{mrn}'"),
            ),
            (
                "Patient?identifier:missing=true".to_string(),
                format!("{p} pubpid = ''"),
            ),
            // Its `missing` condition is declared in the mapping; `false` negates it.
            (
                "Patient?mrn:missing=true".to_string(),
                format!("{p} pubpid = ''"),
            ),
            (
                "Patient?mrn:missing=false".to_string(),
                format!("{p} pubpid <> ''"),
            ),
            (
                format!("Patient?mrn:not={mrn}"),
                format!("{p} pubpid <> '{mrn}'"),
            ),
        ];
        check_all(&app, &cases).await;
        // It takes `:not` and `:missing` (declared) and nothing else, and the
        // CapabilityStatement says so.
        for refused in ["mrn:text=x", "mrn=http://x|1", "mrn:missing=maybe"] {
            let (status, outcome) = app.get(&format!("Patient?{refused}")).await;
            assert_eq!(status, 400, "{refused}");
            // A refused modifier names the ones the parameter takes, not its type's.
            if refused.contains(":text") {
                let text = outcome["issue"][0]["diagnostics"]
                    .as_str()
                    .unwrap_or_default();
                assert!(
                    text.ends_with("supported: missing, not)"),
                    "{refused}: {text}"
                );
            }
        }
        assert_eq!(
            documentation(&app, "mrn").await,
            Some(serde_json::json!("Modifiers: missing, not."))
        );
    }
}

/// The CapabilityStatement's documentation of Patient's parameter `code`.
async fn documentation(app: &App, code: &str) -> Option<serde_json::Value> {
    let (_, cs) = app.get("metadata").await;
    cs["rest"][0]["resource"]
        .as_array()
        .and_then(|rs| rs.iter().find(|r| r["type"] == "Patient"))
        .and_then(|r| r["searchParam"].as_array())
        .and_then(|ps| ps.iter().find(|p| p["name"] == code))
        .map(|p| p["documentation"].clone())
}

#[tokio::test]
async fn an_sql_parameter_takes_the_modifiers_it_declares() {
    for app in apps().await {
        let p = "SELECT pid FROM patient_data WHERE";
        let reason = some_value(&app, "patient_data", "deceased_reason", 0).await;
        let word = reason.split(' ').next_back().unwrap().to_string();
        let first = reason.split(' ').next().unwrap().to_string();
        let cases = vec![
            // The plain condition: starts with, case-insensitive.
            (
                format!("Patient?death-reason={}", enc(&first.to_uppercase())),
                format!("{p} deceased_reason LIKE '{first}%'"),
            ),
            (
                format!("Patient?death-reason:exact={}", enc(&reason)),
                format!("{p} deceased_reason = '{reason}'"),
            ),
            (
                format!("Patient?death-reason:exact={}", enc(&first)),
                format!("{p} deceased_reason = '{first}'"),
            ),
            (
                format!(
                    "Patient?death-reason:contains={}",
                    enc(&word.to_uppercase())
                ),
                format!("{p} deceased_reason LIKE '%{word}%'"),
            ),
            // ORed values, each with its modifier's condition.
            (
                format!("Patient?death-reason:contains={},zzz", enc(&word)),
                format!("{p} deceased_reason LIKE '%{word}%'"),
            ),
            (
                "Patient?death-reason:missing=true".to_string(),
                format!("{p} deceased_reason = ''"),
            ),
            (
                "Patient?death-reason:missing=false&active=true".to_string(),
                format!("{p} deceased_reason <> '' AND active = 1"),
            ),
        ];
        check_all(&app, &cases).await;
        let (status, outcome) = app.get("Patient?death-reason:text=x").await;
        assert_eq!(status, 400);
        let text = outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap_or_default();
        assert!(
            text.ends_with("supported: missing, exact, contains)"),
            "{text}"
        );
        assert_eq!(
            documentation(&app, "death-reason").await,
            Some(serde_json::json!("Modifiers: missing, exact, contains."))
        );
    }
}
