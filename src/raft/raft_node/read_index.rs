//! Linearizable reads without a log entry (thesis §6.4): ReadIndex with a round of heartbeats
//! a majority acknowledges, or a lease read while CheckQuorum's lease holds. The rounds
//! themselves are kept in [`ReadOnly`](super::super::read_only::ReadOnly).

use crate::raft::config::ReadMode;
use crate::raft::read_only::{ReadIndexError, ReadState};
use crate::raft::trace::TraceEvent;
use crate::raft::types::Role;

use super::RaftNode;

impl RaftNode {
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

    /// Hands out the reads whose round a majority acknowledged.
    pub(super) fn confirm_reads(&mut self) {
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

    /// How long a leader's lease lasts after the start of a round a majority acknowledged.
    fn lease_ticks(&self) -> u32 {
        self.config
            .election_timeout_min
            .saturating_sub(self.config.lease_margin)
    }

    /// Starts a new confirmation round: the AppendEntries sent from now on carry it.
    pub(super) fn start_round(&mut self) -> u64 {
        let keep = u64::from(self.config.election_timeout_max) * 2;
        self.reads.new_round(self.ticks, keep)
    }
}
