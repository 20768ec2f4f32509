//! A deterministic simulator: a seeded network of consensus cores with delay, loss, duplication,
//! reordering, partitions, crashes and restarts — and the safety properties of the Raft paper
//! checked after every step.
//!
//! ```text
//!   event queue (time, seq) ──► Tick(node) ───────────► core.tick()      (each node's own clock
//!                          └──► Deliver(message) ─────► core.step(msg)    rate: drift)
//!                                                           │
//!          drain Ready: persist to MemStorage ─► send into Network (delay/drop/dup/cut)
//!                       apply committed entries ─► check invariants (Figure 3)
//!                       read states ─► check reads are not stale (ReadIndex, thesis §6.4)
//! ```
//!
//! Everything random is drawn from one seed, so a seed and a test script replay a run exactly. A
//! [`Violation`] carries the seed and the events that led to it.

pub mod history;
pub mod invariants;
pub mod network;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

pub use history::{History, Record, Violation};
pub use invariants::{Chain, Checker};
pub use network::{InFlight, NetConfig, Network, SendOutcome};

use crate::raft::{
    ConfChange, ConfChangeError, Config, Configuration, Entry, EntryKind, Index, MemStorage,
    Membership, MessageKind, NodeId, RaftNode, ReadMode, ReadState, Ready, Rng, Role, Snapshot,
    Status, Storage, Term, TraceEvent, TransferError, UnsafeRules,
};

/// Settings of one simulation.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Number of servers (ids 1..=nodes).
    pub nodes: usize,
    /// The seed of everything random.
    pub seed: u64,
    /// Length of one tick in simulated microseconds.
    pub tick_us: u64,
    /// Election timeout range in ticks, [min, max).
    pub election_timeout: (u32, u32),
    /// Heartbeat interval in ticks.
    pub heartbeat_interval: u32,
    /// Entries per AppendEntries.
    pub max_entries_per_append: usize,
    /// Appends in flight per follower.
    pub max_inflight_appends: usize,
    /// The network's behaviour.
    pub net: NetConfig,
    /// Records of history to keep for a failure report (0 keeps all).
    pub history: usize,
    /// Each server snapshots its state and compacts its log once this many entries were applied
    /// since its last snapshot (0: never).
    pub snapshot_every: u64,
    /// Bytes per InstallSnapshot chunk.
    pub snapshot_chunk_bytes: usize,
    /// PreVote (thesis §9.6) on every core.
    pub pre_vote: bool,
    /// CheckQuorum and its leader lease (thesis §6.2, §4.2.3) on every core.
    pub check_quorum: bool,
    /// How leaders answer reads.
    pub read_mode: ReadMode,
    /// Lease reads: the clock-drift margin, in ticks.
    pub lease_margin: u32,
    /// Rules broken on purpose, on every core (see [`UnsafeRules`]).
    pub unsafe_rules: UnsafeRules,
}

impl SimConfig {
    /// `nodes` servers on a reliable network: 10 ms ticks, elections after 10–20 ticks,
    /// heartbeats every 2 ticks, and the core's defaults for the optional rules (PreVote and
    /// CheckQuorum on, safe reads, no unsafe rule).
    pub fn new(nodes: usize, seed: u64) -> Self {
        let history = std::env::var("RAFTLAB_SIM_HISTORY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400);
        let defaults = Config::new(1, vec![1]);
        SimConfig {
            nodes,
            seed,
            tick_us: 10_000,
            election_timeout: (10, 20),
            heartbeat_interval: 2,
            max_entries_per_append: 64,
            max_inflight_appends: 4,
            net: NetConfig::reliable(),
            history,
            snapshot_every: 0,
            snapshot_chunk_bytes: 64 << 10,
            pre_vote: defaults.pre_vote,
            check_quorum: defaults.check_quorum,
            read_mode: defaults.read_mode,
            lease_margin: defaults.lease_margin,
            unsafe_rules: defaults.unsafe_rules,
        }
    }

    /// The same, with log compaction every `every` applied entries and snapshots sent in chunks
    /// of `chunk_bytes`.
    pub fn with_snapshots(mut self, every: u64, chunk_bytes: usize) -> Self {
        self.snapshot_every = every;
        self.snapshot_chunk_bytes = chunk_bytes;
        self
    }

    /// The same, on the given network.
    pub fn with_net(mut self, net: NetConfig) -> Self {
        self.net = net;
        self
    }

    fn core_config(&self, id: NodeId, joiner: bool) -> Config {
        let voters = if joiner {
            Vec::new()
        } else {
            (1..=self.nodes as NodeId).collect()
        };
        let mut c = Config::new(id, voters);
        c.election_timeout_min = self.election_timeout.0;
        c.election_timeout_max = self.election_timeout.1;
        c.heartbeat_interval = self.heartbeat_interval;
        c.max_entries_per_append = self.max_entries_per_append;
        c.max_inflight_appends = self.max_inflight_appends;
        c.snapshot_chunk_bytes = self.snapshot_chunk_bytes;
        c.seed = self.seed;
        c.pre_vote = self.pre_vote;
        c.check_quorum = self.check_quorum;
        c.read_mode = self.read_mode;
        c.lease_margin = self.lease_margin;
        c.unsafe_rules = self.unsafe_rules;
        c
    }
}

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

#[derive(Debug)]
enum Event {
    Tick(NodeId, u64),
    Deliver(InFlight),
}

#[derive(Debug)]
struct SimNode {
    core: Option<RaftNode>,
    storage: MemStorage,
    chain: Chain,
    /// The state machine: the commands applied, in index order (index = position + 1).
    applied: Vec<(Term, Bytes)>,
    /// The same, serialized (what a snapshot of it holds): appended to as entries apply, so that a
    /// snapshot is one copy.
    sm_bytes: Vec<u8>,
    /// Bumped at each restart so that ticks of an old incarnation are ignored.
    incarnation: u64,
    crash_after_persist: bool,
    /// Simulated microseconds between two of this server's ticks (its clock rate).
    tick_us: u64,
}

/// A read the simulator asked for and a leader confirmed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ServedRead {
    /// The server that confirmed it.
    pub node: NodeId,
    /// The read's context.
    pub ctx: u64,
    /// Its read index.
    pub index: Index,
    /// When it was asked (simulated microseconds).
    pub issued_at: u64,
    /// When the leader confirmed it.
    pub served_at: u64,
}

/// The simulator.
#[derive(Debug)]
pub struct Simulator {
    config: SimConfig,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Event>,
    nodes: BTreeMap<NodeId, SimNode>,
    net: Network,
    rng: Rng,
    checker: Checker,
    history: History,
    stats: Stats,
    steps: u64,
    /// The next read context.
    next_ctx: u64,
    /// Reads asked for and not yet confirmed: ctx → (node, asked at).
    reads_pending: BTreeMap<u64, (NodeId, u64)>,
    reads_served: Vec<ServedRead>,
    /// Servers added after the start ([`Simulator::add_node`]): they boot with no configuration.
    joiners: BTreeSet<NodeId>,
}

impl Simulator {
    /// Starts `config.nodes` fresh servers, all followers in term 0.
    pub fn new(config: SimConfig) -> Self {
        let ids: Vec<NodeId> = (1..=config.nodes as NodeId).collect();
        let mut sim = Simulator {
            net: Network::new(config.net.clone(), &ids),
            rng: Rng::derive(config.seed, 0),
            history: History::new(config.history),
            config,
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            nodes: BTreeMap::new(),
            checker: Checker::new(),
            stats: Stats::default(),
            steps: 0,
            next_ctx: 1,
            reads_pending: BTreeMap::new(),
            reads_served: Vec::new(),
            joiners: BTreeSet::new(),
        };
        sim.checker
            .set_initial_conf(Configuration::with_voters(ids.iter().copied()));
        for id in ids {
            sim.insert_node(id);
            sim.boot(id);
        }
        sim
    }

    fn insert_node(&mut self, id: NodeId) {
        self.nodes.insert(
            id,
            SimNode {
                core: None,
                storage: MemStorage::new(),
                chain: Chain::default(),
                applied: Vec::new(),
                sm_bytes: Vec::new(),
                incarnation: 0,
                crash_after_persist: false,
                tick_us: self.config.tick_us,
            },
        );
    }

    /// Starts a fresh, empty server `id` that is in no configuration: it waits for a leader to
    /// add it ([`ConfChange::AddLearner`]) and contact it. Connected to the healed network. Does
    /// nothing if `id` exists.
    pub fn add_node(&mut self, id: NodeId) {
        if id == 0 || self.nodes.contains_key(&id) {
            return;
        }
        self.history
            .push(self.now, Record::Fault(format!("add node {id}")));
        self.joiners.insert(id);
        self.net.add_node(id);
        self.insert_node(id);
        self.boot(id);
    }

    /// Proposes a membership change at server `id`. `Ok(None)` if it is down.
    pub fn propose_config_change(
        &mut self,
        id: NodeId,
        change: ConfChange,
    ) -> Result<Option<Result<Index, ConfChangeError>>, Violation> {
        let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) else {
            return Ok(None);
        };
        let result = core.propose_config_change(change);
        self.history.push(
            self.now,
            Record::Note(format!("node {id}: {change}: {result:?}")),
        );
        self.process(id)?;
        Ok(Some(result))
    }

    /// A live server's view of the membership.
    pub fn membership(&self, id: NodeId) -> Option<Membership> {
        self.nodes.get(&id)?.core.as_ref().map(RaftNode::membership)
    }

    fn boot(&mut self, id: NodeId) {
        let config = self.config.core_config(id, self.joiners.contains(&id));
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let initial = match node.storage.initial_state() {
            Ok(s) => s,
            Err(e) => panic!("MemStorage cannot fail: {e}"),
        };
        node.core = match RaftNode::new(config, initial) {
            Ok(core) => Some(core),
            Err(e) => panic!("simulator built an invalid config: {e}"),
        };
        node.incarnation += 1;
        node.applied.clear();
        node.sm_bytes.clear();
        // The state machine restarts from the snapshot; the log after it is applied again.
        if let Some(snapshot) = node.storage.snapshot().cloned() {
            if let Err(e) = restore_state(node, &snapshot) {
                panic!("the simulator wrote a snapshot it cannot read: {e}");
            }
        }
        let incarnation = node.incarnation;
        // Each server's clock has its own phase, so ticks do not line up.
        let phase = self.rng.range(1, node.tick_us + 1);
        self.schedule(self.now + phase, Event::Tick(id, incarnation));
    }

    fn schedule(&mut self, at: u64, event: Event) {
        self.seq += 1;
        self.queue.insert((at, self.seq), event);
    }

    // ------------------------------------------------------------------------------------------
    // Running
    // ------------------------------------------------------------------------------------------

    /// Current simulated time in microseconds.
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Processes the next event. Returns Ok(false) when nothing is left to do.
    pub fn step(&mut self) -> Result<bool, Violation> {
        let Some(((at, _), event)) = self.queue.pop_first() else {
            return Ok(false);
        };
        self.now = at;
        self.steps += 1;
        match event {
            Event::Tick(id, incarnation) => {
                let Some(node) = self.nodes.get_mut(&id) else {
                    return Ok(true);
                };
                if node.incarnation != incarnation {
                    return Ok(true);
                }
                let Some(core) = node.core.as_mut() else {
                    return Ok(true);
                };
                core.tick();
                let next = self.now + node.tick_us;
                self.schedule(next, Event::Tick(id, incarnation));
                self.process(id)?;
            }
            Event::Deliver(inflight) => {
                let msg = inflight.msg;
                let (from, to, kind) = (msg.from, msg.to, msg.kind());
                let up = self.nodes.get(&to).is_some_and(|n| n.core.is_some());
                let why = if !self.net.connected(from, to) {
                    Some("link cut")
                } else if !up {
                    Some("receiver down")
                } else {
                    None
                };
                if let Some(why) = why {
                    self.stats.lost += 1;
                    self.history.push(
                        self.now,
                        Record::Lost {
                            from,
                            to,
                            kind,
                            why,
                        },
                    );
                    return Ok(true);
                }
                self.stats.delivered += 1;
                self.history.push(self.now, Record::Delivered(msg.clone()));
                if let Some(core) = self.nodes.get_mut(&to).and_then(|n| n.core.as_mut()) {
                    if let Err(e) = core.step(msg) {
                        return Err(self.violation(format!("core refused a message: {e}")));
                    }
                }
                self.process(to)?;
            }
        }
        Ok(true)
    }

    /// Runs until simulated time `until` (microseconds).
    pub fn run_until(&mut self, until: u64) -> Result<(), Violation> {
        while self
            .queue
            .first_key_value()
            .is_some_and(|((at, _), _)| *at <= until)
        {
            self.step()?;
        }
        self.now = self.now.max(until);
        Ok(())
    }

    /// Runs for `duration` more simulated microseconds.
    pub fn run_for(&mut self, duration: u64) -> Result<(), Violation> {
        self.run_until(self.now + duration)
    }

    /// Runs until `cond` holds (checked after each step) or `timeout` microseconds pass. Returns
    /// whether it held.
    pub fn run_until_cond(
        &mut self,
        timeout: u64,
        mut cond: impl FnMut(&Simulator) -> bool,
    ) -> Result<bool, Violation> {
        let deadline = self.now + timeout;
        loop {
            if cond(self) {
                return Ok(true);
            }
            match self.queue.first_key_value() {
                Some(((at, _), _)) if *at <= deadline => {
                    self.step()?;
                }
                _ => {
                    self.now = self.now.max(deadline);
                    return Ok(cond(self));
                }
            }
        }
    }

    /// Drains a node's Ready: persist, then send, then apply — checking the invariants as each
    /// piece lands.
    fn process(&mut self, id: NodeId) -> Result<(), Violation> {
        loop {
            let Some(node) = self.nodes.get_mut(&id) else {
                return Ok(());
            };
            let Some(core) = node.core.as_mut() else {
                return Ok(());
            };
            if !core.has_ready() {
                break;
            }
            let ready = core.ready();
            let role = core.role();
            let term = core.term();
            let Ready {
                snapshot,
                hard_state,
                entries,
                messages,
                committed_entries,
                read_states,
                events,
            } = ready;

            // 0. A snapshot installed from the leader: store it, check it, restore from it.
            if let Some(snapshot) = snapshot {
                self.install(id, &snapshot)?;
            }
            let Some(node) = self.nodes.get_mut(&id) else {
                return Ok(());
            };

            // 1. Persist.
            if let Err(e) = node.storage.persist(hard_state.as_ref(), &entries) {
                return Err(self.violation(format!("node {id}: {e}")));
            }
            node.chain.write(&entries);
            if let Err(what) = self.checker.on_stored(id, &entries, &node.chain) {
                return Err(self.violation(what));
            }
            if node.crash_after_persist {
                node.crash_after_persist = false;
                node.core = None;
                self.history.push(
                    self.now,
                    Record::Fault(format!("crash node {id} after persisting, before sending")),
                );
                return Ok(());
            }

            // Events in order: elections and commits are checked as the core reports them.
            for event in events {
                self.check_event(id, &event, role, term)?;
                self.history
                    .push(self.now, Record::Trace { node: id, event });
            }

            // 2. Send.
            for msg in messages {
                let kind = msg.kind();
                *self.stats.sent.entry(kind).or_default() += 1;
                if kind == MessageKind::RequestVote {
                    *self
                        .stats
                        .votes_requested_by_term
                        .entry(msg.term())
                        .or_default() += 1;
                }
                let (from, to) = (msg.from, msg.to);
                let (outcome, copies) = self.net.send(msg, self.now, &mut self.rng);
                match outcome {
                    SendOutcome::Scheduled { .. } => {
                        for c in copies {
                            self.schedule(c.due_at, Event::Deliver(c));
                        }
                    }
                    SendOutcome::Cut | SendOutcome::Dropped => {
                        self.stats.lost += 1;
                        let why = if outcome == SendOutcome::Cut {
                            "link cut"
                        } else {
                            "dropped"
                        };
                        self.history.push(
                            self.now,
                            Record::Lost {
                                from,
                                to,
                                kind,
                                why,
                            },
                        );
                    }
                }
            }

            // 3. Apply.
            for entry in committed_entries {
                self.apply(id, entry)?;
            }

            // 4. Reads: none may be stale.
            for rs in read_states {
                self.read_confirmed(id, rs)?;
            }

            if let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) {
                core.advance();
            }
            self.maybe_compact(id)?;
        }
        self.validate_node(id)
    }

    /// Stores a snapshot the core installed from its leader, checks that it holds exactly the
    /// committed entries it claims to cover (State Machine Safety), and restores the state
    /// machine from it.
    fn install(&mut self, id: NodeId, snapshot: &Snapshot) -> Result<(), Violation> {
        let Some(node) = self.nodes.get_mut(&id) else {
            return Ok(());
        };
        let meta = snapshot.meta;
        if let Err(e) = node.storage.save_snapshot(snapshot) {
            return Err(self.violation(format!("node {id}: {e}")));
        }
        let entries = match decode_state(&snapshot.data) {
            Ok(entries) => entries,
            Err(e) => return Err(self.violation(format!("node {id}: bad snapshot: {e}"))),
        };
        if entries.len() as Index != meta.index || entries.last().map(|e| e.term) != Some(meta.term)
        {
            return Err(self.violation(format!(
                "node {id}: snapshot {}/{} holds {} entries",
                meta.index,
                meta.term,
                entries.len()
            )));
        }
        // The log after the snapshot was kept only if it continues the snapshot (Log Matching).
        let mut chain = Chain::default();
        chain.write(&entries);
        let kept = node.storage.last_index() > meta.index;
        if kept && node.chain.at(meta.index) != chain.at(meta.index) {
            return Err(self.violation(format!(
                "Log Matching: node {id} kept its log after snapshot {}/{} but its entries up to \
                 there differ from the snapshot's",
                meta.index, meta.term
            )));
        }
        if !kept {
            node.chain = chain;
        }
        for entry in &entries {
            if let Err(what) = self.checker.on_apply(id, entry) {
                return Err(self.violation(format!("{what} (through an installed snapshot)")));
            }
        }
        if let Some(node) = self.nodes.get_mut(&id) {
            if let Err(e) = restore_state(node, snapshot) {
                return Err(self.violation(format!("node {id}: {e}")));
            }
        }
        self.history.push(
            self.now,
            Record::Note(format!(
                "node {id} stored and restored snapshot {}/{}",
                meta.index, meta.term
            )),
        );
        Ok(())
    }

    /// Snapshots a server's state machine and compacts its log when enough was applied.
    fn maybe_compact(&mut self, id: NodeId) -> Result<(), Violation> {
        let every = self.config.snapshot_every;
        let Some(node) = self.nodes.get_mut(&id) else {
            return Ok(());
        };
        let Some(core) = node.core.as_mut() else {
            return Ok(());
        };
        let applied = core.log().applied();
        if every == 0 || applied < core.log().snapshot_index() + every {
            return Ok(());
        }
        debug_assert_eq!(node.applied.len() as Index, applied);
        let data = Bytes::copy_from_slice(&node.sm_bytes);
        let result = core
            .compact(applied, data)
            .map_err(|e| e.to_string())
            .and_then(|snapshot| {
                node.storage
                    .save_snapshot(&snapshot)
                    .map_err(|e| e.to_string())
            });
        match result {
            Ok(()) => self.process(id),
            Err(e) => Err(self.violation(format!("node {id}: snapshot failed: {e}"))),
        }
    }

    fn check_event(
        &mut self,
        id: NodeId,
        event: &TraceEvent,
        role: Role,
        term: Term,
    ) -> Result<(), Violation> {
        let result = match event {
            TraceEvent::BecameLeader { term } => {
                let chain = &self.nodes[&id].chain;
                self.checker.on_leader(id, *term, chain)
            }
            TraceEvent::CommitAdvanced { to, .. } => {
                let leader_term = (role == Role::Leader).then_some(term);
                let chain = &self.nodes[&id].chain;
                self.checker.on_commit(id, *to, leader_term, chain)
            }
            TraceEvent::BecameCandidate { term } => {
                self.stats.elections += 1;
                *self.stats.candidates_by_term.entry(*term).or_default() += 1;
                Ok(())
            }
            TraceEvent::BecamePreCandidate { .. } => {
                self.stats.pre_elections += 1;
                Ok(())
            }
            TraceEvent::AppendRejected { .. } => {
                *self.stats.append_rejections.entry(id).or_default() += 1;
                Ok(())
            }
            TraceEvent::ProtocolViolation { from, what } => Err(format!(
                "node {id} saw a protocol violation by {from}: {what}"
            )),
            _ => Ok(()),
        };
        result.map_err(|what| self.violation(what))
    }

    /// A leader confirmed a read: it must not be stale — its index covers every entry committed
    /// anywhere before the read was asked (linearizability of reads, thesis §6.4).
    fn read_confirmed(&mut self, id: NodeId, rs: ReadState) -> Result<(), Violation> {
        let Some((node, issued_at)) = self.reads_pending.remove(&rs.ctx) else {
            return Err(self.violation(format!(
                "node {id} confirmed read {} that was never asked or was already answered",
                rs.ctx
            )));
        };
        if node != id {
            return Err(self.violation(format!(
                "node {id} confirmed read {} that was asked of node {node}",
                rs.ctx
            )));
        }
        if let Err(what) = self.checker.on_read_state(id, rs.ctx, rs.index) {
            return Err(self.violation(what));
        }
        self.stats.reads_served += 1;
        self.reads_served.push(ServedRead {
            node: id,
            ctx: rs.ctx,
            index: rs.index,
            issued_at,
            served_at: self.now,
        });
        self.history.push(
            self.now,
            Record::Note(format!(
                "node {id} confirmed read {} at index {}",
                rs.ctx, rs.index
            )),
        );
        Ok(())
    }

    fn apply(&mut self, id: NodeId, entry: Entry) -> Result<(), Violation> {
        if let Err(what) = self.checker.on_apply(id, &entry) {
            return Err(self.violation(what));
        }
        let Some(node) = self.nodes.get_mut(&id) else {
            return Ok(());
        };
        let expected = node.applied.len() as Index + 1;
        if entry.index != expected {
            return Err(self.violation(format!(
                "node {id} applies index {} out of order (expected {expected})",
                entry.index
            )));
        }
        encode_entry(&mut node.sm_bytes, &entry);
        node.applied.push((entry.term, entry.data.clone()));
        Ok(())
    }

    fn validate_node(&self, id: NodeId) -> Result<(), Violation> {
        let Some(node) = self.nodes.get(&id) else {
            return Ok(());
        };
        let Some(core) = node.core.as_ref() else {
            return Ok(());
        };
        if let Err(what) = core.validate() {
            return Err(self.violation(format!("node {id} invariant: {what}")));
        }
        // After a drained Ready, storage holds exactly the core's log.
        if node.storage.last_index() != core.log().last_index()
            || node.chain.len() != core.log().last_index()
        {
            return Err(self.violation(format!(
                "node {id}: storage ends at {} but the core's log at {}",
                node.storage.last_index(),
                core.log().last_index()
            )));
        }
        Ok(())
    }

    fn violation(&self, what: String) -> Violation {
        Violation {
            seed: self.config.seed,
            time: self.now,
            what,
            history: self.history.records().map(|r| r.to_string()).collect(),
            omitted: self.history.total() - self.history.records().count() as u64,
        }
    }

    /// Compares every pair of live logs entry by entry (slow; the per-step checks are
    /// incremental). Log Matching: same index and term means identical up to there.
    /// Compacted prefixes are compared through the snapshots' contents.
    pub fn check_logs_fully(&self) -> Result<(), Violation> {
        let logs: Vec<(NodeId, Vec<Entry>)> = self
            .nodes
            .iter()
            .map(|(id, n)| {
                let mut log = n
                    .storage
                    .snapshot()
                    .and_then(|s| decode_state(&s.data).ok())
                    .unwrap_or_default();
                log.extend_from_slice(n.storage.entries());
                (*id, log)
            })
            .collect();
        for (i, (a, la)) in logs.iter().enumerate() {
            for (b, lb) in &logs[i + 1..] {
                let common = la.len().min(lb.len());
                // Find the highest index where both have the same term; all before must match.
                if let Some(k) = (0..common).rev().find(|k| la[*k].term == lb[*k].term) {
                    if la[..=k] != lb[..=k] {
                        return Err(self.violation(format!(
                            "Log Matching: logs of {a} and {b} share entry {}/{} but differ \
                             before it",
                            k + 1,
                            la[k].term
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------------
    // Faults
    // ------------------------------------------------------------------------------------------

    /// Crashes a server: it loses everything but its storage; messages to it are lost.
    pub fn crash(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(&id) {
            if node.core.take().is_some() {
                self.history
                    .push(self.now, Record::Fault(format!("crash node {id}")));
            }
        }
    }

    /// Arranges for a server to crash in the middle of its next Ready: after persisting, before
    /// sending or applying.
    pub fn crash_after_next_persist(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.crash_after_persist = true;
        }
    }

    /// Restarts a crashed server from its storage (does nothing to a live one).
    pub fn restart(&mut self, id: NodeId) {
        if self.nodes.get(&id).is_some_and(|n| n.core.is_none()) {
            self.history
                .push(self.now, Record::Fault(format!("restart node {id}")));
            self.boot(id);
        }
    }

    /// Splits the servers into groups that cannot talk; unlisted servers are alone.
    pub fn partition(&mut self, groups: &[Vec<NodeId>]) {
        self.history
            .push(self.now, Record::Fault(format!("partition {groups:?}")));
        self.net.partition(groups);
    }

    /// Cuts a server off from all others.
    pub fn disconnect(&mut self, id: NodeId) {
        self.history
            .push(self.now, Record::Fault(format!("disconnect node {id}")));
        self.net.isolate(id);
    }

    /// Reconnects a server cut off by [`Simulator::disconnect`].
    pub fn connect(&mut self, id: NodeId) {
        self.history
            .push(self.now, Record::Fault(format!("connect node {id}")));
        self.net.reconnect(id);
    }

    /// Cuts or restores one direction of one link.
    pub fn set_link(&mut self, from: NodeId, to: NodeId, up: bool) {
        self.history.push(
            self.now,
            Record::Fault(format!(
                "link {from}->{to} {}",
                if up { "up" } else { "cut" }
            )),
        );
        self.net.set_link(from, to, up);
    }

    /// Clears every partition and cut link.
    pub fn heal(&mut self) {
        self.history.push(self.now, Record::Fault("heal".into()));
        self.net.heal();
    }

    /// Changes the network's loss, duplication and delays from now on.
    pub fn set_net(&mut self, net: NetConfig) {
        self.history
            .push(self.now, Record::Fault(format!("network {net:?}")));
        self.net.set_config(net);
    }

    /// Makes a server time out now.
    pub fn campaign(&mut self, id: NodeId) -> Result<(), Violation> {
        if let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) {
            core.campaign();
        }
        self.process(id)
    }

    /// Sets a server's running election timeout, in ticks.
    pub fn set_election_timeout(&mut self, id: NodeId, ticks: u32) {
        if let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) {
            core.set_election_timeout(ticks);
        }
    }

    /// Sets a server's clock rate from now on: 2.0 ticks twice as often as the others (its
    /// timeouts fire in half the real time), 0.5 half as often. Clock drift, for lease reads.
    pub fn set_clock_rate(&mut self, id: NodeId, rate: f64) {
        let tick_us = self.config.tick_us;
        if let Some(node) = self.nodes.get_mut(&id) {
            let us = (tick_us as f64 / rate.max(1e-3)).round();
            node.tick_us = (us as u64).max(1);
            self.history.push(
                self.now,
                Record::Fault(format!("clock of node {id} at rate {rate}")),
            );
        }
    }

    /// Asks the leadership transfer of `to` at server `id` (thesis §3.10). `Ok(Err(..))` when the
    /// core refuses it (or the server is down: `NotLeader`).
    pub fn transfer_leader(
        &mut self,
        id: NodeId,
        to: NodeId,
    ) -> Result<Result<(), TransferError>, Violation> {
        let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) else {
            return Ok(Err(TransferError::NotLeader { leader_hint: None }));
        };
        let result = core.transfer_leader(to);
        self.history.push(
            self.now,
            Record::Note(format!("transfer leadership {id} -> {to}: {result:?}")),
        );
        self.process(id)?;
        Ok(result)
    }

    /// Asks server `id` for a linearizable read (ReadIndex, thesis §6.4). Returns the read's
    /// context if the server took it, or why not. When a leader confirms it (see
    /// [`Simulator::reads_served`]) the simulator checks that its index is at least every index
    /// committed anywhere before now.
    pub fn read_index(&mut self, id: NodeId) -> Result<Result<u64, String>, Violation> {
        let ctx = self.next_ctx;
        let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) else {
            return Ok(Err(format!("node {id} is down")));
        };
        // Known before the core sees the read: a lease read is confirmed within this call.
        let floor = self.checker.max_committed();
        self.next_ctx += 1;
        self.reads_pending.insert(ctx, (id, self.now));
        self.checker.on_read_issued(ctx, floor);
        if let Err(e) = core.read_index(ctx) {
            self.reads_pending.remove(&ctx);
            self.checker.on_read_refused(ctx);
            return Ok(Err(e.to_string()));
        }
        self.history.push(
            self.now,
            Record::Note(format!(
                "read {ctx} asked of node {id} (committed anywhere: {floor})"
            )),
        );
        self.process(id)?;
        Ok(Ok(ctx))
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

    // ------------------------------------------------------------------------------------------
    // Clients
    // ------------------------------------------------------------------------------------------

    /// Proposes a command at server `id`. Returns (index, term) if it is a live leader.
    pub fn propose(
        &mut self,
        id: NodeId,
        data: impl Into<Bytes>,
    ) -> Result<Option<(Index, Term)>, Violation> {
        let Some(core) = self.nodes.get_mut(&id).and_then(|n| n.core.as_mut()) else {
            return Ok(None);
        };
        let Ok((index, term)) = core.propose(data) else {
            return Ok(None);
        };
        self.history.push(
            self.now,
            Record::Proposed {
                node: id,
                index,
                term,
            },
        );
        self.process(id)?;
        Ok(Some((index, term)))
    }

    /// Proposes at whichever live server accepts, trying the one that believes itself leader of
    /// the highest term first. Returns (leader, index, term).
    pub fn propose_anywhere(
        &mut self,
        data: impl Into<Bytes>,
    ) -> Result<Option<(NodeId, Index, Term)>, Violation> {
        let data = data.into();
        let mut leaders: Vec<(Term, NodeId)> = self
            .statuses()
            .filter(|s| s.role == Role::Leader)
            .map(|s| (s.term, s.id))
            .collect();
        leaders.sort_unstable_by(|a, b| b.cmp(a));
        for (_, id) in leaders {
            if let Some((index, term)) = self.propose(id, data.clone())? {
                return Ok(Some((id, index, term)));
            }
        }
        Ok(None)
    }

    /// The classic lab's `one()`: submits `data` and waits until at least `expected` servers
    /// applied it at the same index, retrying with whichever leader exists (when `retry`) for up
    /// to 10 simulated seconds. Returns the index.
    pub fn one(
        &mut self,
        data: impl Into<Bytes>,
        expected: usize,
        retry: bool,
    ) -> Result<Result<Index, String>, Violation> {
        let data = data.into();
        let deadline = self.now + 10_000_000;
        while self.now < deadline {
            let Some((_, index, _)) = self.propose_anywhere(data.clone())? else {
                self.run_for(20_000)?;
                continue;
            };
            let wait_until = self.now + 2_000_000;
            while self.now < wait_until {
                let (count, cmd) = self.n_applied(index);
                if count >= expected && cmd.as_ref() == Some(&data) {
                    return Ok(Ok(index));
                }
                self.run_for(5_000)?;
            }
            if !retry {
                return Ok(Err(format!(
                    "one({data:?}) was not applied by {expected} servers"
                )));
            }
        }
        Ok(Err(format!(
            "one({data:?}) failed to reach agreement with {expected} servers in 10s"
        )))
    }

    /// How many servers applied index `index`, and the command they applied there. (Conflicting
    /// applies are caught by the State Machine Safety check as they happen.)
    pub fn n_applied(&self, index: Index) -> (usize, Option<Bytes>) {
        let mut count = 0;
        let mut cmd = None;
        for node in self.nodes.values() {
            if let Some((_, data)) = node.applied.get((index as usize).wrapping_sub(1)) {
                count += 1;
                cmd = Some(data.clone());
            }
        }
        (count, cmd)
    }

    /// Waits until at least `n` servers applied `index`; returns the command.
    pub fn wait_applied(
        &mut self,
        index: Index,
        n: usize,
        timeout: u64,
    ) -> Result<Option<Bytes>, Violation> {
        let ok = self.run_until_cond(timeout, |s| s.n_applied(index).0 >= n)?;
        Ok(if ok { self.n_applied(index).1 } else { None })
    }

    // ------------------------------------------------------------------------------------------
    // Queries
    // ------------------------------------------------------------------------------------------

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

    /// The history kept so far, formatted.
    pub fn history_lines(&self) -> Vec<String> {
        self.history.records().map(|r| r.to_string()).collect()
    }

    /// The history, to print a run as it goes (see [`History::since`]).
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Records a note of the test's own in the history (shown with faults).
    pub fn note(&mut self, what: impl Into<String>) {
        self.history.push(self.now, Record::Note(what.into()));
    }

    /// Ids of live servers.
    pub fn live(&self) -> BTreeSet<NodeId> {
        self.nodes
            .iter()
            .filter(|(_, n)| n.core.is_some())
            .map(|(id, _)| *id)
            .collect()
    }
}

// ----------------------------------------------------------------------------------------------
// The simulated state machine's snapshot: every applied entry, in order
// ----------------------------------------------------------------------------------------------

/// Appends one applied entry to the serialized state: term, kind, data length, data.
fn encode_entry(out: &mut Vec<u8>, e: &Entry) {
    out.extend_from_slice(&e.term.to_le_bytes());
    out.push(match e.kind {
        EntryKind::Normal => 1,
        EntryKind::Noop => 2,
        EntryKind::Config => 3,
    });
    out.extend_from_slice(&(e.data.len() as u32).to_le_bytes());
    out.extend_from_slice(&e.data);
}

/// The entries a serialized state holds (indexes from 1).
fn decode_state(mut bytes: &[u8]) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        if bytes.len() < 13 {
            return Err(format!(
                "truncated entry header after {} entries",
                out.len()
            ));
        }
        let (head, rest) = bytes.split_at(13);
        let term = u64::from_le_bytes(head[..8].try_into().map_err(|_| "term")?);
        let kind = match head[8] {
            1 => EntryKind::Normal,
            2 => EntryKind::Noop,
            3 => EntryKind::Config,
            k => return Err(format!("unknown entry kind {k}")),
        };
        let len = u32::from_le_bytes(head[9..13].try_into().map_err(|_| "length")?) as usize;
        if rest.len() < len {
            return Err(format!("truncated entry data after {} entries", out.len()));
        }
        let (data, rest) = rest.split_at(len);
        out.push(Entry {
            index: out.len() as Index + 1,
            term,
            kind,
            data: Bytes::copy_from_slice(data),
        });
        bytes = rest;
    }
    Ok(out)
}

/// Replaces a server's state machine with a snapshot's.
fn restore_state(node: &mut SimNode, snapshot: &Snapshot) -> Result<(), String> {
    let entries = decode_state(&snapshot.data)?;
    node.applied = entries.iter().map(|e| (e.term, e.data.clone())).collect();
    node.sm_bytes = snapshot.data.to_vec();
    Ok(())
}
