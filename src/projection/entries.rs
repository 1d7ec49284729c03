//! A projection's entries written through and read through: the writes not yet stored (an
//! overlay, which the reads see first), over a bounded cache of what was read from an
//! [`EntrySource`] (the store, for the ledger's writer). Without a source (a fold in memory: a
//! bundle's records, a rebuild, the tests) the overlay simply holds every entry.
//!
//! The core stays sans-I/O: the source is a trait the ledger implements over its store. A read
//! that fails is remembered as a fault ([`Entries::take_fault`]) and answers "no entry"; the
//! ledger then refuses the whole batch and reloads, so a failed read never commits anything.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// Where stored entries are read from.
pub trait EntrySource: Send + Sync {
    /// The stored entry under `key`.
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String>;
    /// The stored entries whose keys start with `prefix`, in key order.
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String>;
    /// The stored entries under these keys (those that exist): one query on a database.
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, String>;
}

/// How many entries each of the cache's two generations holds: the cache holds at most twice this.
const CACHE_GENERATION: usize = 8192;

/// Entries: an overlay of writes over a source read through a bounded cache.
#[derive(Default)]
pub struct Entries {
    /// Entries written and not yet stored (`None`: deleted), in key order.
    written: BTreeMap<String, Option<Value>>,
    source: Option<Arc<dyn EntrySource>>,
    cache: Mutex<Cache>,
    /// The first read from the source that failed since the last [`Entries::take_fault`].
    fault: Mutex<Option<String>>,
}

/// Two generations of entries read from the source: a hit in the older one moves it to the
/// younger; when the younger is full, it becomes the older and the older is dropped.
#[derive(Default)]
struct Cache {
    young: HashMap<String, Option<Value>>,
    old: HashMap<String, Option<Value>>,
}

impl Cache {
    fn get(&mut self, key: &str) -> Option<Option<Value>> {
        if let Some(v) = self.young.get(key) {
            return Some(v.clone());
        }
        let v = self.old.remove(key)?;
        self.put(key.to_owned(), v.clone());
        Some(v)
    }

    fn put(&mut self, key: String, value: Option<Value>) {
        if self.young.len() >= CACHE_GENERATION && !self.young.contains_key(&key) {
            self.old = std::mem::take(&mut self.young);
        }
        self.old.remove(&key);
        self.young.insert(key, value);
    }

    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

impl Entries {
    /// Entries read through from `source`, with nothing written yet.
    pub fn over(source: Arc<dyn EntrySource>) -> Self {
        Entries { source: Some(source), ..Entries::default() }
    }

    /// The entry under `key`: as written, else as stored.
    pub fn get(&self, key: &str) -> Option<Value> {
        if let Some(v) = self.written.get(key) {
            return v.clone();
        }
        let source = self.source.as_ref()?;
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = cache.get(key) {
            return v;
        }
        let read = source.entry(key).and_then(|bytes| bytes.map(|b| decode(key, &b)).transpose());
        match read {
            Ok(v) => {
                cache.put(key.to_owned(), v.clone());
                v
            }
            Err(e) => {
                self.note_fault(e);
                None
            }
        }
    }

    /// The entries whose keys start with `prefix`, in key order: as written, else as stored.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, Value)> {
        let mut found: BTreeMap<String, Value> = BTreeMap::new();
        if let Some(source) = &self.source {
            match source.entries_with_prefix(prefix) {
                Ok(stored) => {
                    for (key, bytes) in stored {
                        match decode(&key, &bytes) {
                            Ok(v) => {
                                found.insert(key, v);
                            }
                            Err(e) => self.note_fault(e),
                        }
                    }
                }
                Err(e) => self.note_fault(e),
            }
        }
        for (key, v) in self.written.range(prefix.to_owned()..).take_while(|(k, _)| k.starts_with(prefix)) {
            match v {
                Some(v) => found.insert(key.clone(), v.clone()),
                None => found.remove(key),
            };
        }
        found.into_iter().collect()
    }

    /// The entries under `keys`, in that order: as written, else cached, else read at once from
    /// the source without caching them (a whole status list's worth would only flush the cache).
    pub fn get_many(&self, keys: &[String]) -> Vec<Option<Value>> {
        let mut found: Vec<Option<Option<Value>>> = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            keys.iter()
                .map(|k| match self.written.get(k) {
                    Some(v) => Some(v.clone()),
                    None if self.source.is_some() => cache.get(k),
                    None => Some(None),
                })
                .collect()
        };
        let missing: Vec<String> =
            keys.iter().zip(&found).filter(|(_, v)| v.is_none()).map(|(k, _)| k.clone()).collect();
        if let (Some(source), false) = (&self.source, missing.is_empty()) {
            match source.entries_for(&missing) {
                Ok(read) => {
                    let mut read: HashMap<String, Vec<u8>> = read.into_iter().collect();
                    for (key, slot) in keys.iter().zip(found.iter_mut()).filter(|(_, v)| v.is_none()) {
                        match read.remove(key).map(|bytes| decode(key, &bytes)).transpose() {
                            Ok(v) => *slot = Some(v),
                            Err(e) => self.note_fault(e),
                        }
                    }
                }
                Err(e) => self.note_fault(e),
            }
        }
        found.into_iter().map(Option::flatten).collect()
    }

    /// Writes (`Some`) or deletes (`None`) the entry under `key`.
    pub fn put(&mut self, key: String, value: Option<Value>) {
        self.written.insert(key, value);
    }

    /// The store now holds everything written: with a source, the writes leave the overlay for
    /// the cache (bounded); without one, the overlay is all there is and stays.
    pub fn stored(&mut self) {
        if self.source.is_none() {
            return;
        }
        let cache = self.cache.get_mut().unwrap_or_else(|e| e.into_inner());
        for (key, value) in std::mem::take(&mut self.written) {
            cache.put(key, value);
        }
    }

    /// The store now holds what was written but the entries under `keys` (written since, and
    /// not yet stored): with a source, the rest leave the overlay for the cache.
    pub fn stored_except(&mut self, keys: &std::collections::BTreeSet<String>) {
        if self.source.is_none() {
            return;
        }
        let cache = self.cache.get_mut().unwrap_or_else(|e| e.into_inner());
        let (kept, stored): (BTreeMap<_, _>, BTreeMap<_, _>) =
            std::mem::take(&mut self.written).into_iter().partition(|(key, _)| keys.contains(key));
        for (key, value) in stored {
            cache.put(key, value);
        }
        self.written = kept;
    }

    /// Another writer stored the entries of what was just folded, read against a store already
    /// past it: with a source, what was written and cached is dropped, and read again.
    pub fn stored_elsewhere(&mut self) {
        if self.source.is_some() {
            self.written.clear();
            *self.cache.get_mut().unwrap_or_else(|e| e.into_inner()) = Cache::default();
        }
    }

    /// Reads through `source` from now on, the store holding everything written.
    pub fn stored_in(&mut self, source: Arc<dyn EntrySource>) {
        self.source = Some(source);
        self.stored();
    }

    /// The first read that failed since the last call, if any.
    pub fn take_fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// How many entries are held in memory: written, and cached.
    pub fn held(&self) -> usize {
        self.written.len() + self.cache.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn note_fault(&self, e: String) {
        self.fault.lock().unwrap_or_else(|e| e.into_inner()).get_or_insert(e);
    }
}

/// Reads into each [`Entries`]' cache the entries under its keys that are neither written nor
/// cached (a batch's reads, asked for at once): one read of the source for all the entries over
/// one source (the projections a batch touches). Entries over another source are read on their
/// own; entries over none read nothing.
pub fn prefetch_together<const N: usize>(wanted: [(&Entries, Vec<String>); N]) {
    let Some(source) = wanted.iter().find_map(|(entries, _)| entries.source.clone()) else { return };
    let (shared, apart): (Vec<_>, Vec<_>) = wanted
        .into_iter()
        .filter(|(entries, _)| entries.source.is_some())
        .partition(|(entries, _)| entries.source.as_ref().is_some_and(|s| Arc::ptr_eq(s, &source)));
    for (entries, keys) in apart {
        prefetch_together([(entries, keys)]);
    }
    // Each cache stays locked from finding what it lacks to holding what was read.
    let mut lacking: Vec<_> = shared
        .into_iter()
        .map(|(entries, keys)| {
            let mut cache = entries.cache.lock().unwrap_or_else(|e| e.into_inner());
            let mut missing: Vec<String> =
                keys.into_iter().filter(|k| !entries.written.contains_key(k) && cache.get(k).is_none()).collect();
            missing.sort();
            missing.dedup();
            (entries, cache, missing)
        })
        .collect();
    let mut all: Vec<String> = lacking.iter().flat_map(|(_, _, missing)| missing.iter().cloned()).collect();
    all.sort();
    all.dedup();
    if all.is_empty() {
        return;
    }
    let found: HashMap<String, Vec<u8>> = match source.entries_for(&all) {
        Ok(found) => found.into_iter().collect(),
        Err(e) => return lacking.iter().for_each(|(entries, _, _)| entries.note_fault(e.clone())),
    };
    for (entries, cache, missing) in &mut lacking {
        for key in missing.drain(..) {
            match found.get(&key).map(|bytes| decode(&key, bytes)).transpose() {
                Ok(v) => cache.put(key, v),
                Err(e) => entries.note_fault(e),
            }
        }
    }
}

fn decode(key: &str, bytes: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(bytes).map_err(|e| format!("stored projection entry `{key}` is corrupt: {e}"))
}

impl Clone for Entries {
    /// The same entries; the copy starts with an empty cache.
    fn clone(&self) -> Self {
        Entries {
            written: self.written.clone(),
            source: self.source.clone(),
            cache: Mutex::default(),
            fault: Mutex::new(self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone()),
        }
    }
}

impl PartialEq for Entries {
    /// The same writes over the same source.
    fn eq(&self, other: &Self) -> bool {
        let same_source = match (&self.source, &other.source) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            _ => false,
        };
        same_source && self.written == other.written
    }
}

impl std::fmt::Debug for Entries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entries")
            .field("written", &self.written.len())
            .field("read_through", &self.source.is_some())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that counts its reads and can be made to fail.
    #[derive(Default)]
    struct Counted {
        entries: BTreeMap<String, Vec<u8>>,
        reads: Mutex<usize>,
        failing: bool,
    }

    impl EntrySource for Counted {
        fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
            *self.reads.lock().unwrap() += 1;
            if self.failing {
                return Err("disk on fire".into());
            }
            Ok(self.entries.get(key).cloned())
        }
        fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
            *self.reads.lock().unwrap() += 1;
            if self.failing {
                return Err("disk on fire".into());
            }
            Ok(self
                .entries
                .iter()
                .filter(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect())
        }
        fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
            *self.reads.lock().unwrap() += 1;
            Ok(keys.iter().filter_map(|k| Some((k.clone(), self.entries.get(k)?.clone()))).collect())
        }
    }

    fn source(pairs: &[(&str, &str)]) -> Arc<Counted> {
        let entries = pairs.iter().map(|(k, v)| (k.to_string(), v.as_bytes().to_vec())).collect();
        Arc::new(Counted { entries, ..Counted::default() })
    }

    #[test]
    fn writes_are_read_before_the_store_and_deletes_hide_stored_entries() {
        let stored = source(&[("p/a", "1"), ("p/b", "2"), ("q/a", "3")]);
        let mut entries = Entries::over(stored.clone());
        assert_eq!(entries.get("p/a"), Some(1.into()));
        entries.put("p/a".into(), None);
        entries.put("p/c".into(), Some(4.into()));
        assert_eq!(entries.get("p/a"), None, "a delete in the overlay hides the stored entry");
        let keys: Vec<String> = entries.with_prefix("p/").into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["p/b", "p/c"]);
        assert_eq!(entries.take_fault(), None);
    }

    #[test]
    fn entries_over_one_source_prefetch_together_in_one_read() {
        let stored = source(&[("s/a", "1"), ("p/x", "2")]);
        let shared: Arc<dyn EntrySource> = stored.clone();
        let (status, mut profiles) = (Entries::over(shared.clone()), Entries::over(shared));
        profiles.put("p/written".into(), Some(9.into()));
        let other = source(&[("o/k", "5")]);
        let apart = Entries::over(other.clone());
        prefetch_together([
            (&status, vec!["s/a".into(), "s/none".into(), "s/a".into()]),
            (&profiles, vec!["p/x".into(), "p/written".into()]),
            (&apart, vec!["o/k".into()]),
        ]);
        assert_eq!((*stored.reads.lock().unwrap(), *other.reads.lock().unwrap()), (1, 1), "one read per source");
        // All of it is held now, absent entries included: no further read.
        assert_eq!(status.get("s/a"), Some(1.into()));
        assert_eq!(status.get("s/none"), None);
        assert_eq!(profiles.get("p/x"), Some(2.into()));
        assert_eq!(profiles.get("p/written"), Some(9.into()));
        assert_eq!(apart.get("o/k"), Some(5.into()));
        assert_eq!((*stored.reads.lock().unwrap(), *other.reads.lock().unwrap()), (1, 1));
        // Nothing lacking: no read at all.
        prefetch_together([(&status, vec!["s/a".into()]), (&profiles, vec!["p/x".into()])]);
        assert_eq!(*stored.reads.lock().unwrap(), 1);
    }

    #[test]
    fn a_read_is_cached_and_the_cache_is_bounded() {
        let stored = source(&[("p/a", "1")]);
        let entries = Entries::over(stored.clone());
        assert_eq!(entries.get("p/a"), Some(1.into()));
        assert_eq!(entries.get("p/a"), Some(1.into()));
        assert_eq!(*stored.reads.lock().unwrap(), 1, "the second read is the cache's");
        for i in 0..3 * CACHE_GENERATION {
            entries.get(&format!("p/missing/{i}"));
        }
        assert!(entries.held() <= 2 * CACHE_GENERATION, "the cache holds {}", entries.held());
    }

    #[test]
    fn a_prefetch_reads_what_is_neither_written_nor_cached_at_once() {
        let stored = source(&[("p/a", "1"), ("p/b", "2")]);
        let mut entries = Entries::over(stored.clone());
        entries.put("p/w".into(), Some(9.into()));
        assert_eq!(entries.get("p/a"), Some(1.into()));
        prefetch_together([(&entries, ["p/a", "p/b", "p/c", "p/w", "p/b"].map(String::from).to_vec())]);
        assert_eq!(*stored.reads.lock().unwrap(), 2, "one read for the entry, one for the prefetch");
        assert_eq!(entries.get("p/b"), Some(2.into()));
        assert_eq!(entries.get("p/c"), None);
        assert_eq!(entries.get("p/w"), Some(9.into()));
        assert_eq!(*stored.reads.lock().unwrap(), 2, "what was prefetched is read from the cache, missing or not");
    }

    #[test]
    fn get_many_reads_the_overlay_first_and_the_rest_at_once_without_caching_it() {
        let stored = source(&[("p/a", "1"), ("p/b", "2"), ("p/c", "3")]);
        let mut entries = Entries::over(stored.clone());
        entries.put("p/a".into(), Some(9.into()));
        entries.put("p/c".into(), None);
        let keys = ["p/a", "p/b", "p/c", "p/d"].map(String::from);
        assert_eq!(entries.get_many(&keys), [Some(9.into()), Some(2.into()), None, None]);
        assert_eq!(*stored.reads.lock().unwrap(), 1, "one read for what is not written");
        assert_eq!(entries.held(), 2, "only the writes are held: a list's worth is not cached");
        assert_eq!(entries.take_fault(), None);

        let in_memory = Entries::default();
        assert_eq!(in_memory.get_many(&keys), [None, None, None, None], "without a source nothing is stored");
    }

    #[test]
    fn stored_except_keeps_the_writes_not_yet_stored_in_the_overlay() {
        let mut entries = Entries::over(source(&[("p/c", "3")]));
        entries.put("p/a".into(), Some(1.into()));
        entries.put("p/b".into(), Some(2.into()));
        entries.put("p/c".into(), None);
        entries.stored_except(&["p/b".to_owned()].into());
        assert_eq!(entries.written.keys().collect::<Vec<_>>(), ["p/b"], "only the write in flight stays");
        // The others are read from the cache, the delete included (the source still has p/c).
        assert_eq!(
            (entries.get("p/a"), entries.get("p/b"), entries.get("p/c")),
            (Some(1.into()), Some(2.into()), None)
        );

        let mut in_memory = Entries::default();
        in_memory.put("p/a".into(), Some(1.into()));
        in_memory.stored_except(&Default::default());
        assert_eq!(in_memory.get("p/a"), Some(1.into()), "without a source the overlay is all there is");
    }

    #[test]
    fn stored_writes_leave_the_overlay_only_when_a_source_holds_them() {
        let mut in_memory = Entries::default();
        in_memory.put("p/a".into(), Some(1.into()));
        in_memory.stored();
        assert_eq!(in_memory.get("p/a"), Some(1.into()), "without a source the overlay is all there is");

        let mut backed = Entries::over(source(&[]));
        backed.put("p/a".into(), Some(1.into()));
        backed.stored();
        assert!(backed.written.is_empty());
        assert_eq!(backed.get("p/a"), Some(1.into()), "what was written is still read, from the cache");
    }

    #[test]
    fn a_failed_read_answers_nothing_and_is_kept_as_a_fault() {
        let stored = Arc::new(Counted { failing: true, ..Counted::default() });
        let entries = Entries::over(stored);
        assert_eq!(entries.get("p/a"), None);
        assert!(entries.with_prefix("p/").is_empty());
        assert_eq!(entries.take_fault().as_deref(), Some("disk on fire"));
        assert_eq!(entries.take_fault(), None, "taken");
    }
}
