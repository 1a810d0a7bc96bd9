//! Routes into the automatic mechanisms: each must lie within the prefixes its mechanism
//! is on for (an ISATAP or 6over4 link's, a 6rd domain's, `::/96`).
use std::net::Ipv6Addr;

use crate::pipeline::model::automatic::Ipv6Prefix;

use super::{RouteTarget, TableError, Tables};

impl Tables {
    /// A route into an automatic mechanism must lie within the prefixes it is on for.
    pub(super) fn check_automatic(&self, prefix: Ipv6Addr, len: u8, target: RouteTarget) -> Result<(), TableError> {
        let route = Ipv6Prefix { addr: prefix, len };
        let a = &self.automatic;
        let (within, what) = match target {
            RouteTarget::Isatap { local } => match a.isatap.iter().find(|l| l.ipv4 == local) {
                Some(l) => (l.prefixes.iter().any(|p| p.covers(&route)), format!("a prefix of the ISATAP link on {local}")),
                None => return Err(TableError::NoIsatapLink(local)),
            },
            RouteTarget::SixRd { prefix: p, len: l } => match a.sixrd.iter().find(|d| d.prefix == Ipv6Prefix { addr: p, len: l }) {
                Some(d) => (d.prefix.covers(&route), format!("the 6rd domain {}", d.prefix)),
                None => return Err(TableError::NoSixRdDomain { prefix: p, len: l }),
            },
            RouteTarget::Ipv4Compatible if a.ipv4_compatible.is_none() => {
                return Err(TableError::Ipv4CompatibleOff)
            }
            RouteTarget::Ipv4Compatible => (len >= 96 && u128::from(prefix) >> 32 == 0, "::/96".to_string()),
            RouteTarget::SixOver4 { local } => match a.sixover4.iter().find(|l| l.ipv4 == local) {
                Some(l) => (l.prefixes.iter().any(|p| p.covers(&route)), format!("a prefix of the 6over4 link on {local}")),
                None => return Err(TableError::NoSixOver4Link(local)),
            },
            _ => (true, String::new()),
        };
        match within {
            true => Ok(()),
            false => Err(TableError::OutsideMechanism { route, within: what }),
        }
    }
}
