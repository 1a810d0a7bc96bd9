//! Why a change to the tables is refused. The control socket, the configuration loader
//! and the slow path all get one of these — the table set is unchanged when they do — and
//! show it with its `Display`, which is the operator-facing text (`error: no route …`).
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::lpm::LpmError;
use crate::pipeline::model::automatic::Ipv6Prefix;
use crate::wire::EthernetAddress;

use super::{RouteTarget, TableUpdate, TunnelId, TunnelName};

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TableError {
    // Routes and their next hops.
    #[error("prefix length {0} is over 128")]
    PrefixTooLong(u8),
    #[error("{prefix}/{len} has host bits set (the network is {net}/{len})")]
    HostBitsSet { prefix: Ipv6Addr, len: u8, net: Ipv6Addr },
    #[error("port {0} is not configured")]
    PortUnconfigured(u16),
    #[error("port {port} does not exist ({ports} ports)")]
    NoSuchPort { port: u16, ports: usize },
    #[error("next hop {0} is not a unicast address")]
    NextHopNotUnicast(Ipv6Addr),
    #[error("{prefix}/{len}: a 6to4 route must lie within 2002::/16")]
    SixToFourOutside2002 { prefix: Ipv6Addr, len: u8 },
    #[error("next hop {0} is not a 6to4 address: give a port")]
    NextHopNotSixToFour(Ipv6Addr),
    #[error("next hop {via} embeds {v4}, which is not a global IPv4 address")]
    NextHopEmbedsNonGlobal { via: Ipv6Addr, v4: Ipv4Addr },
    #[error("no route {prefix}/{len}")]
    NoRoute { prefix: Ipv6Addr, len: u8 },
    #[error("IPv4 prefix length {0} is over 32")]
    Prefix4TooLong(u8),
    #[error("{prefix}/{len} has host bits set (the network is {net}/{len})")]
    Host4BitsSet { prefix: Ipv4Addr, len: u8, net: Ipv4Addr },
    #[error("no route {prefix}/{len}")]
    NoRoute4 { prefix: Ipv4Addr, len: u8 },
    #[error("IPv4 next hop {0} is not another host's unicast address")]
    NextHop4NotUnicast(Ipv4Addr),
    #[error("next-hop table full")]
    NextHopTableFull,
    #[error("{0}")]
    Lpm(#[from] LpmError),
    // Routes into the automatic mechanisms.
    #[error("no ISATAP link on {0}")]
    NoIsatapLink(Ipv4Addr),
    #[error("no 6rd domain {prefix}/{len}")]
    NoSixRdDomain { prefix: Ipv6Addr, len: u8 },
    #[error("the IPv4-compatible tunnel is off ([pipeline.ipv4_compatible])")]
    Ipv4CompatibleOff,
    #[error("no 6over4 link on {0}")]
    NoSixOver4Link(Ipv4Addr),
    /// `within` names the mechanism's prefixes (`a prefix of the ISATAP link on …`).
    #[error("{route} is not within {within}")]
    OutsideMechanism { route: Ipv6Prefix, within: String },
    // Neighbours.
    #[error("{0} is not a unicast MAC address")]
    MacNotUnicast(EthernetAddress),
    #[error("{0} is not a unicast IPv4 address")]
    NeighbourNotUnicastV4(Ipv4Addr),
    #[error("{0} is not a unicast IPv6 address")]
    NeighbourNotUnicastV6(Ipv6Addr),
    #[error("no neighbour {0}")]
    NoNeighbour(IpAddr),
    // Configured tunnels.
    #[error("tunnel name {0:?} must be 1 to {max} characters", max = TunnelName::MAX)]
    TunnelNameLength(String),
    #[error("tunnel name {0:?} may hold only letters, digits, '-', '_' and '.'")]
    TunnelNameChars(String),
    #[error("{0}: the tunnel MTU must be 1280..=1480")]
    TunnelMtu(u16),
    #[error("0: the outer TTL must be 1..=255")]
    TunnelTtlZero,
    #[error("{0}: a DSCP value is 0..=63")]
    TunnelDscp(u8),
    #[error("tunnel local address {0} is not one of ours")]
    TunnelLocalNotOurs(Ipv4Addr),
    #[error("tunnel remote address {0} is not another host's unicast address")]
    TunnelRemoteInvalid(Ipv4Addr),
    #[error("tunnel {other} already joins {local} and {remote}")]
    TunnelEndsTaken { other: TunnelId, local: Ipv4Addr, remote: Ipv4Addr },
    #[error("tunnel {other} is already named {name}")]
    TunnelNameTaken { other: TunnelId, name: TunnelName },
    #[error("tunnel {0} is in use by routes")]
    TunnelInUse(TunnelId),
    #[error("no tunnel {0}")]
    NoTunnel(TunnelId),
    #[error("tunnel {id}: ids are 0..{max} ([pipeline] max_tunnels)")]
    TunnelIdOutOfRange { id: TunnelId, max: u32 },
    // Next-hop groups.
    #[error("a next-hop group needs at least one `nexthop`")]
    GroupEmpty,
    #[error("{members} next hops: a group has at most {max}")]
    GroupTooLarge { members: usize, max: usize },
    #[error("`{0}` cannot be a group member: give `via IPV6 port N`, `port N`, `via 2002:…` or `tunnel N`")]
    GroupMemberKind(RouteTarget),
    #[error("weight {0}: a member's weight is 1..=256")]
    GroupWeight(u16),
    #[error("`nexthop {0}` given twice")]
    GroupMemberTwice(RouteTarget),
    #[error("next-hop group table full")]
    GroupTableFull,
    #[error("group {0} is in use by routes")]
    GroupInUse(u16),
    #[error("no next-hop group {0}")]
    NoGroup(u16),
    #[error("group {0}: ids 32768..=65535 are the kernel mirror's; give 0..=32767")]
    GroupIdReserved(u16),
    /// A configured entry that does not apply, with the entry.
    #[error("{update}: {reason}")]
    Entry { update: Box<TableUpdate>, reason: Box<TableError> },
}
