//! FHIR request parsing: URL parts and headers → typed requests. Pure, no I/O.

pub mod chain;
pub mod compartment;
pub mod criterion;
pub mod cursor;
pub mod everything;
pub mod export;
pub mod format;
pub mod handling;
pub mod id;
pub mod include;
pub mod limits;
pub mod read;
pub mod search;
pub mod subset;

pub use format::{ResponseFormat, Syntax, negotiate};
pub use handling::Handling;
pub use id::FhirId;
pub use limits::{Limit, RequestLimits};
pub use read::ReadRequest;

/// A request the client got wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The resource type is not a FHIR type or is not mapped.
    #[error("{0}")]
    UnknownType(String),
    /// The id is not a valid FHIR id.
    #[error("'{0}' is not a valid FHIR id (1-64 characters: letters, digits, '-' and '.')")]
    MalformedId(String),
    /// No acceptable response format.
    #[error("{0}")]
    NotAcceptable(String),
    /// A parameter this interaction does not support.
    #[error("{0}")]
    UnsupportedParameter(String),
    /// A parameter with a value that cannot be used.
    #[error("{0}")]
    InvalidParameter(String),
    /// The request asks more than an admission limit allows.
    #[error("{}", limits::message(*limit, *max, *found, param.as_deref()))]
    LimitExceeded {
        /// The limit.
        limit: Limit,
        /// Its configured value.
        max: usize,
        /// How much the request asked (`None`: more than `max`, not counted further).
        found: Option<usize>,
        /// The parameter concerned, when the limit is per parameter.
        param: Option<String>,
    },
}

impl RequestError {
    /// The error, about parameter `name` when it is an exceeded limit.
    pub fn in_param(self, name: &str) -> RequestError {
        match self {
            RequestError::LimitExceeded {
                limit, max, found, ..
            } => RequestError::LimitExceeded {
                limit,
                max,
                found,
                param: Some(name.to_string()),
            },
            other => other,
        }
    }
}
