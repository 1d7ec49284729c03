//! End-to-end tests of `credledger serve`: every test sets up a ledger with the real binary in its
//! own temporary directory, starts the real server on 127.0.0.1:0 (learning the port from the
//! first stdout line), talks to it over HTTP with ureq or with the CLI's `--server URL`, and
//! kills the server when it ends (the [`Server`] guard). No blind sleeps: the server is ready when
//! `/healthz` answers, and every wait is bounded.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use credledger::checkpoint::Checkpoint;
use credledger::merkle;
use serde_json::{Value, json};

use common::*;

// ---------------------------------------------------------------------------------------------
// POST /v1/events
// ---------------------------------------------------------------------------------------------

#[test]
fn one_event_is_created_then_the_same_event_is_already_present() {
    let env = Env::new();
    let server = env.serve(&[]);
    let event = env.emit_course(&env.issuer, "Welding I");
    let id = id_of(&event);

    let first = server.post_events(&event);
    assert_eq!(first.status, 201, "{first:?}");
    assert_eq!(first.media_type(), "application/json");
    assert_eq!(first.json(), json!({"seq": SETUP_RECORDS, "id": id}));

    let again = server.post_events(&event);
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.json(), json!({"seq": SETUP_RECORDS, "id": id}));

    assert_eq!(server.size(&env.operator), SETUP_RECORDS + 1);
    let records = server.all_records();
    assert_eq!(records.len() as u64, SETUP_RECORDS + 1);
    let last = &records[SETUP_RECORDS as usize];
    assert_eq!(last["seq"], SETUP_RECORDS);
    assert_eq!(last["event"], serde_json::from_str::<Value>(&event).expect("JSON"));
    assert_eq!(record_id(last), id);

    let metrics = server.metrics();
    assert_eq!(metric(&metrics, "credledger_appends_total"), Some(1.0), "{metrics}");
    assert_eq!(metric(&metrics, "credledger_duplicates_total"), Some(1.0), "{metrics}");
}

#[test]
fn an_array_is_judged_event_by_event_with_indexed_problems() {
    let env = Env::new();
    let server = env.serve(&[]);
    let present = env.emit_course(&env.issuer, "Welding I");
    let present_seq = server.append(&present);
    let new_one = env.emit_course(&env.issuer, "Welding II");
    let forged = with_body_field(&env.emit_course(&env.issuer, "Welding III"), "title", json!("Welding IV"));
    let stranger = env.keygen("stranger.key");
    let unregistered = env.emit_course(&stranger, "Welding V");
    let no_title = with_body_field(&env.emit_course(&env.issuer, "Welding VI"), "title", Value::Null);
    let new_two = env.emit_course(&env.issuer, "Welding VII");
    let size = server.size(&env.operator);

    let body = format!("[{present},{new_one},{forged},{unregistered},{no_title},{new_two}]");
    let r = server.post_events(body);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.media_type(), "application/json");
    let answer = r.json();
    assert_eq!(answer["appended"], 2, "{answer}");
    assert_eq!(answer["rejected"], 3, "{answer}");
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 6, "{answer}");
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["index"], i, "{result}");
    }
    assert_eq!(results[0], json!({"index": 0, "seq": present_seq, "id": id_of(&present), "new": false}));
    assert_eq!(results[1], json!({"index": 1, "seq": size, "id": id_of(&new_one), "new": true}));
    assert_eq!(results[5], json!({"index": 5, "seq": size + 1, "id": id_of(&new_two), "new": true}));
    for (i, status, code) in [(2, 422, "bad-signature"), (3, 403, "unauthorized-issuer"), (4, 422, "schema")] {
        let p = &results[i];
        assert!(p["type"].as_str().is_some_and(|t| t.ends_with(&format!("/problems/{code}"))), "{i}: {p}");
        assert_eq!(p["status"], status, "{i}: {p}");
        assert!(p["detail"].as_str().is_some_and(|d| !d.is_empty()), "{i}: {p}");
        assert!(p.get("seq").is_none(), "{i}: {p}");
    }
    assert_eq!(server.size(&env.operator), size + 2);
}

#[test]
fn every_rejection_is_a_typed_problem_and_leaves_the_log_alone() {
    let env = Env::new();
    let server = env.serve(&[]);
    let course = env.emit_course(&env.issuer, "Welding I");
    let credential = id_of(&course);
    server.append(&course);
    server.append(&env.emit_revoke(&credential, "issued in error"));
    let (before, _) = server.checkpoint(&env.operator);
    let records_before = server.all_records();
    let unchanged = |what: &str| {
        assert_eq!(server.size(&env.operator), before.size, "{what} changed the checkpoint's size");
        assert_eq!(server.all_records(), records_before, "{what} changed the log");
    };

    for text in ["{\"v\": 1, \"kind\": ", "not json at all", "{\"a\": 1, \"a\": 2}"] {
        assert_problem(&server.post_events(text), 400, "malformed-json");
        unchanged("malformed JSON");
    }

    assert_problem(&server.post_events("[]"), 400, "empty");
    unchanged("an empty array");

    let missing = with_body_field(&env.emit_course(&env.issuer, "Welding II"), "title", Value::Null);
    let p = assert_problem(&server.post_events(&missing), 422, "schema");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("title")), "the detail names the field: {p}");
    unchanged("a schema failure");

    let forged = with_body_field(&env.emit_course(&env.issuer, "Welding III"), "credits", json!(30));
    assert_problem(&server.post_events(&forged), 422, "bad-signature");
    unchanged("a forged event");

    let stranger = env.keygen("stranger.key");
    assert_problem(&server.post_events(env.emit_course(&stranger, "Welding IV")), 403, "unauthorized-issuer");
    unchanged("an unregistered issuer");

    let second_revocation = env.emit_revoke(&credential, "revoked twice");
    assert_problem(&server.post_events(&second_revocation), 409, "duplicate-revocation");
    unchanged("a duplicate revocation");

    let metrics = server.metrics();
    for (reason, n) in [
        ("malformed-json", 3.0),
        ("schema", 1.0),
        ("bad-signature", 1.0),
        ("unauthorized-issuer", 1.0),
        ("duplicate-revocation", 1.0),
    ] {
        let name = format!("credledger_rejects_total{{reason=\"{reason}\"}}");
        assert_eq!(metric(&metrics, &name), Some(n), "{name}: {metrics}");
    }
    assert_eq!(metric(&metrics, "credledger_appends_total"), Some(2.0), "{metrics}");
}

#[test]
fn a_body_over_the_configured_limit_is_413() {
    let env = Env::new();
    let server = env.serve(&["--body-limit", "2048"]);
    let events: Vec<String> = (0..5).map(|i| env.emit_course(&env.issuer, &format!("Welding {i}"))).collect();
    let big = format!("[{}]", events.join(","));
    assert!((2500..4000).contains(&big.len()), "about 3 KB: {}", big.len());
    let size = server.size(&env.operator);

    let p = assert_problem(&server.post("/v1/events", &big), 413, "payload-too-large");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains("2048")), "{p}");
    assert_eq!(server.size(&env.operator), size);
    assert_problem(&server.post("/v1/verify", &big), 413, "payload-too-large");
    assert_problem(&server.post("/v1/bundles", &big), 413, "payload-too-large");

    // Under the limit, the same server appends.
    assert!(events[0].len() < 2048);
    assert_eq!(server.append(&events[0]), size);
    assert_eq!(server.size(&env.operator), size + 1);
}

#[test]
fn a_body_over_the_default_limit_of_one_mib_is_413() {
    let env = Env::new();
    let server = env.serve(&[]);
    let event = env.emit_course(&env.issuer, "Welding I");
    let copies = (2 << 20) / event.len() + 1;
    let big = format!("[{}]", vec![event.as_str(); copies].join(","));
    assert!(big.len() > 2 << 20);
    let size = server.size(&env.operator);
    let p = assert_problem(&server.post("/v1/events", &big), 413, "payload-too-large");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains(&(1 << 20).to_string())), "{p}");
    assert_eq!(server.size(&env.operator), size);
    assert_eq!(server.append(&event), size);
}

#[test]
fn a_413_announces_that_the_connection_closes() {
    let env = Env::new();
    let server = env.serve(&[]);
    let big = format!("[{}]", " ".repeat(2 << 20));
    for _ in 0..3 {
        let r = server.post_events(&big);
        assert_problem(&r, 413, "payload-too-large");
        // The rest of the body may be unread: the connection must not carry another request.
        assert_eq!(r.connection.as_deref(), Some("close"), "{r:?}");
        // The same agent's next request works (on a new connection).
        assert_eq!(server.get("/healthz").status, 200);
    }
}

// ---------------------------------------------------------------------------------------------
// Reads and proofs
// ---------------------------------------------------------------------------------------------

#[test]
fn records_checkpoints_and_proofs_verify_against_the_operator_key() {
    let env = Env::new();
    let server = env.serve(&[]);
    for title in ["Welding I", "Welding II", "Welding III"] {
        server.append(&env.emit_course(&env.issuer, title));
    }
    let (first, text) = server.checkpoint(&env.operator);
    assert_eq!(first.size, SETUP_RECORDS + 3);
    let other_operator = env.keygen("other-operator.key").did();
    assert!(Checkpoint::verify(&text, &other_operator).is_err(), "another key's checkpoint must not verify");

    let records = server.all_records();
    assert_eq!(records.len() as u64, first.size);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["seq"], i, "{record}");
        assert!(record["recorded_at"].is_string(), "{record}");
    }
    assert_eq!(records[0]["event"]["kind"], "ledger.genesis");
    assert_eq!(records[1]["event"]["kind"], "issuer.registered");

    let page = server.get("/v1/events?from=2&limit=2").json();
    assert_eq!(page.as_array().map(|p| p.iter().map(|r| r["seq"].clone()).collect()), Some(vec![json!(2), json!(3)]));
    assert_eq!(server.get("/v1/events?from=99").json(), json!([]));

    // Every record's inclusion in the first checkpoint's tree.
    for (seq, record) in records.iter().enumerate() {
        let r = server.get(&format!("/v1/proofs/inclusion?seq={seq}&size={}", first.size));
        assert_eq!(r.status, 200, "{r:?}");
        let proof = r.json();
        assert_eq!((proof["seq"].clone(), proof["size"].clone()), (json!(seq), json!(first.size)));
        let leaf = leaf_of(record);
        assert_eq!(hash(&proof["leaf_hash"]), leaf, "the leaf hash is the record's");
        merkle::verify_inclusion(&leaf, seq as u64, first.size, &hashes(&proof["path"]), &first.root)
            .unwrap_or_else(|e| panic!("seq {seq}: {e}"));
    }

    // Append, then the new checkpoint extends the old one.
    server.append(&env.emit_course(&env.issuer, "Welding IV"));
    server.append(&env.emit_course(&env.issuer, "Welding V"));
    let (second, _) = server.checkpoint(&env.operator);
    assert_eq!(second.size, first.size + 2);
    let r = server.get(&format!("/v1/proofs/consistency?from={}&to={}", first.size, second.size));
    assert_eq!(r.status, 200, "{r:?}");
    let proof = r.json();
    assert_eq!((proof["from"].clone(), proof["to"].clone()), (json!(first.size), json!(second.size)));
    let path = hashes(&proof["path"]);
    merkle::verify_consistency(first.size, second.size, &first.root, &second.root, &path).expect("consistent");
    assert!(
        merkle::verify_consistency(first.size, second.size, &second.root, &first.root, &path).is_err(),
        "the proof is specific to the two roots"
    );

    // Without `size`, the proof is for the whole log.
    let proof = server.get("/v1/proofs/inclusion?seq=1").json();
    assert_eq!(proof["size"], second.size);
    let leaf = hash(&proof["leaf_hash"]);
    merkle::verify_inclusion(&leaf, 1, second.size, &hashes(&proof["path"]), &second.root).expect("included");
    assert!(merkle::verify_inclusion(&leaf, 1, second.size, &hashes(&proof["path"]), &first.root).is_err());

    let n = second.size;
    for query in [
        format!("/v1/proofs/inclusion?seq={n}&size={n}"),
        format!("/v1/proofs/inclusion?seq=0&size={}", n + 1),
        format!("/v1/proofs/inclusion?seq={}", n + 5),
        "/v1/proofs/inclusion?seq=0&size=0".to_owned(),
        format!("/v1/proofs/consistency?from={n}&to=2"),
        format!("/v1/proofs/consistency?from=1&to={}", n + 1),
    ] {
        assert_problem(&server.get(&query), 400, "bad-proof-request");
    }
}

#[test]
fn a_page_of_events_holds_at_most_1000_records() {
    let env = Env::new();
    let server = env.serve(&[]);
    let events = certificates(&env.issuer.path, &env.learner.did(), 1, 1100);
    // One request takes at most 1000 events.
    for chunk in events.chunks(1000) {
        let body = format!("[{}]", chunk.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>().join(","));
        let r = server.post_events(&body);
        assert_eq!(r.status, 200, "{r:?}");
        let answer = r.json();
        assert_eq!((answer["appended"].clone(), answer["rejected"].clone()), (json!(chunk.len()), json!(0)));
    }
    let total = SETUP_RECORDS + 1100;
    assert_eq!(server.size(&env.operator), total);

    let seqs = |path: &str| -> Vec<u64> {
        let r = server.get(path);
        assert_eq!(r.status, 200, "{r:?}");
        r.json().as_array().expect("an array").iter().map(|r| r["seq"].as_u64().expect("seq")).collect()
    };
    assert_eq!(seqs("/v1/events?limit=5000"), (0..1000).collect::<Vec<_>>());
    assert_eq!(seqs("/v1/events?from=0&limit=1000"), (0..1000).collect::<Vec<_>>());
    assert_eq!(seqs("/v1/events?from=1000&limit=5000"), (1000..total).collect::<Vec<_>>());
    assert_eq!(seqs("/v1/events"), (0..100).collect::<Vec<_>>(), "the default page is 100");

    // The CLI pages through the whole log.
    let log = env.remote_ok(&server, &["--json", "log"]).json();
    let ids: Vec<String> = log.as_array().expect("records").iter().map(record_id).collect();
    assert_eq!(ids.len() as u64, total);
    assert_eq!(ids[SETUP_RECORDS as usize..], events.iter().map(|(_, id)| id.clone()).collect::<Vec<_>>());
}

#[test]
fn profiles_credentials_and_issuers_over_http() {
    let env = Env::new();
    let server = env.serve(&[]);
    let course = env.emit_course(&env.issuer, "Welding I");
    let id = id_of(&course);
    let seq = server.append(&course);

    let r = server.get(&format!("/v1/credentials/{id}"));
    assert_eq!(r.status, 200, "{r:?}");
    let found = r.json();
    assert_eq!(found["status"]["id"], id);
    assert_eq!(found["status"]["state"], "active");
    assert_eq!(found["status"]["learner"], env.learner.did);
    assert_eq!(found["status"]["issuer"], env.issuer.did);
    assert_eq!(found["record"]["seq"], seq);
    assert_eq!(found["record"]["event"], serde_json::from_str::<Value>(&course).expect("JSON"));

    let profile_path = format!("/v1/learners/{}/profile", env.learner.did);
    let profile = server.get(&profile_path).json();
    assert_eq!(profile["learner"], env.learner.did);
    assert_eq!(profile["as_of_seq"], seq);
    let credentials = profile["credentials"].as_array().expect("credentials");
    assert_eq!(credentials.len(), 1, "{profile}");
    assert_eq!(credentials[0]["id"], id);
    assert_eq!(credentials[0]["title"], "Welding I");
    assert_eq!(credentials[0]["status"], "active");
    assert_eq!(credentials[0]["issuer"]["name"], ISSUER_NAME);
    assert_eq!(credentials[0]["issuer"]["did"], env.issuer.did);
    assert_eq!(profile["totals"]["credits"], 3);
    let skills: BTreeSet<&str> =
        profile["skills"].as_array().expect("skills").iter().filter_map(|s| s["id"].as_str()).collect();
    assert_eq!(skills, BTreeSet::from(["esco:welding", "onet:51-4121"]));

    server.append(&env.emit_revoke(&id, "issued in error"));
    assert_eq!(server.get(&format!("/v1/credentials/{id}")).json()["status"]["state"], "revoked");
    let profile = server.get(&profile_path).json();
    assert_eq!(profile["credentials"][0]["status"], "revoked");
    assert_eq!(profile["totals"]["credits"], 0);

    let nobody = env.keygen("nobody.key");
    let empty = server.get(&format!("/v1/learners/{}/profile", nobody.did)).json();
    assert_eq!(empty["credentials"], json!([]));

    assert_problem(&server.get("/v1/learners/not-a-did/profile"), 400, "bad-did");
    assert_problem(&server.get("/v1/learners/did:key:z6Mk/profile"), 400, "bad-did");
    assert_problem(&server.get(&format!("/v1/credentials/{}", "ab".repeat(32))), 404, "not-found");
    assert_problem(&server.get("/v1/credentials/xyz"), 400, "bad-id");
    assert_problem(&server.get(&format!("/v1/credentials/{}", "AB".repeat(32))), 400, "bad-id");

    let r = server.get("/v1/issuers");
    assert_eq!(r.status, 200, "{r:?}");
    let issuers = r.json();
    let issuers = issuers.as_array().expect("an array");
    assert_eq!(issuers.len(), 1, "{issuers:?}");
    assert_eq!(issuers[0]["did"], env.issuer.did);
    assert_eq!(issuers[0]["name"], ISSUER_NAME);
    assert_eq!(issuers[0]["registered_seq"], 1);
    assert!(issuers[0]["keys"].as_array().is_some_and(|k| k.len() == 1), "{issuers:?}");
}

#[test]
fn bundles_are_built_unsigned_and_verified_against_the_ledger() {
    let env = Env::new();
    let server = env.serve(&[]);
    let welding = env.emit_course(&env.issuer, "Welding I");
    server.append(&welding);
    server.append(&env.emit_course(&env.issuer, "Welding II"));

    // POST /v1/bundles: the bundle the learner would sign.
    let r = server.post("/v1/bundles", json!({"learner": env.learner.did}).to_string());
    assert_eq!(r.status, 200, "{r:?}");
    let unsigned = r.json();
    assert_eq!(unsigned["learner"], env.learner.did);
    assert!(unsigned["learner_sig"].as_str().is_none_or(str::is_empty), "{unsigned}");
    assert!(unsigned["entries"].as_array().is_some_and(|e| !e.is_empty()), "{unsigned}");
    let checkpoint = Checkpoint::verify(unsigned["checkpoint"].as_str().expect("checkpoint"), &env.operator)
        .expect("the bundle's checkpoint is the operator's");
    assert_eq!(checkpoint.size, server.size(&env.operator));
    let only = server.post("/v1/bundles", json!({"learner": env.learner.did, "only": [id_of(&welding)]}).to_string());
    assert_eq!(only.status, 200, "{only:?}");
    let report = server.post("/v1/verify", &r.body).json();
    assert_eq!(report["verdict"], "INVALID", "an unsigned bundle is not valid: {report}");

    let nobody = env.keygen("nobody.key");
    assert_problem(&server.post("/v1/bundles", json!({"learner": nobody.did}).to_string()), 422, "cannot-share");
    let unknown = json!({"learner": env.learner.did, "only": ["ab".repeat(32)]});
    assert_problem(&server.post("/v1/bundles", unknown.to_string()), 422, "cannot-share");
    assert_problem(&server.post("/v1/bundles", json!({"learner": "nope"}).to_string()), 400, "bad-did");
    assert_problem(&server.post("/v1/bundles", "{"), 400, "malformed-json");

    // The learner signs it with `share`; the server verifies it.
    env.remote_ok(&server, &["share", "--learner-key", env.learner.path(), "--out", "bundle.json"]);
    let bundle = fs::read_to_string(env.path("bundle.json")).expect("bundle.json");
    let r = server.post("/v1/verify", &bundle);
    assert_eq!(r.status, 200, "{r:?}");
    let report = r.json();
    assert_eq!(report["verdict"], "VALID", "{report}");
    let checks = report["checks"].as_array().expect("checks");
    assert!(!checks.is_empty() && checks.iter().all(|c| c["ok"] == true), "{report}");
    let titles: BTreeSet<&str> =
        report["credentials"].as_array().expect("credentials").iter().filter_map(|c| c["title"].as_str()).collect();
    assert_eq!(titles, BTreeSet::from(["Welding I", "Welding II"]), "{report}");

    // Tampered: one presented title changed after the learner signed.
    let tampered = bundle.replacen("Welding II", "Welding IX", 1);
    assert_ne!(tampered, bundle);
    let r = server.post("/v1/verify", &tampered);
    assert_eq!(r.status, 200, "INVALID is still a 200: {r:?}");
    let report = r.json();
    assert_eq!(report["verdict"], "INVALID", "{report}");
    assert!(report["checks"].as_array().expect("checks").iter().any(|c| c["ok"] == false), "{report}");

    let r = server.post("/v1/verify", "this is not a bundle");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["verdict"], "INVALID");
}

/// Issue 14: a learner moves to a new key with `learner link-key --server`. A bundle for the new
/// key from the unauthenticated `POST /v1/bundles`, with the key link left out, the old key named
/// as the learner and signing it, is INVALID: the operator's status statement names the holder.
#[test]
fn a_learner_moves_keys_through_the_server_and_cannot_present_the_old_key_instead() {
    let env = Env::new();
    let server = env.serve(&[]);
    server.append(&env.emit_course(&env.issuer, "Welding I"));
    let new_path = env.path("learner-2026.key");
    let new_path = new_path.to_str().expect("utf-8 path");
    env.remote_ok(&server, &["learner", "link-key", "--old-key", env.learner.path(), "--new-key", new_path]);
    let old = credledger::SecretKey::read_file(&env.learner.path).expect("the old key");
    let new = credledger::SecretKey::read_file(std::path::Path::new(new_path)).expect("the new key");
    let profile = server.get(&format!("/v1/learners/{}/profile", env.learner.did)).json();
    assert_eq!(profile["learner"], new.did().as_str(), "{profile}");

    let r = server.post("/v1/bundles", json!({"learner": new.did()}).to_string());
    assert_eq!(r.status, 200, "{r:?}");
    let mut bundle: credledger::bundle::Bundle = serde_json::from_value(r.json()).expect("a bundle");
    assert_eq!(&bundle.status.holder, new.did());
    let linked = |e: &credledger::bundle::Entry| e.record["event"]["kind"] == "learner.key_linked";
    assert!(bundle.entries.iter().any(linked));
    bundle.entries.retain(|e| !linked(e));
    bundle.learner = old.did().clone();
    let forged = serde_json::to_string(&bundle.signed(&old)).expect("JSON");
    let report = server.post("/v1/verify", &forged).json();
    assert_eq!(report["verdict"], "INVALID", "{report}");
    let holder = report["checks"].as_array().expect("checks").iter().find(|c| c["name"] == "learner.holder");
    let holder = holder.expect("the holder check");
    assert_eq!(holder["ok"], false, "{report}");
    let detail = holder["detail"].as_str().expect("a detail");
    assert!(detail.contains(new.did().as_str()) && detail.contains("as the holder now"), "{detail}");

    // The learner's own bundle, from the new key, is valid.
    env.remote_ok(&server, &["share", "--learner-key", new_path, "--out", "bundle.json"]);
    let honest = fs::read_to_string(env.path("bundle.json")).expect("bundle.json");
    assert_eq!(server.post("/v1/verify", &honest).json()["verdict"], "VALID");
}

// ---------------------------------------------------------------------------------------------
// Service endpoints and pages
// ---------------------------------------------------------------------------------------------

#[test]
fn health_openapi_pages_and_unknown_paths() {
    let env = Env::new();
    let server = env.serve(&[]);

    let r = server.get("/healthz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok\n"));

    let r = server.get("/openapi.json");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.media_type(), "application/json");
    let doc = r.json();
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "{:?}", paths.keys().collect::<Vec<_>>());
    for path in [
        "/v1/events",
        "/v1/checkpoint",
        "/v1/proofs/inclusion",
        "/v1/proofs/consistency",
        "/v1/learners/{did}/profile",
        "/v1/credentials/{id}",
        "/v1/issuers",
        "/v1/verify",
        "/v1/bundles",
        "/healthz",
        "/metrics",
        "/openapi.json",
        "/verify",
        "/learners/{did}",
    ] {
        assert!(paths.contains_key(path), "{path} is not documented: {:?}", paths.keys().collect::<Vec<_>>());
    }
    assert!(paths["/v1/events"].get("get").is_some() && paths["/v1/events"].get("post").is_some());

    // The verify page: a form, and a label for every control.
    let r = server.get("/verify");
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.media_type(), "text/html");
    assert!(r.body.contains("<form"), "{}", r.body);
    let controls = control_ids(&r.body);
    assert!(controls.len() >= 3, "{controls:?}");
    for id in &controls {
        assert!(r.body.contains(&format!("<label for=\"{id}\"")), "no label for #{id}");
    }
    for asset in ["/assets/verify.js", "/assets/style.css"] {
        assert!(r.body.contains(asset), "the page links {asset}");
        assert_eq!(server.get(asset).status, 200, "{asset}");
    }

    // The learner's page, with the titles escaped.
    server.append(&env.emit_course(&env.issuer, "Intro & <Rust>"));
    server.append(&env.emit_course(&env.issuer, "Safety \"First\" 'Aid'"));
    let r = server.get(&format!("/learners/{}", env.learner.did));
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.media_type(), "text/html");
    assert!(r.body.contains("Intro &amp; &lt;Rust&gt;"), "{}", r.body);
    assert!(r.body.contains("Safety &quot;First&quot; &#39;Aid&#39;"), "{}", r.body);
    assert!(!r.body.contains("<Rust>"), "{}", r.body);
    assert!(r.body.contains(&env.learner.did), "{}", r.body);
    assert!(r.body.contains(ISSUER_NAME), "{}", r.body);
    assert_problem(&server.get("/learners/not-a-did"), 400, "bad-did");

    for path in ["/no/such/path", "/v1/nothing", "/v2/events"] {
        assert_problem(&server.get(path), 404, "not-found");
    }
    assert_problem(&server.post("/v1/nothing", "{}"), 404, "not-found");
}

#[test]
fn malformed_query_parameters_are_problems() {
    let env = Env::new();
    let server = env.serve(&[]);
    let answers = [
        ("from", server.get("/v1/events?from=abc")),
        ("limit", server.get("/v1/events?limit=-1")),
        ("seq", server.get("/v1/proofs/inclusion")),
        ("seq", server.get("/v1/proofs/inclusion?seq=x")),
        ("to", server.get("/v1/proofs/consistency?from=1")),
        ("max_age", server.post("/v1/verify?max_age=abc", "{}")),
    ];
    for (parameter, r) in answers {
        assert_eq!(r.status, 400, "{r:?}");
        assert_eq!(r.media_type(), PROBLEM_JSON, "{r:?}");
        let problem = r.json();
        assert!(problem["type"].as_str().is_some_and(|t| t.starts_with("https://credledger.dev/problems/")), "{r:?}");
        assert_eq!(problem["status"], 400, "{r:?}");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains(parameter)), "names `{parameter}`: {r:?}");
    }
}

/// The ids of the form controls (`input`, `textarea`, `select`) in a page.
fn control_ids(html: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for tag in ["<input", "<textarea", "<select"] {
        for (at, _) in html.match_indices(tag) {
            let element = &html[at..at + html[at..].find('>').expect("a closed tag")];
            let id = element
                .split_once("id=\"")
                .and_then(|(_, rest)| rest.split_once('"'))
                .map(|(id, _)| id.to_owned())
                .unwrap_or_else(|| panic!("a control without an id: {element}"));
            ids.push(id);
        }
    }
    ids
}

#[test]
fn metrics_count_appends_rejects_size_and_latency() {
    let env = Env::new();
    let server = env.serve(&[]);
    let events: Vec<String> = (0..3).map(|i| env.emit_course(&env.issuer, &format!("Welding {i}"))).collect();
    for event in &events {
        server.append(event);
    }
    assert_eq!(server.post_events(&events[0]).status, 200);
    let forged = with_body_field(&env.emit_course(&env.issuer, "Welding X"), "title", json!("Welding Y"));
    assert_problem(&server.post_events(&forged), 422, "bad-signature");

    let text = server.metrics();
    assert_eq!(metric(&text, "credledger_appends_total"), Some(3.0), "{text}");
    assert_eq!(metric(&text, "credledger_duplicates_total"), Some(1.0), "{text}");
    assert_eq!(metric(&text, "credledger_rejects_total{reason=\"bad-signature\"}"), Some(1.0), "{text}");
    assert_eq!(metric(&text, "credledger_log_size"), Some((SETUP_RECORDS + 3) as f64), "{text}");
    let groups = metric(&text, "credledger_commit_groups_total").expect("commit groups");
    assert!((1.0..=5.0).contains(&groups), "{text}");
    for line in [
        "# TYPE credledger_appends_total counter",
        "# TYPE credledger_rejects_total counter",
        "# TYPE credledger_log_size gauge",
        "# TYPE credledger_request_duration_seconds histogram",
    ] {
        assert!(text.lines().any(|l| l == line), "no `{line}`: {text}");
    }
    let count = metric(&text, "credledger_request_duration_seconds_count").expect("count");
    let inf = metric(&text, "credledger_request_duration_seconds_bucket{le=\"+Inf\"}").expect("+Inf");
    assert_eq!(count, inf, "{text}");
    // At least the 5 posts above, and the health check that found the server ready.
    assert!(count >= 6.0, "{text}");
    assert!(metric(&text, "credledger_request_duration_seconds_sum").is_some_and(|s| s > 0.0), "{text}");
    let buckets: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("credledger_request_duration_seconds_bucket{"))
        .map(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()).expect("a count"))
        .collect();
    assert!(buckets.len() >= 2 && buckets.windows(2).all(|w| w[0] <= w[1]), "cumulative buckets: {text}");
}

// ---------------------------------------------------------------------------------------------
// The CLI against a server
// ---------------------------------------------------------------------------------------------

#[test]
fn the_cli_issues_revokes_submits_reads_and_shares_through_the_server() {
    let env = Env::new();
    let server = env.serve(&[]);
    let (start, _) = server.checkpoint(&env.operator);

    let issued = env.remote_ok(
        &server,
        &[
            "issue",
            "course",
            "--issuer-key",
            env.issuer.path(),
            "--learner",
            &env.learner.did,
            "--title",
            "Welding I",
            "--code",
            "WLD-101",
            "--skills",
            "esco:welding=Welding",
            "--credits",
            "4",
            "--completed",
            "2026-01-15",
        ],
    );
    let lines: Vec<&str> = issued.stdout.lines().collect();
    assert!(lines.len() >= 2, "{issued:?}");
    let course = lines[0].to_owned();
    assert_eq!(lines[1], SETUP_RECORDS.to_string(), "{issued:?}");
    assert_eq!(server.get(&format!("/v1/credentials/{course}")).json()["status"]["state"], "active");

    let cert = env
        .remote_ok(
            &server,
            &[
                "--json",
                "issue",
                "certificate",
                "--issuer-key",
                env.issuer.path(),
                "--learner",
                &env.learner.did,
                "--title",
                "Forklift Safety",
                "--skills",
                "esco:forklift",
                "--awarded",
                "2026-02-01",
            ],
        )
        .json();
    // After the course and its key's two signed status lists (current from then on).
    assert_eq!(cert["seq"], SETUP_RECORDS + 3, "{cert}");
    let cert = cert["id"].as_str().expect("id").to_owned();

    env.remote_ok(&server, &["revoke", "--issuer-key", env.issuer.path(), "--credential", &cert, "--reason", "error"]);
    assert_eq!(server.get(&format!("/v1/credentials/{cert}")).json()["status"]["state"], "revoked");
    let again =
        env.remote(&server, &["revoke", "--issuer-key", env.issuer.path(), "--credential", &cert, "--reason", "again"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("revoked"), "{again:?}");

    // submit: JSON Lines, one of them already on the log.
    let a = env.emit_course(&env.issuer, "Welding II");
    let b = env.emit_course(&env.issuer, "Welding III");
    fs::write(env.path("events.jsonl"), format!("{a}\n{b}\n{a}\n")).expect("write");
    let summary = env.remote_ok(&server, &["--json", "submit", "events.jsonl"]).json();
    assert_eq!(summary["appended"], 2, "{summary}");
    assert_eq!(summary["already_present"], 1, "{summary}");
    assert_eq!(summary["rejected"], 0, "{summary}");
    let forged = with_body_field(&env.emit_course(&env.issuer, "Welding IV"), "title", json!("Welding V"));
    fs::write(env.path("forged.jsonl"), format!("{forged}\n")).expect("write");
    let refused = env.remote(&server, &["submit", "forged.jsonl"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("line 1: rejected"), "{refused:?}");

    // The course and its two lists, the certificate, the revocation and its list, two submitted.
    let size = SETUP_RECORDS + 8;
    let (checkpoint, text) = server.checkpoint(&env.operator);
    assert_eq!(checkpoint.size, size);

    let log = env.remote_ok(&server, &["--json", "log"]).json();
    assert_eq!(log.as_array().map(Vec::len), Some(size as usize), "{log}");
    assert_eq!(log, json!(server.all_records()));
    let page = env.remote_ok(&server, &["--json", "log", "--from", "2", "--limit", "2"]).json();
    let seqs: Vec<&Value> = page.as_array().expect("records").iter().map(|r| &r["seq"]).collect();
    assert_eq!(seqs, [&json!(2), &json!(3)]);
    assert!(env.remote_ok(&server, &["log"]).stdout.contains("Welding I"));

    let profile = env.remote_ok(&server, &["--json", "profile", &env.learner.did]).json();
    let states: BTreeMap<&str, &str> = profile["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .map(|c| (c["title"].as_str().expect("title"), c["status"].as_str().expect("status")))
        .collect();
    assert_eq!(states.get("Forklift Safety"), Some(&"revoked"), "{profile}");
    assert_eq!(states.get("Welding I"), Some(&"active"), "{profile}");
    assert_eq!(states.len(), 4, "{profile}");
    assert!(env.remote_ok(&server, &["profile", &env.learner.did]).stdout.contains("Welding III"));

    let printed = env.remote_ok(&server, &["checkpoint"]);
    assert_eq!(printed.stdout.trim_end(), text.trim_end());
    Checkpoint::verify(&printed.stdout, &env.operator).expect("the CLI prints the operator's checkpoint");

    let proof = env.remote_ok(&server, &["--json", "prove", "--seq", "2"]).json();
    assert_eq!(proof["size"], size);
    let records = server.all_records();
    assert_eq!(hash(&proof["leaf_hash"]), leaf_of(&records[2]));
    merkle::verify_inclusion(&leaf_of(&records[2]), 2, size, &hashes(&proof["path"]), &checkpoint.root)
        .expect("included");
    let proof = env
        .remote_ok(&server, &["--json", "prove", "--from", &start.size.to_string(), "--to", &size.to_string()])
        .json();
    merkle::verify_consistency(start.size, size, &start.root, &checkpoint.root, &hashes(&proof["path"]))
        .expect("consistent");

    // share through the server, verify offline.
    let shared = env.remote_ok(&server, &["share", "--learner-key", env.learner.path(), "--out", "b.json"]);
    assert!(shared.stdout.contains("b.json"), "{shared:?}");
    let verified = env.run(&["verify", "b.json", "--operator", env.operator.as_str()]);
    assert_eq!(verified.code, 0, "{verified:?}");
    assert!(verified.stdout.contains("VALID") && !verified.stdout.contains("INVALID"), "{verified:?}");
    let stranger = env.keygen("not-the-operator.key");
    let wrong = env.run(&["verify", "b.json", "--operator", &stranger.did]);
    assert_eq!(wrong.code, 1, "{wrong:?}");
    assert!(wrong.stdout.contains("INVALID"), "{wrong:?}");
}

#[test]
fn log_prints_a_log_of_several_pages_whole_and_in_order_here_and_over_the_server() {
    let env = Env::new();
    env.ok(&["gen-events", "--count", "2100", "--out", "many.jsonl"]);
    env.ok(&["submit", "many.jsonl"]);
    let size = SETUP_RECORDS as usize + 2100;

    let local = env.ok(&["--json", "log"]);
    let records = local.json();
    let seqs: Vec<u64> =
        records.as_array().expect("records").iter().map(|r| r["seq"].as_u64().expect("a seq")).collect();
    assert_eq!(seqs, (0..size as u64).collect::<Vec<_>>(), "every record once, in order, across pages");
    // The whole array as one pretty document, as every other `--json` command prints.
    assert_eq!(local.stdout.trim_end(), serde_json::to_string_pretty(&records).expect("render"));

    // The table: a header, then one line per record.
    let table = env.ok(&["log"]).stdout;
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), size + 1, "{}", &table[..200]);
    assert_eq!(words(lines[0]), ["SEQ", "RECORDED", "KIND", "AUTHOR", "SUMMARY"]);
    assert!(lines.iter().skip(1).zip(0..).all(|(line, seq)| line.starts_with(&format!("{seq} "))));

    // Over the server: the same bytes, read a page at a time.
    let server = env.serve(&[]);
    assert_eq!(env.remote_ok(&server, &["--json", "log"]).stdout, local.stdout);
    assert_eq!(env.remote_ok(&server, &["log"]).stdout, table);
    let window = env.remote_ok(&server, &["--json", "log", "--from", "990", "--limit", "1020"]).json();
    let seqs: Vec<&Value> = window.as_array().expect("records").iter().map(|r| &r["seq"]).collect();
    assert_eq!((seqs.len(), seqs[0], seqs[1019]), (1020, &json!(990), &json!(2009)));
}

fn words(line: &str) -> Vec<&str> {
    line.split_whitespace().collect()
}

#[test]
fn a_local_command_on_a_served_ledger_points_to_the_server() {
    let env = Env::new();
    let server = env.serve(&[]);
    let ledger = env.ledger();
    let log = env.run(&["--ledger", &ledger, "log"]);
    assert_eq!(log.code, 1, "{log:?}");
    assert!(log.stderr.contains("--server"), "{log:?}");
    let issue = env.run(&[
        "--ledger",
        &ledger,
        "issue",
        "certificate",
        "--issuer-key",
        env.issuer.path(),
        "--learner",
        &env.learner.did,
        "--title",
        "Forklift Safety",
        "--skills",
        "esco:forklift",
        "--awarded",
        "2026-02-01",
    ]);
    assert_eq!(issue.code, 1, "{issue:?}");
    assert!(issue.stderr.contains("--server"), "{issue:?}");
    // The server is unaffected.
    assert_eq!(server.size(&env.operator), SETUP_RECORDS);
    assert_eq!(server.get("/healthz").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Concurrency and shutdown
// ---------------------------------------------------------------------------------------------

#[test]
fn concurrent_appends_get_dense_seqs_and_each_event_once() {
    const THREADS: u32 = 8;
    const EACH: usize = 40;
    let env = Env::new();
    let server = env.serve(&[]);
    let batches: Vec<Vec<(String, String)>> =
        (0..THREADS).map(|t| certificates(&env.issuer.path, &env.learner.did(), t, EACH)).collect();
    let url = format!("{}/v1/events", server.url);
    let statuses: Vec<Vec<(u16, String)>> = thread::scope(|scope| {
        let handles: Vec<_> = batches
            .iter()
            .map(|batch| {
                let (agent, url) = (server.agent.clone(), url.as_str());
                scope.spawn(move || {
                    batch
                        .iter()
                        .map(|(event, _)| {
                            let r = Server::try_post(&agent, url, event.as_bytes())
                                .unwrap_or_else(|e| panic!("POST /v1/events: {e}"));
                            (r.status, r.body)
                        })
                        .collect()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a posting thread")).collect()
    });
    let mut seqs = BTreeSet::new();
    for (batch, answers) in batches.iter().zip(&statuses) {
        for ((_, id), (status, body)) in batch.iter().zip(answers) {
            assert_eq!(*status, 201, "{body}");
            let answer: Value = serde_json::from_str(body).expect("JSON");
            assert_eq!(answer["id"], *id);
            assert!(seqs.insert(answer["seq"].as_u64().expect("seq")), "seq given twice: {answer}");
        }
    }
    let n = SETUP_RECORDS + u64::from(THREADS) * EACH as u64;
    assert_eq!(seqs, (SETUP_RECORDS..n).collect());

    let records = server.all_records();
    assert_eq!(records.len() as u64, n);
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["seq"], i, "dense seqs");
    }
    let mut on_log: BTreeMap<String, usize> = BTreeMap::new();
    for record in &records {
        *on_log.entry(record_id(record)).or_default() += 1;
    }
    for (_, id) in batches.iter().flatten() {
        assert_eq!(on_log.get(id), Some(&1), "{id} is on the log once");
    }
    assert_eq!(server.size(&env.operator), n);

    let metrics = server.metrics();
    let appends = metric(&metrics, "credledger_appends_total").expect("appends");
    assert_eq!(appends, f64::from(THREADS) * EACH as f64, "{metrics}");
    let groups = metric(&metrics, "credledger_commit_groups_total").expect("groups");
    assert!((1.0..=appends).contains(&groups), "{metrics}");
    assert_eq!(metric(&metrics, "credledger_log_size"), Some(n as f64), "{metrics}");
}

/// Posts each event of `batch` in turn until one is not created: the ids answered 201, and the
/// answer that stopped it (none if the connection failed, or the batch ran out).
fn post_until_refused(
    url: &str,
    batch: &[(String, String)],
    acknowledged: &AtomicUsize,
) -> (Vec<String>, Option<Resp>) {
    let agent = agent();
    let mut created = Vec::new();
    for (event, id) in batch {
        match Server::try_post(&agent, url, event.as_bytes()) {
            Ok(r) if r.status == 201 => {
                assert_eq!(r.json()["id"], *id, "{r:?}");
                created.push(id.clone());
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
            Ok(r) => return (created, Some(r)),
            // The server stopped listening.
            Err(_) => return (created, None),
        }
    }
    (created, None)
}

/// Sends SIGTERM to the server and waits (bounded) for a clean exit.
fn terminate(server: &mut Server) {
    let kill = Command::new("kill").args(["-TERM", &server.pid().to_string()]).status().expect("run kill");
    assert!(kill.success(), "kill -TERM failed");
    let status = server.wait_for_exit();
    assert!(status.success(), "the server exits cleanly on SIGTERM: {status:?}; stderr: {}", server.log());
}

/// After the server exited: the ledger directory opens locally, every `created` id is on the log
/// exactly once (and nothing else twice), seqs are dense, the checkpoint covers the log and the
/// audit passes. Returns the log's size.
fn assert_durable(env: &Env, created: &[String]) -> usize {
    let log = env.ok(&["--json", "log"]).json();
    let records = log.as_array().expect("records");
    for (i, record) in records.iter().enumerate() {
        assert_eq!(record["seq"], i, "dense seqs");
    }
    let mut on_log: BTreeMap<String, usize> = BTreeMap::new();
    for record in records {
        *on_log.entry(record_id(record)).or_default() += 1;
    }
    assert!(on_log.values().all(|&n| n == 1), "an event is on the log twice");
    for id in created {
        assert_eq!(on_log.get(id), Some(&1), "acknowledged event {id} is on the log once");
    }
    assert!(records.len() >= created.len() + SETUP_RECORDS as usize);
    env.ok(&["audit"]);
    let text = env.ok(&["checkpoint"]).stdout;
    let checkpoint = Checkpoint::verify(&text, &env.operator).expect("the operator's checkpoint");
    assert_eq!(checkpoint.size, records.len() as u64, "the checkpoint covers the whole log");
    records.len()
}

#[test]
fn sigterm_mid_append_keeps_every_acknowledged_event_exactly_once() {
    const THREADS: u32 = 4;
    const EACH: usize = 150;
    /// SIGTERM goes out once this many appends were acknowledged.
    const BEFORE_SIGTERM: usize = 40;
    let env = Env::new();
    // No write rate limit: 600 appends from one address would otherwise meet 429 before SIGTERM.
    let mut server = env.serve(&["--write-rate", "0"]);
    let batches: Vec<Vec<(String, String)>> =
        (0..THREADS).map(|t| certificates(&env.issuer.path, &env.learner.did(), t, EACH)).collect();
    let url = format!("{}/v1/events", server.url);
    let acknowledged = AtomicUsize::new(0);

    let (created, refused) = thread::scope(|scope| {
        let handles: Vec<_> =
            batches.iter().map(|batch| scope.spawn(|| post_until_refused(&url, batch, &acknowledged))).collect();
        let deadline = Instant::now() + PATIENCE;
        while acknowledged.load(Ordering::SeqCst) < BEFORE_SIGTERM {
            assert!(Instant::now() < deadline, "appends never got going; stderr: {}", server.log());
            thread::sleep(Duration::from_millis(5));
        }
        terminate(&mut server);
        let mut created = Vec::new();
        let mut refused = Vec::new();
        for h in handles {
            let (c, r) = h.join().expect("a posting thread");
            created.extend(c);
            refused.extend(r);
        }
        (created, refused)
    });
    assert!(created.len() >= BEFORE_SIGTERM);
    for r in &refused {
        // Only "shutting down" may come back instead of 201.
        assert_problem(r, 503, "unavailable");
    }
    assert_durable(&env, &created);
}

#[test]
fn sigterm_after_appends_exits_cleanly_and_the_log_is_intact() {
    const THREADS: u32 = 4;
    const EACH: usize = 25;
    let env = Env::new();
    let mut server = env.serve(&[]);
    let batches: Vec<Vec<(String, String)>> =
        (0..THREADS).map(|t| certificates(&env.issuer.path, &env.learner.did(), t, EACH)).collect();
    let url = format!("{}/v1/events", server.url);
    let acknowledged = AtomicUsize::new(0);
    // Each thread's agent (and its kept-alive connection) is gone when the thread ends.
    let created: Vec<String> = thread::scope(|scope| {
        let handles: Vec<_> =
            batches.iter().map(|batch| scope.spawn(|| post_until_refused(&url, batch, &acknowledged))).collect();
        handles
            .into_iter()
            .flat_map(|h| {
                let (created, refused) = h.join().expect("a posting thread");
                assert!(refused.is_none(), "{refused:?}");
                created
            })
            .collect()
    });
    assert_eq!(created.len(), THREADS as usize * EACH);
    terminate(&mut server);
    assert_eq!(assert_durable(&env, &created), SETUP_RECORDS as usize + created.len());
}

/// Reads one HTTP/1.1 answer framed by `Content-Length` from `stream`: its status and body.
fn read_answer(stream: &mut std::net::TcpStream) -> std::io::Result<(u16, String)> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |n| n.trim().parse::<usize>().expect("a content length"));
            if bytes.len() >= end + 4 + length {
                let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
                return Ok((status, String::from_utf8_lossy(&bytes[end + 4..end + 4 + length]).into_owned()));
            }
        }
        match stream.read(&mut chunk)? {
            0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            n => bytes.extend_from_slice(&chunk[..n]),
        }
    }
}

#[test]
fn sigint_stops_gracefully_finishing_the_request_in_flight() {
    use std::io::Write;
    let env = Env::new();
    let mut server = env.serve(&[]);
    let address = server.url.strip_prefix("http://").expect("an http URL").to_owned();
    let (event, id) = certificates(&env.issuer.path, &env.learner.did(), 0, 1).remove(0);
    let mut stream = std::net::TcpStream::connect(&address).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("a read timeout");
    // A first answer on the connection: a worker holds it, not the accept queue.
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n").expect("send");
    assert_eq!(read_answer(&mut stream).expect("the health answer").0, 200);
    // An append in flight: the head and half the body sent when SIGINT comes.
    let (first, rest) = event.as_bytes().split_at(event.len() / 2);
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        event.len()
    );
    stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(first)).expect("send");
    let kill = Command::new("kill").args(["-INT", &server.pid().to_string()]).status().expect("run kill");
    assert!(kill.success(), "kill -INT failed");
    // The server is stopping once it takes no new connection.
    let deadline = Instant::now() + PATIENCE;
    while std::net::TcpStream::connect(&address).is_ok() {
        assert!(Instant::now() < deadline, "the server still accepts connections after SIGINT: {}", server.log());
        thread::sleep(Duration::from_millis(20));
    }
    let sent = stream.write_all(rest);
    sent.unwrap_or_else(|e| panic!("the rest of the body, after SIGINT: {e}; stderr: {}", server.log()));
    let answer = read_answer(&mut stream);
    let (status, body) = answer.unwrap_or_else(|e| panic!("no answer after SIGINT: {e}; stderr: {}", server.log()));
    assert_eq!(status, 201, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).expect("JSON")["id"], id.as_str());
    let exit = server.wait_for_exit();
    assert!(exit.success(), "the server exits cleanly on SIGINT: {exit:?}; stderr: {}", server.log());
    assert_eq!(assert_durable(&env, &[id]), SETUP_RECORDS as usize + 1);
}

/// A certificate for the learner signed by the key in `key`, through the CLI over `server`.
fn issue_through(env: &Env, server: &Server, key: &str, title: &str) -> Output {
    env.remote(
        server,
        &[
            "--json",
            "issue",
            "certificate",
            "--issuer-key",
            key,
            "--learner",
            &env.learner.did,
            "--title",
            title,
            "--skills",
            "esco:forklift",
            "--awarded",
            "2026-02-01",
        ],
    )
}

#[test]
fn rotate_key_through_the_server_commits_both_events_and_retires_the_old_key() {
    let env = Env::new();
    let server = env.serve(&[]);
    let new_key = env.path("issuer-2.key");
    let new_key = new_key.to_str().expect("a utf-8 path");
    let rotated = env.remote_ok(
        &server,
        &["--json", "issuer", "rotate-key", "--issuer-key", env.issuer.path(), "--new-key", new_key],
    );
    let appended = rotated.json();
    let seqs: Vec<u64> = appended.as_array().expect("two events").iter().filter_map(|a| a["seq"].as_u64()).collect();
    assert_eq!(seqs, [SETUP_RECORDS, SETUP_RECORDS + 1], "{rotated:?}");
    let new_did =
        credledger::SecretKey::read_file(std::path::Path::new(new_key)).expect("the new key file").did().to_string();
    let records = server.all_records();
    assert_eq!(records[SETUP_RECORDS as usize]["event"]["kind"], "issuer.key_added");
    assert_eq!(records[SETUP_RECORDS as usize]["event"]["body"]["key"], new_did.as_str());
    assert_eq!(records[SETUP_RECORDS as usize + 1]["event"]["kind"], "issuer.key_revoked");
    assert_eq!(records[SETUP_RECORDS as usize + 1]["event"]["body"]["key"], env.issuer.did.as_str());

    let stale = issue_through(&env, &server, env.issuer.path(), "Stale");
    assert_eq!(stale.code, 1, "the old key is refused: {stale:?}");
    assert!(stale.stderr.contains("revoked"), "{stale:?}");
    let fresh = issue_through(&env, &server, new_key, "Fresh");
    assert_eq!(fresh.code, 0, "the new key issues: {fresh:?}");
    assert_eq!(fresh.json()["seq"], SETUP_RECORDS + 2, "{fresh:?}");
}

#[test]
fn an_atomic_array_commits_all_of_its_events_or_none() {
    let env = Env::new();
    let server = env.serve(&[]);
    let good: Vec<String> = (1..=2).map(|i| env.emit_course(&env.issuer, &format!("Welding {i}"))).collect();
    let never_sent = env.emit_course(&env.issuer, "Never sent");
    let unknown = env.emit_revoke(&id_of(&never_sent), "not on the log");
    let mixed = format!("[{},{},{}]", good[0], unknown, good[1]);
    let r = server.post("/v1/events?atomic=true", &mixed);
    assert_eq!(r.status, 200, "{r:?}");
    let answer = r.json();
    assert_eq!(answer["appended"], 0, "{answer}");
    assert_eq!(answer["rejected"], 1, "{answer}");
    let results = answer["results"].as_array().expect("results");
    for (i, event) in [(0, &good[0]), (2, &good[1])] {
        assert_eq!(results[i]["id"], id_of(event).as_str(), "{answer}");
        assert_eq!(results[i]["appended"], false, "{answer}");
        assert!(results[i].get("seq").is_none(), "no place on the log is claimed: {answer}");
    }
    assert!(results[1]["type"].as_str().is_some_and(|t| t.ends_with("/problems/unknown-credential")), "{answer}");
    assert_eq!(results[1]["index"], 1, "{answer}");
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS, "nothing was appended");

    // The CLI's `submit --atomic` over the server sends the file the same way.
    fs::write(env.path("mixed.jsonl"), format!("{}\n{}\n", good[0], unknown)).expect("write");
    let refused = env.remote(&server, &["--json", "submit", "--atomic", "mixed.jsonl"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("line 2: rejected"), "{refused:?}");
    assert_eq!(refused.json()["appended"], 0, "{refused:?}");
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS, "nothing was appended");

    // Without the refused one: all committed, in order.
    let answer = server.post("/v1/events?atomic=true", format!("[{},{}]", good[0], good[1])).json();
    assert_eq!(answer["appended"], 2, "{answer}");
    let seqs: Vec<u64> =
        answer["results"].as_array().expect("results").iter().filter_map(|r| r["seq"].as_u64()).collect();
    assert_eq!(seqs, [SETUP_RECORDS, SETUP_RECORDS + 1], "{answer}");
}

#[test]
fn serve_demo_writes_the_trust_file_so_a_shared_bundle_verifies_with_no_flags() {
    let tmp = tempfile::tempdir().expect("temp dir");
    // A demo filled before demos wrote a trust file: `serve --demo` writes it.
    let demo = run_in(tmp.path(), &["--ledger", "ledger", "demo"]);
    assert_eq!(demo.code, 0, "{demo:?}");
    let trust = tmp.path().join("keys/demo/trust.json");
    fs::remove_file(&trust).expect("the demo wrote a trust file");
    let key = |name: &str| {
        let path = tmp.path().join(name);
        let did = credledger::SecretKey::read_file(&path).expect(name).did().to_string();
        KeyFile { path, did }
    };
    let (issuer, learner) = (key("keys/demo/lakeside-college-2026.key"), key("keys/demo/learner-01.key"));
    let operator = key("ledger/operator.key").did();
    let env = Env { tmp, operator, issuer, learner };
    let server = env.serve(&["--demo"]);
    assert!(trust.exists(), "serve --demo wrote {}", trust.display());

    env.remote_ok(&server, &["share", "--learner-key", env.learner.path.to_str().unwrap(), "--out", "bundle.json"]);
    let out = env.run(&["verify", "bundle.json"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().last().unwrap_or_default().starts_with("VALID"), "{}", out.stdout);
}

#[test]
fn an_event_signed_over_another_credentials_standard_proof_is_refused_on_every_append_path() {
    let env = Env::new();
    let swapped = with_proof_of(
        &env.emit_course(&env.issuer, "Welding I"),
        &env.emit_course(&env.issuer, "Welding II"),
        &env.issuer,
    );
    let names_the_proof = |text: &str| text.contains("body.vc_proof") && text.contains("not the author's");
    fs::write(env.path("swapped.jsonl"), format!("{swapped}\n")).expect("write");

    // `submit` on the ledger directory.
    let refused = env.run(&["submit", "swapped.jsonl"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("line 1: rejected") && names_the_proof(&refused.stderr), "{refused:?}");

    let server = env.serve(&[]);
    let (before, _) = server.checkpoint(&env.operator);
    let records_before = server.all_records();
    let unchanged = |what: &str| {
        assert_eq!(server.size(&env.operator), before.size, "{what} changed the checkpoint's size");
        assert_eq!(server.all_records(), records_before, "{what} changed the log");
    };
    // One event, then in an array, over HTTP.
    let p = assert_problem(&server.post_events(&swapped), 422, "bad-signature");
    assert!(p["detail"].as_str().is_some_and(names_the_proof), "{p}");
    unchanged("one event");
    let answer = server.post_events(format!("[{swapped}]")).json();
    assert_eq!(answer["rejected"], 1, "{answer}");
    let result = &answer["results"][0];
    assert!(result["type"].as_str().is_some_and(|t| t.ends_with("/problems/bad-signature")), "{result}");
    assert!(result["detail"].as_str().is_some_and(names_the_proof), "{result}");
    unchanged("an array");
    // `submit` through the server.
    let refused = env.remote(&server, &["submit", "swapped.jsonl"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("line 1: rejected") && names_the_proof(&refused.stderr), "{refused:?}");
    unchanged("submit");
}
