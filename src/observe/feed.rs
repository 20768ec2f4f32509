//! The event feed's types: what the dashboard's feed, a recording and a replay say happened,
//! one line per event, each with a category for filtering and colour.
//!
//! ```text
//!   node::Event ─► category() ─► FeedLine { at, node, category, text, subject } ─► feed
//!                ├─ subject() ─► Subject { message, from, to, term, indexes }    (≤ FEED_CAPACITY)
//!                └─ MessageDropped ─► DropMark { at, from, to } ─► the ring's drop marks
//! ```

use std::time::Duration;

use crate::node::EventKind;
use crate::raft::{AppendRejectReason, Index, MessageKind, NodeId, Term, TraceEvent};

/// Most lines the event feed keeps.
pub const FEED_CAPACITY: usize = 5_000;

/// What the event feed shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedKind {
    /// Everything but individual messages (the default: messages are many).
    Protocol,
    /// Elections, votes, terms, leaders.
    Elections,
    /// Appends rejected, logs truncated, commits, snapshots taken, sent and installed.
    Replication,
    /// Every message sent, delivered or dropped.
    Messages,
    /// Client operations and their results.
    Clients,
    /// Faults applied and repaired, nodes up and down.
    Faults,
    /// Everything, messages included.
    All,
}

impl FeedKind {
    const CYCLE: [FeedKind; 7] = [
        FeedKind::Protocol,
        FeedKind::Elections,
        FeedKind::Replication,
        FeedKind::Messages,
        FeedKind::Clients,
        FeedKind::Faults,
        FeedKind::All,
    ];

    /// Name shown in the feed's title.
    pub fn name(self) -> &'static str {
        match self {
            FeedKind::Protocol => "protocol",
            FeedKind::Elections => "elections",
            FeedKind::Replication => "replication",
            FeedKind::Messages => "messages",
            FeedKind::Clients => "clients",
            FeedKind::Faults => "faults",
            FeedKind::All => "everything",
        }
    }

    /// The filter after this one (the `f` key cycles through them).
    pub fn next(self) -> FeedKind {
        let i = Self::CYCLE.iter().position(|k| *k == self).unwrap_or(0);
        Self::CYCLE[(i + 1) % Self::CYCLE.len()]
    }
}

/// The category of one event, for filtering and colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Elections, votes, terms, leaders.
    Election,
    /// Replication, commitment and log compaction (snapshots).
    Replication,
    /// One message.
    Message,
    /// A client operation.
    Client,
    /// A fault, a node going up or down, a protocol violation.
    Fault,
}

/// Which category an event belongs to.
pub fn category(kind: &EventKind) -> Category {
    match kind {
        EventKind::Trace(t) => match t {
            TraceEvent::AppendRejected { .. }
            | TraceEvent::LogTruncated { .. }
            | TraceEvent::CommitAdvanced { .. }
            | TraceEvent::SnapshotTaken { .. }
            | TraceEvent::SnapshotSending { .. }
            | TraceEvent::SnapshotInstalled { .. }
            | TraceEvent::SnapshotDelivered { .. } => Category::Replication,
            TraceEvent::ProtocolViolation { .. } => Category::Fault,
            _ => Category::Election,
        },
        EventKind::MessageSent { .. }
        | EventKind::MessageDelivered { .. }
        | EventKind::MessageDropped { .. } => Category::Message,
        EventKind::Client { .. } => Category::Client,
        EventKind::Fault(_) | EventKind::NodeUp | EventKind::NodeDown(_) => Category::Fault,
    }
}

impl FeedKind {
    /// Whether this filter shows events of `c`.
    pub fn shows(self, c: Category) -> bool {
        match self {
            FeedKind::Protocol => c != Category::Message,
            FeedKind::Elections => c == Category::Election,
            FeedKind::Replication => c == Category::Replication,
            FeedKind::Messages => c == Category::Message,
            FeedKind::Clients => c == Category::Client,
            FeedKind::Faults => c == Category::Fault,
            FeedKind::All => true,
        }
    }
}

/// One line of the event feed.
#[derive(Clone, Debug, PartialEq)]
pub struct FeedLine {
    /// Cluster time.
    pub at: Duration,
    /// Node concerned (0: cluster).
    pub node: NodeId,
    /// Category.
    pub category: Category,
    /// The text.
    pub text: String,
    /// The message (or step) it concerns, when it came from the bus with one (a recording keeps
    /// only the text).
    pub subject: Option<Subject>,
}

impl FeedLine {
    /// A line with only its text (a job's notice, a recorded line).
    pub fn text(at: Duration, node: NodeId, category: Category, text: String) -> FeedLine {
        FeedLine {
            at,
            node,
            category,
            text,
            subject: None,
        }
    }

    /// The line for a bus event of `node`.
    pub fn of(at: Duration, node: NodeId, kind: &EventKind) -> FeedLine {
        FeedLine {
            at,
            node,
            category: category(kind),
            text: kind.to_string(),
            subject: subject(node, kind),
        }
    }
}

/// What an event concerns, for the feed's detail (Enter on an event): the message in the
/// paper's words, who sent it to whom, its term, and the log indexes the event names (the logs
/// panel jumps to the first).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Subject {
    /// The message, when the event is about one (a vote answers a RequestVote, a rejection an
    /// AppendEntries).
    pub message: Option<MessageKind>,
    /// Its sender.
    pub from: Option<NodeId>,
    /// Its receiver.
    pub to: Option<NodeId>,
    /// The term the event names.
    pub term: Option<Term>,
    /// The log indexes the event names, each with what it is (`prev_log_index`, `commit`).
    pub indexes: Vec<(&'static str, Index)>,
}

impl Subject {
    /// The index the logs panel should show: the first the event names.
    pub fn index(&self) -> Option<Index> {
        self.indexes.first().map(|(_, i)| *i)
    }
}

/// What the event of `node` concerns; `None` when it names no message, term or index (a fault,
/// a client's operation, a node going up or down).
pub fn subject(node: NodeId, kind: &EventKind) -> Option<Subject> {
    use MessageKind as M;
    let msg = |m: MessageKind, from: NodeId, to: NodeId, term: Option<Term>| Subject {
        message: Some(m),
        from: Some(from),
        to: Some(to),
        term,
        indexes: Vec::new(),
    };
    let term = |t: Term| Subject {
        term: Some(t),
        ..Subject::default()
    };
    let at = |indexes: Vec<(&'static str, Index)>| Subject {
        indexes,
        ..Subject::default()
    };
    let t = match kind {
        EventKind::MessageSent {
            from,
            to,
            kind,
            term,
            ..
        } => return Some(msg(*kind, *from, *to, Some(*term))),
        EventKind::MessageDelivered { from, to, kind, .. }
        | EventKind::MessageDropped { from, to, kind, .. } => {
            return Some(msg(*kind, *from, *to, None))
        }
        EventKind::Trace(t) => t,
        EventKind::Fault(_) | EventKind::NodeUp | EventKind::NodeDown(_) => return None,
        EventKind::Client { .. } => return None,
    };
    Some(match t {
        TraceEvent::ElectionTimeout { term: t, .. }
        | TraceEvent::PreVoteLost { term: t }
        | TraceEvent::BecameLeader { term: t }
        | TraceEvent::SteppedDown { term: t, .. } => term(*t),
        TraceEvent::BecameCandidate { term } => Subject {
            message: Some(M::RequestVote),
            from: Some(node),
            term: Some(*term),
            ..Subject::default()
        },
        TraceEvent::BecamePreCandidate { term } => Subject {
            message: Some(M::PreVote),
            from: Some(node),
            term: Some(*term),
            ..Subject::default()
        },
        TraceEvent::PreVoteGranted { to, term } | TraceEvent::PreVoteRejected { to, term, .. } => {
            msg(M::PreVote, *to, node, Some(*term))
        }
        TraceEvent::PreVoteReceived { from, term, .. } => {
            msg(M::PreVoteReply, *from, node, Some(*term))
        }
        TraceEvent::VoteIgnored {
            from,
            candidate_term,
            ..
        } => msg(M::RequestVote, *from, node, Some(*candidate_term)),
        TraceEvent::VoteGranted { to, term } | TraceEvent::VoteRejected { to, term, .. } => {
            msg(M::RequestVote, *to, node, Some(*term))
        }
        TraceEvent::VoteReceived { from, term, .. } => {
            msg(M::RequestVoteReply, *from, node, Some(*term))
        }
        TraceEvent::TermAdvanced { to_term, by, .. } => Subject {
            from: Some(*by),
            to: Some(node),
            term: Some(*to_term),
            ..Subject::default()
        },
        TraceEvent::LeaderChanged { leader, term } => Subject {
            from: *leader,
            term: Some(*term),
            ..Subject::default()
        },
        TraceEvent::AppendRejected {
            to,
            term,
            reason,
            conflict_index,
            ..
        } => {
            let mut s = msg(M::AppendEntries, *to, node, Some(*term));
            match reason {
                AppendRejectReason::TermMismatch { index, .. } => {
                    s.indexes.push(("prev_log_index", *index));
                }
                AppendRejectReason::LogTooShort { last_index } => {
                    s.indexes.push(("its last index", *last_index));
                }
                AppendRejectReason::WouldTruncateCommitted { index, committed } => {
                    s.indexes.push(("conflict", *index));
                    s.indexes.push(("commit", *committed));
                }
                AppendRejectReason::StaleTerm { .. } => {}
            }
            s.indexes.push(("retry from (hint)", *conflict_index));
            s
        }
        TraceEvent::LogTruncated { from_index, leader } => {
            let mut s = msg(M::AppendEntries, *leader, node, None);
            s.indexes.push(("truncated from", *from_index));
            s
        }
        TraceEvent::NoopAppended { index, term: t } => Subject {
            term: Some(*t),
            indexes: vec![("no-op entry", *index)],
            ..Subject::default()
        },
        TraceEvent::SnapshotTaken { index, term: t, .. } => Subject {
            term: Some(*t),
            indexes: vec![("last included index", *index)],
            ..Subject::default()
        },
        TraceEvent::SnapshotSending {
            to,
            index,
            next_index,
            ..
        } => {
            let mut s = msg(M::InstallSnapshot, node, *to, None);
            s.indexes = vec![("last included index", *index), ("next_index", *next_index)];
            s
        }
        TraceEvent::SnapshotInstalled {
            index,
            term: t,
            leader,
            ..
        } => {
            let mut s = msg(M::InstallSnapshot, *leader, node, Some(*t));
            s.indexes.push(("last included index", *index));
            s
        }
        TraceEvent::SnapshotDelivered { to, index } => {
            let mut s = msg(M::InstallSnapshotReply, *to, node, None);
            s.indexes.push(("last included index", *index));
            s
        }
        TraceEvent::TransferStarted {
            to,
            match_index,
            last_index,
        } => Subject {
            to: Some(*to),
            indexes: vec![("its match", *match_index), ("leader's last", *last_index)],
            ..Subject::default()
        },
        TraceEvent::TimeoutNowSent { to } => msg(M::TimeoutNow, node, *to, None),
        TraceEvent::TimeoutNowReceived { from } => msg(M::TimeoutNow, *from, node, None),
        TraceEvent::TransferCompleted { to, term: t } => Subject {
            to: Some(*to),
            term: Some(*t),
            ..Subject::default()
        },
        TraceEvent::TransferAborted { to, .. } => Subject {
            to: Some(*to),
            ..Subject::default()
        },
        TraceEvent::ReadIndexStarted { index, .. }
        | TraceEvent::ReadIndexConfirmed { index, .. } => at(vec![("read index", *index)]),
        TraceEvent::CommitAdvanced { from, to } => at(vec![("commit", *to), ("was", *from)]),
        TraceEvent::ProtocolViolation { from, .. } => Subject {
            from: Some(*from),
            to: Some(node),
            ..Subject::default()
        },
        TraceEvent::ConfChangeProposed { index, .. } => at(vec![("configuration entry", *index)]),
        TraceEvent::ConfigurationChanged { index, .. } if *index > 0 => {
            at(vec![("configuration entry", *index)])
        }
        TraceEvent::ConfigurationChanged { .. } | TraceEvent::ReadsDropped { .. } => return None,
    })
}

/// A message drop to mark on the ring for a moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DropMark {
    /// When.
    pub at: Duration,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
}
