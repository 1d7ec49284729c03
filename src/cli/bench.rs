//! `credledger bench`: one run that measures, on this machine, the raw Ed25519 verification rate
//! on one core, and next to it what the ledger does with every check on: durable appends, replay
//! with and without signature checks, bundle verification, and appends over HTTP.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use credledger::bundle::{self, ShareRequest, Trust, VerifyOptions};
use credledger::generate::Generator;
use credledger::store::dir::LedgerDir;
use credledger::{Ledger, SecretKey};
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;
use time::OffsetDateTime;

/// One measurement.
#[derive(Serialize, Debug)]
pub struct Row {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// The rate's ratio to the raw single-core verify rate (for rates).
    pub ratio: Option<f64>,
    pub target: &'static str,
}

/// The whole run.
#[derive(Serialize, Debug)]
pub struct Report {
    pub events: usize,
    pub cores: usize,
    pub rows: Vec<Row>,
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// Runs every measurement over `events` generated events.
pub fn run(events: usize) -> Result<Report> {
    let mut rows = Vec::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());

    // The floor: verify_strict on one core.
    let key = SigningKey::from_bytes(&[7; 32]);
    let message = [0x5a_u8; 300];
    let signature = key.sign(&message);
    let public = key.verifying_key();
    let n = 20_000;
    let started = Instant::now();
    for _ in 0..n {
        public.verify_strict(std::hint::black_box(&message), &signature).context("verify")?;
    }
    let raw = rate(n, started.elapsed());
    rows.push(Row {
        name: "raw Ed25519 verify (1 core)",
        value: raw,
        unit: "verifies/s",
        ratio: Some(1.0),
        target: "",
    });

    // A ledger and its events (generating and signing them is not measured).
    let tmp = tempfile::tempdir()?;
    let dir = LedgerDir::new(tmp.path().join("ledger"));
    let (config, operator) = dir.create("bench.credledger.dev", false)?;
    let now = OffsetDateTime::now_utc();
    // Dated so that the last event is not ahead of the ledger's clock.
    let start = now - credledger::generate::span(events as u64);
    let mut generator = Generator::new(operator.clone(), &config.origin, 1, start, (events / 10).max(50));
    let featured = generator.featured_learner().clone();
    let genesis = generator.genesis()?;
    let mut values = vec![genesis.value().clone()];
    while values.len() < events + 1 {
        let chunk = generator.next_chunk(((events + 1 - values.len()) as u64).min(10_000))?;
        values.extend(chunk.iter().map(|e| e.value().clone()));
    }

    // Durable appends with every check, in groups as `submit` makes them.
    let mut ledger = Ledger::open(dir.open_store()?)?;
    ledger.sign_checkpoints_with(operator.clone())?;
    let started = Instant::now();
    for group in values.chunks(1000) {
        for result in ledger.append_values(group.to_vec(), now, false) {
            result.context("a generated event was refused")?;
        }
    }
    let appends = rate(values.len(), started.elapsed());
    rows.push(Row {
        name: "durable appends (sled, all checks, groups of 1000)",
        value: appends,
        unit: "events/s",
        ratio: Some(appends / raw),
        target: ">= 1.0x",
    });

    let started = Instant::now();
    let folded = ledger.fold_from_scratch(|_| {})?;
    let replay = rate(values.len(), started.elapsed());
    drop(folded);
    rows.push(Row {
        name: "replay, no signature checks (rebuild)",
        value: replay,
        unit: "events/s",
        ratio: Some(replay / raw),
        target: ">= 10x",
    });

    let started = Instant::now();
    let audit = ledger.audit()?;
    let audited = rate(values.len(), started.elapsed());
    anyhow::ensure!(audit.problems.is_empty(), "audit found problems: {audit}");
    rows.push(Row {
        name: "audit: replay with signatures, tree, projections",
        value: audited,
        unit: "events/s",
        ratio: Some(audited / raw),
        target: ">= 1.5x",
    });

    // Bundles of 1, 20 and 200 credentials, built first; the ledger is closed before they are
    // verified offline, as on an employer's machine, so none of its background work lands on them.
    let learner_key = generator.featured_learner_key();
    let profile = ledger.profile(&featured);
    let active: Vec<_> =
        profile.credentials.iter().filter(|c| c.status.as_str() == "active").map(|c| c.summary.id).collect();
    let mut bundles = Vec::new();
    for (count, name, target) in [
        (1, "bundle verification, 1 credential", ""),
        (20, "bundle verification, 20 credentials", "< 5 ms"),
        (200, "bundle verification, 200 credentials", ""),
    ] {
        if active.len() < count {
            continue;
        }
        let request = ShareRequest { only: Some(active[..count].to_vec()), ..ShareRequest::default() };
        let shared = credledger::share_build::build_unsigned(&mut ledger, &featured, &request, now)?;
        bundles.push((serde_json::to_vec(&shared.signed(&learner_key))?, count, name, target));
    }
    drop(ledger);
    let trust = Trust::operator(operator.did().clone());
    for (bytes, count, name, target) in bundles {
        // The median of many runs.
        let reps = if count >= 200 { 11 } else { 41 };
        let mut times = Vec::with_capacity(reps);
        for _ in 0..reps {
            let started = Instant::now();
            let report = bundle::verify(&bytes, &trust, &VerifyOptions::default(), now);
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            anyhow::ensure!(report.is_valid(), "a benchmark bundle did not verify: {:?}", report.checks);
        }
        times.sort_by(f64::total_cmp);
        rows.push(Row { name, value: times[reps / 2], unit: "ms", ratio: None, target });
    }

    // The same events over HTTP, in arrays of 100 from four clients.
    let http = http_rate(&values, &operator)?;
    rows.push(Row {
        name: "POST /v1/events, arrays of 100, in order",
        value: http,
        unit: "events/s",
        ratio: Some(http / raw),
        target: ">= 0.7x appends",
    });
    Ok(Report { events: values.len(), cores, rows })
}

/// Appends `values` to a fresh served ledger over HTTP; events/s.
fn http_rate(values: &[serde_json::Value], operator: &SecretKey) -> Result<f64> {
    let tmp = tempfile::tempdir()?;
    let dir = LedgerDir::new(tmp.path().join("ledger"));
    dir.create_with("bench.credledger.dev", operator.clone(), false)?;
    {
        let mut ledger = Ledger::open(dir.open_store()?)?;
        ledger.sign_checkpoints_with(operator.clone())?;
        ledger.append_values(vec![values[0].clone()], OffsetDateTime::now_utc(), true).pop().context("genesis")??;
    }
    let (mut child, url) = spawn_server(&tmp.path().join("ledger"), &[])?;
    // In log order, as an institution's system would send them: later events depend on earlier
    // ones (a rotated key signs after the rotation), so one client posts the arrays in turn.
    let batches: Vec<String> = values[1..].chunks(100).map(|c| serde_json::to_string(c).unwrap_or_default()).collect();
    let client = credledger::http::client::Client::new(&url);
    let started = Instant::now();
    let result: Result<()> = batches.iter().try_for_each(|batch| {
        let answer = client.post_json("/v1/events", batch)?;
        anyhow::ensure!(answer.body["rejected"] == 0, "{} events were refused over HTTP", answer.body["rejected"]);
        Ok(())
    });
    let elapsed = started.elapsed();
    let _ = child.kill();
    let _ = child.wait();
    result?;
    Ok(rate(values.len() - 1, elapsed))
}

/// Starts `credledger serve` (this executable) on the ledger directory at a free loopback port,
/// with no write rate limit; returns the process and its URL. The caller kills it.
pub fn spawn_server(ledger: &std::path::Path, extra: &[&str]) -> Result<(std::process::Child, String)> {
    // sled releases its lock asynchronously; the server is a separate process, so wait for it.
    std::thread::sleep(Duration::from_millis(300));
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--ledger")
        .arg(ledger)
        .args(["serve", "--addr", "127.0.0.1:0", "--write-rate", "0", "--verify-rate", "0", "--read-rate", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().context("server stdout")?).read_line(&mut line)?;
    match line.trim().strip_prefix("listening on ") {
        Some(url) => Ok((child, url.to_owned())),
        None => {
            let _ = child.kill();
            anyhow::bail!("the server did not start")
        }
    }
}

/// The report as a table.
pub fn table(report: &Report) -> String {
    let rows = report
        .rows
        .iter()
        .map(|r| {
            let value = if r.unit == "ms" {
                format!("{:.2} {}", r.value, r.unit)
            } else {
                format!("{:.0} {}", r.value, r.unit)
            };
            vec![r.name.to_owned(), value, r.ratio.map(|x| format!("{x:.2}x")).unwrap_or_default(), r.target.to_owned()]
        })
        .collect();
    format!(
        "{} events, {} cores\n{}",
        report.events,
        report.cores,
        crate::cli::render::table(&["MEASURE", "VALUE", "VS RAW VERIFY", "TARGET"], rows)
    )
}
