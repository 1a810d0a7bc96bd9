use super::*;
use crate::wire::testdata::{ICMPV6, IPV6, SIX_TO_FOUR, V6_DST, V6_SRC};
use etherparse::{Ipv6FlowLabel, Ipv6Header, Ipv6Slice, PacketBuilder};
use proptest::prelude::*;

const HBH: u8 = ip_proto::HOP_BY_HOP;
const RT: u8 = ip_proto::IPV6_ROUTING;
const DST: u8 = ip_proto::IPV6_DEST_OPTS;
const FRAG: u8 = ip_proto::IPV6_FRAGMENT;

fn inner() -> &'static [u8] {
    &SIX_TO_FOUR[IPV6]
}

/// An extension header of `(units + 1) * 8` bytes filled with Pad1 options.
fn ext(next: u8, units: u8) -> Vec<u8> {
    let mut h = vec![0u8; (usize::from(units) + 1) * 8];
    h[0] = next;
    h[1] = units;
    h
}

/// A packet from the 6to4 sample's addresses with `next` and `payload`.
fn packet(next: u8, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; HEADER_LEN + payload.len()];
    buf[HEADER_LEN..].copy_from_slice(payload);
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_version(6);
    p.set_payload_len(payload.len() as u16);
    p.set_next_header(next);
    p.set_hop_limit(64);
    p.set_src_addr(Ipv6Addr::from(V6_SRC));
    p.set_dst_addr(Ipv6Addr::from(V6_DST));
    buf
}

#[test]
fn parse_6to4_inner_header() {
    let p = Packet::new_checked(inner()).unwrap();
    assert_eq!(p.version(), 6);
    assert_eq!(
        (p.traffic_class(), p.dscp(), p.ecn(), p.flow_label()),
        (0, 0, 0, 0)
    );
    assert_eq!(p.payload_len(), 12);
    assert_eq!(p.total_len(), 52);
    assert_eq!(p.next_header(), ip_proto::ICMPV6);
    assert_eq!(p.hop_limit(), 64);
    assert_eq!(
        p.src_addr(),
        "2002:c633:6407::1".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!(
        p.dst_addr(),
        "2002:cb00:7101::5".parse::<Ipv6Addr>().unwrap()
    );
    assert_eq!((p.src_bytes(), p.dst_bytes()), (V6_SRC, V6_DST));
    assert_eq!(p.payload(), &SIX_TO_FOUR[ICMPV6]);
    assert_eq!(p.upper_layer(), Ok((ip_proto::ICMPV6, 40)));
}

#[test]
fn construct_6to4_inner_header_bit_exact() {
    assert_eq!(packet(ip_proto::ICMPV6, &SIX_TO_FOUR[ICMPV6]), inner());
}

#[test]
fn setters_round_trip() {
    let mut buf = inner().to_vec();
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.set_flow_label(0xfffff);
    p.set_traffic_class(0xb9);
    assert_eq!(
        (p.traffic_class(), p.dscp(), p.ecn(), p.flow_label()),
        (0xb9, 46, 1, 0xfffff)
    );
    p.set_dscp(10);
    assert_eq!((p.dscp(), p.ecn()), (10, 1));
    p.set_ecn(3);
    assert_eq!((p.dscp(), p.ecn(), p.version()), (10, 3, 6));
    p.set_flow_label(0x1_2345);
    assert_eq!((p.flow_label(), p.traffic_class()), (0x1_2345, 0x2b));
    p.set_payload_len(4);
    assert_eq!(p.payload(), &[0x80, 0x00, 0xe8, 0x6b]);
    p.payload_mut()[0] = 0x81;
    p.set_next_header(ip_proto::UDP);
    p.set_hop_limit(255);
    p.set_src_addr(Ipv6Addr::LOCALHOST);
    p.set_dst_addr(Ipv6Addr::UNSPECIFIED);
    assert_eq!((p.next_header(), p.hop_limit()), (17, 255));
    assert_eq!(p.src_addr(), Ipv6Addr::LOCALHOST);
    assert_eq!(p.dst_bytes(), [0; 16]);
    p.set_version(4);
    assert_eq!(p.version(), 4);
    assert_eq!(buf[..8], [0x42, 0xb1, 0x23, 0x45, 0x00, 0x04, 17, 255]);
    assert_eq!(buf[40], 0x81);
}

#[test]
fn length_and_version_errors() {
    for len in 0..52 {
        assert_eq!(
            Packet::new_checked(&inner()[..len]).unwrap_err(),
            Error::Truncated,
            "{len}"
        );
    }
    let mut v4 = inner().to_vec();
    v4[0] = 0x40;
    assert_eq!(Packet::new_checked(&v4[..]).unwrap_err(), Error::Malformed);
    // Payload length 0 with Hop-by-Hop: a jumbogram.
    let mut jumbo = packet(HBH, &ext(ip_proto::UDP, 0));
    jumbo[4..6].copy_from_slice(&[0, 0]);
    assert_eq!(
        Packet::new_checked(&jumbo[..]).unwrap_err(),
        Error::Malformed
    );
    // Trailing bytes are allowed and excluded from the payload.
    let mut padded = inner().to_vec();
    padded.extend_from_slice(&[0xee; 6]);
    assert_eq!(
        Packet::new_checked(&padded[..]).unwrap().payload(),
        &SIX_TO_FOUR[ICMPV6]
    );
}

#[test]
fn quoted_packets_may_be_cut_short() {
    let p = Packet::new_quoted(&inner()[..44]).unwrap();
    assert_eq!(
        (p.payload_len(), p.src_bytes(), p.dst_bytes()),
        (12, V6_SRC, V6_DST)
    );
    assert_eq!(p.payload(), &SIX_TO_FOUR[60..64]);
    assert_eq!(p.upper_layer(), Ok((ip_proto::ICMPV6, 40)));
    assert_eq!(
        Packet::new_quoted(&inner()[..39]).unwrap_err(),
        Error::Truncated
    );
    let mut v4 = inner().to_vec();
    v4[0] = 0x45;
    assert_eq!(Packet::new_quoted(&v4[..44]).unwrap_err(), Error::Malformed);
    // A Destination Options header cut by the quote.
    let mut chain = ext(ip_proto::UDP, 1);
    chain.extend_from_slice(&[0; 8]);
    let buf = packet(DST, &chain);
    assert_eq!(
        Packet::new_quoted(&buf[..50]).unwrap().upper_layer(),
        Err(Error::Truncated)
    );
    assert_eq!(
        Packet::new_quoted(&buf[..56]).unwrap().upper_layer(),
        Ok((ip_proto::UDP, 56))
    );
}

#[test]
fn unchecked_payload_is_clamped() {
    let p = Packet::new_unchecked(&inner()[..45]);
    assert_eq!(p.payload(), &SIX_TO_FOUR[60..65]);
    assert_eq!(p.upper_layer(), Ok((ip_proto::ICMPV6, 40)));
}

#[test]
fn upper_layer_skips_extension_headers() {
    let mut chain = ext(DST, 0);
    chain.extend(ext(RT, 1));
    chain.extend(ext(ip_proto::TCP, 0));
    chain.extend_from_slice(&[0xaa; 20]);
    let buf = packet(HBH, &chain);
    let p = Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(p.upper_layer(), Ok((ip_proto::TCP, 40 + 8 + 16 + 8)));
}

#[test]
fn upper_layer_stops_at_fragment() {
    let mut chain = ext(FRAG, 0);
    // Fragment: next UDP, offset 1448 bytes, M set, ident 0xdeadbeef.
    chain.extend_from_slice(&[17, 0, 0x05, 0xa9, 0xde, 0xad, 0xbe, 0xef]);
    chain.extend_from_slice(&[0; 8]);
    let buf = packet(HBH, &chain);
    let p = Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(p.upper_layer(), Ok((FRAG, 48)));
    let frag = Fragment {
        next_header: 17,
        offset: 1448,
        more_frags: true,
        ident: 0xdead_beef,
    };
    assert_eq!(p.fragment_at(48), Ok(frag));
    // The Fragment header must lie within the payload.
    assert_eq!(p.fragment_at(57), Err(Error::Truncated));
    assert_eq!(p.fragment_at(usize::MAX), Err(Error::Truncated));
}

#[test]
fn upper_layer_may_end_at_the_payload_end() {
    let buf = packet(DST, &ext(ip_proto::IPV6_NO_NEXT, 0));
    let p = Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(p.upper_layer(), Ok((ip_proto::IPV6_NO_NEXT, 48)));
}

#[test]
fn upper_layer_errors() {
    // Hop-by-Hop after another header.
    let mut chain = ext(HBH, 0);
    chain.extend(ext(ip_proto::UDP, 0));
    let buf = packet(DST, &chain);
    assert_eq!(
        Packet::new_checked(&buf[..]).unwrap().upper_layer(),
        Err(Error::Malformed)
    );

    // Extension header longer than the payload (trailing buffer bytes do not count).
    let mut buf = packet(RT, &ext(ip_proto::UDP, 1)[..8]);
    buf.extend_from_slice(&[0; 8]);
    assert_eq!(
        Packet::new_checked(&buf[..]).unwrap().upper_layer(),
        Err(Error::Truncated)
    );

    // Only one byte of an extension header.
    let buf = packet(DST, &[ip_proto::UDP]);
    assert_eq!(
        Packet::new_checked(&buf[..]).unwrap().upper_layer(),
        Err(Error::Truncated)
    );

    // Eight skippable headers are fine, nine are not.
    let chain = |n: usize| {
        let mut c = Vec::new();
        for i in 0..n {
            c.extend(ext(if i + 1 == n { ip_proto::UDP } else { DST }, 0));
        }
        c
    };
    let buf = packet(DST, &chain(MAX_EXT_HEADERS));
    let p = Packet::new_checked(&buf[..]).unwrap();
    assert_eq!(
        p.upper_layer(),
        Ok((ip_proto::UDP, 40 + 8 * MAX_EXT_HEADERS))
    );
    let buf = packet(DST, &chain(MAX_EXT_HEADERS + 1));
    assert_eq!(
        Packet::new_checked(&buf[..]).unwrap().upper_layer(),
        Err(Error::Malformed)
    );
}

#[test]
fn etherparse_builds_we_read() {
    let builder = PacketBuilder::ipv6(V6_SRC, V6_DST, 7).icmpv6_echo_request(0x1234, 1);
    let mut bytes = Vec::new();
    builder.write(&mut bytes, b"ping").unwrap();
    // etherparse leaves traffic class and flow label zero, as the sample does.
    assert_eq!(bytes[..7], inner()[..7]);
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.hop_limit(), 7);
    assert_eq!(p.payload(), &SIX_TO_FOUR[ICMPV6]);

    let h = Ipv6Header {
        traffic_class: 0xb9,
        flow_label: Ipv6FlowLabel::try_new(0xabcde).unwrap(),
        payload_length: 0,
        next_header: etherparse::IpNumber(59),
        hop_limit: 1,
        source: V6_SRC,
        destination: V6_DST,
    };
    let p = Packet::new_checked(h.to_bytes()).unwrap();
    assert_eq!(
        (p.traffic_class(), p.flow_label(), p.payload_len()),
        (0xb9, 0xabcde, 0)
    );
    assert_eq!((p.next_header(), p.hop_limit()), (59, 1));
    assert_eq!((p.src_bytes(), p.dst_bytes()), (V6_SRC, V6_DST));
}

#[test]
fn we_build_etherparse_reads() {
    let mut buf = packet(ip_proto::UDP, &[0; 8]);
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.set_traffic_class(0x2e);
    p.set_flow_label(0xfedcb);
    let theirs = Ipv6Slice::from_slice(&buf).unwrap().header().to_header();
    assert_eq!(theirs.traffic_class, 0x2e);
    assert_eq!(theirs.flow_label.value(), 0xfedcb);
    assert_eq!(theirs.payload_length, 8);
    assert_eq!(theirs.next_header.0, 17);
    assert_eq!(theirs.hop_limit, 64);
    assert_eq!((theirs.source, theirs.destination), (V6_SRC, V6_DST));
}

/// An RFC 8200-ordered chain: optional Hop-by-Hop, Destination, Routing, Destination.
fn any_chain() -> impl Strategy<Value = (Vec<(u8, u8)>, u8)> {
    let present = proptest::collection::vec(any::<bool>(), 4);
    let units = proptest::collection::vec(0u8..4, 4);
    let upper = prop::sample::select(vec![6u8, 17, 58, 59]);
    (present, units, upper).prop_map(|(present, units, upper)| {
        let kinds = [HBH, DST, RT, DST];
        let chain = (0..4)
            .filter(|&i| present[i])
            .map(|i| (kinds[i], units[i]))
            .collect();
        (chain, upper)
    })
}

proptest! {
    #[test]
    fn upper_layer_agrees_with_etherparse((chain, upper) in any_chain()) {
        let first = chain.first().map_or(upper, |&(kind, _)| kind);
        let mut payload = Vec::new();
        for (i, &(_, units)) in chain.iter().enumerate() {
            let next = chain.get(i + 1).map_or(upper, |&(kind, _)| kind);
            payload.extend(ext(next, units));
        }
        payload.extend_from_slice(&[0; 20]);
        let buf = packet(first, &payload);
        let theirs = Ipv6Slice::from_slice(&buf).unwrap();
        let ours = Packet::new_checked(&buf[..]).unwrap().upper_layer().unwrap();
        prop_assert_eq!(ours.0, theirs.payload().ip_number.0);
        prop_assert_eq!(ours.1, HEADER_LEN + theirs.extensions().slice().len());
    }

    #[test]
    fn accessors_never_panic(
        mut data in proptest::collection::vec(any::<u8>(), 0..120),
        payload_len in 0u16..100,
        next in prop::sample::select(vec![0u8, 43, 44, 60, 17]),
        fix: bool,
    ) {
        if fix && data.len() >= HEADER_LEN {
            data[0] = 0x60 | (data[0] & 0x0f);
            data[4..6].copy_from_slice(&payload_len.to_be_bytes());
            data[6] = next;
        }
        if let Ok(mut p) = Packet::new_checked(&mut data[..]) {
            let _ = (p.version(), p.traffic_class(), p.dscp(), p.ecn(), p.flow_label());
            let _ = (p.next_header(), p.hop_limit(), p.src_addr(), p.dst_addr());
            let _ = (p.src_bytes(), p.dst_bytes());
            prop_assert_eq!(p.payload().len(), usize::from(p.payload_len()));
            if let Ok((proto, at)) = p.upper_layer() {
                prop_assert!(at <= p.total_len());
                if proto == FRAG {
                    let _ = p.fragment_at(at);
                }
            }
            let want = usize::from(p.payload_len());
            prop_assert_eq!(p.payload_mut().len(), want);
        }
    }

    #[test]
    fn quoted_accessors_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..90),
        next in prop::sample::select(vec![0u8, 43, 44, 60, 17]),
    ) {
        let mut data = data;
        if data.len() >= HEADER_LEN {
            data[0] = 0x60;
            data[6] = next;
        }
        if let Ok(p) = Packet::new_quoted(&data[..]) {
            let _ = (p.traffic_class(), p.flow_label(), p.hop_limit(), p.src_addr(), p.dst_addr());
            prop_assert!(p.payload().len() <= usize::from(p.payload_len()));
            if let Ok((proto, at)) = p.upper_layer() {
                prop_assert!(at <= data.len());
                if proto == FRAG {
                    let _ = p.fragment_at(at);
                }
            }
        }
    }
}
