//! Read-only views of a ledger, straight from its store: records, proofs, checkpoints, and the
//! projections' stored entries rendered as profiles, credential status and the issuer registry.
//! A [`View`] needs no [`crate::Ledger`], so a server's readers never wait for its writer: every
//! append commits the records and the projection entries they change in one atomic batch, so what
//! a view reads is always a committed state.

use crate::checkpoint::Checkpoint;
use crate::id::{Did, EventId, Hash32, Seq};
use crate::ledger::{LedgerError, ProveError};
use crate::merkle::{self, ProofError};
use crate::projection::registry::Issuer;
use crate::projection::status::CredentialStatus;
use crate::projection::{self, Profile, Projections, Record};
use crate::store::{Store, StoreError, StoredNodes};

/// A view of the ledger held by a store.
#[derive(Debug)]
pub struct View<'a, S: ?Sized>(pub &'a S);

/// A credential's record and its status.
#[derive(serde::Serialize, Debug, Clone)]
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

    /// A learner's profile, as of the last committed batch.
    pub fn profile(&self, did: &Did) -> Result<Profile, LedgerError> {
        // Follow the learner's key moves, then read their entry and what it refers to.
        let mut keys = vec![format!("profile/moved/{did}")];
        let mut moves = self.partial(&keys, &[])?;
        let mut current = did.clone();
        while let Some(moved) = moves.profiles.moved(&current) {
            current = moved.to.clone();
            keys.push(format!("profile/moved/{current}"));
            moves = self.partial(&keys, &[])?;
        }
        keys.push(format!("profile/learner/{current}"));
        let credentials = format!("profile/credential/{current}/");
        let learner = self.partial(&keys, &[credentials.as_str()])?;
        let mut issuers = Vec::new();
        if let Some(entry) = learner.profiles.learner(&current) {
            for c in &entry.credentials {
                keys.push(format!("status/credential/{}", c.id));
                issuers.push(c.issuer.clone());
            }
            keys.extend(entry.apprenticeships.iter().map(|id| format!("status/apprenticeship/{id}")));
        }
        let mut state = self.partial(&keys, &["position/", credentials.as_str()])?;
        let status_issuers: Vec<Did> =
            entry_apprenticeship_issuers(&state, &current).into_iter().chain(issuers).collect();
        let issuer_keys: Vec<String> = status_issuers.iter().map(|i| format!("registry/issuer/{i}")).collect();
        let registry = self.partial(&issuer_keys, &[])?.registry;
        state.registry = registry;
        Ok(state.profiles.render(did, &state.status, &state.registry, projection::as_of(state.applied())))
    }

    /// A credential's status and its issuing record.
    pub fn credential(&self, id: &EventId) -> Result<Option<CredentialView>, LedgerError> {
        let state = self.partial(&[format!("status/credential/{id}")], &[])?;
        let Some(status) = state.status.credential(id).cloned() else { return Ok(None) };
        let record = self.records(status.issued_seq, 1)?.pop().map(|r| r.to_value()).unwrap_or_default();
        Ok(Some(CredentialView { status, record }))
    }

    /// The credential whose standard form has this UUID.
    pub fn credential_by_uuid(&self, uuid: &str) -> Result<Option<CredentialView>, LedgerError> {
        let state = self.partial(&[format!("status/uuid/{uuid}")], &[])?;
        match state.status.by_uuid(uuid) {
            Some(id) => self.credential(&id),
            None => Ok(None),
        }
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

    /// Every registered issuer with its keys' validity windows.
    pub fn issuers(&self) -> Result<Vec<Issuer>, LedgerError> {
        let state = self.partial(&[], &["registry/"])?;
        Ok(state.registry.issuers().cloned().collect())
    }
}

/// The issuers of a learner's apprenticeships in progress.
fn entry_apprenticeship_issuers(state: &Projections, learner: &Did) -> Vec<Did> {
    let Some(entry) = state.profiles.learner(learner) else { return Vec::new() };
    entry.apprenticeships.iter().filter_map(|id| state.status.apprenticeship(id)).map(|a| a.issuer.clone()).collect()
}
