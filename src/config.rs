//! Command line and environment → typed settings, loaded once at start-up.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::db::DbSettings;

/// The sample database the server creates on first run.
pub const SAMPLE_DATABASE_URL: &str = "sqlite:data/sample.db";

/// fhir-facade: a read-only FHIR R4 API over an existing relational database.
#[derive(Debug, Parser)]
#[command(version, about, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of `serve`, also accepted without the subcommand.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve FHIR over the database (the default).
    Serve(ServeArgs),
    /// Create the sample legacy hospital database (schema and generated data) in an empty
    /// database.
    Seed(SeedArgs),
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// The mapping file.
    #[arg(long, env = "FHIR_FACADE_MAPPING", default_value = "mapping.toml")]
    pub mapping: String,
    /// Database URL: sqlite:PATH, postgres://..., mysql://... The default sample database is
    /// created on first run.
    #[arg(long, env = "FHIR_FACADE_DATABASE_URL", default_value = SAMPLE_DATABASE_URL)]
    pub database_url: String,
    /// A read replica of the database (repeat for several; in the environment, separate them
    /// with commas). Requests are spread over the database and its replicas.
    #[arg(
        long = "replica-url",
        env = "FHIR_FACADE_REPLICA_URLS",
        value_delimiter = ','
    )]
    pub replica_urls: Vec<String>,
    /// Address to listen on.
    #[arg(long, env = "FHIR_FACADE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Public base URL of the FHIR endpoint (default: http://LISTEN/fhir).
    #[arg(long, env = "FHIR_FACADE_BASE_URL")]
    pub base_url: Option<String>,
    /// Maximum database connections.
    #[arg(long, env = "FHIR_FACADE_MAX_CONNECTIONS", default_value_t = 10)]
    pub max_connections: u32,
    /// Seconds to wait for a database connection.
    #[arg(long, env = "FHIR_FACADE_CONNECT_TIMEOUT", default_value_t = 5.0)]
    pub connect_timeout: f64,
    /// Seconds one SQL statement may run.
    #[arg(long, env = "FHIR_FACADE_STATEMENT_TIMEOUT", default_value_t = 10.0)]
    pub statement_timeout: f64,
    /// Largest page size a client may ask for with `_count`.
    #[arg(long, env = "FHIR_FACADE_MAX_COUNT", default_value_t = 1000)]
    pub max_count: usize,
    /// How many resources a chained or `_has` search parameter may cross
    /// (`subject:Patient.organization.name` crosses 2).
    #[arg(long, env = "FHIR_FACADE_MAX_CHAIN_DEPTH", default_value_t = crate::request::search::DEFAULT_MAX_CHAIN_DEPTH)]
    pub max_chain_depth: usize,
    /// Most resources `_include`/`_revinclude` add to one page (more are left out, with a
    /// warning in the Bundle).
    #[arg(long, env = "FHIR_FACADE_MAX_INCLUDES", default_value_t = 1000)]
    pub max_includes: usize,
    /// Secret that signs paging cursors; instances behind one load balancer must share it
    /// (default: derived from the mapping file, which they share anyway).
    #[arg(long, env = "FHIR_FACADE_CURSOR_SECRET", hide_env_values = true)]
    pub cursor_secret: Option<String>,
    /// Add an `X-Sql-Statements` header with the number of SQL statements a request ran.
    #[arg(long, env = "FHIR_FACADE_EXPOSE_SQL_COUNT", default_value_t = false)]
    pub expose_sql_count: bool,
}

/// Options of `seed`.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// Database URL of an empty database.
    #[arg(long, env = "FHIR_FACADE_DATABASE_URL", default_value = SAMPLE_DATABASE_URL)]
    pub database_url: String,
    /// Number of patients to generate.
    #[arg(long, default_value_t = 300)]
    pub patients: u32,
    /// Random seed (the same seed and size always give the same data).
    #[arg(long, default_value_t = crate::seed::DEFAULT_SEED)]
    pub seed: u64,
}

/// Everything `serve` needs, checked.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Path of the mapping file.
    pub mapping_path: String,
    /// Database connection.
    pub db: DbSettings,
    /// Listen address (`host:port`; port 0 picks a free port).
    pub listen: String,
    /// Public base URL, if configured.
    pub base_url: Option<String>,
    /// Create the sample database when it does not exist.
    pub create_sample: bool,
    /// Expose the SQL statement count header.
    pub expose_sql_count: bool,
    /// Largest `_count`.
    pub max_count: usize,
    /// Most resources a chain or `_has` may cross.
    pub max_chain_depth: usize,
    /// Most included resources per page.
    pub max_includes: usize,
    /// Cursor signing secret.
    pub cursor_secret: Option<String>,
}

fn seconds(name: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{name} must be a positive number of seconds, not {s}"))
}

impl Settings {
    /// Checks and converts `serve` options.
    pub fn from_args(a: &ServeArgs) -> Result<Settings, String> {
        Ok(Settings {
            mapping_path: a.mapping.clone(),
            db: DbSettings {
                url: a.database_url.clone(),
                replicas: a.replica_urls.clone(),
                max_connections: a.max_connections.max(1),
                connect_timeout: seconds("--connect-timeout", a.connect_timeout)?,
                statement_timeout: seconds("--statement-timeout", a.statement_timeout)?,
            },
            listen: a.listen.clone(),
            base_url: a
                .base_url
                .clone()
                .map(|u| u.trim_end_matches('/').to_string()),
            create_sample: a.database_url == SAMPLE_DATABASE_URL,
            expose_sql_count: a.expose_sql_count,
            max_count: a.max_count.max(1),
            max_chain_depth: a.max_chain_depth,
            max_includes: a.max_includes,
            cursor_secret: a.cursor_secret.clone(),
        })
    }
}
