//! Keys of other types than integers and text, as legacy schemas have them: `NUMERIC`/`DECIMAL`
//! columns (Oracle's `NUMBER(10)` migrated as is) and PostgreSQL `uuid` columns. Reads, `_id`,
//! paging (the cursor carries the key as text), child rows (keyed by the parent's key),
//! references and `_include` all compare them as the database does. PostgreSQL has no
//! `numeric = text` nor `uuid = text`: each of these answered 500 there before, and uuid
//! values were read as their 16 raw bytes. And text keys that differ only in case in
//! MySQL/MariaDB's case-insensitive collations: different resources, as FHIR ids are
//! case-sensitive.

use std::collections::BTreeSet;

use fhir_facade::sql::Dialect;

use crate::expect::walk;
use crate::helpers::{Backend, settings, spawn_with};
use crate::servers;

const SCHEMA: &[&str] = &[
    "CREATE TABLE NK_PAT (PAT_NO NUMERIC(10) NOT NULL PRIMARY KEY, FAMILY VARCHAR(30) NOT NULL)",
    "CREATE TABLE NK_PHONE (PAT_NO NUMERIC(10) NOT NULL, SEQ INTEGER NOT NULL, PHONE VARCHAR(20) NOT NULL, PRIMARY KEY (PAT_NO, SEQ))",
    "CREATE TABLE NK_OBS (OBS_NO DECIMAL(12,0) NOT NULL PRIMARY KEY, PAT_NO NUMERIC(10) NOT NULL, CODE VARCHAR(10) NOT NULL)",
];

const MAPPING: &str = r#"
[[resource]]
type = "Patient"
table = "NK_PAT"
id = "PAT_NO"
[resource.elements]
"name[0].family" = "FAMILY"

[[resource.child]]
path = "telecom"
table = "NK_PHONE"
key = "PAT_NO"
order_by = "SEQ DESC"
[resource.child.elements]
system = { constant = "phone" }
value = "PHONE"

[resource.search]
_id = true
family = true

[[resource]]
type = "Observation"
table = "NK_OBS"
id = "OBS_NO"
[resource.elements]
status = { constant = "final" }
"code.coding[0].system" = { constant = "http://loinc.org" }
"code.coding[0].code" = "CODE"
subject = { column = "PAT_NO", reference = "Patient" }

[resource.search]
_id = true
patient = true
code = true
"#;

const PATIENTS: i64 = 23;

/// The schema and rows, on a database of its own per backend.
async fn database(dialect: Dialect) -> Option<String> {
    let url = match dialect {
        Dialect::Sqlite => {
            let dir = tempfile::tempdir().expect("temp dir").keep();
            format!("sqlite:{}", dir.join("numeric_keys.db").display())
        }
        _ => servers::fresh_database(dialect, "fhir_facade_numeric_keys").await?,
    };
    let mut statements: Vec<String> = SCHEMA.iter().map(|s| s.to_string()).collect();
    for p in 1..=PATIENTS {
        statements.push(format!(
            "INSERT INTO NK_PAT (PAT_NO, FAMILY) VALUES ({p}, 'Family{p}')"
        ));
        statements.push(format!(
            "INSERT INTO NK_PHONE (PAT_NO, SEQ, PHONE) VALUES ({p}, 1, '555-{p}-1'), ({p}, 2, '555-{p}-2')"
        ));
        statements.push(format!(
            "INSERT INTO NK_OBS (OBS_NO, PAT_NO, CODE) VALUES ({}, {p}, 'A'), ({}, {p}, 'B')",
            1000 + 2 * p,
            1001 + 2 * p
        ));
    }
    for s in statements {
        servers::exec(&url, &s).await;
    }
    Some(url)
}

fn mapping_file() -> tempfile::TempPath {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), MAPPING).unwrap();
    file.into_temp_path()
}

#[tokio::test]
async fn numeric_keys_are_compared_as_numbers() {
    let file = mapping_file();
    for dialect in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
        let Some(url) = database(dialect).await else {
            continue;
        };
        let backend = Backend { dialect, url };
        let mut s = settings(&backend.url, file.to_str().unwrap());
        s.cursor_secret = Some("numeric keys".into());
        let app = spawn_with(&backend, s).await;

        // A read, with its child rows (keyed by the NUMERIC key).
        let p = app.resource("Patient/7").await;
        assert_eq!(p["id"], "7", "{dialect}");
        assert_eq!(p["name"][0]["family"], "Family7", "{dialect}");
        let phones: Vec<&str> = p["telecom"]
            .as_array()
            .unwrap_or_else(|| panic!("{dialect}: {p}"))
            .iter()
            .map(|t| t["value"].as_str().unwrap())
            .collect();
        assert_eq!(phones, ["555-7-2", "555-7-1"], "{dialect}");
        // Text that is no number names no row.
        for id in ["abc", "7x", "99"] {
            let (status, body) = app.get(&format!("Patient/{id}")).await;
            assert_eq!(status, 404, "{dialect}: Patient/{id}: {body}");
            assert_eq!(body["resourceType"], "OperationOutcome", "{dialect}");
        }

        // Every page (the cursor carries the last key), each patient once, with its phones.
        let (ids, _) = walk(&app, "Patient?_count=4").await;
        let want: Vec<String> = (1..=PATIENTS).map(|p| format!("Patient/{p}")).collect();
        let mut sorted = ids.clone();
        sorted.sort_by_key(|id| id[8..].parse::<i64>().unwrap());
        assert_eq!(sorted, want, "{dialect}: {ids:?}");
        let (status, page) = app.get("Patient?family=family1&_count=20").await;
        assert_eq!(status, 200, "{dialect}: {page}");
        for e in page["entry"].as_array().unwrap() {
            assert_eq!(
                e["resource"]["telecom"].as_array().map(Vec::len),
                Some(2),
                "{dialect}: {e}"
            );
        }

        // _id, a reference search and _include through NUMERIC columns.
        let (ids, _) = walk(&app, "Patient?_id=3,12,abc").await;
        assert_eq!(ids, ["Patient/3", "Patient/12"], "{dialect}");
        let (obs, patients) = walk(
            &app,
            "Observation?patient=Patient/5&_include=Observation:patient",
        )
        .await;
        assert_eq!(obs, ["Observation/1010", "Observation/1011"], "{dialect}");
        assert_eq!(
            patients,
            BTreeSet::from(["Patient/5".to_string()]),
            "{dialect}"
        );
        let (obs, _) = walk(&app, "Observation?patient=Patient/abc").await;
        assert!(obs.is_empty(), "{dialect}: {obs:?}");
        let o = app.resource("Observation/1047").await;
        assert_eq!(o["subject"]["reference"], "Patient/23", "{dialect}");
    }
}

const UUID_MAPPING: &str = r#"
[[resource]]
type = "Patient"
table = "UK_PAT"
id = "PAT_UID"
[resource.elements]
"name[0].family" = "FAMILY"

[[resource.child]]
path = "telecom"
table = "UK_PHONE"
key = "PAT_UID"
order_by = "SEQ"
[resource.child.elements]
system = { constant = "phone" }
value = "PHONE"

[resource.search]
_id = true
family = true
"#;

fn uuid_of(p: i64) -> String {
    format!("0c9d{p:04x}-aaaa-4bbb-8ccc-{p:012x}")
}

#[tokio::test]
async fn uuid_keys_on_postgres() {
    let Some(url) = servers::fresh_database(Dialect::Postgres, "fhir_facade_uuid_keys").await
    else {
        return;
    };
    servers::exec(
        &url,
        "CREATE TABLE UK_PAT (PAT_UID UUID PRIMARY KEY, FAMILY VARCHAR(30) NOT NULL)",
    )
    .await;
    servers::exec(&url, "CREATE TABLE UK_PHONE (PAT_UID UUID NOT NULL, SEQ INTEGER NOT NULL, PHONE VARCHAR(20) NOT NULL, PRIMARY KEY (PAT_UID, SEQ))").await;
    for p in 1..=PATIENTS {
        let u = uuid_of(p);
        servers::exec(
            &url,
            &format!("INSERT INTO UK_PAT VALUES ('{u}', 'Family{p}')"),
        )
        .await;
        servers::exec(
            &url,
            &format!("INSERT INTO UK_PHONE VALUES ('{u}', 1, '555-{p}')"),
        )
        .await;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), UUID_MAPPING).unwrap();
    let backend = Backend {
        dialect: Dialect::Postgres,
        url,
    };
    let mut s = settings(&backend.url, file.path().to_str().unwrap());
    s.cursor_secret = Some("uuid keys".into());
    let app = spawn_with(&backend, s).await;

    let id = uuid_of(7);
    let p = app.resource(&format!("Patient/{id}")).await;
    assert_eq!(p["id"], id.as_str());
    assert_eq!(p["telecom"][0]["value"], "555-7");
    for other in ["abc".to_string(), id.to_uppercase(), format!("{id}0")] {
        let (status, body) = app.get(&format!("Patient/{other}")).await;
        assert_eq!(status, 404, "Patient/{other}: {body}");
    }
    let (ids, _) = walk(&app, "Patient?_count=4").await;
    let mut want: Vec<String> = (1..=PATIENTS)
        .map(|p| format!("Patient/{}", uuid_of(p)))
        .collect();
    want.sort();
    assert_eq!(ids, want, "every page, in key order");
    let (ids, _) = walk(
        &app,
        &format!("Patient?_id={},abc,{}", uuid_of(3), uuid_of(12)),
    )
    .await;
    assert_eq!(
        ids,
        [
            format!("Patient/{}", uuid_of(3)),
            format!("Patient/{}", uuid_of(12))
        ]
    );
    let (status, page) = app.get("Patient?family=family2&_count=20").await;
    assert_eq!(status, 200, "{page}");
    let entries = page["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 5, "Family2, Family20-23: {page}");
    for e in entries {
        assert_eq!(
            e["resource"]["telecom"].as_array().map(Vec::len),
            Some(1),
            "{e}"
        );
    }
}

const CASE_MAPPING: &str = r#"
[[resource]]
type = "Patient"
table = "CI_PAT"
id = "CODE"
[resource.elements]
"name[0].family" = "FAMILY"

[[resource.child]]
path = "telecom"
table = "CI_PHONE"
key = "CODE"
order_by = "SEQ"
[resource.child.elements]
value = "PHONE"

[resource.search]
_id = true
family = true

[[resource]]
type = "Observation"
table = "CI_OBS"
id = "OBS_ID"
[resource.elements]
status = { constant = "final" }
"code.text" = { constant = "weight" }
subject = { column = "PAT_CODE", reference = "Patient" }

[resource.search]
_id = true
patient = true
"#;

/// Ids that differ only in case, in MySQL/MariaDB's usual case-insensitive collation: FHIR
/// ids are case-sensitive, so `_id`, references, `_include`, and chains and `_has` whose keys
/// are listed name one row, not both.
#[tokio::test]
async fn ids_that_differ_in_case_are_different_resources_on_mysql() {
    let Some(url) = servers::fresh_database(Dialect::Mysql, "fhir_facade_case_ids").await else {
        return;
    };
    for sql in [
        "CREATE TABLE CI_PAT (CODE VARCHAR(10) NOT NULL, FAMILY VARCHAR(20) NOT NULL, KEY (CODE)) COLLATE utf8mb4_general_ci",
        "CREATE TABLE CI_PHONE (CODE VARCHAR(10) NOT NULL, SEQ INT NOT NULL, PHONE VARCHAR(20) NOT NULL) COLLATE utf8mb4_general_ci",
        "CREATE TABLE CI_OBS (OBS_ID INT NOT NULL PRIMARY KEY, PAT_CODE VARCHAR(10) NOT NULL) COLLATE utf8mb4_general_ci",
        // A key with a trailing blank, as legacy rows have them: its id is `pad`.
        "INSERT INTO CI_PAT VALUES ('abc', 'Lower'), ('ABC', 'Upper'), ('x1', 'Other'), ('pad ', 'Padded')",
        "INSERT INTO CI_PHONE VALUES ('abc', 1, '111'), ('ABC', 1, '222'), ('abc', 2, '333')",
        "INSERT INTO CI_OBS VALUES (1, 'abc'), (2, 'ABC'), (3, 'abc'), (4, 'pad')",
        "INSERT INTO CI_PAT VALUES ('m7', 'Many'), ('M7', 'Few')",
        "INSERT INTO CI_OBS VALUES (5, 'M7'), (107, 'm7')",
    ] {
        servers::exec(&url, sql).await;
    }
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), CASE_MAPPING).unwrap();
    let backend = Backend {
        dialect: Dialect::Mysql,
        url,
    };
    let app = spawn_with(
        &backend,
        settings(&backend.url, file.path().to_str().unwrap()),
    )
    .await;

    for (id, family, phones) in [
        ("abc", "Lower", vec!["111", "333"]),
        ("ABC", "Upper", vec!["222"]),
    ] {
        let p = app.resource(&format!("Patient/{id}")).await;
        assert_eq!(p["name"][0]["family"], family);
        let got: Vec<&str> = p["telecom"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["value"].as_str().unwrap())
            .collect();
        assert_eq!(got, phones, "Patient/{id}");
        let (ids, _) = walk(&app, &format!("Patient?_id={id}")).await;
        assert_eq!(ids, [format!("Patient/{id}")]);
    }
    let (status, _) = app.get("Patient/Abc").await;
    assert_eq!(status, 404);
    let (ids, _) = walk(&app, "Patient?_id=Abc").await;
    assert!(ids.is_empty(), "{ids:?}");
    let (ids, _) = walk(&app, "Patient?_id=abc,x1").await;
    assert_eq!(ids, ["Patient/abc", "Patient/x1"]);
    let (ids, _) = walk(&app, "Patient?_id=pad").await;
    assert_eq!(ids, ["Patient/pad"]);
    assert_eq!(
        app.resource("Patient/pad").await["name"][0]["family"],
        "Padded"
    );
    let (obs, patients) = walk(&app, "Observation?patient=pad&_include=Observation:patient").await;
    assert_eq!(obs, ["Observation/4"]);
    assert_eq!(patients, BTreeSet::from(["Patient/pad".to_string()]));

    let (obs, patients) = walk(
        &app,
        "Observation?patient=Patient/abc&_include=Observation:patient",
    )
    .await;
    assert_eq!(obs, ["Observation/1", "Observation/3"]);
    assert_eq!(patients, BTreeSet::from(["Patient/abc".to_string()]));
    let (obs, patients) = walk(&app, "Observation?patient=ABC&_include=Observation:patient").await;
    assert_eq!(obs, ["Observation/2"]);
    assert_eq!(patients, BTreeSet::from(["Patient/ABC".to_string()]));

    // Chains and _has whose few keys are listed: exact.
    let (obs, _) = walk(&app, "Observation?patient.family=Lower").await;
    assert_eq!(obs, ["Observation/1", "Observation/3"]);
    let (obs, _) = walk(&app, "Observation?patient.family=Upper").await;
    assert_eq!(obs, ["Observation/2"]);
    let (obs, _) = walk(&app, "Observation?patient.family=Few").await;
    assert_eq!(obs, ["Observation/5"]);
    let (obs, _) = walk(&app, "Observation?patient.family=Many").await;
    assert_eq!(obs, ["Observation/107"]);
    let (patients, _) = walk(&app, "Patient?_has:Observation:patient:_id=2").await;
    assert_eq!(patients, ["Patient/ABC"]);
    let (patients, _) = walk(&app, "Patient?_has:Observation:patient:_id=5").await;
    assert_eq!(patients, ["Patient/M7"]);
}
