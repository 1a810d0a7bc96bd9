//! Poptrie storage: the direct table, 64-byte nodes, leaf runs and their arenas.
//!
//! Slots of a node are found by population count: slot `s` is a child if bit `s` of
//! `children` is set, at `child_base + popcount(children & ..=s) - 1` in `nodes`; otherwise
//! it is a leaf, in run `popcount(leafvec & ..=s) - 1`, where `leafvec` marks the first
//! leaf slot of each run of equal `(value, len)`. Up to [`INLINE`] runs live in the node
//! itself (most nodes: a sparse region has "nothing, one prefix, nothing"), saving the
//! lookup a dependent load; more go to an external block of `leaf_value` whose base is
//! `leaves[0]`.

use core::hint::select_unpredictable;
use core::marker::PhantomData;

use super::family::sealed::Fixed;
use super::family::Family;
use super::free_lists::FreeLists;
use super::MISS;

/// Bits resolved by each node.
pub(super) const STRIDE: u32 = 7;
pub(super) const FANOUT: usize = 1 << STRIDE;
/// Leaf runs a node holds in place.
pub(super) const INLINE: usize = 5;
/// Direct-table entry flag: the other 31 bits index `nodes`, not a next hop.
pub(super) const DIRECT_NODE: u32 = 1 << 31;

/// Direct-table entry for a next hop: `hop + 1`, so that "no route" (`MISS`) is zero and
/// the direct table starts as untouched zeroed pages. Next hops stay below `DIRECT_NODE - 1`
/// ([`super::Lpm::MAX_NEXT_HOP`]).
#[inline(always)]
pub(super) const fn direct_leaf(hop: u32) -> u32 {
    hop.wrapping_add(1)
}

/// The next hop of a direct-table entry without `DIRECT_NODE`.
#[inline(always)]
pub(super) fn direct_hop(entry: u32) -> u32 {
    entry.wrapping_sub(1)
}

/// Direct-table entry for node `at` (below `DIRECT_NODE`: see `has_room_for_update`).
#[inline(always)]
pub(super) fn direct_node(at: u32) -> u32 {
    DIRECT_NODE | at
}

/// The node of a direct-table entry with `DIRECT_NODE`.
#[inline(always)]
pub(super) fn direct_node_index(entry: u32) -> u32 {
    entry & !DIRECT_NODE
}

/// One trie node: 7 bits of the address, one cache line.
///
/// The bitmaps are kept as two 64-slot halves, each with what a lookup needs to rank a slot
/// inside it: a lookup loads the half its slot is in and counts within one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, align(64))]
pub(super) struct Node {
    /// Which slots descend, by half (slots 0–63, 64–127).
    children: [u64; 2],
    /// Where a run of equal leaves starts, by half.
    leafvec: [u64; 2],
    /// Index in `nodes` of the first child in each half.
    child_base: [u32; 2],
    /// The longest prefix of the parent's level covering this node (what the parent slot
    /// would hold as a leaf); `MISS` if none.
    pub cover: u32,
    /// The leaf runs when there are at most `INLINE`, else `[base in leaf_value, ..]`.
    pub leaves: [u32; INLINE],
}

impl Default for Node {
    fn default() -> Self {
        Self {
            children: [0; 2],
            leafvec: [0; 2],
            child_base: [0; 2],
            cover: MISS,
            leaves: [MISS; INLINE],
        }
    }
}

/// How many of slots `0..=s` of half `s >> 6` are set in `words`, and whether `s` is.
/// Slot `s` goes to the top bit: shifting out what is above it is the whole mask.
#[inline(always)]
fn rank_in_half(words: &[u64; 2], s: u32) -> (u32, bool) {
    let upto = words[(s >> 6) as usize & 1] << (63 - (s & 63));
    (upto.count_ones(), upto >> 63 == 1)
}

impl Node {
    pub(super) fn runs(&self) -> usize {
        (self.leafvec[0].count_ones() + self.leafvec[1].count_ones()) as usize
    }

    pub(super) fn children(&self) -> u128 {
        u128::from(self.children[0]) | u128::from(self.children[1]) << 64
    }

    pub(super) fn leafvec(&self) -> u128 {
        u128::from(self.leafvec[0]) | u128::from(self.leafvec[1]) << 64
    }

    /// Index in `nodes` of the first child (all children are contiguous).
    pub(super) fn child_base(&self) -> u32 {
        self.child_base[0]
    }

    pub(super) fn set_children(&mut self, children: u128, base: u32) {
        let lo = children as u64;
        self.children = [lo, (children >> 64) as u64];
        self.child_base = [base, base + lo.count_ones()];
    }

    pub(super) fn set_leafvec(&mut self, leafvec: u128) {
        self.leafvec = [leafvec as u64, (leafvec >> 64) as u64];
    }

    /// The node that slot `s` descends to, `None` if the slot is a leaf.
    #[inline(always)]
    pub(super) fn child(&self, s: u32) -> Option<u32> {
        let (at, descends) = self.child_slot(s);
        descends.then_some(at)
    }

    /// Where the child of slot `s` is, for a slot known to descend.
    pub(super) fn child_at(&self, s: u32) -> u32 {
        self.child_slot(s).0
    }

    /// Where slot `s`'s child is if it descends, and whether it does.
    #[inline(always)]
    fn child_slot(&self, s: u32) -> (u32, bool) {
        let (rank, descends) = rank_in_half(&self.children, s);
        let base = self.child_base[(s >> 6) as usize & 1];
        (base.wrapping_add(rank).wrapping_sub(1), descends)
    }

    /// The leaf run slot `s` falls in (a slot that does not descend).
    #[inline(always)]
    pub(super) fn run(&self, s: u32) -> u32 {
        // Whether `s` is in the upper half is data: a select, not a branch.
        let below = select_unpredictable(s >= 64, self.leafvec[0].count_ones(), 0);
        below + rank_in_half(&self.leafvec, s).0 - 1
    }
}

/// Control-plane facts about a node, kept at the same index as the node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct NodeCtl {
    /// Length of the `cover` prefix, 0 if none.
    pub cover_len: u8,
    /// Prefix length of each inline leaf run, 0 if none.
    pub leaf_len: [u8; INLINE],
}

/// A node with its control facts, as copied between blocks.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct NodeRec {
    pub node: Node,
    pub ctl: NodeCtl,
}

/// A node slot unpacked for editing; a child is named by the node index it is at now.
#[derive(Clone, Copy, Debug)]
pub(super) enum Slot {
    Leaf { value: u32, len: u8 },
    Child(u32),
}

pub(super) const EMPTY_LEAF: Slot = Slot::Leaf {
    value: MISS,
    len: 0,
};

#[derive(Clone, Debug)]
pub(super) struct Poptrie<F: Family> {
    /// The `/0` route, where every lookup starts.
    pub default: u32,
    /// By the top `F::DIRECT_BITS` bits: `direct_leaf(next hop)`, or `direct_node(node
    /// index)`. A fixed size, so that indexing it needs no bounds check; 32-bit entries, so
    /// that the part random destinations touch (the unallocated space) stays in the L2 cache.
    pub direct: Box<F::Direct>,
    /// Bit `i` set: `direct[i]` is "no route". Destinations in unallocated space (random
    /// ones, scans) are answered here: for IPv6, 16 KiB of bits cover all of 2000::/3, where
    /// the direct table spends 512 KiB, and stay in the L1 cache.
    pub empty: Box<F::Empty>,
    /// Length of the prefix in each direct leaf, 0 if none. Control plane only.
    pub direct_len: Vec<u8>,
    pub nodes: Vec<Node>,
    /// Parallel to `nodes`. Control plane only.
    pub ctl: Vec<NodeCtl>,
    /// External leaf runs of nodes with more than `INLINE`.
    pub leaf_value: Vec<u32>,
    /// Parallel to `leaf_value`. Control plane only.
    pub leaf_len: Vec<u8>,
    free_nodes: FreeLists,
    free_leaves: FreeLists,
    family: PhantomData<F>,
}

impl<F: Family> Default for Poptrie<F> {
    fn default() -> Self {
        // "No route" is zero: the direct table starts as untouched zeroed pages.
        const { assert!(direct_leaf(MISS) == 0) };
        const { assert!(core::mem::size_of::<F::Direct>() == 4 << F::DIRECT_BITS) };
        const { assert!(core::mem::size_of::<F::Empty>() * 8 == 1 << F::DIRECT_BITS) };
        Self {
            default: MISS,
            direct: F::Direct::filled(direct_leaf(MISS)),
            empty: F::Empty::filled(u64::MAX),
            direct_len: vec![0; 1 << F::DIRECT_BITS],
            nodes: Vec::new(),
            ctl: Vec::new(),
            leaf_value: Vec::new(),
            leaf_len: Vec::new(),
            free_nodes: FreeLists::default(),
            free_leaves: FreeLists::default(),
            family: PhantomData,
        }
    }
}

impl<F: Family> Poptrie<F> {
    /// Every bit of `empty` is what `mark_empty` makes of its entry now.
    #[cfg(test)]
    pub(super) fn empty_is_exact(&self) -> bool {
        let mut copy = self.clone();
        copy.mark_empty(0, 1 << F::DIRECT_BITS);
        copy.empty == self.empty
    }

    /// Brings the `empty` bits of direct entries `first..first + count` up to date.
    pub(super) fn mark_empty(&mut self, first: usize, count: usize) {
        let empty: &mut [u64] = AsMut::as_mut(&mut *self.empty);
        let direct: &[u32] = AsRef::as_ref(&*self.direct);
        for (i, &entry) in direct.iter().enumerate().skip(first).take(count) {
            let bit = 1u64 << (i & 63);
            if let Some(word) = empty.get_mut(i >> 6) {
                *word = if entry == direct_leaf(MISS) {
                    *word | bit
                } else {
                    *word & !bit
                };
            }
        }
    }

    /// Whether direct entry `i` is "no route".
    #[inline(always)]
    pub(super) fn is_empty_direct(&self, i: usize) -> bool {
        let words = (1usize << F::DIRECT_BITS) / 64;
        self.empty[(i >> 6) & (words - 1)] >> (i & 63) & 1 == 1
    }
}

/// Depth (first bit) of the node holding prefixes of length `len` (> `F::DIRECT_BITS`).
pub(super) fn node_depth<F: Family>(len: u8) -> u32 {
    F::DIRECT_BITS + STRIDE * ((u32::from(len) - F::DIRECT_BITS - 1) / STRIDE)
}

/// Prefixes stored at the same level as a `len` prefix are longer than this.
pub(super) fn level_floor<F: Family>(len: u8) -> u8 {
    if u32::from(len) <= F::DIRECT_BITS {
        0
    } else {
        node_depth::<F>(len) as u8
    }
}

/// Direct-table index of `key`.
#[inline(always)]
pub(super) fn direct_index<F: Family>(key: u128) -> usize {
    (key >> (128 - F::DIRECT_BITS)) as usize
}

/// The 7-bit slot of `key` in a node at `depth` (< 128); bits past 128 read as zero.
#[inline(always)]
pub(super) fn slot(key: u128, depth: u32) -> u32 {
    // Nearly every lookup ends above bit 64: stay in one 64-bit register there.
    if depth <= 64 - STRIDE {
        slot_in_top((key >> 64) as u64, depth)
    } else {
        (key.wrapping_shl(depth) >> (128 - STRIDE)) as u32
    }
}

/// The slot at `depth` (at most `64 - STRIDE`) of a key whose top 64 bits are `top`.
#[inline(always)]
pub(super) fn slot_in_top(top: u64, depth: u32) -> u32 {
    (top << depth >> (64 - STRIDE)) as u32
}

/// Slots of a `len` prefix with `key` in a node at `depth`.
pub(super) fn slot_range(key: u128, len: u8, depth: u32) -> core::ops::Range<usize> {
    let first = slot(key, depth) as usize;
    first..first + (1usize << (depth + STRIDE - u32::from(len)))
}

impl<F: Family> Poptrie<F> {
    pub(super) fn node_count(&self) -> usize {
        self.nodes.len() - self.free_nodes.free_entries()
    }

    /// Every node and leaf block is back on a free list (an empty table leaks nothing).
    #[cfg(test)]
    pub(super) fn all_blocks_free(&self) -> bool {
        self.free_nodes.free_entries() == self.nodes.len()
            && self.free_leaves.free_entries() == self.leaf_value.len()
    }

    pub(super) fn memory_bytes(&self) -> usize {
        use core::mem::size_of;
        size_of::<F::Direct>()
            + size_of::<F::Empty>()
            + self.direct_len.capacity()
            + self.nodes.capacity() * size_of::<Node>()
            + self.ctl.capacity() * size_of::<NodeCtl>()
            + self.leaf_value.capacity() * size_of::<u32>()
            + self.leaf_len.capacity()
            + self.free_nodes.heap_bytes()
            + self.free_leaves.heap_bytes()
    }

    /// Whether one more insert (at most one new node and one re-packed block per level)
    /// keeps every arena index within 31 bits (a direct-table entry's node index).
    pub(super) fn has_room_for_update(&self) -> bool {
        let worst = (usize::from(F::BITS) / STRIDE as usize + 1) * (FANOUT + 1);
        let limit = DIRECT_NODE as usize - worst;
        self.nodes.len() < limit && self.leaf_value.len() < limit
    }

    pub(super) fn read(&self, at: u32) -> NodeRec {
        NodeRec {
            node: self.nodes[at as usize],
            ctl: self.ctl[at as usize],
        }
    }

    pub(super) fn write(&mut self, at: u32, rec: NodeRec) {
        self.nodes[at as usize] = rec.node;
        self.ctl[at as usize] = rec.ctl;
    }

    pub(super) fn alloc_nodes(&mut self, size: usize) -> u32 {
        if size == 0 {
            return 0;
        }
        if let Some(base) = self.free_nodes.take(size) {
            return base;
        }
        let base = self.nodes.len() as u32;
        self.nodes.resize(self.nodes.len() + size, Node::default());
        self.ctl.resize(self.ctl.len() + size, NodeCtl::default());
        base
    }

    pub(super) fn free_nodes(&mut self, base: u32, size: usize) {
        self.free_nodes.put(base, size);
    }

    fn alloc_leaves(&mut self, size: usize) -> u32 {
        if let Some(base) = self.free_leaves.take(size) {
            return base;
        }
        let base = self.leaf_value.len() as u32;
        self.leaf_value.resize(self.leaf_value.len() + size, MISS);
        self.leaf_len.resize(self.leaf_len.len() + size, 0);
        base
    }

    /// Leaf run `run` of `rec` as `(value, len)`.
    fn leaf(&self, rec: &NodeRec, run: usize) -> (u32, u8) {
        if rec.node.runs() <= INLINE {
            (rec.node.leaves[run], rec.ctl.leaf_len[run])
        } else {
            let at = rec.node.leaves[0] as usize + run;
            (self.leaf_value[at], self.leaf_len[at])
        }
    }

    /// Unpacks a node into its slots.
    pub(super) fn unpack(&self, rec: &NodeRec) -> [Slot; FANOUT] {
        let node = &rec.node;
        let mut slots = [EMPTY_LEAF; FANOUT];
        let (children, leafvec) = (node.children(), node.leafvec());
        let mut child = node.child_base();
        let mut leaf = (MISS, 0);
        let mut run = 0;
        for (s, slot) in (0u32..).zip(slots.iter_mut()) {
            if children >> s & 1 == 1 {
                *slot = Slot::Child(child);
                child += 1;
                continue;
            }
            if leafvec >> s & 1 == 1 {
                leaf = self.leaf(rec, run);
                run += 1;
            }
            *slot = Slot::Leaf {
                value: leaf.0,
                len: leaf.1,
            };
        }
        slots
    }

    /// Packs `slots` into `old`'s place, keeping `old`'s cover. Children stay where they are
    /// while the set of child slots is unchanged; otherwise they are copied into a new
    /// block and the old one freed.
    pub(super) fn pack(&mut self, old: &NodeRec, slots: &[Slot; FANOUT]) -> NodeRec {
        let mut children = 0u128;
        for (s, slot) in (0u32..).zip(slots) {
            if let Slot::Child(_) = slot {
                children |= 1 << s;
            }
        }
        let child_base = if children == old.node.children() {
            old.node.child_base()
        } else {
            let base = self.alloc_nodes(children.count_ones() as usize);
            let mut to = base;
            for slot in slots {
                if let Slot::Child(from) = *slot {
                    let rec = self.read(from);
                    self.write(to, rec);
                    to += 1;
                }
            }
            let old_children = old.node.children().count_ones() as usize;
            self.free_nodes(old.node.child_base(), old_children);
            base
        };
        let mut rec = *old;
        rec.node.set_children(children, child_base);
        self.pack_leaves(&old.node, slots, &mut rec);
        rec
    }

    /// Packs the leaf slots of `slots` into `rec`: inline, or into an external block
    /// (reusing `old`'s when the size is unchanged).
    pub(super) fn pack_leaves(&mut self, old: &Node, slots: &[Slot; FANOUT], rec: &mut NodeRec) {
        let mut leafvec = 0u128;
        let mut runs = [(MISS, 0u8); FANOUT];
        let mut n_runs = 0;
        for (s, slot) in (0u32..).zip(slots) {
            if let Slot::Leaf { value, len } = *slot {
                if n_runs == 0 || runs[n_runs - 1] != (value, len) {
                    leafvec |= 1 << s;
                    runs[n_runs] = (value, len);
                    n_runs += 1;
                }
            }
        }
        let old_runs = old.runs();
        let old_block = (old_runs > INLINE).then_some(old.leaves[0]);
        rec.node.set_leafvec(leafvec);
        rec.node.leaves = [MISS; INLINE];
        rec.ctl.leaf_len = [0; INLINE];
        if n_runs <= INLINE {
            if let Some(base) = old_block {
                self.free_leaves.put(base, old_runs);
            }
            for (i, &(value, len)) in runs[..n_runs].iter().enumerate() {
                rec.node.leaves[i] = value;
                rec.ctl.leaf_len[i] = len;
            }
        } else {
            let base = match old_block {
                Some(base) if old_runs == n_runs => base,
                _ => {
                    if let Some(base) = old_block {
                        self.free_leaves.put(base, old_runs);
                    }
                    self.alloc_leaves(n_runs)
                }
            };
            for (i, &(value, len)) in runs[..n_runs].iter().enumerate() {
                self.leaf_value[base as usize + i] = value;
                self.leaf_len[base as usize + i] = len;
            }
            rec.node.leaves[0] = base;
        }
    }

    /// A node with no routes of its own, under a parent slot holding `(cover, cover_len)`.
    pub(super) fn new_node(&mut self, cover: u32, cover_len: u8) -> NodeRec {
        let mut empty = NodeRec::default();
        empty.node.cover = cover;
        empty.ctl.cover_len = cover_len;
        self.pack(&empty, &[EMPTY_LEAF; FANOUT])
    }

    /// A node with no children and no routes of its own: it can go back to a leaf. (All
    /// its slots are then one inline run of "nothing".)
    pub(super) fn is_empty(rec: &NodeRec) -> bool {
        rec.node.children() == 0 && rec.node.runs() == 1 && rec.ctl.leaf_len[0] == 0
    }
}
