//! End-to-end tests of proofs from the CLI: `checkpoint`, `prove`, `audit`, `share` and `verify`
//! run as the real binary on a real ledger, with their outputs checked by the library's
//! verifiers and against the published bundle schema.

use std::path::{Path, PathBuf};
use std::process::Command;

use credledger::checkpoint::Checkpoint;
use credledger::id::{Did, Hash32};
use credledger::merkle;
use serde_json::Value;
use tempfile::TempDir;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A ledger with an operator, a college and a learner holding two credentials.
struct Fixture {
    dir: TempDir,
    operator: Did,
    credentials: Vec<String>,
}

impl Fixture {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, args: &[&str]) -> Run {
        let out = Command::new(env!("CARGO_BIN_EXE_credledger"))
            .arg("--ledger")
            .arg(self.path("ledger"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .expect("run credledger");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let run = self.run(args);
        assert_eq!(run.code, 0, "{args:?} failed: {}", run.stderr);
        run.stdout
    }

    fn key(&self, name: &str) -> String {
        let path = self.path(name);
        self.ok(&["keygen", "--out", path.to_str().unwrap()]).lines().next().unwrap().to_owned()
    }

    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut f = Fixture {
            dir,
            operator: "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2".parse().unwrap(),
            credentials: vec![],
        };
        let init = f.ok(&["init", "--origin", "proofs.test.example"]);
        f.operator = init.lines().next().unwrap().parse().unwrap();
        let college = f.key("college.key");
        f.key("learner.key");
        let learner = f.learner();
        f.ok(&["issuer", "register", "--name", "Test College", "--key", &college]);
        for (title, skills) in
            [("Intro to Python", "KS1200364C9C1LK3V5Q1=Python"), ("Databases", "KS440W865GC4VRBW6LJP=SQL")]
        {
            let out = f.ok(&[
                "issue",
                "course",
                "--issuer-key",
                "college.key",
                "--learner",
                &learner,
                "--title",
                title,
                "--code",
                "C1",
                "--skills",
                skills,
                "--credits",
                "3",
                "--completed",
                "2026-05-01",
            ]);
            f.credentials.push(out.lines().next().unwrap().to_owned());
        }
        f
    }

    fn learner(&self) -> String {
        std::fs::read_to_string(self.path("learner.key"))
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("# did: "))
            .unwrap()
            .to_owned()
    }

    fn checkpoint(&self) -> Checkpoint {
        Checkpoint::verify(&self.ok(&["checkpoint"]), &self.operator)
            .expect("the checkpoint verifies with the operator key")
    }

    fn verify(&self, bundle: &Path, extra: &[&str]) -> Run {
        let mut args = vec!["verify", bundle.to_str().unwrap(), "--operator", self.operator.as_str()];
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

fn hashes(value: &Value) -> Vec<Hash32> {
    value.as_array().unwrap().iter().map(|h| h.as_str().unwrap().parse().unwrap()).collect()
}

#[test]
fn checkpoints_and_proofs_check_with_the_library_verifiers() {
    let f = Fixture::new();
    let first = f.checkpoint();
    assert_eq!(
        (first.origin.as_str(), first.size),
        ("proofs.test.example", 6),
        "genesis, registration, two credentials and their key's two signed lists"
    );
    for seq in 0..first.size {
        let proof: Value = serde_json::from_str(&f.ok(&["--json", "prove", "--seq", &seq.to_string()])).unwrap();
        assert_eq!(proof["size"], first.size);
        let leaf: Hash32 = proof["leaf_hash"].as_str().unwrap().parse().unwrap();
        merkle::verify_inclusion(&leaf, seq, first.size, &hashes(&proof["path"]), &first.root).unwrap();
    }
    // The log grows; the new checkpoint is consistent with the old one.
    f.ok(&["revoke", "--issuer-key", "college.key", "--credential", &f.credentials[0], "--reason", "issued in error"]);
    let second = f.checkpoint();
    assert_eq!(second.size, 8, "the revocation and its revocation list");
    let proof: Value = serde_json::from_str(&f.ok(&["--json", "prove", "--from", "6", "--to", "8"])).unwrap();
    merkle::verify_consistency(6, 8, &first.root, &second.root, &hashes(&proof["path"])).unwrap();
    // Proofs outside the tree are refused with a reason.
    let run = f.run(&["prove", "--seq", "9"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("outside a tree of 8 leaves"), "{}", run.stderr);
}

#[test]
fn audit_passes_on_an_honest_ledger() {
    let f = Fixture::new();
    let out = f.ok(&["audit"]);
    assert!(out.contains("audit passed: 6 records"), "{out}");
    let report: Value = serde_json::from_str(&f.ok(&["--json", "audit"])).unwrap();
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(report["root"], f.checkpoint().root.to_hex());
}

#[test]
fn a_shared_bundle_verifies_offline_and_matches_its_schema() {
    let f = Fixture::new();
    f.ok(&["share", "--learner-key", "learner.key", "--audience", "acme-hr", "--nonce", "n-42", "--out", "b.json"]);
    let run = f.verify(&f.path("b.json"), &["--audience", "acme-hr", "--nonce", "n-42"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let verdict = run.stdout.trim_end().lines().last().unwrap_or_default();
    assert!(verdict.starts_with("VALID — status as of "), "{}", run.stdout);
    for check in [
        "checkpoint.signature",
        "entries.inclusion",
        "events.signatures",
        "issuer.authority",
        "credentials.status",
        "learner.holder",
        "learner.signature",
        "request.audience",
        "request.nonce",
    ] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with("pass") && l.contains(check)),
            "{check} not passed:\n{}",
            run.stdout
        );
    }

    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(f.path("b.json")).unwrap()).unwrap();
    let errors = schema_errors(&bundle);
    assert!(errors.is_empty(), "{errors:?}");
}

/// Where `bundle` departs from the published bundle schema.
fn schema_errors(bundle: &Value) -> Vec<String> {
    let schema =
        |name: &str| -> Value { serde_json::from_str(credledger::schema::schema_text(name).unwrap()).unwrap() };
    let registry = jsonschema::Registry::new()
        .add("https://credledger.dev/schemas/common.json", schema("common"))
        .and_then(|r| r.add("https://credledger.dev/schemas/event.json", schema("event")))
        .and_then(jsonschema::RegistryBuilder::prepare)
        .unwrap();
    let validator = jsonschema::options().with_registry(&registry).offline().build(&schema("bundle.schema")).unwrap();
    validator.iter_errors(bundle).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn a_bundle_of_two_dids_verifies_offline_and_matches_its_schema() {
    let f = Fixture::new();
    let wallet = f.key("wallet.key");
    let course = ["issue", "course", "--issuer-key", "college.key", "--learner", &wallet, "--title", "Networks"];
    f.ok(&[&course[..], &["--code", "C2", "--skills", "S1", "--credits", "2", "--completed", "2026-05-02"]].concat());
    f.ok(&["share", "--learner-key", "learner.key", "--learner-key", "wallet.key", "--out", "b.json"]);
    let run = f.verify(&f.path("b.json"), &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(f.path("b.json")).unwrap()).unwrap();
    assert_eq!(bundle["v"], 2);
    let errors = schema_errors(&bundle);
    assert!(errors.is_empty(), "{errors:?}");
    // The schema tells the versions apart: version 2 needs its holders, version 1 has none.
    let mut without = bundle.clone();
    without.as_object_mut().unwrap().remove("holder_sigs");
    assert!(!schema_errors(&without).is_empty(), "version 2 without holder_sigs");
    let mut v1 = bundle;
    v1["v"] = 1.into();
    v1["status"]["v"] = 1.into();
    assert!(!schema_errors(&v1).is_empty(), "version 1 with holders");
}

#[test]
fn tampered_bundles_wrong_keys_and_replays_are_invalid() {
    let f = Fixture::new();
    f.ok(&["share", "--learner-key", "learner.key", "--audience", "acme-hr", "--out", "b.json"]);
    let text = std::fs::read_to_string(f.path("b.json")).unwrap();
    std::fs::write(f.path("t.json"), text.replacen("Intro to Python", "Intro to Pythons", 1)).unwrap();
    let run = f.verify(&f.path("t.json"), &[]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.contains("FAIL") && run.stdout.trim_end().ends_with("INVALID"), "{}", run.stdout);

    let run = f.verify(&f.path("b.json"), &["--audience", "other-employer"]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.lines().any(|l| l.starts_with("FAIL") && l.contains("request.audience")), "{}", run.stdout);

    let stranger = f.key("stranger.key");
    let run = f.run(&["verify", "b.json", "--operator", &stranger, "--json"]);
    assert_eq!(run.code, 1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["verdict"], "INVALID");
    assert_eq!(report["checks"][1]["name"], "checkpoint.signature");
    assert_eq!(report["checks"][1]["ok"], false);
}

#[test]
fn a_revoked_credential_makes_the_bundle_invalid_and_is_named() {
    let f = Fixture::new();
    let revoked = &f.credentials[0];
    f.ok(&["revoke", "--issuer-key", "college.key", "--credential", revoked, "--reason", "issued in error"]);
    // By default only active credentials are shared.
    f.ok(&["share", "--learner-key", "learner.key", "--out", "active.json"]);
    assert_eq!(f.verify(&f.path("active.json"), &[]).code, 0);
    // Presenting the revoked one on purpose fails, naming it.
    f.ok(&["share", "--learner-key", "learner.key", "--only", revoked, "--out", "revoked.json"]);
    let run = f.verify(&f.path("revoked.json"), &["--json"]);
    assert_eq!(run.code, 1);
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    let failed: Vec<&Value> = report["checks"].as_array().unwrap().iter().filter(|c| c["ok"] == false).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["name"], "credentials.status");
    let detail = failed[0]["detail"].as_str().unwrap();
    assert!(detail.contains(revoked.as_str()) && detail.contains("revoked"), "{detail}");
}

#[test]
fn verify_needs_a_trusted_key_and_share_needs_a_credential() {
    let f = Fixture::new();
    f.ok(&["share", "--learner-key", "learner.key", "--out", "b.json"]);
    let run = f.run(&["verify", "b.json"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--operator DID or --trust FILE"), "{}", run.stderr);
    // A trust file works like --operator.
    let trust = serde_json::json!({"operators": [{"origin": "proofs.test.example", "did": f.operator}]});
    std::fs::write(f.path("trust.json"), trust.to_string()).unwrap();
    assert_eq!(f.run(&["verify", "b.json", "--trust", "trust.json"]).code, 0);
    // A learner with nothing on the ledger has nothing to share.
    f.key("nobody.key");
    let run = f.run(&["share", "--learner-key", "nobody.key", "--out", "n.json"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no active credentials"), "{}", run.stderr);
    assert!(!f.path("n.json").exists());
}
