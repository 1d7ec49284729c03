//! A log record: a signed event and the place the ledger gave it, `{seq, recorded_at, event}`.
//! Its canonical (JCS) bytes are what the store keeps and what the Merkle leaf hashes.

use serde_json::{Value, json};

use crate::canonical;
use crate::event::{EventError, SignedEvent, Timestamp};
use crate::id::Seq;

/// A signed event at its place in the log.
#[derive(Clone, Debug)]
pub struct Record {
    pub seq: Seq,
    /// The ledger's clock when it sequenced the event.
    pub recorded_at: Timestamp,
    pub event: SignedEvent,
}

impl Record {
    /// The record as JSON: `{"seq", "recorded_at", "event"}`.
    pub fn to_value(&self) -> Value {
        json!({ "seq": self.seq, "recorded_at": self.recorded_at.to_string(), "event": self.event.value() })
    }

    /// The canonical bytes, as stored and hashed.
    pub fn canonical(&self) -> Vec<u8> {
        // Both parts were canonicalized before: the event when it was verified.
        canonical::to_vec(&self.to_value()).expect("a record of a canonical event is canonical")
    }

    /// Reads a record this ledger stored. Its event was verified before it was stored, so only
    /// its types are checked here (did:key points are decompressed on first use); `audit`
    /// re-verifies everything.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, RecordError> {
        crate::id::read_trusted(|| Self::parse(bytes))
    }

    /// Reads a record from elsewhere (a bundle): every did:key is checked as it is read.
    pub fn parse(bytes: &[u8]) -> Result<Self, RecordError> {
        let corrupt = |reason: String| RecordError { reason };
        let mut value: Value = serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        let seq = value.get("seq").and_then(Value::as_u64).ok_or_else(|| corrupt("no seq".into()))?;
        let recorded_at = value
            .get("recorded_at")
            .and_then(Value::as_str)
            .ok_or_else(|| corrupt("no recorded_at".into()))?
            .parse()
            .map_err(corrupt)?;
        let event = value.get_mut("event").map(Value::take).ok_or_else(|| corrupt("no event".into()))?;
        let event = SignedEvent::from_stored(event).map_err(|e: EventError| corrupt(e.to_string()))?;
        Ok(Record { seq, recorded_at, event })
    }
}

/// A stored record that does not read back as one.
#[derive(Debug, Clone, thiserror::Error)]
#[error("stored record is corrupt: {reason}")]
#[non_exhaustive]
pub struct RecordError {
    pub reason: String,
}
