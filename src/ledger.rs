//! The ledger: the append pipeline and the reads, generic over [`Store`]. It owns no I/O of its
//! own and no clock: the time of an append comes in as a parameter.
//!
//! Append: decode → schema → signatures → standard proof ([`admission`]) → duplicate? → rules →
//! sequence → Merkle tree → checkpoint → store → projections. A batch is checked event by event against the state the
//! earlier events of the batch leave, then committed with one atomic, durable write that holds
//! the records, the Merkle nodes they complete, the operator-signed checkpoint of the new tree
//! (when the ledger holds the operator key) and the projection entries they change. An event
//! that fails any check leaves the log, the tree and the projections exactly as they were.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use time::OffsetDateTime;

use crate::admission;
use crate::canonical::{self, CanonicalError};
use crate::checkpoint::Checkpoint;
use crate::event::{EventError, SignedEvent, Timestamp};
use crate::id::Hash32;
use crate::id::{Did, EventId, Seq};
use crate::keys::SecretKey;
use crate::merkle::{self, Frontier, NodeId, NodeSource, ProofError};
use crate::projection::{self, Changes, LoadError, Profile, Projections, Record};
use crate::record::RecordError;
use crate::rules::{self, RuleError};
use crate::staged_fold::staged_fold;
use crate::store::{Batch, NewRecord, Staging, Store, StoreError, StoredNodes, WriterTurn};
use crate::view::View;

/// How many records a replay reads from the store at a time.
const REPLAY_CHUNK: usize = 1024;

/// A ledger over a store.
pub struct Ledger<S: Store> {
    /// Shared with the state, which reads the profiles through it.
    store: Arc<S>,
    state: Projections,
    len: u64,
    frontier: Frontier,
    /// The operator's key, when this ledger publishes checkpoints.
    signer: Option<SecretKey>,
    /// The entries the state in memory has and the store lacks, when the stored projections lag
    /// the log (opening caught them up in memory only): the next write carries them, fenced by
    /// the log's length like every write, or [`Ledger::store_catch_up`] writes them alone.
    unstored: Option<Changes>,
    /// The state in memory could not be put back after a failed write: reload it before the next.
    needs_reload: bool,
    /// The term of the lead in which this ledger last followed the store or committed, while its
    /// state has stood for the whole log since: then it need not read the log's length before a
    /// batch ([`Store::writer_turn`]). `None` after any failed write.
    known_in_term: Option<u64>,
}

impl<S: Store> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("len", &self.len).finish_non_exhaustive()
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
    /// Storage failed: nothing was appended, unless the error is [`StoreError::OutcomeUnknown`]
    /// (then the event may be on the log).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The batch this event was in was not committed; nothing was appended.
    #[error("not appended: {0}")]
    NotCommitted(String),
}

impl AppendError {
    /// A stable, machine-readable name for the reason (HTTP problem types, metrics).
    pub fn code(&self) -> &'static str {
        match self {
            AppendError::Event(EventError::Canonical(_)) => "malformed-json",
            AppendError::Event(EventError::Schema(_) | EventError::Field { .. } | EventError::Encode(_)) => "schema",
            AppendError::Event(EventError::Signature(_)) => "bad-signature",
            AppendError::Rule(rule) => rule.code(),
            // The event may be on the log: a distinct answer from a clean refusal.
            AppendError::Store(StoreError::OutcomeUnknown(_)) => "outcome-unknown",
            AppendError::Store(_) | AppendError::NotCommitted(_) => "unavailable",
        }
    }
}

/// Why a proof cannot be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProveError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// How many times an append is sequenced again after another writer appended first.
const MAX_APPEND_ATTEMPTS: u32 = 64;

/// The checks of an append that are independent of the log (admission: JSON, schema, types,
/// signatures, standard proofs), on every core when there are several events. Pure: what
/// [`Ledger::append_verified`] takes.
pub fn verify_events(events: Vec<Value>) -> Vec<Result<SignedEvent, EventError>> {
    if events.len() > 1 {
        use rayon::prelude::*;
        events.into_par_iter().map(admission::verify).collect()
    } else {
        events.into_iter().map(admission::verify).collect()
    }
}

/// Why a batch was not committed.
#[derive(Debug, thiserror::Error)]
enum CommitError {
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Store(StoreError),
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
    #[error("the checkpoint signer {signer} is not this log's operator {operator}")]
    NotOperator { signer: Did, operator: Did },
    /// The stored log does not hash to the root its latest signed checkpoint commits to.
    #[error("the log does not match its latest signed checkpoint: {0}")]
    CheckpointMismatch(String),
}

impl<S: Store> Ledger<S> {
    /// Opens the ledger: loads the stored projections a writer holds in memory (the profiles are
    /// read through the store) and catches them up with the log, in memory.
    /// Opening never writes: a read-only command changes nothing, and on a shared store a reader
    /// never puts back entries older than what another writer committed. The appending paths
    /// write the catch-up ([`Ledger::store_catch_up`], or with their first append), fenced.
    pub fn open(store: S) -> Result<Self, LedgerError> {
        let store = Arc::new(store);
        let state = Self::load_state(&store)?;
        let mut ledger = Ledger {
            store,
            state,
            len: 0,
            frontier: Frontier::default(),
            signer: None,
            unstored: None,
            needs_reload: false,
            known_in_term: None,
        };
        ledger.catch_up_stored()?;
        Ok(ledger)
    }

    /// The stored projections a writer holds in memory, reading the profiles through `store`.
    fn load_state(store: &Arc<S>) -> Result<Projections, LedgerError> {
        let mut held = Vec::new();
        for prefix in projection::HELD_IN_MEMORY {
            held.extend(store.entries_with_prefix(prefix)?);
        }
        Ok(Projections::open(held, store.clone())?)
    }

    /// The first read through the store that failed while folding, as an error.
    fn fault(&self) -> Result<(), StoreError> {
        self.state.take_fault().map_or(Ok(()), |why| Err(StoreError::Backend(why)))
    }

    /// Publishes a signed checkpoint with every append from now on, signed by `operator`, which
    /// must be the log's operator once the log has its genesis.
    pub fn sign_checkpoints_with(&mut self, operator: SecretKey) -> Result<(), LedgerError> {
        if let Some(genesis) = self.state.registry.genesis() {
            if &genesis.operator != operator.did() {
                return Err(LedgerError::NotOperator {
                    signer: operator.did().clone(),
                    operator: genesis.operator.clone(),
                });
            }
        }
        self.signer = Some(operator);
        Ok(())
    }

    /// Folds into the state the records it does not reflect yet, when the state was loaded from
    /// the store: the entries that change are what the store lacks (`unstored`).
    fn catch_up_stored(&mut self) -> Result<(), LedgerError> {
        let from = self.state.applied();
        let behind = self.unstored.take();
        let was_behind = behind.is_some();
        let mut changes = behind.unwrap_or_default();
        let folded = self.fold_to_end(&mut changes);
        if was_behind || self.state.applied() > from {
            self.unstored = Some(changes);
        }
        folded?;
        Ok(self.fault()?)
    }

    /// Folds every record the state does not reflect yet into it, noting the entries that change,
    /// and moves the length and the frontier to the end of the log.
    fn fold_to_end(&mut self, changes: &mut Changes) -> Result<(), LedgerError> {
        self.replay(self.state.applied(), |state, record| state.apply(record, changes))?;
        let applied = self.state.applied();
        if applied != self.len {
            self.frontier = Frontier::load(&StoredNodes(&self.store), applied)?;
            self.len = applied;
        }
        Ok(())
    }

    /// Writes the entries that opening caught up in memory (when the stored projections lagged
    /// the log), fenced by the log's length: for the appending paths (a server's writer, a command
    /// that appends), never for reads. When another writer appends in between, this follows it
    /// and tries again.
    pub fn store_catch_up(&mut self) -> Result<(), LedgerError> {
        let mut attempts = 0;
        while let Some(changes) = self.unstored.clone() {
            let batch = Batch { entries: self.state.changed_entries(changes), ..Batch::at(self.len) };
            match self.store.commit(batch) {
                Ok(()) => {
                    self.unstored = None;
                    self.state.stored();
                }
                Err(StoreError::Conflict { .. }) if attempts < MAX_APPEND_ATTEMPTS => {
                    attempts += 1;
                    self.follow_store()?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Folds the records from `from` on into the ledger's state.
    fn replay(&mut self, from: Seq, mut f: impl FnMut(&mut Projections, &Record)) -> Result<(), LedgerError> {
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
        from: Seq,
        f: impl FnMut(Record) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        self.for_each_record_before(from, u64::MAX, f)
    }

    /// Calls `f` with every record from `from` up to `end` (not included), in order.
    fn for_each_record_before(
        &self,
        from: Seq,
        end: Seq,
        mut f: impl FnMut(Record) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        self.for_each_chunk_before(from, end, |chunk| chunk.into_iter().try_for_each(&mut f))
    }

    /// Calls `f` with the records from `from` up to `end` (not included), in order, a chunk of
    /// up to [`REPLAY_CHUNK`] at a time. Past one chunk, another thread reads and parses the next
    /// chunk while `f` takes this one, so a long fold uses two cores.
    fn for_each_chunk_before(
        &self,
        from: Seq,
        end: Seq,
        mut f: impl FnMut(Vec<Record>) -> Result<(), LedgerError>,
    ) -> Result<(), LedgerError> {
        let read = |from: Seq| -> Result<Vec<Record>, LedgerError> {
            let limit = usize::try_from(end.saturating_sub(from)).unwrap_or(usize::MAX).min(REPLAY_CHUNK);
            let chunk = if limit == 0 { Vec::new() } else { self.store.records(from, limit)? };
            Ok(chunk.iter().map(|bytes| Record::from_stored(bytes)).collect::<Result<_, _>>()?)
        };
        if end.saturating_sub(from) <= REPLAY_CHUNK as u64 {
            let chunk = read(from)?;
            return if chunk.is_empty() { Ok(()) } else { f(chunk) };
        }
        std::thread::scope(|scope| {
            // Two chunks ahead at most: memory stays bounded whatever the log's length.
            let (chunks, next) = std::sync::mpsc::sync_channel(1);
            scope.spawn(move || {
                let mut from = from;
                loop {
                    let chunk = read(from);
                    let last = chunk.as_ref().map_or(true, Vec::is_empty);
                    from += chunk.as_ref().map_or(0, |c| c.len() as u64);
                    // The folder stopped (it failed): so does the reader.
                    if chunks.send(chunk).is_err() || last {
                        return;
                    }
                }
            });
            for chunk in next {
                let chunk = chunk?;
                if chunk.is_empty() {
                    break;
                }
                f(chunk)?;
            }
            Ok(())
        })
    }

    /// Appends one signed event (JSON text). Idempotent: an event already on the log returns its
    /// existing place.
    pub fn append(&mut self, event: &[u8], now: OffsetDateTime) -> Result<Appended, AppendError> {
        let value = canonical::parse_strict(event).map_err(EventError::from)?;
        self.append_values(vec![value], now, true).pop().expect("one result per event")
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
        self.append_verified(verify_events(events), now, atomic)
    }

    /// [`append_values`](Self::append_values) for events [`verify_events`] checked already
    /// (possibly on another thread, while this ledger committed the group before): the checks
    /// that depend on the log (duplicates, rules) and the commit.
    pub fn append_verified(
        &mut self,
        verified: Vec<Result<SignedEvent, EventError>>,
        now: OffsetDateTime,
        atomic: bool,
    ) -> Vec<Result<Appended, AppendError>> {
        let recorded_at = Timestamp::whole_seconds(now);
        let mut verified: Vec<Option<Result<SignedEvent, EventError>>> = verified.into_iter().map(Some).collect();
        // Another writer sharing the store (a second node) may append first: then catch up with
        // what it wrote and sequence again, against the new state.
        let mut attempts = 0;
        loop {
            let _turn = match self.take_turn() {
                Ok(turn) => turn,
                Err(e) => {
                    let message = e.to_string();
                    return verified
                        .into_iter()
                        .map(|v| match v {
                            Some(Err(e)) => Err(AppendError::from(e)),
                            _ => Err(AppendError::NotCommitted(message.clone())),
                        })
                        .collect();
                }
            };
            let last_attempt = attempts >= MAX_APPEND_ATTEMPTS;
            match self.sequence(&mut verified, recorded_at, atomic, last_attempt) {
                Some(results) => return results,
                None => attempts += 1,
            }
        }
    }

    /// Sequences the verified events against the current state and commits them in one batch.
    /// `None` when another writer appended first (the store said so) and this is not the
    /// `last_attempt`: then nothing changed and the caller tries again. Events are taken out of
    /// `verified` only when the answer is final.
    fn sequence(
        &mut self,
        verified: &mut [Option<Result<SignedEvent, EventError>>],
        recorded_at: Timestamp,
        atomic: bool,
        last_attempt: bool,
    ) -> Option<Vec<Result<Appended, AppendError>>> {
        let mut results = Vec::with_capacity(verified.len());
        let mut pending: HashMap<EventId, Seq> = HashMap::new();
        let mut batch = Batch::at(self.len);
        // What the store lacks goes with this batch: the positions it writes cover it.
        let mut changes = self.unstored.clone().unwrap_or_default();
        // Which of them the log holds already, in one read, while the projections read what
        // the group will consult (on a database, the two reads overlap).
        let ids: Vec<EventId> = verified.iter().filter_map(|v| Some(v.as_ref()?.as_ref().ok()?.id())).collect();
        let state = &self.state;
        let mut prefetch = || state.prefetch(verified.iter().filter_map(|v| Some(&v.as_ref()?.as_ref().ok()?.event)));
        let on_log: HashMap<EventId, Seq> = match self.store.seqs_of_meanwhile(&ids, &mut prefetch) {
            Ok(seqs) => ids.into_iter().zip(seqs).filter_map(|(id, seq)| Some((id, seq?))).collect(),
            Err(e) => {
                // Nothing is staged yet: the state stands, and a read the prefetch failed is
                // read again next time.
                let _ = self.fault();
                let failed = |v: &mut Option<Result<SignedEvent, EventError>>| match v.take() {
                    Some(Err(e)) => Err(AppendError::from(e)),
                    _ => Err(AppendError::NotCommitted(e.to_string())),
                };
                return Some(verified.iter_mut().map(failed).collect());
            }
        };
        for event in verified.iter() {
            let result = match event {
                Some(Ok(event)) => {
                    self.stage(event.clone(), recorded_at, &on_log, &mut pending, &mut batch, &mut changes)
                }
                // Placeholders: replaced by the verification error below.
                _ => Err(AppendError::NotCommitted(String::new())),
            };
            results.push(result);
        }
        let take_errors = |verified: &mut [Option<Result<SignedEvent, EventError>>], results: &mut Vec<_>| {
            for (slot, result) in verified.iter_mut().zip(results.iter_mut()) {
                if let Some(Err(_)) = slot {
                    if let Some(Err(e)) = slot.take() {
                        *result = Err(AppendError::from(e));
                    }
                }
            }
        };
        if let Err(fault) = self.fault() {
            // A read through the store failed while staging: the state may be wrong.
            self.known_in_term = None;
            self.put_back_state();
            let message = fault.to_string();
            take_errors(verified, &mut results);
            // Even a refusal may come of the failed read: only what is known stands.
            let failed = |r: Result<Appended, AppendError>| match r {
                Ok(a) if !a.new => Ok(a),
                Err(AppendError::Event(e)) => Err(AppendError::Event(e)),
                _ => Err(AppendError::NotCommitted(message.clone())),
            };
            return Some(results.into_iter().map(failed).collect());
        }
        if batch.records.is_empty() {
            take_errors(verified, &mut results);
            return Some(results);
        }
        if atomic && results.iter().any(Result::is_err) {
            // The staged events changed the projections: put them back as stored.
            self.put_back_state();
            take_errors(verified, &mut results);
            return Some(results);
        }
        let tree_before = self.frontier.clone();
        for record in &batch.records {
            batch.nodes.extend(self.frontier.push(merkle::leaf_hash(&record.bytes)));
        }
        batch.entries = self.state.changed_entries(changes);
        let count = batch.records.len() as u64;
        let committed =
            self.checkpoint_for(&tree_before, &batch.nodes).map_err(CommitError::Refused).and_then(|checkpoint| {
                batch.checkpoint = checkpoint;
                self.store.commit(batch).map_err(CommitError::Store)
            });
        match committed {
            Ok(()) => {
                self.len += count;
                self.unstored = None;
                self.state.stored();
                take_errors(verified, &mut results);
                Some(results)
            }
            Err(failure) => {
                // Another writer appended first: the store refused the seqs, or the checkpoint
                // it signed is ahead of the tree this batch was sequenced on.
                let overtaken = match &failure {
                    CommitError::Store(StoreError::Conflict { .. }) => true,
                    CommitError::Refused(_) => self.store.len().is_ok_and(|stored| stored != self.len),
                    CommitError::Store(_) => false,
                };
                // Put the tree and the projections back as the store has them: as they were, or,
                // if the write's outcome is unknown, with whatever of it the store shows.
                self.known_in_term = None;
                self.frontier = tree_before;
                self.put_back_state();
                if overtaken && !last_attempt {
                    return None;
                }
                let message = failure.to_string();
                take_errors(verified, &mut results);
                let failed = |r: Result<Appended, AppendError>| {
                    r.and_then(|_| {
                        Err(match &failure {
                            // Never "not committed" for what may be on the log.
                            CommitError::Store(StoreError::OutcomeUnknown(why)) => {
                                AppendError::Store(StoreError::OutcomeUnknown(why.clone()))
                            }
                            _ => AppendError::NotCommitted(message.clone()),
                        })
                    })
                };
                Some(results.into_iter().map(failed).collect())
            }
        }
    }

    /// Waits for this writer's turn at the store, then catches up with the log: until the turn
    /// drops, writers that take turns do not append (see [`Store::writer_turn`]). A leader that
    /// followed the store or committed in the same term knows the log already: no other node
    /// appends while it leads, and the fence of its next commit catches a stray writer (this
    /// ledger then follows the store before it tries again).
    fn take_turn(&mut self) -> Result<WriterTurn, LedgerError> {
        let turn = self.store.writer_turn()?;
        let knows_the_log = turn.term().is_some() && turn.term() == self.known_in_term && !self.needs_reload;
        if !knows_the_log {
            self.known_in_term = None;
            self.follow_store()?;
            self.known_in_term = turn.term();
        }
        Ok(turn)
    }

    /// Catches up with records another writer sharing the store appended since this ledger last
    /// looked (their projection entries are already stored: only the state in memory moves).
    /// With one writer, as with sled, the store is never ahead and this is one length read.
    fn follow_store(&mut self) -> Result<(), LedgerError> {
        if self.needs_reload {
            self.reset_state()?;
        }
        if self.store.len()? <= self.len {
            return Ok(());
        }
        // The entries those records change are stored already (the other writer wrote them, with
        // whatever this writer's catch-up lacked). The profiles read through a store past those
        // records while folding them: what they wrote is dropped and read again.
        let folded = self.fold_to_end(&mut Changes::default());
        self.state.stored_elsewhere();
        let _ = self.state.take_fault();
        if folded.is_err() {
            self.needs_reload = true;
        }
        folded
    }

    /// Signs the checkpoint of the tree the frontier now describes (which extends the tree
    /// `extended` describes), after checking that it is consistent with the latest checkpoint
    /// this log signed: a log never signs two inconsistent checkpoints. `None` when the ledger
    /// holds no operator key.
    fn checkpoint_for(
        &self,
        extended: &Frontier,
        pending: &[(NodeId, Hash32)],
    ) -> Result<Option<(u64, String)>, String> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let genesis = self.state.registry.genesis().ok_or("the log has no genesis event")?;
        if &genesis.operator != signer.did() {
            return Err(format!("the checkpoint key {} is not the operator {}", signer.did(), genesis.operator));
        }
        let size = self.frontier.size();
        let root = self.frontier.root();
        if let Some((old_size, text)) = self.store.latest_checkpoint().map_err(|e| e.to_string())? {
            let old =
                Checkpoint::verify(&text, &genesis.operator).map_err(|e| format!("latest stored checkpoint: {e}"))?;
            // A tree that extends the very tree the latest checkpoint signed is consistent with it
            // by construction (the frontier only appends): no proof to read from the store.
            let extends_it = old_size == extended.size() && old.root == extended.root();
            if !extends_it {
                let nodes = PendingNodes { store: &self.store, pending };
                let proof = merkle::consistency_proof(&nodes, old_size, size).map_err(|e| e.to_string())?;
                merkle::verify_consistency(old_size, size, &old.root, &root, &proof).map_err(|e| {
                    format!("refusing to sign a checkpoint of size {size} that is inconsistent with the signed checkpoint of size {old_size}: {e}")
                })?;
            }
        }
        let checkpoint = Checkpoint { origin: genesis.origin.clone(), size, root };
        Ok(Some((size, checkpoint.sign(signer))))
    }

    /// Signs and stores a checkpoint of the whole log if the latest one is older (a log appended
    /// to without the operator key). Returns the latest checkpoint, which then covers the log.
    ///
    /// It first catches up with what other writers sharing the store appended, so the checkpoint
    /// and the state it is read with describe the whole log; the checkpoint it writes is fenced by
    /// the log's length like every write.
    pub fn publish_checkpoint(&mut self) -> Result<(u64, String), AppendError> {
        let mut attempts = 0;
        loop {
            let _turn = self.take_turn().map_err(|e| AppendError::NotCommitted(e.to_string()))?;
            let overtaken = match self.store.latest_checkpoint()? {
                Some((size, text)) if size == self.len => return Ok((size, text)),
                // Another writer appended since this ledger followed the store.
                Some((size, _)) if size > self.len => None,
                _ => {
                    let checkpoint = self.checkpoint_for(&self.frontier, &[]).map_err(AppendError::NotCommitted)?;
                    let checkpoint = checkpoint
                        .ok_or_else(|| AppendError::NotCommitted("no operator key to sign a checkpoint with".into()))?;
                    match self.store.commit(Batch { checkpoint: Some(checkpoint.clone()), ..Batch::at(self.len) }) {
                        Ok(()) => return Ok(checkpoint),
                        Err(conflict @ StoreError::Conflict { .. }) => Some(conflict),
                        Err(e) => return Err(e.into()),
                    }
                }
            };
            // Another writer appended: follow the store before trying again.
            self.known_in_term = None;
            if attempts >= MAX_APPEND_ATTEMPTS {
                let why = overtaken.map_or_else(|| "other writers kept appending".to_owned(), |e| e.to_string());
                return Err(AppendError::NotCommitted(why));
            }
            attempts += 1;
        }
    }

    /// The operator's key, when this ledger holds it.
    pub(crate) fn operator_key(&self) -> Option<&SecretKey> {
        self.signer.as_ref()
    }

    /// A read-only view of the committed ledger (records, proofs, checkpoints, stored projections).
    pub fn view(&self) -> View<'_, S> {
        View(&self.store)
    }

    /// The latest signed checkpoint (size and text).
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.view().latest_checkpoint()
    }

    /// The root of the tree the next append builds on, from the stored Merkle nodes.
    pub(crate) fn frontier_root(&self) -> Hash32 {
        self.frontier.root()
    }

    /// The Merkle root of the first `size` records.
    pub fn root(&self, size: u64) -> Result<Hash32, ProveError> {
        self.view().root(size)
    }

    /// The inclusion proof of record `seq` in the tree of `size` records.
    pub fn inclusion_proof(&self, seq: Seq, size: u64) -> Result<Vec<Hash32>, ProveError> {
        self.view().inclusion_proof(seq, size)
    }

    /// The consistency proof between the trees of `from` and `to` records.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash32>, ProveError> {
        self.view().consistency_proof(from, to)
    }

    /// Checks a verified event against the log (`on_log`: the seqs of the group's events that
    /// the store holds) and the rules and, if it passes, sequences it into the batch and the
    /// projections.
    fn stage(
        &mut self,
        event: SignedEvent,
        recorded_at: Timestamp,
        on_log: &HashMap<EventId, Seq>,
        pending: &mut HashMap<EventId, Seq>,
        batch: &mut Batch,
        changes: &mut Changes,
    ) -> Result<Appended, AppendError> {
        let id = event.id();
        if let Some(&seq) = pending.get(&id).or(on_log.get(&id)) {
            return Ok(Appended { seq, id, new: false });
        }
        let seq = self.len + batch.records.len() as u64;
        let record = Record { seq, recorded_at, event };
        rules::check(&record, &self.state)?;
        self.state.apply(&record, changes);
        batch.records.push(NewRecord { seq, id, bytes: record.canonical() });
        pending.insert(id, seq);
        Ok(Appended { seq, id, new: true })
    }

    /// Replaces the state in memory (and the length and frontier) with what the store holds: the
    /// stored projections, caught up with the log.
    fn reset_state(&mut self) -> Result<(), LedgerError> {
        self.state = Self::load_state(&self.store)?;
        self.catch_up_stored()?;
        self.needs_reload = false;
        Ok(())
    }

    /// [`Ledger::reset_state`] after a refused or failed write; if the store cannot be read now,
    /// the next append reloads first.
    fn put_back_state(&mut self) {
        if self.reset_state().is_err() {
            self.needs_reload = true;
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
        self.view().records(from, limit)
    }

    /// The record holding the event with this id.
    pub fn record_by_id(&self, id: &EventId) -> Result<Option<Record>, LedgerError> {
        self.view().record_by_id(id)
    }

    /// The projections as of the end of the log.
    pub fn state(&self) -> &Projections {
        &self.state
    }

    /// A learner's profile as of the end of the log.
    pub fn profile(&self, learner: &Did) -> Profile {
        let state = &self.state;
        state.profiles.render(learner, &state.status, &state.registry, projection::as_of(state.applied()))
    }

    /// Folds the whole log into fresh projections, without touching the stored ones, calling
    /// `progress` with the number of records folded so far every so often.
    pub fn fold_from_scratch(&self, mut progress: impl FnMut(u64)) -> Result<Projections, LedgerError> {
        let mut state = Projections::default();
        self.fold_before(&mut state, u64::MAX, &mut progress)?;
        Ok(state)
    }

    /// Folds the records from `state`'s position up to `end` (not included) into it, calling
    /// `progress` with the number of records folded so far every so often.
    fn fold_before(
        &self,
        state: &mut Projections,
        end: u64,
        progress: &mut impl FnMut(u64),
    ) -> Result<(), LedgerError> {
        self.for_each_record_before(state.applied(), end, |record| {
            state.apply(&record, &mut Changes::default());
            if (record.seq + 1) % REPLAY_CHUNK as u64 == 0 {
                progress(record.seq + 1);
            }
            Ok(())
        })
    }

    /// Drops the stored projections and rebuilds them from the log. Returns whether the stored
    /// entries differed from the fold of the records they claim to reflect (they never should).
    pub fn rebuild(&mut self) -> Result<bool, LedgerError> {
        self.rebuild_with_progress(|_| {})
    }

    /// [`Ledger::rebuild`], calling `progress` with the number of records folded so far.
    ///
    /// The fold writes its entries to a [`Staging`] beside the stored ones, chunk by chunk, and
    /// reads them back through the bounded caches, so a rebuild's memory does not grow with the
    /// log. The staged entries replace the stored ones under the store's fence: when another
    /// writer sharing the store appended meanwhile, its records are folded in while the fence
    /// holds writers off, so a rebuild never erases what others committed while it ran, and
    /// finishes however busy they are. A rebuild that fails leaves the stored entries as they were.
    pub fn rebuild_with_progress(&mut self, mut progress: impl FnMut(u64)) -> Result<bool, LedgerError> {
        let staging = self.store.staging()?;
        let mut fresh = Projections::default();
        fresh.stored_in(staging.clone());
        // The stored entries against the fold of as many records as they claim to reflect (their
        // positions say how many): judged at the swap, under the fence, when they reflect the
        // whole log, as they do unless they lag it (then no writer appends, since a writer
        // catches them up first: they are judged at their position).
        // (The length first: entries move with the records they reflect, so entries read after
        // it reflect at least that many unless they lag.)
        let len = self.store.len()?;
        let positions = self.store.entries_with_prefix(projection::POSITION_PREFIX)?;
        let stored_at = Projections::load(positions).map_or(0, |p| p.applied());
        let lagging = stored_at < len;
        let mut differed = false;
        if lagging {
            self.fold_staged(&mut fresh, &*staging, stored_at, &mut progress)?;
            differed = !staging.differences(1)?.is_empty();
        }
        self.fold_staged(&mut fresh, &*staging, u64::MAX, &mut progress)?;
        // Records another writer appended after the fold are folded in while the store holds
        // the fence, so the swap cannot lose a race with busy writers.
        let mut failed = None;
        let swapped = staging.swap_in(fresh.applied(), &mut |len| {
            let caught_up =
                self.fold_staged(&mut fresh, &*staging, len, &mut progress).and_then(|()| match fresh.applied() {
                    applied if applied == len => Ok(()),
                    applied => Err(LedgerError::Store(StoreError::Corrupt(format!(
                        "the log holds {len} records, but only {applied} could be read to rebuild"
                    )))),
                });
            caught_up.map_err(|e| {
                let message = e.to_string();
                failed = Some(e);
                StoreError::Backend(message)
            })
        });
        if let Some(e) = failed {
            return Err(e);
        }
        differed |= swapped? && !lagging;
        self.state = fresh;
        // The store holds every entry now: status and the profiles read through it.
        self.state.stored_in(self.store.clone());
        self.unstored = None;
        self.needs_reload = false;
        // The state is at the end of the log it was fenced by: the length and frontier follow.
        self.fold_to_end(&mut Changes::default())?;
        Ok(differed)
    }

    /// Folds the records from `state`'s position up to `end` (not included) into it, writing
    /// what each chunk changed, and the positions, to `staging` (on another thread, a chunk
    /// behind), which `state` reads through.
    fn fold_staged(
        &self,
        state: &mut Projections,
        staging: &dyn Staging,
        end: u64,
        progress: &mut impl FnMut(u64),
    ) -> Result<(), LedgerError> {
        staged_fold(staging, |stager| {
            self.for_each_chunk_before(state.applied(), end, |chunk| {
                let mut changes = Changes::default();
                state.prefetch(chunk.iter().map(|r| &r.event.event));
                for record in &chunk {
                    state.apply(record, &mut changes);
                }
                stager.stage(state, changes)?;
                progress(state.applied());
                Ok(())
            })?;
            // The positions, even when there was nothing to fold.
            stager.stage(state, Changes::default())?;
            Ok(stager.finish(state)?)
        })
    }

    /// The store underneath.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// How many projection entries the state holds in memory that it reads through the store
    /// (written and not yet stored, or cached): bounded, whatever the log's length.
    pub fn entries_held(&self) -> usize {
        self.state.held()
    }
}

impl From<CanonicalError> for AppendError {
    fn from(e: CanonicalError) -> Self {
        AppendError::Event(EventError::Canonical(e))
    }
}

/// The store's nodes with a batch's new nodes over them.
struct PendingNodes<'a, S> {
    store: &'a S,
    pending: &'a [(NodeId, Hash32)],
}

impl<S: Store> NodeSource for PendingNodes<'_, S> {
    type Error = StoreError;
    fn node(&self, id: NodeId) -> Result<Hash32, StoreError> {
        match self.pending.iter().find(|(n, _)| *n == id) {
            Some((_, hash)) => Ok(*hash),
            None => StoredNodes(self.store).node(id),
        }
    }
}
