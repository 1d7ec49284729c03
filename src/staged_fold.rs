//! A fold of the log into a [`Staging`] (`rebuild`, `audit`), with the writes on a thread of
//! their own: each chunk's changed entries are written while the fold goes on with the next
//! chunk. What is not yet written stays in the projections' overlay, which the fold reads first,
//! so it never reads the staging behind its own writes; the overlay holds at most two chunks'
//! entries, so memory stays bounded.

use std::collections::BTreeSet;
use std::sync::mpsc;

use crate::projection::{Changes, Projections};
use crate::store::{Staging, StoreError};

/// A chunk's changed entries as written to a staging (`None`: deleted).
type Chunk = Vec<(String, Option<Vec<u8>>)>;

/// Hands a fold's chunks of changed entries to the writing thread ([`staged_fold`]).
#[derive(Debug)]
pub struct Stager {
    writes: Option<mpsc::SyncSender<Chunk>>,
    done: mpsc::Receiver<Result<(), StoreError>>,
    /// Whether a write was handed over and not yet waited for.
    writing: bool,
}

impl Stager {
    /// Hands over the entries `changes` names (and the positions) from `state`. Waits for the
    /// chunk handed over before, whose entries then leave the overlay for the bounded caches
    /// unless this chunk changed them again. Fails, handing nothing over, if a read through the
    /// staging failed while folding, or if the write before failed.
    pub fn stage(&mut self, state: &mut Projections, changes: Changes) -> Result<(), StoreError> {
        if let Some(why) = state.take_fault() {
            return Err(StoreError::Backend(why));
        }
        let keys: BTreeSet<String> = changes.keys().clone();
        let entries = state.changed_entries(changes);
        self.wait()?;
        state.stored_except(&keys);
        self.writes
            .as_ref()
            .and_then(|w| w.send(entries).ok())
            .ok_or_else(|| StoreError::Backend("the staging's writer stopped".into()))?;
        self.writing = true;
        Ok(())
    }

    /// Waits for the last chunk handed over: the staging then holds everything staged, and the
    /// overlay is empty.
    pub fn finish(&mut self, state: &mut Projections) -> Result<(), StoreError> {
        self.wait()?;
        state.stored();
        Ok(())
    }

    fn wait(&mut self) -> Result<(), StoreError> {
        if !std::mem::take(&mut self.writing) {
            return Ok(());
        }
        self.done.recv().map_err(|_| StoreError::Backend("the staging's writer stopped".into()))?
    }
}

/// Runs `fold` with a [`Stager`] whose writes to `staging` run on a thread of their own, and
/// waits for them before it returns.
pub fn staged_fold<T, E: From<StoreError>>(
    staging: &dyn Staging,
    fold: impl FnOnce(&mut Stager) -> Result<T, E>,
) -> Result<T, E> {
    std::thread::scope(|scope| {
        let (writes, chunks) = mpsc::sync_channel::<Chunk>(1);
        let (written, done) = mpsc::sync_channel(1);
        scope.spawn(move || {
            for entries in chunks {
                if written.send(staging.write(entries)).is_err() {
                    return;
                }
            }
        });
        let mut stager = Stager { writes: Some(writes), done, writing: false };
        let folded = fold(&mut stager);
        // Whatever the fold's outcome, the write in flight ends before the staging is used.
        let waited = stager.wait();
        stager.writes = None;
        let value = folded?;
        waited?;
        Ok(value)
    })
}
