//! The ledger directory: `config.json` (the log's origin and operator did), `operator.key` (the
//! operator's secret key, 0600) and `store/` (the sled database), unless the log lives in
//! PostgreSQL (a database URL given with the directory): then the directory holds only the config
//! and the key, and every node serving the log has a copy of both.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::id::Did;
use crate::keys::{KeyError, SecretKey};
use crate::store::{PostgresStore, SharedStore, SledStore, StoreError};

/// What a ledger directory says about its log.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Config {
    pub origin: String,
    pub operator: Did,
    /// Filled by `credledger demo`.
    #[serde(default)]
    pub demo: bool,
    /// The base URL the world reaches this ledger at (`init --public-url`), under which its
    /// status lists are served; `None`: `https://<origin>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

impl Config {
    /// The ledger's public URL: the configured one, or `https://<origin>`.
    pub fn public_url(&self) -> String {
        self.public_url.clone().unwrap_or_else(|| format!("https://{}", self.origin))
    }
}

/// A ledger directory on disk.
#[derive(Debug, Clone)]
pub struct LedgerDir {
    path: PathBuf,
    /// Where the log lives when not in `store/`.
    database_url: Option<String>,
}

impl LedgerDir {
    /// The directory at `path` (it may not exist yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        LedgerDir { path: path.into(), database_url: None }
    }

    /// The directory at `path`, whose log lives in the PostgreSQL database at `url`.
    pub fn with_database(path: impl Into<PathBuf>, url: Option<String>) -> Self {
        LedgerDir { path: path.into(), database_url: url }
    }

    /// The PostgreSQL database holding the log, if it is not in the directory.
    pub fn database_url(&self) -> Option<&str> {
        self.database_url.as_deref()
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Does it hold a ledger?
    pub fn exists(&self) -> bool {
        self.config_path().exists()
    }

    fn config_path(&self) -> PathBuf {
        self.path.join("config.json")
    }

    /// Where the operator's key lives.
    pub fn operator_key_path(&self) -> PathBuf {
        self.path.join("operator.key")
    }

    /// Creates the directory with a new operator key and its config; refuses an existing ledger.
    pub fn create(&self, origin: &str, demo: bool) -> Result<(Config, SecretKey), DirError> {
        self.create_with(origin, SecretKey::generate()?, demo)
    }

    /// Creates the directory with this operator key and its config; refuses an existing ledger.
    pub fn create_with(&self, origin: &str, operator: SecretKey, demo: bool) -> Result<(Config, SecretKey), DirError> {
        if self.exists() {
            return Err(DirError::Exists(self.path.clone()));
        }
        fs::create_dir_all(&self.path).map_err(|e| self.io(e))?;
        operator.write_file(&self.operator_key_path())?;
        let config = Config { origin: origin.to_owned(), operator: operator.did().clone(), demo, public_url: None };
        let text = serde_json::to_string_pretty(&config).map_err(|e| DirError::Config(e.to_string()))?;
        fs::write(self.config_path(), text + "\n").map_err(|e| self.io(e))?;
        Ok((config, operator))
    }

    /// Reads the config.
    pub fn config(&self) -> Result<Config, DirError> {
        if !self.exists() {
            return Err(DirError::Missing(self.path.clone()));
        }
        let text = fs::read_to_string(self.config_path()).map_err(|e| self.io(e))?;
        serde_json::from_str(&text).map_err(|e| DirError::Config(e.to_string()))
    }

    /// Records the ledger's public URL in its config.
    pub fn set_public_url(&self, url: &str) -> Result<Config, DirError> {
        let mut config = self.config()?;
        config.public_url = Some(url.trim_end_matches('/').to_owned());
        let text = serde_json::to_string_pretty(&config).map_err(|e| DirError::Config(e.to_string()))?;
        fs::write(self.config_path(), text + "\n").map_err(|e| self.io(e))?;
        Ok(config)
    }

    /// Reads the operator's key.
    pub fn operator_key(&self) -> Result<SecretKey, DirError> {
        Ok(SecretKey::read_file(&self.operator_key_path())?)
    }

    /// Opens the directory's sled store; fails if another process holds it.
    pub fn open_store(&self) -> Result<SledStore, DirError> {
        if !self.exists() {
            return Err(DirError::Missing(self.path.clone()));
        }
        Ok(SledStore::open(&self.path.join("store"))?)
    }

    /// Opens the log's store, wherever it lives: PostgreSQL when the directory was given a
    /// database URL, else the directory's sled store.
    pub fn open_shared_store(&self) -> Result<SharedStore, DirError> {
        match &self.database_url {
            Some(url) => {
                if !self.exists() {
                    return Err(DirError::Missing(self.path.clone()));
                }
                Ok(std::sync::Arc::new(PostgresStore::open(url)?))
            }
            None => Ok(std::sync::Arc::new(self.open_store()?)),
        }
    }

    fn io(&self, source: std::io::Error) -> DirError {
        DirError::Io { path: self.path.clone(), source }
    }
}

/// What can go wrong with a ledger directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DirError {
    #[error("no ledger at {} (create one with `credledger init --origin NAME`, or pass --ledger DIR)", .0.display())]
    Missing(PathBuf),
    #[error("a ledger already exists at {}", .0.display())]
    Exists(PathBuf),
    #[error("ledger config: {0}")]
    Config(String),
    #[error("ledger directory {}: {source}", .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Store(#[from] StoreError),
}
