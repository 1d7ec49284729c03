//! Standard credentials end to end: the W3C eddsa-jcs-2022 vector, credentials exported from a
//! ledger (`export-vc`, `export-clr`, and over HTTP) verified by the CLI, by the server and by an
//! independent verifier (tests/tools/vc_verify.py), checked against 1EdTech's published JSON
//! Schemas, failing once tampered with, and failing when re-signed by a key that is not the
//! issuer's.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};

use credledger::SecretKey;
use credledger::event::Timestamp;
use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_credledger");
const VECTOR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/w3c/eddsa-jcs-2022-signed.json");
const VECTOR_KEY: &str = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
const INDEPENDENT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/vc_verify.py");

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).current_dir(dir).output().expect("run credledger");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn ok(dir: &Path, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(dir, args);
    assert_eq!(code, 0, "credledger {args:?}: {stderr}");
    stdout
}

/// The independent verifier's verdict (python3 with `cryptography`, as CI installs).
fn independent(file: &Path, key: Option<&str>) -> bool {
    let mut cmd = Command::new("python3");
    cmd.arg(INDEPENDENT).arg(file).args(key);
    let out = cmd.output().expect("python3 runs the independent verifier");
    let verdict = String::from_utf8_lossy(&out.stdout);
    assert!(
        verdict.trim() == "VALID" || verdict.trim() == "INVALID",
        "vc_verify.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.success()
}

/// A 1EdTech JSON Schema (draft 2019-09) from tests/vectors.
fn schema(path: &str) -> jsonschema::Validator {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors").join(path);
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    jsonschema::options().with_draft(jsonschema::Draft::Draft201909).offline().build(&schema).unwrap()
}

fn schema_errors(validator: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    validator.iter_errors(doc).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

/// A demo ledger in a temporary directory, and its featured learner.
fn demo() -> (TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["demo"]);
    let learner = std::fs::read_to_string(dir.path().join("keys/demo/featured-learner.did")).unwrap().trim().to_owned();
    (dir, learner)
}

fn credential_ids(dir: &Path, learner: &str) -> Vec<(String, String)> {
    let profile: Value = serde_json::from_str(&ok(dir, &["--json", "profile", learner])).unwrap();
    let list = profile["credentials"].as_array().unwrap();
    list.iter().map(|c| (c["id"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned())).collect()
}

#[test]
fn the_w3c_vector_verifies_and_any_change_fails() {
    let dir = tempfile::tempdir().unwrap();
    let out = ok(dir.path(), &["verify-vc", VECTOR, "--key", VECTOR_KEY]);
    assert!(out.trim_end().ends_with("VALID") && !out.contains("INVALID"), "{out}");
    assert!(independent(Path::new(VECTOR), Some(VECTOR_KEY)));
    // Its verification method is an https URL: without the key it cannot be checked offline.
    let (code, out, _) = run(dir.path(), &["verify-vc", VECTOR]);
    assert_eq!(code, 1);
    assert!(out.contains("FAIL  proof.key"), "{out}");
    let text = std::fs::read_to_string(VECTOR).unwrap();
    let changed = dir.path().join("changed.json");
    std::fs::write(&changed, text.replacen("The School of Examples", "The School of Exemples", 1)).unwrap();
    let (code, out, _) = run(dir.path(), &["verify-vc", changed.to_str().unwrap(), "--key", VECTOR_KEY]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  proof.signature"), "{out}");
    assert!(!independent(&changed, Some(VECTOR_KEY)));
}

#[test]
fn exported_credentials_verify_everywhere_and_match_the_ob3_schema() {
    let (dir, learner) = demo();
    let validator = schema("clr2/clr_v2p0_achievementcredential_schema.json");
    let ids = credential_ids(dir.path(), &learner);
    assert_eq!(ids.len(), 5);
    for (id, _) in &ids {
        let text = ok(dir.path(), &["export-vc", id]);
        let vc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(vc["type"], serde_json::json!(["VerifiableCredential", "OpenBadgeCredential"]));
        assert_eq!(vc["credentialSubject"]["id"], learner.as_str());
        assert!(vc["id"].as_str().unwrap().starts_with("urn:uuid:"));
        assert!(vc["credentialStatus"]["id"].as_str().unwrap().starts_with("https://demo.credledger.dev/v1/status/"));
        let errors = schema_errors(&validator, &vc);
        assert!(errors.is_empty(), "{id}: {errors:?}");
        let file = dir.path().join(format!("{id}.json"));
        std::fs::write(&file, &text).unwrap();
        // Its status is on the demo's ledger, which is not served here: the proof alone, offline.
        let out = ok(dir.path(), &["verify-vc", "--offline", file.to_str().unwrap()]);
        assert!(out.trim_end().ends_with("\nVALID — status not checked"), "{out}");
        assert!(out.contains("skip  credential.status"), "{out}");
        assert!(independent(&file, None), "{id} fails the independent verifier");
        // Exporting again rebuilds the identical credential.
        assert_eq!(ok(dir.path(), &["export-vc", id]), text);

        let tampered = dir.path().join("tampered.json");
        let title = vc["name"].as_str().unwrap();
        std::fs::write(&tampered, text.replacen(title, &format!("{title} (Honors)"), 1)).unwrap();
        let (code, out, _) = run(dir.path(), &["verify-vc", "--offline", tampered.to_str().unwrap()]);
        assert_eq!(code, 1, "{out}");
        assert!(out.contains("FAIL  proof.signature"), "{out}");
        assert!(!independent(&tampered, None));
    }
}

#[test]
fn the_clr_holds_the_active_credentials_and_matches_its_schema() {
    let (dir, learner) = demo();
    let text = ok(dir.path(), &["export-clr", &learner]);
    let clr: Value = serde_json::from_str(&text).unwrap();
    let errors = schema_errors(&schema("clr2/clr_v2p0_clrcredential_schema.json"), &clr);
    assert!(errors.is_empty(), "{errors:?}");
    let inner = clr["credentialSubject"]["verifiableCredential"].as_array().unwrap();
    assert_eq!(inner.len(), 5);
    let ob = schema("clr2/clr_v2p0_achievementcredential_schema.json");
    for vc in inner {
        assert!(schema_errors(&ob, vc).is_empty());
    }
    let file = dir.path().join("clr.json");
    std::fs::write(&file, &text).unwrap();
    assert!(ok(dir.path(), &["verify-vc", "clr.json"]).trim_end().ends_with("\nVALID"));
    assert!(independent(&file, None));
    // The operator signed it.
    let config: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("ledger/config.json")).unwrap()).unwrap();
    assert_eq!(clr["issuer"]["id"], config["operator"]);
    std::fs::write(&file, text.replacen("Intro to Python Programming", "Intro to Python Programing", 1)).unwrap();
    assert_eq!(run(dir.path(), &["verify-vc", "clr.json"]).0, 1);
    assert!(!independent(&file, None));
}

#[test]
fn a_revoked_credential_leaves_the_clr_and_its_status_says_so() {
    let (dir, _) = demo();
    // The demo's revoked certificate belongs to learner 12.
    let key = std::fs::read_to_string(dir.path().join("keys/demo/learner-12.key")).unwrap();
    let learner = key.lines().find_map(|l| l.strip_prefix("# did: ")).unwrap().to_owned();
    let ids = credential_ids(dir.path(), &learner);
    let revoked: Vec<_> = ids.iter().filter(|(_, s)| s == "revoked").collect();
    assert_eq!(revoked.len(), 1);
    // Its standard form still carries the issuer's valid proof; its status is on the ledger.
    let vc: Value = serde_json::from_str(&ok(dir.path(), &["export-vc", &revoked[0].0])).unwrap();
    assert!(vc["credentialStatus"]["id"].as_str().unwrap().contains("/v1/status/"));
    let clr: Value = serde_json::from_str(&ok(dir.path(), &["export-clr", &learner])).unwrap();
    let inner = clr["credentialSubject"]["verifiableCredential"].as_array().unwrap();
    assert_eq!(inner.len(), ids.len() - 1);
    assert!(inner.iter().all(|c| c["id"] != vc["id"]));
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_server_exports_verifies_and_reports_status() {
    let (dir, learner) = demo();
    let ids = credential_ids(dir.path(), &learner);
    let local_vc = ok(dir.path(), &["export-vc", &ids[0].0]);
    let mut child = Command::new(BIN)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut line).unwrap();
    let _server = Server(child);
    let url = line.trim().strip_prefix("listening on ").expect("the listening line").to_owned();
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let get = |path: &str| -> (u16, String) {
        let mut r = agent.get(format!("{url}{path}")).call().unwrap();
        (r.status().as_u16(), r.body_mut().read_to_string().unwrap())
    };
    let (status, body) = get(&format!("/v1/credentials/{}/vc", ids[0].0));
    assert_eq!(status, 200);
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), serde_json::from_str::<Value>(&local_vc).unwrap());
    let vc: Value = serde_json::from_str(&body).unwrap();
    let status_path = vc["credentialStatus"]["id"].as_str().unwrap().split(".dev").nth(1).unwrap().to_owned();
    let (status, body) = get(&status_path);
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!((body["credential"].as_str(), body["status"].as_str()), (Some(ids[0].0.as_str()), Some("active")));
    let (status, clr) = get(&format!("/v1/learners/{learner}/clr"));
    assert_eq!(status, 200);
    assert!(
        schema_errors(&schema("clr2/clr_v2p0_clrcredential_schema.json"), &serde_json::from_str(&clr).unwrap())
            .is_empty()
    );
    let post = |body: &str| -> Value {
        let mut r =
            agent.post(format!("{url}/v1/verify-vc")).header("content-type", "application/json").send(body).unwrap();
        assert_eq!(r.status().as_u16(), 200);
        serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
    };
    // The server checks the status of a credential of its own log in its own log.
    let report = post(&local_vc);
    assert_eq!(report["verdict"], "VALID");
    let status = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "credential.status").cloned();
    assert!(status.is_some_and(|c| c["ok"] == true && c["detail"].as_str().unwrap().starts_with("active")), "{report}");
    assert_eq!(post(&clr)["verdict"], "VALID");
    let title = vc["name"].as_str().unwrap();
    let report = post(&local_vc.replacen(title, "Something Else", 1));
    assert_eq!(report["verdict"], "INVALID");
    assert_eq!((get("/v1/credentials/00/vc").0, get("/v1/status/not-a-uuid").0), (400, 404));
}

/// Issue 14: an exported credential renamed to "Doctor of Medicine", its proof replaced by one from
/// a fresh did:key, keeps the college's `issuer.id`. `verify-vc` (offline and `--server`) and
/// `POST /v1/verify-vc` find it INVALID (`proof.issuer`: the key is not the issuer's); the honest
/// credential is VALID and names the college: from the ledger's registry on the server, and
/// offline only its did (the credential gives no name).
#[test]
fn a_credential_re_signed_by_another_key_in_the_issuers_name_is_invalid() {
    let env = common::Env::new();
    let server = env.serve(&[]);
    let event = env.emit_course(&env.issuer, "Welding I");
    server.append(&event);
    let honest = server.get(&format!("/v1/credentials/{}/vc", common::id_of(&event))).json();
    let fresh = SecretKey::from_seed(&[0x66; 32]);
    let mut forged = honest.clone();
    forged["name"] = "Doctor of Medicine".into();
    forged["credentialSubject"]["achievement"]["name"] = "Doctor of Medicine".into();
    forged.as_object_mut().expect("an object").remove("proof");
    let created: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a time");
    let options = credledger::vc::proof_options(&forged, fresh.did(), &created);
    let value = credledger::vc::proof_value(&forged, &options, &fresh).expect("sign");
    let forged = credledger::vc::secure(forged, options, &value);
    assert_eq!(forged["issuer"]["id"], honest["issuer"]["id"]);
    std::fs::write(env.path("forged.json"), forged.to_string()).expect("write");
    std::fs::write(env.path("honest.json"), honest.to_string()).expect("write");

    let failed_binding = |report: &Value| {
        let checks = report["checks"].as_array().expect("checks");
        let binding = checks.iter().find(|c| c["name"] == "proof.issuer").expect("a proof.issuer check");
        let detail = binding["detail"].as_str().expect("detail");
        assert_eq!(binding["ok"], false, "{report}");
        assert!(detail.contains(fresh.did().as_str()) && detail.contains(&env.issuer.did), "{detail}");
        assert!(checks.iter().any(|c| c["name"] == "proof.signature" && c["ok"] == true), "{report}");
    };
    let report = server.post("/v1/verify-vc", forged.to_string()).json();
    assert_eq!(report["verdict"], "INVALID", "{report}");
    failed_binding(&report);
    assert_eq!(report["issuer"]["id"], env.issuer.did.as_str());
    for out in [env.run(&["verify-vc", "--offline", "forged.json"]), env.remote(&server, &["verify-vc", "forged.json"])]
    {
        assert_eq!(out.code, 1, "{out:?}");
        assert_eq!(out.stdout.trim_end().lines().last(), Some("INVALID"), "{out:?}");
        assert!(out.stdout.lines().any(|l| l.starts_with("FAIL") && l.contains("proof.issuer")), "{out:?}");
        assert!(out.stdout.contains(&format!("names as its issuer {}", env.issuer.did)), "{out:?}");
    }

    let report = server.post("/v1/verify-vc", honest.to_string()).json();
    assert_eq!(report["verdict"], "VALID", "{report}");
    let registry = json!({"kind": "registry", "ledger": common::ORIGIN});
    assert_eq!(report["issuer"], json!({"id": env.issuer.did, "name": common::ISSUER_NAME, "name_source": registry}));
    let out = env.remote(&server, &["verify-vc", "honest.json"]);
    assert_eq!(out.code, 0, "{out:?}");
    let named = format!("is signed by {} (registered on the ledger {})", common::ISSUER_NAME, common::ORIGIN);
    assert!(out.stdout.contains(&named), "{out:?}");
    let out = env.run(&["verify-vc", "--offline", "honest.json"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(&format!("is signed by {} (the credential gives no name)", env.issuer.did)), "{out:?}");
}
