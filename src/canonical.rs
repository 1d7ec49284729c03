//! RFC 8785 JSON Canonicalization Scheme (JCS): the one byte encoding that is signed and hashed.
//!
//! Objects are written with their members sorted by the UTF-16 code units of their names, with no
//! white space; strings use the minimal JSON escapes; numbers are written as ECMAScript writes an
//! IEEE-754 double. [`parse_strict`] is the matching reader for untrusted input: it refuses
//! duplicate member names, which a lenient parser would silently resolve one way or the other.

use std::fmt;

use serde::Serialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// The largest integer that every JSON reader holding numbers as doubles keeps exactly (2^53).
const MAX_EXACT_INTEGER: u64 = 1 << 53;

/// Why a value has no canonical form, or why input is not acceptable JSON.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// The input is not JSON, or repeats a member name.
    #[error("malformed JSON: {0}")]
    Malformed(String),
    /// A value could not be turned into JSON at all.
    #[error("cannot encode value as JSON: {0}")]
    Encode(String),
}

/// The canonical bytes of a JSON value.
pub fn to_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(value, &mut out)?;
    Ok(out)
}

/// The canonical bytes of a JSON object without one of its members (what a signature that sits
/// in that member covers).
pub fn to_vec_without(value: &Value, member: &str) -> Result<Vec<u8>, CanonicalError> {
    Ok(to_vec_with_and_without(value, member)?.1)
}

/// The canonical bytes of a JSON object, and of it without one of its members (a signed event
/// and what its signature covers), each member encoded once. A value that is not an object has
/// no member to leave out: both are its canonical bytes.
pub fn to_vec_with_and_without(value: &Value, member: &str) -> Result<(Vec<u8>, Vec<u8>), CanonicalError> {
    let Value::Object(members) = value else {
        let bytes = to_vec(value)?;
        return Ok((bytes.clone(), bytes));
    };
    let (mut with, mut without) = (Vec::with_capacity(1024), Vec::with_capacity(1024));
    let mut encoded = Vec::with_capacity(1024);
    with.push(b'{');
    without.push(b'{');
    for (name, item) in sorted(members) {
        encoded.clear();
        write_string(name, &mut encoded);
        encoded.push(b':');
        write_value(item, &mut encoded)?;
        let add = |out: &mut Vec<u8>| {
            if out.len() > 1 {
                out.push(b',');
            }
            out.extend_from_slice(&encoded);
        };
        add(&mut with);
        if name != member {
            add(&mut without);
        }
    }
    with.push(b'}');
    without.push(b'}');
    Ok((with, without))
}

/// An object's members in JCS order: by their names' UTF-16 code units.
fn sorted(members: &serde_json::Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut sorted: Vec<(&String, &Value)> = members.iter().collect();
    sorted.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    sorted
}

/// The canonical bytes of anything that serializes to JSON.
pub fn to_vec_of<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    let value = serde_json::to_value(value).map_err(|e| CanonicalError::Encode(e.to_string()))?;
    to_vec(&value)
}

/// The canonical text of a JSON value.
pub fn to_string(value: &Value) -> Result<String, CanonicalError> {
    // Every byte written comes from valid UTF-8 strings or ASCII punctuation.
    to_vec(value).map(|bytes| String::from_utf8(bytes).expect("canonical JSON is UTF-8"))
}

fn write_value(value: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(members) => {
            out.push(b'{');
            for (i, (name, item)) in sorted(members).into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                write_value(item, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Numbers are IEEE-754 doubles in JCS: integers a double holds exactly print as integers, and
/// every other number (an integer beyond ±2^53 included) prints as ECMAScript prints the double
/// nearest to it, as RFC 8785 §3.2.2.3 prescribes.
fn write_number(n: &Number, out: &mut Vec<u8>) {
    match (n.as_u64(), n.as_i64()) {
        (Some(u), _) if u <= MAX_EXACT_INTEGER => out.extend_from_slice(u.to_string().as_bytes()),
        (_, Some(i)) if i.unsigned_abs() <= MAX_EXACT_INTEGER => out.extend_from_slice(i.to_string().as_bytes()),
        // serde_json holds no NaN or infinity, so every number here is finite.
        _ => match n.as_f64().unwrap_or_default() {
            // ECMAScript writes negative zero as "0".
            0.0 => out.push(b'0'),
            f => out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes()),
        },
    }
}

/// JCS strings: `"` and `\` escaped, control characters as `\b \t \n \f \r` or `\u00xx`
/// (lower-case hex), every other character as its UTF-8 bytes.
fn write_string(s: &str, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &b in s.as_bytes() {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x09 => out.extend_from_slice(b"\\t"),
            0x0a => out.extend_from_slice(b"\\n"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x0d => out.extend_from_slice(b"\\r"),
            0x00..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(b >> 4)]);
                out.push(HEX[usize::from(b & 0xf)]);
            }
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

/// Parses untrusted JSON text, refusing duplicate member names and trailing data.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, CanonicalError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value =
        <StrictValue as de::Deserialize>::deserialize(&mut de).map_err(|e| CanonicalError::Malformed(e.to_string()))?.0;
    de.end().map_err(|e| CanonicalError::Malformed(e.to_string()))?;
    Ok(value)
}

/// A `Value` whose objects may not repeat a member name.
struct StrictValue(Value);

impl<'de> de::Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(StrictValue)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| E::custom("number is not finite"))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(StrictValue(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            let StrictValue(item) = map.next_value()?;
            if members.insert(name.clone(), item).is_some() {
                return Err(de::Error::custom(format!("duplicate member name `{name}`")));
            }
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Leaving a member out in the same pass equals removing it and encoding again, wherever
    /// it sorts (first, middle, last, alone) and when it is absent.
    #[test]
    fn an_object_with_and_without_a_member_equals_encoding_each_apart() {
        for text in [
            r#"{"sig":"s","a":1,"z":[{"y":2,"b":null}]}"#,
            r#"{"a":1,"sig":"s","v":2}"#,
            r#"{"a":"\u00e9","b":{"c":1.5e3},"sig":"s"}"#,
            r#"{"sig":"s"}"#,
            r#"{"a":1,"b":2}"#,
            r#"[1,{"sig":"s"}]"#,
        ] {
            let value = parse_strict(text.as_bytes()).unwrap();
            let mut rest = value.clone();
            if let Some(map) = rest.as_object_mut() {
                map.remove("sig");
            }
            let (with, without) = to_vec_with_and_without(&value, "sig").unwrap();
            assert_eq!(with, to_vec(&value).unwrap(), "{text}");
            assert_eq!(without, to_vec(&rest).unwrap(), "{text}");
            assert_eq!(to_vec_without(&value, "sig").unwrap(), without, "{text}");
        }
    }

    fn canon(text: &str) -> String {
        to_string(&parse_strict(text.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn sorts_members_by_utf16_code_units() {
        // U+1F600 (surrogates D83D DE00) sorts before U+FB01 in UTF-16, after it in UTF-8.
        let text = "{\"\u{fb01}\":1,\"\u{1f600}\":2,\"a\":3}";
        assert_eq!(canon(text), "{\"a\":3,\"\u{1f600}\":2,\"\u{fb01}\":1}");
    }

    #[test]
    fn numbers_follow_ecmascript() {
        assert_eq!(
            canon("[1.0, -0.0, 1e21, 1e-7, 123456789012, 0.1, 5e-324]"),
            "[1,0,1e+21,1e-7,123456789012,0.1,5e-324]"
        );
    }

    #[test]
    fn escapes_only_what_it_must() {
        assert_eq!(canon(r#""\u0001\u001f\n\"\\/é\u2028""#), "\"\\u0001\\u001f\\n\\\"\\\\/é\u{2028}\"");
    }

    #[test]
    fn large_integers_are_doubles_and_duplicates_are_refused() {
        // Beyond 2^53 an integer is the double nearest to it.
        assert_eq!(to_string(&json!(9007199254740993u64)).unwrap(), "9007199254740992");
        assert_eq!(to_string(&json!(1_152_921_504_606_846_976u64)).unwrap(), "1152921504606847000");
        assert_eq!(to_string(&json!(1e18)).unwrap(), "1000000000000000000");
        let err = parse_strict(br#"{"a":1,"a":2}"#).unwrap_err();
        assert!(err.to_string().contains("duplicate member name `a`"), "{err}");
        assert!(parse_strict(b"{} x").is_err());
    }
}
