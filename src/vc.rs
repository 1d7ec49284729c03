//! W3C Verifiable Credentials 2.0 secured with a Data Integrity proof, cryptosuite
//! `eddsa-jcs-2022` (W3C vc-di-eddsa §3.3): the proof signs
//! `SHA-256(JCS(proof options)) ‖ SHA-256(JCS(credential without proof))` with Ed25519, and
//! `proofValue` is the signature in multibase base58btc. Pure functions over JSON values.

use ed25519_dalek::Signature;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::canonical;
use crate::event::Timestamp;
use crate::id::Did;
use crate::keys::SecretKey;

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

/// One named check of a standard credential.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct VcCheck {
    pub name: &'static str,
    pub ok: bool,
    pub detail: String,
}

/// The verdict on a standard credential.
#[derive(Serialize, Clone, Debug, PartialEq)]
pub struct VcReport {
    pub verdict: &'static str,
    pub checks: Vec<VcCheck>,
}

impl VcReport {
    /// Did every check pass?
    pub fn is_valid(&self) -> bool {
        self.verdict == "VALID"
    }
}

/// Verifies a credential's eddsa-jcs-2022 proof. The key is `key` if given, else the did:key of
/// the proof's `verificationMethod`.
pub fn verify(document: &Value, key: Option<&Did>, now: &Timestamp) -> VcReport {
    let mut checks = Vec::new();
    let mut check = |name: &'static str, result: Result<String, String>| {
        let ok = result.is_ok();
        checks.push(VcCheck { name, ok, detail: result.unwrap_or_else(|e| e) });
        ok
    };
    let finish = |checks: Vec<VcCheck>| {
        let valid = checks.iter().all(|c| c.ok);
        VcReport { verdict: if valid { "VALID" } else { "INVALID" }, checks }
    };
    let proof = match document.get("proof") {
        Some(Value::Object(p)) => p.clone(),
        Some(Value::Array(ps)) if ps.len() == 1 => ps[0].as_object().cloned().unwrap_or_default(),
        Some(_) => {
            check("proof.present", Err("only one proof object is supported".into()));
            return finish(checks);
        }
        None => {
            check("proof.present", Err("the credential has no proof".into()));
            return finish(checks);
        }
    };
    let field = |name: &str| proof.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
    let suite_ok = field("type") == "DataIntegrityProof" && field("cryptosuite") == CRYPTOSUITE;
    if !check(
        "proof.cryptosuite",
        if suite_ok {
            Ok(format!("DataIntegrityProof, {CRYPTOSUITE}"))
        } else {
            Err(format!("`{}` / `{}` is not DataIntegrityProof / {CRYPTOSUITE}", field("type"), field("cryptosuite")))
        },
    ) {
        return finish(checks);
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
        return finish(checks);
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
    let signature = value
        .as_deref()
        .and_then(|v| v.strip_prefix('z'))
        .and_then(|b58| bs58::decode(b58).into_vec().ok())
        .and_then(|bytes| <[u8; 64]>::try_from(bytes).ok())
        .map(|b| Signature::from_bytes(&b));
    let verified = match (signature, hash_data(&unsecured, &options)) {
        (None, _) => Err("proofValue is not a base58btc (z…) Ed25519 signature".to_owned()),
        (_, Err(e)) => Err(e),
        (Some(sig), Ok(data)) => signer
            .verifying_key()
            .verify_strict(&data, &sig)
            .map(|()| format!("signed by {signer}"))
            .map_err(|_| "the signature does not verify over this credential".to_owned()),
    };
    check("proof.signature", verified);
    let date = |name: &str| document.get(name).and_then(Value::as_str).map(str::parse::<Timestamp>);
    let window = match (date("validFrom"), date("validUntil")) {
        (Some(Err(e)), _) | (_, Some(Err(e))) => Err(e),
        (Some(Ok(from)), _) if from > *now => Err(format!("not valid before {from}")),
        (_, Some(Ok(until))) if until < *now => Err(format!("expired at {until}")),
        _ => Ok("valid now".to_owned()),
    };
    check("credential.validity", window);
    finish(checks)
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
}
