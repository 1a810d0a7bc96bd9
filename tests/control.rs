//! The control core under traffic: 100k route changes through the rings while packets flow,
//! the workers' tables and the standby audited against the live set, bad commands refused
//! without side effects, reload, DPDK telemetry and Prometheus; and the control surface: the
//! socket file (mode, group, stale and live sockets), line limits, stalled clients, a thousand
//! connections, the client timeout, and SIGINT / SIGTERM under load.
mod common;
use std::collections::BTreeSet;
use std::io::{Read, Write};

use common::*;
use relay_tools::telemetry::{json_u64, socket_path, Telemetry};

/// A LAN host of router R (V = 198.51.100.7) sending to the 6to4 site of 203.0.113.1:
/// every packet is encapsulated and leaves on the WAN port.
fn lan_frame(i: u8) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&[0x02, 0, 0, 0, 0, 0xa1]); // to R's LAN port
    f.extend_from_slice(&[0x02, 0, 0, 0, 0x02, 0x05]); // from the host
    f.extend_from_slice(&[0x86, 0xdd]);
    let payload = [i; 16];
    f.extend_from_slice(&[0x60, 0, 0, 0, 0, payload.len() as u8, 59, 64]);
    f.extend_from_slice(&"2002:c633:6407:1::5".parse::<std::net::Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&"2002:cb00:7101::5".parse::<std::net::Ipv6Addr>().unwrap().octets());
    f.extend_from_slice(&payload);
    f
}

fn router_config(dir: &Scratch, prefix: &str, extra_routes: &str, telemetry_prom: bool) -> std::path::PathBuf {
    write_pcap(&dir.path("lan.pcap"), &(0..32).map(lan_frame).collect::<Vec<_>>());
    let prom = if telemetry_prom { "prometheus = \"127.0.0.1:0\"" } else { "" };
    dir.write(
        "relayd.toml",
        &format!(
            r#"
[eal]
file_prefix = "{prefix}"
memory_mb = 256
[[port]]
name = "wan"
device = "net_null0,no-rx=1"
mac = "02:00:00:00:00:a0"
[[port]]
name = "lan"
device = "net_pcap0,rx_pcap={d}/lan.pcap,infinite_rx=1"
mac = "02:00:00:00:00:a1"
[[worker]]
cpu = 0
rx = ["wan:0", "lan:0"]
[runtime]
idle_sleep_us = 20
[control]
socket = "{d}/ctl.sock"
{prom}
[pipeline]
[[pipeline.interface]]
port = 0
ipv4 = "198.51.100.7/24"
gateway = "198.51.100.1"
[[pipeline.interface]]
port = 1
ipv6 = ["2002:c633:6407:1::1/64"]
[pipeline.router]
ipv4 = "198.51.100.7"
lan_ports = [1]
[[pipeline.neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"
[[pipeline.neighbour]]
ip = "2002:c633:6407:1::5"
mac = "02:00:00:00:02:05"
[[pipeline.route]]
add = "2002::/16 6to4"
[[pipeline.route]]
add = "2002:c633:6407:1::/64 port 1"
{extra_routes}
"#,
            d = dir.0.display()
        ),
    )
}

fn route_prefixes(body: &str) -> BTreeSet<String> {
    body.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect()
}

fn accounted(d: &Daemon) -> (u64, u64) {
    let s = d.stats();
    let inn = s["rx_packets"] + s["injected"];
    let out = s["tx_packets"] + s["tx_dropped"] + s["pipeline_dropped"] + s["punted"];
    (inn, out)
}

#[test]
fn hundred_thousand_route_changes_under_traffic() {
    let dir = Scratch::new("churn");
    let cfg = router_config(&dir, "ctl-churn", "", false);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let base = route_prefixes(&d.ok("routes"));
    assert_eq!(base, BTreeSet::from(["2002::/16".to_string(), "2002:c633:6407:1::/64".to_string()]));

    let prefix = |i: usize| {
        let a = std::net::Ipv6Addr::new(0x2001, 0xdb8, (i / 256) as u16, ((i % 256) << 8) as u16, 0, 0, 0, 0);
        format!("{a}/56")
    };
    let mut expected = base.clone();
    let mut changes = 0;
    for b in 0..100 {
        let mut req = String::from("batch\n");
        for j in 0..1000 {
            let i = b * 1000 + j;
            if i % 4 == 3 {
                req.push_str(&format!("route del {}\n", prefix(i - 1)));
                expected.remove(&prefix(i - 1));
            } else {
                req.push_str(&format!("route add {} via 2002:c058:6301::\n", prefix(i)));
                expected.insert(prefix(i));
            }
            changes += 1;
        }
        req.push_str("end\n");
        let body = d.ok(&req);
        assert!(body.starts_with("generation "), "{body}");
    }
    assert_eq!(changes, 100_000);

    // Every worker reaches the final generation and holds exactly the control copy.
    let audit = d.ok("audit");
    assert!(audit.contains("workers 1 consistent"), "{audit}");
    let gen = d.ok("generation");
    let nums: Vec<u64> = gen.lines().filter_map(|l| l.split_whitespace().nth(1)?.parse().ok()).collect();
    assert_eq!(nums.len(), 2, "{gen}");
    assert_eq!(nums[0], nums[1], "applied == sent: {gen}");
    let got = route_prefixes(&d.ok("routes"));
    let missing: Vec<_> = expected.difference(&got).take(5).collect();
    let extra: Vec<_> = got.difference(&expected).take(5).collect();
    assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, extra {extra:?}");
    assert_eq!(expected.len(), 2 + 50_000);

    let s = d.stats();
    assert!(s["pipeline.encapsulated"] > 0, "traffic flowed through the pipeline");
    let run = d.stop();
    run.assert_clean();
    let inn = run.counter("rx_packets") + run.counter("injected");
    let out = run.counter("tx_packets") + run.counter("tx_dropped") + run.counter("pipeline_dropped") + run.counter("punted");
    assert_eq!(inn, out, "zero unaccounted packets");
    assert_eq!(run.counter("pipeline_dropped"), 0, "every packet was encapsulated");
}

#[test]
fn bad_commands_are_refused_and_change_nothing() {
    let dir = Scratch::new("badcmd");
    let cfg = router_config(&dir, "ctl-badcmd", "", false);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let routes = d.ok("routes");
    let gen = d.ok("generation");
    let cases: &[(&str, &str)] = &[
        ("frobnicate", "unknown command \"frobnicate\""),
        ("route", "usage: route add <prefix> <nexthop> | route del <prefix>"),
        ("route add 2001:db8::/32", "needs a target"),
        ("route add 2001:db8::1/32 6to4", "host bits"),
        ("route add 2001:db8::/129 6to4", "prefix length 129 is over 128"),
        ("route add 2001:db8::/32 via fe80::1", "next hop fe80::1 is not a 6to4 address: give a port"),
        ("route add 2001:db8::/32 port 7", "port 7"),
        ("route del 2001:db8:dead::/48", "2001:db8:dead::/48"),
        ("route add 192.0.2.1/24 blackhole", "192.0.2.1/24 has host bits set"),
        ("route add 192.0.2.0/24 via 198.51.100.1 port 7", "port 7"),
        ("route add 192.0.2.0/24 6to4", "an IPv4 route takes `via IPV4 port N` or `blackhole`"),
        ("route del 192.0.2.0/24", "no route 192.0.2.0/24"),
        ("stats please", "stats takes no arguments"),
        ("batch\nroute add 2001:db8:1::/48 via 2002:c058:6301::\nroute add 2001:db8:2::/48 bogus\nend", "line 2"),
        ("batch\nroute add 2001:db8:1::/48 via 2002:c058:6301::\nroute del 2001:db8:3::/48\nend", "change 2"),
    ];
    let mut wrong = Vec::new();
    for (cmd, reason) in cases {
        match d.request(cmd).expect("socket") {
            Ok(body) => wrong.push(format!("{cmd:?} was accepted: {body}")),
            Err(e) if !e.contains(reason) => wrong.push(format!("{cmd:?}: expected {reason:?} in {e:?}")),
            Err(_) => {}
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(d.ok("routes"), routes, "no route changed");
    assert_eq!(d.ok("generation"), gen, "nothing was sent to the workers");

    // relayctl reports the same errors and exits 1; exit 2 when no daemon answers.
    let relayctl = sibling_bin("relayctl");
    let sock = dir.path("ctl.sock");
    let out = std::process::Command::new(&relayctl)
        .args(["-s", sock.to_str().unwrap(), "route", "add", "2001:db8::/32"])
        .output()
        .expect("relayctl");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("needs a target"));
    let out = std::process::Command::new(&relayctl)
        .args(["-s", sock.to_str().unwrap(), "route", "add", "2001:db8:77::/48", "via", "2002:c058:6301::"])
        .output()
        .expect("relayctl");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(d.ok("routes").contains("2001:db8:77::/48 via 2002:c058:6301::"));
    let out = std::process::Command::new(&relayctl)
        .args(["-s", dir.path("nope.sock").to_str().unwrap(), "stats"])
        .output()
        .expect("relayctl");
    assert_eq!(out.status.code(), Some(2));
    d.stop().assert_clean();
}

#[test]
fn reload_swaps_tables_and_refuses_other_changes() {
    let dir = Scratch::new("reload");
    let cfg = router_config(&dir, "ctl-reload", "", false);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let before = d.ok("generation");

    router_config(&dir, "ctl-reload", "[[pipeline.route]]\nadd = \"2001:db8:aa::/48 via 2002:c058:6301::\"", false);
    let body = d.ok("reload");
    assert!(body.starts_with("generation "), "{body}");
    assert!(d.ok("routes").contains("2001:db8:aa::/48"), "new route is in");
    assert!(d.ok("audit").contains("consistent"));

    // A bad file, and a change that is more than tables, are refused whole.
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, text.replace("2001:db8:aa::/48", "2001:db8:aa::/480")).unwrap();
    let e = d.request("reload").unwrap().unwrap_err();
    assert!(e.contains("pipeline.route[2]"), "{e}");
    std::fs::write(&cfg, text.replace("ipv4 = \"198.51.100.7/24\"", "ipv4 = \"198.51.100.8/24\"")).unwrap();
    let e = d.request("reload").unwrap().unwrap_err();
    assert!(e.contains("need a restart"), "{e}");
    assert!(d.ok("routes").contains("2001:db8:aa::/48"), "still the last good tables");
    assert_ne!(d.ok("generation"), before);
    d.stop().assert_clean();
}

#[test]
fn telemetry_and_prometheus_show_the_counters() {
    let dir = Scratch::new("observe");
    let cfg = router_config(&dir, "ctl-observe", "", true);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    // Let traffic flow and the stats publish.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let (inn, out) = accounted(&d);
    assert!(inn > 0 && out > 0);

    let mut t = Telemetry::connect(&socket_path("ctl-observe")).expect("telemetry socket");
    let stats = t.query("/relay/stats").unwrap();
    assert!(json_u64(&stats, "rx_packets").unwrap_or(0) > 0, "{stats}");
    let drops = t.query("/relay/drops").unwrap();
    assert!(json_u64(&drops, "encapsulated").unwrap_or(0) > 0, "{drops}");
    assert!(drops.contains("\"drop_ipv4_src_martian\""), "every drop reason is listed: {drops}");
    let worker = t.query("/relay/workers,0").unwrap();
    assert_eq!(json_u64(&worker, "lcore"), Some(1), "{worker}");
    let health = t.query("/relay/health").unwrap();
    assert_eq!(json_u64(&health, "healthy"), Some(1), "{health}");
    assert!(health.replace(" ", "").contains("\"status\":\"healthy\""), "{health}");
    let bad = t.query("/relay/workers,9").unwrap();
    assert!(bad.contains("null"), "{bad}");
    let port = t.query("/ethdev/stats,0").unwrap();
    assert!(json_u64(&port, "opackets").unwrap_or(0) > 0, "{port}");

    // The Prometheus address was port 0: relayd printed the one it got. Ask the socket.
    let stdout_addr = {
        let run_stats = d.ok("stats");
        assert!(run_stats.contains("pipeline.encapsulated"));
        d.stop()
    };
    let line = stdout_addr.stdout.lines().find(|l| l.contains("prometheus on http://")).expect("prometheus line").to_string();
    assert!(line.contains("127.0.0.1:"), "{line}");
    stdout_addr.assert_clean();
}

#[test]
fn prometheus_endpoint_serves_metrics() {
    let dir = Scratch::new("prom");
    let cfg = router_config(&dir, "ctl-prom", "", false);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let text = std::fs::read_to_string(&cfg).unwrap().replace("[control]\n", &format!("[control]\nprometheus = \"127.0.0.1:{port}\"\n"));
    std::fs::write(&cfg, text).unwrap();
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("prometheus endpoint");
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.0 200 OK"), "{body}");
    assert!(body.contains("# TYPE relay_rx_packets_total counter"));
    assert!(body.contains("relay_pipeline_total{counter=\"encapsulated\"}"));
    assert!(body.contains("relay_port_total{port=\"wan\",counter=\"opackets\"}"));
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /nope HTTP/1.0\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    assert!(body.starts_with("HTTP/1.0 404"), "{body}");
    d.stop().assert_clean();
}

// ---------------------------------------------------------------------------------------
// The control surface: the socket file, line limits, stalled and many clients, signals.

/// `router_config` with more `[control]` settings.
fn config_with_control(dir: &Scratch, prefix: &str, control: &str) -> std::path::PathBuf {
    let cfg = router_config(dir, prefix, "", false);
    let text = std::fs::read_to_string(&cfg).unwrap().replace("[control]\n", &format!("[control]\n{control}\n"));
    std::fs::write(&cfg, text).unwrap();
    cfg
}

/// A group of this system other than root's, to see relayd hand the socket to it.
fn some_other_group() -> (String, u32) {
    let groups = std::fs::read_to_string("/etc/group").expect("/etc/group");
    groups
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.first()?.to_string(), f.get(2)?.parse::<u32>().ok()?))
        })
        .find(|(_, gid)| *gid != 0)
        .expect("a group other than root in /etc/group")
}

#[test]
fn control_socket_is_0660_in_its_group_replaces_a_stale_file_and_refuses_a_live_one() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
    let dir = Scratch::new("sockfile");
    let (group, gid) = some_other_group();
    let cfg = config_with_control(&dir, "ctl-sockfile", &format!("socket_group = \"{group}\""));
    let sock = dir.path("ctl.sock");
    // What a relayd killed with SIGKILL leaves: a socket file nobody listens on.
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap());
    assert!(std::os::unix::net::UnixStream::connect(&sock).is_err(), "stale");

    let d = Daemon::start(&cfg, &sock);
    let m = std::fs::symlink_metadata(&sock).unwrap();
    assert!(m.file_type().is_socket());
    assert_eq!(m.permissions().mode() & 0o7777, 0o660, "mode");
    assert_eq!(m.gid(), gid, "group {group}");

    // A second relayd on the same socket (its own EAL prefix) stops before DPDK, and leaves
    // the first one's socket alone.
    let second = config_with_control(&dir, "ctl-sockfile2", "");
    let run = run_relayd(&["-c", second.to_str().unwrap()]);
    assert_eq!(run.code(), Some(1), "{}\n{}", run.stdout, run.stderr);
    let want = format!("relayd: control socket {} is in use by a running relayd", sock.display());
    assert!(run.stderr.contains(&want), "{}", run.stderr);
    assert!(!run.stdout.contains("relayd: EAL"), "refused before the EAL: {}", run.stdout);
    assert_eq!(d.ok("ping"), "pong\n", "the first one still answers");
    let out = d.stop();
    out.assert_clean();
    assert!(out.stdout.contains(&format!("control socket {} (mode 0660, group {group} ({gid}))", sock.display())), "{}", out.stdout);
    assert!(!sock.exists(), "removed at exit");
}

#[test]
fn control_socket_problems_are_named_before_dpdk_starts() {
    let dir = Scratch::new("sockerr");
    let cases: &[(&str, String)] = &[
        ("socket = \"DIR/missing/ctl.sock\"", "control socket directory DIR/missing does not exist".into()),
        ("socket = \"DIR/file.txt\"", "control socket DIR/file.txt exists and is not a socket".into()),
        ("socket = \"DIR/file.txt/ctl.sock\"", "control socket directory DIR/file.txt is not a directory".into()),
    ];
    std::fs::write(dir.path("file.txt"), "not a socket").unwrap();
    let d = dir.0.display().to_string();
    for (control, want) in cases {
        let cfg = router_config(&dir, "ctl-sockerr", "", false);
        let text = std::fs::read_to_string(&cfg).unwrap();
        let text = text.replace(&format!("socket = \"{d}/ctl.sock\""), &control.replace("DIR", &d));
        std::fs::write(&cfg, text).unwrap();
        let run = run_relayd(&["-c", cfg.to_str().unwrap()]);
        assert_eq!(run.code(), Some(1), "{control}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(&want.replace("DIR", &d)), "{control}: {}", run.stderr);
        assert!(!run.stdout.contains("relayd: EAL"), "{control}: {}", run.stdout);
    }
    assert_eq!(std::fs::read_to_string(dir.path("file.txt")).unwrap(), "not a socket", "left alone");
    assert!(!dir.path("missing").exists(), "not created");

    let cfg = config_with_control(&dir, "ctl-sockerr", "socket_group = \"no-such-group-relayd\"");
    let run = run_relayd(&["-c", cfg.to_str().unwrap(), "--check"]);
    assert_eq!(run.code(), Some(2));
    assert!(run.stderr.contains("config error: control.socket_group: no group named \"no-such-group-relayd\""), "{}", run.stderr);
}

#[test]
fn over_long_and_non_utf8_lines_get_one_answer_each() {
    let dir = Scratch::new("lines");
    let cfg = router_config(&dir, "ctl-lines", "", false);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let gen = d.ok("generation");
    let routes = d.ok("routes");

    let mut long = vec![b'x'; 10_000];
    long.extend_from_slice(b"\nping\n");
    assert_eq!(String::from_utf8(d.raw(&long)).unwrap(), "error: request longer than 4096 bytes\npong\nok\n");
    assert_eq!(String::from_utf8(d.raw(b"\xff\xfe\x80\nping\n")).unwrap(), "error: request is not UTF-8\npong\nok\n");
    // A batch with a bad line is refused whole and read to its end: the route lines after the
    // bad one are not applied one by one.
    let batch = b"batch\nroute add 2001:db8:5::/48 via 2002:c058:6301::\nreload\nroute add 2001:db8:6::/48 via 2002:c058:6301::\nend\nping\n";
    assert_eq!(
        String::from_utf8(d.raw(batch)).unwrap(),
        "error: batch line 2: only `route add|del`, `tunnel set|del` and `group set|del` may be batched\npong\nok\n"
    );
    let mut batch = b"batch\nroute add 2001:db8:5::/48 via 2002:c058:6301::\n".to_vec();
    batch.extend_from_slice(&[b'r'; 6000]);
    batch.extend_from_slice(b"\nroute add 2001:db8:6::/48 via 2002:c058:6301::\nend\nping\n");
    assert_eq!(String::from_utf8(d.raw(&batch)).unwrap(), "error: batch line 2: longer than 4096 bytes\npong\nok\n");
    assert_eq!(d.ok("routes"), routes, "nothing applied");
    assert_eq!(d.ok("generation"), gen, "nothing sent to the workers");
    d.stop().assert_clean();
}

/// `generation` as (sent, applied).
fn generation(d: &Daemon) -> (u64, u64) {
    let body = d.ok("generation");
    let n: Vec<u64> = body.lines().filter_map(|l| l.split_whitespace().nth(1)?.parse().ok()).collect();
    assert_eq!(n.len(), 2, "{body}");
    (n[0], n[1])
}

fn read_lines(s: &mut std::os::unix::net::UnixStream, n: usize) -> String {
    let mut out = Vec::new();
    let mut byte = [0u8; 1];
    while out.iter().filter(|&&b| b == b'\n').count() < n {
        match s.read(&mut byte) {
            Ok(1) => out.push(byte[0]),
            other => panic!("reading {n} lines: {other:?} after {:?}", String::from_utf8_lossy(&out)),
        }
    }
    String::from_utf8(out).unwrap()
}

#[test]
fn stalled_clients_do_not_hold_up_route_changes() {
    use std::os::unix::net::UnixStream;
    let dir = Scratch::new("stall");
    let cfg = router_config(&dir, "ctl-stall", "", false);
    let sock = dir.path("ctl.sock");
    let d = Daemon::start(&cfg, &sock);
    let timeout = Some(std::time::Duration::from_secs(30));
    // Half a request, then nothing.
    let mut half = UnixStream::connect(&sock).unwrap();
    half.set_read_timeout(timeout).unwrap();
    half.write_all(b"pi").unwrap();
    // A batch begun and not ended.
    let mut open_batch = UnixStream::connect(&sock).unwrap();
    open_batch.set_read_timeout(timeout).unwrap();
    open_batch.write_all(b"batch\nroute add 2001:db8:b::/48 via 2002:c058:6301::\n").unwrap();
    // Many requests whose answers it never reads.
    let mut deaf = UnixStream::connect(&sock).unwrap();
    deaf.write_all(&b"stats\n".repeat(2000)).unwrap();

    let (sent0, _) = generation(&d);
    for i in 0..200u32 {
        let p = format!("2001:db8:{:x}::/48", 0x1000 + i);
        assert_eq!(d.ok(&format!("route add {p} via 2002:c058:6301::")), format!("generation {}\n", sent0 + 1 + i as u64));
        if i % 50 == 49 {
            assert!(d.ok("routes").contains(&format!("{p} via 2002:c058:6301::")), "{p} reads back");
        }
    }
    let (sent, _) = generation(&d);
    assert_eq!(sent, sent0 + 200);
    // The workers apply between bursts, a moment after the answer.
    let start = std::time::Instant::now();
    while generation(&d).1 < sent {
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "every worker applies every change while the clients stall");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let stats = d.stats();
    assert!(stats["control.open"] >= 3, "the stalled clients are still connected: {}", stats["control.open"]);
    assert!(stats["pipeline.encapsulated"] > 0, "traffic flowed");

    // The stalled ones finish their requests and are answered.
    half.write_all(b"ng\n").unwrap();
    assert_eq!(read_lines(&mut half, 2), "pong\nok\n");
    open_batch.write_all(b"end\n").unwrap();
    assert_eq!(read_lines(&mut open_batch, 2), format!("generation {}\nok\n", sent + 1));
    assert!(d.ok("routes").contains("2001:db8:b::/48 via 2002:c058:6301::"));
    let mut some = [0u8; 4096];
    assert!(deaf.read(&mut some).unwrap() > 0, "the deaf client's answers waited for it");
    drop((half, open_batch, deaf));
    assert!(d.ok("audit").contains("consistent"));
    d.stop().assert_clean();
}

#[test]
fn a_thousand_parallel_connections_are_answered_or_refused() {
    use std::os::unix::net::UnixStream;
    // This process holds them all at once: make room under its descriptor limit.
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid rlimit; raising the soft limit up to the hard one.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max.min(4096).max(lim.rlim_cur);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    assert!(lim.rlim_cur >= 1100, "descriptor limit {} is too low for 1000 connections", lim.rlim_cur);

    let dir = Scratch::new("thousand");
    let cfg = router_config(&dir, "ctl-thousand", "", false);
    let sock = dir.path("ctl.sock");
    let d = Daemon::start(&cfg, &sock);
    let (sent0, _) = generation(&d);
    let before = d.stats();
    let mut conns: Vec<UnixStream> = (0..1000)
        .map(|_| {
            let s = UnixStream::connect(&sock).expect("connect");
            s.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
            s
        })
        .collect();
    for s in conns.iter_mut() {
        // A refused connection may be closed already: its answer is still there to read.
        let _ = s.write_all(b"ping\n");
    }
    let (mut served, mut refused) = (0, 0);
    for s in conns.iter_mut() {
        let mut line = String::new();
        let mut byte = [0u8; 1];
        while !line.ends_with('\n') {
            match s.read(&mut byte) {
                Ok(1) => line.push(byte[0] as char),
                other => panic!("no answer: {other:?} after {line:?}"),
            }
        }
        match line.as_str() {
            "pong\n" => {
                assert_eq!(read_lines(s, 1), "ok\n");
                served += 1;
            }
            "error: too many connections (64 open); try again later\n" => refused += 1,
            other => panic!("unexpected answer {other:?}"),
        }
    }
    assert_eq!(served + refused, 1000);
    assert!((1..=64).contains(&served), "served {served}");
    drop(conns);

    // relayd notices the closes on its next turns and serves new clients again.
    // Until it has, a ping may still be refused (answered `too many connections`, or closed
    // before our request was written): each failed ping is at most one refusal more.
    let start = std::time::Instant::now();
    let mut failed_pings = 0;
    loop {
        if let Ok(Ok(_)) = d.request("ping") {
            break;
        }
        failed_pings += 1;
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "relayd serves again");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(d.ok("route add 2001:db8:99::/48 via 2002:c058:6301::"), format!("generation {}\n", sent0 + 1));
    let start = std::time::Instant::now();
    while generation(&d) != (sent0 + 1, sent0 + 1) {
        assert!(start.elapsed() < std::time::Duration::from_secs(10), "the workers apply the change");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let after = d.stats();
    let counted = after["control.refused"] - before["control.refused"];
    assert!((refused as u64..=(refused + failed_pings) as u64).contains(&counted), "refused {counted}: {refused} + up to {failed_pings} pings");
    assert!(after["control.accepted"] - before["control.accepted"] >= served as u64);
    d.stop().assert_clean();
}

#[test]
fn an_idle_connection_is_closed_after_the_client_timeout() {
    let dir = Scratch::new("idle");
    let cfg = config_with_control(&dir, "ctl-idle", "client_timeout_s = 1");
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
    s.write_all(b"pi").unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("closed within 10 s");
    assert_eq!(answer, "error: idle for more than 1 s; closing\n");
    assert_eq!(d.stats()["control.timed_out"], 1);
    d.stop().assert_clean();
}

#[test]
fn prometheus_listens_on_loopback_unless_told_otherwise() {
    let free_port = || std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    for (setting, printed) in [("PORT", "127.0.0.1:PORT/metrics\n"), ("0.0.0.0:PORT", "0.0.0.0:PORT/metrics (not loopback")] {
        let dir = Scratch::new("promaddr");
        let port = free_port();
        let cfg = config_with_control(&dir, "ctl-promaddr", &format!("prometheus = \"{}\"", setting.replace("PORT", &port.to_string())));
        let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
        // A scraper that connects and says nothing does not hold up the control socket.
        let silent = std::net::TcpStream::connect(("127.0.0.1", port)).expect("endpoint");
        assert_eq!(d.ok("ping"), "pong\n");
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("endpoint");
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n").unwrap();
        let mut body = String::new();
        s.read_to_string(&mut body).unwrap();
        assert!(body.starts_with("HTTP/1.0 200 OK") && body.contains("relay_rx_packets_total"), "{setting}: {body}");
        drop(silent);
        let run = d.stop();
        run.assert_clean();
        let want = format!("relayd: prometheus on http://{}", printed.replace("PORT", &port.to_string()));
        assert!(run.stdout.contains(&want), "{setting}: want {want:?} in\n{}", run.stdout);
    }
}

/// Starts relayd with traffic and three kinds of control clients (one stalled mid-line, one
/// talking on a single connection, one changing routes on new connections), stops it with
/// `signal` and checks it exits cleanly within 10 s; `rounds` times.
fn stop_under_load(signal: &str, rounds: usize) {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;
    use std::time::Duration;
    for round in 0..rounds {
        let dir = Scratch::new(&format!("sig{signal}"));
        let cfg = router_config(&dir, &format!("ctl-sig{signal}"), "", false);
        let sock = dir.path("ctl.sock");
        let d = Daemon::start(&cfg, &sock);
        let mut stalled = std::os::unix::net::UnixStream::connect(&sock).unwrap();
        stalled.write_all(b"rou").unwrap();
        let answered = Arc::new(AtomicU64::new(0));
        let chatty = {
            let (sock, answered) = (sock.clone(), answered.clone());
            std::thread::spawn(move || {
                let Ok(mut s) = std::os::unix::net::UnixStream::connect(&sock) else { return };
                let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                let mut buf = [0u8; 64];
                // Ends when relayd closes the connection at exit.
                while s.write_all(b"ping\n").is_ok() && matches!(s.read(&mut buf), Ok(n) if n > 0) {
                    answered.fetch_add(1, Relaxed);
                }
            })
        };
        let changer = {
            let (sock, answered) = (sock.clone(), answered.clone());
            std::thread::spawn(move || {
                for i in 0u32.. {
                    let Ok(mut s) = std::os::unix::net::UnixStream::connect(&sock) else { return };
                    let _ = s.set_read_timeout(Some(Duration::from_secs(20)));
                    let op = if i % 2 == 0 { "add 2001:db8:77::/48 via 2002:c058:6301::" } else { "del 2001:db8:77::/48" };
                    let mut answer = String::new();
                    let sent = s.write_all(format!("route {op}\n").as_bytes()).and_then(|_| s.shutdown(std::net::Shutdown::Write));
                    if sent.is_err() || s.read_to_string(&mut answer).is_err() || answer.is_empty() {
                        return;
                    }
                    answered.fetch_add(1, Relaxed);
                }
            })
        };
        let start = std::time::Instant::now();
        while answered.load(Relaxed) < 20 && start.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(answered.load(Relaxed) >= 20, "round {round}: the clients were served");
        let run = match d.signal_stop(signal, Duration::from_secs(10)) {
            Ok(run) => run,
            Err(d) => {
                let run = d.stop();
                panic!("round {round}: relayd still ran 10 s after SIG{signal}:\n{}\n{}", run.stdout, run.stderr);
            }
        };
        run.assert_clean();
        assert!(run.stdout.contains("relayd: signal received, stopping"), "round {round}: {}", run.stdout);
        assert!(run.stdout.contains("final counters"), "round {round}");
        chatty.join().unwrap();
        changer.join().unwrap();
        drop(stalled);
    }
}

#[test]
fn sigint_stops_relayd_under_load_every_time() {
    stop_under_load("INT", 10);
}

#[test]
fn sigterm_stops_relayd_under_load_every_time() {
    stop_under_load("TERM", 10);
}

#[test]
fn the_threat_model_says_what_every_drop_reason_defends_against() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/security.md")).expect("docs/security.md");
    let missing: Vec<&str> =
        relay::pipeline::DropReason::ALL.iter().map(|r| r.name()).filter(|n| !doc.contains(&format!("`{n}`"))).collect();
    assert!(missing.is_empty(), "docs/security.md does not list {missing:?}");
}

#[test]
fn a_running_relayd_is_healthy_until_drained() {
    let dir = Scratch::new("health");
    let cfg = router_config(&dir, "ctl-health", "", false);
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    // Heartbeats advance, net_null and net_pcap links are up, the tables are applied.
    assert_eq!(d.ok("health"), "healthy\n");
    // A route change reaches the workers within the grace: still healthy after it.
    d.ok("route add 2001:db8:7::/48 blackhole");
    std::thread::sleep(std::time::Duration::from_millis(150));
    assert_eq!(d.ok("health"), "healthy\n");
    assert_eq!(d.request("health now").unwrap(), Err("health takes no arguments".into()));
    assert_eq!(d.ok("drain"), "draining\n");
    assert_eq!(d.ok("health"), "unhealthy: draining\n");
    // Draining does not stop forwarding.
    let before = d.stats()["tx_packets"];
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(d.stats()["tx_packets"] > before);
    // The pcap port's traffic never stops, so the drain would run to its 30 s limit; with
    // drain_s = 0 a signal stops relayd at once, ending the drain.
    let run = d.signal_stop("TERM", std::time::Duration::from_secs(20)).unwrap_or_else(|_| panic!("SIGTERM did not stop a draining relayd"));
    assert!(run.stdout.contains("relayd: draining: relayctl drain; "), "{}", run.stdout);
    assert!(run.stdout.contains(", at most 30 s, then stopping"), "{}", run.stdout);
    assert!(!run.stdout.contains("relayd: drained:") && !run.stdout.contains("relayd: drain limit"), "{}", run.stdout);
    run.assert_clean();
}

#[test]
fn relayctl_drain_stops_relayd_by_itself_once_no_data_plane_packet_arrives() {
    let dir = Scratch::new("drain-quiet");
    let cfg = router_config(&dir, "ctl-drainq", "", false);
    // The pcap's 32 frames once, not forever: then only silence.
    let text = std::fs::read_to_string(&cfg).unwrap().replace(",infinite_rx=1", "");
    std::fs::write(&cfg, text).unwrap();
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    let mut encapsulated = 0;
    for _ in 0..500 {
        encapsulated = d.stats()["pipeline.encapsulated"];
        if encapsulated == 32 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(encapsulated, 32, "the pcap's frames went out");
    assert_eq!(d.ok("drain"), "draining\n");
    assert_eq!(d.ok("drain"), "draining\n", "a second drain changes nothing");
    assert_eq!(d.ok("health"), "unhealthy: draining\n");
    let run = d.wait_exit(std::time::Duration::from_secs(25)).unwrap_or_else(|_| panic!("relayd did not stop after its traffic ended"));
    run.assert_clean();
    assert_eq!(run.stdout.matches("relayd: draining: relayctl drain; ").count(), 1, "{}", run.stdout);
    // Whatever the machine's speed, the drain waits the agent's 500 ms, then 1000 ms of silence.
    let line = run.stdout.lines().find(|l| l.starts_with("relayd: drained: ")).unwrap_or_else(|| panic!("no drained line:\n{}", run.stdout));
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["relayd:", "drained:", "upstreams", "quiet", "for", quiet, "ms", "after", after, "ms,", "stopping"] => {
            let (quiet, after): (u64, u64) = (quiet.parse().unwrap(), after.parse().unwrap());
            assert!(quiet >= 1000 && after >= 1500 && quiet <= after, "{line}");
        }
        _ => panic!("{line}"),
    }
    assert_eq!(run.counter("pipeline.encapsulated"), 32);
}

#[test]
fn sigterm_with_drain_s_reports_draining_then_stops() {
    let dir = Scratch::new("drain");
    let cfg = config_with_control(&dir, "ctl-drain", "drain_s = 2");
    let d = Daemon::start(&cfg, &dir.path("ctl.sock"));
    assert_eq!(d.ok("health"), "healthy\n");
    let pid = d.pid().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let mut seen = None;
    for _ in 0..50 {
        std::thread::sleep(std::time::Duration::from_millis(20));
        if let Ok(Ok(h)) = d.request("health") {
            let draining = h.contains("draining");
            seen = Some(h);
            if draining {
                break;
            }
        }
    }
    assert_eq!(seen.as_deref(), Some("unhealthy: draining\n"));
    // No second signal (that would stop at once): the pcap port's traffic never stops, so
    // relayd drains until drain_s, then stops by itself.
    let run = d.wait_exit(std::time::Duration::from_secs(20)).unwrap_or_else(|_| panic!("relayd did not stop"));
    assert!(
        run.stdout.contains("relayd: draining: signal received; unhealthy: draining until no data-plane packet for 1000 ms (after the agent's 500 ms), at most 2 s, then stopping"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("relayd: drain limit of 2 s reached with traffic still arriving (last packet "), "{}", run.stdout);
    run.assert_clean();
}
