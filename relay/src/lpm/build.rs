//! One-pass bulk build from sorted routes.
//!
//! Sorted by (key, len), routes come in preorder: a prefix precedes every prefix it covers.
//! Writing each prefix over its slots in that order leaves the longest one in every slot,
//! and the routes below one slot form a contiguous run, so each node is built from a
//! sub-slice and its children recursively from sub-sub-slices.

use super::family::Family;
use super::poptrie::{
    direct_hop, direct_index, direct_leaf, direct_node, slot, slot_range, Node, NodeRec, Poptrie,
    Slot, EMPTY_LEAF, FANOUT, STRIDE,
};
use super::LpmError;

/// Routes one build accepts: keeps every arena index within `u32` (a route adds at most 16
/// nodes, and a node's leaf runs are at most 1 + 2 × (its routes + its children)).
const MAX_ROUTES: usize = 50_000_000;

impl<F: Family> Poptrie<F> {
    /// `routes`: masked, valid, sorted by (key, len), no duplicates.
    pub(super) fn build(routes: &[(u128, u8, u32)]) -> Result<Self, LpmError> {
        if routes.len() > MAX_ROUTES {
            return Err(LpmError::TableFull);
        }
        let mut trie = Self::default();
        for &(key, len, hop) in routes {
            if len == 0 {
                trie.default = hop;
            } else if u32::from(len) <= F::DIRECT_BITS {
                let first = direct_index::<F>(key);
                let count = 1usize << (F::DIRECT_BITS - u32::from(len));
                let direct: &mut [u32] = AsMut::as_mut(&mut *trie.direct);
                direct[first..first + count].fill(direct_leaf(hop));
                trie.direct_len[first..first + count].fill(len);
            }
        }
        let mut rest = routes;
        while let Some(&(key, _, _)) = rest.first() {
            let top = direct_index::<F>(key);
            let end = rest.partition_point(|r| direct_index::<F>(r.0) == top);
            let (group, tail) = rest.split_at(end);
            rest = tail;
            if group.iter().any(|r| u32::from(r.1) > F::DIRECT_BITS) {
                let (cover, cover_len) = (direct_hop(trie.direct[top]), trie.direct_len[top]);
                let rec = trie.build_node(group, F::DIRECT_BITS, cover, cover_len);
                let at = trie.alloc_nodes(1);
                trie.write(at, rec);
                trie.direct[top] = direct_node(at);
                trie.direct_len[top] = 0;
            }
        }
        trie.mark_empty(0, 1 << F::DIRECT_BITS);
        // Room for updates without an immediate doubling (and copy) of the arenas.
        let headroom = |len: usize| len + len / 16;
        trie.nodes.shrink_to(headroom(trie.nodes.len()));
        trie.ctl.shrink_to(headroom(trie.ctl.len()));
        trie.leaf_value.shrink_to(headroom(trie.leaf_value.len()));
        trie.leaf_len.shrink_to(headroom(trie.leaf_len.len()));
        Ok(trie)
    }

    /// The node at `depth` for `routes` (all sharing the node's first `depth` bits; those of
    /// length `<= depth` belong to ancestors and are skipped). Its children are built
    /// straight into their block, allocated before theirs: a path is laid out top-down.
    fn build_node(
        &mut self,
        routes: &[(u128, u8, u32)],
        depth: u32,
        cover: u32,
        cover_len: u8,
    ) -> NodeRec {
        let own = depth + 1..=depth + STRIDE;
        // Most nodes on a path to a long prefix hold no route of their own: for them the
        // slots need not be materialised (see the end).
        let has_own = routes.iter().any(|r| own.contains(&u32::from(r.1)));
        let mut slots = [EMPTY_LEAF; FANOUT];
        if has_own {
            for &(key, len, hop) in routes {
                if own.contains(&u32::from(len)) {
                    slots[slot_range(key, len, depth)].fill(Slot::Leaf { value: hop, len });
                }
            }
        }
        // Runs of routes below each child slot.
        let mut groups = [(0u32, 0usize, 0usize); FANOUT];
        let mut n_groups = 0;
        let mut start = 0;
        while let Some(&(key, _, _)) = routes.get(start) {
            let s = slot(key, depth);
            let end = start + routes[start..].partition_point(|r| slot(r.0, depth) == s);
            if routes[start..end]
                .iter()
                .any(|r| u32::from(r.1) > depth + STRIDE)
            {
                groups[n_groups] = (s, start, end);
                n_groups += 1;
            }
            start = end;
        }
        let mut rec = NodeRec::default();
        rec.node.cover = cover;
        rec.ctl.cover_len = cover_len;
        let child_base = self.alloc_nodes(n_groups);
        let mut children = 0u128;
        for (at, &(s, start, end)) in (child_base..).zip(&groups[..n_groups]) {
            if let Slot::Leaf { value, len } = slots[s as usize] {
                let child = self.build_node(&routes[start..end], depth + STRIDE, value, len);
                self.write(at, child);
                slots[s as usize] = Slot::Child(at);
                children |= 1 << s;
            }
        }
        rec.node.set_children(children, child_base);
        if has_own {
            self.pack_leaves(&Node::default(), &slots, &mut rec);
        } else {
            // One run of "nothing", starting at the first slot that is not a child (none if
            // all are), which is what `pack_leaves` would find.
            let leaves = !children;
            rec.node.set_leafvec(leaves & leaves.wrapping_neg());
        }
        rec
    }
}
