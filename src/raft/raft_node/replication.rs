//! Log replication (§5.3): AppendEntries as a follower receives it (the consistency check and
//! the conflict hint for fast back-off), and as the leader sends it (flow control per follower,
//! heartbeats, log repair from the replies), then commitment by counting matchIndexes, only for
//! entries of the leader's own term (§5.4.2, Figure 8).

use crate::raft::config::ReadMode;
use crate::raft::log::Consistency;
use crate::raft::message::{AppendEntriesArgs, AppendEntriesReply, Rpc};
use crate::raft::progress::ProgressState;
use crate::raft::quorum;
use crate::raft::trace::{AppendRejectReason, StepDownReason, TraceEvent};
use crate::raft::types::{EntryKind, Index, NodeId, Role, Term};

use super::RaftNode;

impl RaftNode {
    // ------------------------------------------------------------------------------------------
    // AppendEntries, receiver side (§5.3)
    // ------------------------------------------------------------------------------------------

    pub(super) fn handle_append_entries(&mut self, from: NodeId, args: AppendEntriesArgs) {
        // Here args.term == self.term.
        if !self.accept_leader(from, "AppendEntries") {
            return;
        }

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

    pub(super) fn reject_append(
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

    pub(super) fn handle_append_entries_reply(&mut self, from: NodeId, reply: AppendEntriesReply) {
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

    /// A leader's tick for replication: a follower whose messages stalled is unblocked (and one
    /// receiving a snapshot gets its chunk again), and every heartbeat interval the heartbeat.
    pub(super) fn tick_replication(&mut self) {
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

    /// Heartbeats (§5.2). A follower being probed gets the probe again (it may have been lost);
    /// a follower being replicated to gets an empty AppendEntries anchored at its matchIndex,
    /// which always passes the consistency check and carries the commit index.
    pub(super) fn broadcast_heartbeat(&mut self) {
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

    pub(super) fn broadcast_append(&mut self) {
        for peer in self.peers() {
            while self.send_append(peer, false) {}
        }
    }

    /// Sends `to` the entries from its nextIndex, if flow control allows. With `allow_empty`, a
    /// message goes out even when there is nothing new (a probe or heartbeat). Returns whether a
    /// message carrying entries was sent (callers loop to fill the pipeline).
    pub(super) fn send_append(&mut self, to: NodeId, allow_empty: bool) -> bool {
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

    // ------------------------------------------------------------------------------------------
    // Commitment (§5.3, §5.4.2)
    // ------------------------------------------------------------------------------------------

    /// Figure 2, rules for leaders: "If there exists an N such that N > commitIndex, a majority
    /// of matchIndex[i] ≥ N, and log[N].term == currentTerm: set commitIndex = N" (§5.3, §5.4).
    /// The leader's own copy counts only once durable.
    pub(super) fn maybe_commit(&mut self) {
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
}
