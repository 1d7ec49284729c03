//! The issuing side of standard form 2, end to end against the real binary and server: a
//! credential issued over `--server` exports as an eddsa-rdfc-2022 Open Badges 3.0 credential
//! with the issuer's registered name and two BitstringStatusListEntry at the served public URL,
//! that the crate's own JSON-LD module canonicalizes in safe mode and verifies; a status index a
//! key already used is refused (409 duplicate-status-index), and so is a name that is not the
//! registered one; a form-1 (eddsa-jcs-2022) event still exports byte for byte as before.

mod common;

use common::{Env, ISSUER_NAME};
use credledger::{Did, SecretKey, jsonld, rdfc};
use serde_json::Value;

fn issue_course(env: &Env, server: &common::Server, title: &str) -> String {
    let out = env.remote_ok(
        server,
        &[
            "issue",
            "course",
            "--issuer-key",
            env.issuer.path(),
            "--learner",
            &env.learner.did,
            "--title",
            title,
            "--code",
            "CS101",
            "--skills",
            "15-1252.00=Software Developers",
            "--credits",
            "3.5",
            "--completed",
            "2026-01-15",
        ],
    );
    out.first_line().to_owned()
}

/// Splits a secured credential into the document, its proof options and its proofValue.
fn split(vc: &Value) -> (Value, Value, String) {
    let mut doc = vc.clone();
    let mut options = doc.as_object_mut().unwrap().remove("proof").expect("a proof");
    let value = options.as_object_mut().unwrap().remove("proofValue").unwrap();
    (doc, options, value.as_str().unwrap().to_owned())
}

#[test]
fn an_issued_credential_exports_in_form_2_and_verifies_with_the_jsonld_module() {
    let env = Env::new();
    let server = env.serve(&["--public-url", "https://ledger.test.example/creds"]);
    let info = server.get("/v1/ledger").json();
    assert_eq!(info["public_url"], "https://ledger.test.example/creds");
    assert_eq!(info["operator"], env.operator.as_str());
    let id = issue_course(&env, &server, "Intro to Python");
    let vc = server.get(&format!("/v1/credentials/{id}/vc")).json();

    assert_eq!(vc["proof"]["cryptosuite"], rdfc::CRYPTOSUITE);
    assert!(vc["proof"].get("@context").is_none(), "{vc}");
    assert_eq!(vc["issuer"]["name"], ISSUER_NAME);
    assert_eq!(vc["issuer"]["id"], env.issuer.did.as_str());
    let entries = vc["credentialStatus"].as_array().expect("two entries");
    let purposes: Vec<&str> = entries.iter().map(|e| e["statusPurpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["revocation", "suspension"]);
    let index = entries[0]["statusListIndex"].as_str().unwrap();
    assert_eq!(entries[1]["statusListIndex"], index);
    let index: u32 = index.parse().unwrap();
    assert!(index < credledger::status_list::LIST_SIZE);
    for (entry, purpose) in entries.iter().zip(purposes) {
        assert_eq!(entry["type"], "BitstringStatusListEntry");
        let list = format!("https://ledger.test.example/creds/v1/status-lists/{}/{purpose}/0", env.issuer.did);
        assert_eq!(entry["statusListCredential"], list.as_str());
        assert_eq!(entry["id"], format!("{list}#{index}"));
    }

    // Every term is defined (safe mode), and the proof verifies over the canonical form.
    let canonical = jsonld::canonicalize(&split(&vc).0).expect("safe mode passes");
    assert!(!canonical.contains("issuer-dependent#"), "every term is defined by a context: {canonical}");
    let (doc, options, value) = split(&vc);
    let issuer: Did = env.issuer.did.parse().unwrap();
    assert_eq!(rdfc::verify(&doc, &options, &value, &issuer), Ok(()));
    let mut tampered = doc.clone();
    tampered["issuer"]["name"] = "Springfield Community Colleg".into();
    assert_eq!(rdfc::verify(&tampered, &options, &value, &issuer), Err(rdfc::RdfcError::Mismatch));

    // The CLR of the learner is signed by the operator with eddsa-rdfc-2022 too.
    let clr = server.get(&format!("/v1/learners/{}/clr", env.learner.did)).json();
    assert_eq!(clr["proof"]["cryptosuite"], rdfc::CRYPTOSUITE);
    let (doc, options, value) = split(&clr);
    assert_eq!(rdfc::verify(&doc, &options, &value, &env.operator), Ok(()));
}

#[test]
fn a_status_index_the_key_used_is_refused_and_so_is_another_name() {
    let env = Env::new();
    let server = env.serve(&[]);
    let first = issue_course(&env, &server, "Welding I");
    let taken = server.get(&format!("/v1/credentials/{first}/vc")).json();
    let index: u32 = taken["credentialStatus"][0]["statusListIndex"].as_str().unwrap().parse().unwrap();

    // A second credential signed for the same index (made with the library, as another tool might).
    let key = SecretKey::read_file(std::path::Path::new(env.issuer.path())).unwrap();
    let form = |name: &str, index: u32| credledger::event::StandardForm {
        form: 2,
        issuer_name: name.to_owned(),
        status_base: server.url.clone(),
        status_list: 0,
        status_index: index,
    };
    let course = |title: &str, form| {
        let payload = credledger::Payload::CourseCompleted(credledger::event::CourseCompleted {
            credential_uuid: uuid::Uuid::new_v4().to_string(),
            learner: env.learner.did.parse().unwrap(),
            title: title.into(),
            code: "WLD2".into(),
            skills: credledger::event::Skill::parse_list("51-4121.00"),
            credits: 3.0,
            completed_on: "2026-01-20".parse().unwrap(),
            ledger: Some(common::ORIGIN.into()),
            vc_proof: None,
            vc: Some(form),
        });
        let at = credledger::event::Timestamp::whole_seconds(time::OffsetDateTime::now_utc());
        let event = credledger::vc::attach_proof(credledger::Event::new(key.did().clone(), at, payload), &key).unwrap();
        String::from_utf8(event.sign(&key, None).unwrap().canonical().to_vec()).unwrap()
    };
    let before = server.get("/v1/ledger").json()["size"].clone();
    let reused = server.post_events(course("Welding II", form(ISSUER_NAME, index)));
    assert_eq!(reused.status, 409, "{}", reused.body);
    assert!(reused.body.contains("duplicate-status-index") && reused.body.contains(&first), "{}", reused.body);
    let renamed = server.post_events(course("Welding II", form("Springfield College", (index + 1) % 131_072)));
    assert_eq!(renamed.status, 422, "{}", renamed.body);
    assert!(renamed.body.contains("issuer-name") && renamed.body.contains(ISSUER_NAME), "{}", renamed.body);
    assert_eq!(server.get("/v1/ledger").json()["size"], before, "a refused event leaves the log as it was");
    // The same event with a free index and the registered name is accepted.
    let good = server.post_events(course("Welding II", form(ISSUER_NAME, (index + 1) % 131_072)));
    assert_eq!(good.status, 201, "{}", good.body);
}

#[test]
fn a_form_1_event_still_exports_byte_for_byte() {
    let env = Env::new();
    // A form-1 event, as every credential before form 2 was issued: the event stands alone
    // (`--emit` with --origin and no ledger in reach is still form 1).
    let alone = tempfile::tempdir().unwrap();
    let out = common::run_in(
        alone.path(),
        &[
            "--ledger",
            "nowhere",
            "issue",
            "course",
            "--issuer-key",
            env.issuer.path(),
            "--learner",
            &env.learner.did,
            "--title",
            "Legacy",
            "--code",
            "L1",
            "--skills",
            "15-1252.00",
            "--credits",
            "3",
            "--completed",
            "2026-01-15",
            "--origin",
            common::ORIGIN,
            "--emit",
        ],
    );
    assert_eq!(out.code, 0, "{out:?}");
    let event: Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert!(event["body"].get("vc").is_none(), "{event}");
    let file = env.path("legacy.json");
    std::fs::write(&file, out.stdout.trim()).unwrap();
    env.ok(&["submit", file.to_str().unwrap()]);
    let id = common::id_of(out.stdout.trim());
    let exported: Value = serde_json::from_str(&env.ok(&["export-vc", &id]).stdout).unwrap();
    // What form 1 always was: eddsa-jcs-2022 with the proof's @context, the private status URL.
    assert_eq!(exported["proof"]["cryptosuite"], "eddsa-jcs-2022");
    assert_eq!(exported["credentialStatus"]["type"], "CredledgerStatus");
    assert!(exported["issuer"].get("name").is_none());
    // Rebuilt from the event alone with the form-1 code path, byte for byte.
    let signed = credledger::SignedEvent::verify(event.clone()).unwrap();
    let rebuilt = credledger::vc::export(&signed.event).unwrap();
    assert_eq!(credledger::canonical::to_vec(&rebuilt).unwrap(), credledger::canonical::to_vec(&exported).unwrap());
    let credential = credledger::vc::open_badge(&signed.event).unwrap();
    let options = credledger::vc::proof_options(&credential, &signed.event.author, &signed.event.created_at);
    assert_eq!(
        exported["proof"]["proofValue"].as_str(),
        Some(credledger::vc::proof_value(&credential, &options, &key_of(&env)).unwrap().as_str())
    );
}

fn key_of(env: &Env) -> SecretKey {
    SecretKey::read_file(std::path::Path::new(env.issuer.path())).unwrap()
}
