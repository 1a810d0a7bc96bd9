//! relayd with a real routing daemon (issue 16): BIRD 2 on relayd's host holds an eBGP
//! session with an upstream router through relayd's port — the session's packets reach the
//! kernel through the port's control TAP and leave through the port — and the routes BIRD
//! learns go to kernel table 100, which relayd mirrors into its own tables.
//!
//! Two namespaces: `up` (the upstream router: BIRD on the far end of relayd's port, a DPDK
//! TAP moved there) and `rly` (relayd's host: relayd, its control TAP `cp0` and BIRD).
//! Root only; bird2 from scripts/setup.sh.
//!
//! The second test runs the shipped deploy/bird/relay.conf and deploy/bird/upstream.conf
//! with the health agent (tools/src/bin/relay-health.rs; `cargo build --release -p
//! relay-tools` first): the anycast routes reach the upstream only while relayd is healthy;
//! after `relayctl drain` the upstream loses them while the sessions stay up, and relayd
//! stops by itself, cleanly, once no data-plane packet has come for `drain_quiet_ms`.
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

/// The prefixes of kernel table 100 (IPv6).
fn kernel_prefixes(ns: &Netns) -> std::collections::BTreeSet<String> {
    let prefix = |l: &str| l.split_whitespace().find(|w| !matches!(*w, "blackhole" | "unreachable" | "prohibit")).map(str::to_string);
    ns.ip("-6 route show table 100").lines().filter(|l| !l.starts_with(char::is_whitespace)).filter_map(prefix).collect()
}

/// The prefixes of relayd's routes that came from the kernel.
fn mirrored_prefixes(routes: &str) -> std::collections::BTreeSet<String> {
    routes.lines().filter(|l| l.contains(" origin kernel/")).filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
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
# A drain stops relayd 0.5 s + this after the last data-plane packet: room for the health
# test to look at a draining relay's sessions on a loaded machine before it goes.
drain_quiet_ms = 3000
[routing]
kernel_table = 100
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.7/24"
ipv6 = ["2001:db8:ff::2/64"]
control_tap = "cp0"
[pipeline.control_plane]
peers = ["2001:db8:ff::1", "198.51.100.1"]
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

    // BIRD killed and started again: the new one flushes what the old left in the kernel and
    // adds it back once the session is up. relayd follows the kernel through it all and keeps
    // the operator's routes: afterwards its kernel routes are exactly the table's.
    let operator = "2001:db8:d0::/48 blackhole origin static";
    d.ok("route add 2001:db8:d0::/48 blackhole");
    drop(relay_bird);
    let relay_bird = Bird::start(&rly, &dir, "relay", RELAY_BIRD);
    let back = wait_for(Duration::from_secs(30), || {
        let r = d.ok("routes");
        (relay_bird.birdc("show protocols upstream").contains("Established") && r.lines().any(|l| l == want), r)
    });
    assert!(back.0, "{want:?} back after BIRD's restart:\n{}", back.1);
    let same = wait_for(Duration::from_secs(10), || {
        let (k, r) = (kernel_prefixes(&rly), mirrored_prefixes(&d.ok("routes")));
        (k == r, format!("kernel {k:?}\nrelayd {r:?}"))
    });
    assert!(same.0, "relayd's kernel routes are the kernel table's after BIRD's restart:\n{}", same.1);
    assert!(d.ok("routes").lines().any(|l| l == operator), "{}", d.ok("routes"));
    d.ok("route del 2001:db8:d0::/48");

    // A multipath kernel route (written here with `ip route`, as a daemon with two paths
    // writes it): relayd's own next-hop group, with the kernel's weights, gone with the route.
    up.ip(&format!("-6 addr add 2001:db8:ff::3/64 dev {data_tap} nodad"));
    rly.ip("-6 route add 2001:db8:e0::/48 table 100 proto static nexthop via 2001:db8:ff::3 dev cp0 weight 3 nexthop via 2001:db8:ff::1 dev cp0");
    let want = "2001:db8:e0::/48 group 32768 origin kernel/static";
    let grouped = wait_for(Duration::from_secs(10), || {
        let r = d.ok("routes");
        (r.lines().any(|l| l == want), r)
    });
    assert!(grouped.0, "{want:?} in relayd's routes:\n{}\nkernel:\n{}", grouped.1, rly.ip("-6 route show table 100"));
    assert_eq!(d.ok("groups"), "32768 nexthop via 2001:db8:ff::1 port 0 nexthop via 2001:db8:ff::3 port 0 weight 3\n");
    rly.ip("-6 route del 2001:db8:e0::/48 table 100");
    let ungrouped = wait_for(Duration::from_secs(10), || {
        let (r, g) = (d.ok("routes"), d.ok("groups"));
        (!r.contains("2001:db8:e0::/48") && g.is_empty(), format!("{r}groups:\n{g}"))
    });
    assert!(ungrouped.0, "the route and its group are gone:\n{}", ungrouped.1);

    // An IPv4 route in the table: one of relayd's outer routes (where tunnel packets leave).
    rly.ip("route add 192.0.2.0/24 via 198.51.100.1 dev cp0 table 100 proto static");
    let want = "192.0.2.0/24 via 198.51.100.1 port 0 origin kernel/static";
    let outer = wait_for(Duration::from_secs(10), || {
        let r = d.ok("routes");
        (r.lines().any(|l| l == want), r)
    });
    assert!(outer.0, "{want:?} in relayd's routes:\n{}\nkernel:\n{}", outer.1, rly.ip("route show table 100"));
    rly.ip("route del 192.0.2.0/24 table 100");
    let gone = wait_for(Duration::from_secs(10), || {
        let r = d.ok("routes");
        (!r.contains("192.0.2.0/24"), r)
    });
    assert!(gone.0, "the IPv4 route is gone:\n{}", gone.1);

    let s = d.stats();
    for (counter, want) in [("fib.multipath", 1), ("fib.groups_added", 1), ("fib.groups_removed", 1), ("fib.multipath_reduced", 0)] {
        assert_eq!(s.get(counter).copied(), Some(want), "{counter} in {s:?}");
    }
    for counter in ["pipeline.to_kernel", "tap.to_kernel", "tap.from_kernel"] {
        assert!(s.get(counter).copied().unwrap_or(0) > 0, "{counter} in {s:?}");
    }
    assert_eq!(s.get("pipeline.drop_local_unsupported").copied().unwrap_or(0), 0, "nothing for us dropped");
    drop(relay_bird);
    drop(upstream);
    d.stop().assert_clean();
}

/// The health agent, killed on drop; its output goes to a file the assertions show.
struct Agent {
    child: Child,
    log: std::path::PathBuf,
}

impl Agent {
    fn start(dir: &Scratch, relayd_socket: &std::path::Path, bird_socket: &str) -> Agent {
        let log = dir.path("agent.log");
        let out = std::fs::File::create(&log).expect("agent log");
        let err = out.try_clone().expect("agent log");
        let bin = sibling_bin("relay-health");
        let child = Command::new(&bin)
            .arg("--relayd")
            .arg(relayd_socket)
            .args(["--bird", bird_socket, "--protocol", "anycast4", "--protocol", "anycast6", "--interval-ms", "200"])
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e} (cargo build --release -p relay-tools)", bin.display()));
        Agent { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls the upstream's table until `prefix` is there (`present`) or gone; the time it took.
fn until_route(upstream: &Bird, prefix: &str, present: bool, limit: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    loop {
        let t = upstream.birdc(&format!("show route {prefix}"));
        if t.contains(prefix) == present {
            return Ok(start.elapsed());
        }
        if start.elapsed() > limit {
            return Err(t);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn deploy_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/bird").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn the_health_agent_announces_the_anycast_routes_only_while_relayd_is_healthy() {
    let tag = std::process::id() % 100_000;
    let up = Netns::new(&format!("hgu{tag}"));
    let rly = Netns::new(&format!("hgr{tag}"));
    for ns in [&up, &rly] {
        ns.ip("link set lo up");
    }
    // relayd's TAP port stays in relayd's namespace (net_tap reads its link state there),
    // on a bridge with a veth to the upstream. The upstream's interface outlives relayd, as
    // a switch port would: a dead relay must be found by BFD, not by an interface vanishing.
    let bridge = format!("hgb{tag}");
    let (veth_r, veth_u) = (format!("hgv{tag}r"), format!("hgv{tag}u"));
    // No multicast snooping: the relay kernel's neighbour solicitations are flooded.
    rly.ip(&format!("link add {bridge} type bridge mcast_snooping 0"));
    rly.ip(&format!("link add {veth_r} type veth peer name {veth_u}"));
    rly.ip(&format!("link set {veth_u} netns {}", up.0));
    rly.ip(&format!("link set {veth_r} master {bridge}"));
    // Pure layer 2 in relayd's namespace: its kernel owns 198.51.100.7 (on cp0) and would
    // answer ARP for it on any interface (arp_ignore 0), drawing the upstream's IPv4 to the
    // bridge instead of relayd.
    let l2_only = |dev: &str| {
        let out = rly.exec(&format!("sysctl -qw net.ipv4.conf.{dev}.arp_ignore=8"));
        assert!(out.status.success(), "sysctl arp_ignore on {dev}: {}", String::from_utf8_lossy(&out.stderr));
    };
    l2_only(&bridge);
    l2_only(&veth_r);
    rly.ip(&format!("link set {veth_r} up"));
    rly.ip(&format!("link set {bridge} up"));
    up.ip(&format!("addr add 198.51.100.1/24 dev {veth_u}"));
    up.ip(&format!("-6 addr add 2001:db8:ff::1/64 dev {veth_u} nodad"));
    up.ip(&format!("link set {veth_u} up"));
    let dir = Scratch::new("health-bgp");
    let data_tap = format!("hgd{tag}");
    let cfg = relay_config(&dir, &format!("hg{tag}"), &data_tap);
    let attach = || {
        l2_only(&data_tap);
        // The TAP PMD gives the kernel side relayd's MAC; a bridge takes frames for a MAC
        // one of its ports owns as its own and never forwards them to relayd (the upstream's
        // ARP and ND answers went to the bridge's stack), so the kernel side gets another.
        rly.ip(&format!("link set {data_tap} address 02:00:00:00:01:b0"));
        rly.ip(&format!("link set {data_tap} master {bridge}"));
        rly.ip(&format!("link set {data_tap} up"));
    };
    let d = Daemon::start_in_netns(&rly.0, &cfg, &dir.path("ctl.sock"));
    attach();

    let upstream = Bird::start(&up, &dir, "upstream", &deploy_file("upstream.conf"));
    let relay_bird = Bird::start(&rly, &dir, "relay", &deploy_file("relay.conf"));
    let agent = Agent::start(&dir, &dir.path("ctl.sock"), &relay_bird.socket);

    // Healthy: the agent enables anycast4/6, the upstream learns them over the sessions.
    let announced = until_route(&upstream, "192.88.99.0/24", true, Duration::from_secs(60));
    assert!(
        announced.is_ok(),
        "192.88.99.0/24 never reached the upstream: {:?}\nrelay:\n{}\nagent:\n{}",
        announced,
        relay_bird.birdc("show protocols"),
        agent.log()
    );
    let v4 = upstream.birdc("show route 192.88.99.0/24");
    assert!(v4.contains("via 198.51.100.7"), "{v4}");
    let v6 = until_route(&upstream, "2002::/16", true, Duration::from_secs(60));
    assert!(v6.is_ok(), "{v6:?}\nrelay:\n{}\n{}", relay_bird.birdc("show protocols all upstream_a6"), rly.ip("-6 neigh"));
    assert!(upstream.birdc("show route 2002::/16").contains("via 2001:db8:ff::2"));
    assert_eq!(d.ok("health"), "healthy\n");

    // kill -9: nothing withdraws politely; the upstream's BFD finds the relay dead.
    let killed = Command::new("kill").args(["-KILL", &d.pid().to_string()]).status().expect("kill");
    assert!(killed.success());
    let gone = until_route(&upstream, "192.88.99.0/24", false, Duration::from_secs(10));
    match &gone {
        Ok(t) => println!("withdraw after kill -9 of relayd: {} ms", t.as_millis()),
        Err(t) => panic!("192.88.99.0/24 still at the upstream 10 s after kill -9:\n{t}"),
    }
    drop(d);
    // With relayd gone the agent has disabled the anycast protocols, so a restarted relayd
    // is announced only once the agent finds it healthy.
    let disabled = wait_for(Duration::from_secs(5), || {
        let p = relay_bird.birdc("show protocols \"anycast*\"");
        (p.contains("anycast4") && p.matches(" down ").count() == 2, p)
    });
    assert!(disabled.0, "anycast protocols after relayd died:\n{}\nagent:\n{}", disabled.1, agent.log());
    assert!(agent.log().contains("relay-health: relayd unhealthy: relayd unreachable at"), "{}", agent.log());

    let d = Daemon::start_in_netns(&rly.0, &cfg, &dir.path("ctl.sock"));
    attach();
    // The sessions come back through BIRD's connect retry after the TAP went and came back.
    let back = until_route(&upstream, "192.88.99.0/24", true, Duration::from_secs(120));
    assert!(
        back.is_ok(),
        "not announced again after the restart: {back:?}\nagent:\n{}\nrelay:\n{}\nupstream:\n{}\nbfd:\n{}",
        agent.log(),
        relay_bird.birdc("show protocols all upstream_a4")
            + &rly.ip("neigh")
            + &up.ip("neigh")
            + &d.ok("neigh")
            + &String::from_utf8_lossy(&rly.exec("ping -c 2 -W 1 198.51.100.1").stdout),
        upstream.birdc("show protocols all \"r3a*\""),
        upstream.birdc("show bfd sessions")
    );
    println!("announced again {} ms after relayd's TAP was attached", back.as_ref().map_or(0, |t| t.as_millis()));
    assert_eq!(d.ok("health"), "healthy\n");
    let sessions = wait_for(Duration::from_secs(120), || {
        let s = relay_bird.birdc("show protocols \"upstream_a*\"");
        (s.matches("Established").count() == 2, s)
    });
    assert!(sessions.0, "both sessions back after the restart:\n{}", sessions.1);
    assert!(until_route(&upstream, "2002::/16", true, Duration::from_secs(10)).is_ok());

    // Drain: unhealthy from the answer on, the agent withdraws, relayd still forwards, then
    // stops by itself once no data-plane packet came for drain_quiet_ms (here only BGP and
    // BFD flow, which go to the kernel and do not count).
    assert_eq!(d.ok("drain"), "draining\n");
    assert_eq!(d.ok("health"), "unhealthy: draining\n");
    let drained = until_route(&upstream, "192.88.99.0/24", false, Duration::from_secs(10));
    match &drained {
        Ok(t) => println!("withdraw after relayctl drain: {} ms", t.as_millis()),
        Err(t) => panic!("192.88.99.0/24 still at the upstream 10 s after drain:\n{t}\nagent:\n{}", agent.log()),
    }
    assert!(until_route(&upstream, "2002::/16", false, Duration::from_secs(10)).is_ok());
    let s = relay_bird.birdc("show protocols \"upstream_a*\"");
    assert!(d.running(), "relayd stopped before its drain's quiet period could pass");
    assert_eq!(
        s.matches("Established").count(),
        2,
        "drain withdraws routes, not sessions:\n{s}\n{}\n{}\n{}\n{}",
        relay_bird.birdc("show protocols all upstream_a6"),
        rly.ip("-6 neigh"),
        rly.ip("-6 addr"),
        String::from_utf8_lossy(&rly.exec("ping -c 2 -W 1 2001:db8:ff::1").stdout)
    );
    let ping = rly.exec("ping -c 1 -W 2 2001:db8:ff::1");
    assert!(ping.status.success(), "a draining relayd still forwards: {}", String::from_utf8_lossy(&ping.stdout));
    // No signal: relayd ends the drain itself (its limit, relayctl drain's 30 s, is far off).
    let run = match d.wait_exit(Duration::from_secs(40)) {
        Ok(run) => run,
        Err(d) => panic!("relayd still running 40 s after drain:\n{}", d.stop().stdout),
    };
    run.assert_clean();
    assert!(run.stdout.contains("relayd: draining: relayctl drain; "), "{}", run.stdout);
    match run.stdout.lines().find(|l| l.starts_with("relayd: drained: upstreams quiet for ")) {
        Some(line) => println!("{line}"),
        None => panic!("no drained line:\n{}", run.stdout),
    }
    assert!(!run.stdout.contains("relayd: drain limit"), "{}", run.stdout);
    // The agent saw relayd go: the anycast protocols stay disabled.
    let p = relay_bird.birdc("show protocols \"anycast*\"");
    assert_eq!(p.matches(" down ").count(), 2, "{p}");
    drop(agent);
    drop(relay_bird);
    drop(upstream);
}

/// The worker at 100 % (its second port replays native IPv6 for ever, `net_pcap,infinite_rx`,
/// routed out of a third): the BGP session through the TAP port, served by the same worker,
/// outlives its hold time, and its keepalives reach the kernel all along.
#[test]
fn the_bgp_session_survives_a_worker_at_full_load() {
    let tag = std::process::id() % 100_000;
    let up = Netns::new(&format!("flu{tag}"));
    let rly = Netns::new(&format!("flr{tag}"));
    for ns in [&up, &rly] {
        ns.ip("link set lo up");
    }
    let dir = Scratch::new("bgp-load");
    let frames: Vec<Vec<u8>> = (0..64u16)
        .map(|i| {
            let mut out = Vec::new();
            let (src, dst) = (std::net::Ipv6Addr::new(0x2001, 0xdb8, 0xdd, 0, 0, 0, 0, 9), std::net::Ipv6Addr::new(0x2001, 0xdb8, 0xbbbb, 0, 0, 0, 0, i + 1));
            etherparse::PacketBuilder::ethernet2([2, 0, 0, 0, 0, 0xd9], [2, 0, 0, 0, 0, 0xc1])
                .ipv6(src.octets(), dst.octets(), 64)
                .udp(4000, 5000)
                .write(&mut out, &[0u8; 6])
                .expect("frame");
            out
        })
        .collect();
    let pcap = dir.path("native.pcap");
    write_pcap(&pcap, &frames);
    let data_tap = format!("fld{tag}");
    let base = std::fs::read_to_string(relay_config(&dir, &format!("fl{tag}"), &data_tap)).expect("config");
    let loaded = base
        .replace(
            "[[worker]]\ncpu = 0\nrx = [\"up:0\"]",
            &format!(
                "[[port]]\nname = \"lan\"\ndevice = \"net_pcap0,rx_pcap={},infinite_rx=1\"\nmac = \"02:00:00:00:00:c1\"\n\
                 [[port]]\nname = \"wan\"\ndevice = \"net_null0,no-rx=1\"\nmac = \"02:00:00:00:00:c2\"\n\
                 [[worker]]\ncpu = 0\nrx = [\"up:0\", \"lan:0\", \"wan:0\"]",
                pcap.display()
            ),
        )
        .replace("idle_sleep_us = 20", "idle_sleep_us = 20   # never reached: the worker is never idle")
        + "\n[[pipeline.interface]]\nport = 1\nipv6 = [\"2001:db8:dd::1/64\"]\n\
           [[pipeline.interface]]\nport = 2\nipv6 = [\"2001:db8:ee::2/64\"]\n\
           [[pipeline.neighbour]]\nip = \"2001:db8:ee::1\"\nmac = \"02:00:00:00:00:e1\"\n\
           [[pipeline.route]]\nadd = \"2001:db8:bbbb::/48 via 2001:db8:ee::1 port 2\"\n";
    assert!(loaded.contains("rx = [\"up:0\", \"lan:0\", \"wan:0\"]"), "{loaded}");
    let cfg = dir.write("relayd.toml", &loaded);
    let d = Daemon::start_in_netns(&rly.0, &cfg, &dir.path("ctl.sock"));
    rly.ip(&format!("link set {data_tap} netns {}", up.0));
    up.ip(&format!("addr add 198.51.100.1/24 dev {data_tap}"));
    up.ip(&format!("-6 addr add 2001:db8:ff::1/64 dev {data_tap} nodad"));
    up.ip(&format!("link set {data_tap} up"));
    let upstream = Bird::start(&up, &dir, "upstream", UPSTREAM_BIRD);
    let relay_bird = Bird::start(&rly, &dir, "relay", RELAY_BIRD);
    let session = wait_for(Duration::from_secs(30), || {
        let s = relay_bird.birdc("show protocols upstream");
        (s.contains("Established"), s)
    });
    assert!(session.0, "session at full load:\n{}", session.1);
    let since = |b: &Bird| b.birdc("show protocols upstream").lines().find(|l| l.starts_with("upstream")).map(str::to_string).unwrap_or_default();
    let (before_line, before) = (since(&relay_bird), d.stats());
    // Longer than the 9 s hold time: a session that lost its keepalives would be gone.
    std::thread::sleep(Duration::from_secs(12));
    let (after_line, after) = (since(&relay_bird), d.stats());
    assert_eq!(before_line, after_line, "the session never went down (same since):\n{}", relay_bird.birdc("show protocols all upstream"));
    assert!(after_line.contains("Established"), "{after_line}");
    let delta = |k: &str| after.get(k).copied().unwrap_or(0) - before.get(k).copied().unwrap_or(0);
    let (polls, empty) = (delta("polls"), delta("empty_polls"));
    assert!(delta("pipeline.forwarded") > 100_000, "the worker forwarded the replay: {after:?}");
    assert!(empty * 100 < polls, "the worker was at full load: {empty} empty of {polls} polls");
    assert!(delta("pipeline.to_kernel") > 0 && delta("pipeline.drop_kernel_policed_peer") == 0, "keepalives reached the kernel, none policed: {after:?}");
    drop(relay_bird);
    drop(upstream);
    d.stop().assert_clean();
}
