//! Authorization, as a pure function: may this event's author sign it, given the projections as
//! of the event's position in the log? The operator (genesis key) registers and suspends issuers;
//! an issuer's active keys issue, revoke, suspend and reinstate its own credentials and manage its
//! keys; a revoked or unknown key signs nothing; a learner's key link is signed by both keys, moves
//! a key that holds a credential or an apprenticeship, and leaves the learner at most
//! [`MAX_LEARNER_KEYS`] keys, so nobody grows the log with links for free. Every event but genesis
//! names the log it is for (`body.ledger`), so none signed for one log is replayed on another. No
//! event is dated more than [`CLOCK_SKEW`] ahead of the ledger's clock when it was recorded.

use time::Duration;

use crate::event::{Payload, StatusChange, StatusListSigned, Timestamp};
use crate::id::{Did, EventId, Seq};
use crate::projection::registry::{Issuer, KeyWindow, Void};
use crate::projection::{CredentialState, Projections, Record};
use crate::status_list::{KeyList, Purpose};

/// The most keys one learner may have had: their earlier keys and the current one.
pub const MAX_LEARNER_KEYS: usize = 16;

/// How far ahead of the ledger's clock (`recorded_at`) an author's `created_at` may be.
pub const CLOCK_SKEW: Duration = Duration::minutes(5);

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
    #[error("author: key {}; it signs nothing from then on", void.describe(author))]
    CompromisedKey { author: Did, void: Void },
    #[error("author: issuer {issuer} was suspended at seq {seq}")]
    IssuerSuspended { issuer: Did, seq: Seq },
    #[error("body.issuer: {issuer} is already registered")]
    IssuerExists { issuer: Did },
    #[error("body.issuer: {issuer} is not a registered issuer")]
    UnknownIssuer { issuer: Did },
    #[error("body.issuer: required when the operator signs {kind}")]
    IssuerRequired { kind: &'static str },
    #[error("body.issuer: {issuer} is not the author's issuer; an issuer manages only its own keys")]
    OtherIssuer { issuer: Did },
    #[error("body.key: {key} is already in use on this ledger")]
    KeyInUse { key: Did },
    #[error("body.key: {key} is not a key of issuer {issuer}")]
    NotIssuersKey { key: Did, issuer: Did },
    #[error("body.key: {key} was already revoked at seq {seq}")]
    KeyAlreadyRevoked { key: Did, seq: Seq },
    #[error(
        "body.compromised_since: {key} is already declared compromised since {since} (seq {seq}); a new declaration must name an earlier time"
    )]
    AlreadyCompromised { key: Did, since: Timestamp, seq: Seq },
    #[error(
        "body.compromised_since: {since} is before {key} was added ({added_at}, seq {seq}); an issuer declares its key compromised from its addition on, only the operator may name an earlier time"
    )]
    CompromiseBeforeKey { key: Did, since: Timestamp, added_at: Timestamp, seq: Seq },
    #[error(
        "body.credential_uuid: {uuid} already names credential {id} on this log; every credential needs a uuid of its own"
    )]
    DuplicateUuid { uuid: String, id: EventId },
    #[error("body.vc.issuer_name: `{got}` is not the issuer's registered name `{registered}`")]
    IssuerName { got: String, registered: String },
    #[error("body.vc.status_index: index {index} of list {list} of key {key} already belongs to credential {id}")]
    DuplicateStatusIndex { key: Did, list: u32, index: u32, id: EventId },
    #[error("body.list: key {key} holds no credential in its list {list}; there is no such list to sign")]
    UnknownStatusList { key: Did, list: u32 },
    #[error(
        "body.proof_value: not key {key}'s eddsa-rdfc-2022 proof of its {purpose} list {list} as the log has it \
         here ({reason}); sign what GET /v1/status-lists/{key}/{purpose}/{list}/unsigned gives"
    )]
    StatusListProof { key: Did, purpose: Purpose, list: u32, reason: String },
    #[error("body.credential: no credential {id} on this ledger")]
    UnknownCredential { id: EventId },
    #[error("body.credential: credential {id} was issued by another issuer")]
    OtherIssuersCredential { id: EventId },
    #[error("body.credential: credential {id} is already {state} (seq {seq})")]
    AlreadyInState { id: EventId, state: &'static str, seq: Seq },
    #[error(
        "body.credential: credential {id} is {state}, not suspended; only a suspended credential can be reinstated"
    )]
    NotSuspended { id: EventId, state: &'static str },
    #[error("body.apprenticeship: no apprenticeship {id} started by this issuer")]
    UnknownApprenticeship { id: EventId },
    #[error("body.apprenticeship: apprenticeship {id} was already completed")]
    ApprenticeshipCompleted { id: EventId },
    #[error("body.apprenticeship: apprenticeship {id} is void: {reason}")]
    ApprenticeshipVoid { id: EventId, reason: String },
    #[error("body.learner: {learner} is not the learner of apprenticeship {id}")]
    ApprenticeshipLearner { id: EventId, learner: Did },
    #[error(
        "created_at: {created_at} is ahead of the ledger's clock ({recorded_at}) by more than {} minutes; the latest accepted is {limit}",
        CLOCK_SKEW.whole_minutes()
    )]
    FromTheFuture { created_at: Timestamp, recorded_at: Timestamp, limit: Timestamp },
    #[error("body.ledger: required: name the log this event is for (`{expected}`)")]
    Unbound { expected: String },
    #[error("body.ledger: this event is for the log `{got}`, not `{expected}`")]
    OtherLedger { expected: String, got: String },
    #[error("author: a key link must be signed by body.from")]
    LinkAuthor,
    #[error("body.to: a key cannot be linked to itself")]
    LinkToSelf,
    #[error("body.{field}: {key} has already moved to another key")]
    KeyMoved { field: &'static str, key: Did },
    #[error("body.{field}: {key} is an operator or issuer key, not a learner's")]
    NotALearnerKey { field: &'static str, key: Did },
    #[error(
        "body.from: {key} holds no credential or apprenticeship on this log; only a learner's key that holds one may be linked"
    )]
    NothingToLink { key: Did },
    #[error(
        "body.to: linking {from} to {to} would give the learner {keys} keys; a learner has at most {} (its earlier keys and the current one)",
        MAX_LEARNER_KEYS
    )]
    TooManyKeys { from: Did, to: Did, keys: usize },
}

impl RuleError {
    /// A stable, machine-readable name for the reason (HTTP problem types, metrics).
    pub fn code(&self) -> &'static str {
        use RuleError::*;
        match self {
            GenesisFirst | GenesisTwice | GenesisAuthor => "genesis",
            NotOperator { .. } => "not-operator",
            UnknownKey { .. } => "unauthorized-issuer",
            RevokedKey { .. } | CompromisedKey { .. } => "revoked-key",
            IssuerSuspended { .. } => "issuer-suspended",
            IssuerExists { .. } => "issuer-exists",
            UnknownIssuer { .. } | IssuerRequired { .. } => "unknown-issuer",
            OtherIssuer { .. } | OtherIssuersCredential { .. } => "other-issuer",
            KeyInUse { .. } => "key-in-use",
            NotIssuersKey { .. } => "unknown-key",
            KeyAlreadyRevoked { .. } | AlreadyCompromised { .. } => "duplicate-key-revocation",
            CompromiseBeforeKey { .. } => "compromised-since",
            DuplicateUuid { .. } => "duplicate-uuid",
            IssuerName { .. } => "issuer-name",
            DuplicateStatusIndex { .. } => "duplicate-status-index",
            UnknownStatusList { .. } => "unknown-status-list",
            StatusListProof { .. } => "status-list-proof",
            UnknownCredential { .. } => "unknown-credential",
            AlreadyInState { state: "revoked", .. } => "duplicate-revocation",
            AlreadyInState { .. } | NotSuspended { .. } => "credential-state",
            UnknownApprenticeship { .. }
            | ApprenticeshipCompleted { .. }
            | ApprenticeshipVoid { .. }
            | ApprenticeshipLearner { .. } => "apprenticeship",
            LinkAuthor
            | LinkToSelf
            | KeyMoved { .. }
            | NotALearnerKey { .. }
            | NothingToLink { .. }
            | TooManyKeys { .. } => "key-link",
            OtherLedger { .. } => "other-ledger",
            Unbound { .. } => "unbound-event",
            FromTheFuture { .. } => "future-event",
        }
    }
}

/// Checks the event of `record` (its place on the log: seq and the ledger's time) against the
/// projections as of that seq.
pub fn check(record: &Record, state: &Projections) -> Result<(), RuleError> {
    let (event, seq, at) = (&record.event, record.seq, record.recorded_at);
    let author = &event.event.author;
    let payload = &event.event.payload;
    let registry = &state.registry;
    not_from_the_future(event.event.created_at, record.recorded_at)?;
    let Some(genesis) = registry.genesis() else {
        return match payload {
            Payload::Genesis(g) if seq == 0 && &g.operator == author => Ok(()),
            Payload::Genesis(_) if seq == 0 => Err(RuleError::GenesisAuthor),
            _ => Err(RuleError::GenesisFirst),
        };
    };
    if !matches!(payload, Payload::Genesis(_)) {
        for_this_log(payload.ledger(), &genesis.origin)?;
    }
    let operator = author == &genesis.operator;
    let by_operator = || {
        operator.then_some(()).ok_or_else(|| RuleError::NotOperator { author: author.clone(), kind: payload.kind() })
    };
    let authorized = match payload {
        Payload::Genesis(_) => Err(RuleError::GenesisTwice),
        Payload::IssuerRegistered(r) => {
            by_operator()?;
            if registry.issuer(&r.issuer).is_some() {
                return Err(RuleError::IssuerExists { issuer: r.issuer.clone() });
            }
            fresh_key(&r.issuer, state)
        }
        Payload::IssuerSuspended(s) => {
            by_operator()?;
            let issuer = known_issuer(&s.issuer, state)?;
            match issuer.suspended_seq {
                Some(seq) => Err(RuleError::IssuerSuspended { issuer: issuer.did.clone(), seq }),
                None => Ok(()),
            }
        }
        Payload::KeyAdded(k) => {
            let issuer = key_manager(k.issuer.as_ref(), author, operator, payload.kind(), at, state)?;
            if let Some(seq) = issuer.suspended_seq {
                return Err(RuleError::IssuerSuspended { issuer: issuer.did.clone(), seq });
            }
            fresh_key(&k.key, state)
        }
        Payload::KeyRevoked(k) => {
            let issuer = key_manager(k.issuer.as_ref(), author, operator, payload.kind(), at, state)?;
            let window = issuer
                .key(&k.key)
                .ok_or_else(|| RuleError::NotIssuersKey { key: k.key.clone(), issuer: issuer.did.clone() })?;
            match k.compromised_since {
                None => key_revocation(window),
                Some(since) => key_declaration(window, since, operator, state),
            }
        }
        Payload::CourseCompleted(_) | Payload::CertificateAwarded(_) | Payload::ApprenticeshipStarted(_) => {
            active_issuer_key(author, at, state).map(drop)
        }
        Payload::ApprenticeshipCompleted(c) => {
            let issuer = active_issuer_key(author, at, state)?;
            match c.apprenticeship {
                Some(id) => own_apprenticeship(id, Some(&c.learner), &issuer.did, state),
                None => Ok(()),
            }
        }
        Payload::HoursLogged(h) => {
            let issuer = active_issuer_key(author, at, state)?;
            own_apprenticeship(h.apprenticeship, None, &issuer.did, state)
        }
        Payload::CredentialRevoked(c) => status_change(c, author, at, state, |s| match s {
            CredentialState::Revoked => Some("revoked"),
            _ => None,
        }),
        Payload::CredentialSuspended(c) => status_change(c, author, at, state, |s| match s {
            CredentialState::Active => None,
            other => Some(other.as_str()),
        }),
        Payload::CredentialReinstated(c) => {
            status_change(c, author, at, state, |_| None)?;
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
                    return Err(RuleError::KeyMoved { field, key: key.clone() });
                }
                if registry.is_known_key(key) {
                    return Err(RuleError::NotALearnerKey { field, key: key.clone() });
                }
            }
            let profiles = &state.profiles;
            // A bundle replays a selection of the log, which may leave out what `from` held; the
            // ledger judged that when it appended the link.
            if state.reflect_all_before(seq) && !profiles.holds_anything(&link.from) {
                return Err(RuleError::NothingToLink { key: link.from.clone() });
            }
            let keys = profiles.key_count(&link.from) + profiles.key_count(&link.to);
            if keys > MAX_LEARNER_KEYS {
                return Err(RuleError::TooManyKeys { from: link.from.clone(), to: link.to.clone(), keys });
            }
            Ok(())
        }
        Payload::StatusListSigned(signed) => signed_list(signed, author, event.event.created_at, seq, state),
    };
    authorized?;
    unique_uuid(payload, state)?;
    standard_form(payload, author, state)
}

/// A form-2 credential names its issuer as registered, and takes an index of its key's status
/// list that no other credential took.
fn standard_form(payload: &Payload, author: &Did, state: &Projections) -> Result<(), RuleError> {
    let Some(form) = payload.standard_form() else { return Ok(()) };
    if let Some(issuer) = state.registry.issuer_of_key(author) {
        if issuer.name != form.issuer_name {
            return Err(RuleError::IssuerName { got: form.issuer_name.clone(), registered: issuer.name.clone() });
        }
    }
    match state.status.by_status_index(author, form.status_list, form.status_index) {
        Some(id) => Err(RuleError::DuplicateStatusIndex {
            key: author.clone(),
            list: form.status_list,
            index: form.status_index,
            id,
        }),
        None => Ok(()),
    }
}

/// A signed status list is signed by a key that is or was an issuer's (a retired key may still
/// attest its lists: what it signs can only be the truth), for one of its lists that holds a
/// credential, and certifies exactly the bits the log implies here. A bundle's selection of a
/// log cannot tell those bits; the ledger judged them when it appended the event.
fn signed_list(
    signed: &StatusListSigned,
    author: &Did,
    created_at: Timestamp,
    seq: Seq,
    state: &Projections,
) -> Result<(), RuleError> {
    if state.registry.issuer_of_key(author).is_none() {
        return Err(RuleError::UnknownKey { author: author.clone() });
    }
    if !state.reflect_all_before(seq) {
        return Ok(());
    }
    if !state.status.has_list(author, signed.list) {
        return Err(RuleError::UnknownStatusList { key: author.clone(), list: signed.list });
    }
    let bits = state.status.list_bits(author, signed.purpose, signed.list);
    let place = KeyList { base: &signed.status_base, key: author, purpose: signed.purpose, list: signed.list };
    place.verify(&bits, &created_at, &signed.proof_value).map_err(|e| RuleError::StatusListProof {
        key: author.clone(),
        purpose: signed.purpose,
        list: signed.list,
        reason: e.to_string(),
    })
}

/// A credential's uuid names no other credential on the log: its `credentialStatus` (by uuid)
/// must answer for it alone.
fn unique_uuid(payload: &Payload, state: &Projections) -> Result<(), RuleError> {
    let Some(uuid) = payload.credential_uuid() else { return Ok(()) };
    match state.status.by_uuid(uuid) {
        Some(id) => Err(RuleError::DuplicateUuid { uuid: uuid.to_owned(), id }),
        None => Ok(()),
    }
}

/// An event names the log it is for (`body.ledger`), and it is this one (`origin`).
fn for_this_log(ledger: Option<&str>, origin: &str) -> Result<(), RuleError> {
    match ledger {
        None => Err(RuleError::Unbound { expected: origin.to_owned() }),
        Some(got) if got != origin => Err(RuleError::OtherLedger { expected: origin.to_owned(), got: got.to_owned() }),
        Some(_) => Ok(()),
    }
}

/// An author's clock may run a little ahead of the ledger's, never more than [`CLOCK_SKEW`].
fn not_from_the_future(created_at: Timestamp, recorded_at: Timestamp) -> Result<(), RuleError> {
    let limit = Timestamp(recorded_at.0 + CLOCK_SKEW);
    if created_at > limit {
        return Err(RuleError::FromTheFuture { created_at, recorded_at, limit });
    }
    Ok(())
}

/// The issuer whose active, unsuspended key signed the event recorded at `at`: a key neither
/// revoked nor void then.
fn active_issuer_key<'a>(author: &Did, at: Timestamp, state: &'a Projections) -> Result<&'a Issuer, RuleError> {
    let issuer =
        state.registry.issuer_of_key(author).ok_or_else(|| RuleError::UnknownKey { author: author.clone() })?;
    if let Some(void) = state.registry.void_act(author, at) {
        return Err(RuleError::CompromisedKey { author: author.clone(), void: void.clone() });
    }
    if let Some(seq) = issuer.key(author).and_then(|w| w.revoked_seq) {
        return Err(RuleError::RevokedKey { author: author.clone(), seq });
    }
    if let Some(seq) = issuer.suspended_seq {
        return Err(RuleError::IssuerSuspended { issuer: issuer.did.clone(), seq });
    }
    Ok(issuer)
}

fn known_issuer<'a>(did: &Did, state: &'a Projections) -> Result<&'a Issuer, RuleError> {
    state.registry.issuer(did).ok_or_else(|| RuleError::UnknownIssuer { issuer: did.clone() })
}

/// The issuer a key event is about, if the author may manage its keys: the operator for any
/// issuer (named), an issuer's active key for its own.
fn key_manager<'a>(
    named: Option<&Did>,
    author: &Did,
    operator: bool,
    kind: &'static str,
    at: Timestamp,
    state: &'a Projections,
) -> Result<&'a Issuer, RuleError> {
    if operator {
        let issuer = named.ok_or(RuleError::IssuerRequired { kind })?;
        return known_issuer(issuer, state);
    }
    let own = active_issuer_key(author, at, state)?;
    match named {
        Some(issuer) if issuer != &own.did => Err(RuleError::OtherIssuer { issuer: issuer.clone() }),
        _ => Ok(own),
    }
}

/// A plain revocation names a key that no standing revocation revoked yet.
fn key_revocation(window: &KeyWindow) -> Result<(), RuleError> {
    match window.revoked_seq {
        Some(seq) => Err(RuleError::KeyAlreadyRevoked { key: window.key.clone(), seq }),
        None => Ok(()),
    }
}

/// A declaration of compromise may follow a plain revocation, or upgrade a standing declaration
/// to an earlier time; an issuer's key declares no time before the key's addition. The operator
/// may name any time (an override): before the addition, or later than an issuer's standing
/// declaration, which it then overrules if that declaration's signer was compromised by then
/// (a thief's rotation reversed); only its own standing declarations bind it.
fn key_declaration(window: &KeyWindow, since: Timestamp, operator: bool, state: &Projections) -> Result<(), RuleError> {
    let binding = window
        .revocations
        .iter()
        .filter(|r| !r.void && (!operator || state.registry.is_operator(&r.signed_by)))
        .filter_map(|r| Some((r.compromised_since?, r.seq)))
        .min();
    if let Some((declared, seq)) = binding {
        if since >= declared {
            return Err(RuleError::AlreadyCompromised { key: window.key.clone(), since: declared, seq });
        }
    }
    if !operator && since < window.added_at {
        return Err(RuleError::CompromiseBeforeKey {
            key: window.key.clone(),
            since,
            added_at: window.added_at,
            seq: window.added_seq,
        });
    }
    Ok(())
}

/// A key new to the ledger: no operator, issuer or learner has used it.
fn fresh_key(key: &Did, state: &Projections) -> Result<(), RuleError> {
    let profiles = &state.profiles;
    if state.registry.is_known_key(key) || profiles.learner(key).is_some() || profiles.has_moved(key) {
        return Err(RuleError::KeyInUse { key: key.clone() });
    }
    Ok(())
}

/// A status change by the credential's own issuer; `blocked` says which current state forbids it.
fn status_change(
    change: &StatusChange,
    author: &Did,
    at: Timestamp,
    state: &Projections,
    blocked: impl Fn(CredentialState) -> Option<&'static str>,
) -> Result<(), RuleError> {
    let issuer = active_issuer_key(author, at, state)?;
    let id = change.credential;
    let credential = state.status.credential(&id).ok_or(RuleError::UnknownCredential { id })?;
    if credential.issuer != issuer.did {
        return Err(RuleError::OtherIssuersCredential { id });
    }
    if credential.state == CredentialState::Revoked || blocked(credential.state).is_some() {
        return Err(RuleError::AlreadyInState { id, state: credential.state.as_str(), seq: credential.decided_seq });
    }
    Ok(())
}

fn own_apprenticeship(id: EventId, learner: Option<&Did>, issuer: &Did, state: &Projections) -> Result<(), RuleError> {
    let a = state
        .status
        .apprenticeship(&id)
        .filter(|a| &a.issuer == issuer)
        .ok_or(RuleError::UnknownApprenticeship { id })?;
    if a.completed_by.is_some() {
        return Err(RuleError::ApprenticeshipCompleted { id });
    }
    if let Some(reason) = &a.voided {
        return Err(RuleError::ApprenticeshipVoid { id, reason: reason.clone() });
    }
    if let Some(learner) = learner {
        let profiles = &state.profiles;
        if profiles.current(learner) != profiles.current(&a.learner) {
            return Err(RuleError::ApprenticeshipLearner { id, learner: learner.clone() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! `check` against projections built by appending signed events to a memory ledger.

    use time::OffsetDateTime;
    use time::macros::datetime;

    use super::*;
    use crate::event::{
        ApprenticeshipCompleted, ApprenticeshipStarted, CertificateAwarded, CourseCompleted, Event, Genesis,
        HoursLogged, IssuerCategory, IssuerRegistered, IssuerSuspended, KeyAdded, KeyLinked, KeyRevoked, SignedEvent,
        Skill, StandardForm, Timestamp,
    };
    use crate::id::Hash32;
    use crate::keys::SecretKey;
    use crate::ledger::Ledger;
    use crate::status_list::Bitstring;
    use crate::store::MemoryStore;

    const NOW: OffsetDateTime = datetime!(2026-05-01 12:00 UTC);
    /// The origin of the test log.
    const ORIGIN: &str = "rules.test";

    fn key(n: u8) -> SecretKey {
        let mut seed = [0x3c; 32];
        seed[0] = n;
        SecretKey::from_seed(&seed)
    }

    fn did(k: &SecretKey) -> Did {
        k.did().clone()
    }

    /// A ledger plus the keys of a small world: the operator, two issuers (`a`, `b`), spare
    /// keys, learners, and a key nobody registered.
    struct World {
        ledger: Ledger<MemoryStore>,
        tick: i64,
        /// The ledger's clock: every record is recorded at it (NOW unless a test moves it on).
        clock: OffsetDateTime,
        operator: SecretKey,
        a: SecretKey,
        b: SecretKey,
        a2: SecretKey,
        spare: SecretKey,
        outsider: SecretKey,
        learner: SecretKey,
        learner2: SecretKey,
        learner3: SecretKey,
    }

    impl World {
        /// An empty ledger.
        fn empty() -> Self {
            World {
                ledger: Ledger::open(MemoryStore::new()).expect("open"),
                tick: 0,
                clock: NOW,
                operator: key(0),
                a: key(1),
                b: key(2),
                a2: key(3),
                spare: key(4),
                outsider: key(9),
                learner: key(10),
                learner2: key(11),
                learner3: key(12),
            }
        }

        /// Genesis only.
        fn genesis() -> Self {
            let mut w = World::empty();
            let genesis = w.genesis_event(0);
            w.append(&genesis);
            w
        }

        /// Genesis, and issuers `a` and `b` registered.
        fn new() -> Self {
            let mut w = World::genesis();
            for issuer in [did(&w.a), did(&w.b)] {
                w.accept(0, registered(issuer));
            }
            w
        }

        fn keys(&self, k: usize) -> &SecretKey {
            match k {
                OPERATOR => &self.operator,
                A => &self.a,
                B => &self.b,
                A2 => &self.a2,
                SPARE => &self.spare,
                OUTSIDER => &self.outsider,
                LEARNER => &self.learner,
                LEARNER2 => &self.learner2,
                LEARNER3 => &self.learner3,
                _ => unreachable!("no key {k}"),
            }
        }

        /// A distinct `created_at` for each event, all before NOW, when the ledger records them.
        fn at(&mut self) -> Timestamp {
            self.tick += 1;
            Timestamp(NOW - time::Duration::hours(1) + time::Duration::seconds(self.tick))
        }

        /// Signs `payload`, for this log, with key `k` (see [`World::keys`]).
        fn sign(&mut self, k: usize, payload: Payload) -> SignedEvent {
            self.sign_as_is(k, payload.for_ledger(ORIGIN))
        }

        /// Signs `payload` with key `k`, naming whatever log it names.
        fn sign_as_is(&mut self, k: usize, payload: Payload) -> SignedEvent {
            let at = self.at();
            let signer = self.keys(k);
            Event::new(did(signer), at, payload).sign(signer, None).expect("valid shape")
        }

        /// A key link authored by `author`, from `from` to `to`, co-signed by `to`.
        fn link(&mut self, author: usize, from: usize, to: usize) -> SignedEvent {
            let at = self.at();
            let payload = Payload::KeyLinked(KeyLinked {
                from: did(self.keys(from)),
                to: did(self.keys(to)),
                to_sig: String::new(),
                ledger: Some(ORIGIN.into()),
            });
            Event::new(did(self.keys(author)), at, payload)
                .sign(self.keys(author), Some(self.keys(to)))
                .expect("valid shape")
        }

        /// A key link from `from` to `to`, signed by both.
        fn link_keys(&mut self, from: &SecretKey, to: &SecretKey) -> SignedEvent {
            let at = self.at();
            let payload = Payload::KeyLinked(KeyLinked {
                from: did(from),
                to: did(to),
                to_sig: String::new(),
                ledger: Some(ORIGIN.into()),
            });
            Event::new(did(from), at, payload).sign(from, Some(to)).expect("valid shape")
        }

        fn genesis_event(&mut self, k: usize) -> SignedEvent {
            let operator = did(&self.operator);
            self.sign(k, Payload::Genesis(Genesis { origin: ORIGIN.into(), operator }))
        }

        /// Checks `event` as the next record, recorded at the ledger's clock.
        fn check(&self, event: &SignedEvent) -> Result<(), RuleError> {
            check(&record(event, self.ledger.len(), self.clock), self.ledger.state())
        }

        /// Appends an event the rules accept; returns its id.
        fn append(&mut self, event: &SignedEvent) -> EventId {
            assert_eq!(self.check(event), Ok(()), "{:?}", event.event.payload);
            let appended = self.ledger.append(event.canonical(), self.clock).expect("appended");
            assert!(appended.new);
            appended.id
        }

        /// Signs, checks and appends.
        fn accept(&mut self, k: usize, payload: Payload) -> EventId {
            let event = self.sign(k, payload);
            self.append(&event)
        }

        /// Checks without appending.
        fn try_sign(&mut self, k: usize, payload: Payload) -> Result<(), RuleError> {
            let event = self.sign(k, payload);
            self.check(&event)
        }

        fn course(&mut self, issuer: usize, learner: usize) -> EventId {
            let learner = did(self.keys(learner));
            self.accept(issuer, course(learner))
        }

        fn course_to(&mut self, issuer: usize, learner: &Did) -> EventId {
            self.accept(issuer, course(learner.clone()))
        }

        fn state_of(&self, id: &EventId) -> CredentialState {
            self.ledger.state().status.credential(id).expect("credential").state
        }
    }

    fn record(event: &SignedEvent, seq: Seq, recorded_at: OffsetDateTime) -> Record {
        Record { seq, recorded_at: Timestamp::whole_seconds(recorded_at), event: event.clone() }
    }

    /// The public URL form-2 credentials and signed lists of these tests name.
    const BASE: &str = "https://ledger.rules.test";

    impl World {
        /// A `status_list.signed` by key `k` of its list `list` for `purpose`, certifying `bits`.
        fn list_signed(&mut self, k: usize, purpose: Purpose, list: u32, bits: &Bitstring) -> SignedEvent {
            let (at, signer) = (self.at(), self.keys(k).clone());
            let place = KeyList { base: BASE, key: signer.did(), purpose, list };
            let proof_value = place.sign(bits, &at, &signer).expect("signs");
            let payload = Payload::StatusListSigned(StatusListSigned {
                status_base: BASE.into(),
                purpose,
                list,
                proof_value,
                ledger: Some(ORIGIN.into()),
            });
            Event::new(did(&signer), at, payload).sign(&signer, None).expect("valid shape")
        }

        /// The bits of key `k`'s list `list` for `purpose` the log implies now.
        fn bits(&self, k: usize, purpose: Purpose, list: u32) -> Bitstring {
            self.ledger.state().status.list_bits(self.keys(k).did(), purpose, list)
        }
    }

    /// A form-2 course at `index` of list 0 of its signing key.
    fn form2_course(learner: Did, index: u32) -> Payload {
        course(learner).with_standard_form(Some(StandardForm {
            form: 2,
            issuer_name: "Lakeside Community College".into(),
            status_base: BASE.into(),
            status_list: 0,
            status_index: index,
        }))
    }

    fn registered(issuer: Did) -> Payload {
        Payload::IssuerRegistered(IssuerRegistered {
            issuer,
            name: "Lakeside Community College".into(),
            category: IssuerCategory::College,
            ledger: None,
        })
    }

    /// A uuid no other credential of these tests has.
    fn fresh_uuid() -> String {
        static ISSUED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = ISSUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("3b241101-e2bb-4255-8caf-{n:012x}")
    }

    fn course(learner: Did) -> Payload {
        course_with_uuid(learner, fresh_uuid())
    }

    fn course_with_uuid(learner: Did, credential_uuid: String) -> Payload {
        Payload::CourseCompleted(CourseCompleted {
            credential_uuid,
            learner,
            title: "Intro to Python Programming".into(),
            code: "CIS 121".into(),
            skills: vec![Skill { id: "15-1252.00".into(), label: Some("Software Developers".into()), level: None }],
            credits: 3.0,
            completed_on: "2026-04-30".parse().expect("date"),
            ledger: None,
            vc_proof: None,
            vc: None,
        })
    }

    fn certificate(learner: Did, credential_uuid: String) -> Payload {
        Payload::CertificateAwarded(CertificateAwarded {
            credential_uuid,
            learner,
            title: "Forklift Safety".into(),
            skills: vec![Skill { id: "esco:forklift".into(), label: None, level: None }],
            awarded_on: "2026-04-30".parse().expect("date"),
            valid_until: None,
            ledger: None,
            vc_proof: None,
            vc: None,
        })
    }

    fn started(learner: Did) -> Payload {
        Payload::ApprenticeshipStarted(ApprenticeshipStarted {
            learner,
            title: "Electrician Apprenticeship".into(),
            employer: "Bright Sparks Ltd".into(),
            started_on: "2025-09-01".parse().expect("date"),
            ledger: None,
        })
    }

    fn hours(apprenticeship: EventId) -> Payload {
        Payload::HoursLogged(HoursLogged {
            apprenticeship,
            hours: 160,
            through: "2025-09-30".parse().expect("date"),
            ledger: None,
        })
    }

    fn completed(learner: Did, apprenticeship: Option<EventId>) -> Payload {
        Payload::ApprenticeshipCompleted(ApprenticeshipCompleted {
            credential_uuid: fresh_uuid(),
            learner,
            title: "Electrician Apprenticeship".into(),
            employer: "Bright Sparks Ltd".into(),
            hours: 6000,
            skills: vec![Skill { id: "47-2111.00".into(), label: None, level: None }],
            completed_on: "2026-04-01".parse().expect("date"),
            apprenticeship,
            ledger: None,
            vc_proof: None,
            vc: None,
        })
    }

    fn key_added(issuer: Option<Did>, key: Did) -> Payload {
        Payload::KeyAdded(KeyAdded { issuer, key, ledger: None })
    }

    fn key_revoked(issuer: Option<Did>, key: Did) -> Payload {
        Payload::KeyRevoked(KeyRevoked {
            issuer,
            key,
            reason: "Scheduled key rotation".into(),
            compromised_since: None,
            ledger: None,
        })
    }

    /// A declaration that `key` was compromised since `since`.
    fn declared(issuer: Option<Did>, key: Did, since: OffsetDateTime) -> Payload {
        Payload::KeyRevoked(KeyRevoked {
            issuer,
            key,
            reason: "Key stolen".into(),
            compromised_since: Some(Timestamp(since)),
            ledger: None,
        })
    }

    fn suspend_issuer(issuer: Did) -> Payload {
        Payload::IssuerSuspended(IssuerSuspended { issuer, reason: "Accreditation withdrawn".into(), ledger: None })
    }

    fn change(credential: EventId) -> StatusChange {
        StatusChange { credential, reason: "Issued in error".into(), ledger: None }
    }

    fn revoked(id: EventId) -> Payload {
        Payload::CredentialRevoked(change(id))
    }

    fn suspended(id: EventId) -> Payload {
        Payload::CredentialSuspended(change(id))
    }

    fn reinstated(id: EventId) -> Payload {
        Payload::CredentialReinstated(change(id))
    }

    const OPERATOR: usize = 0;
    const A: usize = 1;
    const B: usize = 2;
    const A2: usize = 3;
    const SPARE: usize = 4;
    const OUTSIDER: usize = 9;
    const LEARNER: usize = 10;
    const LEARNER2: usize = 11;
    const LEARNER3: usize = 12;

    // --- genesis -------------------------------------------------------------------------

    #[test]
    fn genesis_on_an_empty_log_passes() {
        let mut w = World::empty();
        let genesis = w.genesis_event(OPERATOR);
        assert_eq!(w.check(&genesis), Ok(()));
    }

    #[test]
    fn genesis_first() {
        let mut w = World::empty();
        let a = did(&w.a);
        let err = w.try_sign(OPERATOR, registered(a));
        assert!(matches!(err, Err(RuleError::GenesisFirst)), "{err:?}");
        // Even a genesis is refused at any seq but 0.
        let genesis = w.genesis_event(OPERATOR);
        let err = check(&record(&genesis, 1, NOW), w.ledger.state());
        assert!(matches!(err, Err(RuleError::GenesisFirst)), "{err:?}");
    }

    #[test]
    fn genesis_author() {
        let mut w = World::empty();
        // Names the operator but is signed by another key.
        let genesis = w.genesis_event(A);
        let err = w.check(&genesis);
        assert!(matches!(err, Err(RuleError::GenesisAuthor)), "{err:?}");
    }

    #[test]
    fn genesis_twice() {
        let mut w = World::genesis();
        let again = w.genesis_event(OPERATOR);
        let err = w.check(&again);
        assert!(matches!(err, Err(RuleError::GenesisTwice)), "{err:?}");
    }

    // --- the operator and issuers -------------------------------------------------------------

    #[test]
    fn not_operator() {
        let mut w = World::new();
        let spare = did(&w.spare);
        let err = w.try_sign(A, registered(spare));
        assert!(
            matches!(&err, Err(RuleError::NotOperator { author, kind: "issuer.registered" }) if author == w.a.did()),
            "{err:?}"
        );
        let b = did(&w.b);
        let err = w.try_sign(A, suspend_issuer(b));
        assert!(matches!(err, Err(RuleError::NotOperator { kind: "issuer.suspended", .. })), "{err:?}");
    }

    #[test]
    fn issuer_exists() {
        let mut w = World::new();
        let a = did(&w.a);
        let err = w.try_sign(OPERATOR, registered(a.clone()));
        assert!(matches!(&err, Err(RuleError::IssuerExists { issuer }) if issuer == &a), "{err:?}");
    }

    #[test]
    fn key_in_use() {
        let mut w = World::new();
        let (a, b, a2) = (did(&w.a), did(&w.b), did(&w.a2));
        // Another issuer's key, the operator's key, a key already added.
        let err = w.try_sign(A, key_added(None, b.clone()));
        assert!(matches!(&err, Err(RuleError::KeyInUse { key }) if key == &b), "{err:?}");
        let operator = did(&w.operator);
        let err = w.try_sign(OPERATOR, registered(operator));
        assert!(matches!(err, Err(RuleError::KeyInUse { .. })), "{err:?}");
        w.accept(A, key_added(None, a2.clone()));
        let err = w.try_sign(OPERATOR, registered(a2.clone()));
        assert!(matches!(&err, Err(RuleError::KeyInUse { key }) if key == &a2), "{err:?}");
        // A revoked key stays in use.
        w.accept(A2, key_revoked(None, a));
        let err = w.try_sign(B, key_added(None, a2));
        assert!(matches!(err, Err(RuleError::KeyInUse { .. })), "{err:?}");
    }

    #[test]
    fn a_learners_key_cannot_become_an_issuers() {
        let mut w = World::new();
        w.course(A, LEARNER);
        let learner = did(w.keys(LEARNER));
        let err = w.try_sign(OPERATOR, registered(learner.clone()));
        assert!(matches!(&err, Err(RuleError::KeyInUse { key }) if key == &learner), "{err:?}");
        let err = w.try_sign(A, key_added(None, learner));
        assert!(matches!(err, Err(RuleError::KeyInUse { .. })), "{err:?}");
    }

    #[test]
    fn unknown_issuer() {
        let mut w = World::new();
        let spare = did(&w.spare);
        let err = w.try_sign(OPERATOR, suspend_issuer(spare.clone()));
        assert!(matches!(&err, Err(RuleError::UnknownIssuer { issuer }) if issuer == &spare), "{err:?}");
        let outsider = did(&w.outsider);
        let err = w.try_sign(OPERATOR, key_added(Some(spare), outsider));
        assert!(matches!(err, Err(RuleError::UnknownIssuer { .. })), "{err:?}");
    }

    #[test]
    fn issuer_required_when_the_operator_manages_keys() {
        let mut w = World::new();
        let spare = did(&w.spare);
        let err = w.try_sign(OPERATOR, key_added(None, spare));
        assert!(matches!(err, Err(RuleError::IssuerRequired { kind: "issuer.key_added" })), "{err:?}");
        let a = did(&w.a);
        let err = w.try_sign(OPERATOR, key_revoked(None, a));
        assert!(matches!(err, Err(RuleError::IssuerRequired { kind: "issuer.key_revoked" })), "{err:?}");
    }

    #[test]
    fn the_operator_may_add_and_revoke_an_issuers_key_naming_it() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.accept(OPERATOR, key_added(Some(a.clone()), a2.clone()));
        let issuer = w.ledger.state().registry.issuer_of_key(&a2).expect("owner");
        assert_eq!(issuer.did, a);
        // The new key signs for its issuer.
        w.course(A2, LEARNER);
        w.accept(OPERATOR, key_revoked(Some(a), a2));
        let err = w.try_sign(A2, course(did(&w.learner)));
        assert!(matches!(err, Err(RuleError::RevokedKey { .. })), "{err:?}");
    }

    #[test]
    fn an_issuer_may_name_itself_when_adding_a_key() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.accept(A, key_added(Some(a), a2));
        w.course(A2, LEARNER);
    }

    #[test]
    fn other_issuer() {
        let mut w = World::new();
        let (b, spare) = (did(&w.b), did(&w.spare));
        let err = w.try_sign(A, key_added(Some(b.clone()), spare));
        assert!(matches!(&err, Err(RuleError::OtherIssuer { issuer }) if issuer == &b), "{err:?}");
        let err = w.try_sign(A, key_revoked(Some(b.clone()), b));
        assert!(matches!(err, Err(RuleError::OtherIssuer { .. })), "{err:?}");
    }

    #[test]
    fn not_issuers_key() {
        let mut w = World::new();
        let b = did(&w.b);
        // Without naming an issuer, A's key manages A's keys only.
        let err = w.try_sign(A, key_revoked(None, b.clone()));
        assert!(
            matches!(&err, Err(RuleError::NotIssuersKey { key, issuer }) if key == &b && issuer == w.a.did()),
            "{err:?}"
        );
        let (a, outsider) = (did(&w.a), did(&w.outsider));
        let err = w.try_sign(OPERATOR, key_revoked(Some(a), outsider));
        assert!(matches!(err, Err(RuleError::NotIssuersKey { .. })), "{err:?}");
    }

    #[test]
    fn key_already_revoked() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.accept(A, key_added(None, a2));
        let seq = w.ledger.len();
        w.accept(A2, key_revoked(None, a.clone()));
        let err = w.try_sign(OPERATOR, key_revoked(Some(a.clone()), a));
        assert!(matches!(err, Err(RuleError::KeyAlreadyRevoked { seq: s, .. }) if s == seq), "{err:?}");
    }

    // --- declarations of compromise ------------------------------------------------------------

    #[test]
    fn a_declaration_may_follow_a_plain_revocation() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.accept(A, key_added(None, a2));
        // The thief revokes the stolen key plainly first, to keep anyone from declaring it.
        w.accept(A, key_revoked(None, a.clone()));
        let err = w.try_sign(A2, key_revoked(None, a.clone()));
        assert!(matches!(err, Err(RuleError::KeyAlreadyRevoked { .. })), "{err:?}");
        w.accept(A2, declared(None, a.clone(), NOW));
        let window = w.ledger.state().registry.window(&a).expect("a's window").clone();
        assert_eq!(window.compromised_since, Some(Timestamp(NOW)));
        assert_eq!(window.void.map(|v| v.from), Some(Timestamp(NOW)));
    }

    #[test]
    fn already_compromised() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.accept(A, key_added(None, a2));
        w.clock = NOW + time::Duration::hours(2);
        let seq = w.ledger.len();
        let first = NOW + time::Duration::hours(1);
        w.accept(A2, declared(None, a.clone(), first));
        // The same time again, or a later one, declares nothing new.
        for since in [first, first + time::Duration::minutes(1)] {
            let err = w.try_sign(A2, declared(None, a.clone(), since));
            assert!(
                matches!(&err, Err(RuleError::AlreadyCompromised { key, since: s, seq: q }) if key == &a && s.0 == first && *q == seq),
                "{err:?}"
            );
            assert_eq!(err.as_ref().unwrap_err().code(), "duplicate-key-revocation");
            assert!(err.unwrap_err().to_string().starts_with("body.compromised_since: "));
        }
        // An earlier time is an upgrade.
        w.accept(A2, declared(None, a.clone(), NOW));
        let window = w.ledger.state().registry.window(&a).expect("a's window");
        assert_eq!(window.compromised_since, Some(Timestamp(NOW)));
        // The operator may name a later time than an issuer's declaration (it would overrule one
        // signed by a key compromised by then); only its own declarations bind it.
        let later = NOW + time::Duration::minutes(30);
        let seq = w.ledger.len();
        w.accept(OPERATOR, declared(Some(a.clone()), a.clone(), later));
        let err = w.try_sign(OPERATOR, declared(Some(a.clone()), a.clone(), later));
        assert!(
            matches!(err, Err(RuleError::AlreadyCompromised { since, seq: q, .. }) if since.0 == later && q == seq),
            "{err:?}"
        );
        w.accept(OPERATOR, declared(Some(a.clone()), a.clone(), later - time::Duration::minutes(1)));
        let window = w.ledger.state().registry.window(&a).expect("a's window");
        assert_eq!(window.compromised_since, Some(Timestamp(NOW)), "the earliest standing declaration decides");
    }

    #[test]
    fn compromise_before_key() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.clock = NOW + time::Duration::hours(1);
        let added_seq = w.ledger.len();
        w.accept(A, key_added(None, a2.clone()));
        // The issuer declares a2 compromised from before it was added: refused, naming the field.
        let before = NOW;
        let err = w.try_sign(A, declared(None, a2.clone(), before));
        assert!(
            matches!(&err, Err(RuleError::CompromiseBeforeKey { key, since, added_at, seq })
                if key == &a2 && since.0 == before && added_at.0 == NOW + time::Duration::hours(1) && *seq == added_seq),
            "{err:?}"
        );
        assert_eq!(err.as_ref().unwrap_err().code(), "compromised-since");
        assert!(err.unwrap_err().to_string().starts_with("body.compromised_since: "));
        // From its addition on is fine; the operator may name any time (an override).
        assert_eq!(w.try_sign(A, declared(None, a2.clone(), NOW + time::Duration::hours(1))), Ok(()));
        w.accept(OPERATOR, declared(Some(a), a2.clone(), datetime!(1970-01-01 00:00 UTC)));
        let window = w.ledger.state().registry.window(&a2).expect("a2's window");
        assert_eq!(window.void.as_ref().map(|v| v.from.0), Some(datetime!(1970-01-01 00:00 UTC)));
    }

    #[test]
    fn compromised_key() {
        let mut w = World::new();
        let (a, a2, spare) = (did(&w.a), did(&w.a2), did(&w.spare));
        let learner = did(&w.learner);
        // The thief, holding a, adds a key of its own (spare) and issues with it...
        w.clock = NOW + time::Duration::hours(1);
        w.accept(A, key_added(None, a2));
        w.clock = NOW + time::Duration::hours(2);
        w.accept(A, key_added(None, spare.clone()));
        w.course(SPARE, LEARNER);
        // ...until the issuer declares a compromised since before that: spare is void from its
        // addition, and signs nothing more, though nothing revoked it.
        w.clock = NOW + time::Duration::hours(3);
        let declared_seq = w.ledger.len();
        w.accept(A2, declared(None, a.clone(), NOW + time::Duration::minutes(90)));
        let window = w.ledger.state().registry.window(&spare).expect("spare's window").clone();
        assert_eq!(window.revoked_seq, None);
        for payload in [course(learner.clone()), started(learner), key_added(None, did(&w.outsider))] {
            let err = w.try_sign(SPARE, payload);
            assert!(
                matches!(&err, Err(RuleError::CompromisedKey { author, void }) if author == &spare && void.declared_seq == declared_seq && void.compromised == a),
                "{err:?}"
            );
            assert_eq!(err.as_ref().unwrap_err().code(), "revoked-key");
            let message = err.unwrap_err().to_string();
            assert!(message.starts_with("author: key ") && message.contains("compromised"), "{message}");
        }
        // The compromised key itself is refused as compromised, not merely revoked.
        let err = w.try_sign(A, course(did(&w.learner2)));
        assert!(matches!(&err, Err(RuleError::CompromisedKey { author, .. }) if author == &a), "{err:?}");
        // The key that declared it goes on.
        w.course(A2, LEARNER);
    }

    #[test]
    fn a_rotations_new_key_is_not_void_through_its_addition() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        // `rotate-key --compromised-since`: the stolen key adds the new one, which declares it.
        let minutes = |m: i64| NOW + time::Duration::minutes(m);
        w.clock = minutes(120);
        w.accept(A, key_added(None, a2.clone()));
        w.accept(A2, declared(None, a.clone(), minutes(60)));
        assert_eq!(w.ledger.state().registry.window(&a2).and_then(|k| k.void.clone()), None);
        w.course(A2, LEARNER);
        // An upgrade by the same key keeps it so; the operator's earlier declaration decides
        // against it: the operator judges the new key the thief's.
        w.accept(A2, declared(None, a.clone(), minutes(30)));
        w.course(A2, LEARNER);
        w.accept(OPERATOR, declared(Some(a.clone()), a, minutes(10)));
        let err = w.try_sign(A2, course(did(&w.learner)));
        assert!(matches!(err, Err(RuleError::CompromisedKey { .. })), "{err:?}");
    }

    // --- who may sign --------------------------------------------------------------------------

    #[test]
    fn unknown_key() {
        let mut w = World::new();
        let learner = did(&w.learner);
        let err = w.try_sign(OUTSIDER, course(learner.clone()));
        assert!(matches!(&err, Err(RuleError::UnknownKey { author }) if author == w.outsider.did()), "{err:?}");
        // The operator is not an issuer.
        let err = w.try_sign(OPERATOR, course(learner.clone()));
        assert!(matches!(err, Err(RuleError::UnknownKey { .. })), "{err:?}");
        // Nor is a learner.
        let err = w.try_sign(LEARNER, started(learner));
        assert!(matches!(err, Err(RuleError::UnknownKey { .. })), "{err:?}");
        let spare = did(&w.spare);
        let err = w.try_sign(OUTSIDER, key_added(None, spare));
        assert!(matches!(err, Err(RuleError::UnknownKey { .. })), "{err:?}");
    }

    #[test]
    fn revoked_key() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.accept(A, key_added(None, a2.clone()));
        let seq = w.ledger.len();
        w.accept(A2, key_revoked(None, a.clone()));
        let learner = did(&w.learner);
        let err = w.try_sign(A, course(learner));
        assert!(matches!(&err, Err(RuleError::RevokedKey { author, seq: s }) if author == &a && *s == seq), "{err:?}");
        // A revoked key manages no keys either.
        let spare = did(&w.spare);
        let err = w.try_sign(A, key_added(None, spare));
        assert!(matches!(err, Err(RuleError::RevokedKey { .. })), "{err:?}");
        let err = w.try_sign(A, key_revoked(None, a2));
        assert!(matches!(err, Err(RuleError::RevokedKey { .. })), "{err:?}");
    }

    #[test]
    fn a_key_may_revoke_itself_and_then_signs_nothing() {
        let mut w = World::new();
        let a = did(&w.a);
        w.accept(A, key_revoked(None, a));
        let learner = did(&w.learner);
        let err = w.try_sign(A, course(learner));
        assert!(matches!(err, Err(RuleError::RevokedKey { .. })), "{err:?}");
    }

    // --- signed status lists ------------------------------------------------------------------

    #[test]
    fn a_signed_list_certifies_exactly_the_logs_bits() {
        let mut w = World::new();
        let learner = did(&w.learner);
        let id = w.accept(A, form2_course(learner, 5));
        let a = did(&w.a);
        let clear = w.bits(A, Purpose::Revocation, 0);
        assert_eq!(clear.get(5), Some(false));
        let first = w.list_signed(A, Purpose::Revocation, 0, &clear);
        w.append(&first);
        assert!(w.ledger.state().status.is_current(&a, Purpose::Revocation, 0, BASE));
        assert!(!w.ledger.state().status.is_current(&a, Purpose::Revocation, 0, "https://elsewhere.test"));
        assert!(!w.ledger.state().status.is_current(&a, Purpose::Suspension, 0, BASE), "never signed");

        w.accept(A, revoked(id));
        assert!(!w.ledger.state().status.is_current(&a, Purpose::Revocation, 0, BASE), "the log moved past it");
        // The bits before the revocation are no longer the truth: refused, naming the field.
        let stale = w.list_signed(A, Purpose::Revocation, 0, &clear);
        let err = w.check(&stale).unwrap_err();
        assert!(matches!(&err, RuleError::StatusListProof { purpose: Purpose::Revocation, list: 0, .. }), "{err:?}");
        assert_eq!(err.code(), "status-list-proof");
        assert!(err.to_string().starts_with("body.proof_value: "), "{err}");
        assert!(err.to_string().contains("/unsigned"), "{err}");
        // A list of the other purpose with the revocation's bits is no truth either.
        let now = w.bits(A, Purpose::Revocation, 0);
        assert_eq!(now.get(5), Some(true));
        let crossed = w.list_signed(A, Purpose::Suspension, 0, &now);
        assert!(matches!(w.check(&crossed), Err(RuleError::StatusListProof { .. })));
        // The bits now are.
        let fresh = w.list_signed(A, Purpose::Revocation, 0, &now);
        let seq = w.ledger.len();
        w.append(&fresh);
        let status = &w.ledger.state().status;
        assert!(status.is_current(&a, Purpose::Revocation, 0, BASE));
        let latest = status.signed_list(&a, Purpose::Revocation, 0).expect("signed");
        assert_eq!((latest.seq, latest.bits, latest.created_at), (seq, now.digest(), fresh.event.created_at));
    }

    #[test]
    fn a_list_is_signed_by_its_key_while_it_holds_a_credential() {
        let mut w = World::new();
        let learner = did(&w.learner);
        w.accept(A, form2_course(learner, 7));
        let empty = w.bits(A, Purpose::Revocation, 0);
        // B's list 0 and A's list 1 hold no credential.
        let of_b = w.list_signed(B, Purpose::Revocation, 0, &empty);
        let err = w.check(&of_b).unwrap_err();
        assert!(matches!(&err, RuleError::UnknownStatusList { list: 0, .. }), "{err:?}");
        assert!(err.to_string().starts_with("body.list: "), "{err}");
        assert_eq!(err.code(), "unknown-status-list");
        let other_list = w.list_signed(A, Purpose::Revocation, 1, &empty);
        assert!(matches!(w.check(&other_list), Err(RuleError::UnknownStatusList { list: 1, .. })));
        // A key of no issuer signs nothing.
        let stranger = w.list_signed(OUTSIDER, Purpose::Revocation, 0, &empty);
        assert!(matches!(w.check(&stranger), Err(RuleError::UnknownKey { .. })));
        // A retired key still attests its own lists: it can only state the truth.
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.accept(A, key_added(None, a2));
        w.accept(A2, key_revoked(None, a));
        let retired = w.list_signed(A, Purpose::Suspension, 0, &empty);
        assert_eq!(w.check(&retired), Ok(()));
    }

    #[test]
    fn a_revoked_keys_earlier_credential_stays_active() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        let earlier = w.course(A, LEARNER);
        w.accept(A, key_added(None, a2));
        w.accept(A2, key_revoked(None, a));
        assert_eq!(w.state_of(&earlier), CredentialState::Active);
        let profile = w.ledger.profile(w.learner.did());
        assert_eq!(profile.credentials.len(), 1);
        assert_eq!(profile.credentials[0].status, CredentialState::Active);
        // The issuer's current key still manages it; the revoked one does not.
        let err = w.try_sign(A, revoked(earlier));
        assert!(matches!(err, Err(RuleError::RevokedKey { .. })), "{err:?}");
        w.accept(A2, suspended(earlier));
        assert_eq!(w.state_of(&earlier), CredentialState::Suspended);
    }

    #[test]
    fn issuer_suspended() {
        let mut w = World::new();
        let (a, a2) = (did(&w.a), did(&w.a2));
        let earlier = w.course(A, LEARNER);
        let seq = w.ledger.len();
        w.accept(OPERATOR, suspend_issuer(a.clone()));
        let learner = did(&w.learner);
        let err = w.try_sign(A, course(learner));
        assert!(
            matches!(&err, Err(RuleError::IssuerSuspended { issuer, seq: s }) if issuer == &a && *s == seq),
            "{err:?}"
        );
        let err = w.try_sign(A, revoked(earlier));
        assert!(matches!(err, Err(RuleError::IssuerSuspended { .. })), "{err:?}");
        // Not even the operator adds keys to a suspended issuer.
        let err = w.try_sign(OPERATOR, key_added(Some(a.clone()), a2));
        assert!(matches!(err, Err(RuleError::IssuerSuspended { .. })), "{err:?}");
        // Suspending twice.
        let err = w.try_sign(OPERATOR, suspend_issuer(a));
        assert!(matches!(err, Err(RuleError::IssuerSuspended { seq: s, .. }) if s == seq), "{err:?}");
        // The other issuer is unaffected.
        w.course(B, LEARNER);
    }

    // --- credential status ---------------------------------------------------------------------

    #[test]
    fn unknown_credential() {
        let mut w = World::new();
        let made_up = EventId(Hash32([7; 32]));
        let err = w.try_sign(A, revoked(made_up));
        assert!(matches!(err, Err(RuleError::UnknownCredential { id }) if id == made_up), "{err:?}");
        // An event that is on the log but is not a credential.
        let learner = did(&w.learner);
        let start = w.accept(A, started(learner));
        let err = w.try_sign(A, suspended(start));
        assert!(matches!(err, Err(RuleError::UnknownCredential { .. })), "{err:?}");
        let err = w.try_sign(A, reinstated(start));
        assert!(matches!(err, Err(RuleError::UnknownCredential { .. })), "{err:?}");
    }

    #[test]
    fn other_issuers_credential() {
        let mut w = World::new();
        let theirs = w.course(B, LEARNER);
        for payload in [revoked(theirs), suspended(theirs), reinstated(theirs)] {
            let err = w.try_sign(A, payload);
            assert!(matches!(err, Err(RuleError::OtherIssuersCredential { id }) if id == theirs), "{err:?}");
        }
    }

    #[test]
    fn already_revoked() {
        let mut w = World::new();
        let id = w.course(A, LEARNER);
        let seq = w.ledger.len();
        w.accept(A, revoked(id));
        assert_eq!(w.state_of(&id), CredentialState::Revoked);
        for payload in [revoked(id), suspended(id), reinstated(id)] {
            let err = w.try_sign(A, payload);
            assert!(
                matches!(err, Err(RuleError::AlreadyInState { state: "revoked", seq: s, .. }) if s == seq),
                "{err:?}"
            );
        }
    }

    #[test]
    fn already_suspended() {
        let mut w = World::new();
        let id = w.course(A, LEARNER);
        let seq = w.ledger.len();
        w.accept(A, suspended(id));
        let err = w.try_sign(A, suspended(id));
        assert!(
            matches!(err, Err(RuleError::AlreadyInState { state: "suspended", seq: s, .. }) if s == seq),
            "{err:?}"
        );
    }

    #[test]
    fn a_suspended_credential_may_be_revoked() {
        let mut w = World::new();
        let id = w.course(A, LEARNER);
        w.accept(A, suspended(id));
        w.accept(A, revoked(id));
        assert_eq!(w.state_of(&id), CredentialState::Revoked);
    }

    #[test]
    fn suspend_reinstate_suspend_again() {
        let mut w = World::new();
        let id = w.course(A, LEARNER);
        w.accept(A, suspended(id));
        w.accept(A, reinstated(id));
        assert_eq!(w.state_of(&id), CredentialState::Active);
        w.accept(A, suspended(id));
        assert_eq!(w.state_of(&id), CredentialState::Suspended);
    }

    #[test]
    fn not_suspended() {
        let mut w = World::new();
        let id = w.course(A, LEARNER);
        let err = w.try_sign(A, reinstated(id));
        assert!(matches!(err, Err(RuleError::NotSuspended { id: i, state: "active" }) if i == id), "{err:?}");
        w.accept(A, suspended(id));
        w.accept(A, reinstated(id));
        let err = w.try_sign(A, reinstated(id));
        assert!(matches!(err, Err(RuleError::NotSuspended { .. })), "{err:?}");
    }

    #[test]
    fn duplicate_uuid() {
        let mut w = World::new();
        let (learner, other) = (did(&w.learner), did(&w.learner2));
        let uuid = fresh_uuid();
        let first = w.accept(A, course_with_uuid(learner.clone(), uuid.clone()));
        // Another issuer, another learner, another kind: the uuid is taken on this log.
        let err = w.try_sign(B, certificate(other.clone(), uuid.clone()));
        assert!(matches!(&err, Err(RuleError::DuplicateUuid { uuid: u, id }) if u == &uuid && *id == first), "{err:?}");
        assert_eq!(err.unwrap_err().code(), "duplicate-uuid");
        // Nor may the same issuer reuse it, even for the same learner.
        let err = w.try_sign(A, course_with_uuid(learner.clone(), uuid.clone()));
        assert!(matches!(err, Err(RuleError::DuplicateUuid { .. })), "{err:?}");
        let mut apprenticeship = completed(other, None);
        if let Payload::ApprenticeshipCompleted(c) = &mut apprenticeship {
            c.credential_uuid = uuid.clone();
        }
        let err = w.try_sign(B, apprenticeship);
        assert!(matches!(err, Err(RuleError::DuplicateUuid { .. })), "{err:?}");
        // The uuid still answers for the first credential only.
        assert_eq!(w.ledger.state().status.by_uuid(&uuid), Some(first));
        // An unregistered key is refused for what it is, before its uuid is looked at.
        let err = w.try_sign(OUTSIDER, course_with_uuid(learner, uuid));
        assert!(matches!(err, Err(RuleError::UnknownKey { .. })), "{err:?}");
    }

    // --- apprenticeships -----------------------------------------------------------------------

    #[test]
    fn unknown_apprenticeship() {
        let mut w = World::new();
        let made_up = EventId(Hash32([9; 32]));
        let err = w.try_sign(A, hours(made_up));
        assert!(matches!(err, Err(RuleError::UnknownApprenticeship { id }) if id == made_up), "{err:?}");
        let learner = did(&w.learner);
        let err = w.try_sign(A, completed(learner.clone(), Some(made_up)));
        assert!(matches!(err, Err(RuleError::UnknownApprenticeship { .. })), "{err:?}");
        // Another issuer's apprenticeship is not this one's to log or complete.
        let theirs = w.accept(B, started(learner.clone()));
        let err = w.try_sign(A, hours(theirs));
        assert!(matches!(err, Err(RuleError::UnknownApprenticeship { .. })), "{err:?}");
        let err = w.try_sign(A, completed(learner.clone(), Some(theirs)));
        assert!(matches!(err, Err(RuleError::UnknownApprenticeship { .. })), "{err:?}");
        // A credential is not an apprenticeship.
        let credential = w.course(A, LEARNER);
        let err = w.try_sign(A, hours(credential));
        assert!(matches!(err, Err(RuleError::UnknownApprenticeship { .. })), "{err:?}");
    }

    #[test]
    fn apprenticeship_void() {
        // Every record here is recorded at NOW: a compromise from NOW on covers them all, one
        // from a second later covers none.
        let revoke = |key: Did, since: OffsetDateTime| {
            Payload::KeyRevoked(KeyRevoked {
                issuer: None,
                key,
                reason: "Key stolen".into(),
                compromised_since: Some(Timestamp(since)),
                ledger: None,
            })
        };
        for (since, void) in [(NOW + time::Duration::seconds(1), false), (NOW, true)] {
            let mut w = World::new();
            let (a, a2) = (did(&w.a), did(&w.a2));
            let learner = did(&w.learner);
            let id = w.accept(A, started(learner.clone()));
            w.accept(A, hours(id));
            w.accept(A, key_added(None, a2));
            w.accept(A2, revoke(a, since));
            let apprenticeship = w.ledger.state().status.apprenticeship(&id).expect("started").clone();
            let in_progress = w.ledger.profile(w.learner.did()).apprenticeships_in_progress;
            if void {
                let reason = apprenticeship.voided.expect("void");
                assert!(reason.contains("compromised"), "{reason}");
                assert_eq!(apprenticeship.hours_logged, 0, "the stolen key's hours no longer count");
                assert!(apprenticeship.logs.iter().all(|l| l.act.void));
                assert!(in_progress.is_empty(), "{in_progress:?}");
                let err = w.try_sign(A2, hours(id));
                assert!(matches!(err, Err(RuleError::ApprenticeshipVoid { id: i, .. }) if i == id), "{err:?}");
                let err = w.try_sign(A2, completed(learner, Some(id)));
                assert!(matches!(err, Err(RuleError::ApprenticeshipVoid { .. })), "{err:?}");
            } else {
                assert_eq!(apprenticeship.voided, None);
                assert_eq!(apprenticeship.hours_logged, 160);
                assert_eq!(in_progress.len(), 1);
                w.accept(A2, hours(id));
                w.accept(A2, completed(learner, Some(id)));
            }
        }
    }

    #[test]
    fn apprenticeship_completed() {
        let mut w = World::new();
        let learner = did(&w.learner);
        let id = w.accept(A, started(learner.clone()));
        w.accept(A, hours(id));
        w.accept(A, completed(learner.clone(), Some(id)));
        let err = w.try_sign(A, hours(id));
        assert!(matches!(err, Err(RuleError::ApprenticeshipCompleted { id: i }) if i == id), "{err:?}");
        let err = w.try_sign(A, completed(learner, Some(id)));
        assert!(matches!(err, Err(RuleError::ApprenticeshipCompleted { .. })), "{err:?}");
    }

    #[test]
    fn apprenticeship_learner() {
        let mut w = World::new();
        let (learner, other) = (did(&w.learner), did(&w.learner2));
        let id = w.accept(A, started(learner));
        let err = w.try_sign(A, completed(other.clone(), Some(id)));
        assert!(
            matches!(&err, Err(RuleError::ApprenticeshipLearner { id: i, learner }) if *i == id && learner == &other),
            "{err:?}"
        );
    }

    #[test]
    fn an_apprenticeship_follows_its_learner_to_a_new_key() {
        let mut w = World::new();
        let learner = did(&w.learner);
        let id = w.accept(A, started(learner));
        let link = w.link(LEARNER, LEARNER, LEARNER2);
        w.append(&link);
        let new_key = did(&w.learner2);
        w.accept(A, completed(new_key, Some(id)));
    }

    #[test]
    fn an_issuers_rotated_key_continues_its_apprenticeship() {
        let mut w = World::new();
        let (a, a2, learner) = (did(&w.a), did(&w.a2), did(&w.learner));
        let id = w.accept(A, started(learner.clone()));
        w.accept(A, key_added(None, a2));
        w.accept(A2, key_revoked(None, a));
        w.accept(A2, hours(id));
        w.accept(A2, completed(learner, Some(id)));
    }

    // --- learner key links ---------------------------------------------------------------------

    #[test]
    fn a_key_link_signed_by_both_keys_passes() {
        let mut w = World::new();
        w.course(A, LEARNER);
        let link = w.link(LEARNER, LEARNER, LEARNER2);
        w.append(&link);
        assert!(w.ledger.state().profiles.has_moved(w.learner.did()));
        let profile = w.ledger.profile(w.learner.did());
        assert_eq!(&profile.learner, w.learner2.did());
        assert_eq!(profile.credentials.len(), 1);
        // The new key may move on again.
        let link = w.link(LEARNER2, LEARNER2, LEARNER3);
        w.append(&link);
    }

    #[test]
    fn link_author() {
        let mut w = World::new();
        // Signed by the new key (or anyone else) instead of the old one.
        let link = w.link(LEARNER2, LEARNER, LEARNER2);
        let err = w.check(&link);
        assert!(matches!(err, Err(RuleError::LinkAuthor)), "{err:?}");
        let link = w.link(LEARNER3, LEARNER, LEARNER2);
        let err = w.check(&link);
        assert!(matches!(err, Err(RuleError::LinkAuthor)), "{err:?}");
    }

    #[test]
    fn link_to_self() {
        let mut w = World::new();
        let link = w.link(LEARNER, LEARNER, LEARNER);
        let err = w.check(&link);
        assert!(matches!(err, Err(RuleError::LinkToSelf)), "{err:?}");
    }

    #[test]
    fn key_moved() {
        let mut w = World::new();
        w.course(A, LEARNER);
        let link = w.link(LEARNER, LEARNER, LEARNER2);
        w.append(&link);
        // The old key cannot move again...
        let again = w.link(LEARNER, LEARNER, LEARNER3);
        let err = w.check(&again);
        assert!(matches!(&err, Err(RuleError::KeyMoved { field: "from", key }) if key == w.learner.did()), "{err:?}");
        // ...nor be moved to.
        let back = w.link(LEARNER3, LEARNER3, LEARNER);
        let err = w.check(&back);
        assert!(matches!(&err, Err(RuleError::KeyMoved { field: "to", key }) if key == w.learner.did()), "{err:?}");
        let cycle = w.link(LEARNER2, LEARNER2, LEARNER);
        let err = w.check(&cycle);
        assert!(matches!(err, Err(RuleError::KeyMoved { field: "to", .. })), "{err:?}");
    }

    #[test]
    fn nothing_to_link() {
        let mut w = World::new();
        // Two keys nobody issued anything to: linking them would grow the log for free.
        let link = w.link(LEARNER, LEARNER, LEARNER2);
        let err = w.check(&link);
        assert!(matches!(&err, Err(RuleError::NothingToLink { key }) if key == w.learner.did()), "{err:?}");
        let message = err.unwrap_err().to_string();
        assert!(message.starts_with("body.from: "), "{message}");
        // Holding something on the new side is not enough: the old key must hold it.
        w.course(A, LEARNER2);
        let err = w.check(&link);
        assert!(matches!(err, Err(RuleError::NothingToLink { .. })), "{err:?}");
        // An apprenticeship started is something; a credential issued after a move follows it.
        let learner = did(&w.learner);
        w.accept(A, started(learner));
        w.append(&link);
        let link = w.link(LEARNER2, LEARNER2, LEARNER3);
        w.append(&link);
    }

    #[test]
    fn a_bundles_selection_cannot_show_what_the_old_key_held() {
        let mut w = World::new();
        w.course(A, LEARNER);
        let link = w.link(LEARNER, LEARNER, LEARNER2);
        w.append(&link);
        let records = w.ledger.records(0, usize::MAX).expect("records");
        let (link, before) = records.split_last().expect("the link");
        let fold = |records: &[&Record]| {
            let mut state = Projections::default();
            for record in records {
                state.apply(record, &mut crate::projection::Changes::default());
            }
            state
        };
        // The log up to the course: as the next record there, the link is refused.
        let registry: Vec<&Record> = before.iter().filter(|r| r.event.event.payload.credential().is_none()).collect();
        let mut selection = fold(&registry);
        let next = Record { seq: selection.applied(), ..link.clone() };
        assert!(matches!(check(&next, &selection), Err(RuleError::NothingToLink { .. })));
        // At its own seq, after the course a bundle's selection left out, the projections know a
        // record is missing and judge the link on the rest.
        assert!(!selection.reflect_all_before(link.seq));
        assert_eq!(check(link, &selection), Ok(()));
        selection.apply(link, &mut crate::projection::Changes::default());
        assert!(!selection.reflect_all_before(link.seq + 1));
        let whole: Vec<&Record> = before.iter().collect();
        assert!(fold(&whole).reflect_all_before(link.seq));
    }

    #[test]
    fn too_many_keys() {
        let mut w = World::new();
        w.course(A, LEARNER);
        // Fifteen moves: the learner's 16 keys are the most a learner may have.
        let chain: Vec<SecretKey> = (100..116).map(key).collect();
        let mut previous = w.learner.clone();
        for next in &chain[..15] {
            let link = w.link_keys(&previous, next);
            w.append(&link);
            previous = next.clone();
        }
        assert_eq!(w.ledger.profile(previous.did()).earlier_keys.len(), 15);
        let link = w.link_keys(&previous, &chain[15]);
        let err = w.check(&link);
        assert!(
            matches!(&err, Err(RuleError::TooManyKeys { from, to, keys: 17 }) if from == previous.did() && to == chain[15].did()),
            "{err:?}"
        );
        assert_eq!(err.as_ref().unwrap_err().code(), "key-link");
        let message = err.unwrap_err().to_string();
        assert!(message.starts_with("body.to: ") && message.contains("at most 16"), "{message}");
    }

    #[test]
    fn too_many_keys_counts_both_sides_of_a_merge() {
        let mut w = World::new();
        // One learner with 10 keys, another with 6, each holding a course.
        let grow = |w: &mut World, keys: std::ops::Range<u8>| {
            let keys: Vec<SecretKey> = keys.map(key).collect();
            w.course_to(A, keys[0].did());
            for pair in keys.windows(2) {
                let link = w.link_keys(&pair[0], &pair[1]);
                w.append(&link);
            }
            keys.last().expect("keys").clone()
        };
        let ten = grow(&mut w, 120..130);
        let six = grow(&mut w, 140..146);
        assert_eq!(w.ledger.state().profiles.key_count(ten.did()), 10);
        // Merging them makes 16 keys: allowed.
        let merge = w.link_keys(&ten, &six);
        assert_eq!(w.check(&merge), Ok(()));
        // With a seventh key on the smaller side first, 17: refused, whichever way.
        let seventh = key(146);
        let link = w.link_keys(&six, &seventh);
        w.append(&link);
        let merge = w.link_keys(&ten, &seventh);
        let err = w.check(&merge);
        assert!(matches!(err, Err(RuleError::TooManyKeys { keys: 17, .. })), "{err:?}");
        let merge = w.link_keys(&seventh, &ten);
        let err = w.check(&merge);
        assert!(matches!(err, Err(RuleError::TooManyKeys { keys: 17, .. })), "{err:?}");
    }

    #[test]
    fn not_a_learner_key() {
        let mut w = World::new();
        let link = w.link(A, A, LEARNER);
        let err = w.check(&link);
        assert!(matches!(&err, Err(RuleError::NotALearnerKey { field: "from", key }) if key == w.a.did()), "{err:?}");
        let link = w.link(LEARNER, LEARNER, OPERATOR);
        let err = w.check(&link);
        assert!(matches!(err, Err(RuleError::NotALearnerKey { field: "to", .. })), "{err:?}");
        // A key that was an issuer's stays one, even after its revocation.
        let (a, a2) = (did(&w.a), did(&w.a2));
        w.accept(A, key_added(None, a2));
        w.accept(A2, key_revoked(None, a));
        let link = w.link(LEARNER, LEARNER, A);
        let err = w.check(&link);
        assert!(matches!(err, Err(RuleError::NotALearnerKey { field: "to", .. })), "{err:?}");
    }

    // --- the log an event is for -------------------------------------------------------------

    #[test]
    fn every_event_names_this_log() {
        let mut w = World::new();
        let (a, a2, b, spare, learner) = (did(&w.a), did(&w.a2), did(&w.b), did(&w.spare), did(&w.learner));
        let credential = w.course(A, LEARNER);
        let start = w.accept(A, started(learner.clone()));
        // One event of every kind but genesis, as its author signs it.
        let every_kind = [
            (OPERATOR, registered(spare)),
            (OPERATOR, suspend_issuer(b)),
            (A, key_added(None, a2)),
            (A, key_revoked(None, a)),
            (A, course(learner.clone())),
            (A, certificate(learner.clone(), fresh_uuid())),
            (A, completed(learner.clone(), Some(start))),
            (A, started(learner.clone())),
            (A, hours(start)),
            (A, revoked(credential)),
            (A, suspended(credential)),
            (A, reinstated(credential)),
            (
                A,
                Payload::StatusListSigned(StatusListSigned {
                    status_base: BASE.into(),
                    purpose: Purpose::Revocation,
                    list: 0,
                    proof_value: "z3FXQqFwbZxKBxGxqt1jNPR5Mz4Jt1".into(),
                    ledger: None,
                }),
            ),
            (
                LEARNER,
                Payload::KeyLinked(KeyLinked {
                    from: learner,
                    to: did(&w.learner2),
                    to_sig: String::new(),
                    ledger: None,
                }),
            ),
        ];
        let mut kinds = std::collections::BTreeSet::new();
        for (k, payload) in every_kind {
            kinds.insert(payload.kind());
            let sign = |w: &mut World, payload: Payload| {
                let (at, signer) = (w.at(), w.keys(k).clone());
                let cosigner = match &payload {
                    Payload::KeyLinked(_) => Some(w.learner2.clone()),
                    _ => None,
                };
                Event::new(did(&signer), at, payload).sign(&signer, cosigner.as_ref()).expect("valid shape")
            };
            let unbound = sign(&mut w, payload.clone());
            let err = w.check(&unbound);
            assert!(matches!(&err, Err(RuleError::Unbound { expected }) if expected == ORIGIN), "{err:?}");
            assert_eq!(err.as_ref().unwrap_err().code(), "unbound-event");
            let message = err.unwrap_err().to_string();
            assert_eq!(message, "body.ledger: required: name the log this event is for (`rules.test`)");

            let elsewhere = sign(&mut w, payload.clone().for_ledger("other.example"));
            let err = w.check(&elsewhere);
            assert!(
                matches!(&err, Err(RuleError::OtherLedger { expected, got }) if expected == ORIGIN && got == "other.example"),
                "{err:?}"
            );
            assert_eq!(err.unwrap_err().code(), "other-ledger");

            // Named for this log, the event is judged on the rest.
            let bound = sign(&mut w, payload.for_ledger(ORIGIN));
            let err = w.check(&bound);
            assert!(!matches!(err, Err(RuleError::Unbound { .. } | RuleError::OtherLedger { .. })), "{err:?}");
        }
        assert_eq!(kinds.len(), crate::schema::KINDS.len() - 1, "every kind but genesis: {kinds:?}");
    }

    // --- the ledger's clock -----------------------------------------------------------------

    #[test]
    fn from_the_future() {
        let w = World::new();
        let learner = did(&w.learner);
        let a = w.a.clone();
        let dated = |at: OffsetDateTime, learner: &Did| {
            let payload = course(learner.clone()).for_ledger(ORIGIN);
            Event::new(did(&a), Timestamp(at), payload).sign(&a, None).expect("valid shape")
        };
        // Up to the skew ahead of the ledger's clock is an author's clock running fast.
        assert_eq!(w.check(&dated(NOW + CLOCK_SKEW, &learner)), Ok(()));
        for ahead in [NOW + CLOCK_SKEW + time::Duration::seconds(1), NOW + time::Duration::days(365)] {
            let err = w.check(&dated(ahead, &learner));
            assert!(
                matches!(&err, Err(RuleError::FromTheFuture { created_at, recorded_at, limit })
                    if created_at.0 == ahead && recorded_at.0 == NOW && limit.0 == NOW + CLOCK_SKEW),
                "{err:?}"
            );
            let message = err.unwrap_err().to_string();
            assert!(message.starts_with("created_at: "), "{message}");
            assert!(message.contains("2026-05-01T12:00:00Z") && message.contains("2026-05-01T12:05:00Z"), "{message}");
        }
        let far: OffsetDateTime = "9999-12-31T23:59:59Z".parse::<Timestamp>().expect("a timestamp").0;
        assert!(matches!(w.check(&dated(far, &learner)), Err(RuleError::FromTheFuture { .. })));
        // The same event is judged by the time it is recorded at, as `audit` and a bundle replay it.
        let early = dated(NOW + time::Duration::hours(1), &learner);
        let seq = w.ledger.len();
        let state = w.ledger.state();
        assert!(matches!(check(&record(&early, seq, NOW), state), Err(RuleError::FromTheFuture { .. })));
        assert_eq!(check(&record(&early, seq, NOW + time::Duration::hours(1)), state), Ok(()));
        // Every kind, genesis included.
        let empty = World::empty();
        let operator = empty.operator.clone();
        let genesis = Payload::Genesis(Genesis { origin: ORIGIN.into(), operator: did(&operator) });
        let genesis = Event::new(did(&operator), Timestamp(NOW + time::Duration::hours(2)), genesis)
            .sign(&operator, None)
            .expect("valid shape");
        assert!(matches!(empty.check(&genesis), Err(RuleError::FromTheFuture { .. })));
    }

    #[test]
    fn check_is_pure() {
        let mut w = World::new();
        let id = w.course(A, LEARNER);
        let event = w.sign(A, revoked(id));
        let before = w.ledger.state().clone();
        assert_eq!(w.check(&event), Ok(()));
        assert_eq!(w.check(&event), Ok(()));
        assert_eq!(w.ledger.state(), &before);
    }
}
