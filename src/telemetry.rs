//! Logging, set up once: `RUST_LOG` chooses the level (default `info`).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber (a no-op if one is installed already, as in tests).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}
