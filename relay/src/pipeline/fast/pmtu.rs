//! Path MTU per IPv4 tunnel endpoint, learned from ICMPv4 "fragmentation needed"
//! (RFC 4213 section 3.2). A direct-mapped cache: fixed memory, no allocation after
//! start, a colliding endpoint simply evicts (the next ICMPv4 error teaches it again).

const SLOTS: usize = 256;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Slot {
    dst: u32,
    /// 0: empty.
    mtu: u16,
    expires: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PmtuCache {
    slots: Box<[Slot]>,
    lifetime: u64,
    /// Nothing was ever learned: every lookup misses without a probe (the usual case,
    /// paid per encapsulated packet).
    empty: bool,
}

impl PmtuCache {
    /// Entries live `lifetime` clock ticks (RFC 8201 suggests 10 minutes).
    pub fn new(lifetime: u64) -> PmtuCache {
        PmtuCache { slots: vec![Slot::default(); SLOTS].into_boxed_slice(), lifetime, empty: true }
    }

    #[inline(always)]
    fn index(dst: u32) -> usize {
        (dst.wrapping_mul(0x9e37_79b1) >> 24) as usize
    }

    /// The learned path MTU towards `dst`, if fresh.
    #[inline]
    pub fn get(&self, dst: u32, now: u64) -> Option<u16> {
        if self.empty {
            return None;
        }
        let s = self.slots.get(Self::index(dst))?;
        (s.mtu != 0 && s.dst == dst && now < s.expires).then_some(s.mtu)
    }

    pub fn learn(&mut self, dst: u32, mtu: u16, now: u64) {
        if let Some(s) = self.slots.get_mut(Self::index(dst)) {
            self.empty = false;
            *s = Slot { dst, mtu: mtu.max(1), expires: now.saturating_add(self.lifetime) };
        }
    }
}
