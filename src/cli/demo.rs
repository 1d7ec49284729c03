//! Filling a ledger directory with the demo (`credledger demo`, `credledger serve --demo`): the
//! sample's keys go to a keys directory (0600, never committed), with a trust file naming the
//! demo's operator for `credledger verify`; its events go onto the ledger.
//! The store is opened once, by the caller, and filled through that ledger: sled releases its file
//! lock asynchronously, so reopening a store the same process just closed can fail.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use credledger::bundle::{Trust, TrustedOperator};
use credledger::event::Timestamp;
use credledger::store::Store;
use credledger::store::dir::LedgerDir;
use credledger::{Did, Ledger, SecretKey, demo};
use time::OffsetDateTime;

use crate::cli::lists::Signing;

/// The file in the keys directory that names the demo's featured learner.
const FEATURED: &str = "featured-learner.did";

/// The trust file in the keys directory: the demo's operator, for the demo's log only.
pub const TRUST: &str = "trust.json";

/// Makes sure `dir` is a demo ledger directory, creating it (config and operator key) if absent.
pub fn prepare(dir: &LedgerDir, origin: &str) -> Result<()> {
    if !dir.exists() {
        dir.create(origin, true)?;
    } else if !dir.config()?.demo {
        bail!("a ledger that is not a demo already exists at {}; pass --ledger NEWDIR", dir.path().display());
    }
    Ok(())
}

/// Fills an empty demo ledger (opened to append, on `dir`), its credentials' status lists served
/// under `public_url`; leaves a filled one as it is. Returns the featured learner.
pub fn fill<S: Store>(
    ledger: &mut Ledger<S>,
    dir: &LedgerDir,
    keys_dir: &Path,
    public_url: &str,
    now: OffsetDateTime,
) -> Result<Did> {
    if ledger.is_empty() {
        let config = dir.config()?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness: {e}"))?;
        let sample = demo::build_at(&dir.operator_key()?, &config.origin, public_url, seed, now)?;
        if keys_dir.exists() {
            std::fs::remove_dir_all(keys_dir)
                .with_context(|| format!("clearing old demo keys in {}", keys_dir.display()))?;
        }
        for (name, key) in &sample.keys {
            key.write_file(&keys_dir.join(format!("{name}.key")))?;
        }
        std::fs::write(keys_dir.join(FEATURED), format!("{}\n", sample.featured_learner))?;
        let values = sample.events.iter().map(|e| e.value().clone()).collect();
        for result in ledger.append_values(values, now, true) {
            result.context("appending the demo events")?;
        }
        eprintln!(
            "filled a demo ledger at {} with {} events; keys in {}",
            dir.path().display(),
            ledger.len(),
            keys_dir.display()
        );
    } else {
        eprintln!("the demo ledger at {} is already filled", dir.path().display());
    }
    let featured = std::fs::read_to_string(keys_dir.join(FEATURED))
        .with_context(|| format!("the demo's keys are not in {} (pass --keys DIR)", keys_dir.display()))?;
    sign_lists(ledger, dir, keys_dir, public_url, now)?;
    write_trust(dir, keys_dir)?;
    featured.trim().parse().context("the featured learner's did")
}

/// Signs, with the demo's keys, every list they hold credentials in that is not current under
/// `public_url` (a new demo's lists, or a demo filled for another public URL): the lists are served
/// from the start.
fn sign_lists<S: Store>(
    ledger: &mut Ledger<S>,
    dir: &LedgerDir,
    keys_dir: &Path,
    public_url: &str,
    now: OffsetDateTime,
) -> Result<()> {
    let origin = dir.config()?.origin;
    let signing = Signing { base: public_url, origin: &origin, at: Timestamp::whole_seconds(now) };
    let mut lists = Vec::new();
    let files = std::fs::read_dir(keys_dir).with_context(|| format!("reading {}", keys_dir.display()))?;
    for file in files {
        let path = file?.path();
        if path.extension().is_some_and(|e| e == "key") {
            lists.extend(signing.stale_in(&ledger.state().status, &SecretKey::read_file(&path)?)?);
        }
    }
    let signed = lists.len();
    let values = lists.iter().map(|e| e.value().clone()).collect();
    for result in ledger.append_values(values, now, true) {
        result.context("appending the demo's signed status lists")?;
    }
    if signed > 0 {
        eprintln!("signed {signed} status lists of the demo's keys for {public_url}");
    }
    Ok(())
}

/// Writes the demo's trust file (also for a demo filled by an earlier build, which wrote none).
fn write_trust(dir: &LedgerDir, keys_dir: &Path) -> Result<()> {
    let config = dir.config()?;
    let operator = TrustedOperator { origin: Some(config.origin), did: config.operator };
    let text = serde_json::to_string_pretty(&Trust { operators: vec![operator] })?;
    let path = keys_dir.join(TRUST);
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
