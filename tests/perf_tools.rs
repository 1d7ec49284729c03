//! The tools behind the benchmarks: `gen-events` writes the same signed events for the same
//! seed, and every one of them is accepted; `bench` measures every row it promises; a short `load`
//! run mixes every kind of request, loses nothing and audits clean. (No test asserts a time.)

use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_credledger");

fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).current_dir(dir).output().expect("run credledger");
    assert!(out.status.success(), "credledger {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn gen_events_is_deterministic_and_every_event_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["init", "--origin", "gen.test.example"]);
    ok(d, &["gen-events", "--count", "2500", "--seed", "5", "--out", "a.jsonl"]);
    ok(d, &["gen-events", "--count", "2500", "--seed", "5", "--out", "b.jsonl"]);
    ok(d, &["gen-events", "--count", "2500", "--seed", "6", "--out", "c.jsonl"]);
    let read = |f: &str| std::fs::read_to_string(d.join(f)).unwrap();
    assert_eq!(read("a.jsonl"), read("b.jsonl"));
    assert_ne!(read("a.jsonl"), read("c.jsonl"));
    assert_eq!(read("a.jsonl").lines().count(), 2500);
    let report: Value = serde_json::from_str(&ok(d, &["--json", "submit", "a.jsonl"])).unwrap();
    assert_eq!((report["appended"].as_u64(), report["rejected"].as_u64()), (Some(2500), Some(0)));
    let kinds: std::collections::BTreeSet<String> = read("a.jsonl")
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "issuer.registered",
        "credential.course_completed",
        "credential.certificate_awarded",
        "credential.revoked",
        "issuer.key_added",
    ] {
        assert!(kinds.contains(kind), "{kind}: {kinds:?}");
    }
    assert!(ok(d, &["audit"]).contains("audit passed: 2501 records"));
}

#[test]
fn bench_measures_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let report: Value = serde_json::from_str(&ok(dir.path(), &["--json", "bench", "--events", "1500"])).unwrap();
    let names: Vec<&str> = report["rows"].as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    for expected in [
        "raw Ed25519 verify",
        "durable bulk appends (sled, all checks): events",
        "durable bulk appends: signatures verified",
        "rebuild",
        "audit: signatures verified",
        "bundle verification, 20",
        "POST /v1/events",
    ] {
        assert!(names.iter().any(|n| n.starts_with(expected)), "{expected} missing from {names:?}");
    }
    for row in report["rows"].as_array().unwrap() {
        assert!(row["value"].as_f64().unwrap() > 0.0, "{row}");
    }
}

#[test]
fn a_short_load_test_mixes_every_kind_of_request_loses_nothing_and_audits_clean() {
    let dir = tempfile::tempdir().unwrap();
    let report: Value = serde_json::from_str(&ok(dir.path(), &["--json", "load", "--seconds", "2"])).unwrap();
    let kinds = report["kinds"].as_array().expect("kinds");
    assert_eq!(kinds.len(), 3, "{report}");
    for kind in kinds {
        assert!(kind["requests"].as_u64() > Some(0), "{kind} made no request");
        assert_eq!(kind["failed"], 0, "{kind}");
        assert!(kind["p99_ms"].as_f64() >= kind["p50_ms"].as_f64(), "{kind}");
    }
    assert!(report["acknowledged"].as_u64() > Some(0), "{report}");
    for zero in ["lost", "misplaced", "audit_problems"] {
        assert_eq!(report[zero], 0, "{zero}: {report}");
    }
    // The warm-up's 200 events per appender, the genesis, and every acknowledged append.
    assert!(report["records"].as_u64() >= report["acknowledged"].as_u64().map(|a| a + 401), "{report}");
}
