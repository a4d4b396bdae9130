//! Query plans: the page statement of a search as the server would plan it, and the database's
//! own EXPLAIN of a statement (for the tests that check which index serves a search).

use std::time::Duration;

use fhir_facade::db::{Database, DbSettings};
use fhir_facade::mapping::Mapping;
use fhir_facade::plan::search::{Branch, Context, Keyset, effective_sort, page_query, sort_values};
use fhir_facade::request::search::SearchRequest;
use fhir_facade::sql::Accents;
use fhir_facade::sql::Dialect;
use fhir_facade::sql::Statement;
use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::helpers::MAPPING;

/// The sample mapping checked against the database at `url`, and how that database treats
/// accents (as the server finds at start-up).
pub async fn checked_mapping(url: &str, dialect: Dialect) -> (Mapping, Accents) {
    let db = Database::connect(&DbSettings {
        url: url.to_string(),
        replicas: vec![],
        max_connections: 1,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    let mut m = fhir_facade::mapping::load(MAPPING, dialect).unwrap();
    fhir_facade::startup::check_against_database(MAPPING, &mut m, &db)
        .await
        .unwrap();
    let accents = db.probe_accents().await;
    (m, accents)
}

/// The page statement of a search of `resource` (first source) with `params` on the
/// database at `url`, after `after` when given.
pub async fn page_statement(
    url: &str,
    dialect: Dialect,
    resource: &str,
    params: &[(&str, &str)],
    after: Option<&Keyset>,
) -> Statement {
    let (m, accents) = checked_mapping(url, dialect).await;
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let req = SearchRequest::parse(&m, resource, &params, false, 1000, 3).unwrap();
    let source = m.sources_of(resource).next().unwrap();
    let cx = || Context {
        source,
        dialect,
        tz: m.timezone,
        base_url: "http://localhost/fhir",
        mapping: &m,
        accents: &accents,
    };
    let (sort, key_desc) = sort_values(&cx(), &req.sort).unwrap();
    let branches = [Branch { cx: cx(), sort }];
    page_query(
        &branches,
        effective_sort(&req.sort),
        key_desc,
        &req.filters,
        after,
        21,
    )
    .unwrap()
    .statement
}

/// The plan of `stmt` on the database at `url`, one line per plan node (SQLite: `id parent
/// detail`). PostgreSQL plans with sequential scans disabled (and bitmap scans too with
/// `no_bitmap`): on the small sample it would rather read the whole table, and the test is
/// whether an index can serve the statement at all.
pub async fn explain(url: &str, dialect: Dialect, stmt: &Statement, no_bitmap: bool) -> String {
    let values = || SqlxValues(sea_query::Values(stmt.params.clone()));
    match dialect {
        Dialect::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            let sql = format!("EXPLAIN QUERY PLAN {}", stmt.sql);
            sqlx::query_with(AssertSqlSafe(sql), values())
                .fetch_all(&mut c)
                .await
                .unwrap()
                .iter()
                .map(|r| {
                    format!(
                        "{} {} {}",
                        r.get::<i64, _>(0),
                        r.get::<i64, _>(1),
                        r.get::<String, _>(3)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }
        Dialect::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut c)
                .await
                .unwrap();
            if no_bitmap {
                sqlx::query("SET enable_bitmapscan = off")
                    .execute(&mut c)
                    .await
                    .unwrap();
            }
            let sql = format!("EXPLAIN {}", stmt.sql);
            sqlx::query_with(AssertSqlSafe(sql), values())
                .fetch_all(&mut c)
                .await
                .unwrap()
                .iter()
                .map(|r| r.get::<String, _>(0))
                .collect::<Vec<_>>()
                .join("\n")
        }
        Dialect::Mysql => unreachable!("not explained here"),
    }
}
