//! What every verification reads of a credential, whatever secures it: its types, its issuer's
//! id, and its validity window (VC 2.0 `validFrom`/`validUntil`, or VC 1.1 `issuanceDate`/
//! `expirationDate` for credentials issued elsewhere under the older data model).

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::event::Timestamp;

/// Untrusted text quoted in a message, cut to [`crate::text::QUOTE`] characters.
pub(crate) fn quote(text: &str) -> String {
    crate::text::clip(text, crate::text::QUOTE)
}

/// Does the document's `type` (a string or a list) include `name`?
pub fn has_type(document: &Value, name: &str) -> bool {
    match document.get("type") {
        Some(Value::Array(types)) => types.iter().any(|t| t == name),
        Some(Value::String(t)) => t == name,
        _ => false,
    }
}

/// The issuer's id: `issuer` as a string, or its `id` when it is a profile object.
pub fn issuer_id(document: &Value) -> Option<&str> {
    match document.get("issuer")? {
        Value::String(id) => Some(id),
        profile => profile.get("id")?.as_str(),
    }
}

/// The issuer's self-asserted `name`, when its profile has one (a string).
pub fn issuer_name(document: &Value) -> Option<&str> {
    document.get("issuer")?.get("name")?.as_str()
}

/// Is the document within its validity window at `now`? `Ok` says which bounds it has.
pub fn window(document: &Value, now: &Timestamp) -> Result<String, String> {
    let date = |names: [&str; 2]| -> Result<Option<OffsetDateTime>, String> {
        let Some((name, value)) = names.iter().find_map(|n| document.get(*n).map(|v| (*n, v))) else {
            return Ok(None);
        };
        let text = value.as_str().ok_or_else(|| format!("{name} is not a date-time string"))?;
        OffsetDateTime::parse(text, &Rfc3339)
            .map(Some)
            .map_err(|_| format!("{name} `{}` is not an RFC 3339 date-time", quote(text)))
    };
    let (from, until) = (date(["validFrom", "issuanceDate"])?, date(["validUntil", "expirationDate"])?);
    match (from, until) {
        (Some(from), _) if from > now.0 => Err(format!("not valid before {}", Timestamp(from))),
        (_, Some(until)) if until < now.0 => Err(format!("expired at {}", Timestamp(until))),
        (_, Some(until)) => Ok(format!("valid now (until {})", Timestamp(until))),
        _ => Ok("valid now".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_both_data_models_and_refuses_what_is_not_a_date() {
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let ok = |doc: Value| window(&doc, &now);
        assert_eq!(ok(json!({})), Ok("valid now".into()));
        assert!(ok(json!({"validFrom": "2026-01-01T00:00:00.123+02:00"})).is_ok());
        assert!(ok(json!({"issuanceDate": "2027-01-01T00:00:00Z"})).unwrap_err().starts_with("not valid before"));
        assert!(ok(json!({"expirationDate": "2026-05-31T23:59:59Z"})).unwrap_err().starts_with("expired at"));
        assert!(ok(json!({"validUntil": "2026-06-02T00:00:00Z"})).unwrap().contains("until"));
        assert!(ok(json!({"validFrom": "yesterday"})).unwrap_err().contains("`yesterday`"));
        assert!(ok(json!({"validFrom": 5})).unwrap_err().contains("not a date-time string"));
    }

    #[test]
    fn the_issuer_is_a_string_or_a_profile() {
        assert_eq!(issuer_id(&json!({"issuer": "did:web:a.example"})), Some("did:web:a.example"));
        let profile = json!({"issuer": {"id": "did:key:z6Mk", "type": ["Profile"], "name": "A College"}});
        assert_eq!((issuer_id(&profile), issuer_name(&profile)), (Some("did:key:z6Mk"), Some("A College")));
        assert_eq!(issuer_id(&json!({"issuer": {"name": "x"}})), None);
        assert!(has_type(&json!({"type": "A"}), "A") && has_type(&json!({"type": ["B", "A"]}), "A"));
    }
}
