//! The per-burst decisions a worker makes for every packet: pure Rust, no DPDK types.
//!
//! Four rooms, imports running one way (a room imports only the rooms before it, plus
//! `crate::wire` and `crate::lpm`):
//!
//! ```text
//! model  ←  mech  ←  fast  ←  slow
//! ```
//!
//! - [`model`] — what the router *is*: validated settings, own addresses, address
//!   predicates and the RFC 3964 deny list, the table set, the route grammar, drop reasons
//!   and counters, the packet-buffer trait. No per-packet code.
//! - [`mech`] — the transition mechanisms (6to4 router and relay, configured tunnels,
//!   IPv4-compatible, ISATAP, 6rd, 6over4): for each, which outer destinations and inner
//!   prefixes are its own, its decapsulation and spoofing checks, where a packet into it
//!   goes, its RFC 6324 loop rule.
//! - [`fast`] — the worker's stages over a burst: classify → route lookup → act
//!   (forward natively, encapsulate, or answer with an ICMPv6 error).
//! - [`slow`] — the control core: local delivery (ARP, ND, echo), neighbour resolution,
//!   router advertisements.
//!
//! [`config`] sits beside them: the `[pipeline]` TOML table, read and validated into
//! [`Settings`], from every room's configuration section.

pub mod config;
pub mod fast;
pub mod mech;
pub mod model;
pub mod slow;
#[cfg(test)]
pub(crate) mod tests;

pub use config::{Config, GroupConfig, InterfaceConfig, NeighbourConfig, RouteConfig};
pub use fast::{Pipeline, TokenBucket, MAX_BURST};
pub use mech::{Ipv4CompatibleConfig, IsatapConfig, RelayConfig, RouterConfig, SixOver4Config, SixRdConfig, TunnelConfig};
pub use model::automatic::{
    is_sixover4_group, isatap_iid, sixover4_group, AutomaticSettings, Ipv6Prefix, IsatapSettings, SixOver4Settings, SixRdDomain,
};
pub use model::counters::{Counters, Event};
pub use model::tunnel_counters::{TunnelCount, TunnelCounters};
pub use model::error::ConfigError;
pub use model::host::{Host, PortView};
pub use model::route_text::{parse_group, parse_ipv4_prefix, parse_ipv6_prefix, parse_neighbour, parse_route, parse_route_command, parse_tunnel, parse_update};
pub use model::settings::*;
pub use model::route_text::RouteTextError;
pub use model::tables::{ConfiguredTunnel, GroupMember, NextHopGroup, KERNEL_GROUPS, MAX_GROUP_MEMBERS, Route4Target, RouteTarget, TableError, TableUpdate, Tables, TunnelId, TunnelName, DEFAULT_MAX_TUNNELS, MAX_MAX_TUNNELS};
pub use model::verdict::{is_drop_counter, DropReason, Verdict};
pub use model::{PacketBuf, TestBuf};
pub use slow::sixover4_multicast;
pub use slow::{kernel_egress, kernel_wants_copy};
pub use slow::{local, neigh, SlowIo, SlowPath};
