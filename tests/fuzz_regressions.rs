//! Replays the fuzz corpus under `cargo test`: every input kept in `fuzz/corpus/<target>/`, and
//! every input that once crashed a target in `fuzz/regressions/<target>/`, through the same
//! target bodies the fuzzers run (`fuzz/harness.rs`). A panic or a broken invariant fails the
//! test and names the file. `fuzz/README.md` says how to run the fuzzers themselves.

use std::fs;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../fuzz/harness.rs"]
mod harness;

/// The input files for `target`, from its corpus and its regressions (either may be missing).
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for dir in [root.join("corpus").join(target), root.join("regressions").join(target)] {
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        for entry in entries {
            let path = entry.unwrap_or_else(|e| panic!("reading {}: {e}", dir.display())).path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Runs `body` over every input of `target`; fails naming each input that panicked, and when there
/// was no input at all.
fn replay(target: &str, body: fn(&[u8])) {
    let files = inputs(target);
    assert!(!files.is_empty(), "no inputs for fuzz target `{target}` in fuzz/corpus or fuzz/regressions");
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
            catch_unwind(AssertUnwindSafe(|| body(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "fuzz target `{target}` panicked on {} of {} inputs: {failed:#?}",
        failed.len(),
        files.len()
    );
    eprintln!("fuzz target `{target}`: {} inputs replayed", files.len());
}

#[test]
fn event_corpus() {
    replay("event", harness::event);
}

#[test]
fn bundle_corpus() {
    replay("bundle", harness::bundle);
}

#[test]
fn checkpoint_corpus() {
    replay("checkpoint", harness::checkpoint);
}

#[test]
fn proofs_corpus() {
    replay("proofs", harness::proofs);
}
