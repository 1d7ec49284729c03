//! `audit` finds what does not match: a record, a Merkle node or a projection entry changed in
//! the store after it was written is reported with its seq.

use credledger::checkpoint::Checkpoint;
use credledger::id::{EventId, Hash32, Seq};
use credledger::merkle::{self, NodeId};
use credledger::store::{Batch, MemoryStore, Store, StoreError};
use credledger::{Ledger, SecretKey, demo};
use time::macros::datetime;

/// A store that returns altered bytes for one record or one node, or whose projection entry was
/// altered where it is stored.
#[derive(Default)]
struct Tampered {
    inner: MemoryStore,
    record: Option<Seq>,
    /// A record's bytes replaced whole.
    swap: Option<(Seq, Vec<u8>)>,
    node: Option<NodeId>,
    /// A projection entry changed where it is stored (a staging compares it there).
    entry: Option<String>,
    /// Checkpoints stored beside the one the ledger signed (size, signed text).
    more_checkpoints: Vec<(u64, String)>,
}

fn flip(bytes: &mut [u8]) {
    // Change a letter inside the JSON so it most likely still parses: the first lower-case
    // letter past the middle.
    let middle = bytes.len() / 2;
    if let Some(b) = bytes[middle..].iter_mut().find(|b| b.is_ascii_lowercase()) {
        *b = if *b == b'a' { b'b' } else { b'a' };
    }
}

impl Store for Tampered {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.inner.commit(batch)
    }
    fn len(&self) -> Result<u64, StoreError> {
        self.inner.len()
    }
    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let mut records = self.inner.records(from, limit)?;
        if let Some(seq) = self.record.filter(|s| (from..from + records.len() as u64).contains(s)) {
            flip(&mut records[(seq - from) as usize]);
        }
        if let Some((seq, bytes)) = self.swap.as_ref().filter(|(s, _)| (from..from + records.len() as u64).contains(s))
        {
            records[(seq - from) as usize] = bytes.clone();
        }
        Ok(records)
    }
    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
        self.inner.seq_of(id)
    }
    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        let node = self.inner.node(id)?;
        Ok(if Some(id) == self.node { node.map(|h| Hash32::digest(&h.0)) } else { node })
    }
    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
        let mut all = self.inner.checkpoints(from, to)?;
        all.extend(self.more_checkpoints.iter().filter(|(size, _)| (from..=to).contains(size)).cloned());
        all.sort();
        Ok(all)
    }
    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.inner.latest_checkpoint()
    }
    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        self.inner.entries()
    }
    fn staging(&self) -> Result<std::sync::Arc<dyn credledger::store::Staging>, StoreError> {
        self.inner.staging()
    }
}

/// The demo ledger on a store that will lie as `tamper` says, once it is written.
fn demo_ledger(tamper: impl FnOnce(&mut Tampered)) -> Ledger<Tampered> {
    let now = datetime!(2026-09-01 12:00 UTC);
    let operator = SecretKey::from_seed(&[1; 32]);
    let sample = demo::build(&operator, "audit.test.example", [2; 32], now).unwrap();
    let mut ledger = Ledger::open(Tampered::default()).unwrap();
    ledger.sign_checkpoints_with(operator).unwrap();
    let values = sample.events.iter().map(|e| e.value().clone()).collect();
    assert!(ledger.append_values(values, now, true).iter().all(Result::is_ok));
    let mut store = Tampered { inner: MemoryStore::new(), ..Tampered::default() };
    // Move the written data into a store that tampers from now on.
    for seq in 0..ledger.len() {
        let bytes = ledger.store().records(seq, 1).unwrap().remove(0);
        let id = ledger.records(seq, 1).unwrap()[0].event.id();
        let nodes = if seq == ledger.len() - 1 { all_nodes(ledger.store(), ledger.len()) } else { Vec::new() };
        let checkpoint = if seq == ledger.len() - 1 { ledger.latest_checkpoint().unwrap() } else { None };
        let entries = if seq == ledger.len() - 1 {
            ledger.store().entries().unwrap().into_iter().map(|(k, v)| (k, Some(v))).collect()
        } else {
            Vec::new()
        };
        let record = credledger::store::NewRecord { seq, id, bytes };
        store.commit(Batch { log_len: seq, records: vec![record], nodes, checkpoint, entries }).unwrap();
    }
    tamper(&mut store);
    if let Some(key) = store.entry.clone() {
        let mut value = store.inner.entry(&key).unwrap().expect("the entry to alter");
        flip(&mut value);
        let len = store.inner.len().unwrap();
        store.inner.commit(Batch { entries: vec![(key, Some(value))], ..Batch::at(len) }).unwrap();
    }
    Ledger::open(store).unwrap()
}

fn all_nodes(store: &impl Store, size: u64) -> Vec<(NodeId, Hash32)> {
    let mut out = Vec::new();
    for level in 0..64u8 {
        let count = size >> level;
        if count == 0 {
            break;
        }
        out.extend((0..count).map(|index| {
            let id = NodeId { level, index };
            (id, store.node(id).unwrap().unwrap())
        }));
    }
    out
}

#[test]
fn an_honest_ledger_passes() {
    let report = demo_ledger(|_| {}).audit().unwrap();
    assert!(report.problems.is_empty(), "{report}");
    assert_eq!(report.records, 30);
}

#[test]
fn a_changed_record_is_reported_with_its_seq() {
    let report = demo_ledger(|s| s.record = Some(7)).audit().unwrap();
    // Everything said about records names seq 7; the tree above it differs as a consequence.
    let about_records = report
        .problems
        .iter()
        .filter(|p| p.seq.is_some() && !p.what.contains("Merkle node") && !p.what.contains("checkpoint"));
    assert!(about_records.clone().all(|p| p.seq == Some(7)), "{report}");
    assert!(about_records.clone().any(|p| p.what.contains("leaf")), "{report}");
    // The flipped byte breaks the signature, or the record's shape where it lands in a field name.
    assert!(
        about_records.clone().any(|p| p.what.contains("does not verify") || p.what.contains("record is corrupt")),
        "{report}"
    );
    assert!(report.problems.iter().any(|p| p.what.contains("checkpoint of size 30 does not match")), "{report}");
}

#[test]
fn a_changed_merkle_node_is_reported() {
    let report = demo_ledger(|s| s.node = Some(NodeId { level: 2, index: 3 })).audit().unwrap();
    assert!(report.problems.iter().any(|p| p.what.contains("level 2, index 3") && p.seq == Some(12)), "{report}");
}

#[test]
fn every_stored_checkpoint_is_checked_against_the_tree_at_its_size() {
    let operator = SecretKey::from_seed(&[1; 32]);
    let honest = demo_ledger(|_| {});
    let records = honest.store().records(0, 30).unwrap();
    let tree = merkle::MemoryTree::from_leaves(records.iter().map(|bytes| merkle::leaf_hash(bytes)));
    let signed = |size: u64, root_of: u64| {
        let root = merkle::root(&tree, root_of).unwrap();
        (size, Checkpoint { origin: "audit.test.example".into(), size, root }.sign(&operator))
    };
    // Honest ones at 1, 5 and 20; one at 12 with the root of 11 leaves; one beyond the log.
    let more = vec![signed(1, 1), signed(5, 5), signed(12, 11), signed(20, 20), signed(40, 30)];
    let report = demo_ledger(|s| s.more_checkpoints = more).audit().unwrap();
    assert_eq!(report.checkpoints, 6, "{report}");
    let problems: Vec<(Option<Seq>, &str)> = report.problems.iter().map(|p| (p.seq, p.what.as_str())).collect();
    assert_eq!(
        problems,
        [
            (Some(11), "checkpoint of size 12 does not match the log's tree at that size"),
            (None, "checkpoint stored as size 40 says size 40 of 30 records"),
            (None, "the latest checkpoint covers 40 of 30 records"),
        ],
        "{report}"
    );
}

#[test]
fn a_checkpoint_of_the_empty_tree_is_reported() {
    let operator = SecretKey::from_seed(&[1; 32]);
    let empty = Checkpoint { origin: "audit.test.example".into(), size: 0, root: merkle::empty_root() };
    let report = demo_ledger(|s| s.more_checkpoints = vec![(0, empty.sign(&operator))]).audit().unwrap();
    let problems: Vec<&str> = report.problems.iter().map(|p| p.what.as_str()).collect();
    assert_eq!(problems, ["checkpoint of size 0 on a log without genesis"], "{report}");
}

#[test]
fn a_changed_projection_entry_is_reported() {
    let ledger = demo_ledger(|s| s.entry = Some("registry/genesis".into()));
    let report = ledger.audit().unwrap();
    assert!(report.problems.iter().any(|p| p.what.contains("`registry/genesis` differs")), "{report}");
}

#[test]
fn a_credential_signed_over_another_credentials_standard_proof_is_reported() {
    // A credential record replaced by one its issuer signed over the standard proof of another
    // of its credentials: the event's signature verifies, its `vc_proof` does not.
    let honest = demo_ledger(|_| {});
    let records = honest.records(0, honest.len() as usize).unwrap();
    let proof_of = |r: &credledger::Record| r.event.value()["body"]["vc_proof"].as_str().map(str::to_owned);
    let target = records.iter().find(|r| proof_of(r).is_some()).expect("a credential with a standard proof");
    let author = &target.event.event.author;
    let other = records
        .iter()
        .find(|r| r.seq != target.seq && &r.event.event.author == author && proof_of(r).is_some())
        .expect("another credential by the same key");
    let now = datetime!(2026-09-01 12:00 UTC);
    let sample = demo::build(&SecretKey::from_seed(&[1; 32]), "audit.test.example", [2; 32], now).unwrap();
    let key = sample.keys.iter().map(|(_, k)| k).find(|k| k.did() == author).expect("the demo's key");
    let mut value = target.event.value().clone();
    value["body"]["vc_proof"] = proof_of(other).into();
    let event = credledger::SignedEvent::from_stored(value).unwrap().event.sign(key, None).unwrap();
    let swapped = credledger::Record { seq: target.seq, recorded_at: target.recorded_at, event };

    let seq = target.seq;
    let report = demo_ledger(|s| s.swap = Some((seq, swapped.canonical()))).audit().unwrap();
    let flagged = report.problems.iter().any(|p| p.seq == Some(seq) && p.what.contains("body.vc_proof"));
    assert!(flagged, "{report}");
}
