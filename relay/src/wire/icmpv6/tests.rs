use super::*;
use crate::wire::testdata::{ICMPV6, IPV6, SIX_TO_FOUR, V6_DST, V6_SRC};
use crate::wire::Ipv6Packet;
use etherparse::{IcmpEchoHeader, Icmpv6Header, Icmpv6Slice, Icmpv6Type, PacketBuilder};
use proptest::prelude::*;

/// 2002:cb00:7101::1 (a relay) tells 2002:c633:6407::1 that 1280 is the MTU, quoting the
/// sample's inner packet; checksum 0xb83f.
const RELAY: [u8; 16] = [
    0x20, 0x02, 0xcb, 0x00, 0x71, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
];

fn packet_too_big() -> Vec<u8> {
    let mut m = vec![0x02, 0x00, 0xb8, 0x3f, 0x00, 0x00, 0x05, 0x00];
    m.extend_from_slice(&SIX_TO_FOUR[IPV6]);
    m
}

fn echo() -> &'static [u8] {
    &SIX_TO_FOUR[ICMPV6]
}

#[test]
fn parse_echo_request() {
    let p = Packet::new_checked(echo()).unwrap();
    assert_eq!((p.msg_type(), p.code()), (ECHO_REQUEST, 0));
    assert_eq!(p.checksum(), 0xe86b);
    assert!(p.verify_checksum(&V6_SRC, &V6_DST));
    assert!(!p.verify_checksum(&V6_SRC, &RELAY));
    assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1234, 1));
    assert_eq!(p.payload(), b"ping");
    assert!(!p.is_error());
    assert_eq!(
        (p.mtu(), p.pointer(), p.quoted_packet()),
        (None, None, None)
    );
    assert_eq!(p.target_addr(), None);
    assert_eq!(p.nd_options().count(), 0);
}

#[test]
fn construct_echo_request_bit_exact() {
    let mut buf = [0u8; 12];
    buf[8..].copy_from_slice(b"ping");
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_msg_type(ECHO_REQUEST);
    p.set_code(0);
    p.set_echo_ident(0x1234);
    p.set_echo_seq_no(1);
    p.fill_checksum(&V6_SRC, &V6_DST);
    assert_eq!(buf, echo());
}

#[test]
fn echo_reply_in_place() {
    let mut buf = echo().to_vec();
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.make_echo_reply();
    assert_eq!((p.msg_type(), p.checksum()), (ECHO_REPLY, 0xe76b));
    assert!(p.verify_checksum(&V6_DST, &V6_SRC));
    let incremental = p.checksum();
    p.fill_checksum(&V6_DST, &V6_SRC);
    assert_eq!(p.checksum(), incremental);
}

#[test]
fn parse_packet_too_big() {
    let m = packet_too_big();
    let p = Packet::new_checked(&m[..]).unwrap();
    assert_eq!((p.msg_type(), p.code()), (PACKET_TOO_BIG, 0));
    assert!(p.verify_checksum(&RELAY, &V6_SRC));
    assert!(p.is_error());
    assert_eq!(p.mtu(), Some(1280));
    assert_eq!(p.pointer(), None);
    let quoted = p.quoted_packet().unwrap();
    assert_eq!(quoted, &SIX_TO_FOUR[IPV6]);
    let inner = Ipv6Packet::new_checked(quoted).unwrap();
    assert_eq!(inner.dst_bytes(), V6_DST);
}

#[test]
fn construct_packet_too_big_bit_exact() {
    let mut buf = vec![0xffu8; 60];
    buf[8..].copy_from_slice(&SIX_TO_FOUR[IPV6]);
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_msg_type(PACKET_TOO_BIG);
    p.set_code(0);
    p.set_mtu(1280);
    p.fill_checksum(&RELAY, &V6_SRC);
    assert_eq!(buf, packet_too_big());
}

#[test]
fn error_types_and_setters() {
    let mut m = packet_too_big();
    let mut p = Packet::new_checked(&mut m[..]).unwrap();
    p.set_msg_type(PARAM_PROBLEM);
    p.set_code(PARAM_UNRECOGNIZED_NEXT_HEADER);
    p.set_pointer(6);
    assert_eq!((p.mtu(), p.pointer(), p.code()), (None, Some(6), 1));
    p.set_msg_type(TIME_EXCEEDED);
    p.set_code(TIME_EXCEEDED_HOP_LIMIT);
    assert_eq!(
        (p.pointer(), p.quoted_packet()),
        (None, Some(&SIX_TO_FOUR[IPV6]))
    );
    p.set_msg_type(DEST_UNREACHABLE);
    p.set_code(UNREACH_ADDR);
    p.set_checksum(0x0102);
    p.set_echo_ident(0x0304);
    p.set_echo_seq_no(0x0506);
    p.payload_mut()[0] = 0x61;
    assert!(p.is_error());
    assert_eq!(p.checksum(), 0x0102);
    assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x0304, 0x0506));
    assert_eq!(m[..9], [1, 3, 1, 2, 3, 4, 5, 6, 0x61]);
}

#[test]
fn short_buffers() {
    for len in 0..HEADER_LEN {
        assert_eq!(
            Packet::new_checked(&echo()[..len]).unwrap_err(),
            Error::Truncated
        );
    }
    assert!(Packet::new_checked(&echo()[..8])
        .unwrap()
        .payload()
        .is_empty());
    let mut p = Packet::new_unchecked([ECHO_REQUEST, 0]);
    assert!(p.payload().is_empty() && p.payload_mut().is_empty());
    // ND messages shorter than their fixed part.
    for (kind, fixed) in [(133, 8), (134, 16), (135, 24), (136, 24), (137, 40)] {
        let mut m = vec![0u8; fixed];
        m[0] = kind;
        assert!(Packet::new_checked(&m[..]).is_ok(), "type {kind}");
        assert_eq!(
            Packet::new_checked(&m[..fixed - 1]).unwrap_err(),
            Error::Truncated
        );
    }
}

#[test]
fn etherparse_builds_we_read() {
    let builder = PacketBuilder::ipv6(V6_DST, V6_SRC, 64).icmpv6_echo_reply(0xabcd, 0x0102);
    let mut bytes = Vec::new();
    builder.write(&mut bytes, b"data").unwrap();
    let ip = Ipv6Packet::new_checked(&bytes[..]).unwrap();
    let p = Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        (p.msg_type(), p.echo_ident(), p.echo_seq_no()),
        (ECHO_REPLY, 0xabcd, 0x0102)
    );
    assert!(p.verify_checksum(&ip.src_bytes(), &ip.dst_bytes()));

    let quote = &SIX_TO_FOUR[IPV6];
    let kind = Icmpv6Type::PacketTooBig { mtu: 1480 };
    let header = Icmpv6Header::with_checksum(kind, RELAY, V6_SRC, quote).unwrap();
    let mut bytes = header.to_bytes().to_vec();
    bytes.extend_from_slice(quote);
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert!(p.verify_checksum(&RELAY, &V6_SRC));
    assert_eq!(p.mtu(), Some(1480));
    assert_eq!(p.quoted_packet(), Some(quote));
}

#[test]
fn we_build_etherparse_reads() {
    let m = packet_too_big();
    let theirs = Icmpv6Slice::from_slice(&m).unwrap();
    assert_eq!(theirs.icmp_type(), Icmpv6Type::PacketTooBig { mtu: 1280 });
    assert!(theirs.is_checksum_valid(RELAY, V6_SRC));

    let mut buf = echo().to_vec();
    Packet::new_checked(&mut buf[..]).unwrap().make_echo_reply();
    let theirs = Icmpv6Slice::from_slice(&buf).unwrap();
    let reply = Icmpv6Type::EchoReply(IcmpEchoHeader { id: 0x1234, seq: 1 });
    assert_eq!(theirs.icmp_type(), reply);
    assert!(theirs.is_checksum_valid(V6_DST, V6_SRC));
}

proptest! {
    #[test]
    fn accessors_never_panic(
        mut data in proptest::collection::vec(any::<u8>(), 0..72),
        kind in prop::sample::select(vec![1u8, 2, 3, 4, 128, 129, 133, 134, 135, 136, 137, 200]),
    ) {
        if let Some(first) = data.first_mut() {
            *first = kind;
        }
        if let Ok(mut p) = Packet::new_checked(&mut data[..]) {
            let _ = (p.msg_type(), p.code(), p.checksum(), p.echo_ident(), p.echo_seq_no());
            let _ = (p.mtu(), p.pointer(), p.is_error(), p.quoted_packet());
            let _ = (p.target_addr(), p.redirect_dst_addr(), p.na_flags(), p.router_advert());
            let _ = p.link_layer_option(OPT_SOURCE_LL_ADDR);
            prop_assert!(p.nd_options().count() <= 72 / 8 + 1);
            let is_target_type = matches!(kind, 135..=137);
            prop_assert_eq!(p.target_addr().is_some(), is_target_type);
            prop_assert_eq!(p.router_advert().is_some(), kind == ROUTER_ADVERT);
            p.fill_checksum(&V6_SRC, &V6_DST);
            prop_assert!(p.verify_checksum(&V6_SRC, &V6_DST));
            let plen = p.payload().len();
            prop_assert_eq!(p.payload_mut().len(), plen);
        }
    }
}
