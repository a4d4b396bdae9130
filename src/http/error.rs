//! Every error a client can meet, mapped to an HTTP status and an OperationOutcome, here and
//! nowhere else. Database details are logged, never sent.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpRequest, HttpResponse, ResponseError, web};

use super::respond;
use crate::assemble::outcome::{Issue, operation_outcome};
use crate::assemble::xml::XmlError;
use crate::auth::{AuthError, Denied};
use crate::db::DbError;
use crate::plan::PlanError;
use crate::request::{Limit, RequestError, ResponseFormat, negotiate};
use crate::service::ServiceError;

/// An error answered with an OperationOutcome.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The service failed (the request, the plan, a missing resource, the database).
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// No such endpoint.
    #[error("{0}")]
    NotFound(String),
    /// A write, or another method this read-only server does not allow.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// The client did not send its request (body) in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// No valid access token (401), or it cannot be checked now (503).
    #[error(transparent)]
    Unauthorized(#[from] AuthError),
    /// The access token does not allow the interaction (403).
    #[error(transparent)]
    Forbidden(#[from] Denied),
    /// A resource could not be written as FHIR XML (a bug: logged, answered 500).
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// A Bulk Data export job failed, or its files cannot be stored (500; the detail is in
    /// the log).
    #[error("{0}")]
    Export(String),
}

impl From<RequestError> for ApiError {
    fn from(e: RequestError) -> ApiError {
        ApiError::Service(e.into())
    }
}

impl ApiError {
    fn issue(&self) -> Issue {
        use ServiceError as S;
        match self {
            ApiError::Service(S::Request(e)) => match e {
                RequestError::UnknownType(m)
                | RequestError::NotAcceptable(m)
                | RequestError::UnsupportedParameter(m) => Issue::error("not-supported", m),
                RequestError::MalformedId(_) => Issue::error("invalid", e.to_string()),
                RequestError::InvalidParameter(m) => Issue::error("invalid", m),
                RequestError::LimitExceeded { limit, .. } => {
                    let code = match limit {
                        Limit::UrlBytes | Limit::BodyBytes | Limit::HeaderBytes => "too-long",
                        _ => "too-costly",
                    };
                    Issue::error(code, e.to_string())
                }
            },
            ApiError::Service(S::Plan(PlanError::InvalidValue(m))) => Issue::error("invalid", m),
            ApiError::Service(S::Plan(PlanError::Unsupported(m))) => {
                Issue::error("not-supported", m)
            }
            ApiError::Service(S::NotFound(m)) | ApiError::NotFound(m) => {
                Issue::error("not-found", m)
            }
            ApiError::MethodNotAllowed(m) => Issue::error("not-supported", m),
            ApiError::RequestTimeout(m) => Issue::error("timeout", m),
            ApiError::Service(S::Db(DbError::Busy)) => Issue::error(
                "throttled",
                "the server is busy with other requests to the database; try again shortly",
            ),
            ApiError::Service(S::Db(DbError::TooComplex(_))) => Issue::error(
                "too-costly",
                "the search is too complex for the database; use fewer parameters or values",
            ),
            ApiError::Unauthorized(AuthError::Missing) => Issue::error(
                "login",
                "this server needs an access token: Authorization: Bearer <token>",
            ),
            // Why a token is refused is logged, not told.
            ApiError::Unauthorized(AuthError::Invalid(_)) => {
                Issue::error("login", "the access token is not valid")
            }
            ApiError::Unauthorized(AuthError::Unavailable(_)) => Issue::error(
                "transient",
                "the access token cannot be checked now; try again later",
            ),
            ApiError::Forbidden(d) => Issue::error("forbidden", d.message.clone()),
            ApiError::Export(m) => Issue::error("exception", m),
            ApiError::Service(S::Db(DbError::Unavailable(_))) => {
                Issue::error("transient", "the database is unavailable; try again later")
            }
            ApiError::Service(S::Db(DbError::Timeout(_))) => Issue::error(
                "timeout",
                "the database did not answer in time; try again later or narrow the request",
            ),
            ApiError::Service(S::Db(_)) => Issue::error(
                "exception",
                "internal error while reading the database (details are in the server log)",
            ),
            ApiError::Xml(_) => Issue::error(
                "exception",
                "internal error while writing the response as XML (details are in the server log); _format=json gives it as JSON",
            ),
        }
    }

    /// The `WWW-Authenticate` challenge of an authorization failure (RFC 6750 §3): no error
    /// code when there was no token at all.
    fn challenge(&self) -> Option<String> {
        match self {
            ApiError::Unauthorized(AuthError::Missing) => Some("Bearer".into()),
            ApiError::Unauthorized(AuthError::Invalid(_)) => Some(
                "Bearer error=\"invalid_token\", error_description=\"the access token is not valid\""
                    .into(),
            ),
            ApiError::Forbidden(d) => Some(format!(
                "Bearer error=\"insufficient_scope\", scope=\"{}\"",
                d.needed
            )),
            _ => None,
        }
    }

    fn db_error(&self) -> Option<&DbError> {
        match self {
            ApiError::Service(ServiceError::Db(e)) => Some(e),
            _ => None,
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        use ServiceError as S;
        match self {
            ApiError::Service(S::Request(RequestError::UnknownType(_)))
            | ApiError::Service(S::NotFound(_))
            | ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Service(S::Request(RequestError::NotAcceptable(_))) => {
                StatusCode::NOT_ACCEPTABLE
            }
            ApiError::Service(S::Request(RequestError::LimitExceeded { limit, .. })) => match limit
            {
                Limit::UrlBytes => StatusCode::URI_TOO_LONG,
                Limit::BodyBytes => StatusCode::PAYLOAD_TOO_LARGE,
                Limit::HeaderBytes => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                _ => StatusCode::BAD_REQUEST,
            },
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Service(S::Db(DbError::TooComplex(_))) => StatusCode::BAD_REQUEST,
            ApiError::Service(S::Request(_) | S::Plan(_)) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(AuthError::Unavailable(_)) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Service(S::Db(
                DbError::Unavailable(_) | DbError::Timeout(_) | DbError::Busy,
            )) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Service(S::Db(_)) | ApiError::Xml(_) | ApiError::Export(_) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
        }
    }

    /// The response, in compact JSON. Handler errors are written again in the format their
    /// request asks for by [`in_requested_format`].
    fn error_response(&self) -> HttpResponse {
        self.log();
        self.respond(ResponseFormat::DEFAULT)
    }
}

impl ApiError {
    /// The response to `req`, in the format it asks for (see [`requested_format`]), for the
    /// errors answered before a handler runs.
    pub fn response_for(&self, req: &HttpRequest) -> HttpResponse {
        self.log();
        self.respond(requested_format(req))
    }

    fn log(&self) {
        match self.db_error() {
            Some(DbError::Busy) => tracing::info!("request refused: the database budget is in use"),
            Some(e @ DbError::TooComplex(_)) => tracing::warn!(error = %e, "statement too complex"),
            Some(e) => tracing::error!(error = %e, "database error"),
            None => {}
        }
        if let ApiError::Xml(e) = self {
            tracing::error!(error = %e, "response not written as XML");
        }
    }

    /// The response with its OperationOutcome in `format`.
    fn respond(&self, format: ResponseFormat) -> HttpResponse {
        let outcome = operation_outcome(&[self.issue()]);
        // An OperationOutcome is always writable; JSON if it were not.
        let (format, body) = match respond::to_bytes(format, &outcome) {
            Ok(body) => (format, body),
            Err(_) => (
                ResponseFormat::DEFAULT,
                respond::to_bytes(ResponseFormat::DEFAULT, &outcome).unwrap_or_default(),
            ),
        };
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(format.content_type),
        ));
        if matches!(self, ApiError::MethodNotAllowed(_)) {
            res.insert_header((header::ALLOW, "GET, HEAD"));
        }
        if let Some(challenge) = self.challenge() {
            res.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if matches!(self, ApiError::Unauthorized(AuthError::Unavailable(_))) {
            res.insert_header((header::RETRY_AFTER, "5"));
        }
        match self.db_error() {
            Some(DbError::Unavailable(_) | DbError::Timeout(_)) => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            Some(DbError::Busy) => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        if matches!(self, ApiError::RequestTimeout(_)) {
            res.insert_header((header::CONNECTION, "close"));
        }
        res.body(body)
    }
}

/// The format an error answers `req` in: what its `_format`, `_pretty` (query string) and
/// `Accept` ask for, ignoring `_pretty` if it is invalid; compact JSON when the format itself
/// is what is wrong (406) or cannot be read.
pub fn requested_format(req: &HttpRequest) -> ResponseFormat {
    let params = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    negotiate(param("_format"), param("_pretty"), accept)
        .or_else(|_| negotiate(param("_format"), None, accept))
        .unwrap_or(ResponseFormat::DEFAULT)
}

/// Middleware: the error a handler (or an extractor) answered, in the format its request asks
/// for (XML for `_format=xml`), rather than the default JSON of [`ResponseError`].
pub async fn in_requested_format(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let res = next.call(req).await?;
    let Some(error) = res
        .response()
        .error()
        .and_then(|e| e.as_error::<ApiError>())
    else {
        return Ok(res.map_into_left_body());
    };
    let format = requested_format(res.request());
    if format == ResponseFormat::DEFAULT {
        return Ok(res.map_into_left_body());
    }
    let rewritten = error.respond(format);
    let (req, _) = res.into_parts();
    Ok(ServiceResponse::new(req, rewritten).map_into_right_body())
}
