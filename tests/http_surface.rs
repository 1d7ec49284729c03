//! End-to-end tests of the HTTP surface against the real server (issue 13): reads that hang in
//! the store never hold up `/healthz`; arrays of events are capped; a request framed by both
//! Content-Length and Transfer-Encoding closes its connection; every answer carries the hardening
//! headers and the pages need no inline script or style; echoed input is bounded; JSON POSTs need
//! a JSON content type; long URLs are refused; reads and verifications have rate limits of their
//! own; the operator signs a learner's CLR once per log position; a known path answers another
//! method with 405 and `Allow`. Raw `TcpStream`s where the HTTP client would hide the framing.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use common::pg::{Postgres, postgres_env};
use common::*;

/// An answer with all its headers.
struct Full {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Full {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    fn resp(&self) -> Resp {
        Resp {
            status: self.status,
            content_type: self.header("content-type").unwrap_or_default().to_owned(),
            connection: self.header("connection").map(str::to_ascii_lowercase),
            retry_after: self.header("retry-after").map(str::to_owned),
            body: self.body.clone(),
        }
    }
}

/// Sends `method path` with `headers` and `body` through ureq; the whole answer.
fn call(server: &Server, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Full {
    let mut builder = ureq::http::Request::builder().method(method).uri(format!("{}{path}", server.url));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder.body(body.map(<[u8]>::to_vec).unwrap_or_default()).expect("a request");
    let mut response = server.agent.run(request).unwrap_or_else(|e| panic!("{method} {path}: {e}; {}", server.log()));
    let headers = response
        .headers()
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let status = response.status().as_u16();
    let body = response.body_mut().with_config().limit(64 << 20).read_to_string().expect("the body");
    Full { status, headers, body }
}

/// What a raw connection received before the server closed it; `None` if it was still open
/// after `wait`.
fn read_until_closed(stream: &mut TcpStream, wait: Duration) -> (String, bool) {
    stream.set_read_timeout(Some(wait)).expect("read timeout");
    let mut received = Vec::new();
    let closed = loop {
        let mut buf = [0u8; 65536];
        match stream.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => break false,
            Err(_) => break true,
        }
    };
    (String::from_utf8_lossy(&received).into_owned(), closed)
}

fn connect(server: &Server) -> TcpStream {
    TcpStream::connect(server.url.strip_prefix("http://").expect("an http URL")).expect("connect")
}

// ---------------------------------------------------------------------------------------------
// Blocking reads stay off the async workers
// ---------------------------------------------------------------------------------------------

#[test]
fn healthz_answers_while_reads_hang_in_the_store() {
    let pg = Postgres::start();
    let url = pg.fresh_database();
    let env = postgres_env(&url);
    // One HTTP worker: a read that blocked it would hold up every other request.
    let server = env.serve(&["--database-url", &url, "--store", "postgres", "--workers", "1"]);
    assert_eq!(server.get("/v1/events?from=0").status, 200);

    // Another session locks the log: every read of it now waits in the database.
    let mut locker = postgres::Client::connect(&url, postgres::NoTls).expect("connect to PostgreSQL");
    let mut lock = locker.transaction().expect("a transaction");
    lock.batch_execute("LOCK TABLE log IN ACCESS EXCLUSIVE MODE").expect("lock the log");
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let url = format!("{}/v1/events?from=0", server.url);
            thread::spawn(move || Server::read(agent().get(url).call()).map(|r| r.status))
        })
        .collect();
    let mut watcher = postgres::Client::connect(&url, postgres::NoTls).expect("connect to PostgreSQL");
    let deadline = Instant::now() + PATIENCE;
    loop {
        let waiting: i64 = watcher
            .query_one("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'", &[])
            .expect("pg_stat_activity")
            .get(0);
        if waiting >= 1 {
            break;
        }
        assert!(Instant::now() < deadline, "no read ever waited on the lock");
        thread::sleep(Duration::from_millis(20));
    }

    // The client's ordinary bounded wait: the liveness probe and the page are answered meanwhile.
    let impatient: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    for path in ["/healthz", "/verify"] {
        let answer = Server::read(impatient.get(format!("{}{path}", server.url)).call());
        assert_eq!(answer.map(|r| r.status).ok(), Some(200), "{path} was held up by reads stuck in the store");
    }

    lock.rollback().expect("unlock");
    for reader in readers {
        assert_eq!(reader.join().expect("a reader").expect("the read is answered once the lock goes"), 200);
    }
}

// ---------------------------------------------------------------------------------------------
// Arrays of events (defect 4) and echoed input (defect 8)
// ---------------------------------------------------------------------------------------------

#[test]
fn more_than_1000_events_in_one_request_is_413_too_many_events() {
    let env = Env::new();
    let server = env.serve(&[]);
    let body = format!("[{}]", vec!["{}"; 1001].join(","));
    let r = server.post_events(&body);
    let problem = assert_problem(&r, 413, "too-many-events");
    assert!(problem["detail"].as_str().is_some_and(|d| d.contains("1000") && d.contains("1001")), "{problem}");
    assert!(r.body.len() < 1024, "the refusal is small: {} bytes", r.body.len());
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS);

    // A thousand is judged, and each refusal is bounded whatever the event echoed.
    let member = "m".repeat(900);
    let body = format!("[{}]", vec![format!("{{\"{member}\":1}}"); 1000].join(","));
    let r = server.post_events(&body);
    assert_eq!(r.status, 200, "{r:?}");
    let answer = r.json();
    assert_eq!(answer["rejected"], 1000, "{answer}");
    for result in answer["results"].as_array().expect("results") {
        let size = result.to_string().len();
        assert!(size < 600, "a refusal of {size} bytes: {result}");
    }
    assert!(r.body.len() < body.len(), "the answer ({}) is smaller than the request ({})", r.body.len(), body.len());
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS);
}

#[test]
fn echoed_input_is_truncated_in_problems_and_cli_errors() {
    let env = Env::new();
    // An event with a member name of (almost) a megabyte: within the body limit.
    let course = env.emit_course(&env.issuer, "Welding I");
    let event = with_body_field(&course, &"x".repeat(1024 * 1024 - course.len() - 16), serde_json::json!(1));
    let file = env.path("huge.json");
    std::fs::write(&file, &event).expect("write the event");
    let file = file.to_str().expect("utf-8 path");
    let assert_bounded = |out: Output| {
        let head = &out.stderr[..out.stderr.len().min(500)];
        assert_eq!(out.code, 1, "{head}");
        assert!(out.stderr.contains("xxxxxxxx"), "the member is named: {head}");
        assert!(out.stderr.len() < 2048, "{} bytes on stderr", out.stderr.len());
    };
    assert_bounded(env.run(&["--ledger", &env.ledger(), "submit", file]));

    let server = env.serve(&[]);
    let r = server.post_events(&event);
    let problem = assert_problem(&r, 422, "schema");
    let detail = problem["detail"].as_str().expect("a detail");
    assert!(detail.contains("xxxxxxxx"), "the member is named: {detail}");
    assert!(detail.contains('…'), "and marked as cut: {detail}");
    assert!(r.body.len() < 2048, "a {} byte answer to a {} byte request", r.body.len(), event.len());
    assert_bounded(env.remote(&server, &["submit", file]));

    // A path is quoted bounded too.
    let uuid = "a".repeat(4000);
    let r = server.get(&format!("/v1/status/{uuid}"));
    let problem = assert_problem(&r, 404, "not-found");
    assert!(r.body.len() < 1024, "{} bytes: {problem}", r.body.len());
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS);
}

// ---------------------------------------------------------------------------------------------
// Framing (defect 6) and long URLs
// ---------------------------------------------------------------------------------------------

#[test]
fn a_request_with_content_length_and_transfer_encoding_closes_the_connection() {
    let env = Env::new();
    let server = env.serve(&[]);
    let mut stream = connect(&server);
    let smuggled = "POST /v1/events HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                    Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n\
                    GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n";
    stream.write_all(smuggled.as_bytes()).expect("send both requests");
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    // actix-http refuses the framing before any of the server's code runs: a bare 400.
    assert!(received.starts_with("HTTP/1.1 400"), "{received:?}");
    assert_eq!(received.matches("HTTP/1.1 ").count(), 1, "the pipelined request was answered: {received:?}");
    assert!(closed, "the connection stayed open: {received:?}");
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS);
}

#[test]
fn long_urls_are_refused_as_problems_or_by_closing_the_connection() {
    let env = Env::new();
    let server = env.serve(&[]);
    // Past the server's URL bound: a problem, the URL not echoed.
    let long = format!("/v1/status/{}", "a".repeat(9 * 1024));
    let r = server.get(&long);
    let problem = assert_problem(&r, 414, "uri-too-long");
    assert!(r.body.len() < 1024, "{problem}");
    let r = server.get(&format!("/v1/events?from=0&x={}", "b".repeat(9 * 1024)));
    assert_problem(&r, 414, "uri-too-long");

    // Past what the HTTP parser buffers (before any of the server's code runs): a bare 400 and
    // the connection closed, nothing echoed; the server goes on.
    let mut stream = connect(&server);
    let request = format!("GET /v1/status/{} HTTP/1.1\r\nHost: test\r\n\r\n", "c".repeat(100 * 1024));
    let _ = stream.write_all(request.as_bytes());
    let (received, closed) = read_until_closed(&mut stream, Duration::from_secs(10));
    assert!(received.starts_with("HTTP/1.1 4"), "{received:?}");
    assert!(!received.contains("ccccccccc"), "{received:?}");
    assert!(closed, "{received:?}");
    assert_eq!(server.get("/healthz").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Headers (defect 7)
// ---------------------------------------------------------------------------------------------

fn assert_hardened(answer: &Full, what: &str) {
    let csp = answer.header("content-security-policy").unwrap_or_else(|| panic!("{what}: no CSP"));
    for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{what}: CSP {csp:?} lacks {directive:?}");
    }
    assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{what}: {csp}");
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"), "{what}");
    assert_eq!(answer.header("x-frame-options"), Some("DENY"), "{what}");
    assert_eq!(answer.header("referrer-policy"), Some("no-referrer"), "{what}");
}

#[test]
fn every_answer_carries_the_hardening_headers_and_pages_have_nothing_inline() {
    let env = Env::new();
    let server = env.serve(&["--body-limit", "1000"]);
    server.append(&env.emit_course(&env.issuer, "Welding I"));
    let learner_page = format!("/learners/{}", env.learner.did);
    let gets =
        ["/verify", learner_page.as_str(), "/assets/verify.js", "/assets/style.css", "/v1/checkpoint", "/v1/issuers"];
    for path in
        gets.iter().chain(["/healthz", "/openapi.json", "/metrics", "/no/such/page", "/learners/not-a-did"].iter())
    {
        assert_hardened(&call(&server, "GET", path, &[], None), path);
    }
    let json = [("content-type", "application/json")];
    assert_hardened(&call(&server, "POST", "/v1/events", &json, Some(b"{}")), "a refused event");
    assert_hardened(&call(&server, "POST", "/v1/events", &json, Some(&[b' '; 2000])), "a 413");
    assert_hardened(&call(&server, "DELETE", "/v1/checkpoint", &[], None), "a 405");

    for page in ["/verify", learner_page.as_str()] {
        let html = call(&server, "GET", page, &[], None).body.to_ascii_lowercase();
        assert!(!html.contains("<style"), "{page} has an inline stylesheet");
        assert!(!html.contains(" style="), "{page} has a style attribute");
        for (at, _) in html.match_indices("<script") {
            let tag = &html[at..at + html[at..].find('>').expect("a closed tag")];
            assert!(tag.contains(" src="), "{page} has an inline script: {tag}");
            assert!(html[at..].starts_with(&format!("{tag}></script>")), "{page}: a script with content");
        }
        let handler = html.split(|c: char| c.is_whitespace()).any(|w| w.starts_with("on") && w.contains('='));
        assert!(!handler, "{page} has an inline event handler");
        assert!(!html.contains("javascript:"), "{page} has a javascript: URL");
    }
}

// ---------------------------------------------------------------------------------------------
// Content types, methods
// ---------------------------------------------------------------------------------------------

#[test]
fn json_posts_without_a_json_content_type_are_415() {
    let env = Env::new();
    let server = env.serve(&[]);
    let event = env.emit_course(&env.issuer, "Welding I");
    for path in ["/v1/events", "/v1/verify", "/v1/verify-vc", "/v1/bundles"] {
        for content_type in [
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let headers: Vec<(&str, &str)> = content_type.map(|t| ("content-type", t)).into_iter().collect();
            let r = call(&server, "POST", path, &headers, Some(event.as_bytes())).resp();
            let problem = assert_problem(&r, 415, "unsupported-media-type");
            assert!(problem["detail"].as_str().is_some_and(|d| d.contains("application/json")), "{problem}");
        }
    }
    assert_eq!(server.all_records().len() as u64, SETUP_RECORDS);
    // With parameters, and in any case, it is JSON.
    let r = call(
        &server,
        "POST",
        "/v1/events",
        &[("content-type", "Application/JSON; charset=utf-8")],
        Some(event.as_bytes()),
    );
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn a_known_path_answers_another_method_with_405_and_allow() {
    let env = Env::new();
    let server = env.serve(&[]);
    for (method, path, allow) in [
        ("DELETE", "/v1/events", "GET, POST"),
        ("TRACE", "/healthz", "GET"),
        ("PUT", "/v1/checkpoint", "GET"),
        ("GET", "/v1/verify", "POST"),
        ("PATCH", format!("/v1/learners/{}/profile", env.learner.did).leak(), "GET"),
    ] {
        let r = call(&server, method, path, &[], None);
        assert_problem(&r.resp(), 405, "method-not-allowed");
        assert_eq!(r.header("allow"), Some(allow), "{method} {path}");
    }
    assert_problem(&call(&server, "DELETE", "/v1/nothing", &[], None).resp(), 404, "not-found");
}

// ---------------------------------------------------------------------------------------------
// Rate limits, the CLR
// ---------------------------------------------------------------------------------------------

#[test]
fn reads_have_their_own_rate_limit_with_retry_after() {
    let env = Env::new();
    let server = env.serve(&["--read-rate", "1"]);
    // The burst (twice the rate) was partly spent on the start-up health check: spend the rest.
    let answers: Vec<Resp> = (0..4).map(|_| server.get("/v1/checkpoint")).collect();
    let refused = answers.iter().find(|r| r.status == 429).expect("a read over the rate is refused");
    assert_problem(refused, 429, "rate-limited");
    let wait: u64 = refused.retry_after.as_deref().and_then(|s| s.parse().ok()).expect("Retry-After in seconds");
    assert!(wait >= 1, "{refused:?}");
    // The liveness probe and writes are not reads.
    assert_eq!(server.get("/healthz").status, 200);
    assert_eq!(server.post_events(env.emit_course(&env.issuer, "Welding I")).status, 201);
}

#[test]
fn verifications_do_not_count_against_the_write_limit_but_have_their_own() {
    let env = Env::new();
    let server = env.serve(&["--write-rate", "1", "--verify-rate", "2"]);
    // Four verifications (the verify burst), none of them a write.
    for _ in 0..4 {
        assert_eq!(server.post("/v1/verify", "{}").status, 200);
    }
    assert_problem(&server.post("/v1/verify-vc", "{}"), 429, "rate-limited");
    // The write burst is whole.
    let event = env.emit_course(&env.issuer, "Welding I");
    assert_eq!(server.post_events(&event).status, 201);
    assert_eq!(server.post_events(&event).status, 200);
    assert_problem(&server.post_events(&event), 429, "rate-limited");
}

/// Waits (bounded) until the wall clock is in a later second than when called.
fn next_second() {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let deadline = Instant::now() + PATIENCE;
    while time::OffsetDateTime::now_utc().unix_timestamp() == now {
        assert!(Instant::now() < deadline);
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_learners_clr_is_signed_once_per_log_position() {
    let env = Env::new();
    let server = env.serve(&[]);
    server.append(&env.emit_course(&env.issuer, "Welding I"));
    let path = format!("/v1/learners/{}/clr", env.learner.did);
    let first = server.get(&path);
    assert_eq!(first.status, 200, "{first:?}");
    next_second();
    let again = server.get(&path);
    assert_eq!(again.body, first.body, "signed again at the same log position");

    server.append(&env.emit_course(&env.issuer, "Welding II"));
    let after = server.get(&path);
    assert_eq!(after.status, 200, "{after:?}");
    assert!(after.body.contains("Welding II"), "a new position, a new CLR: {}", after.body);
}
