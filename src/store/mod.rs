//! Storage: [`Store`] is the log's only door to disk. It appends a batch of records together
//! with the Merkle nodes they complete, the checkpoint signed over them and the projection
//! entries they change, atomically and durably; reads records by seq range and by event id; and
//! keeps Merkle nodes, checkpoints and projection entries; and, outside the log, the bundles
//! learners publish as share links ([`Store::share`], kept by the hash of the link's token).
//! Implementations: [`SledStore`] (the embedded
//! default), [`PostgresStore`] (several nodes, one log) and [`MemoryStore`] (tests); [`migrate`]
//! copies a log from one to another.

pub mod cursor;
pub mod dir;
pub mod leadership;
pub mod memory;
pub mod migrate;
pub mod postgres;
pub mod sled;
pub mod staging;

pub use self::postgres::PostgresStore;
pub use self::sled::SledStore;
pub use leadership::{Leader, Leadership};
pub use memory::MemoryStore;
pub use staging::{CatchUp, Difference, Staging};

use crate::id::{EventId, Hash32, Seq};
use crate::merkle::NodeId;

/// A store shared by threads (a server's writer and readers), of whichever kind.
pub type SharedStore = std::sync::Arc<dyn Store>;

/// A record ready to store: its seq, its event's id and its canonical bytes.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub seq: Seq,
    pub id: EventId,
    pub bytes: Vec<u8>,
}

/// What one append writes: records with consecutive seqs starting at the log's length, the
/// perfect Merkle nodes they complete, the checkpoint of the new tree (its size and signed text),
/// and the projection entries they change (`None` deletes an entry).
///
/// Every batch is fenced by `log_len`, the log's length it was computed against: a store writes
/// it only if the log is exactly that long, checked under the same lock or transaction as the
/// write. So projection entries and checkpoints computed at one length are never written over a
/// log that another writer has moved on, whether or not the batch carries records.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// The log's length this batch was computed against; its records (if any) start at this seq.
    pub log_len: u64,
    pub records: Vec<NewRecord>,
    pub nodes: Vec<(NodeId, Hash32)>,
    pub checkpoint: Option<(u64, String)>,
    pub entries: Vec<(String, Option<Vec<u8>>)>,
}

impl Batch {
    /// A batch that writes nothing yet, computed against a log of `log_len` records.
    pub fn at(log_len: u64) -> Self {
        Batch { log_len, ..Batch::default() }
    }

    /// The fence, for a store to check against its log's length `len` before it writes: the log
    /// must be `log_len` long and the records must follow on. Returns the length after the batch.
    /// (`Batch::at(n).check_fence(len)` is the fence of [`Store::replace_entries`].)
    pub fn check_fence(&self, len: u64) -> Result<u64, StoreError> {
        if self.log_len != len {
            return Err(StoreError::Conflict { expected: self.log_len, len });
        }
        let mut next = len;
        for record in &self.records {
            if record.seq != next {
                return Err(StoreError::Conflict { expected: record.seq, len: next });
            }
            next += 1;
        }
        Ok(next)
    }
}

/// The log's storage. A store owns what it reads (`'static`): a ledger's state shares it to read
/// projection entries through ([`crate::projection::EntrySource`]).
pub trait Store: Send + Sync + 'static {
    /// Writes the batch atomically (all of it or none) and durably (on disk when this returns
    /// `Ok`). Fails with [`StoreError::Conflict`], writing nothing, unless the log is exactly
    /// `batch.log_len` long and the records start there ([`Batch::check_fence`]). Fails with
    /// [`StoreError::OutcomeUnknown`] when the write may or may not have taken effect.
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
    /// [`Store::seq_of`] for each of `ids`, in their order. One query on a database; the default
    /// asks one by one.
    fn seqs_of(&self, ids: &[EventId]) -> Result<Vec<Option<Seq>>, StoreError> {
        ids.iter().map(|id| self.seq_of(id)).collect()
    }
    /// [`Store::seqs_of`], with `meanwhile` run once on the calling thread while the store
    /// answers: a store whose reads are round trips asks first and waits for the answer after
    /// `meanwhile`, so that the reads `meanwhile` makes (the store may serve them) overlap it. The
    /// default runs `meanwhile`, then asks.
    fn seqs_of_meanwhile(&self, ids: &[EventId], meanwhile: &mut dyn FnMut()) -> Result<Vec<Option<Seq>>, StoreError> {
        meanwhile();
        self.seqs_of(ids)
    }
    /// A perfect Merkle node, if stored.
    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError>;
    /// Stored checkpoints (size, signed text) with sizes in `[from, to]`, in size order.
    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError>;
    /// The checkpoint of the largest tree.
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError>;
    /// Every stored projection entry, in key order.
    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError>;
    /// The stored projection entries whose keys start with `prefix`, in key order.
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self.entries()?.into_iter().filter(|(k, _)| k.starts_with(prefix)).collect())
    }
    /// Up to `limit` stored projection entries with keys after `after` (from the first, with
    /// `None`), in key order: every entry, a page at a time. The default reads them all first.
    fn entries_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let entries = self.entries()?.into_iter().filter(|(k, _)| after.is_none_or(|after| k.as_str() > after));
        Ok(entries.take(limit).collect())
    }
    /// One stored projection entry.
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.entries_with_prefix(key)?.into_iter().find(|(k, _)| k == key).map(|(_, v)| v))
    }
    /// The stored projection entries under these keys (those that exist), in key order. One
    /// query on a database; the default reads them one by one.
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        entries_one_by_one(keys, |key| self.entry(key))
    }
    /// A new, empty staging area for projection entries ([`Staging`]), beside the stored ones.
    fn staging(&self) -> Result<std::sync::Arc<dyn Staging>, StoreError>;
    /// A staging area that is only compared with the stored entries and then dropped, never
    /// swapped in (`audit`): a store may keep it outside its own files, where dropping it costs
    /// nothing. The default is [`Store::staging`].
    fn scratch(&self) -> Result<std::sync::Arc<dyn Staging>, StoreError> {
        self.staging()
    }
    /// Replaces all projection entries with `entries`, folded from the first `log_len` records,
    /// atomically and durably (a migration's copy). Fenced like [`Store::commit`]: fails with
    /// [`StoreError::Conflict`], replacing nothing, unless the log is exactly `log_len` long.
    fn replace_entries(&self, log_len: u64, entries: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        let staging = self.staging()?;
        staging.write(entries.into_iter().map(|(k, v)| (k, Some(v))).collect())?;
        staging.swap_in(log_len, &mut staging::no_catch_up(log_len)).map(drop)
    }
    /// A published bundle's stored form ([`crate::share::Published`]), by the hash of its link's
    /// token. Published bundles are outside the log: not hashed, not sequenced, not fenced, never
    /// listed. A store that keeps none answers [`StoreError::Backend`].
    fn share(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        let _ = key;
        Err(StoreError::Backend("this store keeps no published bundles".into()))
    }
    /// Keeps `value` under `key`, replacing what was there, durably (on disk when this returns).
    fn put_share(&self, key: &Hash32, value: &[u8]) -> Result<(), StoreError> {
        let _ = (key, value);
        Err(StoreError::Backend("this store keeps no published bundles".into()))
    }
    /// Waits for this writer's turn among the writers sharing the store, and holds it until the
    /// returned [`WriterTurn`] drops. Writers that take turns never overtake each other between
    /// catching up with the log and committing, so none is starved by the others' commits. A turn
    /// is an optimisation, never the safety: every write stays fenced ([`Batch::check_fence`]).
    /// A store with one writer (a sled directory is locked by its process) has nothing to wait for.
    fn writer_turn(&self) -> Result<WriterTurn, StoreError> {
        Ok(WriterTurn::default())
    }
    /// Stands for the lead among the nodes sharing this store, as the node reached at `url`:
    /// from now on, a thread of the store's own takes the lead when no node holds it, and the
    /// returned [`Leadership`] says whether (and in which term) this node leads. `None`: this
    /// store has one writer, which always leads (a sled directory is locked by its process).
    fn stand(&self, url: &str) -> Result<Option<std::sync::Arc<Leadership>>, StoreError> {
        let _ = url;
        Ok(None)
    }
    /// The node that leads, as recorded at its election (it may have died since: then the next
    /// election records another). `None` before any election, or for a store with one writer.
    fn leader(&self) -> Result<Option<Leader>, StoreError> {
        Ok(None)
    }
}

/// A writer's turn at a shared store ([`Store::writer_turn`]), given back when dropped; or the
/// lead, held in a term ([`WriterTurn::leading`]): nothing to give back, since no other node
/// appends while this one leads.
#[derive(Default)]
pub struct WriterTurn {
    give_back: Option<Box<dyn FnOnce() + Send>>,
    term: Option<u64>,
}

impl WriterTurn {
    /// A turn that runs `give_back` when it ends.
    pub fn until(give_back: impl FnOnce() + Send + 'static) -> Self {
        WriterTurn { give_back: Some(Box::new(give_back)), term: None }
    }

    /// The turn of the node that leads in `term`: it lasts as long as the lead.
    pub fn leading(term: u64) -> Self {
        WriterTurn { give_back: None, term: Some(term) }
    }

    /// The term this writer leads in, if it does: then only it appends (a stray writer is caught
    /// by the fence), so a writer that committed its last batch in the same term knows the log.
    pub fn term(&self) -> Option<u64> {
        self.term
    }
}

impl std::fmt::Debug for WriterTurn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.term, &self.give_back) {
            (Some(term), _) => write!(f, "WriterTurn(leading in term {term})"),
            (None, Some(_)) => f.write_str("WriterTurn(held)"),
            (None, None) => f.write_str("WriterTurn(none)"),
        }
    }
}

impl Drop for WriterTurn {
    fn drop(&mut self) {
        if let Some(give_back) = self.give_back.take() {
            give_back();
        }
    }
}

/// A shared store is a store: a server's writer and readers hold the same one.
impl<S: Store + ?Sized> Store for std::sync::Arc<S> {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        (**self).commit(batch)
    }
    fn len(&self) -> Result<u64, StoreError> {
        (**self).len()
    }
    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        (**self).records(from, limit)
    }
    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
        (**self).seq_of(id)
    }
    fn seqs_of(&self, ids: &[EventId]) -> Result<Vec<Option<Seq>>, StoreError> {
        (**self).seqs_of(ids)
    }
    fn seqs_of_meanwhile(&self, ids: &[EventId], meanwhile: &mut dyn FnMut()) -> Result<Vec<Option<Seq>>, StoreError> {
        (**self).seqs_of_meanwhile(ids, meanwhile)
    }
    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        (**self).node(id)
    }
    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
        (**self).checkpoints(from, to)
    }
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        (**self).latest_checkpoint()
    }
    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).entries()
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).entries_with_prefix(prefix)
    }
    fn entries_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).entries_after(after, limit)
    }
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).entry(key)
    }
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        (**self).entries_for(keys)
    }
    fn staging(&self) -> Result<std::sync::Arc<dyn Staging>, StoreError> {
        (**self).staging()
    }
    fn scratch(&self) -> Result<std::sync::Arc<dyn Staging>, StoreError> {
        (**self).scratch()
    }
    fn replace_entries(&self, log_len: u64, entries: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        (**self).replace_entries(log_len, entries)
    }
    fn share(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).share(key)
    }
    fn put_share(&self, key: &Hash32, value: &[u8]) -> Result<(), StoreError> {
        (**self).put_share(key, value)
    }
    fn writer_turn(&self) -> Result<WriterTurn, StoreError> {
        (**self).writer_turn()
    }
    fn stand(&self, url: &str) -> Result<Option<std::sync::Arc<Leadership>>, StoreError> {
        (**self).stand(url)
    }
    fn leader(&self) -> Result<Option<Leader>, StoreError> {
        (**self).leader()
    }
}

/// The key under which a Merkle node is stored: level, then index big-endian.
pub fn node_key(id: NodeId) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = id.level;
    key[1..].copy_from_slice(&id.index.to_be_bytes());
    key
}

/// A store's nodes as a [`crate::merkle::NodeSource`]: a missing node is corruption.
#[derive(Debug)]
pub struct StoredNodes<'a, S: ?Sized>(pub &'a S);

impl<S: Store + ?Sized> crate::merkle::NodeSource for StoredNodes<'_, S> {
    type Error = StoreError;
    fn node(&self, id: NodeId) -> Result<Hash32, StoreError> {
        self.0.node(id)?.ok_or_else(|| {
            StoreError::Corrupt(format!("Merkle node at level {}, index {} is missing", id.level, id.index))
        })
    }
}

/// What can go wrong in storage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Another writer appended first: the batch was computed against a log of `expected` records
    /// (its seqs, entries and checkpoint are stale). Nothing was written.
    #[error("the log is at {len} records, not {expected}: another writer appended first")]
    Conflict { expected: Seq, len: Seq },
    /// The write may or may not have taken effect (it applied, then making it durable failed, or
    /// the connection broke while committing): what it wrote may be on the log. Resubmitting the
    /// same events is safe, since appends are idempotent.
    #[error(
        "the write's outcome is unknown ({0}): it may be on the log; resubmitting the same events is safe (appends are idempotent)"
    )]
    OutcomeUnknown(String),
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

/// The entries under `keys` that exist, in key order, each read by `entry`.
pub fn entries_one_by_one<E>(
    keys: &[String],
    mut entry: impl FnMut(&str) -> Result<Option<Vec<u8>>, E>,
) -> Result<Vec<(String, Vec<u8>)>, E> {
    let mut found = Vec::new();
    for key in keys {
        if let Some(value) = entry(key)? {
            found.push((key.clone(), value));
        }
    }
    found.sort();
    Ok(found)
}

/// A store's projection entries are what a writer's state reads through ([`crate::projection::entries`]).
impl<S: Store + ?Sized> crate::projection::EntrySource for S {
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Store::entry(self, key).map_err(read_failure)
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        Store::entries_with_prefix(self, prefix).map_err(read_failure)
    }
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
        Store::entries_for(self, keys).map_err(read_failure)
    }
}

/// What a failed read says, for the ledger to report as [`StoreError::Backend`] (not twice "storage failed").
fn read_failure(e: StoreError) -> String {
    match e {
        StoreError::Backend(why) => why,
        other => other.to_string(),
    }
}
