//! The field's own verifiers as referees, against the real binary and server on loopback: the
//! Node project in `tests/interop/` (installed from its committed lockfile by `.ci/run`:
//! `npm ci` there) runs `@digitalbazaar/vc` with its eddsa-rdfc-2022, eddsa-jcs-2022 and
//! Ed25519Signature2020 suites and `@digitalbazaar/vc-bitstring-status-list`,
//! `@digitalcredentials/verifier-core` (the Learner Credential Wallet's and VerifierPlus's
//! verifier) and `jsonld` in safe mode, used as their users use them (`verify.mjs`): on
//! credledger's own exports from a ledger at `serve --public-url` (their proofs, and their live
//! status read from the lists it serves), and on credentials those libraries sign (`sign.mjs`) for
//! `credledger verify-vc` to check too.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::node::referees;
use common::site::Site;
use common::tls::TestCertificate;
use common::*;

/// `credledger --json verify-vc FILE FLAGS`: the exit code and the report.
fn credledger_verdict(env: &Env, file: &Path, flags: &[&str]) -> (i32, Value) {
    let mut args = vec!["--json", "verify-vc", file.to_str().expect("utf-8")];
    args.extend_from_slice(flags);
    let out = env.run(&args);
    (out.code, out.json())
}

/// `--ca-cert CA`, for verify-vc.
fn trusting(ca: &Path) -> [&str; 2] {
    ["--ca-cert", ca.to_str().expect("utf-8")]
}

/// Asserts `credledger verify-vc FLAGS`'s exit code and verdict on each file of `dir`.
#[track_caller]
fn assert_verdicts(env: &Env, dir: &Path, flags: &[&str], cases: &[(&str, i32, &str)]) {
    for (name, code, verdict) in cases {
        let (got, report) = credledger_verdict(env, &dir.join(name), flags);
        assert_eq!((got, report["verdict"].as_str()), (*code, Some(*verdict)), "{name}: {report}");
    }
}

/// Credentials the field's libraries sign, with the did:web issuer's document and its revocation
/// list (signed with `list_suite`) served on a loopback site: the site, the files' directory.
fn signed_elsewhere(env: &Env, certificate: &TestCertificate, list_suite: &str) -> (Site, PathBuf) {
    let site = Site::https(certificate);
    let out = env.path("signed");
    fs::create_dir_all(&out).expect("mkdir");
    node::interop("sign.mjs", &[out.to_str().expect("utf-8"), &site.origin], Some(&certificate.ca));
    let read =
        |name: &str| -> Value { serde_json::from_str(&fs::read_to_string(out.join(name)).expect(name)).expect("JSON") };
    site.put_json("/.well-known/did.json", &read("did.json"));
    site.put_json("/status/revocation", &read(&format!("revocation-{list_suite}.json")));
    (site, out)
}

#[test]
fn eddsa_jcs_2022_credentials_the_fields_libraries_sign_verify_in_credledger() {
    let env = Env::new();
    let certificate = TestCertificate::generate();
    let (site, signed) = signed_elsewhere(&env, &certificate, "jcs");
    let cases = [
        ("jcs-didkey.json", 0, "VALID"),
        ("jcs-didweb-active.json", 0, "VALID"),
        ("jcs-didweb-revoked.json", 1, "REVOKED"),
    ];
    assert_verdicts(&env, &signed, &trusting(&certificate.ca), &cases);
    // The referee agrees about the list it signed.
    let file = signed.join("jcs-didweb-revoked.json");
    let verdicts = referees(&[&file], &[&site.origin], Some(&certificate.ca));
    assert_eq!(verdicts[0]["vc"]["status"][0]["set"], true, "{}", verdicts[0]);
}

/// The check named `name` in a report: whether it passed, and its detail.
fn check<'a>(report: &'a Value, name: &str) -> (bool, &'a str) {
    let found = report["checks"].as_array().and_then(|checks| checks.iter().find(|c| c["name"] == name));
    let found = found.unwrap_or_else(|| panic!("no {name} in {report}"));
    (found["ok"] == true, found["detail"].as_str().unwrap_or_default())
}

#[test]
fn rdfc_and_ed25519_2020_credentials_the_fields_libraries_sign_verify_in_credledger() {
    let env = Env::new();
    let certificate = TestCertificate::generate();
    let (site, signed) = signed_elsewhere(&env, &certificate, "rdfc");
    let cases = [
        ("rdfc-didkey.json", 0, "VALID"),
        ("ed25519-2020-didkey.json", 0, "VALID"),
        ("rdfc-didweb-active.json", 0, "VALID"),
        ("rdfc-didweb-revoked.json", 1, "REVOKED"),
    ];
    assert_verdicts(&env, &signed, &trusting(&certificate.ca), &cases);
    // Each was checked by its own suite, and the status list's rdfc proof by its issuer's key.
    for (name, suite) in [("rdfc-didkey.json", "eddsa-rdfc-2022"), ("ed25519-2020-didkey.json", "Ed25519Signature2020")]
    {
        let (_, report) = credledger_verdict(&env, &signed.join(name), &trusting(&certificate.ca));
        assert!(check(&report, "proof.cryptosuite").0, "{report}");
        assert!(check(&report, "proof.signature").1.contains(suite), "{name}: {report}");
    }
    let (_, report) = credledger_verdict(&env, &signed.join("rdfc-didweb-revoked.json"), &trusting(&certificate.ca));
    assert!(check(&report, "credential.status.revocation").1.contains("revoked"), "{report}");
    // A changed claim fails each suite's signature; the referees agree on every file.
    let mut files = Vec::new(); // (file, whether its proof is as signed)
    for name in ["rdfc-didkey.json", "ed25519-2020-didkey.json"] {
        let mut tampered: Value =
            serde_json::from_str(&fs::read_to_string(signed.join(name)).expect("read")).expect("JSON");
        tampered["credentialSubject"]["achievement"]["name"] = "Forklift Safety II".into();
        let file = env.path(&format!("tampered-{name}"));
        fs::write(&file, tampered.to_string()).expect("write");
        let (got, report) = credledger_verdict(&env, &file, &trusting(&certificate.ca));
        assert_eq!((got, report["verdict"].as_str()), (1, Some("INVALID")), "{name}: {report}");
        let (ok, why) = check(&report, "proof.signature");
        assert!(!ok && why.contains("does not verify"), "{name}: {report}");
        files.push((file, false));
        files.push((signed.join(name), true));
    }
    files.push((signed.join("rdfc-didweb-active.json"), true));
    files.push((signed.join("rdfc-didweb-revoked.json"), true));
    let paths: Vec<&Path> = files.iter().map(|(f, _)| f.as_path()).collect();
    let verdicts = referees(&paths, &[&site.origin], Some(&certificate.ca));
    for ((file, signed_as_is), verdict) in files.iter().zip(&verdicts) {
        assert_eq!(verdict["vc"]["proof"], *signed_as_is, "{}: {verdict}", file.display());
    }
    // ... and about the revoked one's list, which credledger read as its issuer's.
    assert_eq!(verdicts.last().expect("a verdict")["vc"]["status"][0]["set"], true);
}

/// What the referees must say of an export whose issuer has not touched its status: both verify
/// it, in safe mode, with each Bitstring entry checked against the served list and clear.
#[track_caller]
fn assert_accepted(verdict: &Value) {
    assert_eq!(verdict["safeMode"]["ok"], true, "{verdict}");
    assert_eq!((&verdict["vc"]["verified"], &verdict["vc"]["proof"]), (&true.into(), &true.into()), "{verdict}");
    assert_eq!(verdict["vc"]["errors"], Value::Array(vec![]), "{verdict}");
    assert_eq!(verdict["verifierCore"]["signature"], true, "{verdict}");
    assert_eq!(verdict["verifierCore"]["errors"], Value::Array(vec![]), "{verdict}");
}

/// `(revoked, suspended)` as each referee read the credential's two served lists: @digitalbazaar/vc
/// (every entry's list checked: its proof by the credential's issuer) and verifier-core.
#[track_caller]
fn status_read(verdict: &Value) -> [(bool, bool); 2] {
    let entries = verdict["vc"]["status"].as_array().unwrap_or_else(|| panic!("no status results: {verdict}"));
    let purposes: Vec<&Value> = entries.iter().map(|e| &e["purpose"]).collect();
    assert_eq!(purposes, ["revocation", "suspension"], "{verdict}");
    assert!(entries.iter().all(|e| e["checked"] == true), "{verdict}");
    let set = |k: usize| entries[k]["set"].as_bool().unwrap_or_else(|| panic!("{verdict}"));
    let core = &verdict["verifierCore"];
    let found = |step: &str| core[step].as_bool().unwrap_or_else(|| panic!("verifier-core's {step}: {verdict}"));
    [(set(0), set(1)), (found("revoked"), found("suspended"))]
}

#[test]
fn credledgers_exports_verify_in_the_fields_verifiers_with_their_live_status() {
    let env = Env::new();
    let server = env.serve_at_public_url();
    let ids: Vec<String> = ["Intro to Python", "Data Structures", "Welding I"]
        .iter()
        .map(|title| env.issue_course(&server, title))
        .collect();
    let save = |name: &str, text: &str| {
        let file = env.path(name);
        fs::write(&file, text).expect("write");
        file
    };
    let mut exports: Vec<PathBuf> =
        ids.iter().map(|id| save(&format!("{id}.json"), &env.remote_ok(&server, &["export-vc", id]).stdout)).collect();
    let clr = env.remote_ok(&server, &["export-clr", &env.learner.did]).stdout;
    assert_eq!(
        serde_json::from_str::<Value>(&clr).expect("JSON")["credentialSubject"]["verifiableCredential"]
            .as_array()
            .map(Vec::len),
        Some(ids.len())
    );
    exports.push(save("clr.json", &clr));
    // Each with a claim changed: the first credential's title, the CLR's issuer name.
    let first = fs::read_to_string(&exports[0]).expect("read");
    let tampered = [
        save("tampered-vc.json", &first.replacen("Intro to Python", "Intro to Python (Honors)", 1)),
        save("tampered-clr.json", &clr.replacen("\"name\": \"", "\"name\": \"Not ", 1)),
    ];
    let all: Vec<&Path> = exports.iter().chain(&tampered).map(PathBuf::as_path).collect();
    let verdicts = referees(&all, &[&server.url], None);
    assert_eq!(verdicts.len(), all.len());
    for verdict in &verdicts[..exports.len()] {
        assert_accepted(verdict);
    }
    for verdict in &verdicts[..ids.len()] {
        assert_eq!(status_read(verdict), [(false, false); 2], "{verdict}");
    }
    for verdict in &verdicts[exports.len()..] {
        assert_eq!((&verdict["vc"]["verified"], &verdict["vc"]["proof"]), (&false.into(), &false.into()), "{verdict}");
        assert_ne!(verdict["verifierCore"]["signature"], true, "{verdict}");
        let errors = verdict["verifierCore"]["errors"].to_string();
        assert!(errors.contains("signature is not valid"), "{verdict}");
    }
    let loopback = ["--allow-http-loopback"];
    let dir = env.path("");
    let names: Vec<String> =
        exports.iter().map(|f| f.file_name().and_then(|n| n.to_str()).expect("a name").to_owned()).collect();
    let all_valid: Vec<(&str, i32, &str)> = names.iter().map(|n| (n.as_str(), 0, "VALID")).collect();
    assert_verdicts(&env, &dir, &loopback, &all_valid);

    // The issuer revokes one and suspends another: the same files, read again.
    for (command, id) in [("revoke", &ids[0]), ("suspend", &ids[1])] {
        env.remote_ok(&server, &[command, "--issuer-key", env.issuer.path(), "--credential", id, "--reason", "Review"]);
    }
    let verdicts = referees(&all[..ids.len()], &[&server.url], None);
    let read: Vec<[(bool, bool); 2]> = verdicts.iter().map(status_read).collect();
    assert_eq!(read, [[(true, false); 2], [(false, true); 2], [(false, false); 2]], "{verdicts:?}");
    let cases =
        [(names[0].as_str(), 1, "REVOKED"), (names[1].as_str(), 1, "SUSPENDED"), (names[2].as_str(), 0, "VALID")];
    assert_verdicts(&env, &dir, &loopback, &cases);
    // Reinstated, the suspended one is clear again in both.
    env.remote_ok(
        &server,
        &["reinstate", "--issuer-key", env.issuer.path(), "--credential", &ids[1], "--reason", "Cleared"],
    );
    let verdicts = referees(&all[1..2], &[&server.url], None);
    assert_eq!(status_read(&verdicts[0]), [(false, false); 2], "{}", verdicts[0]);
    assert_verdicts(&env, &dir, &loopback, &[(names[1].as_str(), 0, "VALID")]);
}
