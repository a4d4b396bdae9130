//! One log line per request: method, path, status, latency and number of SQL statements.
//! The query string is not logged: search parameters can hold patient data.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

use crate::db::QueryCounter;

/// Name of the response header carrying the statement count, when enabled.
pub const SQL_COUNT_HEADER: &str = "x-sql-statements";

/// Middleware: gives each request a [`QueryCounter`] and logs the request when it ends.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let counter = Arc::new(QueryCounter::default());
    req.extensions_mut().insert(counter.clone());
    let method = req.method().to_string();
    let path = req.path().to_string();
    let res = next.call(req).await?;
    let status = res.status().as_u16();
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    tracing::info!(
        %method,
        %path,
        status,
        latency_ms = format!("{latency_ms:.1}"),
        sql_statements = counter.get(),
        "request"
    );
    Ok(res)
}
