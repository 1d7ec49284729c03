//! Identifiers: [`Hash32`], [`EventId`] (BLAKE3 of an event's canonical signed bytes), [`Seq`]
//! (a record's place in the log), and [`Did`] (an Ed25519 `did:key`, how every party is named).

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;

/// A record's position in the log: 0 is the genesis event, and it is also the Merkle leaf index.
pub type Seq = u64;

/// A 32-byte hash, written as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hash32(pub [u8; 32]);

impl Hash32 {
    /// BLAKE3 of `bytes`.
    pub fn digest(bytes: &[u8]) -> Self {
        Hash32(*blake3::hash(bytes).as_bytes())
    }

    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(HEX[usize::from(b >> 4)] as char);
            s.push(HEX[usize::from(b & 0xf)] as char);
        }
        s
    }
}

impl FromStr for Hash32 {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let bad = || IdError::Hash(s.chars().take(80).collect());
        if s.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in s.as_bytes().chunks(2).enumerate() {
            let digit = |c: u8| match c {
                b'0'..=b'9' => Some(c - b'0'),
                b'a'..=b'f' => Some(c - b'a' + 10),
                _ => None,
            };
            out[i] = (digit(pair[0]).ok_or_else(bad)? << 4) | digit(pair[1]).ok_or_else(bad)?;
        }
        Ok(Hash32(out))
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash32({})", self.to_hex())
    }
}

/// The id of an event: BLAKE3 of the canonical (JCS) bytes of the event with its signature.
/// A credential's id is the id of the event that issued it.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct EventId(pub Hash32);

/// A credential is named by the id of the event that issued it.
pub type CredentialId = EventId;

impl EventId {
    /// The id of the event whose canonical signed bytes are `canonical`.
    pub fn of_canonical(canonical: &[u8]) -> Self {
        EventId(Hash32::digest(canonical))
    }
}

impl FromStr for EventId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        s.parse().map(EventId)
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The multicodec prefix of an Ed25519 public key (0xed, varint-encoded).
const ED25519_MULTICODEC: [u8; 2] = [0xed, 0x01];
const DID_KEY_PREFIX: &str = "did:key:z";

/// An Ed25519 `did:key` (multicodec 0xed01, multibase base58btc). Parsing checks that it
/// decodes to a valid Ed25519 public key, so a `Did` in hand can always verify signatures; it
/// keeps the decompressed key, so verifying does not decompress it again.
///
/// Dids read back from the ledger's own storage (see [`read_trusted`]) skip the decompression,
/// which is most of the cost of reading a record: their key is decompressed on first use.
#[derive(Clone)]
pub struct Did {
    text: String,
    key: std::sync::Arc<DidKey>,
}

/// A did's key bytes, and the point they decompress to once it is needed.
struct DidKey {
    bytes: [u8; 32],
    point: std::sync::OnceLock<VerifyingKey>,
}

thread_local! {
    /// Set while reading what this ledger stored after checking it.
    static TRUSTED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `read` with did:keys taken as valid Ed25519 points without checking: only for bytes this
/// ledger checked before it stored them.
pub(crate) fn read_trusted<T>(read: impl FnOnce() -> T) -> T {
    let before = TRUSTED.with(|t| t.replace(true));
    let result = read();
    TRUSTED.with(|t| t.set(before));
    result
}

impl PartialEq for Did {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Did {}

impl PartialOrd for Did {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Did {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.text.cmp(&other.text)
    }
}

impl std::hash::Hash for Did {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl Did {
    /// The did:key of a public key.
    pub fn from_key(key: &VerifyingKey) -> Self {
        let mut bytes = Vec::with_capacity(34);
        bytes.extend_from_slice(&ED25519_MULTICODEC);
        bytes.extend_from_slice(key.as_bytes());
        let text = format!("{DID_KEY_PREFIX}{}", bs58::encode(bytes).into_string());
        Did { text, key: std::sync::Arc::new(DidKey { bytes: key.to_bytes(), point: std::sync::OnceLock::from(*key) }) }
    }

    /// The public key the did names.
    pub fn verifying_key(&self) -> VerifyingKey {
        // Only a did read back from corrupted storage can fail here; the identity point it then
        // stands for is a weak key that `verify_strict` never accepts.
        *self.key.point.get_or_init(|| decompress(&self.key.bytes).unwrap_or_default())
    }

    /// The multibase form of the key (`z6Mk…`), as used in did:key fragments and Multikey.
    pub fn multibase(&self) -> &str {
        &self.text["did:key:".len()..]
    }

    /// The did as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Parses a bare multibase Ed25519 key (`z6Mk…`) into its did.
    pub fn from_multibase(multibase: &str) -> Result<Self, IdError> {
        format!("did:key:{multibase}").parse()
    }
}

impl Did {
    /// Parses, checking the point only when `check_point` (else on first use).
    fn parse(s: &str, check_point: bool) -> Result<Self, IdError> {
        let bad = |why: &str| IdError::Did { did: s.chars().take(80).collect(), reason: why.to_owned() };
        let encoded = s.strip_prefix(DID_KEY_PREFIX).ok_or_else(|| bad("must start with `did:key:z` (base58btc)"))?;
        let bytes = bs58::decode(encoded).into_vec().map_err(|_| bad("is not valid base58btc"))?;
        let key: [u8; 32] = match bytes.split_first_chunk::<2>() {
            Some((prefix, key)) if *prefix == ED25519_MULTICODEC => {
                key.try_into().map_err(|_| bad("an Ed25519 key is 32 bytes"))?
            }
            _ => return Err(bad("is not an Ed25519 key (multicodec 0xed01)")),
        };
        let point = std::sync::OnceLock::new();
        if check_point {
            let _ = point.set(decompress(&key).ok_or_else(|| bad("is not a valid Ed25519 point"))?);
        }
        Ok(Did { text: s.to_owned(), key: std::sync::Arc::new(DidKey { bytes: key, point }) })
    }
}

/// How many decompressed keys [`decompress`] remembers before it starts over.
const KEY_CACHE_CAPACITY: usize = 4096;

/// The Ed25519 point `bytes` encode, if any. Decompressing costs about a third of a signature
/// check and a log names the same few signing keys over and over, so the points of recent keys
/// are remembered process-wide (a bounded map, emptied when full).
fn decompress(bytes: &[u8; 32]) -> Option<VerifyingKey> {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static CACHE: OnceLock<Mutex<HashMap<[u8; 32], VerifyingKey>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(key) = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get(bytes) {
        return Some(*key);
    }
    let key = VerifyingKey::from_bytes(bytes).ok()?;
    let mut cache = cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if cache.len() >= KEY_CACHE_CAPACITY {
        cache.clear();
    }
    cache.insert(*bytes, key);
    Some(key)
}

impl FromStr for Did {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        Did::parse(s, true)
    }
}

impl serde::Serialize for Did {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Did {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'_, str> as serde::Deserialize>::deserialize(d)?;
        let check_point = !TRUSTED.with(std::cell::Cell::get);
        Did::parse(&text, check_point).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Did {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Did({})", self.text)
    }
}

/// Serializes as its text form; parsing through [`FromStr`], with the reason on failure.
macro_rules! text_serde {
    ($($t:ty),*) => {$(
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'_, str> as serde::Deserialize>::deserialize(d)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    )*};
}
pub(crate) use text_serde;
text_serde!(Hash32, EventId);

/// A malformed identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdError {
    /// Not an Ed25519 did:key.
    #[error("`{did}` is not an Ed25519 did:key: it {reason}")]
    Did { did: String, reason: String },
    /// Not 64 lower-case hex digits.
    #[error("`{0}` is not an id (64 lower-case hex digits)")]
    Hash(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn did_key_round_trips_the_w3c_example() {
        // The public key of the W3C vc-di-eddsa test vectors.
        let did: Did = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2".parse().unwrap();
        assert_eq!(Did::from_key(&did.verifying_key()), did);
        assert_eq!(did.multibase(), "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2");
    }

    #[test]
    fn bad_dids_say_why() {
        let cases = [
            ("did:web:example.com", "must start with"),
            ("did:key:z0OIl", "base58btc"),
            ("did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc", "not an Ed25519 key"),
            ("did:key:z2DQUyFHStG42FqbEhyM6LhkEqqV45NGGqKCwNxVWWu7Yzj", "32 bytes"),
        ];
        for (text, why) in cases {
            let err = text.parse::<Did>().unwrap_err().to_string();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    #[test]
    fn hash_hex_round_trips_and_rejects_upper_case() {
        let h = Hash32::digest(b"abc");
        assert_eq!(h.to_hex().parse::<Hash32>().unwrap(), h);
        assert_eq!(h.to_hex(), blake3::hash(b"abc").to_hex().as_str());
        assert!(h.to_hex().to_uppercase().parse::<Hash32>().is_err());
        assert!("abc".parse::<Hash32>().is_err());
    }
}
