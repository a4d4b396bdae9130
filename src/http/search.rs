//! `GET [base]/[type]?...`, `POST [base]/[type]/_search`, and the same in the Patient
//! compartment (`[base]/Patient/[id]/[type]`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use super::HttpState;
use super::audit;
use super::error::ApiError;
use super::extract::{
    context, form_params, format_of, lenient, query_params, read_form_body, with_count,
};
use super::respond;
use crate::auth::Interaction;
use crate::request::compartment::Compartment;
use crate::request::search::SearchRequest;
use crate::request::{RequestError, Syntax};

/// `GET [base]/[type]?...`.
pub async fn search_get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_params(&req)?;
    search(&req, &state, &path.into_inner(), params, None).await
}

/// `POST [base]/[type]/_search` with a form body: the same as GET with the form's parameters
/// added to the URL's.
pub async fn search_post(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let body = read_form_body(&req, body, &state).await?;
    let params = form_params(&req, &body)?;
    search(&req, &state, &path.into_inner(), params, None).await
}

/// `GET [base]/Patient/[id]/[type]?...`: a search within the patient's compartment.
pub async fn compartment_search_get(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let (compartment, id, resource_type) = path.into_inner();
    check_compartment(&compartment, &resource_type)?;
    let params = query_params(&req)?;
    search(&req, &state, &resource_type, params, Some(&id)).await
}

/// `POST [base]/Patient/[id]/[type]/_search`.
pub async fn compartment_search_post(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Payload,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let (compartment, id, resource_type) = path.into_inner();
    check_compartment(&compartment, &resource_type)?;
    let body = read_form_body(&req, body, &state).await?;
    let params = form_params(&req, &body)?;
    search(&req, &state, &resource_type, params, Some(&id)).await
}

fn check_compartment(compartment: &str, resource_type: &str) -> Result<(), ApiError> {
    // `[type]/[id]/$op`: an instance operation this server does not have (`Group/1/$export`).
    if resource_type.starts_with('$') {
        return Err(ApiError::NotFound(format!(
            "operation {resource_type} is not supported on {compartment}"
        )));
    }
    if compartment == "Patient" {
        return Ok(());
    }
    Err(RequestError::UnsupportedParameter(format!(
        "searches in the {compartment} compartment are not supported (only the Patient compartment: [base]/Patient/[id]/[type])"
    ))
    .into())
}

async fn search(
    req: &HttpRequest,
    state: &HttpState,
    resource_type: &str,
    params: Vec<(String, String)>,
    compartment: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let format = format_of(req, &params)?;
    let fhir = &state.fhir;
    let options = fhir.search_options(lenient(req, state));
    let mut request = SearchRequest::parse(fhir.mapping(), &options, resource_type, &params)?;
    if let Some(id) = compartment {
        request.compartment = Some(Compartment::patient(fhir.mapping(), id, resource_type)?);
    }
    let cx = context(req, state, Interaction::Search, resource_type)?;
    let compact_json = format.syntax() == Syntax::Json && !format.pretty;
    let bundle = fhir.search_as(&cx, &request, compact_json).await?;
    audit::returned_bundle(req, &bundle);
    Ok(with_count(
        state,
        &cx,
        respond::resource(StatusCode::OK, format, &bundle)?,
    ))
}
