//! W3C Verifiable Credentials 2.0 secured with a Data Integrity proof, cryptosuite
//! `eddsa-jcs-2022` (W3C vc-di-eddsa §3.3; `eddsa-rdfc-2022` is [`crate::rdfc`]'s): the proof signs
//! `SHA-256(JCS(proof options)) ‖ SHA-256(JCS(credential without proof))` with Ed25519, and
//! `proofValue` is the signature in multibase base58btc. Pure functions over JSON values.
//!
//! A credential's status is one seam: [`VcReport::status_to_look_up`] reads the reference in
//! `credentialStatus` here, the caller looks it up (the server in its own log, the CLI over
//! https), and [`VcReport::with_status`] turns what it found into the verdict.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::canonical;
use crate::event::{Event, Payload, Timestamp};
use crate::id::{Did, Seq};
use crate::keys::SecretKey;
use crate::projection::CredentialState;
use crate::rdfc::decode_proof_value;

/// The cryptosuite this module implements.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// The bytes an eddsa-jcs-2022 signature covers.
fn hash_data(unsecured: &Value, proof_options: &Value) -> Result<Vec<u8>, String> {
    let options = canonical::to_vec(proof_options).map_err(|e| e.to_string())?;
    let document = canonical::to_vec(unsecured).map_err(|e| e.to_string())?;
    let mut data = Sha256::digest(&options).to_vec();
    data.extend_from_slice(&Sha256::digest(&document));
    Ok(data)
}

/// The proof options (without `proofValue`) for a credential signed by `key` at `created`.
pub fn proof_options(unsecured: &Value, key: &Did, created: &Timestamp) -> Value {
    let mut options = Map::new();
    options.insert("type".into(), "DataIntegrityProof".into());
    options.insert("cryptosuite".into(), CRYPTOSUITE.into());
    options.insert("created".into(), created.to_string().into());
    options.insert("verificationMethod".into(), format!("{key}#{}", key.multibase()).into());
    options.insert("proofPurpose".into(), "assertionMethod".into());
    if let Some(context) = unsecured.get("@context") {
        options.insert("@context".into(), context.clone());
    }
    Value::Object(options)
}

/// The `proofValue` of `key`'s eddsa-jcs-2022 signature over `unsecured` with these options.
pub fn proof_value(unsecured: &Value, options: &Value, key: &SecretKey) -> Result<String, String> {
    Ok(crate::rdfc::encode_proof_value(&key.sign(&hash_data(unsecured, options)?)))
}

/// Adds a proof to `unsecured` (a JSON object).
pub fn secure(mut unsecured: Value, options: Value, proof_value: &str) -> Value {
    let mut proof = options;
    if let Some(p) = proof.as_object_mut() {
        p.insert("proofValue".into(), proof_value.into());
    }
    if let Some(doc) = unsecured.as_object_mut() {
        doc.insert("proof".into(), proof);
    }
    unsecured
}

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
    /// The key whose proof verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signer: Option<Did>,
    pub checks: Vec<VcCheck>,
}

/// The name of the check that reports a credential's status.
pub const STATUS_CHECK: &str = "credential.status";

/// The `credentialStatus` type a credledger ledger writes.
pub const STATUS_TYPE: &str = "CredledgerStatus";

/// Where a credential's status is kept: `{"id": "https://<origin>/v1/status/<uuid>", "type":
/// "CredledgerStatus"}` names the ledger `origin` and the credential's UUID there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReference {
    pub url: String,
    pub origin: String,
    pub uuid: String,
}

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
    /// Did every check pass, and is the credential active (or without status)?
    pub fn is_valid(&self) -> bool {
        self.verdict == VcVerdict::Valid
    }

    /// The status reference to look up for [`VcReport::with_status`], or, when there is nothing
    /// to look up, what to report instead: a credential that failed its checks, one without
    /// `credentialStatus`, or one whose reference this verifier cannot read.
    pub fn status_to_look_up(&self, document: &Value) -> Result<StatusReference, StatusFinding> {
        if !self.is_valid() {
            return Err(StatusFinding::NotChecked("not run: an earlier check failed".into()));
        }
        match status_reference(document) {
            Ok(Some(reference)) => Ok(reference),
            Ok(None) => Err(StatusFinding::NoStatus),
            Err(why) => Err(StatusFinding::Unknown(why)),
        }
    }

    /// Adds the status check and its verdict: REVOKED, SUSPENDED or STATUS-UNKNOWN when the
    /// credential is otherwise valid; an INVALID credential stays INVALID.
    pub fn with_status(mut self, finding: StatusFinding) -> Self {
        use CredentialState::{Active, Revoked, Suspended};
        let seq = |s: Option<Seq>| s.map(|s| format!(" (seq {s})")).unwrap_or_default();
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
        if self.is_valid() {
            self.verdict = verdict;
        }
        self.checks.retain(|c| c.name != STATUS_CHECK);
        self.checks.push(VcCheck { name: STATUS_CHECK.to_owned(), ok, ran, detail });
        self
    }
}

/// The credential's status reference (`Ok(None)`: it has none), or why it cannot be read: a
/// type other than [`STATUS_TYPE`], a URL that is not `https://<origin>/v1/status/<uuid>`, or one
/// for another credential than this one (`id` `urn:uuid:<uuid>`).
pub fn status_reference(document: &Value) -> Result<Option<StatusReference>, String> {
    let status = match document.get("credentialStatus") {
        None => return Ok(None),
        Some(Value::Array(list)) if list.len() == 1 => &list[0],
        Some(Value::Array(list)) => {
            return Err(format!("credentialStatus lists {} entries; this verifier reads one", list.len()));
        }
        Some(one) => one,
    };
    let kind = status.get("type").and_then(Value::as_str).unwrap_or_default();
    if kind != STATUS_TYPE {
        return Err(format!("credentialStatus type `{kind}` is not one this verifier reads ({STATUS_TYPE})"));
    }
    let url = status.get("id").and_then(Value::as_str).ok_or("credentialStatus has no id")?;
    let unreadable = || format!("credentialStatus id `{url}` is not https://<ledger>/v1/status/<uuid>");
    let (origin, uuid) =
        url.strip_prefix("https://").and_then(|rest| rest.rsplit_once("/v1/status/")).ok_or_else(unreadable)?;
    let origin_ok = origin.starts_with(|c: char| c.is_ascii_alphanumeric())
        && origin.chars().all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
    let uuid_ok = uuid::Uuid::try_parse(uuid).is_ok_and(|u| u.hyphenated().to_string() == uuid);
    if !origin_ok || !uuid_ok {
        return Err(unreadable());
    }
    let id = document.get("id").and_then(Value::as_str).unwrap_or_default();
    if id != format!("urn:uuid:{uuid}") {
        return Err(format!("credentialStatus is the status of urn:uuid:{uuid}, but this credential is `{id}`"));
    }
    Ok(Some(StatusReference { url: url.to_owned(), origin: origin.to_owned(), uuid: uuid.to_owned() }))
}

/// Verifies a credential's eddsa-jcs-2022 proof. The key is `key` if given, else the did:key of
/// the proof's `verificationMethod`.
pub fn verify(document: &Value, key: Option<&Did>, now: &Timestamp) -> VcReport {
    let mut checks = Vec::new();
    let mut verified_by = None;
    let mut check = |name: &str, result: Result<String, String>| {
        let ok = result.is_ok();
        checks.push(VcCheck { name: name.to_owned(), ok, ran: true, detail: result.unwrap_or_else(|e| e) });
        ok
    };
    let finish = |checks: Vec<VcCheck>, signer: Option<Did>| {
        let valid = checks.iter().all(|c| c.ok);
        VcReport { verdict: if valid { VcVerdict::Valid } else { VcVerdict::Invalid }, signer, checks }
    };
    let proof = match document.get("proof") {
        Some(Value::Object(p)) => p.clone(),
        Some(Value::Array(ps)) if ps.len() == 1 => ps[0].as_object().cloned().unwrap_or_default(),
        Some(_) => {
            check("proof.present", Err("only one proof object is supported".into()));
            return finish(checks, None);
        }
        None => {
            check("proof.present", Err("the credential has no proof".into()));
            return finish(checks, None);
        }
    };
    let field = |name: &str| proof.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let rdfc = field("cryptosuite") == crate::rdfc::CRYPTOSUITE;
    let suite_ok = field("type") == "DataIntegrityProof" && (field("cryptosuite") == CRYPTOSUITE || rdfc);
    if !check(
        "proof.cryptosuite",
        if suite_ok {
            Ok(format!("DataIntegrityProof, {}", field("cryptosuite")))
        } else {
            Err(format!(
                "`{}` / `{}` is not DataIntegrityProof / {CRYPTOSUITE} or {}",
                field("type"),
                field("cryptosuite"),
                crate::rdfc::CRYPTOSUITE
            ))
        },
    ) {
        return finish(checks, None);
    }
    check(
        "proof.purpose",
        if field("proofPurpose") == "assertionMethod" {
            Ok("assertionMethod".into())
        } else {
            Err(format!("proofPurpose `{}` is not assertionMethod", field("proofPurpose")))
        },
    );
    let method = field("verificationMethod");
    let resolved = match key {
        Some(k) => Ok(k.clone()),
        None => {
            let fragment = method.rsplit('#').next().unwrap_or_default();
            let did = method.split('#').next().unwrap_or_default();
            if did.starts_with("did:key:") {
                did.parse::<Did>().map_err(|e| e.to_string()).and_then(|d| {
                    if d.multibase() == fragment {
                        Ok(d)
                    } else {
                        Err(format!("`{method}` names a key other than its did's"))
                    }
                })
            } else {
                Err(format!("cannot resolve `{method}` offline: pass the key (--key MULTIBASE)"))
            }
        }
    };
    let Ok(signer) = resolved.clone() else {
        check("proof.key", resolved.map(|d| d.to_string()));
        return finish(checks, None);
    };
    check("proof.key", Ok(format!("{signer}")));
    let context_ok = match (proof.get("@context"), document.get("@context")) {
        (Some(p), Some(d)) => p == d,
        _ => true,
    };
    check(
        "proof.context",
        if context_ok {
            Ok("the proof's @context is the credential's".into())
        } else {
            Err("the proof's @context differs from the credential's".into())
        },
    );
    let mut unsecured = document.clone();
    if let Some(doc) = unsecured.as_object_mut() {
        doc.remove("proof");
    }
    let mut options = Value::Object(proof.clone());
    let value =
        options.as_object_mut().and_then(|o| o.remove("proofValue")).and_then(|v| v.as_str().map(str::to_owned));
    let signature = value.as_deref().and_then(decode_proof_value);
    let verified = match (signature, hash_data(&unsecured, &options)) {
        (_, _) if rdfc => crate::rdfc::verify(&unsecured, &options, value.as_deref().unwrap_or_default(), &signer)
            .map(|()| format!("signed by {signer}"))
            .map_err(|e| e.to_string()),
        (None, _) => Err("proofValue is not a base58btc (z…) Ed25519 signature".to_owned()),
        (_, Err(e)) => Err(e),
        (Some(sig), Ok(data)) => signer
            .verifying_key()
            .verify_strict(&data, &sig)
            .map(|()| format!("signed by {signer}"))
            .map_err(|_| "the signature does not verify over this credential".to_owned()),
    };
    if check("proof.signature", verified) {
        verified_by = Some(signer.clone());
    }
    let date = |name: &str| document.get(name).and_then(Value::as_str).map(str::parse::<Timestamp>);
    let window = match (date("validFrom"), date("validUntil")) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Err(e),
        (Some(Ok(from)), _) if from > *now => Err(format!("not valid before {from}")),
        (_, Some(Ok(until))) if until < *now => Err(format!("expired at {until}")),
        _ => Ok("valid now".to_owned()),
    };
    check("credential.validity", window);
    finish(checks, verified_by)
}

// ---------------------------------------------------------------------------------------------
// Open Badges 3.0 and CLR 2.0

/// The JSON-LD contexts of an Open Badges 3.0 credential.
pub const OB_CONTEXT: [&str; 2] =
    ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"];
/// The JSON-LD contexts of a CLR 2.0 credential.
pub const CLR_CONTEXT: [&str; 3] = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
];

/// Where a skill's code comes from, and a URL for it: O*NET-SOC occupation codes, Lightcast Open
/// Skills ids, ESCO (or any other) URIs, else the issuer's own code as a URN.
pub fn skill_alignment(skill: &crate::event::Skill) -> Value {
    let id = skill.id.as_str();
    let onet = id.len() == 10 && id.as_bytes()[2] == b'-' && id.as_bytes()[7] == b'.';
    let lightcast = id.len() == 20 && id.starts_with("KS") && id.bytes().all(|b| b.is_ascii_alphanumeric());
    let (url, framework) = if onet {
        (format!("https://www.onetonline.org/link/summary/{id}"), "O*NET-SOC")
    } else if lightcast {
        (format!("https://lightcast.io/open-skills/skills/{id}"), "Lightcast Open Skills")
    } else if id.starts_with("http://data.europa.eu/esco/") {
        (id.to_owned(), "ESCO")
    } else if id.contains(':') {
        (id.to_owned(), "")
    } else {
        let safe: String =
            id.chars().map(|c| if c.is_ascii_alphanumeric() || "-._".contains(c) { c } else { '_' }).collect();
        (format!("urn:credledger:skill:{safe}"), "")
    };
    let mut alignment = serde_json::json!({
        "type": ["Alignment"],
        "targetName": skill.label.clone().unwrap_or_else(|| id.to_owned()),
        "targetUrl": url,
        "targetCode": id,
    });
    if !framework.is_empty() {
        alignment["targetFramework"] = framework.into();
    }
    alignment
}

fn day_start(date: &crate::event::Date) -> String {
    format!("{date}T00:00:00Z")
}

/// The Open Badges 3.0 credential (unsigned) that a credential event stands for, built only from
/// the body (less `vc_proof`), the author and `created_at`, so anyone can rebuild it from the log.
/// `None` for events that issue no credential.
pub fn open_badge(event: &Event) -> Option<Value> {
    let view = event.payload.credential()?;
    let (uuid, ledger) = (event.payload.credential_uuid()?, event.payload.ledger());
    let id = format!("urn:uuid:{uuid}");
    let skills: Vec<Value> = view.skills.iter().map(skill_alignment).collect();
    let mut achievement = serde_json::json!({
        "id": format!("{id}#achievement"),
        "type": ["Achievement"],
        "name": view.title,
        "alignment": skills,
    });
    let mut subject = serde_json::json!({
        "id": view.learner.as_str(),
        "type": ["AchievementSubject"],
        "activityEndDate": day_start(&view.completed_on),
    });
    let (achievement_type, description, narrative, result) = match &event.payload {
        Payload::CourseCompleted(c) => {
            let credits = canonical_number(c.credits);
            achievement["humanCode"] = c.code.clone().into();
            achievement["creditsAvailable"] = credits.clone();
            subject["creditsEarned"] = credits.clone();
            (
                "Course",
                format!("The course {} ({}), {} credits.", c.title, c.code, credits),
                format!("Completed the course {} on {}.", c.code, c.completed_on),
                Some(("credits", "Credit hours earned", "ext:CreditHours", credits.to_string())),
            )
        }
        Payload::CertificateAwarded(c) => (
            "Certificate",
            format!("The certificate {}.", c.title),
            format!("Awarded the certificate on {}.", c.awarded_on),
            None,
        ),
        Payload::ApprenticeshipCompleted(c) => (
            "ApprenticeshipCertificate",
            format!("The apprenticeship {} with {}, {} hours of on-the-job learning.", c.title, c.employer, c.hours),
            format!("Completed {} hours of on-the-job learning with {} by {}.", c.hours, c.employer, c.completed_on),
            Some(("hours", "Apprenticeship hours completed", "ext:ApprenticeshipHours", c.hours.to_string())),
        ),
        _ => return None,
    };
    achievement["achievementType"] = achievement_type.into();
    achievement["description"] = description.into();
    achievement["criteria"] = serde_json::json!({ "narrative": narrative });
    if let Some((key, name, result_type, value)) = result {
        let description_id = format!("{id}#{key}");
        achievement["resultDescription"] = serde_json::json!([{ "id": description_id, "type": ["ResultDescription"], "name": name, "resultType": result_type }]);
        subject["result"] =
            serde_json::json!([{ "type": ["Result"], "resultDescription": description_id, "value": value }]);
    }
    subject["achievement"] = achievement;
    let mut credential = serde_json::json!({
        "@context": OB_CONTEXT,
        "id": id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": view.title,
        "issuer": { "id": event.author.as_str(), "type": ["Profile"] },
        "validFrom": event.created_at.to_string(),
        "credentialSubject": subject,
    });
    if let Payload::CertificateAwarded(c) = &event.payload {
        if let Some(until) = &c.valid_until {
            credential["validUntil"] = format!("{until}T23:59:59Z").into();
        }
    }
    match event.payload.standard_form() {
        Some(form) => {
            credential["issuer"]["name"] = form.issuer_name.clone().into();
            credential["credentialStatus"] =
                crate::status_list::entries(&form.status_base, &event.author, form.status_list, form.status_index);
        }
        None => {
            if let Some(ledger) = ledger {
                credential["credentialStatus"] = serde_json::json!({
                    "id": format!("https://{ledger}/v1/status/{uuid}"),
                    "type": "CredledgerStatus",
                });
            }
        }
    }
    Some(credential)
}

/// A number as JCS writes it (credits are quarter units: 3, 3.5).
fn canonical_number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 { Value::from(n as i64) } else { Value::from(n) }
}

/// The proof options of an event's credential: signed by the event's author at `created_at`, with
/// the suite its standard form names (form 1: eddsa-jcs-2022; form 2: eddsa-rdfc-2022).
fn event_proof_options(event: &Event, credential: &Value) -> Value {
    match event.payload.standard_form() {
        Some(_) => crate::rdfc::proof_options(&event.author, &event.created_at),
        None => proof_options(credential, &event.author, &event.created_at),
    }
}

/// Signs the credential an event stands for with the event's author key and puts the proofValue
/// into `body.vc_proof`, before the event itself is signed. Events that issue no credential are
/// returned as they are.
pub fn attach_proof(mut event: Event, key: &SecretKey) -> Result<Event, String> {
    set_vc_proof(&mut event.payload, None);
    let Some(credential) = open_badge(&event) else { return Ok(event) };
    let options = event_proof_options(&event, &credential);
    let value = match event.payload.standard_form() {
        Some(_) => crate::rdfc::sign(&credential, &options, key).map_err(|e| e.to_string())?,
        None => proof_value(&credential, &options, key)?,
    };
    set_vc_proof(&mut event.payload, Some(value));
    Ok(event)
}

fn set_vc_proof(payload: &mut Payload, value: Option<String>) {
    match payload {
        Payload::CourseCompleted(c) => c.vc_proof = value,
        Payload::CertificateAwarded(c) => c.vc_proof = value,
        Payload::ApprenticeshipCompleted(c) => c.vc_proof = value,
        _ => {}
    }
}

fn vc_proof(payload: &Payload) -> Option<&str> {
    match payload {
        Payload::CourseCompleted(c) => c.vc_proof.as_deref(),
        Payload::CertificateAwarded(c) => c.vc_proof.as_deref(),
        Payload::ApprenticeshipCompleted(c) => c.vc_proof.as_deref(),
        _ => None,
    }
}

/// The issuer-signed Open Badges 3.0 credential of a credential event, rebuilt from the log:
/// `None` if the event issues no credential or carries no `vc_proof`.
pub fn export(event: &Event) -> Option<Value> {
    let (proof, credential, options) = proved_credential(event)?;
    Some(secure(credential, options, proof))
}

/// A credential event's `vc_proof`, the unsecured credential it stands for, and the proof
/// options that proof was made with: `None` if the event issues no credential or has no proof.
fn proved_credential(event: &Event) -> Option<(&str, Value, Value)> {
    let proof = vc_proof(&event.payload)?;
    let mut unsigned = event.clone();
    set_vc_proof(&mut unsigned.payload, None);
    let credential = open_badge(&unsigned)?;
    let options = event_proof_options(&unsigned, &credential);
    Some((proof, credential, options))
}

/// Checks an event's `body.vc_proof`, if it has one: it must be its author's proof, in the suite
/// of its standard form, over the credential the event stands for. This is `verify`'s
/// `proof.signature` check on the credential [`export`] would build, without building the secured
/// document: the append and audit paths run it for every credential.
pub fn check_event_proof(event: &Event) -> Result<(), String> {
    let Some((proof, credential, options)) = proved_credential(event) else { return Ok(()) };
    if event.payload.standard_form().is_some() {
        return crate::rdfc::verify(&credential, &options, proof, &event.author).map_err(|e| {
            format!(
                "body.vc_proof: not the author's eddsa-rdfc-2022 proof of the credential this event stands for: {e}"
            )
        });
    }
    let verified = match (decode_proof_value(proof), hash_data(&credential, &options)) {
        (Some(signature), Ok(data)) => event.author.verifying_key().verify_strict(&data, &signature).is_ok(),
        _ => false,
    };
    if verified {
        Ok(())
    } else {
        Err("body.vc_proof: not the author's eddsa-jcs-2022 signature over the credential this event stands for".into())
    }
}

/// A learner's whole record as a CLR 2.0 credential holding their exported credentials, signed
/// (eddsa-rdfc-2022, or eddsa-jcs-2022 while it holds a form-1 credential) by the operator (who vouches for the collection, not for the credentials, which carry their
/// issuers' own proofs).
pub fn clr(
    learner: &Did,
    origin: &str,
    credentials: Vec<Value>,
    operator: &SecretKey,
    issued_at: &Timestamp,
) -> Result<Value, String> {
    let digest = Sha256::digest(format!("{origin}\n{learner}\n{issued_at}").as_bytes());
    let mut raw = [0u8; 16];
    raw.copy_from_slice(&digest[..16]);
    let id = uuid::Builder::from_random_bytes(raw).into_uuid();
    let achievements: Vec<Value> =
        credentials.iter().filter_map(|c| c.pointer("/credentialSubject/achievement").cloned()).collect();
    let unsigned = serde_json::json!({
        "@context": CLR_CONTEXT,
        "id": format!("urn:uuid:{id}"),
        "type": ["VerifiableCredential", "ClrCredential"],
        "name": format!("Comprehensive Learner Record from {origin}"),
        "issuer": { "id": operator.did().as_str(), "type": ["Profile"], "name": origin },
        "validFrom": issued_at.to_string(),
        "credentialSubject": {
            "id": learner.as_str(),
            "type": ["ClrSubject"],
            "verifiableCredential": credentials,
            "achievement": achievements,
        },
    });
    // eddsa-rdfc-2022 when every credential in it is JSON-LD (form 2); a CLR that holds a form-1
    // credential (whose private status type no context defines) is signed with eddsa-jcs-2022.
    let rdfc = crate::rdfc::proof_options(operator.did(), issued_at);
    if let Ok(value) = crate::rdfc::sign(&unsigned, &rdfc, operator) {
        return Ok(secure(unsigned, rdfc, &value));
    }
    let options = proof_options(&unsigned, operator.did(), issued_at);
    let value = proof_value(&unsigned, &options, operator)?;
    Ok(secure(unsigned, options, &value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const VECTOR: &str = include_str!("../tests/vectors/w3c/eddsa-jcs-2022-signed.json");
    const VECTOR_KEY: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";

    fn now() -> Timestamp {
        "2026-11-23T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_w3c_vector_verifies_with_its_key() {
        let doc: Value = serde_json::from_str(VECTOR).unwrap();
        let key = Did::from_multibase(VECTOR_KEY).unwrap();
        let report = verify(&doc, Some(&key), &now());
        assert!(report.is_valid(), "{report:?}");
        // Its verification method is an https URL: without the key it cannot be resolved offline.
        let report = verify(&doc, None, &now());
        assert!(!report.is_valid());
        assert_eq!(report.checks.iter().find(|c| !c.ok).unwrap().name, "proof.key");
    }

    #[test]
    fn one_changed_byte_fails_the_vector() {
        let key = Did::from_multibase(VECTOR_KEY).unwrap();
        let mut failures = 0;
        for (i, b) in VECTOR.bytes().enumerate() {
            if !b.is_ascii_alphanumeric() {
                continue;
            }
            let mut bytes = VECTOR.as_bytes().to_vec();
            bytes[i] = if b == b'a' { b'b' } else { b'a' };
            let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else { continue };
            assert!(!verify(&doc, Some(&key), &now()).is_valid(), "byte {i} changed and it still verifies");
            failures += 1;
        }
        assert!(failures > 500, "{failures}");
    }

    #[test]
    fn signs_what_it_verifies() {
        let key = SecretKey::from_seed(&[5; 32]);
        let doc = serde_json::json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"], "issuer": key.did().as_str(), "validFrom": "2026-01-01T00:00:00Z", "credentialSubject": {"id": "did:example:1"}});
        let created: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let options = proof_options(&doc, key.did(), &created);
        let value = proof_value(&doc, &options, &key).unwrap();
        let secured = secure(doc, options, &value);
        assert!(verify(&secured, None, &now()).is_valid());
    }

    const UUID: &str = "3f2a0c1e-8b1d-4c55-9a7e-2f0d6c1b9e44";

    /// A credential signed by `key` whose `credentialStatus` is `status` (none for `Null`).
    fn with_status(key: &SecretKey, status: Value) -> Value {
        let mut doc = serde_json::json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": format!("urn:uuid:{UUID}"), "type": ["VerifiableCredential"], "issuer": key.did().as_str(), "validFrom": "2026-01-01T00:00:00Z", "credentialSubject": {"id": "did:example:1"}});
        if !status.is_null() {
            doc["credentialStatus"] = status;
        }
        let created: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let options = proof_options(&doc, key.did(), &created);
        let value = proof_value(&doc, &options, key).unwrap();
        secure(doc, options, &value)
    }

    #[test]
    fn reads_the_status_reference_of_this_credential_only() {
        let key = SecretKey::from_seed(&[6; 32]);
        let ours =
            serde_json::json!({"id": format!("https://ledger.example.edu/v1/status/{UUID}"), "type": STATUS_TYPE});
        let reference = status_reference(&with_status(&key, ours.clone())).unwrap().unwrap();
        assert_eq!((reference.origin.as_str(), reference.uuid.as_str()), ("ledger.example.edu", UUID));
        let pathed =
            serde_json::json!({"id": format!("https://example.edu/creds/v1/status/{UUID}"), "type": STATUS_TYPE});
        assert_eq!(status_reference(&with_status(&key, pathed)).unwrap().unwrap().origin, "example.edu/creds");
        assert_eq!(status_reference(&with_status(&key, Value::Null)), Ok(None));
        let refused = [
            (
                serde_json::json!({"id": format!("http://ledger.example.edu/v1/status/{UUID}"), "type": STATUS_TYPE}),
                "not https://",
            ),
            (
                serde_json::json!({"id": format!("https://user@evil.example/v1/status/{UUID}"), "type": STATUS_TYPE}),
                "not https://",
            ),
            (
                serde_json::json!({"id": "https://ledger.example.edu/v1/status/not-a-uuid", "type": STATUS_TYPE}),
                "not https://",
            ),
            (
                serde_json::json!({"id": "https://ledger.example.edu/v1/status/11111111-2222-4333-8444-555555555555", "type": STATUS_TYPE}),
                "this credential is",
            ),
            (
                serde_json::json!({"id": "https://x.example/list#7", "type": "BitstringStatusListEntry"}),
                "`BitstringStatusListEntry`",
            ),
            (serde_json::json!([ours.clone(), ours]), "lists 2 entries"),
        ];
        for (status, why) in refused {
            let err = status_reference(&with_status(&key, status.clone())).unwrap_err();
            assert!(err.contains(why), "{status}: {err}");
        }
    }

    #[test]
    fn the_status_decides_the_verdict_of_a_valid_credential() {
        let key = SecretKey::from_seed(&[7; 32]);
        let status =
            serde_json::json!({"id": format!("https://ledger.example.edu/v1/status/{UUID}"), "type": STATUS_TYPE});
        let doc = with_status(&key, status);
        let report = verify(&doc, None, &now());
        assert!(report.is_valid(), "{report:?}");
        assert_eq!(report.signer.as_ref(), Some(key.did()));
        assert!(report.status_to_look_up(&doc).is_ok());
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
        let revoked = report.with_status(found(CredentialState::Revoked, None));
        assert!(revoked.checks.last().unwrap().detail.starts_with("revoked (seq 9)"), "{revoked:?}");

        // A credential that fails its proof stays INVALID, and its status is not looked up.
        let mut tampered = doc.clone();
        tampered["credentialSubject"]["id"] = "did:example:2".into();
        let report = verify(&tampered, None, &now());
        let finding = report.status_to_look_up(&tampered).unwrap_err();
        assert!(matches!(&finding, StatusFinding::NotChecked(why) if why.contains("earlier check failed")));
        assert_eq!(report.with_status(finding).verdict, VcVerdict::Invalid);
        assert_eq!(
            verify(&tampered, None, &now()).with_status(StatusFinding::Unknown("x".into())).verdict,
            VcVerdict::Invalid
        );
    }
}
