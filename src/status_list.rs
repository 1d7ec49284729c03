//! W3C Bitstring Status List v1.0: the lists a form-2 credential's `credentialStatus` points at.
//! Each signing key has lists of [`LIST_SIZE`] entries per purpose (revocation, suspension); a
//! credential takes one index, the same in the list of each purpose. A list's bits are a function
//! of the log (the status projection); its credential is signed by the key it belongs to, with
//! `eddsa-rdfc-2022`, in a `status_list.signed` event. Pure: encoding, URLs and documents.

use std::io::{Read, Write};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::id::Did;

/// Entries per list: 131,072 (16 KiB), the spec's minimum for herd privacy.
pub const LIST_SIZE: u32 = 131_072;
const LIST_BYTES: usize = (LIST_SIZE / 8) as usize;

/// What a list's set bit means.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    Revocation,
    Suspension,
}

impl Purpose {
    /// Both purposes, in the order a credential lists its entries.
    pub const ALL: [Purpose; 2] = [Purpose::Revocation, Purpose::Suspension];

    /// The `statusPurpose` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Revocation => "revocation",
            Purpose::Suspension => "suspension",
        }
    }
}

impl std::str::FromStr for Purpose {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "revocation" => Ok(Purpose::Revocation),
            "suspension" => Ok(Purpose::Suspension),
            _ => Err(format!("`{}` is not a status purpose (revocation or suspension)", crate::text::clip(s, 40))),
        }
    }
}

impl std::fmt::Display for Purpose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The URL of `key`'s list `list` for `purpose` on the ledger whose public URL is `base`.
pub fn list_url(base: &str, key: &Did, purpose: Purpose, list: u32) -> String {
    format!("{base}/v1/status-lists/{key}/{purpose}/{list}")
}

/// A list's bits, index 0 the left-most (most significant) bit of the first byte.
#[derive(Clone, PartialEq, Eq)]
pub struct Bits(Vec<u8>);

impl std::fmt::Debug for Bits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bits({} set)", self.0.iter().map(|b| b.count_ones()).sum::<u32>())
    }
}

impl Default for Bits {
    fn default() -> Self {
        Bits(vec![0; LIST_BYTES])
    }
}

impl Bits {
    /// Sets (or clears) the bit at `index` (< [`LIST_SIZE`]; others are ignored).
    pub fn set(&mut self, index: u32, on: bool) {
        if index < LIST_SIZE {
            let (byte, mask) = ((index / 8) as usize, 0x80u8 >> (index % 8));
            if on { self.0[byte] |= mask } else { self.0[byte] &= !mask }
        }
    }

    /// The bit at `index`.
    pub fn get(&self, index: u32) -> bool {
        index < LIST_SIZE && self.0[(index / 8) as usize] & (0x80u8 >> (index % 8)) != 0
    }

    /// `encodedList`: GZIP, then base64url without padding, as multibase (`u…`).
    pub fn encode(&self) -> String {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gzip.write_all(&self.0).expect("writing to memory");
        format!("u{}", URL_SAFE_NO_PAD.encode(gzip.finish().expect("writing to memory")))
    }

    /// Reads an `encodedList` of exactly [`LIST_SIZE`] entries (a larger one is refused before it
    /// is inflated past that).
    pub fn decode(encoded: &str) -> Result<Bits, String> {
        let base64 = encoded.strip_prefix('u').ok_or("encodedList is not multibase base64url (u…)")?;
        let gzip = URL_SAFE_NO_PAD.decode(base64).map_err(|_| "encodedList is not base64url".to_owned())?;
        let mut bytes = Vec::with_capacity(LIST_BYTES);
        flate2::read::GzDecoder::new(gzip.as_slice())
            .take(LIST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| "encodedList is not GZIP".to_owned())?;
        if bytes.len() != LIST_BYTES {
            return Err(format!("encodedList holds {} bits, not {LIST_SIZE}", bytes.len().min(LIST_BYTES + 1) * 8));
        }
        Ok(Bits(bytes))
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

/// The (unsigned) BitstringStatusListCredential of `key`'s list: issued by `key`, valid from
/// `valid_from`, with `encoded_list` as its bits.
pub fn list_credential(
    base: &str,
    key: &Did,
    purpose: Purpose,
    list: u32,
    encoded_list: &str,
    valid_from: &str,
) -> Value {
    let url = list_url(base, key, purpose, list);
    json!({
        "@context": [crate::jsonld::CREDENTIALS_V2],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": key.as_str(),
        "validFrom": valid_from,
        "credentialSubject": {
            "id": format!("{url}#list"),
            "type": "BitstringStatusList",
            "statusPurpose": purpose.as_str(),
            "encodedList": encoded_list,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The encodedList of the spec's example (W3C Bitstring Status List v1.0, §2.2): 131,072
    /// entries, none set.
    const SPEC_EXAMPLE: &str = "uH4sIAAAAAAAAA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA";

    #[test]
    fn reads_the_spec_example_and_round_trips_set_bits() {
        let bits = Bits::decode(SPEC_EXAMPLE).unwrap();
        assert_eq!(bits, Bits::default());
        let mut bits = Bits::default();
        for i in [0, 7, 8, 94_567, LIST_SIZE - 1] {
            bits.set(i, true);
        }
        let back = Bits::decode(&bits.encode()).unwrap();
        assert_eq!(back, bits);
        assert!(back.get(0) && back.get(7) && back.get(8) && back.get(94_567) && back.get(LIST_SIZE - 1));
        assert!(!back.get(1) && !back.get(94_566) && !back.get(LIST_SIZE));
        // Index 0 is the left-most bit of the first byte.
        assert_eq!(back.0[0], 0b1000_0001);
        bits.set(7, false);
        assert!(!Bits::decode(&bits.encode()).unwrap().get(7));
    }

    #[test]
    fn refuses_what_is_not_a_list_of_this_size() {
        assert!(Bits::decode("zabc").unwrap_err().contains("multibase"));
        assert!(Bits::decode("u!!").unwrap_err().contains("base64url"));
        assert!(Bits::decode(&format!("u{}", URL_SAFE_NO_PAD.encode(b"plain"))).unwrap_err().contains("GZIP"));
        let mut big = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        big.write_all(&vec![0u8; 4 * LIST_BYTES]).unwrap();
        let big = format!("u{}", URL_SAFE_NO_PAD.encode(big.finish().unwrap()));
        assert!(Bits::decode(&big).unwrap_err().contains("not 131072"));
    }

    #[test]
    fn entries_and_list_credential_are_json_ld_safe() {
        let key = crate::SecretKey::from_seed(&[3; 32]);
        let list = list_credential(
            "https://l.example",
            key.did(),
            Purpose::Suspension,
            2,
            &Bits::default().encode(),
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
