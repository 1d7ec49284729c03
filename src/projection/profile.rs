//! The learner profile projection: for each learner (by their current did:key), the credentials
//! issued to them and the apprenticeships they started; and [`Profile`], the rendered view that
//! joins it with credential status and issuer names and aggregates skills with their evidence.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::{Deserialize, Serialize, Serializer};
use serde_json::Value;

use crate::event::{CredentialKind, Date, Payload, Skill};
use crate::id::{Did, EventId, Seq};
use crate::projection::entries::{Entries, EntrySource};
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

/// Learners' entries, and which keys moved to which. None of them is held in memory by the
/// ledger's writer: applying a record writes its entries through, and the reads go through to
/// the store with a bounded cache ([`Entries`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Profiles {
    entries: Entries,
}

/// A learner's keys moved from and apprenticeships started.
const LEARNER_PREFIX: &str = "profile/learner/";
/// One credential of a learner's: `profile/credential/<did>/<seq, 20 digits>`, so a new
/// credential writes one small entry, not the learner's whole record again.
const CREDENTIAL_PREFIX: &str = "profile/credential/";

/// What a learner's `profile/learner/` entry holds (the credentials are entries of their own).
#[derive(Serialize, Deserialize, Default)]
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
    /// Profiles read through `source` (the store), holding nothing in memory but a bounded cache.
    pub fn over(source: Arc<dyn EntrySource>) -> Self {
        Profiles { entries: Entries::over(source) }
    }

    /// The entries the store now holds leave memory (see [`Entries::stored`]).
    pub(crate) fn entries_mut(&mut self) -> &mut Entries {
        &mut self.entries
    }

    /// The entries, for their faults and size.
    pub(crate) fn entries(&self) -> &Entries {
        &self.entries
    }

    /// What following these learners' key moves first asks of the store, to read at once
    /// ([`super::Projections::prefetch`]: one query on a database for a batch, not one per
    /// credential).
    pub fn prefetch_keys<'a>(&self, learners: impl IntoIterator<Item = &'a Did>) -> Vec<String> {
        learners.into_iter().map(|did| format!("{MOVED_PREFIX}{did}")).collect()
    }

    /// The did a learner uses now: follows `learner.key_linked` moves from `did`.
    pub fn current(&self, did: &Did) -> Did {
        let mut did = did.clone();
        // Rules let a key move once, so the chain ends; `seen` guards stored data.
        let mut seen = BTreeSet::new();
        while seen.insert(did.as_str().to_owned()) {
            match self.moved(&did) {
                Some(next) => did = next.to,
                None => break,
            }
        }
        did
    }

    /// Has this key been moved away from?
    pub fn has_moved(&self, did: &Did) -> bool {
        self.moved(did).is_some()
    }

    /// Where `did` moved, if it did.
    pub fn moved(&self, did: &Did) -> Option<Moved> {
        self.entries.get(&format!("{MOVED_PREFIX}{did}")).and_then(|v| serde_json::from_value(v).ok())
    }

    /// The `profile/learner/` entry of the learner using `did` now (`did` is current).
    fn meta(&self, current: &Did) -> Option<LearnerMeta> {
        self.entries.get(&format!("{LEARNER_PREFIX}{current}")).and_then(|v| serde_json::from_value(v).ok())
    }

    /// The credential entries of the learner using `did` now (`did` is current), in seq order.
    fn credential_entries(&self, current: &Did) -> Vec<(String, Value)> {
        self.entries.with_prefix(&format!("{CREDENTIAL_PREFIX}{current}/"))
    }

    /// The stored entry of the learner now using `did`, if any credential reached them.
    pub fn learner(&self, did: &Did) -> Option<LearnerEntry> {
        let learner = self.current(did);
        let meta = self.meta(&learner);
        let credentials = self.credential_entries(&learner);
        if meta.is_none() && credentials.is_empty() {
            return None;
        }
        let meta = meta.unwrap_or_default();
        Some(LearnerEntry {
            earlier_keys: meta.earlier_keys,
            credentials: credentials.into_iter().filter_map(|(_, v)| serde_json::from_value(v).ok()).collect(),
            apprenticeships: meta.apprenticeships,
        })
    }

    /// Does the learner now using `did` hold a credential or an apprenticeship?
    pub fn holds_anything(&self, did: &Did) -> bool {
        let learner = self.current(did);
        self.meta(&learner).is_some_and(|m| !m.apprenticeships.is_empty())
            || !self.credential_entries(&learner).is_empty()
    }

    /// How many keys the learner now using `did` has had: their earlier keys and the current one.
    pub fn key_count(&self, did: &Did) -> usize {
        self.meta(&self.current(did)).map_or(1, |m| m.earlier_keys.len() + 1)
    }

    /// The learner's profile, joined with status and issuer names. `as_of_seq` is the last seq
    /// the projections reflect.
    pub fn render(&self, did: &Did, status: &Status, registry: &Registry, as_of_seq: Option<Seq>) -> Profile {
        let learner = self.current(did);
        let entry = self.learner(&learner).unwrap_or_default();
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

    /// Writes the `profile/learner/` entry of `learner` (current), noting that it changed; a
    /// learner with only credentials has no entry of this kind.
    fn put_meta(&mut self, learner: &Did, meta: &LearnerMeta, changes: &mut Changes) {
        let key = format!("{LEARNER_PREFIX}{learner}");
        let value = if meta.earlier_keys.is_empty() && meta.apprenticeships.is_empty() {
            None
        } else {
            serde_json::to_value(meta).ok()
        };
        changes.touch(key.clone());
        self.entries.put(key, value);
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
            let key = credential_key(&self.current(c.learner), record.seq);
            changes.touch(key.clone());
            self.entries.put(key, serde_json::to_value(summary).ok());
            return;
        }
        match payload {
            Payload::ApprenticeshipStarted(a) if context.author_issuer.is_some() => {
                let learner = self.current(&a.learner);
                let mut meta = self.meta(&learner).unwrap_or_default();
                meta.apprenticeships.push(event.id());
                self.put_meta(&learner, &meta, changes);
            }
            Payload::KeyLinked(link) => {
                let from = self.current(&link.from);
                let to = self.current(&link.to);
                // What `from` held leaves it, then joins what `to` holds (read after, as `to`
                // may be `from` when a bundle's selection leaves the rules unable to tell).
                let moved = self.meta(&from).unwrap_or_default();
                let credentials = self.credential_entries(&from);
                self.put_meta(&from, &LearnerMeta::default(), changes);
                for (key, _) in &credentials {
                    changes.touch(key.clone());
                    self.entries.put(key.clone(), None);
                }
                let mut target = self.meta(&to).unwrap_or_default();
                for (key, value) in credentials {
                    let seq = key.rsplit_once('/').map_or("", |(_, seq)| seq);
                    let key = format!("{CREDENTIAL_PREFIX}{to}/{seq}");
                    changes.touch(key.clone());
                    self.entries.put(key, Some(value));
                }
                target.earlier_keys.extend(moved.earlier_keys);
                target.earlier_keys.push(from.clone());
                target.apprenticeships.extend(moved.apprenticeships);
                self.put_meta(&to, &target, changes);
                let key = format!("{MOVED_PREFIX}{from}");
                changes.touch(key.clone());
                self.entries.put(key, serde_json::to_value(Moved { to, seq: record.seq }).ok());
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
        if let Some(did) = key.strip_prefix(LEARNER_PREFIX) {
            did.parse::<Did>().map_err(serde::de::Error::custom)?;
            serde_json::from_value::<LearnerMeta>(value.clone())?;
        } else if let Some(rest) = key.strip_prefix(CREDENTIAL_PREFIX) {
            let did = rest.rsplit_once('/').map_or(rest, |(d, _)| d);
            did.parse::<Did>().map_err(serde::de::Error::custom)?;
            serde_json::from_value::<CredentialSummary>(value.clone())?;
        } else if let Some(did) = key.strip_prefix(MOVED_PREFIX) {
            did.parse::<Did>().map_err(serde::de::Error::custom)?;
            serde_json::from_value::<Moved>(value.clone())?;
        } else {
            return Ok(());
        }
        self.entries.put(key.to_owned(), Some(value));
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
