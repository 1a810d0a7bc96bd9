//! The builders checked against etherparse: each frame must equal, byte for byte, the one
//! etherparse serialises from the same field values (which computes its own checksums), and
//! the field values themselves are the spec's test addresses.
use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{EtherType, Ethernet2Header, IpNumber, Ipv4Header, Ipv6FlowLabel, Ipv6Header, UdpHeader};

use super::build::{frame_len, write_frame, Fields, Source, MAX_LEN, MIN_NATIVE, MIN_TUNNEL};
use super::mix::{Kind, Mix, Sizes};
use super::stamp::{self, Stamp};
use super::traffic::{Addresses, Shape};

fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// Builds flow `flow` of `kind` at `size` with sequence 7 and TSC 99.
fn built(kind: Kind, flow: u64, size: u16) -> (Shape, Vec<u8>) {
    let a = Addresses::default();
    let shape = a.shape(kind, flow);
    let len = frame_len(kind, &shape, size);
    let f = Fields { udp_src: a.udp_src_port(flow), udp_dst: 9, ttl: 64, ident: 7, flow_label: flow as u32 };
    let stamp = Stamp { stream: 5, kind: kind.code(), run: 0, seq: 7, tsc: 99 };
    let mut out = vec![0xeeu8; MAX_LEN];
    let n = write_frame(&mut out, len, (&a.dst_mac, &a.src_mac), &shape, &f, &stamp).expect("builds");
    out.truncate(n);
    (shape, out)
}

/// The same frame from etherparse.
fn reference(shape: &Shape, len: usize, udp_src: u16, flow: u32, kind: Kind) -> Vec<u8> {
    let a = Addresses::default();
    let tunnel = matches!(shape, Shape::Tunnel { .. });
    let mut out = Vec::new();
    let ether_type = if tunnel { EtherType::IPV4 } else { EtherType::IPV6 };
    Ethernet2Header { source: a.src_mac, destination: a.dst_mac, ether_type }.write(&mut out).unwrap();
    let (src, dst) = match *shape {
        Shape::Native { src, dst } => (src, dst),
        Shape::Tunnel { outer_src, outer_dst, src, dst } => {
            let mut h = Ipv4Header::new((len - 14 - 20) as u16, 64, IpNumber::IPV6, outer_src.octets(), outer_dst.octets()).unwrap();
            h.identification = 7;
            h.dont_fragment = true;
            h.write(&mut out).unwrap();
            (src, dst)
        }
    };
    let payload_len = len - out.len() - 40;
    let ip6 = Ipv6Header {
        traffic_class: 0,
        flow_label: Ipv6FlowLabel::try_new(flow).unwrap(),
        payload_length: payload_len as u16,
        next_header: IpNumber::UDP,
        hop_limit: 64,
        source: src.octets(),
        destination: dst.octets(),
    };
    ip6.write(&mut out).unwrap();
    let mut payload = Stamp { stream: 5, kind: kind.code(), run: 0, seq: 7, tsc: 99 }.to_bytes().to_vec();
    payload.resize(payload_len - 8, 0);
    UdpHeader::with_ipv6_checksum(udp_src, 9, &ip6, &payload).unwrap().write(&mut out).unwrap();
    out.extend_from_slice(&payload);
    out
}

fn assert_matches_reference(kind: Kind, flow: u64, size: u16, expect_len: usize) -> Shape {
    let (shape, frame) = built(kind, flow, size);
    assert_eq!(frame.len(), expect_len, "{kind} flow {flow} size {size}");
    let a = Addresses::default();
    assert_eq!(frame, reference(&shape, frame.len(), a.udp_src_port(flow), flow as u32, kind), "{kind} flow {flow}");
    shape
}

#[test]
fn transit_is_native_ipv6_between_documentation_prefixes() {
    let shape = assert_matches_reference(Kind::Transit, 3, 128, 124);
    assert_eq!(shape, Shape::Native { src: v6("2001:db8:1::4"), dst: v6("2001:db8:2::4") });
}

#[test]
fn encap_goes_to_a_6to4_site_and_is_sized_for_the_ipv4_side() {
    // 128 bytes after encapsulation: 104 bytes with FCS → 100 sent.
    let shape = assert_matches_reference(Kind::Encap, 0, 128, 128 - 4 - 20);
    assert_eq!(shape, Shape::Native { src: v6("2001:db8:1::1"), dst: v6("2002:cb00:7101::1") });
    let shape = assert_matches_reference(Kind::Encap, 254, 1518, 1494);
    assert_eq!(shape, Shape::Native { src: v6("2001:db8:1::ff"), dst: v6("2002:cb00:7101:1::1") });
}

#[test]
fn decap_is_protocol_41_from_the_site_with_its_own_6to4_source() {
    let shape = assert_matches_reference(Kind::Decap, 0, 128, 124);
    assert_eq!(
        shape,
        Shape::Tunnel {
            outer_src: v4("203.0.113.1"),
            outer_dst: v4("198.51.100.7"),
            src: v6("2002:cb00:7101::1"),
            dst: v6("2001:db8:2::1"),
        }
    );
    let (_, frame) = built(Kind::Decap, 0, 128);
    // Spot-check the raw outer header: 45 00, total 110, ident 7, DF, TTL 64, proto 41.
    assert_eq!(&frame[12..24], &[0x08, 0x00, 0x45, 0x00, 0, 110, 0, 7, 0x40, 0, 64, 41]);
    assert_matches_reference(Kind::Decap, 9, 1518, 1514);
}

#[test]
fn invalid_packets_break_one_rule_each() {
    let s = assert_matches_reference(Kind::Invalid, 0, 200, 196);
    assert_eq!(
        s,
        Shape::Tunnel { outer_src: v4("10.0.0.1"), outer_dst: v4("198.51.100.7"), src: v6("2002:a00:1::1"), dst: v6("2001:db8:2::1") }
    );
    let s = assert_matches_reference(Kind::Invalid, 1, 200, 196);
    assert_eq!(
        s,
        Shape::Tunnel { outer_src: v4("203.0.113.2"), outer_dst: v4("198.51.100.7"), src: v6("2001:db8:1::2"), dst: v6("2001:db8:2::2") }
    );
    let s = assert_matches_reference(Kind::Invalid, 2, 200, 196);
    assert_eq!(
        s,
        Shape::Tunnel { outer_src: v4("203.0.113.3"), outer_dst: v4("198.51.100.7"), src: v6("2002:cb00:7104::1"), dst: v6("2001:db8:2::3") }
    );
    // Native, so measured on the IPv4 side like encap: 200 − 4 − 20.
    let s = assert_matches_reference(Kind::Invalid, 3, 200, 176);
    assert_eq!(s, Shape::Native { src: v6("2001:db8:1::4"), dst: v6("2002:a00:4::1") });
}

#[test]
fn small_sizes_are_raised_to_what_the_headers_and_stamp_need() {
    assert_eq!((MIN_NATIVE, MIN_TUNNEL), (86, 106));
    assert_matches_reference(Kind::Transit, 0, 64, 86);
    assert_matches_reference(Kind::Encap, 0, 64, 86);
    assert_matches_reference(Kind::Decap, 0, 64, 106);
    assert_matches_reference(Kind::Transit, 0, 91, 87);
}

#[test]
fn out_of_range_lengths_are_refused() {
    let a = Addresses::default();
    let shape = a.shape(Kind::Decap, 0);
    let f = Fields { udp_src: 1, udp_dst: 9, ttl: 64, ident: 0, flow_label: 0 };
    let st = Stamp { stream: 0, kind: 1, run: 0, seq: 0, tsc: 0 };
    let mut out = vec![0u8; 2000];
    assert_eq!(write_frame(&mut out, MIN_TUNNEL - 1, (&a.dst_mac, &a.src_mac), &shape, &f, &st), None);
    assert_eq!(write_frame(&mut out, MAX_LEN + 1, (&a.dst_mac, &a.src_mac), &shape, &f, &st), None);
    assert_eq!(write_frame(&mut out[..200], 300, (&a.dst_mac, &a.src_mac), &shape, &f, &st), None);
}

#[test]
fn source_follows_the_mix_with_per_stream_sequences() {
    let mut src = Source::new(Addresses::default(), &Mix::default().restricted(&Kind::ALL), Sizes::Fixed(128), 8, 4).unwrap().with_run(77);
    let mut buf = vec![0u8; MAX_LEN];
    let mut next_seq = [0u64; 4];
    let mut counts = [0u64; 4];
    for _ in 0..200 {
        let (kind, len) = src.next(1234, &mut buf).unwrap();
        let st = stamp::read(&buf[..len]).expect("stamped");
        let k = kind.code() as usize;
        assert_eq!(st, Stamp { stream: 4 + kind.code() as u16, kind: kind.code(), run: 77, seq: next_seq[k], tsc: 1234 });
        next_seq[k] += 1;
        counts[k] += 1;
    }
    assert_eq!(counts, [140, 40, 10, 10]);
    src.set_calibration(true);
    let (_, len) = src.next(1, &mut buf).unwrap();
    assert_eq!(stamp::read(&buf[..len]).map(|s| s.stream), Some(stamp::CALIBRATION_STREAM));
}

#[test]
fn restamping_keeps_the_udp_checksum_valid() {
    for kind in [Kind::Transit, Kind::Decap] {
        let (shape, mut frame) = built(kind, 1, 300);
        let new = stamp::restamp(&mut frame, 0xa5, 0xdead_beef_0000_0001, u64::MAX - 3).expect("has a stamp");
        assert_eq!(new, Stamp { stream: 5, kind: kind.code(), run: 0xa5, seq: 0xdead_beef_0000_0001, tsc: u64::MAX - 3 });
        assert_eq!(stamp::read(&frame), Some(new));
        let ip6_at = if matches!(shape, Shape::Tunnel { .. }) { 34 } else { 14 };
        let ip6 = Ipv6Header::from_slice(&frame[ip6_at..]).unwrap().0;
        let udp = UdpHeader::from_slice(&frame[ip6_at + 40..]).unwrap().0;
        let payload = &frame[ip6_at + 48..];
        assert_eq!(udp.checksum, udp.calc_checksum_ipv6(&ip6, payload).unwrap(), "{kind}");
    }
}

#[test]
fn the_stamp_is_found_after_the_relay_rewrote_the_packet() {
    // Encapsulated by a relay: the native packet behind an IPv4 header.
    let (_, native) = built(Kind::Encap, 0, 200);
    let mut encapsulated = native[..12].to_vec();
    encapsulated.extend_from_slice(&[0x08, 0x00]);
    let mut outer = Ipv4Header::new((native.len() - 14) as u16, 63, IpNumber::IPV6, [198, 51, 100, 7], [203, 0, 113, 1]).unwrap();
    outer.identification = 1;
    outer.write(&mut encapsulated).unwrap();
    encapsulated.extend_from_slice(&native[14..]);
    assert_eq!(stamp::read(&encapsulated).map(|s| (s.seq, s.tsc)), Some((7, 99)));
    // Decapsulated: just the inner packet; and with an 802.1Q tag.
    let (_, tunnelled) = built(Kind::Decap, 0, 200);
    let mut decapsulated = tunnelled[..12].to_vec();
    decapsulated.extend_from_slice(&[0x86, 0xdd]);
    decapsulated.extend_from_slice(&tunnelled[34..]);
    assert_eq!(stamp::read(&decapsulated).map(|s| s.seq), Some(7));
    let mut tagged = decapsulated[..12].to_vec();
    tagged.extend_from_slice(&[0x81, 0x00, 0x00, 0x05]);
    tagged.extend_from_slice(&decapsulated[12..]);
    assert_eq!(stamp::read(&tagged).map(|s| s.seq), Some(7));
    // A fragment, or a frame cut inside the stamp, is not read.
    let mut frag = tunnelled.clone();
    frag[20] |= 0x20; // MF
    assert_eq!(stamp::read(&frag), None);
    assert_eq!(stamp::read(&native[..14 + 40 + 8 + 20]), None);
}

#[test]
fn write_pcap_produces_the_configured_traffic() {
    let dir = std::env::temp_dir().join(format!("relay-gen-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("mix.pcap");
    let mut src = Source::new(Addresses::default(), &Mix::default().restricted(&Kind::ALL), Sizes::Imix, 64, 0).unwrap();
    let w = super::pcap::write_traffic(&path, &mut src, 1200, 1000).unwrap();
    assert_eq!((w.packets, w.count(Kind::Encap), w.count(Kind::Decap), w.count(Kind::Transit), w.count(Kind::Invalid)), (1200, 840, 240, 60, 60));
    let frames = super::pcap::read(&path).unwrap();
    assert_eq!(frames.len(), 1200);
    assert_eq!(frames.iter().map(|f| f.len() as u64).sum::<u64>(), w.bytes);
    let stamped = frames.iter().filter_map(|f| stamp::read(f)).count();
    assert_eq!(stamped, 1200);
    std::fs::remove_dir_all(&dir).unwrap();
}
