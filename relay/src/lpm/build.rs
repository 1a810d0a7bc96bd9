//! One-pass bulk build from sorted routes.
//!
//! Sorted by (key, len), routes come in preorder: a prefix precedes every prefix it covers.
//! Writing each prefix over its slots in that order leaves the longest one in every slot,
//! and the routes below one slot form a contiguous run, so each node is built from a
//! sub-slice and its children recursively from sub-sub-slices.

use super::poptrie::{
    slot, slot_range, Node, Poptrie, Slot, DIRECT_BITS, DIRECT_NODE, EMPTY_LEAF, FANOUT, STRIDE,
};
use super::LpmError;

/// Routes one build accepts: keeps every arena index within `u32` (at most 19 nodes and
/// 59 leaf runs per route).
const MAX_ROUTES: usize = 50_000_000;

impl Poptrie {
    /// `routes`: masked, valid, sorted by (key, len), no duplicates.
    pub(super) fn build(routes: &[(u128, u8, u32)]) -> Result<Self, LpmError> {
        if routes.len() > MAX_ROUTES {
            return Err(LpmError::TableFull);
        }
        let mut trie = Poptrie::default();
        for &(key, len, hop) in routes {
            if len == 0 {
                trie.default = hop;
            } else if u32::from(len) <= DIRECT_BITS {
                let first = (key >> (128 - DIRECT_BITS)) as usize;
                let count = 1usize << (DIRECT_BITS - u32::from(len));
                trie.direct[first..first + count].fill(u64::from(hop));
                trie.direct_len[first..first + count].fill(len);
            }
        }
        let mut rest = routes;
        while let Some(&(key, _, _)) = rest.first() {
            let top = (key >> (128 - DIRECT_BITS)) as usize;
            let end = rest.partition_point(|r| (r.0 >> (128 - DIRECT_BITS)) as usize == top);
            let (group, tail) = rest.split_at(end);
            rest = tail;
            if group.iter().any(|r| u32::from(r.1) > DIRECT_BITS) {
                let (cover, cover_len) = (trie.direct[top] as u32, trie.direct_len[top]);
                let node = trie.build_node(group, DIRECT_BITS, cover, cover_len);
                let at = trie.alloc_nodes(1);
                trie.nodes[at as usize] = node;
                trie.direct[top] = DIRECT_NODE | u64::from(at);
                trie.direct_len[top] = 0;
            }
        }
        // Room for updates without an immediate doubling (and copy) of the arenas.
        let headroom = |len: usize| len + len / 16;
        trie.nodes.shrink_to(headroom(trie.nodes.len()));
        trie.leaf_value.shrink_to(headroom(trie.leaf_value.len()));
        trie.leaf_len.shrink_to(headroom(trie.leaf_len.len()));
        Ok(trie)
    }

    /// The node at `depth` for `routes` (all sharing the node's first `depth` bits; those of
    /// length `<= depth` belong to ancestors and are skipped).
    fn build_node(&mut self, routes: &[(u128, u8, u32)], depth: u32, cover: u32, cover_len: u8) -> Node {
        let own = depth + 1..=depth + STRIDE;
        let mut slots = [EMPTY_LEAF; FANOUT];
        for &(key, len, hop) in routes {
            if own.contains(&u32::from(len)) {
                slots[slot_range(key, len, depth)].fill(Slot::Leaf { value: hop, len });
            }
        }
        let mut rest = routes;
        while let Some(&(key, _, _)) = rest.first() {
            let s = slot(key, depth);
            let end = rest.partition_point(|r| slot(r.0, depth) == s);
            let (group, tail) = rest.split_at(end);
            rest = tail;
            if group.iter().any(|r| u32::from(r.1) > depth + STRIDE) {
                if let Slot::Leaf { value, len } = slots[s as usize] {
                    let child = self.build_node(group, depth + STRIDE, value, len);
                    slots[s as usize] = Slot::Child(child);
                }
            }
        }
        let empty = Node { cover, cover_len, ..Node::default() };
        self.pack(&empty, &slots)
    }
}
