//! The command line's own pieces: where a command acts ([`target`]), how results read
//! ([`render`]), the demo ([`demo`]), and the measurements ([`bench`], [`load`]). The work itself is the library's.

pub mod bench;
pub mod demo;
pub mod load;
pub mod progress;
pub mod render;
pub mod target;
