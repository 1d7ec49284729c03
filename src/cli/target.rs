//! Where a command acts: the ledger directory on this machine, or a running ledger over HTTP
//! (`--server URL`). Either way events are signed here, with key files that never leave.

use crate::cli::lists::ListNow;
use anyhow::{Context, Result, anyhow, bail};
use credledger::bundle::{Bundle, ShareRequest};
use credledger::event::StandardForm;
use credledger::http::client::Client;
use credledger::http::client::ClientError;
use credledger::projection::Profile;
use credledger::projection::registry::Issuer;
use credledger::status_list::{Bitstring, LIST_SIZE, Purpose};
use credledger::store::SharedStore;
use credledger::store::dir::LedgerDir;
use credledger::{Appended, Did, Ledger, Record};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// The most events one `POST /v1/events` carries.
const POST_CHUNK: usize = 1000;
/// How many times the same events are posted again while the server answers `202 pending` (not
/// committed within its request timeout, but not refused either: resubmitting is idempotent).
const PENDING_RETRIES: usize = 5;
/// How many records `log` reads at a time (the server's own page bound).
const RECORDS_PAGE: usize = 1000;
/// How many events one durable commit takes when appending a file.
pub const GROUP: usize = 1000;

/// A ledger directory or a ledger server.
pub enum Target {
    Local(LedgerDir),
    Remote(Client),
}

/// One event's fate: its place on the log, or why it was refused (an empty reason: it was not
/// appended because another event of its all-or-none group was refused).
pub type Outcome = std::result::Result<Appended, String>;

impl Target {
    /// The ledger directory, for commands that only work on one.
    pub fn dir(&self, command: &str) -> Result<&LedgerDir> {
        match self {
            Target::Local(dir) => Ok(dir),
            Target::Remote(_) => bail!("`{command}` works on a ledger directory; it has no --server form"),
        }
    }

    /// The origin of the log, if it can be learned (the directory's config or the server's
    /// checkpoint); an issuer who has neither signs events without it.
    pub fn origin(&self) -> Option<String> {
        match self {
            Target::Local(dir) => dir.config().ok().map(|c| c.origin),
            Target::Remote(client) => client.get_text("/v1/checkpoint").ok()?.lines().next().map(str::to_owned),
        }
    }

    /// Opens the local ledger to read: nothing is written (on a shared database, a reader never
    /// puts back projection entries older than what other nodes committed).
    pub fn open(dir: &LedgerDir) -> Result<Ledger<SharedStore>> {
        let store = dir.open_shared_store()?;
        Ledger::open(store).with_context(|| format!("opening the ledger at {}", dir.path().display()))
    }

    /// Opens the local ledger with its operator key, to sign checkpoints (a bundle's, if the log
    /// has none over its whole length yet); projections are not written.
    fn open_signing(dir: &LedgerDir) -> Result<Ledger<SharedStore>> {
        let mut ledger = Self::open(dir)?;
        ledger.sign_checkpoints_with(dir.operator_key()?)?;
        Ok(ledger)
    }

    /// Opens the local ledger to append: checkpoints are signed with its operator key, and stored
    /// projections that lag the log are brought up to date (fenced by the log's length).
    pub fn open_for_append(dir: &LedgerDir) -> Result<Ledger<SharedStore>> {
        let mut ledger = Self::open_signing(dir)?;
        ledger.store_catch_up()?;
        Ok(ledger)
    }

    /// Appends signed events, one durable group per chunk (with `atomic`, pass one chunk: one
    /// refusal refuses it all; over a server, at most 1000 events). `done` hears each chunk's
    /// outcomes as it commits; the ledger is opened once for all chunks.
    pub fn append(
        &self,
        chunks: impl IntoIterator<Item = Vec<Value>>,
        atomic: bool,
        now: OffsetDateTime,
        done: &mut dyn FnMut(Vec<Outcome>),
    ) -> Result<()> {
        match self {
            Target::Local(dir) => {
                let mut ledger = Self::open_for_append(dir)?;
                // A pipeline: this thread checks the signatures of the next chunk while another
                // commits the chunk before it (a durable flush, mostly waiting on the disk).
                std::thread::scope(|scope| {
                    let (checked, to_commit) = std::sync::mpsc::sync_channel(1);
                    let (committed, outcomes) = std::sync::mpsc::channel::<Vec<Outcome>>();
                    let committer = scope.spawn(move || {
                        for verified in to_commit {
                            let results = ledger.append_verified(verified, now, atomic);
                            let outcome = results.into_iter().map(|r| r.map_err(|e| e.to_string())).collect();
                            if committed.send(outcome).is_err() {
                                break;
                            }
                        }
                    });
                    for chunk in chunks {
                        if checked.send(credledger::ledger::verify_events(chunk)).is_err() {
                            break;
                        }
                        outcomes.try_iter().for_each(&mut *done);
                    }
                    drop(checked);
                    outcomes.iter().for_each(&mut *done);
                    committer.join().map_err(|_| anyhow!("the committing thread panicked"))
                })
            }
            Target::Remote(client) => {
                for chunk in chunks {
                    if atomic && chunk.len() > POST_CHUNK {
                        bail!("--atomic over --server takes at most {POST_CHUNK} events (one request)");
                    }
                    for posted in chunk.chunks(POST_CHUNK) {
                        done(post_events(client, posted, atomic)?);
                    }
                }
                Ok(())
            }
        }
    }

    /// The records from `from` on, at most `limit`, handed to `each` a page at a time (so a log
    /// of any length is read in bounded memory) until the log ends or `each` says stop (`false`).
    pub fn records_by_page(&self, from: u64, limit: usize, mut each: impl FnMut(Vec<Record>) -> bool) -> Result<()> {
        let source = match self {
            Target::Local(dir) => RecordSource::Ledger(Box::new(Self::open(dir)?)),
            Target::Remote(client) => RecordSource::Server(client),
        };
        let (mut next, mut left) = (from, limit);
        while left > 0 {
            let records = source.read(next, left.min(RECORDS_PAGE))?;
            if records.is_empty() {
                break;
            }
            (next, left) = (next + records.len() as u64, left.saturating_sub(records.len()));
            if !each(records) {
                break;
            }
        }
        Ok(())
    }

    /// A learner's profile.
    pub fn profile(&self, did: &Did) -> Result<Profile> {
        match self {
            Target::Local(dir) => Ok(Self::open(dir)?.profile(did)),
            Target::Remote(client) => {
                Ok(serde_json::from_value(client.get_json(&format!("/v1/learners/{did}/profile"))?.body)?)
            }
        }
    }

    /// What a form-2 credential signed by `key` takes from the ledger: the issuer's registered
    /// name, the ledger's public URL and a free index (the `nth` free one of the key's first list
    /// with room; over a server, index `nth` of list 0, which the ledger refuses if taken). `None`
    /// where no ledger is in reach (or a server holds the directory) or `key` is no issuer's: the
    /// credential is then form 1.
    pub fn standard_form(&self, key: &Did, nth: u32) -> Result<Option<StandardForm>> {
        let form = |issuer_name: String, status_base: String, (status_list, status_index)| StandardForm {
            form: 2,
            issuer_name,
            status_base,
            status_list,
            status_index,
        };
        match self {
            Target::Local(dir) => {
                if !dir.exists() {
                    return Ok(None);
                }
                let base = dir.config()?.public_url();
                // A directory a running server holds cannot be read here: the event is emitted in
                // form 1, as before (`--server URL` gives form 2).
                let Ok(ledger) = Self::open(dir) else { return Ok(None) };
                let state = ledger.state();
                Ok(state
                    .registry
                    .issuer_of_key(key)
                    .map(|issuer| form(issuer.name.clone(), base, state.status.free_place(key, nth))))
            }
            Target::Remote(client) => {
                let Ok(info) = client.get_json("/v1/ledger") else { return Ok(None) };
                let Some(base) = info.body["public_url"].as_str().map(str::to_owned) else { return Ok(None) };
                let issuers: Vec<Issuer> = serde_json::from_value(client.get_json("/v1/issuers")?.body)?;
                let issuer = issuers.into_iter().find(|i| i.key(key).is_some());
                Ok(issuer.map(|issuer| form(issuer.name, base, (0, nth % LIST_SIZE))))
            }
        }
    }

    /// The public URL the ledger serves status lists under (a directory's configured one, a
    /// server's own).
    pub fn status_base(&self) -> Result<String> {
        match self {
            Target::Local(dir) => Ok(dir.config()?.public_url()),
            Target::Remote(client) => {
                let info = client.get_json("/v1/ledger")?.body;
                Ok(info["public_url"].as_str().context("the server names no public_url")?.to_owned())
            }
        }
    }

    /// `key`'s list `list` for `purpose` as the log has it now, and whether its latest signed
    /// list is those bits at `base`; `None` when no credential of `key` is in that list.
    pub fn list_now(&self, key: &Did, purpose: Purpose, list: u32, base: &str) -> Result<Option<ListNow>> {
        match self {
            Target::Local(dir) => {
                let ledger = Self::open(dir)?;
                let status = &ledger.state().status;
                if !status.has_list(key, list) {
                    return Ok(None);
                }
                Ok(Some(ListNow::of(status, key, purpose, list, base)))
            }
            Target::Remote(client) => {
                let answer = match client.get_json(&format!("/v1/status-lists/{key}/{purpose}/{list}/unsigned")) {
                    Err(ClientError::Problem { status: 404, .. }) => return Ok(None),
                    other => other?.body,
                };
                let encoded = answer["encodedList"].as_str().context("the server's answer has no encodedList")?;
                let bits = Bitstring::decode(encoded).map_err(|e| anyhow!("the server's list: {e}"))?;
                let current = answer["current"] == true && answer["status_base"] == base;
                let signed_at = serde_json::from_value(answer["signed_at"].clone())
                    .map_err(|e| anyhow!("the server's list: signed_at: {e}"))?;
                Ok(Some(ListNow { bits, current, signed_at }))
            }
        }
    }

    /// The lists of `key` that hold a credential.
    pub fn lists_of(&self, key: &Did) -> Result<Vec<u32>> {
        match self {
            Target::Local(dir) => Ok(Self::open(dir)?.state().status.lists_of(key)),
            Target::Remote(client) => {
                let answer = client.get_json(&format!("/v1/status-lists/{key}"))?.body;
                Ok(serde_json::from_value(answer["lists"].clone())?)
            }
        }
    }

    /// A credential's status (its state, the key that signed it) and its issuing record.
    pub fn credential(&self, id: &credledger::EventId) -> Result<credledger::view::CredentialView> {
        let found = match self {
            Target::Local(dir) => Self::open(dir)?.view().credential(id)?,
            Target::Remote(client) => {
                Some(serde_json::from_value(client.get_json(&format!("/v1/credentials/{id}"))?.body)?)
            }
        };
        found.ok_or_else(|| anyhow!("no credential {id} on this ledger"))
    }

    /// Registered issuers.
    pub fn issuers(&self) -> Result<Vec<Issuer>> {
        match self {
            Target::Local(dir) => Ok(Self::open(dir)?.state().registry.issuers().cloned().collect()),
            Target::Remote(client) => Ok(serde_json::from_value(client.get_json("/v1/issuers")?.body)?),
        }
    }

    /// The latest signed checkpoint's text.
    pub fn checkpoint(&self) -> Result<String> {
        match self {
            Target::Local(dir) => {
                let ledger = Self::open(dir)?;
                Ok(ledger.latest_checkpoint()?.context("the log has no signed checkpoint yet")?.1)
            }
            Target::Remote(client) => Ok(client.get_text("/v1/checkpoint")?),
        }
    }

    /// `{seq, size, leaf_hash, path}` for record `seq` in the tree of `size` (default: the log).
    pub fn inclusion(&self, seq: u64, size: Option<u64>) -> Result<Value> {
        match self {
            Target::Local(dir) => {
                let ledger = Self::open(dir)?;
                let size = size.unwrap_or(ledger.len());
                let path = ledger.inclusion_proof(seq, size)?;
                let record = ledger.records(seq, 1)?.pop().ok_or_else(|| anyhow!("no record {seq}"))?;
                let leaf = credledger::merkle::leaf_hash(&record.canonical());
                Ok(json!({"seq": seq, "size": size, "leaf_hash": leaf, "path": path}))
            }
            Target::Remote(client) => {
                let size = size.map(|s| format!("&size={s}")).unwrap_or_default();
                Ok(client.get_json(&format!("/v1/proofs/inclusion?seq={seq}{size}"))?.body)
            }
        }
    }

    /// `{from, to, path}`.
    pub fn consistency(&self, from: u64, to: u64) -> Result<Value> {
        match self {
            Target::Local(dir) => {
                let path = Self::open(dir)?.consistency_proof(from, to)?;
                Ok(json!({"from": from, "to": to, "path": path}))
            }
            Target::Remote(client) => Ok(client.get_json(&format!("/v1/proofs/consistency?from={from}&to={to}"))?.body),
        }
    }

    /// A credential's issuer-signed standard form.
    pub fn standard_credential(&self, id: &credledger::EventId) -> Result<Value> {
        match self {
            Target::Local(dir) => {
                let ledger = Self::open(dir)?;
                ledger
                    .view()
                    .standard_credential(id)?
                    .ok_or_else(|| anyhow!("no credential {id} with a standard proof on this ledger"))
            }
            Target::Remote(client) => Ok(client.get_json(&format!("/v1/credentials/{id}/vc"))?.body),
        }
    }

    /// A learner's CLR, signed by the operator.
    pub fn clr(&self, learner: &Did, now: OffsetDateTime) -> Result<Value> {
        match self {
            Target::Local(dir) => {
                let ledger = Self::open(dir)?;
                let credentials = ledger.view().standard_credentials(learner)?;
                if credentials.is_empty() {
                    bail!("{learner} has no active standard credentials on this ledger");
                }
                let origin = dir.config()?.origin;
                let at = credledger::event::Timestamp::whole_seconds(now);
                credledger::vc::clr(learner, &origin, credentials, &dir.operator_key()?, &at).map_err(|e| anyhow!(e))
            }
            Target::Remote(client) => Ok(client.get_json(&format!("/v1/learners/{learner}/clr"))?.body),
        }
    }

    /// The learner's bundle, before the learner signs it.
    pub fn bundle(&self, learner: &Did, request: &ShareRequest, now: OffsetDateTime) -> Result<Bundle> {
        match self {
            Target::Local(dir) => {
                let mut ledger = Self::open_signing(dir)?;
                Ok(credledger::share_build::build_unsigned(&mut ledger, learner, request, now)?)
            }
            Target::Remote(client) => {
                let mut body = json!({"learner": learner, "only": request.only, "audience": request.audience, "nonce": request.nonce});
                if !request.holders.is_empty() {
                    body["holders"] = json!(request.holders);
                }
                Ok(serde_json::from_value(client.post_json("/v1/bundles", &body.to_string())?.body)?)
            }
        }
    }
}

/// Posts events (`atomic`: all or none) and reads one outcome per event. An answer of `202
/// pending` (not committed within the server's request timeout) is not a failure: the same events
/// are posted again, which is idempotent, until the server answers (bounded).
fn post_events(client: &Client, events: &[Value], atomic: bool) -> Result<Vec<Outcome>> {
    // One event is all or none anyway: it joins the writer's shared group.
    let path = if atomic && events.len() > 1 { "/v1/events?atomic=true" } else { "/v1/events" };
    let body = serde_json::to_string(events)?;
    for _ in 0..=PENDING_RETRIES {
        let answer = client.post_json(path, &body)?;
        if answer.status == 202 {
            continue;
        }
        let results = answer.body["results"].as_array().context("the server's answer has no results")?;
        let mut outcomes = Vec::with_capacity(results.len());
        for r in results {
            outcomes.push(match (r["seq"].as_u64(), r["id"].as_str()) {
                (Some(seq), Some(id)) => Ok(Appended { seq, id: id.parse()?, new: r["new"] == true }),
                // Not appended: another event of the atomic array was refused.
                _ if r["appended"] == false => Err(String::new()),
                _ => Err(r["detail"].as_str().unwrap_or("refused").to_owned()),
            });
        }
        return Ok(outcomes);
    }
    bail!(
        "the server has not committed these events within its request timeout ({} tries); they may still commit, and submitting them again is safe",
        PENDING_RETRIES + 1
    )
}

/// Where [`Target::records_by_page`] reads its pages.
enum RecordSource<'a> {
    Ledger(Box<Ledger<SharedStore>>),
    Server(&'a Client),
}

impl RecordSource<'_> {
    /// Up to `limit` records from `from` on.
    fn read(&self, from: u64, limit: usize) -> Result<Vec<Record>> {
        match self {
            RecordSource::Ledger(ledger) => Ok(ledger.records(from, limit)?),
            RecordSource::Server(client) => {
                let answer = client.get_json(&format!("/v1/events?from={from}&limit={limit}"))?;
                let values = answer.body.as_array().context("the server's answer is not a list")?;
                values.iter().map(|value| Ok(Record::from_stored(&serde_json::to_vec(value)?)?)).collect()
            }
        }
    }
}
