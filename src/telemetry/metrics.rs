//! Metrics in the Prometheus text format, through the `metrics` facade and
//! `metrics-exporter-prometheus`. Recorded only when the admin listener is on (without a
//! recorder the `metrics` macros do nothing); served at `/metrics` of the admin address.
//!
//! | metric | kind | labels |
//! |---|---|---|
//! | `fhir_http_requests_total` | counter | `type`, `interaction`, `status` |
//! | `fhir_http_request_duration_seconds` | histogram | `type`, `interaction` |
//! | `fhir_sql_statements_per_request` | histogram | `interaction` |
//! | `fhir_sql_statement_duration_seconds` | histogram | |
//! | `fhir_db_pool_connections` | gauge | `copy` (0: primary, then replicas) |
//! | `fhir_db_pool_idle_connections` | gauge | `copy` |
//! | `fhir_db_requests_waiting` | gauge | |
//! | `fhir_db_copy_up` | gauge (1 or 0) | `copy` |

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Requests answered, by resource type, interaction and status.
pub const HTTP_REQUESTS: &str = "fhir_http_requests_total";
/// Time to answer a request (to its response head), by resource type and interaction.
pub const HTTP_DURATION: &str = "fhir_http_request_duration_seconds";
/// SQL statements per request, by interaction.
pub const SQL_PER_REQUEST: &str = "fhir_sql_statements_per_request";
/// Time of one SQL statement, from being sent to its last row.
pub const SQL_DURATION: &str = "fhir_sql_statement_duration_seconds";
/// Connections open in a copy's pool.
pub const POOL_CONNECTIONS: &str = "fhir_db_pool_connections";
/// Idle connections in a copy's pool.
pub const POOL_IDLE: &str = "fhir_db_pool_idle_connections";
/// Requests waiting for a database slot.
pub const REQUESTS_WAITING: &str = "fhir_db_requests_waiting";
/// Whether a copy of the database is in the rotation (1) or resting after a failure (0).
pub const COPY_UP: &str = "fhir_db_copy_up";

/// Histogram buckets in seconds (from 1 ms to 10 s).
const SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Buckets of statements per request.
const STATEMENTS: &[f64] = &[1.0, 2.0, 3.0, 5.0, 8.0, 13.0, 21.0, 50.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Whether metrics are recorded in this process (so that labels are not even made when not).
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

/// Installs the process's recorder (once; later calls return the same handle), with a task
/// that keeps its histograms compact.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(SECONDS)
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        metrics_exporter_prometheus::Matcher::Full(SQL_PER_REQUEST.into()),
                        STATEMENTS,
                    )
                })
                .expect("metric buckets are not empty")
                .build_recorder();
            let handle = recorder.handle();
            // Another recorder (a test's) may be installed already; the handle still renders.
            let _ = metrics::set_global_recorder(recorder);
            let upkeep = handle.clone();
            std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(Duration::from_secs(5));
                        upkeep.run_upkeep();
                    }
                })
                .expect("spawn the metrics upkeep thread");
            handle
        })
        .clone()
}
