//! Where `verify-vc` gets what a credential points at when no ledger server is named: did:web
//! documents, Bitstring Status Lists and v1 statuses, over https through the guarded
//! [`Fetcher`] (any https host; `http://` to loopback only with `--allow-http-loopback`; no
//! redirects, a timeout, a size limit). Whatever goes wrong is STATUS-UNKNOWN (or an unresolved
//! key) with the reason, never VALID.

use credledger::http::fetch::Fetcher;
use credledger::projection::CredentialState;
use credledger::vc::{self, StatusFinding, StatusReference};
use serde::Deserialize;

/// What `GET /v1/status/{uuid}` answers (its other fields are not needed).
#[derive(Deserialize)]
struct StatusAnswer {
    status: CredentialState,
    decided_seq: Option<u64>,
}

/// The network, as `verify-vc` reaches it.
pub struct Https(pub Fetcher);

impl vc::Fetch for Https {
    fn did_document(&mut self, did: &str) -> Result<serde_json::Value, String> {
        let url = vc::did::web_document_url(did)?;
        self.0.get_json(&url).map_err(|why| format!("{url}: {why}"))
    }

    fn status_list(&mut self, url: &str) -> Result<serde_json::Value, String> {
        self.0.get_json(url)
    }

    fn ledger_status(&mut self, reference: &StatusReference) -> StatusFinding {
        let answer = self.0.get_json(&reference.url).and_then(|json| {
            serde_json::from_value::<StatusAnswer>(json).map_err(|e| format!("not a status answer ({e})"))
        });
        match answer {
            Ok(answer) => StatusFinding::Found {
                state: answer.status,
                decided_seq: answer.decided_seq,
                signed_by: None,
                source: reference.url.clone(),
            },
            Err(why) => StatusFinding::Unknown(format!("{}: {why}", reference.url)),
        }
    }
}
