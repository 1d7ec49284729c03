//! End-to-end tests of the `credledger` binary: each test runs the real executable against a
//! throwaway ledger directory and throwaway key files in its own temporary directory.
//!
//! Commands are written as one string, like a shell line: words split on whitespace, and
//! `'...'` quotes a word that holds spaces. Every rejection is checked the same way: exit code 1,
//! one line on stderr naming the field or the reason, and the log and the learner's profile
//! exactly as before.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use tempfile::TempDir;

/// A syntactically valid did:key whose 32 bytes are not a point on the Ed25519 curve.
const NOT_A_CURVE_POINT: &str = "did:key:z6MkkcSQGBjZBvXRtTKudQqsUTv6YrPe6potJxPGd7GLTQjX";

/// What one run of the binary did.
#[derive(Debug)]
struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Output {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }

    /// The single stderr line, asserting there is exactly one.
    fn error_line(&self) -> &str {
        let text = self.stderr.trim_end();
        assert_eq!(text.lines().count(), 1, "want one stderr line: {self:?}");
        text
    }

    /// Line 1 (the id) and line 2 (the seq) of an `issue` or `revoke`.
    fn id_and_seq(&self) -> (String, u64) {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert!(lines.len() >= 2 && is_event_id(lines[0]), "{self:?}");
        let seq = lines[1].parse().expect("seq on line 2");
        (lines[0].to_owned(), seq)
    }
}

/// Splits a command line on whitespace; `'...'` quotes a word with spaces.
fn words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quoted) = (Vec::new(), None::<String>, false);
    for c in line.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                word.get_or_insert_with(String::new);
            }
            c if c.is_whitespace() && !quoted => words.extend(word.take()),
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    words
}

fn is_event_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A key file and its did.
struct Key {
    path: String,
    did: String,
}

/// A temporary directory holding a ledger directory (`ledger/`) and key files.
struct Env {
    tmp: TempDir,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().expect("temp dir");
        let path = tmp.path().to_str().expect("a utf-8 temp dir");
        assert!(!path.contains(|c: char| c.is_whitespace() || c == '\''));
        Env { tmp }
    }

    /// The path of `name` in the temp dir.
    fn file(&self, name: &str) -> String {
        format!("{}/{name}", self.tmp.path().display())
    }

    /// Runs `credledger --ledger <tmp>/ledger LINE` in the temp dir.
    fn run(&self, line: &str) -> Output {
        self.run_with_ledger(&self.file("ledger"), line)
    }

    fn run_with_ledger(&self, ledger: &str, line: &str) -> Output {
        let out = Command::new(env!("CARGO_BIN_EXE_credledger"))
            .args(["--ledger", ledger])
            .args(words(line))
            .current_dir(self.tmp.path())
            .env_remove("CREDLEDGER_DIR")
            .env_remove("CREDLEDGER_SERVER")
            .output()
            .expect("run credledger");
        Output {
            code: out.status.code().expect("exited, not killed by a signal"),
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
        }
    }

    /// Runs and asserts success.
    fn ok(&self, line: &str) -> Output {
        let out = self.run(line);
        assert_eq!(out.code, 0, "credledger {line} failed: {out:?}");
        out
    }

    fn keygen(&self, name: &str) -> Key {
        let path = self.file(&format!("keys/{name}.key"));
        let out = self.ok(&format!("keygen --out {path}"));
        let did = out.stdout.lines().next().unwrap_or_default().to_owned();
        Key { path, did }
    }

    fn log(&self) -> Vec<Value> {
        match self.ok("--json log").json() {
            Value::Array(records) => records,
            other => panic!("log --json is not an array: {other}"),
        }
    }

    fn log_len(&self) -> usize {
        self.log().len()
    }

    /// `profile DID --json`, exactly as printed.
    fn profile_text(&self, did: &str) -> String {
        self.ok(&format!("--json profile {did}")).stdout
    }

    fn profile(&self, did: &str) -> Value {
        serde_json::from_str(&self.profile_text(did)).expect("profile JSON")
    }

    fn register(&self, name: &str, did: &str) {
        self.ok(&format!("issuer register --name '{name}' --key {did}"));
    }

    /// Writes `content` to a file in the temp dir and returns its path.
    fn write(&self, name: &str, content: &str) -> String {
        let path = self.file(name);
        fs::write(&path, content).expect("write file");
        path
    }
}

/// `issue course` by the key file `key` with 3 credits, completed on 2026-05-01.
fn course_line(key: &str, learner: &str, title: &str, skills: &str) -> String {
    format!(
        "issue course --issuer-key {key} --learner {learner} --title '{title}' --code CS-101 \
         --skills '{skills}' --credits 3 --completed 2026-05-01"
    )
}

/// The values of `field` in each element of the array `array`.
fn pluck<'a>(array: &'a Value, field: &str) -> Vec<&'a Value> {
    let items = array.as_array().expect("an array");
    items.iter().map(|v| &v[field]).collect()
}

fn mode(path: &str) -> u32 {
    let metadata = fs::metadata(path).expect("the file exists");
    metadata.permissions().mode() & 0o777
}

/// A ledger with an operator, one registered issuer, a learner and one course issued to them.
struct Fixture {
    env: Env,
    issuer: Key,
    learner: String,
    course: String,
}

fn fixture() -> Fixture {
    let env = Env::new();
    env.ok("init --origin test.credledger.dev");
    let issuer = env.keygen("harbor");
    env.register("Harbor College", &issuer.did);
    let learner = env.keygen("learner").did;
    let intro = course_line(&issuer.path, &learner, "Intro", "S1=Skill one");
    let course = env.ok(&intro).id_and_seq().0;
    Fixture { env, issuer, learner, course }
}

impl Fixture {
    /// `issue course` by the fixture's issuer to its learner.
    fn course_line(&self, title: &str, skills: &str) -> String {
        course_line(&self.issuer.path, &self.learner, title, skills)
    }

    /// Issues a course by the fixture's issuer to its learner; returns its id.
    fn course(&self, title: &str, skills: &str) -> String {
        self.env.ok(&self.course_line(title, skills)).id_and_seq().0
    }

    /// The signed event `issue course --emit` prints.
    fn emit_course(&self, title: &str) -> Value {
        let line = self.course_line(title, "S1") + " --emit";
        self.env.ok(&line).json()
    }

    /// Runs `line`, expecting a rejection: exit 1, one stderr line containing every needle, and
    /// the log and the learner's profile unchanged.
    fn assert_rejected(&self, line: &str, needles: &[&str]) {
        let len = self.env.log_len();
        let profile = self.env.profile_text(&self.learner);
        let out = self.env.run(line);
        assert_eq!(out.code, 1, "credledger {line} should be rejected: {out:?}");
        let error = out.error_line();
        for needle in needles {
            assert!(error.contains(needle), "{error:?} lacks {needle:?}");
        }
        assert_eq!(self.env.log_len(), len, "the log changed after a rejection");
        let after = self.env.profile_text(&self.learner);
        assert_eq!(after, profile, "the profile changed after a rejection");
    }

    /// Emits a course by the fixture's issuer, edits it, submits it, and expects a rejection.
    fn assert_tampered_rejected(&self, edit: impl FnOnce(&mut Value), needles: &[&str]) {
        let mut event = self.emit_course("Tampered");
        edit(&mut event);
        let file = self.env.write("tampered.json", &event.to_string());
        self.assert_rejected(&format!("submit {file}"), needles);
    }
}

// ---------------------------------------------------------------------------------------------
// The happy path

#[test]
fn init_and_keygen_print_dids_and_keygen_writes_mode_0600() {
    let env = Env::new();
    let init = env.ok("init --origin test.credledger.dev");
    let operator = init.stdout.lines().next().unwrap_or_default();
    assert!(operator.starts_with("did:key:z6Mk"), "{init:?}");
    let key = env.keygen("college");
    assert!(key.did.starts_with("did:key:z6Mk"), "{}", key.did);
    assert_ne!(key.did, operator);
    assert_eq!(mode(&key.path), 0o600);
    let log = env.log();
    assert_eq!(log.len(), 1);
    assert_eq!(log[0]["event"]["kind"], "ledger.genesis");
    assert_eq!(log[0]["event"]["body"]["operator"], operator);
}

#[test]
fn issued_credentials_show_in_the_profile_with_skills_aggregated_and_totals() {
    let fx = fixture();
    let (env, key, learner) = (&fx.env, &fx.issuer.path, &fx.learner);
    assert_eq!(env.log_len(), 5, "genesis, registration, course and its key's two signed status lists");
    let cert = env.ok(&format!(
        "--json issue certificate --issuer-key {key} --learner {learner} --title 'Welding Safety' \
         --skills 'S1, S2=Skill two' --awarded 2026-05-02"
    ));
    let cert = cert.json();
    let cert_id = cert["id"].as_str().expect("id").to_owned();
    assert!(is_event_id(&cert_id), "{cert}");
    assert_eq!(cert, json!({"id": cert_id, "seq": 5}), "the lists of its key are current: no more to sign");
    let apprenticeship = env.ok(&format!(
        "issue apprenticeship --issuer-key {key} --learner {learner} --title Electrician \
         --employer 'Volt & Co' --hours 2000 --skills S3 --completed 2026-05-03"
    ));
    assert_eq!(apprenticeship.id_and_seq().1, 6);
    assert_eq!(env.log_len(), 7);

    let profile = env.profile(learner);
    assert_eq!(profile["learner"], learner.as_str());
    assert_eq!(profile["as_of_seq"], 6);
    let creds = &profile["credentials"];
    let kinds = ["course", "certificate", "apprenticeship"];
    assert_eq!(pluck(creds, "kind"), kinds);
    assert_eq!(pluck(creds, "status"), ["active", "active", "active"]);
    assert_eq!(creds[0]["id"], fx.course.as_str());
    assert_eq!(creds[0]["issuer"]["name"], "Harbor College");
    assert_eq!(creds[0]["credits"], 3);
    assert_eq!(creds[2]["hours"], 2000);
    assert_eq!(creds[2]["employer"], "Volt & Co");

    let skills = &profile["skills"];
    assert_eq!(pluck(skills, "id"), ["S1", "S2", "S3"]);
    assert_eq!(pluck(skills, "label"), ["Skill one", "Skill two", "S3"]);
    assert_eq!(skills[0]["evidence"], json!([fx.course, cert_id]));
    assert_eq!(skills[0]["credits"], 3);
    assert_eq!(skills[1]["evidence"], json!([cert_id]));
    assert_eq!(skills[2]["hours"], 2000);
    let totals = json!({"credits": 3, "apprenticeship_hours": 2000});
    assert_eq!(profile["totals"], totals);
}

#[test]
fn revoke_marks_the_credential_revoked_and_drops_it_from_skills_and_totals() {
    let fx = fixture();
    let second = fx.course("Advanced", "S1,S2");
    let before = fx.env.profile(&fx.learner);
    assert_eq!(before["totals"]["credits"], 6);
    assert_eq!(before["skills"][0]["evidence"], json!([fx.course, second]));

    let (key, course) = (&fx.issuer.path, &fx.course);
    fx.env.ok(&format!("revoke --issuer-key {key} --credential {course} --reason 'in error'"));
    let after = fx.env.profile(&fx.learner);
    let creds = &after["credentials"];
    assert_eq!(pluck(creds, "id"), [course, &second]);
    assert_eq!(pluck(creds, "status"), ["revoked", "active"]);
    assert_eq!(pluck(&after["skills"], "id"), ["S1", "S2"]);
    assert_eq!(after["skills"][0]["evidence"], json!([second]));
    assert_eq!(after["skills"][0]["credits"], 3);
    assert_eq!(after["totals"]["credits"], 3);
}

#[test]
fn rotate_key_retires_the_old_key_and_the_new_key_issues() {
    let fx = fixture();
    let new_key = fx.env.file("keys/harbor-2.key");
    let old_key = &fx.issuer.path;
    let rotated = fx.env.ok(&format!("issuer rotate-key --issuer-key {old_key} --new-key {new_key}"));
    assert_eq!(mode(&new_key), 0o600, "the new key file is created 0600");
    let log = fx.env.log();
    // Genesis, registration, the course with its key's two signed lists, then the rotation.
    assert_eq!(log.len(), 7);
    let events: Vec<&Value> = log.iter().map(|r| &r["event"]).collect();
    assert_eq!(events[5]["kind"], "issuer.key_added");
    assert_eq!(events[6]["kind"], "issuer.key_revoked");
    assert_eq!(events[6]["body"]["key"], fx.issuer.did.as_str());
    let new_did = events[5]["body"]["key"].as_str().expect("new key's did");
    assert!(rotated.stderr.contains(new_did), "{rotated:?}");

    let stale = fx.course_line("Stale", "S1");
    fx.assert_rejected(&stale, &["author", &fx.issuer.did, "revoked"]);

    let fresh = course_line(&new_key, &fx.learner, "Fresh", "S9");
    let (id, seq) = fx.env.ok(&fresh).id_and_seq();
    assert_eq!(seq, 7);
    let profile = fx.env.profile(&fx.learner);
    let creds = &profile["credentials"];
    assert_eq!(pluck(creds, "id"), [&fx.course, &id]);
    assert_eq!(pluck(creds, "status"), ["active", "active"], "old ones stand");
    assert_eq!(creds[1]["issuer"]["did"], fx.issuer.did.as_str());
    assert_eq!(profile["totals"]["credits"], 6);
}

#[test]
fn rebuild_leaves_the_profile_byte_identical() {
    let fx = fixture();
    let second = fx.course("Second", "S1,S2");
    let key = &fx.issuer.path;
    fx.env.ok(&format!("revoke --issuer-key {key} --credential {second} --reason r"));
    let profile = fx.env.profile_text(&fx.learner);
    let log = fx.env.ok("--json log").stdout;
    let rebuilt = fx.env.ok("--json rebuild").json();
    // The fixture's 5, the second course (its lists are current), the revocation and its list.
    assert_eq!(rebuilt, json!({"records": 8, "differed": false}));
    assert_eq!(fx.env.profile_text(&fx.learner), profile);
    assert_eq!(fx.env.ok("--json log").stdout, log);
}

#[test]
fn emit_with_origin_signs_for_a_log_out_of_reach() {
    let fx = fixture();
    let env = &fx.env;
    let nowhere = env.file("no/such/ledger");
    let emit = |origin: &str| {
        let line = fx.course_line("Offline", "S1") + &format!(" --emit --origin {origin}");
        let out = env.run_with_ledger(&nowhere, &line);
        assert_eq!(out.code, 0, "{out:?}");
        out
    };
    // Without a ledger or --origin, there is no log to name: a usage error, and no key is read.
    let plain = env.run_with_ledger(&nowhere, &(fx.course_line("Offline", "S1") + " --emit"));
    assert_eq!(plain.code, 2, "{plain:?}");
    assert!(plain.stdout.is_empty(), "{plain:?}");
    let line = plain.error_line();
    assert!(line.contains("--origin") && line.contains("body.ledger"), "{line}");
    // With --origin, the event names that log.
    let ours = emit("test.credledger.dev");
    assert_eq!(ours.json()["body"]["ledger"], "test.credledger.dev");

    // Meant for this log: accepted, and its standard form points at this log's status.
    let appended = env.ok(&format!("--json submit {}", env.write("ours.json", &ours.stdout))).json();
    let id = appended["events"][0]["id"].as_str().expect("id").to_owned();
    let vc = env.ok(&format!("export-vc {id}")).json();
    let status = vc["credentialStatus"]["id"].as_str().unwrap_or_default();
    assert!(status.starts_with("https://test.credledger.dev/v1/status/"), "{vc}");

    // Meant for another log: refused, naming the field, and nothing changes.
    let theirs = emit("elsewhere.example");
    let before = env.log_len();
    let refused = env.run(&format!("submit {}", env.write("theirs.json", &theirs.stdout)));
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("body.ledger"), "{refused:?}");
    assert_eq!(env.log_len(), before);
}

#[test]
fn learner_link_key_moves_the_learners_credentials_to_the_new_key() {
    let fx = fixture();
    let env = &fx.env;
    let old_key = env.file("keys/learner.key");
    let new_key = env.file("keys/learner-2026.key");
    let moved = env.ok(&format!("learner link-key --old-key {old_key} --new-key {new_key}"));
    assert_eq!(mode(&new_key), 0o600, "the new key file is created 0600");
    let (_, seq) = moved.id_and_seq();
    let record = &env.log()[usize::try_from(seq).expect("a small seq")];
    let event = &record["event"];
    assert_eq!(event["kind"], "learner.key_linked");
    assert_eq!(event["author"], fx.learner.as_str());
    assert_eq!(event["body"]["from"], fx.learner.as_str());
    let new_did = event["body"]["to"].as_str().expect("the new key's did").to_owned();
    assert!(moved.stderr.contains(&new_did), "{moved:?}");
    assert!(event["body"]["to_sig"].as_str().is_some_and(|s| !s.is_empty()), "signed by the new key too: {event}");

    // The profile follows the learner to the new key, from either did.
    for did in [&fx.learner, &new_did] {
        let profile = env.profile(did);
        assert_eq!(profile["learner"], new_did.as_str());
        assert_eq!(profile["earlier_keys"], json!([fx.learner]));
        assert_eq!(pluck(&profile["credentials"], "id"), [&fx.course]);
    }
    // The old key moved once.
    let again = format!("learner link-key --old-key {old_key} --new-key {}", env.keygen("learner-3").path);
    let out = env.run(&again);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.error_line().contains("body.from") && out.error_line().contains("already moved"), "{out:?}");
    // A key that holds nothing has nothing to move.
    let empty = env.keygen("nobody");
    let out = env.run(&format!("learner link-key --old-key {} --new-key {}", empty.path, env.keygen("n2").path));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.error_line().contains("body.from") && out.error_line().contains("holds no credential"), "{out:?}");
}

#[test]
fn every_signing_command_names_the_log_it_signs_for() {
    let fx = fixture();
    let env = &fx.env;
    let (issuer, learner, course) = (&fx.issuer, &fx.learner, &fx.course);
    let operator_key = env.file("ledger/operator.key");
    let spare = env.keygen("spare");
    let commands = [
        format!("issuer register --name 'Bay University' --key {} --operator-key {operator_key}", spare.did),
        format!(
            "issuer suspend --issuer {} --reason 'Accreditation withdrawn' --operator-key {operator_key}",
            issuer.did
        ),
        format!(
            "issuer revoke-key --issuer {} --key {} --reason 'Key stolen' --operator-key {operator_key}",
            issuer.did, issuer.did
        ),
        format!("issuer rotate-key --issuer-key {} --new-key {}", issuer.path, spare.path),
        course_line(&issuer.path, learner, "Emitted", "S1"),
        format!(
            "issue certificate --issuer-key {} --learner {learner} --title Cert --skills S1 --awarded 2026-05-01",
            issuer.path
        ),
        format!(
            "issue apprenticeship --issuer-key {} --learner {learner} --title Appr --employer Acme --hours 10 --skills S1 --completed 2026-05-01",
            issuer.path
        ),
        format!("revoke --issuer-key {} --credential {course} --reason 'In error'", issuer.path),
        format!("suspend --issuer-key {} --credential {course} --reason 'In review'", issuer.path),
        format!("reinstate --issuer-key {} --credential {course} --reason 'Cleared'", issuer.path),
        format!("learner link-key --old-key {} --new-key {}", env.file("keys/learner.key"), spare.path),
    ];
    let nowhere = env.file("no/such/ledger");
    for command in &commands {
        // On the ledger directory: its origin.
        let out = env.ok(&format!("{command} --emit"));
        for line in out.stdout.lines() {
            let event: Value = serde_json::from_str(line).expect("one event a line");
            assert_eq!(event["body"]["ledger"], "test.credledger.dev", "{command}: {event}");
        }
        // Out of reach of any ledger: --origin names it, and without it nothing is signed.
        let named = env.run_with_ledger(&nowhere, &format!("{command} --emit --origin elsewhere.example"));
        assert_eq!(named.code, 0, "{command}: {named:?}");
        for line in named.stdout.lines() {
            let event: Value = serde_json::from_str(line).expect("one event a line");
            assert_eq!(event["body"]["ledger"], "elsewhere.example", "{command}: {event}");
        }
        let unnamed = env.run_with_ledger(&nowhere, &format!("{command} --emit"));
        assert_eq!(unnamed.code, 2, "{command}: {unnamed:?}");
        assert!(unnamed.stdout.is_empty(), "{command}: {unnamed:?}");
        assert!(unnamed.error_line().contains("--origin: required"), "{command}: {unnamed:?}");
    }
    assert_eq!(env.log_len(), 5, "--emit appends nothing");
}

#[test]
fn emit_prints_a_signed_event_without_a_ledger_and_submit_is_idempotent() {
    let fx = fixture();
    let env = &fx.env;
    let nowhere = env.file("no/such/ledger");
    let out =
        env.run_with_ledger(&nowhere, &(fx.course_line("Emitted", "S7") + " --emit --origin test.credledger.dev"));
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!Path::new(&nowhere).exists(), "--emit creates no ledger");
    let event = out.json();
    assert_eq!(event["kind"], "credential.course_completed");
    assert_eq!(event["author"], fx.issuer.did.as_str());
    assert_eq!(event["body"]["learner"], fx.learner.as_str());
    assert_eq!(event["sig"].as_str().map(str::len), Some(86), "{event}");
    assert_eq!(env.log_len(), 5, "--emit appends nothing");

    let submit = format!("--json submit {}", env.write("event.json", &out.stdout));
    let first = env.ok(&submit).json();
    assert_eq!(first["appended"], 1);
    assert_eq!(first["events"][0]["seq"], 5);
    assert_eq!(first["events"][0]["new"], true);
    let log = env.log();
    assert_eq!(log.len(), 6);
    assert_eq!(log[5]["event"]["sig"], event["sig"], "the emitted event");

    let again = env.ok(&submit).json();
    assert_eq!(again["events"][0]["seq"], 5, "the first submission's seq");
    assert_eq!(again["events"][0]["id"], first["events"][0]["id"]);
    assert_eq!(again["events"][0]["new"], false);
    assert_eq!(env.log_len(), 6);
    let profile = env.profile(&fx.learner);
    let titles = pluck(&profile["credentials"], "title");
    assert_eq!(titles, ["Intro", "Emitted"]);
}

// ---------------------------------------------------------------------------------------------
// Bad input: exit 1, one line naming the field or reason, nothing changed

#[test]
fn submit_reports_every_line_in_order_as_its_group_commits() {
    let fx = fixture();
    let env = &fx.env;
    let out = env.run_with_ledger(
        &env.file("nowhere"),
        &(fx.course_line("Streamed", "S8") + " --emit --origin test.credledger.dev"),
    );
    let event = out.stdout.trim().to_owned();
    // A new event, a line that is not JSON, and the same event again.
    let file = env.write("mixed.jsonl", &format!("{event}\nnot json\n{event}\n"));

    let report = env.run(&format!("--json submit {file}"));
    assert_eq!(report.code, 1, "a line was refused: {report:?}");
    let json = report.json();
    assert_eq!(pluck(&json["events"], "line"), [1, 2, 3], "{json}");
    assert_eq!(json["events"][0]["new"], true, "{json}");
    assert!(json["events"][1]["error"].as_str().is_some_and(|e| !e.is_empty()), "{json}");
    assert_eq!(json["events"][2]["new"], false, "{json}");
    assert_eq!(json["events"][2]["id"], json["events"][0]["id"], "{json}");
    assert_eq!(
        (json["appended"].clone(), json["already_present"].clone(), json["rejected"].clone()),
        (1.into(), 1.into(), 1.into())
    );
    assert!(json["peak_memory_bytes"].as_u64().is_some_and(|b| b > 0), "Linux tells a process its peak memory: {json}");
    assert!(report.stderr.contains("line 2: rejected"), "{report:?}");

    let text = env.run(&format!("submit {file}"));
    let lines: Vec<&str> = text.stdout.lines().collect();
    assert!(lines[0].starts_with("line 1: seq 5 id ") && lines[0].ends_with("(already on the log)"), "{text:?}");
    assert!(lines[1].starts_with("line 3: seq 5 id "), "{text:?}");
    assert_eq!(lines[2], "0 appended, 2 already on the log, 1 rejected", "{text:?}");
}

#[test]
fn malformed_json_is_rejected() {
    let fx = fixture();
    let file = fx.env.write("bad.json", "{\"v\": 1, \"kind\": ");
    fx.assert_rejected(&format!("submit {file}"), &["line 1", "malformed JSON"]);
}

#[test]
fn unknown_kind_is_rejected() {
    let fx = fixture();
    let edit = |e: &mut Value| e["kind"] = json!("credential.nonsense");
    fx.assert_tampered_rejected(edit, &["kind", "unknown", "credential.nonsense"]);
}

#[test]
fn missing_field_is_rejected() {
    let fx = fixture();
    let edit = |e: &mut Value| drop(e["body"].as_object_mut().unwrap().remove("title"));
    fx.assert_tampered_rejected(edit, &["body.title", "required"]);
}

#[test]
fn mistyped_field_is_rejected() {
    let fx = fixture();
    let edit = |e: &mut Value| e["body"]["credits"] = json!("3");
    fx.assert_tampered_rejected(edit, &["body.credits", "number"]);
}

#[test]
fn bad_did_on_the_command_line_is_rejected() {
    let fx = fixture();
    let key = &fx.issuer.path;
    let line = course_line(key, "notadid", "T", "S1");
    fx.assert_rejected(&line, &["--learner", "notadid", "did:key"]);
    let line = course_line(key, NOT_A_CURVE_POINT, "T", "S1");
    fx.assert_rejected(&line, &["--learner", "Ed25519 point"]);
}

#[test]
fn bad_did_in_a_submitted_body_is_rejected() {
    let fx = fixture();
    let edit = |e: &mut Value| e["body"]["learner"] = json!("notadid");
    fx.assert_tampered_rejected(edit, &["body.learner", "did:key"]);
}

#[test]
fn did_key_that_is_not_a_curve_point_in_a_body_names_the_field() {
    let fx = fixture();
    let edit = |e: &mut Value| e["body"]["learner"] = json!(NOT_A_CURVE_POINT);
    fx.assert_tampered_rejected(edit, &["body.learner", "Ed25519 point"]);
}

#[test]
fn flipped_signature_is_rejected() {
    let fx = fixture();
    let edit = |e: &mut Value| {
        let sig = e["sig"].as_str().unwrap();
        let first = if sig.starts_with('A') { 'B' } else { 'A' };
        e["sig"] = json!(format!("{first}{}", &sig[1..]));
    };
    fx.assert_tampered_rejected(edit, &["sig", "does not verify"]);
}

#[test]
fn signature_by_another_key_is_rejected() {
    let fx = fixture();
    let other = fx.env.keygen("other");
    fx.env.register("Other", &other.did);
    let edit = |e: &mut Value| e["author"] = json!(other.did);
    fx.assert_tampered_rejected(edit, &["sig", "does not verify", &other.did]);
}

#[test]
fn unregistered_issuer_cannot_issue() {
    let fx = fixture();
    let stranger = fx.env.keygen("stranger");
    let line = course_line(&stranger.path, &fx.learner, "T", "S1");
    let reason = "not a key of any registered issuer";
    fx.assert_rejected(&line, &["author", &stranger.did, reason]);
}

#[test]
fn suspended_issuer_cannot_issue() {
    let fx = fixture();
    let did = &fx.issuer.did;
    fx.env.ok(&format!("issuer suspend --issuer {did} --reason 'accreditation lapsed'"));
    fx.assert_rejected(&fx.course_line("T", "S1"), &["author", did, "suspended"]);
    let profile = fx.env.profile(&fx.learner);
    assert_eq!(profile["credentials"][0]["status"], "active");
}

#[test]
fn revoking_another_issuers_credential_is_rejected() {
    let fx = fixture();
    let other = fx.env.keygen("other");
    fx.env.register("Other", &other.did);
    let (key, course) = (&other.path, &fx.course);
    let line = format!("revoke --issuer-key {key} --credential {course} --reason r");
    fx.assert_rejected(&line, &["body.credential", "another issuer"]);
}

#[test]
fn duplicate_revocation_is_rejected() {
    let fx = fixture();
    let (key, course) = (&fx.issuer.path, &fx.course);
    let revoke = format!("revoke --issuer-key {key} --credential {course}");
    fx.env.ok(&format!("{revoke} --reason 'in error'"));
    // Another reason, so it is a new event, not an idempotent re-submission of the first.
    let again = format!("{revoke} --reason again");
    fx.assert_rejected(&again, &["body.credential", "already revoked"]);
}

#[test]
fn revoking_a_credential_that_does_not_exist_is_rejected() {
    let fx = fixture();
    let key = &fx.issuer.path;
    let revoke = format!("revoke --issuer-key {key} --reason r --credential");
    let missing = "ab".repeat(32);
    let needles = ["body.credential", "no credential", &missing];
    fx.assert_rejected(&format!("{revoke} {missing}"), &needles);
    fx.assert_rejected(&format!("{revoke} xyz"), &["--credential"]);
}

#[test]
fn dates_that_are_not_rfc3339_are_rejected() {
    let fx = fixture();
    let course = fx.course_line("T", "S1");
    for bad in ["2026-13-45", "yesterday"] {
        let line = course.replace("--completed 2026-05-01", &format!("--completed {bad}"));
        fx.assert_rejected(&line, &["--completed", bad, "RFC 3339"]);
    }
    let (key, learner) = (&fx.issuer.path, &fx.learner);
    let cert = format!(
        "issue certificate --issuer-key {key} --learner {learner} --title T --skills S1 \
         --awarded 2026-02-30"
    );
    fx.assert_rejected(&cert, &["--awarded", "2026-02-30", "RFC 3339"]);
    let edit = |e: &mut Value| e["created_at"] = json!("2026-05-01 12:00");
    fx.assert_tampered_rejected(edit, &["created_at", "RFC 3339"]);
}

#[test]
fn key_file_with_loose_permissions_is_refused() {
    let fx = fixture();
    fs::set_permissions(&fx.issuer.path, fs::Permissions::from_mode(0o644)).unwrap();
    let line = fx.course_line("T", "S1");
    fx.assert_rejected(&line, &[&fx.issuer.path, "permissions 644"]);
}

#[test]
fn keygen_refuses_to_overwrite_an_existing_file() {
    let env = Env::new();
    let key = env.keygen("college");
    let before = fs::read(&key.path).unwrap();
    let out = env.run(&format!("keygen --out {}", key.path));
    assert_eq!(out.code, 1, "{out:?}");
    let error = out.error_line();
    assert!(error.contains("already exists; refusing"), "{error}");
    assert_eq!(fs::read(&key.path).unwrap(), before, "key file untouched");
}

// ---------------------------------------------------------------------------------------------
// Usage errors exit 2

#[test]
fn usage_errors_exit_2() {
    let fx = fixture();
    let len = fx.env.log_len();
    let (key, learner) = (&fx.issuer.path, &fx.learner);
    let cases = [
        ("frobnicate".to_owned(), "frobnicate"),
        (format!("issue course --issuer-key {key}"), "--learner"),
        (format!("issuer register --name X --key {learner} --kind castle"), "castle"),
        ("log --from minus-one".to_owned(), "--from"),
    ];
    for (line, needle) in cases {
        let out = fx.env.run(&line);
        assert_eq!(out.code, 2, "credledger {line}: {out:?}");
        assert!(out.stderr.contains(needle), "want {needle:?}: {out:?}");
    }
    assert_eq!(fx.env.log_len(), len);
}

// ---------------------------------------------------------------------------------------------
// JSON Lines submit with one bad line

/// Three emitted course events, one per line, the second edited after signing.
fn jsonl_with_bad_second_line(fx: &Fixture) -> (String, Vec<Value>) {
    let events: Vec<Value> = (1..=3).map(|i| fx.emit_course(&format!("Batch {i}"))).collect();
    let mut lines: Vec<String> = events.iter().map(Value::to_string).collect();
    let mut bad = events[1].clone();
    bad["body"]["title"] = json!("Batch 2, edited after signing");
    lines[1] = bad.to_string();
    let file = fx.env.write("batch.jsonl", &(lines.join("\n") + "\n"));
    (file, events)
}

#[test]
fn jsonl_submit_commits_the_good_lines_and_names_the_bad_one() {
    let fx = fixture();
    let (file, events) = jsonl_with_bad_second_line(&fx);
    let out = fx.env.run(&format!("--json submit {file}"));
    assert_eq!(out.code, 1, "{out:?}");
    let error = out.error_line();
    assert!(error.starts_with("line 2: rejected: sig:"), "{error}");
    let report = out.json();
    assert_eq!(report["appended"], 2);
    assert_eq!(report["rejected"], 1);
    let log = fx.env.log();
    let sigs: Vec<&Value> = log.iter().map(|r| &r["event"]["sig"]).collect();
    assert_eq!(sigs[5..], [&events[0]["sig"], &events[2]["sig"]]);
    let profile = fx.env.profile(&fx.learner);
    let titles = pluck(&profile["credentials"], "title");
    assert_eq!(titles, ["Intro", "Batch 1", "Batch 3"]);
}

#[test]
fn atomic_jsonl_submit_appends_nothing_when_one_line_is_bad() {
    let fx = fixture();
    let (file, _) = jsonl_with_bad_second_line(&fx);
    fx.assert_rejected(&format!("submit --atomic {file}"), &["line 2:", "sig"]);
    let good = fx.emit_course("Solo");
    let junk = fx.env.write("junk.jsonl", &format!("{good}\nnot json\n"));
    let line = format!("submit --atomic {junk}");
    fx.assert_rejected(&line, &["line 2:", "malformed JSON"]);
}

// ---------------------------------------------------------------------------------------------
// Help and messages

/// One entry of a help page's argument or option list: its spec (`--title <TITLE>`, `<DID>`)
/// and its description, with clap's `[default: …]`, `[env: …]` and `[possible values: …]` notes
/// left out.
#[derive(Debug)]
struct HelpEntry {
    heading: String,
    spec: String,
    description: String,
}

/// The entries of every list on a help page (`Arguments:`, `Options:`, `Global options:`), and
/// the names in its `Commands:` list.
fn help_page(text: &str) -> (Vec<HelpEntry>, Vec<String>) {
    let without_notes = |s: &str| {
        let mut s = s.to_owned();
        while let Some(start) = s.find(" [").or_else(|| s.starts_with('[').then_some(0)) {
            let end = s[start..].find(']').map_or(s.len(), |e| start + e + 1);
            s.replace_range(start..end, "");
        }
        s.trim().to_owned()
    };
    let (mut entries, mut commands) = (Vec::<HelpEntry>::new(), Vec::new());
    let mut heading = String::new();
    for line in text.lines() {
        if !line.starts_with(' ') && line.ends_with(':') {
            heading = line.trim_end_matches(':').to_owned();
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim();
        if trimmed.is_empty() || heading.is_empty() || heading == "Usage" {
            continue;
        }
        if heading == "Commands" {
            commands.extend(trimmed.split_whitespace().next().map(str::to_owned));
            continue;
        }
        let starts_entry = indent <= 6 && trimmed.starts_with(['-', '<', '[']);
        match entries.last_mut() {
            // A description on the lines below its entry (clap's long format).
            Some(last) if !starts_entry && last.heading == heading => {
                last.description = format!("{} {}", last.description, without_notes(trimmed)).trim().to_owned();
            }
            _ => {
                let (spec, description) = trimmed.split_once("  ").unwrap_or((trimmed, ""));
                let description = without_notes(description);
                entries.push(HelpEntry { heading: heading.clone(), spec: spec.to_owned(), description });
            }
        }
    }
    (entries, commands)
}

#[test]
fn every_commands_help_describes_every_argument_and_lists_the_global_options_once_apart() {
    const GLOBAL: [&str; 4] = ["--ledger", "--server", "--database-url", "--json"];
    let env = Env::new();
    let (mut pages, mut undescribed) = (0, Vec::new());
    let mut todo: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = todo.pop() {
        let line = format!("{} --help", path.join(" "));
        let out = env.ok(&line);
        let (entries, commands) = help_page(&out.stdout);
        pages += 1;
        assert!(!entries.is_empty(), "`{line}` lists no options: {}", out.stdout);
        for entry in &entries {
            if entry.description.is_empty() {
                undescribed.push(format!("`credledger {line}`: {}", entry.spec));
            }
        }
        // The flags every command takes: each once, under a heading of their own.
        for flag in GLOBAL {
            let shown: Vec<&HelpEntry> = entries.iter().filter(|e| e.spec.starts_with(flag)).collect();
            assert_eq!(shown.len(), 1, "`{line}` shows {flag} {} times", shown.len());
            assert_eq!(shown[0].heading, "Global options", "`{line}`: {flag}");
        }
        let own = entries.iter().filter(|e| e.heading != "Global options");
        assert!(own.clone().all(|e| !GLOBAL.iter().any(|g| e.spec.starts_with(g))), "`{line}`");
        todo.extend(commands.into_iter().filter(|c| c != "help").map(|c| [path.clone(), vec![c]].concat()));
    }
    assert!(pages > 30, "walked {pages} help pages");
    assert!(undescribed.is_empty(), "options without a description:\n{}", undescribed.join("\n"));
    // A date says its format.
    for (command, flags) in [
        ("issue course", &["--completed"][..]),
        ("issue certificate", &["--awarded", "--valid-until"]),
        ("issue apprenticeship", &["--completed"]),
    ] {
        let (entries, _) = help_page(&env.ok(&format!("{command} --help")).stdout);
        for flag in flags {
            let entry = entries.iter().find(|e| e.spec.starts_with(flag)).expect(flag);
            assert!(entry.description.contains("YYYY-MM-DD"), "{command} {flag}: {entry:?}");
        }
    }
}

#[test]
fn a_bad_positional_argument_is_named_as_one_not_as_a_flag() {
    let fx = fixture();
    for (line, name) in
        [("profile not-a-did", "<DID>"), ("export-clr not-a-did", "<DID>"), ("export-vc not-an-id", "<ID>")]
    {
        let out = fx.env.run(line);
        assert_eq!(out.code, 1, "{line}: {out:?}");
        let error = out.error_line();
        assert!(error.starts_with(&format!("error: {name}: ")), "{line}: {error}");
        assert!(!error.contains("--"), "{line} names no flag: {error}");
    }
}

#[test]
fn a_missing_file_is_reported_once_with_the_operating_systems_reason() {
    let fx = fixture();
    let missing = fx.env.file("keys/missing.key");
    let lines = [
        course_line(&missing, &fx.learner, "T", "S1"),
        format!("share --learner-key {missing} --out b.json"),
        format!("revoke --issuer-key {missing} --credential {} --reason r", fx.course),
        format!("issuer register --name X --key {} --operator-key {missing}", fx.learner),
    ];
    // What the operating system says, e.g. "No such file or directory (os error 2)".
    let reason = fs::metadata(&missing).expect_err("the key file is missing").to_string();
    for line in lines {
        let out = fx.env.run(&line);
        assert_eq!(out.code, 1, "{line}: {out:?}");
        let error = out.error_line();
        assert!(error.contains(&missing), "{line}: {error}");
        assert_eq!(error.matches(&reason).count(), 1, "{line}: the reason said once: {error}");
    }
}

#[test]
fn a_demo_bundle_verifies_with_no_flags_through_the_demos_trust_file() {
    let env = Env::new();
    let demo = env.ok("demo");
    let config: Value = serde_json::from_str(&fs::read_to_string(env.file("ledger/config.json")).unwrap()).unwrap();
    let operator = config["operator"].as_str().expect("the operator's did");
    // The demo names its operator and the trust file, and says how to verify.
    assert!(demo.stdout.contains(operator), "{}", demo.stdout);
    assert!(demo.stdout.contains("keys/demo/trust.json"), "{}", demo.stdout);
    assert!(demo.stdout.lines().any(|l| l.trim() == "credledger verify bundle.json"), "{}", demo.stdout);
    let trust: Value = serde_json::from_str(&fs::read_to_string(env.file("keys/demo/trust.json")).unwrap()).unwrap();
    assert_eq!(trust, json!({"operators": [{"origin": "demo.credledger.dev", "did": operator}]}));

    env.ok("share --learner-key keys/demo/learner-01.key --out bundle.json");
    let out = env.run("verify bundle.json");
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().last().unwrap_or_default().starts_with("VALID"), "{}", out.stdout);
    assert!(out.stderr.contains("keys/demo/trust.json"), "says which trust file: {out:?}");

    // The demo's operator is trusted for the demo's log only.
    let other = env.file("other");
    let on_other = |line: &str| {
        let out = env.run_with_ledger(&other, line);
        assert_eq!(out.code, 0, "{line}: {out:?}");
        out
    };
    on_other("init --origin other.example");
    let issuer = env.keygen("other-issuer");
    let learner = env.keygen("other-learner");
    on_other(&format!("issuer register --name Other --key {}", issuer.did));
    on_other(&course_line(&issuer.path, &learner.did, "Intro", "S1"));
    on_other(&format!("share --learner-key {} --out other.json", learner.path));
    let out = env.run("verify other.json");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("not signed by a trusted operator"), "{}", out.stdout);
}

#[test]
fn one_share_presents_credentials_held_under_two_dids_with_no_key_link_on_the_log() {
    let fx = fixture();
    let env = &fx.env;
    // A wallet's fresh key for a second claim: the learner's second did.
    let wallet = env.keygen("wallet-2");
    let welding = env.ok(&course_line(&fx.issuer.path, &wallet.did, "Welding", "S2=Skill two")).id_and_seq().0;
    let first = env.file("keys/learner.key");
    let shared = env.ok(&format!("--json share --learner-key {first} --learner-key {} --out both.json", wallet.path));
    assert_eq!(shared.json()["credentials"], 2, "{}", shared.stdout);
    let bundle: Value = serde_json::from_str(&fs::read_to_string(env.file("both.json")).expect("the bundle")).unwrap();
    assert_eq!((&bundle["v"], &bundle["learner"]), (&json!(2), &json!(fx.learner)));
    assert_eq!(bundle["holders"], json!([wallet.did]));
    assert_eq!(bundle["status"]["holders"], json!([wallet.did]), "the operator names each holder");
    assert!(bundle["holder_sigs"][&wallet.did].as_str().is_some_and(|s| !s.is_empty()), "{bundle}");

    let config: Value = serde_json::from_str(&fs::read_to_string(env.file("ledger/config.json")).unwrap()).unwrap();
    let operator = config["operator"].as_str().expect("the operator's did");
    let report = env.ok(&format!("--json verify both.json --operator {operator}")).json();
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    assert_eq!(pluck(&report["credentials"], "id"), [&json!(fx.course), &json!(welding)]);
    assert_eq!(report["holders"], json!([wallet.did]));

    // Nothing on the log links the two dids: no key link, and each profile shows its own.
    assert!(env.log().iter().all(|r| r["event"]["kind"] != "learner.key_linked"), "a key link was appended");
    assert_eq!(pluck(&env.profile(&fx.learner)["credentials"], "id"), [&json!(fx.course)]);
    assert_eq!(pluck(&env.profile(&wallet.did)["credentials"], "id"), [&json!(welding)]);

    // Without the wallet key's signature, the wallet's credential is not proven.
    let mut unproven = bundle.clone();
    unproven["holder_sigs"] = json!({});
    fs::write(env.file("unproven.json"), unproven.to_string()).expect("write");
    let out = env.run(&format!("verify unproven.json --operator {operator}"));
    assert_eq!(out.code, 1, "{out:?}");
    let line = out.stdout.lines().find(|l| l.contains("learner.signature")).expect("the check is listed");
    assert!(line.contains("no signature by") && line.contains(&wallet.did), "{line}");
    // The same key twice is refused, naming both files.
    let out = env.run(&format!("share --learner-key {first} --learner-key {first} --out twice.json"));
    assert_ne!(out.code, 0, "{out:?}");
    assert!(out.error_line().contains("--learner-key") && out.error_line().contains("same key"), "{out:?}");
    // A key that holds none of the chosen credentials is left out, not proven.
    let out = env
        .run(&format!("share --learner-key {first} --learner-key {} --only {} --out one.json", wallet.path, fx.course));
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.error_line().contains(&wallet.did) && out.error_line().contains("leave its key out"), "{out:?}");
}
