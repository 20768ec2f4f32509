//! Leadership transfer (thesis §3.10): the leader stops taking proposals, brings the target up to
//! date, and sends it TimeoutNow; the target starts an election at once. A transfer not done
//! within an election timeout is aborted.

use crate::raft::message::{Rpc, TimeoutNowArgs};
use crate::raft::progress::ProgressState;
use crate::raft::trace::{TraceEvent, TransferAbortReason};
use crate::raft::types::{NodeId, Role};

use super::{RaftNode, Transfer};

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

impl RaftNode {
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

    /// TimeoutNow from our leader (§3.10): it asks us to start an election now.
    pub(super) fn handle_timeout_now(&mut self, from: NodeId) {
        if self.role != Role::Leader && self.is_voter() {
            self.events.push(TraceEvent::TimeoutNowReceived { from });
            self.become_candidate(true);
        }
    }

    /// A transfer not done within an election timeout is aborted (§3.10).
    pub(super) fn tick_transfer(&mut self) {
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
    }

    /// Leadership transfer: once the target holds the leader's whole log, tell it to campaign.
    pub(super) fn maybe_send_timeout_now(&mut self, peer: NodeId) {
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
}
