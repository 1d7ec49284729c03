//! Share links end to end, against the real server and binary: a learner publishes a signed
//! bundle (`share --publish`), anyone with the link sees it verified now (`/s/{token}`, never
//! indexed), a revocation of a credential shows at the next view, the learner withdraws the link
//! (`share --unpublish`), and every refusal is a typed problem.

mod common;

use common::*;
use credledger::event::Timestamp;
use credledger::keys::SecretKey;
use credledger::share::{PublishRequest, Published, RevokeRequest, Token};
use credledger::store::Store;
use credledger::store::dir::LedgerDir;
use serde_json::Value;
use time::OffsetDateTime;

/// A page and the headers a share link's answer must carry.
struct Page {
    status: u16,
    content_type: String,
    robots: String,
    body: String,
}

fn page(server: &Server, url: &str) -> Page {
    let mut response = server.agent.get(url).header("accept", "text/html").call().expect("GET the link");
    let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let (content_type, robots) = (header("content-type"), header("x-robots-tag"));
    let body = response.body_mut().read_to_string().expect("a body");
    Page { status: response.status().as_u16(), content_type, robots, body }
}

fn assert_never_indexed(page: &Page) {
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    assert_eq!(page.robots, "noindex, nofollow");
    assert!(page.body.contains("<meta name=\"robots\" content=\"noindex, nofollow\">"), "{}", page.body);
}

/// A ledger with one course for the learner, served.
fn served() -> (Env, Server, String) {
    let env = Env::new();
    let server = env.serve(&[]);
    let course = env.emit_course(&env.issuer, "Welding Basics");
    server.append(&course);
    (env, server, id_of(&course))
}

fn now() -> Timestamp {
    Timestamp::whole_seconds(OffsetDateTime::now_utc())
}

fn learner_key(env: &Env) -> SecretKey {
    SecretKey::read_file(&env.learner.path).expect("the learner's key")
}

/// The learner's signed bundle, as `share --out` writes it.
fn signed_bundle(env: &Env, server: &Server) -> Value {
    let out = env.path("bundle.json");
    env.remote_ok(server, &["share", "--learner-key", env.learner.path(), "--out", out.to_str().unwrap()]);
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

/// The bundle with its credential retitled, signed again by the learner (a forgery that only the
/// log's proofs catch).
fn retitled(bundle: &Value, title: &str, learner: &SecretKey) -> Value {
    let mut altered = bundle.clone();
    let entries = altered["entries"].as_array_mut().expect("entries");
    let credential =
        entries.iter_mut().find(|e| e["record"]["event"]["body"]["title"].is_string()).expect("a credential");
    credential["record"]["event"]["body"]["title"] = title.into();
    let unsigned = credledger::canonical::to_vec_without(&altered, "learner_sig").unwrap();
    altered["learner_sig"] = learner.sign_b64(&unsigned).into();
    altered
}

#[test]
fn a_published_link_shows_the_verdict_now_until_the_learner_withdraws_it() {
    let (env, server, credential) = served();
    let qr = env.path("link.svg");
    let out = env.remote_ok(
        &server,
        &[
            "--json",
            "share",
            "--learner-key",
            env.learner.path(),
            "--publish",
            "--expires-in",
            "7",
            "--qr",
            qr.to_str().unwrap(),
        ],
    );
    let answer = out.json();
    let link = answer["link"].as_str().expect("a link").to_owned();
    assert!(link.starts_with(&format!("{}/s/", server.url)), "{link}");
    assert!(std::fs::read_to_string(&qr).unwrap().contains("<svg"), "the QR code is an SVG");
    let expires: Timestamp = answer["expires_at"].as_str().unwrap().parse().unwrap();
    let days = (expires.0 - OffsetDateTime::now_utc()).whole_hours();
    assert!((24 * 7 - 1..=24 * 7).contains(&days), "7 days: {expires}");

    // Opened: the verdict, one line per credential in words, rendered on the server.
    let shown = page(&server, &link);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert_never_indexed(&shown);
    assert!(shown.body.contains("data-verdict=\"VALID\""), "{}", shown.body);
    assert!(shown.body.contains("Welding Basics</strong> — Northside College — issued 2026-01-15"), "{}", shown.body);
    assert!(shown.body.contains("genuine and active"), "{}", shown.body);
    assert!(!shown.body.contains("<script"), "no script needed to read the verdict");

    // The issuer revokes the credential: the same link shows it revoked at the next view.
    server.append(&env.emit_revoke(&credential, "issued in error"));
    let shown = page(&server, &link);
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("data-verdict=\"INVALID\""), "{}", shown.body);
    assert!(shown.body.contains("data-state=\"revoked\""), "{}", shown.body);
    assert!(shown.body.contains("revoked by its issuer"), "{}", shown.body);

    // Someone else cannot withdraw it; the learner can, and then it is gone (410).
    let other = env.keygen("other.key");
    let refused = env.run(&["share", "--unpublish", &link, "--learner-key", other.path()]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("bad-signature"), "{refused:?}");
    assert_eq!(page(&server, &link).status, 200, "still live");
    env.ok(&["share", "--unpublish", &link, "--learner-key", env.learner.path()]);
    let gone = page(&server, &link);
    assert_eq!(gone.status, 410, "{}", gone.body);
    assert_never_indexed(&gone);
    assert!(gone.body.contains("The learner withdrew this share link"), "{}", gone.body);
    assert!(!gone.body.contains("Welding Basics"), "a withdrawn link shows nothing of the bundle");
}

#[test]
fn unknown_and_expired_links_say_so_and_nothing_is_listed() {
    let env = Env::new();
    // An expired link, kept as the server keeps one (the token's hash, never the token).
    let token = Token::from_random([5; 32]);
    let learner = env.learner.did();
    let long_ago: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
    let kept = Published::new(learner, serde_json::json!({"v": 1}), 1, long_ago);
    let store = LedgerDir::new(env.ledger()).open_store().expect("the store");
    store.put_share(&token.hash(), &kept.to_bytes()).unwrap();
    drop(store);
    let server = env.serve(&[]);

    let expired = page(&server, &token.link(&server.url));
    assert_eq!(expired.status, 410, "{}", expired.body);
    assert_never_indexed(&expired);
    assert!(expired.body.contains("This share link expired on 2026-01-02"), "{}", expired.body);

    for unknown in [Token::from_random([6; 32]).as_str(), "not-a-token"] {
        let shown = page(&server, &format!("{}/s/{unknown}", server.url));
        assert_eq!(shown.status, 404, "{}", shown.body);
        assert_never_indexed(&shown);
        assert!(shown.body.contains("No such link"), "{}", shown.body);
    }
    // No listing of links.
    for path in ["/s/", "/s", "/v1/shares"] {
        let listed = server.get(path);
        assert!(matches!(listed.status, 404 | 405), "{path}: {listed:?}");
    }
}

#[test]
fn only_the_learner_publishes_only_a_valid_bundle_of_this_ledger_for_a_bounded_time() {
    let (env, server, _) = served();
    let learner = learner_key(&env);
    let bundle = signed_bundle(&env, &server);
    let request = |bundle: &Value, days: u32, at: Timestamp, key: &SecretKey| {
        serde_json::to_string(&PublishRequest::signed(bundle.clone(), days, at, key)).unwrap()
    };

    // Someone the bundle was sent to cannot publish it.
    let other = SecretKey::from_seed(&[9; 32]);
    assert_problem(&server.post("/v1/shares", request(&bundle, 30, now(), &other)), 403, "bad-signature");
    // Days out of bounds, a stale request, malformed JSON, an unknown field.
    for days in [0, 366] {
        let refused = server.post("/v1/shares", request(&bundle, days, now(), &learner));
        assert!(assert_problem(&refused, 422, "bad-days")["detail"].as_str().unwrap().starts_with("days:"));
    }
    let stale = Timestamp(now().0 - time::Duration::hours(1));
    assert_problem(&server.post("/v1/shares", request(&bundle, 30, stale, &learner)), 422, "stale-request");
    assert_problem(&server.post("/v1/shares", "{"), 400, "malformed-json");
    let mut extra: Value = serde_json::from_str(&request(&bundle, 30, now(), &learner)).unwrap();
    extra["x"] = 1.into();
    let refused = assert_problem(&server.post("/v1/shares", extra.to_string()), 422, "schema");
    assert!(refused["detail"].as_str().unwrap().contains('x'), "{refused}");

    // A bundle the learner altered and re-signed is verified first, and not kept.
    let altered = retitled(&bundle, "Advanced Welding", &learner);
    let refused = server.post("/v1/shares", request(&altered, 30, now(), &learner));
    let detail = assert_problem(&refused, 422, "bundle-invalid")["detail"].as_str().unwrap().to_owned();
    assert!(detail.contains("entries.inclusion"), "{detail}");

    // The CLI checks the bound and needs the server.
    let out = env.remote(&server, &["share", "--learner-key", env.learner.path(), "--publish", "--expires-in", "400"]);
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("--expires-in") && out.stderr.contains("365"), "{out:?}");
    let out = env.run(&["--ledger", &env.ledger(), "share", "--learner-key", env.learner.path(), "--publish"]);
    assert!(out.code != 0 && out.stderr.contains("--server"), "{out:?}");

    // The learner's own, valid bundle is kept; revoking needs the learner's signature too.
    let published = server.post("/v1/shares", request(&bundle, 30, now(), &learner));
    assert_eq!(published.status, 201, "{published:?}");
    let token = Token::from_link(published.json()["link"].as_str().unwrap()).unwrap();
    let revoke =
        |key: &SecretKey, token: &Token| serde_json::to_string(&RevokeRequest::signed(token, now(), key)).unwrap();
    assert_problem(&server.post("/v1/shares/revoke", revoke(&other, &token)), 403, "bad-signature");
    let unknown = Token::from_random([1; 32]);
    assert_problem(&server.post("/v1/shares/revoke", revoke(&learner, &unknown)), 404, "not-found");
    let first = server.post("/v1/shares/revoke", revoke(&learner, &token));
    assert_eq!(first.status, 200, "{first:?}");
    let again = server.post("/v1/shares/revoke", revoke(&learner, &token));
    assert_eq!(again.json()["revoked_at"], first.json()["revoked_at"], "the first revocation stands");
}

#[test]
fn the_front_door_names_the_ledger_and_browsers_get_a_page_for_a_missing_path() {
    let (env, server, _) = served();
    let front = page(&server, &format!("{}/", server.url));
    assert_eq!(front.status, 200, "{}", front.body);
    assert!(front.content_type.starts_with("text/html"));
    for what in [ORIGIN, env.operator.as_str(), "href=\"/verify\"", "href=\"/openapi.json\""] {
        assert!(front.body.contains(what), "the front door shows {what}: {}", front.body);
    }
    let size = server.size(&env.operator);
    assert!(front.body.contains(&format!("{size} records")), "the latest checkpoint: {}", front.body);

    // A browser gets a page; an API client gets problem+json.
    let missing = page(&server, &format!("{}/no/such/page", server.url));
    assert_eq!(missing.status, 404);
    assert!(missing.content_type.starts_with("text/html"), "{}", missing.content_type);
    assert!(missing.body.contains("Page not found") && missing.body.contains("href=\"/\""), "{}", missing.body);
    assert_problem(&server.get("/no/such/page"), 404, "not-found");
}

#[test]
fn verdicts_are_in_plain_words_and_an_invalid_one_names_the_credential_that_failed() {
    let (env, server, _) = served();
    let bundle = signed_bundle(&env, &server);

    // Nothing chosen: the page asks for a file; it does not judge.
    for empty in ["", "  \n"] {
        let asked = server.post("/verify/report", empty);
        assert_eq!(asked.status, 200, "{asked:?}");
        assert!(asked.body.contains("Choose a bundle file"), "{}", asked.body);
        assert!(!asked.body.contains("INVALID"), "{}", asked.body);
    }

    // A genuine bundle: one line per credential first, the checks folded below.
    let valid = server.post("/verify/report", bundle.to_string());
    assert_eq!(valid.media_type(), "text/html");
    let line = "<strong>Welding Basics</strong> — Northside College — issued 2026-01-15 — <span class=\"state pass\">genuine and active</span>";
    assert!(valid.body.contains(line), "{}", valid.body);
    assert!(valid.body.find(line) < valid.body.find("<details"), "the credentials come before the checks");
    // A skill without a label shows its code once.
    assert_eq!(valid.body.matches("onet:51-4121").count(), 1, "{}", valid.body);

    // A tampered bundle names the credential and says why in words, without code quoting.
    let learner = learner_key(&env);
    let altered = retitled(&bundle, "Advanced Welding", &learner);
    let invalid = server.post("/verify/report", altered.to_string());
    let headline = "✗ INVALID: Advanced Welding failed: it was changed after the ledger recorded it";
    assert!(invalid.body.contains(headline), "{}", invalid.body);
    assert!(invalid.body.contains("data-state=\"failed\""), "{}", invalid.body);
    assert!(!invalid.body.contains('`'), "{}", invalid.body);

    // The learner page does not open with the log position.
    let learner_page = server.get(&format!("/learners/{}", env.learner.did));
    assert!(!learner_page.body.contains("as of log record"), "{}", learner_page.body);
    assert!(learner_page.body.contains("id=\"publish\""), "the learner page offers publishing");
}

#[test]
fn a_link_presents_credentials_held_under_two_dids_each_proven_by_its_key() {
    let (env, server, first) = served();
    // The learner claimed a second credential with a wallet's fresh key.
    let wallet = env.keygen("wallet-2.key");
    let issue =
        ["issue", "course", "--issuer-key", env.issuer.path(), "--learner", &wallet.did, "--title", "Pipe Fitting"];
    let facts = ["--code", "PF-101", "--skills", "esco:piping=Piping", "--credits", "2", "--completed", "2026-01-15"];
    let second = env.ok(&[&issue[..], &facts, &["--emit"]].concat()).stdout.trim_end().to_owned();
    server.append(&second);

    let out = env.path("both.json");
    let args = ["--json", "share", "--learner-key", env.learner.path(), "--learner-key", wallet.path(), "--publish"];
    let answer = env.remote_ok(&server, &[&args[..], &["--out", out.to_str().unwrap()]].concat()).json();
    let link = answer["link"].as_str().expect("a link");
    let shown = page(&server, link);
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(shown.body.contains("data-verdict=\"VALID\""), "{}", shown.body);
    for title in ["Welding Basics", "Pipe Fitting"] {
        assert!(shown.body.contains(title), "{title}: {}", shown.body);
    }
    assert!(shown.body.contains(&wallet.did), "the page names the other did it was presented under");

    // POST /v1/verify checks each key's signature over the bundle as sent.
    let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let report = server.post("/v1/verify", bundle.to_string()).json();
    assert_eq!(report["verdict"], "VALID", "{report:#}");
    assert_eq!(report["credentials"].as_array().map(Vec::len), Some(2));
    let mut unproven = bundle.clone();
    unproven["holder_sigs"] = serde_json::json!({});
    let report = server.post("/v1/verify", unproven.to_string()).json();
    let failed: Vec<&Value> = report["checks"].as_array().unwrap().iter().filter(|c| c["ok"] == false).collect();
    assert_eq!(failed.len(), 1, "{report:#}");
    assert_eq!(failed[0]["name"], "learner.signature");
    assert!(failed[0]["detail"].as_str().unwrap().contains(&wallet.did), "{report:#}");
    // Nor is it published.
    let request = PublishRequest::signed(unproven, 7, now(), &learner_key(&env));
    let refused = server.post("/v1/shares", serde_json::to_string(&request).unwrap());
    let problem = assert_problem(&refused, 422, "bundle-invalid");
    assert!(problem["detail"].as_str().unwrap().contains("learner.signature"), "{problem}");

    // POST /v1/bundles names the field of a malformed holder, and refuses a did named twice.
    let malformed = serde_json::json!({"learner": env.learner.did, "holders": ["did:key:z6Mk"]});
    let problem = assert_problem(&server.post("/v1/bundles", malformed.to_string()), 422, "schema");
    assert!(problem["detail"].as_str().unwrap().starts_with("holders[0]: "), "{problem}");
    let twice = serde_json::json!({"learner": env.learner.did, "holders": [wallet.did, wallet.did]});
    let problem = assert_problem(&server.post("/v1/bundles", twice.to_string()), 422, "cannot-share");
    assert!(problem["detail"].as_str().unwrap().contains("named twice"), "{problem}");
    let many = serde_json::json!({"learner": env.learner.did, "holders": vec![&wallet.did; 16]});
    let problem = assert_problem(&server.post("/v1/bundles", many.to_string()), 422, "cannot-share");
    assert!(problem["detail"].as_str().unwrap().contains("at most 16"), "{problem}");

    // The log links nothing: no key link, each did's profile holds its own credential.
    assert!(server.all_records().iter().all(|r| r["event"]["kind"] != "learner.key_linked"));
    let profile = server.get(&format!("/v1/learners/{}/profile", env.learner.did)).json();
    assert_eq!(profile["credentials"].as_array().unwrap().iter().map(|c| &c["id"]).collect::<Vec<_>>(), [&first]);
}
