//! Several automatic mechanisms on one box (RFC 3964 section 6.1): the classifier decides
//! by (local IPv4 address, prefix) — one mechanism per local address — and a packet that
//! fits none is dropped with its own reason. Each mechanism counts its own traffic.
use super::auto_config_tests::ALL;
use super::pkt::*;
use super::*;

const RELAY: &str = "198.51.100.9";
const COMPAT: &str = "198.51.100.21";
const ISATAP: &str = "198.51.100.22";
const SIXRD: &str = "198.51.100.23";
const SIXOVER4: &str = "198.51.100.20";

/// One packet fitting each mechanism: (mechanism's local address, outer source, inner
/// source), all to the LAN host.
const FITTING: [(&str, &str, &str); 5] = [
    (RELAY, "203.0.113.1", "2002:cb00:7101::5"),
    (COMPAT, "203.0.113.1", "::203.0.113.1"),
    (ISATAP, "198.51.100.7", "2001:db8:5e::200:5efe:c633:6407"),
    (SIXRD, "198.51.100.50", "2001:db8:6400:3200::1"),
    (SIXOVER4, "198.51.100.7", "2001:db8:64::c633:6407"),
];

fn p41(src4: &str, dst4: &str, inner_src: &str) -> (Vec<u8>, Vec<u8>) {
    let inner = udp6(inner_src, "2001:db8:20::5", 64, 100);
    (eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41(src4, dst4), &inner)), inner)
}

/// Every packet to every mechanism's address: taken out only by its own mechanism.
#[test]
fn one_mechanism_per_local_address() {
    let mut lab = Lab::new(ALL);
    for (i, &(_, src4, inner_src)) in FITTING.iter().enumerate() {
        for (j, &(local, _, _)) in FITTING.iter().enumerate() {
            let (frame, inner) = p41(src4, local, inner_src);
            let want = if i == j {
                Verdict::Tx(1)
            } else if inner_src.starts_with("::") {
                // The ::/96 source filter is lifted by the IPv4-compatible tunnel only.
                Verdict::Drop(DropReason::DecapInnerSrcInvalid)
            } else if local == RELAY {
                // 6to4's own "fits none": neither inner address is 6to4.
                Verdict::Drop(DropReason::DecapNativeToNative)
            } else {
                Verdict::Drop(DropReason::DecapNoMechanism)
            };
            let (v, out) = lab.run(0, &frame);
            assert_eq!(v, want, "{inner_src} from {src4} to {local}");
            if i == j {
                assert_eq!(out, eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1)));
            }
        }
    }
    // The configured tunnel on the 6over4 address is matched by both ends first.
    let (frame, inner) = p41("203.0.113.50", SIXOVER4, "2001:db8:50::1");
    assert_eq!(lab.run(0, &frame), (Verdict::Tx(1), eth(HOST, PORT1, ET_IPV6, &hop_minus(&inner, 1))));
    // A configured tunnel on a mechanism's address takes its remote only; the rest is the
    // mechanism's.
    parse_update("tunnel set 1 local 198.51.100.21 remote 203.0.113.60").unwrap().apply(&mut lab.tables).unwrap();
    let (frame, _) = p41("203.0.113.60", COMPAT, "2001:db8:60::1");
    assert_eq!(lab.run(0, &frame).0, Verdict::Tx(1));
    let (frame, _) = p41("203.0.113.61", COMPAT, "::203.0.113.60");
    assert_eq!(lab.run(0, &frame).0, Verdict::Drop(DropReason::DecapV4CompatSrcMismatch));
    assert_eq!(
        lab.nonzero(),
        vec![
            ("rx", 28),
            ("tx", 7),
            ("dropped", 21),
            ("forwarded", 7),
            ("decapsulated", 7),
            ("decap_6to4", 1),
            ("decap_configured", 2),
            ("decap_ipv4_compatible", 1),
            ("decap_isatap", 1),
            ("decap_6rd", 1),
            ("decap_6over4", 1),
            ("drop_decap_inner_src_invalid", 4),
            ("drop_decap_native_to_native", 3),
            ("drop_decap_no_mechanism", 13),
            ("drop_decap_ipv4_compatible_src_mismatch", 1),
        ]
    );
}

/// One LAN packet into each mechanism: each leaves from its own address, counted by kind.
#[test]
fn each_mechanism_encapsulates_from_its_own_address() {
    let mut lab = Lab::new(ALL);
    for (dst, src4, dst4) in [
        ("2002:cb00:7101::5", RELAY, "203.0.113.1"),
        ("::203.0.113.1", COMPAT, "203.0.113.1"),
        ("2001:db8:5e::200:5efe:c633:6407", ISATAP, "198.51.100.7"),
        ("2001:db8:6400:3200::1", SIXRD, "198.51.100.50"),
        ("2001:db8:64::c633:6407", SIXOVER4, "198.51.100.7"),
        ("2001:db8:50::1", SIXOVER4, "203.0.113.50"),
    ] {
        let inner = udp6("2001:db8:20::5", dst, 64, 100);
        let (v, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        assert_eq!(v, Verdict::Tx(0), "{dst}");
        let (h, payload) = parse_ipv4(&out[14..]);
        assert_eq!((h.source, h.destination), (a4(src4), a4(dst4)), "{dst}");
        assert_eq!(payload, hop_minus(&inner, 1));
    }
    assert_eq!(
        lab.nonzero(),
        vec![
            ("rx", 6),
            ("tx", 6),
            ("encapsulated", 6),
            ("encap_6to4", 1),
            ("encap_configured", 1),
            ("encap_ipv4_compatible", 1),
            ("encap_isatap", 1),
            ("encap_6rd", 1),
            ("encap_6over4", 1),
        ]
    );
}

/// The configured tunnel's own TTL and DSCP, on the box with everything else.
#[test]
fn configured_tunnel_settings_apply_only_to_it() {
    let mut lab = Lab::new(ALL);
    let inner = with_tclass(udp6("2001:db8:20::5", "2001:db8:50::1", 64, 100), 0x01);
    let (_, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    let expect = ipv4(V4 { ttl: 32, tos: (46 << 2) | 1, ..V4::p41(SIXOVER4, "203.0.113.50") }, &hop_minus(&inner, 1));
    assert_eq!(out[14..], expect[..]);
    let inner = with_tclass(udp6("2001:db8:20::5", "2001:db8:6400:3200::1", 64, 100), 0x01);
    let (_, out) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
    let expect = ipv4(V4 { id: 2, tos: 0x01, ..V4::p41(SIXRD, "198.51.100.50") }, &hop_minus(&inner, 1));
    assert_eq!(out[14..], expect[..]);
}
