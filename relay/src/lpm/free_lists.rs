//! Free blocks of the node and leaf arenas, one list per exact block size: a re-packed
//! node's old block is reused by the next node of that size, so churn does not grow the
//! arenas.

/// Free blocks of each exact size.
#[derive(Clone, Debug, Default)]
pub(super) struct FreeLists(Vec<Vec<u32>>);

impl FreeLists {
    pub(super) fn take(&mut self, size: usize) -> Option<u32> {
        self.0.get_mut(size)?.pop()
    }

    pub(super) fn put(&mut self, base: u32, size: usize) {
        if size == 0 {
            return;
        }
        if self.0.len() <= size {
            self.0.resize_with(size + 1, Vec::new);
        }
        if let Some(list) = self.0.get_mut(size) {
            list.push(base);
        }
    }

    /// Entries held in free blocks.
    pub(super) fn free_entries(&self) -> usize {
        self.0
            .iter()
            .enumerate()
            .map(|(size, list)| size * list.len())
            .sum()
    }

    pub(super) fn heap_bytes(&self) -> usize {
        self.0.iter().map(|list| list.capacity() * 4).sum::<usize>()
            + self.0.capacity() * core::mem::size_of::<Vec<u32>>()
    }
}
