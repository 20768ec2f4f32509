//! The event feed's types: what the dashboard's feed, a recording and a replay say happened,
//! one line per event, each with a category for filtering and colour.
//!
//! ```text
//!   node::Event ─► category() ─► FeedLine { at, node, category, text } ─► feed (≤ FEED_CAPACITY)
//!                └─ MessageDropped ─► DropMark { at, from, to } ─► the ring's drop marks
//! ```

use std::time::Duration;

use crate::node::EventKind;
use crate::raft::{NodeId, TraceEvent};

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
