//! The OpenAPI document against the real server: Schemathesis (a third-party API fuzzer, pinned
//! in tests/tools/schemathesis-requirements.txt and installed by `.ci/run` into
//! `target/schemathesis`) runs every one of its checks against `serve --demo` on 127.0.0.1:0,
//! with a bounded number of examples per operation. Any failure it reports fails this test:
//! undocumented statuses, schema-valid requests refused, schema-violating ones accepted, a wrong
//! answer to an undeclared method, a response that breaks its declared schema or content type.
//!
//! `CREDLEDGER_SCHEMATHESIS` names another schemathesis executable; `CREDLEDGER_FUZZ_SEED` and
//! `CREDLEDGER_FUZZ_EXAMPLES` vary the run (CI uses the defaults).

mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use common::*;

const DEFAULT_SEED: &str = "20261203";
const DEFAULT_EXAMPLES: &str = "25";

fn schemathesis() -> PathBuf {
    let path = std::env::var_os("CREDLEDGER_SCHEMATHESIS").map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target").join("schemathesis").join("bin").join("schemathesis")
    });
    assert!(
        path.exists(),
        "schemathesis is missing ({} does not exist): install the pinned version with \
         `python3 -m venv target/schemathesis && target/schemathesis/bin/pip install --require-hashes \
         -r tests/tools/schemathesis-requirements.txt` (.ci/run does)",
        path.display()
    );
    path
}

#[test]
fn schemathesis_finds_nothing_against_serve_demo() {
    let schemathesis = schemathesis();
    let env = demo_env();
    let server = env.serve(&["--demo", "--keys", "keys"]);

    // Real resources of the demo, so generated requests get past "no such learner".
    let learner = &env.learner.did;
    let profile = server.get(&format!("/v1/learners/{learner}/profile"));
    assert_eq!(profile.status, 200, "{profile:?}");
    let credential = profile.json()["credentials"][0]["id"].as_str().expect("a credential id").to_owned();
    let vc = server.get(&format!("/v1/credentials/{credential}/vc"));
    assert_eq!(vc.status, 200, "{vc:?}");
    let uuid = vc.json()["id"].as_str().and_then(|id| id.strip_prefix("urn:uuid:")).expect("a urn:uuid id").to_owned();
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/schemathesis.toml"))
        .expect("tests/tools/schemathesis.toml");
    let config = env.path("schemathesis.toml");
    let key = env.issuer.did().multibase().to_owned();
    let parameters = [
        ("path.did", learner.as_str()),
        ("body.learner", learner),
        ("path.id", &credential),
        ("path.uuid", &uuid),
        ("query.key", &key),
        ("path.key", &env.issuer.did),
    ]
    .map(|(name, value)| format!("\"{name}\" = \"{value}\"\n"))
    .concat();
    let parameters = format!("\n[parameters]\n{parameters}");
    std::fs::write(&config, committed + &parameters).expect("write the schemathesis config");

    let seed = std::env::var("CREDLEDGER_FUZZ_SEED").unwrap_or_else(|_| DEFAULT_SEED.to_owned());
    let examples = std::env::var("CREDLEDGER_FUZZ_EXAMPLES").unwrap_or_else(|_| DEFAULT_EXAMPLES.to_owned());
    let out = Command::new(&schemathesis)
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/openapi.json", server.url), "--checks", "all"])
        .args(["--max-examples", &examples, "--seed", &seed, "--workers", "1", "--no-color"])
        .args(["--request-timeout", "30", "--max-failures", "100"])
        .current_dir(env.tmp.path())
        .stdin(Stdio::null())
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", schemathesis.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found failures ({}):\n{stdout}\n{stderr}\nserver log:\n{}",
        out.status,
        server.log()
    );
    assert!(stdout.contains("No issues found") || stdout.contains("passed"), "{stdout}");
}
