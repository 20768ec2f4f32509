//! A leader's view of one follower's log: matchIndex and nextIndex of Figure 2, plus the flow
//! control of etcd-io/raft (probe one message at a time until the follower's log is found, then
//! replicate with several appends in flight, or send the snapshot when the entries the follower
//! needs were compacted away).

use std::collections::VecDeque;

use super::types::Index;

/// How the leader is sending to a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum ProgressState {
    /// Looking for the point where the logs match: one AppendEntries at a time, then wait for the
    /// reply (or the next heartbeat).
    Probe,
    /// The logs match up to `matched`: stream entries, several appends in flight.
    Replicate,
    /// The follower needs entries the leader compacted: InstallSnapshot, one chunk at a time.
    Snapshot,
}

impl ProgressState {
    /// Lower-case name, for display.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressState::Probe => "probe",
            ProgressState::Replicate => "replicate",
            ProgressState::Snapshot => "snapshot",
        }
    }
}

/// Replication progress of one follower, kept by the leader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    /// matchIndex: highest index known to be replicated on the follower.
    pub matched: Index,
    /// nextIndex: index of the next entry to send.
    pub next: Index,
    /// Probe or Replicate.
    pub state: ProgressState,
    /// Probe: an AppendEntries is out and unanswered. Snapshot: a chunk is.
    paused: bool,
    /// Snapshot: the index of the snapshot being sent.
    pub pending_snapshot: Index,
    /// Snapshot: bytes the follower confirmed holding; the next chunk starts here.
    pub snapshot_offset: u64,
    /// Replicate: last index of each AppendEntries in flight, oldest first.
    inflight: VecDeque<Index>,
    /// Leader ticks since the last reply that raised `matched`, while appends are outstanding.
    stalled_ticks: u32,
}

impl Progress {
    /// A follower the new leader knows nothing about: "nextIndex initialized to leader last log
    /// index + 1", "matchIndex initialized to 0".
    pub fn new(next: Index) -> Self {
        Progress {
            matched: 0,
            next,
            state: ProgressState::Probe,
            paused: false,
            pending_snapshot: 0,
            snapshot_offset: 0,
            inflight: VecDeque::new(),
            stalled_ticks: 0,
        }
    }

    /// Whether another AppendEntries carrying entries may be sent now.
    pub fn can_send(&self, max_inflight: usize) -> bool {
        match self.state {
            ProgressState::Probe | ProgressState::Snapshot => !self.paused,
            ProgressState::Replicate => self.inflight.len() < max_inflight,
        }
    }

    /// Number of appends in flight (Replicate) or 1 for an unanswered probe.
    pub fn inflight(&self) -> usize {
        match self.state {
            ProgressState::Probe | ProgressState::Snapshot => usize::from(self.paused),
            ProgressState::Replicate => self.inflight.len(),
        }
    }

    /// Records that an AppendEntries whose last entry is `last` (None when empty) was sent.
    pub fn sent(&mut self, last: Option<Index>) {
        match self.state {
            ProgressState::Probe | ProgressState::Snapshot => self.paused = true,
            ProgressState::Replicate => {
                if let Some(last) = last {
                    self.next = last + 1;
                    self.inflight.push_back(last);
                }
            }
        }
    }

    /// A heartbeat interval passed: a probe may be retried.
    pub fn unpause(&mut self) {
        self.paused = false;
    }

    /// The follower matched up to `match_index`. Returns whether `matched` rose.
    pub fn on_success(&mut self, match_index: Index) -> bool {
        let progressed = match_index > self.matched;
        if progressed {
            self.matched = match_index;
            self.stalled_ticks = 0;
        }
        match self.state {
            // A success while sending a snapshot answers an older append; the snapshot goes on
            // unless the follower now holds what it covers.
            ProgressState::Snapshot => {
                if self.matched >= self.pending_snapshot {
                    self.become_probe();
                }
            }
            ProgressState::Probe => {
                // The answer to the current probe (or a newer one): the logs match, replicate.
                if match_index + 1 >= self.next {
                    self.become_replicate();
                }
                self.paused = false;
            }
            ProgressState::Replicate => {
                while self
                    .inflight
                    .front()
                    .is_some_and(|last| *last <= match_index)
                {
                    self.inflight.pop_front();
                }
            }
        }
        self.next = self.next.max(self.matched + 1);
        progressed
    }

    /// The follower rejected an AppendEntries whose prev_log_index was `rejected`, and the hint
    /// says to retry from `hint_next`. Returns false when the rejection is stale (answers an older
    /// request than the current one) and changes nothing.
    pub fn on_reject(&mut self, rejected: Index, hint_next: Index) -> bool {
        match self.state {
            ProgressState::Replicate if rejected <= self.matched => return false,
            ProgressState::Probe if rejected + 1 != self.next => return false,
            ProgressState::Snapshot => return false,
            _ => {}
        }
        if self.state == ProgressState::Probe && hint_next <= self.matched {
            // The follower rejects the current probe at matchIndex and says its log ends before
            // it: it lost entries it once acknowledged (its disk was damaged and it recovered
            // less). Forget what it matched and find its log again.
            self.matched = 0;
        }
        // Back off, but never below what is known to match and always below what was rejected.
        let next = hint_next.min(rejected).max(self.matched + 1);
        self.become_probe();
        self.next = next;
        true
    }

    /// Back to probing from just after `matched`.
    pub fn become_probe(&mut self) {
        self.state = ProgressState::Probe;
        self.paused = false;
        self.inflight.clear();
        self.stalled_ticks = 0;
        self.next = self.matched + 1;
    }

    /// Starts sending snapshot `index` from its first byte.
    pub fn become_snapshot(&mut self, index: Index) {
        self.state = ProgressState::Snapshot;
        self.paused = false;
        self.inflight.clear();
        self.stalled_ticks = 0;
        self.pending_snapshot = index;
        self.snapshot_offset = 0;
    }

    /// The follower answered a chunk of snapshot `index`: it holds `next_offset` bytes of it, or
    /// the whole of it installed (`done`). Returns whether `matched` rose.
    pub fn on_snapshot_reply(&mut self, index: Index, next_offset: u64, done: bool) -> bool {
        if done {
            let progressed = index > self.matched;
            if progressed {
                self.matched = index;
            }
            if self.state == ProgressState::Snapshot {
                self.become_probe();
            } else {
                self.next = self.next.max(self.matched + 1);
            }
            return progressed;
        }
        if self.state == ProgressState::Snapshot && index == self.pending_snapshot {
            if next_offset > self.snapshot_offset {
                // Progress: send the next chunk now.
                self.snapshot_offset = next_offset;
                self.paused = false;
                self.stalled_ticks = 0;
            } else if next_offset < self.snapshot_offset {
                // The follower lost what it had (a restart) — or this answer is old. Either way
                // go on from there after the next stall, so duplicates cannot multiply chunks.
                self.snapshot_offset = next_offset;
            }
        }
        false
    }

    fn become_replicate(&mut self) {
        self.state = ProgressState::Replicate;
        self.paused = false;
        self.inflight.clear();
        self.stalled_ticks = 0;
        self.next = self.matched + 1;
    }

    /// One leader tick. Appends may be lost: when they have been outstanding for `limit` ticks
    /// without progress, go back to probing so they are sent again. Returns whether it reset.
    pub fn tick(&mut self, limit: u32) -> bool {
        if self.state == ProgressState::Replicate && !self.inflight.is_empty() {
            self.stalled_ticks += 1;
            if self.stalled_ticks >= limit {
                self.become_probe();
                return true;
            }
        }
        if self.state == ProgressState::Snapshot && self.paused {
            // A chunk or its answer was lost: send again from the last confirmed offset.
            self.stalled_ticks += 1;
            if self.stalled_ticks >= limit {
                self.stalled_ticks = 0;
                self.paused = false;
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_sends_one_at_a_time() {
        let mut p = Progress::new(6);
        assert!(p.can_send(4));
        p.sent(Some(8));
        assert!(!p.can_send(4), "one probe in flight");
        assert_eq!(p.next, 6, "probing does not move next optimistically");
        p.unpause();
        assert!(p.can_send(4));
    }

    #[test]
    fn success_switches_to_replicate_and_pipelines() {
        let mut p = Progress::new(6);
        p.sent(Some(8));
        assert!(p.on_success(8));
        assert_eq!(p.state, ProgressState::Replicate);
        assert_eq!((p.matched, p.next), (8, 9));
        p.sent(Some(10));
        p.sent(Some(12));
        assert_eq!(p.next, 13, "replicate moves next optimistically");
        assert!(!p.can_send(2), "window of 2 is full");
        p.on_success(10);
        assert!(p.can_send(2));
        assert_eq!(p.inflight(), 1);
    }

    #[test]
    fn stale_rejections_are_ignored() {
        let mut p = Progress::new(10);
        p.sent(None);
        assert!(!p.on_reject(5, 3), "we probed at prev 9, not 5");
        assert!(p.on_reject(9, 4));
        assert_eq!(p.next, 4);
        assert!(!p.on_reject(9, 4), "duplicate of the same rejection");
    }

    #[test]
    fn rejection_never_backs_below_matched() {
        let mut p = Progress::new(10);
        p.on_success(7); // an old reply: still probing at next 10
        p.sent(Some(12)); // the probe carries prev_log_index 9
        assert!(!p.on_reject(12, 5), "not the probe we sent");
        assert!(p.on_reject(9, 8));
        assert_eq!(p.state, ProgressState::Probe);
        assert_eq!(p.next, 8);
        assert_eq!(p.matched, 7);
        // In replicate, a rejection of something at or below matched is stale.
        p.on_success(9);
        assert_eq!(p.state, ProgressState::Replicate);
        assert!(!p.on_reject(9, 1));
    }

    #[test]
    fn a_follower_that_lost_acknowledged_entries_is_probed_again() {
        let mut p = Progress::new(10);
        p.on_success(7);
        p.sent(Some(12)); // probe at prev_log_index 9
                          // It answers the probe: its log ends at 1, below the 7 it once matched (a damaged disk
                          // recovered less). The leader forgets matchIndex rather than probe at 8 forever.
        assert!(p.on_reject(9, 2));
        assert_eq!((p.matched, p.next), (0, 2));
    }

    #[test]
    fn lost_appends_are_resent_after_a_stall() {
        let mut p = Progress::new(1);
        p.on_success(0);
        p.sent(Some(5));
        assert!(!p.tick(3));
        assert!(!p.tick(3));
        assert!(p.tick(3));
        assert_eq!((p.state, p.next), (ProgressState::Probe, 1));
    }
}
