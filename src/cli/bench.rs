//! `credledger bench`: one run that measures, on this machine, the raw Ed25519 verification rate
//! on one core, and next to it what the ledger does with every check on: durable bulk appends as
//! `submit` makes them, `rebuild`, `audit`, bundle verification, appends over HTTP, and (with
//! `--memory`) the peak memory of two `submit` processes. Rates of signatures are given as a
//! ratio to what every core could verify raw, the others to one core's raw rate.

use std::io::{BufRead, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use credledger::bundle::{self, ShareRequest, Trust, VerifyOptions};
use credledger::generate::Generator;
use credledger::store::StoreError;
use credledger::store::dir::{DirError, LedgerDir};
use credledger::{Ledger, SecretKey};

use crate::cli::target::Target;
use ed25519_dalek::{Signer, SigningKey};
use serde::Serialize;
use time::OffsetDateTime;

/// One measurement.
#[derive(Serialize, Debug)]
pub struct Row {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    /// The rate's ratio to [`basis`](Self::basis) (for rates).
    pub ratio: Option<f64>,
    /// What the ratio is to: `raw` (the single-core raw verify rate) or `N x raw` (every core's).
    pub basis: Option<String>,
    pub target: &'static str,
}

/// The whole run.
#[derive(Serialize, Debug)]
pub struct Report {
    pub events: usize,
    pub cores: usize,
    pub rows: Vec<Row>,
}

/// What to measure.
#[derive(Debug, Clone, Copy)]
pub struct BenchOptions {
    /// Generated events to append, rebuild and audit.
    pub events: usize,
    /// Also the peak memory of `submit`: this many events into a new ledger, then this many
    /// more in a second process.
    pub memory: Option<(usize, usize)>,
}

/// Reads `--memory FIRST,SECOND`.
pub fn parse_memory(text: &str) -> std::result::Result<(usize, usize), String> {
    let wrong = || format!("`{text}`: expected two event counts, FIRST,SECOND (e.g. 200000,600000)");
    let (first, second) = text.split_once(',').ok_or_else(wrong)?;
    let count = |n: &str| n.trim().parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(wrong);
    Ok((count(first)?, count(second)?))
}

fn rate(count: usize, elapsed: Duration) -> f64 {
    count as f64 / elapsed.as_secs_f64()
}

/// The signatures the ledger checks in an event: its own, and its credential's standard proof.
fn signatures(event: &serde_json::Value) -> usize {
    1 + usize::from(event["body"].get("vc_proof").is_some_and(|p| !p.is_null()))
}

/// A ledger directory whose events come from the generator (seed 1), dated so that the last of
/// `events` is not ahead of the ledger's clock.
struct Generated {
    tmp: tempfile::TempDir,
    dir: LedgerDir,
    operator: SecretKey,
    generator: Generator,
}

impl Generated {
    fn new(events: usize) -> Result<Self> {
        let tmp = tempfile::tempdir()?;
        let dir = LedgerDir::new(tmp.path().join("ledger"));
        let (config, operator) = dir.create("bench.credledger.dev", false)?;
        let start = OffsetDateTime::now_utc() - credledger::generate::span(events as u64);
        let generator = Generator::new(operator.clone(), &config.origin, 1, start, (events / 10).max(50));
        Ok(Generated { tmp, dir, operator, generator })
    }

    /// The genesis and then `count` more events.
    fn values(&mut self, count: usize) -> Result<Vec<serde_json::Value>> {
        let mut values = vec![self.generator.genesis()?.value().clone()];
        while values.len() < count + 1 {
            let chunk = self.generator.next_chunk(((count + 1 - values.len()) as u64).min(10_000))?;
            values.extend(chunk.iter().map(|e| e.value().clone()));
        }
        Ok(values)
    }
}

/// Runs every measurement over `options.events` generated events.
pub fn run(options: BenchOptions) -> Result<Report> {
    let mut rows = Vec::new();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let all_cores = format!("{cores} x raw");

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
    let row = |name, value, unit, ratio: Option<(f64, &str)>, target| Row {
        name,
        value,
        unit,
        ratio: ratio.map(|(r, _)| r),
        basis: ratio.map(|(_, b)| b.to_owned()),
        target,
    };
    rows.push(row("raw Ed25519 verify (1 core)", raw, "verifies/s", Some((1.0, "raw")), ""));

    // A ledger and its events (generating and signing them is not measured).
    let mut generated = Generated::new(options.events)?;
    let values = generated.values(options.events)?;
    let signed: usize = values.iter().map(signatures).sum();
    let featured = generated.generator.featured_learner().clone();
    let (dir, operator) = (generated.dir.clone(), generated.operator.clone());

    // Durable appends with every check, as `submit` makes them: in groups, the next group's
    // signatures checked while the group before commits.
    let now = OffsetDateTime::now_utc();
    let started = Instant::now();
    let mut refused = 0;
    let chunks = values.chunks(crate::cli::target::GROUP).map(<[_]>::to_vec);
    Target::Local(dir.clone()).append(chunks, false, now, &mut |outcomes| {
        refused += outcomes.iter().filter(|o| o.is_err()).count();
    })?;
    let elapsed = started.elapsed();
    anyhow::ensure!(refused == 0, "{refused} generated events were refused");
    let appends = rate(values.len(), elapsed);
    rows.push(row("durable bulk appends (sled, all checks): events", appends, "events/s", None, ""));
    let verified = rate(signed, elapsed);
    rows.push(row(
        "durable bulk appends: signatures verified",
        verified,
        "signatures/s",
        Some((verified / (cores as f64 * raw), &all_cores)),
        ">= 0.6",
    ));

    // `credledger rebuild`: the projections folded again and rewritten to the store.
    let mut ledger = Ledger::open(open_released(&dir)?)?;
    ledger.sign_checkpoints_with(operator.clone())?;
    let started = Instant::now();
    ledger.rebuild()?;
    let rebuilt = rate(values.len(), started.elapsed());
    rows.push(row(
        "rebuild (projections rewritten to the store)",
        rebuilt,
        "events/s",
        Some((rebuilt / raw, "raw")),
        ">= 5",
    ));

    let started = Instant::now();
    let audit = ledger.audit()?;
    let elapsed = started.elapsed();
    anyhow::ensure!(audit.problems.is_empty(), "audit found problems: {audit}");
    let audited = rate(signed, elapsed);
    rows.push(row("audit: events", rate(values.len(), elapsed), "events/s", None, ""));
    rows.push(row(
        "audit: signatures verified",
        audited,
        "signatures/s",
        Some((audited / (cores as f64 * raw), &all_cores)),
        ">= 0.6",
    ));

    // Bundles of 1, 20 and 200 credentials, built first; the ledger is closed before they are
    // verified offline, as on an employer's machine, so none of its background work lands on them.
    let learner_key = generated.generator.featured_learner_key();
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
        rows.push(row(name, times[reps / 2], "ms", None, target));
    }

    // The same events over HTTP, in arrays of 100.
    let http = http_rate(&values, &operator)?;
    rows.push(row("POST /v1/events, arrays of 100, in order", http, "events/s", Some((http / raw, "raw")), ""));

    if let Some((first, second)) = options.memory {
        let (first, second) = submit_peaks(first, second)?;
        rows.push(row("peak memory of submit: first, into a new ledger", mib(first), "MiB", None, "< 512"));
        rows.push(row("peak memory of submit: second, onto it", mib(second), "MiB", None, "< 512, <= 1.2 x first"));
    }
    Ok(Report { events: values.len(), cores, rows })
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The peak memory of two `submit` processes (this executable): `first` generated events into a
/// new ledger, then the `second` events after them. Generating and writing the files is not
/// measured.
fn submit_peaks(first: usize, second: usize) -> Result<(u64, u64)> {
    let mut generated = Generated::new(first + second)?;
    let mut files = Vec::new();
    for (name, count) in [("first.jsonl", first), ("second.jsonl", second)] {
        let path = generated.tmp.path().join(name);
        let mut out = std::io::BufWriter::new(std::fs::File::create(&path)?);
        let mut written = 0;
        if files.is_empty() {
            out.write_all(generated.generator.genesis()?.canonical())?;
            out.write_all(b"\n")?;
        }
        while written < count {
            for event in generated.generator.next_chunk(((count - written) as u64).min(10_000))? {
                out.write_all(event.canonical())?;
                out.write_all(b"\n")?;
                written += 1;
            }
        }
        out.flush()?;
        files.push(path);
    }
    let mut peaks = Vec::new();
    for file in &files {
        let output = Command::new(std::env::current_exe()?)
            .arg("--json")
            .arg("--ledger")
            .arg(generated.dir.path())
            .arg("submit")
            .arg(file)
            .stderr(Stdio::inherit())
            .output()?;
        anyhow::ensure!(output.status.success(), "submit {} failed", file.display());
        let summary: serde_json::Value = serde_json::from_slice(&output.stdout).context("submit's report")?;
        peaks.push(summary["peak_memory_bytes"].as_u64().context("this system does not tell peak memory")?);
    }
    Ok((peaks[0], peaks[1]))
}

/// Appends `values` to a fresh served ledger over HTTP; events/s.
fn http_rate(values: &[serde_json::Value], operator: &SecretKey) -> Result<f64> {
    let tmp = tempfile::tempdir()?;
    let dir = LedgerDir::new(tmp.path().join("ledger"));
    dir.create_with("bench.credledger.dev", operator.clone(), false)?;
    {
        let mut ledger = Ledger::open(open_released(&dir)?)?;
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

/// Opens the directory's sled store again once the last use of it in this process has let go:
/// sled releases its file lock on a thread of its own after the store is dropped, so an open
/// right after may find it still locked (bounded: 5 s).
fn open_released(dir: &LedgerDir) -> Result<credledger::SledStore> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match dir.open_store() {
            Err(DirError::Store(StoreError::Locked { .. })) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            opened => return Ok(opened?),
        }
    }
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
            let ratio = match (r.ratio, &r.basis) {
                (Some(x), Some(basis)) => format!("{x:.2} of {basis}"),
                _ => String::new(),
            };
            vec![r.name.to_owned(), value, ratio, r.target.to_owned()]
        })
        .collect();
    format!(
        "{} events, {} cores\n{}",
        report.events,
        report.cores,
        crate::cli::render::table(&["MEASURE", "VALUE", "RATIO", "TARGET"], rows)
    )
}
