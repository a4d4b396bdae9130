//! Logs and metrics, set up once at start-up.
//!
//! Logs: `RUST_LOG` chooses the level (default `info`); `--log-format` the format: `text`
//! (human-readable; coloured only when written to a terminal and `NO_COLOR` is unset) or
//! `json` (one object a line). Every line written while a request is served carries its
//! request id (see [`crate::http::logging`]).

pub mod metrics;

use std::io::IsTerminal;
use std::sync::Mutex;

use serde::Deserialize;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;

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
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let terminal = std::io::stdout().is_terminal();
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(false)
        .finish(std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let installed = match format {
        LogFormat::Text => builder
            .with_target(false)
            .with_ansi(colour(terminal))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
    if installed.is_ok() {
        *GUARD.lock().unwrap_or_else(|e| e.into_inner()) = Some(guard);
    }
}

/// Writes the log lines still queued (at exit).
pub fn finish() {
    drop(GUARD.lock().unwrap_or_else(|e| e.into_inner()).take());
}

/// Whether to colour the output: only on a terminal, unless `NO_COLOR` says not to.
fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
