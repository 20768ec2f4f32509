//! Looking at a simulation from outside: which servers are up, what each believes (status,
//! leader, membership), what each stored and applied, the message counters and the timeline.
//! Nothing here changes the run, except the seeded random draws a test asks for.

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use crate::raft::{
    Entry, EntryKind, Index, Membership, MessageKind, NodeId, RaftNode, Role, Status, Storage, Term,
};

use super::{
    Checker, Event, InFlight, Record, ServedRead, SimConfig, SimNetwork, Simulator, Timeline,
};

/// Counters of what crossed the network.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Messages sent, by kind.
    pub sent: BTreeMap<MessageKind, u64>,
    /// RequestVote messages sent, by the candidate's term.
    pub votes_requested_by_term: BTreeMap<Term, u64>,
    /// Messages lost (cut, dropped, or receiver down).
    pub lost: u64,
    /// Messages delivered.
    pub delivered: u64,
    /// Elections started.
    pub elections: u64,
    /// PreVote rounds started (thesis §9.6).
    pub pre_elections: u64,
    /// Reads confirmed (ReadIndex or lease).
    pub reads_served: u64,
    /// Servers that became candidate, by term.
    pub candidates_by_term: BTreeMap<Term, u64>,
    /// AppendEntries rejected by followers, per follower.
    pub append_rejections: BTreeMap<NodeId, u64>,
}

impl Stats {
    /// Total messages sent.
    pub fn total_sent(&self) -> u64 {
        self.sent.values().sum()
    }

    /// Messages of one kind sent.
    pub fn sent_of(&self, kind: MessageKind) -> u64 {
        self.sent.get(&kind).copied().unwrap_or(0)
    }
}

impl Simulator {
    /// Ids of all servers.
    pub fn ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    /// Whether a server is running.
    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(|n| n.core.is_some())
    }

    /// A live server's status.
    pub fn status(&self, id: NodeId) -> Option<Status> {
        self.nodes.get(&id)?.core.as_ref().map(RaftNode::status)
    }

    /// The messages in flight, earliest due first.
    pub fn in_flight(&self) -> Vec<&InFlight> {
        self.queue
            .values()
            .filter_map(|e| match e {
                Event::Deliver(m) => Some(m),
                Event::Tick(..) => None,
            })
            .collect()
    }

    /// The network: its groups and cut links.
    pub fn network(&self) -> &SimNetwork {
        &self.net
    }

    /// The settings the simulation started with.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// Simulated microseconds between two ticks of server `id` (its clock rate).
    pub fn tick_us(&self, id: NodeId) -> Option<u64> {
        self.nodes.get(&id).map(|n| n.tick_us)
    }

    /// Status of every live server.
    pub fn statuses(&self) -> impl Iterator<Item = Status> + '_ {
        self.nodes
            .values()
            .filter_map(|n| n.core.as_ref().map(RaftNode::status))
    }

    /// The leader of the highest term among live servers that believe they lead, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.statuses()
            .filter(|s| s.role == Role::Leader)
            .max_by_key(|s| s.term)
            .map(|s| s.id)
    }

    /// The leader among servers reachable from `among` that a majority of `among` follows in
    /// the leader's term — what "the cluster has a working leader" means for a test.
    pub fn stable_leader(&self, among: &[NodeId]) -> Option<NodeId> {
        let statuses: Vec<Status> = among.iter().filter_map(|id| self.status(*id)).collect();
        let leader = statuses
            .iter()
            .filter(|s| s.role == Role::Leader)
            .max_by_key(|s| s.term)?;
        let voters = self
            .membership(leader.id)
            .map(|m| m.conf.voters)
            .unwrap_or_default();
        let followers = statuses
            .iter()
            .filter(|s| {
                s.term == leader.term && s.leader_id == Some(leader.id) && voters.contains(&s.id)
            })
            .count();
        (followers > voters.len() / 2).then_some(leader.id)
    }

    /// The commands a server's state machine applied, in order.
    pub fn applied(&self, id: NodeId) -> &[(Term, Bytes)] {
        self.nodes.get(&id).map_or(&[], |n| n.applied.as_slice())
    }

    /// Index of a server's stored snapshot (0 without one).
    pub fn snapshot_index(&self, id: NodeId) -> Index {
        self.nodes
            .get(&id)
            .map_or(0, |n| n.storage.snapshot_index())
    }

    /// A server's stored log (after its snapshot, if it has one).
    pub fn stored_log(&self, id: NodeId) -> &[Entry] {
        self.nodes.get(&id).map_or(&[], |n| n.storage.entries())
    }

    /// Commands (not no-ops) in a server's stored log.
    pub fn stored_commands(&self, id: NodeId) -> Vec<Bytes> {
        self.stored_log(id)
            .iter()
            .filter(|e| e.kind == EntryKind::Normal)
            .map(|e| e.data.clone())
            .collect()
    }

    /// Message and election counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The invariant checker (terms with leaders, committed prefix).
    pub fn checker(&self) -> &Checker {
        &self.checker
    }

    /// Events processed so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.config.seed
    }

    /// A random number from the simulator's seeded generator (for tests' own choices).
    pub fn rand(&mut self, lo: u64, hi: u64) -> u64 {
        self.rng.range(lo, hi)
    }

    /// True with probability `p`, from the seeded generator.
    pub fn chance(&mut self, p: f64) -> bool {
        self.rng.chance(p)
    }

    /// The timeline kept so far, formatted.
    pub fn timeline_lines(&self) -> Vec<String> {
        self.timeline.records().map(|r| r.to_string()).collect()
    }

    /// The timeline, to print a run as it goes (see [`Timeline::since`]).
    pub fn timeline(&self) -> &Timeline {
        &self.timeline
    }

    /// Drops the timeline's records once read (see [`Timeline::forget`]).
    pub fn forget_timeline(&mut self) {
        self.timeline.forget();
    }

    /// When the next pending event (a tick or a delivery) happens, in microseconds.
    pub fn next_event_at(&self) -> Option<u64> {
        self.queue.first_key_value().map(|((at, _), _)| *at)
    }

    /// Records a note of the test's own in the timeline (shown with faults).
    pub fn note(&mut self, what: impl Into<String>) {
        self.timeline.push(self.now, Record::Note(what.into()));
    }

    /// Ids of live servers.
    pub fn live(&self) -> BTreeSet<NodeId> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.core.is_some())
            .map(|(id, _)| *id)
            .collect()
    }

    /// A live server's view of the membership.
    pub fn membership(&self, id: NodeId) -> Option<Membership> {
        self.nodes.get(&id)?.core.as_ref().map(RaftNode::membership)
    }

    /// The target of the leadership transfer under way at leader `id`, if any.
    pub fn transfer_target(&self, id: NodeId) -> Option<NodeId> {
        self.nodes.get(&id)?.core.as_ref()?.transfer_target()
    }

    /// Whether server `id` is asking for pre-votes (PreVote, thesis §9.6).
    pub fn is_pre_candidate(&self, id: NodeId) -> bool {
        self.nodes
            .get(&id)
            .and_then(|n| n.core.as_ref())
            .is_some_and(RaftNode::is_pre_candidate)
    }

    /// The reads leaders confirmed so far, in order.
    pub fn reads_served(&self) -> &[ServedRead] {
        &self.reads_served
    }
}
