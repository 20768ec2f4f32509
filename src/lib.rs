//! raftlab: a Raft lab in one terminal.
//!
//! Layers, each importing only from those below it:
//!
//! ```text
//! cli      the `raftlab` command line
//! sim      deterministic simulator: seeded network of cores, faults, invariant checks
//! pb       protobuf types of proto/raftlab.proto and their conversion to the core's types
//! raft     the consensus core: sans-IO, deterministic
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod cli;
pub mod cluster;
pub mod node;
pub mod pb;
pub mod raft;
pub mod sim;
pub mod state_machine;
pub mod storage;
pub mod tui;
