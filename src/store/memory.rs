//! An in-memory [`Store`] for tests: the same contract as the durable stores, nothing on disk.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::id::{EventId, Hash32, Seq};
use crate::merkle::NodeId;
use crate::store::{Batch, Store, StoreError};

/// A store that lives and dies with the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Inner>,
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
        // A panic while holding the lock leaves whole values behind: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store for MemoryStore {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
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

    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().entries.get(key).cloned())
    }

    fn replace_entries(&self, log_len: u64, entries: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        let mut inner = self.lock();
        Batch::at(log_len).check_fence(inner.records.len() as Seq)?;
        inner.entries = entries.into_iter().collect();
        Ok(())
    }

    fn share(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().shares.get(key).cloned())
    }

    fn put_share(&self, key: &Hash32, value: &[u8]) -> Result<(), StoreError> {
        self.lock().shares.insert(*key, value.to_vec());
        Ok(())
    }
}
