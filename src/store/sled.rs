//! The embedded default [`Store`] on sled: one directory, nothing to start.
//!
//! Trees: `log` (seq, big-endian → canonical record bytes), `ids` (event id → seq), `nodes`
//! (level ‖ index big-endian → 32-byte hash of a perfect Merkle subtree), `checkpoints` (tree size,
//! big-endian → signed checkpoint text), `meta` (`len`, and `entries` naming the tree that holds
//! the current projection entries), `entries.<n>` (projection key → canonical bytes), and
//! `shares` (hash of a share link's token → the published bundle, outside the log).
//!
//! Durability: a batch is written in one sled transaction over `log`, `ids`, `meta` and the
//! nodes, checkpoints and entries trees, so it lands whole or not at all, and then [`sled::Db::flush`] is called before
//! `commit` returns. What sled's flush promises: it writes every dirty buffer of the database's
//! single log file and calls fsync on it, so what was committed before it returns survives a
//! process crash and a power loss, as far as the disk honours fsync. What it does not promise:
//! anything about writes made after it started (they may or may not be on disk), or survival of
//! a disk that lies about fsync; and sled 0.34 is beta software whose on-disk format may change
//! between versions. Without the flush, sled writes in the background (every 500 ms by default)
//! and a crash may lose the most recent transactions, though never half of one.
//!
//! A flush that fails after the transaction applied is [`StoreError::OutcomeUnknown`], not a clean
//! refusal: the batch is visible, and the next successful flush makes it durable.
//!
//! Rebuilds stage their entries in a tree of their own ([`Store::staging`]); swapping it in flushes
//! it, then switches `meta` to it and flushes again, so a crash mid-rebuild leaves the old entries
//! in use (and the next open drops the orphaned tree).
//!
//! Fencing: sled's file lock keeps every other process out, and within this one, `commit` and a
//! staging's swap hold one mutex, so the log's length they check cannot move before they write.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::id::{EventId, Hash32, Seq};
use crate::merkle::NodeId;
use crate::projection::EntrySource;
use crate::store::{Batch, Staging, Store, StoreError, node_key, staging};

/// A sled database holding one log.
#[derive(Debug)]
pub struct SledStore {
    core: Core,
    log: sled::Tree,
    ids: sled::Tree,
    nodes: sled::Tree,
    checkpoints: sled::Tree,
    shares: sled::Tree,
}

/// What the store shares with its stagings: the database, `meta`, and the writers' mutex.
#[derive(Debug, Clone)]
struct Core {
    db: sled::Db,
    meta: sled::Tree,
    /// Held by every write, so a write's fence (the log's length) holds until it is done.
    writing: Arc<Mutex<()>>,
}

const LEN_KEY: &[u8] = b"len";
/// sled's page cache: 32 MiB. Against 128 MiB, a 50k + 150k-event two-process submit peaked
/// at 271 / 326 MiB instead of 382 / 456 MiB, and profile reads under `load` ran at about 0.92x
/// (two pairs back to back on a shared, loaded host): the status and profile caches above it
/// hold what the writer reads again.
const SLED_CACHE_BYTES: u64 = 32 * 1024 * 1024;
const ENTRIES_KEY: &[u8] = b"entries";
/// How many keys [`Core::drop_gradually`] removes at a time.
const DROP_CHUNK: usize = 8192;

impl SledStore {
    /// Opens (or creates) the store in `dir`. Fails with [`StoreError::Locked`] if another
    /// process has it open.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        // sled's page cache defaults to 1 GiB; the log is read mostly in order, so a smaller
        // cache costs little and keeps a large ledger's memory in bounds.
        let db = sled::Config::new().path(dir).cache_capacity(SLED_CACHE_BYTES).open().map_err(|e| match e {
            // sled 0.34 rewraps the failed file lock as an `Other` error whose text is all that
            // is left of the OS error, so the text is what identifies it.
            sled::Error::Io(io) if io.to_string().contains("could not acquire lock") => {
                StoreError::Locked { path: dir.display().to_string() }
            }
            other => backend(other),
        })?;
        let tree = |name: &str| db.open_tree(name).map_err(backend);
        let (log, ids, meta) = (tree("log")?, tree("ids")?, tree("meta")?);
        let (nodes, checkpoints, shares) = (tree("nodes")?, tree("checkpoints")?, tree("shares")?);
        let core = Core { db, meta, writing: Arc::default() };
        core.drop_stale_stagings()?;
        Ok(SledStore { core, log, ids, nodes, checkpoints, shares })
    }
}

impl Core {
    /// The name of the tree holding the current projection entries.
    fn entries_name(&self) -> Result<Vec<u8>, StoreError> {
        let name = self.meta.get(ENTRIES_KEY).map_err(backend)?;
        Ok(name.map_or_else(|| b"entries.0".to_vec(), |n| n.to_vec()))
    }

    fn entries_tree(&self) -> Result<sled::Tree, StoreError> {
        self.db.open_tree(self.entries_name()?).map_err(backend)
    }

    /// Drops the entries trees of stagings that were never swapped in: sled's lock keeps every
    /// other process out, so at open no staging is in use.
    fn drop_stale_stagings(&self) -> Result<(), StoreError> {
        let current = self.entries_name()?;
        for name in self.db.tree_names() {
            if name.starts_with(b"entries.") && name.as_ref() != current.as_slice() {
                self.drop_gradually(&name)?;
            }
        }
        Ok(())
    }

    /// Drops a tree, emptying it a chunk of keys at a time first: sled's `drop_tree` frees every
    /// page under one epoch guard, so its memory would grow with the tree (an entries tree's
    /// size grows with the log).
    fn drop_gradually(&self, name: &[u8]) -> Result<(), StoreError> {
        let tree = self.db.open_tree(name).map_err(backend)?;
        // One pass: what is removed is behind the iterator.
        let mut keys = tree.iter().keys();
        loop {
            let chunk = keys.by_ref().take(DROP_CHUNK).collect::<Result<Vec<_>, _>>().map_err(backend)?;
            if chunk.is_empty() {
                break;
            }
            let mut batch = sled::Batch::default();
            chunk.into_iter().for_each(|key| batch.remove(key));
            tree.apply_batch(batch).map_err(backend)?;
        }
        self.db.drop_tree(name).map_err(backend).map(drop)
    }

    fn len(&self) -> Result<u64, StoreError> {
        match self.meta.get(LEN_KEY).map_err(backend)? {
            Some(bytes) => decode_u64(&bytes),
            None => Ok(0),
        }
    }

    /// Makes what was written durable. Its failure leaves the written state visible but perhaps
    /// not on disk: the outcome is unknown, not a refusal.
    fn flush(&self) -> Result<(), StoreError> {
        self.db
            .flush()
            .map(drop)
            .map_err(|e| StoreError::OutcomeUnknown(format!("sled applied the write but did not flush it: {e}")))
    }

    fn lock_writes(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guard protects no data: a panic while holding it leaves nothing half-done.
        self.writing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn backend(e: sled::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn decode_u64(bytes: &[u8]) -> Result<u64, StoreError> {
    bytes.try_into().map(u64::from_be_bytes).map_err(|_| StoreError::Corrupt("a stored number is not 8 bytes".into()))
}

fn decode_checkpoint((key, text): (sled::IVec, sled::IVec)) -> Result<(u64, String), StoreError> {
    let text = String::from_utf8(text.to_vec()).map_err(|_| StoreError::Corrupt("a checkpoint is not UTF-8".into()))?;
    Ok((decode_u64(&key)?, text))
}

impl Store for SledStore {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let _writing = self.core.lock_writes();
        let entries = self.core.entries_tree()?;
        let trees = (&self.log, &self.ids, &self.nodes, &self.checkpoints, &self.core.meta, &entries);
        let result = trees.transaction(|(log, ids, nodes, checkpoints, meta, entries)| {
            let len = match meta.get(LEN_KEY)? {
                Some(bytes) => decode_u64(&bytes).map_err(ConflictableTransactionError::Abort)?,
                None => 0,
            };
            let next = batch.check_fence(len).map_err(ConflictableTransactionError::Abort)?;
            for record in &batch.records {
                log.insert(&record.seq.to_be_bytes(), record.bytes.as_slice())?;
                ids.insert(&record.id.0.0, &record.seq.to_be_bytes())?;
            }
            meta.insert(LEN_KEY, &next.to_be_bytes())?;
            for (id, hash) in &batch.nodes {
                nodes.insert(&node_key(*id), &hash.0)?;
            }
            if let Some((size, text)) = &batch.checkpoint {
                checkpoints.insert(&size.to_be_bytes(), text.as_bytes())?;
            }
            for (key, value) in &batch.entries {
                match value {
                    Some(v) => entries.insert(key.as_bytes(), v.as_slice())?,
                    None => entries.remove(key.as_bytes())?,
                };
            }
            Ok(())
        });
        match result {
            Ok(()) => self.core.flush(),
            Err(TransactionError::Abort(e)) => Err(e),
            Err(TransactionError::Storage(e)) => Err(backend(e)),
        }
    }

    fn len(&self) -> Result<u64, StoreError> {
        self.core.len()
    }

    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(4096));
        for (i, item) in self.log.range(from.to_be_bytes()..).take(limit).enumerate() {
            let (key, value) = item.map_err(backend)?;
            if decode_u64(&key)? != from + i as u64 {
                return Err(StoreError::Corrupt(format!("record {} is missing", from + i as u64)));
            }
            out.push(value.to_vec());
        }
        Ok(out)
    }

    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
        self.ids.get(id.0.0).map_err(backend)?.map(|v| decode_u64(&v)).transpose()
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        match self.nodes.get(node_key(id)).map_err(backend)? {
            None => Ok(None),
            Some(bytes) => <[u8; 32]>::try_from(bytes.as_ref())
                .map(|h| Some(Hash32(h)))
                .map_err(|_| StoreError::Corrupt("a Merkle node is not 32 bytes".into())),
        }
    }

    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
        let range = self.checkpoints.range(from.to_be_bytes()..=to.to_be_bytes());
        range.map(|item| decode_checkpoint(item.map_err(backend)?)).collect()
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.checkpoints.last().map_err(backend)?.map(decode_checkpoint).transpose()
    }

    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Store::entries_with_prefix(self, "")
    }

    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.core.entries_tree()?.get(key.as_bytes()).map_err(backend)?.map(|v| v.to_vec()))
    }

    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.core.entries_tree()?.scan_prefix(prefix.as_bytes()).map(entry_pair).collect()
    }

    fn staging(&self) -> Result<Arc<dyn Staging>, StoreError> {
        // A name no tree in use has: sled's ids are unique for the database's life, and only the
        // current tree may have an older generation's name (`entries.1`, …) that an id repeats.
        let current = self.core.entries_name()?;
        let name = loop {
            let name = format!("entries.{}", self.core.db.generate_id().map_err(backend)?);
            if name.as_bytes() != current.as_slice() {
                break name;
            }
        };
        let tree = self.core.db.open_tree(&name).map_err(backend)?;
        Ok(Arc::new(SledStaging {
            core: self.core.clone(),
            tree,
            name,
            swapped: AtomicBool::new(false),
            scratch: None,
        }))
    }

    fn scratch(&self) -> Result<Arc<dyn Staging>, StoreError> {
        // A temporary database of its own: dropping a tree in this one would free its pages one by
        // one (`drop_gradually`), while a temporary database is deleted whole.
        let dir = tempfile::tempdir().map_err(|e| StoreError::Backend(format!("a scratch directory: {e}")))?;
        let db = sled::Config::new()
            .path(dir.path().join("scratch"))
            .temporary(true)
            .cache_capacity(SLED_CACHE_BYTES)
            .open()
            .map_err(backend)?;
        let tree = db.open_tree("entries").map_err(backend)?;
        let scratch = Some((db, dir));
        let name = "entries".to_owned();
        Ok(Arc::new(SledStaging { core: self.core.clone(), tree, name, swapped: AtomicBool::new(false), scratch }))
    }

    fn share(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.shares.get(key.0).map_err(backend)?.map(|v| v.to_vec()))
    }

    fn put_share(&self, key: &Hash32, value: &[u8]) -> Result<(), StoreError> {
        // Not on the log, so not fenced; durable before it returns, like a commit.
        self.shares.insert(key.0, value).map_err(backend)?;
        self.core.flush()
    }
}

/// A staging area: an entries tree of its own, which a swap names in `meta` as the current one.
struct SledStaging {
    core: Core,
    tree: sled::Tree,
    name: String,
    swapped: AtomicBool,
    /// For a scratch staging: the temporary database its tree is in (and its directory), which
    /// sled deletes when dropped.
    scratch: Option<(sled::Db, tempfile::TempDir)>,
}

fn entry_pair(item: sled::Result<(sled::IVec, sled::IVec)>) -> Result<(String, Vec<u8>), StoreError> {
    let (key, value) = item.map_err(backend)?;
    let key = String::from_utf8(key.to_vec()).map_err(|_| StoreError::Corrupt("an entry key is not UTF-8".into()))?;
    Ok((key, value.to_vec()))
}

impl EntrySource for SledStaging {
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.tree.get(key.as_bytes()).map(|v| v.map(|v| v.to_vec())).map_err(|e| e.to_string())
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        self.tree.scan_prefix(prefix.as_bytes()).map(|item| entry_pair(item).map_err(|e| e.to_string())).collect()
    }
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
        crate::store::entries_one_by_one(keys, |key| self.entry(key))
    }
}

impl Staging for SledStaging {
    fn write(&self, entries: Vec<(String, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for (key, value) in entries {
            match value {
                Some(value) => batch.insert(key.as_bytes(), value),
                None => batch.remove(key.as_bytes()),
            }
        }
        self.tree.apply_batch(batch).map_err(backend)
    }

    fn differences(&self, limit: usize) -> Result<Vec<staging::Difference>, StoreError> {
        let pair = |item: sled::Result<(sled::IVec, sled::IVec)>| item.map(|(k, v)| (k.to_vec(), v.to_vec()));
        let stored = self.core.entries_tree()?;
        staging::differences(stored.iter().map(pair), self.tree.iter().map(pair), limit).map_err(backend)
    }

    fn swap_in(&self, log_len: u64, catch_up: staging::CatchUp<'_>) -> Result<bool, StoreError> {
        if self.scratch.is_some() {
            return Err(StoreError::Backend("a scratch staging is only compared, never swapped in".into()));
        }
        // Commits wait on this mutex (the catch-up's reads and staged writes do not).
        let _writing = self.core.lock_writes();
        staging::catch_up_to(log_len, self.core.len()?, catch_up)?;
        let differed = !self.differences(1)?.is_empty();
        // Not yet in use: a failed flush here is a clean refusal.
        self.core.db.flush().map_err(backend)?;
        // Commits wait on the same mutex: none writes to the old tree after this switch.
        let old = self.core.entries_name()?;
        self.core.meta.insert(ENTRIES_KEY, self.name.as_bytes()).map_err(backend)?;
        self.swapped.store(true, Ordering::SeqCst);
        self.core.flush()?;
        self.core.drop_gradually(&old)?;
        Ok(differed)
    }
}

impl Drop for SledStaging {
    fn drop(&mut self) {
        if !self.swapped.load(Ordering::SeqCst) && self.scratch.is_none() {
            // Unswapped, it is nobody's: a failed drop leaves a tree the next open drops.
            let _ = self.core.drop_gradually(self.name.as_bytes());
        }
    }
}
