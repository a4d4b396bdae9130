//! Health checks for load balancers and orchestrators, outside the FHIR base and open without
//! a token:
//!
//! - `GET /health/live`: 200 while the process serves HTTP (no database work).
//! - `GET /health/ready`: asks every copy of the database (primary and replicas) `SELECT 1`,
//!   all at once, each bounded by the connect timeout. 200 when at least one copy answers
//!   (requests go round the others), 503 when none does; the body says each copy's state.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde_json::json;

use super::HttpState;

/// The paths, for the middlewares that leave them alone (authorization, audit).
pub const PATHS: &[&str] = &["/health/live", "/health/ready"];

/// `GET /health/live`.
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "live"}))
}

/// `GET /health/ready`.
pub async fn ready(state: web::Data<HttpState>) -> HttpResponse {
    let answers = state.fhir.database().ping(state.ready_timeout).await;
    let ready = answers.iter().any(Result::is_ok);
    let databases: Vec<_> = answers
        .iter()
        .enumerate()
        .map(|(copy, a)| {
            let role = if copy == 0 { "primary" } else { "replica" };
            match a {
                Ok(()) => json!({"copy": copy, "role": role, "status": "up"}),
                Err(e) => {
                    tracing::warn!(copy, error = %e, "readiness: database copy not answering");
                    json!({"copy": copy, "role": role, "status": "down"})
                }
            }
        })
        .collect();
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    HttpResponse::build(status).json(json!({
        "status": if ready { "ready" } else { "unavailable" },
        "databases": databases,
    }))
}
