//! What the OpenAPI document says beyond each handler's annotation: the request bodies' schemas,
//! taken from `schemas/` (the same files the ledger validates with), the `Problem` every error
//! is, and the problem answers any operation can get from the layers around the handlers (the
//! gate, the limits, the body reader, the store).

use std::borrow::Cow;

use serde_json::{Map, Value, json};
use utoipa::openapi::path::Operation;
use utoipa::openapi::{Content, OpenApi, RefOr, Response, ResponseBuilder, Schema, header::Header, schema::Type};
use utoipa::{Modify, PartialSchema, ToSchema};

use super::problem::Problem;
use super::routes::MAX_EVENTS;

/// The media type of every error.
const PROBLEM_JSON: &str = "application/problem+json";

/// Declares a request body: a type whose OpenAPI schema, named after it, is `$schema`.
macro_rules! request_body {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                $schema
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

request_body! {
    /// The body of `POST /v1/events`: one signed event (`schemas/event.json`), or an array of 1 to
    /// [`MAX_EVENTS`] of them.
    Events => {
        let event = from_schemas("event");
        let array = json!({"type": "array", "items": event, "minItems": 1, "maxItems": MAX_EVENTS});
        schema(json!({"oneOf": [event, array]}))
    }
}

request_body! {
    /// The body of `POST /v1/verify`: a profile bundle (`schemas/bundle.schema.json`).
    Bundle => schema(from_schemas("bundle.schema"))
}

request_body! {
    /// The body of `POST /v1/bundles`: whose bundle, which credentials, bound to what.
    BundleRequest => {
        let common = common_defs();
        schema(json!({
            "type": "object",
            "required": ["learner"],
            "properties": {
                "learner": common["did"],
                "holders": {"type": "array", "items": common["did"], "maxItems": 15, "description": "The learner's other dids whose credentials to present too (a version 2 bundle, which each of their keys signs)"},
                "only": {"type": "array", "items": common["event_id"], "description": "Only these credentials (ids)"},
                "audience": {"type": "string", "minLength": 1, "maxLength": 200, "description": "Who the bundle is for"},
                "nonce": {"type": "string", "minLength": 1, "maxLength": 200, "description": "The verifier's challenge"},
            },
        }))
    }
}

request_body! {
    /// The body of the W3C VC API's `POST /credentials/verify`.
    VcApiVerify => schema(json!({
        "type": "object",
        "required": ["verifiableCredential"],
        "properties": {
            "verifiableCredential": {"type": "object", "description": "The credential to verify"},
            "options": {
                "type": "object",
                "properties": {
                    "challenge": {"type": "string", "description": "Every proof's challenge must be this"},
                    "domain": {"type": "string", "description": "Every proof's domain must be this"},
                },
            },
        },
    }))
}

request_body! {
    /// The body of `POST /v1/shares`: a learner-signed request to publish a bundle as a link.
    PublishRequest => {
        let common = common_defs();
        schema(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["v", "action", "bundle", "days", "at", "sig"],
            "properties": {
                "v": {"type": "integer", "enum": [1]},
                "action": {"type": "string", "enum": ["publish"]},
                "bundle": from_schemas("bundle.schema"),
                "days": {"type": "integer", "minimum": 1, "maximum": crate::share::MAX_DAYS, "description": "How many days the link lives"},
                "at": common["timestamp"],
                "sig": common["signature"],
            },
        }))
    }
}

request_body! {
    /// The body of `POST /v1/shares/revoke`: a learner-signed request to withdraw a link.
    RevokeRequest => {
        let common = common_defs();
        schema(json!({
            "type": "object",
            "additionalProperties": false,
            "required": ["v", "action", "token_hash", "at", "sig"],
            "properties": {
                "v": {"type": "integer", "enum": [1]},
                "action": {"type": "string", "enum": ["revoke"]},
                "token_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "The hash of the link's token"},
                "at": common["timestamp"],
                "sig": common["signature"],
            },
        }))
    }
}

request_body! {
    /// Any JSON document (`POST /v1/verify-vc` reports on whatever credential it is given).
    AnyJson => {
        let any = utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue);
        RefOr::T(Schema::Object(any.description(Some("Any JSON document")).build()))
    }
}

fn schema(value: Value) -> RefOr<Schema> {
    serde_json::from_value(value).expect("the embedded schemas are OpenAPI schemas")
}

/// The definitions of `schemas/common.json`, as they are written.
fn raw_common_defs() -> Map<String, Value> {
    let common: Value =
        serde_json::from_str(crate::schema::schema_text("common").unwrap_or("{}")).expect("schemas/common.json");
    common.get("$defs").and_then(Value::as_object).cloned().unwrap_or_default()
}

/// The definitions of `schemas/common.json`, each with its references inlined.
fn common_defs() -> Map<String, Value> {
    let defs = raw_common_defs();
    defs.iter().map(|(name, def)| (name.clone(), inline(def.clone(), &defs))).collect()
}

/// A schema of `schemas/` as an OpenAPI schema object: references to `common.json` inlined,
/// `const` as a one-value `enum`, `$schema` and `$id` dropped.
fn from_schemas(name: &str) -> Value {
    let text = crate::schema::schema_text(name).unwrap_or("{}");
    let value: Value = serde_json::from_str(text).expect("an embedded schema");
    inline(value, &raw_common_defs())
}

fn inline(value: Value, defs: &Map<String, Value>) -> Value {
    match value {
        Value::Object(object) => {
            let mut out = Map::new();
            if let Some(name) = object.get("$ref").and_then(Value::as_str).and_then(|r| r.rsplit('/').next()) {
                if let Some(Value::Object(def)) = defs.get(name).map(|d| inline(d.clone(), defs)) {
                    out.extend(def);
                }
            }
            for (key, value) in object {
                match key.as_str() {
                    "$ref" | "$schema" | "$id" => {}
                    "const" => {
                        out.insert("enum".into(), Value::Array(vec![value]));
                    }
                    "properties" | "$defs" => {
                        let members = value.as_object().cloned().unwrap_or_default();
                        let inlined = members.into_iter().map(|(k, v)| (k, inline(v, defs))).collect();
                        out.insert(key, Value::Object(inlined));
                    }
                    _ => {
                        out.insert(key, inline(value, defs));
                    }
                }
            }
            // The OpenAPI model wants a type where JSON Schema lets an enum imply it.
            let implied = out.get("enum").and_then(|e| e.get(0)).map(|first| match first {
                Value::String(_) => "string",
                Value::Bool(_) => "boolean",
                Value::Number(n) if n.is_f64() => "number",
                _ => "integer",
            });
            if let (false, Some(implied)) = (out.contains_key("type"), implied) {
                out.insert("type".into(), implied.into());
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(|v| inline(v, defs)).collect()),
        other => other,
    }
}

/// Gives the path parameters named after an identifier the format `schemas/common.json` defines
/// for it: `did` and `key` (an Ed25519 did:key), `id` (an event id, 64 hex) and `uuid`.
pub struct IdentifierFormats;

impl Modify for IdentifierFormats {
    fn modify(&self, openapi: &mut OpenApi) {
        let defs = common_defs();
        let formats = [("did", "did"), ("key", "did"), ("id", "event_id"), ("uuid", "uuid")];
        for item in openapi.paths.paths.values_mut() {
            for operation in [item.get.as_mut(), item.post.as_mut()].into_iter().flatten() {
                for parameter in operation.parameters.iter_mut().flatten() {
                    let def = formats.iter().find(|(name, _)| *name == parameter.name).and_then(|(_, d)| defs.get(*d));
                    if let (Some(def), utoipa::openapi::path::ParameterIn::Path) = (def, &parameter.parameter_in) {
                        parameter.schema = Some(schema(def.clone()));
                    }
                }
            }
        }
    }
}

/// Adds to every operation the problem answers the layers around the handlers give.
pub struct CommonAnswers;

impl Modify for CommonAnswers {
    fn modify(&self, openapi: &mut OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.schemas.insert(<Problem as ToSchema>::name().into_owned(), <Problem as PartialSchema>::schema());
        for (path, item) in openapi.paths.paths.iter_mut() {
            let liveness = path == "/healthz";
            for operation in [item.get.as_mut(), item.post.as_mut()].into_iter().flatten() {
                add_common(operation, liveness);
            }
        }
    }
}

fn add_common(operation: &mut Operation, liveness: bool) {
    let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
    let has_body = operation.request_body.is_some();
    let mut answers = vec![
        ("408", "The request was not complete and answered in time (`request-timeout`)"),
        ("414", "The URL is longer than 8 KiB (`uri-too-long`)"),
        ("503", "The store failed, the server is read-only, or it is shutting down (`unavailable`)"),
    ];
    if has_parameters || has_body {
        answers.push(("400", "A malformed parameter, path segment or JSON body; `detail` names it"));
    }
    if has_body {
        answers.push(("413", "The body is over the server's limit (`payload-too-large`)"));
        answers.push(("415", "The body was not sent as `application/json` (`unsupported-media-type`)"));
    }
    for (status, description) in answers {
        operation.responses.responses.entry(status.to_owned()).or_insert_with(|| problem(description).into());
    }
    // The handlers' own problem answers: their schema.
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            if let Some(content) = response.content.get_mut(PROBLEM_JSON) {
                content.schema.get_or_insert_with(problem_ref);
            }
        }
    }
    if !liveness {
        let limited = ResponseBuilder::new()
            .description("Over this client's rate for its class of request (`rate-limited`)")
            .content(PROBLEM_JSON, Content::new(Some(problem_ref())))
            .header("Retry-After", Header::new(utoipa::openapi::ObjectBuilder::new().schema_type(Type::Integer)))
            .build();
        operation.responses.responses.entry("429".to_owned()).or_insert_with(|| limited.into());
    }
}

fn problem_ref() -> RefOr<Schema> {
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name("Problem"))
}

fn problem(description: &str) -> Response {
    ResponseBuilder::new().description(description).content(PROBLEM_JSON, Content::new(Some(problem_ref()))).build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_schemas_inline_every_reference() {
        for text in [
            serde_json::to_string(&Events::schema()).unwrap(),
            serde_json::to_string(&Bundle::schema()).unwrap(),
            serde_json::to_string(&BundleRequest::schema()).unwrap(),
        ] {
            assert!(!text.contains("$ref"), "{text}");
            assert!(text.contains("^did:key:z6Mk"), "the did pattern is there: {text}");
        }
    }
}
