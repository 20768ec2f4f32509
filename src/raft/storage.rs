//! The `Storage` trait — where a core's hard state and log are made durable — and an in-memory
//! implementation for tests, the simulator and `--storage memory`.
//!
//! The core keeps its log in memory and never calls storage itself (it does no I/O). The runtime
//! writes each [`Ready`](super::Ready)'s hard state and entries with [`Storage::persist`] (one
//! write, one sync, for the whole batch) and, on restart, rebuilds the core from
//! [`Storage::initial_state`].

use super::types::{Entry, HardState, Index, Snapshot};

/// What a server recovers from its storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitialState {
    /// Last persisted hard state.
    pub hard_state: HardState,
    /// The newest snapshot, if one was taken or installed.
    pub snapshot: Option<Snapshot>,
    /// The stored log, consecutive, starting right after the snapshot (index 1 without one).
    pub entries: Vec<Entry>,
}

/// A storage failure. The node must stop rather than go on with state it cannot trust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageError(pub String);

impl std::fmt::Display for StorageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl std::error::Error for StorageError {}

/// Durable home of one server's hard state and log.
pub trait Storage {
    /// The state to restart from.
    fn initial_state(&self) -> Result<InitialState, StorageError>;

    /// Makes `hard_state` (if any) and `entries` durable, atomically enough that a crash leaves
    /// either the old or the new hard state, and a log that is a prefix of the new one. If
    /// `entries[0].index` is at or below the stored last index, the stored entries from there on
    /// are removed first.
    fn persist(
        &mut self,
        hard_state: Option<&HardState>,
        entries: &[Entry],
    ) -> Result<(), StorageError>;

    /// Makes `snapshot` durable, then drops the stored entries it covers (§7).
    ///
    /// If the stored log holds the entry at `snapshot.meta.index` with `snapshot.meta.term`, the
    /// entries after it are kept ("retain log entries following it", Figure 13); otherwise the
    /// whole stored log is discarded and the log goes on at `snapshot.meta.index + 1`. A snapshot
    /// at or below the stored one changes nothing. A crash at any point leaves either the old
    /// snapshot and log or the new snapshot with a log that continues it.
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StorageError>;

    /// Index of the last stored entry, or of the snapshot when no entry follows it.
    fn last_index(&self) -> Index;

    /// Index of the newest stored snapshot (0 without one).
    fn snapshot_index(&self) -> Index;

    /// Whether `persist` and `save_snapshot` may block the thread (disk writes, fsync), so that an
    /// async caller should run them where blocking is allowed. Storage in memory never blocks.
    fn may_block(&self) -> bool {
        true
    }
}

/// Storage in memory: "durable" for as long as the process lives, which is what the simulator's
/// crash and restart and the in-process cluster's kill and restart need.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    hard_state: HardState,
    snapshot: Option<Snapshot>,
    entries: Vec<Entry>,
}

impl MemStorage {
    /// Empty storage.
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored entries.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The stored hard state.
    pub fn hard_state(&self) -> HardState {
        self.hard_state
    }

    /// The stored snapshot.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    fn first_index(&self) -> Index {
        self.snapshot_index() + 1
    }
}

impl Storage for MemStorage {
    fn may_block(&self) -> bool {
        false
    }

    fn initial_state(&self) -> Result<InitialState, StorageError> {
        Ok(InitialState {
            hard_state: self.hard_state,
            snapshot: self.snapshot.clone(),
            entries: self.entries.clone(),
        })
    }

    fn persist(
        &mut self,
        hard_state: Option<&HardState>,
        entries: &[Entry],
    ) -> Result<(), StorageError> {
        if let Some(first) = entries.first() {
            let stored_first = self.first_index();
            if first.index < stored_first || first.index > self.last_index() + 1 {
                return Err(StorageError(format!(
                    "append at {} leaves a gap after {}",
                    first.index,
                    self.last_index()
                )));
            }
            self.entries.truncate((first.index - stored_first) as usize);
            self.entries.extend_from_slice(entries);
        }
        if let Some(hs) = hard_state {
            self.hard_state = *hs;
        }
        Ok(())
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StorageError> {
        let meta = snapshot.meta;
        if meta.index <= self.snapshot_index() {
            return Ok(());
        }
        let first = self.first_index();
        let keeps_suffix = meta.index <= self.last_index()
            && self.entries[(meta.index - first) as usize].term == meta.term;
        if keeps_suffix {
            self.entries.drain(..=((meta.index - first) as usize));
        } else {
            self.entries.clear();
        }
        self.snapshot = Some(snapshot.clone());
        Ok(())
    }

    fn last_index(&self) -> Index {
        self.entries
            .last()
            .map_or_else(|| self.snapshot_index(), |e| e.index)
    }

    fn snapshot_index(&self) -> Index {
        self.snapshot.as_ref().map_or(0, |s| s.meta.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persist_appends_truncates_and_refuses_gaps() {
        let mut s = MemStorage::new();
        let e = |i, t| Entry::normal(i, t, vec![]);
        s.persist(None, &[e(1, 1), e(2, 1), e(3, 1)])
            .expect("append");
        s.persist(None, &[e(2, 2)]).expect("truncate and append");
        assert_eq!(
            s.entries()
                .iter()
                .map(|x| (x.index, x.term))
                .collect::<Vec<_>>(),
            vec![(1, 1), (2, 2)]
        );
        assert!(s.persist(None, &[e(5, 2)]).is_err(), "gap");
        assert_eq!(s.last_index(), 2, "a refused write changes nothing");
        let hs = HardState {
            term: 2,
            voted_for: Some(1),
            commit: 1,
        };
        s.persist(Some(&hs), &[]).expect("hard state");
        assert_eq!(s.initial_state().expect("load").hard_state, hs);
    }

    fn snap(index: Index, term: u64) -> Snapshot {
        Snapshot {
            meta: crate::raft::SnapshotMeta { index, term },
            data: bytes::Bytes::from(format!("state at {index}")),
            conf: None,
        }
    }

    #[test]
    fn snapshot_keeps_a_matching_suffix_and_discards_a_conflicting_log() {
        let mut s = MemStorage::new();
        let e = |i, t| Entry::normal(i, t, vec![]);
        s.persist(None, &[e(1, 1), e(2, 1), e(3, 2), e(4, 2)])
            .expect("append");
        s.save_snapshot(&snap(2, 1)).expect("snapshot");
        assert_eq!(s.snapshot_index(), 2);
        let indexes: Vec<Index> = s.entries().iter().map(|x| x.index).collect();
        assert_eq!(indexes, vec![3, 4], "entries after the snapshot stay");
        assert_eq!(s.last_index(), 4);
        assert!(
            s.persist(None, &[e(2, 1)]).is_err(),
            "cannot write inside the snapshot"
        );
        s.save_snapshot(&snap(1, 1)).expect("older snapshot");
        assert_eq!(s.snapshot_index(), 2, "an older snapshot changes nothing");
        // A snapshot whose last entry conflicts with the log replaces the whole log.
        s.save_snapshot(&snap(4, 3)).expect("conflicting snapshot");
        assert!(s.entries().is_empty());
        assert_eq!((s.snapshot_index(), s.last_index()), (4, 4));
        // One beyond the log, too.
        s.save_snapshot(&snap(9, 3))
            .expect("snapshot beyond the log");
        assert_eq!((s.snapshot_index(), s.last_index()), (9, 9));
        s.persist(None, &[e(10, 3)])
            .expect("the log goes on after it");
        let init = s.initial_state().expect("load");
        assert_eq!(init.snapshot.map(|x| x.meta.index), Some(9));
        assert_eq!(init.entries.len(), 1);
    }
}
