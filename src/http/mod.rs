//! HTTP: actix-web routes under the FHIR base path, content negotiation, conditional reads,
//! errors as OperationOutcome.

pub mod error;
pub mod handlers;
pub mod logging;
pub mod respond;

use std::sync::Arc;

use actix_web::web;
use serde_json::Value as Json;

use crate::db::Database;
use crate::mapping::Mapping;

/// Shared, read-only state of the running server. Holds no per-client state, so any instance
/// behind a load balancer can answer any request.
pub struct AppState {
    /// The checked mapping.
    pub mapping: Arc<Mapping>,
    /// The database.
    pub db: Database,
    /// The CapabilityStatement, computed once at start-up.
    pub capability: Json,
    /// Send the number of SQL statements in a response header (for tests and diagnostics).
    pub expose_query_count: bool,
    /// The public FHIR base URL.
    pub base_url: String,
    /// Signs and checks paging cursors.
    pub cursors: crate::request::cursor::CursorCodec,
    /// Largest `_count` accepted.
    pub max_count: usize,
    /// Most resources a chain or `_has` may cross.
    pub max_chain_depth: usize,
    /// Most resources `_include`/`_revinclude` add to a page.
    pub max_includes: usize,
}

/// Registers the FHIR routes under `/fhir`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fhir")
            .route("/metadata", web::get().to(handlers::metadata))
            .route("/metadata", web::route().to(handlers::method_not_allowed))
            .route("/{type}/{id}", web::get().to(handlers::read))
            .route(
                "/{type}/{id}/$everything",
                web::get().to(handlers::everything),
            )
            .route(
                "/{compartment}/{id}/{type}",
                web::get().to(handlers::compartment_search_get),
            )
            .route(
                "/{compartment}/{id}/{type}/_search",
                web::post().to(handlers::compartment_search_post),
            )
            .route("/{type}", web::get().to(handlers::search_get))
            .route("/{type}/_search", web::post().to(handlers::search_post))
            .route("/{tail:.*}", web::get().to(handlers::not_found))
            .route("/{tail:.*}", web::route().to(handlers::method_not_allowed)),
    )
    .default_service(web::route().to(handlers::not_found));
}
