//! One relayd instance of the lab: started in its own process group (Ctrl-C on the lab
//! must not reach it before the lab stops it in order), output to a log file, reached by
//! its control socket (docs/control-protocol.md), stopped with SIGTERM and checked for
//! its "mempool full again … no leak" line.
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use super::sh::{self, Result};

/// relayd's counters from `stats`: `rx_packets`, `pipeline.drop_<reason>`, `port.wan.ipackets`, ….
pub type Stats = BTreeMap<String, u64>;

/// A process gets SIGKILL at once; this long for the kernel to reap it.
const STOP_AFTER_KILL: Duration = Duration::from_secs(5);

pub struct Relayd {
    pub name: String,
    pub pid: u32,
    /// Present when this process started it (then its exit status is known).
    child: Option<Child>,
    pub config: PathBuf,
    pub socket: PathBuf,
    pub log: PathBuf,
}

/// How a relayd ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stopped {
    pub name: String,
    /// Exit status, when this process was its parent.
    pub exit: Option<i32>,
    /// relayd's own pool check line (`mempool full again (N of N mbufs): no leak`).
    pub pool: Option<String>,
    /// Had to be killed: it did not stop within the limit.
    pub killed: bool,
}

impl Stopped {
    /// Stopped by itself with every mbuf back in its pool.
    pub fn pools_full(&self) -> bool {
        !self.killed && self.exit.unwrap_or(0) == 0 && self.pool.as_deref().is_some_and(|l| l.ends_with("no leak"))
    }
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let exit = self.exit.map_or("exited".to_string(), |c| format!("exit {c}"));
        match (&self.pool, self.killed) {
            (_, true) => write!(f, "{}: did not stop, killed", self.name),
            (Some(p), _) => write!(f, "{}: {exit}, {}", self.name, p.trim_start_matches("relayd: ")),
            (None, _) => write!(f, "{}: {exit}, no pool check in its log", self.name),
        }
    }
}

impl Relayd {
    /// Starts `relayd -c config`, output appended to `log` (a restarted instance keeps
    /// its predecessor's output above its own).
    pub fn spawn(name: &str, bin: &Path, config: &Path, socket: &Path, log: &Path) -> Result<Relayd> {
        Relayd::spawn_in(None, name, bin, config, socket, log)
    }

    /// [`Relayd::spawn`] inside network namespace `netns`: its TAPs appear there. `ip netns
    /// exec` execs relayd in place, so the child's pid is relayd's.
    pub fn spawn_in(netns: Option<&str>, name: &str, bin: &Path, config: &Path, socket: &Path, log: &Path) -> Result<Relayd> {
        let _ = std::fs::remove_file(socket);
        let out = File::options().create(true).append(true).open(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| format!("{}: {e}", log.display()))?;
        let child = sh::in_ns(netns, &bin.to_string_lossy())
            .arg("-c")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("cannot start {} ({}): {e}", bin.display(), name))?;
        Ok(Relayd {
            name: name.to_string(),
            pid: child.id(),
            child: Some(child),
            config: config.to_path_buf(),
            socket: socket.to_path_buf(),
            log: log.to_path_buf(),
        })
    }

    /// A relayd started by an earlier `relay-lab up`, if `pid` still runs `config`.
    pub fn attach(name: &str, pid: u32, config: &Path, socket: &Path, log: &Path) -> Option<Relayd> {
        let runs_config = sh::cmdline(pid).is_some_and(|c| c.contains("relayd") && c.ends_with(&*config.to_string_lossy()));
        (runs_config && sh::alive(pid)).then(|| Relayd {
            name: name.to_string(),
            pid,
            child: None,
            config: config.to_path_buf(),
            socket: socket.to_path_buf(),
            log: log.to_path_buf(),
        })
    }

    /// Waits until the control socket answers `ping`.
    pub fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let ready = sh::poll(limit, || {
            if self.request("ping").is_ok() {
                return Some(true);
            }
            (!self.running()).then_some(false)
        });
        match ready {
            Some(true) => Ok(()),
            Some(false) => Err(format!("{} exited at start:\n{}", self.name, sh::tail(&self.log, 20))),
            None => Err(format!("{} did not answer on {} within {limit:?}:\n{}", self.name, self.socket.display(), sh::tail(&self.log, 20))),
        }
    }

    /// Leaves the process running when this handle goes (`relay-lab up`).
    pub fn detach(mut self) {
        self.child = None;
    }

    pub fn running(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => sh::alive(self.pid),
        }
    }

    /// One request; the body on `ok`, the reason on `error: …`.
    pub fn request(&self, text: &str) -> Result<String> {
        let io = |e: std::io::Error| format!("{}: {}: {e}", self.name, self.socket.display());
        let mut s = UnixStream::connect(&self.socket).map_err(io)?;
        s.set_read_timeout(Some(Duration::from_secs(10))).map_err(io)?;
        s.write_all(format!("{}\n", text.trim_end()).as_bytes()).map_err(io)?;
        s.shutdown(std::net::Shutdown::Write).map_err(io)?;
        let mut body = String::new();
        for line in BufReader::new(s).lines() {
            let line = line.map_err(io)?;
            if line == "ok" {
                return Ok(body);
            }
            if let Some(e) = line.strip_prefix("error: ") {
                return Err(format!("{}: {text}: {e}", self.name));
            }
            body.push_str(&line);
            body.push('\n');
        }
        Err(format!("{}: {text}: no status line", self.name))
    }

    pub fn stats(&self) -> Result<Stats> {
        Ok(parse_stats(&self.request("stats")?))
    }

    /// Waits (at most `limit`) for relayd to stop by itself (a drain ends so) and reads its
    /// pool check; killed past the limit.
    pub fn wait_exit(mut self, limit: Duration) -> Stopped {
        let (exit, killed) = match self.child.as_mut() {
            Some(c) => match sh::wait_child(c, limit) {
                Some(status) => (status.code(), false),
                None => (None, true),
            },
            None => {
                let gone = sh::poll(limit, || (!sh::alive(self.pid)).then_some(())).is_some();
                if !gone {
                    sh::signal(self.pid, "KILL");
                }
                (None, !gone)
            }
        };
        self.child = None;
        Stopped { name: self.name.clone(), exit, pool: pool_line(&self.log), killed }
    }

    /// SIGKILL and reaped: no drain, no pool check, what a crash looks like to the others.
    pub fn kill(mut self) {
        sh::signal(self.pid, "KILL");
        match self.child.take() {
            Some(mut c) => {
                let _ = c.wait();
            }
            None => {
                sh::poll(STOP_AFTER_KILL, || (!sh::alive(self.pid)).then_some(()));
            }
        }
    }

    /// SIGTERM, then waits for it to finish (killed past `limit`) and reads its pool check.
    pub fn stop(self, limit: Duration) -> Stopped {
        sh::signal(self.pid, "TERM");
        self.wait_exit(limit)
    }
}

impl Drop for Relayd {
    /// A relayd still owned here was not stopped in order: do not leave it running.
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            sh::signal(c.id(), "TERM");
            if sh::wait_child(&mut c, Duration::from_secs(10)).is_none() {
                let _ = c.kill();
            }
        }
    }
}

/// `name value` lines into a map (lines that are not counters are skipped).
pub fn parse_stats(body: &str) -> Stats {
    body.lines()
        .filter_map(|l| l.split_once(' '))
        .filter_map(|(k, v)| v.trim().parse().ok().map(|v| (k.to_string(), v)))
        .collect()
}

/// The last instance's word on its mempool, from the log: after its start banner.
pub fn pool_line(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines()
        .rev()
        .take_while(|l| !l.starts_with("relayd: EAL "))
        .find(|l| l.contains("mempool full again") || l.contains("LEAK"))
        .map(str::to_string)
}
