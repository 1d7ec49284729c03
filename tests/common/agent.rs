//! The issuer agent in tests: `credledger --server LEDGER agent …` on 127.0.0.1:0 ([`Agent`]),
//! killed when dropped, and a small OID4VCI wallet made of `key_proof::sign` and ureq
//! ([`Wallet`]).

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use credledger::SecretKey;
use credledger::oid4vci::{self, CredentialOffer, OfferLocation, key_proof};
use serde_json::{Value, json};

use super::{Env, Resp, Server, agent};

/// The admin token the tests start agents with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// A running `credledger agent`.
pub struct Agent {
    pub child: Child,
    pub url: String,
    pub dir: PathBuf,
    pub stderr: PathBuf,
    pub agent: ureq::Agent,
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Agent {
    /// Starts an agent for `env`'s issuer against `ledger`, its store in `<tmp>/<dir>`.
    pub fn start(env: &Env, ledger: &Server, dir: &str, extra: &[&str]) -> Agent {
        let dir = env.path(dir);
        let stderr = PathBuf::from(format!("{}.log", dir.display()));
        let child = Command::new(super::BIN)
            .args(["--server", &ledger.url, "agent", "--issuer-key", env.issuer.path()])
            .args(["--dir", dir.to_str().expect("utf-8"), "--addr", "127.0.0.1:0"])
            .args(extra)
            .env("CREDLEDGER_ADMIN_TOKEN", ADMIN_TOKEN)
            .current_dir(env.tmp.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr).expect("the agent's log file"))
            .spawn()
            .expect("spawn credledger agent");
        let mut agent = Agent { child, url: String::new(), dir, stderr, agent: agent() };
        let line = super::first_line(&mut agent.child);
        let Some(url) = line.trim_end().strip_prefix("listening on ") else {
            panic!("the agent's first line is not `listening on URL`: {line:?}; stderr: {}", agent.log());
        };
        agent.url = url.to_owned();
        let health = agent.get("/healthz");
        assert_eq!(health.status, 200, "{health:?}");
        agent
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    pub fn get(&self, path: &str) -> Resp {
        Server::read(self.agent.get(format!("{}{path}", self.url)).call()).expect("GET")
    }

    /// GET with the admin token.
    pub fn admin_get(&self, path: &str, token: Option<&str>) -> Resp {
        let mut request = self.agent.get(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        Server::read(request.call()).expect("GET")
    }

    /// POST with the admin token.
    pub fn admin_post(&self, path: &str, token: Option<&str>, body: &str) -> Resp {
        let mut request = self.agent.post(format!("{}{path}", self.url)).header("content-type", "text/csv");
        if let Some(token) = token {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        Server::read(request.send(body)).expect("POST")
    }

    /// Every award the agent holds.
    pub fn awards(&self) -> Vec<Value> {
        let r = self.admin_get("/admin/awards", Some(ADMIN_TOKEN));
        assert_eq!(r.status, 200, "{r:?}");
        r.json().as_array().expect("a list").clone()
    }

    /// Runs `credledger agent import FILE --agent URL ARGS` (the token from the environment).
    pub fn import(&self, env: &Env, file: &str, extra: &[&str]) -> super::Output {
        let out = Command::new(super::BIN)
            .args(["agent", "import", file, "--agent", &self.url])
            .args(extra)
            .env("CREDLEDGER_ADMIN_TOKEN", ADMIN_TOKEN)
            .current_dir(env.tmp.path())
            .output()
            .expect("run agent import");
        super::Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A wallet: a key, and the OID4VCI calls.
pub struct Wallet {
    pub key: SecretKey,
    pub http: ureq::Agent,
}

/// Where a wallet stands after the token endpoint.
#[derive(Debug, Clone)]
pub struct Session {
    pub issuer: String,
    pub access_token: String,
}

impl Wallet {
    pub fn new() -> Wallet {
        Wallet { key: SecretKey::generate().expect("a key"), http: agent() }
    }

    pub fn post_form(&self, url: &str, fields: &[(&str, &str)]) -> Resp {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        Server::read(self.http.post(url).header("content-type", "application/x-www-form-urlencoded").send(body))
            .expect("POST form")
    }

    /// The offer behind a claim link.
    pub fn offer(&self, claim_url: &str) -> CredentialOffer {
        let r = self.offer_answer(claim_url);
        assert_eq!(r.status, 200, "{r:?}");
        serde_json::from_str(&r.body).expect("an offer")
    }

    /// The token endpoint's answer for `code` and `pin`.
    pub fn token_answer(&self, issuer: &str, code: &str, pin: Option<&str>) -> Resp {
        let mut fields = vec![("grant_type", oid4vci::PRE_AUTHORIZED_GRANT), ("pre-authorized_code", code)];
        if let Some(pin) = pin {
            fields.push(("tx_code", pin));
        }
        self.post_form(&format!("{issuer}{}", oid4vci::TOKEN_PATH), &fields)
    }

    /// Redeems a claim link with its PIN.
    pub fn redeem(&self, claim_url: &str, pin: Option<&str>) -> Session {
        let offer = self.offer(claim_url);
        let code = &offer.grants.pre_authorized_code.code;
        let r = self.token_answer(&offer.credential_issuer, code, pin);
        assert_eq!(r.status, 200, "{r:?}");
        Session {
            issuer: offer.credential_issuer,
            access_token: r.json()["access_token"].as_str().expect("a token").to_owned(),
        }
    }

    pub fn nonce(&self, issuer: &str) -> String {
        let r = Server::read(self.http.post(format!("{issuer}{}", oid4vci::NONCE_PATH)).send_empty()).expect("nonce");
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["c_nonce"].as_str().expect("a c_nonce").to_owned()
    }

    /// The credential endpoint's answer for a proof signed over `nonce` for `aud`.
    pub fn credential_answer(&self, session: &Session, aud: &str, nonce: &str) -> Resp {
        let jwt = key_proof::sign(&self.key, aud, nonce, time::OffsetDateTime::now_utc());
        self.post_credential(
            session,
            json!({"credential_configuration_id": oid4vci::CONFIGURATION_ID, "proofs": {"jwt": [jwt]}}),
        )
    }

    /// The credential endpoint's answer to `body`.
    pub fn post_credential(&self, session: &Session, body: Value) -> Resp {
        Server::read(
            self.http
                .post(format!("{}{}", session.issuer, oid4vci::CREDENTIAL_PATH))
                .header("authorization", format!("Bearer {}", session.access_token))
                .header("content-type", "application/json")
                .send(body.to_string()),
        )
        .expect("POST credential")
    }

    /// The whole flow: the credential.
    pub fn claim(&self, claim_url: &str, pin: Option<&str>) -> Value {
        self.claim_with(&self.redeem(claim_url, pin))
    }

    /// A new nonce and the credential for `session`.
    pub fn claim_with(&self, session: &Session) -> Value {
        let nonce = self.nonce(&session.issuer);
        let r = self.credential_answer(session, &session.issuer, &nonce);
        assert_eq!(r.status, 200, "{r:?}");
        r.json()["credentials"][0]["credential"].clone()
    }

    /// The answer to fetching a claim link's offer.
    pub fn offer_answer(&self, claim_url: &str) -> Resp {
        let Ok(OfferLocation::Reference(uri)) = oid4vci::locate_offer(claim_url) else { panic!("{claim_url}") };
        Server::read(self.http.get(&uri).call()).expect("GET offer")
    }

    /// The credential endpoint's answer for this key proof, sent as draft 15's single `proof`.
    pub fn credential_with_jwt(&self, session: &Session, jwt: &str) -> Resp {
        self.post_credential(session, json!({"credential_configuration_id": oid4vci::CONFIGURATION_ID, "proof": {"proof_type": "jwt", "jwt": jwt}}))
    }
}

/// A CSV export of `n` completions (students S0001…), all courses.
pub fn export(n: usize) -> String {
    let mut csv = String::from("student_id,email,kind,title,code,credits,hours,employer,completed,skills\n");
    for i in 0..n {
        csv.push_str(&format!(
            "S{i:04},student{i}@example.edu,course,Welding {i},WLD-{i},3,,,2026-05-01,esco:welding=Welding;esco:safety=Safety\n"
        ));
    }
    csv
}

/// Reads an offers.csv: one map per row.
pub fn offers(path: &std::path::Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).expect("offers.csv");
    reader.deserialize().map(|r| r.expect("a row")).collect()
}

/// Imports `csv` (its text, written to `<tmp>/NAME.csv`) into `agent` with `agent import
/// --offers-out`, asserting success: the offers for mail merge, one map per row.
pub fn import_offers(
    env: &Env,
    agent: &Agent,
    name: &str,
    csv: &str,
) -> Vec<std::collections::BTreeMap<String, String>> {
    let (file, offers_out) = (env.path(&format!("{name}.csv")), env.path(&format!("{name}-offers.csv")));
    fs::write(&file, csv).expect("write the CSV");
    let out = agent.import(env, file.to_str().expect("utf-8"), &["--offers-out", offers_out.to_str().expect("utf-8")]);
    assert_eq!(out.code, 0, "agent import: {out:?}");
    offers(&offers_out)
}
