//! The operator's commands besides `serve` and `seed`, as library functions (so that an admin
//! console can call them too): [`check`] a mapping against a live database with index advice,
//! [`explain`] the SQL of a FHIR query (or with [`explain_plan`] only its plan, running
//! nothing), [`scaffold`] a starter mapping from a schema.
//!
//! Each returns a report value that renders as text for people and JSON for CI; the binary
//! only parses its arguments, calls them and prints.

pub mod check;
pub mod explain;
pub mod explain_plan;
pub mod indexes;
pub mod scaffold;

use std::time::Duration;

use crate::db::{BudgetSettings, Database, DbError, DbSettings};
use crate::mapping::MappingLoadError;
use crate::sql::Caps;

/// Exit code: the command ran and found nothing wrong.
pub const EXIT_OK: u8 = 0;
/// Exit code: the command ran and found problems (`check`), or the query was refused
/// (`explain`).
pub const EXIT_PROBLEMS: u8 = 1;
/// Exit code: wrong command-line usage (clap's own code).
pub const EXIT_USAGE: u8 = 2;
/// Exit code: the command could not run (database unreachable, file unreadable).
pub const EXIT_CANNOT_RUN: u8 = 3;

/// Why a command could not run.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The database could not be opened or failed.
    #[error("database: {0}")]
    Db(#[from] DbError),
    /// The mapping file could not be read or parsed.
    #[error(transparent)]
    Mapping(#[from] MappingLoadError),
    /// The sample database could not be created.
    #[error("cannot create the sample database: {0}")]
    Sample(String),
    /// A file could not be written.
    #[error("{0}")]
    Io(String),
}

/// Opens a small read-only pool on `url` (creating the sample SQLite database there first
/// when `create_sample`) and probes what the database can do, as `serve` does.
pub async fn connect(url: &str, create_sample: bool) -> Result<(Database, Caps), ToolError> {
    if create_sample {
        crate::seed::ensure_sample(url)
            .await
            .map_err(|e| ToolError::Sample(format!("{e:#}")))?;
    }
    let settings = DbSettings {
        url: url.to_string(),
        replicas: Vec::new(),
        max_connections: 4,
        connect_timeout: Duration::from_secs(5),
        statement_timeout: Duration::from_secs(60),
        budget: BudgetSettings {
            request_timeout: Duration::from_secs(600),
            queue_timeout: Duration::from_secs(60),
            reserved_for_reads: 0,
        },
    };
    let db = Database::connect(&settings).await?;
    let caps = Caps {
        dialect: db.dialect(),
        accents: db.probe_accents().await,
    };
    Ok((db, caps))
}
