//! A credential's proofs, each check by name: the suite (`eddsa-rdfc-2022` and
//! `Ed25519Signature2020` through [`crate::rdfc`], the ledger's own append check, over the embedded
//! JSON-LD contexts; `eddsa-jcs-2022`), the purpose, the key, that it is the issuer's (`issuer`: the issuer's
//! DID document lists it under `assertionMethod`; did:key documents are made offline, others are
//! the caller's input, through [`Keys::resolve`]; a key given with `--key` is the verifier's word
//! only when the issuer's document cannot be had) and the signature. A proof set (a `proof` array) verifies only if every proof in it
//! does, and each is reported (`proof[1].signature`); a proof chain (`previousProof`) is refused.

use serde_json::{Map, Value};

use super::did::{self, DidDocument};
use super::document::{self, quote};
use super::eddsa_jcs;
use super::report::VcCheck;
use crate::id::Did;
use crate::jsonld::DocumentLoader;
pub use crate::rdfc::decode_proof_value;
use crate::rdfc::{RdfcError, RdfcProof};

/// The most proofs one document may carry: each may cost a canonicalization and a fetch.
pub const MAX_PROOFS: usize = 4;

/// The proof suites this verifier checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// `DataIntegrityProof` with `eddsa-rdfc-2022` (W3C vc-di-eddsa §3.2).
    EddsaRdfc2022,
    /// `DataIntegrityProof` with `eddsa-jcs-2022` (W3C vc-di-eddsa §3.3).
    EddsaJcs2022,
    /// `Ed25519Signature2020` (W3C CCG).
    Ed25519Signature2020,
}

impl Suite {
    /// The suite of a proof, from its `type` and `cryptosuite`.
    pub fn of(proof: &Map<String, Value>) -> Result<Suite, String> {
        let field = |name: &str| proof.get(name).and_then(Value::as_str).unwrap_or_default();
        match (field("type"), field("cryptosuite")) {
            ("DataIntegrityProof", crate::rdfc::CRYPTOSUITE) => Ok(Suite::EddsaRdfc2022),
            ("DataIntegrityProof", eddsa_jcs::CRYPTOSUITE) => Ok(Suite::EddsaJcs2022),
            ("Ed25519Signature2020", _) => Ok(Suite::Ed25519Signature2020),
            (kind, suite) => Err(format!(
                "`{}` / `{}` is none of DataIntegrityProof eddsa-rdfc-2022 or eddsa-jcs-2022, or Ed25519Signature2020",
                quote(kind),
                quote(suite)
            )),
        }
    }

    /// The suite's name as a report shows it.
    pub fn name(self) -> &'static str {
        match self {
            Suite::EddsaRdfc2022 => "DataIntegrityProof, eddsa-rdfc-2022",
            Suite::EddsaJcs2022 => "DataIntegrityProof, eddsa-jcs-2022",
            Suite::Ed25519Signature2020 => "Ed25519Signature2020",
        }
    }

    /// Checks `proof`'s `proofValue` as `key`'s signature over `unsecured` (the document without
    /// `proof`), JSON-LD contexts from `loader`.
    fn verify(
        self,
        unsecured: &Value,
        proof: &Map<String, Value>,
        key: &Did,
        loader: &DocumentLoader,
    ) -> Result<(), String> {
        let mut options = proof.clone();
        let value = options.remove("proofValue");
        let value = value.as_ref().and_then(Value::as_str).ok_or(RdfcError::MalformedProofValue.to_string())?;
        let options = Value::Object(options);
        let rdf = match self {
            Suite::EddsaRdfc2022 => RdfcProof::EddsaRdfc2022,
            Suite::Ed25519Signature2020 => RdfcProof::Ed25519Signature2020,
            Suite::EddsaJcs2022 => {
                let signature = decode_proof_value(value).ok_or(RdfcError::MalformedProofValue.to_string())?;
                return eddsa_jcs::verify(unsecured, &options, key, &signature);
            }
        };
        rdf.verify_with(unsecured, &options, value, key, loader).map_err(|e| e.to_string())
    }
}

/// Where the key of a proof comes from.
pub struct Keys<'a> {
    /// The key the person verifying gave (`--key`), vouched for as the issuer's: it must still be
    /// one the issuer's DID document lists, when that document can be had.
    pub given: Option<&'a Did>,
    /// The DID documents that are not did:key's (those are made offline): did:web, through the
    /// caller.
    pub resolve: &'a mut dyn FnMut(&str) -> Result<DidDocument, String>,
}

impl std::fmt::Debug for Keys<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("given", &self.given).finish_non_exhaustive()
    }
}

/// Checks every proof of `document`, adding the checks to `checks`; the key of the first proof,
/// if every proof verified.
pub fn check(document: &Value, keys: &mut Keys<'_>, checks: &mut Vec<VcCheck>) -> Option<Did> {
    check_with(document, DocumentLoader::pinned(), keys, checks)
}

/// [`check`] with the JSON-LD contexts of `loader` (the embedded ones, or a test's more).
pub fn check_with(
    document: &Value,
    loader: &DocumentLoader,
    keys: &mut Keys<'_>,
    checks: &mut Vec<VcCheck>,
) -> Option<Did> {
    let mut record = |name: String, result: Result<String, String>| {
        let ok = result.is_ok();
        checks.push(VcCheck { name, ok, ran: true, detail: result.unwrap_or_else(|e| e) });
        ok
    };
    let proofs: Vec<&Value> = match document.get("proof") {
        Some(Value::Array(list)) if !list.is_empty() && list.len() <= MAX_PROOFS => list.iter().collect(),
        Some(Value::Array(list)) if !list.is_empty() => {
            record(
                "proof.present".into(),
                Err(format!("{} proofs; this verifier checks at most {MAX_PROOFS}", list.len())),
            );
            return None;
        }
        Some(one @ Value::Object(_)) => vec![one],
        Some(_) => {
            record("proof.present".into(), Err("proof is neither a proof object nor a list of them".into()));
            return None;
        }
        None => {
            record("proof.present".into(), Err("the credential has no proof".into()));
            return None;
        }
    };
    let mut unsecured = document.clone();
    if let Some(doc) = unsecured.as_object_mut() {
        doc.remove("proof");
    }
    let issuer = document::issuer_id(document);
    let mut signers = Vec::new();
    for (i, proof) in proofs.iter().enumerate() {
        let prefix = if proofs.len() == 1 { "proof".to_owned() } else { format!("proof[{i}]") };
        let name = |check: &str| format!("{prefix}.{check}");
        let Some(proof) = proof.as_object() else {
            record(name("present"), Err("not a proof object".into()));
            continue;
        };
        let suite = Suite::of(proof);
        if !record(name("cryptosuite"), suite.clone().map(|s| s.name().to_owned())) {
            continue;
        }
        let Ok(suite) = suite else { continue };
        if proof.contains_key("previousProof") {
            record(name("chain"), Err("proof chains (previousProof) are not verified; a proof set is".into()));
            continue;
        }
        let field = |name: &str| proof.get(name).and_then(Value::as_str).unwrap_or_default();
        let purpose = match field("proofPurpose") {
            "assertionMethod" => Ok("assertionMethod".to_owned()),
            other => Err(format!("proofPurpose `{}` is not assertionMethod", quote(other))),
        };
        record(name("purpose"), purpose);
        let method = field("verificationMethod");
        let key = method_key(method, issuer, keys);
        let Ok((key, how)) = key else {
            record(name("key"), key.map(|(_, how)| how));
            continue;
        };
        record(name("key"), Ok(how));
        record(name("issuer"), issuer_binding(issuer, method, &key, keys));
        let context_ok = match (proof.get("@context"), document.get("@context")) {
            (Some(p), Some(d)) => p == d,
            _ => true,
        };
        record(
            name("context"),
            if context_ok {
                Ok("the proof's @context is the credential's".into())
            } else {
                Err("the proof's @context differs from the credential's".into())
            },
        );
        let verified =
            suite.verify(&unsecured, proof, &key, loader).map(|()| format!("signed by {key} ({})", suite.name()));
        if record(name("signature"), verified) {
            signers.push(key);
        }
    }
    if signers.len() == proofs.len() && checks.iter().all(|c| c.ok) { signers.into_iter().next() } else { None }
}

/// The key that made a proof: the one given, else the key `method` (the proof's verification
/// method) names, read from a did:key or from the issuer's own DID document (no other DID's is
/// resolved). What the key is and how it was found.
fn method_key(method: &str, issuer: Option<&str>, keys: &mut Keys<'_>) -> Result<(Did, String), String> {
    if let Some(key) = keys.given {
        return Ok(((*key).clone(), format!("{key} (given with --key)")));
    }
    if method.is_empty() {
        return Err("the proof has no verificationMethod".into());
    }
    let did = did::did_of(method);
    let own = issuer == Some(did);
    if !own && !did.starts_with("did:key:") {
        return Err(format!(
            "{} is not a key of the issuer {}: only did:key methods and the issuer's own DID document are read",
            quote(method),
            quote(issuer.unwrap_or("(none)"))
        ));
    }
    let key = document_of(did, keys)?.assertion_key(method)?;
    let whose = if own { format!("the issuer {}", quote(did)) } else { quote(did) };
    Ok((key, format!("{} is an assertionMethod of {whose}", quote(method))))
}

/// Is `key`, which made the proof under `method`, one the issuer's DID document lists under
/// `assertionMethod`? A key given with `--key` is the verifier's word when the issuer's document
/// cannot be had, and must be listed when it can.
fn issuer_binding(issuer: Option<&str>, method: &str, key: &Did, keys: &mut Keys<'_>) -> Result<String, String> {
    let issuer = issuer.ok_or("the credential names no issuer (`issuer` or `issuer.id`)")?;
    let given = keys.given.is_some();
    if !given && did::did_of(method) == issuer {
        return Ok(format!("{} is an assertionMethod of the issuer {}", quote(method), quote(issuer)));
    }
    match document_of(issuer, keys) {
        Ok(document) if given && document.lists(key) => {
            Ok(format!("{key} (given with --key) is an assertionMethod of the issuer {}", quote(issuer)))
        }
        Ok(_) => Err(format!(
            "the proof is by {key}, which is not an assertionMethod of the issuer {}: signed by someone else in the issuer's name",
            quote(issuer)
        )),
        Err(why) if given => Ok(format!("{why}; {key} is its key as given with --key")),
        Err(why) => Err(format!(
            "cannot resolve the issuer {} ({why}), so {key} cannot be bound to it: pass the issuer's key (--key MULTIBASE)",
            quote(issuer)
        )),
    }
}

/// The DID document of `did`: a did:key's made here, any other through `keys.resolve`.
fn document_of(did: &str, keys: &mut Keys<'_>) -> Result<DidDocument, String> {
    if did.starts_with("did:key:") {
        return did.parse::<Did>().map(|key| DidDocument::of_key(&key)).map_err(|e| e.to_string());
    }
    (keys.resolve)(did)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use crate::rdfc::tests::{examples, vector, vector_key};

    /// The checks of `document`'s proofs, by name, with the key given as with `--key` (the W3C
    /// vectors' issuer is an https URL, not a DID), and what `check` returned.
    fn run(document: &Value, given: Option<&Did>, loader: &DocumentLoader) -> (Option<Did>, Vec<VcCheck>) {
        let mut resolve = |did: &str| -> Result<DidDocument, String> { Err(format!("{did} is not resolved here")) };
        let mut keys = Keys { given, resolve: &mut resolve };
        let mut checks = Vec::new();
        let signer = check_with(document, loader, &mut keys, &mut checks);
        (signer, checks)
    }

    fn detail<'a>(checks: &'a [VcCheck], name: &str) -> (bool, &'a str) {
        let found = checks.iter().find(|c| c.name == name).unwrap_or_else(|| panic!("no {name} in {checks:?}"));
        (found.ok, &found.detail)
    }

    fn signed(path: &str) -> Value {
        serde_json::from_str(&vector(path)).unwrap()
    }

    const VECTORS: [(&str, &str); 2] = [
        ("eddsa-rdfc-2022/signedDataInt.json", "DataIntegrityProof, eddsa-rdfc-2022"),
        ("Ed25519Signature2020/signedEdSig.json", "Ed25519Signature2020"),
    ];

    #[test]
    fn the_w3c_rdfc_and_ed25519_signature_2020_vectors_verify() {
        let key = vector_key().did().clone();
        for (path, suite) in VECTORS {
            let (signer, checks) = run(&signed(path), Some(&key), &examples());
            assert_eq!(signer.as_ref(), Some(&key), "{path}: {checks:?}");
            assert!(checks.iter().all(|c| c.ok), "{path}: {checks:?}");
            assert_eq!(detail(&checks, "proof.cryptosuite"), (true, suite));
            assert_eq!(detail(&checks, "proof.signature"), (true, format!("signed by {key} ({suite})").as_str()));
        }
    }

    #[test]
    fn a_flipped_byte_a_changed_claim_or_another_key_fails_the_vectors() {
        let key = vector_key().did().clone();
        let other = SecretKey::from_seed(&[9; 32]).did().clone();
        for (path, _) in VECTORS {
            let document = signed(path);
            let mut flipped = document.clone();
            let value = flipped["proof"]["proofValue"].as_str().unwrap().to_owned();
            let last = if value.ends_with('2') { '3' } else { '2' };
            flipped["proof"]["proofValue"] = format!("{}{last}", &value[..value.len() - 1]).into();
            let mut claim = document.clone();
            claim["credentialSubject"]["alumniOf"] = "The School of Other Examples".into();
            let mut created = document.clone();
            created["proof"]["created"] = "2023-02-24T23:36:39Z".into();
            for (what, doc, given) in [
                ("flipped", &flipped, &key),
                ("claim", &claim, &key),
                ("created", &created, &key),
                ("key", &document, &other),
            ] {
                let (signer, checks) = run(doc, Some(given), &examples());
                assert_eq!(signer, None, "{path} {what}");
                let (ok, why) = detail(&checks, "proof.signature");
                assert!(!ok, "{path} {what}: {why}");
                assert!(why.contains("does not verify") || why.contains("not a base58btc"), "{path} {what}: {why}");
            }
        }
    }

    #[test]
    fn a_context_the_verifier_does_not_hold_is_named_never_fetched() {
        let key = vector_key().did().clone();
        for (path, _) in VECTORS {
            let (signer, checks) = run(&signed(path), Some(&key), DocumentLoader::pinned());
            assert_eq!(signer, None);
            let (ok, why) = detail(&checks, "proof.signature");
            assert!(!ok && why.contains("https://www.w3.org/ns/credentials/examples/v2"), "{path}: {why}");
        }
    }

    /// A did:key issuer's credential under each RDF suite, signed here: the issuer binding comes
    /// from the did:key itself, no key given.
    #[test]
    fn a_did_key_issuers_rdf_proofs_verify_without_a_given_key_and_only_as_the_issuers() {
        let issuer = SecretKey::from_seed(&[7; 32]);
        let did = issuer.did();
        let method = format!("{did}#{}", did.multibase());
        let document = serde_json::json!({
            "@context": [crate::jsonld::CREDENTIALS_V2, "https://w3id.org/security/suites/ed25519-2020/v1"],
            "type": ["VerifiableCredential"],
            "issuer": did.as_str(),
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:learner"},
        });
        let options = [
            (RdfcProof::EddsaRdfc2022, crate::rdfc::proof_options(did, &"2026-01-01T00:00:00Z".parse().unwrap())),
            (
                RdfcProof::Ed25519Signature2020,
                serde_json::json!({"type": "Ed25519Signature2020", "created": "2026-01-01T00:00:00Z",
                    "verificationMethod": method, "proofPurpose": "assertionMethod"}),
            ),
        ];
        for (proof, options) in options {
            let data = proof.hash_data_with(&document, &options, DocumentLoader::pinned()).unwrap();
            let mut secured = document.clone();
            secured["proof"] = options.clone();
            secured["proof"]["proofValue"] = crate::rdfc::encode_proof_value(&issuer.sign(&data)).into();
            let (signer, checks) = run(&secured, None, DocumentLoader::pinned());
            assert_eq!(signer.as_ref(), Some(did), "{proof:?}: {checks:?}");
            // Safe mode: a term no context defines, or a relative type, is named, never dropped.
            for (path, value, named) in
                [("credentialSubject", "favouriteColour", "favouriteColour"), ("type", "Badge", "type")]
            {
                let mut undefined = secured.clone();
                match path {
                    "type" => undefined["type"] = serde_json::json!(["VerifiableCredential", value]),
                    _ => undefined[path][value] = "blue".into(),
                }
                let (signer, checks) = run(&undefined, None, DocumentLoader::pinned());
                let (ok, why) = detail(&checks, "proof.signature");
                assert!(signer.is_none() && !ok && why.contains(named), "{proof:?} {value}: {why}");
            }
            // The same proof under another issuer's name is not that issuer's.
            let mut impostor = secured.clone();
            impostor["issuer"] = SecretKey::from_seed(&[8; 32]).did().as_str().into();
            let (signer, checks) = run(&impostor, None, DocumentLoader::pinned());
            assert_eq!(signer, None, "{proof:?}");
            assert!(!detail(&checks, "proof.issuer").0, "{proof:?}: {checks:?}");
        }
    }
}
