//! The proofs that sign RDF canonical N-Quads with Ed25519, one canonicalize-and-hash for both:
//! the `eddsa-rdfc-2022` cryptosuite (W3C vc-di-eddsa §3.2), which the ledger signs and checks on
//! append, and `Ed25519Signature2020` (W3C CCG, Digital Bazaar's suite), which credentials from
//! elsewhere carry and which is only verified. Each signs
//! `SHA-256(RDFC-1.0(proof configuration)) ‖ SHA-256(RDFC-1.0(document without proof))` with
//! Ed25519, where the proof configuration is the proof less `proofValue` with the document's
//! `@context`; `proofValue` is the signature in multibase base58btc (`z…`). Canonical N-Quads come
//! from [`crate::jsonld`] (embedded contexts only, safe mode). Pure functions over JSON values.
//!
//! The ledger's check on append ([`verify`]) and an outside credential's check in `vc::proofs`
//! are this one predicate.

use ed25519_dalek::Signature;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::event::Timestamp;
use crate::id::Did;
use crate::jsonld::{self, DocumentLoader, JsonLdError};
use crate::keys::SecretKey;

/// The cryptosuite this module implements.
pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";

/// Why an eddsa-rdfc-2022 or Ed25519Signature2020 proof was not made or does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RdfcError {
    /// The proof options are not of the proof being checked (`expected`, as [`RdfcProof::name`]).
    #[error("the proof is `{kind}` / `{cryptosuite}`, not {expected}")]
    NotThisSuite { kind: String, cryptosuite: String, expected: &'static str },
    /// The document or the proof configuration has no canonical form.
    #[error(transparent)]
    JsonLd(#[from] JsonLdError),
    /// `proofValue` is not a base58btc Ed25519 signature.
    #[error("proofValue is not a base58btc (z…) Ed25519 signature")]
    MalformedProofValue,
    /// The signature does not verify over this document and proof configuration.
    #[error("the signature does not verify over this credential")]
    Mismatch,
}

/// Proof options for `key`'s proof at `created`: assertionMethod, verification method
/// `did:key:…#<multibase>`. (No `@context`: the proof configuration takes the document's.)
pub fn proof_options(key: &Did, created: &Timestamp) -> Value {
    let mut options = Map::new();
    options.insert("type".into(), "DataIntegrityProof".into());
    options.insert("cryptosuite".into(), CRYPTOSUITE.into());
    options.insert("created".into(), created.to_string().into());
    options.insert("verificationMethod".into(), format!("{key}#{}", key.multibase()).into());
    options.insert("proofPurpose".into(), "assertionMethod".into());
    Value::Object(options)
}

/// A proof that signs RDFC-1.0 with Ed25519 as this module describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RdfcProof {
    /// `DataIntegrityProof` with cryptosuite `eddsa-rdfc-2022`: what the ledger signs.
    EddsaRdfc2022,
    /// `Ed25519Signature2020`: verified, never signed here. Its verification method is an
    /// `Ed25519VerificationKey2020` (a did:key document describes its key so).
    Ed25519Signature2020,
}

impl RdfcProof {
    /// The proof's `type` and, for a Data Integrity proof, its `cryptosuite`, as messages name it.
    pub fn name(self) -> &'static str {
        match self {
            RdfcProof::EddsaRdfc2022 => "DataIntegrityProof / eddsa-rdfc-2022",
            RdfcProof::Ed25519Signature2020 => "Ed25519Signature2020",
        }
    }

    /// The bytes the signature covers, with the contexts of `loader`.
    pub fn hash_data_with(
        self,
        unsecured: &Value,
        options: &Value,
        loader: &DocumentLoader,
    ) -> Result<Vec<u8>, RdfcError> {
        let field = |name: &str| options.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
        let ours = match self {
            RdfcProof::EddsaRdfc2022 => field("type") == "DataIntegrityProof" && field("cryptosuite") == CRYPTOSUITE,
            RdfcProof::Ed25519Signature2020 => field("type") == "Ed25519Signature2020",
        };
        if !ours {
            return Err(RdfcError::NotThisSuite {
                kind: field("type"),
                cryptosuite: field("cryptosuite"),
                expected: self.name(),
            });
        }
        let mut config = options.as_object().cloned().unwrap_or_default();
        config.remove("proofValue");
        match unsecured.get("@context") {
            Some(context) => config.insert("@context".into(), context.clone()),
            None => config.remove("@context"),
        };
        let config = jsonld::canonicalize_with(&Value::Object(config), loader)?;
        // Without its proof; copied only when it has one.
        let document = match unsecured.as_object().filter(|members| members.contains_key("proof")) {
            Some(members) => {
                let mut members = members.clone();
                members.remove("proof");
                jsonld::canonicalize_with(&Value::Object(members), loader)?
            }
            None => jsonld::canonicalize_with(unsecured, loader)?,
        };
        let mut data = Sha256::digest(config.as_bytes()).to_vec();
        data.extend_from_slice(&Sha256::digest(document.as_bytes()));
        Ok(data)
    }

    /// Checks `proof_value` as `key`'s signature over `unsecured` (its `proof`, if any, is
    /// ignored) with these proof options (a `proofValue` among them is ignored), with the contexts
    /// of `loader`.
    pub fn verify_with(
        self,
        unsecured: &Value,
        options: &Value,
        proof_value: &str,
        key: &Did,
        loader: &DocumentLoader,
    ) -> Result<(), RdfcError> {
        let signature = decode_proof_value(proof_value).ok_or(RdfcError::MalformedProofValue)?;
        let data = self.hash_data_with(unsecured, options, loader)?;
        key.verifying_key().verify_strict(&data, &signature).map_err(|_| RdfcError::Mismatch)
    }
}

/// The bytes an eddsa-rdfc-2022 signature covers, with the embedded contexts.
pub fn hash_data(unsecured: &Value, options: &Value) -> Result<Vec<u8>, RdfcError> {
    RdfcProof::EddsaRdfc2022.hash_data_with(unsecured, options, DocumentLoader::pinned())
}

/// The `proofValue` of `key`'s eddsa-rdfc-2022 signature over `unsecured` with these options.
pub fn sign(unsecured: &Value, options: &Value, key: &SecretKey) -> Result<String, RdfcError> {
    let signature = key.sign(&hash_data(unsecured, options)?);
    Ok(encode_proof_value(&signature))
}

/// Checks `proof_value` as `key`'s eddsa-rdfc-2022 signature over `unsecured` (its `proof`, if
/// any, is ignored) with these proof options (a `proofValue` among them is ignored).
pub fn verify(unsecured: &Value, options: &Value, proof_value: &str, key: &Did) -> Result<(), RdfcError> {
    RdfcProof::EddsaRdfc2022.verify_with(unsecured, options, proof_value, key, DocumentLoader::pinned())
}

/// A signature as a multibase base58btc `proofValue`.
pub fn encode_proof_value(signature: &Signature) -> String {
    format!("z{}", bs58::encode(signature.to_bytes()).into_string())
}

/// The Ed25519 signature in a `proofValue` (base58btc, `z…`), if it is one.
pub fn decode_proof_value(value: &str) -> Option<Signature> {
    let bytes = bs58::decode(value.strip_prefix('z')?).into_vec().ok()?;
    Some(Signature::from_bytes(&<[u8; 64]>::try_from(bytes).ok()?))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A file of `tests/vectors/w3c/`.
    pub(crate) fn vector(path: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/vectors/w3c/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    /// The embedded contexts and the W3C examples context the vectors name.
    pub(crate) fn examples() -> DocumentLoader {
        DocumentLoader::pinned()
            .with_context("https://www.w3.org/ns/credentials/examples/v2", &vector("credentials-examples-v2.jsonld"))
            .unwrap()
    }

    /// The vectors' key pair: `privateKeyMultibase` is base58btc of the multicodec ed25519-priv
    /// prefix (0x80 0x26) and the 32-byte seed.
    /// `text` (a JSON document) with one ASCII letter or digit changed (to `a`, or `b` for an
    /// `a`), each change that still parses, with the index of the changed byte.
    pub(crate) fn one_byte_changes(text: &str) -> impl Iterator<Item = (usize, Value)> + '_ {
        text.bytes().enumerate().filter(|(_, b)| b.is_ascii_alphanumeric()).filter_map(|(i, b)| {
            let mut bytes = text.as_bytes().to_vec();
            bytes[i] = if b == b'a' { b'b' } else { b'a' };
            serde_json::from_slice::<Value>(&bytes).ok().map(|doc| (i, doc))
        })
    }

    pub(crate) fn vector_key() -> SecretKey {
        let pair: Value = serde_json::from_str(&vector("keyPair.json")).unwrap();
        let private = pair["privateKeyMultibase"].as_str().unwrap();
        let bytes = bs58::decode(&private[1..]).into_vec().unwrap();
        assert_eq!(&bytes[..2], &[0x80, 0x26]);
        let key = SecretKey::from_seed(&bytes[2..].try_into().unwrap());
        assert_eq!(key.did().multibase(), pair["publicKeyMultibase"].as_str().unwrap());
        key
    }

    fn split(signed: &Value) -> (Value, Value, String) {
        let mut unsecured = signed.clone();
        let mut options = unsecured.as_object_mut().unwrap().remove("proof").unwrap();
        let value = options.as_object_mut().unwrap().remove("proofValue").unwrap();
        (unsecured, options, value.as_str().unwrap().to_owned())
    }

    #[test]
    fn the_w3c_vector_hashes_signs_and_verifies_as_published() {
        let signed: Value = serde_json::from_str(&vector("eddsa-rdfc-2022/signedDataInt.json")).unwrap();
        let (unsecured, options, proof_value) = split(&signed);
        let data = RdfcProof::EddsaRdfc2022.hash_data_with(&unsecured, &options, &examples()).unwrap();
        let hex: String = data.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, vector("eddsa-rdfc-2022/combinedHashDataInt.txt").trim());
        let with_proof = RdfcProof::EddsaRdfc2022.hash_data_with(&signed, &options, &examples()).unwrap();
        assert_eq!(with_proof, data, "the document's own proof is not hashed");
        let key = vector_key();
        let signature = key.sign(&data);
        let sig_hex: String = signature.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(sig_hex, vector("eddsa-rdfc-2022/sigHexDataInt.txt").trim());
        assert_eq!(encode_proof_value(&signature), proof_value);
        assert_eq!(proof_value, vector("eddsa-rdfc-2022/sigBTC58DataInt.txt").trim());
        assert_eq!(
            RdfcProof::EddsaRdfc2022.verify_with(&unsecured, &options, &proof_value, key.did(), &examples()),
            Ok(())
        );
    }

    #[test]
    fn the_ed25519_signature_2020_vector_canonicalizes_signs_and_verifies_as_published() {
        let signed: Value = serde_json::from_str(&vector("Ed25519Signature2020/signedEdSig.json")).unwrap();
        let (unsecured, options, proof_value) = split(&signed);
        let loader = examples();
        let config: Value = serde_json::from_str(&vector("Ed25519Signature2020/proofConfigEdSig.json")).unwrap();
        let proof_canon = jsonld::canonicalize_with(&config, &loader).unwrap();
        assert_eq!(proof_canon, vector("Ed25519Signature2020/proofCanonEdSig.txt"));
        let doc_canon = jsonld::canonicalize_with(&unsecured, &loader).unwrap();
        assert_eq!(doc_canon, vector("Ed25519Signature2020/canonDocEdSig.txt"));
        let suite = RdfcProof::Ed25519Signature2020;
        let data = suite.hash_data_with(&unsecured, &options, &loader).unwrap();
        let mut expected = Sha256::digest(proof_canon.as_bytes()).to_vec();
        expected.extend_from_slice(&Sha256::digest(doc_canon.as_bytes()));
        assert_eq!(data, expected);
        let key = vector_key();
        assert_eq!(encode_proof_value(&key.sign(&data)), proof_value);
        assert_eq!(proof_value, vector("Ed25519Signature2020/sigBTC58EdSig.txt").trim());
        assert_eq!(suite.verify_with(&unsecured, &options, &proof_value, key.did(), &loader), Ok(()));
        let other = SecretKey::from_seed(&[6; 32]);
        assert_eq!(
            suite.verify_with(&unsecured, &options, &proof_value, other.did(), &loader),
            Err(RdfcError::Mismatch)
        );
        let mut changed = unsecured.clone();
        changed["credentialSubject"]["alumniOf"] = "The School of Other Examples".into();
        assert_eq!(suite.verify_with(&changed, &options, &proof_value, key.did(), &loader), Err(RdfcError::Mismatch));
    }

    #[test]
    fn each_proof_is_checked_only_as_what_it_says_it_is() {
        let loader = examples();
        let edsig: Value = serde_json::from_str(&vector("Ed25519Signature2020/signedEdSig.json")).unwrap();
        let (unsecured, options, value) = split(&edsig);
        // Without the suite's context, `Ed25519Signature2020` is not what was signed: the examples
        // context's `@vocab` makes it another IRI (with no `@vocab`, safe mode refuses the term).
        let mut bare = unsecured.clone();
        bare["@context"].as_array_mut().unwrap().pop();
        let refused = RdfcProof::Ed25519Signature2020.verify_with(&bare, &options, &value, vector_key().did(), &loader);
        assert_eq!(refused, Err(RdfcError::Mismatch));
        bare["@context"].as_array_mut().unwrap().pop();
        let refused = RdfcProof::Ed25519Signature2020.verify_with(&bare, &options, &value, vector_key().did(), &loader);
        assert!(matches!(refused, Err(RdfcError::JsonLd(_))), "{refused:?}");
        // The append check (eddsa-rdfc-2022) takes no Ed25519Signature2020 proof, even a good one.
        let refused = RdfcProof::EddsaRdfc2022.verify_with(&unsecured, &options, &value, vector_key().did(), &loader);
        assert!(
            matches!(&refused, Err(RdfcError::NotThisSuite { expected: "DataIntegrityProof / eddsa-rdfc-2022", .. })),
            "{refused:?}"
        );
        let dataint: Value = serde_json::from_str(&vector("eddsa-rdfc-2022/signedDataInt.json")).unwrap();
        let (unsecured, options, value) = split(&dataint);
        let refused =
            RdfcProof::Ed25519Signature2020.verify_with(&unsecured, &options, &value, vector_key().did(), &loader);
        assert_eq!(
            refused.unwrap_err().to_string(),
            "the proof is `DataIntegrityProof` / `eddsa-rdfc-2022`, not Ed25519Signature2020"
        );
    }

    #[test]
    fn one_changed_byte_fails_the_vector() {
        let text = vector("eddsa-rdfc-2022/signedDataInt.json");
        let key = vector_key();
        let loader = examples();
        let mut failures = 0;
        for (i, doc) in one_byte_changes(&text) {
            let Some(mut options) = doc.get("proof").cloned() else {
                failures += 1;
                continue;
            };
            let value = options.as_object_mut().and_then(|o| o.remove("proofValue"));
            let value = value.as_ref().and_then(Value::as_str).unwrap_or_default();
            let result = RdfcProof::EddsaRdfc2022.verify_with(&doc, &options, value, key.did(), &loader);
            assert!(result.is_err(), "byte {i} changed and it still verifies");
            failures += 1;
        }
        assert!(failures > 500, "{failures}");
    }

    #[test]
    fn signs_what_it_verifies_and_nothing_else() {
        let key = SecretKey::from_seed(&[5; 32]);
        let doc = serde_json::json!({"@context": [jsonld::CREDENTIALS_V2], "type": ["VerifiableCredential"], "issuer": key.did().as_str(), "validFrom": "2026-01-01T00:00:00Z", "credentialSubject": {"id": "did:example:1"}});
        let options = proof_options(key.did(), &"2026-01-01T00:00:00Z".parse().unwrap());
        let value = sign(&doc, &options, &key).unwrap();
        assert_eq!(verify(&doc, &options, &value, key.did()), Ok(()));
        let other = SecretKey::from_seed(&[6; 32]);
        assert_eq!(verify(&doc, &options, &value, other.did()), Err(RdfcError::Mismatch));
        assert_eq!(verify(&doc, &options, "z123", key.did()), Err(RdfcError::MalformedProofValue));
        let mut jcs = options.clone();
        jcs["cryptosuite"] = "eddsa-jcs-2022".into();
        assert!(matches!(verify(&doc, &jcs, &value, key.did()), Err(RdfcError::NotThisSuite { .. })));
        // RDF has no order: the same statements in another order are what was signed.
        let mut reordered = doc.clone();
        reordered["type"] = serde_json::json!(["VerifiableCredential", "VerifiableCredential"]);
        assert_eq!(verify(&reordered, &options, &value, key.did()), Ok(()));
        reordered["issuer"] = other.did().as_str().into();
        assert_eq!(verify(&reordered, &options, &value, key.did()), Err(RdfcError::Mismatch));
    }
}
