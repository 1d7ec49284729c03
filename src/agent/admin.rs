//! The registrar's endpoints, each behind the admin bearer token (compared by its BLAKE3 hash,
//! in constant time): `POST /admin/imports` (a CSV export: awards and their offers),
//! `GET /admin/awards` (each award, its offer and its credential), `POST
//! /admin/awards/{id}/offer` (a new offer: new code and PIN, the old one dead) and `POST
//! /admin/awards/{id}/cancel`. Errors are problem+json.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::import::{self, Award, ColumnMap, RowError};
use super::offers::{NewOffer, Offer};
use super::store::{AwardEntry, Imported};
use super::{AgentState, MAX_IMPORT, random32};
use crate::http::problem::{Problem, TYPE_BASE};
use crate::oid4vci;

type State = web::Data<AgentState>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/admin/imports").app_data(web::PayloadConfig::new(MAX_IMPORT)).route(web::post().to(imports)),
    )
    .route("/admin/awards", web::get().to(awards))
    .route("/admin/awards/{award}/offer", web::post().to(reoffer))
    .route("/admin/awards/{award}/cancel", web::post().to(cancel));
}

/// Whether the request carries the admin token.
fn authorized(state: &AgentState, request: &HttpRequest) -> Result<(), HttpResponse> {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    // blake3::Hash compares in constant time.
    match presented {
        Some(token) if blake3::hash(token.as_bytes()) == state.admin_hash => Ok(()),
        _ => {
            let problem = Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "the admin endpoints need the agent's admin token (Authorization: Bearer TOKEN)",
            );
            let mut answer = actix_web::ResponseError::error_response(&problem);
            answer.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
            Err(answer)
        }
    }
}

fn internal(e: impl std::fmt::Display) -> HttpResponse {
    actix_web::ResponseError::error_response(&failed(e))
}

/// The problem of a failure inside the agent (logged; the answer says only that it failed).
fn failed(e: impl std::fmt::Display) -> Problem {
    tracing::error!("{e}");
    Problem::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "the agent failed; see its log")
}

/// The import's options, in the query.
#[derive(Debug, Deserialize)]
struct ImportQuery {
    /// Header renames, `From=to,…`.
    map: Option<String>,
    /// Import the good rows and report the bad ones (else: nothing if any row is bad).
    #[serde(default)]
    skip_bad: bool,
    /// Whether offers get a PIN (default yes).
    pin: Option<bool>,
}

/// A new offer of `award` at `now`, from fresh randomness.
fn new_offer(state: &AgentState, award: &str, with_pin: bool) -> std::io::Result<NewOffer> {
    let token = random32()?;
    let pin = with_pin.then(|| random32().map(|r| r[..8].try_into().expect("8 bytes"))).transpose()?;
    Ok(Offer::create(award, token, pin, state.now(), state.offer_lifetime))
}

fn claim_url(state: &AgentState, offer: &NewOffer) -> String {
    format!("{}{}{}", state.public_url, oid4vci::CLAIM_PATH, offer.token.0)
}

async fn imports(state: State, request: HttpRequest, query: web::Query<ImportQuery>, body: web::Bytes) -> HttpResponse {
    if let Err(refused) = authorized(&state, &request) {
        return refused;
    }
    let query = query.into_inner();
    let map = match ColumnMap::parse(query.map.as_deref().unwrap_or_default()) {
        Ok(map) => map,
        Err(e) => return actix_web::ResponseError::error_response(&Problem::bad_request("bad-map", e)),
    };
    let worker = state.clone();
    match web::block(move || import_csv(&worker, &body, &map, query.skip_bad, query.pin.unwrap_or(true))).await {
        Ok(Ok(answer)) => HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(answer),
        Ok(Err(Refusal::Rows(errors, what))) => refused_rows(&errors, what),
        Ok(Err(Refusal::Internal(e))) => internal(e),
        Err(e) => internal(e),
    }
}

/// Why an import imported nothing.
enum Refusal {
    Rows(Vec<RowError>, &'static str),
    Internal(String),
}

fn import_csv(
    state: &AgentState,
    csv: &[u8],
    map: &ColumnMap,
    skip_bad: bool,
    with_pin: bool,
) -> Result<Value, Refusal> {
    let (mut good, mut bad): (Vec<(u64, Award)>, Vec<RowError>) = (Vec::new(), Vec::new());
    let read = import::read(csv, map, |row, result| match result {
        Ok(award) => good.push((row, award)),
        Err(errors) => bad.extend(errors),
    });
    let rows = match read {
        Ok(rows) => rows,
        Err(e) => return Err(Refusal::Rows(vec![e], "the file's header; nothing was imported")),
    };
    if !bad.is_empty() && !skip_bad {
        return Err(Refusal::Rows(bad, "nothing was imported"));
    }
    let (numbers, awards): (Vec<u64>, Vec<Award>) = good.into_iter().unzip();
    let outcome = state
        .store
        .import(awards, state.now(), |award| new_offer(state, &award.id, with_pin))
        .map_err(|e| Refusal::Internal(e.to_string()))?;
    let new = outcome.iter().filter(|(_, imported, _)| *imported == Imported::New).count();
    let offers: Vec<Value> = numbers
        .iter()
        .zip(&outcome)
        .map(|(row, (entry, imported, offer))| {
            json!({
                "row": row,
                "award_id": entry.award.id,
                "student_id": entry.award.student_id,
                "email": entry.award.email,
                "claim_url": offer.as_ref().map(|o| claim_url(state, o)),
                "pin": offer.as_ref().and_then(|o| o.pin.clone()),
                "award": if *imported == Imported::New { "new" } else { "imported before" },
            })
        })
        .collect();
    tracing::info!(rows, new, before = outcome.len() - new, rejected = bad.len(), "imported");
    Ok(json!({
        "rows": rows,
        "new": new,
        "before": outcome.len() - new,
        "rejected": bad,
        "offers": offers,
    }))
}

/// 422 problem+json listing each bad row and column.
fn refused_rows(errors: &[RowError], what: &str) -> HttpResponse {
    let first: Vec<String> = errors.iter().take(5).map(ToString::to_string).collect();
    let more = errors.len().saturating_sub(first.len());
    let detail = format!(
        "{} bad row entr{} ({what}): {}{}",
        errors.len(),
        if errors.len() == 1 { "y" } else { "ies" },
        first.join("; "),
        if more > 0 { format!("; and {more} more") } else { String::new() }
    );
    let detail = crate::text::clip(&detail, crate::http::problem::MAX_DETAIL);
    HttpResponse::UnprocessableEntity().content_type("application/problem+json").json(json!({
        "type": format!("{TYPE_BASE}bad-rows"),
        "title": "Unprocessable Entity",
        "status": 422,
        "detail": detail,
        "errors": errors,
    }))
}

/// What the registrar sees of an award.
fn shown(state: &AgentState, entry: &AwardEntry) -> Value {
    let offer = entry.offer.as_deref().and_then(|key| state.store.offer(key).ok().flatten());
    json!({
        "award_id": entry.award.id,
        "award": entry.award,
        "imported_at": entry.imported_at,
        "offer": offer.map(|o| json!({"state": o.state, "expires_at": o.expires_at, "failed_pins": o.failed_pins, "pin": o.pin_hash.is_some()})),
        "credential": entry.issued.as_ref().map(|i| json!({"id": i.credential, "learner": i.learner, "on_ledger": i.appended})),
    })
}

/// For a request with the admin token, runs `work` on the blocking pool (the store is I/O) and
/// answers with its JSON or problem.
async fn admin(
    state: &State,
    request: &HttpRequest,
    work: impl FnOnce(&AgentState) -> Result<(StatusCode, Value), Problem> + Send + 'static,
) -> HttpResponse {
    if let Err(refused) = authorized(state, request) {
        return refused;
    }
    let worker = state.clone();
    match web::block(move || work(&worker)).await {
        Ok(Ok((status, body))) => {
            HttpResponse::build(status).insert_header((header::CACHE_CONTROL, "no-store")).json(body)
        }
        Ok(Err(problem)) => actix_web::ResponseError::error_response(&problem),
        Err(e) => internal(e),
    }
}

fn no_award(award: &str) -> Problem {
    Problem::not_found(format!("award: no award {}", crate::text::clip(award, 80)))
}

async fn awards(state: State, request: HttpRequest) -> HttpResponse {
    admin(&state, &request, |state| {
        let all = state.store.awards().map_err(failed)?;
        Ok((StatusCode::OK, Value::Array(all.iter().map(|e| shown(state, e)).collect())))
    })
    .await
}

async fn reoffer(state: State, request: HttpRequest, award: web::Path<String>) -> HttpResponse {
    let award = award.into_inner();
    admin(&state, &request, move |state| {
        let entry = state.store.award(&award).map_err(failed)?.ok_or_else(|| no_award(&award))?;
        if let Some(issued) = &entry.issued {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "already-issued",
                format!("award: its credential {} was already issued; it is not offered again", issued.credential),
            ));
        }
        let with_pin = entry
            .offer
            .as_deref()
            .and_then(|key| state.store.offer(key).ok().flatten())
            .is_none_or(|o| o.pin_hash.is_some());
        let offer = new_offer(state, &award, with_pin).map_err(failed)?;
        let entry = state.store.reoffer(&award, &offer).map_err(failed)?.ok_or_else(|| no_award(&award))?;
        Ok((
            StatusCode::CREATED,
            json!({
                "award_id": award,
                "student_id": entry.award.student_id,
                "email": entry.award.email,
                "claim_url": claim_url(state, &offer),
                "pin": offer.pin,
            }),
        ))
    })
    .await
}

async fn cancel(state: State, request: HttpRequest, award: web::Path<String>) -> HttpResponse {
    let award = award.into_inner();
    admin(&state, &request, move |state| {
        let entry = state.store.cancel(&award).map_err(failed)?.ok_or_else(|| no_award(&award))?;
        Ok((StatusCode::OK, shown(state, &entry)))
    })
    .await
}
