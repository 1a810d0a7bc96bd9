//! The table sets the pipeline target runs on: valid `[pipeline]` configurations taken from
//! the pipeline's own tests, between them every role and mechanism (6to4 router and relay,
//! configured tunnels, IPv4-compatible, ISATAP, 6rd, 6over4), 802.1Q, uRPF and the control
//! TAP's policing. The fuzz input's first byte picks one.

/// The anycast 6to4 relay of the pipeline tests (tests/mod.rs relay_config(true)): WAN port 0
/// on 198.51.100.9, native port 1; the reassembly target runs on it too.
pub const ANYCAST_RELAY: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.9/24"
gateway = "198.51.100.1"

[[interface]]
port = 1
ipv6 = ["2001:db8:ff::9/64"]

[relay]
ipv4 = "198.51.100.9"
anycast = true

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "2001:db8:ff::1"
mac = "02:00:00:00:03:01"

[[route]]
add = "::/0 via 2001:db8:ff::1 port 1"
"#;

/// `(TOML, ports)`.
pub const CONFIGS: &[(&str, usize)] = &[
    // 6to4 router R (relay/src/pipeline/tests/mod.rs ROUTER_R)
    (
        r#"
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
"#,
        2,
    ),
    // anycast 6to4 relay (tests/mod.rs relay_config(true))
    (
        ANYCAST_RELAY,
        2,
    ),
    // every automatic mechanism and a configured tunnel (tests/auto_config_tests.rs ALL)
    (
        r#"
[[interface]]
port = 0
ipv4 = "198.51.100.20/24"
gateway = "198.51.100.1"

[[interface]]
port = 1
ipv6 = ["2001:db8:20::1/64"]

[relay]
ipv4 = "198.51.100.9"

[ipv4_compatible]
ipv4 = "198.51.100.21"

[[isatap]]
ipv4 = "198.51.100.22"
prefixes = ["2001:db8:5e::/64"]
prl = ["198.51.100.40"]

[[6rd]]
br = "198.51.100.23"
prefix = "2001:db8:6400::/48"
ipv4_prefix = "198.51.100.0/24"

[[6over4]]
port = 0
prefixes = ["2001:db8:64::/64"]

[[tunnel]]
id = 0
local = "198.51.100.20"
remote = "203.0.113.50"
name = "to-b"
mtu = 1400
ttl = 32
dscp = 46

[[route]]
add = "2001:db8:50::/48 tunnel 0"

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "198.51.100.7"
mac = "02:00:00:00:07:07"

[[neighbour]]
ip = "198.51.100.50"
mac = "02:00:00:00:50:50"

[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#,
        2,
    ),
    // router and relay, 802.1Q, uRPF, 3 ports (tests/config_tests.rs FULL_EXAMPLE)
    (
        r#"
tunnel_mtu = 1472
outer_ttl = 48
dscp = "copy"
extra_bogons = ["198.18.0.0/15", "192.0.2.0/24"]
urpf = true
icmp_rate_pps = 500
icmp_burst = 20

[router]
ipv4 = "198.51.100.7"
lan_ports = [1]

[relay]
ipv4 = "198.51.100.9"
anycast = true

[[interface]]
port = 0
mac = "02:00:00:00:00:10"
ipv4 = "198.51.100.7/24"
gateway = "198.51.100.1"
mtu = 1500

[[interface]]
port = 1
ipv6 = ["2002:c633:6407:1::1/64", "fe80::1/64"]
vlan = 42
mtu = 9000

[[interface]]
port = 2
ipv6 = ["2001:db8:ff::9/64"]

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "2001:db8:ff::1"
mac = "02:00:00:00:03:01"

[[tunnel]]
id = 1
local = "198.51.100.7"
remote = "203.0.113.50"

[[route]]
add = "::/0 via 2001:db8:ff::1 port 2"

[[route]]
add = "2001:db8:50::/48 tunnel 1"
"#,
        3,
    ),
    // control TAP and its policing (tests/kernel_tests.rs CONFIG)
    (
        r#"
[[interface]]
port = 0
ipv4 = "198.51.100.9/24"
ipv6 = ["2001:db8:ff::9/64"]
control_tap = "cp0"

[[interface]]
port = 1
ipv6 = ["2001:db8:1::9/64"]

[control_plane]
peers = ["198.51.100.1", "2001:db8:ff::1"]
peer_rate_pps = 10
peer_burst = 2
other_rate_pps = 10
other_burst = 3
"#,
        2,
    ),
];
