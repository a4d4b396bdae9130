//! The server over the clinic sample on every backend, started once per test binary with the
//! clinic mapping, and what the tests need around it: expected ids from SQL written here over
//! the SQLite copy, and walkers that collect what the server answers.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use fhir_facade::config::Settings;
use fhir_facade::sql::Dialect;
use fhir_facade::startup::Application;
use serde_json::Value;
use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool};

use crate::clinic::{self, Backend};

/// Settings for a server over `backend` with the clinic mapping.
pub fn settings(backend: &Backend) -> Settings {
    let mut s = Settings::new(&backend.url, clinic::MAPPING);
    s.db.max_connections = 4;
    s.db.connect_timeout = std::time::Duration::from_secs(2);
    s.db.statement_timeout = std::time::Duration::from_secs(5);
    s.listen = "127.0.0.1:0".to_string();
    s.expose_sql_count = true;
    s
}

/// The base URL of one running server per backend, or every start-up error. The servers run
/// on a runtime of their own that lives as long as the test binary, so every test (each on
/// its own runtime) can use them.
static SERVERS: LazyLock<Result<Vec<(Dialect, String)>, String>> = LazyLock::new(|| {
    // The servers' logs, when asked for (`FHIR_FACADE_TEST_LOG=1 RUST_LOG=debug`).
    if std::env::var_os("FHIR_FACADE_TEST_LOG").is_some() {
        fhir_facade::telemetry::init(Default::default());
    }
    let backends = clinic::backends().to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let mut bases = Vec::new();
            let mut errors = Vec::new();
            for b in &backends {
                match Application::build(settings(b)).await {
                    Ok(app) => {
                        bases.push((b.dialect, app.base_url().to_string()));
                        tokio::spawn(app.run_until_stopped());
                    }
                    Err(e) => errors.push(format!("{}: {e:#}", b.dialect)),
                }
            }
            let ok = errors.is_empty();
            tx.send(if ok {
                Ok(bases)
            } else {
                Err(errors.join("\n"))
            })
            .ok();
            if ok {
                std::future::pending::<()>().await;
            }
        });
    });
    rx.recv().expect("server start-up thread")
});

/// A running server over the clinic sample.
pub struct App {
    /// The database it serves.
    pub dialect: Dialect,
    /// `http://127.0.0.1:PORT/fhir`
    pub base: String,
    /// HTTP client (of the calling test's runtime).
    pub client: reqwest::Client,
    /// The SQLite copy, read-only, for expected values.
    pub db: SqlitePool,
}

/// One running server per reachable backend, SQLite first. Panics with the start-up errors
/// when the mapping does not start.
pub async fn apps() -> Vec<App> {
    let servers = match &*SERVERS {
        Ok(s) => s,
        Err(e) => panic!("the clinic mapping does not start:\n{e}"),
    };
    let db = SqlitePool::connect_with(
        SqliteConnectOptions::new()
            .filename(clinic::sqlite_file())
            .read_only(true),
    )
    .await
    .expect("SQLite copy");
    // Idle connections are dropped before the server's keep-alive (actix-web: 5 s) closes
    // them, so a request never goes out on a connection the server is closing (hyper's
    // IncompleteMessage under load).
    let client = reqwest::Client::builder()
        .pool_idle_timeout(std::time::Duration::from_secs(2))
        .build()
        .expect("HTTP client");
    servers
        .iter()
        .map(|(dialect, base)| App {
            dialect: *dialect,
            base: base.clone(),
            client: client.clone(),
            db: db.clone(),
        })
        .collect()
}

/// Whether the clinic mapping starts (for the test that reports it).
pub fn start_up_errors() -> Option<&'static str> {
    SERVERS.as_ref().err().map(String::as_str)
}

impl App {
    /// GET `path` (relative to the base): status and body text.
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let res = self
            .client
            .get(format!("{}/{path}", self.base))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{}: GET {path}: {e}", self.dialect));
        let status = res.status().as_u16();
        (status, res.text().await.unwrap_or_default())
    }

    /// GET `path`: status and JSON body.
    pub async fn get(&self, path: &str) -> (u16, Value) {
        let (status, text) = self.get_text(path).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Every match of every page of `query` (resources, in the order served) and the
    /// resources included on any page; checks each Bundle against the FHIR schema and that
    /// no match comes twice.
    pub async fn walk(&self, query: &str) -> (Vec<Value>, Vec<Value>) {
        let mut url = format!("{}/{query}", self.base);
        let mut matches: Vec<Value> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut included = Vec::new();
        for _ in 0..300 {
            let res = self.client.get(&url).send().await.unwrap();
            let status = res.status().as_u16();
            let bundle: Value = res.json().await.unwrap_or(Value::Null);
            assert_eq!(status, 200, "{}: {url}: {bundle}", self.dialect);
            crate::fhir_schema::assert_valid(&bundle);
            for e in bundle["entry"].as_array().into_iter().flatten() {
                let r = e["resource"].clone();
                match e["search"]["mode"].as_str() {
                    Some("match") => {
                        let key = key_of(&r);
                        assert!(
                            seen.insert(key.clone()),
                            "{}: {key} served twice by {query}",
                            self.dialect
                        );
                        matches.push(r);
                    }
                    Some("include") => included.push(r),
                    Some("outcome") => panic!("{}: {query}: outcome {r}", self.dialect),
                    other => panic!("{}: search.mode {other:?} in {query}", self.dialect),
                }
            }
            match next_link(&bundle) {
                Some(next) => url = next,
                None => return (matches, included),
            }
        }
        panic!("{}: too many pages: {query}", self.dialect);
    }

    /// The ids (without type) of every match of `query`, in the order served.
    pub async fn ids(&self, query: &str) -> Vec<String> {
        let (matches, _) = self.walk(query).await;
        matches
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    }

    /// Asserts that `query` matches exactly the ids `want`.
    pub async fn check(&self, query: &str, want: &BTreeSet<String>) {
        let got: BTreeSet<String> = self.ids(query).await.into_iter().collect();
        assert_eq!(&got, want, "{}: {query}", self.dialect);
    }

    /// Ids selected by `sql` (first column) on the SQLite copy, each with `prefix`.
    pub async fn expected(&self, prefix: &str, sql: &str) -> BTreeSet<String> {
        expected(&self.db, prefix, sql).await
    }

    /// Rows of `sql` on the SQLite copy, every column as text (NULL as `None`).
    pub async fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        rows(&self.db, sql).await
    }
}

/// `Type/id` of a resource.
pub fn key_of(r: &Value) -> String {
    format!(
        "{}/{}",
        r["resourceType"].as_str().unwrap_or("?"),
        r["id"].as_str().unwrap_or("?")
    )
}

/// The Bundle's `next` link.
pub fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_string())
}

/// Ids selected by `sql` (first column, integer or text) on `db`, each with `prefix`.
pub async fn expected(db: &SqlitePool, prefix: &str, sql: &str) -> BTreeSet<String> {
    rows(db, sql)
        .await
        .into_iter()
        .map(|r| {
            let id = r[0].clone().unwrap_or_else(|| panic!("{sql}: NULL id"));
            format!("{prefix}{id}")
        })
        .collect()
}

/// Rows of `sql` on `db`, every column as text (NULL as `None`); integers and reals as SQLite
/// prints them.
pub async fn rows(db: &SqlitePool, sql: &str) -> Vec<Vec<Option<String>>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
        .fetch_all(db)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| {
                    if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
                        return v.map(|v| v.to_string());
                    }
                    if let Ok(v) = r.try_get::<Option<f64>, _>(i) {
                        return v.map(|v| v.to_string());
                    }
                    r.try_get::<Option<String>, _>(i)
                        .unwrap_or_else(|e| panic!("{sql}: column {i}: {e}"))
                })
                .collect()
        })
        .collect()
}

/// `prefix` + each of `ids`.
pub fn with_prefix(prefix: &str, ids: &BTreeSet<String>) -> BTreeSet<String> {
    ids.iter().map(|i| format!("{prefix}{i}")).collect()
}

/// The SQLite condition "`col` holds no date": NULL, blank or a zero date.
pub fn no_date(col: &str) -> String {
    format!("({col} IS NULL OR TRIM({col}) = '' OR {col} IN ('0000-00-00', '0000-00-00 00:00:00'))")
}

/// The SQLite condition "`col` holds a date".
pub fn has_date(col: &str) -> String {
    format!("NOT {}", no_date(col))
}

/// Observation ids of the four sources whose rows satisfy the SQLite conditions given per
/// table: `lab` on `procedure_result r JOIN procedure_order po`, `vitals` on `form_vitals v`
/// (each vitals source adding its own presence filter).
pub async fn observations(db: &SqlitePool, lab: &str, vitals: &str) -> BTreeSet<String> {
    let mut ids = expected(
        db,
        "lab-",
        &format!(
            "SELECT r.procedure_result_id FROM procedure_result r \
             LEFT JOIN procedure_order po ON po.procedure_order_id = r.procedure_order_id WHERE {lab}"
        ),
    )
    .await;
    for (prefix, present) in VITALS_SOURCES {
        ids.extend(
            expected(
                db,
                prefix,
                &format!("SELECT v.id FROM form_vitals v WHERE v.activity = 1 AND {present} AND ({vitals})"),
            )
            .await,
        );
    }
    ids
}

/// The vitals sources: id prefix and the condition a form_vitals row `v` meets to be one.
pub const VITALS_SOURCES: [(&str, &str); 3] = [
    ("bp-", "v.bps <> '' AND v.bpd <> ''"),
    ("pulse-", "v.pulse <> ''"),
    ("wt-", "v.weight > 0"),
];
