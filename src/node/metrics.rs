//! Cheap counters of what a node's driver did, for `raftlab bench`: how many persist batches it
//! wrote, how many entries a leader appended per batch, how many AppendEntries it sent.
//!
//! ```text
//!   driver: Ready ─► persist ──► persisted(entries, leader)   (one bump per Ready)
//!                    send ─────► sent(&msg)                   (one bump per message)
//!   bench / Control.Status ◄──── snapshot()                   (relaxed loads, any thread)
//! ```
//!
//! The counters live in an `Arc` made once per node by the cluster, so they survive a kill and
//! restart of the node and only ever grow: a reader takes two snapshots and subtracts. They are
//! plain relaxed atomics, bumped once per Ready and once per message: nothing on the hot path
//! waits for them.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::raft::{Message, Rpc};

/// The counters of one node.
#[derive(Debug, Default)]
pub struct NodeMetrics {
    persists: AtomicU64,
    leader_appends: AtomicU64,
    leader_entries: AtomicU64,
    append_entries_sent: AtomicU64,
    entries_sent: AtomicU64,
}

impl NodeMetrics {
    /// One persist of a Ready (a hard state, entries, or both: one write, one fsync), with
    /// `entries` new log entries, written while the node led (`leader`).
    pub fn persisted(&self, entries: usize, leader: bool) {
        self.persists.fetch_add(1, Ordering::Relaxed);
        if leader && entries > 0 {
            self.leader_appends.fetch_add(1, Ordering::Relaxed);
            self.leader_entries
                .fetch_add(entries as u64, Ordering::Relaxed);
        }
    }

    /// One message handed to the network.
    pub fn sent(&self, msg: &Message) {
        if let Rpc::AppendEntries(args) = &msg.rpc {
            self.append_entries_sent.fetch_add(1, Ordering::Relaxed);
            self.entries_sent
                .fetch_add(args.entries.len() as u64, Ordering::Relaxed);
        }
    }

    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        MetricsSnapshot {
            persists: self.persists.load(Ordering::Relaxed),
            leader_appends: self.leader_appends.load(Ordering::Relaxed),
            leader_entries: self.leader_entries.load(Ordering::Relaxed),
            append_entries_sent: self.append_entries_sent.load(Ordering::Relaxed),
            entries_sent: self.entries_sent.load(Ordering::Relaxed),
        }
    }
}

/// The counters of one node (or a sum over nodes) at one moment, or the difference of two.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetricsSnapshot {
    /// Persist batches: one storage write (and, on disk with fsync, one fsync) each.
    pub persists: u64,
    /// Persist batches with new entries written while leading: the leader's append batches.
    pub leader_appends: u64,
    /// Entries in those batches.
    pub leader_entries: u64,
    /// AppendEntries messages sent (heartbeats included); only a leader sends them.
    pub append_entries_sent: u64,
    /// Entries carried by those messages.
    pub entries_sent: u64,
}

impl MetricsSnapshot {
    /// What happened between `earlier` and `self` (saturating: counters never go back, but a
    /// reader may mix nodes).
    pub fn since(&self, earlier: &MetricsSnapshot) -> MetricsSnapshot {
        MetricsSnapshot {
            persists: self.persists.saturating_sub(earlier.persists),
            leader_appends: self.leader_appends.saturating_sub(earlier.leader_appends),
            leader_entries: self.leader_entries.saturating_sub(earlier.leader_entries),
            append_entries_sent: self
                .append_entries_sent
                .saturating_sub(earlier.append_entries_sent),
            entries_sent: self.entries_sent.saturating_sub(earlier.entries_sent),
        }
    }

    /// The sum of two nodes' counters.
    pub fn plus(&self, other: &MetricsSnapshot) -> MetricsSnapshot {
        MetricsSnapshot {
            persists: self.persists + other.persists,
            leader_appends: self.leader_appends + other.leader_appends,
            leader_entries: self.leader_entries + other.leader_entries,
            append_entries_sent: self.append_entries_sent + other.append_entries_sent,
            entries_sent: self.entries_sent + other.entries_sent,
        }
    }

    /// Mean entries per leader append batch, if there was one.
    pub fn mean_batch(&self) -> Option<f64> {
        (self.leader_appends > 0).then(|| self.leader_entries as f64 / self.leader_appends as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{AppendEntriesArgs, RequestVoteReply};

    fn append(to: u64, entries: usize) -> Message {
        Message {
            from: 1,
            to,
            rpc: Rpc::AppendEntries(AppendEntriesArgs {
                term: 1,
                leader_id: 1,
                prev_log_index: 0,
                prev_log_term: 0,
                entries: (1..=entries as u64)
                    .map(|i| crate::raft::Entry {
                        index: i,
                        term: 1,
                        kind: crate::raft::EntryKind::Normal,
                        data: bytes::Bytes::new(),
                    })
                    .collect(),
                leader_commit: 0,
                read_round: 0,
            }),
        }
    }

    #[test]
    fn counts_leader_batches_and_append_entries_only() {
        let m = NodeMetrics::default();
        m.persisted(3, true);
        m.persisted(0, true); // a hard state alone
        m.persisted(5, false); // a follower's batch
        m.sent(&append(2, 3));
        m.sent(&append(3, 0)); // a heartbeat is an AppendEntries too
        m.sent(&Message {
            from: 1,
            to: 2,
            rpc: Rpc::RequestVoteReply(RequestVoteReply {
                term: 1,
                vote_granted: true,
            }),
        });
        let s = m.snapshot();
        assert_eq!(
            s,
            MetricsSnapshot {
                persists: 3,
                leader_appends: 1,
                leader_entries: 3,
                append_entries_sent: 2,
                entries_sent: 3,
            }
        );
        assert_eq!(s.mean_batch(), Some(3.0));
        assert_eq!(s.since(&s), MetricsSnapshot::default());
        assert_eq!(MetricsSnapshot::default().mean_batch(), None);
        assert_eq!(s.plus(&s).leader_entries, 6);
    }
}
