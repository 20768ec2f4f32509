//! raftlab: a Raft lab in one terminal.
//!
//! Layers, top to bottom. A module imports only from the modules below it: `tests/it/layers.rs`
//! reads this table and fails on an import that points up, and on a module of `src/` that has no
//! row here.
//!
//! ```text
//! cli            the `raftlab` command line: dashboard, serve, bench, chaos, sim
//! tui            the dashboard (ratatui): views, keys, narration, replay
//! config         the user's raftlab.toml: plain values, each with where it came from (the tui
//!                turns its key names into keys)
//! export         pictures of a recording: the space-time diagram as SVG, HTML, Mermaid, ShiViz;
//!                the history report of `check --html`
//! record         recordings of a run (--record FILE): format, writer, and the reader `replay` uses
//! scenario       scripted scenarios (TOML): actions, waits, assertions, narration
//! command        the prompt's command language and the executor that carries it out
//! chaos          client workers and a nemesis against a live cluster, judged by `check`
//! engine         what runs drive: the sim engine's lab (a seeded run of timed actions, seen as
//!                the dashboard sees a live cluster)
//! observe        what a run looks like from outside: the cluster view and its poller, the event
//!                feed's lines and categories, number and size formatting
//! cluster        the supervisor: nodes, fault-injecting network, clock, Control service
//! node           one node's runtime: driver loop, Raft and Kv gRPC services, event bus
//! storage        durable WAL, hard state and snapshot files
//! state_machine  the replicated key-value store, with sessions and snapshots
//! check          client histories and the linearizability checker for the KV model
//! sim            deterministic simulator: seeded network of cores, faults, invariant checks
//! pb             protobuf types of proto/raftlab.proto and their conversion to the core's types
//! raft           the consensus core: sans-IO, deterministic
//! paths          where a user's files go: XDG config, data and state directories
//! ```
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod chaos;
pub mod check;
pub mod cli;
pub mod cluster;
pub mod command;
pub mod config;
pub mod engine;
pub mod export;
pub mod node;
pub mod observe;
pub mod paths;
pub mod pb;
pub mod raft;
pub mod record;
pub mod scenario;
pub mod sim;
pub mod state_machine;
pub mod storage;
pub mod tui;
