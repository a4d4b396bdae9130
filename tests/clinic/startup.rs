//! docs/mapping.md §13 shows what the server prints when it starts over this sample (SQLite)
//! with a broken mapping, then with that mapping's first problems fixed: both are the real
//! output, as `main` prints it.

use fhir_facade::sql::Dialect;
use fhir_facade::startup::Application;

use crate::app;
use crate::clinic::{self, Backend};

/// What the server prints when it cannot start with `mapping` (written to a file that the
/// output calls `mapping.toml`).
fn startup_output(mapping: &str) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("mapping.toml");
    std::fs::write(&path, mapping).expect("write the mapping");
    let backend = Backend {
        dialect: Dialect::Sqlite,
        url: format!("sqlite:{}", clinic::sqlite_file().display()),
    };
    let mut settings = app::settings(&backend);
    settings.mapping_path = path.display().to_string();
    let err = match clinic::block_on(Application::build(settings)) {
        Ok(_) => panic!("the server starts with the mapping of docs/mapping.md §13"),
        Err(e) => e,
    };
    // As `main` prints it.
    format!("error: {err:#}").replace(&path.display().to_string(), "mapping.toml")
}

#[test]
fn the_startup_output_shown_in_the_docs_is_the_real_one() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/mapping.md"))
        .expect("docs/mapping.md");
    let (_, rest) = doc
        .split_once("Real output, the server run on the clinic sample")
        .expect("docs/mapping.md §13 shows the start-up output over the clinic sample");
    let parts: Vec<&str> = rest.split("```").collect();
    let body = |i: usize, info: &str| {
        parts[i]
            .strip_prefix(info)
            .and_then(|b| b.strip_prefix('\n'))
            .unwrap_or_else(|| panic!("block {i} after the heading is not ```{info}"))
    };
    let broken = body(1, "toml-error");
    assert_eq!(
        startup_output(broken).trim_end(),
        body(3, "text").trim_end()
    );
    // The fixes the text names, then the next run.
    let mut fixed = broken.to_string();
    for (from, to) in [
        ("\"last_name\"", "\"lname\""),
        ("birthdate = \"DOB\"", "birthDate = \"DOB\""),
        ("phone = true", "family = true"),
        ("authorised", "authorized"),
        (
            "THEN date END\" }",
            "THEN date END\", type = \"datetime\" }",
        ),
        ("\"facilities\"", "\"facility\""),
    ] {
        assert!(fixed.contains(from), "{from}");
        fixed = fixed.replace(from, to);
    }
    assert_eq!(
        startup_output(&fixed).trim_end(),
        body(5, "text").trim_end()
    );
}
