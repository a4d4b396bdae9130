//! PostgreSQL column types the façade does not decode as values, read and compared through
//! their text form (`CAST(x AS text)`), as legacy schemas have them: enums (a status, a sex),
//! `jsonb`, `interval`, `inet`, arrays. They were refused at start-up ("has type ..., which the
//! façade cannot read"); an enum compared with a bound text value would have been a 500
//! (`operator does not exist: pt_sex = text`).

use fhir_facade::sql::Dialect;

use crate::expect::walk;
use crate::helpers::{Backend, refused, settings, spawn_with};
use crate::servers;

const SCHEMA: &[&str] = &[
    "CREATE TYPE pt_sex AS ENUM ('M', 'F', 'U')",
    "CREATE TYPE pt_state AS ENUM ('prelim', 'final', 'amended')",
    "CREATE TABLE PT_PAT (PAT_ID INTEGER PRIMARY KEY, FAMILY VARCHAR(30) NOT NULL, SEX pt_sex, PREFS JSONB, TAGS TEXT[], LAST_IP INET)",
    "CREATE TABLE PT_OBS (OBS_ID INTEGER PRIMARY KEY, PAT_ID INTEGER NOT NULL, STATE pt_state NOT NULL, WAITED INTERVAL)",
];

const MAPPING: &str = r#"
[maps.sex]
values = { M = "male", F = "female", U = "unknown" }

[maps.state]
values = { prelim = "preliminary", final = "final", amended = "amended" }

[[resource]]
type = "Patient"
table = "PT_PAT"
id = "PAT_ID"
[resource.elements]
"name[0].family" = "FAMILY"
gender = { column = "SEX", map = "sex" }
"name[0].text" = "PREFS"
"name[0].given[0]" = "TAGS"
"address[0].text" = { expr = "LAST_IP" }

[resource.search]
_id = true
gender = true
family = true
address = true

[[resource]]
type = "Observation"
table = "PT_OBS"
id = "OBS_ID"
[resource.elements]
status = { column = "STATE", map = "state" }
"code.text" = { expr = "STATE" }
"valueString" = "WAITED"
subject = { column = "PAT_ID", reference = "Patient" }

[resource.search]
status = true
patient = true
value-string = true
"#;

const PATIENTS: i64 = 12;

#[tokio::test]
async fn types_without_a_decoder_are_read_and_searched_as_text_on_postgres() {
    let Some(url) = servers::fresh_database(Dialect::Postgres, "fhir_facade_pg_types").await else {
        return;
    };
    for s in SCHEMA {
        servers::exec(&url, s).await;
    }
    for p in 1..=PATIENTS {
        let sex = ["M", "F", "U"][(p % 3) as usize];
        servers::exec(
            &url,
            &format!(
                "INSERT INTO PT_PAT VALUES ({p}, 'Family{p}', '{sex}', '{{\"lang\": \"nl\", \"n\": {p}}}', ARRAY['t{p}', 'x'], '10.0.0.{p}')"
            ),
        )
        .await;
        let state = ["prelim", "final", "amended"][(p % 3) as usize];
        servers::exec(
            &url,
            &format!(
                "INSERT INTO PT_OBS VALUES ({p}, {p}, '{state}', INTERVAL '{p} days 2 hours')"
            ),
        )
        .await;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), MAPPING).unwrap();
    let backend = Backend {
        dialect: Dialect::Postgres,
        url,
    };
    let app = spawn_with(
        &backend,
        settings(&backend.url, file.path().to_str().unwrap()),
    )
    .await;

    // Read: every value as PostgreSQL writes it.
    let p = app.resource("Patient/4").await;
    assert_eq!(p["gender"], "female", "{p}");
    assert_eq!(p["name"][0]["text"], r#"{"n": 4, "lang": "nl"}"#, "{p}");
    assert_eq!(p["name"][0]["given"][0], "{t4,x}", "{p}");
    assert_eq!(p["address"][0]["text"], "10.0.0.4/32", "{p}");
    let o = app.resource("Observation/5").await;
    assert_eq!(o["status"], "amended", "{o}");
    assert_eq!(o["code"]["text"], "amended", "{o}");
    assert_eq!(o["valueString"], "5 days 02:00:00", "{o}");

    // An enum through a value map, searched in reverse (the legacy code bound as text).
    let (ids, _) = walk(&app, "Patient?gender=female&_count=2").await;
    let want: Vec<String> = (1..=PATIENTS)
        .filter(|p| p % 3 == 1)
        .map(|p| format!("Patient/{p}"))
        .collect();
    assert_eq!(ids, want);
    let (ids, _) = walk(&app, "Observation?status=preliminary,amended&_count=3").await;
    let mut want: Vec<String> = (1..=PATIENTS)
        .filter(|p| p % 3 != 1)
        .map(|p| format!("Observation/{p}"))
        .collect();
    want.sort();
    let mut ids = ids;
    ids.sort();
    assert_eq!(ids, want);
    // A value no label has matches nothing (no cast of it to the enum that could fail).
    let (status, page) = app.get("Observation?status=cancelled").await;
    assert_eq!(status, 200, "{page}");
    assert!(page.get("entry").is_none(), "{page}");

    // String searches on their text.
    let (ids, _) = walk(&app, "Observation?value-string=1%20day").await;
    assert_eq!(ids, ["Observation/1"]);
    let (ids, _) = walk(&app, "Patient?address=10.0.0.1").await;
    assert_eq!(
        ids,
        ["Patient/1", "Patient/10", "Patient/11", "Patient/12"],
        "a prefix of the address text"
    );

    // Sorted by an enum's text form, then paged: every row once.
    let (ids, _) = walk(&app, "Observation?_sort=status&_count=5").await;
    assert_eq!(ids.len(), PATIENTS as usize, "{ids:?}");

    // The index advice does not offer an index on the column, which would not serve.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fhir-facade"))
        .args(["check", "--database-url", &backend.url, "--mapping"])
        .arg(file.path())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run fhir-facade check");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{report}");
    for (param, column) in [
        ("Patient?gender=", "column sex (pt_sex)"),
        ("Observation?value-string=", "column waited (INTERVAL)"),
    ] {
        let line = report
            .lines()
            .find(|l| l.contains(param))
            .unwrap_or_else(|| panic!("{param}:\n{report}"));
        assert!(
            line.contains(&format!("{column} is compared through its text form")),
            "{line}"
        );
    }
    assert!(!report.contains("ON pt_pat (sex)"), "{report}");
}

/// What the text form cannot be: a number or a date PostgreSQL writes as no FHIR value
/// (`money`, `interval`), and text searched as a date without its format (PostgreSQL has no
/// `text >= timestamp`). Each was a 500 on every search (and an element left out of every
/// resource); now refused at start-up, with the line and the fix.
#[tokio::test]
async fn what_the_text_form_cannot_fill_is_refused_at_start_up() {
    let Some(url) = servers::fresh_database(Dialect::Postgres, "fhir_facade_pg_misfits").await
    else {
        return;
    };
    servers::exec(
        &url,
        "CREATE TABLE PM_OBS (OBS_ID INTEGER PRIMARY KEY, AMOUNT MONEY, WAITED INTERVAL, TAKEN VARCHAR(20), TAKEN8 CHAR(8), NOTE JSONB)",
    )
    .await;
    let mapping = r#"[[resource]]
type = "Observation"
table = "PM_OBS"
id = "OBS_ID"
[resource.elements]
status = { constant = "final" }
"code.text" = "NOTE"
"valueQuantity.value" = "AMOUNT"
"effectivePeriod.start" = "WAITED"
"effectivePeriod.end" = "TAKEN"
issued = { column = "TAKEN8", format = "%Y%m%d" }
[resource.search]
date = true
value-quantity = true
"#;
    let msg = refused(&url, mapping).await;
    // Each problem: ":line N: <entry>: <message>", its fix on the next line.
    let problem = |line: usize| -> &str {
        let at = msg
            .find(&format!(":line {line}:"))
            .unwrap_or_else(|| panic!("no problem at line {line}:\n{msg}"));
        let rest = &msg[at + 1..];
        &rest[..rest.find(":line ").unwrap_or(rest.len())]
    };
    for (line, needles) in [
        (
            8,
            [
                "the database's type MONEY has no decimal value",
                "CAST(amount AS NUMERIC)",
            ],
        ),
        (
            9,
            [
                "the database's type INTERVAL has no dateTime value",
                "CAST(waited AS TIMESTAMP)",
            ],
        ),
        (
            10,
            [
                "searched by 'date' as a date, but the database holds text",
                "format = \"%Y-%m-%d\"",
            ],
        ),
    ] {
        for needle in needles {
            assert!(
                problem(line).contains(needle),
                "line {line}: {needle}\n{msg}"
            );
        }
    }
    assert_eq!(
        msg.matches(":line ").count(),
        3,
        "NOTE, TAKEN8: fine\n{msg}"
    );
}

/// A `last_updated` held as text on PostgreSQL: `_lastUpdated` compared it with a timestamp
/// (`text >= timestamp`, a 500 on every such search); refused at start-up.
#[tokio::test]
async fn a_text_last_updated_is_refused_at_start_up() {
    let Some(url) = servers::fresh_database(Dialect::Postgres, "fhir_facade_pg_text_lu").await
    else {
        return;
    };
    servers::exec(
        &url,
        "CREATE TABLE PL_OBS (OBS_ID INTEGER PRIMARY KEY, CHANGED VARCHAR(30))",
    )
    .await;
    let mapping = r#"[[resource]]
type = "Observation"
table = "PL_OBS"
id = "OBS_ID"
last_updated = "CHANGED"
[resource.elements]
status = { constant = "final" }
"code.text" = { constant = "x" }
[resource.search]
_lastUpdated = true
"#;
    let msg = refused(&url, mapping).await;
    assert!(
        msg.contains(":line 1: resource \"Observation\" (Observation), last_updated: the database holds text there"),
        "{msg}"
    );
    assert!(msg.contains("CAST(COL AS TIMESTAMP)"), "{msg}");
}
