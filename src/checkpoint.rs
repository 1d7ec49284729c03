//! Signed checkpoints (tree heads) in the C2SP signed-note text form, with a BLAKE3 root:
//!
//! ```text
//! <origin>\n<tree size>\n<base64 root>\n\n— <origin> <base64(key id ‖ Ed25519 signature)>\n
//! ```
//!
//! The signature covers the body: the three lines up to and including the newline before the
//! blank line. The key id is C2SP's: the first 4 bytes of SHA-256(origin ‖ 0x0A ‖ 0x01 ‖ public
//! key). `schemas/checkpoint.md` gives the format byte by byte.
//!
//! Parsing is exact (C2SP signed-note and tlog-checkpoint): no control character but newline, a
//! final newline, a body of non-empty lines, a size in plain decimal, then one or more signature
//! lines and nothing else. Signatures by keys other than the operator's are ignored; every one
//! by the operator's key (its name and key id) must verify, wherever it is in the note.

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
/// The most signature lines a note may carry (C2SP asks verifiers to accept at least 16).
const MAX_SIGNATURES: usize = 100;

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

    /// Parses a signed note and checks that `operator` signed it. Signature lines of other keys
    /// (witnesses, say) are allowed and ignored; every line of the operator's key must verify (a
    /// known key's failed signature rejects the whole note, as C2SP recommends), and there must be
    /// at least one.
    pub fn verify(text: &str, operator: &Did) -> Result<Checkpoint, CheckpointError> {
        let note = Note::parse(text)?;
        let checkpoint = Self::parse_body(note.text)?;
        let expected_id = key_id(&checkpoint.origin, operator);
        let key = operator.verifying_key();
        let mut signed = false;
        for line in note.signatures.iter().filter(|s| s.name == checkpoint.origin && s.key_id == expected_id) {
            let signature = Signature::from_slice(&line.signature).map_err(|_| CheckpointError::BadSignature)?;
            key.verify_strict(note.text.as_bytes(), &signature).map_err(|_| CheckpointError::BadSignature)?;
            signed = true;
        }
        if signed { Ok(checkpoint) } else { Err(CheckpointError::NotSignedBy(operator.clone())) }
    }

    /// Reads the body (the note text with its final newline): at least three lines, none empty.
    fn parse_body(body: &str) -> Result<Checkpoint, CheckpointError> {
        let lines: Vec<&str> = body.strip_suffix('\n').unwrap_or(body).split('\n').collect();
        let [origin, size, root, extensions @ ..] = lines.as_slice() else {
            return Err(CheckpointError::Format("the body is origin, size and root, one per line"));
        };
        if origin.is_empty() {
            return Err(CheckpointError::Format("the origin line is empty"));
        }
        // Extension lines may follow the root; they are signed but carry nothing we read.
        if extensions.iter().any(|line| line.is_empty()) {
            return Err(CheckpointError::Format("an extension line is empty"));
        }
        let decimal =
            !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit()) && (*size == "0" || !size.starts_with('0'));
        let size = size.parse::<u64>().ok().filter(|_| decimal).ok_or(CheckpointError::Format(
            "the size is not a decimal number (digits only, no sign, no leading zero)",
        ))?;
        let root = STANDARD
            .decode(root)
            .ok()
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or(CheckpointError::Format("the root is not 32 bytes of base64"))?;
        Ok(Checkpoint { origin: (*origin).to_owned(), size, root: Hash32(root) })
    }

    /// Parses a checkpoint, exactly as [`Checkpoint::verify`] does, without checking any signature
    /// (for a log's own stored copies, and to name the origin of one that does not verify).
    pub fn parse_unverified(text: &str) -> Result<Checkpoint, CheckpointError> {
        Self::parse_body(Note::parse(text)?.text)
    }
}

/// A signed note, read exactly (C2SP signed-note): its text and its signature lines.
struct Note<'a> {
    /// The signed text: every line before the last blank line, with its final newline.
    text: &'a str,
    signatures: Vec<NoteSignature<'a>>,
}

/// One signature line: `— <name> <base64(key id ‖ signature)>`.
struct NoteSignature<'a> {
    name: &'a str,
    key_id: [u8; 4],
    signature: Vec<u8>,
}

impl<'a> Note<'a> {
    fn parse(note: &'a str) -> Result<Self, CheckpointError> {
        if note.chars().any(|c| c < ' ' && c != '\n') {
            return Err(CheckpointError::Format("a control character other than newline"));
        }
        let Some(lines) = note.strip_suffix('\n') else {
            return Err(CheckpointError::Format("the note does not end with a newline"));
        };
        let blank = note.rfind("\n\n").ok_or(CheckpointError::Format("no blank line before the signatures"))?;
        let text = &note[..=blank];
        let signatures = lines.get(blank + 2..).unwrap_or_default();
        if signatures.is_empty() {
            return Err(CheckpointError::Format("no signature line after the blank line"));
        }
        let signatures: Vec<NoteSignature<'a>> =
            signatures.split('\n').map(NoteSignature::parse).collect::<Result<_, _>>()?;
        if signatures.len() > MAX_SIGNATURES {
            return Err(CheckpointError::Format("more than 100 signature lines"));
        }
        Ok(Note { text, signatures })
    }
}

impl<'a> NoteSignature<'a> {
    fn parse(line: &'a str) -> Result<Self, CheckpointError> {
        let Some(rest) = line.strip_prefix(SIGNATURE_DASH) else {
            return Err(CheckpointError::Format(
                "a line after the blank line is not a signature line (`— <name> <base64>`)",
            ));
        };
        let Some((name, encoded)) = rest.split_once(' ') else {
            return Err(CheckpointError::Format("a signature line is `— <name> <base64>`"));
        };
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c == '+') {
            return Err(CheckpointError::Format("a signature's key name is empty or has a space or a plus"));
        }
        let blob = STANDARD.decode(encoded).map_err(|_| CheckpointError::Format("a signature is not base64"))?;
        match blob.split_first_chunk::<4>() {
            Some((key_id, signature)) if !signature.is_empty() => {
                Ok(NoteSignature { name, key_id: *key_id, signature: signature.to_vec() })
            }
            _ => Err(CheckpointError::Format("a signature is shorter than a key id and a signature")),
        }
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

    /// A checkpoint whose body is `body` (as given, however malformed), signed by `key`.
    fn signed_body(body: &str, key: &SecretKey) -> String {
        let signature = key.sign(body.as_bytes());
        let mut blob = key_id("ledger.example.edu", key.did()).to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{body}\n{SIGNATURE_DASH}ledger.example.edu {}\n", STANDARD.encode(blob))
    }

    fn format_error(result: Result<Checkpoint, CheckpointError>) -> &'static str {
        match result {
            Err(CheckpointError::Format(why)) => why,
            other => panic!("not a format error: {other:?}"),
        }
    }

    #[test]
    fn garbage_after_the_signature_lines_is_refused() {
        let key = SecretKey::from_seed(&[9; 32]);
        let text = checkpoint().sign(&key);
        for garbage in ["garbage\n", "\n", "— \n", "\ngarbage\n"] {
            let why = format_error(Checkpoint::verify(&format!("{text}{garbage}"), key.did()));
            assert!(why.contains("signature") || why.contains("empty"), "{garbage:?}: {why}");
            assert!(Checkpoint::parse_unverified(&format!("{text}{garbage}")).is_err(), "{garbage:?}");
        }
    }

    #[test]
    fn a_note_without_its_final_newline_is_refused() {
        let key = SecretKey::from_seed(&[9; 32]);
        let text = checkpoint().sign(&key);
        let cut = text.strip_suffix('\n').expect("a final newline");
        assert_eq!(format_error(Checkpoint::verify(cut, key.did())), "the note does not end with a newline");
        assert!(Checkpoint::parse_unverified(cut).is_err());
    }

    #[test]
    fn a_size_with_a_sign_or_anything_but_digits_is_refused_even_when_signed() {
        let key = SecretKey::from_seed(&[9; 32]);
        let root = STANDARD.encode(Hash32::digest(b"root").0);
        for size in ["+42", "-0", " 42", "42 ", "4_2", "0x2a", "042", "", "18446744073709551616"] {
            let text = signed_body(&format!("ledger.example.edu\n{size}\n{root}\n"), &key);
            let why = format_error(Checkpoint::verify(&text, key.did()));
            assert!(why.contains("size") || why.contains("body"), "{size:?}: {why}");
        }
        let text = signed_body(&format!("ledger.example.edu\n0\n{root}\n"), &key);
        assert_eq!(Checkpoint::verify(&text, key.did()).map(|c| c.size), Ok(0));
    }

    #[test]
    fn a_failing_signature_by_the_operators_key_refuses_the_note_wherever_it_is() {
        let key = SecretKey::from_seed(&[9; 32]);
        let text = checkpoint().sign(&key);
        let (body, good) = text.split_once("\n\n").expect("a blank line");
        // The operator's name and key id over a signature that does not verify.
        let mut forged = key_id("ledger.example.edu", key.did()).to_vec();
        forged.extend_from_slice(&[7; 64]);
        let bad = format!("{SIGNATURE_DASH}ledger.example.edu {}\n", STANDARD.encode(&forged));
        let bad_first = format!("{body}\n\n{bad}{good}");
        let bad_last = format!("{body}\n\n{good}{bad}");
        assert_eq!(Checkpoint::verify(&bad_first, key.did()), Err(CheckpointError::BadSignature));
        assert_eq!(Checkpoint::verify(&bad_last, key.did()), Err(CheckpointError::BadSignature));
        // The operator's key id with a signature of the wrong length fails too; it is not skipped.
        let short = format!("{SIGNATURE_DASH}ledger.example.edu {}\n", STANDARD.encode(&forged[..40]));
        assert_eq!(
            Checkpoint::verify(&format!("{body}\n\n{short}{good}"), key.did()),
            Err(CheckpointError::BadSignature)
        );
        // Another key's signature (a witness) that does not verify for us is ignored, as is a
        // line under the operator's key id with another name.
        let witness =
            format!("{SIGNATURE_DASH}witness.example {}\n", STANDARD.encode([[1u8; 4].as_slice(), &[2; 64]].concat()));
        let renamed = bad.replacen("ledger.example.edu", "other.example", 1);
        let with_others = format!("{body}\n\n{witness}{good}{renamed}");
        assert_eq!(Checkpoint::verify(&with_others, key.did()), Ok(checkpoint()));
    }

    #[test]
    fn control_characters_blank_and_empty_lines_and_malformed_signature_lines_are_refused() {
        let key = SecretKey::from_seed(&[9; 32]);
        let text = checkpoint().sign(&key);
        let (body, signature) = text.split_once("\n\n").expect("a blank line");
        let cases = [
            ("carriage returns", text.replace('\n', "\r\n")),
            ("a tab", text.replacen("ledger.example.edu\n", "ledger.example.edu\t\n", 1)),
            ("two blank lines", format!("{body}\n\n\n{signature}")),
            ("no signature", format!("{body}\n\n")),
            ("an empty extension line", signed_body(&format!("{body}\nextension\n\nmore\n"), &key)),
            (
                "an unknown key's line that is not base64",
                format!("{text}{SIGNATURE_DASH}witness.example not-base64!\n"),
            ),
            ("a key name with a plus", format!("{text}{SIGNATURE_DASH}wit+ness AAAAAAA=\n")),
            ("a signature with no bytes after the key id", format!("{text}{SIGNATURE_DASH}witness.example AAAAAA==\n")),
            ("a hyphen for the em dash", format!("{body}\n\n{}", signature.replacen('\u{2014}', "-", 1))),
            ("no blank line", text.replacen("\n\n", "\n", 1)),
        ];
        for (what, note) in cases {
            assert!(
                matches!(Checkpoint::verify(&note, key.did()), Err(CheckpointError::Format(_))),
                "{what}: {note:?}"
            );
            assert!(Checkpoint::parse_unverified(&note).is_err(), "{what}");
        }
        // Signature lines are bounded: 100 are read, more are refused.
        let witness = format!("{SIGNATURE_DASH}witness.example {}\n", STANDARD.encode([0u8; 68]));
        let many = |n: usize| format!("{text}{}", witness.repeat(n - 1));
        assert_eq!(Checkpoint::verify(&many(100), key.did()), Ok(checkpoint()));
        assert!(matches!(Checkpoint::verify(&many(101), key.did()), Err(CheckpointError::Format(_))));
    }

    #[test]
    fn extension_lines_are_signed_and_otherwise_ignored() {
        let key = SecretKey::from_seed(&[9; 32]);
        let body = format!("{}extension\n", checkpoint().body());
        assert_eq!(Checkpoint::verify(&signed_body(&body, &key), key.did()), Ok(checkpoint()));
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
