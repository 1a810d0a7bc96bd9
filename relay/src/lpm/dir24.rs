//! `Dir24`: IPv4 longest-prefix match as DIR-24-8 (Gupta, Lin, McKeown, "Routing Lookups in
//! Hardware at Memory Access Speeds", INFOCOM 1998; DPDK's `rte_lpm`) with 16-bit entries, for
//! the outer IPv4 routes (where a tunnel packet leaves).
//!
//! A 2^24-entry first level indexed by the top 24 bits answers every destination whose best
//! route is /24 or shorter in one load; an entry of a /24 that holds longer prefixes points at
//! a 256-entry second-level group, indexed by the last 8 bits. An outer table has few next
//! hops (the uplinks' routers), so an entry is 16 bits (`rte_lpm` spends 32): the first level
//! is 32 MiB, half of `rte_lpm`'s, which also halves the cache and TLB footprint of random
//! lookups. Measured against the IPv4 poptrie (`Lpm4`) and `rte_lpm` in `lpm-bench --ipv4`.
//!
//! Updates keep the authoritative prefix set beside the arrays, and the length of the prefix
//! each entry came from in control-plane arrays beside them (never read by a lookup): an
//! insert overwrites only entries held by a shorter prefix, a remove puts back the longest
//! shorter prefix that covers it where the removed one was. A group whose 256 entries end up
//! equal folds back into its first-level entry and is reused.
use std::net::Ipv4Addr;

use super::family::V4;
use super::routes::RouteSet;
use super::{masked_key, LpmError};

const TBL24: usize = 1 << 24;
/// Bit 15 of an entry: the low 15 bits index a group, not a next hop.
const GROUP: u16 = 0x8000;
/// What a lookup returns when no route matches.
pub const MISS: u32 = u32::MAX;

#[derive(Clone)]
pub struct Dir24 {
    /// 0: no route; `hop + 1`; or `GROUP | group`.
    tbl24: Box<[u16]>,
    /// The length of the prefix each first-level entry came from (control plane only).
    len24: Box<[u8]>,
    groups: Vec<[u16; 256]>,
    group_lens: Vec<[u8; 256]>,
    free_groups: Vec<u16>,
    routes: RouteSet<V4>,
}

impl Default for Dir24 {
    fn default() -> Self {
        Dir24 {
            tbl24: vec![0; TBL24].into_boxed_slice(),
            len24: vec![0; TBL24].into_boxed_slice(),
            groups: Vec::new(),
            group_lens: Vec::new(),
            free_groups: Vec::new(),
            routes: RouteSet::default(),
        }
    }
}

impl std::fmt::Debug for Dir24 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dir24").field("routes", &self.routes.len()).field("groups", &(self.groups.len() - self.free_groups.len())).finish()
    }
}

/// The entry of `hop` (`hop + 1`, 0 being "no route").
fn entry_of(hop: u32) -> u16 {
    (hop + 1) as u16
}

impl Dir24 {
    pub const MISS: u32 = MISS;
    /// Next hops fit the 15 bits of an entry, 0 meaning "no route".
    pub const MAX_NEXT_HOP: u32 = (GROUP - 2) as u32;
    /// Groups fit 15 bits too.
    const MAX_GROUPS: usize = GROUP as usize;

    pub fn new() -> Self {
        Self::default()
    }

    /// The next hop for `addr` (network byte order), [`MISS`] when no route matches.
    #[inline(always)]
    pub fn lookup(&self, addr: &[u8; 4]) -> u32 {
        let a = u32::from_be_bytes(*addr);
        let mut e = self.tbl24.get((a >> 8) as usize).copied().unwrap_or(0);
        if e & GROUP != 0 {
            e = self.groups.get(usize::from(e & !GROUP)).map_or(0, |g| g[(a & 0xff) as usize]);
        }
        u32::from(e).wrapping_sub(1)
    }

    /// [`Dir24::lookup`] for a burst: the first-level entries of all lanes are asked for
    /// (`prefetch`, the platform's prefetch instruction, or nothing) before any is read, then
    /// the groups of those that have one.
    pub fn lookup_bulk_with_prefetch(&self, addrs: &[[u8; 4]], out: &mut [u32], prefetch: impl Fn(*const u8)) {
        for a in addrs {
            let i = (u32::from_be_bytes(*a) >> 8) as usize;
            if let Some(e) = self.tbl24.get(i) {
                prefetch(e as *const u16 as *const u8);
            }
        }
        for (a, o) in addrs.iter().zip(out.iter_mut()) {
            let a = u32::from_be_bytes(*a);
            let e = self.tbl24.get((a >> 8) as usize).copied().unwrap_or(0);
            if e & GROUP != 0 {
                if let Some(g) = self.groups.get(usize::from(e & !GROUP)) {
                    prefetch(&g[(a & 0xff) as usize] as *const u16 as *const u8);
                }
            }
            *o = u32::from(e);
        }
        for (a, o) in addrs.iter().zip(out.iter_mut()) {
            let e = *o as u16;
            let e = if e & GROUP != 0 {
                self.groups.get(usize::from(e & !GROUP)).map_or(0, |g| g[(u32::from_be_bytes(*a) & 0xff) as usize])
            } else {
                e
            };
            *o = u32::from(e).wrapping_sub(1);
        }
    }

    pub fn lookup_bulk(&self, addrs: &[[u8; 4]], out: &mut [u32]) {
        self.lookup_bulk_with_prefetch(addrs, out, |_| {});
    }

    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.len() == 0
    }

    pub fn get(&self, prefix: Ipv4Addr, len: u8) -> Option<u32> {
        self.routes.get(masked_key::<V4>(prefix, len).ok()?, len)
    }

    /// Every route, sorted by prefix then length.
    pub fn routes(&self) -> Vec<(Ipv4Addr, u8, u32)> {
        self.routes.sorted().into_iter().map(|(k, l, h)| (Ipv4Addr::from((k >> 96) as u32), l, h)).collect()
    }

    /// Bytes of the arrays, the groups and the prefix set.
    pub fn memory_bytes(&self) -> usize {
        TBL24 * 3 + self.groups.capacity() * (256 * 3) + self.free_groups.capacity() * 2 + self.routes.memory_bytes()
    }

    /// Adds or replaces `prefix/len` (host bits ignored); returns the next hop it replaced.
    /// Checked before anything changes.
    pub fn insert(&mut self, prefix: Ipv4Addr, len: u8, hop: u32) -> Result<Option<u32>, LpmError> {
        let key = masked_key::<V4>(prefix, len)?;
        if hop > Self::MAX_NEXT_HOP {
            return Err(LpmError::InvalidNextHop(hop));
        }
        let a = (key >> 96) as u32;
        if len > 24 && self.tbl24[(a >> 8) as usize] & GROUP == 0 && self.free_groups.is_empty() && self.groups.len() >= Self::MAX_GROUPS {
            return Err(LpmError::TableFull);
        }
        let old = self.routes.insert(key, len, hop);
        self.paint(a, len, entry_of(hop), len, |held, _| held <= len);
        Ok(old)
    }

    /// Removes `prefix/len` (host bits ignored); returns its next hop, `None` if absent.
    pub fn remove(&mut self, prefix: Ipv4Addr, len: u8) -> Result<Option<u32>, LpmError> {
        let key = masked_key::<V4>(prefix, len)?;
        let Some(old) = self.routes.remove(key, len) else {
            return Ok(None);
        };
        let (entry, from) = match self.routes.longest_covering(key, 0, len) {
            Some((hop, l)) => (entry_of(hop), l),
            None => match (len > 0).then(|| self.routes.get(0, 0)).flatten() {
                Some(hop) => (entry_of(hop), 0),
                None => (0, 0),
            },
        };
        self.paint(key_addr(key), len, entry, from, |held, _| held == len);
        Ok(Some(old))
    }

    /// Writes `entry` (from a prefix of length `from`) over the entries of `a/len` whose
    /// current length passes `take`.
    fn paint(&mut self, a: u32, len: u8, entry: u16, from: u8, take: impl Fn(u8, u16) -> bool) {
        if len <= 24 {
            let first = (a >> 8) as usize;
            let count = 1usize << (24 - len);
            for i in first..first + count {
                let e = self.tbl24[i];
                if e & GROUP != 0 {
                    let g = usize::from(e & !GROUP);
                    for s in 0..256 {
                        if take(self.group_lens[g][s], self.groups[g][s]) {
                            self.groups[g][s] = entry;
                            self.group_lens[g][s] = from;
                        }
                    }
                    self.fold(i);
                } else if take(self.len24[i], e) {
                    self.tbl24[i] = entry;
                    self.len24[i] = from;
                }
            }
            return;
        }
        let i = (a >> 8) as usize;
        let g = match self.group_of(i) {
            Some(g) => g,
            None => return,
        };
        let first = (a & 0xff) as usize;
        for s in first..first + (1usize << (32 - len)) {
            if take(self.group_lens[g][s], self.groups[g][s]) {
                self.groups[g][s] = entry;
                self.group_lens[g][s] = from;
            }
        }
        self.fold(i);
    }

    /// The group of first-level entry `i`, made from its entry if it has none.
    fn group_of(&mut self, i: usize) -> Option<usize> {
        let e = self.tbl24[i];
        if e & GROUP != 0 {
            return Some(usize::from(e & !GROUP));
        }
        let (fill, fill_len) = (e, self.len24[i]);
        let g = match self.free_groups.pop() {
            Some(g) => usize::from(g),
            None if self.groups.len() < Self::MAX_GROUPS => {
                self.groups.push([0; 256]);
                self.group_lens.push([0; 256]);
                self.groups.len() - 1
            }
            None => return None,
        };
        self.groups[g] = [fill; 256];
        self.group_lens[g] = [fill_len; 256];
        self.tbl24[i] = GROUP | g as u16;
        Some(g)
    }

    /// Folds the group of entry `i` back into it once no prefix longer than /24 is left in it.
    fn fold(&mut self, i: usize) {
        let e = self.tbl24[i];
        if e & GROUP == 0 {
            return;
        }
        let g = usize::from(e & !GROUP);
        if self.group_lens[g].iter().any(|&l| l > 24) {
            return;
        }
        let (first, first_len) = (self.groups[g][0], self.group_lens[g][0]);
        // Prefixes of /24 or shorter cover the whole group alike.
        self.tbl24[i] = first;
        self.len24[i] = first_len;
        self.free_groups.push(g as u16);
    }
}

fn key_addr(key: u128) -> u32 {
    (key >> 96) as u32
}
