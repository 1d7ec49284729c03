//! The `credledger` command line: parse the arguments, make one library call, render the result.
//! Errors print as one line on stderr; exit 0 on success, 1 on a rejected event or any other
//! failure, 2 on a usage error.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};
use credledger::event::{
    ApprenticeshipCompleted, CertificateAwarded, CourseCompleted, Date, IssuerCategory, IssuerRegistered,
    IssuerSuspended, KeyAdded, KeyRevoked, Skill, StatusChange, Timestamp,
};
use credledger::projection::Profile;
use credledger::store::dir::LedgerDir;
use credledger::{Appended, Did, Event, EventId, Ledger, Payload, Record, SecretKey, SignedEvent, SledStore, demo};
use serde_json::{Value, json};
use time::OffsetDateTime;

#[derive(Parser)]
#[command(name = "credledger", version, about = "An event-sourced, signed credentialing ledger")]
struct Cli {
    /// The ledger directory.
    #[arg(long, global = true, env = "CREDLEDGER_DIR", default_value = "ledger")]
    ledger: PathBuf,
    /// Print machine-readable JSON.
    #[arg(long, global = true)]
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
    },
    /// Write a new Ed25519 key file (mode 0600); prints its did.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
    /// Register, suspend and list issuers; rotate an issuer's key.
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Issue a credential to a learner.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Revoke a credential (final).
    Revoke(StatusArgs),
    /// Suspend a credential until it is reinstated.
    Suspend(StatusArgs),
    /// Reinstate a suspended credential.
    Reinstate(StatusArgs),
    /// Append signed events made elsewhere: one JSON event, a JSON array, or JSON Lines.
    Submit {
        file: PathBuf,
        /// Refuse the whole file if any event is refused.
        #[arg(long)]
        atomic: bool,
    },
    /// Print records.
    Log {
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long)]
        limit: Option<usize>,
    },
    /// A learner's skill profile.
    Profile { did: String },
    /// Drop the projections and rebuild them from the log.
    Rebuild,
    /// Print the latest signed checkpoint.
    Checkpoint,
    /// An inclusion proof (--seq N [--size M]) or a consistency proof (--from M --to N).
    Prove {
        #[arg(long, conflicts_with_all = ["from", "to"])]
        seq: Option<u64>,
        #[arg(long, requires = "seq")]
        size: Option<u64>,
        #[arg(long, requires = "to")]
        from: Option<u64>,
        #[arg(long, requires = "from")]
        to: Option<u64>,
    },
    /// Recompute the tree and every projection from the log; report any difference.
    Audit,
    /// Build a signed profile bundle for an employer.
    Share {
        #[arg(long)]
        learner_key: PathBuf,
        /// Only these credential ids (default: every active credential).
        #[arg(long, value_delimiter = ',')]
        only: Option<Vec<String>>,
        #[arg(long)]
        audience: Option<String>,
        #[arg(long)]
        nonce: Option<String>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a bundle offline: every check by name, then VALID or INVALID.
    Verify {
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
    /// Fill a new ledger with believable sample data, then show one learner's profile.
    Demo {
        /// Where the demo's key files go.
        #[arg(long, default_value = "keys/demo")]
        keys: PathBuf,
        #[arg(long, default_value = "demo.credledger.dev")]
        origin: String,
    },
}

#[derive(Subcommand)]
enum IssuerCommand {
    /// Admit an institution (signed by the operator).
    Register {
        #[arg(long)]
        name: String,
        /// The issuer's did:key (its first signing key).
        #[arg(long)]
        key: String,
        #[arg(long, value_enum, default_value_t = Category::College)]
        kind: Category,
        #[command(flatten)]
        operator: OperatorArgs,
    },
    /// Suspend an issuer (signed by the operator): it signs nothing more.
    Suspend {
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        operator: OperatorArgs,
    },
    /// Add a new key (created if the file does not exist) and revoke the old one.
    RotateKey {
        #[arg(long)]
        issuer_key: PathBuf,
        #[arg(long)]
        new_key: PathBuf,
        #[arg(long, default_value = "key rotation")]
        reason: String,
        #[arg(long)]
        emit: bool,
    },
    /// List registered issuers and their keys.
    List,
}

#[derive(Args)]
struct OperatorArgs {
    /// The operator's key file (default: the ledger's operator.key).
    #[arg(long)]
    operator_key: Option<PathBuf>,
    /// Print the signed event instead of appending it.
    #[arg(long)]
    emit: bool,
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
    #[arg(long)]
    title: String,
    /// Skills: `ID` or `ID=Label`, comma-separated (ESCO URI, O*NET code, Lightcast id, ...).
    #[arg(long)]
    skills: String,
    /// Print the signed event instead of appending it.
    #[arg(long)]
    emit: bool,
}

#[derive(Subcommand)]
enum IssueCommand {
    /// A completed course.
    Course {
        #[command(flatten)]
        common: IssueArgs,
        #[arg(long)]
        code: String,
        #[arg(long, allow_hyphen_values = true)]
        credits: f64,
        #[arg(long)]
        completed: String,
    },
    /// An awarded certificate.
    Certificate {
        #[command(flatten)]
        common: IssueArgs,
        #[arg(long)]
        awarded: String,
        #[arg(long)]
        valid_until: Option<String>,
    },
    /// A completed apprenticeship.
    Apprenticeship {
        #[command(flatten)]
        common: IssueArgs,
        #[arg(long)]
        employer: String,
        #[arg(long)]
        hours: u32,
        #[arg(long)]
        completed: String,
        /// The id of the `apprenticeship.started` event, if it is on the log.
        #[arg(long)]
        apprenticeship: Option<String>,
    },
}

#[derive(Args)]
struct StatusArgs {
    #[arg(long)]
    issuer_key: PathBuf,
    /// The credential id (64 hex).
    #[arg(long)]
    credential: String,
    #[arg(long)]
    reason: String,
    /// Print the signed event instead of appending it.
    #[arg(long)]
    emit: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// An error and its causes on one line.
fn one_line(e: &anyhow::Error) -> String {
    e.chain().map(ToString::to_string).collect::<Vec<_>>().join(": ")
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn run(cli: Cli) -> Result<ExitCode> {
    let dir = LedgerDir::new(&cli.ledger);
    let out = Output { json: cli.json };
    match cli.command {
        Command::Init { origin } => {
            let (config, operator) = dir.create(&origin, false)?;
            let mut ledger = open(&dir)?;
            ledger.sign_checkpoints_with(dir.operator_key()?)?;
            let genesis = sign(
                &operator,
                Payload::Genesis(credledger::event::Genesis {
                    origin: origin.clone(),
                    operator: config.operator.clone(),
                }),
            )?;
            ledger.append(genesis.canonical(), now()).context("appending genesis")?;
            out.emit(json!({"operator": config.operator, "origin": origin, "ledger": dir.path()}), || {
                format!(
                    "{}\ncreated ledger `{origin}` at {}; operator key in {}",
                    config.operator,
                    dir.path().display(),
                    dir.operator_key_path().display()
                )
            });
        }
        Command::Keygen { out: path } => {
            let key = SecretKey::generate()?;
            key.write_file(&path)?;
            out.emit(json!({"did": key.did(), "file": path}), || {
                format!("{}\nwrote {} (mode 0600)", key.did(), path.display())
            });
        }
        Command::Issuer(cmd) => return issuer(cmd, &dir, &out),
        Command::Issue(cmd) => {
            let (key_file, emit, payload) = issue_payload(cmd)?;
            let key = SecretKey::read_file(&key_file)?;
            return append_or_emit(&dir, &out, emit, vec![sign(&key, payload)?]);
        }
        Command::Revoke(a) => return status_change(&dir, &out, a, Payload::CredentialRevoked),
        Command::Suspend(a) => return status_change(&dir, &out, a, Payload::CredentialSuspended),
        Command::Reinstate(a) => {
            return status_change(&dir, &out, a, Payload::CredentialReinstated);
        }
        Command::Submit { file, atomic } => return submit(&dir, &out, &file, atomic),
        Command::Log { from, limit } => {
            let ledger = open(&dir)?;
            let records = ledger.records(from, limit.unwrap_or(usize::MAX))?;
            out.emit(Value::Array(records.iter().map(Record::to_value).collect()), || log_table(&records));
        }
        Command::Profile { did } => {
            let did: Did = did.parse().context("DID")?;
            let ledger = open(&dir)?;
            let profile = ledger.profile(&did);
            out.emit(serde_json::to_value(&profile)?, || profile_text(&profile));
        }
        Command::Rebuild => {
            let mut ledger = open(&dir)?;
            let differed = ledger.rebuild()?;
            let note = if differed {
                "the stored projections differed and were replaced"
            } else {
                "identical to the stored projections"
            };
            out.emit(json!({"records": ledger.len(), "differed": differed}), || {
                format!("rebuilt projections from {} records: {note}", ledger.len())
            });
        }
        Command::Checkpoint => {
            let ledger = open(&dir)?;
            let (size, text) = ledger.latest_checkpoint()?.context("the log has no signed checkpoint yet")?;
            out.emit(json!({"size": size, "checkpoint": text}), || text.clone());
        }
        Command::Prove { seq, size, from, to } => {
            let ledger = open(&dir)?;
            let value = match (seq, from, to) {
                (Some(seq), _, _) => {
                    let size = size.unwrap_or(ledger.len());
                    let path = ledger.inclusion_proof(seq, size)?;
                    let record = ledger.records(seq, 1)?.pop().context("no such record")?;
                    let leaf = credledger::merkle::leaf_hash(&record.canonical());
                    json!({"seq": seq, "size": size, "leaf_hash": leaf, "path": path})
                }
                (None, Some(from), Some(to)) => {
                    json!({"from": from, "to": to, "path": ledger.consistency_proof(from, to)?})
                }
                _ => bail!("prove takes --seq N [--size M], or --from M --to N"),
            };
            out.emit(value.clone(), || {
                let path = value["path"]
                    .as_array()
                    .map(|p| p.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"))
                    .unwrap_or_default();
                match value.get("seq") {
                    Some(seq) => format!(
                        "inclusion of seq {seq} in the tree of size {}\nleaf {}\n{path}",
                        value["size"],
                        value["leaf_hash"].as_str().unwrap_or_default()
                    ),
                    None => format!("consistency of size {} with size {}\n{path}", value["from"], value["to"]),
                }
            });
        }
        Command::Audit => {
            let ledger = open(&dir)?;
            let report = ledger.audit()?;
            out.emit(serde_json::to_value(&report)?, || report.to_string());
            if !report.problems.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Share { learner_key, only, audience, nonce, out: path } => {
            let learner = SecretKey::read_file(&learner_key)?;
            let only =
                only.map(|ids| ids.iter().map(|id| id_arg("only", id)).collect::<Result<Vec<_>>>()).transpose()?;
            let mut ledger = open_for_append(&dir)?;
            let request = credledger::bundle::ShareRequest { only, audience, nonce };
            let bundle = credledger::bundle::build(&mut ledger, &learner, &request, now())?;
            let text = serde_json::to_string_pretty(&bundle)?;
            std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
            let shown = bundle.status.credentials.len();
            out.emit(json!({"out": path, "credentials": shown, "records": bundle.entries.len()}), || {
                format!(
                    "wrote {} ({shown} credentials, {} records with inclusion proofs, checkpoint size {})",
                    path.display(),
                    bundle.entries.len(),
                    bundle.status.size
                )
            });
        }
        Command::Verify { bundle, operator, trust, audience, nonce, max_age } => {
            let trust = match (operator, trust) {
                (Some(did), _) => credledger::bundle::Trust::operator(did_arg("operator", &did)?),
                (None, Some(path)) => read_trust(&path)?,
                (None, None) if Path::new(DEFAULT_TRUST).exists() => read_trust(Path::new(DEFAULT_TRUST))?,
                (None, None) => {
                    bail!("verify needs the operator's key: --operator DID or --trust FILE (or {DEFAULT_TRUST})")
                }
            };
            let bytes = std::fs::read(&bundle).with_context(|| format!("reading {}", bundle.display()))?;
            let options =
                credledger::bundle::VerifyOptions { audience, nonce, max_age: max_age.map(time::Duration::seconds) };
            let report = credledger::bundle::verify(&bytes, &trust, &options, now());
            out.emit(serde_json::to_value(&report)?, || report_text(&report));
            if !report.is_valid() {
                return Ok(ExitCode::from(1));
            }
        }
        Command::Demo { keys, origin } => return run_demo(&dir, &out, &keys, &origin),
    }
    Ok(ExitCode::SUCCESS)
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

fn open(dir: &LedgerDir) -> Result<Ledger<SledStore>> {
    let store = dir.open_store()?;
    Ledger::open(store).with_context(|| format!("opening the ledger at {}", dir.path().display()))
}

/// Opens the ledger to append: checkpoints are signed with the operator key in its directory.
fn open_for_append(dir: &LedgerDir) -> Result<Ledger<SledStore>> {
    let mut ledger = open(dir)?;
    ledger.sign_checkpoints_with(dir.operator_key()?)?;
    Ok(ledger)
}

fn sign(key: &SecretKey, payload: Payload) -> Result<SignedEvent> {
    Ok(Event::new(key.did().clone(), Timestamp::whole_seconds(now()), payload).sign(key, None)?)
}

fn did_arg(flag: &str, text: &str) -> Result<Did> {
    text.parse().with_context(|| format!("--{flag}"))
}

fn date_arg(flag: &str, text: &str) -> Result<Date> {
    text.parse().map_err(|e: String| anyhow!("--{flag}: {e}"))
}

fn id_arg(flag: &str, text: &str) -> Result<EventId> {
    text.parse().with_context(|| format!("--{flag}"))
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

fn issue_payload(cmd: IssueCommand) -> Result<(PathBuf, bool, Payload)> {
    Ok(match cmd {
        IssueCommand::Course { common, code, credits, completed } => (
            common.issuer_key,
            common.emit,
            Payload::CourseCompleted(CourseCompleted {
                credential_uuid: new_uuid(),
                learner: did_arg("learner", &common.learner)?,
                title: common.title,
                code,
                skills: skills_arg(&common.skills)?,
                credits,
                completed_on: date_arg("completed", &completed)?,
                vc_proof: None,
            }),
        ),
        IssueCommand::Certificate { common, awarded, valid_until } => (
            common.issuer_key,
            common.emit,
            Payload::CertificateAwarded(CertificateAwarded {
                credential_uuid: new_uuid(),
                learner: did_arg("learner", &common.learner)?,
                title: common.title,
                skills: skills_arg(&common.skills)?,
                awarded_on: date_arg("awarded", &awarded)?,
                valid_until: valid_until.map(|d| date_arg("valid-until", &d)).transpose()?,
                vc_proof: None,
            }),
        ),
        IssueCommand::Apprenticeship { common, employer, hours, completed, apprenticeship } => (
            common.issuer_key,
            common.emit,
            Payload::ApprenticeshipCompleted(ApprenticeshipCompleted {
                credential_uuid: new_uuid(),
                learner: did_arg("learner", &common.learner)?,
                title: common.title,
                employer,
                hours,
                skills: skills_arg(&common.skills)?,
                completed_on: date_arg("completed", &completed)?,
                apprenticeship: apprenticeship.map(|a| id_arg("apprenticeship", &a)).transpose()?,
                vc_proof: None,
            }),
        ),
    })
}

fn status_change(dir: &LedgerDir, out: &Output, a: StatusArgs, kind: fn(StatusChange) -> Payload) -> Result<ExitCode> {
    let change = StatusChange { credential: id_arg("credential", &a.credential)?, reason: a.reason };
    let key = SecretKey::read_file(&a.issuer_key)?;
    append_or_emit(dir, out, a.emit, vec![sign(&key, kind(change))?])
}

fn operator_key(dir: &LedgerDir, args: &OperatorArgs) -> Result<SecretKey> {
    match &args.operator_key {
        Some(path) => Ok(SecretKey::read_file(path)?),
        None => Ok(dir.operator_key()?),
    }
}

fn issuer(cmd: IssuerCommand, dir: &LedgerDir, out: &Output) -> Result<ExitCode> {
    match cmd {
        IssuerCommand::Register { name, key, kind, operator } => {
            let category = match kind {
                Category::College => IssuerCategory::College,
                Category::University => IssuerCategory::University,
                Category::Provider => IssuerCategory::Provider,
                Category::Employer => IssuerCategory::Employer,
            };
            let payload = Payload::IssuerRegistered(IssuerRegistered { issuer: did_arg("key", &key)?, name, category });
            let event = sign(&operator_key(dir, &operator)?, payload)?;
            append_or_emit(dir, out, operator.emit, vec![event])
        }
        IssuerCommand::Suspend { issuer, reason, operator } => {
            let payload = Payload::IssuerSuspended(IssuerSuspended { issuer: did_arg("issuer", &issuer)?, reason });
            let event = sign(&operator_key(dir, &operator)?, payload)?;
            append_or_emit(dir, out, operator.emit, vec![event])
        }
        IssuerCommand::RotateKey { issuer_key, new_key, reason, emit } => {
            let old = SecretKey::read_file(&issuer_key)?;
            let new = if new_key.exists() {
                SecretKey::read_file(&new_key)?
            } else {
                let key = SecretKey::generate()?;
                key.write_file(&new_key)?;
                eprintln!("wrote new key {} to {} (mode 0600)", key.did(), new_key.display());
                key
            };
            let added = sign(&old, Payload::KeyAdded(KeyAdded { issuer: None, key: new.did().clone() }))?;
            let revoked = sign(
                &new,
                Payload::KeyRevoked(KeyRevoked {
                    issuer: None,
                    key: old.did().clone(),
                    reason,
                    compromised_since: None,
                }),
            )?;
            append_or_emit(dir, out, emit, vec![added, revoked])
        }
        IssuerCommand::List => {
            let ledger = open(dir)?;
            let issuers: Vec<_> = ledger.state().registry.issuers().cloned().collect();
            out.emit(serde_json::to_value(&issuers)?, || {
                let rows = issuers.iter().flat_map(|i| {
                    i.keys.iter().map(move |k| {
                        let state = match (i.suspended_seq, k.revoked_seq) {
                            (Some(s), _) => format!("issuer suspended at seq {s}"),
                            (None, Some(s)) => format!("revoked at seq {s}"),
                            (None, None) => "active".into(),
                        };
                        vec![
                            i.name.clone(),
                            format!("{:?}", i.category).to_lowercase(),
                            k.key.to_string(),
                            format!("{}", k.added_seq),
                            state,
                        ]
                    })
                });
                table(&["ISSUER", "KIND", "KEY", "ADDED", "STATE"], rows.collect())
            });
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints the events (`--emit`, one JSON line each) or appends them as one batch.
fn append_or_emit(dir: &LedgerDir, out: &Output, emit: bool, events: Vec<SignedEvent>) -> Result<ExitCode> {
    if emit {
        for event in &events {
            println!("{}", String::from_utf8_lossy(event.canonical()));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut ledger = open_for_append(dir)?;
    let values = events.iter().map(|e| e.value().clone()).collect();
    let results = ledger.append_values(values, now(), true);
    let mut appended = Vec::new();
    for result in results {
        appended.push(result.map_err(|e| anyhow!("rejected: {e}"))?);
    }
    print_appended(out, &appended);
    Ok(ExitCode::SUCCESS)
}

fn print_appended(out: &Output, appended: &[Appended]) {
    let value = match appended {
        [one] => json!({"id": one.id, "seq": one.seq}),
        many => json!(many.iter().map(|a| json!({"id": a.id, "seq": a.seq})).collect::<Vec<_>>()),
    };
    out.emit(value, || {
        appended
            .iter()
            .map(|a| {
                let note = if a.new { "" } else { " (already on the log)" };
                format!("{}\n{}{note}", a.id, a.seq)
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
}

fn submit(dir: &LedgerDir, out: &Output, file: &Path, atomic: bool) -> Result<ExitCode> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    // One JSON document (an event or an array of events), else JSON Lines.
    let mut items: Vec<(usize, Result<Value, String>)> = match credledger::canonical::parse_strict(&bytes) {
        Ok(Value::Array(events)) => events.into_iter().enumerate().map(|(i, v)| (i + 1, Ok(v))).collect(),
        Ok(event) => vec![(1, Ok(event))],
        Err(_) => String::from_utf8_lossy(&bytes)
            .lines()
            .enumerate()
            .filter(|(_, line)| !line.trim().is_empty())
            .map(|(i, line)| (i + 1, credledger::canonical::parse_strict(line.as_bytes()).map_err(|e| e.to_string())))
            .collect(),
    };
    if items.is_empty() {
        bail!("{}: no events in the file", file.display());
    }
    let malformed: Vec<(usize, String)> =
        items.iter().filter_map(|(n, r)| r.as_ref().err().map(|e| (*n, e.clone()))).collect();
    items.retain(|(_, r)| r.is_ok());
    let (lines, values): (Vec<usize>, Vec<Value>) = items.into_iter().map(|(n, r)| (n, r.unwrap_or_default())).unzip();
    let mut ledger = open_for_append(dir)?;
    let results =
        if atomic && !malformed.is_empty() { Vec::new() } else { ledger.append_values(values, now(), atomic) };
    let mut report = Vec::new();
    let mut failed = malformed.len();
    for (n, e) in malformed {
        eprintln!("line {n}: rejected: {e}");
        report.push(json!({"line": n, "error": e}));
    }
    for (n, result) in lines.into_iter().zip(results) {
        match result {
            Ok(a) => report.push(json!({"line": n, "id": a.id, "seq": a.seq, "new": a.new})),
            Err(e) => {
                failed += 1;
                eprintln!("line {n}: rejected: {e}");
                report.push(json!({"line": n, "error": e.to_string()}));
            }
        }
    }
    let refused_all = atomic && failed > 0;
    if refused_all {
        // Nothing was appended: the good events have an id but no place on the log.
        for entry in report.iter_mut().filter_map(Value::as_object_mut) {
            if entry.remove("seq").is_some() {
                entry.remove("new");
                entry.insert("appended".into(), false.into());
            }
        }
    }
    let count = |new: bool| report.iter().filter(|r| r.get("new").and_then(Value::as_bool) == Some(new)).count();
    let (appended, present) = if refused_all { (0, 0) } else { (count(true), count(false)) };
    let summary = json!({"appended": appended, "already_present": present, "rejected": failed, "events": report});
    out.emit(summary, || {
        let mut lines: Vec<String> = report
            .iter()
            .filter(|r| !refused_all && r.get("seq").is_some())
            .map(|r| {
                format!(
                    "line {}: seq {} id {}{}",
                    r["line"],
                    r["seq"],
                    r["id"].as_str().unwrap_or_default(),
                    if r["new"] == true { "" } else { " (already on the log)" }
                )
            })
            .collect();
        let note = if refused_all { " (--atomic: nothing appended)" } else { "" };
        lines.push(format!("{appended} appended, {present} already on the log, {failed} rejected{note}"));
        lines.join("\n")
    });
    Ok(if failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn run_demo(dir: &LedgerDir, out: &Output, keys_dir: &Path, origin: &str) -> Result<ExitCode> {
    if dir.exists() {
        let config = dir.config()?;
        if !config.demo {
            bail!("a ledger that is not a demo already exists at {}; pass --ledger NEWDIR", dir.path().display());
        }
        eprintln!("the demo ledger at {} is already filled; showing it", dir.path().display());
    } else {
        let (_, operator) = dir.create(origin, true)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness: {e}"))?;
        let demo = demo::build(&operator, origin, seed, now())?;
        if keys_dir.exists() {
            std::fs::remove_dir_all(keys_dir)
                .with_context(|| format!("clearing old demo keys in {}", keys_dir.display()))?;
        }
        for (name, key) in &demo.keys {
            key.write_file(&keys_dir.join(format!("{name}.key")))?;
        }
        std::fs::write(keys_dir.join("featured-learner.did"), format!("{}\n", demo.featured_learner))?;
        let mut ledger = open_for_append(dir)?;
        let values = demo.events.iter().map(|e| e.value().clone()).collect();
        for result in ledger.append_values(values, now(), true) {
            result.context("appending the demo events")?;
        }
        eprintln!(
            "filled a demo ledger at {} with {} events; keys in {}",
            dir.path().display(),
            ledger.len(),
            keys_dir.display()
        );
    }
    let featured =
        std::fs::read_to_string(keys_dir.join("featured-learner.did")).ok().and_then(|t| t.trim().parse::<Did>().ok());
    let ledger = open(dir)?;
    let learner = match featured {
        Some(did) => did,
        None => {
            ledger.state().registry.issuers().next().map(|i| i.did.clone()).context("the demo ledger has no issuers")?
        }
    };
    let profile = ledger.profile(&learner);
    out.emit(serde_json::to_value(&profile)?, || {
        format!(
            "{}\n\nTry: credledger --ledger {} log\n     credledger --ledger {} issuer list\n     credledger --ledger {} profile {}",
            profile_text(&profile),
            dir.path().display(),
            dir.path().display(),
            dir.path().display(),
            learner
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// Where `verify` looks for trusted operator keys when given none.
const DEFAULT_TRUST: &str = "keys/trust.json";

fn read_trust(path: &Path) -> Result<credledger::bundle::Trust> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{}: not a trust file", path.display()))
}

fn report_text(report: &credledger::bundle::Report) -> String {
    let mut lines: Vec<String> = report
        .checks
        .iter()
        .map(|c| format!("{}  {:<22} {}", if c.ok { "pass" } else { "FAIL" }, c.name, c.detail))
        .collect();
    for c in &report.credentials {
        let status = c.status.map_or("no status", |s| s.as_str());
        lines.push(format!(
            "      credential {} {:?} \"{}\" from {}: {status}",
            c.id,
            c.kind,
            c.title,
            c.issuer_name.as_deref().unwrap_or("?")
        ));
    }
    lines.push(report.verdict.to_owned());
    lines.join("\n")
}

/// Columns padded to their widest cell.
fn table(headers: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned()
    };
    let mut out = vec![line(headers.to_vec())];
    out.extend(rows.iter().map(|r| line(r.iter().map(String::as_str).collect())));
    out.join("\n")
}

fn short(did: &Did) -> String {
    let s = did.multibase();
    format!("{}…{}", &s[..8], &s[s.len() - 4..])
}

fn log_table(records: &[Record]) -> String {
    let rows = records
        .iter()
        .map(|r| {
            let p = &r.event.event.payload;
            let summary = match p {
                Payload::Genesis(g) => format!("origin {}", g.origin),
                Payload::IssuerRegistered(i) => {
                    format!("{} ({})", i.name, format!("{:?}", i.category).to_lowercase())
                }
                Payload::CredentialRevoked(c) | Payload::CredentialSuspended(c) | Payload::CredentialReinstated(c) => {
                    format!("{}… {}", &c.credential.to_string()[..12], c.reason)
                }
                Payload::KeyAdded(k) => format!("+ {}", short(&k.key)),
                Payload::KeyRevoked(k) => format!("- {} {}", short(&k.key), k.reason),
                other => other.credential().map(|c| format!("{} → {}", c.title, short(c.learner))).unwrap_or_default(),
            };
            vec![
                r.seq.to_string(),
                r.recorded_at.to_string(),
                p.kind().to_owned(),
                short(&r.event.event.author),
                summary,
            ]
        })
        .collect();
    table(&["SEQ", "RECORDED", "KIND", "AUTHOR", "SUMMARY"], rows)
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 { format!("{n:.0}") } else { format!("{n}") }
}

fn profile_text(p: &Profile) -> String {
    let mut out = vec![format!("Learner {}", p.learner)];
    if let Some(seq) = p.as_of_seq {
        out.push(format!("As of seq {seq}"));
    }
    out.push(String::new());
    out.push(format!("Credentials ({})", p.credentials.len()));
    let rows = p
        .credentials
        .iter()
        .map(|c| {
            let s = &c.summary;
            let amount = match (s.credits, s.hours) {
                (Some(cr), _) => format!("{} credits", number(cr)),
                (_, Some(h)) => format!("{h} hours"),
                _ => String::new(),
            };
            vec![
                c.status.as_str().into(),
                format!("{:?}", s.kind).to_lowercase(),
                s.title.clone(),
                c.issuer.name.clone(),
                s.completed_on.to_string(),
                amount,
                s.id.to_string(),
            ]
        })
        .collect();
    out.push(table(&["STATUS", "KIND", "TITLE", "ISSUER", "DATE", "AMOUNT", "ID"], rows));
    out.push(String::new());
    out.push(format!("Skills ({}), with the active credentials that evidence them", p.skills.len()));
    let rows = p
        .skills
        .iter()
        .map(|s| {
            vec![s.id.clone(), s.label.clone(), s.evidence.len().to_string(), number(s.credits), s.hours.to_string()]
        })
        .collect();
    out.push(table(&["SKILL", "LABEL", "EVIDENCE", "CREDITS", "HOURS"], rows));
    if !p.apprenticeships_in_progress.is_empty() {
        out.push(String::new());
        out.push("Apprenticeships in progress".into());
        let rows = p
            .apprenticeships_in_progress
            .iter()
            .map(|a| vec![a.title.clone(), a.employer.clone(), a.started_on.to_string(), a.hours_logged.to_string()])
            .collect();
        out.push(table(&["TITLE", "EMPLOYER", "STARTED", "HOURS LOGGED"], rows));
    }
    out.push(String::new());
    out.push(format!(
        "Totals: {} credits, {} apprenticeship hours",
        number(p.totals.credits),
        p.totals.apprenticeship_hours
    ));
    out.join("\n")
}
