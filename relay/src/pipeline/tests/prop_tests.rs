//! Properties: encapsulation by one router and decapsulation by another is lossless
//! (hop limit −2), and no input makes the pipeline panic.
use proptest::prelude::*;

use super::pkt::*;
use super::*;

/// W with the rest of its site behind a LAN router, so any site destination resolves.
fn router_w_with_site() -> Lab {
    let cfg = format!(
        "{ROUTER_W}\n[[route]]\nadd = \"2002:cb00:7101::/48 via fe80::5 port 1\"\n[[neighbour]]\nip = \"fe80::5\"\nmac = \"02:00:00:00:02:05\"\n"
    );
    Lab::new(&cfg)
}

fn arbitrary_ipv6() -> impl Strategy<Value = Vec<u8>> {
    (1u16..=0xffff, any::<u64>(), any::<u16>(), any::<u64>(), 3u8..=255, any::<u8>(), any::<u32>(), 0usize..1432).prop_map(
        |(dst_subnet, dst_iid, src_subnet, src_iid, hop, tclass, flow, len)| {
            let src = (0x2002_c633_6407u128 << 80) | (u128::from(src_subnet) << 64) | u128::from(src_iid | 0x100);
            let dst = (0x2002_cb00_7101u128 << 80) | (u128::from(dst_subnet) << 64) | u128::from(dst_iid | 0x100);
            let mut p = vec![0u8; 40 + len];
            p[0] = 0x60 | (tclass >> 4);
            p[1] = (tclass << 4) | ((flow >> 16) & 0x0f) as u8;
            p[2] = (flow >> 8) as u8;
            p[3] = flow as u8;
            p[4..6].copy_from_slice(&(len as u16).to_be_bytes());
            p[6] = 59; // no next header: the payload is opaque
            p[7] = hop;
            p[8..24].copy_from_slice(&src.to_be_bytes());
            p[24..40].copy_from_slice(&dst.to_be_bytes());
            for (i, b) in p[40..].iter_mut().enumerate() {
                *b = (i as u8).wrapping_mul(31);
            }
            p
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Router R encapsulates, router W decapsulates: the original packet comes out with
    /// hop limit −2 (an inner CE mark survives; anything else is unchanged). Hop limits
    /// start at 3: each router takes one, and W answers 2 with Time Exceeded.
    #[test]
    fn encap_then_decap_is_lossless(inner in arbitrary_ipv6()) {
        let mut r = Lab::router_r();
        let mut w = router_w_with_site();
        let (v, out) = r.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        prop_assert_eq!(v, Verdict::Tx(0));
        // The IPv4 path delivers the outer packet to W's port.
        let mut frame = out.clone();
        frame[..6].copy_from_slice(&PORT0);
        frame[6..12].copy_from_slice(&GW4);
        let (v, out) = w.run(0, &frame);
        prop_assert_eq!(v, Verdict::Tx(1));
        prop_assert_eq!(&out[..14], &eth(HOST, PORT1, ET_IPV6, &[])[..]);
        prop_assert_eq!(&out[14..], &hop_minus(&inner, 2)[..]);
    }

    #[test]
    fn random_frames_never_panic(port in 0u16..3, frame in proptest::collection::vec(any::<u8>(), 0..200)) {
        for mut lab in [Lab::router_r(), Lab::router_w(), Lab::relay(true), Lab::new(tunnel_cfg())] {
            let (v, _) = lab.run(port, &frame);
            prop_assert!(!matches!(v, Verdict::Tx(p) if p > 1));
            let (v, _) = lab.local(port, &frame);
            prop_assert!(!matches!(v, Verdict::Tx(p) if p > 1));
        }
    }

    /// Random bytes behind valid headers reach the deeper parsers.
    #[test]
    fn random_payloads_behind_valid_headers_never_panic(
        kind in 0u8..6,
        tail in proptest::collection::vec(any::<u8>(), 0..120),
        hop in any::<u8>(),
    ) {
        let mut lab = Lab::relay(true);
        let (port, frame) = match kind {
            0 => (0, eth(PORT0, GW4, ET_IPV4, &ipv4(V4::p41("198.51.100.7", "198.51.100.9"), &tail))),
            1 => (0, eth(PORT0, GW4, ET_IPV4, &ipv4(V4 { proto: 1, ..V4::p41("198.51.100.7", "198.51.100.9") }, &tail))),
            2 => (0, eth(PORT0, GW4, ET_IPV4, &icmp4("192.0.2.1", "198.51.100.9", 3, 4, [0, 0, 5, 0], &tail))),
            3 => (1, eth(PORT1, GW6, ET_IPV6, &icmp6_raw("2001:db8::1", "2001:db8:ff::9", hop, 135, 0, [0; 4], &tail))),
            4 => (1, eth(PORT1, GW6, ET_IPV6, &icmp6_raw("2001:db8::1", "2002:cb00:7101::5", hop, 128, 0, [0; 4], &tail))),
            _ => (0, eth([0xff; 6], GW4, ET_ARP, &tail)),
        };
        let (v, _) = lab.run(port, &frame);
        prop_assert!(!matches!(v, Verdict::Tx(p) if p > 1));
        let (v, _) = lab.local(port, &frame);
        prop_assert!(!matches!(v, Verdict::Tx(p) if p > 1));
    }
}

fn tunnel_cfg() -> &'static str {
    "[[interface]]\nport = 0\nipv4 = \"198.51.100.20/24\"\ngateway = \"198.51.100.1\"\n[[interface]]\nport = 1\nipv6 = [\"2001:db8:20::1/64\"]\n[[tunnel]]\nid = 0\nlocal = \"198.51.100.20\"\nremote = \"203.0.113.50\"\n[[route]]\nadd = \"::/0 tunnel 0\"\n[[neighbour]]\nip = \"198.51.100.1\"\nmac = \"02:00:00:00:01:01\"\n"
}
