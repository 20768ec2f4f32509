//! The replicated state machine: what a node does with a committed log entry.
//!
//! The consensus core only agrees on an order of opaque byte strings; a [`StateMachine`] gives
//! them meaning. The node runtime hands it every committed command once, in log order, and
//! answers the waiting client with the bytes it returns. Because every
//! replica applies the same commands in the same order, every replica computes the same state and
//! the same results (State Machine Safety, Figure 3 of the Raft paper) — provided `apply` is
//! deterministic, which is the one thing this trait demands above all.
//!
//! | module | what it holds                                                                  |
//! |--------|--------------------------------------------------------------------------------|
//! | `kv`   | [`KvStore`]: the example key-value store, with client sessions for exactly-once |
//!
//! Not yet here: snapshots (a later issue adds taking and restoring a snapshot of the state, so
//! that the log can be compacted and a lagging follower can be sent the state instead of the
//! entries). Until then a restarted node rebuilds its state by re-applying the log from index 1.

pub mod kv;

pub use kv::KvStore;

use crate::raft::Index;
use bytes::Bytes;

/// A deterministic state machine fed with committed commands, in log order.
///
/// The runtime calls [`apply`](StateMachine::apply) once for each committed entry that carries a
/// command, with increasing indexes (entries without a command, such as a new leader's no-op,
/// need not be passed, so indexes may skip). Snapshot support (capture and restore) is planned for a later issue and is not part of
/// the trait yet.
pub trait StateMachine: Send + 'static {
    /// Applies the committed command at `index` and returns its result. Must be deterministic:
    /// every replica applying the same commands in the same order returns the same results and
    /// reaches the same state. Must never panic, whatever the bytes.
    fn apply(&mut self, index: Index, command: &[u8]) -> Bytes;

    /// Index of the last command applied (0 before any).
    fn applied_index(&self) -> Index;
}
