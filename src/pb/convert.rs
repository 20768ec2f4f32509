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
mod tests {
    use super::*;
    use bytes::Bytes;
    use pb::raft_message::Rpc as P;
    use proptest::prelude::*;

    fn to_core(m: pb::RaftMessage) -> Result<Message, ConvertError> {
        Message::try_from(m)
    }

    /// core -> pb -> bytes -> pb -> core gives back the message, and the pb form survives too.
    fn assert_round_trip(m: Message) {
        let p = pb::RaftMessage::from(m.clone());
        let wire = prost::Message::encode_to_vec(&p);
        let decoded: pb::RaftMessage =
            prost::Message::decode(wire.as_slice()).expect("own encoding decodes");
        assert_eq!(decoded, p);
        assert_eq!(to_core(decoded), Ok(m));
    }

    fn append(prev_log_index: Index, term: Term, entries: Vec<Entry>) -> Message {
        Message {
            from: 1,
            to: 2,
            rpc: Rpc::AppendEntries(AppendEntriesArgs {
                term,
                leader_id: 1,
                prev_log_index,
                prev_log_term: 1,
                entries,
                leader_commit: 3,
                read_round: 0,
            }),
        }
    }

    fn pb_append(prev_log_index: Index, term: Term, entries: Vec<pb::Entry>) -> pb::RaftMessage {
        pb::RaftMessage {
            from: 1,
            to: 2,
            rpc: Some(P::AppendEntries(pb::AppendEntriesArgs {
                term,
                leader_id: 1,
                prev_log_index,
                prev_log_term: 1,
                entries,
                leader_commit: 3,
                read_round: 0,
            })),
        }
    }

    fn pb_entry(index: Index, term: Term, kind: i32) -> pb::Entry {
        pb::Entry {
            index,
            term,
            kind,
            data: Bytes::from_static(b"x"),
        }
    }

    const NORMAL: i32 = pb::EntryKind::Normal as i32;

    // --- round trips, one per Rpc variant ----------------------------------------------------

    #[test]
    fn round_trip_request_vote() {
        for leadership_transfer in [false, true] {
            assert_round_trip(Message {
                from: 3,
                to: 1,
                rpc: Rpc::RequestVote(RequestVoteArgs {
                    term: 7,
                    candidate_id: 3,
                    last_log_index: 12,
                    last_log_term: 6,
                    leadership_transfer,
                }),
            });
        }
    }

    #[test]
    fn round_trip_pre_vote_and_reply() {
        assert_round_trip(Message {
            from: 3,
            to: 1,
            rpc: Rpc::PreVote(RequestVoteArgs {
                term: 8,
                candidate_id: 3,
                last_log_index: 12,
                last_log_term: 6,
                leadership_transfer: false,
            }),
        });
        for vote_granted in [false, true] {
            let m = Message {
                from: 1,
                to: 3,
                rpc: Rpc::PreVoteReply(RequestVoteReply {
                    term: 8,
                    vote_granted,
                }),
            };
            // A PreVoteReply is not a RequestVoteReply on the wire.
            assert!(matches!(
                pb::RaftMessage::from(m.clone()).rpc,
                Some(P::PreVoteReply(_))
            ));
            assert_round_trip(m);
        }
    }

    #[test]
    fn rejects_pre_votes_no_server_sends() {
        let pre_vote = |term, leadership_transfer, candidate_id| pb::RaftMessage {
            from: 3,
            to: 1,
            rpc: Some(P::PreVote(pb::RequestVoteArgs {
                term,
                candidate_id,
                last_log_index: 0,
                last_log_term: 0,
                leadership_transfer,
            })),
        };
        assert!(to_core(pre_vote(1, false, 3)).is_ok());
        for bad in [pre_vote(0, false, 3), pre_vote(2, true, 3)] {
            let err = to_core(bad).expect_err("refused");
            assert!(matches!(err, ConvertError::InvalidPreVote { .. }));
            assert!(err.to_string().starts_with("invalid PreVote: "));
        }
        assert!(matches!(
            to_core(pre_vote(2, false, 4)),
            Err(ConvertError::SenderMismatch {
                field: "candidate_id",
                ..
            })
        ));
    }

    #[test]
    fn round_trip_request_vote_reply() {
        for vote_granted in [false, true] {
            assert_round_trip(Message {
                from: 1,
                to: 3,
                rpc: Rpc::RequestVoteReply(RequestVoteReply {
                    term: 7,
                    vote_granted,
                }),
            });
        }
    }

    #[test]
    fn round_trip_append_entries() {
        // Heartbeat, and an append with both kinds of entry and an empty command.
        assert_round_trip(append(4, 2, vec![]));
        let mut with_round = append(4, 2, vec![]);
        if let Rpc::AppendEntries(a) = &mut with_round.rpc {
            a.read_round = 17;
        }
        assert_round_trip(with_round);
        assert_round_trip(append(
            4,
            3,
            vec![
                Entry::normal(5, 2, &b"set x 1"[..]),
                Entry::noop(6, 3),
                Entry::normal(7, 3, Bytes::new()),
            ],
        ));
    }

    #[test]
    fn round_trip_append_entries_reply() {
        for success in [false, true] {
            assert_round_trip(Message {
                from: 2,
                to: 1,
                rpc: Rpc::AppendEntriesReply(AppendEntriesReply {
                    term: 3,
                    success,
                    prev_log_index: 4,
                    match_index: 7,
                    conflict_term: 2,
                    conflict_index: 3,
                    read_round: 17,
                }),
            });
        }
    }

    #[test]
    fn round_trip_timeout_now() {
        assert_round_trip(Message {
            from: 1,
            to: 2,
            rpc: Rpc::TimeoutNow(TimeoutNowArgs {
                term: 9,
                leader_id: 1,
            }),
        });
    }

    #[test]
    fn round_trip_hard_state() {
        for voted_for in [None, Some(1), Some(u64::MAX)] {
            let hs = HardState {
                term: 5,
                voted_for,
                commit: 9,
            };
            let p = pb::HardState::from(hs);
            assert_eq!(p.voted_for, voted_for.unwrap_or(0));
            assert_eq!(HardState::from(p), hs);
        }
        assert_eq!(
            HardState::from(pb::HardState::default()),
            HardState::default()
        );
    }

    #[test]
    fn entry_kinds_map_to_their_wire_values() {
        assert_eq!(pb::Entry::from(Entry::normal(1, 1, Bytes::new())).kind, 1);
        assert_eq!(pb::Entry::from(Entry::noop(1, 1)).kind, 2);
    }

    // --- rejections ----------------------------------------------------------------------------

    #[test]
    fn rejects_missing_rpc() {
        let m = pb::RaftMessage {
            from: 1,
            to: 2,
            rpc: None,
        };
        assert_eq!(to_core(m), Err(ConvertError::MissingRpc));
        assert_eq!(
            ConvertError::MissingRpc.to_string(),
            "RaftMessage without an rpc"
        );
    }

    #[test]
    fn rejects_node_id_zero_in_envelope() {
        let ok = pb::RaftMessage::from(append(0, 1, vec![]));
        let mut m = ok.clone();
        m.from = 0;
        assert_eq!(to_core(m), Err(ConvertError::ZeroNodeId { field: "from" }));
        let mut m = ok;
        m.to = 0;
        assert_eq!(to_core(m), Err(ConvertError::ZeroNodeId { field: "to" }));
        assert!(ConvertError::ZeroNodeId { field: "to" }
            .to_string()
            .contains("node id 0 is not a node"));
    }

    #[test]
    fn rejects_zero_or_foreign_candidate_id() {
        let vote = |candidate_id| pb::RaftMessage {
            from: 3,
            to: 1,
            rpc: Some(P::RequestVote(pb::RequestVoteArgs {
                term: 2,
                candidate_id,
                last_log_index: 0,
                last_log_term: 0,
                leadership_transfer: false,
            })),
        };
        assert!(to_core(vote(3)).is_ok());
        assert_eq!(
            to_core(vote(0)),
            Err(ConvertError::ZeroNodeId {
                field: "candidate_id"
            })
        );
        let err = ConvertError::SenderMismatch {
            field: "candidate_id",
            claimed: 2,
            from: 3,
        };
        assert_eq!(to_core(vote(2)), Err(err));
        assert_eq!(
            err.to_string(),
            "candidate_id 2 disagrees with the message's sender 3"
        );
    }

    #[test]
    fn rejects_zero_or_foreign_leader_id() {
        let mut ae = pb::RaftMessage::from(append(0, 1, vec![]));
        let mut tn = pb::RaftMessage::from(Message {
            from: 1,
            to: 2,
            rpc: Rpc::TimeoutNow(TimeoutNowArgs {
                term: 1,
                leader_id: 1,
            }),
        });
        for (leader_id, want) in [
            (0, ConvertError::ZeroNodeId { field: "leader_id" }),
            (
                5,
                ConvertError::SenderMismatch {
                    field: "leader_id",
                    claimed: 5,
                    from: 1,
                },
            ),
        ] {
            match ae.rpc.as_mut() {
                Some(P::AppendEntries(a)) => a.leader_id = leader_id,
                other => panic!("not an AppendEntries: {other:?}"),
            }
            match tn.rpc.as_mut() {
                Some(P::TimeoutNow(a)) => a.leader_id = leader_id,
                other => panic!("not a TimeoutNow: {other:?}"),
            }
            assert_eq!(to_core(ae.clone()), Err(want));
            assert_eq!(to_core(tn.clone()), Err(want));
        }
    }

    #[test]
    fn rejects_unspecified_entry_kind() {
        let m = pb_append(0, 1, vec![pb_entry(1, 1, NORMAL), pb_entry(2, 1, 0)]);
        assert_eq!(
            to_core(m),
            Err(ConvertError::UnspecifiedEntryKind { index: 2 })
        );
        assert_eq!(
            Entry::try_from(pb_entry(4, 1, 0)),
            Err(ConvertError::UnspecifiedEntryKind { index: 4 })
        );
    }

    #[test]
    fn rejects_unknown_entry_kind() {
        let m = pb_append(0, 1, vec![pb_entry(1, 1, 7)]);
        let err = ConvertError::UnknownEntryKind { index: 1, kind: 7 };
        assert_eq!(to_core(m), Err(err));
        assert!(err.to_string().contains("unknown entry kind 7"));
        assert_eq!(
            Entry::try_from(pb_entry(1, 1, -1)),
            Err(ConvertError::UnknownEntryKind { index: 1, kind: -1 })
        );
    }

    #[test]
    fn rejects_entries_not_following_prev_log_index() {
        // The first entry must be prev_log_index + 1: not a gap, not an overlap.
        for first in [3, 4, 6] {
            let m = pb_append(4, 1, vec![pb_entry(first, 1, NORMAL)]);
            assert_eq!(
                to_core(m),
                Err(ConvertError::EntriesOutOfOrder {
                    index: first,
                    after: 4
                })
            );
        }
    }

    #[test]
    fn rejects_entries_out_of_order() {
        let e = |i| pb_entry(i, 1, NORMAL);
        for (indexes, index, after) in [
            (vec![5, 7], 7, 5),    // gap
            (vec![5, 6, 6], 6, 6), // repeat
            (vec![5, 6, 5], 5, 6), // backwards
        ] {
            let m = pb_append(4, 1, indexes.into_iter().map(e).collect());
            assert_eq!(
                to_core(m),
                Err(ConvertError::EntriesOutOfOrder { index, after })
            );
        }
        assert_eq!(
            ConvertError::EntriesOutOfOrder { index: 5, after: 7 }.to_string(),
            "entries out of order: index 5 after 7"
        );
    }

    #[test]
    fn rejects_entries_past_the_end_of_the_index_space() {
        let m = pb_append(u64::MAX, 1, vec![pb_entry(0, 1, NORMAL)]);
        assert_eq!(
            to_core(m),
            Err(ConvertError::EntriesOutOfOrder {
                index: 0,
                after: u64::MAX
            })
        );
        let m = pb_append(u64::MAX - 1, 1, vec![pb_entry(u64::MAX, 1, NORMAL)]);
        assert!(to_core(m).is_ok());
    }

    #[test]
    fn rejects_entry_term_above_message_term() {
        let m = pb_append(0, 3, vec![pb_entry(1, 3, NORMAL), pb_entry(2, 4, NORMAL)]);
        assert_eq!(
            to_core(m),
            Err(ConvertError::EntryTermTooHigh {
                index: 2,
                entry_term: 4,
                term: 3
            })
        );
    }

    #[test]
    fn rejects_entry_terms_that_decrease() {
        let m = pb_append(0, 3, vec![pb_entry(1, 3, NORMAL), pb_entry(2, 2, NORMAL)]);
        assert_eq!(
            to_core(m),
            Err(ConvertError::EntryTermDecreases {
                index: 2,
                entry_term: 2,
                before: 3
            })
        );
        // prev_log_term is 1 in pb_append: a first entry of term 0 goes backwards.
        let m = pb_append(0, 3, vec![pb_entry(1, 0, NORMAL)]);
        assert!(matches!(
            to_core(m),
            Err(ConvertError::EntryTermDecreases { index: 1, .. })
        ));
    }

    fn pb_chunk(term: Term, lii: Index, lit: Term, offset: u64) -> pb::RaftMessage {
        pb::RaftMessage {
            from: 1,
            to: 2,
            rpc: Some(P::InstallSnapshot(pb::InstallSnapshotArgs {
                term,
                leader_id: 1,
                last_included_index: lii,
                last_included_term: lit,
                offset,
                data: bytes::Bytes::from_static(b"chunk"),
                done: false,
                configuration: Vec::new(),
            })),
        }
    }

    #[test]
    fn config_entries_and_snapshot_configurations_convert_and_garbage_is_refused() {
        let conf = Configuration {
            voters: [1, 2, 3].into_iter().collect(),
            learners: [4].into_iter().collect(),
        };
        let e = Entry::config(1, 3, &conf);
        let wire = pb::Entry::from(e.clone());
        assert_eq!(wire.kind, pb::EntryKind::Config as i32);
        assert_eq!(Entry::try_from(wire.clone()), Ok(e));
        let mut garbage = wire;
        garbage.data = Bytes::from_static(b"\x01\x00");
        assert_eq!(
            Entry::try_from(garbage),
            Err(ConvertError::InvalidConfigEntry { index: 1 })
        );
        // InstallSnapshot carries the configuration; an undecodable one is refused.
        let mut m = pb_chunk(3, 5, 2, 0);
        if let Some(P::InstallSnapshot(a)) = m.rpc.as_mut() {
            a.configuration = conf.encode().to_vec();
        }
        match to_core(m.clone()) {
            Ok(Message {
                rpc: Rpc::InstallSnapshot(a),
                ..
            }) => {
                assert_eq!(a.conf.as_ref(), Some(&conf));
                let back = pb::RaftMessage::from(Message {
                    from: 1,
                    to: 2,
                    rpc: Rpc::InstallSnapshot(a),
                });
                assert_eq!(back, m);
            }
            other => panic!("expected an InstallSnapshot, got {other:?}"),
        }
        if let Some(P::InstallSnapshot(a)) = m.rpc.as_mut() {
            a.configuration = vec![9, 9, 9];
        }
        assert!(matches!(
            to_core(m),
            Err(ConvertError::InvalidSnapshotChunk { .. })
        ));
    }

    #[test]
    fn install_snapshot_round_trips_and_bad_chunks_are_refused() {
        let m = to_core(pb_chunk(3, 40, 2, 5)).expect("a good chunk");
        match &m.rpc {
            Rpc::InstallSnapshot(a) => {
                assert_eq!(
                    (a.last_included_index, a.last_included_term, a.offset),
                    (40, 2, 5)
                );
                assert_eq!(&a.data[..], b"chunk");
            }
            other => panic!("not InstallSnapshot: {other:?}"),
        }
        assert_eq!(pb::RaftMessage::from(m), pb_chunk(3, 40, 2, 5));
        for bad in [
            pb_chunk(3, 0, 2, 0),
            pb_chunk(3, 40, 0, 0),
            pb_chunk(3, 40, 4, 0),
            pb_chunk(3, 40, 2, u64::MAX - 1),
        ] {
            assert!(matches!(
                to_core(bad),
                Err(ConvertError::InvalidSnapshotChunk { .. })
            ));
        }
        let mut wrong_sender = pb_chunk(3, 40, 2, 0);
        if let Some(P::InstallSnapshot(a)) = wrong_sender.rpc.as_mut() {
            a.leader_id = 7;
        }
        assert!(matches!(
            to_core(wrong_sender),
            Err(ConvertError::SenderMismatch { .. })
        ));
        let reply = pb::RaftMessage {
            from: 2,
            to: 1,
            rpc: Some(P::InstallSnapshotReply(pb::InstallSnapshotReply {
                term: 3,
                last_included_index: 40,
                next_offset: 10,
                done: false,
            })),
        };
        let m = to_core(reply.clone()).expect("reply");
        assert_eq!(pb::RaftMessage::from(m), reply);
    }

    // --- properties ----------------------------------------------------------------------------

    fn node() -> impl Strategy<Value = NodeId> {
        prop_oneof![1..=9u64, 1..=u64::MAX]
    }

    fn small_or_any() -> impl Strategy<Value = u64> {
        prop_oneof![0..=20u64, any::<u64>()]
    }

    fn entry_kind() -> impl Strategy<Value = EntryKind> {
        prop_oneof![Just(EntryKind::Normal), Just(EntryKind::Noop)]
    }

    fn data() -> impl Strategy<Value = Bytes> {
        proptest::collection::vec(any::<u8>(), 0..16).prop_map(Bytes::from)
    }

    /// A valid AppendEntries payload sent by `from`.
    fn append_entries(from: NodeId) -> impl Strategy<Value = AppendEntriesArgs> {
        (
            small_or_any(),
            prop_oneof![0..=20u64, 0..=u64::MAX - 16],
            small_or_any(),
            small_or_any(),
            0..8usize,
            small_or_any(),
        )
            .prop_flat_map(
                move |(term, prev_log_index, prev_log_term, leader_commit, n, read_round)| {
                    // Terms never decrease along a log: from prev_log_term up to the message's.
                    let prev_log_term = prev_log_term.min(term);
                    let entries =
                        proptest::collection::vec((prev_log_term..=term, entry_kind(), data()), n)
                            .prop_map(|mut raw| {
                                raw.sort_by_key(|(t, _, _)| *t);
                                raw
                            });
                    entries.prop_map(move |raw| AppendEntriesArgs {
                        term,
                        leader_id: from,
                        prev_log_index,
                        prev_log_term,
                        entries: (prev_log_index + 1..)
                            .zip(raw)
                            .map(|(index, (term, kind, data))| Entry {
                                index,
                                term,
                                kind,
                                data,
                            })
                            .collect(),
                        leader_commit,
                        read_round,
                    })
                },
            )
    }

    /// Any valid core message.
    fn message() -> impl Strategy<Value = Message> {
        (node(), node()).prop_flat_map(|(from, to)| {
            let rpc = prop_oneof![
                (
                    small_or_any(),
                    small_or_any(),
                    small_or_any(),
                    any::<bool>()
                )
                    .prop_map(
                        move |(term, last_log_index, last_log_term, leadership_transfer)| {
                            Rpc::RequestVote(RequestVoteArgs {
                                term,
                                candidate_id: from,
                                last_log_index,
                                last_log_term,
                                leadership_transfer,
                            })
                        }
                    ),
                (small_or_any(), any::<bool>()).prop_map(|(term, vote_granted)| {
                    Rpc::RequestVoteReply(RequestVoteReply { term, vote_granted })
                }),
                (1..=u64::MAX, small_or_any(), small_or_any()).prop_map(
                    move |(term, last_log_index, last_log_term)| {
                        Rpc::PreVote(RequestVoteArgs {
                            term,
                            candidate_id: from,
                            last_log_index,
                            last_log_term,
                            leadership_transfer: false,
                        })
                    }
                ),
                (small_or_any(), any::<bool>()).prop_map(|(term, vote_granted)| {
                    Rpc::PreVoteReply(RequestVoteReply { term, vote_granted })
                }),
                append_entries(from).prop_map(Rpc::AppendEntries),
                (
                    small_or_any(),
                    any::<bool>(),
                    small_or_any(),
                    small_or_any(),
                    small_or_any(),
                    small_or_any(),
                    small_or_any()
                )
                    .prop_map(
                        |(
                            term,
                            success,
                            prev_log_index,
                            match_index,
                            conflict_term,
                            conflict_index,
                            read_round,
                        )| {
                            Rpc::AppendEntriesReply(AppendEntriesReply {
                                term,
                                success,
                                prev_log_index,
                                match_index,
                                conflict_term,
                                conflict_index,
                                read_round,
                            })
                        }
                    ),
                small_or_any().prop_map(move |term| Rpc::TimeoutNow(TimeoutNowArgs {
                    term,
                    leader_id: from,
                })),
            ];
            rpc.prop_map(move |rpc| Message { from, to, rpc })
        })
    }

    /// A protobuf message that is nearly valid: small ids (sometimes 0), named senders mostly
    /// equal to `from`, entries mostly in order with known kinds and terms at most the message's.
    /// Each field is off now and then, so every check is hit, and many messages pass them all.
    fn pb_message() -> impl Strategy<Value = pb::RaftMessage> {
        let id = || prop_oneof![8 => 1..=3u64, 1 => Just(0u64)];
        let n = || 0..=4u64;
        (id(), id(), proptest::option::weighted(0.95, 0..9u8)).prop_flat_map(
            move |(from, to, variant)| {
                // The sender a request names: usually `from`, sometimes anyone (or 0).
                let named = move || prop_oneof![4 => Just(from), 1 => id()];
                let rpc: BoxedStrategy<Option<P>> = match variant {
                    None => Just(None).boxed(),
                    Some(v @ (0 | 7)) => (n(), named(), n(), n(), any::<bool>())
                        .prop_map(
                            move |(
                                term,
                                candidate_id,
                                last_log_index,
                                last_log_term,
                                leadership_transfer,
                            )| {
                                let args = pb::RequestVoteArgs {
                                    term,
                                    candidate_id,
                                    last_log_index,
                                    last_log_term,
                                    leadership_transfer,
                                };
                                if v == 0 {
                                    P::RequestVote(args)
                                } else {
                                    P::PreVote(args)
                                }
                            },
                        )
                        .prop_map(Some)
                        .boxed(),
                    Some(8) => (n(), any::<bool>())
                        .prop_map(|(term, vote_granted)| {
                            Some(P::PreVoteReply(pb::RequestVoteReply { term, vote_granted }))
                        })
                        .boxed(),
                    Some(1) => (n(), any::<bool>())
                        .prop_map(|(term, vote_granted)| {
                            Some(P::RequestVoteReply(pb::RequestVoteReply {
                                term,
                                vote_granted,
                            }))
                        })
                        .boxed(),
                    Some(2) => (n(), named(), n(), n(), n(), n())
                        .prop_flat_map(
                            |(
                                term,
                                leader_id,
                                prev_log_index,
                                prev_log_term,
                                leader_commit,
                                read_round,
                            )| {
                                // (index offset from the expected one, term, kind)
                                let entry = (
                                    prop_oneof![8 => Just(0i8), 1 => -1..=1i8],
                                    prop_oneof![8 => 0..=term, 1 => 0..=term + 1],
                                    prop_oneof![8 => 1..=2i32, 1 => -1..=3i32],
                                );
                                proptest::collection::vec(entry, 0..5).prop_map(move |raw| {
                                    let entries = (prev_log_index + 1..)
                                        .zip(raw)
                                        .map(|(index, (offset, term, kind))| pb::Entry {
                                            index: index.saturating_add_signed(offset.into()),
                                            term,
                                            kind,
                                            data: Bytes::from_static(b"d"),
                                        })
                                        .collect();
                                    Some(P::AppendEntries(pb::AppendEntriesArgs {
                                        term,
                                        leader_id,
                                        prev_log_index,
                                        prev_log_term,
                                        entries,
                                        leader_commit,
                                        read_round,
                                    }))
                                })
                            },
                        )
                        .boxed(),
                    Some(3) => (n(), any::<bool>(), n(), n(), n(), n(), n())
                        .prop_map(
                            |(
                                term,
                                success,
                                prev_log_index,
                                match_index,
                                conflict_term,
                                conflict_index,
                                read_round,
                            )| {
                                Some(P::AppendEntriesReply(pb::AppendEntriesReply {
                                    term,
                                    success,
                                    prev_log_index,
                                    match_index,
                                    conflict_term,
                                    conflict_index,
                                    read_round,
                                }))
                            },
                        )
                        .boxed(),
                    Some(4) => (n(), named())
                        .prop_map(|(term, leader_id)| {
                            Some(P::InstallSnapshot(pb::InstallSnapshotArgs {
                                term,
                                leader_id,
                                ..Default::default()
                            }))
                        })
                        .boxed(),
                    Some(5) => n()
                        .prop_map(|term| {
                            Some(P::InstallSnapshotReply(pb::InstallSnapshotReply {
                                term,
                                ..Default::default()
                            }))
                        })
                        .boxed(),
                    Some(_) => (n(), named())
                        .prop_map(|(term, leader_id)| {
                            Some(P::TimeoutNow(pb::TimeoutNowArgs { term, leader_id }))
                        })
                        .boxed(),
                };
                rpc.prop_map(move |rpc| pb::RaftMessage { from, to, rpc })
            },
        )
    }

    proptest! {
        // Each case is microseconds: afford more than the default 256.
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(m) = <pb::RaftMessage as prost::Message>::decode(bytes.as_slice()) {
                let _ = to_core(m);
            }
        }

        #[test]
        fn mangled_encodings_never_panic(
            m in message(),
            cut in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4),
        ) {
            let mut wire = prost::Message::encode_to_vec(&pb::RaftMessage::from(m));
            for (at, x) in flips {
                let i = at.index(wire.len());
                wire[i] ^= x;
            }
            wire.truncate(cut.index(wire.len() + 1));
            if let Ok(m) = <pb::RaftMessage as prost::Message>::decode(wire.as_slice()) {
                let _ = to_core(m);
            }
        }

        #[test]
        fn core_messages_round_trip(m in message()) {
            assert_round_trip(m);
        }

        #[test]
        fn accepted_messages_convert_back_unchanged(p in pb_message()) {
            // Whatever passes the checks loses nothing on the way in.
            if let Ok(m) = to_core(p.clone()) {
                prop_assert_eq!(pb::RaftMessage::from(m), p);
            }
        }

        #[test]
        fn hard_states_round_trip(
            term in any::<u64>(),
            voted_for in proptest::option::of(1..=u64::MAX),
            commit in any::<u64>(),
        ) {
            let hs = HardState { term, voted_for, commit };
            prop_assert_eq!(HardState::from(pb::HardState::from(hs)), hs);
        }
    }
}
