//! Events of a running cluster: what a node's core explained, what crossed the network, what a
//! client got, what a fault did. One type for every producer, so that the dashboard, the trace
//! file and `Control.Watch` all read the same bus.

use std::time::Duration;

use crate::raft::{MessageKind, NodeId, Term, TraceEvent};

/// One event, stamped with the time since the cluster started.
#[derive(Clone, Debug)]
pub struct Event {
    /// Time since the cluster started.
    pub at: Duration,
    /// The node concerned (0: the cluster as a whole).
    pub node: NodeId,
    /// What happened.
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug)]
pub enum EventKind {
    /// The node's core explained a step (elections, votes, commits...).
    Trace(TraceEvent),
    /// A message entered the network.
    MessageSent {
        /// Id of the message in flight (0 when delivered at once).
        id: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Kind.
        kind: MessageKind,
        /// Sender's term.
        term: Term,
        /// Delay before delivery.
        delay: Duration,
    },
    /// A message reached its receiver's process.
    MessageDelivered {
        /// Id of the message.
        id: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Kind.
        kind: MessageKind,
    },
    /// A message was lost.
    MessageDropped {
        /// Id of the message (0 if it never entered the network).
        id: u64,
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Kind.
        kind: MessageKind,
        /// Why: "link cut", "random drop", "receiver down", "dropped by hand"...
        why: String,
    },
    /// A fault applied or repaired (kill, restart, partition, heal, slow, clock...).
    Fault(String),
    /// A node's process started.
    NodeUp,
    /// A node's process stopped (killed, or failed with the given reason).
    NodeDown(String),
    /// A client operation finished at this node.
    Client {
        /// The operation, e.g. `put x 1`.
        op: String,
        /// The result or the error.
        outcome: String,
        /// How long it took.
        latency: Duration,
    },
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventKind::Trace(t) => write!(f, "{t}"),
            EventKind::MessageSent {
                id,
                from,
                to,
                kind,
                term,
                delay,
            } => write!(
                f,
                "sent #{id} {from}->{to} {} (term {term}), due in {} ms",
                kind.as_str(),
                delay.as_millis()
            ),
            EventKind::MessageDelivered { id, from, to, kind } => {
                write!(f, "delivered #{id} {from}->{to} {}", kind.as_str())
            }
            EventKind::MessageDropped {
                id,
                from,
                to,
                kind,
                why,
            } => write!(f, "dropped #{id} {from}->{to} {} ({why})", kind.as_str()),
            EventKind::Fault(what) => write!(f, "{what}"),
            EventKind::NodeUp => write!(f, "node up"),
            EventKind::NodeDown(why) => write!(f, "node down ({why})"),
            EventKind::Client {
                op,
                outcome,
                latency,
            } => write!(
                f,
                "client {op} -> {outcome} in {:.1} ms",
                latency.as_secs_f64() * 1e3
            ),
        }
    }
}

impl EventKind {
    /// A short name of the kind, for filters and the Watch stream.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Trace(_) => "trace",
            EventKind::MessageSent { .. } => "message_sent",
            EventKind::MessageDelivered { .. } => "message_delivered",
            EventKind::MessageDropped { .. } => "message_dropped",
            EventKind::Fault(_) => "fault",
            EventKind::NodeUp => "node_up",
            EventKind::NodeDown(_) => "node_down",
            EventKind::Client { .. } => "client",
        }
    }
}

/// The sending side of the event bus: a bounded broadcast (a slow reader skips events, it never
/// slows the cluster) and the cluster's start time for stamps.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: tokio::sync::broadcast::Sender<Event>,
    start: std::time::Instant,
}

impl EventBus {
    /// A bus keeping up to `capacity` events for slow readers.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = tokio::sync::broadcast::channel(capacity.max(16));
        EventBus {
            tx,
            start: std::time::Instant::now(),
        }
    }

    /// Publishes an event about `node` (0: the cluster). Never blocks; nobody listening is fine.
    pub fn emit(&self, node: NodeId, kind: EventKind) {
        let _ = self.tx.send(Event {
            at: self.start.elapsed(),
            node,
            kind,
        });
    }

    /// A new reader, seeing events from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Time since the bus (the cluster) started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }
}
