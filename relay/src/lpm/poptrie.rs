//! Poptrie storage: the direct table, 32-byte nodes, packed leaf runs and their arenas.
//!
//! Slots of a node are in one of two packed arrays, found by population count:
//! slot `s` is a child if bit `s` of `children` is set, at
//! `child_base + popcount(children & ..=s) - 1` in `nodes`; otherwise it is a leaf, at
//! `leaf_base + popcount(leafvec & ..=s) - 1` in `leaf_value`, where `leafvec` marks the
//! first leaf slot of each run of equal `(value, len)`.

use super::Lpm6;

/// Bits resolved by the direct table.
pub(super) const DIRECT_BITS: u32 = 16;
/// Bits resolved by each node.
pub(super) const STRIDE: u32 = 6;
pub(super) const FANOUT: usize = 1 << STRIDE;
const DIRECT_SIZE: usize = 1 << DIRECT_BITS;
/// Direct-table entry flag: the low 32 bits index `nodes`, not a next hop.
pub(super) const DIRECT_NODE: u64 = 1 << 32;
const MISS: u32 = Lpm6::MISS;

/// One trie node: 6 bits of the address, 32 bytes, two to a cache line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C, align(32))]
pub(super) struct Node {
    pub children: u64,
    pub leafvec: u64,
    pub child_base: u32,
    pub leaf_base: u32,
    /// The longest prefix of the parent's level covering this node (what the parent slot
    /// would hold as a leaf); `MISS` if none.
    pub cover: u32,
    /// Length of the `cover` prefix, 0 if none. Control plane only.
    pub cover_len: u8,
}

/// A node slot unpacked for editing.
#[derive(Clone, Copy, Debug)]
pub(super) enum Slot {
    Leaf { value: u32, len: u8 },
    Child(Node),
}

pub(super) const EMPTY_LEAF: Slot = Slot::Leaf { value: MISS, len: 0 };

/// Free blocks of each exact size (1..=FANOUT entries).
#[derive(Clone, Debug, Default)]
struct FreeLists(Vec<Vec<u32>>);

impl FreeLists {
    fn take(&mut self, size: usize) -> Option<u32> {
        self.0.get_mut(size)?.pop()
    }

    fn put(&mut self, base: u32, size: usize) {
        if size == 0 {
            return;
        }
        if self.0.len() <= size {
            self.0.resize_with(size + 1, Vec::new);
        }
        if let Some(list) = self.0.get_mut(size) {
            list.push(base);
        }
    }

    fn entries(&self) -> usize {
        self.0.iter().map(|list| list.capacity()).sum::<usize>() + self.0.capacity()
    }
}

#[derive(Clone, Debug)]
pub(super) struct Poptrie {
    /// The `/0` route, where every lookup starts.
    pub default: u32,
    /// By the top 16 bits: a next hop, or `DIRECT_NODE | node index`.
    pub direct: Vec<u64>,
    /// Length of the prefix in each direct leaf, 0 if none. Control plane only.
    pub direct_len: Vec<u8>,
    pub nodes: Vec<Node>,
    pub leaf_value: Vec<u32>,
    /// Length of each leaf run's prefix, 0 if none. Control plane only.
    pub leaf_len: Vec<u8>,
    free_nodes: FreeLists,
    free_leaves: FreeLists,
}

impl Default for Poptrie {
    fn default() -> Self {
        Self {
            default: MISS,
            direct: vec![u64::from(MISS); DIRECT_SIZE],
            direct_len: vec![0; DIRECT_SIZE],
            nodes: Vec::new(),
            leaf_value: Vec::new(),
            leaf_len: Vec::new(),
            free_nodes: FreeLists::default(),
            free_leaves: FreeLists::default(),
        }
    }
}

/// Depth (first bit) of the node holding prefixes of length `len` (> DIRECT_BITS).
pub(super) fn node_depth(len: u8) -> u32 {
    DIRECT_BITS + STRIDE * ((u32::from(len) - DIRECT_BITS - 1) / STRIDE)
}

/// Prefixes stored at the same level as a `len` prefix are longer than this.
pub(super) fn level_floor(len: u8) -> u8 {
    if u32::from(len) <= DIRECT_BITS {
        0
    } else {
        node_depth(len) as u8
    }
}

/// The 6-bit slot of `key` in a node at `depth` (< 128); bits past 128 read as zero.
#[inline(always)]
pub(super) fn slot(key: u128, depth: u32) -> u32 {
    (key.wrapping_shl(depth) >> (128 - STRIDE)) as u32
}

/// Bits `0..=s`.
#[inline(always)]
pub(super) fn through(s: u32) -> u64 {
    u64::MAX >> (63 - (s & 63))
}

/// Slots `first .. first + count` of a `len` prefix with `key` in a node at `depth`.
pub(super) fn slot_range(key: u128, len: u8, depth: u32) -> core::ops::Range<usize> {
    let first = slot(key, depth) as usize;
    first..first + (1usize << (depth + STRIDE - u32::from(len)))
}

impl Poptrie {
    pub(super) fn node_count(&self) -> usize {
        self.nodes.len() - self.free_nodes.0.iter().enumerate().map(|(size, l)| size * l.len()).sum::<usize>()
    }

    pub(super) fn memory_bytes(&self) -> usize {
        use core::mem::size_of;
        self.direct.capacity() * size_of::<u64>()
            + self.direct_len.capacity()
            + self.nodes.capacity() * size_of::<Node>()
            + self.leaf_value.capacity() * size_of::<u32>()
            + self.leaf_len.capacity()
            + (self.free_nodes.entries() + self.free_leaves.entries()) * size_of::<u32>()
    }

    /// Whether one more insert (at most one new node and one re-packed block per level)
    /// keeps every arena index within `u32`.
    pub(super) fn has_room_for_update(&self) -> bool {
        const WORST: usize = (128 / STRIDE as usize + 1) * (FANOUT + 1);
        let limit = u32::MAX as usize - WORST;
        self.nodes.len() < limit && self.leaf_value.len() < limit
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
        base
    }

    pub(super) fn free_nodes(&mut self, base: u32, size: usize) {
        self.free_nodes.put(base, size);
    }

    fn alloc_leaves(&mut self, size: usize) -> u32 {
        if size == 0 {
            return 0;
        }
        if let Some(base) = self.free_leaves.take(size) {
            return base;
        }
        let base = self.leaf_value.len() as u32;
        self.leaf_value.resize(self.leaf_value.len() + size, MISS);
        self.leaf_len.resize(self.leaf_len.len() + size, 0);
        base
    }

    pub(super) fn free_leaves(&mut self, base: u32, size: usize) {
        self.free_leaves.put(base, size);
    }

    /// Unpacks `node` into its 64 slots.
    pub(super) fn unpack(&self, node: &Node) -> [Slot; FANOUT] {
        let mut slots = [EMPTY_LEAF; FANOUT];
        for (s, slot) in (0u32..).zip(slots.iter_mut()) {
            let mask = through(s);
            if node.children >> s & 1 == 1 {
                let at = node.child_base + (node.children & mask).count_ones() - 1;
                *slot = Slot::Child(self.nodes[at as usize]);
            } else {
                let at = (node.leaf_base + (node.leafvec & mask).count_ones() - 1) as usize;
                *slot = Slot::Leaf { value: self.leaf_value[at], len: self.leaf_len[at] };
            }
        }
        slots
    }

    /// Packs `slots` into blocks, reusing `old`'s where the size is unchanged and freeing
    /// the rest, and returns the node (with `old`'s cover) to store in place of `old`.
    pub(super) fn pack(&mut self, old: &Node, slots: &[Slot; FANOUT]) -> Node {
        let mut children = 0u64;
        let mut leafvec = 0u64;
        let mut runs = [(MISS, 0u8); FANOUT];
        let mut n_runs = 0;
        for (s, slot) in (0u32..).zip(slots) {
            match *slot {
                Slot::Child(_) => children |= 1 << s,
                Slot::Leaf { value, len } => {
                    if n_runs == 0 || runs[n_runs - 1] != (value, len) {
                        leafvec |= 1 << s;
                        runs[n_runs] = (value, len);
                        n_runs += 1;
                    }
                }
            }
        }
        let n_children = children.count_ones() as usize;
        let old_children = old.children.count_ones() as usize;
        let child_base = if n_children == old_children {
            old.child_base
        } else {
            self.free_nodes(old.child_base, old_children);
            self.alloc_nodes(n_children)
        };
        let mut at = child_base as usize;
        for slot in slots {
            if let Slot::Child(child) = slot {
                self.nodes[at] = *child;
                at += 1;
            }
        }
        let old_runs = old.leafvec.count_ones() as usize;
        let leaf_base = if n_runs == old_runs {
            old.leaf_base
        } else {
            self.free_leaves(old.leaf_base, old_runs);
            self.alloc_leaves(n_runs)
        };
        for (i, &(value, len)) in runs[..n_runs].iter().enumerate() {
            self.leaf_value[leaf_base as usize + i] = value;
            self.leaf_len[leaf_base as usize + i] = len;
        }
        Node { children, leafvec, child_base, leaf_base, cover: old.cover, cover_len: old.cover_len }
    }

    /// A node with no routes of its own, under a parent slot holding `(cover, cover_len)`.
    pub(super) fn new_node(&mut self, cover: u32, cover_len: u8) -> Node {
        let empty = Node { cover, cover_len, ..Node::default() };
        self.pack(&empty, &[EMPTY_LEAF; FANOUT])
    }

    /// A node with no children and no routes of its own: it can go back to a leaf.
    pub(super) fn is_empty(&self, node: &Node) -> bool {
        node.children == 0
            && node.leafvec.count_ones() == 1
            && self.leaf_len[node.leaf_base as usize] == 0
    }
}
