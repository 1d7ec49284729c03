//! The profile bundle a learner shares, and its offline verification.
//!
//! A bundle holds the chosen credentials' records, the status events about them, and the
//! registry records that prove each issuer key's authority (genesis, registration, key
//! additions and revocations, suspensions), each with an inclusion proof against one
//! operator-signed checkpoint; an operator-signed status statement at that checkpoint's size; and
//! the learner's signature over all of it, optionally bound to one employer's audience and nonce.
//!
//! [`verify`] is pure: bytes, the trusted operator keys and the time in, a [`Report`] out. It
//! replays the bundle's records through the same rules and projections the ledger uses, so an
//! issuer key's authority is judged exactly as the ledger judged it.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use crate::canonical;
use crate::checkpoint::Checkpoint;
use crate::event::{CredentialKind, Skill, Timestamp};
use crate::id::{Did, EventId, Hash32, Seq};
use crate::keys::SecretKey;
use crate::merkle;
use crate::projection::{Changes, CredentialState, Projections, Record};
use crate::rules;

/// The bundle format version.
pub const VERSION: u32 = 1;

/// What a learner shares.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub v: u32,
    pub learner: Did,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub created_at: Timestamp,
    /// The operator-signed checkpoint every inclusion proof leads to.
    pub checkpoint: String,
    /// Records in seq order, each with its inclusion proof.
    pub entries: Vec<Entry>,
    pub status: StatusStatement,
    /// Ed25519 by the learner over JCS(bundle without `learner_sig`), base64url.
    #[serde(default)]
    pub learner_sig: String,
}

/// A record and its inclusion proof in the checkpoint's tree.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: Seq,
    pub record: Value,
    pub inclusion_proof: Vec<Hash32>,
}

/// The operator's signed statement of named credentials' status at one tree size.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusStatement {
    pub v: u32,
    pub origin: String,
    pub size: u64,
    pub issued_at: Timestamp,
    pub credentials: Vec<StatusLine>,
    /// Ed25519 by the operator over JCS(statement without `sig`), base64url.
    #[serde(default)]
    pub sig: String,
}

/// One credential's status and the seq of the event that decided it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusLine {
    pub credential: EventId,
    pub status: CredentialState,
    pub decided_seq: Seq,
}

/// Signs the JCS of `value` without its `field`; returns base64url.
fn sign_without<T: Serialize>(value: &T, field: &str, key: &SecretKey) -> String {
    let message = unsigned_bytes(value, field).expect("bundle parts are JSON");
    key.sign_b64(&message)
}

fn unsigned_bytes<T: Serialize>(value: &T, field: &str) -> Option<Vec<u8>> {
    canonical::to_vec_without(&serde_json::to_value(value).ok()?, field).ok()
}

/// Does `sig` (base64url) verify `key`'s signature over JCS(`value` without `field`)?
fn signed_by<T: Serialize>(value: &T, field: &str, sig: &str, key: &Did) -> bool {
    unsigned_bytes(value, field).is_some_and(|message| crate::keys::verify_b64(key, sig, &message).is_ok())
}

impl StatusStatement {
    /// Signs the statement with the operator's key.
    pub fn signed(mut self, operator: &SecretKey) -> Self {
        self.sig = String::new();
        self.sig = sign_without(&self, "sig", operator);
        self
    }
}

impl Bundle {
    /// Signs the bundle with the learner's key.
    pub fn signed(mut self, learner: &SecretKey) -> Self {
        self.learner_sig = String::new();
        self.learner_sig = sign_without(&self, "learner_sig", learner);
        self
    }
}

/// The operator keys a verifier trusts, by the log origin they sign for (`None`: any origin).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
pub struct Trust {
    pub operators: Vec<TrustedOperator>,
}

/// One trusted operator key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TrustedOperator {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    pub did: Did,
}

impl Trust {
    /// Trust in one operator key for any origin.
    pub fn operator(did: Did) -> Self {
        Trust { operators: vec![TrustedOperator { origin: None, did }] }
    }

    fn keys_for(&self, origin: &str) -> impl Iterator<Item = &Did> {
        self.operators.iter().filter(move |o| o.origin.as_deref().is_none_or(|x| x == origin)).map(|o| &o.did)
    }
}

/// What a verifier requires beyond the signatures and proofs.
#[derive(Clone, Debug, Default)]
pub struct VerifyOptions {
    pub audience: Option<String>,
    pub nonce: Option<String>,
    /// The oldest status statement accepted, measured back from `now`.
    pub max_age: Option<Duration>,
}

/// One named check and how it went.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Check {
    pub name: &'static str,
    pub ok: bool,
    /// `false` for a check that an earlier failure left without grounds to run.
    pub ran: bool,
    pub detail: String,
}

/// Every check `verify` makes, in order; the optional ones only when asked for.
const CHECKS: [&str; 11] = [
    "bundle.format",
    "checkpoint.signature",
    "entries.inclusion",
    "events.signatures",
    "issuer.authority",
    "credentials.status",
    "status.age",
    "learner.holder",
    "learner.signature",
    "request.audience",
    "request.nonce",
];

/// A credential as the verifier saw it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct PresentedCredential {
    pub id: EventId,
    pub seq: Seq,
    pub kind: CredentialKind,
    pub title: String,
    pub issuer: Option<Did>,
    pub issuer_name: Option<String>,
    pub status: Option<CredentialState>,
    pub skills: Vec<Skill>,
    pub completed_on: String,
}

/// A skill and the presented, active credentials that evidence it.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct SkillEvidence {
    pub id: String,
    pub label: String,
    pub evidence: Vec<EventId>,
}

/// The verifier's answer: each check by name, then the verdict.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct Report {
    /// `VALID` only if every check passed.
    pub verdict: &'static str,
    pub learner: Option<Did>,
    pub checks: Vec<Check>,
    pub credentials: Vec<PresentedCredential>,
    pub skills: Vec<SkillEvidence>,
}

impl Report {
    /// Did every check pass?
    pub fn is_valid(&self) -> bool {
        self.verdict == "VALID"
    }

    fn new(
        learner: Option<Did>,
        mut checks: Vec<Check>,
        credentials: Vec<PresentedCredential>,
        options: &VerifyOptions,
    ) -> Self {
        let asked = |name: &str| match name {
            "status.age" => options.max_age.is_some(),
            "request.audience" => options.audience.is_some(),
            "request.nonce" => options.nonce.is_some(),
            _ => true,
        };
        // Checks an earlier failure stopped are listed as not run, never left out.
        for name in CHECKS.into_iter().filter(|n| asked(n)) {
            if !checks.iter().any(|c| c.name == name) {
                let detail = "not run: an earlier check failed".to_owned();
                checks.push(Check { name, ok: false, ran: false, detail });
            }
        }
        checks.sort_by_key(|c| CHECKS.iter().position(|n| *n == c.name));
        let valid = checks.iter().all(|c| c.ok);
        let mut skills: BTreeMap<String, SkillEvidence> = BTreeMap::new();
        for c in credentials.iter().filter(|c| valid && c.status == Some(CredentialState::Active)) {
            for s in &c.skills {
                let entry = skills.entry(s.id.clone()).or_insert_with(|| SkillEvidence {
                    id: s.id.clone(),
                    label: s.label.clone().unwrap_or_else(|| s.id.clone()),
                    evidence: Vec::new(),
                });
                entry.evidence.push(c.id);
            }
        }
        Report {
            verdict: if valid { "VALID" } else { "INVALID" },
            learner,
            checks,
            credentials,
            skills: skills.into_values().collect(),
        }
    }
}

/// Collects checks: one per name, failing with the first reason given.
#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn record(&mut self, name: &'static str, result: Result<String, String>) {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.0.push(Check { name, ok, ran: true, detail });
    }
}

/// Verifies a bundle (JSON bytes) offline against the trusted operator keys.
pub fn verify(bytes: &[u8], trust: &Trust, options: &VerifyOptions, now: OffsetDateTime) -> Report {
    let mut checks = Checks::default();
    let value = canonical::parse_strict(bytes).map_err(|e| e.to_string());
    let bundle = value.as_ref().map_err(Clone::clone).and_then(|value| {
        serde_path_to_error::deserialize::<_, Bundle>(value).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    });
    let bundle = match bundle {
        Ok(b) if b.v == VERSION => b,
        Ok(b) => {
            checks.record("bundle.format", Err(format!("unknown bundle version {}", b.v)));
            return Report::new(None, checks.0, Vec::new(), options);
        }
        Err(e) => {
            checks.record("bundle.format", Err(e));
            return Report::new(None, checks.0, Vec::new(), options);
        }
    };
    checks.record("bundle.format", Ok(format!("{} records", bundle.entries.len())));
    // The learner signed the bundle as sent, so its signature is checked over those bytes.
    let unsigned = value.ok().and_then(|v| canonical::to_vec_without(&v, "learner_sig").ok()).unwrap_or_default();
    let (checks, credentials) = verify_bundle(&bundle, &unsigned, trust, options, now, checks);
    Report::new(Some(bundle.learner.clone()), checks.0, credentials, options)
}

fn verify_bundle(
    bundle: &Bundle,
    unsigned: &[u8],
    trust: &Trust,
    options: &VerifyOptions,
    now: OffsetDateTime,
    mut checks: Checks,
) -> (Checks, Vec<PresentedCredential>) {
    // The checkpoint, signed by a trusted operator.
    let origin = Checkpoint::parse_unverified(&bundle.checkpoint).map(|c| c.origin).unwrap_or_default();
    let signed = trust
        .keys_for(&origin)
        .find_map(|key| Checkpoint::verify(&bundle.checkpoint, key).ok().map(|c| (c, key.clone())));
    let Some((checkpoint, operator)) = signed else {
        let why = match Checkpoint::parse_unverified(&bundle.checkpoint) {
            Err(e) => e.to_string(),
            Ok(c) => format!("checkpoint of `{}` is not signed by a trusted operator key", c.origin),
        };
        checks.record("checkpoint.signature", Err(why));
        return (checks, Vec::new());
    };
    checks.record(
        "checkpoint.signature",
        Ok(format!("`{}` at size {}, signed by {operator}", checkpoint.origin, checkpoint.size)),
    );

    // Every record is in that tree.
    let mut records = Vec::new();
    let mut inclusion =
        Ok(format!("{} records included in the tree of size {}", bundle.entries.len(), checkpoint.size));
    let mut last_seq = None;
    for entry in &bundle.entries {
        let failed = |why: String| Err(format!("entry seq {}: {why}", entry.seq));
        let bytes = match canonical::to_vec(&entry.record) {
            Ok(bytes) => bytes,
            Err(e) => {
                inclusion = failed(e.to_string());
                break;
            }
        };
        let leaf = merkle::leaf_hash(&bytes);
        if last_seq.is_some_and(|last| entry.seq <= last) {
            inclusion = failed("entries are not in increasing seq order".into());
            break;
        }
        last_seq = Some(entry.seq);
        if entry.record.get("seq").and_then(Value::as_u64) != Some(entry.seq) {
            inclusion = failed("the record's seq differs from the entry's".into());
            break;
        }
        if let Err(e) =
            merkle::verify_inclusion(&leaf, entry.seq, checkpoint.size, &entry.inclusion_proof, &checkpoint.root)
        {
            inclusion = failed(e.to_string());
            break;
        }
        match Record::parse(&bytes) {
            Ok(record) => records.push(record),
            Err(e) => {
                inclusion = failed(e.to_string());
                break;
            }
        }
    }
    let included = inclusion.is_ok();
    checks.record("entries.inclusion", inclusion);
    if !included {
        return (checks, Vec::new());
    }

    // Every event's signature, as its author made it, on every core. (`Record::parse` checked the
    // types and every did:key; `reverify` does the rest of `SignedEvent::verify`.)
    let signatures = {
        use rayon::prelude::*;
        let failures: Vec<String> = records
            .par_iter()
            .filter_map(|r| r.event.reverify().err().map(|e| format!("seq {}: {e}", r.seq)))
            .collect();
        // The first failure in seq order, as a sequential check would name it.
        failures.into_iter().next().map_or(Ok(()), Err)
    };
    let signed_ok = signatures.is_ok();
    checks.record("events.signatures", signatures.map(|()| format!("{} event signatures verify", records.len())));
    if !signed_ok {
        return (checks, Vec::new());
    }

    // The records, replayed through the ledger's rules: genesis names this operator, every
    // issuer was registered by it, and every key was authorized when it signed.
    let mut state = Projections::default();
    let mut authority = Ok(String::new());
    for record in &records {
        if let Err(e) = rules::check(record, &state) {
            authority = Err(format!("seq {} ({}): {e}", record.seq, record.event.event.payload.kind()));
            break;
        }
        state.apply(record, &mut Changes::default());
    }
    if authority.is_ok() {
        authority = match state.registry.genesis() {
            Some(g) if g.operator == operator && g.origin == checkpoint.origin => {
                Ok(format!("every signer was authorized at its place in the log of `{}`", g.origin))
            }
            Some(g) => {
                Err(format!("the genesis names operator {} of `{}`, not the checkpoint's signer", g.operator, g.origin))
            }
            None => Err("the bundle does not include the log's genesis record".into()),
        };
    }
    checks.record("issuer.authority", authority);

    let presented: Vec<PresentedCredential> = records
        .iter()
        .filter_map(|r| {
            let c = r.event.event.payload.credential()?;
            let status = state.status.credential(&r.event.id());
            let issuer = status.map(|s| s.issuer.clone());
            Some(PresentedCredential {
                id: r.event.id(),
                seq: r.seq,
                kind: c.kind,
                title: c.title.to_owned(),
                issuer_name: issuer.as_ref().and_then(|i| state.registry.issuer(i)).map(|i| i.name.clone()),
                issuer,
                status: bundle.status.credentials.iter().find(|l| l.credential == r.event.id()).map(|l| l.status),
                skills: c.skills.to_vec(),
                completed_on: c.completed_on.to_string(),
            })
        })
        .collect();

    // The operator's status statement, at the checkpoint's size, covers exactly the credentials
    // presented, and each is active.
    checks.record("credentials.status", check_status(bundle, &checkpoint, &operator, &presented, &state));
    if let Some(max_age) = options.max_age {
        let age = now - bundle.status.issued_at.0;
        let result = if age <= max_age {
            Ok(format!("status issued at {} ({}s ago)", bundle.status.issued_at, age.whole_seconds()))
        } else {
            Err(format!(
                "status issued at {} is older than the {}s allowed",
                bundle.status.issued_at,
                max_age.whole_seconds()
            ))
        };
        checks.record("status.age", result);
    }

    // The credentials were issued to the learner who shares them.
    let holder = presented.iter().try_for_each(|c| {
        let learner = records
            .iter()
            .find(|r| r.seq == c.seq)
            .and_then(|r| r.event.event.payload.credential())
            .map(|v| v.learner.clone());
        match learner {
            Some(l) if state.profiles.current(&l) == bundle.learner => Ok(()),
            Some(l) => Err(format!("credential {} was issued to {l}, not to {}", c.id, bundle.learner)),
            None => Err(format!("credential {} has no learner", c.id)),
        }
    });
    let holder = match holder {
        Ok(()) if presented.is_empty() => Err("the bundle presents no credential".into()),
        Ok(()) => Ok(format!("{} credentials issued to {}", presented.len(), bundle.learner)),
        Err(e) => Err(e),
    };
    checks.record("learner.holder", holder);
    let learner_signed = crate::keys::verify_b64(&bundle.learner, &bundle.learner_sig, unsigned).is_ok();
    checks.record(
        "learner.signature",
        if learner_signed {
            Ok(format!("signed by {}", bundle.learner))
        } else {
            Err(format!("learner_sig is not {}'s signature over this bundle", bundle.learner))
        },
    );

    // Bound to this verifier's request.
    for (name, wanted, got) in
        [("request.audience", &options.audience, &bundle.audience), ("request.nonce", &options.nonce, &bundle.nonce)]
    {
        if let Some(wanted) = wanted {
            let result = match got {
                Some(got) if got == wanted => Ok(format!("`{got}`")),
                Some(got) => Err(format!("bundle is bound to `{got}`, not `{wanted}`")),
                None => Err(format!("bundle is not bound to `{wanted}`")),
            };
            checks.record(name, result);
        }
    }
    (checks, presented)
}

fn check_status(
    bundle: &Bundle,
    checkpoint: &Checkpoint,
    operator: &Did,
    presented: &[PresentedCredential],
    replayed: &Projections,
) -> Result<String, String> {
    let statement = &bundle.status;
    if !signed_by(statement, "sig", &statement.sig, operator) {
        return Err("the status statement is not signed by the checkpoint's operator".into());
    }
    if statement.origin != checkpoint.origin || statement.size != checkpoint.size {
        return Err(format!(
            "the status statement is for `{}` at size {}, the checkpoint for `{}` at size {}",
            statement.origin, statement.size, checkpoint.origin, checkpoint.size
        ));
    }
    let presented_ids: BTreeSet<EventId> = presented.iter().map(|c| c.id).collect();
    let stated_ids: BTreeSet<EventId> = statement.credentials.iter().map(|l| l.credential).collect();
    if let Some(missing) = stated_ids.difference(&presented_ids).next() {
        return Err(format!("credential {missing} is in the status statement but its record is not in the bundle"));
    }
    if let Some(unstated) = presented_ids.difference(&stated_ids).next() {
        return Err(format!("credential {unstated} has no status in the operator's statement"));
    }
    for line in &statement.credentials {
        // What the bundle's own records show must agree with the operator.
        if let Some(seen) = replayed.status.credential(&line.credential) {
            if seen.state != CredentialState::Active && seen.state != line.status {
                return Err(format!(
                    "credential {} is {} by its records but {} by the statement",
                    line.credential,
                    seen.state.as_str(),
                    line.status.as_str()
                ));
            }
        }
        if line.status != CredentialState::Active {
            return Err(format!(
                "credential {} is {} (seq {})",
                line.credential,
                line.status.as_str(),
                line.decided_seq
            ));
        }
    }
    Ok(format!("{} credentials active at size {}", statement.credentials.len(), statement.size))
}

/// Why a bundle could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    #[error("the ledger has no operator key here, so it cannot sign the status statement")]
    NoOperatorKey,
    #[error("the log is empty")]
    EmptyLog,
    #[error("no credential {0} on this ledger")]
    UnknownCredential(EventId),
    #[error("credential {0} was not issued to this learner")]
    NotTheLearners(EventId),
    #[error("{0} has no active credentials to share")]
    NothingToShare(Did),
    #[error("key {from} moved to {to}: share with the current key")]
    KeyMoved { from: Did, to: Did },
    #[error(transparent)]
    Append(#[from] crate::ledger::AppendError),
    #[error(transparent)]
    Ledger(#[from] crate::ledger::LedgerError),
    #[error(transparent)]
    Prove(#[from] crate::ledger::ProveError),
}

/// What the learner chose to share.
#[derive(Clone, Debug, Default)]
pub struct ShareRequest {
    /// The credentials to present; `None`: every active one.
    pub only: Option<Vec<EventId>>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
}

/// Builds and signs the learner's bundle from a ledger that holds the operator key.
pub fn build<S: crate::store::Store>(
    ledger: &mut crate::ledger::Ledger<S>,
    learner: &SecretKey,
    request: &ShareRequest,
    now: OffsetDateTime,
) -> Result<Bundle, ShareError> {
    Ok(build_unsigned(ledger, learner.did(), request, now)?.signed(learner))
}

/// Builds the learner's bundle without the learner's signature, for the learner to sign where
/// their key is (`credledger --server URL share`).
pub fn build_unsigned<S: crate::store::Store>(
    ledger: &mut crate::ledger::Ledger<S>,
    learner: &Did,
    request: &ShareRequest,
    now: OffsetDateTime,
) -> Result<Bundle, ShareError> {
    let (size, checkpoint) = ledger.publish_checkpoint()?;
    let state = ledger.state();
    if let Some(moved) = state.profiles.moved(learner) {
        return Err(ShareError::KeyMoved { from: learner.clone(), to: state.profiles.current(&moved.to) });
    }
    let owned: Vec<_> = state.profiles.learner(learner).map(|e| e.credentials.clone()).unwrap_or_default();
    let chosen: Vec<EventId> = match &request.only {
        Some(ids) => {
            for id in ids {
                if !owned.iter().any(|c| &c.id == id) {
                    return Err(if state.status.credential(id).is_some() {
                        ShareError::NotTheLearners(*id)
                    } else {
                        ShareError::UnknownCredential(*id)
                    });
                }
            }
            ids.clone()
        }
        None => owned
            .iter()
            .filter(|c| state.status.credential(&c.id).is_some_and(|s| s.state == CredentialState::Active))
            .map(|c| c.id)
            .collect(),
    };
    if chosen.is_empty() {
        return Err(ShareError::NothingToShare(learner.clone()));
    }
    let seqs = supporting_seqs(ledger, &chosen)?;
    let mut entries = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let record = ledger.records(seq, 1)?.pop().ok_or(crate::ledger::LedgerError::Store(
            crate::store::StoreError::Corrupt(format!("record {seq} is missing")),
        ))?;
        entries.push(Entry { seq, record: record.to_value(), inclusion_proof: ledger.inclusion_proof(seq, size)? });
    }
    let status = ledger.status_statement(&chosen, now)?;
    Ok(Bundle {
        v: VERSION,
        learner: learner.clone(),
        audience: request.audience.clone(),
        nonce: request.nonce.clone(),
        created_at: Timestamp::whole_seconds(now),
        checkpoint,
        entries,
        status,
        learner_sig: String::new(),
    })
}

/// The seqs a verifier needs to replay the chosen credentials through the rules: the credentials,
/// every event that changed their status, the genesis, and for every issuer key that signed any of
/// these, the records that registered its issuer and added, revoked or suspended it, recursively
/// for the keys that signed those; plus apprenticeship starts and learner key links.
fn supporting_seqs<S: crate::store::Store>(
    ledger: &crate::ledger::Ledger<S>,
    chosen: &[EventId],
) -> Result<BTreeSet<Seq>, ShareError> {
    let state = ledger.state();
    let mut seqs = BTreeSet::new();
    let mut pending: Vec<Seq> = vec![0];
    for id in chosen {
        let status = state.status.credential(id).ok_or(ShareError::UnknownCredential(*id))?;
        pending.push(status.issued_seq);
        pending.extend(&status.changes);
    }
    while let Some(seq) = pending.pop() {
        if !seqs.insert(seq) {
            continue;
        }
        let Some(record) = ledger.records(seq, 1)?.pop() else {
            continue;
        };
        let event = &record.event.event;
        // The author's authority at this seq.
        if let Some(issuer) = state.registry.issuer_of_key(&event.author) {
            pending.push(issuer.registered_seq);
            pending.extend(issuer.suspended_seq);
            if let Some(window) = issuer.key(&event.author) {
                pending.push(window.added_seq);
                pending.extend(window.revoked_seq);
            }
        }
        // What the event refers to.
        if let crate::event::Payload::ApprenticeshipCompleted(c) = &event.payload {
            if let Some(started) = c.apprenticeship.and_then(|id| ledger.record_by_id(&id).ok().flatten()) {
                pending.push(started.seq);
            }
        }
        let learner = match &event.payload {
            crate::event::Payload::ApprenticeshipStarted(a) => Some(&a.learner),
            payload => payload.credential().map(|c| c.learner),
        };
        let mut did = learner.cloned();
        while let Some(moved) = did.as_ref().and_then(|d| state.profiles.moved(d)) {
            pending.push(moved.seq);
            did = Some(moved.to.clone());
        }
    }
    Ok(seqs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_invalid_with_a_reason() {
        let report = verify(b"{\"v\":1}", &Trust::default(), &VerifyOptions::default(), OffsetDateTime::UNIX_EPOCH);
        assert!(!report.is_valid());
        assert_eq!(report.checks[0].name, "bundle.format");
        assert!(report.checks[0].detail.contains("learner"), "{:?}", report.checks);
        // Every later check is listed, as not run.
        assert_eq!(report.checks.len(), 8, "{:?}", report.checks);
        assert!(report.checks[1..].iter().all(|c| !c.ran && !c.ok));
        let options = VerifyOptions { nonce: Some("n".into()), ..VerifyOptions::default() };
        let report = verify(b"not json", &Trust::default(), &options, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(report.verdict, "INVALID");
        assert_eq!(report.checks.last().map(|c| c.name), Some("request.nonce"));
    }
}
