//! The timestamp every generated packet carries at the start of its UDP payload, and how the
//! receive side finds it again after the relay re-encapsulated or decapsulated the packet.
//!
//! Layout (24 bytes, network order): magic `RGN1`, stream id (u16), traffic kind (u8), run id
//! (u8), sequence number (u64), TX TSC (u64). The run id differs between runs (0 in written
//! pcaps), so packets of an earlier run still queued somewhere are not counted as this run's.
//! Kind, run, sequence and TSC start 14 bytes into the UDP header (an even offset), so
//! rewriting them updates the UDP checksum with RFC 1624 arithmetic instead of summing the
//! packet again.
use relay::wire::checksum;
use relay::wire::{ethertype, ip_proto, EthernetFrame, Ipv4Packet, Ipv6Packet};

pub const MAGIC: [u8; 4] = *b"RGN1";
pub const STAMP_LEN: usize = 24;
pub const UDP_HEADER_LEN: usize = 8;
/// Stream id of the calibration packets (`--rate-percent` on virtual ports): the receiver
/// counts them apart from every real stream.
pub const CALIBRATION_STREAM: u16 = u16::MAX;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub stream: u16,
    pub kind: u8,
    pub run: u8,
    pub seq: u64,
    pub tsc: u64,
}

impl Stamp {
    pub fn to_bytes(&self) -> [u8; STAMP_LEN] {
        let mut b = [0u8; STAMP_LEN];
        b[0..4].copy_from_slice(&MAGIC);
        b[4..6].copy_from_slice(&self.stream.to_be_bytes());
        b[6] = self.kind;
        b[7] = self.run;
        b[8..16].copy_from_slice(&self.seq.to_be_bytes());
        b[16..24].copy_from_slice(&self.tsc.to_be_bytes());
        b
    }

    /// The stamp at the start of `bytes`, if it carries the magic.
    pub fn from_bytes(bytes: &[u8]) -> Option<Stamp> {
        let b: &[u8; STAMP_LEN] = bytes.get(..STAMP_LEN)?.try_into().ok()?;
        if b[0..4] != MAGIC {
            return None;
        }
        Some(Stamp {
            stream: u16::from_be_bytes([b[4], b[5]]),
            kind: b[6],
            run: b[7],
            seq: u64::from_be_bytes([b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]]),
            tsc: u64::from_be_bytes([b[16], b[17], b[18], b[19], b[20], b[21], b[22], b[23]]),
        })
    }
}

/// Where the UDP datagram carrying a stamp sits in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Located {
    /// Offset of the UDP header.
    pub udp: usize,
    /// The UDP checksum is mandatory (over IPv6) or in use (over IPv4, non-zero).
    pub checksummed: bool,
}

/// Finds the UDP datagram with a stamp: Ethernet (one 802.1Q tag allowed), then IPv6, or IPv4
/// carrying IPv6 (protocol 41) or UDP. Anything else, a fragment, or a datagram too short for
/// the stamp gives `None`.
pub fn locate(frame: &[u8]) -> Option<Located> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let mut off = eth.header_len();
    let mut proto = match eth.ethertype() {
        ethertype::IPV6 => ip_proto::IPV6,
        ethertype::IPV4 => {
            let ip = Ipv4Packet::new_checked(frame.get(off..)?).ok()?;
            if ip.is_fragment() {
                return None;
            }
            off += ip.header_len();
            ip.next_header()
        }
        _ => return None,
    };
    let mut v6 = false;
    if proto == ip_proto::IPV6 {
        let ip = Ipv6Packet::new_checked(frame.get(off..)?).ok()?;
        proto = ip.next_header();
        off += relay::wire::ipv6::HEADER_LEN;
        v6 = true;
    }
    if proto != ip_proto::UDP {
        return None;
    }
    let udp = frame.get(off..off + UDP_HEADER_LEN + STAMP_LEN)?;
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len < UDP_HEADER_LEN + STAMP_LEN || udp[UDP_HEADER_LEN..UDP_HEADER_LEN + 4] != MAGIC {
        return None;
    }
    Some(Located { udp: off, checksummed: v6 || udp[6..8] != [0, 0] })
}

/// The stamp of a received frame.
pub fn read(frame: &[u8]) -> Option<Stamp> {
    let at = locate(frame)?;
    Stamp::from_bytes(frame.get(at.udp + UDP_HEADER_LEN..)?)
}

/// Writes a new run id, sequence number and TX TSC into a frame's stamp (pcap replay) and
/// fixes the UDP checksum incrementally. Returns the updated stamp, `None` (frame unchanged)
/// if the frame carries none.
pub fn restamp(frame: &mut [u8], run: u8, seq: u64, tsc: u64) -> Option<Stamp> {
    let at = locate(frame)?;
    let s = at.udp + UDP_HEADER_LEN;
    let old = Stamp::from_bytes(frame.get(s..)?)?;
    let new = Stamp { run, seq, tsc, ..old };
    let (old_b, new_b) = (old.to_bytes(), new.to_bytes());
    if at.checksummed {
        let c = frame.get(at.udp + 6..at.udp + 8)?;
        let csum = u16::from_be_bytes([c[0], c[1]]);
        let mut updated = checksum::update_bytes(csum, &old_b[6..], &new_b[6..]);
        if updated == 0 {
            // UDP sends a computed zero as all ones: zero means "no checksum".
            updated = 0xffff;
        }
        frame.get_mut(at.udp + 6..at.udp + 8)?.copy_from_slice(&updated.to_be_bytes());
    }
    frame.get_mut(s + 6..s + STAMP_LEN)?.copy_from_slice(&new_b[6..]);
    Some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamp_bytes_round_trip() {
        let s = Stamp { stream: 0x0102, kind: 3, run: 9, seq: 0x1122_3344_5566_7788, tsc: 42 };
        let b = s.to_bytes();
        assert_eq!(&b[..8], &[b'R', b'G', b'N', b'1', 1, 2, 3, 9]);
        assert_eq!(&b[8..16], &0x1122_3344_5566_7788u64.to_be_bytes());
        assert_eq!(Stamp::from_bytes(&b), Some(s));
        assert_eq!(Stamp::from_bytes(&b[..23]), None);
        let mut bad = b;
        bad[0] = b'X';
        assert_eq!(Stamp::from_bytes(&bad), None);
    }

    #[test]
    fn garbage_is_not_a_stamp() {
        assert_eq!(read(&[]), None);
        assert_eq!(read(&[0u8; 13]), None);
        assert_eq!(read(&[0xffu8; 200]), None);
        let mut arp = vec![0u8; 60];
        arp[12..14].copy_from_slice(&ethertype::ARP.to_be_bytes());
        assert_eq!(read(&arp), None);
    }
}
