//! A fuzz target for search parsing and planning, driven by proptest so it runs on stable in
//! CI (`PROPTEST_CASES=200000 cargo test --release --test fuzz_plan` runs it longer).
//!
//! Queries are built from the parameter names the mapping declares (with modifiers, chains,
//! `_has`, result parameters) and from hostile values. Whatever they are, parsing and planning
//! must not panic; a planned statement binds every request value (a marker in every value
//! never appears in SQL text) and has as many placeholders as values.

use fhir_facade::mapping::Mapping;
use fhir_facade::plan::{self, Scope};
use fhir_facade::request::search::{SearchOptions, SearchRequest, declared};
use fhir_facade::sql::{Caps, Dialect};
use proptest::prelude::*;

const TYPES: &[&str] = &[
    "Patient",
    "Observation",
    "Encounter",
    "Condition",
    "MedicationRequest",
    "Practitioner",
    "Organization",
];

const MODIFIERS: &[&str] = &[
    "",
    ":exact",
    ":contains",
    ":missing",
    ":not",
    ":text",
    ":of-type",
    ":below",
    ":above",
    ":Patient",
    ":identifier",
    ":iterate",
    ":x",
];

const RESULT: &[&str] = &[
    "_count",
    "_sort",
    "_total",
    "_summary",
    "_elements",
    "_cursor",
    "_include",
    "_revinclude",
    "_include:iterate",
    "_id",
    "_lastUpdated",
    "_format",
    "_pretty",
];

/// Marks every value so that its appearance in SQL text is visible.
const MARK: &str = "zqxj";

/// The sample mapping for each dialect, loaded once.
static MAPPINGS: std::sync::LazyLock<Vec<Mapping>> = std::sync::LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");
    Dialect::ALL
        .iter()
        .map(|d| fhir_facade::mapping::load(path, *d).unwrap())
        .collect()
});

fn mapping(dialect: Dialect) -> &'static Mapping {
    &MAPPINGS[Dialect::ALL.iter().position(|d| *d == dialect).unwrap()]
}

fn name(m: &Mapping) -> impl Strategy<Value = String> + use<> {
    let mut codes: Vec<String> = Vec::new();
    for t in TYPES {
        codes.extend(declared(m, t));
    }
    codes.extend(RESULT.iter().map(|s| s.to_string()));
    codes.sort();
    codes.dedup();
    let code = prop::sample::select(codes);
    let chain_code = prop::sample::select(declared(m, "Patient"));
    prop_oneof![
        4 => (code.clone(), prop::sample::select(MODIFIERS)).prop_map(|(c, m)| format!("{c}{m}")),
        2 => (prop::sample::select(vec!["patient", "subject", "encounter", "subject:Patient", "general-practitioner", "requester"]), chain_code.clone(), prop::sample::select(MODIFIERS))
            .prop_map(|(r, c, m)| format!("{r}.{c}{m}")),
        1 => (prop::sample::select(vec!["Observation:patient", "Encounter:patient", "Condition:subject", "Observation:subject"]), chain_code, prop::sample::select(MODIFIERS))
            .prop_map(|(h, c, m)| format!("_has:{h}:{c}{m}")),
        1 => "[a-z_:.\\-]{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("'".to_string()),
        Just("\\".to_string()),
        Just(",".to_string()),
        Just("|".to_string()),
        Just("$".to_string()),
        Just("%".to_string()),
        Just("_".to_string()),
        Just("--".to_string()),
        Just("/*".to_string()),
        Just(";".to_string()),
        Just("ge".to_string()),
        Just("lt".to_string()),
        Just("2020".to_string()),
        Just("-01-31T10:00:00Z".to_string()),
        Just("http://loinc.org".to_string()),
        Just("Patient/".to_string()),
        Just("1".to_string()),
        Just("9.5e3".to_string()),
        Just("true".to_string()),
        Just("-".to_string()),
        Just("name".to_string()),
        Just("Observation:patient".to_string()),
        "\\PC{0,3}",
        "[ -~]{0,4}",
    ];
    prop::collection::vec(atom, 0..6).prop_map(|parts| format!("{MARK}{}", parts.concat()))
}

fn query(m: &Mapping) -> impl Strategy<Value = (String, Vec<(String, String)>)> + use<> {
    (
        prop::sample::select(TYPES),
        prop::collection::vec((name(m), value()), 0..8),
    )
        .prop_map(|(t, params)| (t.to_string(), params))
}

fn check(m: &Mapping, dialect: Dialect, resource_type: &str, params: &[(String, String)]) {
    let opts = SearchOptions {
        base_url: "http://localhost/fhir",
        max_count: 1000,
        max_chain_depth: 3,
        lenient: params.len().is_multiple_of(2),
        limits: Default::default(),
    };
    let Ok(req) = SearchRequest::parse(m, &opts, resource_type, params) else {
        return;
    };
    let caps = Caps::of(dialect);
    let Ok(planned) = plan::search(m, &caps, Scope::none(), &req, None) else {
        return;
    };
    let mut statements = vec![planned.page.statement.clone()];
    for t in &planned.totals {
        statements.push(t.count.clone());
    }
    for s in statements {
        assert!(
            !s.sql.contains(MARK),
            "a request value in SQL text: {params:?}\n{}",
            s.sql
        );
        if dialect == Dialect::Postgres {
            let n = s.params.len();
            assert!(
                n == 0 || s.sql.contains(&format!("${n}")),
                "{n} params: {}",
                s.sql
            );
            assert!(!s.sql.contains(&format!("${}", n + 1)), "{}", s.sql);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
    ))]

    #[test]
    fn parsing_and_planning_never_panic_and_bind_every_value(
        (t, params) in query(mapping(Dialect::Sqlite))
    ) {
        for dialect in Dialect::ALL {
            check(mapping(dialect), dialect, &t, &params);
        }
    }
}

/// Inputs the fuzzer found, kept as regressions.
#[test]
fn found_inputs() {
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("Patient", &[("_sort", "family,family,-family")]),
        (
            "Observation",
            &[("patient.family:contains", "a\\"), ("patient.family", "'")],
        ),
        (
            "Patient",
            &[("_has:Observation:patient:code:not", "a|b,|,\\|")],
        ),
    ];
    for (t, params) in cases {
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        for dialect in Dialect::ALL {
            check(mapping(dialect), dialect, t, &params);
        }
    }
}
