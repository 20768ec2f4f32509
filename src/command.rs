//! Commands: the prompt's language ([`prompt`]: parsing, completion, help) and the
//! [`executor`] that carries commands out against a cluster. The dashboard and the scenario
//! runner both speak it.

pub mod executor;
pub mod prompt;
