//! Client histories and the linearizability checker for the KV model.
//!
//! Pure and synchronous: no tokio, no gRPC. A runtime (the coming `raftlab chaos`) records what
//! its clients asked and what they were told, then asks whether some single order of the
//! operations, one at a time on one copy of the store, explains every answer while respecting
//! real time.
//!
//! ```text
//!   client ─► History::invoke(client, op) ─► Pending ─► complete(Outcome)
//!                  │  thread-safe; µs since the History was made        Ok | Failed | Unknown
//!                  ▼
//!             Vec<Operation> ◄─► write_jsonl / read_jsonl   (one JSON object a line)
//!                  │
//!                  ▼
//!   check(ops, budget): split by key ─► per key: drop or bound the unknowns
//!                                    ─► Wing & Gong / Lowe search, memoized
//!                                    ─► on a violation: prefix, cut, forget answers
//!                  │
//!                  ▼
//!   CheckResult::{Linearizable, NotLinearizable { key, window, conflicting }, GaveUp { .. }}
//! ```
//!
//! - [`history`]: the operations, their outcomes and the thread-safe recorder;
//! - [`model`]: the sequential specification of one key;
//! - `search` (private): the search over one key's operations, with its algorithm notes;
//! - [`linearizability`]: [`check`] itself, the budget, the failing window and its timeline.

pub mod history;
pub mod linearizability;
pub mod model;
mod search;

pub use history::{
    parse_jsonl, read_jsonl, write_jsonl, Counts, History, KvOp, KvOutput, OpStatus, Operation,
    Outcome, Pending, ReadError,
};
pub use linearizability::{
    check, check_report, check_report_traced, CheckReport, CheckResult, KeyOrder, KeyStats,
    KeyVerdict, ShrinkStats,
};
