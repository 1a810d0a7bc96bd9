//! 6to4 (RFC 3056) as router and relay (RFC 3068, RFC 7526): the RFC 3964 section 5
//! checks on the way out of and into the tunnel, and the outer source a packet into it
//! takes (the site's V, or the relay's anycast or unicast address for a native source).
//! Router and relay are one mechanism with two roles: they share the address format
//! `2002:V::/48`, the decapsulation rules and `2002::/16`; the relay role adds the native
//! side (a 6to4 source to a native destination, and back).
//!
//! ```toml
//! [pipeline.router]            # the 6to4 router of site 2002:V::/48
//! ipv4 = "198.51.100.7"        # V, a global address (RFC 3964 5.3.1)
//! lan_ports = [1]              # the site's hosts live behind these ports
//!
//! [pipeline.relay]             # the 6to4 relay
//! ipv4 = "203.0.113.30"        # its unicast address, always served
//! anycast = false              # also 192.88.99.1 / 2002:c058:6301:: (RFC 7526: off by default)
//! ```
use std::net::Ipv4Addr;

use serde::Deserialize;

use crate::pipeline::model::addr::{is_6to4, v4_of_6to4, Martians};
use crate::pipeline::model::error::{err, ConfigError};
use crate::pipeline::model::host::Host;
use crate::pipeline::model::settings::{PortSettings, RelaySettings, RouterSettings, ANYCAST_V4};
use crate::pipeline::model::verdict::DropReason;

use super::{check_loop, Automatic};

/// `[pipeline.router]`: the 6to4 router role.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RouterConfig {
    /// V: the site is 2002:V::/48.
    pub ipv4: String,
    #[serde(default)]
    pub lan_ports: Vec<u16>,
}

/// `[pipeline.relay]`: the 6to4 relay role.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RelayConfig {
    /// The relay's unicast IPv4 address.
    pub ipv4: String,
    #[serde(default)]
    pub anycast: bool,
}

impl RouterConfig {
    /// The router role: a global V, and LAN ports that are configured (they become the
    /// site's: `site_lan`).
    pub(crate) fn validate(&self, ports: &mut [PortSettings], martians: &Martians) -> Result<RouterSettings, ConfigError> {
        let v4 = global_v4("pipeline.router.ipv4", &self.ipv4, martians)?;
        for (k, &lp) in self.lan_ports.iter().enumerate() {
            match ports.get_mut(usize::from(lp)) {
                Some(ps) if ps.configured => ps.site_lan = true,
                _ => return err(format!("pipeline.router.lan_ports[{k}]"), format!("port {lp} has no [[pipeline.interface]]")),
            }
        }
        Ok(RouterSettings { v4, lan_ports: self.lan_ports.clone() })
    }
}

impl RelayConfig {
    /// The relay role: a global unicast address that is not the anycast one.
    pub(crate) fn validate(&self, martians: &Martians) -> Result<RelaySettings, ConfigError> {
        let unicast = global_v4("pipeline.relay.ipv4", &self.ipv4, martians)?;
        if unicast == ANYCAST_V4 {
            return err("pipeline.relay.ipv4", "the unicast address must not be the anycast 192.88.99.1 (set anycast = true)");
        }
        Ok(RelaySettings { unicast, anycast: self.anycast })
    }
}

/// A 6to4 address of ours embeds it: a global unicast IPv4 address (RFC 3964 5.3.1).
fn global_v4(path: &str, text: &str, martians: &Martians) -> Result<Ipv4Addr, ConfigError> {
    let Ok(a) = text.parse::<Ipv4Addr>() else { return err(path, format!("{text:?}: not an IPv4 address")) };
    if !martians.v4_addr_ok(a) {
        return err(path, format!("{a} is not a global unicast IPv4 address (RFC 3964 5.3.1)"));
    }
    Ok(a)
}


/// RFC 3964 section 5 for a packet out of 6to4:
///
/// ```text
/// src_v4 passes IPv4 sanity (dst_v4 is our endpoint); src_v6, dst_v6 pass IPv6 sanity
/// dst_v6 in 2002::/16: V(dst_v6) == dst_v4, and if src_v6 in 2002::/16, V(src_v6) == src_v4
/// elif src_v6 in 2002::/16: V(src_v6) == src_v4, and dst_v4 is a relay address of ours
/// else native to native
/// ```
#[inline]
pub(crate) fn check_decap(host: &Host, src4: u32, dst4: u32, src: u128, dst: u128) -> Result<(), DropReason> {
    if !host.martians.v4_ok(src4) {
        return Err(DropReason::Ipv4SrcMartian);
    }
    if !host.martians.v6_ok(src) {
        return Err(DropReason::Ipv6SrcMartian);
    }
    if !host.martians.v6_ok(dst) {
        return Err(DropReason::Ipv6DstMartian);
    }
    if is_6to4(dst) {
        if v4_of_6to4(dst) != dst4 {
            return Err(DropReason::DecapDstV4Mismatch);
        }
        if is_6to4(src) && v4_of_6to4(src) != src4 {
            return Err(DropReason::DecapSrcV4Mismatch);
        }
    } else if is_6to4(src) {
        if v4_of_6to4(src) != src4 {
            return Err(DropReason::DecapSrcV4Mismatch);
        }
        if !host.is_relay_endpoint(dst4) {
            return Err(DropReason::DecapNotRelay);
        }
    } else {
        return Err(DropReason::DecapNativeToNative);
    }
    Ok(())
}


/// RFC 3964 section 5 and RFC 6324 on the way into the tunnel. Returns the outer source.
///
/// ```text
/// src, dst pass IPv6 sanity
/// src off-link and embeds one of our IPv4 addresses      -> loop (RFC 6324)
/// src in 2002::/16: V(src) is ours, and the outer source
/// elif dst in 2002::/16: native source, relays only; outer source anycast or unicast
/// else native to native
/// remote passes IPv4 sanity and is not ours
/// ```
#[inline]
pub(crate) fn check_encap(host: &Host, auto: &Automatic, src: u128, dst: u128, remote: u32, rx_port: u16) -> Result<u32, DropReason> {
    if !host.martians.v6_ok(src) {
        return Err(DropReason::Ipv6SrcMartian);
    }
    if !host.martians.v6_ok(dst) {
        return Err(DropReason::Ipv6DstMartian);
    }
    check_loop(host, auto, src, rx_port)?;
    let outer_src = if is_6to4(src) {
        let v = v4_of_6to4(src);
        if !host.is_endpoint(v) {
            return Err(DropReason::EncapSrcV4Mismatch);
        }
        v
    } else if is_6to4(dst) {
        host.native_outer_src.ok_or(DropReason::EncapNotRelay)?
    } else {
        return Err(DropReason::EncapNativeToNative);
    };
    // The V of a 6to4 destination passed with it above.
    let checked = is_6to4(dst) && remote == v4_of_6to4(dst);
    if !checked && !host.martians.v4_ok(remote) {
        return Err(DropReason::Ipv4DstMartian);
    }
    if host.is_own_v4(remote) {
        return Err(DropReason::EncapDstIsSelf);
    }
    Ok(outer_src)
}
