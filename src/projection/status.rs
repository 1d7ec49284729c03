//! The status projection: every credential's state (active, suspended, revoked) with the event
//! that decided it, its issuance and every status change (signer, time, kind), and every
//! apprenticeship in progress with the hours logged so far.
//!
//! A state is a fold that skips void acts: an act signed by a key whose void window (the
//! registry's, from declarations of compromise) covers the time the ledger recorded it, which a
//! thief of the key cannot backdate. A void issuance leaves the credential revoked (the reason
//! names the key and since when); a void status change is skipped (a thief's reinstatement no
//! longer reinstates, a thief's revocation no longer revokes: "revoked is final" holds for
//! revocations that stand); a void start voids the apprenticeship (no more hours, no completion);
//! void hours stop counting, and a void completion does not complete it. [`Status::settle`] folds
//! again what a record concerns, and when a key event changed an issuer's void windows, every
//! credential and apprenticeship of that issuer (a scan, acceptable because declarations are
//! rare).
//!
//! It also keeps, per signing key, purpose and list, the latest `status_list.signed`: where it
//! is served, when it was signed, its proofValue and a digest of the bits it certified, which
//! were the bits at its place in the log. The list is *current* while those are the bits now.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{CredentialKind, Date, Event, Payload, Timestamp};
use crate::id::{Did, EventId, Hash32, Seq};
use crate::projection::entries::{Entries, EntrySource};
use crate::projection::registry::Registry;
use crate::projection::{Changes, Context, Projection, Record};
use crate::status_list::{Bitstring, LIST_SIZE, MIN_ENTRIES, Purpose};

/// Where a credential stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CredentialState {
    Active,
    Suspended,
    Revoked,
}

impl CredentialState {
    /// The state whose credentials have their bit set in a list of `purpose`.
    pub fn set_by(purpose: Purpose) -> Self {
        match purpose {
            Purpose::Revocation => CredentialState::Revoked,
            Purpose::Suspension => CredentialState::Suspended,
        }
    }

    /// The lower-case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialState::Active => "active",
            CredentialState::Suspended => "suspended",
            CredentialState::Revoked => "revoked",
        }
    }
}

/// A credential's issuer, holder and state.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CredentialStatus {
    pub id: EventId,
    pub kind: CredentialKind,
    pub issuer: Did,
    /// The issuer key that signed it.
    pub signed_by: Did,
    pub learner: Did,
    pub issued_seq: Seq,
    /// When the ledger recorded the issuing event.
    pub issued_at: Timestamp,
    pub state: CredentialState,
    /// The seq of the event that set the state: the issuing event while active and never changed,
    /// the declaration of compromise that voids its issuance.
    pub decided_seq: Seq,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Every status change, in seq order, void or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<StatusChangeRecord>,
}

/// One `credential.revoked`, `suspended` or `reinstated`: the state it sets, and the act.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct StatusChangeRecord {
    pub seq: Seq,
    pub sets: CredentialState,
    pub reason: String,
    #[serde(flatten)]
    pub act: Act,
}

/// An act of an issuer key: who signed it, when the ledger recorded it, and whether a key
/// compromise voids it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Act {
    pub signed_by: Did,
    pub recorded_at: Timestamp,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub void: bool,
}

impl Act {
    fn new(signed_by: &Did, recorded_at: Timestamp) -> Self {
        Act { signed_by: signed_by.clone(), recorded_at, void: false }
    }

    /// Decides again whether the act is void.
    fn settle(&mut self, registry: &Registry) {
        self.void = registry.void_act(&self.signed_by, self.recorded_at).is_some();
    }
}

/// An apprenticeship that has started.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Apprenticeship {
    pub id: EventId,
    pub issuer: Did,
    pub learner: Did,
    pub title: String,
    pub employer: String,
    pub started_on: Date,
    /// The hours of every log that is not void.
    pub hours_logged: u64,
    /// The first completion that is not void.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_by: Option<EventId>,
    /// The issuer key that started it, and when the ledger recorded the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_by: Option<Did>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// Why it is void (its start was signed with a compromised key); a void apprenticeship
    /// takes no more hours or completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voided: Option<String>,
    /// Every `apprenticeship.hours_logged` on it, in seq order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logs: Vec<HoursLog>,
    /// Every `credential.apprenticeship_completed` naming it, in seq order: a void one (a thief's)
    /// does not complete it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub completions: Vec<Completion>,
}

/// One completion of an apprenticeship: the credential, and the act.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Completion {
    pub id: EventId,
    #[serde(flatten)]
    pub act: Act,
}

/// One `apprenticeship.hours_logged`: its hours, and the act.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HoursLog {
    pub seq: Seq,
    pub hours: u32,
    #[serde(flatten)]
    pub act: Act,
}

/// The latest `status_list.signed` of one list of a key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct SignedList {
    /// The public URL it is served under.
    pub status_base: String,
    /// The signing event's `created_at`: the list credential's `validFrom` and proof `created`.
    pub created_at: Timestamp,
    pub proof_value: String,
    /// The seq of the signing event.
    pub seq: Seq,
    /// BLAKE3 of the bits it certified ([`Bitstring::digest`]).
    pub bits: Hash32,
}

impl SignedList {
    /// Is it served under `base` and did it certify `bits` (the list as the log has it now)?
    pub fn is_current(&self, base: &str, bits: &Bitstring) -> bool {
        self.status_base == base && self.bits == bits.digest()
    }
}

/// Credential states and apprenticeships, as of some position in the log. None of it is held in
/// memory by the ledger's writer: every entry is written through and read through the store with
/// a bounded cache ([`Entries`]), so the writer's memory does not grow with the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    /// `status/credential/<id>` and `status/apprenticeship/<id>`: each one's fold;
    /// `status/uuid/<uuid>`: a credential's id by the UUID of its standard form;
    /// `status/index/<key>/<list>/<index>`: a form-2 credential's id by its place in its signing
    /// key's status lists (the same index in the list of each purpose);
    /// `status/list/<key>/<purpose>/<list>`: the latest signed list of each.
    entries: Entries,
}

const CREDENTIAL_PREFIX: &str = "status/credential/";
const APPRENTICESHIP_PREFIX: &str = "status/apprenticeship/";
const UUID_PREFIX: &str = "status/uuid/";
const INDEX_PREFIX: &str = "status/index/";
const LIST_PREFIX: &str = "status/list/";

impl Status {
    /// Status read through `source` (the store), holding nothing in memory but a bounded cache.
    pub fn over(source: Arc<dyn EntrySource>) -> Self {
        Status { entries: Entries::over(source) }
    }

    /// The entries, to store them, drop them or read their faults.
    pub(crate) fn entries_mut(&mut self) -> &mut Entries {
        &mut self.entries
    }

    /// The entries, for their faults and size.
    pub(crate) fn entries(&self) -> &Entries {
        &self.entries
    }

    /// What applying these events first asks of the store, to read at once
    /// ([`super::Projections::prefetch`]): the credential or apprenticeship each changes, the uuid
    /// and status-list place each new credential takes.
    pub fn prefetch_keys<'a>(&self, events: impl IntoIterator<Item = &'a Event>) -> Vec<String> {
        let mut keys = Vec::new();
        for event in events {
            let payload = &event.payload;
            match payload {
                Payload::CredentialRevoked(c) | Payload::CredentialSuspended(c) | Payload::CredentialReinstated(c) => {
                    keys.push(format!("{CREDENTIAL_PREFIX}{}", c.credential))
                }
                Payload::HoursLogged(h) => keys.push(format!("{APPRENTICESHIP_PREFIX}{}", h.apprenticeship)),
                Payload::ApprenticeshipCompleted(c) => {
                    keys.extend(c.apprenticeship.map(|id| format!("{APPRENTICESHIP_PREFIX}{id}")))
                }
                _ => {}
            }
            if let Some(form) = payload.standard_form() {
                keys.push(index_key(&event.author, form.status_list, form.status_index));
            }
            keys.extend(payload.credential_uuid().map(|uuid| format!("{UUID_PREFIX}{uuid}")));
        }
        keys
    }

    /// A credential's status.
    pub fn credential(&self, id: &EventId) -> Option<CredentialStatus> {
        self.read(&format!("{CREDENTIAL_PREFIX}{id}"))
    }

    /// The id of the credential whose standard form has this UUID.
    pub fn by_uuid(&self, uuid: &str) -> Option<EventId> {
        self.read(&format!("{UUID_PREFIX}{uuid}"))
    }

    /// The credential at `index` of `key`'s status list `list`, if one took it.
    pub fn by_status_index(&self, key: &Did, list: u32, index: u32) -> Option<EventId> {
        self.read(&index_key(key, list, index))
    }

    /// The bits of `key`'s list `list` for `purpose`, as the log implies them now: a credential's
    /// revocation bit is set while it is revoked, its suspension bit while it is suspended.
    pub fn list_bits(&self, key: &Did, purpose: Purpose, list: u32) -> Bitstring {
        let mut bits = Bitstring::new(MIN_ENTRIES);
        let wanted = CredentialState::set_by(purpose);
        let places = self.places_in(key, list);
        let keys: Vec<String> = places.iter().map(|(_, id)| format!("{CREDENTIAL_PREFIX}{id}")).collect();
        for ((index, _), credential) in places.iter().zip(self.entries.get_many(&keys)) {
            let state = credential.and_then(|v| serde_json::from_value::<CredentialStatus>(v).ok()).map(|c| c.state);
            if state == Some(wanted) {
                bits.set(*index as usize, true);
            }
        }
        bits
    }

    /// The lists of `key` that hold a credential, in order.
    pub fn lists_of(&self, key: &Did) -> Vec<u32> {
        let prefix = format!("{INDEX_PREFIX}{key}/");
        let mut lists: Vec<u32> = self
            .entries
            .with_prefix(&prefix)
            .iter()
            .filter_map(|(k, _)| parse_index_key(&k[INDEX_PREFIX.len()..]).map(|(_, list, _)| list))
            .collect();
        lists.sort_unstable();
        lists.dedup();
        lists
    }

    /// Does `key`'s list `list` hold a credential?
    pub fn has_list(&self, key: &Did, list: u32) -> bool {
        !self.places_in(key, list).is_empty()
    }

    /// The credentials in `key`'s list `list`, by index.
    pub fn in_list(&self, key: &Did, list: u32) -> impl Iterator<Item = EventId> + use<> {
        self.places_in(key, list).into_iter().map(|(_, id)| id)
    }

    /// The places taken in `key`'s list `list`: (index, credential), by index.
    fn places_in(&self, key: &Did, list: u32) -> Vec<(u32, EventId)> {
        let prefix = format!("{INDEX_PREFIX}{key}/{list}/");
        let mut places: Vec<(u32, EventId)> = self
            .entries
            .with_prefix(&prefix)
            .into_iter()
            .filter_map(|(k, v)| Some((k[prefix.len()..].parse().ok()?, serde_json::from_value(v).ok()?)))
            .collect();
        places.sort_unstable_by_key(|(index, _)| *index);
        places
    }

    /// The latest signed list of `key`'s list `list` for `purpose`.
    pub fn signed_list(&self, key: &Did, purpose: Purpose, list: u32) -> Option<SignedList> {
        self.read(&list_key(&(key.clone(), purpose, list)))
    }

    /// Is the latest signed list of `key`'s list `list` for `purpose` current (it certified the
    /// bits the log implies now) and served under `base`?
    pub fn is_current(&self, key: &Did, purpose: Purpose, list: u32, base: &str) -> bool {
        self.signed_list(key, purpose, list).is_some_and(|s| s.is_current(base, &self.list_bits(key, purpose, list)))
    }

    /// How many indexes of `key`'s list `list` are taken, and the `nth` free one (counting from
    /// 0, wrapping): how an issuing command picks a random free index.
    pub fn free_index(&self, key: &Did, list: u32, nth: u32) -> Option<u32> {
        let taken: std::collections::BTreeSet<u32> = self.places_in(key, list).into_iter().map(|(i, _)| i).collect();
        let free = LIST_SIZE - taken.len() as u32;
        if free == 0 {
            return None;
        }
        let mut skip = nth % free;
        (0..LIST_SIZE).filter(|i| !taken.contains(i)).find(|_| {
            let hit = skip == 0;
            skip = skip.saturating_sub(1);
            hit
        })
    }

    /// A free place for a new credential of `key`: its first list with a free index, and the
    /// `nth` free index there (wrapping).
    pub fn free_place(&self, key: &Did, nth: u32) -> (u32, u32) {
        (0..=u32::MAX).find_map(|list| self.free_index(key, list, nth).map(|index| (list, index))).unwrap_or((0, 0))
    }

    /// An apprenticeship by the id of the event that started it.
    pub fn apprenticeship(&self, id: &EventId) -> Option<Apprenticeship> {
        self.read(&format!("{APPRENTICESHIP_PREFIX}{id}"))
    }

    /// Folds again what `record` concerns (the credential it issues or changes, the
    /// apprenticeship it starts or logs hours on) with the registry as of after it; and when it
    /// changed `revoided`'s void windows, every credential and apprenticeship of that issuer.
    pub fn settle(&mut self, record: &Record, registry: &Registry, revoided: Option<&Did>, changes: &mut Changes) {
        let payload = &record.event.event.payload;
        let credential = match payload {
            Payload::CredentialRevoked(c) | Payload::CredentialSuspended(c) | Payload::CredentialReinstated(c) => {
                Some(c.credential)
            }
            _ => payload.credential().map(|_| record.event.id()),
        };
        let apprenticeship = match payload {
            Payload::ApprenticeshipStarted(_) => Some(record.event.id()),
            Payload::HoursLogged(h) => Some(h.apprenticeship),
            Payload::ApprenticeshipCompleted(c) => c.apprenticeship,
            _ => None,
        };
        self.settle_all::<CredentialStatus>(credential, revoided, registry, CREDENTIAL_PREFIX, changes);
        self.settle_all::<Apprenticeship>(apprenticeship, revoided, registry, APPRENTICESHIP_PREFIX, changes);
    }

    /// Folds again the entry `one`, and every entry of the issuer `revoided` (a scan of every
    /// entry under `prefix`: declarations of compromise are rare); writes and notes the entries
    /// (`prefix` + id) that changed.
    fn settle_all<T: Settled>(
        &mut self,
        one: Option<EventId>,
        revoided: Option<&Did>,
        registry: &Registry,
        prefix: &str,
        changes: &mut Changes,
    ) {
        let mut settled: Vec<(String, T)> = Vec::new();
        if let Some(id) = one {
            let key = format!("{prefix}{id}");
            if let Some(entry) = self.read::<T>(&key) {
                settled.push((key, entry));
            }
        }
        if let Some(issuer) = revoided {
            let of_issuer = self.entries.with_prefix(prefix).into_iter().filter_map(|(key, v)| {
                let entry: T = serde_json::from_value(v).ok()?;
                (entry.issuer() == issuer && Some(key.as_str()) != settled.first().map(|(k, _)| k.as_str()))
                    .then_some((key, entry))
            });
            settled.extend(of_issuer.collect::<Vec<_>>());
        }
        for (key, mut entry) in settled {
            if entry.fold(registry) {
                self.write(key, &entry, changes);
            }
        }
    }

    /// The entry under `key`, read as a `T`.
    fn read<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.entries.get(key).and_then(|v| serde_json::from_value(v).ok())
    }

    /// Writes the entry under `key`, noting that it changed.
    fn write(&mut self, key: String, value: &impl Serialize, changes: &mut Changes) {
        changes.touch(key.clone());
        self.entries.put(key, serde_json::to_value(value).ok());
    }
}

/// What [`Status::settle`] folds again: a credential or an apprenticeship.
trait Settled: Serialize + serde::de::DeserializeOwned {
    fn issuer(&self) -> &Did;
    /// Decides again what void acts leave of it. Returns whether anything changed.
    fn fold(&mut self, registry: &Registry) -> bool;
}

impl Settled for CredentialStatus {
    fn issuer(&self) -> &Did {
        &self.issuer
    }

    /// Decides the state again from the issuance and the status changes, skipping void acts.
    /// Returns whether anything changed.
    fn fold(&mut self, registry: &Registry) -> bool {
        let before = self.clone();
        for change in &mut self.changes {
            change.act.settle(registry);
        }
        if let Some(void) = registry.void_act(&self.signed_by, self.issued_at) {
            self.state = CredentialState::Revoked;
            self.decided_seq = void.declared_seq;
            self.reason = Some(void.reason(&self.signed_by));
        } else {
            (self.state, self.decided_seq, self.reason) = (CredentialState::Active, self.issued_seq, None);
            for change in self.changes.iter().filter(|c| !c.act.void) {
                if self.state == CredentialState::Revoked {
                    break;
                }
                (self.state, self.decided_seq, self.reason) = (change.sets, change.seq, Some(change.reason.clone()));
            }
        }
        *self != before
    }
}

impl Settled for Apprenticeship {
    fn issuer(&self) -> &Did {
        &self.issuer
    }

    /// Decides again whether its start is void, which hours count and which completion stands.
    /// Returns whether anything changed.
    fn fold(&mut self, registry: &Registry) -> bool {
        let before = self.clone();
        self.voided = match (&self.signed_by, self.started_at) {
            (Some(key), Some(at)) => registry.void_act(key, at).map(|v| v.reason(key)),
            _ => None,
        };
        for log in &mut self.logs {
            log.act.settle(registry);
        }
        self.hours_logged = self.logs.iter().filter(|l| !l.act.void).map(|l| u64::from(l.hours)).sum();
        for completion in &mut self.completions {
            completion.act.settle(registry);
        }
        self.completed_by = self.completions.iter().find(|c| !c.act.void).map(|c| c.id);
        *self != before
    }
}

impl Projection for Status {
    const NAME: &'static str = "status";

    fn apply(&mut self, record: &Record, context: &Context, changes: &mut Changes) {
        let event = &record.event;
        let payload = &event.event.payload;
        let Some(issuer) = &context.author_issuer else {
            return;
        };
        let author = &event.event.author;
        if let Some(credential) = payload.credential() {
            let id = event.id();
            let status = CredentialStatus {
                id,
                kind: credential.kind,
                issuer: issuer.clone(),
                signed_by: author.clone(),
                learner: credential.learner.clone(),
                issued_seq: record.seq,
                issued_at: record.recorded_at,
                state: CredentialState::Active,
                decided_seq: record.seq,
                reason: None,
                changes: Vec::new(),
            };
            self.write(format!("{CREDENTIAL_PREFIX}{id}"), &status, changes);
            if let Some(form) = payload.standard_form() {
                let place = index_key(&event.event.author, form.status_list, form.status_index);
                if self.entries.get(&place).is_none() {
                    self.write(place, &id, changes);
                }
            }
            // A uuid answers for the first credential that carried it, and only for it (the
            // rules refuse a second one).
            if let Some(uuid) = payload.credential_uuid() {
                let key = format!("{UUID_PREFIX}{uuid}");
                if self.entries.get(&key).is_none() {
                    self.write(key, &id, changes);
                }
            }
        }
        let change = match payload {
            Payload::CredentialRevoked(c) => Some((c, CredentialState::Revoked)),
            Payload::CredentialSuspended(c) => Some((c, CredentialState::Suspended)),
            Payload::CredentialReinstated(c) => Some((c, CredentialState::Active)),
            _ => None,
        };
        if let Some((c, sets)) = change {
            if let Some(mut credential) = self.credential(&c.credential) {
                credential.changes.push(StatusChangeRecord {
                    seq: record.seq,
                    sets,
                    reason: c.reason.clone(),
                    act: Act::new(author, record.recorded_at),
                });
                self.write(format!("{CREDENTIAL_PREFIX}{}", c.credential), &credential, changes);
            }
        }
        if let Payload::StatusListSigned(signed) = payload {
            let bits = self.list_bits(author, signed.purpose, signed.list).digest();
            let place = (author.clone(), signed.purpose, signed.list);
            let list = SignedList {
                status_base: signed.status_base.clone(),
                created_at: event.event.created_at,
                proof_value: signed.proof_value.clone(),
                seq: record.seq,
                bits,
            };
            self.write(list_key(&place), &list, changes);
        }
        match payload {
            Payload::ApprenticeshipStarted(a) => {
                let id = event.id();
                let apprenticeship = Apprenticeship {
                    id,
                    issuer: issuer.clone(),
                    learner: a.learner.clone(),
                    title: a.title.clone(),
                    employer: a.employer.clone(),
                    started_on: a.started_on,
                    hours_logged: 0,
                    completed_by: None,
                    signed_by: Some(author.clone()),
                    started_at: Some(record.recorded_at),
                    voided: None,
                    logs: Vec::new(),
                    completions: Vec::new(),
                };
                self.write(format!("{APPRENTICESHIP_PREFIX}{id}"), &apprenticeship, changes);
            }
            Payload::HoursLogged(h) => {
                if let Some(mut a) = self.apprenticeship(&h.apprenticeship) {
                    a.logs.push(HoursLog {
                        seq: record.seq,
                        hours: h.hours,
                        act: Act::new(author, record.recorded_at),
                    });
                    self.write(format!("{APPRENTICESHIP_PREFIX}{}", h.apprenticeship), &a, changes);
                }
            }
            Payload::ApprenticeshipCompleted(c) => {
                if let Some(mut a) = c.apprenticeship.and_then(|id| self.apprenticeship(&id)) {
                    a.completions.push(Completion { id: event.id(), act: Act::new(author, record.recorded_at) });
                    self.write(format!("{APPRENTICESHIP_PREFIX}{}", a.id), &a, changes);
                }
            }
            _ => {}
        }
    }

    fn entry(&self, key: &str) -> Option<Value> {
        self.entries.get(key)
    }

    fn keys(&self) -> Vec<String> {
        self.entries.with_prefix(&format!("{}/", Self::NAME)).into_iter().map(|(k, _)| k).collect()
    }

    fn load(&mut self, key: &str, value: Value) -> Result<(), serde_json::Error> {
        // Each entry must read back as what it is before it is kept.
        let bad_key = || <serde_json::Error as serde::de::Error>::custom(format!("bad key {key}"));
        if key.starts_with(CREDENTIAL_PREFIX) {
            CredentialStatus::deserialize(&value)?;
        } else if key.starts_with(UUID_PREFIX) {
            EventId::deserialize(&value)?;
        } else if let Some(place) = key.strip_prefix(INDEX_PREFIX) {
            parse_index_key(place).ok_or_else(bad_key)?;
            EventId::deserialize(&value)?;
        } else if let Some(place) = key.strip_prefix(LIST_PREFIX) {
            parse_list_key(place).ok_or_else(bad_key)?;
            SignedList::deserialize(&value)?;
        } else {
            Apprenticeship::deserialize(&value)?;
        }
        self.entries.put(key.to_owned(), Some(value));
        Ok(())
    }
}

fn index_key(key: &Did, list: u32, index: u32) -> String {
    format!("{INDEX_PREFIX}{key}/{list}/{index}")
}

fn parse_index_key(place: &str) -> Option<(Did, u32, u32)> {
    let mut parts = place.split('/');
    let (key, list, index) = (parts.next()?, parts.next()?, parts.next()?);
    Some((key.parse().ok()?, list.parse().ok()?, index.parse().ok()?))
}

/// The entry key of a signed list: `status/list/<key>/<purpose>/<list>`.
pub fn list_key((key, purpose, list): &(Did, Purpose, u32)) -> String {
    format!("{LIST_PREFIX}{key}/{purpose}/{list}")
}

fn parse_list_key(place: &str) -> Option<(Did, Purpose, u32)> {
    let mut parts = place.split('/');
    let (key, purpose, list) = (parts.next()?, parts.next()?, parts.next()?);
    Some((key.parse().ok()?, purpose.parse().ok()?, list.parse().ok()?))
}
