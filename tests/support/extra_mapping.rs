//! The sample mapping with additions that the sample database has no natural place for, shared
//! by the SQL snapshots and the API tests.
//!
//! - `Organization.meta.source` (a `uri`, searched by `_source`): a hospital is
//!   `http://hospital.example.org/fhir/org/{DEPT_ID}`, a department or laboratory
//!   `http://hospital.example.org/fhir/org/{PARENT_DEPT_ID}/{DEPT_CD}`, a pharmacy has none.
//! - Lab results' `valueQuantity.code` translated from the legacy unit text by a value map
//!   (`lab_ucum`; `U/L`, not listed, takes the default) instead of the join's UCUM column.
//! - A blood-pressure Observation source (`vs-bpc-{VS_ID}`) whose components come from a child
//!   relation with one row per component (systolic, diastolic), so composite searches run
//!   on a child table.

#![allow(dead_code)] // each test binary uses only part of this module

/// Base of the `meta.source` URLs.
pub const SOURCE_BASE: &str = "http://hospital.example.org/fhir/org/";

const SOURCE_EXPR: &str = r#""meta.source" = { expr = { default = "CASE WHEN DEPT_TYP = 'HOSP' THEN 'http://hospital.example.org/fhir/org/' || DEPT_ID WHEN DEPT_TYP = 'PHAR' THEN NULL ELSE 'http://hospital.example.org/fhir/org/' || PARENT_DEPT_ID || '/' || TRIM(DEPT_CD) END", mysql = "CASE WHEN DEPT_TYP = 'HOSP' THEN CONCAT('http://hospital.example.org/fhir/org/', DEPT_ID) WHEN DEPT_TYP = 'PHAR' THEN NULL ELSE CONCAT('http://hospital.example.org/fhir/org/', PARENT_DEPT_ID, '/', TRIM(DEPT_CD)) END" } }"#;

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "{from}");
    text.replacen(from, to, 1)
}

/// Id prefix of the blood-pressure source whose components are child rows.
pub const BP_CHILD_PREFIX: &str = "vs-bpc-";

const BP_CHILD_SOURCE: &str = r#"
[[resource]]
type = "Observation"
name = "vital-blood-pressure-rows"
table = "VITALS"
id = { column = "VS_ID", prefix = "vs-bpc-" }
filter = "DEL_FLG <> 'Y' AND (BP_SYS IS NOT NULL OR BP_DIA IS NOT NULL)"

[resource.elements]
status = { constant = "final" }
"code.coding[0].system" = { constant = "http://loinc.org" }
"code.coding[0].code" = { constant = "85354-9" }
subject = { column = "PAT_ID", reference = "Patient" }
effectiveDateTime = "TAKEN_TS"

[[resource.child]]
path = "component"
sql = "SELECT VS_ID, '8480-6' AS CD, BP_SYS AS VAL FROM VITALS WHERE BP_SYS IS NOT NULL UNION ALL SELECT VS_ID, '8462-4' AS CD, BP_DIA AS VAL FROM VITALS WHERE BP_DIA IS NOT NULL"
key = "VS_ID"
order_by = "CD DESC"
[resource.child.elements]
"code.coding[0].system" = { constant = "http://loinc.org" }
"code.coding[0].code" = "CD"
"valueQuantity.value" = "VAL"
"valueQuantity.system" = { constant = "http://unitsofmeasure.org" }
"valueQuantity.code" = { constant = "mm[Hg]" }

[resource.search]
component-code-value-quantity = true
combo-code-value-quantity = true
"#;

const LAB_UCUM_MAP: &str = r#"[maps.lab_ucum]
default = "U/L"
values = { "MG/DL" = "mg/dL", "G/DL" = "g/dL", "K/UL" = "10*3/uL", "MMOL/L" = "mmol/L", "%" = "%", "UIU/ML" = "m[IU]/L" }

"#;

/// The sample mapping text (`original`) with all the additions.
pub fn extended(original: &str) -> String {
    let text = replace_once(
        &with_uri_source(original),
        "\"valueQuantity.code\" = \"MAP.UCUM_CD\"",
        "\"valueQuantity.code\" = { column = \"RSLT_UNITS\", map = \"lab_ucum\" }",
    );
    replace_once(
        &text,
        "[maps.dose_unit]",
        &format!("{LAB_UCUM_MAP}[maps.dose_unit]"),
    ) + BP_CHILD_SOURCE
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
