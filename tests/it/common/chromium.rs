//! Headless Chromium over WebDriver (chromedriver) for the browser tests:
//! finding the binaries (the tests skip, saying so, when they are absent;
//! `.ci/run` installs both), a driver on a free loopback port, a session.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Map};

/// How long any one wait may take before the step fails (only a hang guard).
pub const WAIT_CAP: Duration = Duration::from_secs(60);

pub const CHROMIUM: [&str; 3] = [
    "/usr/bin/chromium",
    "/usr/bin/chromium-browser",
    "/usr/bin/google-chrome",
];
pub const CHROMEDRIVER: [&str; 2] = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"];

pub fn first_existing(env: &str, candidates: &[&str]) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env) {
        return Some(PathBuf::from(p)).filter(|p| p.exists());
    }
    candidates.iter().map(PathBuf::from).find(|p| p.exists())
}

/// chromedriver on a free loopback port, killed on drop, with a fresh profile dir.
pub struct Driver {
    child: Child,
    pub url: String,
    pub profile: PathBuf,
}

impl Driver {
    pub async fn start(chromedriver: &Path, logs: &Path) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = std::fs::File::create(logs.join("chromedriver.log")).expect("log file");
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("chromedriver starts");
        let profile = std::env::temp_dir().join(format!(
            "sf-inbox-preview-chromium-{}-{port}",
            std::process::id()
        ));
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile,
        };
        let http = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(r) = http.get(format!("{}/status", driver.url)).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(
                started.elapsed() < WAIT_CAP,
                "chromedriver did not come up (see {}/chromedriver.log)",
                logs.display()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        driver
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

/// `target/preview-screenshots` (next to the test binary, so CARGO_TARGET_DIR is honoured).
pub fn screenshot_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let target = exe
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let dir = target.join("preview-screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// A Chromium session through a fresh chromedriver, with screenshots to
/// `shots`; `None` (and a SKIPPED line naming `test`) when Chromium or
/// chromedriver is not installed.
pub async fn session(test: &str, shots: &Path) -> Option<(Driver, Client)> {
    let (Some(chromium), Some(chromedriver)) = (
        first_existing("CHROMIUM", &CHROMIUM),
        first_existing("CHROMEDRIVER", &CHROMEDRIVER),
    ) else {
        eprintln!(
            "SKIPPED {test}: Chromium and chromedriver are not installed \
             (apt-get install chromium chromium-driver, or set CHROMIUM and CHROMEDRIVER)"
        );
        return None;
    };
    let driver = Driver::start(&chromedriver, shots).await;
    let mut caps = Map::new();
    caps.insert(
        "goog:chromeOptions".to_string(),
        json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1440,1000",
                format!("--user-data-dir={}", driver.profile.display()),
            ],
        }),
    );
    let client = ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session through chromedriver");
    Some((driver, client))
}
