//! Projections fold the log into state: the issuer/key [`Registry`], credential [`Status`], and
//! learner [`Profiles`]. They are functions of the log alone: applying records one by one and
//! rebuilding from scratch give the same entries, byte for byte.
//!
//! Each projection names its stored entries by key (`registry/…`, `status/…`, `profile/…`).
//! The registry keeps its state in memory; status and profiles keep none in the ledger's writer:
//! their entries are written through and read through the store with a bounded cache
//! ([`entries`]), so the writer's memory does not grow with the credentials or the learners. Applying a record
//! notes which entries changed in [`Changes`]; the ledger writes exactly those, with each
//! projection's position, in the same atomic batch as the record, so stored projections never
//! disagree with the log.

pub mod entries;
pub mod profile;
pub mod registry;
pub mod status;

use std::collections::BTreeSet;
use std::sync::Arc;

use serde_json::Value;

use crate::canonical;
use crate::id::{Did, Seq};
pub use crate::record::Record;
pub use entries::EntrySource;
pub use profile::{Profile, Profiles};
pub use registry::Registry;
pub use status::{CredentialState, Status};

/// What a projection may know about a record beyond the record itself, taken from the registry
/// as of the record's position.
#[derive(Debug, Default)]
pub struct Context {
    /// The issuer whose key signed the record, if its author is an issuer key.
    pub author_issuer: Option<Did>,
}

/// The keys of entries a batch of applied records changed.
#[derive(Debug, Default, Clone)]
pub struct Changes(BTreeSet<String>);

impl Changes {
    /// Notes that the entry under `key` changed.
    pub fn touch(&mut self, key: String) {
        self.0.insert(key);
    }

    /// The keys of the entries that changed.
    pub fn keys(&self) -> &BTreeSet<String> {
        &self.0
    }
}

/// A fold of the log into state, stored as keyed entries.
pub trait Projection: Default {
    /// The projection's name: the first segment of its entries' keys.
    const NAME: &'static str;
    /// Folds one record in, noting the entries it changed.
    fn apply(&mut self, record: &Record, context: &Context, changes: &mut Changes);
    /// The entry under `key` as JSON, or `None` if there is none.
    fn entry(&self, key: &str) -> Option<Value>;
    /// The keys of all entries.
    fn keys(&self) -> Vec<String>;
    /// Restores one stored entry.
    fn load(&mut self, key: &str, value: Value) -> Result<(), serde_json::Error>;
}

/// All projections, each with the number of records it reflects.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Projections {
    pub registry: Registry,
    pub status: Status,
    pub profiles: Profiles,
    /// Records applied, per projection, in the order registry, status, profiles.
    positions: [u64; 3],
    /// Whether records were skipped (a bundle's selection from a log).
    gaps: bool,
}

/// The keys of the projections' positions start with it.
pub const POSITION_PREFIX: &str = "position/";

/// The prefixes of the entries a writer holds in memory ([`Projections::open`]); the rest it
/// reads through its store.
pub const HELD_IN_MEMORY: [&str; 2] = ["registry/", POSITION_PREFIX];

impl Projections {
    /// The number of records every projection reflects.
    pub fn applied(&self) -> u64 {
        self.positions.iter().copied().min().unwrap_or(0)
    }

    /// Do the projections reflect every record before `seq`? Not when they fold a bundle's
    /// selection from a log: then what the skipped records hold cannot be judged from them.
    pub fn reflect_all_before(&self, seq: Seq) -> bool {
        !self.gaps && self.applied() == seq
    }

    /// Folds the record into each projection that has not seen its seq yet. Records come in seq
    /// order: every record of a log, or (to check a bundle) a subset of them.
    pub fn apply(&mut self, record: &Record, changes: &mut Changes) {
        self.gaps |= record.seq > self.applied();
        let event = &record.event.event;
        let context = Context { author_issuer: self.registry.issuer_of_key(&event.author).map(|i| i.did.clone()) };
        let key_issuer = self.registry.key_event_issuer(&event.payload, &event.author);
        let voids_before = key_issuer.as_ref().map(|i| self.voids(i));
        let status_sees_it = record.seq >= self.positions[1];
        // Status and profiles first: they see the registry as of the record's position.
        step(&mut self.status, &mut self.positions[1], record, &context, changes);
        step(&mut self.profiles, &mut self.positions[2], record, &context, changes);
        step(&mut self.registry, &mut self.positions[0], record, &context, changes);
        // Then the states the record decides, with the void windows as of after it.
        if status_sees_it {
            let revoided = key_issuer.filter(|i| voids_before.as_ref() != Some(&self.voids(i)));
            self.status.settle(record, &self.registry, revoided.as_ref(), changes);
        }
    }

    /// An issuer's keys' void windows, to tell whether a record changed them.
    fn voids(&self, issuer: &Did) -> Vec<(Did, registry::Void)> {
        let voids = self.registry.issuer(issuer).map(|i| i.voids()).unwrap_or_default();
        voids.into_iter().map(|(key, void)| (key.clone(), void.clone())).collect()
    }

    /// Every stored entry (positions included) as canonical bytes, in key order.
    pub fn entries(&self) -> Vec<(String, Vec<u8>)> {
        let mut keys = self.registry.keys();
        keys.extend(self.status.keys());
        keys.extend(self.profiles.keys());
        keys.extend(self.position_keys());
        keys.sort();
        keys.into_iter().filter_map(|k| self.encode(&k).map(|v| (k, v))).collect()
    }

    /// The changed entries and every position, as canonical bytes (`None`: deleted).
    pub fn changed_entries(&self, changes: Changes) -> Vec<(String, Option<Vec<u8>>)> {
        let mut keys = changes.0;
        keys.extend(self.position_keys());
        keys.into_iter()
            .map(|k| {
                let v = self.encode(&k);
                (k, v)
            })
            .collect()
    }

    /// Restores projections from stored entries.
    pub fn load(entries: impl IntoIterator<Item = (String, Vec<u8>)>) -> Result<Self, LoadError> {
        let mut p = Projections::default();
        for (key, bytes) in entries {
            let bad = |e: serde_json::Error| LoadError { key: key.clone(), reason: e.to_string() };
            let value: Value = serde_json::from_slice(&bytes).map_err(bad)?;
            let name = key.split('/').next().unwrap_or_default();
            match name {
                Registry::NAME => p.registry.load(&key, value).map_err(bad)?,
                Status::NAME => p.status.load(&key, value).map_err(bad)?,
                Profiles::NAME => p.profiles.load(&key, value).map_err(bad)?,
                "position" => {
                    let slot = match &key[POSITION_PREFIX.len()..] {
                        Registry::NAME => 0,
                        Status::NAME => 1,
                        Profiles::NAME => 2,
                        _ => continue,
                    };
                    p.positions[slot] = value
                        .as_u64()
                        .ok_or_else(|| LoadError { key: key.clone(), reason: "position is not a number".into() })?;
                }
                // Entries of projections this build does not know are left alone.
                _ => {}
            }
        }
        Ok(p)
    }

    /// Restores the projections a writer holds in memory from their stored entries (those under
    /// [`HELD_IN_MEMORY`]); status and profiles are read through `source`, the store they came
    /// from.
    pub fn open(
        held: impl IntoIterator<Item = (String, Vec<u8>)>,
        source: Arc<dyn EntrySource>,
    ) -> Result<Self, LoadError> {
        let mut p = Projections::load(held)?;
        p.status = Status::over(source.clone());
        p.profiles = Profiles::over(source);
        Ok(p)
    }

    /// Reads at once what folding these events first asks of the store: one query on a database
    /// for every projection that reads through it, not one per entry or per projection.
    pub fn prefetch<'a>(&self, events: impl IntoIterator<Item = &'a crate::event::Event> + Clone) {
        let learners = events.clone().into_iter().filter_map(|e| e.payload.credential()).map(|c| c.learner);
        entries::prefetch_together([
            (self.profiles.entries(), self.profiles.prefetch_keys(learners)),
            (self.status.entries(), self.status.prefetch_keys(events)),
        ]);
    }

    /// The entries status and the profiles read through the store.
    fn read_through(&mut self) -> [&mut entries::Entries; 2] {
        [self.status.entries_mut(), self.profiles.entries_mut()]
    }

    /// How many entries read through the store are held in memory (written and not yet stored,
    /// or cached): bounded, whatever the log's length.
    pub fn held(&self) -> usize {
        self.status.entries().held() + self.profiles.entries().held()
    }

    /// The store holds every entry changed so far: what is read through leaves memory.
    pub fn stored(&mut self) {
        self.read_through().into_iter().for_each(entries::Entries::stored);
    }

    /// The store now holds every entry changed so far but those under `keys` (written since):
    /// the rest of what is read through leaves memory.
    pub fn stored_except(&mut self, keys: &BTreeSet<String>) {
        self.read_through().into_iter().for_each(|entries| entries.stored_except(keys));
    }

    /// Another writer stored the entries of the records just folded (see
    /// [`entries::Entries::stored_elsewhere`]): the registry folded them in memory; what status
    /// and the profiles wrote, read against a store already past them, is dropped.
    pub fn stored_elsewhere(&mut self) {
        self.read_through().into_iter().for_each(entries::Entries::stored_elsewhere);
    }

    /// Reads through `source` from now on, which holds every entry (after a rebuild wrote them).
    pub fn stored_in(&mut self, source: Arc<dyn EntrySource>) {
        self.read_through().into_iter().for_each(|entries| entries.stored_in(source.clone()));
    }

    /// The first read through the store that failed since the last call: the state may then be
    /// wrong, and whatever was folded since must not be committed.
    pub fn take_fault(&self) -> Option<String> {
        let status = self.status.entries().take_fault();
        let profiles = self.profiles.entries().take_fault();
        status.or(profiles)
    }

    fn position_keys(&self) -> [String; 3] {
        [Registry::NAME, Status::NAME, Profiles::NAME].map(|n| format!("{POSITION_PREFIX}{n}"))
    }

    fn encode(&self, key: &str) -> Option<Vec<u8>> {
        let value = match key.split('/').next().unwrap_or_default() {
            Registry::NAME => self.registry.entry(key),
            Status::NAME => self.status.entry(key),
            Profiles::NAME => self.profiles.entry(key),
            "position" => match &key[POSITION_PREFIX.len()..] {
                Registry::NAME => Some(self.positions[0].into()),
                Status::NAME => Some(self.positions[1].into()),
                Profiles::NAME => Some(self.positions[2].into()),
                _ => None,
            },
            _ => None,
        }?;
        // Projection entries hold strings, integers and quarter-unit credits only.
        canonical::to_vec(&value).ok()
    }
}

fn step<P: Projection>(p: &mut P, position: &mut u64, record: &Record, context: &Context, changes: &mut Changes) {
    // A log is dense; a bundle's entries are a sparse subset of one, in seq order.
    if record.seq >= *position {
        p.apply(record, context, changes);
        *position = record.seq + 1;
    }
}

/// A stored projection entry that does not read back.
#[derive(Debug, Clone, thiserror::Error)]
#[error("stored projection entry `{key}` is corrupt: {reason}")]
#[non_exhaustive]
pub struct LoadError {
    pub key: String,
    pub reason: String,
}

/// Which seq a projection reflects, for readers.
pub fn as_of(applied: u64) -> Option<Seq> {
    applied.checked_sub(1)
}
