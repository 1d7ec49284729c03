//! A follower's appends go to the node that leads ([`crate::store::Store::stand`]): only the
//! leader sequences, so the nodes never fight over the log's length. `POST /v1/events` on a
//! follower hands the request to a forwarder thread, which groups the single events its clients
//! posted meanwhile into one array (so the leader gets few large requests, which it commits in
//! its groups), posts it to the leader's public `POST /v1/events` (no trust needed: the leader
//! checks every event as from any client) and gives each client its own answer. An array is
//! forwarded as it came.
//!
//! A forwarded request shows the nodes' token ([`node_token`], in [`FROM_A_NODE`]), which spares
//! it the leader's `--write-rate`: the follower limited its own clients already. The token grants
//! nothing else.
//!
//! A leader that does not answer (it died, or lost the lead) is looked up again in the store and
//! tried again for [`FAILOVER_WAIT`]; then the client gets `503 no-leader`. Resending is safe:
//! appends are idempotent, and a client is answered only with what the leader answered, so it is
//! acknowledged only after the leader's commit. When this node wins the lead meanwhile, the
//! request is appended here.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};

use crate::http::problem::Problem;
use crate::keys::SecretKey;
use crate::store::{Leadership, SharedStore};

/// How long a follower looks for a leader that answers before it refuses the append.
pub const FAILOVER_WAIT: Duration = Duration::from_secs(5);

/// The pause between two tries at reaching a leader.
const RETRY_PAUSE: Duration = Duration::from_millis(100);

/// Threads that forward: while one waits for the leader, the next collects the next group.
const FORWARDERS: usize = 2;

/// The most events one forwarded group holds (the leader's `POST /v1/events` bound).
const MAX_FORWARDED: usize = 1000;

/// The header a forwarded append shows the nodes' token in.
pub const FROM_A_NODE: &str = "credledger-node";

/// The token the nodes sharing a log show each other: derived from the operator's signature of a
/// fixed text (Ed25519 signs deterministically), so only a holder of the operator key (every
/// node) can make it. Never printed.
pub fn node_token(operator: &SecretKey) -> blake3::Hash {
    let signature = operator.sign(b"credledger 2026 forwarded appends");
    blake3::Hash::from(blake3::derive_key("credledger 2026 node token", &signature.to_bytes()))
}

/// An append a client posted to this node.
#[derive(Debug)]
pub struct Request {
    /// The body as received (one event, or an array).
    pub body: Bytes,
    /// One event, not an array.
    pub single: bool,
    /// With an array: all of its events or none.
    pub atomic: bool,
}

/// What became of a forwarded append.
#[derive(Debug)]
pub enum Outcome {
    /// The leader's answer for this request: its status and JSON body.
    Relayed { status: u16, body: Value },
    /// This node leads now: append here.
    Leading,
}

struct Job {
    request: Request,
    reply: oneshot::Sender<Outcome>,
}

/// This node's place among the nodes sharing the store, and its forwarders.
pub struct Forwarding {
    leadership: Arc<Leadership>,
    jobs: mpsc::Sender<Job>,
    /// The nodes' token, when this node holds the operator key.
    token: Option<blake3::Hash>,
}

impl std::fmt::Debug for Forwarding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forwarding").field("term", &self.leadership.term()).finish_non_exhaustive()
    }
}

impl Forwarding {
    /// Starts the forwarders of the node reached at `advertised`, posting to the leader with
    /// `token` ([`node_token`]) and answers awaited for at most `timeout`; a group holds at most
    /// `body_limit` bytes.
    pub fn start(
        store: SharedStore,
        leadership: Arc<Leadership>,
        advertised: String,
        token: Option<blake3::Hash>,
        body_limit: usize,
        timeout: Duration,
    ) -> std::io::Result<Self> {
        let (jobs, receiver) = mpsc::channel::<Job>(1024);
        let receiver = Arc::new(Mutex::new(receiver));
        let agent = crate::http::resolve::agent(
            ureq::Agent::config_builder().http_status_as_error(false).timeout_global(Some(timeout)).build(),
        );
        for _ in 0..FORWARDERS {
            let forwarder = Forwarder {
                store: store.clone(),
                leadership: leadership.clone(),
                advertised: advertised.clone(),
                agent: agent.clone(),
                token: token.map(|t| t.to_hex().to_string()),
                body_limit,
            };
            let receiver = receiver.clone();
            std::thread::Builder::new().name("credledger-forwarder".into()).spawn(move || forwarder.run(&receiver))?;
        }
        Ok(Forwarding { leadership, jobs, token })
    }

    /// Whether a request shows the nodes' token (compared in constant time).
    pub fn from_a_node(&self, shown: Option<&str>) -> bool {
        match (self.token, shown.and_then(|s| blake3::Hash::from_hex(s).ok())) {
            (Some(token), Some(shown)) => token == shown,
            _ => false,
        }
    }

    /// Whether this node leads now.
    pub fn leads(&self) -> bool {
        self.leadership.term().is_some()
    }

    /// The term this node leads in, if it does.
    pub fn term(&self) -> Option<u64> {
        self.leadership.term()
    }

    /// Forwards `request` to the leader and waits for its answer (bounded: the forwarders'
    /// requests time out, and they look for a leader for [`FAILOVER_WAIT`] at most).
    pub async fn forward(&self, request: Request) -> Result<Outcome, Problem> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { request, reply }).await.map_err(|_| Problem::unavailable("the forwarders stopped"))?;
        answer.await.map_err(|_| Problem::unavailable("the forwarder stopped before answering"))
    }
}

/// One forwarder thread.
struct Forwarder {
    store: SharedStore,
    leadership: Arc<Leadership>,
    advertised: String,
    agent: ureq::Agent,
    /// The nodes' token, in hex.
    token: Option<String>,
    body_limit: usize,
}

/// What one try at the leader came to.
enum Posted {
    Answer(u16, Value),
    Leading,
    Unreachable(String),
}

impl Forwarder {
    fn run(self, receiver: &Mutex<mpsc::Receiver<Job>>) {
        let mut carried: Option<Job> = None;
        loop {
            let (group, next) = {
                let Ok(mut jobs) = receiver.lock() else { return };
                let first = match carried.take() {
                    Some(job) => job,
                    None => match jobs.blocking_recv() {
                        Some(job) => job,
                        None => return,
                    },
                };
                self.collect(first, &mut jobs)
            };
            self.deliver(group);
            carried = next;
        }
    }

    /// `first` and, if it is a single event, the single events waiting behind it (within the
    /// bounds of one request); and the job that ended the group, if any (an array goes alone).
    fn collect(&self, first: Job, jobs: &mut mpsc::Receiver<Job>) -> (Vec<Job>, Option<Job>) {
        let groupable = |job: &Job| job.request.single;
        if !groupable(&first) {
            return (vec![first], None);
        }
        let mut size = first.request.body.len();
        let mut group = vec![first];
        while group.len() < MAX_FORWARDED {
            let Ok(job) = jobs.try_recv() else { break };
            if !groupable(&job) || size + job.request.body.len() + 2 > self.body_limit {
                return (group, Some(job));
            }
            size += job.request.body.len() + 1;
            group.push(job);
        }
        (group, None)
    }

    /// Forwards a group and answers each of its jobs.
    fn deliver(&self, group: Vec<Job>) {
        let (query, body) = match &group[..] {
            [job] => (if job.request.atomic { "?atomic=true" } else { "" }, job.request.body.to_vec()),
            jobs => {
                let mut body = Vec::with_capacity(jobs.iter().map(|j| j.request.body.len() + 1).sum::<usize>() + 1);
                body.push(b'[');
                for (i, job) in jobs.iter().enumerate() {
                    if i > 0 {
                        body.push(b',');
                    }
                    body.extend_from_slice(&job.request.body);
                }
                body.push(b']');
                ("", body)
            }
        };
        let outcomes: Vec<Outcome> = match self.post(query, &body) {
            Posted::Leading => group.iter().map(|_| Outcome::Leading).collect(),
            Posted::Unreachable(why) => {
                let problem = Problem::new(
                    actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
                    "no-leader",
                    format!(
                        "not appended: no leader to forward it to answered within {FAILOVER_WAIT:?} ({why}); resubmitting is safe"
                    ),
                );
                let body = serde_json::to_value(&problem).unwrap_or_default();
                group.iter().map(|_| Outcome::Relayed { status: problem.status, body: body.clone() }).collect()
            }
            Posted::Answer(status, body) if group.len() == 1 => vec![Outcome::Relayed { status, body }],
            Posted::Answer(status, body) => split(status, &body, group.len()),
        };
        for (job, outcome) in group.into_iter().zip(outcomes) {
            // A client that gave up is not an error here.
            let _ = job.reply.send(outcome);
        }
    }

    /// Posts `body` to the leader's `POST /v1/events`, looking the leader up again while it
    /// does not answer, for [`FAILOVER_WAIT`] at most. The leader is looked up for every group
    /// (one query): a node that no longer leads is never asked on a stale word, so forwarded
    /// requests cannot go round between followers.
    fn post(&self, query: &str, body: &[u8]) -> Posted {
        let deadline = Instant::now() + FAILOVER_WAIT;
        loop {
            if self.leadership.term().is_some() {
                return Posted::Leading;
            }
            let why = match self.store.leader() {
                Ok(Some(leader)) if leader.url != self.advertised => {
                    let url = format!("{}/v1/events{query}", leader.url);
                    let mut post = self.agent.post(&url).header("content-type", "application/json");
                    if let Some(token) = &self.token {
                        post = post.header(FROM_A_NODE, token);
                    }
                    let sent = post.send(body);
                    match sent.and_then(|mut r| Ok((r.status().as_u16(), r.body_mut().read_to_string()?))) {
                        Ok((status, text)) => {
                            let body = serde_json::from_str(&text).unwrap_or_else(|_| json!({"detail": text}));
                            return Posted::Answer(status, body);
                        }
                        Err(e) => format!("the leader of term {} at {} did not answer: {e}", leader.term, leader.url),
                    }
                }
                Ok(_) => "no node leads yet".to_owned(),
                Err(e) => format!("looking up the leader: {e}"),
            };
            if Instant::now() >= deadline {
                return Posted::Unreachable(why);
            }
            std::thread::sleep(RETRY_PAUSE);
        }
    }
}

/// The leader's answer to a group of `n` single events, as each event's own answer: what the
/// leader would have answered had it been posted alone.
fn split(status: u16, body: &Value, n: usize) -> Vec<Outcome> {
    let relayed = |status: u16, body: Value| Outcome::Relayed { status, body };
    match (status, body["results"].as_array(), body["ids"].as_array()) {
        (200, Some(results), _) if results.len() == n => results
            .iter()
            .map(|r| match r["seq"].as_u64() {
                Some(seq) => {
                    let status = if r["new"] == true { 201 } else { 200 };
                    relayed(status, json!({"seq": seq, "id": r["id"]}))
                }
                None => {
                    let mut problem = r.clone();
                    if let Some(fields) = problem.as_object_mut() {
                        fields.remove("index");
                    }
                    let status = r["status"].as_u64().and_then(|s| u16::try_from(s).ok()).unwrap_or(502);
                    relayed(status, problem)
                }
            })
            .collect(),
        (202, _, Some(ids)) if ids.len() == n => ids
            .iter()
            .map(|id| {
                relayed(
                    202,
                    json!({
                        "id": id,
                        "status": "pending",
                        "detail": "not committed yet; it may still commit: resubmitting the same event is safe",
                    }),
                )
            })
            .collect(),
        // A refusal of the whole request: each event gets it.
        _ => (0..n).map(|_| relayed(status, body.clone())).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answers(outcomes: Vec<Outcome>) -> Vec<(u16, Value)> {
        outcomes
            .into_iter()
            .map(|o| match o {
                Outcome::Relayed { status, body } => (status, body),
                Outcome::Leading => panic!("not relayed"),
            })
            .collect()
    }

    #[test]
    fn only_a_holder_of_the_operator_key_shows_the_nodes_token() {
        let (operator, stranger) = (SecretKey::from_seed(&[7; 32]), SecretKey::from_seed(&[8; 32]));
        let token = node_token(&operator);
        assert_eq!(token, node_token(&SecretKey::from_seed(&[7; 32])), "every node makes the same token");
        assert_ne!(token, node_token(&stranger));
        let (jobs, _receiver) = mpsc::channel(1);
        let forwarding = Forwarding { leadership: Arc::default(), jobs, token: Some(token) };
        assert!(forwarding.from_a_node(Some(token.to_hex().as_str())));
        assert!(!forwarding.from_a_node(Some(node_token(&stranger).to_hex().as_str())));
        assert!(!forwarding.from_a_node(Some("not hex")));
        assert!(!forwarding.from_a_node(None));
    }

    #[test]
    fn a_groups_answer_splits_into_each_events_own() {
        let problem = json!({"type": "https://credledger.dev/problems/bad-signature", "title": "Unprocessable Entity",
            "status": 422, "detail": "no", "index": 2});
        let body = json!({"appended": 1, "rejected": 1, "results": [
            {"index": 0, "seq": 7, "id": "a", "new": true},
            {"index": 1, "seq": 3, "id": "b", "new": false},
            problem,
        ]});
        let got = answers(split(200, &body, 3));
        assert_eq!(got[0], (201, json!({"seq": 7, "id": "a"})));
        assert_eq!(got[1], (200, json!({"seq": 3, "id": "b"})));
        assert_eq!(got[2].0, 422);
        assert_eq!(got[2].1["type"], "https://credledger.dev/problems/bad-signature");
        assert!(got[2].1.get("index").is_none(), "{}", got[2].1);
    }

    #[test]
    fn a_pending_group_is_pending_for_each_event_and_a_refused_one_refused_for_each() {
        let got = answers(split(202, &json!({"ids": ["a", "b"], "status": "pending"}), 2));
        assert_eq!(
            got.iter().map(|(s, b)| (*s, b["id"].clone())).collect::<Vec<_>>(),
            [(202, json!("a")), (202, json!("b"))]
        );
        let refused = json!({"type": "https://credledger.dev/problems/unavailable", "status": 503});
        let got = answers(split(503, &refused, 2));
        assert!(got.iter().all(|(s, b)| *s == 503 && *b == refused), "{got:?}");
    }
}
