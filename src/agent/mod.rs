//! The issuer agent (`credledger agent`): the institution's second service, next to its key and
//! its student system. It imports completions ([`import`]), makes offers ([`offers`]) kept in its
//! own store ([`store`]), shows each offer's claim page ([`claim`]), speaks OID4VCI 1.0 to wallets
//! ([`issuer`]), and issues each award exactly once onto the ledger ([`issue`]) through a
//! [`issue::LedgerLink`]. The registrar's endpoints ([`admin`]) need the admin bearer token.
//! Names, emails and student ids stay here: the ledger only ever sees dids.

pub mod admin;
pub mod claim;
pub mod import;
pub mod issue;
pub mod issuer;
pub mod offers;
pub mod store;

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpResponse, HttpServer, web};
use time::OffsetDateTime;

use crate::event::Timestamp;
use issue::LedgerLink;
use store::AgentStore;

/// How the agent runs.
#[derive(Clone)]
pub struct AgentConfig {
    /// The URL wallets reach the agent at (its credential issuer identifier); default
    /// `http://ADDR`.
    pub public_url: Option<String>,
    /// The registrar's bearer token (only its hash is kept once running).
    pub admin_token: String,
    /// How long a new offer lives.
    pub offer_lifetime: time::Duration,
    /// How often kept credentials the ledger does not have yet are posted again.
    pub resubmit_every: Duration,
}

impl std::fmt::Debug for AgentConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("public_url", &self.public_url)
            .field("admin_token", &"(redacted)")
            .field("offer_lifetime", &self.offer_lifetime)
            .finish()
    }
}

/// The largest CSV an import takes, in bytes.
pub const MAX_IMPORT: usize = 64 << 20;
/// The largest other request body, in bytes.
const MAX_BODY: usize = 64 << 10;

pub(crate) struct AgentState {
    pub store: AgentStore,
    pub link: Arc<dyn LedgerLink>,
    pub public_url: String,
    pub admin_hash: blake3::Hash,
    pub offer_lifetime: time::Duration,
}

impl AgentState {
    pub fn now(&self) -> Timestamp {
        Timestamp::whole_seconds(OffsetDateTime::now_utc())
    }
}

/// 32 random bytes from the operating system.
pub(crate) fn random32() -> std::io::Result<[u8; 32]> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(format!("no randomness: {e}")))?;
    Ok(bytes)
}

/// Serves the agent on `listener` until SIGINT or SIGTERM: its store is `store`, the ledger is
/// reached through `link`.
pub fn run(
    listener: TcpListener,
    store: AgentStore,
    link: Arc<dyn LedgerLink>,
    config: AgentConfig,
) -> std::io::Result<()> {
    let public_url = match &config.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let state = web::Data::new(AgentState {
        store,
        link,
        public_url,
        admin_hash: blake3::hash(config.admin_token.as_bytes()),
        offer_lifetime: config.offer_lifetime,
    });
    let system = actix_web::rt::System::new();
    system.block_on(async move {
        let stop = crate::http::stop_signal()?;
        let resubmitter = state.clone();
        let every = config.resubmit_every;
        actix_web::rt::spawn(async move {
            loop {
                let state = resubmitter.clone();
                let _ = web::block(move || issue::resubmit(&state.store, &*state.link)).await;
                actix_web::rt::time::sleep(every).await;
            }
        });
        let data = state.clone();
        HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY))
                .app_data(web::FormConfig::default().limit(MAX_BODY))
                .wrap(from_fn(crate::http::security::harden))
                .route("/healthz", web::get().to(|| async { HttpResponse::Ok().body("ok") }))
                .route("/assets/style.css", web::get().to(style))
                .configure(issuer::configure)
                .configure(claim::configure)
                .configure(admin::configure)
        })
        .shutdown_signal(stop)
        .shutdown_timeout(30)
        .listen(listener)?
        .run()
        .await
    })
}

async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(crate::http::pages::STYLE_CSS)
}
