//! The issuer agent on loopback: `credledger agent` beside a running ledger, the env's issuer
//! its key, its own directory in the env, and the CSV imports a registrar runs against it.

use std::fs;
use std::process::Command;

use super::{BIN, Env, Server};

/// The admin token the tests start agents with.
pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";

/// One row of `agent import --offers-out`: what the mail merge sends a student.
#[derive(Debug, Clone)]
pub struct OfferRow {
    pub student_id: String,
    pub email: String,
    pub claim_url: String,
    pub pin: String,
    pub award: String,
}

/// Starts `credledger --server LEDGER agent` for the env's issuer, its directory `<tmp>/NAME`.
pub fn start(env: &Env, ledger: &Server, name: &str) -> Server {
    let dir = env.path(name);
    let mut command = Command::new(BIN);
    command.args(["--server", &ledger.url, "agent", "--issuer-key", env.issuer.path(), "--addr", "127.0.0.1:0"]);
    command.arg("--dir").arg(&dir).args(["--admin-token", ADMIN_TOKEN]);
    Server::spawn(env, "agent", command)
}

/// Imports `csv` (its text) into the agent with `agent import`; the offers it wrote for mail merge.
pub fn import(env: &Env, agent: &Server, name: &str, csv: &str) -> Vec<OfferRow> {
    let (file, offers) = (env.path(&format!("{name}.csv")), env.path(&format!("{name}-offers.csv")));
    fs::write(&file, csv).expect("write the CSV");
    let (file, offers_out) = (file.to_str().expect("utf-8"), offers.to_str().expect("utf-8"));
    let args =
        ["agent", "import", file, "--agent", &agent.url, "--admin-token", ADMIN_TOKEN, "--offers-out", offers_out];
    let out = env.run(&args);
    assert_eq!(out.code, 0, "agent import: {out:?}");
    let mut reader = csv::Reader::from_path(&offers).expect("the offers file");
    reader
        .records()
        .map(|row| {
            let row = row.expect("an offers row");
            let field = |i: usize| row.get(i).expect("five columns").to_owned();
            OfferRow { student_id: field(0), email: field(1), claim_url: field(2), pin: field(3), award: field(4) }
        })
        .collect()
}
