//! The reference: a minimal hand-written actix-web + sqlx server running the same SQL as the
//! façade for a read by id (one statement: the resource's row and its child tables' rows) and
//! the first page of a token search. Its statements are written once at start-up by the
//! façade's planner (so the text is the same, and prepared statements are reused the same
//! way); per request it only binds the values, runs them and writes the rows as JSON objects
//! (column alias → value) with `serde_json`. It does what any hand-written handler must do and
//! nothing a FHIR server adds (no mapping, no resource shape, no paging links).
//!
//! The other request kinds are answered by one generic handler, `/replay/{n}`: the statements
//! the façade ran for the benchmark's request number `n`, recorded once at set-up
//! ([`crate::replay`]), run in the same order on one pooled connection with their recorded
//! values bound, every row written as a JSON object. The keys of the statements that depend on
//! earlier rows (child rows, includes, the pages of `$everything`) were read at set-up, not
//! from this request's rows: the database does the same work, the reference a little less.

use std::net::TcpListener;

use actix_web::{App, HttpResponse, HttpServer, web};
use fhir_facade::mapping::sql::child_rows;
use fhir_facade::mapping::{ChildLayout, Mapping};
use fhir_facade::plan::{self, Scope};
use fhir_facade::request::search::{SearchOptions, SearchRequest};
use fhir_facade::sql::{Caps, Dialect, Statement, Value};
use sea_query_sqlx::SqlxValues;
use serde_json::{Map, Value as Json};
use sqlx::postgres::{PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Column, Row, TypeInfo, ValueRef};

/// The statements of the reference, written by the façade's planner.
struct Sql {
    /// `Patient/{id}`: the patient row and the rows of its child tables, every parameter the
    /// id.
    read: String,
    /// Its number of parameters.
    read_params: usize,
    /// The columns of the patient row (the first ones of each row).
    row_columns: usize,
    /// Position of the part number (0: the patient row, k + 1: child k), when the statement
    /// reads child tables.
    part: Option<usize>,
    /// The child tables it reads: path, part number, where their columns start, their number,
    /// and the position of their key among them.
    inline: Vec<(String, i32, usize, usize, usize)>,
    /// The child tables read apart, each by a `$1` parent key.
    children: Vec<(String, String)>,
    /// `Condition?code=X&_count=20`: the page statement (`$1` the code, `$2` the limit).
    search: String,
}

struct State {
    pool: PgPool,
    sql: Sql,
    /// The recorded statements of each replayed request, by number.
    replay: Vec<Vec<Statement>>,
}

fn statements(mapping: &Mapping) -> Sql {
    let caps = Caps::of(Dialect::Postgres);
    let read = plan::read(mapping, &caps, Scope::none(), "Patient", "1")
        .expect("plans")
        .expect("Patient/1 has a source");
    let starts: Vec<Option<usize>> = match &read.children {
        Some(c) => c.starts.clone(),
        None => vec![None; read.source.children.len()],
    };
    let mut inline = Vec::new();
    let mut children = Vec::new();
    for (k, (c, start)) in read.source.children.iter().zip(starts).enumerate() {
        let layout = ChildLayout::of(c);
        match start {
            Some(s) => {
                let part = k as i32 + 1;
                inline.push((c.written.clone(), part, s, layout.columns.len(), layout.key));
            }
            None => {
                let stmt = child_rows(c, &layout, &[Value::Int(1)], Dialect::Postgres);
                children.push((c.written.clone(), stmt.sql));
            }
        }
    }
    let options = SearchOptions {
        base_url: "http://localhost/fhir",
        max_count: 1000,
        max_chain_depth: 3,
        lenient: false,
        limits: Default::default(),
    };
    let params = vec![
        ("code".to_string(), "X".to_string()),
        ("_count".to_string(), "20".to_string()),
    ];
    let req = SearchRequest::parse(mapping, &options, "Condition", &params).expect("parses");
    let search = plan::search(mapping, &caps, Scope::none(), &req, None)
        .expect("plans")
        .page
        .statement
        .sql;
    Sql {
        read_params: read.statement.params.len(),
        row_columns: read.layout.columns.len(),
        part: read.children.as_ref().map(|c| c.part),
        read: read.statement.sql,
        inline,
        children,
        search,
    }
}

/// A column as JSON, by its PostgreSQL type.
fn column(row: &PgRow, i: usize) -> Json {
    let raw = row.try_get_raw(i).expect("column");
    if raw.is_null() {
        return Json::Null;
    }
    match raw.type_info().name() {
        "INT2" => row.get::<i16, _>(i).into(),
        "INT4" => row.get::<i32, _>(i).into(),
        "INT8" => row.get::<i64, _>(i).into(),
        "BOOL" => row.get::<bool, _>(i).into(),
        "FLOAT4" | "FLOAT8" => row.get::<f64, _>(i).into(),
        "NUMERIC" => row.get::<rust_decimal::Decimal, _>(i).to_string().into(),
        "DATE" => row.get::<chrono::NaiveDate, _>(i).to_string().into(),
        "TIMESTAMP" => row.get::<chrono::NaiveDateTime, _>(i).to_string().into(),
        "TIMESTAMPTZ" => row
            .get::<chrono::DateTime<chrono::Utc>, _>(i)
            .to_rfc3339()
            .into(),
        "TIME" => row.get::<chrono::NaiveTime, _>(i).to_string().into(),
        // Text of every other kind; a type without a text decoding is written as its name.
        other => row
            .try_get::<String, _>(i)
            .map_or_else(|_| Json::String(format!("({other})")), Json::String),
    }
}

fn object(row: &PgRow) -> Map<String, Json> {
    columns(row, 0, row.len())
}

/// Columns `from..to` of `row` as a JSON object (column alias → value).
fn columns(row: &PgRow, from: usize, to: usize) -> Map<String, Json> {
    row.columns()[from..to]
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name().to_string(), column(row, from + i)))
        .collect()
}

/// The header both servers count their statements in (the façade's `--expose-sql-count`).
const STATEMENTS: &str = "x-sql-statements";

fn failed(e: sqlx::Error) -> HttpResponse {
    HttpResponse::InternalServerError().body(e.to_string())
}

async fn read(path: web::Path<i64>, state: web::Data<State>) -> HttpResponse {
    let id = path.into_inner();
    let mut conn = match state.pool.acquire().await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let sql = &state.sql;
    let mut query = sqlx::query(AssertSqlSafe(sql.read.as_str()));
    for _ in 0..sql.read_params {
        query = query.bind(id);
    }
    let rows = match query.fetch_all(&mut *conn).await {
        Ok(rows) => rows,
        Err(e) => return failed(e),
    };
    let ran = 1 + state.sql.children.len();
    // Part 0 is the patient row; part k + 1 the rows of child k (its key NULL: it has none).
    let part = |r: &PgRow| sql.part.map_or(0, |p| r.get::<i32, _>(p));
    let Some(row) = rows.iter().find(|r| part(r) == 0) else {
        return HttpResponse::NotFound().finish();
    };
    let mut resource = columns(row, 0, sql.row_columns);
    for (path, p, start, len, key) in &sql.inline {
        let list = rows
            .iter()
            .filter(|r| part(r) == *p && !r.try_get_raw(start + key).unwrap().is_null())
            .map(|r| Json::Object(columns(r, *start, start + len)))
            .collect();
        resource.insert(path.clone(), Json::Array(list));
    }
    for (path, sql) in &state.sql.children {
        let rows = sqlx::query(AssertSqlSafe(sql.as_str()))
            .bind(id)
            .fetch_all(&mut *conn)
            .await;
        match rows {
            Ok(rows) => {
                let list = rows.iter().map(|r| Json::Object(object(r))).collect();
                resource.insert(path.clone(), Json::Array(list));
            }
            Err(e) => return failed(e),
        }
    }
    HttpResponse::Ok()
        .content_type("application/fhir+json")
        .insert_header((STATEMENTS, ran))
        .json(resource)
}

#[derive(serde::Deserialize)]
struct Code {
    code: String,
}

async fn search(query: web::Query<Code>, state: web::Data<State>) -> HttpResponse {
    // The façade binds the code alone when the system is the mapping's constant one.
    let code = query
        .code
        .rsplit_once('|')
        .map_or(query.code.as_str(), |(_, c)| c);
    let rows = sqlx::query(AssertSqlSafe(state.sql.search.as_str()))
        .bind(code)
        .bind(21_i64)
        .fetch_all(&state.pool)
        .await;
    match rows {
        Ok(rows) => {
            let entries: Vec<Json> = rows
                .iter()
                .take(20)
                .map(|r| serde_json::json!({ "resource": object(r) }))
                .collect();
            HttpResponse::Ok()
                .content_type("application/fhir+json")
                .insert_header((STATEMENTS, 1))
                .json(serde_json::json!({ "resourceType": "Bundle", "entry": entries }))
        }
        Err(e) => failed(e),
    }
}

/// `/replay/{n}`: runs the statements recorded for request `n` on one connection, their rows
/// written as a JSON array (one array of row objects per statement).
async fn replay(path: web::Path<usize>, state: web::Data<State>) -> HttpResponse {
    let Some(statements) = state.replay.get(path.into_inner()) else {
        return HttpResponse::NotFound().finish();
    };
    let mut conn = match state.pool.acquire().await {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let mut out = Vec::with_capacity(statements.len());
    for stmt in statements {
        let values = SqlxValues(sea_query::Values(stmt.params.clone()));
        let rows = sqlx::query_with(AssertSqlSafe(stmt.sql.as_str()), values)
            .fetch_all(&mut *conn)
            .await;
        match rows {
            Ok(rows) => out.push(Json::Array(
                rows.iter().map(|r| Json::Object(object(r))).collect(),
            )),
            Err(e) => return failed(e),
        }
    }
    HttpResponse::Ok()
        .content_type("application/json")
        .insert_header((STATEMENTS, statements.len()))
        .json(Json::Array(out))
}

/// Starts the reference on 127.0.0.1 (a free port) against `url`, answering `/replay/{n}`
/// with the statements of `replay[n]`; returns its base URL.
pub async fn start(
    url: &str,
    mapping: &Mapping,
    connections: u32,
    replay_sets: Vec<Vec<Statement>>,
) -> String {
    let sql = statements(mapping);
    let pool = PgPoolOptions::new()
        .max_connections(connections)
        .test_before_acquire(false)
        .connect(url)
        .await
        .expect("reference connects");
    let state = web::Data::new(State {
        pool,
        sql,
        replay: replay_sets,
    });
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/Patient/{id}", web::get().to(read))
            .route("/Condition", web::get().to(search))
            .route("/replay/{n}", web::get().to(replay))
    })
    .listen(listener)
    .expect("listens")
    .run();
    tokio::spawn(server);
    base
}
