//! Authorization, as a pure function: may this event's author sign it, given the projections as
//! of the event's position in the log? The operator (genesis key) registers and suspends issuers;
//! an issuer's active keys issue, revoke, suspend and reinstate its own credentials and manage its
//! keys; a revoked or unknown key signs nothing; a learner's key link is signed by both keys.

use crate::event::{Payload, SignedEvent, StatusChange};
use crate::id::{Did, EventId, Seq};
use crate::projection::registry::Issuer;
use crate::projection::{CredentialState, Projections};

/// Why the rules refuse an event. Each names the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    #[error("kind: the first event of a log must be ledger.genesis")]
    GenesisFirst,
    #[error("kind: this log already has its genesis event")]
    GenesisTwice,
    #[error("author: genesis must be signed by body.operator")]
    GenesisAuthor,
    #[error("author: {author} is not the operator; only the operator may sign {kind}")]
    NotOperator { author: Did, kind: &'static str },
    #[error("author: {author} is not a key of any registered issuer")]
    UnknownKey { author: Did },
    #[error("author: key {author} was revoked at seq {seq} and signs nothing after that")]
    RevokedKey { author: Did, seq: Seq },
    #[error("author: issuer {issuer} was suspended at seq {seq}")]
    IssuerSuspended { issuer: Did, seq: Seq },
    #[error("body.issuer: {issuer} is already registered")]
    IssuerExists { issuer: Did },
    #[error("body.issuer: {issuer} is not a registered issuer")]
    UnknownIssuer { issuer: Did },
    #[error("body.issuer: required when the operator signs {kind}")]
    IssuerRequired { kind: &'static str },
    #[error(
        "body.issuer: {issuer} is not the author's issuer; an issuer manages only its own keys"
    )]
    OtherIssuer { issuer: Did },
    #[error("body.key: {key} is already in use on this ledger")]
    KeyInUse { key: Did },
    #[error("body.key: {key} is not a key of issuer {issuer}")]
    NotIssuersKey { key: Did, issuer: Did },
    #[error("body.key: {key} was already revoked at seq {seq}")]
    KeyAlreadyRevoked { key: Did, seq: Seq },
    #[error("body.credential: no credential {id} on this ledger")]
    UnknownCredential { id: EventId },
    #[error("body.credential: credential {id} was issued by another issuer")]
    OtherIssuersCredential { id: EventId },
    #[error("body.credential: credential {id} is already {state} (seq {seq})")]
    AlreadyInState {
        id: EventId,
        state: &'static str,
        seq: Seq,
    },
    #[error(
        "body.credential: credential {id} is {state}, not suspended; only a suspended credential can be reinstated"
    )]
    NotSuspended { id: EventId, state: &'static str },
    #[error("body.apprenticeship: no apprenticeship {id} started by this issuer")]
    UnknownApprenticeship { id: EventId },
    #[error("body.apprenticeship: apprenticeship {id} was already completed")]
    ApprenticeshipCompleted { id: EventId },
    #[error("body.learner: {learner} is not the learner of apprenticeship {id}")]
    ApprenticeshipLearner { id: EventId, learner: Did },
    #[error("author: a key link must be signed by body.from")]
    LinkAuthor,
    #[error("body.to: a key cannot be linked to itself")]
    LinkToSelf,
    #[error("body.{field}: {key} has already moved to another key")]
    KeyMoved { field: &'static str, key: Did },
    #[error("body.{field}: {key} is an operator or issuer key, not a learner's")]
    NotALearnerKey { field: &'static str, key: Did },
}

/// Checks `event`, which would be the record at `seq`, against the projections as of `seq`.
pub fn check(event: &SignedEvent, seq: Seq, state: &Projections) -> Result<(), RuleError> {
    let author = &event.event.author;
    let payload = &event.event.payload;
    let registry = &state.registry;
    let Some(genesis) = registry.genesis() else {
        return match payload {
            Payload::Genesis(g) if seq == 0 && &g.operator == author => Ok(()),
            Payload::Genesis(_) if seq == 0 => Err(RuleError::GenesisAuthor),
            _ => Err(RuleError::GenesisFirst),
        };
    };
    let operator = author == &genesis.operator;
    let by_operator = || {
        operator
            .then_some(())
            .ok_or_else(|| RuleError::NotOperator {
                author: author.clone(),
                kind: payload.kind(),
            })
    };
    match payload {
        Payload::Genesis(_) => Err(RuleError::GenesisTwice),
        Payload::IssuerRegistered(r) => {
            by_operator()?;
            if registry.issuer(&r.issuer).is_some() {
                return Err(RuleError::IssuerExists {
                    issuer: r.issuer.clone(),
                });
            }
            fresh_key(&r.issuer, state)
        }
        Payload::IssuerSuspended(s) => {
            by_operator()?;
            let issuer = known_issuer(&s.issuer, state)?;
            match issuer.suspended_seq {
                Some(seq) => Err(RuleError::IssuerSuspended {
                    issuer: issuer.did.clone(),
                    seq,
                }),
                None => Ok(()),
            }
        }
        Payload::KeyAdded(k) => {
            let issuer = key_manager(k.issuer.as_ref(), author, operator, payload.kind(), state)?;
            if let Some(seq) = issuer.suspended_seq {
                return Err(RuleError::IssuerSuspended {
                    issuer: issuer.did.clone(),
                    seq,
                });
            }
            fresh_key(&k.key, state)
        }
        Payload::KeyRevoked(k) => {
            let issuer = key_manager(k.issuer.as_ref(), author, operator, payload.kind(), state)?;
            match issuer.key(&k.key) {
                None => Err(RuleError::NotIssuersKey {
                    key: k.key.clone(),
                    issuer: issuer.did.clone(),
                }),
                Some(w) => match w.revoked_seq {
                    Some(seq) => Err(RuleError::KeyAlreadyRevoked {
                        key: k.key.clone(),
                        seq,
                    }),
                    None => Ok(()),
                },
            }
        }
        Payload::CourseCompleted(_)
        | Payload::CertificateAwarded(_)
        | Payload::ApprenticeshipStarted(_) => active_issuer_key(author, state).map(drop),
        Payload::ApprenticeshipCompleted(c) => {
            let issuer = active_issuer_key(author, state)?;
            match c.apprenticeship {
                Some(id) => own_apprenticeship(id, Some(&c.learner), &issuer.did, state),
                None => Ok(()),
            }
        }
        Payload::HoursLogged(h) => {
            let issuer = active_issuer_key(author, state)?;
            own_apprenticeship(h.apprenticeship, None, &issuer.did, state)
        }
        Payload::CredentialRevoked(c) => status_change(c, author, state, |s| match s {
            CredentialState::Revoked => Some("revoked"),
            _ => None,
        }),
        Payload::CredentialSuspended(c) => status_change(c, author, state, |s| match s {
            CredentialState::Active => None,
            other => Some(other.as_str()),
        }),
        Payload::CredentialReinstated(c) => {
            status_change(c, author, state, |_| None)?;
            let current = state.status.credential(&c.credential).map(|s| s.state);
            match current {
                Some(CredentialState::Suspended) => Ok(()),
                other => Err(RuleError::NotSuspended {
                    id: c.credential,
                    state: other.unwrap_or(CredentialState::Active).as_str(),
                }),
            }
        }
        Payload::KeyLinked(link) => {
            if author != &link.from {
                return Err(RuleError::LinkAuthor);
            }
            if link.from == link.to {
                return Err(RuleError::LinkToSelf);
            }
            for (field, key) in [("from", &link.from), ("to", &link.to)] {
                if state.profiles.has_moved(key) {
                    return Err(RuleError::KeyMoved {
                        field,
                        key: key.clone(),
                    });
                }
                if registry.is_known_key(key) {
                    return Err(RuleError::NotALearnerKey {
                        field,
                        key: key.clone(),
                    });
                }
            }
            Ok(())
        }
    }
}

/// The issuer whose active, unsuspended key signed the event.
fn active_issuer_key<'a>(author: &Did, state: &'a Projections) -> Result<&'a Issuer, RuleError> {
    let issuer = state
        .registry
        .issuer_of_key(author)
        .ok_or_else(|| RuleError::UnknownKey {
            author: author.clone(),
        })?;
    if let Some(seq) = issuer.key(author).and_then(|w| w.revoked_seq) {
        return Err(RuleError::RevokedKey {
            author: author.clone(),
            seq,
        });
    }
    if let Some(seq) = issuer.suspended_seq {
        return Err(RuleError::IssuerSuspended {
            issuer: issuer.did.clone(),
            seq,
        });
    }
    Ok(issuer)
}

fn known_issuer<'a>(did: &Did, state: &'a Projections) -> Result<&'a Issuer, RuleError> {
    state
        .registry
        .issuer(did)
        .ok_or_else(|| RuleError::UnknownIssuer {
            issuer: did.clone(),
        })
}

/// The issuer a key event is about, if the author may manage its keys: the operator for any
/// issuer (named), an issuer's active key for its own.
fn key_manager<'a>(
    named: Option<&Did>,
    author: &Did,
    operator: bool,
    kind: &'static str,
    state: &'a Projections,
) -> Result<&'a Issuer, RuleError> {
    if operator {
        let issuer = named.ok_or(RuleError::IssuerRequired { kind })?;
        return known_issuer(issuer, state);
    }
    let own = active_issuer_key(author, state)?;
    match named {
        Some(issuer) if issuer != &own.did => Err(RuleError::OtherIssuer {
            issuer: issuer.clone(),
        }),
        _ => Ok(own),
    }
}

fn fresh_key(key: &Did, state: &Projections) -> Result<(), RuleError> {
    if state.registry.is_known_key(key) {
        return Err(RuleError::KeyInUse { key: key.clone() });
    }
    Ok(())
}

/// A status change by the credential's own issuer; `blocked` says which current state forbids it.
fn status_change(
    change: &StatusChange,
    author: &Did,
    state: &Projections,
    blocked: impl Fn(CredentialState) -> Option<&'static str>,
) -> Result<(), RuleError> {
    let issuer = active_issuer_key(author, state)?;
    let id = change.credential;
    let credential = state
        .status
        .credential(&id)
        .ok_or(RuleError::UnknownCredential { id })?;
    if credential.issuer != issuer.did {
        return Err(RuleError::OtherIssuersCredential { id });
    }
    if credential.state == CredentialState::Revoked || blocked(credential.state).is_some() {
        return Err(RuleError::AlreadyInState {
            id,
            state: credential.state.as_str(),
            seq: credential.decided_seq,
        });
    }
    Ok(())
}

fn own_apprenticeship(
    id: EventId,
    learner: Option<&Did>,
    issuer: &Did,
    state: &Projections,
) -> Result<(), RuleError> {
    let a = state
        .status
        .apprenticeship(&id)
        .filter(|a| &a.issuer == issuer)
        .ok_or(RuleError::UnknownApprenticeship { id })?;
    if a.completed_by.is_some() {
        return Err(RuleError::ApprenticeshipCompleted { id });
    }
    if let Some(learner) = learner {
        let profiles = &state.profiles;
        if profiles.current(learner) != profiles.current(&a.learner) {
            return Err(RuleError::ApprenticeshipLearner {
                id,
                learner: learner.clone(),
            });
        }
    }
    Ok(())
}
