//! Spec section 7: ISATAP (RFC 5214) — interface identifiers, encapsulation to the V they
//! embed, and the receive check (embedded V = outer source, or a potential router).
use super::pkt::*;
use super::*;

/// WAN port 0 on 198.51.100.0/24, native LAN on port 1; the ISATAP link 2001:db8::/64
/// (the spec's vector) on 198.51.100.22, with 198.51.100.40 as the other potential router.
const ISATAP: &str = wan_lan_box!(r#"
[[isatap]]
ipv4 = "198.51.100.22"
prefixes = ["2001:db8::/64"]
prl = ["198.51.100.40"]

[[neighbour]]
ip = "198.51.100.1"
mac = "02:00:00:00:01:01"

[[neighbour]]
ip = "198.51.100.7"
mac = "02:00:00:00:07:07"

[[neighbour]]
ip = "2001:db8:20::5"
mac = "02:00:00:00:02:05"
"#);

const ISATAP_HOST: [u8; 6] = [0x02, 0, 0, 0, 0x07, 0x07];

fn to_router(src4: &str, inner: &[u8]) -> Vec<u8> {
    eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41(src4, "198.51.100.22"), inner))
}

/// `2001:db8::200:5efe:c633:6407` ↔ 198.51.100.7 (u bit set: a global V), and the
/// `0:5efe` form of a private V.
#[test]
fn interface_identifier_vectors() {
    let v = |s: &str| s.parse::<std::net::Ipv4Addr>().unwrap();
    assert_eq!(isatap_iid(v("198.51.100.7")), 0x0200_5efe_c633_6407);
    assert_eq!(isatap_iid(v("10.1.2.3")), 0x0000_5efe_0a01_0203);
    let a = |s: &str| u128::from(s.parse::<std::net::Ipv6Addr>().unwrap());
    assert_eq!(model::addr::v4_of_isatap(a("2001:db8::200:5efe:c633:6407")), Some(0xc633_6407));
    assert_eq!(model::addr::v4_of_isatap(a("2001:db8::5efe:c633:6407")), Some(0xc633_6407));
    assert_eq!(model::addr::v4_of_isatap(a("2001:db8::1:5efe:c633:6407")), None);
    let link = IsatapSettings { ipv4: v("198.51.100.22"), prefixes: vec!["2001:db8::/64".parse().unwrap()], prl: vec![] };
    let own: Vec<String> = link.own_v6().iter().map(|a| a.to_string()).collect();
    assert_eq!(own, ["fe80::5efe:c633:6416", "fe80::200:5efe:c633:6416", "2001:db8::5efe:c633:6416", "2001:db8::200:5efe:c633:6416"]);
}

#[test]
fn onto_the_isatap_link_exact_bytes() {
    let mut lab = Lab::new(ISATAP);
    assert_eq!(lab.tables.lookup("2001:db8::1".parse().unwrap()), Some(RouteTarget::Isatap { local: "198.51.100.22".parse().unwrap() }));
    let inner = udp6("2001:db8:20::5", "2001:db8::200:5efe:c633:6407", 64, 100);
    let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    assert_eq!(v, Verdict::Tx(0));
    let expect = ipv4(V4::p41("198.51.100.22", "198.51.100.7"), &hop_minus(&inner, 1));
    assert_eq!(out, eth(ISATAP_HOST, PORT0, ET_IPV4, &expect));
    let (h, payload) = parse_ipv4(&out[14..]);
    assert_eq!((h.source, h.destination), (a4("198.51.100.22"), a4("198.51.100.7")));
    assert_eq!(payload, hop_minus(&inner, 1));
    assert_eq!(lab.nonzero(), vec![("rx", 1), ("tx", 1), ("encapsulated", 1), ("encap_isatap", 1)]);
}

#[test]
fn destination_without_an_isatap_identifier_is_dropped() {
    let mut lab = Lab::new(ISATAP);
    let inner = udp6("2001:db8:20::5", "2001:db8::1:5efe:c633:6407", 64, 100);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::EncapNotIsatap);
    // An identifier embedding our own address (the port's: the link's is our own IPv6
    // address, delivered locally), or a non-unicast one.
    let inner = udp6("2001:db8:20::5", "2001:db8::200:5efe:c633:6414", 64, 100);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::EncapDstIsSelf);
    let inner = udp6("2001:db8:20::5", "2001:db8::200:5efe:c633:6416", 64, 100);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::LocalUnsupported);
    let inner = udp6("2001:db8:20::5", "2001:db8::5efe:e000:1", 64, 100);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::Ipv4DstMartian);
}

#[test]
fn out_of_the_isatap_link_exact_bytes() {
    let mut lab = Lab::new(ISATAP);
    for src in ["2001:db8::200:5efe:c633:6407", "2001:db8::5efe:c633:6407"] {
        let inner = udp6(src, "2001:db8:20::5", 64, 100);
        let (v, out) = lab.run(0, &to_router("198.51.100.7", &inner));
        assert_eq!(v, Verdict::Tx(1), "{src}");
        assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    }
    assert_eq!(lab.count("decap_isatap"), 2);
}

/// RFC 5214 7.3: the embedded V must be the outer source, unless that is a potential
/// router; a source that is no ISATAP address of the link fits no mechanism.
#[test]
fn receive_check() {
    let mut lab = Lab::new(ISATAP);
    let inner = udp6("2001:db8::200:5efe:c633:6407", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_router("198.51.100.8", &inner), DropReason::DecapIsatapSrcMismatch);
    let inner = udp6("2001:db8::200:5efe:c633:6408", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_router("198.51.100.7", &inner), DropReason::DecapIsatapSrcMismatch);
    // Link-local ISATAP sources follow the same rule.
    let inner = udp6("fe80::200:5efe:c633:6408", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_router("198.51.100.7", &inner), DropReason::DecapIsatapSrcMismatch);
    for src in ["2001:db8:77::200:5efe:c633:6407", "2001:db8:77::1", "2002:c633:6407::1"] {
        let inner = udp6(src, "2001:db8:20::5", 64, 100);
        lab.expect_drop(0, &to_router("198.51.100.7", &inner), DropReason::DecapNoMechanism);
    }
    // From a potential router any source is taken.
    let inner = udp6("2001:db8:77::1", "2001:db8:20::5", 64, 100);
    let (v, out) = lab.run(0, &to_router("198.51.100.40", &inner));
    assert_eq!(v, Verdict::Tx(1));
    assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
    // Not from a multicast or otherwise impossible outer source.
    let inner = udp6("2001:db8::200:5efe:c633:6407", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_router("0.1.2.3", &inner), DropReason::Ipv4SrcMartian);
    lab.expect_drop(0, &to_router("198.51.100.255", &inner), DropReason::Ipv4SrcMartian);
}

/// Packets to the router's own ISATAP addresses (a host's solicitation, echo) are ours;
/// link-local is never forwarded.
#[test]
fn own_addresses_are_local_and_link_local_is_not_forwarded() {
    let mut lab = Lab::new(ISATAP);
    for dst in ["fe80::5efe:c633:6416", "fe80::200:5efe:c633:6416", "2001:db8::200:5efe:c633:6416"] {
        let inner = echo6("fe80::200:5efe:c633:6407", dst, 255, 8);
        let frame = to_router("198.51.100.7", &inner);
        assert_eq!(lab.run(0, &frame), (Verdict::Punt, frame.clone()), "{dst}");
    }
    let inner = udp6("fe80::200:5efe:c633:6407", "2001:db8:20::5", 64, 100);
    lab.expect_drop(0, &to_router("198.51.100.7", &inner), DropReason::Ipv6LinkLocal);
    let inner = udp6("2001:db8::200:5efe:c633:6407", "ff02::1", 64, 100);
    lab.expect_drop(0, &to_router("198.51.100.7", &inner), DropReason::MulticastIgnored);
}

/// Spec 4 for ISATAP: a destination embedding one of our addresses that is not ours is a
/// loop (here: our WAN address in an identifier on another prefix).
#[test]
fn loops_through_isatap_identifiers() {
    let mut lab = Lab::new(ISATAP);
    let inner = udp6("2001:db8::200:5efe:c633:6407", "2001:db8:99::200:5efe:c633:6414", 64, 100);
    lab.expect_drop(0, &to_router("198.51.100.7", &inner), DropReason::LoopDstEmbedsOwnV4);
    let inner = udp6("2001:db8:99::200:5efe:c633:6416", "2001:db8::200:5efe:c633:6407", 64, 100);
    lab.expect_drop(1, &eth(PORT1, HOST, ET_IPV6, &inner), DropReason::LoopSrcEmbedsOwnV4);
}
