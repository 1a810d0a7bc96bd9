use super::*;
use crate::wire::testdata::SIX_TO_FOUR;
use crate::wire::{ip_proto, Ipv4Packet};
use etherparse::icmpv4::DestUnreachableHeader;
use etherparse::{IcmpEchoHeader, Icmpv4Header, Icmpv4Slice, Icmpv4Type, PacketBuilder};
use proptest::prelude::*;

// Echo request, ident 0x1c46, seq 1, data "abcd"; checksum 0x16f2.
const ECHO: [u8; 12] = [
    0x08, 0x00, 0x16, 0xf2, 0x1c, 0x46, 0x00, 0x01, b'a', b'b', b'c', b'd',
];

/// "Fragmentation needed", next-hop MTU 1280, quoting the first 28 bytes of our 6to4
/// packet; checksum 0x5daf.
fn frag_needed() -> [u8; 36] {
    let mut m = [0u8; 36];
    m[..8].copy_from_slice(&[0x03, 0x04, 0x5d, 0xaf, 0x00, 0x00, 0x05, 0x00]);
    m[8..].copy_from_slice(&SIX_TO_FOUR[..28]);
    m
}

#[test]
fn parse_echo_request() {
    let p = Packet::new_checked(&ECHO[..]).unwrap();
    assert_eq!((p.msg_type(), p.code()), (ECHO_REQUEST, 0));
    assert_eq!(p.checksum(), 0x16f2);
    assert!(p.verify_checksum());
    assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x1c46, 1));
    assert_eq!(p.payload(), b"abcd");
    assert!(!p.is_error());
    assert_eq!(p.quoted_packet(), None);
    assert_eq!(p.next_hop_mtu(), None);
    assert_eq!(p.pointer(), None);
}

#[test]
fn construct_echo_request_bit_exact() {
    let mut buf = [0u8; 12];
    buf[8..].copy_from_slice(b"abcd");
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_msg_type(ECHO_REQUEST);
    p.set_code(0);
    p.set_echo_ident(0x1c46);
    p.set_echo_seq_no(1);
    p.fill_checksum();
    assert_eq!(buf, ECHO);
}

#[test]
fn echo_reply_in_place() {
    let mut buf = ECHO;
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.make_echo_reply();
    assert_eq!((p.msg_type(), p.checksum()), (ECHO_REPLY, 0x1ef2));
    assert!(p.verify_checksum());
    assert_eq!(buf[4..], ECHO[4..]);
}

#[test]
fn parse_frag_needed_and_quote() {
    let m = frag_needed();
    let p = Packet::new_checked(&m[..]).unwrap();
    assert_eq!(
        (p.msg_type(), p.code()),
        (DEST_UNREACHABLE, UNREACH_FRAG_NEEDED)
    );
    assert!(p.verify_checksum());
    assert!(p.is_error());
    assert_eq!(p.next_hop_mtu(), Some(1280));
    let quoted = p.quoted_packet().unwrap();
    assert_eq!(quoted, &SIX_TO_FOUR[..28]);
    // The quote is cut short: its total length (72) exceeds what is quoted.
    assert_eq!(
        Ipv4Packet::new_checked(quoted).unwrap_err(),
        Error::Truncated
    );
    let outer = Ipv4Packet::new_quoted(quoted).unwrap();
    assert_eq!(outer.next_header(), ip_proto::IPV6);
    assert_eq!(outer.payload(), &SIX_TO_FOUR[20..28]);
    // Eight bytes of IPv6 header are not enough to name the inner source.
    assert_eq!(
        crate::wire::Ipv6Packet::new_quoted(outer.payload()).unwrap_err(),
        Error::Truncated
    );
}

#[test]
fn construct_frag_needed_bit_exact() {
    let mut buf = [0xffu8; 36];
    buf[8..].copy_from_slice(&SIX_TO_FOUR[..28]);
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_msg_type(DEST_UNREACHABLE);
    p.set_code(UNREACH_FRAG_NEEDED);
    p.set_next_hop_mtu(1280);
    p.fill_checksum();
    assert_eq!(buf, frag_needed());
}

#[test]
fn other_types_have_no_mtu_or_pointer() {
    let mut m = frag_needed();
    m[1] = UNREACH_PORT;
    assert_eq!(Packet::new_checked(&m[..]).unwrap().next_hop_mtu(), None);
    m[0] = PARAM_PROBLEM;
    m[4] = 9;
    let p = Packet::new_checked(&m[..]).unwrap();
    assert_eq!((p.next_hop_mtu(), p.pointer()), (None, Some(9)));
    m[0] = TIME_EXCEEDED;
    let p = Packet::new_checked(&m[..]).unwrap();
    assert_eq!(p.quoted_packet(), Some(&SIX_TO_FOUR[..28]));
}

#[test]
fn setters_round_trip_and_corruption() {
    let mut buf = ECHO;
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.set_msg_type(TIME_EXCEEDED);
    p.set_code(TIME_EXCEEDED_REASSEMBLY);
    p.set_checksum(0xabcd);
    p.set_echo_ident(0x0102);
    p.set_echo_seq_no(0x0304);
    p.payload_mut()[3] = b'z';
    assert_eq!((p.msg_type(), p.code(), p.checksum()), (11, 1, 0xabcd));
    assert_eq!((p.echo_ident(), p.echo_seq_no()), (0x0102, 0x0304));
    assert!(!p.verify_checksum());
    assert_eq!(
        p.into_inner(),
        &[11, 1, 0xab, 0xcd, 1, 2, 3, 4, b'a', b'b', b'c', b'z']
    );
}

#[test]
fn short_buffers() {
    for len in 0..HEADER_LEN {
        assert_eq!(
            Packet::new_checked(&ECHO[..len]).unwrap_err(),
            Error::Truncated
        );
    }
    let p = Packet::new_checked(&ECHO[..8]).unwrap();
    assert!(p.payload().is_empty());
    assert!(Packet::new_unchecked(&ECHO[..3]).payload().is_empty());
}

#[test]
fn etherparse_builds_we_read() {
    let builder = PacketBuilder::ipv4([192, 0, 2, 1], [192, 0, 2, 2], 64).icmpv4_echo_request(7, 9);
    let mut bytes = Vec::new();
    builder.write(&mut bytes, b"payload").unwrap();
    let ip = Ipv4Packet::new_checked(&bytes[..]).unwrap();
    let p = Packet::new_checked(ip.payload()).unwrap();
    assert_eq!(
        (p.msg_type(), p.code(), p.echo_ident(), p.echo_seq_no()),
        (8, 0, 7, 9)
    );
    assert!(p.verify_checksum());
    assert_eq!(p.payload(), b"payload");

    let kind = Icmpv4Type::DestinationUnreachable(DestUnreachableHeader::FragmentationNeeded {
        next_hop_mtu: 1476,
    });
    let quote = &SIX_TO_FOUR[..28];
    let mut bytes = Icmpv4Header::with_checksum(kind, quote).to_bytes().to_vec();
    bytes.extend_from_slice(quote);
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert!(p.verify_checksum());
    assert_eq!(p.next_hop_mtu(), Some(1476));
    assert_eq!(p.quoted_packet(), Some(quote));
}

#[test]
fn we_build_etherparse_reads() {
    let mut buf = ECHO;
    Packet::new_checked(&mut buf[..]).unwrap().make_echo_reply();
    let theirs = Icmpv4Slice::from_slice(&buf).unwrap();
    let reply = Icmpv4Type::EchoReply(IcmpEchoHeader { id: 0x1c46, seq: 1 });
    assert_eq!(theirs.icmp_type(), reply);
    assert_eq!(
        theirs.checksum(),
        Icmpv4Header::with_checksum(reply, b"abcd").checksum
    );

    let m = frag_needed();
    let theirs = Icmpv4Slice::from_slice(&m).unwrap();
    let expected = DestUnreachableHeader::FragmentationNeeded { next_hop_mtu: 1280 };
    assert_eq!(
        theirs.icmp_type(),
        Icmpv4Type::DestinationUnreachable(expected)
    );
}

proptest! {
    #[test]
    fn accessors_never_panic(
        mut data in proptest::collection::vec(any::<u8>(), 0..40),
        kind in prop::sample::select(vec![0u8, 3, 4, 5, 8, 11, 12, 42]),
        code in 0u8..6,
    ) {
        if data.len() >= 2 {
            data[0] = kind;
            data[1] = code;
        }
        if let Ok(mut p) = Packet::new_checked(&mut data[..]) {
            let _ = (p.msg_type(), p.code(), p.checksum(), p.echo_ident(), p.echo_seq_no());
            let _ = (p.next_hop_mtu(), p.pointer(), p.verify_checksum());
            if let Some(quoted) = p.quoted_packet() {
                prop_assert_eq!(quoted, p.payload());
            }
            p.fill_checksum();
            prop_assert!(p.verify_checksum());
            let plen = p.payload().len();
            prop_assert_eq!(p.payload_mut().len(), plen);
        }
    }
}
