//! Route handlers: parse the request, call the service layer, write the response.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{
    self, EntityTag, HttpDate, IfModifiedSince, IfNoneMatch, LastModified,
};
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::AppState;
use super::error::ApiError;
use super::logging::SQL_COUNT_HEADER;
use super::respond;
use crate::assemble::bundle::{SearchSet, searchset};
use crate::assemble::outcome::{Issue, Severity};
use crate::assemble::subset::subset;
use crate::db::QueryCounter;
use crate::plan::search::PlanError;
use crate::request::compartment::Compartment;
use crate::request::cursor::Cursor;
use crate::request::everything::EverythingRequest;
use crate::request::search::SearchRequest;
use crate::request::{ReadRequest, RequestError, ResponseFormat, negotiate};
use crate::service;
use crate::service::search::SearchError;

/// Query parameters in order, as sent.
fn query_params(req: &HttpRequest) -> Result<Vec<(String, String)>, ApiError> {
    web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .map_err(|e| {
            ApiError::Request(RequestError::InvalidParameter(format!(
                "the query string cannot be decoded: {e}"
            )))
        })
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn format_of(req: &HttpRequest, params: &[(String, String)]) -> Result<ResponseFormat, ApiError> {
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

/// Whether the client asked for lenient handling (`Prefer: handling=lenient`).
fn lenient(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=lenient"))
}

fn counter(req: &HttpRequest) -> Arc<QueryCounter> {
    req.extensions()
        .get::<Arc<QueryCounter>>()
        .cloned()
        .unwrap_or_default()
}

fn with_count(state: &AppState, counter: &QueryCounter, mut res: HttpResponse) -> HttpResponse {
    if state.expose_query_count
        && let Ok(v) = header::HeaderValue::from_str(&counter.get().to_string())
    {
        res.headers_mut()
            .insert(header::HeaderName::from_static(SQL_COUNT_HEADER), v);
    }
    res
}

/// `GET [base]/metadata`.
pub async fn metadata(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_params(&req)?;
    let format = format_of(&req, &params)?;
    Ok(respond::json(StatusCode::OK, format, &state.capability))
}

/// `GET [base]/[type]/[id]`.
pub async fn read(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    let params = query_params(&req)?;
    let format = format_of(&req, &params)?;
    let request = ReadRequest::parse(&state.mapping, &resource_type, &id, &params, lenient(&req))?;
    let counter = counter(&req);
    let found =
        service::read::read(&state.mapping, &state.db.for_request(), &request, &counter).await?;
    let Some(found) = found else {
        return Err(ApiError::NotFound(format!(
            "{resource_type}/{} is not known",
            request.id
        )));
    };
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
    let mut resource = found.resource;
    subset(&mut resource, request.summary, request.elements.as_deref());
    let res = if not_modified(&req, etag.as_ref(), modified) {
        HttpResponse::NotModified().finish()
    } else {
        respond::json(StatusCode::OK, format, &resource)
    };
    let mut res = with_count(&state, &counter, res);
    if let Some(tag) = etag {
        res.headers_mut().insert(
            header::ETAG,
            header::HeaderValue::from_str(&tag.to_string()).expect("etag is ascii"),
        );
    }
    if let Some(m) = modified {
        res.headers_mut().insert(
            header::LAST_MODIFIED,
            header::HeaderValue::from_str(&LastModified(m).to_string()).expect("date is ascii"),
        );
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

/// `GET [base]/[type]?...`.
pub async fn search_get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_params(&req)?;
    run_search(&req, &state, &path.into_inner(), params, None).await
}

/// `GET [base]/Patient/[id]/[type]?...`: a search within the patient's compartment.
pub async fn compartment_search_get(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (compartment, id, resource_type) = path.into_inner();
    check_compartment(&compartment)?;
    let params = query_params(&req)?;
    run_search(&req, &state, &resource_type, params, Some(&id)).await
}

/// `POST [base]/Patient/[id]/[type]/_search`.
pub async fn compartment_search_post(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (compartment, id, resource_type) = path.into_inner();
    check_compartment(&compartment)?;
    let params = form_params(&req, &body)?;
    run_search(&req, &state, &resource_type, params, Some(&id)).await
}

fn check_compartment(compartment: &str) -> Result<(), ApiError> {
    if compartment == "Patient" {
        return Ok(());
    }
    Err(ApiError::Request(RequestError::UnsupportedParameter(
        format!(
            "searches in the {compartment} compartment are not supported (only the Patient compartment: [base]/Patient/[id]/[type])"
        ),
    )))
}

/// `GET [base]/Patient/[id]/$everything`.
pub async fn everything(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (resource_type, id) = path.into_inner();
    if resource_type != "Patient" {
        return Err(ApiError::NotFound(format!(
            "$everything is defined on Patient here, not on {resource_type}"
        )));
    }
    let params = query_params(&req)?;
    let format = format_of(&req, &params)?;
    let request =
        EverythingRequest::parse(&state.mapping, &id, &params, lenient(&req), state.max_count)?;
    let scope = format!("Patient/{}/$everything", request.id);
    let link_params = request.link_params();
    let cursor = match &request.cursor {
        Some(token) => Some(state.cursors.decode(token, &scope, &link_params)?),
        None => None,
    };
    let counter = counter(&req);
    let page = service::everything::everything(
        &state.mapping,
        &state.db.for_request(),
        &request,
        cursor.as_ref(),
        &state.base_url,
        state.max_includes,
        &counter,
    )
    .await
    .map_err(search_error)?;
    let Some(page) = page else {
        return Err(ApiError::NotFound(format!(
            "Patient/{} is not known",
            request.id
        )));
    };
    let (self_link, next_link) = paging_links(
        &state,
        &scope,
        &link_params,
        request.cursor.as_deref(),
        page.next.as_ref(),
    );
    let mut warnings: Vec<Issue> = ignored_warnings(&request.ignored);
    if page.included.truncated {
        warnings.push(includes_cut_short(state.max_includes));
    }
    warnings.extend(page.warnings.into_iter().map(|w| Issue {
        severity: Severity::Warning,
        code: "informational",
        diagnostics: w,
    }));
    let bundle = searchset(SearchSet {
        base_url: &state.base_url,
        resources: page.resources,
        included: page.included.resources,
        self_link,
        next_link,
        total: None,
        warnings,
    });
    Ok(with_count(
        &state,
        &counter,
        respond::json(StatusCode::OK, format, &bundle),
    ))
}

/// The `self` and `next` links of a page of the search at `scope` (`Patient`,
/// `Patient/1/Observation`...), whose cursors are bound to the scope and `link_params`.
fn paging_links(
    state: &AppState,
    scope: &str,
    link_params: &[String],
    cursor: Option<&str>,
    next: Option<&Cursor>,
) -> (String, Option<String>) {
    let base = format!("{}/{scope}", state.base_url);
    let with_cursor = |token: &str| {
        let mut p = link_params.to_vec();
        p.push(format!("_cursor={token}"));
        format!("{base}?{}", query_string(&p))
    };
    let self_link = match cursor {
        Some(token) => with_cursor(token),
        None => format!("{base}?{}", query_string(link_params)),
    };
    let next_link = next.map(|c| with_cursor(&state.cursors.encode(c, scope, link_params)));
    (self_link, next_link)
}

/// The warning of a page whose included resources were cut at the cap.
fn includes_cut_short(max_includes: usize) -> Issue {
    Issue {
        severity: Severity::Warning,
        code: "too-costly",
        diagnostics: format!(
            "only the first {max_includes} included resources are returned (the server's limit per page) and more exist: ask for a smaller _count, or search for them directly"
        ),
    }
}

fn search_error(e: SearchError) -> ApiError {
    match e {
        SearchError::Plan(p) => ApiError::Request(match p {
            PlanError::InvalidValue(m) => RequestError::InvalidParameter(m),
            PlanError::Unsupported(m) => RequestError::UnsupportedParameter(m),
        }),
        SearchError::Db(d) => ApiError::Db(d),
    }
}

fn ignored_warnings(ignored: &[(String, String)]) -> Vec<Issue> {
    ignored
        .iter()
        .map(|(_, why)| Issue {
            severity: Severity::Warning,
            code: "not-supported",
            diagnostics: format!("{why}; it was ignored"),
        })
        .collect()
}

/// `POST [base]/[type]/_search` with a form body: the same as GET with the form's parameters
/// added to the URL's.
pub async fn search_post(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = form_params(&req, &body)?;
    run_search(&req, &state, &path.into_inner(), params, None).await
}

/// The URL's query parameters followed by those of a form-encoded body.
fn form_params(req: &HttpRequest, body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty() && !ct.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::Request(RequestError::InvalidParameter(format!(
            "a POST _search body must be application/x-www-form-urlencoded, not '{ct}'"
        ))));
    }
    let mut params = query_params(req)?;
    params.extend(form_urlencoded::parse(body).into_owned());
    Ok(params)
}

fn encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `name=value` link parameters as a query string.
fn query_string(params: &[String]) -> String {
    params
        .iter()
        .map(|p| match p.split_once('=') {
            Some((n, v)) => format!("{}={}", encode(n), encode(v)),
            None => encode(p),
        })
        .collect::<Vec<_>>()
        .join("&")
}

async fn run_search(
    req: &HttpRequest,
    state: &AppState,
    resource_type: &str,
    params: Vec<(String, String)>,
    compartment: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let format = format_of(req, &params)?;
    let mut request = SearchRequest::parse(
        &state.mapping,
        resource_type,
        &params,
        lenient(req),
        state.max_count,
        state.max_chain_depth,
    )?;
    // The path the search runs on (also what its cursors are bound to).
    let scope = match compartment {
        Some(id) => {
            let c = Compartment::patient(&state.mapping, id, resource_type)?;
            let scope = format!("Patient/{}/{resource_type}", c.id);
            request.compartment = Some(c);
            scope
        }
        None => resource_type.to_string(),
    };
    let link_params = request.link_params();
    let cursor = match &request.cursor {
        Some(token) => Some(state.cursors.decode(token, &scope, &link_params)?),
        None => None,
    };
    let counter = counter(req);
    let db = state.db.for_request();
    let page = service::search::search(
        &state.mapping,
        &db,
        &request,
        cursor.as_ref(),
        &state.base_url,
        &counter,
    )
    .await
    .map_err(search_error)?;
    let included = service::include::include(
        &state.mapping,
        &db,
        &request.includes,
        &page.resources,
        state.max_includes,
        &state.base_url,
        &counter,
    )
    .await
    .map_err(search_error)?;
    let (self_link, next_link) = paging_links(
        state,
        &scope,
        &link_params,
        request.cursor.as_deref(),
        page.next.as_ref(),
    );
    let mut warnings = ignored_warnings(&request.ignored);
    if included.truncated {
        warnings.push(includes_cut_short(state.max_includes));
    }
    let mut resources = page.resources;
    for r in &mut resources {
        subset(r, request.summary, request.elements.as_deref());
    }
    let bundle = searchset(SearchSet {
        base_url: &state.base_url,
        resources,
        included: included.resources,
        self_link,
        next_link,
        total: page.total,
        warnings,
    });
    Ok(with_count(
        state,
        &counter,
        respond::json(StatusCode::OK, format, &bundle),
    ))
}

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
