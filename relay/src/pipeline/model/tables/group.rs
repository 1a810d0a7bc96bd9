//! Next-hop groups: equal-cost (and weighted) multipath, as Linux's multipath routes and
//! nexthop objects (`ip nexthop add id 1 group 2/3`) have them.
//!
//! A route to `group N` reaches one member per flow: the fast path hashes the packet's
//! addresses and ports (`fast::ecmp`) and the hash picks the member by hash-threshold
//! (RFC 2992 section 3.2; Linux's `fib_select_multipath` does the same): the 32-bit hash
//! space is cut into one region per member, as wide as its weight. A member added or
//! removed moves only the flows of the regions that change, not all of them as modulo-N
//! would. Members are ordinary next hops (their own slots, resolved with the neighbours,
//! counted as routes), so a group is only the list of their ids and the regions' bounds.
use std::fmt;
use std::ops::RangeInclusive;

use std::net::Ipv6Addr;

use super::{NextHop, RouteTarget, TableError, Tables};

/// Members a group may have (Linux's multipath limit is 256 hops; BGP multipath rarely
/// uses more than 8–16).
pub const MAX_GROUP_MEMBERS: usize = 64;
/// The largest member weight (the kernel's `rtnh_hops` + 1).
pub const MAX_WEIGHT: u16 = 256;
/// Group ids relayd's FIB mirror gives the kernel's multipath routes; the operator's groups
/// (configuration, `relayctl`) take the ids below, so neither ever changes the other's.
pub const KERNEL_GROUPS: RangeInclusive<u16> = 0x8000..=u16::MAX;

/// One member: a next hop that names one neighbour or one tunnel end, and its share.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GroupMember {
    pub target: RouteTarget,
    /// 1..=[`MAX_WEIGHT`]: the member's share of the flows is weight / sum of weights.
    pub weight: u16,
}

/// A next-hop group as the operator (or the kernel) gave it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NextHopGroup {
    members: Vec<GroupMember>,
}

impl NextHopGroup {
    /// A group of 1..=[`MAX_GROUP_MEMBERS`] distinct members, each of a kind that names
    /// one next hop (`via … port N`, `port N`, a 6to4 `via 2002:…`, `tunnel N`), weights
    /// 1..=[`MAX_WEIGHT`].
    pub fn new(members: Vec<GroupMember>) -> Result<NextHopGroup, TableError> {
        if members.is_empty() {
            return Err(TableError::GroupEmpty);
        }
        if members.len() > MAX_GROUP_MEMBERS {
            return Err(TableError::GroupTooLarge { members: members.len(), max: MAX_GROUP_MEMBERS });
        }
        for (k, m) in members.iter().enumerate() {
            if !matches!(m.target, RouteTarget::Via { .. } | RouteTarget::Connected { .. } | RouteTarget::Tunnel { .. } | RouteTarget::Configured { .. }) {
                return Err(TableError::GroupMemberKind(m.target));
            }
            if !(1..=MAX_WEIGHT).contains(&m.weight) {
                return Err(TableError::GroupWeight(m.weight));
            }
            if members[..k].iter().any(|o| o.target == m.target) {
                return Err(TableError::GroupMemberTwice(m.target));
            }
        }
        Ok(NextHopGroup { members })
    }

    pub fn members(&self) -> &[GroupMember] {
        &self.members
    }

    /// The upper bound of each member's region of the 32-bit hash space, in member order:
    /// member k takes the hashes above bound k-1 up to bound k; the last bound is
    /// `u32::MAX`.
    pub(crate) fn upper_bounds(&self) -> Vec<u32> {
        let total: u64 = self.members.iter().map(|m| u64::from(m.weight)).sum();
        let mut sum = 0u64;
        self.members
            .iter()
            .map(|m| {
                sum += u64::from(m.weight);
                // sum ≤ total, so the quotient is at most 2^32 and the bound fits.
                (((sum << 32) / total) - 1) as u32
            })
            .collect()
    }
}

impl fmt::Display for NextHopGroup {
    /// `nexthop via fe80::1 port 0 nexthop via fe80::2 port 1 weight 2`: the weight only
    /// where it is not 1.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (k, m) in self.members.iter().enumerate() {
            if k > 0 {
                f.write_str(" ")?;
            }
            write!(f, "nexthop {}", m.target)?;
            if m.weight != 1 {
                write!(f, " weight {}", m.weight)?;
            }
        }
        Ok(())
    }
}

/// A group as the workers use it: its members' next-hop ids and their regions.
#[derive(Clone, Debug)]
pub(super) struct GroupSlot {
    pub id: u16,
    pub group: NextHopGroup,
    pub hops: Vec<u32>,
    pub upper: Vec<u32>,
}

impl GroupSlot {
    /// The member whose region holds `hash`.
    #[inline]
    pub fn pick(&self, hash: u32) -> Option<u32> {
        let k = self.upper.iter().position(|&bound| hash <= bound)?;
        self.hops.get(k).copied()
    }
}

impl Tables {
    /// Adds or replaces group `id`: takes a reference on every member's next hop first, so
    /// a member that does not apply (a port not configured, an unknown tunnel) leaves the
    /// tables as they were. Routes to the group use the new members at once.
    pub(super) fn group_set(&mut self, id: u16, group: &NextHopGroup) -> Result<(), TableError> {
        for m in group.members() {
            self.check_target(Ipv6Addr::UNSPECIFIED, 0, m.target)?;
        }
        let mut hops = Vec::with_capacity(group.members().len());
        for m in group.members() {
            match self.hop_for(m.target) {
                Ok(h) => hops.push(h),
                Err(e) => {
                    for h in hops {
                        self.release(h);
                    }
                    return Err(e);
                }
            }
        }
        let slot = GroupSlot { id, group: group.clone(), hops, upper: group.upper_bounds() };
        match self.group_index.get(&id).copied() {
            Some(index) => {
                let old = self.groups.get_mut(index as usize).and_then(|s| s.replace(slot));
                for h in old.map(|o| o.hops).unwrap_or_default() {
                    self.release(h);
                }
            }
            None => {
                let index = match self.free_groups.pop() {
                    Some(index) => {
                        if let Some(s) = self.groups.get_mut(index as usize) {
                            *s = Some(slot);
                        }
                        index
                    }
                    None => {
                        let index = u32::try_from(self.groups.len()).map_err(|_| TableError::GroupTableFull)?;
                        self.groups.push(Some(slot));
                        index
                    }
                };
                self.group_index.insert(id, index);
            }
        }
        Ok(())
    }

    /// Removes group `id` if no route points at it.
    pub(super) fn group_del(&mut self, id: u16) -> Result<(), TableError> {
        if self.hop_ids.contains_key(&RouteTarget::Group { group: id }) {
            return Err(TableError::GroupInUse(id));
        }
        let index = self.group_index.remove(&id).ok_or(TableError::NoGroup(id))?;
        let old = self.groups.get_mut(index as usize).and_then(Option::take);
        self.free_groups.push(index);
        for h in old.map(|o| o.hops).unwrap_or_default() {
            self.release(h);
        }
        Ok(())
    }

    /// The member of the group in slot `index` (a group next hop's `group`) that a flow
    /// of hash `hash` takes.
    #[inline]
    pub(crate) fn group_member(&self, index: u32, hash: u32) -> Option<&NextHop> {
        let id = self.groups.get(index as usize)?.as_ref()?.pick(hash)?;
        self.hop(id)
    }

    /// The members of the group in slot `index` as next hops, in member order.
    pub(crate) fn group_members(&self, index: u32) -> impl Iterator<Item = &NextHop> {
        let hops = self.groups.get(index as usize).and_then(Option::as_ref).map_or(&[][..], |s| &s.hops[..]);
        hops.iter().filter_map(|&id| self.hop(id))
    }

    /// Every next-hop group by id.
    pub fn groups(&self) -> Vec<(u16, NextHopGroup)> {
        let mut all: Vec<_> = self.groups.iter().flatten().map(|s| (s.id, s.group.clone())).collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }

    /// Every next-hop group, one per line (`1 nexthop via fe80::1 port 0 nexthop …`).
    pub fn groups_text(&self) -> String {
        self.groups().iter().map(|(id, g)| format!("{id} {g}\n")).collect()
    }
}
