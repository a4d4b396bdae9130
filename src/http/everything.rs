//! `GET [base]/Patient/[id]/$everything`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::HttpState;
use super::audit;
use super::error::ApiError;
use super::extract::{context, format_of, lenient, query_params, with_count};
use super::respond;
use crate::auth::Interaction;
use crate::request::everything::EverythingRequest;

/// `GET [base]/Patient/[id]/$everything`.
pub async fn everything(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    if resource_type != "Patient" {
        return Err(ApiError::NotFound(format!(
            "$everything is defined on Patient here, not on {resource_type}"
        )));
    }
    let params = query_params(&req)?;
    let format = format_of(&req, &params)?;
    let fhir = &state.fhir;
    let max_count = fhir.limits().max_count;
    let request = EverythingRequest::parse(
        fhir.mapping(),
        &id,
        &params,
        lenient(&req, &state),
        max_count,
    )?;
    let cx = context(&req, &state, Interaction::Everything, "Patient")?;
    let bundle = fhir.everything(&cx, &request).await?;
    audit::returned_bundle(&req, &bundle);
    Ok(with_count(
        &state,
        &cx,
        respond::resource(StatusCode::OK, format, &bundle)?,
    ))
}
