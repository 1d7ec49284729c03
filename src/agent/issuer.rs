//! The OID4VCI 1.0 endpoints, pre-authorized code flow: the issuer's metadata, offers by
//! reference, the token (with the PIN as `tx_code`), nonce and credential endpoints. Every
//! refusal is an OAuth-style `{error, error_description}`; tokens, nonces and credentials are
//! never cached (`Cache-Control: no-store`).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};

use super::offers::{self, Secret};
use super::{AgentState, random32};
use crate::agent::issue::{ClaimError, LinkError};
use crate::oid4vci::{
    self, CredentialOffer, CredentialRequest, CredentialResponse, IssuedCredential, NonceResponse, OAuthError,
    TokenRequest, TokenResponse, key_proof,
};

type State = web::Data<AgentState>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(oid4vci::ISSUER_METADATA_PATH, web::get().to(issuer_metadata))
        .route(oid4vci::AUTHORIZATION_SERVER_METADATA_PATH, web::get().to(authorization_server_metadata))
        .route(&format!("{}{{token}}", oid4vci::OFFER_PATH), web::get().to(offer))
        .route(oid4vci::TOKEN_PATH, web::post().to(token))
        .route(oid4vci::NONCE_PATH, web::post().to(nonce))
        .route(oid4vci::CREDENTIAL_PATH, web::post().to(credential));
}

/// An OAuth error answer.
pub(crate) fn refuse(status: StatusCode, error: OAuthError) -> HttpResponse {
    let mut answer = HttpResponse::build(status);
    answer.insert_header((header::CACHE_CONTROL, "no-store"));
    if status == StatusCode::UNAUTHORIZED {
        answer.insert_header((header::WWW_AUTHENTICATE, format!("Bearer error=\"{}\"", error.error)));
    }
    answer.json(error)
}

fn bad(error: OAuthError) -> HttpResponse {
    refuse(StatusCode::BAD_REQUEST, error)
}

fn internal(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!("{e}");
    refuse(StatusCode::INTERNAL_SERVER_ERROR, OAuthError::new("server_error", "the issuer failed; try again later"))
}

fn fresh(body: impl serde::Serialize) -> HttpResponse {
    HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(body)
}

async fn issuer_metadata(state: State) -> HttpResponse {
    HttpResponse::Ok().json(oid4vci::issuer_metadata(&state.public_url))
}

async fn authorization_server_metadata(state: State) -> HttpResponse {
    HttpResponse::Ok().json(oid4vci::authorization_server_metadata(&state.public_url))
}

/// The offer of a claim link's token, by reference.
async fn offer(state: State, token: web::Path<String>) -> HttpResponse {
    let token = Secret(token.into_inner());
    let (worker, key) = (state.clone(), token.hash());
    match web::block(move || worker.store.offer(&key))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()))
    {
        Ok(Some(offer)) => match offer.claimable(state.now()) {
            Ok(()) => {
                let code = offers::code_of(&token).0;
                fresh(CredentialOffer::new(&state.public_url, code, offer.pin_hash.is_some()))
            }
            Err(e) => refuse(StatusCode::GONE, e),
        },
        Ok(None) => refuse(StatusCode::NOT_FOUND, OAuthError::new("invalid_request", "no offer at this address")),
        Err(e) => internal(e),
    }
}

/// The pre-authorized code (and PIN) for an access token.
async fn token(state: State, form: Result<web::Form<TokenRequest>, actix_web::Error>) -> HttpResponse {
    let request = match form {
        Ok(form) => form.into_inner(),
        Err(e) => return bad(OAuthError::new("invalid_request", format!("the form: {e}"))),
    };
    if request.grant_type != oid4vci::PRE_AUTHORIZED_GRANT {
        return bad(OAuthError::new(
            "unsupported_grant_type",
            format!("grant_type: only {} is supported", oid4vci::PRE_AUTHORIZED_GRANT),
        ));
    }
    let Some(code) = request.pre_authorized_code.clone().filter(|c| !c.is_empty()) else {
        return bad(OAuthError::new("invalid_request", "pre-authorized_code: required"));
    };
    let Ok(bytes) = random32() else { return internal("no randomness") };
    let access = Secret::from_bytes(bytes);
    let now = state.now();
    let expires_at = crate::event::Timestamp(now.0 + offers::TOKEN_LIFETIME);
    let store = state.clone();
    let redeemed = web::block(move || {
        let redeemed = store.store.redeem(&code, request.pin(), now, &access.hash(), expires_at)?;
        // For wallets of earlier drafts, a first nonce with the token.
        let nonce = redeemed.is_ok().then(|| new_nonce(&store).ok()).flatten();
        Ok::<_, super::store::StoreError>((redeemed, access, nonce))
    })
    .await;
    match redeemed {
        Ok(Ok((Ok(()), access, c_nonce))) => {
            let c_nonce_expires_in = c_nonce.as_ref().map(|_| offers::NONCE_LIFETIME.whole_seconds() as u64);
            fresh(TokenResponse {
                access_token: access.0,
                token_type: "Bearer".to_owned(),
                expires_in: offers::TOKEN_LIFETIME.whole_seconds() as u64,
                c_nonce,
                c_nonce_expires_in,
            })
        }
        Ok(Ok((Err(e), _, _))) => bad(e),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// A new nonce, kept (hashed) until it expires.
fn new_nonce(state: &AgentState) -> std::io::Result<String> {
    let nonce = Secret::from_bytes(random32()?);
    let now = state.now();
    state
        .store
        .put_nonce(&nonce.hash(), crate::event::Timestamp(now.0 + offers::NONCE_LIFETIME), now)
        .map_err(std::io::Error::other)?;
    Ok(nonce.0)
}

async fn nonce(state: State) -> HttpResponse {
    let store = state.clone();
    match web::block(move || new_nonce(&store)).await {
        Ok(Ok(c_nonce)) => fresh(NonceResponse { c_nonce }),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

/// A refusal: its status and OAuth error.
type Refusal = (StatusCode, OAuthError);

fn server_error(e: impl std::fmt::Display) -> Refusal {
    tracing::error!("{e}");
    (StatusCode::INTERNAL_SERVER_ERROR, OAuthError::new("server_error", "the issuer failed; try again later"))
}

/// The credential, for a live access token and a key proof over a live nonce (all of it on the
/// blocking pool: the store and the ledger are I/O).
async fn credential(state: State, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(|v| v.trim().to_owned());
    let worker = state.clone();
    match web::block(move || issue_credential(&worker, presented.as_deref(), &body)).await {
        Ok(Ok(response)) => fresh(response),
        Ok(Err((status, error))) => {
            let mut answer = refuse(status, error);
            if status == StatusCode::SERVICE_UNAVAILABLE {
                answer.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
            }
            answer
        }
        Err(e) => internal(e),
    }
}

fn issue_credential(state: &AgentState, presented: Option<&str>, body: &[u8]) -> Result<CredentialResponse, Refusal> {
    let now = state.now();
    let unauthorized = |why: &str| (StatusCode::UNAUTHORIZED, OAuthError::new("invalid_token", why));
    let presented = presented.ok_or_else(|| unauthorized("an access token is required (Authorization: Bearer)"))?;
    let grant = state
        .store
        .grant(&offers::hash_of(presented))
        .map_err(server_error)?
        .ok_or_else(|| unauthorized("not an access token this issuer gave"))?;
    grant.check(now).map_err(|e| (StatusCode::UNAUTHORIZED, e))?;
    let bad = |e: OAuthError| (StatusCode::BAD_REQUEST, e);
    let request: CredentialRequest = serde_json::from_slice(body)
        .map_err(|e| bad(OAuthError::new("invalid_credential_request", format!("the request body: {e}"))))?;
    let jwt = request.the_proof().map_err(bad)?;
    let (learner, nonce) = key_proof::verify(jwt, &state.public_url, now.0)
        .map_err(|e| bad(OAuthError::new("invalid_proof", e.to_string())))?;
    let expires_at = state.store.take_nonce(&offers::hash_of(&nonce)).map_err(server_error)?.ok_or_else(|| {
        bad(OAuthError::new(
            "invalid_nonce",
            "proof nonce: not a live c_nonce of this issuer (unknown, used or expired); ask the nonce endpoint for a new one",
        ))
    })?;
    offers::nonce_live(expires_at, now).map_err(bad)?;
    let uuid = || uuid::Uuid::new_v4().to_string();
    match super::issue::claim(&state.store, &*state.link, &grant.award, &learner, uuid) {
        Ok(vc) => {
            let credential = request.format.is_some().then(|| vc.clone());
            Ok(CredentialResponse { credentials: vec![IssuedCredential { credential: vc }], credential })
        }
        Err(ClaimError::Link(LinkError::Unavailable(why))) => {
            tracing::warn!("the ledger is not reachable; the credential is kept and posted later: {why}");
            Err((
                StatusCode::SERVICE_UNAVAILABLE,
                OAuthError::new(
                    "temporarily_unavailable",
                    "the ledger is not reachable now; your credential is kept: ask again in a minute",
                ),
            ))
        }
        Err(e @ (ClaimError::OtherLearner(_) | ClaimError::Link(LinkError::Refused { .. }))) => {
            Err(bad(OAuthError::new("credential_request_denied", e.to_string())))
        }
        Err(e) => Err(server_error(e)),
    }
}
