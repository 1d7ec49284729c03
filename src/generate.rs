//! Realistic signed events in bulk, for benchmarks and load tests (`credledger gen-events`):
//! a registry of institutions (registered by the ledger's operator), then credentials of every
//! kind to a population of learners, with revocations and key rotations mixed in. Deterministic:
//! the same operator, seed and start time give the same events. Events come in chunks, signed in
//! parallel, so a million of them never sit in memory at once. They are dated a millisecond apart
//! from the start: a ledger refuses events dated ahead of its clock (`rules::CLOCK_SKEW`), so
//! whoever appends many at once starts them [`span`] back.

use rayon::prelude::*;
use time::{Duration, OffsetDateTime};

use crate::event::{
    ApprenticeshipCompleted, CertificateAwarded, CourseCompleted, Event, EventError, Genesis, IssuerCategory,
    IssuerRegistered, KeyAdded, KeyRevoked, Payload, SignedEvent, Skill, StatusChange, Timestamp,
};
use crate::id::{Did, EventId};
use crate::keys::SecretKey;

/// How many institutions issue.
const ISSUERS: usize = 12;
/// One event in this many is a revocation (of an earlier credential by its issuer).
const REVOKE_EVERY: u64 = 50;
/// One event in this many starts a key rotation (two events: add, then revoke the old key).
const ROTATE_EVERY: u64 = 2000;

const SKILLS: [(&str, &str); 12] = [
    ("15-1252.00", "Software Developers"),
    ("15-1232.00", "Computer User Support Specialists"),
    ("15-2051.00", "Data Scientists"),
    ("29-2061.00", "Licensed Practical and Licensed Vocational Nurses"),
    ("31-1131.00", "Nursing Assistants"),
    ("47-2111.00", "Electricians"),
    ("51-4121.00", "Welders, Cutters, Solderers, and Brazers"),
    ("51-4011.00", "Computer Numerically Controlled Tool Operators"),
    ("49-9021.00", "Heating, Air Conditioning, and Refrigeration Mechanics and Installers"),
    ("43-3031.00", "Bookkeeping, Accounting, and Auditing Clerks"),
    ("KS1200364C9C1LK3V5Q1", "Python (Programming Language)"),
    ("KS440W865GC4VRBW6LJP", "SQL (Programming Language)"),
];

/// What to sign next: the author (an index into the generator's keys, or the operator) and the
/// payload.
enum Plan {
    Operator(Payload),
    Issuer(usize, Payload),
    Rotation { issuer: usize, new: SecretKey },
}

/// A deterministic stream of signed events for one ledger.
#[derive(Debug)]
pub struct Generator {
    operator: SecretKey,
    origin: String,
    seed: [u8; 32],
    start: OffsetDateTime,
    /// Each issuer's identity and its current signing key.
    issuers: Vec<(Did, SecretKey)>,
    learners: Vec<Did>,
    /// Recent credentials by issuer, that a later revocation may name.
    revocable: Vec<Vec<EventId>>,
    produced: u64,
    rotations: u64,
    /// The next status list place of each signing key (list * LIST_SIZE + index).
    status_places: std::collections::BTreeMap<Did, u32>,
}

impl Generator {
    /// Events for the ledger whose operator is `operator`, with `learners` learners; event `n`
    /// is dated `start + n` milliseconds, to the whole second.
    pub fn new(operator: SecretKey, origin: &str, seed: u64, start: OffsetDateTime, learners: usize) -> Self {
        let seed = *blake3::hash(&seed.to_le_bytes()).as_bytes();
        let key = |label: String| SecretKey::from_seed(&keyed(&seed, &label));
        let issuers: Vec<_> = (0..ISSUERS).map(|i| key(format!("issuer-{i}"))).map(|k| (k.did().clone(), k)).collect();
        let learners = (0..learners.max(1)).map(|i| learner_key(&seed, i).did().clone()).collect();
        Generator {
            operator,
            origin: origin.to_owned(),
            seed,
            start,
            issuers,
            learners,
            revocable: vec![Vec::new(); ISSUERS],
            produced: 0,
            rotations: 0,
            status_places: Default::default(),
        }
    }

    /// The genesis event of the ledger these events are for (seq 0, before the first chunk),
    /// signed by the operator at the start time.
    pub fn genesis(&self) -> Result<SignedEvent, EventError> {
        let genesis = Genesis { origin: self.origin.clone(), operator: self.operator.did().clone() };
        Event::new(self.operator.did().clone(), Timestamp::whole_seconds(self.start), Payload::Genesis(genesis))
            .sign(&self.operator, None)
    }

    /// The learner who receives one credential in every twenty (for bundle benchmarks).
    pub fn featured_learner(&self) -> &Did {
        &self.learners[0]
    }

    /// The featured learner's key, so a benchmark can share as that learner.
    pub fn featured_learner_key(&self) -> SecretKey {
        learner_key(&self.seed, 0)
    }

    /// A number from the seed for the `n`th choice named `what`.
    fn pick(&self, what: &str, n: u64, modulus: usize) -> usize {
        let bytes = keyed(&self.seed, &format!("{what}-{n}"));
        (u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) % modulus as u64) as usize
    }

    /// The next `count` events (fewer only if `count` splits a key rotation's pair; never more).
    pub fn next_chunk(&mut self, count: u64) -> Result<Vec<SignedEvent>, EventError> {
        let mut plans = Vec::new();
        let end = self.produced + count;
        let mut n = self.produced;
        while n < end {
            let plan = if n < ISSUERS as u64 {
                let (did, _) = &self.issuers[n as usize];
                let category = [
                    IssuerCategory::College,
                    IssuerCategory::University,
                    IssuerCategory::Provider,
                    IssuerCategory::Employer,
                ][n as usize % 4];
                Plan::Operator(Payload::IssuerRegistered(IssuerRegistered {
                    issuer: did.clone(),
                    name: format!("Institution {n}"),
                    category,
                    ledger: Some(self.origin.clone()),
                }))
            } else if n % ROTATE_EVERY == 0 && n + 2 <= end {
                self.rotations += 1;
                let issuer = self.pick("rotate", n, ISSUERS);
                let new = SecretKey::from_seed(&keyed(&self.seed, &format!("rotation-{}", self.rotations)));
                Plan::Rotation { issuer, new }
            } else if n % REVOKE_EVERY == 0 && self.revocable.iter().any(|r| !r.is_empty()) {
                let mut issuer = self.pick("revoke", n, ISSUERS);
                while self.revocable[issuer].is_empty() {
                    issuer = (issuer + 1) % ISSUERS;
                }
                let which = self.pick("which", n, self.revocable[issuer].len());
                let credential = self.revocable[issuer].swap_remove(which);
                Plan::Issuer(
                    issuer,
                    Payload::CredentialRevoked(StatusChange {
                        credential,
                        reason: "issued in error".into(),
                        ledger: Some(self.origin.clone()),
                    }),
                )
            } else {
                let issuer = self.pick("issuer", n, ISSUERS);
                Plan::Issuer(issuer, self.credential(n))
            };
            n += if matches!(plan, Plan::Rotation { .. }) { 2 } else { 1 };
            plans.push(plan);
        }
        let start = self.produced;
        self.produced = n;
        // Sign in parallel; each plan's author and time are fixed above.
        let mut signed_plans = Vec::with_capacity(plans.len());
        let mut seq = start;
        for plan in plans {
            let at = Timestamp::whole_seconds(self.start + span(seq));
            match plan {
                Plan::Rotation { issuer, new } => {
                    let old = std::mem::replace(&mut self.issuers[issuer].1, new);
                    let identity = self.issuers[issuer].0.clone();
                    let new = &self.issuers[issuer].1;
                    let ledger = Some(self.origin.clone());
                    let added =
                        KeyAdded { issuer: Some(identity.clone()), key: new.did().clone(), ledger: ledger.clone() };
                    let revoked = KeyRevoked {
                        issuer: Some(identity),
                        key: old.did().clone(),
                        reason: "rotation".into(),
                        compromised_since: None,
                        ledger,
                    };
                    signed_plans.push((old, Payload::KeyAdded(added), at));
                    signed_plans.push((new.clone(), Payload::KeyRevoked(revoked), at));
                    seq += 2;
                }
                Plan::Operator(payload) => {
                    signed_plans.push((self.operator.clone(), payload, at));
                    seq += 1;
                }
                Plan::Issuer(issuer, payload) => {
                    let key = self.issuers[issuer].1.clone();
                    let payload = match payload.credential() {
                        Some(_) => {
                            let next = self.status_places.entry(key.did().clone()).or_insert(0);
                            let form = crate::event::StandardForm {
                                form: 2,
                                issuer_name: format!("Institution {issuer}"),
                                status_base: format!("https://{}", self.origin),
                                status_list: *next / crate::status_list::LIST_SIZE,
                                status_index: *next % crate::status_list::LIST_SIZE,
                            };
                            *next += 1;
                            payload.with_standard_form(Some(form))
                        }
                        None => payload,
                    };
                    signed_plans.push((key, payload, at));
                    seq += 1;
                }
            }
        }
        let events: Vec<SignedEvent> = signed_plans
            .into_par_iter()
            .map(|(key, payload, at)| {
                let event = crate::vc::attach_proof(Event::new(key.did().clone(), at, payload), &key)
                    .map_err(EventError::Encode)?;
                event.sign(&key, None)
            })
            .collect::<Result<_, _>>()?;
        for event in &events {
            if event.event.payload.credential().is_some() {
                let author = &event.event.author;
                if let Some(issuer) = self.issuers.iter().position(|(_, k)| k.did() == author) {
                    let list = &mut self.revocable[issuer];
                    if list.len() < 64 {
                        list.push(event.id());
                    }
                }
            }
        }
        Ok(events)
    }

    fn credential(&self, n: u64) -> Payload {
        let learner = if n % 20 == 0 {
            self.learners[0].clone()
        } else {
            self.learners[self.pick("learner", n, self.learners.len())].clone()
        };
        let uuid = {
            let mut raw = [0u8; 16];
            raw.copy_from_slice(&keyed(&self.seed, &format!("uuid-{n}"))[..16]);
            uuid::Builder::from_random_bytes(raw).into_uuid().to_string()
        };
        let skills: Vec<Skill> = (0..2)
            .map(|k| SKILLS[self.pick("skill", n * 2 + k, SKILLS.len())])
            .map(|(id, label)| Skill { id: id.into(), label: Some(label.into()), level: None })
            .collect();
        let ledger = Some(self.origin.clone());
        let completed_on = "2026-05-01".parse().expect("a date");
        match n % 3 {
            0 => Payload::CourseCompleted(CourseCompleted {
                credential_uuid: uuid,
                learner,
                title: format!("Course {}", n % 500),
                code: format!("C{}", n % 500),
                skills,
                credits: 3.0,
                completed_on,
                ledger,
                vc_proof: None,
                vc: None,
            }),
            1 => Payload::CertificateAwarded(CertificateAwarded {
                credential_uuid: uuid,
                learner,
                title: format!("Certificate {}", n % 200),
                skills,
                awarded_on: completed_on,
                valid_until: None,
                ledger,
                vc_proof: None,
                vc: None,
            }),
            _ => Payload::ApprenticeshipCompleted(ApprenticeshipCompleted {
                credential_uuid: uuid,
                learner,
                title: format!("Apprenticeship {}", n % 50),
                employer: format!("Employer {}", n % 40),
                hours: 2000,
                skills,
                completed_on,
                apprenticeship: None,
                ledger,
                vc_proof: None,
                vc: None,
            }),
        }
    }
}

/// How much later than the start the event after `events` events is dated.
pub fn span(events: u64) -> Duration {
    Duration::milliseconds(i64::try_from(events).unwrap_or(i64::MAX))
}

fn learner_key(seed: &[u8; 32], i: usize) -> SecretKey {
    SecretKey::from_seed(&keyed(seed, &format!("learner-{i}")))
}

fn keyed(seed: &[u8; 32], label: &str) -> [u8; 32] {
    let mut h = blake3::Hasher::new_keyed(seed);
    h.update(label.as_bytes());
    *h.finalize().as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Ledger, MemoryStore};

    #[test]
    fn generated_events_are_accepted_and_deterministic() {
        let operator = SecretKey::from_seed(&[1; 32]);
        let start = time::macros::datetime!(2026-05-01 00:00 UTC);
        let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
        let genesis = Event::new(
            operator.did().clone(),
            Timestamp::whole_seconds(start),
            Payload::Genesis(crate::event::Genesis { origin: "gen.example".into(), operator: operator.did().clone() }),
        );
        ledger.append(genesis.sign(&operator, None).unwrap().canonical(), start).unwrap();
        let mut generator = Generator::new(SecretKey::from_seed(&[1; 32]), "gen.example", 7, start, 50);
        let mut again = Generator::new(SecretKey::from_seed(&[1; 32]), "gen.example", 7, start, 50);
        let mut total = 0;
        for _ in 0..5 {
            let chunk = generator.next_chunk(900).unwrap();
            let same = again.next_chunk(900).unwrap();
            assert_eq!(
                chunk.iter().map(SignedEvent::id).collect::<Vec<_>>(),
                same.iter().map(SignedEvent::id).collect::<Vec<_>>()
            );
            total += chunk.len();
            let values = chunk.iter().map(|e| e.value().clone()).collect();
            for (i, r) in ledger.append_values(values, start, false).into_iter().enumerate() {
                assert!(r.is_ok(), "event {i}: {r:?}");
            }
        }
        assert_eq!(total, 4500);
        let kinds: std::collections::BTreeSet<_> =
            ledger.records(1, 5000).unwrap().iter().map(|r| r.event.event.payload.kind()).collect();
        for kind in [
            "issuer.registered",
            "credential.course_completed",
            "credential.revoked",
            "issuer.key_added",
            "issuer.key_revoked",
        ] {
            assert!(kinds.contains(kind), "{kind} missing: {kinds:?}");
        }
    }
}
