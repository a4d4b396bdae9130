//! Logs and metrics, set up once at start-up.
//!
//! Logs: `RUST_LOG` chooses the level (default `info`); `--log-format` the format: `text`
//! (human-readable; coloured only when written to a terminal and `NO_COLOR` is unset) or
//! `json` (one object a line). Every line written while a request is served carries its
//! request id (see [`crate::http::logging`]).
//!
//! Traces: with `--otlp-endpoint`, the request and SQL spans are also exported to an
//! OpenTelemetry collector (see [`otel`]).

pub mod metrics;
pub mod otel;

use std::io::IsTerminal;
use std::sync::Mutex;

use serde::Deserialize;
use tracing_appender::non_blocking::{NonBlocking, WorkerGuard};
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// Keeps the log writer's thread running; dropped by [`finish`].
static GUARD: Mutex<Option<WorkerGuard>> = Mutex::new(None);

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line (`timestamp`, `level`, `target`, the event's fields flattened,
    /// `span` with the request id).
    Json,
}

/// Installs the global subscriber (a no-op if one is installed already, as in tests).
///
/// Lines are handed to a writer thread that writes them to standard output in batches: a
/// request does not wait for a write to the terminal or pipe (a system call per line made the
/// log line of each request cost a third of the throughput of cheap requests). No line is
/// dropped: when the writer falls behind, requests wait for it. [`finish`] writes what is left.
pub fn init(format: LogFormat) {
    let _ = install(format, None);
}

/// [`init`], and with `otlp_endpoint` the export of the request and SQL spans to that
/// OpenTelemetry collector (within a Tokio runtime). [`finish`] exports what is left.
pub fn init_serving(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<(), otel::OtelError> {
    install(format, otlp_endpoint)
}

fn install(format: LogFormat, otlp_endpoint: Option<&str>) -> Result<(), otel::OtelError> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stdout());
    let installed = match otlp_endpoint.map(str::trim).filter(|e| !e.is_empty()) {
        // As without trace export support: one global filter.
        None => tracing_subscriber::registry()
            .with(filter)
            .with(lines(format, writer))
            .try_init(),
        // The filter of `RUST_LOG` for the lines only (the export takes its own spans at any
        // level), and the SQL spans, for the export only, left out of the lines: a line written
        // during a statement names the request's span, as every other line does.
        Some(endpoint) => {
            let traces = otel::layer(endpoint)?;
            let only_lines = filter.and(filter_fn(|m| m.target() != otel::SQL_TARGET));
            tracing_subscriber::registry()
                .with(lines(format, writer).with_filter(only_lines))
                .with(traces)
                .try_init()
        }
    };
    if installed.is_ok() {
        *GUARD.lock().unwrap_or_else(|e| e.into_inner()) = Some(guard);
    }
    Ok(())
}

/// The layer that writes the log lines in `format` to `writer`.
fn lines<S>(format: LogFormat, writer: NonBlocking) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    let terminal = std::io::stdout().is_terminal();
    match format {
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .with_target(false)
            .with_ansi(colour(terminal))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .with_writer(writer)
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .boxed(),
    }
}

/// Exports the spans and writes the log lines still queued (at exit).
pub fn finish() {
    otel::shutdown();
    drop(GUARD.lock().unwrap_or_else(|e| e.into_inner()).take());
}

/// Whether to colour the output: only on a terminal, unless `NO_COLOR` says not to.
fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
