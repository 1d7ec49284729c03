//! What the end-to-end tests share: running the real binary in a temporary directory ([`Env`],
//! [`run_in`]), and starting the real server on 127.0.0.1:0 ([`Server`]), learning its port from
//! its first stdout line, waiting (bounded) for `/healthz`, and killing it when dropped. No blind
//! sleeps: every wait is bounded by [`PATIENCE`].
#![allow(dead_code)]

pub mod agent;
pub mod pg;
pub mod tls;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use credledger::checkpoint::Checkpoint;
use credledger::event::CertificateAwarded;
use credledger::id::Hash32;
use credledger::merkle;
use credledger::{Did, Event, EventId, Payload, Record, SecretKey};
use serde_json::{Value, json};
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_credledger");
pub const ORIGIN: &str = "test.credledger.dev";
pub const ISSUER_NAME: &str = "Northside College";
pub const PROBLEM_JSON: &str = "application/problem+json";
/// How long any single wait in these tests may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(90);

// ---------------------------------------------------------------------------------------------
// The CLI
// ---------------------------------------------------------------------------------------------

/// What one run of the binary did.
#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    pub fn first_line(&self) -> &str {
        self.stdout.lines().next().unwrap_or_default()
    }
}

/// A key file and its did.
#[derive(Debug, Clone)]
pub struct KeyFile {
    pub path: PathBuf,
    pub did: String,
}

impl KeyFile {
    pub fn path(&self) -> &str {
        self.path.to_str().expect("a utf-8 path")
    }

    pub fn did(&self) -> Did {
        self.did.parse().expect("a did")
    }
}

/// A temporary directory with a ledger (`ledger/`, genesis at seq 0 and one registered issuer
/// at seq 1), the issuer's key and a learner's key.
pub struct Env {
    pub tmp: TempDir,
    pub operator: Did,
    pub issuer: KeyFile,
    pub learner: KeyFile,
}

/// Records a fresh ledger holds: the genesis event and the issuer's registration.
pub const SETUP_RECORDS: u64 = 2;

impl Env {
    pub fn new() -> Env {
        let tmp = tempfile::tempdir().expect("temp dir");
        let init = run_in(tmp.path(), &["--ledger", "ledger", "init", "--origin", ORIGIN]);
        assert_eq!(init.code, 0, "init: {init:?}");
        let operator = init.first_line().parse().unwrap_or_else(|e| panic!("init printed no did ({e:?}): {init:?}"));
        let issuer = keygen_in(tmp.path(), "issuer.key");
        let learner = keygen_in(tmp.path(), "learner.key");
        let env = Env { tmp, operator, issuer, learner };
        env.ok(&["issuer", "register", "--name", ISSUER_NAME, "--key", &env.issuer.did]);
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    pub fn ledger(&self) -> String {
        self.path("ledger").to_str().expect("a utf-8 path").to_owned()
    }

    /// Runs `credledger ARGS` in the temp dir (whose `ledger/` is the default ledger directory).
    pub fn run(&self, args: &[&str]) -> Output {
        run_in(self.tmp.path(), args)
    }

    /// Runs `credledger --ledger <tmp>/ledger ARGS` and asserts success.
    pub fn ok(&self, args: &[&str]) -> Output {
        let ledger = self.ledger();
        let mut all = vec!["--ledger", &ledger];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert_eq!(out.code, 0, "credledger {all:?} failed: {out:?}");
        out
    }

    /// Runs `credledger --server URL ARGS` (no `--ledger`).
    pub fn remote(&self, server: &Server, args: &[&str]) -> Output {
        let mut all = vec!["--server", &server.url];
        all.extend_from_slice(args);
        self.run(&all)
    }

    pub fn remote_ok(&self, server: &Server, args: &[&str]) -> Output {
        let out = self.remote(server, args);
        assert_eq!(out.code, 0, "credledger --server {} {args:?} failed: {out:?}", server.url);
        out
    }

    pub fn keygen(&self, name: &str) -> KeyFile {
        keygen_in(self.tmp.path(), name)
    }

    /// A course credential for the learner, signed by `key` with the CLI's `--emit`: one line of
    /// canonical JSON.
    pub fn emit_course(&self, key: &KeyFile, title: &str) -> String {
        let out = self.ok(&[
            "issue",
            "course",
            "--issuer-key",
            key.path(),
            "--learner",
            &self.learner.did,
            "--title",
            title,
            "--code",
            "WLD-101",
            "--skills",
            "esco:welding=Welding,onet:51-4121",
            "--credits",
            "3",
            "--completed",
            "2026-01-15",
            "--emit",
        ]);
        let line = out.stdout.trim_end();
        assert_eq!(line.lines().count(), 1, "--emit prints one line: {out:?}");
        line.to_owned()
    }

    /// A form-1 course credential event (eddsa-jcs-2022, the private status), as every credential
    /// before form 2 was issued: `--emit --origin` with no ledger in reach. One line of JSON.
    pub fn emit_form_1_course(&self, title: &str) -> String {
        let alone = tempfile::tempdir().expect("temp dir");
        let mut args = vec!["--ledger", "nowhere"];
        args.extend(self.course(title));
        args.extend(["--origin", ORIGIN, "--emit"]);
        let out = run_in(alone.path(), &args);
        assert_eq!(out.code, 0, "{out:?}");
        out.stdout.trim().to_owned()
    }

    /// `issue course` of a course named `title` to the learner, by the issuer: the arguments.
    fn course<'a>(&'a self, title: &'a str) -> Vec<&'a str> {
        let learner = self.learner.did.as_str();
        let course = ["issue", "course", "--issuer-key", self.issuer.path(), "--learner", learner, "--title", title];
        let facts = ["--code", "CS101", "--skills", "15-1252.00=Software Developers"];
        [&course[..], &facts, &["--credits", "3.5", "--completed", "2026-01-15"]].concat()
    }

    /// A revocation of `credential`, signed by the issuer with `--emit`.
    pub fn emit_revoke(&self, credential: &str, reason: &str) -> String {
        let out = self.ok(&[
            "revoke",
            "--issuer-key",
            self.issuer.path(),
            "--credential",
            credential,
            "--reason",
            reason,
            "--emit",
        ]);
        out.stdout.trim_end().to_owned()
    }

    /// Starts `credledger --ledger <tmp>/ledger serve --addr 127.0.0.1:0 EXTRA`.
    pub fn serve(&self, extra: &[&str]) -> Server {
        Server::start(self, extra)
    }

    /// Starts `serve --addr 127.0.0.1:PORT --public-url http://127.0.0.1:PORT` on a free port:
    /// what credentials issued through it point their status lists at is where it answers.
    pub fn serve_at_public_url(&self) -> Server {
        let addr = format!("127.0.0.1:{}", free_port());
        let public_url = format!("http://{addr}");
        let server = self.serve(&["--addr", &addr, "--public-url", &public_url]);
        assert_eq!(server.url, public_url);
        server
    }

    /// Issues a course credential to the learner over `--server` (so it is standard form 2, its
    /// key's lists signed with it): its id.
    pub fn issue_course(&self, server: &Server, title: &str) -> String {
        self.remote_ok(server, &self.course(title)).first_line().to_owned()
    }
}

/// The first line a child prints on its piped stdout (waiting at most [`PATIENCE`]); the rest is
/// drained, so the child never writes to a closed pipe.
pub fn first_line(child: &mut Child) -> String {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let _ = reader.read_line(&mut line);
        let _ = tx.send(line);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    rx.recv_timeout(PATIENCE).unwrap_or_default()
}

/// A loopback port free now (bound, then released for a server to bind).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Runs `credledger ARGS` in `dir`, with no ledger or server from the environment.
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env_remove("CREDLEDGER_DIR")
        .env_remove("CREDLEDGER_SERVER")
        .stdin(Stdio::null())
        .output()
        .expect("run credledger");
    Output {
        code: out.status.code().expect("exited, not killed by a signal"),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Writes a new key file `dir/name`.
pub fn keygen_in(dir: &Path, name: &str) -> KeyFile {
    let path = dir.join(name);
    let out = run_in(dir, &["keygen", "--out", path.to_str().expect("a utf-8 path")]);
    assert_eq!(out.code, 0, "keygen: {out:?}");
    KeyFile { path, did: out.first_line().to_owned() }
}

/// The id of a signed event given as its canonical JSON text (as `--emit` prints it).
pub fn id_of(event: &str) -> String {
    EventId::of_canonical(event.as_bytes()).to_string()
}

/// `n` distinct certificates for `learner`, for the log [`ORIGIN`], signed by the key in
/// `key_file` with the library: `(canonical JSON, id)` each. `batch` keeps the credential uuids of
/// different calls apart.
pub fn certificates(key_file: &Path, learner: &Did, batch: u32, n: usize) -> Vec<(String, String)> {
    let key = SecretKey::read_file(key_file).expect("read the issuer key");
    (0..n)
        .map(|i| {
            // From JSON, so optional fields added to the body later need no change here.
            let body: CertificateAwarded = serde_json::from_value(json!({
                "credential_uuid": format!("{batch:08x}-0000-4000-8000-{i:012x}"),
                "learner": learner,
                "title": format!("Forklift Safety {batch}.{i}"),
                "skills": [{"id": "esco:forklift", "label": "Forklift operation"}],
                "awarded_on": "2026-02-01",
                "ledger": ORIGIN,
            }))
            .expect("a certificate body");
            let payload = Payload::CertificateAwarded(body);
            let created_at = "2026-05-01T12:00:00Z".parse().expect("a timestamp");
            let signed = Event::new(key.did().clone(), created_at, payload).sign(&key, None).expect("sign");
            let text = String::from_utf8(signed.canonical().to_vec()).expect("utf-8 JSON");
            (text, signed.id().to_string())
        })
        .collect()
}

/// `event` with `body.<field>` set to `value` (or removed, for `Value::Null`), signature kept.
pub fn with_body_field(event: &str, field: &str, value: Value) -> String {
    let mut v: Value = serde_json::from_str(event).expect("an event");
    let body = v["body"].as_object_mut().expect("a body");
    if value.is_null() {
        assert!(body.remove(field).is_some(), "no body.{field} in {event}");
    } else {
        body.insert(field.to_owned(), value);
    }
    v.to_string()
}

/// `event`, a credential `key` signed, with the standard proof of `other` (another credential
/// of `key`'s) as its `body.vc_proof`, signed again by `key`: its `sig` verifies, its standard
/// proof does not.
pub fn with_proof_of(event: &str, other: &str, key: &KeyFile) -> String {
    let mut value: Value = serde_json::from_str(event).expect("an event");
    let other: Value = serde_json::from_str(other).expect("an event");
    value["body"]["vc_proof"] = other["body"]["vc_proof"].clone();
    let unsigned = credledger::SignedEvent::from_stored(value).expect("an event's types").event;
    let key = credledger::SecretKey::read_file(&key.path).expect("the key file");
    unsigned.sign(&key, None).expect("sign").value().to_string()
}

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

/// A running `credledger serve`; dropping it kills the process.
pub struct Server {
    pub child: Child,
    pub url: String,
    pub agent: ureq::Agent,
    pub stderr: PathBuf,
}

/// One HTTP answer, read whole.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub content_type: String,
    /// The `connection` header, if any.
    pub connection: Option<String>,
    /// The `retry-after` header, if any.
    pub retry_after: Option<String>,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("the body is not JSON ({e}): {self:?}"))
    }

    /// The media type, without parameters.
    pub fn media_type(&self) -> &str {
        self.content_type.split(';').next().unwrap_or_default().trim()
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into()
}

impl Server {
    /// Starts the server on 127.0.0.1:0, unless `extra` names its `--addr`.
    pub fn start(env: &Env, extra: &[&str]) -> Server {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let stderr = env.path(&format!("serve-{}.log", STARTED.fetch_add(1, Ordering::Relaxed)));
        let ledger = env.ledger();
        let addr: &[&str] = if extra.contains(&"--addr") { &[] } else { &["--addr", "127.0.0.1:0"] };
        let child = Command::new(BIN)
            .args(["--ledger", &ledger, "serve"])
            .args(addr)
            .args(extra)
            .current_dir(env.tmp.path())
            .env_remove("CREDLEDGER_DIR")
            .env_remove("CREDLEDGER_SERVER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).expect("create the server's log file"))
            .spawn()
            .expect("spawn credledger serve");
        // From here on the guard owns the process: a failed assertion still kills it.
        let mut server = Server { child, url: String::new(), agent: agent(), stderr };
        let line = first_line(&mut server.child);
        let Some(url) = line.trim_end().strip_prefix("listening on ") else {
            panic!("the server's first line is not `listening on URL`: {line:?}; stderr: {}", server.log());
        };
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        server.url = url.to_owned();
        server.wait_until_healthy();
        server
    }

    /// The last lines the server logged (for failure messages).
    pub fn log(&self) -> String {
        let text = fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    pub fn wait_until_healthy(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(r) = self.agent.get(format!("{}/healthz", self.url)).call()
                && r.status() == 200
            {
                return;
            }
            assert!(Instant::now() < deadline, "/healthz never answered 200; stderr: {}", self.log());
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits (bounded) for the process to exit.
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "the server did not exit; stderr: {}", self.log());
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn read(response: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Result<Resp, ureq::Error> {
        let mut response = response?;
        let status = response.status().as_u16();
        let content_type =
            response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let header = |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let connection = header("connection").map(|v| v.to_ascii_lowercase());
        let retry_after = header("retry-after");
        let body = response.body_mut().with_config().limit(64 << 20).read_to_string()?;
        Ok(Resp { status, content_type, connection, retry_after, body })
    }

    pub fn get(&self, path: &str) -> Resp {
        Self::read(self.agent.get(format!("{}{path}", self.url)).call())
            .unwrap_or_else(|e| panic!("GET {path}: {e}; stderr: {}", self.log()))
    }

    pub fn try_post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<Resp, ureq::Error> {
        Self::read(agent.post(url).header("content-type", "application/json").send(body))
    }

    pub fn post(&self, path: &str, body: impl AsRef<[u8]>) -> Resp {
        Self::try_post(&self.agent, &format!("{}{path}", self.url), body.as_ref())
            .unwrap_or_else(|e| panic!("POST {path}: {e}; stderr: {}", self.log()))
    }

    /// POST /v1/events.
    pub fn post_events(&self, body: impl AsRef<[u8]>) -> Resp {
        self.post("/v1/events", body)
    }

    /// Appends one event that must be new: its seq.
    pub fn append(&self, event: &str) -> u64 {
        let r = self.post_events(event);
        assert_eq!(r.status, 201, "{r:?}");
        r.json()["seq"].as_u64().expect("a seq")
    }

    /// The latest checkpoint, checked against the operator's key.
    pub fn checkpoint(&self, operator: &Did) -> (Checkpoint, String) {
        let r = self.get("/v1/checkpoint");
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.media_type(), "text/plain", "{r:?}");
        let checkpoint = Checkpoint::verify(&r.body, operator).unwrap_or_else(|e| panic!("{e}: {}", r.body));
        assert_eq!(checkpoint.origin, ORIGIN);
        (checkpoint, r.body)
    }

    /// The log's size, as the latest checkpoint states it.
    pub fn size(&self, operator: &Did) -> u64 {
        self.checkpoint(operator).0.size
    }

    /// Every record, page by page.
    pub fn all_records(&self) -> Vec<Value> {
        let mut records = Vec::new();
        loop {
            let r = self.get(&format!("/v1/events?from={}&limit=1000", records.len()));
            assert_eq!(r.status, 200, "{r:?}");
            let page = r.json().as_array().expect("an array").clone();
            if page.is_empty() {
                return records;
            }
            records.extend(page);
        }
    }

    pub fn metrics(&self) -> String {
        let r = self.get("/metrics");
        assert_eq!(r.status, 200, "{r:?}");
        assert_eq!(r.media_type(), "text/plain", "{r:?}");
        r.body
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Asserts that `r` is an `application/problem+json` answer with this status and reason code;
/// returns the problem.
#[track_caller]
pub fn assert_problem(r: &Resp, status: u16, code: &str) -> Value {
    assert_eq!(r.status, status, "{r:?}");
    assert_eq!(r.media_type(), PROBLEM_JSON, "{r:?}");
    let problem = r.json();
    let kind = problem["type"].as_str().unwrap_or_else(|| panic!("no type: {r:?}"));
    assert!(kind.ends_with(&format!("/problems/{code}")), "type {kind}, want …/problems/{code}: {r:?}");
    assert_eq!(problem["status"], status, "{r:?}");
    assert!(problem["title"].as_str().is_some_and(|t| !t.is_empty()), "{r:?}");
    assert!(problem["detail"].as_str().is_some_and(|d| !d.is_empty()), "{r:?}");
    problem
}

/// The value of the metric line `name` (with its labels, e.g. `x{reason="y"}`), if present.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .map(|value| value.trim().parse().unwrap_or_else(|e| panic!("{name}: {value:?}: {e}")))
}

pub fn hash(value: &Value) -> Hash32 {
    value.as_str().expect("a hex hash").parse().expect("64 hex")
}

pub fn hashes(value: &Value) -> Vec<Hash32> {
    value.as_array().expect("a path").iter().map(hash).collect()
}

/// The Merkle leaf of a record as `GET /v1/events` returns it, computed here.
pub fn leaf_of(record: &Value) -> Hash32 {
    let record = Record::from_stored(&serde_json::to_vec(record).expect("bytes")).expect("a record");
    merkle::leaf_hash(&record.canonical())
}

/// The event id of a record as `GET /v1/events` or `log --json` returns it.
pub fn record_id(record: &Value) -> String {
    let record = Record::from_stored(&serde_json::to_vec(record).expect("bytes")).expect("a record");
    record.event.id().to_string()
}

// ---------------------------------------------------------------------------------------------
// The demo ledger (the HTTP surface tests)
// ---------------------------------------------------------------------------------------------

/// A temporary directory with the demo's ledger (`credledger demo --keys keys`), as `serve --demo`
/// serves it: `issuer` is its first college's key, `learner` its featured learner's.
pub fn demo_env() -> Env {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = run_in(tmp.path(), &["--ledger", "ledger", "demo", "--keys", "keys"]);
    assert_eq!(out.code, 0, "demo: {out:?}");
    let key_file = |path: PathBuf| {
        let did = SecretKey::read_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).did().to_string();
        KeyFile { path, did }
    };
    let operator = key_file(tmp.path().join("ledger").join("operator.key")).did();
    let issuer = key_file(tmp.path().join("keys").join("lakeside-college-2026.key"));
    let learner = key_file(tmp.path().join("keys").join("learner-01.key"));
    Env { tmp, operator, issuer, learner }
}
pub mod elsewhere;
pub mod node;
pub mod site;
