//! Single-route insert and remove: touch one node's slots (plus the path down to it), never
//! rebuild.
//!
//! A prefix of length `len` lives at one level: in the direct table for `len <= 20`, else
//! in the node at depth `node_depth(len)`, expanded over the 2^k slots it covers there.
//! Each slot records the length of the prefix it holds, so an insert overwrites exactly
//! the slots where nothing longer sits, and a remove restores exactly the slots that held
//! the removed prefix. A child slot holds its prefix as the child's `cover`.

use super::family::Family;
use super::poptrie::{
    direct_hop, direct_index, direct_leaf, direct_node, direct_node_index, node_depth, slot,
    slot_range, NodeRec, Poptrie, Slot, DIRECT_NODE, STRIDE,
};
use super::MISS;

/// Levels a path can have, at most: IPv6's depths 20, 27, …, 125.
const MAX_LEVELS: usize = 16;

/// Levels a path of family `F` can have.
const fn levels<F: Family>() -> usize {
    ((F::BITS as u32 - F::DIRECT_BITS) / STRIDE + 1) as usize
}

impl<F: Family> Poptrie<F> {
    /// Adds or replaces the masked prefix `key/len` (`len` 0..=`F::BITS`).
    pub(super) fn insert(&mut self, key: u128, len: u8, hop: u32) {
        if len == 0 {
            self.default = hop;
        } else if u32::from(len) <= F::DIRECT_BITS {
            self.set_direct(key, len, |held| held <= len, hop, len);
        } else {
            let mut at = self.direct_child(key);
            let depth = node_depth::<F>(len);
            let mut d = F::DIRECT_BITS;
            while d < depth {
                at = self.child(at, slot(key, d));
                d += STRIDE;
            }
            self.set_slots(at, key, len, depth, |held| held <= len, (hop, len));
        }
    }

    /// Removes the masked prefix `key/len`; the slots it held get `(value, value_len)`, the
    /// next shorter prefix of the same level (`MISS`, 0 if none).
    pub(super) fn remove(&mut self, key: u128, len: u8, value: u32, value_len: u8) {
        if len == 0 {
            self.default = MISS;
            return;
        }
        if u32::from(len) <= F::DIRECT_BITS {
            self.set_direct(key, len, |held| held == len, value, value_len);
            return;
        }
        let entry = self.direct[direct_index::<F>(key)];
        if entry & DIRECT_NODE == 0 {
            return;
        }
        // Node indices from the direct table down to the prefix's node.
        const { assert!(levels::<F>() <= MAX_LEVELS) };
        let mut path = [0u32; MAX_LEVELS];
        path[0] = direct_node_index(entry);
        let depth = node_depth::<F>(len);
        let mut level = 0;
        let mut d = F::DIRECT_BITS;
        while d < depth {
            let node = &self.nodes[path[level] as usize];
            let s = slot(key, d);
            let Some(child) = node.child(s) else {
                return;
            };
            level += 1;
            path[level] = child;
            d += STRIDE;
        }
        self.set_slots(
            path[level],
            key,
            len,
            depth,
            |held| held == len,
            (value, value_len),
        );
        self.prune(key, &path[..=level]);
    }

    /// Rewrites the direct entries of `key/len` whose held length passes `take`.
    fn set_direct(&mut self, key: u128, len: u8, take: impl Fn(u8) -> bool, hop: u32, hop_len: u8) {
        let first = direct_index::<F>(key);
        let count = 1usize << (F::DIRECT_BITS - u32::from(len));
        for i in first..first + count {
            let entry = self.direct[i];
            if entry & DIRECT_NODE != 0 {
                let at = direct_node_index(entry) as usize;
                if take(self.ctl[at].cover_len) {
                    self.nodes[at].cover = hop;
                    self.ctl[at].cover_len = hop_len;
                }
            } else if take(self.direct_len[i]) {
                self.direct[i] = direct_leaf(hop);
                self.direct_len[i] = hop_len;
            }
        }
        self.mark_empty(first, count);
    }

    /// Rewrites the slots of `key/len` in node `at` (at `depth`) whose held length passes
    /// `take` to `(hop, hop_len)`, then re-packs the node.
    fn set_slots(
        &mut self,
        at: u32,
        key: u128,
        len: u8,
        depth: u32,
        take: impl Fn(u8) -> bool,
        to: (u32, u8),
    ) {
        let old = self.read(at);
        let mut slots = self.unpack(&old);
        for slot in &mut slots[slot_range(key, len, depth)] {
            match slot {
                Slot::Leaf { value, len } => {
                    if take(*len) {
                        (*value, *len) = to;
                    }
                }
                Slot::Child(child) => {
                    let child = *child as usize;
                    if take(self.ctl[child].cover_len) {
                        (self.nodes[child].cover, self.ctl[child].cover_len) = to;
                    }
                }
            }
        }
        let packed = self.pack(&old, &slots);
        self.write(at, packed);
    }

    /// The node under the direct entry of `key`, created if the entry is a leaf.
    fn direct_child(&mut self, key: u128) -> u32 {
        let top = direct_index::<F>(key);
        let entry = self.direct[top];
        if entry & DIRECT_NODE != 0 {
            return direct_node_index(entry);
        }
        let rec = self.new_node(direct_hop(entry), self.direct_len[top]);
        let at = self.alloc_nodes(1);
        self.write(at, rec);
        self.direct[top] = direct_node(at);
        self.direct_len[top] = 0;
        self.mark_empty(top, 1);
        at
    }

    /// The child in slot `s` of node `at`, created if the slot is a leaf.
    fn child(&mut self, at: u32, s: u32) -> u32 {
        let mut rec = self.read(at);
        if rec.node.child(s).is_none() {
            let mut slots = self.unpack(&rec);
            if let Slot::Leaf { value, len } = slots[s as usize] {
                // Staged in a block of its own until `pack` copies it among its siblings.
                let staged = self.alloc_nodes(1);
                let new = self.new_node(value, len);
                self.write(staged, new);
                slots[s as usize] = Slot::Child(staged);
                rec = self.pack(&rec, &slots);
                self.write(at, rec);
                self.free_nodes(staged, 1);
            }
        }
        rec.node.child_at(s)
    }

    /// Turns empty nodes on `path` (deepest last) back into leaves of their parents.
    fn prune(&mut self, key: u128, path: &[u32]) {
        for level in (0..path.len()).rev() {
            let rec = self.read(path[level]);
            if !Self::is_empty(&rec) {
                return;
            }
            match level.checked_sub(1) {
                None => {
                    let top = direct_index::<F>(key);
                    self.free_nodes(path[level], 1);
                    self.direct[top] = direct_leaf(rec.node.cover);
                    self.direct_len[top] = rec.ctl.cover_len;
                    self.mark_empty(top, 1);
                }
                Some(up) => {
                    let parent: NodeRec = self.read(path[up]);
                    let mut slots = self.unpack(&parent);
                    let depth = F::DIRECT_BITS + STRIDE * up as u32;
                    slots[slot(key, depth) as usize] = Slot::Leaf {
                        value: rec.node.cover,
                        len: rec.ctl.cover_len,
                    };
                    let packed = self.pack(&parent, &slots);
                    self.write(path[up], packed);
                }
            }
        }
    }
}
