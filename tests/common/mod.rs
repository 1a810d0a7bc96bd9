//! Shared helpers for the relayd end-to-end tests: scratch directories, pcap files, running
//! relayd as a child process (EAL initialises once per process), reading its counters.
#![allow(dead_code)]
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn relayd() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_relayd"))
}

/// Binaries of the other workspace packages (relayctl, relay-gen) sit beside relayd.
pub fn sibling_bin(name: &str) -> PathBuf {
    relayd().with_file_name(name)
}

/// A scratch directory, removed on drop.
pub struct Scratch(pub PathBuf);

impl Scratch {
    pub fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("relay-test-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
    pub fn path(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
    pub fn write(&self, file: &str, text: &str) -> PathBuf {
        let p = self.path(file);
        std::fs::write(&p, text).expect("write scratch file");
        p
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn write_pcap(path: &Path, frames: &[Vec<u8>]) {
    let mut v: Vec<u8> = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    for (i, f) in frames.iter().enumerate() {
        v.extend_from_slice(&(i as u32).to_le_bytes());
        v.extend_from_slice(&0u32.to_le_bytes());
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(&(f.len() as u32).to_le_bytes());
        v.extend_from_slice(f);
    }
    std::fs::write(path, v).expect("write pcap");
}

pub fn read_pcap(path: &Path) -> Vec<Vec<u8>> {
    let mut data = Vec::new();
    std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut data)).expect("read pcap");
    assert!(data.len() >= 24, "{} is not a pcap", path.display());
    let le = data[..4] == [0xd4, 0xc3, 0xb2, 0xa1] || data[..4] == [0x4d, 0x3c, 0xb2, 0xa1];
    let mut off = 24;
    let mut out = Vec::new();
    while off + 16 <= data.len() {
        let b = [data[off + 8], data[off + 9], data[off + 10], data[off + 11]];
        let len = if le { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) } as usize;
        out.push(data[off + 16..off + 16 + len].to_vec());
        off += 16 + len;
    }
    out
}

/// relayd's output and its final counters (`name value` lines after "final counters").
pub struct Run {
    pub output: Output,
    pub stdout: String,
    pub stderr: String,
    pub counters: BTreeMap<String, u64>,
}

impl Run {
    pub fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    pub fn counter(&self, name: &str) -> u64 {
        *self.counters.get(name).unwrap_or_else(|| panic!("no counter {name} in:\n{}", self.stdout))
    }
    pub fn assert_clean(&self) {
        assert_eq!(self.code(), Some(0), "relayd failed:\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        assert!(self.stdout.contains("no leak"), "no pool check in:\n{}", self.stdout);
    }
}

pub fn parse_counters(stdout: &str) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    let mut in_final = false;
    for line in stdout.lines() {
        if line.contains("final counters") {
            in_final = true;
            continue;
        }
        if !in_final || !line.starts_with("  ") {
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"port") {
            // "port NAME ipackets N opackets N imissed N oerrors N"
            for kv in words[2..].chunks(2) {
                if let [k, v] = kv {
                    if let Ok(v) = v.parse() {
                        out.insert(format!("port.{}.{k}", words[1]), v);
                    }
                }
            }
        } else if let [k, v] = words.as_slice() {
            if let Ok(v) = v.parse() {
                out.insert(k.to_string(), v);
            }
        }
    }
    out
}

pub fn run_relayd(args: &[&str]) -> Run {
    let output = Command::new(relayd()).args(args).output().expect("start relayd");
    finish(output)
}

fn finish(output: Output) -> Run {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let counters = parse_counters(&stdout);
    Run { output, stdout, stderr, counters }
}

/// A relayd running in the background; SIGTERM and collected on `stop`.
pub struct Daemon {
    child: Option<Child>,
    pub socket: PathBuf,
}

impl Daemon {
    pub fn start(config: &Path, socket: &Path) -> Daemon {
        Daemon::start_with(Command::new(relayd()), config, socket)
    }

    /// relayd in network namespace `ns` (`ip netns exec` execs it: the child is relayd).
    pub fn start_in_netns(ns: &str, config: &Path, socket: &Path) -> Daemon {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", ns]).arg(relayd());
        Daemon::start_with(cmd, config, socket)
    }

    fn start_with(mut cmd: Command, config: &Path, socket: &Path) -> Daemon {
        let child = cmd
            .args(["-c", config.to_str().expect("utf-8 path")])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start relayd");
        let d = Daemon { child: Some(child), socket: socket.to_path_buf() };
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(30) {
            if d.request("ping").map(|r| r.is_ok()).unwrap_or(false) {
                return d;
            }
            if d.exited() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let run = d.stop();
        panic!("relayd did not come up:\n{}\n{}", run.stdout, run.stderr);
    }

    fn exited(&self) -> bool {
        let child = self.child.as_ref().expect("running");
        // try_wait needs &mut; a zero-signal kill probes liveness without reaping.
        !Command::new("kill").args(["-0", &child.id().to_string()]).status().map(|s| s.success()).unwrap_or(false)
            || std::fs::read_to_string(format!("/proc/{}/stat", child.id())).map(|s| s.contains(") Z ")).unwrap_or(true)
    }

    /// Sends one request (multi-line for batches); Ok(body) or Err(reason).
    pub fn request(&self, text: &str) -> std::io::Result<Result<String, String>> {
        let mut s = UnixStream::connect(&self.socket)?;
        s.set_read_timeout(Some(Duration::from_secs(120)))?;
        s.write_all(text.as_bytes())?;
        if !text.ends_with('\n') {
            s.write_all(b"\n")?;
        }
        s.shutdown(std::net::Shutdown::Write)?;
        let mut body = String::new();
        for line in BufReader::new(s).lines() {
            let line = line?;
            if line == "ok" {
                return Ok(Ok(body));
            }
            if let Some(e) = line.strip_prefix("error: ") {
                return Ok(Err(e.to_string()));
            }
            body.push_str(&line);
            body.push('\n');
        }
        Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "no status line"))
    }

    pub fn ok(&self, text: &str) -> String {
        match self.request(text).expect("control socket") {
            Ok(body) => body,
            Err(e) => panic!("{text:?} failed: {e}"),
        }
    }

    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.ok("stats")
            .lines()
            .filter_map(|l| l.split_once(' '))
            .filter_map(|(k, v)| v.parse().ok().map(|v| (k.to_string(), v)))
            .collect()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Connects, sends `bytes` as they are, closes the sending side and returns every byte of
    /// the answer (the server closes once it has answered everything).
    pub fn raw(&self, bytes: &[u8]) -> Vec<u8> {
        let mut s = UnixStream::connect(&self.socket).expect("control socket");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(bytes).expect("send");
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).expect("answer");
        out
    }

    /// Sends `signal` (a `kill` name: INT, TERM) and collects relayd if it exits within
    /// `limit`; Err(the daemon back) if it is still running then.
    pub fn signal_stop(self, signal: &str, limit: Duration) -> Result<Run, Daemon> {
        let _ = Command::new("kill").args([format!("-{signal}"), self.pid().to_string()]).status();
        self.wait_exit(limit)
    }

    /// Whether relayd still runs (not exited, not a zombie waiting to be collected).
    pub fn running(&self) -> bool {
        !self.exited()
    }

    /// Collects relayd if it exits by itself within `limit` (a drain ending); Err(the daemon
    /// back) if it is still running then.
    pub fn wait_exit(mut self, limit: Duration) -> Result<Run, Daemon> {
        let mut child = self.child.take().expect("running");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = child.try_wait() {
                return Ok(finish(child.wait_with_output().expect("collect relayd")));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.child = Some(child);
        Err(self)
    }

    pub fn stop(mut self) -> Run {
        let mut child = self.child.take().expect("running");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let start = Instant::now();
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if start.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        finish(child.wait_with_output().expect("collect relayd"))
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A network namespace, deleted on drop (also when a test fails half-way).
pub struct Netns(pub String);

impl Netns {
    pub fn new(name: &str) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        let out = Command::new("ip").args(["netns", "add", name]).output().expect("ip (apt-get install iproute2)");
        assert!(out.status.success(), "ip netns add {name} (root needed): {}", String::from_utf8_lossy(&out.stderr));
        Netns(name.to_string())
    }

    /// `ip -n NS <args>`, which must succeed; its stdout.
    pub fn ip(&self, args: &str) -> String {
        let out = Command::new("ip").arg("-n").arg(&self.0).args(args.split_whitespace()).output().expect("ip");
        assert!(out.status.success(), "ip -n {} {args}: {}", self.0, String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A command (words split on whitespace) run inside the namespace.
    pub fn exec(&self, cmd: &str) -> Output {
        Command::new("ip").args(["netns", "exec", &self.0]).args(cmd.split_whitespace()).output().expect("ip netns exec")
    }

    pub fn ping(&self, addr: &str) {
        let out = self.exec(&format!("ping -c 3 -W 2 {addr}"));
        assert!(out.status.success(), "ping {addr} from the namespace:\n{}", String::from_utf8_lossy(&out.stdout));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}
