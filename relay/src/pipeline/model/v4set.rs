//! A set of IPv4 addresses for the per-packet "is this one of …" questions (our addresses,
//! 6to4 endpoints, configured tunnels' remote ends).
//!
//! Open addressing with linear probing at most half full: a member or a non-member is
//! usually answered by the first slot (one multiply, one load, one or two compares), where
//! scanning a list costs a loop the compiler sets up around whatever loop contains it. The
//! memory is linear in the members (a tunnel broker may configure tens of thousands of
//! tunnels), and the set is rebuilt, not edited, when the configuration changes.

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct V4Set {
    /// A member `a` as `1 << 32 | a`; 0 in an empty slot.
    slots: Box<[u64]>,
    /// `32 - log2(slots.len())`: the slot of `a` is the top bits of `a * MUL`.
    shift: u32,
}

/// Fibonacci hashing: the top bits of the product mix every bit of the address.
const MUL: u32 = 0x9e37_79b1;
/// Slots of an empty or small set: one cache line's worth of probes stays cheap.
const MIN_BITS: u32 = 6;

impl V4Set {
    pub(crate) fn new(addrs: &[u32]) -> V4Set {
        // At least twice the members, so that probe runs stay short.
        let bits = (addrs.len() * 2).next_power_of_two().trailing_zeros().clamp(MIN_BITS, 32);
        let mut set = V4Set { slots: vec![0; 1 << bits].into_boxed_slice(), shift: 32 - bits };
        for &a in addrs {
            let mut i = set.home(a);
            while set.slots[i] != 0 && set.slots[i] != member(a) {
                i = (i + 1) & (set.slots.len() - 1);
            }
            set.slots[i] = member(a);
        }
        set
    }

    #[inline(always)]
    fn home(&self, a: u32) -> usize {
        (a.wrapping_mul(MUL) >> self.shift) as usize
    }

    #[inline(always)]
    pub(crate) fn contains(&self, a: u32) -> bool {
        let mask = self.slots.len() - 1;
        let mut i = self.home(a);
        loop {
            match self.slots.get(i) {
                Some(&s) if s == member(a) => return true,
                Some(&0) | None => return false,
                Some(_) => i = (i + 1) & mask,
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
        fn answers_like_a_hash_set(addrs in prop::collection::vec(any::<u32>(), 0..300), probes in prop::collection::vec(any::<u32>(), 100)) {
            let s = V4Set::new(&addrs);
            let reference: HashSet<u32> = addrs.iter().copied().collect();
            for a in probes.iter().chain(&addrs) {
                prop_assert_eq!(s.contains(*a), reference.contains(a));
            }
        }
    }
}
