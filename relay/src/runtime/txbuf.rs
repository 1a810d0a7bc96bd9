//! Per-worker, per-port transmit buffering, as DPDK's `rte_eth_tx_buffer` does for l3fwd:
//! packets collect until a full burst (or the drain timer) and leave in one `tx_burst`.
use std::mem::MaybeUninit;

use super::Mbuf;

/// The burst size that triggers a flush.
pub const TX_BURST: usize = 32;

/// Packets waiting for one (port, tx queue). Owns them until the driver takes them: mbufs the
/// driver refuses stay here for the next flush, or are freed and counted by [`drop_all`].
///
/// [`drop_all`]: TxBuffer::drop_all
pub struct TxBuffer {
    port: u16,
    queue: u16,
    len: usize,
    /// The last flush found packets queued and the driver took none (a memif port with no
    /// peer, a link that is down): waiting on this buffer is no reason to keep polling.
    stalled: bool,
    pkts: [MaybeUninit<Mbuf>; TX_BURST * 2],
}

impl TxBuffer {
    pub fn new(port: u16, queue: u16) -> TxBuffer {
        TxBuffer { port, queue, len: 0, stalled: false, pkts: [const { MaybeUninit::uninit() }; TX_BURST * 2] }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Empty, or its last flush moved nothing: an idle worker may sleep on it.
    pub fn is_idle(&self) -> bool {
        self.len == 0 || self.stalled
    }

    /// Queues one packet; flushes when a burst is ready. Returns the packets the driver took
    /// (0 unless a flush happened) and the packets dropped because the buffer stayed full
    /// (the driver took nothing twice in a row: the newest packet is freed, never leaked).
    #[inline(always)]
    pub fn push(&mut self, m: Mbuf) -> (usize, usize) {
        if self.len == self.pkts.len() {
            let sent = self.flush();
            if self.len == self.pkts.len() {
                drop(m);
                return (sent, 1);
            }
            self.pkts[self.len].write(m);
            self.len += 1;
            return (sent, 0);
        }
        self.pkts[self.len].write(m);
        self.len += 1;
        if self.len >= TX_BURST {
            return (self.flush(), 0);
        }
        (0, 0)
    }

    /// Sends a whole burst that goes to this port: straight from the rx array to the driver when
    /// nothing is queued ahead of it (the common case: no copy into the buffer), else behind
    /// the queued packets. What the driver refuses is kept. Returns (sent, dropped) as `push`.
    ///
    /// # Safety
    /// Every slot of `pkts` must hold an owned, initialised mbuf; all of them are moved out
    /// (the slots are logically uninitialised afterwards).
    #[inline(always)]
    pub unsafe fn send_burst(&mut self, pkts: &mut [MaybeUninit<Mbuf>]) -> (usize, usize) {
        let (mut sent, mut dropped) = (0, 0);
        let first = if self.len == 0 {
            // SAFETY: the caller guarantees pkts holds owned mbufs, laid out as `rte_mbuf *`;
            // the driver takes ownership of the first `n` it accepts.
            let n = unsafe {
                dpdk_sys::relay_eth_tx_burst(self.port, self.queue, pkts.as_mut_ptr() as *mut *mut dpdk_sys::rte_mbuf, pkts.len() as u16)
            } as usize;
            sent = n;
            n
        } else {
            0
        };
        for slot in &mut pkts[first..] {
            // SAFETY: an owned mbuf the driver did not take; read once, moved into the buffer.
            let (s, d) = self.push(unsafe { slot.assume_init_read() });
            sent += s;
            dropped += d;
        }
        (sent, dropped)
    }

    /// Hands the queued packets to the driver; keeps what it refused, in order.
    #[inline]
    pub fn flush(&mut self) -> usize {
        if self.len == 0 {
            self.stalled = false;
            return 0;
        }
        let base = self.pkts.as_mut_ptr() as *mut *mut dpdk_sys::rte_mbuf;
        // SAFETY: the first `len` slots hold owned mbufs laid out as `rte_mbuf *` (Mbuf is
        // transparent). The driver takes ownership of the first `sent` of them.
        let sent = unsafe { dpdk_sys::relay_eth_tx_burst(self.port, self.queue, base, self.len as u16) } as usize;
        let left = self.len - sent;
        if sent > 0 && left > 0 {
            // SAFETY: moves the `left` unsent (still owned) pointers to the front; the regions may
            // overlap, hence `copy`. The moved-from slots are now logically uninitialised.
            unsafe { std::ptr::copy(base.add(sent), base, left) };
        }
        self.len = left;
        self.stalled = sent == 0;
        sent
    }

    /// Frees every queued packet (at shutdown, or when a port is gone); returns how many.
    pub fn drop_all(&mut self) -> usize {
        let n = self.len;
        for slot in &mut self.pkts[..n] {
            // SAFETY: the first `len` slots are initialised and owned; each is read once.
            drop(unsafe { slot.assume_init_read() });
        }
        self.len = 0;
        n
    }
}

impl Drop for TxBuffer {
    fn drop(&mut self) {
        self.drop_all();
    }
}
