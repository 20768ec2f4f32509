//! ReadIndex (thesis §6.4): how a leader answers a read without writing to the log, and still
//! linearizably. Modelled on etcd-io/raft's `read_only.go`.
//!
//! ```text
//!   read_index(ctx) ──► leader committed an entry of its term? ── no ──► refused
//!                             │ yes
//!                             ▼
//!   record (ctx, index = commitIndex, round = r+1), send heartbeats carrying round r+1
//!                             │
//!   AppendEntriesReply echoing round ≥ r+1 from a majority (the leader counts itself)
//!                             ▼
//!   Ready.read_states += ReadState { ctx, index }  ──►  the runtime answers once applied ≥ index
//! ```
//!
//! Every AppendEntries a leader sends carries its latest round and every reply echoes it: a reply
//! echoing round `r` proves the follower still accepted this leader (in its term) after round `r`
//! began. A read recorded before round `r` began is confirmed once a majority echoed `r` or later:
//! no other leader could have been elected — and so nothing could have been committed beyond the
//! recorded index — before that.
//!
//! The same rounds time lease reads ([`ReadMode::Lease`](super::ReadMode::Lease)): when a
//! follower echoes round `r`, the leader knows the follower heard from it no earlier than the
//! tick at which round `r` started, so the follower's lease runs from then at the earliest.

use std::collections::{BTreeMap, VecDeque};

use super::quorum;
use super::types::{Index, NodeId};

/// A read the leader confirmed: it may be served once the state machine applied `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReadState {
    /// The caller's context, as given to `read_index`.
    pub ctx: u64,
    /// The read index: the leader's commit index when the read arrived.
    pub index: Index,
}

/// Why a read was refused. The runtime forwards reads refused with `NotLeader` to the leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadIndexError {
    /// Only the leader answers reads; here is whom this server believes leads.
    NotLeader {
        /// The leader this server knows of, if any.
        leader_hint: Option<NodeId>,
    },
    /// A new leader does not know the commit index until it has committed an entry of its own
    /// term (its no-op, §8): entries of earlier terms it holds may be committed already.
    NoCommitInTerm {
        /// The leader's term.
        term: u64,
        /// Its commit index so far.
        commit: Index,
    },
}

impl std::fmt::Display for ReadIndexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadIndexError::NotLeader {
                leader_hint: Some(l),
            } => write!(f, "not the leader; try node {l}"),
            ReadIndexError::NotLeader { leader_hint: None } => {
                write!(f, "not the leader, and no leader is known")
            }
            ReadIndexError::NoCommitInTerm { term, commit } => write!(
                f,
                "the leader has not committed an entry of its term {term} yet (commit {commit}); \
                 retry shortly"
            ),
        }
    }
}

impl std::error::Error for ReadIndexError {}

/// A read waiting for its round to be acknowledged by a majority.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PendingRead {
    pub ctx: u64,
    pub index: Index,
    pub round: u64,
}

/// A leader's confirmation rounds and the reads waiting on them, for one term.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReadOnly {
    /// The latest round started in this term (0: none).
    round: u64,
    /// The highest round each peer echoed.
    acks: BTreeMap<NodeId, u64>,
    /// Reads waiting, in round order.
    pending: VecDeque<PendingRead>,
    /// Recent rounds and the tick at which each started (lease reads).
    started: VecDeque<(u64, u64)>,
    /// Per peer, the start tick of the latest round it echoed (lease reads).
    contact: BTreeMap<NodeId, u64>,
}

impl ReadOnly {
    /// The latest round.
    pub fn round(&self) -> u64 {
        self.round
    }

    /// Starts a new round at tick `now`; rounds started more than `keep` ticks ago are forgotten
    /// (an echo of one of them is too old to extend a lease).
    pub fn new_round(&mut self, now: u64, keep: u64) -> u64 {
        self.round += 1;
        self.started.push_back((self.round, now));
        while self
            .started
            .front()
            .is_some_and(|(_, at)| at.saturating_add(keep) < now)
        {
            self.started.pop_front();
        }
        self.round
    }

    /// Queues a read of `ctx` at `index`, confirmed by `round`.
    pub fn add(&mut self, ctx: u64, index: Index, round: u64) {
        self.pending.push_back(PendingRead { ctx, index, round });
    }

    /// `from` echoed `round`.
    pub fn ack(&mut self, from: NodeId, round: u64) {
        if round == 0 || round > self.round {
            // Nothing to confirm, or a round this leader never started (a confused peer).
            return;
        }
        let best = self.acks.entry(from).or_default();
        *best = (*best).max(round);
        if let Some((_, at)) = self.started.iter().find(|(r, _)| *r == round) {
            let c = self.contact.entry(from).or_default();
            *c = (*c).max(*at);
        }
    }

    /// Takes the reads a majority of `voters` (with `me` counted as acknowledging every round)
    /// has confirmed, oldest first.
    pub fn take_confirmed(&mut self, me: NodeId, voters: &[NodeId]) -> Vec<PendingRead> {
        let need = quorum::majority(voters.len());
        let mut out = Vec::new();
        while let Some(front) = self.pending.front() {
            let acked = voters
                .iter()
                .filter(|v| **v == me || self.acks.get(v).is_some_and(|r| *r >= front.round))
                .count();
            if acked < need {
                break;
            }
            if let Some(read) = self.pending.pop_front() {
                out.push(read);
            }
        }
        out
    }

    /// Whether a majority of `voters` (with `me`) echoed a round that started within the last
    /// `lease` ticks before `now`.
    pub fn lease_holds(&self, me: NodeId, voters: &[NodeId], now: u64, lease: u64) -> bool {
        let fresh = voters
            .iter()
            .filter(|v| {
                **v == me
                    || self
                        .contact
                        .get(v)
                        .is_some_and(|at| now.saturating_sub(*at) < lease)
            })
            .count();
        fresh >= quorum::majority(voters.len())
    }

    /// Forgets every follower's lease contact (a new lease must be earned from later rounds).
    pub fn reset_lease(&mut self) {
        self.contact.clear();
    }

    /// Reads waiting.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Drops every pending read, returning their contexts.
    pub fn drop_pending(&mut self) -> Vec<u64> {
        self.pending.drain(..).map(|r| r.ctx).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_read_waits_for_a_majority_echoing_its_round_or_later() {
        let voters = [1, 2, 3, 4, 5];
        let mut ro = ReadOnly::default();
        ro.ack(2, 1); // an echo of a round never started: ignored
        let r1 = ro.new_round(0, 100);
        ro.add(7, 10, r1);
        ro.ack(2, r1);
        assert!(ro.take_confirmed(1, &voters).is_empty(), "2 of 5");
        let r2 = ro.new_round(1, 100);
        ro.add(8, 11, r2);
        ro.ack(3, r2); // a later round confirms the earlier one too
        let got = ro.take_confirmed(1, &voters);
        assert_eq!(got.iter().map(|r| r.ctx).collect::<Vec<_>>(), vec![7]);
        ro.ack(4, r1); // too old for round 2
        assert!(ro.take_confirmed(1, &voters).is_empty());
        ro.ack(2, r2);
        assert_eq!(ro.take_confirmed(1, &voters)[0].ctx, 8);
        assert_eq!(ro.pending_len(), 0);
    }

    #[test]
    fn a_lease_counts_echoes_of_recent_rounds_from_a_majority() {
        let voters = [1, 2, 3];
        let mut ro = ReadOnly::default();
        assert!(!ro.lease_holds(1, &voters, 0, 8));
        let r = ro.new_round(10, 40);
        ro.ack(2, r);
        assert!(ro.lease_holds(1, &voters, 17, 8));
        assert!(
            !ro.lease_holds(1, &voters, 18, 8),
            "8 ticks after round start"
        );
        ro.reset_lease();
        assert!(!ro.lease_holds(1, &voters, 12, 8));
        // Rounds older than `keep` are forgotten: their echoes extend nothing.
        let mut ro = ReadOnly::default();
        let old = ro.new_round(0, 5);
        ro.new_round(20, 5);
        ro.ack(3, old);
        assert!(!ro.lease_holds(1, &voters, 20, 100));
    }
}
