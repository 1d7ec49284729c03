//! The agent's own store (sled, in its `--dir`): awards with the student's details (which never
//! leave the agent), offers under the hash of their token, the index from a code's hash to its
//! offer, access tokens' and nonces' hashes, and each award's signed credential events, kept
//! before they are posted to the ledger. One tree, keys prefixed by what they hold; every change
//! is one atomic batch, flushed before it is answered; read-modify-write runs under one lock.

use std::path::Path;
use std::sync::Mutex;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::import::Award;
use super::offers::{Grant, NewOffer, Offer, OfferState};
use crate::event::Timestamp;
use crate::oid4vci::OAuthError;

const AWARD: &str = "award/";
const OFFER: &str = "offer/";
const CODE: &str = "code/";
const TOKEN: &str = "token/";
const NONCE: &str = "nonce/";

/// What went wrong with the agent's store.
#[derive(Debug, thiserror::Error)]
#[error("the agent's store: {0}")]
pub struct StoreError(String);

impl From<sled::Error> for StoreError {
    fn from(e: sled::Error) -> Self {
        StoreError(e.to_string())
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError(format!("a stored entry does not read back: {e}"))
    }
}

/// An award and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AwardEntry {
    pub award: Award,
    pub imported_at: Timestamp,
    /// The hash of its current offer's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offer: Option<String>,
    /// Its credential, once signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<Issued>,
}

/// An award's credential: the signed events (the credential event first, then its status
/// lists), kept before they are posted, and whether the ledger has them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issued {
    pub learner: String,
    pub credential: String,
    pub events: Vec<Value>,
    pub appended: bool,
}

/// Whether an imported award is new.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Imported {
    New,
    Before,
}

/// The agent's sled store.
pub struct AgentStore {
    tree: sled::Db,
    lock: Mutex<()>,
    issuing: Mutex<()>,
}

impl std::fmt::Debug for AgentStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AgentStore")
    }
}

impl AgentStore {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError(format!("creating {}: {e}", dir.display())))?;
        Ok(AgentStore { tree: sled::open(dir.join("agent.sled"))?, lock: Mutex::new(()), issuing: Mutex::new(()) })
    }

    /// Held while a credential is signed, kept and posted: one issuance at a time, so an award
    /// is never signed twice, even by two claims at once.
    pub fn issuing(&self) -> std::sync::MutexGuard<'_, ()> {
        self.issuing.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        self.tree.get(key)?.map(|bytes| serde_json::from_slice(&bytes)).transpose().map_err(Into::into)
    }

    fn commit(&self, batch: sled::Batch) -> Result<(), StoreError> {
        self.tree.apply_batch(batch)?;
        self.tree.flush()?;
        Ok(())
    }

    fn put(batch: &mut sled::Batch, key: String, value: &impl Serialize) -> Result<(), StoreError> {
        batch.insert(key.as_bytes(), serde_json::to_vec(value)?);
        Ok(())
    }

    /// An award by id.
    pub fn award(&self, id: &str) -> Result<Option<AwardEntry>, StoreError> {
        self.get(&format!("{AWARD}{id}"))
    }

    /// Every award, in id order.
    pub fn awards(&self) -> Result<Vec<AwardEntry>, StoreError> {
        self.tree.scan_prefix(AWARD).values().map(|v| Ok(serde_json::from_slice(&v?)?)).collect()
    }

    /// An offer by its token's hash.
    pub fn offer(&self, key: &str) -> Result<Option<Offer>, StoreError> {
        self.get(&format!("{OFFER}{key}"))
    }

    /// Adds the awards not already here, each with its new offer (made by `offer_of` only for a
    /// new one), in one atomic write: which were new. If an offer cannot be made, nothing is
    /// written.
    pub fn import(
        &self,
        awards: Vec<Award>,
        now: Timestamp,
        mut offer_of: impl FnMut(&Award) -> std::io::Result<NewOffer>,
    ) -> Result<Vec<(AwardEntry, Imported, Option<NewOffer>)>, StoreError> {
        let _guard = self.guard();
        let mut batch = sled::Batch::default();
        let mut seen = std::collections::BTreeSet::new();
        let mut outcome = Vec::with_capacity(awards.len());
        for award in awards {
            let repeated = !seen.insert(award.id.clone());
            match self.award(&award.id)? {
                Some(entry) => outcome.push((entry, Imported::Before, None)),
                None if repeated => {
                    let entry = outcome.iter().find(|(e, _, _): &&(AwardEntry, _, _)| e.award.id == award.id);
                    let entry = entry.map(|(e, _, _)| e.clone()).expect("seen before");
                    outcome.push((entry, Imported::Before, None));
                }
                None => {
                    let new = offer_of(&award).map_err(|e| StoreError(format!("making an offer: {e}")))?;
                    let key = new.token.hash();
                    Self::put(&mut batch, format!("{OFFER}{key}"), &new.offer)?;
                    batch.insert(format!("{CODE}{}", new.offer.code_hash).as_bytes(), key.as_bytes());
                    let entry = AwardEntry { award, imported_at: now, offer: Some(key), issued: None };
                    Self::put(&mut batch, format!("{AWARD}{}", entry.award.id), &entry)?;
                    outcome.push((entry, Imported::New, Some(new)));
                }
            }
        }
        self.commit(batch)?;
        Ok(outcome)
    }

    /// Gives an award a new offer; its current one, if any, is dead from now on.
    pub fn reoffer(&self, award: &str, new: &NewOffer) -> Result<Option<AwardEntry>, StoreError> {
        self.set_offer_state(award, OfferState::Replaced, Some(new))
    }

    /// Cancels an award's current offer.
    pub fn cancel(&self, award: &str) -> Result<Option<AwardEntry>, StoreError> {
        self.set_offer_state(award, OfferState::Cancelled, None)
    }

    fn set_offer_state(
        &self,
        award: &str,
        state: OfferState,
        new: Option<&NewOffer>,
    ) -> Result<Option<AwardEntry>, StoreError> {
        let _guard = self.guard();
        let Some(mut entry) = self.award(award)? else { return Ok(None) };
        let mut batch = sled::Batch::default();
        if let Some(key) = &entry.offer
            && let Some(mut old) = self.offer(key)?
            && matches!(old.state, OfferState::Open | OfferState::Locked)
        {
            old.state = state;
            Self::put(&mut batch, format!("{OFFER}{key}"), &old)?;
        }
        if let Some(new) = new {
            let key = new.token.hash();
            Self::put(&mut batch, format!("{OFFER}{key}"), &new.offer)?;
            batch.insert(format!("{CODE}{}", new.offer.code_hash).as_bytes(), key.as_bytes());
            entry.offer = Some(key);
        }
        Self::put(&mut batch, format!("{AWARD}{award}"), &entry)?;
        self.commit(batch)?;
        Ok(Some(entry))
    }

    /// Redeems the offer of the code whose hash is `code_hash`, with `pin`, at `now`; on success
    /// keeps `grant` under `token_hash`. A wrong PIN is counted durably.
    pub fn redeem(
        &self,
        code: &str,
        pin: Option<&str>,
        now: Timestamp,
        token_hash: &str,
        expires_at: Timestamp,
    ) -> Result<Result<(), OAuthError>, StoreError> {
        let _guard = self.guard();
        let code_hash = super::offers::hash_of(code);
        let Some(key) = self.tree.get(format!("{CODE}{code_hash}"))? else {
            return Ok(Err(OAuthError::new("invalid_grant", "pre-authorized_code: not a code this issuer gave")));
        };
        let key = String::from_utf8_lossy(&key).into_owned();
        let Some(offer) = self.offer(&key)? else {
            return Ok(Err(OAuthError::new("invalid_grant", "pre-authorized_code: not a code this issuer gave")));
        };
        let award = offer.award.clone();
        let before = offer.clone();
        let (after, result) = offer.redeem(code, pin, now);
        let mut batch = sled::Batch::default();
        if after != before {
            Self::put(&mut batch, format!("{OFFER}{key}"), &after)?;
        }
        if result.is_ok() {
            Self::put(&mut batch, format!("{TOKEN}{token_hash}"), &Grant { award, expires_at })?;
        }
        self.commit(batch)?;
        Ok(result)
    }

    /// The grant of an access token, by the token's hash.
    pub fn grant(&self, token_hash: &str) -> Result<Option<Grant>, StoreError> {
        self.get(&format!("{TOKEN}{token_hash}"))
    }

    /// Keeps a nonce's hash until `expires_at`; nonces that expired before `now` are dropped.
    pub fn put_nonce(&self, nonce_hash: &str, expires_at: Timestamp, now: Timestamp) -> Result<(), StoreError> {
        let mut batch = sled::Batch::default();
        for entry in self.tree.scan_prefix(NONCE) {
            let (key, value) = entry?;
            let expired = serde_json::from_slice::<Timestamp>(&value).map_or(true, |at| at.0 <= now.0);
            if expired {
                batch.remove(key);
            }
        }
        Self::put(&mut batch, format!("{NONCE}{nonce_hash}"), &expires_at)?;
        self.commit(batch)
    }

    /// Takes a nonce (it is single-use): when it expires, or `None` if it is unknown or used.
    pub fn take_nonce(&self, nonce_hash: &str) -> Result<Option<Timestamp>, StoreError> {
        let taken = self.tree.remove(format!("{NONCE}{nonce_hash}"))?;
        self.tree.flush()?;
        taken.map(|bytes| serde_json::from_slice(&bytes)).transpose().map_err(Into::into)
    }

    /// Runs `change` on an award's entry under the store's lock and writes what it returns.
    pub fn update_award<T>(
        &self,
        award: &str,
        change: impl FnOnce(&mut AwardEntry) -> T,
    ) -> Result<Option<T>, StoreError> {
        let _guard = self.guard();
        let Some(mut entry) = self.award(award)? else { return Ok(None) };
        let result = change(&mut entry);
        let mut batch = sled::Batch::default();
        Self::put(&mut batch, format!("{AWARD}{award}"), &entry)?;
        self.commit(batch)?;
        Ok(Some(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::offers::OFFER_LIFETIME;

    fn award(id: &str) -> Award {
        let text = format!(
            "student_id,email,kind,title,completed,skills\n{id},a@b.edu,certificate,First Aid,2026-01-01,x:1\n"
        );
        let mut awards = Vec::new();
        super::super::import::read(text.as_bytes(), &Default::default(), |_, a| awards.push(a.unwrap())).unwrap();
        awards.pop().unwrap()
    }

    fn now() -> Timestamp {
        Timestamp(time::OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap())
    }

    #[test]
    fn importing_twice_adds_nothing_and_a_reoffer_kills_the_old_code() {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open(dir.path()).unwrap();
        let mut n = 0u8;
        let mut offer_of = |a: &Award| {
            n += 1;
            Ok(Offer::create(&a.id, [n; 32], Some([n; 8]), now(), OFFER_LIFETIME))
        };
        let first = store.import(vec![award("S1"), award("S1")], now(), &mut offer_of).unwrap();
        assert_eq!(first.iter().map(|o| o.1).collect::<Vec<_>>(), [Imported::New, Imported::Before]);
        let again = store.import(vec![award("S1")], now(), &mut offer_of).unwrap();
        assert_eq!(again[0].1, Imported::Before);
        assert_eq!(store.awards().unwrap().len(), 1);

        let old = first[0].2.clone().unwrap();
        let old_code = super::super::offers::code_of(&old.token).0;
        let id = &first[0].0.award.id;
        let new = Offer::create(id, [9; 32], None, now(), OFFER_LIFETIME);
        store.reoffer(id, &new).unwrap();
        let refused = store.redeem(&old_code, old.pin.as_deref(), now(), "t1", now()).unwrap();
        assert!(refused.unwrap_err().error_description.contains("replaced"));
        let new_code = super::super::offers::code_of(&new.token).0;
        assert!(store.redeem(&new_code, None, now(), "t2", now()).unwrap().is_ok());
        assert_eq!(store.grant("t2").unwrap().unwrap().award, *id);
    }

    #[test]
    fn a_nonce_is_taken_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = AgentStore::open(dir.path()).unwrap();
        store.put_nonce("n", now(), now()).unwrap();
        assert!(store.take_nonce("n").unwrap().is_some());
        assert!(store.take_nonce("n").unwrap().is_none());
    }
}
