//! Events: what an author signed. An [`Event`] is the envelope (`v`, `kind`, `author`,
//! `created_at`, `body`) around a typed [`Payload`]; a [`SignedEvent`] adds the Ed25519 signature
//! over the canonical bytes of the envelope and keeps the exact JSON that was signed, so the log
//! stores and hashes what the author signed, never a re-serialization of it.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::canonical::{self, CanonicalError};
use crate::id::{Did, EventId, text_serde};
use crate::keys::{SecretKey, SignatureFault};
use crate::schema::{self, SchemaError};

/// The envelope version this build writes and reads.
pub const VERSION: u32 = 1;

/// An instant, written as RFC 3339 in UTC with a `Z` (`2026-05-01T12:00:00Z`).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(pub OffsetDateTime);

impl Timestamp {
    /// `at`, in UTC, to the whole second (how the ledger stamps records).
    pub fn whole_seconds(at: OffsetDateTime) -> Self {
        let utc = at.to_offset(UtcOffset::UTC);
        Timestamp(utc.replace_nanosecond(0).unwrap_or(utc))
    }
}

/// The earliest instant a timestamp may name: nothing on a ledger happened before 1970.
const EARLIEST_YEAR: i32 = 1970;

impl FromStr for Timestamp {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{s}` is not an RFC 3339 UTC timestamp like 2026-05-01T12:00:00Z");
        if !s.ends_with('Z') || s.as_bytes().get(10) != Some(&b'T') {
            return Err(bad());
        }
        // RFC 3339 allows a leap second, which `time` reads as 23:59:59.999999999: the instant
        // would no longer print as it was signed.
        if s.get(17..19) == Some("60") {
            return Err(format!("`{s}`: a leap second (:60) is not accepted; use :59"));
        }
        let at = OffsetDateTime::parse(s, &Rfc3339).map_err(|_| bad())?;
        if at.year() < EARLIEST_YEAR {
            return Err(format!("`{s}` is before {EARLIEST_YEAR}"));
        }
        Ok(Timestamp(at))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(&Rfc3339).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

/// A calendar date, written `YYYY-MM-DD` (RFC 3339 full-date).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Date(pub time::Date);

impl FromStr for Date {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        time::Date::parse(s, format_description!("[year]-[month]-[day]"))
            .map(Date)
            .map_err(|_| format!("`{s}` is not an RFC 3339 date like 2026-05-01"))
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0.format(format_description!("[year]-[month]-[day]")).map_err(|_| fmt::Error)?;
        f.write_str(&text)
    }
}

text_serde!(Timestamp, Date);

/// A skill a credential evidences: a code or URI from a taxonomy (ESCO, O*NET, Lightcast, or the
/// issuer's own), an optional human label and an optional level.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct Skill {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
}

impl Skill {
    /// Parses `ID[=Label]` items separated by commas, as the CLI takes them.
    pub fn parse_list(text: &str) -> Vec<Skill> {
        text.split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(|item| match item.split_once('=') {
                Some((id, label)) => {
                    Skill { id: id.trim().to_owned(), label: Some(label.trim().to_owned()), level: None }
                }
                None => Skill { id: item.to_owned(), label: None, level: None },
            })
            .collect()
    }
}

/// What sort of institution an issuer is.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum IssuerCategory {
    College,
    University,
    Provider,
    Employer,
}

/// `ledger.genesis`: the first event, naming the log and its operator.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    pub origin: String,
    pub operator: Did,
}

/// `issuer.registered`: the operator admits an institution; its identity is its first key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IssuerRegistered {
    pub issuer: Did,
    pub name: String,
    pub category: IssuerCategory,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// `issuer.suspended`: the operator stops an issuer from signing anything more.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IssuerSuspended {
    pub issuer: Did,
    pub reason: String,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// `issuer.key_added`: a new signing key for an issuer (the author's issuer when `issuer` is absent).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyAdded {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Did>,
    pub key: Did,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// `issuer.key_revoked`: a key signs nothing after this; with `compromised_since`, what it signed
/// from then on is void too.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyRevoked {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<Did>,
    pub key: Did,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_since: Option<Timestamp>,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// The version of a credential's standard form, and what the second one needs beyond the body:
/// absent, the credential is form 1 (an `eddsa-jcs-2022` proof, a ledger-private status URL), as
/// every credential issued before form 2 stays, byte for byte. Form 2 is signed with
/// `eddsa-rdfc-2022`, names the issuer's registered name, and carries two W3C
/// `BitstringStatusListEntry`s (revocation and suspension) at `status_index` of list
/// `status_list` of the signing key, served under `status_base`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StandardForm {
    /// Always 2.
    pub form: u32,
    /// The issuer's name as registered on the log (the rules check it at append).
    pub issuer_name: String,
    /// The ledger's public URL, under which `/v1/status-lists/...` is served.
    pub status_base: String,
    /// Which of the signing key's status lists holds this credential.
    pub status_list: u32,
    /// Its index in that list (0 to 131071), the same for both purposes.
    pub status_index: u32,
}

/// `credential.course_completed`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CourseCompleted {
    pub credential_uuid: String,
    pub learner: Did,
    pub title: String,
    pub code: String,
    pub skills: Vec<Skill>,
    pub credits: f64,
    pub completed_on: Date,
    /// The origin of the log this credential is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    /// The proofValue of the Open Badges 3.0 credential this event stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc_proof: Option<String>,
    /// The standard form `vc_proof` signs, when it is not the first (see [`StandardForm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc: Option<StandardForm>,
}

/// `credential.certificate_awarded`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CertificateAwarded {
    pub credential_uuid: String,
    pub learner: Did,
    pub title: String,
    pub skills: Vec<Skill>,
    pub awarded_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Date>,
    /// The origin of the log this credential is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    /// The proofValue of the Open Badges 3.0 credential this event stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc_proof: Option<String>,
    /// The standard form `vc_proof` signs, when it is not the first (see [`StandardForm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc: Option<StandardForm>,
}

/// `credential.apprenticeship_completed`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApprenticeshipCompleted {
    pub credential_uuid: String,
    pub learner: Did,
    pub title: String,
    pub employer: String,
    pub hours: u32,
    pub skills: Vec<Skill>,
    pub completed_on: Date,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apprenticeship: Option<EventId>,
    /// The origin of the log this credential is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
    /// The proofValue of the Open Badges 3.0 credential this event stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc_proof: Option<String>,
    /// The standard form `vc_proof` signs, when it is not the first (see [`StandardForm`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vc: Option<StandardForm>,
}

/// `apprenticeship.started`: its event id names the apprenticeship.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ApprenticeshipStarted {
    pub learner: Did,
    pub title: String,
    pub employer: String,
    pub started_on: Date,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// `apprenticeship.hours_logged`: on-the-job hours worked up to `through`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HoursLogged {
    pub apprenticeship: EventId,
    pub hours: u32,
    pub through: Date,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// `credential.revoked`, `credential.suspended`, `credential.reinstated`: a status change.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusChange {
    pub credential: EventId,
    pub reason: String,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// What a status list's set bit means (`status_list`'s lists, a `status_list.signed` event's).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Revocation,
    Suspension,
}

impl Purpose {
    /// Both purposes, in the order a credential lists its entries.
    pub const ALL: [Purpose; 2] = [Purpose::Revocation, Purpose::Suspension];

    /// The `statusPurpose` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
        }
    }
}

impl std::str::FromStr for Purpose {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "revocation" => Ok(Purpose::Revocation),
            "suspension" => Ok(Purpose::Suspension),
            _ => Err(format!("`{}` is not a status purpose (revocation or suspension)", crate::text::clip(s, 40))),
        }
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `status_list.signed`: the author key's `eddsa-rdfc-2022` proof of its status list `list` for
/// `purpose`, as the log has it at this event's place (`status_list::list_credential` at
/// `status_list::list_url(status_base, author, purpose, list)`, valid from `created_at`), so the
/// ledger can serve the list signed by the key that issued the credentials in it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StatusListSigned {
    /// The ledger's public URL the list is served under (as in a form-2 credential's `vc`).
    pub status_base: String,
    pub purpose: Purpose,
    /// Which of the author key's lists.
    pub list: u32,
    /// The proof's `proofValue` (multibase base58btc Ed25519 signature).
    pub proof_value: String,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// `learner.key_linked`: a learner moves from one key to another; signed by `from` (the author)
/// and by `to` (`to_sig`, over the event without `sig` and without `to_sig`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct KeyLinked {
    pub from: Did,
    pub to: Did,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to_sig: String,
    /// The origin of the log this event is for (see [`Payload::ledger`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger: Option<String>,
}

/// `$body` of every kind but genesis, bound in turn to `$name` in `$each` (the same text for
/// bodies of different types); `$genesis` for genesis.
macro_rules! for_every_body {
    ($payload:expr, $name:ident => $each:expr, genesis => $genesis:expr) => {
        match $payload {
            Payload::Genesis(_) => $genesis,
            Payload::IssuerRegistered($name) => $each,
            Payload::IssuerSuspended($name) => $each,
            Payload::KeyAdded($name) => $each,
            Payload::KeyRevoked($name) => $each,
            Payload::CourseCompleted($name) => $each,
            Payload::CertificateAwarded($name) => $each,
            Payload::ApprenticeshipCompleted($name) => $each,
            Payload::ApprenticeshipStarted($name) => $each,
            Payload::HoursLogged($name) => $each,
            Payload::CredentialRevoked($name)
            | Payload::CredentialSuspended($name)
            | Payload::CredentialReinstated($name) => $each,
            Payload::KeyLinked($name) => $each,
            Payload::StatusListSigned($name) => $each,
        }
    };
}

/// Every kind of event, with its body. New kinds are added, never changed.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", content = "body")]
#[non_exhaustive]
pub enum Payload {
    #[serde(rename = "ledger.genesis")]
    Genesis(Genesis),
    #[serde(rename = "issuer.registered")]
    IssuerRegistered(IssuerRegistered),
    #[serde(rename = "issuer.suspended")]
    IssuerSuspended(IssuerSuspended),
    #[serde(rename = "issuer.key_added")]
    KeyAdded(KeyAdded),
    #[serde(rename = "issuer.key_revoked")]
    KeyRevoked(KeyRevoked),
    #[serde(rename = "credential.course_completed")]
    CourseCompleted(CourseCompleted),
    #[serde(rename = "credential.certificate_awarded")]
    CertificateAwarded(CertificateAwarded),
    #[serde(rename = "credential.apprenticeship_completed")]
    ApprenticeshipCompleted(ApprenticeshipCompleted),
    #[serde(rename = "apprenticeship.started")]
    ApprenticeshipStarted(ApprenticeshipStarted),
    #[serde(rename = "apprenticeship.hours_logged")]
    HoursLogged(HoursLogged),
    #[serde(rename = "credential.revoked")]
    CredentialRevoked(StatusChange),
    #[serde(rename = "credential.suspended")]
    CredentialSuspended(StatusChange),
    #[serde(rename = "credential.reinstated")]
    CredentialReinstated(StatusChange),
    #[serde(rename = "learner.key_linked")]
    KeyLinked(KeyLinked),
    #[serde(rename = "status_list.signed")]
    StatusListSigned(StatusListSigned),
}

/// The kind of credential an event issues.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum CredentialKind {
    Course,
    Certificate,
    Apprenticeship,
}

/// The common view of the three credential-issuing payloads.
#[derive(Debug, Clone, Copy)]
pub struct CredentialView<'a> {
    pub kind: CredentialKind,
    pub learner: &'a Did,
    pub title: &'a str,
    pub skills: &'a [Skill],
    pub credits: Option<f64>,
    pub hours: Option<u32>,
    /// The day it was completed or awarded.
    pub completed_on: Date,
}

impl Payload {
    /// The `kind` string on the wire.
    pub fn kind(&self) -> &'static str {
        match self {
            Payload::Genesis(_) => "ledger.genesis",
            Payload::IssuerRegistered(_) => "issuer.registered",
            Payload::IssuerSuspended(_) => "issuer.suspended",
            Payload::KeyAdded(_) => "issuer.key_added",
            Payload::KeyRevoked(_) => "issuer.key_revoked",
            Payload::CourseCompleted(_) => "credential.course_completed",
            Payload::CertificateAwarded(_) => "credential.certificate_awarded",
            Payload::ApprenticeshipCompleted(_) => "credential.apprenticeship_completed",
            Payload::ApprenticeshipStarted(_) => "apprenticeship.started",
            Payload::HoursLogged(_) => "apprenticeship.hours_logged",
            Payload::CredentialRevoked(_) => "credential.revoked",
            Payload::CredentialSuspended(_) => "credential.suspended",
            Payload::CredentialReinstated(_) => "credential.reinstated",
            Payload::KeyLinked(_) => "learner.key_linked",
            Payload::StatusListSigned(_) => "status_list.signed",
        }
    }

    /// The origin of the log this event is for (`body.ledger`): every kind but `ledger.genesis`
    /// (which names its log in `body.origin`) carries it, so an event signed for one log is
    /// refused by another. `None` for genesis, or an event that names no log.
    pub fn ledger(&self) -> Option<&str> {
        for_every_body!(self, body => body.ledger.as_deref(), genesis => None)
    }

    /// The event, for the log named `origin` (its `body.ledger`); genesis is left as it is.
    pub fn for_ledger(mut self, origin: &str) -> Self {
        for_every_body!(&mut self, body => body.ledger = Some(origin.to_owned()), genesis => ());
        self
    }

    /// The UUID of the standard credential this event issues, if it issues one.
    pub fn credential_uuid(&self) -> Option<&str> {
        match self {
            Payload::CourseCompleted(c) => Some(&c.credential_uuid),
            Payload::CertificateAwarded(c) => Some(&c.credential_uuid),
            Payload::ApprenticeshipCompleted(c) => Some(&c.credential_uuid),
            _ => None,
        }
    }

    /// A credential event in standard form `form` (`None`: form 1); other events as they are.
    pub fn with_standard_form(mut self, form: Option<StandardForm>) -> Self {
        match &mut self {
            Payload::CourseCompleted(c) => c.vc = form,
            Payload::CertificateAwarded(c) => c.vc = form,
            Payload::ApprenticeshipCompleted(c) => c.vc = form,
            _ => {}
        }
        self
    }

    /// The standard form a credential event's `vc_proof` signs, when it is form 2 or later.
    pub fn standard_form(&self) -> Option<&StandardForm> {
        match self {
            Payload::CourseCompleted(c) => c.vc.as_ref(),
            Payload::CertificateAwarded(c) => c.vc.as_ref(),
            Payload::ApprenticeshipCompleted(c) => c.vc.as_ref(),
            _ => None,
        }
    }

    /// The credential this event issues, if it issues one.
    pub fn credential(&self) -> Option<CredentialView<'_>> {
        match self {
            Payload::CourseCompleted(c) => Some(CredentialView {
                kind: CredentialKind::Course,
                learner: &c.learner,
                title: &c.title,
                skills: &c.skills,
                credits: Some(c.credits),
                hours: None,
                completed_on: c.completed_on,
            }),
            Payload::CertificateAwarded(c) => Some(CredentialView {
                kind: CredentialKind::Certificate,
                learner: &c.learner,
                title: &c.title,
                skills: &c.skills,
                credits: None,
                hours: None,
                completed_on: c.awarded_on,
            }),
            Payload::ApprenticeshipCompleted(c) => Some(CredentialView {
                kind: CredentialKind::Apprenticeship,
                learner: &c.learner,
                title: &c.title,
                skills: &c.skills,
                credits: None,
                hours: Some(c.hours),
                completed_on: c.completed_on,
            }),
            _ => None,
        }
    }
}

/// An event before it is signed.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub v: u32,
    pub author: Did,
    pub created_at: Timestamp,
    pub payload: Payload,
}

impl Event {
    /// A version-1 event by `author`, made at `created_at`.
    pub fn new(author: Did, created_at: Timestamp, payload: Payload) -> Self {
        Event { v: VERSION, author, created_at, payload }
    }

    /// The envelope as JSON, without `sig`.
    fn to_value(&self) -> Result<Value, EventError> {
        let tagged = serde_json::to_value(&self.payload).map_err(|e| EventError::Encode(e.to_string()))?;
        let Value::Object(mut tagged) = tagged else {
            return Err(EventError::Encode("payload is not an object".into()));
        };
        let mut map = Map::new();
        map.insert("v".into(), self.v.into());
        map.insert("kind".into(), tagged.remove("kind").unwrap_or_default());
        map.insert("author".into(), self.author.as_str().into());
        map.insert("created_at".into(), self.created_at.to_string().into());
        map.insert("body".into(), tagged.remove("body").unwrap_or_default());
        Ok(Value::Object(map))
    }

    /// Signs the event with `key`, which must be its author. For `learner.key_linked`, pass
    /// the new key as `cosigner`: it signs the event (without `to_sig`) first.
    pub fn sign(mut self, key: &SecretKey, cosigner: Option<&SecretKey>) -> Result<SignedEvent, EventError> {
        if key.did() != &self.author {
            return Err(EventError::Signature(format!(
                "author: the signing key is {}, not the author {}",
                key.did(),
                self.author
            )));
        }
        if let Some(cosigner) = cosigner {
            if let Payload::KeyLinked(link) = &mut self.payload {
                link.to_sig.clear();
            }
            let unsigned = canonical_without_sig(&self.to_value()?)?;
            if let Payload::KeyLinked(link) = &mut self.payload {
                link.to_sig = cosigner.sign_b64(&unsigned);
            }
        }
        let mut value = self.to_value()?;
        // Never sign what the ledger would refuse for its shape.
        let mut shaped = value.clone();
        if let Some(map) = shaped.as_object_mut() {
            map.insert("sig".into(), "A".repeat(86).into());
        }
        schema::validate_event(&shaped)?;
        let signature = key.sign_b64(&canonical_without_sig(&value)?);
        value.as_object_mut().expect("an envelope is an object").insert("sig".into(), signature.into());
        SignedEvent::from_verified_parts(self, value)
    }
}

/// Deserializes `value`, naming the failing field by its path under `prefix` (e.g. `body.learner`).
fn typed_field<T: serde::de::DeserializeOwned>(value: &Value, prefix: &str) -> Result<T, EventError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let field = match (prefix, path.as_str()) {
            (_, ".") => {
                if prefix.is_empty() {
                    "event".to_owned()
                } else {
                    prefix.to_owned()
                }
            }
            ("", path) => path.to_owned(),
            (prefix, path) => format!("{prefix}.{path}"),
        };
        EventError::Field { field, reason: e.inner().to_string() }
    })
}

/// JCS of an event value with its `sig` member left out.
fn canonical_without_sig(value: &Value) -> Result<Vec<u8>, EventError> {
    Ok(canonical::to_vec_without(value, "sig")?)
}

/// A signed event: the typed event, the exact JSON that was signed (with `sig`), its canonical
/// bytes and its id.
#[derive(Clone, Debug)]
pub struct SignedEvent {
    pub event: Event,
    value: Value,
    canonical: Vec<u8>,
    id: EventId,
}

/// The envelope as it travels, before its body is given a type.
#[derive(Deserialize)]
struct Envelope {
    v: u32,
    kind: String,
    author: Did,
    created_at: Timestamp,
    body: Value,
    #[serde(default)]
    #[allow(dead_code)]
    sig: Option<String>,
}

impl SignedEvent {
    /// Checks untrusted JSON as an event: schema, then types, then the author's signature (and
    /// the co-signature of a key link). The first failure names the field and the reason.
    pub fn verify(value: Value) -> Result<Self, EventError> {
        schema::validate_event(&value)?;
        let event = Self::typed(&value)?;
        // The signed bytes (for the id) and what `sig` covers, in one pass.
        let (canonical, message) = canonical::to_vec_with_and_without(&value, "sig")?;
        let signed = SignedEvent { id: EventId::of_canonical(&canonical), event, value, canonical };
        signed.check_signatures_over(&message)?;
        Ok(signed)
    }

    /// Finishes [`verify`](Self::verify) for an event already read with its did:keys checked
    /// (a bundle's record, or an audited one read by [`Record::parse`](crate::record::Record::parse)):
    /// its schema and every signature. Its types and canonical bytes were checked on reading.
    pub fn reverify(&self) -> Result<(), EventError> {
        schema::validate_event(&self.value)?;
        self.check_signatures()
    }

    /// Reads an event that was verified before it was stored: types only, no signature check.
    pub fn from_stored(value: Value) -> Result<Self, EventError> {
        let event = Self::typed(&value)?;
        Self::from_verified_parts(event, value)
    }

    fn typed(value: &Value) -> Result<Event, EventError> {
        let envelope: Envelope = typed_field(value, "")?;
        let body = &envelope.body;
        let payload = match envelope.kind.as_str() {
            "ledger.genesis" => Payload::Genesis(typed_field(body, "body")?),
            "issuer.registered" => Payload::IssuerRegistered(typed_field(body, "body")?),
            "issuer.suspended" => Payload::IssuerSuspended(typed_field(body, "body")?),
            "issuer.key_added" => Payload::KeyAdded(typed_field(body, "body")?),
            "issuer.key_revoked" => Payload::KeyRevoked(typed_field(body, "body")?),
            "credential.course_completed" => Payload::CourseCompleted(typed_field(body, "body")?),
            "credential.certificate_awarded" => Payload::CertificateAwarded(typed_field(body, "body")?),
            "credential.apprenticeship_completed" => Payload::ApprenticeshipCompleted(typed_field(body, "body")?),
            "apprenticeship.started" => Payload::ApprenticeshipStarted(typed_field(body, "body")?),
            "apprenticeship.hours_logged" => Payload::HoursLogged(typed_field(body, "body")?),
            "credential.revoked" => Payload::CredentialRevoked(typed_field(body, "body")?),
            "credential.suspended" => Payload::CredentialSuspended(typed_field(body, "body")?),
            "credential.reinstated" => Payload::CredentialReinstated(typed_field(body, "body")?),
            "learner.key_linked" => Payload::KeyLinked(typed_field(body, "body")?),
            "status_list.signed" => Payload::StatusListSigned(typed_field(body, "body")?),
            other => {
                return Err(EventError::Field {
                    field: "kind".into(),
                    reason: format!("unknown event kind `{}`", other.chars().take(80).collect::<String>()),
                });
            }
        };
        Ok(Event { v: envelope.v, author: envelope.author, created_at: envelope.created_at, payload })
    }

    fn from_verified_parts(event: Event, value: Value) -> Result<Self, EventError> {
        let canonical = canonical::to_vec(&value)?;
        let id = EventId::of_canonical(&canonical);
        Ok(SignedEvent { event, value, canonical, id })
    }

    /// Verifies `sig` (and a key link's `to_sig`) with `verify_strict`. A credential's `vc_proof`
    /// is not the event's own: [`admission`](crate::admission) checks it after these.
    pub fn check_signatures(&self) -> Result<(), EventError> {
        self.check_signatures_over(&canonical_without_sig(&self.value)?)
    }

    /// [`check_signatures`](Self::check_signatures), given the canonical bytes without `sig`.
    fn check_signatures_over(&self, message: &[u8]) -> Result<(), EventError> {
        let sig = self.value.get("sig").and_then(Value::as_str).unwrap_or_default();
        verify_one("sig", sig, &self.event.author, message)?;
        if let Payload::KeyLinked(link) = &self.event.payload {
            let mut unsigned = self.value.clone();
            if let Some(body) = unsigned.get_mut("body").and_then(Value::as_object_mut) {
                body.remove("to_sig");
            }
            verify_one("body.to_sig", &link.to_sig, &link.to, &canonical_without_sig(&unsigned)?)?;
        }
        Ok(())
    }

    /// The id: BLAKE3 of the canonical signed bytes.
    pub fn id(&self) -> EventId {
        self.id
    }

    /// The exact JSON that was signed, with `sig`.
    pub fn value(&self) -> &Value {
        &self.value
    }

    /// The canonical (JCS) bytes of the signed event.
    pub fn canonical(&self) -> &[u8] {
        &self.canonical
    }
}

fn verify_one(field: &str, sig: &str, key: &Did, message: &[u8]) -> Result<(), EventError> {
    crate::keys::verify_b64(key, sig, message).map_err(|fault| {
        EventError::Signature(match fault {
            SignatureFault::Malformed => format!("{field}: not a base64url Ed25519 signature (64 bytes)"),
            SignatureFault::Mismatch => format!("{field}: signature does not verify against {key}"),
        })
    })
}

/// Why bytes are not a valid signed event.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// Not JSON, or not canonicalizable.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
    /// The JSON does not match the schema of its kind.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A field's value has the right shape but the wrong meaning (e.g. not a real did:key).
    #[error("{field}: {reason}")]
    Field { field: String, reason: String },
    /// A signature is missing, malformed or does not verify.
    #[error("{0}")]
    Signature(String),
    /// The event could not be encoded.
    #[error("cannot encode event: {0}")]
    Encode(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Timestamp {
        "2026-05-01T12:00:00Z".parse().unwrap()
    }

    fn course(learner: &SecretKey) -> Payload {
        Payload::CourseCompleted(CourseCompleted {
            credential_uuid: "6f1c2f4e-8a8b-4d55-9a43-1f2b3c4d5e6f".into(),
            learner: learner.did().clone(),
            title: "Intro to Python".into(),
            code: "CS101".into(),
            skills: Skill::parse_list("15-1252.00=Software Developers,KS1200364C9C1LK3V5Q1"),
            credits: 3.0,
            completed_on: "2026-05-01".parse().unwrap(),
            ledger: None,
            vc_proof: None,
            vc: None,
        })
    }

    #[test]
    fn signed_events_verify_and_tampering_fails() {
        let issuer = SecretKey::from_seed(&[1; 32]);
        let learner = SecretKey::from_seed(&[2; 32]);
        let signed = Event::new(issuer.did().clone(), at(), course(&learner)).sign(&issuer, None).unwrap();
        let again = SignedEvent::verify(signed.value().clone()).unwrap();
        assert_eq!(again.id(), signed.id());
        assert_eq!(again.event, signed.event);

        let mut forged = signed.value().clone();
        forged["body"]["credits"] = 30.into();
        let err = SignedEvent::verify(forged).unwrap_err().to_string();
        assert!(err.starts_with("sig: signature does not verify"), "{err}");

        let mut other_author = signed.value().clone();
        other_author["author"] = learner.did().as_str().into();
        assert!(SignedEvent::verify(other_author).unwrap_err().to_string().contains("does not verify"));
    }

    #[test]
    fn signing_refuses_a_malformed_event_or_the_wrong_key() {
        let issuer = SecretKey::from_seed(&[1; 32]);
        let learner = SecretKey::from_seed(&[2; 32]);
        let mut payload = course(&learner);
        if let Payload::CourseCompleted(c) = &mut payload {
            c.credits = -1.0;
        }
        let err = Event::new(issuer.did().clone(), at(), payload).sign(&issuer, None).unwrap_err();
        assert!(err.to_string().starts_with("body.credits"), "{err}");
        let err = Event::new(learner.did().clone(), at(), course(&learner)).sign(&issuer, None).unwrap_err();
        assert!(err.to_string().starts_with("author"), "{err}");
    }

    #[test]
    fn key_links_need_both_signatures() {
        let old = SecretKey::from_seed(&[3; 32]);
        let new = SecretKey::from_seed(&[4; 32]);
        let link = |to_sig: String| {
            Event::new(
                old.did().clone(),
                at(),
                Payload::KeyLinked(KeyLinked { from: old.did().clone(), to: new.did().clone(), to_sig, ledger: None }),
            )
        };
        let signed = link(String::new()).sign(&old, Some(&new)).unwrap();
        SignedEvent::verify(signed.value().clone()).unwrap();
        // Without the new key's signature the event does not even have its shape.
        assert!(link(String::new()).sign(&old, None).is_err());
        // A co-signature by some other key is refused.
        let stranger = SecretKey::from_seed(&[5; 32]);
        let wrong = link(String::new()).sign(&old, Some(&stranger)).unwrap();
        let err = SignedEvent::verify(wrong.value().clone()).unwrap_err().to_string();
        assert!(err.starts_with("body.to_sig"), "{err}");
    }

    #[test]
    fn type_errors_name_the_field() {
        let issuer = SecretKey::from_seed(&[1; 32]);
        let learner = SecretKey::from_seed(&[2; 32]);
        let signed = Event::new(issuer.did().clone(), at(), course(&learner)).sign(&issuer, None).unwrap();
        let mut value = signed.value().clone();
        // Well-formed base58, but not a point on the curve: past the schema, caught by the type.
        value["body"]["learner"] = "did:key:z6MkkcSQGBjZBvXRtTKudQqsUTv6YrPe6potJxPGd7GLTQjX".into();
        let err = SignedEvent::verify(value).unwrap_err().to_string();
        assert!(err.starts_with("body.learner: "), "{err}");
    }

    #[test]
    fn timestamps_before_1970_or_on_a_leap_second_are_refused() {
        // What `time` makes of a leap second: a valid one reads as the nanosecond before the next
        // second, which would print differently from what was signed.
        let leap = OffsetDateTime::parse("2016-12-31T23:59:60Z", &Rfc3339).expect("time accepts a leap second");
        assert_eq!(Timestamp(leap).to_string(), "2016-12-31T23:59:59.999999999Z");
        for leap in ["2016-12-31T23:59:60Z", "2026-05-01T12:00:60Z", "2016-12-31T23:59:60.5Z"] {
            let err = leap.parse::<Timestamp>().unwrap_err();
            assert!(err.contains("leap second (:60)"), "{leap}: {err}");
        }
        for early in ["1969-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "0000-01-01T00:00:00Z"] {
            let err = early.parse::<Timestamp>().unwrap_err();
            assert!(err.contains("before 1970"), "{early}: {err}");
        }
        let epoch: Timestamp = "1970-01-01T00:00:00Z".parse().expect("the epoch");
        assert_eq!(epoch.0, OffsetDateTime::UNIX_EPOCH);
        assert_eq!(
            "9999-12-31T23:59:59Z".parse::<Timestamp>().map(|t| t.to_string()),
            Ok("9999-12-31T23:59:59Z".into())
        );
    }

    #[test]
    fn timestamps_must_be_utc_and_dates_real() {
        assert!("2026-05-01T12:00:00+02:00".parse::<Timestamp>().is_err());
        assert!("2026-05-01 12:00:00Z".parse::<Timestamp>().is_err());
        assert!("2026-02-30".parse::<Date>().is_err());
        assert_eq!("2026-05-01".parse::<Date>().unwrap().to_string(), "2026-05-01");
    }
}
