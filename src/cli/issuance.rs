//! Signing a credential event for the ledger in reach, one attempt: standard form 2 (the issuer's
//! registered name, a random index of the key's status list) where a ledger answers, with the
//! key's lists signed for the same all-or-none group when none is current at its public URL. Used
//! by `issue` and by the issuer agent; a refusal that [`sign_again`] names is retried by signing
//! anew.

use anyhow::{Result, anyhow};
use credledger::event::Timestamp;
use credledger::{Event, Payload, SecretKey, SignedEvent};
use time::OffsetDateTime;

use crate::cli::lists::{self, Signing};
use crate::cli::target::Target;

/// How many random status indexes an issuing command tries before it gives up (each refused
/// one was taken by another credential in the meantime); also how many times a command signs its
/// status lists again when they changed meanwhile.
pub const TRIES: usize = 8;

/// The credential event of `payload` by `key` at `now`, then the status list events to append
/// with it (none when `emit`: an emitted event's lists are signed where it is appended).
pub fn sign(
    target: &Target,
    key: &SecretKey,
    payload: Payload,
    emit: bool,
    now: OffsetDateTime,
) -> Result<Vec<SignedEvent>> {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| anyhow!("no randomness for a status index: {e}"))?;
    let form = target.standard_form(key.did(), u32::from_le_bytes(random))?;
    let lists = match (&form, payload.ledger()) {
        (Some(form), Some(origin)) if !emit => {
            let signing = Signing { base: &form.status_base, origin, at: Timestamp::whole_seconds(now) };
            signing.for_issuance(target, key, form.status_list)?
        }
        _ => Vec::new(),
    };
    let event = sign_event(key, None, payload.with_standard_form(form), now)?;
    Ok([vec![event], lists].concat())
}

/// Signs an event by `key` (and `cosigner`, for a key link's new key) at `now`; a credential
/// gets its Open Badges 3.0 proof first.
pub fn sign_event(
    key: &SecretKey,
    cosigner: Option<&SecretKey>,
    payload: Payload,
    now: OffsetDateTime,
) -> Result<SignedEvent> {
    let event = Event::new(key.did().clone(), Timestamp::whole_seconds(now), payload);
    let event = credledger::vc::attach_proof(event, key).map_err(|e| anyhow!("signing the credential: {e}"))?;
    Ok(event.sign(key, cosigner)?)
}

/// Whether the ledger's refusal was of the moment: the status index was taken, or a list changed
/// meanwhile. Signing again may pass.
pub fn sign_again(reason: &str) -> bool {
    reason.contains("body.vc.status_index:") || lists::changed_meanwhile_text(reason)
}
