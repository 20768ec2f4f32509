//! Conversions between the protobuf types of the wire (`crate::pb`) and the core's plain types
//! (`crate::raft`): the one place where the two meet.
//!
//! Core to wire is infallible ([`From`]): every core value has a protobuf form. Wire to core is
//! fallible ([`TryFrom`], error [`ConvertError`]) wherever the bytes come from a peer: a decoded
//! message is checked for what the core is entitled to assume, so that garbage is turned away
//! here, with a message that says what is wrong, and never reaches the state machine. The checks
//! are:
//!
//! - the `rpc` oneof is set, and names an RPC the core implements;
//! - `from` and `to` are node ids (not 0);
//! - the sender a request names (`candidate_id`, `leader_id`) is the envelope's `from`;
//! - every entry has a known kind (not `ENTRY_KIND_UNSPECIFIED`);
//! - AppendEntries carries consecutive indexes starting at `prev_log_index + 1`, none with a term
//!   above the message's term (a leader only sends entries from its own log, whose terms are at
//!   most its current term);
//! - an InstallSnapshot chunk names a snapshot (`last_included_index` ≥ 1, `last_included_term`
//!   between 1 and the message's term) and its `offset + len(data)` does not overflow;
//! - a PreVote asks about a term ≥ 1 (its asker's term + 1) and never claims to be a leadership
//!   transfer (only a real RequestVote can).
//!
//! [`HardState`] is read back from the node's own storage, not from peers, and every protobuf
//! value of it is meaningful (`voted_for` 0 is "nobody"), so it converts both ways with [`From`].

#![warn(missing_docs)] // `pb` allows it for the generated code; this module is hand-written.

use std::fmt;

use crate::pb;
use crate::raft::{
    AppendEntriesArgs, AppendEntriesReply, Configuration, Entry, EntryKind, HardState, Index,
    InstallSnapshotArgs, InstallSnapshotReply, Message, NodeId, RequestVoteArgs, RequestVoteReply,
    Rpc, Term, TimeoutNowArgs,
};

/// Why a protobuf value could not be turned into a core value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvertError {
    /// A `RaftMessage` whose `rpc` oneof is not set (or was set by a newer peer to a variant this
    /// build does not know, which prost decodes as unset).
    MissingRpc,
    /// A node id field (`from`, `to`, `candidate_id`, `leader_id`) is 0, which is never a node.
    ZeroNodeId {
        /// The field's name in the protobuf.
        field: &'static str,
    },
    /// A request names a sender (`candidate_id`, `leader_id`) other than the envelope's `from`.
    SenderMismatch {
        /// The field's name in the protobuf.
        field: &'static str,
        /// The id the field holds.
        claimed: NodeId,
        /// The envelope's `from`.
        from: NodeId,
    },
    /// An entry of kind `ENTRY_KIND_UNSPECIFIED` (the protobuf default: the field was not set).
    UnspecifiedEntryKind {
        /// The entry's index.
        index: Index,
    },
    /// An entry whose kind is not a value of `EntryKind` this build knows.
    UnknownEntryKind {
        /// The entry's index.
        index: Index,
        /// The kind's number on the wire.
        kind: i32,
    },
    /// A configuration entry whose data is not a configuration.
    InvalidConfigEntry {
        /// The entry's index.
        index: Index,
    },
    /// AppendEntries entries whose indexes are not consecutive from `prev_log_index + 1`.
    EntriesOutOfOrder {
        /// The offending entry's index.
        index: Index,
        /// The index before it: the previous entry's, or `prev_log_index` for the first entry.
        after: Index,
    },
    /// An AppendEntries entry with a term above the message's term.
    EntryTermTooHigh {
        /// The entry's index.
        index: Index,
        /// The entry's term.
        entry_term: Term,
        /// The message's term.
        term: Term,
    },
    /// An AppendEntries entry whose term is below the entry before it (or below prev_log_term):
    /// terms never decrease along a log.
    EntryTermDecreases {
        /// The entry's index.
        index: Index,
        /// The entry's term.
        entry_term: Term,
        /// The term before it.
        before: Term,
    },
    /// An InstallSnapshot chunk that cannot be part of any snapshot.
    InvalidSnapshotChunk {
        /// What is wrong with it.
        what: &'static str,
    },
    /// A PreVote no server could send.
    InvalidPreVote {
        /// What is wrong with it.
        what: &'static str,
    },
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ConvertError::MissingRpc => f.write_str("RaftMessage without an rpc"),
            ConvertError::ZeroNodeId { field } => {
                write!(f, "node id 0 is not a node (in field {field})")
            }
            ConvertError::SenderMismatch {
                field,
                claimed,
                from,
            } => write!(
                f,
                "{field} {claimed} disagrees with the message's sender {from}"
            ),
            ConvertError::UnspecifiedEntryKind { index } => {
                write!(f, "entry kind UNSPECIFIED (entry {index})")
            }
            ConvertError::UnknownEntryKind { index, kind } => {
                write!(f, "unknown entry kind {kind} (entry {index})")
            }
            ConvertError::InvalidConfigEntry { index } => {
                write!(f, "configuration entry {index} does not decode")
            }
            ConvertError::EntriesOutOfOrder { index, after } => {
                write!(f, "entries out of order: index {index} after {after}")
            }
            ConvertError::EntryTermTooHigh {
                index,
                entry_term,
                term,
            } => write!(
                f,
                "entry {index} has term {entry_term}, above the message's term {term}"
            ),
            ConvertError::EntryTermDecreases {
                index,
                entry_term,
                before,
            } => write!(
                f,
                "entry {index} has term {entry_term}, below the term {before} before it"
            ),
            ConvertError::InvalidSnapshotChunk { what } => {
                write!(f, "invalid InstallSnapshot chunk: {what}")
            }
            ConvertError::InvalidPreVote { what } => write!(f, "invalid PreVote: {what}"),
        }
    }
}

impl std::error::Error for ConvertError {}

// ---------------------------------------------------------------------------------------------
// Core -> protobuf
// ---------------------------------------------------------------------------------------------

impl From<EntryKind> for pb::EntryKind {
    fn from(kind: EntryKind) -> Self {
        match kind {
            EntryKind::Normal => pb::EntryKind::Normal,
            EntryKind::Noop => pb::EntryKind::Noop,
            EntryKind::Config => pb::EntryKind::Config,
        }
    }
}

impl From<Entry> for pb::Entry {
    fn from(e: Entry) -> Self {
        pb::Entry {
            index: e.index,
            term: e.term,
            kind: pb::EntryKind::from(e.kind) as i32,
            data: e.data,
        }
    }
}

impl From<HardState> for pb::HardState {
    fn from(hs: HardState) -> Self {
        pb::HardState {
            current_term: hs.term,
            voted_for: hs.voted_for.unwrap_or(0),
            commit_index: hs.commit,
        }
    }
}

impl From<Message> for pb::RaftMessage {
    fn from(m: Message) -> Self {
        use pb::raft_message::Rpc as P;
        let rpc = match m.rpc {
            Rpc::RequestVote(a) => P::RequestVote(vote_args(a)),
            Rpc::RequestVoteReply(r) => P::RequestVoteReply(vote_reply(r)),
            Rpc::PreVote(a) => P::PreVote(vote_args(a)),
            Rpc::PreVoteReply(r) => P::PreVoteReply(vote_reply(r)),
            Rpc::AppendEntries(a) => P::AppendEntries(pb::AppendEntriesArgs {
                term: a.term,
                leader_id: a.leader_id,
                prev_log_index: a.prev_log_index,
                prev_log_term: a.prev_log_term,
                entries: a.entries.into_iter().map(pb::Entry::from).collect(),
                leader_commit: a.leader_commit,
                read_round: a.read_round,
            }),
            Rpc::AppendEntriesReply(r) => P::AppendEntriesReply(pb::AppendEntriesReply {
                term: r.term,
                success: r.success,
                prev_log_index: r.prev_log_index,
                match_index: r.match_index,
                conflict_term: r.conflict_term,
                conflict_index: r.conflict_index,
                read_round: r.read_round,
            }),
            Rpc::InstallSnapshot(a) => P::InstallSnapshot(pb::InstallSnapshotArgs {
                term: a.term,
                leader_id: a.leader_id,
                last_included_index: a.last_included_index,
                last_included_term: a.last_included_term,
                offset: a.offset,
                data: a.data,
                done: a.done,
                configuration: a.conf.map(|c| c.encode().to_vec()).unwrap_or_default(),
            }),
            Rpc::InstallSnapshotReply(r) => P::InstallSnapshotReply(pb::InstallSnapshotReply {
                term: r.term,
                last_included_index: r.last_included_index,
                next_offset: r.next_offset,
                done: r.done,
            }),
            Rpc::TimeoutNow(a) => P::TimeoutNow(pb::TimeoutNowArgs {
                term: a.term,
                leader_id: a.leader_id,
            }),
        };
        pb::RaftMessage {
            from: m.from,
            to: m.to,
            rpc: Some(rpc),
        }
    }
}

/// RequestVote and PreVote share their body.
fn vote_args(a: RequestVoteArgs) -> pb::RequestVoteArgs {
    pb::RequestVoteArgs {
        term: a.term,
        candidate_id: a.candidate_id,
        last_log_index: a.last_log_index,
        last_log_term: a.last_log_term,
        leadership_transfer: a.leadership_transfer,
    }
}

fn vote_reply(r: RequestVoteReply) -> pb::RequestVoteReply {
    pb::RequestVoteReply {
        term: r.term,
        vote_granted: r.vote_granted,
    }
}

// ---------------------------------------------------------------------------------------------
// Protobuf -> core
// ---------------------------------------------------------------------------------------------

impl From<pb::HardState> for HardState {
    fn from(hs: pb::HardState) -> Self {
        HardState {
            term: hs.current_term,
            voted_for: (hs.voted_for != 0).then_some(hs.voted_for),
            commit: hs.commit_index,
        }
    }
}

/// Checks one entry on its own: its kind must be NORMAL or NOOP. Its index and term are checked
/// against its neighbours by the AppendEntries conversion, which has the context to do so.
impl TryFrom<pb::Entry> for Entry {
    type Error = ConvertError;

    fn try_from(e: pb::Entry) -> Result<Self, ConvertError> {
        let kind = match pb::EntryKind::try_from(e.kind) {
            Ok(pb::EntryKind::Normal) => EntryKind::Normal,
            Ok(pb::EntryKind::Noop) => EntryKind::Noop,
            Ok(pb::EntryKind::Config) => {
                if Configuration::decode(&e.data).is_err() {
                    return Err(ConvertError::InvalidConfigEntry { index: e.index });
                }
                EntryKind::Config
            }
            Ok(pb::EntryKind::Unspecified) => {
                return Err(ConvertError::UnspecifiedEntryKind { index: e.index })
            }
            Err(_) => {
                return Err(ConvertError::UnknownEntryKind {
                    index: e.index,
                    kind: e.kind,
                })
            }
        };
        Ok(Entry {
            index: e.index,
            term: e.term,
            kind,
            data: e.data,
        })
    }
}

/// Checks the envelope (`from`, `to` are node ids), the oneof (set, and an RPC the core has), and
/// the RPC itself (see the module documentation).
impl TryFrom<pb::RaftMessage> for Message {
    type Error = ConvertError;

    fn try_from(m: pb::RaftMessage) -> Result<Self, ConvertError> {
        use pb::raft_message::Rpc as P;
        let from = node_id("from", m.from)?;
        let to = node_id("to", m.to)?;
        let rpc = match m.rpc.ok_or(ConvertError::MissingRpc)? {
            P::RequestVote(a) => Rpc::RequestVote(RequestVoteArgs {
                term: a.term,
                candidate_id: sender("candidate_id", a.candidate_id, from)?,
                last_log_index: a.last_log_index,
                last_log_term: a.last_log_term,
                leadership_transfer: a.leadership_transfer,
            }),
            P::RequestVoteReply(r) => Rpc::RequestVoteReply(RequestVoteReply {
                term: r.term,
                vote_granted: r.vote_granted,
            }),
            P::PreVote(a) => {
                let bad = |what| Err(ConvertError::InvalidPreVote { what });
                if a.term == 0 {
                    return bad("term 0 (a PreVote asks about its sender's term + 1)");
                }
                if a.leadership_transfer {
                    return bad("leadership_transfer set (only a RequestVote can say so)");
                }
                Rpc::PreVote(RequestVoteArgs {
                    term: a.term,
                    candidate_id: sender("candidate_id", a.candidate_id, from)?,
                    last_log_index: a.last_log_index,
                    last_log_term: a.last_log_term,
                    leadership_transfer: false,
                })
            }
            P::PreVoteReply(r) => Rpc::PreVoteReply(RequestVoteReply {
                term: r.term,
                vote_granted: r.vote_granted,
            }),
            P::AppendEntries(a) => Rpc::AppendEntries(AppendEntriesArgs {
                term: a.term,
                leader_id: sender("leader_id", a.leader_id, from)?,
                prev_log_index: a.prev_log_index,
                prev_log_term: a.prev_log_term,
                entries: entries(a.term, a.prev_log_index, a.prev_log_term, a.entries)?,
                leader_commit: a.leader_commit,
                read_round: a.read_round,
            }),
            P::AppendEntriesReply(r) => Rpc::AppendEntriesReply(AppendEntriesReply {
                term: r.term,
                success: r.success,
                prev_log_index: r.prev_log_index,
                match_index: r.match_index,
                conflict_term: r.conflict_term,
                conflict_index: r.conflict_index,
                read_round: r.read_round,
            }),
            P::TimeoutNow(a) => Rpc::TimeoutNow(TimeoutNowArgs {
                term: a.term,
                leader_id: sender("leader_id", a.leader_id, from)?,
            }),
            P::InstallSnapshot(a) => {
                let bad = |what| Err(ConvertError::InvalidSnapshotChunk { what });
                if a.last_included_index == 0 {
                    return bad("last_included_index 0 (a snapshot covers at least entry 1)");
                }
                if a.last_included_term == 0 || a.last_included_term > a.term {
                    return bad("last_included_term must be between 1 and the message's term");
                }
                if a.offset.checked_add(a.data.len() as u64).is_none() {
                    return bad("offset + chunk length overflows");
                }
                let conf = if a.configuration.is_empty() {
                    None
                } else {
                    match Configuration::decode(&a.configuration) {
                        Ok(c) => Some(c),
                        Err(_) => return bad("undecodable configuration"),
                    }
                };
                Rpc::InstallSnapshot(InstallSnapshotArgs {
                    term: a.term,
                    leader_id: sender("leader_id", a.leader_id, from)?,
                    last_included_index: a.last_included_index,
                    last_included_term: a.last_included_term,
                    offset: a.offset,
                    data: a.data,
                    done: a.done,
                    conf,
                })
            }
            P::InstallSnapshotReply(r) => Rpc::InstallSnapshotReply(InstallSnapshotReply {
                term: r.term,
                last_included_index: r.last_included_index,
                next_offset: r.next_offset,
                done: r.done,
            }),
        };
        Ok(Message { from, to, rpc })
    }
}

/// `id`, if it is a node id (not 0).
fn node_id(field: &'static str, id: u64) -> Result<NodeId, ConvertError> {
    if id == 0 {
        Err(ConvertError::ZeroNodeId { field })
    } else {
        Ok(id)
    }
}

/// `claimed`, if it is a node id and it is the envelope's sender `from`.
fn sender(field: &'static str, claimed: u64, from: NodeId) -> Result<NodeId, ConvertError> {
    let claimed = node_id(field, claimed)?;
    if claimed == from {
        Ok(claimed)
    } else {
        Err(ConvertError::SenderMismatch {
            field,
            claimed,
            from,
        })
    }
}

/// The entries of an AppendEntries in the given term after `prev_log_index`: each converted, with
/// consecutive indexes from `prev_log_index + 1` and terms at most `term`.
fn entries(
    term: Term,
    prev_log_index: Index,
    prev_log_term: Term,
    entries: Vec<pb::Entry>,
) -> Result<Vec<Entry>, ConvertError> {
    let mut after = prev_log_index;
    let mut before = prev_log_term;
    entries
        .into_iter()
        .map(|e| {
            let e = Entry::try_from(e)?;
            // No checked_add failure case of its own: after u64::MAX nothing is in order.
            if after.checked_add(1) != Some(e.index) {
                return Err(ConvertError::EntriesOutOfOrder {
                    index: e.index,
                    after,
                });
            }
            if e.term > term {
                return Err(ConvertError::EntryTermTooHigh {
                    index: e.index,
                    entry_term: e.term,
                    term,
                });
            }
            if e.term < before {
                return Err(ConvertError::EntryTermDecreases {
                    index: e.index,
                    entry_term: e.term,
                    before,
                });
            }
            after = e.index;
            before = e.term;
            Ok(e)
        })
        .collect()
}

#[cfg(test)]
mod tests;
