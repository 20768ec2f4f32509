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
/// slows the cluster) and the cluster's clock for stamps.
///
/// The clock is cluster time: time since the cluster started, minus the time it spent paused.
/// While the cluster is paused ([`EventBus::pause`]) it stands still, so every time shown from it
/// — an event's stamp, a message's send and due times, the age of a pending operation — stops
/// too; after [`EventBus::resume`] it runs on from where it stopped.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: tokio::sync::broadcast::Sender<Event>,
    clock: std::sync::Arc<std::sync::Mutex<Stopwatch>>,
}

/// Wall time since the start, less the pauses.
#[derive(Debug)]
struct Stopwatch {
    start: std::time::Instant,
    /// Wall time (since `start`) when the running pause began.
    paused_at: Option<Duration>,
    /// Every finished pause: wall time (since `start`) it began and ended, in order.
    pauses: Vec<(Duration, Duration)>,
}

impl Stopwatch {
    fn now(&self) -> Duration {
        self.at(self.start.elapsed())
    }

    /// Cluster time at wall time `wall`: `wall` less every pause (or part of one) before it.
    fn at(&self, wall: Duration) -> Duration {
        let running = self.paused_at.map(|p| (p, Duration::MAX));
        let paused: Duration = self
            .pauses
            .iter()
            .copied()
            .chain(running)
            .map(|(from, to)| wall.min(to).saturating_sub(from))
            .sum();
        wall.saturating_sub(paused)
    }
}

impl EventBus {
    /// A bus keeping up to `capacity` events for slow readers.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = tokio::sync::broadcast::channel(capacity.max(16));
        EventBus {
            tx,
            clock: std::sync::Arc::new(std::sync::Mutex::new(Stopwatch {
                start: std::time::Instant::now(),
                paused_at: None,
                pauses: Vec::new(),
            })),
        }
    }

    fn stopwatch(&self) -> std::sync::MutexGuard<'_, Stopwatch> {
        self.clock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Publishes an event about `node` (0: the cluster). Never blocks; nobody listening is fine.
    pub fn emit(&self, node: NodeId, kind: EventKind) {
        let _ = self.tx.send(Event {
            at: self.elapsed(),
            node,
            kind,
        });
    }

    /// A new reader, seeing events from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<Event> {
        self.tx.subscribe()
    }

    /// Cluster time: since the bus (the cluster) started, less the time spent paused.
    pub fn elapsed(&self) -> Duration {
        self.stopwatch().now()
    }

    /// Wall time since the bus started, pauses included (to line up other clocks with it).
    pub fn wall_elapsed(&self) -> Duration {
        self.stopwatch().start.elapsed()
    }

    /// The cluster time at wall time `wall` (since the bus started, as [`EventBus::wall_elapsed`]
    /// gave it): `wall` less the pauses before it.
    pub fn cluster_time_at(&self, wall: Duration) -> Duration {
        self.stopwatch().at(wall)
    }

    /// Stops the clock (the cluster is paused). Idempotent.
    pub fn pause(&self) {
        let mut s = self.stopwatch();
        if s.paused_at.is_none() {
            s.paused_at = Some(s.start.elapsed());
        }
    }

    /// Runs the clock again from where it stopped. Idempotent.
    pub fn resume(&self) {
        let mut s = self.stopwatch();
        if let Some(p) = s.paused_at.take() {
            let now = s.start.elapsed();
            s.pauses.push((p, now));
        }
    }

    /// Whether the clock stands still.
    pub fn is_paused(&self) -> bool {
        self.stopwatch().paused_at.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_time_stands_still_while_paused_and_runs_on_from_there() {
        let bus = EventBus::new(16);
        std::thread::sleep(Duration::from_millis(20));
        bus.pause();
        let stopped = bus.elapsed();
        assert!(stopped >= Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(bus.elapsed(), stopped, "paused: the clock stands still");
        let mut rx = bus.subscribe();
        bus.emit(1, EventKind::NodeUp);
        assert_eq!(
            rx.try_recv().unwrap().at,
            stopped,
            "events are stamped frozen"
        );
        bus.pause();
        bus.resume();
        let resumed = bus.elapsed();
        assert!(resumed >= stopped && resumed < stopped + Duration::from_millis(50));
        assert!(bus.wall_elapsed() >= resumed + Duration::from_millis(60));
        bus.resume();
        assert!(!bus.is_paused());
        // A moment before the pause keeps its time; one after it loses the pause.
        let wall = bus.wall_elapsed();
        assert_eq!(
            bus.cluster_time_at(Duration::from_millis(10)),
            Duration::from_millis(10)
        );
        let late = bus.cluster_time_at(wall);
        assert!(
            late + Duration::from_millis(60) <= wall,
            "{late:?} {wall:?}"
        );
    }
}
