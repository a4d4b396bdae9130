//! The same mapping over SQLite, PostgreSQL and MySQL/MariaDB: identical resources,
//! read-only sessions, statement timeouts, outages and start-up type checks.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use fhir_facade::sql::Dialect;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::helpers::{Backend, MAPPING, backend, backends, settings, spawn_apps, spawn_with};
use crate::servers::{exec, in_ci};

#[test]
fn every_backend_runs_under_ci() {
    if in_ci() {
        let got: Vec<Dialect> = backends().iter().map(|b| b.dialect).collect();
        assert_eq!(got, [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql]);
    }
}

/// Ids read on every backend: every type, including soft-deleted and missing rows.
fn sample_paths() -> Vec<String> {
    let mut paths = Vec::new();
    for id in 1..=40 {
        for t in ["Patient", "Encounter", "Condition", "MedicationRequest"] {
            paths.push(format!("{t}/{id}"));
        }
        for p in ["lab", "vs-hr", "vs-bp", "vs-temp", "vs-wt"] {
            paths.push(format!("Observation/{p}-{id}"));
        }
    }
    for id in 1..=14 {
        paths.push(format!("Organization/{id}"));
        paths.push(format!("Practitioner/{id}"));
    }
    paths
}

#[tokio::test]
async fn every_backend_serves_byte_identical_resources() {
    let apps = spawn_apps().await;
    for path in sample_paths() {
        let mut reference: Option<(Dialect, u16, String)> = None;
        for app in &apps {
            let res = app
                .client
                .get(format!("{}/{path}", app.base))
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let text = res.text().await.unwrap();
            match &reference {
                None => reference = Some((app.dialect, status, text)),
                Some((d, s, t)) => {
                    assert_eq!(
                        (status, &text),
                        (*s, t),
                        "{path}: {} differs from {d}",
                        app.dialect
                    );
                }
            }
        }
    }
}

fn mapping_with(replace: &str, by: &str) -> tempfile::TempPath {
    let original = std::fs::read_to_string(MAPPING).unwrap();
    assert!(original.contains(replace), "{replace}");
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), original.replacen(replace, by, 1)).unwrap();
    file.into_temp_path()
}

#[tokio::test]
async fn server_sessions_are_read_only() {
    let expr = r#"name = { expr = { postgres = "current_setting('transaction_read_only')", mysql = "CASE WHEN @@session.tx_read_only = 1 THEN 'on' ELSE 'off' END", default = "DEPT_NM" } }"#;
    let mapping = mapping_with("name = \"DEPT_NM\"", expr);
    for b in backends().iter().filter(|b| b.dialect != Dialect::Sqlite) {
        let app = spawn_with(b, settings(&b.url, mapping.to_str().unwrap())).await;
        let org = app.resource("Organization/1").await;
        assert_eq!(
            org["name"], "on",
            "{}: session must be read-only",
            b.dialect
        );
    }
}

/// A PostgreSQL statement of the server runs on one core: no parallel workers.
#[tokio::test]
async fn postgres_sessions_start_no_parallel_workers() {
    let Some(b) = backend(Dialect::Postgres) else {
        return;
    };
    let db = crate::plans::connect(&b.url).await;
    let show = fhir_facade::sql::Statement {
        sql: "SELECT current_setting('max_parallel_workers_per_gather')".into(),
        params: vec![],
        parts: None,
    };
    let rows = db.fetch(&show).await.unwrap();
    assert_eq!(rows[0][0], fhir_facade::sql::Value::Text("0".into()));
}

#[tokio::test]
async fn a_statement_timeout_is_a_clean_503() {
    let slow = r#"name = { expr = { postgres = "(SELECT CAST(COUNT(*) AS TEXT) FROM generate_series(1, 500000000))", mysql = "CASE WHEN SLEEP(5) = 0 THEN DEPT_NM END", sqlite = "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 300000000) SELECT CAST(COUNT(*) AS TEXT) FROM c)" } }"#;
    let mapping = mapping_with("name = \"DEPT_NM\"", slow);
    for b in backends() {
        let mut s = settings(&b.url, mapping.to_str().unwrap());
        s.db.statement_timeout = Duration::from_millis(700);
        let app = spawn_with(b, s).await;
        let started = Instant::now();
        let (status, body) = app.get("Organization/1").await;
        assert_eq!(status, 503, "{}: {body}", b.dialect);
        assert_eq!(body["issue"][0]["code"], "timeout");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{}: took {:?}",
            b.dialect,
            started.elapsed()
        );
        // Other requests still work.
        assert_eq!(app.get("Patient/1").await.0, 200, "{}", b.dialect);
    }
}

/// A type the server cannot read (MariaDB's `GEOMETRY`) is refused at start-up, naming the
/// column, its type and the element. (On PostgreSQL every type is read, some through their
/// text form: tests/api/pg_types.rs.)
#[tokio::test]
async fn a_column_of_an_unreadable_type_is_refused_at_start_up() {
    let Some(url) = crate::servers::fresh_database(Dialect::Mysql, "fhir_facade_unreadable").await
    else {
        return;
    };
    exec(
        &url,
        "CREATE TABLE odd_types (dept_id INTEGER PRIMARY KEY, dept_cd VARCHAR(10), shape GEOMETRY)",
    )
    .await;
    let text = r#"[[resource]]
type = "Organization"
table = "odd_types"
id = "dept_id"
[resource.elements]
name = "dept_cd"
"identifier[0].value" = "shape"
"#;
    let msg = crate::helpers::refused(&url, text).await;
    assert!(msg.contains("line 7:"), "{msg}");
    assert!(msg.contains("column 'shape' has type GEOMETRY"), "{msg}");
    assert!(msg.contains("identifier[0].value"), "{msg}");
    assert_eq!(msg.matches("line ").count(), 1, "{msg}");
}

/// A TCP proxy in front of a database server that can be cut and restored, to simulate the
/// database going away and coming back.
struct Proxy {
    port: u16,
    /// Connections accepted and forwarded so far.
    forwarded: Arc<std::sync::atomic::AtomicUsize>,
    up: Arc<AtomicBool>,
    links: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(true));
        let forwarded: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let links: Arc<std::sync::Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (up2, links2, forwarded2) = (up.clone(), links.clone(), forwarded.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                forwarded2.fetch_add(1, Ordering::SeqCst);
                let upstream = upstream.clone();
                links2.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Proxy {
            port,
            forwarded,
            up,
            links,
        }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

async fn outage_and_recovery(b: &Backend, upstream_port: u16) {
    let proxy = Proxy::start(format!("127.0.0.1:{upstream_port}")).await;
    let url = b.url.replacen(
        &format!(":{upstream_port}/"),
        &format!(":{}/", proxy.port),
        1,
    );
    let app = spawn_with(b, settings(&url, MAPPING)).await;
    assert_eq!(app.get("Patient/1").await.0, 200);

    proxy.cut();
    let (status, body) = app.get("Patient/1").await;
    assert_eq!(status, 503, "{}: {body}", b.dialect);
    assert_eq!(body["resourceType"], "OperationOutcome");
    assert_eq!(body["issue"][0]["code"], "transient");
    let text = body.to_string();
    assert!(
        !text.contains("127.0.0.1") && !text.contains("SELECT"),
        "leaks detail: {text}"
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (status, _) = app.get("Patient/1").await;
        if status == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{}: no recovery, last status {status}",
            b.dialect
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn database_outage_is_503_then_recovers_without_restart() {
    if let Some(b) = backend(Dialect::Postgres) {
        outage_and_recovery(b, 5432).await;
    }
    if let Some(b) = backend(Dialect::Mysql) {
        outage_and_recovery(b, 3306).await;
    }
    if !in_ci() && backends().len() == 1 {
        eprintln!("NOTICE: outage test skipped: no database server reachable");
    }
}

async fn replicas_share_requests_and_cover_for_each_other(b: &Backend, upstream_port: u16) {
    let primary = Proxy::start(format!("127.0.0.1:{upstream_port}")).await;
    let replica = Proxy::start(format!("127.0.0.1:{upstream_port}")).await;
    let via = |p: &Proxy| {
        b.url
            .replacen(&format!(":{upstream_port}/"), &format!(":{}/", p.port), 1)
    };
    let mut s = settings(&via(&primary), MAPPING);
    s.db.replicas = vec![via(&replica)];
    let app = spawn_with(b, s).await;
    for _ in 0..6 {
        assert_eq!(app.get("Patient/1").await.0, 200);
    }
    assert!(primary.forwarded.load(Ordering::SeqCst) > 0);
    assert!(
        replica.forwarded.load(Ordering::SeqCst) > 0,
        "the replica must take requests"
    );

    // Either copy going away is invisible to clients.
    primary.cut();
    for _ in 0..4 {
        assert_eq!(
            app.get("Patient/1").await.0,
            200,
            "{}: replica must cover",
            b.dialect
        );
    }
    primary.restore();
    replica.cut();
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut ok_in_a_row = 0;
    while ok_in_a_row < 4 {
        if app.get("Patient/1").await.0 == 200 {
            ok_in_a_row += 1;
        } else {
            ok_in_a_row = 0;
        }
        assert!(
            Instant::now() < deadline,
            "{}: primary did not cover",
            b.dialect
        );
    }
}

#[tokio::test]
async fn read_replicas_share_the_load_and_fail_over() {
    if let Some(b) = backend(Dialect::Postgres) {
        replicas_share_requests_and_cover_for_each_other(b, 5432).await;
    }
    if let Some(b) = backend(Dialect::Mysql) {
        replicas_share_requests_and_cover_for_each_other(b, 3306).await;
    }
}

#[tokio::test]
async fn postgres_connections_can_use_tls() {
    let Some(b) = backend(Dialect::Postgres) else {
        return;
    };
    let expr = r#"name = { expr = { postgres = "(SELECT CASE WHEN ssl THEN 'tls' ELSE 'plain' END FROM pg_stat_ssl WHERE pid = pg_backend_pid())", default = "DEPT_NM" } }"#;
    let mapping = mapping_with("name = \"DEPT_NM\"", expr);
    let sep = if b.url.contains('?') { '&' } else { '?' };
    for (mode, want) in [("require", "tls"), ("disable", "plain")] {
        let url = format!("{}{sep}sslmode={mode}", b.url);
        let app = spawn_with(b, settings(&url, mapping.to_str().unwrap())).await;
        let org = app.resource("Organization/1").await;
        assert_eq!(org["name"], want, "sslmode={mode}");
    }
}
