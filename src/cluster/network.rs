//! The fault-injecting network: every message a node sends passes here before it reaches the
//! gRPC stream to its receiver.
//!
//! ```text
//!  node outbox ─► send: partition/cut? drop? ─► in flight (id, sent, due) ─► due & not paused
//!                    │ no delay, not paused         │  ▲ drop / duplicate /         │
//!                    └──────────────────────────────┼──┼── deliver by id ───────────┤
//!                                                   ▼  │                            ▼
//!                                              Control.InFlight     per-link task: Raft.Stream
//! ```
//!
//! Each directed link has a policy (cut, extra delay with jitter, drop probability); a partition
//! puts nodes in groups that cannot talk; a slow node adds delay to all its links. Messages held on
//! a link are *in flight* and visible with their send and due times. Pausing holds them all.
//! A message with no delay to wait for (and time running) goes straight to its link.
//!
//! The network decides each message's fate first; only then does the message reach the task of
//! its link, which keeps send order (like a TCP stream) and carries it on one long-lived
//! `Raft.Stream` per directed link (see [`transport`]): the messages queued on the link when
//! the stream has room leave together as one frame. What the events mean:
//!
//! - `MessageDelivered`: the receiver acknowledged the frame (acknowledgements are cumulative
//!   and come at most [`transport::ACK_DELAY`] late), and the message is in the receiver node's
//!   inbox (as it was with one `Raft.Deliver` call per message).
//! - `MessageDropped` "receiver's inbox full": the receiver's inbox refused it.
//! - `MessageDropped` "receiver down": the stream could not be opened, or broke before the frame
//!   was acknowledged. A message in such a frame may in fact have reached the receiver just
//!   before the break: the sender cannot tell, and Raft tolerates both outcomes.
//! - `MessageDropped` "refused: ...": the receiver ended the stream over a malformed frame.
//!
//! After a break the next message on the link opens a new stream (the channel reconnects by
//! itself once the receiver is back).

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{mpsc, Notify};

use crate::node::{transport, AddressBook, EventBus, EventKind, Outbox};
use crate::pb;
use crate::raft::{Message, MessageKind, NodeId, Rng, Term};

/// The policy of one directed link.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LinkPolicy {
    /// Messages on the link are lost.
    pub cut: bool,
    /// Extra one-way delay.
    pub delay: Duration,
    /// Up to this much more, drawn per message.
    pub jitter: Duration,
    /// Probability that a message is lost.
    pub drop_rate: f64,
}

/// A message on the wire, as the dashboard and `Control.InFlight` see it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InFlightInfo {
    /// Id, for drop / duplicate / deliver.
    pub id: u64,
    /// Sender.
    pub from: NodeId,
    /// Receiver.
    pub to: NodeId,
    /// Kind.
    pub kind: MessageKind,
    /// Sender's term.
    pub term: Term,
    /// Sent, since the cluster started.
    pub sent_at: Duration,
    /// Due, since the cluster started.
    pub due_at: Duration,
    /// One line with the message's fields.
    pub summary: String,
}

struct Held {
    msg: Message,
    sent_at: Duration,
    due_at: Duration,
}

struct State {
    base_delay: Duration,
    base_jitter: Duration,
    links: BTreeMap<(NodeId, NodeId), LinkPolicy>,
    slow: BTreeMap<NodeId, Duration>,
    /// Partition group of each node; all equal when healed.
    group: BTreeMap<NodeId, u64>,
    next_group: u64,
    paused: bool,
    next_id: u64,
    held: BTreeMap<u64, Held>,
    due: BTreeSet<(Duration, u64)>,
    rng: Rng,
}

impl State {
    fn connected(&self, from: NodeId, to: NodeId) -> bool {
        self.group.get(&from) == self.group.get(&to)
            && !self.links.get(&(from, to)).is_some_and(|l| l.cut)
    }

    fn delay(&mut self, from: NodeId, to: NodeId) -> Duration {
        let link = self.links.get(&(from, to)).copied().unwrap_or_default();
        let jitter = self.base_jitter + link.jitter;
        let extra = if jitter.is_zero() {
            Duration::ZERO
        } else {
            Duration::from_micros(self.rng.range(0, jitter.as_micros() as u64 + 1))
        };
        self.base_delay
            + link.delay
            + extra
            + self.slow.get(&from).copied().unwrap_or_default()
            + self.slow.get(&to).copied().unwrap_or_default()
    }

    fn hold(&mut self, msg: Message, now: Duration, delay: Duration) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        let due_at = now + delay;
        self.due.insert((due_at, id));
        self.held.insert(
            id,
            Held {
                msg,
                sent_at: now,
                due_at,
            },
        );
        id
    }

    fn take(&mut self, id: u64) -> Option<Held> {
        let held = self.held.remove(&id)?;
        self.due.remove(&(held.due_at, id));
        Some(held)
    }
}

/// The network between the nodes of one cluster.
pub struct Network {
    state: Mutex<State>,
    wake: Notify,
    events: EventBus,
    addresses: AddressBook,
    links: Mutex<HashMap<(NodeId, NodeId), LinkSender>>,
}

/// The queue of one directed link's delivery task: (message id, message).
type LinkSender = mpsc::UnboundedSender<(u64, Message)>;

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("addresses", &self.addresses)
            .finish()
    }
}

impl Network {
    /// A healed network between the nodes in `addresses`, with a base one-way delay and jitter
    /// on every link. Nodes added to the book later join with [`Network::add_node`].
    pub fn new(
        addresses: AddressBook,
        base_delay: Duration,
        base_jitter: Duration,
        seed: u64,
        events: EventBus,
    ) -> Self {
        let group = addresses.all().keys().map(|id| (*id, 0)).collect();
        Network {
            state: Mutex::new(State {
                base_delay,
                base_jitter,
                links: BTreeMap::new(),
                slow: BTreeMap::new(),
                group,
                next_group: 1,
                paused: false,
                next_id: 0,
                held: BTreeMap::new(),
                due: BTreeSet::new(),
                rng: Rng::derive(seed, 0xC0FFEE),
            }),
            wake: Notify::new(),
            events,
            addresses,
            links: Mutex::new(HashMap::new()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock would be a bug in this file; keep going with the data.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The outbox of the nodes of this network: each message is decided and, if due now, put on
    /// its link in the sender's own turn.
    pub fn outbox(self: &Arc<Self>) -> Outbox {
        let network = self.clone();
        Outbox::new(move |msg| network.send(msg))
    }

    /// Releases held messages when they fall due, until the task is aborted (the cluster shut
    /// down). Messages that need no wait never pass through here.
    pub async fn run(self: Arc<Self>) {
        loop {
            let next_due = {
                let s = self.state();
                if s.paused {
                    None
                } else {
                    s.due.first().map(|(due, _)| *due)
                }
            };
            // A message held after the look above leaves a permit (`notify_one`), so this wakes.
            let held = self.wake.notified();
            let sleep = async {
                match next_due {
                    Some(due) => {
                        let now = self.events.elapsed();
                        tokio::time::sleep(due.saturating_sub(now)).await;
                    }
                    None => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = held => {}
                _ = sleep => self.release_due(),
            }
        }
    }

    /// Takes a message from its sender and decides its fate: lost, held in flight until due, or
    /// (no delay, time running) straight onto its link.
    pub fn send(&self, msg: Message) {
        let now = self.events.elapsed();
        let (from, to, kind, term) = (msg.from, msg.to, msg.kind(), msg.term());
        let mut s = self.state();
        if !s.connected(from, to) {
            drop(s);
            self.dropped(0, from, to, kind, "link cut");
            return;
        }
        let drop_rate = s.links.get(&(from, to)).map_or(0.0, |l| l.drop_rate);
        if s.rng.chance(drop_rate) {
            drop(s);
            self.dropped(0, from, to, kind, "random drop");
            return;
        }
        let delay = s.delay(from, to);
        // With no delay and time running, the message goes straight to its link; otherwise it
        // is held in flight until due.
        let immediate = delay.is_zero() && !s.paused;
        let (id, msg) = if immediate {
            s.next_id += 1;
            (s.next_id, Some(msg))
        } else {
            let earliest = s.due.first().map(|(due, _)| *due);
            let id = s.hold(msg, now, delay);
            // The release task sleeps until the earliest due message: wake it if this one is due
            // sooner.
            if earliest.is_none_or(|e| now + delay < e) {
                self.wake.notify_one();
            }
            (id, None)
        };
        drop(s);
        self.events.emit(
            from,
            EventKind::MessageSent {
                id,
                from,
                to,
                kind,
                term,
                delay,
            },
        );
        if let Some(msg) = msg {
            self.dispatch(id, msg);
        }
    }

    /// Delivers every held message that is due (unless paused).
    fn release_due(&self) {
        let now = self.events.elapsed();
        loop {
            let mut s = self.state();
            if s.paused {
                return;
            }
            let Some((due, id)) = s.due.first().copied() else {
                return;
            };
            if due > now {
                return;
            }
            let Some(held) = s.take(id) else {
                continue;
            };
            let connected = s.connected(held.msg.from, held.msg.to);
            drop(s);
            self.release(id, held.msg, connected);
        }
    }

    fn release(&self, id: u64, msg: Message, connected: bool) {
        if connected {
            self.dispatch(id, msg);
        } else {
            self.dropped(id, msg.from, msg.to, msg.kind(), "link cut");
        }
    }

    fn dropped(&self, id: u64, from: NodeId, to: NodeId, kind: MessageKind, why: &str) {
        dropped(&self.events, Sent { id, from, to, kind }, why);
    }

    /// Hands a message to the task of its link, which makes the gRPC call.
    fn dispatch(&self, id: u64, msg: Message) {
        let key = (msg.from, msg.to);
        let Some(addr) = self.addresses.get(msg.to) else {
            self.dropped(id, msg.from, msg.to, msg.kind(), "unknown receiver");
            return;
        };
        let mut links = self.links.lock().unwrap_or_else(|p| p.into_inner());
        let tx = links.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(link_task(addr, rx, self.events.clone()));
            tx
        });
        if let Err(mpsc::error::SendError((id, msg))) = tx.send((id, msg)) {
            drop(links);
            self.dropped(id, msg.from, msg.to, msg.kind(), "link closed");
        }
    }

    // ------------------------------------------------------------------------------------------
    // Membership
    // ------------------------------------------------------------------------------------------

    /// A node joins the network (its address is already in the book). It joins the largest
    /// partition group, so that a node added during a partition can reach most of the cluster.
    pub fn add_node(&self, node: NodeId) {
        let mut s = self.state();
        let mut sizes: BTreeMap<u64, usize> = BTreeMap::new();
        for g in s.group.values() {
            *sizes.entry(*g).or_default() += 1;
        }
        let largest = sizes
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map_or(0, |(g, _)| *g);
        s.group.insert(node, largest);
    }

    /// A node leaves the network for good: the messages in flight to and from it are dropped,
    /// its link policies are forgotten and its links closed, so that nothing it sent can reach
    /// a node added later under the same id.
    pub fn remove_node(&self, node: NodeId) {
        let dropped: Vec<(u64, Message)> = {
            let mut s = self.state();
            s.group.remove(&node);
            s.slow.remove(&node);
            s.links.retain(|(from, to), _| *from != node && *to != node);
            let ids: Vec<u64> = s
                .held
                .iter()
                .filter(|(_, h)| h.msg.from == node || h.msg.to == node)
                .map(|(id, _)| *id)
                .collect();
            ids.into_iter()
                .filter_map(|id| s.take(id).map(|h| (id, h.msg)))
                .collect()
        };
        for (id, msg) in dropped {
            self.dropped(id, msg.from, msg.to, msg.kind(), "node removed");
        }
        self.links
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(from, to), _| *from != node && *to != node);
    }

    // ------------------------------------------------------------------------------------------
    // Faults
    // ------------------------------------------------------------------------------------------

    /// Splits nodes into groups that cannot talk to each other; unlisted nodes are each alone.
    pub fn partition(&self, groups: &[Vec<NodeId>]) {
        let mut s = self.state();
        let ids: Vec<NodeId> = s.group.keys().copied().collect();
        for id in ids {
            s.next_group += 1;
            let g = s.next_group;
            s.group.insert(id, g);
        }
        for members in groups {
            s.next_group += 1;
            let g = s.next_group;
            for m in members {
                if let Some(slot) = s.group.get_mut(m) {
                    *slot = g;
                }
            }
        }
    }

    /// Cuts `node` off from every other node.
    pub fn isolate(&self, node: NodeId) {
        let mut s = self.state();
        s.next_group += 1;
        let g = s.next_group;
        if let Some(slot) = s.group.get_mut(&node) {
            *slot = g;
        }
    }

    /// Clears partitions, link policies and slow nodes.
    pub fn heal(&self) {
        let mut s = self.state();
        for g in s.group.values_mut() {
            *g = 0;
        }
        s.links.clear();
        s.slow.clear();
    }

    /// Sets the policy of the directed link `from → to`.
    pub fn set_link(&self, from: NodeId, to: NodeId, policy: LinkPolicy) {
        let mut s = self.state();
        if policy == LinkPolicy::default() {
            s.links.remove(&(from, to));
        } else {
            s.links.insert((from, to), policy);
        }
    }

    /// The policy of a link.
    pub fn link(&self, from: NodeId, to: NodeId) -> LinkPolicy {
        self.state()
            .links
            .get(&(from, to))
            .copied()
            .unwrap_or_default()
    }

    /// Adds `delay` to every link to and from `node` (zero removes it).
    pub fn set_slow(&self, node: NodeId, delay: Duration) {
        let mut s = self.state();
        if delay.is_zero() {
            s.slow.remove(&node);
        } else {
            s.slow.insert(node, delay);
        }
    }

    /// The extra delay of a slow node.
    pub fn slow(&self, node: NodeId) -> Duration {
        self.state().slow.get(&node).copied().unwrap_or_default()
    }

    /// Whether `from` can reach `to` now.
    pub fn connected(&self, from: NodeId, to: NodeId) -> bool {
        self.state().connected(from, to)
    }

    /// The partition groups (nodes that can talk), largest first; one group when healed.
    pub fn groups(&self) -> Vec<Vec<NodeId>> {
        let s = self.state();
        let mut by_group: BTreeMap<u64, Vec<NodeId>> = BTreeMap::new();
        for (id, g) in &s.group {
            by_group.entry(*g).or_default().push(*id);
        }
        let mut groups: Vec<Vec<NodeId>> = by_group.into_values().collect();
        groups.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        groups
    }

    /// Holds every message from now on, until [`Network::resume`].
    pub fn pause(&self) {
        self.state().paused = true;
        self.wake.notify_one();
    }

    /// Releases held messages as they fall due.
    pub fn resume(&self) {
        self.state().paused = false;
        self.wake.notify_one();
    }

    /// Whether the network holds everything.
    pub fn is_paused(&self) -> bool {
        self.state().paused
    }

    /// Delivers the earliest-due message now, whatever its due time. Returns its summary.
    pub fn step(&self) -> Option<String> {
        let mut s = self.state();
        let (_, id) = s.due.first().copied()?;
        let held = s.take(id)?;
        let connected = s.connected(held.msg.from, held.msg.to);
        drop(s);
        let summary = format!("#{id} {}", held.msg);
        self.release(id, held.msg, connected);
        Some(summary)
    }

    /// The messages in flight, earliest due first.
    pub fn in_flight(&self) -> Vec<InFlightInfo> {
        let s = self.state();
        s.due
            .iter()
            .filter_map(|(_, id)| {
                let h = s.held.get(id)?;
                Some(InFlightInfo {
                    id: *id,
                    from: h.msg.from,
                    to: h.msg.to,
                    kind: h.msg.kind(),
                    term: h.msg.term(),
                    sent_at: h.sent_at,
                    due_at: h.due_at,
                    summary: h.msg.to_string(),
                })
            })
            .collect()
    }

    /// Drops a message in flight. Returns whether it was there.
    pub fn drop_message(&self, id: u64) -> bool {
        let held = self.state().take(id);
        match held {
            Some(h) => {
                self.dropped(id, h.msg.from, h.msg.to, h.msg.kind(), "dropped by hand");
                true
            }
            None => false,
        }
    }

    /// Adds a second copy of a message in flight, due at the same time. Returns the copy's id.
    pub fn duplicate_message(&self, id: u64) -> Option<u64> {
        let mut s = self.state();
        let (msg, sent_at, due_at) = {
            let h = s.held.get(&id)?;
            (h.msg.clone(), h.sent_at, h.due_at)
        };
        let copy = s.hold(msg, sent_at, due_at.saturating_sub(sent_at));
        drop(s);
        self.wake.notify_one();
        Some(copy)
    }

    /// Delivers a message in flight now. Returns whether it was there.
    pub fn deliver_message(&self, id: u64) -> bool {
        let mut s = self.state();
        let Some(held) = s.take(id) else {
            return false;
        };
        let connected = s.connected(held.msg.from, held.msg.to);
        drop(s);
        self.release(id, held.msg, connected);
        true
    }
}

/// What the link remembers of a message it sent, to report its fate.
struct Sent {
    id: u64,
    from: NodeId,
    to: NodeId,
    kind: MessageKind,
}

/// Delivers the messages of one directed link in order over one long-lived `Raft.Stream` to
/// the receiver (see [`transport`]): whatever is queued on the link when the stream has room
/// leaves as one frame; an acknowledgement reports the messages of the frames it covers
/// delivered (or refused by a full inbox). When the stream breaks, its unacknowledged messages
/// are reported dropped and the next message opens a new stream.
async fn link_task(
    addr: SocketAddr,
    mut rx: mpsc::UnboundedReceiver<(u64, Message)>,
    events: EventBus,
) {
    let mut client = transport::raft_client(addr);
    let mut stream: Option<transport::PeerStream> = None;
    // Frames sent and not yet acknowledged, oldest first: (frame number, its messages).
    let mut unacked: VecDeque<(u64, Vec<Sent>)> = VecDeque::new();
    loop {
        tokio::select! {
            biased;
            ack = async {
                match stream.as_mut() {
                    Some(s) => s.ack().await,
                    None => std::future::pending().await,
                }
            } => {
                let broken = match ack {
                    Ok(Some(ack)) => match covered(&mut unacked, ack.seq) {
                        Some(sent) => {
                            acknowledged(&events, sent, &ack.refused);
                            None
                        }
                        None => {
                            Some(format!("refused: acknowledgement of unknown frame {}", ack.seq))
                        }
                    },
                    Ok(None) => Some("receiver down".to_string()),
                    Err(status) => Some(why(&status)),
                };
                if let Some(why) = broken {
                    stream = None;
                    for (_, sent) in unacked.drain(..) {
                        lost(&events, sent, &why);
                    }
                }
            }
            first = rx.recv(), if unacked.len() < transport::STREAM_WINDOW => {
                let Some(first) = first else { return };
                let (messages, sent) = frame(first, &mut rx);
                let result = match stream.as_mut() {
                    Some(s) => s.send(messages),
                    None => match transport::PeerStream::open(&mut client, messages).await {
                        Ok(s) => {
                            stream = Some(s);
                            Ok(1)
                        }
                        Err(status) => Err(status),
                    },
                };
                match result {
                    Ok(seq) => unacked.push_back((seq, sent)),
                    Err(status) => {
                        let why = why(&status);
                        stream = None;
                        for (_, sent) in unacked.drain(..) {
                            lost(&events, sent, &why);
                        }
                        lost(&events, sent, &why);
                    }
                }
            }
        }
    }
}

/// Takes `first` and whatever else is queued on the link now, up to a frame's limits.
fn frame(
    first: (u64, Message),
    rx: &mut mpsc::UnboundedReceiver<(u64, Message)>,
) -> (Vec<pb::RaftMessage>, Vec<Sent>) {
    let mut messages = Vec::new();
    let mut sent = Vec::new();
    let mut bytes = 0;
    let mut next = Some(first);
    while let Some((id, msg)) = next {
        sent.push(Sent {
            id,
            from: msg.from,
            to: msg.to,
            kind: msg.kind(),
        });
        let m = pb::RaftMessage::from(msg);
        bytes += prost::Message::encoded_len(&m);
        messages.push(m);
        if bytes >= transport::FRAME_BYTES || messages.len() >= transport::FRAME_MESSAGES {
            break;
        }
        next = rx.try_recv().ok();
    }
    (messages, sent)
}

/// Takes the frames an acknowledgement of frame `seq` covers (every unacknowledged one up to
/// `seq`), their messages in order; `None`, taking nothing, if `seq` is not unacknowledged.
fn covered(unacked: &mut VecDeque<(u64, Vec<Sent>)>, seq: u64) -> Option<Vec<Sent>> {
    let n = unacked.iter().position(|(s, _)| *s == seq)? + 1;
    Some(unacked.drain(..n).flat_map(|(_, sent)| sent).collect())
}

/// Reports the messages of acknowledged frames: delivered, except those the inbox refused.
fn acknowledged(events: &EventBus, sent: Vec<Sent>, refused: &[u32]) {
    for (i, s) in sent.into_iter().enumerate() {
        if refused.contains(&(i as u32)) {
            dropped(events, s, "receiver's inbox full");
        } else {
            let Sent { id, from, to, kind } = s;
            events.emit(to, EventKind::MessageDelivered { id, from, to, kind });
        }
    }
}

/// Reports messages lost with their stream.
fn lost(events: &EventBus, sent: Vec<Sent>, why: &str) {
    for s in sent {
        dropped(events, s, why);
    }
}

/// Reports one message that did not reach the receiver's inbox, and why.
fn dropped(events: &EventBus, s: Sent, why: &str) {
    let Sent { id, from, to, kind } = s;
    let why = why.to_string();
    events.emit(
        from,
        EventKind::MessageDropped {
            id,
            from,
            to,
            kind,
            why,
        },
    );
}

/// Why a stream failed, in the words of the dashboard.
fn why(status: &tonic::Status) -> String {
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::Cancelled | tonic::Code::Unknown => {
            "receiver down".to_string()
        }
        _ => format!("refused: {}", status.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(seq: u64, ids: &[u64]) -> (u64, Vec<Sent>) {
        let sent = ids
            .iter()
            .map(|id| Sent {
                id: *id,
                from: 1,
                to: 2,
                kind: MessageKind::AppendEntries,
            })
            .collect();
        (seq, sent)
    }

    fn ids(sent: &[Sent]) -> Vec<u64> {
        sent.iter().map(|s| s.id).collect()
    }

    #[test]
    fn an_ack_covers_every_unacknowledged_frame_up_to_its_seq() {
        let mut unacked: VecDeque<_> = [frame(3, &[1, 2]), frame(4, &[3]), frame(5, &[4, 5])]
            .into_iter()
            .collect();
        assert!(
            covered(&mut unacked, 2).is_none(),
            "frame 2 was acknowledged before"
        );
        assert!(covered(&mut unacked, 6).is_none(), "frame 6 was never sent");
        assert_eq!(unacked.len(), 3, "an unknown ack takes nothing");
        let sent = covered(&mut unacked, 4).expect("frames 3 and 4");
        assert_eq!(ids(&sent), vec![1, 2, 3], "their messages, in order");
        assert_eq!(unacked.len(), 1);
        let sent = covered(&mut unacked, 5).expect("frame 5");
        assert_eq!(ids(&sent), vec![4, 5]);
        assert!(unacked.is_empty());
    }
}
