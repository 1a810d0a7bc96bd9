//! A received burst that owns its mbufs: the safe face of `rx_burst` for code outside the
//! runtime (relay-gen's receive loop).
use std::mem::MaybeUninit;

use super::worker::RX_BURST;
use super::{Mbuf, Port};

/// Up to [`RX_BURST`] packets from one `rx_burst` call, freed on [`clear`](RxBurst::clear),
/// on the next [`recv`](RxBurst::recv) or on drop.
pub struct RxBurst {
    len: usize,
    pkts: [MaybeUninit<Mbuf>; RX_BURST],
}

impl Default for RxBurst {
    fn default() -> Self {
        RxBurst::new()
    }
}

impl RxBurst {
    pub fn new() -> RxBurst {
        RxBurst { len: 0, pkts: [const { MaybeUninit::uninit() }; RX_BURST] }
    }

    /// Frees the packets held, then receives up to [`RX_BURST`] from `queue` of `port`;
    /// returns how many. Call only from the one lcore that owns the queue.
    #[inline]
    pub fn recv(&mut self, port: u16, queue: u16) -> usize {
        self.clear();
        self.len = Port::rx_burst(port, queue, &mut self.pkts);
        self.len
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline]
    pub fn as_slice(&self) -> &[Mbuf] {
        // SAFETY: rx_burst initialised the first `len` slots with owned mbufs, and nothing
        // moved them out since; MaybeUninit<Mbuf> has Mbuf's layout.
        unsafe { &*(&self.pkts[..self.len] as *const [MaybeUninit<Mbuf>] as *const [Mbuf]) }
    }

    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [Mbuf] {
        // SAFETY: as in as_slice; `&mut self` makes this the only view.
        unsafe { &mut *(&mut self.pkts[..self.len] as *mut [MaybeUninit<Mbuf>] as *mut [Mbuf]) }
    }

    /// Frees every packet held.
    #[inline]
    pub fn clear(&mut self) {
        let n = std::mem::replace(&mut self.len, 0);
        for slot in &mut self.pkts[..n] {
            // SAFETY: the first `n` slots are initialised and owned; each is read once, and
            // `len` is already 0 so no other path reads them again.
            drop(unsafe { slot.assume_init_read() });
        }
    }
}

impl Drop for RxBurst {
    fn drop(&mut self) {
        self.clear();
    }
}
