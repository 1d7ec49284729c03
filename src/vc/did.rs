//! The DIDs a proof's `verificationMethod` may name, pure: `did:key` (its document is made here,
//! offline), `did:web` (the https URL its document is at; fetching it is the caller's), and DID
//! documents: which keys they list under `assertionMethod`, as `Multikey` or
//! `Ed25519VerificationKey2020` (`publicKeyMultibase`), `Ed25519VerificationKey2018`
//! (`publicKeyBase58`) or `JsonWebKey2020`/`JsonWebKey` (an OKP Ed25519 `publicKeyJwk`).
//!
//! A key signs for an issuer only if the issuer's own DID document lists it under
//! `assertionMethod`: [`DidDocument::assertion_key`] is that one check, for every method.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::VerifyingKey;
use serde_json::Value;

use super::document::quote;
use crate::id::Did;

/// The DID a DID URL (`did:…#fragment`) belongs to.
pub fn did_of(did_url: &str) -> &str {
    did_url.split_once('#').map_or(did_url, |(did, _)| did)
}

/// The https URL of a `did:web`'s document: `did:web:host%3Aport:a:b` is
/// `https://host:port/a/b/did.json`, `did:web:host` is `https://host/.well-known/did.json`.
/// Refuses anything but a plain host name (or IPv4 address), an optional port and path
/// segments of unreserved characters.
pub fn web_document_url(did: &str) -> Result<String, String> {
    let bad = |why: &str| format!("`{}` is not a did:web this verifier resolves: {why}", quote(did));
    let rest = did.strip_prefix("did:web:").ok_or_else(|| bad("it does not start with did:web:"))?;
    let mut parts = rest.split(':');
    let authority = parts.next().unwrap_or_default();
    let (host, port) = match authority.split_once("%3A").or_else(|| authority.split_once("%3a")) {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if host.len() > 253 || !host.split('.').all(label_ok) {
        return Err(bad("its host is not a DNS name"));
    }
    if let Some(port) = port {
        if port.parse::<u16>().map_or(true, |p| p == 0 || p.to_string() != port) {
            return Err(bad("its port is not a number from 1 to 65535"));
        }
    }
    let segments: Vec<&str> = parts.collect();
    let segment_ok = |s: &&str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
    if !segments.iter().all(segment_ok) || segments.iter().any(|s| *s == "." || *s == "..") {
        return Err(bad("a path segment is empty or has characters other than A-Z a-z 0-9 - . _ ~"));
    }
    let authority = port.map_or(host.to_owned(), |p| format!("{host}:{p}"));
    Ok(if segments.is_empty() {
        format!("https://{authority}/.well-known/did.json")
    } else {
        format!("https://{authority}/{}/did.json", segments.join("/"))
    })
}

/// The keys a DID document lists, and which of them may make assertions (sign credentials).
#[derive(Clone, Debug, PartialEq)]
pub struct DidDocument {
    /// The DID the document is for.
    pub id: String,
    /// Every verification method listed under `assertionMethod`: its absolute id and its key
    /// (or why the key could not be read).
    assertion: Vec<(String, Result<Did, String>)>,
}

impl DidDocument {
    /// The document of a did:key: its one key, `did#multibase`, may assert.
    pub fn of_key(did: &Did) -> Self {
        let method = format!("{did}#{}", did.multibase());
        DidDocument { id: did.to_string(), assertion: vec![(method, Ok(did.clone()))] }
    }

    /// Reads the DID document `json` fetched for `did`: its `id` must be `did`, and each
    /// verification method its `assertionMethod` names (by reference to `verificationMethod`
    /// or embedded) must be controlled by it.
    pub fn parse(did: &str, json: &Value) -> Result<Self, String> {
        if json.get("id").and_then(Value::as_str) != Some(did) {
            return Err(format!("the DID document is not for {} (its id differs)", quote(did)));
        }
        let absolute = |id: &str| if id.starts_with('#') { format!("{did}{id}") } else { id.to_owned() };
        let listed: Vec<&Value> =
            json.get("verificationMethod").and_then(Value::as_array).into_iter().flatten().collect();
        let method_by_id = |id: &str| {
            listed.iter().copied().find(|m| m.get("id").and_then(Value::as_str).map(absolute).as_deref() == Some(id))
        };
        let mut assertion = Vec::new();
        for entry in json.get("assertionMethod").and_then(Value::as_array).into_iter().flatten() {
            let (id, method) = match entry {
                Value::String(reference) => {
                    let id = absolute(reference);
                    let method = method_by_id(&id);
                    (id, method)
                }
                embedded => match embedded.get("id").and_then(Value::as_str) {
                    Some(id) => (absolute(id), Some(embedded)),
                    None => continue,
                },
            };
            let key = match method {
                None => Err(format!("{} is listed under assertionMethod but not described", quote(&id))),
                Some(m) => match m.get("controller").and_then(Value::as_str) {
                    Some(controller) if controller == did => key_of(m),
                    _ => Err(format!("{} is not controlled by {}", quote(&id), quote(did))),
                },
            };
            assertion.push((id, key));
        }
        Ok(DidDocument { id: did.to_owned(), assertion })
    }

    /// Does this document list `key` under `assertionMethod` (by any method id)?
    pub fn lists(&self, key: &Did) -> bool {
        self.assertion.iter().any(|(_, listed)| listed.as_ref() == Ok(key))
    }

    /// The key of `method` (a DID URL), if this document lists it under `assertionMethod`.
    pub fn assertion_key(&self, method: &str) -> Result<Did, String> {
        match self.assertion.iter().find(|(id, _)| id == method) {
            Some((_, key)) => key.clone(),
            None => Err(format!("{} is not an assertionMethod of {}", quote(method), quote(&self.id))),
        }
    }
}

/// The Ed25519 key a verification method describes, as a did:key.
fn key_of(method: &Value) -> Result<Did, String> {
    let id = method.get("id").and_then(Value::as_str).unwrap_or_default();
    let field = |name: &str| method.get(name).and_then(Value::as_str);
    let kind = field("type").unwrap_or_default();
    let unreadable = |why: &str| format!("the key of {} ({}) {why}", quote(id), quote(kind));
    let raw = |bytes: Vec<u8>| -> Result<Did, String> {
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| unreadable("is not 32 bytes"))?;
        VerifyingKey::from_bytes(&bytes).map(|k| Did::from_key(&k)).map_err(|_| unreadable("is not an Ed25519 point"))
    };
    match kind {
        "Multikey" | "Ed25519VerificationKey2020" => {
            let multibase = field("publicKeyMultibase").ok_or_else(|| unreadable("has no publicKeyMultibase"))?;
            Did::from_multibase(multibase).map_err(|e| unreadable(&format!("is not an Ed25519 multikey: {e}")))
        }
        "Ed25519VerificationKey2018" => {
            let base58 = field("publicKeyBase58").ok_or_else(|| unreadable("has no publicKeyBase58"))?;
            raw(bs58::decode(base58).into_vec().map_err(|_| unreadable("is not base58"))?)
        }
        "JsonWebKey2020" | "JsonWebKey" => {
            let jwk = method.get("publicKeyJwk").ok_or_else(|| unreadable("has no publicKeyJwk"))?;
            let member = |name: &str| jwk.get(name).and_then(Value::as_str);
            if member("kty") != Some("OKP") || member("crv") != Some("Ed25519") {
                return Err(unreadable("is not an OKP Ed25519 JWK"));
            }
            if jwk.get("d").is_some() {
                return Err(unreadable("carries a private key (`d`)"));
            }
            let x = member("x").ok_or_else(|| unreadable("has no `x`"))?;
            raw(URL_SAFE_NO_PAD.decode(x).map_err(|_| unreadable("`x` is not base64url"))?)
        }
        _ => Err(unreadable("is of a type this verifier does not read")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use serde_json::json;

    #[test]
    fn did_web_maps_to_its_https_document() {
        let cases = [
            ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
            ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
            ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
            ("did:web:127.0.0.1%3A8443", "https://127.0.0.1:8443/.well-known/did.json"),
        ];
        for (did, url) in cases {
            assert_eq!(web_document_url(did).as_deref(), Ok(url), "{did}");
        }
        for did in [
            "did:web:",
            "did:web:a..b",
            "did:web:user@evil.example",
            "did:web:evil.example%2Fx",
            "did:web:example.com%3A0",
            "did:web:example.com%3A99999",
            "did:web:example.com::x",
            "did:web:example.com:..",
            "did:web:example.com:a%20b",
            "did:web:example.com#frag",
            "did:key:z6Mk",
        ] {
            assert!(web_document_url(did).is_err(), "{did}");
        }
    }

    fn key() -> SecretKey {
        SecretKey::from_seed(&[3; 32])
    }

    #[test]
    fn a_did_key_document_lists_its_one_key() {
        let did = key().did().clone();
        let doc = DidDocument::of_key(&did);
        assert_eq!(doc.assertion_key(&format!("{did}#{}", did.multibase())), Ok(did.clone()));
        assert!(doc.assertion_key(&format!("{did}#other")).unwrap_err().contains("not an assertionMethod"));
    }

    #[test]
    fn a_did_document_lists_keys_in_every_supported_form() {
        let did = "did:web:college.example";
        let k = key().did().clone();
        let bytes = k.verifying_key().to_bytes();
        let doc = json!({
            "id": did,
            "verificationMethod": [
                {"id": "#multikey", "type": "Multikey", "controller": did, "publicKeyMultibase": k.multibase()},
                {"id": format!("{did}#2020"), "type": "Ed25519VerificationKey2020", "controller": did, "publicKeyMultibase": k.multibase()},
                {"id": "#2018", "type": "Ed25519VerificationKey2018", "controller": did, "publicKeyBase58": bs58::encode(bytes).into_string()},
                {"id": "#jwk", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(bytes)}},
                {"id": "#auth-only", "type": "Multikey", "controller": did, "publicKeyMultibase": k.multibase()},
                {"id": "#foreign", "type": "Multikey", "controller": "did:web:evil.example", "publicKeyMultibase": k.multibase()},
                {"id": "#secret", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(bytes), "d": "AAAA"}},
                {"id": "#p256", "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": {"kty": "EC", "crv": "P-256", "x": "AAAA", "y": "AAAA"}},
            ],
            "authentication": ["#auth-only"],
            "assertionMethod": ["#multikey", format!("{did}#2020"), "#2018", "#jwk", "#foreign", "#secret", "#p256", "#missing",
                {"id": "#embedded", "type": "Multikey", "controller": did, "publicKeyMultibase": k.multibase()}],
        });
        let parsed = DidDocument::parse(did, &doc).unwrap();
        for fragment in ["multikey", "2020", "2018", "jwk", "embedded"] {
            assert_eq!(parsed.assertion_key(&format!("{did}#{fragment}")), Ok(k.clone()), "{fragment}");
        }
        let refused = [
            ("auth-only", "not an assertionMethod"),
            ("foreign", "not controlled by"),
            ("secret", "private key"),
            ("p256", "not an OKP Ed25519 JWK"),
            ("missing", "not described"),
        ];
        for (fragment, why) in refused {
            let err = parsed.assertion_key(&format!("{did}#{fragment}")).unwrap_err();
            assert!(err.contains(why), "{fragment}: {err}");
        }
        assert!(DidDocument::parse("did:web:other.example", &doc).unwrap_err().contains("not for"));
    }
}
