//! The bodies of the fuzz targets, one plain function per target over the raw input bytes.
//!
//! `fuzz/fuzz_targets/*.rs` hand libFuzzer's input to these functions, and
//! `tests/fuzz_regressions.rs` replays the kept corpus (`fuzz/corpus/<target>/`) and every input
//! that once crashed (`fuzz/regressions/<target>/`) through the same functions under `cargo test`.
//! A function returns quietly for input it rejects; it panics only when the code under test
//! panics or an invariant stated here fails.

use std::sync::LazyLock;

use credledger::bundle::{self, Report, Trust, VerifyOptions};
use credledger::checkpoint::Checkpoint;
use credledger::id::Hash32;
use credledger::merkle::{self, MemoryTree};
use credledger::{EventId, SecretKey, SignedEvent, canonical};
use time::{Duration, OffsetDateTime};

/// The operator key the bundle and checkpoint seeds were signed with (`fuzz/README.md` says how
/// they were made): the key from the seed `[1; 32]`.
static OPERATOR: LazyLock<SecretKey> = LazyLock::new(|| SecretKey::from_seed(&[1; 32]));

/// Verification time for bundles: fixed, so a run is reproducible.
fn now() -> OffsetDateTime {
    // 2027-01-01T00:00:00Z
    OffsetDateTime::from_unix_timestamp(1_798_761_600).expect("a valid timestamp")
}

/// `event`: untrusted event JSON through the strict parser, the JCS encoder and the event verifier.
///
/// Invariants: canonical bytes parse again and canonicalize to themselves (JCS is idempotent); a
/// verified event's canonical bytes and id are those of its value, and the event read back from
/// its own canonical bytes verifies with the same id (what a store or a bundle hands on).
pub fn event(data: &[u8]) {
    let Ok(value) = canonical::parse_strict(data) else { return };
    if let Ok(bytes) = canonical::to_vec(&value) {
        let again = canonical::parse_strict(&bytes)
            .unwrap_or_else(|e| panic!("canonical bytes do not parse again: {e}: {}", String::from_utf8_lossy(&bytes)));
        let twice = canonical::to_vec(&again).expect("a re-parsed canonical value canonicalizes");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            String::from_utf8_lossy(&twice),
            "canonicalizing the canonical form changed it"
        );
    }
    let Ok(signed) = SignedEvent::verify(value) else { return };
    let bytes = canonical::to_vec(signed.value()).expect("a verified event canonicalizes");
    assert_eq!(signed.canonical(), &bytes[..], "a verified event's canonical bytes are not those of its value");
    assert_eq!(signed.id(), EventId::of_canonical(&bytes), "a verified event's id is not the hash of its bytes");
    let reread = canonical::parse_strict(&bytes).expect("canonical bytes parse");
    match SignedEvent::verify(reread) {
        Ok(again) => assert_eq!(again.id(), signed.id(), "the event read back from its canonical bytes has another id"),
        Err(e) => panic!("a verified event no longer verifies when read back from its canonical bytes: {e}"),
    }
}

/// `bundle`: untrusted bundle bytes through offline verification, trusting [`OPERATOR`].
///
/// Invariants: the verdict is VALID exactly when every check passed; a check that did not run did
/// not pass; no check is listed twice; a valid report names its learner. A bundle that got past
/// the checkpoint is verified again with every optional check asked for.
pub fn bundle(data: &[u8]) {
    let trust = Trust::operator(OPERATOR.did().clone());
    let report = bundle::verify(data, &trust, &VerifyOptions::default(), now());
    check_report(&report);
    let past_checkpoint = report.checks.iter().any(|c| c.name == "checkpoint.signature" && c.ok);
    if past_checkpoint {
        let strict = VerifyOptions {
            audience: Some("acme.example".to_owned()),
            nonce: Some("n-123".to_owned()),
            max_age: Some(Duration::days(3650)),
        };
        let report = bundle::verify(data, &trust, &strict, now());
        check_report(&report);
        assert_eq!(report.checks.len(), 11, "with every option set, every check is listed: {report:?}");
    }
}

fn check_report(report: &Report) {
    assert_eq!(report.is_valid(), report.checks.iter().all(|c| c.ok), "the verdict disagrees with the checks");
    assert_eq!(report.is_valid(), report.verdict == "VALID");
    assert!(report.verdict == "VALID" || report.verdict == "INVALID", "verdict {}", report.verdict);
    for (i, c) in report.checks.iter().enumerate() {
        assert!(c.ran || !c.ok, "check {} passed without running", c.name);
        assert!(report.checks[..i].iter().all(|d| d.name != c.name), "check {} is listed twice", c.name);
    }
    if report.is_valid() {
        assert!(report.learner.is_some(), "a valid report names no learner");
        assert!(!report.credentials.is_empty(), "a valid report presents no credential");
    }
}

/// `checkpoint`: untrusted checkpoint text through `Checkpoint::verify` (against [`OPERATOR`])
/// and `Checkpoint::parse_unverified`.
///
/// Invariants: a verified checkpoint is what the unverified parse reads, and its text is in the
/// exact form (its size and root in their one encoding, a final newline, nothing but signature
/// lines after the last blank line); every checkpoint that parses, signed again by the operator,
/// verifies as itself.
pub fn checkpoint(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let parsed = Checkpoint::parse_unverified(text);
    if let Ok(verified) = Checkpoint::verify(text, OPERATOR.did()) {
        assert_eq!(parsed.as_ref().ok(), Some(&verified), "verify and parse_unverified read different checkpoints");
        assert!(text.starts_with(&verified.body()), "a verified checkpoint's size or root is not canonical: {text:?}");
        let signatures = text.rsplit_once("\n\n").map(|(_, s)| s).unwrap_or_default();
        assert!(
            text.ends_with('\n') && signatures.lines().all(|line| line.starts_with("\u{2014} ")),
            "a verified checkpoint has more than signature lines after its body, or no final newline: {text:?}"
        );
    }
    if let Ok(parsed) = parsed {
        let resigned = parsed.sign(&OPERATOR);
        assert_eq!(
            Checkpoint::verify(&resigned, OPERATOR.did()),
            Ok(parsed),
            "a parsed checkpoint, signed again, does not verify as itself: {resigned:?}"
        );
    }
}

/// `proofs`: Merkle proof verification on sizes, indices, roots and paths taken from the bytes.
///
/// Layout (short input is padded with zeros): byte 0 unused (kept for future modes), bytes 1..9
/// `a` and 9..17 `b` (u64, little-endian), 17..49 and 49..81 two hashes, then the path as 32-byte
/// hashes (a trailing partial hash is dropped).
///
/// 1. `verify_inclusion(h1, a, b, path, h2)` and `verify_consistency(a, b, h1, h2, path)` as
///    given: they must return, never panic.
/// 2. An honest tree of `1 + b % 40` leaves: the real inclusion proof of leaf `a % size` and the
///    real consistency proof from `1 + a % size` leaves verify, and the fuzzed path verifies
///    against the real roots only if it is the real proof.
pub fn proofs(data: &[u8]) {
    let mut head = [0u8; 81];
    let n = data.len().min(head.len());
    head[..n].copy_from_slice(&data[..n]);
    let a = u64::from_le_bytes(head[1..9].try_into().expect("8 bytes"));
    let b = u64::from_le_bytes(head[9..17].try_into().expect("8 bytes"));
    let h1 = Hash32(head[17..49].try_into().expect("32 bytes"));
    let h2 = Hash32(head[49..81].try_into().expect("32 bytes"));
    let path: Vec<Hash32> =
        data.get(81..).unwrap_or_default().chunks_exact(32).map(|c| Hash32(c.try_into().expect("32 bytes"))).collect();

    let _ = merkle::verify_inclusion(&h1, a, b, &path, &h2);
    let _ = merkle::verify_consistency(a, b, &h1, &h2, &path);

    let size = 1 + b % 40;
    let leaves: Vec<Hash32> = (0..size).map(|i| merkle::leaf_hash(&i.to_le_bytes())).collect();
    let tree = MemoryTree::from_leaves(leaves.iter().copied());
    let root = tree.root();
    assert_eq!(merkle::root(&tree, size), Ok(root), "the tree's root and the computed root differ");

    let index = a % size;
    let real = merkle::inclusion_proof(&tree, index, size).expect("the tree holds every node");
    let leaf = &leaves[usize::try_from(index).expect("a small index")];
    assert_eq!(merkle::verify_inclusion(leaf, index, size, &real, &root), Ok(()), "a real inclusion proof fails");
    if merkle::verify_inclusion(leaf, index, size, &path, &root).is_ok() {
        assert_eq!(path, real, "a forged inclusion proof verifies");
    }

    let first = 1 + a % size;
    let first_root = merkle::root(&tree, first).expect("the tree holds every node");
    let real = merkle::consistency_proof(&tree, first, size).expect("the tree holds every node");
    assert_eq!(
        merkle::verify_consistency(first, size, &first_root, &root, &real),
        Ok(()),
        "a real consistency proof from {first} to {size} fails"
    );
    if merkle::verify_consistency(first, size, &first_root, &root, &path).is_ok() {
        assert_eq!(path, real, "a forged consistency proof verifies");
    }
}
