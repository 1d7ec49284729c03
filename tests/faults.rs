//! Store faults: [`FaultyStore`], a test-only wrapper around any [`Store`], makes writes fail from
//! a chosen point until healed. The ledger must then refuse the append with a clear error and
//! stay exactly as it was (length, root, projections); the server must answer `503` to writes
//! while reads go on; and once the fault clears, appends resume and `audit` passes. A fault after
//! the write applied (sled's flush failing) is an unknown outcome, never "not appended": the ledger
//! follows what the store shows, and resubmitting finds the events on the log. A store that
//! stalls keeps appends from committing within the request timeout: the server answers `202
//! pending` (never "not committed"), the writer skips jobs whose client has gone, and the CLI
//! resubmits until it has an answer.

mod common;

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use credledger::generate::Generator;
use credledger::http::{ServerConfig, SharedStore};
use credledger::id::{EventId, Hash32, Seq};
use credledger::merkle::NodeId;
use credledger::store::{Batch, CatchUp, Difference, MemoryStore, Staging, Store, StoreError};
use credledger::{AppendError, Ledger, SecretKey};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

use common::{PATIENCE, metric, run_in};

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
const NEVER: u64 = u64::MAX;
/// The request timeout of a server whose store stalls.
const STALL_TIMEOUT: Duration = Duration::from_millis(300);

/// When writes fail: after `writes_left` more succeed, every write fails until [`Faults::heal`];
/// with `after_apply`, a failing write is applied first and then reported as an unknown outcome.
/// While `stalled`, every write waits (bounded) until [`Faults::release`].
#[derive(Debug, Default)]
struct Faults {
    writes_left: AtomicU64,
    failed: AtomicU64,
    after_apply: AtomicBool,
    stalled: Mutex<bool>,
    released: Condvar,
    stalls: AtomicU64,
    /// Reads of projection entries fail while this is set.
    reads_fail: AtomicBool,
    /// `profile/` entries handed out by reads.
    profile_entries_read: AtomicU64,
    /// `status/` entries handed out by reads.
    status_entries_read: AtomicU64,
}

impl Faults {
    fn new() -> Arc<Faults> {
        Arc::new(Faults { writes_left: AtomicU64::new(NEVER), ..Faults::default() })
    }

    /// Holds every write from now on until [`Faults::release`].
    fn stall(&self) {
        *self.stalled.lock().expect("lock") = true;
    }

    fn release(&self) {
        *self.stalled.lock().expect("lock") = false;
        self.released.notify_all();
    }

    /// Writes that were held so far.
    fn stalls(&self) -> u64 {
        self.stalls.load(Ordering::SeqCst)
    }

    /// Waits while writes are held (at most [`PATIENCE`]).
    fn wait_while_stalled(&self) {
        let held = self.stalled.lock().expect("lock");
        if *held {
            self.stalls.fetch_add(1, Ordering::SeqCst);
            let _ = self.released.wait_timeout_while(held, PATIENCE, |held| *held).expect("lock");
        }
    }

    /// Lets `n` more writes through, then applies every one but reports it as failed to flush.
    fn fail_after_applying(&self, n: u64) {
        self.after_apply.store(true, Ordering::SeqCst);
        self.fail_after(n);
    }

    /// Lets `n` more writes through, then fails every one.
    fn fail_after(&self, n: u64) {
        self.writes_left.store(n, Ordering::SeqCst);
    }

    /// Fails every read of projection entries from now on, until [`Faults::heal`].
    fn fail_reads(&self) {
        self.reads_fail.store(true, Ordering::SeqCst);
    }

    /// Takes one read of projection entries, noting the profile entries it hands out.
    fn read(&self, entries: Result<Vec<(String, Vec<u8>)>, StoreError>) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        if self.reads_fail.load(Ordering::SeqCst) {
            return Err(StoreError::Backend("injected fault: input/output error".into()));
        }
        let entries = entries?;
        let profiles = entries.iter().filter(|(k, _)| k.starts_with("profile/")).count() as u64;
        self.profile_entries_read.fetch_add(profiles, Ordering::SeqCst);
        let status = entries.iter().filter(|(k, _)| k.starts_with("status/")).count() as u64;
        self.status_entries_read.fetch_add(status, Ordering::SeqCst);
        Ok(entries)
    }

    fn heal(&self) {
        self.reads_fail.store(false, Ordering::SeqCst);
        self.writes_left.store(NEVER, Ordering::SeqCst);
        self.after_apply.store(false, Ordering::SeqCst);
    }

    /// Takes one write: `Err` if it must fail.
    fn write(&self) -> Result<(), StoreError> {
        let left = self.writes_left.load(Ordering::SeqCst);
        if left == NEVER {
            return Ok(());
        }
        if left > 0 {
            self.writes_left.store(left - 1, Ordering::SeqCst);
            return Ok(());
        }
        self.failed.fetch_add(1, Ordering::SeqCst);
        Err(StoreError::Backend("injected fault: no space left on device".into()))
    }
}

/// A store whose writes fail when its [`Faults`] say so; reads always pass through.
struct FaultyStore<S> {
    inner: S,
    faults: Arc<Faults>,
}

/// A staging whose writes and swap fail as the store's writes do.
struct FaultyStaging {
    inner: Arc<dyn Staging>,
    faults: Arc<Faults>,
}

impl credledger::projection::EntrySource for FaultyStaging {
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.inner.entry(key)
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        self.inner.entries_with_prefix(prefix)
    }
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
        self.inner.entries_for(keys)
    }
}

impl Staging for FaultyStaging {
    fn write(&self, entries: Vec<(String, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        self.faults.write()?;
        self.inner.write(entries)
    }
    fn differences(&self, limit: usize) -> Result<Vec<Difference>, StoreError> {
        self.inner.differences(limit)
    }
    fn swap_in(&self, log_len: u64, catch_up: CatchUp<'_>) -> Result<bool, StoreError> {
        self.faults.write()?;
        self.inner.swap_in(log_len, catch_up)
    }
}

impl<S: Store> Store for FaultyStore<S> {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.faults.wait_while_stalled();
        match self.faults.write() {
            Err(_) if self.faults.after_apply.load(Ordering::SeqCst) => {
                self.inner.commit(batch)?;
                Err(StoreError::OutcomeUnknown("injected fault: the flush after the transaction failed".into()))
            }
            fault => fault.and_then(|()| self.inner.commit(batch)),
        }
    }
    fn staging(&self) -> Result<Arc<dyn Staging>, StoreError> {
        Ok(Arc::new(FaultyStaging { inner: self.inner.staging()?, faults: self.faults.clone() }))
    }
    fn len(&self) -> Result<u64, StoreError> {
        self.inner.len()
    }
    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.records(from, limit)
    }
    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
        self.inner.seq_of(id)
    }
    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        self.inner.node(id)
    }
    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
        self.inner.checkpoints(from, to)
    }
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.latest_checkpoint()
    }
    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.faults.read(self.inner.entries())
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.faults.read(self.inner.entries_with_prefix(prefix))
    }
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let found = self.inner.entry(key)?.map(|v| (key.to_owned(), v));
        Ok(self.faults.read(Ok(found.into_iter().collect()))?.pop().map(|(_, v)| v))
    }
}

/// The operator and `count` generated events after the genesis (genesis first).
fn events(count: u64) -> (SecretKey, Vec<Value>) {
    let operator = SecretKey::from_seed(&[7; 32]);
    let mut generator = Generator::new(operator.clone(), "faults.example", 3, NOW, 20);
    let mut values = vec![generator.genesis().expect("genesis").value().clone()];
    values.extend(generator.next_chunk(count).expect("events").iter().map(|e| e.value().clone()));
    (operator, values)
}

/// Everything an append could change, to compare before and after.
#[derive(Debug, PartialEq)]
struct Snapshot {
    len: u64,
    root: Option<Hash32>,
    stored_entries: Vec<(String, Vec<u8>)>,
    state_entries: Vec<(String, Vec<u8>)>,
    checkpoint: Option<(u64, String)>,
}

fn snapshot<S: Store>(ledger: &Ledger<S>) -> Snapshot {
    Snapshot {
        len: ledger.len(),
        root: ledger.root(ledger.len()).ok(),
        stored_entries: ledger.store().entries().expect("entries"),
        state_entries: ledger.state().entries(),
        checkpoint: ledger.latest_checkpoint().expect("checkpoint"),
    }
}

fn append_group<S: Store>(ledger: &mut Ledger<S>, group: &[Value]) -> Vec<Result<credledger::Appended, AppendError>> {
    ledger.append_values(group.to_vec(), NOW, false)
}

type Faulty = Ledger<FaultyStore<MemoryStore>>;

/// Generated events, and two ledgers to append them to: one over a [`FaultyStore`] and a
/// reference that never fails, to be fed the same groups at the same time.
fn faulty_and_reference() -> (Vec<Value>, Arc<Faults>, Faulty, Ledger<MemoryStore>) {
    let (operator, values) = events(60);
    let mut reference = Ledger::open(MemoryStore::new()).expect("open");
    reference.sign_checkpoints_with(operator.clone()).expect("operator");
    let faults = Faults::new();
    let mut ledger = Ledger::open(FaultyStore { inner: MemoryStore::new(), faults: faults.clone() }).expect("open");
    ledger.sign_checkpoints_with(operator).expect("operator");
    (values, faults, ledger, reference)
}

/// Appends group `n` to both, once the faults cleared, and compares them.
fn append_to_both(ledger: &mut Faulty, reference: &mut Ledger<MemoryStore>, group: &[Value], n: usize) {
    for result in append_group(ledger, group) {
        result.expect("accepted once the fault cleared");
    }
    for result in append_group(reference, group) {
        result.expect("accepted by the reference");
    }
    assert_eq!(snapshot(ledger), snapshot(reference), "after group {n}");
}

#[test]
fn a_failed_write_is_refused_whole_and_leaves_the_ledger_as_it_was_until_the_fault_clears() {
    let (values, faults, mut ledger, mut reference) = faulty_and_reference();

    for (n, group) in values.chunks(7).enumerate() {
        // Every third group meets a failing disk: at once, or after the group's own write.
        if n % 3 == 1 {
            faults.fail_after(0);
            let before = snapshot(&ledger);
            let results = append_group(&mut ledger, group);
            assert_eq!(results.len(), group.len());
            for result in &results {
                let error = result.as_ref().expect_err("nothing commits while the store fails");
                assert_eq!(error.code(), "unavailable", "{error}");
                assert!(error.to_string().contains("no space left on device"), "the cause is named: {error}");
            }
            assert_eq!(snapshot(&ledger), before, "a failed write left a trace (group {n})");
            // A rebuild cannot write either, and changes nothing.
            assert!(ledger.rebuild().is_err());
            assert_eq!(snapshot(&ledger), before, "a failed rebuild left a trace (group {n})");
            faults.heal();
        }
        append_to_both(&mut ledger, &mut reference, group, n);
    }
    assert!(faults.failed.load(Ordering::SeqCst) > 0, "faults were injected");
    let report = ledger.audit().expect("audit runs");
    assert!(report.problems.is_empty(), "{report}");
}

/// A ledger over a [`FaultyStore`] around a memory store kept to reopen it.
type Kept = Ledger<FaultyStore<Arc<MemoryStore>>>;

/// Generated events, and a ledger over a [`FaultyStore`] around a memory store kept to reopen.
fn over_a_kept_store() -> (SecretKey, Vec<Value>, Arc<Faults>, Arc<MemoryStore>, Kept) {
    let (operator, values) = events(60);
    let faults = Faults::new();
    let inner = Arc::new(MemoryStore::new());
    let mut first = Ledger::open(FaultyStore { inner: inner.clone(), faults: faults.clone() }).expect("open");
    first.sign_checkpoints_with(operator.clone()).expect("operator");
    (operator, values, faults, inner, first)
}

#[test]
fn opening_a_ledger_reads_no_profile_entry_and_its_profiles_read_through_the_store() {
    let (operator, values, faults, inner, mut first) = over_a_kept_store();
    for result in append_group(&mut first, &values) {
        result.expect("accepted");
    }
    let learners: Vec<_> = values
        .iter()
        .filter_map(|v| v["body"]["learner"].as_str())
        .map(|d| d.parse().expect("a did"))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert!(learners.len() > 5, "the events reach several learners");
    let profiles: Vec<_> = learners.iter().map(|d| first.profile(d)).collect();
    assert!(profiles.iter().any(|p| !p.credentials.is_empty()), "some learner holds a credential");
    let stored = snapshot(&first);
    drop(first);

    faults.profile_entries_read.store(0, Ordering::SeqCst);
    let mut reopened = Ledger::open(FaultyStore { inner, faults: faults.clone() }).expect("reopen");
    assert_eq!(faults.profile_entries_read.load(Ordering::SeqCst), 0, "opening read profile entries");
    reopened.sign_checkpoints_with(operator).expect("operator");
    for (learner, profile) in learners.iter().zip(&profiles) {
        assert_eq!(&reopened.profile(learner), profile, "{learner}'s profile, read through the store");
    }
    assert_eq!(snapshot(&reopened), stored);
}

#[test]
fn opening_a_ledger_reads_no_status_entry_and_its_status_reads_through_the_store() {
    let (operator, values, faults, inner, mut first) = over_a_kept_store();
    let (opening, rest) = values.split_at(values.len() / 2);
    for result in append_group(&mut first, opening) {
        result.expect("accepted");
    }
    let issued: Vec<EventId> = first
        .store()
        .entries_with_prefix("status/credential/")
        .expect("entries")
        .iter()
        .map(|(k, _)| k["status/credential/".len()..].parse().expect("an event id"))
        .collect();
    assert!(issued.len() > 5, "the events issue several credentials");
    let status_of = |ledger: &Ledger<_>, id| serde_json::to_value(ledger.state().status.credential(id)).expect("json");
    let states: Vec<Value> = issued.iter().map(|id| status_of(&first, id)).collect();
    drop(first);

    faults.status_entries_read.store(0, Ordering::SeqCst);
    let mut reopened = Ledger::open(FaultyStore { inner: inner.clone(), faults: faults.clone() }).expect("reopen");
    assert_eq!(faults.status_entries_read.load(Ordering::SeqCst), 0, "opening read status entries");
    for (id, state) in issued.iter().zip(&states) {
        assert_eq!(&status_of(&reopened, id), state, "{id}'s status, read through the store");
    }
    // The rest of the log (status changes of credentials only the store holds) folds the same
    // over the store as in a ledger that never closed.
    reopened.sign_checkpoints_with(operator.clone()).expect("operator");
    let mut reference = Ledger::open(MemoryStore::new()).expect("open");
    reference.sign_checkpoints_with(operator).expect("operator");
    for result in append_group(&mut reopened, rest).into_iter().chain(append_group(&mut reference, &values)) {
        result.expect("accepted");
    }
    assert!(reopened.entries_held() > 0, "status and profiles are cached, not loaded");
    let reopened_entries = reopened.store().entries().expect("entries");
    assert_eq!(reopened_entries, reference.store().entries().expect("entries"));
}

#[test]
fn a_failed_read_of_a_profile_entry_refuses_the_batch_and_leaves_the_ledger_as_it_was() {
    let (values, faults, mut ledger, mut reference) = faulty_and_reference();
    let mut refused = 0;
    for (n, group) in values.chunks(7).enumerate() {
        if n % 2 == 1 {
            let before = snapshot(&ledger);
            faults.fail_reads();
            let results = append_group(&mut ledger, group);
            faults.heal();
            assert_eq!(results.len(), group.len());
            // A group that needs no profile read (registry events) may commit; one that does is
            // refused whole, naming the cause, and leaves no trace.
            if results.iter().any(Result::is_err) {
                refused += 1;
                for result in &results {
                    let error = result.as_ref().expect_err("nothing commits after a failed read");
                    assert_eq!(error.code(), "unavailable", "{error}");
                    assert!(error.to_string().contains("input/output error"), "the cause is named: {error}");
                }
                // The log and the store are as they were; the state in memory, which could not
                // be read back while reads failed, is reloaded before the next append.
                let after = snapshot(&ledger);
                let stored = |s: &Snapshot| (s.len, s.root, s.stored_entries.clone(), s.checkpoint.clone());
                assert!(stored(&after) == stored(&before), "a failed read left a trace (group {n})");
            }
        }
        append_to_both(&mut ledger, &mut reference, group, n);
    }
    assert!(refused > 0, "some group needed a profile read");
    let report = ledger.audit().expect("audit runs");
    assert!(report.problems.is_empty(), "{report}");
}

#[test]
fn the_server_answers_503_to_writes_while_the_store_fails_and_reads_go_on() {
    let (operator, values) = events(12);
    let faults = Faults::new();
    let (url, store) = faulty_server(operator, &values, &faults, ServerConfig::default().request_timeout);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let call = |method: &str, path: &str, body: Option<&Value>| -> (u16, Value) {
        let url = format!("{url}{path}");
        let response = match body {
            Some(b) => agent.post(&url).header("content-type", "application/json").send(b.to_string()),
            None if method == "GET" => agent.get(&url).call(),
            None => unreachable!("GET or POST with a body"),
        };
        let mut response = response.expect("an HTTP answer");
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().expect("a body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    };
    let records = || {
        let (status, page) = call("GET", "/v1/events?from=0&limit=100", None);
        assert_eq!(status, 200, "{page}");
        page.as_array().expect("records").len()
    };
    assert_eq!(records(), 8);

    faults.fail_after(0);
    let (status, problem) = call("POST", "/v1/events", Some(&values[8]));
    assert_eq!(status, 503, "{problem}");
    assert!(problem["type"].as_str().is_some_and(|t| t.ends_with("/unavailable")), "{problem}");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("no space left")), "{problem}");
    let (status, batch) = call("POST", "/v1/events", Some(&Value::Array(values[8..10].to_vec())));
    assert!(status == 503 || batch["rejected"] == 2, "{status} {batch}");
    // Reads go on, and show nothing of the failed writes.
    assert_eq!(records(), 8);
    let (status, checkpoint) = call("GET", "/v1/checkpoint", None);
    assert_eq!(status, 200, "{checkpoint}");
    assert_eq!(call("GET", "/healthz", None).0, 200);

    faults.heal();
    let (status, appended) = call("POST", "/v1/events", Some(&values[8]));
    assert_eq!(status, 201, "{appended}");
    assert_eq!(appended["seq"], 8);
    let (status, batch) = call("POST", "/v1/events", Some(&Value::Array(values[9..].to_vec())));
    assert!(status == 200 || status == 201, "{status} {batch}");
    assert_eq!(records(), values.len());
    let report = Ledger::open(store).expect("reopen").audit().expect("audit");
    assert!(report.problems.is_empty(), "{report}");
}

#[test]
fn a_write_that_applied_but_did_not_flush_is_an_unknown_outcome_and_the_ledger_follows_the_store() {
    let (operator, values) = events(30);
    let mut reference = Ledger::open(MemoryStore::new()).expect("open");
    reference.sign_checkpoints_with(operator.clone()).expect("operator");
    let faults = Faults::new();
    let mut ledger = Ledger::open(FaultyStore { inner: MemoryStore::new(), faults: faults.clone() }).expect("open");
    ledger.sign_checkpoints_with(operator).expect("operator");
    let (setup, rest) = values.split_at(10);
    let (group, later) = rest.split_at(7);
    for ledger_results in [append_group(&mut ledger, setup), append_group(&mut reference, setup)] {
        assert!(ledger_results.iter().all(Result::is_ok));
    }

    faults.fail_after_applying(0);
    let results = append_group(&mut ledger, group);
    faults.heal();
    assert_eq!(results.len(), group.len());
    for result in &results {
        let error = result.as_ref().expect_err("the flush failed: no success is claimed");
        assert_eq!(error.code(), "outcome-unknown", "{error}");
        let text = error.to_string();
        assert!(!text.contains("not appended"), "never \"not appended\" for what may be on the log: {text}");
        assert!(text.contains("may be on the log") && text.contains("resubmitting"), "{text}");
    }
    // The store kept the batch, and the ledger (length, tree, projections) follows it.
    for result in append_group(&mut reference, group) {
        result.expect("accepted by the reference");
    }
    assert_eq!(snapshot(&ledger), snapshot(&reference), "the ledger disagrees with what the store shows");
    // Resubmitting is safe: each event is found where it was written.
    for (result, expected) in append_group(&mut ledger, group).iter().zip(append_group(&mut reference, group)) {
        let (again, expected) = (result.as_ref().expect("found on the log"), expected.expect("found"));
        assert!(!again.new, "appended twice");
        assert_eq!(again.seq, expected.seq);
    }
    for result in append_group(&mut ledger, later) {
        result.expect("appends resume");
    }
    let report = ledger.audit().expect("audit runs");
    assert!(report.problems.is_empty(), "{report}");
}

#[test]
fn the_server_answers_503_outcome_unknown_when_a_write_applied_but_did_not_flush() {
    let (operator, values) = events(12);
    let faults = Faults::new();
    let (url, store) = faulty_server(operator, &values, &faults, ServerConfig::default().request_timeout);
    let post = |body: &Value| {
        let (status, _, answer) = post_json(&url, body);
        (status, answer)
    };

    faults.fail_after_applying(0);
    let (status, problem) = post(&values[8]);
    faults.heal();
    assert_eq!(status, 503, "{problem}");
    assert!(problem["type"].as_str().is_some_and(|t| t.ends_with("/problems/outcome-unknown")), "{problem}");
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("may be on the log") && detail.contains("resubmitting"), "{problem}");
    // It is on the log, and resubmitting it answers with its place.
    let (status, again) = post(&values[8]);
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["seq"], 8, "{again}");
    let report = Ledger::open(store).expect("reopen").audit().expect("audit");
    assert!(report.problems.is_empty(), "{report}");
}

/// A server (in this process) over a store with these faults, after the genesis and the registry
/// (`values[..8]`, appended directly): its URL and its store.
fn faulty_server(
    operator: SecretKey,
    values: &[Value],
    faults: &Arc<Faults>,
    request_timeout: Duration,
) -> (String, SharedStore) {
    let store: SharedStore = Arc::new(FaultyStore { inner: MemoryStore::new(), faults: faults.clone() });
    let mut ledger = Ledger::open(store.clone()).expect("open");
    ledger.sign_checkpoints_with(operator.clone()).expect("operator");
    for result in ledger.append_values(values[..8].to_vec(), NOW, true) {
        result.expect("setup accepted");
    }
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let config = ServerConfig { workers: 1, request_timeout, ..ServerConfig::default() };
    // The server runs until the test process ends.
    thread::spawn(move || credledger::http::serve(listener, ledger, Some(operator), config));
    (url, store)
}

/// POSTs `body` to `url`'s `/v1/events`: status, content type and JSON.
fn post_json(url: &str, body: &Value) -> (u16, String, Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    let mut response = agent
        .post(format!("{url}/v1/events"))
        .header("content-type", "application/json")
        .send(body.to_string())
        .expect("an HTTP answer");
    let status = response.status().as_u16();
    let kind = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.body_mut().read_to_string().expect("a body");
    (status, kind, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

/// The server's counter `name`.
fn counter(url: &str, name: &str) -> f64 {
    let mut response = ureq::get(format!("{url}/metrics")).call().expect("metrics");
    let text = response.body_mut().read_to_string().expect("text");
    metric(&text, name).unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// Waits (bounded) until `done` holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        thread::sleep(Duration::from_millis(10));
    }
}

fn id_of(event: &Value) -> String {
    credledger::SignedEvent::verify(event.clone()).expect("a signed event").id().to_string()
}

#[test]
fn an_append_not_committed_within_the_request_timeout_is_pending_and_may_still_commit() {
    let (operator, values) = events(12);
    let faults = Faults::new();
    let (url, store) = faulty_server(operator, &values, &faults, STALL_TIMEOUT);

    faults.stall();
    let (status, kind, answer) = post_json(&url, &values[8]);
    assert_eq!(status, 202, "{answer}");
    assert!(kind.starts_with("application/json"), "a pending append is no problem: {kind}");
    assert_eq!(answer["id"], id_of(&values[8]).as_str(), "{answer}");
    assert_eq!(answer["status"], "pending", "{answer}");
    let detail = answer["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("may still commit") && detail.contains("resubmitting"), "{answer}");
    // The writer holds that append; these wait behind it and time out too.
    wait_until("the writer to hold the first append", || faults.stalls() >= 1);
    let (status, _, single) = post_json(&url, &values[9]);
    assert_eq!((status, &single["id"]), (202, &Value::from(id_of(&values[9]))), "{single}");
    let (status, _, array) = post_json(&url, &Value::Array(values[10..12].to_vec()));
    assert_eq!(status, 202, "{array}");
    assert_eq!(array["ids"], serde_json::json!([id_of(&values[10]), id_of(&values[11])]), "{array}");
    faults.release();

    // The first append was the writer's before its client gave up: it committed after its 202.
    let (status, _, again) = post_json(&url, &values[8]);
    assert_eq!((status, &again["seq"]), (200, &Value::from(8)), "{again}");
    // The others' clients had gone before the writer reached them: skipped, to shed load.
    let (status, _, again) = post_json(&url, &values[9]);
    assert_eq!((status, &again["seq"]), (201, &Value::from(9)), "{again}");
    let (status, _, again) = post_json(&url, &Value::Array(values[10..12].to_vec()));
    assert_eq!((status, &again["appended"]), (200, &Value::from(2)), "{again}");
    assert_eq!(counter(&url, "credledger_pending_total"), 4.0);
    assert_eq!(counter(&url, "credledger_abandoned_total"), 3.0);
    let report = Ledger::open(store).expect("reopen").audit().expect("audit");
    assert!(report.problems.is_empty(), "{report}");
    assert_eq!(report.records, 12);
}

#[test]
fn the_cli_resubmits_a_pending_append_until_it_has_an_answer_and_says_when_it_gives_up() {
    let (operator, values) = events(12);
    let faults = Faults::new();
    let (url, store) = faulty_server(operator, &values, &faults, STALL_TIMEOUT);
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("first.json"), values[8].to_string()).expect("write");
    std::fs::write(dir.path().join("second.json"), values[9].to_string()).expect("write");
    let submit = |file: &str| {
        let (dir, url, file) = (dir.path().to_owned(), url.clone(), file.to_owned());
        thread::spawn(move || run_in(&dir, &["--server", &url, "--json", "submit", &file]))
    };

    // Held until the server has answered 202 at least once: then a resubmission gets the answer.
    faults.stall();
    let cli = submit("first.json");
    wait_until("a 202 pending", || counter(&url, "credledger_pending_total") >= 1.0);
    faults.release();
    let out = cli.join().expect("the CLI ran");
    assert_eq!(out.code, 0, "{out:?}");
    let summary = out.json();
    assert_eq!(summary["events"][0]["seq"], 8, "{summary}");
    assert_eq!(summary["already_present"], 1, "the first post committed it: {summary}");

    // Held for good: the CLI gives up after a bounded number of tries, saying it may still commit.
    faults.stall();
    let out = submit("second.json").join().expect("the CLI ran");
    faults.release();
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("may still commit") && out.stderr.contains("again is safe"), "{out:?}");
    let (status, _, again) = post_json(&url, &values[9]);
    assert_eq!((status, &again["seq"]), (200, &Value::from(9)), "the first try committed: {again}");
    assert_eq!(Ledger::open(store).expect("reopen").len(), 10, "each event once");
}
