//! The sample mapping with additions that the sample database has no natural place for, shared
//! by the SQL snapshots and the API tests.
//!
//! `Organization.meta.source` (a `uri`, searched by `_source`): a hospital is
//! `http://hospital.example.org/fhir/org/{DEPT_ID}`, a department or laboratory
//! `http://hospital.example.org/fhir/org/{PARENT_DEPT_ID}/{DEPT_CD}`, a pharmacy has none.

#![allow(dead_code)] // each test binary uses only part of this module

/// Base of the `meta.source` URLs.
pub const SOURCE_BASE: &str = "http://hospital.example.org/fhir/org/";

const SOURCE_EXPR: &str = r#""meta.source" = { expr = { default = "CASE WHEN DEPT_TYP = 'HOSP' THEN 'http://hospital.example.org/fhir/org/' || DEPT_ID WHEN DEPT_TYP = 'PHAR' THEN NULL ELSE 'http://hospital.example.org/fhir/org/' || PARENT_DEPT_ID || '/' || TRIM(DEPT_CD) END", mysql = "CASE WHEN DEPT_TYP = 'HOSP' THEN CONCAT('http://hospital.example.org/fhir/org/', DEPT_ID) WHEN DEPT_TYP = 'PHAR' THEN NULL ELSE CONCAT('http://hospital.example.org/fhir/org/', PARENT_DEPT_ID, '/', TRIM(DEPT_CD)) END" } }"#;

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from}");
    text.replacen(from, to, 1)
}

/// The sample mapping text (`original`) with `Organization.meta.source` mapped and `_source`
/// declared.
pub fn with_uri_source(original: &str) -> String {
    let text = replace_once(
        original,
        "name = \"DEPT_NM\"\n",
        &format!("name = \"DEPT_NM\"\n{SOURCE_EXPR}\n"),
    );
    replace_once(
        &text,
        "_lastUpdated = true\nname = true\n",
        "_lastUpdated = true\nname = true\n_source = true\n",
    )
}
