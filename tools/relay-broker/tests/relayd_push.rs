//! Pushing broker tunnels to a live relayd (release build, pcap ports, --no-huge, its own
//! --file-prefix) over its control socket, and removing them again. No mocks.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use relay_broker::config::Config;
use relay_broker::db::{Db, NewTunnel, Resources, Role};
use relay_broker::relayd::{self, CtlError};

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

struct Relayd {
    child: Child,
    socket: PathBuf,
}

impl Relayd {
    fn start(dir: &Path) -> Relayd {
        // An empty pcap: the ports carry no traffic, the control socket is what is tested.
        let pcap = [0xd4u8, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
        std::fs::write(dir.join("in.pcap"), pcap).expect("pcap");
        let cfg = dir.join("relayd.toml");
        std::fs::write(
            &cfg,
            format!(
                r#"
[eal]
file_prefix = "broker-push-{pid}"
memory_mb = 256
[[port]]
name = "wan"
device = "net_pcap0,rx_pcap={d}/in.pcap"
mac = "02:00:00:00:00:a0"
[[port]]
name = "lan"
device = "net_pcap1,rx_pcap={d}/in.pcap"
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
                pid = std::process::id(),
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

    async fn wait_up(&mut self) {
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

impl Drop for Relayd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn push_and_remove_on_a_live_relayd() {
    let dir = std::env::temp_dir().join(format!("relay-broker-push-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let mut r = Relayd::start(&dir);
    r.wait_up().await;

    let text = format!(
        "database = \"sqlite://{d}/b.db\"\n[pools]\nlink64 = \"2001:db8:1000::/48\"\nrouted48 = \"2001:db8:8000::/40\"\n\
         [[server]]\nname = \"t1\"\nipv4 = \"198.51.100.20\"\ncontrol = \"{d}/ctl.sock\"\ncapacity = 10\n",
        d = dir.display()
    );
    let cfg = Config::parse("t.toml", &text).expect("config");
    let db = Db::connect(&cfg.database).await.expect("db");
    db.add_user("alice", "pw", Role::User).await.expect("user");
    let res = Resources { servers: &cfg.servers, link: cfg.link_pool(), routed: cfg.routed_pool(), lease_secs: 100 };
    let req = NewTunnel { owner: "alice", client_ipv4: Ipv4Addr::new(203, 0, 113, 77), routed48: true };
    let (t, _) = db.allocate(&req, &res, 1000).await.expect("alloc");
    let sock = &cfg.servers[0].control;

    relayd::push(sock, cfg.servers[0].ipv4, &t).await.expect("push");
    assert_eq!(
        relayd::request(sock, "tunnels").await.expect("tunnels"),
        "0 local 198.51.100.20 remote 203.0.113.50 name operator\n32768 local 198.51.100.20 remote 203.0.113.77 name broker-1\n"
    );
    assert_eq!(relayd::request(sock, "routes").await.expect("routes"), "2001:db8:20::/64 port 1\n2001:db8:50::/48 tunnel 0\n2001:db8:1000::/64 tunnel 32768\n2001:db8:8000::/48 tunnel 32768\n");

    // The endpoint moves: the same push replaces the tunnel's remote.
    let mut moved = t.clone();
    moved.client_ipv4 = Ipv4Addr::new(203, 0, 113, 78);
    relayd::push(sock, cfg.servers[0].ipv4, &moved).await.expect("push moved");
    assert_eq!(
        relayd::request(sock, "tunnels").await.expect("tunnels"),
        "0 local 198.51.100.20 remote 203.0.113.50 name operator\n32768 local 198.51.100.20 remote 203.0.113.78 name broker-1\n"
    );

    relayd::remove(sock, &moved).await.expect("remove");
    assert_eq!(relayd::request(sock, "tunnels").await.expect("tunnels"), "0 local 198.51.100.20 remote 203.0.113.50 name operator\n");
    assert_eq!(relayd::request(sock, "routes").await.expect("routes"), "2001:db8:20::/64 port 1\n2001:db8:50::/48 tunnel 0\n");

    // Removing what is not there is refused, and a refused batch changed nothing.
    assert!(matches!(relayd::remove(sock, &moved).await, Err(CtlError::Refused(_))));
    assert_eq!(relayd::request(sock, "tunnels").await.expect("tunnels"), "0 local 198.51.100.20 remote 203.0.113.50 name operator\n");

    // A relayd that is down is an Io error (the broker's `pending` case), not a panic.
    drop(r);
    assert!(matches!(relayd::push(sock, cfg.servers[0].ipv4, &t).await, Err(CtlError::Io { .. })));
    let _ = std::fs::remove_dir_all(&dir);
}
