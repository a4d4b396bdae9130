//! Query plans: the page statement of a search as the server would plan it, and the database's
//! own EXPLAIN of a statement (for the tests that check which index serves a search).

use std::time::Duration;

use fhir_facade::db::{Database, DbSettings};
use fhir_facade::mapping::Mapping;
use fhir_facade::plan::subquery::{SIZING_ROUNDS, Subqueries};
use fhir_facade::plan::{self, Scope};
use fhir_facade::request::cursor::Cursor;
use fhir_facade::request::search::{SearchOptions, SearchRequest};
use fhir_facade::service::size_subqueries;
use fhir_facade::sql::{Caps, Dialect, Statement, Value};
use sea_query_sqlx::SqlxValues;
use sqlx::{AssertSqlSafe, Connection, Row};

use crate::helpers::MAPPING;

/// The sample mapping checked against the database at `url`, and what that database can do
/// (as the server finds at start-up).
pub async fn checked_mapping(url: &str, dialect: Dialect) -> (Mapping, Caps) {
    let db = connect(url).await;
    let mut m = fhir_facade::mapping::load(MAPPING, dialect).unwrap();
    fhir_facade::mapping::live::check_against_database(MAPPING, &mut m, &db)
        .await
        .unwrap();
    let caps = Caps {
        dialect,
        accents: db.probe_accents().await,
    };
    (m, caps)
}

/// The page statement of a search of `resource` with `params` on the database at `url`,
/// after `after` when given, planned as the server plans it.
pub async fn page_statement(
    url: &str,
    dialect: Dialect,
    resource: &str,
    params: &[(&str, &str)],
    after: Option<&Cursor>,
) -> Statement {
    let (m, caps) = checked_mapping(url, dialect).await;
    let req = request(&m, resource, params);
    plan::search(&m, &caps, Scope::none(), &req, after)
        .unwrap()
        .page
        .statement
}

/// One connection to the database at `url`, with the server's session settings.
pub async fn connect(url: &str) -> Database {
    Database::connect(&DbSettings {
        url: url.to_string(),
        replicas: vec![],
        max_connections: 1,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(5),
        budget: Default::default(),
    })
    .await
    .unwrap()
}

/// `resource?params` parsed as the server parses it.
pub fn request(m: &Mapping, resource: &str, params: &[(&str, &str)]) -> SearchRequest {
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let opts = SearchOptions {
        base_url: "http://localhost/fhir",
        max_count: 1000,
        max_chain_depth: 3,
        lenient: false,
        limits: Default::default(),
    };
    SearchRequest::parse(m, &opts, resource, &params).unwrap()
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

/// The page statement of `resource?params` with its sub-selects sized on the database at `url`, and how many
/// sub-selects were sized.
pub async fn sized_page(
    url: &str,
    dialect: Dialect,
    resource: &str,
    params: &[(&str, &str)],
) -> (Statement, usize, Database) {
    let (m, caps) = checked_mapping(url, dialect).await;
    let db = connect(url).await;
    let req = request(&m, resource, params);
    // As the server does: size what the plan asks about, round by round.
    let mut sizes = Subqueries::default();
    let mut sized = 0;
    for _ in 0..SIZING_ROUNDS {
        plan::search_sized(&m, &caps, Scope::none(), &req, None, Some(&sizes)).unwrap();
        let asked = sizes.take_asked();
        if asked.is_empty() {
            break;
        }
        sized += asked.len();
        size_subqueries(&db, dialect, &mut sizes, &asked)
            .await
            .unwrap();
    }
    let plan = plan::search_sized(&m, &caps, Scope::none(), &req, None, Some(&sizes)).unwrap();
    (plan.page.statement.clone(), sized, db)
}

/// The sizing statements (as the executor runs them, with their `LIMIT`) of the first round of
/// `resource?params` on the database at `url`.
pub async fn sizing_statements(
    url: &str,
    dialect: Dialect,
    resource: &str,
    params: &[(&str, &str)],
) -> (Vec<Statement>, Database) {
    let (m, caps) = checked_mapping(url, dialect).await;
    let req = request(&m, resource, params);
    let sizes = Subqueries::default();
    plan::search_sized(&m, &caps, Scope::none(), &req, None, Some(&sizes)).unwrap();
    let asked = sizes.take_asked().iter().map(Subqueries::probe).collect();
    (asked, connect(url).await)
}

/// MySQL/MariaDB EXPLAIN rows (select_type, table, key, Extra), explained on a connection
/// of the server's own pool (whose sessions set the optimizer switches it relies on).
pub async fn explain_mysql(db: &Database, stmt: &Statement) -> Vec<[String; 4]> {
    let explain = Statement {
        sql: format!("EXPLAIN {}", stmt.sql),
        params: stmt.params.clone(),
        parts: None,
    };
    let text = |v: &Value| match v {
        Value::Text(s) => s.clone(),
        Value::Null => String::new(),
        other => format!("{other:?}"),
    };
    db.fetch(&explain)
        .await
        .unwrap()
        .iter()
        .map(|r| [1, 2, 5, 9].map(|i| r.get(i).map(text).unwrap_or_default()))
        .collect()
}
