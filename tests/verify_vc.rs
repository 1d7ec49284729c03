//! Credentials issued elsewhere, verified end to end by the real binary and server: a did:web
//! issuer's key from its DID document, Bitstring Status Lists fetched live (REVOKED, SUSPENDED,
//! STATUS-UNKNOWN, never VALID when the status cannot be learned), `--offline`; the server's fetch
//! rule (its operator's allowlist only, no loopback or private address unless the allowlist names
//! it, no redirects, no oversize answers, a timeout), each refusal against the real server with
//! nothing sent where the rule forbids it; and the W3C VC API's `POST /credentials/verify`.

mod common;

use std::fs;

use serde_json::{Value, json};

use common::elsewhere::{Issuer, entry};
use common::site::{Page, Site};
use common::tls::TestCertificate;
use common::*;

/// The check named `name` in a report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    let checks = report["checks"].as_array().unwrap_or_else(|| panic!("no checks: {report}"));
    checks.iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no check {name}: {report}"))
}

/// The detail of check `name`.
fn detail<'a>(report: &'a Value, name: &str) -> &'a str {
    check(report, name)["detail"].as_str().unwrap_or_default()
}

/// The last line a command printed.
fn verdict_line(out: &Output) -> &str {
    out.stdout.trim_end().lines().last().unwrap_or_default()
}

#[test]
fn verify_vc_resolves_a_did_web_issuer_and_reads_its_live_status_lists() {
    let env = Env::new();
    let certificate = TestCertificate::generate();
    let site = Site::https(&certificate);
    let issuer = Issuer::did_web(&site, 21);
    let (revocation, suspension) = (site.url("/status/revocation"), site.url("/status/suspension"));
    site.put_json("/status/revocation", &issuer.list(&revocation, "revocation", &[]));
    site.put_json("/status/suspension", &issuer.list(&suspension, "suspension", &[]));
    let credential = issuer.credential(
        "Forklift Safety",
        vec![entry(&revocation, "revocation", 94567), entry(&suspension, "suspension", 94567)],
    );
    fs::write(env.path("vc.json"), credential.to_string()).expect("write");
    let ca = certificate.ca.to_str().expect("utf-8");
    let verify = |extra: &[&str]| {
        let mut args = vec!["--json", "verify-vc", "vc.json"];
        args.extend_from_slice(extra);
        let out = env.run(&args);
        (out.code, out.json())
    };

    let (code, report) = verify(&["--ca-cert", ca]);
    assert_eq!((code, report["verdict"].as_str()), (0, Some("VALID")), "{report}");
    assert!(detail(&report, "proof.key").contains("is an assertionMethod of the issuer did:web:127.0.0.1"), "{report}");
    assert_eq!(detail(&report, "credential.status.revocation"), format!("active at {revocation}#94567"));
    assert_eq!(detail(&report, "credential.status.suspension"), format!("active at {suspension}#94567"));
    let text = env.run(&["verify-vc", "vc.json", "--ca-cert", ca]);
    assert_eq!((verdict_line(&text), text.code), ("VALID", 0), "{text:?}");

    // The issuer suspends it, then revokes it: each shows at once.
    site.put_json("/status/suspension", &issuer.list(&suspension, "suspension", &[94567]));
    let (code, report) = verify(&["--ca-cert", ca]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("SUSPENDED")), "{report}");
    site.put_json("/status/revocation", &issuer.list(&revocation, "revocation", &[94567]));
    let (code, report) = verify(&["--ca-cert", ca]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("REVOKED")), "{report}");
    assert_eq!(detail(&report, "credential.status.revocation"), format!("revoked at {revocation}#94567"));

    // A list someone else signed (a key the issuer's document does not list) is not believed.
    let impostor = Issuer {
        key: credledger::SecretKey::from_seed(&[22; 32]),
        did: issuer.did.clone(),
        method: issuer.method.clone(),
    };
    site.put_json("/status/revocation", &impostor.list(&revocation, "revocation", &[]));
    let (code, report) = verify(&["--ca-cert", ca]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("SUSPENDED")), "still suspended: {report}");
    assert!(
        detail(&report, "credential.status.revocation").contains("the status list's proof does not verify"),
        "{report}"
    );
    site.put_json("/status/suspension", &impostor.list(&suspension, "suspension", &[]));
    let (code, report) = verify(&["--ca-cert", ca]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("STATUS-UNKNOWN")), "{report}");

    // Without the test CA the issuer's document is not fetched: its key is unresolved.
    let (code, report) = verify(&[]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("INVALID")), "{report}");
    assert!(detail(&report, "proof.key").contains("/.well-known/did.json"), "{report}");

    // Offline: did:web is not resolved (give the key), and the status is not checked.
    let (code, report) = verify(&["--offline"]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("INVALID")), "{report}");
    assert!(detail(&report, "proof.key").contains("not resolved offline"), "{report}");
    let offline = env.run(&["verify-vc", "vc.json", "--offline", "--key", issuer.key.did().multibase()]);
    assert_eq!((verdict_line(&offline), offline.code), ("VALID — status not checked", 0), "{offline:?}");

    // A changed byte fails, and its status is not looked up.
    let mut tampered = credential.clone();
    tampered["name"] = "Forklift Safety II".into();
    fs::write(env.path("vc.json"), tampered.to_string()).expect("write");
    let (code, report) = verify(&["--ca-cert", ca]);
    assert_eq!((code, report["verdict"].as_str()), (1, Some("INVALID")), "{report}");
    assert_eq!(check(&report, "proof.signature")["ok"], false, "{report}");
    assert_eq!(check(&report, "credential.status")["ran"], false, "{report}");
}

#[test]
fn verify_vc_fetches_http_only_from_loopback_and_only_when_told() {
    let env = Env::new();
    let site = Site::http();
    let issuer = Issuer::did_key(23);
    let list = site.url("/list");
    site.put_json("/list", &issuer.list(&list, "revocation", &[5]));
    fs::write(env.path("vc.json"), issuer.credential("CPR", vec![entry(&list, "revocation", 5)]).to_string())
        .expect("write");

    let out = env.run(&["--json", "verify-vc", "vc.json"]);
    let report = out.json();
    assert_eq!((out.code, report["verdict"].as_str()), (1, Some("STATUS-UNKNOWN")), "{report}");
    assert_eq!(detail(&report, "credential.status.revocation"), format!("{list}: only https URLs are fetched"));
    assert!(site.asked().is_empty(), "nothing fetched: {:?}", site.asked());

    let out = env.run(&["--json", "verify-vc", "vc.json", "--allow-http-loopback"]);
    assert_eq!((out.code, out.json()["verdict"].as_str()), (1, Some("REVOKED")), "{out:?}");
}

/// A server that may fetch from `host` (on the site's port), trusting the test CA.
fn allowing(env: &Env, host: &str, site: &Site, certificate: &TestCertificate) -> Server {
    let allowed = format!("{host}:{}", site.port);
    env.serve(&["--fetch-allow", &allowed, "--fetch-ca-cert", certificate.ca.to_str().expect("utf-8")])
}

/// A did:key issuer elsewhere whose revocation list, all clear, an https site serves at `path`:
/// the test CA, the site, the issuer and the list's URL.
fn issuer_with_list(seed: u8, path: &str) -> (TestCertificate, Site, Issuer, String) {
    let certificate = TestCertificate::generate();
    let site = Site::https(&certificate);
    let issuer = Issuer::did_key(seed);
    let list = site.url(path);
    site.put_json(path, &issuer.list(&list, "revocation", &[]));
    (certificate, site, issuer, list)
}

#[test]
fn the_server_reads_status_lists_only_where_its_operator_allows() {
    let env = Env::new();
    let (certificate, site, issuer, list) = issuer_with_list(24, "/status/1");
    let credential = issuer.credential("Crane Operation", vec![entry(&list, "revocation", 9)]);
    let verify = |server: &Server, credential: &Value| server.post("/v1/verify-vc", credential.to_string()).json();

    // No allowlist: nothing is fetched.
    let closed = env.serve(&[]);
    let report = verify(&closed, &credential);
    assert_eq!(report["verdict"], "STATUS-UNKNOWN", "{report}");
    let why = format!("{list}: 127.0.0.1:{} is not on this server's fetch allowlist (serve --fetch-allow)", site.port);
    assert_eq!(detail(&report, "credential.status.revocation"), why);
    assert!(site.asked().is_empty(), "nothing fetched: {:?}", site.asked());
    drop(closed);

    let server = allowing(&env, "127.0.0.1", &site, &certificate);
    let report = verify(&server, &credential);
    assert_eq!(report["verdict"], "VALID", "{report}");
    site.put_json("/status/1", &issuer.list(&list, "revocation", &[9]));
    let report = verify(&server, &credential);
    assert_eq!(report["verdict"], "REVOKED", "{report}");
    assert_eq!(detail(&report, "credential.status.revocation"), format!("revoked at {list}#9"));

    // Each refusal is STATUS-UNKNOWN with its reason, never VALID.
    site.put("/moved", Page::Redirect(list.clone()));
    site.put("/large", Page::Large(300 * 1024));
    site.put("/stall", Page::Stall);
    let refusals = [
        ("https://10.0.0.1/status/1".to_owned(), "10.0.0.1:443 is not on this server's fetch allowlist".to_owned()),
        (site.url("/moved"), format!("redirected (HTTP 302 to `{list}`): redirects are not followed")),
        (site.url("/large"), "the answer is larger than 262144 bytes".to_owned()),
        (site.url("/stall"), "no complete answer in time".to_owned()),
        (format!("http://127.0.0.1:{}/status/1", site.port), "only https URLs are fetched".to_owned()),
    ];
    for (url, why) in refusals {
        let report = verify(&server, &issuer.credential("Crane Operation", vec![entry(&url, "revocation", 9)]));
        assert_eq!(report["verdict"], "STATUS-UNKNOWN", "{url}: {report}");
        let detail = detail(&report, "credential.status.revocation");
        assert!(detail.starts_with(&format!("{url}: ")) && detail.contains(&why), "{url}: want {why:?}: {detail}");
    }
    drop(server);

    // A host allowed by name that resolves to a loopback address: refused before connecting.
    let by_name = allowing(&env, "localhost", &site, &certificate);
    let url = format!("https://localhost:{}/status/1", site.port);
    let report = verify(&by_name, &issuer.credential("Crane Operation", vec![entry(&url, "revocation", 9)]));
    assert_eq!(report["verdict"], "STATUS-UNKNOWN", "{report}");
    let why = format!(
        "{url}: localhost resolves to 127.0.0.1, a loopback address: not fetched unless the allowlist names that address (--fetch-allow)"
    );
    assert_eq!(detail(&report, "credential.status.revocation"), why);

    let asked = site.asked();
    assert_eq!(asked.iter().filter(|p| *p == "/status/1").count(), 2, "only the allowed fetches reached it: {asked:?}");
    assert!(asked.contains(&"/moved".to_owned()) && !asked.iter().any(|p| p.contains("10.0.0.1")), "{asked:?}");
}

#[test]
fn the_server_resolves_did_web_only_on_allowed_hosts() {
    let env = Env::new();
    let certificate = TestCertificate::generate();
    let site = Site::https(&certificate);
    let issuer = Issuer::did_web(&site, 25);
    let credential = issuer.credential("Welding II", vec![]);

    let closed = env.serve(&[]);
    let report = closed.post("/v1/verify-vc", credential.to_string()).json();
    assert_eq!(report["verdict"], "INVALID", "{report}");
    assert!(detail(&report, "proof.key").contains("is not on this server's fetch allowlist"), "{report}");
    assert!(site.asked().is_empty(), "{:?}", site.asked());
    drop(closed);

    let server = allowing(&env, "127.0.0.1", &site, &certificate);
    let report = server.post("/v1/verify-vc", credential.to_string()).json();
    assert_eq!(report["verdict"], "VALID", "{report}");
    assert_eq!(report["signer"], issuer.key.did().as_str(), "{report}");
}

#[test]
fn the_vc_api_verify_answers_200_when_verified_and_400_when_not() {
    let env = Env::new();
    let (certificate, site, issuer, list) = issuer_with_list(26, "/status");
    let credential = issuer.credential("Rigging", vec![entry(&list, "revocation", 3)]);
    let server = allowing(&env, "127.0.0.1", &site, &certificate);
    let post = |body: Value| server.post("/credentials/verify", body.to_string());

    let ok = post(json!({"verifiableCredential": credential, "options": {}}));
    assert_eq!((ok.status, ok.media_type()), (200, "application/json"), "{ok:?}");
    let result = ok.json();
    assert_eq!((result["verified"].as_bool(), result["verdict"].as_str()), (Some(true), Some("VALID")), "{result}");
    assert!(result["checks"].as_array().expect("checks").iter().any(|c| c == "proof.signature"), "{result}");
    assert_eq!(
        (result["errors"].as_array().map(Vec::len), result["warnings"].as_array().map(Vec::len)),
        (Some(0), Some(0))
    );

    let mut tampered = credential.clone();
    tampered["name"] = "Rigging II".into();
    let bad = post(json!({"verifiableCredential": tampered}));
    assert_eq!(bad.status, 400, "{bad:?}");
    let result = bad.json();
    assert_eq!((result["verified"].as_bool(), result["verdict"].as_str()), (Some(false), Some("INVALID")), "{result}");
    assert_eq!(result["errors"][0]["name"], "proof.signature", "{result}");

    site.put_json("/status", &issuer.list(&list, "revocation", &[3]));
    let revoked = post(json!({"verifiableCredential": credential}));
    assert_eq!((revoked.status, revoked.json()["verdict"].as_str()), (400, Some("REVOKED")), "{revoked:?}");
    site.put_json("/status", &issuer.list(&list, "revocation", &[]));

    let challenged = post(json!({"verifiableCredential": credential, "options": {"challenge": "abc"}}));
    assert_eq!(challenged.status, 400, "{challenged:?}");
    assert_eq!(challenged.json()["errors"][0]["name"], "proof.challenge", "{challenged:?}");

    for (body, why) in [
        (json!({"credential": credential}), "verifiableCredential: missing"),
        (json!({"verifiableCredential": [credential]}), "verifiableCredential: not a JSON object"),
        (json!({"verifiableCredential": credential, "options": {"domain": 7}}), "options.domain: not a string"),
    ] {
        let problem = assert_problem(&post(body), 400, "bad-request");
        assert_eq!(problem["detail"], why);
    }
    assert_problem(&server.post("/credentials/verify", "{\"verifiableCredential\": "), 400, "malformed-json");
}

#[test]
fn a_fetch_allow_that_is_not_host_and_port_is_a_usage_error() {
    let env = Env::new();
    for bad in ["https://status.example", "status.example:0", "a b"] {
        let out = env.run(&["--ledger", &env.ledger(), "serve", "--addr", "127.0.0.1:0", "--fetch-allow", bad]);
        assert_eq!(out.code, 2, "{bad}: {out:?}");
        assert!(out.stderr.contains("--fetch-allow") && out.stderr.contains("is not HOST or HOST:PORT"), "{out:?}");
    }
}
