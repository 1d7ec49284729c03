//! Where the server's verifications get what a credential points at: a v1 status or a signed
//! status list of its own log from its [`View`] (never the network), and anything else only through the
//! guarded [`Fetcher`]: its operator's allowlist, public addresses, https, no redirects, a
//! timeout and a size limit. A refusal is the reason the status is STATUS-UNKNOWN (or the key
//! unresolved).

use std::sync::Arc;

use serde_json::Value;

use crate::http::fetch::Fetcher;
use crate::id::Did;
use crate::status_list::{KeyList, Purpose};
use crate::store::Store;
use crate::vc::{self, StatusFinding, StatusReference};
use crate::view::View;

/// The server's [`vc::Fetch`], for one verification.
pub(crate) struct Sources<'v> {
    pub view: View<'v, dyn Store>,
    /// This log's origin: v1 statuses under it are read from the view.
    pub origin: String,
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
    /// A status list of this log, read from the view: `url` is `{base}/v1/status-lists/{key}/
    /// {purpose}/{list}` and the key's latest signed list was signed for that `base` (whatever
    /// public URL the server has now). `None`: not one of this log's lists.
    fn own_list(&self, url: &str) -> Option<Result<Value, String>> {
        let (base, rest) = url.rsplit_once("/v1/status-lists/")?;
        let mut parts = rest.split('/');
        let (key, purpose, list) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let key: Did = key.parse().ok()?;
        let purpose: Purpose = purpose.parse().ok()?;
        let list: u32 = list.parse().ok()?;
        let found = match self.view.status_list(&key, purpose, list) {
            Ok(found) => found,
            Err(e) => return Some(Err(format!("this ledger could not read its list ({e})"))),
        };
        let signed = found.signed.as_ref().filter(|s| s.status_base == base)?;
        if !found.is_current(base) {
            return Some(Err(format!(
                "this ledger's list is stale: the log changed its bits after key {key} signed it at seq {}",
                signed.seq
            )));
        }
        let place = KeyList { base, key: &key, purpose, list };
        Some(Ok(place.secured(&found.bits, &signed.created_at, &signed.proof_value)))
    }
}
