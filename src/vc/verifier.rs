//! Verifying a standard credential whole: its proofs ([`super::proofs`]), its validity window, and
//! its status where the credential says it is kept: a W3C Bitstring Status List (the list
//! credential's own proof checked the same way, its issuer the credential's) or, for the
//! ledger's v1 form, a credledger ledger. Pure: whatever must be fetched (did:web documents,
//! status lists, v1 statuses) comes through [`Fetch`], which the caller implements (the CLI over
//! https, the server from its own log and its allowlist); offline nothing is fetched, and the
//! report says the status was not checked.

use std::collections::BTreeMap;

use serde_json::Value;

use super::credledger_status::{self, STATUS_TYPE, StatusReference};
use super::did::DidDocument;
use super::document::{self, quote};
use super::proofs::{self, Keys};
use super::report::{STATUS_CHECK, StatusFinding, VcCheck, VcIssuer, VcReport};
use super::status_list::{self, ENTRY_TYPE};
use crate::event::Timestamp;
use crate::id::Did;
use crate::projection::CredentialState;

/// The most `credentialStatus` entries read from one credential.
pub const MAX_STATUS_ENTRIES: usize = 4;

/// The most documents fetched for one verification (DID documents and status lists): a
/// credential must not make its verifier fetch without end.
pub const MAX_FETCHES: usize = 8;

/// What verification needs from elsewhere, fetched by the caller.
pub trait Fetch {
    /// The DID document of `did` (a did:web), as JSON, or why it could not be had.
    fn did_document(&mut self, did: &str) -> Result<Value, String>;
    /// The document at `url` (a status list credential), or why it could not be had.
    fn status_list(&mut self, url: &str) -> Result<Value, String>;
    /// The status a credledger ledger holds for a v1 credential.
    fn ledger_status(&mut self, reference: &StatusReference) -> StatusFinding;
}

/// Checks a credential's proofs and validity window offline: keys from did:key verification
/// methods, or `key` if given. The report has no status check: see [`check`].
pub fn verify(document: &Value, key: Option<&Did>, now: &Timestamp) -> VcReport {
    let mut session = Session { fetch: None, documents: BTreeMap::new(), lists: BTreeMap::new(), fetches: 0 };
    session.proofs_and_validity(document, key, now)
}

/// Checks a credential's proofs, validity window and status. `fetch` is `None` offline: did:web
/// keys are then unresolved (give `key`), and every status is reported not checked.
pub fn check(document: &Value, key: Option<&Did>, now: &Timestamp, fetch: Option<&mut dyn Fetch>) -> VcReport {
    let mut session = Session { fetch, documents: BTreeMap::new(), lists: BTreeMap::new(), fetches: 0 };
    let report = session.proofs_and_validity(document, key, now);
    if !report.is_valid() {
        return report.with_status(StatusFinding::NotChecked("not run: an earlier check failed".into()));
    }
    let findings = session.statuses(document, now);
    report.with_statuses(findings)
}

/// One verification's fetches, each made once.
struct Session<'f> {
    fetch: Option<&'f mut dyn Fetch>,
    documents: BTreeMap<String, Result<DidDocument, String>>,
    lists: BTreeMap<String, Result<Value, String>>,
    fetches: usize,
}

impl<'f> Session<'f> {
    fn proofs_and_validity(&mut self, document: &Value, key: Option<&Did>, now: &Timestamp) -> VcReport {
        let mut checks = Vec::new();
        let mut keys = Keys { given: key, resolve: &mut |did| self.did_document(did) };
        let signer = proofs::check(document, &mut keys, &mut checks);
        let window = document::window(document, now);
        checks.push(VcCheck {
            name: "credential.validity".into(),
            ok: window.is_ok(),
            ran: true,
            detail: window.unwrap_or_else(|e| e),
        });
        VcReport::of_checks(checks, signer, VcIssuer::of(document))
    }

    /// May one more document be fetched? Why not, if not.
    fn count_fetch(&mut self) -> Result<&mut (dyn Fetch + 'f), String> {
        if self.fetches >= MAX_FETCHES {
            return Err(format!("not fetched: a verification fetches at most {MAX_FETCHES} documents"));
        }
        self.fetches += 1;
        self.fetch.as_deref_mut().ok_or_else(|| "not fetched (offline)".to_owned())
    }

    fn did_document(&mut self, did: &str) -> Result<DidDocument, String> {
        if let Some(known) = self.documents.get(did) {
            return known.clone();
        }
        let document = if !did.starts_with("did:web:") {
            Err(format!("{} is of a DID method this verifier does not resolve (did:key, did:web)", quote(did)))
        } else if self.fetch.is_none() {
            Err(format!("{} is not resolved offline: give its key (--key)", quote(did)))
        } else {
            self.count_fetch()
                .and_then(|fetch| fetch.did_document(did))
                .and_then(|json| DidDocument::parse(did, &json))
                .map_err(|e| format!("resolving {}: {e}", quote(did)))
        };
        self.documents.insert(did.to_owned(), document.clone());
        document
    }

    fn status_list(&mut self, url: &str) -> Result<Value, String> {
        if let Some(known) = self.lists.get(url) {
            return known.clone();
        }
        let list = self.count_fetch().and_then(|fetch| fetch.status_list(url));
        self.lists.insert(url.to_owned(), list.clone());
        list
    }

    /// One finding per `credentialStatus` entry, each named for its check.
    fn statuses(&mut self, document: &Value, now: &Timestamp) -> Vec<(String, StatusFinding)> {
        let entries: Vec<&Value> = match document.get("credentialStatus") {
            None => return vec![(STATUS_CHECK.to_owned(), StatusFinding::NoStatus)],
            Some(Value::Array(list)) => list.iter().collect(),
            Some(one) => vec![one],
        };
        if entries.is_empty() || entries.len() > MAX_STATUS_ENTRIES {
            let why = format!(
                "credentialStatus lists {} entries; this verifier reads 1 to {MAX_STATUS_ENTRIES}",
                entries.len()
            );
            return vec![(STATUS_CHECK.to_owned(), StatusFinding::Unknown(why))];
        }
        let offline = self.fetch.is_none();
        let mut findings: Vec<(String, StatusFinding)> = Vec::new();
        for entry in entries {
            let (name, finding) = match entry.get("type").and_then(Value::as_str).unwrap_or_default() {
                STATUS_TYPE => match credledger_status::reference(entry, document) {
                    Err(why) => (STATUS_CHECK.to_owned(), StatusFinding::Unknown(why)),
                    Ok(r) if offline => (
                        STATUS_CHECK.to_owned(),
                        StatusFinding::NotChecked(format!("not checked (--offline): {}", r.url)),
                    ),
                    Ok(r) => match self.count_fetch() {
                        Ok(fetch) => (STATUS_CHECK.to_owned(), fetch.ledger_status(&r)),
                        Err(why) => (STATUS_CHECK.to_owned(), StatusFinding::Unknown(why)),
                    },
                },
                ENTRY_TYPE => match status_list::entry(entry) {
                    Err(why) => (STATUS_CHECK.to_owned(), StatusFinding::Unknown(why)),
                    Ok(e) => {
                        let name = format!("{STATUS_CHECK}.{}", e.purpose);
                        if offline {
                            (name, StatusFinding::NotChecked(format!("not checked (--offline): {}", e.locator())))
                        } else {
                            (name, self.bitstring(document, &e, now))
                        }
                    }
                },
                other => (
                    STATUS_CHECK.to_owned(),
                    StatusFinding::Unknown(format!(
                        "credentialStatus type `{}` is not one this verifier reads ({ENTRY_TYPE}, {STATUS_TYPE})",
                        quote(other)
                    )),
                ),
            };
            let taken = findings.iter().filter(|(n, _)| n == &name || n.starts_with(&format!("{name}["))).count();
            let name = if taken == 0 { name } else { format!("{name}[{taken}]") };
            findings.push((name, finding));
        }
        findings
    }

    /// The entry's status in the list it points at: the list fetched, its proof verified (the
    /// issuer's key, as for the credential), then read by [`status_list::read`].
    fn bitstring(&mut self, document: &Value, entry: &status_list::StatusEntry, now: &Timestamp) -> StatusFinding {
        let list = match self.status_list(&entry.list) {
            Ok(list) => list,
            Err(why) => return StatusFinding::Unknown(format!("{}: {why}", entry.list)),
        };
        let mut list_checks = Vec::new();
        let mut keys = Keys { given: None, resolve: &mut |did| self.did_document(did) };
        let signed = proofs::check(&list, &mut keys, &mut list_checks).is_some();
        if !signed {
            let failed =
                list_checks.iter().find(|c| !c.ok).map(|c| format!("{}: {}", c.name, c.detail)).unwrap_or_default();
            return StatusFinding::Unknown(format!(
                "{}: the status list's proof does not verify ({failed})",
                entry.list
            ));
        }
        let issuer = document::issuer_id(document).unwrap_or_default();
        match status_list::read(entry, &list, issuer, now) {
            Ok(set) => {
                let state = match (set, entry.purpose.as_str()) {
                    (false, _) => CredentialState::Active,
                    (true, "suspension") => CredentialState::Suspended,
                    (true, _) => CredentialState::Revoked,
                };
                StatusFinding::Found { state, decided_seq: None, signed_by: None, source: entry.locator() }
            }
            Err(why) => StatusFinding::Unknown(format!("{}: {why}", entry.list)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;
    use crate::vc::report::VcVerdict;
    use crate::vc::status_list::{Bitstring, MIN_ENTRIES};
    use serde_json::json;

    const ISSUER: &str = "did:web:college.example";
    const LIST: &str = "https://college.example/status/revocation";

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    fn key() -> SecretKey {
        SecretKey::from_seed(&[11; 32])
    }

    /// `doc` signed with eddsa-jcs-2022 by `key` under the verification method `method`.
    fn sign(doc: Value, key: &SecretKey, method: &str) -> Value {
        let mut options = json!({"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "created": "2026-01-01T00:00:00Z", "verificationMethod": method, "proofPurpose": "assertionMethod"});
        options["@context"] = doc["@context"].clone();
        let value = crate::vc::proof_value(&doc, &options, key).unwrap();
        crate::vc::secure(doc, options, &value)
    }

    fn credential(status: Value) -> Value {
        let mut doc = json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "id": "urn:uuid:3f2a0c1e-8b1d-4c55-9a7e-2f0d6c1b9e44", "type": ["VerifiableCredential"], "issuer": {"id": ISSUER, "type": ["Profile"], "name": "A College"}, "validFrom": "2026-01-01T00:00:00Z", "credentialSubject": {"id": "did:example:learner"}});
        if !status.is_null() {
            doc["credentialStatus"] = status;
        }
        sign(doc, &key(), &format!("{ISSUER}#key-1"))
    }

    fn entry(purpose: &str, index: usize) -> Value {
        json!({"id": format!("{LIST}#{index}"), "type": ENTRY_TYPE, "statusPurpose": purpose, "statusListIndex": index.to_string(), "statusListCredential": format!("{LIST}/{purpose}")})
    }

    fn list(purpose: &str, set: &[usize], signer: &SecretKey) -> Value {
        let mut bits = Bitstring::new(MIN_ENTRIES);
        for i in set {
            bits.set(*i, true);
        }
        let url = format!("{LIST}/{purpose}");
        let doc = status_list::list_credential(&url, ISSUER, purpose, &bits, "2026-01-01T00:00:00Z");
        sign(doc, signer, &format!("{ISSUER}#key-1"))
    }

    /// The web as a map of URL to document; counts what was asked.
    #[derive(Default)]
    struct Web {
        pages: BTreeMap<String, Value>,
        asked: Vec<String>,
    }

    impl Fetch for Web {
        fn did_document(&mut self, did: &str) -> Result<Value, String> {
            let url = crate::vc::did::web_document_url(did)?;
            self.status_list(&url)
        }
        fn status_list(&mut self, url: &str) -> Result<Value, String> {
            self.asked.push(url.to_owned());
            self.pages.get(url).cloned().ok_or_else(|| "unreachable".to_owned())
        }
        fn ledger_status(&mut self, reference: &StatusReference) -> StatusFinding {
            StatusFinding::Unknown(format!("{} not asked in these tests", reference.url))
        }
    }

    fn did_document(key: &SecretKey) -> Value {
        json!({"id": ISSUER, "verificationMethod": [{"id": "#key-1", "type": "Multikey", "controller": ISSUER, "publicKeyMultibase": key.did().multibase()}], "assertionMethod": ["#key-1"]})
    }

    fn web(revoked: &[usize], suspended: &[usize]) -> Web {
        let mut web = Web::default();
        web.pages.insert("https://college.example/.well-known/did.json".into(), did_document(&key()));
        web.pages.insert(format!("{LIST}/revocation"), list("revocation", revoked, &key()));
        web.pages.insert(format!("{LIST}/suspension"), list("suspension", suspended, &key()));
        web
    }

    fn failing(report: &VcReport) -> Vec<&str> {
        report.checks.iter().filter(|c| c.ran && !c.ok).map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn a_did_web_issuer_key_verifies_once_its_document_lists_it() {
        let doc = credential(Value::Null);
        let report = check(&doc, None, &now(), Some(&mut web(&[], &[])));
        assert_eq!(report.verdict, VcVerdict::Valid, "{report:?}");
        assert_eq!(report.signer.as_ref(), Some(key().did()));

        // Offline, did:web is not resolved.
        let offline = check(&doc, None, &now(), None);
        assert_eq!((offline.verdict, failing(&offline)), (VcVerdict::Invalid, vec!["proof.key"]), "{offline:?}");

        // The document lists the key only for authentication, or not at all, or is another DID's.
        let mut not_assertion = web(&[], &[]);
        let mut document = did_document(&key());
        document["assertionMethod"] = json!([]);
        not_assertion.pages.insert("https://college.example/.well-known/did.json".into(), document.clone());
        let report = check(&doc, None, &now(), Some(&mut not_assertion));
        assert!(
            report.checks.iter().any(|c| c.name == "proof.key" && c.detail.contains("not an assertionMethod")),
            "{report:?}"
        );
        document["id"] = "did:web:other.example".into();
        not_assertion.pages.insert("https://college.example/.well-known/did.json".into(), document);
        let report = check(&doc, None, &now(), Some(&mut not_assertion));
        assert!(report.checks.iter().any(|c| c.name == "proof.key" && c.detail.contains("not for")), "{report:?}");

        // A key of another DID, though it signed, is not the issuer's.
        let thief = SecretKey::from_seed(&[12; 32]);
        let mut stolen = doc.clone();
        stolen.as_object_mut().unwrap().remove("proof");
        let forged = sign(stolen, &thief, &format!("{}#{}", thief.did(), thief.did().multibase()));
        let report = check(&forged, None, &now(), Some(&mut web(&[], &[])));
        assert_eq!(failing(&report), vec!["proof.issuer"], "{report:?}");
        let binding = &report.checks.iter().find(|c| c.name == "proof.issuer").unwrap().detail;
        assert!(binding.contains("not an assertionMethod of the issuer") && binding.contains(thief.did().as_str()));
        assert_eq!(report.verdict, VcVerdict::Invalid);
        // A verification method of another did:web is not even read.
        let forged = sign(stolen_again(&doc), &thief, "did:web:evil.example#key-1");
        let mut web = web(&[], &[]);
        let report = check(&forged, None, &now(), Some(&mut web));
        let key = &report.checks.iter().find(|c| c.name == "proof.key").unwrap().detail;
        assert!(key.contains("not a key of the issuer"), "{report:?}");
        assert!(!web.asked.iter().any(|u| u.contains("evil")), "{:?}", web.asked);
    }

    fn stolen_again(doc: &Value) -> Value {
        let mut unsecured = doc.clone();
        unsecured.as_object_mut().unwrap().remove("proof");
        unsecured
    }

    /// From main's `vc::verify_with`: the issuer's resolved DID document decides which methods
    /// are its keys.
    #[test]
    fn a_resolver_plugs_in_the_issuers_assertion_methods() {
        let doc = credential(Value::Null);
        let report = check(&doc, None, &now(), Some(&mut web(&[], &[])));
        assert!(report.is_valid() && report.proved_by_issuer(), "{report:?}");
        assert_eq!(report.signer.as_ref(), Some(key().did()));
        // Offline, the did:web method is not resolved.
        assert_eq!(failing(&check(&doc, None, &now(), None))[0], "proof.key");
        // The issuer's key under a method the document does not list (its did:key) is not the
        // issuer's.
        let other = sign(stolen_again(&doc), &key(), &format!("{}#{}", key().did(), key().did().multibase()));
        assert_eq!(failing(&check(&other, None, &now(), Some(&mut web(&[], &[]))))[0], "proof.issuer");
        // Given, the key is the issuer's if the document lists it (under any method), and the
        // verifier's word if the document cannot be had.
        assert!(check(&other, Some(key().did()), &now(), Some(&mut web(&[], &[]))).is_valid());
        assert!(check(&other, Some(key().did()), &now(), None).is_valid());
        let stranger = SecretKey::from_seed(&[14; 32]);
        let forged = sign(stolen_again(&doc), &stranger, &format!("{ISSUER}#key-1"));
        let report = check(&forged, Some(stranger.did()), &now(), Some(&mut web(&[], &[])));
        assert_eq!(failing(&report), vec!["proof.issuer"], "{report:?}");
    }

    #[test]
    fn bitstring_entries_give_revoked_suspended_or_valid() {
        let doc = credential(json!([entry("revocation", 94567), entry("suspension", 94567)]));
        let cases: [(&[usize], &[usize], VcVerdict); 4] = [
            (&[], &[], VcVerdict::Valid),
            (&[94567], &[], VcVerdict::Revoked),
            (&[94566, 94568], &[94567], VcVerdict::Suspended),
            (&[94567], &[94567], VcVerdict::Revoked),
        ];
        for (revoked, suspended, verdict) in cases {
            let mut web = web(revoked, suspended);
            let report = check(&doc, None, &now(), Some(&mut web));
            assert_eq!(report.verdict, verdict, "{report:?}");
            let names: Vec<&str> =
                report.checks.iter().map(|c| c.name.as_str()).filter(|n| n.starts_with(STATUS_CHECK)).collect();
            assert_eq!(names, ["credential.status.revocation", "credential.status.suspension"]);
            // The DID document is fetched once for the credential and both lists.
            assert_eq!(web.asked.iter().filter(|u| u.ends_with("did.json")).count(), 1, "{:?}", web.asked);
        }
        let offline = check(&doc, Some(key().did()), &now(), None);
        assert_eq!(offline.verdict, VcVerdict::Valid, "{offline:?}");
        assert!(offline.status_unchecked());
        assert!(offline.checks.iter().any(|c| c.detail == format!("not checked (--offline): {LIST}/revocation#94567")));
    }

    #[test]
    fn a_list_that_cannot_be_trusted_is_status_unknown() {
        let doc = credential(json!(entry("revocation", 7)));
        let unknown = |web: &mut Web, why: &str| {
            let report = check(&doc, None, &now(), Some(web));
            assert_eq!(report.verdict, VcVerdict::StatusUnknown, "{report:?}");
            let detail = &report.checks.iter().find(|c| c.name == "credential.status.revocation").unwrap().detail;
            assert!(detail.contains(why), "want {why:?}: {detail}");
        };
        let mut unreachable = web(&[], &[]);
        unreachable.pages.remove(&format!("{LIST}/revocation"));
        unknown(&mut unreachable, "unreachable");
        let mut forged = web(&[], &[]);
        forged.pages.insert(format!("{LIST}/revocation"), list("revocation", &[], &SecretKey::from_seed(&[13; 32])));
        unknown(&mut forged, "the status list's proof does not verify");
        let mut tampered = web(&[], &[]);
        let mut cleared = list("revocation", &[7], &key());
        cleared["credentialSubject"]["encodedList"] = Bitstring::new(MIN_ENTRIES).encode().into();
        tampered.pages.insert(format!("{LIST}/revocation"), cleared);
        unknown(&mut tampered, "proof.signature");
        let mut swapped = web(&[], &[]);
        let other = swapped.pages[&format!("{LIST}/suspension")].clone();
        swapped.pages.insert(format!("{LIST}/revocation"), other);
        unknown(&mut swapped, "not the URL it was fetched from");
    }

    #[test]
    fn a_proof_set_verifies_only_whole_and_a_chain_is_refused() {
        let mut doc = credential(Value::Null);
        let first = doc["proof"].clone();
        let mut unsecured = doc.clone();
        unsecured.as_object_mut().unwrap().remove("proof");
        let second = sign(unsecured.clone(), &key(), &format!("{ISSUER}#key-1"))["proof"].clone();
        doc["proof"] = json!([first.clone(), second.clone()]);
        let report = check(&doc, None, &now(), Some(&mut web(&[], &[])));
        assert_eq!(report.verdict, VcVerdict::Valid, "{report:?}");
        assert!(report.checks.iter().any(|c| c.name == "proof[1].signature" && c.ok));

        let mut bad = second.clone();
        bad["created"] = "2026-01-02T00:00:00Z".into();
        doc["proof"] = json!([first.clone(), bad]);
        let report = check(&doc, None, &now(), Some(&mut web(&[], &[])));
        assert_eq!((report.verdict, failing(&report)), (VcVerdict::Invalid, vec!["proof[1].signature"]), "{report:?}");

        let mut chained = second;
        chained["previousProof"] = "urn:uuid:1".into();
        doc["proof"] = json!([first, chained]);
        let report = check(&doc, None, &now(), Some(&mut web(&[], &[])));
        assert_eq!(failing(&report), vec!["proof[1].chain"], "{report:?}");
        doc["proof"] = json!([]);
        assert_eq!(failing(&check(&doc, None, &now(), None)), vec!["proof.present"]);
    }

    #[test]
    fn a_credential_cannot_make_its_verifier_fetch_without_end() {
        let entries: Vec<Value> = (0..MAX_STATUS_ENTRIES + 1).map(|i| entry("revocation", i)).collect();
        let mut web = web(&[], &[]);
        let report = check(&credential(json!(entries)), None, &now(), Some(&mut web));
        assert_eq!(report.verdict, VcVerdict::StatusUnknown, "{report:?}");
        assert_eq!(web.asked.len(), 1, "only the DID document: {:?}", web.asked);

        // Entries pointing at as many different lists as allowed: each fetched once, no more.
        let entries: Vec<Value> = (0..MAX_STATUS_ENTRIES)
            .map(|i| json!({"type": ENTRY_TYPE, "statusPurpose": "revocation", "statusListIndex": "1", "statusListCredential": format!("{LIST}/{i}")}))
            .collect();
        let mut web = Web::default();
        web.pages.insert("https://college.example/.well-known/did.json".into(), did_document(&key()));
        let report = check(&credential(json!(entries)), None, &now(), Some(&mut web));
        assert_eq!(report.verdict, VcVerdict::StatusUnknown);
        assert!(web.asked.len() <= MAX_FETCHES, "{:?}", web.asked);
    }
}
