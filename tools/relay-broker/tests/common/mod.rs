//! A live relayd for the broker's tests: release build, pcap ports, --no-huge (hugepages off),
//! its own --file-prefix, one worker.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relay_broker::relayd;

pub mod bind;
pub mod browser;
pub mod postgres;
pub mod traffic;

/// relayd: $RELAYD, else the release build in this test's target directory
/// (`cargo build -j1 --release -p relayd` with the same CARGO_TARGET_DIR).
fn relayd_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("RELAYD") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test exe");
    let target = exe.parent().and_then(Path::parent).and_then(Path::parent).expect("target dir");
    let p = target.join("release/relayd");
    assert!(p.exists(), "{} missing: build it with `cargo build -j1 --release -p relayd` (same CARGO_TARGET_DIR) or set RELAYD", p.display());
    p
}

pub struct Relayd {
    pub child: Child,
    pub socket: PathBuf,
}

impl Relayd {
    /// On pcap ports that carry no traffic: the control socket is what is tested.
    pub fn start(dir: &Path) -> Relayd {
        // An empty pcap.
        let pcap = [0xd4u8, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
        std::fs::write(dir.join("in.pcap"), pcap).expect("pcap");
        let d = dir.display();
        Relayd::start_on(dir, &format!("net_pcap0,rx_pcap={d}/in.pcap"), &format!("net_pcap1,rx_pcap={d}/in.pcap"))
    }

    /// On the DPDK devices `wan` (port 0: 198.51.100.20/24, gateway 198.51.100.1 at
    /// 02:00:00:00:01:01) and `lan` (port 1: 2001:db8:20::1/64).
    pub fn start_on(dir: &Path, wan: &str, lan: &str) -> Relayd {
        let cfg = dir.join("relayd.toml");
        std::fs::write(
            &cfg,
            format!(
                r#"
[eal]
file_prefix = "{fp}"
memory_mb = 256
[[port]]
name = "wan"
device = "{wan}"
mac = "02:00:00:00:00:a0"
[[port]]
name = "lan"
device = "{lan}"
mac = "02:00:00:00:00:a1"
[[worker]]
cpu = 0
rx = ["wan:0", "lan:0"]
[runtime]
idle_sleep_us = 100
[control]
socket = "{d}/ctl.sock"
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"
[[pipeline.interface]]
port = 1
ipv6 = ["2001:db8:20::1/64"]
[[pipeline.neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[pipeline.tunnel]]
id = 0
local = "198.51.100.20"
remote = "203.0.113.50"
name = "operator"
[[pipeline.route]]
add = "2001:db8:50::/48 tunnel 0"
"#,
                fp = dir.file_name().and_then(|n| n.to_str()).unwrap_or("relay-broker-test"),
                d = dir.display()
            ),
        )
        .expect("relayd config");
        let child = Command::new(relayd_bin())
            .args(["-c", cfg.to_str().expect("utf-8")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start relayd");
        Relayd { child, socket: dir.join("ctl.sock") }
    }

    pub async fn wait_up(&mut self) {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(60) {
            if relayd::request(&self.socket, "ping").await.is_ok() {
                return;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("relayd exited: {st}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("relayd did not come up");
    }
}

impl Relayd {
    /// SIGKILL: no cleanup at all.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Relayd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A broker configuration with one tunnel server: the relayd of `dir` (its `ctl.sock`).
pub fn one_server_config(dir: &std::path::Path) -> String {
    format!(
        "database = \"sqlite://{d}/b.db\"\n[pools]\nlink64 = \"2001:db8:1000::/48\"\nrouted48 = \"2001:db8:8000::/40\"\n\
         [[server]]\nname = \"t1\"\nipv4 = \"198.51.100.20\"\ncontrol = \"{d}/ctl.sock\"\ncapacity = 10\n",
        d = dir.display()
    )
}

/// A broker configuration on `url` with the relayd of `dir` as its one server, short leases
/// (100 s) and quarantine (50 s) for the expiry cases, then `extra` (e.g. a `[dns]` section).
pub fn live_config(dir: &std::path::Path, url: &str, extra: &str) -> String {
    format!(
        "database = \"{url}\"\nlease_secs = 100\nquarantine_secs = 50\n[pools]\nlink64 = \"2001:db8:1000::/48\"\nrouted48 = \"2001:db8:8000::/40\"\n\
         [[server]]\nname = \"t1\"\nipv4 = \"198.51.100.20\"\ncontrol = \"{d}/ctl.sock\"\ncapacity = 10\n{extra}",
        d = dir.display()
    )
}

/// One HTTP/1.1 request with a JSON body; (status, body).
pub async fn http(addr: SocketAddr, method: &str, path: &str, auth: &str, body: &str) -> (u16, String) {
    let (status, _, body) = request(addr, method, path, &format!("{auth}Content-Type: application/json\r\n"), body).await;
    (status, body)
}

/// One HTTP/1.1 request, `headers` as `Name: value\r\n` lines; (status, head, body).
pub async fn request(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> (u16, String, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    tokio::io::AsyncWriteExt::write_all(&mut s, req.as_bytes()).await.expect("send");
    let mut out = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut s, &mut out).await.expect("read");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    let (head, body) = text.split_once("\r\n\r\n").map(|(h, b)| (h.to_string(), b.to_string())).unwrap_or_default();
    (status, head, body)
}

/// An empty scratch directory for the test `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rbk-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    dir
}

/// A live relayd in a scratch directory (`R`: on pcap ports, `Relayd`, or on TAP ports with
/// traffic, `traffic::Sites`), and a broker configuration (`broker.toml` there) that listens on
/// a free port with that relayd as its one server.
pub struct LiveServer<R> {
    pub dir: PathBuf,
    pub relayd: R,
    pub addr: SocketAddr,
    pub cfg_file: PathBuf,
    pub cfg: relay_broker::config::Config,
}

impl LiveServer<Relayd> {
    pub async fn start(name: &str) -> LiveServer<Relayd> {
        let dir = scratch(name);
        let mut relayd = Relayd::start(&dir);
        relayd.wait_up().await;
        LiveServer::configured(dir, relayd)
    }
}

impl LiveServer<traffic::Sites> {
    pub async fn with_traffic(name: &str) -> LiveServer<traffic::Sites> {
        let dir = scratch(name);
        let sites = traffic::Sites::start(&dir).await;
        LiveServer::configured(dir, sites)
    }
}

impl<R> LiveServer<R> {
    fn configured(dir: PathBuf, relayd: R) -> LiveServer<R> {
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let text = format!("listen = \"{addr}\"\n{}", one_server_config(&dir));
        let cfg_file = dir.join("broker.toml");
        std::fs::write(&cfg_file, &text).expect("broker.toml");
        let cfg = relay_broker::config::Config::parse("broker.toml", &text).expect("config");
        LiveServer { dir, relayd, addr, cfg_file, cfg }
    }
}

/// A TCP port nothing listens on now (the kernel's pick).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

/// `relay-broker serve`, killed on drop; its stderr goes to `log`.
pub struct Serve(pub Child);

impl Serve {
    pub async fn start(cfg: &Path, log: &Path, addr: SocketAddr) -> Serve {
        let err = std::fs::File::create(log).expect("log");
        let child = Command::new(env!("CARGO_BIN_EXE_relay-broker"))
            .arg("--config")
            .arg(cfg)
            .arg("serve")
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .expect("spawn serve");
        let mut s = Serve(child);
        let start = Instant::now();
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if let Ok(Some(st)) = s.0.try_wait() {
                panic!("relay-broker serve exited ({st}): {}", std::fs::read_to_string(log).unwrap_or_default());
            }
            assert!(start.elapsed() < Duration::from_secs(30), "relay-broker serve is not listening on {addr}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        s
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}


