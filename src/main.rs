//! The `credledger` command line: parse the arguments, make one library call, render the result.
//! Errors print as one line on stderr; exit 0 on success, 1 on a rejected event or any other
//! failure, 2 on a usage error.

mod cli;

use std::io::{self, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use cli::lists::{self, Signing};
use cli::render::{JsonArray, LogTable, issuers_table, profile_text, report_text};
use cli::target::Target;
use credledger::bundle::{BindingError, ShareRequest, Trust, VerifyOptions};
use credledger::event::{
    ApprenticeshipCompleted, CertificateAwarded, CourseCompleted, Date, IssuerCategory, IssuerRegistered,
    IssuerSuspended, KeyAdded, KeyLinked, KeyRevoked, Skill, StatusChange, Timestamp,
};
use credledger::http::client::Client;
use credledger::http::{ServerConfig, SharedStore};
use credledger::projection::CredentialState;
use credledger::store::dir::LedgerDir;
use credledger::vc::VcReport;
use credledger::{Did, EventId, Ledger, Payload, SecretKey, SignedEvent};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// mimalloc, not the system allocator: the ledger's hot paths (JSON values, canonical bytes,
/// projections) allocate many small objects on every core, and glibc's malloc spent a third of
/// bundle verification in its own bookkeeping and kept two cores from scaling (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The heading the flags every command takes are listed under, apart from the command's own.
const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(name = "credledger", version, about = "An event-sourced, signed credentialing ledger")]
struct Cli {
    /// The ledger directory.
    #[arg(long, global = true, help_heading = GLOBAL, env = "CREDLEDGER_DIR", default_value = "ledger")]
    ledger: PathBuf,
    /// Talk to a running ledger at this URL instead of a ledger directory (signing stays here).
    #[arg(long, global = true, help_heading = GLOBAL, env = "CREDLEDGER_SERVER")]
    server: Option<String>,
    /// The log lives in this PostgreSQL database (postgres://user[:password]@host:port/db) instead
    /// of the ledger directory's sled store; the directory keeps the config and operator key.
    #[arg(long, global = true, help_heading = GLOBAL, env = "CREDLEDGER_DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Print machine-readable JSON.
    #[arg(long, global = true, help_heading = GLOBAL)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a ledger and its operator key; prints the operator's did.
    Init {
        /// The log's origin name, e.g. ledger.example.edu.
        #[arg(long)]
        origin: String,
        /// The base URL the world reaches this ledger at (its status lists are served under it);
        /// default https://ORIGIN.
        #[arg(long)]
        public_url: Option<String>,
    },
    /// Write a new Ed25519 key file (mode 0600); prints its did.
    Keygen {
        /// The new key file (refused if it exists: a key is never overwritten).
        #[arg(long)]
        out: PathBuf,
    },
    /// Register, suspend and list issuers; rotate an issuer's key.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Issue a credential to a learner.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// A learner's own events: move to a new key.
    #[command(subcommand)]
    Learner(LearnerCommand),
    /// Revoke a credential (final).
    Revoke(StatusArgs),
    /// Suspend a credential until it is reinstated.
    Suspend(StatusArgs),
    /// Reinstate a suspended credential.
    Reinstate(StatusArgs),
    /// Append signed events made elsewhere: one JSON event, a JSON array, or JSON Lines.
    Submit {
        /// The file of signed events.
        file: PathBuf,
        /// Refuse the whole file if any event is refused.
        #[arg(long)]
        atomic: bool,
    },
    /// Print records.
    Log {
        /// The first seq to print.
        #[arg(long, default_value_t = 0)]
        from: u64,
        /// Print at most this many records (default: to the end of the log).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// A learner's skill profile.
    Profile {
        /// The learner's did:key.
        did: String,
    },
    /// Drop the projections and rebuild them from the log.
    Rebuild,
    /// Print the latest signed checkpoint.
    Checkpoint,
    /// An inclusion proof (--seq N [--size M]) or a consistency proof (--from M --to N).
    Prove {
        /// Prove the record at this seq is in the log.
        #[arg(long, conflicts_with_all = ["from", "to"])]
        seq: Option<u64>,
        /// The size of the tree to prove --seq in (default: the latest checkpoint's).
        #[arg(long, requires = "seq")]
        size: Option<u64>,
        /// Prove the tree of this size is a prefix of the tree of size --to.
        #[arg(long, requires = "to")]
        from: Option<u64>,
        /// The larger tree size of a consistency proof.
        #[arg(long, requires = "from")]
        to: Option<u64>,
    },
    /// Recompute the tree and every projection from the log; report any difference.
    Audit,
    /// Build a signed profile bundle for an employer.
    Share(ShareArgs),
    /// Claim a credential an issuer agent offers (OID4VCI, pre-authorized code): the claim
    /// page's URL, the openid-credential-offer:// link or the offer's URL. The credential is
    /// issued to --learner-key's did, verified here, then printed (or written to --out).
    Claim {
        /// The claim link the institution sent.
        url: String,
        /// The learner's key file: the credential is issued to its did, proved by its signature.
        #[arg(long)]
        learner_key: PathBuf,
        /// The PIN (transaction code) sent with the link, if the offer asks for one.
        #[arg(long)]
        pin: Option<String>,
        /// Write the credential to this file instead of printing it.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also talk to `http://` URLs on loopback addresses (an agent on this machine, tests);
        /// every other URL stays https only.
        #[arg(long)]
        allow_http_loopback: bool,
    },
    /// Verify a bundle offline: every check by name, then VALID or INVALID.
    Verify {
        /// The bundle file (as `share` writes it).
        bundle: PathBuf,
        /// The trusted operator's did:key.
        #[arg(long, conflicts_with = "trust")]
        operator: Option<String>,
        /// A trust file: {"operators": [{"origin": "...", "did": "did:key:..."}]}.
        #[arg(long)]
        trust: Option<PathBuf>,
        /// Require the bundle to be bound to this audience.
        #[arg(long)]
        audience: Option<String>,
        /// Require the bundle to be bound to this nonce.
        #[arg(long)]
        nonce: Option<String>,
        /// Refuse a status statement older than this many seconds.
        #[arg(long)]
        max_age: Option<i64>,
    },
    /// Write N realistic signed events for this ledger (JSON Lines): the registry first (signed by
    /// this ledger's operator), then credentials, revocations and key rotations.
    GenEvents {
        /// How many events to write.
        #[arg(long)]
        count: u64,
        /// The same seed gives the same events.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The JSON Lines file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Measure this machine: raw Ed25519 verifies/s, durable bulk appends, rebuild, audit, bundle
    /// verification, HTTP appends and (with --memory) submit's peak memory, with ratios to the raw
    /// verify rate.
    Bench {
        /// How many events to append, rebuild and audit.
        #[arg(long, default_value_t = 60_000)]
        events: usize,
        /// Also measure the peak memory of `submit`: FIRST events into a new ledger, then SECOND
        /// more in a second process (e.g. 200000,600000).
        #[arg(long, value_name = "FIRST,SECOND", value_parser = cli::bench::parse_memory)]
        memory: Option<(usize, usize)>,
    },
    /// Copy the log from one store to another without changing a byte (sled:DIR is a ledger
    /// directory's store, postgres:URL a database), then audit the copy. The target must be empty.
    Migrate {
        /// `sled:DIR` or `postgres:URL`.
        #[arg(long)]
        from: String,
        /// `sled:DIR` or `postgres:URL`.
        #[arg(long)]
        to: String,
    },
    /// A bounded load test over loopback: its own server on a fresh ledger, appends, profile reads
    /// and bundle verifications mixed for a fixed time; then checks nothing was lost and audits.
    Load {
        /// How long to run the load, in seconds.
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Clients appending, each its own institutions' events in order.
        #[arg(long, default_value_t = 2)]
        appenders: usize,
        /// Clients reading learners' profiles.
        #[arg(long, default_value_t = 2)]
        readers: usize,
        /// Clients verifying a bundle.
        #[arg(long, default_value_t = 1)]
        verifiers: usize,
        /// Server nodes, clients spread over them (more than one needs --database-url: an
        /// empty PostgreSQL database they share).
        #[arg(long, default_value_t = 1)]
        nodes: usize,
    },
    /// A credential as an issuer-signed W3C VC 2.0 / Open Badges 3.0 credential (eddsa-jcs-2022).
    ExportVc {
        /// The credential id (64 hex).
        id: String,
    },
    /// A learner's active credentials as a CLR 2.0 credential, signed by the operator.
    ExportClr {
        /// The learner's did:key.
        did: String,
    },
    /// Check a standard credential: its proofs (eddsa-rdfc-2022, eddsa-jcs-2022,
    /// Ed25519Signature2020; keys from did:key, or did:web over https), its validity, then its
    /// status (Bitstring Status Lists fetched over https; with --server, the server checks it).
    /// Every check by name, then VALID (exit 0), or INVALID / REVOKED / SUSPENDED /
    /// STATUS-UNKNOWN (exit 1).
    VerifyVc {
        /// The credential file (JSON), as `export-vc` writes it.
        file: PathBuf,
        /// The issuer's multibase Ed25519 key (z6Mk…), for an issuer whose DID document cannot
        /// be had (not a did:key, or offline): you vouch that it is the issuer's. Where the
        /// document can be had, it must list the key.
        #[arg(long)]
        key: Option<String>,
        /// Check the proof only: no network (did:web is then unresolved), and the report says
        /// the status was not checked.
        #[arg(long)]
        offline: bool,
        /// Trust only the certificate authorities in this PEM file (instead of the built-in
        /// Mozilla roots) for did:web documents and status lists.
        #[arg(long, value_name = "PEM")]
        ca_cert: Option<PathBuf>,
        /// Also fetch `http://` URLs, from loopback addresses only (a ledger on this machine,
        /// tests); every other URL stays https only.
        #[arg(long)]
        allow_http_loopback: bool,
    },
    /// Serve the ledger over HTTP (the API, the /verify page) until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Run the institution's issuer agent (OID4VCI issuer, claim pages, CSV imports; needs
    /// --server, the ledger), or `agent import` a student system's CSV export into one.
    Agent(AgentArgs),
    /// Fill a new ledger with believable sample data, then show one learner's profile.
    Demo {
        /// Where the demo's key files go.
        #[arg(long, default_value = "keys/demo")]
        keys: PathBuf,
        /// The origin name of the new demo ledger.
        #[arg(long, default_value = "demo.credledger.dev")]
        origin: String,
    },
}

#[derive(Args)]
struct ShareArgs {
    /// The learner's key file: the bundle is theirs and signed with it. Give it again for each
    /// other did the learner holds credentials under: one bundle presents them all, signed by
    /// every key, with no key link on the log (the first key publishes and withdraws links).
    #[arg(long, required = true)]
    learner_key: Vec<PathBuf>,
    /// Only these credential ids, comma-separated (default: every active credential).
    #[arg(long, value_delimiter = ',')]
    only: Option<Vec<String>>,
    /// Bind the bundle to its audience, e.g. the employer's name (1 to 200 characters).
    #[arg(long)]
    audience: Option<String>,
    /// Bind the bundle to a nonce the verifier gave you (1 to 200 characters).
    #[arg(long)]
    nonce: Option<String>,
    /// Write the signed bundle to this file (needed unless --publish or --unpublish).
    #[arg(long, required_unless_present_any = ["publish", "unpublish"])]
    out: Option<PathBuf>,
    /// Publish the signed bundle on the server (--server URL) as a share link, and print it.
    #[arg(long)]
    publish: bool,
    /// How many days the published link works: 1 to 365 (default 30).
    #[arg(long, value_name = "DAYS", requires = "publish")]
    expires_in: Option<u32>,
    /// Write the published link's QR code, an SVG image, to this file.
    #[arg(long, value_name = "FILE", requires = "publish")]
    qr: Option<PathBuf>,
    /// Withdraw a share link (as `--publish` printed it), signed with --learner-key.
    #[arg(long, value_name = "LINK", conflicts_with_all = ["publish", "out", "only", "audience", "nonce"])]
    unpublish: Option<String>,
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct AgentArgs {
    #[command(subcommand)]
    command: Option<AgentCommand>,
    /// The institution's issuer key file (a registered issuer's key on the ledger).
    #[arg(long, required = true)]
    issuer_key: Option<PathBuf>,
    /// The agent's own directory: pending awards, offers and issued events (students' details
    /// stay here, never on the ledger).
    #[arg(long, required = true)]
    dir: Option<PathBuf>,
    /// The address to listen on (host:port; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8090")]
    addr: String,
    /// The URL wallets and students reach the agent at (default http://ADDR).
    #[arg(long)]
    public_url: Option<String>,
    /// The bearer token of the admin endpoints (at least 16 characters); never printed.
    #[arg(long, env = "CREDLEDGER_ADMIN_TOKEN", hide_env_values = true, required = true)]
    admin_token: Option<String>,
    /// How long a new offer can be claimed: 30d, 12h, 90m, 45s.
    #[arg(long, default_value = "30d")]
    offer_lifetime: String,
}

#[derive(Subcommand)]
enum AgentCommand {
    /// Import a student system's CSV export into a running agent: pending awards and their offers.
    Import {
        /// The CSV file: header-named columns student_id, email, kind, title, code, credits,
        /// hours, employer, completed, skills (`ID=Label;ID=Label`).
        file: PathBuf,
        /// The agent's URL.
        #[arg(long)]
        agent: String,
        /// The agent's admin token.
        #[arg(long, env = "CREDLEDGER_ADMIN_TOKEN", hide_env_values = true)]
        admin_token: String,
        /// Renames of the file's column names: "Student ID=student_id,E-mail=email".
        #[arg(long)]
        map: Option<String>,
        /// Import the good rows and write the bad ones to --rejects-out (else nothing is imported
        /// if any row is bad).
        #[arg(long)]
        skip_bad: bool,
        /// Where the rejected rows go (default FILE's name with .rejects.csv).
        #[arg(long)]
        rejects_out: Option<PathBuf>,
        /// Write student_id, email, claim_url, pin and award (new | imported before) here, for
        /// mail merge (mode 0600).
        #[arg(long)]
        offers_out: Option<PathBuf>,
        /// Offers without a PIN (the claim link alone claims the credential).
        #[arg(long)]
        no_pin: bool,
    },
}

#[derive(clap::Args)]
struct ServeArgs {
    /// The address to listen on (host:port; port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: String,
    /// Fill a new ledger with the demo first (keys in --keys).
    #[arg(long)]
    demo: bool,
    /// Where the demo's key files go.
    #[arg(long, default_value = "keys/demo")]
    keys: PathBuf,
    /// The largest request body, in bytes.
    #[arg(long, default_value_t = 1024 * 1024)]
    body_limit: usize,
    /// Seconds a request may wait for its append to commit.
    #[arg(long, default_value_t = 30)]
    request_timeout: u64,
    /// Write requests per second each client address may make (bursts of twice that); 0: no limit.
    #[arg(long, default_value_t = 200)]
    write_rate: u32,
    /// Verification requests per second each client address may make (`POST /v1/verify`,
    /// `/v1/verify-vc`, `/credentials/verify`, `/v1/bundles`; bursts of twice that); 0: no limit.
    #[arg(long, default_value_t = 100)]
    verify_rate: u32,
    /// Read requests per second each client address may make (bursts of twice that; `/healthz`
    /// is never limited); 0: no limit.
    #[arg(long, default_value_t = 1000)]
    read_rate: u32,
    /// HTTP worker threads (0: one per core).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Start even if the stored log does not hash to its latest signed checkpoint, serving reads
    /// only (every write gets 503), to inspect a damaged ledger.
    #[arg(long)]
    allow_unverified_start: bool,
    /// Serve HTTPS with this PEM certificate chain (with --tls-key), for deployments without a
    /// TLS-terminating proxy.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert (keep it mode 0600).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// The store: `sled` (the embedded default, in the ledger directory) or `postgres` (with
    /// --database-url; several nodes may serve one log).
    #[arg(long, value_parser = ["sled", "postgres"])]
    store: Option<String>,
    /// A host (HOST or HOST:PORT, 443 unless given) that verifications may fetch did:web
    /// documents and status lists from over https; repeatable. Nothing else is fetched, and a
    /// name that resolves to a loopback, private or link-local address is refused unless the
    /// entry is that address itself (e.g. 127.0.0.1:8443, for tests).
    #[arg(long, value_name = "HOST[:PORT]")]
    fetch_allow: Vec<credledger::http::fetch::Allowed>,
    /// Trust only the certificate authorities in this PEM file for those fetches (instead of
    /// the built-in Mozilla roots).
    #[arg(long, value_name = "PEM")]
    fetch_ca_cert: Option<PathBuf>,
    /// The base URL the world reaches this ledger at: status lists and links are served under it
    /// (default http://ADDR, the bound address).
    #[arg(long)]
    public_url: Option<String>,
    /// With --store postgres: the base URL the other nodes reach this one at, to forward their
    /// appends to it while it leads (default http://ADDR, the bound address).
    #[arg(long)]
    advertise_url: Option<String>,
}

#[derive(Subcommand)]
enum IssuerCommand {
    /// Admit an institution (signed by the operator).
    Register {
        /// The institution's name, as credentials will show it.
        #[arg(long)]
        name: String,
        /// The issuer's did:key (its first signing key).
        #[arg(long)]
        key: String,
        /// What kind of institution it is.
        #[arg(long, value_enum, default_value_t = Category::College)]
        kind: Category,
        #[command(flatten)]
        operator: OperatorArgs,
    },
    /// Suspend an issuer (signed by the operator): it signs nothing more.
    Suspend {
        /// The issuer's did:key (any of its keys).
        #[arg(long)]
        issuer: String,
        /// Why, in words; it goes on the log.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        operator: OperatorArgs,
    },
    /// Add a new key (created if the file does not exist) and revoke the old one.
    RotateKey {
        /// The issuer's current key file (the key to revoke).
        #[arg(long)]
        issuer_key: PathBuf,
        /// The new key file (created, mode 0600, if it does not exist).
        #[arg(long)]
        new_key: PathBuf,
        /// Why, in words; it goes on the log.
        #[arg(long, default_value = "key rotation")]
        reason: String,
        /// The old key was stolen: what it signed from this time on (RFC 3339, by the ledger's
        /// clock) is void, while what it signed before stays valid.
        #[arg(long)]
        compromised_since: Option<String>,
        /// Print the signed events instead of appending them.
        #[arg(long)]
        emit: bool,
        /// The origin of the log the event is for (its `body.ledger`). Defaults to the ledger's or
        /// the server's; give it to `--emit` for a log out of reach.
        #[arg(long)]
        origin: Option<String>,
    },
    /// Revoke an issuer's key (signed by the operator), e.g. when every key of the issuer is
    /// lost or stolen; with --compromised-since, what it signed from then on is void.
    RevokeKey {
        /// The issuer's did:key (any of its keys).
        #[arg(long)]
        issuer: String,
        /// The did:key of the key to revoke.
        #[arg(long)]
        key: String,
        /// Why, in words; it goes on the log.
        #[arg(long)]
        reason: String,
        /// RFC 3339 time from which the key's signatures are void (by the ledger's clock).
        #[arg(long)]
        compromised_since: Option<String>,
        #[command(flatten)]
        operator: OperatorArgs,
    },
    /// List registered issuers and their keys.
    List,
    /// Sign every status list of a key that is not current (the recovery after an operator's
    /// status change, a declaration of compromise voiding acts, or a new --public-url).
    SignStatusLists {
        /// The key file of the key whose lists these are.
        #[arg(long)]
        key: PathBuf,
        /// The origin of the log the events are for (its `body.ledger`). Defaults to the
        /// ledger's or the server's.
        #[arg(long)]
        origin: Option<String>,
    },
}

#[derive(Subcommand)]
enum LearnerCommand {
    /// Move to a new key (created if the file does not exist): everything held under the old key
    /// follows. Signed by both keys; the old key must hold a credential or an apprenticeship.
    LinkKey {
        /// The key the learner holds their credentials under now.
        #[arg(long)]
        old_key: PathBuf,
        /// The key to move to.
        #[arg(long)]
        new_key: PathBuf,
        /// Print the signed event instead of appending it.
        #[arg(long)]
        emit: bool,
        /// The origin of the log the event is for (its `body.ledger`). Defaults to the ledger's or
        /// the server's; give it to `--emit` for a log out of reach.
        #[arg(long)]
        origin: Option<String>,
    },
}

#[derive(Args)]
struct OperatorArgs {
    /// The operator's key file (default: the ledger's operator.key).
    #[arg(long)]
    operator_key: Option<PathBuf>,
    /// Print the signed event instead of appending it.
    #[arg(long)]
    emit: bool,
    /// The origin of the log the event is for (its `body.ledger`). Defaults to the ledger's or
    /// the server's; give it to `--emit` for a log out of reach.
    #[arg(long)]
    origin: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Category {
    College,
    University,
    Provider,
    Employer,
}

#[derive(Args)]
struct IssueArgs {
    /// The issuer's key file.
    #[arg(long)]
    issuer_key: PathBuf,
    /// The learner's did:key.
    #[arg(long)]
    learner: String,
    /// The credential's title, e.g. "Intro to Python Programming".
    #[arg(long)]
    title: String,
    /// Skills: `ID` or `ID=Label`, comma-separated (ESCO URI, O*NET code, Lightcast id, ...).
    #[arg(long)]
    skills: String,
    /// Print the signed event instead of appending it.
    #[arg(long)]
    emit: bool,
    /// The origin of the log the credential is for (its `body.ledger`; its `credentialStatus`
    /// names it). Defaults to the ledger's or the server's; give it to `--emit` for a log out of
    /// reach.
    #[arg(long)]
    origin: Option<String>,
}

#[derive(Subcommand)]
enum IssueCommand {
    /// A completed course.
    Course {
        #[command(flatten)]
        common: IssueArgs,
        /// The course code, e.g. CS-101.
        #[arg(long)]
        code: String,
        /// The credits earned, e.g. 3 or 1.5.
        #[arg(long, allow_hyphen_values = true)]
        credits: f64,
        /// The day the course was completed, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        completed: String,
    },
    /// An awarded certificate.
    Certificate {
        #[command(flatten)]
        common: IssueArgs,
        /// The day the certificate was awarded, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        awarded: String,
        /// The last day the certificate is valid, YYYY-MM-DD (default: it does not expire).
        #[arg(long, value_name = "YYYY-MM-DD")]
        valid_until: Option<String>,
    },
    /// A completed apprenticeship.
    Apprenticeship {
        #[command(flatten)]
        common: IssueArgs,
        /// The employer the apprenticeship was served with.
        #[arg(long)]
        employer: String,
        /// The hours served.
        #[arg(long)]
        hours: u32,
        /// The day the apprenticeship was completed, YYYY-MM-DD.
        #[arg(long, value_name = "YYYY-MM-DD")]
        completed: String,
        /// The id of the `apprenticeship.started` event, if it is on the log.
        #[arg(long)]
        apprenticeship: Option<String>,
    },
}

impl IssueCommand {
    fn common(&self) -> &IssueArgs {
        match self {
            IssueCommand::Course { common, .. }
            | IssueCommand::Certificate { common, .. }
            | IssueCommand::Apprenticeship { common, .. } => common,
        }
    }
}

#[derive(Args)]
struct StatusArgs {
    /// The key file of the issuer that issued the credential.
    #[arg(long)]
    issuer_key: PathBuf,
    /// The key file of the key that signed the credential, which signs its status lists
    /// (default: --issuer-key).
    #[arg(long)]
    list_key: Option<PathBuf>,
    /// The credential id (64 hex).
    #[arg(long)]
    credential: String,
    /// Why, in words; it goes on the log.
    #[arg(long)]
    reason: String,
    /// Print the signed event instead of appending it.
    #[arg(long)]
    emit: bool,
    /// The origin of the log the event is for (its `body.ledger`). Defaults to the ledger's or
    /// the server's; give it to `--emit` for a log out of reach.
    #[arg(long)]
    origin: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.command);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(if e.is::<UsageError>() { 2 } else { 1 })
        }
    }
}

/// A usage error found after the arguments parsed (exit 2, as clap's own).
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// The origin of the log an event is for: `--origin`, else the ledger directory's or the
/// server's; with neither in reach, a usage error.
fn origin_arg(target: &Target, given: Option<String>) -> Result<String> {
    given.or_else(|| target.origin()).ok_or_else(|| {
        let reach = match target {
            Target::Local(dir) => format!("there is no ledger at {}", dir.path().display()),
            Target::Remote(_) => "the server did not say".to_owned(),
        };
        anyhow::Error::new(UsageError(format!(
            "--origin: required: name the log this event is for ({reach}); every event but genesis carries it in body.ledger"
        )))
    })
}

/// An error and its causes on one line, each said once: a cause the message already ends with (an
/// error that prints its source, as a `thiserror` message with `{source}` does) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    e.chain().map(ToString::to_string).fold(String::new(), |line, cause| match line.as_str() {
        "" => cause,
        said if said.ends_with(&cause) => line,
        _ => format!("{line}: {cause}"),
    })
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// How results print: JSON with `--json`, readable text otherwise.
struct Output {
    json: bool,
}

impl Output {
    fn emit(&self, value: Value, text: impl FnOnce() -> String) {
        let mut stdout = io::stdout().lock();
        let shown = if self.json { serde_json::to_string_pretty(&value).unwrap_or_default() } else { text() };
        // A closed pipe (e.g. `| head`) is not an error worth reporting.
        let _ = writeln!(stdout, "{}", shown.trim_end());
    }
}

fn run(cli: Cli) -> Result<ExitCode> {
    let out = Output { json: cli.json };
    let dir = LedgerDir::with_database(&cli.ledger, cli.database_url.clone());
    let target = match &cli.server {
        Some(url) => Target::Remote(Client::new(url)),
        None => Target::Local(dir.clone()),
    };
    match cli.command {
        Command::Init { origin, public_url } => init(&target, &out, origin, public_url),
        Command::Keygen { out: path } => keygen(&out, path),
        Command::Issuer(cmd) => issuer(cmd, &target, &dir, &out),
        Command::Learner(LearnerCommand::LinkKey { old_key, new_key, emit, origin }) => {
            link_key(&target, &out, old_key, new_key, emit, origin)
        }
        Command::Issue(cmd) => issue_credential(&target, &out, cmd),
        Command::Revoke(a) => status_change(&target, &out, a, (Payload::CredentialRevoked, CredentialState::Revoked)),
        Command::Suspend(a) => {
            status_change(&target, &out, a, (Payload::CredentialSuspended, CredentialState::Suspended))
        }
        Command::Reinstate(a) => {
            status_change(&target, &out, a, (Payload::CredentialReinstated, CredentialState::Active))
        }
        Command::Submit { file, atomic } => cli::submit::run(&target, out.json, &file, atomic, now()),
        Command::Log { from, limit } => log(&target, &out, from, limit),
        Command::Profile { did } => profile(&target, &out, did),
        Command::Rebuild => rebuild(&target, &out),
        Command::Checkpoint => checkpoint(&target, &out),
        Command::Prove { seq, size, from, to } => prove(&target, &out, seq, size, from, to),
        Command::Audit => audit(&target, &out),
        Command::Share(args) => share(&target, &out, args),
        Command::Verify { bundle, operator, trust, audience, nonce, max_age } => {
            verify(&out, bundle, operator, trust, audience, nonce, max_age)
        }
        Command::GenEvents { count, seed, out: path } => gen_events(&target, &out, count, seed, path),
        Command::Bench { events, memory } => bench(&out, cli::bench::BenchOptions { events, memory }),
        Command::Migrate { from, to } => migrate(&out, from, to),
        Command::Load { seconds, appenders, readers, verifiers, nodes } => {
            load(&out, cli.database_url.clone(), seconds, appenders, readers, verifiers, nodes)
        }
        Command::Claim { url, learner_key, pin, out: path, allow_http_loopback } => {
            claim(&out, url, learner_key, pin, path, allow_http_loopback)
        }
        Command::ExportVc { id } => export_vc(&target, id),
        Command::ExportClr { did } => export_clr(&target, did),
        Command::VerifyVc { file, key, offline, ca_cert, allow_http_loopback } => {
            verify_credential(&target, &out, file, key, offline, ca_cert, allow_http_loopback)
        }
        Command::Serve(args) => serve_ledger(&target, args),
        Command::Agent(args) => agent(cli.server.as_deref(), args, &out),
        Command::Demo { keys, origin } => demo(&target, &out, keys, origin),
    }
}

fn link_key(
    target: &Target,
    out: &Output,
    old_key: PathBuf,
    new_key: PathBuf,
    emit: bool,
    origin: Option<String>,
) -> Result<ExitCode> {
    let ledger = Some(origin_arg(target, origin)?);
    let old = SecretKey::read_file(&old_key)?;
    let new = key_file_or_new(&new_key)?;
    let link = KeyLinked { from: old.did().clone(), to: new.did().clone(), to_sig: String::new(), ledger };
    let event = sign_with(&old, Some(&new), Payload::KeyLinked(link))?;
    append_or_emit(target, out, emit, vec![event])
}

fn issue_credential(target: &Target, out: &Output, cmd: IssueCommand) -> Result<ExitCode> {
    let origin = origin_arg(target, cmd.common().origin.clone())?;
    let (key_file, emit, payload) = issue_payload(cmd, &origin)?;
    let key = SecretKey::read_file(&key_file)?;
    issue(target, out, emit, &key, payload)
}

fn init(target: &Target, out: &Output, origin: String, public_url: Option<String>) -> Result<ExitCode> {
    let dir = target.dir("init")?;
    let public_url = public_url.map(|url| public_url_arg(&url)).transpose()?;
    let (config, operator) = dir.create(&origin, false)?;
    if let Some(url) = &public_url {
        dir.set_public_url(url)?;
    }
    let genesis = credledger::event::Genesis { origin: origin.clone(), operator: config.operator.clone() };
    let genesis = sign(&operator, Payload::Genesis(genesis))?;
    let mut ledger = Target::open_for_append(dir)?;
    ledger.append(genesis.canonical(), now()).context("appending genesis")?;
    out.emit(json!({"operator": config.operator, "origin": origin, "ledger": dir.path()}), || {
        let (path, key) = (dir.path().display(), dir.operator_key_path());
        format!("{}\ncreated ledger `{origin}` at {path}; operator key in {}", config.operator, key.display())
    });

    Ok(ExitCode::SUCCESS)
}

fn keygen(out: &Output, path: PathBuf) -> Result<ExitCode> {
    let key = SecretKey::generate()?;
    key.write_file(&path)?;
    out.emit(json!({"did": key.did(), "file": path}), || {
        format!("{}\nwrote {} (mode 0600)", key.did(), path.display())
    });

    Ok(ExitCode::SUCCESS)
}

/// `log`: printed a page at a time, so a log of any length is printed in bounded memory. A closed
/// pipe (e.g. `| head`) stops the reading and is not an error worth reporting.
fn log(target: &Target, out: &Output, from: u64, limit: Option<usize>) -> Result<ExitCode> {
    let mut stdout = io::stdout().lock();
    let (mut array, mut table) = (JsonArray::default(), LogTable::default());
    target.records_by_page(from, limit.unwrap_or(usize::MAX), |records| {
        let shown =
            if out.json { records.iter().map(|r| array.item(&r.to_value())).collect() } else { table.page(&records) };
        stdout.write_all(shown.as_bytes()).is_ok()
    })?;
    // The array's close; for the table, its header if no record came (an empty page adds no row).
    let end = if out.json { array.end().to_owned() } else { table.page(&[]) };
    let _ = stdout.write_all(end.as_bytes()).and_then(|()| stdout.flush());

    Ok(ExitCode::SUCCESS)
}

fn profile(target: &Target, out: &Output, did: String) -> Result<ExitCode> {
    let profile = target.profile(&did_arg("<DID>", &did)?)?;
    out.emit(serde_json::to_value(&profile)?, || profile_text(&profile));

    Ok(ExitCode::SUCCESS)
}

fn rebuild(target: &Target, out: &Output) -> Result<ExitCode> {
    let mut ledger = Target::open(target.dir("rebuild")?)?;
    let progress = cli::progress::bar(ledger.len(), out.json, "rebuilding");
    let differed = ledger.rebuild_with_progress(|done| progress.set_position(done))?;
    progress.finish_and_clear();
    let note = if differed {
        "the stored projections differed and were replaced"
    } else {
        "identical to the stored projections"
    };
    out.emit(json!({"records": ledger.len(), "differed": differed}), || {
        format!("rebuilt projections from {} records: {note}", ledger.len())
    });

    Ok(ExitCode::SUCCESS)
}

fn checkpoint(target: &Target, out: &Output) -> Result<ExitCode> {
    let text = target.checkpoint()?;
    let size = text.lines().nth(1).and_then(|s| s.parse::<u64>().ok());
    out.emit(json!({"size": size, "checkpoint": text}), || text.clone());

    Ok(ExitCode::SUCCESS)
}

fn prove(
    target: &Target,
    out: &Output,
    seq: Option<u64>,
    size: Option<u64>,
    from: Option<u64>,
    to: Option<u64>,
) -> Result<ExitCode> {
    let value = match (seq, from, to) {
        (Some(seq), _, _) => target.inclusion(seq, size)?,
        (None, Some(from), Some(to)) => target.consistency(from, to)?,
        _ => bail!("prove takes --seq N [--size M], or --from M --to N"),
    };
    out.emit(value.clone(), || {
        let path = value["path"].as_array().map(|p| p.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"));
        let path = path.unwrap_or_default();
        match value.get("seq") {
            Some(seq) => format!(
                "inclusion of seq {seq} in the tree of size {}\nleaf {}\n{path}",
                value["size"],
                value["leaf_hash"].as_str().unwrap_or_default()
            ),
            None => format!("consistency of size {} with size {}\n{path}", value["from"], value["to"]),
        }
    });

    Ok(ExitCode::SUCCESS)
}

fn audit(target: &Target, out: &Output) -> Result<ExitCode> {
    let ledger = Target::open(target.dir("audit")?)?;
    let progress = cli::progress::bar(ledger.len(), out.json, "auditing");
    let report = credledger::audit::audit(&ledger, |done| progress.set_position(done))?;
    progress.finish_and_clear();
    out.emit(serde_json::to_value(&report)?, || report.to_string());
    if !report.problems.is_empty() {
        return Ok(ExitCode::from(1));
    }

    Ok(ExitCode::SUCCESS)
}

fn share(target: &Target, out: &Output, args: ShareArgs) -> Result<ExitCode> {
    let ShareArgs { learner_key, only, audience, nonce, out: path, publish, expires_in, qr, unpublish } = args;
    let keys = learner_keys(&learner_key)?;
    let (learner, others) = keys.split_first().context("--learner-key: give the learner's key file")?;
    if let Some(link) = unpublish {
        let revoked_at = cli::share::unpublish(&link, learner, now())?;
        out.emit(json!({"revoked_at": revoked_at}), || format!("withdrew the link (revoked at {revoked_at})"));
        return Ok(ExitCode::SUCCESS);
    }
    let client = match (&target, publish) {
        (Target::Remote(client), true) => Some(client),
        (Target::Local(_), true) => {
            bail!("--publish needs --server URL: the ledger server that keeps the link")
        }
        (_, false) => None,
    };
    let days = expires_in.unwrap_or(credledger::share::DEFAULT_DAYS);
    if !(1..=credledger::share::MAX_DAYS).contains(&days) {
        bail!("--expires-in: {days} days; a link works 1 to {} days", credledger::share::MAX_DAYS);
    }
    let only = only.map(|ids| ids.iter().map(|id| id_arg("--only", id)).collect::<Result<Vec<_>>>()).transpose()?;
    let request = ShareRequest::new(only, audience, nonce)
        .map_err(flag_error)?
        .with_holders(others.iter().map(|k| k.did().clone()).collect());
    let bundle = keys.iter().fold(target.bundle(learner.did(), &request, now())?, |b, key| b.signed(key));
    let (shown, records) = (bundle.status.credentials.len(), bundle.entries.len());
    let mut lines = Vec::new();
    let mut value = json!({"credentials": shown, "records": records});
    if let Some(path) = &path {
        let text = serde_json::to_string_pretty(&bundle)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        let size = bundle.status.size;
        lines.push(format!(
            "wrote {} ({shown} credentials, {records} records with inclusion proofs, checkpoint size {size})",
            path.display()
        ));
        value["out"] = json!(path);
    }
    if let Some(client) = client {
        let published = cli::share::publish(client, &bundle, days, learner, now())?;
        if let Some(qr) = &qr {
            std::fs::write(qr, &published.qr_svg).with_context(|| format!("writing {}", qr.display()))?;
            lines.push(format!("wrote the QR code to {}", qr.display()));
            value["qr"] = json!(qr);
        }
        lines.push(format!("share link (works until {}):\n{}", published.expires_at, published.link));
        value["link"] = json!(published.link);
        value["expires_at"] = json!(published.expires_at);
    }
    out.emit(value, || lines.join("\n"));

    Ok(ExitCode::SUCCESS)
}

fn verify(
    out: &Output,
    bundle: PathBuf,
    operator: Option<String>,
    trust: Option<PathBuf>,
    audience: Option<String>,
    nonce: Option<String>,
    max_age: Option<i64>,
) -> Result<ExitCode> {
    let trust = match (operator, trust) {
        (Some(did), _) => Trust::operator(did_arg("--operator", &did)?),
        (None, Some(path)) => read_trust(&path)?,
        (None, None) => match DEFAULT_TRUST.iter().map(Path::new).find(|p| p.exists()) {
            Some(path) => {
                eprintln!("trusting the operators in {}", path.display());
                read_trust(path)?
            }
            None => bail!(
                "verify needs the operator's key: --operator DID or --trust FILE (or {})",
                DEFAULT_TRUST.join(" or ")
            ),
        },
    };
    let bytes = std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?;
    let options = VerifyOptions::new(audience, nonce, max_age.map(time::Duration::seconds)).map_err(flag_error)?;
    let report = credledger::bundle::verify(&bytes, &trust, &options, now());
    out.emit(serde_json::to_value(&report)?, || report_text(&report));
    if !report.is_valid() {
        return Ok(ExitCode::from(1));
    }

    Ok(ExitCode::SUCCESS)
}

fn gen_events(target: &Target, out: &Output, count: u64, seed: u64, path: PathBuf) -> Result<ExitCode> {
    let dir = target.dir("gen-events")?;
    let config = dir.config()?;
    // A fixed start, so the same seed gives the same events.
    let start = time::macros::datetime!(2026-01-01 00:00 UTC);
    let learners = (count / 10).max(50) as usize;
    let mut generator =
        credledger::generate::Generator::new(dir.operator_key()?, &config.origin, seed, start, learners);
    let file = std::fs::File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut writer = io::BufWriter::new(file);
    let progress = cli::progress::bar(count, out.json, "signing");
    let mut written = 0;
    while written < count {
        for event in generator.next_chunk((count - written).min(1_000))? {
            writer.write_all(event.canonical())?;
            writer.write_all(b"\n")?;
            written += 1;
        }
        progress.set_position(written);
    }
    writer.flush()?;
    progress.finish_and_clear();
    out.emit(json!({"events": written, "out": path, "seed": seed}), || {
        format!("wrote {written} events to {}", path.display())
    });

    Ok(ExitCode::SUCCESS)
}

fn bench(out: &Output, options: cli::bench::BenchOptions) -> Result<ExitCode> {
    let report = cli::bench::run(options)?;
    out.emit(serde_json::to_value(&report)?, || cli::bench::table(&report));

    Ok(ExitCode::SUCCESS)
}

fn migrate(out: &Output, from: String, to: String) -> Result<ExitCode> {
    let (source, target_store) = (store_arg("from", &from)?, store_arg("to", &to)?);
    let progress = cli::progress::bar(source.len()?, out.json, "copying");
    let copied = credledger::store::migrate::migrate(&*source, &*target_store, |n| progress.set_position(n))?;
    progress.finish_and_clear();
    let audit = Ledger::open(target_store)?.audit()?;
    out.emit(json!({"migrated": copied, "audit": audit}), || {
        format!(
            "copied {} records, {} checkpoints, {} projection entries from {} to {}\n{audit}",
            copied.records,
            copied.checkpoints,
            copied.entries,
            credledger::store::postgres::redacted(&from),
            credledger::store::postgres::redacted(&to)
        )
    });
    if !audit.problems.is_empty() {
        return Ok(ExitCode::from(1));
    }

    Ok(ExitCode::SUCCESS)
}

fn load(
    out: &Output,
    database_url: Option<String>,
    seconds: u64,
    appenders: usize,
    readers: usize,
    verifiers: usize,
    nodes: usize,
) -> Result<ExitCode> {
    let options = cli::load::LoadOptions { seconds, appenders, readers, verifiers, nodes, database_url };
    let report = cli::load::run(&options)?;
    out.emit(serde_json::to_value(&report)?, || cli::load::table(&report));
    if !report.passed() {
        return Ok(ExitCode::from(1));
    }

    Ok(ExitCode::SUCCESS)
}

fn claim(
    out: &Output,
    url: String,
    learner_key: PathBuf,
    pin: Option<String>,
    path: Option<PathBuf>,
    allow_http_loopback: bool,
) -> Result<ExitCode> {
    use credledger::http::fetch::{Fetcher, MAX_ANSWER, Reach};
    let key = SecretKey::read_file(&learner_key)?;
    let reach = Reach::Any { http_loopback: allow_http_loopback };
    let fetcher = Fetcher::new(reach, None, cli::claim::TIMEOUT, MAX_ANSWER).map_err(|e| anyhow!(e))?;
    let wallet = cli::claim::Wallet { fetcher: &fetcher, key: &key };
    let claimed = wallet.claim(&url, pin.as_deref(), now)?;
    let text = serde_json::to_string_pretty(&claimed.credential)?;
    let Some(path) = path else {
        println!("{text}");
        return Ok(ExitCode::SUCCESS);
    };
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    let issuer = claimed.report.issuer.as_ref().map_or_else(String::new, |i| format!(" from {}", i.describe()));
    let value = json!({"out": path, "holder": claimed.holder, "report": claimed.report});
    out.emit(value, || {
        format!(
            "wrote {}: a credential{issuer} issued to {}, {}",
            path.display(),
            claimed.holder,
            claimed.report.verdict.as_str()
        )
    });

    Ok(ExitCode::SUCCESS)
}

fn export_vc(target: &Target, id: String) -> Result<ExitCode> {
    let vc = target.standard_credential(&id_arg("<ID>", &id)?)?;
    println!("{}", serde_json::to_string_pretty(&vc)?);

    Ok(ExitCode::SUCCESS)
}

fn export_clr(target: &Target, did: String) -> Result<ExitCode> {
    let clr = target.clr(&did_arg("<DID>", &did)?, now())?;
    println!("{}", serde_json::to_string_pretty(&clr)?);

    Ok(ExitCode::SUCCESS)
}

fn verify_credential(
    target: &Target,
    out: &Output,
    file: PathBuf,
    key: Option<String>,
    offline: bool,
    ca_cert: Option<PathBuf>,
    allow_http_loopback: bool,
) -> Result<ExitCode> {
    let reach = credledger::http::fetch::Reach::Any { http_loopback: allow_http_loopback };
    let fetch = (!offline).then_some((reach, ca_cert));
    let report = verify_vc(target, &file, key, fetch)?;
    out.emit(serde_json::to_value(&report)?, || cli::render::vc_report_text(&report));
    if !report.is_valid() {
        return Ok(ExitCode::from(1));
    }

    Ok(ExitCode::SUCCESS)
}

fn serve_ledger(target: &Target, args: ServeArgs) -> Result<ExitCode> {
    let dir = target.dir("serve")?;
    match (args.store.as_deref(), dir.database_url()) {
        (Some("postgres"), None) => bail!("--store postgres needs --database-url URL"),
        (Some("sled"), Some(_)) => bail!("--store sled and --database-url contradict each other"),
        _ => {}
    }
    if args.demo {
        cli::demo::prepare(dir, DEMO_ORIGIN)?;
    }
    serve(dir, &args)
}

fn demo(target: &Target, out: &Output, keys: PathBuf, origin: String) -> Result<ExitCode> {
    let dir = target.dir("demo")?;
    cli::demo::prepare(dir, &origin)?;
    let mut ledger = Target::open_for_append(dir)?;
    let learner = cli::demo::fill(&mut ledger, dir, &keys, &dir.config()?.public_url(), now())?;
    let profile = ledger.profile(&learner);
    let operator = dir.config()?.operator;
    out.emit(serde_json::to_value(&profile)?, || {
            let d = dir.path().display();
            let (key, trust) = (keys.join("learner-01.key"), keys.join(cli::demo::TRUST));
            format!(
                "{}\n\nThe operator is {operator}; {} trusts it.\nTry: credledger --ledger {d} log\n     credledger --ledger {d} issuer list\n     credledger --ledger {d} profile {learner}\n     credledger --ledger {d} share --learner-key {} --out bundle.json\n     {}",
                profile_text(&profile),
                trust.display(),
                key.display(),
                verify_hint(&keys)
            )
        });

    Ok(ExitCode::SUCCESS)
}

/// `agent`: run the issuer agent, or `agent import`.
fn agent(server: Option<&str>, args: AgentArgs, out: &Output) -> Result<ExitCode> {
    match args.command {
        Some(AgentCommand::Import { file, agent, admin_token, map, skip_bad, rejects_out, offers_out, no_pin }) => {
            let request = cli::agent::Import {
                file: &file,
                agent: &agent,
                admin_token: &admin_token,
                map: map.as_deref(),
                skip_bad,
                pin: !no_pin,
                offers_out: offers_out.as_deref(),
                rejects_out,
            };
            let body = cli::agent::import(request)?;
            let mut shown = body.clone();
            // Claim links and PINs go to --offers-out only.
            if let Some(offers) = shown.get_mut("offers") {
                *offers = json!(offers.as_array().map_or(0, Vec::len));
            }
            out.emit(shown, || cli::agent::summary(&body, offers_out.as_deref()));
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let server = server.ok_or_else(|| {
                anyhow::Error::new(UsageError("--server: required: the ledger the agent appends to".to_owned()))
            })?;
            let (Some(issuer_key), Some(dir), Some(admin_token)) = (args.issuer_key, args.dir, args.admin_token) else {
                return Err(anyhow::Error::new(UsageError(
                    "--issuer-key, --dir and --admin-token are required".to_owned(),
                )));
            };
            cli::agent::start(cli::agent::Start {
                server,
                issuer_key: &issuer_key,
                dir: &dir,
                addr: &args.addr,
                public_url: args.public_url.as_deref().map(public_url_arg).transpose()?,
                admin_token,
                offer_lifetime: cli::agent::lifetime_arg(&args.offer_lifetime)?,
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Logs to stderr, at the level RUST_LOG names. By default a server (`serve`, the issuer
/// agent) logs at info; any other command shows only warnings and the store's notes, such as a
/// one-time layout copy that can take minutes on a large ledger.
fn init_logging(command: &Command) {
    let serves = matches!(command, Command::Serve(_) | Command::Agent(AgentArgs { command: None, .. }));
    let default = if serves { "info" } else { "warn,credledger::store=info" };
    tracing_subscriber::fmt()
        .with_writer(io::stderr)
        .with_ansi(io::IsTerminal::is_terminal(&io::stderr()))
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into()))
        .init();
}

/// `verify-vc`: the proofs and the status here, fetching what the credential points at through
/// `fetch` (`None`: offline); with `--server`, the server checks both (and fetches by its own
/// rule).
fn verify_vc(
    target: &Target,
    file: &Path,
    key: Option<String>,
    fetch: Option<(credledger::http::fetch::Reach, Option<PathBuf>)>,
) -> Result<VcReport> {
    use credledger::http::fetch::{Fetcher, MAX_ANSWER, TIMEOUT};
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let key = key.map(|k| Did::from_multibase(&k).map(|d| (k, d)).context("--key")).transpose()?;
    if let Target::Remote(client) = target {
        if fetch.is_none() {
            bail!("--offline and --server contradict each other: with --server the server checks the status");
        }
        let text = String::from_utf8(bytes).with_context(|| format!("{}: not UTF-8 JSON", file.display()))?;
        let path = key.map_or("/v1/verify-vc".to_owned(), |(k, _)| format!("/v1/verify-vc?key={k}"));
        let answer = client.post_json(&path, &text)?;
        return serde_json::from_value(answer.body).context("the server's report");
    }
    let document = credledger::canonical::parse_strict(&bytes).with_context(|| file.display().to_string())?;
    let now = Timestamp::whole_seconds(now());
    let key = key.map(|(_, d)| d);
    Ok(match fetch {
        None => credledger::vc::check(&document, key.as_ref(), &now, None),
        Some((reach, ca)) => {
            let fetcher =
                Fetcher::new(reach, ca.as_deref(), TIMEOUT, MAX_ANSWER).map_err(|e| anyhow!("--ca-cert: {e}"))?;
            credledger::vc::check(&document, key.as_ref(), &now, Some(&mut cli::status::Https(fetcher)))
        }
    })
}

/// The command that verifies a demo bundle: with no flags when the demo's keys are where
/// `verify` looks for a trust file.
fn verify_hint(keys: &Path) -> String {
    let trust = keys.join(cli::demo::TRUST);
    if DEFAULT_TRUST.iter().any(|d| Path::new(d) == trust) {
        "credledger verify bundle.json".to_owned()
    } else {
        format!("credledger verify bundle.json --trust {}", trust.display())
    }
}

/// A request value refused by the library, named as the flag that gave it.
/// The learner's key files, each a different key (the first is the learner's, the others its
/// other dids').
fn learner_keys(paths: &[PathBuf]) -> Result<Vec<SecretKey>> {
    if paths.len() > credledger::bundle::MAX_DIDS {
        bail!("--learner-key: {} keys; one bundle presents at most {} dids", paths.len(), credledger::bundle::MAX_DIDS);
    }
    let mut keys: Vec<SecretKey> = Vec::with_capacity(paths.len());
    for path in paths {
        let key = SecretKey::read_file(path)?;
        if let Some(i) = keys.iter().position(|k| k.did() == key.did()) {
            bail!("--learner-key: {} and {} are the same key ({})", paths[i].display(), path.display(), key.did());
        }
        keys.push(key);
    }
    Ok(keys)
}

fn flag_error(e: BindingError) -> anyhow::Error {
    anyhow!("--{}: {}", e.field, e.reason)
}

/// The origin `serve --demo` gives a new demo ledger.
const DEMO_ORIGIN: &str = "demo.credledger.dev";

/// Runs the server on the ledger directory until SIGINT or SIGTERM, after checking the log against
/// its latest checkpoint; with `--demo`, fills an empty demo ledger first.
fn serve(dir: &LedgerDir, args: &ServeArgs) -> Result<ExitCode> {
    let demo_keys = args.demo.then_some(args.keys.as_path());
    let store: SharedStore = dir.open_shared_store()?;
    let mut ledger = Ledger::open(store).with_context(|| format!("opening the ledger at {}", dir.path().display()))?;
    let read_only = match ledger.check_against_checkpoint() {
        Ok(size) => {
            tracing::info!(records = size, "the log matches its latest signed checkpoint");
            None
        }
        Err(e) if args.allow_unverified_start => {
            tracing::warn!("serving reads only (--allow-unverified-start): {e}");
            Some(e.to_string())
        }
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "refusing to serve {} (run `credledger audit` to see what differs, or pass --allow-unverified-start)",
                dir.path().display()
            )));
        }
    };
    ledger.sign_checkpoints_with(dir.operator_key()?)?;
    if read_only.is_none() {
        // This node will append: bring stored projections that lag the log up to date (fenced).
        ledger.store_catch_up()?;
    }
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(credledger::http::tls::server_config(cert, key)?),
        _ => None,
    };
    let addr = &args.addr;
    let listener = TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr()?);
    let public_url = args.public_url.as_deref().map(public_url_arg).transpose()?;
    let advertise_url = args.advertise_url.as_deref().map(|url| http_url_arg("--advertise-url", url)).transpose()?;
    // The demo's status lists are served here: at the public URL, or the bound address.
    let served = public_url.clone().unwrap_or_else(|| url.clone());
    let featured = demo_keys.map(|keys| cli::demo::fill(&mut ledger, dir, keys, &served, now())).transpose()?;
    if read_only.is_none() && !ledger.is_empty() {
        ledger.publish_checkpoint()?;
    }
    println!("listening on {url}");
    if let (Some(learner), Some(keys)) = (featured, demo_keys) {
        println!("demo: open {url}/verify, or {url}/learners/{learner}");
        let key = keys.join("learner-01.key");
        println!("demo: credledger --server {url} share --learner-key {} --out bundle.json", key.display());
        println!("demo: {} (the operator is {})", verify_hint(keys), dir.config()?.operator);
    }
    let _ = io::stdout().flush();
    let config = ServerConfig {
        body_limit: args.body_limit,
        request_timeout: std::time::Duration::from_secs(args.request_timeout),
        write_rate: args.write_rate,
        verify_rate: args.verify_rate,
        read_rate: args.read_rate,
        workers: args.workers,
        read_only,
        tls,
        fetch_allow: args.fetch_allow.clone(),
        fetch_ca: args.fetch_ca_cert.clone(),
        public_url,
        advertise_url,
        ..ServerConfig::default()
    };
    credledger::http::serve(listener, ledger, Some(dir.operator_key()?), config)?;
    Ok(ExitCode::SUCCESS)
}

/// Issues a credential: in standard form 2 (eddsa-rdfc-2022, the issuer's registered name, a
/// random free index of the key's status list) where a ledger is in reach, with the key's lists
/// signed in the same group when none is current at the ledger's public URL; form 1 where the
/// event is only emitted for a log named by --origin. A refused index, or a list that changed
/// meanwhile, is retried.
fn issue(target: &Target, out: &Output, emit: bool, key: &SecretKey, payload: Payload) -> Result<ExitCode> {
    for attempt in 1..=cli::issuance::TRIES {
        let events = cli::issuance::sign(target, key, payload.clone(), emit, now())?;
        match append_reporting(target, out, emit, events, 1) {
            Err(e) if attempt < cli::issuance::TRIES && cli::issuance::sign_again(&e.to_string()) => continue,
            other => return other,
        }
    }
    unreachable!("the last try returns")
}

/// Signs an event by `key`, now; a credential gets its Open Badges 3.0 proof first.
fn sign(key: &SecretKey, payload: Payload) -> Result<SignedEvent> {
    sign_with(key, None, payload)
}

/// Signs an event by `key` (and `cosigner`, for a key link's new key), now.
fn sign_with(key: &SecretKey, cosigner: Option<&SecretKey>, payload: Payload) -> Result<SignedEvent> {
    cli::issuance::sign_event(key, cosigner, payload, now())
}

/// The key in `path`, or a new one written there (mode 0600) if the file does not exist.
fn key_file_or_new(path: &Path) -> Result<SecretKey> {
    if path.exists() {
        return Ok(SecretKey::read_file(path)?);
    }
    let key = SecretKey::generate()?;
    key.write_file(path)?;
    eprintln!("wrote new key {} to {} (mode 0600)", key.did(), path.display());
    Ok(key)
}

/// A `--public-url`: http(s), no query, fragment or trailing slash (it prefixes status list URLs).
fn public_url_arg(text: &str) -> Result<String> {
    http_url_arg("--public-url", text)
}

/// An http(s) base URL given as `flag`: no query, fragment or trailing slash (paths follow it).
fn http_url_arg(flag: &str, text: &str) -> Result<String> {
    let url = text.trim_end_matches('/');
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://"));
    let ok = rest.is_some_and(|r| {
        !r.is_empty() && r.len() <= 190 && r.bytes().all(|b| b.is_ascii_graphic() && !b"?#\"<>\\^`{|}".contains(&b))
    });
    if !ok {
        return Err(anyhow::Error::new(UsageError(format!(
            "{flag}: `{}` is not an http(s) URL without query or fragment",
            credledger::text::clip(text, 80)
        ))));
    }
    Ok(url.to_owned())
}

/// A did from the command line; `name` is how the user gave it: `--flag`, or `<ARG>` for a
/// positional argument.
fn did_arg(name: &str, text: &str) -> Result<Did> {
    text.parse().with_context(|| name.to_owned())
}

fn date_arg(flag: &str, text: &str) -> Result<Date> {
    text.parse().map_err(|e: String| anyhow!("--{flag}: {e}"))
}

/// A store named on the command line: `sled:DIR` (the ledger directory DIR's store, created if
/// missing) or `postgres:URL`.
fn store_arg(flag: &str, spec: &str) -> Result<credledger::store::SharedStore> {
    let store: credledger::store::SharedStore = match spec.split_once(':') {
        Some(("sled", dir)) => {
            std::fs::create_dir_all(dir).with_context(|| format!("--{flag}: creating {dir}"))?;
            Arc::new(credledger::SledStore::open(&Path::new(dir).join("store"))?)
        }
        Some(("postgres", rest)) => {
            // `postgres:URL`, or the URL alone (it starts `postgres://` too).
            let url = if rest.starts_with("//") { spec } else { rest };
            Arc::new(credledger::store::PostgresStore::open(url).with_context(|| format!("--{flag}"))?)
        }
        _ => bail!("--{flag}: `{}` is not sled:DIR or postgres:URL", credledger::store::postgres::redacted(spec)),
    };
    Ok(store)
}

fn timestamp_arg(flag: &str, text: Option<&str>) -> Result<Option<Timestamp>> {
    text.map(|t| t.parse().map_err(|e| anyhow!("--{flag}: {e}"))).transpose()
}

/// An event id from the command line; `name` as for [`did_arg`].
fn id_arg(name: &str, text: &str) -> Result<EventId> {
    text.parse().with_context(|| name.to_owned())
}

fn new_uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn skills_arg(text: &str) -> Result<Vec<Skill>> {
    let skills = Skill::parse_list(text);
    if skills.is_empty() {
        bail!("--skills: name at least one skill, as ID or ID=Label");
    }
    Ok(skills)
}

/// The credential an `issue` command describes, for the log named `origin`.
fn issue_payload(cmd: IssueCommand, origin: &str) -> Result<(PathBuf, bool, Payload)> {
    let ledger = Some(origin.to_owned());
    Ok(match cmd {
        IssueCommand::Course { common, code, credits, completed } => (
            common.issuer_key,
            common.emit,
            Payload::CourseCompleted(CourseCompleted {
                credential_uuid: new_uuid(),
                learner: did_arg("--learner", &common.learner)?,
                title: common.title,
                code,
                skills: skills_arg(&common.skills)?,
                credits,
                completed_on: date_arg("completed", &completed)?,
                ledger: ledger.clone(),
                vc_proof: None,
                vc: None,
            }),
        ),
        IssueCommand::Certificate { common, awarded, valid_until } => (
            common.issuer_key,
            common.emit,
            Payload::CertificateAwarded(CertificateAwarded {
                credential_uuid: new_uuid(),
                learner: did_arg("--learner", &common.learner)?,
                title: common.title,
                skills: skills_arg(&common.skills)?,
                awarded_on: date_arg("awarded", &awarded)?,
                valid_until: valid_until.map(|d| date_arg("valid-until", &d)).transpose()?,
                ledger: ledger.clone(),
                vc_proof: None,
                vc: None,
            }),
        ),
        IssueCommand::Apprenticeship { common, employer, hours, completed, apprenticeship } => (
            common.issuer_key,
            common.emit,
            Payload::ApprenticeshipCompleted(ApprenticeshipCompleted {
                credential_uuid: new_uuid(),
                learner: did_arg("--learner", &common.learner)?,
                title: common.title,
                employer,
                hours,
                skills: skills_arg(&common.skills)?,
                completed_on: date_arg("completed", &completed)?,
                apprenticeship: apprenticeship.map(|a| id_arg("--apprenticeship", &a)).transpose()?,
                ledger: ledger.clone(),
                vc_proof: None,
                vc: None,
            }),
        ),
    })
}

/// A status change; for a form-2 credential, with the lists it changes signed by the
/// credential's key (`--list-key`, default `--issuer-key`) in the same group, signed again
/// (bounded) when they changed meanwhile. Without that key the change goes alone, and the lists
/// are stale until `issuer sign-status-lists`.
fn status_change(
    target: &Target,
    out: &Output,
    a: StatusArgs,
    (kind, after): (fn(StatusChange) -> Payload, CredentialState),
) -> Result<ExitCode> {
    let origin = origin_arg(target, a.origin)?;
    let credential = id_arg("--credential", &a.credential)?;
    let change = StatusChange { credential, reason: a.reason, ledger: Some(origin.clone()) };
    let key = SecretKey::read_file(&a.issuer_key)?;
    let list_key = a.list_key.as_deref().map(SecretKey::read_file).transpose()?.unwrap_or_else(|| key.clone());
    // Where the credential's lists are: none for form 1, or when no ledger is in reach.
    let found = if a.emit { None } else { target.credential(&credential).ok() };
    let place = found.as_ref().and_then(|f| {
        let form = &f.record["event"]["body"]["vc"];
        Some((
            f.status.signed_by.clone(),
            (form["status_list"].as_u64()? as u32, form["status_index"].as_u64()? as u32),
        ))
    });
    let other_key = place.as_ref().map(|(signed_by, _)| signed_by).filter(|k| *k != list_key.did()).cloned();
    let place = place.filter(|_| other_key.is_none()).map(|(_, place)| place);
    let base = place.map(|_| target.status_base()).transpose()?;
    for attempt in 1..=cli::issuance::TRIES {
        let lists = match (place, &base) {
            (Some(place), Some(base)) => {
                let signing = Signing { base, origin: &origin, at: Timestamp::whole_seconds(now()) };
                signing.for_change(target, &list_key, place, after)?
            }
            _ => Vec::new(),
        };
        let event = sign(&key, kind(change.clone()))?;
        match append_reporting(target, out, a.emit, [vec![event], lists].concat(), 1) {
            Err(e) if attempt < cli::issuance::TRIES && lists::changed_meanwhile(&e) => continue,
            Ok(code) => {
                if let Some(signed_by) = &other_key {
                    eprintln!(
                        "note: the credential's status lists are {signed_by}'s: they stay stale until that key signs them (--list-key FILE, or `credledger issuer sign-status-lists --key FILE`)"
                    );
                }
                return Ok(code);
            }
            other => return other,
        }
    }
    unreachable!("the last try returns")
}

/// The operator's key: the flag's, else the ledger directory's.
fn operator_key(dir: &LedgerDir, args: &OperatorArgs) -> Result<SecretKey> {
    match &args.operator_key {
        Some(path) => Ok(SecretKey::read_file(path)?),
        None => Ok(dir.operator_key().context("the operator's key (pass --operator-key FILE)")?),
    }
}

fn issuer(cmd: IssuerCommand, target: &Target, dir: &LedgerDir, out: &Output) -> Result<ExitCode> {
    match cmd {
        IssuerCommand::Register { name, key, kind, operator } => {
            let category = match kind {
                Category::College => IssuerCategory::College,
                Category::University => IssuerCategory::University,
                Category::Provider => IssuerCategory::Provider,
                Category::Employer => IssuerCategory::Employer,
            };
            let ledger = Some(origin_arg(target, operator.origin.clone())?);
            let issuer = did_arg("--key", &key)?;
            let payload = Payload::IssuerRegistered(IssuerRegistered { issuer, name, category, ledger });
            let event = sign(&operator_key(dir, &operator)?, payload)?;
            append_or_emit(target, out, operator.emit, vec![event])
        }
        IssuerCommand::Suspend { issuer, reason, operator } => {
            let ledger = Some(origin_arg(target, operator.origin.clone())?);
            let issuer = did_arg("--issuer", &issuer)?;
            let payload = Payload::IssuerSuspended(IssuerSuspended { issuer, reason, ledger });
            let event = sign(&operator_key(dir, &operator)?, payload)?;
            append_or_emit(target, out, operator.emit, vec![event])
        }
        IssuerCommand::RevokeKey { issuer, key, reason, compromised_since, operator } => {
            let revoked = KeyRevoked {
                issuer: Some(did_arg("--issuer", &issuer)?),
                key: did_arg("--key", &key)?,
                reason,
                compromised_since: timestamp_arg("compromised-since", compromised_since.as_deref())?,
                ledger: Some(origin_arg(target, operator.origin.clone())?),
            };
            let event = sign(&operator_key(dir, &operator)?, Payload::KeyRevoked(revoked))?;
            append_or_emit(target, out, operator.emit, vec![event])
        }
        IssuerCommand::RotateKey { issuer_key, new_key, reason, compromised_since, emit, origin } => {
            let compromised_since = timestamp_arg("compromised-since", compromised_since.as_deref())?;
            let ledger = Some(origin_arg(target, origin)?);
            let old = SecretKey::read_file(&issuer_key)?;
            let new = key_file_or_new(&new_key)?;
            let added = KeyAdded { issuer: None, key: new.did().clone(), ledger: ledger.clone() };
            let added = sign(&old, Payload::KeyAdded(added))?;
            let revoked = KeyRevoked { issuer: None, key: old.did().clone(), reason, compromised_since, ledger };
            let revoked = sign(&new, Payload::KeyRevoked(revoked))?;
            append_or_emit(target, out, emit, vec![added, revoked])
        }
        IssuerCommand::SignStatusLists { key, origin } => {
            let key = SecretKey::read_file(&key)?;
            let origin = origin_arg(target, origin)?;
            let base = target.status_base()?;
            let mut signed = 0;
            for attempt in 1..=cli::issuance::TRIES {
                let signing = Signing { base: &base, origin: &origin, at: Timestamp::whole_seconds(now()) };
                let events = signing.stale(target, &key)?;
                signed = events.len();
                if events.is_empty() {
                    break;
                }
                match append_group(target, events) {
                    Err(e) if attempt < cli::issuance::TRIES && lists::changed_meanwhile(&e) => continue,
                    other => other.map(drop)?,
                }
                break;
            }
            out.emit(json!({"key": key.did(), "status_base": base, "signed": signed}), || {
                format!("signed {signed} status lists of {} for {base}", key.did())
            });
            Ok(ExitCode::SUCCESS)
        }
        IssuerCommand::List => {
            let issuers = target.issuers()?;
            out.emit(serde_json::to_value(&issuers)?, || issuers_table(&issuers));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints the events (`--emit`, one canonical JSON line each) or appends them, all or none.
fn append_or_emit(target: &Target, out: &Output, emit: bool, events: Vec<SignedEvent>) -> Result<ExitCode> {
    let shown = events.len();
    append_reporting(target, out, emit, events, shown)
}

/// [`append_or_emit`], reporting the first `shown` events (the rest are the signed status lists
/// that go with them).
fn append_reporting(
    target: &Target,
    out: &Output,
    emit: bool,
    events: Vec<SignedEvent>,
    shown: usize,
) -> Result<ExitCode> {
    if emit {
        for event in &events {
            println!("{}", String::from_utf8_lossy(event.canonical()));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut appended = append_group(target, events)?;
    appended.truncate(shown);
    let value = match appended.as_slice() {
        [one] => json!({"id": one.id, "seq": one.seq}),
        many => json!(many.iter().map(|a| json!({"id": a.id, "seq": a.seq})).collect::<Vec<_>>()),
    };
    out.emit(value, || {
        let line = |a: &credledger::Appended| {
            let note = if a.new { "" } else { " (already on the log)" };
            format!("{}\n{}{note}", a.id, a.seq)
        };
        appended.iter().map(line).collect::<Vec<_>>().join("\n")
    });
    Ok(ExitCode::SUCCESS)
}

/// Appends events as one all-or-none group: where each is, or the refusal.
fn append_group(target: &Target, events: Vec<SignedEvent>) -> Result<Vec<credledger::Appended>> {
    let values = events.iter().map(|e| e.value().clone()).collect();
    let mut outcomes = Vec::new();
    target.append([values], true, now(), &mut |o| outcomes.extend(o))?;
    // The refusal, not the events of the group that were withdrawn with it (an empty reason).
    if let Some(e) = outcomes.iter().filter_map(|o| o.as_ref().err()).find(|e| !e.is_empty()) {
        bail!("rejected: {e}");
    }
    outcomes.into_iter().collect::<std::result::Result<_, _>>().map_err(|_| anyhow!("rejected: not appended"))
}

/// Where `verify` looks for trusted operator keys when given none, in order: yours, then the
/// demo's (which trusts the demo's operator for the demo's log only).
const DEFAULT_TRUST: [&str; 2] = ["keys/trust.json", "keys/demo/trust.json"];

fn read_trust(path: &Path) -> Result<Trust> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a trust file", path.display()))
}
