//! The sample mapping compiles for every dialect, against the FHIR R4 definitions.

use fhir_facade::sql::Dialect;

#[test]
fn sample_mapping_compiles_for_every_dialect() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");
    for d in Dialect::ALL {
        let m = fhir_facade::mapping::load(path, d).unwrap_or_else(|e| panic!("{d}: {e}"));
        let types: Vec<&str> = m.resource_types().collect();
        assert_eq!(
            types,
            [
                "Patient",
                "Practitioner",
                "Organization",
                "Encounter",
                "Condition",
                "Observation",
                "MedicationRequest"
            ]
        );
        assert_eq!(m.sources_of("Observation").count(), 5);
    }
}
