//! JSON-LD, offline and strict: a document's RDF Dataset Canonicalization (RDFC-1.0) as canonical
//! N-Quads, the transformation under `eddsa-rdfc-2022` and `Ed25519Signature2020` proofs.
//!
//! Expansion and toRdf are the `json-ld` crate's, canonicalization is `rdf-canon`'s. The document
//! loader serves only the contexts embedded in `src/jsonld/contexts/` (each pinned by its SHA-256,
//! checked before first use) and refuses every other URL by name: nothing is ever fetched. Safe
//! mode, as jsonld.js's `safe: true`: a term no context defines, a relative `@type` or `@id`, or
//! any warning of the processor is an error, never a silently dropped statement. Pure: no I/O; the
//! processed top-level contexts are memoized per thread.
//!
//! The ledger's own credentials and proof configurations (one fixed shape, the embedded contexts)
//! skip expansion: [`own_shape`] reads their RDF straight off the JSON, and anything not exactly
//! of that shape takes the general path, which property tests hold it equal to.

mod own_shape;

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::OnceLock;

use json_ld::rdf::RdfQuads;
use json_ld::rdf_types::{self, LiteralType};
use json_ld::syntax::{Parse, TryFromJson};
use json_ld::{Expand, IriBuf, Process, RemoteDocument};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// An embedded context: the URL it answers, its bytes and their pinned SHA-256 (hex).
#[derive(Debug)]
pub struct PinnedContext {
    pub url: &'static str,
    pub file: &'static str,
    pub sha256: &'static str,
    pub bytes: &'static [u8],
}

macro_rules! pinned {
    ($url:expr, $file:literal, $sha:literal) => {
        PinnedContext {
            url: $url,
            file: $file,
            sha256: $sha,
            bytes: include_bytes!(concat!("jsonld/contexts/", $file)),
        }
    };
}

/// VC Data Model 2.0; also defines Data Integrity and Bitstring Status List terms.
pub const CREDENTIALS_V2: &str = "https://www.w3.org/ns/credentials/v2";
/// Open Badges 3.0.3, the context a v2 credential of this ledger names.
pub const OB_V3P0_3_0_3: &str = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json";
/// CLR 2.0.1.
pub const CLR_V2P0_2_0_1: &str = "https://purl.imsglobal.org/spec/clr/v2p0/context-2.0.1.json";

/// Every context this loader knows. Where each came from: `src/jsonld/contexts/README.md`.
pub const PINNED: &[PinnedContext] = &[
    pinned!(
        CREDENTIALS_V2,
        "credentials-v2.jsonld",
        "8a9f494a89ecc51db093e90e84713e07e84d6d9204364a9b3c7868b21751236f"
    ),
    pinned!(
        "https://www.w3.org/2018/credentials/v1",
        "credentials-v1.jsonld",
        "00d7dd6d3ad8b920e3e550dd3a3d9090bffcac84cdbf943da6924b3e0a5c8bb8"
    ),
    pinned!(
        "https://purl.imsglobal.org/spec/ob/v3p0/context.json",
        "ob-v3p0-3.0.0.json",
        "b077fa134d909d92c1dcd1c153f2af1b244aeb415967fdc1467d7fc5dd48ac10"
    ),
    pinned!(
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.1.json",
        "ob-v3p0-3.0.1.json",
        "d582f3564282fb3b709136d28412e78e70b678b4dbc2f0221f67d84932748355"
    ),
    pinned!(
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json",
        "ob-v3p0-3.0.2.json",
        "00666ad080ba407687ed1846b7f5e7495f5019042b202a727de47c48a1755c53"
    ),
    pinned!(OB_V3P0_3_0_3, "ob-v3p0-3.0.3.json", "ef2fa9c7846dce233cc166b43639027278be4ee44f00bb1d45c75de2dd0cd761"),
    pinned!(CLR_V2P0_2_0_1, "clr-v2p0-2.0.1.json", "880f1902d4158f2f33ce06af41b90719977cd1ea337a9de2e41edb3ff5e543d6"),
    pinned!(
        "https://w3id.org/security/data-integrity/v2",
        "data-integrity-v2.jsonld",
        "0f77743daf5b4e8fc067fc5ba5b21044283053aa717fc6b0219843bed3b00363"
    ),
    pinned!(
        "https://w3id.org/security/data-integrity/v1",
        "data-integrity-v1.jsonld",
        "b5d829bd09aa7c42abc6efa0c8ed7635313b5487f37ccfce3ecd149ca9418554"
    ),
    pinned!(
        "https://w3id.org/security/suites/ed25519-2020/v1",
        "ed25519-signature-2020-v1.jsonld",
        "b9e1ab971fd8bf2c7553e0c4a9438e0b9450afde1ea1ca5b2492368b9f549588"
    ),
    pinned!(
        "https://www.w3.org/ns/credentials/status/v1",
        "vc-bitstring-status-list-v1.jsonld",
        "fd08cbf28ddd829ab2f1978c48f43ab07a112c1c90245a0cfac7ba721c65170c"
    ),
    pinned!(
        "https://w3id.org/vc/status-list/2021/v1",
        "vc-status-list-v1.jsonld",
        "634d71c159289f068c96012e4511c657fdf82ac4231900081bda3ba24e2e1160"
    ),
];

/// Why a document has no canonical form here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonLdError {
    /// The document (or a context) names a context this loader does not hold.
    #[error("@context: `{0}` is not a context this verifier knows (contexts are never fetched)")]
    UnknownContext(String),
    /// An embedded context's bytes do not match their pin.
    #[error("@context: the embedded `{0}` does not match its pinned SHA-256")]
    PinMismatch(String),
    /// A term that no context defines (safe mode drops nothing silently).
    #[error("JSON-LD safe mode: `{0}` is not defined by the document's @context")]
    UndefinedTerm(String),
    /// Anything else the JSON-LD processor refused, or warned about.
    #[error("JSON-LD: {0}")]
    Invalid(String),
    /// RDF Dataset Canonicalization gave up (for example on a graph built to exhaust it).
    #[error("RDF canonicalization: {0}")]
    Canonicalization(String),
}

/// The document loader: the embedded contexts, parsed once, and (for tests of documents from
/// elsewhere) any contexts added with [`DocumentLoader::with_context`].
#[derive(Clone)]
pub struct DocumentLoader {
    documents: HashMap<String, Result<RemoteDocument, JsonLdError>>,
}

impl std::fmt::Debug for DocumentLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut urls: Vec<&String> = self.documents.keys().collect();
        urls.sort();
        f.debug_struct("DocumentLoader").field("contexts", &urls).finish()
    }
}

fn remote_document(url: &str, text: &str) -> Result<RemoteDocument, JsonLdError> {
    let iri = IriBuf::new(url.to_owned()).map_err(|_| JsonLdError::UnknownContext(url.to_owned()))?;
    let (value, _) = json_ld::syntax::Value::parse_str(text)
        .map_err(|e| JsonLdError::Invalid(format!("context `{url}` is not JSON: {e}")))?;
    Ok(RemoteDocument::new(Some(iri), Some("application/ld+json".parse().expect("a media type")), value))
}

impl DocumentLoader {
    /// The embedded contexts, each checked against its pin once.
    pub fn pinned() -> &'static DocumentLoader {
        static LOADER: OnceLock<DocumentLoader> = OnceLock::new();
        LOADER.get_or_init(|| {
            let documents = PINNED
                .iter()
                .map(|c| {
                    let pinned = hex(&Sha256::digest(c.bytes)) == c.sha256;
                    let document = match std::str::from_utf8(c.bytes) {
                        Ok(text) if pinned => remote_document(c.url, text),
                        _ => Err(JsonLdError::PinMismatch(c.url.to_owned())),
                    };
                    (c.url.to_owned(), document)
                })
                .collect();
            DocumentLoader { documents }
        })
    }

    /// These contexts and one more (a test's example context): never used for what the ledger
    /// issues or accepts.
    pub fn with_context(&self, url: &str, document: &str) -> Result<DocumentLoader, JsonLdError> {
        let mut more = self.clone();
        more.documents.insert(url.to_owned(), Ok(remote_document(url, document)?));
        Ok(more)
    }

    /// Does this loader hold `url`?
    pub fn knows(&self, url: &str) -> bool {
        self.documents.contains_key(url)
    }

    fn get(&self, url: &str) -> Result<&RemoteDocument, JsonLdError> {
        match self.documents.get(url) {
            Some(Ok(document)) => Ok(document),
            Some(Err(e)) => Err(e.clone()),
            None => Err(JsonLdError::UnknownContext(crate::text::clip(url, 200))),
        }
    }
}

/// The error a failed load carries through the JSON-LD processor, so it comes out by name.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct LoadFailure(JsonLdError);

impl json_ld::Loader for DocumentLoader {
    async fn load(&self, url: &json_ld::Iri) -> json_ld::LoadingResult<IriBuf> {
        self.get(url.as_str()).cloned().map_err(|e| json_ld::LoadError::new(url.to_owned(), LoadFailure(e)))
    }
}

/// Keeps the first warning of the processor that safe mode counts as an error: a keyword-like
/// term, an empty term, a blank node used as a property, a malformed language tag. (The processor
/// also warns "malformed IRI" while it tries keys it then expands correctly; a relative `@id` or
/// `@type` that stays relative is refused after expansion instead.)
#[derive(Default)]
struct SafeModeWarning(Option<String>);

impl<N> json_ld::warning::Handler<N, json_ld::context_processing::Warning> for SafeModeWarning {
    fn handle(&mut self, _vocabulary: &N, warning: json_ld::context_processing::Warning) {
        if !matches!(warning, json_ld::context_processing::Warning::MalformedIri(_)) {
            self.0.get_or_insert_with(|| warning.to_string());
        }
    }
}

impl<N, B: std::fmt::Display> json_ld::warning::Handler<N, json_ld::expansion::Warning<B>> for SafeModeWarning {
    fn handle(&mut self, _vocabulary: &N, warning: json_ld::expansion::Warning<B>) {
        if !matches!(warning, json_ld::expansion::Warning::MalformedIri(_)) {
            self.0.get_or_insert_with(|| warning.to_string());
        }
    }
}

/// The canonical N-Quads (RDFC-1.0, SHA-256) of a JSON-LD document, with the embedded contexts.
pub fn canonicalize(document: &Value) -> Result<String, JsonLdError> {
    canonicalize_with(document, DocumentLoader::pinned())
}

/// [`canonicalize`] with the contexts of `loader`.
pub fn canonicalize_with(document: &Value, loader: &DocumentLoader) -> Result<String, JsonLdError> {
    match loader_is_pinned(loader).then(|| own_shape::canonicalize(document)).flatten() {
        Some(canonical) => Ok(canonical),
        None => canonicalize_dataset(&to_rdf(document, loader)?),
    }
}

/// RDFC-1.0 with SHA-256 over a dataset, serialized as canonical N-Quads. The work is bounded:
/// a dataset that needs more than a few rounds of the N-degree hash (a "poison" graph) is refused.
pub fn canonicalize_dataset(dataset: &oxrdf::Dataset) -> Result<String, JsonLdError> {
    let options = rdf_canon::CanonicalizationOptions { hndq_call_limit: Some(HNDQ_CALL_LIMIT) };
    rdf_canon::canonicalize_with::<Sha256>(dataset, &options).map_err(|e| JsonLdError::Canonicalization(e.to_string()))
}

/// How many times RDFC-1.0 may run its N-degree hash algorithm on one document. Credentials have
/// a few dozen blank nodes, each one hop from a named node; rdf-canon's own default is 4000.
const HNDQ_CALL_LIMIT: usize = 4000;

thread_local! {
    /// Processed top-level contexts, by the JSON of the `@context` that produced them.
    static PROCESSED: RefCell<HashMap<String, json_ld::Context>> = RefCell::new(HashMap::new());
}

/// How many processed contexts one thread keeps (a `@context` that lists only embedded URLs is
/// kept; an inline one is processed each time).
const PROCESSED_KEPT: usize = 64;

/// The active context a document's top-level `@context` gives, from an empty one.
fn active_context(context: &Value, loader: &DocumentLoader) -> Result<json_ld::Context, JsonLdError> {
    let only_urls = match context {
        Value::String(_) => true,
        Value::Array(items) => items.iter().all(Value::is_string),
        _ => false,
    };
    let key = context.to_string();
    let known = only_urls && loader_is_pinned(loader);
    if known {
        if let Some(hit) = PROCESSED.with(|p| p.borrow().get(&key).cloned()) {
            return Ok(hit);
        }
    }
    let (json, _) = json_ld::syntax::Value::parse_str(&key).map_err(|e| JsonLdError::Invalid(e.to_string()))?;
    let local = json_ld::syntax::context::Context::try_from_json(json)
        .map_err(|e| JsonLdError::Invalid(format!("@context: {e}")))?;
    let mut warnings = SafeModeWarning::default();
    let processed = futures::executor::block_on(local.process_full(
        &mut (),
        &json_ld::Context::default(),
        loader,
        None,
        json_ld::context_processing::Options::default(),
        &mut warnings,
    ))
    .map_err(processing_error)?
    .processed;
    if let Some(warning) = warnings.0 {
        return Err(JsonLdError::Invalid(format!("@context: {warning}")));
    }
    if known {
        PROCESSED.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < PROCESSED_KEPT {
                p.insert(key, processed.clone());
            }
        });
    }
    Ok(processed)
}

/// Only the embedded contexts' processed forms are memoized, so a test's extra context never
/// stands in for a real one.
fn loader_is_pinned(loader: &DocumentLoader) -> bool {
    std::ptr::eq(loader, DocumentLoader::pinned())
}

fn processing_error(e: json_ld::context_processing::Error) -> JsonLdError {
    use json_ld::context_processing::Error;
    match e {
        Error::ContextLoadingFailed(load) => match load.cause.downcast_ref::<LoadFailure>() {
            Some(LoadFailure(e)) => e.clone(),
            None => JsonLdError::Invalid(format!("@context: {load}")),
        },
        other => JsonLdError::Invalid(format!("@context: {other}")),
    }
}

fn expansion_error(e: json_ld::expansion::Error) -> JsonLdError {
    use json_ld::expansion::Error;
    match e {
        Error::ContextProcessing(e) => processing_error(e),
        Error::KeyExpansionFailed(term) => JsonLdError::UndefinedTerm(crate::text::clip(&term, 200)),
        Error::InvalidTypeValue => {
            JsonLdError::Invalid("a `type` is not an absolute IRI nor a term the @context defines".into())
        }
        Error::InvalidIdValue => JsonLdError::Invalid("an `id` is not a string".into()),
        other => JsonLdError::Invalid(other.to_string()),
    }
}

/// The RDF dataset of a JSON-LD document (JSON-LD 1.1 toRdf), in safe mode.
pub fn to_rdf(document: &Value, loader: &DocumentLoader) -> Result<oxrdf::Dataset, JsonLdError> {
    let Value::Object(members) = document else {
        return Err(JsonLdError::Invalid("the document is not a JSON object".into()));
    };
    let mut body = members.clone();
    let context = body.remove("@context");
    let active = match &context {
        Some(context) => active_context(context, loader)?,
        None => json_ld::Context::default(),
    };
    let (input, _) = json_ld::syntax::Value::parse_str(&Value::Object(body).to_string())
        .map_err(|e| JsonLdError::Invalid(e.to_string()))?;
    let options = json_ld::expansion::Options {
        policy: json_ld::expansion::Policy {
            invalid: json_ld::expansion::Action::Reject,
            vocab: json_ld::expansion::Action::Keep,
            allow_undefined: false,
        },
        ..Default::default()
    };
    let mut warnings = SafeModeWarning::default();
    let mut expanded =
        futures::executor::block_on(input.expand_full(&mut (), active, None, loader, options, &mut warnings))
            .map_err(expansion_error)?;
    if let Some(warning) = warnings.0 {
        return Err(JsonLdError::Invalid(warning));
    }
    for fragment in expanded.traverse() {
        if let json_ld::object::FragmentRef::NodeFragment(node) = fragment {
            if let Some(json_ld::Id::Invalid(iri)) = node.as_id() {
                return Err(relative(iri));
            }
        }
    }
    let mut generator = rdf_types::generator::Blank::new();
    expanded.relabel_and_canonicalize_with(&mut (), &mut generator);
    let mut dataset = oxrdf::Dataset::new();
    for rdf_types::Quad(s, p, o, g) in expanded.rdf_quads_full(&mut (), &mut generator, None, false).cloned() {
        let subject = resource(&s)?;
        let predicate = oxrdf::NamedNode::new(p.as_str()).map_err(|_| relative(p.as_str()))?;
        let object: oxrdf::Term = match o {
            rdf_types::Term::Id(id) => match resource(&id)? {
                Resource::Named(n) => n.into(),
                Resource::Blank(b) => b.into(),
            },
            rdf_types::Term::Literal(literal) => match &literal.type_ {
                LiteralType::Any(datatype) => {
                    let datatype = oxrdf::NamedNode::new(datatype.as_str()).map_err(|_| relative(datatype.as_str()))?;
                    oxrdf::Literal::new_typed_literal(literal.value.as_str(), datatype).into()
                }
                LiteralType::LangString(tag) => {
                    oxrdf::Literal::new_language_tagged_literal(literal.value.as_str(), tag.as_str())
                        .map_err(|e| JsonLdError::Invalid(format!("language tag `{tag}`: {e}")))?
                        .into()
                }
            },
        };
        let graph = match g {
            None => oxrdf::GraphName::DefaultGraph,
            Some(id) => match resource(&id)? {
                Resource::Named(n) => n.into(),
                Resource::Blank(b) => b.into(),
            },
        };
        let subject: oxrdf::Subject = match subject {
            Resource::Named(n) => n.into(),
            Resource::Blank(b) => b.into(),
        };
        dataset.insert(&oxrdf::Quad::new(subject, predicate, object, graph));
    }
    Ok(dataset)
}

enum Resource {
    Named(oxrdf::NamedNode),
    Blank(oxrdf::BlankNode),
}

fn resource(id: &rdf_types::Id) -> Result<Resource, JsonLdError> {
    match id {
        rdf_types::Id::Iri(iri) => {
            oxrdf::NamedNode::new(iri.as_str()).map(Resource::Named).map_err(|_| relative(iri.as_str()))
        }
        rdf_types::Id::Blank(blank) => oxrdf::BlankNode::new(blank.suffix())
            .map(Resource::Blank)
            .map_err(|e| JsonLdError::Invalid(format!("blank node `{blank}`: {e}"))),
    }
}

fn relative(iri: &str) -> JsonLdError {
    JsonLdError::Invalid(format!("`{}` is not an absolute IRI", crate::text::clip(iri, 200)))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLES_V2: &str = "https://www.w3.org/ns/credentials/examples/v2";

    fn examples() -> DocumentLoader {
        let context = include_str!("../tests/vectors/w3c/credentials-examples-v2.jsonld");
        DocumentLoader::pinned().with_context(EXAMPLES_V2, context).unwrap()
    }

    fn vector(path: &str) -> String {
        std::fs::read_to_string(format!("{}/tests/vectors/w3c/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
    }

    #[test]
    fn every_pin_is_the_sha256_of_its_file() {
        let dir = format!("{}/src/jsonld/contexts", env!("CARGO_MANIFEST_DIR"));
        for c in PINNED {
            let on_disk = std::fs::read(format!("{dir}/{}", c.file)).unwrap();
            assert_eq!(hex(&Sha256::digest(&on_disk)), c.sha256, "{}", c.file);
            assert_eq!(on_disk, c.bytes, "{}", c.file);
            assert!(DocumentLoader::pinned().get(c.url).is_ok(), "{}", c.url);
        }
        let readme = std::fs::read_to_string(format!("{dir}/README.md")).unwrap();
        for c in PINNED {
            assert!(readme.contains(c.sha256) && readme.contains(c.url), "README names {} and its pin", c.file);
        }
    }

    #[test]
    fn a_context_whose_bytes_changed_is_refused() {
        let loader = DocumentLoader {
            documents: [(CREDENTIALS_V2.to_owned(), Err(JsonLdError::PinMismatch(CREDENTIALS_V2.to_owned())))]
                .into_iter()
                .collect(),
        };
        let doc = serde_json::json!({"@context": [CREDENTIALS_V2], "type": ["VerifiableCredential"]});
        assert_eq!(canonicalize_with(&doc, &loader), Err(JsonLdError::PinMismatch(CREDENTIALS_V2.to_owned())));
    }

    #[test]
    fn the_w3c_eddsa_rdfc_2022_vectors_canonicalize_byte_for_byte() {
        let signed: Value = serde_json::from_str(&vector("eddsa-rdfc-2022/signedDataInt.json")).unwrap();
        let mut unsecured = signed.clone();
        unsecured.as_object_mut().unwrap().remove("proof");
        assert_eq!(canonicalize_with(&unsecured, &examples()).unwrap(), vector("eddsa-rdfc-2022/canonDocDataInt.txt"));
        let config: Value = serde_json::from_str(&vector("eddsa-rdfc-2022/proofConfigDataInt.json")).unwrap();
        assert_eq!(canonicalize_with(&config, &examples()).unwrap(), vector("eddsa-rdfc-2022/proofCanonDataInt.txt"));
        // The Ed25519Signature2020 vectors, through the ed25519-2020 context.
        let config: Value = serde_json::from_str(&vector("Ed25519Signature2020/proofConfigEdSig.json")).unwrap();
        assert_eq!(
            canonicalize_with(&config, &examples()).unwrap(),
            vector("Ed25519Signature2020/proofCanonEdSig.txt")
        );
        let signed: Value = serde_json::from_str(&vector("Ed25519Signature2020/signedEdSig.json")).unwrap();
        let mut unsecured = signed.clone();
        unsecured.as_object_mut().unwrap().remove("proof");
        assert_eq!(
            canonicalize_with(&unsecured, &examples()).unwrap(),
            vector("Ed25519Signature2020/canonDocEdSig.txt")
        );
    }

    #[test]
    fn a_context_not_embedded_is_refused_by_name_and_never_fetched() {
        let doc: Value = serde_json::from_str(&vector("unsigned.json")).unwrap();
        assert_eq!(canonicalize(&doc), Err(JsonLdError::UnknownContext(EXAMPLES_V2.to_owned())));
        let doc = serde_json::json!({"@context": ["https://www.w3.org/ns/credentials/v2", "https://evil.example/ctx"], "type": "VerifiableCredential"});
        let err = canonicalize(&doc).unwrap_err();
        assert_eq!(err, JsonLdError::UnknownContext("https://evil.example/ctx".into()));
        assert!(err.to_string().contains("https://evil.example/ctx"), "{err}");
        // A remote context imported from inside an inline one is refused the same way.
        let doc = serde_json::json!({"@context": {"@import": "https://evil.example/ctx2"}, "@id": "urn:x"});
        assert_eq!(canonicalize(&doc), Err(JsonLdError::UnknownContext("https://evil.example/ctx2".into())));
    }

    fn credential(extra: Value) -> Value {
        let mut doc = serde_json::json!({
            "@context": [CREDENTIALS_V2, OB_V3P0_3_0_3],
            "id": "urn:uuid:3f2a0c1e-8b1d-4c55-9a7e-2f0d6c1b9e44",
            "type": ["VerifiableCredential", "OpenBadgeCredential"],
            "issuer": {"id": "did:key:z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "type": ["Profile"], "name": "Example College"},
            "validFrom": "2026-01-01T00:00:00Z",
            "name": "Intro",
            "credentialSubject": {"id": "did:example:1", "type": ["AchievementSubject"], "achievement": {"id": "urn:x#a", "type": ["Achievement"], "name": "Intro", "criteria": {"narrative": "Done."}}},
        });
        if let (Some(doc), Value::Object(extra)) = (doc.as_object_mut(), extra) {
            doc.extend(extra);
        }
        doc
    }

    #[test]
    fn safe_mode_refuses_what_jsonld_js_safe_mode_refuses() {
        assert!(canonicalize(&credential(Value::Null)).is_ok());
        let cases = [
            // A term no context defines: the OB context sets no @vocab for it.
            (
                serde_json::json!({"credentialSubject": {"id": "did:example:1", "type": ["AchievementSubject"], "favouriteColour": "blue"}}),
                "favouriteColour",
            ),
            // A relative @type (the private status type every export had before).
            (
                serde_json::json!({"credentialStatus": {"id": "https://ledger.example/v1/status/1", "type": "CredledgerStatus"}}),
                "type",
            ),
            // A relative @id.
            (serde_json::json!({"credentialSubject": {"id": "learner-7", "type": ["AchievementSubject"]}}), "absolute"),
        ];
        for (extra, why) in cases {
            let err = canonicalize(&credential(extra.clone())).unwrap_err();
            assert!(err.to_string().contains(why), "{extra}: {err}");
        }
    }

    #[test]
    fn a_number_keeps_its_typed_lexical_form() {
        // credits are xsd:float in OB 3.0.3: 3 stays "3", 3.5 is written as an xsd:double.
        let subject = |credits: Value| serde_json::json!({"credentialSubject": {"id": "did:example:1", "type": ["AchievementSubject"], "creditsEarned": credits}});
        let three = canonicalize(&credential(subject(3.into()))).unwrap();
        assert!(three.contains("\"3\"^^<https://www.w3.org/2001/XMLSchema#float>"), "{three}");
        let half = canonicalize(&credential(subject(3.5.into()))).unwrap();
        assert!(half.contains("\"3.5E0\"^^<https://www.w3.org/2001/XMLSchema#float>"), "{half}");
    }

    #[test]
    fn the_memoized_context_gives_what_processing_it_afresh_gives() {
        let doc = credential(Value::Null);
        let first = canonicalize(&doc).unwrap();
        let again = canonicalize(&doc).unwrap();
        let fresh = canonicalize_with(&doc, &DocumentLoader::pinned().clone()).unwrap();
        assert_eq!(first, again);
        assert_eq!(first, fresh);
    }
}
