//! Validation of FHIR R4 resources against the official FHIR R4 JSON Schema
//! (`tests/fixtures/fhir.schema.json`, see `tests/fixtures/README.md`).
//!
//! Use it from an integration test with
//!
//! ```ignore
//! #[path = "support/fhir_schema.rs"]
//! mod fhir_schema;
//!
//! fhir_schema::assert_valid(&resource);
//! ```
//!
//! Each resource is validated against the schema definition named by its `resourceType`
//! (a wrapper schema `{"$ref": "#/definitions/<Type>", "definitions": <all definitions>}`),
//! so errors point at the offending property instead of failing all 146 branches of the
//! top-level `oneOf`. Validators are built once per type and cached.
//!
//! Known quirks of the schema: dates are checked by pattern only (`1990-02-31` passes) and the
//! string pattern rejects U+00A0 (no-break space).

#![allow(dead_code)] // each test binary uses only part of this module

use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

const SCHEMA_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/fhir.schema.json"
);

/// The `definitions` of the FHIR schema, parsed once.
static DEFINITIONS: LazyLock<Value> = LazyLock::new(|| {
    let text = std::fs::read_to_string(SCHEMA_PATH)
        .unwrap_or_else(|e| panic!("cannot read {SCHEMA_PATH}: {e}"));
    let mut schema: Value = serde_json::from_str(&text).expect("fhir.schema.json is JSON");
    schema
        .get_mut("definitions")
        .map(Value::take)
        .expect("fhir.schema.json has definitions")
});

/// The schema's `definitions` (one per type, with its `properties` in definition order).
pub fn definitions() -> &'static Value {
    &DEFINITIONS
}

/// One compiled validator per resource type.
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn validator_for(resource_type: &str) -> Result<Arc<jsonschema::Validator>, String> {
    if let Some(v) = VALIDATORS.lock().unwrap().get(resource_type) {
        return Ok(v.clone());
    }
    if DEFINITIONS.get(resource_type).is_none() {
        return Err(format!("unknown resourceType {resource_type:?}"));
    }
    let wrapper = json!({
        "$schema": "http://json-schema.org/draft-06/schema#",
        "$ref": format!("#/definitions/{resource_type}"),
        "definitions": &*DEFINITIONS,
    });
    // Built outside the lock: compiling takes a moment and tests run in parallel.
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft6)
        .build(&wrapper)
        .map_err(|e| format!("cannot compile the schema of {resource_type}: {e}"))?;
    let validator = Arc::new(validator);
    VALIDATORS
        .lock()
        .unwrap()
        .entry(resource_type.to_owned())
        .or_insert(validator.clone());
    Ok(validator)
}

/// Validates a FHIR resource against the schema of its `resourceType`; on failure returns
/// every error as `"<JSON pointer>: <message>"`.
pub fn validate(resource: &Value) -> Result<(), Vec<String>> {
    let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
        return Err(vec!["the resource has no string resourceType".to_owned()]);
    };
    let validator = validator_for(resource_type).map_err(|e| vec![e])?;
    let errors: Vec<String> = validator
        .iter_errors(resource)
        .map(|e| {
            let at = e.instance_path().to_string();
            format!("{}: {e}", if at.is_empty() { "/" } else { &at })
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Panics with all schema errors and the pretty-printed resource unless `resource` is valid.
#[track_caller]
pub fn assert_valid(resource: &Value) {
    if let Err(errors) = validate(resource) {
        panic!(
            "resource is not valid FHIR R4 ({} error(s)):\n  - {}\nresource:\n{}",
            errors.len(),
            errors.join("\n  - "),
            serde_json::to_string_pretty(resource).unwrap_or_else(|_| resource.to_string())
        );
    }
}
