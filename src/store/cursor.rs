//! The stored checkpoints in order of size, read a window of sizes at a time: a log signs a
//! checkpoint per group commit, up to one per record, so `audit` and `migrate` never read them
//! all at once.

use std::collections::VecDeque;

use crate::store::{Store, StoreError};

/// A reader of a store's checkpoints in order of size.
#[derive(Debug, Default)]
pub struct CheckpointCursor {
    /// Read and not yet taken, smallest first.
    read: VecDeque<(u64, String)>,
    /// The smallest size not read yet.
    unread: u64,
    /// How many checkpoints have been read.
    pub count: usize,
    /// The largest size read.
    pub latest: Option<u64>,
}

impl CheckpointCursor {
    /// Reads the checkpoints of sizes up to `size` (inclusive) not read yet.
    pub fn read_to(&mut self, store: &(impl Store + ?Sized), size: u64) -> Result<(), StoreError> {
        if size >= self.unread {
            let more = store.checkpoints(self.unread, size)?;
            self.count += more.len();
            self.latest = more.last().map(|(size, _)| *size).or(self.latest);
            self.read.extend(more);
            self.unread = size.saturating_add(1);
        }
        Ok(())
    }

    /// The smallest checkpoint read and not yet taken.
    pub fn peek(&self) -> Option<&(u64, String)> {
        self.read.front()
    }

    /// Takes the smallest checkpoint read and not yet taken.
    pub fn take(&mut self) -> Option<(u64, String)> {
        self.read.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, MemoryStore, NewRecord};

    #[test]
    fn checkpoints_come_in_order_of_size_a_window_at_a_time_each_once() {
        let store = MemoryStore::new();
        for seq in 0..10u64 {
            let record = NewRecord { seq, id: crate::id::EventId(crate::id::Hash32([seq as u8; 32])), bytes: vec![] };
            let checkpoint = (seq % 3 == 0).then(|| (seq + 1, format!("checkpoint {}", seq + 1)));
            let batch = Batch { records: vec![record], checkpoint, ..Batch::at(seq) };
            store.commit(batch).expect("commit");
        }
        let mut cursor = CheckpointCursor::default();
        let mut taken = Vec::new();
        for size in [0, 3, 3, 5, 9, u64::MAX] {
            cursor.read_to(&store, size).expect("read");
            while let Some((size, _)) = cursor.take() {
                taken.push(size);
            }
        }
        assert_eq!(taken, [1, 4, 7, 10]);
        assert_eq!((cursor.count, cursor.latest), (4, Some(10)));
        assert_eq!(cursor.peek(), None);
    }
}
