//! The learner profile projection: for each learner (by their current did:key), the credentials
//! issued to them and the apprenticeships they started; and [`Profile`], the rendered view that
//! joins it with credential status and issuer names and aggregates skills with their evidence.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::event::{CredentialKind, Date, Payload, Skill};
use crate::id::{Did, EventId, Seq};
use crate::projection::registry::Registry;
use crate::projection::status::{CredentialState, Status};
use crate::projection::{Changes, Context, Projection, Record};

/// What the profile keeps of one credential.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct CredentialSummary {
    pub id: EventId,
    pub seq: Seq,
    pub kind: CredentialKind,
    pub title: String,
    /// The issuer's did (a profile shows it with the issuer's name, as `issuer`).
    #[serde(rename = "issuer_did")]
    pub issuer: Did,
    pub skills: Vec<Skill>,
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "plain_optional")]
    pub credits: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<u32>,
    pub completed_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
}

/// Where a learner's key moved, and the seq of the `learner.key_linked` record that moved it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Moved {
    pub to: Did,
    pub seq: Seq,
}

/// One learner's stored entry.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct LearnerEntry {
    /// Keys the learner moved away from, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_keys: Vec<Did>,
    /// In seq order.
    pub credentials: Vec<CredentialSummary>,
    /// Apprenticeships started, by the id of their start event, in seq order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apprenticeships: Vec<EventId>,
}

/// Learners' entries, and which keys moved to which.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profiles {
    learners: BTreeMap<Did, LearnerEntry>,
    moved_to: BTreeMap<Did, Moved>,
}

/// A learner's keys moved from and apprenticeships started.
const LEARNER_PREFIX: &str = "profile/learner/";
/// One credential of a learner's: `profile/credential/<did>/<seq, 20 digits>`, so a new
/// credential writes one small entry, not the learner's whole record again.
const CREDENTIAL_PREFIX: &str = "profile/credential/";

/// What a learner's `profile/learner/` entry holds (the credentials are entries of their own).
#[derive(Serialize, Deserialize)]
struct LearnerMeta {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    earlier_keys: Vec<Did>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    apprenticeships: Vec<EventId>,
}

fn credential_key(learner: &Did, seq: Seq) -> String {
    format!("{CREDENTIAL_PREFIX}{learner}/{seq:020}")
}
const MOVED_PREFIX: &str = "profile/moved/";

impl Profiles {
    /// The did a learner uses now: follows `learner.key_linked` moves from `did`.
    pub fn current(&self, did: &Did) -> Did {
        let mut did = did;
        // Rules let a key move once, so the chain ends; the bound guards stored data.
        for _ in 0..=self.moved_to.len() {
            match self.moved_to.get(did) {
                Some(next) => did = &next.to,
                None => break,
            }
        }
        did.clone()
    }

    /// Has this key been moved away from?
    pub fn has_moved(&self, did: &Did) -> bool {
        self.moved_to.contains_key(did)
    }

    /// Where `did` moved, if it did.
    pub fn moved(&self, did: &Did) -> Option<&Moved> {
        self.moved_to.get(did)
    }

    /// The stored entry of the learner now using `did`, if any credential reached them.
    pub fn learner(&self, did: &Did) -> Option<&LearnerEntry> {
        self.learners.get(&self.current(did))
    }

    /// Does the learner now using `did` hold a credential or an apprenticeship?
    pub fn holds_anything(&self, did: &Did) -> bool {
        self.learner(did).is_some_and(|e| !e.credentials.is_empty() || !e.apprenticeships.is_empty())
    }

    /// How many keys the learner now using `did` has had: their earlier keys and the current one.
    pub fn key_count(&self, did: &Did) -> usize {
        self.learner(did).map_or(1, |e| e.earlier_keys.len() + 1)
    }

    /// The learner's profile, joined with status and issuer names. `as_of_seq` is the last seq
    /// the projections reflect.
    pub fn render(&self, did: &Did, status: &Status, registry: &Registry, as_of_seq: Option<Seq>) -> Profile {
        let learner = self.current(did);
        let empty = LearnerEntry::default();
        let entry = self.learners.get(&learner).unwrap_or(&empty);
        let mut skills: BTreeMap<&str, ProfileSkill> = BTreeMap::new();
        let mut totals = Totals::default();
        let credentials = entry
            .credentials
            .iter()
            .map(|c| {
                let state = status.credential(&c.id).map_or(CredentialState::Active, |s| s.state);
                if state == CredentialState::Active {
                    totals.credits += c.credits.unwrap_or(0.0);
                    totals.apprenticeship_hours += u64::from(c.hours.unwrap_or(0));
                    for skill in &c.skills {
                        let s = skills.entry(&skill.id).or_insert_with(|| ProfileSkill {
                            id: skill.id.clone(),
                            label: skill.label.clone().unwrap_or_else(|| skill.id.clone()),
                            evidence: Vec::new(),
                            credits: 0.0,
                            hours: 0,
                        });
                        s.evidence.push(c.id);
                        s.credits += c.credits.unwrap_or(0.0);
                        s.hours += u64::from(c.hours.unwrap_or(0));
                    }
                }
                ProfileCredential {
                    issuer: IssuerRef {
                        name: registry.issuer(&c.issuer).map_or_else(String::new, |i| i.name.clone()),
                        did: c.issuer.clone(),
                    },
                    status: state,
                    summary: c.clone(),
                }
            })
            .collect();
        let apprenticeships_in_progress = entry
            .apprenticeships
            .iter()
            .filter_map(|id| status.apprenticeship(id))
            .filter(|a| a.completed_by.is_none() && a.voided.is_none())
            .map(|a| InProgress {
                id: a.id,
                title: a.title.clone(),
                employer: a.employer.clone(),
                issuer: IssuerRef {
                    name: registry.issuer(&a.issuer).map_or_else(String::new, |i| i.name.clone()),
                    did: a.issuer.clone(),
                },
                started_on: a.started_on,
                hours_logged: a.hours_logged,
            })
            .collect();
        Profile {
            learner,
            earlier_keys: entry.earlier_keys.clone(),
            as_of_seq,
            credentials,
            skills: skills.into_values().collect(),
            apprenticeships_in_progress,
            totals,
        }
    }

    /// The entry of the learner now using `did`; notes that its `profile/learner/` entry changed.
    fn learner_mut(&mut self, did: &Did, changes: &mut Changes) -> &mut LearnerEntry {
        let learner = self.current(did);
        changes.touch(format!("{LEARNER_PREFIX}{learner}"));
        self.learners.entry(learner).or_default()
    }
}

impl Projection for Profiles {
    const NAME: &'static str = "profile";

    fn apply(&mut self, record: &Record, context: &Context, changes: &mut Changes) {
        let event = &record.event;
        let payload = &event.event.payload;
        if let (Some(c), Some(issuer)) = (payload.credential(), &context.author_issuer) {
            let (code, employer, valid_until) = match payload {
                Payload::CourseCompleted(p) => (Some(p.code.clone()), None, None),
                Payload::ApprenticeshipCompleted(p) => (None, Some(p.employer.clone()), None),
                Payload::CertificateAwarded(p) => (None, None, p.valid_until),
                _ => (None, None, None),
            };
            let summary = CredentialSummary {
                id: event.id(),
                seq: record.seq,
                kind: c.kind,
                title: c.title.to_owned(),
                issuer: issuer.clone(),
                skills: c.skills.to_vec(),
                credits: c.credits,
                hours: c.hours,
                completed_on: c.completed_on,
                code,
                employer,
                valid_until,
            };
            let learner = self.current(c.learner);
            changes.touch(credential_key(&learner, record.seq));
            self.learners.entry(learner).or_default().credentials.push(summary);
            return;
        }
        match payload {
            Payload::ApprenticeshipStarted(a) if context.author_issuer.is_some() => {
                self.learner_mut(&a.learner, changes).apprenticeships.push(event.id());
            }
            Payload::KeyLinked(link) => {
                let from = self.current(&link.from);
                let to = self.current(&link.to);
                let moved = self.learners.remove(&from).unwrap_or_default();
                changes.touch(format!("{LEARNER_PREFIX}{from}"));
                for c in &moved.credentials {
                    changes.touch(credential_key(&from, c.seq));
                    changes.touch(credential_key(&to, c.seq));
                }
                let target = self.learner_mut(&to, changes);
                target.earlier_keys.extend(moved.earlier_keys);
                target.earlier_keys.push(from.clone());
                target.credentials.extend(moved.credentials);
                target.credentials.sort_by_key(|c| c.seq);
                target.apprenticeships.extend(moved.apprenticeships);
                self.moved_to.insert(from.clone(), Moved { to, seq: record.seq });
                changes.touch(format!("{MOVED_PREFIX}{from}"));
            }
            _ => {}
        }
    }

    fn entry(&self, key: &str) -> Option<Value> {
        if let Some(did) = key.strip_prefix(LEARNER_PREFIX) {
            let e = self.learners.get(&did.parse().ok()?)?;
            // A learner with only credentials has no entry of this kind.
            if e.earlier_keys.is_empty() && e.apprenticeships.is_empty() {
                return None;
            }
            let meta = LearnerMeta { earlier_keys: e.earlier_keys.clone(), apprenticeships: e.apprenticeships.clone() };
            return serde_json::to_value(meta).ok();
        }
        if let Some(rest) = key.strip_prefix(CREDENTIAL_PREFIX) {
            let (did, seq) = rest.rsplit_once('/')?;
            let (did, seq): (Did, Seq) = (did.parse().ok()?, seq.parse().ok()?);
            let credentials = &self.learners.get(&did)?.credentials;
            let found = credentials.binary_search_by_key(&seq, |c| c.seq).ok()?;
            return serde_json::to_value(&credentials[found]).ok();
        }
        let did: Did = key.strip_prefix(MOVED_PREFIX)?.parse().ok()?;
        self.moved_to.get(&did).and_then(|m| serde_json::to_value(m).ok())
    }

    fn keys(&self) -> Vec<String> {
        let with_meta =
            self.learners.iter().filter(|(_, e)| !e.earlier_keys.is_empty() || !e.apprenticeships.is_empty());
        let learners = with_meta.map(|(d, _)| format!("{LEARNER_PREFIX}{d}"));
        let credentials =
            self.learners.iter().flat_map(|(d, e)| e.credentials.iter().map(move |c| credential_key(d, c.seq)));
        let moved = self.moved_to.keys().map(|d| format!("{MOVED_PREFIX}{d}"));
        learners.chain(credentials).chain(moved).collect()
    }

    fn load(&mut self, key: &str, value: Value) -> Result<(), serde_json::Error> {
        if let Some(did) = key.strip_prefix(LEARNER_PREFIX) {
            let did = did.parse().map_err(serde::de::Error::custom)?;
            let meta: LearnerMeta = serde_json::from_value(value)?;
            let entry = self.learners.entry(did).or_default();
            entry.earlier_keys = meta.earlier_keys;
            entry.apprenticeships = meta.apprenticeships;
        } else if let Some(rest) = key.strip_prefix(CREDENTIAL_PREFIX) {
            let did = rest.rsplit_once('/').map_or(rest, |(d, _)| d).parse().map_err(serde::de::Error::custom)?;
            // Entries load in key order, which is seq order for each learner.
            self.learners.entry(did).or_default().credentials.push(serde_json::from_value(value)?);
        } else if let Some(did) = key.strip_prefix(MOVED_PREFIX) {
            let did = did.parse().map_err(serde::de::Error::custom)?;
            self.moved_to.insert(did, serde_json::from_value(value)?);
        }
        Ok(())
    }
}

/// A learner's profile: a function of the log alone (no clock, no map iteration order).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Profile {
    pub learner: Did,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub earlier_keys: Vec<Did>,
    pub as_of_seq: Option<Seq>,
    pub credentials: Vec<ProfileCredential>,
    pub skills: Vec<ProfileSkill>,
    pub apprenticeships_in_progress: Vec<InProgress>,
    pub totals: Totals,
}

/// An issuer as a profile names it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct IssuerRef {
    pub did: Did,
    pub name: String,
}

/// A credential in a profile, with its current status.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProfileCredential {
    #[serde(flatten)]
    pub summary: CredentialSummary,
    pub issuer: IssuerRef,
    pub status: CredentialState,
}

/// A skill with the active credentials that evidence it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ProfileSkill {
    pub id: String,
    pub label: String,
    pub evidence: Vec<EventId>,
    #[serde(serialize_with = "plain_number")]
    pub credits: f64,
    pub hours: u64,
}

/// An apprenticeship that has started, not yet completed, and is not void.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct InProgress {
    pub id: EventId,
    pub title: String,
    pub employer: String,
    pub issuer: IssuerRef,
    pub started_on: Date,
    pub hours_logged: u64,
}

/// Totals over active credentials.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
pub struct Totals {
    #[serde(serialize_with = "plain_number")]
    pub credits: f64,
    pub apprenticeship_hours: u64,
}

/// Writes whole numbers without a fraction (`3`, not `3.0`). Credits come in quarter units, so
/// their sums are exact in binary floating point.
fn plain_number<S: Serializer>(n: &f64, s: S) -> Result<S::Ok, S::Error> {
    if n.fract() == 0.0 && n.abs() < 9.0e15 { s.serialize_i64(*n as i64) } else { s.serialize_f64(*n) }
}

fn plain_optional<S: Serializer>(n: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
    match n {
        Some(n) => plain_number(n, s),
        None => s.serialize_none(),
    }
}
