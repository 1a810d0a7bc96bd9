//! Properties of the automatic mechanisms: 6rd's address arithmetic inverts for every
//! valid (6rdPrefixLen, IPv4MaskLen), and no packet to any mechanism makes the pipeline
//! panic or send anywhere but a port.
use std::net::{Ipv4Addr, Ipv6Addr};

use proptest::prelude::*;

use super::auto_config_tests::ALL;
use super::pkt::*;
use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any CE address with the domain's common bits: its delegated prefix, with any
    /// subnet and host bits after it, gives the CE address back.
    #[test]
    fn sixrd_delegated_prefix_inverts(p6len in 1u8..=64, mask in 0u8..=32, net in any::<u64>(), ce in any::<u32>(), host in any::<u128>()) {
        prop_assume!(u32::from(p6len) + 32 - u32::from(mask) <= 64);
        let prefix = Ipv6Prefix::new(Ipv6Addr::from(u128::from(net) << 64 & model::addr::mask6(p6len)), p6len).unwrap();
        let ipv4_prefix = model::addr::Ipv4Prefix::new(Ipv4Addr::from(ce & model::addr::mask4(mask)), mask).unwrap();
        let d = SixRdDomain::new(Ipv4Addr::new(198, 51, 100, 30), prefix, ipv4_prefix).unwrap();
        let delegated = d.delegated_prefix(Ipv4Addr::from(ce)).unwrap();
        prop_assert_eq!(delegated.len, p6len + 32 - mask);
        prop_assert!(prefix.covers(&delegated));
        let addr = u128::from(delegated.addr) | (host & !model::addr::mask6(delegated.len));
        prop_assert_eq!(d.ce_v4(addr), Some(ce));
    }

    /// Random inner packets (addresses drawn from every mechanism's prefixes) to every
    /// local address, and 6over4 multicast: counted verdicts, never a panic.
    #[test]
    fn packets_to_every_mechanism_never_panic(
        local in 0usize..6,
        src_pick in 0usize..8,
        dst_pick in 0usize..8,
        iid in any::<u64>(),
        src4 in any::<u32>(),
        tail in proptest::collection::vec(any::<u8>(), 0..64),
        mangle in any::<(u8, u8)>(),
    ) {
        const PREFIXES: [u128; 8] = [
            0x2002_cb00_7101 << 80,
            0,
            0x2001_0db8_005e_0000 << 64,
            0x2001_0db8_6400_3200 << 64,
            0x2001_0db8_0064_0000 << 64,
            0xfe80 << 112,
            0x2001_0db8_0020_0000 << 64,
            0xff02 << 112,
        ];
        let locals = ["198.51.100.9", "198.51.100.21", "198.51.100.22", "198.51.100.23", "198.51.100.20", "239.192.0.1"];
        let src = PREFIXES[src_pick] | u128::from(iid);
        let dst = PREFIXES[dst_pick] | u128::from(iid.rotate_left(17));
        let mut inner = udp6(&Ipv6Addr::from(src).to_string(), &Ipv6Addr::from(dst).to_string(), 64, 48 + tail.len());
        inner[48..].copy_from_slice(&tail);
        if let Some(b) = inner.get_mut(usize::from(mangle.0) % 48) {
            *b ^= mangle.1;
        }
        let outer = ipv4(V4::p41(&Ipv4Addr::from(src4).to_string(), locals[local]), &inner);
        let mut lab = Lab::new(ALL);
        for frame in [eth(PORT0, GW4, ET_IPV4, &outer), eth([0x01, 0, 0x5e, 0x40, 0, 1], GW4, ET_IPV4, &outer)] {
            let (v, _) = lab.run(0, &frame);
            prop_assert!(!matches!(v, Verdict::Tx(p) if p > 1));
        }
        let c = |n: &str| lab.count(n);
        prop_assert_eq!(c("rx"), c("tx") + c("dropped") + c("punted"));
        // And the same inner packet from the LAN, into whatever tunnel its route says.
        let (v, _) = lab.run(1, &eth(PORT1, HOST, ET_IPV6, &inner));
        prop_assert!(!matches!(v, Verdict::Tx(p) if p > 1));
    }
}
