//! A real headless Chromium for the web page's test: Debian's `chromium` and `chromium-driver`
//! (scripts/setup.sh), found on PATH; chromedriver started on a free port and killed on drop;
//! the browser driven over WebDriver with fantoccini.

use std::path::{Path, PathBuf};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

/// `name` on PATH (where Debian's packages put it: /usr/bin).
fn on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not on PATH: install chromium and chromium-driver (scripts/setup.sh)"))
}

pub struct Chromedriver {
    child: Child,
    port: u16,
    chromium: PathBuf,
}

impl Chromedriver {
    pub async fn start(log: &Path) -> Chromedriver {
        let chromium = on_path("chromium");
        let port = super::free_port();
        let err = std::fs::File::create(log).expect("chromedriver log");
        let child = Command::new(on_path("chromedriver"))
            .arg(format!("--port={port}"))
            // Its own process group, so that drop ends the browsers it started too.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("start chromedriver");
        let mut d = Chromedriver { child, port, chromium };
        let start = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Ok(Some(st)) = d.child.try_wait() {
                panic!("chromedriver exited ({st}): {}", std::fs::read_to_string(log).unwrap_or_default());
            }
            assert!(start.elapsed() < Duration::from_secs(20), "chromedriver is not listening on {port}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        d
    }

    /// A new browser session: headless, its own profile in `profile`, a fixed window size
    /// (the screenshot's). `--no-sandbox`: the tests run as root, where Chromium's sandbox
    /// refuses to start.
    pub async fn session(&self, profile: &Path) -> Client {
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": self.chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,720", "--hide-scrollbars", "--no-first-run",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        });
        let caps: fantoccini::wd::Capabilities = serde_json::from_value(caps).expect("capabilities");
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{}", self.port))
            .await
            .expect("WebDriver session")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group this driver leads: it and every Chromium process it started.
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
