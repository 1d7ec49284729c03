//! W3C Verifiable Credentials 2.0: the Open Badges 3.0 and CLR 2.0 credentials the ledger
//! issues, secured with a Data Integrity proof (cryptosuite `eddsa-jcs-2022`, [`eddsa_jcs`]),
//! and their verification. Pure functions over JSON values.
//!
//! Verifying is [`verifier`]: the proofs ([`proofs`]: eddsa-rdfc-2022, eddsa-jcs-2022,
//! Ed25519Signature2020; keys from [`did`] documents), the validity window ([`document`]) and
//! the status ([`status_list`] for W3C Bitstring Status Lists, [`credledger_status`] for the
//! ledger's v1 form); what must be fetched comes through [`Fetch`], implemented by the caller.
//! The verdict is a [`VcReport`] ([`report`]); it names the issuer ([`VcIssuer`]), from the
//! credential or, [`VcReport::with_registry_name`], from a ledger's registry.

pub mod credledger_status;
pub mod did;
pub mod document;
pub mod eddsa_jcs;
pub mod proofs;
pub mod report;
pub mod status_list;
pub mod verifier;

pub use credledger_status::{STATUS_TYPE, StatusReference};
pub use eddsa_jcs::CRYPTOSUITE;
pub use report::{NameSource, STATUS_CHECK, StatusFinding, VcCheck, VcIssuer, VcReport, VcVerdict};
pub use verifier::{Fetch, check, verify};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::event::{Event, Payload, Timestamp};
use crate::id::Did;
use crate::keys::SecretKey;
use eddsa_jcs::hash_data;
use proofs::decode_proof_value;

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
    let signature = key.sign(&hash_data(unsecured, options)?);
    Ok(format!("z{}", bs58::encode(signature.to_bytes()).into_string()))
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
        for (i, doc) in crate::rdfc::tests::one_byte_changes(VECTOR) {
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

    /// A credential in the name of `issuer` (with a self-asserted name), its proof by `signer`
    /// under the verification method `method` (default: the signer's did:key method).
    fn in_the_name_of(issuer: &str, signer: &SecretKey, method: Option<&str>) -> Value {
        let doc = serde_json::json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"], "name": "Doctor of Medicine", "issuer": {"id": issuer, "type": ["Profile"], "name": "Lakeside Community College"}, "validFrom": "2026-01-01T00:00:00Z", "credentialSubject": {"id": "did:example:1"}});
        let created: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut options = proof_options(&doc, signer.did(), &created);
        if let Some(method) = method {
            options["verificationMethod"] = method.into();
        }
        let value = proof_value(&doc, &options, signer).unwrap();
        secure(doc, options, &value)
    }

    fn failed(report: &VcReport) -> Vec<(&str, &str)> {
        report.checks.iter().filter(|c| !c.ok).map(|c| (c.name.as_str(), c.detail.as_str())).collect()
    }

    #[test]
    fn a_proof_by_anyone_but_the_issuer_is_invalid() {
        let college = SecretKey::from_seed(&[9; 32]);
        let forger = SecretKey::from_seed(&[10; 32]);
        let honest = verify(&in_the_name_of(college.did().as_str(), &college, None), None, &now());
        assert!(honest.is_valid() && honest.proved_by_issuer(), "{honest:?}");
        let issuer = honest.issuer.clone().unwrap();
        assert_eq!(
            (issuer.id.as_str(), &issuer.name_source),
            (college.did().as_str(), &Some(NameSource::SelfAsserted))
        );
        assert!(issuer.describe().contains("Lakeside Community College (self-asserted"), "{}", issuer.describe());

        // The college's name and did, the forger's proof: the signature verifies, the binding not.
        let forged = in_the_name_of(college.did().as_str(), &forger, None);
        let report = verify(&forged, None, &now());
        assert_eq!(report.verdict, VcVerdict::Invalid);
        let failures = failed(&report);
        assert_eq!(failures.iter().map(|(name, _)| *name).collect::<Vec<_>>(), ["proof.issuer"]);
        let detail = failures[0].1;
        assert!(detail.contains(forger.did().as_str()) && detail.contains(college.did().as_str()), "{detail}");
        assert!(!report.proved_by_issuer());
        // Giving the forger's key changes nothing; giving the college's fails the signature.
        assert_eq!(failed(&verify(&forged, Some(forger.did()), &now()))[0].0, "proof.issuer");
        assert_eq!(failed(&verify(&forged, Some(college.did()), &now()))[0].0, "proof.signature");
        // A registry names only the issuer of a proof that is the issuer's.
        let named = report.with_registry_name("Registered College", "ledger.example.edu");
        assert_eq!(named.issuer.unwrap().name_source, Some(NameSource::SelfAsserted));
        let named = honest.with_registry_name("Registered College", "ledger.example.edu");
        let issuer = named.issuer.unwrap();
        assert_eq!(issuer.name.as_deref(), Some("Registered College"));
        assert_eq!(issuer.name_source, Some(NameSource::Registry { ledger: "ledger.example.edu".into() }));
    }

    #[test]
    fn an_issuer_this_verifier_cannot_resolve_needs_its_key() {
        let key = SecretKey::from_seed(&[11; 32]);
        let doc = in_the_name_of("https://college.example/issuers/1", &key, None);
        let report = verify(&doc, None, &now());
        let failures = failed(&report);
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert_eq!(failures[0].0, "proof.issuer");
        assert!(failures[0].1.contains("cannot resolve the issuer") && failures[0].1.contains("--key"), "{failures:?}");
        // The verifier who knows the issuer's key vouches for it.
        assert!(verify(&doc, Some(key.did()), &now()).is_valid());
        // A credential that names no issuer binds to nobody.
        let mut nameless = in_the_name_of(key.did().as_str(), &key, None);
        nameless.as_object_mut().unwrap().remove("issuer");
        assert!(
            failed(&verify(&nameless, None, &now()))
                .iter()
                .any(|(n, d)| *n == "proof.issuer" && d.contains("names no issuer"))
        );
    }
}
