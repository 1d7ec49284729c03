//! The Node projects the tests run as referees: the field's verifiers in `tests/interop/` and the
//! third-party OID4VCI wallet in `tests/oid4vci/`, each installed from its committed lockfile by
//! `.ci/run` (`npm ci --ignore-scripts` there).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// `tests/NAME/`, the Node project of that name.
pub fn project(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join(name)
}

/// Whether `tests/NAME/` has its packages installed (`package` is one of them).
pub fn installed(name: &str, package: &str) -> bool {
    project(name).join("node_modules").join(package).exists()
}

/// `tests/interop/`, with its packages installed.
pub fn interop_dir() -> PathBuf {
    let dir = project("interop");
    assert!(
        installed("interop", "@digitalbazaar/vc"),
        "the Node referees are not installed: run `npm ci --ignore-scripts` in {} (.ci/run does)",
        dir.display()
    );
    dir
}

/// What one run of a Node script did.
#[derive(Debug)]
pub struct NodeRun {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `node SCRIPT ARGS` in `dir`, trusting the test CA if any.
pub fn run(dir: &Path, script: &str, args: &[&str], ca: Option<&Path>) -> NodeRun {
    let mut command = Command::new("node");
    command.arg(script).args(args).current_dir(dir).stdin(Stdio::null());
    if let Some(ca) = ca {
        command.env("NODE_EXTRA_CA_CERTS", ca);
    }
    let out = command.output().unwrap_or_else(|e| panic!("running node {script}: {e} (is Node.js installed?)"));
    NodeRun {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs `node SCRIPT ARGS` in `tests/interop/`, trusting the test CA if any; its stdout.
pub fn interop(script: &str, args: &[&str], ca: Option<&Path>) -> String {
    let out = run(&interop_dir(), script, args, ca);
    assert!(out.ok, "node {script} {args:?} failed:\n{}\n{}", out.stdout, out.stderr);
    out.stdout
}

/// Contexts our exports use that the referees' packages do not carry: served to their loaders
/// from our pinned copies (`src/jsonld/contexts/`), as the published URL would answer.
const PINNED_CONTEXTS: [(&str, &str); 1] =
    [("https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json", "clr-v2p0-2.0.1.json")];

/// The interop referees' verdicts on each file, in order (`verify.mjs`).
pub fn referees(files: &[&Path], origins: &[&str], ca: Option<&Path>) -> Vec<Value> {
    let mut args: Vec<String> = origins.iter().flat_map(|o| ["--origin".to_owned(), (*o).to_owned()]).collect();
    let contexts = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join("jsonld").join("contexts");
    for (url, file) in PINNED_CONTEXTS {
        args.extend(["--context".to_owned(), format!("{url}={}", contexts.join(file).display())]);
    }
    args.extend(files.iter().map(|f| f.to_str().expect("utf-8").to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = interop("verify.mjs", &args, ca);
    out.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
}
