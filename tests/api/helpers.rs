//! `spawn_app`: a running server on a random port over a seeded sample database.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use fhir_facade::config::Settings;
use fhir_facade::db::DbSettings;
use fhir_facade::startup::Application;
use serde_json::Value;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

/// The repository's sample mapping.
pub const MAPPING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");

/// Patients in the test database.
pub const PATIENTS: u32 = 120;

/// A seeded SQLite sample database shared by every test of this binary (the server opens it
/// read-only, so tests cannot disturb each other). Seeded once, on its own runtime.
static SAMPLE_DB: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = tempfile::tempdir().expect("temp dir").keep();
    let path = dir.join("sample.db");
    let url = format!("sqlite:{}", path.display());
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let opts = fhir_facade::seed::SeedOptions {
                patients: PATIENTS,
                ..Default::default()
            };
            fhir_facade::seed::seed_database(&url, &opts)
                .await
                .expect("seed the sample database");
        })
    })
    .join()
    .expect("seeding thread");
    path
});

/// The sample database file.
pub fn sample_db() -> &'static Path {
    &SAMPLE_DB
}

/// Settings for a test server over `database_url` with `mapping`.
pub fn settings(database_url: &str, mapping: &str) -> Settings {
    Settings {
        mapping_path: mapping.to_string(),
        db: DbSettings {
            url: database_url.to_string(),
            max_connections: 4,
            connect_timeout: std::time::Duration::from_secs(2),
            statement_timeout: std::time::Duration::from_secs(5),
        },
        listen: "127.0.0.1:0".to_string(),
        base_url: None,
        create_sample: false,
        expose_sql_count: true,
    }
}

/// A running test server.
pub struct TestApp {
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
        assert_eq!(status, 200, "GET {path}: {body}");
        crate::fhir_schema::assert_valid(&body);
        body
    }
}

/// Starts the server over the shared sample database.
pub async fn spawn_app() -> TestApp {
    let path = sample_db();
    let url = format!("sqlite:{}", path.display());
    let app = Application::build(settings(&url, MAPPING))
        .await
        .expect("build the app");
    let base = app.base_url().to_string();
    tokio::spawn(app.run_until_stopped());
    let db = SqlitePool::connect_with(SqliteConnectOptions::new().filename(path).read_only(true))
        .await
        .expect("test connection");
    TestApp {
        base,
        client: reqwest::Client::new(),
        db,
    }
}
