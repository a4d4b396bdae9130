//! The client libraries, installed on first use under the target directory (a Python virtual
//! environment, a node_modules folder) and reused by later runs; and running a client script
//! with a deadline.
//!
//! A tool that cannot be installed (no `python3` or `node`, no registry) skips its test with a
//! printed NOTICE, except under `CI=true`, where it is a failure.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::servers::in_ci;

/// The Python packages, pinned.
pub const PYTHON_PACKAGES: &[&str] = &["fhirpy==2.3.1", "fhirclient==4.4.0"];

/// The npm packages, pinned: a client, and FHIR.js (a JSON ↔ XML converter) as an
/// independent reader of the server's XML.
pub const NODE_PACKAGES: &[(&str, &str)] = &[("fhir-kit-client", "2.0.3"), ("fhir", "4.12.0")];

/// How long installing a tool may take.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(300);

/// Where the tools are installed.
fn root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("fhir-clients")
}

/// Each tool is installed (or found missing) once per run, whichever test asks first.
static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
static NODE: OnceLock<Option<PathBuf>> = OnceLock::new();

/// What a finished command printed.
pub struct Output {
    /// Exit status, `None` when it was stopped at the deadline.
    pub status: Option<std::process::ExitStatus>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Output {
    /// Whether it exited with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }
}

/// Runs `cmd` to completion, or stops it after `timeout`. Blocking.
pub fn run(mut cmd: Command, timeout: Duration) -> std::io::Result<Output> {
    let dir = tempfile::tempdir()?;
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(File::create(&out)?)
        .stderr(File::create(&err)?)
        .spawn()?;
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s);
        }
        if Instant::now() > deadline {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Ok(Output {
        status,
        stdout: std::fs::read_to_string(out)?,
        stderr: std::fs::read_to_string(err)?,
    })
}

/// `Some(value)`, or after a NOTICE (a failure under CI) `None`.
fn usable<T>(tool: &str, got: Result<T, String>) -> Option<T> {
    match got {
        Ok(v) => Some(v),
        Err(e) if in_ci() => panic!("{tool} cannot be installed (CI=true requires it): {e}"),
        Err(e) => {
            // Straight to stderr: the test harness would swallow eprintln! of a passing test.
            writeln!(
                std::io::stderr(),
                "NOTICE: skipping the {tool} client tests: {e}"
            )
            .ok();
            None
        }
    }
}

fn step(what: &str, cmd: Command) -> Result<(), String> {
    match run(cmd, INSTALL_TIMEOUT) {
        Ok(o) if o.success() => Ok(()),
        Ok(o) => Err(format!(
            "{what} failed ({:?}): {}{}",
            o.status, o.stdout, o.stderr
        )),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// The Python interpreter of a virtual environment holding [`PYTHON_PACKAGES`].
pub fn python() -> Option<PathBuf> {
    PYTHON.get_or_init(install_python).clone()
}

fn install_python() -> Option<PathBuf> {
    let venv = root().join("venv");
    let python = venv.join("bin").join("python");
    let stamp = venv.join("fhir-facade-packages.txt");
    let wanted = PYTHON_PACKAGES.join("\n");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == wanted) && python.exists() {
        return Some(python);
    }
    let install = || -> Result<PathBuf, String> {
        std::fs::remove_dir_all(&venv).ok();
        std::fs::create_dir_all(root()).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("python3");
        cmd.args(["-m", "venv"]).arg(&venv);
        step("python3 -m venv", cmd)?;
        let mut cmd = Command::new(&python);
        cmd.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PYTHON_PACKAGES);
        step("pip install", cmd)?;
        std::fs::write(&stamp, &wanted).map_err(|e| e.to_string())?;
        Ok(python.clone())
    };
    usable("Python", install())
}

/// A folder whose `node_modules` holds [`NODE_PACKAGES`] (scripts run from it resolve them).
pub fn node_dir() -> Option<PathBuf> {
    NODE.get_or_init(install_node).clone()
}

fn install_node() -> Option<PathBuf> {
    let dir = root().join("node");
    let dependencies: Vec<String> = NODE_PACKAGES
        .iter()
        .map(|(name, version)| format!("\"{name}\": \"{version}\""))
        .collect();
    let manifest = format!(
        "{{\"name\": \"fhir-facade-client-tests\", \"private\": true, \"dependencies\": {{{}}}}}\n",
        dependencies.join(", ")
    );
    let stamp = dir.join("installed.json");
    if std::fs::read_to_string(&stamp).is_ok_and(|s| s == manifest)
        && NODE_PACKAGES
            .iter()
            .all(|(name, _)| dir.join("node_modules").join(name).exists())
    {
        return Some(dir);
    }
    let install = || -> Result<PathBuf, String> {
        std::fs::remove_dir_all(&dir).ok();
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("package.json"), &manifest).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("node");
        cmd.arg("--version");
        step("node --version", cmd)?;
        let mut cmd = Command::new("npm");
        cmd.args(["install", "--no-audit", "--no-fund", "--silent"])
            .current_dir(&dir);
        step("npm install", cmd)?;
        std::fs::write(&stamp, &manifest).map_err(|e| e.to_string())?;
        Ok(dir.clone())
    };
    usable("JavaScript", install())
}
