//! Credentials issued elsewhere, for the verifying side's tests: signed (eddsa-jcs-2022) by a
//! did:key issuer, or by a key of a did:web issuer whose DID document a [`Site`] serves, with
//! Bitstring Status Lists the issuer signs and a site serves.

use credledger::SecretKey;
use credledger::vc::status_list::{self, Bitstring, MIN_ENTRIES};
use serde_json::{Value, json};

use super::site::Site;

/// An issuer on another platform.
pub struct Issuer {
    pub key: SecretKey,
    /// The issuer's DID.
    pub did: String,
    /// The verification method its proofs name.
    pub method: String,
}

impl Issuer {
    /// An issuer that is a did:key.
    pub fn did_key(seed: u8) -> Issuer {
        let key = SecretKey::from_seed(&[seed; 32]);
        let did = key.did().to_string();
        let method = format!("{did}#{}", key.did().multibase());
        Issuer { key, did, method }
    }

    /// A did:web issuer on `site` (`did:web:127.0.0.1%3APORT`), whose DID document the site
    /// serves at `/.well-known/did.json`, listing its key under `assertionMethod`.
    pub fn did_web(site: &Site, seed: u8) -> Issuer {
        let key = SecretKey::from_seed(&[seed; 32]);
        let did = format!("did:web:127.0.0.1%3A{}", site.port);
        let method = format!("{did}#key-1");
        let document = json!({
            "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
            "id": did,
            "verificationMethod": [{"id": method, "type": "Multikey", "controller": did, "publicKeyMultibase": key.did().multibase()}],
            "assertionMethod": [method],
        });
        site.put_json("/.well-known/did.json", &document);
        Issuer { key, did, method }
    }

    /// `document` with this issuer's eddsa-jcs-2022 proof.
    pub fn sign(&self, document: Value) -> Value {
        let mut options = json!({"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": "2026-01-01T00:00:00Z", "verificationMethod": self.method, "proofPurpose": "assertionMethod"});
        options["@context"] = document["@context"].clone();
        let value = credledger::vc::proof_value(&document, &options, &self.key).expect("sign");
        credledger::vc::secure(document, options, &value)
    }

    /// An Open Badges 3.0 credential of this issuer, with these `credentialStatus` entries.
    pub fn credential(&self, title: &str, status: Vec<Value>) -> Value {
        let mut credential = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"],
            "id": "urn:uuid:0b3f6a3e-5a1c-4c1e-9e57-2b4f1a0c9d11",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "name": title,
            "issuer": {"id": self.did, "type": ["Profile"], "name": "Elsewhere Institute"},
            "validFrom": "2026-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"],
                "achievement": {"id": "urn:uuid:0b3f6a3e-5a1c-4c1e-9e57-2b4f1a0c9d12", "type": ["Achievement"], "name": title, "criteria": {"narrative": "Passed."}}},
        });
        if !status.is_empty() {
            credential["credentialStatus"] = json!(status);
        }
        self.sign(credential)
    }

    /// The list `url` of `purpose` with the entries `set`, signed by this issuer.
    pub fn list(&self, url: &str, purpose: &str, set: &[usize]) -> Value {
        let mut bits = Bitstring::new(MIN_ENTRIES);
        for i in set {
            bits.set(*i, true);
        }
        self.sign(status_list::list_credential(url, &self.did, purpose, &bits, "2026-01-01T00:00:00Z"))
    }
}

/// A `BitstringStatusListEntry` for entry `index` of the list at `url`.
pub fn entry(url: &str, purpose: &str, index: usize) -> Value {
    json!({"id": format!("{url}#{index}"), "type": "BitstringStatusListEntry", "statusPurpose": purpose,
        "statusListIndex": index.to_string(), "statusListCredential": url})
}
