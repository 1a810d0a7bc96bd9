//! A set of IPv4 addresses for the per-packet "is this one of …" questions (our addresses,
//! 6to4 endpoints, configured tunnels' remote ends).
//!
//! Open addressing with linear probing at most half full: a member or a non-member is
//! usually answered by the first slot (one multiply, one load, one or two compares), where
//! scanning a list costs a loop the compiler sets up around whatever loop contains it. The
//! memory is linear in the members (a tunnel broker may configure a hundred thousand
//! tunnels), and a member is added or removed in constant time (the table doubles when half
//! full; removal shifts the rest of the probe run back, so no tombstones ever lengthen it).

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct V4Set {
    /// A member `a` as `1 << 32 | a`; 0 in an empty slot.
    slots: Box<[u64]>,
    /// `32 - log2(slots.len())`: the slot of `a` is the top bits of `a * MUL`.
    shift: u32,
    len: usize,
}

/// Fibonacci hashing: the top bits of the product mix every bit of the address.
const MUL: u32 = 0x9e37_79b1;
/// Slots of an empty or small set: one cache line's worth of probes stays cheap.
const MIN_BITS: u32 = 6;

impl V4Set {
    pub(crate) fn new(addrs: &[u32]) -> V4Set {
        // At least twice the members, so that probe runs stay short.
        let bits = (addrs.len() * 2).next_power_of_two().trailing_zeros().clamp(MIN_BITS, 32);
        let mut set = V4Set { slots: vec![0; 1 << bits].into_boxed_slice(), shift: 32 - bits, len: 0 };
        for &a in addrs {
            set.place(a);
        }
        set
    }

    #[inline(always)]
    fn home(&self, a: u32) -> usize {
        (a.wrapping_mul(MUL) >> self.shift) as usize
    }

    #[inline(always)]
    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// The slot holding `a`, or the empty slot that ends its probe run.
    fn find(&self, a: u32) -> usize {
        let mut i = self.home(a);
        while self.slots[i] != 0 && self.slots[i] != member(a) {
            i = (i + 1) & self.mask();
        }
        i
    }

    /// Puts `a` in (no growth); true if it was not a member.
    fn place(&mut self, a: u32) -> bool {
        let i = self.find(a);
        let new = self.slots[i] == 0;
        if new {
            self.slots[i] = member(a);
            self.len += 1;
        }
        new
    }

    #[inline(always)]
    pub(crate) fn contains(&self, a: u32) -> bool {
        let mask = self.mask();
        let mut i = self.home(a);
        loop {
            match self.slots.get(i) {
                Some(&s) if s == member(a) => return true,
                Some(&0) | None => return false,
                Some(_) => i = (i + 1) & mask,
            }
        }
    }

    /// Adds `a`; true if it was not a member. Doubles the table when it would pass half full.
    pub(crate) fn insert(&mut self, a: u32) -> bool {
        if self.contains(a) {
            return false;
        }
        if (self.len + 1) * 2 > self.slots.len() {
            let members: Vec<u32> = self.slots.iter().filter(|&&s| s != 0).map(|&s| s as u32).chain([a]).collect();
            *self = V4Set::new(&members);
            return true;
        }
        self.place(a)
    }

    /// Removes `a`; true if it was a member. The members after it in its probe run move
    /// back into the gap when their home slot allows (Knuth's algorithm R).
    pub(crate) fn remove(&mut self, a: u32) -> bool {
        let mut gap = self.find(a);
        if self.slots[gap] == 0 {
            return false;
        }
        self.slots[gap] = 0;
        self.len -= 1;
        let mut j = gap;
        loop {
            j = (j + 1) & self.mask();
            let s = self.slots[j];
            if s == 0 {
                return true;
            }
            // `s` may fill the gap unless its home lies cyclically in (gap, j].
            let home = self.home(s as u32);
            let stays = if gap <= j { gap < home && home <= j } else { gap < home || home <= j };
            if !stays {
                self.slots[gap] = s;
                self.slots[j] = 0;
                gap = j;
            }
        }
    }
}

#[inline(always)]
fn member(a: u32) -> u64 {
    1 << 32 | u64::from(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    #[test]
    fn empty_set_holds_nothing_not_even_zero() {
        let s = V4Set::new(&[]);
        assert!(!s.contains(0));
        assert!(!s.contains(0xc633_6407));
    }

    #[test]
    fn a_broker_sized_set_stays_linear() {
        // 65536 configured tunnels (every tunnel id), remote ends on consecutive addresses.
        let addrs: Vec<u32> = (0..65536u32).map(|i| 0x0a00_0000 + i).collect();
        let s = V4Set::new(&addrs);
        assert_eq!(s.slots.len(), 131072);
        assert!(addrs.iter().all(|&a| s.contains(a)));
        assert!(!s.contains(0x0a01_0000));
        assert!(!s.contains(0x09ff_ffff));
    }

    proptest! {
        #[test]
        fn inserts_and_removes_like_a_hash_set(ops in prop::collection::vec((any::<bool>(), 0u32..64), 0..400)) {
            // Few distinct values, many collisions in a small table: long probe runs,
            // removals from their middle, growth.
            let mut s = V4Set::new(&[]);
            let mut reference = HashSet::new();
            for (add, v) in ops {
                let a = v.wrapping_mul(0x0101_0101);
                if add {
                    prop_assert_eq!(s.insert(a), reference.insert(a));
                } else {
                    prop_assert_eq!(s.remove(a), reference.remove(&a));
                }
                prop_assert_eq!(s.len, reference.len());
                for probe in 0u32..64 {
                    let p = probe.wrapping_mul(0x0101_0101);
                    prop_assert_eq!(s.contains(p), reference.contains(&p));
                }
            }
        }

        #[test]
        fn answers_like_a_hash_set(addrs in prop::collection::vec(any::<u32>(), 0..300), probes in prop::collection::vec(any::<u32>(), 100)) {
            let s = V4Set::new(&addrs);
            let reference: HashSet<u32> = addrs.iter().copied().collect();
            for a in probes.iter().chain(&addrs) {
                prop_assert_eq!(s.contains(*a), reference.contains(a));
            }
        }
    }
}
