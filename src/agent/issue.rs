//! Exactly once: an award becomes one credential event. At the first claim the agent signs the
//! credential event (with its status lists) for the wallet's did and KEEPS the signed events with
//! the award before it posts them to the ledger; every later attempt (the wallet's retry, a
//! restart, the resubmitter after the ledger was down) posts the SAME events, which the ledger
//! takes idempotently. Only a definite refusal by the ledger (nothing appended) lets the agent
//! sign again. The ledger is reached through [`LedgerLink`], which the binary implements with
//! the `--server` code the CLI uses.

use serde_json::Value;

use super::store::{AgentStore, Issued, StoreError};
use crate::event::Payload;
use crate::id::{Did, EventId};

/// How many times a claim signs again after the ledger refused a status index or a list that
/// changed meanwhile.
const SIGN_TRIES: usize = 8;

/// What the ledger said to a post.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Refused: nothing was appended. `sign_again`: the refusal was of the moment (a status
    /// index taken, a list changed), and events signed anew may pass.
    #[error("the ledger refused the credential: {reason}")]
    Refused { reason: String, sign_again: bool },
    /// Not reached, or the outcome is unknown: the same events must be posted again later.
    #[error("the ledger is not reachable now: {0}")]
    Unavailable(String),
}

/// The ledger, as the agent needs it.
pub trait LedgerLink: Send + Sync {
    /// The credential event of `payload` signed with the issuer's key, with the status list
    /// events that go with it, in the order they are posted (all or none).
    fn sign(&self, payload: Payload) -> Result<Vec<Value>, LinkError>;
    /// The log's origin (for `body.ledger`).
    fn origin(&self) -> Result<String, LinkError>;
    /// Posts signed events, all or none.
    fn append(&self, events: &[Value]) -> Result<(), LinkError>;
    /// The credential's standard form, as the ledger exports it.
    fn credential(&self, id: &EventId) -> Result<Value, LinkError>;
}

/// Why a claim did not give a credential.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error("{0}")]
    Link(#[from] LinkError),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("no award {0}")]
    UnknownAward(String),
    #[error("this award was issued to another key ({0}); present that key's proof")]
    OtherLearner(String),
    #[error("the signed event has no id: {0}")]
    Event(String),
}

/// The credential of `award` for `learner`: signed once, kept, posted (again) until the ledger
/// has it, then read back from the ledger. `uuid` gives the credential's uuid when it is signed.
pub fn claim(
    store: &AgentStore,
    link: &dyn LedgerLink,
    award: &str,
    learner: &Did,
    uuid: impl Fn() -> String,
) -> Result<Value, ClaimError> {
    let _one_at_a_time = store.issuing();
    for attempt in 1..=SIGN_TRIES {
        let issued = signed(store, link, award, learner, &uuid)?;
        match link.append(&issued.events) {
            Ok(()) => {
                store.update_award(award, |e| {
                    if let Some(i) = &mut e.issued {
                        i.appended = true;
                    }
                })?;
                let id: EventId =
                    issued.credential.parse().map_err(|e: crate::id::IdError| ClaimError::Event(e.to_string()))?;
                return Ok(link.credential(&id)?);
            }
            Err(LinkError::Refused { reason, sign_again }) => {
                // Nothing was appended: the kept events are dropped, never posted again.
                store.update_award(award, |e| e.issued = None)?;
                if !(sign_again && attempt < SIGN_TRIES) {
                    return Err(LinkError::Refused { reason, sign_again }.into());
                }
            }
            Err(unavailable) => return Err(unavailable.into()),
        }
    }
    unreachable!("the last try returns")
}

/// The award's kept credential, or a new one signed and kept (durably) before it is returned.
fn signed(
    store: &AgentStore,
    link: &dyn LedgerLink,
    award: &str,
    learner: &Did,
    uuid: &dyn Fn() -> String,
) -> Result<Issued, ClaimError> {
    let entry = store.award(award)?.ok_or_else(|| ClaimError::UnknownAward(award.to_owned()))?;
    if let Some(issued) = entry.issued {
        if issued.learner != learner.as_str() {
            return Err(ClaimError::OtherLearner(issued.learner));
        }
        return Ok(issued);
    }
    let payload = entry.award.payload(learner.clone(), uuid(), &link.origin()?);
    let events = link.sign(payload)?;
    let first = events.first().ok_or_else(|| ClaimError::Event("no events were signed".to_owned()))?;
    let canonical = crate::canonical::to_vec(first).map_err(|e| ClaimError::Event(e.to_string()))?;
    let issued = Issued {
        learner: learner.to_string(),
        credential: EventId::of_canonical(&canonical).to_string(),
        events,
        appended: false,
    };
    // Kept (durably) before it is posted.
    store.update_award(award, |e| e.issued = Some(issued.clone()))?;
    Ok(issued)
}

/// Posts every kept credential the ledger does not have yet (after a restart, or while the
/// ledger was down): how many it now has.
pub fn resubmit(store: &AgentStore, link: &dyn LedgerLink) -> Result<usize, StoreError> {
    let _one_at_a_time = store.issuing();
    let mut posted = 0;
    for entry in store.awards()? {
        let Some(issued) = entry.issued.filter(|i| !i.appended) else { continue };
        match link.append(&issued.events) {
            Ok(()) => {
                store.update_award(&entry.award.id, |e| {
                    if let Some(i) = &mut e.issued {
                        i.appended = true;
                    }
                })?;
                posted += 1;
            }
            Err(LinkError::Refused { reason, .. }) => {
                tracing::warn!(award = %entry.award.id, "the ledger refused a kept credential; it is dropped and signed again at the next claim: {reason}");
                store.update_award(&entry.award.id, |e| e.issued = None)?;
            }
            Err(LinkError::Unavailable(why)) => {
                tracing::info!("the ledger is not reachable; kept credentials wait: {why}");
                break;
            }
        }
    }
    Ok(posted)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;
    use crate::agent::import::{self, Award};
    use crate::event::Timestamp;
    use crate::keys::SecretKey;

    /// A ledger that answers as it is told, and remembers what it was asked.
    #[derive(Default)]
    struct Scripted {
        appends: Mutex<Vec<Result<(), LinkError>>>,
        signed: Mutex<usize>,
        posted: Mutex<Vec<Vec<Value>>>,
    }

    impl LedgerLink for Scripted {
        fn sign(&self, payload: Payload) -> Result<Vec<Value>, LinkError> {
            let mut n = self.signed.lock().unwrap();
            *n += 1;
            Ok(vec![json!({"kind": payload.kind(), "n": *n, "body": serde_json::to_value(&payload).unwrap()})])
        }
        fn origin(&self) -> Result<String, LinkError> {
            Ok("test.example".to_owned())
        }
        fn append(&self, events: &[Value]) -> Result<(), LinkError> {
            self.posted.lock().unwrap().push(events.to_vec());
            let mut script = self.appends.lock().unwrap();
            if script.is_empty() { Ok(()) } else { script.remove(0) }
        }
        fn credential(&self, id: &EventId) -> Result<Value, LinkError> {
            Ok(json!({"id": id.to_string()}))
        }
    }

    fn store_with_award() -> (tempfile::TempDir, AgentStore, Award) {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open(dir.path()).unwrap();
        let text = "student_id,email,kind,title,completed,skills\nS1,a@b.edu,certificate,First Aid,2026-01-01,x:1\n";
        let mut awards = Vec::new();
        import::read(text.as_bytes(), &Default::default(), |_, a| awards.push(a.unwrap())).unwrap();
        let now = Timestamp(time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap());
        store
            .import(awards.clone(), now, |a| {
                Ok(crate::agent::offers::Offer::create(&a.id, [1; 32], None, now, time::Duration::days(1)))
            })
            .unwrap();
        (dir, store, awards.pop().unwrap())
    }

    #[test]
    fn a_claim_while_the_ledger_is_down_posts_the_same_kept_events_later() {
        let (_dir, store, award) = store_with_award();
        let link = Scripted::default();
        link.appends.lock().unwrap().push(Err(LinkError::Unavailable("down".to_owned())));
        let learner = SecretKey::from_seed(&[3; 32]).did().clone();
        let uuid = || "00000000-0000-4000-8000-000000000001".to_owned();

        let first = claim(&store, &link, &award.id, &learner, uuid);
        assert!(matches!(first, Err(ClaimError::Link(LinkError::Unavailable(_)))));
        let kept = store.award(&award.id).unwrap().unwrap().issued.unwrap();
        assert!(!kept.appended);
        // A retry (or the resubmitter after a restart) posts the kept events: never signed again.
        let vc = claim(&store, &link, &award.id, &learner, uuid).unwrap();
        assert_eq!(vc["id"], kept.credential);
        assert_eq!(*link.signed.lock().unwrap(), 1);
        let posted = link.posted.lock().unwrap().clone();
        assert_eq!(posted, [kept.events.clone(), kept.events.clone()]);
        assert!(store.award(&award.id).unwrap().unwrap().issued.unwrap().appended);

        // Another key is refused; the same key gets the same credential.
        let other = SecretKey::from_seed(&[4; 32]).did().clone();
        assert!(matches!(claim(&store, &link, &award.id, &other, uuid), Err(ClaimError::OtherLearner(_))));
        assert_eq!(claim(&store, &link, &award.id, &learner, uuid).unwrap(), vc);
        assert_eq!(*link.signed.lock().unwrap(), 1);
    }

    #[test]
    fn kept_events_are_resubmitted_and_a_refusal_of_the_moment_is_signed_again() {
        let (_dir, store, award) = store_with_award();
        let link = Scripted::default();
        let learner = SecretKey::from_seed(&[3; 32]).did().clone();
        let uuid = || "00000000-0000-4000-8000-000000000001".to_owned();
        link.appends.lock().unwrap().push(Err(LinkError::Unavailable("down".to_owned())));
        assert!(claim(&store, &link, &award.id, &learner, uuid).is_err());
        assert_eq!(resubmit(&store, &link).unwrap(), 1);
        assert_eq!(resubmit(&store, &link).unwrap(), 0, "posted once");
        assert_eq!(*link.signed.lock().unwrap(), 1);

        let (_dir, store, award) = store_with_award();
        let link = Scripted::default();
        let taken = LinkError::Refused { reason: "body.vc.status_index: taken".to_owned(), sign_again: true };
        link.appends.lock().unwrap().push(Err(taken));
        claim(&store, &link, &award.id, &learner, uuid).unwrap();
        assert_eq!(*link.signed.lock().unwrap(), 2);
        let final_refusal = LinkError::Refused { reason: "unknown issuer".to_owned(), sign_again: false };
        let (_dir, store, award) = store_with_award();
        link.appends.lock().unwrap().push(Err(final_refusal));
        assert!(matches!(
            claim(&store, &link, &award.id, &learner, uuid),
            Err(ClaimError::Link(LinkError::Refused { .. }))
        ));
        assert!(store.award(&award.id).unwrap().unwrap().issued.is_none(), "nothing kept that the ledger refused");
    }
}
