//! The HTTP routes. Each handler parses its request, makes one call (to the writer, a [`View`]
//! or [`bundle::verify`]) and renders JSON, text or HTML; errors are [`Problem`]s. Every read of
//! the store runs on the blocking pool ([`read`]), never on an async worker.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use actix_web::ResponseError;
use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderValue, RETRY_AFTER};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use futures_core::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::{mpsc, oneshot};
use utoipa::OpenApi;

use crate::bundle::{self, Report, ShareRequest, StatusLine, Trust, VerifyOptions};
use crate::canonical;
use crate::event::Timestamp;
use crate::http::AppState;
use crate::http::checker::Unchecked;
use crate::http::forward;
use crate::http::openapi::{self, CommonAnswers, IdentifierFormats};
use crate::http::pages;
use crate::http::problem::Problem;
use crate::http::sequencer::Job;
use crate::http::sources::Sources;
use crate::http::vc_api;
use crate::id::{Did, EventId, Hash32};
use crate::ledger::{LedgerError, ProveError};
use crate::merkle;
use crate::projection::Record;
use crate::share::{self, LinkState, PublishRequest, Published, RevokeRequest, ShareError, TOKEN_BYTES, Token};
use crate::status_list::{KeyList, Purpose};
use crate::store::{Store, StoreError};
use crate::text;
use crate::view::{StatusListState, View};

type Data = web::Data<AppState>;
type Reply = Result<HttpResponse, Problem>;

/// The most records one `GET /v1/events` returns.
const MAX_PAGE: usize = 1000;

/// The most events one `POST /v1/events` takes: the answer has one result per event.
pub(crate) const MAX_EVENTS: usize = 1000;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "credledger",
        description = "An event-sourced, signed credentialing ledger: append signed events, read the log, profiles and proofs, verify bundles."
    ),
    paths(
        post_events,
        get_events,
        checkpoint,
        inclusion,
        consistency,
        learner_profile,
        credential,
        issuers,
        ledger_info,
        verify,
        post_bundle,
        healthz,
        metrics,
        openapi_doc,
        verify_page,
        learner_page,
        credential_vc,
        learner_clr,
        verify_vc,
        vc_api_verify,
        credential_status,
        status_list,
        unsigned_status_list,
        key_status_lists,
        post_share,
        revoke_share,
        share_page,
        front_door,
        verify_report
    ),
    components(schemas(Purpose)),
    modifiers(&IdentifierFormats, &CommonAnswers)
)]
struct ApiDoc;

/// The OpenAPI document, made once.
pub(crate) fn document() -> &'static utoipa::openapi::OpenApi {
    static DOCUMENT: std::sync::OnceLock<utoipa::openapi::OpenApi> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(ApiDoc::openapi)
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(post_events)
        .service(get_events)
        .service(checkpoint)
        .service(inclusion)
        .service(consistency)
        .service(learner_profile)
        .service(credential_vc)
        .service(credential)
        .service(credential_status)
        .service(unsigned_status_list)
        .service(key_status_lists)
        .service(status_list)
        .service(learner_clr)
        .service(verify_vc)
        .service(vc_api_verify)
        .service(issuers)
        .service(ledger_info)
        .service(verify)
        .service(verify_report)
        .service(post_bundle)
        .service(healthz)
        .service(metrics)
        .service(openapi_doc)
        .service(verify_page)
        .service(verify_script)
        .service(stylesheet)
        .service(learner_page)
        .service(publish_script)
        .service(post_share)
        .service(revoke_share)
        .service(share_page)
        .service(front_door)
        .default_service(web::to(not_found));
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store");
        Problem::unavailable(e.to_string())
    }
}

impl From<LedgerError> for Problem {
    fn from(e: LedgerError) -> Self {
        tracing::error!(error = %e, "ledger");
        Problem::unavailable(e.to_string())
    }
}

impl From<ProveError> for Problem {
    fn from(e: ProveError) -> Self {
        match e {
            ProveError::Proof(p) => Problem::bad_request("bad-proof-request", p.to_string()),
            other => Problem::unavailable(other.to_string()),
        }
    }
}

/// Query parameters, refused as a problem that names the parameter and the reason.
struct Query<T>(T);

impl<T> std::ops::Deref for Query<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> Query<T> {
    fn into_inner(self) -> T {
        self.0
    }
}

impl<T: serde::de::DeserializeOwned> actix_web::FromRequest for Query<T> {
    type Error = Problem;
    type Future = std::future::Ready<Result<Self, Problem>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let pairs = form_urlencoded::parse(req.query_string().as_bytes());
        let parsed = serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|e| {
            let field = e.path().to_string();
            let detail = if field == "." { e.inner().to_string() } else { format!("`{field}`: {}", e.inner()) };
            Problem::bad_request("bad-query", detail)
        });
        std::future::ready(parsed.map(Query))
    }
}

/// The request body, refused past the configured limit.
///
/// A body over the limit is read on (and dropped) up to a bound, so the client that is still
/// sending it gets to read the 413 rather than a broken pipe; past the bound the connection closes.
async fn body(state: &Data, mut payload: web::Payload) -> Result<web::Bytes, Problem> {
    let limit = state.config.body_limit;
    let drain = limit.saturating_mul(8).max(8 << 20);
    let mut bytes = web::BytesMut::new();
    let mut seen = 0usize;
    while let Some(chunk) = std::future::poll_fn(|cx| Pin::new(&mut payload).poll_next(cx)).await {
        let chunk = chunk.map_err(|e| Problem::bad_request("bad-body", e.to_string()))?;
        seen = seen.saturating_add(chunk.len());
        if seen <= limit {
            bytes.extend_from_slice(&chunk);
        } else if seen > drain {
            break;
        }
    }
    if seen > limit {
        let detail = format!("the request body is larger than {limit} bytes");
        return Err(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large", detail));
    }
    Ok(bytes.freeze())
}

/// A seq, tree size or count in a query: an integer from 0 to `i64::MAX` (as the OpenAPI document
/// says, and more than any log will hold).
fn position<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = u64::deserialize(d)?;
    if n > i64::MAX as u64 {
        return Err(serde::de::Error::custom(format!("{n} is more than {}", i64::MAX)));
    }
    Ok(n)
}

fn optional_position<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    position(d).map(Some)
}

fn did_param(text: &str) -> Result<Did, Problem> {
    text.parse().map_err(|e: crate::id::IdError| Problem::bad_request("bad-did", e.to_string()))
}

fn id_param(text: &str) -> Result<EventId, Problem> {
    text.parse().map_err(|e: crate::id::IdError| Problem::bad_request("bad-id", e.to_string()))
}

/// Runs `read` on the blocking pool with the committed ledger: a read may wait on the disk or on
/// PostgreSQL, and an async worker that waited would hold up every other request it serves
/// (`/healthz` included).
async fn read<T: Send + 'static>(
    state: &Data,
    read: impl FnOnce(View<'_, dyn Store>) -> Result<T, Problem> + Send + 'static,
) -> Result<T, Problem> {
    let state = state.clone();
    web::block(move || read(state.view())).await.map_err(|_| Problem::unavailable("the read was cancelled"))?
}

/// What waiting for the writer came to: its answer, or the request timeout (the job may still
/// run: it was handed over).
enum Waited<T> {
    Answered(T),
    TimedOut,
}

/// Sends a job to the writer and waits (within the request timeout) for its answer.
async fn wait<T>(state: &Data, job: impl FnOnce(oneshot::Sender<T>) -> Job) -> Result<Waited<T>, Problem> {
    wait_on(&state.writer, state.config.request_timeout, job).await
}

/// Sends a job to `queue` and waits (within `timeout`) for its answer; on a timeout the answer's
/// receiver is dropped before this returns.
async fn wait_on<J, T>(
    queue: &mpsc::Sender<J>,
    timeout: Duration,
    job: impl FnOnce(oneshot::Sender<T>) -> J,
) -> Result<Waited<T>, Problem> {
    let (reply, answer) = oneshot::channel();
    queue.send(job(reply)).await.map_err(|_| Problem::unavailable("the ledger is shutting down"))?;
    match tokio::time::timeout(timeout, answer).await {
        Ok(Ok(value)) => Ok(Waited::Answered(value)),
        Ok(Err(_)) => Err(Problem::unavailable("the writer stopped before answering")),
        Err(_) => Ok(Waited::TimedOut),
    }
}

/// [`wait`], for a job that changes nothing the client must know about: a timeout is a `503`.
async fn ask<T>(state: &Data, job: impl FnOnce(oneshot::Sender<T>) -> Job) -> Result<T, Problem> {
    match wait(state, job).await? {
        Waited::Answered(value) => Ok(value),
        Waited::TimedOut => Err(Problem::unavailable("the writer did not answer within the request timeout")),
    }
}

/// `POST /v1/events`'s query.
#[derive(Deserialize)]
struct AppendQuery {
    /// All of the array's events or none.
    atomic: Option<bool>,
}

/// The answer to an append that did not commit within the request timeout: not a failure, since
/// it may still commit (`202`, naming the events by id so the client can look for them).
fn pending(ids: &[Option<EventId>], single: bool) -> HttpResponse {
    let body = match ids {
        [id] if single => json!({
            "id": id,
            "status": "pending",
            "detail": "not committed yet; it may still commit: resubmitting the same event is safe",
        }),
        ids => json!({
            "ids": ids,
            "status": "pending",
            "detail": "not committed yet; they may still commit: resubmitting the same events is safe",
        }),
    };
    HttpResponse::Accepted().json(body)
}

/// Append one signed event (201, or 200 if it was already on the log) or a JSON array of them
/// (200 with one result per event; each is judged on its own, or with `?atomic=true` all or none).
/// An append that does not commit within the request timeout is answered 202 `pending`: it may
/// still commit, and resubmitting the same events is safe (appends are idempotent).
#[utoipa::path(post, path = "/v1/events", request_body(content = openapi::Events, description = "A signed event, or an array of 1 to 1000 of them", content_type = "application/json"),
    params(("atomic" = Option<bool>, Query, description = "With an array: commit all of its events or none (one refused: the others answer {index, id, appended: false})")),
    responses((status = 201, description = "Appended: {seq, id}"), (status = 200, description = "Already on the log: {seq, id}; or the results of an array"),
        (status = 202, description = "Not committed within the request timeout, and not refused: {id, status: \"pending\", detail} ({ids} for an array); it may still commit, and resubmitting the same events is safe"),
        (status = 400, description = "Malformed JSON", content_type = "application/problem+json"),
        (status = 403, description = "Unauthorized issuer, revoked key, suspended issuer", content_type = "application/problem+json"),
        (status = 409, description = "Conflicts with the log (duplicate revocation, ...)", content_type = "application/problem+json"),
        (status = 413, description = "Body too large (`payload-too-large`), or more than 1000 events (`too-many-events`)", content_type = "application/problem+json"),
        (status = 422, description = "Schema or signature failure", content_type = "application/problem+json"),
        (status = 503, description = "unavailable: not appended (the store failed); outcome-unknown: the write may be on the log, resubmitting is safe", content_type = "application/problem+json")))]
#[post("/v1/events")]
async fn post_events(state: Data, q: Query<AppendQuery>, payload: web::Payload) -> Reply {
    let bytes = body(&state, payload).await?;
    let parsed = canonical::parse_strict(&bytes).map_err(|e| {
        state.metrics.rejected("malformed-json");
        Problem::bad_request("malformed-json", e.to_string())
    })?;
    let (events, single) = match parsed {
        Value::Array(events) => (events, false),
        event => (vec![event], true),
    };
    if events.is_empty() {
        return Err(Problem::bad_request("empty", "no events in the array"));
    }
    if events.len() > MAX_EVENTS {
        let detail = format!("{} events in one request: at most {MAX_EVENTS}; send the rest in another", events.len());
        return Err(Problem::new(StatusCode::PAYLOAD_TOO_LARGE, "too-many-events", detail));
    }
    let atomic = q.atomic.unwrap_or(false);
    // Another node leads: it sequences every append.
    if let Some(forwarding) = state.forwarding.as_ref().filter(|f| !f.leads()) {
        let request = forward::Request { body: bytes.clone(), single, atomic };
        if let forward::Outcome::Relayed { status, body } = forwarding.forward(request).await? {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            let kind = if status.is_client_error() || status.is_server_error() {
                "application/problem+json"
            } else {
                "application/json"
            };
            return Ok(HttpResponse::build(status).content_type(kind).json(body));
        }
        // This node has just won the lead: it appends.
    }
    // What does not depend on the log (schemas, signatures) is checked by the checker thread,
    // with other requests' events, while the sequencer commits the group before.
    let ids = Arc::new(OnceLock::new());
    let job = |reply| Unchecked { events, atomic, reply, ids: ids.clone() };
    let mut results = match wait_on(&state.checker, state.config.request_timeout, job).await? {
        Waited::Answered(results) => results,
        // The answer's receiver is gone: unchecked events will not commit.
        Waited::TimedOut => match ids.get() {
            Some(ids) => {
                state.metrics.pending(ids.len() as u64);
                return Ok(pending(ids, single));
            }
            None => {
                return Err(Problem::unavailable(
                    "the events were not checked within the request timeout: nothing was appended",
                ));
            }
        },
    };
    if single {
        let result = results.pop().ok_or_else(|| Problem::unavailable("no result"))?;
        return match result {
            Ok(a) => {
                let status = if a.new { StatusCode::CREATED } else { StatusCode::OK };
                Ok(HttpResponse::build(status).json(json!({"seq": a.seq, "id": a.id})))
            }
            Err(e) => Err(Problem::from(&e)),
        };
    }
    // An atomic array with a refusal committed none of its new events.
    let refused = atomic && results.iter().any(Result::is_err);
    let rendered: Vec<Value> = results
        .iter()
        .enumerate()
        .map(|(index, r)| match r {
            Ok(a) if a.new && refused => json!({"index": index, "id": a.id, "appended": false,
                "detail": "not appended: another event of the atomic array was refused"}),
            Ok(a) => json!({"index": index, "seq": a.seq, "id": a.id, "new": a.new}),
            Err(e) => {
                let mut problem = Problem::from(e);
                problem.index = Some(index);
                serde_json::to_value(problem).unwrap_or_default()
            }
        })
        .collect();
    let appended = results.iter().filter(|r| matches!(r, Ok(a) if a.new && !refused)).count();
    let rejected = results.iter().filter(|r| r.is_err()).count();
    Ok(HttpResponse::Ok().json(json!({"appended": appended, "rejected": rejected, "results": rendered})))
}

#[derive(Deserialize)]
struct Range {
    #[serde(default, deserialize_with = "optional_position")]
    from: Option<u64>,
    #[serde(default, deserialize_with = "optional_position")]
    limit: Option<u64>,
}

/// Records from `from` (default 0), at most `limit` (default 100, at most 1000).
#[utoipa::path(get, path = "/v1/events", params(("from" = Option<u64>, Query, maximum = 9223372036854775807_u64, description = "First seq"), ("limit" = Option<u64>, Query, maximum = 9223372036854775807_u64, description = "At most this many (no more than 1000 are returned)")),
    responses((status = 200, description = "An array of records {seq, recorded_at, event}", content_type = "application/json")))]
#[get("/v1/events")]
async fn get_events(state: Data, range: Query<Range>) -> Reply {
    let limit = range.limit.map_or(100, |limit| usize::try_from(limit).unwrap_or(MAX_PAGE).min(MAX_PAGE));
    let from = range.from.unwrap_or(0);
    let records = read(&state, move |view| Ok(view.records(from, limit)?)).await?;
    Ok(HttpResponse::Ok().json(records.iter().map(Record::to_value).collect::<Vec<_>>()))
}

/// The latest signed checkpoint (C2SP signed note).
#[utoipa::path(get, path = "/v1/checkpoint", responses((status = 200, description = "Checkpoint text", content_type = "text/plain"), (status = 404, description = "No checkpoint yet", content_type = "application/problem+json")))]
#[get("/v1/checkpoint")]
async fn checkpoint(state: Data) -> Reply {
    let latest = read(&state, |view| Ok(view.latest_checkpoint()?)).await?;
    let (_, text) = latest.ok_or_else(|| Problem::not_found("no checkpoint yet"))?;
    Ok(HttpResponse::Ok().content_type("text/plain; charset=utf-8").body(text))
}

#[derive(Deserialize)]
struct InclusionQuery {
    #[serde(deserialize_with = "position")]
    seq: u64,
    #[serde(default, deserialize_with = "optional_position")]
    size: Option<u64>,
}

/// RFC 9162 inclusion proof of record `seq` in the tree of `size` records (default: the log).
#[utoipa::path(get, path = "/v1/proofs/inclusion", params(("seq" = u64, Query, maximum = 9223372036854775807_u64, description = "The record"), ("size" = Option<u64>, Query, maximum = 9223372036854775807_u64, description = "Tree size (default: the log's)")),
    responses((status = 200, description = "{seq, size, leaf_hash, path}", content_type = "application/json"), (status = 400, description = "Out of range", content_type = "application/problem+json"),
        (status = 404, description = "No such record", content_type = "application/problem+json")))]
#[get("/v1/proofs/inclusion")]
async fn inclusion(state: Data, q: Query<InclusionQuery>) -> Reply {
    let (seq, size) = (q.seq, q.size);
    let (size, path, record) = read(&state, move |view| {
        let size = match size {
            Some(size) => size,
            None => view.len()?,
        };
        let path = view.inclusion_proof(seq, size)?;
        Ok((size, path, view.records(seq, 1)?.pop()))
    })
    .await?;
    let record = record.ok_or_else(|| Problem::not_found("no such record"))?;
    let leaf = merkle::leaf_hash(&record.canonical());
    Ok(HttpResponse::Ok().json(json!({"seq": seq, "size": size, "leaf_hash": leaf, "path": path})))
}

#[derive(Deserialize)]
struct ConsistencyQuery {
    #[serde(deserialize_with = "position")]
    from: u64,
    #[serde(deserialize_with = "position")]
    to: u64,
}

/// RFC 9162 consistency proof between the trees of `from` and `to` records.
#[utoipa::path(get, path = "/v1/proofs/consistency", params(("from" = u64, Query, maximum = 9223372036854775807_u64, description = "Older size"), ("to" = u64, Query, maximum = 9223372036854775807_u64, description = "Newer size")),
    responses((status = 200, description = "{from, to, path}"), (status = 400, description = "Out of range", content_type = "application/problem+json")))]
#[get("/v1/proofs/consistency")]
async fn consistency(state: Data, q: Query<ConsistencyQuery>) -> Reply {
    let (from, to) = (q.from, q.to);
    let path = read(&state, move |view| Ok(view.consistency_proof(from, to)?)).await?;
    Ok(HttpResponse::Ok().json(json!({"from": q.from, "to": q.to, "path": path})))
}

/// A learner's skill profile.
#[utoipa::path(get, path = "/v1/learners/{did}/profile", params(("did" = String, Path, description = "The learner's did:key")),
    responses((status = 200, description = "The profile"), (status = 400, description = "Not a did:key", content_type = "application/problem+json")))]
#[get("/v1/learners/{did}/profile")]
async fn learner_profile(state: Data, did: web::Path<String>) -> Reply {
    let did = did_param(&did)?;
    Ok(HttpResponse::Ok().json(read(&state, move |view| Ok(view.profile(&did)?)).await?))
}

/// A credential's status and its issuing record.
#[utoipa::path(get, path = "/v1/credentials/{id}", params(("id" = String, Path, description = "The credential id (64 hex)")),
    responses((status = 200, description = "{status, record}"), (status = 404, description = "Unknown", content_type = "application/problem+json")))]
#[get("/v1/credentials/{id}")]
async fn credential(state: Data, id: web::Path<String>) -> Reply {
    let id = id_param(&id)?;
    let found = read(&state, move |view| Ok(view.credential(&id)?)).await?;
    let found = found.ok_or_else(|| Problem::not_found(format!("no credential {id}")))?;
    Ok(HttpResponse::Ok().json(found))
}

/// The issuer registry: every issuer and its keys' validity windows.
#[utoipa::path(get, path = "/v1/issuers", responses((status = 200, description = "An array of issuers")))]
#[get("/v1/issuers")]
async fn issuers(state: Data) -> Reply {
    Ok(HttpResponse::Ok().json(read(&state, |view| Ok(view.issuers()?)).await?))
}

/// The ledger's front door: its origin, operator, public URL (under which status lists are served)
/// and size. Issuing commands read the public URL from here.
#[utoipa::path(get, path = "/v1/ledger", responses((status = 200, description = "{origin, operator, public_url, size}")))]
#[get("/v1/ledger")]
async fn ledger_info(state: Data) -> Reply {
    let size = read(&state, |view| Ok(view.len()?)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "origin": state.origin,
        "operator": state.operator,
        "public_url": state.public_url,
        "size": size,
    })))
}

#[derive(Deserialize)]
struct VerifyQuery {
    audience: Option<String>,
    nonce: Option<String>,
    max_age: Option<i64>,
}

/// Verify a profile bundle against this ledger's operator key: each check by name, and the
/// verdict. For a bundle of this ledger, also that each presented credential is still active now
/// (`credentials.current`). 200 whatever the verdict.
#[utoipa::path(post, path = "/v1/verify", request_body(content = openapi::Bundle, description = "A profile bundle; anything else is reported INVALID", content_type = "application/json"),
    params(("audience" = Option<String>, Query, min_length = 1, max_length = 200, description = "Required audience (1 to 200 characters)"), ("nonce" = Option<String>, Query, min_length = 1, max_length = 200, description = "Required nonce (1 to 200 characters)"), ("max_age" = Option<i64>, Query, description = "Oldest status statement accepted, seconds")),
    responses((status = 200, description = "{verdict, learner, holders (a bundle of several dids), origin, status_as_of, audience, nonce, checks, credentials, skills}"),
        (status = 400, description = "A malformed or out-of-limits query parameter", content_type = "application/problem+json")))]
#[post("/v1/verify")]
async fn verify(state: Data, q: Query<VerifyQuery>, payload: web::Payload) -> Reply {
    let bytes = body(&state, payload).await?;
    let options = q.into_inner().options()?;
    Ok(HttpResponse::Ok().json(verify_here(&state, &bytes, &options, OffsetDateTime::now_utc()).await?))
}

impl VerifyQuery {
    /// The verifier's requirements the query states.
    fn options(self) -> Result<VerifyOptions, Problem> {
        VerifyOptions::new(self.audience, self.nonce, self.max_age.map(time::Duration::seconds))
            .map_err(|e| Problem::bad_request("bad-query", format!("`{}`: {}", e.field, e.reason)))
    }
}

/// The verification page's verdict: [`verify`]'s report rendered in plain words, as an HTML
/// fragment the page inserts (one renderer for this page and share links). An empty body asks
/// for a file instead of judging it.
#[utoipa::path(post, path = "/verify/report", request_body(content = openapi::Bundle, description = "A profile bundle; anything else is reported INVALID", content_type = "application/json"),
    params(("audience" = Option<String>, Query, min_length = 1, max_length = 200, description = "Required audience (1 to 200 characters)"), ("nonce" = Option<String>, Query, min_length = 1, max_length = 200, description = "Required nonce (1 to 200 characters)"), ("max_age" = Option<i64>, Query, description = "Oldest status statement accepted, seconds")),
    responses((status = 200, description = "The verdict as an HTML fragment", content_type = "text/html"),
        (status = 400, description = "A malformed or out-of-limits query parameter", content_type = "application/problem+json")))]
#[post("/verify/report")]
async fn verify_report(state: Data, q: Query<VerifyQuery>, payload: web::Payload) -> Reply {
    let bytes = body(&state, payload).await?;
    let options = q.into_inner().options()?;
    let html = if bytes.iter().all(u8::is_ascii_whitespace) {
        pages::verdict::nothing_to_verify()
    } else {
        let now = OffsetDateTime::now_utc();
        pages::verdict::fragment(&verify_here(&state, &bytes, &options, now).await?, now.date())
    };
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

/// Verifies a bundle against this ledger's operator key and, for a bundle of this ledger, its
/// credentials' status now.
async fn verify_here(
    state: &Data,
    bytes: &[u8],
    options: &VerifyOptions,
    now: OffsetDateTime,
) -> Result<Report, Problem> {
    let report = bundle::verify(bytes, &Trust::operator(state.operator.clone()), options, now);
    let ids = report.credentials_of_log(&state.origin);
    let current = read(state, move |view| current_statuses(&view, &ids)).await?;
    Ok(report.with_current_status(&state.origin, &current))
}

/// The status now of each of these credentials that this ledger holds.
fn current_statuses(view: &View<'_, dyn Store>, ids: &[EventId]) -> Result<Vec<StatusLine>, Problem> {
    let mut lines = Vec::with_capacity(ids.len());
    for id in ids {
        lines.extend(view.credential(id)?.map(|found| StatusLine::of(&found.status)));
    }
    Ok(lines)
}

#[derive(Deserialize)]
struct BundleRequest {
    learner: String,
    #[serde(default)]
    holders: Vec<String>,
    only: Option<Vec<String>>,
    audience: Option<String>,
    nonce: Option<String>,
}

/// Build a learner's profile bundle, not yet signed by the learner: `credledger --server URL
/// share` signs it where the learner's key is. With `holders` (the learner's other dids), a
/// version 2 bundle of the credentials held under each, for every one of those keys to sign too.
#[utoipa::path(post, path = "/v1/bundles", request_body(content = openapi::BundleRequest, description = "{learner, holders?, only?, audience?, nonce?}; audience and nonce 1 to 200 characters; at most 16 dids in all", content_type = "application/json"),
    responses((status = 200, description = "The bundle, learner_sig empty"), (status = 400, description = "Not JSON, or a malformed did or id", content_type = "application/problem+json"),
        (status = 422, description = "Nothing to share, a holder that is not a did:key, named twice or holding none of the chosen credentials, or an audience or nonce out of limits", content_type = "application/problem+json")))]
#[post("/v1/bundles")]
async fn post_bundle(state: Data, payload: web::Payload) -> Reply {
    let bytes = body(&state, payload).await?;
    let req: BundleRequest =
        serde_json::from_slice(&bytes).map_err(|e| Problem::bad_request("malformed-json", e.to_string()))?;
    let learner = did_param(&req.learner)?;
    if req.holders.len() >= bundle::MAX_DIDS {
        let detail =
            format!("holders: {} dids; one bundle presents at most {} in all", req.holders.len() + 1, bundle::MAX_DIDS);
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "cannot-share", detail));
    }
    let holders = req
        .holders
        .iter()
        .enumerate()
        .map(|(i, did)| {
            // A body field, not a path: well-formed JSON whose did is not a key is 422, like an event's.
            did.parse().map_err(|e: crate::id::IdError| {
                Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "schema", format!("holders[{i}]: {e}"))
            })
        })
        .collect::<Result<Vec<Did>, _>>()?;
    let only = req.only.map(|ids| ids.iter().map(|id| id_param(id)).collect::<Result<Vec<_>, _>>()).transpose()?;
    let request = ShareRequest::new(only, req.audience, req.nonce)
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "schema", e.to_string()))?
        .with_holders(holders);
    let bundle = ask(&state, |reply| Job::Share { learner, request, reply })
        .await?
        .map_err(|e| Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "cannot-share", e.to_string()))?;
    Ok(HttpResponse::Ok().json(bundle))
}

/// The credential as an issuer-signed Open Badges 3.0 credential (eddsa-jcs-2022), rebuilt from
/// the log.
#[utoipa::path(get, path = "/v1/credentials/{id}/vc", params(("id" = String, Path, description = "The credential id (64 hex)")),
    responses((status = 200, description = "OpenBadgeCredential"), (status = 404, description = "Unknown, or issued without a standard proof", content_type = "application/problem+json")))]
#[get("/v1/credentials/{id}/vc")]
async fn credential_vc(state: Data, id: web::Path<String>) -> Reply {
    let id = id_param(&id)?;
    let vc = read(&state, move |view| Ok(view.standard_credential(&id)?)).await?;
    let vc = vc.ok_or_else(|| Problem::not_found(format!("no standard credential {id}")))?;
    Ok(HttpResponse::Ok().content_type("application/vc+json").json(vc))
}

/// The status a standard credential's `credentialStatus` points at, by the credential's UUID.
#[utoipa::path(get, path = "/v1/status/{uuid}", params(("uuid" = String, Path, description = "The UUID of the credential's urn:uuid id")),
    responses((status = 200, description = "{credential, status, decided_seq, reason}"), (status = 404, description = "Unknown", content_type = "application/problem+json")))]
#[get("/v1/status/{uuid}")]
async fn credential_status(state: Data, uuid: web::Path<String>) -> Reply {
    let uuid = uuid.into_inner();
    let shown = text::clip(&uuid, text::QUOTE);
    let found = read(&state, move |view| Ok(view.credential_by_uuid(&uuid)?)).await?;
    let found = found.ok_or_else(|| Problem::not_found(format!("no credential urn:uuid:{shown}")))?;
    let s = found.status;
    Ok(HttpResponse::Ok()
        .json(json!({"credential": s.id, "status": s.state, "decided_seq": s.decided_seq, "reason": s.reason})))
}

/// How long a client waits before it asks again for a stale list: its key signs it again with
/// the next status change or `credledger issuer sign-status-lists`.
const STALE_RETRY_SECONDS: &str = "30";

/// The key's list the path names (the key, the purpose, the list's number) and its state.
async fn read_list(
    state: &Data,
    path: (String, String, String),
) -> Result<(Did, Purpose, u32, StatusListState), Problem> {
    let (key, purpose, list) = list_params(path)?;
    let read_key = key.clone();
    let found = read(state, move |view| Ok(view.status_list(&read_key, purpose, list)?)).await?;
    Ok((key, purpose, list, found))
}

/// The path of a key's status list: the key, the purpose and the list's number.
pub(crate) fn list_params((key, purpose, list): (String, String, String)) -> Result<(Did, Purpose, u32), Problem> {
    let key = did_param(&key)?;
    let purpose = purpose.parse().map_err(|e: String| Problem::bad_request("bad-purpose", e))?;
    let list = list.parse().map_err(|_| {
        Problem::bad_request("bad-list", format!("`{}` is not a list number", text::clip(&list, text::QUOTE)))
    })?;
    Ok((key, purpose, list))
}

/// A W3C BitstringStatusListCredential signed by the key that issued the credentials in it
/// (eddsa-rdfc-2022), as its latest `status_list.signed` certified it: served only while it is
/// the log's bits now and was signed for this server's public URL.
#[utoipa::path(get, path = "/v1/status-lists/{key}/{purpose}/{list}",
    params(("key" = String, Path, description = "The signing key's did:key"), ("purpose" = Purpose, Path, description = "revocation or suspension"), ("list" = u32, Path, maximum = 65535, description = "The key's list number")),
    responses((status = 200, description = "BitstringStatusListCredential with its DataIntegrityProof", content_type = "application/ld+json"),
        (status = 404, description = "The key never signed this list (`not-found`)", content_type = "application/problem+json"),
        (status = 503, description = "The log moved past the latest signed list, or it was signed for another public URL (`status-list-stale`), until the key signs it again; or the store failed (`unavailable`)", content_type = "application/problem+json",
            headers(("Retry-After" = u32, description = "Seconds to wait before asking again")))))]
#[get("/v1/status-lists/{key}/{purpose}/{list}")]
async fn status_list(state: Data, path: web::Path<(String, String, String)>) -> Reply {
    let (key, purpose, list, found) = read_list(&state, path.into_inner()).await?;
    match served_list(&state.public_url, &key, purpose, list, &found) {
        Ok(list_credential) => Ok(HttpResponse::Ok().content_type("application/ld+json").json(list_credential)),
        Err(problem) if problem.status == StatusCode::SERVICE_UNAVAILABLE.as_u16() => {
            let mut response = problem.error_response();
            response.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static(STALE_RETRY_SECONDS));
            Ok(response)
        }
        Err(problem) => Err(problem),
    }
}

/// The list credential this server serves at `base` for the key's list, as `found` holds it
/// (also what its own verifications read, never over the network); or the problem it answers
/// instead: never signed (404), stale (503 `status-list-stale`).
pub(crate) fn served_list(
    base: &str,
    key: &Did,
    purpose: Purpose,
    list: u32,
    found: &StatusListState,
) -> Result<Value, Problem> {
    let Some(signed) = &found.signed else {
        return Err(Problem::not_found(format!("key {key} has not signed its {purpose} list {list}")));
    };
    if !found.is_current(base) {
        let why = if signed.status_base != base {
            format!(
                "it was signed for {}, and this server's public URL is {base}",
                text::clip(&signed.status_base, text::QUOTE)
            )
        } else {
            format!("the log changed its bits after key {key} signed it at seq {}", signed.seq)
        };
        let detail = format!(
            "the {purpose} list {list} of key {key} is stale: {why}; the key signs it again with its next status change or `credledger issuer sign-status-lists`"
        );
        return Err(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "status-list-stale", detail));
    }
    let place = KeyList { base, key, purpose, list };
    Ok(place.secured(&found.bits, &signed.created_at, &signed.proof_value))
}

/// The lists of a key that hold a credential (each has a revocation and a suspension list).
#[utoipa::path(get, path = "/v1/status-lists/{key}", params(("key" = String, Path, description = "The signing key's did:key")),
    responses((status = 200, description = "{key, lists}: the numbers of the key's lists that hold a credential")))]
#[get("/v1/status-lists/{key}")]
async fn key_status_lists(state: Data, key: web::Path<String>) -> Reply {
    let key = did_param(&key)?;
    let lists = {
        let key = key.clone();
        read(&state, move |view| Ok(view.lists_of(&key)?)).await?
    };
    Ok(HttpResponse::Ok().json(json!({"key": key, "lists": lists})))
}

/// What a key's status list is now, unsigned: what a signer outside the server signs (the list
/// credential of these bits at `url`, issued by the key, valid from its event's `created_at`).
#[utoipa::path(get, path = "/v1/status-lists/{key}/{purpose}/{list}/unsigned",
    params(("key" = String, Path, description = "The signing key's did:key"), ("purpose" = Purpose, Path, description = "revocation or suspension"), ("list" = u32, Path, maximum = 65535, description = "The key's list number")),
    responses((status = 200, description = "{url, status_base, key, purpose, list, encodedList, size, current, signed_at}: the bits as of a log of `size` records, whether the latest signed list is them at this server's public URL, and when that list was signed (null if never; sign the next one later)"),
        (status = 404, description = "The key holds no credential in this list (`not-found`)", content_type = "application/problem+json")))]
#[get("/v1/status-lists/{key}/{purpose}/{list}/unsigned")]
async fn unsigned_status_list(state: Data, path: web::Path<(String, String, String)>) -> Reply {
    let (key, purpose, list, found) = read_list(&state, path.into_inner()).await?;
    if !found.has_credentials {
        return Err(Problem::not_found(format!("key {key} holds no credential in its list {list}")));
    }
    let base = state.public_url.as_str();
    let place = KeyList { base, key: &key, purpose, list };
    Ok(HttpResponse::Ok().json(json!({
        "url": place.url(),
        "status_base": base,
        "key": key,
        "purpose": purpose,
        "list": list,
        "encodedList": found.bits.encode(),
        "size": found.applied,
        "current": found.is_current(base),
        "signed_at": found.signed.as_ref().map(|s| s.created_at),
    })))
}

/// A learner's active credentials as a CLR 2.0 credential, signed by the operator.
#[utoipa::path(get, path = "/v1/learners/{did}/clr", params(("did" = String, Path, description = "The learner's did:key")),
    responses((status = 200, description = "ClrCredential"), (status = 404, description = "No credentials", content_type = "application/problem+json")))]
#[get("/v1/learners/{did}/clr")]
async fn learner_clr(state: Data, did: web::Path<String>) -> Reply {
    let did = did_param(&did)?;
    let key = state
        .operator_key
        .clone()
        .ok_or_else(|| Problem::unavailable("this server holds no operator key to sign with"))?;
    let shared = state.clone();
    let clr = read(&state, move |view| {
        let position = view.len()?;
        shared.clr_cache.get_or_sign(&did, position, || {
            let credentials = view.standard_credentials(&did)?;
            if credentials.is_empty() {
                return Err(Problem::not_found(format!("{did} has no active standard credentials")));
            }
            let now = crate::event::Timestamp::whole_seconds(OffsetDateTime::now_utc());
            let clr = crate::vc::clr(&did, &shared.origin, credentials, &key, &now).map_err(Problem::unavailable)?;
            serde_json::to_vec(&clr).map(web::Bytes::from).map_err(|e| Problem::unavailable(e.to_string()))
        })
    })
    .await?;
    Ok(HttpResponse::Ok().content_type("application/vc+json").body(clr))
}

#[derive(Deserialize)]
struct VerifyVcQuery {
    key: Option<String>,
}

/// Verify a standard credential: its proofs (eddsa-rdfc-2022, eddsa-jcs-2022,
/// Ed25519Signature2020; did:key, did:web from an allowed host, or the key given as `?key=z6Mk…`)
/// by a key of the issuer it names (`proof.issuer`), then its status (this log's own, or a status
/// list on a host the operator allows with `--fetch-allow`; nothing else is fetched): each check
/// by name, the issuer (named from this ledger's registry when it registered the signing key),
/// and the verdict (VALID, INVALID, REVOKED, SUSPENDED or STATUS-UNKNOWN); 200 whatever the
/// verdict.
#[utoipa::path(post, path = "/v1/verify-vc", request_body(content = openapi::AnyJson, description = "A W3C VC 2.0 / Open Badges 3.0 credential; any other JSON is reported INVALID", content_type = "application/json"),
    params(("key" = Option<String>, Query, pattern = "^z6Mk[1-9A-HJ-NP-Za-km-z]{44}$", description = "The issuer's multibase Ed25519 key, for an issuer whose DID document cannot be had (the caller vouches that it is the issuer's; where the document can be had, it must list the key)")),
    responses((status = 200, description = "{verdict, signer, issuer: {id, name?, name_source?}, checks}"), (status = 400, description = "Not JSON", content_type = "application/problem+json")))]
#[post("/v1/verify-vc")]
async fn verify_vc(state: Data, q: Query<VerifyVcQuery>, payload: web::Payload) -> Reply {
    let bytes = body(&state, payload).await?;
    let document =
        canonical::parse_strict(&bytes).map_err(|e| Problem::bad_request("malformed-json", e.to_string()))?;
    let key = match &q.key {
        Some(k) => Some(Did::from_multibase(k).map_err(|e| Problem::bad_request("bad-key", e.to_string()))?),
        None => None,
    };
    Ok(HttpResponse::Ok().json(check_credential(&state, document, key).await?))
}

/// The W3C VC API's verify operation, which W3C's interop test suites call: the body is
/// `{verifiableCredential, options}` (`options.challenge` and `options.domain`, if given, must be
/// every proof's); the answer `{verified, checks, warnings, errors, verdict, report}` is 200 when
/// the credential verifies (proofs, validity and status, as `POST /v1/verify-vc` checks them) and
/// 400 when it does not.
#[utoipa::path(post, path = "/credentials/verify", request_body(content = openapi::VcApiVerify, description = "{verifiableCredential, options?}", content_type = "application/json"),
    responses((status = 200, description = "The credential verifies", body = vc_api::VerificationResult),
        (status = 400, description = "It does not (the result names each failed check), or the body is malformed (a problem naming the member)",
            content((vc_api::VerificationResult = "application/json"), (Problem = "application/problem+json")))))]
#[post("/credentials/verify")]
async fn vc_api_verify(state: Data, payload: web::Payload) -> Reply {
    let bytes = body(&state, payload).await?;
    let json = canonical::parse_strict(&bytes).map_err(|e| Problem::bad_request("malformed-json", e.to_string()))?;
    let request = vc_api::request(json)?;
    let expected = vc_api::expectations(&request);
    let mut report = check_credential(&state, request.credential, None).await?;
    for check in expected {
        report = report.with_check(check);
    }
    let (verified, result) = vc_api::result(&report);
    let status = if verified { StatusCode::OK } else { StatusCode::BAD_REQUEST };
    Ok(HttpResponse::build(status).json(result))
}

/// A standard credential checked whole, on the blocking pool (its status may be read from the
/// store or fetched from an allowed host); its issuer named from this ledger's registry when it
/// registered the key that signed it.
async fn check_credential(state: &Data, document: Value, key: Option<Did>) -> Result<crate::vc::VcReport, Problem> {
    let (origin, public_url, fetcher) = (state.origin.clone(), state.public_url.clone(), state.fetcher.clone());
    read(state, move |view| {
        let now = crate::event::Timestamp::whole_seconds(OffsetDateTime::now_utc());
        let registered = view.issuers()?;
        let mut sources = Sources { view, origin: origin.clone(), public_url, fetcher };
        let report = crate::vc::check(&document, key.as_ref(), &now, Some(&mut sources));
        let institution = report.signer.as_ref().and_then(|signer| registered.iter().find(|i| i.key(signer).is_some()));
        Ok(match institution {
            Some(institution) => report.with_registry_name(&institution.name, &origin),
            None => report,
        })
    })
    .await
}

/// Liveness: 200 once the server answers.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "ok")))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok\n")
}

/// Prometheus metrics.
#[utoipa::path(get, path = "/metrics", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
#[get("/metrics")]
async fn metrics(state: Data) -> Reply {
    let size = read(&state, |view| Ok(view.len()?)).await?;
    let mut text = state.metrics.render(size);
    if let Some(forwarding) = &state.forwarding {
        text.push_str(&crate::http::metrics::render_lead(forwarding.term()));
    }
    Ok(HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(text))
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI 3.1")))]
#[get("/openapi.json")]
async fn openapi_doc() -> HttpResponse {
    HttpResponse::Ok().json(document())
}

/// The employer's verification page.
#[utoipa::path(get, path = "/verify", responses((status = 200, description = "HTML", content_type = "text/html")))]
#[get("/verify")]
async fn verify_page() -> HttpResponse {
    HttpResponse::Ok().content_type("text/html; charset=utf-8").body(pages::VERIFY_HTML)
}

#[get("/assets/verify.js")]
async fn verify_script() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(pages::VERIFY_JS)
}

#[get("/assets/style.css")]
async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok().content_type("text/css; charset=utf-8").body(pages::STYLE_CSS)
}

/// A learner's profile as a page: skills grouped with the credentials that evidence them.
#[utoipa::path(get, path = "/learners/{did}", params(("did" = String, Path, description = "The learner's did:key")),
    responses((status = 200, description = "HTML", content_type = "text/html")))]
#[get("/learners/{did}")]
async fn learner_page(state: Data, did: web::Path<String>) -> Reply {
    let did = did_param(&did)?;
    let profile = read(&state, move |view| Ok(view.profile(&did)?)).await?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(pages::learner::page_of(&profile)))
}

#[get("/assets/publish.js")]
async fn publish_script() -> HttpResponse {
    HttpResponse::Ok().content_type("text/javascript; charset=utf-8").body(pages::PUBLISH_JS)
}

impl From<ShareError> for Problem {
    fn from(e: ShareError) -> Self {
        let (status, code) = match &e {
            ShareError::BadSignature(_) => (StatusCode::FORBIDDEN, "bad-signature"),
            ShareError::Stale { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "stale-request"),
            ShareError::Days(_) => (StatusCode::UNPROCESSABLE_ENTITY, "bad-days"),
            ShareError::BadToken(_) => (StatusCode::BAD_REQUEST, "bad-token"),
            ShareError::Qr(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            _ => (StatusCode::UNPROCESSABLE_ENTITY, "schema"),
        };
        Problem::new(status, code, e.to_string())
    }
}

/// Keeps a published bundle's stored form under its token's hash (on the blocking pool).
async fn keep_share(state: &Data, key: Hash32, kept: &Published) -> Result<(), Problem> {
    let (store, bytes) = (state.store.clone(), kept.to_bytes());
    web::block(move || store.put_share(&key, &bytes))
        .await
        .map_err(|_| Problem::unavailable("the write was cancelled"))??;
    Ok(())
}

/// The published bundle kept under `key`, if any.
async fn kept_share(state: &Data, key: Hash32) -> Result<Option<Published>, Problem> {
    let bytes = read(state, move |view| Ok(view.0.share(&key)?)).await?;
    bytes.map(|b| Published::from_bytes(&b).map_err(|e| Problem::unavailable(e.to_string()))).transpose()
}

/// Publish a learner-signed bundle as a share link: the request `{v: 1, action: "publish",
/// bundle, days, at, sig}` is signed by the bundle's learner (Ed25519 over the JCS of the request
/// without `sig`) within minutes of the ledger's clock; only a bundle of this ledger that verifies
/// VALID now is kept, for `days` (1 to 365), outside the log. Answers the link `/s/{token}` (the
/// token is not kept: only its hash) and its QR code as SVG.
#[utoipa::path(post, path = "/v1/shares", request_body(content = openapi::PublishRequest, description = "A publish request signed by the bundle's learner", content_type = "application/json"),
    responses((status = 201, description = "{link, expires_at, qr_svg}"),
        (status = 400, description = "Malformed JSON", content_type = "application/problem+json"),
        (status = 403, description = "Not signed by the bundle's learner (`bad-signature`)", content_type = "application/problem+json"),
        (status = 422, description = "A field out of bounds (`schema`, `bad-days`), a request signed too far from the ledger's time (`stale-request`), or a bundle that does not verify VALID on this ledger now (`bundle-invalid`)", content_type = "application/problem+json")))]
#[post("/v1/shares")]
async fn post_share(state: Data, payload: web::Payload) -> Reply {
    let bytes = body(&state, payload).await?;
    let value = canonical::parse_strict(&bytes).map_err(|e| Problem::bad_request("malformed-json", e.to_string()))?;
    let now = OffsetDateTime::now_utc();
    let at = Timestamp::whole_seconds(now);
    let (request, learner) = PublishRequest::check(&value, at)?;
    let bundle_bytes = serde_json::to_vec(&request.bundle).map_err(|e| Problem::unavailable(e.to_string()))?;
    let report = verify_here(&state, &bundle_bytes, &VerifyOptions::default(), now).await?;
    if let Some(failed) = report.checks.iter().find(|c| !c.ok) {
        let detail = format!("the bundle is not VALID on this ledger now: {}: {}", failed.name, failed.detail);
        return Err(Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "bundle-invalid", detail));
    }
    let mut random = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut random).map_err(|e| Problem::unavailable(format!("no randomness: {e}")))?;
    let token = Token::from_random(random);
    let kept = Published::new(learner, request.bundle, request.days, at);
    keep_share(&state, token.hash(), &kept).await?;
    let link = token.link(&state.public_url);
    let qr_svg = share::qr_svg(&link)?;
    Ok(HttpResponse::Created().json(json!({"link": link, "expires_at": kept.expires_at, "qr_svg": qr_svg})))
}

/// Withdraw a share link: the request `{v: 1, action: "revoke", token_hash, at, sig}` is signed by
/// the learner who published it. The kept bundle is dropped; the link answers 410 from then on.
/// Revoking a revoked link again answers the first revocation.
#[utoipa::path(post, path = "/v1/shares/revoke", request_body(content = openapi::RevokeRequest, description = "A revoke request signed by the link's learner", content_type = "application/json"),
    responses((status = 200, description = "{revoked_at}"),
        (status = 400, description = "Malformed JSON", content_type = "application/problem+json"),
        (status = 403, description = "Not signed by the learner who published the link (`bad-signature`)", content_type = "application/problem+json"),
        (status = 404, description = "No link with this token hash", content_type = "application/problem+json"),
        (status = 422, description = "A field out of bounds (`schema`), or a request signed too far from the ledger's time (`stale-request`)", content_type = "application/problem+json")))]
#[post("/v1/shares/revoke")]
async fn revoke_share(state: Data, payload: web::Payload) -> Reply {
    let bytes = body(&state, payload).await?;
    let value = canonical::parse_strict(&bytes).map_err(|e| Problem::bad_request("malformed-json", e.to_string()))?;
    let at = Timestamp::whole_seconds(OffsetDateTime::now_utc());
    let request = RevokeRequest::check(&value, at)?;
    let key = request.token_hash;
    let kept =
        kept_share(&state, key).await?.ok_or_else(|| Problem::not_found("no share link with this token hash"))?;
    RevokeRequest::check_signer(&value, &kept.learner)?;
    let revoked = kept.revoked(at);
    keep_share(&state, key, &revoked).await?;
    Ok(HttpResponse::Ok().json(json!({"revoked_at": revoked.revoked_at})))
}

/// A share link: the learner's bundle verified now, against this ledger's current status, as a
/// page (no script needed); 410 once it expired or was withdrawn, 404 for a link this ledger never
/// made. Never indexed.
#[utoipa::path(get, path = "/s/{token}", params(("token" = String, Path, pattern = "^[A-Za-z0-9_-]{43}$", description = "The link's token")),
    responses((status = 200, description = "The verdict, as HTML", content_type = "text/html"),
        (status = 404, description = "No such link", content_type = "text/html"),
        (status = 410, description = "Expired or withdrawn", content_type = "text/html")))]
#[get("/s/{token}")]
async fn share_page(state: Data, token: web::Path<String>) -> Reply {
    let now = OffsetDateTime::now_utc();
    let at = Timestamp::whole_seconds(now);
    let kept = match Token::parse(&token) {
        Ok(token) => kept_share(&state, token.hash()).await?,
        Err(_) => None,
    };
    let (status, html) = match kept {
        None => (StatusCode::NOT_FOUND, pages::share::unknown()),
        Some(kept) => match (kept.state(at), &kept.bundle) {
            (LinkState::Live, Some(bundle)) => {
                let bytes = serde_json::to_vec(bundle).map_err(|e| Problem::unavailable(e.to_string()))?;
                let report = verify_here(&state, &bytes, &VerifyOptions::default(), now).await?;
                (StatusCode::OK, pages::share::live(&report, &state.origin, &kept.expires_at, &at, now.date()))
            }
            (link, _) => (StatusCode::GONE, pages::share::gone(link)),
        },
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("x-robots-tag", "noindex, nofollow"))
        .insert_header(("cache-control", "no-store"))
        .body(html))
}

/// The front door: what this ledger is, who runs it (origin, operator, latest checkpoint), links to
/// the verification page and the API.
#[utoipa::path(get, path = "/", responses((status = 200, description = "HTML", content_type = "text/html")))]
#[get("/")]
async fn front_door(state: Data) -> Reply {
    let latest = read(&state, |view| Ok(view.latest_checkpoint()?)).await?;
    let latest = latest.as_ref().map(|(size, note)| (*size, note.as_str()));
    let html = pages::front::front(&state.origin, state.operator.as_str(), latest);
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(html))
}

/// Does the client want a page (a browser), rather than an API answer?
fn wants_html(req: &HttpRequest) -> bool {
    let accept = req.headers().get(actix_web::http::header::ACCEPT).and_then(|v| v.to_str().ok());
    accept.is_some_and(|a| a.split(',').any(|m| m.split(';').next().is_some_and(|t| t.trim() == "text/html")))
}

/// A path this ledger does not serve: a page for a browser, problem+json for anything else.
async fn not_found(req: HttpRequest) -> Reply {
    if wants_html(&req) {
        return Ok(HttpResponse::NotFound().content_type("text/html; charset=utf-8").body(pages::front::not_found()));
    }
    Err(Problem::not_found("no such resource"))
}
