//! Another host, on loopback: a small web site on 127.0.0.1:0 (HTTPS with a test certificate, or
//! plain HTTP) that serves fixed answers by path, for credentials whose DID documents and status
//! lists live elsewhere. It can also redirect, answer too much, or never answer; it records every
//! path asked for, so a test can tell that nothing was fetched. Each connection is served by its
//! own thread, bounded in time; the site stops when dropped.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::tls::TestCertificate;

/// What the site answers at a path.
#[derive(Clone, Debug)]
pub enum Page {
    /// `200` with this JSON.
    Json(String),
    /// `302` to this location.
    Redirect(String),
    /// `200` with a JSON string of this many bytes.
    Large(usize),
    /// Accepts the request and never answers (until the site stops, or 30 s).
    Stall,
}

/// The longest a connection is kept open.
const CONNECTION_LIFE: Duration = Duration::from_secs(30);

pub struct Site {
    /// `https://127.0.0.1:PORT` (or `http://…`).
    pub origin: String,
    pub port: u16,
    pages: Arc<Mutex<BTreeMap<String, Page>>>,
    asked: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl Site {
    /// A site over HTTPS with `certificate` (valid for 127.0.0.1 and localhost).
    pub fn https(certificate: &TestCertificate) -> Site {
        let config = credledger::http::tls::server_config(&certificate.cert, &certificate.key).expect("TLS config");
        Site::start(Some(Arc::new(config)))
    }

    /// A site over plain HTTP.
    pub fn http() -> Site {
        Site::start(None)
    }

    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Site {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("address").port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let site = Site {
            origin: format!("{scheme}://127.0.0.1:{port}"),
            port,
            pages: Arc::default(),
            asked: Arc::default(),
            stop: Arc::default(),
        };
        let (pages, asked, stop) = (site.pages.clone(), site.asked.clone(), site.stop.clone());
        thread::spawn(move || {
            for stream in listener.incoming() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (pages, asked, stop, tls) = (pages.clone(), asked.clone(), stop.clone(), tls.clone());
                thread::spawn(move || {
                    let _ = stream.set_read_timeout(Some(CONNECTION_LIFE));
                    match tls {
                        Some(config) => {
                            let Ok(connection) = rustls::ServerConnection::new(config) else { return };
                            serve(rustls::StreamOwned::new(connection, stream), &pages, &asked, &stop);
                        }
                        None => serve(stream, &pages, &asked, &stop),
                    }
                });
            }
        });
        site
    }

    /// Serves `page` at `path` from now on.
    pub fn put(&self, path: &str, page: Page) {
        self.pages.lock().expect("pages").insert(path.to_owned(), page);
    }

    /// Serves `value` as JSON at `path`.
    pub fn put_json(&self, path: &str, value: &serde_json::Value) {
        self.put(path, Page::Json(value.to_string()));
    }

    /// The paths asked for so far.
    pub fn asked(&self) -> Vec<String> {
        self.asked.lock().expect("asked").clone()
    }

    /// `origin` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    mut stream: impl Read + Write,
    pages: &Mutex<BTreeMap<String, Page>>,
    asked: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head);
    let path = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
    asked.lock().expect("asked").push(path.clone());
    let page = pages.lock().expect("pages").get(&path).cloned();
    let (status, headers, body) = match page {
        None => ("404 Not Found", String::new(), "{}".to_owned()),
        Some(Page::Json(json)) => ("200 OK", String::new(), json),
        Some(Page::Redirect(to)) => ("302 Found", format!("Location: {to}\r\n"), String::new()),
        Some(Page::Large(n)) => ("200 OK", String::new(), format!("\"{}\"", "x".repeat(n))),
        Some(Page::Stall) => {
            let started = Instant::now();
            while !stop.load(Ordering::SeqCst) && started.elapsed() < CONNECTION_LIFE {
                thread::sleep(Duration::from_millis(50));
            }
            return;
        }
    };
    let answer = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{headers}\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes());
    let _ = stream.flush();
}
