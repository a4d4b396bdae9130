//! Self-test of `tests/support/fhir_schema.rs`: valid resources pass, invalid ones fail (so the
//! validator cannot silently accept everything), and numbers survive serde_json's
//! `arbitrary_precision` feature, which the main crate enables.

#[path = "support/fhir_schema.rs"]
mod fhir_schema;

use serde_json::{Value, json};

fn patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "p1",
        "meta": { "lastUpdated": "2024-01-02T03:04:05.678Z" },
        "active": true,
        "name": [{ "use": "official", "family": "Dupont", "given": ["Marie", "Anne"] }],
        "telecom": [{ "system": "phone", "value": "+33 1 23 45 67 89", "rank": 1 }],
        "gender": "female",
        "birthDate": "1970-05-06",
        "deceasedBoolean": false,
        "multipleBirthInteger": 2,
        "address": [{ "line": ["1 rue de la Paix"], "city": "Paris", "postalCode": "75002" }]
    })
}

fn errors(resource: &Value) -> Vec<String> {
    match fhir_schema::validate(resource) {
        Ok(()) => panic!(
            "expected schema errors for\n{}",
            serde_json::to_string_pretty(resource).unwrap()
        ),
        Err(e) => e,
    }
}

#[test]
fn valid_patient_passes() {
    fhir_schema::assert_valid(&patient());
}

#[test]
fn invalid_gender_type_fails() {
    let mut p = patient();
    p["gender"] = json!(7);
    let errs = errors(&p);
    assert!(errs.iter().any(|e| e.starts_with("/gender")), "{errs:?}");
}

#[test]
fn invalid_gender_code_fails() {
    let mut p = patient();
    p["gender"] = json!("F");
    let errs = errors(&p);
    assert!(errs.iter().any(|e| e.starts_with("/gender")), "{errs:?}");
}

#[test]
fn unknown_property_fails() {
    let mut p = patient();
    p["birthdate"] = json!("1970-05-06");
    let errs = errors(&p);
    assert!(errs.iter().any(|e| e.contains("birthdate")), "{errs:?}");
    // Nested too.
    let mut p = patient();
    p["name"][0]["first"] = json!("Marie");
    assert!(errors(&p).iter().any(|e| e.contains("first")));
}

#[test]
fn wrong_shapes_fail() {
    let mut p = patient();
    p["name"] = json!({ "family": "Dupont" }); // must be an array
    errors(&p);
    let mut p = patient();
    p["birthDate"] = json!("06/05/1970");
    errors(&p);
    let mut p = patient();
    p["active"] = json!("yes");
    errors(&p);
    let mut p = patient();
    p["resourceType"] = json!("Patinet");
    errors(&p);
    errors(&json!({ "id": "no-type" }));
}

#[test]
#[should_panic(expected = "resource is not valid FHIR R4")]
fn assert_valid_panics_on_errors() {
    let mut p = patient();
    p["gender"] = json!(7);
    fhir_schema::assert_valid(&p);
}

fn observation(value: Value) -> Value {
    json!({
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "8310-5" }] },
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": "2024-01-02T10:00:00+01:00",
        "valueQuantity": value,
        "component": [{
            "code": { "text": "x" },
            "valueInteger": 3
        }]
    })
}

/// Parses from text, as the server's JSON would be (with `arbitrary_precision` numbers keep
/// their exact text, e.g. `98.60`).
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn numbers_validate_with_arbitrary_precision() {
    for number in [
        "98.60",
        "0.5",
        "37",
        "0",
        "-1.25",
        "1e3",
        "12345678901234567890.123456789",
    ] {
        let q = parse(&format!(
            r#"{{"value": {number}, "unit": "degF", "system": "http://unitsofmeasure.org", "code": "[degF]"}}"#
        ));
        let obs = observation(q);
        fhir_schema::assert_valid(&obs);
    }
    // Integers given as strings are rejected...
    let mut obs = observation(json!({ "value": 1 }));
    obs["component"][0]["valueInteger"] = json!("3");
    errors(&obs);
    // ...but the schema types integer/positiveInt/unsignedInt as `number` with a `pattern`,
    // and JSON Schema patterns only apply to strings: 3.5 or -1 pass (a schema limitation).
    obs["component"][0]["valueInteger"] = parse("3.5");
    fhir_schema::assert_valid(&obs);
    // Decimals given as strings are rejected.
    errors(&observation(json!({ "value": "98.6" })));
    // An exact decimal keeps its text.
    assert_eq!(parse("98.60").to_string(), "98.60");
}

#[test]
fn other_resources_validate() {
    fhir_schema::assert_valid(&json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": 1,
        "link": [{ "relation": "self", "url": "http://localhost/Patient?_id=p1" }],
        "entry": [{
            "fullUrl": "http://localhost/Patient/p1",
            "resource": patient(),
            "search": { "mode": "match" }
        }]
    }));
    fhir_schema::assert_valid(&json!({
        "resourceType": "OperationOutcome",
        "issue": [{ "severity": "error", "code": "not-found", "diagnostics": "no Patient/x" }]
    }));
    fhir_schema::assert_valid(&json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2024-01-01",
        "kind": "instance",
        "fhirVersion": "4.0.1",
        "format": ["json"]
    }));
    // An invalid resource nested in a Bundle is caught.
    let mut p = patient();
    p["gender"] = json!(7);
    let bundle =
        json!({ "resourceType": "Bundle", "type": "searchset", "entry": [{ "resource": p }] });
    errors(&bundle);
}

#[test]
fn known_quirks() {
    // Dates are checked by pattern only.
    let mut p = patient();
    p["birthDate"] = json!("1990-02-31");
    fhir_schema::assert_valid(&p);
    // The string pattern rejects U+00A0 (no-break space) with a Unicode-aware regex engine.
    let mut p = patient();
    p["name"][0]["family"] = json!("Du\u{a0}Pont");
    assert!(fhir_schema::validate(&p).is_err());
}
