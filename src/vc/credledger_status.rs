//! The `credentialStatus` of the ledger's first standard form (v1): `{"id":
//! "https://<origin>/v1/status/<uuid>", "type": "CredledgerStatus"}`, which names a ledger and
//! the credential's UUID there. Credentials already on a log keep it (their bytes never change);
//! the ledger answers it at `GET /v1/status/{uuid}`.

use serde_json::Value;

use super::document::quote;

/// The `credentialStatus` type a credledger ledger wrote in its v1 standard form.
pub const STATUS_TYPE: &str = "CredledgerStatus";

/// Where a credential's status is kept: the URL, the ledger `origin` and the credential's UUID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatusReference {
    pub url: String,
    pub origin: String,
    pub uuid: String,
}

/// Reads one `credentialStatus` object of type [`STATUS_TYPE`] of `document`, refusing a URL that
/// is not `https://<origin>/v1/status/<uuid>`, or one for another credential than this one (`id`
/// `urn:uuid:<uuid>`).
pub fn reference(status: &Value, document: &Value) -> Result<StatusReference, String> {
    let url = status.get("id").and_then(Value::as_str).ok_or("credentialStatus has no id")?;
    let unreadable = || format!("credentialStatus id `{}` is not https://<ledger>/v1/status/<uuid>", quote(url));
    let (origin, uuid) =
        url.strip_prefix("https://").and_then(|rest| rest.rsplit_once("/v1/status/")).ok_or_else(unreadable)?;
    let origin_ok = origin.starts_with(|c: char| c.is_ascii_alphanumeric())
        && origin.chars().all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c));
    let uuid_ok = uuid::Uuid::try_parse(uuid).is_ok_and(|u| u.hyphenated().to_string() == uuid);
    if !origin_ok || !uuid_ok {
        return Err(unreadable());
    }
    let id = document.get("id").and_then(Value::as_str).unwrap_or_default();
    if id != format!("urn:uuid:{uuid}") {
        return Err(format!(
            "credentialStatus is the status of urn:uuid:{uuid}, but this credential is `{}`",
            quote(id)
        ));
    }
    Ok(StatusReference { url: url.to_owned(), origin: origin.to_owned(), uuid: uuid.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const UUID: &str = "3f2a0c1e-8b1d-4c55-9a7e-2f0d6c1b9e44";

    fn read(url: &str) -> Result<StatusReference, String> {
        reference(&json!({"id": url, "type": STATUS_TYPE}), &json!({"id": format!("urn:uuid:{UUID}")}))
    }

    #[test]
    fn reads_the_status_reference_of_this_credential_only() {
        let found = read(&format!("https://ledger.example.edu/v1/status/{UUID}")).unwrap();
        assert_eq!((found.origin.as_str(), found.uuid.as_str()), ("ledger.example.edu", UUID));
        assert_eq!(read(&format!("https://example.edu/creds/v1/status/{UUID}")).unwrap().origin, "example.edu/creds");
        let refused = [
            (format!("http://ledger.example.edu/v1/status/{UUID}"), "not https://"),
            (format!("https://user@evil.example/v1/status/{UUID}"), "not https://"),
            ("https://ledger.example.edu/v1/status/not-a-uuid".to_owned(), "not https://"),
            (
                "https://ledger.example.edu/v1/status/11111111-2222-4333-8444-555555555555".to_owned(),
                "this credential is",
            ),
        ];
        for (url, why) in refused {
            let err = read(&url).unwrap_err();
            assert!(err.contains(why), "{url}: {err}");
        }
        assert!(reference(&json!({"type": STATUS_TYPE}), &json!({})).unwrap_err().contains("no id"));
    }
}
