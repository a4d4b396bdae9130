//! Accent-insensitive string search where the database allows it: PostgreSQL with the
//! `unaccent` extension (and with the IMMUTABLE wrapper the docs suggest for indexes),
//! MySQL/MariaDB through their usual `_ci` collations; accents match exactly on PostgreSQL
//! without the extension and on SQLite.
//!
//! Each backend gets a small database of its own (8 patients) whose family names are all set
//! here, so the expected matches are known by construction.

use std::collections::BTreeSet;

use fhir_facade::sql::Accents;
use fhir_facade::sql::Dialect;
use serde_json::Value;

use crate::helpers::{Backend, MAPPING, TestApp, settings, spawn_with};
use crate::servers::{exec, fresh_database, in_ci};

/// PAT_ID → LAST_NM of every patient of the accent databases.
const NAMES: [(u32, &str); 8] = [
    (1, "CHALMERS"),
    (2, "GARCÍA"),
    (3, "GARCIA"),
    (4, "MÜLLER"),
    (5, "ŁUKASZEWICZ"),
    (6, "LÉVÊQUE"),
    (7, "LEVY"),
    (8, "MULLINS"),
];

/// What the database can do about accents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// SQLite: exact, and its LOWER() folds ASCII letters only.
    Sqlite,
    /// PostgreSQL without unaccent: exact.
    PgExact,
    /// PostgreSQL with unaccent (or its wrapper): insensitive.
    PgUnaccent,
    /// MariaDB/MySQL with a `_ci` collation: insensitive for letters with diacritics.
    MysqlCi,
}

/// Seeds the database at `url` with as many patients as `names` has, sets their family names
/// (`PAT_ID`, `LAST_NM`), and runs `extra`.
pub(crate) async fn prepare_names(url: &str, names: &[(u32, &str)], extra: &[&str]) {
    fhir_facade::seed::seed_database(
        url,
        &fhir_facade::seed::SeedOptions {
            patients: names.len() as u32,
            ..Default::default()
        },
    )
    .await
    .expect("seed");
    for (id, name) in names {
        let name = name.replace('\'', "''");
        exec(
            url,
            &format!("UPDATE PATIENT SET LAST_NM = '{name}', DEL_FLG = 'N' WHERE PAT_ID = {id}"),
        )
        .await;
    }
    for sql in extra {
        exec(url, sql).await;
    }
}

async fn prepare(url: &str, extra: &[&str]) {
    prepare_names(url, &NAMES, extra).await;
}

/// Whether the `unaccent` extension can be created on the PostgreSQL server.
pub(crate) async fn unaccent_available(url: &str) -> bool {
    let mut conn = fhir_facade::db::admin::Conn::open(url)
        .await
        .expect("connect");
    let ok = conn
        .exec("DO $$ BEGIN PERFORM 1 FROM pg_available_extensions WHERE name = 'unaccent'; IF NOT FOUND THEN RAISE EXCEPTION 'no unaccent'; END IF; END $$")
        .await
        .is_ok();
    conn.close().await.ok();
    ok
}

/// What the start-up probe finds on the database at `url`.
pub(crate) async fn probe(url: &str) -> Accents {
    let db = fhir_facade::db::Database::connect(&settings(url, MAPPING).db)
        .await
        .expect("connect");
    db.probe_accents().await
}

pub(crate) const WRAPPER: &str = "CREATE FUNCTION fhir_facade_unaccent(text) RETURNS text \
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT \
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$";

/// A server over each accent database that can be had here.
async fn apps() -> Vec<(Kind, TestApp)> {
    let mut out = Vec::new();
    let dir = tempfile::tempdir().unwrap().keep();
    let sqlite = format!("sqlite:{}", dir.join("accents.db").display());
    prepare(&sqlite, &[]).await;
    out.push((Kind::Sqlite, Dialect::Sqlite, sqlite));

    if let Some(url) = fresh_database(Dialect::Postgres, "fhir_facade_accents").await {
        prepare(&url, &[]).await;
        assert_eq!(probe(&url).await, Accents::AsStored);
        out.push((Kind::PgExact, Dialect::Postgres, url.clone()));
        if unaccent_available(&url).await {
            let ext = "CREATE EXTENSION IF NOT EXISTS unaccent";
            let url = fresh_database(Dialect::Postgres, "fhir_facade_accents_ua")
                .await
                .unwrap();
            prepare(&url, &[ext]).await;
            assert_eq!(probe(&url).await, Accents::Unaccent("unaccent".into()));
            out.push((Kind::PgUnaccent, Dialect::Postgres, url));
            let url = fresh_database(Dialect::Postgres, "fhir_facade_accents_ix")
                .await
                .unwrap();
            let index = "CREATE INDEX ix_patient_last_nm_unaccent \
                         ON PATIENT ((fhir_facade_unaccent(LOWER(LAST_NM)) COLLATE \"C\"))";
            prepare(&url, &[ext, WRAPPER, index]).await;
            // The wrapper is preferred, so that the index can serve the searches.
            assert_eq!(
                probe(&url).await,
                Accents::Unaccent("fhir_facade_unaccent".into())
            );
            out.push((Kind::PgUnaccent, Dialect::Postgres, url));
        } else {
            assert!(
                !in_ci(),
                "CI=true: PostgreSQL has no unaccent extension (contrib)"
            );
            eprintln!("NOTICE: skipping the PostgreSQL unaccent tests: extension not available");
        }
    }
    if let Some(url) = fresh_database(Dialect::Mysql, "fhir_facade_accents").await {
        prepare(&url, &[]).await;
        assert_eq!(probe(&url).await, Accents::AsStored);
        out.push((Kind::MysqlCi, Dialect::Mysql, url));
    }

    let mut apps = Vec::new();
    for (kind, dialect, url) in out {
        let backend = Backend { dialect, url };
        apps.push((
            kind,
            spawn_with(&backend, settings(&backend.url, MAPPING)).await,
        ));
    }
    apps
}

pub(crate) async fn ids(app: &TestApp, query: &str) -> BTreeSet<u32> {
    let url = reqwest::Url::parse_with_params(
        &format!("{}/Patient", app.base),
        form_urlencoded::parse(query.as_bytes()).chain([("_count".into(), "100".into())]),
    )
    .unwrap();
    let res = app.client.get(url).send().await.unwrap();
    assert_eq!(res.status(), 200, "{}: {query}", app.dialect);
    let b: Value = res.json().await.unwrap();
    b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"]["id"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test]
async fn string_search_ignores_accents_where_the_database_can() {
    for (kind, app) in apps().await {
        let check = async |query: &str, want: &[u32]| {
            let got = ids(&app, query).await;
            assert_eq!(
                got,
                want.iter().copied().collect(),
                "{kind:?} ({}): {query}",
                app.dialect
            );
        };
        // Everywhere: exact matches, case-insensitive ASCII, :exact keeps accents and case.
        check("family=chalm", &[1]).await;
        check("family:exact=GARCÍA", &[2]).await;
        check("family:exact=García", &[]).await;
        check("family=zz", &[]).await;
        match kind {
            Kind::PgUnaccent => {
                check("family=garcia", &[2, 3]).await;
                check("family=GARCÍA", &[2, 3]).await;
                check("family=Garcí", &[2, 3]).await;
                check("family=mul", &[4, 8]).await;
                check("family=MÜL", &[4, 8]).await;
                check("family=mu\u{308}l", &[4, 8]).await; // decomposed ü
                check("family=luk", &[5]).await;
                check("family=łuk", &[5]).await;
                check("family=Ł", &[5, 6, 7]).await; // unaccent() makes it l
                check("family=lev", &[6, 7]).await;
                check("family=lévê", &[6]).await;
                check("family:contains=VEQ", &[6]).await;
                check("family:contains=vêq", &[6]).await;
                check("family:contains=kasz", &[5]).await;
            }
            Kind::PgExact => {
                check("family=garcia", &[3]).await;
                check("family=GARCÍA", &[2]).await;
                check("family=mul", &[8]).await;
                check("family=mül", &[4]).await;
                check("family=mu\u{308}l", &[4]).await; // composed before comparing
                check("family=luk", &[]).await;
                check("family=łuk", &[5]).await;
                check("family=lev", &[7]).await;
                check("family:contains=VÊQ", &[6]).await;
            }
            Kind::Sqlite => {
                check("family=garcia", &[3]).await;
                // LOWER() folds ASCII letters only: 'GARCÍA' is 'garcÍa'.
                check("family=garcí", &[]).await;
                check("family=garcÍ", &[2]).await;
                check("family=GARCÍ", &[2]).await;
                check("family=mul", &[8]).await;
                check("family=MÜL", &[4]).await;
                check("family=lev", &[7]).await;
                check("family:contains=ÊQ", &[6]).await;
                check("family:contains=êq", &[]).await;
            }
            Kind::MysqlCi => {
                check("family=garcia", &[2, 3]).await;
                check("family=GARCÍA", &[2, 3]).await;
                check("family=mul", &[4, 8]).await;
                check("family=MÜL", &[4, 8]).await;
                check("family=lev", &[6, 7]).await;
                check("family=lévê", &[6]).await;
                check("family:contains=vêq", &[6]).await;
                check("family=łuk", &[5]).await;
            }
        }
    }
}
