//! Fetching what verifying a credential needs from other hosts (did:web documents, status lists,
//! v1 statuses) and what `claim` exchanges with an issuer agent (OID4VCI), guarded: https only,
//! no redirects followed, a timeout, a size limit, no proxy, and JSON read strictly.
//!
//! Where the fetch may go is a [`Reach`]. The CLI may fetch from any https host ([`Reach::Any`];
//! `http://` only to a loopback address, and only when told `--allow-http-loopback`). The server
//! must not become a way to make the ledger request URLs of anyone's choosing (SSRF): it fetches
//! only from the hosts its operator allows ([`Reach::Allowlist`], `serve --fetch-allow
//! HOST[:PORT]`), and never from a loopback, private, link-local or otherwise non-public address
//! unless the allowlist names that address itself. A host is resolved once, every address it
//! resolves to is checked, and the connection goes to the checked addresses: DNS cannot answer
//! one thing to the check and another to the connection.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use crate::canonical;
use crate::http::resolve::LiteralFirst;
use crate::text;

/// How long one fetch of the CLI may take, from resolving the name to the last byte of the answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// How long one fetch of the server may take: a verification request waits for it.
pub const SERVER_TIMEOUT: Duration = Duration::from_secs(5);

/// The largest answer read: status lists of millions of entries compress to a few KiB, and a DID
/// document is smaller still.
pub const MAX_ANSWER: u64 = 256 * 1024;

/// One `host[:port]` the server may fetch from (port 443 unless given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    host: String,
    port: u16,
}

impl Allowed {
    /// Does the entry name an address itself (`127.0.0.1:8443`, `[::1]`) rather than a host name?
    fn address(&self) -> Option<IpAddr> {
        self.host.trim_start_matches('[').trim_end_matches(']').parse().ok()
    }
}

impl FromStr for Allowed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("`{}` is not HOST or HOST:PORT (a DNS name or an IP address)", text::clip(s, text::QUOTE));
        let (host, port) = match s.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && (!host.contains(':') || host.ends_with(']')) => {
                (host, port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(bad)?)
            }
            _ => (s, 443),
        };
        let host = host.to_ascii_lowercase();
        let bracketed = host.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
        let ok = match bracketed {
            Some(v6) => v6.parse::<Ipv6Addr>().is_ok(),
            None => {
                !host.is_empty()
                    && host
                        .split('.')
                        .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
            }
        };
        if !ok {
            return Err(bad());
        }
        Ok(Allowed { host, port })
    }
}

/// Where fetches may go.
#[derive(Clone, Debug)]
pub enum Reach {
    /// Any https host (the CLI); `http_loopback`: also `http://` to loopback addresses.
    Any { http_loopback: bool },
    /// Only these hosts, at public addresses unless an entry names the address (the server).
    Allowlist(Vec<Allowed>),
}

/// Why the server will not connect to `ip` for a host name: `None` for a public address.
pub fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            let first = v6.segments()[0];
            if v6.is_loopback() {
                Some("a loopback address")
            } else if v6.is_unspecified() {
                Some("the unspecified address")
            } else if first & 0xfe00 == 0xfc00 {
                Some("a private (unique local) address")
            } else if first & 0xffc0 == 0xfe80 {
                Some("a link-local address")
            } else if v6.is_multicast() {
                Some("a multicast address")
            } else if first == 0x2001 && v6.segments()[1] == 0x0db8 {
                Some("a documentation address")
            } else if first == 0x0064 && v6.segments()[1] == 0xff9b || first == 0x2002 || v6.segments()[..6] == [0; 6] {
                Some("an address that embeds an IPv4 address (NAT64, 6to4, IPv4-compatible)")
            } else {
                None
            }
        }
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("a loopback address")
    } else if ip.is_private() {
        Some("a private address")
    } else if ip.is_link_local() {
        Some("a link-local address")
    } else if ip.is_unspecified() || a == 0 {
        Some("a \"this network\" address")
    } else if a == 100 && (64..128).contains(&b) {
        Some("a shared (carrier-grade NAT) address")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("a multicast, broadcast or reserved address")
    } else if ip.is_documentation()
        || (a == 198 && (18..20).contains(&b))
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
    {
        Some("a documentation, benchmarking or protocol-assignment address")
    } else {
        None
    }
}

/// Resolves once and lets through only the addresses the [`Reach`] permits.
#[derive(Debug)]
struct GuardedResolver {
    reach: Arc<Reach>,
}

impl Resolver for GuardedResolver {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let addresses = LiteralFirst.resolve(uri, config, timeout)?;
        let host = uri.host().unwrap_or_default();
        for address in addresses.iter() {
            if let Some(why) = refusal(&self.reach, uri, host, address.ip()) {
                return Err(ureq::Error::Io(io::Error::new(io::ErrorKind::PermissionDenied, why)));
            }
        }
        Ok(addresses)
    }
}

/// Why a connection to `ip` (one address `host` resolved to) is refused, if it is.
fn refusal(reach: &Reach, uri: &Uri, host: &str, ip: IpAddr) -> Option<String> {
    match reach {
        Reach::Any { .. } if uri.scheme_str() == Some("http") && !ip.is_loopback() => {
            Some(format!("{host} resolves to {ip}, not a loopback address: http is fetched only from loopback"))
        }
        Reach::Any { .. } => None,
        Reach::Allowlist(allowed) => {
            let named = allowed.iter().any(|a| a.address() == Some(ip));
            match non_public(ip) {
                Some(kind) if !named => Some(format!(
                    "{host} resolves to {ip}, {kind}: not fetched unless the allowlist names that address (--fetch-allow)"
                )),
                _ => None,
            }
        }
    }
}

/// A guarded HTTP client for JSON documents.
#[derive(Debug, Clone)]
pub struct Fetcher {
    agent: ureq::Agent,
    reach: Arc<Reach>,
    max_answer: u64,
}

impl Fetcher {
    /// A fetcher that reaches what `reach` permits, trusting the certificate authorities in the
    /// PEM file `ca` instead of the built-in (Mozilla) roots if given.
    pub fn new(reach: Reach, ca: Option<&Path>, timeout: Duration, max_answer: u64) -> Result<Self, String> {
        let mut config = ureq::Agent::config_builder()
            .max_redirects(0)
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .proxy(None)
            .user_agent(concat!("credledger/", env!("CARGO_PKG_VERSION")));
        if let Some(ca) = ca {
            let pem = std::fs::read(ca).map_err(|e| format!("{}: {e}", ca.display()))?;
            let roots: Vec<ureq::tls::Certificate<'static>> = ureq::tls::parse_pem(&pem)
                .filter_map(|item| match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                    _ => None,
                })
                .collect();
            if roots.is_empty() {
                return Err(format!("{}: no PEM certificate in it", ca.display()));
            }
            let roots = ureq::tls::RootCerts::Specific(Arc::new(roots));
            config = config.tls_config(ureq::tls::TlsConfig::builder().root_certs(roots).build());
        }
        let reach = Arc::new(reach);
        let resolver = GuardedResolver { reach: reach.clone() };
        let agent = ureq::Agent::with_parts(config.build(), DefaultConnector::new(), resolver);
        Ok(Fetcher { agent, reach, max_answer })
    }

    /// The JSON document at `url`, or why it was not fetched or not read.
    pub fn get_json(&self, url: &str) -> Result<Value, String> {
        let accept =
            "application/json, application/ld+json, application/did+json, application/vc+ld+json;q=0.9, */*;q=0.1";
        let answer = self.send(Request { url, accept, ..Request::default() })?;
        if answer.status != 200 {
            return Err(format!("answered HTTP {}", answer.status));
        }
        answer.json()
    }

    /// One request under the same guards, answered with any status: its status and body (up to
    /// the size limit). A redirect is an error, never followed.
    pub fn send(&self, request: Request<'_>) -> Result<Answer, String> {
        let Request { url, accept, content_type, bearer, body } = request;
        let uri: Uri = url.parse().map_err(|_| "not a URL".to_owned())?;
        let host = uri.host().unwrap_or_default().to_ascii_lowercase();
        if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
            return Err("a URL with user information is not fetched".into());
        }
        match (uri.scheme_str(), &*self.reach) {
            (Some("https"), _) => {}
            (Some("http"), Reach::Any { http_loopback: true }) if is_loopback_name(&host) => {}
            (Some("http"), Reach::Any { http_loopback: true }) => {
                return Err("http is fetched only from loopback (127.0.0.1, [::1], localhost)".into());
            }
            _ => return Err("only https URLs are fetched".into()),
        }
        if let Reach::Allowlist(allowed) = &*self.reach {
            let port = uri.port_u16().unwrap_or(443);
            if !allowed.iter().any(|a| a.host == host && a.port == port) {
                return Err(format!("{host}:{port} is not on this server's fetch allowlist (serve --fetch-allow)"));
            }
        }
        let authorization = bearer.map(|token| format!("Bearer {token}"));
        let sent = match body {
            None => {
                let mut get = self.agent.get(url).header("accept", accept);
                if let Some(authorization) = &authorization {
                    get = get.header("authorization", authorization);
                }
                get.call()
            }
            Some(body) => {
                let mut post = self.agent.post(url).header("accept", accept).header("content-type", content_type);
                if let Some(authorization) = &authorization {
                    post = post.header("authorization", authorization);
                }
                post.send(body)
            }
        };
        let mut response = sent.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        if (300..400).contains(&status) {
            let to = response.headers().get("location").and_then(|l| l.to_str().ok()).unwrap_or_default();
            return Err(format!(
                "redirected (HTTP {status} to `{}`): redirects are not followed",
                text::clip(to, text::QUOTE)
            ));
        }
        let body = response.body_mut().with_config().limit(self.max_answer).read_to_vec().map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => format!("the answer is larger than {} bytes", self.max_answer),
            other => describe(&other),
        })?;
        Ok(Answer { status, body })
    }
}

/// A request [`Fetcher::send`] makes: a GET, or a POST of `body` as `content_type`; with a bearer
/// token if given.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub url: &'a str,
    pub accept: &'a str,
    pub content_type: &'a str,
    pub bearer: Option<&'a str>,
    pub body: Option<&'a [u8]>,
}

impl Default for Request<'_> {
    fn default() -> Self {
        Request { url: "", accept: "application/json", content_type: "application/json", bearer: None, body: None }
    }
}

/// What [`Fetcher::send`] got back.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Answer {
    /// The body read as strict JSON.
    pub fn json(&self) -> Result<Value, String> {
        canonical::parse_strict(&self.body).map_err(|e| format!("the answer is not JSON ({e})"))
    }
}

/// Is `host` (lowercase, from a URL) a loopback address or `localhost`?
fn is_loopback_name(host: &str) -> bool {
    host == "localhost"
        || host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A fetch error in words.
fn describe(error: &ureq::Error) -> String {
    match error {
        ureq::Error::Io(e) if e.kind() == io::ErrorKind::PermissionDenied => e.to_string(),
        ureq::Error::Timeout(which) => format!("no complete answer in time ({which})"),
        ureq::Error::HostNotFound => "the host name does not resolve".to_owned(),
        other => format!("unreachable ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_that_are_not_public_are_named() {
        let cases = [
            ("127.0.0.1", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("192.168.1.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("0.0.0.0", Some("this network")),
            ("100.64.0.1", Some("carrier-grade")),
            ("255.255.255.255", Some("broadcast")),
            ("224.0.0.1", Some("multicast")),
            ("192.0.2.1", Some("documentation")),
            ("198.18.0.1", Some("benchmarking")),
            ("::1", Some("loopback")),
            ("::", Some("unspecified")),
            ("fd00::1", Some("unique local")),
            ("fe80::1", Some("link-local")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::ffff:127.0.0.1", Some("loopback")),
            ("64:ff9b::a00:1", Some("NAT64")),
            ("2002:a00:1::", Some("6to4")),
            ("ff02::1", Some("multicast")),
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("2606:4700::1111", None),
        ];
        for (ip, want) in cases {
            let got = non_public(ip.parse().unwrap());
            match want {
                Some(word) => assert!(got.is_some_and(|g| g.contains(word)), "{ip}: {got:?}"),
                None => assert_eq!(got, None, "{ip}"),
            }
        }
    }

    #[test]
    fn the_allowlist_admits_a_named_address_and_only_public_ones_for_names() {
        let uri: Uri = "https://status.example/list".parse().unwrap();
        let allow = Reach::Allowlist(vec!["status.example".parse().unwrap(), "127.0.0.1:8443".parse().unwrap()]);
        let public: IpAddr = "93.184.215.14".parse().unwrap();
        assert_eq!(refusal(&allow, &uri, "status.example", public), None);
        for ip in ["10.0.0.7", "127.0.0.2", "169.254.169.254", "::1"] {
            let why = refusal(&allow, &uri, "status.example", ip.parse().unwrap()).unwrap();
            assert!(why.contains(ip) && why.contains("--fetch-allow"), "{why}");
        }
        assert_eq!(refusal(&allow, &uri, "127.0.0.1", "127.0.0.1".parse().unwrap()), None, "named by the allowlist");
        let http: Uri = "http://localhost:9/x".parse().unwrap();
        let cli = Reach::Any { http_loopback: true };
        assert_eq!(refusal(&cli, &http, "localhost", "127.0.0.1".parse().unwrap()), None);
        assert!(refusal(&cli, &http, "localhost", "10.0.0.1".parse().unwrap()).unwrap().contains("only from loopback"));
        assert_eq!(
            refusal(&cli, &uri, "status.example", "10.0.0.1".parse().unwrap()),
            None,
            "the CLI fetches any https"
        );
    }

    #[test]
    fn allowlist_entries_are_host_and_port() {
        let parsed = |s: &str| s.parse::<Allowed>();
        assert_eq!(parsed("Status.Example"), Ok(Allowed { host: "status.example".into(), port: 443 }));
        assert_eq!(parsed("127.0.0.1:8443"), Ok(Allowed { host: "127.0.0.1".into(), port: 8443 }));
        assert_eq!(parsed("[::1]:9"), Ok(Allowed { host: "[::1]".into(), port: 9 }));
        assert_eq!(parsed("[::1]").map(|a| a.port), Ok(443));
        for bad in
            ["", ":443", "a.example:0", "a.example:x", "https://a.example", "a b", "::1", "a..b", "user@a.example"]
        {
            assert!(parsed(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_the_reach_excludes_are_refused_before_anything_is_sent() {
        let server = Fetcher::new(Reach::Allowlist(vec![]), None, TIMEOUT, MAX_ANSWER).unwrap();
        let cli = Fetcher::new(Reach::Any { http_loopback: false }, None, TIMEOUT, MAX_ANSWER).unwrap();
        let tests = Fetcher::new(Reach::Any { http_loopback: true }, None, TIMEOUT, MAX_ANSWER).unwrap();
        let refused = [
            (&server, "https://10.0.0.1/list", "not on this server's fetch allowlist"),
            (&server, "http://status.example/list", "only https"),
            (&cli, "http://127.0.0.1:9/list", "only https"),
            (&cli, "ftp://status.example/list", "only https"),
            (&cli, "https://user:pw@status.example/list", "user information"),
            (&tests, "http://status.example/list", "only from loopback"),
            (&cli, "not a url", "not a URL"),
        ];
        for (fetcher, url, why) in refused {
            let err = fetcher.get_json(url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
