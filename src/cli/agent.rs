//! The issuer agent's command-line side: the [`LedgerLink`] it reaches the ledger through (the
//! `--server` code every command uses: [`Target`], [`issuance`]), starting it (`agent`), and the
//! registrar's client (`agent import`), which posts a CSV export and writes the offers for mail
//! merge and the rejected rows.

use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use anyhow::{Context, Result, anyhow, bail};
use credledger::agent::issue::{LedgerLink, LinkError};
use credledger::agent::store::AgentStore;
use credledger::agent::{AgentConfig, import::RowError};
use credledger::http::client::{Client, ClientError};
use credledger::projection::registry::Issuer;
use credledger::{EventId, Payload, SecretKey};
use serde_json::Value;
use time::OffsetDateTime;

use crate::cli::issuance;
use crate::cli::target::Target;

/// The shortest admin token accepted.
pub const MIN_TOKEN: usize = 16;

/// The ledger at `--server`, signing with the issuer's key.
pub struct ServerLink {
    target: Target,
    client: Client,
    key: SecretKey,
    origin: OnceLock<String>,
}

impl ServerLink {
    pub fn new(server: &str, key: SecretKey) -> Self {
        ServerLink {
            target: Target::Remote(Client::new(server)),
            client: Client::new(server),
            key,
            origin: OnceLock::new(),
        }
    }

    /// Whether the key is a registered issuer's; `None` when the ledger cannot be asked.
    pub fn registered(&self) -> Option<bool> {
        let issuers: Vec<Issuer> = serde_json::from_value(self.client.get_json("/v1/issuers").ok()?.body).ok()?;
        Some(issuers.iter().any(|i| i.key(self.key.did()).is_some()))
    }
}

/// A failure talking to the ledger: a refusal (4xx but a timeout or a rate limit: nothing was
/// appended), or not knowing (unreachable, 5xx).
fn classify(e: &anyhow::Error) -> LinkError {
    match e.downcast_ref::<ClientError>() {
        Some(ClientError::Problem { status, .. }) if (400..500).contains(status) && ![408, 429].contains(status) => {
            LinkError::Refused { reason: e.to_string(), sign_again: issuance::sign_again(&e.to_string()) }
        }
        _ => LinkError::Unavailable(e.to_string()),
    }
}

impl LedgerLink for ServerLink {
    fn sign(&self, payload: Payload) -> Result<Vec<Value>, LinkError> {
        let events = issuance::sign(&self.target, &self.key, payload, false, OffsetDateTime::now_utc())
            .map_err(|e| classify(&e))?;
        if events.first().is_none_or(|e| e.value()["body"]["vc"].is_null()) {
            // No standard form 2: the ledger did not answer, or the key is no issuer's there.
            return Err(match self.registered() {
                None => LinkError::Unavailable("the ledger did not say its public URL and issuers".to_owned()),
                Some(_) => LinkError::Refused {
                    reason: format!("{} is not a registered issuer's key on the ledger", self.key.did()),
                    sign_again: false,
                },
            });
        }
        Ok(events.iter().map(|e| e.value().clone()).collect())
    }

    fn origin(&self) -> Result<String, LinkError> {
        if let Some(origin) = self.origin.get() {
            return Ok(origin.clone());
        }
        let origin = self
            .target
            .origin()
            .ok_or_else(|| LinkError::Unavailable("the ledger did not say its origin".to_owned()))?;
        Ok(self.origin.get_or_init(|| origin).clone())
    }

    fn append(&self, events: &[Value]) -> Result<(), LinkError> {
        let mut outcomes = Vec::new();
        self.target
            .append([events.to_vec()], true, OffsetDateTime::now_utc(), &mut |o| outcomes.extend(o))
            .map_err(|e| classify(&e))?;
        match outcomes.iter().filter_map(|o| o.as_ref().err()).find(|reason| !reason.is_empty()) {
            Some(reason) => {
                Err(LinkError::Refused { reason: reason.clone(), sign_again: issuance::sign_again(reason) })
            }
            None if outcomes.len() == events.len() => Ok(()),
            None => Err(LinkError::Unavailable("the ledger's answer did not account for every event".to_owned())),
        }
    }

    fn credential(&self, id: &EventId) -> Result<Value, LinkError> {
        self.target.standard_credential(id).map_err(|e| classify(&e))
    }
}

/// How the agent is started.
pub struct Start<'a> {
    pub server: &'a str,
    pub issuer_key: &'a Path,
    pub dir: &'a Path,
    pub addr: &'a str,
    pub public_url: Option<String>,
    pub admin_token: String,
    pub offer_lifetime: time::Duration,
}

/// `credledger agent`: serves until SIGINT or SIGTERM.
pub fn start(start: Start<'_>) -> Result<()> {
    if start.admin_token.chars().count() < MIN_TOKEN {
        bail!("--admin-token: at least {MIN_TOKEN} characters (the admin endpoints are never open without it)");
    }
    let key = SecretKey::read_file(start.issuer_key)?;
    let link = ServerLink::new(start.server, key);
    match link.registered() {
        Some(true) => {}
        Some(false) => bail!("--issuer-key: {} is not a registered issuer's key on {}", link.key.did(), start.server),
        None => tracing::warn!("the ledger at {} does not answer now; claims wait for it", start.server),
    }
    let store = AgentStore::open(start.dir)?;
    let listener = std::net::TcpListener::bind(start.addr).with_context(|| format!("binding {}", start.addr))?;
    let url = format!("http://{}", listener.local_addr()?);
    println!("listening on {url}");
    println!(
        "issuer {} · ledger {} · credential issuer {}",
        link.key.did(),
        start.server,
        start.public_url.as_deref().unwrap_or(&url)
    );
    let config = AgentConfig {
        public_url: start.public_url,
        admin_token: start.admin_token,
        offer_lifetime: start.offer_lifetime,
        resubmit_every: std::time::Duration::from_secs(30),
    };
    credledger::agent::run(listener, store, Arc::new(link), config)?;
    Ok(())
}

/// A lifetime: a whole number with `d`, `h`, `m` or `s`.
pub fn lifetime_arg(text: &str) -> Result<time::Duration> {
    let bad = || {
        anyhow!("--offer-lifetime: `{}` is not a lifetime like 30d, 12h, 90m or 45s", credledger::text::clip(text, 40))
    };
    let (number, unit) = text.trim().split_at(text.trim().len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let lifetime = match unit {
        "d" => time::Duration::days(n),
        "h" => time::Duration::hours(n),
        "m" => time::Duration::minutes(n),
        "s" => time::Duration::seconds(n),
        _ => return Err(bad()),
    };
    if n <= 0 || lifetime > time::Duration::days(366) {
        bail!("--offer-lifetime: between 1s and 366d");
    }
    Ok(lifetime)
}

/// What `agent import` was asked.
pub struct Import<'a> {
    pub file: &'a Path,
    pub agent: &'a str,
    pub admin_token: &'a str,
    pub map: Option<&'a str>,
    pub skip_bad: bool,
    pub pin: bool,
    pub offers_out: Option<&'a Path>,
    pub rejects_out: Option<PathBuf>,
}

/// The summary of an import: the agent's answer.
pub fn import(request: Import<'_>) -> Result<Value> {
    let csv = std::fs::read(request.file).with_context(|| format!("reading {}", request.file.display()))?;
    let mut query = form_urlencoded::Serializer::new(String::new());
    if let Some(map) = request.map {
        query.append_pair("map", map);
    }
    query.append_pair("skip_bad", if request.skip_bad { "true" } else { "false" });
    query.append_pair("pin", if request.pin { "true" } else { "false" });
    let url = format!("{}/admin/imports?{}", request.agent.trim_end_matches('/'), query.finish());
    let agent = credledger::http::resolve::agent(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(300)))
            .build(),
    );
    eprintln!("importing {} ({} bytes) into {}", request.file.display(), csv.len(), request.agent);
    let mut response = agent
        .post(&url)
        .header("content-type", "text/csv")
        .header("authorization", format!("Bearer {}", request.admin_token))
        .send(&csv[..])
        .with_context(|| format!("talking to the agent at {}", request.agent))?;
    let status = response.status().as_u16();
    let text = response.body_mut().with_config().limit(256 << 20).read_to_string()?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match status {
        200 => {}
        401 => bail!("--admin-token: the agent refused it"),
        422 => {
            let errors: Vec<RowError> = serde_json::from_value(body["errors"].clone()).unwrap_or_default();
            for error in &errors {
                eprintln!("{}: {error}", request.file.display());
            }
            bail!("{}", body["detail"].as_str().unwrap_or("the agent refused the file"));
        }
        _ => bail!("the agent answered HTTP {status}: {}", body["detail"].as_str().unwrap_or(text.trim())),
    }
    if let Some(path) = request.offers_out {
        write_offers(path, &body["offers"])?;
    }
    let rejected: Vec<RowError> = serde_json::from_value(body["rejected"].clone()).unwrap_or_default();
    if !rejected.is_empty() {
        let path = request.rejects_out.clone().unwrap_or_else(|| rejects_path(request.file));
        write_rejects(&csv, &rejected, &path)?;
        eprintln!("{} bad row entries: see {}", rejected.len(), path.display());
    }
    Ok(body)
}

/// `completions.csv` → `completions.rejects.csv`.
fn rejects_path(file: &Path) -> PathBuf {
    let stem = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".to_owned());
    file.with_file_name(format!("{stem}.rejects.csv"))
}

/// A new file only its owner can read (it holds claim links and PINs, or students' details).
fn private_file(path: &Path) -> Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))
}

/// offers.csv: student_id, email, claim_url, pin, award (new | imported before).
fn write_offers(path: &Path, offers: &Value) -> Result<()> {
    let mut writer = csv::Writer::from_writer(private_file(path)?);
    writer.write_record(["student_id", "email", "claim_url", "pin", "award"])?;
    for offer in offers.as_array().into_iter().flatten() {
        let field = |name: &str| offer[name].as_str().unwrap_or_default().to_owned();
        writer.write_record([field("student_id"), field("email"), field("claim_url"), field("pin"), field("award")])?;
    }
    writer.flush()?;
    Ok(())
}

/// The rejected rows as the file had them, each with its errors in a last column.
fn write_rejects(csv: &[u8], rejected: &[RowError], path: &Path) -> Result<()> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(csv);
    let mut writer = csv::Writer::from_writer(private_file(path)?);
    let mut header = reader.headers()?.clone();
    header.push_field("errors");
    writer.write_record(&header)?;
    let mut failed = Ok(());
    credledger::agent::import::records(&mut reader, |row, record| {
        let Ok(record) = record else { return };
        let errors: Vec<String> =
            rejected.iter().filter(|e| e.row == row).map(|e| format!("{}: {}", e.column, e.reason)).collect();
        if !errors.is_empty() && failed.is_ok() {
            let mut out = record.clone();
            out.push_field(&errors.join("; "));
            failed = writer.write_record(&out);
        }
    });
    failed?;
    writer.flush()?;
    Ok(())
}

/// The summary line of an import.
pub fn summary(body: &Value, offers_out: Option<&Path>) -> String {
    let n = |name: &str| body[name].as_u64().unwrap_or_default();
    let rejected = body["rejected"].as_array().map_or(0, Vec::len);
    let offers = match offers_out {
        Some(path) => format!("claim links and PINs for mail merge in {} (keep it private)", path.display()),
        None => "no --offers-out: the new claim links and PINs were not kept; re-issue an award's offer to get one"
            .to_owned(),
    };
    format!(
        "{} rows: {} new awards, {} imported before, {} bad row entries\n{offers}",
        n("rows"),
        n("new"),
        n("before"),
        rejected
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_read_with_their_unit() {
        assert_eq!(lifetime_arg("30d").unwrap(), time::Duration::days(30));
        assert_eq!(lifetime_arg("45s").unwrap(), time::Duration::seconds(45));
        assert!(lifetime_arg("30").is_err());
        assert!(lifetime_arg("0s").is_err());
        assert!(lifetime_arg("999d").is_err());
    }
}
