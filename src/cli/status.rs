//! How `verify-vc` learns a standard credential's status when no ledger server is named: it
//! fetches the `https://` status URL the credential names (https only, no redirects, a short
//! timeout, a small answer) and reads the ledger's `{status, decided_seq}`. Whatever goes wrong is
//! STATUS-UNKNOWN with the reason, never VALID.

use std::time::Duration;

use credledger::projection::CredentialState;
use credledger::vc::{StatusFinding, StatusReference};
use serde::Deserialize;

/// How long the whole lookup may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read; a status answer is a few hundred bytes.
const MAX_ANSWER: u64 = 16 * 1024;

/// What `GET /v1/status/{uuid}` answers (its other fields are not needed).
#[derive(Deserialize)]
struct StatusAnswer {
    status: CredentialState,
    decided_seq: Option<u64>,
}

/// The status at `reference`, fetched over https.
pub fn fetch(reference: &StatusReference) -> StatusFinding {
    match get(&reference.url) {
        Ok(answer) => StatusFinding::Found {
            state: answer.status,
            decided_seq: answer.decided_seq,
            signed_by: None,
            source: reference.url.clone(),
        },
        Err(why) => StatusFinding::Unknown(format!("{}: {why}", reference.url)),
    }
}

fn get(url: &str) -> Result<StatusAnswer, String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .https_only(true)
        .max_redirects(0)
        .http_status_as_error(false)
        .timeout_global(Some(TIMEOUT))
        .build()
        .into();
    let mut response = agent.get(url).call().map_err(|e| format!("unreachable ({e})"))?;
    match response.status().as_u16() {
        200 => {}
        404 => return Err("the ledger does not know this credential (HTTP 404)".into()),
        status => return Err(format!("the ledger answered HTTP {status}")),
    }
    let text = response
        .body_mut()
        .with_config()
        .limit(MAX_ANSWER)
        .read_to_string()
        .map_err(|e| format!("unreadable answer ({e})"))?;
    serde_json::from_str(&text).map_err(|e| format!("not a status answer ({e})"))
}
