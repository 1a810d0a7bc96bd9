//! Runs a DPDK forwarder (relayd, dpdk-testpmd, l3fwd) as a child process and samples its
//! egress port's packet counter through the DPDK telemetry socket, the same way for every
//! contestant.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relay_tools::telemetry::{json_u64, socket_path, Telemetry};

pub struct Forwarder {
    pub name: String,
    child: Child,
    prefix: String,
    log: PathBuf,
}

impl Forwarder {
    /// Starts `cmd`, whose EAL uses `--file-prefix=prefix`, with output to `log`.
    pub fn start(name: &str, mut cmd: Command, prefix: &str, log: &Path) -> std::io::Result<Forwarder> {
        let _ = std::fs::remove_dir_all(format!("/var/run/dpdk/{prefix}"));
        let out = std::fs::File::create(log)?;
        let child = cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).spawn()?;
        Ok(Forwarder { name: name.into(), child, prefix: prefix.into(), log: log.to_path_buf() })
    }

    fn telemetry(&mut self, timeout: Duration) -> Result<Telemetry, String> {
        let path = socket_path(&self.prefix);
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("{} exited ({status}); see {}", self.name, self.log.display()));
            }
            if let Ok(t) = Telemetry::connect(&path) {
                return Ok(t);
            }
            if start.elapsed() > timeout {
                return Err(format!("{}: no telemetry socket at {}", self.name, path.display()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until the process has its telemetry socket (its EAL is up) and connects to it.
    pub fn ready(&mut self) -> Result<Telemetry, String> {
        self.telemetry(Duration::from_secs(60))
    }

    /// Packets per second leaving `port`, measured over `window` after `warmup`.
    pub fn egress_rate(&mut self, port: u16, warmup: Duration, window: Duration) -> Result<f64, String> {
        let mut t = self.telemetry(Duration::from_secs(60))?;
        let cmd = format!("/ethdev/stats,{port}");
        let read = |t: &mut Telemetry| -> Result<u64, String> {
            let reply = t.query(&cmd).map_err(|e| e.to_string())?;
            json_u64(&reply, "opackets").ok_or_else(|| format!("no opackets in {reply}"))
        };
        // Wait for traffic to start, then for the warm-up.
        let start = Instant::now();
        while read(&mut t)? == 0 {
            if start.elapsed() > Duration::from_secs(30) {
                return Err(format!("{}: port {port} sends nothing; see {}", self.name, self.log.display()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(warmup);
        let (a, ta) = (read(&mut t)?, Instant::now());
        std::thread::sleep(window);
        let (b, tb) = (read(&mut t)?, Instant::now());
        Ok((b - a) as f64 / (tb - ta).as_secs_f64())
    }

    /// SIGINT (both relayd and testpmd shut down cleanly on it), then wait.
    pub fn stop(mut self) -> Option<i32> {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        self.child.wait().ok().and_then(|s| s.code())
    }
}

/// Writes a pcap of `frames` (microsecond timestamps, Ethernet).
pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) -> std::io::Result<()> {
    let mut v: Vec<u8> = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    for f in frames {
        v.extend_from_slice(&[0; 8]);
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(f);
    }
    std::fs::write(path, v)
}

/// The input of the full-rate benchmarks: a `net_pcap` device replaying `frames` (written to
/// `work/<name>.pcap`) for ever.
pub fn pcap_input(work: &Path, name: &str, frames: &[Vec<u8>]) -> std::io::Result<String> {
    let path = work.join(format!("{name}.pcap"));
    write_pcap(&path, frames)?;
    Ok(format!("net_pcap0,rx_pcap={},infinite_rx=1", path.display()))
}
