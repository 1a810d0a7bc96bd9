//! What the router says unprompted: gratuitous ARP at start (RFC 5227), router
//! advertisements for a site's /64 (RFC 4861 section 6) and answers to router
//! solicitations; and the `[[pipeline.router_advert]]` configuration.
use super::pkt::*;
use super::slow_tests::{Io, ROUTER_R_DYNAMIC};
use super::*;

const S: u64 = 1_000_000_000;
const ALL_NODES: [u8; 6] = [0x33, 0x33, 0, 0, 0, 1];
/// Port 1's link-local address: the modified EUI-64 of 02:00:00:00:00:a1.
const PORT1_LL: &str = "fe80::ff:fe00:a1";

fn router() -> (Lab, SlowPath<TestBuf>, Io) {
    let lab = Lab::new(ROUTER_R_DYNAMIC);
    let slow = SlowPath::new(lab.pipe.settings(), &[PORT0, PORT1]);
    let io = Io::new(lab.tables.clone());
    (lab, slow, io)
}

fn garp() -> Vec<u8> {
    eth([0xff; 6], PORT0, ET_ARP, &arp(1, PORT0, "198.51.100.7", [0; 6], "198.51.100.7"))
}

/// The advertisement of 2002:c633:6407:1::/64 on port 1, built field by field.
fn advert(router_lifetime: u16) -> Vec<u8> {
    let mut body = vec![0; 8]; // reachable time, retrans timer
    body.extend_from_slice(&[1, 1]);
    body.extend_from_slice(&PORT1);
    body.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0xdc]); // MTU 1500
    // Prefix information: /64, L and A, valid 86400 s, preferred 14400 s.
    body.extend_from_slice(&[3, 4, 64, 0xc0, 0, 1, 0x51, 0x80, 0, 0, 0x38, 0x40, 0, 0, 0, 0]);
    body.extend_from_slice(&a6("2002:c633:6407:1::"));
    let lt = router_lifetime.to_be_bytes();
    eth(ALL_NODES, PORT1, ET_IPV6, &icmp6_raw(PORT1_LL, "ff02::1", 255, 134, 0, [64, 0, lt[0], lt[1]], &body))
}

#[test]
fn announcements_and_advertisements_at_start() {
    let (_, mut slow, mut io) = router();
    slow.tick(0, &mut io);
    let sent = io.take();
    assert_eq!(sent, vec![(0, garp()), (1, advert(30))]);
    // etherparse checks the ICMPv6 checksum and lengths of what we built.
    let (h, t, _) = parse_icmp6(&sent[1].1[14..]);
    assert_eq!(h.hop_limit, 255);
    assert_eq!(t, etherparse::Icmpv6Type::Unknown { type_u8: 134, code_u8: 0, bytes5to8: [64, 0, 0, 30] });
    slow.tick(S, &mut io);
    slow.tick(2 * S, &mut io);
    assert_eq!(io.take(), vec![(0, garp())], "the second announcement, 2 s later");
    slow.tick(4 * S, &mut io);
    assert_eq!(io.take(), vec![]);
    slow.tick(10 * S, &mut io);
    assert_eq!(io.take(), vec![(1, advert(30))], "every interval_s");
    assert_eq!((slow.counters().event(Event::ArpAnnouncements), slow.counters().event(Event::RouterAdverts)), (2, 2));
}

/// A solicitation is answered with an advertisement, no sooner than 3 s after the last
/// (RFC 4861 section 6.2.6); its source link-layer option teaches the host.
#[test]
fn router_solicitation_is_answered() {
    let (mut lab, mut slow, mut io) = router();
    slow.tick(0, &mut io);
    io.take();
    let body = [[1u8, 1].as_slice(), &HOST].concat();
    let rs = eth([0x33, 0x33, 0, 0, 0, 2], HOST, ET_IPV6, &icmp6_raw("2002:c633:6407:1::5", "ff02::2", 255, 133, 0, [0; 4], &body));
    assert_eq!(lab.run(1, &rs).0, Verdict::Punt);
    slow.handle(S, TestBuf::new(1, &rs), &mut io);
    slow.tick(S, &mut io);
    assert_eq!(io.take(), vec![]);
    slow.tick(2 * S, &mut io);
    assert_eq!(io.take(), vec![(0, garp())]);
    slow.tick(3 * S, &mut io);
    assert_eq!(io.take(), vec![(1, advert(30))]);
    let learned = TableUpdate::NeighbourSet { addr: "2002:c633:6407:1::5".parse().unwrap(), mac: crate::wire::EthernetAddress(HOST) };
    assert_eq!(io.updates, vec![learned]);

    // From the unspecified address no link-layer option is allowed (RFC 4861 6.1.1).
    let bad = eth([0x33, 0x33, 0, 0, 0, 2], HOST, ET_IPV6, &icmp6_raw("::", "ff02::2", 255, 133, 0, [0; 4], &body));
    slow.handle(4 * S, TestBuf::new(1, &bad), &mut io);
    assert_eq!(slow.counters().drops(DropReason::NdMalformed), 1);
    // A port that does not advertise ignores them.
    lab.expect_drop(0, &rs, DropReason::NdIgnored);
    slow.handle(4 * S, TestBuf::new(0, &rs), &mut io);
    assert_eq!(slow.counters().drops(DropReason::NdIgnored), 1);
}

/// The link-local address RAs come from is ours: solicitations for it are answered.
#[test]
fn advertising_port_answers_for_its_link_local_address() {
    let (mut lab, mut slow, mut io) = router();
    let solicit = ns("fe80::5", "ff02::1:ff00:a1", PORT1_LL, Some(HOST), 255);
    let frame = eth([0x33, 0x33, 0xff, 0, 0, 0xa1], HOST, ET_IPV6, &solicit);
    assert_eq!(lab.run(1, &frame).0, Verdict::Punt);
    slow.handle(0, TestBuf::new(1, &frame), &mut io);
    assert_eq!(io.take(), vec![(1, eth(HOST, PORT1, ET_IPV6, &na(PORT1_LL, "fe80::5", 0xe0, PORT1)))]);
    assert!(slow.neighbours_text(&io.tables, 0).starts_with("fe80::5 02:00:00:00:02:05 stale port 1"));
}

/// Offline runs send nothing unprompted; solicitations are still answered.
#[test]
fn nothing_unprompted_when_offline() {
    let (_, mut slow, mut io) = router();
    slow.set_spontaneous(false);
    slow.tick(0, &mut io);
    slow.tick(100 * S, &mut io);
    assert_eq!(io.take(), vec![]);
    let rs = eth([0x33, 0x33, 0, 0, 0, 2], HOST, ET_IPV6, &icmp6_raw("fe80::5", "ff02::2", 255, 133, 0, [0; 4], &[]));
    slow.handle(100 * S, TestBuf::new(1, &rs), &mut io);
    slow.tick(100 * S, &mut io);
    assert_eq!(io.take(), vec![(1, advert(30))]);
}

const PORTS: &str = r#"
[[interface]]
port = 0
ipv4 = "198.51.100.7/24"

[[interface]]
port = 1
ipv6 = ["2002:c633:6407:1::1/64", "2002:c633:6407:2::1/56"]
"#;

fn validate(ra: &str) -> Result<Vec<RouterAdvertSettings>, String> {
    let config = Config::from_toml(&format!("{PORTS}\n[[router_advert]]\n{ra}")).map_err(|e| e.to_string())?;
    config.validate(2).map(|s| s.router_adverts).map_err(|e| e.to_string())
}

#[test]
fn router_advert_config() {
    let ra = |prefix: &str, interval_s, router_lifetime_s| RouterAdvertSettings { port: 1, prefix: prefix.parse().unwrap(), interval_s, router_lifetime_s };
    assert_eq!(validate("port = 1"), Ok(vec![ra("2002:c633:6407:1::", 200, 600)]));
    assert_eq!(validate("port = 1\nprefix = \"2002:c633:6407:2::/64\"\ninterval_s = 1800"), Ok(vec![ra("2002:c633:6407:2::", 1800, 5400)]));
    assert_eq!(validate("port = 1\ninterval_s = 4\nrouter_lifetime_s = 0"), Ok(vec![ra("2002:c633:6407:1::", 4, 0)]));
    let errors = [
        ("port = 2", "pipeline.router_advert[0].port: port 2 has no [[pipeline.interface]]"),
        ("port = 0", "pipeline.router_advert[0].prefix: port 0 has no global IPv6 prefix of /64 or shorter to advertise"),
        ("port = 1\nprefix = \"2002:c633:6407::/48\"", "pipeline.router_advert[0].prefix: /48: address autoconfiguration needs a /64 (RFC 4862 5.5.3)"),
        ("port = 1\nprefix = \"2001:db8::/64\"", "pipeline.router_advert[0].prefix: 2001:db8::/64 is not on port 1: give the port an address in it"),
        ("port = 1\nprefix = \"fe80::/64\"", "pipeline.router_advert[0].prefix: fe80::/64 is not a global unicast prefix"),
        ("port = 1\ninterval_s = 3", "pipeline.router_advert[0].interval_s: 3: the interval must be 4..=1800 seconds"),
        ("port = 1\nrouter_lifetime_s = 9001", "pipeline.router_advert[0].router_lifetime_s: 9001: the router lifetime must be 0..=9000 seconds"),
        ("port = 1\n[[router_advert]]\nport = 1", "pipeline.router_advert[1].port: port 1 already has a router_advert"),
    ];
    for (text, want) in errors {
        assert_eq!(validate(text), Err(want.to_string()), "{text}");
    }
    assert!(validate("port = 1\nmtu = 1400").unwrap_err().contains("unknown field `mtu`"));
}
