//! The profile bundle a learner shares, and its offline verification.
//!
//! A bundle holds the chosen credentials' records, the status events about them, and the
//! registry records that prove each issuer key's authority (genesis, registration, key
//! additions and revocations, suspensions), each with an inclusion proof against one
//! operator-signed checkpoint; an operator-signed status statement at that checkpoint's size; and
//! the learner's signature over all of it, optionally bound to one employer's audience and nonce.
//!
//! A learner may hold credentials under several dids (a wallet may present a fresh key for each
//! claim). A version 2 bundle presents them together without any public key link: it names the
//! learner's other dids in `holders`, and each of them signs the same payload as the learner
//! (`holder_sigs`), so the bundle proves control of every did it presents credentials under; the
//! operator's statement names each of those dids as a current holder. A bundle of one did stays
//! version 1, byte for byte as before.
//!
//! [`verify`] is pure: bytes, the trusted operator keys and the time in, a [`Report`] out. It
//! replays the bundle's records through the same rules and projections the ledger uses, so an
//! issuer key's authority is judged exactly as the ledger judged it. Offline, a credential's status
//! is what the operator's statement says it was when the bundle was made ([`Report::status_as_of`]);
//! a verifier that keeps the log the bundle is of adds the credentials' status now with
//! [`Report::with_current_status`], from statuses it looked up itself.
//!
//! Building a bundle from a ledger is the read side's: [`crate::share_build`]. This module reads
//! no ledger, store or view.

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

/// The bundle format version of a bundle of one did, and of its status statement.
pub const VERSION: u32 = 1;

/// The format version of a bundle that presents credentials held under several of the learner's
/// dids (`holders`, `holder_sigs`), and of its status statement (which names them in `holders`).
pub const VERSION_SEVERAL_DIDS: u32 = 2;

/// The most dids one bundle presents credentials under (the learner's and its `holders`): as many
/// keys as a learner may hold through key links ([`rules::MAX_LEARNER_KEYS`]).
pub const MAX_DIDS: usize = rules::MAX_LEARNER_KEYS;

/// The members the learner's and the holders' signatures leave out: each signs JCS(bundle without
/// them), so all sign the same payload and none depends on another.
const SIGNATURE_MEMBERS: [&str; 2] = ["learner_sig", "holder_sigs"];

/// The most characters an audience or a nonce may have (`schemas/bundle.schema.json`); at least one.
pub const MAX_BINDING_CHARS: usize = 200;

/// An audience or nonce outside the bundle format's limits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct BindingError {
    /// `audience` or `nonce`.
    pub field: &'static str,
    pub reason: String,
}

/// Refuses an audience or nonce that is empty or longer than [`MAX_BINDING_CHARS`] characters.
fn check_binding(field: &'static str, value: Option<&str>) -> Result<(), BindingError> {
    let Some(value) = value else { return Ok(()) };
    let chars = value.chars().count();
    let reason = if chars == 0 {
        format!("empty; give 1 to {MAX_BINDING_CHARS} characters, or leave it out")
    } else if chars > MAX_BINDING_CHARS {
        format!("{chars} characters, more than the {MAX_BINDING_CHARS} allowed")
    } else {
        return Ok(());
    };
    Err(BindingError { field, reason })
}

/// Refuses a list of the learner's other dids that repeats one (or the learner's), or that makes
/// more than [`MAX_DIDS`] in all; the reason, for the caller to name the field.
pub(crate) fn check_holders(learner: &Did, holders: &[Did]) -> Result<(), String> {
    let dids = holders.len() + 1;
    if dids > MAX_DIDS {
        return Err(format!("{dids} dids, more than the {MAX_DIDS} one bundle presents"));
    }
    let mut seen = BTreeSet::from([learner.as_str()]);
    match holders.iter().find(|d| !seen.insert(d.as_str())) {
        Some(twice) => Err(format!("{twice} is named twice")),
        None => Ok(()),
    }
}

/// What a learner shares.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// [`VERSION`], or [`VERSION_SEVERAL_DIDS`] with `holders`.
    pub v: u32,
    /// The did the bundle is presented under: it signs `learner_sig`, and publishes and withdraws
    /// the bundle's share link.
    pub learner: Did,
    /// Version 2: the learner's other dids whose credentials the bundle presents, each proven by
    /// its signature in `holder_sigs` (none is `learner`; no repeats).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<Did>,
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
    /// Ed25519 by the learner over JCS(bundle without `learner_sig` and `holder_sigs`), base64url.
    #[serde(default)]
    pub learner_sig: String,
    /// Version 2: each of `holders`' Ed25519 signature over the same payload as `learner_sig`, by
    /// its did (the text of one of `holders`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub holder_sigs: BTreeMap<String, String>,
}

/// A record and its inclusion proof in the checkpoint's tree.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub seq: Seq,
    pub record: Value,
    pub inclusion_proof: Vec<Hash32>,
}

/// The operator's signed statement of named credentials' status at one tree size, and of the
/// keys their learner holds them under then.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusStatement {
    pub v: u32,
    pub origin: String,
    pub size: u64,
    pub issued_at: Timestamp,
    /// The learner's current key at `size` (after every key link): the only key a bundle of these
    /// credentials may be presented and signed with, so leaving a link out is caught.
    pub holder: Did,
    /// Version 2: the current key at `size` of each of the bundle's `holders`, in their order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<Did>,
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

impl StatusLine {
    /// A credential's status line as the status projection holds it.
    pub fn of(status: &crate::projection::status::CredentialStatus) -> Self {
        StatusLine { credential: status.id, status: status.state, decided_seq: status.decided_seq }
    }
}

/// Signs the JCS of `value` without its `field`; returns base64url.
fn sign_without<T: Serialize>(value: &T, field: &str, key: &SecretKey) -> String {
    let message = unsigned_bytes(value, field).expect("bundle parts are JSON");
    key.sign_b64(&message)
}

fn unsigned_bytes<T: Serialize>(value: &T, field: &str) -> Option<Vec<u8>> {
    canonical::to_vec_without(&serde_json::to_value(value).ok()?, field).ok()
}

/// What the learner and every holder sign: JCS(bundle without the signature members).
pub(crate) fn signed_payload(bundle: &Value) -> Result<Vec<u8>, canonical::CanonicalError> {
    let mut rest = bundle.clone();
    if let Some(map) = rest.as_object_mut() {
        for member in SIGNATURE_MEMBERS {
            map.remove(member);
        }
    }
    canonical::to_vec(&rest)
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
    /// Adds `key`'s signature: its entry in `holder_sigs` if it is one of the `holders`' keys,
    /// else `learner_sig` (which verifies only if it is the learner's key). Every signature covers
    /// the same payload, so the keys may sign in any order.
    pub fn signed(mut self, key: &SecretKey) -> Self {
        let value = serde_json::to_value(&self).expect("a bundle is JSON");
        let sig = key.sign_b64(&signed_payload(&value).expect("a bundle is JSON"));
        if self.holders.contains(key.did()) {
            self.holder_sigs.insert(key.did().to_string(), sig);
        } else {
            self.learner_sig = sig;
        }
        self
    }

    /// Every did the bundle presents credentials under: the learner's, then the holders'.
    pub fn dids(&self) -> impl Iterator<Item = &Did> {
        std::iter::once(&self.learner).chain(&self.holders)
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

impl VerifyOptions {
    /// A verifier's requirements, refusing an audience or nonce no bundle can carry.
    pub fn new(
        audience: Option<String>,
        nonce: Option<String>,
        max_age: Option<Duration>,
    ) -> Result<Self, BindingError> {
        check_binding("audience", audience.as_deref())?;
        check_binding("nonce", nonce.as_deref())?;
        Ok(VerifyOptions { audience, nonce, max_age })
    }
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

/// Every check `verify` makes, in order; the optional ones only when asked for, and
/// `credentials.current` only when added by [`Report::with_current_status`].
const CHECKS: [&str; 12] = [
    "bundle.format",
    "checkpoint.signature",
    "entries.inclusion",
    "events.signatures",
    "issuer.authority",
    "credentials.status",
    "credentials.current",
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
    /// The status the operator's statement gives it.
    pub status: Option<CredentialState>,
    /// Its status now, when the verifier keeps the log ([`Report::with_current_status`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_now: Option<CredentialState>,
    pub skills: Vec<Skill>,
    pub completed_on: String,
    /// The day a certificate stops being valid, if it says.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_on: Option<String>,
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
    /// The learner's other dids a version 2 bundle presents credentials under.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub holders: Vec<Did>,
    /// The log the bundle is of: its checkpoint's origin, once a trusted operator's signature on
    /// the checkpoint verified.
    pub origin: Option<String>,
    /// When the operator signed the status statement: offline, the credentials' status is known as
    /// of this time, no later (set once the statement's signature verified).
    pub status_as_of: Option<Timestamp>,
    /// The audience and nonce the learner bound the bundle to, whether or not this verifier
    /// required them.
    pub audience: Option<String>,
    pub nonce: Option<String>,
    pub checks: Vec<Check>,
    pub credentials: Vec<PresentedCredential>,
    pub skills: Vec<SkillEvidence>,
    /// What a bundle that failed before its credentials were verified claims to present, read
    /// from its records as they are (nothing here is verified: shown so the failure can be named).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claimed: Vec<PresentedCredential>,
    /// The seq of the record the first failed check is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_record: Option<Seq>,
}

/// The detail of a check that an earlier failure left without grounds to run.
const NOT_RUN: &str = "not run: an earlier check failed";

impl Report {
    fn empty() -> Self {
        Report {
            verdict: "INVALID",
            learner: None,
            holders: Vec::new(),
            origin: None,
            status_as_of: None,
            audience: None,
            nonce: None,
            checks: Vec::new(),
            credentials: Vec::new(),
            skills: Vec::new(),
            claimed: Vec::new(),
            failed_record: None,
        }
    }

    /// Notes the record the first failure is about.
    fn blame(&mut self, seq: Seq) {
        self.failed_record = self.failed_record.or(Some(seq));
    }

    /// Notes the record of the presented credential a failure's reason names by id, if any.
    fn blame_named(&mut self, why: &str, credentials: &[PresentedCredential]) {
        if let Some(c) = credentials.iter().find(|c| why.contains(&c.id.to_string())) {
            self.blame(c.seq);
        }
    }

    /// The credentials to show: the verified ones, else what the bundle claims.
    pub fn shown_credentials(&self) -> &[PresentedCredential] {
        if self.credentials.is_empty() { &self.claimed } else { &self.credentials }
    }

    /// Did every check pass?
    pub fn is_valid(&self) -> bool {
        self.verdict == "VALID"
    }

    /// Records a check that ran: passed with its detail, or failed with its reason.
    fn record(&mut self, name: &'static str, result: Result<String, String>) {
        let (ok, detail) = match result {
            Ok(d) => (true, d),
            Err(d) => (false, d),
        };
        self.checks.push(Check { name, ok, ran: true, detail });
    }

    /// Lists every check this verifier asked for that an earlier failure stopped as not run (never
    /// left out), then concludes.
    fn settle(mut self, options: &VerifyOptions) -> Self {
        let asked = |name: &str| match name {
            "credentials.current" => false,
            "status.age" => options.max_age.is_some(),
            "request.audience" => options.audience.is_some(),
            "request.nonce" => options.nonce.is_some(),
            _ => true,
        };
        for name in CHECKS.into_iter().filter(|n| asked(n)) {
            if !self.checks.iter().any(|c| c.name == name) {
                self.checks.push(Check { name, ok: false, ran: false, detail: NOT_RUN.to_owned() });
            }
        }
        self.conclude()
    }

    /// Puts the checks in order, and sets the verdict and the skills a valid bundle evidences.
    fn conclude(mut self) -> Self {
        self.checks.sort_by_key(|c| CHECKS.iter().position(|n| *n == c.name));
        let valid = self.checks.iter().all(|c| c.ok);
        let mut skills: BTreeMap<String, SkillEvidence> = BTreeMap::new();
        for c in self.credentials.iter().filter(|c| valid && c.status == Some(CredentialState::Active)) {
            for s in &c.skills {
                let entry = skills.entry(s.id.clone()).or_insert_with(|| SkillEvidence {
                    id: s.id.clone(),
                    label: s.label.clone().unwrap_or_else(|| s.id.clone()),
                    evidence: Vec::new(),
                });
                entry.evidence.push(c.id);
            }
        }
        self.verdict = if valid { "VALID" } else { "INVALID" };
        self.skills = skills.into_values().collect();
        self
    }

    /// The credentials whose status now a verifier that keeps the log `origin` looks up for
    /// [`Report::with_current_status`]: the presented ones, if the bundle is of that log.
    pub fn credentials_of_log(&self, origin: &str) -> Vec<EventId> {
        if self.origin.as_deref() == Some(origin) {
            self.credentials.iter().map(|c| c.id).collect()
        } else {
            Vec::new()
        }
    }

    /// Adds the `credentials.current` check, which only a verifier that keeps the log `keeper`
    /// can make: `current` holds the status now of the credentials
    /// [`Report::credentials_of_log`] named, as that log decides it. It fails naming the first
    /// credential that is no longer active (or not on the log), its status now and the seq that
    /// decided it; for a bundle of another log it is listed as not run, with the reason.
    pub fn with_current_status(mut self, keeper: &str, current: &[StatusLine]) -> Self {
        self.checks.retain(|c| c.name != "credentials.current");
        match self.origin.clone() {
            Some(origin) if origin != keeper => {
                let detail = format!(
                    "not run: the bundle is of the log `{origin}`; this verifier keeps `{keeper}` and knows the status now only of its credentials"
                );
                self.checks.push(Check { name: "credentials.current", ok: false, ran: false, detail });
            }
            Some(_) if !self.credentials.is_empty() => {
                let result = self.compare_current(current);
                if let Err(why) = &result {
                    let credentials = self.credentials.clone();
                    self.blame_named(why, &credentials);
                }
                self.record("credentials.current", result);
            }
            _ => {
                let detail = NOT_RUN.to_owned();
                self.checks.push(Check { name: "credentials.current", ok: false, ran: false, detail });
            }
        }
        self.conclude()
    }

    /// Notes each presented credential's status now; fails on the first that is not active.
    fn compare_current(&mut self, current: &[StatusLine]) -> Result<String, String> {
        let mut failure = None;
        for c in &mut self.credentials {
            let line = current.iter().find(|l| l.credential == c.id);
            c.status_now = line.map(|l| l.status);
            let why = match line {
                None => Some(format!("credential {} is not on this ledger", c.id)),
                Some(l) if l.status != CredentialState::Active => {
                    Some(format!("credential {} is {} now (seq {})", c.id, l.status.as_str(), l.decided_seq))
                }
                Some(_) => None,
            };
            failure = failure.or(why);
        }
        match failure {
            Some(why) => Err(why),
            None => Ok(format!("{} credentials still active on this ledger now", self.credentials.len())),
        }
    }
}

/// Verifies a bundle (JSON bytes) offline against the trusted operator keys.
pub fn verify(bytes: &[u8], trust: &Trust, options: &VerifyOptions, now: OffsetDateTime) -> Report {
    let mut report = Report::empty();
    let value = canonical::parse_strict(bytes).map_err(|e| e.to_string());
    let bundle = value.as_ref().map_err(Clone::clone).and_then(|value| {
        serde_path_to_error::deserialize::<_, Bundle>(value).map_err(|e| format!("{}: {}", e.path(), e.inner()))
    });
    let bundle = bundle.and_then(|b| {
        check_version(&b, value.as_ref().map_err(Clone::clone)?)?;
        check_binding("audience", b.audience.as_deref()).map_err(|e| e.to_string())?;
        check_binding("nonce", b.nonce.as_deref()).map_err(|e| e.to_string())?;
        Ok(b)
    });
    let bundle = match bundle {
        Ok(b) => b,
        Err(e) => {
            report.record("bundle.format", Err(e));
            return report.settle(options);
        }
    };
    report.record("bundle.format", Ok(format!("{} records", bundle.entries.len())));
    report.learner = Some(bundle.learner.clone());
    report.holders = bundle.holders.clone();
    report.audience = bundle.audience.clone();
    report.nonce = bundle.nonce.clone();
    // The learner and the holders signed the bundle as sent, so their signatures are checked
    // over those bytes.
    let unsigned = value.ok().and_then(|v| signed_payload(&v).ok()).unwrap_or_default();
    verify_bundle(&bundle, &unsigned, trust, options, now, &mut report);
    if report.credentials.is_empty() {
        report.claimed = claimed(&bundle);
    }
    report.settle(options)
}

/// The version's shape: a version 1 bundle and its statement name one did (no `holders`, no
/// `holder_sigs`, as before they existed); a version 2 bundle names the learner's other dids in
/// `holders`, within [`check_holders`]' limits, and its statement is version 2.
fn check_version(b: &Bundle, value: &Value) -> Result<(), String> {
    let statement = value.get("status");
    match b.v {
        VERSION => {
            let present = SIGNATURE_MEMBERS[1..].iter().chain(&["holders"]).find(|m| value.get(**m).is_some());
            if let Some(member) = present {
                return Err(format!("{member}: only a version {VERSION_SEVERAL_DIDS} bundle presents several dids"));
            }
            if statement.and_then(|s| s.get("holders")).is_some() {
                return Err(format!("status.holders: only in a version {VERSION_SEVERAL_DIDS} statement"));
            }
        }
        VERSION_SEVERAL_DIDS => {
            if b.holders.is_empty() {
                return Err(format!(
                    "holders: a version {VERSION_SEVERAL_DIDS} bundle names the learner's other dids; this one names none"
                ));
            }
            check_holders(&b.learner, &b.holders).map_err(|why| format!("holders: {why}"))?;
        }
        v => return Err(format!("unknown bundle version {v}")),
    }
    if b.status.v != b.v {
        return Err(format!("status.v: {}, but the bundle is version {}", b.status.v, b.v));
    }
    Ok(())
}

/// What the bundle's records present, read as they are (for naming what failed; unverified).
fn claimed(bundle: &Bundle) -> Vec<PresentedCredential> {
    bundle
        .entries
        .iter()
        .filter_map(|e| Record::parse(&canonical::to_vec(&e.record).ok()?).ok())
        .filter_map(|r| presented(&r, None, &bundle.status))
        .collect()
}

/// A record's credential as presented, with its issuer from `state` (the replayed registry) if
/// given, and its status from the operator's statement.
fn presented(r: &Record, state: Option<&Projections>, statement: &StatusStatement) -> Option<PresentedCredential> {
    let c = r.event.event.payload.credential()?;
    let id = r.event.id();
    let issuer = state.and_then(|s| s.status.credential(&id)).map(|s| s.issuer.clone());
    let issuer_name = issuer.as_ref().zip(state).and_then(|(i, s)| s.registry.issuer(i)).map(|i| i.name.clone());
    let expires_on = match &r.event.event.payload {
        crate::event::Payload::CertificateAwarded(cert) => cert.valid_until.map(|d| d.to_string()),
        _ => None,
    };
    Some(PresentedCredential {
        id,
        seq: r.seq,
        kind: c.kind,
        title: c.title.to_owned(),
        issuer_name,
        issuer,
        status: statement.credentials.iter().find(|l| l.credential == id).map(|l| l.status),
        status_now: None,
        skills: c.skills.to_vec(),
        completed_on: c.completed_on.to_string(),
        expires_on,
    })
}

/// What the bundle's checks learn as they go, each from those before it: the checkpoint and its
/// operator, the records it includes, the state they replay to, the credentials they present.
struct Ctx<'a> {
    bundle: &'a Bundle,
    unsigned: &'a [u8],
    options: &'a VerifyOptions,
    now: OffsetDateTime,
    checkpoint: Checkpoint,
    operator: Did,
    records: Vec<Record>,
    state: Projections,
    presented: Vec<PresentedCredential>,
}

/// One of the bundle's checks: its result, recorded under its name, or `None` when this verifier
/// did not ask for it. It may note on the report the record at fault, and what it learned in `Ctx`.
type BundleCheck = fn(&mut Ctx, &mut Report) -> Option<Result<String, String>>;

/// Whether a failed check stops the ones after it (they are then listed as not run).
#[derive(Clone, Copy, PartialEq)]
enum OnFailure {
    Stop,
    GoOn,
}

/// The checks after the checkpoint's signature, in the order the report lists them.
const BUNDLE_CHECKS: &[(&str, BundleCheck, OnFailure)] = &[
    ("entries.inclusion", entries_inclusion, OnFailure::Stop),
    ("events.signatures", events_signatures, OnFailure::Stop),
    ("issuer.authority", issuer_authority, OnFailure::GoOn),
    ("credentials.status", credentials_status, OnFailure::GoOn),
    ("status.age", status_age, OnFailure::GoOn),
    ("learner.holder", learner_holder, OnFailure::GoOn),
    ("learner.signature", learner_signature, OnFailure::GoOn),
    ("request.audience", request_audience, OnFailure::GoOn),
    ("request.nonce", request_nonce, OnFailure::GoOn),
];

fn verify_bundle(
    bundle: &Bundle,
    unsigned: &[u8],
    trust: &Trust,
    options: &VerifyOptions,
    now: OffsetDateTime,
    report: &mut Report,
) {
    let signed = checkpoint_signature(bundle, trust);
    let outcome = signed.as_ref().map(|(c, operator)| {
        report.origin = Some(c.origin.clone());
        format!("`{}` at size {}, signed by {operator}", c.origin, c.size)
    });
    report.record("checkpoint.signature", outcome.map_err(Clone::clone));
    let Ok((checkpoint, operator)) = signed else { return };
    let mut ctx = Ctx {
        bundle,
        unsigned,
        options,
        now,
        checkpoint,
        operator,
        records: Vec::new(),
        state: Projections::default(),
        presented: Vec::new(),
    };
    for &(name, check, on_failure) in BUNDLE_CHECKS {
        let Some(result) = check(&mut ctx, report) else { continue };
        let failed = result.is_err();
        report.record(name, result);
        if failed && on_failure == OnFailure::Stop {
            return;
        }
    }
    report.credentials = ctx.presented;
}

/// The checkpoint, signed by a trusted operator: it and the operator's key.
fn checkpoint_signature(bundle: &Bundle, trust: &Trust) -> Result<(Checkpoint, Did), String> {
    let origin = Checkpoint::parse_unverified(&bundle.checkpoint).map(|c| c.origin).unwrap_or_default();
    let signed = trust
        .keys_for(&origin)
        .find_map(|key| Checkpoint::verify(&bundle.checkpoint, key).ok().map(|c| (c, key.clone())));
    signed.ok_or_else(|| match Checkpoint::parse_unverified(&bundle.checkpoint) {
        Err(e) => e.to_string(),
        Ok(c) => format!("checkpoint of `{}` is not signed by a trusted operator key", c.origin),
    })
}

/// Every record is in the checkpoint's tree.
fn entries_inclusion(ctx: &mut Ctx, report: &mut Report) -> Option<Result<String, String>> {
    let checkpoint = &ctx.checkpoint;
    let mut inclusion =
        Ok(format!("{} records included in the tree of size {}", ctx.bundle.entries.len(), checkpoint.size));
    let mut last_seq = None;
    let mut at_fault = None;
    for entry in &ctx.bundle.entries {
        let failed = |why: String| Err(format!("entry seq {}: {why}", entry.seq));
        let bytes = match canonical::to_vec(&entry.record) {
            Ok(bytes) => bytes,
            Err(e) => {
                at_fault = Some(entry.seq);
                inclusion = failed(e.to_string());
                break;
            }
        };
        let leaf = merkle::leaf_hash(&bytes);
        if last_seq.is_some_and(|last| entry.seq <= last) {
            at_fault = Some(entry.seq);
            inclusion = failed("entries are not in increasing seq order".into());
            break;
        }
        last_seq = Some(entry.seq);
        if entry.record.get("seq").and_then(Value::as_u64) != Some(entry.seq) {
            at_fault = Some(entry.seq);
            inclusion = failed("the record's seq differs from the entry's".into());
            break;
        }
        if let Err(e) =
            merkle::verify_inclusion(&leaf, entry.seq, checkpoint.size, &entry.inclusion_proof, &checkpoint.root)
        {
            at_fault = Some(entry.seq);
            inclusion = failed(e.to_string());
            break;
        }
        match Record::parse(&bytes) {
            Ok(record) => ctx.records.push(record),
            Err(e) => {
                at_fault = Some(entry.seq);
                inclusion = failed(e.to_string());
                break;
            }
        }
    }
    if let Some(seq) = at_fault {
        report.blame(seq);
    }
    Some(inclusion)
}

/// Every event's signature, as its author made it, on every core. (`Record::parse` checked the
/// types and every did:key; `admission::reverify` does the rest of `admission::verify`.)
fn events_signatures(ctx: &mut Ctx, report: &mut Report) -> Option<Result<String, String>> {
    use rayon::prelude::*;
    let failures: Vec<(Seq, String)> = ctx
        .records
        .par_iter()
        .filter_map(|r| crate::admission::reverify(&r.event).err().map(|e| (r.seq, format!("seq {}: {e}", r.seq))))
        .collect();
    // The first failure in seq order, as a sequential check would name it.
    let signatures = failures.into_iter().next().map_or(Ok(()), |(seq, why)| {
        report.blame(seq);
        Err(why)
    });
    Some(signatures.map(|()| format!("{} event signatures verify", ctx.records.len())))
}

/// The records, replayed through the ledger's rules: genesis names this operator, every issuer
/// was registered by it, and every key was authorized when it signed. The credentials the
/// records present are read from the state they replay to.
fn issuer_authority(ctx: &mut Ctx, report: &mut Report) -> Option<Result<String, String>> {
    let mut authority = Ok(String::new());
    for record in &ctx.records {
        if let Err(e) = rules::check(record, &ctx.state) {
            authority = Err(format!("seq {} ({}): {e}", record.seq, record.event.event.payload.kind()));
            report.blame(record.seq);
            break;
        }
        ctx.state.apply(record, &mut Changes::default());
    }
    if authority.is_ok() {
        authority = match ctx.state.registry.genesis() {
            Some(g) if g.operator == ctx.operator && g.origin == ctx.checkpoint.origin => {
                Ok(format!("every signer was authorized at its place in the log of `{}`", g.origin))
            }
            Some(g) => {
                Err(format!("the genesis names operator {} of `{}`, not the checkpoint's signer", g.operator, g.origin))
            }
            None => Err("the bundle does not include the log's genesis record".into()),
        };
    }
    ctx.presented = ctx.records.iter().filter_map(|r| presented(r, Some(&ctx.state), &ctx.bundle.status)).collect();
    Some(authority)
}

/// The operator's status statement, at the checkpoint's size, covers exactly the credentials
/// presented, and each is active.
fn credentials_status(ctx: &mut Ctx, report: &mut Report) -> Option<Result<String, String>> {
    let bundle = ctx.bundle;
    let statement_signed = signed_by(&bundle.status, "sig", &bundle.status.sig, &ctx.operator);
    if statement_signed {
        report.status_as_of = Some(bundle.status.issued_at);
    }
    let status = check_status(bundle, &ctx.checkpoint, statement_signed, &ctx.presented, &ctx.state);
    if let Err(why) = &status {
        report.blame_named(why, &ctx.presented);
    }
    Some(status)
}

/// The status statement is no older than this verifier allows, when it says how old.
fn status_age(ctx: &mut Ctx, _: &mut Report) -> Option<Result<String, String>> {
    let max_age = ctx.options.max_age?;
    let issued_at = ctx.bundle.status.issued_at;
    let age = ctx.now - issued_at.0;
    Some(if age <= max_age {
        Ok(format!(
            "status issued at {} ({}s ago, within the {}s allowed)",
            issued_at,
            age.whole_seconds(),
            max_age.whole_seconds()
        ))
    } else {
        Err(format!("status issued at {} is older than the {}s allowed", issued_at, max_age.whole_seconds()))
    })
}

fn learner_holder(ctx: &mut Ctx, report: &mut Report) -> Option<Result<String, String>> {
    let holder = check_holder(ctx.bundle, &ctx.presented, &ctx.records, &ctx.state);
    if let Err(why) = &holder {
        report.blame_named(why, &ctx.presented);
    }
    Some(holder)
}

fn learner_signature(ctx: &mut Ctx, _: &mut Report) -> Option<Result<String, String>> {
    Some(check_signatures(ctx.bundle, ctx.unsigned))
}

/// Bound to this verifier's request: the audience it asked for, when it asked for one.
fn request_audience(ctx: &mut Ctx, _: &mut Report) -> Option<Result<String, String>> {
    check_bound(ctx.options.audience.as_ref(), ctx.bundle.audience.as_ref())
}

/// Bound to this verifier's request: the nonce it gave, when it gave one.
fn request_nonce(ctx: &mut Ctx, _: &mut Report) -> Option<Result<String, String>> {
    check_bound(ctx.options.nonce.as_ref(), ctx.bundle.nonce.as_ref())
}

fn check_bound(wanted: Option<&String>, got: Option<&String>) -> Option<Result<String, String>> {
    let wanted = wanted?;
    Some(match got {
        Some(got) if got == wanted => Ok(format!("`{got}`")),
        Some(got) => Err(format!("bundle is bound to `{got}`, not `{wanted}`")),
        None => Err(format!("bundle is not bound to `{wanted}`")),
    })
}

/// The learner's signature, and each holder's, over the bundle as sent (`payload`): a holder
/// without a signature, a signature by another key, or one under a did the bundle does not name
/// fails, naming the did.
fn check_signatures(bundle: &Bundle, payload: &[u8]) -> Result<String, String> {
    let learner = &bundle.learner;
    if crate::keys::verify_b64(learner, &bundle.learner_sig, payload).is_err() {
        return Err(format!("learner_sig is not {learner}'s signature over this bundle"));
    }
    if let Some(stranger) = bundle.holder_sigs.keys().find(|d| !bundle.holders.iter().any(|h| h.as_str() == *d)) {
        let stranger = crate::text::clip(stranger, 80);
        return Err(format!("holder_sigs: `{stranger}` is not one of the bundle's holders"));
    }
    for holder in &bundle.holders {
        match bundle.holder_sigs.get(holder.as_str()) {
            None => {
                return Err(format!(
                    "holder_sigs: no signature by {holder}, so the bundle does not prove control of it"
                ));
            }
            Some(sig) if crate::keys::verify_b64(holder, sig, payload).is_err() => {
                return Err(format!("holder_sigs: the signature under {holder} is not {holder}'s over this bundle"));
            }
            Some(_) => {}
        }
    }
    Ok(match bundle.holders.len() {
        0 => format!("signed by {learner}"),
        n => format!("signed by {learner} and by each of the learner's {n} other dids it presents"),
    })
}

/// The credentials are held by the learner who shares them: each was issued to one of the dids
/// the bundle proves (the learner's and, in version 2, the holders'), or to a key its records show
/// moved to one; and the operator's statement names those dids as the holders now, so a bundle
/// that leaves a key link out and presents an earlier key is caught.
fn check_holder(
    bundle: &Bundle,
    presented: &[PresentedCredential],
    records: &[Record],
    state: &Projections,
) -> Result<String, String> {
    let learner = &bundle.learner;
    let proven: Vec<&Did> = bundle.dids().collect();
    // Whom a credential must be held by, in words: the learner, or (version 2) any proven did.
    let whom = if bundle.holders.is_empty() {
        learner.to_string()
    } else {
        format!("any of the {} dids the bundle proves control of", proven.len())
    };
    for c in presented {
        let record = records.iter().find(|r| r.seq == c.seq);
        let Some(issued_to) = record.and_then(|r| r.event.event.payload.credential()).map(|v| v.learner) else {
            return Err(format!("credential {} has no learner", c.id));
        };
        let holder = state.profiles.current(issued_to);
        if !proven.contains(&&holder) {
            return Err(match state.profiles.moved(issued_to) {
                Some(moved) => format!(
                    "credential {} was issued to {issued_to}, which moved to {} (seq {}): its holder is {holder}, not {whom}",
                    c.id, moved.to, moved.seq
                ),
                None => format!("credential {} was issued to {issued_to}, not to {whom}", c.id),
            });
        }
    }
    if presented.is_empty() {
        return Err("the bundle presents no credential".into());
    }
    let named = &bundle.status.holder;
    if named != learner {
        return Err(format!(
            "the operator's status statement names {named} as the holder now, not {learner}: a key link is missing from the bundle, or it is not this learner's"
        ));
    }
    if bundle.status.holders != bundle.holders {
        let list = |dids: &[Did]| dids.iter().map(Did::as_str).collect::<Vec<_>>().join(", ");
        return Err(format!(
            "the operator's status statement names [{}] as the other holders now, not the bundle's [{}]: a key link is missing from the bundle, or a did is not this learner's",
            list(&bundle.status.holders),
            list(&bundle.holders)
        ));
    }
    Ok(if bundle.holders.is_empty() {
        format!("{} credentials issued to {learner}, the holder the operator names", presented.len())
    } else {
        format!(
            "{} credentials held under the bundle's {} dids, the holders the operator names",
            presented.len(),
            proven.len()
        )
    })
}

fn check_status(
    bundle: &Bundle,
    checkpoint: &Checkpoint,
    statement_signed: bool,
    presented: &[PresentedCredential],
    replayed: &Projections,
) -> Result<String, String> {
    let statement = &bundle.status;
    if !statement_signed {
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
    Ok(format!(
        "{} credentials active at size {}, as of {}",
        statement.credentials.len(),
        statement.size,
        statement.issued_at
    ))
}

/// What the learner chose to share. Build it with [`ShareRequest::new`]; [`build`] checks it again.
#[derive(Clone, Debug, Default)]
pub struct ShareRequest {
    /// The credentials to present, each once; `None`: every active one.
    pub only: Option<Vec<EventId>>,
    pub audience: Option<String>,
    pub nonce: Option<String>,
    /// The learner's other dids to present credentials held under too (a version 2 bundle, which
    /// each of their keys signs); each must hold a chosen credential.
    pub holders: Vec<Did>,
}

impl ShareRequest {
    /// A request within the bundle format's limits: `only` without repeats (in the order first
    /// given), an audience and a nonce of 1 to [`MAX_BINDING_CHARS`] characters.
    pub fn new(
        only: Option<Vec<EventId>>,
        audience: Option<String>,
        nonce: Option<String>,
    ) -> Result<Self, BindingError> {
        check_binding("audience", audience.as_deref())?;
        check_binding("nonce", nonce.as_deref())?;
        let only = only.map(|ids| {
            let mut seen = BTreeSet::new();
            ids.into_iter().filter(|id| seen.insert(*id)).collect()
        });
        Ok(ShareRequest { only, audience, nonce, holders: Vec::new() })
    }

    /// The request, presenting credentials held under the learner's other dids `holders` too.
    pub fn with_holders(self, holders: Vec<Did>) -> Self {
        ShareRequest { holders, ..self }
    }
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

    #[test]
    fn audience_and_nonce_keep_the_schema_limits() {
        assert_eq!(check_binding("audience", None), Ok(()));
        assert_eq!(check_binding("audience", Some(&"é".repeat(MAX_BINDING_CHARS))), Ok(()), "characters, not bytes");
        let long = check_binding("audience", Some(&"a".repeat(500_000))).unwrap_err();
        assert_eq!(long.field, "audience");
        assert!(long.reason.contains("500000 characters") && long.reason.contains("200"), "{long}");
        let empty = VerifyOptions::new(None, Some(String::new()), None).unwrap_err();
        assert_eq!((empty.field, empty.to_string().starts_with("nonce: empty")), ("nonce", true), "{empty}");
        let request = ShareRequest::new(None, Some("x".repeat(MAX_BINDING_CHARS + 1)), None);
        assert_eq!(request.unwrap_err().field, "audience");
    }

    #[test]
    fn a_share_request_names_each_credential_once_in_the_order_given() {
        let [a, b] = [[1u8], [2u8]].map(|bytes| EventId::of_canonical(&bytes));
        let request = ShareRequest::new(Some(vec![b, a, b, b, a]), Some("acme-hr".into()), None).unwrap();
        assert_eq!(request.only, Some(vec![b, a]));
        assert_eq!(request.audience.as_deref(), Some("acme-hr"));
    }

    /// A report of a bundle of the log `ours` that passed every offline check, presenting `ids`.
    fn offline_valid(ids: &[EventId]) -> Report {
        let mut report = Report::empty();
        report.origin = Some("ours".into());
        report.record("bundle.format", Ok("fine".into()));
        report.credentials = ids
            .iter()
            .map(|id| PresentedCredential {
                id: *id,
                seq: 5,
                kind: CredentialKind::Course,
                title: "Welding I".into(),
                issuer: None,
                issuer_name: None,
                status: Some(CredentialState::Active),
                status_now: None,
                skills: vec![Skill { id: "esco:welding".into(), label: None, level: None }],
                completed_on: "2026-01-15".into(),
                expires_on: None,
            })
            .collect();
        report.conclude()
    }

    fn current(report: &Report) -> &Check {
        report.checks.iter().find(|c| c.name == "credentials.current").expect("credentials.current is listed")
    }

    #[test]
    fn the_keeper_of_the_log_checks_the_status_now() {
        let [a, b] = [[1u8], [2u8]].map(|bytes| EventId::of_canonical(&bytes));
        let line = |credential, status, decided_seq| StatusLine { credential, status, decided_seq };
        let before = offline_valid(&[a, b]);
        assert!(before.is_valid() && !before.skills.is_empty());

        let still = before
            .clone()
            .with_current_status("ours", &[line(a, CredentialState::Active, 5), line(b, CredentialState::Active, 6)]);
        assert!(still.is_valid(), "{:?}", still.checks);
        assert!(current(&still).ok && current(&still).detail.contains("2 credentials still active"));

        let revoked = before
            .clone()
            .with_current_status("ours", &[line(a, CredentialState::Active, 5), line(b, CredentialState::Revoked, 9)]);
        assert_eq!(revoked.verdict, "INVALID");
        let check = current(&revoked);
        assert!(check.ran && !check.ok);
        assert_eq!(check.detail, format!("credential {b} is revoked now (seq 9)"));
        assert_eq!(revoked.credentials[1].status_now, Some(CredentialState::Revoked));
        assert!(revoked.skills.is_empty(), "an invalid bundle evidences no skill");

        let missing = before.clone().with_current_status("ours", &[line(a, CredentialState::Active, 5)]);
        assert_eq!(current(&missing).detail, format!("credential {b} is not on this ledger"));

        // Another log's bundle: not run, with the reason, and so not VALID.
        let other = before.clone().with_current_status("theirs", &[]);
        let check = current(&other);
        assert!(!check.ran && !check.ok && check.detail.contains("`ours`") && check.detail.contains("`theirs`"));
        assert_eq!(other.verdict, "INVALID");
        // Checked twice, listed once.
        let twice = revoked
            .with_current_status("ours", &[line(a, CredentialState::Active, 5), line(b, CredentialState::Active, 6)]);
        assert_eq!(twice.checks.iter().filter(|c| c.name == "credentials.current").count(), 1);
        assert!(twice.is_valid());
    }

    #[test]
    fn without_a_trusted_checkpoint_the_status_now_is_not_run() {
        let report = verify(b"{}", &Trust::default(), &VerifyOptions::default(), OffsetDateTime::UNIX_EPOCH);
        let report = report.with_current_status("ours", &[]);
        let check = current(&report);
        assert_eq!((check.ran, check.ok, check.detail.as_str()), (false, false, NOT_RUN));
        assert_eq!(report.origin, None);
        assert_eq!(report.status_as_of, None);
    }
}
