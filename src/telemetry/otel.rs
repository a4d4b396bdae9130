//! OpenTelemetry trace export (`--otlp-endpoint`): one span per HTTP request with a child span
//! per SQL statement, sent in batches to an OTLP collector over HTTP/protobuf.
//!
//! Off unless an endpoint is given; then [`layer`] joins the log subscriber. Only two kinds of
//! span are exported, whatever `RUST_LOG` says: the request span of
//! [`crate::http::logging`] (target [`REQUEST_TARGET`]) and the SQL spans of
//! [`crate::db::Database::fetch`] (target [`SQL_TARGET`], never written to the logs). A SQL
//! span carries the statement text, never its bound values (they are patient data). An
//! incoming W3C `traceparent` makes the request span its child.
//!
//! The exporter posts through a reqwest client on the server's Tokio runtime (the batch
//! processor runs on a thread of its own, outside any runtime). [`shutdown`] exports what is
//! still queued: call it at exit, from a multi-threaded runtime or outside one.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{Status, TraceContextExt, TracerProvider as _};
use opentelemetry_http::{Bytes, HttpClient, HttpError, Request, Response};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::registry::LookupSpan;

/// Target of the request span (one per HTTP request).
pub const REQUEST_TARGET: &str = "fhir_facade::http::logging";
/// Target of the SQL spans (one per statement): exported, never logged.
pub const SQL_TARGET: &str = "fhir_facade::sql";
/// The `service.name` of the exported spans.
pub const SERVICE_NAME: &str = "fhir-facade";

/// How long one export may take.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

static ENABLED: AtomicBool = AtomicBool::new(false);
static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Why trace export cannot start.
#[derive(Debug, thiserror::Error)]
pub enum OtelError {
    /// The endpoint is not an http(s) URL.
    #[error("--otlp-endpoint must be an http:// or https:// URL, not '{0}'")]
    Endpoint(String),
    /// The exporter could not be built.
    #[error("cannot start the OpenTelemetry exporter: {0}")]
    Exporter(String),
    /// Not started from within a Tokio runtime.
    #[error("the OpenTelemetry exporter needs a Tokio runtime")]
    NoRuntime,
}

/// Whether spans are exported (checked before anything is computed for them).
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The URL spans are posted to: `endpoint` as given when it already names `/v1/traces`,
/// else with `/v1/traces` appended (the collector's base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT`
/// is given).
pub fn traces_url(endpoint: &str) -> Result<String, OtelError> {
    let e = endpoint.trim();
    let scheme_ok = ["http://", "https://"]
        .iter()
        .any(|s| e.len() > s.len() && e[..s.len()].eq_ignore_ascii_case(s));
    if !scheme_ok || e.parse::<http::Uri>().is_err() {
        return Err(OtelError::Endpoint(endpoint.to_string()));
    }
    let base = e.trim_end_matches('/');
    Ok(if base.ends_with("/v1/traces") {
        base.to_string()
    } else {
        format!("{base}/v1/traces")
    })
}

/// The layer that exports the request and SQL spans to `endpoint`; enables [`enabled`].
/// Must be called within a Tokio runtime (the exports run on it).
pub fn layer<S>(endpoint: &str) -> Result<impl Layer<S>, OtelError>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let url = traces_url(endpoint)?;
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| OtelError::NoRuntime)?;
    let client = reqwest::Client::builder()
        .timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| OtelError::Exporter(e.to_string()))?;
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(OnRuntime { client, runtime })
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(url)
        .with_timeout(EXPORT_TIMEOUT)
        .build()
        .map_err(|e| OtelError::Exporter(e.to_string()))?;
    let resource = Resource::builder()
        .with_service_name(SERVICE_NAME)
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer(SERVICE_NAME);
    *PROVIDER.lock().unwrap_or_else(|e| e.into_inner()) = Some(provider);
    ENABLED.store(true, Ordering::Relaxed);
    Ok(tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(filter_fn(|m| {
            m.is_span() && (m.target() == REQUEST_TARGET || m.target() == SQL_TARGET)
        })))
}

/// Exports the spans still queued and stops exporting (at exit).
pub fn shutdown() {
    let provider = PROVIDER.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(provider) = provider {
        ENABLED.store(false, Ordering::Relaxed);
        if let Err(e) = provider.shutdown() {
            eprintln!("OpenTelemetry: spans not exported at shutdown: {e}");
        }
    }
}

/// Sets up the request span: a child of the client's W3C `traceparent` when it sends one.
pub fn start_request(span: &tracing::Span, headers: &actix_web::http::header::HeaderMap) {
    let parent = TraceContextPropagator::new().extract(&Headers(headers));
    if parent.span().span_context().is_valid() {
        // Fails only when the span is already started or not exported: nothing to do then.
        let _ = span.set_parent(parent);
    }
}

/// What the request span says once the response is known.
pub struct RequestEnd<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The route pattern that served it (`/fhir/{type}`), when one did.
    pub route: Option<&'a str>,
    /// The response status.
    pub status: u16,
    /// The FHIR interaction (`search-type`, `read`...), when it was one.
    pub interaction: Option<&'a str>,
    /// The FHIR resource type asked for.
    pub resource_type: Option<&'a str>,
}

/// Names the request span (`GET /fhir/{type}`) and records its outcome.
pub fn end_request(span: &tracing::Span, end: RequestEnd<'_>) {
    span.set_attribute("http.request.method", end.method.to_string());
    span.set_attribute("http.response.status_code", i64::from(end.status));
    if let Some(route) = end.route {
        span.set_attribute("http.route", route.to_string());
    }
    if let Some(i) = end.interaction {
        span.set_attribute("fhir.interaction", i.to_string());
    }
    if let Some(t) = end.resource_type.filter(|t| !t.is_empty()) {
        span.set_attribute("fhir.resource_type", t.to_string());
    }
    if end.status >= 500 {
        span.set_status(Status::error(format!("HTTP {}", end.status)));
    }
    let name = match end.route {
        Some(route) => format!("{} {route}", end.method),
        None => end.method.to_string(),
    };
    span.context().span().update_name(name);
}

/// The `db.system` of a dialect.
pub fn db_system(dialect: crate::sql::Dialect) -> &'static str {
    dialect.choose("sqlite", "postgresql", "mysql")
}

/// The operation of a statement (its first word, `SELECT`), as the SQL span's name.
pub fn operation(sql: &str) -> &str {
    let word = sql.split_whitespace().next().unwrap_or("SQL");
    if word.chars().all(|c| c.is_ascii_alphabetic()) {
        word
    } else {
        "SQL"
    }
}

/// Request headers as the propagator reads them.
struct Headers<'a>(&'a actix_web::http::header::HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The exporter's HTTP client: reqwest, run on the server's runtime (the batch processor's
/// thread has none).
#[derive(Debug)]
struct OnRuntime {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl HttpClient for OnRuntime {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let client = self.client.clone();
        let (status, headers, body) = self
            .runtime
            .spawn(async move {
                let response = client.execute(request).await?;
                let status = response.status();
                let headers = response.headers().clone();
                let body = response.bytes().await?;
                Ok::<_, reqwest::Error>((status, headers, body))
            })
            .await??;
        let mut response = Response::builder().status(status).body(body)?;
        *response.headers_mut() = headers;
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_traces_path_is_added_to_a_base_url() {
        assert_eq!(
            traces_url("http://collector:4318").unwrap(),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            traces_url("https://c.example.org/otlp/").unwrap(),
            "https://c.example.org/otlp/v1/traces"
        );
        assert_eq!(
            traces_url("http://c:4318/v1/traces").unwrap(),
            "http://c:4318/v1/traces"
        );
        for bad in ["collector:4318", "ftp://c", "http://", "http://a b"] {
            assert!(traces_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sql_spans_are_named_by_their_operation() {
        assert_eq!(operation("SELECT a FROM b"), "SELECT");
        assert_eq!(operation("  EXPLAIN QUERY PLAN SELECT 1"), "EXPLAIN");
        assert_eq!(operation("(SELECT 1)"), "SQL");
        assert_eq!(operation(""), "SQL");
    }
}
