//! End-to-end tests of the log's rules against the real server, each reproducing an attack on
//! two `serve --demo` servers (issue 13): free key-link chains that froze profile reads, a
//! learner's seventeenth key, one institution reusing another's `credential_uuid` to take over
//! its `/v1/status/{uuid}`, events dated in the future, and events signed for another log; and
//! (issue 14) declarations of compromise out of bounds and keys a compromise voided. Every
//! refusal is a typed problem and leaves the log and its checkpoint as they were.

mod common;

use std::path::Path;

use credledger::event::{
    ApprenticeshipStarted, CertificateAwarded, IssuerCategory, IssuerRegistered, KeyAdded, KeyLinked, KeyRevoked,
    Skill, StatusChange, Timestamp,
};
use credledger::{Did, Event, Payload, SecretKey};
use serde_json::Value;
use time::{Duration, OffsetDateTime};

use common::*;

/// Another log's origin, as a second ledger would name itself.
const OTHER_ORIGIN: &str = "other.credledger.dev";

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn read_key(path: &Path) -> SecretKey {
    SecretKey::read_file(path).expect("a key file")
}

/// `payload` signed by `key` at `created_at`: its canonical JSON text.
fn signed_at(key: &SecretKey, created_at: OffsetDateTime, payload: Payload) -> String {
    let event = Event::new(key.did().clone(), Timestamp::whole_seconds(created_at), payload);
    let signed = event.sign(key, None).expect("a valid shape");
    String::from_utf8(signed.canonical().to_vec()).expect("utf-8 JSON")
}

/// `payload` signed by `key` now.
fn signed(key: &SecretKey, payload: Payload) -> String {
    signed_at(key, now(), payload)
}

/// A key link from `from` to `to`, signed by both, for the log `origin` (`None`: no log named).
fn link(from: &SecretKey, to: &SecretKey, origin: Option<&str>) -> String {
    let body = KeyLinked { from: from.did().clone(), to: to.did().clone(), to_sig: String::new(), ledger: None };
    let payload = match origin {
        Some(origin) => Payload::KeyLinked(body).for_ledger(origin),
        None => Payload::KeyLinked(body),
    };
    let event = Event::new(from.did().clone(), Timestamp::whole_seconds(now()), payload);
    let signed = event.sign(from, Some(to)).expect("a valid shape");
    String::from_utf8(signed.canonical().to_vec()).expect("utf-8 JSON")
}

/// A certificate for `learner` with this uuid (for no log; bind it with `for_ledger`).
fn certificate(learner: &Did, uuid: &str) -> Payload {
    Payload::CertificateAwarded(CertificateAwarded {
        credential_uuid: uuid.to_owned(),
        learner: learner.clone(),
        title: "Forklift Safety".into(),
        skills: vec![Skill { id: "esco:forklift".into(), label: Some("Forklift operation".into()), level: None }],
        awarded_on: "2026-02-01".parse().expect("a date"),
        valid_until: None,
        ledger: None,
        vc_proof: None,
        vc: None,
    })
}

/// The log's length and its signed checkpoint, to compare before and after a refusal.
fn log_state(server: &Server, operator: &Did) -> (usize, String) {
    (server.all_records().len(), server.checkpoint(operator).1)
}

/// Posts `event`, expects the problem `status`/`code` whose detail holds every needle, and
/// checks that the log and its checkpoint did not change. Returns the detail.
#[track_caller]
fn refused(server: &Server, operator: &Did, event: &str, status: u16, code: &str, needles: &[&str]) -> String {
    let before = log_state(server, operator);
    let problem = assert_problem(&server.post_events(event), status, code);
    let detail = problem["detail"].as_str().expect("a detail").to_owned();
    for needle in needles {
        assert!(detail.contains(needle), "{detail:?} lacks {needle:?}");
    }
    assert_eq!(log_state(server, operator), before, "a refused event changed the log");
    detail
}

/// Gives the env's learner a course from the env's issuer (over HTTP); returns the signed event.
fn give_learner_a_course(env: &Env, server: &Server, title: &str) -> Value {
    let course = env.emit_course(&env.issuer, title);
    server.append(&course);
    serde_json::from_str(&course).expect("an event")
}

#[test]
fn key_links_between_keys_that_hold_nothing_are_refused() {
    let env = Env::new();
    let server = env.serve(&[]);
    // Keys anyone can make: a chain of them would grow the log, and a learner's chain, for free.
    let keys: Vec<SecretKey> = (0..4).map(|_| SecretKey::generate().expect("a key")).collect();
    for pair in keys.windows(2) {
        let event = link(&pair[0], &pair[1], Some(ORIGIN));
        let detail = refused(&server, &env.operator, &event, 409, "key-link", &["body.from", "holds no credential"]);
        assert!(detail.contains(pair[0].did().as_str()), "{detail}");
    }
    // A key that holds a credential may move, and then the new key may too.
    give_learner_a_course(&env, &server, "Welding I");
    let learner = read_key(&env.learner.path);
    server.append(&link(&learner, &keys[0], Some(ORIGIN)));
    server.append(&link(&keys[0], &keys[1], Some(ORIGIN)));
    let profile = server.get(&format!("/v1/learners/{}/profile", learner.did())).json();
    assert_eq!(profile["learner"], keys[1].did().as_str());
    assert_eq!(profile["credentials"].as_array().map(Vec::len), Some(1));
}

#[test]
fn a_learners_seventeenth_key_is_refused() {
    let env = Env::new();
    let server = env.serve(&[]);
    give_learner_a_course(&env, &server, "Welding I");
    let head = read_key(&env.learner.path);
    let keys: Vec<SecretKey> = (0..16).map(|_| SecretKey::generate().expect("a key")).collect();
    // Fifteen moves: sixteen keys, the most a learner may have.
    let mut current = &head;
    for next in &keys[..15] {
        server.append(&link(current, next, Some(ORIGIN)));
        current = next;
    }
    let detail = refused(
        &server,
        &env.operator,
        &link(current, &keys[15], Some(ORIGIN)),
        409,
        "key-link",
        &["body.to", "17 keys", "at most 16"],
    );
    assert!(detail.contains(current.did().as_str()), "{detail}");
    // Every read through the chain's first key answers with the learner's current key.
    let profile = server.get(&format!("/v1/learners/{}/profile", head.did())).json();
    assert_eq!(profile["learner"], current.did().as_str());
    assert_eq!(profile["earlier_keys"].as_array().map(Vec::len), Some(15));
    for path in [format!("/learners/{}", head.did()), format!("/v1/learners/{}/clr", head.did())] {
        let r = server.get(&path);
        assert_eq!(r.status, 200, "{path}: {r:?}");
    }
}

#[test]
fn another_institution_cannot_reuse_a_credential_uuid_or_take_over_its_status() {
    let env = Env::new();
    let server = env.serve(&[]);
    let other = env.keygen("other-institution.key");
    env.remote_ok(&server, &["issuer", "register", "--name", "Southside Institute", "--key", &other.did]);
    // Institution A's credential, and the status URL inside its exported standard form.
    let course = give_learner_a_course(&env, &server, "Welding I");
    let uuid = course["body"]["credential_uuid"].as_str().expect("a uuid").to_owned();
    let id = id_of(&course.to_string());
    let vc = server.get(&format!("/v1/credentials/{id}/vc")).json();
    let status_url = vc["credentialStatus"]["id"].as_str().expect("a credentialStatus").to_owned();
    assert!(status_url.ends_with(&format!("/v1/status/{uuid}")), "{status_url}");
    let status_path = format!("/v1/status/{uuid}");
    let before = server.get(&status_path);
    assert_eq!(before.status, 200, "{before:?}");
    assert_eq!(before.json()["credential"], id.as_str());
    assert_eq!(before.json()["status"], "active");

    // Institution B issues its own credential under A's uuid: refused.
    let b = read_key(&other.path);
    let stranger = SecretKey::generate().expect("a key");
    let hijack = signed(&b, certificate(stranger.did(), &uuid).for_ledger(ORIGIN));
    refused(&server, &env.operator, &hijack, 409, "duplicate-uuid", &["body.credential_uuid", &uuid, &id]);
    // Nor may B revoke A's credential itself.
    let credential = id.parse().expect("an id");
    let revoke = StatusChange { credential, reason: "Not yours".into(), ledger: None };
    let revoke = signed(&b, Payload::CredentialRevoked(revoke).for_ledger(ORIGIN));
    refused(&server, &env.operator, &revoke, 403, "other-issuer", &["body.credential"]);
    // B's own credentials, under their own uuids, and their revocation, leave A's status alone.
    let own = signed(&b, certificate(stranger.did(), "0badc0de-0000-4000-8000-000000000001").for_ledger(ORIGIN));
    server.append(&own);
    let revoke =
        StatusChange { credential: id_of(&own).parse().expect("an id"), reason: "In error".into(), ledger: None };
    server.append(&signed(&b, Payload::CredentialRevoked(revoke).for_ledger(ORIGIN)));
    let after = server.get(&status_path);
    assert_eq!(after.body, before.body, "A's status changed");
}

#[test]
fn events_dated_in_the_future_are_refused() {
    let env = Env::new();
    let server = env.serve(&[]);
    let issuer = read_key(&env.issuer.path);
    let learner = env.learner.did();
    let far: Timestamp = "9999-12-31T23:59:59Z".parse().expect("a timestamp");
    for (n, ahead) in [now() + Duration::days(366), far.0].into_iter().enumerate() {
        let uuid = format!("0badc0de-0000-4000-8000-{n:012x}");
        let event = signed_at(&issuer, ahead, certificate(&learner, &uuid).for_ledger(ORIGIN));
        let shown = Timestamp::whole_seconds(ahead).to_string();
        refused(
            &server,
            &env.operator,
            &event,
            422,
            "future-event",
            &["created_at", &shown, "ahead of the ledger's clock"],
        );
    }
    // An author's clock a minute fast is no attack.
    let event = signed_at(
        &issuer,
        now() + Duration::minutes(1),
        certificate(&learner, "0badc0de-0000-4000-8000-0000000000ff").for_ledger(ORIGIN),
    );
    server.append(&event);
    // Before 1970, or on a leap second: not a time the ledger takes.
    let epoch = OffsetDateTime::UNIX_EPOCH;
    let early = signed_at(
        &issuer,
        epoch - Duration::seconds(1),
        certificate(&learner, "0badc0de-0000-4000-8000-000000000100").for_ledger(ORIGIN),
    );
    refused(&server, &env.operator, &early, 422, "schema", &["created_at", "before 1970"]);
    let mut leap: Value = serde_json::from_str(&event).expect("an event");
    leap["created_at"] = "2016-12-31T23:59:60Z".into();
    refused(&server, &env.operator, &leap.to_string(), 422, "schema", &["created_at", "leap second"]);
}

#[test]
fn events_signed_for_another_log_or_for_none_are_refused() {
    let env = Env::new();
    let server = env.serve(&[]);
    let operator = read_key(&env.path("ledger/operator.key"));
    let issuer = read_key(&env.issuer.path);
    let learner = read_key(&env.learner.path);
    let course = give_learner_a_course(&env, &server, "Welding I");
    let credential = id_of(&course.to_string()).parse().expect("an id");
    let newcomer = SecretKey::generate().expect("a key");
    let new_key = SecretKey::generate().expect("a key");
    // One event of each kind the issue names, as its rightful author signs it.
    let registration = Payload::IssuerRegistered(IssuerRegistered {
        issuer: newcomer.did().clone(),
        name: "Eastside Academy".into(),
        category: IssuerCategory::Provider,
        ledger: None,
    });
    let started = Payload::ApprenticeshipStarted(ApprenticeshipStarted {
        learner: learner.did().clone(),
        title: "Electrician Apprenticeship".into(),
        employer: "Bright Sparks Ltd".into(),
        started_on: "2026-01-05".parse().expect("a date"),
        ledger: None,
    });
    let revocation = Payload::CredentialRevoked(StatusChange { credential, reason: "In error".into(), ledger: None });
    let cases: [(&str, SignFor); 4] = [
        ("issuer.registered", Box::new(|origin| sign_for(&operator, registration.clone(), origin))),
        ("learner.key_linked", Box::new(|origin| link(&learner, &new_key, origin))),
        ("apprenticeship.started", Box::new(|origin| sign_for(&issuer, started.clone(), origin))),
        ("credential.revoked", Box::new(|origin| sign_for(&issuer, revocation.clone(), origin))),
    ];
    for (kind, event) in &cases {
        let theirs = event(Some(OTHER_ORIGIN));
        assert!(theirs.contains(kind), "{theirs}");
        refused(&server, &env.operator, &theirs, 409, "other-ledger", &["body.ledger", OTHER_ORIGIN, ORIGIN]);
        let unbound = event(None);
        let detail = refused(&server, &env.operator, &unbound, 422, "unbound-event", &["body.ledger"]);
        assert_eq!(detail, format!("body.ledger: required: name the log this event is for (`{ORIGIN}`)"));
    }
    // Named for this log, each is accepted.
    for (_, event) in &cases {
        server.append(&event(Some(ORIGIN)));
    }
}

/// Signs one event, for the log it is given (`None`: no log named).
type SignFor<'a> = Box<dyn Fn(Option<&str>) -> String + 'a>;

/// `payload` signed by `key` now, for the log `origin` (`None`: no log named).
fn sign_for(key: &SecretKey, payload: Payload, origin: Option<&str>) -> String {
    match origin {
        Some(origin) => signed(key, payload.for_ledger(origin)),
        None => signed(key, payload),
    }
}

/// `key` declared compromised since `since`, by whoever signs it, for this log.
fn declared(key: &Did, since: OffsetDateTime) -> Payload {
    Payload::KeyRevoked(KeyRevoked {
        issuer: None,
        key: key.clone(),
        reason: "Key stolen".into(),
        compromised_since: Some(Timestamp::whole_seconds(since)),
        ledger: None,
    })
    .for_ledger(ORIGIN)
}

/// Issue 14: with a stolen key a thief declared the institution's other key compromised since
/// 1970, and a key the thief added went on issuing after the theft was declared. An issuer's
/// declaration is bounded by the key's addition (422 compromised-since), a declaration names an
/// earlier time than a standing one or nothing (409), and a key added under a compromised key
/// signs nothing once that is declared (403 revoked-key, saying compromised).
#[test]
fn declarations_of_compromise_are_bounded_and_void_keys_sign_nothing() {
    let env = Env::new();
    let server = env.serve(&[]);
    let stolen = read_key(&env.issuer.path);
    let (second, thiefs) = (read_key(&env.keygen("second.key").path), read_key(&env.keygen("thief.key").path));
    let added = |by: &SecretKey, key: &SecretKey| {
        signed(
            by,
            Payload::KeyAdded(KeyAdded { issuer: None, key: key.did().clone(), ledger: None }).for_ledger(ORIGIN),
        )
    };
    server.append(&added(&stolen, &second));
    let epoch = OffsetDateTime::UNIX_EPOCH;
    let detail = refused(
        &server,
        &env.operator,
        &signed(&stolen, declared(second.did(), epoch)),
        422,
        "compromised-since",
        &["body.compromised_since", "1970-01-01T00:00:00Z", "only the operator"],
    );
    assert!(detail.contains(second.did().as_str()), "{detail}");

    let registered =
        server.all_records()[1]["recorded_at"].as_str().expect("a time").parse::<Timestamp>().expect("time").0;
    server.append(&added(&stolen, &thiefs));
    server.append(&signed(&second, declared(stolen.did(), registered)));
    let forged =
        signed(&thiefs, certificate(&env.learner.did(), "0d1f6a52-61c3-4c1e-9d7e-1b1c6a3e5f01").for_ledger(ORIGIN));
    let detail =
        refused(&server, &env.operator, &forged, 403, "revoked-key", &["author", thiefs.did().as_str(), "compromised"]);
    assert!(detail.contains(stolen.did().as_str()), "names the compromised key it was added under: {detail}");
    // Signed again (another created_at, so not a retry of the same event).
    let again = signed_at(&second, now() - Duration::seconds(2), declared(stolen.did(), registered));
    refused(
        &server,
        &env.operator,
        &again,
        409,
        "duplicate-key-revocation",
        &["body.compromised_since", "already declared compromised"],
    );
}
