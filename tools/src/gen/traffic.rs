//! The addresses of the generated traffic and how each flow derives its own from them.
//!
//! Defaults follow the spec's test plan: the relay is 198.51.100.7, the 6to4 sites are the
//! hosts of 203.0.113.0/24 (site V has prefix `2002:V::/48`), native IPv6 is 2001:db8::/32
//! (clients in 2001:db8:1::/48, servers in 2001:db8:2::/48), martians come from 10.0.0.0/8.
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Serialize;

use super::mix::Kind;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Addresses {
    #[serde(serialize_with = "ser_mac")]
    pub dst_mac: [u8; 6],
    #[serde(serialize_with = "ser_mac")]
    pub src_mac: [u8; 6],
    /// The relay's IPv4 address: outer destination of decap traffic.
    pub relay_v4: Ipv4Addr,
    /// The 6to4 sites: flow f uses host `f mod hosts` of this prefix.
    pub sites: Prefix4,
    /// Native IPv6 sources and destinations: flow f adds f + 1 to the low 32 bits.
    pub native_src: Ipv6Addr,
    pub native_dst: Ipv6Addr,
    pub ttl: u8,
    pub udp_dst_port: u16,
}

impl Default for Addresses {
    fn default() -> Addresses {
        Addresses {
            dst_mac: [0x02, 0, 0, 0, 0, 0x01],
            src_mac: [0x02, 0, 0, 0, 0, 0x10],
            relay_v4: Ipv4Addr::new(198, 51, 100, 7),
            sites: Prefix4 { addr: Ipv4Addr::new(203, 0, 113, 0), len: 24 },
            native_src: Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 0),
            native_dst: Ipv6Addr::new(0x2001, 0xdb8, 2, 0, 0, 0, 0, 0),
            ttl: 64,
            udp_dst_port: 9, // discard (RFC 863): the traffic is a sink's
        }
    }
}

fn ser_mac<S: serde::Serializer>(mac: &[u8; 6], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format_mac(mac))
}

pub fn format_mac(m: &[u8; 6]) -> String {
    format!("{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", m[0], m[1], m[2], m[3], m[4], m[5])
}

pub fn parse_mac(s: &str) -> Result<[u8; 6], String> {
    let mut out = [0u8; 6];
    let parts: Vec<&str> = s.trim().split(':').collect();
    if parts.len() != 6 {
        return Err(format!("{s:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"));
    }
    for (o, p) in out.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return Err(format!("{s:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"));
        }
        *o = u8::from_str_radix(p, 16).map_err(|_| format!("{s:?} is not a MAC address (aa:bb:cc:dd:ee:ff)"))?;
    }
    Ok(out)
}

/// An IPv4 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Prefix4 {
    pub addr: Ipv4Addr,
    pub len: u8,
}

impl Prefix4 {
    pub fn parse(s: &str) -> Result<Prefix4, String> {
        let (a, l) = s.split_once('/').unwrap_or((s, "32"));
        let addr: Ipv4Addr = a.trim().parse().map_err(|_| format!("{a:?} is not an IPv4 address"))?;
        let len: u8 = l.trim().parse().ok().filter(|l| *l <= 32).ok_or_else(|| format!("{l:?} is not a prefix length 0..=32"))?;
        let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
        Ok(Prefix4 { addr: Ipv4Addr::from(u32::from(addr) & mask), len })
    }

    /// Usable hosts: the network and broadcast addresses are left out up to /30.
    pub fn hosts(&self) -> u32 {
        match self.len {
            0 => u32::MAX - 1,
            1..=30 => (1u32 << (32 - self.len)) - 2,
            31 => 2,
            _ => 1,
        }
    }

    /// Host `i mod hosts()`.
    pub fn host(&self, i: u64) -> Ipv4Addr {
        let first = if self.len <= 30 { 1 } else { 0 };
        let n = u64::from(self.hosts());
        Ipv4Addr::from(u32::from(self.addr).wrapping_add(first + (i % n) as u32))
    }
}

/// The 6to4 address `2002:V:sla::1`.
pub fn sixtofour(v: Ipv4Addr, sla: u16) -> Ipv6Addr {
    let o = v.octets();
    Ipv6Addr::new(0x2002, u16::from_be_bytes([o[0], o[1]]), u16::from_be_bytes([o[2], o[3]]), sla, 0, 0, 0, 1)
}

fn plus(base: Ipv6Addr, n: u64) -> Ipv6Addr {
    let mut o = base.octets();
    let low = u32::from_be_bytes([o[12], o[13], o[14], o[15]]).wrapping_add(n as u32);
    o[12..].copy_from_slice(&low.to_be_bytes());
    Ipv6Addr::from(o)
}

/// A martian IPv4 address in 10.0.0.0/8 for flow f.
pub fn martian_v4(flow: u64) -> Ipv4Addr {
    Ipv4Addr::from(0x0a00_0001u32 + (flow % 0x00ff_fffe) as u32)
}

/// What one generated packet looks like, before sizes and stamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Ethernet / IPv6 / UDP.
    Native { src: Ipv6Addr, dst: Ipv6Addr },
    /// Ethernet / IPv4 (protocol 41) / IPv6 / UDP.
    Tunnel { outer_src: Ipv4Addr, outer_dst: Ipv4Addr, src: Ipv6Addr, dst: Ipv6Addr },
}

/// Which RFC 3964 / RFC 4213 rule an invalid packet of flow f breaks (`f mod 4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invalid {
    /// Protocol 41 from 10.x with inner source `2002:<10.x>::1`: martian V (RFC 3964 §5.2).
    MartianSite,
    /// Protocol 41 carrying native → native: "no business in the tunnel".
    NativeInTunnel,
    /// Protocol 41 whose inner 6to4 source embeds another V than the outer source.
    SpoofedSource,
    /// Native IPv6 to `2002:<10.x>::1`: encapsulation towards a martian.
    MartianDestination,
}

impl Invalid {
    pub fn of_flow(flow: u64) -> Invalid {
        match flow % 4 {
            0 => Invalid::MartianSite,
            1 => Invalid::NativeInTunnel,
            2 => Invalid::SpoofedSource,
            _ => Invalid::MartianDestination,
        }
    }
}

impl Addresses {
    /// Flow f's site (6to4 V) and subnet id: hosts first, then the SLA, so the first
    /// `hosts` flows differ in their IPv4 pair (what RSS spreads on).
    pub fn site(&self, flow: u64) -> (Ipv4Addr, u16) {
        let hosts = u64::from(self.sites.hosts());
        (self.sites.host(flow), (flow / hosts) as u16)
    }

    pub fn native_src(&self, flow: u64) -> Ipv6Addr {
        plus(self.native_src, flow + 1)
    }

    pub fn native_dst(&self, flow: u64) -> Ipv6Addr {
        plus(self.native_dst, flow + 1)
    }

    pub fn udp_src_port(&self, flow: u64) -> u16 {
        1024 + (flow % 64_512) as u16
    }

    /// The headers of flow `flow` of `kind`.
    pub fn shape(&self, kind: Kind, flow: u64) -> Shape {
        let (v, sla) = self.site(flow);
        match kind {
            Kind::Encap => Shape::Native { src: self.native_src(flow), dst: sixtofour(v, sla) },
            Kind::Decap => Shape::Tunnel {
                outer_src: v,
                outer_dst: self.relay_v4,
                src: sixtofour(v, sla),
                dst: self.native_dst(flow),
            },
            Kind::Transit => Shape::Native { src: self.native_src(flow), dst: self.native_dst(flow) },
            Kind::Invalid => match Invalid::of_flow(flow) {
                Invalid::MartianSite => {
                    let m = martian_v4(flow);
                    Shape::Tunnel { outer_src: m, outer_dst: self.relay_v4, src: sixtofour(m, 0), dst: self.native_dst(flow) }
                }
                Invalid::NativeInTunnel => Shape::Tunnel {
                    outer_src: v,
                    outer_dst: self.relay_v4,
                    src: self.native_src(flow),
                    dst: self.native_dst(flow),
                },
                Invalid::SpoofedSource => {
                    let other = Ipv4Addr::from(u32::from(v).wrapping_add(1));
                    Shape::Tunnel { outer_src: v, outer_dst: self.relay_v4, src: sixtofour(other, sla), dst: self.native_dst(flow) }
                }
                Invalid::MartianDestination => {
                    Shape::Native { src: self.native_src(flow), dst: sixtofour(martian_v4(flow), 0) }
                }
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixtofour_embeds_v() {
        assert_eq!(sixtofour(Ipv4Addr::new(198, 51, 100, 7), 0), "2002:c633:6407::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(sixtofour(Ipv4Addr::new(203, 0, 113, 1), 5), "2002:cb00:7101:5::1".parse::<Ipv6Addr>().unwrap());
    }

    #[test]
    fn prefixes_and_hosts() {
        let p = Prefix4::parse("203.0.113.9/24").unwrap();
        assert_eq!(p, Prefix4 { addr: Ipv4Addr::new(203, 0, 113, 0), len: 24 });
        assert_eq!(p.hosts(), 254);
        assert_eq!(p.host(0), Ipv4Addr::new(203, 0, 113, 1));
        assert_eq!(p.host(253), Ipv4Addr::new(203, 0, 113, 254));
        assert_eq!(p.host(254), Ipv4Addr::new(203, 0, 113, 1));
        let one = Prefix4::parse("203.0.113.50").unwrap();
        assert_eq!((one.hosts(), one.host(7)), (1, Ipv4Addr::new(203, 0, 113, 50)));
        assert_eq!(Prefix4::parse("10.0.0.0/31").unwrap().host(1), Ipv4Addr::new(10, 0, 0, 1));
        assert!(Prefix4::parse("1.2.3.4/33").unwrap_err().contains("prefix length"));
        assert!(Prefix4::parse("1.2.3/8").unwrap_err().contains("not an IPv4 address"));
    }

    #[test]
    fn macs() {
        assert_eq!(parse_mac("02:00:00:00:00:0a"), Ok([2, 0, 0, 0, 0, 10]));
        assert!(parse_mac("02:00:00:00:00").is_err());
        assert!(parse_mac("02:00:00:00:00:0g").is_err());
        assert!(parse_mac("002:00:00:00:00:00").is_err());
        assert_eq!(format_mac(&[2, 0, 0, 0, 0xab, 1]), "02:00:00:00:ab:01");
    }

    #[test]
    fn flows_derive_their_addresses() {
        let a = Addresses::default();
        assert_eq!(a.site(0), (Ipv4Addr::new(203, 0, 113, 1), 0));
        assert_eq!(a.site(254), (Ipv4Addr::new(203, 0, 113, 1), 1));
        assert_eq!(a.native_src(0), "2001:db8:1::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(a.native_dst(0xffff_ffff), "2001:db8:2::".parse::<Ipv6Addr>().unwrap());
        assert_eq!(a.udp_src_port(0), 1024);
        assert_eq!(martian_v4(0), Ipv4Addr::new(10, 0, 0, 1));
        match a.shape(Kind::Invalid, 2) {
            Shape::Tunnel { outer_src, src, .. } => {
                assert_eq!(outer_src, Ipv4Addr::new(203, 0, 113, 3));
                assert_eq!(src, "2002:cb00:7104::1".parse::<Ipv6Addr>().unwrap());
            }
            other => panic!("spoofed source is tunnelled: {other:?}"),
        }
        assert_eq!(Invalid::of_flow(7), Invalid::MartianDestination);
    }
}
