//! Who is where in the anycast lab, with which addresses, and the text of every relayd and
//! BIRD configuration and of the wiring. Everything is generated here and written to the lab
//! directory (`anycast/r3a.toml`, `anycast/u4.conf`, `anycast/wiring.sh`, …) for people to read.
//!
//! ```text
//!  A ── R1 (6to4 router) ── U4 (IPv4 upstream, BIRD) ══ECMP══ R3a, R3b (relayd + BIRD)
//!                           └─ rogue                          ══ECMP══ U6 (IPv6 upstream, BIRD) ── C
//! ```
//! Every relayd runs in a namespace of its own, where its TAPs stay, each on a bridge with a
//! veth to the upstream: the upstream's side outlives a relayd that is killed, as a switch
//! port would, so a dead relay is found by BFD and not by an interface vanishing.
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::lab::wiring::Batch;

pub const NS_U4: &str = "rlab-any-u4";
pub const NS_U6: &str = "rlab-any-u6";
pub const NS_R1: &str = "rlab-any-r1";
pub const NS_A: &str = "rlab-any-a";
pub const NS_C: &str = "rlab-any-c";
pub const NS_ROGUE: &str = "rlab-any-rogue";
pub const NAMESPACE_PREFIX: &str = "rlab-any-";

pub const ANYCAST4: &str = "192.88.99.0/24";
pub const ANYCAST6: &str = "2002::/16";
/// What the IPv6 upstream announces to the relays (C's network is in it).
pub const NATIVE: &str = "2001:db8:c0::/44";
/// The BIRD protocol of U6 that holds [`NATIVE`].
pub const NATIVE_PROTOCOL: &str = "native6";

pub const A: Ipv6Addr = Ipv6Addr::new(0x2002, 0xc633, 0x640a, 1, 0, 0, 0, 0xa);
pub const C: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xc0, 0, 0, 0, 0, 0xc);
const C_GATEWAY: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0xc0, 0, 0, 0, 0, 1);
pub const R1_V4: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 10);
const R1_GATEWAY: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
/// R1's LAN address: 2002:<198.51.100.10>:1::1.
const R1_LAN: Ipv6Addr = Ipv6Addr::new(0x2002, 0xc633, 0x640a, 1, 0, 0, 0, 1);
pub const ROGUE: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 66);
const ROGUE_GATEWAY: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const RELAY_AS: u32 = 65010;
const U4_AS: u32 = 65000;
const U6_AS: u32 = 65006;

/// One of the two anycast relays: relayd with port 0 toward U4 (IPv4) and port 1 toward U6
/// (IPv6), each with a control TAP for BIRD.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Relay {
    pub name: &'static str,
    pub lower: &'static str,
    pub netns: &'static str,
    pub v4: Ipv4Addr,
    /// U4's address on the link; the relay's IPv4 gateway and BGP neighbour.
    pub up4: Ipv4Addr,
    pub v6: Ipv6Addr,
    pub up6: Ipv6Addr,
    /// relayd's MACs on ports 0 and 1 (`02:…`), the kernel side of each TAP gets `06:…`.
    pub mac: [u8; 2],
}

pub const RELAYS: [Relay; 2] = [
    Relay {
        name: "R3a",
        lower: "r3a",
        netns: "rlab-any-r3a",
        v4: Ipv4Addr::new(203, 0, 113, 2),
        up4: Ipv4Addr::new(203, 0, 113, 1),
        v6: Ipv6Addr::new(0x2001, 0xdb8, 0xfa, 0, 0, 0, 0, 2),
        up6: Ipv6Addr::new(0x2001, 0xdb8, 0xfa, 0, 0, 0, 0, 1),
        mac: [0x3a, 0x0a],
    },
    Relay {
        name: "R3b",
        lower: "r3b",
        netns: "rlab-any-r3b",
        v4: Ipv4Addr::new(203, 0, 113, 18),
        up4: Ipv4Addr::new(203, 0, 113, 17),
        v6: Ipv6Addr::new(0x2001, 0xdb8, 0xfb, 0, 0, 0, 0, 2),
        up6: Ipv6Addr::new(0x2001, 0xdb8, 0xfb, 0, 0, 0, 0, 1),
        mac: [0x3b, 0x0b],
    },
];

/// The relayd ports of the lab: (TAP name, bridge) in the router's namespace.
pub const RELAY_PORTS: [(&str, &str); 2] = [("tap4", "br4"), ("tap6", "br6")];
pub const R1_PORTS: [(&str, &str); 2] = [("tapw", "brw"), ("tapl", "brl")];

impl Relay {
    /// relayd's MAC on `port`; `kernel` the kernel side of that port's TAP.
    pub fn port_mac(&self, port: u8, kernel: bool) -> String {
        let first = if kernel { 0x06 } else { 0x02 };
        format!("{first:02x}:00:00:{:02x}:{:02x}:{port:02x}", self.mac[0], self.mac[1])
    }
}

pub fn namespaces() -> Vec<&'static str> {
    let mut v = vec![NS_U4, NS_U6, NS_R1, NS_A, NS_C, NS_ROGUE];
    v.extend(RELAYS.iter().map(|r| r.netns));
    v
}

/// How the lab's relayds share the machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cores {
    pub control: usize,
    pub worker: usize,
}

impl Cores {
    /// Control cores on CPU 0, workers on CPU 1 (CPU 0 too on a one-CPU machine).
    pub fn new() -> Cores {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        Cores { control: 0, worker: usize::from(cpus > 1) }
    }
}

impl Default for Cores {
    fn default() -> Self {
        Cores::new()
    }
}

fn common_toml(s: &mut String, who: &str, cores: Cores, socket: &str, ports: [(&str, &str); 2], names: [&str; 2], macs: [String; 2]) {
    let _ = writeln!(s, "\n[eal]\nfile_prefix = \"rlab-any-{who}\"\nmemory_mb = 128\n\n[cores]\ncontrol = {}", cores.control);
    for (i, ((tap, _), (name, mac))) in ports.iter().zip(names.iter().zip(macs.iter())).enumerate() {
        let _ = writeln!(s, "\n[[port]]\nname = \"{name}\"\ndevice = \"net_tap{i},iface={tap}\"\nmac = \"{mac}\"\nrx_desc = 256\ntx_desc = 256");
    }
    let _ = writeln!(s, "\n[[worker]]\ncpu = {}\nrx = [\"{}:0\", \"{}:0\"]", cores.worker, names[0], names[1]);
    let _ = writeln!(s, "\n[runtime]\nidle_sleep_us = 200   # three instances share two cores\n\n[control]\nsocket = \"{socket}\"");
}

/// A relay's relayd: the 6to4 relay of RFC 3068 with the anycast address, its routes toward
/// native IPv6 from BIRD through kernel table 100, BGP and BFD punted to the control TAPs.
pub fn relay_toml(r: &Relay, cores: Cores, socket: &str) -> String {
    let mut s = format!(
        "# {}: 6to4 relay announcing {ANYCAST4} and {ANYCAST6} (relay-lab anycast; docs/deploy-bgp.md).\n# Generated from tools/src/lab/anycast/plan.rs.\n",
        r.name
    );
    common_toml(&mut s, r.lower, cores, socket, RELAY_PORTS, ["v4", "v6"], [r.port_mac(0, false), r.port_mac(1, false)]);
    let _ = writeln!(s, "\n# BIRD's routes (kernel table 100) become relayd's, origin kernel/bird.\n[routing]\nkernel_table = 100");
    let _ = writeln!(s, "\n[pipeline]\ntunnel_mtu = 1480\n\n[pipeline.relay]\nipv4 = \"{}\"\nanycast = true", r.v4);
    let _ = writeln!(
        s,
        "\n[[pipeline.interface]]\nport = 0\nipv4 = \"{}/28\"\ngateway = \"{}\"\ncontrol_tap = \"cp0\"",
        r.v4, r.up4
    );
    let _ = writeln!(s, "\n[[pipeline.interface]]\nport = 1\nipv6 = [\"{}/64\"]\ncontrol_tap = \"cp1\"", r.v6);
    let _ = writeln!(s, "\n# BGP and BFD of these have their own punt budget (a flood from elsewhere cannot starve them).\n[pipeline.control_plane]\npeers = [\"{}\", \"{}\"]", r.up4, r.up6);
    let _ = writeln!(s, "\n[[pipeline.route]]\nadd = \"{ANYCAST6} 6to4\"");
    s
}

/// R1: the 6to4 router of the site 2002:c633:640a::/48, its default route to the anycast relay.
pub fn r1_toml(cores: Cores, socket: &str) -> String {
    let mut s = format!("# R1: 6to4 router of 2002:c633:640a::/48, default route to the relays' anycast address.\n# Generated from tools/src/lab/anycast/plan.rs.\n");
    common_toml(&mut s, "r1", cores, socket, R1_PORTS, ["wan", "lan"], ["02:00:00:00:01:00".into(), "02:00:00:00:01:01".into()]);
    let _ = writeln!(s, "\n[pipeline]\ntunnel_mtu = 1480\n\n[pipeline.router]\nipv4 = \"{R1_V4}\"\nlan_ports = [1]");
    let _ = writeln!(s, "\n[[pipeline.interface]]\nport = 0\nipv4 = \"{R1_V4}/24\"\ngateway = \"{R1_GATEWAY}\"");
    let _ = writeln!(s, "\n[[pipeline.interface]]\nport = 1\nipv6 = [\"{R1_LAN}/64\"]");
    let _ = writeln!(s, "\n[[pipeline.route]]\nadd = \"{ANYCAST6} 6to4\"\n\n[[pipeline.route]]\nadd = \"::/0 via 2002:c058:6301::\"");
    s
}

const BFD: &str = "min rx interval 100 ms; min tx interval 100 ms; multiplier 3;";
/// Fast reconnects after a relay comes back: the announcement is gated by relay-health.
const SESSION_TIMERS: &str = "hold time 9; keepalive time 3; connect delay time 1; connect retry time 2; error wait time 1, 10; bfd on;";

/// A relay's BIRD, as deploy/bird/relay.conf with one upstream per address family.
pub fn relay_bird(r: &Relay) -> String {
    format!(
        r#"# {name}'s BIRD (relay-lab anycast): deploy/bird/relay.conf with one IPv4 and one IPv6 upstream.
router id {v4};
protocol device {{}}
protocol kernel kernel6 {{
    kernel table 100;
    ipv6 {{ import none; export where source = RTS_BGP; }};
}}
# Enabled by relay-health only while relayd is healthy.
protocol static anycast4 {{ disabled; ipv4; route {ANYCAST4} blackhole; }}
protocol static anycast6 {{ disabled; ipv6; route {ANYCAST6} blackhole; }}
protocol bfd {{ interface "cp*" {{ {BFD} }}; }}
template bgp upstream {{ local as {RELAY_AS}; {SESSION_TIMERS} }}
protocol bgp up4 from upstream {{
    local {v4}; neighbor {up4} as {U4_AS};
    ipv4 {{ import none; export where proto = "anycast4"; }};
}}
protocol bgp up6 from upstream {{
    local {v6}; neighbor {up6} as {U6_AS};
    ipv6 {{ import all; export where proto = "anycast6"; }};
}}
"#,
        name = r.name,
        v4 = r.v4,
        up4 = r.up4,
        v6 = r.v6,
        up6 = r.up6
    )
}

/// An upstream's BIRD: eBGP to both relays with BFD, the equal routes merged into one
/// multipath kernel route (ECMP).
pub fn upstream_bird(v6: bool) -> String {
    let (id, asn, family) = if v6 { ("10.0.0.6", U6_AS, "ipv6") } else { ("10.0.0.4", U4_AS, "ipv4") };
    let mut s = format!(
        r#"# {} upstream (relay-lab anycast): its routers spread flows over the relays that announce.
router id {id};
protocol device {{}}
protocol kernel {{
    merge paths on;
    {family} {{ import none; export where source = RTS_BGP; }};
}}
protocol bfd {{ interface "to-r3*" {{ {BFD} }}; }}
"#,
        if v6 { "The IPv6" } else { "The IPv4" }
    );
    let export = if v6 {
        let _ = writeln!(s, "protocol static {NATIVE_PROTOCOL} {{ ipv6; route {NATIVE} unreachable; }}");
        format!("where proto = \"{NATIVE_PROTOCOL}\"")
    } else {
        "none".to_string()
    };
    let _ = writeln!(s, "template bgp relay {{ local as {asn}; {SESSION_TIMERS} {family} {{ import all; export {export}; }}; }}");
    for r in &RELAYS {
        let (local, neighbor) = if v6 { (r.up6.to_string(), r.v6.to_string()) } else { (r.up4.to_string(), r.v4.to_string()) };
        let _ = writeln!(s, "protocol bgp {} from relay {{ local {local}; neighbor {neighbor} as {RELAY_AS}; }}", r.lower);
    }
    s
}

/// Sysctls per namespace, applied before any interface exists.
pub fn sysctls() -> Vec<(&'static str, Vec<String>)> {
    let all_default = |key: &str, v: &str| ["all", "default"].map(|c| format!("{}={v}", key.replace("{}", c))).to_vec();
    let no_ipv6 = all_default("net.ipv6.conf.{}.disable_ipv6", "1");
    let static_ipv6: Vec<String> =
        all_default("net.ipv6.conf.{}.accept_dad", "0").into_iter().chain(all_default("net.ipv6.conf.{}.accept_ra", "0")).collect();
    let mut u4 = vec![
        "net.ipv4.ip_forward=1".to_string(),
        // One 6to4 site is one outer flow (protocol 41 has no ports): hash the inner IPv6
        // addresses, protocol and ports too (policy 3, fields 0x0df7), or the upstream puts
        // every flow of a site on the same relay.
        "net.ipv4.fib_multipath_hash_policy=3".to_string(),
        "net.ipv4.fib_multipath_hash_fields=0x0df7".to_string(),
    ];
    u4.extend(all_default("net.ipv4.conf.{}.rp_filter", "0"));
    u4.extend(no_ipv6.clone());
    let mut u6 = vec!["net.ipv6.conf.all.forwarding=1".to_string(), "net.ipv6.fib_multipath_hash_policy=1".to_string()];
    u6.extend(static_ipv6.clone());
    let mut v = vec![(NS_U4, u4), (NS_U6, u6), (NS_R1, no_ipv6.clone()), (NS_ROGUE, no_ipv6), (NS_A, static_ipv6.clone()), (NS_C, static_ipv6.clone())];
    // relayd's control TAPs appear later with the defaults: no DAD wait for cp1's address.
    v.extend(RELAYS.iter().map(|r| (r.netns, static_ipv6.clone())));
    v
}

/// `sysctl` settings that make `dev` pure layer 2 in a relay's namespace: its kernel owns
/// the relay's addresses (on the control TAPs) and would answer ARP for them on any
/// interface, and ND and router solicitations from the bridge would only be noise.
pub fn layer2_only(dev: &str) -> Vec<String> {
    vec![format!("net.ipv4.conf.{dev}.arp_ignore=8"), format!("net.ipv6.conf.{dev}.disable_ipv6=1")]
}

/// Namespaces, veth pairs, bridges, addresses and routes; no relayd yet.
pub fn fabric() -> Vec<Batch> {
    let mut out: Vec<Batch> = vec![(None, namespaces().iter().map(|ns| format!("netns add {ns}")).collect())];
    let veth = |here: &str, there: &str, ns: &str| format!("link add {here} type veth peer name {there} netns {ns}");
    let mut u4 = vec!["link set lo up".to_string(), veth("to-r1", "uplink", NS_R1), veth("to-rogue", "eth0", NS_ROGUE)];
    let mut u6 = vec!["link set lo up".to_string(), veth("to-c", "eth0", NS_C)];
    u4.extend([format!("addr add {R1_GATEWAY}/24 dev to-r1"), "link set to-r1 up".into()]);
    u4.extend([format!("addr add {ROGUE_GATEWAY}/24 dev to-rogue"), "link set to-rogue up".into()]);
    u6.extend([format!("addr add {C_GATEWAY}/64 dev to-c nodad"), "link set to-c up".into()]);
    for r in &RELAYS {
        let link = format!("to-{}", r.lower);
        u4.extend([veth(&link, "uplink4", r.netns), format!("addr add {}/28 dev {link}", r.up4), format!("link set {link} up")]);
        u6.extend([veth(&link, "uplink6", r.netns), format!("addr add {}/64 dev {link} nodad", r.up6), format!("link set {link} up")]);
    }
    let r1 = vec![veth("to-a", "eth0", NS_A)];
    out.push((Some(NS_U4), u4));
    out.push((Some(NS_U6), u6));
    out.push((Some(NS_R1), r1));
    out
}

/// After [`fabric`] and the per-device [`layer2_only`] settings: the bridges come up.
pub fn bridges() -> Vec<Batch> {
    let bridge = |b: &str| [format!("link add {b} type bridge stp_state 0 mcast_snooping 0"), format!("link set {b} up")];
    let mut out = Vec::new();
    for r in &RELAYS {
        let mut v = vec!["link set lo up".to_string()];
        v.extend(bridge("br4"));
        v.extend(bridge("br6"));
        v.extend(["link set uplink4 master br4".into(), "link set uplink4 up".into(), "link set uplink6 master br6".into(), "link set uplink6 up".into()]);
        out.push((Some(r.netns), v));
    }
    let mut r1 = vec!["link set lo up".to_string()];
    r1.extend(bridge("brw"));
    r1.extend(bridge("brl"));
    r1.extend(["link set uplink master brw".into(), "link set uplink up".into(), "link set to-a master brl".into(), "link set to-a up".into()]);
    out.push((Some(NS_R1), r1));
    let host = |addr: String, gw: String| vec!["link set lo up".to_string(), format!("addr add {addr} dev eth0"), "link set eth0 up".into(), format!("route add default via {gw}")];
    out.push((Some(NS_A), host(format!("{A}/64 nodad"), R1_LAN.to_string())));
    out.push((Some(NS_C), host(format!("{C}/64 nodad"), C_GATEWAY.to_string())));
    out.push((Some(NS_ROGUE), host(format!("{ROGUE}/24"), ROGUE_GATEWAY.to_string())));
    out
}

/// The devices of a namespace that [`layer2_only`] applies to before [`bridges`].
pub fn layer2_devices() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut v: Vec<(&'static str, Vec<&'static str>)> = RELAYS.iter().map(|r| (r.netns, vec!["uplink4", "uplink6"])).collect();
    v.push((NS_R1, vec!["uplink", "to-a"]));
    v
}

/// Plugs a running relayd's TAPs (in `netns`) into their bridges, the kernel side of each
/// with another MAC: a bridge takes frames for a MAC one of its ports owns as its own and
/// would never forward them to relayd.
pub fn plug(netns: &'static str, ports: [(&str, &str); 2], kernel_macs: [String; 2]) -> Batch {
    let mut v = Vec::new();
    for ((tap, bridge), mac) in ports.iter().zip(kernel_macs) {
        v.extend([format!("link set {tap} address {mac}"), format!("link set {tap} master {bridge}"), format!("link set {tap} up")]);
    }
    (Some(netns), v)
}

pub fn r1_kernel_macs() -> [String; 2] {
    ["06:00:00:00:01:00".into(), "06:00:00:00:01:01".into()]
}

pub fn relay_kernel_macs(r: &Relay) -> [String; 2] {
    [r.port_mac(0, true), r.port_mac(1, true)]
}
