//! Standard credentials end to end: the W3C eddsa-jcs-2022 vector and a form-1 (eddsa-jcs-2022)
//! export, verified by the CLI and by an independent verifier (tests/tools/vc_verify.py, which
//! knows JCS only); form-2 exports (`export-vc`, `export-clr`, and over HTTP) of a ledger served at
//! `serve --public-url`, checked against 1EdTech's published JSON Schemas and verified by the CLI
//! offline and with their live Bitstring status, and by the server; each failing once tampered
//! with, and failing when re-signed by a key that is not the issuer's.

mod common;

use std::path::Path;
use std::process::Command;

use common::{Env, Server};
use credledger::SecretKey;
use credledger::event::Timestamp;
use serde_json::{Value, json};

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

/// `credledger verify-vc FLAGS FILE` in the env's directory: the exit code and its last line.
fn verdict(env: &Env, flags: &[&str], file: &Path) -> (i32, String) {
    let mut args = vec!["verify-vc"];
    args.extend_from_slice(flags);
    args.push(file.to_str().expect("utf-8"));
    let out = env.run(&args);
    (out.code, out.stdout.trim_end().lines().last().unwrap_or_default().to_owned())
}

/// Writes `text` to `name` in the env's directory.
fn save(env: &Env, name: &str, text: &str) -> std::path::PathBuf {
    let file = env.path(name);
    std::fs::write(&file, text).expect("write");
    file
}

#[test]
fn a_form_1_export_verifies_in_the_independent_verifier_and_any_change_fails() {
    let env = Env::new();
    let event = env.emit_form_1_course("Intro to Python");
    env.ok(&["submit", save(&env, "event.json", &event).to_str().expect("utf-8")]);
    let id = common::id_of(&event);
    let text = env.ok(&["export-vc", &id]).stdout;
    let vc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(vc["proof"]["cryptosuite"], "eddsa-jcs-2022");
    let errors = schema_errors(&schema("clr2/clr_v2p0_achievementcredential_schema.json"), &vc);
    assert!(errors.is_empty(), "{errors:?}");
    let file = save(&env, "form-1.json", &text);
    assert!(independent(&file, None), "the form-1 export fails the independent verifier");
    // Its private status is on a ledger not served here: the proof alone, offline.
    assert_eq!(verdict(&env, &["--offline"], &file), (0, "VALID — status not checked".to_owned()));
    let tampered = save(&env, "tampered.json", &text.replacen("Intro to Python", "Intro to Python (Honors)", 1));
    assert_eq!(verdict(&env, &["--offline"], &tampered), (1, "INVALID".to_owned()));
    assert!(!independent(&tampered, None));
}

/// A ledger served at its public URL on loopback, with three credentials issued through it: the
/// server and their ids.
fn served_ledger(env: &Env) -> (Server, Vec<String>) {
    let server = env.serve_at_public_url();
    let ids =
        ["Intro to Python", "Data Structures", "Welding I"].iter().map(|t| env.issue_course(&server, t)).collect();
    (server, ids)
}

#[test]
fn form_2_exports_verify_offline_and_with_their_live_status() {
    let env = Env::new();
    let (server, ids) = served_ledger(&env);
    for id in &ids {
        let text = env.remote_ok(&server, &["export-vc", id]).stdout;
        let vc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(vc["type"], json!(["VerifiableCredential", "OpenBadgeCredential"]));
        assert_eq!(vc["credentialSubject"]["id"], env.learner.did.as_str());
        assert!(vc["id"].as_str().unwrap().starts_with("urn:uuid:"));
        let entries = vc["credentialStatus"].as_array().expect("the Bitstring entries");
        for (entry, purpose) in entries.iter().zip(["revocation", "suspension"]) {
            assert_eq!(
                (entry["type"].as_str(), entry["statusPurpose"].as_str()),
                (Some("BitstringStatusListEntry"), Some(purpose))
            );
            let list = format!("{}/v1/status-lists/{}/{purpose}/0", server.url, env.issuer.did);
            assert_eq!(entry["statusListCredential"], list.as_str());
        }
        let file = save(&env, &format!("{id}.json"), &text);
        let out = env.run(&["verify-vc", "--offline", file.to_str().unwrap()]);
        assert!(out.stdout.trim_end().ends_with("\nVALID — status not checked"), "{out:?}");
        assert!(out.stdout.contains("skip  credential.status.revocation"), "{out:?}");
        let out = env.run(&["verify-vc", "--allow-http-loopback", file.to_str().unwrap()]);
        assert_eq!(out.code, 0, "{out:?}");
        assert!(out.stdout.trim_end().ends_with("\nVALID"), "{out:?}");
        for purpose in ["revocation", "suspension"] {
            assert!(out.stdout.contains(&format!("pass  credential.status.{purpose} active at")), "{out:?}");
        }
        // Exporting again rebuilds the identical credential.
        assert_eq!(env.remote_ok(&server, &["export-vc", id]).stdout, text);

        let title = vc["name"].as_str().unwrap();
        let tampered = save(&env, "tampered.json", &text.replacen(title, &format!("{title} (Honors)"), 1));
        let out = env.run(&["verify-vc", "--offline", tampered.to_str().unwrap()]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stdout.contains("FAIL  proof.signature"), "{out:?}");
    }
    let clr = env.remote_ok(&server, &["export-clr", &env.learner.did]).stdout;
    let file = save(&env, "clr.json", &clr);
    assert_eq!(verdict(&env, &["--allow-http-loopback"], &file), (0, "VALID".to_owned()));
    // The operator signed it.
    assert_eq!(serde_json::from_str::<Value>(&clr).unwrap()["issuer"]["id"], env.operator.as_str());
    let tampered = save(&env, "clr-tampered.json", &clr.replacen("Intro to Python", "Intro to Pythons", 1));
    assert_eq!(verdict(&env, &["--offline"], &tampered), (1, "INVALID".to_owned()));
}

#[test]
fn form_2_exports_match_1edtechs_json_schemas() {
    let env = Env::new();
    let (server, ids) = served_ledger(&env);
    let ob = schema("clr2/clr_v2p0_achievementcredential_schema.json");
    for id in &ids {
        let vc: Value = serde_json::from_str(&env.remote_ok(&server, &["export-vc", id]).stdout).unwrap();
        let errors = beyond_the_status_pair(schema_errors(&ob, &vc));
        assert!(errors.is_empty(), "{id}: {errors:?}");
    }
    let clr: Value = serde_json::from_str(&env.remote_ok(&server, &["export-clr", &env.learner.did]).stdout).unwrap();
    // The CLR schema judges the credentials inside as one `oneOf`: it is given them with their
    // revocation entry alone (the departure below, and only it); each is judged whole after.
    let mut one_entry = clr.clone();
    for vc in one_entry["credentialSubject"]["verifiableCredential"].as_array_mut().unwrap() {
        vc["credentialStatus"] = vc["credentialStatus"][0].clone();
    }
    let errors = beyond_the_status_pair(schema_errors(&schema("clr2/clr_v2p0_clrcredential_schema.json"), &one_entry));
    assert!(errors.is_empty(), "{errors:?}");
    let inner = clr["credentialSubject"]["verifiableCredential"].as_array().unwrap();
    assert_eq!(inner.len(), ids.len());
    for vc in inner {
        assert!(beyond_the_status_pair(schema_errors(&ob, vc)).is_empty());
    }
}

/// The errors other than the one way form 2 departs from 1EdTech's CLR 2.0 schemas, knowingly:
/// `credentialStatus` holds two `BitstringStatusListEntry`s (revocation and suspension, as VC 2.0
/// allows and wallets' verifiers read), where the schemas, written for one status method, allow a
/// single object. Every other rule of the schemas holds (README, "Use with wallets and verifiers").
fn beyond_the_status_pair(errors: Vec<String>) -> Vec<String> {
    let status_pair = |e: &String| {
        e.split(": ").next().is_some_and(|path| path.ends_with("/credentialStatus"))
            && e.contains("is not of type \"object\"")
    };
    let (pair, others): (Vec<String>, Vec<String>) = errors.into_iter().partition(status_pair);
    assert!(pair.len() <= 1, "{pair:?}");
    others
}

#[test]
fn a_revoked_credential_leaves_the_clr_and_its_status_says_so() {
    let env = Env::new();
    let (server, ids) = served_ledger(&env);
    let text = env.remote_ok(&server, &["export-vc", &ids[0]]).stdout;
    let file = save(&env, "revoked.json", &text);
    env.remote_ok(
        &server,
        &["revoke", "--issuer-key", env.issuer.path(), "--credential", &ids[0], "--reason", "Review"],
    );
    // Its standard form still carries the issuer's valid proof; its Bitstring entry, the revocation.
    assert_eq!(verdict(&env, &["--offline"], &file), (0, "VALID — status not checked".to_owned()));
    let out = env.run(&["verify-vc", "--allow-http-loopback", file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.trim_end().ends_with("\nREVOKED"), "{out:?}");
    let list = format!("{}/v1/status-lists/{}/revocation/0", server.url, env.issuer.did);
    assert!(out.stdout.contains(&format!("FAIL  credential.status.revocation revoked at {list}#")), "{out:?}");
    let vc: Value = serde_json::from_str(&text).unwrap();
    let clr: Value = serde_json::from_str(&env.remote_ok(&server, &["export-clr", &env.learner.did]).stdout).unwrap();
    let inner = clr["credentialSubject"]["verifiableCredential"].as_array().unwrap();
    assert_eq!(inner.len(), ids.len() - 1);
    assert!(inner.iter().all(|c| c["id"] != vc["id"]));
}

#[test]
fn the_server_exports_verifies_and_reports_status() {
    let env = Env::new();
    let (server, ids) = served_ledger(&env);
    let vc = server.get(&format!("/v1/credentials/{}/vc", ids[0])).json();
    let status_check = |report: &Value, purpose: &str| -> (bool, String) {
        let name = format!("credential.status.{purpose}");
        let check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == name.as_str()).cloned();
        let check = check.unwrap_or_else(|| panic!("no {name}: {report}"));
        (check["ok"] == true, check["detail"].as_str().unwrap().to_owned())
    };
    // The server reads the status of a credential of its own log from the list it serves.
    let report = server.post("/v1/verify-vc", vc.to_string()).json();
    assert_eq!(report["verdict"], "VALID", "{report}");
    let list = vc["credentialStatus"][0]["statusListCredential"].as_str().unwrap();
    let (ok, detail) = status_check(&report, "revocation");
    assert!(ok && detail.starts_with(&format!("active at {list}#")), "{report}");
    let served = server.get(list.strip_prefix(&server.url).unwrap());
    assert_eq!(served.status, 200, "{served:?}");
    let clr = server.get(&format!("/v1/learners/{}/clr", env.learner.did));
    assert_eq!(clr.status, 200);
    assert_eq!(server.post("/v1/verify-vc", clr.body.clone()).json()["verdict"], "VALID");
    let title = vc["name"].as_str().unwrap();
    let report = server.post("/v1/verify-vc", vc.to_string().replacen(title, "Something Else", 1)).json();
    assert_eq!(report["verdict"], "INVALID");
    env.remote_ok(
        &server,
        &["revoke", "--issuer-key", env.issuer.path(), "--credential", &ids[0], "--reason", "Review"],
    );
    let report = server.post("/v1/verify-vc", vc.to_string()).json();
    assert_eq!(report["verdict"], "REVOKED", "{report}");
    assert!(status_check(&report, "revocation").1.starts_with(&format!("revoked at {list}#")), "{report}");
    // A revocation appended without its list leaves the list stale: not served, so not read.
    server.append(&env.emit_revoke(&ids[1], "Issued in error"));
    let other = server.get(&format!("/v1/credentials/{}/vc", ids[1])).json();
    let report = server.post("/v1/verify-vc", other.to_string()).json();
    assert_eq!(report["verdict"], "STATUS-UNKNOWN", "{report}");
    let (ok, detail) = status_check(&report, "revocation");
    assert!(!ok && detail.contains("does not serve") && detail.contains("stale"), "{report}");
    assert_eq!((server.get("/v1/credentials/00/vc").status, server.get("/v1/status/not-a-uuid").status), (400, 404));
    // The server's answer is the ledger's own export of the event.
    drop(server);
    let local: Value = serde_json::from_str(&env.ok(&["export-vc", &ids[0]]).stdout).unwrap();
    assert_eq!(local, vc);
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
