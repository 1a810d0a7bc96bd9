//! The text form of table changes, shared by `relayctl` and `[[pipeline.route]]`.
//!
//! ```text
//! update    = route | neighbour
//! route     = ["route"] "add" PREFIX target
//!           | ["route"] "del" PREFIX
//! target    = "via" IPV6 "port" N     gateway on port N (its MAC: a static neighbour)
//!           | "via" IPV6              IPV6 in 2002::/16 only: tunnel to its embedded V
//!           | "port" N                on-link on port N (each destination a neighbour)
//!           | "6to4"                  tunnel to the V of each destination (within 2002::/16)
//!           | "tunnel" N              configured tunnel N (RFC 4213)
//!           | "isatap" IPV4           the ISATAP link on our IPV4 (RFC 5214)
//!           | "6rd" PREFIX            the 6rd domain PREFIX (RFC 5969)
//!           | "ipv4-compatible"       to the V of ::V (within ::/96)
//!           | "6over4" IPV4           the 6over4 link on our IPV4 (RFC 2529)
//!           | "blackhole"             drop
//! neighbour = ("neighbour" | "neighbor" | "neigh") "set" IP MAC
//!           | ("neighbour" | "neighbor" | "neigh") "del" IP
//! tunnel    = "tunnel" "set" N "local" IPV4 "remote" IPV4 option*
//!           | "tunnel" "del" N
//! option    = "name" NAME | "mtu" 1280..1480 | "ttl" 1..255 | "dscp" ("copy" | 0..63)
//! PREFIX    = IPV6 "/" 0..128         no host bits past the length
//! ```
//! Words are separated by whitespace. Examples: `route add 2001:db8::/32 via fe80::1
//! port 1`, `route add 2002::/16 6to4`, `route add ::/0 via 2002:c058:6301::`,
//! `route del 2001:db8::/32`, `neighbour set 198.51.100.1 02:00:00:00:00:01`,
//! `tunnel set 0 local 198.51.100.7 remote 203.0.113.50 name to-b mtu 1400`,
//! `route add 2001:db8:50::/48 tunnel 0`, `route add 2001:db8::/32 6rd 2001:db8::/32`.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::wire::EthernetAddress;

use super::settings::{DscpPolicy, Settings};
use super::tables::{check_prefix, tunnel_remote, ConfiguredTunnel, RouteTarget, TableUpdate, TunnelName};

/// Parses a route change (`route add …` / `route del …`, the `route` word optional).
pub fn parse_route(s: &str) -> Result<TableUpdate, String> {
    let mut w = s.split_whitespace().peekable();
    if w.peek() == Some(&"route") {
        w.next();
    }
    let verb = w.next().ok_or("empty route command: expected `add` or `del`")?;
    let prefix_text = w.next().ok_or_else(|| format!("`{verb}` needs a prefix like 2001:db8::/32"))?;
    let (prefix, len) = parse_ipv6_prefix(prefix_text)?;
    let update = match verb {
        "add" => {
            let target = match w.next() {
                Some("via") => {
                    let gw_text = w.next().ok_or("`via` needs an IPv6 next hop")?;
                    let gateway: Ipv6Addr = gw_text.parse().map_err(|_| format!("{gw_text:?}: not an IPv6 address"))?;
                    match w.next() {
                        Some("port") => RouteTarget::Via { gateway, port: parse_port(w.next())? },
                        Some(other) => return Err(format!("unexpected {other:?} after the next hop: expected `port N`")),
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
                    let (prefix, len) = parse_ipv6_prefix(w.next().ok_or("`6rd` needs the domain's prefix")?)?;
                    RouteTarget::SixRd { prefix, len }
                }
                Some("ipv4-compatible") => RouteTarget::Ipv4Compatible,
                Some("6over4") => RouteTarget::SixOver4 { local: parse_v4(w.next(), "6over4")? },
                Some("blackhole") => RouteTarget::Blackhole,
                Some(other) => return Err(format!("unexpected {other:?}: expected `via`, `port`, `6to4`, `tunnel`, `isatap`, `6rd`, `ipv4-compatible`, `6over4` or `blackhole`")),
                None => return Err("`add` needs a target: `via …`, `port N`, `6to4`, `tunnel N`, `isatap V`, `6rd PREFIX`, `ipv4-compatible`, `6over4 V` or `blackhole`".into()),
            };
            TableUpdate::RouteAdd { prefix, len, target }
        }
        "del" => TableUpdate::RouteDel { prefix, len },
        other => return Err(format!("unknown route command {other:?}: expected `add` or `del`")),
    };
    if let Some(extra) = w.next() {
        return Err(format!("unexpected {extra:?} at the end"));
    }
    if let TableUpdate::RouteAdd { target: RouteTarget::SixToFour, .. } = update {
        if len < 16 || u128::from(prefix) >> 112 != 0x2002 {
            return Err(format!("{prefix}/{len}: a 6to4 route must lie within 2002::/16"));
        }
    }
    Ok(update)
}

/// Parses a neighbour change (`neighbour set IP MAC` / `neighbour del IP`).
pub fn parse_neighbour(s: &str) -> Result<TableUpdate, String> {
    let mut w = s.split_whitespace();
    match w.next() {
        Some("neighbour" | "neighbor" | "neigh") => {}
        _ => return Err("expected `neighbour set IP MAC` or `neighbour del IP`".into()),
    }
    let verb = w.next().ok_or("expected `set` or `del`")?;
    let ip_text = w.next().ok_or("expected an IP address")?;
    let addr: IpAddr = ip_text.parse().map_err(|_| format!("{ip_text:?}: not an IP address"))?;
    let update = match verb {
        "set" => {
            let mac_text = w.next().ok_or("`set` needs a MAC address")?;
            let mac: EthernetAddress = mac_text.parse().map_err(|e| format!("{e}"))?;
            TableUpdate::NeighbourSet { addr, mac }
        }
        "del" => TableUpdate::NeighbourDel { addr },
        other => return Err(format!("unknown neighbour command {other:?}: expected `set` or `del`")),
    };
    if let Some(extra) = w.next() {
        return Err(format!("unexpected {extra:?} at the end"));
    }
    Ok(update)
}

/// Parses a configured tunnel change (`tunnel set N local A remote B [name S] [mtu M]
/// [ttl T] [dscp copy|D]` / `tunnel del N`).
pub fn parse_tunnel(s: &str) -> Result<TableUpdate, String> {
    let mut w = s.split_whitespace();
    if w.next() != Some("tunnel") {
        return Err("expected `tunnel set N local IPV4 remote IPV4 …` or `tunnel del N`".into());
    }
    let verb = w.next().ok_or("expected `set` or `del`")?;
    let id = parse_num(w.next(), "tunnel")?;
    let update = match verb {
        "set" => TableUpdate::TunnelSet { id, tunnel: parse_tunnel_options(&mut w)? },
        "del" => TableUpdate::TunnelDel { id },
        other => return Err(format!("unknown tunnel command {other:?}: expected `set` or `del`")),
    };
    if let Some(extra) = w.next() {
        return Err(format!("unexpected {extra:?} at the end"));
    }
    Ok(update)
}

/// `local A remote B` and the options, each once, in any order.
fn parse_tunnel_options<'a>(w: &mut impl Iterator<Item = &'a str>) -> Result<ConfiguredTunnel, String> {
    let (mut local, mut remote) = (None, None);
    let mut t = ConfiguredTunnel::new(Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED);
    let mut seen: Vec<&str> = Vec::new();
    while let Some(key) = w.next() {
        if seen.contains(&key) {
            return Err(format!("`{key}` given twice"));
        }
        let value = w.next();
        match key {
            "local" => local = Some(parse_v4(value, key)?),
            "remote" => remote = Some(parse_v4(value, key)?),
            "name" => t.name = Some(TunnelName::new(value.ok_or("`name` needs a name")?)?),
            "mtu" => t.mtu = Some(parse_num(value, key)?),
            "ttl" => t.ttl = Some(parse_num(value, key)?.try_into().map_err(|_| "the outer TTL must be 1..=255".to_string())?),
            "dscp" => {
                t.dscp = Some(match value {
                    Some("copy") => DscpPolicy::Copy,
                    v => DscpPolicy::Fixed(parse_num(v, key)?.try_into().map_err(|_| "a DSCP value is 0..=63".to_string())?),
                })
            }
            other => return Err(format!("unexpected {other:?}: expected `local`, `remote`, `name`, `mtu`, `ttl` or `dscp`")),
        }
        seen.push(key);
    }
    t.local = local.ok_or("expected `local IPV4`")?;
    t.remote = remote.ok_or("expected `remote IPV4`")?;
    t.check()?;
    Ok(t)
}

/// Any form, chosen by the first word.
pub fn parse_update(s: &str) -> Result<TableUpdate, String> {
    match s.split_whitespace().next() {
        Some("neighbour" | "neighbor" | "neigh") => parse_neighbour(s),
        Some("tunnel") => parse_tunnel(s),
        _ => parse_route(s),
    }
}

/// A control command (`add …`, `del …`, `neighbour …`, `tunnel …`; a leading `route`
/// allowed), checked against the ports `settings` configures.
pub fn parse_route_command(s: &str, settings: &Settings) -> Result<TableUpdate, String> {
    let u = parse_update(s)?;
    if let TableUpdate::RouteAdd { target: RouteTarget::Via { port, .. } | RouteTarget::Connected { port }, .. } = u {
        if !settings.ports.get(usize::from(port)).is_some_and(|p| p.configured) {
            return Err(format!("port {port} is not configured"));
        }
    }
    Ok(u)
}

/// `2001:db8::/32` → (address, 32); rejects host bits past the length.
pub fn parse_ipv6_prefix(s: &str) -> Result<(Ipv6Addr, u8), String> {
    let (a, l) = s.split_once('/').ok_or_else(|| format!("{s:?}: expected a prefix like 2001:db8::/32"))?;
    let addr: Ipv6Addr = a.parse().map_err(|_| format!("{a:?}: not an IPv6 address"))?;
    let len: u8 = l.parse().map_err(|_| format!("{l:?}: not a prefix length"))?;
    check_prefix(addr, len)?;
    Ok((addr, len))
}

fn parse_v4(w: Option<&str>, what: &str) -> Result<Ipv4Addr, String> {
    let t = w.ok_or_else(|| format!("`{what}` needs an IPv4 address"))?;
    t.parse().map_err(|_| format!("{t:?}: not an IPv4 address"))
}

fn parse_port(w: Option<&str>) -> Result<u16, String> {
    parse_num(w, "port")
}

fn parse_num(w: Option<&str>, what: &str) -> Result<u16, String> {
    let t = w.ok_or_else(|| format!("`{what}` needs a number"))?;
    t.parse().map_err(|_| format!("{t:?}: not a {what} number"))
}
