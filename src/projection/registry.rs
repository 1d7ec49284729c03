//! The registry projection: the log's operator, every issuer, and each issuer key's validity
//! window: the record that added it (and the key that signed that), every revocation naming it,
//! and what follows from them: the revocation that stands, and since when its acts are void.
//!
//! A declaration of compromise (`issuer.key_revoked` with `compromised_since`) makes a key's acts
//! void from that time on, and a key added by a void act void from its addition (everything it
//! ever did), down chains of added keys. Which declarations stand is decided without cycles: one
//! signed by an issuer key is void when a later declaration that stands covers its signer at its
//! time (directly, or through the signer's addition); operator declarations always stand. So the
//! operator reverses an abusive declaration by declaring the abusing key compromised from before
//! it. One refinement keeps `rotate-key --compromised-since` working: the key whose declaration
//! decides its adder's window (the new key the stolen one added, which then declared it) is not
//! void through that addition. Everything here is recomputed per issuer when one of its keys is
//! added or revoked (a scan of its declarations: they are rare).

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
    /// When the ledger recorded the record that added it (registration or `issuer.key_added`).
    pub added_at: Timestamp,
    /// The issuer key that signed its addition (none: its registration, or the operator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_by: Option<Did>,
    /// The earliest revocation that stands (a void one revokes nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_seq: Option<Seq>,
    /// The earliest `compromised_since` among the declarations against it that stand.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_since: Option<Timestamp>,
    /// From when its acts are void, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void: Option<Void>,
    /// Every `issuer.key_revoked` naming it, in seq order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocations: Vec<Revocation>,
}

impl KeyWindow {
    fn new(key: Did, added_seq: Seq, added_at: Timestamp, added_by: Option<Did>) -> Self {
        KeyWindow {
            key,
            added_seq,
            added_at,
            added_by,
            revoked_seq: None,
            compromised_since: None,
            void: None,
            revocations: Vec::new(),
        }
    }

    /// The standing declaration that decides `compromised_since`, if any.
    pub fn declaration(&self) -> Option<&Revocation> {
        self.revocations
            .iter()
            .filter(|r| !r.void)
            .filter(|r| r.compromised_since.is_some())
            .min_by_key(|r| (r.compromised_since, r.seq))
    }
}

/// One `issuer.key_revoked` naming a key: plain, or a declaration of compromise.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Revocation {
    pub seq: Seq,
    pub recorded_at: Timestamp,
    pub signed_by: Did,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compromised_since: Option<Timestamp>,
    /// It revokes nothing: signed by a key void at the time, or (a declaration) overruled by a
    /// later declaration that stands.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub void: bool,
}

/// From when a key's acts are void (recorded at or after `from`), and the standing declaration
/// that decides it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Void {
    pub from: Timestamp,
    pub declared_seq: Seq,
    /// The key that declaration names: this key, or one that (through key additions) added it.
    pub compromised: Did,
}

impl Void {
    /// Why an act by `key` is void: "its signing key …" for a credential's or an apprenticeship's
    /// reason.
    pub fn reason(&self, key: &Did) -> String {
        format!("its signing key {}", self.describe(key))
    }

    /// "`key` was compromised from … on (declared at seq …)", or how it descends from a key that was.
    pub fn describe(&self, key: &Did) -> String {
        if &self.compromised == key {
            format!("{key} was compromised from {} on (declared at seq {})", self.from, self.declared_seq)
        } else {
            format!(
                "{key} was added at {} under {}, a key compromised then (declared at seq {})",
                self.from, self.compromised, self.declared_seq
            )
        }
    }

    /// Is an act recorded at `at` void?
    pub fn covers(&self, at: Timestamp) -> bool {
        self.from <= at
    }
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

/// A declaration of compromise, as [`Issuer::settle`] weighs it.
struct Declaration {
    seq: Seq,
    at: Timestamp,
    signer: Did,
    /// The index of the key it names.
    key: usize,
    since: Timestamp,
}

impl Issuer {
    /// The key's window, if the key is (or was) this issuer's.
    pub fn key(&self, key: &Did) -> Option<&KeyWindow> {
        self.keys.iter().find(|w| &w.key == key)
    }

    /// The keys whose acts are void from some time on, with their windows, in key order.
    pub fn voids(&self) -> Vec<(&Did, &Void)> {
        self.keys.iter().filter_map(|w| Some((&w.key, w.void.as_ref()?))).collect()
    }

    /// The seqs of every record that decides its keys' windows: its registration and suspension,
    /// every key addition and every revocation or declaration.
    pub fn record_seqs(&self) -> impl Iterator<Item = Seq> + '_ {
        let keys =
            self.keys.iter().flat_map(|w| std::iter::once(w.added_seq).chain(w.revocations.iter().map(|r| r.seq)));
        std::iter::once(self.registered_seq).chain(self.suspended_seq).chain(keys)
    }

    /// Decides which declarations stand (latest first, each from the later ones already decided),
    /// then each key's void window, which revocations revoke, and each key's revocation and
    /// `compromised_since`.
    fn settle(&mut self) {
        let mut declarations: Vec<Declaration> = self
            .keys
            .iter()
            .enumerate()
            .flat_map(|(key, w)| {
                w.revocations.iter().filter_map(move |r| {
                    let since = r.compromised_since?;
                    Some(Declaration { seq: r.seq, at: r.recorded_at, signer: r.signed_by.clone(), key, since })
                })
            })
            .collect();
        declarations.sort_by_key(|d| d.seq);
        let mut standing: Vec<&Declaration> = Vec::new();
        for d in declarations.iter().rev() {
            let windows = self.windows(&standing);
            if !self.void_act(&windows, &d.signer, d.at) {
                standing.push(d);
            }
        }
        let windows = self.windows(&standing);
        let standing: std::collections::BTreeSet<Seq> = standing.iter().map(|d| d.seq).collect();
        let void: Vec<Vec<bool>> = self
            .keys
            .iter()
            .map(|w| {
                w.revocations
                    .iter()
                    .map(|r| match r.compromised_since {
                        Some(_) => !standing.contains(&r.seq),
                        None => self.void_act(&windows, &r.signed_by, r.recorded_at),
                    })
                    .collect()
            })
            .collect();
        for ((w, window), void) in self.keys.iter_mut().zip(windows).zip(void) {
            for (r, void) in w.revocations.iter_mut().zip(void) {
                r.void = void;
            }
            w.void = window;
            w.revoked_seq = w.revocations.iter().filter(|r| !r.void).map(|r| r.seq).min();
            w.compromised_since = w.declaration().and_then(|r| r.compromised_since);
        }
    }

    /// Is an act by `signer` recorded at `at` void under these windows? (Never for the operator,
    /// whose key is none of this issuer's.)
    fn void_act(&self, windows: &[Option<Void>], signer: &Did, at: Timestamp) -> bool {
        let index = self.keys.iter().position(|w| &w.key == signer);
        index.and_then(|i| windows[i].as_ref()).is_some_and(|v| v.covers(at))
    }

    /// Each key's void window under the `standing` declarations, in the order keys were added,
    /// so a key added by a void act inherits the void from its addition on.
    fn windows(&self, standing: &[&Declaration]) -> Vec<Option<Void>> {
        let index: BTreeMap<&str, usize> = self.keys.iter().enumerate().map(|(i, w)| (w.key.as_str(), i)).collect();
        let mut windows: Vec<Option<Void>> = Vec::with_capacity(self.keys.len());
        // For each key, the signer of the declaration that decides its window directly.
        let mut decided_by: Vec<Option<&Did>> = Vec::with_capacity(self.keys.len());
        for (i, w) in self.keys.iter().enumerate() {
            let deciding = standing.iter().filter(|d| d.key == i).min_by_key(|d| (d.since, d.seq));
            let direct = deciding.map(|d| Void { from: d.since, declared_seq: d.seq, compromised: w.key.clone() });
            let adder = w.added_by.as_ref().and_then(|a| index.get(a.as_str())).copied().filter(|&a| a < i);
            let inherited = adder.and_then(|a| {
                let parent = windows[a].as_ref()?;
                // The new key of a rotation whose own declaration decides its adder's window is
                // not void through its addition.
                let rotated = parent.compromised == self.keys[a].key && decided_by[a] == Some(&w.key);
                (parent.covers(w.added_at) && !rotated).then(|| Void {
                    from: w.added_at,
                    declared_seq: parent.declared_seq,
                    compromised: parent.compromised.clone(),
                })
            });
            let window = match (direct, inherited) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            windows.push(window);
            decided_by.push(deciding.map(|d| &d.signer));
        }
        windows
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

    /// The window of `key`, if it is (or was) an issuer's.
    pub fn window(&self, key: &Did) -> Option<&KeyWindow> {
        self.issuer_of_key(key).and_then(|i| i.key(key))
    }

    /// Why an act signed by `key` and recorded at `at` is void, if it is: `key`'s void window
    /// covers `at`. The operator's acts are never void.
    pub fn void_act(&self, key: &Did, at: Timestamp) -> Option<&Void> {
        self.window(key).and_then(|w| w.void.as_ref()).filter(|v| v.covers(at))
    }

    /// The issuer whose keys an `issuer.key_added` or `issuer.key_revoked` changes.
    pub fn key_event_issuer(&self, payload: &Payload, author: &Did) -> Option<Did> {
        match payload {
            Payload::KeyAdded(k) => self.target_issuer(k.issuer.as_ref(), author),
            Payload::KeyRevoked(k) => self.key_owner.get(&k.key).cloned(),
            _ => None,
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
                    keys: vec![KeyWindow::new(r.issuer.clone(), seq, record.recorded_at, None)],
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
                    let added_by = (!self.is_operator(author)).then(|| author.clone());
                    if let Some(issuer) = self.issuers.get_mut(&owner) {
                        issuer.keys.push(KeyWindow::new(k.key.clone(), seq, record.recorded_at, added_by));
                        issuer.settle();
                    }
                    self.key_owner.insert(k.key.clone(), owner.clone());
                    changes.touch(issuer_key(&owner));
                }
            }
            Payload::KeyRevoked(k) => {
                if let Some(owner) = self.key_owner.get(&k.key).cloned() {
                    if let Some(issuer) = self.issuers.get_mut(&owner) {
                        if let Some(window) = issuer.keys.iter_mut().find(|w| w.key == k.key) {
                            window.revocations.push(Revocation {
                                seq,
                                recorded_at: record.recorded_at,
                                signed_by: author.clone(),
                                compromised_since: k.compromised_since,
                                void: false,
                            });
                        }
                        issuer.settle();
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
