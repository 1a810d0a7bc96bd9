use super::*;
use crate::wire::checksum::update16;
use crate::wire::ip_proto;
use crate::wire::testdata::{IPV4, IPV6, SIX_TO_FOUR};
use etherparse::{IpFragOffset, IpNumber, Ipv4Dscp, Ipv4Ecn, Ipv4Header, Ipv4HeaderSlice};
use proptest::prelude::*;

#[test]
fn parse_6to4_outer_header() {
    let p = Packet::new_checked(&SIX_TO_FOUR[..]).unwrap();
    assert_eq!(p.version(), 4);
    assert_eq!(p.header_len(), 20);
    assert_eq!((p.dscp(), p.ecn()), (0, 0));
    assert_eq!(p.total_len(), 72);
    assert_eq!(p.ident(), 0x1c46);
    assert!(p.dont_frag());
    assert!(!p.more_frags());
    assert_eq!(p.frag_offset(), 0);
    assert!(!p.is_fragment());
    assert_eq!(p.ttl(), 64);
    assert_eq!(p.next_header(), ip_proto::IPV6);
    assert_eq!(p.checksum(), 0xb80a);
    assert!(p.verify_checksum());
    assert_eq!(p.src_addr(), Ipv4Addr::new(198, 51, 100, 7));
    assert_eq!(p.dst_addr(), Ipv4Addr::new(203, 0, 113, 1));
    assert_eq!(p.src_bytes(), [198, 51, 100, 7]);
    assert_eq!(p.dst_bytes(), [203, 0, 113, 1]);
    assert!(p.options().is_empty());
    assert_eq!(p.payload(), &SIX_TO_FOUR[IPV6]);
}

#[test]
fn construct_6to4_outer_header_bit_exact() {
    let mut buf = [0u8; 72];
    buf[IPV6].copy_from_slice(&SIX_TO_FOUR[IPV6]);
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_version(4);
    p.set_header_len(20);
    p.set_dscp(0);
    p.set_ecn(0);
    p.set_total_len(72);
    p.set_ident(0x1c46);
    p.clear_flags();
    p.set_dont_frag(true);
    p.set_ttl(64);
    p.set_next_header(ip_proto::IPV6);
    p.set_src_addr(Ipv4Addr::new(198, 51, 100, 7));
    p.set_dst_addr(Ipv4Addr::new(203, 0, 113, 1));
    p.fill_checksum();
    assert_eq!(buf, SIX_TO_FOUR);
}

#[test]
fn setters_round_trip() {
    let mut buf = SIX_TO_FOUR;
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.set_dscp(46);
    p.set_ecn(2);
    assert_eq!((p.dscp(), p.ecn()), (46, 2));
    p.set_ecn(1);
    assert_eq!((p.dscp(), p.ecn()), (46, 1));
    p.set_ident(0xbeef);
    assert_eq!(p.ident(), 0xbeef);
    p.set_dont_frag(false);
    p.set_more_frags(true);
    p.set_frag_offset(1480);
    assert_eq!(
        (p.dont_frag(), p.more_frags(), p.frag_offset()),
        (false, true, 1480)
    );
    assert!(p.is_fragment());
    p.set_more_frags(false);
    assert_eq!((p.more_frags(), p.frag_offset()), (false, 1480));
    assert!(p.is_fragment());
    p.set_frag_offset(0);
    assert!(!p.is_fragment());
    p.set_dont_frag(true);
    p.clear_flags();
    assert!(!p.dont_frag());
    p.set_ttl(1);
    assert_eq!(p.ttl(), 1);
    p.set_next_header(ip_proto::UDP);
    assert_eq!(p.next_header(), 17);
    p.set_checksum(0x1234);
    assert_eq!(p.checksum(), 0x1234);
    p.set_src_addr(Ipv4Addr::new(192, 88, 99, 1));
    p.set_dst_addr(Ipv4Addr::new(10, 0, 0, 1));
    assert_eq!(p.src_bytes(), [192, 88, 99, 1]);
    assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 0, 0, 1));
    p.set_total_len(40);
    assert_eq!(p.total_len(), 40);
    assert_eq!(p.payload().len(), 20);
    p.payload_mut()[0] = 0x61;
    p.set_header_len(24);
    assert_eq!(p.header_len(), 24);
    assert_eq!(p.options(), &[0x61, 0, 0, 0]);
    p.set_version(6);
    assert_eq!((p.version(), p.header_len()), (6, 24));
    assert_eq!(buf[0..2], [0x66, 0xb9]);
}

#[test]
fn length_and_version_errors() {
    for len in 0..20 {
        assert_eq!(
            Packet::new_checked(&SIX_TO_FOUR[..len]).unwrap_err(),
            Error::Truncated
        );
    }
    let mutate = |at: usize, value: u8| {
        let mut b = SIX_TO_FOUR;
        b[at] = value;
        b
    };
    assert_eq!(
        Packet::new_checked(&mutate(0, 0x65)[..]).unwrap_err(),
        Error::Malformed
    );
    assert_eq!(
        Packet::new_checked(&mutate(0, 0x44)[..]).unwrap_err(),
        Error::Malformed
    );
    assert_eq!(
        Packet::new_checked(&mutate(0, 0x40)[..]).unwrap_err(),
        Error::Malformed
    );
    // Total length below the header length.
    assert_eq!(
        Packet::new_checked(&mutate(3, 19)[..]).unwrap_err(),
        Error::Malformed
    );
    // Total length beyond the buffer.
    assert_eq!(
        Packet::new_checked(&mutate(3, 73)[..]).unwrap_err(),
        Error::Truncated
    );
    assert_eq!(
        Packet::new_checked(&SIX_TO_FOUR[..71]).unwrap_err(),
        Error::Truncated
    );
    // Options (IHL 15 = 60 bytes) longer than a 20-byte buffer.
    let mut short = [0u8; 20];
    short.copy_from_slice(&SIX_TO_FOUR[IPV4]);
    short[0] = 0x4f;
    short[3] = 20;
    assert_eq!(
        Packet::new_checked(&short[..]).unwrap_err(),
        Error::Truncated
    );
}

#[test]
fn quoted_packets_may_be_cut_short() {
    let p = Packet::new_quoted(&SIX_TO_FOUR[..28]).unwrap();
    assert_eq!(
        (p.total_len(), p.src_bytes(), p.dst_bytes()),
        (72, [198, 51, 100, 7], [203, 0, 113, 1])
    );
    assert_eq!(p.payload(), &SIX_TO_FOUR[20..28]);
    assert_eq!(
        Packet::new_quoted(&SIX_TO_FOUR[..20]).unwrap().payload(),
        &[]
    );
    assert_eq!(
        Packet::new_quoted(&SIX_TO_FOUR[..19]).unwrap_err(),
        Error::Truncated
    );
    let mut bad = SIX_TO_FOUR;
    bad[3] = 19;
    assert_eq!(
        Packet::new_quoted(&bad[..28]).unwrap_err(),
        Error::Malformed
    );
    bad[0] = 0x46;
    assert_eq!(
        Packet::new_quoted(&bad[..23]).unwrap_err(),
        Error::Truncated
    );
    bad[0] = 0x65;
    assert_eq!(
        Packet::new_quoted(&bad[..28]).unwrap_err(),
        Error::Malformed
    );
}

#[test]
fn padding_is_not_payload() {
    let mut padded = [0xeeu8; 80];
    padded[..72].copy_from_slice(&SIX_TO_FOUR);
    let p = Packet::new_checked(&padded[..]).unwrap();
    assert_eq!(p.payload(), &SIX_TO_FOUR[IPV6]);
}

#[test]
fn unchecked_payload_is_clamped() {
    // total_len 72 but only 30 bytes: payload stops at the buffer.
    let p = Packet::new_unchecked(&SIX_TO_FOUR[..30]);
    assert_eq!(p.payload(), &SIX_TO_FOUR[20..30]);
    // IHL 60 beyond the buffer: empty payload and options, checksum unverifiable.
    let mut b = [0u8; 24];
    b.copy_from_slice(&SIX_TO_FOUR[..24]);
    b[0] = 0x4f;
    let p = Packet::new_unchecked(&b[..]);
    assert!(p.payload().is_empty());
    assert_eq!(p.options().len(), 4);
    assert!(!p.verify_checksum());
}

#[test]
fn checksum_detects_corruption_and_incremental_ttl() {
    let mut buf = SIX_TO_FOUR;
    buf[15] ^= 0x01;
    assert!(!Packet::new_checked(&buf[..]).unwrap().verify_checksum());

    let mut buf = SIX_TO_FOUR;
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    let old_word = u16::from_be_bytes([p.ttl(), p.next_header()]);
    p.set_ttl(63);
    let new_word = u16::from_be_bytes([p.ttl(), p.next_header()]);
    let incremental = update16(p.checksum(), old_word, new_word);
    p.fill_checksum();
    assert_eq!(p.checksum(), incremental);
    assert!(p.verify_checksum());
}

fn etherparse_header() -> Ipv4Header {
    let mut h = Ipv4Header::new(8, 17, IpNumber::UDP, [192, 0, 2, 1], [198, 51, 100, 9]).unwrap();
    h.dscp = Ipv4Dscp::try_new(34).unwrap();
    h.ecn = Ipv4Ecn::try_new(3).unwrap();
    h.identification = 0xa5a5;
    h.dont_fragment = false;
    h.more_fragments = true;
    h.fragment_offset = IpFragOffset::try_new(185).unwrap();
    h.options = [0x94, 0x04, 0x00, 0x00][..].try_into().unwrap(); // Router Alert
    h.total_len = 24 + 8;
    h.header_checksum = h.calc_header_checksum();
    h
}

#[test]
fn etherparse_builds_we_read() {
    let h = etherparse_header();
    let mut bytes = h.to_bytes().to_vec();
    bytes.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
    let p = Packet::new_checked(&bytes[..]).unwrap();
    assert_eq!(p.header_len(), 24);
    assert_eq!(p.dscp(), 34);
    assert_eq!(p.ecn(), 3);
    assert_eq!(p.total_len(), 32);
    assert_eq!(p.ident(), 0xa5a5);
    assert!(!p.dont_frag() && p.more_frags());
    assert_eq!(p.frag_offset(), 185 * 8);
    assert_eq!(p.ttl(), 17);
    assert_eq!(p.next_header(), ip_proto::UDP);
    assert_eq!(p.checksum(), h.header_checksum);
    assert!(p.verify_checksum());
    assert_eq!(p.src_bytes(), [192, 0, 2, 1]);
    assert_eq!(p.dst_bytes(), [198, 51, 100, 9]);
    assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
    assert_eq!(p.payload(), &[1, 2, 3, 4, 5, 6, 7, 8]);
}

#[test]
fn we_build_etherparse_reads() {
    let mut buf = [0u8; 32];
    let mut p = Packet::new_unchecked(&mut buf[..]);
    p.set_version(4);
    p.set_header_len(24);
    p.set_dscp(34);
    p.set_ecn(3);
    p.set_total_len(32);
    p.set_ident(0xa5a5);
    p.set_more_frags(true);
    p.set_frag_offset(185 * 8);
    p.set_ttl(17);
    p.set_next_header(ip_proto::UDP);
    p.set_src_addr(Ipv4Addr::new(192, 0, 2, 1));
    p.set_dst_addr(Ipv4Addr::new(198, 51, 100, 9));
    buf[20..24].copy_from_slice(&[0x94, 0x04, 0x00, 0x00]);
    let mut p = Packet::new_checked(&mut buf[..]).unwrap();
    p.fill_checksum();
    let ours = p.checksum();
    let theirs = Ipv4HeaderSlice::from_slice(&buf).unwrap().to_header();
    assert_eq!(theirs, etherparse_header());
    assert_eq!(theirs.calc_header_checksum(), ours);
}

fn any_ipv4() -> impl Strategy<Value = Vec<u8>> {
    // Mostly plausible headers (version 4, any IHL, total length near the buffer).
    (
        proptest::collection::vec(any::<u8>(), 0..96),
        0u8..16,
        0u16..100,
        any::<bool>(),
    )
        .prop_map(|(mut data, ihl, total, fix)| {
            if fix && data.len() >= 4 {
                data[0] = 0x40 | ihl;
                data[2..4].copy_from_slice(&total.to_be_bytes());
            }
            data
        })
}

proptest! {
    #[test]
    fn accessors_never_panic(mut data in any_ipv4()) {
        if let Ok(mut p) = Packet::new_checked(&mut data[..]) {
            let _ = (p.version(), p.dscp(), p.ecn(), p.ident(), p.dont_frag(), p.more_frags());
            let _ = (p.frag_offset(), p.is_fragment(), p.ttl(), p.next_header(), p.checksum());
            let _ = (p.src_addr(), p.dst_addr(), p.src_bytes(), p.dst_bytes());
            let _ = p.verify_checksum();
            prop_assert_eq!(p.options().len(), p.header_len() - HEADER_LEN);
            let expected = usize::from(p.total_len()) - p.header_len();
            prop_assert_eq!(p.payload().len(), expected);
            prop_assert_eq!(p.payload_mut().len(), expected);
            p.fill_checksum();
            prop_assert!(p.verify_checksum());
        }
    }

    #[test]
    fn quoted_accessors_never_panic(data in any_ipv4()) {
        if let Ok(p) = Packet::new_quoted(&data[..]) {
            let _ = (p.version(), p.dscp(), p.ecn(), p.ident(), p.frag_offset(), p.ttl());
            let _ = (p.next_header(), p.checksum(), p.src_addr(), p.dst_addr());
            let _ = p.verify_checksum();
            prop_assert!(p.payload().len() <= usize::from(p.total_len()) - p.header_len());
            prop_assert_eq!(p.options().len(), p.header_len() - HEADER_LEN);
        }
    }

    #[test]
    fn unchecked_payload_never_panics(data in proptest::collection::vec(any::<u8>(), 20..64)) {
        let p = Packet::new_unchecked(&data[..]);
        prop_assert!(p.payload().len() <= data.len());
        prop_assert!(p.options().len() <= 40);
        let _ = p.verify_checksum();
    }
}

/// `Repr::emit` writes what etherparse reads, with a checksum that verifies, for any
/// field values (the checksum is summed from the fields, so this is its check).
#[test]
fn repr_emit_agrees_with_etherparse() {
    proptest!(|(src: u32, dst: u32, ttl: u8, tos: u8, total_len in 20u16.., ident: u16, dont_frag: bool, next_header: u8)| {
        let repr = Repr { src: src.into(), dst: dst.into(), next_header, ttl, tos, total_len, ident, dont_frag };
        let mut h = [0xa5u8; HEADER_LEN];
        repr.emit(&mut h);
        let p = Packet::new_quoted(&h[..]).unwrap();
        prop_assert!(p.verify_checksum());
        let e = Ipv4HeaderSlice::from_slice(&h).unwrap().to_header();
        prop_assert_eq!(e.source, src.to_be_bytes());
        prop_assert_eq!(e.destination, dst.to_be_bytes());
        prop_assert_eq!((e.time_to_live, e.protocol.0, e.total_len, e.identification), (ttl, next_header, total_len, ident));
        prop_assert_eq!((e.dscp.value(), e.ecn.value()), (tos >> 2, tos & 0x03));
        prop_assert_eq!((e.dont_fragment, e.more_fragments, e.fragment_offset.value()), (dont_frag, false, 0));
        prop_assert_eq!(e.header_checksum, e.calc_header_checksum());
    });
}
