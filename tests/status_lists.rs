//! The issuing side of standard form 2, end to end against the real binary and server: a
//! credential issued over `--server` exports as an eddsa-rdfc-2022 Open Badges 3.0 credential
//! with the issuer's registered name and two BitstringStatusListEntry at the served public URL,
//! that the crate's own JSON-LD module canonicalizes in safe mode and verifies; a status index a
//! key already used is refused (409 duplicate-status-index), and so is a name that is not the
//! registered one; a form-1 (eddsa-jcs-2022) event still exports byte for byte as before.
//!
//! And the lists themselves: the server serves each key's list signed by that key while it is
//! the log's bits (the commands sign it with every issuance and status change), and a verifier's
//! list checks read it revoked, suspended and reinstated; a status change appended without its list
//! leaves the list 503 stale until `issuer sign-status-lists`; a signed list of other bits is
//! refused (alone, or with its atomic group) and changes nothing.

mod common;

use common::{Env, ISSUER_NAME};
use credledger::status_list::{Bitstring, KeyList, Purpose};
use credledger::{Did, SecretKey, jsonld, rdfc};
use serde_json::Value;

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
    let id = env.issue_course(&server, "Intro to Python");
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
    let first = env.issue_course(&server, "Welding I");
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
    let emitted = env.emit_form_1_course("Legacy");
    let event: Value = serde_json::from_str(&emitted).unwrap();
    assert!(event["body"].get("vc").is_none(), "{event}");
    let file = env.path("legacy.json");
    std::fs::write(&file, &emitted).unwrap();
    env.ok(&["submit", file.to_str().unwrap()]);
    let id = common::id_of(&emitted);
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

/// The list at `url` (under the server), checked: 200, JSON-LD, its id the URL, issued by `key`,
/// with an eddsa-rdfc-2022 proof by `key` that verifies; its bits.
fn served_list(server: &common::Server, url: &str, key: &Did) -> Bitstring {
    let path = url.strip_prefix(&server.url).expect("a list of this server");
    let answer = server.get(path);
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.media_type(), "application/ld+json", "{answer:?}");
    let list = answer.json();
    assert_eq!(list["id"], url);
    assert_eq!(list["issuer"], key.as_str());
    assert_eq!(list["proof"]["verificationMethod"], format!("{key}#{}", key.multibase()));
    assert_eq!(list["proof"]["created"], list["validFrom"]);
    let (doc, options, value) = split(&list);
    assert_eq!(rdfc::verify(&doc, &options, &value, key), Ok(()), "{list}");
    Bitstring::decode(list["credentialSubject"]["encodedList"].as_str().unwrap()).unwrap()
}

/// The credential's status list URL for `purpose` and its index.
fn status_place(vc: &Value, purpose: Purpose) -> (String, usize) {
    let entry = &vc["credentialStatus"][if purpose == Purpose::Revocation { 0 } else { 1 }];
    assert_eq!(entry["statusPurpose"], purpose.as_str());
    let url = entry["statusListCredential"].as_str().unwrap().to_owned();
    (url, entry["statusListIndex"].as_str().unwrap().parse().unwrap())
}

/// What a verifier reads for the credential's `purpose` entry (`vc::status_list`'s entry and
/// list checks, on the list fetched from the server): is the bit set?
fn verifier_reads(server: &common::Server, vc: &Value, purpose: Purpose) -> bool {
    let k = if purpose == Purpose::Revocation { 0 } else { 1 };
    let entry = credledger::vc::status_list::entry(&vc["credentialStatus"][k]).expect("a Bitstring entry");
    let url = vc["credentialStatus"][k]["statusListCredential"].as_str().unwrap();
    let list = server.get(url.strip_prefix(&server.url).unwrap()).json();
    let now = credledger::event::Timestamp::whole_seconds(time::OffsetDateTime::now_utc());
    let issuer = vc["issuer"]["id"].as_str().unwrap();
    credledger::vc::status_list::read(&entry, &list, issuer, &now).unwrap_or_else(|e| panic!("{e}: {list}"))
}

fn change(env: &Env, server: &common::Server, command: &str, id: &str) {
    env.remote_ok(server, &[command, "--issuer-key", env.issuer.path(), "--credential", id, "--reason", "Review"]);
}

#[test]
fn the_served_list_is_signed_by_the_credentials_key_and_a_verifier_follows_it() {
    let env = Env::new();
    let server = env.serve(&[]);
    let key = env.issuer.did();
    let revoked = env.issue_course(&server, "Intro to Python");
    let vc = server.get(&format!("/v1/credentials/{revoked}/vc")).json();
    let (revocation, index) = status_place(&vc, Purpose::Revocation);
    let (suspension, _) = status_place(&vc, Purpose::Suspension);
    // Issuing signed both lists: served, all clear.
    assert_eq!(served_list(&server, &revocation, &key).get(index), Some(false));
    assert_eq!(served_list(&server, &suspension, &key).get(index), Some(false));
    assert!(!verifier_reads(&server, &vc, Purpose::Revocation));

    change(&env, &server, "revoke", &revoked);
    assert_eq!(served_list(&server, &revocation, &key).get(index), Some(true));
    assert!(verifier_reads(&server, &vc, Purpose::Revocation));

    // Another credential of the same key: its own bit, in the same lists.
    let other = env.issue_course(&server, "Data Structures");
    let other_vc = server.get(&format!("/v1/credentials/{other}/vc")).json();
    let (url, other_index) = status_place(&other_vc, Purpose::Suspension);
    assert_eq!(url, suspension);
    change(&env, &server, "suspend", &other);
    let bits = served_list(&server, &suspension, &key);
    assert_eq!((bits.get(other_index), bits.get(index)), (Some(true), Some(false)));
    assert!(verifier_reads(&server, &other_vc, Purpose::Suspension));
    change(&env, &server, "reinstate", &other);
    assert_eq!(served_list(&server, &suspension, &key).get(other_index), Some(false));
    assert!(!verifier_reads(&server, &other_vc, Purpose::Suspension));
    assert!(!verifier_reads(&server, &other_vc, Purpose::Revocation));
    assert_eq!(served_list(&server, &revocation, &key).get(index), Some(true), "revoked is final");
}

#[test]
fn a_change_without_its_list_leaves_it_stale_until_sign_status_lists() {
    let env = Env::new();
    let server = env.serve(&[]);
    let key = env.issuer.did();
    let id = env.issue_course(&server, "Welding I");
    let vc = server.get(&format!("/v1/credentials/{id}/vc")).json();
    let (revocation, index) = status_place(&vc, Purpose::Revocation);
    let path = revocation.strip_prefix(&server.url).unwrap().to_owned();
    // A revocation signed elsewhere (`--emit`), appended alone: the list no longer is the log's.
    server.append(&env.emit_revoke(&id, "Issued in error"));
    let stale = server.get(&path);
    assert_eq!(stale.status, 503, "{stale:?}");
    assert_eq!(stale.media_type(), common::PROBLEM_JSON);
    assert!(stale.body.contains("status-list-stale") && stale.body.contains("sign-status-lists"), "{stale:?}");
    assert!(stale.retry_after.is_some(), "{stale:?}");
    let unsigned = server.get(&format!("{path}/unsigned")).json();
    assert_eq!(unsigned["current"], false);
    assert_eq!(unsigned["url"], revocation.as_str());
    let bits = Bitstring::decode(unsigned["encodedList"].as_str().unwrap()).unwrap();
    assert_eq!(bits.get(index), Some(true), "the bits the log implies now");
    // A list never signed is not found; a key with no such list neither.
    assert_eq!(server.get(&path.replace("/revocation/0", "/revocation/7")).status, 404);
    assert_eq!(server.get(&format!("{}/unsigned", path.replace("/revocation/0", "/revocation/7"))).status, 404);

    let out = env.remote_ok(&server, &["--json", "issuer", "sign-status-lists", "--key", env.issuer.path()]);
    assert_eq!(out.json()["signed"], 1, "only the revocation list was stale: {out:?}");
    assert_eq!(served_list(&server, &revocation, &key).get(index), Some(true));
    assert!(verifier_reads(&server, &vc, Purpose::Revocation));
    let again = env.remote_ok(&server, &["--json", "issuer", "sign-status-lists", "--key", env.issuer.path()]);
    assert_eq!(again.json()["signed"], 0, "nothing left to sign: {again:?}");
}

#[test]
fn a_list_of_other_bits_is_refused_alone_and_with_its_group() {
    let env = Env::new();
    let server = env.serve(&[]);
    let id = env.issue_course(&server, "Welding II");
    let vc = server.get(&format!("/v1/credentials/{id}/vc")).json();
    let (revocation, index) = status_place(&vc, Purpose::Revocation);
    let path = revocation.strip_prefix(&server.url).unwrap().to_owned();
    let key = key_of(&env);
    let signed_list = |bits: &Bitstring| {
        // An hour back: never the second the issuing command signed its lists at (the same bits
        // at the same time would be that very event, which the ledger answers as a repeat).
        let at =
            credledger::event::Timestamp::whole_seconds(time::OffsetDateTime::now_utc() - time::Duration::hours(1));
        let place = KeyList { base: &server.url, key: key.did(), purpose: Purpose::Revocation, list: 0 };
        let body = credledger::event::StatusListSigned {
            status_base: server.url.clone(),
            purpose: Purpose::Revocation,
            list: 0,
            proof_value: place.sign(bits, &at, &key).unwrap(),
            ledger: Some(common::ORIGIN.into()),
        };
        let event = credledger::Event::new(key.did().clone(), at, credledger::Payload::StatusListSigned(body));
        String::from_utf8(event.sign(&key, None).unwrap().canonical().to_vec()).unwrap()
    };
    let before = (server.get("/v1/ledger").json()["size"].clone(), server.get(&path).body);
    let mut lie =
        Bitstring::decode(server.get(&format!("{path}/unsigned")).json()["encodedList"].as_str().unwrap()).unwrap();
    lie.set(index, true);
    let refused = server.post_events(signed_list(&lie));
    assert_eq!(refused.status, 422, "{refused:?}");
    assert!(refused.body.contains("status-list-proof") && refused.body.contains("body.proof_value"), "{refused:?}");
    // The revocation with the list as it was before it (not what the revocation leaves): the
    // group is refused whole, and the credential stays active.
    let clear =
        Bitstring::decode(server.get(&format!("{path}/unsigned")).json()["encodedList"].as_str().unwrap()).unwrap();
    let revoke: Value = serde_json::from_str(&env.emit_revoke(&id, "Issued in error")).unwrap();
    let list: Value = serde_json::from_str(&signed_list(&clear)).unwrap();
    let group = server.post("/v1/events?atomic=true", serde_json::to_vec(&vec![revoke, list]).unwrap());
    let answer = group.json();
    assert_eq!((answer["appended"].as_u64(), answer["rejected"].as_u64()), (Some(0), Some(1)), "{group:?}");
    assert_eq!(answer["results"][0]["appended"], false, "{group:?}");
    assert_eq!(answer["results"][1]["status"], 422, "{group:?}");
    assert!(answer["results"][1]["type"].as_str().unwrap().ends_with("/status-list-proof"), "{group:?}");
    let after = (server.get("/v1/ledger").json()["size"].clone(), server.get(&path).body);
    assert_eq!(after, before, "the log and the served list are as they were");
    assert_eq!(server.get(&format!("/v1/credentials/{id}")).json()["status"]["state"], "active");
}
