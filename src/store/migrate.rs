//! Copies a log from one [`Store`] to another (sled → PostgreSQL and back) without changing a
//! byte: the records' stored bytes (so every leaf hash), the signed checkpoints (each committed
//! with exactly the records it covers, as an append would), the Merkle nodes (recomputed from the
//! leaves and compared with the source's), and the projection entries. The target must be empty.
//! Only [`Store`] calls: the caller audits the target afterwards.

use crate::merkle::{self, Frontier, NodeId};
use crate::store::{Batch, NewRecord, Store, StoreError};
use crate::{EventId, Record};

/// How many records go into one target batch at most (checkpoint boundaries cut batches too).
const MIGRATE_CHUNK: usize = 1000;

/// What was copied.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Migrated {
    pub records: u64,
    pub checkpoints: usize,
    pub entries: usize,
}

/// Why a migration stopped. The target may hold a prefix of the log: empty it and run again.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MigrateError {
    #[error("the target already holds {0} records: migrate only into an empty store")]
    TargetNotEmpty(u64),
    #[error("reading the source: {0}")]
    Source(StoreError),
    #[error("writing the target: {0}")]
    Target(StoreError),
    #[error("the source is inconsistent at seq {seq}: {what}")]
    Inconsistent { seq: u64, what: String },
}

/// Copies `from` into the empty `to`, calling `progress` with the records copied so far.
pub fn migrate(from: &dyn Store, to: &dyn Store, mut progress: impl FnMut(u64)) -> Result<Migrated, MigrateError> {
    let existing = to.len().map_err(MigrateError::Target)?;
    if existing > 0 {
        return Err(MigrateError::TargetNotEmpty(existing));
    }
    let len = from.len().map_err(MigrateError::Source)?;
    let checkpoints = from.checkpoints(0, u64::MAX).map_err(MigrateError::Source)?;
    let mut boundaries = checkpoints.iter().peekable();
    let mut frontier = Frontier::default();
    let mut seq = 0;
    while seq < len || boundaries.peek().is_some() {
        // The next batch ends at the next checkpoint's size, or after a chunk.
        let checkpoint = boundaries.next_if(|(size, _)| *size <= seq + MIGRATE_CHUNK as u64).cloned();
        if checkpoint.is_none() && seq >= len {
            let size = boundaries.peek().map_or(0, |(size, _)| *size);
            return Err(MigrateError::Inconsistent {
                seq: len,
                what: format!("a checkpoint of size {size} past the end"),
            });
        }
        let end = checkpoint.as_ref().map_or((seq + MIGRATE_CHUNK as u64).min(len), |(size, _)| *size);
        if end > len {
            return Err(MigrateError::Inconsistent {
                seq: len,
                what: format!("a checkpoint of size {end} past the end"),
            });
        }
        let mut batch = Batch { checkpoint, ..Batch::at(seq) };
        while seq < end {
            let chunk = from.records(seq, (end - seq) as usize).map_err(MigrateError::Source)?;
            if chunk.is_empty() {
                return Err(MigrateError::Inconsistent { seq, what: "the record is missing".into() });
            }
            for bytes in chunk {
                let id = Record::from_stored(&bytes)
                    .map(|r| r.event.id())
                    .map_err(|e| MigrateError::Inconsistent { seq, what: e.to_string() })?;
                batch.nodes.extend(frontier.push(merkle::leaf_hash(&bytes)));
                batch.records.push(NewRecord { seq, id, bytes });
                seq += 1;
            }
        }
        check_nodes(from, &batch.nodes)?;
        check_ids(from, &batch.records)?;
        to.commit(batch).map_err(MigrateError::Target)?;
        progress(seq);
    }
    let entries = from.entries().map_err(MigrateError::Source)?;
    let copied = entries.len();
    to.replace_entries(len, entries).map_err(MigrateError::Target)?;
    Ok(Migrated { records: len, checkpoints: checkpoints.len(), entries: copied })
}

/// The recomputed nodes must be the source's: a log whose tree does not match its records is
/// not copied (audit the source first).
fn check_nodes(from: &dyn Store, nodes: &[(NodeId, crate::id::Hash32)]) -> Result<(), MigrateError> {
    for (id, hash) in nodes {
        if from.node(*id).map_err(MigrateError::Source)? != Some(*hash) {
            let what =
                format!("its stored Merkle node at level {}, index {} differs from the records'", id.level, id.index);
            return Err(MigrateError::Inconsistent { seq: id.index << id.level, what });
        }
    }
    Ok(())
}

/// Every record must be where the source's id index says.
fn check_ids(from: &dyn Store, records: &[NewRecord]) -> Result<(), MigrateError> {
    for record in records {
        let at: Option<u64> = from.seq_of(&record.id).map_err(MigrateError::Source)?;
        if at != Some(record.seq) {
            let id: &EventId = &record.id;
            return Err(MigrateError::Inconsistent {
                seq: record.seq,
                what: format!("the id index puts {id} at {at:?}"),
            });
        }
    }
    Ok(())
}
