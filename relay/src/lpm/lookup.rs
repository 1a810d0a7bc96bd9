//! Single and burst lookups.

use super::poptrie::{
    direct_hop, direct_index, is_set, rank, slot, Node, Poptrie, DIRECT_BITS, DIRECT_NODE, INLINE,
    STRIDE,
};
use super::Lpm6;

/// Lanes walked together by `lookup_burst`.
pub(super) const BURST: usize = 32;
const MISS: u32 = Lpm6::MISS;

/// Where a lane's walk stopped in a node.
enum Step {
    Child(u32),
    Hop(u32),
    /// Index in `leaf_value`.
    External(u32),
}

impl Poptrie {
    #[inline(always)]
    fn step(node: &Node, key: u128, depth: u32) -> Step {
        let s = slot(key, depth);
        if is_set(node.children, s) {
            return Step::Child(node.child_base + rank(node.children, s) - 1);
        }
        let run = rank(node.leafvec, s) as usize - 1;
        if node.runs() <= INLINE {
            Step::Hop(node.leaves[run.min(INLINE - 1)])
        } else {
            Step::External(node.leaves[0] + run as u32)
        }
    }

    #[inline]
    pub(super) fn lookup(&self, key: u128) -> u32 {
        let mut best = self.default;
        let entry = self.direct[direct_index(key)];
        if entry & DIRECT_NODE == 0 {
            return or_best(direct_hop(entry), best);
        }
        let mut at = entry as u32;
        let mut depth = DIRECT_BITS;
        while depth < 128 {
            let node = &self.nodes[at as usize];
            best = or_best(node.cover, best);
            match Self::step(node, key, depth) {
                Step::Child(child) => at = child,
                Step::Hop(hop) => return or_best(hop, best),
                Step::External(leaf) => return or_best(self.leaf_value[leaf as usize], best),
            }
            depth += STRIDE;
        }
        best
    }

    /// Looks up `min(addrs.len(), out.len(), BURST)` addresses one trie level at a time for
    /// the whole burst, handing `prefetch` the next level's node (or leaf) of each lane as
    /// soon as it is known, so that the lanes' loads overlap.
    #[inline]
    pub(super) fn lookup_burst(
        &self,
        addrs: &[[u8; 16]],
        out: &mut [u32],
        prefetch: &impl Fn(*const u8),
    ) {
        let n = addrs.len().min(out.len()).min(BURST);
        let mut key = [0u128; BURST];
        let mut best = [self.default; BURST];
        // Node index while walking; index in `leaf_value` for lanes in `external`.
        let mut at = [0u32; BURST];
        // Lane sets as bitmaps: iterating one costs a `tzcnt`, and building the next one
        // (`|=`) puts no lane's loads behind another's.
        let mut walking = 0u32;
        let mut external = 0u32;

        for i in 0..n {
            key[i] = u128::from_be_bytes(addrs[i]);
            let entry = self.direct[direct_index(key[i])];
            if entry & DIRECT_NODE == 0 {
                out[i] = or_best(direct_hop(entry), best[i]);
            } else {
                at[i] = entry as u32;
                prefetch(self.nodes.as_ptr().wrapping_add(at[i] as usize).cast());
                walking |= 1 << i;
            }
        }

        let mut depth = DIRECT_BITS;
        while walking != 0 && depth < 128 {
            let mut lanes = walking;
            walking = 0;
            while lanes != 0 {
                // The mask: the compiler cannot see a lane number stays below BURST.
                let i = lanes.trailing_zeros() as usize & (BURST - 1);
                lanes &= lanes - 1;
                let node = &self.nodes[at[i] as usize];
                best[i] = or_best(node.cover, best[i]);
                match Self::step(node, key[i], depth) {
                    Step::Child(child) => {
                        at[i] = child;
                        prefetch(self.nodes.as_ptr().wrapping_add(child as usize).cast());
                        walking |= 1 << i;
                    }
                    Step::Hop(hop) => out[i] = or_best(hop, best[i]),
                    Step::External(leaf) => {
                        at[i] = leaf;
                        prefetch(self.leaf_value.as_ptr().wrapping_add(leaf as usize).cast());
                        external |= 1 << i;
                    }
                }
            }
            depth += STRIDE;
        }
        // `walking` is empty here (no node below depth 125 has children).
        while external != 0 {
            let i = external.trailing_zeros() as usize & (BURST - 1);
            external &= external - 1;
            out[i] = or_best(self.leaf_value[at[i] as usize], best[i]);
        }
    }
}

/// `value` unless it is `MISS`, then `best`. Whether a node has a cover is data: a branch
/// on it mispredicts a third of the time.
#[inline(always)]
fn or_best(value: u32, best: u32) -> u32 {
    core::hint::select_unpredictable(value != MISS, value, best)
}
