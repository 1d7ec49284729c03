//! Every verification tells the truth about status, end to end against the real server and
//! binary: the ledger's own `POST /v1/verify` checks a bundle's credentials as they are now,
//! offline `verify` says when its status is from, `verify-vc` and `POST /v1/verify-vc` say
//! REVOKED, SUSPENDED or STATUS-UNKNOWN (and VALID again after reinstatement), `--offline` says
//! the status was not checked, a bundle shows the audience it is bound to; and bundle requests keep
//! the schema's limits (audience and nonce 1 to 200 characters, each `only` id once).

mod common;

use std::fs;

use credledger::SecretKey;
use credledger::bundle::Bundle;
use credledger::event::Timestamp;
use serde_json::{Value, json};

use common::*;

/// `credledger suspend|reinstate|revoke --credential ID --emit`, signed by the env's issuer.
fn emit_status(env: &Env, command: &str, credential: &str) -> String {
    let key = env.issuer.path();
    let out = env.ok(&[command, "--issuer-key", key, "--credential", credential, "--reason", "audit", "--emit"]);
    out.stdout.trim_end().to_owned()
}

/// The check named `name` in a report (bundle or standard credential).
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    let checks = report["checks"].as_array().unwrap_or_else(|| panic!("no checks: {report}"));
    checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name}: {report}"))
}

/// A status statement's time as the verdict line shows it: `2026-12-03 10:00 UTC`.
fn shown(instant: &str) -> String {
    let at: Timestamp = instant.parse().expect("an RFC 3339 time");
    format!("{} {:02}:{:02} UTC", at.0.date(), at.0.hour(), at.0.minute())
}

/// The detail of the check `name` as the CLI printed it, marked `mark` (`pass`, `FAIL`, `skip`).
fn printed<'a>(out: &'a Output, mark: &str, name: &str) -> &'a str {
    let line = out.stdout.lines().find(|l| l.split_whitespace().nth(1) == Some(name));
    let line = line.unwrap_or_else(|| panic!("no line for {name}: {out:?}"));
    assert!(line.starts_with(mark), "{name} is not marked {mark}: {out:?}");
    line.split_once(name).map_or("", |(_, detail)| detail.trim_start())
}

/// A served ledger whose learner holds a course per title: the env, the server, and each course's
/// signed event (canonical JSON) with its id.
fn served_with(titles: &[&str]) -> (Env, Server, Vec<(String, String)>) {
    let env = Env::new();
    let server = env.serve(&[]);
    let courses = titles
        .iter()
        .map(|title| {
            let event = env.emit_course(&env.issuer, title);
            server.append(&event);
            let id = id_of(&event);
            (event, id)
        })
        .collect();
    (env, server, courses)
}

/// The learner shares through the server (`share EXTRA --out FILE`): the bundle's text.
fn share(env: &Env, server: &Server, file: &str, extra: &[&str]) -> String {
    let mut args = vec!["share", "--learner-key", env.learner.path(), "--out", file];
    args.extend_from_slice(extra);
    env.remote_ok(server, &args);
    fs::read_to_string(env.path(file)).expect("the shared bundle")
}

/// The last line a command printed.
fn verdict_line(out: &Output) -> &str {
    out.stdout.trim_end().lines().last().unwrap_or_default()
}

#[test]
fn a_credential_revoked_after_sharing_fails_the_ledgers_verify_naming_it() {
    let (env, server, courses) = served_with(&["Welding I", "Welding II"]);
    let welding_id = &courses[0].1;
    let bundle = share(&env, &server, "bundle.json", &[]);
    let issued_at = serde_json::from_str::<Value>(&bundle).expect("JSON")["status"]["issued_at"].clone();

    let before = server.post("/v1/verify", &bundle).json();
    assert_eq!(before["verdict"], "VALID", "{before}");
    assert_eq!(before["status_as_of"], issued_at, "{before}");
    assert_eq!(before["origin"], ORIGIN);
    let current = check(&before, "credentials.current");
    assert_eq!((current["ok"].as_bool(), current["ran"].as_bool()), (Some(true), Some(true)), "{before}");

    let revoked_seq = server.append(&env.emit_revoke(welding_id, "issued in error"));
    let after = server.post("/v1/verify", &bundle).json();
    assert_eq!(after["verdict"], "INVALID", "the bundle predates the revocation: {after}");
    let current = check(&after, "credentials.current");
    assert_eq!((current["ok"].as_bool(), current["ran"].as_bool()), (Some(false), Some(true)), "{after}");
    assert_eq!(current["detail"], format!("credential {welding_id} is revoked now (seq {revoked_seq})"));
    // Only the status now fails: the statement was true when it was signed.
    let failed: Vec<&Value> = after["checks"].as_array().expect("checks").iter().filter(|c| c["ok"] == false).collect();
    assert_eq!(failed.len(), 1, "{after}");
    let presented = after["credentials"].as_array().expect("credentials");
    let revoked = presented.iter().find(|c| c["id"] == welding_id.as_str()).expect("the revoked credential");
    assert_eq!((revoked["status"].as_str(), revoked["status_now"].as_str()), (Some("active"), Some("revoked")));
    assert_eq!(after["skills"], json!([]), "an INVALID bundle evidences nothing: {after}");

    // Offline, the same bundle is VALID as of its statement, and says so.
    let offline = env.run(&["verify", "bundle.json", "--operator", env.operator.as_str()]);
    assert_eq!(offline.code, 0, "{offline:?}");
    let status_as_of = shown(issued_at.as_str().expect("issued_at"));
    assert_eq!(verdict_line(&offline), format!("VALID — status as of {status_as_of}"), "{offline:?}");
    let json = env.run(&["--json", "verify", "bundle.json", "--operator", env.operator.as_str()]).json();
    assert_eq!(json["status_as_of"], issued_at);
    assert!(json["checks"].as_array().expect("checks").iter().all(|c| c["name"] != "credentials.current"));
}

#[test]
fn a_suspended_credential_fails_the_ledgers_verify_until_reinstated() {
    let (env, server, courses) = served_with(&["Welding I"]);
    let id = &courses[0].1;
    let bundle = share(&env, &server, "bundle.json", &[]);

    let suspended_seq = server.append(&emit_status(&env, "suspend", id));
    let report = server.post("/v1/verify", &bundle).json();
    assert_eq!(report["verdict"], "INVALID", "{report}");
    assert_eq!(
        check(&report, "credentials.current")["detail"],
        format!("credential {id} is suspended now (seq {suspended_seq})")
    );

    server.append(&emit_status(&env, "reinstate", id));
    let report = server.post("/v1/verify", &bundle).json();
    assert_eq!(report["verdict"], "VALID", "{report}");
}

#[test]
fn the_audience_a_bundle_is_bound_to_is_shown_when_not_required() {
    let (env, server, _) = served_with(&["Welding I"]);
    let bundle = share(&env, &server, "b.json", &["--audience", "acme-hr", "--nonce", "8f2c"]);
    let operator = env.operator.as_str();

    let out = env.run(&["verify", "b.json", "--operator", operator]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("bound to audience `acme-hr`; not required by this verifier"), "{out:?}");
    assert!(out.stdout.contains("bound to nonce `8f2c`; not required by this verifier"), "{out:?}");
    // Required, it is checked instead of shown.
    let out = env.run(&["verify", "b.json", "--operator", operator, "--audience", "acme-hr"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.lines().any(|l| l.starts_with("pass") && l.contains("request.audience")), "{out:?}");
    assert!(!out.stdout.contains("bound to audience"), "{out:?}");
    assert!(out.stdout.contains("bound to nonce `8f2c`"), "{out:?}");

    let report = server.post("/v1/verify", &bundle).json();
    assert_eq!((report["audience"].as_str(), report["nonce"].as_str()), (Some("acme-hr"), Some("8f2c")), "{report}");
    assert_eq!(report["verdict"], "VALID", "{report}");
}

/// A standard credential signed by `key` for `learner` with the library, whose `credentialStatus`
/// is `status` (none for `Null`).
fn signed_vc(key: &KeyFile, learner: &KeyFile, uuid: &str, status: Value) -> String {
    let key = SecretKey::read_file(&key.path).expect("the issuer key");
    let mut doc = json!({
        "@context": credledger::vc::OB_CONTEXT,
        "id": format!("urn:uuid:{uuid}"),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": key.did().as_str(), "type": ["Profile"]},
        "validFrom": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": learner.did, "type": ["AchievementSubject"]},
    });
    if !status.is_null() {
        doc["credentialStatus"] = status;
    }
    let created: Timestamp = "2026-01-01T00:00:00Z".parse().expect("a time");
    let options = credledger::vc::proof_options(&doc, key.did(), &created);
    let value = credledger::vc::proof_value(&doc, &options, &key).expect("sign");
    credledger::vc::secure(doc, options, &value).to_string()
}

/// A credledger `credentialStatus` at `url`.
fn status_at(url: &str) -> Value {
    json!({"id": url, "type": "CredledgerStatus"})
}

const UUID: &str = "5b1f7c3a-2d4e-4f60-8a71-9c0b1d2e3f40";

#[test]
fn verify_vc_says_suspended_valid_after_reinstatement_and_revoked() {
    let (env, server, courses) = served_with(&["Welding I"]);
    let id = &courses[0].1;
    let vc = server.get(&format!("/v1/credentials/{id}/vc"));
    assert_eq!(vc.status, 200, "{vc:?}");
    fs::write(env.path("vc.json"), &vc.body).expect("vc.json");
    let status_url = vc.json()["credentialStatus"]["id"].as_str().expect("a status URL").to_owned();
    assert!(status_url.starts_with(&format!("https://{ORIGIN}/v1/status/")), "{status_url}");

    // (CLI with --server, POST /v1/verify-vc): the verdict, the exit code, the status check.
    let verdicts = |want: &str, code: i32, detail: &str| {
        let out = env.remote(&server, &["verify-vc", "vc.json"]);
        assert_eq!((verdict_line(&out), out.code), (want, code), "{out:?}");
        let report = server.post("/v1/verify-vc", &vc.body).json();
        assert_eq!(report["verdict"], want, "{report}");
        let status = check(&report, "credential.status");
        assert!(status["detail"].as_str().is_some_and(|d| d.starts_with(detail)), "want {detail:?}: {report}");
        assert_eq!(status["ok"], code == 0, "{report}");
    };
    verdicts("VALID", 0, &format!("active (seq {})", SETUP_RECORDS));
    let suspended = server.append(&emit_status(&env, "suspend", id));
    verdicts("SUSPENDED", 1, &format!("suspended (seq {suspended})"));
    let reinstated = server.append(&emit_status(&env, "reinstate", id));
    verdicts("VALID", 0, &format!("active (seq {reinstated})"));
    let revoked = server.append(&env.emit_revoke(id, "issued in error"));
    verdicts("REVOKED", 1, &format!("revoked (seq {revoked})"));

    // --offline: the proof only, and the report says the status was not checked.
    let out = env.run(&["verify-vc", "--offline", "vc.json"]);
    assert_eq!((verdict_line(&out), out.code), ("VALID — status not checked", 0), "{out:?}");
    assert_eq!(printed(&out, "skip", "credential.status"), format!("not checked (--offline): {status_url}"));
    assert_ne!(env.remote(&server, &["verify-vc", "--offline", "vc.json"]).code, 0, "--offline contradicts --server");
}

#[test]
fn a_status_url_out_of_reach_is_status_unknown() {
    let env = Env::new();
    let server = env.serve(&[]);
    // Nothing answers https on the loopback address.
    let unreachable =
        signed_vc(&env.issuer, &env.learner, UUID, status_at(&format!("https://127.0.0.1/v1/status/{UUID}")));
    fs::write(env.path("unreachable.json"), &unreachable).expect("write");
    let out = env.run(&["verify-vc", "unreachable.json"]);
    assert_eq!((verdict_line(&out), out.code), ("STATUS-UNKNOWN", 1), "{out:?}");
    let detail = printed(&out, "FAIL", "credential.status");
    assert!(detail.starts_with(&format!("https://127.0.0.1/v1/status/{UUID}: ")), "{out:?}");

    // The server never fetches another host's status (no SSRF): STATUS-UNKNOWN, saying why.
    let elsewhere =
        signed_vc(&env.issuer, &env.learner, UUID, status_at(&format!("https://other.example/v1/status/{UUID}")));
    let report = server.post("/v1/verify-vc", &elsewhere).json();
    assert_eq!(report["verdict"], "STATUS-UNKNOWN", "{report}");
    let detail = check(&report, "credential.status")["detail"].as_str().expect("detail").to_owned();
    assert!(detail.contains("does not fetch status from other hosts"), "{detail}");
    fs::write(env.path("elsewhere.json"), &elsewhere).expect("write");
    let out = env.remote(&server, &["verify-vc", "elsewhere.json"]);
    assert_eq!((verdict_line(&out), out.code), ("STATUS-UNKNOWN", 1), "{out:?}");

    // This ledger's status URL for a UUID it does not hold.
    let unknown = signed_vc(&env.issuer, &env.learner, UUID, status_at(&format!("https://{ORIGIN}/v1/status/{UUID}")));
    let report = server.post("/v1/verify-vc", &unknown).json();
    assert_eq!(report["verdict"], "STATUS-UNKNOWN", "{report}");
    assert_eq!(check(&report, "credential.status")["detail"], format!("this ledger has no credential urn:uuid:{UUID}"));

    // No credentialStatus: nothing to check, and nothing fetched.
    fs::write(env.path("plain.json"), signed_vc(&env.issuer, &env.learner, UUID, Value::Null)).expect("write");
    let out = env.run(&["verify-vc", "plain.json"]);
    assert_eq!((verdict_line(&out), out.code), ("VALID", 0), "{out:?}");
    assert_eq!(printed(&out, "pass", "credential.status"), "no credentialStatus: there is no status to check");
}

#[test]
fn a_status_url_of_this_ledger_names_the_credential_that_holds_it() {
    let (env, server, courses) = served_with(&["Welding I"]);
    let event: Value = serde_json::from_str(&courses[0].0).expect("JSON");
    let uuid = event["body"]["credential_uuid"].as_str().expect("a uuid");
    // Another key signs a credential claiming the status of one on the ledger.
    let other = env.keygen("other.key");
    let forged = signed_vc(&other, &env.learner, uuid, status_at(&format!("https://{ORIGIN}/v1/status/{uuid}")));
    let report = server.post("/v1/verify-vc", &forged).json();
    assert_eq!(report["verdict"], "STATUS-UNKNOWN", "{report}");
    let detail = check(&report, "credential.status")["detail"].as_str().expect("detail").to_owned();
    assert!(detail.contains("for another signer") && detail.contains(&env.issuer.did), "{detail}");
}

// ---------------------------------------------------------------------------------------------
// Bundle requests within the schema's limits
// ---------------------------------------------------------------------------------------------

#[test]
fn oversize_audiences_and_empty_nonces_are_refused_naming_the_field() {
    let (env, server, _) = served_with(&["Welding I"]);
    let learner = env.learner.did.as_str();

    let huge = "a".repeat(500_000);
    let r = server.post("/v1/bundles", json!({"learner": learner, "audience": huge}).to_string());
    let problem = assert_problem(&r, 422, "schema");
    assert!(problem["detail"].as_str().is_some_and(|d| d.starts_with("audience: 500000 characters")), "{problem}");
    let r = server.post("/v1/bundles", json!({"learner": learner, "nonce": ""}).to_string());
    let problem = assert_problem(&r, 422, "schema");
    assert!(problem["detail"].as_str().is_some_and(|d| d.starts_with("nonce: empty")), "{problem}");
    let exactly = "é".repeat(200);
    let r = server.post("/v1/bundles", json!({"learner": learner, "audience": exactly}).to_string());
    assert_eq!(r.status, 200, "200 characters are allowed: {r:?}");

    let long = "n".repeat(201);
    for (query, field) in [(format!("audience={long}"), "audience"), ("nonce=".to_owned(), "nonce")] {
        let problem = assert_problem(&server.post(&format!("/v1/verify?{query}"), "{}"), 400, "bad-query");
        assert!(problem["detail"].as_str().is_some_and(|d| d.starts_with(&format!("`{field}`: "))), "{problem}");
    }

    let key = env.learner.path();
    for (flag, value, reason) in [("--audience", "", "empty"), ("--nonce", long.as_str(), "201 characters")] {
        let out = env.remote(&server, &["share", "--learner-key", key, flag, value, "--out", "b.json"]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.starts_with(&format!("error: {flag}: {reason}")), "{out:?}");
        assert!(!env.path("b.json").exists(), "nothing written");
    }
}

#[test]
fn a_bundle_bound_to_an_empty_nonce_fails_its_format() {
    let (env, server, _) = served_with(&["Welding I"]);
    let mut bundle: Bundle = serde_json::from_str(&share(&env, &server, "b.json", &[])).expect("a bundle");
    bundle.nonce = Some(String::new());
    let learner = SecretKey::read_file(&env.learner.path).expect("the learner key");
    let report = server.post("/v1/verify", serde_json::to_vec(&bundle.signed(&learner)).expect("JSON")).json();
    assert_eq!(report["verdict"], "INVALID", "{report}");
    let format = check(&report, "bundle.format");
    assert_eq!(format["ok"], false, "{report}");
    assert!(format["detail"].as_str().is_some_and(|d| d.starts_with("nonce: empty")), "{report}");
}

#[test]
fn only_with_a_repeated_id_lists_it_once() {
    let (env, server, courses) = served_with(&["Welding I", "Welding II"]);
    let id = &courses[0].1;

    let r = server.post("/v1/bundles", json!({"learner": env.learner.did, "only": [id, id, id]}).to_string());
    assert_eq!(r.status, 200, "{r:?}");
    let bundle = r.json();
    let listed: Vec<&Value> = bundle["status"]["credentials"].as_array().expect("lines").iter().collect();
    assert_eq!(listed.len(), 1, "{bundle}");
    assert_eq!(listed[0]["credential"], id.as_str());

    let bundle = share(&env, &server, "b.json", &["--only", &format!("{id},{id},{id}")]);
    let bundle: Value = serde_json::from_str(&bundle).expect("JSON");
    assert_eq!(bundle["status"]["credentials"].as_array().map(Vec::len), Some(1), "{bundle}");
    let out = env.run(&["verify", "b.json", "--operator", env.operator.as_str()]);
    assert_eq!(out.code, 0, "{out:?}");
}
