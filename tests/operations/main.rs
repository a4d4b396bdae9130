//! The server binary run as in production, on a small SQLite sample: configuration file,
//! health checks, request ids, JSON logs, metrics on the admin listener, the FHIR base path of
//! `--base-url`, graceful shutdown on SIGTERM; and the admin console driven by headless
//! Chromium (`browser.rs`); OpenTelemetry trace export to a collector (`traces.rs`).

mod browser;
mod traces;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The repository's sample mapping.
const MAPPING: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/mapping.toml");

/// A seeded SQLite sample shared by the tests (opened read-only by the servers).
static SAMPLE: LazyLock<PathBuf> = LazyLock::new(|| {
    let path = tempfile::tempdir().unwrap().keep().join("sample.db");
    let url = format!("sqlite:{}", path.display());
    std::thread::spawn(move || {
        tokio::runtime::Runtime::new().unwrap().block_on(async {
            let opts = fhir_facade::seed::SeedOptions {
                patients: 20,
                ..Default::default()
            };
            fhir_facade::seed::seed_database(&url, &opts).await.unwrap();
        })
    })
    .join()
    .unwrap();
    path
});

/// A free port on loopback (free when asked; the server binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server process and what it printed so far.
pub struct Server {
    child: Child,
    /// Its public port.
    pub port: u16,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the binary with `args` and waits until `/health/live` answers.
    pub fn start(args: &[&str]) -> Server {
        Server::start_with_env(args, &[])
    }

    /// [`Server::start`] with environment variables `env` set.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut child = Command::new(env!("CARGO_BIN_EXE_fhir-facade"))
            .args([
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--mapping",
                MAPPING,
            ])
            .arg("--database-url")
            .arg(format!("sqlite:{}", SAMPLE.display()))
            .args(args)
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let lines = Arc::new(Mutex::new(Vec::new()));
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let lines = lines.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line);
                }
            });
        }
        let server = Server { child, port, lines };
        let deadline = Instant::now() + Duration::from_secs(60);
        while get(port, "/health/live").0 != 200 {
            assert!(
                Instant::now() < deadline,
                "the server did not start: {:#?}",
                server.lines()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    /// Every line it printed so far.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    fn signal(&self, name: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{name}");
    }

    fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A blocking HTTP/1.1 request on a new connection: status, headers (lower-case names) and
/// body.
pub fn request(port: u16, head: &str) -> (u16, Vec<(String, String)>, String) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return (0, Vec::new(), String::new());
    };
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    parse_response(&raw)
}

fn parse_response(raw: &str) -> (u16, Vec<(String, String)>, String) {
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, body.to_string())
}

/// `GET path` with `headers` (each `Name: value\r\n`).
pub fn get_with(port: u16, path: &str, headers: &str) -> (u16, Vec<(String, String)>, String) {
    request(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n{headers}\r\n"),
    )
}

/// `GET path`: status and body.
pub fn get(port: u16, path: &str) -> (u16, String) {
    let (status, _, body) = get_with(port, path, "");
    (status, body)
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn a_configured_server_reports_its_health_metrics_and_logs_then_stops_gracefully() {
    let admin = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("facade.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
log-format = "json"
base-url = "https://facade.example.org/api/r4"
shutdown-timeout = 20

[server.admin]
admin-listen = "127.0.0.1:{admin}"

[server.paging]
cursor-secret = "do-not-print-me"
"#
        ),
    )
    .unwrap();
    let mut server = Server::start(&["--config", config.to_str().unwrap()]);
    let port = server.port;

    // Health: live, and ready with its one database copy up; open without a token.
    let (status, body) = get(port, "/health/ready");
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["databases"][0]["status"], "up", "{ready}");

    // The FHIR base follows the path of --base-url.
    let (status, headers, body) = get_with(port, "/api/r4/Patient/1", "X-Request-ID: ops-42\r\n");
    assert_eq!(status, 200, "{body}");
    assert_eq!(header(&headers, "x-request-id"), Some("ops-42"));
    assert_eq!(get(port, "/fhir/Patient/1").0, 404);
    assert_eq!(get(port, "/api/r4/metadata").0, 200);
    // A request without an id (or with an unusable one) is given one.
    let (_, headers, _) = get_with(port, "/api/r4/Patient/1", "X-Request-ID: a b\r\n");
    let made = header(&headers, "x-request-id").unwrap();
    assert!(
        made.len() == 16 && made.bytes().all(|b| b.is_ascii_hexdigit()),
        "{made}"
    );
    assert_eq!(get(port, "/api/r4/Patient/999999").0, 404);

    // Metrics: on the admin listener only.
    assert_eq!(get(port, "/metrics").0, 404);
    let (status, metrics) = get(admin, "/metrics");
    assert_eq!(status, 200);
    for expected in [
        r#"fhir_http_requests_total{type="Patient",interaction="read",status="200"} 2"#,
        r#"fhir_http_requests_total{type="Patient",interaction="read",status="404"} 1"#,
        r#"fhir_http_request_duration_seconds_bucket{type="Patient",interaction="read",le="+Inf"} 3"#,
        r#"fhir_sql_statements_per_request_count{interaction="read"} 3"#,
        "fhir_sql_statement_duration_seconds_count",
        r#"fhir_db_pool_connections{copy="0"}"#,
        r#"fhir_db_pool_idle_connections{copy="0"}"#,
        r#"fhir_db_copy_up{copy="0"} 1"#,
        "fhir_db_requests_waiting 0",
    ] {
        assert!(metrics.contains(expected), "{expected} in:\n{metrics}");
    }

    // Graceful shutdown: a request in flight when SIGTERM comes is answered; new connections
    // are refused; the process ends with status 0 once its pools are closed.
    let mut slow = TcpStream::connect(("127.0.0.1", port)).unwrap();
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let body = "_count=2";
    write!(
        slow,
        "POST /api/r4/Patient/_search HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n_count",
        body.len()
    )
    .unwrap();
    slow.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    std::thread::sleep(Duration::from_millis(700));
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "new connections are refused once stopping"
    );
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "still serving the request in flight"
    );
    slow.write_all(b"=2").unwrap();
    let mut raw = String::new();
    slow.read_to_string(&mut raw).unwrap();
    let (status, _, body) = parse_response(&raw);
    assert_eq!(status, 200, "{raw}");
    assert!(body.contains(r#""resourceType":"Bundle""#), "{body}");
    let exit = server
        .wait(Duration::from_secs(20))
        .expect("the server stops");
    assert!(exit.success(), "{exit:?}");

    // Logs: JSON objects, never colour codes; every line of a request carries its id; the
    // secret is never printed.
    std::thread::sleep(Duration::from_millis(100));
    let lines = server.lines();
    let text = lines.join("\n");
    assert!(
        !text.contains('\u{1b}'),
        "no ANSI codes off a terminal:\n{text}"
    );
    assert!(!text.contains("do-not-print-me"));
    let events: Vec<Value> = lines
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let of_request: Vec<&Value> = events
        .iter()
        .filter(|e| e["span"]["request_id"] == "ops-42")
        .collect();
    assert!(
        of_request
            .iter()
            .any(|e| e["message"] == "audit" && e["status"] == 200),
        "the audit line carries the request id: {of_request:#?}"
    );
    // A successful request logs no INFO line of its own (only its audit event); a client
    // error does.
    assert!(!of_request.iter().any(|e| e["message"] == "request"));
    assert!(
        events
            .iter()
            .any(|e| e["message"] == "request" && e["status"] == 404)
    );
    let messages: Vec<&str> = events
        .iter()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages.contains(&"database connections closed; stopped"),
        "{messages:#?}"
    );
}

#[test]
fn print_config_redacts_secrets() {
    let out = Command::new(env!("CARGO_BIN_EXE_fhir-facade"))
        .args([
            "--print-config",
            "--database-url",
            "postgres://facade:pa55word@db.internal/h",
            "--cursor-secret",
            "s3cret",
            "--max-connections",
            "12",
        ])
        .env("FHIR_FACADE_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        !text.contains("pa55word") && !text.contains("s3cret"),
        "{text}"
    );
    let parsed: toml::Table = toml::from_str(&text).unwrap();
    let server = &parsed["server"];
    assert_eq!(
        server["database-url"].as_str(),
        Some("postgres://facade:***@db.internal/h")
    );
    assert_eq!(server["cursor-secret"].as_str(), Some("***"));
    assert_eq!(server["max-connections"].as_integer(), Some(12));
    assert_eq!(
        server["log-format"].as_str(),
        Some("json"),
        "from the environment"
    );
}
