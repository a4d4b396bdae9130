//! Every error a client can meet, mapped to an HTTP status and an OperationOutcome, here and
//! nowhere else. Database details are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};

use crate::assemble::outcome::{Issue, operation_outcome};
use crate::db::DbError;
use crate::request::RequestError;
use crate::request::format::FHIR_JSON;

/// An error answered with an OperationOutcome.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is wrong.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// A write, or another method this read-only server does not allow.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// An interaction this server does not implement.
    #[error("{0}")]
    NotImplemented(String),
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl ApiError {
    fn issue(&self) -> Issue {
        match self {
            ApiError::Request(RequestError::UnknownType(m)) => Issue::error("not-supported", m),
            ApiError::Request(RequestError::MalformedId(_)) => {
                Issue::error("invalid", self.to_string())
            }
            ApiError::Request(RequestError::NotAcceptable(m)) => Issue::error("not-supported", m),
            ApiError::Request(RequestError::UnsupportedParameter(m)) => {
                Issue::error("not-supported", m)
            }
            ApiError::Request(RequestError::InvalidParameter(m)) => Issue::error("invalid", m),
            ApiError::NotFound(m) => Issue::error("not-found", m),
            ApiError::MethodNotAllowed(m) | ApiError::NotImplemented(m) => {
                Issue::error("not-supported", m)
            }
            ApiError::Db(DbError::Unavailable(_)) => {
                Issue::error("transient", "the database is unavailable; try again later")
            }
            ApiError::Db(DbError::Timeout(_)) => Issue::error(
                "timeout",
                "the database did not answer in time; try again later or narrow the request",
            ),
            ApiError::Db(_) => Issue::error(
                "exception",
                "internal error while reading the database (details are in the server log)",
            ),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Request(RequestError::UnknownType(_)) | ApiError::NotFound(_) => {
                StatusCode::NOT_FOUND
            }
            ApiError::Request(RequestError::NotAcceptable(_)) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Request(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            ApiError::Db(DbError::Unavailable(_) | DbError::Timeout(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Db(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Db(e) = self {
            tracing::error!(error = %e, "database error");
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON)));
        if matches!(self, ApiError::MethodNotAllowed(_)) {
            res.insert_header((header::ALLOW, "GET"));
        }
        if matches!(
            self,
            ApiError::Db(DbError::Unavailable(_) | DbError::Timeout(_))
        ) {
            res.insert_header((header::RETRY_AFTER, "5"));
        }
        res.body(operation_outcome(&[self.issue()]).to_string())
    }
}
