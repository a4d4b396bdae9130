//! What every handler takes from a request: its parameters (query string, form body), the
//! response format, lenient handling, and its [`RequestContext`]; and the statement count
//! header of the response.

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use super::HttpState;
use super::audit;
use super::error::ApiError;
use super::logging::SQL_COUNT_HEADER;
use crate::auth::{AuthError, Interaction};
use crate::db::QueryCounter;
use crate::plan::Scope;
use crate::request::{Handling, Limit, RequestError, ResponseFormat, negotiate};
use crate::service::RequestContext;

/// Query parameters in order, as sent.
pub fn query_params(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| {
            RequestError::InvalidParameter(format!("the query string cannot be decoded: {e}"))
                .into()
        })
}

/// The body of a `POST`, read within `timeout` (a client that sends it slowly is cut off) and
/// refused beyond the body size limit.
pub async fn read_form_body(
    req: &HttpRequest,
    mut payload: web::Payload,
    state: &HttpState,
) -> Result<web::Bytes, ApiError> {
    let max = state.fhir.limits().request.max_body_bytes;
    let too_large = |found| RequestError::LimitExceeded {
        limit: Limit::BodyBytes,
        max,
        found,
        param: None,
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if let Some(n) = declared.filter(|n| *n > max) {
        return Err(too_large(Some(n)).into());
    }
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                RequestError::InvalidParameter(format!("the body cannot be read: {e}"))
            })?;
            if body.len() + chunk.len() > max {
                return Err(ApiError::from(too_large(None)));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    };
    match tokio::time::timeout(state.body_timeout, read).await {
        Ok(body) => body,
        Err(_) => Err(ApiError::RequestTimeout(format!(
            "the request body was not received within {} s",
            secs(state.body_timeout)
        ))),
    }
}

fn secs(d: Duration) -> String {
    format!("{}", d.as_secs_f64())
}

/// The URL's query parameters followed by those of a form-encoded body (`POST .../_search`).
pub fn form_params(req: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty() && !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(RequestError::InvalidParameter(format!(
            "a POST _search body must be application/x-www-form-urlencoded, not '{ct}'"
        ))
        .into());
    }
    let mut params = query_params(req)?;
    params.extend(form_urlencoded::parse(body).into_owned());
    Ok(params)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The response format the request asks for (`_format`, `_pretty`, `Accept`).
pub fn format_of(
    req: &HttpRequest,
    params: &[(String, String)],
) -> Result<ResponseFormat, ApiError> {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    Ok(negotiate(
        param(params, "_format"),
        param(params, "_pretty"),
        accept,
    )?)
}

/// Whether unknown and unsupported parameters are ignored (and reported): as the request asks
/// with `Prefer: handling=lenient|strict`, else as the server is configured.
pub fn lenient(req: &HttpRequest, state: &HttpState) -> bool {
    let prefer = req
        .headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok());
    state
        .fhir
        .handling(Handling::from_prefer(prefer))
        .is_lenient()
}

/// The request's context: the statement counter the logging middleware gave it, and the scope
/// its access token allows for `interaction` on `resource_type` (unrestricted with
/// `--auth none`); [`ApiError::Forbidden`] when the token does not allow the interaction.
pub fn context(
    req: &HttpRequest,
    state: &HttpState,
    interaction: Interaction,
    resource_type: &str,
) -> Result<RequestContext, ApiError> {
    audit::asked(req, interaction, resource_type);
    let counter = req
        .extensions()
        .get::<Arc<QueryCounter>>()
        .cloned()
        .unwrap_or_default();
    let scope = match &state.auth {
        None => Scope::default(),
        Some(_) => {
            let access = super::auth::access(req).ok_or(AuthError::Missing)?;
            let fhir = &state.fhir;
            crate::auth::policy::scope(
                &access,
                fhir.mapping(),
                &fhir.search_options(false),
                interaction,
                resource_type,
            )?
        }
    };
    Ok(RequestContext { counter, scope })
}

/// `res` with the number of statements the request ran, when the server exposes it.
pub fn with_count(state: &HttpState, cx: &RequestContext, mut res: HttpResponse) -> HttpResponse {
    if state.expose_query_count
        && let Ok(v) = header::HeaderValue::from_str(&cx.counter.get().to_string())
    {
        res.headers_mut()
            .insert(header::HeaderName::from_static(SQL_COUNT_HEADER), v);
    }
    res
}
