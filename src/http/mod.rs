//! The ledger as an HTTP service (actix-web): the routes of DESIGN.md's HTTP contract, errors as
//! `application/problem+json`, the `/verify` and `/learners/{did}` pages, metrics and the
//! OpenAPI document generated from the handlers.
//!
//! One writer: every append goes through the [`sequencer`] thread, which owns the [`Ledger`] and
//! commits waiting requests in groups. Readers never wait for it: they read the committed state
//! straight from the shared store through a [`View`].

mod checker;
pub mod client;
mod clr_cache;
pub mod fetch;
pub mod forward;
mod gate;
pub mod limits;
pub mod metrics;
mod openapi;
pub(crate) mod pages;
pub mod problem;
pub mod resolve;
mod routes;
pub(crate) mod security;
pub mod sequencer;
mod sources;
pub mod tls;
mod vc_api;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpServer, web};
use tokio::sync::mpsc;

use crate::id::Did;
use crate::keys::SecretKey;
use crate::ledger::Ledger;
use crate::store::Store;
use crate::view::View;
use metrics::Metrics;
use sequencer::Job;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// How long a request may wait for its append to commit.
    pub request_timeout: Duration,
    /// How long shutdown waits for requests in flight.
    pub shutdown_timeout: Duration,
    /// Worker threads (0: one per core).
    pub workers: usize,
    /// Write requests per second each client (peer address) may make, bursts of twice that;
    /// 0: no limit.
    pub write_rate: u32,
    /// Verification requests (`POST /v1/verify`, `/v1/verify-vc`, `/credentials/verify`, `/v1/bundles`) per second each
    /// client may make, bursts of twice that; 0: no limit.
    pub verify_rate: u32,
    /// Read requests per second each client may make, bursts of twice that; 0: no limit.
    pub read_rate: u32,
    /// Why writes are refused (`503`), if they are: a server started on a log that failed its
    /// start check serves reads only.
    pub read_only: Option<String>,
    /// Serve HTTPS with this configuration instead of plain HTTP.
    pub tls: Option<rustls::ServerConfig>,
    /// The hosts verifications may fetch did:web documents and status lists from
    /// (`--fetch-allow`); nothing else is fetched.
    pub fetch_allow: Vec<fetch::Allowed>,
    /// Trust only the certificate authorities in this PEM file for those fetches.
    pub fetch_ca: Option<std::path::PathBuf>,
    /// The base URL the world reaches this ledger at (status lists, links); `None`: the bound
    /// address, `http://ADDR` (or `https://` with TLS).
    pub public_url: Option<String>,
    /// The base URL the other nodes sharing the store reach this one at, to forward appends to
    /// it while it leads; `None`: the bound address.
    pub advertise_url: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            body_limit: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(30),
            workers: 0,
            write_rate: 200,
            verify_rate: 100,
            read_rate: 1000,
            read_only: None,
            tls: None,
            fetch_allow: Vec::new(),
            fetch_ca: None,
            public_url: None,
            advertise_url: None,
        }
    }
}

pub use crate::store::SharedStore;

/// What every handler shares.
pub(crate) struct AppState {
    pub store: SharedStore,
    pub writer: mpsc::Sender<Job>,
    /// Where `POST /v1/events` sends its events to be checked, then sequenced.
    pub checker: mpsc::Sender<checker::Unchecked>,
    pub metrics: Arc<Metrics>,
    pub operator: Did,
    /// Signs what the operator vouches for on request (CLR exports).
    pub operator_key: Option<Arc<SecretKey>>,
    pub origin: String,
    /// The base URL of status lists and links (`ServerConfig::public_url` or the bound address).
    pub public_url: String,
    pub config: ServerConfig,
    pub limiters: limits::Limiters,
    /// The CLRs signed so far, per learner and log position.
    pub clr_cache: clr_cache::ClrCache,
    /// What verifications fetch from other hosts through (the allowlist's guard).
    pub fetcher: Arc<fetch::Fetcher>,
    /// Where appends go while another node sharing the store leads; `None`: this node is the
    /// store's one writer.
    pub forwarding: Option<forward::Forwarding>,
}

impl AppState {
    pub fn view(&self) -> View<'_, dyn Store> {
        View(&*self.store)
    }
}

/// Serves the ledger on `listener` until SIGINT or SIGTERM, then finishes the requests in flight
/// (appends included) and returns. `operator_key` (the operator's key, as the ledger signs
/// checkpoints with) lets it sign CLR exports.
pub fn serve(
    listener: TcpListener,
    ledger: Ledger<SharedStore>,
    operator_key: Option<SecretKey>,
    config: ServerConfig,
) -> std::io::Result<()> {
    let store = ledger.store().clone();
    let genesis =
        ledger.state().registry.genesis().ok_or_else(|| std::io::Error::other("the ledger has no genesis event"))?;
    let (operator, origin) = (genesis.operator.clone(), genesis.origin.clone());
    let scheme = if config.tls.is_some() { "https" } else { "http" };
    // A base URL as given, else the bound address.
    let bound = format!("{scheme}://{}", listener.local_addr()?);
    let base_url = |given: &Option<String>| {
        given.as_deref().map_or_else(|| bound.clone(), |url| url.trim_end_matches('/').to_owned())
    };
    let public_url = base_url(&config.public_url);
    let operator_key = operator_key.filter(|k| k.did() == &operator).map(Arc::new);
    // Several nodes sharing the store: this one stands for the lead (a node serving reads only
    // does not), and forwards its appends while another leads.
    let advertised = base_url(&config.advertise_url);
    let leadership = match config.read_only {
        Some(_) => None,
        None => store.stand(&advertised).map_err(std::io::Error::other)?,
    };
    let forwarding = leadership
        .map(|leadership| {
            let timeout = config.request_timeout + Duration::from_secs(5);
            let token = operator_key.as_deref().map(forward::node_token);
            forward::Forwarding::start(store.clone(), leadership, advertised, token, config.body_limit, timeout)
        })
        .transpose()?;
    let reach = fetch::Reach::Allowlist(config.fetch_allow.clone());
    let fetcher = fetch::Fetcher::new(reach, config.fetch_ca.as_deref(), fetch::SERVER_TIMEOUT, fetch::MAX_ANSWER)
        .map_err(|e| std::io::Error::other(format!("--fetch-ca-cert: {e}")))?;
    let metrics = Arc::new(Metrics::default());
    let (writer, sequencer) = sequencer::start(ledger, metrics.clone(), 1024);
    let stopper = writer.clone();
    let checker = checker::start(writer.clone(), metrics.clone(), 1024);
    let limiters = limits::Limiters {
        read: limits::RateLimiter::new(config.read_rate),
        write: limits::RateLimiter::new(config.write_rate),
        verification: limits::RateLimiter::new(config.verify_rate),
    };
    let state = web::Data::new(AppState {
        store,
        writer,
        checker,
        metrics,
        operator,
        operator_key,
        origin,
        public_url,
        config: config.clone(),
        limiters,
        clr_cache: Default::default(),
        fetcher: Arc::new(fetcher),
        forwarding,
    });
    let system = actix_web::rt::System::new();
    let result = system.block_on(async move {
        let stop = stop_signal()?;
        let data = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(data.config.body_limit))
                .app_data(
                    web::PathConfig::default()
                        .error_handler(|e, _| problem::Problem::bad_request("bad-path", format!("path: {e}")).into()),
                )
                .wrap(from_fn(limits::limit))
                .wrap(from_fn(gate::gate))
                .wrap(from_fn(security::harden))
                .wrap(from_fn(log_request))
                .configure(routes::configure)
        })
        .shutdown_signal(stop)
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .client_request_timeout(Duration::from_secs(10));
        server = match config.tls.clone() {
            Some(tls) => server.listen_rustls_0_23(listener, tls)?,
            None => server.listen(listener)?,
        };
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        let result = server.run().await;
        // Every handler is done: the writer commits its last group and stops. (Workers may
        // still hold clones of the state, and so of the sender, for a moment: don't wait on them.)
        drop(state);
        let _ = stopper.send(Job::Stop).await;
        result
    });
    let _ = sequencer.join();
    result
}

/// Resolves on the first SIGINT or SIGTERM: either stops the server gracefully (actix's own
/// handling forces a stop on SIGINT, dropping the requests in flight). The handlers are installed
/// here, before the server starts, so no signal is missed in between.
pub(crate) fn stop_signal() -> std::io::Result<impl Future<Output = ()> + Send + 'static> {
    use tokio::signal::unix::{SignalKind, signal};
    let (mut interrupt, mut terminate) = (signal(SignalKind::interrupt())?, signal(SignalKind::terminate())?);
    Ok(async move {
        let name = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        tracing::info!("{name} received: finishing the requests in flight, then stopping");
    })
}

/// One log line per request (method, path, status, time), and the latency histogram. Never the
/// body: no event, key or bundle content reaches the log.
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let metrics = req.app_data::<web::Data<AppState>>().map(|s| s.metrics.clone());
    let response = next.call(req).await?;
    let elapsed = started.elapsed();
    if let Some(m) = metrics {
        m.observe(elapsed);
    }
    tracing::info!(%method, %path, status = response.status().as_u16(), micros = elapsed.as_micros() as u64, "request");
    Ok(response)
}
