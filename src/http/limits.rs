//! Limits that keep one client from taking the service from the others: per-client token buckets
//! (answered `429` with `Retry-After`), one per class of request: writes (appends), verifications
//! (`POST /v1/verify`, `/v1/verify-vc`, `/credentials/verify`, `/v1/bundles`, `/verify/report`,
//! and the share links `/s/{token}`, verified at every view: CPU work that appends nothing) and reads
//! (every `GET` but the liveness probe); and a deadline on every request, slow senders included
//! (answered `408`). Body size is limited where bodies are read (`PayloadConfig`). A server
//! started read-only answers every write and verification `503`.
//!
//! An append another node of the cluster forwarded (showing the nodes' token,
//! [`super::forward::node_token`]) is not limited again: its node limited its clients.
//!
//! The buckets are kept per peer IP address: behind a reverse proxy every client shares the
//! proxy's address, so there the proxy should limit instead (a rate of `0` turns a class's off).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{ResponseError, web};

use super::AppState;
use super::problem::Problem;

/// How much longer than the request timeout (which bounds the wait for a commit) a request may
/// take in all before it is answered 408.
const DEADLINE_GRACE: Duration = Duration::from_secs(2);

/// How many clients' buckets are kept before idle (full) ones are dropped.
const MAX_TRACKED_CLIENTS: usize = 10_000;

/// The POSTs that append nothing: they verify, or build a bundle for a learner to sign.
const VERIFICATIONS: [&str; 5] =
    ["/v1/verify", "/v1/verify-vc", "/credentials/verify", "/v1/bundles", "/verify/report"];

/// The pages that verify a bundle at every view (share links), limited as verifications.
const VERIFYING_PAGES: &str = "/s/";

/// The liveness probe, never limited: an orchestrator must always get its answer.
const LIVENESS: &str = "/healthz";

/// What a request is, for its rate limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    Read,
    Write,
    Verification,
}

impl Class {
    /// The class of `method path`; `None` for the liveness probe.
    pub fn of(method: &Method, path: &str) -> Option<Class> {
        match *method {
            Method::POST | Method::PUT | Method::DELETE | Method::PATCH if VERIFICATIONS.contains(&path) => {
                Some(Class::Verification)
            }
            Method::POST | Method::PUT | Method::DELETE | Method::PATCH => Some(Class::Write),
            _ if path == LIVENESS => None,
            _ if path.starts_with(VERIFYING_PAGES) => Some(Class::Verification),
            _ => Some(Class::Read),
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Class::Read => "reads",
            Class::Write => "writes",
            Class::Verification => "verifications",
        }
    }
}

/// One rate limiter per class of request.
#[derive(Debug)]
pub struct Limiters {
    pub read: RateLimiter,
    pub write: RateLimiter,
    pub verification: RateLimiter,
}

impl Limiters {
    fn of(&self, class: Class) -> &RateLimiter {
        match class {
            Class::Read => &self.read,
            Class::Write => &self.write,
            Class::Verification => &self.verification,
        }
    }
}

/// Requests per second allowed to each client, with bursts of twice that.
#[derive(Debug)]
pub struct RateLimiter {
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    /// A limiter allowing `per_second` requests per client (bursts of twice that); `0` allows all.
    pub fn new(per_second: u32) -> Self {
        RateLimiter { per_second: f64::from(per_second), buckets: Mutex::default() }
    }

    fn burst(&self) -> f64 {
        self.per_second * 2.0
    }

    /// Takes one token from `client`'s bucket at `now`; on refusal, how long until one is there.
    pub fn take(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.per_second <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() >= MAX_TRACKED_CLIENTS && !buckets.contains_key(&client) {
            let (burst, per_second) = (self.burst(), self.per_second);
            buckets.retain(|_, b| b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < burst);
        }
        let burst = self.burst();
        let bucket = buckets.entry(client).or_insert(Bucket { tokens: burst, at: now });
        let refilled = bucket.tokens + now.saturating_duration_since(bucket.at).as_secs_f64() * self.per_second;
        bucket.tokens = refilled.min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.per_second))
        }
    }
}

/// Refuses a client's write beyond its rate, and answers any request still unanswered after the
/// deadline (the request timeout and [`DEADLINE_GRACE`] more) with `408`.
pub(crate) async fn limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await.map(ServiceResponse::map_into_boxed_body);
    };
    let class = Class::of(req.method(), req.path());
    let writes = matches!(class, Some(Class::Write | Class::Verification));
    if let (true, Some(why)) = (writes, &state.config.read_only) {
        let response = Problem::unavailable(format!("this server is read-only: {why}")).error_response();
        return Ok(req.into_response(response));
    }
    // An append a follower forwarded: the follower limited its own clients.
    let shown = req.headers().get(super::forward::FROM_A_NODE).and_then(|v| v.to_str().ok());
    let forwarded = class == Some(Class::Write) && state.forwarding.as_ref().is_some_and(|f| f.from_a_node(shown));
    if let (Some(class), Some(peer), false) = (class, req.peer_addr(), forwarded) {
        let limiter = state.limiters.of(class);
        if let Err(wait) = limiter.take(peer.ip(), Instant::now()) {
            let seconds = wait.as_secs().max(1);
            let problem = Problem::new(
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                format!(
                    "more than {} {} per second from this client: retry in {seconds} s",
                    limiter.per_second,
                    class.noun()
                ),
            );
            let mut response = problem.error_response();
            if let Ok(value) = seconds.to_string().parse() {
                response.headers_mut().insert(actix_web::http::header::RETRY_AFTER, value);
            }
            return Ok(req.into_response(response));
        }
    }
    let deadline = state.config.request_timeout + DEADLINE_GRACE;
    match tokio::time::timeout(deadline, next.call(req)).await {
        Ok(response) => response.map(ServiceResponse::map_into_boxed_body),
        Err(_) => Err(Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            format!("the request was not complete and answered within {} s", deadline.as_secs()),
        )
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_gets_its_burst_then_waits_while_others_go_on() {
        let limiter = RateLimiter::new(5);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let start = Instant::now();
        for _ in 0..10 {
            assert_eq!(limiter.take(a, start), Ok(()));
        }
        let wait = limiter.take(a, start).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_millis(200), "{wait:?}");
        assert_eq!(limiter.take(b, start), Ok(()), "another client is not limited by the first");
        assert_eq!(limiter.take(a, start + Duration::from_millis(200)), Ok(()), "a token came back");
    }

    #[test]
    fn zero_allows_every_write() {
        let limiter = RateLimiter::new(0);
        let client: IpAddr = "10.0.0.1".parse().unwrap();
        assert!((0..10_000).all(|_| limiter.take(client, Instant::now()).is_ok()));
    }

    #[test]
    fn requests_are_classed_and_the_liveness_probe_is_not_limited() {
        assert_eq!(Class::of(&Method::POST, "/v1/events"), Some(Class::Write));
        for path in VERIFICATIONS {
            assert_eq!(Class::of(&Method::POST, path), Some(Class::Verification), "{path}");
        }
        assert_eq!(Class::of(&Method::GET, "/v1/verify"), Some(Class::Read));
        assert_eq!(Class::of(&Method::GET, "/v1/events"), Some(Class::Read));
        assert_eq!(Class::of(&Method::GET, LIVENESS), None);
    }
}
