//! A `View` reads the committed ledger straight from its store; what it shows must equal what
//! the ledger's in-memory projections show.

use credledger::{Ledger, MemoryStore, SecretKey, demo};
use time::macros::datetime;

#[test]
fn views_from_the_store_equal_the_ledgers_projections() {
    let now = datetime!(2026-09-01 12:00 UTC);
    let operator = SecretKey::from_seed(&[1; 32]);
    let sample = demo::build(&operator, "view.test.example", [3; 32], now).unwrap();
    let mut ledger = Ledger::open(MemoryStore::new()).unwrap();
    ledger.sign_checkpoints_with(operator).unwrap();
    let values = sample.events.iter().map(|e| e.value().clone()).collect();
    assert!(ledger.append_values(values, now, true).iter().all(Result::is_ok));
    let view = ledger.view();

    let mut learners = 0;
    for (name, key) in &sample.keys {
        if !name.starts_with("learner-") {
            continue;
        }
        let from_view = serde_json::to_value(view.profile(key.did()).unwrap()).unwrap();
        // No member name twice (a strict reader refuses duplicates), and it reads back as a Profile.
        let text = serde_json::to_vec(&from_view).unwrap();
        credledger::canonical::parse_strict(&text).expect("profile JSON has no duplicate member names");
        let back: credledger::projection::Profile = serde_json::from_slice(&text).unwrap();
        assert_eq!(back, view.profile(key.did()).unwrap());
        let in_memory = serde_json::to_value(ledger.profile(key.did())).unwrap();
        assert_eq!(from_view, in_memory, "{name}");
        learners += 1;
        for credential in &ledger.profile(key.did()).credentials {
            let seen = view.credential(&credential.summary.id).unwrap().expect("credential in view");
            assert_eq!(Some(&seen.status), ledger.state().status.credential(&credential.summary.id).as_ref());
            assert_eq!(seen.record["seq"], credential.summary.seq);
        }
    }
    assert_eq!(learners, 12);
    let issuers: Vec<_> = ledger.state().registry.issuers().cloned().collect();
    assert_eq!(view.issuers().unwrap(), issuers);
    assert_eq!(issuers.len(), 4);
    // Someone the ledger has never seen has an empty profile, as of the same seq.
    let stranger = SecretKey::from_seed(&[99; 32]);
    let empty = view.profile(stranger.did()).unwrap();
    assert!(empty.credentials.is_empty());
    assert_eq!(empty.as_of_seq, Some(ledger.len() - 1));
}
