//! The ledger: the append pipeline and the reads, generic over [`Store`]. It owns no I/O of its
//! own and no clock: the time of an append comes in as a parameter.
//!
//! Append: decode → schema → signatures → duplicate? → rules → sequence → store → projections.
//! A batch is checked event by event against the state the earlier events of the batch leave,
//! then committed with one atomic, durable write. An event that fails any check leaves the log
//! and the projections exactly as they were.

use std::collections::HashMap;

use serde_json::Value;
use time::OffsetDateTime;

use crate::canonical::{self, CanonicalError};
use crate::event::{EventError, SignedEvent, Timestamp};
use crate::id::{Did, EventId, Seq};
use crate::projection::{self, Changes, LoadError, Profile, Projections, Record};
use crate::record::RecordError;
use crate::rules::{self, RuleError};
use crate::store::{Batch, NewRecord, Store, StoreError};

/// How many records a replay reads from the store at a time.
const REPLAY_CHUNK: usize = 1024;

/// A ledger over a store.
pub struct Ledger<S: Store> {
    store: S,
    state: Projections,
    len: u64,
}

impl<S: Store> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Where an appended event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Appended {
    pub seq: Seq,
    pub id: EventId,
    /// `false` if the event was already on the log (the append was a no-op).
    #[serde(skip)]
    pub new: bool,
}

/// Why an append was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AppendError {
    /// The bytes are not an acceptable signed event (JSON, schema, types or signature).
    #[error(transparent)]
    Event(#[from] EventError),
    /// The rules refuse it.
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// Storage failed; nothing was appended.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the ledger could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Record(#[from] RecordError),
    #[error(transparent)]
    Projection(#[from] LoadError),
}

impl<S: Store> Ledger<S> {
    /// Opens the ledger: loads the stored projections and catches them up with the log.
    pub fn open(store: S) -> Result<Self, LedgerError> {
        let state = Projections::load(store.entries()?)?;
        let len = store.len()?;
        let mut ledger = Ledger { store, state, len };
        ledger.catch_up()?;
        Ok(ledger)
    }

    /// Applies the records the projections do not yet reflect, and stores what changed.
    fn catch_up(&mut self) -> Result<(), LedgerError> {
        if self.state.applied() >= self.len {
            return Ok(());
        }
        let mut changes = Changes::default();
        self.replay(self.state.applied(), |state, record| {
            state.apply(record, &mut changes)
        })?;
        let entries = self.state.changed_entries(changes);
        self.store.commit(Batch {
            records: Vec::new(),
            entries,
        })?;
        Ok(())
    }

    /// Folds the records from `from` on into the ledger's state.
    fn replay(
        &mut self,
        from: Seq,
        mut f: impl FnMut(&mut Projections, &Record),
    ) -> Result<(), LedgerError> {
        let mut state = std::mem::take(&mut self.state);
        let result = self.for_each_record(from, |record| {
            f(&mut state, &record);
            Ok(())
        });
        self.state = state;
        result
    }

    /// Calls `f` with every record from `from` on, in order.
    pub fn for_each_record(
        &self,
        mut from: Seq,
        mut f: impl FnMut(Record) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        loop {
            let chunk = self.store.records(from, REPLAY_CHUNK)?;
            if chunk.is_empty() {
                return Ok(());
            }
            for bytes in &chunk {
                f(Record::from_stored(bytes)?)?;
            }
            from += chunk.len() as u64;
        }
    }

    /// Appends one signed event (JSON text). Idempotent: an event already on the log returns its
    /// existing place.
    pub fn append(&mut self, event: &[u8], now: OffsetDateTime) -> Result<Appended, AppendError> {
        let value = canonical::parse_strict(event).map_err(EventError::from)?;
        self.append_values(vec![value], now, true)
            .pop()
            .expect("one result per event")
    }

    /// Appends many signed events with one durable write. Each is checked against the state the
    /// events before it leave. With `atomic`, one failure refuses them all; without, the failures
    /// are refused alone and the rest commit. One result per event, in order.
    pub fn append_values(
        &mut self,
        events: Vec<Value>,
        now: OffsetDateTime,
        atomic: bool,
    ) -> Vec<Result<Appended, AppendError>> {
        let recorded_at = Timestamp::whole_seconds(now);
        let mut results = Vec::with_capacity(events.len());
        let mut pending: HashMap<EventId, Seq> = HashMap::new();
        let mut batch = Batch::default();
        let mut changes = Changes::default();
        for value in events {
            let result = self.stage(value, recorded_at, &mut pending, &mut batch, &mut changes);
            results.push(result);
        }
        if batch.records.is_empty() {
            return results;
        }
        if atomic && results.iter().any(Result::is_err) {
            // The staged events changed the projections: put them back as stored.
            self.reset_state();
            return results;
        }
        batch.entries = self.state.changed_entries(changes);
        let count = batch.records.len() as u64;
        match self.store.commit(batch) {
            Ok(()) => {
                self.len += count;
                results
            }
            Err(e) => {
                // Nothing was written: put the projections back as they were.
                self.reset_state();
                let message = e.to_string();
                results
                    .into_iter()
                    .map(|r| {
                        r.and_then(|_| {
                            Err(AppendError::Store(StoreError::Backend(message.clone())))
                        })
                    })
                    .collect()
            }
        }
    }

    /// Checks one event and, if it passes, sequences it into the batch and the projections.
    fn stage(
        &mut self,
        value: Value,
        recorded_at: Timestamp,
        pending: &mut HashMap<EventId, Seq>,
        batch: &mut Batch,
        changes: &mut Changes,
    ) -> Result<Appended, AppendError> {
        let event = SignedEvent::verify(value)?;
        let id = event.id();
        if let Some(seq) = pending.get(&id).copied().or(self.store.seq_of(&id)?) {
            return Ok(Appended {
                seq,
                id,
                new: false,
            });
        }
        let seq = self.len + batch.records.len() as u64;
        rules::check(&event, seq, &self.state)?;
        let record = Record {
            seq,
            recorded_at,
            event,
        };
        self.state.apply(&record, changes);
        batch.records.push(NewRecord {
            seq,
            id,
            bytes: record.canonical(),
        });
        pending.insert(id, seq);
        Ok(Appended { seq, id, new: true })
    }

    /// Replaces the in-memory projections with the stored ones (which match the log), or, if
    /// they cannot be read, with a fold of the whole log.
    fn reset_state(&mut self) {
        let stored = Projections::load(self.store.entries().unwrap_or_default());
        match stored {
            Ok(state) if state.applied() == self.len => self.state = state,
            _ => {
                if let Ok(state) = self.fold_from_scratch() {
                    self.state = state;
                }
            }
        }
    }

    /// The number of records on the log.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Is the log empty?
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Up to `limit` records from `from` on.
    pub fn records(&self, from: Seq, limit: usize) -> Result<Vec<Record>, LedgerError> {
        self.store
            .records(from, limit)?
            .iter()
            .map(|b| Ok(Record::from_stored(b)?))
            .collect()
    }

    /// The record holding the event with this id.
    pub fn record_by_id(&self, id: &EventId) -> Result<Option<Record>, LedgerError> {
        match self.store.seq_of(id)? {
            Some(seq) => Ok(self.records(seq, 1)?.pop()),
            None => Ok(None),
        }
    }

    /// The projections as of the end of the log.
    pub fn state(&self) -> &Projections {
        &self.state
    }

    /// A learner's profile as of the end of the log.
    pub fn profile(&self, learner: &Did) -> Profile {
        let state = &self.state;
        state.profiles.render(
            learner,
            &state.status,
            &state.registry,
            projection::as_of(state.applied()),
        )
    }

    /// Folds the whole log into fresh projections, without touching the stored ones.
    pub fn fold_from_scratch(&self) -> Result<Projections, LedgerError> {
        let mut state = Projections::default();
        let mut changes = Changes::default();
        self.for_each_record(0, |record| {
            state.apply(&record, &mut changes);
            Ok(())
        })?;
        Ok(state)
    }

    /// Drops the stored projections and rebuilds them from the log. Returns whether the rebuilt
    /// entries differ from the ones they replace (they never should).
    pub fn rebuild(&mut self) -> Result<bool, LedgerError> {
        let fresh = self.fold_from_scratch()?;
        let entries = fresh.entries();
        let differed = entries != self.store.entries()?;
        self.store.replace_entries(entries)?;
        self.state = fresh;
        Ok(differed)
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }
}

impl From<CanonicalError> for AppendError {
    fn from(e: CanonicalError) -> Self {
        AppendError::Event(EventError::Canonical(e))
    }
}
