//! IPv6 into IPv4 (RFC 4213 section 3): the outer header written from its fields (each
//! tunnel has its own TTL, DF and DSCP policy), its checksum summed from the same fields
//! (`wire::ipv4::Repr`).
//! Which tunnels a packet may enter is the mechanisms' business (`mech`).
use std::net::Ipv4Addr;

use crate::pipeline::model::PacketBuf;
use crate::pipeline::model::settings::DscpPolicy;
use crate::wire::bytes::{arr, arr_mut};
use crate::wire::{ip_proto, ipv4, Ipv6Packet};

pub const OUTER_LEN: usize = ipv4::HEADER_LEN;

/// The outer IPv4 header of one tunnel packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OuterHeader {
    pub src: u32,
    pub dst: u32,
    pub ttl: u8,
    /// Set unless the tunnel MTU is the IPv6 minimum 1280 (then the IPv4 path may
    /// fragment: RFC 4213 section 3.2).
    pub df: bool,
    pub dscp: DscpPolicy,
}

impl OuterHeader {
    /// The header in front of an IPv6 packet of `inner_len` bytes and traffic class
    /// `traffic_class`: IHL 5, protocol 41, identification `id`, TOS from the DSCP policy
    /// and the inner ECN (RFC 6040). None if the packet would pass 65535 bytes.
    #[inline(always)]
    pub(crate) fn repr(&self, traffic_class: u8, inner_len: usize, id: u16) -> Option<ipv4::Repr> {
        let total_len = u16::try_from(inner_len + OUTER_LEN).ok()?;
        let tos = match self.dscp {
            DscpPolicy::Copy => traffic_class,
            DscpPolicy::Fixed(dscp) => (dscp << 2) | (traffic_class & 0x03),
        };
        Some(ipv4::Repr {
            src: Ipv4Addr::from(self.src),
            dst: Ipv4Addr::from(self.dst),
            next_header: ip_proto::IPV6,
            ttl: self.ttl,
            tos,
            total_len,
            ident: id,
            dont_frag: self.df,
        })
    }
}

/// Prepends `outer` (identification `id`) to the IPv6 packet that fills `buf`. False
/// (buffer unchanged) without headroom.
#[inline]
pub(crate) fn push<B: PacketBuf>(buf: &mut B, outer: &OuterHeader, id: u16) -> bool {
    let d = buf.data();
    let Some(ip) = arr::<40>(d, 0) else { return false };
    let Some(repr) = outer.repr(Ipv6Packet::new_unchecked(ip).traffic_class(), d.len(), id) else { return false };
    if !buf.prepend(OUTER_LEN) {
        return false;
    }
    match arr_mut::<OUTER_LEN>(buf.data_mut(), 0) {
        Some(h) => {
            repr.emit(h);
            true
        }
        None => false,
    }
}
