//! Ed25519 key pairs and key files. A [`SecretKey`] never prints its secret: `Debug` shows only the
//! did. Key files are written 0600 and refused when group- or world-readable.
//!
//! A key file is plain text, so an operator can see what it is without tools:
//! ```text
//! # credledger Ed25519 secret key. Keep it private (mode 0600); never share or commit it.
//! # did: did:key:z6Mk…
//! CREDLEDGER-ED25519-SECRET-KEY-1 <base64url of the 32-byte seed>
//! ```
//! This module is the one place outside `store/`, `http/` and `main.rs` that touches the disk,
//! and only for key files.

use std::fmt;
use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{Signer, SigningKey};

use crate::id::Did;

const SEED_TAG: &str = "CREDLEDGER-ED25519-SECRET-KEY-1";

/// An Ed25519 signing key together with its did. (Clone copies the secret in memory only.)
#[derive(Clone)]
pub struct SecretKey {
    signing: SigningKey,
    did: Did,
}

impl SecretKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<Self, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| KeyError::Random(e.to_string()))?;
        Ok(Self::from_seed(&seed))
    }

    /// The key with this 32-byte seed (RFC 8032 secret key).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let signing = SigningKey::from_bytes(seed);
        let did = Did::from_key(&signing.verifying_key());
        SecretKey { signing, did }
    }

    /// The did:key naming the public half.
    pub fn did(&self) -> &Did {
        &self.did
    }

    /// An Ed25519 signature over `message`.
    pub fn sign(&self, message: &[u8]) -> ed25519_dalek::Signature {
        self.signing.sign(message)
    }

    /// An Ed25519 signature over `message`, as every signature in credledger is written:
    /// base64url without padding.
    pub fn sign_b64(&self, message: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.sign(message).to_bytes())
    }

    /// The key file text for this key.
    fn file_text(&self) -> String {
        format!(
            "# credledger Ed25519 secret key. Keep it private (mode 0600); never share or commit it.\n\
             # did: {}\n{SEED_TAG} {}\n",
            self.did,
            URL_SAFE_NO_PAD.encode(self.signing.to_bytes())
        )
    }

    /// Parses key file text.
    fn from_file_text(text: &str) -> Result<Self, String> {
        let mut seed_line = None;
        let mut stated_did = None;
        for line in text.lines().map(str::trim) {
            if let Some(did) = line.strip_prefix("# did:") {
                stated_did = Some(did.trim().to_owned());
            } else if let Some(seed) = line.strip_prefix(SEED_TAG) {
                seed_line = Some(seed.trim());
            }
        }
        let encoded = seed_line.ok_or_else(|| format!("no `{SEED_TAG}` line"))?;
        let seed: [u8; 32] = URL_SAFE_NO_PAD
            .decode(encoded)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or("the secret key is not 32 bytes of base64url")?;
        let key = Self::from_seed(&seed);
        match stated_did {
            Some(did) if did != key.did.as_str() => Err("the `# did:` line does not match the secret key".to_owned()),
            _ => Ok(key),
        }
    }

    /// Writes a new key file with mode 0600. Refuses to overwrite an existing file.
    pub fn write_file(&self, path: &Path) -> Result<(), KeyError> {
        let io = |source| KeyError::Io { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(
            |source| match source.kind() {
                std::io::ErrorKind::AlreadyExists => KeyError::Exists(path.to_owned()),
                _ => io(source),
            },
        )?;
        file.write_all(self.file_text().as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)
    }

    /// Reads a key file, refusing one that anyone but its owner can read or write.
    pub fn read_file(path: &Path) -> Result<Self, KeyError> {
        let io = |source| KeyError::Io { path: path.to_owned(), source };
        let mode = fs::metadata(path).map_err(io)?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::LoosePermissions { path: path.to_owned(), mode: mode & 0o777 });
        }
        let text = fs::read_to_string(path).map_err(io)?;
        Self::from_file_text(&text).map_err(|reason| KeyError::Malformed { path: path.to_owned(), reason })
    }
}

/// Why a base64url signature does not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureFault {
    /// Not base64url of 64 bytes.
    Malformed,
    /// Well formed, but not `key`'s signature over the message (checked with `verify_strict`).
    Mismatch,
}

/// Checks a base64url Ed25519 signature (as [`SecretKey::sign_b64`] writes them).
pub fn verify_b64(key: &Did, signature: &str, message: &[u8]) -> Result<(), SignatureFault> {
    let bytes: [u8; 64] =
        URL_SAFE_NO_PAD.decode(signature).ok().and_then(|b| b.try_into().ok()).ok_or(SignatureFault::Malformed)?;
    key.verifying_key()
        .verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes))
        .map_err(|_| SignatureFault::Mismatch)
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey({}, secret redacted)", self.did)
    }
}

/// What can go wrong with keys and key files.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key file may be read by others.
    #[error("key file {path}: permissions {mode:o} let others read it; run `chmod 600 {path}`", path = .path.display())]
    LoosePermissions { path: PathBuf, mode: u32 },
    /// Not a key file.
    #[error("key file {path}: {reason}", path = .path.display())]
    Malformed { path: PathBuf, reason: String },
    /// `keygen` will not overwrite a key.
    #[error("key file {} already exists; refusing to overwrite a key", .0.display())]
    Exists(PathBuf),
    /// Reading or writing failed.
    #[error("key file {path}: {source}", path = .path.display())]
    Io { path: PathBuf, source: std::io::Error },
    /// The operating system gave no randomness.
    #[error("no randomness for a new key: {0}")]
    Random(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_file_round_trips_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k/issuer.key");
        let key = SecretKey::generate().unwrap();
        key.write_file(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(SecretKey::read_file(&path).unwrap().did(), key.did());
        assert!(matches!(key.write_file(&path), Err(KeyError::Exists(_))));
    }

    #[test]
    fn loose_key_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loose.key");
        SecretKey::generate().unwrap().write_file(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = SecretKey::read_file(&path).unwrap_err();
        assert!(matches!(err, KeyError::LoosePermissions { mode: 0o644, .. }), "{err}");
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = SecretKey::from_seed(&[7u8; 32]);
        let shown = format!("{key:?}");
        assert!(shown.contains(key.did().as_str()));
        assert!(!shown.contains(&URL_SAFE_NO_PAD.encode([7u8; 32])));
    }

    #[test]
    fn tampered_key_files_are_refused() {
        let key = SecretKey::from_seed(&[1u8; 32]);
        let other = SecretKey::from_seed(&[2u8; 32]);
        let text = key.file_text().replace(key.did().as_str(), other.did().as_str());
        assert!(SecretKey::from_file_text(&text).unwrap_err().contains("does not match"));
        assert!(SecretKey::from_file_text("hello").is_err());
    }
}
