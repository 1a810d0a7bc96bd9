//! IPv4 header (RFC 791).

use std::net::Ipv4Addr;

use super::checksum::{fold, internet_checksum};
use super::{array, be16, Error, Result};

mod field {
    use core::ops::Range;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Range<usize> = 2..4;
    pub const IDENT: Range<usize> = 4..6;
    pub const FLG_OFF: Range<usize> = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Range<usize> = 10..12;
    pub const SRC: Range<usize> = 12..16;
    pub const DST: Range<usize> = 16..20;
}

/// Header without options.
pub const HEADER_LEN: usize = 20;

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet: header, options and the payload up to `total_len`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
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
    /// [`new_checked`](Packet::new_checked) but the buffer may end before `total_len`.
    #[inline]
    pub fn new_quoted(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_header()?;
        Ok(packet)
    }

    /// `Truncated` if the buffer is shorter than 20 bytes, the header length or the total
    /// length; `Malformed` if the version is not 4, the header length is below 20 or the
    /// total length is below the header length. A buffer longer than the total length
    /// (Ethernet padding) is accepted; [`payload`](Packet::payload) stops at total length.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        self.check_header()?;
        if usize::from(self.total_len()) > self.buffer.as_ref().len() {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    /// [`check_len`](Packet::check_len) without the test against the buffer's end.
    #[inline]
    pub fn check_header(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if self.version() != 4 {
            return Err(Error::Malformed);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if header_len > len {
            return Err(Error::Truncated);
        }
        if usize::from(self.total_len()) < header_len {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4), options included.
    #[inline]
    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    #[inline]
    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    #[inline]
    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    #[inline]
    pub fn total_len(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::LENGTH])
    }

    #[inline]
    pub fn ident(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::IDENT])
    }

    #[inline]
    pub fn dont_frag(&self) -> bool {
        be16(&self.buffer.as_ref()[field::FLG_OFF]) & FLAG_DF != 0
    }

    #[inline]
    pub fn more_frags(&self) -> bool {
        be16(&self.buffer.as_ref()[field::FLG_OFF]) & FLAG_MF != 0
    }

    /// Fragment offset in bytes (the field counts 8-byte units).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (be16(&self.buffer.as_ref()[field::FLG_OFF]) & OFFSET_MASK) * 8
    }

    /// Part of a fragmented datagram (MF set or a non-zero offset).
    #[inline]
    pub fn is_fragment(&self) -> bool {
        be16(&self.buffer.as_ref()[field::FLG_OFF]) & (FLAG_MF | OFFSET_MASK) != 0
    }

    #[inline]
    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// The protocol field (e.g. [`ip_proto::IPV6`](super::ip_proto::IPV6) for 6in4).
    #[inline]
    pub fn next_header(&self) -> u8 {
        self.buffer.as_ref()[field::PROTOCOL]
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.src_bytes())
    }

    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.dst_bytes())
    }

    #[inline]
    pub fn src_bytes(&self) -> [u8; 4] {
        array(&self.buffer.as_ref()[field::SRC])
    }

    #[inline]
    pub fn dst_bytes(&self) -> [u8; 4] {
        array(&self.buffer.as_ref()[field::DST])
    }

    /// Whether the header checksum is correct (false if the header is cut short). The sum of
    /// the fixed 20 bytes is taken 32 bits at a time (`checksum::ipv4_header_ok`): this runs
    /// for every received IPv4 packet.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        match self.buffer.as_ref().get(..self.header_len()) {
            Some(header) => super::checksum::ipv4_header_ok(header),
            None => false,
        }
    }

    /// The type-of-service byte: DSCP and ECN as they are in the header.
    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN]
    }

    /// Options: the header bytes after the first 20 (clamped to the buffer).
    #[inline]
    pub fn options(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        let end = self.header_len().min(data.len());
        data.get(HEADER_LEN..end).unwrap_or(&[])
    }

    /// The header, options included (`..header_len`, clamped to the buffer).
    #[inline]
    pub fn header(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        &data[..self.header_len().min(data.len())]
    }

    /// Bytes `header_len..total_len`, clamped to the buffer.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let range = self.payload_range();
        &self.buffer.as_ref()[range]
    }

    #[inline]
    fn payload_range(&self) -> core::ops::Range<usize> {
        let len = self.buffer.as_ref().len();
        let end = usize::from(self.total_len()).min(len);
        let start = self.header_len().min(end);
        start..end
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline]
    pub fn set_version(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (value << 4);
    }

    /// `len` in bytes, a multiple of 4 in 20..=60.
    #[inline]
    pub fn set_header_len(&mut self, len: usize) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) as u8 & 0x0f);
    }

    #[inline]
    pub fn set_dscp(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0x03) | (value << 2);
    }

    #[inline]
    pub fn set_ecn(&mut self, value: u8) {
        let b = &mut self.buffer.as_mut()[field::DSCP_ECN];
        *b = (*b & 0xfc) | (value & 0x03);
    }

    #[inline]
    pub fn set_total_len(&mut self, value: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_ident(&mut self, value: u16) {
        self.buffer.as_mut()[field::IDENT].copy_from_slice(&value.to_be_bytes());
    }

    /// Clears the flags and the fragment offset.
    #[inline]
    pub fn clear_flags(&mut self) {
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&[0, 0]);
    }

    #[inline]
    pub fn set_dont_frag(&mut self, value: bool) {
        self.set_flag(FLAG_DF, value);
    }

    #[inline]
    pub fn set_more_frags(&mut self, value: bool) {
        self.set_flag(FLAG_MF, value);
    }

    /// `bytes`, a multiple of 8; flags are kept.
    #[inline]
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let old = be16(&self.buffer.as_ref()[field::FLG_OFF]);
        let new = (old & !OFFSET_MASK) | (bytes / 8);
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&new.to_be_bytes());
    }

    #[inline]
    fn set_flag(&mut self, flag: u16, on: bool) {
        let old = be16(&self.buffer.as_ref()[field::FLG_OFF]);
        let new = if on { old | flag } else { old & !flag };
        self.buffer.as_mut()[field::FLG_OFF].copy_from_slice(&new.to_be_bytes());
    }

    #[inline]
    pub fn set_ttl(&mut self, value: u8) {
        self.buffer.as_mut()[field::TTL] = value;
    }

    #[inline]
    pub fn set_next_header(&mut self, value: u8) {
        self.buffer.as_mut()[field::PROTOCOL] = value;
    }

    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.octets());
    }

    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.octets());
    }

    /// Computes and stores the header checksum over `header_len` bytes.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let end = self.header_len().min(data.len());
        let csum = internet_checksum(&data[..end]);
        self.set_checksum(csum);
    }

    /// Mutable [`payload`](Packet::payload).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let range = self.payload_range();
        &mut self.buffer.as_mut()[range]
    }
}

/// An IPv4 header without options, as a tunnel entry point writes it:
/// [`emit`](Repr::emit) fills all 20 bytes, its checksum summed from the fields (RFC 1071)
/// rather than read back from the bytes it just wrote. The fragment offset is 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub next_header: u8,
    pub ttl: u8,
    /// DSCP and ECN, the whole second byte.
    pub tos: u8,
    /// Header and payload.
    pub total_len: u16,
    pub ident: u16,
    pub dont_frag: bool,
}

impl Repr {
    /// Writes the header into `h` (which is exactly a header long, so nothing here can
    /// run past it).
    #[inline(always)]
    pub fn emit(&self, h: &mut [u8; HEADER_LEN]) {
        let flags: u16 = if self.dont_frag { FLAG_DF } else { 0 };
        let ttl_proto = u16::from_be_bytes([self.ttl, self.next_header]);
        let (src, dst) = (u32::from(self.src), u32::from(self.dst));
        let ver_ihl_tos = u16::from_be_bytes([0x45, self.tos]);
        h[field::VER_IHL] = 0x45;
        h[field::DSCP_ECN] = self.tos;
        h[field::LENGTH].copy_from_slice(&self.total_len.to_be_bytes());
        h[field::IDENT].copy_from_slice(&self.ident.to_be_bytes());
        h[field::FLG_OFF].copy_from_slice(&flags.to_be_bytes());
        // TTL and protocol are adjacent: one 16-bit store, the word the checksum sums.
        h[field::TTL..field::PROTOCOL + 1].copy_from_slice(&ttl_proto.to_be_bytes());
        h[field::SRC].copy_from_slice(&src.to_be_bytes());
        h[field::DST].copy_from_slice(&dst.to_be_bytes());
        let s = u32::from(ver_ihl_tos)
            + u32::from(self.total_len)
            + u32::from(self.ident)
            + u32::from(flags)
            + u32::from(ttl_proto)
            + (src >> 16)
            + (src & 0xffff)
            + (dst >> 16)
            + (dst & 0xffff);
        h[field::CHECKSUM].copy_from_slice(&(!fold(s)).to_be_bytes());
    }
}

#[cfg(test)]
mod tests;
