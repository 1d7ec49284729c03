//! Crash safety, tested for real: the real server, the bulk `submit` and `rebuild` are killed with
//! SIGKILL at seeded random moments while they write, then restarted. After every kill the log
//! must hold every acknowledged event exactly once, with dense seqs, and `audit` must pass (it
//! re-verifies every record, recomputes the tree and checks the stored projections against a
//! rebuild). The same for a node on PostgreSQL (a throwaway server). `CRASH_SEED` and
//! `CRASH_ROUNDS` change the seed and the number of server rounds.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::pg::{Postgres, postgres_env};
use common::*;

/// A small seeded generator (SplitMix64): the same seed kills at the same moments.
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(20261123);
        eprintln!("CRASH_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `low..high`.
    fn between(&mut self, low: u64, high: u64) -> u64 {
        low + self.next() % (high - low)
    }
}

/// Every record's event id, in seq order, after checking that the seqs are dense.
fn log_ids(env: &Env, flags: &[&str]) -> Vec<String> {
    let out = env.ok(&[flags, &["--json", "log"][..]].concat());
    let records: Vec<Value> = serde_json::from_str(&out.stdout).expect("log --json");
    records
        .iter()
        .enumerate()
        .map(|(i, record)| {
            assert_eq!(record["seq"], i as u64, "seqs are dense");
            credledger::Record::from_stored(&serde_json::to_vec(record).expect("bytes"))
                .expect("a record")
                .event
                .id()
                .to_string()
        })
        .collect()
}

/// Checks the ledger directory after a kill: `audit` passes, every id in `acknowledged` is on
/// the log exactly once, and no id is there twice. Returns the ids on the log.
fn check_after_kill(env: &Env, flags: &[&str], acknowledged: &BTreeSet<String>, what: &str) -> BTreeSet<String> {
    let ledger = env.ledger();
    let audit = env.run(&[&["--ledger", ledger.as_str()][..], flags, &["audit"][..]].concat());
    assert_eq!(audit.code, 0, "audit after a kill during {what}: {audit:?}");
    assert!(audit.stdout.contains("audit passed"), "{audit:?}");
    let ids = log_ids(env, flags);
    let mut seen = BTreeMap::new();
    for id in &ids {
        *seen.entry(id.clone()).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "events on the log more than once after {what}: {twice:?}");
    let lost: Vec<_> = acknowledged.iter().filter(|id| !seen.contains_key(*id)).collect();
    assert!(lost.is_empty(), "acknowledged events lost by a kill during {what}: {lost:?}");
    seen.into_keys().collect()
}

/// Posts events from `queue` (singly or in arrays) until the queue is empty or the server is
/// gone; the ids the server acknowledged go to `acked`, the rest back to the queue.
fn client(url: String, queue: Arc<Mutex<Vec<(String, String)>>>, acked: Arc<Mutex<BTreeSet<String>>>, seed: u64) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut rng = Rng(seed);
    loop {
        let take = rng.between(1, 9) as usize;
        let batch: Vec<(String, String)> = {
            let mut q = queue.lock().expect("queue");
            let n = take.min(q.len());
            q.drain(..n).collect()
        };
        if batch.is_empty() {
            return;
        }
        let body = if batch.len() == 1 {
            batch[0].0.clone()
        } else {
            format!("[{}]", batch.iter().map(|(json, _)| json.as_str()).collect::<Vec<_>>().join(","))
        };
        let answer = agent.post(format!("{url}/v1/events")).header("content-type", "application/json").send(body);
        match answer {
            Ok(r) if r.status() == 200 || r.status() == 201 => {
                acked.lock().expect("acked").extend(batch.into_iter().map(|(_, id)| id));
            }
            Ok(r) => panic!("an append failed unexpectedly: {}", r.status()),
            Err(_) => {
                // The server died with the request in flight: not acknowledged, send it again later.
                queue.lock().expect("queue").extend(batch);
                return;
            }
        }
    }
}

/// Rounds of: start the server (with `flags`, which every command on the ledger also takes),
/// three clients appending, SIGKILL at a seeded moment, then the checks.
/// `settle` runs after each kill, before the store is checked (waits for what the killed node
/// left in flight elsewhere, e.g. a PostgreSQL backend finishing its COMMIT).
fn kill_while_appending(env: &Env, flags: &[&str], rounds: u32, settle: &dyn Fn()) {
    let mut rng = Rng::from_env();
    let learner = env.learner.did();
    let pending = Arc::new(Mutex::new(certificates(Path::new(env.issuer.path()), &learner, 1, 400 * rounds as usize)));
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let mut on_log = BTreeSet::new();
    for round in 0..rounds {
        let mut server = env.serve(&[flags, &["--write-rate", "0"][..]].concat());
        let clients: Vec<_> = (0..3)
            .map(|c| {
                let (url, queue, acked) = (server.url.clone(), pending.clone(), acked.clone());
                let seed = rng.next() ^ c;
                thread::spawn(move || client(url, queue, acked, seed))
            })
            .collect();
        if round == 0 {
            // However slow the machine, the first round kills after an acknowledged append, so
            // the run has something to lose; later rounds kill at any seeded moment.
            let started = std::time::Instant::now();
            while acked.lock().expect("acked").is_empty() {
                assert!(started.elapsed() < PATIENCE, "no append was acknowledged within {PATIENCE:?}");
                thread::sleep(Duration::from_millis(10));
            }
        }
        thread::sleep(Duration::from_millis(rng.between(30, 300)));
        server.child.kill().expect("SIGKILL the server");
        let _ = server.child.wait();
        for c in clients {
            c.join().expect("client thread");
        }
        settle();
        let acknowledged = acked.lock().expect("acked").clone();
        on_log = check_after_kill(env, flags, &acknowledged, &format!("appends (round {round})"));
    }
    let acknowledged = acked.lock().expect("acked").len();
    assert!(acknowledged > 0, "no append was acknowledged in {rounds} rounds");
    assert!(on_log.len() as u64 >= acknowledged as u64 + SETUP_RECORDS, "{} on the log", on_log.len());
    eprintln!("{rounds} kills, {acknowledged} acknowledged events, {} records", on_log.len());
}

fn rounds(default: u32) -> u32 {
    std::env::var("CRASH_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

#[test]
fn sigkill_during_appends_loses_no_acknowledged_event() {
    kill_while_appending(&Env::new(), &[], rounds(20), &|| ());
}

#[test]
fn sigkill_of_a_node_on_postgres_loses_no_acknowledged_event() {
    let pg = Postgres::start();
    let url = pg.fresh_database();
    kill_while_appending(&postgres_env(&url), &["--database-url", &url], rounds(8), &|| pg.wait_until_idle(&url));
}

/// Runs `credledger ARGS` on the env's ledger in the background.
fn spawn(env: &Env, args: &[&str]) -> Child {
    Command::new(BIN)
        .args(["--ledger", &env.ledger()])
        .args(args)
        .env_remove("CREDLEDGER_DIR")
        .env_remove("CREDLEDGER_SERVER")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn credledger")
}

/// `n` certificates for the env's learner written as JSON Lines: the events and the file's path.
fn bulk_file(env: &Env, batch: u32, n: usize) -> (Vec<(String, String)>, String) {
    let events = certificates(Path::new(env.issuer.path()), &env.learner.did(), batch, n);
    let file = env.path("bulk.jsonl");
    std::fs::write(&file, events.iter().map(|(json, _)| format!("{json}\n")).collect::<String>()).expect("write");
    (events, file.to_str().expect("utf-8 path").to_owned())
}

#[test]
fn sigkill_during_bulk_submit_leaves_whole_groups_and_a_resubmit_completes_the_file() {
    let env = Env::new();
    let mut rng = Rng::from_env();
    let (events, file) = bulk_file(&env, 2, 4_500);
    let file = file.as_str();
    let order: BTreeMap<&str, usize> = events.iter().enumerate().map(|(i, (_, id))| (id.as_str(), i)).collect();
    for round in 0..3 {
        let mut submit = spawn(&env, &["submit", file]);
        thread::sleep(Duration::from_millis(rng.between(100, 1500)));
        submit.kill().expect("SIGKILL submit");
        let _ = submit.wait();
        let on_log = log_ids(&env, &[]);
        check_after_kill(&env, &[], &BTreeSet::new(), &format!("submit (round {round})"));
        // Groups commit whole and in order: what is on the log is a prefix of the file.
        let lines: Vec<usize> = on_log.iter().filter_map(|id| order.get(id.as_str()).copied()).collect();
        assert!(lines.iter().enumerate().all(|(i, line)| *line == i), "not a prefix of the file: {lines:?}");
        eprintln!("submit killed in round {round}: {} of {} events on the log", lines.len(), events.len());
    }
    env.ok(&["submit", file]);
    let on_log = check_after_kill(&env, &[], &events.iter().map(|(_, id)| id.clone()).collect(), "the final submit");
    assert_eq!(on_log.len() as u64, events.len() as u64 + SETUP_RECORDS);
}

#[test]
fn sigkill_during_rebuild_leaves_projections_that_audit_accepts() {
    let env = Env::new();
    let mut rng = Rng::from_env();
    let (_, file) = bulk_file(&env, 3, 3_000);
    env.ok(&["submit", &file]);
    let profile = env.ok(&["--json", "profile", &env.learner.did]).stdout;
    for round in 0..5 {
        let started = Instant::now();
        let mut rebuild = spawn(&env, &["rebuild"]);
        thread::sleep(Duration::from_millis(rng.between(20, 600)));
        rebuild.kill().expect("SIGKILL rebuild");
        let _ = rebuild.wait();
        check_after_kill(&env, &[], &BTreeSet::new(), &format!("rebuild (round {round}, {:?} in)", started.elapsed()));
        assert_eq!(env.ok(&["--json", "profile", &env.learner.did]).stdout, profile, "the profile changed");
    }
}
