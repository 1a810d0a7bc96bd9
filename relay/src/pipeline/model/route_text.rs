//! The text form of table changes, shared by `relayctl` and `[[pipeline.route]]`.
//!
//! ```text
//! update    = route | neighbour
//! route     = ["route"] "add" PREFIX target
//!           | ["route"] "del" PREFIX
//!           | ["route"] "add" PREFIX4 target4     an outer IPv4 route (where tunnel packets leave)
//!           | ["route"] "del" PREFIX4
//! target    = "via" IPV6 "port" N     gateway on port N (its MAC: a static neighbour)
//!           | "via" IPV6              IPV6 in 2002::/16 only: tunnel to its embedded V
//!           | "port" N                on-link on port N (each destination a neighbour)
//!           | "6to4"                  tunnel to the V of each destination (within 2002::/16)
//!           | "tunnel" N              configured tunnel N (RFC 4213)
//!           | "isatap" IPV4           the ISATAP link on our IPV4 (RFC 5214)
//!           | "6rd" PREFIX            the 6rd domain PREFIX (RFC 5969)
//!           | "ipv4-compatible"       to the V of ::V (within ::/96)
//!           | "6over4" IPV4           the 6over4 link on our IPV4 (RFC 2529)
//!           | "group" N               next-hop group N: one member per flow (ECMP)
//!           | "blackhole"             drop
//! neighbour = ("neighbour" | "neighbor" | "neigh") "set" IP MAC
//!           | ("neighbour" | "neighbor" | "neigh") "del" IP
//! tunnel    = "tunnel" "set" N "local" IPV4 "remote" IPV4 option*
//!           | "tunnel" "del" N
//! option    = "name" NAME | "mtu" 1280..1480 | "ttl" 1..255 | "dscp" ("copy" | 0..63)
//! group     = "group" "set" N ("nexthop" member ["weight" 1..256])+
//!           | "group" "del" N
//! member    = "via" IPV6 "port" N | "port" N | "via" IPV6 | "tunnel" N   (as in a target)
//! target4   = "via" IPV4 "port" N     through the IPv4 router IPV4 on port N
//!           | "blackhole"             drop
//! PREFIX    = IPV6 "/" 0..128         no host bits past the length
//! PREFIX4   = IPV4 "/" 0..32          no host bits past the length
//! ```
//! Words are separated by whitespace. Examples: `route add 2001:db8::/32 via fe80::1
//! port 1`, `route add 2002::/16 6to4`, `route add ::/0 via 2002:c058:6301::`,
//! `route del 2001:db8::/32`, `neighbour set 198.51.100.1 02:00:00:00:00:01`,
//! `tunnel set 0 local 198.51.100.7 remote 203.0.113.50 name to-b mtu 1400`,
//! `route add 2001:db8:50::/48 tunnel 0`, `route add 2001:db8::/32 6rd 2001:db8::/32`,
//! `group set 1 nexthop via fe80::1 port 0 nexthop via fe80::2 port 1 weight 2`,
//! `route add 2001:db8:c0::/44 group 1`, `route add 198.51.100.0/24 via 203.0.113.1 port 1`.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::{AddrParseError, EthernetAddress};

use super::settings::{DscpPolicy, Settings};
use super::tables::{check_prefix, check_prefix4, tunnel_remote, ConfiguredTunnel, GroupMember, NextHopGroup, Route4Target, RouteTarget, KERNEL_GROUPS, TableError, TableUpdate, TunnelName};

/// Why a line of the route grammar does not parse, or names a table entry that cannot be
/// (a bad prefix, a next hop that is no 6to4 address). `Display` is the operator's text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteTextError {
    /// A word is missing or not the one expected there; the text says which.
    #[error("{0}")]
    Expected(&'static str),
    #[error("`{0}` needs a prefix like 2001:db8::/32")]
    NeedsPrefix(String),
    #[error("`{0}` needs an IPv4 address")]
    NeedsIpv4(String),
    #[error("`{0}` needs a number")]
    NeedsNumber(String),
    #[error("{0:?}: not an IPv6 address")]
    NotIpv6(String),
    #[error("{0:?}: not an IPv4 address")]
    NotIpv4(String),
    #[error("{0:?}: not an IP address")]
    NotIp(String),
    #[error("{0:?}: expected a prefix like 2001:db8::/32")]
    NotPrefix(String),
    #[error("{0:?}: not a prefix length")]
    NotPrefixLength(String),
    #[error("{text:?}: not a {what} number")]
    NotNumber { text: String, what: String },
    #[error("unexpected {0:?} after the next hop: expected `port N`")]
    UnexpectedAfterNextHop(String),
    #[error("unexpected {0:?}: expected `via`, `port`, `6to4`, `tunnel`, `isatap`, `6rd`, `ipv4-compatible`, `6over4`, `group` or `blackhole`")]
    UnexpectedTarget(String),
    #[error("unexpected {0:?}: an IPv4 route takes `via IPV4 port N` or `blackhole`")]
    UnexpectedTarget4(String),
    #[error("unexpected {0:?}: expected `nexthop`")]
    ExpectedNexthop(String),
    #[error("unexpected {0:?} in a group member: expected `via`, `port` or `tunnel`")]
    UnexpectedMember(String),
    #[error("unexpected {0:?}: expected `local`, `remote`, `name`, `mtu`, `ttl` or `dscp`")]
    UnexpectedTunnelOption(String),
    #[error("unexpected {0:?} at the end")]
    TrailingWord(String),
    #[error("unknown {what} command {word:?}: expected {expected}")]
    UnknownCommand { what: &'static str, word: String, expected: &'static str },
    #[error("`{0}` given twice")]
    GivenTwice(String),
    #[error("the outer TTL must be 1..=255")]
    TtlOutOfRange,
    #[error("a DSCP value is 0..=63")]
    DscpOutOfRange,
    #[error("{0}")]
    Mac(#[from] AddrParseError),
    #[error(transparent)]
    Table(#[from] TableError),
}

/// Parses a route change (`route add …` / `route del …`, the `route` word optional).
pub fn parse_route(s: &str) -> Result<TableUpdate, RouteTextError> {
    let mut w = s.split_whitespace().peekable();
    if w.peek() == Some(&"route") {
        w.next();
    }
    let verb = w.next().ok_or(RouteTextError::Expected("empty route command: expected `add` or `del`"))?;
    let prefix_text = w.next().ok_or_else(|| RouteTextError::NeedsPrefix(verb.to_string()))?;
    if prefix_text.split_once('/').is_some_and(|(a, _)| a.parse::<Ipv4Addr>().is_ok()) {
        return parse_route4(verb, prefix_text, w);
    }
    let (prefix, len) = parse_ipv6_prefix(prefix_text)?;
    let update = match verb {
        "add" => {
            let target = match w.next() {
                Some("via") => {
                    let gw_text = w.next().ok_or(RouteTextError::Expected("`via` needs an IPv6 next hop"))?;
                    let gateway: Ipv6Addr = gw_text.parse().map_err(|_| RouteTextError::NotIpv6(gw_text.to_string()))?;
                    match w.next() {
                        Some("port") => RouteTarget::Via { gateway, port: parse_port(w.next())? },
                        Some(other) => return Err(RouteTextError::UnexpectedAfterNextHop(other.to_string())),
                        None => {
                            tunnel_remote(gateway)?;
                            RouteTarget::Tunnel { via: gateway }
                        }
                    }
                }
                Some("port") => RouteTarget::Connected { port: parse_port(w.next())? },
                Some("6to4") => RouteTarget::SixToFour,
                Some("tunnel") => RouteTarget::Configured { tunnel: parse_num(w.next(), "tunnel")? },
                Some("isatap") => RouteTarget::Isatap { local: parse_v4(w.next(), "isatap")? },
                Some("6rd") => {
                    let (prefix, len) = parse_ipv6_prefix(w.next().ok_or(RouteTextError::Expected("`6rd` needs the domain's prefix"))?)?;
                    RouteTarget::SixRd { prefix, len }
                }
                Some("ipv4-compatible") => RouteTarget::Ipv4Compatible,
                Some("6over4") => RouteTarget::SixOver4 { local: parse_v4(w.next(), "6over4")? },
                Some("group") => RouteTarget::Group { group: parse_num(w.next(), "group")? },
                Some("blackhole") => RouteTarget::Blackhole,
                Some(other) => return Err(RouteTextError::UnexpectedTarget(other.to_string())),
                None => return Err(RouteTextError::Expected("`add` needs a target: `via …`, `port N`, `6to4`, `tunnel N`, `isatap V`, `6rd PREFIX`, `ipv4-compatible`, `6over4 V`, `group N` or `blackhole`")),
            };
            TableUpdate::RouteAdd { prefix, len, target }
        }
        "del" => TableUpdate::RouteDel { prefix, len },
        other => return Err(RouteTextError::UnknownCommand { what: "route", word: other.to_string(), expected: "`add` or `del`" }),
    };
    if let Some(extra) = w.next() {
        return Err(RouteTextError::TrailingWord(extra.to_string()));
    }
    if let TableUpdate::RouteAdd { target: RouteTarget::SixToFour, .. } = update {
        if len < 16 || u128::from(prefix) >> 112 != 0x2002 {
            return Err(TableError::SixToFourOutside2002 { prefix, len }.into());
        }
    }
    Ok(update)
}

/// The rest of an outer IPv4 route change after its verb and prefix.
fn parse_route4<'a>(verb: &str, prefix_text: &str, mut w: impl Iterator<Item = &'a str>) -> Result<TableUpdate, RouteTextError> {
    let (prefix, len) = parse_ipv4_prefix(prefix_text)?;
    let update = match verb {
        "add" => {
            let target = match w.next() {
                Some("via") => {
                    let gateway = parse_v4(w.next(), "via")?;
                    match w.next() {
                        Some("port") => Route4Target::Via { gateway, port: parse_port(w.next())? },
                        Some(other) => return Err(RouteTextError::UnexpectedAfterNextHop(other.to_string())),
                        None => return Err(RouteTextError::Expected("`via IPV4` needs `port N`: the port the router is on")),
                    }
                }
                Some("blackhole") => Route4Target::Blackhole,
                Some(other) => return Err(RouteTextError::UnexpectedTarget4(other.to_string())),
                None => return Err(RouteTextError::Expected("`add` needs a target: `via IPV4 port N` or `blackhole`")),
            };
            TableUpdate::Route4Add { prefix, len, target }
        }
        "del" => TableUpdate::Route4Del { prefix, len },
        other => return Err(RouteTextError::UnknownCommand { what: "route", word: other.to_string(), expected: "`add` or `del`" }),
    };
    if let Some(extra) = w.next() {
        return Err(RouteTextError::TrailingWord(extra.to_string()));
    }
    Ok(update)
}

/// Parses a neighbour change (`neighbour set IP MAC` / `neighbour del IP`).
pub fn parse_neighbour(s: &str) -> Result<TableUpdate, RouteTextError> {
    let mut w = s.split_whitespace();
    match w.next() {
        Some("neighbour" | "neighbor" | "neigh") => {}
        _ => return Err(RouteTextError::Expected("expected `neighbour set IP MAC` or `neighbour del IP`")),
    }
    let verb = w.next().ok_or(RouteTextError::Expected("expected `set` or `del`"))?;
    let ip_text = w.next().ok_or(RouteTextError::Expected("expected an IP address"))?;
    let addr: IpAddr = ip_text.parse().map_err(|_| RouteTextError::NotIp(ip_text.to_string()))?;
    let update = match verb {
        "set" => {
            let mac_text = w.next().ok_or(RouteTextError::Expected("`set` needs a MAC address"))?;
            let mac: EthernetAddress = mac_text.parse()?;
            TableUpdate::NeighbourSet { addr, mac }
        }
        "del" => TableUpdate::NeighbourDel { addr },
        other => return Err(RouteTextError::UnknownCommand { what: "neighbour", word: other.to_string(), expected: "`set` or `del`" }),
    };
    if let Some(extra) = w.next() {
        return Err(RouteTextError::TrailingWord(extra.to_string()));
    }
    Ok(update)
}

/// Parses a configured tunnel change (`tunnel set N local A remote B [name S] [mtu M]
/// [ttl T] [dscp copy|D]` / `tunnel del N`).
pub fn parse_tunnel(s: &str) -> Result<TableUpdate, RouteTextError> {
    let mut w = s.split_whitespace();
    if w.next() != Some("tunnel") {
        return Err(RouteTextError::Expected("expected `tunnel set N local IPV4 remote IPV4 …` or `tunnel del N`"));
    }
    let verb = w.next().ok_or(RouteTextError::Expected("expected `set` or `del`"))?;
    let id = parse_num(w.next(), "tunnel")?;
    let update = match verb {
        "set" => TableUpdate::TunnelSet { id, tunnel: parse_tunnel_options(&mut w)? },
        "del" => TableUpdate::TunnelDel { id },
        other => return Err(RouteTextError::UnknownCommand { what: "tunnel", word: other.to_string(), expected: "`set` or `del`" }),
    };
    if let Some(extra) = w.next() {
        return Err(RouteTextError::TrailingWord(extra.to_string()));
    }
    Ok(update)
}

/// `local A remote B` and the options, each once, in any order.
fn parse_tunnel_options<'a>(w: &mut impl Iterator<Item = &'a str>) -> Result<ConfiguredTunnel, RouteTextError> {
    let (mut local, mut remote) = (None, None);
    let mut t = ConfiguredTunnel::new(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED);
    let mut seen: Vec<&str> = Vec::new();
    while let Some(key) = w.next() {
        if seen.contains(&key) {
            return Err(RouteTextError::GivenTwice(key.to_string()));
        }
        let value = w.next();
        match key {
            "local" => local = Some(parse_v4(value, key)?),
            "remote" => remote = Some(parse_v4(value, key)?),
            "name" => t.name = Some(TunnelName::new(value.ok_or(RouteTextError::Expected("`name` needs a name"))?)?),
            "mtu" => t.mtu = Some(parse_num(value, key)?),
            "ttl" => t.ttl = Some(parse_num::<u16>(value, key)?.try_into().map_err(|_| RouteTextError::TtlOutOfRange)?),
            "dscp" => {
                t.dscp = Some(match value {
                    Some("copy") => DscpPolicy::Copy,
                    v => DscpPolicy::Fixed(parse_num::<u16>(v, key)?.try_into().map_err(|_| RouteTextError::DscpOutOfRange)?),
                })
            }
            other => return Err(RouteTextError::UnexpectedTunnelOption(other.to_string())),
        }
        seen.push(key);
    }
    t.local = local.ok_or(RouteTextError::Expected("expected `local IPV4`"))?;
    t.remote = remote.ok_or(RouteTextError::Expected("expected `remote IPV4`"))?;
    t.check()?;
    Ok(t)
}

/// Parses a next-hop group change (`group set N nexthop … [nexthop …]` / `group del N`).
pub fn parse_group(s: &str) -> Result<TableUpdate, RouteTextError> {
    let mut w = s.split_whitespace().peekable();
    if w.next() != Some("group") {
        return Err(RouteTextError::Expected("expected `group set N nexthop …` or `group del N`"));
    }
    let verb = w.next().ok_or(RouteTextError::Expected("expected `set` or `del`"))?;
    let id = parse_num(w.next(), "group")?;
    let update = match verb {
        "set" => {
            let mut members = Vec::new();
            loop {
                match w.next() {
                    Some("nexthop") => members.push(parse_member(&mut w)?),
                    Some(other) => return Err(RouteTextError::ExpectedNexthop(other.to_string())),
                    None => break,
                }
            }
            TableUpdate::GroupSet { id, group: NextHopGroup::new(members)? }
        }
        "del" => TableUpdate::GroupDel { id },
        other => return Err(RouteTextError::UnknownCommand { what: "group", word: other.to_string(), expected: "`set` or `del`" }),
    };
    if let Some(extra) = w.next() {
        return Err(RouteTextError::TrailingWord(extra.to_string()));
    }
    Ok(update)
}

/// One member after its `nexthop`: a next hop as in a route's target, then its weight.
fn parse_member<'a>(w: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>) -> Result<GroupMember, RouteTextError> {
    let target = match w.next() {
        Some("via") => {
            let gw_text = w.next().ok_or(RouteTextError::Expected("`via` needs an IPv6 next hop"))?;
            let gateway: Ipv6Addr = gw_text.parse().map_err(|_| RouteTextError::NotIpv6(gw_text.to_string()))?;
            if w.next_if_eq(&"port").is_some() {
                RouteTarget::Via { gateway, port: parse_port(w.next())? }
            } else {
                tunnel_remote(gateway)?;
                RouteTarget::Tunnel { via: gateway }
            }
        }
        Some("port") => RouteTarget::Connected { port: parse_port(w.next())? },
        Some("tunnel") => RouteTarget::Configured { tunnel: parse_num(w.next(), "tunnel")? },
        Some(other) => return Err(RouteTextError::UnexpectedMember(other.to_string())),
        None => return Err(RouteTextError::Expected("`nexthop` needs a next hop: `via IPV6 port N`, `port N`, `via 2002:…` or `tunnel N`")),
    };
    let weight = match w.next_if_eq(&"weight") {
        Some(_) => parse_num(w.next(), "weight")?,
        None => 1,
    };
    Ok(GroupMember { target, weight })
}

/// Any form, chosen by the first word.
pub fn parse_update(s: &str) -> Result<TableUpdate, RouteTextError> {
    match s.split_whitespace().next() {
        Some("neighbour" | "neighbor" | "neigh") => parse_neighbour(s),
        Some("tunnel") => parse_tunnel(s),
        Some("group") => parse_group(s),
        _ => parse_route(s),
    }
}

/// A control command (`add …`, `del …`, `neighbour …`, `tunnel …`, `group …`; a leading `route`
/// allowed), checked against the ports `settings` configures; the kernel mirror's group
/// ids are not the operator's to change or route to.
pub fn parse_route_command(s: &str, settings: &Settings) -> Result<TableUpdate, RouteTextError> {
    let u = parse_update(s)?;
    match u {
        TableUpdate::GroupSet { id, .. } | TableUpdate::GroupDel { id } | TableUpdate::RouteAdd { target: RouteTarget::Group { group: id }, .. }
            if KERNEL_GROUPS.contains(&id) =>
        {
            return Err(TableError::GroupIdReserved(id).into())
        }
        _ => {}
    }
    if let TableUpdate::Route4Add { target: Route4Target::Via { port, .. }, .. } = u {
        if !settings.ports.get(usize::from(port)).is_some_and(|p| p.configured) {
            return Err(TableError::PortUnconfigured(port).into());
        }
    }
    let targets: Vec<RouteTarget> = match &u {
        TableUpdate::RouteAdd { target, .. } => vec![*target],
        TableUpdate::GroupSet { group, .. } => group.members().iter().map(|m| m.target).collect(),
        _ => Vec::new(),
    };
    for t in targets {
        if let RouteTarget::Via { port, .. } | RouteTarget::Connected { port } = t {
            if !settings.ports.get(usize::from(port)).is_some_and(|p| p.configured) {
                return Err(TableError::PortUnconfigured(port).into());
            }
        }
    }
    Ok(u)
}

/// `2001:db8::/32` → (address, 32); rejects host bits past the length.
pub fn parse_ipv6_prefix(s: &str) -> Result<(Ipv6Addr, u8), RouteTextError> {
    let (a, l) = s.split_once('/').ok_or_else(|| RouteTextError::NotPrefix(s.to_string()))?;
    let addr: Ipv6Addr = a.parse().map_err(|_| RouteTextError::NotIpv6(a.to_string()))?;
    let len: u8 = l.parse().map_err(|_| RouteTextError::NotPrefixLength(l.to_string()))?;
    check_prefix(addr, len)?;
    Ok((addr, len))
}

/// `198.51.100.0/24` → (address, 24); rejects host bits past the length.
pub fn parse_ipv4_prefix(s: &str) -> Result<(Ipv4Addr, u8), RouteTextError> {
    let (a, l) = s.split_once('/').ok_or_else(|| RouteTextError::NotPrefix(s.to_string()))?;
    let addr: Ipv4Addr = a.parse().map_err(|_| RouteTextError::NotIpv4(a.to_string()))?;
    let len: u8 = l.parse().map_err(|_| RouteTextError::NotPrefixLength(l.to_string()))?;
    check_prefix4(addr, len)?;
    Ok((addr, len))
}

fn parse_v4(w: Option<&str>, what: &str) -> Result<Ipv4Addr, RouteTextError> {
    let t = w.ok_or_else(|| RouteTextError::NeedsIpv4(what.to_string()))?;
    t.parse().map_err(|_| RouteTextError::NotIpv4(t.to_string()))
}

fn parse_port(w: Option<&str>) -> Result<u16, RouteTextError> {
    parse_num(w, "port")
}

fn parse_num<N: std::str::FromStr>(w: Option<&str>, what: &str) -> Result<N, RouteTextError> {
    let t = w.ok_or_else(|| RouteTextError::NeedsNumber(what.to_string()))?;
    t.parse().map_err(|_| RouteTextError::NotNumber { text: t.to_string(), what: what.to_string() })
}
