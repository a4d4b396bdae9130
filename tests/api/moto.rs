//! A real S3-compatible server for the export tests: moto in server mode, installed from PyPI
//! on first use into a virtual environment under the target directory and reused by later
//! runs, started on a random port by each test that needs it and stopped when dropped.
//!
//! Without Python or the registry, a test skips with a printed NOTICE, except under `CI=true`,
//! where it fails.

use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::servers::in_ci;

/// The package, pinned.
const MOTO: &str = "moto[server]==5.2.5";

/// Installed (or found missing) once per run, whichever test asks first.
static MOTO_SERVER: OnceLock<Option<PathBuf>> = OnceLock::new();

fn venv() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("moto")
        .join("venv")
}

fn step(what: &str, cmd: &mut Command) -> Result<(), String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!(
        "{what} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ))
}

fn install() -> Result<PathBuf, String> {
    let venv = venv();
    let server = venv.join("bin").join("moto_server");
    let stamp = venv.join("fhir-facade-packages.txt");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == MOTO) && server.exists() {
        return Ok(server);
    }
    std::fs::remove_dir_all(&venv).ok();
    std::fs::create_dir_all(venv.parent().unwrap()).map_err(|e| e.to_string())?;
    step(
        "python3 -m venv",
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
    )?;
    step(
        "pip install moto",
        Command::new(venv.join("bin").join("python")).args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            MOTO,
        ]),
    )?;
    std::fs::write(&stamp, MOTO).map_err(|e| e.to_string())?;
    Ok(server)
}

/// The `moto_server` program, or after a NOTICE (a failure under CI) `None`.
fn moto_server() -> Option<PathBuf> {
    MOTO_SERVER
        .get_or_init(|| match install() {
            Ok(p) => Some(p),
            Err(e) if in_ci() => panic!("moto cannot be installed (CI=true requires it): {e}"),
            Err(e) => {
                // Straight to stderr: the test harness would swallow eprintln! of a passing test.
                writeln!(
                    std::io::stderr(),
                    "NOTICE: skipping the S3 export test: {e}"
                )
                .ok();
                None
            }
        })
        .clone()
}

/// A free port on the loopback interface.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl Moto {
    /// Starts moto on a random port and waits until it answers (`None`: moto is not
    /// installable here, outside CI).
    pub async fn start() -> Option<Moto> {
        let server = tokio::task::spawn_blocking(moto_server).await.unwrap()?;
        let port = free_port();
        let child = Command::new(server)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto_server");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = client.get(format!("{}/", moto.endpoint)).send().await
                && r.status().is_success()
            {
                return Some(moto);
            }
            assert!(Instant::now() < deadline, "moto did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Creates `bucket`.
    pub async fn create_bucket(&self, bucket: &str) {
        let res = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.endpoint))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "create bucket: {}", res.status());
    }

    /// Writes object `key` of `bucket`.
    pub async fn put(&self, bucket: &str, key: &str, body: Vec<u8>) {
        let res = reqwest::Client::new()
            .put(format!("{}/{bucket}/{key}", self.endpoint))
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "put {key}: {}", res.status());
    }

    /// The keys of `bucket` under `prefix` (S3 ListObjectsV2, read from its XML).
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let res = reqwest::Client::new()
            .get(format!("{}/{bucket}", self.endpoint))
            .query(&[("list-type", "2"), ("prefix", prefix)])
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success(), "list: {}", res.status());
        let xml = res.text().await.unwrap();
        xml.split("<Key>")
            .skip(1)
            .filter_map(|s| s.split_once("</Key>").map(|(k, _)| k.to_string()))
            .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
