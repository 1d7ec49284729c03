//! A throwaway PostgreSQL for the tests: `initdb` into a temporary directory, `postgres` on a free
//! port of 127.0.0.1 (trust authentication, fsync on), stopped and removed when dropped. Run as
//! root (as CI is), the server runs as the `postgres` system user, which PostgreSQL requires.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::{Env, ISSUER_NAME, ORIGIN, PATIENCE, free_port, keygen_in, run_in};

/// A running throwaway PostgreSQL.
pub struct Postgres {
    child: Child,
    dir: tempfile::TempDir,
    port: u16,
    databases: std::sync::atomic::AtomicUsize,
}

/// Where PostgreSQL's programs are: Debian's versioned directory (newest first; its `/usr/bin`
/// wrappers want a configured cluster), else the PATH.
fn bin(program: &str) -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(|d| d.ok()).map(|d| d.path().join("bin").join(program)).collect())
        .unwrap_or_default();
    versions.retain(|p| p.exists());
    versions.sort();
    if let Some(newest) = versions.pop() {
        return newest;
    }
    let on_path = std::env::var_os("PATH")
        .and_then(|paths| std::env::split_paths(&paths).map(|p| p.join(program)).find(|p| p.exists()));
    on_path.unwrap_or_else(|| {
        panic!("PostgreSQL's `{program}` is not installed (apt-get install postgresql); .ci/run installs it")
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// `program args`, as the `postgres` user when we are root.
fn command(program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin(program));
        c
    } else {
        Command::new(bin(program))
    }
}

impl Postgres {
    /// Initializes and starts a fresh cluster; waits (bounded) until it accepts connections.
    pub fn start() -> Postgres {
        let dir = tempfile::Builder::new().prefix("credledger-pg-").tempdir().expect("temp dir");
        if is_root() {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status();
            assert!(status.is_ok_and(|s| s.success()), "chown the cluster directory to postgres");
        }
        let data = dir.path().join("data");
        let init = command("initdb")
            .args(["-A", "trust", "-U", "credledger", "-E", "UTF8", "--no-instructions", "-D"])
            .arg(&data)
            .stdout(Stdio::null())
            .output()
            .expect("run initdb");
        assert!(init.status.success(), "initdb failed: {}", String::from_utf8_lossy(&init.stderr));
        let port = free_port();
        let log = std::fs::File::create(dir.path().join("server.log")).expect("log file");
        let child = command("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-k"])
            .arg(dir.path())
            .args(["-c", "max_connections=200"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start postgres");
        let pg = Postgres { child, dir, port, databases: Default::default() };
        pg.wait_until_ready();
        pg
    }

    fn wait_until_ready(&self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let ready = command("pg_isready")
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "credledger"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(Instant::now() < deadline, "PostgreSQL did not start: {}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The server's log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    /// A URL for a new, empty database of its own.
    pub fn fresh_database(&self) -> String {
        let n = self.databases.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("ledger_{n}");
        let created = command("createdb")
            .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "credledger", &name])
            .output()
            .expect("run createdb");
        assert!(created.status.success(), "createdb: {}", String::from_utf8_lossy(&created.stderr));
        format!("postgres://credledger@127.0.0.1:{}/{name}", self.port)
    }

    /// Waits until no session but this check's is connected to the database at `url`: a client
    /// that was killed may have left a backend finishing its last transaction (PostgreSQL
    /// completes a COMMIT it received), so a check of a quiescent store waits for it first.
    pub fn wait_until_idle(&self, url: &str) {
        let deadline = Instant::now() + super::PATIENCE;
        let query =
            "select count(*) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()";
        loop {
            let out = command("psql").args(["-d", url, "-Atc", query]).output().expect("run psql");
            let others = String::from_utf8_lossy(&out.stdout);
            if out.status.success() && others.trim() == "0" {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "sessions still open on {url}: {others} {}",
                String::from_utf8_lossy(&out.stderr)
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs one SQL statement on the database at `url` with psql; its rows, one a line.
    pub fn sql(&self, url: &str, query: &str) -> String {
        let out = command("psql").args(["-d", url, "-Atc", query]).output().expect("run psql");
        assert!(out.status.success(), "psql {query}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The cluster's directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGKILL would leave shared memory behind: ask for a fast shutdown, then make sure.
        let _ = command("pg_ctl")
            .args(["stop", "-m", "fast", "-w", "-D"])
            .arg(self.dir.path().join("data"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A ledger directory whose log lives in the database at `url`, with one registered issuer.
pub fn postgres_env(url: &str) -> Env {
    let tmp = tempfile::tempdir().expect("temp dir");
    let init = run_in(tmp.path(), &["--ledger", "ledger", "--database-url", url, "init", "--origin", ORIGIN]);
    assert_eq!(init.code, 0, "init on PostgreSQL: {init:?}");
    assert!(!tmp.path().join("ledger/store").exists(), "the log is not in the directory");
    let operator = init.first_line().parse().expect("init prints the operator's did");
    let issuer = keygen_in(tmp.path(), "issuer.key");
    let learner = keygen_in(tmp.path(), "learner.key");
    let env = Env { tmp, operator, issuer, learner };
    env.ok(&["--database-url", url, "issuer", "register", "--name", ISSUER_NAME, "--key", &env.issuer.did]);
    env
}
