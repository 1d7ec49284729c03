//! RFC 8785 (JCS) conformance: the published input/output vectors, the number-serialization
//! samples of RFC 8785 Appendix B, and round-trip properties.

use std::fs;
use std::path::Path;

use credledger::canonical;
use proptest::prelude::*;
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/jcs");

#[test]
fn every_published_input_canonicalizes_to_its_output() {
    let mut checked = 0;
    for entry in fs::read_dir(Path::new(DIR).join("input")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        let input = fs::read(&path).unwrap();
        let expected = fs::read(Path::new(DIR).join("output").join(&name)).unwrap();
        let value = canonical::parse_strict(&input).unwrap_or_else(|e| panic!("{name:?}: {e}"));
        let actual = canonical::to_vec(&value).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&actual),
            String::from_utf8_lossy(&expected),
            "{name:?} does not canonicalize to the published output"
        );
        checked += 1;
    }
    assert!(checked >= 7, "only {checked} vectors found");
}

#[test]
fn hex_output_matches_bytes() {
    let input = fs::read(Path::new(DIR).join("input/simpleString.json")).unwrap();
    let hex = fs::read_to_string(Path::new(DIR).join("outhex/simpleString.txt")).unwrap();
    let expected: Vec<u8> = hex.split_whitespace().map(|b| u8::from_str_radix(b, 16).unwrap()).collect();
    let actual = canonical::to_vec(&canonical::parse_strict(&input).unwrap()).unwrap();
    assert_eq!(actual, expected);
}

#[test]
fn numbers_serialize_as_ecmascript_does() {
    let table = fs::read_to_string(Path::new(DIR).join("numbers.csv")).unwrap();
    let mut checked = 0;
    for line in table.lines() {
        let (bits, expected) = line.split_once(',').unwrap();
        let f = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
        let actual = canonical::to_string(&Value::from(f)).unwrap();
        assert_eq!(actual, expected, "bits {bits}");
        checked += 1;
    }
    assert_eq!(checked, 24);
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        (-(1i64 << 53)..(1i64 << 53)).prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        // Whole doubles beyond 2^53 read back as integers and must print the same.
        (54u32..70).prop_map(|e| Value::from(2f64.powi(e as i32))),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Canonical text reads back as the same value and canonicalizes to itself.
    #[test]
    fn canonical_form_round_trips(value in json_value()) {
        let bytes = canonical::to_vec(&value).unwrap();
        let back = canonical::parse_strict(&bytes).unwrap();
        prop_assert_eq!(canonical::to_vec(&back).unwrap(), bytes);
    }

    /// Pretty-printed or compact, the same value has the same canonical bytes.
    #[test]
    fn whitespace_and_member_order_do_not_matter(value in json_value()) {
        let pretty = serde_json::to_vec_pretty(&value).unwrap();
        let reparsed = canonical::parse_strict(&pretty).unwrap();
        prop_assert_eq!(canonical::to_vec(&reparsed).unwrap(), canonical::to_vec(&value).unwrap());
    }
}
