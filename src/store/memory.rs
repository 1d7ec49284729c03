//! An in-memory [`Store`] for tests: the same contract as the durable stores, nothing on disk.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use crate::id::{EventId, Hash32, Seq};
use crate::merkle::NodeId;
use crate::projection::EntrySource;
use crate::store::{Batch, Staging, Store, StoreError, staging};

/// A store that lives and dies with the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    /// Held by commits and by a staging's swap, which holds writers off while it catches up.
    writing: Arc<Mutex<()>>,
}

#[derive(Debug, Default)]
struct Inner {
    records: Vec<Vec<u8>>,
    ids: HashMap<EventId, Seq>,
    nodes: HashMap<NodeId, Hash32>,
    checkpoints: BTreeMap<u64, String>,
    entries: BTreeMap<String, Vec<u8>>,
    shares: HashMap<Hash32, Vec<u8>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}

impl Store for MemoryStore {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let _writing = lock(&self.writing);
        let mut inner = self.lock();
        batch.check_fence(inner.records.len() as Seq)?;
        for record in batch.records {
            inner.ids.insert(record.id, record.seq);
            inner.records.push(record.bytes);
        }
        inner.nodes.extend(batch.nodes);
        if let Some((size, text)) = batch.checkpoint {
            inner.checkpoints.insert(size, text);
        }
        for (key, value) in batch.entries {
            match value {
                Some(v) => inner.entries.insert(key, v),
                None => inner.entries.remove(&key),
            };
        }
        Ok(())
    }

    fn len(&self) -> Result<u64, StoreError> {
        Ok(self.lock().records.len() as u64)
    }

    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let inner = self.lock();
        let from = usize::try_from(from).unwrap_or(usize::MAX).min(inner.records.len());
        Ok(inner.records[from..].iter().take(limit).cloned().collect())
    }

    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
        Ok(self.lock().ids.get(id).copied())
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        Ok(self.lock().nodes.get(&id).copied())
    }

    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
        Ok(self.lock().checkpoints.range(from..=to).map(|(s, t)| (*s, t.clone())).collect())
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        Ok(self.lock().checkpoints.iter().next_back().map(|(s, t)| (*s, t.clone())))
    }

    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Ok(self.lock().entries.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let inner = self.lock();
        let range = inner.entries.range(prefix.to_owned()..).take_while(|(k, _)| k.starts_with(prefix));
        Ok(range.map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn entries_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let inner = self.lock();
        let from = after.map_or(Bound::Unbounded, |after| Bound::Excluded(after.to_owned()));
        let range = inner.entries.range((from, Bound::Unbounded)).take(limit);
        Ok(range.map(|(k, v)| (k.clone(), v.clone())).collect())
    }

    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().entries.get(key).cloned())
    }

    fn staging(&self) -> Result<Arc<dyn Staging>, StoreError> {
        Ok(Arc::new(MemoryStaging {
            store: self.inner.clone(),
            writing: self.writing.clone(),
            staged: Mutex::default(),
        }))
    }

    fn share(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().shares.get(key).cloned())
    }

    fn put_share(&self, key: &Hash32, value: &[u8]) -> Result<(), StoreError> {
        self.lock().shares.insert(*key, value.to_vec());
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves whole values behind: keep going.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A staging area in memory, swapped in by replacing the store's entries.
struct MemoryStaging {
    store: Arc<Mutex<Inner>>,
    writing: Arc<Mutex<()>>,
    staged: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl EntrySource for MemoryStaging {
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        Ok(lock(&self.staged).get(key).cloned())
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        let staged = lock(&self.staged);
        let range = staged.range(prefix.to_owned()..).take_while(|(k, _)| k.starts_with(prefix));
        Ok(range.map(|(k, v)| (k.clone(), v.clone())).collect())
    }
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let staged = lock(&self.staged);
        let mut found: Vec<_> = keys.iter().filter_map(|k| Some((k.clone(), staged.get(k)?.clone()))).collect();
        found.sort();
        Ok(found)
    }
}

impl Staging for MemoryStaging {
    fn write(&self, entries: Vec<(String, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        let mut staged = lock(&self.staged);
        for (key, value) in entries {
            match value {
                Some(v) => staged.insert(key, v),
                None => staged.remove(&key),
            };
        }
        Ok(())
    }

    fn differences(&self, limit: usize) -> Result<Vec<staging::Difference>, StoreError> {
        let pairs = |m: &BTreeMap<String, Vec<u8>>| -> Vec<Result<staging::Pair, StoreError>> {
            m.iter().map(|(k, v)| Ok((k.as_bytes().to_vec(), v.clone()))).collect()
        };
        let stored = pairs(&lock(&self.store).entries);
        staging::differences(stored, pairs(&lock(&self.staged)), limit)
    }

    fn swap_in(&self, log_len: u64, catch_up: staging::CatchUp<'_>) -> Result<bool, StoreError> {
        // Commits wait on this mutex; the catch-up's reads (which lock the store) do not.
        let _writing = lock(&self.writing);
        let len = lock(&self.store).records.len() as Seq;
        staging::catch_up_to(log_len, len, catch_up)?;
        let staged = lock(&self.staged).clone();
        let mut inner = lock(&self.store);
        let differed = inner.entries != staged;
        inner.entries = staged;
        Ok(differed)
    }
}
