//! A deterministic simulator: a seeded network of consensus cores with delay, loss, duplication,
//! reordering, partitions, crashes and restarts — and the safety properties of the Raft paper
//! checked after every step.
//!
//! ```text
//!   event queue (time, seq) ──► Tick(node) ───────────► core.tick()      (each node's own clock
//!                          └──► Deliver(message) ─────► core.step(msg)    rate: drift)
//!                                                           │
//!          drain Ready: persist to MemStorage ─► send into SimNetwork (delay/drop/dup/cut)
//!                       apply committed entries ─► check invariants (Figure 3)
//!                       read states ─► check reads are not stale (ReadIndex, thesis §6.4)
//! ```
//!
//! Everything random is drawn from one seed, so a seed and a test script replay a run exactly. A
//! [`Violation`] carries the seed and the events that led to it.
//!
//! | module        | what it holds                                                           |
//! |---------------|-------------------------------------------------------------------------|
//! | (here)        | [`SimConfig`], [`Simulator`]: the event queue, the step loop, the checks |
//! | `replica`     | one simulated server: core, storage, state machine and its snapshots    |
//! | `network`     | [`SimNetwork`]: messages in flight, partitions, loss, delay             |
//! | `faults`      | crashes, restarts, partitions, cut links, clock drift, timer nudges     |
//! | `clients`     | proposals, `one()`, ReadIndex reads, leader transfer, membership        |
//! | `observation` | status, logs, applied commands, [`Stats`], the [`Timeline`]             |
//! | `pending`     | what happens next ([`Pending`]); a message delivered, dropped, duplicated |
//! | `timeline`    | [`Timeline`]: what happened, stamped with simulated time; [`Violation`]  |
//! | `invariants`  | [`Checker`]: the safety properties of Figure 3                          |

mod clients;
mod faults;
pub mod invariants;
pub mod network;
mod observation;
mod pending;
mod replica;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

pub use clients::ServedRead;
pub use invariants::{Chain, Checker};
pub use network::{InFlight, LinkFault, NetConfig, SendOutcome, SimNetwork};
pub use observation::Stats;
pub use pending::{NoSuchMessage, Pending, PendingKind};
pub use replica::{decode_state, encode_applied};
pub use timeline::{Record, Timeline, Violation};

use replica::{encode_entry, restore_state, SimNode};

use crate::raft::{
    Config, Configuration, Entry, Index, MemStorage, MessageKind, NodeId, RaftNode, ReadMode,
    ReadState, Ready, Rng, Role, Snapshot, Storage, Term, TraceEvent, UnsafeRules,
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
    /// Records of the timeline to keep for a failure report (0 keeps all).
    pub timeline: usize,
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
        let timeline = std::env::var("RAFTLAB_SIM_HISTORY")
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
            timeline,
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

#[derive(Clone, Debug)]
enum Event {
    Tick(NodeId, u64),
    Deliver(InFlight),
}

/// The simulator.
#[derive(Clone, Debug)]
pub struct Simulator {
    config: SimConfig,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Event>,
    nodes: BTreeMap<NodeId, SimNode>,
    net: SimNetwork,
    rng: Rng,
    checker: Checker,
    timeline: Timeline,
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
            net: SimNetwork::new(config.net.clone(), &ids),
            rng: Rng::derive(config.seed, 0),
            timeline: Timeline::new(config.timeline),
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

    /// Counts a message as lost and writes it to the timeline, with why.
    fn lose(&mut self, from: NodeId, to: NodeId, kind: MessageKind, why: &'static str) {
        self.stats.lost += 1;
        self.timeline.push(
            self.now,
            Record::Lost {
                from,
                to,
                kind,
                why,
            },
        );
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
                self.deliver(inflight)?;
            }
        }
        Ok(true)
    }

    /// Hands a message to its receiver now — or loses it, when the link is cut or the receiver
    /// is down. Returns why it was lost, if it was.
    fn deliver(&mut self, inflight: InFlight) -> Result<Option<&'static str>, Violation> {
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
            self.lose(from, to, kind, why);
            return Ok(Some(why));
        }
        self.stats.delivered += 1;
        self.timeline.push(self.now, Record::Delivered(msg.clone()));
        if let Some(core) = self.nodes.get_mut(&to).and_then(|n| n.core.as_mut()) {
            if let Err(e) = core.step(msg) {
                return Err(self.violation(format!("core refused a message: {e}")));
            }
        }
        self.process(to)?;
        Ok(None)
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
                self.timeline.push(
                    self.now,
                    Record::Fault(format!("crash node {id} after persisting, before sending")),
                );
                return Ok(());
            }

            // Events in order: elections and commits are checked as the core reports them.
            for event in events {
                self.check_event(id, &event, role, term)?;
                self.timeline
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
                        let why = if outcome == SendOutcome::Cut {
                            "link cut"
                        } else {
                            "dropped"
                        };
                        self.lose(from, to, kind, why);
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
        self.timeline.push(
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
        self.timeline.push(
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
            timeline: self.timeline.records().map(|r| r.to_string()).collect(),
            omitted: self.timeline.total() - self.timeline.records().count() as u64,
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
}
