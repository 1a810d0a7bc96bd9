//! Neighbor Discovery bodies and options (RFC 4861 section 4).
//!
//! Getters answer `None` unless the message has the right type; with a buffer that passed
//! `new_checked`, the right type implies the fixed part is present. Setters check only
//! the length (the type may be set afterwards) and return `Truncated` if it is short.

use std::net::Ipv6Addr;

use super::{Packet, NEIGHBOR_ADVERT, NEIGHBOR_SOLICIT, REDIRECT, ROUTER_ADVERT, ROUTER_SOLICIT};
use crate::wire::{array, be16, be32, Error, EthernetAddress, Result};

mod field {
    use core::ops::Range;
    pub const RESERVED: Range<usize> = 4..8;
    pub const TARGET: Range<usize> = 8..24;
    pub const REDIRECT_DST: Range<usize> = 24..40;
    pub const RA_CUR_HOP_LIMIT: usize = 4;
    pub const RA_FLAGS: usize = 5;
    pub const RA_ROUTER_LIFETIME: Range<usize> = 6..8;
    pub const RA_REACHABLE_TIME: Range<usize> = 8..12;
    pub const RA_RETRANS_TIMER: Range<usize> = 12..16;
}

/// Neighbor Advertisement flags (byte 4).
pub const NA_FLAG_ROUTER: u8 = 0x80;
pub const NA_FLAG_SOLICITED: u8 = 0x40;
pub const NA_FLAG_OVERRIDE: u8 = 0x20;

/// Router Advertisement flags (byte 5).
pub const RA_FLAG_MANAGED: u8 = 0x80;
pub const RA_FLAG_OTHER: u8 = 0x40;

/// Option types.
pub const OPT_SOURCE_LL_ADDR: u8 = 1;
pub const OPT_TARGET_LL_ADDR: u8 = 2;
pub const OPT_PREFIX_INFO: u8 = 3;
pub const OPT_REDIRECTED_HEADER: u8 = 4;
pub const OPT_MTU: u8 = 5;

/// Length of the fixed part of a message of type `msg_type` (0 if not ND).
pub(super) const fn fixed_len(msg_type: u8) -> usize {
    match msg_type {
        ROUTER_SOLICIT => 8,
        ROUTER_ADVERT => 16,
        NEIGHBOR_SOLICIT | NEIGHBOR_ADVERT => 24,
        REDIRECT => 40,
        _ => 0,
    }
}

/// The fixed fields of a Router Advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RouterAdvert {
    pub cur_hop_limit: u8,
    /// [`RA_FLAG_MANAGED`], [`RA_FLAG_OTHER`] and the other bits as received.
    pub flags: u8,
    /// Seconds; 0: not a default router.
    pub router_lifetime: u16,
    /// Milliseconds.
    pub reachable_time: u32,
    /// Milliseconds.
    pub retrans_timer: u32,
}

/// Iterator over the options of an ND message as `(type, value)`, the value being the
/// option's bytes after its type and length octets. Yields one `Err` and stops on an
/// option of length 0 (`Malformed`, RFC 4861 section 4.6) or one running past the end
/// (`Truncated`).
#[derive(Debug, Clone)]
pub struct NdOptions<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for NdOptions<'a> {
    type Item = Result<(u8, &'a [u8])>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest;
        if rest.is_empty() {
            return None;
        }
        self.rest = &[];
        let Some(&units) = rest.get(1) else {
            return Some(Err(Error::Truncated));
        };
        let len = usize::from(units) * 8;
        if len == 0 {
            return Some(Err(Error::Malformed));
        }
        if len > rest.len() {
            return Some(Err(Error::Truncated));
        }
        let (option, after) = rest.split_at(len);
        self.rest = after;
        Some(Ok((option[0], &option[2..])))
    }
}

impl<T: AsRef<[u8]>> Packet<T> {
    #[inline]
    fn nd_field(&self, types: &[u8], range: core::ops::Range<usize>) -> Option<&[u8]> {
        if types.contains(&self.msg_type()) {
            self.buffer.as_ref().get(range)
        } else {
            None
        }
    }

    /// Target address of a Neighbor Solicitation, Advertisement or Redirect.
    #[inline]
    pub fn target_addr(&self) -> Option<Ipv6Addr> {
        let types = [NEIGHBOR_SOLICIT, NEIGHBOR_ADVERT, REDIRECT];
        self.nd_field(&types, field::TARGET)
            .map(|b| Ipv6Addr::from(array::<16>(b)))
    }

    /// Destination address of a Redirect.
    #[inline]
    pub fn redirect_dst_addr(&self) -> Option<Ipv6Addr> {
        let b = self.nd_field(&[REDIRECT], field::REDIRECT_DST)?;
        Some(Ipv6Addr::from(array::<16>(b)))
    }

    /// Flags of a Neighbor Advertisement ([`NA_FLAG_ROUTER`] etc.).
    #[inline]
    pub fn na_flags(&self) -> Option<u8> {
        self.nd_field(&[NEIGHBOR_ADVERT], field::RESERVED)
            .map(|b| b[0] & 0xe0)
    }

    #[inline]
    pub fn router_advert(&self) -> Option<RouterAdvert> {
        let b = self.nd_field(&[ROUTER_ADVERT], 0..fixed_len(ROUTER_ADVERT))?;
        Some(RouterAdvert {
            cur_hop_limit: b[field::RA_CUR_HOP_LIMIT],
            flags: b[field::RA_FLAGS],
            router_lifetime: be16(&b[field::RA_ROUTER_LIFETIME]),
            reachable_time: be32(&b[field::RA_REACHABLE_TIME]),
            retrans_timer: be32(&b[field::RA_RETRANS_TIMER]),
        })
    }

    /// The options of an ND message (empty for other types).
    #[inline]
    pub fn nd_options(&self) -> NdOptions<'_> {
        let start = match fixed_len(self.msg_type()) {
            0 => usize::MAX,
            n => n,
        };
        NdOptions {
            rest: self.buffer.as_ref().get(start..).unwrap_or(&[]),
        }
    }

    /// The first Source/Target Link-Layer Address option of type `kind` holding an
    /// Ethernet address; errors in the options before it are returned.
    pub fn link_layer_option(&self, kind: u8) -> Result<Option<EthernetAddress>> {
        for option in self.nd_options() {
            let (t, value) = option?;
            if t == kind {
                let addr = value.get(..6).ok_or(Error::Malformed)?;
                return Ok(Some(EthernetAddress(array(addr))));
            }
        }
        Ok(None)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    #[inline]
    fn nd_field_mut(&mut self, range: core::ops::Range<usize>) -> Result<&mut [u8]> {
        self.buffer.as_mut().get_mut(range).ok_or(Error::Truncated)
    }

    #[inline]
    pub fn set_target_addr(&mut self, addr: Ipv6Addr) -> Result<()> {
        self.nd_field_mut(field::TARGET)?
            .copy_from_slice(&addr.octets());
        Ok(())
    }

    #[inline]
    pub fn set_redirect_dst_addr(&mut self, addr: Ipv6Addr) -> Result<()> {
        self.nd_field_mut(field::REDIRECT_DST)?
            .copy_from_slice(&addr.octets());
        Ok(())
    }

    /// Writes the NA flags and zeroes the reserved bits (also the NS/RS reserved word
    /// when `flags` is 0).
    #[inline]
    pub fn set_na_flags(&mut self, flags: u8) -> Result<()> {
        self.nd_field_mut(field::RESERVED)?
            .copy_from_slice(&[flags & 0xe0, 0, 0, 0]);
        Ok(())
    }

    pub fn set_router_advert(&mut self, ra: &RouterAdvert) -> Result<()> {
        let b = self.nd_field_mut(0..fixed_len(ROUTER_ADVERT))?;
        b[field::RA_CUR_HOP_LIMIT] = ra.cur_hop_limit;
        b[field::RA_FLAGS] = ra.flags;
        b[field::RA_ROUTER_LIFETIME].copy_from_slice(&ra.router_lifetime.to_be_bytes());
        b[field::RA_REACHABLE_TIME].copy_from_slice(&ra.reachable_time.to_be_bytes());
        b[field::RA_RETRANS_TIMER].copy_from_slice(&ra.retrans_timer.to_be_bytes());
        Ok(())
    }

    /// Writes a Neighbor Advertisement for `target` at the start of the buffer, with a
    /// Target Link-Layer Address option if `target_ll` is given, and returns its length
    /// (24 or 32). The checksum is zeroed: fill it on a view of exactly that length.
    pub fn emit_neighbor_advert(
        &mut self,
        flags: u8,
        target: Ipv6Addr,
        target_ll: Option<EthernetAddress>,
    ) -> Result<usize> {
        let len = fixed_len(NEIGHBOR_ADVERT) + if target_ll.is_some() { 8 } else { 0 };
        let buf = self.nd_field_mut(0..len)?;
        buf[..4].copy_from_slice(&[NEIGHBOR_ADVERT, 0, 0, 0]);
        buf[field::RESERVED].copy_from_slice(&[flags & 0xe0, 0, 0, 0]);
        buf[field::TARGET].copy_from_slice(&target.octets());
        if let Some(ll) = target_ll {
            buf[24..26].copy_from_slice(&[OPT_TARGET_LL_ADDR, 1]);
            buf[26..32].copy_from_slice(&ll.0);
        }
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::Icmpv6Slice;

    fn addr(s: &str) -> [u8; 16] {
        s.parse::<Ipv6Addr>().unwrap().octets()
    }

    const HOST_LL: EthernetAddress = EthernetAddress([0x02, 0x00, 0x5e, 0x10, 0x00, 0x01]);
    const OUR_LL: EthernetAddress = EthernetAddress([0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe]);

    /// fe80::200:5eff:fe10:1 -> ff02::1:ff00:5: who has 2002:cb00:7101::5?
    const NS: [u8; 32] = [
        0x87, 0x00, 0x5f, 0xed, 0x00, 0x00, 0x00, 0x00, 0x20, 0x02, 0xcb, 0x00, 0x71, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x01, 0x01, 0x02, 0x00, 0x5e, 0x10,
        0x00, 0x01,
    ];
    /// 2002:cb00:7101::5 -> fe80::200:5eff:fe10:1: solicited, override, at 02:00:5e:10:00:fe.
    const NA: [u8; 32] = [
        0x88, 0x00, 0x9e, 0xf0, 0x60, 0x00, 0x00, 0x00, 0x20, 0x02, 0xcb, 0x00, 0x71, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05, 0x02, 0x01, 0x02, 0x00, 0x5e, 0x10,
        0x00, 0xfe,
    ];
    /// fe80::200:5eff:fe10:fe -> ff02::1: hop limit 64, M, lifetime 1800 s, reachable
    /// 30000 ms, retrans 1000 ms; options SLLA, MTU 1480, prefix 2002:cb00:7101::/64.
    const RA: [u8; 64] = [
        0x86, 0x00, 0xc4, 0xee, 0x40, 0x80, 0x07, 0x08, 0x00, 0x00, 0x75, 0x30, 0x00, 0x00, 0x03,
        0xe8, 0x01, 0x01, 0x02, 0x00, 0x5e, 0x10, 0x00, 0xfe, 0x05, 0x01, 0x00, 0x00, 0x00, 0x00,
        0x05, 0xc8, 0x03, 0x04, 0x40, 0xc0, 0x00, 0x01, 0x51, 0x80, 0x00, 0x00, 0x38, 0x40, 0x00,
        0x00, 0x00, 0x00, 0x20, 0x02, 0xcb, 0x00, 0x71, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00,
    ];
    const RA_VALUES: RouterAdvert = RouterAdvert {
        cur_hop_limit: 64,
        flags: RA_FLAG_MANAGED,
        router_lifetime: 1800,
        reachable_time: 30000,
        retrans_timer: 1000,
    };

    #[test]
    fn parse_neighbor_solicit() {
        let p = Packet::new_checked(&NS[..]).unwrap();
        let (src, dst) = (addr("fe80::200:5eff:fe10:1"), addr("ff02::1:ff00:5"));
        assert!(p.verify_checksum(&src, &dst));
        assert!(Icmpv6Slice::from_slice(&NS)
            .unwrap()
            .is_checksum_valid(src, dst));
        assert_eq!(p.target_addr(), Some("2002:cb00:7101::5".parse().unwrap()));
        assert_eq!(
            (p.na_flags(), p.router_advert(), p.redirect_dst_addr()),
            (None, None, None)
        );
        let options: Vec<_> = p.nd_options().collect();
        assert_eq!(options, [Ok((OPT_SOURCE_LL_ADDR, &HOST_LL.0[..]))]);
        assert_eq!(p.link_layer_option(OPT_SOURCE_LL_ADDR), Ok(Some(HOST_LL)));
        assert_eq!(p.link_layer_option(OPT_TARGET_LL_ADDR), Ok(None));
    }

    #[test]
    fn emit_neighbor_advert_bit_exact() {
        let mut buf = [0xffu8; 40];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        let target = "2002:cb00:7101::5".parse().unwrap();
        let len =
            p.emit_neighbor_advert(NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE, target, Some(OUR_LL));
        assert_eq!(len, Ok(32));
        let mut p = Packet::new_checked(&mut buf[..32]).unwrap();
        let (src, dst) = (addr("2002:cb00:7101::5"), addr("fe80::200:5eff:fe10:1"));
        p.fill_checksum(&src, &dst);
        assert_eq!(buf[..32], NA);
        assert!(Icmpv6Slice::from_slice(&NA)
            .unwrap()
            .is_checksum_valid(src, dst));

        let p = Packet::new_checked(&NA[..]).unwrap();
        assert_eq!(p.na_flags(), Some(NA_FLAG_SOLICITED | NA_FLAG_OVERRIDE));
        assert_eq!(p.target_addr(), Some(target));
        assert_eq!(p.link_layer_option(OPT_TARGET_LL_ADDR), Ok(Some(OUR_LL)));

        let mut short = [0u8; 24];
        let mut p = Packet::new_unchecked(&mut short[..]);
        assert_eq!(p.emit_neighbor_advert(NA_FLAG_ROUTER, target, None), Ok(24));
        assert_eq!(
            p.emit_neighbor_advert(0, target, Some(OUR_LL)),
            Err(Error::Truncated)
        );
        assert_eq!(short[4], NA_FLAG_ROUTER);
    }

    #[test]
    fn parse_router_advert() {
        let p = Packet::new_checked(&RA[..]).unwrap();
        let (src, dst) = (addr("fe80::200:5eff:fe10:fe"), addr("ff02::1"));
        assert!(p.verify_checksum(&src, &dst));
        assert_eq!(p.router_advert(), Some(RA_VALUES));
        assert_eq!(p.target_addr(), None);
        let options: Vec<_> = p
            .nd_options()
            .map(|o| o.map(|(t, v)| (t, v.len())))
            .collect();
        assert_eq!(options, [Ok((1, 6)), Ok((5, 6)), Ok((3, 30))]);
        let (_, mtu) = p.nd_options().nth(1).unwrap().unwrap();
        assert_eq!(mtu, &[0, 0, 0x00, 0x00, 0x05, 0xc8]);
        assert_eq!(p.link_layer_option(OPT_SOURCE_LL_ADDR), Ok(Some(OUR_LL)));
    }

    #[test]
    fn construct_router_advert_bit_exact() {
        let mut buf = RA;
        buf[..16].fill(0);
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(ROUTER_ADVERT);
        p.set_router_advert(&RA_VALUES).unwrap();
        p.fill_checksum(&addr("fe80::200:5eff:fe10:fe"), &addr("ff02::1"));
        assert_eq!(buf, RA);
    }

    #[test]
    fn redirect_addresses() {
        let mut buf = [0u8; 40];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_msg_type(REDIRECT);
        p.set_na_flags(0).unwrap();
        p.set_target_addr("fe80::1".parse().unwrap()).unwrap();
        p.set_redirect_dst_addr("2001:db8::9".parse().unwrap())
            .unwrap();
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.target_addr(), Some("fe80::1".parse().unwrap()));
        assert_eq!(p.redirect_dst_addr(), Some("2001:db8::9".parse().unwrap()));
        assert_eq!(p.nd_options().next(), None);
    }

    #[test]
    fn setters_on_short_buffers_are_truncated() {
        let mut buf = [NEIGHBOR_SOLICIT, 0, 0, 0, 0, 0, 0, 0];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        assert_eq!(
            p.set_target_addr(Ipv6Addr::LOCALHOST),
            Err(Error::Truncated)
        );
        assert_eq!(
            p.set_redirect_dst_addr(Ipv6Addr::LOCALHOST),
            Err(Error::Truncated)
        );
        assert_eq!(p.set_router_advert(&RA_VALUES), Err(Error::Truncated));
        assert_eq!(p.set_na_flags(NA_FLAG_ROUTER), Ok(()));
        // Unchecked and short: getters answer None rather than panic.
        assert_eq!(p.target_addr(), None);
        assert_eq!(p.nd_options().next(), None);
    }

    #[test]
    fn option_errors() {
        let with_options = |opts: &[u8]| {
            let mut m = NS[..24].to_vec();
            m.extend_from_slice(opts);
            m
        };
        // Zero length: Malformed, and the walk stops.
        let m = with_options(&[1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0]);
        let p = Packet::new_checked(&m[..]).unwrap();
        assert_eq!(p.nd_options().collect::<Vec<_>>(), [Err(Error::Malformed)]);
        assert_eq!(
            p.link_layer_option(OPT_SOURCE_LL_ADDR),
            Err(Error::Malformed)
        );
        // Length past the end.
        let m = with_options(&[2, 2, 0, 0, 0, 0, 0, 0]);
        let p = Packet::new_checked(&m[..]).unwrap();
        assert_eq!(p.nd_options().collect::<Vec<_>>(), [Err(Error::Truncated)]);
        // A good option, then one stray byte.
        let m = with_options(&[1, 1, 2, 0, 0x5e, 0x10, 0, 1, 14]);
        let p = Packet::new_checked(&m[..]).unwrap();
        let options: Vec<_> = p.nd_options().collect();
        assert_eq!(options, [Ok((1, &HOST_LL.0[..])), Err(Error::Truncated)]);
        // The first match is returned before a later error is seen.
        assert_eq!(p.link_layer_option(OPT_SOURCE_LL_ADDR), Ok(Some(HOST_LL)));
        assert_eq!(
            p.link_layer_option(OPT_TARGET_LL_ADDR),
            Err(Error::Truncated)
        );
    }
}
