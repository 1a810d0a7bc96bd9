//! Longest-prefix match: prefix → next-hop id (`u32`), for the workers' route lookups:
//! [`Lpm6`] for IPv6 destinations; for the outer IPv4 destinations of tunnels
//! [`dir24::Dir24`] (DIR-24-8 with 16-bit entries, which relayd uses: at or above `rte_lpm`'s
//! rate in less memory) and [`Lpm4`] (this poptrie for 32-bit keys: a fifth to a half of the
//! memory at half the rate; kept as the compact choice and measured beside it).
//!
//! Both are one generic [`Lpm`] over a [`Family`], which sets only the address length and
//! the direct level's width (`family.rs`): keys are held left-aligned in a `u128` for
//! either family, so the nodes, the updates and the burst walk are the same code. What
//! follows describes the IPv6 table, which the structure was measured on; the IPv4 table
//! differs in its direct level, 18 bits as the Poptrie paper's best IPv4 variant
//! ("Poptrie18"): 1 MiB of direct entries (a 20-bit level would take 4 MiB for /21–/23s
//! that are a small part of a real table), and the /19–/25 prefixes, most of a real table,
//! in the first node, so that a /24 costs two dependent loads. Nodes at depths 18 and 25.
//!
//! Measured against DPDK's `rte_lpm` (DIR-24-8; `benches/RESULTS.md`, "IPv4 LPM", 1M
//! DFZ-shaped prefixes, one run): half its memory (38 against 75 MiB, the prefix set behind
//! updates included; a fifth at 250k), a build in 0.4 s against 94 s and single updates
//! in 2–3 µs against 180–200 µs, but 0.52–0.58× its in-table lookups/s and 0.77–0.81× its
//! random ones. DIR-24-8 answers nearly every IPv4 lookup with one load at an index; a
//! poptrie step is some 40 instructions, and the gap is mostly those, not memory: in quick
//! runs on a quiet machine, over a 20k-prefix table all in cache, this walk did 200 M
//! in-table lookups/s (130 at 1M) and `rte_lpm` 950 M. Tried and measured no better: a 20-bit direct level (more memory, no
//! faster), the direct level's leaf-or-node decision by a select, prefetching each lane's
//! direct entry first. Picking a node's inline or external leaf by a select did help
//! (+10–15 %, [`Family::SELECT_LEAF`]). Matching DIR-24-8's rate would take fewer
//! instructions per lookup than a compressed trie has, e.g. a vector walk.
//!
//! # Structure: a poptrie with a 20-bit direct first level and 7-bit nodes
//!
//! The lookup structure is a poptrie (Asai & Ohara, "Poptrie: A Compressed Trie with
//! Population Count for Fast and Scalable Software IP Routing Table Lookup", SIGCOMM 2015):
//!
//! - **Direct level**: the top 20 bits index a 2^20-entry table of `u32` (4 MiB, of which a
//!   real table touches the few RIR blocks' entries). An entry is a next hop or a node (a
//!   flag and 31 bits, hence [`Lpm6::MAX_NEXT_HOP`]). A bitmap in front of it marks the
//!   entries that are "no route" (128 KiB, of which 2000::/3 is 16 KiB): the unallocated
//!   space, where random destinations and scans go, is answered from the L1 cache. Read
//!   through the 4 MiB table instead, the same lookups ran at half the rate (L2 misses, not
//!   instructions). A summary by /12 did as well at 250k prefixes but not at 1M, where a
//!   few /16s outside the RIR blocks leave a quarter of 2000::/3's /12s mixed.
//! - **Nodes** resolve 7 bits each (depths 20, 27, …, 125): a /48 is found in the fourth
//!   node, a /32 in the second. A node is one 64-byte cache line: a 128-slot `children`
//!   bitmap (which slots descend) and a 128-slot `leafvec` bitmap (where a run of equal
//!   leaves starts), each as two 64-slot words; the index of the first child in each half
//!   (children are contiguous nodes); a `cover`; and up to five leaf runs in place. The
//!   child of slot `s` is its half's base plus `popcount(word & ..=s) - 1`, one word and one
//!   count. Nodes with more than five runs keep them in an external block (`leaves[0]` is
//!   its base): the common "nothing, one prefix, nothing" node costs the lookup no extra
//!   load.
//! - **Covers instead of full leaf pushing**: a node's leaves hold only prefixes whose
//!   length falls inside the node's own 7 bits; a shorter covering prefix lives in the
//!   parent slot and is copied into the node once, as its `cover`. The lookup keeps the
//!   last non-empty cover on its way down. This bounds every update to one node's 128
//!   slots plus the `cover` of at most 128 children: inserting a /32 above ten thousand
//!   /48s touches one node, not ten thousand.
//!
//! Bulk lookup walks the burst level by level: all lanes still descending take one step
//! before any takes the next, and each step prefetches the lane's next node (`arch.rs`, the
//! module's one `unsafe`: `_mm_prefetch`), so that the 64 loads of a level overlap. A
//! caller with a prefetch of its own passes it to [`Lpm6::lookup_bulk_with_prefetch`]. A lane
//! whose address is the previous walking lane's (a flow's packets back to back) copies that
//! lane's answer instead of walking.
//!
//! Updates keep an authoritative prefix set (`routes.rs`: one hash map per length) beside
//! the trie. Insert walks to the node whose 7 bits contain the prefix length, creating the
//! path on the way, rewrites the prefix's 2^k slots where nothing longer sits (each slot
//! records its prefix length, in control-plane arrays beside the nodes), and re-packs that
//! node into exact-size blocks from per-size free lists: no rebuild. Remove puts the next
//! shorter prefix of the same level back in the slots the removed prefix held and frees
//! nodes that became empty. `/0` is a separate default that every lookup starts from;
//! prefixes of /1–/20 are expanded over direct entries (2^(20-len) of them: a /16 costs
//! 16 writes, the rare /1 half a million). [`Lpm6::from_routes`] sorts once and builds the
//! trie depth-first in one pass.
//!
//! Readers never race writers: the table is changed only where no lookup runs. relayd
//! keeps two copies, one read by the workers and one the control core changes and then
//! publishes by pointer (`relay::runtime::control`), so no node is freed or rewritten
//! under a reader, unlike `rte_lpm6`/`rte_fib6` updated in place.
//!
//! # Why this structure (measured)
//!
//! DIR-24-8 (`rte_lpm6`, `rte_fib6`'s trie) resolves a /48 in four loads, but through a
//! 2^24 first level (64 MiB) and uncompressed 256-entry tbl8 groups of 1 KiB, one per
//! sparse region: 359 MiB for 250k realistic prefixes, 1.2 GiB for 1M (`rte_fib6` must
//! reserve 0.8 and 2.9 GiB). A realistic table is sparse below /32, so compression is what
//! buys memory, and a popcount trie is the compression whose step stays a few instructions.
//! Candidates measured with `lpm-bench` (250k synthetic prefixes, in-table destinations,
//! AMD EPYC VM, `x86-64-v2` as DPDK's `-march=corei7`):
//!
//! | layout | memory | M lookups/s, no prefetch / prefetch |
//! |---|---:|---:|
//! | 16-bit direct, 6-bit 32-byte nodes, leaves in a separate array | 27 MiB | 12.8 / 27.7 |
//! | 20-bit direct, 7-bit 64-byte nodes, up to 6 leaf runs inline | 41 MiB | 14 / 34–36 |
//! | the same, all 32 lanes stepped every level (no compaction) | 41 MiB | — / 30 |
//! | the same, lanes compacted without a branch on "descends" | 41 MiB | — / 24–30 |
//! | the same, bitmap half and cover picked by `select_unpredictable`, lane sets as bitmaps | 41 MiB | 21 / 44–46 |
//! | the same, bitmaps as 64-slot halves with a child base each, no per-lane key copies, 64 lanes, 32-bit direct entries (this) | 37 MiB | 23–42 / 60–64 |
//! | tree bitmap (`prefix-trie` 0.10) | 17 MiB | 10–13 (single lookups) |
//!
//! The second layout cuts a /48 from eight dependent loads to five. With prefetching, the
//! bulk walk is then bound by the step's own work, and most of that was mispredicted
//! branches: a `u128` shift by the slot number compiles to a branch on "slot ≥ 64", and
//! "does this node have a cover" is another coin toss. Both are now selects (cmov):
//! callgrind counts 0.8 mispredicts per in-table lookup instead of 4.3 for the same
//! instructions, and in-table lookups went from 36 to 46 M/s (31 to 35.5 M/s at 1M
//! prefixes). The branch on whether a lane descends
//! stays: removing it makes each lane's slot in the compacted list depend on the previous
//! lane's node load, which serialises the loads the prefetches were meant to overlap.
//!
//! A step is then mostly arithmetic, and fewer instructions are what is left to win
//! (callgrind, 250k prefixes): keeping the two bitmap halves apart, each with the index of
//! its first child, lets a step load the half its slot is in and count in that word alone,
//! with no select and no second popcount; lanes that walk keep only the top 64 bits of
//! their key, which every node above bit 64 reads, instead of a copy of the whole key for
//! every lane; the direct-table pass runs four lanes per loop turn and the node levels sit
//! in a function of their own, so that neither spills the other's registers. In-table
//! lookups went from 212 to 168 instructions (162 before the bitmap's extra load), random
//! ones (the bitmap and little else) from 24 to 15. What remains at 250k prefixes is about as much waiting for nodes
//! as computing (the same walk over a cached 5k-prefix table runs at 90 M/s): walking 64
//! lanes at a time instead of 32 gives each prefetch twice the lead and bought 20 %.
//!
//! In the same runs (bursts of 64 for every table) `rte_lpm6` did 15–20 M in-table
//! lookups/s, `rte_fib6` 18–23 M (scalar, DPDK's default here) and 43–57 M (AVX-512
//! gathers, with `--force-max-simd-bitwidth=512`). Fewer levels would buy more still: a
//! /48 is four node steps. `benches/RESULTS.md` ("IPv6 LPM") has the full comparison at
//! 250k and 1M prefixes.
//!
//! The lead is the memory the layout saves, not cheaper steps. Over a 20k-prefix table,
//! which fits in the caches, the AVX-512 `rte_fib6` walk did 197 M in-table lookups/s
//! against this one's 87 (its scalar walk 85): a DIR step is an index and a load, a
//! poptrie step about 40 instructions.
//!
//! # Where a burst's time goes (issue 20, Intel Xeon KVM guest, 2 MiB L2)
//!
//! Measured by thread CPU time (`lpm-bench`, and a scratch harness for the variants). Over
//! a 1000-prefix table (all in L1/L2) the walk does 54–58 M in-table lookups/s: ~40 cycles,
//! the compute floor. At 1M prefixes it does 28–33 M/s with every table on 4 KiB pages and
//! about 36 M/s on 2 MiB pages. An in-table lookup there reads about 3.6 lines below the
//! direct table: the node at depth 20 (3300 of them, 0.2 MiB: in L2), then 1.0 at depth 27
//! (7 MiB of them), 0.88 at 34 (31 MiB), 0.67 at 41 (36 MiB) and 0.07 external leaf blocks,
//! so about 2.6 misses. `lpm-bench`'s probe (a pointer chase) finds this core completes at
//! most ~65–75 M independent misses/s on 4 KiB pages (every miss a TLB miss too, which a
//! nested page walk makes ~230 ns) and ~110–150 M/s on 2 MiB pages: 2.6 misses bound the
//! walk at 25–30 M/s, where it is. So 150 M in-table lookups/s at 1M prefixes is out of
//! reach of any walk here that reads more than one line outside L2 per lookup; what
//! remains is fewer lines per lookup (wider nodes over the dense /32–/48 range, at a
//! memory cost this layout was built to avoid) and 2 MiB pages (`docs/tuning.md`).
//!
//! Tried and measured (same harness, same tables):
//!
//! | change | 1k prefixes, in-table | 1M, in-table | kept |
//! |---|---:|---:|---|
//! | AVX-512 walk, 8 lanes a step by gathers (`vpgatherqq`, `vpopcntq`, `vpcompressq`; in the history) | 40 vs 52.5 M/s | 20.5 vs 27.9 | no: an 8-lane gather costs 2.7 ns here, the walk is gather-bound |
//! | prefetch into L2 only (`_MM_HINT_T1`/`T2`) instead of T0 | 45 vs 48 | 26 vs 29 | no |
//! | repeated-destination shortcut | −2 to −6 % without repeats | 4-packet flows: 45 → 63 (75 → 138 at 1k) | yes |
//! | the Rust heap on 2 MiB pages (THP) | — | 28.6 → 35.6 | a deployment setting |
//!
//! For scale: PlanB (Zhang et al., "PlanB: Efficient Software IPv6 Lookup with Linearized
//! B+-Tree", NSDI '26) reports 390 M IPv6 lookups/s on one AMD core (Zen 5) with real FIBs,
//! and an independent reimplementation's README (`esutcu/planb-lpm`) quotes 191–197 M/s for
//! the paper's Xeon 8331C. Its tables are real ones of about 235k prefixes (RIPE rrc00), a
//! quarter of the 1M here, searched by their top 64 bits in a B+-tree rebuilt (850 ms for
//! 1M) rather than updated, on CPUs whose L3 holds such a table at tens of ns; this KVM
//! guest's memory answers a 16 MiB working set in ~140 ns (`lpm-bench`'s probe). The
//! reimplementation measured 22 M/s at 1M synthetic prefixes with uniform destinations on
//! an Ice Lake laptop. Whether the paper's traces are uniform or drawn from the table, the
//! text available here did not say.


mod arch;
mod build;
pub mod dir24;
mod family;
mod free_lists;
mod lookup;
mod poptrie;
pub mod reference;
mod routes;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests4;
#[cfg(test)]
mod tests_dir24;
#[cfg(test)]
mod tests_prop;
#[cfg(test)]
mod tests_update;
mod update;

use core::fmt;

use family::prefix_mask;
pub use family::{Family, V4, V6};
use poptrie::Poptrie;
use routes::RouteSet;

/// What a lookup returns when no route matches.
const MISS: u32 = u32::MAX;

/// A rejected route change. Nothing was changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LpmError {
    /// `len` is over `max`, the address length (32 or 128).
    InvalidLength { len: u8, max: u8 },
    /// `next_hop` is over [`Lpm::MAX_NEXT_HOP`] ([`Lpm::MISS`] is "no route").
    InvalidNextHop(u32),
    /// The node or leaf arena would outgrow its 32-bit indices.
    TableFull,
}

impl fmt::Display for LpmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidLength { len, max } => {
                write!(f, "prefix length {len}: must be 0..={max}")
            }
            Self::InvalidNextHop(hop) => write!(
                f,
                "next hop {hop}: must be at most {} (MAX_NEXT_HOP; {MISS} is 'no route')",
                Lpm6::MAX_NEXT_HOP,
            ),
            Self::TableFull => f.write_str("route table full: node arena at its 32-bit limit"),
        }
    }
}

impl std::error::Error for LpmError {}

/// A route table: prefix → next-hop id, longest prefix wins; [`Lpm4`] or [`Lpm6`].
///
/// Changed only while no lookup runs on it (see the module docs on how relayd publishes
/// changes), or built whole by [`Lpm::from_routes`].
#[derive(Clone)]
pub struct Lpm<F: Family> {
    routes: RouteSet<F>,
    trie: Poptrie<F>,
}

/// The IPv6 route table: inner destinations.
pub type Lpm6 = Lpm<V6>;
/// The IPv4 route table: outer (tunnel) destinations.
pub type Lpm4 = Lpm<V4>;

impl<F: Family> Default for Lpm<F> {
    fn default() -> Self {
        Self {
            routes: RouteSet::default(),
            trie: Poptrie::default(),
        }
    }
}

impl<F: Family> Lpm<F> {
    /// What [`Lpm::lookup`] returns when no route matches.
    pub const MISS: u32 = MISS;
    /// The largest next-hop id a route can have: the direct table keeps a next hop or a
    /// node index in 31 bits.
    pub const MAX_NEXT_HOP: u32 = (1 << 31) - 2;

    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces `prefix/len`; returns the next hop it replaced. Host bits past `len`
    /// are ignored.
    pub fn insert(
        &mut self,
        prefix: F::Prefix,
        len: u8,
        next_hop: u32,
    ) -> Result<Option<u32>, LpmError> {
        let key = masked_key::<F>(prefix, len)?;
        if next_hop > Self::MAX_NEXT_HOP {
            return Err(LpmError::InvalidNextHop(next_hop));
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
    pub fn remove(&mut self, prefix: F::Prefix, len: u8) -> Result<Option<u32>, LpmError> {
        let key = masked_key::<F>(prefix, len)?;
        let Some(old) = self.routes.remove(key, len) else {
            return Ok(None);
        };
        let floor = poptrie::level_floor::<F>(len);
        let (value, value_len) = self
            .routes
            .longest_covering(key, floor, len)
            .unwrap_or((MISS, 0));
        self.trie.remove(key, len, value, value_len);
        Ok(Some(old))
    }

    /// The next hop of exactly `prefix/len` (host bits ignored), not a longest match.
    pub fn get(&self, prefix: F::Prefix, len: u8) -> Option<u32> {
        let key = masked_key::<F>(prefix, len).ok()?;
        self.routes.get(key, len)
    }

    /// The next hop for `addr`, [`Lpm::MISS`] when no route matches.
    #[inline]
    pub fn lookup(&self, addr: &F::Addr) -> u32 {
        self.trie.lookup(F::addr_key(addr))
    }

    /// `out[i] = self.lookup(&addrs[i])`, a burst of 64 at a time, walking the trie one
    /// level at a time for the whole burst with each lane's next node prefetched a level
    /// ahead, so that the lanes' loads overlap. Only the first `min(addrs.len(), out.len())`
    /// entries are used.
    pub fn lookup_bulk(&self, addrs: &[F::Addr], out: &mut [u32]) {
        self.lookup_bulk_with_prefetch(addrs, out, arch::prefetch);
    }

    /// [`Lpm::lookup_bulk`], calling `prefetch` instead of the table's own prefetch with the
    /// address of each node or leaf that a lane will read at the next level, as soon as it
    /// is known (a full level of the burst ahead of the read); `|_| {}` walks without.
    #[inline]
    pub fn lookup_bulk_with_prefetch(
        &self,
        addrs: &[F::Addr],
        out: &mut [u32],
        prefetch: impl Fn(*const u8),
    ) {
        for (addrs, out) in addrs
            .chunks(lookup::BURST)
            .zip(out.chunks_mut(lookup::BURST))
        {
            self.trie.lookup_burst(addrs, out, &prefetch);
        }
    }

    /// Cache lines a lookup of `addr` reads beyond the direct table and its bitmap (nodes,
    /// and an external leaf block): what a lookup costs in memory, for benchmarks.
    pub fn lines_read(&self, addr: &F::Addr) -> usize {
        self.trie.lines_read(F::addr_key(addr))
    }

    /// Number of routes, the default route included.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.routes.len() == 0
    }

    /// Every route as `(prefix, len, next_hop)`, sorted by prefix then length.
    pub fn routes(&self) -> Vec<(F::Prefix, u8, u32)> {
        self.routes
            .sorted()
            .into_iter()
            .map(|(key, len, hop)| (F::key_prefix(key), len, hop))
            .collect()
    }

    /// Heap bytes held: lookup structure, free blocks and the prefix set behind updates.
    pub fn memory_bytes(&self) -> usize {
        self.trie.memory_bytes() + self.routes.memory_bytes()
    }

    /// Builds a table in one pass (sort, then depth-first packing). A prefix given twice
    /// keeps its last next hop, as repeated [`Lpm::insert`]s would. Any invalid route
    /// rejects the whole build.
    pub fn from_routes<I>(routes: I) -> Result<Self, LpmError>
    where
        I: IntoIterator<Item = (F::Prefix, u8, u32)>,
    {
        let iter = routes.into_iter();
        let mut sorted = Vec::with_capacity(iter.size_hint().0);
        for (prefix, len, hop) in iter {
            let key = masked_key::<F>(prefix, len)?;
            if hop > Self::MAX_NEXT_HOP {
                return Err(LpmError::InvalidNextHop(hop));
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

impl<F: Family> fmt::Debug for Lpm<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(F::NAME)
            .field("routes", &self.routes.len())
            .field("nodes", &self.trie.node_count())
            .field("memory_bytes", &self.memory_bytes())
            .finish()
    }
}

/// `prefix` as a left-aligned key with the bits past `len` cleared.
fn masked_key<F: Family>(prefix: F::Prefix, len: u8) -> Result<u128, LpmError> {
    if len > F::BITS {
        return Err(LpmError::InvalidLength { len, max: F::BITS });
    }
    Ok(F::prefix_key(prefix) & prefix_mask(len))
}
