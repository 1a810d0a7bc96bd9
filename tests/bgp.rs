//! relayd with a real routing daemon (issue 16): BIRD 2 on relayd's host holds an eBGP
//! session with an upstream router through relayd's port — the session's packets reach the
//! kernel through the port's control TAP and leave through the port — and the routes BIRD
//! learns go to kernel table 100, which relayd mirrors into its own tables.
//!
//! Two namespaces: `up` (the upstream router: BIRD on the far end of relayd's port, a DPDK
//! TAP moved there) and `rly` (relayd's host: relayd, its control TAP `cp0` and BIRD).
//! Root only; bird2 from scripts/setup.sh.
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const RELAY_MAC: &str = "02:00:00:00:00:b0";

/// A BIRD daemon in a namespace, killed on drop.
struct Bird {
    child: Child,
    ns: String,
    socket: String,
}

impl Bird {
    fn start(ns: &Netns, dir: &Scratch, name: &str, config: &str) -> Bird {
        let conf = dir.write(&format!("{name}.conf"), config);
        let socket = dir.path(&format!("{name}.ctl")).display().to_string();
        let child = Command::new("ip")
            .args(["netns", "exec", &ns.0, "bird", "-f", "-c", conf.to_str().expect("path"), "-s", &socket])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("bird (apt-get install bird2)");
        Bird { child, ns: ns.0.clone(), socket }
    }

    fn birdc(&self, cmd: &str) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.ns, "birdc", "-s", &self.socket])
            .args(cmd.split_whitespace())
            .output()
            .expect("birdc");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Bird {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `check` until it holds or `limit` passes; the last value either way.
fn wait_for(limit: Duration, mut check: impl FnMut() -> (bool, String)) -> (bool, String) {
    let start = Instant::now();
    loop {
        let (ok, seen) = check();
        if ok || start.elapsed() > limit {
            return (ok, seen);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

const UPSTREAM_BIRD: &str = r#"
router id 198.51.100.1;
protocol device {}
protocol static announced {
    ipv6;
    route 2001:db8:c0::/44 unreachable;
}
protocol bgp relay {
    local 2001:db8:ff::1 as 65000;
    neighbor 2001:db8:ff::2 as 65001;
    hold time 9;
    ipv6 { import all; export where proto = "announced"; };
}
"#;

const RELAY_BIRD: &str = r#"
router id 198.51.100.7;
protocol device {}
protocol kernel {
    kernel table 100;
    ipv6 { export all; import none; };
}
protocol bgp upstream {
    local 2001:db8:ff::2 as 65001;
    neighbor 2001:db8:ff::1 as 65000;
    hold time 9;
    ipv6 { import all; export none; };
}
"#;

fn relay_config(dir: &Scratch, prefix: &str, data_tap: &str) -> std::path::PathBuf {
    dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "{prefix}"
memory_mb = 256
[[port]]
name = "up"
device = "net_tap0,iface={data_tap}"
mac = "{RELAY_MAC}"
[[worker]]
cpu = 0
rx = ["up:0"]
[runtime]
idle_sleep_us = 20
[control]
socket = "{d}/ctl.sock"
[routing]
kernel_table = 100
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.7/24"
ipv6 = ["2001:db8:ff::2/64"]
control_tap = "cp0"
[pipeline.control_plane]
peers = ["2001:db8:ff::1"]
"#,
            d = dir.0.display()
        ),
    )
}

#[test]
fn bird_peers_through_relayd_and_its_routes_reach_relayds_tables() {
    let tag = std::process::id() % 100_000;
    let up = Netns::new(&format!("bgu{tag}"));
    let rly = Netns::new(&format!("bgr{tag}"));
    for ns in [&up, &rly] {
        ns.ip("link set lo up");
    }
    let dir = Scratch::new("bgp");
    let data_tap = format!("bgd{tag}");
    let d = Daemon::start_in_netns(&rly.0, &relay_config(&dir, &format!("bgp{tag}"), &data_tap), &dir.path("ctl.sock"));

    // The control TAP carries the port's MAC and addresses.
    let cp0 = rly.ip("addr show dev cp0");
    assert!(cp0.contains(RELAY_MAC) && cp0.contains("198.51.100.7/24") && cp0.contains("2001:db8:ff::2/64"), "{cp0}");

    rly.ip(&format!("link set {data_tap} netns {}", up.0));
    up.ip(&format!("addr add 198.51.100.1/24 dev {data_tap}"));
    up.ip(&format!("-6 addr add 2001:db8:ff::1/64 dev {data_tap} nodad"));
    up.ip(&format!("link set {data_tap} up"));

    // The kernel behind cp0 reaches the upstream through relayd (ARP/ND and ICMP echo).
    let ping = wait_for(Duration::from_secs(10), || {
        let out = rly.exec("ping -c 1 -W 1 2001:db8:ff::1");
        (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
    });
    assert!(ping.0, "the relay's kernel pings the upstream through relayd:\n{}", ping.1);

    let upstream = Bird::start(&up, &dir, "upstream", UPSTREAM_BIRD);
    let relay_bird = Bird::start(&rly, &dir, "relay", RELAY_BIRD);
    let session = wait_for(Duration::from_secs(30), || {
        let s = relay_bird.birdc("show protocols upstream");
        (s.contains("Established"), s)
    });
    assert!(session.0, "eBGP session through relayd's control TAP:\n{}\nupstream:\n{}", session.1, upstream.birdc("show protocols all relay"));

    // The upstream's route: BIRD → kernel table 100 → relayd, with its origin.
    let want = "2001:db8:c0::/44 via 2001:db8:ff::1 port 0 origin kernel/bird";
    let learned = wait_for(Duration::from_secs(10), || {
        let r = d.ok("routes");
        (r.lines().any(|l| l == want), r)
    });
    assert!(learned.0, "{want:?} in relayd's routes:\n{}\nkernel:\n{}", learned.1, rly.ip("-6 route show table 100"));
    assert!(learned.1.contains("2001:db8:ff::/64 port 0 origin static"), "{}", learned.1);

    // Withdrawn upstream: gone from relayd too.
    upstream.birdc("disable announced");
    let withdrawn = wait_for(Duration::from_secs(10), || {
        let r = d.ok("routes");
        (!r.contains("2001:db8:c0::/44"), r)
    });
    assert!(withdrawn.0, "withdrawn route still in relayd:\n{}", withdrawn.1);

    // A static route for the same prefix is the operator's: the kernel's never replaces it.
    d.ok("route add 2001:db8:c0::/44 blackhole");
    upstream.birdc("enable announced");
    let relearned = wait_for(Duration::from_secs(10), || {
        let k = rly.ip("-6 route show table 100");
        (k.contains("2001:db8:c0::/44"), k)
    });
    assert!(relearned.0, "kernel relearned the route: {}", relearned.1);
    let shadow = wait_for(Duration::from_secs(10), || {
        let s = d.stats();
        (s.get("fib.shadowed").copied().unwrap_or(0) >= 1, format!("{s:?}"))
    });
    assert!(shadow.0, "{}", shadow.1);
    assert!(d.ok("routes").lines().any(|l| l == "2001:db8:c0::/44 blackhole origin static"));
    // Deleted by the operator, the kernel's route takes its place.
    d.ok("route del 2001:db8:c0::/44");
    assert!(d.ok("routes").lines().any(|l| l == want), "{}", d.ok("routes"));

    let s = d.stats();
    for counter in ["pipeline.to_kernel", "tap.to_kernel", "tap.from_kernel"] {
        assert!(s.get(counter).copied().unwrap_or(0) > 0, "{counter} in {s:?}");
    }
    assert_eq!(s.get("pipeline.drop_local_unsupported").copied().unwrap_or(0), 0, "nothing for us dropped");
    drop(relay_bird);
    drop(upstream);
    d.stop().assert_clean();
}
