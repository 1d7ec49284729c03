//! A [`Store`] on PostgreSQL, for several `serve` nodes sharing one log.
//!
//! Tables (created by the embedded, versioned migrations in [`MIGRATIONS`]): `log` (seq → event
//! id, canonical record bytes; the id unique), `nodes` (level, index → hash), `checkpoints`
//! (size → signed text), `entries` (projection key → bytes), `entries_staged` (a rebuild's or
//! an audit's entries, under their staging's number; a staging holds a lock on its number for
//! its life and is listed in `stagings_held`, and the rows of a listed one whose lock is free
//! are swept), `meta` (one row: the log's length) and,
//! outside the log, `shares` (hash of a share link's token → the published bundle). The database sequences appends: [`Store::commit`] runs one transaction that locks the
//! `meta` row, checks that the log is exactly as long as the batch was computed against (else
//! [`StoreError::Conflict`], and the writer catches up and retries), and writes the records,
//! nodes, checkpoint and entries with the new length, all in one statement ([`WRITE_BATCH`]). Two nodes can therefore never write the same
//! seq, a checkpoint is only ever committed over exactly the records before it, and projection
//! entries (with or without records) and `replace_entries` are only ever written over the log
//! they were computed from: nodes cannot fork the log, sign inconsistent checkpoints, or put back
//! projection entries older than what another node committed.
//!
//! One node leads ([`Store::stand`]: a session advisory lock held for the node's life on a
//! connection of its own; the `leader` row records its term and URL) and sequences every append;
//! the others forward theirs to it (`http::forward`). A writer that does not lead takes turns
//! ([`Store::writer_turn`], another session advisory lock, waited for in the order asked). The
//! fence stays the safety; the lead and the turns only spare the retries.
//!
//! A `COMMIT` whose answer is lost (the connection broke) may or may not have taken effect: that
//! is [`StoreError::OutcomeUnknown`], not a refusal.
//!
//! The blocking `postgres` client drives a runtime of its own, which must not run inside another
//! (the HTTP workers' tokio): every query runs on this store's own connection threads, and callers
//! wait on a channel.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use postgres::{Client, NoTls};

use crate::id::{EventId, Hash32, Seq};
use crate::merkle::NodeId;
use crate::projection::EntrySource;
use crate::store::{Batch, Leader, Leadership, Staging, Store, StoreError, WriterTurn, staging};

/// The schema, one migration per version, applied in order and recorded in `schema_version`.
pub const MIGRATIONS: &[&str] = &[
    // 1: the log, its id index, the tree, checkpoints, projection entries, and the length.
    "CREATE TABLE log (seq BIGINT PRIMARY KEY, id BYTEA NOT NULL UNIQUE, bytes BYTEA NOT NULL);
     CREATE TABLE nodes (level SMALLINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL,
                         PRIMARY KEY (level, idx));
     CREATE TABLE checkpoints (size BIGINT PRIMARY KEY, text TEXT NOT NULL);
     CREATE TABLE entries (key TEXT PRIMARY KEY COLLATE \"C\", value BYTEA NOT NULL);
     CREATE TABLE meta (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), len BIGINT NOT NULL);
     INSERT INTO meta (len) VALUES (0);",
    // 2: published bundles (share links), outside the log, by the hash of their token.
    "CREATE TABLE shares (key BYTEA PRIMARY KEY, value BYTEA NOT NULL);",
    // 3: the node that leads (sequences every append): its term and where it is reached.
    "CREATE TABLE leader (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), term BIGINT NOT NULL, url TEXT NOT NULL);
     INSERT INTO leader (term, url) VALUES (0, '');",
    // 4: stagings of projection entries (rebuild, audit), each under its own number.
    "CREATE SEQUENCE stagings;
     CREATE TABLE entries_staged (stage BIGINT NOT NULL, key TEXT NOT NULL COLLATE \"C\", value BYTEA NOT NULL,
                                  PRIMARY KEY (stage, key));",
    // 5: the stagings that hold their lock for their life (see STAGING_LOCK_CLASS): only
    // these are swept, so a staging of a build from before this one is never taken for dead.
    "CREATE TABLE stagings_held (stage BIGINT PRIMARY KEY);",
];

/// How many connections (and threads) one store keeps.
const CONNECTIONS: usize = 4;

/// How many projection entries one statement of a staging's write inserts.
const STAGE_CHUNK: usize = 10_000;

/// The session advisory lock writers take turns on ([`Store::writer_turn`]); not the migrations'.
const WRITER_LOCK: i64 = 7318920466;

/// The session advisory lock the nodes stand for the lead on ([`Store::stand`]).
const LEADER_LOCK: i64 = 7318920467;

/// The first key of the session advisory lock a staging holds on its number (the second key)
/// for its whole life, on a connection of its own: a staging whose lock can be taken is a dead
/// process's (killed mid-rebuild or mid-audit), and its rows are swept.
const STAGING_LOCK_CLASS: i32 = 731892;

/// A staging's number as its lock's second key.
fn staging_lock_key(stage: i64) -> i32 {
    (stage & 0x7fff_ffff) as i32
}

/// How often a node that follows tries for the lead, and a node that leads checks that its
/// session (so its lock) lives.
const ELECTION_TICK: Duration = Duration::from_millis(200);

/// How long a writer waits for its turn before it goes ahead without one (fenced, as every write
/// is): a node that holds the turn and hangs must not stop the others. A node that dies gives its
/// turn back at once, with its connection.
const TURN_WAIT: &str = "10s";

type Job = Box<dyn FnOnce(&mut Client) + Send>;

/// Work for the connection that holds the writers' lock.
enum TurnJob {
    Take(mpsc::SyncSender<Result<(), StoreError>>),
    GiveBack,
}

/// A PostgreSQL database holding one log.
pub struct PostgresStore {
    jobs: mpsc::Sender<Job>,
    turns: Mutex<mpsc::Sender<TurnJob>>,
    /// The database's URL, for the connections of the election.
    url: String,
    /// Whether this node leads, once it stands ([`Store::stand`]).
    leadership: OnceLock<Arc<Leadership>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresStore")
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("PostgreSQL: {e}"))
}

/// The URL (or `postgres:URL` spec) with any password masked, for messages.
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user[:password]@host:port/db`), applies the migrations
    /// this version knows that the database has not seen, and starts the connection threads.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let connect = || Client::connect(url, NoTls).map_err(|e| connection_failed(url, e));
        let mut first = connect()?;
        migrate(&mut first)?;
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        let mut clients = vec![first];
        for _ in 1..CONNECTIONS {
            clients.push(connect()?);
        }
        for client in clients {
            serve_jobs(client, receiver.clone())?;
        }
        let (turns, turn_jobs) = mpsc::channel::<TurnJob>();
        let turns_url = url.to_owned();
        std::thread::Builder::new()
            .name("credledger-postgres-turns".into())
            .spawn(move || keep_turns(&turns_url, turn_jobs))
            .map_err(backend)?;
        Ok(PostgresStore { jobs: sender, turns: Mutex::new(turns), url: url.to_owned(), leadership: OnceLock::new() })
    }

    /// Runs `query` on one of the store's connections and waits for its answer.
    fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run_on(&self.jobs, query)
    }
}

/// Why connecting to `url` failed, with its password hidden.
fn connection_failed(url: &str, e: postgres::Error) -> StoreError {
    StoreError::Backend(format!("connecting to {}: {e}", redacted(url)))
}

/// Runs the jobs sent to `receiver` on `client`, on a thread of its own, until every sender
/// is gone; then the connection closes.
fn serve_jobs(mut client: Client, receiver: Arc<Mutex<mpsc::Receiver<Job>>>) -> Result<(), StoreError> {
    std::thread::Builder::new()
        .name("credledger-postgres".into())
        .spawn(move || {
            loop {
                let job = match receiver.lock() {
                    Ok(r) => r.recv(),
                    Err(_) => return,
                };
                match job {
                    Ok(job) => job(&mut client),
                    Err(_) => return,
                }
            }
        })
        .map(|_| ())
        .map_err(backend)
}

/// Runs `query` on one of the connections `jobs` feeds and waits for its answer.
fn run_on<T: Send + 'static>(
    jobs: &mpsc::Sender<Job>,
    query: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    ask_on(jobs, query)?.wait()
}

/// A query sent to a connection, whose answer is not yet waited for.
struct Asked<T>(mpsc::Receiver<Result<T, StoreError>>);

impl<T> Asked<T> {
    fn wait(self) -> Result<T, StoreError> {
        self.0.recv().map_err(|_| backend("a connection thread stopped mid-query"))?
    }
}

/// Sends `query` to one of the connections `jobs` feeds, without waiting for its answer.
fn ask_on<T: Send + 'static>(
    jobs: &mpsc::Sender<Job>,
    query: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
) -> Result<Asked<T>, StoreError> {
    let (reply, answer) = mpsc::sync_channel(1);
    let job: Job = Box::new(move |client| {
        let _ = reply.send(query(client));
    });
    jobs.send(job).map_err(|_| backend("the connection threads have stopped"))?;
    Ok(Asked(answer))
}

/// Takes and gives back the writers' lock on a connection of its own (a session lock lives as
/// long as its connection), reconnecting when the connection broke.
fn keep_turns(url: &str, jobs: mpsc::Receiver<TurnJob>) {
    let mut client: Option<Client> = None;
    for job in jobs {
        match job {
            TurnJob::Take(reply) => {
                let _ = reply.send(take_turn(url, &mut client));
            }
            TurnJob::GiveBack => {
                let given = client.as_mut().map(|c| c.execute("SELECT pg_advisory_unlock($1)", &[&WRITER_LOCK]));
                if matches!(given, Some(Err(_))) {
                    // A broken connection held no lock any more: start afresh.
                    client = None;
                }
            }
        }
    }
}

fn take_turn(url: &str, client: &mut Option<Client>) -> Result<(), StoreError> {
    let connected = match client {
        Some(c) => c,
        None => {
            let mut c = Client::connect(url, NoTls).map_err(backend)?;
            c.batch_execute(&format!("SET lock_timeout = '{TURN_WAIT}'")).map_err(backend)?;
            client.insert(c)
        }
    };
    connected.execute("SELECT pg_advisory_lock($1)", &[&WRITER_LOCK]).map(|_| ()).map_err(|e| {
        if e.is_closed() {
            *client = None;
        }
        backend(e)
    })
}

/// Stands for the lead until `leadership` is dropped: tries for the lead's session lock on a
/// connection of its own every [`ELECTION_TICK`]; once it holds it, records a new term and
/// `advertised` in the `leader` row and leads, checking every tick that its session lives. A
/// session that breaks loses its lock (the database frees it), so this node steps down and
/// stands again on a new connection.
fn campaign(db: &str, advertised: &str, leadership: Weak<Leadership>) {
    let mut client: Option<Client> = None;
    while let Some(leadership) = leadership.upgrade() {
        if let Err(e) = hold_or_take_lead(db, advertised, &mut client, &leadership) {
            if leadership.term().is_some() {
                tracing::warn!("this node lost the lead: {e}");
            }
            leadership.step_down();
            // Dropping the connection frees the lock, if the session still held it.
            client = None;
        }
        drop(leadership);
        std::thread::sleep(ELECTION_TICK);
    }
}

/// One tick of [`campaign`].
fn hold_or_take_lead(
    db: &str,
    advertised: &str,
    client: &mut Option<Client>,
    leadership: &Leadership,
) -> Result<(), postgres::Error> {
    let connected = match client {
        Some(c) => c,
        None => client.insert(Client::connect(db, NoTls)?),
    };
    if leadership.term().is_some() {
        // The session lives, so does its lock.
        return connected.simple_query("SELECT 1").map(|_| ());
    }
    let won: bool = connected.query_one("SELECT pg_try_advisory_lock($1)", &[&LEADER_LOCK])?.get(0);
    if won {
        let term: i64 =
            connected.query_one("UPDATE leader SET term = term + 1, url = $1 RETURNING term", &[&advertised])?.get(0);
        tracing::info!(term, url = advertised, "this node leads: it sequences every append");
        leadership.lead(term.unsigned_abs());
    }
    Ok(())
}

/// Applies the migrations the database has not seen, each in its own transaction; concurrent
/// openers serialize on an advisory lock.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(backend)?;
    tx.batch_execute(
        "SELECT pg_advisory_xact_lock(7318920465);
         CREATE TABLE IF NOT EXISTS schema_version (version INT PRIMARY KEY);",
    )
    .map_err(backend)?;
    let applied: i32 =
        tx.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[]).map_err(backend)?.get(0);
    if applied as usize > MIGRATIONS.len() {
        return Err(StoreError::Backend(format!(
            "the database is at schema version {applied}, newer than this credledger knows ({})",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(applied as usize) {
        tx.batch_execute(sql).map_err(backend)?;
        tx.execute("INSERT INTO schema_version (version) VALUES ($1)", &[&(i as i32 + 1)]).map_err(backend)?;
    }
    tx.commit().map_err(backend)
}

/// A range bound or limit for a query: past `i64::MAX` means "no bound", so it saturates.
fn query_bound(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_i64(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::Backend(format!("{n} does not fit PostgreSQL's BIGINT")))
}

fn to_u64(n: i64) -> Result<u64, StoreError> {
    u64::try_from(n).map_err(|_| StoreError::Corrupt(format!("a stored count or seq is negative: {n}")))
}

fn hash(bytes: &[u8]) -> Result<Hash32, StoreError> {
    bytes.try_into().map(Hash32).map_err(|_| StoreError::Corrupt("a stored hash is not 32 bytes".into()))
}

/// A failed `COMMIT`: an error the server reported means it rolled back; any other (the
/// connection broke while committing) leaves the outcome unknown.
fn commit_error(e: postgres::Error) -> StoreError {
    match e.as_db_error() {
        Some(_) => backend(e),
        None => StoreError::OutcomeUnknown(format!("PostgreSQL: {e}")),
    }
}

/// A batch as one statement (so one implicit transaction, and one round trip with its parse):
/// the fence moves the `meta` row from the batch's length to the new one, locking it until the
/// statement commits; every other part writes only if the fence did, one part per table, rows
/// passed as arrays. It answers whether the fence held.
const WRITE_BATCH: &str = "
WITH fence AS (UPDATE meta SET len = $2 WHERE len = $1 RETURNING len),
log_rows AS (
    INSERT INTO log (seq, id, bytes)
    SELECT * FROM UNNEST($3::BIGINT[], $4::BYTEA[], $5::BYTEA[]) WHERE EXISTS (SELECT 1 FROM fence)),
node_rows AS (
    INSERT INTO nodes (level, idx, hash)
    SELECT * FROM UNNEST($6::SMALLINT[], $7::BIGINT[], $8::BYTEA[]) WHERE EXISTS (SELECT 1 FROM fence)
    ON CONFLICT (level, idx) DO UPDATE SET hash = EXCLUDED.hash),
checkpoint_row AS (
    INSERT INTO checkpoints (size, text)
    SELECT $9::BIGINT, $10::TEXT WHERE $9::BIGINT IS NOT NULL AND EXISTS (SELECT 1 FROM fence)
    ON CONFLICT (size) DO NOTHING),
kept AS (
    INSERT INTO entries (key, value)
    SELECT * FROM UNNEST($11::TEXT[], $12::BYTEA[]) WHERE EXISTS (SELECT 1 FROM fence)
    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value),
deleted AS (DELETE FROM entries WHERE key = ANY($13::TEXT[]) AND EXISTS (SELECT 1 FROM fence))
SELECT EXISTS (SELECT 1 FROM fence)";

/// Writes the batch under the fence in one statement ([`WRITE_BATCH`]), so a batch costs the
/// same round trip whatever its size. An error the server reported means it rolled back; any
/// other (the connection broke) leaves the outcome unknown.
fn write_batch(client: &mut Client, batch: &Batch) -> Result<(), StoreError> {
    let next = batch.check_fence(batch.log_len)?;
    let seqs = batch.records.iter().map(|r| to_i64(r.seq)).collect::<Result<Vec<_>, _>>()?;
    let ids: Vec<&[u8]> = batch.records.iter().map(|r| &r.id.0.0[..]).collect();
    let bytes: Vec<&[u8]> = batch.records.iter().map(|r| &r.bytes[..]).collect();
    let levels: Vec<i16> = batch.nodes.iter().map(|(id, _)| i16::from(id.level)).collect();
    let indexes = batch.nodes.iter().map(|(id, _)| to_i64(id.index)).collect::<Result<Vec<_>, _>>()?;
    let hashes: Vec<&[u8]> = batch.nodes.iter().map(|(_, h)| &h.0[..]).collect();
    let checkpoint_size = batch.checkpoint.as_ref().map(|(size, _)| to_i64(*size)).transpose()?;
    let checkpoint_text = batch.checkpoint.as_ref().map(|(_, text)| text.as_str());
    // A batch changes each key at most once; the last change of a key wins if not.
    let mut entries = std::collections::BTreeMap::new();
    for (key, value) in &batch.entries {
        entries.insert(key.as_str(), value.as_deref());
    }
    let (kept, deleted): (Vec<_>, Vec<_>) = entries.into_iter().partition(|(_, v)| v.is_some());
    let kept_keys: Vec<&str> = kept.iter().map(|(k, _)| *k).collect();
    let kept_values: Vec<&[u8]> = kept.iter().filter_map(|(_, v)| *v).collect();
    let deleted_keys: Vec<&str> = deleted.iter().map(|(k, _)| *k).collect();
    let fenced = client
        .query_one(
            WRITE_BATCH,
            &[
                &to_i64(batch.log_len)?,
                &to_i64(next)?,
                &seqs,
                &ids,
                &bytes,
                &levels,
                &indexes,
                &hashes,
                &checkpoint_size,
                &checkpoint_text,
                &kept_keys,
                &kept_values,
                &deleted_keys,
            ],
        )
        .map_err(|e| match e.as_db_error() {
            Some(_) => backend(e),
            None => StoreError::OutcomeUnknown(format!("PostgreSQL: {e}")),
        })?
        .get::<_, bool>(0);
    if fenced {
        return Ok(());
    }
    // Another writer appended first: nothing was written.
    let len = to_u64(client.query_one("SELECT len FROM meta", &[]).map_err(backend)?.get(0))?;
    Err(StoreError::Conflict { expected: batch.log_len, len })
}

fn pairs(rows: Vec<postgres::Row>) -> Vec<(String, Vec<u8>)> {
    rows.into_iter().map(|row| (row.get(0), row.get(1))).collect()
}

impl Store for PostgresStore {
    fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        self.run(move |client| write_batch(client, &batch))
    }

    fn len(&self) -> Result<u64, StoreError> {
        self.run(|client| to_u64(client.query_one("SELECT len FROM meta", &[]).map_err(backend)?.get(0)))
    }

    fn records(&self, from: Seq, limit: usize) -> Result<Vec<Vec<u8>>, StoreError> {
        let (from, limit) = (query_bound(from), query_bound(limit as u64));
        self.run(move |client| {
            let rows = client
                .query("SELECT bytes FROM log WHERE seq >= $1 ORDER BY seq LIMIT $2", &[&from, &limit])
                .map_err(backend)?;
            Ok(rows.into_iter().map(|row| row.get(0)).collect())
        })
    }

    fn seq_of(&self, id: &EventId) -> Result<Option<Seq>, StoreError> {
        let id = id.0.0.to_vec();
        self.run(move |client| {
            let row = client.query_opt("SELECT seq FROM log WHERE id = $1", &[&id]).map_err(backend)?;
            row.map(|r| to_u64(r.get(0))).transpose()
        })
    }

    fn seqs_of(&self, ids: &[EventId]) -> Result<Vec<Option<Seq>>, StoreError> {
        self.seqs_of_meanwhile(ids, &mut || ())
    }

    fn seqs_of_meanwhile(&self, ids: &[EventId], meanwhile: &mut dyn FnMut()) -> Result<Vec<Option<Seq>>, StoreError> {
        let wanted: Vec<Vec<u8>> = ids.iter().map(|id| id.0.0.to_vec()).collect();
        // On one connection while `meanwhile` reads on the others.
        let asked = ask_on(&self.jobs, move |client| {
            let rows = client.query("SELECT id, seq FROM log WHERE id = ANY($1)", &[&wanted]).map_err(backend)?;
            rows.into_iter()
                .map(|row| Ok((row.get::<_, Vec<u8>>(0), to_u64(row.get(1))?)))
                .collect::<Result<std::collections::HashMap<_, _>, StoreError>>()
        });
        meanwhile();
        let found = asked?.wait()?;
        Ok(ids.iter().map(|id| found.get(&id.0.0[..]).copied()).collect())
    }

    fn node(&self, id: NodeId) -> Result<Option<Hash32>, StoreError> {
        let index = to_i64(id.index)?;
        self.run(move |client| {
            let row = client
                .query_opt("SELECT hash FROM nodes WHERE level = $1 AND idx = $2", &[&i16::from(id.level), &index])
                .map_err(backend)?;
            row.map(|r| hash(r.get(0))).transpose()
        })
    }

    fn checkpoints(&self, from: u64, to: u64) -> Result<Vec<(u64, String)>, StoreError> {
        let (from, to) = (query_bound(from), query_bound(to));
        self.run(move |client| {
            let rows = client
                .query("SELECT size, text FROM checkpoints WHERE size BETWEEN $1 AND $2 ORDER BY size", &[&from, &to])
                .map_err(backend)?;
            rows.into_iter().map(|row| Ok((to_u64(row.get(0))?, row.get(1)))).collect()
        })
    }

    fn latest_checkpoint(&self) -> Result<Option<(u64, String)>, StoreError> {
        self.run(|client| {
            let row = client
                .query_opt("SELECT size, text FROM checkpoints ORDER BY size DESC LIMIT 1", &[])
                .map_err(backend)?;
            row.map(|r| Ok((to_u64(r.get(0))?, r.get(1)))).transpose()
        })
    }

    fn entries(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        Store::entries_with_prefix(self, "")
    }

    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let prefix = prefix.to_owned();
        self.run(move |client| Area::Stored.with_prefix(client, &prefix))
    }

    fn entries_after(&self, after: Option<&str>, limit: usize) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let (after, limit) = (after.map(str::to_owned), query_bound(limit as u64));
        self.run(move |client| Area::Stored.after(client, after.as_deref(), limit))
    }

    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let keys = vec![key.to_owned()];
        self.run(move |client| Ok(Area::Stored.entries_for(client, &keys)?.pop().map(|(_, v)| v)))
    }

    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let keys = keys.to_vec();
        self.run(move |client| Area::Stored.entries_for(client, &keys))
    }

    fn staging(&self) -> Result<Arc<dyn Staging>, StoreError> {
        self.run(sweep_abandoned_stagings)?;
        let stage = self
            .run(|client| Ok(client.query_one("SELECT nextval('stagings')", &[]).map_err(backend)?.get::<_, i64>(0)))?;
        // The staging's own session: it holds the staging's lock, and swaps and compares, so
        // that a staging whose session died (and whose rows may have been swept) cannot.
        let mut config: postgres::Config = self.url.parse().map_err(backend)?;
        config.application_name(&format!("credledger staging {stage}"));
        let mut holder = config.connect(NoTls).map_err(|e| connection_failed(&self.url, e))?;
        holder
            .execute("SELECT pg_advisory_lock($1, $2)", &[&STAGING_LOCK_CLASS, &staging_lock_key(stage)])
            .map_err(backend)?;
        holder.execute("INSERT INTO stagings_held (stage) VALUES ($1)", &[&stage]).map_err(backend)?;
        let (holder_jobs, receiver) = mpsc::channel::<Job>();
        serve_jobs(holder, Arc::new(Mutex::new(receiver)))?;
        Ok(Arc::new(PostgresStaging { jobs: self.jobs.clone(), stage, swapped: AtomicBool::new(false), holder_jobs }))
    }

    fn writer_turn(&self) -> Result<WriterTurn, StoreError> {
        if let Some(term) = self.leadership.get().and_then(|l| l.term()) {
            return Ok(WriterTurn::leading(term));
        }
        let turns = self.turns.lock().map_err(|_| backend("the writers' lock is poisoned"))?.clone();
        let (reply, answer) = mpsc::sync_channel(1);
        turns.send(TurnJob::Take(reply)).map_err(|_| backend("the writers' lock thread has stopped"))?;
        match answer.recv() {
            Ok(Ok(())) => Ok(WriterTurn::until(move || {
                let _ = turns.send(TurnJob::GiveBack);
            })),
            Ok(Err(e)) => {
                tracing::warn!("writing without a turn (every write is fenced all the same): {e}");
                Ok(WriterTurn::default())
            }
            Err(_) => Err(backend("the writers' lock thread stopped")),
        }
    }

    fn stand(&self, url: &str) -> Result<Option<Arc<Leadership>>, StoreError> {
        let leadership = self.leadership.get_or_init(Arc::default).clone();
        let (db, advertised, standing) = (self.url.clone(), url.to_owned(), Arc::downgrade(&leadership));
        std::thread::Builder::new()
            .name("credledger-postgres-election".into())
            .spawn(move || campaign(&db, &advertised, standing))
            .map_err(backend)?;
        Ok(Some(leadership))
    }

    fn leader(&self) -> Result<Option<Leader>, StoreError> {
        self.run(|client| {
            let row = client.query_one("SELECT term, url FROM leader", &[]).map_err(backend)?;
            let term = to_u64(row.get(0))?;
            Ok((term > 0).then(|| Leader { term, url: row.get(1) }))
        })
    }

    fn share(&self, key: &Hash32) -> Result<Option<Vec<u8>>, StoreError> {
        let key = key.0.to_vec();
        self.run(move |client| {
            let row = client.query_opt("SELECT value FROM shares WHERE key = $1", &[&key]).map_err(backend)?;
            Ok(row.map(|r| r.get(0)))
        })
    }

    fn put_share(&self, key: &Hash32, value: &[u8]) -> Result<(), StoreError> {
        let (key, value) = (key.0.to_vec(), value.to_vec());
        self.run(move |client| {
            client
                .execute(
                    "INSERT INTO shares (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                    &[&key, &value],
                )
                .map_err(backend)?;
            Ok(())
        })
    }
}

/// Where projection entries are read: the stored ones, or a staging's.
#[derive(Clone, Copy)]
enum Area {
    Stored,
    Staged(i64),
}

impl Area {
    /// The table and the rows of it that hold this area's entries.
    fn rows(self) -> String {
        match self {
            Area::Stored => "entries WHERE TRUE".into(),
            Area::Staged(stage) => format!("entries_staged WHERE stage = {stage}"),
        }
    }

    fn with_prefix(self, client: &mut Client, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        // Keys sort bytewise (COLLATE "C"): the prefix's range is [prefix, prefix + U+10FFFF).
        let (low, high) = (prefix.to_owned(), format!("{prefix}\u{10FFFF}"));
        let query = format!("SELECT key, value FROM {} AND key >= $1 AND key < $2 ORDER BY key", self.rows());
        let rows = client.query(&query, &[&low, &high]).map_err(backend)?;
        Ok(pairs(rows).into_iter().filter(|(k, _)| k.starts_with(prefix)).collect())
    }

    /// Up to `limit` entries with keys after `after` (from the first, with `None`), in key order.
    fn after(self, client: &mut Client, after: Option<&str>, limit: i64) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let query =
            format!("SELECT key, value FROM {} AND ($1::text IS NULL OR key > $1) ORDER BY key LIMIT $2", self.rows());
        Ok(pairs(client.query(&query, &[&after, &limit]).map_err(backend)?))
    }

    fn entries_for(self, client: &mut Client, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let query = format!("SELECT key, value FROM {} AND key = ANY($1) ORDER BY key", self.rows());
        Ok(pairs(client.query(&query, &[&keys]).map_err(backend)?))
    }
}

/// Deletes the rows of stagings whose process is gone (see [`STAGING_LOCK_CLASS`]); a live
/// staging's lock is held, so its rows are left alone. Only stagings that hold a lock are
/// considered (`stagings_held`): one made by an earlier build may still be at work.
fn sweep_abandoned_stagings(client: &mut Client) -> Result<(), StoreError> {
    let stages = client.query("SELECT stage FROM stagings_held", &[]).map_err(backend)?;
    for stage in stages.iter().map(|row| row.get::<_, i64>(0)) {
        let key = staging_lock_key(stage);
        let free: bool = client
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&STAGING_LOCK_CLASS, &key])
            .map_err(backend)?
            .get(0);
        if free {
            let swept = discard_staging(client, stage);
            client.execute("SELECT pg_advisory_unlock($1, $2)", &[&STAGING_LOCK_CLASS, &key]).map_err(backend)?;
            tracing::info!(stage, rows = swept?, "swept the entries of a staging whose process is gone");
        }
    }
    Ok(())
}

/// Deletes a staging's rows and takes it off `stagings_held`; answers how many rows it had.
fn discard_staging(client: &mut Client, stage: i64) -> Result<u64, StoreError> {
    client
        .execute(
            "WITH unlisted AS (DELETE FROM stagings_held WHERE stage = $1)
             DELETE FROM entries_staged WHERE stage = $1",
            &[&stage],
        )
        .map_err(backend)
}

/// A staging area: the rows of `entries_staged` under its own number, copied over `entries` by
/// its swap (one transaction, fenced like a commit). Written and read on the store's
/// connections; compared and swapped on its own session, which holds its lock.
struct PostgresStaging {
    jobs: mpsc::Sender<Job>,
    stage: i64,
    swapped: AtomicBool,
    /// The staging's own session (dropped with the staging, which frees its lock).
    holder_jobs: mpsc::Sender<Job>,
}

impl PostgresStaging {
    /// Runs `query` on the staging's own session: it fails if that session (so the lock that
    /// kept the staging's rows from a sweep) was lost.
    fn on_holder<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Client) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        run_on(&self.holder_jobs, query)
    }

    fn run<T: Send + 'static>(
        &self,
        query: impl FnOnce(&mut Client, Area) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let area = Area::Staged(self.stage);
        run_on(&self.jobs, move |client| query(client, area))
    }
}

impl EntrySource for PostgresStaging {
    fn entry(&self, key: &str) -> Result<Option<Vec<u8>>, String> {
        let keys = vec![key.to_owned()];
        let found = self.run(move |client, area| area.entries_for(client, &keys));
        found.map(|mut found| found.pop().map(|(_, v)| v)).map_err(|e| e.to_string())
    }
    fn entries_with_prefix(&self, prefix: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        let prefix = prefix.to_owned();
        self.run(move |client, area| area.with_prefix(client, &prefix)).map_err(|e| e.to_string())
    }
    fn entries_for(&self, keys: &[String]) -> Result<Vec<(String, Vec<u8>)>, String> {
        let keys = keys.to_vec();
        self.run(move |client, area| area.entries_for(client, &keys)).map_err(|e| e.to_string())
    }
}

impl Staging for PostgresStaging {
    fn write(&self, entries: Vec<(String, Option<Vec<u8>>)>) -> Result<(), StoreError> {
        let stage = self.stage;
        self.run(move |client, _| {
            let mut tx = client.transaction().map_err(backend)?;
            for chunk in entries.chunks(STAGE_CHUNK) {
                let (kept, deleted): (Vec<_>, Vec<_>) = chunk.iter().partition(|(_, v)| v.is_some());
                let keys: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
                let values: Vec<&[u8]> = kept.iter().filter_map(|(_, v)| v.as_deref()).collect();
                let deleted: Vec<&str> = deleted.iter().map(|(k, _)| k.as_str()).collect();
                tx.execute(
                    "INSERT INTO entries_staged (stage, key, value) SELECT $1, * FROM UNNEST($2::TEXT[], $3::BYTEA[])
                     ON CONFLICT (stage, key) DO UPDATE SET value = EXCLUDED.value",
                    &[&stage, &keys, &values],
                )
                .map_err(backend)?;
                tx.execute("DELETE FROM entries_staged WHERE stage = $1 AND key = ANY($2)", &[&stage, &deleted])
                    .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
    }

    fn differences(&self, limit: usize) -> Result<Vec<staging::Difference>, StoreError> {
        let (stage, limit) = (self.stage, query_bound(limit as u64));
        self.on_holder(move |client| differences(client, stage, limit))
    }

    fn swap_in(&self, log_len: u64, catch_up: staging::CatchUp<'_>) -> Result<bool, StoreError> {
        let stage = self.stage;
        // One transaction on the staging's session, open across the catch-up: it locks the row
        // appends lock (the fence), so they wait until the swap commits. The catch-up's reads
        // and staged writes run on the store's connections, and each statement here sees them.
        let len = self.on_holder(|client| {
            client.batch_execute("BEGIN").map_err(backend)?;
            to_u64(client.query_one("SELECT len FROM meta FOR UPDATE", &[]).map_err(backend)?.get(0))
        });
        let swapped = len.and_then(|len| {
            staging::catch_up_to(log_len, len, catch_up)?;
            self.on_holder(move |client| {
                let differed = !differences(client, stage, 1)?.is_empty();
                client
                    .batch_execute(&format!(
                        "DELETE FROM entries;
                         INSERT INTO entries (key, value) SELECT key, value FROM entries_staged WHERE stage = {stage};"
                    ))
                    .map_err(backend)?;
                discard_staging(client, stage)?;
                client.batch_execute("COMMIT").map_err(commit_error)?;
                Ok(differed)
            })
        });
        match swapped {
            Ok(differed) => {
                self.swapped.store(true, Ordering::SeqCst);
                Ok(differed)
            }
            Err(e) => {
                let _ = self.on_holder(|client| client.batch_execute("ROLLBACK").map_err(backend));
                Err(e)
            }
        }
    }
}

/// Up to `limit` keys where a staging's entries and the stored ones differ, in one statement
/// (so one snapshot).
fn differences(
    client: &mut impl postgres::GenericClient,
    stage: i64,
    limit: i64,
) -> Result<Vec<staging::Difference>, StoreError> {
    let rows = client
        .query(
            "SELECT COALESCE(e.key, s.key), s.key IS NULL, e.key IS NULL
             FROM entries e FULL JOIN (SELECT key, value FROM entries_staged WHERE stage = $1) s ON e.key = s.key
             WHERE e.value IS DISTINCT FROM s.value ORDER BY 1 LIMIT $2",
            &[&stage, &limit],
        )
        .map_err(backend)?;
    Ok(rows
        .into_iter()
        .map(|row| match (row.get(0), row.get(1), row.get(2)) {
            (key, true, _) => staging::Difference::OnlyStored(key),
            (key, _, true) => staging::Difference::OnlyStaged(key),
            (key, _, _) => staging::Difference::Differs(key),
        })
        .collect())
}

impl Drop for PostgresStaging {
    fn drop(&mut self) {
        if !self.swapped.load(Ordering::SeqCst) {
            // Unswapped, its rows are nobody's. Not waited for: rows a failure leaves (or a
            // process killed mid-rebuild) are swept when a staging is next made.
            let stage = self.stage;
            let _ = self.jobs.send(Box::new(move |client| {
                let _ = discard_staging(client, stage);
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_in_messages_hide_the_password() {
        assert_eq!(redacted("postgres://ledger:s3cret@db:5432/x"), "postgres://ledger:***@db:5432/x");
        assert_eq!(redacted("postgres://ledger@db/x"), "postgres://ledger@db/x");
        assert_eq!(redacted("host=/tmp user=x"), "host=/tmp user=x");
    }
}
