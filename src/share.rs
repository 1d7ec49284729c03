//! Share links: a learner publishes a signed bundle, and the ledger keeps it, outside the log,
//! under the hash of an unguessable token, until an expiry the learner chose or until the learner
//! revokes it. Anyone with the link `PUBLIC_URL/s/{token}` sees the bundle verified, against the
//! ledger's status at that moment.
//!
//! What the learner signs (Ed25519 over the JCS of the request without `sig`, base64url, like every
//! signature here), so that only the key holder publishes or revokes, never someone the bundle
//! was sent to:
//! - [`PublishRequest`] `{v: 1, action: "publish", bundle, days, at, sig}`: keep this bundle for
//!   `days` (1 to [`MAX_DAYS`]); signed by the bundle's learner.
//! - [`RevokeRequest`] `{v: 1, action: "revoke", token_hash, at, sig}`: end the link whose token
//!   hashes to `token_hash`; signed by the learner who published it.
//!
//! `at` must be within [`crate::rules::CLOCK_SKEW`] of the ledger's clock, which bounds a replay:
//! a captured publish request replayed within minutes yields another link to the same bundle (the
//! capturer already holds it), and a replayed revocation changes nothing.
//!
//! The ledger keeps [`Published`] by [`Token::hash`], never the token itself, so a copy of the
//! database does not give the links away. Pure: time and randomness come from the caller.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::Duration;

use crate::canonical;
use crate::event::Timestamp;
use crate::id::{Did, Hash32};
use crate::keys::SecretKey;
use crate::rules::CLOCK_SKEW;

/// The longest a link may live, in days.
pub const MAX_DAYS: u32 = 365;
/// How long a link lives unless the learner says otherwise, in days.
pub const DEFAULT_DAYS: u32 = 30;
/// Random bytes in a token: 256 bits, never guessed.
pub const TOKEN_BYTES: usize = 32;
/// The request format version.
pub const VERSION: u32 = 1;

/// Why a share request or a token is refused, naming the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    /// Not a token this ledger makes (43 base64url characters).
    #[error("not a share link's token: {0}")]
    BadToken(String),
    /// A missing, mistyped or unknown field.
    #[error("{0}")]
    Format(String),
    #[error("days: {0}; a link lives 1 to {MAX_DAYS} days")]
    Days(u32),
    #[error("at: {at} is more than {} minutes from the ledger's time {now}; sign the request again", CLOCK_SKEW.whole_minutes())]
    Stale { at: Timestamp, now: Timestamp },
    #[error("sig: not {0}'s signature over this request")]
    BadSignature(Did),
    #[error("could not draw the QR code: {0}")]
    Qr(String),
}

/// A share link's secret part. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(…)")
    }
}

impl Token {
    /// The token of `TOKEN_BYTES` random bytes (the caller draws them from the OS).
    pub fn from_random(bytes: [u8; TOKEN_BYTES]) -> Token {
        Token(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as it appears in a link: 43 base64url characters.
    pub fn parse(text: &str) -> Result<Token, ShareError> {
        let decoded = URL_SAFE_NO_PAD.decode(text).ok().filter(|b| b.len() == TOKEN_BYTES);
        match decoded {
            Some(bytes) if URL_SAFE_NO_PAD.encode(&bytes) == text => Ok(Token(text.to_owned())),
            _ => Err(ShareError::BadToken(format!("want {} base64url characters", text_len()))),
        }
    }

    /// The token from a link `…/s/{token}` (or the token alone).
    pub fn from_link(link: &str) -> Result<Token, ShareError> {
        let tail = link.rsplit_once("/s/").map_or(link, |(_, t)| t);
        Token::parse(tail.trim_end_matches('/'))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What the ledger keeps the link under: BLAKE3 of the token, domain-separated.
    pub fn hash(&self) -> Hash32 {
        let mut hasher = blake3::Hasher::new_derive_key("credledger 2026 share link token");
        hasher.update(self.0.as_bytes());
        Hash32(*hasher.finalize().as_bytes())
    }

    /// The link to this token on a ledger the world reaches at `public_url`.
    pub fn link(&self, public_url: &str) -> String {
        format!("{}/s/{}", public_url.trim_end_matches('/'), self.0)
    }
}

/// The length of a token's text.
const fn text_len() -> usize {
    (TOKEN_BYTES * 4).div_ceil(3)
}

/// Signs the JCS of `value` without `sig`.
fn sign_value(value: &Value, key: &SecretKey) -> String {
    let message = canonical::to_vec_without(value, "sig").expect("a request is JSON");
    key.sign_b64(&message)
}

/// Checks `key`'s signature in `value["sig"]` over the JCS of `value` without `sig`.
fn check_signature(value: &Value, key: &Did) -> Result<(), ShareError> {
    let sig = value.get("sig").and_then(Value::as_str).unwrap_or_default();
    let message = canonical::to_vec_without(value, "sig").map_err(|e| ShareError::Format(e.to_string()))?;
    crate::keys::verify_b64(key, sig, &message).map_err(|_| ShareError::BadSignature(key.clone()))
}

fn check_at(at: Timestamp, now: Timestamp) -> Result<(), ShareError> {
    if (at.0 - now.0).abs() > CLOCK_SKEW { Err(ShareError::Stale { at, now }) } else { Ok(()) }
}

fn check_action(v: u32, action: &str, want: &str) -> Result<(), ShareError> {
    if v != VERSION {
        return Err(ShareError::Format(format!("v: {v}; this ledger reads version {VERSION}")));
    }
    if action != want {
        return Err(ShareError::Format(format!("action: `{}`, want `{want}`", crate::text::clip(action, 40))));
    }
    Ok(())
}

fn typed<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ShareError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = e.path().to_string();
        if field == "." {
            ShareError::Format(e.inner().to_string())
        } else {
            ShareError::Format(format!("{field}: {}", e.inner()))
        }
    })
}

/// A learner's request to publish a bundle as a link.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PublishRequest {
    pub v: u32,
    pub action: String,
    /// The learner-signed bundle.
    pub bundle: Value,
    /// How many days the link lives.
    pub days: u32,
    pub at: Timestamp,
    #[serde(default)]
    pub sig: String,
}

impl PublishRequest {
    /// The request to publish `bundle` (already signed by `learner`) for `days`, signed at `at`.
    pub fn signed(bundle: Value, days: u32, at: Timestamp, learner: &SecretKey) -> Self {
        let mut request = PublishRequest { v: VERSION, action: "publish".into(), bundle, days, at, sig: String::new() };
        let value = serde_json::to_value(&request).expect("a request is JSON");
        request.sig = sign_value(&value, learner);
        request
    }

    /// Reads and checks a request as sent: its fields, `days`, `at` against `now`, and the
    /// signature of the bundle's learner. Returns the request and that learner. (The bundle itself
    /// is the verifier's to judge.)
    pub fn check(value: &Value, now: Timestamp) -> Result<(PublishRequest, Did), ShareError> {
        let request: PublishRequest = typed(value)?;
        check_action(request.v, &request.action, "publish")?;
        if !(1..=MAX_DAYS).contains(&request.days) {
            return Err(ShareError::Days(request.days));
        }
        check_at(request.at, now)?;
        let learner = request.bundle.get("learner").and_then(Value::as_str).unwrap_or_default();
        let learner: Did =
            learner.parse().map_err(|e: crate::id::IdError| ShareError::Format(format!("bundle.learner: {e}")))?;
        check_signature(value, &learner)?;
        Ok((request, learner))
    }
}

/// A learner's request to end a link.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RevokeRequest {
    pub v: u32,
    pub action: String,
    pub token_hash: Hash32,
    pub at: Timestamp,
    #[serde(default)]
    pub sig: String,
}

impl RevokeRequest {
    /// The request to end the link of `token`, signed by `learner` at `at`.
    pub fn signed(token: &Token, at: Timestamp, learner: &SecretKey) -> Self {
        let mut request =
            RevokeRequest { v: VERSION, action: "revoke".into(), token_hash: token.hash(), at, sig: String::new() };
        let value = serde_json::to_value(&request).expect("a request is JSON");
        request.sig = sign_value(&value, learner);
        request
    }

    /// Reads a request as sent and checks its fields and `at` against `now`; its signature is
    /// checked with [`RevokeRequest::check_signer`] once the link (and so its learner) is found.
    pub fn check(value: &Value, now: Timestamp) -> Result<RevokeRequest, ShareError> {
        let request: RevokeRequest = typed(value)?;
        check_action(request.v, &request.action, "revoke")?;
        check_at(request.at, now)?;
        Ok(request)
    }

    /// Was the request as sent (`value`) signed by `learner`?
    pub fn check_signer(value: &Value, learner: &Did) -> Result<(), ShareError> {
        check_signature(value, learner)
    }
}

/// What the ledger keeps for a link. A revoked link keeps no bundle.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Published {
    pub v: u32,
    pub learner: Did,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<Value>,
}

/// Where a link stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Live,
    Expired(Timestamp),
    Revoked(Timestamp),
}

impl Published {
    /// `learner`'s bundle, kept from `now` for `days`.
    pub fn new(learner: Did, bundle: Value, days: u32, now: Timestamp) -> Self {
        let expires_at = Timestamp(now.0 + Duration::days(i64::from(days)));
        Published { v: VERSION, learner, created_at: now, expires_at, revoked_at: None, bundle: Some(bundle) }
    }

    /// Live until it expires or is revoked.
    pub fn state(&self, now: Timestamp) -> LinkState {
        match self.revoked_at {
            Some(at) => LinkState::Revoked(at),
            None if now >= self.expires_at => LinkState::Expired(self.expires_at),
            None => LinkState::Live,
        }
    }

    /// The link revoked at `at` (the first revocation stands), its bundle dropped.
    pub fn revoked(mut self, at: Timestamp) -> Self {
        self.revoked_at = Some(self.revoked_at.unwrap_or(at));
        self.bundle = None;
        self
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("a published bundle is JSON")
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ShareError> {
        serde_json::from_slice(bytes).map_err(|e| ShareError::Format(format!("a kept link: {e}")))
    }
}

/// `text` (a link) as a QR code: a standalone SVG image, black on white, with its quiet zone.
pub fn qr_svg(text: &str) -> Result<String, ShareError> {
    let code = qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| ShareError::Qr(e.to_string()))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn tokens_round_trip_and_refuse_anything_else() {
        let token = Token::from_random([7; TOKEN_BYTES]);
        assert_eq!(token.as_str().len(), 43);
        assert_eq!(Token::parse(token.as_str()).unwrap(), token);
        let link = token.link("http://127.0.0.1:8080/");
        assert_eq!(link, format!("http://127.0.0.1:8080/s/{}", token.as_str()));
        assert_eq!(Token::from_link(&link).unwrap(), token);
        for bad in ["", "abc", &format!("{}A", token.as_str()), &token.as_str().replace('B', "+")] {
            assert!(matches!(Token::parse(bad), Err(ShareError::BadToken(_))), "{bad:?}");
        }
        assert_ne!(token.hash(), Token::from_random([8; TOKEN_BYTES]).hash());
        assert_eq!(format!("{token:?}"), "Token(…)", "Debug never shows the token");
    }

    #[test]
    fn publish_requests_are_the_learners_and_bounded() {
        let learner = SecretKey::from_seed(&[1; 32]);
        let now = at("2026-06-01T12:00:00Z");
        let bundle = serde_json::json!({"learner": learner.did(), "v": 1});
        let request = PublishRequest::signed(bundle.clone(), 30, now, &learner);
        let value = serde_json::to_value(&request).unwrap();
        let (checked, did) = PublishRequest::check(&value, at("2026-06-01T12:04:00Z")).unwrap();
        assert_eq!((checked.days, &did), (30, learner.did()));

        // Someone the bundle was sent to cannot publish it: the request is not the learner's.
        let other = SecretKey::from_seed(&[2; 32]);
        let forged = serde_json::to_value(PublishRequest::signed(bundle.clone(), 30, now, &other)).unwrap();
        assert_eq!(PublishRequest::check(&forged, now), Err(ShareError::BadSignature(learner.did().clone())));
        // Changing the expiry breaks the signature.
        let mut longer = value.clone();
        longer["days"] = 365.into();
        assert!(matches!(PublishRequest::check(&longer, now), Err(ShareError::BadSignature(_))));
        for days in [0, MAX_DAYS + 1] {
            let v = serde_json::to_value(PublishRequest::signed(bundle.clone(), days, now, &learner)).unwrap();
            assert_eq!(PublishRequest::check(&v, now), Err(ShareError::Days(days)));
        }
        let late = at("2026-06-01T12:06:00Z");
        assert!(matches!(PublishRequest::check(&value, late), Err(ShareError::Stale { .. })));
        let mut extra = value.clone();
        extra["x"] = 1.into();
        assert!(matches!(PublishRequest::check(&extra, now), Err(ShareError::Format(f)) if f.contains('x')));
    }

    #[test]
    fn revocations_name_the_token_hash_and_the_signer() {
        let learner = SecretKey::from_seed(&[1; 32]);
        let token = Token::from_random([9; TOKEN_BYTES]);
        let now = at("2026-06-01T12:00:00Z");
        let value = serde_json::to_value(RevokeRequest::signed(&token, now, &learner)).unwrap();
        let request = RevokeRequest::check(&value, now).unwrap();
        assert_eq!(request.token_hash, token.hash());
        RevokeRequest::check_signer(&value, learner.did()).unwrap();
        let other = SecretKey::from_seed(&[2; 32]);
        assert!(RevokeRequest::check_signer(&value, other.did()).is_err());
        let mut publish = value.clone();
        publish["action"] = "publish".into();
        assert!(matches!(RevokeRequest::check(&publish, now), Err(ShareError::Format(f)) if f.starts_with("action")));
    }

    #[test]
    fn links_expire_and_revocation_drops_the_bundle() {
        let learner = SecretKey::from_seed(&[1; 32]).did().clone();
        let now = at("2026-06-01T12:00:00Z");
        let kept = Published::new(learner, serde_json::json!({"v": 1}), 7, now);
        assert_eq!(kept.state(now), LinkState::Live);
        assert_eq!(kept.state(at("2026-06-08T12:00:00Z")), LinkState::Expired(at("2026-06-08T12:00:00Z")));
        assert_eq!(Published::from_bytes(&kept.to_bytes()).unwrap(), kept);
        let revoked = kept.revoked(at("2026-06-02T00:00:00Z")).revoked(at("2026-06-03T00:00:00Z"));
        assert_eq!(revoked.state(now), LinkState::Revoked(at("2026-06-02T00:00:00Z")), "the first revocation stands");
        assert_eq!(revoked.bundle, None);
    }

    #[test]
    fn qr_codes_are_svg() {
        let svg = qr_svg("http://127.0.0.1:8080/s/AAAA").unwrap();
        assert!(svg.contains("<svg") && svg.contains("#000000"), "{}", &svg[..200.min(svg.len())]);
    }
}
