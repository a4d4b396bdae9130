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
