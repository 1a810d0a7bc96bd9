//! The `[pipeline]` configuration: a full example, defaults, and errors naming the field.
use std::net::Ipv4Addr;

use super::*;

/// The documented example (docs: relay + router on one box, every field).
pub const FULL_EXAMPLE: &str = r#"
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
"#;

#[test]
fn full_example_validates() {
    let s = Config::from_toml(FULL_EXAMPLE).unwrap().validate(3).unwrap();
    assert_eq!(s.tunnel_mtu, 1472);
    assert_eq!(s.outer_ttl, 48);
    assert_eq!(s.dscp, DscpPolicy::Copy);
    assert_eq!(s.extra_bogons.iter().map(|p| p.to_string()).collect::<Vec<_>>(), ["198.18.0.0/15", "192.0.2.0/24"]);
    assert!(s.urpf);
    assert_eq!((s.icmp_rate_pps, s.icmp_burst), (500, 20));
    assert_eq!(s.router, Some(RouterSettings { v4: Ipv4Addr::new(198, 51, 100, 7), lan_ports: vec![1] }));
    assert_eq!(s.relay, Some(RelaySettings { unicast: Ipv4Addr::new(198, 51, 100, 9), anycast: true }));
    assert_eq!(s.ports[0].mac, Some(EthernetAddress([2, 0, 0, 0, 0, 0x10])));
    assert_eq!(s.ports[0].ipv4, Some(Ipv4Iface { addr: Ipv4Addr::new(198, 51, 100, 7), len: 24 }));
    assert_eq!(s.ports[0].gateway, Some(Ipv4Addr::new(198, 51, 100, 1)));
    assert_eq!((s.ports[1].vlan, s.ports[1].mtu, s.ports[1].site_lan), (Some(42), 9000, true));
    assert_eq!(s.ports[1].ipv6.len(), 2);
    assert_eq!((s.ports[2].mtu, s.ports[2].site_lan), (1500, false));
    assert_eq!(s.routes.len(), 2);
    assert_eq!(s.neighbours.len(), 2);
    assert_eq!(s.tunnels.len(), 1);
    assert_eq!(
        s.tunnel_endpoints(),
        [Ipv4Addr::new(198, 51, 100, 7), Ipv4Addr::new(198, 51, 100, 9), Ipv4Addr::new(192, 88, 99, 1)]
    );
    let t = Tables::new(&s).unwrap();
    assert_eq!(t.routes().len(), 5, "::/0, 2001:db8:50::/48, 2001:db8:ff::/64, 2002::/16, LAN /64");
}

#[test]
fn defaults() {
    let s = Config::from_toml("[[interface]]\nport = 0\n").unwrap().validate(1).unwrap();
    assert_eq!(s, {
        let mut d = Settings::new(1);
        d.ports[0].configured = true;
        d
    });
    assert_eq!((s.tunnel_mtu, s.outer_ttl, s.dscp, s.urpf), (1480, 64, DscpPolicy::Copy, false));
    assert_eq!((s.icmp_rate_pps, s.icmp_burst, s.ports[0].mtu), (1000, 100, 1500));
    let relay = Config::from_toml("[relay]\nipv4 = \"198.51.100.9\"\n").unwrap().validate(0).unwrap();
    assert_eq!(relay.relay.map(|r| r.anycast), Some(false));
    let fixed = Config::from_toml("dscp = 46\n").unwrap().validate(0).unwrap();
    assert_eq!(fixed.dscp, DscpPolicy::Fixed(46));
}

fn error(toml: &str, ports: usize) -> String {
    Config::from_toml(toml).unwrap().validate(ports).unwrap_err().to_string()
}

#[test]
fn errors_name_the_field() {
    let iface = "[[interface]]\nport = 0\nipv4 = \"198.51.100.7/24\"\n";
    let cases = [
        (format!("{iface}[[interface]]\nport = 1\nipv4 = \"198.51.100.300/24\"\n"), "pipeline.interface[1].ipv4: \"198.51.100.300\": not an IPv4 address"),
        (format!("{iface}[[interface]]\nport = 1\nipv4 = \"198.51.100.8/33\"\n"), "pipeline.interface[1].ipv4: \"33\": prefix length must be 1..=32"),
        (format!("{iface}[[interface]]\nport = 2\n"), "pipeline.interface[1].port: port 2 does not exist (2 ports)"),
        (format!("{iface}[[interface]]\nport = 0\n"), "pipeline.interface[1].port: port 0 is configured twice"),
        (format!("{iface}gateway = \"198.51.101.1\"\n"), "pipeline.interface[0].gateway: 198.51.101.1 is not another host of 198.51.100.7/24"),
        (format!("{iface}gateway = \"198.51.100.1\"\n[[interface]]\nport = 1\nipv4 = \"203.0.113.1/24\"\ngateway = \"203.0.113.254\"\n"), "pipeline.interface[1].gateway: pipeline.interface[0] already has the default gateway"),
        ("[[interface]]\nport = 0\ngateway = \"198.51.100.1\"\n".into(), "pipeline.interface[0].gateway: a gateway needs the interface's ipv4 address/prefix"),
        (format!("{iface}vlan = 4095\n"), "pipeline.interface[0].vlan: 4095: a VLAN id is 1..=4094"),
        (format!("{iface}mtu = 1279\n"), "pipeline.interface[0].mtu: 1279: the MTU must be 1280..=9216"),
        (format!("{iface}mac = \"01:00:5e:00:00:01\"\n"), "pipeline.interface[0].mac: 01:00:5e:00:00:01 is not a unicast MAC address"),
        (format!("{iface}mac = \"02:00:00\"\n"), "pipeline.interface[0].mac: invalid Ethernet address \"02:00:00\": expected six hex octets like 02:00:5e:10:00:01"),
        ("[[interface]]\nport = 0\nipv6 = [\"ff02::1/64\"]\n".into(), "pipeline.interface[0].ipv6[0]: ff02::1 is not a unicast address"),
        ("[router]\nipv4 = \"10.1.2.3\"\n".into(), "pipeline.router.ipv4: 10.1.2.3 is not a global unicast IPv4 address (RFC 3964 5.3.1)"),
        ("extra_bogons = [\"198.18.0.0/15\"]\n[router]\nipv4 = \"198.18.0.1\"\n".into(), "pipeline.router.ipv4: 198.18.0.1 is not a global unicast IPv4 address (RFC 3964 5.3.1)"),
        ("[router]\nipv4 = \"198.51.100.7\"\nlan_ports = [1]\n".into(), "pipeline.router.lan_ports[0]: port 1 has no [[pipeline.interface]]"),
        ("[relay]\nipv4 = \"192.88.99.1\"\n".into(), "pipeline.relay.ipv4: the unicast address must not be the anycast 192.88.99.1 (set anycast = true)"),
        ("tunnel_mtu = 1481\n".into(), "pipeline.tunnel_mtu: 1481: the tunnel MTU must be 1280..=1480"),
        ("tunnel_mtu = 1279\n".into(), "pipeline.tunnel_mtu: 1279: the tunnel MTU must be 1280..=1480"),
        ("outer_ttl = 0\n".into(), "pipeline.outer_ttl: 0: the outer TTL must be 1..=255"),
        ("dscp = \"ef\"\n".into(), "pipeline.dscp: \"ef\": expected \"copy\" or a DSCP value 0..=63"),
        ("dscp = 64\n".into(), "pipeline.dscp: 64: a DSCP value is 0..=63"),
        ("icmp_burst = 0\n".into(), "pipeline.icmp_burst: 0: the burst must be at least 1 when ICMP errors are on"),
        ("extra_bogons = [\"198.18.0.1/15\"]\n".into(), "pipeline.extra_bogons[0]: 198.18.0.1/15 has host bits set (the network is 198.18.0.0/15)"),
        (format!("{iface}[[route]]\nadd = \"2001:db8::/32 via fe80::1\"\n"), "pipeline.route[0].add: next hop fe80::1 is not a 6to4 address: give a port"),
        (format!("{iface}[[route]]\nadd = \"2001:db8::/32 port 1\"\n"), "pipeline.route[0].add: port 1 is not configured"),
        (format!("{iface}[[neighbour]]\nip = \"198.51.100.1\"\nmac = \"ff:ff:ff:ff:ff:ff\"\n"), "pipeline.neighbour[0]: ff:ff:ff:ff:ff:ff is not a unicast MAC address"),
        (format!("{iface}[[neighbour]]\nip = \"host\"\nmac = \"02:00:00:00:00:01\"\n"), "pipeline.neighbour[0].ip: \"host\": not an IP address"),
        (format!("{iface}[[tunnel]]\nid = 0\nlocal = \"198.51.100.8\"\nremote = \"203.0.113.50\"\n"), "pipeline.tunnel[0]: tunnel local address 198.51.100.8 is not one of ours"),
        (format!("{iface}[[tunnel]]\nid = 0\nlocal = \"x\"\nremote = \"203.0.113.50\"\n"), "pipeline.tunnel[0].local: \"x\": not an IPv4 address"),
    ];
    for (toml, want) in cases {
        assert_eq!(error(&toml, 2), want, "{toml}");
    }
}

#[test]
fn unknown_fields_are_rejected() {
    for toml in ["tunnel_mtus = 1400\n", "[[interface]]\nport = 0\nipv4s = \"198.51.100.7/24\"\n", "[relay]\nipv4 = \"198.51.100.9\"\nanycasts = true\n"] {
        let err = Config::from_toml(toml).unwrap_err();
        assert!(err.contains("unknown field"), "{toml}: {err}");
    }
}

/// Nested in relayd's file as `[pipeline]`.
#[test]
fn nests_under_a_pipeline_table() {
    #[derive(serde::Deserialize)]
    struct File {
        pipeline: Config,
    }
    let text = FULL_EXAMPLE
        .replace("[router]", "[pipeline.router]")
        .replace("[relay]", "[pipeline.relay]")
        .replace("[[interface]]", "[[pipeline.interface]]")
        .replace("[[neighbour]]", "[[pipeline.neighbour]]")
        .replace("[[tunnel]]", "[[pipeline.tunnel]]")
        .replace("[[route]]", "[[pipeline.route]]");
    let file: File = toml::from_str(&format!("[pipeline]\n{text}")).unwrap();
    assert_eq!(file.pipeline, Config::from_toml(FULL_EXAMPLE).unwrap());
}

/// `Config::build` hands the daemon the tables it built entry by entry while validating;
/// they are the tables `Tables::new` builds from the settings, also where a configured
/// 2002::/16 replaces the implicit one.
#[test]
fn built_tables_are_the_settings_tables() {
    let relay = relay_config(true);
    let configured_6to4 = format!("{}\n[[route]]\nadd = \"2002::/16 via 2002:c058:6301:: \"\n", ROUTER_W);
    for text in [FULL_EXAMPLE, ROUTER_R, ROUTER_W, relay.as_str(), configured_6to4.as_str()] {
        let (settings, tables) = Config::from_toml(text).unwrap().build(4).unwrap();
        assert_eq!(tables, Tables::new(&settings).unwrap());
        assert_eq!(tables.routes_text(), Tables::new(&settings).unwrap().routes_text());
    }
    let (_, tables) = Config::from_toml(&configured_6to4).unwrap().build(4).unwrap();
    assert!(tables.routes_text().contains("2002::/16 via 2002:c058:6301::\n"), "{}", tables.routes_text());
}
