//! ICMPv6 (RFC 4443) and Neighbor Discovery messages (RFC 4861; see [`NdOptions`]).
//!
//! The view covers the whole message (the upper-layer payload of the IPv6 packet); the
//! checksum spans it plus the IPv6 pseudo-header.

use super::checksum::{fold, pseudo_header_v6, sum, update16};
use super::{be16, be32, ip_proto, Error, Result};

mod ndisc;
pub use ndisc::{
    NdOptions, RouterAdvert, NA_FLAG_OVERRIDE, NA_FLAG_ROUTER, NA_FLAG_SOLICITED, OPT_MTU,
    OPT_PREFIX_INFO, OPT_REDIRECTED_HEADER, OPT_SOURCE_LL_ADDR, OPT_TARGET_LL_ADDR,
    RA_FLAG_MANAGED, RA_FLAG_OTHER,
};

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    /// Packet Too Big MTU, Parameter Problem pointer.
    pub const WORD: Range<usize> = 4..8;
}

pub const HEADER_LEN: usize = 8;

pub const DEST_UNREACHABLE: u8 = 1;
pub const PACKET_TOO_BIG: u8 = 2;
pub const TIME_EXCEEDED: u8 = 3;
pub const PARAM_PROBLEM: u8 = 4;
pub const ECHO_REQUEST: u8 = 128;
pub const ECHO_REPLY: u8 = 129;
pub const ROUTER_SOLICIT: u8 = 133;
pub const ROUTER_ADVERT: u8 = 134;
pub const NEIGHBOR_SOLICIT: u8 = 135;
pub const NEIGHBOR_ADVERT: u8 = 136;
pub const REDIRECT: u8 = 137;

/// Destination Unreachable codes.
pub const UNREACH_NO_ROUTE: u8 = 0;
pub const UNREACH_ADMIN_PROHIBITED: u8 = 1;
pub const UNREACH_BEYOND_SCOPE: u8 = 2;
pub const UNREACH_ADDR: u8 = 3;
pub const UNREACH_PORT: u8 = 4;
pub const UNREACH_FAILED_POLICY: u8 = 5;
pub const UNREACH_REJECT_ROUTE: u8 = 6;

/// Time Exceeded codes.
pub const TIME_EXCEEDED_HOP_LIMIT: u8 = 0;
pub const TIME_EXCEEDED_REASSEMBLY: u8 = 1;

/// Parameter Problem codes.
pub const PARAM_ERRONEOUS_FIELD: u8 = 0;
pub const PARAM_UNRECOGNIZED_NEXT_HEADER: u8 = 1;
pub const PARAM_UNRECOGNIZED_OPTION: u8 = 2;

/// A view of an ICMPv6 message.
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

    /// `Truncated` below the 8-byte header, or below the fixed part of a Neighbor
    /// Discovery message (RFC 4861: RS 8, RA 16, NS/NA 24, Redirect 40 bytes).
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || len < ndisc::fixed_len(self.msg_type()) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn msg_type(&self) -> u8 {
        self.buffer.as_ref()[field::TYPE]
    }

    #[inline]
    pub fn code(&self) -> u8 {
        self.buffer.as_ref()[field::CODE]
    }

    #[inline]
    pub fn checksum(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::CHECKSUM])
    }

    /// Whether the checksum is correct for a message from `src` to `dst`.
    #[inline]
    pub fn verify_checksum(&self, src: &[u8; 16], dst: &[u8; 16]) -> bool {
        let data = self.buffer.as_ref();
        fold(pseudo_sum(src, dst, data.len()) + sum(data)) == 0xffff
    }

    #[inline]
    pub fn echo_ident(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::ECHO_IDENT])
    }

    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::ECHO_SEQNO])
    }

    /// The MTU of a Packet Too Big message.
    #[inline]
    pub fn mtu(&self) -> Option<u32> {
        (self.msg_type() == PACKET_TOO_BIG).then(|| be32(&self.buffer.as_ref()[field::WORD]))
    }

    /// The offset of the offending octet in a Parameter Problem message.
    #[inline]
    pub fn pointer(&self) -> Option<u32> {
        (self.msg_type() == PARAM_PROBLEM).then(|| be32(&self.buffer.as_ref()[field::WORD]))
    }

    /// Types 0..=127 are errors (RFC 4443 section 2.1) and quote the offending packet.
    #[inline]
    pub fn is_error(&self) -> bool {
        self.msg_type() < 128
    }

    /// Everything after the 8-byte header.
    #[inline]
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// As much of the invoking packet as an error message carries.
    #[inline]
    pub fn quoted_packet(&self) -> Option<&[u8]> {
        self.is_error().then(|| self.payload())
    }
}

#[inline]
fn pseudo_sum(src: &[u8; 16], dst: &[u8; 16], len: usize) -> u32 {
    let len = u32::try_from(len).unwrap_or(u32::MAX);
    pseudo_header_v6(src, dst, ip_proto::ICMPV6, len)
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline]
    pub fn set_msg_type(&mut self, value: u8) {
        self.buffer.as_mut()[field::TYPE] = value;
    }

    #[inline]
    pub fn set_code(&mut self, value: u8) {
        self.buffer.as_mut()[field::CODE] = value;
    }

    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        self.buffer.as_mut()[field::CHECKSUM].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_echo_ident(&mut self, value: u16) {
        self.buffer.as_mut()[field::ECHO_IDENT].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_echo_seq_no(&mut self, value: u16) {
        self.buffer.as_mut()[field::ECHO_SEQNO].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes bytes 4..8 as a Packet Too Big MTU.
    #[inline]
    pub fn set_mtu(&mut self, value: u32) {
        self.buffer.as_mut()[field::WORD].copy_from_slice(&value.to_be_bytes());
    }

    /// Writes bytes 4..8 as a Parameter Problem pointer.
    #[inline]
    pub fn set_pointer(&mut self, value: u32) {
        self.buffer.as_mut()[field::WORD].copy_from_slice(&value.to_be_bytes());
    }

    /// Computes and stores the checksum for a message from `src` to `dst`.
    #[inline]
    pub fn fill_checksum(&mut self, src: &[u8; 16], dst: &[u8; 16]) {
        self.set_checksum(0);
        let data = self.buffer.as_ref();
        let csum = !fold(pseudo_sum(src, dst, data.len()) + sum(data));
        self.set_checksum(csum);
    }

    /// Turns an echo request into its reply in place (type 128 to 129), patching the
    /// checksum incrementally (RFC 1624). Swapping source and destination in the IPv6
    /// header leaves the pseudo-header sum, hence the checksum, unchanged.
    #[inline]
    pub fn make_echo_reply(&mut self) {
        let old = u16::from_be_bytes([self.msg_type(), self.code()]);
        self.set_msg_type(ECHO_REPLY);
        let new = u16::from_be_bytes([ECHO_REPLY, self.code()]);
        let csum = update16(self.checksum(), old, new);
        self.set_checksum(csum);
    }

    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        self.buffer
            .as_mut()
            .get_mut(HEADER_LEN..)
            .unwrap_or(&mut [])
    }
}

#[cfg(test)]
mod tests;
