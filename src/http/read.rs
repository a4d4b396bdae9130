//! `GET [base]/[type]/[id]`, with conditional reads (`If-None-Match`, `If-Modified-Since`).

use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, EntityTag, HttpDate, IfModifiedSince, IfNoneMatch, LastModified,
};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::HttpState;
use super::audit;
use super::error::ApiError;
use super::extract::{context, format_of, lenient, query_params, with_count};
use super::respond;
use crate::auth::Interaction;
use crate::request::ReadRequest;

/// `GET [base]/[type]/[id]`.
pub async fn read(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<HttpState>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    let params = query_params(&req)?;
    let format = format_of(&req, &params)?;
    let fhir = &state.fhir;
    let request = ReadRequest::parse(
        fhir.mapping(),
        &resource_type,
        &id,
        &params,
        lenient(&req, &state),
    )?;
    let cx = context(&req, &state, Interaction::Read, &request.resource_type)?;
    let found = fhir.read(&cx, &request).await?;
    audit::returned_one(&req, &request.resource_type);
    let etag = found
        .version
        .as_ref()
        // Versions are valid FHIR ids, so always valid entity tags.
        .map(|v| EntityTag::new_weak(v.clone()));
    let modified = found
        .last_updated
        .as_deref()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .map(|t| HttpDate::from(std::time::SystemTime::from(t)));
    let res = if not_modified(&req, etag.as_ref(), modified) {
        HttpResponse::NotModified().finish()
    } else {
        respond::resource(StatusCode::OK, format, &found.resource)?
    };
    let mut res = with_count(&state, &cx, res);
    if let Some(tag) = etag
        && let Ok(v) = header::HeaderValue::from_str(&tag.to_string())
    {
        res.headers_mut().insert(header::ETAG, v);
    }
    if let Some(m) = modified
        && let Ok(v) = header::HeaderValue::from_str(&LastModified(m).to_string())
    {
        res.headers_mut().insert(header::LAST_MODIFIED, v);
    }
    Ok(res)
}

/// RFC 9110 conditional GET: `If-None-Match` wins over `If-Modified-Since`.
fn not_modified(req: &HttpRequest, etag: Option<&EntityTag>, modified: Option<HttpDate>) -> bool {
    if req.headers().contains_key(header::IF_NONE_MATCH) {
        return match (req.get_header::<IfNoneMatch>(), etag) {
            (Some(IfNoneMatch::Any), Some(_)) => true,
            (Some(IfNoneMatch::Items(tags)), Some(tag)) => tags.iter().any(|t| t.weak_eq(tag)),
            _ => false,
        };
    }
    match (req.get_header::<IfModifiedSince>(), modified) {
        (Some(IfModifiedSince(since)), Some(m)) => {
            std::time::SystemTime::from(m) <= std::time::SystemTime::from(since)
        }
        _ => false,
    }
}
