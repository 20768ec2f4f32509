//! `RaftNode`: one server's consensus state machine — Figure 2 of the Raft paper, sans I/O.
//!
//! ```text
//!    tick()  step(msg)  propose(data)  campaign()  transfer_leader(to)  read_index(ctx)
//!       │        │           │             │               │                  │
//!       ▼        ▼           ▼             ▼               ▼                  ▼
//!          ┌──────────────────────────────────────────┐
//!          │ RaftNode: term, vote, role, log, progress │  no clock, no socket, no disk
//!          └──────────────────────────────────────────┘
//!                               │ ready()
//!                               ▼
//!        persist → send → apply → serve reads → show events, then advance()
//! ```
//!
//! Beyond Figure 2, the thesis's optional rules, each behind a [`Config`] switch: PreVote (§9.6),
//! CheckQuorum with its leader lease (§6.2, §4.2.3), leadership transfer (§3.10) and ReadIndex
//! with optional lease reads (§6.4).
//!
//! An election with PreVote:
//!
//! ```text
//!   follower ── timer fires ──► pre-candidate (same term) ── PreVote(term+1) to all
//!       ▲                            │ majority yes                 │ majority no
//!       │                            ▼                              ▼
//!       │                        candidate (term+1) ──► leader   follower, same term
//!       └── AppendEntries of its term, or any higher term
//! ```
//!
//! The runtime owns time (it calls `tick`), the network (it delivers messages to `step` and sends
//! those of `Ready::messages`) and the disk (it persists what `Ready` says before sending). The same
//! inputs always give the same outputs: the election timeouts come from the core's own seeded RNG.
//!
//! The rules live beside this file, one concern a module (in the spirit of openraft's
//! `engine/handler/*`); this file holds the state, the inputs every runtime calls (`tick`,
//! `step`, `propose`, `campaign`), [`Ready`] and the queries. An input that belongs to one
//! concern lives with it: `transfer_leader`, `read_index`, `compact` and `snapshot_at`,
//! `propose_config_change`.
//!
//! | module        | what it holds                                                           |
//! |---------------|-------------------------------------------------------------------------|
//! | `election`    | terms (§5.1), role changes, RequestVote, PreVote, CheckQuorum            |
//! | `replication` | AppendEntries on both sides, log repair, heartbeats, commitment          |
//! | `snapshot`    | compaction and InstallSnapshot on both sides ([`CompactError`])          |
//! | `transfer`    | leadership transfer and TimeoutNow ([`TransferError`])                   |
//! | `read_index`  | ReadIndex and lease reads                                                |
//! | `conf_change` | single-server membership changes as a server proposes and records them   |

mod conf_change;
mod election;
mod read_index;
mod replication;
mod snapshot;
mod transfer;

pub use snapshot::CompactError;
pub use transfer::TransferError;

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::config::{Config, ConfigError};
use super::log::RaftLog;
use super::membership::{ConfHistory, Configuration};
use super::message::{Message, Rpc};
use super::progress::{Progress, ProgressState};
use super::quorum::VoteTally;
use super::read_only::{ReadOnly, ReadState};
use super::ready::{Ready, ReadyAck};
use super::rng::Rng;
use super::status::{PeerProgress, Status};
use super::storage::InitialState;
use super::trace::TraceEvent;
use super::types::{
    Entry, EntryKind, HardState, Index, NodeId, Role, Snapshot, SnapshotMeta, Term,
};

/// A proposal was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProposeError {
    /// Only the leader accepts proposals; here is whom this server believes leads.
    NotLeader {
        /// The leader this server knows of, if any.
        leader_hint: Option<NodeId>,
    },
    /// The leader is handing leadership to `to` (thesis §3.10): it takes no new entries until
    /// the transfer completes or is aborted (after an election timeout). Retry at `to`.
    TransferInProgress {
        /// The transfer's target.
        to: NodeId,
    },
}

impl std::fmt::Display for ProposeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ProposeError::NotLeader {
                leader_hint: Some(l),
            } => write!(f, "not the leader; try node {l}"),
            ProposeError::NotLeader { leader_hint: None } => {
                write!(f, "not the leader, and no leader is known")
            }
            ProposeError::TransferInProgress { to } => write!(
                f,
                "leadership is being transferred to node {to}: no proposals until it is done"
            ),
        }
    }
}

impl std::error::Error for ProposeError {}

/// A message the core would not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepError {
    /// Addressed to another server.
    WrongRecipient {
        /// The message's `to`.
        to: NodeId,
    },
    /// From a server that is not a member of the cluster (or from itself).
    UnknownSender {
        /// The message's `from`.
        from: NodeId,
    },
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::WrongRecipient { to } => write!(f, "message addressed to node {to}"),
            StepError::UnknownSender { from } => write!(f, "message from non-member {from}"),
        }
    }
}

impl std::error::Error for StepError {}

/// A snapshot a follower is receiving, chunk by chunk.
#[derive(Clone, Debug)]
struct IncomingSnapshot {
    /// The term of the leader sending it: chunks are only put together within one term.
    term: Term,
    meta: SnapshotMeta,
    conf: Option<Configuration>,
    data: Vec<u8>,
}

/// A leadership transfer under way (leader only).
#[derive(Clone, Copy, Debug)]
struct Transfer {
    to: NodeId,
    /// Leader ticks since it began: it is aborted after an election timeout.
    elapsed: u32,
}

/// One Raft server's consensus state.
#[derive(Clone, Debug)]
pub struct RaftNode {
    config: Config,
    // Persistent state (Figure 2), made durable through Ready before anything depends on it.
    term: Term,
    voted_for: Option<NodeId>,
    log: RaftLog,
    // Volatile state.
    role: Role,
    leader_id: Option<NodeId>,
    rng: Rng,
    election_elapsed: u32,
    randomized_election_timeout: u32,
    heartbeat_elapsed: u32,
    /// Leader only: nextIndex and matchIndex of every other voter.
    progress: BTreeMap<NodeId, Progress>,
    /// Candidate (or pre-candidate) only: the answers received this term (or this PreVote round).
    votes: VoteTally,
    /// PreVote (thesis §9.6): this follower is asking whether it could win an election in
    /// `term + 1`. Its role stays Follower and its term does not change.
    pre_candidate: bool,
    /// Ticks since this server started: the time base of lease reads.
    ticks: u64,
    /// Leader only (CheckQuorum): peers heard from since the last check.
    recent_active: BTreeSet<NodeId>,
    /// Leader only (CheckQuorum): ticks since the last check.
    quorum_elapsed: u32,
    /// Leader only: a leadership transfer under way.
    transfer: Option<Transfer>,
    /// Leader only: ReadIndex rounds and the reads waiting on them.
    reads: ReadOnly,
    /// Confirmed reads for the next Ready.
    read_states: Vec<ReadState>,
    // Output waiting for the next Ready.
    msgs: Vec<Message>,
    events: Vec<TraceEvent>,
    /// The hard state as last handed out in a Ready (or recovered): the durable one.
    stable_hard_state: HardState,
    /// What the Ready handed out and not yet acknowledged asked for.
    pending: Option<ReadyAck>,
    /// The newest snapshot: the state covering the compacted log prefix, sent to followers that
    /// need entries from before `log.first_index()`.
    snapshot: Option<Snapshot>,
    /// Follower only: the leader's snapshot arriving in chunks.
    incoming: Option<IncomingSnapshot>,
    /// A snapshot installed from the leader, for the next Ready to store and restore.
    to_install: Option<Snapshot>,
    /// The configurations its log defines; the latest is in force (thesis §4.1).
    confs: ConfHistory,
}

impl RaftNode {
    /// A server starting from `initial` (empty for a brand new server, or what its storage
    /// recovered after a crash). It starts as a follower with no known leader.
    pub fn new(config: Config, initial: InitialState) -> Result<Self, ConfigError> {
        config.validate()?;
        let hs = initial.hard_state;
        let meta = initial
            .snapshot
            .as_ref()
            .map(|s| s.meta)
            .unwrap_or_default();
        let base = initial
            .snapshot
            .as_ref()
            .and_then(|s| s.conf.clone())
            .unwrap_or_else(|| Configuration::with_voters(config.voters.iter().copied()));
        let mut confs = ConfHistory {
            base,
            entries: Vec::new(),
        };
        for e in initial
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Config)
        {
            // Entries were validated when they arrived; storage that hands back garbage leaves
            // the configuration before it in force.
            if let Ok(conf) = Configuration::decode(&e.data) {
                confs.push(e.index, conf);
            }
        }
        let log = RaftLog::restore(meta.index, meta.term, initial.entries, hs.commit);
        let stable_hard_state = HardState {
            term: hs.term,
            voted_for: hs.voted_for,
            commit: log.committed(),
        };
        let mut node = RaftNode {
            rng: Rng::derive(config.seed, config.id),
            config,
            term: hs.term,
            voted_for: hs.voted_for,
            log,
            role: Role::Follower,
            leader_id: None,
            election_elapsed: 0,
            randomized_election_timeout: 0,
            heartbeat_elapsed: 0,
            progress: BTreeMap::new(),
            votes: VoteTally::default(),
            pre_candidate: false,
            ticks: 0,
            recent_active: BTreeSet::new(),
            quorum_elapsed: 0,
            transfer: None,
            reads: ReadOnly::default(),
            read_states: Vec::new(),
            msgs: Vec::new(),
            events: Vec::new(),
            stable_hard_state,
            pending: None,
            snapshot: initial.snapshot,
            incoming: None,
            to_install: None,
            confs,
        };
        node.reset_randomized_election_timeout();
        Ok(node)
    }

    // ------------------------------------------------------------------------------------------
    // Inputs
    // ------------------------------------------------------------------------------------------

    /// Advances the logical clock by one tick: followers and candidates count toward their
    /// election timeout, leaders toward their next heartbeat (and CheckQuorum, and the end of a
    /// leadership transfer).
    pub fn tick(&mut self) {
        self.ticks += 1;
        match self.role {
            Role::Leader => self.tick_leader(),
            Role::Follower | Role::Candidate => {
                self.election_elapsed += 1;
                if !self.is_voter() {
                    // A learner, a removed server or one still joining never stands: its timer
                    // stays quiet (it still counts, for the lease of `lease()`).
                    self.election_elapsed =
                        self.election_elapsed.min(self.randomized_election_timeout);
                    return;
                }
                if self.election_elapsed >= self.randomized_election_timeout {
                    self.events.push(TraceEvent::ElectionTimeout {
                        term: self.term,
                        timeout: self.randomized_election_timeout,
                    });
                    self.hup();
                }
            }
        }
    }

    /// Times out now: starts an election at once, as if the election timer had fired (so with
    /// PreVote on, a PreVote round first). A leader ignores it.
    pub fn campaign(&mut self) {
        if self.role != Role::Leader && self.is_voter() {
            self.hup();
        }
    }

    /// Sets the running election timer to fire after `timeout` ticks in total (counting the ticks
    /// already elapsed). The next reset draws from the RNG again. For tests, and for showing a
    /// split vote by making timers collide.
    pub fn set_election_timeout(&mut self, timeout: u32) {
        self.randomized_election_timeout = timeout.max(1);
    }

    /// Sets the ticks elapsed on the election timer (to align or spread timers).
    pub fn set_election_elapsed(&mut self, elapsed: u32) {
        self.election_elapsed = elapsed;
    }

    /// The election timer: (ticks elapsed, the randomized timeout it runs to). A follower or
    /// candidate that is a voter times out on the tick that brings the first to the second.
    pub fn election_timer(&self) -> (u32, u32) {
        (self.election_elapsed, self.randomized_election_timeout)
    }

    /// Leader only: ticks since the last heartbeat; the next goes out on the tick that brings
    /// it to the configured heartbeat interval.
    pub fn heartbeat_elapsed(&self) -> u32 {
        self.heartbeat_elapsed
    }

    /// Appends a client command to the leader's log and starts replicating it. Returns the
    /// entry's index and term: the command is committed once an entry with that index *and*
    /// term is applied.
    pub fn propose(&mut self, data: impl Into<Bytes>) -> Result<(Index, Term), ProposeError> {
        if self.role != Role::Leader {
            return Err(ProposeError::NotLeader {
                leader_hint: self.leader_id,
            });
        }
        if let Some(t) = self.transfer {
            // §3.10: "the prior leader stops accepting new client requests" while it transfers.
            return Err(ProposeError::TransferInProgress { to: t.to });
        }
        let index = self.log.last_index() + 1;
        self.log.append(Entry::normal(index, self.term, data));
        self.broadcast_append();
        Ok((index, self.term))
    }

    /// Handles one message from a peer: first the rules every server follows for terms (§5.1),
    /// then the handler of its RPC.
    pub fn step(&mut self, msg: Message) -> Result<(), StepError> {
        if msg.to != self.config.id {
            return Err(StepError::WrongRecipient { to: msg.to });
        }
        // Membership changes: a legitimate sender may be in no configuration this server knows
        // yet (a leader added after this server fell behind), so any other node may speak.
        if msg.from == self.config.id || msg.from == 0 {
            return Err(StepError::UnknownSender { from: msg.from });
        }
        let from = msg.from;
        let msg_term = msg.term();
        if !self.step_term(&msg) {
            return Ok(());
        }

        if self.role == Role::Leader && msg_term == self.term {
            // CheckQuorum: the peer is alive and in our term.
            self.recent_active.insert(from);
        }

        match msg.rpc {
            Rpc::RequestVote(args) => self.handle_request_vote(from, args),
            Rpc::RequestVoteReply(reply) => self.handle_request_vote_reply(from, reply),
            Rpc::PreVote(args) => self.handle_pre_vote(from, args),
            Rpc::PreVoteReply(reply) => self.handle_pre_vote_reply(from, reply),
            Rpc::AppendEntries(args) => self.handle_append_entries(from, args),
            Rpc::AppendEntriesReply(reply) => self.handle_append_entries_reply(from, reply),
            Rpc::InstallSnapshot(args) => self.handle_install_snapshot(from, args),
            Rpc::InstallSnapshotReply(reply) => self.handle_install_snapshot_reply(from, reply),
            Rpc::TimeoutNow(_) => self.handle_timeout_now(from),
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------------
    // Output
    // ------------------------------------------------------------------------------------------

    /// Whether [`RaftNode::ready`] has anything to hand out.
    pub fn has_ready(&self) -> bool {
        self.hard_state() != self.stable_hard_state
            || self.log.persisted() < self.log.last_index()
            || !self.msgs.is_empty()
            || self.to_install.is_some()
            || self.log.has_next_to_apply()
            || !self.read_states.is_empty()
            || !self.events.is_empty()
    }

    /// Hands out the work to do, in order: persist, send, apply. Call
    /// [`RaftNode::advance`] once it is done, before the next `ready`.
    pub fn ready(&mut self) -> Ready {
        debug_assert!(self.pending.is_none(), "ready() twice without advance()");
        let hs = self.hard_state();
        let hard_state = (hs != self.stable_hard_state).then_some(hs);
        self.stable_hard_state = hs;
        let entries = self.log.unpersisted();
        let committed_entries = self.log.next_to_apply();
        self.pending = Some(ReadyAck {
            last_entry: entries.last().map(|e| (e.index, e.term)),
            applied: committed_entries.last().map(|e| e.index),
        });
        Ready {
            snapshot: self.to_install.take(),
            hard_state,
            entries,
            messages: std::mem::take(&mut self.msgs),
            committed_entries,
            read_states: std::mem::take(&mut self.read_states),
            events: std::mem::take(&mut self.events),
        }
    }

    /// Acknowledges the last [`Ready`]: its entries are durable, its messages sent, its committed
    /// entries applied. A leader may now count its own copy toward commitment.
    pub fn advance(&mut self) {
        let Some(ack) = self.pending.take() else {
            return;
        };
        if let Some((index, term)) = ack.last_entry {
            self.log.persisted_to(index, term);
        }
        if let Some(applied) = ack.applied {
            self.log.applied_to(applied);
        }
        if self.role == Role::Leader {
            self.maybe_commit();
        }
    }

    // ------------------------------------------------------------------------------------------
    // Queries
    // ------------------------------------------------------------------------------------------

    /// This server's id.
    pub fn id(&self) -> NodeId {
        self.config.id
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Its current term.
    pub fn term(&self) -> Term {
        self.term
    }

    /// The leader it knows of in the current term.
    pub fn leader_id(&self) -> Option<NodeId> {
        self.leader_id
    }

    /// Whether this follower is a pre-candidate: asking for pre-votes for `term() + 1` (PreVote,
    /// thesis §9.6). Its role is Follower meanwhile.
    pub fn is_pre_candidate(&self) -> bool {
        self.pre_candidate
    }

    /// Its log.
    pub fn log(&self) -> &RaftLog {
        &self.log
    }

    /// The newest snapshot (taken here or installed from a leader).
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The hard state as it is now (durable once the next Ready is persisted). With the unsafe
    /// rule `forget_vote` it never holds a vote.
    pub fn hard_state(&self) -> HardState {
        HardState {
            term: self.term,
            voted_for: if self.config.unsafe_rules.forget_vote {
                None
            } else {
                self.voted_for
            },
            commit: self.log.committed(),
        }
    }

    /// Everything a dashboard shows about this server.
    pub fn status(&self) -> Status {
        Status {
            id: self.config.id,
            role: self.role,
            term: self.term,
            voted_for: self.voted_for,
            leader_id: self.leader_id,
            commit: self.log.committed(),
            applied: self.log.applied(),
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            persisted_index: self.log.persisted(),
            first_index: self.log.first_index(),
            snapshot_index: self.log.snapshot_index(),
            snapshot_term: self.log.snapshot_term(),
            snapshot_bytes: self.snapshot.as_ref().map_or(0, |s| s.data.len() as u64),
            receiving_snapshot: self
                .incoming
                .as_ref()
                .map(|i| (i.meta.index, i.data.len() as u64)),
            election_elapsed: self.election_elapsed,
            election_timeout: self.randomized_election_timeout,
            progress: self
                .progress
                .iter()
                .map(|(id, p)| PeerProgress {
                    id: *id,
                    match_index: p.matched,
                    next_index: p.next,
                    state: p.state,
                    inflight: p.inflight(),
                    snapshot_transfer: (p.state == ProgressState::Snapshot).then(|| {
                        let total = self.snapshot.as_ref().map_or(0, |s| s.data.len() as u64);
                        (p.pending_snapshot, p.snapshot_offset, total)
                    }),
                })
                .collect(),
            pre_candidate: self.pre_candidate,
            transfer_target: self.transfer_target(),
            voters: self.confs.current().voters.iter().copied().collect(),
            learners: self.confs.current().learners.iter().copied().collect(),
            conf_pending: self.confs.current_index() > self.log.committed(),
        }
    }

    /// Checks the core's own invariants (the simulator calls this after every step).
    pub fn validate(&self) -> Result<(), String> {
        self.log.validate()?;
        self.confs.validate()?;
        if let Some((i, _)) = self.confs.entries.first() {
            if *i <= self.log.snapshot_index() {
                return Err(format!(
                    "configuration entry {i} inside the snapshot (up to {})",
                    self.log.snapshot_index()
                ));
            }
        }
        if self.role == Role::Leader && !self.confs.current().is_voter(self.config.id) {
            let index = self.confs.current_index();
            if index <= self.log.committed() {
                return Err(format!(
                    "leads although its removal at {index} is committed ({})",
                    self.log.committed()
                ));
            }
        }
        let meta = self.snapshot.as_ref().map(|s| s.meta).unwrap_or_default();
        if (meta.index, meta.term) != (self.log.snapshot_index(), self.log.snapshot_term()) {
            return Err(format!(
                "snapshot {}/{} but the log is compacted to {}/{}",
                meta.index,
                meta.term,
                self.log.snapshot_index(),
                self.log.snapshot_term()
            ));
        }
        if self.log.last_term() > self.term {
            return Err(format!(
                "last log term {} above current term {}",
                self.log.last_term(),
                self.term
            ));
        }
        match self.role {
            Role::Leader => {
                if self.leader_id != Some(self.config.id) || self.voted_for != Some(self.config.id)
                {
                    return Err(
                        "a leader must know itself as leader and have voted for itself".to_string(),
                    );
                }
                for (id, p) in &self.progress {
                    if p.matched >= p.next || p.next > self.log.last_index() + 1 {
                        return Err(format!(
                            "progress of {id}: match {} next {} last {}",
                            p.matched,
                            p.next,
                            self.log.last_index()
                        ));
                    }
                }
            }
            Role::Candidate => {
                if self.voted_for != Some(self.config.id) {
                    return Err("a candidate votes for itself".to_string());
                }
            }
            Role::Follower => {}
        }
        if self.pre_candidate && self.role != Role::Follower {
            return Err(format!("a pre-candidate in role {}", self.role));
        }
        if self.role != Role::Leader
            && (self.transfer.is_some()
                || self.reads.pending_len() > 0
                || !self.recent_active.is_empty())
        {
            return Err("leader state on a server that does not lead".to_string());
        }
        Ok(())
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

    /// A leader's tick: CheckQuorum first (it may step down), then the transfer's deadline, then
    /// replication's stall timers and the heartbeat.
    fn tick_leader(&mut self) {
        if !self.check_quorum() {
            return;
        }
        self.tick_transfer();
        self.tick_replication();
    }

    /// Every other member, voters and learners: whom a leader replicates to.
    fn peers(&self) -> Vec<NodeId> {
        let me = self.config.id;
        self.confs
            .current()
            .members()
            .into_iter()
            .filter(|v| *v != me)
            .collect()
    }

    /// Every other voter: whom a candidate asks for votes.
    fn voter_peers(&self) -> Vec<NodeId> {
        let me = self.config.id;
        self.confs
            .current()
            .voters
            .iter()
            .copied()
            .filter(|v| *v != me)
            .collect()
    }

    /// The voters of the configuration in force.
    fn voters(&self) -> Vec<NodeId> {
        self.confs.current().voter_list()
    }

    /// Whether this server votes in the configuration in force.
    fn is_voter(&self) -> bool {
        self.confs.current().is_voter(self.config.id)
    }

    fn send(&mut self, to: NodeId, rpc: Rpc) {
        self.msgs.push(Message {
            from: self.config.id,
            to,
            rpc,
        });
    }
}
