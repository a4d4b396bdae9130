//! Every error a client can meet, mapped to an HTTP status and an OperationOutcome, here and
//! nowhere else. Database details are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::assemble::outcome::{Issue, operation_outcome};
use crate::auth::{AuthError, Denied};
use crate::db::DbError;
use crate::plan::PlanError;
use crate::request::format::FHIR_JSON;
use crate::request::{Limit, RequestError};
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
            ApiError::Service(S::Db(_)) | ApiError::Export(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self.db_error() {
            Some(DbError::Busy) => tracing::info!("request refused: the database budget is in use"),
            Some(e @ DbError::TooComplex(_)) => tracing::warn!(error = %e, "statement too complex"),
            Some(e) => tracing::error!(error = %e, "database error"),
            None => {}
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON)));
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
        res.body(operation_outcome(&[self.issue()]).to_string())
    }
}
