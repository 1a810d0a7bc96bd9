//! Pipeline tests: every rule of spec sections 1–5 and 11 on [`TestBuf`]s, input bytes to
//! exact output bytes (or exact drop reason and counters). Expected frames are built
//! independently with etherparse, and every emitted header is re-parsed with it.

/// The tunnel tests' box: WAN port 0 on 198.51.100.20/24 behind gateway .1, native LAN port
/// 1 on 2001:db8:20::1/64. The literal given adds the mechanisms under test (TOML).
macro_rules! wan_lan_box {
    ($rest:literal) => {
        concat!(
            r#"
[[interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"

[[interface]]
port = 1
ipv6 = ["2001:db8:20::1/64"]
"#,
            $rest
        )
    };
}

mod pkt;

mod buf_tests;
mod checks_tests;
mod config_tests;
mod counters_tests;
mod decap_tests;
mod ecmp_tests;
mod routes4_tests;
mod encap_tests;
mod fuzz_tests;
mod icmp4_tests;
mod icmp_error_tests;
mod kernel_tests;
mod l2_tests;
mod local_tests;
mod loop_tests;
mod neigh_tests;
mod prop_tests;
mod ra_tests;
mod reassembly_tests;
mod relay_tests;
mod security_tests;
mod slow_tests;
mod tables_tests;
mod tunnel_tests;
// Configured tunnels' own settings and the other automatic mechanisms (spec 5-9).
mod auto_config_tests;
mod auto_prop_tests;
mod compat_tests;
mod configured_tests;
mod isatap_tests;
mod mechanism_tests;
mod sixover4_tests;
mod sixrd_tests;
mod tunnel_nd_tests;

use super::*;
use crate::wire::EthernetAddress;

/// MACs of the device under test (port 0, port 1) and of its neighbours.
pub const PORT0: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa0];
pub const PORT1: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
/// The IPv4 default gateway's MAC (also the sender of frames arriving on port 0).
pub const GW4: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];
/// A host on the LAN.
pub const HOST: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x05];
/// The native IPv6 upstream router of the relay.
pub const GW6: [u8; 6] = [0x02, 0, 0, 0, 0x03, 0x01];

pub const ET_IPV4: u16 = 0x0800;
pub const ET_IPV6: u16 = 0x86dd;
pub const ET_ARP: u16 = 0x0806;

/// 6to4 router R: V = 198.51.100.7, WAN port 0, site LAN port 1 (2002:c633:6407:1::/64),
/// default route to the anycast relay.
pub const ROUTER_R: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.7/24"
gateway = "198.51.100.1"

[[interface]]
port = 1
ipv6 = ["2002:c633:6407:1::1/64"]

[router]
ipv4 = "198.51.100.7"
lan_ports = [1]

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "2002:c633:6407:1::5"
mac = "02:00:00:00:02:05"

[[neighbour]]
ip = "2002:c633:6407::1"
mac = "02:00:00:00:02:05"

[[route]]
add = "::/0 via 2002:c058:6301::"

[[route]]
add = "2002:c633:6407::/48 port 1"
"#;

/// 6to4 router W: V = 203.0.113.1, WAN port 0, site LAN port 1 (2002:cb00:7101::/64).
pub const ROUTER_W: &str = r#"
[[interface]]
port = 0
ipv4 = "203.0.113.1/24"
gateway = "203.0.113.254"

[[interface]]
port = 1
ipv6 = ["2002:cb00:7101::1/64"]

[router]
ipv4 = "203.0.113.1"
lan_ports = [1]

[[neighbour]]
ip = "203.0.113.254"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "2002:cb00:7101::5"
mac = "02:00:00:00:02:05"

[[route]]
add = "::/0 via 2002:c058:6301::"
"#;

/// 6to4 relay: IPv4 port 0 (unicast 198.51.100.9), native IPv6 port 1.
pub fn relay_config(anycast: bool) -> String {
    format!(
        r#"
[[interface]]
port = 0
ipv4 = "198.51.100.9/24"
gateway = "198.51.100.1"

[[interface]]
port = 1
ipv6 = ["2001:db8:ff::9/64"]

[relay]
ipv4 = "198.51.100.9"
anycast = {anycast}

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "2001:db8:ff::1"
mac = "02:00:00:00:03:01"

[[route]]
add = "::/0 via 2001:db8:ff::1 port 1"
"#
    )
}

/// A device under test: one worker's pipeline and its tables.
pub struct Lab {
    pub pipe: Pipeline,
    pub tables: Tables,
}

impl Lab {
    /// From `[pipeline]` TOML, with 2 ports whose NIC MACs are [`PORT0`], [`PORT1`].
    pub fn new(toml: &str) -> Lab {
        let config = Config::from_toml(toml).expect("test config parses");
        let settings = config.validate(2).expect("test config validates");
        Lab::from_settings(settings)
    }

    pub fn from_settings(settings: Settings) -> Lab {
        let tables = Tables::new(&settings).expect("test tables build");
        let pipe = Pipeline::new(settings, &[EthernetAddress(PORT0), EthernetAddress(PORT1)]);
        Lab { pipe, tables }
    }

    pub fn router_r() -> Lab {
        Lab::new(ROUTER_R)
    }

    pub fn router_w() -> Lab {
        Lab::new(ROUTER_W)
    }

    pub fn relay(anycast: bool) -> Lab {
        Lab::new(&relay_config(anycast))
    }

    /// One frame through the fast path at time 0.
    pub fn run(&mut self, port: u16, frame: &[u8]) -> (Verdict, Vec<u8>) {
        self.run_at(0, port, frame)
    }

    pub fn run_at(&mut self, now: u64, port: u16, frame: &[u8]) -> (Verdict, Vec<u8>) {
        let mut bufs = [TestBuf::new(port, frame)];
        let mut verdicts = [Verdict::Punt];
        self.pipe.process_burst(&self.tables, now, &mut bufs, &mut verdicts);
        (verdicts[0], bufs[0].to_vec())
    }

    /// One frame through the slow path.
    pub fn local(&mut self, port: u16, frame: &[u8]) -> (Verdict, Vec<u8>) {
        let mut buf = TestBuf::new(port, frame);
        let v = self.pipe.process_local(&mut buf);
        (v, buf.to_vec())
    }

    /// A counter by its stable name.
    pub fn count(&self, name: &str) -> u64 {
        self.pipe.counters().iter().find(|&(n, _)| n == name).map(|(_, v)| v).unwrap_or_else(|| panic!("no counter {name}"))
    }

    /// Every non-zero counter.
    pub fn nonzero(&self) -> Vec<(&'static str, u64)> {
        self.pipe.counters().nonzero()
    }

    /// Runs `frame` (received on `rx`), expects it built for `egress` but handed to the
    /// slow path to wait for its next hop's MAC, counted once. Returns the frame.
    pub fn expect_wait(&mut self, rx: u16, frame: &[u8], egress: u16) -> Vec<u8> {
        let before = self.count("unresolved");
        let (v, out) = self.run(rx, frame);
        assert_eq!(v, Verdict::Punt);
        assert_eq!(out[..6], [0, 0, 0, 0, 0, egress as u8], "placeholder destination MAC");
        assert_eq!(self.count("unresolved"), before + 1);
        out
    }

    /// Runs `frame`, expects a drop for `reason`, and that the drop was counted once.
    pub fn expect_drop(&mut self, port: u16, frame: &[u8], reason: DropReason) {
        let before = self.pipe.counters().drops(reason);
        let (v, _) = self.run(port, frame);
        assert_eq!(v, Verdict::Drop(reason), "{}", reason.description());
        assert_eq!(self.pipe.counters().drops(reason), before + 1, "counter drop_{}", reason.name());
    }
}
