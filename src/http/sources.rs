//! Where the server's verifications get what a credential points at: a v1 status of its own
//! log, and a status list of its own (under its public URL, or the URL its key signed it for: the
//! list it serves), from its [`View`] (never the network), and anything else only through the
//! guarded [`Fetcher`]: its operator's allowlist, public addresses, https, no redirects, a
//! timeout and a size limit. A refusal is the reason the status is STATUS-UNKNOWN (or the key
//! unresolved).

use std::sync::Arc;

use serde_json::Value;

use crate::http::fetch::Fetcher;
use crate::http::problem::Problem;
use crate::http::routes::{list_params, served_list};
use crate::store::Store;
use crate::vc::{self, StatusFinding, StatusReference};
use crate::view::View;

/// The server's [`vc::Fetch`], for one verification.
pub(crate) struct Sources<'v> {
    pub view: View<'v, dyn Store>,
    /// This log's origin: v1 statuses under it are read from the view.
    pub origin: String,
    /// This server's public URL: status lists under it are read from the view.
    pub public_url: String,
    pub fetcher: Arc<Fetcher>,
}

impl vc::Fetch for Sources<'_> {
    fn did_document(&mut self, did: &str) -> Result<Value, String> {
        let url = vc::did::web_document_url(did)?;
        self.fetcher.get_json(&url).map_err(|why| format!("{url}: {why}"))
    }

    fn status_list(&mut self, url: &str) -> Result<Value, String> {
        match self.own_list(url) {
            Some(found) => found,
            None => self.fetcher.get_json(url),
        }
    }

    fn ledger_status(&mut self, reference: &StatusReference) -> StatusFinding {
        if reference.origin != self.origin {
            return StatusFinding::Unknown(format!(
                "{} is not on this ledger (`{}`), and this server does not fetch status from other hosts",
                reference.url, self.origin
            ));
        }
        match self.view.credential_by_uuid(&reference.uuid) {
            Ok(Some(found)) => StatusFinding::Found {
                state: found.status.state,
                decided_seq: Some(found.status.decided_seq),
                signed_by: Some(found.status.signed_by),
                source: "this ledger".to_owned(),
            },
            Ok(None) => StatusFinding::Unknown(format!("this ledger has no credential urn:uuid:{}", reference.uuid)),
            Err(e) => StatusFinding::Unknown(format!("this ledger could not read its status ({e})")),
        }
    }
}

impl Sources<'_> {
    /// A status list of this log, read from the view as `GET /v1/status-lists/...` serves it:
    /// `url` is `{base}/v1/status-lists/{key}/{purpose}/{list}` where `base` is this server's
    /// public URL, or the URL the key's latest signed list was signed for (a ledger served at
    /// another address than its credentials name). `None`: not one of this log's lists.
    fn own_list(&self, url: &str) -> Option<Result<Value, String>> {
        let (base, path) = url.rsplit_once("/v1/status-lists/")?;
        let ours = base == self.public_url;
        let unserved = |problem: Problem| format!("this server does not serve {url}: {}", problem.detail);
        let [key, purpose, list] = path.splitn(3, '/').collect::<Vec<_>>()[..] else {
            return ours.then(|| Err(format!("{url} names no list of this server (key/purpose/list)")));
        };
        let (key, purpose, list) = match list_params((key.to_owned(), purpose.to_owned(), list.to_owned())) {
            Ok(parsed) => parsed,
            Err(problem) => return ours.then(|| Err(unserved(problem))),
        };
        let found = match self.view.status_list(&key, purpose, list) {
            Ok(found) => found,
            Err(e) => return Some(Err(format!("this ledger could not read {url} ({e})"))),
        };
        let signed_for_base = found.signed.as_ref().is_some_and(|s| s.status_base == base);
        if !ours && !signed_for_base {
            return None;
        }
        Some(served_list(base, &key, purpose, list, &found).map_err(unserved))
    }
}
