//! Copies a log from one [`Store`] to another (sled → PostgreSQL and back) without changing a
//! byte: the records' stored bytes (so every leaf hash), the signed checkpoints (each committed
//! with exactly the records it covers, as an append would), the Merkle nodes (recomputed from the
//! leaves and compared with the source's), and the projection entries. The target must be empty.
//! Only [`Store`] calls: the caller audits the target afterwards.

use crate::merkle::{self, Frontier, NodeId};
use crate::store::cursor::CheckpointCursor;
use crate::store::{Batch, NewRecord, Store, StoreError, staging};
use crate::{EventId, Record};

/// How many records go into one target batch at most (checkpoint boundaries cut batches too),
/// and how many entries are read at a time.
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

/// Copies `from` into the empty `to`, calling `progress` with the records copied so far. Memory
/// stays bounded: records, checkpoints and entries are read a chunk at a time, and the entries
/// are staged, then swapped in whole.
pub fn migrate(from: &dyn Store, to: &dyn Store, mut progress: impl FnMut(u64)) -> Result<Migrated, MigrateError> {
    let existing = to.len().map_err(MigrateError::Target)?;
    if existing > 0 {
        return Err(MigrateError::TargetNotEmpty(existing));
    }
    let len = from.len().map_err(MigrateError::Source)?;
    let mut checkpoints = CheckpointCursor::default();
    let past_the_end =
        |size: u64| MigrateError::Inconsistent { seq: len, what: format!("a checkpoint of size {size} past the end") };
    let mut frontier = Frontier::default();
    let mut seq: u64 = 0;
    loop {
        // The next batch ends at the next checkpoint's size, or after a chunk.
        checkpoints.read_to(from, seq.saturating_add(MIGRATE_CHUNK as u64)).map_err(MigrateError::Source)?;
        let checkpoint = checkpoints.take();
        if checkpoint.is_none() && seq >= len {
            checkpoints.read_to(from, u64::MAX).map_err(MigrateError::Source)?;
            match checkpoints.take() {
                Some((size, _)) => return Err(past_the_end(size)),
                None => break,
            }
        }
        let end = checkpoint.as_ref().map_or((seq + MIGRATE_CHUNK as u64).min(len), |(size, _)| *size);
        if end > len {
            return Err(past_the_end(end));
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
    let entries = copy_entries(from, to, len)?;
    Ok(Migrated { records: len, checkpoints: checkpoints.count, entries })
}

/// Stages the projection entries a page at a time, then swaps them in whole; returns how many.
fn copy_entries(from: &dyn Store, to: &dyn Store, len: u64) -> Result<usize, MigrateError> {
    let staging = to.staging().map_err(MigrateError::Target)?;
    let (mut after, mut copied) = (None::<String>, 0);
    loop {
        let page = from.entries_after(after.as_deref(), MIGRATE_CHUNK).map_err(MigrateError::Source)?;
        let Some((last, _)) = page.last() else { break };
        (after, copied) = (Some(last.clone()), copied + page.len());
        staging
            .write(page.into_iter().map(|(key, value)| (key, Some(value))).collect())
            .map_err(MigrateError::Target)?;
    }
    staging.swap_in(len, &mut staging::no_catch_up(len)).map_err(MigrateError::Target)?;
    Ok(copied)
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

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::generate::Generator;
    use crate::keys::SecretKey;
    use crate::ledger::Ledger;
    use crate::store::MemoryStore;

    /// A ledger of 1,200 generated events appended in groups of 7 (so a checkpoint every 7
    /// records), with 2,500 more projection entries than its own, on a memory store.
    fn source() -> Ledger<MemoryStore> {
        let start = datetime!(2026-01-01 0:00 UTC);
        let operator = SecretKey::from_seed(&[1; 32]);
        let mut generator = Generator::new(operator.clone(), "migrate.example", 3, start, 40);
        let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
        ledger.sign_checkpoints_with(operator).unwrap();
        ledger.append(generator.genesis().unwrap().canonical(), start).unwrap();
        for chunk in generator.next_chunk(1200).unwrap().chunks(7) {
            let values = chunk.iter().map(|e| e.value().clone()).collect();
            assert!(ledger.append_values(values, start, false).iter().all(Result::is_ok));
        }
        let extra = (0..2500).map(|i| (format!("zz/{i:05}"), Some(vec![i as u8]))).collect();
        ledger.store().commit(Batch { entries: extra, ..Batch::at(ledger.len()) }).unwrap();
        ledger
    }

    #[test]
    fn a_log_is_copied_whole_checkpoints_and_entries_a_chunk_at_a_time() {
        let source = source();
        let from = source.store();
        let to = MemoryStore::new();
        let copied = migrate(from, &to, |_| {}).unwrap();
        let len = from.len().unwrap();
        let checkpoints = from.checkpoints(0, u64::MAX).unwrap();
        let entries = from.entries().unwrap();
        assert!(
            checkpoints.len() > 170 && entries.len() > 2 * MIGRATE_CHUNK,
            "{} {}",
            checkpoints.len(),
            entries.len()
        );
        assert_eq!(copied, Migrated { records: len, checkpoints: checkpoints.len(), entries: entries.len() });
        assert_eq!(to.records(0, usize::MAX).unwrap(), from.records(0, usize::MAX).unwrap());
        assert_eq!(to.checkpoints(0, u64::MAX).unwrap(), checkpoints);
        assert_eq!(to.entries().unwrap(), entries);
        let root = NodeId { level: 10, index: 0 };
        assert_eq!(to.node(root).unwrap(), from.node(root).unwrap());
    }

    #[test]
    fn a_checkpoint_past_the_end_of_the_log_stops_the_copy() {
        let source = source();
        let len = source.len();
        source.store().commit(Batch { checkpoint: Some((len + 3, "later".into())), ..Batch::at(len) }).unwrap();
        let error = migrate(source.store(), &MemoryStore::new(), |_| {}).unwrap_err();
        let expected =
            format!("the source is inconsistent at seq {len}: a checkpoint of size {} past the end", len + 3);
        assert_eq!(error.to_string(), expected);
    }
}
