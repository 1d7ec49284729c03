//! What a writer reads from its store per batch, and what it still refuses. A ledger signs a
//! checkpoint only over a tree consistent with the latest signed one: appends that extend the very
//! tree the latest checkpoint signed need no consistency proof (no Merkle node is read), while a
//! planted checkpoint the tree does not extend is still refused. A writer that leads (its store's
//! turn says so, [`Store::writer_turn`]) knows the log while it commits in the same term: it reads
//! the log's length before no batch; a stray writer that appends meanwhile is caught by the fence,
//! and the leader follows the store and sequences again after the stray's records. A rebuild
//! writes its entries to a staging a chunk of records at a time, never all at once, and finishes
//! beside a writer that appends before every swap it tries.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use credledger::checkpoint::Checkpoint;
use credledger::generate::Generator;
use credledger::id::{EventId, Hash32, Seq};
use credledger::merkle::NodeId;
use credledger::store::{Batch, CatchUp, Difference, MemoryStore, Staging, Store, StoreError, WriterTurn};
use credledger::{AppendError, Ledger, SecretKey, demo};
use time::macros::datetime;

/// One memory store seen by one or several writers, counting the Merkle nodes and lengths read
/// through this one; `leads`: this writer's turns are the lead's, in term 1.
#[derive(Default)]
struct Watched {
    inner: Arc<MemoryStore>,
    leads: bool,
    node_reads: AtomicUsize,
    length_reads: AtomicUsize,
    /// How many entries each write to a staging carried, in order.
    staged_writes: Arc<Mutex<Vec<usize>>>,
    /// Run as each swap of a staging begins, before the store takes the fence.
    before_swap: Arc<Mutex<Option<Hook>>>,
}

type Hook = Box<dyn FnMut() + Send>;

/// A staging that notes how many entries each write carries.
struct WatchedStaging {
    inner: Arc<dyn Staging>,
    writes: Arc<Mutex<Vec<usize>>>,
    before_swap: Arc<Mutex<Option<Hook>>>,
}

impl credledger::projection::EntrySource for WatchedStaging {
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        self.inner.entry(key)
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        self.inner.entries_with_prefix(prefix)
    }
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
        self.inner.entries_for(keys)
    }
}

impl Staging for WatchedStaging {
    fn write(&self, entries: Vec<(String, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        self.writes.lock().unwrap().push(entries.len());
        self.inner.write(entries)
    }
    fn differences(&self, limit: usize) -> Result<Vec<Difference>, StoreError> {
        self.inner.differences(limit)
    }
    fn swap_in(&self, log_len: u64, catch_up: CatchUp<'_>) -> Result<bool, StoreError> {
        if let Some(hook) = self.before_swap.lock().unwrap().as_mut() {
            hook();
        }
        self.inner.swap_in(log_len, catch_up)
    }
}

impl Watched {
    fn on(inner: &Arc<MemoryStore>, leads: bool) -> Self {
        Watched { inner: inner.clone(), leads, ..Watched::default() }
    }
}

impl Store for Watched {
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
    fn staging(&self) -> Result<Arc<dyn Staging>, StoreError> {
        Ok(Arc::new(WatchedStaging {
            inner: self.inner.staging()?,
            writes: self.staged_writes.clone(),
            before_swap: self.before_swap.clone(),
        }))
    }
    fn writer_turn(&self) -> Result<WriterTurn, StoreError> {
        Ok(if self.leads { WriterTurn::leading(1) } else { WriterTurn::default() })
    }
}

const ORIGIN: &str = "checkpoints.test.example";

/// A signing ledger with the first `first` demo events appended, and the rest of them.
fn ledger_with(first: usize) -> (Ledger<Watched>, Vec<credledger::SignedEvent>, SecretKey) {
    let now = datetime!(2026-09-01 12:00 UTC);
    let operator = SecretKey::from_seed(&[1; 32]);
    let sample = demo::build(&operator, ORIGIN, [2; 32], now).expect("the demo");
    let mut ledger = Ledger::open(Watched::default()).expect("open");
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

#[test]
fn a_leader_reads_the_length_before_no_batch_and_a_stray_writer_is_caught_by_the_fence() {
    let now = datetime!(2026-09-01 12:00 UTC);
    let operator = SecretKey::from_seed(&[1; 32]);
    let events = demo::build(&operator, "leading.test.example", [2; 32], now).expect("the demo").events;
    assert!(events.len() >= 12, "enough demo events: {}", events.len());
    let shared = Arc::new(MemoryStore::new());
    let mut leader = Ledger::open(Watched::on(&shared, true)).expect("open");
    leader.sign_checkpoints_with(operator.clone()).expect("the operator's key");
    leader.append(events[0].canonical(), now).expect("genesis");

    let reads = leader.store().length_reads.load(Ordering::Relaxed);
    for event in &events[1..6] {
        assert!(leader.append(event.canonical(), now).expect("appended").new);
    }
    assert_eq!(leader.store().length_reads.load(Ordering::Relaxed), reads, "the leader read no length");

    // A stray writer (not the leader) appends behind the leader's back.
    let mut stray = Ledger::open(Watched::on(&shared, false)).expect("open");
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

#[test]
fn a_rebuild_writes_its_entries_to_a_staging_a_chunk_at_a_time_and_equals_the_incremental_state() {
    let now = datetime!(2026-09-01 12:00 UTC);
    let operator = SecretKey::from_seed(&[1; 32]);
    let mut generator = Generator::new(operator.clone(), ORIGIN, 7, now, 40);
    let mut ledger = Ledger::open(Watched::default()).expect("open");
    let genesis = generator.genesis().expect("genesis");
    ledger.append(genesis.canonical(), now).expect("genesis appended");
    for _ in 0..5 {
        let values = generator.next_chunk(500).expect("events").iter().map(|e| e.value().clone()).collect();
        assert!(ledger.append_values(values, now, true).iter().all(Result::is_ok));
    }
    let stored = ledger.store().entries().expect("entries");
    assert!(!ledger.rebuild().expect("rebuild"), "the rebuilt entries equal the incremental ones");
    assert_eq!(ledger.store().entries().expect("entries"), stored);
    let writes = ledger.store().staged_writes.lock().unwrap().clone();
    // 2,501 records, a chunk of 1,024 at a time, then the positions alone.
    assert!(writes.len() >= 3, "staged in chunks: {writes:?}");
    let largest = writes.iter().max().copied().unwrap_or(0);
    assert!(largest < stored.len() / 2, "no write carries most of the {} entries: {writes:?}", stored.len());
    assert_eq!(writes.last(), Some(&3), "the last write carries the positions: {writes:?}");
}

#[test]
fn a_rebuild_beside_a_writer_that_appends_before_every_swap_folds_the_rest_under_the_fence() {
    let now = datetime!(2026-09-01 12:00 UTC);
    let operator = SecretKey::from_seed(&[1; 32]);
    let mut generator = Generator::new(operator.clone(), ORIGIN, 7, now, 40);
    let shared = Arc::new(MemoryStore::new());
    let mut writer = Ledger::open(Watched::on(&shared, false)).expect("open");
    writer.append(generator.genesis().expect("genesis").canonical(), now).expect("genesis appended");
    let mut chunk = |n| -> Vec<serde_json::Value> {
        generator.next_chunk(n).expect("events").iter().map(|e| e.value().clone()).collect()
    };
    assert!(writer.append_values(chunk(600), now, true).iter().all(Result::is_ok));
    // More rounds than any bounded retry would take: the writer appends before each swap tried.
    let mut rounds: Vec<Vec<serde_json::Value>> = (0..80).map(|_| chunk(3)).collect();
    rounds.reverse();
    let swaps = Arc::new(AtomicUsize::new(0));
    let rebuilder = Watched::on(&shared, false);
    let counted = swaps.clone();
    *rebuilder.before_swap.lock().unwrap() = Some(Box::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        if let Some(round) = rounds.pop() {
            assert!(writer.append_values(round, now, true).iter().all(Result::is_ok));
        }
    }));
    let mut rebuilder = Ledger::open(rebuilder).expect("open");
    let before = shared.len().expect("len");
    assert!(!rebuilder.rebuild().expect("the rebuild finishes"), "the rebuilt entries equal the incremental ones");
    assert_eq!(swaps.load(Ordering::SeqCst), 1, "one swap: the records appended meanwhile were folded under the fence");
    assert_eq!(shared.len().expect("len"), before + 3);
    assert_eq!(rebuilder.len(), before + 3, "the rebuilt state is at the end of the log");
    // What the swap installed is what the writer's appends had stored, records included.
    *rebuilder.store().before_swap.lock().unwrap() = None;
    let stored = shared.entries().expect("entries");
    assert!(!rebuilder.rebuild().expect("rebuild again"), "nothing differs");
    assert_eq!(shared.entries().expect("entries"), stored);
}
