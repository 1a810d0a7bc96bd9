//! Test packet builders (etherparse for everything with a checksum) and checkers.
use std::net::{Ipv4Addr, Ipv6Addr};

use etherparse::{Icmpv4Type, Icmpv6Slice, Icmpv6Type, IpNumber, Ipv4Dscp, Ipv4Ecn, Ipv4Header, Ipv6Header, PacketBuilder};

pub fn a6(s: &str) -> [u8; 16] {
    s.parse::<Ipv6Addr>().expect("IPv6 literal").octets()
}

pub fn a4(s: &str) -> [u8; 4] {
    s.parse::<Ipv4Addr>().expect("IPv4 literal").octets()
}

pub fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

pub fn eth_vlan(dst: [u8; 6], src: [u8; 6], vid: u16, ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(18 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&0x8100u16.to_be_bytes());
    f.extend_from_slice(&vid.to_be_bytes());
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// An IPv6/UDP packet whose total length is exactly `total` bytes (at least 48).
pub fn udp6(src: &str, dst: &str, hop: u8, total: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..total - 48).map(|i| (i * 7 + 3) as u8).collect();
    let mut out = Vec::with_capacity(total);
    PacketBuilder::ipv6(a6(src), a6(dst), hop).udp(40000, 9).write(&mut out, &payload).expect("build udp6");
    out
}

/// An ICMPv6 echo request.
pub fn echo6(src: &str, dst: &str, hop: u8, payload_len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
    let mut out = Vec::new();
    PacketBuilder::ipv6(a6(src), a6(dst), hop).icmpv6_echo_request(0x1234, 7).write(&mut out, &payload).expect("build echo6");
    out
}

/// The ICMPv6 echo reply to [`echo6`] with these addresses, from a fresh builder.
pub fn echo6_reply(src: &str, dst: &str, hop: u8, payload_len: usize) -> Vec<u8> {
    let payload: Vec<u8> = (0..payload_len).map(|i| i as u8).collect();
    let mut out = Vec::new();
    PacketBuilder::ipv6(a6(src), a6(dst), hop).icmpv6_echo_reply(0x1234, 7).write(&mut out, &payload).expect("build reply6");
    out
}

/// Sets the traffic class of an IPv6 packet (UDP and ICMPv6 checksums do not cover it).
pub fn with_tclass(mut p: Vec<u8>, tc: u8) -> Vec<u8> {
    p[0] = 0x60 | (tc >> 4);
    p[1] = (tc << 4) | (p[1] & 0x0f);
    p
}

/// The same IPv6 packet with its hop limit lowered by `n`.
pub fn hop_minus(p: &[u8], n: u8) -> Vec<u8> {
    let mut p = p.to_vec();
    p[7] -= n;
    p
}

/// Field values of an IPv4 header to build.
#[derive(Clone, Copy)]
pub struct V4 {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub proto: u8,
    pub ttl: u8,
    pub id: u16,
    pub df: bool,
    pub tos: u8,
}

impl V4 {
    pub fn p41(src: &str, dst: &str) -> V4 {
        V4 { src: a4(src), dst: a4(dst), proto: 41, ttl: 64, id: 1, df: true, tos: 0 }
    }
}

/// IPv4 header (checksum by etherparse) followed by `payload`.
pub fn ipv4(h: V4, payload: &[u8]) -> Vec<u8> {
    let mut hdr = Ipv4Header::new(payload.len() as u16, h.ttl, IpNumber(h.proto), h.src, h.dst).expect("ipv4 header");
    hdr.identification = h.id;
    hdr.dont_fragment = h.df;
    hdr.dscp = Ipv4Dscp::try_new(h.tos >> 2).expect("dscp");
    hdr.ecn = Ipv4Ecn::try_new(h.tos & 3).expect("ecn");
    hdr.header_checksum = hdr.calc_header_checksum();
    let mut out = hdr.to_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// An IPv4 packet carrying an ICMPv4 message of any type (checksums by etherparse).
pub fn icmp4(src: &str, dst: &str, icmp_type: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let t = Icmpv4Type::Unknown { type_u8: icmp_type, code_u8: code, bytes5to8: rest };
    let mut out = Vec::new();
    PacketBuilder::ipv4(a4(src), a4(dst), 64).icmpv4(t).write(&mut out, body).expect("build icmp4");
    out
}

/// An ICMPv6 message of any type with a valid checksum (etherparse computes it).
pub fn icmp6_raw(src: &str, dst: &str, hop: u8, icmp_type: u8, code: u8, rest: [u8; 4], body: &[u8]) -> Vec<u8> {
    let t = Icmpv6Type::Unknown { type_u8: icmp_type, code_u8: code, bytes5to8: rest };
    let mut out = Vec::new();
    PacketBuilder::ipv6(a6(src), a6(dst), hop).icmpv6(t).write(&mut out, body).expect("build icmp6");
    out
}

/// Parses an IPv4 header with etherparse and checks its checksum; returns it and the
/// bytes after it (up to total length).
pub fn parse_ipv4(ip: &[u8]) -> (Ipv4Header, Vec<u8>) {
    let (h, rest) = Ipv4Header::from_slice(ip).expect("valid IPv4 header");
    assert_eq!(h.header_checksum, h.calc_header_checksum(), "IPv4 header checksum");
    let payload_len = usize::from(h.total_len) - h.header_len();
    (h.clone(), rest[..payload_len].to_vec())
}

/// Parses an IPv6 packet carrying ICMPv6 and checks the ICMPv6 checksum.
pub fn parse_icmp6(ip: &[u8]) -> (Ipv6Header, Icmpv6Type, Vec<u8>) {
    let (h, rest) = Ipv6Header::from_slice(ip).expect("valid IPv6 header");
    assert_eq!(h.next_header, IpNumber::IPV6_ICMP);
    assert_eq!(rest.len(), usize::from(h.payload_length), "IPv6 payload length");
    let icmp = Icmpv6Slice::from_slice(rest).expect("ICMPv6");
    assert!(icmp.is_checksum_valid(h.source, h.destination), "ICMPv6 checksum");
    (h, icmp.icmp_type(), icmp.payload().to_vec())
}

/// An Ethernet/IPv4 ARP message.
pub fn arp(op: u16, sha: [u8; 6], spa: &str, tha: [u8; 6], tpa: &str) -> Vec<u8> {
    let mut a = vec![0, 1, 8, 0, 6, 4];
    a.extend_from_slice(&op.to_be_bytes());
    a.extend_from_slice(&sha);
    a.extend_from_slice(&a4(spa));
    a.extend_from_slice(&tha);
    a.extend_from_slice(&a4(tpa));
    a
}

/// A neighbour solicitation, with a source link-layer option if `slla` is given.
pub fn ns(src: &str, dst: &str, target: &str, slla: Option<[u8; 6]>, hop: u8) -> Vec<u8> {
    let mut body = a6(target).to_vec();
    if let Some(mac) = slla {
        body.extend_from_slice(&[1, 1]);
        body.extend_from_slice(&mac);
    }
    icmp6_raw(src, dst, hop, 135, 0, [0; 4], &body)
}

/// A neighbour advertisement for `src` itself with its target link-layer option.
pub fn na(src: &str, dst: &str, flags: u8, mac: [u8; 6]) -> Vec<u8> {
    let mut body = a6(src).to_vec();
    body.extend_from_slice(&[2, 1]);
    body.extend_from_slice(&mac);
    icmp6_raw(src, dst, 255, 136, 0, [flags, 0, 0, 0], &body)
}
