//! The issuer agent end to end: a real `serve` and a real `agent` on loopback, CSV imports through
//! `agent import`, and the OID4VCI pre-authorized code flow walked by a wallet made of
//! `key_proof::sign` and ureq. Each refusal is checked to change nothing: the ledger's length and
//! the agent's awards stay as they were.

mod common;

use std::fs;

use common::agent::{ADMIN_TOKEN, Agent, Wallet, export, offers};
use common::{Env, Server};
use credledger::oid4vci::{self, key_proof};

/// A ledger at its public URL, and an agent issuing for the env's issuer.
fn setup(extra: &[&str]) -> (Env, Server, Agent) {
    let env = Env::new();
    let ledger = env.serve_at_public_url();
    let agent = Agent::start(&env, &ledger, "agent", extra);
    (env, ledger, agent)
}

/// Imports `csv` as `name` with `--offers-out`; the offers.
fn import(env: &Env, agent: &Agent, name: &str, csv: &str) -> Vec<std::collections::BTreeMap<String, String>> {
    fs::write(env.path(name), csv).unwrap();
    let out_file = format!("{name}.offers.csv");
    let out = agent.import(env, name, &["--offers-out", &out_file]);
    assert_eq!(out.code, 0, "{out:?}");
    offers(&env.path(&out_file))
}

fn size(env: &Env, ledger: &Server) -> u64 {
    ledger.size(&env.operator)
}

fn error_of(r: &common::Resp) -> String {
    r.json()["error"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn an_imported_award_is_claimed_once_onto_the_ledger_and_verifies() {
    let (env, ledger, agent) = setup(&[]);
    let rows = import(&env, &agent, "term.csv", &export(3));
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["award"] == "new" && r["pin"].len() == 6 && r["claim_url"].contains("/claim/")));
    assert_eq!(rows[0]["student_id"], "S0000");
    assert_eq!(rows[0]["email"], "student0@example.edu");

    // The same file again: nothing new.
    let again = import(&env, &agent, "term.csv", &export(3));
    assert!(again.iter().all(|r| r["award"] == "imported before" && r["pin"].is_empty()), "{again:?}");
    assert_eq!(agent.awards().len(), 3);

    // The claim page: the deep link and its QR code.
    let claim_url = &rows[0]["claim_url"];
    let path = &claim_url[agent.url.len()..];
    let page = agent.get(path);
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("openid-credential-offer://?credential_offer_uri=") && page.body.contains("<svg"));

    // The metadata wallets read.
    let metadata = agent.get(oid4vci::ISSUER_METADATA_PATH).json();
    assert_eq!(metadata["credential_issuer"], agent.url.as_str());
    assert_eq!(metadata["credential_configurations_supported"]["OpenBadgeCredential"]["format"], "ldp_vc");

    let before = size(&env, &ledger);
    let wallet = Wallet::new();
    let session = wallet.redeem(claim_url, Some(&rows[0]["pin"]));
    let nonce = wallet.nonce(&session.issuer);
    let answer = wallet.credential_answer(&session, &session.issuer, &nonce);
    assert_eq!(answer.status, 200, "{answer:?}\n{}", agent.log());
    let vc = answer.json()["credentials"][0]["credential"].clone();
    assert_eq!(vc["credentialSubject"]["id"], wallet.key.did().as_str());
    let after = size(&env, &ledger);
    assert!(after > before, "the credential is on the ledger");

    // Issued to the proof's did, once; verifiers see exactly the ledger's export.
    let profile = ledger.get(&format!("/v1/learners/{}/profile", wallet.key.did())).json();
    assert_eq!(profile["credentials"].as_array().map(Vec::len), Some(1), "{profile}");
    let id = profile["credentials"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(ledger.get(&format!("/v1/credentials/{id}/vc")).json(), vc);
    fs::write(env.path("claimed.json"), serde_json::to_vec(&vc).unwrap()).unwrap();
    let verified = env.run(&["verify-vc", "claimed.json", "--allow-http-loopback"]);
    assert_eq!(verified.code, 0, "{verified:?}");
    assert!(verified.stdout.trim_end().ends_with("VALID"), "{verified:?}");

    // The wallet's retry (same token, a new nonce): the same credential, nothing new on the log.
    let nonce = wallet.nonce(&session.issuer);
    let retry = wallet.credential_answer(&session, &session.issuer, &nonce);
    assert_eq!(retry.status, 200, "{retry:?}");
    assert_eq!(retry.json()["credentials"][0]["credential"], vc);
    assert_eq!(size(&env, &ledger), after);

    // Another key with the same token is refused: the award was issued to the first one.
    let other = Wallet { key: credledger::SecretKey::generate().unwrap(), http: wallet.http.clone() };
    let nonce = other.nonce(&session.issuer);
    let refused = other.credential_answer(&session, &session.issuer, &nonce);
    assert_eq!((refused.status, error_of(&refused)), (400, "credential_request_denied".to_owned()), "{refused:?}");

    // The code again: single use.
    let offer = wallet.offer_answer(claim_url);
    assert_eq!(offer.status, 410, "{offer:?}");
    assert_eq!(size(&env, &ledger), after);

    // The agent's list shows the credential; the ledger never saw a name, email or student id.
    let awards = agent.awards();
    let issued = awards.iter().filter(|a| a["credential"]["on_ledger"] == true).count();
    assert_eq!(issued, 1);
    let log = serde_json::to_string(&ledger.all_records()).unwrap();
    assert!(!log.contains("student0@example.edu") && !log.contains("S0000"));
}

#[test]
fn refusals_change_nothing() {
    let (env, ledger, agent) = setup(&[]);
    let rows = import(&env, &agent, "term.csv", &export(4));
    let before = size(&env, &ledger);
    let wallet = Wallet::new();

    // Admin endpoints: no token, a wrong one.
    for token in [None, Some("not-the-token-at-all")] {
        let r = agent.admin_get("/admin/awards", token);
        assert_eq!(r.status, 401, "{r:?}");
        assert_eq!(r.media_type(), "application/problem+json");
        let r = agent.admin_post("/admin/imports", token, &export(2));
        assert_eq!(r.status, 401, "{r:?}");
    }
    assert_eq!(agent.awards().len(), 4);

    // A wrong PIN, five times: the offer is locked, even for the right PIN.
    let offer = wallet.offer(&rows[0]["claim_url"]);
    let (issuer, code) = (offer.credential_issuer.clone(), offer.grants.pre_authorized_code.code.clone());
    let right = &rows[0]["pin"];
    let wrong = if right == "000000" { "111111" } else { "000000" };
    for _ in 0..5 {
        let r = wallet.token_answer(&issuer, &code, Some(wrong));
        assert_eq!((r.status, error_of(&r)), (400, "invalid_grant".to_owned()), "{r:?}");
    }
    let r = wallet.token_answer(&issuer, &code, Some(right));
    assert_eq!(error_of(&r), "invalid_grant");
    assert!(r.json()["error_description"].as_str().unwrap().contains("locked"), "{r:?}");

    // Re-issued by the registrar: a new code and PIN work, the old code is dead.
    let award = agent.awards().into_iter().find(|a| a["award"]["student_id"] == "S0000").unwrap();
    let id = award["award_id"].as_str().unwrap();
    let r = agent.admin_post(&format!("/admin/awards/{id}/offer"), None, "");
    assert_eq!(r.status, 401);
    let reissued = agent.admin_post(&format!("/admin/awards/{id}/offer"), Some(ADMIN_TOKEN), "").json();
    let r = wallet.token_answer(&issuer, &code, Some(right));
    assert_eq!(error_of(&r), "invalid_grant");

    // Unknown grant type, no code.
    let r = wallet.post_form(&format!("{issuer}{}", oid4vci::TOKEN_PATH), &[("grant_type", "password")]);
    assert_eq!(error_of(&r), "unsupported_grant_type");
    let r =
        wallet.post_form(&format!("{issuer}{}", oid4vci::TOKEN_PATH), &[("grant_type", oid4vci::PRE_AUTHORIZED_GRANT)]);
    assert_eq!(error_of(&r), "invalid_request");

    // A session for the re-issued offer; then a proof for another audience, a used nonce, an
    // unknown nonce, no token.
    let session = wallet.redeem(reissued["claim_url"].as_str().unwrap(), reissued["pin"].as_str());
    let nonce = wallet.nonce(&session.issuer);
    let r = wallet.credential_answer(&session, "https://elsewhere.example", &nonce);
    assert_eq!((r.status, error_of(&r)), (400, "invalid_proof".to_owned()), "{r:?}");
    assert!(r.json()["error_description"].as_str().unwrap().contains("aud"), "{r:?}");
    let r = wallet.credential_answer(&session, &session.issuer, "never-issued");
    assert_eq!(error_of(&r), "invalid_nonce", "{r:?}");
    let used = wallet.nonce(&session.issuer);
    let jwt = key_proof::sign(&wallet.key, &session.issuer, &used, time::OffsetDateTime::now_utc());
    let stale_iat = key_proof::sign(
        &wallet.key,
        &session.issuer,
        &used,
        time::OffsetDateTime::now_utc() - time::Duration::hours(1),
    );
    let r = wallet.credential_with_jwt(&session, &stale_iat);
    assert_eq!(error_of(&r), "invalid_proof", "{r:?}");
    let r = wallet.credential_with_jwt(&session, &jwt);
    assert_eq!(r.status, 200, "{r:?}");
    let after_claim = size(&env, &ledger);
    let r = wallet.credential_with_jwt(&session, &jwt);
    assert_eq!(error_of(&r), "invalid_nonce", "a nonce is single-use: {r:?}");
    let no_token = common::agent::Session { issuer: session.issuer.clone(), access_token: "nope".to_owned() };
    let nonce = wallet.nonce(&session.issuer);
    let r = wallet.credential_answer(&no_token, &session.issuer, &nonce);
    assert_eq!((r.status, error_of(&r)), (401, "invalid_token".to_owned()), "{r:?}");
    assert_eq!(size(&env, &ledger), after_claim);
    assert!(after_claim > before);

    // A cancelled offer.
    let award = agent.awards().into_iter().find(|a| a["award"]["student_id"] == "S0001").unwrap();
    let id = award["award_id"].as_str().unwrap();
    let cancelled = agent.admin_post(&format!("/admin/awards/{id}/cancel"), Some(ADMIN_TOKEN), "");
    assert_eq!(cancelled.status, 200, "{cancelled:?}");
    assert_eq!(wallet.offer_answer(&rows[1]["claim_url"]).status, 410);
    assert_eq!(size(&env, &ledger), after_claim);
}

#[test]
fn an_expired_offer_is_refused() {
    let (env, ledger, agent) = setup(&["--offer-lifetime", "1s"]);
    let rows = import(&env, &agent, "term.csv", &export(1));
    let wallet = Wallet::new();
    let before = size(&env, &ledger);
    // Bounded: the offer lived one second.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    let expired = loop {
        let r = wallet.offer_answer(&rows[0]["claim_url"]);
        if r.status == 410 {
            break r;
        }
        assert!(std::time::Instant::now() < deadline, "{r:?}");
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(expired.json()["error_description"].as_str().unwrap().contains("expired"), "{expired:?}");
    assert_eq!(agent.get(&rows[0]["claim_url"][agent.url.len()..]).status, 410);
    assert_eq!(size(&env, &ledger), before);
}

#[test]
fn bad_rows_import_nothing_unless_skipped_into_a_rejects_file() {
    let (env, _ledger, agent) = setup(&[]);
    let mut csv = export(3);
    csv.push_str("S9,not-an-email,course,Welding,WLD-9,3,,,2026-05-01,esco:welding=Welding\n");
    csv.push_str("S10,ok@example.edu,course,Welding,WLD-10,3,,,2026-02-30,esco:welding=Welding\n");
    fs::write(env.path("bad.csv"), &csv).unwrap();
    let out = agent.import(&env, "bad.csv", &["--offers-out", "offers.csv"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("row 5, column email"), "{out:?}");
    assert!(out.stderr.contains("row 6, column completed"), "{out:?}");
    assert!(out.stderr.contains("nothing was imported"), "{out:?}");
    assert!(agent.awards().is_empty());
    assert!(!env.path("offers.csv").exists());

    let out = agent.import(&env, "bad.csv", &["--skip-bad", "--offers-out", "offers.csv"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(agent.awards().len(), 3);
    assert_eq!(offers(&env.path("offers.csv")).len(), 3);
    let rejects = fs::read_to_string(env.path("bad.rejects.csv")).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines.len(), 3, "{rejects}");
    assert!(lines[0].ends_with(",errors"));
    assert!(lines[1].starts_with("S9,") && lines[1].contains("email"), "{rejects}");
    assert!(lines[2].starts_with("S10,") && lines[2].contains("completed"), "{rejects}");

    // Other header names, mapped.
    let renamed = export(2).replacen("student_id,email", "Student ID,E-mail", 1).replace("S000", "R000");
    fs::write(env.path("renamed.csv"), renamed).unwrap();
    let out = agent.import(&env, "renamed.csv", &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("student_id"), "{out:?}");
    let out = agent.import(&env, "renamed.csv", &["--map", "Student ID=student_id,E-mail=email"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(agent.awards().len(), 5);
}

#[test]
fn a_thousand_rows_import_in_one_go() {
    let (env, _ledger, agent) = setup(&[]);
    let rows = import(&env, &agent, "big.csv", &export(1000));
    assert_eq!(rows.len(), 1000);
    let urls: std::collections::BTreeSet<&String> = rows.iter().map(|r| &r["claim_url"]).collect();
    assert_eq!(urls.len(), 1000, "each award its own offer");
    assert_eq!(agent.awards().len(), 1000);
}

#[test]
fn a_claim_while_the_ledger_is_down_is_answered_503_then_issued_once_when_it_is_back() {
    let env = Env::new();
    let mut ledger = env.serve_at_public_url();
    let url = ledger.url.clone();
    let agent = Agent::start(&env, &ledger, "agent", &[]);
    let rows = import(&env, &agent, "term.csv", &export(1));
    let before = size(&env, &ledger);
    let wallet = Wallet::new();
    let session = wallet.redeem(&rows[0]["claim_url"], Some(&rows[0]["pin"]));
    let nonce = wallet.nonce(&session.issuer);
    // The ledger goes down before the claim: the agent cannot sign for it (the status list place
    // comes from it) and says try later. (A post that fails after signing, and the kept events
    // posted again, are `agent::issue`'s unit tests.)
    let _ = ledger.child.kill();
    ledger.wait_for_exit();
    let r = wallet.credential_answer(&session, &session.issuer, &nonce);
    assert_eq!((r.status, error_of(&r)), (503, "temporarily_unavailable".to_owned()), "{r:?}");
    assert_eq!(r.retry_after.as_deref(), Some("30"));

    let addr = url.trim_start_matches("http://").to_owned();
    let ledger = env.serve(&["--addr", &addr, "--public-url", &url]);
    assert_eq!(size(&env, &ledger), before);
    let vc = wallet.claim_with(&session);
    assert_eq!(vc["credentialSubject"]["id"], wallet.key.did().as_str());
    let after = size(&env, &ledger);
    let again = wallet.claim_with(&session);
    assert_eq!(again, vc);
    assert_eq!(size(&env, &ledger), after);
    let profile = ledger.get(&format!("/v1/learners/{}/profile", wallet.key.did())).json();
    assert_eq!(profile["credentials"].as_array().map(Vec::len), Some(1));
}

#[test]
fn the_agent_refuses_to_start_without_a_strong_admin_token() {
    let env = Env::new();
    let ledger = env.serve(&[]);
    let out = std::process::Command::new(common::BIN)
        .args(["--server", &ledger.url, "agent", "--issuer-key", env.issuer.path(), "--dir", "agent"])
        .env_remove("CREDLEDGER_ADMIN_TOKEN")
        .current_dir(env.tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--admin-token"));
    let out = std::process::Command::new(common::BIN)
        .args(["--server", &ledger.url, "agent", "--issuer-key", env.issuer.path(), "--dir", "agent"])
        .args(["--addr", "127.0.0.1:0", "--admin-token", "short"])
        .current_dir(env.tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--admin-token: at least 16"), "{stderr}");
    assert!(!stderr.contains("short"), "the token is never printed: {stderr}");

    // A key that is no registered issuer's.
    let stranger = env.keygen("stranger.key");
    let out = std::process::Command::new(common::BIN)
        .args(["--server", &ledger.url, "agent", "--issuer-key", stranger.path(), "--dir", "agent"])
        .args(["--addr", "127.0.0.1:0"])
        .env("CREDLEDGER_ADMIN_TOKEN", ADMIN_TOKEN)
        .current_dir(env.tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&stranger.did) && stderr.contains("not a registered issuer"), "{stderr}");
    assert!(!stderr.contains(ADMIN_TOKEN));
}

#[test]
fn an_offer_without_a_pin_is_claimed_with_the_link_alone() {
    let (env, ledger, agent) = setup(&[]);
    fs::write(env.path("term.csv"), export(1)).unwrap();
    let out = agent.import(&env, "term.csv", &["--no-pin", "--offers-out", "offers.csv"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(!out.stdout.contains("/claim/"), "claim links go to --offers-out only: {out:?}");
    let rows = offers(&env.path("offers.csv"));
    assert_eq!(rows[0]["pin"], "");
    let wallet = Wallet::new();
    let offer = wallet.offer(&rows[0]["claim_url"]);
    assert_eq!(offer.grants.pre_authorized_code.tx_code, None);
    let vc = wallet.claim(&rows[0]["claim_url"], None);
    assert_eq!(vc["credentialSubject"]["id"], wallet.key.did().as_str());
    let profile = ledger.get(&format!("/v1/learners/{}/profile", wallet.key.did())).json();
    assert_eq!(profile["credentials"][0]["title"], "Welding 0");
}
