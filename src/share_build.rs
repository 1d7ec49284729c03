//! Building a profile bundle, on the read side: the chosen credentials' records and every record
//! a verifier needs to replay them, with inclusion proofs against one checkpoint, and the
//! operator's signed status statement, all read from a [`Ledger`] that holds the operator key.
//! The bundle's format and its offline verification are [`crate::bundle`], which reads no ledger.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::bundle::{
    BindingError, Bundle, Entry, ShareRequest, StatusLine, StatusStatement, VERSION, VERSION_SEVERAL_DIDS,
    check_holders,
};
use crate::event::Timestamp;
use crate::id::{Did, EventId, Seq};
use crate::keys::SecretKey;
use crate::ledger::{AppendError, Ledger, LedgerError, ProveError};
use crate::projection::CredentialState;
use crate::store::{Store, StoreError};

/// Why a bundle could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShareError {
    #[error("the ledger has no operator key here, so it cannot sign the status statement")]
    NoOperatorKey,
    #[error("the log is empty")]
    EmptyLog,
    #[error("no credential {0} on this ledger")]
    UnknownCredential(EventId),
    #[error("credential {0} was not issued to this learner")]
    NotTheLearners(EventId),
    #[error("{0} has no active credentials to share")]
    NothingToShare(Did),
    #[error("{0} holds none of the chosen credentials: leave its key out, so the bundle does not tie it to the others")]
    HoldsNoneChosen(Did),
    #[error("holders: {0}")]
    Holders(String),
    #[error("key {from} moved to {to}: share with the current key")]
    KeyMoved { from: Did, to: Did },
    #[error(transparent)]
    Binding(#[from] BindingError),
    #[error(transparent)]
    Append(#[from] AppendError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error(transparent)]
    Prove(#[from] ProveError),
}

/// Builds and signs the learner's bundle from a ledger that holds the operator key (for a bundle of
/// several dids, [`build_unsigned`], then [`Bundle::signed`] by each key).
pub fn build<S: Store>(
    ledger: &mut Ledger<S>,
    learner: &SecretKey,
    request: &ShareRequest,
    now: OffsetDateTime,
) -> Result<Bundle, ShareError> {
    Ok(build_unsigned(ledger, learner.did(), request, now)?.signed(learner))
}

/// Builds the learner's bundle without the learner's signature, for the learner to sign where
/// their key is (`credledger --server URL share`).
pub fn build_unsigned<S: Store>(
    ledger: &mut Ledger<S>,
    learner: &Did,
    request: &ShareRequest,
    now: OffsetDateTime,
) -> Result<Bundle, ShareError> {
    let holders = request.holders.clone();
    let request = ShareRequest::new(request.only.clone(), request.audience.clone(), request.nonce.clone())?;
    check_holders(learner, &holders).map_err(ShareError::Holders)?;
    let (size, checkpoint) = ledger.publish_checkpoint()?;
    let state = ledger.state();
    let dids: Vec<&Did> = std::iter::once(learner).chain(&holders).collect();
    // Each did's credentials (a did is a key no link moved away from, so no credential is twice).
    let mut owned = Vec::with_capacity(dids.len());
    for did in &dids {
        if let Some(moved) = state.profiles.moved(did) {
            return Err(ShareError::KeyMoved { from: (*did).clone(), to: state.profiles.current(&moved.to) });
        }
        owned.push(state.profiles.learner(did).map(|e| e.credentials.clone()).unwrap_or_default());
    }
    let active = |id: &EventId| state.status.credential(id).is_some_and(|s| s.state == CredentialState::Active);
    let chosen: Vec<EventId> = match &request.only {
        Some(ids) => {
            for id in ids {
                if !owned.iter().flatten().any(|c| &c.id == id) {
                    return Err(if state.status.credential(id).is_some() {
                        ShareError::NotTheLearners(*id)
                    } else {
                        ShareError::UnknownCredential(*id)
                    });
                }
            }
            ids.clone()
        }
        None => owned.iter().flatten().map(|c| c.id).filter(active).collect(),
    };
    if chosen.is_empty() {
        return Err(ShareError::NothingToShare(learner.clone()));
    }
    // A did that presents nothing is left out, not proven: proving it would only link it.
    if !holders.is_empty() {
        for (did, credentials) in dids.iter().zip(&owned) {
            if !credentials.iter().any(|c| chosen.contains(&c.id)) {
                return Err(match request.only {
                    Some(_) => ShareError::HoldsNoneChosen((*did).clone()),
                    None => ShareError::NothingToShare((*did).clone()),
                });
            }
        }
    }
    let seqs = supporting_seqs(ledger, &chosen)?;
    let mut entries = Vec::with_capacity(seqs.len());
    for seq in seqs {
        let record = ledger
            .records(seq, 1)?
            .pop()
            .ok_or(LedgerError::Store(StoreError::Corrupt(format!("record {seq} is missing"))))?;
        entries.push(Entry { seq, record: record.to_value(), inclusion_proof: ledger.inclusion_proof(seq, size)? });
    }
    let status = status_statement(ledger, learner, &holders, &chosen, now)?;
    Ok(Bundle {
        v: if holders.is_empty() { VERSION } else { VERSION_SEVERAL_DIDS },
        learner: learner.clone(),
        holders,
        audience: request.audience.clone(),
        nonce: request.nonce.clone(),
        created_at: Timestamp::whole_seconds(now),
        checkpoint,
        entries,
        status,
        learner_sig: String::new(),
        holder_sigs: BTreeMap::new(),
    })
}

/// The seqs a verifier needs to replay the chosen credentials through the rules and projections:
/// the credentials, every event that changed their status, the genesis, and for the issuer of every
/// key that signed any of these, every record that decides its keys' void windows (its
/// registration and suspension, every key addition, revocation and declaration of compromise;
/// their signers are its own keys or the operator); plus apprenticeship starts and learner key
/// links.
fn supporting_seqs<S: Store>(ledger: &Ledger<S>, chosen: &[EventId]) -> Result<BTreeSet<Seq>, ShareError> {
    let state = ledger.state();
    let mut seqs = BTreeSet::new();
    let mut pending: Vec<Seq> = vec![0];
    for id in chosen {
        let status = state.status.credential(id).ok_or(ShareError::UnknownCredential(*id))?;
        pending.push(status.issued_seq);
        pending.extend(status.changes.iter().map(|c| c.seq));
    }
    let mut issuers = BTreeSet::new();
    while let Some(seq) = pending.pop() {
        if !seqs.insert(seq) {
            continue;
        }
        let Some(record) = ledger.records(seq, 1)?.pop() else {
            continue;
        };
        let event = &record.event.event;
        // The author's authority at this seq, and the void windows of its issuer's keys.
        if let Some(issuer) = state.registry.issuer_of_key(&event.author) {
            if issuers.insert(issuer.did.as_str().to_owned()) {
                pending.extend(issuer.record_seqs());
            }
        }
        // What the event refers to.
        if let crate::event::Payload::ApprenticeshipCompleted(c) = &event.payload {
            if let Some(started) = c.apprenticeship.and_then(|id| ledger.record_by_id(&id).ok().flatten()) {
                pending.push(started.seq);
            }
        }
        let learner = match &event.payload {
            crate::event::Payload::ApprenticeshipStarted(a) => Some(&a.learner),
            payload => payload.credential().map(|c| c.learner),
        };
        let mut did = learner.cloned();
        while let Some(moved) = did.as_ref().and_then(|d| state.profiles.moved(d)) {
            pending.push(moved.seq);
            did = Some(moved.to.clone());
        }
    }
    Ok(seqs)
}

/// The operator's signed statement of these credentials' status at the current log size, and
/// of the key `learner` holds them under now (`learner`, or the key it moved to), and of the
/// current key of each of the learner's other dids `holders` (a version 2 statement).
pub fn status_statement<S: Store>(
    ledger: &Ledger<S>,
    learner: &Did,
    holders: &[Did],
    credentials: &[EventId],
    now: OffsetDateTime,
) -> Result<StatusStatement, ShareError> {
    let signer = ledger.operator_key().ok_or(ShareError::NoOperatorKey)?;
    let genesis = ledger.state().registry.genesis().ok_or(ShareError::EmptyLog)?;
    let lines = credentials
        .iter()
        .map(|id| {
            let status = ledger.state().status.credential(id).ok_or(ShareError::UnknownCredential(*id))?;
            Ok(StatusLine::of(&status))
        })
        .collect::<Result<_, ShareError>>()?;
    let statement = StatusStatement {
        v: if holders.is_empty() { VERSION } else { VERSION_SEVERAL_DIDS },
        origin: genesis.origin.clone(),
        size: ledger.len(),
        issued_at: Timestamp::whole_seconds(now),
        holder: ledger.state().profiles.current(learner),
        holders: holders.iter().map(|d| ledger.state().profiles.current(d)).collect(),
        credentials: lines,
        sig: String::new(),
    };
    Ok(statement.signed(signer))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bundle::*;
    use crate::canonical;
    use crate::event::Skill;
    use serde_json::Value;
    use time::Duration;

    /// Bundles across several of a learner's dids, on a small log: one college, a course issued
    /// to each of the learner's dids `FIRST` and `SECOND`, one to a stranger, and a did `THIRD`
    /// the learner holds nothing under.
    mod several_dids {
        use super::*;
        use crate::event::{CourseCompleted, Event, Genesis, IssuerCategory, IssuerRegistered, Payload};
        use crate::{Ledger, MemoryStore};
        use time::macros::datetime;

        const NOW: OffsetDateTime = datetime!(2026-09-01 12:00 UTC);
        const ORIGIN: &str = "unlink.example.edu";
        const OPERATOR: u8 = 0;
        const COLLEGE: u8 = 1;
        const FIRST: u8 = 10;
        const SECOND: u8 = 11;
        const THIRD: u8 = 12;
        const STRANGER: u8 = 20;

        fn key(n: u8) -> SecretKey {
            let mut seed = [0x5e; 32];
            seed[0] = n;
            SecretKey::from_seed(&seed)
        }

        fn did(n: u8) -> Did {
            key(n).did().clone()
        }

        struct Log {
            ledger: Ledger<MemoryStore>,
            tick: i64,
            first: EventId,
            second: EventId,
        }

        impl Log {
            fn new() -> Log {
                let mut ledger = Ledger::open(MemoryStore::new()).expect("open a memory ledger");
                ledger.sign_checkpoints_with(key(OPERATOR)).expect("the operator signs checkpoints");
                let mut log =
                    Log { ledger, tick: 0, first: EventId::of_canonical(b"0"), second: EventId::of_canonical(b"0") };
                log.append(OPERATOR, Payload::Genesis(Genesis { origin: ORIGIN.into(), operator: did(OPERATOR) }));
                log.append(
                    OPERATOR,
                    Payload::IssuerRegistered(IssuerRegistered {
                        issuer: did(COLLEGE),
                        name: "Lakeside Community College".into(),
                        category: IssuerCategory::College,
                        ledger: None,
                    }),
                );
                log.first = log.course(FIRST);
                log.second = log.course(SECOND);
                log.course(STRANGER);
                log
            }

            fn append(&mut self, by: u8, payload: Payload) -> EventId {
                self.tick += 1;
                let at = Timestamp(NOW - Duration::hours(1) + Duration::seconds(self.tick));
                let event = Event::new(did(by), at, payload.for_ledger(ORIGIN)).sign(&key(by), None).expect("sign");
                let appended = self.ledger.append_values(vec![event.value().clone()], NOW, true).pop();
                appended.expect("one result").expect("the ledger accepts the event").id
            }

            fn course(&mut self, learner: u8) -> EventId {
                let n = self.tick;
                self.append(
                    COLLEGE,
                    Payload::CourseCompleted(CourseCompleted {
                        credential_uuid: format!("0b5e7a52-3c1d-4f7e-8a90-{n:012x}"),
                        learner: did(learner),
                        title: "Welding Fundamentals".into(),
                        code: "WLD 100".into(),
                        skills: vec![Skill { id: "51-4121.00".into(), label: None, level: None }],
                        credits: 4.0,
                        completed_on: "2026-05-01".parse().expect("a date"),
                        ledger: None,
                        vc_proof: None,
                        vc: None,
                    }),
                )
            }

            /// The unsigned bundle of `learner`'s credentials and `holders`'.
            fn share(&mut self, learner: u8, holders: &[u8], only: Option<Vec<EventId>>) -> Result<Bundle, ShareError> {
                let request = ShareRequest { only, ..ShareRequest::default() }
                    .with_holders(holders.iter().map(|n| did(*n)).collect());
                build_unsigned(&mut self.ledger, &did(learner), &request, NOW)
            }

            /// FIRST's and SECOND's credentials, signed by both keys.
            fn both(&mut self) -> Bundle {
                let bundle = self.share(FIRST, &[SECOND], None).expect("share");
                bundle.signed(&key(FIRST)).signed(&key(SECOND))
            }
        }

        fn verify(bundle: &Bundle) -> Report {
            let bytes = serde_json::to_vec(bundle).expect("JSON");
            crate::bundle::verify(&bytes, &Trust::operator(did(OPERATOR)), &VerifyOptions::default(), NOW)
        }

        /// The one check that failed, the others all passed (or could not run for lack of grounds).
        fn only_failure(report: &Report, name: &str) -> String {
            assert_eq!(report.verdict, "INVALID");
            let failed: Vec<&Check> = report.checks.iter().filter(|c| c.ran && !c.ok).collect();
            assert_eq!(failed.iter().map(|c| c.name).collect::<Vec<_>>(), [name], "{:#?}", report.checks);
            failed[0].detail.clone()
        }

        /// The payload every key signs, of a bundle as it is.
        fn payload(bundle: &Bundle) -> Vec<u8> {
            signed_payload(&serde_json::to_value(bundle).expect("JSON")).expect("JSON")
        }

        #[test]
        fn one_bundle_presents_credentials_of_two_dids_each_proven_by_its_signature() {
            let mut log = Log::new();
            let bundle = log.both();
            assert_eq!((bundle.v, &bundle.learner, &bundle.holders[..]), (2, &did(FIRST), &[did(SECOND)][..]));
            assert_eq!(bundle.holder_sigs.keys().collect::<Vec<_>>(), [did(SECOND).as_str()]);
            assert_eq!(
                (bundle.status.v, &bundle.status.holder, &bundle.status.holders[..]),
                (2, &did(FIRST), &[did(SECOND)][..])
            );
            let stated: Vec<EventId> = bundle.status.credentials.iter().map(|l| l.credential).collect();
            assert_eq!(stated, [log.first, log.second]);

            let report = verify(&bundle);
            assert!(report.is_valid(), "{:#?}", report.checks);
            assert_eq!(report.holders, [did(SECOND)]);
            assert_eq!(report.credentials.iter().map(|c| c.id).collect::<Vec<_>>(), [log.first, log.second]);
            let check = |name| &report.checks.iter().find(|c| c.name == name).expect("listed").detail;
            assert!(check("learner.signature").contains("1 other dids"), "{}", check("learner.signature"));
            assert!(check("learner.holder").contains("2 dids"), "{}", check("learner.holder"));
            // The keys sign the same payload, in any order.
            let other_order =
                log.share(FIRST, &[SECOND], None).expect("share").signed(&key(SECOND)).signed(&key(FIRST));
            assert_eq!(other_order.holder_sigs, bundle.holder_sigs);
            assert_eq!(other_order.learner_sig, bundle.learner_sig);
        }

        #[test]
        fn a_bundle_of_one_did_stays_version_1_as_before() {
            let mut log = Log::new();
            let bundle = log.share(FIRST, &[], None).expect("share").signed(&key(FIRST));
            assert_eq!((bundle.v, bundle.status.v), (VERSION, VERSION));
            let value = serde_json::to_value(&bundle).expect("JSON");
            for absent in [&value["holders"], &value["holder_sigs"], &value["status"]["holders"]] {
                assert_eq!(absent, &Value::Null, "{value}");
            }
            // The learner's signature is over the bundle without `learner_sig`, as it always was.
            let message = canonical::to_vec_without(&value, "learner_sig").expect("JSON");
            assert!(crate::keys::verify_b64(&did(FIRST), &bundle.learner_sig, &message).is_ok());
            let report = verify(&bundle);
            assert!(report.is_valid(), "{:#?}", report.checks);
            assert_eq!(serde_json::to_value(&report).expect("JSON").get("holders"), None);
        }

        #[test]
        fn a_dropped_holder_signature_fails_the_signature_check() {
            let mut log = Log::new();
            let mut bundle = log.both();
            bundle.holder_sigs.clear();
            let detail = only_failure(&verify(&bundle), "learner.signature");
            assert!(detail.contains("no signature by") && detail.contains(did(SECOND).as_str()), "{detail}");
        }

        #[test]
        fn a_signature_by_the_wrong_key_fails_the_signature_check() {
            let mut log = Log::new();
            let bundle = log.both();
            // A holder's signature made by another key.
            let mut wrong = bundle.clone();
            wrong.holder_sigs.insert(did(SECOND).to_string(), key(STRANGER).sign_b64(&payload(&bundle)));
            let detail = only_failure(&verify(&wrong), "learner.signature");
            assert!(detail.contains(&format!("not {}'s", did(SECOND))), "{detail}");
            // The learner's, made by the holder's key.
            let mut wrong = bundle.clone();
            wrong.learner_sig = key(SECOND).sign_b64(&payload(&bundle));
            let detail = only_failure(&verify(&wrong), "learner.signature");
            assert!(detail.contains("learner_sig") && detail.contains(did(FIRST).as_str()), "{detail}");
            // A signature under a did the bundle does not name.
            let mut stranger = bundle.clone();
            stranger.holder_sigs.insert(did(STRANGER).to_string(), key(STRANGER).sign_b64(&payload(&bundle)));
            let detail = only_failure(&verify(&stranger), "learner.signature");
            assert!(detail.contains(did(STRANGER).as_str()) && detail.contains("not one of"), "{detail}");
            // Or under a name that is no did at all, quoted back cut short.
            let mut garbage = bundle.clone();
            garbage.holder_sigs.insert("x".repeat(5000), String::new());
            let detail = only_failure(&verify(&garbage), "learner.signature");
            assert!(detail.contains("not one of") && detail.len() < 200, "{detail}");
            // A signature over another payload (the holder signed before the audience was set).
            let mut rebound = bundle;
            rebound.audience = Some("acme-hr".into());
            let rebound = rebound.signed(&key(FIRST));
            let detail = only_failure(&verify(&rebound), "learner.signature");
            assert!(detail.contains(did(SECOND).as_str()), "{detail}");
        }

        #[test]
        fn a_credential_moved_under_an_unproven_did_fails_the_holder_check() {
            let mut log = Log::new();
            let bundle = log.both();
            // The forger keeps SECOND's credential but proves THIRD (a key they hold) instead.
            let mut forged = bundle.clone();
            forged.holders = vec![did(THIRD)];
            forged.holder_sigs.clear();
            let forged = forged.signed(&key(FIRST)).signed(&key(THIRD));
            let report = verify(&forged);
            let detail = only_failure(&report, "learner.holder");
            assert!(
                detail.contains(&log.second.to_string())
                    && detail.contains(did(SECOND).as_str())
                    && detail.contains("2 dids"),
                "{detail}"
            );
            // Holders that match the credentials, and a statement naming others: the operator's
            // statement is signed, so the holders it names are what the log said.
            let mut relisted = bundle.clone();
            relisted.status.holders = vec![did(THIRD)];
            let relisted = relisted.status.clone().signed(&key(OPERATOR));
            let mut forged = bundle;
            forged.status = relisted;
            forged.holder_sigs.clear();
            let forged = forged.signed(&key(FIRST)).signed(&key(SECOND));
            let detail = only_failure(&verify(&forged), "learner.holder");
            assert!(detail.contains("status statement") && detail.contains(did(THIRD).as_str()), "{detail}");
        }

        #[test]
        fn a_version_1_bundle_cannot_present_another_dids_credential() {
            let mut log = Log::new();
            let bundle = log.both();
            // Dropping the holders to pass as version 1 leaves a version 2 statement.
            let mut v1 = bundle.clone();
            (v1.v, v1.holders, v1.holder_sigs) = (VERSION, Vec::new(), BTreeMap::new());
            let detail = only_failure(&verify(&v1.signed(&key(FIRST))), "bundle.format");
            assert!(detail.starts_with("status.holders: only in a version 2"), "{detail}");
            // A version 1 bundle with the members of version 2.
            let mut value =
                serde_json::to_value(log.share(FIRST, &[], None).expect("share").signed(&key(FIRST))).expect("JSON");
            value["holder_sigs"] = serde_json::json!({});
            let bytes = serde_json::to_vec(&value).expect("JSON");
            let report = crate::bundle::verify(&bytes, &Trust::operator(did(OPERATOR)), &VerifyOptions::default(), NOW);
            assert!(only_failure(&report, "bundle.format").starts_with("holder_sigs: only a version 2"));
        }

        #[test]
        fn a_version_2_bundle_names_each_other_did_once() {
            let mut log = Log::new();
            let bundle = log.both();
            type Edit = (&'static str, fn(&mut Bundle));
            let edits: [Edit; 3] = [
                ("names none", |b| b.holders.clear()),
                ("named twice", |b| b.holders.push(b.holders[0].clone())),
                ("named twice", |b| b.holders.push(b.learner.clone())),
            ];
            for (why, edit) in edits {
                let mut edited = bundle.clone();
                edit(&mut edited);
                let detail = only_failure(&verify(&edited), "bundle.format");
                assert!(detail.starts_with("holders: ") && detail.contains(why), "{why}: {detail}");
            }
            let mut older = bundle.clone();
            older.status.v = VERSION;
            let detail = only_failure(&verify(&older), "bundle.format");
            assert!(detail.starts_with("status.v: 1, but the bundle is version 2"), "{detail}");
            assert!(check_holders(&did(FIRST), &(100..115).map(did).collect::<Vec<_>>()).is_ok());
            let many = check_holders(&did(FIRST), &(100..116).map(did).collect::<Vec<_>>()).unwrap_err();
            assert!(many.contains("17 dids") && many.contains("16"), "{many}");
        }

        #[test]
        fn share_refuses_a_did_that_would_be_proven_for_nothing() {
            let mut log = Log::new();
            // Chosen credentials all under FIRST: SECOND would only be linked.
            let refused = log.share(FIRST, &[SECOND], Some(vec![log.first])).unwrap_err();
            assert!(matches!(&refused, ShareError::HoldsNoneChosen(d) if d == &did(SECOND)), "{refused}");
            assert!(refused.to_string().contains("leave its key out"), "{refused}");
            // And the learner's own did likewise.
            let refused = log.share(FIRST, &[SECOND], Some(vec![log.second])).unwrap_err();
            assert!(matches!(&refused, ShareError::HoldsNoneChosen(d) if d == &did(FIRST)), "{refused}");
            // A did that holds nothing at all.
            let refused = log.share(FIRST, &[SECOND, THIRD], None).unwrap_err();
            assert!(matches!(&refused, ShareError::NothingToShare(d) if d == &did(THIRD)), "{refused}");
            // A did named twice, or the learner's among the holders.
            for holders in [&[SECOND, SECOND][..], &[FIRST]] {
                let refused = log.share(FIRST, holders, None).unwrap_err();
                assert!(matches!(&refused, ShareError::Holders(why) if why.contains("named twice")), "{refused}");
            }
            // Someone else's credential is not the learner's, whichever keys they give.
            let stranger = log.ledger.state().profiles.learner(&did(STRANGER)).expect("a learner").credentials[0].id;
            let refused = log.share(FIRST, &[SECOND], Some(vec![log.first, log.second, stranger])).unwrap_err();
            assert!(matches!(refused, ShareError::NotTheLearners(id) if id == stranger));
        }
    }
}
