//! The frames the forwarding benchmarks replay: 60 bytes on the wire (64 with FCS) unless
//! said otherwise, each a valid packet for the path it exercises.
use std::net::{Ipv4Addr, Ipv6Addr};

pub const R_WAN: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa0];
pub const R_LAN: [u8; 6] = [0x02, 0, 0, 0, 0, 0xa1];
pub const GW4: [u8; 6] = [0x02, 0, 0, 0, 0x01, 0x01];
pub const HOST: [u8; 6] = [0x02, 0, 0, 0, 0x02, 0x05];

fn ipv6(src: Ipv6Addr, dst: Ipv6Addr, payload: usize) -> Vec<u8> {
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(payload as u16).to_be_bytes());
    p.extend_from_slice(&[59, 64]); // no next header: the payload is opaque
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    p.resize(40 + payload, 0x5a);
    p
}

fn ipv4_41(src: Ipv4Addr, dst: Ipv4Addr, inner: &[u8]) -> Vec<u8> {
    let total = 20 + inner.len();
    let mut h = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, 41, 0, 0];
    h.extend_from_slice(&src.octets());
    h.extend_from_slice(&dst.octets());
    let sum = checksum(&h);
    h[10..12].copy_from_slice(&sum.to_be_bytes());
    h.extend_from_slice(inner);
    h
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = b.chunks(2).map(|c| u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))).sum();
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn eth(dst: [u8; 6], src: [u8; 6], ethertype: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + payload.len());
    f.extend_from_slice(&dst);
    f.extend_from_slice(&src);
    f.extend_from_slice(&ethertype.to_be_bytes());
    f.extend_from_slice(payload);
    f.resize(f.len().max(60), 0);
    f
}

/// `n` flows from a 6to4 site LAN host to other 6to4 sites (relayd encapsulates).
pub fn encap(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let src = Ipv6Addr::new(0x2002, 0xc633, 0x6407, 1, 0, 0, 0, 5);
            // V = 203.0.113.(1 + i % 200): spread over many tunnel endpoints.
            let dst = Ipv6Addr::new(0x2002, 0xcb00, 0x7101 + (i % 200) as u16, 0, 0, 0, 0, 5);
            eth(R_LAN, HOST, 0x86dd, &ipv6(src, dst, 6))
        })
        .collect()
}

/// `n` flows of protocol 41 from other 6to4 sites to the router (relayd decapsulates).
/// 80-byte frames: the 60-byte IPv6 packet inside 20 bytes of IPv4.
pub fn decap(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let v = Ipv4Addr::new(203, 0, 113, 1 + (i % 200) as u8);
            let o = v.octets();
            let src = Ipv6Addr::new(0x2002, u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([o[2], o[3]]), 0, 0, 0, 0, 5);
            let dst = Ipv6Addr::new(0x2002, 0xc633, 0x6407, 1, 0, 0, 0, 5);
            eth(R_WAN, GW4, 0x0800, &ipv4_41(v, Ipv4Addr::new(198, 51, 100, 7), &ipv6(src, dst, 6)))
        })
        .collect()
}

/// `n` flows of native IPv6 transit towards `dst_base` (+ flow index in the low bits).
pub fn native(n: usize, dst_base: Ipv6Addr) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let src = Ipv6Addr::new(0x2001, 0xdb8, 0xaaaa, 0, 0, 0, 0, 1 + i as u16);
            let mut d = dst_base.segments();
            d[7] = 1 + i as u16;
            eth(R_LAN, HOST, 0x86dd, &ipv6(src, Ipv6Addr::from(d), 6))
        })
        .collect()
}
