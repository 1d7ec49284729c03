//! Claiming offers from the issuer agent end to end, on loopback: a real `serve` (the ledger, at
//! its public URL) and a real `credledger agent` for its issuer; a registrar's CSV imported with
//! `agent import`; each offer claimed by a wallet, the credential issued to the wallet's did and
//! appended to the ledger exactly once, then judged by verifier-core (`tests/interop/verify.mjs`).
//!
//! The wallets: `credledger claim` (the CLI's own), and a third-party OID4VCI client,
//! `@sphereon/oid4vci-client`, run by `tests/oid4vci/wallet.mjs` with a fresh did:key per claim, as
//! a phone's wallet that scanned the claim page's QR code. Its test skips, saying so, when
//! `tests/oid4vci/node_modules` is absent (`npm ci` there; `.ci/run` does).

mod common;

use std::fs;

use serde_json::{Value, json};

use std::collections::BTreeMap;

use common::agent::{Agent, import_offers};
use common::node::{self, referees};
use common::site::Site;
use common::*;

/// A term's completions as the student system exports them: three students.
const CSV: &str = "student_id,email,kind,title,code,credits,hours,employer,completed,skills\n\
S1001,ada@students.example.edu,course,Intro to Welding,WLD-101,3,,,2026-05-15,esco:welding=Welding\n\
S1002,grace@students.example.edu,course,Intro to Welding,WLD-101,3,,,2026-05-15,esco:welding=Welding\n\
S1003,linus@students.example.edu,certificate,Forklift Safety,,,8,,2026-05-20,esco:forklift=Forklift operation\n";

/// The ledger, the agent beside it, and the offers of the imported CSV.
struct Campus {
    env: Env,
    ledger: Server,
    agent: Agent,
    offers: Vec<Offer>,
}

/// One row of the offers file: what the mail merge sends a student.
struct Offer {
    claim_url: String,
    pin: String,
}

impl From<BTreeMap<String, String>> for Offer {
    fn from(mut row: BTreeMap<String, String>) -> Self {
        let mut field = |name: &str| row.remove(name).unwrap_or_else(|| panic!("the offers file has no {name}"));
        Offer { claim_url: field("claim_url"), pin: field("pin") }
    }
}

fn campus() -> Campus {
    let env = Env::new();
    let ledger = env.serve_at_public_url();
    let agent = Agent::start(&env, &ledger, "agent", &[]);
    let offers: Vec<Offer> = import_offers(&env, &agent, "term", CSV).into_iter().map(Offer::from).collect();
    assert_eq!(offers.len(), 3);
    assert!(offers.iter().all(|o| o.pin.len() == 6 && o.claim_url.starts_with(&agent.url)));
    Campus { env, ledger, agent, offers }
}

/// The records on the ledger that name `did` (credentials issued to it).
fn issued_to(ledger: &Server, did: &str) -> Vec<Value> {
    ledger.all_records().into_iter().filter(|r| r["event"]["body"]["learner"] == did).collect()
}

/// Writes `credential` to a file and has verifier-core (and @digitalbazaar/vc) judge it, its status
/// read from the ledger's lists; asserts both accept it.
fn assert_verifiers_accept(env: &Env, ledger: &Server, name: &str, credential: &Value) {
    let file = env.path(name);
    fs::write(&file, credential.to_string()).expect("write the credential");
    let verdict = &referees(&[&file], &[&ledger.url], None)[0];
    assert_eq!(verdict["verifierCore"]["signature"], true, "{verdict}");
    assert_eq!(verdict["verifierCore"]["errors"], Value::Array(vec![]), "{verdict}");
    assert_eq!(verdict["verifierCore"]["revoked"], false, "{verdict}");
    assert_eq!((&verdict["vc"]["verified"], &verdict["vc"]["proof"]), (&true.into(), &true.into()), "{verdict}");
}

/// `credledger claim LINK --learner-key KEY [ARGS]`, http to loopback allowed.
fn claim(env: &Env, link: &str, key: &KeyFile, args: &[&str]) -> Output {
    let mut all = vec!["claim", link, "--learner-key", key.path(), "--allow-http-loopback"];
    all.extend_from_slice(args);
    env.run(&all)
}

#[test]
fn credledger_claim_receives_the_credential_once_issued_to_its_key() {
    let Campus { env, ledger, agent, offers } = campus();
    let (offer, learner) = (&offers[0], &env.learner);
    let before = ledger.all_records().len();

    // Plain http to the agent, unless told it is on this machine: refused before connecting.
    let out = env.run(&["claim", &offer.claim_url, "--learner-key", learner.path(), "--pin", &offer.pin]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("only https URLs are fetched"), "{out:?}");
    // Without the PIN the offer asks for, nothing is asked of the issuer.
    let out = claim(&env, &offer.claim_url, learner, &[]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("needs its PIN: --pin"), "{out:?}");
    // A wrong PIN, through the deep link the claim page shows: the issuer's OAuth error.
    let page = agent.get(offer.claim_url.strip_prefix(&agent.url).expect("a claim URL of the agent"));
    let wrong = if offer.pin == "000000" { "111111" } else { "000000" };
    let out = claim(&env, &deep_link_of(&page.body), learner, &["--pin", wrong]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(
            "exchanging the code for a token: the issuer refused (HTTP 400): invalid_grant: tx_code: wrong PIN"
        ),
        "{out:?}"
    );
    assert_eq!(ledger.all_records().len(), before, "a refused claim appends nothing");

    // The claim page's URL, the right PIN: the credential, verified here, saved.
    let saved = env.path("claimed.json");
    let out = claim(&env, &offer.claim_url, learner, &["--pin", &offer.pin, "--out", saved.to_str().expect("utf-8")]);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains(&format!("issued to {}", learner.did)) && out.stdout.contains("VALID"), "{out:?}");
    let credential: Value =
        serde_json::from_str(&fs::read_to_string(&saved).expect("the saved credential")).expect("JSON");
    assert_eq!(credential["credentialSubject"]["id"], learner.did.as_str(), "{credential}");
    assert_eq!(issued_to(&ledger, &learner.did).len(), 1, "one credential event for the claimer");
    let after = ledger.all_records().len();
    assert!(after > before, "the claim appended the credential");

    // The same offer again: refused with the issuer's reason, nothing appended.
    let out = claim(&env, &offer.claim_url, learner, &["--pin", &offer.pin]);
    assert_eq!(out.code, 1, "{out:?}");
    let used = "fetching the credential offer: the issuer refused (HTTP 410): invalid_grant: the pre-authorized code was already used";
    assert!(out.stderr.contains(used), "{out:?}");
    assert_eq!(ledger.all_records().len(), after, "a used offer appends nothing");
    assert_eq!(issued_to(&ledger, &learner.did).len(), 1);

    // What it received is exactly what verifiers see: verify-vc and verifier-core accept it.
    let verdict = env.run(&["--json", "verify-vc", saved.to_str().expect("utf-8"), "--allow-http-loopback"]);
    assert_eq!(verdict.code, 0, "{verdict:?}");
    assert_eq!(verdict.json()["verdict"], "VALID");
    assert_verifiers_accept(&env, &ledger, "claimed-copy.json", &credential);
}

#[test]
fn a_third_party_wallet_claims_an_offer_once_with_a_fresh_did() {
    if !node::installed("oid4vci", "@sphereon/oid4vci-client") {
        eprintln!(
            "SKIPPED: the OID4VCI wallet referee is not installed: run `npm ci --ignore-scripts` in {} (.ci/run does)",
            node::project("oid4vci").display()
        );
        return;
    }
    let Campus { env, ledger, agent, offers } = campus();
    let offer = &offers[1];
    // What the phone's camera reads from the claim page's QR code: the page's deep link.
    let page = agent.get(offer.claim_url.strip_prefix(&agent.url).expect("a claim URL of the agent"));
    assert_eq!(page.status, 200, "{page:?}");
    let deep_link = deep_link_of(&page.body);
    let before = ledger.all_records().len();

    let wallet = node::run(&node::project("oid4vci"), "wallet.mjs", &[&deep_link, &offer.pin], None);
    assert!(wallet.ok, "the wallet's claim failed:\n{}\n{}", wallet.stdout, wallet.stderr);
    let received: Value = serde_json::from_str(&wallet.stdout).expect("the wallet prints JSON");
    let did = received["did"].as_str().expect("the wallet's did");
    assert!(did.starts_with("did:key:z6Mk") && did != env.learner.did, "{did}");
    let credential = &received["credential"];
    assert_eq!(credential["credentialSubject"]["id"], did, "{credential}");
    assert_eq!(issued_to(&ledger, did).len(), 1, "one credential event for the wallet's did");
    let after = ledger.all_records().len();
    assert!(after > before);
    assert_verifiers_accept(&env, &ledger, "wallet.json", credential);

    // The same offer again, by the same client: refused, nothing appended.
    let again = node::run(&node::project("oid4vci"), "wallet.mjs", &[&deep_link, &offer.pin], None);
    assert!(!again.ok, "a second claim of the same offer succeeded: {}", again.stdout);
    assert!(again.stderr.contains("http code 410"), "not refused as a used offer: {}", again.stderr);
    assert_eq!(ledger.all_records().len(), after, "a used offer appends nothing");
}

/// The `openid-credential-offer://` link of a claim page (its `href`, entities undone).
fn deep_link_of(page: &str) -> String {
    let start = page.find("href=\"openid-credential-offer://").expect("the claim page links its offer") + 6;
    let end = start + page[start..].find('"').expect("the end of the href");
    page[start..end].replace("&amp;", "&")
}

/// An issuer that answers every step of the flow with fixed answers, its credential endpoint
/// with `credential`; the claim link of its offer.
fn issuer_answering(site: &Site, credential: &Value) -> String {
    let issuer = site.url("");
    let offer = json!({
        "credential_issuer": issuer,
        "credential_configuration_ids": ["OpenBadgeCredential"],
        "grants": {"urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "code"}},
    });
    site.put_json("/offer", &offer);
    let configuration = json!({"format": "ldp_vc"});
    site.put_json(
        "/.well-known/openid-credential-issuer",
        &json!({
            "credential_issuer": issuer,
            "credential_endpoint": site.url("/credential"),
            "nonce_endpoint": site.url("/nonce"),
            "token_endpoint": site.url("/token"),
            "credential_configurations_supported": {"OpenBadgeCredential": configuration},
        }),
    );
    site.put_json("/token", &json!({"access_token": "t", "token_type": "Bearer", "expires_in": 600}));
    site.put_json("/nonce", &json!({"c_nonce": "n"}));
    site.put_json("/credential", &json!({"credentials": [{"credential": credential}]}));
    site.url("/offer")
}

#[test]
fn credledger_claim_keeps_no_credential_that_does_not_verify_or_is_anothers() {
    let env = Env::new();
    let ledger = env.serve_at_public_url();
    let id = env.issue_course(&ledger, "Intro to Welding");
    let genuine = ledger.get(&format!("/v1/credentials/{id}/vc")).json();
    let site = Site::http();
    let saved = env.path("kept.json");
    let claim_from = |credential: &Value, key: &KeyFile| {
        let link = issuer_answering(&site, credential);
        claim(&env, &link, key, &["--out", saved.to_str().expect("utf-8")])
    };

    // Genuine, but issued to the env's learner, not to the claimer's key.
    let stranger = env.keygen("stranger.key");
    let out = claim_from(&genuine, &stranger);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!("issued to {}, not to this key's {}", env.learner.did, stranger.did)),
        "{out:?}"
    );
    // Issued to the claimer, but changed after it was signed.
    let mut tampered = genuine.clone();
    tampered["credentialSubject"]["achievement"]["name"] = "Advanced Welding".into();
    let out = claim_from(&tampered, &env.learner);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("the issuer sent a credential that does not verify: proof.signature"), "{out:?}");
    assert!(!saved.exists(), "nothing kept");
    // The same issuer, the genuine credential to its learner: kept.
    let out = claim_from(&genuine, &env.learner);
    assert_eq!(out.code, 0, "{out:?}");
    assert!(saved.exists());
}
