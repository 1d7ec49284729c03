//! Profile bundles end to end, at the library level: real ledgers (memory store, operator-signed
//! checkpoints, signed events), `share_build::build`, the JSON a learner hands over, and
//! `bundle::verify` as an employer runs it offline.
//!
//! * What must verify: a fresh bundle (every check ok), one bound to the verifier's audience and
//!   nonce, a chosen subset, credentials issued to a key the learner has since moved away from,
//!   credentials signed by a rotated-in issuer key (and by the old key before its revocation),
//!   an apprenticeship, a checkpoint that carries a witness's signature too.
//! * What must not, each with the check that catches it named and its detail naming the thing:
//!   any one character changed (a sweep over the whole serialized bundle, plus a property test),
//!   a forger who re-signs edited records, proofs, checkpoints or statements, missing records,
//!   revoked and suspended credentials, keys used after their revocation and issuers registered by
//!   someone other than the operator (in logs crafted by hand, since the ledger refuses them),
//!   another learner, another audience or nonce, another operator, proofs for another tree size,
//!   and a status statement older than the verifier accepts.
//! * Several dids of one learner (issue 16): a moved key and an unlinked wallet did in one bundle.
//! * Ignored, each marked `bug:` with what goes wrong: a reinstated credential, an apprenticeship
//!   completed after its learner moved keys (both refused by the verifier's own replay because
//!   `build` leaves a record out), and a credential signed inside its key's `compromised_since`
//!   window (accepted: nothing reads that field).

use std::collections::BTreeMap;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::LazyLock;

use credledger::bundle::{
    self, Bundle, Entry, Report, ShareRequest, StatusLine, StatusStatement, Trust, TrustedOperator, VerifyOptions,
};
use credledger::checkpoint::Checkpoint;
use credledger::demo;
use credledger::event::{
    ApprenticeshipCompleted, ApprenticeshipStarted, CourseCompleted, Date, Genesis, IssuerCategory, IssuerRegistered,
    KeyAdded, KeyLinked, KeyRevoked, Skill, StatusChange, Timestamp,
};
use credledger::id::Hash32;
use credledger::merkle::{self, MemoryTree};
use credledger::projection::CredentialState;
use credledger::rules::RuleError;
use credledger::share_build::{self, ShareError};
use credledger::{AppendError, Did, Event, EventId, Ledger, MemoryStore, Payload, Record, SecretKey, Seq, SignedEvent};
use proptest::prelude::*;
use serde_json::Value;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

// ---------------------------------------------------------------------------------------------
// Keys, clocks and the standard fixture.
// ---------------------------------------------------------------------------------------------

/// The ledger's clock for every append, and the time bundles are built and verified at.
const NOW: OffsetDateTime = datetime!(2026-09-01 12:00 UTC);
/// Authors sign events from here on, one second apart.
const CREATED: OffsetDateTime = datetime!(2026-08-01 09:00 UTC);
const ORIGIN: &str = "ledger.example.edu";

// Key numbers (see [`key`]).
const OPERATOR: u8 = 0;
const COLLEGE: u8 = 1;
const COLLEGE_2026: u8 = 2;
const UNIVERSITY: u8 = 3;
const SPONSOR: u8 = 4;
const ALICE: u8 = 10;
const BOB: u8 = 11;
const ALICE_NEW: u8 = 12;
/// A did Alice's wallet made for one claim, never linked to her other keys.
const ALICE_WALLET: u8 = 13;
const STRANGER: u8 = 20;
const OTHER_OPERATOR: u8 = 21;

/// A deterministic key per number.
fn key(n: u8) -> SecretKey {
    let mut seed = [0xb7; 32];
    seed[0] = n;
    SecretKey::from_seed(&seed)
}

fn did(n: u8) -> Did {
    key(n).did().clone()
}

const PYTHON: (&str, &str) = ("KS1200364C9C1LK3V5Q1", "Python (Programming Language)");
const SQL: (&str, &str) = ("KS440W865GC4VRBW6LJP", "SQL (Programming Language)");
const SOFTWARE_DEV: (&str, &str) = ("15-1252.00", "Software Developers");
const DATA_SCIENCE: (&str, &str) = ("15-2051.00", "Data Scientists");
const CNC: (&str, &str) = ("51-4011.00", "Computer Numerically Controlled Tool Operators");

fn skills(list: &[(&str, &str)]) -> Vec<Skill> {
    list.iter().map(|(id, label)| Skill { id: (*id).into(), label: Some((*label).into()), level: None }).collect()
}

fn date(text: &str) -> Date {
    text.parse().expect("a test date")
}

/// Where an event landed on the log.
#[derive(Clone, Copy, Debug)]
struct Issued {
    id: EventId,
    seq: Seq,
}

/// A memory ledger whose operator key signs a checkpoint with every append.
struct World {
    ledger: Ledger<MemoryStore>,
    tick: i64,
    uuids: u64,
    /// The ledger's clock for appends: [`NOW`] unless a test moves it on.
    clock: OffsetDateTime,
}

impl World {
    /// A ledger holding only its genesis.
    fn new() -> World {
        let mut ledger = Ledger::open(MemoryStore::new()).expect("open a memory ledger");
        ledger.sign_checkpoints_with(key(OPERATOR)).expect("the operator signs checkpoints");
        let mut world = World { ledger, tick: 0, uuids: 0, clock: NOW };
        world.append(OPERATOR, Payload::Genesis(Genesis { origin: ORIGIN.into(), operator: did(OPERATOR) }));
        world
    }

    /// The next author's clock reading.
    fn at(&mut self) -> Timestamp {
        self.tick += 1;
        Timestamp(CREATED + Duration::seconds(self.tick))
    }

    fn uuid(&mut self) -> String {
        self.uuids += 1;
        format!("6f1c2f4e-8a8b-4d55-9a43-{:012x}", self.uuids)
    }

    /// Signs `payload` with key `by` and appends it; the ledger must accept it.
    fn append(&mut self, by: u8, payload: Payload) -> Issued {
        let signer = key(by);
        let at = self.at();
        let event = Event::new(signer.did().clone(), at, payload.for_ledger(ORIGIN)).sign(&signer, None).expect("sign");
        self.append_value(event.value().clone())
    }

    fn append_value(&mut self, value: Value) -> Issued {
        let appended = self
            .ledger
            .append_values(vec![value], self.clock, true)
            .pop()
            .expect("one result")
            .expect("the ledger accepts the event");
        Issued { id: appended.id, seq: appended.seq }
    }

    fn register(&mut self, issuer: u8, name: &str, category: IssuerCategory) -> Issued {
        self.append(
            OPERATOR,
            Payload::IssuerRegistered(IssuerRegistered {
                issuer: did(issuer),
                name: name.into(),
                category,
                ledger: None,
            }),
        )
    }

    fn course(
        &mut self,
        issuer: u8,
        learner: u8,
        title: &str,
        code: &str,
        skill_list: &[(&str, &str)],
        credits: f64,
    ) -> Issued {
        let credential_uuid = self.uuid();
        self.append(
            issuer,
            Payload::CourseCompleted(CourseCompleted {
                credential_uuid,
                learner: did(learner),
                title: title.into(),
                code: code.into(),
                skills: skills(skill_list),
                credits,
                completed_on: date("2026-06-12"),
                ledger: None,
                vc_proof: None,
                vc: None,
            }),
        )
    }

    fn status_change(&mut self, issuer: u8, credential: EventId, change: &str) -> Issued {
        let body = StatusChange { credential, reason: format!("{change} for the test"), ledger: None };
        let payload = match change {
            "revoked" => Payload::CredentialRevoked(body),
            "suspended" => Payload::CredentialSuspended(body),
            "reinstated" => Payload::CredentialReinstated(body),
            other => unreachable!("no status change {other}"),
        };
        self.append(issuer, payload)
    }

    /// The learner moves from key `from` to key `to` (signed by both).
    fn link(&mut self, from: u8, to: u8) -> Issued {
        let at = self.at();
        let event = Event::new(
            did(from),
            at,
            Payload::KeyLinked(KeyLinked { from: did(from), to: did(to), to_sig: String::new(), ledger: None })
                .for_ledger(ORIGIN),
        )
        .sign(&key(from), Some(&key(to)))
        .expect("sign a key link");
        self.append_value(event.value().clone())
    }

    /// The learner's bundle, built at [`NOW`].
    fn share(&mut self, learner: u8, request: &ShareRequest) -> Bundle {
        self.try_share(learner, request).expect("share a bundle")
    }

    fn try_share(&mut self, learner: u8, request: &ShareRequest) -> Result<Bundle, ShareError> {
        share_build::build(&mut self.ledger, &key(learner), request, NOW)
    }
}

/// The standard world: a college and a university; Alice holds two college courses and one
/// university course, Bob one college course.
struct Fixture {
    world: World,
    python: Issued,
    sql: Issued,
    stats: Issued,
    bobs: Issued,
}

fn fixture() -> Fixture {
    let mut world = World::new();
    world.register(COLLEGE, "Lakeside Community College", IssuerCategory::College);
    world.register(UNIVERSITY, "Northfield State University", IssuerCategory::University);
    let python = world.course(COLLEGE, ALICE, "Intro to Python Programming", "CIS 121", &[SOFTWARE_DEV, PYTHON], 3.0);
    let sql = world.course(COLLEGE, ALICE, "Database Fundamentals", "CIS 140", &[SQL, DATA_SCIENCE], 3.0);
    let stats = world.course(UNIVERSITY, ALICE, "Applied Statistics", "STAT 2040", &[DATA_SCIENCE], 4.0);
    let bobs = world.course(COLLEGE, BOB, "Intro to Python Programming", "CIS 121", &[SOFTWARE_DEV, PYTHON], 3.0);
    Fixture { world, python, sql, stats, bobs }
}

fn only(ids: &[EventId]) -> ShareRequest {
    ShareRequest { only: Some(ids.to_vec()), ..ShareRequest::default() }
}

/// The demo's sample ledger, and its keys.
struct DemoWorld {
    ledger: Ledger<MemoryStore>,
    demo: demo::Demo,
}

impl DemoWorld {
    fn new() -> DemoWorld {
        let operator = key(OPERATOR);
        let demo = demo::build(&operator, ORIGIN, [7; 32], NOW).expect("demo events");
        let mut ledger = Ledger::open(MemoryStore::new()).expect("open a memory ledger");
        ledger.sign_checkpoints_with(operator).expect("the operator signs checkpoints");
        let values = demo.events.iter().map(|e| e.value().clone()).collect();
        for result in ledger.append_values(values, NOW, true) {
            result.expect("the ledger accepts every demo event");
        }
        DemoWorld { ledger, demo }
    }

    fn key(&self, name: &str) -> &SecretKey {
        &self.demo.keys.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no demo key {name}")).1
    }

    /// The id of the learner's credential with this title.
    fn credential(&self, learner: &str, title: &str) -> EventId {
        let learner = self.key(learner).did();
        self.ledger
            .state()
            .profiles
            .learner(learner)
            .expect("the learner has credentials")
            .credentials
            .iter()
            .find(|c| c.title == title)
            .unwrap_or_else(|| panic!("no credential `{title}`"))
            .id
    }

    fn share(&mut self, learner: &str, request: &ShareRequest) -> Bundle {
        let learner = self
            .demo
            .keys
            .iter()
            .find(|(n, _)| n == learner)
            .map(|(_, k)| k)
            .unwrap_or_else(|| panic!("no demo key {learner}"));
        share_build::build(&mut self.ledger, learner, request, NOW).expect("share a bundle")
    }
}

// ---------------------------------------------------------------------------------------------
// Bytes, verification and assertions.
// ---------------------------------------------------------------------------------------------

fn to_bytes(bundle: &Bundle) -> Vec<u8> {
    serde_json::to_vec(bundle).expect("a bundle is JSON")
}

fn trust() -> Trust {
    Trust::operator(did(OPERATOR))
}

/// Verifies as an employer who trusts the operator and asks nothing more.
fn verify(bytes: &[u8]) -> Report {
    bundle::verify(bytes, &trust(), &VerifyOptions::default(), NOW)
}

fn verify_with(bytes: &[u8], options: &VerifyOptions, now: OffsetDateTime) -> Report {
    bundle::verify(bytes, &trust(), options, now)
}

#[track_caller]
fn assert_valid(report: &Report) {
    assert_eq!(report.verdict, "VALID", "{:#?}", report.checks);
    assert!(report.is_valid());
    assert!(report.checks.iter().all(|c| c.ok), "VALID with a failed check: {:#?}", report.checks);
}

/// Asserts the report is INVALID and that `name` is the first check that failed; returns its
/// detail.
#[track_caller]
fn first_failure(report: &Report, name: &str) -> String {
    assert_eq!(report.verdict, "INVALID", "{:#?}", report.checks);
    assert!(!report.is_valid());
    let failed = report
        .checks
        .iter()
        .find(|c| c.ran && !c.ok)
        .unwrap_or_else(|| panic!("INVALID without a failed check: {:#?}", report.checks));
    assert_eq!(failed.name, name, "{:#?}", report.checks);
    assert!(!failed.detail.is_empty(), "{failed:?}");
    failed.detail.clone()
}

/// As [`first_failure`], and no other check failed.
#[track_caller]
fn only_failure(report: &Report, name: &str) -> String {
    let detail = first_failure(report, name);
    // One check failed; those that depend on it are listed as not run.
    let failed: Vec<_> = report.checks.iter().filter(|c| c.ran && !c.ok).collect();
    assert_eq!(failed.len(), 1, "{:#?}", report.checks);
    assert!(report.checks.iter().all(|c| c.ok || !c.ran || c.name == failed[0].name), "{:#?}", report.checks);
    detail
}

#[track_caller]
fn assert_mentions(detail: impl AsRef<str>, parts: &[&str]) {
    let detail = detail.as_ref();
    for part in parts {
        assert!(detail.contains(part), "`{detail}` does not mention `{part}`");
    }
}

/// The learner edits their own bundle and signs it again: only the proofs and the operator's
/// signatures stand in the way.
fn forged(bundle: &Bundle, learner: u8, edit: impl FnOnce(&mut Bundle)) -> Vec<u8> {
    let mut bundle = bundle.clone();
    edit(&mut bundle);
    to_bytes(&bundle.signed(&key(learner)))
}

/// A named edit of some part of a bundle.
type Edit<T> = (&'static str, fn(&mut T));

fn entry(bundle: &mut Bundle, seq: Seq) -> &mut Entry {
    bundle.entries.iter_mut().find(|e| e.seq == seq).unwrap_or_else(|| panic!("no entry for seq {seq}"))
}

fn entry_seqs(bundle: &Bundle) -> Vec<Seq> {
    bundle.entries.iter().map(|e| e.seq).collect()
}

fn presented_ids(report: &Report) -> Vec<EventId> {
    let mut ids: Vec<_> = report.credentials.iter().map(|c| c.id).collect();
    ids.sort();
    ids
}

fn sorted(ids: &[EventId]) -> Vec<EventId> {
    let mut ids = ids.to_vec();
    ids.sort();
    ids
}

/// Every check a full offline verification without request options runs, in order.
const ALL_CHECKS: [&str; 8] = [
    "bundle.format",
    "checkpoint.signature",
    "entries.inclusion",
    "events.signatures",
    "issuer.authority",
    "credentials.status",
    "learner.holder",
    "learner.signature",
];

fn check_names(report: &Report) -> Vec<&'static str> {
    report.checks.iter().map(|c| c.name).collect()
}

// ---------------------------------------------------------------------------------------------
// Logs crafted by hand: what a malicious or broken ledger could publish.
// ---------------------------------------------------------------------------------------------

/// Signs `payload` by key `by` at the `n`th second.
fn signed(by: u8, n: i64, payload: Payload) -> SignedEvent {
    let signer = key(by);
    Event::new(signer.did().clone(), Timestamp(CREATED + Duration::seconds(n)), payload.for_ledger(ORIGIN))
        .sign(&signer, None)
        .expect("sign")
}

fn genesis_by(operator: u8) -> SignedEvent {
    signed(operator, 0, Payload::Genesis(Genesis { origin: ORIGIN.into(), operator: did(operator) }))
}

fn registered_by(author: u8, issuer: u8, n: i64) -> SignedEvent {
    signed(
        author,
        n,
        Payload::IssuerRegistered(IssuerRegistered {
            issuer: did(issuer),
            name: "Lakeside Community College".into(),
            category: IssuerCategory::College,
            ledger: None,
        }),
    )
}

fn course_by(issuer: u8, learner: u8, n: i64) -> SignedEvent {
    signed(
        issuer,
        n,
        Payload::CourseCompleted(CourseCompleted {
            credential_uuid: format!("0b5e7a52-3c1d-4f7e-8a90-{n:012x}"),
            learner: did(learner),
            title: "Welding Fundamentals".into(),
            code: "WLD 100".into(),
            skills: skills(&[("51-4121.00", "Welders, Cutters, Solderers, and Brazers")]),
            credits: 4.0,
            completed_on: date("2026-05-01"),
            ledger: None,
            vc_proof: None,
            vc: None,
        }),
    )
}

/// A log made by hand: records, their tree, a checkpoint of the whole tree signed by any key.
struct Crafted {
    records: Vec<Record>,
    tree: MemoryTree,
}

impl Crafted {
    fn new(events: Vec<SignedEvent>) -> Crafted {
        let records: Vec<Record> = events
            .into_iter()
            .enumerate()
            .map(|(seq, event)| Record { seq: seq as Seq, recorded_at: Timestamp(NOW), event })
            .collect();
        let tree = MemoryTree::from_leaves(records.iter().map(|r| merkle::leaf_hash(&r.canonical())));
        Crafted { records, tree }
    }

    fn checkpoint(&self, signer: u8) -> String {
        Checkpoint { origin: ORIGIN.into(), size: self.tree.size(), root: self.tree.root() }.sign(&key(signer))
    }

    /// A bundle of the records at `seqs` for `learner`, its checkpoint and status statement
    /// signed by `operator`, every presented credential stated active.
    fn bundle(&self, seqs: &[Seq], operator: u8, learner: u8) -> Bundle {
        let size = self.tree.size();
        let entries: Vec<Entry> = seqs
            .iter()
            .map(|&seq| Entry {
                seq,
                record: self.records[seq as usize].to_value(),
                inclusion_proof: merkle::inclusion_proof(&self.tree, seq, size).expect("a proof from the memory tree"),
            })
            .collect();
        let credentials = seqs
            .iter()
            .map(|&seq| &self.records[seq as usize])
            .filter(|r| r.event.event.payload.credential().is_some())
            .map(|r| StatusLine { credential: r.event.id(), status: CredentialState::Active, decided_seq: r.seq })
            .collect();
        let status = StatusStatement {
            v: bundle::VERSION,
            origin: ORIGIN.into(),
            size,
            issued_at: Timestamp(NOW),
            holder: did(learner),
            holders: Vec::new(),
            credentials,
            sig: String::new(),
        }
        .signed(&key(operator));
        Bundle {
            v: bundle::VERSION,
            learner: did(learner),
            holders: Vec::new(),
            audience: None,
            nonce: None,
            created_at: Timestamp(NOW),
            checkpoint: self.checkpoint(operator),
            entries,
            status,
            learner_sig: String::new(),
            holder_sigs: BTreeMap::new(),
        }
        .signed(&key(learner))
    }

    fn id(&self, seq: Seq) -> EventId {
        self.records[seq as usize].event.id()
    }
}

/// Genesis, the college registered, and a key rotation: `COLLEGE_2026` added by the college,
/// then the original key revoked by the new one (as the demo rotates).
fn rotation_events() -> Vec<SignedEvent> {
    vec![
        genesis_by(OPERATOR),
        registered_by(OPERATOR, COLLEGE, 1),
        signed(COLLEGE, 2, Payload::KeyAdded(KeyAdded { issuer: None, key: did(COLLEGE_2026), ledger: None })),
        signed(
            COLLEGE_2026,
            3,
            Payload::KeyRevoked(KeyRevoked {
                issuer: None,
                key: did(COLLEGE),
                reason: "Scheduled annual key rotation".into(),
                compromised_since: None,
                ledger: None,
            }),
        ),
    ]
}

// ---------------------------------------------------------------------------------------------
// What must verify.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_fresh_bundle_is_valid_with_every_check_ok() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(check_names(&report), ALL_CHECKS);
    assert_eq!(report.learner.as_ref(), Some(&did(ALICE)));
    // Every active credential of Alice's, and none of Bob's.
    assert_eq!(presented_ids(&report), sorted(&[f.python.id, f.sql.id, f.stats.id]));
    assert!(!presented_ids(&report).contains(&f.bobs.id));
    let python = report.credentials.iter().find(|c| c.id == f.python.id).expect("presented");
    assert_eq!(python.title, "Intro to Python Programming");
    assert_eq!(python.issuer.as_ref(), Some(&did(COLLEGE)));
    assert_eq!(python.issuer_name.as_deref(), Some("Lakeside Community College"));
    assert_eq!(python.status, Some(CredentialState::Active));
    // Skills carry their evidence.
    let data = report.skills.iter().find(|s| s.id == DATA_SCIENCE.0).expect("the data science skill");
    assert_eq!(sorted(&data.evidence), sorted(&[f.sql.id, f.stats.id]));
    // The bundle holds the genesis and both registrations, and proves them all at one size.
    assert_eq!(entry_seqs(&bundle), [0, 1, 2, 3, 4, 5]);
    assert_eq!(bundle.status.size, f.world.ledger.len());
}

#[test]
fn the_demo_learners_fresh_bundle_is_valid() {
    let mut w = DemoWorld::new();
    let bundle = w.share("learner-01", &ShareRequest::default());
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(check_names(&report), ALL_CHECKS);
    let mut titles: Vec<_> = report.credentials.iter().map(|c| c.title.as_str()).collect();
    titles.sort_unstable();
    assert_eq!(
        titles,
        [
            "Applied Statistics",
            "Data Analytics Certificate",
            "Database Fundamentals",
            "Intro to Python Programming",
            "Web Development with Python",
        ]
    );
}

#[test]
fn a_bundle_bound_to_the_verifiers_audience_and_nonce_is_valid() {
    let mut f = fixture();
    let bundle = f.world.share(
        ALICE,
        &ShareRequest {
            audience: Some("Acme Robotics hiring".into()),
            nonce: Some("c7a1e0f2".into()),
            ..ShareRequest::default()
        },
    );
    let options =
        VerifyOptions { audience: Some("Acme Robotics hiring".into()), nonce: Some("c7a1e0f2".into()), max_age: None };
    let report = verify_with(&to_bytes(&bundle), &options, NOW);
    assert_valid(&report);
    let names = check_names(&report);
    assert!(names.contains(&"request.audience"), "{names:?}");
    assert!(names.contains(&"request.nonce"), "{names:?}");
}

#[test]
fn only_the_chosen_subset_is_presented_and_it_is_valid() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &only(&[f.sql.id]));
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(presented_ids(&report), [f.sql.id]);
    let credentials: Vec<_> = bundle.status.credentials.iter().map(|l| l.credential).collect();
    assert_eq!(credentials, [f.sql.id]);
    // The university's registration and the other courses are not in it.
    assert_eq!(entry_seqs(&bundle), [0, 1, f.sql.seq]);

    let bundle = f.world.share(ALICE, &only(&[f.python.id, f.stats.id]));
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(presented_ids(&report), sorted(&[f.python.id, f.stats.id]));
}

#[test]
fn a_learner_who_moved_keys_shares_earlier_credentials_with_the_new_key() {
    let mut f = fixture();
    let link = f.world.link(ALICE, ALICE_NEW);
    let later = f.world.course(UNIVERSITY, ALICE_NEW, "Machine Learning", "CS 4780", &[DATA_SCIENCE, PYTHON], 4.0);
    // The old key can no longer share.
    let refused = f.world.try_share(ALICE, &ShareRequest::default());
    assert!(
        matches!(&refused, Err(ShareError::KeyMoved { from, to }) if from == &did(ALICE) && to == &did(ALICE_NEW)),
        "{refused:?}"
    );

    let bundle = f.world.share(ALICE_NEW, &ShareRequest::default());
    assert!(entry_seqs(&bundle).contains(&link.seq), "the key link is in the bundle");
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(report.learner.as_ref(), Some(&did(ALICE_NEW)));
    assert_eq!(presented_ids(&report), sorted(&[f.python.id, f.sql.id, f.stats.id, later.id]));

    // Just one credential issued to the old key.
    let bundle = f.world.share(ALICE_NEW, &only(&[f.python.id]));
    assert_valid(&verify(&to_bytes(&bundle)));

    // Without the key link the old key's credentials are not the new key's.
    let bytes = forged(&bundle, ALICE_NEW, |b| {
        b.entries.retain(|e| e.seq != link.seq);
    });
    let detail = only_failure(&verify(&bytes), "learner.holder");
    assert_mentions(detail, &[&f.python.id.to_string(), did(ALICE).as_str(), did(ALICE_NEW).as_str()]);
}

/// Issue 16: a learner who moved keys also holds a credential under a wallet's fresh did, never
/// linked: one bundle presents both, the moved credentials under the new key (with their link)
/// and the wallet's under its did, each key signing.
#[test]
fn a_learner_who_moved_keys_shares_with_an_unlinked_wallet_did_too() {
    let mut f = fixture();
    let link = f.world.link(ALICE, ALICE_NEW);
    let wallet = f.world.course(UNIVERSITY, ALICE_WALLET, "Machine Learning", "CS 4780", &[DATA_SCIENCE], 4.0);
    let request = only(&[f.python.id, wallet.id]).with_holders(vec![did(ALICE_WALLET)]);
    let bundle = share_build::build_unsigned(&mut f.world.ledger, &did(ALICE_NEW), &request, NOW).expect("share");
    let bundle = bundle.signed(&key(ALICE_NEW)).signed(&key(ALICE_WALLET));
    assert!(entry_seqs(&bundle).contains(&link.seq), "the key link is in the bundle");
    assert_eq!(bundle.status.holders, [did(ALICE_WALLET)]);
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(presented_ids(&report), sorted(&[f.python.id, wallet.id]));

    // The old key is no did to present under: it moved.
    let request = only(&[f.python.id, wallet.id]).with_holders(vec![did(ALICE), did(ALICE_WALLET)]);
    let refused = share_build::build_unsigned(&mut f.world.ledger, &did(ALICE_NEW), &request, NOW);
    assert!(
        matches!(&refused, Err(ShareError::KeyMoved { from, to }) if from == &did(ALICE) && to == &did(ALICE_NEW)),
        "{refused:?}"
    );
}

/// Issue 14: a learner whose key moved leaves the key link out, names the old key as the learner
/// and signs with it. The records alone cannot tell; the operator's statement names the holder
/// now, so the bundle is INVALID and says who the holder is. Keeping the link and naming the old
/// key says where it moved, not "issued to OLD, not to OLD".
#[test]
fn a_bundle_that_leaves_out_a_key_link_and_presents_the_old_key_is_invalid() {
    let mut f = fixture();
    let link = f.world.link(ALICE, ALICE_NEW);
    let bundle = f.world.share(ALICE_NEW, &only(&[f.python.id]));
    assert_eq!(bundle.status.holder, did(ALICE_NEW));
    let old_key = did(ALICE);
    let bytes = forged(&bundle, ALICE, |b| {
        b.entries.retain(|e| e.seq != link.seq);
        b.learner = old_key.clone();
    });
    let report = verify(&bytes);
    let detail = only_failure(&report, "learner.holder");
    assert_mentions(&detail, &["names", did(ALICE_NEW).as_str(), "as the holder now", did(ALICE).as_str()]);

    let bytes = forged(&bundle, ALICE, |b| b.learner = old_key.clone());
    let detail = only_failure(&verify(&bytes), "learner.holder");
    assert_eq!(
        detail,
        format!(
            "credential {} was issued to {}, which moved to {} (seq {}): its holder is {}, not {}",
            f.python.id,
            did(ALICE),
            did(ALICE_NEW),
            link.seq,
            did(ALICE_NEW),
            did(ALICE)
        )
    );
}

#[test]
fn a_credential_issued_to_an_earlier_key_after_the_move_verifies() {
    let mut f = fixture();
    let link = f.world.link(ALICE, ALICE_NEW);
    // The university still knows the learner by the old key: the credential follows the move.
    let late = f.world.course(UNIVERSITY, ALICE, "Machine Learning", "CS 4780", &[DATA_SCIENCE, PYTHON], 4.0);
    let bundle = f.world.share(ALICE_NEW, &only(&[late.id]));
    // The bundle holds the link but nothing the old key held before it: the verifier cannot see
    // that the old key had something to move, which the ledger checked when it appended the link.
    let seqs = entry_seqs(&bundle);
    assert!(seqs.contains(&link.seq), "{seqs:?}");
    assert!(![f.python.seq, f.sql.seq, f.stats.seq].iter().any(|s| seqs.contains(s)), "{seqs:?}");
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(presented_ids(&report), [late.id]);
}

#[test]
fn a_credential_signed_by_a_rotated_in_key_verifies() {
    let mut w = DemoWorld::new();
    let web = w.credential("learner-01", "Web Development with Python");
    let bundle = w.share("learner-01", &only(&[web]));
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    let presented = &report.credentials[0];
    assert_eq!(presented.id, web);
    assert_eq!(
        presented.issuer.as_ref(),
        Some(w.key("lakeside-college").did()),
        "the issuer is the college, named by its first key"
    );
    assert_eq!(presented.issuer_name.as_deref(), Some("Lakeside Community College"));
    // The bundle proves the new key's authority: registration, key added, old key revoked.
    let kinds: Vec<String> =
        bundle.entries.iter().map(|e| e.record["event"]["kind"].as_str().unwrap_or_default().to_owned()).collect();
    for kind in ["ledger.genesis", "issuer.registered", "issuer.key_added", "issuer.key_revoked"] {
        assert!(kinds.iter().any(|k| k == kind), "{kind} missing: {kinds:?}");
    }

    // The old key's credentials from before the rotation stay valid.
    let intro = w.credential("learner-01", "Intro to Python Programming");
    let bundle = w.share("learner-01", &only(&[intro]));
    assert_valid(&verify(&to_bytes(&bundle)));
}

#[test]
fn a_completed_apprenticeship_verifies() {
    let mut w = DemoWorld::new();
    let cnc = w.credential("learner-05", "CNC Machinist Registered Apprenticeship");
    let bundle = w.share("learner-05", &only(&[cnc]));
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(presented_ids(&report), [cnc]);
}

#[test]

fn a_reinstated_credential_verifies() {
    let mut f = fixture();
    f.world.status_change(COLLEGE, f.python.id, "suspended");
    f.world.status_change(COLLEGE, f.python.id, "reinstated");
    let bundle = f.world.share(ALICE, &only(&[f.python.id]));
    assert_eq!(bundle.status.credentials[0].status, CredentialState::Active);
    assert_valid(&verify(&to_bytes(&bundle)));
}

#[test]

fn an_apprenticeship_started_before_the_learner_moved_keys_verifies() {
    let mut world = World::new();
    world.register(SPONSOR, "Riverside Manufacturing Co.", IssuerCategory::Employer);
    let started = world.append(
        SPONSOR,
        Payload::ApprenticeshipStarted(ApprenticeshipStarted {
            learner: did(ALICE),
            title: "CNC Machinist Registered Apprenticeship".into(),
            employer: "Riverside Manufacturing Co.".into(),
            started_on: date("2025-01-06"),
            ledger: None,
        }),
    );
    world.link(ALICE, ALICE_NEW);
    // The sponsor completes it for the learner's current key; the ledger accepts that.
    let credential_uuid = world.uuid();
    let completed = world.append(
        SPONSOR,
        Payload::ApprenticeshipCompleted(ApprenticeshipCompleted {
            credential_uuid,
            learner: did(ALICE_NEW),
            title: "CNC Machinist Registered Apprenticeship".into(),
            employer: "Riverside Manufacturing Co.".into(),
            hours: 2000,
            skills: skills(&[CNC]),
            completed_on: date("2026-01-09"),
            apprenticeship: Some(started.id),
            ledger: None,
            vc_proof: None,
            vc: None,
        }),
    );
    let bundle = world.share(ALICE_NEW, &only(&[completed.id]));
    assert_valid(&verify(&to_bytes(&bundle)));
}

#[test]
fn a_witness_signature_on_the_checkpoint_does_not_matter() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let witnessed = Checkpoint::parse_unverified(&bundle.checkpoint).expect("a checkpoint").sign(&key(STRANGER));
    let witness_line = witnessed.lines().last().expect("a signature line").to_owned();
    let bytes = forged(&bundle, ALICE, |b| {
        b.checkpoint.push_str(&witness_line);
        b.checkpoint.push('\n');
    });
    assert_valid(&verify(&bytes));
}

#[test]
fn a_hand_crafted_honest_log_verifies() {
    // The crafting helpers make valid bundles when nothing is wrong, so the failures below are
    // the rules' doing, not the helpers'.
    let mut events = rotation_events();
    events.insert(2, course_by(COLLEGE, ALICE, 2)); // before the rotation, by the old key
    events.push(course_by(COLLEGE_2026, ALICE, 5)); // after it, by the new key
    let log = Crafted::new(events);
    let report = verify(&to_bytes(&log.bundle(&[0, 1, 2, 3, 4, 5], OPERATOR, ALICE)));
    assert_valid(&report);
    assert_eq!(presented_ids(&report), sorted(&[log.id(2), log.id(5)]));
}

// ---------------------------------------------------------------------------------------------
// 1. Any character changed.
// ---------------------------------------------------------------------------------------------

/// Which part of a compact serialized bundle each byte belongs to.
struct Regions {
    /// Most specific first.
    ranges: Vec<(Range<usize>, &'static str)>,
}

impl Regions {
    fn of(text: &str) -> Regions {
        let find = |needle: &str| text.find(needle).unwrap_or_else(|| panic!("`{needle}` not in the bundle"));
        let checkpoint = find("\"checkpoint\":");
        let entries = find("\"entries\":");
        let status = find("\"status\":{\"v\":");
        let learner_sig = find(",\"learner_sig\":");
        let mut ranges = Vec::new();
        // Signatures: base64url Ed25519, 86 characters after `"sig":"`.
        for (at, _) in text.match_indices("\"sig\":\"") {
            let start = at + "\"sig\":\"".len();
            let label = if at > status { "status statement signature" } else { "event signature" };
            ranges.push((start..start + 86, label));
        }
        for (at, _) in text.match_indices("\"inclusion_proof\":[") {
            let end = at + text[at..].find(']').expect("a closed proof");
            ranges.push((at..end + 1, "inclusion proof"));
        }
        ranges.push((0..checkpoint, "claims (v, learner, created_at)"));
        ranges.push((checkpoint..entries, "checkpoint text"));
        ranges.push((entries..status, "records"));
        ranges.push((status..learner_sig, "status statement"));
        ranges.push((learner_sig..text.len(), "learner signature"));
        Regions { ranges }
    }

    fn label(&self, pos: usize) -> &'static str {
        self.ranges.iter().find(|(r, _)| r.contains(&pos)).map(|(_, l)| *l).expect("every byte is somewhere")
    }

    /// A few positions spread over the first range of every label.
    fn spot_checks(&self) -> Vec<usize> {
        let mut seen = Vec::new();
        let mut out = Vec::new();
        for (range, label) in &self.ranges {
            if seen.contains(label) {
                continue;
            }
            seen.push(*label);
            let len = range.len();
            for k in 1..=5 {
                out.push(range.start + len * k / 6);
            }
        }
        out
    }
}

/// Another character of the same sort, so most changes keep the JSON well formed and reach the
/// checks behind the parser.
fn flip(byte: u8) -> u8 {
    match byte {
        b'0'..=b'8' | b'a'..=b'y' | b'A'..=b'Y' => byte + 1,
        b'9' => b'0',
        b'z' => b'a',
        b'Z' => b'A',
        b'-' => b'_',
        b'_' => b'-',
        b'+' => b'/',
        b'/' => b'+',
        b'=' => b'A',
        b':' => b';',
        b',' => b';',
        b'.' => b'5',
        b' ' => b'\t',
        b'"' => b'\'',
        b'\\' => b'/',
        b'{' | b'[' => b'(',
        b'}' | b']' => b')',
        _ => b'x',
    }
}

fn parses_to(bytes: &[u8]) -> Option<Value> {
    serde_json::from_slice(bytes).ok()
}

/// Verifies, turning a panic into a test failure that says which change caused it.
fn verify_no_panic(bytes: &[u8], what: &str) -> Report {
    catch_unwind(AssertUnwindSafe(|| verify(bytes))).unwrap_or_else(|_| panic!("verify panicked on {what}"))
}

#[test]
fn every_sampled_one_character_change_is_invalid() {
    let mut w = DemoWorld::new();
    let bytes = to_bytes(&w.share("learner-01", &ShareRequest::default()));
    assert_valid(&verify(&bytes));
    let text = std::str::from_utf8(&bytes).expect("JSON is UTF-8");
    let original = parses_to(&bytes).expect("JSON");
    let regions = Regions::of(text);

    let stride = (bytes.len() / 300).max(1);
    let mut positions: Vec<usize> = (0..bytes.len()).step_by(stride).collect();
    positions.extend(regions.spot_checks());
    positions.sort_unstable();
    positions.dedup();

    let mut tested: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failed_checks: BTreeMap<&str, usize> = BTreeMap::new();
    let mut same_json = 0;
    for pos in positions {
        let before = bytes[pos];
        if !before.is_ascii() {
            continue; // inside the checkpoint's em dash: the ASCII bytes around it are tested
        }
        let mut mutated = bytes.clone();
        mutated[pos] = flip(before);
        if parses_to(&mutated).as_ref() == Some(&original) {
            same_json += 1;
            continue;
        }
        let label = regions.label(pos);
        let what = format!("byte {pos} in the {label}: `{}` -> `{}`", before as char, mutated[pos] as char);
        let report = verify_no_panic(&mutated, &what);
        assert_eq!(report.verdict, "INVALID", "{what}: {:#?}", report.checks);
        let failed =
            report.checks.iter().find(|c| !c.ok).unwrap_or_else(|| panic!("{what}: INVALID without a failed check"));
        assert!(!failed.detail.is_empty(), "{what}: {failed:?}");
        *tested.entry(label).or_default() += 1;
        *failed_checks.entry(failed.name).or_default() += 1;
    }
    let total: usize = tested.values().sum();
    eprintln!(
        "{total} changes ({same_json} left the JSON as it was), by region {tested:?}, first failed check {failed_checks:?}"
    );
    assert!((250..=400).contains(&total), "{total} changes tested ({same_json} left the JSON as it was): {tested:?}");
    for (_, label) in &regions.ranges {
        assert!(tested.get(label).copied().unwrap_or(0) >= 3, "too few changes in the {label}: {tested:?}");
    }
    // The changes reach past the parser: the proofs and signatures catch them too.
    for name in
        ["bundle.format", "checkpoint.signature", "entries.inclusion", "credentials.status", "learner.signature"]
    {
        assert!(failed_checks.contains_key(name), "no change was caught by {name}: {failed_checks:?}");
    }
}

static SMALL_BUNDLE: LazyLock<Vec<u8>> = LazyLock::new(|| {
    let mut f = fixture();
    to_bytes(&f.world.share(ALICE, &ShareRequest::default()))
});

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// Any byte anywhere, to any value: verify never panics, and never says VALID unless the
    /// bundle still parses to the same JSON.
    #[test]
    fn random_single_byte_changes_never_verify(at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let bytes = &*SMALL_BUNDLE;
        let pos = at.index(bytes.len());
        let mut mutated = bytes.clone();
        mutated[pos] = byte;
        let Ok(report) = catch_unwind(AssertUnwindSafe(|| verify(&mutated))) else {
            return Err(TestCaseError::fail(format!("verify panicked with byte {pos} set to {byte:#04x}")));
        };
        if report.is_valid() {
            prop_assert_eq!(
                parses_to(&mutated),
                parses_to(bytes),
                "byte {} set to {:#04x} still verifies", pos, byte
            );
        } else {
            prop_assert!(report.checks.iter().any(|c| !c.ok && !c.detail.is_empty()));
        }
    }
}

#[test]
fn a_forged_title_skill_or_credit_fails_inclusion() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let seq = f.python.seq;
    let edits: [Edit<Value>; 4] = [
        ("title", |body| body["title"] = "Advanced Python Programming".into()),
        ("skill id", |body| body["skills"][0]["id"] = "15-1299.08".into()),
        ("credits", |body| body["credits"] = 30.into()),
        ("learner", |body| body["learner"] = did(BOB).as_str().into()),
    ];
    for (what, edit) in edits {
        // The learner edits and re-signs.
        let bytes = forged(&bundle, ALICE, |b| edit(&mut entry(b, seq).record["event"]["body"]));
        let report = verify(&bytes);
        let detail = only_failure(&report, "entries.inclusion");
        assert_mentions(detail, &[&format!("entry seq {seq}"), "expected root"]);
        // The report names the record that failed, and what the bundle claims it is, unverified.
        assert_eq!(report.failed_record, Some(seq), "{what}");
        assert!(report.credentials.is_empty(), "{what}: nothing is verified");
        let claimed = report.claimed.iter().find(|c| c.seq == seq).unwrap_or_else(|| panic!("{what}: {report:?}"));
        if what == "title" {
            assert_eq!(claimed.title, "Advanced Python Programming");
        }
        assert_eq!(report.shown_credentials().len(), report.claimed.len());
        // Without re-signing, the same check catches it first.
        let mut plain = bundle.clone();
        edit(&mut entry(&mut plain, seq).record["event"]["body"]);
        let report = verify(&to_bytes(&plain));
        let detail = first_failure(&report, "entries.inclusion");
        assert!(detail.contains(&format!("entry seq {seq}")), "{what}: {detail}");
        assert_eq!(report.failed_record, Some(seq), "{what}");
    }
}

#[test]
fn a_forged_event_signature_or_recorded_at_fails_inclusion() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let seq = f.sql.seq;
    let bytes = forged(&bundle, ALICE, |b| {
        let record = &mut entry(b, seq).record;
        let sig = record["event"]["sig"].as_str().expect("a sig").to_owned();
        let flipped = if sig.starts_with('A') { "B" } else { "A" };
        record["event"]["sig"] = format!("{flipped}{}", &sig[1..]).into();
    });
    let detail = only_failure(&verify(&bytes), "entries.inclusion");
    assert_mentions(detail, &[&format!("entry seq {seq}")]);

    let bytes = forged(&bundle, ALICE, |b| {
        entry(b, seq).record["recorded_at"] = "2026-01-01T00:00:00Z".into();
    });
    let detail = only_failure(&verify(&bytes), "entries.inclusion");
    assert_mentions(detail, &[&format!("entry seq {seq}")]);

    // The entry's seq and the record's must agree.
    let bytes = forged(&bundle, ALICE, |b| entry(b, seq).record["seq"] = 99.into());
    let detail = only_failure(&verify(&bytes), "entries.inclusion");
    assert_mentions(detail, &["seq differs"]);
}

#[test]
fn a_changed_inclusion_proof_hash_fails_inclusion() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    for seq in entry_seqs(&bundle) {
        let proof_len = bundle.entries.iter().find(|e| e.seq == seq).map_or(0, |e| e.inclusion_proof.len());
        for i in 0..proof_len {
            let bytes = forged(&bundle, ALICE, |b| {
                let hash = &mut entry(b, seq).inclusion_proof[i];
                hash.0[31] ^= 1;
            });
            let detail = only_failure(&verify(&bytes), "entries.inclusion");
            assert_mentions(detail, &[&format!("entry seq {seq}"), "expected root"]);
        }
    }
}

#[test]
fn a_changed_checkpoint_line_fails_the_checkpoint_signature() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let lines: Vec<String> = bundle.checkpoint.split('\n').map(str::to_owned).collect();
    // The root line: another well-formed root.
    let other_root = Checkpoint { origin: ORIGIN.into(), size: 1, root: Hash32::digest(b"another tree") }
        .body()
        .split('\n')
        .nth(2)
        .expect("a root line")
        .to_owned();
    assert_ne!(lines[2], other_root);
    for (line, replacement) in
        [(0, "ledger.other.edu".to_owned()), (1, (bundle.status.size + 1).to_string()), (2, other_root)]
    {
        let bytes = forged(&bundle, ALICE, |b| {
            let mut edited = lines.clone();
            edited[line] = replacement.clone();
            b.checkpoint = edited.join("\n");
        });
        let detail = only_failure(&verify(&bytes), "checkpoint.signature");
        assert!(!detail.is_empty());
    }
}

#[test]
fn a_changed_status_statement_fails_the_status_check() {
    let mut f = fixture();
    f.world.status_change(COLLEGE, f.sql.id, "revoked");
    let bundle = f.world.share(ALICE, &only(&[f.python.id, f.sql.id]));
    let edits: [Edit<StatusStatement>; 4] = [
        ("status", |s| {
            for line in &mut s.credentials {
                line.status = CredentialState::Active;
            }
        }),
        ("decided_seq", |s| s.credentials[0].decided_seq += 1),
        ("issued_at", |s| s.issued_at = Timestamp(NOW + Duration::days(30))),
        ("sig", |s| {
            let flipped = if s.sig.starts_with('A') { "B" } else { "A" };
            s.sig = format!("{flipped}{}", &s.sig[1..]);
        }),
    ];
    for (what, edit) in edits {
        let bytes = forged(&bundle, ALICE, |b| edit(&mut b.status));
        let detail = only_failure(&verify(&bytes), "credentials.status");
        assert!(detail.contains("not signed by the checkpoint's operator"), "{what}: {detail}");
    }
}

#[test]
fn a_changed_learner_signature_or_claim_fails_the_learner_signature() {
    let mut f = fixture();
    let bundle = f
        .world
        .share(ALICE, &ShareRequest { audience: Some("Acme Robotics hiring".into()), ..ShareRequest::default() });
    let edits: [Edit<Bundle>; 4] = [
        ("learner_sig", |b| {
            let flipped = if b.learner_sig.starts_with('A') { "B" } else { "A" };
            b.learner_sig = format!("{flipped}{}", &b.learner_sig[1..]);
        }),
        ("learner_sig truncated", |b| b.learner_sig.truncate(40)),
        ("audience", |b| b.audience = Some("Globex hiring".into())),
        ("created_at", |b| b.created_at = Timestamp(NOW - Duration::days(1))),
    ];
    for (what, edit) in edits {
        let mut edited = bundle.clone();
        edit(&mut edited); // not signed again
        let report = verify(&to_bytes(&edited));
        let detail = only_failure(&report, "learner.signature");
        assert!(detail.contains(did(ALICE).as_str()), "{what}: {detail}");
    }
}

#[test]
fn a_malformed_bundle_fails_the_format_check_naming_the_field() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let value = serde_json::to_value(&bundle).expect("JSON");
    let edits: [Edit<Value>; 4] = [
        ("v", |b| b["v"] = 2.into()),
        ("extra", |b| b["extra"] = true.into()),
        ("learner", |b| b["learner"] = "did:key:z6Mk".into()),
        ("inclusion_proof", |b| b["entries"][0]["inclusion_proof"] = serde_json::json!(["00"])),
    ];
    for (field, edit) in edits {
        let mut edited = value.clone();
        edit(&mut edited);
        let report = verify(&serde_json::to_vec(&edited).expect("JSON"));
        let detail = only_failure(&report, "bundle.format");
        assert!(detail.contains(field) || (field == "v" && detail.contains("version 2")), "{field}: {detail}");
        // Nothing else could run on a bundle that does not parse.
        assert!(report.checks[1..].iter().all(|c| !c.ran), "{:#?}", report.checks);
    }
    // A member named twice.
    let text = String::from_utf8(to_bytes(&bundle)).expect("UTF-8");
    let twice = text.replacen("{\"v\":1,", "{\"v\":1,\"v\":1,", 1);
    let detail = only_failure(&verify(twice.as_bytes()), "bundle.format");
    assert_mentions(detail, &["duplicate"]);
}

// ---------------------------------------------------------------------------------------------
// 2. Records missing from the bundle.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_credential_removed_from_the_bundle_fails_the_status_check() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let bytes = forged(&bundle, ALICE, |b| b.entries.retain(|e| e.seq != f.sql.seq));
    let detail = only_failure(&verify(&bytes), "credentials.status");
    assert_mentions(detail, &[&f.sql.id.to_string(), "not in the bundle"]);
}

#[test]
fn a_hash_removed_from_an_inclusion_proof_fails_inclusion() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let bytes = forged(&bundle, ALICE, |b| {
        entry(b, f.stats.seq).inclusion_proof.pop();
    });
    let detail = only_failure(&verify(&bytes), "entries.inclusion");
    assert_mentions(detail, &[&format!("entry seq {}", f.stats.seq), "hashes"]);
}

#[test]
fn a_registry_record_removed_from_the_bundle_fails_authority() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &only(&[f.stats.id]));
    // The university's registration (seq 2).
    let bytes = forged(&bundle, ALICE, |b| b.entries.retain(|e| e.seq != 2));
    let detail = only_failure(&verify(&bytes), "issuer.authority");
    assert_mentions(detail, &[&format!("seq {}", f.stats.seq), did(UNIVERSITY).as_str()]);
    // The genesis.
    let bytes = forged(&bundle, ALICE, |b| b.entries.retain(|e| e.seq != 0));
    let detail = only_failure(&verify(&bytes), "issuer.authority");
    assert_mentions(detail, &["genesis"]);
}

#[test]
fn a_status_event_removed_from_the_bundle_is_caught() {
    let mut f = fixture();
    let revoked = f.world.status_change(COLLEGE, f.sql.id, "revoked");
    let bundle = f.world.share(ALICE, &only(&[f.sql.id]));
    assert!(entry_seqs(&bundle).contains(&revoked.seq));
    let bytes = forged(&bundle, ALICE, |b| b.entries.retain(|e| e.seq != revoked.seq));
    // The operator's statement still says revoked.
    let detail = only_failure(&verify(&bytes), "credentials.status");
    assert_mentions(detail, &[&f.sql.id.to_string(), "revoked"]);
}

// ---------------------------------------------------------------------------------------------
// 3. Revoked and suspended credentials.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_revoked_credential_is_invalid_and_named() {
    let mut f = fixture();
    let revoked = f.world.status_change(COLLEGE, f.sql.id, "revoked");
    let bundle = f.world.share(ALICE, &only(&[f.sql.id]));
    let report = verify(&to_bytes(&bundle));
    let detail = only_failure(&report, "credentials.status");
    assert_mentions(detail, &[&f.sql.id.to_string(), "revoked", &format!("seq {}", revoked.seq)]);
    assert_eq!(report.credentials[0].status, Some(CredentialState::Revoked));
    assert!(report.skills.is_empty(), "no skill evidence from an INVALID bundle");

    // Among active ones, it still spoils the bundle.
    let bundle = f.world.share(ALICE, &only(&[f.python.id, f.sql.id, f.stats.id]));
    let detail = only_failure(&verify(&to_bytes(&bundle)), "credentials.status");
    assert_mentions(detail, &[&f.sql.id.to_string(), "revoked"]);

    // Sharing everything leaves it out, and is valid.
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(presented_ids(&report), sorted(&[f.python.id, f.stats.id]));
}

#[test]
fn a_suspended_credential_is_invalid_and_named() {
    let mut f = fixture();
    let suspended = f.world.status_change(UNIVERSITY, f.stats.id, "suspended");
    let bundle = f.world.share(ALICE, &only(&[f.stats.id]));
    let detail = only_failure(&verify(&to_bytes(&bundle)), "credentials.status");
    assert_mentions(detail, &[&f.stats.id.to_string(), "suspended", &format!("seq {}", suspended.seq)]);
}

#[test]
fn a_revocation_the_statement_hides_is_caught_by_the_records() {
    // A lying operator states a credential active, but the bundle's own records revoke it.
    let events = vec![genesis_by(OPERATOR), registered_by(OPERATOR, COLLEGE, 1), course_by(COLLEGE, ALICE, 2)];
    let mut log = Crafted::new(events);
    let credential = log.id(2);
    let revocation = signed(
        COLLEGE,
        3,
        Payload::CredentialRevoked(StatusChange { credential, reason: "Issued in error".into(), ledger: None }),
    );
    log = Crafted::new(log.records.into_iter().map(|r| r.event).chain([revocation]).collect());
    let bundle = log.bundle(&[0, 1, 2, 3], OPERATOR, ALICE);
    assert_eq!(bundle.status.credentials[0].status, CredentialState::Active);
    let detail = only_failure(&verify(&to_bytes(&bundle)), "credentials.status");
    assert_mentions(detail, &[&credential.to_string(), "revoked by its records"]);
}

// ---------------------------------------------------------------------------------------------
// 4, 5. Authority, in logs the ledger would refuse.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_credential_signed_by_a_key_after_its_revocation_fails_authority() {
    let mut events = rotation_events();
    events.push(course_by(COLLEGE, ALICE, 4)); // the revoked key signs on
    // The ledger refuses it ...
    let mut world = World::new();
    world.register(COLLEGE, "Lakeside Community College", IssuerCategory::College);
    for event in &events[2..4] {
        world.append_value(event.value().clone());
    }
    let refused = world.ledger.append_values(vec![events[4].value().clone()], NOW, true).pop().expect("one result");
    assert!(
        matches!(&refused, Err(AppendError::Rule(RuleError::RevokedKey { author, seq: 3 })) if author == &did(COLLEGE)),
        "{refused:?}"
    );
    // ... so a malicious log holds it.
    let log = Crafted::new(events);
    let bundle = log.bundle(&[0, 1, 2, 3, 4], OPERATOR, ALICE);
    let detail = only_failure(&verify(&to_bytes(&bundle)), "issuer.authority");
    assert_mentions(detail, &["seq 4", did(COLLEGE).as_str(), "revoked at seq 3"]);
}

#[test]
fn an_issuer_registered_by_someone_other_than_the_operator_fails_authority() {
    let events = vec![genesis_by(OPERATOR), registered_by(STRANGER, STRANGER, 1), course_by(STRANGER, ALICE, 2)];
    let log = Crafted::new(events);
    let bundle = log.bundle(&[0, 1, 2], OPERATOR, ALICE);
    let detail = only_failure(&verify(&to_bytes(&bundle)), "issuer.authority");
    assert_mentions(detail, &["seq 1", "issuer.registered", did(STRANGER).as_str(), "not the operator"]);

    // An issuer registered by the operator of another log (whose genesis it is), under a
    // checkpoint the trusted operator signed.
    let events =
        vec![genesis_by(OTHER_OPERATOR), registered_by(OTHER_OPERATOR, COLLEGE, 1), course_by(COLLEGE, ALICE, 2)];
    let log = Crafted::new(events);
    let bundle = log.bundle(&[0, 1, 2], OPERATOR, ALICE);
    let detail = only_failure(&verify(&to_bytes(&bundle)), "issuer.authority");
    assert_mentions(detail, &["genesis", did(OTHER_OPERATOR).as_str()]);
}

#[test]
fn an_event_whose_signature_does_not_verify_fails_the_signature_check() {
    // The operator puts a record on the log whose credits were raised after the issuer signed.
    let honest = course_by(COLLEGE, ALICE, 2);
    let mut value = honest.value().clone();
    value["body"]["credits"] = 40.into();
    let tampered = SignedEvent::from_stored(value).expect("types still fit");
    let log = Crafted::new(vec![genesis_by(OPERATOR), registered_by(OPERATOR, COLLEGE, 1), tampered]);
    let bundle = log.bundle(&[0, 1, 2], OPERATOR, ALICE);
    let detail = only_failure(&verify(&to_bytes(&bundle)), "events.signatures");
    assert_mentions(detail, &["seq 2", "sig", "does not verify"]);
}

#[test]
fn an_event_whose_standard_proof_is_not_its_own_fails_the_signature_check() {
    // The operator puts a course on the log that its issuer signed over the standard proof of
    // another of its credentials: the event's signature verifies, its `vc_proof` does not.
    let proved = |n| {
        let course = course_by(COLLEGE, ALICE, n).event;
        credledger::vc::attach_proof(course, &key(COLLEGE)).expect("the issuer's proof")
    };
    let mut swapped = proved(2);
    let other = match proved(3).payload {
        Payload::CourseCompleted(c) => c.vc_proof,
        _ => None,
    };
    if let Payload::CourseCompleted(c) = &mut swapped.payload {
        c.vc_proof = other;
    }
    let swapped = swapped.sign(&key(COLLEGE), None).expect("sign");
    let log = Crafted::new(vec![genesis_by(OPERATOR), registered_by(OPERATOR, COLLEGE, 1), swapped]);
    let bundle = log.bundle(&[0, 1, 2], OPERATOR, ALICE);
    let detail = only_failure(&verify(&to_bytes(&bundle)), "events.signatures");
    assert_mentions(detail, &["seq 2", "body.vc_proof", "not the author's"]);
}

#[test]

fn a_credential_signed_after_its_keys_compromise_is_invalid() {
    let mut world = World::new();
    world.register(COLLEGE, "Lakeside Community College", IssuerCategory::College);
    let course = world.course(COLLEGE, ALICE, "Welding Fundamentals", "WLD 100", &[CNC], 4.0);
    world.append(COLLEGE, Payload::KeyAdded(KeyAdded { issuer: None, key: did(COLLEGE_2026), ledger: None }));
    // The key was stolen before it signed the course (which the ledger recorded at NOW, as it
    // recorded the key's registration: an issuer declares no earlier time).
    world.append(COLLEGE_2026, declared(COLLEGE, NOW));
    let bundle = world.share(ALICE, &only(&[course.id]));
    let report = verify(&to_bytes(&bundle));
    assert_eq!(report.verdict, "INVALID", "{:#?}", report.checks);
    let failed = report.checks.iter().find(|c| !c.ok).expect("a failed check");
    let named =
        failed.detail.contains(&course.id.to_string()) || failed.detail.contains(&format!("seq {}", course.seq));
    assert!(named, "the detail names the credential: {failed:?}");
}

/// A declaration that `key` was compromised since `since`.
fn declared(key: u8, since: OffsetDateTime) -> Payload {
    Payload::KeyRevoked(KeyRevoked {
        issuer: None,
        key: did(key),
        reason: "Key stolen".into(),
        compromised_since: Some(Timestamp(since)),
        ledger: None,
    })
}

/// With the stolen college key a thief revokes a course the college's other key signed, and
/// declares that key compromised; the operator reverses it by declaring the stolen key
/// compromised from before. The bundle carries every record that decides it (the thief's
/// revocation and both declarations), and its replay agrees with the operator: VALID.
#[test]
fn a_credential_a_thief_revoked_verifies_after_the_operator_reverses_the_theft() {
    let mut world = World::new();
    world.register(COLLEGE, "Lakeside Community College", IssuerCategory::College);
    world.append(COLLEGE, Payload::KeyAdded(KeyAdded { issuer: None, key: did(COLLEGE_2026), ledger: None }));
    let course = world.course(COLLEGE_2026, ALICE, "Welding Fundamentals", "WLD 100", &[CNC], 4.0);
    world.clock = NOW + Duration::hours(2);
    let theft = NOW + Duration::hours(1);
    world.status_change(COLLEGE, course.id, "revoked");
    world.append(COLLEGE, declared(COLLEGE_2026, NOW));
    assert_eq!(world.ledger.state().status.credential(&course.id).map(|c| c.state), Some(CredentialState::Revoked));
    let mut reversal = declared(COLLEGE, theft);
    if let Payload::KeyRevoked(k) = &mut reversal {
        k.issuer = Some(did(COLLEGE));
    }
    world.append(OPERATOR, reversal);
    let bundle = world.share(ALICE, &only(&[course.id]));
    let report = verify(&to_bytes(&bundle));
    assert_valid(&report);
    assert_eq!(report.credentials[0].status, Some(CredentialState::Active));
    // Without the operator's declaration the replay would show the course revoked, against the
    // statement: the bundle carries it.
    let records: Vec<Record> = bundle
        .entries
        .iter()
        .map(|e| Record::parse(&serde_json::to_vec(&e.record).expect("json")).expect("a record"))
        .collect();
    let kinds: Vec<&str> = records.iter().map(|r| r.event.event.payload.kind()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "issuer.key_revoked").count(), 2, "{kinds:?}");
    assert!(kinds.contains(&"credential.revoked"), "{kinds:?}");
}

// ---------------------------------------------------------------------------------------------
// 6. Another learner.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_bundle_presented_by_another_learner_fails_the_holder_check() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &only(&[f.python.id]));
    // Bob claims Alice's credential as his and signs the bundle with his key.
    let mut stolen = bundle.clone();
    stolen.learner = did(BOB);
    let bytes = to_bytes(&stolen.signed(&key(BOB)));
    let report = verify(&bytes);
    let detail = only_failure(&report, "learner.holder");
    assert_mentions(detail, &[&f.python.id.to_string(), did(ALICE).as_str(), did(BOB).as_str()]);
    // The ledger would not build it either.
    let refused = f.world.try_share(BOB, &only(&[f.python.id]));
    assert!(matches!(refused, Err(ShareError::NotTheLearners(id)) if id == f.python.id));
}

#[test]
fn a_bundle_signed_by_a_key_other_than_the_learners_fails_the_learner_signature() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let bytes = to_bytes(&bundle.clone().signed(&key(BOB)));
    let detail = only_failure(&verify(&bytes), "learner.signature");
    assert_mentions(detail, &[did(ALICE).as_str()]);
    // An empty signature too.
    let mut unsigned = bundle.clone();
    unsigned.learner_sig.clear();
    only_failure(&verify(&to_bytes(&unsigned)), "learner.signature");
}

// ---------------------------------------------------------------------------------------------
// 7. Replayed to another audience, or without the verifier's nonce.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_bundle_replayed_to_another_audience_or_nonce_fails() {
    let mut f = fixture();
    let bound = to_bytes(&f.world.share(
        ALICE,
        &ShareRequest {
            audience: Some("Acme Robotics hiring".into()),
            nonce: Some("c7a1e0f2".into()),
            ..ShareRequest::default()
        },
    ));
    let options = |audience: &str, nonce: &str| VerifyOptions {
        audience: Some(audience.into()),
        nonce: Some(nonce.into()),
        max_age: None,
    };
    let report = verify_with(&bound, &options("Globex hiring", "c7a1e0f2"), NOW);
    let detail = only_failure(&report, "request.audience");
    assert_mentions(detail, &["Acme Robotics hiring", "Globex hiring"]);

    let report = verify_with(&bound, &options("Acme Robotics hiring", "99d0b1aa"), NOW);
    let detail = only_failure(&report, "request.nonce");
    assert_mentions(detail, &["c7a1e0f2", "99d0b1aa"]);

    let report = verify_with(&bound, &options("Globex hiring", "99d0b1aa"), NOW);
    first_failure(&report, "request.audience");
    let failed: Vec<_> = report.checks.iter().filter(|c| !c.ok).map(|c| c.name).collect();
    assert_eq!(failed, ["request.audience", "request.nonce"]);

    // A bundle bound to nothing, for a verifier who sent a nonce (or names an audience).
    let unbound = to_bytes(&f.world.share(ALICE, &ShareRequest::default()));
    let needs_nonce = VerifyOptions { nonce: Some("99d0b1aa".into()), ..VerifyOptions::default() };
    let detail = only_failure(&verify_with(&unbound, &needs_nonce, NOW), "request.nonce");
    assert_mentions(detail, &["not bound", "99d0b1aa"]);
    let needs_audience = VerifyOptions { audience: Some("Globex hiring".into()), ..VerifyOptions::default() };
    only_failure(&verify_with(&unbound, &needs_audience, NOW), "request.audience");
}

// ---------------------------------------------------------------------------------------------
// 8. Another operator.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_checkpoint_not_signed_by_the_trusted_operator_fails() {
    let mut f = fixture();
    let bundle = f.world.share(ALICE, &ShareRequest::default());
    let bytes = to_bytes(&bundle);

    // The verifier trusts another operator.
    let report = bundle::verify(&bytes, &Trust::operator(did(OTHER_OPERATOR)), &VerifyOptions::default(), NOW);
    let detail = only_failure(&report, "checkpoint.signature");
    assert_mentions(detail, &[ORIGIN, "not signed by a trusted operator"]);

    // The verifier trusts this operator, but only for another log.
    let scoped =
        Trust { operators: vec![TrustedOperator { origin: Some("ledger.other.edu".into()), did: did(OPERATOR) }] };
    let report = bundle::verify(&bytes, &scoped, &VerifyOptions::default(), NOW);
    only_failure(&report, "checkpoint.signature");
    // And for this one.
    let scoped = Trust { operators: vec![TrustedOperator { origin: Some(ORIGIN.into()), did: did(OPERATOR) }] };
    assert_valid(&bundle::verify(&bytes, &scoped, &VerifyOptions::default(), NOW));

    // The same checkpoint signed by another key replaces the operator's.
    let resigned = Checkpoint::parse_unverified(&bundle.checkpoint).expect("a checkpoint").sign(&key(OTHER_OPERATOR));
    let bytes = forged(&bundle, ALICE, |b| b.checkpoint = resigned);
    let detail = only_failure(&verify(&bytes), "checkpoint.signature");
    assert_mentions(detail, &["not signed by a trusted operator"]);
}

#[test]
fn another_operators_log_fails_the_checkpoint_signature() {
    // A complete, self-consistent log run by someone else.
    let log = Crafted::new(vec![
        genesis_by(OTHER_OPERATOR),
        registered_by(OTHER_OPERATOR, COLLEGE, 1),
        course_by(COLLEGE, ALICE, 2),
    ]);
    let bytes = to_bytes(&log.bundle(&[0, 1, 2], OTHER_OPERATOR, ALICE));
    only_failure(&verify(&bytes), "checkpoint.signature");
    // It is valid to whoever trusts that operator.
    let report = bundle::verify(&bytes, &Trust::operator(did(OTHER_OPERATOR)), &VerifyOptions::default(), NOW);
    assert_valid(&report);
}

// ---------------------------------------------------------------------------------------------
// 9. Proofs and statements for another tree size.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_proof_for_another_tree_size_fails_inclusion() {
    let mut f = fixture();
    let old = f.world.share(ALICE, &ShareRequest::default());
    let old_size = old.status.size;
    for n in 0..5 {
        f.world.course(UNIVERSITY, BOB, &format!("Elective {n}"), &format!("GEN 10{n}"), &[DATA_SCIENCE], 1.0);
    }
    let new = f.world.share(ALICE, &ShareRequest::default());
    assert!(new.status.size > old_size);
    assert_valid(&verify(&to_bytes(&new)));

    for seq in entry_seqs(&new) {
        let stale = f.world.ledger.inclusion_proof(seq, old_size).expect("a proof at the old size");
        let bytes = forged(&new, ALICE, |b| entry(b, seq).inclusion_proof = stale);
        let detail = only_failure(&verify(&bytes), "entries.inclusion");
        assert_mentions(detail, &[&format!("entry seq {seq}")]);
    }

    // The old checkpoint with the new proofs.
    let bytes = forged(&new, ALICE, |b| b.checkpoint = old.checkpoint.clone());
    first_failure(&verify(&bytes), "entries.inclusion");

    // The old status statement (same credentials, older size) with the new checkpoint.
    let bytes = forged(&new, ALICE, |b| b.status = old.status.clone());
    let detail = only_failure(&verify(&bytes), "credentials.status");
    assert_mentions(detail, &[&format!("size {old_size}"), &format!("size {}", new.status.size)]);
}

// ---------------------------------------------------------------------------------------------
// 10. The status statement's age.
// ---------------------------------------------------------------------------------------------

#[test]
fn a_status_statement_older_than_allowed_fails_the_age_check() {
    let mut f = fixture();
    let bytes = to_bytes(&f.world.share(ALICE, &ShareRequest::default()));
    let options = VerifyOptions { max_age: Some(Duration::seconds(60)), ..VerifyOptions::default() };
    let report = verify_with(&bytes, &options, NOW + Duration::hours(2));
    let detail = only_failure(&report, "status.age");
    assert_mentions(detail, &["60s"]);

    for within in [Duration::ZERO, Duration::seconds(30), Duration::seconds(60)] {
        let report = verify_with(&bytes, &options, NOW + within);
        assert_valid(&report);
        assert!(check_names(&report).contains(&"status.age"));
    }
    // Without a limit there is no age check.
    assert!(!check_names(&verify(&bytes)).contains(&"status.age"));
}

#[test]
fn a_bundle_made_before_a_revocation_is_caught_only_by_the_age_limit() {
    let mut f = fixture();
    let before = to_bytes(&f.world.share(ALICE, &only(&[f.sql.id])));
    f.world.status_change(COLLEGE, f.sql.id, "revoked");
    let later = NOW + Duration::days(3);
    // Its statement was true at its size: offline, the bundle cannot know better ...
    assert_valid(&verify_with(&before, &VerifyOptions::default(), later));
    // ... which is what max_age is for.
    let options = VerifyOptions { max_age: Some(Duration::days(1)), ..VerifyOptions::default() };
    only_failure(&verify_with(&before, &options, later), "status.age");
}
