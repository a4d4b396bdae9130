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
pub mod health;
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
    /// The path of the FHIR base (`/fhir`, or the path of `--base-url`; empty for the root).
    pub base_path: String,
    /// How long `/health/ready` waits for each copy of the database.
    pub ready_timeout: Duration,
}

impl HttpState {
    /// Whether `path` is served without an access token: the CapabilityStatement, the SMART
    /// configuration and the health checks.
    pub fn is_open(&self, path: &str) -> bool {
        let path = path.trim_end_matches('/');
        health::PATHS.contains(&path)
            || path
                .strip_prefix(self.base_path.as_str())
                .is_some_and(|rest| {
                    ["/metadata", "/.well-known/smart-configuration"].contains(&rest)
                })
    }
}

/// The path of the FHIR base in `base_url` (`https://h/x/fhir` → `/x/fhir`; `https://h` → ``).
pub fn base_path(base_url: &str) -> String {
    let after_scheme = base_url.split_once("://").map_or(base_url, |(_, r)| r);
    let path = after_scheme.find('/').map_or("", |i| &after_scheme[i..]);
    let path = path.split(['?', '#']).next().unwrap_or_default();
    path.trim_end_matches('/').to_string()
}

/// A route answering `GET` and `HEAD` (the same response without its body, as HTTP asks).
fn get() -> Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers the health checks, and the FHIR routes under `base_path` (see [`base_path`]).
pub fn configure(base_path: &str) -> impl FnOnce(&mut web::ServiceConfig) + '_ {
    move |cfg| configure_at(cfg, base_path)
}

fn configure_at(cfg: &mut web::ServiceConfig, base_path: &str) {
    cfg.route(health::PATHS[0], get().to(health::live))
        .route(health::PATHS[1], get().to(health::ready));
    cfg.service(
        web::scope(base_path)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_base_path_is_the_path_of_the_base_url() {
        assert_eq!(base_path("http://127.0.0.1:8080/fhir"), "/fhir");
        assert_eq!(base_path("https://h.example.org/api/r4/"), "/api/r4");
        assert_eq!(base_path("https://h.example.org"), "");
        assert_eq!(base_path("https://h.example.org/"), "");
    }
}
