//! The W3C RDF Dataset Canonicalization (RDFC-1.0) test suite's evaluation tests, run through
//! `jsonld::canonicalize_dataset` (the canonicalization every eddsa-rdfc-2022 proof uses, with its
//! work bound). Cases: `tests/vectors/rdf-canon/` (see its README).

use credledger::jsonld;

#[derive(serde::Deserialize)]
struct Case {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    action: String,
    result: Option<String>,
}

fn read(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/vectors/rdf-canon/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn dataset(nquads: &str) -> oxrdf::Dataset {
    let mut dataset = oxrdf::Dataset::new();
    for quad in oxttl::NQuadsParser::new().for_slice(nquads.as_bytes()) {
        dataset.insert(&quad.unwrap());
    }
    dataset
}

#[test]
fn every_rdfc10_evaluation_test_passes() {
    let cases: Vec<Case> = serde_json::from_str(&read("manifest.json")).unwrap();
    let (mut passed, mut refused) = (0, 0);
    for case in &cases {
        let result = jsonld::canonicalize_dataset(&dataset(&read(&case.action)));
        match (case.kind.as_str(), &case.result) {
            ("RDFC10EvalTest", Some(expected)) => {
                assert_eq!(result.as_deref(), Ok(read(expected).as_str()), "{} {}", case.id, case.name);
                passed += 1;
            }
            ("RDFC10NegativeEvalTest", None) => {
                assert!(result.is_err(), "{} {}: a poison graph must be refused", case.id, case.name);
                refused += 1;
            }
            other => panic!("{}: unexpected case {other:?}", case.id),
        }
    }
    assert_eq!((passed, refused), (63, 1));
}
