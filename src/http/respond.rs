//! Writing FHIR responses in the negotiated format: JSON, or XML converted from the JSON.
//!
//! JSON is serialized straight from what is given (resources assembled from rows are never
//! built as `serde_json` values on the way); XML is written from the `serde_json` value.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;
use serde_json::Value as Json;

use super::error::ApiError;
use crate::assemble::xml;
use crate::request::{ResponseFormat, Syntax};

/// A resource (Bundles, OperationOutcomes and the CapabilityStatement included) in `format`.
/// A resource that cannot be written as XML is a bug: [`ApiError::Xml`], logged.
pub fn resource<T: Serialize>(
    status: StatusCode,
    format: ResponseFormat,
    body: &T,
) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::build(status)
        .content_type(format.content_type)
        .body(to_bytes(format, body)?))
}

/// The body of [`resource`].
pub fn to_bytes<T: Serialize>(format: ResponseFormat, body: &T) -> Result<Vec<u8>, ApiError> {
    match format.syntax() {
        Syntax::Json => {
            let mut out = Vec::with_capacity(INITIAL_CAPACITY);
            let written = if format.pretty {
                serde_json::to_writer_pretty(&mut out, body)
            } else {
                serde_json::to_writer(&mut out, body)
            };
            Ok(match written {
                Ok(()) => out,
                Err(_) => b"{}".to_vec(),
            })
        }
        Syntax::Xml => {
            let json = serde_json::to_value(body).unwrap_or(Json::Null);
            Ok(xml::write_resource(Vec::new(), &json, format.pretty)?)
        }
    }
}

/// Room for a typical resource, so that a body is not copied while it grows from nothing.
const INITIAL_CAPACITY: usize = 4096;
