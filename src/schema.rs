//! JSON Schemas for ledger events, and validation against them.
//!
//! Every event is a JSON envelope (`schemas/event.json`) whose `body` must match the schema
//! named after its `kind` (`schemas/<kind>.json`); shared definitions (did:key, event ids,
//! dates, timestamps, skills, bounded text fields) live in `schemas/common.json`.
//!
//! The schemas are JSON Schema draft 2020-12 and are embedded in the binary: they are compiled
//! once, on first use, with format validation (`date`, `date-time`) switched on, with
//! `common.json` registered in memory so every `$ref` resolves offline, and with a linear-time
//! regular expression engine. Nothing is fetched from the network or the file system.
//!
//! Errors name the offending field as a dotted path from the event root (`body.credits`,
//! `body.skills[0].id`, `kind`) and say what is wrong in plain words. When a document has
//! several problems, the one reported is chosen by a fixed order (field path first, then the
//! kind of problem), so the same input always yields the same error.
//!
//! Learners appear on the log only as their did:key: the schemas leave no place for names,
//! email addresses or birth dates of learners.

use std::cmp::Ordering;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::{Draft, JsonType, Registry, ValidationError, Validator};
use serde_json::Value;

use crate::text::{QUOTE, clip};

/// Why a JSON document does not match its schema: the field (dotted path from the event root, e.g. `body.credits`, `body.skills[0].id`, or `kind`) and the reason in plain words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
#[non_exhaustive]
pub struct SchemaError {
    /// Dotted path from the event root (`event` for the event itself, `body` for the body).
    pub field: String,
    /// What is wrong, in plain words.
    pub reason: String,
}

/// The event kinds the schemas know, in a fixed order: ledger, issuers, credentials,
/// apprenticeships, credential status changes, learner keys (the same order as the `kind` enum
/// of `schemas/event.json`).
pub const KINDS: &[&str] = &[
    "ledger.genesis",
    "issuer.registered",
    "issuer.suspended",
    "issuer.key_added",
    "issuer.key_revoked",
    "credential.course_completed",
    "credential.certificate_awarded",
    "credential.apprenticeship_completed",
    "apprenticeship.started",
    "apprenticeship.hours_logged",
    "credential.revoked",
    "credential.suspended",
    "credential.reinstated",
    "learner.key_linked",
    "status_list.signed",
];

const COMMON_ID: &str = "https://credledger.dev/schemas/common.json";
const COMMON: &str = include_str!("../schemas/common.json");
const EVENT: &str = include_str!("../schemas/event.json");

/// Body schemas, in the order of [`KINDS`].
const BODY_SCHEMAS: [&str; 15] = [
    include_str!("../schemas/ledger.genesis.json"),
    include_str!("../schemas/issuer.registered.json"),
    include_str!("../schemas/issuer.suspended.json"),
    include_str!("../schemas/issuer.key_added.json"),
    include_str!("../schemas/issuer.key_revoked.json"),
    include_str!("../schemas/credential.course_completed.json"),
    include_str!("../schemas/credential.certificate_awarded.json"),
    include_str!("../schemas/credential.apprenticeship_completed.json"),
    include_str!("../schemas/apprenticeship.started.json"),
    include_str!("../schemas/apprenticeship.hours_logged.json"),
    include_str!("../schemas/credential.revoked.json"),
    include_str!("../schemas/credential.suspended.json"),
    include_str!("../schemas/credential.reinstated.json"),
    include_str!("../schemas/learner.key_linked.json"),
    include_str!("../schemas/status_list.signed.json"),
];

/// Validates a whole event (envelope, then the body against its kind's schema). Returns the first error, deterministic (the same input always names the same field).
///
/// # Errors
///
/// A [`SchemaError`] naming the first offending field when the envelope or the body does not
/// match its schema.
pub fn validate_event(event: &Value) -> Result<(), SchemaError> {
    let compiled = compiled();
    first_error(&compiled.envelope, event, Root::Event)?;
    // The envelope guarantees `kind` is one of KINDS and `body` is an object; stay defensive.
    let Some(kind) = event.get("kind").and_then(Value::as_str) else {
        return Err(SchemaError::new("kind", "is required"));
    };
    let Some(body) = event.get("body") else {
        return Err(SchemaError::new("body", "is required"));
    };
    validate_body(kind, body)
}

/// Validates just a body against the schema of `kind` (unknown kind → SchemaError{field:"kind", reason:"unknown event kind `x`"}).
///
/// Field paths are given from the event root, so they start with `body`.
///
/// # Errors
///
/// A [`SchemaError`] naming the first offending field, or `kind` when the kind is unknown.
pub fn validate_body(kind: &str, body: &Value) -> Result<(), SchemaError> {
    let Some(index) = KINDS.iter().position(|k| *k == kind) else {
        return Err(unknown_kind(kind));
    };
    first_error(&compiled().bodies[index], body, Root::Body)
}

/// The raw text of a schema by file stem (e.g. "event", "common", "credential.revoked"), for serving and docs.
#[must_use]
pub fn schema_text(name: &str) -> Option<&'static str> {
    match name {
        "common" => Some(COMMON),
        "event" => Some(EVENT),
        "bundle.schema" => Some(include_str!("../schemas/bundle.schema.json")),
        _ => KINDS.iter().position(|k| *k == name).map(|i| BODY_SCHEMAS[i]),
    }
}

impl SchemaError {
    fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        SchemaError { field: field.into(), reason: reason.into() }
    }
}

// ---------------------------------------------------------------------------------------------
// Compilation

struct Compiled {
    envelope: Validator,
    bodies: Vec<Validator>,
}

fn compiled() -> &'static Compiled {
    static COMPILED: OnceLock<Compiled> = OnceLock::new();
    COMPILED.get_or_init(compile)
}

fn parse(name: &str, text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("embedded schema `{name}` is not valid JSON: {e}"))
}

fn compile() -> Compiled {
    let registry = Registry::new()
        .add(COMMON_ID, parse("common", COMMON))
        .and_then(jsonschema::RegistryBuilder::prepare)
        .unwrap_or_else(|e| panic!("embedded schema `common` cannot be registered: {e}"));
    let options = jsonschema::options()
        .with_draft(Draft::Draft202012)
        .should_validate_formats(true)
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .with_registry(&registry)
        .offline();
    let build = |name: &str, text: &str| {
        options.build(&parse(name, text)).unwrap_or_else(|e| panic!("embedded schema `{name}` does not compile: {e}"))
    };
    Compiled {
        envelope: build("event", EVENT),
        bodies: KINDS.iter().zip(BODY_SCHEMAS).map(|(kind, text)| build(kind, text)).collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// Which document a validator checks: decides how the root is named in field paths.
#[derive(Clone, Copy)]
enum Root {
    Event,
    Body,
}

/// A path segment, ordered so that array indices compare numerically.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Index(usize),
    Key(String),
}

/// A candidate error with the key that decides which one is reported: the smallest path, then
/// the smallest rank (type, then presence, then allowed values, length, shape, format, bounds).
struct Candidate {
    path: Vec<Segment>,
    rank: u8,
    reason: String,
}

fn first_error(validator: &Validator, instance: &Value, root: Root) -> Result<(), SchemaError> {
    // The common case, without collecting errors.
    if validator.is_valid(instance) {
        return Ok(());
    }
    let best = validator.iter_errors(instance).flat_map(|error| candidates(&error, instance, root)).min();
    match best {
        None => Ok(()),
        Some(c) => Err(SchemaError { field: render_path(root, &c.path), reason: c.reason }),
    }
}

fn unknown_kind(kind: &str) -> SchemaError {
    SchemaError::new("kind", format!("unknown event kind `{}`", clip(kind, QUOTE)))
}

/// Turns one jsonschema error into the errors we report (an additionalProperties error with
/// several unexpected fields yields one per field).
fn candidates(error: &ValidationError<'_>, instance: &Value, root: Root) -> Vec<Candidate> {
    let path = pointer_segments(error.instance_path().as_str(), instance);
    let value = error.instance();
    let one = |rank: u8, reason: String| vec![Candidate { path: path.clone(), rank, reason }];
    let child = |name: &str, reason: &str| {
        let mut p = path.clone();
        p.push(Segment::Key(name.to_owned()));
        Candidate { path: p, rank: 1, reason: reason.to_owned() }
    };
    match error.kind() {
        ValidationErrorKind::Type { kind } => one(0, format!("must be {}", type_words(kind))),
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().map_or_else(|| property.to_string(), str::to_owned);
            vec![child(&name, "is required")]
        }
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            unexpected.iter().map(|name| child(name, "is not an allowed field")).collect()
        }
        ValidationErrorKind::Enum { options } => {
            if matches!(root, Root::Event) && path == [Segment::Key("kind".into())] {
                if let Some(kind) = value.as_str() {
                    return vec![Candidate { path, rank: 2, reason: unknown_kind(kind).reason }];
                }
            }
            let choices = options
                .as_array()
                .map(|a| a.iter().map(plain).collect::<Vec<_>>().join(", "))
                .unwrap_or_else(|| options.to_string());
            one(2, format!("{} is not one of: {choices}", shown(value)))
        }
        ValidationErrorKind::Constant { expected_value } => one(2, format!("must be {expected_value}")),
        ValidationErrorKind::Pattern { .. } => {
            let reason = match common_def(error) {
                Some(def) if is_text_def(def) => "must not be blank".to_owned(),
                Some(def) => match describe_def(def) {
                    Some(words) => format!("{} {words}", shown(value)),
                    None => format!("{} does not match the {def} format", shown(value)),
                },
                None => format!("{} does not have the expected format", shown(value)),
            };
            one(4, reason)
        }
        ValidationErrorKind::Format { format } => {
            let reason = match format.as_str() {
                "date" => format!("{} is not a valid date (YYYY-MM-DD)", shown(value)),
                "date-time" => format!("{} is not a valid RFC 3339 date-time", shown(value)),
                other => format!("{} is not a valid {other}", shown(value)),
            };
            one(5, reason)
        }
        ValidationErrorKind::MinLength { limit } => one(
            3,
            if *limit == 1 {
                "must not be empty".to_owned()
            } else {
                format!("must be at least {limit} characters long")
            },
        ),
        ValidationErrorKind::MaxLength { limit } => one(3, format!("must be at most {limit} characters long")),
        ValidationErrorKind::Minimum { limit } => one(6, format!("must be at least {limit}")),
        ValidationErrorKind::Maximum { limit } => one(6, format!("must be at most {limit}")),
        ValidationErrorKind::ExclusiveMinimum { limit } => one(6, format!("must be greater than {limit}")),
        ValidationErrorKind::ExclusiveMaximum { limit } => one(6, format!("must be less than {limit}")),
        ValidationErrorKind::MultipleOf { multiple_of } => one(6, format!("must be a multiple of {multiple_of}")),
        ValidationErrorKind::MinItems { limit } => {
            one(6, format!("must have at least {limit} item{}", if *limit == 1 { "" } else { "s" }))
        }
        ValidationErrorKind::MaxItems { limit } => one(6, format!("must have at most {limit} items")),
        _ => one(7, clip(&error.to_string(), 200)),
    }
}

/// The `$defs` entry of common.json whose keyword failed, if any.
fn common_def<'e>(error: &'e ValidationError<'_>) -> Option<&'e str> {
    let location = error.absolute_keyword_location()?.as_str();
    let fragment = location.strip_prefix(COMMON_ID)?.strip_prefix('#')?;
    let rest = fragment.strip_prefix("/$defs/").or_else(|| fragment.strip_prefix("/%24defs/"))?;
    rest.split('/').next()
}

/// Plain words for a value that fails the pattern of a common.json definition.
fn describe_def(def: &str) -> Option<&'static str> {
    Some(match def {
        "did" => "is not an Ed25519 did:key (did:key:z6Mk followed by 44 base58 characters)",
        "event_id" => "is not an event id (64 lowercase hexadecimal characters)",
        "date" => "is not a valid date (YYYY-MM-DD)",
        "timestamp" => "is not an RFC 3339 UTC timestamp ending in Z (e.g. 2026-05-01T12:00:00Z)",
        "uuid" => "is not a lowercase RFC 4122 UUID",
        "signature" => "is not an Ed25519 signature in base64url without padding (86 characters)",
        "vc_proof" => "is not a base58btc multibase value (z followed by base58 characters)",
        "status_base" => "is not an http or https URL without a trailing slash, query or fragment",
        "origin" => "is not a host-like name (letters, digits, '.', '-', '_' and '/')",
        def if is_text_def(def) => "must not be blank",
        _ => return None,
    })
}

/// The bounded human-typed text definitions, whose only pattern is "not blank".
fn is_text_def(def: &str) -> bool {
    matches!(def, "title" | "name" | "reason" | "code" | "employer" | "label" | "level" | "skill_id")
}

fn type_words(kind: &TypeKind) -> String {
    fn one(t: JsonType) -> &'static str {
        match t {
            JsonType::Array => "an array",
            JsonType::Boolean => "true or false",
            JsonType::Integer => "an integer",
            JsonType::Null => "null",
            JsonType::Number => "a number",
            JsonType::Object => "an object",
            JsonType::String => "a string",
        }
    }
    match kind {
        TypeKind::Single(t) => one(*t).to_owned(),
        TypeKind::Multiple(set) => {
            let words: Vec<&str> = set.iter().map(one).collect();
            format!("one of: {}", words.join(", "))
        }
    }
}

/// Splits a JSON pointer, telling array indices from object keys by walking the instance.
fn pointer_segments(pointer: &str, instance: &Value) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut current = Some(instance);
    for raw in pointer.split('/').skip(1) {
        let token = raw.replace("~1", "/").replace("~0", "~");
        let index = match current {
            Some(Value::Array(_)) => token.parse::<usize>().ok(),
            _ => None,
        };
        match index {
            Some(i) => {
                current = current.and_then(|v| v.get(i));
                segments.push(Segment::Index(i));
            }
            None => {
                current = current.and_then(|v| v.get(token.as_str()));
                segments.push(Segment::Key(token));
            }
        }
    }
    segments
}

fn render_path(root: Root, path: &[Segment]) -> String {
    let mut out = String::new();
    if let Root::Body = root {
        out.push_str("body");
    }
    for segment in path {
        match segment {
            Segment::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                // A member name is input: an unknown one may be of any length.
                out.push_str(&clip(key, QUOTE));
            }
            Segment::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    if out.is_empty() {
        out.push_str("event");
    }
    out
}

/// A value as JSON, shortened for messages.
fn shown(value: &Value) -> String {
    clip(&value.to_string(), QUOTE)
}

/// A value for a list of choices: strings without quotes.
fn plain(value: &Value) -> String {
    value.as_str().map_or_else(|| value.to_string(), str::to_owned)
}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.path.cmp(&other.path).then(self.rank.cmp(&other.rank)).then_with(|| self.reason.cmp(&other.reason))
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Candidate {}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const DID_A: &str = "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2";
    const DID_B: &str = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK";
    const DID_C: &str = "did:key:z6MkpTHR8VNsBxYAAWHut2Geadd9jSwuBV8xRoAnwWsdvktH";
    const ID: &str = "6d2b5e1ac0c3a4f8e9b7d6c5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9c8b7a6f5";
    const UUID: &str = "3b241101-e2bb-4255-8caf-4136c566a962";

    fn sig() -> String {
        format!("{}g", "Ab9_-".repeat(17))
    }

    /// A valid body for every kind, in the order of KINDS.
    fn valid_bodies() -> Vec<(&'static str, Value)> {
        let skills = json!([
            {"id": "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d",
             "label": "use spreadsheets software", "level": "intermediate"},
            {"id": "15-2051.00"}
        ]);
        vec![
            ("ledger.genesis", json!({"origin": "ledger.example.edu", "operator": DID_A})),
            ("issuer.registered", json!({"issuer": DID_B, "name": "Riverside College", "category": "college"})),
            ("issuer.suspended", json!({"issuer": DID_B, "reason": "Accreditation withdrawn"})),
            ("issuer.key_added", json!({"key": DID_C})),
            (
                "issuer.key_revoked",
                json!({"issuer": DID_B, "key": DID_C, "reason": "Laptop stolen",
                       "compromised_since": "2026-04-30T08:00:00.5Z"}),
            ),
            (
                "credential.course_completed",
                json!({"credential_uuid": UUID, "learner": DID_A, "title": "Intro to Data",
                       "code": "DATA101", "skills": skills, "credits": 7.5,
                       "completed_on": "2026-04-30"}),
            ),
            (
                "credential.certificate_awarded",
                json!({"credential_uuid": UUID, "learner": DID_A, "title": "Forklift Operator",
                       "skills": [{"id": "KS1200364C9C1LK3V5Q1"}], "awarded_on": "2026-03-15",
                       "valid_until": "2029-03-14", "vc_proof": "z3FXQqFwbZxKBxGxqt1jNPR5Mz4Jt1"}),
            ),
            (
                "credential.apprenticeship_completed",
                json!({"credential_uuid": UUID, "learner": DID_A, "title": "Electrician",
                       "employer": "Bright Sparks Ltd", "hours": 6000,
                       "skills": [{"id": "47-2111.00"}], "completed_on": "2026-04-01",
                       "apprenticeship": ID}),
            ),
            (
                "apprenticeship.started",
                json!({"learner": DID_A, "title": "Electrician", "employer": "Bright Sparks Ltd",
                       "started_on": "2023-09-01"}),
            ),
            ("apprenticeship.hours_logged", json!({"apprenticeship": ID, "hours": 160, "through": "2023-09-30"})),
            ("credential.revoked", json!({"credential": ID, "reason": "Issued in error"})),
            ("credential.suspended", json!({"credential": ID, "reason": "Under review"})),
            ("credential.reinstated", json!({"credential": ID, "reason": "Review closed"})),
            ("learner.key_linked", json!({"from": DID_A, "to": DID_C, "to_sig": sig()})),
            (
                "status_list.signed",
                json!({"status_base": "https://ledger.example.edu", "purpose": "revocation", "list": 0,
                       "proof_value": "z3FXQqFwbZxKBxGxqt1jNPR5Mz4Jt1"}),
            ),
        ]
    }

    fn body_of(kind: &str) -> Value {
        valid_bodies().into_iter().find(|(k, _)| *k == kind).map(|(_, b)| b).expect("test kind exists")
    }

    fn event(kind: &str, body: Value) -> Value {
        json!({"v": 1, "kind": kind, "author": DID_B, "created_at": "2026-05-01T12:00:00Z",
               "body": body, "sig": sig()})
    }

    /// The error for `kind`'s valid body with `field` set to `value` (or removed if `None`).
    fn body_err(kind: &str, field: &str, value: Option<Value>) -> SchemaError {
        let mut body = body_of(kind);
        let obj = body.as_object_mut().expect("object");
        match value {
            Some(v) => {
                obj.insert(field.to_owned(), v);
            }
            None => {
                obj.remove(field);
            }
        }
        let from_body = validate_body(kind, &body).expect_err("body must be rejected");
        let from_event = validate_event(&event(kind, body)).expect_err("event must be rejected");
        assert_eq!(from_body, from_event, "validate_body and validate_event disagree");
        from_body
    }

    fn envelope_err(field: &str, value: Option<Value>) -> SchemaError {
        let mut ev = event("credential.revoked", body_of("credential.revoked"));
        let obj = ev.as_object_mut().expect("object");
        match value {
            Some(v) => {
                obj.insert(field.to_owned(), v);
            }
            None => {
                obj.remove(field);
            }
        }
        validate_event(&ev).expect_err("event must be rejected")
    }

    fn field(e: &SchemaError) -> &str {
        &e.field
    }

    #[test]
    fn embedded_schemas_compile() {
        let c = compiled();
        assert_eq!(c.bodies.len(), KINDS.len());
        assert_eq!(BODY_SCHEMAS.len(), KINDS.len());
    }

    #[test]
    fn every_kind_has_a_valid_example_that_passes() {
        let bodies = valid_bodies();
        let kinds: Vec<&str> = bodies.iter().map(|(k, _)| *k).collect();
        assert_eq!(kinds, KINDS, "one example per kind, in KINDS order");
        for (kind, body) in bodies {
            assert_eq!(validate_body(kind, &body), Ok(()), "{kind} body");
            assert_eq!(validate_event(&event(kind, body)), Ok(()), "{kind} event");
        }
    }

    #[test]
    fn examples_embedded_in_schemas_are_valid() {
        for kind in KINDS {
            let schema: Value = serde_json::from_str(schema_text(kind).unwrap()).unwrap();
            let examples = schema["examples"].as_array().expect("examples");
            assert!(!examples.is_empty(), "{kind} has examples");
            for example in examples {
                assert_eq!(validate_body(kind, example), Ok(()), "{kind} example");
            }
        }
        let event_schema: Value = serde_json::from_str(schema_text("event").unwrap()).unwrap();
        for example in event_schema["examples"].as_array().expect("examples") {
            assert_eq!(validate_event(example), Ok(()));
        }
    }

    #[test]
    fn schema_files_are_consistent() {
        let event_schema: Value = serde_json::from_str(schema_text("event").unwrap()).unwrap();
        let enum_kinds: Vec<&str> = event_schema["properties"]["kind"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        assert_eq!(enum_kinds, KINDS);
        assert_eq!(event_schema["additionalProperties"], json!(false));
        for name in KINDS.iter().copied().chain(["event", "common"]) {
            let text = schema_text(name).unwrap_or_else(|| panic!("{name} is served"));
            let schema: Value = serde_json::from_str(text).unwrap();
            assert_eq!(schema["$id"], format!("https://credledger.dev/schemas/{name}.json"));
            assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
            assert!(schema["title"].as_str().is_some_and(|t| !t.is_empty()), "{name} title");
            let description = schema["description"].as_str().unwrap();
            assert!(
                description.contains("no names, email addresses or birth dates of learners"),
                "{name} description states the privacy rule"
            );
            if KINDS.contains(&name) {
                assert_eq!(schema["type"], "object", "{name}");
                assert_eq!(schema["additionalProperties"], json!(false), "{name}");
                assert!(description.contains("Signed by") || description.contains("may sign"));
            }
        }
        let common: Value = serde_json::from_str(schema_text("common").unwrap()).unwrap();
        for (def, schema) in common["$defs"].as_object().unwrap() {
            if schema.get("pattern").is_some() {
                assert!(describe_def(def).is_some(), "{def} has plain words for its pattern");
            }
            if schema["type"] == "object" {
                assert_eq!(schema["additionalProperties"], json!(false), "{def}");
            }
        }
    }

    #[test]
    fn schema_text_by_stem() {
        assert!(schema_text("common").unwrap().contains("\"$defs\""));
        assert!(schema_text("event").unwrap().contains("\"created_at\""));
        assert!(schema_text("credential.revoked").unwrap().contains("\"credential\""));
        assert_eq!(schema_text("credential.revoked.json"), None);
        assert_eq!(schema_text("../Cargo"), None);
        assert_eq!(schema_text(""), None);
    }

    #[test]
    fn missing_fields_are_named() {
        let cases = [
            ("credential.course_completed", "credits"),
            ("credential.course_completed", "skills"),
            ("credential.certificate_awarded", "awarded_on"),
            ("credential.apprenticeship_completed", "employer"),
            ("issuer.registered", "category"),
            ("learner.key_linked", "to_sig"),
            ("credential.revoked", "reason"),
            ("ledger.genesis", "operator"),
        ];
        for (kind, name) in cases {
            let e = body_err(kind, name, None);
            assert_eq!(field(&e), format!("body.{name}"), "{kind}");
            assert_eq!(e.reason, "is required");
        }
        let e = envelope_err("created_at", None);
        assert_eq!((e.field.as_str(), e.reason.as_str()), ("created_at", "is required"));
    }

    #[test]
    fn optional_fields_may_be_omitted() {
        for (kind, name) in [
            ("issuer.key_revoked", "compromised_since"),
            ("issuer.key_revoked", "issuer"),
            ("credential.certificate_awarded", "valid_until"),
            ("credential.certificate_awarded", "vc_proof"),
            ("credential.apprenticeship_completed", "apprenticeship"),
        ] {
            let mut body = body_of(kind);
            body.as_object_mut().unwrap().remove(name);
            assert_eq!(validate_body(kind, &body), Ok(()), "{kind} without {name}");
        }
    }

    #[test]
    fn wrong_types_are_named() {
        let e = body_err("credential.course_completed", "credits", Some(json!("7.5")));
        assert_eq!((field(&e), e.reason.as_str()), ("body.credits", "must be a number"));
        let e = body_err("apprenticeship.hours_logged", "hours", Some(json!(1.5)));
        assert_eq!((field(&e), e.reason.as_str()), ("body.hours", "must be an integer"));
        let e = body_err("credential.revoked", "reason", Some(json!(42)));
        assert_eq!((field(&e), e.reason.as_str()), ("body.reason", "must be a string"));
        let e = body_err("credential.course_completed", "skills", Some(json!({"id": "x"})));
        assert_eq!((field(&e), e.reason.as_str()), ("body.skills", "must be an array"));
        let e = envelope_err("body", Some(json!("text")));
        assert_eq!((field(&e), e.reason.as_str()), ("body", "must be an object"));
        let e = envelope_err("v", Some(json!("1")));
        assert_eq!((field(&e), e.reason.as_str()), ("v", "must be an integer"));
        let e = envelope_err("v", Some(json!(2)));
        assert_eq!((field(&e), e.reason.as_str()), ("v", "must be 1"));
        let e = validate_body("credential.revoked", &json!([1])).unwrap_err();
        assert_eq!((field(&e), e.reason.as_str()), ("body", "must be an object"));
        let e = validate_event(&json!("event")).unwrap_err();
        assert_eq!((field(&e), e.reason.as_str()), ("event", "must be an object"));
    }

    #[test]
    fn extra_fields_are_named() {
        let e = body_err("credential.revoked", "learner_name", Some(json!("Jane Doe")));
        assert_eq!(field(&e), "body.learner_name");
        assert_eq!(e.reason, "is not an allowed field");
        let e = body_err("apprenticeship.started", "email", Some(json!("a@b.c")));
        assert_eq!(field(&e), "body.email");
        let e = envelope_err("id", Some(json!(ID)));
        assert_eq!((field(&e), e.reason.as_str()), ("id", "is not an allowed field"));
        let mut body = body_of("credential.course_completed");
        body["skills"][1]["weight"] = json!(3);
        let e = validate_body("credential.course_completed", &body).unwrap_err();
        assert_eq!((field(&e), e.reason.as_str()), ("body.skills[1].weight", "is not an allowed field"));
    }

    #[test]
    fn bad_dates_are_rejected() {
        for bad in ["2026-13-01", "yesterday", "2026-02-30", "2026-5-1", "2026-05-01T00:00:00Z"] {
            let e = body_err("credential.course_completed", "completed_on", Some(json!(bad)));
            assert_eq!(field(&e), "body.completed_on", "{bad}");
            assert!(e.reason.contains("is not a valid date (YYYY-MM-DD)"), "{bad}: {}", e.reason);
            let e = body_err("credential.certificate_awarded", "valid_until", Some(json!(bad)));
            assert_eq!(field(&e), "body.valid_until", "{bad}");
            let e = body_err("apprenticeship.hours_logged", "through", Some(json!(bad)));
            assert_eq!(field(&e), "body.through", "{bad}");
        }
        assert_eq!(
            body_err("apprenticeship.started", "started_on", Some(json!("2026-13-01"))).reason,
            "\"2026-13-01\" is not a valid date (YYYY-MM-DD)"
        );
    }

    #[test]
    fn timestamps_need_a_z() {
        for bad in [
            "2026-05-01T12:00:00",
            "2026-05-01T12:00:00+00:00",
            "2026-05-01t12:00:00z",
            "2026-05-01 12:00:00Z",
            "yesterday",
        ] {
            let e = envelope_err("created_at", Some(json!(bad)));
            assert_eq!(field(&e), "created_at", "{bad}");
            assert!(e.reason.contains("ending in Z"), "{bad}: {}", e.reason);
            let e = body_err("issuer.key_revoked", "compromised_since", Some(json!(bad)));
            assert_eq!(field(&e), "body.compromised_since", "{bad}");
        }
        let e = envelope_err("created_at", Some(json!("2026-13-01T12:00:00Z")));
        assert_eq!(field(&e), "created_at");
        assert!(e.reason.contains("not a valid RFC 3339 date-time"), "{}", e.reason);
        for good in ["2026-05-01T12:00:00Z", "2026-05-01T12:00:00.123456789Z"] {
            let mut ev = event("credential.revoked", body_of("credential.revoked"));
            ev["created_at"] = json!(good);
            assert_eq!(validate_event(&ev), Ok(()), "{good}");
        }
    }

    #[test]
    fn bad_dids_are_rejected() {
        let too_short = &DID_A[..DID_A.len() - 1];
        let too_long = format!("{DID_A}2");
        let with_zero = DID_A.replace('r', "0");
        for bad in [
            "abc",
            too_short,
            too_long.as_str(),
            with_zero.as_str(),
            "did:web:example.edu",
            "did:key:z6LSbysY2xFMRpGMhb7tFTLMpeuPRaqaWM1yECx2AtzE3KCc",
        ] {
            let e = envelope_err("author", Some(json!(bad)));
            assert_eq!(field(&e), "author", "{bad}");
            assert!(e.reason.contains("is not an Ed25519 did:key"), "{bad}: {}", e.reason);
            assert_eq!(field(&body_err("credential.course_completed", "learner", Some(json!(bad)))), "body.learner");
            assert_eq!(field(&body_err("issuer.registered", "issuer", Some(json!(bad)))), "body.issuer");
            assert_eq!(field(&body_err("learner.key_linked", "to", Some(json!(bad)))), "body.to");
        }
        for good in [DID_A, DID_B, DID_C] {
            assert_eq!(validate_body("issuer.key_added", &json!({"key": good})), Ok(()));
        }
    }

    #[test]
    fn unknown_kinds_name_the_kind() {
        let e = validate_body("credential.deleted", &json!({})).unwrap_err();
        assert_eq!(e, SchemaError::new("kind", "unknown event kind `credential.deleted`"));
        let e = validate_event(&event("credential.deleted", json!({}))).unwrap_err();
        assert_eq!(e, SchemaError::new("kind", "unknown event kind `credential.deleted`"));
        let e = envelope_err("kind", Some(json!(7)));
        assert_eq!((field(&e), e.reason.as_str()), ("kind", "must be a string"));
        assert_eq!(e.to_string(), "kind: must be a string");
    }

    #[test]
    fn identifiers_and_bounds() {
        let e = body_err("credential.revoked", "credential", Some(json!(ID.to_uppercase())));
        assert_eq!(field(&e), "body.credential");
        assert!(e.reason.contains("64 lowercase hexadecimal"), "{}", e.reason);
        let e = body_err("credential.course_completed", "credential_uuid", Some(json!(UUID.to_uppercase())));
        assert_eq!(field(&e), "body.credential_uuid");
        let e = body_err("learner.key_linked", "to_sig", Some(json!(format!("{}h", "A".repeat(85)))));
        assert_eq!(field(&e), "body.to_sig");
        let e = envelope_err("sig", Some(json!(format!("{}==", "A".repeat(86)))));
        assert_eq!(field(&e), "sig");
        let e = body_err("credential.course_completed", "credits", Some(json!(0.1)));
        assert_eq!((field(&e), e.reason.as_str()), ("body.credits", "must be a multiple of 0.25"));
        let e = body_err("credential.course_completed", "credits", Some(json!(-1)));
        assert_eq!((field(&e), e.reason.as_str()), ("body.credits", "must be at least 0"));
        let e = body_err("credential.apprenticeship_completed", "hours", Some(json!(100_001)));
        assert_eq!((field(&e), e.reason.as_str()), ("body.hours", "must be at most 100000"));
        let e = body_err("apprenticeship.hours_logged", "hours", Some(json!(0)));
        assert_eq!((field(&e), e.reason.as_str()), ("body.hours", "must be at least 1"));
        let e = body_err("credential.revoked", "reason", Some(json!("")));
        assert_eq!((field(&e), e.reason.as_str()), ("body.reason", "must not be empty"));
        let e = body_err("credential.revoked", "reason", Some(json!("  \n ")));
        assert_eq!((field(&e), e.reason.as_str()), ("body.reason", "must not be blank"));
        let e = body_err("credential.revoked", "reason", Some(json!("x".repeat(501))));
        assert_eq!((field(&e), e.reason.as_str()), ("body.reason", "must be at most 500 characters long"));
        let e = body_err("issuer.registered", "category", Some(json!("school")));
        assert_eq!(field(&e), "body.category");
        assert!(e.reason.contains("college, university, provider, employer"), "{}", e.reason);
        let e = body_err("ledger.genesis", "origin", Some(json!("-bad host")));
        assert_eq!(field(&e), "body.origin");
        let e = body_err("credential.certificate_awarded", "vc_proof", Some(json!("z0OIl")));
        assert_eq!(field(&e), "body.vc_proof");
    }

    #[test]
    fn skills_paths_use_indices() {
        let e = body_err("credential.course_completed", "skills", Some(json!([])));
        assert_eq!((field(&e), e.reason.as_str()), ("body.skills", "must have at least 1 item"));
        let many: Vec<Value> = (0..101).map(|i| json!({"id": format!("S{i}")})).collect();
        let e = body_err("credential.course_completed", "skills", Some(json!(many)));
        assert_eq!((field(&e), e.reason.as_str()), ("body.skills", "must have at most 100 items"));
        let skills: Vec<Value> =
            (0..12).map(|i| if i == 2 || i == 10 { json!({"label": "no id"}) } else { json!({"id": "x"}) }).collect();
        let e = body_err("credential.course_completed", "skills", Some(json!(skills)));
        // Indices compare as numbers: [2] is reported before [10].
        assert_eq!((field(&e), e.reason.as_str()), ("body.skills[2].id", "is required"));
        let e = body_err("credential.course_completed", "skills", Some(json!([{"id": "x", "level": "l".repeat(65)}])));
        assert_eq!(field(&e), "body.skills[0].level");
    }

    #[test]
    fn first_error_is_deterministic() {
        let mut ev = event("credential.revoked", json!({"reason": 1, "zzz": true}));
        ev.as_object_mut().unwrap().remove("author");
        ev["kind"] = json!("nope");
        ev["extra"] = json!(null);
        let first = validate_event(&ev).unwrap_err();
        assert_eq!(first, SchemaError::new("author", "is required"));
        for _ in 0..20 {
            assert_eq!(validate_event(&ev).unwrap_err(), first);
        }
        let body = json!({"reason": 1, "zzz": true, "aaa": 0});
        let first = validate_body("credential.revoked", &body).unwrap_err();
        assert_eq!(first, SchemaError::new("body.aaa", "is not an allowed field"));
        for _ in 0..20 {
            assert_eq!(validate_body("credential.revoked", &body).unwrap_err(), first);
        }
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let mut deep = json!(1);
        for _ in 0..100 {
            deep = json!([deep]);
        }
        let weird_key = json!({"a/b~c": 1, "": 2, "0": 3});
        for input in [json!(null), json!(true), json!(1.5), json!([]), json!({}), deep.clone(), weird_key.clone()] {
            assert!(validate_event(&input).is_err());
            for kind in KINDS {
                assert!(validate_body(kind, &input).is_err(), "{kind}");
            }
            let mut ev = event("credential.revoked", input.clone());
            assert!(validate_event(&ev).is_err());
            ev["kind"] = input;
            assert!(validate_event(&ev).is_err());
        }
        let mut body = body_of("credential.revoked");
        body["a/b~c"] = json!(1);
        let e = validate_body("credential.revoked", &body).unwrap_err();
        assert_eq!(field(&e), "body.a/b~c");
        let long_kind = "k".repeat(10_000);
        let e = validate_body(&long_kind, &json!({})).unwrap_err();
        assert_eq!(field(&e), "kind");
        assert!(e.reason.len() < 200);
    }
}
