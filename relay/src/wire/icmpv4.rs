//! ICMP for IPv4 (RFC 792, RFC 1191 next-hop MTU).
//!
//! The view covers the whole message (the IPv4 payload): the checksum spans all of it.

use super::checksum::{fold, internet_checksum, sum, update16};
use super::{be16, Error, Result};

mod field {
    use core::ops::Range;
    pub const TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const CHECKSUM: Range<usize> = 2..4;
    pub const ECHO_IDENT: Range<usize> = 4..6;
    pub const ECHO_SEQNO: Range<usize> = 6..8;
    pub const POINTER: usize = 4;
    /// RFC 1191: bytes 4..6 unused, 6..8 next-hop MTU.
    pub const REST: Range<usize> = 4..8;
    pub const MTU: Range<usize> = 6..8;
}

pub const HEADER_LEN: usize = 8;

pub const ECHO_REPLY: u8 = 0;
pub const DEST_UNREACHABLE: u8 = 3;
pub const SOURCE_QUENCH: u8 = 4;
pub const REDIRECT: u8 = 5;
pub const ECHO_REQUEST: u8 = 8;
pub const TIME_EXCEEDED: u8 = 11;
pub const PARAM_PROBLEM: u8 = 12;

/// Destination Unreachable codes.
pub const UNREACH_NET: u8 = 0;
pub const UNREACH_HOST: u8 = 1;
pub const UNREACH_PROTOCOL: u8 = 2;
pub const UNREACH_PORT: u8 = 3;
/// Fragmentation needed and DF set; carries the next-hop MTU.
pub const UNREACH_FRAG_NEEDED: u8 = 4;
pub const UNREACH_SOURCE_ROUTE: u8 = 5;
pub const UNREACH_ADMIN_PROHIBITED: u8 = 13;

/// Time Exceeded codes.
pub const TIME_EXCEEDED_TTL: u8 = 0;
pub const TIME_EXCEEDED_REASSEMBLY: u8 = 1;

/// A view of an ICMPv4 message.
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

    /// `Truncated` below the 8-byte header.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
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

    /// Whether the checksum over the whole message is correct.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        fold(sum(self.buffer.as_ref())) == 0xffff
    }

    #[inline]
    pub fn echo_ident(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::ECHO_IDENT])
    }

    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::ECHO_SEQNO])
    }

    /// The next-hop MTU of a "fragmentation needed" (type 3 code 4) message; 0 from a
    /// router predating RFC 1191.
    #[inline]
    pub fn next_hop_mtu(&self) -> Option<u16> {
        if self.msg_type() == DEST_UNREACHABLE && self.code() == UNREACH_FRAG_NEEDED {
            Some(be16(&self.buffer.as_ref()[field::MTU]))
        } else {
            None
        }
    }

    /// The octet pointer of a Parameter Problem message.
    #[inline]
    pub fn pointer(&self) -> Option<u8> {
        (self.msg_type() == PARAM_PROBLEM).then(|| self.buffer.as_ref()[field::POINTER])
    }

    /// Error messages quote the offending datagram.
    #[inline]
    pub fn is_error(&self) -> bool {
        matches!(
            self.msg_type(),
            DEST_UNREACHABLE | SOURCE_QUENCH | REDIRECT | TIME_EXCEEDED | PARAM_PROBLEM
        )
    }

    /// Everything after the 8-byte header (echo data, or the quoted datagram).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(HEADER_LEN..).unwrap_or(&[])
    }

    /// The quoted IPv4 header and leading payload bytes of an error message.
    #[inline]
    pub fn quoted_packet(&self) -> Option<&[u8]> {
        self.is_error().then(|| self.payload())
    }
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

    /// Writes the RFC 1191 word: two zero bytes, then the MTU.
    #[inline]
    pub fn set_next_hop_mtu(&mut self, mtu: u16) {
        let [hi, lo] = mtu.to_be_bytes();
        self.buffer.as_mut()[field::REST].copy_from_slice(&[0, 0, hi, lo]);
    }

    /// Computes and stores the checksum over the whole message.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let csum = internet_checksum(self.buffer.as_ref());
        self.set_checksum(csum);
    }

    /// Turns an echo request into its reply in place (type 8 to 0), patching the
    /// checksum incrementally (RFC 1624) instead of summing the data again.
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
