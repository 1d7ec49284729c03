//! The status projection: every credential's state (active, suspended, revoked) with the event
//! that decided it and every status change before it, and every apprenticeship in progress with
//! the hours logged so far. A key revocation with `compromised_since` revokes every credential
//! that key signed from that instant on (by the ledger's clock, `recorded_at`, which a thief of
//! the key cannot backdate), voids the apprenticeships it started and the hours it logged from
//! then on; what it signed before stays valid.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::{CredentialKind, Date, KeyRevoked, Payload, Timestamp};
use crate::id::{Did, EventId, Seq};
use crate::projection::{Changes, Context, Projection, Record};
use crate::status_list::{Bits, LIST_SIZE, Purpose};

/// Where a credential stands.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum CredentialState {
    Active,
    Suspended,
    Revoked,
}

impl CredentialState {
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
    /// The seq of the event that set the state (the issuing event while active and never changed).
    pub decided_seq: Seq,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The seqs of every event that changed the state, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Seq>,
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
}

/// One `apprenticeship.hours_logged`: who signed it, when it was recorded, and whether a key
/// compromise voided it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HoursLog {
    pub seq: Seq,
    pub signed_by: Did,
    pub recorded_at: Timestamp,
    pub hours: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub void: bool,
}

/// Credential states and apprenticeships, as of some position in the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Status {
    credentials: BTreeMap<EventId, CredentialStatus>,
    apprenticeships: BTreeMap<EventId, Apprenticeship>,
    /// Each credential's id by the UUID of its standard form (`credentialStatus` lookups).
    by_uuid: BTreeMap<String, EventId>,
    /// Each form-2 credential's id by its place in its signing key's status lists: (key, list,
    /// index), the same index in the list of each purpose.
    by_status_index: BTreeMap<(Did, u32, u32), EventId>,
}

const CREDENTIAL_PREFIX: &str = "status/credential/";
const APPRENTICESHIP_PREFIX: &str = "status/apprenticeship/";
const UUID_PREFIX: &str = "status/uuid/";
const INDEX_PREFIX: &str = "status/index/";

impl Status {
    /// A credential's status.
    pub fn credential(&self, id: &EventId) -> Option<&CredentialStatus> {
        self.credentials.get(id)
    }

    /// The id of the credential whose standard form has this UUID.
    pub fn by_uuid(&self, uuid: &str) -> Option<EventId> {
        self.by_uuid.get(uuid).copied()
    }

    /// The credential at `index` of `key`'s status list `list`, if one took it.
    pub fn by_status_index(&self, key: &Did, list: u32, index: u32) -> Option<EventId> {
        self.by_status_index.get(&(key.clone(), list, index)).copied()
    }

    /// The bits of `key`'s list `list` for `purpose`, as the log implies them now: a credential's
    /// revocation bit is set while it is revoked, its suspension bit while it is suspended.
    pub fn list_bits(&self, key: &Did, purpose: Purpose, list: u32) -> Bits {
        let mut bits = Bits::default();
        let wanted = match purpose {
            Purpose::Revocation => CredentialState::Revoked,
            Purpose::Suspension => CredentialState::Suspended,
        };
        let range = (key.clone(), list, 0)..=(key.clone(), list, u32::MAX);
        for ((_, _, index), id) in self.by_status_index.range(range) {
            if self.credentials.get(id).is_some_and(|c| c.state == wanted) {
                bits.set(*index, true);
            }
        }
        bits
    }

    /// How many indexes of `key`'s list `list` are taken, and the `nth` free one (counting from
    /// 0, wrapping): how an issuing command picks a random free index.
    pub fn free_index(&self, key: &Did, list: u32, nth: u32) -> Option<u32> {
        let range = (key.clone(), list, 0)..=(key.clone(), list, u32::MAX);
        let taken: std::collections::BTreeSet<u32> =
            self.by_status_index.range(range).map(|((_, _, i), _)| *i).collect();
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
    pub fn apprenticeship(&self, id: &EventId) -> Option<&Apprenticeship> {
        self.apprenticeships.get(id)
    }

    fn set_state(&mut self, id: &EventId, state: CredentialState, seq: Seq, reason: &str, changes: &mut Changes) {
        if let Some(c) = self.credentials.get_mut(id) {
            c.state = state;
            c.decided_seq = seq;
            c.reason = Some(reason.to_owned());
            c.changes.push(seq);
            changes.touch(format!("{CREDENTIAL_PREFIX}{id}"));
        }
    }
}

impl Projection for Status {
    const NAME: &'static str = "status";

    fn apply(&mut self, record: &Record, context: &Context, changes: &mut Changes) {
        let event = &record.event;
        let payload = &event.event.payload;
        if let Payload::KeyRevoked(KeyRevoked { key, compromised_since: Some(since), .. }) = payload {
            let reason = format!("its signing key {key} was compromised from {since} on");
            let compromised: Vec<EventId> = self
                .credentials
                .values()
                .filter(|c| &c.signed_by == key && c.issued_at >= *since && c.state != CredentialState::Revoked)
                .map(|c| c.id)
                .collect();
            for id in compromised {
                self.set_state(&id, CredentialState::Revoked, record.seq, &reason, changes);
            }
            for a in self.apprenticeships.values_mut() {
                let mut touched = false;
                let started_then = a.signed_by.as_ref() == Some(key) && a.started_at.is_some_and(|t| t >= *since);
                if started_then && a.voided.is_none() {
                    a.voided = Some(reason.clone());
                    touched = true;
                }
                for log in a.logs.iter_mut().filter(|l| !l.void && &l.signed_by == key && l.recorded_at >= *since) {
                    log.void = true;
                    a.hours_logged -= u64::from(log.hours);
                    touched = true;
                }
                if touched {
                    changes.touch(format!("{APPRENTICESHIP_PREFIX}{}", a.id));
                }
            }
        }
        let Some(issuer) = &context.author_issuer else {
            return;
        };
        if let Some(credential) = payload.credential() {
            let id = event.id();
            self.credentials.insert(
                id,
                CredentialStatus {
                    id,
                    kind: credential.kind,
                    issuer: issuer.clone(),
                    signed_by: event.event.author.clone(),
                    learner: credential.learner.clone(),
                    issued_seq: record.seq,
                    issued_at: record.recorded_at,
                    state: CredentialState::Active,
                    decided_seq: record.seq,
                    reason: None,
                    changes: Vec::new(),
                },
            );
            changes.touch(format!("{CREDENTIAL_PREFIX}{id}"));
            if let Some(form) = payload.standard_form() {
                let place = (event.event.author.clone(), form.status_list, form.status_index);
                if let std::collections::btree_map::Entry::Vacant(entry) = self.by_status_index.entry(place) {
                    entry.insert(id);
                    changes.touch(index_key(&event.event.author, form.status_list, form.status_index));
                }
            }
            // A uuid answers for the first credential that carried it, and only for it (the
            // rules refuse a second one).
            if let Some(uuid) = payload.credential_uuid() {
                if let std::collections::btree_map::Entry::Vacant(entry) = self.by_uuid.entry(uuid.to_owned()) {
                    entry.insert(id);
                    changes.touch(format!("{UUID_PREFIX}{uuid}"));
                }
            }
        }
        match payload {
            Payload::CredentialRevoked(c) => {
                self.set_state(&c.credential, CredentialState::Revoked, record.seq, &c.reason, changes)
            }
            Payload::CredentialSuspended(c) => {
                self.set_state(&c.credential, CredentialState::Suspended, record.seq, &c.reason, changes)
            }
            Payload::CredentialReinstated(c) => {
                self.set_state(&c.credential, CredentialState::Active, record.seq, &c.reason, changes)
            }
            Payload::ApprenticeshipStarted(a) => {
                let id = event.id();
                self.apprenticeships.insert(
                    id,
                    Apprenticeship {
                        id,
                        issuer: issuer.clone(),
                        learner: a.learner.clone(),
                        title: a.title.clone(),
                        employer: a.employer.clone(),
                        started_on: a.started_on,
                        hours_logged: 0,
                        completed_by: None,
                        signed_by: Some(event.event.author.clone()),
                        started_at: Some(record.recorded_at),
                        voided: None,
                        logs: Vec::new(),
                    },
                );
                changes.touch(format!("{APPRENTICESHIP_PREFIX}{id}"));
            }
            Payload::HoursLogged(h) => {
                if let Some(a) = self.apprenticeships.get_mut(&h.apprenticeship) {
                    a.hours_logged += u64::from(h.hours);
                    a.logs.push(HoursLog {
                        seq: record.seq,
                        signed_by: event.event.author.clone(),
                        recorded_at: record.recorded_at,
                        hours: h.hours,
                        void: false,
                    });
                    changes.touch(format!("{APPRENTICESHIP_PREFIX}{}", h.apprenticeship));
                }
            }
            Payload::ApprenticeshipCompleted(c) => {
                if let Some(a) = c.apprenticeship.and_then(|id| self.apprenticeships.get_mut(&id)) {
                    a.completed_by = Some(event.id());
                    changes.touch(format!("{APPRENTICESHIP_PREFIX}{}", a.id));
                }
            }
            _ => {}
        }
    }

    fn entry(&self, key: &str) -> Option<Value> {
        if let Some(id) = key.strip_prefix(CREDENTIAL_PREFIX) {
            return self.credentials.get(&id.parse().ok()?).and_then(|c| serde_json::to_value(c).ok());
        }
        if let Some(uuid) = key.strip_prefix(UUID_PREFIX) {
            return self.by_uuid.get(uuid).map(|id| Value::String(id.to_string()));
        }
        if let Some(place) = key.strip_prefix(INDEX_PREFIX) {
            return self.by_status_index.get(&parse_index_key(place)?).map(|id| Value::String(id.to_string()));
        }
        let id = key.strip_prefix(APPRENTICESHIP_PREFIX)?.parse().ok()?;
        self.apprenticeships.get(&id).and_then(|a| serde_json::to_value(a).ok())
    }

    fn keys(&self) -> Vec<String> {
        let credentials = self.credentials.keys().map(|id| format!("{CREDENTIAL_PREFIX}{id}"));
        let apprenticeships = self.apprenticeships.keys().map(|id| format!("{APPRENTICESHIP_PREFIX}{id}"));
        let uuids = self.by_uuid.keys().map(|uuid| format!("{UUID_PREFIX}{uuid}"));
        let indexes = self.by_status_index.keys().map(|(key, list, index)| index_key(key, *list, *index));
        credentials.chain(apprenticeships).chain(uuids).chain(indexes).collect()
    }

    fn load(&mut self, key: &str, value: Value) -> Result<(), serde_json::Error> {
        if key.starts_with(CREDENTIAL_PREFIX) {
            let c: CredentialStatus = serde_json::from_value(value)?;
            self.credentials.insert(c.id, c);
        } else if let Some(uuid) = key.strip_prefix(UUID_PREFIX) {
            self.by_uuid.insert(uuid.to_owned(), serde_json::from_value(value)?);
        } else if let Some(place) = key.strip_prefix(INDEX_PREFIX) {
            let place = parse_index_key(place)
                .ok_or_else(|| <serde_json::Error as serde::de::Error>::custom(format!("bad key {key}")))?;
            self.by_status_index.insert(place, serde_json::from_value(value)?);
        } else {
            let a: Apprenticeship = serde_json::from_value(value)?;
            self.apprenticeships.insert(a.id, a);
        }
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
