//! IPv6 longest-prefix match: prefix → next-hop id (`u32`), for the workers' route lookups.
//!
//! # Structure: a poptrie with a 16-bit direct first level
//!
//! The lookup structure is a poptrie (Asai & Ohara, "Poptrie: A Compressed Trie with
//! Population Count for Fast and Scalable Software IP Routing Table Lookup", SIGCOMM 2015):
//!
//! - **Direct level**: the top 16 bits index a 2^16-entry table (512 KiB of `u64`; real
//!   destinations live in 2000::/3, so only 64 KiB of it is hot). An entry is a next hop
//!   or a node.
//! - **Nodes** cover 6 bits each (depths 16, 22, …, 124; 19 levels at most). A node is 32
//!   bytes: a 64-bit `children` bitmap (which slots descend), a 64-bit `leafvec` bitmap
//!   (where a new run of equal leaves starts) and the bases of two packed arrays, its
//!   children (contiguous nodes) and its leaf runs (contiguous `u32`s). The child or leaf
//!   for slot `s` is `base + popcount(bitmap & ..=s) - 1`, so a node costs 32 bytes plus
//!   4 bytes per *run* of leaves instead of 64 slots × 4 bytes.
//! - **Covers instead of full leaf pushing**: a node's leaves hold only prefixes whose
//!   length falls inside the node's own 6 bits; a shorter covering prefix lives in the
//!   parent slot and is copied into the node once, as its `cover`. The lookup keeps the
//!   last non-empty cover on its way down. This bounds every update to one node's 64
//!   slots plus the `cover` of at most 64 children: inserting a /32 above ten thousand
//!   /48s touches one node, not ten thousand (classic leaf pushing would rewrite them all).
//!
//! Bulk lookup walks the burst level by level: all lanes still descending take one step
//! before any takes the next, so the 32 independent node loads of a level are in flight
//! together (the memory-level parallelism a prefetch buys; stable Rust has no safe
//! prefetch intrinsic and this crate keeps `unsafe` to the runtime). The per-lane step is
//! branch-free: child or leaf is chosen with a select, and finished lanes are compacted
//! out. Leaf values are loaded for all finished lanes together at the end.
//!
//! Updates keep an authoritative prefix set ([`routes`]: one hash map per length) beside
//! the trie. Insert walks to the node whose 6 bits contain the prefix length, creating the
//! path on the way, rewrites the prefix's 2^k slots where nothing longer sits, and
//! re-packs that node (exact-size blocks from per-size free lists, no rebuild). Remove
//! finds the next shorter prefix of the same level in the prefix set, puts it back in the
//! slots the removed prefix held, and frees nodes that became empty. `/0` is a separate
//! default that every lookup starts from. [`Lpm6::from_routes`] sorts once and builds the
//! trie depth-first in one pass, packing each node's children next to each other.
//!
//! # Why this structure (measured by `lpm-bench` in the benches crate)
//!
//! The alternatives are the DIR-24-8 family (`rte_lpm6`, `rte_fib6`'s trie: a 2^24 first
//! level, 64 MiB with 4-byte entries, then uncompressed 256-entry groups of 1 KiB each),
//! tree bitmap (`treebitmap` crate) and path-compressed binary tries (`prefix-trie`). A
//! realistic table puts almost every prefix in its own sparse region below /32, where a
//! 1 KiB group holds one or two useful entries; a poptrie node for the same region is 32
//! bytes plus a few leaf runs. The table is then a few dozen MiB instead of several hundred
//! and its upper levels stay in cache, which is where the lookup speed comes from. See the
//! module-level numbers in `benches/RESULTS.md` (section "IPv6 LPM").

mod build;
mod lookup;
mod poptrie;
pub mod reference;
mod routes;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_prop;
mod update;

use core::fmt;
use std::net::Ipv6Addr;

use poptrie::Poptrie;
use routes::RouteSet;

/// A rejected route change. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpmError {
    /// `len` is over 128.
    InvalidLength(u8),
    /// `next_hop` is [`Lpm6::MISS`], which lookups reserve for "no route".
    InvalidNextHop,
    /// The node or leaf arena would outgrow its 32-bit indices.
    TableFull,
}

impl fmt::Display for LpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLength(len) => write!(f, "prefix length {len}: must be 0..=128"),
            Self::InvalidNextHop => {
                write!(f, "next hop {}: reserved for 'no route' (Lpm6::MISS)", Lpm6::MISS)
            }
            Self::TableFull => f.write_str("route table full: node arena at its 32-bit limit"),
        }
    }
}

impl std::error::Error for LpmError {}

/// An IPv6 route table: prefix → next-hop id, longest prefix wins.
///
/// One replica per worker; the control core sends it inserts and removes between bursts,
/// or swaps in a table built by [`Lpm6::from_routes`].
#[derive(Clone, Default)]
pub struct Lpm6 {
    routes: RouteSet,
    trie: Poptrie,
}

impl Lpm6 {
    /// What [`Lpm6::lookup`] returns when no route matches.
    pub const MISS: u32 = u32::MAX;

    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces `prefix/len`; returns the next hop it replaced. Host bits past `len`
    /// are ignored.
    pub fn insert(
        &mut self,
        prefix: Ipv6Addr,
        len: u8,
        next_hop: u32,
    ) -> Result<Option<u32>, LpmError> {
        let key = masked_key(prefix, len)?;
        if next_hop == Self::MISS {
            return Err(LpmError::InvalidNextHop);
        }
        if !self.trie.has_room_for_update() {
            return Err(LpmError::TableFull);
        }
        let old = self.routes.insert(key, len, next_hop);
        if old != Some(next_hop) {
            self.trie.insert(key, len, next_hop);
        }
        Ok(old)
    }

    /// Removes `prefix/len` (host bits ignored); returns its next hop, `None` if absent.
    pub fn remove(&mut self, prefix: Ipv6Addr, len: u8) -> Result<Option<u32>, LpmError> {
        let key = masked_key(prefix, len)?;
        let Some(old) = self.routes.remove(key, len) else {
            return Ok(None);
        };
        let floor = poptrie::level_floor(len);
        let (value, value_len) = self
            .routes
            .longest_covering(key, floor, len)
            .unwrap_or((Self::MISS, 0));
        self.trie.remove(key, len, value, value_len);
        Ok(Some(old))
    }

    /// The next hop of exactly `prefix/len` (host bits ignored), not a longest match.
    pub fn get(&self, prefix: Ipv6Addr, len: u8) -> Option<u32> {
        let key = masked_key(prefix, len).ok()?;
        self.routes.get(key, len)
    }

    /// The next hop for `addr`, [`Lpm6::MISS`] when no route matches.
    #[inline]
    pub fn lookup(&self, addr: &[u8; 16]) -> u32 {
        self.trie.lookup(u128::from_be_bytes(*addr))
    }

    /// `out[i] = self.lookup(&addrs[i])`, a burst at a time with the node loads of each
    /// level overlapped. Only the first `min(addrs.len(), out.len())` entries are used.
    pub fn lookup_bulk(&self, addrs: &[[u8; 16]], out: &mut [u32]) {
        for (addrs, out) in addrs.chunks(lookup::BURST).zip(out.chunks_mut(lookup::BURST)) {
            self.trie.lookup_burst(addrs, out);
        }
    }

    /// Number of routes, the default route included.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.len() == 0
    }

    /// Every route as `(prefix, len, next_hop)`, sorted by prefix then length.
    pub fn routes(&self) -> Vec<(Ipv6Addr, u8, u32)> {
        self.routes
            .sorted()
            .into_iter()
            .map(|(key, len, hop)| (Ipv6Addr::from(key), len, hop))
            .collect()
    }

    /// Heap bytes held: lookup structure, free blocks and the prefix set behind updates.
    pub fn memory_bytes(&self) -> usize {
        self.trie.memory_bytes() + self.routes.memory_bytes()
    }

    /// Builds a table in one pass (sort, then depth-first packing). A prefix given twice
    /// keeps its last next hop, as repeated [`Lpm6::insert`]s would. Any invalid route
    /// rejects the whole build.
    pub fn from_routes<I>(routes: I) -> Result<Self, LpmError>
    where
        I: IntoIterator<Item = (Ipv6Addr, u8, u32)>,
    {
        let iter = routes.into_iter();
        let mut sorted = Vec::with_capacity(iter.size_hint().0);
        for (prefix, len, hop) in iter {
            let key = masked_key(prefix, len)?;
            if hop == Self::MISS {
                return Err(LpmError::InvalidNextHop);
            }
            sorted.push((key, len, hop));
        }
        // Stable: among duplicates the last one given stays last, and is the one kept.
        sorted.sort_by_key(|&(key, len, _)| (key, len));
        let mut deduped: Vec<(u128, u8, u32)> = Vec::with_capacity(sorted.len());
        for route in sorted {
            match deduped.last_mut() {
                Some(last) if (last.0, last.1) == (route.0, route.1) => *last = route,
                _ => deduped.push(route),
            }
        }
        let trie = Poptrie::build(&deduped)?;
        let routes = RouteSet::from_sorted(&deduped);
        Ok(Self { routes, trie })
    }
}

impl fmt::Debug for Lpm6 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Lpm6")
            .field("routes", &self.routes.len())
            .field("nodes", &self.trie.node_count())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

/// `prefix` as a `u128` with the bits past `len` cleared.
fn masked_key(prefix: Ipv6Addr, len: u8) -> Result<u128, LpmError> {
    match len {
        0 => Ok(0),
        1..=128 => Ok(u128::from(prefix) & (u128::MAX << (128 - u32::from(len)))),
        _ => Err(LpmError::InvalidLength(len)),
    }
}
