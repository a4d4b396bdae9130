//! Writing FHIR JSON responses in the negotiated format.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use serde::Serialize;

use crate::request::ResponseFormat;

/// A JSON response in `format`.
pub fn json<T: Serialize>(status: StatusCode, format: ResponseFormat, body: &T) -> HttpResponse {
    let text = if format.pretty {
        serde_json::to_string_pretty(body)
    } else {
        serde_json::to_string(body)
    }
    .unwrap_or_else(|_| "{}".to_string());
    HttpResponse::build(status)
        .content_type(format.content_type)
        .body(text)
}
