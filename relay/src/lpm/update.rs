//! Single-route insert and remove: touch one node's slots (plus the path down to it), never
//! rebuild.
//!
//! A prefix of length `len` lives at one level: in the direct table for `len <= 16`, else
//! in the node at depth `node_depth(len)`, expanded over the 2^k slots it covers there.
//! Each slot records the length of the prefix it holds, so an insert overwrites exactly
//! the slots where nothing longer sits, and a remove restores exactly the slots that held
//! the removed prefix. A child slot holds its prefix as the child's `cover`.

use super::poptrie::{
    node_depth, slot, slot_range, Node, Poptrie, Slot, DIRECT_BITS, DIRECT_NODE, STRIDE,
};

impl Poptrie {
    /// Adds or replaces the masked prefix `key/len` (`len` 0..=128).
    pub(super) fn insert(&mut self, key: u128, len: u8, hop: u32) {
        if len == 0 {
            self.default = hop;
        } else if u32::from(len) <= DIRECT_BITS {
            self.set_direct(key, len, |held| held <= len, hop, len);
        } else {
            let mut at = self.direct_child(key);
            let depth = node_depth(len);
            let mut d = DIRECT_BITS;
            while d < depth {
                at = self.child(at, slot(key, d));
                d += STRIDE;
            }
            self.set_slots(at, key, len, depth, |held| held <= len, hop, len);
        }
    }

    /// Removes the masked prefix `key/len`; the slots it held get `(value, value_len)`, the
    /// next shorter prefix of the same level (`MISS`, 0 if none).
    pub(super) fn remove(&mut self, key: u128, len: u8, value: u32, value_len: u8) {
        if len == 0 {
            self.default = super::Lpm6::MISS;
            return;
        }
        if u32::from(len) <= DIRECT_BITS {
            self.set_direct(key, len, |held| held == len, value, value_len);
            return;
        }
        // Path of node indices from the direct table down to the prefix's node.
        let mut path = [0u32; 128 / STRIDE as usize + 1];
        let top = (key >> (128 - DIRECT_BITS)) as usize;
        let entry = self.direct[top];
        if entry & DIRECT_NODE == 0 {
            return;
        }
        path[0] = entry as u32;
        let depth = node_depth(len);
        let mut level = 0;
        let mut d = DIRECT_BITS;
        while d < depth {
            let node = self.nodes[path[level] as usize];
            let s = slot(key, d);
            if node.children >> s & 1 == 0 {
                return;
            }
            level += 1;
            path[level] = node.child_base + (node.children & super::poptrie::through(s)).count_ones() - 1;
            d += STRIDE;
        }
        self.set_slots(path[level], key, len, depth, |held| held == len, value, value_len);
        self.prune(key, &path[..=level]);
    }

    /// Rewrites the direct entries of `key/len` whose held length passes `take`.
    fn set_direct(&mut self, key: u128, len: u8, take: impl Fn(u8) -> bool, hop: u32, hop_len: u8) {
        let first = (key >> (128 - DIRECT_BITS)) as usize;
        let count = 1usize << (DIRECT_BITS - u32::from(len));
        for i in first..first + count {
            let entry = self.direct[i];
            if entry & DIRECT_NODE != 0 {
                let node = &mut self.nodes[entry as u32 as usize];
                if take(node.cover_len) {
                    node.cover = hop;
                    node.cover_len = hop_len;
                }
            } else if take(self.direct_len[i]) {
                self.direct[i] = u64::from(hop);
                self.direct_len[i] = hop_len;
            }
        }
    }

    /// Rewrites the slots of `key/len` in node `at` (at `depth`) whose held length passes
    /// `take`, then re-packs the node.
    #[allow(clippy::too_many_arguments)]
    fn set_slots(
        &mut self,
        at: u32,
        key: u128,
        len: u8,
        depth: u32,
        take: impl Fn(u8) -> bool,
        hop: u32,
        hop_len: u8,
    ) {
        let old = self.nodes[at as usize];
        let mut slots = self.unpack(&old);
        for slot in &mut slots[slot_range(key, len, depth)] {
            match slot {
                Slot::Leaf { value, len } => {
                    if take(*len) {
                        (*value, *len) = (hop, hop_len);
                    }
                }
                Slot::Child(child) => {
                    if take(child.cover_len) {
                        (child.cover, child.cover_len) = (hop, hop_len);
                    }
                }
            }
        }
        self.nodes[at as usize] = self.pack(&old, &slots);
    }

    /// The node under the direct entry of `key`, created if the entry is a leaf.
    fn direct_child(&mut self, key: u128) -> u32 {
        let top = (key >> (128 - DIRECT_BITS)) as usize;
        let entry = self.direct[top];
        if entry & DIRECT_NODE != 0 {
            return entry as u32;
        }
        let node = self.new_node(entry as u32, self.direct_len[top]);
        let at = self.alloc_nodes(1);
        self.nodes[at as usize] = node;
        self.direct[top] = DIRECT_NODE | u64::from(at);
        self.direct_len[top] = 0;
        at
    }

    /// The child in slot `s` of node `at`, created if the slot is a leaf.
    fn child(&mut self, at: u32, s: u32) -> u32 {
        let mut node = self.nodes[at as usize];
        if node.children >> s & 1 == 0 {
            let mut slots = self.unpack(&node);
            if let Slot::Leaf { value, len } = slots[s as usize] {
                slots[s as usize] = Slot::Child(self.new_node(value, len));
            }
            node = self.pack(&node, &slots);
            self.nodes[at as usize] = node;
        }
        node.child_base + (node.children & super::poptrie::through(s)).count_ones() - 1
    }

    /// Turns empty nodes on `path` (deepest last) back into leaves of their parents.
    fn prune(&mut self, key: u128, path: &[u32]) {
        for level in (0..path.len()).rev() {
            let node = self.nodes[path[level] as usize];
            if !self.is_empty(&node) {
                return;
            }
            self.free_leaves(node.leaf_base, 1);
            let cover = Slot::Leaf { value: node.cover, len: node.cover_len };
            match level.checked_sub(1) {
                None => {
                    let top = (key >> (128 - DIRECT_BITS)) as usize;
                    self.free_nodes(path[level], 1);
                    self.direct[top] = u64::from(node.cover);
                    self.direct_len[top] = node.cover_len;
                }
                Some(up) => {
                    let parent_at = path[up] as usize;
                    let parent: Node = self.nodes[parent_at];
                    let mut slots = self.unpack(&parent);
                    let depth = DIRECT_BITS + STRIDE * up as u32;
                    slots[slot(key, depth) as usize] = cover;
                    self.nodes[parent_at] = self.pack(&parent, &slots);
                }
            }
        }
    }
}
