//! `GET /api/query?q=<FHIR query>`: runs a FHIR query as the public server would (without
//! authorization: the admin listener is for operators) with its statements recorded, then asks
//! the database for the plan of each.
//!
//! The query is what follows the base URL: `Patient?family=smi`, `Observation/12`,
//! `Patient/1/$everything`, `Patient/1/Condition?...`; a leading base URL or `/` is ignored.

use std::sync::Arc;
use std::time::Instant;

use actix_web::{HttpResponse, ResponseError, web};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use super::AdminState;
use crate::assemble::bundle::searchset;
use crate::db::{Cost, QueryCounter, Recorded};
use crate::http::error::ApiError;
use crate::request::compartment::Compartment;
use crate::request::everything::EverythingRequest;
use crate::request::search::SearchRequest;
use crate::request::{ReadRequest, RequestError};
use crate::service::{Fhir, RequestContext, ServiceError};
use crate::sql::{Statement, Value};

/// The query string of `/api/query`.
#[derive(Debug, Deserialize)]
pub struct Ask {
    /// The FHIR query.
    q: String,
}

/// `GET /api/query?q=...`.
pub async fn run(state: web::Data<AdminState>, ask: web::Query<Ask>) -> HttpResponse {
    let fhir = &state.http.fhir;
    let cx = RequestContext {
        counter: Arc::new(QueryCounter::recording()),
        ..RequestContext::default()
    };
    let start = Instant::now();
    let answer = execute(fhir, &cx, &ask.q).await;
    let elapsed_ms = start.elapsed().as_secs_f64() * 1000.0;
    let (status, result) = match answer {
        Ok(json) => (200, json),
        Err(e) => {
            let e = ApiError::from(e);
            (e.status_code().as_u16(), json!({"error": e.to_string()}))
        }
    };
    let mut statements = Vec::new();
    for r in cx.counter.recorded() {
        let plan = plan(fhir, &r.statement).await;
        statements.push(describe(&r, plan));
    }
    HttpResponse::Ok().json(json!({
        "query": ask.q,
        "status": status,
        "elapsed_ms": elapsed_ms,
        "result": result,
        "statements": statements,
    }))
}

/// Runs `query` as the matching interaction.
async fn execute(fhir: &Fhir, cx: &RequestContext, query: &str) -> Result<Json, ServiceError> {
    let query = query.trim();
    let query = query
        .strip_prefix(fhir.base_url())
        .unwrap_or(query)
        .trim_start_matches('/');
    let (path, query_string) = query.split_once('?').unwrap_or((query, ""));
    let params: Vec<(String, String)> = form_urlencoded::parse(query_string.as_bytes())
        .into_owned()
        .collect();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mapping = fhir.mapping();
    let search = |t: &str| -> Result<SearchRequest, ServiceError> {
        let options = fhir.search_options(fhir.handling(None).is_lenient());
        Ok(SearchRequest::parse(mapping, &options, t, &params)?)
    };
    match segments.as_slice() {
        [t] | [t, "_search"] => Ok(searchset(fhir.search(cx, &search(t)?).await?)),
        ["Patient", id, "$everything"] => {
            let max = fhir.limits().max_count;
            let request = EverythingRequest::parse(mapping, id, &params, true, max)?;
            Ok(searchset(fhir.everything(cx, &request).await?))
        }
        [t, id] => {
            let request = ReadRequest::parse(mapping, t, id, &params, true)?;
            Ok(Json::Object(
                fhir.read(cx, &request).await?.resource.into_map(),
            ))
        }
        ["Patient", id, t] => {
            let mut request = search(t)?;
            request.compartment = Some(Compartment::patient(mapping, id, t)?);
            Ok(searchset(fhir.search(cx, &request).await?))
        }
        _ => Err(RequestError::UnsupportedParameter(format!(
            "not a query the console runs: '{path}' (write TYPE?PARAMS, TYPE/ID, \
             Patient/ID/$everything or Patient/ID/TYPE?PARAMS)"
        ))
        .into()),
    }
}

/// The database's plan of `stmt`, one line per row of its answer (without running it).
async fn plan(fhir: &Fhir, stmt: &Statement) -> Result<Vec<String>, String> {
    let db = fhir.database();
    let explain = Statement {
        sql: format!("{}{}", db.dialect().plan_prefix(), stmt.sql),
        params: stmt.params.clone(),
        parts: None,
    };
    let rows = db
        .for_request(Arc::default(), Cost::Expensive)
        .fetch(&explain)
        .await
        .map_err(|e| e.to_string())?;
    Ok(rows
        .iter()
        .map(|row| row.iter().map(cell).collect::<Vec<_>>().join(" | "))
        .collect())
}

fn describe(r: &Recorded, plan: Result<Vec<String>, String>) -> Json {
    let params: Vec<String> = r
        .statement
        .params
        .iter()
        .map(|p| {
            use sea_query::QueryBuilder;
            sea_query::PostgresQueryBuilder.value_to_string(p)
        })
        .collect();
    let mut out = json!({
        "sql": r.statement.sql,
        "params": params,
        "ms": r.elapsed.as_secs_f64() * 1000.0,
        "copy": r.copy,
    });
    match &r.outcome {
        Ok(n) => out["rows"] = json!(n),
        Err(e) => out["error"] = json!(e),
    }
    match plan {
        Ok(lines) => out["plan"] = json!(lines),
        Err(e) => out["plan_error"] = json!(e),
    }
    out
}

/// A value of an EXPLAIN answer as text.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => "NULL".into(),
        Value::Text(s) | Value::Decimal(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("{other:?}"),
    }
}
