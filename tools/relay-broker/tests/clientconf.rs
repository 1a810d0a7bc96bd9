//! The client configurations, exact text.

use std::net::Ipv4Addr;

use relay_broker::clientconf::{render, ConfError, Kind};
use relay_broker::db::{State, Tunnel};

fn tunnel(routed: bool) -> Tunnel {
    Tunnel {
        id: 7,
        owner: "alice".into(),
        server: "t1".into(),
        server_tid: 32774,
        client_ipv4: Ipv4Addr::new(203, 0, 113, 77),
        link_index: 6,
        link64: "2001:db8:1000:6::/64".into(),
        routed_index: routed.then_some(2),
        routed48: routed.then(|| "2001:db8:8002::/48".to_string()),
        lease_until: 0,
        state: State::Active,
        last_error: None,
    }
}

const SRV: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 20);

#[test]
fn iproute2() {
    assert_eq!(
        render(Kind::Iproute2, &tunnel(false), SRV).unwrap(),
        "# relay-broker tunnel 7\n\
         ip tunnel add broker7 mode sit remote 198.51.100.20 local 203.0.113.77 ttl 255\n\
         ip link set broker7 up\n\
         ip addr add 2001:db8:1000:6::2/64 dev broker7\n\
         ip route add ::/0 dev broker7\n"
    );
}

#[test]
fn ios_with_routed48() {
    assert_eq!(
        render(Kind::Ios, &tunnel(true), SRV).unwrap(),
        "! relay-broker tunnel 7\n! routed /48: 2001:db8:8002::/48 (route it to your LAN)\n\
         interface Tunnel7\n description relay-broker tunnel 7\n no ip address\n ipv6 enable\n\
         \x20ipv6 address 2001:db8:1000:6::2/64\n tunnel source 203.0.113.77\n tunnel destination 198.51.100.20\n tunnel mode ipv6ip\n!\n\
         ipv6 route ::/0 Tunnel7\n"
    );
}

#[test]
fn freebsd() {
    assert_eq!(
        render(Kind::Freebsd, &tunnel(false), SRV).unwrap(),
        "# relay-broker tunnel 7\n\
         ifconfig gif7 create\n\
         ifconfig gif7 tunnel 203.0.113.77 198.51.100.20\n\
         ifconfig gif7 inet6 2001:db8:1000:6::2 2001:db8:1000:6::1 prefixlen 128\n\
         route -n add -inet6 default 2001:db8:1000:6::1\n\
         ifconfig gif7 up\n"
    );
}

#[test]
fn relayd_ce_is_a_config_relayd_reads() {
    let text = render(Kind::Relayd, &tunnel(true), SRV).unwrap();
    assert_eq!(
        text,
        "# relay-broker tunnel 7: merge into relayd.toml; a [[pipeline.interface]] must carry 203.0.113.77.\n\
         # link 2001:db8:1000:6::/64: server 2001:db8:1000:6::1, client 2001:db8:1000:6::2\n\
         # routed /48: 2001:db8:8002::/48 (route it to your LAN)\n\
         [[pipeline.tunnel]]\nid = 0\nlocal = \"203.0.113.77\"\nremote = \"198.51.100.20\"\nname = \"broker-7\"\n\n\
         [[pipeline.route]]\nadd = \"::/0 tunnel 0\"\n"
    );
    // It is TOML, with the tables relayd's [pipeline] reads.
    let v: toml::Value = toml::from_str(&text).unwrap();
    assert_eq!(v["pipeline"]["tunnel"][0]["remote"].as_str(), Some("198.51.100.20"));
}

#[test]
fn unknown_kind_is_named() {
    assert_eq!("junos".parse::<Kind>(), Err(ConfError::UnknownKind("junos".into())));
}
