//! OpenID for Verifiable Credential Issuance 1.0, pre-authorized code flow, `ldp_vc`: the wire
//! types both sides use (the issuer agent in `agent/`, the `claim` wallet), the endpoints' paths
//! under the issuer's URL, the issuer's metadata, and the key proof ([`key_proof`]). Pure.
//!
//! The flow: the wallet reads the offer (by reference, [`OFFER_PATH`]), trades its
//! pre-authorized code (and the PIN, `tx_code`) for an access token ([`TOKEN_PATH`]), gets a
//! `c_nonce` ([`NONCE_PATH`]), signs a key proof over it and asks for the credential
//! ([`CREDENTIAL_PATH`]), which is issued to the proof's did.

pub mod key_proof;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The grant type of the pre-authorized code flow.
pub const PRE_AUTHORIZED_GRANT: &str = "urn:ietf:params:oauth:grant-type:pre-authorized_code";
/// The one credential configuration offered: an Open Badges 3.0 credential as `ldp_vc`.
pub const CONFIGURATION_ID: &str = "OpenBadgeCredential";
/// The format of that configuration.
pub const FORMAT: &str = "ldp_vc";
/// The scheme of a credential offer deep link.
pub const OFFER_SCHEME: &str = "openid-credential-offer://";
/// The PIN's length (digits), as `tx_code.length` says.
pub const PIN_LENGTH: usize = 6;

/// Where an offer is read by reference: `{issuer}/oid4vci/offers/{id}`.
pub const OFFER_PATH: &str = "/oid4vci/offers/";
/// The token endpoint's path.
pub const TOKEN_PATH: &str = "/oid4vci/token";
/// The nonce endpoint's path.
pub const NONCE_PATH: &str = "/oid4vci/nonce";
/// The credential endpoint's path.
pub const CREDENTIAL_PATH: &str = "/oid4vci/credential";
/// Where a person opens an offer: `{issuer}/claim/{id}`.
pub const CLAIM_PATH: &str = "/claim/";
/// The credential issuer metadata's path.
pub const ISSUER_METADATA_PATH: &str = "/.well-known/openid-credential-issuer";
/// The OAuth authorization server metadata's path.
pub const AUTHORIZATION_SERVER_METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// A credential offer (§4.1.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialOffer {
    pub credential_issuer: String,
    pub credential_configuration_ids: Vec<String>,
    pub grants: Grants,
}

/// The grants of an offer: only the pre-authorized code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grants {
    #[serde(rename = "urn:ietf:params:oauth:grant-type:pre-authorized_code")]
    pub pre_authorized_code: PreAuthorizedGrant,
}

/// The pre-authorized code, and what the wallet must ask the holder for (the PIN), if anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreAuthorizedGrant {
    #[serde(rename = "pre-authorized_code")]
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<TxCode>,
}

/// What a transaction code (PIN) looks like, for the wallet to ask for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxCode {
    pub input_mode: String,
    pub length: usize,
    pub description: String,
}

impl CredentialOffer {
    /// The offer of `code` by `issuer` for the one configuration, with a PIN or without.
    pub fn new(issuer: &str, code: String, with_pin: bool) -> Self {
        let tx_code = with_pin.then(|| TxCode {
            input_mode: "numeric".to_owned(),
            length: PIN_LENGTH,
            description: "The 6-digit PIN in the email that brought you this offer".to_owned(),
        });
        CredentialOffer {
            credential_issuer: issuer.to_owned(),
            credential_configuration_ids: vec![CONFIGURATION_ID.to_owned()],
            grants: Grants { pre_authorized_code: PreAuthorizedGrant { code, tx_code } },
        }
    }
}

/// The token request (form-urlencoded, §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    pub grant_type: String,
    #[serde(rename = "pre-authorized_code", default, skip_serializing_if = "Option::is_none")]
    pub pre_authorized_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_code: Option<String>,
    /// The PIN as drafts before 13 name it; wallets may send both names (Sphereon's does).
    #[serde(default, skip_serializing)]
    pub user_pin: Option<String>,
}

impl TokenRequest {
    /// The PIN the wallet sent: `tx_code`, else the drafts' `user_pin`.
    pub fn pin(&self) -> Option<&str> {
        self.tx_code.as_deref().or(self.user_pin.as_deref())
    }
}

/// The token response (§6.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: u64,
    /// For wallets of earlier drafts, which take their first nonce here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_nonce: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_nonce_expires_in: Option<u64>,
}

/// The nonce response (§7.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceResponse {
    pub c_nonce: String,
}

/// The credential request: 1.0's `proofs: {jwt: [..]}`, or draft 15's single `proof`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CredentialRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_configuration_id: Option<String>,
    /// Drafts before 15 name the format instead (and take the credential as `credential`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proofs: Option<Proofs>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<SingleProof>,
}

/// 1.0's proofs, by type: only `jwt`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Proofs {
    #[serde(default)]
    pub jwt: Vec<String>,
}

/// Draft 15's one proof.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SingleProof {
    pub proof_type: String,
    #[serde(default)]
    pub jwt: Option<String>,
}

impl CredentialRequest {
    /// The request for the one configuration with one `jwt` proof, as 1.0 writes it.
    pub fn with_proof(jwt: String) -> Self {
        CredentialRequest {
            credential_configuration_id: Some(CONFIGURATION_ID.to_owned()),
            format: None,
            proofs: Some(Proofs { jwt: vec![jwt] }),
            proof: None,
        }
    }

    /// The one `jwt` key proof of the request, or an OAuth error naming what is wrong.
    pub fn the_proof(&self) -> Result<&str, OAuthError> {
        if let Some(format) = self.format.as_deref().filter(|f| *f != FORMAT) {
            return Err(OAuthError::new(
                "unsupported_credential_format",
                format!("format: `{}` is not offered; `{FORMAT}` is", crate::text::clip(format, 60)),
            ));
        }
        match self.credential_configuration_id.as_deref() {
            Some(CONFIGURATION_ID) | None => {}
            Some(other) => {
                return Err(OAuthError::new(
                    "unknown_credential_configuration",
                    format!(
                        "credential_configuration_id: `{}` is not offered; `{CONFIGURATION_ID}` is",
                        crate::text::clip(other, 60)
                    ),
                ));
            }
        }
        let invalid = |why: &str| Err(OAuthError::new("invalid_proof", why));
        match (&self.proofs, &self.proof) {
            (Some(_), Some(_)) => invalid("give either `proofs` or `proof`, not both"),
            (Some(Proofs { jwt }), None) => match jwt.as_slice() {
                [one] => Ok(one),
                [] => invalid("proofs.jwt: one key proof is required"),
                _ => invalid("proofs.jwt: one credential is issued per offer, so give one key proof"),
            },
            (None, Some(SingleProof { proof_type, jwt })) => match (proof_type.as_str(), jwt) {
                ("jwt", Some(jwt)) => Ok(jwt),
                ("jwt", None) => invalid("proof.jwt: missing"),
                _ => invalid("proof.proof_type: only `jwt` is supported"),
            },
            (None, None) => invalid("proofs: a `jwt` key proof is required"),
        }
    }
}

/// The credential response (1.0 §8.3): the issued credentials; for a request of the drafts
/// before 15 (which name a `format`), the credential also as `credential`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialResponse {
    pub credentials: Vec<IssuedCredential>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<Value>,
}

/// One issued credential.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssuedCredential {
    pub credential: Value,
}

/// An OAuth-style error body `{error, error_description}` (RFC 6749 §5.2, OID4VCI §8.3.1.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{error}: {error_description}")]
pub struct OAuthError {
    pub error: String,
    pub error_description: String,
}

impl OAuthError {
    /// An error with its code and its plain-words description.
    pub fn new(error: &str, description: impl Into<String>) -> Self {
        OAuthError { error: error.to_owned(), error_description: description.into() }
    }
}

/// The credential issuer metadata (§12.2) of the issuer at `issuer` (its public URL, no trailing
/// slash): the endpoints and the one configuration.
pub fn issuer_metadata(issuer: &str) -> Value {
    json!({
        "credential_issuer": issuer,
        "credential_endpoint": format!("{issuer}{CREDENTIAL_PATH}"),
        "nonce_endpoint": format!("{issuer}{NONCE_PATH}"),
        // For wallets of earlier drafts, which read the token endpoint here.
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "display": [{"name": "Credential issuer agent", "locale": "en"}],
        "credential_configurations_supported": {
            CONFIGURATION_ID: {
                "format": FORMAT,
                "credential_definition": {
                    "@context": crate::vc::OB_CONTEXT,
                    "type": ["VerifiableCredential", "OpenBadgeCredential"]
                },
                "cryptographic_binding_methods_supported": ["did:key"],
                "credential_signing_alg_values_supported": ["eddsa-rdfc-2022"],
                "proof_types_supported": {"jwt": {"proof_signing_alg_values_supported": [key_proof::ALG]}},
                "display": [{"name": "Open Badge", "locale": "en"}]
            }
        }
    })
}

/// The OAuth authorization server metadata (RFC 8414) of the issuer at `issuer`: the token
/// endpoint, open to the pre-authorized code without client authentication.
pub fn authorization_server_metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "grant_types_supported": [PRE_AUTHORIZED_GRANT],
        "pre-authorized_grant_anonymous_access_supported": true,
        "response_types_supported": []
    })
}

/// The offer's URL by reference at the issuer `issuer`.
pub fn offer_uri(issuer: &str, offer_id: &str) -> String {
    format!("{issuer}{OFFER_PATH}{offer_id}")
}

/// The deep link a wallet opens: `openid-credential-offer://?credential_offer_uri=…`.
pub fn deep_link(offer_uri: &str) -> String {
    let query = form_urlencoded::Serializer::new(String::new()).append_pair("credential_offer_uri", offer_uri).finish();
    format!("{OFFER_SCHEME}?{query}")
}

/// Where a wallet finds the offer, from what a holder was given: a deep link (by reference or
/// by value), a claim page URL (`…/claim/{id}`), or the offer's URL itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferLocation {
    /// Fetch the offer from this URL.
    Reference(String),
    /// The offer itself, as JSON text.
    Value(String),
}

/// Reads an offer link (see [`OfferLocation`]).
pub fn locate_offer(link: &str) -> Result<OfferLocation, String> {
    let link = link.trim();
    if let Some(query) = link.strip_prefix(OFFER_SCHEME).map(|rest| rest.trim_start_matches('/')) {
        let query = query.strip_prefix('?').unwrap_or(query);
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match name.as_ref() {
                "credential_offer_uri" => return Ok(OfferLocation::Reference(value.into_owned())),
                "credential_offer" => return Ok(OfferLocation::Value(value.into_owned())),
                _ => {}
            }
        }
        return Err("the offer link has neither credential_offer_uri nor credential_offer".to_owned());
    }
    if !(link.starts_with("https://") || link.starts_with("http://")) {
        return Err(format!(
            "`{}` is not an offer link (openid-credential-offer://…) nor an http(s) URL",
            crate::text::clip(link, 80)
        ));
    }
    match link.rsplit_once(CLAIM_PATH) {
        Some((issuer, id)) if !id.is_empty() && !id.contains('/') => {
            Ok(OfferLocation::Reference(offer_uri(issuer, id)))
        }
        _ => Ok(OfferLocation::Reference(link.to_owned())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_are_found_from_every_link_form() {
        let uri = offer_uri("https://agent.example.edu", "abc");
        assert_eq!(locate_offer(&deep_link(&uri)), Ok(OfferLocation::Reference(uri.clone())));
        assert_eq!(locate_offer("https://agent.example.edu/claim/abc"), Ok(OfferLocation::Reference(uri.clone())));
        assert_eq!(locate_offer(&uri), Ok(OfferLocation::Reference(uri.clone())));
        assert_eq!(
            locate_offer("openid-credential-offer://?credential_offer=%7B%7D"),
            Ok(OfferLocation::Value("{}".to_owned()))
        );
        assert!(locate_offer("ftp://x").is_err());
        assert!(locate_offer("openid-credential-offer://?x=1").is_err());
    }

    #[test]
    fn the_offer_serializes_to_the_wire_form() {
        let offer = serde_json::to_value(CredentialOffer::new("https://a.example", "C".to_owned(), true)).unwrap();
        let grant = &offer["grants"][PRE_AUTHORIZED_GRANT];
        assert_eq!(grant["pre-authorized_code"], "C");
        assert_eq!(grant["tx_code"]["input_mode"], "numeric");
        assert_eq!(grant["tx_code"]["length"], 6);
        let no_pin = serde_json::to_value(CredentialOffer::new("https://a.example", "C".to_owned(), false)).unwrap();
        assert!(no_pin["grants"][PRE_AUTHORIZED_GRANT].get("tx_code").is_none());
    }

    #[test]
    fn a_credential_request_yields_its_one_proof() {
        assert_eq!(CredentialRequest::with_proof("j".to_owned()).the_proof(), Ok("j"));
        let draft15: CredentialRequest =
            serde_json::from_value(json!({"format": "ldp_vc", "proof": {"proof_type": "jwt", "jwt": "k"}})).unwrap();
        assert_eq!(draft15.the_proof(), Ok("k"));
        let two: CredentialRequest = serde_json::from_value(json!({"proofs": {"jwt": ["a", "b"]}})).unwrap();
        assert_eq!(two.the_proof().unwrap_err().error, "invalid_proof");
        let none = CredentialRequest::default();
        assert_eq!(none.the_proof().unwrap_err().error, "invalid_proof");
        let other: CredentialRequest = serde_json::from_value(json!({"credential_configuration_id": "X"})).unwrap();
        assert_eq!(other.the_proof().unwrap_err().error, "unknown_credential_configuration");
        let jwt_vc: CredentialRequest =
            serde_json::from_value(json!({"format": "jwt_vc_json", "proof": {"proof_type": "jwt", "jwt": "k"}}))
                .unwrap();
        assert_eq!(jwt_vc.the_proof().unwrap_err().error, "unsupported_credential_format");
    }

    #[test]
    fn a_draft_wallets_user_pin_is_the_tx_code() {
        let request: TokenRequest =
            serde_urlencoded::from_str("grant_type=g&pre-authorized_code=c&user_pin=123456").unwrap();
        assert_eq!(request.pin(), Some("123456"));
    }

    #[test]
    fn a_token_request_with_the_pin_under_both_names_is_read() {
        // What @sphereon/oid4vci-client 0.20.1 sends: the PIN as `user_pin` and as `tx_code`.
        let form = "grant_type=g&pre-authorized_code=c&user_pin=123456&tx_code=123456";
        let request: TokenRequest = serde_urlencoded::from_str(form).unwrap();
        assert_eq!(request.pin(), Some("123456"));
    }
}
