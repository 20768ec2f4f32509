//! Elections: the term rules every message passes first (§5.1), role changes (§5.2, Figure 4),
//! RequestVote with the election restriction (§5.4.1), PreVote (thesis §9.6), and CheckQuorum
//! with the leader lease it gives followers (thesis §6.2, §4.2.3).
//!
//! [`RaftNode::accept_leader`] is the one place a server accepts this term's leader, for
//! AppendEntries and InstallSnapshot alike.

use crate::raft::message::{InstallSnapshotReply, Message, RequestVoteArgs, RequestVoteReply, Rpc};
use crate::raft::progress::Progress;
use crate::raft::quorum::{self, VoteResult, VoteTally};
use crate::raft::read_only::ReadOnly;
use crate::raft::trace::{
    AppendRejectReason, StepDownReason, TraceEvent, TransferAbortReason, VoteRejectReason,
};
use crate::raft::types::{Entry, NodeId, Role, Term};

use super::RaftNode;

impl RaftNode {
    // ------------------------------------------------------------------------------------------
    // Terms (§5.1)
    // ------------------------------------------------------------------------------------------

    /// The rules every server follows for the term a message carries, before its handler sees
    /// it. A higher term makes this server a follower in it (§5.1) — unless CheckQuorum's leader
    /// lease holds against a RequestVote (thesis §4.2.3), or the message is a pre-vote (§9.6). A
    /// lower term gets an answer that tells the sender it is behind (requests) or is dropped
    /// (replies). Returns whether the message goes on to its handler.
    pub(super) fn step_term(&mut self, msg: &Message) -> bool {
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
                        return false;
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
            match &msg.rpc {
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
                        args,
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
            return false;
        }
        true
    }

    // ------------------------------------------------------------------------------------------
    // Role changes (§5.2, Figure 4)
    // ------------------------------------------------------------------------------------------

    /// The election timer fired: a PreVote round, or an election straight away.
    pub(super) fn hup(&mut self) {
        if !self.is_voter() {
            return;
        }
        if self.config.pre_vote {
            self.become_pre_candidate();
        } else {
            self.become_candidate(false);
        }
    }

    pub(super) fn become_follower(
        &mut self,
        term: Term,
        leader: Option<NodeId>,
        reason: StepDownReason,
    ) {
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
    pub(super) fn become_candidate(&mut self, transfer: bool) {
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
        self.events.push(TraceEvent::NoopAppended {
            index: next,
            term: self.term,
        });
        self.broadcast_append();
    }

    /// AppendEntries or InstallSnapshot from `from` in this server's own term: the sender is
    /// this term's leader. A candidate steps down to follow it (§5.2), a pre-candidate learns its
    /// term has a leader and needs no election, and the election timer starts over. A leader of
    /// the same term refuses it (two leaders in one term: Election Safety is broken somewhere)
    /// and reports the `rpc` as a protocol violation; then this returns false.
    pub(super) fn accept_leader(&mut self, from: NodeId, rpc: &str) -> bool {
        match self.role {
            Role::Leader => {
                self.events.push(TraceEvent::ProtocolViolation {
                    from,
                    what: format!("{rpc} from a second leader in term {}", self.term),
                });
                return false;
            }
            Role::Candidate => self.become_follower(
                self.term,
                Some(from),
                StepDownReason::LeaderDiscovered { leader: from },
            ),
            Role::Follower => {
                // A pre-candidate learns its term has a leader: no election is needed.
                self.pre_candidate = false;
                self.set_leader(Some(from));
            }
        }
        self.election_elapsed = 0;
        true
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

    fn set_leader(&mut self, leader: Option<NodeId>) {
        if self.leader_id != leader {
            self.leader_id = leader;
            self.events.push(TraceEvent::LeaderChanged {
                leader,
                term: self.term,
            });
        }
    }

    pub(super) fn reset_randomized_election_timeout(&mut self) {
        self.randomized_election_timeout = self.rng.range(
            u64::from(self.config.election_timeout_min),
            u64::from(self.config.election_timeout_max),
        ) as u32;
    }

    // ------------------------------------------------------------------------------------------
    // RequestVote (§5.2, §5.4.1)
    // ------------------------------------------------------------------------------------------

    pub(super) fn handle_request_vote(&mut self, from: NodeId, args: RequestVoteArgs) {
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

    pub(super) fn handle_request_vote_reply(&mut self, from: NodeId, reply: RequestVoteReply) {
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
    pub(super) fn handle_pre_vote(&mut self, from: NodeId, args: RequestVoteArgs) {
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

    pub(super) fn handle_pre_vote_reply(&mut self, from: NodeId, reply: RequestVoteReply) {
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
    // CheckQuorum (thesis §6.2)
    // ------------------------------------------------------------------------------------------

    /// CheckQuorum (thesis §6.2): every election timeout, a leader must have heard from a
    /// majority, itself included, or step down. Returns false when it stepped down.
    pub(super) fn check_quorum(&mut self) -> bool {
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
                    return false;
                }
            }
            self.recent_active.clear();
        }
        true
    }
}
