//! The port pair that opens TCP (RFC 9293), UDP (RFC 768), UDP-Lite (RFC 3828), DCCP
//! (RFC 4340) and SCTP (RFC 9260) headers: all four start with a 16-bit source and a 16-bit
//! destination port, which is all a flow hash reads of them.

use super::{be16, ip_proto, Error, Result};

mod field {
    use core::ops::Range;
    pub const SRC_PORT: Range<usize> = 0..2;
    pub const DST_PORT: Range<usize> = 2..4;
}

pub const HEADER_LEN: usize = 4;

/// DCCP, SCTP and UDP-Lite: not in [`ip_proto`], which names what the router itself reads.
const DCCP: u8 = 33;
const SCTP: u8 = 132;
const UDP_LITE: u8 = 136;

/// Whether upper-layer protocol `proto` opens with a source and destination port.
#[inline]
pub fn has_ports(proto: u8) -> bool {
    matches!(proto, ip_proto::TCP | ip_proto::UDP | DCCP | SCTP | UDP_LITE)
}

/// A view of the first four bytes of a transport header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// `Truncated` if the buffer cannot hold both ports.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let packet = Self::new_unchecked(buffer);
        packet.check_len()?;
        Ok(packet)
    }

    #[inline]
    pub fn check_len(&self) -> Result<()> {
        match self.buffer.as_ref().len() >= HEADER_LEN {
            true => Ok(()),
            false => Err(Error::Truncated),
        }
    }

    #[inline]
    pub fn src_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::SRC_PORT])
    }

    #[inline]
    pub fn dst_port(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::DST_PORT])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_both_ports_and_refuses_a_short_header() {
        let p = Packet::new_checked([0x1f, 0x90, 0x00, 0x35, 0xff]).expect("long enough");
        assert_eq!((p.src_port(), p.dst_port()), (8080, 53));
        assert_eq!(Packet::new_checked([0u8; 3]), Err(Error::Truncated));
        assert!(has_ports(6) && has_ports(17) && has_ports(132) && !has_ports(58) && !has_ports(44));
    }
}
