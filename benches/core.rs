//! Criterion benchmarks of the core: canonicalization, signing and verifying events, Merkle
//! appends and proofs, durable appends through the ledger on sled, replay, and offline bundle
//! verification for 1, 20 and 200 credentials; the standard (Open Badges) proof check per
//! credential on append, eddsa-jcs-2022 and eddsa-rdfc-2022, and RDFC-1.0 of a credential by the
//! own-shape path against the general one. `credledger bench` measures the same paths at scale in
//! one run and prints them against the raw verify rate (BENCHMARKS.md).

use std::hint::black_box;

/// The allocator the `credledger` binary uses (src/main.rs), so the numbers are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use credledger::bundle::{self, ShareRequest, Trust, VerifyOptions};
use credledger::event::{CourseCompleted, Skill, StandardForm, Timestamp};
use credledger::generate::Generator;
use credledger::id::Hash32;
use credledger::merkle::{self, MemoryTree};
use credledger::{Event, Ledger, Payload, SecretKey, SignedEvent, SledStore, canonical, demo, jsonld};
use criterion::{Criterion, criterion_group, criterion_main};
use time::macros::datetime;

/// A course for the learner, for the log `bench.example`.
fn course(issuer: &SecretKey, learner: &SecretKey, n: u32) -> SignedEvent {
    let payload = Payload::CourseCompleted(CourseCompleted {
        credential_uuid: uuid::Uuid::from_u128(u128::from(n) | (4 << 76) | (0x8 << 60)).to_string(),
        learner: learner.did().clone(),
        title: format!("Course {n}"),
        code: format!("C{n}"),
        skills: Skill::parse_list("15-1252.00=Software Developers,KS1200364C9C1LK3V5Q1=Python"),
        credits: 3.0,
        completed_on: "2026-05-01".parse().unwrap(),
        ledger: Some("bench.example".into()),
        vc_proof: None,
        vc: None,
    });
    let at = Timestamp::whole_seconds(datetime!(2026-05-01 12:00 UTC));
    Event::new(issuer.did().clone(), at, payload).sign(issuer, None).unwrap()
}

/// The learner's course as an unsigned event with its Open Badges 3.0 proof: form 1
/// (eddsa-jcs-2022) when `form` is `None`, else the form's suite (form 2: eddsa-rdfc-2022).
fn proved_course(issuer: &SecretKey, learner: &SecretKey, form: Option<StandardForm>) -> Event {
    let unsigned = course(issuer, learner, 1).event;
    let payload = unsigned.payload.with_standard_form(form);
    credledger::vc::attach_proof(Event::new(unsigned.author, unsigned.created_at, payload), issuer).unwrap()
}

/// The standard proof check the ledger runs on each credential it appends, per suite, and the
/// signing an issuing command does.
fn standard_proof_benches(c: &mut Criterion) {
    let issuer = SecretKey::from_seed(&[1; 32]);
    let learner = SecretKey::from_seed(&[2; 32]);
    let form2 = StandardForm {
        form: 2,
        issuer_name: "Bench Community College".into(),
        status_base: "https://bench.example".into(),
        status_list: 0,
        status_index: 94_567,
    };
    let jcs = proved_course(&issuer, &learner, None);
    let rdfc = proved_course(&issuer, &learner, Some(form2.clone()));
    let mut group = c.benchmark_group("standard proof per credential");
    group.bench_function("check on append: eddsa-jcs-2022 (form 1)", |b| {
        b.iter(|| credledger::vc::check_event_proof(black_box(&jcs)).unwrap())
    });
    group.bench_function("check on append: eddsa-rdfc-2022 (form 2)", |b| {
        b.iter(|| credledger::vc::check_event_proof(black_box(&rdfc)).unwrap())
    });
    group.bench_function("sign: eddsa-rdfc-2022 (form 2)", |b| {
        b.iter(|| proved_course(&issuer, &learner, Some(form2.clone())))
    });
    // What each canonicalization costs: the credential (and its proof configuration) read by
    // jsonld's own-shape path, which `canonicalize` takes for the ledger's own credentials, against
    // the general path (JSON-LD expansion with the memoized contexts, toRdf), the referee.
    let credential = credledger::vc::open_badge(&rdfc).unwrap();
    let mut config = credledger::rdfc::proof_options(&rdfc.author, &rdfc.created_at);
    config["@context"] = credential["@context"].clone();
    for (what, document) in [("credential", &credential), ("proof configuration", &config)] {
        group.bench_function(format!("RDFC-1.0 of the {what}: own shape"), |b| {
            b.iter(|| jsonld::canonicalize(black_box(document)).unwrap())
        });
        group.bench_function(format!("RDFC-1.0 of the {what}: general path"), |b| {
            b.iter(|| {
                let dataset = jsonld::to_rdf(black_box(document), jsonld::DocumentLoader::pinned()).unwrap();
                jsonld::canonicalize_dataset(&dataset).unwrap()
            })
        });
    }
    group.finish();
}

fn benches(c: &mut Criterion) {
    let issuer = SecretKey::from_seed(&[1; 32]);
    let learner = SecretKey::from_seed(&[2; 32]);
    let event = course(&issuer, &learner, 1);
    c.bench_function("canonicalize event", |b| b.iter(|| canonical::to_vec(black_box(event.value())).unwrap()));
    c.bench_function("verify event (schema + signature)", |b| {
        b.iter(|| SignedEvent::verify(black_box(event.value().clone())).unwrap())
    });
    c.bench_function("sign event", |b| b.iter(|| course(&issuer, &learner, 2)));

    let dir = tempfile::tempdir().unwrap();
    let operator = SecretKey::from_seed(&[3; 32]);
    let now = datetime!(2026-05-01 12:00 UTC);
    let mut ledger = Ledger::open(SledStore::open(&dir.path().join("store")).unwrap()).unwrap();
    let sample = demo::build(&operator, "bench.example", [9; 32], now).unwrap();
    for e in &sample.events {
        ledger.append(e.canonical(), now).unwrap();
    }
    let college = &sample.keys.iter().find(|(n, _)| n == "lakeside-college-2026").unwrap().1;
    let mut n = 0;
    c.bench_function("durable append (sled, all checks)", |b| {
        b.iter(|| {
            n += 1;
            let e = course(college, &learner, 1000 + n);
            ledger.append(e.canonical(), now).unwrap()
        })
    });
}

fn merkle_benches(c: &mut Criterion) {
    let leaves: Vec<Hash32> = (0u32..100_000).map(|i| merkle::leaf_hash(&i.to_be_bytes())).collect();
    c.bench_function("merkle: append 1,000 leaves to a frontier", |b| {
        b.iter(|| {
            let mut frontier = merkle::Frontier::default();
            for leaf in &leaves[..1000] {
                black_box(frontier.push(*leaf));
            }
            frontier.root()
        })
    });
    let tree = MemoryTree::from_leaves(leaves.iter().copied());
    let size = tree.size();
    let root = tree.root();
    c.bench_function("merkle: inclusion proof in 100,000 leaves", |b| {
        b.iter(|| merkle::inclusion_proof(&tree, black_box(65_537), size).unwrap())
    });
    let path = merkle::inclusion_proof(&tree, 65_537, size).unwrap();
    c.bench_function("merkle: verify inclusion in 100,000 leaves", |b| {
        b.iter(|| merkle::verify_inclusion(&leaves[65_537], 65_537, size, black_box(&path), &root).unwrap())
    });
    let consistency = merkle::consistency_proof(&tree, 70_001, size).unwrap();
    let old_root = merkle::root(&tree, 70_001).unwrap();
    c.bench_function("merkle: verify consistency 70,001 -> 100,000", |b| {
        b.iter(|| merkle::verify_consistency(70_001, size, &old_root, &root, black_box(&consistency)).unwrap())
    });
}

/// A sled ledger holding `events` generated events, its operator and the featured learner's key.
fn generated_ledger(dir: &std::path::Path, events: u64) -> (Ledger<SledStore>, SecretKey, SecretKey) {
    let operator = SecretKey::from_seed(&[5; 32]);
    let now = time::OffsetDateTime::now_utc();
    let mut ledger = Ledger::open(SledStore::open(&dir.join("store")).unwrap()).unwrap();
    ledger.sign_checkpoints_with(operator.clone()).unwrap();
    let start = now - credledger::generate::span(events);
    let mut generator = Generator::new(operator.clone(), "bench.example", 1, start, 200);
    ledger.append(generator.genesis().unwrap().canonical(), now).unwrap();
    let mut left = events;
    while left > 0 {
        let chunk = generator.next_chunk(left.min(1000)).unwrap();
        left -= chunk.len() as u64;
        for result in ledger.append_values(chunk.iter().map(|e| e.value().clone()).collect(), now, false) {
            result.unwrap();
        }
    }
    (ledger, operator, generator.featured_learner_key())
}

fn replay_and_bundle_benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (mut ledger, operator, learner) = generated_ledger(dir.path(), 5_000);
    let mut group = c.benchmark_group("replay 5,001 records");
    group.sample_size(10);
    group.bench_function("fold projections, no signature checks", |b| b.iter(|| ledger.fold_from_scratch(|_| {})));
    group.bench_function("audit, signatures included", |b| b.iter(|| ledger.audit().unwrap()));
    group.finish();

    let now = time::OffsetDateTime::now_utc();
    let profile = ledger.profile(learner.did());
    let active: Vec<_> =
        profile.credentials.iter().filter(|c| c.status.as_str() == "active").map(|c| c.summary.id).collect();
    let trust = Trust::operator(operator.did().clone());
    let mut group = c.benchmark_group("verify a bundle offline");
    for count in [1, 20, 200].into_iter().filter(|n| *n <= active.len()) {
        let request = ShareRequest { only: Some(active[..count].to_vec()), ..ShareRequest::default() };
        let shared = credledger::share_build::build_unsigned(&mut ledger, learner.did(), &request, now).unwrap();
        let bytes = serde_json::to_vec(&shared.signed(&learner)).unwrap();
        group.bench_function(format!("{count} credentials"), |b| {
            b.iter(|| assert!(bundle::verify(black_box(&bytes), &trust, &VerifyOptions::default(), now).is_valid()))
        });
    }
    group.finish();
}

criterion_group!(core, benches, standard_proof_benches, merkle_benches, replay_and_bundle_benches);
criterion_main!(core);
