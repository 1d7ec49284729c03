//! Host names to addresses for every HTTP client here (the CLI's `--server`, `load`, a
//! follower's forwarder, the issuer agent, the guarded fetcher).
//!
//! ureq resolves the host of every request, pooled connection or not, and with a time budget set
//! its default resolver runs the lookup on a new thread so that it can give up in time: one
//! thread made and ended per request, even for `127.0.0.1`. An IP address literal needs no
//! lookup, so [`LiteralFirst`] answers it at once, on the caller's thread; only real names go to
//! ureq's default resolver, with its time budget.

use std::net::{IpAddr, SocketAddr};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

/// Answers an IP address literal itself; asks ureq's default resolver for anything else.
#[derive(Debug, Default)]
pub struct LiteralFirst;

impl Resolver for LiteralFirst {
    fn resolve(&self, uri: &Uri, config: &Config, timeout: NextTimeout) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let Some(address) = literal(uri) else {
            return DefaultResolver::default().resolve(uri, config, timeout);
        };
        let mut addresses = self.empty();
        config.ip_family().keep_wanted(std::iter::once(address)).for_each(|a| addresses.push(a));
        if addresses.is_empty() { Err(ureq::Error::HostNotFound) } else { Ok(addresses) }
    }
}

/// The address `uri` names, when its host is an IP address literal (`127.0.0.1`, `[::1]`), with
/// its port or the scheme's.
fn literal(uri: &Uri) -> Option<SocketAddr> {
    let authority = uri.authority()?;
    let host = authority.host();
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let ip: IpAddr = host.parse().ok()?;
    let port = match (authority.port_u16(), uri.scheme_str()?) {
        (Some(port), _) => port,
        (None, "http") => 80,
        (None, "https") => 443,
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// An agent with `config` that resolves through [`LiteralFirst`].
pub fn agent(config: Config) -> ureq::Agent {
    ureq::Agent::with_parts(config, DefaultConnector::new(), LiteralFirst)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ureq::Timeout;
    use ureq::unversioned::transport::time;

    use super::*;

    /// A time budget already spent: any lookup would have to give up.
    fn spent() -> NextTimeout {
        NextTimeout {
            after: time::Duration::Exact(Duration::ZERO),
            reason: Timeout::Resolve,
            per_read: None,
            per_write: None,
        }
    }

    fn resolve(url: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let uri: Uri = url.parse().expect("a URI");
        LiteralFirst.resolve(&uri, &Config::default(), spent()).map(|a| a.iter().copied().collect())
    }

    #[test]
    fn an_address_literal_is_its_own_answer_without_a_lookup() {
        // With the budget spent, only an answer that needs no lookup can come back.
        assert_eq!(resolve("http://127.0.0.1:8080/v1/events").unwrap(), ["127.0.0.1:8080".parse().unwrap()]);
        assert_eq!(resolve("http://[::1]/").unwrap(), ["[::1]:80".parse().unwrap()]);
        assert_eq!(resolve("https://192.0.2.7/x").unwrap(), ["192.0.2.7:443".parse().unwrap()]);
    }

    #[test]
    fn the_ip_family_chosen_still_applies_to_a_literal() {
        let uri: Uri = "http://[::1]:8080/".parse().unwrap();
        let config = ureq::Agent::config_builder().ip_family(ureq::config::IpFamily::Ipv4Only).build();
        assert!(matches!(LiteralFirst.resolve(&uri, &config, spent()), Err(ureq::Error::HostNotFound)));
    }

    #[test]
    fn a_name_is_not_taken_for_a_literal() {
        for url in ["http://localhost:8080/", "http://127.0.0.1.example:80/", "http://1.2.3/", "ftp://127.0.0.1/"] {
            let uri: Uri = url.parse().unwrap();
            assert_eq!(literal(&uri), None, "{url}");
        }
    }
}
