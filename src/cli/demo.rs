//! Filling a ledger directory with the demo (`credledger demo`, `credledger serve --demo`): the
//! sample's keys go to a keys directory (0600, never committed), its events onto a new ledger.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use credledger::store::dir::LedgerDir;
use credledger::{Did, demo};
use time::OffsetDateTime;

use crate::cli::target::Target;

/// The file in the keys directory that names the demo's featured learner.
const FEATURED: &str = "featured-learner.did";

/// Fills a new demo ledger, or finds the one already there. Returns the featured learner.
pub fn fill(dir: &LedgerDir, keys_dir: &Path, origin: &str, now: OffsetDateTime) -> Result<Did> {
    if dir.exists() {
        if !dir.config()?.demo {
            bail!("a ledger that is not a demo already exists at {}; pass --ledger NEWDIR", dir.path().display());
        }
        eprintln!("the demo ledger at {} is already filled", dir.path().display());
    } else {
        let (_, operator) = dir.create(origin, true)?;
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| anyhow!("no randomness: {e}"))?;
        let sample = demo::build(&operator, origin, seed, now)?;
        if keys_dir.exists() {
            std::fs::remove_dir_all(keys_dir)
                .with_context(|| format!("clearing old demo keys in {}", keys_dir.display()))?;
        }
        for (name, key) in &sample.keys {
            key.write_file(&keys_dir.join(format!("{name}.key")))?;
        }
        std::fs::write(keys_dir.join(FEATURED), format!("{}\n", sample.featured_learner))?;
        let mut ledger = Target::open_for_append(dir)?;
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
    }
    let featured = std::fs::read_to_string(keys_dir.join(FEATURED))
        .with_context(|| format!("the demo's keys are not in {} (pass --keys DIR)", keys_dir.display()))?;
    featured.trim().parse().context("the featured learner's did")
}
