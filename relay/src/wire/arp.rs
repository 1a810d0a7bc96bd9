//! ARP (RFC 826) for Ethernet and IPv4 only.

use std::net::Ipv4Addr;

use super::{array, be16, ethertype, Error, EthernetAddress, Result};

mod field {
    use core::ops::Range;
    pub const HTYPE: Range<usize> = 0..2;
    pub const PTYPE: Range<usize> = 2..4;
    pub const HLEN: usize = 4;
    pub const PLEN: usize = 5;
    pub const OPER: Range<usize> = 6..8;
    pub const SHA: Range<usize> = 8..14;
    pub const SPA: Range<usize> = 14..18;
    pub const THA: Range<usize> = 18..24;
    pub const TPA: Range<usize> = 24..28;
}

/// An Ethernet/IPv4 ARP message.
pub const PACKET_LEN: usize = 28;
pub const HTYPE_ETHERNET: u16 = 1;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

/// A view of an Ethernet/IPv4 ARP message.
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

    /// `Truncated` below 28 bytes (trailing Ethernet padding is allowed); `Malformed`
    /// unless hardware is Ethernet (1, length 6) and protocol is IPv4 (0x0800, length 4).
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        if self.hardware_type() != HTYPE_ETHERNET
            || self.protocol_type() != ethertype::IPV4
            || self.hardware_len() != 6
            || self.protocol_len() != 4
        {
            return Err(Error::Malformed);
        }
        Ok(())
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn hardware_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::HTYPE])
    }

    #[inline]
    pub fn protocol_type(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::PTYPE])
    }

    #[inline]
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[field::HLEN]
    }

    #[inline]
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[field::PLEN]
    }

    /// [`OP_REQUEST`], [`OP_REPLY`] or another value.
    #[inline]
    pub fn operation(&self) -> u16 {
        be16(&self.buffer.as_ref()[field::OPER])
    }

    #[inline]
    pub fn sender_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(array(&self.buffer.as_ref()[field::SHA]))
    }

    #[inline]
    pub fn sender_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(&self.buffer.as_ref()[field::SPA]))
    }

    #[inline]
    pub fn target_hardware_addr(&self) -> EthernetAddress {
        EthernetAddress(array(&self.buffer.as_ref()[field::THA]))
    }

    #[inline]
    pub fn target_protocol_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(array::<4>(&self.buffer.as_ref()[field::TPA]))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline]
    pub fn set_hardware_type(&mut self, value: u16) {
        self.buffer.as_mut()[field::HTYPE].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_protocol_type(&mut self, value: u16) {
        self.buffer.as_mut()[field::PTYPE].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::HLEN] = value;
    }

    #[inline]
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::PLEN] = value;
    }

    #[inline]
    pub fn set_operation(&mut self, value: u16) {
        self.buffer.as_mut()[field::OPER].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn set_sender_hardware_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SHA].copy_from_slice(&addr.0);
    }

    #[inline]
    pub fn set_sender_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::SPA].copy_from_slice(&addr.octets());
    }

    #[inline]
    pub fn set_target_hardware_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::THA].copy_from_slice(&addr.0);
    }

    #[inline]
    pub fn set_target_protocol_addr(&mut self, addr: Ipv4Addr) {
        self.buffer.as_mut()[field::TPA].copy_from_slice(&addr.octets());
    }

    /// Writes a whole Ethernet/IPv4 message (all 28 bytes).
    pub fn emit(
        &mut self,
        operation: u16,
        sender: (EthernetAddress, Ipv4Addr),
        target: (EthernetAddress, Ipv4Addr),
    ) {
        self.set_hardware_type(HTYPE_ETHERNET);
        self.set_protocol_type(ethertype::IPV4);
        self.set_hardware_len(6);
        self.set_protocol_len(4);
        self.set_operation(operation);
        self.set_sender_hardware_addr(sender.0);
        self.set_sender_protocol_addr(sender.1);
        self.set_target_hardware_addr(target.0);
        self.set_target_protocol_addr(target.1);
    }

    /// Turns a request into its reply in place: we (`our_hw`, owner of the requested
    /// address) become the sender and the requester the target.
    pub fn make_reply(&mut self, our_hw: EthernetAddress) {
        let requester = (self.sender_hardware_addr(), self.sender_protocol_addr());
        let asked = self.target_protocol_addr();
        self.emit(OP_REPLY, (our_hw, asked), requester);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const OUR_HW: EthernetAddress = EthernetAddress([0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe]);
    const HOST_HW: EthernetAddress = EthernetAddress([0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5e]);

    // "Who has 192.0.2.254? Tell 192.0.2.1", as on the wire after the Ethernet header.
    const REQUEST: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, //
        0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5e, 0xc0, 0x00, 0x02, 0x01, //
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc0, 0x00, 0x02, 0xfe,
    ];
    // "192.0.2.254 is at 02:00:5e:10:00:fe".
    const REPLY: [u8; 28] = [
        0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, //
        0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe, 0xc0, 0x00, 0x02, 0xfe, //
        0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5e, 0xc0, 0x00, 0x02, 0x01,
    ];

    #[test]
    fn parse_request() {
        let p = Packet::new_checked(&REQUEST[..]).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), 0x0800);
        assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
        assert_eq!(p.operation(), OP_REQUEST);
        assert_eq!(p.sender_hardware_addr(), HOST_HW);
        assert_eq!(p.sender_protocol_addr(), Ipv4Addr::new(192, 0, 2, 1));
        assert_eq!(p.target_hardware_addr(), EthernetAddress([0; 6]));
        assert_eq!(p.target_protocol_addr(), Ipv4Addr::new(192, 0, 2, 254));
    }

    #[test]
    fn make_reply_bit_exact() {
        // Minimum Ethernet payload is 46 bytes: the padding must survive untouched.
        let mut buf = [0xaau8; 46];
        buf[..28].copy_from_slice(&REQUEST);
        let mut p = Packet::new_checked(&mut buf[..]).unwrap();
        p.make_reply(OUR_HW);
        assert_eq!(&buf[..28], &REPLY);
        assert!(buf[28..].iter().all(|&b| b == 0xaa));
    }

    #[test]
    fn emit_bit_exact() {
        let mut buf = [0u8; 28];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.emit(
            OP_REQUEST,
            (HOST_HW, Ipv4Addr::new(192, 0, 2, 1)),
            (EthernetAddress([0; 6]), Ipv4Addr::new(192, 0, 2, 254)),
        );
        assert_eq!(buf, REQUEST);
    }

    #[test]
    fn setters_round_trip() {
        let mut buf = REQUEST;
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_hardware_type(6);
        p.set_protocol_type(0x86dd);
        p.set_hardware_len(8);
        p.set_protocol_len(16);
        p.set_operation(9);
        p.set_sender_hardware_addr(OUR_HW);
        p.set_sender_protocol_addr(Ipv4Addr::new(10, 1, 2, 3));
        p.set_target_hardware_addr(EthernetAddress::BROADCAST);
        p.set_target_protocol_addr(Ipv4Addr::new(10, 4, 5, 6));
        assert_eq!(p.hardware_type(), 6);
        assert_eq!(p.protocol_type(), 0x86dd);
        assert_eq!((p.hardware_len(), p.protocol_len()), (8, 16));
        assert_eq!(p.operation(), 9);
        assert_eq!(p.sender_hardware_addr(), OUR_HW);
        assert_eq!(p.sender_protocol_addr(), Ipv4Addr::new(10, 1, 2, 3));
        assert_eq!(p.target_hardware_addr(), EthernetAddress::BROADCAST);
        assert_eq!(p.target_protocol_addr(), Ipv4Addr::new(10, 4, 5, 6));
        assert_eq!(p.into_inner()[..8], [0, 6, 0x86, 0xdd, 8, 16, 0, 9]);
    }

    #[test]
    fn rejects_truncated_and_foreign() {
        for len in 0..PACKET_LEN {
            assert_eq!(
                Packet::new_checked(&REQUEST[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        // Byte, new value: htype 6 (IEEE 802), ptype IPv6, hlen 8, plen 16.
        for (at, value) in [(1, 6), (2, 0x86), (4, 8), (5, 16)] {
            let mut bad = REQUEST;
            bad[at] = value;
            assert_eq!(
                Packet::new_checked(&bad[..]).unwrap_err(),
                Error::Malformed,
                "byte {at}"
            );
        }
    }

    proptest! {
        #[test]
        fn accessors_never_panic(
            tail in proptest::collection::vec(any::<u8>(), 0..40),
            keep: usize,
        ) {
            let mut data = REQUEST[..keep % 9].to_vec();
            data.extend_from_slice(&tail);
            if let Ok(p) = Packet::new_checked(&data[..]) {
                prop_assert_eq!(p.hardware_type(), 1);
                let _ = (p.operation(), p.sender_hardware_addr(), p.sender_protocol_addr());
                let _ = (p.target_hardware_addr(), p.target_protocol_addr());
            }
        }
    }
}
