//! The CLRs the operator has signed, kept per learner and log position: a learner's CLR changes
//! only when the log grows, so reading it again costs no signature. Bounded: emptied when full.

use std::collections::HashMap;
use std::sync::Mutex;

use actix_web::web::Bytes;

use crate::id::{Did, Seq};

/// How many learners' CLRs are kept before the cache starts over.
const CAPACITY: usize = 1024;

/// Signed CLRs (their JSON bytes) by learner, each with the log length it was signed at.
#[derive(Debug, Default)]
pub(crate) struct ClrCache {
    signed: Mutex<HashMap<Did, (Seq, Bytes)>>,
}

impl ClrCache {
    /// The learner's CLR at log length `position`: the one kept, or `sign`'s (then kept).
    pub fn get_or_sign<E>(
        &self,
        learner: &Did,
        position: Seq,
        sign: impl FnOnce() -> Result<Bytes, E>,
    ) -> Result<Bytes, E> {
        let kept = self.lock().get(learner).filter(|(at, _)| *at == position).map(|(_, clr)| clr.clone());
        if let Some(clr) = kept {
            return Ok(clr);
        }
        let clr = sign()?;
        let mut signed = self.lock();
        if signed.len() >= CAPACITY && !signed.contains_key(learner) {
            signed.clear();
        }
        signed.insert(learner.clone(), (position, clr.clone()));
        Ok(clr)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Did, (Seq, Bytes)>> {
        self.signed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn learner(n: u16) -> Did {
        let mut seed = [7u8; 32];
        seed[..2].copy_from_slice(&n.to_be_bytes());
        crate::keys::SecretKey::from_seed(&seed).did().clone()
    }

    #[test]
    fn signs_once_per_learner_and_position_and_stays_bounded() {
        let cache = ClrCache::default();
        let mut signatures = 0;
        let mut sign = |text: &'static str| {
            signatures += 1;
            Ok::<_, ()>(Bytes::from_static(text.as_bytes()))
        };
        assert_eq!(cache.get_or_sign(&learner(0), 5, || sign("a")), Ok(Bytes::from_static(b"a")));
        assert_eq!(cache.get_or_sign(&learner(0), 5, || sign("b")), Ok(Bytes::from_static(b"a")));
        assert_eq!(cache.get_or_sign(&learner(0), 6, || sign("c")), Ok(Bytes::from_static(b"c")));
        assert_eq!(signatures, 2);
        for n in 1..=CAPACITY as u16 {
            let _ = cache.get_or_sign(&learner(n), 1, || Ok::<_, ()>(Bytes::new()));
        }
        assert!(cache.lock().len() <= CAPACITY);
    }
}
