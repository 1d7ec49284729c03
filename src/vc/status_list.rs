//! W3C Bitstring Status List v1.0, the verifier's side: the `BitstringStatusListEntry` a
//! credential carries, and what a verifier checks of the status list credential an entry points
//! at before it reads the entry's bit ([`crate::status_list`] has the bits and the list
//! credential). Fetching the list and checking its proof are the caller's.

use serde_json::Value;

use super::document::{self, quote as clip};
use crate::event::Timestamp;
pub use crate::status_list::{Bitstring, MIN_ENTRIES, list_credential};

/// The `credentialStatus` type of an entry in a Bitstring Status List.
pub const ENTRY_TYPE: &str = "BitstringStatusListEntry";

/// The status purposes this verifier acts on.
pub const PURPOSES: [&str; 2] = ["revocation", "suspension"];

/// One `BitstringStatusListEntry` of a credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusEntry {
    /// `revocation` or `suspension`.
    pub purpose: String,
    /// `statusListIndex`.
    pub index: usize,
    /// `statusListCredential`: where the list credential is.
    pub list: String,
}

impl StatusEntry {
    /// Where the entry's bit is, for messages: the list URL and the index.
    pub fn locator(&self) -> String {
        format!("{}#{}", self.list, self.index)
    }
}

/// Reads one `credentialStatus` object of type [`ENTRY_TYPE`].
pub fn entry(status: &Value) -> Result<StatusEntry, String> {
    let field = |name: &str| status.get(name).and_then(Value::as_str);
    let purpose = field("statusPurpose").ok_or("BitstringStatusListEntry has no statusPurpose")?;
    if !PURPOSES.contains(&purpose) {
        return Err(format!(
            "statusPurpose `{}` is not one this verifier reads (revocation, suspension)",
            clip(purpose)
        ));
    }
    let index = field("statusListIndex").ok_or("BitstringStatusListEntry has no statusListIndex (a string)")?;
    let index = match index.parse::<usize>() {
        Ok(i) if index.bytes().all(|b| b.is_ascii_digit()) && (index == "0" || !index.starts_with('0')) => i,
        _ => return Err(format!("statusListIndex `{}` is not a non-negative integer", clip(index))),
    };
    let list = field("statusListCredential").ok_or("BitstringStatusListEntry has no statusListCredential")?;
    match status.get("statusSize") {
        None => {}
        Some(size) if size.as_u64() == Some(1) => {}
        Some(size) => {
            return Err(format!("statusSize {} is not read: only 1-bit entries are", clip(&size.to_string())));
        }
    }
    Ok(StatusEntry { purpose: purpose.to_owned(), index, list: list.to_owned() })
}

/// The entry's bit in `list_credential` (the document fetched from `entry.list`, its proof
/// already verified), after checking what the spec and a careful verifier require: it is a
/// `BitstringStatusListCredential` whose `id` is the URL it was fetched from (so a list of
/// another purpose or index range cannot be served in its place), issued by `issuer` (the
/// credential's issuer), valid at `now`, for the entry's purpose, of at least [`MIN_ENTRIES`]
/// entries, and long enough to hold the index.
pub fn read(entry: &StatusEntry, list_credential: &Value, issuer: &str, now: &Timestamp) -> Result<bool, String> {
    let types = list_credential.get("type");
    let has_type = |t: &str| match types {
        Some(Value::Array(ts)) => ts.iter().any(|v| v == t),
        Some(Value::String(s)) => s == t,
        _ => false,
    };
    if !has_type("BitstringStatusListCredential") {
        return Err("the document at statusListCredential is not a BitstringStatusListCredential".into());
    }
    let id = list_credential.get("id").and_then(Value::as_str).unwrap_or_default();
    if id != entry.list {
        return Err(format!("the list credential's id `{}` is not the URL it was fetched from", clip(id)));
    }
    let list_issuer = document::issuer_id(list_credential).unwrap_or_default();
    if list_issuer != issuer {
        return Err(format!(
            "the list is issued by `{}`, not by the credential's issuer `{}`",
            clip(list_issuer),
            clip(issuer)
        ));
    }
    document::window(list_credential, now).map_err(|e| format!("the list credential is {e}"))?;
    let subject = list_credential.get("credentialSubject").ok_or("the list credential has no credentialSubject")?;
    if subject.get("type").and_then(Value::as_str) != Some("BitstringStatusList") {
        return Err("the list credential's subject is not a BitstringStatusList".into());
    }
    let purposes = match subject.get("statusPurpose") {
        Some(Value::String(p)) => vec![p.as_str()],
        Some(Value::Array(ps)) => ps.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !purposes.contains(&entry.purpose.as_str()) {
        return Err(format!("the list's statusPurpose is not `{}`", entry.purpose));
    }
    let encoded = subject.get("encodedList").and_then(Value::as_str).ok_or("the list has no encodedList")?;
    let bits = Bitstring::decode(encoded)?;
    if bits.len() < MIN_ENTRIES {
        return Err(format!("the list holds {} entries, fewer than the {MIN_ENTRIES} the spec requires", bits.len()));
    }
    bits.get(entry.index).ok_or_else(|| format!("index {} is past the list's {} entries", entry.index, bits.len()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LIST: &str = "https://ledger.example.edu/v1/status-lists/k/revocation/0";
    const ISSUER: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    fn revocations(bits: &Bitstring) -> Value {
        list_credential(LIST, ISSUER, "revocation", bits, "2026-01-01T00:00:00Z")
    }

    fn entry_at(index: usize) -> StatusEntry {
        StatusEntry { purpose: "revocation".into(), index, list: LIST.into() }
    }

    #[test]
    fn entries_are_read_strictly() {
        let good = json!({"id": format!("{LIST}#7"), "type": ENTRY_TYPE, "statusPurpose": "suspension", "statusListIndex": "7", "statusListCredential": LIST});
        assert_eq!(entry(&good).unwrap(), StatusEntry { purpose: "suspension".into(), index: 7, list: LIST.into() });
        let with = |field: &str, value: Value| {
            let mut e = good.clone();
            e[field] = value;
            entry(&e).unwrap_err()
        };
        assert!(with("statusPurpose", "refresh".into()).contains("`refresh`"));
        for index in ["-1", "07", "1e3", "", " 7", "99999999999999999999999"] {
            assert!(with("statusListIndex", index.into()).contains("not a non-negative integer"), "{index}");
        }
        assert!(with("statusListIndex", 7.into()).contains("no statusListIndex"));
        assert!(with("statusSize", 2.into()).contains("statusSize 2"));
        assert_eq!(entry(&json!({"statusPurpose": "revocation", "statusListIndex": "0", "statusListCredential": LIST, "statusSize": 1})).unwrap().index, 0);
    }

    #[test]
    fn reads_the_bit_of_a_list_that_is_the_issuers_and_for_the_purpose() {
        let mut bits = Bitstring::new(MIN_ENTRIES);
        bits.set(42, true);
        let list = revocations(&bits);
        assert_eq!(read(&entry_at(42), &list, ISSUER, &now()), Ok(true));
        assert_eq!(read(&entry_at(43), &list, ISSUER, &now()), Ok(false));

        let refused = |mutate: &dyn Fn(&mut Value), entry: StatusEntry, why: &str| {
            let mut doc = list.clone();
            mutate(&mut doc);
            let err = read(&entry, &doc, ISSUER, &now()).unwrap_err();
            assert!(err.contains(why), "want {why:?}: {err}");
        };
        refused(&|_| {}, entry_at(MIN_ENTRIES), "past the list's");
        refused(&|d| d["issuer"] = "did:key:z6MkOther".into(), entry_at(1), "not by the credential's issuer");
        refused(&|d| d["issuer"] = json!({"id": "did:web:evil.example"}), entry_at(1), "did:web:evil.example");
        refused(
            &|d| d["id"] = "https://ledger.example.edu/other".into(),
            entry_at(1),
            "not the URL it was fetched from",
        );
        refused(&|d| d["credentialSubject"]["statusPurpose"] = "suspension".into(), entry_at(1), "not `revocation`");
        refused(&|d| d["type"] = json!(["VerifiableCredential"]), entry_at(1), "not a BitstringStatusListCredential");
        refused(&|d| d["validUntil"] = "2026-02-01T00:00:00Z".into(), entry_at(1), "expired");
        refused(&|d| d["validFrom"] = "2027-01-01T00:00:00Z".into(), entry_at(1), "not valid before");
        refused(
            &|d| d["credentialSubject"]["encodedList"] = Bitstring::new(MIN_ENTRIES - 8).encode().into(),
            entry_at(1),
            "fewer than the 131072",
        );
        let purposes = |d: &mut Value| d["credentialSubject"]["statusPurpose"] = json!(["suspension", "revocation"]);
        let mut doc = list.clone();
        purposes(&mut doc);
        assert_eq!(read(&entry_at(42), &doc, ISSUER, &now()), Ok(true), "a list of several purposes");
    }
}
