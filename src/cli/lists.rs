//! Status lists signed in the commands: the `status_list.signed` events that go, in the same
//! all-or-none group, with an issuance (the key's lists at this public URL, when none is current)
//! and with a status change (the lists it changes, with the bits it leaves), and those that bring
//! every list of a key up to date (`issuer sign-status-lists`). The ledger checks each proof over
//! exactly the log's bits; a list changed meanwhile is refused and the command signs again.

use anyhow::{Result, anyhow};
use credledger::event::{StatusListSigned, Timestamp};
use credledger::projection::CredentialState;
use credledger::projection::Status;
use credledger::status_list::{Bitstring, KeyList, MIN_ENTRIES, Purpose};
use credledger::{Event, Payload, SecretKey, SignedEvent};

use crate::cli::target::Target;

/// Where the lists are signed for: the public URL, the log's origin and the signing time.
pub struct Signing<'a> {
    pub base: &'a str,
    pub origin: &'a str,
    pub at: Timestamp,
}

impl Signing<'_> {
    /// `key`'s signed list `list` for `purpose`, certifying `bits`.
    pub fn event(&self, key: &SecretKey, purpose: Purpose, list: u32, bits: &Bitstring) -> Result<SignedEvent> {
        let place = KeyList { base: self.base, key: key.did(), purpose, list };
        let proof_value =
            place.sign(bits, &self.at, key).map_err(|e| anyhow!("signing the {purpose} list {list}: {e}"))?;
        let body = StatusListSigned {
            status_base: self.base.to_owned(),
            purpose,
            list,
            proof_value,
            ledger: Some(self.origin.to_owned()),
        };
        Ok(Event::new(key.did().clone(), self.at, Payload::StatusListSigned(body)).sign(key, None)?)
    }

    /// The lists to sign with a new credential of `key` in list `list`: each purpose's, unless
    /// its latest signed list is current here (a new credential is active: it sets no bit).
    pub fn for_issuance(&self, target: &Target, key: &SecretKey, list: u32) -> Result<Vec<SignedEvent>> {
        let mut events = Vec::new();
        for purpose in Purpose::ALL {
            let bits = match target.list_now(key.did(), purpose, list, self.base)? {
                Some((_, true)) => continue,
                Some((bits, false)) => bits,
                None => Bitstring::new(MIN_ENTRIES),
            };
            events.push(self.event(key, purpose, list, &bits)?);
        }
        Ok(events)
    }

    /// The lists to sign with a status change that leaves the credential at `index` of `key`'s
    /// list `list` in state `after`: each purpose's list with the credential's bit as it will be,
    /// when that changes it or the latest signed list is not current.
    pub fn for_change(
        &self,
        target: &Target,
        key: &SecretKey,
        (list, index): (u32, u32),
        after: CredentialState,
    ) -> Result<Vec<SignedEvent>> {
        let mut events = Vec::new();
        for purpose in Purpose::ALL {
            let Some((mut bits, current)) = target.list_now(key.did(), purpose, list, self.base)? else { continue };
            let set = after == CredentialState::set_by(purpose);
            let before = bits.get(index as usize);
            bits.set(index as usize, set);
            if current && before == Some(set) {
                continue;
            }
            events.push(self.event(key, purpose, list, &bits)?);
        }
        Ok(events)
    }

    /// Every list of `key` whose latest signed list is not current here, signed with its bits now.
    pub fn stale(&self, target: &Target, key: &SecretKey) -> Result<Vec<SignedEvent>> {
        self.stale_of(key, &target.lists_of(key.did())?, |purpose, list| {
            target.list_now(key.did(), purpose, list, self.base)
        })
    }

    /// [`Signing::stale`] on a ledger this process holds open: its state says what the lists are.
    pub fn stale_in(&self, status: &Status, key: &SecretKey) -> Result<Vec<SignedEvent>> {
        self.stale_of(key, &status.lists_of(key.did()), |purpose, list| {
            let current = status.is_current(key.did(), purpose, list, self.base);
            Ok(Some((status.list_bits(key.did(), purpose, list), current)))
        })
    }

    /// Each of `lists` (of `key`) whose latest signed list `list_now` says is not current, signed
    /// with the bits it gives.
    fn stale_of(
        &self,
        key: &SecretKey,
        lists: &[u32],
        list_now: impl Fn(Purpose, u32) -> Result<Option<(Bitstring, bool)>>,
    ) -> Result<Vec<SignedEvent>> {
        let mut events = Vec::new();
        for &list in lists {
            for purpose in Purpose::ALL {
                if let Some((bits, false)) = list_now(purpose, list)? {
                    events.push(self.event(key, purpose, list, &bits)?);
                }
            }
        }
        Ok(events)
    }
}

/// Is `e` the ledger's refusal of a signed list whose bits changed meanwhile?
pub fn changed_meanwhile(e: &anyhow::Error) -> bool {
    changed_meanwhile_text(&e.to_string())
}

/// [`changed_meanwhile`] for the ledger's reason as text.
pub fn changed_meanwhile_text(reason: &str) -> bool {
    reason.contains("body.proof_value: not key")
}
