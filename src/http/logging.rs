//! Per request: a request id on every log line written while it is served, one log line when it
//! ends (method, path, status, latency, SQL statements), and its metrics.
//!
//! The request id is the client's `X-Request-ID` when it sends a sensible one (1 to 128
//! visible ASCII characters), else one made here; it is echoed in the response's
//! `X-Request-ID`. The log line of a request that succeeded is at DEBUG (at INFO, one line per
//! request costs a good share of the throughput of cheap requests, and the audit trail already
//! says who did what); a client error (4xx) is logged at INFO, a server error (5xx) at WARN.
//! The query string is not logged: search parameters can hold patient data.
//!
//! With trace export on ([`crate::telemetry::otel`]), the request's span is exported too:
//! named by method and route, with the request id, status, FHIR interaction and type, and a
//! child of the client's W3C `traceparent` when it sends one.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use tracing::Instrument;

use super::audit::AuditRecord;
use crate::db::QueryCounter;
use crate::telemetry::metrics as m;
use crate::telemetry::otel;

/// Name of the response header carrying the statement count, when enabled.
pub const SQL_COUNT_HEADER: &str = "x-sql-statements";

/// The request id header, read from requests and set on responses.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware: gives each request its id, span and [`QueryCounter`], logs the request when it
/// ends, and counts it in the metrics.
pub async fn log_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let start = Instant::now();
    let id = request_id(req.headers().get(&REQUEST_ID_HEADER));
    let span = tracing::info_span!(target: otel::REQUEST_TARGET, "request", request_id = %id);
    if otel::enabled() {
        otel::start_request(&span, req.headers());
    }
    let counter = Arc::new(QueryCounter::default());
    req.extensions_mut().insert(counter.clone());
    let method = req.method().clone();
    let mut res = next.call(req).instrument(span.clone()).await?;
    let elapsed = start.elapsed();
    let status = res.status();
    let (interaction, resource_type) = res
        .request()
        .extensions()
        .get::<Arc<AuditRecord>>()
        .map(|r| r.asked())
        .unwrap_or_default();
    let path = res.request().path();
    let statements = counter.get();
    if otel::enabled() {
        otel::end_request(
            &span,
            otel::RequestEnd {
                method: method.as_str(),
                route: res.request().match_pattern().as_deref(),
                status: status.as_u16(),
                interaction,
                resource_type: resource_type.as_deref(),
            },
        );
    }
    {
        let _in_request = span.enter();
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        let code = status.as_u16();
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    %method, path, status = code, latency_ms, sql_statements = statements, "request"
                )
            };
        }
        if status.is_server_error() {
            line!(warn);
        } else if status.is_client_error() {
            line!(info);
        } else {
            line!(debug);
        }
    }
    if let Some(interaction) = interaction.filter(|_| m::enabled()) {
        let resource_type = resource_type.unwrap_or_default();
        metrics::counter!(
            m::HTTP_REQUESTS,
            "type" => resource_type.clone(),
            "interaction" => interaction,
            "status" => status.as_str().to_owned()
        )
        .increment(1);
        metrics::histogram!(m::HTTP_DURATION, "type" => resource_type, "interaction" => interaction)
            .record(elapsed.as_secs_f64());
        metrics::histogram!(m::SQL_PER_REQUEST, "interaction" => interaction)
            .record(statements as f64);
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(REQUEST_ID_HEADER, v);
    }
    Ok(res)
}

/// The client's request id when it is sensible (so that it cannot forge log lines), else a
/// new one: 16 hexadecimal digits.
pub fn request_id(sent: Option<&HeaderValue>) -> String {
    match sent.and_then(|v| v.to_str().ok()) {
        Some(v) if (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()) => {
            v.to_string()
        }
        _ => format!("{:016x}", rand::random::<u64>()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_the_clients_when_sensible() {
        let sent = HeaderValue::from_static("abc-123_XYZ");
        assert_eq!(request_id(Some(&sent)), "abc-123_XYZ");
        for bad in ["", "two words", &"x".repeat(129)] {
            let made = request_id(Some(&HeaderValue::from_str(bad).unwrap()));
            assert_eq!(made.len(), 16, "{bad:?} → {made}");
            assert!(made.bytes().all(|b| b.is_ascii_hexdigit()));
        }
        assert_ne!(request_id(None), request_id(None));
    }
}
