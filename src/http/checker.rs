//! The checks of `POST /v1/events` that do not depend on the log ([`verify_events`]: JSON,
//! schema, signatures, standard proofs), made for many requests at once. A thread takes every
//! request waiting, checks all of their events together on every core, and hands each request's
//! checked events to the [`sequencer`](super::sequencer) with its own reply, so the sequencer can
//! commit one group while the next is checked.
//!
//! One hand-over per group, not per request: checking each request on tokio's blocking pool cost
//! two thread wake-ups per request on top of the sequencer's, and on two cores those wake-ups
//! were a tenth of the server's time. A request whose client has gone (it timed out) before its
//! turn is not checked, to shed load, as the sequencer skips it.

use std::sync::{Arc, OnceLock};

use serde_json::Value;
use tokio::sync::mpsc;

use crate::http::metrics::Metrics;
use crate::http::sequencer::{Job, MAX_GROUP, Reply};
use crate::id::EventId;
use crate::ledger::verify_events;

/// An append to check, then to sequence.
#[derive(Debug)]
pub struct Unchecked {
    pub events: Vec<Value>,
    /// All of the events or none.
    pub atomic: bool,
    pub reply: Reply,
    /// Set once the events are checked: each event's id, `None` for one refused by the checks.
    /// A request that times out reads it to name the events that may still commit; while it is
    /// unset, none of them will (the sequencer skips a job whose client has gone).
    pub ids: Arc<OnceLock<Vec<Option<EventId>>>>,
}

/// Starts the checking thread, handing what it checked to `writer`. It stops when every sender
/// is dropped; nothing joins it: by then every request it was given has had its answer.
pub fn start(writer: mpsc::Sender<Job>, metrics: Arc<Metrics>, queue: usize) -> mpsc::Sender<Unchecked> {
    let (tx, mut rx) = mpsc::channel::<Unchecked>(queue);
    std::thread::Builder::new()
        .name("credledger-checker".into())
        .spawn(move || {
            while let Some(first) = rx.blocking_recv() {
                let mut group = vec![first];
                let mut events = group[0].events.len();
                while events < MAX_GROUP {
                    let Ok(next) = rx.try_recv() else { break };
                    events += next.events.len();
                    group.push(next);
                }
                if check(group, &writer, &metrics).is_err() {
                    return; // The sequencer has stopped: so has the server.
                }
            }
        })
        .expect("spawn the checker thread");
    tx
}

/// Checks every event of `group` at once and hands each request's results to `writer`.
fn check(group: Vec<Unchecked>, writer: &mpsc::Sender<Job>, metrics: &Metrics) -> Result<(), ()> {
    let (gone, group): (Vec<_>, Vec<_>) = group.into_iter().partition(|job| job.reply.is_closed());
    metrics.abandoned(gone.iter().map(|job| job.events.len() as u64).sum());
    let mut jobs = Vec::with_capacity(group.len());
    let mut all = Vec::new();
    for Unchecked { events, atomic, reply, ids } in group {
        jobs.push((events.len(), atomic, reply, ids));
        all.extend(events);
    }
    let mut checked = verify_events(all).into_iter();
    for (size, atomic, reply, ids) in jobs {
        let events: Vec<_> = checked.by_ref().take(size).collect();
        let _ = ids.set(events.iter().map(|e| e.as_ref().ok().map(|e| e.id())).collect());
        writer.blocking_send(Job::Append { events, atomic, reply }).map_err(drop)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use tokio::sync::oneshot;

    use super::*;
    use crate::event::SignedEvent;
    use crate::generate::Generator;
    use crate::keys::SecretKey;

    fn unchecked(
        events: Vec<Value>,
    ) -> (Unchecked, oneshot::Receiver<Vec<Result<crate::Appended, crate::AppendError>>>) {
        let (reply, answer) = oneshot::channel();
        (Unchecked { events, atomic: false, reply, ids: Arc::default() }, answer)
    }

    #[test]
    fn checked_requests_reach_the_sequencer_with_their_ids_and_gone_ones_are_dropped_unchecked() {
        let generator =
            Generator::new(SecretKey::from_seed(&[1; 32]), "check.example", 1, datetime!(2026-01-01 0:00 UTC), 5);
        let genesis = generator.genesis().expect("genesis");
        let (writer, mut sequenced) = mpsc::channel(8);
        let metrics = Arc::new(Metrics::default());

        let (good, _answer) = unchecked(vec![genesis.value().clone(), serde_json::json!({"kind": "nonsense"})]);
        let (gone, answer) = unchecked(vec![genesis.value().clone()]);
        drop(answer);
        let (good_ids, gone_ids) = (good.ids.clone(), gone.ids.clone());
        check(vec![good, gone], &writer, &metrics).expect("the sequencer is there");

        let Ok(Job::Append { events, atomic: false, .. }) = sequenced.try_recv() else { panic!("the first request") };
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].as_ref().map(SignedEvent::id).ok(), Some(genesis.id()));
        assert!(events[1].is_err(), "an event that fails the checks goes on as refused");
        assert_eq!(good_ids.get(), Some(&vec![Some(genesis.id()), None]));
        assert!(sequenced.try_recv().is_err(), "the request whose client had gone is not handed on");
        assert_eq!(gone_ids.get(), None, "nor checked: it will not commit");
        let rendered = metrics.render(0);
        assert!(rendered.contains("credledger_abandoned_total 1"), "{rendered}");
    }
}
