//! `audit`: recompute everything derived from the log and compare it with what is stored. Every
//! record's event is re-verified (schema, signatures) and re-judged by the rules at its place;
//! every leaf and perfect node of the Merkle tree is recomputed and compared with the stored
//! nodes as it is completed; every stored checkpoint is checked against the operator's key and
//! the recomputed tree when the tree reaches its size (so all checkpoints are consistent with
//! each other); and the projections are rebuilt in a staging area beside the stored entries and
//! compared with them. Each difference is reported with its seq. Nothing held grows with the
//! log: the tree is kept as its frontier, and the records and checkpoints are read a chunk at a
//! time.

use std::fmt;

use serde::Serialize;

use crate::checkpoint::Checkpoint;
use crate::id::{Did, Hash32, Seq};
use crate::ledger::{Ledger, LedgerError};
use crate::merkle::{self, Frontier, NodeId};
use crate::projection::{Changes, Projections, Record};
use crate::rules;
use crate::staged_fold::{Stager, staged_fold};
use crate::store::cursor::CheckpointCursor;
use crate::store::{Difference, Store};

/// How many records `audit` reads at a time.
const AUDIT_CHUNK: usize = 1024;

/// One thing that does not match.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Problem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<Seq>,
    pub what: String,
}

/// What `audit` found.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct AuditReport {
    pub records: u64,
    pub checkpoints: usize,
    pub root: Hash32,
    pub problems: Vec<Problem>,
}

impl fmt::Display for AuditReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.problems {
            match p.seq {
                Some(seq) => writeln!(f, "seq {seq}: {}", p.what)?,
                None => writeln!(f, "{}", p.what)?,
            }
        }
        let verdict = if self.problems.is_empty() { "audit passed" } else { "audit FAILED" };
        write!(
            f,
            "{verdict}: {} records, root {}, {} checkpoints, {} problems",
            self.records,
            self.root,
            self.checkpoints,
            self.problems.len()
        )
    }
}

/// A record as read, with its event re-verified (when the record could be read at all).
type Checked = (Vec<u8>, Result<Record, crate::record::RecordError>, Option<Result<(), crate::event::EventError>>);

/// Reads and verifies `chunk`'s records on every core: each needs nothing from the others.
/// `Record::parse` checks types and every did:key as untrusted input; `admission::reverify` adds
/// the schema, the signatures and the standard proof: together, `admission::verify`.
fn check_chunk(chunk: Vec<Vec<u8>>) -> Vec<Checked> {
    use rayon::prelude::*;
    chunk
        .into_par_iter()
        .map(|bytes| {
            let record = Record::parse(&bytes);
            let verified = record.as_ref().ok().map(|r| crate::admission::reverify(&r.event));
            (bytes, record, verified)
        })
        .collect()
}

/// Audits the whole ledger, calling `progress` with the number of records audited so far.
pub fn audit<S: Store>(ledger: &Ledger<S>, mut progress: impl FnMut(u64) + Send) -> Result<AuditReport, LedgerError> {
    let store = ledger.store();
    let mut problems = Vec::new();
    let mut tree = Frontier::default();
    let mut checkpoints = Checkpoints { cursor: CheckpointCursor::default(), len: ledger.len() };
    // A checkpoint of the empty tree: of a log without genesis.
    checkpoints.cursor.read_to(store, 0)?;
    checkpoints.check_due(&tree, None, &mut |seq, what| problems.push(Problem { seq, what }));
    // The projections are folded into a staging area beside the stored entries (read back
    // through bounded caches), then compared with them; dropped unswapped, it is discarded.
    let staging = store.scratch()?;
    let mut state = Projections::default();
    state.stored_in(staging.clone());
    staged_fold(&*staging, |stager| -> Result<(), LedgerError> {
        let mut checked = check_chunk(store.records(0, AUDIT_CHUNK)?);
        while !checked.is_empty() {
            let next_from = tree.size() + checked.len() as u64;
            // Verify the next chunk while this one is judged in order: the two overlap (and the
            // staging's writes run beside both).
            let (next, judged) = rayon::join(
                || store.records(next_from, AUDIT_CHUNK).map(check_chunk),
                || {
                    checkpoints.cursor.read_to(store, next_from)?;
                    judge_chunk(store, stager, checked, &mut tree, &mut checkpoints, &mut state, &mut problems)
                },
            );
            judged?;
            progress(tree.size());
            checked = next?;
        }
        Ok(stager.finish(&mut state)?)
    })?;
    let mut at = |seq: Option<Seq>, what: String| problems.push(Problem { seq, what });
    let records = tree.size();
    if records != ledger.len() {
        at(None, format!("the log says it holds {} records, {records} were read", ledger.len()));
    }

    // Checkpoints beyond the log: the tree never reached them.
    checkpoints.cursor.read_to(store, u64::MAX)?;
    let operator = state.registry.genesis().map(|g| g.operator.clone());
    while let Some((size, text)) = checkpoints.cursor.take() {
        check_checkpoint(size, &text, operator.as_ref(), None, records, &mut at);
    }
    match checkpoints.cursor.latest {
        None if records > 0 => at(None, "the log has no signed checkpoint".into()),
        Some(size) if size != records => at(None, format!("the latest checkpoint covers {size} of {records} records")),
        _ => {}
    }

    // The projections, rebuilt, against the stored ones.
    for difference in staging.differences(usize::MAX)? {
        at(
            None,
            match difference {
                Difference::OnlyStored(key) => format!("stored projection entry `{key}` should not exist"),
                Difference::OnlyStaged(key) => format!("projection entry `{key}` is missing from the store"),
                Difference::Differs(key) => format!("stored projection entry `{key}` differs from the rebuilt one"),
            },
        );
    }
    Ok(AuditReport { records, checkpoints: checkpoints.cursor.count, root: tree.root(), problems })
}

/// Checks a chunk's records in seq order against the tree and the state the records before them
/// leave, then applies them. Each Merkle node a record completes is compared with the stored
/// one, and each checkpoint of the tree's new size with its root.
fn judge_chunk<S: Store>(
    store: &S,
    stager: &mut Stager,
    checked: Vec<Checked>,
    tree: &mut Frontier,
    checkpoints: &mut Checkpoints,
    state: &mut Projections,
    problems: &mut Vec<Problem>,
) -> Result<(), LedgerError> {
    let mut at = |seq: Option<Seq>, what: String| problems.push(Problem { seq, what });
    let mut changes = Changes::default();
    state.prefetch(checked.iter().filter_map(|(_, record, _)| Some(&record.as_ref().ok()?.event.event)));
    for (bytes, record, verified) in checked {
        let seq = tree.size();
        // The leaf is the hash of the bytes as stored; the nodes it completes are built on it.
        for (id, hash) in tree.push(merkle::leaf_hash(&bytes)) {
            if store.node(id)? != Some(hash) {
                at(
                    Some(id.index << id.level),
                    match id {
                        NodeId { level: 0, .. } => "the stored leaf hash does not match the record".into(),
                        NodeId { level, index } => {
                            format!("stored Merkle node at level {level}, index {index} differs")
                        }
                    },
                );
            }
        }
        match record {
            Err(e) => at(Some(seq), e.to_string()),
            Ok(record) => {
                judge_record(store, seq, &record, &bytes, verified, state, &mut at)?;
                state.apply(&record, &mut changes);
            }
        }
        let operator = state.registry.genesis().map(|g| &g.operator);
        checkpoints.check_due(tree, operator, &mut at);
    }
    Ok(stager.stage(state, changes)?)
}

/// Checks one record that parsed, stored at `seq`: its place, its form, its signatures, the
/// rules, the id index.
fn judge_record<S: Store>(
    store: &S,
    seq: Seq,
    record: &Record,
    bytes: &[u8],
    verified: Option<Result<(), crate::event::EventError>>,
    state: &Projections,
    at: &mut impl FnMut(Option<Seq>, String),
) -> Result<(), LedgerError> {
    if record.seq != seq {
        at(Some(seq), format!("the record stored here says seq {}", record.seq));
    }
    if record.canonical() != bytes {
        at(Some(seq), "the stored record is not in canonical form".into());
    }
    match verified.expect("verified when the record read") {
        Err(e) => at(Some(seq), format!("event does not verify: {e}")),
        Ok(()) => {
            if let Err(e) = rules::check(record, state) {
                at(Some(seq), format!("the rules refuse this event: {e}"));
            }
            if store.seq_of(&record.event.id())? != Some(seq) {
                at(Some(seq), "the event-id index does not point at this record".into());
            }
        }
    }
    Ok(())
}

/// The stored checkpoints, read a chunk's worth at a time and checked in order of size as the
/// recomputed tree reaches each one.
struct Checkpoints {
    cursor: CheckpointCursor,
    /// The number of records the log says it holds.
    len: u64,
}

impl Checkpoints {
    /// Checks every checkpoint of the tree's size, now that the tree has it.
    fn check_due(&mut self, tree: &Frontier, operator: Option<&Did>, at: &mut impl FnMut(Option<Seq>, String)) {
        while let Some((size, text)) = self.cursor.peek().filter(|(size, _)| *size == tree.size()) {
            check_checkpoint(*size, text, operator, Some(tree.root()), self.len, at);
            self.cursor.take();
        }
    }
}

/// Checks one stored checkpoint: signed by the operator, of the size it is stored under, and
/// with `root`, the recomputed tree's root at that size (`None`: the log never reached it).
fn check_checkpoint(
    size: u64,
    text: &str,
    operator: Option<&Did>,
    root: Option<Hash32>,
    records: u64,
    at: &mut impl FnMut(Option<Seq>, String),
) {
    let Some(operator) = operator else {
        return at(None, format!("checkpoint of size {size} on a log without genesis"));
    };
    match (Checkpoint::verify(text, operator), root) {
        (Err(e), _) => at(Some(size.saturating_sub(1)), format!("checkpoint of size {size}: {e}")),
        (Ok(c), root) if c.size != size || root.is_none() => {
            at(None, format!("checkpoint stored as size {size} says size {} of {records} records", c.size))
        }
        (Ok(c), root) => {
            if root != Some(c.root) {
                let what = format!("checkpoint of size {size} does not match the log's tree at that size");
                at(Some(size.saturating_sub(1)), what);
            }
        }
    }
}

impl<S: Store> Ledger<S> {
    /// Recomputes the tree and every projection from the log; see [`audit`].
    pub fn audit(&self) -> Result<AuditReport, LedgerError> {
        audit(self, |_| {})
    }

    /// The check a server makes before it starts: the latest checkpoint is signed by the log's
    /// operator, and every stored record, hashed again, gives the root it commits to, as do the
    /// stored Merkle nodes the next append will build on. Much cheaper than [`audit`] (no
    /// signatures or projections), it catches a flipped byte in any record or frontier node, and a
    /// log cut short or grown behind the checkpoint's back. Returns the size checked.
    pub fn check_against_checkpoint(&self) -> Result<u64, LedgerError> {
        let mismatch = |why: String| Err(LedgerError::CheckpointMismatch(why));
        let len = self.len();
        let Some((size, text)) = self.store().latest_checkpoint()? else {
            return if len == 0 { Ok(0) } else { mismatch(format!("{len} records and no checkpoint")) };
        };
        let Some(genesis) = self.state().registry.genesis() else {
            return mismatch("a checkpoint but no genesis record".into());
        };
        let checkpoint = match Checkpoint::verify(&text, &genesis.operator) {
            Ok(c) => c,
            Err(e) => return mismatch(format!("checkpoint of size {size}: {e}")),
        };
        if checkpoint.size != len {
            return mismatch(format!("the checkpoint covers {} records, the log holds {len}", checkpoint.size));
        }
        let mut tree = merkle::Frontier::default();
        let mut from = 0;
        loop {
            let chunk = self.store().records(from, AUDIT_CHUNK)?;
            if chunk.is_empty() {
                break;
            }
            from += chunk.len() as u64;
            for bytes in &chunk {
                tree.push(merkle::leaf_hash(bytes));
            }
        }
        if tree.size() != len {
            return mismatch(format!("the log says it holds {len} records, {} were read", tree.size()));
        }
        if tree.root() != checkpoint.root {
            return mismatch(format!(
                "the records hash to root {}, the checkpoint says {}",
                tree.root(),
                checkpoint.root
            ));
        }
        if self.frontier_root() != checkpoint.root {
            return mismatch("the stored Merkle nodes do not give the checkpoint's root".into());
        }
        Ok(len)
    }
}
