//! End-to-end tests of what a broken or hostile world does to the real binary and server: a
//! flipped byte in the stored log or in a Merkle node (found by `audit`, and `serve` refuses to
//! start unless told `--allow-unverified-start`, then serves reads only), a client over its write
//! rate (429), a body nested deeper than the parser allows (400), a client that never finishes its
//! request (408), a stolen issuer key cut off with `compromised_since` while what it signed
//! before stays valid, a thief's rotation of a stolen key reversed by the operator, `serve`
//! over TLS, and a ledger of the older sled layout copied into the new one on first open.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::thread;
use std::time::{Duration, Instant};

use credledger::merkle::NodeId;
use credledger::store::node_key;
use serde_json::Value;

use common::*;

/// Edits the value under `key` in the `ledger` tree of the env's sled store (where each kind of
/// key has a one-byte prefix: 1 records, 3 Merkle nodes), as a failing disk or a meddler
/// would, with the ledger closed.
fn meddle(env: &Env, key: &[u8], edit: impl FnOnce(&mut Vec<u8>)) {
    let db = sled::open(env.path("ledger").join("store")).expect("open the ledger's sled database");
    let tree = db.open_tree("ledger").expect("open the tree");
    let mut value = tree.get(key).expect("read").expect("the key is present").to_vec();
    edit(&mut value);
    tree.insert(key, value).expect("write");
    db.flush().expect("flush");
}

/// Runs `credledger --ledger <ledger> ARGS`, retrying (bounded) while the database is still locked
/// by this test process, which releases sled's file lock a moment after closing it.
fn run_unlocked(env: &Env, args: &[&str]) -> Output {
    let deadline = Instant::now() + PATIENCE;
    let ledger = env.ledger();
    let mut all = vec!["--ledger", ledger.as_str()];
    all.extend_from_slice(args);
    loop {
        let out = env.run(&all);
        if !out.stderr.contains("in use by another process") || Instant::now() > deadline {
            return out;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The env's ledger with one course credential at seq 2 (its title: "Welding I").
fn ledger_with_a_credential() -> Env {
    let env = Env::new();
    let event = env.emit_course(&env.issuer, "Welding I");
    let file = env.path("course.json");
    std::fs::write(&file, event).expect("write the event");
    env.ok(&["submit", file.to_str().expect("utf-8 path")]);
    env
}

fn replace_once(bytes: &mut Vec<u8>, from: &[u8], to: &[u8]) {
    let at = bytes.windows(from.len()).position(|w| w == from).expect("the text is in the record");
    bytes.splice(at..at + from.len(), to.iter().copied());
}

fn assert_refuses_to_serve(env: &Env) {
    let out = run_unlocked(env, &["serve", "--addr", "127.0.0.1:0"]);
    assert_ne!(out.code, 0, "serve started on a damaged log: {out:?}");
    assert!(out.stderr.contains("does not match its latest signed checkpoint"), "{out:?}");
    assert!(out.stderr.contains("--allow-unverified-start"), "the message names the way out: {out:?}");
}

#[test]
fn a_flipped_byte_in_a_record_is_named_by_audit_and_serve_refuses_to_start() {
    let env = ledger_with_a_credential();
    meddle(&env, &[[1u8].as_slice(), &2u64.to_be_bytes()].concat(), |record| {
        replace_once(record, b"Welding I", b"Welding J")
    });

    let audit = run_unlocked(&env, &["audit"]);
    assert_eq!(audit.code, 1, "{audit:?}");
    assert!(audit.stdout.contains("seq 2:"), "audit names the seq: {audit:?}");
    assert!(audit.stdout.contains("audit FAILED"), "{audit:?}");
    assert_refuses_to_serve(&env);

    // Told to, it starts, serves reads and refuses every write.
    let server = env.serve(&["--allow-unverified-start"]);
    let records = server.get("/v1/events?from=0&limit=10");
    assert_eq!(records.status, 200, "{records:?}");
    assert_eq!(records.json().as_array().map(Vec::len), Some(3));
    let event = env.emit_course(&env.issuer, "Welding II");
    let problem = assert_problem(&server.post_events(event), 503, "unavailable");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("read-only")), "{problem}");
    assert_eq!(server.all_records().len(), 3, "nothing was appended");
}

#[test]
fn a_flipped_byte_in_a_merkle_node_is_named_by_audit_and_serve_refuses_to_start() {
    let env = ledger_with_a_credential();
    // The node over leaves 0 and 1: the tree of three records is built on it.
    meddle(&env, &[[3u8].as_slice(), &node_key(NodeId { level: 1, index: 0 })].concat(), |hash| hash[0] ^= 0x01);

    let audit = run_unlocked(&env, &["audit"]);
    assert_eq!(audit.code, 1, "{audit:?}");
    assert!(audit.stdout.contains("stored Merkle node at level 1, index 0 differs"), "{audit:?}");
    assert_refuses_to_serve(&env);
}

/// Rewrites the env's sled store (the ledger closed) in the layout builds before the one-tree
/// store wrote: a tree per kind of key (`log`, `ids`, `nodes`, `checkpoints`), the length in
/// `meta`, and the projection entries in a tree named for their generation.
fn write_older_layout(env: &Env) {
    let db = sled::open(env.path("ledger").join("store")).expect("open the ledger's sled database");
    let (tree, meta) = (db.open_tree("ledger").expect("open the tree"), db.open_tree("meta").expect("open meta"));
    for item in tree.iter() {
        let (key, value) = item.expect("read");
        let (kind, rest) = (key[0], &key[1..]);
        let target = match kind {
            1 => "log".to_owned(),
            2 => "ids".to_owned(),
            3 => "nodes".to_owned(),
            4 => "checkpoints".to_owned(),
            5 if rest == b"len" => {
                meta.insert("len", value).expect("write");
                continue;
            }
            5 if rest == b"entries" => {
                let generation = u64::from_be_bytes(value.as_ref().try_into().expect("a generation"));
                meta.insert("entries", format!("entries.{generation}").as_bytes()).expect("write");
                continue;
            }
            5 => continue, // the layout's marker: the older layout had none
            6 => {
                let generation = u64::from_be_bytes(rest[..8].try_into().expect("a generation"));
                db.open_tree(format!("entries.{generation}")).expect("open").insert(&rest[8..], value).expect("write");
                continue;
            }
            other => panic!("a key of unknown kind {other}"),
        };
        db.open_tree(target).expect("open").insert(rest, value).expect("write");
    }
    drop(tree);
    db.drop_tree("ledger").expect("drop the one tree");
    db.flush().expect("flush");
}

#[test]
fn a_ledger_of_the_older_layout_is_copied_once_says_so_and_keeps_its_log() {
    let env = ledger_with_a_credential();
    let (log, checkpoint) = (env.ok(&["log", "--json"]).stdout, env.ok(&["checkpoint"]).stdout);
    write_older_layout(&env);

    let first = run_unlocked(&env, &["checkpoint"]);
    assert_eq!(first.code, 0, "{first:?}");
    assert_eq!(first.stdout, checkpoint, "the same signed checkpoint");
    assert!(first.stderr.contains("copying the store into its one-tree layout (once) records=3"), "{first:?}");

    let audit = run_unlocked(&env, &["audit"]);
    assert_eq!(audit.code, 0, "the copied log and projections audit clean: {audit:?}");
    assert!(!audit.stderr.contains("copying"), "copied once only: {audit:?}");
    assert_eq!(run_unlocked(&env, &["log", "--json"]).stdout, log);
}

#[test]
fn writes_over_a_clients_rate_get_429_with_retry_after_while_reads_go_on() {
    let env = Env::new();
    let server = env.serve(&["--write-rate", "1"]);
    let event = env.emit_course(&env.issuer, "Welding I");
    // A burst of twice the rate is allowed: a new event, then the same one again.
    assert_eq!(server.post_events(&event).status, 201);
    assert_eq!(server.post_events(&event).status, 200);
    let refused = server.post_events(&event);
    assert_problem(&refused, 429, "rate-limited");
    let wait: u64 = refused.retry_after.as_deref().and_then(|s| s.parse().ok()).expect("a Retry-After in seconds");
    assert!(wait >= 1, "{refused:?}");
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.get("/v1/checkpoint").status, 200);
}

#[test]
fn json_nested_past_the_parsers_limit_is_400_and_the_server_stays_up() {
    let env = Env::new();
    let server = env.serve(&[]);
    let depth = 100_000;
    for body in ["[".repeat(depth) + &"]".repeat(depth), r#"{"a":"#.repeat(depth) + "1" + &"}".repeat(depth)] {
        let problem = assert_problem(&server.post_events(&body), 400, "malformed-json");
        assert!(problem["detail"].as_str().is_some_and(|d| d.contains("recursion limit")), "{problem}");
    }
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS);
}

#[test]
fn a_client_that_never_finishes_its_request_gets_408_and_others_are_served() {
    let env = Env::new();
    let server = env.serve(&["--request-timeout", "1"]);
    let address = server.url.strip_prefix("http://").expect("an http url");
    let mut slow = TcpStream::connect(address).expect("connect");
    slow.set_read_timeout(Some(PATIENCE)).expect("read timeout");
    let head =
        "POST /v1/events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n";
    slow.write_all(head.as_bytes()).and_then(|()| slow.write_all(b"{\"v\":")).expect("send a partial request");
    // Meanwhile another client is served.
    assert_eq!(server.get("/healthz").status, 200);
    let mut answer = String::new();
    let _ = slow.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");
    assert!(answer.contains("application/problem+json"), "{answer:?}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer:?}");
}

/// The statuses of the learner's credentials by title, from `profile --json`.
fn statuses(env: &Env) -> Vec<(String, String)> {
    let out = env.ok(&["--json", "profile", &env.learner.did]);
    let profile: Value = serde_json::from_str(&out.stdout).expect("profile JSON");
    let credentials = profile["credentials"].as_array().expect("credentials").iter();
    credentials
        .map(|c| (c["title"].as_str().unwrap_or("").to_owned(), c["status"].as_str().unwrap_or("").to_owned()))
        .collect()
}

/// A course for the env's learner, issued with the CLI and `key`.
fn issue(env: &Env, key: &Path, title: &str) -> Output {
    let key = key.to_str().expect("utf-8 path");
    let args = ["issue", "course", "--issuer-key", key, "--learner", &env.learner.did, "--title", title];
    let rest = ["--code", "C1", "--skills", "esco:welding=Welding", "--credits", "2", "--completed", "2026-01-15"];
    let ledger = env.ledger();
    env.run(&[&["--ledger", ledger.as_str()][..], &args[..], &rest[..]].concat())
}

#[test]
fn a_stolen_key_voids_what_it_signed_after_compromised_since_and_the_operator_can_cut_a_key_off() {
    let env = Env::new();
    let stolen = Path::new(env.issuer.path());
    assert_eq!(issue(&env, stolen, "Honest Course").code, 0);
    // The theft begins strictly after the honest credential was recorded.
    let theft_began = next_second();
    assert_eq!(issue(&env, stolen, "Forged Course").code, 0, "the thief signs before anyone notices");
    let fresh = env.path("fresh.key");
    let fresh = fresh.to_str().expect("utf-8 path");
    env.ok(&[
        "issuer",
        "rotate-key",
        "--issuer-key",
        env.issuer.path(),
        "--new-key",
        fresh,
        "--reason",
        "stolen laptop",
        "--compromised-since",
        &theft_began,
    ]);

    let mut seen = statuses(&env);
    seen.sort();
    let expected = [("Forged Course", "revoked"), ("Honest Course", "active")];
    assert_eq!(seen, expected.map(|(t, s)| (t.to_owned(), s.to_owned())));
    let refused = issue(&env, stolen, "After Rotation");
    assert_eq!(refused.code, 1, "a revoked key signs nothing more: {refused:?}");

    // The operator cuts off the issuer's new key too (no compromise: what it signed stays).
    assert_eq!(issue(&env, Path::new(fresh), "From The New Key").code, 0);
    let new_did = env.ok(&["issuer", "list", "--json"]).stdout;
    assert!(new_did.contains(&env.issuer.did), "{new_did}");
    let fresh_did = credledger::SecretKey::read_file(Path::new(fresh)).expect("read the new key").did().to_string();
    env.ok(&["issuer", "revoke-key", "--issuer", &env.issuer.did, "--key", &fresh_did, "--reason", "offboarding"]);
    assert_eq!(issue(&env, Path::new(fresh), "After Cut Off").code, 1);
    assert!(statuses(&env).contains(&("From The New Key".to_owned(), "active".to_owned())));
    let audit = env.ok(&["audit"]);
    assert!(audit.stdout.contains("audit passed"), "{audit:?}");
}

/// Waits (bounded) for the ledger's clock, which stamps whole seconds, to reach the next second,
/// and returns that second in RFC 3339: what is recorded from now on is recorded at or after it.
fn next_second() -> String {
    let started = time::OffsetDateTime::now_utc().unix_timestamp();
    let deadline = Instant::now() + PATIENCE;
    while time::OffsetDateTime::now_utc().unix_timestamp() == started && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("whole seconds")
        .format(&time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

/// A thief with the college's only key rotates it to a key of its own, declaring the stolen key
/// compromised since the college's registration: every honest credential is revoked and the
/// college cut off. The operator reverses it with `issuer revoke-key --compromised-since` the
/// theft: the thief's key (added after that) and its declaration are void, the honest credentials
/// are active again, the forged one is revoked, and the thief's key signs nothing more.
#[test]
fn the_operator_reverses_a_thiefs_rotate_key_with_revoke_key() {
    let env = Env::new();
    let stolen = Path::new(env.issuer.path());
    assert_eq!(issue(&env, stolen, "Honest Course").code, 0);
    let theft = next_second();
    let thiefs = env.path("thief.key");
    let thiefs = thiefs.to_str().expect("utf-8 path");
    let rotate = |since: &str| {
        let ledger = env.ledger();
        let args = ["--ledger", &ledger, "issuer", "rotate-key", "--issuer-key", env.issuer.path(), "--new-key"];
        env.run(&[&args[..], &[thiefs, "--reason", "routine", "--compromised-since", since]].concat())
    };
    // Since 1970: refused, naming the field (an issuer's key declares nothing before its addition).
    let refused = rotate("1970-01-01T00:00:00Z");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("body.compromised_since") && refused.stderr.contains("only the operator"),
        "{refused:?}"
    );
    let log = env.ok(&["--json", "log"]).json();
    let registered = log[1]["recorded_at"].as_str().expect("the registration's time").to_owned();
    let rotated = rotate(&registered);
    assert_eq!(rotated.code, 0, "{rotated:?}");
    assert_eq!(issue(&env, Path::new(thiefs), "Forged Course").code, 0);
    assert_eq!(
        statuses(&env),
        [("Honest Course".to_owned(), "revoked".to_owned()), ("Forged Course".to_owned(), "active".to_owned())]
    );

    env.ok(&[
        "issuer",
        "revoke-key",
        "--issuer",
        &env.issuer.did,
        "--key",
        &env.issuer.did,
        "--reason",
        "stolen; the rotation was the thief's",
        "--compromised-since",
        &theft,
    ]);
    assert_eq!(
        statuses(&env),
        [("Honest Course".to_owned(), "active".to_owned()), ("Forged Course".to_owned(), "revoked".to_owned())]
    );
    let refused = issue(&env, Path::new(thiefs), "After The Reversal");
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("compromised"), "{refused:?}");
    let refused = issue(&env, stolen, "Stolen Key Again");
    assert_eq!(refused.code, 1, "{refused:?}");
    let issuers = env.ok(&["issuer", "list"]).stdout;
    assert!(issuers.contains("compromised"), "{issuers}");
    let audit = env.ok(&["audit"]);
    assert!(audit.stdout.contains("audit passed"), "{audit:?}");
}

#[test]
fn serve_speaks_https_with_a_pem_certificate_and_key() {
    let env = Env::new();
    let certificate = common::tls::TestCertificate::generate();
    let (cert, key) = (&certificate.cert, &certificate.key);
    let ledger = env.ledger();
    let tls = ["--tls-cert", cert.to_str().expect("utf-8"), "--tls-key", key.to_str().expect("utf-8")];
    let mut child = std::process::Command::new(BIN)
        .args(["--ledger", &ledger, "serve", "--addr", "127.0.0.1:0"])
        .args(tls)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn serve");
    let mut line = String::new();
    let read =
        std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().expect("stdout")), &mut line);
    let url = line.trim().strip_prefix("listening on ").map(str::to_owned);
    let check = || -> Result<(), String> {
        read.map_err(|e| e.to_string())?;
        let url = url.ok_or(format!("no `listening on` line: {line:?}"))?;
        let port = url.strip_prefix("https://127.0.0.1:").ok_or(format!("not an https URL: {url}"))?;
        let pem = std::fs::read(&certificate.ca).map_err(|e| e.to_string())?;
        let root = ureq::tls::Certificate::from_pem(&pem).map_err(|e| e.to_string())?;
        let roots = ureq::tls::RootCerts::Specific(std::sync::Arc::new(vec![root]));
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build())
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let deadline = Instant::now() + PATIENCE;
        let health = loop {
            match agent.get(format!("{url}/healthz")).call() {
                Ok(r) => break r.status().as_u16(),
                Err(e) if Instant::now() > deadline => return Err(format!("no answer over TLS: {e}")),
                Err(_) => thread::sleep(Duration::from_millis(50)),
            }
        };
        if health != 200 {
            return Err(format!("/healthz over TLS: {health}"));
        }
        let checkpoint = agent.get(format!("{url}/v1/checkpoint")).call().map_err(|e| e.to_string())?;
        if checkpoint.status() != 200 {
            return Err(format!("/v1/checkpoint over TLS: {}", checkpoint.status()));
        }
        // Plain HTTP to the TLS port gets no HTTP answer.
        let plain = ureq::get(format!("http://127.0.0.1:{port}/healthz")).call();
        if plain.as_ref().is_ok_and(|r| r.status() == 200) {
            return Err("plain HTTP was served on the TLS port".into());
        }
        Ok(())
    };
    let result = check();
    let _ = child.kill();
    let _ = child.wait();
    result.unwrap();
}

#[test]
fn an_event_signed_for_another_ledger_is_409_other_ledger() {
    let env = Env::new();
    let server = env.serve(&[]);
    let key = credledger::SecretKey::read_file(Path::new(env.issuer.path())).expect("the issuer key");
    let body: credledger::event::CertificateAwarded = serde_json::from_value(serde_json::json!({
        "credential_uuid": "0badc0de-0000-4000-8000-000000000001",
        "learner": env.learner.did,
        "title": "Forklift Safety",
        "skills": [{"id": "esco:forklift", "label": "Forklift operation"}],
        "awarded_on": "2026-02-01",
        "ledger": "elsewhere.example",
    }))
    .expect("a certificate body");
    let created_at = "2026-05-01T12:00:00Z".parse().expect("a timestamp");
    let payload = credledger::Payload::CertificateAwarded(body);
    let event = credledger::Event::new(key.did().clone(), created_at, payload).sign(&key, None).expect("sign");
    let problem = assert_problem(&server.post_events(event.canonical()), 409, "other-ledger");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("elsewhere.example")), "{problem}");
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS);
}
