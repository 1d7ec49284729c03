//! One conformance suite for every [`Store`]: memory, sled and PostgreSQL (a throwaway server
//! started by the test). The same checks run on each: appends and their atomicity, seq ranges, the
//! id index, Merkle nodes, checkpoints, projection entries, idempotent appends through the ledger,
//! restart (for the durable stores), concurrent writers sharing one store, and the published
//! bundles of share links (kept outside the log, by key; replaced in place; kept across a restart).

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use credledger::generate::Generator;
use credledger::id::{EventId, Hash32};
use credledger::merkle::NodeId;
use credledger::store::{Batch, Difference, MemoryStore, NewRecord, PostgresStore, SharedStore, SledStore, StoreError};
use credledger::{Ledger, SecretKey};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

use common::PATIENCE;
use common::pg::Postgres;

const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);

fn record(seq: u64) -> NewRecord {
    let bytes = format!("{{\"record\":{seq}}}").into_bytes();
    NewRecord { seq, id: EventId(Hash32::digest(&bytes)), bytes }
}

fn node(level: u8, index: u64) -> (NodeId, Hash32) {
    (NodeId { level, index }, Hash32::digest(&[level, index as u8]))
}

fn entry(key: &str, value: &str) -> (String, Option<Vec<u8>>) {
    (key.to_owned(), Some(value.as_bytes().to_vec()))
}

/// Appends, ranges, the id index, nodes, checkpoints and entries, straight through the trait.
fn raw_contract(store: &SharedStore) {
    assert_eq!(store.len().unwrap(), 0);
    assert!(store.records(0, 10).unwrap().is_empty());
    assert_eq!(store.latest_checkpoint().unwrap(), None);
    assert!(store.entries().unwrap().is_empty());

    let first = Batch {
        log_len: 0,
        records: (0..5).map(record).collect(),
        nodes: vec![node(0, 0), node(0, 1), node(1, 0)],
        checkpoint: Some((5, "checkpoint 5".into())),
        entries: vec![entry("b/2", "two"), entry("a/1", "one"), entry("b/1", "uno"), entry("c", "gone soon")],
    };
    store.commit(first).unwrap();
    assert_eq!(store.len().unwrap(), 5);
    let bytes = |range: std::ops::Range<u64>| range.map(|s| record(s).bytes).collect::<Vec<_>>();
    assert_eq!(store.records(0, 100).unwrap(), bytes(0..5));
    assert_eq!(store.records(1, 2).unwrap(), bytes(1..3));
    assert_eq!(store.records(4, 10).unwrap(), bytes(4..5));
    assert_eq!(store.records(2, usize::MAX).unwrap(), bytes(2..5), "an unbounded limit reads to the end");
    assert!(store.records(5, 10).unwrap().is_empty());
    assert_eq!(store.seq_of(&record(3).id).unwrap(), Some(3));
    assert_eq!(store.seq_of(&record(9).id).unwrap(), None);
    let asked = [record(3).id, record(9).id, record(0).id, record(3).id];
    assert_eq!(store.seqs_of(&asked).unwrap(), [Some(3), None, Some(0), Some(3)], "in the order asked");
    assert!(store.seqs_of(&[]).unwrap().is_empty());
    // What runs meanwhile runs once, and may read the same store while the answer is pending.
    let mut read_meanwhile = Vec::new();
    let seqs = store.seqs_of_meanwhile(&asked, &mut || read_meanwhile.push(store.records(1, 1).unwrap())).unwrap();
    assert_eq!(seqs, [Some(3), None, Some(0), Some(3)], "the same answer as seqs_of");
    assert_eq!(read_meanwhile, [bytes(1..2)], "meanwhile ran once, and its read was answered");
    assert_eq!(store.node(NodeId { level: 1, index: 0 }).unwrap(), Some(node(1, 0).1));
    assert_eq!(store.node(NodeId { level: 2, index: 0 }).unwrap(), None);

    // A batch that does not start at the log's length is refused whole.
    let stale = Batch {
        log_len: 4,
        records: vec![record(4)],
        nodes: vec![node(3, 3)],
        checkpoint: Some((6, "stale".into())),
        entries: vec![entry("z", "stale")],
    };
    assert!(matches!(store.commit(stale), Err(StoreError::Conflict { expected: 4, len: 5 })));
    assert_eq!(store.len().unwrap(), 5);
    assert_eq!(store.node(NodeId { level: 3, index: 3 }).unwrap(), None);
    assert_eq!(store.entry("z").unwrap(), None);
    assert_eq!(store.latest_checkpoint().unwrap(), Some((5, "checkpoint 5".into())));

    let second = Batch {
        log_len: 5,
        records: (5..8).map(record).collect(),
        nodes: vec![node(0, 5)],
        checkpoint: Some((8, "checkpoint 8".into())),
        entries: vec![entry("b/2", "deux"), ("c".into(), None)],
    };
    store.commit(second).unwrap();
    assert_eq!(store.len().unwrap(), 8);
    assert_eq!(store.records(0, 100).unwrap(), bytes(0..8));
    let checkpoints = store.checkpoints(0, u64::MAX).unwrap();
    assert_eq!(checkpoints, vec![(5, "checkpoint 5".into()), (8, "checkpoint 8".into())]);
    assert_eq!(store.checkpoints(6, 8).unwrap(), vec![(8, "checkpoint 8".into())]);
    assert_eq!(store.latest_checkpoint().unwrap(), Some((8, "checkpoint 8".into())));
    let kv = |pairs: &[(&str, &str)]| {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec())).collect::<Vec<_>>()
    };
    assert_eq!(store.entries().unwrap(), kv(&[("a/1", "one"), ("b/1", "uno"), ("b/2", "deux")]));
    assert_eq!(store.entries_with_prefix("b/").unwrap(), kv(&[("b/1", "uno"), ("b/2", "deux")]));
    assert_eq!(store.entry("a/1").unwrap(), Some(b"one".to_vec()));
    assert_eq!(store.entry("c").unwrap(), None);
    let wanted = ["b/2".to_owned(), "nope".to_owned(), "a/1".to_owned()];
    assert_eq!(store.entries_for(&wanted).unwrap(), kv(&[("a/1", "one"), ("b/2", "deux")]));
    // Every entry a page at a time, and never a staged one (on sled, the next generation's).
    let staged = store.staging().unwrap();
    staged.write(vec![entry("b/3", "staged"), entry("z", "staged")]).unwrap();
    assert_eq!(store.entries_after(None, 2).unwrap(), kv(&[("a/1", "one"), ("b/1", "uno")]));
    assert_eq!(store.entries_after(Some("b/1"), 2).unwrap(), kv(&[("b/2", "deux")]));
    assert_eq!(store.entries_after(Some("a"), 1).unwrap(), kv(&[("a/1", "one")]));
    assert_eq!(store.entries_after(Some("b/2"), 2).unwrap(), kv(&[]));
    drop(staged);

    store.replace_entries(8, kv(&[("x", "rebuilt")])).unwrap();
    assert_eq!(store.entries().unwrap(), kv(&[("x", "rebuilt")]));
    assert_eq!(store.len().unwrap(), 8, "replacing entries leaves the log alone");

    fencing(store);
}

/// Every write is fenced by the log's length it was computed at: projection entries or a
/// checkpoint computed at a length the log has moved past are refused whole, with or without
/// records, and so is a replacement of all entries. (The log is at 8 records here.)
fn fencing(store: &SharedStore) {
    let before = store.entries().unwrap();
    let stale_entries = Batch { entries: vec![entry("x", "stale"), entry("y", "stale")], ..Batch::at(5) };
    assert!(
        matches!(store.commit(stale_entries), Err(StoreError::Conflict { expected: 5, len: 8 })),
        "an entries-only batch computed at a stale length is refused"
    );
    let stale_checkpoint = Batch { checkpoint: Some((5, "stale checkpoint".into())), ..Batch::at(5) };
    assert!(matches!(store.commit(stale_checkpoint), Err(StoreError::Conflict { expected: 5, len: 8 })));
    let ahead = Batch { entries: vec![entry("x", "ahead")], ..Batch::at(9) };
    assert!(matches!(store.commit(ahead), Err(StoreError::Conflict { expected: 9, len: 8 })));
    assert!(
        matches!(
            store.replace_entries(7, vec![("x".into(), b"stale".to_vec())]),
            Err(StoreError::Conflict { expected: 7, len: 8 })
        ),
        "a replacement folded at a stale length is refused"
    );
    assert_eq!(store.entries().unwrap(), before, "a refused write changed the entries");
    assert_eq!(store.checkpoints(5, 5).unwrap(), vec![(5, "checkpoint 5".into())]);
    assert_eq!(store.len().unwrap(), 8);

    // At the log's length, the same writes go through.
    store.commit(Batch { entries: vec![entry("x", "current")], ..Batch::at(8) }).unwrap();
    assert_eq!(store.entry("x").unwrap(), Some(b"current".to_vec()));
    store.replace_entries(8, vec![("x".into(), b"rebuilt".to_vec())]).unwrap();
    assert_eq!(store.entry("x").unwrap(), Some(b"rebuilt".to_vec()));
    assert_eq!(store.len().unwrap(), 8);

    staging(store);
}

/// A staging area: written and read apart from the stored entries, compared with them key by
/// key, discarded when dropped, and swapped in whole only at the log's length. (The log is at 8
/// records, and its entries are `x` = `rebuilt`.)
fn staging(store: &SharedStore) {
    let stored = store.entries().unwrap();
    let staging = store.staging().unwrap();
    assert_eq!(staging.differences(10).unwrap(), vec![Difference::OnlyStored("x".into())]);
    staging.write(vec![entry("a/1", "one"), entry("a/2", "two"), entry("b", "bee"), entry("x", "new")]).unwrap();
    staging.write(vec![entry("a/2", "deux"), ("b".into(), None)]).unwrap();
    assert_eq!(store.entries().unwrap(), stored, "staged entries are not stored ones");
    assert_eq!(staging.entry("a/2").unwrap(), Some(b"deux".to_vec()));
    assert_eq!(staging.entry("b").unwrap(), None, "a staged delete");
    let pairs =
        |p: &[(&str, &str)]| p.iter().map(|(k, v)| ((*k).to_owned(), v.as_bytes().to_vec())).collect::<Vec<_>>();
    assert_eq!(staging.entries_with_prefix("a/").unwrap(), pairs(&[("a/1", "one"), ("a/2", "deux")]));
    let wanted = ["x".to_owned(), "b".to_owned(), "a/1".to_owned()];
    assert_eq!(staging.entries_for(&wanted).unwrap(), pairs(&[("a/1", "one"), ("x", "new")]));
    assert_eq!(
        staging.differences(10).unwrap(),
        vec![
            Difference::OnlyStaged("a/1".into()),
            Difference::OnlyStaged("a/2".into()),
            Difference::Differs("x".into())
        ]
    );
    assert_eq!(staging.differences(1).unwrap().len(), 1);

    // Dropped unswapped, a staging is discarded: a new one starts empty.
    drop(staging);
    let staging = store.staging().unwrap();
    assert_eq!(staging.entry("a/1").unwrap(), None);
    staging.write(vec![entry("a/1", "one"), entry("x", "rebuilt")]).unwrap();
    // Folded from more records than the log holds: refused, nothing changed.
    assert!(matches!(staging.swap_in(9, &mut |_| unreachable!()), Err(StoreError::Conflict { expected: 9, len: 8 })));
    // Folded at a length the log has moved past, by a caller that cannot catch up: refused,
    // nothing changed, and it can go on.
    let refuse = &mut |len| Err(StoreError::Conflict { expected: 7, len });
    assert!(matches!(staging.swap_in(7, refuse), Err(StoreError::Conflict { expected: 7, len: 8 })));
    assert_eq!(store.entries().unwrap(), stored);
    // One that can: the swap holds the fence, has it stage the rest, then swaps.
    let mut caught_up = Vec::new();
    let swapped = staging.swap_in(7, &mut |len| {
        caught_up.push(len);
        staging.write(vec![entry("a/2", "two")])
    });
    assert!(swapped.unwrap(), "the replaced entries differed");
    assert_eq!(caught_up, vec![8], "caught up to the log's length, once");
    assert_eq!(store.entries().unwrap(), pairs(&[("a/1", "one"), ("a/2", "two"), ("x", "rebuilt")]));
    assert_eq!(store.len().unwrap(), 8, "a swap leaves the log alone");
    drop(staging);
    assert_eq!(store.entries().unwrap().len(), 3, "dropping a swapped staging keeps its entries");
    // A scratch (audit's) is written and compared like a staging, and dropped leaves nothing.
    let stored = store.entries().unwrap();
    let scratch = store.scratch().unwrap();
    scratch.write(vec![entry("a/1", "one"), entry("a/2", "two")]).unwrap();
    assert_eq!(scratch.entry("a/2").unwrap(), Some(b"two".to_vec()));
    assert_eq!(scratch.differences(10).unwrap(), vec![Difference::OnlyStored("x".into())]);
    drop(scratch);
    assert_eq!(store.entries().unwrap(), stored);
    // Two stagings at once are apart.
    let (one, two) = (store.staging().unwrap(), store.staging().unwrap());
    one.write(vec![entry("k", "one")]).unwrap();
    two.write(vec![entry("k", "two")]).unwrap();
    assert_eq!((one.entry("k").unwrap(), two.entry("k").unwrap()), (Some(b"one".to_vec()), Some(b"two".to_vec())));
}

/// The rows of a staging whose process died (here: whose session was ended) are swept when a
/// staging is next made; a live staging's are left alone, and so are the rows of a staging made
/// by an earlier build (which holds no lock); and the dead one can no longer swap in.
fn abandoned_stagings_are_swept(pg: &Postgres, url: &str, store: &SharedStore) {
    let staged = |stage: &str| pg.sql(url, &format!("SELECT count(*) FROM entries_staged WHERE stage = {stage}"));
    let stored = store.entries().unwrap();
    pg.sql(url, "INSERT INTO entries_staged (stage, key, value) VALUES (-7, 'k/1', 'earlier build')");
    let dead = store.staging().unwrap();
    dead.write(vec![entry("k/1", "one"), entry("k/2", "two")]).unwrap();
    let session =
        pg.sql(url, "SELECT application_name FROM pg_stat_activity WHERE application_name LIKE 'credledger staging %'");
    let stage =
        session.strip_prefix("credledger staging ").unwrap_or_else(|| panic!("one staging session: {session:?}"));
    assert_eq!(staged(stage), "2");
    let live = store.staging().unwrap();
    live.write(vec![entry("k/1", "alive")]).unwrap();
    assert_eq!(staged(stage), "2", "a staging whose session lives is not swept");
    let ended = pg.sql(
        url,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{session}'"),
    );
    assert_eq!(ended, "t");
    let next = store.staging().unwrap();
    assert_eq!(staged(stage), "0", "the dead staging's rows are swept");
    let held = pg.sql(url, &format!("SELECT count(*) FROM stagings_held WHERE stage = {stage}"));
    assert_eq!(held, "0", "and it is no longer listed");
    assert_eq!(staged("-7"), "1", "an earlier build's staging is never taken for dead");
    assert_eq!(live.entry("k/1").unwrap(), Some(b"alive".to_vec()), "the live staging's rows are kept");
    let len = store.len().unwrap();
    assert!(dead.swap_in(len, &mut |_| Ok(())).is_err(), "a staging that lost its session cannot swap in");
    assert_eq!(store.entries().unwrap(), stored);
    drop((dead, live, next));
}

/// Generated events for `streams` independent writers, each its own institutions (registry
/// first), after one shared genesis: `(operator, genesis, events per stream)`.
fn streams(streams: u64, each: u64) -> (SecretKey, Value, Vec<Vec<Value>>) {
    let operator = SecretKey::from_seed(&[9; 32]);
    let mut generators: Vec<_> =
        (0..streams).map(|s| Generator::new(operator.clone(), "conformance.example", s + 1, NOW, 30)).collect();
    let genesis = generators[0].genesis().unwrap().value().clone();
    let events = generators
        .iter_mut()
        .map(|g| g.next_chunk(each).unwrap().iter().map(|e| e.value().clone()).collect())
        .collect();
    (operator, genesis, events)
}

/// Appends through the ledger: idempotent retries, rebuild equal to the incremental state, audit.
fn ledger_contract(store: &SharedStore) {
    let (operator, genesis, events) = streams(1, 60);
    let mut ledger = Ledger::open(store.clone()).unwrap();
    ledger.sign_checkpoints_with(operator).unwrap();
    ledger.append_values(vec![genesis], NOW, true).pop().unwrap().unwrap();
    for group in events[0].chunks(25) {
        for result in ledger.append_values(group.to_vec(), NOW, false) {
            assert!(result.unwrap().new);
        }
    }
    // The same events again: each already there, at its seq.
    for (i, result) in ledger.append_values(events[0].clone(), NOW, false).into_iter().enumerate() {
        let appended = result.unwrap();
        assert!(!appended.new);
        assert_eq!(appended.seq, i as u64 + 1);
    }
    assert_eq!(ledger.len(), 61);
    assert!(!ledger.rebuild().unwrap(), "rebuilt projections equal the incremental ones");
    let report = ledger.audit().unwrap();
    assert!(report.problems.is_empty(), "{report}");
}

/// Several ledgers (writers) on one store, appending at once: one dense log, every event once.
fn concurrent_writers(handles: Vec<SharedStore>) {
    let writers = handles.len() as u64;
    let (operator, genesis, events) = streams(writers, 80);
    let mut first = Ledger::open(handles[0].clone()).unwrap();
    first.sign_checkpoints_with(operator.clone()).unwrap();
    first.append_values(vec![genesis], NOW, true).pop().unwrap().unwrap();
    drop(first);
    let threads: Vec<_> = handles
        .into_iter()
        .zip(events.clone())
        .map(|(store, mine)| {
            let operator = operator.clone();
            thread::spawn(move || {
                let mut ledger = Ledger::open(store).unwrap();
                ledger.sign_checkpoints_with(operator).unwrap();
                let mut ids = Vec::new();
                for group in mine.chunks(5) {
                    for result in ledger.append_values(group.to_vec(), NOW, false) {
                        ids.push(result.expect("accepted despite the other writers").id);
                    }
                }
                ids
            })
        })
        .collect();
    let acknowledged: Vec<EventId> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
    assert_eq!(acknowledged.len() as u64, writers * 80);
    let unique: BTreeSet<_> = acknowledged.iter().collect();
    assert_eq!(unique.len(), acknowledged.len());
    let _ = events;
}

/// Published bundles: none until put, replaced in place, apart from the log and its entries.
fn shares_contract(store: &SharedStore) {
    let (a, b) = (Hash32::digest(b"token a"), Hash32::digest(b"token b"));
    assert_eq!(store.share(&a).unwrap(), None);
    let len = store.len().unwrap();
    store.put_share(&a, b"first").unwrap();
    store.put_share(&b, b"other").unwrap();
    assert_eq!(store.share(&a).unwrap().as_deref(), Some(&b"first"[..]));
    store.put_share(&a, b"revoked").unwrap();
    assert_eq!(store.share(&a).unwrap().as_deref(), Some(&b"revoked"[..]), "a put replaces");
    assert_eq!(store.share(&b).unwrap().as_deref(), Some(&b"other"[..]));
    assert_eq!(store.len().unwrap(), len, "a published bundle is not on the log");
    assert!(store.entries().unwrap().iter().all(|(k, _)| !k.contains("share")), "nor among the projection entries");
}

/// What [`shares_contract`] left, seen by a new handle on the same store.
fn shares_kept(store: &SharedStore) {
    assert_eq!(store.share(&Hash32::digest(b"token a")).unwrap().as_deref(), Some(&b"revoked"[..]));
}

fn check_log(store: SharedStore, expected: u64) {
    let ledger = Ledger::open(store).unwrap();
    assert_eq!(ledger.len(), expected);
    let report = ledger.audit().unwrap();
    assert!(report.problems.is_empty(), "{report}");
}

#[test]
fn memory_store_conforms() {
    let fresh = || -> SharedStore { Arc::new(MemoryStore::new()) };
    raw_contract(&fresh());
    ledger_contract(&fresh());
    shares_contract(&fresh());
    let shared = fresh();
    concurrent_writers(vec![shared.clone(), shared.clone(), shared.clone()]);
    check_log(shared, 1 + 3 * 80);
}

/// Opens the sled store at `path`, waiting (bounded) for this process's previous handle to let go
/// of the file lock.
fn open_sled(path: &std::path::Path) -> SharedStore {
    let deadline = Instant::now() + PATIENCE;
    loop {
        match SledStore::open(path) {
            Ok(store) => return Arc::new(store),
            Err(StoreError::Locked { .. }) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("open sled: {e}"),
        }
    }
}

#[test]
fn sled_store_conforms_and_keeps_everything_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    raw_contract(&open_sled(&dir.path().join("raw")));
    let path = dir.path().join("ledger");
    ledger_contract(&open_sled(&path));
    shares_contract(&open_sled(&path));
    // Restart: a new handle on the same files sees the same log, and it audits clean.
    shares_kept(&open_sled(&path));
    check_log(open_sled(&path), 61);
    // One process holds a sled database: writers share the handle.
    let shared = open_sled(&dir.path().join("concurrent"));
    concurrent_writers(vec![shared.clone(), shared.clone(), shared.clone()]);
    drop(shared);
    check_log(open_sled(&dir.path().join("concurrent")), 1 + 3 * 80);
}

#[test]
fn postgres_store_conforms_restarts_and_serializes_writers_on_separate_connections() {
    let pg = Postgres::start();
    let open = |url: &str| -> SharedStore { Arc::new(PostgresStore::open(url).unwrap_or_else(|e| panic!("{e}"))) };
    raw_contract(&open(&pg.fresh_database()));
    let url = pg.fresh_database();
    abandoned_stagings_are_swept(&pg, &url, &open(&url));
    let url = pg.fresh_database();
    ledger_contract(&open(&url));
    shares_contract(&open(&url));
    shares_kept(&open(&url));
    check_log(open(&url), 61);
    // Separate stores (connection pools), as separate nodes have.
    let url = pg.fresh_database();
    concurrent_writers(vec![open(&url), open(&url), open(&url)]);
    check_log(open(&url), 1 + 3 * 80);
    // Opening again does not apply the migrations twice.
    assert_eq!(open(&url).len().unwrap(), 1 + 3 * 80);
}
