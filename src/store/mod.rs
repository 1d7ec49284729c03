//! Storage: [`Store`] is the log's only door to disk. It appends a batch of records together
//! with the projection entries they change, atomically and durably; reads records by seq range
//! and by event id; and keeps projection entries. Implementations: [`SledStore`] (the embedded
//! default) and [`MemoryStore`] (tests).

pub mod dir;
pub mod memory;
pub mod sled;

pub use self::sled::SledStore;
pub use memory::MemoryStore;

use crate::id::{EventId, Seq};

/// A record ready to store: its seq, its event's id and its canonical bytes.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub seq: Seq,
    pub id: EventId,
    pub bytes: Vec<u8>,
}

/// What one append writes: records with consecutive seqs starting at the log's length, and the
/// projection entries they change (`None` deletes an entry).
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub records: Vec<NewRecord>,
    pub entries: Vec<(String, Option<Vec<u8>>)>,
}

/// The log's storage.
pub trait Store: Send + Sync {
    /// Writes the batch atomically (all of it or none) and durably (on disk when this returns
    /// `Ok`). Fails with [`StoreError::Conflict`] if the first record's seq is not the log's length.
    fn commit(&self, batch: Batch) -> Result<(), StoreError>;
    /// The number of records.
    fn len(&self) -> Result<u64, StoreError>;
    /// Is the log empty?
    fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.len()? == 0)
    }
    /// Up to `limit` records' canonical bytes from `from` on, in seq order.
    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError>;
    /// The seq of the record holding the event with this id.
    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError>;
    /// Every stored projection entry, in key order.
    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// Replaces all projection entries with `entries`, atomically and durably (for `rebuild`).
    fn replace_entries(&self, entries: Vec<(String, Vec<u8>)>) -> Result<(), StoreError>;
}

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another writer appended first: the batch's seqs are taken.
    #[error("the log is at {len} records, not {expected}: another writer appended first")]
    Conflict { expected: Seq, len: Seq },
    /// The ledger directory is held by another process.
    #[error(
        "the ledger at {path} is in use by another process (a running `credledger serve`?); use --server URL to talk to it"
    )]
    Locked { path: String },
    /// The backend failed.
    #[error("storage failed: {0}")]
    Backend(String),
    /// Stored bytes are not what was written.
    #[error("storage is corrupt: {0}")]
    Corrupt(String),
}
