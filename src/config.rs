//! Command line, environment and configuration file → typed settings, loaded once at
//! start-up. A flag wins over its environment variable, which wins over the file
//! (`--config`, see [`file`](mod@file)), which wins over the default.

pub mod file;

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::auth::settings::{AuthMode, AuthSettings, IntrospectionSettings};
use crate::db::{BudgetSettings, DbSettings};
use crate::export::ExportSettings;
use crate::export::store::S3Location;
use crate::request::{Handling, RequestLimits};
use crate::telemetry::LogFormat;

/// The sample database the server creates on first run.
pub const SAMPLE_DATABASE_URL: &str = "sqlite:data/sample.db";
/// Default listen address of `serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Default pool size of `serve`.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// Default seconds to wait for a database connection.
pub const DEFAULT_CONNECT_TIMEOUT: f64 = 5.0;
/// Default seconds one SQL statement may run.
pub const DEFAULT_STATEMENT_TIMEOUT: f64 = 10.0;
/// Default largest `_count`.
pub const DEFAULT_MAX_COUNT: usize = 1000;
/// Default most included resources per page.
pub const DEFAULT_MAX_INCLUDES: usize = 1000;

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
    Serve(Box<ServeArgs>),
    /// Create the sample legacy hospital database (schema and generated data) in an empty
    /// database.
    Seed(SeedArgs),
    /// Check a mapping against FHIR and a live database: every problem with its line and fix,
    /// then whether an index serves each search parameter and sort.
    ///
    /// Exit codes: 0 no problems, 1 problems found, 2 wrong usage, 3 could not run (database
    /// unreachable, mapping file unreadable).
    Check(CheckArgs),
    /// Show the SQL statements the server runs for a FHIR query, with their bound values, and
    /// with --analyze the database's plan of each; with --plan-only, the statements as
    /// planned, running none.
    ///
    /// Exit codes: 0 answered, 1 the query was refused or failed, 2 wrong usage, 3 could not
    /// run (database unreachable, mapping with problems: run `check`).
    Explain(ExplainArgs),
    /// Write a commented starter mapping.toml from a database's schema (tables, columns, keys,
    /// foreign keys, code values found); every guess carries a TODO.
    ///
    /// Exit codes: 0 written, 2 wrong usage, 3 could not run.
    Scaffold(ScaffoldArgs),
}

/// How a report is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// For people.
    Text,
    /// For CI and scripts.
    Json,
}

/// Options of `check`.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// The mapping file.
    #[arg(long, env = "FHIR_FACADE_MAPPING", default_value = "mapping.toml")]
    pub mapping: String,
    /// Database URL: sqlite:PATH, postgres://..., mysql://...
    #[arg(long, env = "FHIR_FACADE_DATABASE_URL", default_value = SAMPLE_DATABASE_URL)]
    pub database_url: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Options of `explain`.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The FHIR query, relative to the base: 'Observation?patient=12&code=8867-4&_count=5',
    /// 'Patient/1', 'Patient/1/$everything', 'Patient/1/Observation?...'.
    pub query: String,
    /// The mapping file.
    #[arg(long, env = "FHIR_FACADE_MAPPING", default_value = "mapping.toml")]
    pub mapping: String,
    /// Database URL: sqlite:PATH, postgres://..., mysql://...
    #[arg(long, env = "FHIR_FACADE_DATABASE_URL", default_value = SAMPLE_DATABASE_URL)]
    pub database_url: String,
    /// Also show the database's plan of each statement (PostgreSQL: EXPLAIN ANALYZE,
    /// MariaDB: ANALYZE, MySQL: EXPLAIN ANALYZE, which run the statement again, read-only;
    /// SQLite: EXPLAIN QUERY PLAN), full scans of large tables flagged.
    #[arg(long)]
    pub analyze: bool,
    /// Touch no data: print the statements as planned (the page, the count when a total is
    /// asked), and the statements that depend on the page's rows (child tables, _include,
    /// _revinclude, $everything) with their key list as a placeholder and when they run.
    /// With --analyze: the database's EXPLAIN (never ANALYZE) of the statements planned whole.
    #[arg(long)]
    pub plan_only: bool,
    /// With --analyze, flag full scans of tables of more rows than this.
    #[arg(long, default_value_t = crate::tools::explain::LARGE_TABLE_ROWS)]
    pub large_table_rows: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// Options of `scaffold`.
#[derive(Debug, Clone, Args)]
pub struct ScaffoldArgs {
    /// Database URL of the database to map: sqlite:PATH, postgres://..., mysql://...
    #[arg(long, env = "FHIR_FACADE_DATABASE_URL")]
    pub database_url: String,
    /// Where to write the mapping (default: standard output). An existing file is not
    /// overwritten.
    #[arg(long, short)]
    pub output: Option<String>,
}

/// Options of `serve`.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// A TOML configuration file whose `[server]` table sets any of these options (named as
    /// here, `-` or `_`); flags and environment variables override it.
    #[arg(long, env = "FHIR_FACADE_CONFIG", value_name = "FILE")]
    pub config: Option<String>,
    /// Print the effective configuration (as a `[server]` table, secrets redacted) and exit.
    #[arg(long)]
    pub print_config: bool,
    /// Log format: `text` (coloured on a terminal only) or `json` (one object a line).
    #[arg(long, env = "FHIR_FACADE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Export traces (a span per request, a child span per SQL statement, never its bound
    /// values) to this OpenTelemetry collector, over OTLP HTTP/protobuf: its base URL (e.g.
    /// http://otel-collector:4318; `/v1/traces` is added) or the full traces URL. Off unless
    /// set.
    #[arg(long, env = "FHIR_FACADE_OTLP_ENDPOINT", value_name = "URL")]
    pub otlp_endpoint: Option<String>,
    /// Address of the admin listener (metrics at /metrics, the console at /): never the public
    /// port; it answers without authorization, so keep it on loopback or a private network
    /// (e.g. 127.0.0.1:9464). Off unless set.
    #[arg(long, env = "FHIR_FACADE_ADMIN_LISTEN")]
    pub admin_listen: Option<String>,
    /// Seconds in-flight requests get to finish after SIGTERM or SIGINT (new connections are
    /// refused at once).
    #[arg(long, env = "FHIR_FACADE_SHUTDOWN_TIMEOUT", default_value_t = 30)]
    pub shutdown_timeout: u64,
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
    #[arg(long, env = "FHIR_FACADE_LISTEN", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Public base URL of the FHIR endpoint (default: http://LISTEN/fhir).
    #[arg(long, env = "FHIR_FACADE_BASE_URL")]
    pub base_url: Option<String>,
    /// Maximum database connections.
    #[arg(long, env = "FHIR_FACADE_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: u32,
    /// Seconds to wait for a database connection.
    #[arg(long, env = "FHIR_FACADE_CONNECT_TIMEOUT", default_value_t = DEFAULT_CONNECT_TIMEOUT)]
    pub connect_timeout: f64,
    /// Seconds one SQL statement may run.
    #[arg(long, env = "FHIR_FACADE_STATEMENT_TIMEOUT", default_value_t = DEFAULT_STATEMENT_TIMEOUT)]
    pub statement_timeout: f64,
    /// Largest page size a client may ask for with `_count`.
    #[arg(long, env = "FHIR_FACADE_MAX_COUNT", default_value_t = DEFAULT_MAX_COUNT)]
    pub max_count: usize,
    /// How many resources a chained or `_has` search parameter may cross
    /// (`subject:Patient.organization.name` crosses 2).
    #[arg(long, env = "FHIR_FACADE_MAX_CHAIN_DEPTH", default_value_t = crate::request::search::DEFAULT_MAX_CHAIN_DEPTH)]
    pub max_chain_depth: usize,
    /// Most resources `_include`/`_revinclude` add to one page (more are left out, with a
    /// warning in the Bundle).
    #[arg(long, env = "FHIR_FACADE_MAX_INCLUDES", default_value_t = DEFAULT_MAX_INCLUDES)]
    pub max_includes: usize,
    /// Secret that signs paging cursors; instances behind one load balancer must share it
    /// (default: a random secret made at start-up, so cursors do not outlive the process).
    #[arg(long, env = "FHIR_FACADE_CURSOR_SECRET", hide_env_values = true)]
    pub cursor_secret: Option<String>,
    /// Add an `X-Sql-Statements` header with the number of SQL statements a request ran.
    #[arg(long, env = "FHIR_FACADE_EXPOSE_SQL_COUNT", default_value_t = false)]
    pub expose_sql_count: bool,
    /// Authorization and browser access.
    #[command(flatten)]
    pub auth: AuthArgs,
    /// How unknown or unsupported parameters are handled when a request does not say with
    /// `Prefer: handling=...`: `lenient` ignores them and reports them in the Bundle (FHIR's
    /// default), `strict` refuses the request with a 400 naming them.
    #[arg(long, env = "FHIR_FACADE_HANDLING", default_value = "lenient")]
    pub handling: Handling,
    /// What one request may ask and cost (admission limits, database budget, HTTP).
    #[command(flatten)]
    pub cost: CostArgs,
    /// Bulk Data `$export`.
    #[command(flatten)]
    pub export: ExportArgs,
}

/// Options of Bulk Data `$export` (off unless `--export-dir` or `--export-store` is given).
#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    /// Serve Bulk Data `$export`, writing its NDJSON files to this directory (created if
    /// missing). Without it, `$export` is not offered.
    #[arg(long, env = "FHIR_FACADE_EXPORT_DIR")]
    pub export_dir: Option<std::path::PathBuf>,
    /// Serve Bulk Data `$export`, writing its files to an S3-compatible bucket instead
    /// (`s3://bucket/prefix`), downloaded at pre-signed URLs valid for the retention time.
    /// Endpoint, region and credentials come from the standard `AWS_*` environment variables
    /// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ALLOW_HTTP`).
    #[arg(long, env = "FHIR_FACADE_EXPORT_STORE", conflicts_with = "export_dir")]
    pub export_store: Option<String>,
    /// Export jobs that read the database at once (others wait their turn); each reads one
    /// page at a time, so interactive requests keep the rest of the connections.
    #[arg(long, env = "FHIR_FACADE_EXPORT_CONCURRENCY", default_value_t = ExportSettings::default().concurrency)]
    pub export_concurrency: usize,
    /// Seconds a finished export job and its files are kept.
    #[arg(long, env = "FHIR_FACADE_EXPORT_RETENTION", default_value_t = ExportSettings::default().retention.as_secs_f64())]
    pub export_retention: f64,
    /// Most bytes one export job may write (beyond: the job fails).
    #[arg(long, env = "FHIR_FACADE_EXPORT_MAX_BYTES", default_value_t = ExportSettings::default().max_bytes)]
    pub export_max_bytes: u64,
    /// An export file is split when it would grow beyond this many bytes.
    #[arg(long, env = "FHIR_FACADE_EXPORT_FILE_BYTES", default_value_t = ExportSettings::default().file_bytes)]
    pub export_file_bytes: u64,
    /// Resources an export reads per SQL page.
    #[arg(long, env = "FHIR_FACADE_EXPORT_PAGE_SIZE", default_value_t = ExportSettings::default().page_size)]
    pub export_page_size: usize,
}

impl ExportArgs {
    /// The checked settings (`None`: export is off).
    pub fn settings(&self) -> Result<Option<ExportSettings>, String> {
        let s3 = match &self.export_store {
            Some(url) => Some(S3Location::parse(url).map_err(|e| format!("--export-store: {e}"))?),
            None => None,
        };
        let dir = match (&self.export_dir, &s3) {
            (Some(dir), _) => dir.clone(),
            (None, Some(_)) => ExportSettings::default().dir,
            (None, None) => return Ok(None),
        };
        Ok(Some(ExportSettings {
            dir,
            s3,
            concurrency: self.export_concurrency.max(1),
            retention: seconds("--export-retention", self.export_retention)?,
            max_bytes: self.export_max_bytes,
            file_bytes: self.export_file_bytes.max(1),
            page_size: self.export_page_size.max(1),
        }))
    }
}

/// Bounds on what one request may ask and cost: checked before anything is planned (admission
/// limits), while it uses the database (budget), and while it is received (HTTP).
#[derive(Debug, Clone, Args)]
pub struct CostArgs {
    /// Most parameters in one request (query string and form body together).
    #[arg(long, env = "FHIR_FACADE_MAX_PARAMS", default_value_t = RequestLimits::default().max_params)]
    pub max_params: usize,
    /// Most values one parameter may list (its comma-separated OR list).
    #[arg(long, env = "FHIR_FACADE_MAX_VALUES_PER_PARAM", default_value_t = RequestLimits::default().max_values_per_param)]
    pub max_values_per_param: usize,
    /// Most values all parameters of a request may list together.
    #[arg(long, env = "FHIR_FACADE_MAX_TOTAL_VALUES", default_value_t = RequestLimits::default().max_total_values)]
    pub max_total_values: usize,
    /// Most resources all chains and `_has` of one request may cross together.
    #[arg(long, env = "FHIR_FACADE_MAX_HOPS", default_value_t = RequestLimits::default().max_hops)]
    pub max_hops: usize,
    /// Most `_sort` keys.
    #[arg(long, env = "FHIR_FACADE_MAX_SORT_KEYS", default_value_t = RequestLimits::default().max_sort_keys)]
    pub max_sort_keys: usize,
    /// Most `_include` and `_revinclude` parameters in one request.
    #[arg(long, env = "FHIR_FACADE_MAX_INCLUDE_PARAMS", default_value_t = RequestLimits::default().max_includes)]
    pub max_include_params: usize,
    /// Longest request URL (path and query string) in bytes (longer: 414).
    #[arg(long, env = "FHIR_FACADE_MAX_URL_BYTES", default_value_t = RequestLimits::default().max_url_bytes)]
    pub max_url_bytes: usize,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, env = "FHIR_FACADE_MAX_BODY_BYTES", default_value_t = RequestLimits::default().max_body_bytes)]
    pub max_body_bytes: usize,
    /// Largest size of all request headers together in bytes (larger: 431).
    #[arg(long, env = "FHIR_FACADE_MAX_HEADER_BYTES", default_value_t = RequestLimits::default().max_header_bytes)]
    pub max_header_bytes: usize,
    /// Seconds all the statements of one request may take together.
    #[arg(long, env = "FHIR_FACADE_REQUEST_TIMEOUT", default_value_t = 30.0)]
    pub request_timeout: f64,
    /// Seconds a request waits for its turn to use the database when `--max-connections`
    /// requests already do (then: 503 with `Retry-After`).
    #[arg(long, env = "FHIR_FACADE_QUEUE_TIMEOUT", default_value_t = 2.0)]
    pub queue_timeout: f64,
    /// Database connections (of `--max-connections`) kept for reads by id, so that they stay
    /// fast under a flood of searches.
    #[arg(long, env = "FHIR_FACADE_RESERVED_FOR_READS", default_value_t = BudgetSettings::default().reserved_for_reads)]
    pub reserved_for_reads: u32,
    /// Seconds a client may take to send a request body.
    #[arg(long, env = "FHIR_FACADE_BODY_TIMEOUT", default_value_t = 10.0)]
    pub body_timeout: f64,
    /// The `Cache-Control` header of every response (empty: none). Responses carry patient
    /// data: the default keeps them out of caches.
    #[arg(long, env = "FHIR_FACADE_CACHE_CONTROL", default_value = "no-store")]
    pub cache_control: String,
}

/// HTTP settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// How long a client may take to send a request body.
    pub body_timeout: Duration,
    /// The `Cache-Control` header of every response, if any.
    pub cache_control: Option<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            body_timeout: Duration::from_secs(10),
            cache_control: Some("no-store".into()),
        }
    }
}

/// Options of authorization (SMART on FHIR) and CORS.
#[derive(Debug, Clone, Args)]
pub struct AuthArgs {
    /// `none` (local use: everything is served to everyone) or `smart` (bearer access tokens,
    /// SMART scopes enforced in every SQL statement).
    #[arg(long = "auth", env = "FHIR_FACADE_AUTH", value_enum, default_value_t = AuthMode::None)]
    pub mode: AuthMode,
    /// The authorization server that issues the access tokens (their `iss`).
    #[arg(long, env = "FHIR_FACADE_ISSUER")]
    pub issuer: Option<String>,
    /// An accepted token audience (`aud`); repeat for several (default: the base URL).
    #[arg(
        long = "audience",
        env = "FHIR_FACADE_AUDIENCES",
        value_delimiter = ','
    )]
    pub audiences: Vec<String>,
    /// The issuer's public keys (RS256, ES256): a JWKS file or an HTTPS URL.
    #[arg(long, env = "FHIR_FACADE_JWKS", value_name = "FILE_OR_URL")]
    pub jwks: Option<String>,
    /// Accept HS256 tokens signed with this shared secret (development only).
    #[arg(long, env = "FHIR_FACADE_HS256_SECRET", hide_env_values = true)]
    pub hs256_secret: Option<String>,
    /// RFC 7662 token introspection endpoint, for opaque access tokens.
    #[arg(long, env = "FHIR_FACADE_INTROSPECTION_URL")]
    pub introspection_url: Option<String>,
    /// This server's client id at the introspection endpoint.
    #[arg(long, env = "FHIR_FACADE_INTROSPECTION_CLIENT_ID")]
    pub introspection_client_id: Option<String>,
    /// This server's client secret at the introspection endpoint.
    #[arg(
        long,
        env = "FHIR_FACADE_INTROSPECTION_CLIENT_SECRET",
        hide_env_values = true
    )]
    pub introspection_client_secret: Option<String>,
    /// The authorization endpoint, advertised to apps (SMART configuration, CapabilityStatement).
    #[arg(long, env = "FHIR_FACADE_AUTHORIZE_URL")]
    pub authorize_url: Option<String>,
    /// The token endpoint, advertised to apps.
    #[arg(long, env = "FHIR_FACADE_TOKEN_URL")]
    pub token_url: Option<String>,
    /// Seconds of clock difference allowed on a token's `exp` and `nbf`.
    #[arg(long, env = "FHIR_FACADE_CLOCK_SKEW", default_value_t = 30)]
    pub clock_skew: u64,
    /// An origin allowed to call the API from a browser (CORS); repeat for several, `*` for
    /// any.
    #[arg(
        long = "cors-origin",
        env = "FHIR_FACADE_CORS_ORIGINS",
        value_delimiter = ','
    )]
    pub cors_origins: Vec<String>,
}

impl AuthArgs {
    /// The checked settings.
    pub fn settings(&self) -> Result<AuthSettings, String> {
        let introspection = self
            .introspection_url
            .as_ref()
            .map(|url| IntrospectionSettings {
                url: url.clone(),
                client_id: self.introspection_client_id.clone().unwrap_or_default(),
                client_secret: self.introspection_client_secret.clone().unwrap_or_default(),
            });
        let s = AuthSettings {
            mode: self.mode,
            issuer: self.issuer.clone(),
            audiences: self.audiences.clone(),
            jwks: self.jwks.clone(),
            hs256_secret: self.hs256_secret.clone(),
            introspection,
            authorize_url: self.authorize_url.clone(),
            token_url: self.token_url.clone(),
            clock_skew: Duration::from_secs(self.clock_skew),
            cors_origins: self.cors_origins.clone(),
            ..AuthSettings::default()
        };
        s.check()?;
        Ok(s)
    }
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
    /// How unknown parameters are handled when a request does not say.
    pub handling: Handling,
    /// Admission limits.
    pub limits: RequestLimits,
    /// HTTP settings.
    pub http: HttpSettings,
    /// Authorization (SMART on FHIR) and CORS.
    pub auth: AuthSettings,
    /// Bulk Data `$export` (`None`: not offered).
    pub export: Option<ExportSettings>,
    /// Operations: the admin listener, shutdown.
    pub ops: OpsSettings,
}

/// Settings of operations: the admin listener, shutdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpsSettings {
    /// Address of the admin listener (metrics, console), if any.
    pub admin_listen: Option<String>,
    /// How long in-flight requests get to finish at shutdown.
    pub shutdown_timeout: Duration,
}

impl Default for OpsSettings {
    fn default() -> Self {
        OpsSettings {
            admin_listen: None,
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

fn seconds(name: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("{name} must be a positive number of seconds, not {s}"))
}

impl Settings {
    /// `serve`'s defaults (those of its flags) over `database_url` with the mapping at
    /// `mapping_path`, for embedding the server (tests, benchmarks): change fields with
    /// `Settings { max_count: 50, ..Settings::new(url, path) }`.
    pub fn new(database_url: &str, mapping_path: &str) -> Settings {
        Settings {
            mapping_path: mapping_path.to_string(),
            db: DbSettings {
                url: database_url.to_string(),
                replicas: Vec::new(),
                max_connections: DEFAULT_MAX_CONNECTIONS,
                connect_timeout: Duration::from_secs_f64(DEFAULT_CONNECT_TIMEOUT),
                statement_timeout: Duration::from_secs_f64(DEFAULT_STATEMENT_TIMEOUT),
                budget: BudgetSettings::default(),
            },
            listen: DEFAULT_LISTEN.to_string(),
            base_url: None,
            create_sample: false,
            expose_sql_count: false,
            max_count: DEFAULT_MAX_COUNT,
            max_chain_depth: crate::request::search::DEFAULT_MAX_CHAIN_DEPTH,
            max_includes: DEFAULT_MAX_INCLUDES,
            cursor_secret: None,
            handling: Handling::default(),
            limits: RequestLimits::default(),
            http: HttpSettings::default(),
            auth: AuthSettings::default(),
            export: None,
            ops: OpsSettings::default(),
        }
    }

    /// Checks and converts `serve` options.
    pub fn from_args(a: &ServeArgs) -> Result<Settings, String> {
        let c = &a.cost;
        Ok(Settings {
            mapping_path: a.mapping.clone(),
            db: DbSettings {
                url: a.database_url.clone(),
                replicas: a.replica_urls.clone(),
                max_connections: a.max_connections.max(1),
                connect_timeout: seconds("--connect-timeout", a.connect_timeout)?,
                statement_timeout: seconds("--statement-timeout", a.statement_timeout)?,
                budget: BudgetSettings {
                    request_timeout: seconds("--request-timeout", c.request_timeout)?,
                    queue_timeout: seconds("--queue-timeout", c.queue_timeout)?,
                    reserved_for_reads: c.reserved_for_reads,
                },
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
            cursor_secret: a.cursor_secret.clone().filter(|s| !s.is_empty()),
            handling: a.handling,
            limits: RequestLimits {
                max_params: c.max_params,
                max_values_per_param: c.max_values_per_param,
                max_total_values: c.max_total_values,
                max_hops: c.max_hops,
                max_sort_keys: c.max_sort_keys,
                max_includes: c.max_include_params,
                max_url_bytes: c.max_url_bytes,
                max_body_bytes: c.max_body_bytes,
                max_header_bytes: c.max_header_bytes,
            },
            http: HttpSettings {
                body_timeout: seconds("--body-timeout", c.body_timeout)?,
                cache_control: Some(c.cache_control.trim().to_string()).filter(|v| !v.is_empty()),
            },
            auth: a.auth.settings()?,
            export: a.export.settings()?,
            ops: OpsSettings {
                admin_listen: a.admin_listen.clone().filter(|s| !s.trim().is_empty()),
                shutdown_timeout: Duration::from_secs(a.shutdown_timeout),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve(args: &[&str]) -> Result<Settings, String> {
        let cli =
            Cli::try_parse_from([&["fhir-facade"], args].concat()).map_err(|e| e.to_string())?;
        Settings::from_args(&cli.serve)
    }

    #[test]
    fn the_embedding_constructor_has_the_flags_defaults() {
        let parsed = serve(&[]).unwrap();
        let new = Settings::new(SAMPLE_DATABASE_URL, "mapping.toml");
        // Compared through Debug: every field, without a PartialEq on each settings type.
        let show = |s: &Settings| {
            let mut s = s.clone();
            s.create_sample = false;
            s.cursor_secret = None;
            format!("{s:?}")
        };
        assert_eq!(show(&new), show(&parsed));
    }

    #[test]
    fn export_options() {
        assert!(serve(&[]).unwrap().export.is_none());
        let e = serve(&["--export-dir", "out"]).unwrap().export.unwrap();
        assert!(e.s3.is_none() && e.dir == std::path::Path::new("out"));
        let e = serve(&["--export-store", "s3://b/x/y"])
            .unwrap()
            .export
            .unwrap();
        assert_eq!(
            e.s3,
            Some(S3Location {
                bucket: "b".into(),
                prefix: "x/y".into()
            })
        );
        let e = serve(&["--export-store", "b/x"]).unwrap_err();
        assert!(e.contains("--export-store"), "{e}");
        // One place or the other.
        assert!(serve(&["--export-dir", "out", "--export-store", "s3://b"]).is_err());
    }

    #[test]
    fn authorization_options() {
        let s = serve(&[]).unwrap();
        assert_eq!(s.auth.mode, AuthMode::None);
        let s = serve(&[
            "--auth",
            "smart",
            "--issuer",
            "https://auth.example.org",
            "--jwks",
            "https://auth.example.org/jwks",
            "--audience",
            "https://a.example.org/fhir",
            "--audience",
            "https://b.example.org/fhir",
            "--clock-skew",
            "5",
            "--cors-origin",
            "https://app.example.org",
        ])
        .unwrap();
        assert_eq!(s.auth.mode, AuthMode::Smart);
        assert_eq!(s.auth.audiences.len(), 2);
        assert_eq!(s.auth.clock_skew, Duration::from_secs(5));
        assert_eq!(s.auth.cors_origins, ["https://app.example.org"]);
        // Authorization options without --auth smart are refused, not ignored.
        let e = serve(&["--jwks", "keys.json"]).unwrap_err();
        assert!(e.contains("--auth smart"), "{e}");
        assert!(serve(&["--auth", "maybe"]).is_err());
    }
}
