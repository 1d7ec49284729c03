//! Offers and the secrets of the pre-authorized code flow, as pure state: the offer's token (in
//! its claim URL) and the pre-authorized code derived from it, the PIN, access tokens and nonces.
//! The agent keeps only hashes: BLAKE3 of the token, of the code, of each access token and nonce,
//! and the PIN keyed by the code, so a copy of its store claims nothing. Time and randomness come
//! from the caller.

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::event::Timestamp;
use crate::id::Hash32;
use crate::oid4vci::OAuthError;

/// How long an offer lives unless the agent is told otherwise.
pub const OFFER_LIFETIME: Duration = Duration::days(30);
/// How long an access token lives.
pub const TOKEN_LIFETIME: Duration = Duration::minutes(10);
/// How long a nonce lives.
pub const NONCE_LIFETIME: Duration = Duration::minutes(5);
/// Wrong PINs before the offer is locked (until it is re-issued).
pub const PIN_ATTEMPTS: u32 = 5;

const CODE_CONTEXT: &str = "credledger agent 2026 pre-authorized code from offer token";

/// 32 random bytes as the agent hands them out: base64url, 43 characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

impl Secret {
    /// A secret of these random bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        use base64::Engine;
        Secret(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// What the agent keeps of it.
    pub fn hash(&self) -> String {
        hash_of(&self.0)
    }
}

/// BLAKE3 of a secret as presented, hex: the key it is kept under.
pub fn hash_of(presented: &str) -> String {
    Hash32::digest(presented.as_bytes()).to_hex()
}

/// The pre-authorized code of the offer whose claim URL carries `token`.
pub fn code_of(token: &Secret) -> Secret {
    Secret::from_bytes(blake3::derive_key(CODE_CONTEXT, token.0.as_bytes()))
}

/// A six-digit PIN from random bytes (uniform: rejection sampling is the caller's loop-free
/// approximation, a 64-bit draw modulo 10^6).
pub fn pin_of(random: [u8; 8]) -> String {
    format!("{:06}", u64::from_le_bytes(random) % 1_000_000)
}

/// The PIN as kept: keyed by the code, so the hash cannot be searched without the code.
fn pin_hash(code: &str, pin: &str) -> blake3::Hash {
    let key = blake3::hash(code.as_bytes());
    blake3::keyed_hash(key.as_bytes(), pin.as_bytes())
}

/// Where an offer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OfferState {
    /// Waiting for the wallet.
    Open,
    /// Its code was exchanged for an access token.
    Redeemed,
    /// Too many wrong PINs.
    Locked,
    /// A newer offer of the same award took its place.
    Replaced,
    /// The registrar cancelled it.
    Cancelled,
}

/// An offer of an award, as the agent keeps it (under the hash of its token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Offer {
    pub award: String,
    pub code_hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_hash: Option<String>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub failed_pins: u32,
    pub state: OfferState,
}

/// A new offer's secrets, handed out once: the claim URL's token, the code and the PIN.
#[derive(Debug, Clone)]
pub struct NewOffer {
    pub token: Secret,
    pub pin: Option<String>,
    pub offer: Offer,
}

impl Offer {
    /// A new offer of `award` from the token's random bytes (and the PIN's, for a PIN).
    pub fn create(award: &str, token: [u8; 32], pin: Option<[u8; 8]>, now: Timestamp, lifetime: Duration) -> NewOffer {
        let token = Secret::from_bytes(token);
        let code = code_of(&token);
        let pin = pin.map(pin_of);
        let offer = Offer {
            award: award.to_owned(),
            code_hash: code.hash(),
            pin_hash: pin.as_deref().map(|p| pin_hash(&code.0, p).to_hex().to_string()),
            created_at: now,
            expires_at: Timestamp(now.0 + lifetime),
            failed_pins: 0,
            state: OfferState::Open,
        };
        NewOffer { token, pin, offer }
    }

    /// Whether the offer can still be claimed at `now`, or why not.
    pub fn claimable(&self, now: Timestamp) -> Result<(), OAuthError> {
        let grant = |why: &str| Err(OAuthError::new("invalid_grant", why));
        match self.state {
            OfferState::Open if now.0 >= self.expires_at.0 => {
                grant("the offer has expired; ask the institution to send a new one")
            }
            OfferState::Open => Ok(()),
            OfferState::Redeemed => grant("the pre-authorized code was already used"),
            OfferState::Locked => grant("too many wrong PINs: the offer is locked; ask the institution for a new one"),
            OfferState::Replaced => grant("this offer was replaced by a newer one; use the latest link you were sent"),
            OfferState::Cancelled => grant("the institution cancelled this offer"),
        }
    }

    /// Redeems `code` with the PIN given, at `now`: the offer after it (a wrong PIN counts, and
    /// the last allowed one locks it), and whether it was redeemed.
    pub fn redeem(mut self, code: &str, pin: Option<&str>, now: Timestamp) -> (Offer, Result<(), OAuthError>) {
        if let Err(e) = self.claimable(now) {
            return (self, Err(e));
        }
        if let Some(expected) = &self.pin_hash {
            let Some(pin) = pin.filter(|p| !p.is_empty()) else {
                return (self, Err(OAuthError::new("invalid_request", "tx_code: this offer needs its PIN")));
            };
            // blake3::Hash compares in constant time.
            if blake3::Hash::from_hex(expected).ok() != Some(pin_hash(code, pin)) {
                self.failed_pins += 1;
                let left = PIN_ATTEMPTS.saturating_sub(self.failed_pins);
                let why = if left == 0 {
                    self.state = OfferState::Locked;
                    "tx_code: wrong PIN; that was the last try: the offer is locked until the institution re-issues it"
                        .to_owned()
                } else {
                    format!("tx_code: wrong PIN; {left} tries left")
                };
                return (self, Err(OAuthError::new("invalid_grant", why)));
            }
        }
        self.state = OfferState::Redeemed;
        (self, Ok(()))
    }
}

/// An access token's grant, kept under the token's hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    pub award: String,
    pub expires_at: Timestamp,
}

impl Grant {
    /// Whether the grant holds at `now`.
    pub fn check(&self, now: Timestamp) -> Result<(), OAuthError> {
        if now.0 >= self.expires_at.0 {
            return Err(OAuthError::new("invalid_token", "the access token has expired; redeem a new offer"));
        }
        Ok(())
    }
}

/// Whether a nonce that expires at `expires_at` is live at `now`.
pub fn nonce_live(expires_at: Timestamp, now: Timestamp) -> Result<(), OAuthError> {
    if now.0 >= expires_at.0 {
        return Err(OAuthError::new("invalid_nonce", "the c_nonce has expired; ask the nonce endpoint for a new one"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp(time::OffsetDateTime::from_unix_timestamp(1_800_000_000 + seconds).unwrap())
    }

    #[test]
    fn an_offer_is_redeemed_once_with_its_pin() {
        let new = Offer::create("a", [1; 32], Some([2; 8]), at(0), OFFER_LIFETIME);
        let code = code_of(&new.token);
        assert_eq!(new.offer.code_hash, code.hash());
        let pin = new.pin.clone().unwrap();
        assert_eq!(pin.len(), 6);
        let (offer, ok) = new.offer.redeem(&code.0, Some(&pin), at(10));
        assert!(ok.is_ok());
        let (_, again) = offer.redeem(&code.0, Some(&pin), at(11));
        assert_eq!(again.unwrap_err().error, "invalid_grant");
    }

    #[test]
    fn wrong_pins_lock_the_offer() {
        let new = Offer::create("a", [1; 32], Some([2; 8]), at(0), OFFER_LIFETIME);
        let code = code_of(&new.token).0;
        let right = new.pin.clone().unwrap();
        let wrong = if right == "000000" { "111111" } else { "000000" };
        let mut offer = new.offer;
        for n in 1..=PIN_ATTEMPTS {
            let (after, result) = offer.redeem(&code, Some(wrong), at(1));
            assert_eq!(result.unwrap_err().error, "invalid_grant");
            assert_eq!(after.failed_pins, n);
            offer = after;
        }
        assert_eq!(offer.state, OfferState::Locked);
        let (_, result) = offer.redeem(&code, Some(&right), at(2));
        assert!(result.unwrap_err().error_description.contains("locked"));
    }

    #[test]
    fn an_expired_offer_and_a_missing_pin_are_refused() {
        let new = Offer::create("a", [1; 32], Some([2; 8]), at(0), Duration::seconds(60));
        let code = code_of(&new.token).0;
        let (offer, missing) = new.offer.clone().redeem(&code, None, at(1));
        assert_eq!(missing.unwrap_err().error, "invalid_request");
        assert_eq!(offer.failed_pins, 0);
        let (_, late) = new.offer.redeem(&code, new.pin.as_deref(), at(60));
        assert!(late.unwrap_err().error_description.contains("expired"));
    }
}
