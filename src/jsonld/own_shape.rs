//! The RDF of the ledger's own Open Badges 3.0 credentials and their eddsa-rdfc-2022 proof
//! configurations, read straight off their JSON: what `vc::open_badge` builds (form 2) and what
//! `rdfc::proof_options` adds, under exactly the `@context` `vc::OB_CONTEXT`. Every node, member,
//! type and value must be one this table lists; anything else (a member more, another context, a
//! number or IRI of a form not listed) is not this shape, and the caller takes the general path
//! (JSON-LD expansion and toRdf), which stays the referee: property tests hold the two equal, quad
//! for quad. The predicates and datatypes below are what the pinned contexts make of each term,
//! as the general path gives them. Every blank node of the shape is a leaf (it hangs off a named
//! node and has members of its own, none a blank node), so RDFC-1.0 labels them from their
//! first-degree hashes alone ([`canonical_labels`]); a dataset with two blank nodes linked goes to
//! `rdf-canon`'s full algorithm. Pure.

use std::collections::HashMap;

use oxrdf::{LiteralRef, NamedNode, NamedNodeRef};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
/// xsd:dateTime as the VC 2.0 and Data Integrity contexts name it.
const DATE_TIME: &str = "http://www.w3.org/2001/XMLSchema#dateTime";
/// The XSD datatypes as the OB 3.0.3 context names them (`https`).
const OB_DATE: &str = "https://www.w3.org/2001/XMLSchema#date";
const OB_FLOAT: &str = "https://www.w3.org/2001/XMLSchema#float";
const OB_ANY_URI: &str = "https://www.w3.org/2001/XMLSchema#anyURI";

/// What a member's value must be, and the RDF object it gives.
enum Object {
    /// A JSON string: an absolute IRI of the forms the ledger writes (see [`iri`]).
    Iri,
    /// A JSON string: a plain (xsd:string) literal.
    Text,
    /// A JSON string: a literal of this datatype.
    Typed(&'static str),
    /// A JSON number coerced to OB's xsd:float (an integer's digits, else the canonical double).
    Float,
    /// A JSON string that must be `term`, giving the IRI `iri` (a `@vocab`-typed term).
    Term { term: &'static str, iri: &'static str },
    /// A node object, or a list of them, of this shape.
    Node(&'static Shape),
}

/// A node: whether it has an `id` (else it is a blank node), its `type` (exactly these terms, in
/// this order, with the IRIs they stand for) and the members it may have.
struct Shape {
    named: bool,
    types: &'static [(&'static str, &'static str)],
    members: &'static [(&'static str, &'static str, Object)],
}

const CREDENTIAL: Shape = Shape {
    named: true,
    types: &[
        ("VerifiableCredential", "https://www.w3.org/2018/credentials#VerifiableCredential"),
        ("OpenBadgeCredential", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential"),
    ],
    members: &[
        ("name", "https://schema.org/name", Object::Text),
        ("issuer", "https://www.w3.org/2018/credentials#issuer", Object::Node(&PROFILE)),
        ("validFrom", "https://www.w3.org/2018/credentials#validFrom", Object::Typed(DATE_TIME)),
        ("validUntil", "https://www.w3.org/2018/credentials#validUntil", Object::Typed(DATE_TIME)),
        ("credentialSubject", "https://www.w3.org/2018/credentials#credentialSubject", Object::Node(&SUBJECT)),
        ("credentialStatus", "https://www.w3.org/2018/credentials#credentialStatus", Object::Node(&STATUS_ENTRY)),
    ],
};

const PROFILE: Shape = Shape {
    named: true,
    types: &[("Profile", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Profile")],
    members: &[("name", "https://schema.org/name", Object::Text)],
};

const SUBJECT: Shape = Shape {
    named: true,
    types: &[("AchievementSubject", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#AchievementSubject")],
    members: &[
        ("achievement", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#achievement", Object::Node(&ACHIEVEMENT)),
        ("activityEndDate", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#activityEndDate", Object::Typed(OB_DATE)),
        ("creditsEarned", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#creditsEarned", Object::Float),
        ("result", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#result", Object::Node(&RESULT)),
    ],
};

const ACHIEVEMENT: Shape = Shape {
    named: true,
    types: &[("Achievement", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Achievement")],
    members: &[
        ("name", "https://schema.org/name", Object::Text),
        ("description", "https://schema.org/description", Object::Text),
        ("achievementType", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#achievementType", Object::Text),
        ("humanCode", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#humanCode", Object::Text),
        ("creditsAvailable", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#creditsAvailable", Object::Float),
        ("criteria", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Criteria", Object::Node(&CRITERIA)),
        ("alignment", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#alignment", Object::Node(&ALIGNMENT)),
        (
            "resultDescription",
            "https://purl.imsglobal.org/spec/vc/ob/vocab.html#resultDescription",
            Object::Node(&RESULT_DESCRIPTION),
        ),
    ],
};

const CRITERIA: Shape = Shape {
    named: false,
    types: &[],
    members: &[("narrative", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#narrative", Object::Text)],
};

const ALIGNMENT: Shape = Shape {
    named: false,
    types: &[("Alignment", "https://schema.org/AlignmentObject")],
    members: &[
        ("targetCode", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#targetCode", Object::Text),
        ("targetFramework", "https://schema.org/targetFramework", Object::Text),
        ("targetName", "https://schema.org/targetName", Object::Text),
        ("targetUrl", "https://schema.org/targetUrl", Object::Typed(OB_ANY_URI)),
    ],
};

const RESULT_DESCRIPTION: Shape = Shape {
    named: true,
    types: &[("ResultDescription", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#ResultDescription")],
    members: &[
        ("name", "https://schema.org/name", Object::Text),
        ("resultType", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#resultType", Object::Text),
    ],
};

const RESULT: Shape = Shape {
    named: false,
    types: &[("Result", "https://purl.imsglobal.org/spec/vc/ob/vocab.html#Result")],
    members: &[
        (
            "resultDescription",
            "https://purl.imsglobal.org/spec/vc/ob/vocab.html#resultDescription",
            Object::Typed(OB_ANY_URI),
        ),
        ("value", "https://schema.org/value", Object::Text),
    ],
};

const STATUS_ENTRY: Shape = Shape {
    named: true,
    types: &[("BitstringStatusListEntry", "https://www.w3.org/ns/credentials/status#BitstringStatusListEntry")],
    members: &[
        ("statusPurpose", "https://www.w3.org/ns/credentials/status#statusPurpose", Object::Text),
        ("statusListIndex", "https://www.w3.org/ns/credentials/status#statusListIndex", Object::Text),
        ("statusListCredential", "https://www.w3.org/ns/credentials/status#statusListCredential", Object::Iri),
    ],
};

const PROOF_CONFIG: Shape = Shape {
    named: false,
    types: &[("DataIntegrityProof", "https://w3id.org/security#DataIntegrityProof")],
    members: &[
        (
            "cryptosuite",
            "https://w3id.org/security#cryptosuite",
            Object::Typed("https://w3id.org/security#cryptosuiteString"),
        ),
        ("created", "http://purl.org/dc/terms/created", Object::Typed(DATE_TIME)),
        ("verificationMethod", "https://w3id.org/security#verificationMethod", Object::Iri),
        (
            "proofPurpose",
            "https://w3id.org/security#proofPurpose",
            Object::Term { term: "assertionMethod", iri: "https://w3id.org/security#assertionMethod" },
        ),
    ],
};

/// The `@context` of every document this module reads.
const CONTEXT: [&str; 2] =
    ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"];

/// The canonical N-Quads (RDFC-1.0) of `document` if it is one of the ledger's own credentials or
/// proof configurations under the pinned contexts; `None` if it is anything else.
pub(super) fn canonicalize(document: &Value) -> Option<String> {
    // Each term is written out once; the hashes and the output put the lines together from them.
    let mut lines = lines(document)?;
    lines.sort_unstable();
    lines.dedup();
    let labels = canonical_labels(&lines)?;
    Some(serialize(&lines, &labels))
}

/// The RDF quads of `document` as lines, if it is of the shape (a quad may come twice).
fn lines(document: &Value) -> Option<Vec<Line>> {
    let members = document.as_object()?;
    let context = members.get("@context")?.as_array()?;
    if context.len() != CONTEXT.len() || context.iter().zip(CONTEXT).any(|(c, expected)| c.as_str() != Some(expected)) {
        return None;
    }
    let shape = if members.contains_key("cryptosuite") { &PROOF_CONFIG } else { &CREDENTIAL };
    let mut reader = Reader { lines: Vec::new(), blanks: 0 };
    reader.node(members, shape, true)?;
    Some(reader.lines)
}

/// A subject or object as N-Quads writes it, a blank node by its label in the document.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Part {
    Blank(String),
    Written(String),
}

impl Part {
    fn blank(&self) -> Option<&str> {
        match self {
            Part::Blank(id) => Some(id),
            Part::Written(_) => None,
        }
    }

    /// Its N-Quads text, a blank node named by `label`.
    fn push_to<'a>(&'a self, out: &mut String, label: &dyn Fn(&'a str) -> &'a str) {
        match self {
            Part::Blank(id) => {
                out.push_str("_:");
                out.push_str(label(id));
            }
            Part::Written(text) => out.push_str(text),
        }
    }
}

/// A quad of the default graph with its terms written out (the predicate an IRI).
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Line {
    subject: Part,
    predicate: &'static str,
    object: Part,
}

impl Line {
    fn blanks(&self) -> impl Iterator<Item = &str> {
        self.subject.blank().into_iter().chain(self.object.blank())
    }

    /// The N-Quads line (` .` and a newline), its blank nodes named by `label`.
    fn write<'a>(&'a self, label: &dyn Fn(&'a str) -> &'a str) -> String {
        let mut out = String::with_capacity(self.predicate.len() + 96);
        self.subject.push_to(&mut out, label);
        out.push_str(" <");
        out.push_str(self.predicate);
        out.push_str("> ");
        self.object.push_to(&mut out, label);
        out.push_str(" .\n");
        out
    }
}

/// RDFC-1.0's canonical labels (§4.4.3) for a dataset whose blank nodes are all leaves: no quad
/// links two blank nodes, as in every node of the shape. Each blank node's first-degree hash is
/// the hash of its own quads; the unique hashes are issued labels first, in hash order (steps 3
/// and 4). Blank nodes that share a hash (two equal alignments) come next, group by group in
/// hash order (step 5): a leaf has no related blank nodes, so its N-degree hash is that of empty
/// data for every member of a group, and the members of a group are alike but for their label,
/// so the order within a group does not change the output. `None` if two blank nodes are linked
/// (not of the shape).
fn canonical_labels(lines: &[Line]) -> Option<HashMap<&str, String>> {
    if lines.iter().any(|l| l.subject.blank().is_some() && l.object.blank().is_some()) {
        return None;
    }
    let mut blanks: Vec<&str> = lines.iter().flat_map(Line::blanks).collect();
    blanks.sort_unstable();
    blanks.dedup();
    let mut hashed: Vec<([u8; 32], &str)> = blanks
        .into_iter()
        .map(|blank| {
            let mut related: Vec<String> =
                lines.iter().filter(|l| l.blanks().any(|b| b == blank)).map(|l| l.write(&|_| "a")).collect();
            related.sort_unstable();
            let mut hasher = Sha256::new();
            related.iter().for_each(|l| hasher.update(l));
            (hasher.finalize().into(), blank)
        })
        .collect();
    // Hash order is the order of the hashes' hex, which is the order of their bytes.
    hashed.sort_unstable();
    let shared = |i: usize| {
        (i > 0 && hashed[i - 1].0 == hashed[i].0) || hashed.get(i + 1).is_some_and(|next| next.0 == hashed[i].0)
    };
    let order = (0..hashed.len()).filter(|&i| !shared(i)).chain((0..hashed.len()).filter(|&i| shared(i)));
    Some(order.enumerate().map(|(label, i)| (hashed[i].1, format!("c14n{label}"))).collect())
}

/// The canonical N-Quads of `lines` with `labels`, in code point order of the quads (as
/// `rdf_canon::serialize` orders them).
fn serialize(lines: &[Line], labels: &HashMap<&str, String>) -> String {
    let label = |b: &str| labels.get(b).map_or("", String::as_str);
    let mut written: Vec<String> = lines.iter().map(|l| l.write(&label)).collect();
    written.sort_unstable_by(|a, b| a[..a.len() - 3].cmp(&b[..b.len() - 3]));
    written.concat()
}

struct Reader {
    lines: Vec<Line>,
    blanks: usize,
}

impl Reader {
    /// The node `members` of `shape` (at the top level, `@context` aside) with its quads added.
    fn node(&mut self, members: &Map<String, Value>, shape: &Shape, top: bool) -> Option<Part> {
        let subject = match (shape.named, members.get("id")) {
            (true, Some(id)) => iri(id)?,
            (false, None) => {
                self.blanks += 1;
                Part::Blank(format!("b{}", self.blanks))
            }
            _ => return None,
        };
        for (key, value) in members {
            match key.as_str() {
                "id" => {}
                "@context" if top => {}
                "type" => self.types(&subject, value, shape.types)?,
                _ => {
                    let (_, predicate, object) = shape.members.iter().find(|(name, _, _)| name == key)?;
                    self.member(&subject, predicate, object, value)?;
                }
            }
        }
        if !shape.types.is_empty() && !members.contains_key("type") {
            return None;
        }
        Some(subject)
    }

    /// `type`: exactly the shape's terms, as a list (or the one term as a string).
    fn types(&mut self, subject: &Part, value: &Value, types: &[(&str, &'static str)]) -> Option<()> {
        let terms: Vec<&str> = match value {
            Value::String(one) => vec![one.as_str()],
            Value::Array(list) => list.iter().map(Value::as_str).collect::<Option<_>>()?,
            _ => return None,
        };
        if terms.len() != types.len() || terms.iter().zip(types).any(|(term, (expected, _))| term != expected) {
            return None;
        }
        for (_, iri) in types {
            self.add(subject, RDF_TYPE, written_iri(iri));
        }
        Some(())
    }

    fn member(&mut self, subject: &Part, predicate: &'static str, object: &Object, value: &Value) -> Option<()> {
        let term = match (object, value) {
            (Object::Node(_), Value::Array(items)) => {
                for item in items {
                    self.member(subject, predicate, object, item)?;
                }
                return Some(());
            }
            (Object::Node(shape), Value::Object(members)) => self.node(members, shape, false)?,
            (Object::Iri, value) => iri(value)?,
            (Object::Text, Value::String(text)) => Part::Written(LiteralRef::new_simple_literal(text).to_string()),
            (Object::Typed(datatype), Value::String(text)) => {
                Part::Written(LiteralRef::new_typed_literal(text, NamedNodeRef::new_unchecked(datatype)).to_string())
            }
            (Object::Float, Value::Number(n)) => Part::Written(
                LiteralRef::new_typed_literal(&float_lexical(n)?, NamedNodeRef::new_unchecked(OB_FLOAT)).to_string(),
            ),
            (Object::Term { term, iri }, Value::String(text)) if text == term => written_iri(iri),
            _ => return None,
        };
        self.add(subject, predicate, term);
        Some(())
    }

    fn add(&mut self, subject: &Part, predicate: &'static str, object: Part) {
        self.lines.push(Line { subject: subject.clone(), predicate, object });
    }
}

/// An IRI of the forms the ledger writes (a DID, a URN, an http(s) URL), of characters whose
/// meaning every IRI parser agrees on: anything else (a compact IRI a context could expand, a
/// relative reference, percent-escapes, a query) is left to the general path.
fn iri(value: &Value) -> Option<Part> {
    let text = value.as_str()?;
    let scheme_ok = ["did:", "urn:", "https://", "http://"].iter().any(|s| text.starts_with(s));
    let chars_ok = text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~:/#".contains(&b));
    if !scheme_ok || !chars_ok {
        return None;
    }
    NamedNode::new(text).ok().map(|n| Part::Written(n.to_string()))
}

/// An IRI of the table, as N-Quads writes it.
fn written_iri(iri: &str) -> Part {
    Part::Written(format!("<{iri}>"))
}

/// A number's lexical form under an xsd:float coercion, as JSON-LD toRdf writes it: an integer's
/// digits, else the canonical xsd:double form (`3.5E0`). A float with no fraction is left to the
/// general path (its JSON text decides).
fn float_lexical(n: &serde_json::Number) -> Option<String> {
    if let Some(i) = n.as_i64() {
        return Some(i.to_string());
    }
    let f = n.as_f64().filter(|f| f.is_finite() && f.fract() != 0.0)?;
    let config = pretty_dtoa::FmtFloatConfig::default().force_e_notation().capitalize_e(true);
    Some(pretty_dtoa::dtoa(f, config))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;
    use crate::event::{
        ApprenticeshipCompleted, CertificateAwarded, CourseCompleted, Date, Skill, StandardForm, Timestamp,
    };
    use crate::jsonld::{DocumentLoader, canonicalize_dataset};
    use crate::{Event, Payload, SecretKey};

    /// The canonical N-Quads of `document` by the general path (expansion and toRdf).
    fn general(document: &Value) -> Result<String, crate::jsonld::JsonLdError> {
        canonicalize_dataset(&crate::jsonld::to_rdf(document, DocumentLoader::pinned())?)
    }

    /// The canonical N-Quads of `document` by this module, if it is of the shape.
    fn own(document: &Value) -> Option<String> {
        canonicalize(document)
    }

    /// Either not of the shape, or read exactly as the general path reads it.
    fn agrees(document: &Value) -> Result<(), TestCaseError> {
        if let Some(own) = own(document) {
            prop_assert_eq!(Ok(own), general(document), "{}", document);
        }
        Ok(())
    }

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![any::<String>(), "[ -~]{0,30}", "[a-zA-Z\"\\\\\n\r\t\u{7f}\u{0}-\u{1f}é☃𝄞 ]{0,20}"]
    }

    fn skill() -> impl Strategy<Value = Skill> {
        let id = prop_oneof![
            "[0-9]{2}-[0-9]{4}\\.[0-9]{2}",
            "KS[0-9A-Z]{18}",
            "http://data\\.europa\\.eu/esco/skill/[a-z0-9-]{1,12}",
            "[a-z]{1,6}:[ -~]{0,12}",
            text(),
        ];
        (id, proptest::option::of(text())).prop_map(|(id, label)| Skill { id, label, level: None })
    }

    /// Up to five skills picked from a pool of up to three: equal skills (equal alignments, blank
    /// nodes that hash alike) come often.
    fn skills() -> impl Strategy<Value = Vec<Skill>> {
        let pool = proptest::collection::vec(skill(), 1..4);
        let picks = proptest::collection::vec(any::<proptest::sample::Index>(), 0..6);
        (pool, picks).prop_map(|(pool, picks)| picks.iter().map(|i| pool[i.index(pool.len())].clone()).collect())
    }

    fn date() -> impl Strategy<Value = Date> {
        (1900i32..2200, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| {
            Date(time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap())
        })
    }

    fn credits() -> impl Strategy<Value = f64> {
        prop_oneof![(0u32..2000).prop_map(|q| f64::from(q) / 4.0), 0.0f64..1.0e6, Just(0.1), Just(1.0e-7 + 3.0)]
    }

    fn form() -> impl Strategy<Value = StandardForm> {
        let base = ("[a-z0-9]{1,12}(\\.[a-z]{2,5}){0,2}", proptest::option::of(1u16..65535), "(/[a-z0-9_-]{1,8}){0,2}")
            .prop_map(|(host, port, path)| match port {
                Some(port) => format!("https://{host}:{port}{path}"),
                None => format!("https://{host}{path}"),
            });
        (text(), base, 0u32..4, 0..crate::status_list::LIST_SIZE).prop_map(
            |(issuer_name, status_base, status_list, status_index)| StandardForm {
                form: 2,
                issuer_name,
                status_base,
                status_list,
                status_index,
            },
        )
    }

    /// A credential event of any kind, with its form-2 standard form, as `issue` makes them.
    fn event() -> impl Strategy<Value = Event> {
        let common = (
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<u128>(),
            text(),
            skills(),
            date(),
            0i64..4_000_000_000,
            form(),
        );
        let kind = (0u8..3, text(), credits(), any::<u32>(), proptest::option::of(date()));
        (common, kind).prop_map(
            |((issuer, learner, uuid, title, skills, on, at, form), (kind, other, credits, hours, until))| {
                let issuer = SecretKey::from_seed(&issuer);
                let learner = SecretKey::from_seed(&learner).did().clone();
                let credential_uuid = uuid::Builder::from_random_bytes(uuid.to_le_bytes()).into_uuid().to_string();
                let payload = match kind {
                    0 => Payload::CourseCompleted(CourseCompleted {
                        credential_uuid,
                        learner,
                        title,
                        code: other,
                        skills,
                        credits,
                        completed_on: on,
                        ledger: None,
                        vc_proof: None,
                        vc: None,
                    }),
                    1 => Payload::CertificateAwarded(CertificateAwarded {
                        credential_uuid,
                        learner,
                        title,
                        skills,
                        awarded_on: on,
                        valid_until: until,
                        ledger: None,
                        vc_proof: None,
                        vc: None,
                    }),
                    _ => Payload::ApprenticeshipCompleted(ApprenticeshipCompleted {
                        credential_uuid,
                        learner,
                        title,
                        employer: other,
                        hours,
                        skills,
                        completed_on: on,
                        apprenticeship: None,
                        ledger: None,
                        vc_proof: None,
                        vc: None,
                    }),
                };
                let at = time::OffsetDateTime::from_unix_timestamp(at).unwrap();
                Event::new(issuer.did().clone(), Timestamp::whole_seconds(at), payload.with_standard_form(Some(form)))
            },
        )
    }

    /// The proof configuration of `event`'s credential, as `rdfc` hashes it.
    fn proof_config(event: &Event, credential: &Value) -> Value {
        let mut config = crate::rdfc::proof_options(&event.author, &event.created_at);
        config["@context"] = credential["@context"].clone();
        config
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn our_credentials_and_proof_configurations_read_as_the_general_path_reads_them(event in event()) {
            let credential = crate::vc::open_badge(&event).unwrap();
            let config = proof_config(&event, &credential);
            for document in [&credential, &config] {
                let own = own(document);
                prop_assert!(own.is_some(), "not of the shape: {}", document);
                prop_assert_eq!(own, general(document).ok(), "{}", document);
            }
        }

        /// A credential changed anywhere (a member added, removed or given another value) is
        /// either no longer of the shape, or still read as the general path reads it.
        #[test]
        fn a_changed_credential_is_left_to_the_general_path_or_read_alike(
            event in event(),
            pick in any::<prop::sample::Index>(),
            replacement in prop_oneof![
                Just(Value::Null),
                Just(json!(3)),
                Just(json!(2.5)),
                Just(json!(3.0)),
                Just(json!("did:example:x")),
                Just(json!("schema:x")),
                Just(json!("relative")),
                Just(json!({"id": "urn:x:1"})),
                Just(json!([])),
                Just(json!(["Achievement"])),
                Just(json!("https://evil.example/ctx")),
                text().prop_map(Value::from),
            ],
            added in prop::bool::ANY,
        ) {
            let mut credential = crate::vc::open_badge(&event).unwrap();
            let mut paths = Vec::new();
            collect_paths(&credential, &mut Vec::new(), &mut paths);
            let path = pick.get(&paths).clone();
            let target = path.iter().fold(&mut credential, |v, step| match step {
                Step::Key(k) => &mut v[k.as_str()],
                Step::Index(i) => &mut v[*i],
            });
            match (added, target.as_object_mut()) {
                (true, Some(members)) => {
                    members.insert("extra".into(), replacement);
                }
                _ => *target = replacement,
            }
            agrees(&credential)?;
        }
    }

    #[derive(Clone, Debug)]
    enum Step {
        Key(String),
        Index(usize),
    }

    /// The path to every value in `value`.
    fn collect_paths(value: &Value, at: &mut Vec<Step>, into: &mut Vec<Vec<Step>>) {
        into.push(at.clone());
        match value {
            Value::Object(members) => {
                for (k, v) in members {
                    at.push(Step::Key(k.clone()));
                    collect_paths(v, at, into);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    collect_paths(v, at, into);
                    at.pop();
                }
            }
            _ => {}
        }
    }

    #[test]
    fn equal_alignments_are_labelled_as_the_general_path_labels_them() {
        let skill = Skill { id: "15-1252.00".into(), label: Some("Software Developers".into()), level: None };
        let other = Skill { id: "15-1299.08".into(), label: Some("Computer Systems Engineers".into()), level: None };
        let key = SecretKey::from_seed(&[4; 32]);
        let payload = Payload::CertificateAwarded(CertificateAwarded {
            credential_uuid: "3f2a0c1e-8b1d-4c55-9a7e-2f0d6c1b9e44".into(),
            learner: SecretKey::from_seed(&[5; 32]).did().clone(),
            title: "Twice".into(),
            // Two pairs of equal alignments: two groups of blank nodes that hash alike.
            skills: vec![skill.clone(), other.clone(), skill, other],
            awarded_on: "2026-05-01".parse().unwrap(),
            valid_until: None,
            ledger: None,
            vc_proof: None,
            vc: None,
        });
        let form = StandardForm {
            form: 2,
            issuer_name: "College".into(),
            status_base: "https://l.example".into(),
            status_list: 0,
            status_index: 7,
        };
        let at = Timestamp::whole_seconds(time::macros::datetime!(2026-05-01 12:00 UTC));
        let credential =
            crate::vc::open_badge(&Event::new(key.did().clone(), at, payload.with_standard_form(Some(form)))).unwrap();
        let lines = lines(&credential).unwrap();
        let mut blanks: Vec<String> = lines
            .iter()
            .filter_map(|l| l.subject.blank())
            .map(|b| {
                let mut own: Vec<String> =
                    lines.iter().filter(|l| l.blanks().any(|x| x == b)).map(|l| l.write(&|_| "a")).collect();
                own.sort_unstable();
                own.concat()
            })
            .collect();
        blanks.sort_unstable();
        blanks.dedup();
        let groups = blanks.len();
        assert_eq!(
            lines.iter().filter_map(|l| l.subject.blank()).collect::<std::collections::BTreeSet<_>>().len(),
            groups + 2,
            "two pairs hash alike"
        );
        assert_eq!(own(&credential), Some(general(&credential).unwrap()));
    }

    #[test]
    fn other_contexts_and_other_documents_are_not_of_the_shape() {
        let w3c: Value =
            serde_json::from_str(&crate::rdfc::tests::vector("eddsa-rdfc-2022/signedDataInt.json")).unwrap();
        assert!(lines(&w3c).is_none());
        let list = crate::status_list::list_credential(
            "https://l.example/v1/status-lists/x/revocation/0",
            "did:example:1",
            "revocation",
            &crate::status_list::Bitstring::new(crate::status_list::MIN_ENTRIES),
            "2026-01-01T00:00:00Z",
        );
        assert!(lines(&list).is_none());
        let mut credential = json!({"@context": CONTEXT, "id": "urn:uuid:1", "type": ["VerifiableCredential", "OpenBadgeCredential"], "name": "x"});
        assert!(lines(&credential).is_some());
        credential["@context"] = json!([CONTEXT[0], CONTEXT[1], "https://www.w3.org/ns/credentials/examples/v2"]);
        assert!(lines(&credential).is_none());
    }
}
