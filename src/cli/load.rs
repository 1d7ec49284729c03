//! `credledger load`: a bounded load test over loopback. It starts its own server on a fresh
//! ledger at 127.0.0.1 (or several server nodes on one empty PostgreSQL database), then for a
//! fixed time mixes appends (each appender posts its own generated institutions' events one by
//! one, in order, signed before the clock starts), profile reads and bundle verifications from
//! several clients, spread over the
//! nodes; then it checks that every acknowledged event is on the log exactly once with dense
//! seqs, and audits the ledger. It reports throughput and p50/p99 latency per kind.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Result;
use credledger::bundle::Bundle;
use credledger::generate::Generator;
use credledger::http::client::Client;
use credledger::store::dir::LedgerDir;
use credledger::{Ledger, Record};
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

/// How the load is made.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub seconds: u64,
    pub appenders: usize,
    pub readers: usize,
    pub verifiers: usize,
    /// Server nodes (more than one needs `database_url`).
    pub nodes: usize,
    /// An empty PostgreSQL database for the log, instead of a sled store.
    pub database_url: Option<String>,
}

/// One kind of request, measured.
#[derive(Serialize, Debug)]
pub struct KindStats {
    pub kind: &'static str,
    pub clients: usize,
    pub requests: usize,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Requests that failed: transport errors, unexpected statuses, wrong verdicts ([`verified_right`]).
    pub failed: usize,
}

/// The whole run, and what the checks afterwards found.
#[derive(Serialize, Debug)]
pub struct LoadReport {
    pub seconds: f64,
    pub kinds: Vec<KindStats>,
    pub acknowledged: usize,
    pub records: u64,
    /// Acknowledged events missing from the log.
    pub lost: usize,
    /// Events on the log more than once, and seqs out of place.
    pub misplaced: usize,
    pub audit_problems: usize,
}

impl LoadReport {
    /// Nothing failed, nothing was lost, the audit passed.
    pub fn passed(&self) -> bool {
        self.kinds.iter().all(|k| k.failed == 0) && self.lost == 0 && self.misplaced == 0 && self.audit_problems == 0
    }
}

/// Latencies of one kind's requests, and its failures.
#[derive(Default)]
struct Tally {
    latencies: Vec<Duration>,
    failed: usize,
}

impl Tally {
    fn time(&mut self, request: impl FnOnce() -> bool) {
        let started = Instant::now();
        let ok = request();
        self.latencies.push(started.elapsed());
        if !ok {
            self.failed += 1;
        }
    }

    fn stats(mut self, kind: &'static str, clients: usize, elapsed: Duration) -> KindStats {
        self.latencies.sort();
        let percentile = |p: f64| {
            let i = ((self.latencies.len() as f64 * p).ceil() as usize).saturating_sub(1);
            self.latencies.get(i).map_or(0.0, |d| d.as_secs_f64() * 1000.0)
        };
        KindStats {
            kind,
            clients,
            requests: self.latencies.len(),
            per_second: self.latencies.len() as f64 / elapsed.as_secs_f64(),
            p50_ms: percentile(0.50),
            p99_ms: percentile(0.99),
            failed: self.failed,
        }
    }
}

/// Events each appender signs ahead, per second of the run (at most 20,000): more than one
/// client posting one event at a time gets through on two cores.
const PRESIGNED_PER_SECOND: usize = 150;

/// Runs the load test.
pub fn run(options: &LoadOptions) -> Result<LoadReport> {
    let tmp = tempfile::tempdir()?;
    let dir = LedgerDir::with_database(tmp.path().join("ledger"), options.database_url.clone());
    anyhow::ensure!(options.nodes <= 1 || options.database_url.is_some(), "several nodes need --database-url");
    let (config, operator) = dir.create("load.credledger.dev", false)?;
    let now = OffsetDateTime::now_utc();
    // Each appender's events are dated a millisecond apart from this start: an hour back keeps
    // millions of them behind the ledger's clock.
    let start = now - time::Duration::hours(1);
    let mut generators: Vec<Generator> = (0..options.appenders.max(1))
        .map(|i| Generator::new(operator.clone(), &config.origin, i as u64 + 1, start, 200))
        .collect();
    {
        let mut ledger = Ledger::open(dir.open_shared_store()?)?;
        ledger.sign_checkpoints_with(operator.clone())?;
        ledger.append(generators[0].genesis()?.canonical(), now)?;
    }
    let extra: Vec<&str> = match &options.database_url {
        Some(url) => vec!["--database-url", url, "--store", "postgres"],
        None => Vec::new(),
    };
    let mut servers = Vec::new();
    let mut urls = Vec::new();
    for _ in 0..options.nodes.max(1) {
        let (server, url) = crate::cli::bench::spawn_server(dir.path(), &extra)?;
        servers.push(server);
        urls.push(url);
    }
    let result = drive(&urls, options, &mut generators);
    for server in &mut servers {
        let _ = server.kill();
        let _ = server.wait();
    }
    let (kinds, elapsed, acknowledged) = result?;

    // Afterwards: every acknowledged event once, in a dense log; and the audit.
    let ledger = Ledger::open(dir.open_shared_store()?)?;
    let mut seen = HashMap::new();
    let mut misplaced = 0;
    ledger.for_each_record(0, |record: Record| {
        if seen.insert(record.event.id(), record.seq).is_some() || record.seq as usize != seen.len() - 1 {
            misplaced += 1;
        }
        Ok(())
    })?;
    let lost = acknowledged.iter().filter(|id| !seen.contains_key(*id)).count();
    let audit = ledger.audit()?;
    Ok(LoadReport {
        seconds: elapsed.as_secs_f64(),
        kinds,
        acknowledged: acknowledged.len(),
        records: ledger.len(),
        lost,
        misplaced,
        audit_problems: audit.problems.len(),
    })
}

type Driven = (Vec<KindStats>, Duration, BTreeSet<credledger::EventId>);

/// Warms the ledger up, then runs every client until the time is up.
fn drive(urls: &[String], options: &LoadOptions, generators: &mut [Generator]) -> Result<Driven> {
    let client = Client::new(&urls[0]);
    // Client `n` talks to node `n` modulo the nodes.
    let node = |n: usize| urls[n % urls.len()].as_str();
    // Each appender's institutions first, and enough credentials for a bundle.
    for generator in generators.iter_mut() {
        let warm_up: Vec<_> = generator.next_chunk(200)?.iter().map(|e| e.value().clone()).collect();
        let answer = client.post_json("/v1/events", &serde_json::to_string(&warm_up)?)?;
        anyhow::ensure!(answer.body["rejected"] == 0, "the warm-up was refused: {}", answer.body);
    }
    let learner = generators[0].featured_learner().clone();
    let bundle: Bundle =
        serde_json::from_value(client.post_json("/v1/bundles", &json!({ "learner": learner }).to_string())?.body)?;
    let bundle = serde_json::to_string(&bundle.signed(&generators[0].featured_learner_key()))?;
    let learners: Vec<String> = generators.iter().map(|g| g.featured_learner().to_string()).collect();

    // Each appender's events are signed before the clock starts: signing is the institutions'
    // work, done on their machines, not the ledger's. One that runs out signs more as it goes.
    let presigned = (options.seconds as usize).saturating_mul(PRESIGNED_PER_SECOND).clamp(100, 20_000);
    let mut queues: Vec<std::collections::VecDeque<_>> = {
        use rayon::prelude::*;
        generators.par_iter_mut().map(|g| g.next_chunk(presigned as u64).map(Into::into)).collect::<Result<_, _>>()?
    };

    let stop = AtomicBool::new(false);
    let acknowledged = Mutex::new(BTreeSet::new());
    let started = Instant::now();
    let deadline = started + Duration::from_secs(options.seconds);
    let running = || !stop.load(Ordering::Relaxed) && Instant::now() < deadline;
    let (appends, reads, verifies) = std::thread::scope(|scope| {
        let appenders: Vec<_> = generators
            .iter_mut()
            .zip(queues.iter_mut())
            .enumerate()
            .map(|(n, (generator, queue))| {
                let (client, acknowledged, running) = (Client::new(node(n)), &acknowledged, &running);
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    while running() {
                        if queue.is_empty() {
                            match generator.next_chunk(100) {
                                Ok(chunk) => queue.extend(chunk),
                                Err(_) => tally.failed += 1,
                            }
                        }
                        let Some(event) = queue.pop_front() else { break };
                        let body = String::from_utf8_lossy(event.canonical()).into_owned();
                        tally.time(|| match client.post_json("/v1/events", &body) {
                            Ok(answer) if answer.status == 200 || answer.status == 201 => {
                                acknowledged.lock().map(|mut a| a.insert(event.id())).is_ok()
                            }
                            _ => false,
                        });
                    }
                    tally
                })
            })
            .collect();
        let readers: Vec<_> = (0..options.readers)
            .map(|r| {
                let (client, learners, running) = (Client::new(node(r + 1)), &learners, &running);
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    let mut n = r;
                    while running() {
                        let path = format!("/v1/learners/{}/profile", learners[n % learners.len()]);
                        tally.time(|| client.get_json(&path).is_ok_and(|a| a.status == 200));
                        n += 1;
                    }
                    tally
                })
            })
            .collect();
        let verifiers: Vec<_> = (0..options.verifiers)
            .map(|v| {
                let (client, bundle, running) = (Client::new(node(v + 2)), &bundle, &running);
                scope.spawn(move || {
                    let mut tally = Tally::default();
                    while running() {
                        tally.time(|| client.post_json("/v1/verify", bundle).is_ok_and(|a| verified_right(&a.body)));
                    }
                    tally
                })
            })
            .collect();
        let join = |handles: Vec<std::thread::ScopedJoinHandle<'_, Tally>>| {
            handles.into_iter().map(|h| h.join().unwrap_or_default()).fold(Tally::default(), |mut all, t| {
                all.latencies.extend(t.latencies);
                all.failed += t.failed;
                all
            })
        };
        let tallies = (join(appenders), join(readers), join(verifiers));
        stop.store(true, Ordering::Relaxed);
        tallies
    });
    let elapsed = started.elapsed();
    let kinds = vec![
        appends.stats("append (one event per request)", generators.len(), elapsed),
        reads.stats("profile read", options.readers, elapsed),
        verifies.stats("bundle verification", options.verifiers, elapsed),
    ];
    let acknowledged = acknowledged.into_inner().map_err(|_| anyhow::anyhow!("a client panicked"))?;
    Ok((kinds, elapsed, acknowledged))
}

/// Whether a verification of the bundle made before the run answered right: `VALID`, or `INVALID`
/// only because the appends since revoked or suspended one of its credentials (the generator
/// revokes one credential in 50, the bundle's learner's among them).
fn verified_right(report: &serde_json::Value) -> bool {
    let failed = || report["checks"].as_array().into_iter().flatten().filter(|c| c["ok"] == false);
    report["verdict"] == "VALID"
        || (report["verdict"] == "INVALID"
            && failed().count() > 0
            && failed().all(|c| c["name"] == "credentials.current"))
}

/// The report as a table, and the verdict.
pub fn table(report: &LoadReport) -> String {
    let rows = report
        .kinds
        .iter()
        .map(|k| {
            vec![
                k.kind.to_owned(),
                k.clients.to_string(),
                k.requests.to_string(),
                format!("{:.0}/s", k.per_second),
                format!("{:.1} ms", k.p50_ms),
                format!("{:.1} ms", k.p99_ms),
                k.failed.to_string(),
            ]
        })
        .collect();
    let verdict = if report.passed() { "load test passed" } else { "load test FAILED" };
    format!(
        "{}\n{verdict}: {:.1} s, {} appends acknowledged, {} records, {} lost, {} misplaced, {} audit problems",
        crate::cli::render::table(&["REQUESTS", "CLIENTS", "COUNT", "RATE", "P50", "P99", "FAILED"], rows),
        report.seconds,
        report.acknowledged,
        report.records,
        report.lost,
        report.misplaced,
        report.audit_problems
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(verdict: &str, failed: &[&str]) -> serde_json::Value {
        let mut checks = vec![json!({"name": "events.signatures", "ok": true})];
        checks.extend(failed.iter().map(|name| json!({"name": name, "ok": false})));
        json!({"verdict": verdict, "checks": checks})
    }

    #[test]
    fn a_credential_revoked_during_the_run_is_a_right_answer_and_nothing_else_is() {
        assert!(verified_right(&report("VALID", &[])));
        assert!(verified_right(&report("INVALID", &["credentials.current"])));
        assert!(!verified_right(&report("INVALID", &["credentials.current", "events.signatures"])));
        assert!(!verified_right(&report("INVALID", &["entries.inclusion"])));
        assert!(!verified_right(&report("INVALID", &[])));
        assert!(!verified_right(&json!({"type": "https://credledger.dev/problems/rate-limited"})));
    }
}
