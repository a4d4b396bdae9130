//! The admin listener (`--admin-listen`): metrics and the console, on an address of their own,
//! never on the public FHIR port. It answers without authorization, so it belongs on loopback
//! or a private network.
//!
//! - `GET /`: the console, one static page ([`console`]).
//! - `GET /metrics`: the metrics in the Prometheus text format ([`crate::telemetry::metrics`]).
//! - `GET /api/types`: the mapped types, their sources and declared search parameters (JSON).
//! - `GET /api/query?q=<FHIR query>`: runs the query and answers what it returned, every SQL
//!   statement it ran (parameters, timing, rows) and the database's plan of each (JSON).
//! - `GET /api/check`: the `check` report of the mapping file the server runs (problems, index
//!   advice with `CREATE INDEX` statements), as text.

pub mod console;
pub mod query;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::http::header::ContentType;
use actix_web::{App, HttpResponse, HttpServer, web};
use metrics_exporter_prometheus::PrometheusHandle;

use crate::http::HttpState;

/// What the admin routes share: the public server's state (its FHIR service) and the metrics.
pub struct AdminState {
    /// The public server's state.
    pub http: web::Data<HttpState>,
    /// Renders the metrics.
    pub metrics: PrometheusHandle,
    /// The mapping file the server runs (for the `check` report).
    pub mapping_path: String,
}

/// The admin server on `listener` (not yet running). Two workers: it serves one person and a
/// metrics scraper.
pub fn server(listener: TcpListener, state: AdminState) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .route("/", web::get().to(console::page))
            .route("/metrics", web::get().to(metrics))
            .route("/api/types", web::get().to(console::types))
            .route("/api/query", web::get().to(query::run))
            .route("/api/check", web::get().to(check))
    })
    .workers(2)
    .disable_signals()
    .listen(listener)?
    .run())
}

/// `GET /metrics`.
async fn metrics(state: web::Data<AdminState>) -> HttpResponse {
    let text = render_metrics(&state.metrics, state.http.fhir.database());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

/// `GET /api/check`: the mapping file checked again against the live database, with index
/// advice (what `fhir-facade check` prints).
async fn check(state: web::Data<AdminState>) -> HttpResponse {
    let fhir = &state.http.fhir;
    match crate::tools::check::check(&state.mapping_path, fhir.database(), fhir.caps()).await {
        Ok(report) => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            .body(report.to_text()),
        Err(e) => {
            tracing::warn!(error = %e, "the console's check could not run");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(format!("the check could not run: {e}"))
        }
    }
}

/// The metrics in the Prometheus text format, with the database's pools sampled now.
fn render_metrics(handle: &PrometheusHandle, db: &crate::db::Database) -> String {
    use crate::telemetry::metrics::{COPY_UP, POOL_CONNECTIONS, POOL_IDLE, REQUESTS_WAITING};
    for c in db.copies() {
        let copy = c.copy.to_string();
        metrics::gauge!(POOL_CONNECTIONS, "copy" => copy.clone()).set(c.pool.size);
        metrics::gauge!(POOL_IDLE, "copy" => copy.clone()).set(c.pool.idle as f64);
        metrics::gauge!(COPY_UP, "copy" => copy).set(if c.resting { 0.0 } else { 1.0 });
    }
    metrics::gauge!(REQUESTS_WAITING).set(db.waiting() as f64);
    handle.render()
}

/// An HTML response.
fn html(body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ContentType::html())
        .body(body)
}
