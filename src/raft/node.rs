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

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use super::config::{Config, ConfigError, ReadMode};
use super::log::{Consistency, RaftLog};
use super::membership::{ConfChange, ConfChangeError, ConfHistory, Configuration, Membership};
use super::message::{
    AppendEntriesArgs, AppendEntriesReply, InstallSnapshotArgs, InstallSnapshotReply, Message,
    RequestVoteArgs, RequestVoteReply, Rpc, TimeoutNowArgs,
};
use super::progress::{Progress, ProgressState};
use super::quorum::{self, VoteResult, VoteTally};
use super::read_only::{ReadIndexError, ReadOnly, ReadState};
use super::ready::{Ready, ReadyAck};
use super::rng::Rng;
use super::status::{PeerProgress, Status};
use super::storage::InitialState;
use super::trace::{
    AppendRejectReason, StepDownReason, TraceEvent, TransferAbortReason, VoteRejectReason,
};
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

/// A leadership transfer that could not start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferError {
    /// Only the leader can hand leadership over; here is whom this server believes leads.
    NotLeader {
        /// The leader this server knows of, if any.
        leader_hint: Option<NodeId>,
    },
    /// The target is this leader itself.
    AlreadyLeader,
    /// The target is not a voting member.
    NotAVoter {
        /// The requested target.
        to: NodeId,
    },
    /// Another transfer is under way (to a different target).
    InProgress {
        /// Its target.
        to: NodeId,
    },
}

impl std::fmt::Display for TransferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransferError::NotLeader {
                leader_hint: Some(l),
            } => write!(f, "not the leader; node {l} is"),
            TransferError::NotLeader { leader_hint: None } => {
                write!(f, "not the leader, and no leader is known")
            }
            TransferError::AlreadyLeader => write!(f, "the target already leads"),
            TransferError::NotAVoter { to } => write!(f, "node {to} is not a voting member"),
            TransferError::InProgress { to } => {
                write!(f, "a transfer to node {to} is already under way")
            }
        }
    }
}

impl std::error::Error for TransferError {}

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

/// A snapshot the core would not take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompactError {
    /// The log is already compacted up to `snapshot_index`, at or beyond the requested index.
    AlreadyCompacted {
        /// The current snapshot's index.
        snapshot_index: Index,
    },
    /// The index is not applied yet (a snapshot captures applied state only).
    NotApplied {
        /// The requested index.
        index: Index,
        /// The highest applied index.
        applied: Index,
    },
}

impl std::fmt::Display for CompactError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CompactError::AlreadyCompacted { snapshot_index } => {
                write!(f, "the log is already compacted up to {snapshot_index}")
            }
            CompactError::NotApplied { index, applied } => {
                write!(f, "index {index} is not applied yet (applied {applied})")
            }
        }
    }
}

impl std::error::Error for CompactError {}

/// A snapshot a follower is receiving, chunk by chunk.
#[derive(Debug)]
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
#[derive(Debug)]
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

    /// The election timer fired: a PreVote round, or an election straight away.
    fn hup(&mut self) {
        if !self.is_voter() {
            return;
        }
        if self.config.pre_vote {
            self.become_pre_candidate();
        } else {
            self.become_candidate(false);
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

    /// Proposes a single-server membership change (thesis §4.1; see [`super::membership`]).
    /// The leader appends a configuration entry and uses the new configuration at once. Returns
    /// the entry's index; the change is done when that entry commits.
    ///
    /// Refused on a follower, during a leadership transfer, before the leader has committed an
    /// entry of its own term, while another configuration entry is uncommitted, for a malformed
    /// change, and for promoting a learner whose matchIndex is more than one batch
    /// (`max_entries_per_append`) behind the leader's last index.
    pub fn propose_config_change(&mut self, change: ConfChange) -> Result<Index, ConfChangeError> {
        if self.role != Role::Leader {
            return Err(ConfChangeError::NotLeader {
                leader_hint: self.leader_id,
            });
        }
        if let Some(t) = self.transfer {
            return Err(ConfChangeError::TransferInProgress { to: t.to });
        }
        let commit = self.log.committed();
        if self.log.term(commit) != Some(self.term) {
            return Err(ConfChangeError::NoCommitInTerm {
                term: self.term,
                commit,
            });
        }
        let pending = self.confs.current_index();
        if pending > commit {
            return Err(ConfChangeError::ChangePending { index: pending });
        }
        let next = self.confs.current().apply(change)?;
        let last_index = self.log.last_index();
        if let ConfChange::PromoteLearner(id) = change {
            let matched = self.progress.get(&id).map_or(0, |p| p.matched);
            let slack = self.config.max_entries_per_append as Index;
            if matched.saturating_add(slack) < last_index {
                return Err(ConfChangeError::LearnerBehind {
                    id,
                    matched,
                    last_index,
                });
            }
        }
        let index = last_index + 1;
        let entry = Entry::config(index, self.term, &next);
        self.confs.push(index, next.clone());
        self.sync_progress();
        self.log.append(entry);
        self.events
            .push(TraceEvent::ConfChangeProposed { change, index });
        self.events.push(TraceEvent::ConfigurationChanged {
            conf: next,
            index,
            reverted: false,
        });
        self.broadcast_append();
        // A single-voter configuration commits with the leader's own durable copy.
        self.maybe_commit();
        Ok(index)
    }

    /// The configuration in force (the latest in the log, committed or not), the index of the
    /// entry that set it, and whether that entry is still uncommitted.
    pub fn membership(&self) -> Membership {
        let index = self.confs.current_index();
        Membership {
            conf: self.confs.current().clone(),
            index,
            pending: index > self.log.committed(),
        }
    }

    /// The configuration in force: its voters and learners.
    pub fn configuration(&self) -> &Configuration {
        self.confs.current()
    }

    /// Hands leadership to `to` (thesis §3.10). The leader stops taking proposals, brings `to`'s
    /// log up to date if it is behind, then sends it TimeoutNow: `to` starts an election at once
    /// (skipping PreVote, and its voters bypass their leader lease), which it wins in the next
    /// term unless something fails. If `to` has not taken over after an election timeout, the
    /// transfer is aborted (a `TransferAborted` event) and proposals are accepted again.
    ///
    /// A second call for the same target while it is under way changes nothing.
    pub fn transfer_leader(&mut self, to: NodeId) -> Result<(), TransferError> {
        if self.role != Role::Leader {
            return Err(TransferError::NotLeader {
                leader_hint: self.leader_id,
            });
        }
        if to == self.config.id {
            return Err(TransferError::AlreadyLeader);
        }
        if !self.confs.current().is_voter(to) {
            return Err(TransferError::NotAVoter { to });
        }
        match self.transfer {
            Some(t) if t.to == to => return Ok(()),
            Some(t) => return Err(TransferError::InProgress { to: t.to }),
            None => {}
        }
        let last_index = self.log.last_index();
        let match_index = self.progress.get(&to).map_or(0, |p| p.matched);
        self.transfer = Some(Transfer { to, elapsed: 0 });
        self.events.push(TraceEvent::TransferStarted {
            to,
            match_index,
            last_index,
        });
        if match_index >= last_index {
            self.send_timeout_now(to);
        } else {
            // Bring it up to date first; TimeoutNow follows the reply that shows it caught up.
            if let Some(pr) = self.progress.get_mut(&to) {
                if pr.state == ProgressState::Probe {
                    pr.unpause();
                }
            }
            self.send_append(to, true);
            while self.send_append(to, false) {}
        }
        Ok(())
    }

    /// The target of the leadership transfer under way, if any (leader only).
    pub fn transfer_target(&self) -> Option<NodeId> {
        self.transfer.map(|t| t.to)
    }

    /// A linearizable read (thesis §6.4), identified by the caller's `ctx`. The leader records
    /// its commit index as the read index, confirms that it still leads by a round of heartbeats
    /// acknowledged by a majority, then hands out `ReadState { ctx, index }` in
    /// [`Ready::read_states`]: the runtime serves the read once its state machine has applied
    /// `index`. With [`ReadMode::Lease`] (and CheckQuorum on, and no transfer under way) the
    /// leader skips the round while its lease holds — see the assumptions there.
    ///
    /// Refused on a follower (the runtime forwards to the leader) and on a leader that has not
    /// yet committed an entry of its own term. A leader that steps down drops the reads it has
    /// not confirmed (a `ReadsDropped` event lists them): they never appear in `read_states`,
    /// and the runtime tells their clients to retry.
    pub fn read_index(&mut self, ctx: u64) -> Result<(), ReadIndexError> {
        if self.role != Role::Leader {
            return Err(ReadIndexError::NotLeader {
                leader_hint: self.leader_id,
            });
        }
        let index = self.log.committed();
        if self.log.term(index) != Some(self.term) {
            // §6.4 step 1: until its no-op commits, a new leader does not know the commit index.
            return Err(ReadIndexError::NoCommitInTerm {
                term: self.term,
                commit: index,
            });
        }
        let voters = self.voters();
        let lease = self.config.read_mode == ReadMode::Lease
            && self.config.check_quorum
            && self.transfer.is_none()
            && self.reads.lease_holds(
                self.config.id,
                &voters,
                self.ticks,
                u64::from(self.lease_ticks()),
            );
        if voters == [self.config.id] || lease {
            self.events
                .push(TraceEvent::ReadIndexConfirmed { ctx, index, lease });
            self.read_states.push(ReadState { ctx, index });
            return Ok(());
        }
        let round = self.start_round();
        self.reads.add(ctx, index, round);
        self.events
            .push(TraceEvent::ReadIndexStarted { ctx, index, round });
        self.broadcast_heartbeat();
        Ok(())
    }

    /// Reads waiting for their confirmation round (leader only).
    pub fn pending_reads(&self) -> usize {
        self.reads.pending_len()
    }

    /// The snapshot [`RaftNode::compact`] would record for `index` and `data`, without compacting:
    /// its term and the configuration in force at `index` (both settled once `index` is applied).
    /// A runtime that writes a large snapshot out on another thread asks for it first, and
    /// compacts when the write is done.
    pub fn snapshot_at(
        &self,
        index: Index,
        data: impl Into<Bytes>,
    ) -> Result<Snapshot, CompactError> {
        if index <= self.log.snapshot_index() {
            return Err(CompactError::AlreadyCompacted {
                snapshot_index: self.log.snapshot_index(),
            });
        }
        let applied = self.log.applied();
        let term = match self.log.term(index) {
            Some(term) if index <= applied => term,
            _ => return Err(CompactError::NotApplied { index, applied }),
        };
        Ok(Snapshot {
            meta: SnapshotMeta { index, term },
            data: data.into(),
            conf: self.normalize_conf(self.confs.at(index).clone()),
        })
    }

    /// Compacts the log (§7): the state machine's `data`, captured after applying every entry up
    /// to `index`, replaces the entries up to `index`. The runtime stores the returned snapshot
    /// (it is also what this server sends a follower that needs the compacted entries).
    pub fn compact(
        &mut self,
        index: Index,
        data: impl Into<Bytes>,
    ) -> Result<Snapshot, CompactError> {
        let snapshot = self.snapshot_at(index, data)?;
        self.log.compact(index, snapshot.meta.term);
        self.confs.compact(index);
        self.events.push(TraceEvent::SnapshotTaken {
            index,
            term: snapshot.meta.term,
            bytes: snapshot.data.len() as u64,
        });
        self.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Handles one message from a peer.
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

        if msg_term > self.term {
            // CheckQuorum's leader lease (thesis §4.2.3, "disruptive servers"): "if a server
            // receives a RequestVote request within the minimum election timeout of hearing from
            // a current leader, it does not update its term or grant its vote" — unless that
            // leader itself asked for the election (leadership transfer).
            if let Rpc::RequestVote(args) = &msg.rpc {
                if self.config.check_quorum && !args.leadership_transfer {
                    if let Some((leader, ticks_ago)) = self.lease() {
                        self.events.push(TraceEvent::VoteIgnored {
                            from,
                            candidate_term: args.term,
                            leader,
                            ticks_ago,
                        });
                        return Ok(());
                    }
                }
            }
            // PreVote (§9.6): a pre-vote, and a granted answer to one, carry a term nobody is in
            // yet; no one changes term on account of them.
            let adopt = match &msg.rpc {
                Rpc::PreVote(_) => false,
                Rpc::PreVoteReply(reply) => !reply.vote_granted,
                _ => true,
            };
            if adopt {
                // §5.1: "If RPC request or response contains term T > currentTerm: set
                // currentTerm = T, convert to follower."
                let leader = match &msg.rpc {
                    Rpc::AppendEntries(_) | Rpc::InstallSnapshot(_) => Some(from),
                    _ => None,
                };
                self.events.push(TraceEvent::TermAdvanced {
                    from_term: self.term,
                    to_term: msg_term,
                    by: from,
                });
                if let Some(t) = self.transfer.filter(|t| t.to == from) {
                    // The target's election reached us: the hand-over worked on this side.
                    self.transfer = None;
                    self.events.push(TraceEvent::TransferCompleted {
                        to: t.to,
                        term: msg_term,
                    });
                }
                self.become_follower(
                    msg_term,
                    leader,
                    StepDownReason::HigherTerm {
                        from,
                        term: msg_term,
                    },
                );
            }
        } else if msg_term < self.term {
            // A stale sender. Requests get an answer carrying our term, so that a deposed leader or
            // an old candidate learns it is behind; stale replies are dropped.
            match msg.rpc {
                Rpc::RequestVote(args) => {
                    self.events.push(TraceEvent::VoteRejected {
                        to: from,
                        term: self.term,
                        reason: VoteRejectReason::StaleTerm {
                            candidate_term: args.term,
                        },
                    });
                    self.send(
                        from,
                        Rpc::RequestVoteReply(RequestVoteReply {
                            term: self.term,
                            vote_granted: false,
                        }),
                    );
                }
                Rpc::PreVote(args) => {
                    self.events.push(TraceEvent::PreVoteRejected {
                        to: from,
                        term: self.term,
                        reason: VoteRejectReason::StaleTerm {
                            candidate_term: args.term,
                        },
                    });
                    self.send(
                        from,
                        Rpc::PreVoteReply(RequestVoteReply {
                            term: self.term,
                            vote_granted: false,
                        }),
                    );
                }
                Rpc::AppendEntries(args) => {
                    self.reject_append(
                        from,
                        &args,
                        AppendRejectReason::StaleTerm {
                            leader_term: args.term,
                        },
                        0,
                        0,
                    );
                }
                Rpc::InstallSnapshot(args) => {
                    self.send(
                        from,
                        Rpc::InstallSnapshotReply(InstallSnapshotReply {
                            term: self.term,
                            last_included_index: args.last_included_index,
                            next_offset: 0,
                            done: false,
                        }),
                    );
                }
                _ => {}
            }
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
            Rpc::TimeoutNow(_) => {
                // Leadership transfer (§3.10): our leader asks us to start an election now.
                if self.role != Role::Leader && self.is_voter() {
                    self.events.push(TraceEvent::TimeoutNowReceived { from });
                    self.become_candidate(true);
                }
            }
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
    // Role changes (§5.2, Figure 4)
    // ------------------------------------------------------------------------------------------

    fn become_follower(&mut self, term: Term, leader: Option<NodeId>, reason: StepDownReason) {
        let was = self.role;
        if term > self.term {
            self.term = term;
            self.voted_for = None;
        }
        self.role = Role::Follower;
        self.pre_candidate = false;
        self.progress.clear();
        self.votes = VoteTally::default();
        if was != Role::Follower {
            self.events.push(TraceEvent::SteppedDown {
                was,
                term: self.term,
                reason,
            });
        }
        if was == Role::Leader {
            self.clear_leader_state();
            // A deposed leader gives the new one a full timeout before it considers running.
            self.election_elapsed = 0;
            self.reset_randomized_election_timeout();
        }
        self.set_leader(leader);
    }

    /// A leader's own bookkeeping, dropped when it steps down: the transfer under way, the reads
    /// waiting for confirmation, CheckQuorum's record.
    fn clear_leader_state(&mut self) {
        if let Some(t) = self.transfer.take() {
            self.events.push(TraceEvent::TransferAborted {
                to: t.to,
                reason: TransferAbortReason::LostLeadership,
            });
        }
        let ctxs = self.reads.drop_pending();
        if !ctxs.is_empty() {
            self.events.push(TraceEvent::ReadsDropped { ctxs });
        }
        self.reads = ReadOnly::default();
        self.recent_active.clear();
        self.quorum_elapsed = 0;
    }

    /// PreVote (thesis §9.6): ask whether a majority would vote for us in `term + 1`, changing
    /// nothing (term, vote) meanwhile.
    fn become_pre_candidate(&mut self) {
        self.role = Role::Follower;
        self.pre_candidate = true;
        self.progress.clear();
        self.election_elapsed = 0;
        self.reset_randomized_election_timeout();
        self.set_leader(None);
        let term = self.term + 1;
        self.events.push(TraceEvent::BecamePreCandidate { term });
        self.votes = VoteTally::default();
        self.votes.record(self.config.id, true);
        if self.votes.result(&self.voters()) == VoteResult::Won {
            self.become_candidate(false);
            return;
        }
        let args = RequestVoteArgs {
            term,
            candidate_id: self.config.id,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            leadership_transfer: false,
        };
        for peer in self.voter_peers() {
            self.send(peer, Rpc::PreVote(args.clone()));
        }
    }

    /// Starts an election; `transfer` when TimeoutNow asked for it (its RequestVotes say so, and
    /// voters then bypass their leader lease).
    fn become_candidate(&mut self, transfer: bool) {
        // "On conversion to candidate, start election: increment currentTerm, vote for self,
        // reset election timer, send RequestVote RPCs to all other servers."
        self.term += 1;
        self.voted_for = Some(self.config.id);
        self.role = Role::Candidate;
        self.pre_candidate = false;
        self.progress.clear();
        self.election_elapsed = 0;
        self.reset_randomized_election_timeout();
        self.set_leader(None);
        self.events
            .push(TraceEvent::BecameCandidate { term: self.term });
        self.votes = VoteTally::default();
        self.votes.record(self.config.id, true);
        if self.votes.result(&self.voters()) == VoteResult::Won {
            self.become_leader();
            return;
        }
        let args = RequestVoteArgs {
            term: self.term,
            candidate_id: self.config.id,
            last_log_index: self.log.last_index(),
            last_log_term: self.log.last_term(),
            leadership_transfer: transfer,
        };
        for peer in self.voter_peers() {
            self.send(peer, Rpc::RequestVote(args.clone()));
        }
    }

    fn become_leader(&mut self) {
        self.role = Role::Leader;
        self.pre_candidate = false;
        self.set_leader(Some(self.config.id));
        self.heartbeat_elapsed = 0;
        self.votes = VoteTally::default();
        self.transfer = None;
        self.reads = ReadOnly::default();
        self.recent_active.clear();
        self.quorum_elapsed = 0;
        let next = self.log.last_index() + 1;
        self.progress = self
            .peers()
            .into_iter()
            .map(|p| (p, Progress::new(next)))
            .collect();
        self.events
            .push(TraceEvent::BecameLeader { term: self.term });
        // §8: a no-op entry of the new term, so that entries of earlier terms commit with it.
        self.log.append(Entry::noop(next, self.term));
        self.broadcast_append();
    }

    /// The leader this follower heard from less than a minimum election timeout ago, and how many
    /// ticks ago: while it holds, a vote for someone else would disrupt a working leader.
    fn lease(&self) -> Option<(NodeId, u32)> {
        if self.role != Role::Follower || self.pre_candidate {
            return None;
        }
        let leader = self.leader_id?;
        (self.election_elapsed < self.config.election_timeout_min)
            .then_some((leader, self.election_elapsed))
    }

    /// How long a leader's lease lasts after the start of a round a majority acknowledged.
    fn lease_ticks(&self) -> u32 {
        self.config
            .election_timeout_min
            .saturating_sub(self.config.lease_margin)
    }

    /// Starts a new confirmation round: the AppendEntries sent from now on carry it.
    fn start_round(&mut self) -> u64 {
        let keep = u64::from(self.config.election_timeout_max) * 2;
        self.reads.new_round(self.ticks, keep)
    }

    fn set_leader(&mut self, leader: Option<NodeId>) {
        if self.leader_id != leader {
            self.leader_id = leader;
            self.events.push(TraceEvent::LeaderChanged {
                leader,
                term: self.term,
            });
        }
    }

    fn reset_randomized_election_timeout(&mut self) {
        self.randomized_election_timeout = self.rng.range(
            u64::from(self.config.election_timeout_min),
            u64::from(self.config.election_timeout_max),
        ) as u32;
    }

    // ------------------------------------------------------------------------------------------
    // RequestVote (§5.2, §5.4.1)
    // ------------------------------------------------------------------------------------------

    fn handle_request_vote(&mut self, from: NodeId, args: RequestVoteArgs) {
        // Here args.term == self.term (a higher term made us a follower above).
        //
        // Every server answers, whatever its own configuration says (thesis §4.1): the candidate
        // counts only the voters of *its* configuration, so a learner's answer counts only where
        // a newer configuration made it a voter. Refusing here would deadlock a cluster whose
        // promotion of a learner committed before the learner received it.
        let reject = match self.voted_for {
            Some(v) if v != args.candidate_id => {
                Some(VoteRejectReason::AlreadyVoted { voted_for: v })
            }
            _ => self.log_check(&args),
        };
        let vote_granted = match reject {
            Some(reason) => {
                self.events.push(TraceEvent::VoteRejected {
                    to: from,
                    term: self.term,
                    reason,
                });
                false
            }
            None => {
                // The vote is part of the hard state: the Ready persists it before this reply
                // leaves.
                self.voted_for = Some(args.candidate_id);
                // Reset the timer, and draw a fresh timeout: voters that reset together on one
                // candidate's request must not stay in lock-step (repeated split votes).
                self.election_elapsed = 0;
                self.reset_randomized_election_timeout();
                self.events.push(TraceEvent::VoteGranted {
                    to: from,
                    term: self.term,
                });
                true
            }
        };
        self.send(
            from,
            Rpc::RequestVoteReply(RequestVoteReply {
                term: self.term,
                vote_granted,
            }),
        );
    }

    /// The election restriction (§5.4.1): None when the candidate's log is at least as up to date
    /// as ours (or when the unsafe rule `vote_without_log_check` skips the check).
    fn log_check(&self, args: &RequestVoteArgs) -> Option<VoteRejectReason> {
        if self.config.unsafe_rules.vote_without_log_check
            || self
                .log
                .is_up_to_date(args.last_log_index, args.last_log_term)
        {
            None
        } else {
            Some(VoteRejectReason::LogNotUpToDate {
                ours: (self.log.last_index(), self.log.last_term()),
                theirs: (args.last_log_index, args.last_log_term),
            })
        }
    }

    fn handle_request_vote_reply(&mut self, from: NodeId, reply: RequestVoteReply) {
        if self.role != Role::Candidate {
            return;
        }
        if !self.votes.record(from, reply.vote_granted) {
            return; // a duplicate answer
        }
        let voters = self.voters();
        let (granted_total, _) = self.votes.counts(&voters);
        self.events.push(TraceEvent::VoteReceived {
            from,
            term: self.term,
            granted: reply.vote_granted,
            granted_total,
            needed: quorum::majority(voters.len()),
        });
        if self.votes.result(&voters) == VoteResult::Won {
            self.become_leader();
        }
        // A lost election just waits for the timer: the paper's candidate "continues in this state
        // until" it wins, another server wins, or the period ends without a winner.
    }

    // ------------------------------------------------------------------------------------------
    // PreVote (thesis §9.6)
    // ------------------------------------------------------------------------------------------

    /// "Would you vote for me in `args.term`?" Here args.term ≥ self.term. Yes if the asker's log
    /// is up to date, we have not heard from a leader for a minimum election timeout, and (when
    /// it asks about our own term) we could still vote in it. Nothing changes here either way.
    fn handle_pre_vote(&mut self, from: NodeId, args: RequestVoteArgs) {
        let reject = if self.role == Role::Leader {
            Some(VoteRejectReason::HeardFromLeader {
                leader: self.config.id,
                ticks_ago: 0,
            })
        } else if let Some((leader, ticks_ago)) = self.lease() {
            Some(VoteRejectReason::HeardFromLeader { leader, ticks_ago })
        } else if let Some(voted_for) = self
            .voted_for
            .filter(|v| args.term == self.term && *v != args.candidate_id)
        {
            // Asked about our own term, in which we already voted for someone else.
            Some(VoteRejectReason::AlreadyVoted { voted_for })
        } else {
            self.log_check(&args)
        };
        let reply = match reject {
            Some(reason) => {
                self.events.push(TraceEvent::PreVoteRejected {
                    to: from,
                    term: self.term,
                    reason,
                });
                RequestVoteReply {
                    term: self.term,
                    vote_granted: false,
                }
            }
            None => {
                self.events.push(TraceEvent::PreVoteGranted {
                    to: from,
                    term: args.term,
                });
                // A yes carries the term asked about, so the asker can tell it from stale ones.
                RequestVoteReply {
                    term: args.term,
                    vote_granted: true,
                }
            }
        };
        self.send(from, Rpc::PreVoteReply(reply));
    }

    fn handle_pre_vote_reply(&mut self, from: NodeId, reply: RequestVoteReply) {
        if !self.pre_candidate {
            return;
        }
        let term = self.term + 1;
        if reply.vote_granted && reply.term != term {
            return; // a yes for another round
        }
        if !self.votes.record(from, reply.vote_granted) {
            return; // a duplicate answer
        }
        let voters = self.voters();
        let (granted_total, _) = self.votes.counts(&voters);
        self.events.push(TraceEvent::PreVoteReceived {
            from,
            term,
            granted: reply.vote_granted,
            granted_total,
            needed: quorum::majority(voters.len()),
        });
        match self.votes.result(&voters) {
            VoteResult::Won => self.become_candidate(false),
            VoteResult::Lost => {
                self.pre_candidate = false;
                self.votes = VoteTally::default();
                self.events.push(TraceEvent::PreVoteLost { term });
            }
            VoteResult::Pending => {}
        }
    }

    // ------------------------------------------------------------------------------------------
    // AppendEntries, receiver side (§5.3)
    // ------------------------------------------------------------------------------------------

    fn handle_append_entries(&mut self, from: NodeId, args: AppendEntriesArgs) {
        // Here args.term == self.term.
        match self.role {
            Role::Leader => {
                // Two leaders in one term: Election Safety is broken somewhere. Refuse.
                self.events.push(TraceEvent::ProtocolViolation {
                    from,
                    what: format!("AppendEntries from a second leader in term {}", self.term),
                });
                return;
            }
            Role::Candidate => {
                self.become_follower(
                    args.term,
                    Some(from),
                    StepDownReason::LeaderDiscovered { leader: from },
                );
            }
            Role::Follower => {
                // A pre-candidate learns its term has a leader: no election is needed.
                self.pre_candidate = false;
                self.set_leader(Some(from));
            }
        }
        self.election_elapsed = 0;

        match self
            .log
            .check_consistency(args.prev_log_index, args.prev_log_term)
        {
            Consistency::Match => {}
            Consistency::Compacted => {
                // Everything up to the snapshot is committed and so matches: tell the leader
                // where our log surely agrees with its.
                let commit = self.log.committed();
                self.send_append_reply(from, &args, true, commit, 0, 0);
                return;
            }
            Consistency::TooShort { conflict_index } => {
                let reason = AppendRejectReason::LogTooShort {
                    last_index: self.log.last_index(),
                };
                self.reject_append(from, &args, reason, conflict_index, 0);
                return;
            }
            Consistency::TermMismatch {
                conflict_term,
                conflict_index,
            } => {
                let reason = AppendRejectReason::TermMismatch {
                    index: args.prev_log_index,
                    ours: conflict_term,
                    theirs: args.prev_log_term,
                };
                self.reject_append(from, &args, reason, conflict_index, conflict_term);
                return;
            }
        }

        match self.log.append_after(args.prev_log_index, &args.entries) {
            Ok(outcome) => {
                if let Some(from_index) = outcome.truncated_from {
                    self.events.push(TraceEvent::LogTruncated {
                        from_index,
                        leader: from,
                    });
                    if self.confs.truncate(from_index) {
                        // The configuration entry went with the suffix: the previous one is back.
                        self.events.push(TraceEvent::ConfigurationChanged {
                            conf: self.confs.current().clone(),
                            index: self.confs.current_index(),
                            reverted: true,
                        });
                    }
                }
                for e in args.entries.iter().filter(|e| e.kind == EntryKind::Config) {
                    self.record_config_entry(from, e);
                }
                // "If leaderCommit > commitIndex, set commitIndex = min(leaderCommit, index of
                // last new entry)".
                self.commit_to(args.leader_commit.min(outcome.last_new_index));
                self.send_append_reply(from, &args, true, outcome.last_new_index, 0, 0);
            }
            Err(e) => {
                self.events.push(TraceEvent::ProtocolViolation {
                    from,
                    what: format!(
                        "AppendEntries would remove committed entry {} (commit {})",
                        e.conflict_index, e.committed
                    ),
                });
                let reason = AppendRejectReason::WouldTruncateCommitted {
                    index: e.conflict_index,
                    committed: e.committed,
                };
                self.reject_append(from, &args, reason, e.committed + 1, 0);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // InstallSnapshot (§7, Figure 13)
    // ------------------------------------------------------------------------------------------

    fn handle_install_snapshot(&mut self, from: NodeId, args: InstallSnapshotArgs) {
        // Here args.term == self.term: the sender is this term's leader, as for AppendEntries.
        match self.role {
            Role::Leader => {
                self.events.push(TraceEvent::ProtocolViolation {
                    from,
                    what: format!("InstallSnapshot from a second leader in term {}", self.term),
                });
                return;
            }
            Role::Candidate => self.become_follower(
                args.term,
                Some(from),
                StepDownReason::LeaderDiscovered { leader: from },
            ),
            Role::Follower => {
                self.pre_candidate = false;
                self.set_leader(Some(from));
            }
        }
        self.election_elapsed = 0;
        let meta = SnapshotMeta {
            index: args.last_included_index,
            term: args.last_included_term,
        };
        let chunk_end = args.offset.saturating_add(args.data.len() as u64);
        if meta.index <= self.log.committed() {
            // Everything it covers is committed here already, hence the same as the leader's.
            if self
                .incoming
                .as_ref()
                .is_some_and(|i| i.meta.index <= meta.index)
            {
                self.incoming = None;
            }
            self.send_snapshot_reply(from, meta.index, chunk_end, true);
            return;
        }
        // "Create new snapshot file if first chunk (offset is 0)"; otherwise the chunk must go
        // on exactly where the bytes received so far end.
        let same = |i: &IncomingSnapshot| i.meta == meta && i.term == args.term;
        if args.offset == 0 && !self.incoming.as_ref().is_some_and(same) {
            self.incoming = Some(IncomingSnapshot {
                term: args.term,
                meta,
                conf: args.conf.clone(),
                data: Vec::new(),
            });
        }
        let Some(incoming) = self.incoming.as_mut().filter(|i| same(i)) else {
            // A chunk of a snapshot we are not receiving: ask for it from the start.
            self.send_snapshot_reply(from, meta.index, 0, false);
            return;
        };
        let have = incoming.data.len() as u64;
        if args.offset != have {
            // A duplicate, or a chunk after a lost one: say where we are.
            self.send_snapshot_reply(from, meta.index, have, false);
            return;
        }
        incoming.data.extend_from_slice(&args.data);
        if !args.done {
            let have = incoming.data.len() as u64;
            self.send_snapshot_reply(from, meta.index, have, false);
            return;
        }
        // The last chunk: install it. "Save snapshot file, discard any existing or partial
        // snapshot with a smaller index"; keep the log after it if it matches, else discard the
        // entire log; "reset state machine using snapshot contents" (the runtime does, from the
        // Ready).
        let Some(incoming) = self.incoming.take() else {
            return;
        };
        let conf = incoming
            .conf
            .or_else(|| args.conf.clone())
            .unwrap_or_else(|| self.initial_conf());
        let snapshot = Snapshot {
            meta,
            data: Bytes::from(incoming.data),
            conf: self.normalize_conf(conf.clone()),
        };
        let kept_suffix = self.log.install_snapshot(meta);
        let before = self.confs.current().clone();
        if kept_suffix {
            // The kept suffix's configuration entries stay in force; the snapshot's is the base.
            self.confs.entries.retain(|(i, _)| *i > meta.index);
        } else {
            self.confs.entries.clear();
        }
        self.confs.base = conf;
        if *self.confs.current() != before {
            self.events.push(TraceEvent::ConfigurationChanged {
                conf: self.confs.current().clone(),
                index: self.confs.current_index(),
                reverted: false,
            });
        }
        self.events.push(TraceEvent::SnapshotInstalled {
            index: meta.index,
            term: meta.term,
            leader: from,
            bytes: snapshot.data.len() as u64,
            kept_suffix,
        });
        self.snapshot = Some(snapshot.clone());
        self.to_install = Some(snapshot);
        let total = chunk_end;
        self.send_snapshot_reply(from, meta.index, total, true);
    }

    fn send_snapshot_reply(&mut self, to: NodeId, index: Index, next_offset: u64, done: bool) {
        self.send(
            to,
            Rpc::InstallSnapshotReply(InstallSnapshotReply {
                term: self.term,
                last_included_index: index,
                next_offset,
                done,
            }),
        );
    }

    fn handle_install_snapshot_reply(&mut self, from: NodeId, reply: InstallSnapshotReply) {
        if self.role != Role::Leader {
            return;
        }
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        let was_snapshot = pr.state == ProgressState::Snapshot;
        if pr.on_snapshot_reply(reply.last_included_index, reply.next_offset, reply.done) {
            self.maybe_commit();
        }
        if reply.done && was_snapshot {
            self.events.push(TraceEvent::SnapshotDelivered {
                to: from,
                index: reply.last_included_index,
            });
        }
        // Next chunk, or the entries after the snapshot.
        while self.send_append(from, false) {}
        self.maybe_send_timeout_now(from);
    }

    fn reject_append(
        &mut self,
        to: NodeId,
        args: &AppendEntriesArgs,
        reason: AppendRejectReason,
        conflict_index: Index,
        conflict_term: Term,
    ) {
        self.events.push(TraceEvent::AppendRejected {
            to,
            term: self.term,
            reason,
            conflict_index,
            conflict_term,
        });
        self.send_append_reply(to, args, false, 0, conflict_index, conflict_term);
    }

    /// Answers `args`, echoing its prev_log_index and read_round.
    fn send_append_reply(
        &mut self,
        to: NodeId,
        args: &AppendEntriesArgs,
        success: bool,
        match_index: Index,
        conflict_index: Index,
        conflict_term: Term,
    ) {
        self.send(
            to,
            Rpc::AppendEntriesReply(AppendEntriesReply {
                term: self.term,
                success,
                prev_log_index: args.prev_log_index,
                match_index,
                conflict_term,
                conflict_index,
                read_round: args.read_round,
            }),
        );
    }

    // ------------------------------------------------------------------------------------------
    // AppendEntries, leader side (§5.3, §5.4.2)
    // ------------------------------------------------------------------------------------------

    fn handle_append_entries_reply(&mut self, from: NodeId, reply: AppendEntriesReply) {
        if self.role != Role::Leader {
            return;
        }
        // Any answer of our term, success or not, shows the follower accepted us as leader after
        // the round it echoes began (ReadIndex).
        if reply.read_round > 0 {
            self.reads.ack(from, reply.read_round);
            self.confirm_reads();
        }
        let last_index = self.log.last_index();
        let Some(pr) = self.progress.get_mut(&from) else {
            return;
        };
        if reply.success {
            // A follower cannot match beyond what we ever sent; clamp a confused reply.
            if pr.on_success(reply.match_index.min(last_index)) {
                self.maybe_commit();
            }
            // Keep the pipeline full.
            while self.send_append(from, false) {}
            self.maybe_send_timeout_now(from);
        } else {
            // §5.3 fast back-off: skip the follower's whole conflicting term at once.
            let hint_next = if reply.conflict_term > 0 {
                match self.log.last_index_of_term(reply.conflict_term) {
                    Some(i) => i + 1,
                    None => reply.conflict_index,
                }
            } else {
                reply.conflict_index
            };
            if pr.on_reject(reply.prev_log_index, hint_next.max(1)) {
                self.send_append(from, true);
            }
        }
    }

    fn tick_leader(&mut self) {
        // CheckQuorum (thesis §6.2): every election timeout, a leader must have heard from a
        // majority, itself included, or step down.
        self.quorum_elapsed += 1;
        if self.quorum_elapsed >= self.config.election_timeout_min {
            self.quorum_elapsed = 0;
            if self.config.check_quorum {
                let voters = self.voters();
                let me = self.config.id;
                let heard_from = voters
                    .iter()
                    .filter(|v| **v == me || self.recent_active.contains(v))
                    .count();
                let needed = quorum::majority(voters.len());
                if heard_from < needed {
                    self.become_follower(
                        self.term,
                        None,
                        StepDownReason::QuorumLost { heard_from, needed },
                    );
                    return;
                }
            }
            self.recent_active.clear();
        }
        // A transfer not done within an election timeout is aborted (§3.10).
        if let Some(t) = self.transfer.as_mut() {
            t.elapsed += 1;
            if t.elapsed >= self.config.election_timeout_min {
                let (to, ticks) = (t.to, t.elapsed);
                self.transfer = None;
                // A TimeoutNow may still be in flight: no lease until later rounds renew it.
                self.reads.reset_lease();
                self.events.push(TraceEvent::TransferAborted {
                    to,
                    reason: TransferAbortReason::TimedOut { ticks },
                });
            }
        }
        let stall_limit = 2 * self.config.heartbeat_interval + 1;
        let mut resend = Vec::new();
        for (id, pr) in self.progress.iter_mut() {
            if pr.tick(stall_limit) && pr.state == ProgressState::Snapshot {
                resend.push(*id);
            }
        }
        for id in resend {
            self.send_snapshot_chunk(id);
        }
        self.heartbeat_elapsed += 1;
        if self.heartbeat_elapsed >= self.config.heartbeat_interval {
            self.heartbeat_elapsed = 0;
            if self.config.read_mode == ReadMode::Lease && self.config.check_quorum {
                // Each heartbeat opens a round: its echoes time the lease.
                self.start_round();
            }
            self.broadcast_heartbeat();
        }
    }

    /// Hands out the reads whose round a majority acknowledged.
    fn confirm_reads(&mut self) {
        let voters = self.voters();
        for read in self.reads.take_confirmed(self.config.id, &voters) {
            self.events.push(TraceEvent::ReadIndexConfirmed {
                ctx: read.ctx,
                index: read.index,
                lease: false,
            });
            self.read_states.push(ReadState {
                ctx: read.ctx,
                index: read.index,
            });
        }
    }

    /// Leadership transfer: once the target holds the leader's whole log, tell it to campaign.
    fn maybe_send_timeout_now(&mut self, peer: NodeId) {
        if self.transfer.is_some_and(|t| t.to == peer)
            && self
                .progress
                .get(&peer)
                .is_some_and(|p| p.matched >= self.log.last_index())
        {
            self.send_timeout_now(peer);
        }
    }

    fn send_timeout_now(&mut self, to: NodeId) {
        self.events.push(TraceEvent::TimeoutNowSent { to });
        self.send(
            to,
            Rpc::TimeoutNow(TimeoutNowArgs {
                term: self.term,
                leader_id: self.config.id,
            }),
        );
    }

    /// Heartbeats (§5.2). A follower being probed gets the probe again (it may have been lost);
    /// a follower being replicated to gets an empty AppendEntries anchored at its matchIndex,
    /// which always passes the consistency check and carries the commit index.
    fn broadcast_heartbeat(&mut self) {
        for peer in self.peers() {
            let Some(pr) = self.progress.get_mut(&peer) else {
                continue;
            };
            match pr.state {
                ProgressState::Probe => {
                    pr.unpause();
                    self.send_append(peer, true);
                }
                // Chunks keep coming (and are sent again after a stall): they are the heartbeat.
                ProgressState::Snapshot => {}
                ProgressState::Replicate => {
                    let prev = pr.matched;
                    let Some(prev_term) = self.log.term(prev) else {
                        // matchIndex fell inside a fresh snapshot: the appends in flight answer
                        // for now, and a stall sends the snapshot.
                        continue;
                    };
                    let args = AppendEntriesArgs {
                        term: self.term,
                        leader_id: self.config.id,
                        prev_log_index: prev,
                        prev_log_term: prev_term,
                        entries: Vec::new(),
                        leader_commit: self.log.committed(),
                        read_round: self.reads.round(),
                    };
                    self.send(peer, Rpc::AppendEntries(args));
                    while self.send_append(peer, false) {}
                }
            }
        }
    }

    fn broadcast_append(&mut self) {
        for peer in self.peers() {
            while self.send_append(peer, false) {}
        }
    }

    /// Sends `to` the entries from its nextIndex, if flow control allows. With `allow_empty`, a
    /// message goes out even when there is nothing new (a probe or heartbeat). Returns whether a
    /// message carrying entries was sent (callers loop to fill the pipeline).
    fn send_append(&mut self, to: NodeId, allow_empty: bool) -> bool {
        let max_inflight = self.config.max_inflight_appends;
        let last_index = self.log.last_index();
        let Some(pr) = self.progress.get_mut(&to) else {
            return false;
        };
        if pr.state == ProgressState::Snapshot {
            return self.send_snapshot_chunk(to);
        }
        if !pr.can_send(max_inflight) {
            return false;
        }
        let has_new = pr.next <= last_index;
        if !has_new && !allow_empty {
            return false;
        }
        let prev_log_index = pr.next - 1;
        let Some(prev_log_term) = self.log.term(prev_log_index) else {
            // The entries the follower needs were compacted away: send the snapshot instead.
            let index = self.log.snapshot_index();
            pr.become_snapshot(index);
            let bytes = self.snapshot.as_ref().map_or(0, |s| s.data.len() as u64);
            self.events.push(TraceEvent::SnapshotSending {
                to,
                index,
                bytes,
                next_index: prev_log_index + 1,
            });
            return self.send_snapshot_chunk(to);
        };
        let entries = self.log.slice(
            pr.next,
            last_index,
            self.config.max_entries_per_append,
            self.config.max_bytes_per_append,
        );
        let last = entries.last().map(|e| e.index);
        pr.sent(last);
        let more = last.is_some() && pr.state == ProgressState::Replicate && pr.next <= last_index;
        let args = AppendEntriesArgs {
            term: self.term,
            leader_id: self.config.id,
            prev_log_index,
            prev_log_term,
            entries,
            leader_commit: self.log.committed(),
            read_round: self.reads.round(),
        };
        self.send(to, Rpc::AppendEntries(args));
        // In probe state one message is all we may send; in replicate, loop while there is more.
        more
    }

    /// Sends `to` the next chunk of the snapshot, if none is outstanding. Returns false (one chunk
    /// at a time: the answer brings the next).
    fn send_snapshot_chunk(&mut self, to: NodeId) -> bool {
        let chunk = self.config.snapshot_chunk_bytes.max(1) as u64;
        let initial_conf = self.initial_conf();
        let Some(snapshot) = self.snapshot.as_ref() else {
            return false;
        };
        let Some(pr) = self.progress.get_mut(&to) else {
            return false;
        };
        if pr.pending_snapshot != snapshot.meta.index {
            // A newer snapshot was taken meanwhile: send that one instead, from the start.
            pr.become_snapshot(snapshot.meta.index);
        }
        if !pr.can_send(1) {
            return false;
        }
        let len = snapshot.data.len() as u64;
        let offset = pr.snapshot_offset.min(len);
        let end = (offset + chunk).min(len);
        let args = InstallSnapshotArgs {
            term: self.term,
            leader_id: self.config.id,
            last_included_index: snapshot.meta.index,
            last_included_term: snapshot.meta.term,
            offset,
            data: snapshot.data.slice(offset as usize..end as usize),
            done: end == len,
            // Always explicit on the wire: the receiver's initial configuration may differ.
            conf: Some(snapshot.conf.clone().unwrap_or(initial_conf)),
        };
        pr.sent(None);
        self.send(to, Rpc::InstallSnapshot(args));
        false
    }

    /// Figure 2, rules for leaders: "If there exists an N such that N > commitIndex, a majority
    /// of matchIndex[i] ≥ N, and log[N].term == currentTerm: set commitIndex = N" (§5.3, §5.4).
    /// The leader's own copy counts only once durable.
    fn maybe_commit(&mut self) {
        // Current voters only: learners are never counted, nor is a leader being removed.
        let me = self.config.id;
        let matched: Vec<Index> = self
            .confs
            .current()
            .voters
            .iter()
            .map(|v| {
                if *v == me {
                    self.log.persisted()
                } else {
                    self.progress.get(v).map_or(0, |p| p.matched)
                }
            })
            .collect();
        if matched.is_empty() {
            return;
        }
        let n = quorum::committed_index(matched);
        // §5.4.2: never commit an entry of an earlier term by counting replicas (Figure 8) —
        // unless the unsafe rule `commit_by_counting` asks for exactly that bug.
        let ours = self.log.term(n) == Some(self.term);
        if n > self.log.committed() && (ours || self.config.unsafe_rules.commit_by_counting) {
            self.commit_to(n);
        }
    }

    fn commit_to(&mut self, index: Index) {
        let from = self.log.committed();
        if self.log.commit_to(index) {
            self.events.push(TraceEvent::CommitAdvanced {
                from,
                to: self.log.committed(),
            });
            // Thesis §4.2.2: a leader removed from the configuration steps down once the
            // configuration without it commits (until then it manages the cluster, uncounted).
            let conf_index = self.confs.current_index();
            if self.role == Role::Leader && !self.is_voter() && conf_index <= self.log.committed() {
                self.become_follower(
                    self.term,
                    None,
                    StepDownReason::RemovedFromConfiguration { index: conf_index },
                );
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Helpers
    // ------------------------------------------------------------------------------------------

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

    /// The configuration of [`Config::voters`]: in force until a configuration entry or a
    /// snapshot says otherwise.
    fn initial_conf(&self) -> Configuration {
        Configuration::with_voters(self.config.voters.iter().copied())
    }

    /// A snapshot's configuration as stored: `None` when it is the initial one (so snapshots of
    /// a cluster that never changed look as they always did to storage).
    fn normalize_conf(&self, conf: Configuration) -> Option<Configuration> {
        (conf != self.initial_conf()).then_some(conf)
    }

    /// Whether this server votes in the configuration in force.
    fn is_voter(&self) -> bool {
        self.confs.current().is_voter(self.config.id)
    }

    /// A configuration entry reached the log (from the leader): it is in force at once.
    fn record_config_entry(&mut self, from: NodeId, e: &Entry) {
        if e.index <= self.confs.current_index()
            || e.index <= self.log.snapshot_index()
            || self.log.term(e.index) != Some(e.term)
        {
            return;
        }
        match Configuration::decode(&e.data) {
            Ok(conf) => {
                self.confs.push(e.index, conf.clone());
                self.events.push(TraceEvent::ConfigurationChanged {
                    conf,
                    index: e.index,
                    reverted: false,
                });
            }
            Err(err) => self.events.push(TraceEvent::ProtocolViolation {
                from,
                what: format!("configuration entry {}: {err}", e.index),
            }),
        }
    }

    /// The leader's progress map follows the configuration: new members get a fresh entry,
    /// removed ones are dropped.
    fn sync_progress(&mut self) {
        let next = self.log.last_index() + 1;
        let peers = self.peers();
        self.progress.retain(|id, _| peers.contains(id));
        for p in peers {
            self.progress
                .entry(p)
                .or_insert_with(|| Progress::new(next));
        }
        self.recent_active
            .retain(|id| self.progress.contains_key(id));
    }

    fn send(&mut self, to: NodeId, rpc: Rpc) {
        self.msgs.push(Message {
            from: self.config.id,
            to,
            rpc,
        });
    }
}
