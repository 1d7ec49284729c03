//! The report on a standard credential: each check by name, the issuer it names ([`VcIssuer`]:
//! its id, and a name, self-asserted by the credential or, [`VcReport::with_registry_name`], from
//! a ledger's registry), and the verdict (VALID, INVALID, REVOKED, SUSPENDED, STATUS-UNKNOWN). A
//! status is what the caller found where the credential says it is kept ([`StatusFinding`]);
//! [`VcReport::with_statuses`] turns the findings into checks and the verdict.

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::document;
use crate::id::{Did, Seq};
use crate::projection::CredentialState;

/// One named check of a standard credential.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VcCheck {
    pub name: String,
    pub ok: bool,
    /// `false` for a check that was not made (an earlier failure, or `--offline`).
    pub ran: bool,
    pub detail: String,
}

/// The verdict on a standard credential: VALID, or why not.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum VcVerdict {
    /// The proof verifies, the credential is within its validity window, and its status is
    /// active (or it has none, or it was not checked: the status check says which).
    #[serde(rename = "VALID")]
    Valid,
    /// A proof or validity check failed.
    #[serde(rename = "INVALID")]
    Invalid,
    #[serde(rename = "REVOKED")]
    Revoked,
    #[serde(rename = "SUSPENDED")]
    Suspended,
    /// The credential names a status that could not be learned.
    #[serde(rename = "STATUS-UNKNOWN")]
    StatusUnknown,
}

impl VcVerdict {
    /// The word a verifier prints.
    pub fn as_str(self) -> &'static str {
        match self {
            VcVerdict::Valid => "VALID",
            VcVerdict::Invalid => "INVALID",
            VcVerdict::Revoked => "REVOKED",
            VcVerdict::Suspended => "SUSPENDED",
            VcVerdict::StatusUnknown => "STATUS-UNKNOWN",
        }
    }

    /// Which verdict wins when a credential's statuses disagree: revoked over suspended over
    /// unknown over valid.
    fn severity(self) -> u8 {
        match self {
            VcVerdict::Valid => 0,
            VcVerdict::StatusUnknown => 1,
            VcVerdict::Suspended => 2,
            VcVerdict::Revoked => 3,
            VcVerdict::Invalid => 4,
        }
    }
}

impl std::fmt::Display for VcVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The verdict on a standard credential.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VcReport {
    pub verdict: VcVerdict,
    /// The key whose proof verified (as a did:key, whatever DID document listed it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<Did>,
    /// The issuer the credential names (whom the `proof.issuer` check binds the proof to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<VcIssuer>,
    pub checks: Vec<VcCheck>,
}

/// The issuer a credential names, and the institution's name if known.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct VcIssuer {
    /// `issuer` (or `issuer.id`): a DID, or any URL.
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Where `name` comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_source: Option<NameSource>,
}

/// Where an issuer's name comes from.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum NameSource {
    /// The credential's own issuer profile (`issuer.name`): signed with the issuer's key, but
    /// vouched for by nobody else.
    SelfAsserted,
    /// The registry of institutions of the ledger `ledger`, which registered the signing key.
    Registry { ledger: String },
}

impl VcIssuer {
    /// The issuer `document` names: `issuer`, or `issuer.id` with the profile's `name`
    /// (self-asserted).
    pub fn of(document: &Value) -> Option<Self> {
        let id = document::issuer_id(document)?.to_owned();
        let name = document::issuer_name(document).map(str::to_owned);
        let name_source = name.as_ref().map(|_| NameSource::SelfAsserted);
        Some(VcIssuer { id, name, name_source })
    }

    /// "Lakeside College (self-asserted by the credential), did:key:…", or the id alone.
    pub fn describe(&self) -> String {
        match (&self.name, &self.name_source) {
            (Some(name), Some(NameSource::Registry { ledger })) => {
                format!("{name} (registered on the ledger {ledger}), {}", self.id)
            }
            (Some(name), _) => format!("{name} (self-asserted by the credential), {}", self.id),
            (None, _) => format!("{} (the credential gives no name)", self.id),
        }
    }
}

/// The name of the check that reports a credential's status (its only one, or the prefix of
/// one per Bitstring Status List entry: `credential.status.revocation`).
pub const STATUS_CHECK: &str = "credential.status";

/// What looking up a credential's status found.
#[derive(Clone, Debug, PartialEq)]
pub enum StatusFinding {
    /// The credential has no `credentialStatus`: there is no status to check.
    NoStatus,
    /// The status was not looked up, and why (`--offline`, or an earlier check failed).
    NotChecked(String),
    /// The status could not be learned, and why.
    Unknown(String),
    /// The status where the reference points (`source`), the seq that decided it, and the key
    /// that signed the credential there, when the source says.
    Found { state: CredentialState, decided_seq: Option<Seq>, signed_by: Option<Did>, source: String },
}

impl VcReport {
    /// A report of these checks on a credential naming `issuer`: VALID if every one passed, else
    /// INVALID.
    pub fn of_checks(checks: Vec<VcCheck>, signer: Option<Did>, issuer: Option<VcIssuer>) -> Self {
        let verdict = if checks.iter().all(|c| c.ok) { VcVerdict::Valid } else { VcVerdict::Invalid };
        VcReport { verdict, signer, issuer, checks }
    }

    /// Did the proofs verify, by keys of the issuer the credential names (`proof.issuer`)?
    pub fn proved_by_issuer(&self) -> bool {
        let binding = |c: &&VcCheck| c.name.starts_with("proof") && c.name.ends_with(".issuer");
        self.signer.is_some()
            && self.checks.iter().filter(binding).count() > 0
            && self.checks.iter().filter(binding).all(|c| c.ok)
    }

    /// Names the issuer from the registry of the ledger `ledger`, which registered the key that
    /// signed the proof to the institution `name`: only once that proof verified as the issuer's.
    pub fn with_registry_name(mut self, name: &str, ledger: &str) -> Self {
        let proved = self.proved_by_issuer();
        if let Some(issuer) = self.issuer.as_mut().filter(|_| proved) {
            issuer.name = Some(name.to_owned());
            issuer.name_source = Some(NameSource::Registry { ledger: ledger.to_owned() });
        }
        self
    }

    /// Did every check pass, and is the credential active (or without status)?
    pub fn is_valid(&self) -> bool {
        self.verdict == VcVerdict::Valid
    }

    /// Is the status check missing or not made (`--offline`, an earlier failure)?
    pub fn status_unchecked(&self) -> bool {
        self.checks.iter().any(|c| c.name.starts_with(STATUS_CHECK) && !c.ran)
    }

    /// Adds a check made by the caller (what it expects of the proofs); a failed one makes the
    /// credential INVALID.
    pub fn with_check(mut self, check: VcCheck) -> Self {
        if check.ran && !check.ok {
            self.verdict = VcVerdict::Invalid;
        }
        let at = self.checks.iter().position(|c| c.name.starts_with(STATUS_CHECK)).unwrap_or(self.checks.len());
        self.checks.insert(at, check);
        self
    }

    /// [`VcReport::with_statuses`] for a credential with one status reference.
    pub fn with_status(self, finding: StatusFinding) -> Self {
        self.with_statuses(vec![(STATUS_CHECK.to_owned(), finding)])
    }

    /// Adds one status check per finding (named by the caller) and the verdict they give a
    /// credential that is otherwise valid: REVOKED if any says revoked, else SUSPENDED, else
    /// STATUS-UNKNOWN if any could not be learned. An INVALID credential stays INVALID. Status
    /// checks added before are replaced.
    pub fn with_statuses(mut self, findings: Vec<(String, StatusFinding)>) -> Self {
        use CredentialState::{Active, Revoked, Suspended};
        let seq = |s: Option<Seq>| s.map(|s| format!(" (seq {s})")).unwrap_or_default();
        self.checks.retain(|c| !c.name.starts_with(STATUS_CHECK));
        let valid = self.checks.iter().all(|c| c.ok);
        let mut worst = VcVerdict::Valid;
        for (name, finding) in findings {
            let (ok, ran, verdict, detail) = match finding {
                StatusFinding::NoStatus => {
                    (true, true, VcVerdict::Valid, "no credentialStatus: there is no status to check".to_owned())
                }
                StatusFinding::NotChecked(why) => (false, false, VcVerdict::Valid, why),
                StatusFinding::Unknown(why) => (false, true, VcVerdict::StatusUnknown, why),
                StatusFinding::Found { signed_by: Some(key), source, .. } if self.signer.as_ref() != Some(&key) => {
                    let why = format!("{source} holds this credential's id for another signer, {key}");
                    (false, true, VcVerdict::StatusUnknown, why)
                }
                StatusFinding::Found { state, decided_seq, source, .. } => {
                    let verdict = match state {
                        Active => VcVerdict::Valid,
                        Revoked => VcVerdict::Revoked,
                        Suspended => VcVerdict::Suspended,
                    };
                    let detail = format!("{}{} at {source}", state.as_str(), seq(decided_seq));
                    (state == Active, true, verdict, detail)
                }
            };
            if verdict.severity() > worst.severity() {
                worst = verdict;
            }
            self.checks.push(VcCheck { name, ok, ran, detail });
        }
        self.verdict = if valid { worst } else { VcVerdict::Invalid };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    fn valid(signer: &Did) -> VcReport {
        let check = VcCheck { name: "proof.signature".into(), ok: true, ran: true, detail: String::new() };
        VcReport::of_checks(vec![check], Some(signer.clone()), None)
    }

    #[test]
    fn the_status_decides_the_verdict_of_a_valid_credential() {
        let key = SecretKey::from_seed(&[7; 32]);
        let report = valid(key.did());
        let found = |state, signed_by: Option<&Did>| StatusFinding::Found {
            state,
            decided_seq: Some(9),
            signed_by: signed_by.cloned(),
            source: "the ledger".into(),
        };
        let cases = [
            (found(CredentialState::Active, Some(key.did())), VcVerdict::Valid, Some(true)),
            (found(CredentialState::Revoked, None), VcVerdict::Revoked, Some(false)),
            (found(CredentialState::Suspended, Some(key.did())), VcVerdict::Suspended, Some(false)),
            (
                found(CredentialState::Active, Some(SecretKey::from_seed(&[8; 32]).did())),
                VcVerdict::StatusUnknown,
                Some(false),
            ),
            (StatusFinding::Unknown("unreachable".into()), VcVerdict::StatusUnknown, Some(false)),
            (StatusFinding::NotChecked("not checked (--offline)".into()), VcVerdict::Valid, None),
            (StatusFinding::NoStatus, VcVerdict::Valid, Some(true)),
        ];
        for (finding, verdict, ok) in cases {
            let checked = report.clone().with_status(finding.clone());
            assert_eq!(checked.verdict, verdict, "{finding:?}");
            let check = checked.checks.iter().find(|c| c.name == STATUS_CHECK).unwrap();
            assert_eq!(check.ran.then_some(check.ok), ok, "{finding:?}");
            assert_eq!(checked.checks.iter().filter(|c| c.name == STATUS_CHECK).count(), 1);
        }
        let revoked = report.clone().with_status(found(CredentialState::Revoked, None));
        assert!(revoked.checks.last().unwrap().detail.starts_with("revoked (seq 9)"), "{revoked:?}");

        // An INVALID credential stays INVALID whatever its status says.
        let mut invalid = report;
        invalid.checks[0].ok = false;
        assert_eq!(invalid.with_status(found(CredentialState::Revoked, None)).verdict, VcVerdict::Invalid);
    }

    #[test]
    fn several_statuses_give_the_most_severe_verdict() {
        let key = SecretKey::from_seed(&[7; 32]);
        let found = |state| StatusFinding::Found { state, decided_seq: None, signed_by: None, source: "a list".into() };
        let named = |purpose: &str, finding| (format!("{STATUS_CHECK}.{purpose}"), finding);
        let cases = [
            (found(CredentialState::Active), found(CredentialState::Active), VcVerdict::Valid),
            (found(CredentialState::Revoked), StatusFinding::Unknown("x".into()), VcVerdict::Revoked),
            (StatusFinding::Unknown("x".into()), found(CredentialState::Suspended), VcVerdict::Suspended),
            (found(CredentialState::Suspended), found(CredentialState::Revoked), VcVerdict::Revoked),
            (found(CredentialState::Active), StatusFinding::Unknown("x".into()), VcVerdict::StatusUnknown),
        ];
        for (revocation, suspension, verdict) in cases {
            let findings = vec![named("revocation", revocation), named("suspension", suspension)];
            let checked = valid(key.did()).with_statuses(findings);
            assert_eq!(checked.verdict, verdict, "{checked:?}");
            assert_eq!(checked.checks.iter().filter(|c| c.name.starts_with(STATUS_CHECK)).count(), 2);
            // Adding the statuses again replaces them, and their verdict.
            let again = checked.clone().with_status(StatusFinding::NoStatus);
            assert_eq!(again.checks.iter().filter(|c| c.name.starts_with(STATUS_CHECK)).count(), 1);
            assert_eq!(again.verdict, VcVerdict::Valid);
        }
        let offline = valid(key.did()).with_status(StatusFinding::NotChecked("--offline".into()));
        assert!(offline.status_unchecked() && offline.is_valid());
    }
}
