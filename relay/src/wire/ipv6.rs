//! IPv6 header (RFC 8200) and the walk to the upper-layer header.

use std::net::Ipv6Addr;

use super::{array, be16, be32, ip_proto, Error, Result};

mod field {
    use core::ops::Range;
    pub const VER_TC_FLOW: Range<usize> = 0..4;
    pub const LENGTH: Range<usize> = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: Range<usize> = 8..24;
    pub const DST: Range<usize> = 24..40;
}

pub const HEADER_LEN: usize = 40;
/// Length of a Fragment extension header.
pub const FRAGMENT_HEADER_LEN: usize = 8;
/// Extension headers [`Packet::upper_layer`] skips before giving up. RFC 8200's
/// recommended order has at most four skippable ones; longer chains are an attack.
pub const MAX_EXT_HEADERS: usize = 8;

/// A view of an IPv6 packet: the fixed header and `payload_len` bytes after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

/// The fields of a Fragment extension header (RFC 8200 section 4.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fragment {
    pub next_header: u8,
    /// Offset of this fragment's data in bytes.
    pub offset: u16,
    pub more_frags: bool,
    pub ident: u32,
}

impl<T: AsRef<[u8]>> Packet<T> {
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    /// For the packet quoted in an ICMP error, usually cut short: like
    /// [`new_checked`](Packet::new_checked) but the buffer may end before the payload does.
    #[inline]
    pub fn new_quoted(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_header()?;
        Ok(packet)
    }

    /// `Truncated` if the buffer is shorter than 40 bytes or than `40 + payload_len`;
    /// `Malformed` if the version is not 6 or it is a jumbogram (payload length 0 with a
    /// Hop-by-Hop header, RFC 2675), which we do not support. Trailing bytes are allowed.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        self.check_header()?;
        if self.total_len() > self.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// [`check_len`](Packet::check_len) without the test against the buffer's end.
    #[inline]
    pub fn check_header(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 6 {
            return Err(Error::Malformed);
        }
        if self.payload_len() == 0 && self.next_header() == ip_proto::HOP_BY_HOP {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    fn ver_tc_flow(&self) -> u32 {
        be32(&self.buffer.as_ref()[field::VER_TC_FLOW])
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_TC_FLOW.start] >> 4
    }

    #[inline]
    pub fn traffic_class(&self) -> u8 {
        (self.ver_tc_flow() >> 20) as u8
    }

    #[inline]
    pub fn dscp(&self) -> u8 {
        self.traffic_class() >> 2
    }

    #[inline]
    pub fn ecn(&self) -> u8 {
        self.traffic_class() & 0x03
    }

    #[inline]
    pub fn flow_label(&self) -> u32 {
        self.ver_tc_flow() & 0x000f_ffff
    }

    #[inline]
    pub fn payload_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    /// 40 + payload length: the bytes this packet occupies.
    #[inline]
    pub fn total_len(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }

    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::NXT_HDR]
    }

    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    #[inline]
    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.src_bytes())
    }

    #[inline]
    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(self.dst_bytes())
    }

    #[inline]
    pub fn src_bytes(&self) -> [u8; 16] {
        array(&self.buffer.as_ref()[field::SRC])
    }

    #[inline]
    pub fn dst_bytes(&self) -> [u8; 16] {
        array(&self.buffer.as_ref()[field::DST])
    }

    /// Bytes `40..40 + payload_len`, clamped to the buffer.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let range = self.payload_range();
        &self.buffer.as_ref()[range]
    }

    #[inline]
    fn payload_range(&self) -> core::ops::Range<usize> {
        let len = self.buffer.as_ref().len();
        let end = self.total_len().min(len);
        HEADER_LEN.min(end)..end
    }

    /// Walks Hop-by-Hop, Routing and Destination Options headers and returns the first
    /// other next-header value with its offset from the start of the IPv6 header. A
    /// Fragment header (44) is returned as is: only the first fragment holds the upper
    /// header, see [`fragment_at`](Packet::fragment_at). The offset never exceeds the
    /// packet; the upper header itself may still be short.
    ///
    /// `Truncated` if an extension header runs past the payload; `Malformed` if
    /// Hop-by-Hop is not first (RFC 8200 section 4.3) or the chain is longer than
    /// [`MAX_EXT_HEADERS`].
    pub fn upper_layer(&self) -> Result<(u8, usize)> {
        let data = self.buffer.as_ref();
        let end = self.total_len().min(data.len());
        let mut next = self.next_header();
        let mut at = HEADER_LEN;
        for _ in 0..MAX_EXT_HEADERS {
            match next {
                ip_proto::HOP_BY_HOP if at != HEADER_LEN => return Err(Error::Malformed),
                ip_proto::HOP_BY_HOP | ip_proto::IPV6_ROUTING | ip_proto::IPV6_DEST_OPTS => {
                    if at + 2 > end {
                        return Err(Error::Truncated);
                    }
                    next = data[at];
                    at += (usize::from(data[at + 1]) + 1) * 8;
                    if at > end {
                        return Err(Error::Truncated);
                    }
                }
                _ => return Ok((next, at)),
            }
        }
        match next {
            ip_proto::HOP_BY_HOP | ip_proto::IPV6_ROUTING | ip_proto::IPV6_DEST_OPTS => {
                Err(Error::Malformed)
            }
            _ => Ok((next, at)),
        }
    }

    /// Reads the Fragment header at offset `at` (as returned by
    /// [`upper_layer`](Packet::upper_layer)); `Truncated` if it does not fit the packet.
    pub fn fragment_at(&self, at: usize) -> Result<Fragment> {
        let data = self.buffer.as_ref();
        let end = self.total_len().min(data.len());
        if at > end || end - at < FRAGMENT_HEADER_LEN {
            return Err(Error::Truncated);
        }
        let hdr = &data[at..at + FRAGMENT_HEADER_LEN];
        let off_flags = be16(&hdr[2..4]);
        Ok(Fragment {
            next_header: hdr[0],
            offset: off_flags & !0x7,
            more_frags: off_flags & 0x1 != 0,
            ident: be32(&hdr[4..8]),
        })
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline]
    fn set_ver_tc_flow(&mut self, value: u32) {
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_TC_FLOW.start];
        *b = (*b & 0x0f) | (value << 4);
    }

    #[inline]
    pub fn set_traffic_class(&mut self, value: u8) {
        let word = (self.ver_tc_flow() & 0xf00f_ffff) | (u32::from(value) << 20);
        self.set_ver_tc_flow(word);
    }

    #[inline]
    pub fn set_dscp(&mut self, value: u8) {
        self.set_traffic_class((value << 2) | self.ecn());
    }

    #[inline]
    pub fn set_ecn(&mut self, value: u8) {
        self.set_traffic_class((self.traffic_class() & 0xfc) | (value & 0x03));
    }

    /// The low 20 bits of `value`.
    #[inline]
    pub fn set_flow_label(&mut self, value: u32) {
        let word = (self.ver_tc_flow() & 0xfff0_0000) | (value & 0x000f_ffff);
        self.set_ver_tc_flow(word);
    }

    #[inline]
    pub fn set_payload_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::NXT_HDR] = value;
    }

    #[inline]
    pub fn set_hop_limit(&mut self, value: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = value;
    }

    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// Mutable [`payload`](Packet::payload).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.payload_range();
        &mut self.buffer.as_mut()[range]
    }
}

#[cfg(test)]
mod tests;
