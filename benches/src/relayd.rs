//! relayd as a benchmark subject: its binary, a config writer, its control socket, and
//! relay-gen runs whose JSON summaries the latency benchmark reads.
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A sibling binary of the running benchmark (`target/release/relayd`, `relay-gen`).
pub fn sibling(name: &str) -> PathBuf {
    std::env::current_exe().expect("current exe").with_file_name(name)
}

/// One relayd instance's config. `ports` are (name, device) in port-id order; `workers` are
/// (cpu, rx `port:queue` list); `tail` holds `[runtime]`/`[pipeline]` tables.
pub struct Config<'a> {
    pub prefix: &'a str,
    pub control_cpu: usize,
    pub ports: &'a [(&'a str, String)],
    pub workers: &'a [(usize, Vec<String>)],
    pub tail: &'a str,
    /// EAL memory on 2 MiB hugepages instead of `--no-huge` 4 KiB pages.
    pub hugepages: bool,
}

impl Config<'_> {
    /// Writes `<work>/<prefix>.toml` and returns the command that runs relayd on it and the
    /// control socket path.
    pub fn command(&self, work: &Path) -> (Command, PathBuf) {
        let control = work.join(format!("{}.sock", self.prefix));
        let mut cfg = format!(
            "[eal]\nfile_prefix = \"{}\"\nmemory_mb = 512\nhugepages = {}\nlog_level = \"warning\"\n[cores]\ncontrol = {}\n",
            self.prefix, self.hugepages, self.control_cpu
        );
        for (name, dev) in self.ports {
            cfg.push_str(&format!("[[port]]\nname = \"{name}\"\ndevice = \"{dev}\"\n"));
        }
        for (cpu, rx) in self.workers {
            let rx: Vec<String> = rx.iter().map(|q| format!("\"{q}\"")).collect();
            cfg.push_str(&format!("[[worker]]\ncpu = {cpu}\nrx = [{}]\n", rx.join(", ")));
        }
        cfg.push_str(&format!("[control]\nsocket = \"{}\"\n", control.display()));
        cfg.push_str(self.tail);
        let path = work.join(format!("{}.toml", self.prefix));
        std::fs::write(&path, cfg).expect("write relayd config");
        let mut c = Command::new(sibling("relayd"));
        c.args(["-c", path.to_str().expect("utf-8 path")]);
        (c, control)
    }
}

/// A connection to relayd's control socket (docs/control-protocol.md). The server closes an
/// idle connection after 500 ms, so every request reconnects if the last one is stale.
pub struct Control {
    path: PathBuf,
    conn: Option<(UnixStream, BufReader<UnixStream>, Instant)>,
}

impl Control {
    /// Waits (at most `timeout`) for relayd to answer on its control socket. It binds the
    /// socket before DPDK starts and answers once its ports are up and the control loop runs,
    /// so ready is an answered `ping`, not a connect.
    pub fn wait(path: &Path, timeout: Duration) -> Result<Control, String> {
        let start = Instant::now();
        loop {
            let mut c = Control { path: path.to_path_buf(), conn: None };
            if c.request("ping").is_ok() {
                return Ok(c);
            }
            if start.elapsed() > timeout {
                return Err(format!("no answer on the control socket {}", path.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends `request` (one line, or a whole `batch … end`) and returns the body if the status
    /// line is `ok`.
    pub fn request(&mut self, request: &str) -> Result<String, String> {
        let fresh = matches!(&self.conn, Some((_, _, last)) if last.elapsed() < Duration::from_millis(300));
        if !fresh {
            let s = UnixStream::connect(&self.path).map_err(|e| format!("{}: {e}", self.path.display()))?;
            s.set_read_timeout(Some(Duration::from_secs(10))).map_err(|e| e.to_string())?;
            let r = BufReader::new(s.try_clone().map_err(|e| e.to_string())?);
            self.conn = Some((s, r, Instant::now()));
        }
        let Some((w, r, last)) = self.conn.as_mut() else { return Err("no connection".into()) };
        let mut req = request.trim_end().to_string();
        req.push('\n');
        w.write_all(req.as_bytes()).map_err(|e| e.to_string())?;
        let mut body = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
                self.conn = None;
                return Err("control socket closed".into());
            }
            let l = line.trim_end();
            if l == "ok" {
                *last = Instant::now();
                return Ok(body);
            }
            if let Some(e) = l.strip_prefix("error:") {
                *last = Instant::now();
                return Err(e.trim().to_string());
            }
            body.push_str(l);
            body.push('\n');
        }
    }

    /// One counter of the `stats` answer (`name value` lines).
    pub fn stat(stats: &str, name: &str) -> u64 {
        stats.lines().find_map(|l| {
            let mut it = l.split_whitespace();
            (it.next() == Some(name)).then(|| it.next().and_then(|v| v.parse().ok())).flatten()
        }).unwrap_or(0)
    }
}

/// Runs relay-gen to completion with `args`, returning its parsed JSON summary.
pub fn relay_gen(args: &[String], json: &Path, log: &Path, limit: Duration) -> Result<serde_json::Value, String> {
    let _ = std::fs::remove_file(json);
    let out = std::fs::File::create(log).map_err(|e| e.to_string())?;
    let mut child = Command::new(sibling("relay-gen"))
        .args(args)
        .args(["--json", json.to_str().expect("utf-8 path"), "--quiet"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(out)
        .spawn()
        .map_err(|e| format!("relay-gen: {e}"))?;
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("relay-gen ran past {limit:?}; see {}", log.display()));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    if !status.success() {
        return Err(format!("relay-gen failed ({status}); see {}", log.display()));
    }
    let text = std::fs::read_to_string(json).map_err(|e| format!("{}: {e}", json.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", json.display()))
}
