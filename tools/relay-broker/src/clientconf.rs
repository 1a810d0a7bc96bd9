//! Ready configurations for the client end of a broker tunnel: relayd as CE, Linux iproute2
//! (`sit`), Cisco IOS (`ipv6ip`), FreeBSD `gif`. The link /64 has the server at ::1, the client
//! at ::2.

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::db::Tunnel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Relayd,
    Iproute2,
    Ios,
    Freebsd,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfError {
    #[error("unknown configuration `{0}`: relayd, iproute2, ios or freebsd")]
    UnknownKind(String),
    #[error("stored link prefix `{0}` is malformed")]
    BadPrefix(String),
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Relayd, Kind::Iproute2, Kind::Ios, Kind::Freebsd];

    /// Its name in the API's path (`/api/tunnels/{id}/config/{kind}`).
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Relayd => "relayd",
            Kind::Iproute2 => "iproute2",
            Kind::Ios => "ios",
            Kind::Freebsd => "freebsd",
        }
    }
}

impl std::str::FromStr for Kind {
    type Err = ConfError;
    fn from_str(s: &str) -> Result<Kind, ConfError> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| ConfError::UnknownKind(s.into()))
    }
}

/// The server (::1) and client (::2) addresses of the link /64.
pub fn link_addrs(t: &Tunnel) -> Result<(Ipv6Addr, Ipv6Addr), ConfError> {
    let base: Ipv6Addr = t
        .link64
        .split_once('/')
        .and_then(|(a, _)| a.parse().ok())
        .ok_or_else(|| ConfError::BadPrefix(t.link64.clone()))?;
    let b = u128::from(base);
    Ok((Ipv6Addr::from(b | 1), Ipv6Addr::from(b | 2)))
}

/// The configuration of kind `kind` for tunnel `t` on a server whose endpoint is `server`.
pub fn render(kind: Kind, t: &Tunnel, server: Ipv4Addr) -> Result<String, ConfError> {
    let (srv6, cli6) = link_addrs(t)?;
    let client = t.client_ipv4;
    let routed = |comment: &str| match &t.routed48 {
        Some(r) => format!("{comment} routed /48: {r} (route it to your LAN)\n"),
        None => String::new(),
    };
    Ok(match kind {
        Kind::Relayd => format!(
            "# relay-broker tunnel {id}: merge into relayd.toml; a [[pipeline.interface]] must carry {client}.\n\
             # link {link}: server {srv6}, client {cli6}\n{r}\
             [[pipeline.tunnel]]\nid = 0\nlocal = \"{client}\"\nremote = \"{server}\"\nname = \"broker-{id}\"\n\n\
             [[pipeline.route]]\nadd = \"::/0 tunnel 0\"\n",
            id = t.id,
            link = t.link64,
            r = routed("#"),
        ),
        Kind::Iproute2 => format!(
            "# relay-broker tunnel {id}\n{r}\
             ip tunnel add broker{id} mode sit remote {server} local {client} ttl 255\n\
             ip link set broker{id} up\n\
             ip addr add {cli6}/64 dev broker{id}\n\
             ip route add ::/0 dev broker{id}\n",
            id = t.id,
            r = routed("#"),
        ),
        Kind::Ios => format!(
            "! relay-broker tunnel {id}\n{r}\
             interface Tunnel{id}\n description relay-broker tunnel {id}\n no ip address\n ipv6 enable\n\
             \x20ipv6 address {cli6}/64\n tunnel source {client}\n tunnel destination {server}\n tunnel mode ipv6ip\n!\n\
             ipv6 route ::/0 Tunnel{id}\n",
            id = t.id,
            r = routed("!"),
        ),
        Kind::Freebsd => format!(
            "# relay-broker tunnel {id}\n{r}\
             ifconfig gif{id} create\n\
             ifconfig gif{id} tunnel {client} {server}\n\
             ifconfig gif{id} inet6 {cli6} {srv6} prefixlen 128\n\
             route -n add -inet6 default {srv6}\n\
             ifconfig gif{id} up\n",
            id = t.id,
            r = routed("#"),
        ),
    })
}
