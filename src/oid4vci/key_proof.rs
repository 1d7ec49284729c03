//! The OID4VCI `jwt` key proof (OpenID4VCI 1.0 §F.1): a compact JWS by which a wallet shows it holds
//! the key the credential will be issued to. Header `{alg: "EdDSA", typ: "openid4vci-proof+jwt",
//! kid: "did:key:z…#z…"}`, payload `{aud, nonce, iat}`, Ed25519 over `header.payload`.
//!
//! [`sign`] is the wallet's half, [`verify`] the issuer's. Pure: the time comes in as a parameter;
//! whether the nonce is live is the issuer's store to say.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use crate::canonical;
use crate::id::Did;
use crate::keys::SecretKey;

/// The `typ` header of a key proof.
pub const TYP: &str = "openid4vci-proof+jwt";
/// The one signing algorithm accepted (Ed25519).
pub const ALG: &str = "EdDSA";
/// How far a proof's `iat` may be from the issuer's clock, either way.
pub const IAT_WINDOW: Duration = Duration::minutes(5);
/// The longest proof read, in bytes.
pub const MAX_LEN: usize = 8 * 1024;

/// Why a key proof is refused, naming the part and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    #[error("proof: {0}")]
    Malformed(String),
    #[error("proof header typ: must be `{TYP}`, not {0}")]
    Typ(String),
    #[error("proof header alg: must be `{ALG}`, not {0}")]
    Alg(String),
    #[error("proof header kid: {0}")]
    Kid(String),
    #[error("proof header crit: no critical extension is understood")]
    Crit,
    #[error("proof aud: must be the credential issuer {expected}, not {found}")]
    Audience { expected: String, found: String },
    #[error("proof nonce: {0}")]
    Nonce(String),
    #[error("proof iat: {0}")]
    IssuedAt(String),
    #[error("proof signature: not the signature of {0}")]
    Signature(Did),
}

/// A key proof for `aud` (the credential issuer's URL) and the issuer's `nonce`, issued at `iat`,
/// signed by `key`, whose did:key is the `kid`.
pub fn sign(key: &SecretKey, aud: &str, nonce: &str, iat: OffsetDateTime) -> String {
    let did = key.did();
    let header = json!({"alg": ALG, "typ": TYP, "kid": format!("{did}#{}", did.multibase())});
    let payload = json!({"aud": aud, "nonce": nonce, "iat": iat.unix_timestamp()});
    let signing_input = format!("{}.{}", encode_part(&header), encode_part(&payload));
    let signature = URL_SAFE_NO_PAD.encode(key.sign(signing_input.as_bytes()).to_bytes());
    format!("{signing_input}.{signature}")
}

/// Checks a key proof made for `aud` at about `now`: its form, header, audience, `iat` and
/// signature. Returns the did that signed it and the nonce it carries (which the caller must find
/// live, and consume).
pub fn verify(jwt: &str, aud: &str, now: OffsetDateTime) -> Result<(Did, String), ProofError> {
    if jwt.len() > MAX_LEN {
        return Err(ProofError::Malformed(format!("longer than {MAX_LEN} bytes")));
    }
    let mut parts = jwt.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed("not a compact JWS (three base64url parts joined by `.`)".to_owned()));
    };
    let header = decode_part(header_b64, "header")?;
    let payload = decode_part(payload_b64, "payload")?;

    let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    match text(&header, "typ") {
        Some(typ) if typ == TYP => {}
        other => return Err(ProofError::Typ(shown(other))),
    }
    match text(&header, "alg") {
        Some(alg) if alg == ALG => {}
        other => return Err(ProofError::Alg(shown(other))),
    }
    if header.get("crit").is_some() {
        return Err(ProofError::Crit);
    }
    let kid =
        text(&header, "kid").ok_or_else(|| ProofError::Kid("missing; a did:key DID URL is required".to_owned()))?;
    let did = did_of_kid(&kid)?;

    match payload.get("aud") {
        Some(Value::String(found)) if found == aud => {}
        Some(Value::Array(all)) if all.iter().any(|a| a.as_str() == Some(aud)) => {}
        other => {
            let found = other.map_or_else(|| "nothing".to_owned(), Value::to_string);
            return Err(ProofError::Audience { expected: aud.to_owned(), found: crate::text::clip(&found, 120) });
        }
    }
    let nonce = match payload.get("nonce") {
        Some(Value::String(nonce)) if !nonce.is_empty() => nonce.clone(),
        _ => return Err(ProofError::Nonce("missing; ask the nonce endpoint for a c_nonce and sign it".to_owned())),
    };
    let iat = payload
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or_else(|| ProofError::IssuedAt("missing or not a whole number of seconds".to_owned()))?;
    let skew = iat - now.unix_timestamp();
    if skew.abs() > IAT_WINDOW.whole_seconds() {
        return Err(ProofError::IssuedAt(format!(
            "{iat} is {}s from the issuer's time {}; it must be within {} minutes",
            skew.abs(),
            now.unix_timestamp(),
            IAT_WINDOW.whole_minutes()
        )));
    }

    let signature: [u8; 64] = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .ok()
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| ProofError::Malformed("the signature is not 64 bytes of base64url".to_owned()))?;
    let signing_input = &jwt[..header_b64.len() + 1 + payload_b64.len()];
    did.verifying_key()
        .verify_strict(signing_input.as_bytes(), &ed25519_dalek::Signature::from_bytes(&signature))
        .map_err(|_| ProofError::Signature(did.clone()))?;
    Ok((did, nonce))
}

/// The did of a `kid` that is a did:key DID URL whose fragment is the key itself.
fn did_of_kid(kid: &str) -> Result<Did, ProofError> {
    let bad = |why: &str| ProofError::Kid(format!("{}: {why}", crate::text::clip(kid, 120)));
    let (did, fragment) = kid.split_once('#').ok_or_else(|| bad("must be a did:key DID URL, did:key:z…#z…"))?;
    let did: Did = did.parse().map_err(|e: crate::id::IdError| bad(&e.to_string()))?;
    if fragment != did.multibase() {
        return Err(bad("the fragment must be the did's own key (did:key:z…#z…, the same z…)"));
    }
    Ok(did)
}

fn encode_part(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(value.to_string())
}

fn decode_part(part: &str, name: &str) -> Result<Value, ProofError> {
    let bytes =
        URL_SAFE_NO_PAD.decode(part).map_err(|_| ProofError::Malformed(format!("the {name} is not base64url")))?;
    match canonical::parse_strict(&bytes) {
        Ok(value @ Value::Object(_)) => Ok(value),
        _ => Err(ProofError::Malformed(format!("the {name} is not a JSON object"))),
    }
}

fn shown(value: Option<String>) -> String {
    value.map_or_else(|| "nothing".to_owned(), |v| format!("`{}`", crate::text::clip(&v, 60)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUD: &str = "https://agent.example.edu";

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
    }

    fn forged(header: Value, payload: Value, key: &SecretKey) -> String {
        let input = format!("{}.{}", encode_part(&header), encode_part(&payload));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes()))
    }

    fn kid(key: &SecretKey) -> String {
        format!("{}#{}", key.did(), key.did().multibase())
    }

    #[test]
    fn a_signed_proof_verifies_to_its_did_and_nonce() {
        let key = SecretKey::from_seed(&[7; 32]);
        let jwt = sign(&key, AUD, "n-1", now());
        assert_eq!(verify(&jwt, AUD, now()), Ok((key.did().clone(), "n-1".to_owned())));
        let later = now() + Duration::minutes(4);
        assert!(verify(&jwt, AUD, later).is_ok());
    }

    #[test]
    fn each_part_is_checked() {
        let key = SecretKey::from_seed(&[7; 32]);
        let other = SecretKey::from_seed(&[8; 32]);
        let payload = json!({"aud": AUD, "nonce": "n", "iat": now().unix_timestamp()});
        let header = |typ: &str, alg: &str, kid: &str| json!({"typ": typ, "alg": alg, "kid": kid});

        let wrong_aud = sign(&key, "https://elsewhere.example", "n", now());
        assert!(matches!(verify(&wrong_aud, AUD, now()), Err(ProofError::Audience { .. })));
        let stale = sign(&key, AUD, "n", now() - Duration::minutes(6));
        assert!(matches!(verify(&stale, AUD, now()), Err(ProofError::IssuedAt(_))));
        let future = sign(&key, AUD, "n", now() + Duration::minutes(6));
        assert!(matches!(verify(&future, AUD, now()), Err(ProofError::IssuedAt(_))));

        let jwt = forged(header("JWT", ALG, &kid(&key)), payload.clone(), &key);
        assert!(matches!(verify(&jwt, AUD, now()), Err(ProofError::Typ(_))));
        let jwt = forged(header(TYP, "ES256", &kid(&key)), payload.clone(), &key);
        assert!(matches!(verify(&jwt, AUD, now()), Err(ProofError::Alg(_))));
        let jwt = forged(header(TYP, ALG, key.did().as_str()), payload.clone(), &key);
        assert!(matches!(verify(&jwt, AUD, now()), Err(ProofError::Kid(_))));
        let mixed = format!("{}#{}", key.did(), other.did().multibase());
        let jwt = forged(header(TYP, ALG, &mixed), payload.clone(), &key);
        assert!(matches!(verify(&jwt, AUD, now()), Err(ProofError::Kid(_))));
        let jwt = forged(header(TYP, ALG, &kid(&key)), payload.clone(), &other);
        assert_eq!(verify(&jwt, AUD, now()), Err(ProofError::Signature(key.did().clone())));
        let jwt = forged(json!({"typ": TYP, "alg": ALG, "kid": kid(&key), "crit": ["x"]}), payload, &key);
        assert_eq!(verify(&jwt, AUD, now()), Err(ProofError::Crit));
        let no_nonce = forged(header(TYP, ALG, &kid(&key)), json!({"aud": AUD, "iat": now().unix_timestamp()}), &key);
        assert!(matches!(verify(&no_nonce, AUD, now()), Err(ProofError::Nonce(_))));

        for junk in ["", "a.b", "a.b.c.d", "!!.e30.AA", &"x".repeat(MAX_LEN + 1)] {
            assert!(matches!(verify(junk, AUD, now()), Err(ProofError::Malformed(_))), "{junk:.20}");
        }
    }

    #[test]
    fn a_changed_payload_breaks_the_signature() {
        let key = SecretKey::from_seed(&[7; 32]);
        let jwt = sign(&key, AUD, "n-1", now());
        let parts: Vec<&str> = jwt.split('.').collect();
        let other = encode_part(&json!({"aud": AUD, "nonce": "n-2", "iat": now().unix_timestamp()}));
        let tampered = format!("{}.{other}.{}", parts[0], parts[2]);
        assert!(matches!(verify(&tampered, AUD, now()), Err(ProofError::Signature(_))));
    }
}
