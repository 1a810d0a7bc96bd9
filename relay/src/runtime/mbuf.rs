//! An owned DPDK packet buffer.
use std::ptr::NonNull;

use dpdk_sys::rte_mbuf;

use crate::pipeline::PacketBuf;

/// One `rte_mbuf`, owned: freed back to its pool on drop.
///
/// `#[repr(transparent)]` over the raw pointer so a `[Mbuf]` is exactly the `rte_mbuf **`
/// array that rx/tx burst read and write. `Send` (an mbuf may move to another lcore, e.g. on
/// the exception ring) but not `Sync` (nothing about it may be shared).
///
/// RX is configured without scatter, so every mbuf relay sees is a single segment: the packet
/// views below cover the first (only) segment.
#[repr(transparent)]
pub struct Mbuf(NonNull<rte_mbuf>);

// SAFETY: an mbuf is a heap object owned by exactly one Mbuf value; moving ownership to another
// thread is how DPDK passes packets between lcores. No `Sync`: `&Mbuf` gives no shared mutation
// but exposes the raw pointer, which other threads must not use concurrently.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Takes ownership of a raw mbuf.
    ///
    /// # Safety
    /// `raw` must be a valid mbuf that nobody else owns or frees.
    #[inline(always)]
    pub unsafe fn from_raw(raw: NonNull<rte_mbuf>) -> Mbuf {
        Mbuf(raw)
    }

    /// Gives up ownership (e.g. to a tx queue) without freeing.
    #[inline(always)]
    pub fn into_raw(self) -> NonNull<rte_mbuf> {
        let raw = self.0;
        std::mem::forget(self);
        raw
    }

    #[inline(always)]
    pub fn as_ptr(&self) -> *mut rte_mbuf {
        self.0.as_ptr()
    }

    #[inline(always)]
    fn raw(&self) -> &rte_mbuf {
        // SAFETY: we own a valid mbuf for as long as self lives.
        unsafe { self.0.as_ref() }
    }

    #[inline(always)]
    fn raw_mut(&mut self) -> &mut rte_mbuf {
        // SAFETY: we own a valid mbuf and `&mut self` makes this the only access.
        unsafe { self.0.as_mut() }
    }

    #[inline(always)]
    pub fn data_len(&self) -> usize {
        self.raw().data_len as usize
    }

    #[inline(always)]
    pub fn headroom(&self) -> usize {
        self.raw().data_off as usize
    }

    pub fn segments(&self) -> u16 {
        self.raw().nb_segs
    }

    pub fn set_port(&mut self, port: u16) {
        self.raw_mut().port = port;
    }

    /// Appends bytes at the end (for packets the control core builds). False when the tailroom
    /// is too small; nothing changes then.
    pub fn extend_from_slice(&mut self, bytes: &[u8]) -> bool {
        let Ok(n) = u16::try_from(bytes.len()) else { return false };
        // SAFETY: we own the mbuf; rte_pktmbuf_append returns NULL when there is no tailroom,
        // else a pointer to n writable bytes inside the buffer.
        let dst = unsafe { dpdk_sys::relay_pktmbuf_append(self.as_ptr(), n) };
        if dst.is_null() {
            return false;
        }
        // SAFETY: dst points to n writable bytes that do not overlap `bytes`.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst as *mut u8, bytes.len()) };
        true
    }

    /// Prefetches the packet's first cache line (the headers) ahead of use.
    #[inline(always)]
    pub fn prefetch(&self) {
        let m = self.raw();
        super::prefetch((m.buf_addr as *const u8).wrapping_add(m.data_off as usize));
    }
}

impl Drop for Mbuf {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: we own the mbuf and never use it again.
        unsafe { dpdk_sys::relay_pktmbuf_free(self.0.as_ptr()) };
    }
}

impl PacketBuf for Mbuf {
    #[inline(always)]
    fn data(&self) -> &[u8] {
        let m = self.raw();
        // SAFETY: buf_addr + data_off .. + data_len is the segment's packet data, inside the
        // buffer the mbuf owns; the borrow of self keeps it alive and unmodified.
        unsafe {
            std::slice::from_raw_parts(
                (m.buf_addr as *const u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    #[inline(always)]
    fn data_mut(&mut self) -> &mut [u8] {
        let m = self.raw_mut();
        // SAFETY: as in data(); `&mut self` makes this the only view.
        unsafe {
            std::slice::from_raw_parts_mut(
                (m.buf_addr as *mut u8).add(m.data_off as usize),
                m.data_len as usize,
            )
        }
    }

    #[inline(always)]
    fn prepend(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > m.data_off as usize {
            return false;
        }
        // Same arithmetic as rte_pktmbuf_prepend, kept inline: this runs for every encap.
        m.data_off -= n as u16;
        m.data_len += n as u16;
        m.pkt_len += n as u32;
        true
    }

    #[inline(always)]
    fn adj(&mut self, n: usize) -> bool {
        let m = self.raw_mut();
        if n > m.data_len as usize {
            return false;
        }
        m.data_off += n as u16;
        m.data_len -= n as u16;
        m.pkt_len -= n as u32;
        true
    }

    #[inline(always)]
    fn trim(&mut self, n: usize) -> bool {
        // Almost every frame has no padding: skip the call into the shim.
        if n == 0 {
            return true;
        }
        let Ok(n) = u16::try_from(n) else { return false };
        // SAFETY: we own the mbuf; rte_pktmbuf_trim checks the length and changes nothing on
        // failure.
        unsafe { dpdk_sys::relay_pktmbuf_trim(self.as_ptr(), n) == 0 }
    }

    fn append(&mut self, n: usize) -> bool {
        let Ok(n) = u16::try_from(n) else { return false };
        // SAFETY: we own the mbuf; rte_pktmbuf_append returns NULL, changing nothing, when the
        // tailroom is smaller than n.
        !unsafe { dpdk_sys::relay_pktmbuf_append(self.as_ptr(), n) }.is_null()
    }

    #[inline(always)]
    fn rx_port(&self) -> u16 {
        self.raw().port
    }

    #[inline(always)]
    fn prefetch(&self) {
        Mbuf::prefetch(self);
    }

}
