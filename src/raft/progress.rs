//! A leader's view of one follower's log: matchIndex and nextIndex of Figure 2, plus the flow
//! control of etcd-io/raft (probe one message at a time until the follower's log is found, then
//! replicate with several appends in flight).

use std::collections::VecDeque;

use super::types::Index;

/// How the leader is sending to a follower.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProgressState {
    /// Looking for the point where the logs match: one AppendEntries at a time, then wait for the
    /// reply (or the next heartbeat).
    Probe,
    /// The logs match up to `matched`: stream entries, several appends in flight.
    Replicate,
}

impl ProgressState {
    /// Lower-case name, for display.
    pub fn as_str(self) -> &'static str {
        match self {
            ProgressState::Probe => "probe",
            ProgressState::Replicate => "replicate",
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
    /// Probe: an AppendEntries is out and unanswered.
    paused: bool,
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
            inflight: VecDeque::new(),
            stalled_ticks: 0,
        }
    }

    /// Whether another AppendEntries carrying entries may be sent now.
    pub fn can_send(&self, max_inflight: usize) -> bool {
        match self.state {
            ProgressState::Probe => !self.paused,
            ProgressState::Replicate => self.inflight.len() < max_inflight,
        }
    }

    /// Number of appends in flight (Replicate) or 1 for an unanswered probe.
    pub fn inflight(&self) -> usize {
        match self.state {
            ProgressState::Probe => usize::from(self.paused),
            ProgressState::Replicate => self.inflight.len(),
        }
    }

    /// Records that an AppendEntries whose last entry is `last` (None when empty) was sent.
    pub fn sent(&mut self, last: Option<Index>) {
        match self.state {
            ProgressState::Probe => self.paused = true,
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
            _ => {}
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
        assert!(!p.on_reject(12, 2), "not the probe we sent");
        assert!(p.on_reject(9, 2));
        assert_eq!(p.state, ProgressState::Probe);
        assert_eq!(p.next, 8);
        // In replicate, a rejection of something at or below matched is stale.
        p.on_success(9);
        assert_eq!(p.state, ProgressState::Replicate);
        assert!(!p.on_reject(9, 1));
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
