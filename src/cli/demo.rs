//! Filling a ledger directory with the demo (`credledger demo`, `credledger serve --demo`): the
//! sample's keys go to a keys directory (0600, never committed), with a trust file naming the
//! demo's operator for `credledger verify`; its events go onto the ledger.
//! The store is opened once, by the caller, and filled through that ledger: sled releases its file
//! lock asynchronously, so reopening a store the same process just closed can fail.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use credledger::event::Timestamp;
use credledger::bundle::{Trust, TrustedOperator};
use credledger::store::Store;
use credledger::store::dir::LedgerDir;
use credledger::{Did, Ledger, demo};
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
        // Every list a demo key holds credentials in, signed as the log has it: served from the start.
        let signing = Signing { base: public_url, origin: &config.origin, at: Timestamp::whole_seconds(now) };
        let mut lists = Vec::new();
        for (_, key) in &sample.keys {
            lists.extend(signing.stale_in(&ledger.state().status, key)?);
        }
        let values = lists.iter().map(|e| e.value().clone()).collect();
        for result in ledger.append_values(values, now, true) {
            result.context("appending the demo's signed status lists")?;
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
    write_trust(dir, keys_dir)?;
    featured.trim().parse().context("the featured learner's did")
}

/// Writes the demo's trust file (also for a demo filled by an earlier build, which wrote none).
fn write_trust(dir: &LedgerDir, keys_dir: &Path) -> Result<()> {
    let config = dir.config()?;
    let operator = TrustedOperator { origin: Some(config.origin), did: config.operator };
    let text = serde_json::to_string_pretty(&Trust { operators: vec![operator] })?;
    let path = keys_dir.join(TRUST);
    std::fs::write(&path, text + "\n").with_context(|| format!("writing {}", path.display()))
}
