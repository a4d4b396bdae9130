//! Writing FHIR responses in the negotiated format: JSON, or XML converted from the JSON.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde_json::Value as Json;

use super::error::ApiError;
use crate::assemble::xml;
use crate::request::{ResponseFormat, Syntax};

/// A resource (Bundles, OperationOutcomes and the CapabilityStatement included) in `format`.
/// A resource that cannot be written as XML is a bug: [`ApiError::Xml`], logged.
pub fn resource(
    status: StatusCode,
    format: ResponseFormat,
    body: &Json,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::build(status)
        .content_type(format.content_type)
        .body(to_bytes(format, body)?))
}

/// The body of [`resource`].
pub fn to_bytes(format: ResponseFormat, body: &Json) -> Result<Vec<u8>, ApiError> {
    match format.syntax() {
        Syntax::Json => Ok(if format.pretty {
            serde_json::to_vec_pretty(body)
        } else {
            serde_json::to_vec(body)
        }
        .unwrap_or_else(|_| b"{}".to_vec())),
        Syntax::Xml => Ok(xml::write_resource(Vec::new(), body, format.pretty)?),
    }
}
