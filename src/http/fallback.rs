//! Paths that are not FHIR endpoints, and methods a read-only server does not allow.

use actix_web::{HttpRequest, HttpResponse};

use super::error::ApiError;

/// Any other GET under the base.
pub async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "{} is not a FHIR endpoint of this server",
        req.path()
    )))
}

/// Writes and other methods: this server is read-only.
pub async fn method_not_allowed(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(format!(
        "{} is not allowed: this server is read-only",
        req.method()
    )))
}
