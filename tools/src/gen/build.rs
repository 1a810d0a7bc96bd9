//! Packet builders: Ethernet / [IPv4 protocol 41 /] IPv6 / UDP / stamp / zero padding, every
//! length and checksum filled in; and [`Source`], the per-port sequence of stamped packets.
//!
//! Frame sizes (`--size`, `--imix`) count the FCS, like every traffic generator and RFC 2544.
//! For the tunnelled kinds (encap, decap, invalid) the size is the frame on the IPv4 side of
//! the relay: an encap packet is sent 20 bytes shorter so that it leaves the relay at that
//! size (a 1518-byte IMIX frame encapsulated would otherwise exceed the 1480-byte tunnel MTU
//! and come back as ICMPv6 Packet Too Big). Sizes too small for the headers and the stamp are
//! raised to the minimum: 90 bytes native, 110 bytes tunnelled (64-byte frames cannot carry
//! IPv6 + UDP; FD.io CSIT uses 78 bytes as its IPv6 minimum for the same reason).
use std::net::{Ipv4Addr, Ipv6Addr};

use relay::wire::checksum;
use relay::wire::{ethernet, ethertype, ip_proto, ipv4, ipv6, EthernetAddress, EthernetFrame, Ipv4Packet, Ipv6Packet};

use super::mix::{Kind, Sizes, Wrr};
use super::rate::FCS_LEN;
use super::stamp::{Stamp, CALIBRATION_STREAM, STAMP_LEN, UDP_HEADER_LEN};
use super::traffic::{Addresses, Shape};

/// Smallest frames (without FCS) that hold the headers and the stamp.
pub const MIN_NATIVE: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + UDP_HEADER_LEN + STAMP_LEN;
pub const MIN_TUNNEL: usize = MIN_NATIVE + ipv4::HEADER_LEN;
/// Largest frame without FCS (1518 on the wire).
pub const MAX_LEN: usize = 1514;

/// The frame length (without FCS) to send for `kind` with `shape` at size `size`.
pub fn frame_len(kind: Kind, shape: &Shape, size: u16) -> usize {
    let wire = usize::from(size).saturating_sub(FCS_LEN).min(MAX_LEN);
    match shape {
        Shape::Tunnel { .. } => wire.max(MIN_TUNNEL),
        // Native packets of the tunnelled kinds are measured on the IPv4 side.
        Shape::Native { .. } if kind != Kind::Transit => wire.saturating_sub(ipv4::HEADER_LEN).max(MIN_NATIVE),
        Shape::Native { .. } => wire.max(MIN_NATIVE),
    }
}

/// Per-packet fields that are not addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields {
    pub udp_src: u16,
    pub udp_dst: u16,
    pub ttl: u8,
    pub ident: u16,
    pub flow_label: u32,
}

/// Writes the frame of `shape`, `len` bytes long (without FCS), into `out`; returns `len`, or
/// `None` if `len` is outside MIN..=MAX_LEN for the shape or `out` is shorter.
pub fn write_frame(
    out: &mut [u8],
    len: usize,
    macs: (&[u8; 6], &[u8; 6]),
    shape: &Shape,
    f: &Fields,
    stamp: &Stamp,
) -> Option<usize> {
    let (min, ip6_at) = match shape {
        Shape::Native { .. } => (MIN_NATIVE, ethernet::HEADER_LEN),
        Shape::Tunnel { .. } => (MIN_TUNNEL, ethernet::HEADER_LEN + ipv4::HEADER_LEN),
    };
    if !(min..=MAX_LEN).contains(&len) {
        return None;
    }
    let frame = out.get_mut(..len)?;
    let mut eth = EthernetFrame::new_unchecked(&mut *frame);
    eth.set_dst_addr(EthernetAddress(*macs.0));
    eth.set_src_addr(EthernetAddress(*macs.1));
    let (src6, dst6) = match *shape {
        Shape::Native { src, dst } => {
            eth.set_ethertype(ethertype::IPV6);
            (src, dst)
        }
        Shape::Tunnel { outer_src, outer_dst, src, dst } => {
            eth.set_ethertype(ethertype::IPV4);
            write_ipv4(frame.get_mut(ethernet::HEADER_LEN..)?, outer_src, outer_dst, f)?;
            (src, dst)
        }
    };
    write_ipv6_udp(frame.get_mut(ip6_at..)?, src6, dst6, f, stamp)?;
    Some(len)
}

fn write_ipv4(ip: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr, f: &Fields) -> Option<()> {
    let total = u16::try_from(ip.len()).ok()?;
    let mut p = Ipv4Packet::new_unchecked(ip.get_mut(..ipv4::HEADER_LEN)?);
    p.set_version(4);
    p.set_header_len(ipv4::HEADER_LEN);
    p.set_dscp(0);
    p.set_ecn(0);
    p.set_total_len(total);
    p.set_ident(f.ident);
    p.clear_flags();
    // The tunnel MTU (1480) is above 1280: DF set, as relayd's own encapsulation does.
    p.set_dont_frag(true);
    p.set_ttl(f.ttl);
    p.set_next_header(ip_proto::IPV6);
    p.set_src_addr(src);
    p.set_dst_addr(dst);
    p.fill_checksum();
    Some(())
}

fn write_ipv6_udp(ip: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr, f: &Fields, stamp: &Stamp) -> Option<()> {
    let udp_len = ip.len().checked_sub(ipv6::HEADER_LEN)?;
    let udp_len16 = u16::try_from(udp_len).ok()?;
    {
        let mut p = Ipv6Packet::new_unchecked(ip.get_mut(..ipv6::HEADER_LEN)?);
        p.set_version(6);
        p.set_traffic_class(0);
        p.set_flow_label(f.flow_label);
        p.set_payload_len(udp_len16);
        p.set_next_header(ip_proto::UDP);
        p.set_hop_limit(f.ttl);
        p.set_src_addr(src);
        p.set_dst_addr(dst);
    }
    let udp = ip.get_mut(ipv6::HEADER_LEN..)?;
    udp.get_mut(0..2)?.copy_from_slice(&f.udp_src.to_be_bytes());
    udp.get_mut(2..4)?.copy_from_slice(&f.udp_dst.to_be_bytes());
    udp.get_mut(4..6)?.copy_from_slice(&udp_len16.to_be_bytes());
    udp.get_mut(6..8)?.copy_from_slice(&[0, 0]);
    udp.get_mut(UDP_HEADER_LEN..UDP_HEADER_LEN + STAMP_LEN)?.copy_from_slice(&stamp.to_bytes());
    udp.get_mut(UDP_HEADER_LEN + STAMP_LEN..)?.fill(0);
    let pseudo = checksum::pseudo_header_v6(&src.octets(), &dst.octets(), ip_proto::UDP, u32::from(udp_len16));
    let mut csum = !checksum::fold(pseudo + checksum::sum(udp));
    if csum == 0 {
        csum = 0xffff;
    }
    udp.get_mut(6..8)?.copy_from_slice(&csum.to_be_bytes());
    Some(())
}

/// One TX port's endless sequence of packets: kinds interleaved by the mix, sizes by the size
/// schedule, flows round-robin per kind, a sequence number per stream.
#[derive(Clone)]
pub struct Source {
    addrs: Addresses,
    kinds: Wrr<Kind>,
    sizes: Wrr<u16>,
    flows: u64,
    next_flow: [u64; 4],
    seq: [u64; 4],
    stream_base: u16,
    calibration: bool,
    run: u8,
}

impl Source {
    /// `stream_base + kind code` is the stream id of each kind; `None` if no kind has a share.
    pub fn new(addrs: Addresses, kinds: &[(Kind, u32)], sizes: Sizes, flows: u64, stream_base: u16) -> Option<Source> {
        Some(Source {
            addrs,
            kinds: Wrr::new(kinds)?,
            sizes: sizes.schedule(),
            flows: flows.max(1),
            next_flow: [0; 4],
            seq: [0; 4],
            stream_base,
            calibration: false,
            run: 0,
        })
    }

    pub fn stream_id(&self, kind: Kind) -> u16 {
        self.stream_base + u16::from(kind.code())
    }

    /// Builds the next packet into `out` (at least [`MAX_LEN`] bytes) stamped with `tsc`;
    /// returns its kind and length.
    pub fn next(&mut self, tsc: u64, out: &mut [u8]) -> Option<(Kind, usize)> {
        let kind = self.kinds.pick();
        let k = usize::from(kind.code());
        let flow = *self.next_flow.get(k)?;
        *self.next_flow.get_mut(k)? = (flow + 1) % self.flows;
        let seq = *self.seq.get(k)?;
        if !self.calibration {
            *self.seq.get_mut(k)? = seq + 1;
        }
        let shape = self.addrs.shape(kind, flow);
        let len = frame_len(kind, &shape, self.sizes.pick());
        let fields = Fields {
            udp_src: self.addrs.udp_src_port(flow),
            udp_dst: self.addrs.udp_dst_port,
            ttl: self.addrs.ttl,
            ident: seq as u16,
            flow_label: (flow & 0xf_ffff) as u32,
        };
        let stream = if self.calibration { CALIBRATION_STREAM } else { self.stream_id(kind) };
        let stamp = Stamp { stream, kind: kind.code(), run: self.run, seq, tsc };
        let len = write_frame(out, len, (&self.addrs.dst_mac, &self.addrs.src_mac), &shape, &fields, &stamp)?;
        Some((kind, len))
    }

    /// Stamps the run id `run` (0, the default, in written pcaps).
    pub fn with_run(mut self, run: u8) -> Source {
        self.run = run;
        self
    }

    /// While on, packets carry the calibration stream id instead of their own (and do not
    /// advance their stream's sequence).
    pub fn set_calibration(&mut self, on: bool) {
        self.calibration = on;
    }
}
