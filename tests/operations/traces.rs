//! OpenTelemetry trace export (`--otlp-endpoint`): a real collector on a random port receives
//! the OTLP HTTP/protobuf export, decoded with `opentelemetry-proto`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;

use super::{Server, get_with, header};

/// What the collector received.
#[derive(Default)]
struct Received {
    exports: Vec<ExportTraceServiceRequest>,
    /// The `Authorization` header of each export.
    authorizations: Vec<String>,
}

/// A collector accepting `POST /v1/traces`: every export it received, decoded.
struct Collector {
    port: u16,
    received: Arc<Mutex<Received>>,
}

impl Collector {
    fn start() -> Collector {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Received::default()));
        let store = received.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let store = store.clone();
                std::thread::spawn(move || serve(stream, &store));
            }
        });
        Collector { port, received }
    }

    /// Every span received so far, with its resource's `service.name`.
    fn spans(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        for export in &self.received.lock().unwrap().exports {
            for rs in &export.resource_spans {
                let service = rs
                    .resource
                    .as_ref()
                    .and_then(|r| text(&r.attributes, "service.name"))
                    .unwrap_or_default();
                for ss in &rs.scope_spans {
                    for s in &ss.spans {
                        out.push((service.clone(), s.clone()));
                    }
                }
            }
        }
        out
    }
}

/// Answers the HTTP/1.1 requests of one connection (kept alive).
fn serve(stream: std::net::TcpStream, store: &Mutex<Received>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut out = stream;
    loop {
        let mut request_line = String::new();
        if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
            return;
        }
        let mut length = 0;
        let mut authorization = String::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().unwrap();
            }
            if let Some((k, v)) = line.split_once(':')
                && k.eq_ignore_ascii_case("authorization")
            {
                authorization = v.trim().to_string();
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let status = if request_line.starts_with("POST /v1/traces ") {
            match ExportTraceServiceRequest::decode(body.as_slice()) {
                Ok(export) => {
                    let mut store = store.lock().unwrap();
                    store.exports.push(export);
                    store.authorizations.push(authorization);
                    "200 OK"
                }
                Err(_) => "400 Bad Request",
            }
        } else {
            "404 Not Found"
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n"
        );
        if out.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn value(attributes: &[KeyValue], key: &str) -> Option<any_value::Value> {
    attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.clone())
        .and_then(|AnyValue { value }| value)
}

fn text(attributes: &[KeyValue], key: &str) -> Option<String> {
    match value(attributes, key)? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

#[test]
fn a_search_is_exported_as_a_request_span_with_its_sql_statements() {
    let collector = Collector::start();
    let endpoint = format!("http://127.0.0.1:{}", collector.port);
    let mut server = Server::start_with_env(
        &["--otlp-endpoint", &endpoint, "--log-format", "json"],
        &[(
            "OTEL_EXPORTER_OTLP_HEADERS",
            "authorization=Bearer collector-token",
        )],
    );

    // A search with child tables (three per Patient), in the client's trace.
    let (status, headers, body) = get_with(
        server.port,
        "/fhir/Patient?birthdate=ge1901-02-03&_count=4",
        &format!("X-Request-ID: trace-me-7\r\ntraceparent: 00-{TRACE_ID}-{PARENT_ID}-01\r\n"),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "x-request-id"), Some("trace-me-7"));
    assert!(body.contains(r#""resourceType":"Patient""#), "{body}");
    // Without a traceparent: a trace of its own.
    let (status, _, _) = get_with(
        server.port,
        "/fhir/Patient/1",
        "X-Request-ID: own-trace\r\n",
    );
    assert_eq!(status, 200);

    // Shutdown exports what is queued.
    server.signal("TERM");
    let exit = server
        .wait(Duration::from_secs(30))
        .expect("the server stops");
    assert!(exit.success(), "{exit:?}: {:#?}", server.lines());

    // The log lines are as without trace export: the request's lines carry its id.
    let lines = server.lines();
    assert!(
        lines.iter().any(|l| {
            let e: serde_json::Value = serde_json::from_str(l).unwrap_or_default();
            e["message"] == "audit" && e["span"]["request_id"] == "trace-me-7"
        }),
        "{lines:#?}"
    );

    let spans = collector.spans();
    let authorizations = collector.received.lock().unwrap().authorizations.clone();
    assert!(
        !authorizations.is_empty() && authorizations.iter().all(|a| a == "Bearer collector-token"),
        "the collector's credentials from OTEL_EXPORTER_OTLP_HEADERS: {authorizations:?}"
    );
    assert!(!spans.is_empty(), "nothing exported: {:#?}", server.lines());
    assert!(spans.iter().all(|(service, _)| service == "fhir-facade"));
    let request = |id: &str| {
        spans
            .iter()
            .map(|(_, s)| s)
            .find(|s| text(&s.attributes, "request_id").as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no request span for {id}: {spans:#?}"))
    };
    let search = request("trace-me-7");
    assert_eq!(
        hex(&search.trace_id),
        TRACE_ID,
        "the client's trace is kept"
    );
    assert_eq!(hex(&search.parent_span_id), PARENT_ID);
    assert_eq!(search.name, "GET /fhir/{type}");
    assert_eq!(
        text(&search.attributes, "fhir.interaction").as_deref(),
        Some("search-type")
    );
    assert_eq!(
        text(&search.attributes, "fhir.resource_type").as_deref(),
        Some("Patient")
    );
    assert_eq!(
        value(&search.attributes, "http.response.status_code"),
        Some(any_value::Value::IntValue(200))
    );
    assert_eq!(
        text(&search.attributes, "http.request.method").as_deref(),
        Some("GET")
    );

    // Its statements: the page and one per child table, each a child of the request span.
    let sql: Vec<&Span> = spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s.parent_span_id == search.span_id)
        .collect();
    assert!(sql.len() >= 4, "page and child rows: {sql:#?}");
    for s in &sql {
        assert_eq!(s.trace_id, search.trace_id);
        assert_eq!(s.name, "SELECT");
        assert_eq!(text(&s.attributes, "db.system").as_deref(), Some("sqlite"));
        let statement = text(&s.attributes, "db.statement").unwrap();
        assert!(statement.starts_with("SELECT "), "{statement}");
    }
    assert!(
        sql.iter()
            .any(|s| text(&s.attributes, "db.statement").unwrap().contains('?')),
        "the statements are exported with their placeholders"
    );
    // Never a bound value: the date searched for is nowhere in what was exported.
    for (_, s) in &spans {
        let all = format!("{:?}", s.attributes);
        assert!(
            !all.contains("1901-02-03") && !all.contains("1901"),
            "{all}"
        );
    }

    // The server's own statements (the mapping's check at start-up) are not traced.
    assert!(
        spans
            .iter()
            .all(|(_, s)| s.name != "SELECT" || !s.parent_span_id.is_empty()),
        "SQL spans only under requests"
    );

    let read = request("own-trace");
    assert_ne!(read.trace_id, search.trace_id);
    assert!(read.parent_span_id.is_empty(), "a root span");
    assert_eq!(read.name, "GET /fhir/{type}/{id}");
}

#[test]
fn the_endpoint_is_a_configuration_key_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("facade.toml");
    std::fs::write(
        &config,
        "[server.telemetry]\notlp-endpoint = \"http://collector:4318\"\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fhir-facade"))
        .args(["--print-config", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let parsed: toml::Table = toml::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap();
    assert_eq!(
        parsed["server"]["otlp-endpoint"].as_str(),
        Some("http://collector:4318")
    );
    // Not a URL: the server does not start.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_fhir-facade"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "sqlite::memory:",
        ])
        .env("FHIR_FACADE_OTLP_ENDPOINT", "collector:4318")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--otlp-endpoint"), "{err}");
}
