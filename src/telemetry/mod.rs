//! Logs and metrics, set up once at start-up.
//!
//! Logs: `RUST_LOG` chooses the level (default `info`); `--log-format` the format: `text`
//! (human-readable; coloured only when written to a terminal and `NO_COLOR` is unset) or
//! `json` (one object a line). Every line written while a request is served carries its
//! request id (see [`crate::http::logging`]).

pub mod metrics;

use std::io::IsTerminal;

use serde::Deserialize;
use tracing_subscriber::EnvFilter;

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
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    let _ = match format {
        LogFormat::Text => builder
            .with_target(false)
            .with_ansi(colour(std::io::stdout().is_terminal()))
            .try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// Whether to colour the output: only on a terminal, unless `NO_COLOR` says not to.
fn colour(terminal: bool) -> bool {
    terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
