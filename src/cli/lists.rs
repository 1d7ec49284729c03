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

/// A key's list as the ledger has it now: its bits, whether its latest signed list certified them
/// for this public URL, and when that latest list was signed.
pub struct ListNow {
    pub bits: Bitstring,
    pub current: bool,
    pub signed_at: Option<Timestamp>,
}

impl ListNow {
    /// `key`'s list `list` for `purpose` in a ledger's status projection, for `base`.
    pub fn of(status: &Status, key: &credledger::Did, purpose: Purpose, list: u32, base: &str) -> Self {
        ListNow {
            bits: status.list_bits(key, purpose, list),
            current: status.is_current(key, purpose, list, base),
            signed_at: status.signed_list(key, purpose, list).map(|s| s.created_at),
        }
    }
}

/// Where the lists are signed for: the public URL, the log's origin and the signing time.
pub struct Signing<'a> {
    pub base: &'a str,
    pub origin: &'a str,
    pub at: Timestamp,
}

impl Signing<'_> {
    /// `key`'s signed list `list` for `purpose`, certifying `bits`, dated after the list's latest
    /// signing (`after`): within one second a list can return to bits it had, and the same bits
    /// signed at the same second would be an event already on the log, which the ledger takes as
    /// appended (idempotency) while the list it serves stays the later, stale one. So a list
    /// signed again within its latest signing's second waits for the next second.
    pub fn event(
        &self,
        key: &SecretKey,
        purpose: Purpose,
        list: u32,
        bits: &Bitstring,
        after: Option<Timestamp>,
    ) -> Result<SignedEvent> {
        let at = match after {
            Some(latest) if latest >= self.at => second_after(latest),
            _ => self.at,
        };
        let place = KeyList { base: self.base, key: key.did(), purpose, list };
        let proof_value = place.sign(bits, &at, key).map_err(|e| anyhow!("signing the {purpose} list {list}: {e}"))?;
        let body = StatusListSigned {
            status_base: self.base.to_owned(),
            purpose,
            list,
            proof_value,
            ledger: Some(self.origin.to_owned()),
        };
        Ok(Event::new(key.did().clone(), at, Payload::StatusListSigned(body)).sign(key, None)?)
    }

    /// The lists to sign with a new credential of `key` in list `list`: each purpose's, unless
    /// its latest signed list is current here (a new credential is active: it sets no bit).
    pub fn for_issuance(&self, target: &Target, key: &SecretKey, list: u32) -> Result<Vec<SignedEvent>> {
        let mut events = Vec::new();
        for purpose in Purpose::ALL {
            let (bits, after) = match target.list_now(key.did(), purpose, list, self.base)? {
                Some(ListNow { current: true, .. }) => continue,
                Some(now) => (now.bits, now.signed_at),
                None => (Bitstring::new(MIN_ENTRIES), None),
            };
            events.push(self.event(key, purpose, list, &bits, after)?);
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
            let Some(ListNow { mut bits, current, signed_at }) =
                target.list_now(key.did(), purpose, list, self.base)?
            else {
                continue;
            };
            let set = after == CredentialState::set_by(purpose);
            let before = bits.get(index as usize);
            bits.set(index as usize, set);
            if current && before == Some(set) {
                continue;
            }
            events.push(self.event(key, purpose, list, &bits, signed_at)?);
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
            Ok(Some(ListNow::of(status, key.did(), purpose, list, self.base)))
        })
    }

    /// Each of `lists` (of `key`) whose latest signed list `list_now` says is not current, signed
    /// with the bits it gives.
    fn stale_of(
        &self,
        key: &SecretKey,
        lists: &[u32],
        list_now: impl Fn(Purpose, u32) -> Result<Option<ListNow>>,
    ) -> Result<Vec<SignedEvent>> {
        let mut events = Vec::new();
        for &list in lists {
            for purpose in Purpose::ALL {
                if let Some(ListNow { bits, current: false, signed_at }) = list_now(purpose, list)? {
                    events.push(self.event(key, purpose, list, &bits, signed_at)?);
                }
            }
        }
        Ok(events)
    }
}

/// How long a signer waits at most for the second after a list's latest signing; a list dated
/// further ahead (by a clock running fast) is followed by one dated a second after it.
const MOST_WAIT: time::Duration = time::Duration::seconds(3);

/// The first whole second after `latest`: waited for, so a list is never dated ahead of the
/// signer's clock (a verifier would find it not yet valid), unless `latest` itself is ahead.
fn second_after(latest: Timestamp) -> Timestamp {
    let next = latest.0 + time::Duration::SECOND;
    let wait = next - time::OffsetDateTime::now_utc();
    if wait > MOST_WAIT {
        return Timestamp(next);
    }
    if wait.is_positive() {
        std::thread::sleep(wait.unsigned_abs());
    }
    Timestamp::whole_seconds(time::OffsetDateTime::now_utc()).max(Timestamp(next))
}

/// Is `e` the ledger's refusal of a signed list whose bits changed meanwhile?
pub fn changed_meanwhile(e: &anyhow::Error) -> bool {
    changed_meanwhile_text(&e.to_string())
}

/// [`changed_meanwhile`] for the ledger's reason as text.
pub fn changed_meanwhile_text(reason: &str) -> bool {
    reason.contains("body.proof_value: not key")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list that returns, within one second, to bits it had is signed anew, dated after the
    /// list's latest signing: never the event already on the log (which the ledger would take as
    /// appended, leaving the list it serves stale).
    #[test]
    fn a_list_is_dated_after_its_latest_signing() {
        let key = SecretKey::generate().unwrap();
        let at = Timestamp::whole_seconds(time::macros::datetime!(2026-12-03 20:00:00 UTC));
        let signing = Signing { base: "https://ledger.example", origin: "ledger.example", at };
        let clear = Bitstring::new(MIN_ENTRIES);
        let first = signing.event(&key, Purpose::Suspension, 0, &clear, None).unwrap();
        assert_eq!(first.event.created_at, at);
        // Set, then clear again, all within the same second.
        let again = signing.event(&key, Purpose::Suspension, 0, &clear, Some(at)).unwrap();
        assert_ne!(again.id(), first.id(), "the same bits at the same second: the same event");
        assert!(again.event.created_at > at, "dated after the latest signing");
        assert!(again.event.created_at.0 <= time::OffsetDateTime::now_utc(), "never ahead of the clock");
        // A list signed in an earlier second is no reason to date later.
        let later = Signing { at: Timestamp(at.0 + time::Duration::minutes(1)), ..signing };
        let next = later.event(&key, Purpose::Suspension, 0, &clear, Some(at)).unwrap();
        assert_eq!(next.event.created_at, later.at);
    }
}
