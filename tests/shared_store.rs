//! Several processes on one PostgreSQL log (a throwaway server started here): `serve` nodes that
//! append, and CLI commands run beside them with `--database-url`. Every write of projection state
//! is fenced by the log's length it was computed at, and read-only commands write nothing, so
//! neither `rebuild` nor a read can put back entries older than what the nodes committed.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use credledger::event::StatusChange;
use credledger::{Event, Payload, SecretKey};
use serde_json::Value;

use common::pg::{Postgres, postgres_env};
use common::*;

/// A revocation of `credential`, signed by the key in `key_file`: `(canonical JSON, id)`.
fn revocation(key_file: &Path, credential: &str) -> (String, String) {
    let key = SecretKey::read_file(key_file).expect("read the issuer key");
    let change = StatusChange {
        credential: credential.parse().expect("an id"),
        reason: "issued in error".into(),
        ledger: Some(common::ORIGIN.into()),
    };
    let created_at = "2026-05-02T12:00:00Z".parse().expect("a timestamp");
    let signed = Event::new(key.did().clone(), created_at, Payload::CredentialRevoked(change)).sign(&key, None);
    let signed = signed.expect("sign");
    (String::from_utf8(signed.canonical().to_vec()).expect("utf-8 JSON"), signed.id().to_string())
}

/// A credential's state as a node serves it.
fn state_on(node: &Server, credential: &str) -> String {
    let r = node.get(&format!("/v1/credentials/{credential}"));
    assert_eq!(r.status, 200, "credential {credential}: {r:?}");
    r.json()["status"]["state"].as_str().expect("a state").to_owned()
}

/// How many times each command runs beside the appending nodes.
const ROUNDS: usize = 6;
/// Certificates each node's writer has ready (it stops early once the commands beside it are done).
const READY: usize = 400;
/// Appends each writer still makes after the commands beside it are done.
const AFTERWARDS: usize = 10;

#[test]
fn rebuild_and_read_only_commands_beside_appending_nodes_put_back_nothing_stale() {
    let pg = Postgres::start();
    let url = pg.fresh_database();
    let env = Arc::new(postgres_env(&url));
    let flags = ["--database-url", url.as_str(), "--store", "postgres", "--write-rate", "0"];
    let nodes: Vec<Server> = (0..2).map(|_| env.serve(&flags)).collect();
    let issuer = env.issuer.path.clone();
    let learner = env.learner.did();
    let side_done = Arc::new(AtomicBool::new(false));

    // Each node's writer issues certificates and revokes every other one as soon as it is on the log.
    let writers: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let (url, issuer, side_done) = (node.url.clone(), issuer.clone(), side_done.clone());
            let certificates = certificates(&issuer, &learner, n as u32 + 1, READY);
            thread::spawn(move || {
                let agent = agent();
                let post = |json: &str| {
                    let r = Server::try_post(&agent, &format!("{url}/v1/events"), json.as_bytes()).expect("POST");
                    assert_eq!(r.status, 201, "node {n}: {r:?}");
                };
                let (mut revoked, mut active, mut afterwards) = (Vec::new(), Vec::new(), 0);
                for (i, (json, id)) in certificates.iter().enumerate() {
                    post(json);
                    if i % 2 == 0 {
                        post(&revocation(&issuer, id).0);
                        revoked.push(id.clone());
                    } else {
                        active.push(id.clone());
                    }
                    if side_done.load(Ordering::SeqCst) {
                        afterwards += 1;
                        if afterwards >= AFTERWARDS {
                            break;
                        }
                    }
                }
                (revoked, active)
            })
        })
        .collect();

    // Beside them: `rebuild` over and over, and the read-only commands.
    let db = |args: &[&str]| -> Vec<String> {
        [&["--database-url", url.as_str()][..], args].concat().iter().map(|s| s.to_string()).collect()
    };
    let rebuilds = {
        let (env, args) = (env.clone(), db(&["--json", "rebuild"]));
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let out = env.ok(&args);
                assert_eq!(out.json()["differed"], false, "the stored projections were wrong: {out:?}");
            }
        })
    };
    let learner_did = env.learner.did.clone();
    let reads = {
        let env = env.clone();
        let commands = [
            db(&["checkpoint"]),
            db(&["profile", &learner_did]),
            db(&["log", "--from", "2", "--limit", "5"]),
            db(&["audit"]),
        ];
        thread::spawn(move || {
            for _ in 0..ROUNDS {
                for args in &commands {
                    let args: Vec<&str> = args.iter().map(String::as_str).collect();
                    let ledger = env.ledger();
                    let out = env.run(&[&["--ledger", ledger.as_str()][..], &args].concat());
                    // An audit that reads while nodes append may find the log longer than it opened.
                    let ok = out.code == 0 || (args.contains(&"audit") && out.code == 1);
                    assert!(ok, "credledger {args:?}: {out:?}");
                }
            }
        })
    };
    rebuilds.join().expect("rebuild beside the nodes");
    reads.join().expect("read-only commands beside the nodes");
    side_done.store(true, Ordering::SeqCst);
    let written: Vec<(Vec<String>, Vec<String>)> =
        writers.into_iter().map(|w| w.join().expect("a writer failed")).collect();
    let revoked: Vec<&String> = written.iter().flat_map(|(r, _)| r).collect();
    let active: Vec<&String> = written.iter().flat_map(|(_, a)| a).collect();
    assert!(revoked.len() >= AFTERWARDS, "the writers appended: {} revocations", revoked.len());

    // The stored projections are the fold of the log: audit passes, and every node (and one
    // started now) serves every revoked credential as revoked and the rest as active.
    let audit = env.ok(&["--database-url", &url, "audit"]);
    assert!(audit.stdout.contains("audit passed"), "{audit:?}");
    let fresh = env.serve(&flags);
    for node in nodes.iter().chain([&fresh]) {
        for id in &revoked {
            assert_eq!(state_on(node, id), "revoked", "credential {id} on {}", node.url);
        }
        for id in &active {
            assert_eq!(state_on(node, id), "active", "credential {id} on {}", node.url);
        }
    }
    let profile: Value = env.ok(&["--database-url", &url, "--json", "profile", &env.learner.did]).json();
    let credentials = profile["credentials"].as_array().expect("credentials");
    assert_eq!(credentials.len(), revoked.len() + active.len());
    for credential in credentials {
        let id = credential["id"].as_str().expect("an id").to_owned();
        let expected = if revoked.contains(&&id) { "revoked" } else { "active" };
        assert_eq!(credential["status"], expected, "{credential}");
    }
    let rebuilt = env.ok(&["--database-url", &url, "--json", "rebuild"]).json();
    assert_eq!(rebuilt["differed"], false, "{rebuilt}");
}

#[test]
fn a_node_that_has_not_appended_lately_shares_a_bundle_of_what_other_nodes_appended() {
    let pg = Postgres::start();
    let url = pg.fresh_database();
    let env = postgres_env(&url);
    let flags = ["--database-url", url.as_str(), "--store", "postgres", "--write-rate", "0"];
    let (busy, idle) = (env.serve(&flags), env.serve(&flags));
    let issued = certificates(&env.issuer.path, &env.learner.did(), 1, 3);
    for (json, _) in &issued {
        busy.append(json);
    }
    let revoked = revocation(&env.issuer.path, &issued[0].1);
    busy.append(&revoked.0);
    let size = SETUP_RECORDS + issued.len() as u64 + 1;

    // The idle node catches up with the shared log before it builds and signs the bundle.
    env.remote_ok(&idle, &["share", "--learner-key", env.learner.path(), "--out", "bundle.json"]);
    let bundle: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("bundle.json")).expect("the bundle")).expect("JSON");
    assert_eq!(bundle["status"]["size"], size, "the status is as of the whole log");
    let shown: Vec<&str> = bundle["status"]["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .filter_map(|c| c["credential"].as_str())
        .collect();
    assert_eq!(shown, [issued[1].1.as_str(), issued[2].1.as_str()], "the active credentials, not the revoked one");
    let operator = env.operator.to_string();
    let verified = env.run(&["verify", "bundle.json", "--operator", &operator]);
    assert_eq!(verified.code, 0, "{verified:?}");
    assert!(verified.stdout.contains("VALID"), "{verified:?}");
    assert_eq!(idle.size(&env.operator), size);

    // And it appends after that like any node.
    let later = certificates(&env.issuer.path, &env.learner.did(), 2, 1).remove(0);
    assert_eq!(idle.append(&later.0), size);
}

/// Writers on one database take turns: while one holds its turn, another waits for it (and gets
/// it once given back), so a node whose batches take longer to sequence is never starved by
/// others committing between its catching up and its commit.
#[test]
fn writers_sharing_a_database_wait_for_each_others_turn() {
    use credledger::store::{PostgresStore, Store};
    let pg = Postgres::start();
    let url = pg.fresh_database();
    let (first, second) = (PostgresStore::open(&url).expect("open"), PostgresStore::open(&url).expect("open"));
    let turn = first.writer_turn().expect("a turn");
    let given_back = Arc::new(AtomicBool::new(false));
    let waiter = {
        let given_back = given_back.clone();
        thread::spawn(move || {
            let _turn = second.writer_turn().expect("a turn");
            given_back.load(Ordering::SeqCst)
        })
    };
    // Give the waiter time to ask; whenever it asked, it may only get the turn after this.
    thread::sleep(std::time::Duration::from_millis(300));
    given_back.store(true, Ordering::SeqCst);
    drop(turn);
    assert!(waiter.join().expect("the waiter"), "the second writer got a turn the first still held");
    // Given back, the turn can be taken again by the first.
    drop(first.writer_turn().expect("the turn again"));
}
