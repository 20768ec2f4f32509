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
//! # Snapshots
//!
//! A log cannot grow forever. [`StateMachine::snapshot`] serializes the whole state as of
//! [`applied_index`](StateMachine::applied_index); the runtime keeps those bytes, with the index
//! and term of the last entry they cover (a [`Snapshot`](crate::raft::Snapshot)), in place of
//! the log up to that entry (log compaction, §7 of the Raft paper).
//! [`StateMachine::restore`] is the way back: it replaces the whole state with a snapshot's, when
//! a node restarts from a compacted log or installs the snapshot a leader sent because the
//! entries a lagging follower needs are gone from the leader's log (InstallSnapshot).
//!
//! A snapshot must hold everything `apply` depends on, not just the visible data: a store that
//! remembers client sessions must snapshot them too, or a write retried after a restore would be
//! applied twice. And it must be deterministic: equal states give equal bytes.

pub mod kv;

pub use kv::KvStore;

use std::fmt;

use crate::raft::Index;
use bytes::Bytes;

/// A deterministic state machine fed with committed commands, in log order.
///
/// The runtime calls [`apply`](StateMachine::apply) once for each committed entry that carries a
/// command, with increasing indexes (entries without a command, such as a new leader's no-op,
/// need not be passed, so indexes may skip). It captures the state with
/// [`snapshot`](StateMachine::snapshot) to compact the log, and replaces it with
/// [`restore`](StateMachine::restore) to install a snapshot (see the module docs).
pub trait StateMachine: Send + 'static {
    /// Applies the committed command at `index` and returns its result. Must be deterministic:
    /// every replica applying the same commands in the same order returns the same results and
    /// reaches the same state. Must never panic, whatever the bytes.
    fn apply(&mut self, index: Index, command: &[u8]) -> Bytes;

    /// Index of the last command applied (0 before any), or the index given to the last
    /// [`restore`](StateMachine::restore) if no command was applied since.
    fn applied_index(&self) -> Index;

    /// The whole state as of [`applied_index`](StateMachine::applied_index), serialized for
    /// [`restore`](StateMachine::restore). Deterministic: equal states give equal bytes.
    fn snapshot(&self) -> Bytes;

    /// Replaces the entire state with the one serialized in `data` (by
    /// [`snapshot`](StateMachine::snapshot)), as if every entry up to `index` had been applied.
    ///
    /// `index` is the last log entry the snapshot covers, as Raft knows it; it may be above the
    /// last command applied before the snapshot was taken (entries without a command are not
    /// passed to `apply`). Afterwards [`applied_index`](StateMachine::applied_index) is `index`.
    ///
    /// # Errors
    ///
    /// [`SnapshotError`] if `data` is not a valid snapshot; the state is then left unchanged.
    /// Must never panic, whatever the bytes.
    fn restore(&mut self, index: Index, data: &[u8]) -> Result<(), SnapshotError>;
}

/// Why [`StateMachine::restore`] refused a snapshot: a description of what is wrong with the bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError(pub String);

impl fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid snapshot: {}", self.0)
    }
}

impl std::error::Error for SnapshotError {}
