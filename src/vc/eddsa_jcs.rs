//! The `eddsa-jcs-2022` cryptosuite (W3C vc-di-eddsa §3.3): the proof signs
//! `SHA-256(JCS(proof options)) ‖ SHA-256(JCS(document without proof))` with Ed25519. The
//! document's JSON is signed exactly as it is (RFC 8785), as the ledger signs and hashes events.

use ed25519_dalek::Signature;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::canonical;
use crate::id::Did;

/// The cryptosuite's name in a `DataIntegrityProof`.
pub const CRYPTOSUITE: &str = "eddsa-jcs-2022";

/// The bytes a signature covers: the hashes of the canonical proof options (the proof without
/// `proofValue`) and of the canonical unsecured document.
pub fn hash_data(unsecured: &Value, proof_options: &Value) -> Result<Vec<u8>, String> {
    let options = canonical::to_vec(proof_options).map_err(|e| e.to_string())?;
    let document = canonical::to_vec(unsecured).map_err(|e| e.to_string())?;
    let mut data = Sha256::digest(&options).to_vec();
    data.extend_from_slice(&Sha256::digest(&document));
    Ok(data)
}

/// Checks `signature` by `key` over `unsecured` with these proof options.
pub fn verify(unsecured: &Value, proof_options: &Value, key: &Did, signature: &Signature) -> Result<(), String> {
    let data = hash_data(unsecured, proof_options)?;
    key.verifying_key()
        .verify_strict(&data, signature)
        .map_err(|_| "the signature does not verify over this credential".to_owned())
}
