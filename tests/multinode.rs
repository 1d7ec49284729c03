//! Several `credledger serve` nodes on one PostgreSQL (a throwaway server started here), clients
//! appending to all of them at once, some posting the same events to two nodes: afterwards one
//! dense log holds every acknowledged event exactly once, every node serves the same checkpoint,
//! a read on one node sees what another appended, and `audit` passes. Then `migrate` moves the
//! log to sled and back without changing a leaf hash. One node leads (it sequences every append)
//! and the others forward their clients' appends to it; when the leader dies, another leads.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use common::pg::{Postgres, postgres_env};
use common::*;

/// The records a node serves, checked dense; their event ids in seq order.
fn ids_on(server: &Server) -> Vec<String> {
    server
        .all_records()
        .iter()
        .enumerate()
        .map(|(i, record)| {
            assert_eq!(record["seq"], i as u64, "seqs are dense");
            let bytes = serde_json::to_vec(record).expect("bytes");
            credledger::Record::from_stored(&bytes).expect("a record").event.id().to_string()
        })
        .collect()
}

/// The term `server` leads in (its `/metrics`' `credledger_leader_term`), `None` while it follows.
fn term_of(server: &Server) -> Option<u64> {
    let text = server.get("/metrics").body;
    let gauge = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {name} in /metrics:\n{text}"))
    };
    (gauge("credledger_leader") == 1).then(|| gauge("credledger_leader_term"))
}

/// The index of the one node that leads, and its term, once the nodes have elected it (bounded).
fn leader_of(nodes: &[Server]) -> (usize, u64) {
    let started = Instant::now();
    loop {
        let leading: Vec<(usize, u64)> =
            nodes.iter().enumerate().filter_map(|(n, node)| Some((n, term_of(node)?))).collect();
        if let [one] = leading[..] {
            return one;
        }
        assert!(leading.len() < 2, "two nodes lead at once: {leading:?}");
        assert!(started.elapsed() < PATIENCE, "no node leads within {PATIENCE:?}");
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn three_nodes_on_one_postgres_keep_one_dense_log_with_every_acknowledged_event_once() {
    let pg = Postgres::start();
    let url = pg.fresh_database();
    let env = postgres_env(&url);
    let flags = ["--database-url", url.as_str(), "--store", "postgres", "--write-rate", "0"];
    let nodes: Vec<Server> = (0..3).map(|_| env.serve(&flags)).collect();

    let learner = env.learner.did();
    let events = certificates(Path::new(env.issuer.path()), &learner, 7, 450);
    // Each node's client posts its own third, and a shared tail that every client posts too.
    let (own, shared) = events.split_at(390);
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(n, node)| {
            let mine: Vec<(String, String)> = own.iter().skip(n).step_by(3).chain(shared.iter()).cloned().collect();
            let (url, acknowledged) = (node.url.clone(), acknowledged.clone());
            thread::spawn(move || {
                let agent = agent();
                for (i, group) in mine.chunks(1 + n * 2).enumerate() {
                    let body = if group.len() == 1 {
                        group[0].0.clone()
                    } else {
                        format!("[{}]", group.iter().map(|(json, _)| json.as_str()).collect::<Vec<_>>().join(","))
                    };
                    let r = Server::try_post(&agent, &format!("{url}/v1/events"), body.as_bytes())
                        .unwrap_or_else(|e| panic!("node {n}, post {i}: {e}"));
                    assert!(r.status == 200 || r.status == 201, "node {n}: {r:?}");
                    let answer = r.json();
                    let results = if group.len() == 1 {
                        vec![answer]
                    } else {
                        answer["results"].as_array().cloned().unwrap_or_default()
                    };
                    assert_eq!(results.len(), group.len(), "node {n}: one result per event: {r:?}");
                    for (result, (_, id)) in results.iter().zip(group) {
                        assert_eq!(result["id"], id.as_str(), "node {n}: {result}");
                        acknowledged.lock().expect("lock").push(id.clone());
                    }
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client failed");
    }

    let acknowledged: BTreeSet<String> = acknowledged.lock().expect("lock").iter().cloned().collect();
    assert_eq!(acknowledged.len(), events.len(), "every event was acknowledged by some node");
    let logs: Vec<Vec<String>> = nodes.iter().map(ids_on).collect();
    assert!(logs.windows(2).all(|w| w[0] == w[1]), "every node serves the same log");
    let mut count = BTreeMap::new();
    for id in &logs[0] {
        *count.entry(id.as_str()).or_insert(0) += 1;
    }
    assert!(count.values().all(|n| *n == 1), "an event is on the log twice");
    assert!(acknowledged.iter().all(|id| count.contains_key(id.as_str())), "an acknowledged event is missing");
    assert_eq!(logs[0].len() as u64, SETUP_RECORDS + events.len() as u64);

    let checkpoints: Vec<String> = nodes.iter().map(|node| node.checkpoint(&env.operator).1).collect();
    assert!(checkpoints.windows(2).all(|w| w[0] == w[1]), "every node serves the same checkpoint");
    assert!(checkpoints[0].contains(&format!("\n{}\n", logs[0].len())), "{}", checkpoints[0]);

    // An append on one node is read on the others at once: they read the shared database.
    let late = certificates(Path::new(env.issuer.path()), &learner, 8, 1).remove(0);
    nodes[0].append(&late.0);
    for node in &nodes[1..] {
        let r = node.get(&format!("/v1/credentials/{}", late.1));
        assert_eq!(r.status, 200, "{r:?}");
    }
    let profile: Value = nodes[2].get(&format!("/v1/learners/{}/profile", env.learner.did)).json();
    assert_eq!(profile["credentials"].as_array().map(Vec::len), Some(events.len() + 1));

    drop(nodes);
    let audit = env.ok(&["--database-url", &url, "audit"]);
    assert!(audit.stdout.contains("audit passed"), "{audit:?}");

    // To sled and back: every leaf hash (so the root) and checkpoint unchanged, audited on arrival.
    let root = |args: &[&str]| -> String {
        let out = env.ok(&[args, &["--json", "checkpoint"][..]].concat());
        let v: Value = serde_json::from_str(&out.stdout).expect("checkpoint JSON");
        v["checkpoint"].as_str().expect("text").to_owned()
    };
    let before = root(&["--database-url", &url]);
    let sled_dir = env.path("copy");
    let sled = format!("sled:{}", sled_dir.display());
    let out = env.ok(&["migrate", "--from", &format!("postgres:{url}"), "--to", &sled]);
    assert!(out.stdout.contains("audit passed"), "{out:?}");
    let back = pg.fresh_database();
    let out = env.ok(&["migrate", "--from", &sled, "--to", &format!("postgres:{back}")]);
    assert!(out.stdout.contains("audit passed"), "{out:?}");
    assert_eq!(root(&["--database-url", &back]), before, "the same signed checkpoint after two moves");
    let refused = env.run(&["migrate", "--from", &sled, "--to", &format!("postgres:{back}")]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("empty store"), "{refused:?}");
}

/// Posts `events` one by one to `url` until done or the node is gone; returns the ids it
/// acknowledged and whether it got through them all.
fn post_each(url: &str, events: &[(String, String)], acked: &Mutex<Vec<String>>) -> bool {
    let agent = agent();
    for (json, id) in events {
        match Server::try_post(&agent, &format!("{url}/v1/events"), json.as_bytes()) {
            Ok(r) if r.status == 200 || r.status == 201 => {
                assert_eq!(r.json()["id"], id.as_str(), "{r:?}");
                acked.lock().expect("lock").push(id.clone());
            }
            Ok(r) => panic!("{url}: {r:?}"),
            Err(_) => return false,
        }
    }
    true
}

/// The node that leads (it sequences every append) is killed (SIGKILL) while all three nodes
/// append, perhaps mid-commit: another node takes the lead in a later term, the two survivors go
/// on appending (the follower's clients through the new leader), every event any node
/// acknowledged is on the log exactly once, resubmitting the killed node's unacknowledged events
/// completes the set, and the log audits.
#[test]
fn a_node_killed_mid_append_loses_nothing_acknowledged_and_the_others_go_on() {
    let pg = Postgres::start();
    let url = pg.fresh_database();
    let env = postgres_env(&url);
    let flags = ["--database-url", url.as_str(), "--store", "postgres", "--write-rate", "0"];
    let mut nodes: Vec<Server> = (0..3).map(|_| env.serve(&flags)).collect();
    // Node 0 is the leader, the one killed.
    let (leader, term) = leader_of(&nodes);
    nodes.swap(0, leader);
    let events = certificates(Path::new(env.issuer.path()), &env.learner.did(), 9, 450);
    let shares: Vec<Vec<(String, String)>> =
        (0..3).map(|n| events.iter().skip(n).step_by(3).cloned().collect()).collect();
    let acked: Vec<Arc<Mutex<Vec<String>>>> = (0..3).map(|_| Arc::default()).collect();
    let clients: Vec<_> = (0..3)
        .map(|n| {
            let (url, share, acked) = (nodes[n].url.clone(), shares[n].clone(), acked[n].clone());
            thread::spawn(move || post_each(&url, &share, &acked))
        })
        .collect();
    // Kill the first node once it has acknowledged some appends (bounded wait).
    let started = std::time::Instant::now();
    while acked[0].lock().expect("lock").len() < 20 {
        assert!(started.elapsed() < PATIENCE, "node 0 acknowledged too little within {PATIENCE:?}");
        thread::sleep(std::time::Duration::from_millis(5));
    }
    nodes[0].child.kill().expect("SIGKILL node 0");
    let _ = nodes[0].child.wait();
    let finished: Vec<bool> = clients.into_iter().map(|c| c.join().expect("a client")).collect();
    assert!(finished[1] && finished[2], "the surviving nodes stopped accepting appends");
    let (_, next_term) = leader_of(&nodes[1..]);
    assert!(next_term > term, "the new leader's term {next_term} follows the killed one's {term}");
    // A backend of the killed node may still be finishing a COMMIT: what it commits can only add
    // events, fenced like every write, so none of the checks below waits for it.

    // Whatever node 0 acknowledged is on the log; the rest of its share goes to a survivor.
    let on_log: BTreeSet<String> = ids_on(&nodes[1]).into_iter().collect();
    for n in 0..3 {
        let acked = acked[n].lock().expect("lock");
        assert!(acked.iter().all(|id| on_log.contains(id)), "node {n} acknowledged an event that is not on the log");
    }
    let resubmitted = Mutex::new(Vec::new());
    assert!(post_each(&nodes[1].url, &shares[0], &resubmitted), "node 1 took the resubmission");
    let ids = ids_on(&nodes[2]);
    let unique: BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "an event is on the log twice");
    assert_eq!(ids.len() as u64, SETUP_RECORDS + events.len() as u64, "every event once");
    drop(nodes);
    let audit = env.ok(&["--database-url", &url, "audit"]);
    assert!(audit.stdout.contains("audit passed"), "{audit:?}");
}

/// A client that posts only to a follower gets the leader's answers (201, then 200 for a repeat,
/// the refusal of a forged event), its events are on the log once, under the leader's checkpoint,
/// and it was the leader that appended them. The follower's forwarded requests (more than the
/// leader's `--write-rate` allows one address) are not limited again; a client of the leader is.
#[test]
fn a_client_of_a_follower_gets_its_events_appended_by_the_leader() {
    let pg = Postgres::start();
    let url = pg.fresh_database();
    let env = postgres_env(&url);
    let flags = ["--database-url", url.as_str(), "--store", "postgres"];
    let leader = env.serve(&[&flags[..], &["--write-rate", "1"]].concat());
    leader_of(std::slice::from_ref(&leader));
    let follower = env.serve(&[&flags[..], &["--write-rate", "0"]].concat());
    let (leader, follower) = (&leader, &follower);
    assert_eq!(term_of(follower), None, "one node leads, the other follows");

    // Four clients at once, so the follower forwards groups of them.
    let events = certificates(Path::new(env.issuer.path()), &env.learner.did(), 10, 60);
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (url, mine) = (follower.url.clone(), events.iter().skip(c).step_by(4).cloned().collect::<Vec<_>>());
            thread::spawn(move || {
                let agent = agent();
                for (json, id) in mine {
                    let r = Server::try_post(&agent, &format!("{url}/v1/events"), json.as_bytes()).expect("post");
                    assert_eq!(r.status, 201, "{r:?}");
                    assert_eq!(r.json()["id"], id.as_str(), "{r:?}");
                    assert!(r.json()["seq"].is_u64(), "{r:?}");
                }
            })
        })
        .collect();
    for client in clients {
        client.join().expect("a client failed");
    }
    let again = follower.post_events(&events[0].0);
    assert_eq!(again.status, 200, "a repeat is answered as the leader answers it: {again:?}");
    let forged = with_body_field(&env.emit_course(&env.issuer, "Forged"), "credits", serde_json::json!(30));
    assert_problem(&follower.post_events(&forged), 422, "bad-signature");
    let array = format!("[{},{}]", events[1].0, events[2].0);
    let r = follower.post_events(&array);
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(r.json()["results"].as_array().map(Vec::len), Some(2), "{r:?}");

    let ids = ids_on(leader);
    assert_eq!(ids.len() as u64, SETUP_RECORDS + events.len() as u64, "every event once: {ids:?}");
    let on_log: BTreeSet<&String> = ids.iter().collect();
    assert!(events.iter().all(|(_, id)| on_log.contains(id)), "a forwarded event is missing");
    let (checkpoint, _) = leader.checkpoint(&env.operator);
    assert_eq!(checkpoint.size, ids.len() as u64, "the leader's checkpoint covers the forwarded events");
    assert_eq!(follower.checkpoint(&env.operator).1, leader.checkpoint(&env.operator).1);
    let appended = |server: &Server| {
        let text = server.get("/metrics").body;
        text.lines().find_map(|l| l.strip_prefix("credledger_appends_total ")?.parse::<u64>().ok()).expect("a count")
    };
    assert_eq!(appended(leader), events.len() as u64, "the leader appended every event");
    assert_eq!(appended(follower), 0, "the follower appended none itself");
    let limited = (0..5).map(|_| leader.post_events(&events[0].0).status).filter(|s| *s == 429).count();
    assert!(limited > 0, "the leader's own clients are limited by its --write-rate");
}

/// A follower that cannot reach the leader (its advertised URL answers nothing) keeps looking
/// for a bounded time, then refuses the append with `503 no-leader`, naming the leader it tried;
/// the log is unchanged.
#[test]
fn a_follower_that_reaches_no_leader_refuses_the_append_naming_why() {
    let pg = Postgres::start();
    let url = pg.fresh_database();
    let env = postgres_env(&url);
    let flags = ["--database-url", url.as_str(), "--store", "postgres", "--write-rate", "0"];
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let unreachable = env.serve(&[&flags[..], &["--advertise-url", nowhere.as_str()]].concat());
    let (leader, _) = leader_of(std::slice::from_ref(&unreachable));
    assert_eq!(leader, 0);
    let follower = env.serve(&flags);
    assert_eq!(term_of(&follower), None);
    let before = follower.all_records().len();

    let event = certificates(Path::new(env.issuer.path()), &env.learner.did(), 11, 1).remove(0);
    let p = assert_problem(&follower.post_events(&event.0), 503, "no-leader");
    assert!(p["detail"].as_str().is_some_and(|d| d.contains(&nowhere)), "the detail names the leader tried: {p}");
    assert_eq!(follower.all_records().len(), before, "nothing appended");
    assert_eq!(unreachable.get(&format!("/v1/credentials/{}", event.1)).status, 404, "not on the log");
}
