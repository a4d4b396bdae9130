//! The admin console in headless Chromium, through chromedriver (WebDriver): open it, see the
//! mapped types, type a query, click Run, see the Bundle, the SQL with its parameters and the
//! database's plan.
//!
//! Chromium and chromedriver are the Debian packages `chromium` and `chromium-driver`,
//! installed with apt-get on first use when missing; without them the test is skipped with a
//! NOTICE, except under `CI=true`, where it fails.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{ClientBuilder, Locator};

use super::{Server, free_port};

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

fn installed() -> bool {
    Command::new("chromedriver")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Whether chromedriver (and Chromium) can be used, installing them if need be.
fn chromedriver() -> bool {
    if installed() {
        return true;
    }
    let apt = |args: &[&str]| {
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let _ = apt(&["update", "-qq"]);
    if apt(&["install", "-y", "-qq", "chromium", "chromium-driver"]) && installed() {
        return true;
    }
    assert!(
        !in_ci(),
        "chromium-driver cannot be installed (CI=true requires it)"
    );
    writeln!(
        std::io::stderr(),
        "NOTICE: skipping the console browser test: chromium-driver cannot be installed"
    )
    .ok();
    false
}

/// A chromedriver process, stopped when dropped.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn the_console_runs_a_query_and_shows_its_sql_in_a_browser() {
    if !chromedriver() {
        return;
    }
    let admin = free_port();
    let server = Server::start(&["--admin-listen", &format!("127.0.0.1:{admin}")]);
    let driver_port = free_port();
    let _driver = Driver(
        Command::new("chromedriver")
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({"args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"]}),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let client = loop {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{driver_port}"))
            .await
        {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => panic!("chromedriver: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let result = async {
        client.goto(&format!("http://127.0.0.1:{admin}/")).await?;
        // The mapped types, with their sources and parameters.
        let types = client
            .wait()
            .for_element(Locator::Css("#types tbody tr"))
            .await?;
        let first = types.text().await?;
        assert!(
            first.contains("Patient") && first.contains("family:string"),
            "{first}"
        );
        // A query, typed and run with a real click.
        let input = client.find(Locator::Id("q")).await?;
        input.clear().await?;
        input.send_keys("Patient?family=smi&_count=2").await?;
        client.find(Locator::Id("run")).await?.click().await?;
        let sql = client
            .wait()
            .for_element(Locator::Css("#sql pre.sql"))
            .await?
            .text()
            .await?;
        assert!(sql.starts_with("SELECT"), "{sql}");
        let all = client.find(Locator::Id("sql")).await?.text().await?;
        assert!(all.contains("parameters: $1 = "), "{all}");
        let plan = client
            .find(Locator::Css("#sql pre.plan"))
            .await?
            .text()
            .await?;
        assert!(plan.contains("SCAN") || plan.contains("SEARCH"), "{plan}");
        let bundle = client.find(Locator::Id("result")).await?.text().await?;
        assert!(bundle.contains("\"searchset\""), "{bundle}");
        let status = client.find(Locator::Id("status")).await?.text().await?;
        assert!(status.starts_with("HTTP 200"), "{status}");
        // The mapping's check with its index advice, with a click.
        client.find(Locator::Id("check")).await?.click().await?;
        let report = client.find(Locator::Id("report")).await?;
        let mut text = String::new();
        for _ in 0..100 {
            text = report.text().await?;
            if text.contains("Indexes") {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(text.contains("Indexes ("), "{text}");
        assert!(text.contains("Patient?family="), "{text}");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    client.close().await.ok();
    if let Err(e) = result {
        panic!("{e}\nserver log:\n{}", server.lines().join("\n"));
    }
}
