//! Codes carrying their system as a prefix (`ICD10:E11.9`, `SNOMED-CT:…`, `RXCUI:…`,
//! `LOINC:…`): token searches `system|code`, `|code`, `code` and `system|` find the rows whose
//! text splits that way; unknown prefixes and codes without one are codes without a system.

use crate::app::{apps, observations};

const ICD10: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const SNOMED: &str = "http://snomed.info/sct";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const LOINC: &str = "http://loinc.org";
/// The prefixes of the Condition mapping.
const DX: &[&str] = &["ICD10", "SNOMED-CT"];

/// The SQLite condition "`col` holds `code` without a prefix or after one of `prefixes`".
fn any_system(col: &str, codes: &[&str], prefixes: &[&str]) -> String {
    let mut texts = Vec::new();
    for code in codes {
        texts.push(format!("'{code}'"));
        texts.extend(prefixes.iter().map(|p| format!("'{p}:{code}'")));
    }
    format!("{col} IN ({})", texts.join(", "))
}

/// The SQLite condition "`col` has a code-system prefix among `prefixes`".
fn known(col: &str, prefixes: &[&str]) -> String {
    let any: Vec<String> = prefixes
        .iter()
        .map(|p| format!("{col} LIKE '{p}:%'"))
        .collect();
    format!("({})", any.join(" OR "))
}

#[tokio::test]
async fn condition_code_through_system_prefixes() {
    let c = "SELECT id FROM lists WHERE type = 'medical_problem' AND";
    let known = known("diagnosis", DX);
    let cases = vec![
        (
            format!("code={ICD10}|E11.9"),
            format!("{c} diagnosis = 'ICD10:E11.9'"),
        ),
        (
            format!("code={ICD10}|E78.5"),
            format!("{c} diagnosis = 'ICD10:E78.5'"),
        ),
        (
            format!("code={SNOMED}|44054006"),
            format!("{c} diagnosis = 'SNOMED-CT:44054006'"),
        ),
        // Without a system: the codes stored without a known prefix.
        (
            "code=|E11.9".to_string(),
            format!("{c} diagnosis = 'E11.9'"),
        ),
        (
            "code=|E78.5".to_string(),
            format!("{c} diagnosis = 'E78.5'"),
        ),
        // Any system.
        (
            "code=E11.9".to_string(),
            format!("{c} {}", any_system("diagnosis", &["E11.9"], DX)),
        ),
        (
            "code=E78.5,I10".to_string(),
            format!("{c} {}", any_system("diagnosis", &["E78.5", "I10"], DX)),
        ),
        // A whole system.
        (
            format!("code={SNOMED}|"),
            format!("{c} diagnosis LIKE 'SNOMED-CT:%'"),
        ),
        (
            format!("code={ICD10}|"),
            format!("{c} diagnosis LIKE 'ICD10:%'"),
        ),
        // An unknown prefix is part of a code without a system.
        (
            "code=ICD9:250.00".to_string(),
            format!("{c} diagnosis = 'ICD9:250.00'"),
        ),
        (
            "code=|ICD9:250.00".to_string(),
            format!("{c} diagnosis = 'ICD9:250.00'"),
        ),
        (
            "code=250.00".to_string(),
            format!("{c} {}", any_system("diagnosis", &["250.00"], DX)),
        ),
        (format!("code={ICD10}|250.00"), format!("{c} 1 = 0")),
        (
            "code=http://example.org/unknown|E11.9".to_string(),
            format!("{c} 1 = 0"),
        ),
        // Blank is no code.
        (
            "code:missing=true".to_string(),
            format!("{c} (diagnosis IS NULL OR diagnosis = '')"),
        ),
        (
            format!("code:not={ICD10}|E11.9"),
            format!("{c} (diagnosis IS NULL OR diagnosis <> 'ICD10:E11.9')"),
        ),
        (
            format!("code={ICD10}|E11.9&clinical-status=active"),
            format!("{c} diagnosis = 'ICD10:E11.9' AND activity = 1"),
        ),
        (
            "code=|E11.9,|E78.5".to_string(),
            format!("{c} NOT {known} AND diagnosis IN ('E11.9', 'E78.5')"),
        ),
    ];
    for app in apps().await {
        for (query, sql) in &cases {
            let want = app.expected("", sql).await;
            app.check(&format!("Condition?{query}"), &want).await;
        }
    }
}

#[tokio::test]
async fn allergy_code_through_system_prefixes() {
    let a = "SELECT id FROM lists WHERE type = 'allergy' AND";
    let cases = vec![
        (
            format!("code={RXNORM}|7980"),
            format!("{a} diagnosis = 'RXCUI:7980'"),
        ),
        (
            format!("code={RXNORM}|"),
            format!("{a} diagnosis LIKE 'RXCUI:%'"),
        ),
        (
            format!("code={SNOMED}|91936005"),
            format!("{a} diagnosis = 'SNOMED-CT:91936005'"),
        ),
        (
            "code=|PEANUT".to_string(),
            format!("{a} diagnosis = 'PEANUT'"),
        ),
        (
            "code=2670".to_string(),
            format!(
                "{a} {}",
                any_system("diagnosis", &["2670"], &["RXCUI", "SNOMED-CT"])
            ),
        ),
        // ICD10 is a prefix of the Condition mapping, not of this one.
        (
            "code=ICD10:E11.9".to_string(),
            format!("{a} diagnosis = 'ICD10:E11.9'"),
        ),
        (
            "code:missing=true".to_string(),
            format!("{a} diagnosis = ''"),
        ),
    ];
    for app in apps().await {
        for (query, sql) in &cases {
            let want = app.expected("", sql).await;
            app.check(&format!("AllergyIntolerance?{query}"), &want)
                .await;
        }
    }
}

#[tokio::test]
async fn observation_code_across_prefixed_and_constant_codes() {
    for app in apps().await {
        let db = &app.db;
        let cases = [
            (
                format!("code={LOINC}|2345-7"),
                "r.result_code = 'LOINC:2345-7'",
                "1 = 0",
            ),
            (
                "code=2345-7".to_string(),
                "r.result_code IN ('2345-7', 'LOINC:2345-7')",
                "1 = 0",
            ),
            (
                format!("code={LOINC}|2345-7,{LOINC}|4548-4"),
                "r.result_code IN ('LOINC:2345-7', 'LOINC:4548-4')",
                "1 = 0",
            ),
            // Every LOINC code: prefixed lab codes and the vitals' constant codes.
            (
                format!("code={LOINC}|"),
                "r.result_code LIKE 'LOINC:%'",
                "1 = 1",
            ),
            (
                "code=|UA-PROT".to_string(),
                "r.result_code = 'UA-PROT'",
                "1 = 0",
            ),
            (format!("code={LOINC}|UA-PROT"), "1 = 0", "1 = 0"),
            (
                "code=UA-PROT".to_string(),
                "r.result_code = 'UA-PROT'",
                "1 = 0",
            ),
            (
                "code:missing=true".to_string(),
                "r.result_code = ''",
                "1 = 0",
            ),
            (
                format!("code={LOINC}|2160-0&date=ge2023-06-01"),
                "r.result_code = 'LOINC:2160-0' AND r.date >= '2023-06-01 00:00:00'",
                "1 = 0",
            ),
        ];
        for (query, lab, vitals) in &cases {
            let want = observations(db, lab, vitals).await;
            app.check(&format!("Observation?{query}"), &want).await;
        }
        // A constant code of one vitals source.
        let want = app
            .expected(
                "pulse-",
                "SELECT id FROM form_vitals WHERE activity = 1 AND pulse <> ''",
            )
            .await;
        app.check(&format!("Observation?code={LOINC}|8867-4"), &want)
            .await;
    }
}
