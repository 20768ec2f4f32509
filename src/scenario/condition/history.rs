//! What happened on a cluster since a moment (a challenge's start): counts over the event bus
//! and the cluster's status that the history atoms of a condition read (`split votes`,
//! `leaders at once`, `stale appends`, `replaced N`, `snapshots installed`, `kills`,
//! `lost commits`, `stale reads`).
//!
//! ```text
//!   event bus ──► observe(event) ──────────┐
//!   status poll ► observe_status(status) ──┼─► EventHistory ──► Condition::eval_with_history
//!   log reads ──► observe_committed(..) ───┤
//!   checker ────► set_stale_reads(n) ──────┘
//! ```
//!
//! The counts only ever grow: a condition over them says "this happened", not "this holds now".

use std::collections::{BTreeMap, BTreeSet};

use crate::cluster::ClusterStatus;
use crate::node::{Event, EventKind};
use crate::raft::{Index, NodeId, Role, Term, TraceEvent};

/// A count over the history, as a condition names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HistoryCount {
    /// `split votes`: elections that ended with no leader: a term in which two or more nodes
    /// stood as candidates, none won, and a later term began (§5.2).
    SplitVotes,
    /// `leaders at once`: the most nodes that believed at the same moment that they led (each
    /// in its own term; §5.2 allows one per term).
    LeadersAtOnce,
    /// `stale appends`: the most entries of its own term that a leader held beyond its commit
    /// index while a majority of the nodes was already in a newer term: it can never commit them.
    StaleAppends,
    /// `replaced [N]`: entries a leader's AppendEntries removed from node N's log (§5.3); without
    /// a node, the most on any one node.
    Replaced(Option<NodeId>),
    /// `snapshots installed [N]`: InstallSnapshot accepted by node N (or by any node) (§7).
    SnapshotsInstalled(Option<NodeId>),
    /// `kills`: nodes that went down (killed or crashed).
    Kills,
    /// `lost commits`: indexes where two different entries were committed: State Machine
    /// Safety broken (§5.4.3), as the safety checker sees it.
    LostCommits,
    /// `stale reads`: keys whose client history the linearizability checker cannot explain (a
    /// read returned a value older than one already acknowledged).
    StaleReads,
}

impl HistoryCount {
    /// The words of the atom, without its node.
    pub fn name(&self) -> &'static str {
        match self {
            HistoryCount::SplitVotes => "split votes",
            HistoryCount::LeadersAtOnce => "leaders at once",
            HistoryCount::StaleAppends => "stale appends",
            HistoryCount::Replaced(_) => "replaced",
            HistoryCount::SnapshotsInstalled(_) => "snapshots installed",
            HistoryCount::Kills => "kills",
            HistoryCount::LostCommits => "lost commits",
            HistoryCount::StaleReads => "stale reads",
        }
    }
}

/// Counts over a cluster's history since the moment it was made.
#[derive(Clone, Debug, Default)]
pub struct EventHistory {
    /// Candidates of each term.
    candidates: BTreeMap<Term, BTreeSet<NodeId>>,
    /// Terms that had a leader.
    led: BTreeSet<Term>,
    /// Who believes it leads now, and in which term.
    leaders: BTreeMap<NodeId, Term>,
    most_leaders: usize,
    stale_appends: u64,
    /// Each node's last log index at the last status seen.
    last_index: BTreeMap<NodeId, Index>,
    replaced: BTreeMap<NodeId, u64>,
    installed: BTreeMap<NodeId, u64>,
    kills: u64,
    /// The term of the entry first seen committed at each index, and on which node.
    committed: BTreeMap<Index, (Term, NodeId)>,
    lost: BTreeSet<Index>,
    stale_reads: u64,
}

impl EventHistory {
    /// An empty history.
    pub fn new() -> Self {
        EventHistory::default()
    }

    /// A history that starts now: the leaders of `status` already believe they lead, and the
    /// logs are as long as it says.
    pub fn starting_from(status: &ClusterStatus) -> Self {
        let mut h = EventHistory::new();
        for n in status.nodes.iter().filter(|n| n.up) {
            if n.status.role == Role::Leader {
                h.leaders.insert(n.id, n.status.term);
            }
        }
        h.most_leaders = h.leaders.len();
        h.observe_status(status);
        h
    }

    /// The count now.
    pub fn count(&self, what: &HistoryCount) -> u64 {
        match what {
            HistoryCount::SplitVotes => self.split_votes(),
            HistoryCount::LeadersAtOnce => self.most_leaders as u64,
            HistoryCount::StaleAppends => self.stale_appends,
            HistoryCount::Replaced(Some(n)) => self.replaced.get(n).copied().unwrap_or(0),
            HistoryCount::Replaced(None) => self.replaced.values().copied().max().unwrap_or(0),
            HistoryCount::SnapshotsInstalled(Some(n)) => {
                self.installed.get(n).copied().unwrap_or(0)
            }
            HistoryCount::SnapshotsInstalled(None) => self.installed.values().sum(),
            HistoryCount::Kills => self.kills,
            HistoryCount::LostCommits => self.lost.len() as u64,
            HistoryCount::StaleReads => self.stale_reads,
        }
    }

    fn split_votes(&self) -> u64 {
        let Some(newest) = self.candidates.keys().next_back().copied() else {
            return 0;
        };
        self.candidates
            .iter()
            .filter(|(t, who)| **t < newest && who.len() >= 2 && !self.led.contains(t))
            .count() as u64
    }

    /// Takes one event of the bus.
    pub fn observe(&mut self, event: &Event) {
        let node = event.node;
        match &event.kind {
            EventKind::Trace(TraceEvent::BecameCandidate { term }) => {
                self.candidates.entry(*term).or_default().insert(node);
            }
            EventKind::Trace(TraceEvent::BecameLeader { term }) => {
                self.led.insert(*term);
                self.leaders.insert(node, *term);
                self.most_leaders = self.most_leaders.max(self.leaders.len());
            }
            EventKind::Trace(TraceEvent::SteppedDown {
                was: Role::Leader, ..
            }) => {
                self.leaders.remove(&node);
            }
            EventKind::Trace(TraceEvent::LogTruncated { from_index, .. }) => {
                // The log as of the last status seen: what it held before the leader's order.
                let last = self.last_index.get(&node).copied().unwrap_or(0);
                let removed = (last + 1).saturating_sub(*from_index);
                *self.replaced.entry(node).or_default() += removed;
                self.last_index.insert(node, from_index.saturating_sub(1));
            }
            EventKind::Trace(TraceEvent::SnapshotInstalled { .. }) => {
                *self.installed.entry(node).or_default() += 1;
            }
            EventKind::NodeDown(_) => {
                self.kills += 1;
                self.leaders.remove(&node);
            }
            _ => {}
        }
    }

    /// Takes the cluster's status: the logs' lengths (for `replaced`) and leaders that can no
    /// longer commit (for `stale appends`).
    pub fn observe_status(&mut self, status: &ClusterStatus) {
        let majority = status.nodes.len() / 2 + 1;
        for n in status.nodes.iter().filter(|n| n.up) {
            let s = &n.status;
            if s.role == Role::Leader && s.last_log_term == s.term {
                let newer = status
                    .nodes
                    .iter()
                    .filter(|m| m.status.term > s.term)
                    .count();
                if newer >= majority {
                    let stale = s.last_log_index.saturating_sub(s.commit);
                    self.stale_appends = self.stale_appends.max(stale);
                }
            }
            self.last_index.insert(n.id, s.last_log_index);
        }
    }

    /// Takes the terms of entries node `node` has committed: an index committed before with a
    /// different term is a lost commit.
    pub fn observe_committed(&mut self, node: NodeId, entries: &[(Index, Term)]) {
        for &(index, term) in entries {
            match self.committed.get(&index) {
                None => {
                    self.committed.insert(index, (term, node));
                }
                Some((t, _)) if *t != term => {
                    self.lost.insert(index);
                }
                Some(_) => {}
            }
        }
    }

    /// What the committed entries disagree on: (index, (term, node) first seen), for messages.
    pub fn lost_commits(&self) -> Vec<(Index, Term, NodeId)> {
        self.lost
            .iter()
            .filter_map(|i| self.committed.get(i).map(|(t, n)| (*i, *t, *n)))
            .collect()
    }

    /// Sets how many keys' histories the checker found not linearizable.
    pub fn set_stale_reads(&mut self, keys: u64) {
        self.stale_reads = self.stale_reads.max(keys);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ev(node: NodeId, t: TraceEvent) -> Event {
        Event {
            at: Duration::ZERO,
            node,
            kind: EventKind::Trace(t),
        }
    }

    #[test]
    fn a_term_with_two_candidates_and_no_leader_is_a_split_vote_once_it_is_over() {
        let mut h = EventHistory::new();
        h.observe(&ev(2, TraceEvent::BecameCandidate { term: 2 }));
        h.observe(&ev(3, TraceEvent::BecameCandidate { term: 2 }));
        assert_eq!(h.count(&HistoryCount::SplitVotes), 0, "term 2 is not over");
        h.observe(&ev(3, TraceEvent::BecameCandidate { term: 3 }));
        assert_eq!(h.count(&HistoryCount::SplitVotes), 1);
        h.observe(&ev(3, TraceEvent::BecameLeader { term: 3 }));
        h.observe(&ev(4, TraceEvent::BecameCandidate { term: 4 }));
        assert_eq!(
            h.count(&HistoryCount::SplitVotes),
            1,
            "one candidate is no split"
        );
    }

    #[test]
    fn leaders_are_counted_while_they_believe_it() {
        let mut h = EventHistory::new();
        h.observe(&ev(1, TraceEvent::BecameLeader { term: 1 }));
        h.observe(&ev(
            1,
            TraceEvent::SteppedDown {
                was: Role::Leader,
                term: 2,
                reason: crate::raft::StepDownReason::HigherTerm { term: 2, from: 2 },
            },
        ));
        h.observe(&ev(2, TraceEvent::BecameLeader { term: 2 }));
        assert_eq!(h.count(&HistoryCount::LeadersAtOnce), 1);
        h.observe(&ev(3, TraceEvent::BecameLeader { term: 3 }));
        assert_eq!(h.count(&HistoryCount::LeadersAtOnce), 2);
    }

    #[test]
    fn a_second_term_at_a_committed_index_is_a_lost_commit() {
        let mut h = EventHistory::new();
        h.observe_committed(1, &[(1, 1), (2, 1)]);
        h.observe_committed(2, &[(1, 1)]);
        assert_eq!(h.count(&HistoryCount::LostCommits), 0);
        h.observe_committed(3, &[(2, 2)]);
        assert_eq!(h.count(&HistoryCount::LostCommits), 1);
        assert_eq!(h.lost_commits(), vec![(2, 1, 1)]);
    }
}
