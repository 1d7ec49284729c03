//! The registry projection: the log's operator, every issuer, and each issuer key's validity
//! window (the seq that added it, the seq that revoked it, and since when it was compromised).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::event::{IssuerCategory, Payload, Timestamp};
use crate::id::{Did, Seq};
use crate::projection::{Changes, Context, Projection, Record};

/// One signing key of an issuer and when it was valid.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct KeyWindow {
    pub key: Did,
    pub added_seq: Seq,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_seq: Option<Seq>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_since: Option<Timestamp>,
}

/// A registered institution.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Issuer {
    pub did: Did,
    pub name: String,
    pub category: IssuerCategory,
    pub registered_seq: Seq,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_seq: Option<Seq>,
    pub keys: Vec<KeyWindow>,
}

impl Issuer {
    /// The key's window, if the key is (or was) this issuer's.
    pub fn key(&self, key: &Did) -> Option<&KeyWindow> {
        self.keys.iter().find(|w| &w.key == key)
    }
}

/// The log's origin and operator, from the genesis event.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Genesis {
    pub origin: String,
    pub operator: Did,
}

/// Issuers and keys, as of some position in the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Registry {
    genesis: Option<Genesis>,
    issuers: BTreeMap<Did, Issuer>,
    /// Which issuer each key belongs to (derived from `issuers`, never stored).
    key_owner: BTreeMap<Did, Did>,
}

/// The key under which the genesis entry is stored.
const GENESIS_KEY: &str = "registry/genesis";
const ISSUER_PREFIX: &str = "registry/issuer/";

impl Registry {
    /// The log's origin and operator, once genesis is on the log.
    pub fn genesis(&self) -> Option<&Genesis> {
        self.genesis.as_ref()
    }

    /// Is `did` the operator's key?
    pub fn is_operator(&self, did: &Did) -> bool {
        self.genesis.as_ref().is_some_and(|g| &g.operator == did)
    }

    /// An issuer by its did.
    pub fn issuer(&self, did: &Did) -> Option<&Issuer> {
        self.issuers.get(did)
    }

    /// All issuers, in did order.
    pub fn issuers(&self) -> impl Iterator<Item = &Issuer> {
        self.issuers.values()
    }

    /// The issuer that holds (or held) `key`.
    pub fn issuer_of_key(&self, key: &Did) -> Option<&Issuer> {
        self.key_owner.get(key).and_then(|issuer| self.issuers.get(issuer))
    }

    /// Has `did` ever been the operator's or an issuer's key?
    pub fn is_known_key(&self, did: &Did) -> bool {
        self.is_operator(did) || self.key_owner.contains_key(did)
    }

    /// The issuer an issuer-key event is about: the named one, else the author's own.
    pub fn target_issuer(&self, named: Option<&Did>, author: &Did) -> Option<Did> {
        match named {
            Some(issuer) => Some(issuer.clone()),
            None => self.key_owner.get(author).cloned(),
        }
    }

    fn insert(&mut self, issuer: Issuer) {
        for window in &issuer.keys {
            self.key_owner.insert(window.key.clone(), issuer.did.clone());
        }
        self.issuers.insert(issuer.did.clone(), issuer);
    }
}

impl Projection for Registry {
    const NAME: &'static str = "registry";

    fn apply(&mut self, record: &Record, _context: &Context, changes: &mut Changes) {
        let seq = record.seq;
        let author = &record.event.event.author;
        match &record.event.event.payload {
            Payload::Genesis(g) => {
                self.genesis = Some(Genesis { origin: g.origin.clone(), operator: g.operator.clone() });
                changes.touch(GENESIS_KEY.to_owned());
            }
            Payload::IssuerRegistered(r) => {
                self.insert(Issuer {
                    did: r.issuer.clone(),
                    name: r.name.clone(),
                    category: r.category,
                    registered_seq: seq,
                    suspended_seq: None,
                    keys: vec![KeyWindow {
                        key: r.issuer.clone(),
                        added_seq: seq,
                        revoked_seq: None,
                        compromised_since: None,
                    }],
                });
                changes.touch(issuer_key(&r.issuer));
            }
            Payload::IssuerSuspended(s) => {
                if let Some(issuer) = self.issuers.get_mut(&s.issuer) {
                    issuer.suspended_seq = Some(seq);
                    changes.touch(issuer_key(&s.issuer));
                }
            }
            Payload::KeyAdded(k) => {
                if let Some(owner) = self.target_issuer(k.issuer.as_ref(), author) {
                    if let Some(issuer) = self.issuers.get_mut(&owner) {
                        issuer.keys.push(KeyWindow {
                            key: k.key.clone(),
                            added_seq: seq,
                            revoked_seq: None,
                            compromised_since: None,
                        });
                    }
                    self.key_owner.insert(k.key.clone(), owner.clone());
                    changes.touch(issuer_key(&owner));
                }
            }
            Payload::KeyRevoked(k) => {
                if let Some(owner) = self.key_owner.get(&k.key).cloned() {
                    if let Some(window) =
                        self.issuers.get_mut(&owner).and_then(|i| i.keys.iter_mut().find(|w| w.key == k.key))
                    {
                        window.revoked_seq = Some(seq);
                        window.compromised_since = k.compromised_since;
                    }
                    changes.touch(issuer_key(&owner));
                }
            }
            _ => {}
        }
    }

    fn entry(&self, key: &str) -> Option<serde_json::Value> {
        if key == GENESIS_KEY {
            return self.genesis.as_ref().and_then(|g| serde_json::to_value(g).ok());
        }
        let did: Did = key.strip_prefix(ISSUER_PREFIX)?.parse().ok()?;
        self.issuers.get(&did).and_then(|i| serde_json::to_value(i).ok())
    }

    fn keys(&self) -> Vec<String> {
        let genesis = self.genesis.iter().map(|_| GENESIS_KEY.to_owned());
        genesis.chain(self.issuers.keys().map(issuer_key)).collect()
    }

    fn load(&mut self, key: &str, value: serde_json::Value) -> Result<(), serde_json::Error> {
        if key == GENESIS_KEY {
            self.genesis = Some(serde_json::from_value(value)?);
        } else {
            self.insert(serde_json::from_value(value)?);
        }
        Ok(())
    }
}

fn issuer_key(did: &Did) -> String {
    format!("{ISSUER_PREFIX}{did}")
}
