//! Checks that the committed FHIR R4 tables in `src/fhir/r4/` are what `tools/gen-fhir-defs`
//! generates from the official definition bundles in `../shared/fhir/r4`, and that they load.
//!
//! The bundles are not part of the repository: when `../shared/fhir/r4` does not exist (a
//! user's machine) the up-to-date check is skipped with a notice.

use fhir_facade::fhir::Definitions;
use std::path::Path;

const SHARED_R4: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fhir/r4");
const COMMITTED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/fhir/r4");

#[test]
fn generated_files_are_up_to_date() {
    let src = Path::new(SHARED_R4);
    if !src.is_dir() {
        println!("NOTICE: {SHARED_R4} does not exist; skipping the FHIR definitions check");
        return;
    }
    let generated = gen_fhir_defs::generate(src).expect("generator runs");
    let mut stale = Vec::new();
    for (name, contents) in &generated {
        let committed = std::fs::read_to_string(Path::new(COMMITTED).join(name))
            .unwrap_or_else(|e| panic!("src/fhir/r4/{name}: {e}"));
        if &committed != contents {
            stale.push(name.as_str());
        }
    }
    assert!(
        stale.is_empty(),
        "src/fhir/r4/{{{}}} out of date: run `cargo run -p gen-fhir-defs -- ../shared/fhir/r4 \
         src/fhir/r4`",
        stale.join(",")
    );
    // And the generator writes exactly these files.
    let names: Vec<&str> = generated.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, gen_fhir_defs::OUTPUT_FILES);
}

#[test]
fn embedded_definitions_load() {
    let d = Definitions::r4();
    assert_eq!(d.resource_types().count(), 146);
    assert!(d.resolve("Patient", "name[0].given[0]").is_ok());
}

/// The XML structure check of the tests (`tests/support/fhir_xml.rs`) takes each type's
/// element order from the official JSON Schema (`tests/fixtures/fhir.schema.json`, always in
/// the repository); here that order is checked against the StructureDefinitions themselves,
/// for every resource and data type, whenever `../shared/fhir/r4` exists.
#[test]
fn the_json_schema_lists_elements_in_structure_definition_order() {
    let src = Path::new(SHARED_R4);
    if !src.is_dir() {
        println!("NOTICE: {SHARED_R4} does not exist; skipping the element order check");
        return;
    }
    let read = |path: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    };
    let schema =
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fhir.schema.json"));
    let definitions = schema["definitions"].as_object().unwrap();
    let mut checked = 0;
    for file in ["profiles-types.json", "profiles-resources.json"] {
        let bundle = read(&src.join(file));
        for entry in bundle["entry"].as_array().unwrap() {
            let sd = &entry["resource"];
            let kind = sd["kind"].as_str().unwrap_or_default();
            if sd["resourceType"] != "StructureDefinition"
                || sd["derivation"] != "specialization"
                || !matches!(kind, "complex-type" | "resource")
            {
                continue;
            }
            let name = sd["id"].as_str().unwrap();
            let Some(properties) = definitions
                .get(name)
                .and_then(|d| d["properties"].as_object())
            else {
                continue;
            };
            let mut from_sd = Vec::new();
            for element in sd["snapshot"]["element"].as_array().unwrap() {
                let path: Vec<&str> = element["path"].as_str().unwrap().split('.').collect();
                let [_, element_name] = path.as_slice() else {
                    continue;
                };
                match element_name.strip_suffix("[x]") {
                    Some(stem) => {
                        for t in element["type"].as_array().unwrap() {
                            let code = t["code"].as_str().unwrap();
                            // The JSON Schema leaves Meta out of the choices (valueMeta...).
                            if code != "Meta" {
                                let mut chars = code.chars();
                                let first = chars.next().unwrap().to_ascii_uppercase();
                                from_sd.push(format!("{stem}{first}{}", chars.as_str()));
                            }
                        }
                    }
                    None => from_sd.push((*element_name).to_owned()),
                }
            }
            let from_schema: Vec<&str> = properties
                .keys()
                .map(String::as_str)
                .filter(|k| !k.starts_with('_') && *k != "resourceType")
                .collect();
            assert_eq!(from_schema, from_sd, "{name}");
            checked += 1;
        }
    }
    assert!(checked > 180, "{checked} types checked");
}
