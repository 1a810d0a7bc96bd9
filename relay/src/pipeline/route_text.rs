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
//!           | "blackhole"             drop
//! neighbour = ("neighbour" | "neighbor" | "neigh") "set" IP MAC
//!           | ("neighbour" | "neighbor" | "neigh") "del" IP
//! tunnel    = "tunnel" "set" N "local" IPV4 "remote" IPV4
//!           | "tunnel" "del" N
//! PREFIX    = IPV6 "/" 0..128         no host bits past the length
//! ```
//! Words are separated by whitespace. Examples: `route add 2001:db8::/32 via fe80::1
//! port 1`, `route add 2002::/16 6to4`, `route add ::/0 via 2002:c058:6301::`,
//! `route del 2001:db8::/32`, `neighbour set 198.51.100.1 02:00:00:00:00:01`,
//! `tunnel set 0 local 198.51.100.7 remote 203.0.113.50`, `route add 2001:db8:50::/48
//! tunnel 0`.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::settings::Settings;
use super::tables::{check_prefix, tunnel_remote, RouteTarget, TableUpdate};
use crate::wire::EthernetAddress;

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
                Some("blackhole") => RouteTarget::Blackhole,
                Some(other) => return Err(format!("unexpected {other:?}: expected `via`, `port`, `6to4`, `tunnel` or `blackhole`")),
                None => return Err("`add` needs a target: `via …`, `port N`, `6to4`, `tunnel N` or `blackhole`".into()),
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

/// Parses a configured tunnel change (`tunnel set N local A remote B` / `tunnel del N`).
pub fn parse_tunnel(s: &str) -> Result<TableUpdate, String> {
    let mut w = s.split_whitespace();
    if w.next() != Some("tunnel") {
        return Err("expected `tunnel set N local IPV4 remote IPV4` or `tunnel del N`".into());
    }
    let verb = w.next().ok_or("expected `set` or `del`")?;
    let id = parse_num(w.next(), "tunnel")?;
    let update = match verb {
        "set" => {
            let mut v4 = |word: &str| -> Result<Ipv4Addr, String> {
                match w.next() {
                    Some(k) if k == word => {}
                    _ => return Err(format!("expected `{word} IPV4`")),
                }
                let t = w.next().ok_or_else(|| format!("`{word}` needs an IPv4 address"))?;
                t.parse().map_err(|_| format!("{t:?}: not an IPv4 address"))
            };
            let local = v4("local")?;
            let remote = v4("remote")?;
            TableUpdate::TunnelSet { id, local, remote }
        }
        "del" => TableUpdate::TunnelDel { id },
        other => return Err(format!("unknown tunnel command {other:?}: expected `set` or `del`")),
    };
    if let Some(extra) = w.next() {
        return Err(format!("unexpected {extra:?} at the end"));
    }
    Ok(update)
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

fn parse_port(w: Option<&str>) -> Result<u16, String> {
    parse_num(w, "port")
}

fn parse_num(w: Option<&str>, what: &str) -> Result<u16, String> {
    let t = w.ok_or_else(|| format!("`{what}` needs a number"))?;
    t.parse().map_err(|_| format!("{t:?}: not a {what} number"))
}
