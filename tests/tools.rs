//! The operator's commands `check`, `explain` and `scaffold`, run as the built binary against
//! a seeded sample database of each backend (SQLite always; PostgreSQL and MySQL/MariaDB when
//! reachable, required under `CI=true`; see tests/support/servers.rs).
//!
//! One test per backend runs all three commands, so that each database is seeded once.

#[path = "support/servers.rs"]
mod servers;

use std::process::Command;

use fhir_facade::seed::{SeedOptions, seed_database};
use fhir_facade::sql::Dialect;
use serde_json::Value as Json;

/// Runs the binary with `args`: exit code, standard output, standard error.
fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_fhir-facade"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("FHIR_FACADE_MAPPING")
        .env_remove("FHIR_FACADE_DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run fhir-facade");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// The repository's mapping with one problem of each kind the checks find: an unknown FHIR
/// element (definitions), a value map code outside a required binding, a column the database
/// does not have (live schema), a search parameter whose element is not mapped
/// (`organization`: Patient.managingOrganization), and, in another resource type, a custom
/// search parameter whose SQL the database refuses (search probes).
fn broken_mapping() -> String {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml"))
        .expect("mapping.toml");
    let replace = |text: String, from: &str, to: &str| {
        assert!(text.contains(from), "mapping.toml has {from}");
        text.replacen(from, to, 1)
    };
    let text = replace(
        text,
        "\"name[0].family\" = \"LAST_NM\"",
        "\"name[0].famly\" = \"LAST_NM\"",
    );
    let text = replace(
        text,
        "values = { M = \"male\", F = \"female\", U = \"unknown\" }",
        "values = { M = \"male\", F = \"female\", U = \"unknwn\" }",
    );
    let text = replace(
        text,
        "birthDate = { column = \"BIRTH_DT\"",
        "birthDate = { column = \"BIRTH_DATE\"",
    );
    let text = replace(
        text,
        "death-date = true",
        "death-date = true\norganization = true",
    );
    replace(
        text,
        "identifier = true\nname = true\n",
        "identifier = true\nname = true\nnpi-bad = { type = \"token\", definition = \"http://example.org/sp\", sql = \"PROVIDER.NO_SUCH_COL = ?\" }\n",
    )
}

/// Resolves the TODOs of a scaffolded mapping the way a person would: serve live rows only
/// (the commented soft-delete filters), and take the references guessed from column-name
/// suffixes that are right for this schema.
fn resolve_todos(scaffold: &str) -> String {
    let mut out = String::new();
    for line in scaffold.lines() {
        let trimmed = line.trim_start();
        let keep = trimmed.starts_with("# filter = ")
            || trimmed.starts_with("# \"generalPractitioner[0]\" = ")
            || trimmed.starts_with("# \"participant[0].individual\" = ")
            || trimmed.starts_with("# partOf = ");
        out.push_str(if keep { &trimmed[2..] } else { line });
        out.push('\n');
    }
    out
}

async fn tools_on(dialect: Dialect, url: &str, dir: &std::path::Path) {
    seed_database(
        url,
        &SeedOptions {
            patients: 20,
            ..SeedOptions::default()
        },
    )
    .await
    .expect("seed");
    let name = dialect.key();

    // check: the sample mapping has no problems; index advice with CREATE INDEX statements.
    let (code, out, err) = run(&["check", "--database-url", url, "--format", "json"]);
    assert_eq!(code, 0, "{name}: check of the sample mapping\n{out}\n{err}");
    let report = json(&out);
    assert_eq!(report["ok"], true, "{name}");
    let advice = report["indexes"].as_array().expect("indexes");
    let served = advice
        .iter()
        .find(|a| a["parameter"] == "birthdate" && a["usage"] == "search")
        .expect("birthdate advice");
    assert_eq!(served["verdict"], "served", "{name}: {served}");
    let missing = advice
        .iter()
        .find(|a| a["parameter"] == "death-date" && a["usage"] == "search")
        .expect("death-date advice");
    assert_eq!(missing["verdict"], "missing", "{name}: {missing}");
    let create = missing["create"].as_str().unwrap();
    assert!(
        create.starts_with("CREATE INDEX ix_patient_death_dt ON ")
            && create.to_ascii_lowercase().contains("(death_dt)"),
        "{name}: {create}"
    );
    let family = advice
        .iter()
        .find(|a| a["parameter"] == "family" && a["usage"] == "search")
        .expect("family advice");
    assert_eq!(
        family["key"]
            .as_str()
            .map(str::to_ascii_uppercase)
            .as_deref(),
        Some("LOWER(LAST_NM)"),
        "{name}: {family}"
    );

    // check: every kind of problem in one run, each with its line and a fix; exit 1.
    let broken = dir.join("broken.toml");
    std::fs::write(&broken, broken_mapping()).unwrap();
    let broken = broken.to_str().unwrap();
    let (code, out, err) = run(&[
        "check",
        "--database-url",
        url,
        "--mapping",
        broken,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{name}: check of a broken mapping\n{out}\n{err}");
    let report = json(&out);
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().unwrap();
    let find = |needle: &str| {
        problems
            .iter()
            .find(|p| p.to_string().contains(needle))
            .unwrap_or_else(|| panic!("{name}: no problem with '{needle}' in {problems:#?}"))
    };
    let element = find("famly");
    assert!(element["line"].as_u64().unwrap() > 100, "{element}");
    assert!(
        element["fix"].as_str().unwrap().contains("family"),
        "{element}"
    );
    find("unknwn");
    let column = find("BIRTH_DATE");
    assert!(column["fix"].as_str().is_some(), "{column}");
    find("organization");
    let probe = find("npi-bad");
    assert!(
        probe["message"]
            .as_str()
            .unwrap()
            .contains("the database refuses the SQL"),
        "{probe}"
    );
    let lines: Vec<u64> = problems
        .iter()
        .map(|p| p["line"].as_u64().unwrap())
        .collect();
    assert!(
        lines.windows(2).all(|w| w[0] <= w[1]),
        "sorted by line: {lines:?}"
    );
    // The same as text: file:line, what is wrong, the fix (the same on every backend).
    if dialect == Dialect::Sqlite {
        let (code, out, _) = run(&["check", "--database-url", url, "--mapping", broken]);
        assert_eq!(code, 1);
        assert!(
            out.contains("problems against this") && out.contains("\n    fix: "),
            "{out}"
        );
        assert!(out.contains(&format!("{broken}:")), "{out}");
    }

    // explain: every statement with its parameters apart; the plans with --analyze.
    let (code, out, err) = run(&[
        "explain",
        "--database-url",
        url,
        "Observation?patient=1&code=8867-4&_count=5",
    ]);
    assert_eq!(code, 0, "{name}: explain\n{out}\n{err}");
    // The code looked up in the code map first, then the page.
    assert!(
        out.contains("-- [1] sizes a sub-select") && out.contains("-- [2] the page of matches"),
        "{out}"
    );
    let placeholder = dialect.placeholder(1);
    assert!(
        out.contains(&format!("IN ({placeholder})")),
        "{name}: placeholders of the dialect\n{out}"
    );
    assert!(
        out.contains("--   2: '8867-4'"),
        "{name}: bound values apart\n{out}"
    );
    assert!(
        !out.contains("'8867-4')"),
        "{name}: values are not in the SQL"
    );

    // --plan-only: the same page statement, planned and not run (for a search that sizes no
    // sub-select: planned alone, a lookup stays a sub-select); what depends on the page's
    // rows with its key list as a placeholder; with --analyze, EXPLAIN of the page.
    let query = "Observation?patient=1&status=final&_count=5";
    let (code, out, err) = run(&["explain", "--database-url", url, query]);
    assert_eq!(code, 0, "{name}: explain\n{out}\n{err}");
    let (code, planned, err) = run(&["explain", "--plan-only", "--database-url", url, query]);
    assert_eq!(code, 0, "{name}: explain --plan-only\n{planned}\n{err}");
    assert_eq!(
        statement_block(&planned, "the page of matches"),
        statement_block(&out, "the page of matches"),
        "{name}"
    );
    let (code, out, err) = run(&[
        "explain",
        "--plan-only",
        "--analyze",
        "--format",
        "json",
        "--database-url",
        url,
        "Patient?birthdate=ge1900-01-01&_count=3",
    ]);
    assert_eq!(
        code, 0,
        "{name}: explain --plan-only --analyze\n{out}\n{err}"
    );
    let report = json(&out);
    let statements = report["statements"].as_array().unwrap();
    assert!(
        statements[0]["plan"]
            .as_array()
            .is_some_and(|p| !p.is_empty()),
        "{name}: the page's plan: {report:#}"
    );
    let child = statements
        .iter()
        .find(|s| s["role"].as_str().unwrap().contains("Patient.identifier"))
        .expect("identifier child rows");
    assert!(
        child["sql"]
            .as_str()
            .unwrap()
            .contains("IN (<keys of the page's rows>)"),
        "{name}: {child:#}"
    );
    assert!(statements.iter().all(|s| s.get("rows").is_none()));

    let (code, out, err) = run(&[
        "explain",
        "--database-url",
        url,
        "--analyze",
        "--format",
        "json",
        "Patient/1",
    ]);
    assert_eq!(code, 0, "{name}: explain --analyze\n{out}\n{err}");
    let report = json(&out);
    let statements = report["statements"].as_array().unwrap();
    // One statement: the row and its child tables, each bound the key.
    assert_eq!(
        statements.len(),
        1,
        "{name}: the row and its child tables: {report:#}"
    );
    assert_eq!(
        statements[0]["role"],
        "the resource's row and the rows of its child tables identifier, telecom, address, in one statement"
    );
    assert_eq!(
        statements[0]["params"],
        serde_json::json!(["1", "1", "1", "1"])
    );
    let sql = statements[0]["sql"].as_str().unwrap();
    assert!(
        sql.contains("PAT_IDENT") && sql.contains("PAT_ADDR"),
        "{sql}"
    );
    let child = &statements[0];
    let plan = child["plan"].as_array().expect("a plan").iter();
    let plan: Vec<&str> = plan.map(|l| l.as_str().unwrap()).collect();
    let expected = match dialect {
        Dialect::Sqlite => "PAT_IDENT",
        Dialect::Postgres => "actual time=",
        Dialect::Mysql => "select_type",
    };
    assert!(
        plan.iter().any(|l| l.contains(expected)),
        "{name}: plan {plan:#?}"
    );
    // --plan-only shows the read's one statement as it runs, and nothing after it.
    let role = "the resource's row and the rows of its child tables identifier, telecom, address, in one statement";
    let (code, ran, err) = run(&["explain", "--database-url", url, "Patient/1"]);
    assert_eq!(code, 0, "{name}: explain Patient/1\n{ran}\n{err}");
    let (code, planned, err) = run(&["explain", "--plan-only", "--database-url", url, "Patient/1"]);
    assert_eq!(
        code, 0,
        "{name}: explain --plan-only Patient/1\n{planned}\n{err}"
    );
    assert_eq!(
        statement_block(&planned, role),
        statement_block(&ran, role),
        "{name}"
    );
    assert!(
        planned.contains("1 SQL statement") && !planned.contains("child rows of"),
        "{name}: {planned}"
    );

    // A search on a column without an index reads the whole table: flagged.
    let (code, out, err) = run(&[
        "explain",
        "--database-url",
        url,
        "--analyze",
        "--large-table-rows",
        "5",
        "Patient?death-date=lt1950-01-01",
    ]);
    assert_eq!(code, 0, "{name}: explain --analyze\n{out}\n{err}");
    assert!(
        out.to_ascii_uppercase()
            .contains("-- WARNING: FULL SCAN OF PATIENT ("),
        "{name}: full scan flagged\n{out}"
    );

    if dialect == Dialect::Sqlite {
        let (code, out, err) = run(&[
            "explain",
            "--database-url",
            url,
            "Patient/1/$everything?_count=2",
        ]);
        assert_eq!(code, 0, "{name}: $everything\n{out}\n{err}");
        assert!(
            out.contains("-- [1] the patient's row")
                && out.contains("Statements after the main one depend on"),
            "{out}"
        );

        // A chain's sub-select is sized first (SQLite): said so, then the page that uses it.
        let (code, out, err) = run(&[
            "explain",
            "--database-url",
            url,
            "Observation?patient.family=c&_count=2",
        ]);
        assert_eq!(code, 0, "{name}: a chain\n{out}\n{err}");
        let sizing = out.find("-- [1] sizes a sub-select of a chain");
        let page = out.find("the page of matches");
        assert!(sizing.is_some() && sizing < page, "{out}");

        let (code, out, _) = run(&["explain", "--database-url", url, "Nothing?x=1"]);
        assert_eq!(code, 1, "{name}: an unknown type is refused\n{out}");
        assert!(out.contains("refused: "), "{out}");
    }

    // scaffold: a starter mapping that, its TODOs resolved, passes check. A table with a
    // declared foreign key (the sample declares none) shows that keys are read from the
    // catalog.
    servers::exec(
        url,
        "CREATE TABLE ALLERGY (ALLERGY_ID INTEGER NOT NULL PRIMARY KEY, \
         PATIENT_REF INTEGER NOT NULL REFERENCES PATIENT (PAT_ID), SUBSTANCE VARCHAR(40) NULL)",
    )
    .await;
    let scaffolded = dir.join("scaffold.toml");
    let path = scaffolded.to_str().unwrap();
    let (code, _, err) = run(&["scaffold", "--database-url", url, "--output", path]);
    assert_eq!(code, 0, "{name}: scaffold\n{err}");
    let text = std::fs::read_to_string(&scaffolded).unwrap();
    for expected in [
        "type = \"Patient\"",
        "type = \"Encounter\"",
        "birthDate = { column = ",
        "format = \"%Y%m%d\"",
        "reference = \"Patient\" }",
        "[maps.patient_gender.values]",
        "\"M\" = \"male\"",
        "TODO",
    ] {
        assert!(
            text.contains(expected),
            "{name}: scaffold lacks {expected}:\n{text}"
        );
    }
    let lower = text.to_ascii_lowercase();
    assert!(
        lower.contains("type = \"allergyintolerance\"")
            && lower.contains(
                "patient = { column = \"patient_ref\", reference = \"patient\" }  # todo: a reference to patient (patient), from a declared foreign key"
            ),
        "{name}: the foreign key is a reference:\n{text}"
    );
    // Unsure guesses stay commented out.
    assert!(text.contains("# filter = "), "{text}");
    assert!(text.contains("# \"generalPractitioner[0]\" = "), "{text}");
    // An existing file is not overwritten.
    if dialect == Dialect::Sqlite {
        let (code, _, err) = run(&["scaffold", "--database-url", url, "--output", path]);
        assert_eq!(code, 3, "{name}: {err}");
    }

    let resolved = dir.join("resolved.toml");
    std::fs::write(&resolved, resolve_todos(&text)).unwrap();
    let resolved = resolved.to_str().unwrap();
    let (code, out, err) = run(&["check", "--database-url", url, "--mapping", resolved]);
    assert_eq!(
        code, 0,
        "{name}: the resolved scaffold passes check\n{out}\n{err}"
    );
    // And it serves: a search over what it mapped.
    let (code, out, err) = run(&[
        "explain",
        "--database-url",
        url,
        "--mapping",
        resolved,
        "Encounter?patient=1&_count=3",
    ]);
    assert_eq!(code, 0, "{name}: explain on the scaffold\n{out}\n{err}");
    assert!(out.contains("answer: a Bundle with"), "{out}");
}

#[tokio::test]
async fn tools_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("tools.db").display());
    tools_on(Dialect::Sqlite, &url, dir.path()).await;
}

#[tokio::test]
async fn tools_on_postgres() {
    let Some(url) = servers::fresh_database(Dialect::Postgres, "tools").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    tools_on(Dialect::Postgres, &url, dir.path()).await;
}

#[tokio::test]
async fn tools_on_mysql() {
    let Some(url) = servers::fresh_database(Dialect::Mysql, "tools").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    tools_on(Dialect::Mysql, &url, dir.path()).await;
}

#[test]
fn help_names_every_command_and_exit_codes() {
    let (code, out, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for command in ["serve", "seed", "check", "explain", "scaffold"] {
        assert!(out.contains(command), "{out}");
    }
    for command in ["check", "explain", "scaffold"] {
        let (code, out, _) = run(&[command, "--help"]);
        assert_eq!(code, 0, "{command} --help");
        assert!(out.contains("Exit codes:"), "{command}: {out}");
    }
    let (code, _, _) = run(&["explain"]);
    assert_eq!(code, 2, "usage errors exit 2");
}

/// The statement numbered `role` in an explain text report: its SQL and parameter lines.
fn statement_block(report: &str, role: &str) -> String {
    let start = report
        .find(&format!("] {role}\n"))
        .unwrap_or_else(|| panic!("no statement '{role}' in:\n{report}"));
    let rest = &report[start..];
    let rest = &rest[rest.find('\n').unwrap() + 1..];
    let lines: Vec<&str> = rest
        .lines()
        .take_while(|l| !l.starts_with("-- [") && !l.is_empty())
        .filter(|l| !l.starts_with("-- ") || l.starts_with("--   ") || *l == "-- parameters:")
        .collect();
    lines.join("\n")
}

#[tokio::test]
async fn explain_plan_only_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("plan.db").display());
    seed_database(
        &url,
        &SeedOptions {
            patients: 20,
            ..SeedOptions::default()
        },
    )
    .await
    .expect("seed");
    // In key order (`_sort=_id`): without `_sort`, the page would be in the birth date index's
    // order, and the views below, standing for the tables, have no index.
    let query = "Patient?birthdate=ge1900-01-01&_sort=_id&_count=3&_total=accurate&_revinclude=Observation:patient&_include=Patient:general-practitioner";

    // The running explain and the plan show the same page and count statements.
    let (code, ran, err) = run(&["explain", "--database-url", &url, query]);
    assert_eq!(code, 0, "explain\n{ran}\n{err}");
    let (code, planned, err) = run(&["explain", "--plan-only", "--database-url", &url, query]);
    assert_eq!(code, 0, "explain --plan-only\n{planned}\n{err}");
    for role in ["the page of matches", "the count of matches (_total)"] {
        let page = statement_block(&planned, role);
        assert_eq!(page, statement_block(&ran, role), "{role}");
        let sql = page.lines().next().unwrap();
        assert!(
            sql.contains('?') && !sql.contains("1900"),
            "values apart: {page}"
        );
    }
    // What depends on the page's rows: the key list as a placeholder, and when it runs.
    assert!(
        planned.starts_with(&format!("{query} on SQLite\nplan: ")),
        "{planned}"
    );
    assert!(
        planned.contains("-- [3] child rows of Patient.identifier")
            && planned.contains("IN (<keys of the page's rows>)"),
        "{planned}"
    );
    assert!(
        planned.contains("the Observation resources whose patient refers to the page's Patient")
            && planned.contains("IN (<ids of the page's resources>)"),
        "{planned}"
    );
    assert!(
        planned.contains("the Practitioner resources the page's Patient refer to")
            && planned.contains("IN (<ids the page's resources refer to>)"),
        "{planned}"
    );
    assert!(planned.contains("-- runs: once per page\n"), "{planned}");
    assert!(!planned.contains("8642097531"), "no stand-in key shown");
    assert!(!planned.contains(" row(s) in "), "nothing ran: {planned}");

    // Proof that nothing is read: every table becomes a view that fails on its first row.
    let tables = [
        "DEPT",
        "PROVIDER",
        "PATIENT",
        "PAT_IDENT",
        "PAT_PHONE",
        "PAT_ADDR",
        "VISIT",
        "DIAGNOSIS",
        "LAB_TEST_MAP",
        "LAB_RESULT",
        "VITALS",
        "RX_ORDER",
    ];
    for t in tables {
        servers::exec(&url, &format!("ALTER TABLE {t} RENAME TO {t}_DATA")).await;
        servers::exec(
            &url,
            &format!(
                "CREATE VIEW {t} AS SELECT * FROM {t}_DATA WHERE json(rowid || '{{') IS NOT NULL"
            ),
        )
        .await;
    }
    let (code, out, _) = run(&["explain", "--database-url", &url, query]);
    assert_eq!(code, 1, "reading a row now fails:\n{out}");
    assert!(out.contains("malformed JSON"), "{out}");
    let (code, poisoned, err) = run(&["explain", "--plan-only", "--database-url", &url, query]);
    assert_eq!(code, 0, "{poisoned}\n{err}");
    assert_eq!(poisoned, planned);

    // --analyze: EXPLAIN (not run either) of what is planned whole; JSON too.
    let (code, out, err) = run(&[
        "explain",
        "--plan-only",
        "--analyze",
        "--format",
        "json",
        "--database-url",
        &url,
        query,
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    let report = json(&out);
    let statements = report["statements"].as_array().unwrap();
    let page = statements
        .iter()
        .find(|s| s["role"] == "the page of matches")
        .unwrap();
    assert_eq!(page["runs"], "once per page");
    assert!(
        page.get("rows").is_none() && page.get("millis").is_none(),
        "nothing ran: {page}"
    );
    let plan: Vec<&str> = page["plan"]
        .as_array()
        .expect("a plan")
        .iter()
        .map(|l| l.as_str().unwrap())
        .collect();
    assert!(plan.iter().any(|l| l.contains("PATIENT")), "{plan:#?}");
    let child = statements
        .iter()
        .find(|s| s["role"].as_str().unwrap().starts_with("child rows of"))
        .unwrap();
    assert!(child.get("plan").is_none(), "no plan without keys: {child}");
    assert!(
        child["params"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p == "<keys of the page's rows>"),
        "{child}"
    );
}
