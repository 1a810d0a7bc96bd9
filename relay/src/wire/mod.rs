//! Zero-copy header views over byte buffers, after smoltcp's `wire` module.
//!
//! Each view wraps any `T: AsRef<[u8]>` (a slice of an mbuf, a `Vec`, an array) without
//! copying. `new_unchecked` trusts the buffer; `new_checked` validates it once, after which
//! no getter panics and payload accessors stay inside the buffer. Setters need
//! `T: AsMut<[u8]>` too. Nothing here allocates.

use core::fmt;
use core::str::FromStr;

pub mod arp;
pub(crate) mod bytes;
pub mod checksum;
pub mod ethernet;
pub mod icmpv4;
pub mod icmpv6;
pub mod ipv4;
pub mod ipv6;
pub mod ports;
#[cfg(test)]
mod testdata;

pub use arp::Packet as ArpPacket;
pub use ethernet::Frame as EthernetFrame;
pub use icmpv4::Packet as Icmpv4Packet;
pub use icmpv6::Packet as Icmpv6Packet;
pub use ipv4::Packet as Ipv4Packet;
pub use ipv6::Packet as Ipv6Packet;
pub use ports::Packet as PortsPacket;

/// Why a buffer is not a valid header of the requested kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Error {
    /// The buffer is shorter than the header (or the length it declares).
    Truncated,
    /// A field holds a value this view cannot accept (wrong version, inconsistent length).
    Malformed,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated packet",
            Error::Malformed => "malformed packet",
        })
    }
}

impl std::error::Error for Error {}

pub type Result<T> = core::result::Result<T, Error>;

/// EtherType values (IEEE 802.3).
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const IPV6: u16 = 0x86DD;
}

/// ECN codepoints, the low two bits of the IPv4 TOS and IPv6 traffic class (RFC 3168).
pub mod ecn {
    pub const NOT_ECT: u8 = 0b00;
    pub const ECT1: u8 = 0b01;
    pub const ECT0: u8 = 0b10;
    pub const CE: u8 = 0b11;
}

/// IP protocol / IPv6 next-header numbers (IANA).
pub mod ip_proto {
    pub const HOP_BY_HOP: u8 = 0;
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    /// IPv6 encapsulated in IPv4 (RFC 4213), the 6to4 payload.
    pub const IPV6: u8 = 41;
    pub const IPV6_ROUTING: u8 = 43;
    pub const IPV6_FRAGMENT: u8 = 44;
    pub const ICMPV6: u8 = 58;
    pub const IPV6_NO_NEXT: u8 = 59;
    pub const IPV6_DEST_OPTS: u8 = 60;
}

// Field readers for the views. Callers index with ranges their `check_len` guarantees.
#[inline]
pub(crate) fn be16(bytes: &[u8]) -> u16 {
    u16::from_be_bytes([bytes[0], bytes[1]])
}

#[inline]
pub(crate) fn be32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

#[inline]
pub(crate) fn array<const N: usize>(bytes: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&bytes[..N]);
    out
}

/// A 48-bit IEEE 802 MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    #[inline]
    pub const fn octets(&self) -> [u8; 6] {
        self.0
    }

    #[inline]
    pub fn is_broadcast(&self) -> bool {
        self.0 == [0xff; 6]
    }

    /// Group bit (I/G) set; broadcast is a multicast address too.
    #[inline]
    pub fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    #[inline]
    pub fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Locally administered (U/L bit set).
    #[inline]
    pub fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl From<[u8; 6]> for EthernetAddress {
    #[inline]
    fn from(octets: [u8; 6]) -> Self {
        EthernetAddress(octets)
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

/// Error parsing an [`EthernetAddress`] from text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrParseError(String);

impl fmt::Display for AddrParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid Ethernet address {:?}: expected six hex octets like 02:00:5e:10:00:01",
            self.0
        )
    }
}

impl std::error::Error for AddrParseError {}

impl FromStr for EthernetAddress {
    type Err = AddrParseError;

    /// Accepts `aa:bb:cc:dd:ee:ff` or `aa-bb-cc-dd-ee-ff`, either case, two digits per octet.
    fn from_str(s: &str) -> core::result::Result<Self, Self::Err> {
        let err = || AddrParseError(s.to_owned());
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut out = [0u8; 6];
        let mut parts = s.split(sep);
        for octet in out.iter_mut() {
            let part = parts.next().ok_or_else(err)?;
            if part.len() != 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(err());
            }
            *octet = u8::from_str_radix(part, 16).map_err(|_| err())?;
        }
        if parts.next().is_some() {
            return Err(err());
        }
        Ok(EthernetAddress(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_classes() {
        let bcast = EthernetAddress::BROADCAST;
        assert!(bcast.is_broadcast() && bcast.is_multicast() && !bcast.is_unicast());
        let mcast = EthernetAddress([0x33, 0x33, 0xff, 0x00, 0x00, 0x01]);
        assert!(!mcast.is_broadcast() && mcast.is_multicast() && !mcast.is_unicast());
        let ucast = EthernetAddress([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);
        assert!(!ucast.is_broadcast() && !ucast.is_multicast() && ucast.is_unicast());
        assert!(ucast.is_local());
        assert!(!EthernetAddress([0x00, 0x1b, 0x21, 0, 0, 1]).is_local());
    }

    #[test]
    fn address_text_round_trip() {
        let a = EthernetAddress([0x02, 0x00, 0x5e, 0x10, 0xab, 0xff]);
        assert_eq!(a.to_string(), "02:00:5e:10:ab:ff");
        assert_eq!("02:00:5e:10:ab:ff".parse::<EthernetAddress>(), Ok(a));
        assert_eq!("02-00-5E-10-AB-FF".parse::<EthernetAddress>(), Ok(a));
    }

    #[test]
    fn address_parse_rejects_bad_text() {
        for bad in [
            "",
            "02:00:5e:10:ab",
            "02:00:5e:10:ab:ff:00",
            "02:00:5e:10:ab:f",
            "02:00:5e:10:ab:fff",
            "02:00:5e:10:ab:gg",
            "02:00:5e:10:ab:+f",
            "02:00-5e:10:ab:ff",
            "02:00:5e:10:ab:ff:",
        ] {
            let err = bad.parse::<EthernetAddress>().unwrap_err();
            assert_eq!(err, AddrParseError(bad.to_owned()), "{bad:?}");
        }
        assert_eq!(
            "zz".parse::<EthernetAddress>().unwrap_err().to_string(),
            "invalid Ethernet address \"zz\": expected six hex octets like 02:00:5e:10:00:01"
        );
    }

    #[test]
    fn error_display() {
        assert_eq!(Error::Truncated.to_string(), "truncated packet");
        assert_eq!(Error::Malformed.to_string(), "malformed packet");
    }
}
