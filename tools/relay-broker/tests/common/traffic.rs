//! Real traffic through a broker tunnel on a live relayd: its two ports are TAP interfaces,
//! each moved into a network namespace of its own. On the WAN side scapy plays the tunnel's
//! client (6in4 packets from its IPv4 endpoint; the kernel here has no `sit`); on the LAN side
//! a Linux host answers them, and its kernel's echo replies go back into the tunnel.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Relayd;

/// relayd's port MACs and the peers' (the WAN peer is relayd's static gateway neighbour).
const RELAY_WAN_MAC: &str = "02:00:00:00:00:a0";
const GATEWAY_MAC: &str = "02:00:00:00:01:01";
const HOST_MAC: &str = "02:00:00:00:50:50";
/// The LAN host, on relayd's LAN 2001:db8:20::/64.
pub const HOST: &str = "2001:db8:20::50";

/// A network namespace, deleted on drop.
pub struct Netns(pub String);

impl Netns {
    fn new(name: &str) -> Netns {
        let _ = Command::new("ip").args(["netns", "del", name]).output();
        let out = Command::new("ip").args(["netns", "add", name]).output().expect("ip (iproute2)");
        assert!(out.status.success(), "ip netns add {name} (root needed): {}", String::from_utf8_lossy(&out.stderr));
        Netns(name.to_string())
    }

    /// `ip -n NS <args>`, which must succeed.
    fn ip(&self, args: &str) {
        let out = Command::new("ip").arg("-n").arg(&self.0).args(args.split_whitespace()).output().expect("ip");
        assert!(out.status.success(), "ip -n {} {args}: {}", self.0, String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

/// relayd on TAP ports, the client side (WAN) and the LAN host in their namespaces.
pub struct Sites {
    pub relayd: Relayd,
    wan: Netns,
    wan_if: String,
    _lan: Netns,
}

/// Moves `iface` into `ns`, gives it `mac` and brings it up.
fn attach(ns: &Netns, iface: &str, mac: &str) {
    let moved = Command::new("ip").args(["link", "set", iface, "netns", &ns.0]).output().expect("ip");
    assert!(moved.status.success(), "moving {iface}: {}", String::from_utf8_lossy(&moved.stderr));
    // The TAP PMD gives the kernel side the port's own MAC: the peer gets its own.
    ns.ip(&format!("link set {iface} address {mac}"));
    ns.ip("link set lo up");
    ns.ip(&format!("link set {iface} up"));
}

impl Sites {
    pub async fn start(dir: &Path) -> Sites {
        let tag = std::process::id() % 100_000;
        let (wan_if, lan_if) = (format!("rbkw{tag}"), format!("rbkl{tag}"));
        let mut relayd = Relayd::start_on(dir, &format!("net_tap0,iface={wan_if}"), &format!("net_tap1,iface={lan_if}"));
        relayd.wait_up().await;
        let wan = Netns::new(&format!("rbk-wan-{tag}"));
        attach(&wan, &wan_if, GATEWAY_MAC);
        let lan = Netns::new(&format!("rbk-lan-{tag}"));
        attach(&lan, &lan_if, HOST_MAC);
        lan.ip(&format!("-6 addr add {HOST}/64 dev {lan_if} nodad"));
        lan.ip("-6 route add default via 2001:db8:20::1");
        Sites { relayd, wan, wan_if, _lan: lan }
    }

    /// The tunnel's client sends `count` ICMPv6 echo requests of `inner_len` bytes (the IPv6
    /// packet) from `client6` to the LAN host through the tunnel from `client4` to `server4`.
    pub fn client_pings(&self, client4: &str, server4: &str, client6: &str, count: u32, inner_len: usize) {
        // IPv6 header 40 bytes, ICMPv6 echo header 8, then the data.
        let data = inner_len.checked_sub(48).expect("an echo request is at least 48 bytes");
        let script = "import sys, time\n\
            from scapy.all import Ether, IP, IPv6, ICMPv6EchoRequest, sendp\n\
            iface, src, dst, c4, s4, c6, h6, n, size = sys.argv[1:]\n\
            for i in range(int(n)):\n\
            \x20   p = Ether(src=src, dst=dst) / IP(src=c4, dst=s4) / IPv6(src=c6, dst=h6) / ICMPv6EchoRequest(id=0x4242, seq=i, data=b'b' * int(size))\n\
            \x20   sendp(p, iface=iface, verbose=False)\n\
            \x20   time.sleep(0.05)\n";
        let out = Command::new("ip")
            .args(["netns", "exec", &self.wan.0])
            .arg(python())
            .args(["-c", script, &self.wan_if, GATEWAY_MAC, RELAY_WAN_MAC, client4, server4, client6, HOST, &count.to_string(), &data.to_string()])
            .output()
            .expect("python3 (python3-scapy)");
        assert!(out.status.success(), "scapy: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// The Python Debian's `python3-scapy` is installed for (a pyenv `python3` earlier on PATH
/// would not have it).
fn python() -> PathBuf {
    let system = PathBuf::from("/usr/bin/python3");
    if system.exists() {
        system
    } else {
        PathBuf::from("python3")
    }
}
