//! The `Storage` trait — where a core's hard state and log are made durable — and an in-memory
//! implementation for tests, the simulator and `--storage memory`.
//!
//! The core keeps its log in memory and never calls storage itself (it does no I/O). The runtime
//! writes each [`Ready`](super::Ready)'s hard state and entries with [`Storage::persist`] (one
//! write, one sync, for the whole batch) and, on restart, rebuilds the core from
//! [`Storage::initial_state`].

use super::types::{Entry, HardState, Index};

/// What a server recovers from its storage.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InitialState {
    /// Last persisted hard state.
    pub hard_state: HardState,
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

    /// Index of the last stored entry.
    fn last_index(&self) -> Index;
}

/// Storage in memory: "durable" for as long as the process lives, which is what the simulator's
/// crash and restart and the in-process cluster's kill and restart need.
#[derive(Clone, Debug, Default)]
pub struct MemStorage {
    hard_state: HardState,
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
}

impl Storage for MemStorage {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        Ok(InitialState {
            hard_state: self.hard_state,
            entries: self.entries.clone(),
        })
    }

    fn persist(
        &mut self,
        hard_state: Option<&HardState>,
        entries: &[Entry],
    ) -> Result<(), StorageError> {
        if let Some(first) = entries.first() {
            let stored_first = self.entries.first().map_or(1, |e| e.index);
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

    fn last_index(&self) -> Index {
        self.entries.last().map_or(0, |e| e.index)
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
}
