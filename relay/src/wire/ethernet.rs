//! Ethernet II frame with at most one IEEE 802.1Q tag.

use super::{array, be16, ethertype, Error, EthernetAddress, Result};

mod field {
    use core::ops::Range;
    pub const DESTINATION: Range<usize> = 0..6;
    pub const SOURCE: Range<usize> = 6..12;
    pub const ETHERTYPE: Range<usize> = 12..14;
    pub const VLAN_TCI: Range<usize> = 14..16;
    pub const INNER_ETHERTYPE: Range<usize> = 16..18;
}

/// Untagged header: destination, source, EtherType.
pub const HEADER_LEN: usize = 14;
/// Header with one 802.1Q tag.
pub const VLAN_HEADER_LEN: usize = 18;

/// A view of an Ethernet II frame. A frame whose outer EtherType is 0x8100 carries one
/// 802.1Q tag; its [`ethertype`](Frame::ethertype) is then the inner one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wraps `buffer` without checks; getters may panic if it is too short.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wraps `buffer` after [`check_len`](Frame::check_len).
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// `Truncated` unless the buffer holds the whole header (including the tag when the
    /// outer EtherType says there is one).
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN || (self.is_vlan_tagged() && len < VLAN_HEADER_LEN) {
            return Err(Error::Truncated);
        }
        Ok(())
    }

    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress(array(&self.buffer.as_ref()[field::DESTINATION]))
    }

    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress(array(&self.buffer.as_ref()[field::SOURCE]))
    }

    /// Whether the outer EtherType is the 802.1Q TPID.
    #[inline]
    pub fn is_vlan_tagged(&self) -> bool {
        self.buffer.as_ref().get(field::ETHERTYPE).map(be16) == Some(ethertype::VLAN)
    }

    /// The 12-bit VLAN identifier of the tag, if tagged.
    #[inline]
    pub fn vlan_id(&self) -> Option<u16> {
        self.vlan_tci().map(|tci| tci & 0x0fff)
    }

    /// The whole tag control information (PCP, DEI, VID), if tagged.
    #[inline]
    pub fn vlan_tci(&self) -> Option<u16> {
        if self.is_vlan_tagged() {
            self.buffer.as_ref().get(field::VLAN_TCI).map(be16)
        } else {
            None
        }
    }

    /// The EtherType of the payload (the inner one when tagged).
    #[inline]
    pub fn ethertype(&self) -> u16 {
        be16(&self.buffer.as_ref()[self.ethertype_field()])
    }

    /// 14, or 18 with a tag.
    #[inline]
    pub fn header_len(&self) -> usize {
        if self.is_vlan_tagged() {
            VLAN_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    /// Everything after the header (empty if the buffer is shorter than the header).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let data = self.buffer.as_ref();
        data.get(self.header_len()..).unwrap_or(&[])
    }

    #[inline]
    fn ethertype_field(&self) -> core::ops::Range<usize> {
        if self.is_vlan_tagged() {
            field::INNER_ETHERTYPE
        } else {
            field::ETHERTYPE
        }
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    #[inline]
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&addr.0);
    }

    #[inline]
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&addr.0);
    }

    /// Sets the payload EtherType: the inner one when tagged, so a tag is kept.
    #[inline]
    pub fn set_ethertype(&mut self, value: u16) {
        let f = self.ethertype_field();
        self.buffer.as_mut()[f].copy_from_slice(&value.to_be_bytes());
    }

    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_len();
        self.buffer.as_mut().get_mut(start..).unwrap_or(&mut [])
    }
}

/// An Ethernet header as a sender writes it: [`emit`](Repr::emit) fills the first
/// [`header_len`](Repr::header_len) bytes of a buffer (the tag's priority bits are 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub dst: [u8; 6],
    pub src: [u8; 6],
    /// 802.1Q VLAN id, if the frame is tagged.
    pub vlan: Option<u16>,
    pub ethertype: u16,
}

impl Repr {
    #[inline(always)]
    pub const fn header_len(&self) -> usize {
        if self.vlan.is_some() {
            VLAN_HEADER_LEN
        } else {
            HEADER_LEN
        }
    }

    /// Writes the header at the start of `frame`; `Truncated` (nothing written) if the
    /// frame is shorter than the header.
    #[inline(always)]
    pub fn emit(&self, frame: &mut [u8]) -> Result<()> {
        match self.vlan {
            None => {
                let h: &mut [u8; HEADER_LEN] = frame.get_mut(..HEADER_LEN).and_then(|h| h.try_into().ok()).ok_or(Error::Truncated)?;
                h[field::DESTINATION].copy_from_slice(&self.dst);
                h[field::SOURCE].copy_from_slice(&self.src);
                h[field::ETHERTYPE].copy_from_slice(&self.ethertype.to_be_bytes());
            }
            Some(vid) => {
                let h: &mut [u8; VLAN_HEADER_LEN] =
                    frame.get_mut(..VLAN_HEADER_LEN).and_then(|h| h.try_into().ok()).ok_or(Error::Truncated)?;
                h[field::DESTINATION].copy_from_slice(&self.dst);
                h[field::SOURCE].copy_from_slice(&self.src);
                h[field::ETHERTYPE].copy_from_slice(&ethertype::VLAN.to_be_bytes());
                h[field::VLAN_TCI].copy_from_slice(&(vid & 0x0fff).to_be_bytes());
                h[field::INNER_ETHERTYPE].copy_from_slice(&self.ethertype.to_be_bytes());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::{EtherType, PacketBuilder, SingleVlanHeader, VlanId};
    use proptest::prelude::*;

    const DST: [u8; 6] = [0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5e];
    const SRC: [u8; 6] = [0x02, 0x00, 0x5e, 0x10, 0x00, 0x01];

    // ARP request header, untagged, then tagged with VID 100, PCP 5.
    const UNTAGGED: [u8; 16] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x08, 0x06, 0x00,
        0x01,
    ];
    const TAGGED: [u8; 20] = [
        0x00, 0x1b, 0x21, 0x3a, 0x4c, 0x5e, 0x02, 0x00, 0x5e, 0x10, 0x00, 0x01, 0x81, 0x00, 0xa0,
        0x64, 0x86, 0xdd, 0x60, 0x00,
    ];

    #[test]
    fn parse_untagged() {
        let f = Frame::new_checked(&UNTAGGED[..]).unwrap();
        assert_eq!(f.dst_addr(), EthernetAddress::BROADCAST);
        assert_eq!(f.src_addr(), EthernetAddress(SRC));
        assert!(!f.is_vlan_tagged());
        assert_eq!(f.vlan_id(), None);
        assert_eq!(f.vlan_tci(), None);
        assert_eq!(f.ethertype(), ethertype::ARP);
        assert_eq!(f.header_len(), 14);
        assert_eq!(f.payload(), &[0x00, 0x01]);
    }

    #[test]
    fn parse_tagged() {
        let f = Frame::new_checked(&TAGGED[..]).unwrap();
        assert_eq!(f.dst_addr(), EthernetAddress(DST));
        assert!(f.is_vlan_tagged());
        assert_eq!(f.vlan_tci(), Some(0xa064));
        assert_eq!(f.vlan_id(), Some(100));
        assert_eq!(f.ethertype(), ethertype::IPV6);
        assert_eq!(f.header_len(), 18);
        assert_eq!(f.payload(), &[0x60, 0x00]);
    }

    #[test]
    fn construct_untagged_bit_exact() {
        let mut buf = [0u8; 16];
        buf[14..].copy_from_slice(&[0x00, 0x01]);
        let mut f = Frame::new_unchecked(&mut buf[..]);
        f.set_dst_addr(EthernetAddress::BROADCAST);
        f.set_src_addr(EthernetAddress(SRC));
        f.set_ethertype(ethertype::ARP);
        assert_eq!(buf, UNTAGGED);
    }

    #[test]
    fn repr_emits_untagged_and_tagged_headers_bit_exact() {
        let mut buf = [0u8; 18];
        let r = Repr { dst: [0xff; 6], src: SRC, vlan: None, ethertype: ethertype::ARP };
        r.emit(&mut buf).unwrap();
        assert_eq!(buf[..14], UNTAGGED[..14]);
        let r = Repr { dst: DST, src: SRC, vlan: Some(100), ethertype: ethertype::IPV6 };
        r.emit(&mut buf).unwrap();
        assert_eq!(buf[..], [&TAGGED[..14], &[0x00, 0x64, 0x86, 0xdd]].concat()[..]);
        assert_eq!(r.header_len(), 18);
        assert_eq!(r.emit(&mut [0u8; 17]), Err(Error::Truncated));
    }

    #[test]
    fn setters_keep_the_tag() {
        let mut buf = TAGGED;
        let mut f = Frame::new_checked(&mut buf[..]).unwrap();
        f.set_ethertype(ethertype::IPV4);
        f.set_dst_addr(EthernetAddress(SRC));
        f.set_src_addr(EthernetAddress(DST));
        f.payload_mut()[0] = 0x45;
        assert_eq!(f.vlan_id(), Some(100));
        assert_eq!(f.ethertype(), ethertype::IPV4);
        assert_eq!(f.dst_addr(), EthernetAddress(SRC));
        assert_eq!(f.src_addr(), EthernetAddress(DST));
        assert_eq!(&buf[12..19], &[0x81, 0x00, 0xa0, 0x64, 0x08, 0x00, 0x45]);
    }

    #[test]
    fn short_buffers_are_truncated() {
        assert_eq!(
            Frame::new_checked(&UNTAGGED[..13]).unwrap_err(),
            Error::Truncated
        );
        assert_eq!(Frame::new_checked(&[][..]).unwrap_err(), Error::Truncated);
        assert!(Frame::new_checked(&UNTAGGED[..14])
            .unwrap()
            .payload()
            .is_empty());
        // Tagged: 14..17 bytes hold the TPID but not the whole tag.
        for len in 14..18 {
            assert_eq!(
                Frame::new_checked(&TAGGED[..len]).unwrap_err(),
                Error::Truncated
            );
        }
        assert!(Frame::new_checked(&TAGGED[..18])
            .unwrap()
            .payload()
            .is_empty());
    }

    #[test]
    fn unchecked_short_payload_is_empty() {
        let mut short = [0x81, 0x00];
        assert!(Frame::new_unchecked(&short[..]).payload().is_empty());
        assert!(Frame::new_unchecked(&mut short[..])
            .payload_mut()
            .is_empty());
        assert_eq!(Frame::new_unchecked(&short[..]).vlan_id(), None);
    }

    #[test]
    fn etherparse_builds_we_read() {
        let payload = [0xde, 0xad, 0xbe, 0xef];
        let builder = PacketBuilder::ethernet2(SRC, DST)
            .single_vlan(VlanId::try_new(0x123).unwrap())
            .ipv6([1; 16], [2; 16], 64)
            .udp(1, 2);
        let mut bytes = Vec::new();
        builder.write(&mut bytes, &payload).unwrap();
        let f = Frame::new_checked(&bytes[..]).unwrap();
        assert_eq!(f.src_addr(), EthernetAddress(SRC));
        assert_eq!(f.dst_addr(), EthernetAddress(DST));
        assert_eq!(f.vlan_id(), Some(0x123));
        assert_eq!(f.ethertype(), ethertype::IPV6);
        assert_eq!(f.payload().len(), 40 + 8 + 4);
        assert_eq!(f.payload()[0] >> 4, 6);
    }

    #[test]
    fn we_build_etherparse_reads() {
        let mut buf = [0u8; 22];
        buf[12..14].copy_from_slice(&ethertype::VLAN.to_be_bytes());
        buf[14..16].copy_from_slice(&0x0fa5u16.to_be_bytes());
        let mut f = Frame::new_checked(&mut buf[..]).unwrap();
        f.set_dst_addr(EthernetAddress(DST));
        f.set_src_addr(EthernetAddress(SRC));
        f.set_ethertype(ethertype::IPV4);
        let eth = etherparse::Ethernet2HeaderSlice::from_slice(&buf).unwrap();
        assert_eq!(eth.destination(), DST);
        assert_eq!(eth.source(), SRC);
        assert_eq!(eth.ether_type(), EtherType::VLAN_TAGGED_FRAME);
        let (vlan, rest) = SingleVlanHeader::from_slice(&buf[14..]).unwrap();
        assert_eq!(vlan.vlan_id.value(), 0xfa5);
        assert_eq!(vlan.ether_type, EtherType::IPV4);
        assert_eq!(rest.len(), 4);
    }

    proptest! {
        #[test]
        fn accessors_never_panic(
            mut data in proptest::collection::vec(any::<u8>(), 0..40),
            tag: bool,
        ) {
            if tag && data.len() >= 14 {
                data[12..14].copy_from_slice(&ethertype::VLAN.to_be_bytes());
            }
            if let Ok(mut f) = Frame::new_checked(&mut data[..]) {
                let _ = (f.dst_addr(), f.src_addr(), f.vlan_id(), f.vlan_tci(), f.ethertype());
                let hl = f.header_len();
                let plen = f.payload().len();
                f.set_ethertype(0x1234);
                prop_assert_eq!(f.ethertype(), 0x1234);
                prop_assert_eq!(f.payload_mut().len(), plen);
                prop_assert_eq!(hl + plen, data.len());
            }
        }
    }
}
