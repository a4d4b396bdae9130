//! `spawn_app`: a running server on a random port over a seeded sample database, on SQLite
//! and on every database server that can be reached (see `support/servers.rs`).
//!
//! The sample data is the same on every backend (same generator, same seed), so expected
//! values are always read from the SQLite copy with SQL written in the tests.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use fhir_facade::config::Settings;
use fhir_facade::sql::Dialect;
use fhir_facade::startup::Application;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::servers;

/// The repository's sample mapping.
pub const MAPPING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");

/// Patients in the test database.
pub const PATIENTS: u32 = 120;

/// Name of the test database created on the servers.
pub const SERVER_DB: &str = "fhir_facade_api_test";

/// Runs `f` to completion on a runtime of its own (for one-time set-up from any test).
pub(crate) fn block_on<F: std::future::Future + Send + 'static>(f: F) -> F::Output
where
    F::Output: Send + 'static,
{
    std::thread::spawn(move || tokio::runtime::Runtime::new().unwrap().block_on(f))
        .join()
        .expect("set-up thread")
}

pub(crate) async fn seed(url: &str) {
    let opts = fhir_facade::seed::SeedOptions {
        patients: PATIENTS,
        ..Default::default()
    };
    fhir_facade::seed::seed_database(url, &opts)
        .await
        .expect("seed the sample database");
}

/// A seeded SQLite sample database shared by every test of this binary (the server opens it
/// read-only, so tests cannot disturb each other).
static SAMPLE_DB: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let path = dir.join("sample.db");
    let url = format!("sqlite:{}", path.display());
    block_on(async move { seed(&url).await });
    path
});

/// The sample database file.
pub fn sample_db() -> &'static Path {
    &SAMPLE_DB
}

/// A database the server can run on.
#[derive(Debug, Clone)]
pub struct Backend {
    /// Its dialect.
    pub dialect: Dialect,
    /// Its URL.
    pub url: String,
}

/// The seeded sample on every reachable backend, SQLite first. Seeded once per run.
static BACKENDS: LazyLock<Vec<Backend>> = LazyLock::new(|| {
    let mut out = vec![Backend {
        dialect: Dialect::Sqlite,
        url: format!("sqlite:{}", sample_db().display()),
    }];
    for dialect in [Dialect::Postgres, Dialect::Mysql] {
        let url = block_on(async move {
            let url = servers::fresh_database(dialect, SERVER_DB).await?;
            seed(&url).await;
            Some(url)
        });
        if let Some(url) = url {
            out.push(Backend { dialect, url });
        }
    }
    out
});

/// Every backend the suite runs against.
pub fn backends() -> &'static [Backend] {
    &BACKENDS
}

/// The backend of `dialect`, when it is reachable.
pub fn backend(dialect: Dialect) -> Option<&'static Backend> {
    backends().iter().find(|b| b.dialect == dialect)
}

/// Settings for a test server over `database_url` with `mapping`.
pub fn settings(database_url: &str, mapping: &str) -> Settings {
    let mut s = Settings::new(database_url, mapping);
    s.db.max_connections = 4;
    s.db.connect_timeout = std::time::Duration::from_secs(2);
    s.db.statement_timeout = std::time::Duration::from_secs(5);
    s.listen = "127.0.0.1:0".to_string();
    s.expose_sql_count = true;
    s
}

/// A running test server.
#[derive(Clone)]
pub struct TestApp {
    /// The database it serves.
    pub dialect: Dialect,
    /// `http://127.0.0.1:PORT/fhir`
    pub base: String,
    /// HTTP client.
    pub client: reqwest::Client,
    /// Direct, independent access to the same database (for expected values).
    pub db: SqlitePool,
}

impl TestApp {
    /// GET `path` (relative to the base) and return status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let res = self
            .client
            .get(format!("{}/{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// GET a resource that must exist, validated against the FHIR schema.
    pub async fn resource(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "{}: GET {path}: {body}", self.dialect);
        crate::fhir_schema::assert_valid(&body);
        body
    }
}

/// A test client: idle connections are dropped before the server's keep-alive (5 s) closes
/// them, so a request never races the server closing the connection it reuses (a loaded
/// machine can leave a connection idle that long between two requests).
pub fn client(builder: reqwest::ClientBuilder) -> reqwest::Client {
    builder
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("client")
}

/// Starts the server over the sample database of `backend`.
pub async fn spawn_app_on(backend: &Backend) -> TestApp {
    spawn_with(backend, settings(&backend.url, MAPPING)).await
}

/// Why the server refuses to start on `database_url` with the mapping `text` (every problem,
/// as the start-up error lists them); panics when it starts.
pub async fn refused(database_url: &str, text: &str) -> String {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), text).expect("write the mapping");
    match Application::build(settings(database_url, file.path().to_str().unwrap())).await {
        Ok(_) => panic!("the mapping should have been refused:\n{text}"),
        Err(e) => format!("{e:#}"),
    }
}

/// Starts the server for `backend` with `settings`.
pub async fn spawn_with(backend: &Backend, settings: Settings) -> TestApp {
    let app = Application::build(settings)
        .await
        .unwrap_or_else(|e| panic!("{}: build the app: {e:#}", backend.dialect));
    let base = app.base_url().to_string();
    tokio::spawn(app.run_until_stopped());
    let db = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(sample_db())
            .read_only(true),
    )
    .await
    .expect("test connection");
    TestApp {
        dialect: backend.dialect,
        base,
        client: client(reqwest::Client::builder()),
        db,
    }
}

/// One running server per backend.
pub async fn spawn_apps() -> Vec<TestApp> {
    let mut apps = Vec::new();
    for b in backends() {
        apps.push(spawn_app_on(b).await);
    }
    apps
}
