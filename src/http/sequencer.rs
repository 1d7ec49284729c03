//! The one writer: a thread that owns the [`Ledger`] and takes append jobs from every worker
//! through a channel. It drains whatever is waiting into one group (up to a bound) and commits it
//! with one durable write, so concurrent requests share a flush instead of each paying for one.
//! An atomic job (all of its events or none) is committed as a group of its own. A job whose
//! client has gone (its request timed out) before the writer reached it is skipped, to shed load:
//! the client was told it may or may not commit. It also signs what needs the operator key
//! (status statements for bundles), after catching up with the log.

use std::sync::Arc;
use std::thread::JoinHandle;

use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};

use crate::bundle::{Bundle, ShareRequest};
use crate::event::{EventError, SignedEvent};
use crate::http::metrics::Metrics;
use crate::id::Did;
#[cfg(doc)]
use crate::ledger::verify_events;
use crate::ledger::{AppendError, Appended, Ledger};
use crate::share_build::{self, ShareError};
use crate::store::Store;

/// Work for the writer.
#[derive(Debug)]
pub enum Job {
    /// Append these events (their log-independent checks done: [`verify_events`]), each judged
    /// on its own, or with `atomic` all of them or none; reply with one result per event.
    Append { events: Vec<Verified>, atomic: bool, reply: Reply },
    /// Build a learner's bundle, unsigned (the learner signs it where their key is).
    Share { learner: Did, request: ShareRequest, reply: oneshot::Sender<Result<Bundle, ShareError>> },
    /// Commit what is waiting and stop (the server has finished every request).
    Stop,
}

/// An event as [`verify_events`] checked it.
pub type Verified = Result<SignedEvent, EventError>;

/// Where an append job's results go.
pub type Reply = oneshot::Sender<Vec<Result<Appended, AppendError>>>;

/// The most events one group commit takes.
pub const MAX_GROUP: usize = 4096;

/// Starts the writer thread over `ledger`. It runs until it gets [`Job::Stop`] or every sender
/// is dropped.
pub fn start<S: Store + 'static>(
    mut ledger: Ledger<S>,
    metrics: Arc<Metrics>,
    queue: usize,
) -> (mpsc::Sender<Job>, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<Job>(queue);
    let handle = std::thread::Builder::new()
        .name("credledger-sequencer".into())
        .spawn(move || {
            while let Some(first) = rx.blocking_recv() {
                let mut appends = Vec::new();
                let mut waiting = 0;
                let mut next = Some(first);
                while let Some(job) = next.take() {
                    match job {
                        Job::Append { events, atomic: false, reply } => {
                            waiting += events.len();
                            appends.push((events, reply));
                        }
                        Job::Append { events, atomic: true, reply } => {
                            // After what came before, in a group of its own: all or none.
                            commit(&mut ledger, std::mem::take(&mut appends), false, &metrics);
                            waiting = 0;
                            commit(&mut ledger, vec![(events, reply)], true, &metrics);
                        }
                        Job::Stop => {
                            commit(&mut ledger, std::mem::take(&mut appends), false, &metrics);
                            return;
                        }
                        Job::Share { learner, request, reply } => {
                            // Commit what came before, so the bundle sees it.
                            commit(&mut ledger, std::mem::take(&mut appends), false, &metrics);
                            waiting = 0;
                            let _ = reply.send(share_build::build_unsigned(
                                &mut ledger,
                                &learner,
                                &request,
                                OffsetDateTime::now_utc(),
                            ));
                        }
                    }
                    if waiting < MAX_GROUP {
                        next = rx.try_recv().ok();
                    }
                }
                commit(&mut ledger, appends, false, &metrics);
            }
        })
        .expect("spawn the sequencer thread");
    (tx, handle)
}

type Waiting = Vec<(Vec<Verified>, Reply)>;

/// Appends every waiting job's events in one group (`atomic`: all or none) and answers each job
/// with its results. Jobs whose client has gone are skipped.
fn commit<S: Store>(ledger: &mut Ledger<S>, jobs: Waiting, atomic: bool, metrics: &Metrics) {
    let (gone, jobs): (Waiting, Waiting) = jobs.into_iter().partition(|(_, reply)| reply.is_closed());
    metrics.abandoned(gone.iter().map(|(events, _)| events.len() as u64).sum());
    if jobs.is_empty() {
        return;
    }
    let sizes: Vec<usize> = jobs.iter().map(|(events, _)| events.len()).collect();
    let (events, replies): (Vec<Vec<Verified>>, Vec<_>) = jobs.into_iter().unzip();
    let mut results =
        ledger.append_verified(events.into_iter().flatten().collect(), OffsetDateTime::now_utc(), atomic).into_iter();
    let (mut new, mut duplicates) = (0, 0);
    for (size, reply) in sizes.into_iter().zip(replies) {
        let mine: Vec<_> = results.by_ref().take(size).collect();
        // An atomic group with a refusal appended nothing.
        let refused = atomic && mine.iter().any(Result::is_err);
        for r in &mine {
            match r {
                Ok(a) if a.new && refused => {}
                Ok(a) if a.new => new += 1,
                Ok(_) => duplicates += 1,
                Err(e) => metrics.rejected(e.code()),
            }
        }
        // A client that gave up is not an error here.
        let _ = reply.send(mine);
    }
    metrics.appended(new, duplicates);
}
