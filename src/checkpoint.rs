//! Signed checkpoints (tree heads) in the C2SP signed-note text form, with a BLAKE3 root:
//!
//! ```text
//! <origin>\n<tree size>\n<base64 root>\n\n— <origin> <base64(key id ‖ Ed25519 signature)>\n
//! ```
//!
//! The signature covers the body: the three lines up to and including the newline before the
//! blank line. The key id is C2SP's: the first 4 bytes of SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ public
//! key). `schemas/checkpoint.md` gives the format byte by byte.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signature;
use sha2::{Digest, Sha256};

use crate::id::{Did, Hash32};
use crate::keys::SecretKey;

/// The signature type byte of Ed25519 in C2SP signed notes.
const ED25519_TYPE: u8 = 0x01;
/// The em dash that starts a signature line.
const SIGNATURE_DASH: &str = "\u{2014} ";

/// What a checkpoint states: the log's origin, its size and its root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash32,
}

impl Checkpoint {
    /// The signed body: three lines, each ending in a newline.
    pub fn body(&self) -> String {
        format!("{}\n{}\n{}\n", self.origin, self.size, STANDARD.encode(self.root.0))
    }

    /// The signed note text.
    pub fn sign(&self, key: &SecretKey) -> String {
        let body = self.body();
        let signature = key.sign(body.as_bytes());
        let mut blob = key_id(&self.origin, key.did()).to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{body}\n{SIGNATURE_DASH}{} {}\n", self.origin, STANDARD.encode(blob))
    }

    /// Parses a signed note and checks that `operator` signed it. Other signature lines (from
    /// witnesses, say) are allowed and ignored.
    pub fn verify(text: &str, operator: &Did) -> Result<Checkpoint, CheckpointError> {
        let (body, signatures) =
            text.split_once("\n\n").ok_or(CheckpointError::Format("no blank line before the signatures"))?;
        let body = format!("{body}\n");
        let checkpoint = Self::parse_body(&body)?;
        let expected_id = key_id(&checkpoint.origin, operator);
        let key = operator.verifying_key();
        for line in signatures.lines() {
            let Some(rest) = line.strip_prefix(SIGNATURE_DASH) else {
                return Err(CheckpointError::Format("a signature line must start with an em dash and a space"));
            };
            let Some((name, encoded)) = rest.rsplit_once(' ') else {
                return Err(CheckpointError::Format("a signature line is `— <name> <base64>`"));
            };
            let Ok(blob) = STANDARD.decode(encoded) else {
                return Err(CheckpointError::Format("a signature is not base64"));
            };
            if name != checkpoint.origin || blob.len() != 4 + 64 || blob[..4] != expected_id {
                continue;
            }
            let signature = Signature::from_slice(&blob[4..]).map_err(|_| CheckpointError::BadSignature)?;
            return key
                .verify_strict(body.as_bytes(), &signature)
                .map(|()| checkpoint)
                .map_err(|_| CheckpointError::BadSignature);
        }
        Err(CheckpointError::NotSignedBy(operator.clone()))
    }

    fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
        let mut lines = body.strip_suffix('\n').unwrap_or(body).split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next()) else {
            return Err(CheckpointError::Format("the body is origin, size and root, one per line"));
        };
        // Extension lines may follow the root; they are signed but carry nothing we read.
        if origin.is_empty() {
            return Err(CheckpointError::Format("the origin line is empty"));
        }
        let size = size
            .parse::<u64>()
            .ok()
            .filter(|_| size == "0" || !size.starts_with('0'))
            .ok_or(CheckpointError::Format("the size is not a decimal number"))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(CheckpointError::Format("the root is not 32 bytes of base64"))?;
        Ok(Checkpoint { origin: origin.to_owned(), size, root: Hash32(root) })
    }

    /// Parses a checkpoint's body without checking any signature (for a log's own stored copies).
    pub fn parse_unverified(text: &str) -> Result<Checkpoint, CheckpointError> {
        let body = text.split_once("\n\n").map_or(text, |(b, _)| b);
        Self::parse_body(&format!("{body}\n"))
    }
}

/// C2SP's key id: SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)[..4].
pub fn key_id(origin: &str, key: &Did) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(origin.as_bytes());
    h.update([b'\n', ED25519_TYPE]);
    h.update(key.verifying_key().as_bytes());
    let digest = h.finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Why a checkpoint is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    #[error("checkpoint is malformed: {0}")]
    Format(&'static str),
    #[error("checkpoint has no signature by {0}")]
    NotSignedBy(Did),
    #[error("checkpoint signature does not verify")]
    BadSignature,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint { origin: "ledger.example.edu".into(), size: 42, root: Hash32::digest(b"root") }
    }

    #[test]
    fn signs_and_verifies_the_signed_note_form() {
        let key = SecretKey::from_seed(&[9; 32]);
        let text = checkpoint().sign(&key);
        let lines: Vec<&str> = text.split('\n').collect();
        assert_eq!(lines[..4], ["ledger.example.edu", "42", STANDARD.encode(Hash32::digest(b"root").0).as_str(), ""]);
        assert!(lines[4].starts_with("\u{2014} ledger.example.edu "));
        assert!(text.ends_with('\n'));
        assert_eq!(Checkpoint::verify(&text, key.did()).unwrap(), checkpoint());
    }

    #[test]
    fn other_keys_and_edits_fail() {
        let key = SecretKey::from_seed(&[9; 32]);
        let other = SecretKey::from_seed(&[8; 32]);
        let text = checkpoint().sign(&key);
        assert_eq!(Checkpoint::verify(&text, other.did()), Err(CheckpointError::NotSignedBy(other.did().clone())));
        let bigger = text.replacen("\n42\n", "\n43\n", 1);
        assert_eq!(Checkpoint::verify(&bigger, key.did()), Err(CheckpointError::BadSignature));
        assert!(matches!(Checkpoint::verify("nonsense", key.did()), Err(CheckpointError::Format(_))));
        assert!(matches!(
            Checkpoint::verify(&text.replacen("\n42\n", "\n042\n", 1), key.did()),
            Err(CheckpointError::Format(_))
        ));
    }

    #[test]
    fn key_id_follows_c2sp() {
        let key = SecretKey::from_seed(&[9; 32]);
        let mut h = Sha256::new();
        h.update(b"ledger.example.edu\n\x01");
        h.update(key.did().verifying_key().as_bytes());
        assert_eq!(key_id("ledger.example.edu", key.did()), h.finalize()[..4]);
    }
}
