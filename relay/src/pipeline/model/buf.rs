//! The packet buffer abstraction the pipeline works on: an mbuf in production, a
//! [`TestBuf`] in tests and benches.

/// One received frame in a buffer with headroom, as DPDK's `rte_mbuf` (single segment).
///
/// The pipeline rewrites frames in place: encapsulation grows the front into the headroom
/// ([`prepend`](PacketBuf::prepend)), decapsulation strips it ([`adj`](PacketBuf::adj)),
/// padding and over-long ICMP quotes are cut from the end ([`trim`](PacketBuf::trim)).
pub trait PacketBuf {
    /// The frame, from the first byte of the Ethernet header.
    fn data(&self) -> &[u8];
    fn data_mut(&mut self) -> &mut [u8];
    /// Grows the data by `n` bytes at the front (their content is unspecified); false, and
    /// nothing changed, when the headroom is smaller than `n`.
    fn prepend(&mut self, n: usize) -> bool;
    /// Strips `n` bytes at the front; false, and nothing changed, if the data is shorter.
    fn adj(&mut self, n: usize) -> bool;
    /// Strips `n` bytes at the end; false, and nothing changed, if the data is shorter.
    fn trim(&mut self, n: usize) -> bool;
    /// Grows the data by `n` bytes at the end (their content is unspecified); false, and
    /// nothing changed, when the tailroom is smaller than `n`. Rare path: a reassembled
    /// datagram written into its last fragment's buffer.
    fn append(&mut self, n: usize) -> bool;
    /// The port the frame arrived on.
    fn rx_port(&self) -> u16;
    /// Hint that the headers will be read soon (`rte_prefetch0` on an mbuf). The burst loop
    /// calls it a few packets ahead.
    #[inline(always)]
    fn prefetch(&self) {}
}

/// A `Vec`-backed [`PacketBuf`] with [`TestBuf::HEADROOM`] bytes of headroom and room for
/// [`TestBuf::DATA_ROOM`] bytes after it, like an mbuf from a pool with
/// `RTE_PKTMBUF_HEADROOM` 128 and the default 2048-byte data room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestBuf {
    storage: Vec<u8>,
    start: usize,
    end: usize,
    port: u16,
}

impl TestBuf {
    pub const HEADROOM: usize = 128;
    pub const DATA_ROOM: usize = 2048;

    /// `frame` received on `port`, with the standard headroom.
    pub fn new(port: u16, frame: &[u8]) -> TestBuf {
        TestBuf::with_headroom(port, frame, Self::HEADROOM)
    }

    pub fn with_headroom(port: u16, frame: &[u8], headroom: usize) -> TestBuf {
        let mut storage = vec![0u8; headroom + frame.len()];
        storage[headroom..].copy_from_slice(frame);
        TestBuf { storage, start: headroom, end: headroom + frame.len(), port }
    }

    pub fn headroom(&self) -> usize {
        self.start
    }

    /// Puts `frame` back in the buffer with the standard headroom, reusing its storage (a
    /// benchmark's buffers are rewritten in place by every burst).
    pub fn reset(&mut self, frame: &[u8]) {
        let end = Self::HEADROOM + frame.len();
        if self.storage.len() < end {
            self.storage.resize(end, 0);
        }
        self.storage[Self::HEADROOM..end].copy_from_slice(frame);
        self.start = Self::HEADROOM;
        self.end = end;
    }

    /// The frame as it is now (after the pipeline's rewrite).
    pub fn to_vec(&self) -> Vec<u8> {
        self.data().to_vec()
    }
}

// Inlined like the mbuf's methods: a bench of the pipeline on `TestBuf`s measures the
// pipeline, not calls into the buffer.
impl PacketBuf for TestBuf {
    #[inline(always)]
    fn data(&self) -> &[u8] {
        &self.storage[self.start..self.end]
    }

    #[inline(always)]
    fn data_mut(&mut self) -> &mut [u8] {
        &mut self.storage[self.start..self.end]
    }

    #[inline(always)]
    fn prepend(&mut self, n: usize) -> bool {
        if n > self.start {
            return false;
        }
        self.start -= n;
        true
    }

    #[inline(always)]
    fn adj(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.start += n;
        true
    }

    #[inline(always)]
    fn trim(&mut self, n: usize) -> bool {
        if n > self.end - self.start {
            return false;
        }
        self.end -= n;
        true
    }

    fn append(&mut self, n: usize) -> bool {
        let room = self.start.max(Self::HEADROOM) + Self::DATA_ROOM;
        if self.end + n > room.max(self.storage.len()) {
            return false;
        }
        if self.storage.len() < self.end + n {
            self.storage.resize(self.end + n, 0);
        }
        self.end += n;
        true
    }

    #[inline(always)]
    fn rx_port(&self) -> u16 {
        self.port
    }
}

/// Grows the data by `n` bytes at the end, using headroom: the frame moves `n` bytes to
/// the front. Returns false (nothing changed) without the headroom. Rare-path only (ND
/// replies that are longer than the solicitation).
pub(crate) fn grow_tail<B: PacketBuf>(buf: &mut B, n: usize) -> bool {
    if !buf.prepend(n) {
        return false;
    }
    let d = buf.data_mut();
    let len = d.len();
    d.copy_within(n..len, 0);
    true
}
