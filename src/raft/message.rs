//! The messages servers exchange: the RPCs of Figure 2 and their replies, plus the thesis's
//! PreVote (§9.6) and TimeoutNow (§3.10).
//!
//! As in etcd-io/raft, a reply is a message of its own rather than the return value of a call:
//! the core never waits, and the network between cores may delay, drop, duplicate or reorder
//! every message independently. Field names are the paper's.

use bytes::Bytes;

use super::types::{Entry, Index, NodeId, Term};

/// One message from one server to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    /// The sending server.
    pub from: NodeId,
    /// The receiving server.
    pub to: NodeId,
    /// What is said.
    pub rpc: Rpc,
}

/// The payload of a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rpc {
    /// RequestVote arguments (§5.2, §5.4).
    RequestVote(RequestVoteArgs),
    /// RequestVote results.
    RequestVoteReply(RequestVoteReply),
    /// PreVote (thesis §9.6): "would you vote for me if I started an election in `term`?" The
    /// same fields as RequestVote, with `term` the term the asker *would* campaign in (its own
    /// plus one). Nobody changes term or vote on account of it.
    PreVote(RequestVoteArgs),
    /// PreVote results: granted replies carry the term asked about, refusals the voter's term.
    PreVoteReply(RequestVoteReply),
    /// AppendEntries arguments (§5.3); with no entries it is a heartbeat (§5.2).
    AppendEntries(AppendEntriesArgs),
    /// AppendEntries results, with the fast back-off hint of §5.3.
    AppendEntriesReply(AppendEntriesReply),
    /// InstallSnapshot arguments (§7, Figure 13): one chunk of the leader's snapshot.
    InstallSnapshot(InstallSnapshotArgs),
    /// InstallSnapshot results, saying how much of the snapshot the follower holds.
    InstallSnapshotReply(InstallSnapshotReply),
    /// Leadership transfer (thesis §3.10): the receiver starts an election at once.
    TimeoutNow(TimeoutNowArgs),
}

/// RequestVote RPC arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestVoteArgs {
    /// Candidate's term.
    pub term: Term,
    /// Candidate requesting the vote.
    pub candidate_id: NodeId,
    /// Index of candidate's last log entry (§5.4).
    pub last_log_index: Index,
    /// Term of candidate's last log entry (§5.4).
    pub last_log_term: Term,
    /// The candidate campaigns because its leader sent it TimeoutNow (leadership transfer,
    /// thesis §3.10): voters grant even if they heard from that leader a moment ago (the
    /// CheckQuorum lease does not apply). Always false in a PreVote.
    pub leadership_transfer: bool,
}

/// RequestVote RPC results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestVoteReply {
    /// currentTerm, for the candidate to update itself.
    pub term: Term,
    /// True means the candidate received the vote.
    pub vote_granted: bool,
}

/// AppendEntries RPC arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendEntriesArgs {
    /// Leader's term.
    pub term: Term,
    /// So the follower can redirect clients.
    pub leader_id: NodeId,
    /// Index of the log entry immediately preceding the new ones.
    pub prev_log_index: Index,
    /// Term of the prev_log_index entry.
    pub prev_log_term: Term,
    /// Log entries to store (empty for a heartbeat).
    pub entries: Vec<Entry>,
    /// Leader's commitIndex.
    pub leader_commit: Index,
    /// The leader's latest confirmation round in its term (ReadIndex, thesis §6.4; 0: none yet).
    /// The follower echoes it, so that the leader knows the follower still accepted it as leader
    /// after the round began.
    pub read_round: u64,
}

/// AppendEntries RPC results.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppendEntriesReply {
    /// currentTerm, for the leader to update itself.
    pub term: Term,
    /// True if the follower contained an entry matching prev_log_index and prev_log_term.
    pub success: bool,
    /// The request's prev_log_index, echoed so the leader can tell stale replies from fresh ones.
    pub prev_log_index: Index,
    /// On success, the highest index known to match the leader: prev_log_index + entries.len().
    pub match_index: Index,
    /// On failure, the term of the follower's conflicting entry; 0 when its log is too short.
    pub conflict_term: Term,
    /// On failure, the first index the follower stores for conflict_term, or its last index + 1
    /// when its log is too short: the leader can skip a whole term per round trip (§5.3).
    pub conflict_index: Index,
    /// The request's read_round, echoed (ReadIndex, thesis §6.4).
    pub read_round: u64,
}

/// InstallSnapshot RPC arguments: "invoked by leader to send chunks of a snapshot to a follower.
/// Leaders always send chunks in order."
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSnapshotArgs {
    /// Leader's term.
    pub term: Term,
    /// So the follower can redirect clients.
    pub leader_id: NodeId,
    /// The snapshot replaces all entries up through and including this index.
    pub last_included_index: Index,
    /// Term of last_included_index.
    pub last_included_term: Term,
    /// Byte offset where the chunk is positioned in the snapshot.
    pub offset: u64,
    /// Raw bytes of the snapshot chunk, starting at offset.
    pub data: Bytes,
    /// True if this is the last chunk.
    pub done: bool,
    /// The configuration in force at `last_included_index` (`None`: the initial one).
    pub conf: Option<super::membership::Configuration>,
}

/// InstallSnapshot RPC results. Figure 13 has only `term`; the other fields let the leader go on
/// from where the follower is (a dropped or duplicated chunk costs one chunk, not a restart).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallSnapshotReply {
    /// currentTerm, for the leader to update itself.
    pub term: Term,
    /// The request's last_included_index, echoed.
    pub last_included_index: Index,
    /// Bytes of that snapshot the follower holds in order: the offset of the chunk it wants next.
    pub next_offset: u64,
    /// True once the follower has the whole snapshot installed (or already had its entries).
    pub done: bool,
}

/// TimeoutNow arguments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutNowArgs {
    /// Leader's term.
    pub term: Term,
    /// The leader handing over.
    pub leader_id: NodeId,
}

/// The kind of a message, for counting and display.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum MessageKind {
    /// [`Rpc::RequestVote`]
    RequestVote,
    /// [`Rpc::RequestVoteReply`]
    RequestVoteReply,
    /// [`Rpc::PreVote`]
    PreVote,
    /// [`Rpc::PreVoteReply`]
    PreVoteReply,
    /// [`Rpc::AppendEntries`] with at least one entry.
    AppendEntries,
    /// [`Rpc::AppendEntries`] with no entries.
    Heartbeat,
    /// [`Rpc::AppendEntriesReply`]
    AppendEntriesReply,
    /// [`Rpc::InstallSnapshot`]
    InstallSnapshot,
    /// [`Rpc::InstallSnapshotReply`]
    InstallSnapshotReply,
    /// [`Rpc::TimeoutNow`]
    TimeoutNow,
}

impl MessageKind {
    /// Every kind, requests before their replies (the order of a legend).
    pub const ALL: [MessageKind; 10] = [
        MessageKind::RequestVote,
        MessageKind::RequestVoteReply,
        MessageKind::PreVote,
        MessageKind::PreVoteReply,
        MessageKind::AppendEntries,
        MessageKind::Heartbeat,
        MessageKind::AppendEntriesReply,
        MessageKind::InstallSnapshot,
        MessageKind::InstallSnapshotReply,
        MessageKind::TimeoutNow,
    ];

    /// Short name, for display.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::RequestVote => "RequestVote",
            MessageKind::RequestVoteReply => "RequestVoteReply",
            MessageKind::PreVote => "PreVote",
            MessageKind::PreVoteReply => "PreVoteReply",
            MessageKind::AppendEntries => "AppendEntries",
            MessageKind::Heartbeat => "Heartbeat",
            MessageKind::AppendEntriesReply => "AppendEntriesReply",
            MessageKind::InstallSnapshot => "InstallSnapshot",
            MessageKind::InstallSnapshotReply => "InstallSnapshotReply",
            MessageKind::TimeoutNow => "TimeoutNow",
        }
    }
}

impl Rpc {
    /// The term the sender was in when it sent this.
    pub fn term(&self) -> Term {
        match self {
            Rpc::RequestVote(a) => a.term,
            Rpc::RequestVoteReply(r) => r.term,
            Rpc::PreVote(a) => a.term,
            Rpc::PreVoteReply(r) => r.term,
            Rpc::AppendEntries(a) => a.term,
            Rpc::AppendEntriesReply(r) => r.term,
            Rpc::InstallSnapshot(a) => a.term,
            Rpc::InstallSnapshotReply(r) => r.term,
            Rpc::TimeoutNow(a) => a.term,
        }
    }

    /// The kind, telling heartbeats from appends that carry entries.
    pub fn kind(&self) -> MessageKind {
        match self {
            Rpc::RequestVote(_) => MessageKind::RequestVote,
            Rpc::RequestVoteReply(_) => MessageKind::RequestVoteReply,
            Rpc::PreVote(_) => MessageKind::PreVote,
            Rpc::PreVoteReply(_) => MessageKind::PreVoteReply,
            Rpc::AppendEntries(a) if a.entries.is_empty() => MessageKind::Heartbeat,
            Rpc::AppendEntries(_) => MessageKind::AppendEntries,
            Rpc::AppendEntriesReply(_) => MessageKind::AppendEntriesReply,
            Rpc::InstallSnapshot(_) => MessageKind::InstallSnapshot,
            Rpc::InstallSnapshotReply(_) => MessageKind::InstallSnapshotReply,
            Rpc::TimeoutNow(_) => MessageKind::TimeoutNow,
        }
    }
}

impl Message {
    /// The term the sender was in when it sent this.
    pub fn term(&self) -> Term {
        self.rpc.term()
    }

    /// The message's kind.
    pub fn kind(&self) -> MessageKind {
        self.rpc.kind()
    }
}

impl std::fmt::Display for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}->{} ", self.from, self.to)?;
        match &self.rpc {
            Rpc::RequestVote(a) => write!(
                f,
                "RequestVote{{term:{} last_log:{}/{}{}}}",
                a.term,
                a.last_log_index,
                a.last_log_term,
                if a.leadership_transfer {
                    " transfer"
                } else {
                    ""
                }
            ),
            Rpc::RequestVoteReply(r) => write!(
                f,
                "RequestVoteReply{{term:{} granted:{}}}",
                r.term, r.vote_granted
            ),
            Rpc::PreVote(a) => write!(
                f,
                "PreVote{{term:{} last_log:{}/{}}}",
                a.term, a.last_log_index, a.last_log_term
            ),
            Rpc::PreVoteReply(r) => write!(
                f,
                "PreVoteReply{{term:{} granted:{}}}",
                r.term, r.vote_granted
            ),
            Rpc::AppendEntries(a) => {
                write!(
                    f,
                    "AppendEntries{{term:{} prev:{}/{} commit:{}",
                    a.term, a.prev_log_index, a.prev_log_term, a.leader_commit
                )?;
                if a.read_round > 0 {
                    write!(f, " round:{}", a.read_round)?;
                }
                match (a.entries.first(), a.entries.last()) {
                    (Some(first), Some(last)) => write!(
                        f,
                        " entries:{}..={} ({})}}",
                        first.index,
                        last.index,
                        a.entries.len()
                    ),
                    _ => write!(f, " heartbeat}}"),
                }
            }
            Rpc::AppendEntriesReply(r) => {
                if r.success {
                    write!(
                        f,
                        "AppendEntriesReply{{term:{} ok match:{}",
                        r.term, r.match_index
                    )?;
                } else {
                    write!(
                        f,
                        "AppendEntriesReply{{term:{} reject prev:{} conflict:{}/{}",
                        r.term, r.prev_log_index, r.conflict_index, r.conflict_term
                    )?;
                }
                if r.read_round > 0 {
                    write!(f, " round:{}", r.read_round)?;
                }
                write!(f, "}}")
            }
            Rpc::InstallSnapshot(a) => write!(
                f,
                "InstallSnapshot{{term:{} last:{}/{} bytes:{}..{}{}}}",
                a.term,
                a.last_included_index,
                a.last_included_term,
                a.offset,
                a.offset + a.data.len() as u64,
                if a.done { " done" } else { "" }
            ),
            Rpc::InstallSnapshotReply(r) => write!(
                f,
                "InstallSnapshotReply{{term:{} last:{} {}}}",
                r.term,
                r.last_included_index,
                if r.done {
                    "installed".to_string()
                } else {
                    format!("next:{}", r.next_offset)
                }
            ),
            Rpc::TimeoutNow(a) => write!(f, "TimeoutNow{{term:{}}}", a.term),
        }
    }
}
