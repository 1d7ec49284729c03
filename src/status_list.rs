//! W3C Bitstring Status List v1.0: the lists a form-2 credential's `credentialStatus` points at.
//! Each signing key has lists of [`LIST_SIZE`] entries per purpose (revocation, suspension); a
//! credential takes one index, the same in the list of each purpose. A list's bits are a function
//! of the log (the status projection); its credential is signed by the key it belongs to, with
//! `eddsa-rdfc-2022`, in a `status_list.signed` event. Pure: encoding, URLs and documents.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use serde_json::{Value, json};

pub use crate::event::Purpose;
use crate::event::Timestamp;
use crate::id::{Did, Hash32};
use crate::keys::SecretKey;
use crate::rdfc::{self, RdfcError};

/// The fewest entries a list may have (the spec's 16 KiB), so that one credential's index says
/// little about who asks for it (herd privacy).
pub const MIN_ENTRIES: usize = 131_072;

/// Entries in each of the ledger's lists: the minimum.
pub const LIST_SIZE: u32 = MIN_ENTRIES as u32;

/// The largest list read, in bytes once decompressed (16 Mi entries): a few bytes of GZIP can
/// claim gigabytes, and a verifier must not be made to allocate them.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;

/// The URL of `key`'s list `list` for `purpose` on the ledger whose public URL is `base`.
pub fn list_url(base: &str, key: &Did, purpose: Purpose, list: u32) -> String {
    format!("{base}/v1/status-lists/{key}/{purpose}/{list}")
}

/// A list of status bits.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitstring {
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Bitstring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = (0..self.len()).filter(|&i| self.get(i) == Some(true)).take(16).collect::<Vec<_>>();
        f.debug_struct("Bitstring").field("entries", &self.len()).field("first_set", &set).finish()
    }
}

impl Bitstring {
    /// A list of `entries` bits (rounded up to whole bytes), all clear.
    pub fn new(entries: usize) -> Self {
        Bitstring { bytes: vec![0; entries.div_ceil(8)] }
    }

    /// How many entries the list holds.
    pub fn len(&self) -> usize {
        self.bytes.len() * 8
    }

    /// Does the list hold no entries?
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Entry `index`, or `None` past the end.
    pub fn get(&self, index: usize) -> Option<bool> {
        let byte = self.bytes.get(index / 8)?;
        Some(byte & (0x80 >> (index % 8)) != 0)
    }

    /// Sets entry `index`; `false` (and nothing changed) past the end.
    pub fn set(&mut self, index: usize, value: bool) -> bool {
        let Some(byte) = self.bytes.get_mut(index / 8) else { return false };
        let mask = 0x80 >> (index % 8);
        if value {
            *byte |= mask;
        } else {
            *byte &= !mask;
        }
        true
    }

    /// BLAKE3 of the bits: what a signed list certified, to tell whether it is still current.
    pub fn digest(&self) -> Hash32 {
        Hash32::digest(&self.bytes)
    }

    /// The `encodedList`: `u` + base64url (no padding) of the GZIP-compressed bits.
    pub fn encode(&self) -> String {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        // Writing to a Vec cannot fail.
        let _ = gzip.write_all(&self.bytes);
        let compressed = gzip.finish().unwrap_or_default();
        format!("u{}", URL_SAFE_NO_PAD.encode(compressed))
    }

    /// Reads an `encodedList`, refusing one that is not `u` + base64url of GZIP, or whose bits
    /// would exceed [`MAX_BYTES`].
    pub fn decode(encoded: &str) -> Result<Self, String> {
        let base64 =
            encoded.strip_prefix('u').ok_or("encodedList is not multibase base64url (it must start with `u`)")?;
        let compressed = URL_SAFE_NO_PAD
            .decode(base64.trim_end_matches('='))
            .map_err(|e| format!("encodedList is not base64url ({e})"))?;
        let mut bytes = Vec::new();
        GzDecoder::new(compressed.as_slice())
            .take(MAX_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("encodedList is not GZIP ({e})"))?;
        if bytes.len() > MAX_BYTES {
            return Err(format!("encodedList decompresses to more than {MAX_BYTES} bytes"));
        }
        Ok(Bitstring { bytes })
    }
}

/// A form-2 credential's `credentialStatus`: its revocation and suspension entries.
pub fn entries(base: &str, key: &Did, list: u32, index: u32) -> Value {
    let entry = |purpose: Purpose| {
        let url = list_url(base, key, purpose, list);
        json!({
            "id": format!("{url}#{index}"),
            "type": "BitstringStatusListEntry",
            "statusPurpose": purpose.as_str(),
            "statusListIndex": index.to_string(),
            "statusListCredential": url,
        })
    };
    Value::Array(Purpose::ALL.into_iter().map(entry).collect())
}

/// The (unsigned) `BitstringStatusListCredential` of `bits` for `purpose`, at `url`, issued by
/// `issuer` from `valid_from` (an RFC 3339 date-time): what an issuer signs and serves at `url`.
pub fn list_credential(url: &str, issuer: &str, purpose: &str, bits: &Bitstring, valid_from: &str) -> Value {
    json!({
        "@context": [crate::jsonld::CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer,
        "validFrom": valid_from,
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": bits.encode(),
        },
    })
}

/// One of a key's lists as a `status_list.signed` event names it: where it is served, what it is
/// for, and which of the key's lists.
#[derive(Clone, Copy, Debug)]
pub struct KeyList<'a> {
    pub base: &'a str,
    pub key: &'a Did,
    pub purpose: Purpose,
    pub list: u32,
}

impl KeyList<'_> {
    /// The URL the list is served at (the list credential's `id`).
    pub fn url(&self) -> String {
        list_url(self.base, self.key, self.purpose, self.list)
    }

    /// The unsigned list credential of `bits`, issued by the key, valid from `at` (the signing
    /// event's `created_at`): what a `status_list.signed` event's proof signs.
    pub fn credential(&self, bits: &Bitstring, at: &Timestamp) -> Value {
        list_credential(&self.url(), self.key.as_str(), self.purpose.as_str(), bits, &at.to_string())
    }

    /// The key's `eddsa-rdfc-2022` proofValue of [`credential`](Self::credential), created `at`.
    pub fn sign(&self, bits: &Bitstring, at: &Timestamp, key: &SecretKey) -> Result<String, RdfcError> {
        rdfc::sign(&self.credential(bits, at), &rdfc::proof_options(self.key, at), key)
    }

    /// Checks `proof_value` as the key's proof of [`credential`](Self::credential), created `at`.
    pub fn verify(&self, bits: &Bitstring, at: &Timestamp, proof_value: &str) -> Result<(), RdfcError> {
        rdfc::verify(&self.credential(bits, at), &rdfc::proof_options(self.key, at), proof_value, self.key)
    }

    /// The signed `BitstringStatusListCredential`: [`credential`](Self::credential) with its
    /// DataIntegrityProof (eddsa-rdfc-2022, `created` = `validFrom` = `at`).
    pub fn secured(&self, bits: &Bitstring, at: &Timestamp, proof_value: &str) -> Value {
        crate::vc::secure(self.credential(bits, at), rdfc::proof_options(self.key, at), proof_value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_specs_example_list_is_all_clear_and_long_enough() {
        // The encodedList of the spec's BitstringStatusListCredential example (131,072 entries).
        let example = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";
        let bits = Bitstring::decode(example).unwrap();
        assert_eq!(bits.len(), MIN_ENTRIES);
        assert!((0..bits.len()).all(|i| bits.get(i) == Some(false)));
        assert_eq!(Bitstring::decode(&bits.encode()).unwrap(), bits);
    }

    #[test]
    fn bits_are_most_significant_first_and_round_trip() {
        let mut bits = Bitstring::new(MIN_ENTRIES);
        for i in [0, 7, 8, 94567, MIN_ENTRIES - 1] {
            assert!(bits.set(i, true));
        }
        assert!(!bits.set(MIN_ENTRIES, true), "past the end");
        let decoded = Bitstring::decode(&bits.encode()).unwrap();
        assert_eq!(decoded, bits);
        assert_eq!(decoded.bytes[0], 0b1000_0001);
        assert_eq!(decoded.bytes[1], 0b1000_0000);
        assert_eq!((decoded.get(94567), decoded.get(94568), decoded.get(MIN_ENTRIES)), (Some(true), Some(false), None));
        bits.set(7, false);
        assert_eq!(bits.get(7), Some(false));
    }

    #[test]
    fn a_decompression_bomb_and_malformed_lists_are_refused() {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        gzip.write_all(&vec![0u8; MAX_BYTES + 1]).unwrap();
        let bomb = format!("u{}", URL_SAFE_NO_PAD.encode(gzip.finish().unwrap()));
        assert!(bomb.len() < 8 * 1024, "a small answer: {}", bomb.len());
        assert!(Bitstring::decode(&bomb).unwrap_err().contains("more than"));
        for (encoded, why) in [("zabc", "start with `u`"), ("u!!", "not base64url"), ("uAAAA", "not GZIP")] {
            let err = Bitstring::decode(encoded).unwrap_err();
            assert!(err.contains(why), "{encoded}: {err}");
        }
    }

    #[test]
    fn a_key_list_signs_and_verifies_exactly_its_bits() {
        let key = crate::SecretKey::from_seed(&[4; 32]);
        let at: Timestamp = "2026-02-01T10:00:00Z".parse().unwrap();
        let place = KeyList { base: "https://l.example", key: key.did(), purpose: Purpose::Revocation, list: 1 };
        let mut bits = Bitstring::new(MIN_ENTRIES);
        bits.set(42, true);
        let proof = place.sign(&bits, &at, &key).unwrap();
        assert_eq!(place.verify(&bits, &at, &proof), Ok(()));
        let secured = place.secured(&bits, &at, &proof);
        assert_eq!(secured["id"], place.url());
        assert_eq!(secured["proof"]["created"], secured["validFrom"]);
        assert_eq!(secured["proof"]["proofValue"], proof.as_str());
        // Other bits, another time, another purpose or base: not what was signed.
        let mut other = bits.clone();
        other.set(43, true);
        assert_eq!(place.verify(&other, &at, &proof), Err(RdfcError::Mismatch));
        let later: Timestamp = "2026-02-01T10:00:01Z".parse().unwrap();
        assert_eq!(place.verify(&bits, &later, &proof), Err(RdfcError::Mismatch));
        let suspension = KeyList { purpose: Purpose::Suspension, ..place };
        assert_eq!(suspension.verify(&bits, &at, &proof), Err(RdfcError::Mismatch));
        let elsewhere = KeyList { base: "https://m.example", ..place };
        assert_eq!(elsewhere.verify(&bits, &at, &proof), Err(RdfcError::Mismatch));
        assert_ne!(bits.digest(), other.digest());
    }

    #[test]
    fn entries_and_list_credential_are_json_ld_safe() {
        let key = crate::SecretKey::from_seed(&[3; 32]);
        let url = list_url("https://l.example", key.did(), Purpose::Suspension, 2);
        let list = list_credential(
            &url,
            key.did().as_str(),
            "suspension",
            &Bitstring::new(MIN_ENTRIES),
            "2026-01-01T00:00:00Z",
        );
        crate::jsonld::canonicalize(&list).unwrap();
        assert_eq!(
            list["credentialSubject"]["id"],
            format!("https://l.example/v1/status-lists/{}/suspension/2#list", key.did())
        );
        let entries = entries("https://l.example", key.did(), 2, 94_567);
        assert_eq!(entries[0]["statusListIndex"], "94567");
        assert_eq!(entries[1]["statusPurpose"], "suspension");
        let credential = json!({"@context": [crate::jsonld::CREDENTIALS_V2], "type": ["VerifiableCredential"], "issuer": key.did().as_str(), "credentialSubject": {"id": "did:example:1"}, "credentialStatus": entries});
        crate::jsonld::canonicalize(&credential).unwrap();
    }
}
