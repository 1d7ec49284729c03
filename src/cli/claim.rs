//! `credledger claim`: a small OID4VCI wallet (pre-authorized code flow, `ldp_vc`). From a claim
//! link (the agent's claim page, the `openid-credential-offer://` deep link, or the offer's URL)
//! it fetches the offer and the issuer's metadata, trades the code (and PIN) for an access token,
//! gets a nonce, proves the learner's key with a `jwt` key proof, and receives the credential,
//! which it verifies here before handing it over. Every request goes through the guarded
//! [`Fetcher`]: https, or http to loopback only when told; no redirects; bounded answers.

use anyhow::{Context, Result, anyhow, bail};
use credledger::event::Timestamp;
use credledger::http::fetch::{Answer, Fetcher, Request};
use credledger::oid4vci::{
    CredentialOffer, CredentialRequest, CredentialResponse, FORMAT, NonceResponse, OAuthError, OfferLocation,
    PRE_AUTHORIZED_GRANT, TokenResponse, key_proof, locate_offer,
};
use credledger::vc::VcReport;
use credledger::{Did, SecretKey};
use serde::de::DeserializeOwned;
use serde_json::Value;
use time::OffsetDateTime;

/// How long one request may take: the credential endpoint signs the credential and appends it to
/// the ledger before it answers.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A received credential, checked here.
pub struct Claimed {
    /// The signed credential, as the issuer sent it.
    pub credential: Value,
    /// The did it is issued to (the learner key's).
    pub holder: Did,
    /// The verifier's report on it (proofs, issuer, validity; its status is not looked up: it
    /// was just issued).
    pub report: VcReport,
}

/// The URL of a well-known document of `issuer` (RFC 8615 as OID4VCI 1.0 §12.2.2 places it:
/// between the host and the issuer's path).
fn well_known(issuer: &str, name: &str) -> String {
    let (scheme, rest) = issuer.split_once("://").unwrap_or(("https", issuer));
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        format!("{scheme}://{host}/.well-known/{name}")
    } else {
        format!("{scheme}://{host}/.well-known/{name}/{path}")
    }
}

/// What an OAuth error answer says: `error: error_description`.
fn oauth_error(answer: &Answer) -> String {
    match serde_json::from_slice::<OAuthError>(&answer.body) {
        Ok(e) => {
            format!("{}: {}", credledger::text::clip(&e.error, 60), credledger::text::clip(&e.error_description, 300))
        }
        Err(_) => format!("HTTP {} without an OAuth error", answer.status),
    }
}

/// The wallet: the guarded client and the learner's key.
pub struct Wallet<'a> {
    pub fetcher: &'a Fetcher,
    pub key: &'a SecretKey,
}

impl Wallet<'_> {
    /// The JSON document at `url`, read as `T`; or the issuer's OAuth error (a used or expired
    /// offer's is `410`).
    fn get<T: DeserializeOwned>(&self, url: &str, what: &str) -> Result<T> {
        self.exchange(&format!("fetching the {what}"), Request { url, ..Request::default() })
    }

    /// POSTs to an OAuth/OID4VCI endpoint; its answer read as `T`, or the OAuth error it gave.
    fn post<T: DeserializeOwned>(&self, step: &str, request: Request<'_>) -> Result<T> {
        self.exchange(step, request)
    }

    /// One request of the flow: its 200 answer read as `T`, or what the issuer said instead.
    fn exchange<T: DeserializeOwned>(&self, step: &str, request: Request<'_>) -> Result<T> {
        let url = request.url;
        let answer = self.fetcher.send(request).map_err(|why| anyhow!("{step} ({url}): {why}"))?;
        if answer.status != 200 {
            bail!("{step}: the issuer refused (HTTP {}): {}", answer.status, oauth_error(&answer));
        }
        let json = answer.json().map_err(|why| anyhow!("{step} ({url}): {why}"))?;
        serde_json::from_value(json).with_context(|| format!("{step}: the answer of {url}"))
    }

    /// The offer a claim link points to.
    fn offer(&self, link: &str) -> Result<CredentialOffer> {
        match locate_offer(link).map_err(|why| anyhow!("the claim link: {why}"))? {
            OfferLocation::Reference(url) => self.get(&url, "credential offer"),
            OfferLocation::Value(text) => {
                let json = credledger::canonical::parse_strict(text.as_bytes())
                    .map_err(|e| anyhow!("the link's credential_offer is not JSON: {e}"))?;
                serde_json::from_value(json).context("the link's credential_offer")
            }
        }
    }

    /// Claims the credential the link offers, with `pin` if the offer asks for one. `now` is the
    /// clock: read when the key proof is signed, and again when the credential has arrived (the
    /// issuer dates it after the round trips in between).
    pub fn claim(&self, link: &str, pin: Option<&str>, now: impl Fn() -> OffsetDateTime) -> Result<Claimed> {
        let offer = self.offer(link)?;
        let issuer = offer.credential_issuer.trim_end_matches('/');
        let grant = &offer.grants.pre_authorized_code;
        let pin = match (&grant.tx_code, pin) {
            (Some(tx_code), None) => bail!("this offer needs its PIN: --pin P ({})", tx_code.description),
            (Some(_), Some(pin)) => Some(pin),
            (None, _) => None,
        };
        let configuration = offer.credential_configuration_ids.first().context("the offer names no credential")?;

        let metadata: Value = self.get(&well_known(issuer, "openid-credential-issuer"), "issuer metadata")?;
        let configured = metadata.pointer(&format!("/credential_configurations_supported/{configuration}"));
        if configured.and_then(|c| c.get("format")).and_then(Value::as_str) != Some(FORMAT) {
            bail!("the offered credential `{configuration}` is not an {FORMAT} credential in the issuer's metadata");
        }
        let endpoint = |name: &str| -> Result<String> {
            let url = metadata.get(name).and_then(Value::as_str);
            Ok(url.with_context(|| format!("the issuer metadata has no `{name}`"))?.to_owned())
        };
        let (credential_endpoint, nonce_endpoint) = (endpoint("credential_endpoint")?, endpoint("nonce_endpoint")?);
        let token_endpoint = match endpoint("token_endpoint") {
            Ok(url) => url,
            Err(_) => self.token_endpoint(issuer, &metadata)?,
        };

        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", PRE_AUTHORIZED_GRANT).append_pair("pre-authorized_code", &grant.code);
        if let Some(pin) = pin {
            form.append_pair("tx_code", pin);
        }
        let form = form.finish();
        let token: TokenResponse = self.post(
            "exchanging the code for a token",
            Request {
                url: &token_endpoint,
                content_type: "application/x-www-form-urlencoded",
                body: Some(form.as_bytes()),
                ..Request::default()
            },
        )?;
        let nonce: NonceResponse =
            self.post("getting a nonce", Request { url: &nonce_endpoint, body: Some(b""), ..Request::default() })?;
        let proof = key_proof::sign(self.key, issuer, &nonce.c_nonce, now());
        let request = CredentialRequest {
            credential_configuration_id: Some(configuration.clone()),
            ..CredentialRequest::with_proof(proof)
        };
        let request = serde_json::to_vec(&request)?;
        let issued: CredentialResponse = self.post(
            "receiving the credential",
            Request {
                url: &credential_endpoint,
                bearer: Some(&token.access_token),
                body: Some(&request),
                ..Request::default()
            },
        )?;
        let credential = issued.credentials.into_iter().next().context("the issuer answered with no credential")?;
        self.checked(credential.credential, now())
    }

    /// The token endpoint in the authorization server's metadata (1.0: the issuer metadata
    /// names its `authorization_servers`, else the issuer is its own).
    fn token_endpoint(&self, issuer: &str, metadata: &Value) -> Result<String> {
        let server = metadata
            .get("authorization_servers")
            .and_then(Value::as_array)
            .and_then(|servers| servers.first())
            .and_then(Value::as_str)
            .unwrap_or(issuer);
        let oauth: Value =
            self.get(&well_known(server, "oauth-authorization-server"), "authorization server metadata")?;
        let url = oauth.get("token_endpoint").and_then(Value::as_str);
        Ok(url.context("the authorization server metadata has no `token_endpoint`")?.to_owned())
    }

    /// The credential, verified here (proofs, issuer, validity) and issued to this wallet's did.
    fn checked(&self, credential: Value, now: OffsetDateTime) -> Result<Claimed> {
        let report = credledger::vc::check(&credential, None, &Timestamp::whole_seconds(now), None);
        if !report.is_valid() {
            let failed: Vec<String> =
                report.checks.iter().filter(|c| c.ran && !c.ok).map(|c| format!("{}: {}", c.name, c.detail)).collect();
            bail!("the issuer sent a credential that does not verify: {}", failed.join("; "));
        }
        let holder = self.key.did().clone();
        let subject = credential.pointer("/credentialSubject/id").and_then(Value::as_str);
        if subject != Some(holder.as_str()) {
            bail!(
                "the credential is issued to {}, not to this key's {holder}",
                subject.map_or("no one".to_owned(), |s| credledger::text::clip(s, 120))
            );
        }
        Ok(Claimed { credential, holder, report })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_documents_sit_between_the_host_and_the_issuers_path() {
        assert_eq!(
            well_known("https://agent.example.edu", "openid-credential-issuer"),
            "https://agent.example.edu/.well-known/openid-credential-issuer"
        );
        assert_eq!(
            well_known("http://127.0.0.1:9/tenant/", "oauth-authorization-server"),
            "http://127.0.0.1:9/.well-known/oauth-authorization-server/tenant"
        );
    }

    #[test]
    fn oauth_errors_read_as_their_code_and_description() {
        let answer = |body: &str| Answer { status: 400, body: body.into() };
        assert_eq!(
            oauth_error(&answer(r#"{"error":"invalid_grant","error_description":"wrong PIN"}"#)),
            "invalid_grant: wrong PIN"
        );
        assert_eq!(oauth_error(&answer("<html>")), "HTTP 400 without an OAuth error");
    }
}
