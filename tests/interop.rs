//! The field's own verifiers as referees, against the real binary and server on loopback: the
//! Node project in `tests/interop/` (installed from its committed lockfile by `.ci/run`:
//! `npm ci` there) runs `@digitalbazaar/vc` with its eddsa-rdfc-2022, eddsa-jcs-2022 and
//! Ed25519Signature2020 suites and `@digitalbazaar/vc-bitstring-status-list`,
//! `@digitalcredentials/verifier-core` (the Learner Credential Wallet's and VerifierPlus's
//! verifier) and `jsonld` in safe mode, used as their users use them (`verify.mjs`), and signs
//! credentials with those libraries (`sign.mjs`) for `credledger verify-vc` to check.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

use common::site::Site;
use common::tls::TestCertificate;
use common::*;

/// `tests/interop/`, with its packages installed.
fn interop_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("interop");
    assert!(
        dir.join("node_modules").join("@digitalbazaar").join("vc").exists(),
        "the Node referees are not installed: run `npm ci --ignore-scripts` in {} (.ci/run does)",
        dir.display()
    );
    dir
}

/// Runs `node SCRIPT ARGS` in `tests/interop/`, trusting the test CA; its stdout.
fn node(script: &str, args: &[&str], ca: &Path) -> String {
    let out = Command::new("node")
        .arg(script)
        .args(args)
        .current_dir(interop_dir())
        .env("NODE_EXTRA_CA_CERTS", ca)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("running node {script}: {e} (is Node.js installed?)"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "node {script} {args:?}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// The referees' verdicts on each file, by file name.
fn referees(files: &[&Path], origins: &[&str], ca: &Path) -> Vec<Value> {
    let mut args: Vec<String> = origins.iter().flat_map(|o| ["--origin".to_owned(), (*o).to_owned()]).collect();
    args.extend(files.iter().map(|f| f.to_str().expect("utf-8").to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = node("verify.mjs", &args, ca);
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}

/// `credledger verify-vc --json FILE --ca-cert CA`: the exit code and the report.
fn credledger_verdict(env: &Env, file: &Path, ca: &Path) -> (i32, Value) {
    let (file, ca) = (file.to_str().expect("utf-8"), ca.to_str().expect("utf-8"));
    let out = env.run(&["--json", "verify-vc", file, "--ca-cert", ca]);
    (out.code, out.json())
}

/// Asserts `credledger verify-vc`'s exit code and verdict on each file of `dir`.
#[track_caller]
fn assert_verdicts(env: &Env, dir: &Path, ca: &Path, cases: &[(&str, i32, &str)]) {
    for (name, code, verdict) in cases {
        let (got, report) = credledger_verdict(env, &dir.join(name), ca);
        assert_eq!((got, report["verdict"].as_str()), (*code, Some(*verdict)), "{name}: {report}");
    }
}

/// Credentials the field's libraries sign, with the did:web issuer's document and its revocation
/// list (signed with `list_suite`) served on a loopback site: the site, the files' directory.
fn signed_elsewhere(env: &Env, certificate: &TestCertificate, list_suite: &str) -> (Site, PathBuf) {
    let site = Site::https(certificate);
    let out = env.path("signed");
    fs::create_dir_all(&out).expect("mkdir");
    node("sign.mjs", &[out.to_str().expect("utf-8"), &site.origin], &certificate.ca);
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
    assert_verdicts(&env, &signed, &certificate.ca, &cases);
    // The referee agrees about the list it signed.
    let file = signed.join("jcs-didweb-revoked.json");
    let verdicts = referees(&[&file], &[&site.origin], &certificate.ca);
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
    assert_verdicts(&env, &signed, &certificate.ca, &cases);
    // Each was checked by its own suite, and the status list's rdfc proof by its issuer's key.
    for (name, suite) in [("rdfc-didkey.json", "eddsa-rdfc-2022"), ("ed25519-2020-didkey.json", "Ed25519Signature2020")]
    {
        let (_, report) = credledger_verdict(&env, &signed.join(name), &certificate.ca);
        assert!(check(&report, "proof.cryptosuite").0, "{report}");
        assert!(check(&report, "proof.signature").1.contains(suite), "{name}: {report}");
    }
    let (_, report) = credledger_verdict(&env, &signed.join("rdfc-didweb-revoked.json"), &certificate.ca);
    assert!(check(&report, "credential.status.revocation").1.contains("revoked"), "{report}");
    // A changed claim fails each suite's signature; the referees agree on every file.
    let mut files = Vec::new(); // (file, whether its proof is as signed)
    for name in ["rdfc-didkey.json", "ed25519-2020-didkey.json"] {
        let mut tampered: Value =
            serde_json::from_str(&fs::read_to_string(signed.join(name)).expect("read")).expect("JSON");
        tampered["credentialSubject"]["achievement"]["name"] = "Forklift Safety II".into();
        let file = env.path(&format!("tampered-{name}"));
        fs::write(&file, tampered.to_string()).expect("write");
        let (got, report) = credledger_verdict(&env, &file, &certificate.ca);
        assert_eq!((got, report["verdict"].as_str()), (1, Some("INVALID")), "{name}: {report}");
        let (ok, why) = check(&report, "proof.signature");
        assert!(!ok && why.contains("does not verify"), "{name}: {report}");
        files.push((file, false));
        files.push((signed.join(name), true));
    }
    files.push((signed.join("rdfc-didweb-active.json"), true));
    files.push((signed.join("rdfc-didweb-revoked.json"), true));
    let paths: Vec<&Path> = files.iter().map(|(f, _)| f.as_path()).collect();
    let verdicts = referees(&paths, &[&site.origin], &certificate.ca);
    for ((file, signed_as_is), verdict) in files.iter().zip(&verdicts) {
        assert_eq!(verdict["vc"]["proof"], *signed_as_is, "{}: {verdict}", file.display());
    }
    // ... and about the revoked one's list, which credledger read as its issuer's.
    assert_eq!(verdicts.last().expect("a verdict")["vc"]["status"][0]["set"], true);
}
