//! A ledger signs a checkpoint only over a tree consistent with the latest signed one. Appends
//! that extend the very tree the latest checkpoint signed need no consistency proof (so no Merkle
//! node is read from the store); a planted checkpoint the tree does not extend is still refused.

use std::sync::atomic::{AtomicUsize, Ordering};

use credledger::checkpoint::Checkpoint;
use credledger::id::{EventId, Hash32, Seq};
use credledger::merkle::NodeId;
use credledger::store::{Batch, MemoryStore, Store, StoreError};
use credledger::{AppendError, Ledger, SecretKey, demo};
use time::macros::datetime;

/// A memory store that counts the Merkle nodes read from it.
#[derive(Default)]
struct Counting {
    inner: MemoryStore,
    node_reads: AtomicUsize,
}

impl Store for Counting {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.inner.commit(batch)
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
        self.node_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.node(id)
    }
    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
        self.inner.checkpoints(from, to)
    }
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.latest_checkpoint()
    }
    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.entries()
    }
    fn replace_entries(&self, log_len: u64, entries: Vec<(String, Vec<u8>)>) -> Result<(), StoreError> {
        self.inner.replace_entries(log_len, entries)
    }
}

const ORIGIN: &str = "checkpoints.test.example";

/// A signing ledger with the first `first` demo events appended, and the rest of them.
fn ledger_with(first: usize) -> (Ledger<Counting>, Vec<credledger::SignedEvent>, SecretKey) {
    let now = datetime!(2026-09-01 12:00 UTC);
    let operator = SecretKey::from_seed(&[1; 32]);
    let sample = demo::build(&operator, ORIGIN, [2; 32], now).expect("the demo");
    let mut ledger = Ledger::open(Counting::default()).expect("open");
    ledger.sign_checkpoints_with(operator.clone()).expect("the operator's key");
    let mut events = sample.events;
    let rest = events.split_off(first);
    let values = events.iter().map(|e| e.value().clone()).collect();
    assert!(ledger.append_values(values, now, true).iter().all(Result::is_ok));
    (ledger, rest, operator)
}

#[test]
fn appends_that_extend_the_signed_tree_read_no_merkle_node() {
    let (mut ledger, rest, _) = ledger_with(5);
    assert!(rest.len() >= 5, "enough demo events: {}", rest.len());
    let before = ledger.store().node_reads.load(Ordering::Relaxed);
    for event in &rest {
        let appended = ledger.append(event.canonical(), datetime!(2026-09-01 12:00 UTC)).expect("appended");
        assert!(appended.new);
        let (size, text) = ledger.latest_checkpoint().expect("read").expect("a checkpoint");
        assert_eq!(size, ledger.len(), "every append is under a checkpoint: {text}");
    }
    assert_eq!(ledger.store().node_reads.load(Ordering::Relaxed), before, "no Merkle node read to sign");
}

#[test]
fn a_checkpoint_the_tree_does_not_extend_is_refused_and_nothing_is_appended() {
    let (mut ledger, rest, operator) = ledger_with(5);
    let len = ledger.len();
    // The operator's key signed another tree of the same size (a fork): the ledger must not sign
    // a checkpoint inconsistent with it.
    let forged = Checkpoint { origin: ORIGIN.into(), size: len, root: Hash32::digest(b"another tree") }.sign(&operator);
    ledger.store().commit(Batch { checkpoint: Some((len, forged)), ..Batch::at(len) }).expect("planted");
    let refused = ledger.append(rest[0].canonical(), datetime!(2026-09-01 12:00 UTC)).expect_err("refused");
    assert!(matches!(&refused, AppendError::NotCommitted(why) if why.contains("inconsistent")), "{refused}");
    assert_eq!(ledger.store().len().expect("len"), len, "nothing appended");
}
