//! Share links from the command line: publish a signed bundle on a ledger server as a link
//! (`share --publish`), and withdraw one (`share --unpublish LINK`). Both requests are signed here
//! with the learner's key, which never leaves this machine.

use anyhow::{Context, Result};
use credledger::SecretKey;
use credledger::bundle::Bundle;
use credledger::event::Timestamp;
use credledger::http::client::Client;
use credledger::share::{PublishRequest, RevokeRequest, Token};
use serde_json::Value;
use time::OffsetDateTime;

/// What the server answers a publication: the link, until when it works, and its QR code (SVG).
pub struct Published {
    pub link: String,
    pub expires_at: String,
    pub qr_svg: String,
}

/// Publishes `bundle` (signed by `learner`) on the server for `days`.
pub fn publish(
    client: &Client,
    bundle: &Bundle,
    days: u32,
    learner: &SecretKey,
    now: OffsetDateTime,
) -> Result<Published> {
    let request = PublishRequest::signed(serde_json::to_value(bundle)?, days, Timestamp::whole_seconds(now), learner);
    let answer = client.post_json("/v1/shares", &serde_json::to_string(&request)?)?.body;
    let field = |name: &str| answer.get(name).and_then(Value::as_str).map(str::to_owned);
    let missing = || anyhow::anyhow!("the server's answer has no link");
    Ok(Published {
        link: field("link").ok_or_else(missing)?,
        expires_at: field("expires_at").unwrap_or_default(),
        qr_svg: field("qr_svg").unwrap_or_default(),
    })
}

/// Withdraws the share link `link`, on the server it points to; returns when it was revoked.
pub fn unpublish(link: &str, learner: &SecretKey, now: OffsetDateTime) -> Result<String> {
    let token = Token::from_link(link).context("--unpublish: the link printed by `share --publish`, …/s/TOKEN")?;
    let base = link.rsplit_once("/s/").map(|(base, _)| base).filter(|b| b.starts_with("http"));
    let base = base.context("--unpublish: a whole link, http(s)://HOST/s/TOKEN")?;
    let request = RevokeRequest::signed(&token, Timestamp::whole_seconds(now), learner);
    let answer = Client::new(base).post_json("/v1/shares/revoke", &serde_json::to_string(&request)?)?.body;
    Ok(answer.get("revoked_at").and_then(Value::as_str).unwrap_or_default().to_owned())
}
