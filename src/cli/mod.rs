//! The command line's own pieces: where a command acts ([`target`]), how results read
//! ([`render`]), the status lists it signs ([`lists`]) with a credential ([`issuance`]), the issuer agent's ledger and import client ([`agent`]), a standard credential's status over https ([`status`]), the demo ([`demo`]), a file of events appended ([`submit`]),
//! the measurements ([`bench`], [`load`]), and the OID4VCI wallet ([`claim`]). The work itself is the library's.

pub mod agent;
pub mod bench;
pub mod claim;
pub mod demo;
pub mod issuance;
pub mod lists;
pub mod load;
pub mod progress;
pub mod render;
pub mod share;
pub mod status;
pub mod submit;
pub mod target;
