//! The plain data of Raft: log entries, snapshots, the persistent state of Figure 2 and roles,
//! with the ids, terms and indexes of `ids` re-exported.
//!
//! These are the core's own types. The protobuf types of the wire stay outside the core and are
//! converted in one place (`crate::pb::convert`).

use bytes::Bytes;

pub use super::ids::{Index, NodeId, Term};
use super::membership::Configuration;

/// What a log entry carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum EntryKind {
    /// A client command for the replicated state machine.
    #[default]
    Normal,
    /// The empty entry a new leader appends at the start of its term (§8), so that it can commit
    /// entries of earlier terms by committing one of its own.
    Noop,
    /// A membership change (thesis §4.1): `data` holds the whole new configuration
    /// ([`Configuration::encode`]). A server uses it as
    /// soon as it is in its log; the state machine applies nothing for it.
    Config,
}

/// One log entry: "command for state machine, and term when entry was received by leader".
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct Entry {
    /// Position in the log, from 1.
    pub index: Index,
    /// The term of the leader that created the entry.
    pub term: Term,
    /// Command or leader no-op.
    pub kind: EntryKind,
    /// The command, opaque to Raft. Shared, not copied, between log, messages and storage.
    pub data: Bytes,
}

impl Entry {
    /// A client command entry.
    pub fn normal(index: Index, term: Term, data: impl Into<Bytes>) -> Self {
        Entry {
            index,
            term,
            kind: EntryKind::Normal,
            data: data.into(),
        }
    }

    /// A leader's no-op entry.
    pub fn noop(index: Index, term: Term) -> Self {
        Entry {
            index,
            term,
            kind: EntryKind::Noop,
            data: Bytes::new(),
        }
    }

    /// A configuration entry carrying `conf`.
    pub fn config(index: Index, term: Term, conf: &Configuration) -> Self {
        Entry {
            index,
            term,
            kind: EntryKind::Config,
            data: conf.encode(),
        }
    }

    /// Bytes this entry occupies in a message, roughly: used to bound batches.
    pub fn approx_size(&self) -> usize {
        self.data.len() + 24
    }
}

/// What a snapshot covers: "the snapshot replaces all entries up through and including this
/// index" (Figure 13's lastIncludedIndex and lastIncludedTerm).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct SnapshotMeta {
    /// lastIncludedIndex: the last log entry the snapshot covers.
    pub index: Index,
    /// lastIncludedTerm: that entry's term.
    pub term: Term,
}

/// A snapshot (§7): the state machine's state after applying every entry up to `meta.index`,
/// serialized by the state machine and opaque to Raft.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// What it covers.
    pub meta: SnapshotMeta,
    /// The state machine's bytes. Shared, not copied, between core, storage and messages.
    pub data: Bytes,
    /// The cluster configuration in force at `meta.index` (the snapshot replaces the log prefix,
    /// configuration entries included). `None`: the initial configuration of
    /// [`Config::voters`](super::Config::voters), for a snapshot from storage that does not keep
    /// one.
    pub conf: Option<Configuration>,
}

/// "Persistent state on all servers (updated on stable storage before responding to RPCs)".
///
/// `commit` is not in the paper's list; it is kept (as etcd-io/raft does) so that a restarted
/// server can re-apply what it already knew to be committed. Losing it would be safe, only slower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct HardState {
    /// currentTerm: latest term the server has seen.
    pub term: Term,
    /// votedFor: candidate that received this server's vote in the current term, if any.
    pub voted_for: Option<NodeId>,
    /// The highest log index this server knew to be committed.
    pub commit: Index,
}

/// The role a server plays in its current term (§5.1, Figure 4).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
pub enum Role {
    /// Passive: answers leaders and candidates.
    #[default]
    Follower,
    /// Asking for votes in its term.
    Candidate,
    /// Handles clients and replicates the log.
    Leader,
}

impl Role {
    /// Lower-case name, for display.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Follower => "follower",
            Role::Candidate => "candidate",
            Role::Leader => "leader",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
