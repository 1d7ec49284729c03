//! Criterion benchmarks of the core: canonicalization, signing and verifying events, and
//! durable appends through the ledger on sled.

use std::hint::black_box;

use credledger::event::{CourseCompleted, Skill, Timestamp};
use credledger::{Event, Ledger, Payload, SecretKey, SignedEvent, SledStore, canonical, demo};
use criterion::{Criterion, criterion_group, criterion_main};
use time::macros::datetime;

fn course(issuer: &SecretKey, learner: &SecretKey, n: u32) -> SignedEvent {
    let payload = Payload::CourseCompleted(CourseCompleted {
        credential_uuid: uuid::Uuid::from_u128(u128::from(n) | (4 << 76) | (0x8 << 60)).to_string(),
        learner: learner.did().clone(),
        title: format!("Course {n}"),
        code: format!("C{n}"),
        skills: Skill::parse_list("15-1252.00=Software Developers,KS1200364C9C1LK3V5Q1=Python"),
        credits: 3.0,
        completed_on: "2026-05-01".parse().unwrap(),
        ledger: None,
        vc_proof: None,
    });
    let at = Timestamp::whole_seconds(datetime!(2026-05-01 12:00 UTC));
    Event::new(issuer.did().clone(), at, payload).sign(issuer, None).unwrap()
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

criterion_group!(core, benches);
criterion_main!(core);
