//! The packet-buffer pool.
use std::ffi::CString;
use std::ptr::NonNull;

use super::{EalError, Mbuf};

/// An `rte_pktmbuf` pool. Freed on drop; relayd checks it is full again before that.
pub struct Mempool {
    raw: NonNull<dpdk_sys::rte_mempool>,
    size: u32,
}

// SAFETY: rte_mempool is designed for concurrent use from many lcores (per-lcore caches plus a
// lock-free ring); the handle is only a pointer to it.
unsafe impl Send for Mempool {}
// SAFETY: as above; every operation on it is thread-safe in DPDK.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `size` mbufs with a per-lcore cache of `cache` and the default
    /// 2176-byte data room (128 bytes headroom: room to prepend outer headers).
    pub fn new(name: &str, size: u32, cache: u32, socket: i32) -> Result<Mempool, EalError> {
        Mempool::with_frame_room(name, size, cache, socket, 0)
    }

    /// The data room an mbuf needs so that a frame of `frame` bytes fits after the 128-byte
    /// headroom: at least DPDK's default (2048 after the headroom), at most what the u16
    /// `data_room_size` holds.
    pub fn data_room_for(frame: usize) -> u16 {
        let default = dpdk_sys::RTE_MBUF_DEFAULT_BUF_SIZE as usize;
        let headroom = default - dpdk_sys::RTE_MBUF_DEFAULT_DATAROOM as usize;
        (headroom + frame).max(default).min(usize::from(u16::MAX)) as u16
    }

    /// [`new`](Self::new) with mbufs that hold frames of `frame` bytes (a reassembled
    /// datagram and its L2 header); 0 or less than the default: the default.
    pub fn with_frame_room(name: &str, size: u32, cache: u32, socket: i32, frame: usize) -> Result<Mempool, EalError> {
        let data_room = Mempool::data_room_for(frame);
        let cname = CString::new(name).map_err(|_| EalError {
            what: "mempool name".into(),
            errno: libc::EINVAL,
            reason: "contains a NUL byte".into(),
        })?;
        // SAFETY: valid NUL-terminated name; DPDK copies it. Returns NULL on failure.
        let raw = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(
                cname.as_ptr(),
                size,
                cache,
                0,
                data_room,
                socket,
            )
        };
        NonNull::new(raw)
            .map(|raw| Mempool { raw, size })
            .ok_or_else(|| EalError::last(format!("mempool {name} ({size} mbufs)"), 0))
    }

    pub fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.raw.as_ptr()
    }

    pub fn size(&self) -> u32 {
        self.size
    }

    /// Mbufs in the pool now, per-lcore caches included.
    pub fn available(&self) -> u32 {
        // SAFETY: the pool is valid while self lives; the count is a racy snapshot by design.
        unsafe { dpdk_sys::relay_mempool_avail_count(self.raw.as_ptr()) }
    }

    pub fn in_use(&self) -> u32 {
        self.size.saturating_sub(self.available())
    }

    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: the pool is valid; a non-NULL result is a fresh mbuf we now own.
        let raw = unsafe { dpdk_sys::relay_pktmbuf_alloc(self.raw.as_ptr()) };
        // SAFETY: fresh from the pool, owned by nobody else.
        NonNull::new(raw).map(|r| unsafe { Mbuf::from_raw(r) })
    }
}

impl Drop for Mempool {
    fn drop(&mut self) {
        // Freeing the pool with mbufs still out would pull memory from under their owners: a
        // pool that is not full is leaked instead (relayd reports it loudly before that).
        if self.available() == self.size {
            // SAFETY: every mbuf is back in the pool, so nothing references its memory.
            unsafe { dpdk_sys::rte_mempool_free(self.raw.as_ptr()) };
        }
    }
}
