//! Where the server's verifications get what a credential points at: a v1 status of its own
//! log, and a status list under its own public URL (the list it serves there), from its [`View`]
//! (never the network), and anything on another host only through the
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
        let own = url.strip_prefix(self.public_url.as_str()).and_then(|path| path.strip_prefix("/v1/status-lists/"));
        let Some(path) = own else { return self.fetcher.get_json(url) };
        let [key, purpose, list] = path.splitn(3, '/').collect::<Vec<_>>()[..] else {
            return Err(format!("{url} names no list of this server (key/purpose/list)"));
        };
        let unserved = |problem: Problem| format!("this server does not serve {url}: {}", problem.detail);
        let (key, purpose, list) =
            list_params((key.to_owned(), purpose.to_owned(), list.to_owned())).map_err(unserved)?;
        let found = self
            .view
            .status_list(&key, purpose, list)
            .map_err(|e| format!("this ledger could not read {url} ({e})"))?;
        served_list(&self.public_url, &key, purpose, list, &found).map_err(unserved)
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
