//! Read-only views of a ledger, straight from its store: records, proofs, checkpoints, and the
//! projections' stored entries rendered as profiles, credential status and the issuer registry.
//! A [`View`] needs no [`crate::Ledger`], so a server's readers never wait for its writer: every
//! append commits the records and the projection entries they change in one atomic batch, so what
//! a view reads is always a committed state.

use std::collections::BTreeSet;

use crate::checkpoint::Checkpoint;
use crate::id::{Did, EventId, Hash32, Seq};
use crate::ledger::{LedgerError, ProveError};
use crate::merkle::{self, ProofError};
use crate::projection::registry::Issuer;
use crate::projection::status::{self, CredentialStatus, SignedList};
use crate::projection::{self, Profile, Projections, Record};
use crate::status_list::{Bitstring, Purpose};
use crate::store::{Store, StoreError, StoredNodes};

/// A view of the ledger held by a store.
#[derive(Debug)]
pub struct View<'a, S: ?Sized>(pub &'a S);

/// One of a key's status lists: the bits the log implies now, whether any credential is in it,
/// and its latest signed list.
#[derive(Debug, Clone)]
pub struct StatusListState {
    pub bits: Bitstring,
    pub has_credentials: bool,
    pub signed: Option<SignedList>,
    /// The number of records the state reflects.
    pub applied: u64,
}

impl StatusListState {
    /// Is the latest signed list current (it certified the bits now) and served under `base`?
    pub fn is_current(&self, base: &str) -> bool {
        self.signed.as_ref().is_some_and(|s| s.is_current(base, &self.bits))
    }
}

/// A credential's record and its status.
#[derive(serde::Serialize, serde::Deserialize, Debug, Clone)]
pub struct CredentialView {
    pub status: CredentialStatus,
    pub record: serde_json::Value,
}

impl<S: Store + ?Sized> View<'_, S> {
    /// The number of records.
    pub fn len(&self) -> Result<u64, StoreError> {
        self.0.len()
    }

    /// Is the log empty?
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        self.0.is_empty()
    }

    /// Up to `limit` records from `from` on.
    pub fn records(&self, from: Seq, limit: usize) -> Result<Vec<Record>, LedgerError> {
        self.0.records(from, limit)?.iter().map(|b| Ok(Record::from_stored(b)?)).collect()
    }

    /// The record holding the event with this id.
    pub fn record_by_id(&self, id: &EventId) -> Result<Option<Record>, LedgerError> {
        match self.0.seq_of(id)? {
            Some(seq) => Ok(self.records(seq, 1)?.pop()),
            None => Ok(None),
        }
    }

    /// The latest signed checkpoint (size and text).
    pub fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.0.latest_checkpoint()
    }

    /// The latest checkpoint, parsed (its signature was checked before it was stored).
    pub fn latest_tree_head(&self) -> Result<Option<Checkpoint>, StoreError> {
        let Some((_, text)) = self.0.latest_checkpoint()? else { return Ok(None) };
        Checkpoint::parse_unverified(&text).map(Some).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    /// The Merkle root of the first `size` records.
    pub fn root(&self, size: u64) -> Result<Hash32, ProveError> {
        let len = self.0.len()?;
        if size > len {
            return Err(ProofError::IndexOutOfRange { index: size, size: len }.into());
        }
        Ok(merkle::root(&StoredNodes(self.0), size)?)
    }

    /// The inclusion proof of record `seq` in the tree of `size` records.
    pub fn inclusion_proof(&self, seq: Seq, size: u64) -> Result<Vec<Hash32>, ProveError> {
        let len = self.0.len()?;
        if seq >= size || size > len {
            return Err(ProofError::IndexOutOfRange { index: seq, size: size.min(len) }.into());
        }
        Ok(merkle::inclusion_proof(&StoredNodes(self.0), seq, size)?)
    }

    /// The consistency proof between the trees of `from` and `to` records.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash32>, ProveError> {
        if from > to {
            return Err(ProofError::SizesOutOfOrder { first: from, second: to }.into());
        }
        let len = self.0.len()?;
        if to > len {
            return Err(ProofError::IndexOutOfRange { index: to, size: len }.into());
        }
        Ok(merkle::consistency_proof(&StoredNodes(self.0), from, to)?)
    }

    /// Projections restored from just the stored entries under these keys and prefixes.
    fn partial(&self, keys: &[String], prefixes: &[&str]) -> Result<Projections, LedgerError> {
        let mut entries = self.0.entries_for(keys)?;
        for prefix in prefixes {
            entries.extend(self.0.entries_with_prefix(prefix)?);
        }
        Ok(Projections::load(entries)?)
    }

    /// A learner's profile, as of the last committed batch. Reads each stored entry it needs
    /// once: the learner's key moves one by one, then their entry and credentials, then the status
    /// of those, then their issuers.
    pub fn profile(&self, did: &Did) -> Result<Profile, LedgerError> {
        let mut entries = Vec::new();
        let mut current = did.clone();
        let mut seen = BTreeSet::new();
        // `seen` guards stored data: the rules let a key move once, so the chain ends.
        while seen.insert(current.as_str().to_owned()) {
            let key = format!("profile/moved/{current}");
            let Some(bytes) = self.0.entry(&key)? else { break };
            let moved = Projections::load([(key.clone(), bytes.clone())])?;
            entries.push((key, bytes));
            match moved.profiles.moved(&current) {
                Some(next) => current = next.to.clone(),
                None => break,
            }
        }
        let credentials = format!("profile/credential/{current}/");
        entries.extend(self.0.entries_for(&[format!("profile/learner/{current}")])?);
        entries.extend(self.0.entries_with_prefix(&credentials)?);
        entries.extend(self.0.entries_with_prefix("position/")?);
        let learner = Projections::load(entries.clone())?;
        let entry = learner.profiles.learner(&current);
        let credentials = entry.as_ref().map(|e| e.credentials.as_slice()).unwrap_or_default();
        let apprenticeships = entry.as_ref().map(|e| e.apprenticeships.as_slice()).unwrap_or_default();
        let status_keys: Vec<String> = credentials
            .iter()
            .map(|c| format!("status/credential/{}", c.id))
            .chain(apprenticeships.iter().map(|id| format!("status/apprenticeship/{id}")))
            .collect();
        let status_entries = self.0.entries_for(&status_keys)?;
        let status = Projections::load(status_entries.clone())?.status;
        entries.extend(status_entries);
        let issuer_keys: BTreeSet<String> = credentials
            .iter()
            .map(|c| c.issuer.clone())
            .chain(apprenticeships.iter().filter_map(|id| status.apprenticeship(id)).map(|a| a.issuer))
            .map(|issuer| format!("registry/issuer/{issuer}"))
            .collect();
        entries.extend(self.0.entries_for(&issuer_keys.into_iter().collect::<Vec<_>>())?);
        let state = Projections::load(entries)?;
        Ok(state.profiles.render(did, &state.status, &state.registry, projection::as_of(state.applied())))
    }

    /// A credential's status and its issuing record.
    pub fn credential(&self, id: &EventId) -> Result<Option<CredentialView>, LedgerError> {
        let state = self.partial(&[format!("status/credential/{id}")], &[])?;
        let Some(status) = state.status.credential(id) else { return Ok(None) };
        let record = self.records(status.issued_seq, 1)?.pop().map(|r| r.to_value()).unwrap_or_default();
        Ok(Some(CredentialView { status, record }))
    }

    /// The credential whose standard form has this UUID: the one credential whose issuing event
    /// carries it (a `credentialStatus` lookup never answers for another credential).
    pub fn credential_by_uuid(&self, uuid: &str) -> Result<Option<CredentialView>, LedgerError> {
        let state = self.partial(&[format!("status/uuid/{uuid}")], &[])?;
        let Some(id) = state.status.by_uuid(uuid) else { return Ok(None) };
        let Some(found) = self.credential(&id)? else { return Ok(None) };
        let carried = found.record["event"]["body"]["credential_uuid"].as_str();
        if carried != Some(uuid) {
            return Err(StoreError::Corrupt(format!(
                "status/uuid/{uuid} points at credential {id}, whose credential_uuid is {}",
                carried.unwrap_or("missing")
            ))
            .into());
        }
        Ok(Some(found))
    }

    /// The issuer-signed Open Badges 3.0 credential of a credential on the log.
    pub fn standard_credential(&self, id: &EventId) -> Result<Option<serde_json::Value>, LedgerError> {
        Ok(self.record_by_id(id)?.and_then(|r| crate::vc::export(&r.event.event)))
    }

    /// The standard forms of a learner's active credentials, in seq order.
    pub fn standard_credentials(&self, learner: &Did) -> Result<Vec<serde_json::Value>, LedgerError> {
        let profile = self.profile(learner)?;
        let mut out = Vec::new();
        for c in profile.credentials.iter().filter(|c| c.status == crate::projection::CredentialState::Active) {
            out.extend(self.standard_credential(&c.summary.id)?);
        }
        Ok(out)
    }

    /// `key`'s status list `list` for `purpose`: the credentials in it and their states (the
    /// bits now), and its latest signed list.
    pub fn status_list(&self, key: &Did, purpose: Purpose, list: u32) -> Result<StatusListState, LedgerError> {
        let mut entries = self.0.entries_with_prefix(&format!("status/index/{key}/{list}/"))?;
        entries.extend(self.0.entries_with_prefix("position/")?);
        let places = Projections::load(entries.clone())?;
        let mut keys: Vec<String> =
            places.status.in_list(key, list).map(|id| format!("status/credential/{id}")).collect();
        keys.push(status::list_key(&(key.clone(), purpose, list)));
        entries.extend(self.0.entries_for(&keys)?);
        let state = Projections::load(entries)?;
        Ok(StatusListState {
            bits: state.status.list_bits(key, purpose, list),
            has_credentials: state.status.has_list(key, list),
            signed: state.status.signed_list(key, purpose, list),
            applied: state.applied(),
        })
    }

    /// The lists of `key` that hold a credential.
    pub fn lists_of(&self, key: &Did) -> Result<Vec<u32>, LedgerError> {
        Ok(self.partial(&[], &[&format!("status/index/{key}/")])?.status.lists_of(key))
    }

    /// Every registered issuer with its keys' validity windows.
    pub fn issuers(&self) -> Result<Vec<Issuer>, LedgerError> {
        let state = self.partial(&[], &["registry/"])?;
        Ok(state.registry.issuers().cloned().collect())
    }
}

#[cfg(test)]
mod tests {
    //! Views over logs written straight into a store, record by record through the projections
    //! (without the rules, so a test can hold what the rules would refuse).

    use time::macros::datetime;

    use super::*;
    use crate::canonical;
    use crate::event::{
        CourseCompleted, Event, Genesis, IssuerCategory, IssuerRegistered, KeyLinked, Payload, Skill, Timestamp,
    };
    use crate::keys::SecretKey;
    use crate::projection::Changes;
    use crate::store::{Batch, MemoryStore, NewRecord};

    fn key(n: u64) -> SecretKey {
        let mut seed = [0x5a; 32];
        seed[..8].copy_from_slice(&n.to_le_bytes());
        SecretKey::from_seed(&seed)
    }

    const OPERATOR: u64 = 0;
    const ISSUER_A: u64 = 1;
    const ISSUER_B: u64 = 2;

    /// A log being written: the store and the projections as of its end.
    struct Log {
        store: MemoryStore,
        state: Projections,
    }

    impl Log {
        /// Genesis and two issuers.
        fn new() -> Self {
            let mut log = Log { store: MemoryStore::new(), state: Projections::default() };
            let operator = key(OPERATOR).did().clone();
            log.push(OPERATOR, Payload::Genesis(Genesis { origin: "view.test".into(), operator }), None);
            for issuer in [ISSUER_A, ISSUER_B] {
                let issuer = key(issuer).did().clone();
                let name = "Lakeside Community College".into();
                let registered = IssuerRegistered { issuer, name, category: IssuerCategory::College, ledger: None };
                log.push(OPERATOR, Payload::IssuerRegistered(registered), None);
            }
            log
        }

        /// Appends `payload` signed by key `by` (and co-signed by `cosigner`); returns its id.
        fn push(&mut self, by: u64, payload: Payload, cosigner: Option<u64>) -> EventId {
            let signer = key(by);
            let at = Timestamp(datetime!(2026-05-01 12:00 UTC));
            let event = Event::new(signer.did().clone(), at, payload)
                .sign(&signer, cosigner.map(key).as_ref())
                .expect("valid shape");
            let record = Record { seq: self.state.applied(), recorded_at: at, event };
            let id = record.event.id();
            let new = NewRecord { seq: record.seq, id, bytes: record.canonical() };
            self.store.commit(Batch { records: vec![new], ..Batch::at(record.seq) }).expect("commit");
            self.state.apply(&record, &mut Changes::default());
            id
        }

        fn course(&mut self, by: u64, learner: u64, uuid: &str) -> EventId {
            let course = CourseCompleted {
                credential_uuid: uuid.into(),
                learner: key(learner).did().clone(),
                title: "Intro to Python Programming".into(),
                code: "CIS 121".into(),
                skills: vec![Skill { id: "15-1252.00".into(), label: None, level: None }],
                credits: 3.0,
                completed_on: "2026-04-30".parse().expect("a date"),
                ledger: None,
                vc_proof: None,
                vc: None,
            };
            self.push(by, Payload::CourseCompleted(course), None)
        }

        /// The store, with the projections' entries as of the end of the log.
        fn stored(self) -> (MemoryStore, Projections) {
            let len = self.store.len().expect("len");
            self.store.replace_entries(len, self.state.entries()).expect("entries");
            (self.store, self.state)
        }
    }

    /// A store that notes every projection entry (or prefix) read, and every record range.
    #[derive(Default)]
    struct Counting {
        inner: MemoryStore,
        reads: std::sync::Mutex<Vec<String>>,
    }

    impl Counting {
        fn note(&self, what: impl Into<String>) {
            self.reads.lock().expect("not poisoned").push(what.into());
        }

        fn reads(&self) -> Vec<String> {
            self.reads.lock().expect("not poisoned").clone()
        }
    }

    impl Store for Counting {
        fn commit(&self, batch: Batch) -> Result<(), StoreError> {
            self.inner.commit(batch)
        }
        fn len(&self) -> Result<u64, StoreError> {
            self.inner.len()
        }
        fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
            self.note(format!("records {from}+{limit}"));
            self.inner.records(from, limit)
        }
        fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
            self.inner.seq_of(id)
        }
        fn node(&self, id: crate::merkle::NodeId) -> Result<Option<Hash32>, StoreError> {
            self.inner.node(id)
        }
        fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
            self.inner.checkpoints(from, to)
        }
        fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
            self.inner.latest_checkpoint()
        }
        fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
            self.note("every entry");
            self.inner.entries()
        }
        fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
            self.note(format!("{prefix}*"));
            self.inner.entries_with_prefix(prefix)
        }
        fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
            self.note(key);
            self.inner.entry(key)
        }
        fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
            keys.iter().for_each(|k| self.note(k.as_str()));
            self.inner.entries_for(keys)
        }
        fn staging(&self) -> Result<std::sync::Arc<dyn crate::store::Staging>, StoreError> {
            self.inner.staging()
        }
    }

    /// A learner who received a course and then moved key `links` times (more than the rules
    /// allow, as stored data might hold): the view reads each entry once, so its cost is linear
    /// in the chain.
    fn profile_reads(links: u64) -> Vec<String> {
        const FIRST_KEY: u64 = 100;
        let mut log = Log::new();
        log.course(ISSUER_A, FIRST_KEY, "6f1c2f4e-8a8b-4d55-9a43-000000000001");
        for k in FIRST_KEY..FIRST_KEY + links {
            let (from, to) = (key(k).did().clone(), key(k + 1).did().clone());
            let link = KeyLinked { from, to, to_sig: String::new(), ledger: None };
            log.push(k, Payload::KeyLinked(link), Some(k + 1));
        }
        let (store, state) = log.stored();
        let counting = Counting { inner: store, ..Counting::default() };
        let head = key(FIRST_KEY).did().clone();
        let profile = View(&counting).profile(&head).expect("a profile");
        // The same profile as the projections in memory render.
        let expected = state.profiles.render(&head, &state.status, &state.registry, projection::as_of(state.applied()));
        assert_eq!(profile, expected);
        assert_eq!(&profile.learner, key(FIRST_KEY + links).did());
        assert_eq!(profile.earlier_keys.len() as u64, links);
        assert_eq!(profile.credentials.len(), 1);
        counting.reads()
    }

    #[test]
    fn a_profile_reads_each_key_move_once() {
        for links in [15, 300] {
            let reads = profile_reads(links);
            let mut once = BTreeSet::new();
            let again: Vec<&String> = reads.iter().filter(|r| !once.insert(r.as_str())).collect();
            assert!(again.is_empty(), "{links} links: read more than once: {again:?}");
            let moves = reads.iter().filter(|r| r.starts_with("profile/moved/")).count() as u64;
            // Every move, and the current key's (absent) one.
            assert_eq!(moves, links + 1, "{reads:?}");
            // Besides the moves: the learner's entry and credentials, positions, one status
            // entry and one issuer.
            assert_eq!(reads.len() as u64, moves + 5, "{reads:?}");
        }
    }

    #[test]
    fn a_uuid_answers_for_the_credential_that_carries_it() {
        let uuid = "6f1c2f4e-8a8b-4d55-9a43-000000000001";
        let other_uuid = "6f1c2f4e-8a8b-4d55-9a43-000000000002";
        let mut log = Log::new();
        let first = log.course(ISSUER_A, 10, uuid);
        // A second credential with the same uuid (the rules refuse it; the projection ignores it).
        let second = log.course(ISSUER_B, 11, uuid);
        let third = log.course(ISSUER_B, 11, other_uuid);
        let (store, _) = log.stored();
        let view = View(&store);
        let found = view.credential_by_uuid(uuid).expect("read").expect("found");
        assert_eq!(found.status.id, first);
        assert_ne!(found.status.id, second);
        assert_eq!(view.credential_by_uuid(other_uuid).expect("read").map(|c| c.status.id), Some(third));
        assert!(view.credential_by_uuid("6f1c2f4e-8a8b-4d55-9a43-000000000003").expect("read").is_none());

        // A stored mapping to a credential that does not carry the uuid is corruption, not an answer.
        let wrong = canonical::to_vec(&serde_json::Value::String(third.to_string())).expect("json");
        let entries = vec![(format!("status/uuid/{uuid}"), Some(wrong))];
        store.commit(Batch { entries, ..Batch::at(store.len().expect("len")) }).expect("commit");
        let err = View(&store).credential_by_uuid(uuid).expect_err("a mapping to another credential");
        assert!(err.to_string().contains(&format!("points at credential {third}")), "{err}");
    }
}
