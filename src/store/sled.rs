//! The embedded default [`Store`] on sled: one directory, nothing to start.
//!
//! Layout: one tree, `ledger`, holds the log and everything committed with it, each kind of key
//! under a one-byte prefix: 1 + seq (big-endian) → canonical record bytes; 2 + event id → seq;
//! 3 + level ‖ index (big-endian) → 32-byte hash of a perfect Merkle subtree; 4 + tree size →
//! signed checkpoint text; 5 + name → meta (`len`; `entries`, the generation of the current
//! projection entries; `layout`, this layout's version); 6 + generation (big-endian) + projection key → canonical bytes. A second
//! tree, `shares`, maps the hash of a share link's token to the published bundle (outside the log).
//! sled applies a batch in key order, so the prefixes' order is the order in which a reader may
//! see a commit land: records, ids and nodes before the checkpoint and the length that cover
//! them, as when a tree per kind was written in that order.
//!
//! Why one tree: sled writes a [`sled::Batch`] to one tree atomically and reads nothing to do it,
//! while a transaction over several trees reads every key it writes first (sled 0.34's
//! `TransactionalTree::insert` returns the old value): under 32 appending clients that read was
//! a sixth of the writer's time. Stores of the older layout (a tree per kind) are copied into
//! this one when opened ([`Core::upgrade`]); a store of a later layout than this build knows is
//! refused.
//!
//! Durability: a batch is written with one [`sled::Tree::apply_batch`], so it lands whole or not
//! at all, and then [`sled::Db::flush`] is called before `commit` returns. What sled's flush
//! promises: it writes every dirty buffer of the database's single log file and calls fsync on
//! it, so what was committed before it returns survives a process crash and a power loss, as far
//! as the disk honours fsync. What it does not promise: anything about writes made after it
//! started (they may or may not be on disk), or survival of a disk that lies about fsync; and
//! sled 0.34 is beta software whose on-disk format may change between versions. Without the
//! flush, sled writes in the background (every 500 ms by default) and a crash may lose the most
//! recent batches, though never half of one.
//!
//! A flush that fails after the batch applied is [`StoreError::OutcomeUnknown`], not a clean
//! refusal: the batch is visible, and the next successful flush makes it durable.
//!
//! Rebuilds stage their entries under a generation of their own ([`Store::staging`]); swapping it
//! in flushes it, then switches `meta` to it and flushes again, so a crash mid-rebuild leaves the
//! old entries in use (and the next open drops the orphaned generation).
//!
//! Fencing: sled's file lock keeps every other process out, and within this one, `commit` and a
//! staging's swap hold one mutex, so the log's length they check cannot move before they write.

use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::id::{EventId, Hash32, Seq};
use crate::merkle::NodeId;
use crate::projection::EntrySource;
use crate::store::{Batch, Staging, Store, StoreError, node_key, staging};

/// A sled database holding one log.
#[derive(Debug)]
pub struct SledStore {
    core: Core,
    shares: sled::Tree,
}

/// What the store shares with its stagings: the database, its `ledger` tree, the generation of
/// the current entries, and the writers' mutex.
#[derive(Debug, Clone)]
struct Core {
    db: sled::Db,
    tree: sled::Tree,
    /// The generation of the projection entries in use: what the meta key `entries` says.
    generation: Arc<AtomicU64>,
    /// Held by every write, so a write's fence (the log's length) holds until it is done.
    writing: Arc<Mutex<()>>,
}

/// The key prefixes of the `ledger` tree, in the order a commit's writes land (see the module doc).
const LOG: u8 = 1;
const IDS: u8 = 2;
const NODES: u8 = 3;
const CHECKPOINTS: u8 = 4;
/// Meta keys: the log's length and the generation of the entries in use (prefix 5).
const LEN_KEY: &[u8] = b"\x05len";
const GENERATION_KEY: &[u8] = b"\x05entries";
/// The layout's version: 2, this one-tree layout (1, a tree per kind of key, had no marker). A
/// build refuses a store of a later layout rather than read it as an empty log.
const LAYOUT_KEY: &[u8] = b"\x05layout";
const LAYOUT: u64 = 2;
const ENTRIES: u8 = 6;
const _: () =
    assert!(LOG < IDS && IDS < NODES && NODES < CHECKPOINTS && CHECKPOINTS < LEN_KEY[0] && LEN_KEY[0] < ENTRIES);
/// sled's page cache: 32 MiB. Against 128 MiB, a 50k + 150k-event two-process submit peaked
/// at 271 / 326 MiB instead of 382 / 456 MiB, and profile reads under `load` ran at about 0.92x
/// (two pairs back to back on a shared, loaded host): the status and profile caches above it
/// hold what the writer reads again.
const SLED_CACHE_BYTES: u64 = 32 * 1024 * 1024;
/// How many keys one batch removes or copies at a time (see [`remove_prefix`]).
const CHUNK: usize = 8192;

/// A key of the `ledger` tree: its kind's prefix, then a big-endian number.
fn numbered(kind: u8, n: u64) -> [u8; 9] {
    let mut key = [kind; 9];
    key[1..].copy_from_slice(&n.to_be_bytes());
    key
}

/// A key of the `ledger` tree: its kind's prefix, then `rest`.
fn prefixed(prefix: &[u8], rest: &[u8]) -> Vec<u8> {
    [prefix, rest].concat()
}

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
        Self::over(db)
    }

    /// The store over an open database: its layout brought up to date, stale stagings dropped.
    fn over(db: sled::Db) -> Result<Self, StoreError> {
        let (tree, shares) = (db.open_tree("ledger").map_err(backend)?, db.open_tree("shares").map_err(backend)?);
        let core = Core { db, tree, generation: Arc::default(), writing: Arc::default() };
        match core.tree.get(LAYOUT_KEY).map_err(backend)?.map(|layout| decode_u64(&layout)).transpose()? {
            Some(layout) if layout > LAYOUT => {
                return Err(StoreError::Backend(format!(
                    "the store's layout (version {layout}) is newer than this build reads ({LAYOUT}): open it with the credledger that wrote it"
                )));
            }
            Some(_) => {}
            None => {
                core.upgrade()?;
                core.tree.insert(LAYOUT_KEY, &LAYOUT.to_be_bytes()).map_err(backend)?;
                core.db.flush().map_err(backend)?;
            }
        }
        core.bar_older_builds()?;
        let generation = match core.tree.get(GENERATION_KEY).map_err(backend)? {
            Some(bytes) => decode_u64(&bytes)?,
            None => 0,
        };
        core.generation.store(generation, Ordering::SeqCst);
        core.drop_stale_generations()?;
        Ok(SledStore { core, shares })
    }
}

/// The trees of the older layout, a tree per kind of key (the current entries were in the
/// `entries.<n>` tree that `meta`'s `entries` named), with the prefix each kind has now.
const OLD_TREES: [(&str, u8); 4] = [("log", LOG), ("ids", IDS), ("nodes", NODES), ("checkpoints", CHECKPOINTS)];

impl Core {
    /// The prefix of the keys of the entries in use.
    fn entries_prefix(&self) -> [u8; 9] {
        numbered(ENTRIES, self.generation.load(Ordering::SeqCst))
    }

    /// Copies a store of the older layout into the `ledger` tree, then drops the old trees. The
    /// copy is marked done by its length key, written last: a copy a crash interrupted is
    /// started again from an empty tree, and the old trees are dropped only once it is done.
    /// Memory stays bounded: keys move a chunk at a time.
    fn upgrade(&self) -> Result<(), StoreError> {
        let old = |name: &[u8]| OLD_TREES.iter().any(|(n, _)| n.as_bytes() == name) || name == b"meta";
        let names: Vec<sled::IVec> =
            self.db.tree_names().into_iter().filter(|n| old(n) || n.starts_with(b"entries.")).collect();
        if names.is_empty() {
            return Ok(());
        }
        if self.tree.get(LEN_KEY).map_err(backend)?.is_none() {
            let meta = self.db.open_tree("meta").map_err(backend)?;
            let len = meta.get(b"len").map_err(backend)?.map_or(Ok(0), |l| decode_u64(&l))?;
            tracing::info!(records = len, "copying the store into its one-tree layout (once)");
            remove_prefix(&self.tree, &[])?;
            let entries = meta.get(b"entries").map_err(backend)?.map_or_else(|| b"entries.0".to_vec(), |n| n.to_vec());
            for (name, kind) in OLD_TREES {
                copy_prefixed(&self.db.open_tree(name).map_err(backend)?, &self.tree, &[kind])?;
            }
            copy_prefixed(&self.db.open_tree(entries).map_err(backend)?, &self.tree, &numbered(ENTRIES, 0))?;
            self.db.flush().map_err(backend)?;
            self.tree.insert(LEN_KEY, &len.to_be_bytes()).map_err(backend)?;
            self.db.flush().map_err(backend)?;
            tracing::info!(records = len, "copied; dropping the old trees");
        }
        for name in names {
            let tree = self.db.open_tree(&name).map_err(backend)?;
            remove_prefix(&tree, &[])?;
            self.db.drop_tree(&name).map_err(backend)?;
        }
        Ok(())
    }

    /// Leaves, where a build of the older layout looks for the log's length, a length no log
    /// has, so that such a build refuses this store instead of taking it for an empty log and
    /// starting another. Written after the layout's marker: [`Core::upgrade`] runs only before it.
    fn bar_older_builds(&self) -> Result<(), StoreError> {
        let meta = self.db.open_tree("meta").map_err(backend)?;
        if meta.get(b"len").map_err(backend)?.is_none() {
            meta.insert(b"len", &u64::MAX.to_be_bytes()).map_err(backend)?;
            self.db.flush().map_err(backend)?;
        }
        Ok(())
    }

    /// Drops the entries of stagings that were never swapped in: sled's lock keeps every other
    /// process out, so at open no staging is in use.
    fn drop_stale_generations(&self) -> Result<(), StoreError> {
        let current = self.generation.load(Ordering::SeqCst);
        let mut from = numbered(ENTRIES, 0);
        while let Some(item) = self.tree.range(from..=numbered(ENTRIES, u64::MAX)).next() {
            let (key, _) = item.map_err(backend)?;
            let generation = key
                .get(1..9)
                .map(decode_u64)
                .ok_or_else(|| StoreError::Corrupt("an entry key has no generation".into()))??;
            if generation != current {
                remove_prefix(&self.tree, &numbered(ENTRIES, generation))?;
            }
            match generation.checked_add(1) {
                Some(next) => from = numbered(ENTRIES, next),
                None => break,
            }
        }
        Ok(())
    }

    fn len(&self) -> Result<u64, StoreError> {
        match self.tree.get(LEN_KEY).map_err(backend)? {
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

/// Removes every key of `tree` under `prefix`, a chunk at a time: removing them all at once (or
/// sled's `drop_tree`) frees every page under one epoch guard, so memory would grow with what
/// is removed (an entries generation grows with the log).
fn remove_prefix(tree: &sled::Tree, prefix: &[u8]) -> Result<(), StoreError> {
    // One pass: what is removed is behind the iterator.
    in_chunks(tree, tree.scan_prefix(prefix).keys(), |batch, key| batch.remove(key))
}

/// Copies every key of `from` into `to`, each under `prefix`, a chunk at a time.
fn copy_prefixed(from: &sled::Tree, to: &sled::Tree, prefix: &[u8]) -> Result<(), StoreError> {
    in_chunks(to, from.iter(), |batch, (key, value)| batch.insert(prefixed(prefix, &key), value))
}

/// Applies to `tree` the writes `write` makes of each of `items`, one batch per [`CHUNK`] of them,
/// so that memory stays bounded whatever their number.
fn in_chunks<T>(
    tree: &sled::Tree,
    mut items: impl Iterator<Item = sled::Result<T>>,
    mut write: impl FnMut(&mut sled::Batch, T),
) -> Result<(), StoreError> {
    loop {
        let chunk = items.by_ref().take(CHUNK).collect::<Result<Vec<_>, _>>().map_err(backend)?;
        if chunk.is_empty() {
            return Ok(());
        }
        let mut batch = sled::Batch::default();
        chunk.into_iter().for_each(|item| write(&mut batch, item));
        tree.apply_batch(batch).map_err(backend)?;
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
    Ok((decode_u64(&key[1..])?, text))
}

impl Store for SledStore {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let _writing = self.core.lock_writes();
        let next = batch.check_fence(self.core.len()?)?;
        let mut write = sled::Batch::default();
        for record in &batch.records {
            write.insert(&numbered(LOG, record.seq), record.bytes.as_slice());
            write.insert(prefixed(&[IDS], &record.id.0.0), &record.seq.to_be_bytes());
        }
        write.insert(LEN_KEY, &next.to_be_bytes());
        for (id, hash) in &batch.nodes {
            write.insert(prefixed(&[NODES], &node_key(*id)), &hash.0);
        }
        if let Some((size, text)) = &batch.checkpoint {
            write.insert(&numbered(CHECKPOINTS, *size), text.as_bytes());
        }
        let entries = self.core.entries_prefix();
        for (key, value) in &batch.entries {
            match value {
                Some(v) => write.insert(prefixed(&entries, key.as_bytes()), v.as_slice()),
                None => write.remove(prefixed(&entries, key.as_bytes())),
            }
        }
        self.core.tree.apply_batch(write).map_err(backend)?;
        self.core.flush()
    }

    fn len(&self) -> Result<u64, StoreError> {
        self.core.len()
    }

    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut out = Vec::with_capacity(limit.min(4096));
        let range = self.core.tree.range(numbered(LOG, from)..=numbered(LOG, u64::MAX));
        for (i, item) in range.take(limit).enumerate() {
            let (key, value) = item.map_err(backend)?;
            if decode_u64(&key[1..])? != from + i as u64 {
                return Err(StoreError::Corrupt(format!("record {} is missing", from + i as u64)));
            }
            out.push(value.to_vec());
        }
        Ok(out)
    }

    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
        self.core.tree.get(prefixed(&[IDS], &id.0.0)).map_err(backend)?.map(|v| decode_u64(&v)).transpose()
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        match self.core.tree.get(prefixed(&[NODES], &node_key(id))).map_err(backend)? {
            None => Ok(None),
            Some(bytes) => <[u8; 32]>::try_from(bytes.as_ref())
                .map(|h| Some(Hash32(h)))
                .map_err(|_| StoreError::Corrupt("a Merkle node is not 32 bytes".into())),
        }
    }

    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
        let range = self.core.tree.range(numbered(CHECKPOINTS, from)..=numbered(CHECKPOINTS, to));
        range.map(|item| decode_checkpoint(item.map_err(backend)?)).collect()
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        let mut range = self.core.tree.range(numbered(CHECKPOINTS, 0)..=numbered(CHECKPOINTS, u64::MAX));
        range.next_back().transpose().map_err(backend)?.map(decode_checkpoint).transpose()
    }

    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Store::entries_with_prefix(self, "")
    }

    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        read_entry(&self.core.tree, &self.core.entries_prefix(), key)
    }

    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        scan_entries(&self.core.tree, &self.core.entries_prefix(), prefix)
    }

    fn entries_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let generation = self.core.entries_prefix();
        let from = match after {
            Some(after) => Bound::Excluded(prefixed(&generation, after.as_bytes())),
            None => Bound::Included(generation.to_vec()),
        };
        let pairs = self.core.tree.range((from, Bound::Unbounded));
        let ours = pairs.take_while(|item| item.as_ref().map_or(true, |(key, _)| key.starts_with(&generation)));
        ours.take(limit).map(|item| entry_pair(item, generation.len())).collect()
    }

    fn staging(&self) -> Result<Arc<dyn Staging>, StoreError> {
        // A generation no entries in use have: sled's ids are unique for the database's life.
        let current = self.core.generation.load(Ordering::SeqCst);
        let generation = loop {
            let id = self.core.db.generate_id().map_err(backend)?;
            if id != current {
                break id;
            }
        };
        Ok(Arc::new(SledStaging {
            core: self.core.clone(),
            tree: self.core.tree.clone(),
            prefix: numbered(ENTRIES, generation).to_vec(),
            generation: Some(generation),
            swapped: AtomicBool::new(false),
            scratch: None,
        }))
    }

    fn scratch(&self) -> Result<Arc<dyn Staging>, StoreError> {
        // A temporary database of its own: removing a generation from this one would free its
        // pages a chunk at a time (`remove_prefix`), while a temporary database is deleted whole.
        let dir = tempfile::tempdir().map_err(|e| StoreError::Backend(format!("a scratch directory: {e}")))?;
        let db = sled::Config::new()
            .path(dir.path().join("scratch"))
            .temporary(true)
            .cache_capacity(SLED_CACHE_BYTES)
            .open()
            .map_err(backend)?;
        let tree = db.open_tree("entries").map_err(backend)?;
        let scratch = Some((db, dir));
        let (prefix, generation) = (Vec::new(), None);
        Ok(Arc::new(SledStaging {
            core: self.core.clone(),
            tree,
            prefix,
            generation,
            swapped: AtomicBool::new(false),
            scratch,
        }))
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

/// The entry of `tree` under `generation` (a key prefix) and `key`.
fn read_entry(tree: &sled::Tree, generation: &[u8], key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    Ok(tree.get(prefixed(generation, key.as_bytes())).map_err(backend)?.map(|v| v.to_vec()))
}

/// The entries of `tree` under `generation` (a key prefix) whose keys start with `prefix`, in
/// key order, their keys without the generation.
fn scan_entries(tree: &sled::Tree, generation: &[u8], prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
    let pairs = tree.scan_prefix(prefixed(generation, prefix.as_bytes()));
    pairs.map(|item| entry_pair(item, generation.len())).collect()
}

/// A staging area: entries under a generation of their own, which a swap names in `meta` as the
/// current one; or, for a scratch staging, a tree of a temporary database.
struct SledStaging {
    core: Core,
    tree: sled::Tree,
    /// The prefix of the staged keys in `tree`: their generation's, or none in a scratch tree.
    prefix: Vec<u8>,
    /// The generation a swap makes current; `None` for a scratch staging.
    generation: Option<u64>,
    swapped: AtomicBool,
    /// For a scratch staging: the temporary database its tree is in (and its directory), which
    /// sled deletes when dropped.
    scratch: Option<(sled::Db, tempfile::TempDir)>,
}

/// An entry read from a tree where its key follows `skip` bytes of prefix.
fn entry_pair(item: sled::Result<(sled::IVec, sled::IVec)>, skip: usize) -> Result<(String, Vec<u8>), StoreError> {
    let (key, value) = item.map_err(backend)?;
    let key =
        String::from_utf8(key[skip..].to_vec()).map_err(|_| StoreError::Corrupt("an entry key is not UTF-8".into()))?;
    Ok((key, value.to_vec()))
}

impl EntrySource for SledStaging {
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        read_entry(&self.tree, &self.prefix, key).map_err(|e| e.to_string())
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        scan_entries(&self.tree, &self.prefix, prefix).map_err(|e| e.to_string())
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
                Some(value) => batch.insert(prefixed(&self.prefix, key.as_bytes()), value),
                None => batch.remove(prefixed(&self.prefix, key.as_bytes())),
            }
        }
        self.tree.apply_batch(batch).map_err(backend)
    }

    fn differences(&self, limit: usize) -> Result<Vec<staging::Difference>, StoreError> {
        let pairs = |tree: &sled::Tree, prefix: &[u8]| {
            let skip = prefix.len();
            tree.scan_prefix(prefix).map(move |item| item.map(|(k, v)| (k[skip..].to_vec(), v.to_vec())))
        };
        let stored = pairs(&self.core.tree, &self.core.entries_prefix());
        staging::differences(stored, pairs(&self.tree, &self.prefix), limit).map_err(backend)
    }

    fn swap_in(&self, log_len: u64, catch_up: staging::CatchUp<'_>) -> Result<bool, StoreError> {
        let Some(generation) = self.generation else {
            return Err(StoreError::Backend("a scratch staging is only compared, never swapped in".into()));
        };
        // Commits wait on this mutex (the catch-up's reads and staged writes do not).
        let _writing = self.core.lock_writes();
        staging::catch_up_to(log_len, self.core.len()?, catch_up)?;
        let differed = !self.differences(1)?.is_empty();
        // Not yet in use: a failed flush here is a clean refusal.
        self.core.db.flush().map_err(backend)?;
        // Commits wait on the same mutex: none writes to the old generation after this switch.
        let old = self.core.entries_prefix();
        self.core.tree.insert(GENERATION_KEY, &generation.to_be_bytes()).map_err(backend)?;
        self.core.generation.store(generation, Ordering::SeqCst);
        self.swapped.store(true, Ordering::SeqCst);
        self.core.flush()?;
        remove_prefix(&self.core.tree, &old)?;
        Ok(differed)
    }
}

impl Drop for SledStaging {
    fn drop(&mut self) {
        if !self.swapped.load(Ordering::SeqCst) && self.scratch.is_none() {
            // Unswapped, it is nobody's: a failed removal leaves entries the next open drops.
            let _ = remove_prefix(&self.tree, &self.prefix);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temporary() -> sled::Db {
        sled::Config::new().temporary(true).open().expect("a temporary database")
    }

    fn id(n: u8) -> EventId {
        EventId(Hash32([n; 32]))
    }

    /// Writes a three-record log in the older layout, a tree per kind of key, as the version
    /// before the one-tree layout did: entries generation `entries.7` in use, `entries.3` left
    /// by a staging that was never swapped in.
    fn write_older_layout(db: &sled::Db) {
        let tree = |name: &str| db.open_tree(name).expect("a tree");
        for seq in 0..3u64 {
            tree("log").insert(seq.to_be_bytes(), format!("record {seq}").as_bytes()).expect("write");
            tree("ids").insert(id(seq as u8).0.0, &seq.to_be_bytes()).expect("write");
        }
        tree("nodes").insert(node_key(NodeId { level: 1, index: 0 }), &[9u8; 32]).expect("write");
        tree("checkpoints").insert(3u64.to_be_bytes(), "checkpoint at 3".as_bytes()).expect("write");
        tree("meta").insert("len", &3u64.to_be_bytes()).expect("write");
        tree("meta").insert("entries", "entries.7".as_bytes()).expect("write");
        tree("entries.7").insert("profile/a", "one".as_bytes()).expect("write");
        tree("entries.7").insert("status/b", "two".as_bytes()).expect("write");
        tree("entries.3").insert("profile/a", "stale".as_bytes()).expect("write");
    }

    /// The store reads the log of [`write_older_layout`], whole, and keeps none of the old trees.
    fn assert_holds_the_older_log(store: &SledStore) {
        assert_eq!(store.len().unwrap(), 3);
        let records: Vec<Vec<u8>> = (0..3).map(|seq| format!("record {seq}").into_bytes()).collect();
        assert_eq!(store.records(0, 10).unwrap(), records);
        assert_eq!(store.seqs_of(&[id(0), id(2), id(5)]).unwrap(), vec![Some(0), Some(2), None]);
        assert_eq!(store.node(NodeId { level: 1, index: 0 }).unwrap(), Some(Hash32([9; 32])));
        assert_eq!(store.node(NodeId { level: 0, index: 0 }).unwrap(), None);
        assert_eq!(store.latest_checkpoint().unwrap(), Some((3, "checkpoint at 3".into())));
        let entries = vec![("profile/a".to_owned(), b"one".to_vec()), ("status/b".to_owned(), b"two".to_vec())];
        assert_eq!(store.entries().unwrap(), entries);
        let names = store.core.db.tree_names();
        let old = ["log", "ids", "nodes", "checkpoints", "entries.7", "entries.3"];
        assert!(names.iter().all(|n| !old.iter().any(|o| o.as_bytes() == n.as_ref())), "{names:?}");
        assert_bars_older_builds(&store.core.db);
    }

    /// An older build finds a log length no log has where it looks for one, and nothing else.
    fn assert_bars_older_builds(db: &sled::Db) {
        let meta: Vec<_> = db.open_tree("meta").unwrap().iter().map(Result::unwrap).collect();
        assert_eq!(meta, vec![(sled::IVec::from("len"), sled::IVec::from(&u64::MAX.to_be_bytes()))]);
    }

    #[test]
    fn a_store_of_the_older_layout_is_copied_into_one_tree_when_opened() {
        let db = temporary();
        write_older_layout(&db);
        let store = SledStore::over(db).expect("open");
        assert_holds_the_older_log(&store);
        // And it goes on: the next batch follows the copied log.
        let mut batch = Batch::at(3);
        batch.records.push(crate::store::NewRecord { seq: 3, id: id(3), bytes: b"record 3".to_vec() });
        batch.entries.push(("profile/a".into(), None));
        store.commit(batch).expect("commit");
        assert_eq!(store.records(3, 10).unwrap(), vec![b"record 3".to_vec()]);
        assert_eq!(store.entries().unwrap(), vec![("status/b".to_owned(), b"two".to_vec())]);
        assert!(matches!(store.commit(Batch::at(3)), Err(StoreError::Conflict { expected: 3, len: 4 })));
    }

    #[test]
    fn a_copy_a_crash_interrupted_starts_again_and_one_that_finished_is_not_repeated() {
        let db = temporary();
        write_older_layout(&db);
        // A crash mid-copy: some keys copied (one of them wrong), no length written.
        let tree = db.open_tree("ledger").expect("a tree");
        tree.insert(numbered(LOG, 0), "torn".as_bytes()).expect("write");
        tree.insert(prefixed(&numbered(ENTRIES, 0), b"profile/z"), "torn".as_bytes()).expect("write");
        let store = SledStore::over(db.clone()).expect("open");
        assert_holds_the_older_log(&store);
        // A crash after the copy, before every old tree was dropped (so before the layout's
        // marker was written): the copy stands.
        db.open_tree("ledger").expect("a tree").remove(LAYOUT_KEY).expect("write");
        db.open_tree("meta").expect("a tree").insert("len", &1u64.to_be_bytes()).expect("write");
        let store = SledStore::over(db).expect("open again");
        assert_holds_the_older_log(&store);
    }

    #[test]
    fn a_new_store_bars_older_builds() {
        let db = temporary();
        let store = SledStore::over(db.clone()).expect("open");
        assert_eq!(store.len().unwrap(), 0);
        assert_bars_older_builds(&db);
    }

    #[test]
    fn a_store_of_a_later_layout_is_refused_and_left_as_it_is() {
        let db = temporary();
        let tree = db.open_tree("ledger").expect("a tree");
        tree.insert(LAYOUT_KEY, &(LAYOUT + 1).to_be_bytes()).expect("write");
        let refused = SledStore::over(db).expect_err("a later layout");
        assert!(refused.to_string().contains("layout (version 3) is newer than this build reads (2)"), "{refused}");
        assert_eq!(tree.len(), 1, "nothing written");
    }

    #[test]
    fn entries_a_staging_left_unswapped_are_dropped_when_opened() {
        let db = temporary();
        let store = SledStore::over(db.clone()).expect("open");
        let mut batch = Batch::at(0);
        batch.entries.push(("profile/a".into(), Some(b"kept".to_vec())));
        store.commit(batch).expect("commit");
        let staging = store.staging().expect("a staging");
        staging.write(vec![("profile/a".into(), Some(b"staged".to_vec()))]).expect("stage");
        // As if the process ended without dropping the staging.
        std::mem::forget(staging);
        let store = SledStore::over(db.clone()).expect("open again");
        assert_eq!(store.entries().unwrap(), vec![("profile/a".to_owned(), b"kept".to_vec())]);
        let entry_keys = db.open_tree("ledger").unwrap().scan_prefix([ENTRIES]).count();
        assert_eq!(entry_keys, 1, "only the current generation's entry is left");
    }
}
