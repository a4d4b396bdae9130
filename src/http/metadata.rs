//! `GET [base]/metadata`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::HttpState;
use super::error::ApiError;
use super::extract::{format_of, query_params};
use super::respond;

/// `GET [base]/metadata`: the CapabilityStatement.
pub async fn metadata(
    req: HttpRequest,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_params(&req)?;
    let format = format_of(&req, &params)?;
    respond::resource(StatusCode::OK, format, state.fhir.capability())
}
