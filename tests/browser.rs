//! A browser test of the pages people use: the employer's verification page (`/verify`) and a
//! learner's profile page (`/learners/{did}`). The real binary fills a demo ledger, shares the
//! featured learner's bundle and serves the ledger; Debian's Chromium, driven headless through
//! ChromeDriver's W3C WebDriver HTTP API, pastes, uploads and drops bundles, clicks and tabs
//! through the page, and reads what it shows.
//!
//! Needs `chromium` and `chromium-driver` (Debian packages: /usr/bin/chromium and
//! /usr/bin/chromedriver). Without them the test fails, it does not skip. Every wait is bounded;
//! the server, ChromeDriver and the browser session are ended by guards, also on a failure.
//! PNG screenshots of what the browser showed are kept under target/browser-screenshots (or
//! `CREDLEDGER_SCREENSHOTS=DIR`), at 1280 px and at a phone's 390 px.
//!
//! axe-core, the accessibility referee, judges every page at both widths: the front door, the
//! 404 page, `/verify` empty and with a VALID and an INVALID verdict, the learner page and a share
//! link. It comes from tests/browser/node_modules (`npm ci` in tests/browser; `.ci/run` does it)
//! and is injected into the page through WebDriver, never served by credledger, so the strict CSP
//! stays as it is. The test fails listing every violation: page, width, rule, impact, target.
//!
//! The issuer agent's claim page (`/claim/{offer}`) is judged the same way, behind a real `serve`
//! and `agent` (`tests/common/agent.rs`), at both widths.

use std::fs::{self, File};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

mod common;

use base64::Engine as _;
use serde_json::{Value, json};
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_credledger");
const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";
const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";
/// Between two looks while polling; the only sleep in this test.
const POLL: Duration = Duration::from_millis(100);
/// How long the server, ChromeDriver or a verdict may take, on a busy two-core machine.
const STARTUP: Duration = Duration::from_secs(30);
const VERDICT: Duration = Duration::from_secs(15);
/// axe-core, installed by `npm ci` in tests/browser (the version pinned in its package-lock.json).
const AXE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/node_modules/axe-core/axe.min.js");
/// Runs axe-core on the whole page, with every folded `<details>` unfolded (what a reader can
/// open is judged too, then folded again); answers each violation's rule, impact and elements.
/// Every rule axe-core runs by default (WCAG 2.x A and AA, best practices), and the enhanced
/// (AAA, 7:1) text contrast too: the stylesheet promises high contrast, and a verdict's words in
/// green or red are read on paper and on phones in daylight.
const AXE_RUN: &str = "
    const done = arguments[arguments.length - 1];
    const folded = [...document.querySelectorAll('details:not([open])')];
    folded.forEach((d) => { d.open = true; });
    axe.run(document, { resultTypes: ['violations'], rules: { 'color-contrast-enhanced': { enabled: true } } })
      .then((r) => r.violations.map((v) => ({
        id: v.id, impact: v.impact, help: v.help,
        targets: v.nodes.map((n) => n.target.join(' ')),
      })), (e) => ({ error: String(e) }))
      .then((answer) => { folded.forEach((d) => { d.open = false; }); done(answer); });";

/// The featured demo learner's credentials, as the demo issues them.
const TITLES: [&str; 5] = [
    "Intro to Python Programming",
    "Database Fundamentals",
    "Applied Statistics",
    "Data Analytics Certificate",
    "Web Development with Python",
];
/// Every check the ledger's verifier reports for one of its own bundles that passes, with the
/// page's default maximum status age.
const CHECKS: [&str; 10] = [
    "bundle.format",
    "checkpoint.signature",
    "entries.inclusion",
    "events.signatures",
    "issuer.authority",
    "credentials.status",
    "credentials.current",
    "status.age",
    "learner.holder",
    "learner.signature",
];

/// What `#result` shows once the page has an answer: the verdict or the error it printed.
const RESULT_STATE: &str = "
    const verdict = document.getElementById('verdict');
    if (verdict) return { verdict: verdict.textContent };
    const alert = document.querySelector('#result [role=alert]');
    if (alert) return { error: alert.textContent };
    return null;";

/// Calls `probe` every [`POLL`] until it returns something or `timeout` has passed.
fn poll<T>(timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(found) = probe() {
            return Some(found);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(POLL);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("binding 127.0.0.1:0").port()
}

fn require_browser() {
    for (path, what) in [(CHROMIUM, "Chromium"), (CHROMEDRIVER, "ChromeDriver")] {
        assert!(
            Path::new(path).exists(),
            "{what} is missing ({path} does not exist): this test drives a real browser. \
             Install it with `apt-get update && apt-get install -y chromium chromium-driver`"
        );
    }
}

/// axe-core's source, to inject into pages; fails (it does not skip) when it is not installed.
fn axe_source() -> String {
    fs::read_to_string(AXE)
        .unwrap_or_else(|e| panic!("axe-core is missing ({AXE}: {e}): install it with `npm ci` in tests/browser"))
}

/// Runs the binary to completion, asserting success; returns its stderr.
fn credledger(args: &[&str]) -> String {
    let out = Command::new(BIN).args(args).stdin(Stdio::null()).output().expect("running credledger");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "credledger {args:?} failed ({}):\n{}{stderr}",
        out.status,
        String::from_utf8_lossy(&out.stdout)
    );
    stderr
}

/// A child process that is killed and reaped when the guard drops; its output goes to `log`.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &'static str, command: &mut Command, log: PathBuf) -> Proc {
        let file = File::create(&log).expect("creating a log file");
        let child = command
            .stdin(Stdio::null())
            .stderr(file)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name} ({command:?}): {e}"));
        Proc { name, child, log }
    }

    /// The end of what the process wrote to its log, for failure messages.
    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        format!(
            "--- {} log ({}) ---\n{}",
            self.name,
            self.log.display(),
            lines[lines.len().saturating_sub(40)..].join("\n")
        )
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `credledger serve` on a free port of 127.0.0.1 and returns it with its base URL.
fn start_server(ledger: &Path, log: PathBuf) -> (Proc, String) {
    let mut command = Command::new(BIN);
    command.arg("--ledger").arg(ledger).args(["serve", "--addr", "127.0.0.1:0"]).stdout(Stdio::piped());
    let mut server = Proc::spawn("credledger serve", &mut command, log);
    let stdout = server.child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    // Reads every line, so the server never writes into a closed or full pipe.
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let line = rx.recv_timeout(STARTUP).unwrap_or_else(|e| {
        panic!("the server printed no first line within {STARTUP:?} ({e}):\n{}", server.log_tail())
    });
    let url = line
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("the server's first line is not `listening on URL`: {line:?}"))
        .to_owned();
    (server, url)
}

/// ChromeDriver's HTTP API. Errors come back as `Err("error: message")`.
struct Driver {
    agent: ureq::Agent,
    base: String,
}

impl Driver {
    fn new(port: u16) -> Driver {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .proxy(None)
            .timeout_global(Some(Duration::from_secs(90)))
            .build();
        Driver { agent: config.into(), base: format!("http://127.0.0.1:{port}") }
    }

    /// Sends one command and returns its `value`.
    fn send(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let response = match (method, body) {
            ("GET", _) => self.agent.get(&url).call(),
            ("DELETE", _) => self.agent.delete(&url).call(),
            (_, body) => self.agent.post(&url).send_json(body.unwrap_or_else(|| json!({}))),
        };
        let mut response = response.map_err(|e| format!("{method} {path}: {e}"))?;
        let status = response.status();
        let mut reply: Value = response.body_mut().read_json().map_err(|e| format!("{method} {path}: {e}"))?;
        let value = reply["value"].take();
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!("{method} {path}: {status}: {}: {}", value["error"], value["message"]))
        }
    }

    fn ready(&self) -> bool {
        self.send("GET", "/status", None).is_ok_and(|v| v["ready"] == true)
    }
}

/// A WebDriver session: a headless Chromium, quit when the guard drops. Every method panics on
/// a WebDriver error, naming the command.
struct Browser {
    driver: Driver,
    session: String,
}

impl Browser {
    fn start(driver: Driver, profile: &Path) -> Browser {
        let profile = format!("--user-data-dir={}", profile.display());
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "timeouts": {"pageLoad": 30_000, "script": 15_000, "implicit": 0},
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1280,1000", profile,
            ]},
        }}});
        let value =
            driver.send("POST", "/session", Some(capabilities)).unwrap_or_else(|e| panic!("creating a session: {e}"));
        let session = value["sessionId"].as_str().expect("a sessionId").to_owned();
        Browser { driver, session }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver.send(method, &format!("/session/{}{path}", self.session), body).unwrap_or_else(|e| panic!("{e}"))
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    fn title(&self) -> String {
        self.cmd("GET", "/title", None).as_str().unwrap_or_default().to_owned()
    }

    /// All elements matching `css`, in document order (none is not an error).
    fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.cmd("POST", "/elements", Some(json!({"using": "css selector", "value": css})));
        let found = found.as_array().unwrap_or_else(|| panic!("a list of elements for `{css}`: {found}"));
        found
            .iter()
            .map(|e| e[ELEMENT].as_str().unwrap_or_else(|| panic!("an element reference: {e}")).to_owned())
            .collect()
    }

    /// The one element matching `css`.
    fn find(&self, css: &str) -> String {
        let mut found = self.find_all(css);
        assert_eq!(found.len(), 1, "want exactly one element for `{css}`");
        found.remove(0)
    }

    /// The element's rendered text, as a person reads it.
    fn text(&self, element: &str) -> String {
        self.cmd("GET", &format!("/element/{element}/text"), None).as_str().unwrap_or_default().to_owned()
    }

    fn attribute(&self, element: &str, name: &str) -> Option<String> {
        self.cmd("GET", &format!("/element/{element}/attribute/{name}"), None).as_str().map(str::to_owned)
    }

    /// A real click: ChromeDriver scrolls the element into view and clicks its centre, and fails
    /// if something else would receive the click.
    fn click(&self, element: &str) {
        self.cmd("POST", &format!("/element/{element}/click"), Some(json!({})));
    }

    fn clear(&self, element: &str) {
        self.cmd("POST", &format!("/element/{element}/clear"), Some(json!({})));
    }

    /// Types into the element (for a file input: chooses that file).
    fn type_into(&self, element: &str, text: &str) {
        self.cmd("POST", &format!("/element/{element}/value"), Some(json!({"text": text})));
    }

    fn exec(&self, script: &str, args: Vec<Value>) -> Value {
        self.cmd("POST", "/execute/sync", Some(json!({"script": script, "args": args})))
    }

    /// Presses and releases each key in turn on the focused element, like a keyboard.
    fn press(&self, keys: &[&str]) {
        let actions: Vec<Value> = keys
            .iter()
            .flat_map(|k| [json!({"type": "keyDown", "value": k}), json!({"type": "keyUp", "value": k})])
            .collect();
        self.cmd("POST", "/actions", Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})));
        self.cmd("DELETE", "/actions", None);
    }

    fn active_id(&self) -> String {
        self.exec("return document.activeElement ? document.activeElement.id : ''", vec![])
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Saves a screenshot of the whole page to `$CREDLEDGER_SCREENSHOTS/NAME.png`, if set.
    fn screenshot(&self, name: &str) {
        let dir = std::env::var_os("CREDLEDGER_SCREENSHOTS").map_or_else(
            || Path::new(env!("CARGO_MANIFEST_DIR")).join("target").join("browser-screenshots"),
            PathBuf::from,
        );
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let height = self.exec("return document.documentElement.scrollHeight", vec![]).as_u64().unwrap_or(1000);
        let width = self.cmd("GET", "/window/rect", None)["width"].as_u64().unwrap_or(1280);
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": height.clamp(600, 4000) + 120})));
        let png = self.cmd("GET", "/screenshot", None);
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(png.as_str().expect("base64 PNG")).expect("base64");
        let path = Path::new(&dir).join(format!("{name}.png"));
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!("screenshot: {}", path.display());
        self.resize(width);
    }

    /// Sets the window's width (a desktop 1280, a phone 390).
    fn resize(&self, width: u64) {
        self.cmd("POST", "/window/rect", Some(json!({"width": width, "height": 1000})));
    }

    /// Empties `#result`, so that a verdict seen afterwards is the answer to the next request.
    fn clear_result(&self) {
        self.exec("document.getElementById('result').replaceChildren()", vec![]);
    }

    /// Waits for the page's answer: `{"verdict": TEXT}` or `{"error": TEXT}`.
    fn answer(&self) -> Value {
        poll(VERDICT, || Some(self.exec(RESULT_STATE, vec![])).filter(|v| !v.is_null())).unwrap_or_else(|| {
            panic!("no answer within {VERDICT:?}; #result shows {:?}", self.text(&self.find("#result")))
        })
    }

    /// Waits for the page's verdict and returns its text; fails on the page's error message.
    fn verdict(&self) -> String {
        let state = self.answer();
        if let Some(error) = state.get("error") {
            panic!("the page could not verify: {error}");
        }
        state["verdict"].as_str().expect("the verdict's text").to_owned()
    }

    /// The checks the page lists, as (data-check, rendered text).
    fn checks(&self) -> Vec<(String, String)> {
        // Folded under <details>, so read as text content (WebDriver's text is what is displayed).
        self.find_all("#checks > li")
            .iter()
            .map(|li| (self.attribute(li, "data-check").unwrap_or_default(), self.content(li)))
            .collect()
    }

    /// An element's text content, displayed or not.
    fn content(&self, element: &str) -> String {
        self.exec("return arguments[0].textContent", vec![elem(element)]).as_str().unwrap_or_default().to_owned()
    }

    /// Runs axe-core (`axe`, its source) on the page as it is now, at 1280 px and at 390 px, and
    /// returns each violation as `WHAT at WIDTH px: RULE (IMPACT): HELP: TARGETS`. Leaves the
    /// window as wide as it was.
    fn accessibility(&self, axe: &str, what: &str) -> Vec<String> {
        let width = self.cmd("GET", "/window/rect", None)["width"].as_u64().unwrap_or(1280);
        if self.exec("return typeof axe", vec![]) != json!("object") {
            self.exec(axe, vec![]);
        }
        let mut found = Vec::new();
        for at in [1280, 390] {
            self.resize(at);
            let violations = self.cmd("POST", "/execute/async", Some(json!({"script": AXE_RUN, "args": []})));
            let violations = violations
                .as_array()
                .unwrap_or_else(|| panic!("axe-core could not check {what} at {at} px: {violations}"));
            found.extend(violations.iter().map(|v| {
                let targets: Vec<&str> =
                    v["targets"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                let field = |name: &str| v[name].as_str().unwrap_or("?").to_owned();
                format!(
                    "{what} at {at} px: {} ({}): {}: {}",
                    field("id"),
                    field("impact"),
                    field("help"),
                    targets.join(", ")
                )
            }));
        }
        self.resize(width);
        found
    }

    /// Replaces the textarea's content with `bundle` (typing 15 KB key by key is slow).
    fn paste(&self, bundle: &str) {
        let text = self.find("#text");
        self.clear(&text);
        self.exec("arguments[0].value = arguments[1]", vec![elem(&text), json!(bundle)]);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.send("DELETE", &format!("/session/{}", self.session), None);
    }
}

fn elem(id: &str) -> Value {
    json!({ELEMENT: id})
}

/// `2026-12-03 10:00 UTC`: the status statement's time in `bundle`, as the page shows it.
fn status_date(bundle: &str) -> String {
    let bundle: Value = serde_json::from_str(bundle).expect("a bundle");
    let at = bundle["status"]["issued_at"].as_str().expect("the status statement's time");
    format!("{} {} UTC", &at[..10], &at[11..16])
}

/// Asserts the page shows a VALID verdict in words with the date its status is as of, every
/// check passed (those named `checks`, folded below), one line per credential (the five, each
/// "genuine and active") and the skills with the titles of the credentials that evidence them.
fn assert_valid(b: &Browser, verdict: &str, status_as_of: &str, checks: &[&str]) {
    assert!(verdict.starts_with("✓ VALID"), "want VALID, the page says {verdict:?}; checks: {:#?}", b.checks());
    assert_eq!(verdict, format!("✓ VALID: these {} credentials are genuine", TITLES.len()));
    let result = b.text(&b.find("#result"));
    assert!(result.contains(&format!("Status as of {status_as_of}")), "{result}");
    let shown = b.checks();
    let names: Vec<&str> = shown.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, checks, "the page lists these checks");
    for (name, text) in &shown {
        assert!(text.starts_with("✓ Passed") && !text.contains("Failed"), "check {name} shows {text:?}");
        assert!(!text.contains('`'), "no code quoting: {text:?}");
    }
    assert_eq!(b.active_id(), "verdict", "focus moves to the verdict, so a screen reader reads it");

    let lines: Vec<String> = b.find_all("#credentials > li").iter().map(|li| b.text(li)).collect();
    assert_eq!(lines.len(), TITLES.len(), "one line per credential: {lines:#?}");
    for title in TITLES {
        let line =
            lines.iter().find(|r| r.starts_with(title)).unwrap_or_else(|| panic!("no line for {title:?}: {lines:#?}"));
        assert!(line.ends_with("— genuine and active"), "{title:?} is active: {line:?}");
    }

    let skills: Vec<String> = b.find_all("#skills > li").iter().map(|li| b.text(li)).collect();
    let python = skills
        .iter()
        .find(|s| s.starts_with("Python (Programming Language)"))
        .unwrap_or_else(|| panic!("#skills lists Python: {skills:#?}"));
    for title in ["Intro to Python Programming", "Web Development with Python"] {
        assert!(python.lines().any(|l| l.trim() == title), "Python is evidenced by {title:?}: {python:?}");
    }
    for skill in &skills {
        let evidence: Vec<&str> = skill.lines().skip(1).map(str::trim).filter(|l| !l.is_empty()).collect();
        assert!(!evidence.is_empty(), "every skill names its evidence: {skill:?}");
        for line in evidence {
            assert!(TITLES.contains(&line), "evidence is shown by credential title, not id: {line:?} in {skill:?}");
        }
    }
}

/// Asserts the page shows INVALID, with `failed` marked Failed among the checks.
fn assert_invalid(b: &Browser, verdict: &str, failed: &str) {
    assert!(verdict.contains("INVALID"), "want INVALID, the page says {verdict:?}");
    let li = b.find(&format!("#checks > li[data-check=\"{failed}\"]"));
    let text = b.content(&li);
    assert!(text.starts_with("✗ Failed"), "{failed} shows Failed: {text:?}");
    assert_eq!(b.attribute(&li, "class").as_deref(), Some("fail"));
}

/// Asserts nothing on the page is wider than the window, and every element `css` (a status) is
/// inside it: readable without scrolling sideways.
fn assert_fits(b: &Browser, css: &str, what: &str) {
    let fit = b.exec(
        "const width = document.documentElement.clientWidth;
         const outside = [...document.querySelectorAll(arguments[0])]
            .filter((e) => { const r = e.getBoundingClientRect(); return r.left < 0 || r.right > width || r.width === 0; })
            .map((e) => e.textContent);
         return { width, scroll: document.documentElement.scrollWidth, count: document.querySelectorAll(arguments[0]).length, outside }",
        vec![json!(css)],
    );
    assert!(fit["count"].as_u64().unwrap_or(0) > 0, "{what}: no {css}: {fit}");
    assert_eq!(fit["outside"], json!([]), "{what}: statuses off screen: {fit}");
    assert!(fit["scroll"].as_u64() <= fit["width"].as_u64(), "{what}: the page scrolls sideways: {fit}");
}

/// Fails listing every violation axe-core found, if any.
fn assert_accessible(inaccessible: &[String]) {
    assert!(
        inaccessible.is_empty(),
        "axe-core found {} accessibility violations:\n{}",
        inaccessible.len(),
        inaccessible.join("\n")
    );
}

/// ChromeDriver on a free port and a headless Chromium session in it (its profile under `t`).
/// Drop the browser before ChromeDriver (the tuple's order does).
fn browser(t: &Path) -> (Browser, Proc) {
    let port = free_port();
    let chromedriver = Proc::spawn(
        "chromedriver",
        Command::new(CHROMEDRIVER).arg(format!("--port={port}")).stdout(Stdio::null()),
        t.join("chromedriver.log"),
    );
    let driver = Driver::new(port);
    poll(STARTUP, || driver.ready().then_some(()))
        .unwrap_or_else(|| panic!("ChromeDriver was not ready within {STARTUP:?}\n{}", chromedriver.log_tail()));
    let profile = t.join("chromium-profile");
    fs::create_dir(&profile).expect("a browser profile directory");
    (Browser::start(driver, &profile), chromedriver)
}

#[test]
fn verify_and_learner_pages_in_a_real_browser() {
    require_browser();
    let axe = axe_source();
    // What axe-core finds on each page, reported together at the end.
    let mut inaccessible = Vec::new();
    let tmp = TempDir::new().expect("a temporary directory");
    let t = tmp.path();
    let (ledger, keys, bundle_path) = (t.join("ledger"), t.join("keys"), t.join("bundle.json"));
    let path = |p: &Path| p.to_str().expect("a UTF-8 path").to_owned();

    // The ledger, the bundle and a tampered copy, before the server locks the ledger.
    credledger(&["--ledger", &path(&ledger), "demo", "--keys", &path(&keys)]);
    let key = path(&keys.join("learner-01.key"));
    credledger(&["--ledger", &path(&ledger), "share", "--learner-key", &key, "--out", &path(&bundle_path)]);
    let bundle = fs::read_to_string(&bundle_path).expect("the shared bundle");
    assert!(bundle.contains("\"Intro to Python Programming\""), "the bundle holds the demo's first course");
    let tampered = bundle.replacen("\"Intro to Python Programming\"", "\"Intro to Python Programming II\"", 1);
    fs::write(t.join("tampered.json"), &tampered).expect("writing the tampered bundle");
    let learner = fs::read_to_string(keys.join("featured-learner.did")).expect("the featured learner's did");
    let learner = learner.trim();
    // A standard credential of the learner's, exported from the ledger.
    let profile =
        Command::new(BIN).args(["--ledger", &path(&ledger), "--json", "profile", learner]).output().expect("profile");
    let profile: serde_json::Value = serde_json::from_slice(&profile.stdout).expect("profile JSON");
    let first = profile["credentials"][0]["id"].as_str().expect("a credential id").to_owned();
    let institution = profile["credentials"][0]["issuer"]["name"].as_str().expect("the issuer's name").to_owned();
    let vc = Command::new(BIN).args(["--ledger", &path(&ledger), "export-vc", &first]).output().expect("export-vc");
    let vc = String::from_utf8(vc.stdout).expect("UTF-8");
    // The demo's revoked credential (a certificate of learner 12's), in its standard form.
    let key12 = fs::read_to_string(keys.join("learner-12.key")).expect("learner 12's key");
    let learner12 = key12.lines().find_map(|l| l.strip_prefix("# did: ")).expect("the key file names its did");
    let profile12 =
        Command::new(BIN).args(["--ledger", &path(&ledger), "--json", "profile", learner12]).output().expect("profile");
    let profile12: Value = serde_json::from_slice(&profile12.stdout).expect("profile JSON");
    let revoked = profile12["credentials"].as_array().expect("credentials").iter().find(|c| c["status"] == "revoked");
    let revoked = revoked.and_then(|c| c["id"].as_str()).expect("the demo revokes one credential").to_owned();
    let revoked_vc =
        Command::new(BIN).args(["--ledger", &path(&ledger), "export-vc", &revoked]).output().expect("export-vc");
    let revoked_vc = String::from_utf8(revoked_vc.stdout).expect("UTF-8");
    // The same learner's bundle, bound to an employer's audience.
    let bound_path = path(&t.join("bound.json"));
    credledger(&[
        "--ledger",
        &path(&ledger),
        "share",
        "--learner-key",
        &key,
        "--audience",
        "acme-hr",
        "--out",
        &bound_path,
    ]);
    let bound = fs::read_to_string(&bound_path).expect("the bound bundle");

    // Declared in this order so that they drop in reverse: the session, ChromeDriver, the server.
    let (_server, url) = start_server(&ledger, t.join("server.log"));
    let (b, chromedriver) = browser(t);

    b.goto(&format!("{url}/"));
    inaccessible.extend(b.accessibility(&axe, "the front door"));
    // The ledger's name heads the page; on a phone it wraps rather than pushing the page sideways.
    assert_fits(&b, "h1", "the front door at 1280 px");
    b.screenshot("front");
    b.resize(390);
    assert_fits(&b, "h1", "the front door at 390 px");
    b.screenshot("front-390");
    b.resize(1280);
    b.goto(&format!("{url}/no-such-page"));
    assert_eq!(b.title(), "Page not found · credledger");
    inaccessible.extend(b.accessibility(&axe, "the 404 page"));
    // The referee is awake: an image without a text alternative, put into the page, is caught.
    b.exec("document.querySelector('main').append(document.createElement('img'))", vec![]);
    let caught = b.accessibility(&axe, "a page with an unlabelled image");
    assert!(caught.iter().any(|v| v.contains(": image-alt (critical)")), "axe-core misses a missing alt: {caught:#?}");

    b.goto(&format!("{url}/verify"));
    assert_eq!(b.title(), "Verify a learner's credentials · credledger");
    inaccessible.extend(b.accessibility(&axe, "/verify, empty"));

    // Every control has a <label for>, and the button has a name.
    let unlabelled = b.exec(
        "return [...document.querySelectorAll('input, textarea, select')]
            .filter((c) => !c.id || !document.querySelector(`label[for='${c.id}']`) || !c.labels.length
                || !c.labels[0].textContent.trim())
            .map((c) => c.outerHTML)",
        vec![],
    );
    assert_eq!(unlabelled, json!([]), "controls without a <label for>");
    assert_eq!(b.text(&b.find("button#verify")), "Verify");

    // Paste the bundle and click Verify.
    b.paste(&bundle);
    b.clear_result();
    b.click(&b.find("#verify"));
    let verdict = b.verdict();
    println!("pasted bundle: {verdict}");
    let as_of = status_date(&bundle);
    assert_valid(&b, &verdict, &as_of, &CHECKS);
    let age = b.content(&b.find("#checks > li[data-check=\"status.age\"]"));
    assert!(age.starts_with("✓ Passed") && age.contains("within the 2592000s allowed"), "30 days by default: {age:?}");
    b.screenshot("verify-valid");
    inaccessible.extend(b.accessibility(&axe, "/verify with a VALID verdict"));

    // The tampered copy: the changed record no longer hashes into the signed log.
    b.paste(&tampered);
    b.clear_result();
    b.click(&b.find("#verify"));
    let verdict = b.verdict();
    println!("tampered bundle: {verdict}; checks: {:?}", b.checks());
    assert_invalid(&b, &verdict, "entries.inclusion");
    let named = "✗ INVALID: Intro to Python Programming II failed: it was changed after the ledger recorded it";
    assert_eq!(verdict, named, "the verdict names the credential that failed, in words");
    b.screenshot("verify-tampered");
    inaccessible.extend(b.accessibility(&axe, "/verify with an INVALID verdict"));

    // Nothing chosen: the page asks for a file; it does not say INVALID.
    b.paste("");
    b.clear_result();
    b.click(&b.find("#verify"));
    let asked = b.verdict();
    assert!(asked.starts_with("Choose a bundle file") && !asked.contains("INVALID"), "{asked:?}");
    inaccessible.extend(b.accessibility(&axe, "/verify asking for a file"));

    // On a phone, every credential's status is on screen, nothing scrolls sideways.
    b.resize(390);
    b.paste(&bundle);
    b.clear_result();
    b.click(&b.find("#verify"));
    assert_valid(&b, &b.verdict(), &as_of, &CHECKS);
    assert_fits(&b, "#credentials .state", "/verify at 390 px");
    b.screenshot("verify-valid-390");
    b.resize(1280);
    assert_fits(&b, "#credentials .state", "/verify at 1280 px");

    // A standard credential is checked as one: its issuer's eddsa-jcs-2022 proof.
    b.paste(&vc);
    b.clear_result();
    b.click(&b.find("#verify"));
    let verdict = b.verdict();
    assert!(verdict.starts_with("VALID"), "an exported credential: {verdict:?}");
    assert!(b.checks().iter().any(|(name, text)| name == "proof.signature" && text.starts_with("✓ Passed")));
    println!("exported credential: {verdict}; checks: {:?}", b.checks());
    // Its status, in this ledger's own signed Bitstring Status Lists (read from the log, not fetched).
    for purpose in ["revocation", "suspension"] {
        let status = b.text(&b.find(&format!("#checks > li[data-check=\"credential.status.{purpose}\"]")));
        assert!(status.starts_with("✓ Passed"), "the ledger's own {purpose} list: {status:?}");
    }
    // It names the institution that signed it, from this ledger's registry.
    let issuer = b.text(&b.find("#issuer"));
    assert!(issuer.starts_with("Signed by the issuer ") && issuer.contains(&institution), "{issuer:?}");
    assert!(issuer.contains("registered on the ledger"), "{issuer:?}");
    assert!(b.checks().iter().any(|(name, text)| name == "proof.issuer" && text.starts_with("✓ Passed")));
    // A revoked one: its issuer's proof still verifies, and the page says REVOKED, and why.
    b.paste(&revoked_vc);
    b.clear_result();
    b.click(&b.find("#verify"));
    let verdict = b.verdict();
    println!("revoked credential: {verdict}; checks: {:?}", b.checks());
    assert!(verdict.starts_with("REVOKED: "), "{verdict:?}");
    assert_eq!(b.attribute(&b.find("#verdict"), "class").as_deref(), Some("fail"));
    let status = b.text(&b.find("#checks > li[data-check=\"credential.status.revocation\"]"));
    assert!(status.starts_with("✗ Failed"), "{status:?}");
    assert!(b.checks().iter().any(|(name, text)| name == "proof.signature" && text.starts_with("✓ Passed")));
    b.screenshot("verify-revoked-credential");
    b.paste(&vc.replacen("Intro to Python Programming", "Intro to Python Programming II", 1));
    b.clear_result();
    b.click(&b.find("#verify"));
    assert_invalid(&b, &b.verdict(), "proof.signature");

    // Requiring an audience the bundle is not bound to, typed with real keys.
    b.paste(&bundle);
    let audience = b.find("#audience");
    b.type_into(&audience, "acme-hiring");
    b.clear_result();
    b.click(&b.find("#verify"));
    let verdict = b.verdict();
    println!("audience acme-hiring: {verdict}");
    assert_invalid(&b, &verdict, "request.audience");
    b.screenshot("verify-audience");
    b.clear(&audience);

    // A bundle bound to an audience this verifier does not require: shown, not checked. With the
    // maximum status age emptied, its age is not checked either.
    let max_age = b.find("#max-age");
    let default_age = b.exec("return arguments[0].value", vec![elem(&max_age)]);
    assert_eq!(default_age, json!("30"), "the maximum status age defaults to 30 days");
    b.clear(&max_age);
    b.paste(&bound);
    b.clear_result();
    b.click(&b.find("#verify"));
    let verdict = b.verdict();
    println!("bound bundle, no age limit: {verdict}");
    let unlimited: Vec<&str> = CHECKS.into_iter().filter(|c| *c != "status.age").collect();
    assert_valid(&b, &verdict, &status_date(&bound), &unlimited);
    let binding = b.text(&b.find("#result [data-binding=audience]"));
    assert_eq!(binding, "Bound to audience acme-hr; not required by this verifier.");
    assert!(b.find_all("#result [data-binding=nonce]").is_empty(), "the bundle has no nonce");
    b.screenshot("verify-bound");
    b.type_into(&max_age, "30");

    // Not a bundle at all, and a body over the server's limit: the page says what is wrong.
    b.paste("not a bundle");
    b.clear_result();
    b.click(&b.find("#verify"));
    let verdict = b.verdict();
    assert_invalid(&b, &verdict, "bundle.format");
    b.paste(&format!("[{}]", " ".repeat(1_100_000)));
    b.clear_result();
    b.click(&b.find("#verify"));
    let answer = b.answer();
    println!("a body over the limit: {answer}");
    let error = answer["error"].as_str().unwrap_or_else(|| panic!("want an error message: {answer}"));
    assert!(error.starts_with("Could not verify: ") && error.contains("larger than"), "{error:?}");

    // Keyboard only: Tab reaches every control in order, each showing a focus ring, and Enter on
    // the button verifies the bundle chosen through the file input.
    b.type_into(&b.find("#file"), &path(&bundle_path));
    let text = b.find("#text");
    poll(VERDICT, || {
        b.exec("return arguments[0].value === arguments[1]", vec![elem(&text), json!(bundle)])
            .as_bool()
            .filter(|&same| same)
    })
    .expect("choosing the file puts the bundle in the textarea");
    b.clear_result();
    // Clicking the heading moves the point where Tab starts to the top of the page.
    b.click(&b.find("h1"));
    let mut order = Vec::new();
    for _ in 0..6 {
        b.press(&[TAB]);
        order.push(b.active_id());
        let outline = b.exec(
            "const s = getComputedStyle(document.activeElement);
             return [document.activeElement.matches(':focus-visible'), s.outlineStyle, s.outlineWidth]",
            vec![],
        );
        assert_eq!(outline[0], true, "{} shows keyboard focus: {outline}", order.last().unwrap());
        assert_ne!(outline[1], "none", "{} has a visible focus ring: {outline}", order.last().unwrap());
    }
    assert_eq!(order, ["file", "text", "audience", "nonce", "max-age", "verify"], "the Tab order");
    b.screenshot("verify-focus");
    b.press(&[ENTER]);
    let verdict = b.verdict();
    println!("file input + keyboard: {verdict}");
    assert_valid(&b, &verdict, &as_of, &CHECKS);

    // Dropping a file on the box verifies it at once.
    b.clear_result();
    let dropped = b.exec(
        "const [zone, text] = arguments;
         const data = new DataTransfer();
         data.items.add(new File([text], 'tampered.json', { type: 'application/json' }));
         for (const type of ['dragenter', 'dragover', 'drop']) {
           zone.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
         }
         return zone.classList.contains('over')",
        vec![elem(&b.find("#drop")), json!(tampered)],
    );
    assert_eq!(dropped, false, "the drop box is no longer highlighted after the drop");
    let verdict = b.verdict();
    println!("dropped tampered bundle: {verdict}");
    assert_invalid(&b, &verdict, "entries.inclusion");

    // The featured learner's page, rendered on the server.
    b.goto(&format!("{url}/learners/{learner}"));
    assert_eq!(b.title(), "Learner profile · credledger");
    let page = b.text(&b.find("main"));
    assert!(page.contains(learner), "the page names the learner: {page}");
    for title in TITLES {
        assert!(page.contains(title), "the learner page shows {title:?}:\n{page}");
    }
    assert!(page.contains("Python (Programming Language)"), "the learner page shows the skills:\n{page}");
    assert!(!page.contains("as of log record"), "{page}");
    assert_fits(&b, "td.status", "the learner page at 1280 px");
    b.screenshot("learner");
    b.resize(390);
    b.goto(&format!("{url}/learners/{learner}"));
    assert_fits(&b, "td.status", "the learner page at 390 px");
    b.screenshot("learner-390");
    inaccessible.extend(b.accessibility(&axe, "the learner page"));

    // A share link, published from the command line, opens to VALID, on a phone too.
    let out = Command::new(BIN)
        .args(["--server", &url, "--json", "share", "--learner-key", &key, "--publish"])
        .output()
        .expect("share --publish");
    assert!(out.status.success(), "share --publish: {}", String::from_utf8_lossy(&out.stderr));
    let published: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let link = published["link"].as_str().expect("a link");
    b.goto(link);
    let verdict = b.text(&b.find("#verdict"));
    assert_eq!(verdict, format!("✓ VALID: these {} credentials are genuine", TITLES.len()));
    assert_fits(&b, "#credentials .state", "a share link at 390 px");
    b.screenshot("share-link-390");
    b.resize(1280);
    b.screenshot("share-link");
    inaccessible.extend(b.accessibility(&axe, "a share link"));
    assert_accessible(&inaccessible);
    drop(b);
    drop(chromedriver);
}

/// The claim page a student opens from the registrar's email (`/claim/{offer}` on the issuer
/// agent): at a desktop's and a phone's width, the QR code and the wallet link are on screen
/// without sideways scrolling, the QR code large enough to scan, and axe-core finds nothing.
#[test]
fn the_claim_page_in_a_real_browser() {
    require_browser();
    let axe = axe_source();
    let env = common::Env::new();
    let ledger = env.serve_at_public_url();
    let agent = common::agent::Agent::start(&env, &ledger, "agent", &[]);
    let offers = common::agent::import_offers(&env, &agent, "term", CLAIM_CSV);
    let (b, chromedriver) = browser(env.tmp.path());

    b.goto(&offers[0]["claim_url"]);
    assert_eq!(b.title(), "Claim your credential · credledger");
    let link = b.find("a[href^='openid-credential-offer://']");
    let href = b.attribute(&link, "href").expect("the wallet link's href");
    assert!(href.contains("credential_offer_uri="), "{href}");
    let mut inaccessible = b.accessibility(&axe, "the claim page");
    for (width, name) in [(1280, "claim"), (390, "claim-390")] {
        b.resize(width);
        let what = format!("the claim page at {width} px");
        assert_fits(&b, ".qr svg, a[href^='openid-credential-offer://']", &what);
        let qr = b.exec(
            "const r = document.querySelector('.qr svg').getBoundingClientRect(); return [r.width, r.height]",
            vec![],
        );
        let side = qr[0].as_f64().unwrap_or_default().min(qr[1].as_f64().unwrap_or_default());
        assert!(side >= 150.0, "{what}: the QR code is {qr} px, too small to scan");
        b.screenshot(name);
    }
    // A used or unknown offer's page says so, accessibly too.
    b.goto(&format!("{}/claim/no-such-offer", agent.url));
    assert_eq!(b.title(), "No such offer · credledger");
    inaccessible.extend(b.accessibility(&axe, "an unknown offer's page"));
    assert_accessible(&inaccessible);
    drop(b);
    drop(chromedriver);
}

/// One completion, as a student system exports it.
const CLAIM_CSV: &str = "student_id,email,kind,title,code,credits,hours,employer,completed,skills\n\
S1001,ada@students.example.edu,course,Intro to Welding,WLD-101,3,,,2026-05-15,esco:welding=Welding\n";
