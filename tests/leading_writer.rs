//! A writer that leads (its store's turn says so, [`Store::writer_turn`]) knows the log while it
//! commits in the same term: it reads the log's length before no batch. A stray writer that
//! appends meanwhile is caught by the fence: the leader follows the store, sequences again after
//! the stray's records, and no seq is written twice.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use credledger::id::{EventId, Hash32, Seq};
use credledger::merkle::NodeId;
use credledger::store::{Batch, MemoryStore, Store, StoreError, WriterTurn};
use credledger::{Ledger, SecretKey, demo};
use time::macros::datetime;

/// One memory store seen by several writers; `leads`: this one's turns are the lead's, in term 1.
struct Writer {
    inner: Arc<MemoryStore>,
    leads: bool,
    length_reads: AtomicUsize,
}

impl Writer {
    fn on(inner: &Arc<MemoryStore>, leads: bool) -> Self {
        Writer { inner: inner.clone(), leads, length_reads: AtomicUsize::new(0) }
    }
}

impl Store for Writer {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.inner.commit(batch)
    }
    fn len(&self) -> Result<u64, StoreError> {
        self.length_reads.fetch_add(1, Ordering::Relaxed);
        self.inner.len()
    }
    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        self.inner.records(from, limit)
    }
    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
        self.inner.seq_of(id)
    }
    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
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
    fn writer_turn(&self) -> Result<WriterTurn, StoreError> {
        Ok(if self.leads { WriterTurn::leading(1) } else { WriterTurn::default() })
    }
}

#[test]
fn a_leader_reads_the_length_before_no_batch_and_a_stray_writer_is_caught_by_the_fence() {
    let now = datetime!(2026-09-01 12:00 UTC);
    let operator = SecretKey::from_seed(&[1; 32]);
    let events = demo::build(&operator, "leading.test.example", [2; 32], now).expect("the demo").events;
    assert!(events.len() >= 12, "enough demo events: {}", events.len());
    let shared = Arc::new(MemoryStore::new());
    let mut leader = Ledger::open(Writer::on(&shared, true)).expect("open");
    leader.sign_checkpoints_with(operator.clone()).expect("the operator's key");
    leader.append(events[0].canonical(), now).expect("genesis");

    let reads = leader.store().length_reads.load(Ordering::Relaxed);
    for event in &events[1..6] {
        assert!(leader.append(event.canonical(), now).expect("appended").new);
    }
    assert_eq!(leader.store().length_reads.load(Ordering::Relaxed), reads, "the leader read no length");

    // A stray writer (not the leader) appends behind the leader's back.
    let mut stray = Ledger::open(Writer::on(&shared, false)).expect("open");
    stray.sign_checkpoints_with(operator).expect("the operator's key");
    let strays = stray.append(events[6].canonical(), now).expect("the stray appended");
    // The leader's next batch is fenced out, so it follows the store and appends after it.
    let next = leader.append(events[7].canonical(), now).expect("appended after the stray's");
    assert_eq!(next.seq, strays.seq + 1, "after the stray's record, not over it");
    let again = leader.append(events[6].canonical(), now).expect("a repeat");
    assert!(!again.new && again.seq == strays.seq, "the leader knows the stray's event now");
    assert_eq!(shared.len().expect("len"), 8);
    let (size, _) = shared.latest_checkpoint().expect("read").expect("a checkpoint");
    assert_eq!(size, 8, "the leader's checkpoint covers the stray's record too");
}
