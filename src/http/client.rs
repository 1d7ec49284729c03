//! A small blocking client of the HTTP contract, for the CLI's `--server URL`: an institution
//! signs locally and needs only its key file, never the ledger's files.

use std::time::Duration;

use serde_json::Value;

/// A running ledger's base URL and an HTTP agent.
#[derive(Debug, Clone)]
pub struct Client {
    base: String,
    agent: ureq::Agent,
}

/// What went wrong talking to the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with a problem.
    #[error("{detail} ({kind}, HTTP {status})")]
    Problem { status: u16, kind: String, detail: String },
    /// The server could not be reached, or its answer could not be read.
    #[error("talking to {base}: {reason}")]
    Transport { base: String, reason: String },
}

/// A JSON answer and its HTTP status.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
}

impl Client {
    /// A client of the ledger at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Self {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build();
        Client { base: base.trim_end_matches('/').to_owned(), agent: super::resolve::agent(config) }
    }

    fn transport(&self, e: impl std::fmt::Display) -> ClientError {
        ClientError::Transport { base: self.base.clone(), reason: e.to_string() }
    }

    fn finish(&self, mut response: ureq::http::Response<ureq::Body>) -> Result<(u16, String), ClientError> {
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().map_err(|e| self.transport(e))?;
        if status >= 400 {
            let problem: Value = serde_json::from_str(&text).unwrap_or_default();
            let field = |name: &str| problem.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
            let kind = field("type").rsplit('/').next().unwrap_or_default().to_owned();
            // What a server says is quoted bounded, like any input.
            let detail = if problem.is_object() { field("detail") } else { text.trim().to_owned() };
            let detail = crate::text::clip(&detail, super::problem::MAX_DETAIL);
            return Err(ClientError::Problem { status, kind, detail });
        }
        Ok((status, text))
    }

    fn json(&self, (status, text): (u16, String)) -> Result<Answer, ClientError> {
        let body = serde_json::from_str(&text).map_err(|e| self.transport(format!("the answer is not JSON: {e}")))?;
        Ok(Answer { status, body })
    }

    /// GET a JSON resource.
    pub fn get_json(&self, path: &str) -> Result<Answer, ClientError> {
        let response = self.agent.get(format!("{}{path}", self.base)).call().map_err(|e| self.transport(e))?;
        let answer = self.finish(response)?;
        self.json(answer)
    }

    /// GET a text resource.
    pub fn get_text(&self, path: &str) -> Result<String, ClientError> {
        let response = self.agent.get(format!("{}{path}", self.base)).call().map_err(|e| self.transport(e))?;
        Ok(self.finish(response)?.1)
    }

    /// POST JSON text, answer JSON.
    pub fn post_json(&self, path: &str, body: &str) -> Result<Answer, ClientError> {
        let response = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .send(body)
            .map_err(|e| self.transport(e))?;
        let answer = self.finish(response)?;
        self.json(answer)
    }
}
