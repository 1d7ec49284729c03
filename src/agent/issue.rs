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
    // Kept before it is posted; if another claim of the same award kept one first, that one wins.
    let kept = store
        .update_award(award, |e| e.issued.get_or_insert_with(|| issued.clone()).clone())?
        .ok_or_else(|| ClaimError::UnknownAward(award.to_owned()))?;
    if kept.learner != learner.as_str() {
        return Err(ClaimError::OtherLearner(kept.learner));
    }
    Ok(kept)
}

/// Posts every kept credential the ledger does not have yet (after a restart, or while the
/// ledger was down): how many it now has.
pub fn resubmit(store: &AgentStore, link: &dyn LedgerLink) -> Result<usize, StoreError> {
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
