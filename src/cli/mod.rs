//! The command line's own pieces: where a command acts ([`target`]), how results read
//! ([`render`]), and the demo ([`demo`]). The work itself is the library's.

pub mod bench;
pub mod demo;
pub mod progress;
pub mod render;
pub mod target;
