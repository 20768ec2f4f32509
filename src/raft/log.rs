//! One server's log, held in memory by the core, with its commit, apply and persist marks.
//!
//! ```text
//!  snapshot_index   first_index                  persisted      last_index
//!        │ (compacted) │                             │               │
//!  ──────┤             ├─────────────────────────────┼───────────────┤
//!        0 .. covered  │ entries[0] ...   applied ≤ commit           │
//!                                                   durable  │ not yet durable
//! ```
//!
//! Entries before `first_index` are covered by a snapshot (`snapshot_index`, `snapshot_term`);
//! without snapshots both are 0 and the log starts at index 1. Terms never decrease along the log,
//! which lets the back-off hints of §5.3 be found by binary search.

use std::collections::VecDeque;

use super::types::{Entry, Index, SnapshotMeta, Term};

/// The log of one server.
#[derive(Clone, Debug, Default)]
pub struct RaftLog {
    snapshot_index: Index,
    snapshot_term: Term,
    entries: VecDeque<Entry>,
    committed: Index,
    applied: Index,
    persisted: Index,
}

/// What a follower's log says about an AppendEntries' prev_log_index / prev_log_term.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consistency {
    /// The log holds an entry at prev_log_index with prev_log_term.
    Match,
    /// The log ends before prev_log_index; retry from `conflict_index` (= last index + 1).
    TooShort {
        /// The follower's last index + 1.
        conflict_index: Index,
    },
    /// The entry at prev_log_index has another term; the follower's entries of that term start at
    /// `conflict_index`.
    TermMismatch {
        /// The term the follower has at prev_log_index.
        conflict_term: Term,
        /// The first index of that term in the follower's log.
        conflict_index: Index,
    },
    /// prev_log_index lies inside the compacted prefix: the follower cannot check it.
    Compacted,
}

/// The result of storing the entries of an AppendEntries that passed the consistency check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AppendOutcome {
    /// Index of the last entry the request covered: prev_log_index + entries.len().
    pub last_new_index: Index,
    /// If a conflicting suffix was cut off, the first index removed.
    pub truncated_from: Option<Index>,
}

/// Appending would remove committed entries: a safety violation by the sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WouldTruncateCommitted {
    /// The first index that conflicts.
    pub conflict_index: Index,
    /// The commit index that forbids it.
    pub committed: Index,
}

impl RaftLog {
    /// An empty log, or the entries a server recovered from storage (all durable).
    ///
    /// `entries` must be consecutive and start right after `snapshot_index`.
    pub fn restore(
        snapshot_index: Index,
        snapshot_term: Term,
        entries: Vec<Entry>,
        committed: Index,
    ) -> Self {
        let mut log = RaftLog {
            snapshot_index,
            snapshot_term,
            entries: entries.into(),
            committed: 0,
            applied: snapshot_index,
            persisted: 0,
        };
        log.persisted = log.last_index();
        // A stored commit index beyond the stored log would be a storage bug; never trust it past
        // what we can apply.
        log.committed = committed.max(snapshot_index).min(log.last_index());
        log
    }

    /// First index held in memory (snapshot_index + 1).
    pub fn first_index(&self) -> Index {
        self.snapshot_index + 1
    }

    /// Index of the last entry, or of the snapshot when no entry follows it.
    pub fn last_index(&self) -> Index {
        self.snapshot_index + self.entries.len() as Index
    }

    /// Term of the last entry (0 for an empty log).
    pub fn last_term(&self) -> Term {
        self.entries.back().map_or(self.snapshot_term, |e| e.term)
    }

    /// Highest index known committed.
    pub fn committed(&self) -> Index {
        self.committed
    }

    /// Highest index handed to the state machine.
    pub fn applied(&self) -> Index {
        self.applied
    }

    /// Highest index known durable in storage.
    pub fn persisted(&self) -> Index {
        self.persisted
    }

    /// Index of the last entry covered by the snapshot (0 without one).
    pub fn snapshot_index(&self) -> Index {
        self.snapshot_index
    }

    /// Term of that entry (0 without a snapshot).
    pub fn snapshot_term(&self) -> Term {
        self.snapshot_term
    }

    /// Drops the entries up to and including `index`, which a snapshot of the state machine now
    /// covers (§7). The caller checked that `index` is applied and held, with term `term`.
    pub fn compact(&mut self, index: Index, term: Term) {
        debug_assert!(index > self.snapshot_index && index <= self.applied);
        debug_assert_eq!(self.term(index), Some(term));
        let drop = (index - self.snapshot_index) as usize;
        self.entries.drain(..drop.min(self.entries.len()));
        self.snapshot_index = index;
        self.snapshot_term = term;
    }

    /// A follower installs a leader's snapshot (Figure 13, steps 6–8). If the log holds the
    /// snapshot's last entry with the same term, the entries after it are kept; otherwise the whole
    /// log is discarded. The snapshot's entries are committed, applied (the runtime restores the
    /// state machine from it) and durable (the runtime stores it before acting on anything else).
    /// Returns whether a suffix was kept.
    pub fn install_snapshot(&mut self, meta: SnapshotMeta) -> bool {
        debug_assert!(meta.index > self.committed);
        let keep = meta.index > self.snapshot_index && self.term(meta.index) == Some(meta.term);
        if keep {
            let drop = (meta.index - self.snapshot_index) as usize;
            self.entries.drain(..drop);
        } else {
            self.entries.clear();
        }
        self.snapshot_index = meta.index;
        self.snapshot_term = meta.term;
        self.committed = self.committed.max(meta.index);
        self.applied = self.applied.max(meta.index);
        // Durable up to the snapshot (stored before anything else in the Ready); a kept suffix
        // is as durable as it was, a discarded one is gone.
        self.persisted = if keep {
            self.persisted.max(meta.index)
        } else {
            meta.index
        };
        keep
    }

    /// The term of the entry at `index`: `Some(0)` for index 0, `None` when the index is beyond the
    /// log or inside the compacted prefix.
    pub fn term(&self, index: Index) -> Option<Term> {
        if index == self.snapshot_index {
            return Some(self.snapshot_term);
        }
        self.entry(index).map(|e| e.term)
    }

    /// The entry at `index`, if held.
    pub fn entry(&self, index: Index) -> Option<&Entry> {
        if index < self.first_index() {
            return None;
        }
        self.entries.get((index - self.first_index()) as usize)
    }

    /// Entries `lo..=hi`, at most `max_count` of them and, past the first, at most `max_bytes`.
    pub fn slice(&self, lo: Index, hi: Index, max_count: usize, max_bytes: usize) -> Vec<Entry> {
        let mut out = Vec::new();
        if lo < self.first_index() || lo > hi {
            return out;
        }
        let hi = hi.min(self.last_index());
        let mut bytes = 0usize;
        let mut index = lo;
        while index <= hi && out.len() < max_count {
            let Some(entry) = self.entry(index) else {
                break;
            };
            bytes += entry.approx_size();
            if !out.is_empty() && bytes > max_bytes {
                break;
            }
            out.push(entry.clone());
            index += 1;
        }
        out
    }

    /// Entries `lo..=hi` as they are (for persistence and apply).
    pub fn range(&self, lo: Index, hi: Index) -> Vec<Entry> {
        self.slice(lo, hi, usize::MAX, usize::MAX)
    }

    /// §5.4.1: is a log ending at (`last_log_index`, `last_log_term`) at least as up-to-date as
    /// this one? "If the logs have last entries with different terms, then the log with the later
    /// term is more up-to-date. If the logs end with the same term, then whichever log is longer is
    /// more up-to-date."
    pub fn is_up_to_date(&self, last_log_index: Index, last_log_term: Term) -> bool {
        last_log_term > self.last_term()
            || (last_log_term == self.last_term() && last_log_index >= self.last_index())
    }

    /// The AppendEntries consistency check (§5.3) with the conflict hint for fast back-off.
    pub fn check_consistency(&self, prev_log_index: Index, prev_log_term: Term) -> Consistency {
        if prev_log_index > self.last_index() {
            return Consistency::TooShort {
                conflict_index: self.last_index() + 1,
            };
        }
        match self.term(prev_log_index) {
            None => Consistency::Compacted,
            Some(t) if t == prev_log_term => Consistency::Match,
            Some(t) => Consistency::TermMismatch {
                conflict_term: t,
                conflict_index: self.first_index_of_term(t, prev_log_index),
            },
        }
    }

    /// The first index at or before `at` whose entry has term `term`, given that the entry at `at`
    /// has that term. Binary search: terms never decrease along the log.
    fn first_index_of_term(&self, term: Term, at: Index) -> Index {
        // Terms never decrease and the entry at `at` has `term`: the first entry whose term is not
        // below `term` is the first of that term, and it lies at or before `at`.
        let pos = self.entries.partition_point(|e| e.term < term);
        let first = self.first_index() + pos as Index;
        debug_assert!(first <= at);
        first.min(at)
    }

    /// The last index whose entry has term `term`, if the log holds one (the leader's side of the
    /// §5.3 hint).
    pub fn last_index_of_term(&self, term: Term) -> Option<Index> {
        let pos = self.entries.partition_point(|e| e.term <= term);
        if pos == 0 {
            return (self.snapshot_term == term && self.snapshot_index > 0)
                .then_some(self.snapshot_index);
        }
        let e = &self.entries[pos - 1];
        (e.term == term).then_some(e.index)
    }

    /// A leader appends its own new entry at the end.
    pub fn append(&mut self, entry: Entry) {
        debug_assert_eq!(
            entry.index,
            self.last_index() + 1,
            "leader appends in order"
        );
        debug_assert!(entry.term >= self.last_term(), "terms never decrease");
        self.entries.push_back(entry);
    }

    /// A follower stores the entries of an AppendEntries whose prev entry matched (§5.3, rule 3
    /// and 4 of the receiver implementation): an existing entry that conflicts with a new one (same
    /// index, different term) is deleted with all that follow it; entries already present are kept
    /// as they are (a stale, reordered request must never cut off newer entries).
    pub fn append_after(
        &mut self,
        prev_log_index: Index,
        entries: &[Entry],
    ) -> Result<AppendOutcome, WouldTruncateCommitted> {
        let last_new_index = prev_log_index + entries.len() as Index;
        let mut truncated_from = None;
        let mut first_new = entries.len();
        for (i, e) in entries.iter().enumerate() {
            match self.term(e.index) {
                Some(t) if t == e.term => continue,
                // Inside the compacted prefix: covered by the snapshot, hence committed and equal.
                None if e.index <= self.snapshot_index => continue,
                Some(_) => {
                    if e.index <= self.committed {
                        return Err(WouldTruncateCommitted {
                            conflict_index: e.index,
                            committed: self.committed,
                        });
                    }
                    self.truncate_from(e.index);
                    truncated_from = Some(e.index);
                    first_new = i;
                    break;
                }
                None => {
                    first_new = i;
                    break;
                }
            }
        }
        for e in &entries[first_new..] {
            debug_assert_eq!(e.index, self.last_index() + 1);
            self.entries.push_back(e.clone());
        }
        Ok(AppendOutcome {
            last_new_index,
            truncated_from,
        })
    }

    /// Removes the entries from `index` on.
    fn truncate_from(&mut self, index: Index) {
        let keep = index.saturating_sub(self.first_index()) as usize;
        self.entries.truncate(keep);
        if self.persisted >= index {
            self.persisted = index - 1;
        }
    }

    /// Raises the commit index (never lowers it, never past the last entry).
    pub fn commit_to(&mut self, index: Index) -> bool {
        let index = index.min(self.last_index());
        if index > self.committed {
            self.committed = index;
            true
        } else {
            false
        }
    }

    /// Records that entries up to `index` were handed to the state machine.
    pub fn applied_to(&mut self, index: Index) {
        debug_assert!(index <= self.committed);
        self.applied = self.applied.max(index.min(self.committed));
    }

    /// Records that storage holds entries up to `index` — if the entry there still has `term`
    /// (a truncation since the write makes the acknowledgement stale).
    pub fn persisted_to(&mut self, index: Index, term: Term) {
        if index > self.persisted && self.term(index) == Some(term) {
            self.persisted = index;
        }
    }

    /// Entries not yet durable: what the next Ready asks the runtime to write.
    pub fn unpersisted(&self) -> Vec<Entry> {
        self.range(self.persisted + 1, self.last_index())
    }

    /// Entries committed, durable and not yet applied: what the next Ready hands to the state
    /// machine.
    pub fn next_to_apply(&self) -> Vec<Entry> {
        let hi = self.committed.min(self.persisted);
        if hi > self.applied {
            self.range(self.applied + 1, hi)
        } else {
            Vec::new()
        }
    }

    /// True when [`RaftLog::next_to_apply`] would return something.
    pub fn has_next_to_apply(&self) -> bool {
        self.committed.min(self.persisted) > self.applied
    }

    /// Checks the log's own invariants; the simulator calls this after every step.
    pub fn validate(&self) -> Result<(), String> {
        let mut prev_term = self.snapshot_term;
        for (i, e) in self.entries.iter().enumerate() {
            let want = self.first_index() + i as Index;
            if e.index != want {
                return Err(format!(
                    "entry at position {i} has index {}, want {want}",
                    e.index
                ));
            }
            if e.term < prev_term {
                return Err(format!("term decreases at index {}", e.index));
            }
            prev_term = e.term;
        }
        if self.applied > self.committed {
            return Err(format!(
                "applied {} > commit {}",
                self.applied, self.committed
            ));
        }
        if self.committed > self.last_index() {
            return Err(format!(
                "commit {} > last index {}",
                self.committed,
                self.last_index()
            ));
        }
        if self.applied < self.snapshot_index || self.committed < self.snapshot_index {
            return Err(format!(
                "snapshot {} covers more than commit {} / applied {}",
                self.snapshot_index, self.committed, self.applied
            ));
        }
        if self.persisted > self.last_index() {
            return Err(format!(
                "persisted {} > last index {}",
                self.persisted,
                self.last_index()
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
