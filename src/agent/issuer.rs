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
    match state.store.offer(&token.hash()) {
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
        store.store.redeem(&code, request.pin(), now, &access.hash(), expires_at).map(|r| (r, access))
    })
    .await;
    match redeemed {
        Ok(Ok((Ok(()), access))) => {
            let (c_nonce, c_nonce_expires_in) = match new_nonce(&state) {
                Ok(nonce) => (Some(nonce), Some(offers::NONCE_LIFETIME.whole_seconds() as u64)),
                Err(_) => (None, None),
            };
            fresh(TokenResponse {
                access_token: access.0,
                token_type: "Bearer".to_owned(),
                expires_in: offers::TOKEN_LIFETIME.whole_seconds() as u64,
                c_nonce,
                c_nonce_expires_in,
            })
        }
        Ok(Ok((Err(e), _))) => bad(e),
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

/// The credential, for a live access token and a key proof over a live nonce.
async fn credential(state: State, request: HttpRequest, body: web::Bytes) -> HttpResponse {
    let now = state.now();
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    let Some(presented) = presented else {
        return refuse(
            StatusCode::UNAUTHORIZED,
            OAuthError::new("invalid_token", "an access token is required (Authorization: Bearer)"),
        );
    };
    let grant = match state.store.grant(&offers::hash_of(presented)) {
        Ok(Some(grant)) => grant,
        Ok(None) => {
            return refuse(
                StatusCode::UNAUTHORIZED,
                OAuthError::new("invalid_token", "not an access token this issuer gave"),
            );
        }
        Err(e) => return internal(e),
    };
    if let Err(e) = grant.check(now) {
        return refuse(StatusCode::UNAUTHORIZED, e);
    }
    let request: CredentialRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => return bad(OAuthError::new("invalid_credential_request", format!("the request body: {e}"))),
    };
    let jwt = match request.the_proof() {
        Ok(jwt) => jwt.to_owned(),
        Err(e) => return bad(e),
    };
    let (learner, nonce) = match key_proof::verify(&jwt, &state.public_url, now.0) {
        Ok(checked) => checked,
        Err(e) => return bad(OAuthError::new("invalid_proof", e.to_string())),
    };
    match state.store.take_nonce(&offers::hash_of(&nonce)) {
        Ok(Some(expires_at)) => {
            if let Err(e) = offers::nonce_live(expires_at, now) {
                return bad(e);
            }
        }
        Ok(None) => {
            return bad(OAuthError::new(
                "invalid_nonce",
                "proof nonce: not a live c_nonce of this issuer (unknown, used or expired); ask the nonce endpoint for a new one",
            ));
        }
        Err(e) => return internal(e),
    }
    let store = state.clone();
    let award = grant.award.clone();
    let claimed = web::block(move || {
        super::issue::claim(&store.store, &*store.link, &award, &learner, || uuid::Uuid::new_v4().to_string())
    })
    .await;
    match claimed {
        Ok(Ok(vc)) => {
            let credential = request.format.is_some().then(|| vc.clone());
            fresh(CredentialResponse { credentials: vec![IssuedCredential { credential: vc }], credential })
        }
        Ok(Err(ClaimError::Link(LinkError::Unavailable(why)))) => {
            tracing::warn!("the ledger is not reachable; the credential is kept and posted later: {why}");
            let mut answer = refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                OAuthError::new(
                    "temporarily_unavailable",
                    "the ledger is not reachable now; your credential is kept: ask again in a minute",
                ),
            );
            answer.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from_static("30"));
            answer
        }
        Ok(Err(e @ (ClaimError::OtherLearner(_) | ClaimError::Link(LinkError::Refused { .. })))) => {
            bad(OAuthError::new("credential_request_denied", e.to_string()))
        }
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}
