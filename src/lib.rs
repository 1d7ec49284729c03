//! credledger: an event-sourced, signed credentialing ledger.
//!
//! Institutions sign events (issuer registered, course completed, certificate awarded,
//! apprenticeship completed, credential revoked, …) with Ed25519; the ledger checks each against
//! its schema, its signature and the rules, then sequences it onto an append-only log.
//! Projections fold the log into the issuer registry, credential status and learner profiles,
//! and can always be rebuilt from the log alone.
//!
//! The core is sans-I/O: [`canonical`], [`event`], [`rules`], [`projection`] and [`ledger`] are
//! functions over bytes and values, and time comes in as a parameter. Only [`store`] (and key
//! files in [`keys`]) touch the disk. See ARCHITECTURE.md for the map and the invariants.

#![forbid(unsafe_code)]
#![warn(missing_debug_implementations)]

pub mod admission;
pub mod agent;
pub mod audit;
pub mod bundle;
pub mod canonical;
pub mod checkpoint;
pub mod demo;
pub mod event;
pub mod generate;
pub mod http;
pub mod id;
pub mod jsonld;
pub mod keys;
pub mod ledger;
pub mod merkle;
pub mod oid4vci;
pub mod projection;
pub mod rdfc;
pub mod record;
pub mod rules;
pub mod schema;
pub mod share;
pub mod share_build;
pub mod staged_fold;
pub mod status_list;
pub mod store;
pub mod text;
pub mod vc;
pub mod view;

pub use event::{Event, EventError, Payload, SignedEvent};
pub use id::{CredentialId, Did, EventId, Seq};
pub use keys::SecretKey;
pub use ledger::{AppendError, Appended, Ledger, LedgerError};
pub use record::Record;
pub use store::{MemoryStore, SledStore, Store, StoreError};
