//! HTTP: actix-web routes under the FHIR base path, one module per interaction (extract →
//! parse → call the [`crate::service`] → respond), content negotiation, conditional reads,
//! errors as OperationOutcome; authentication and audit of every request ([`auth`],
//! [`audit`]).

pub mod admit;
pub mod audit;
pub mod auth;
pub mod error;
pub mod everything;
pub mod export;
pub mod extract;
pub mod fallback;
pub mod logging;
pub mod metadata;
pub mod read;
pub mod respond;
pub mod search;
pub mod smart;

use std::sync::Arc;

use std::time::Duration;

use actix_web::{Route, guard, web};

use crate::auth::Authenticator;
use crate::export::Exporter;
use crate::service::Fhir;

/// What the routes share: the FHIR service and the HTTP options.
pub struct HttpState {
    /// The FHIR service.
    pub fhir: Arc<Fhir>,
    /// Send the number of SQL statements in a response header (for tests and diagnostics).
    pub expose_query_count: bool,
    /// How long a client may take to send a request body.
    pub body_timeout: Duration,
    /// Checks access tokens in SMART mode (`None`: `--auth none`).
    pub auth: Option<Arc<Authenticator>>,
    /// Bulk Data `$export` jobs (`None`: export is not enabled).
    pub export: Option<Arc<Exporter>>,
}

/// A route answering `GET` and `HEAD` (the same response without its body, as HTTP asks).
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers the FHIR routes under `/fhir`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/fhir")
            // Bulk Data export, before the routes its paths would otherwise match.
            .route("/$export", get().to(export::system_get))
            .route("/$export", web::post().to(export::system_post))
            .route("/Patient/$export", get().to(export::patient_get))
            .route("/Patient/$export", web::post().to(export::patient_post))
            .route("/$export-status/{id}", get().to(export::status))
            .route("/$export-status/{id}", web::delete().to(export::cancel))
            .route("/$export-file/{id}/{file}", get().to(export::file))
            .route("/metadata", get().to(metadata::metadata))
            .route("/metadata", web::route().to(fallback::method_not_allowed))
            .route(
                "/.well-known/smart-configuration",
                get().to(smart::configuration),
            )
            .route("/{type}/{id}", get().to(read::read))
            .route("/{type}/{id}/$everything", get().to(everything::everything))
            .route(
                "/{compartment}/{id}/{type}",
                get().to(search::compartment_search_get),
            )
            .route(
                "/{compartment}/{id}/{type}/_search",
                web::post().to(search::compartment_search_post),
            )
            .route("/{type}", get().to(search::search_get))
            .route("/{type}/_search", web::post().to(search::search_post))
            // The base itself (`[base]/` is `[base]` once the trailing slash is trimmed).
            .route("", get().to(fallback::not_found))
            .route("", web::route().to(fallback::method_not_allowed))
            .route("/{tail:.*}", get().to(fallback::not_found))
            .route("/{tail:.*}", web::route().to(fallback::method_not_allowed)),
    )
    .default_service(web::route().to(fallback::not_found));
}
