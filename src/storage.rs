//! Durable storage of one node: the write-ahead log and the hard state, in a node directory.
//!
//! [`DiskStorage`] implements the core's [`Storage`] trait on files. The layout of a node
//! directory:
//!
//! ```text
//! <dir>/
//! ├── hardstate                        crc32c u32 LE | prost pb::HardState
//! ├── hardstate.tmp                    (only after a crash mid-replace; ignored, overwritten)
//! ├── wal-00000000000000000001.log     entries 1 ..= 41
//! ├── wal-00000000000000000042.log     entries 42 ..      (the last segment: appends go here)
//! └── snapshots/                       (empty for now)
//!
//! a segment, record after record:
//! ┌────────────────┬────────────────┬───────────────────────────────────┐
//! │ length: u32 LE │ crc32c: u32 LE │ payload: prost pb::Entry          │ ...
//! └────────────────┴────────────────┴───────────────────────────────────┘
//!   of the payload   of the payload   1 ..= 64 MiB
//! ```
//!
//! - A segment is named after the index of its first entry (20 digits, so names sort as
//!   indexes). Segments roll when the next write would take the last one past
//!   [`DiskOptions::segment_bytes`]; one batch is never split, so a segment may overshoot.
//! - [`Storage::persist`] writes a batch with one `write` and, with [`FsyncPolicy::Always`], one
//!   `fsync` of the segment (plus one of the directory when a segment was created or deleted).
//!   Entries that conflict with the batch (its first index at or below the stored last index)
//!   are removed first: later segments are deleted, the last one first, and the segment holding
//!   the first conflicting index is truncated at that record.
//! - The hard state is replaced atomically (`hardstate.tmp`, fsync, rename, fsync of the
//!   directory), and only when its term or vote changes. **The commit index is not durable on
//!   its own**: it is written along with a term or vote change only, so after a restart it may be
//!   older than the last one persisted. That is safe (the core learns the commit index again from
//!   the leader; see [`HardState`]), and it saves a file replacement per commit.
//!   [`Storage::initial_state`] returns it clamped to the last stored index.
//! - The hard state is written *before* the batch's entries: a crash in between leaves the new
//!   term and vote with the old log (as if the entries had not arrived), never entries of a
//!   term the stored hard state has not reached.
//! - Only an index of the log stays in memory (per segment: first index, byte offset of each
//!   record); `initial_state` reads the entries back from disk.
//!
//! Recovery ([`DiskStorage::open`]) checks every record's length, CRC and index. A torn tail
//! (a bad record in the last segment with no valid record after it: what a crash during an
//! append leaves) is cut off; any other damage is a [`StorageError`] naming the file and byte
//! offset, and the node must not start on it.

mod hard_state;
mod wal;

use std::path::{Path, PathBuf};

use crate::raft::{Entry, HardState, Index, InitialState, NodeId, Storage, StorageError, Term};

pub use wal::MAX_RECORD_BYTES;

/// When [`DiskStorage`] calls `fsync`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every write that must be durable: what Raft's safety requires.
    #[default]
    Always,
    /// Never: the operating system writes when it likes. For demos and benchmarks only; a
    /// machine crash (not a process crash) can lose acknowledged entries and votes, which breaks
    /// Raft's safety.
    Never,
}

/// How a [`DiskStorage`] writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DiskOptions {
    /// When to fsync.
    pub fsync: FsyncPolicy,
    /// Size at which the log starts a new segment file (64 MiB by default).
    pub segment_bytes: u64,
}

impl Default for DiskOptions {
    fn default() -> Self {
        DiskOptions {
            fsync: FsyncPolicy::Always,
            segment_bytes: 64 << 20,
        }
    }
}

/// A node's hard state and log in a directory: see the [module documentation](self).
///
/// One `DiskStorage` per directory at a time: nothing locks the directory against a second
/// process.
#[derive(Debug)]
pub struct DiskStorage {
    dir: PathBuf,
    options: DiskOptions,
    wal: wal::Wal,
    /// The last hard state given to `persist` (its commit index may be newer than the file's).
    hard_state: HardState,
    /// Term and vote as in the hard-state file.
    stored: (Term, Option<NodeId>),
}

impl DiskStorage {
    /// Opens (creating if needed) the node directory `dir`; recovers what is there.
    ///
    /// Fails, naming the file and byte offset, on any damage other than a torn tail of the log.
    pub fn open(dir: &Path, options: DiskOptions) -> Result<DiskStorage, StorageError> {
        let fsync = options.fsync == FsyncPolicy::Always;
        std::fs::create_dir_all(dir.join("snapshots"))
            .map_err(|e| io_error("cannot create", &dir.join("snapshots"), e))?;
        if fsync {
            sync_dir(dir)?;
        }
        let hard_state = hard_state::read(dir)?;
        let wal = wal::Wal::open(dir, fsync, options.segment_bytes)?;
        Ok(DiskStorage {
            dir: dir.to_path_buf(),
            options,
            wal,
            hard_state,
            stored: (hard_state.term, hard_state.voted_for),
        })
    }

    /// The node directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Storage for DiskStorage {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        let entries = self.wal.read_entries()?;
        let mut hard_state = self.hard_state;
        hard_state.commit = hard_state.commit.min(self.wal.last_index());
        Ok(InitialState {
            hard_state,
            snapshot: None,
            entries,
        })
    }

    fn persist(
        &mut self,
        hard_state: Option<&HardState>,
        entries: &[Entry],
    ) -> Result<(), StorageError> {
        // Everything that can be refused is refused before anything is written.
        let batch = self.wal.prepare(entries)?;
        if let Some(hs) = hard_state {
            if (hs.term, hs.voted_for) != self.stored {
                hard_state::write(&self.dir, hs, self.options.fsync == FsyncPolicy::Always)?;
                self.stored = (hs.term, hs.voted_for);
            }
            self.hard_state = *hs;
        }
        if let Some(batch) = batch {
            self.wal.append(batch)?;
        }
        Ok(())
    }

    fn save_snapshot(&mut self, _snapshot: &crate::raft::Snapshot) -> Result<(), StorageError> {
        // Work in progress (issue 6): snapshot files and WAL compaction.
        Err(StorageError("snapshots are not stored on disk yet".into()))
    }

    fn last_index(&self) -> Index {
        self.wal.last_index()
    }

    fn snapshot_index(&self) -> Index {
        0
    }
}

/// A storage error for a failed I/O operation on `path`.
fn io_error(what: &str, path: &Path, e: std::io::Error) -> StorageError {
    StorageError(format!("{what} {}: {e}", path.display()))
}

/// Makes the entries of directory `dir` (created, renamed, deleted files) durable.
fn sync_dir(dir: &Path) -> Result<(), StorageError> {
    #[cfg(unix)]
    {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_error("cannot sync directory", dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::MemStorage;
    use proptest::prelude::*;
    use std::fs;

    fn entry(index: Index, term: Term) -> Entry {
        if index % 7 == 3 {
            Entry::noop(index, term)
        } else {
            Entry::normal(
                index,
                term,
                format!("cmd {index} of term {term}").into_bytes(),
            )
        }
    }

    fn entries(from: Index, to: Index, term: Term) -> Vec<Entry> {
        (from..=to).map(|i| entry(i, term)).collect()
    }

    fn small(segment_bytes: u64) -> DiskOptions {
        DiskOptions {
            fsync: FsyncPolicy::Always,
            segment_bytes,
        }
    }

    fn open(dir: &Path, options: DiskOptions) -> DiskStorage {
        DiskStorage::open(dir, options).expect("open")
    }

    fn stored_entries(s: &DiskStorage) -> Vec<Entry> {
        s.initial_state().expect("initial state").entries
    }

    /// Names of the segment files in `dir`, sorted.
    fn segment_names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("wal-"))
            .collect();
        names.sort();
        names
    }

    fn seg(first: Index) -> String {
        wal::segment_file_name(first)
    }

    #[test]
    fn append_and_reopen() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), DiskOptions::default());
        assert_eq!(s.dir(), tmp.path());
        assert!(tmp.path().join("snapshots").is_dir());
        assert_eq!(s.last_index(), 0);
        assert_eq!(s.initial_state().expect("state"), InitialState::default());
        s.persist(None, &entries(1, 3, 1)).expect("persist");
        s.persist(None, &entries(4, 5, 2)).expect("persist");
        s.persist(None, &[]).expect("nothing");
        assert_eq!(s.last_index(), 5);
        drop(s);
        let s = open(tmp.path(), DiskOptions::default());
        assert_eq!(s.last_index(), 5);
        let want: Vec<Entry> = entries(1, 3, 1)
            .into_iter()
            .chain(entries(4, 5, 2))
            .collect();
        assert_eq!(stored_entries(&s), want);
        assert_eq!(segment_names(tmp.path()), vec![seg(1)]);
    }

    #[test]
    fn refused_writes_change_nothing() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), DiskOptions::default());
        let hs = HardState {
            term: 3,
            voted_for: Some(2),
            commit: 0,
        };
        assert!(s.persist(Some(&hs), &entries(2, 3, 1)).is_err(), "gap");
        assert!(s.persist(None, &entries(0, 1, 1)).is_err(), "index 0");
        s.persist(None, &entries(1, 3, 1)).expect("persist");
        let mut bad = entries(4, 6, 1);
        bad.swap(1, 2);
        assert!(s.persist(Some(&hs), &bad).is_err(), "not consecutive");
        assert!(s.persist(None, &entries(5, 5, 1)).is_err(), "gap");
        assert_eq!(s.last_index(), 3);
        let state = s.initial_state().expect("state");
        assert_eq!(
            state.hard_state,
            HardState::default(),
            "no hard state written"
        );
        assert_eq!(state.entries, entries(1, 3, 1));
        assert!(!tmp.path().join("hardstate").exists());
    }

    #[test]
    fn rolls_across_segments_and_reopens() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), small(100));
        // One record is 8 + ~25 bytes: 3 fit in 100 bytes.
        for i in 1..=10 {
            s.persist(None, &[entry(i, 1)]).expect("persist");
        }
        // A batch larger than a segment goes to one (new) segment.
        s.persist(None, &entries(11, 20, 2)).expect("persist");
        s.persist(None, &entries(21, 21, 2)).expect("persist");
        let names = segment_names(tmp.path());
        assert_eq!(
            names,
            vec![seg(1), seg(4), seg(7), seg(10), seg(11), seg(21)],
            "rolls before a write that would pass 100 bytes"
        );
        for name in &names {
            let len = fs::metadata(tmp.path().join(name)).expect("meta").len();
            assert!(len <= 100 || name == &seg(11), "{name}: {len} bytes");
        }
        drop(s);
        let s = open(tmp.path(), small(100));
        assert_eq!(s.last_index(), 21);
        let want: Vec<Entry> = entries(1, 10, 1)
            .into_iter()
            .chain(entries(11, 21, 2))
            .collect();
        assert_eq!(stored_entries(&s), want);
    }

    #[test]
    fn truncates_inside_the_last_segment() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), DiskOptions::default());
        s.persist(None, &entries(1, 10, 1)).expect("persist");
        s.persist(None, &entries(7, 8, 2))
            .expect("truncate and append");
        assert_eq!(s.last_index(), 8);
        let want: Vec<Entry> = entries(1, 6, 1)
            .into_iter()
            .chain(entries(7, 8, 2))
            .collect();
        assert_eq!(stored_entries(&s), want);
        drop(s);
        let mut s = open(tmp.path(), DiskOptions::default());
        assert_eq!(stored_entries(&s), want);
        // Replace everything, from the very first entry.
        s.persist(None, &entries(1, 2, 3)).expect("truncate all");
        drop(s);
        let s = open(tmp.path(), DiskOptions::default());
        assert_eq!(stored_entries(&s), entries(1, 2, 3));
    }

    #[test]
    fn truncates_across_segment_boundaries() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), small(100));
        for i in 1..=12 {
            s.persist(None, &[entry(i, 1)]).expect("persist");
        }
        assert_eq!(
            segment_names(tmp.path()),
            vec![seg(1), seg(4), seg(7), seg(10)]
        );
        // Into the middle of the second segment: the later two go.
        s.persist(None, &entries(5, 5, 2)).expect("truncate");
        assert_eq!(segment_names(tmp.path()), vec![seg(1), seg(4)]);
        let want: Vec<Entry> = entries(1, 4, 1)
            .into_iter()
            .chain(entries(5, 5, 2))
            .collect();
        assert_eq!(stored_entries(&s), want);
        drop(s);
        let mut s = open(tmp.path(), small(100));
        assert_eq!(stored_entries(&s), want);
        // At the first index of a segment: it is emptied and written again.
        s.persist(None, &entries(4, 4, 3))
            .expect("truncate at a boundary");
        assert_eq!(segment_names(tmp.path()), vec![seg(1), seg(4)]);
        drop(s);
        let mut s = open(tmp.path(), small(100));
        let want: Vec<Entry> = entries(1, 3, 1)
            .into_iter()
            .chain(entries(4, 4, 3))
            .collect();
        assert_eq!(stored_entries(&s), want);
        // Into the first segment with a batch that rolls right away.
        s.persist(None, &entries(2, 9, 4))
            .expect("truncate and roll");
        assert_eq!(segment_names(tmp.path()), vec![seg(1), seg(2)]);
        drop(s);
        let s = open(tmp.path(), small(100));
        let want: Vec<Entry> = entries(1, 1, 1)
            .into_iter()
            .chain(entries(2, 9, 4))
            .collect();
        assert_eq!(stored_entries(&s), want);
    }

    #[test]
    fn hard_state_round_trips_and_is_replaced_atomically() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), DiskOptions::default());
        let hs = HardState {
            term: 4,
            voted_for: Some(3),
            commit: 2,
        };
        s.persist(Some(&hs), &entries(1, 3, 4)).expect("persist");
        assert_eq!(s.initial_state().expect("state").hard_state, hs);
        // Only the commit index changes: kept in memory, not written.
        let hs2 = HardState { commit: 3, ..hs };
        s.persist(Some(&hs2), &[]).expect("persist");
        assert_eq!(s.initial_state().expect("state").hard_state, hs2);
        drop(s);
        // A stale temporary file from a crash mid-replace is ignored.
        fs::write(tmp.path().join("hardstate.tmp"), b"garbage").expect("write");
        let mut s = open(tmp.path(), DiskOptions::default());
        assert_eq!(
            s.initial_state().expect("state").hard_state,
            hs,
            "commit 2 on disk"
        );
        let hs3 = HardState {
            term: 5,
            voted_for: None,
            commit: 3,
        };
        s.persist(Some(&hs3), &[]).expect("persist");
        drop(s);
        let s = open(tmp.path(), DiskOptions::default());
        assert_eq!(s.initial_state().expect("state").hard_state, hs3);
        assert!(!tmp.path().join("hardstate.tmp").exists(), "renamed over");
    }

    #[test]
    fn commit_is_clamped_to_the_last_stored_index() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), DiskOptions::default());
        let hs = HardState {
            term: 1,
            voted_for: Some(1),
            commit: 9,
        };
        s.persist(Some(&hs), &entries(1, 4, 1)).expect("persist");
        assert_eq!(s.initial_state().expect("state").hard_state.commit, 4);
        drop(s);
        let s = open(tmp.path(), DiskOptions::default());
        assert_eq!(s.initial_state().expect("state").hard_state.commit, 4);
    }

    /// A segment of 5 entries; returns its bytes and the offset of its last record.
    fn five_entry_segment() -> (Vec<u8>, usize) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), DiskOptions::default());
        s.persist(None, &entries(1, 4, 1)).expect("persist");
        let last_at = fs::metadata(tmp.path().join(seg(1))).expect("meta").len() as usize;
        s.persist(None, &entries(5, 5, 1)).expect("persist");
        let bytes = fs::read(tmp.path().join(seg(1))).expect("read");
        (bytes, last_at)
    }

    fn dir_with_segment(bytes: &[u8]) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join(seg(1)), bytes).expect("write");
        tmp
    }

    #[test]
    fn a_torn_tail_is_cut_at_every_offset_of_the_last_record() {
        let (bytes, last_at) = five_entry_segment();
        for cut in last_at..bytes.len() {
            let tmp = dir_with_segment(&bytes[..cut]);
            let mut s = open(tmp.path(), DiskOptions::default());
            assert_eq!(stored_entries(&s), entries(1, 4, 1), "cut at {cut}");
            let len = fs::metadata(tmp.path().join(seg(1))).expect("meta").len();
            assert_eq!(
                len as usize, last_at,
                "file cut back to the last good record"
            );
            s.persist(None, &entries(5, 6, 2))
                .expect("append after recovery");
            drop(s);
            let s = open(tmp.path(), DiskOptions::default());
            let want: Vec<Entry> = entries(1, 4, 1)
                .into_iter()
                .chain(entries(5, 6, 2))
                .collect();
            assert_eq!(stored_entries(&s), want, "cut at {cut}");
        }
    }

    #[test]
    fn a_bad_final_record_or_a_zeroed_tail_is_a_torn_tail() {
        let (bytes, last_at) = five_entry_segment();
        // A flipped bit in the final record, nothing after it.
        let mut flipped = bytes.clone();
        flipped[bytes.len() - 1] ^= 0x10;
        // Zeros after the last record (space allocated but never written).
        let mut zeroed = bytes.clone();
        zeroed.extend_from_slice(&[0; 100]);
        // A final record whose header was written but whose payload is zeros.
        let mut zero_payload = bytes.clone();
        zero_payload[last_at + 8..].fill(0);
        for (what, damaged, keep) in [
            ("flipped", &flipped, 4),
            ("zeroed", &zeroed, 5),
            ("zero payload", &zero_payload, 4),
        ] {
            let tmp = dir_with_segment(damaged);
            let s = open(tmp.path(), DiskOptions::default());
            assert_eq!(stored_entries(&s), entries(1, keep, 1), "{what}");
        }
    }

    #[test]
    fn a_flipped_bit_before_the_tail_is_reported_with_file_and_offset() {
        let (bytes, _) = five_entry_segment();
        let record_len = |at: usize| {
            8 + u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes")) as usize
        };
        let second = record_len(0);
        let third = second + record_len(second);
        for bit in 0..(third - second) * 8 {
            let mut damaged = bytes.clone();
            damaged[second + bit / 8] ^= 1 << (bit % 8);
            let tmp = dir_with_segment(&damaged);
            let err =
                DiskStorage::open(tmp.path(), DiskOptions::default()).expect_err("damage detected");
            assert!(
                err.0.contains(&seg(1)) && err.0.contains(&format!("byte offset {second}")),
                "bit {bit}: {err}"
            );
            // Nothing was cut.
            assert_eq!(fs::read(tmp.path().join(seg(1))).expect("read"), damaged);
        }
    }

    #[test]
    fn damage_in_an_earlier_segment_is_reported_even_at_its_end() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), small(100));
        s.persist(None, &entries(1, 3, 1)).expect("persist");
        s.persist(None, &entries(4, 6, 1)).expect("persist");
        drop(s);
        assert_eq!(segment_names(tmp.path()), vec![seg(1), seg(4)]);
        let path = tmp.path().join(seg(1));
        let mut bytes = fs::read(&path).expect("read");
        let n = bytes.len();
        bytes[n - 1] ^= 1;
        fs::write(&path, &bytes).expect("write");
        let err = DiskStorage::open(tmp.path(), small(100)).expect_err("damage");
        assert!(
            err.0.contains(&seg(1)) && err.0.contains("byte offset"),
            "{err}"
        );
        // A missing middle segment is a gap.
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), small(100));
        for i in 1..=9 {
            s.persist(None, &[entry(i, 1)]).expect("persist");
        }
        drop(s);
        fs::remove_file(tmp.path().join(seg(4))).expect("remove");
        let err = DiskStorage::open(tmp.path(), small(100)).expect_err("gap");
        assert!(err.0.contains(&seg(7)), "{err}");
    }

    #[test]
    fn a_damaged_hard_state_is_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), DiskOptions::default());
        let hs = HardState {
            term: 7,
            voted_for: Some(2),
            commit: 0,
        };
        s.persist(Some(&hs), &[]).expect("persist");
        drop(s);
        let path = tmp.path().join("hardstate");
        let bytes = fs::read(&path).expect("read");
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            fs::write(&path, &damaged).expect("write");
            let err = DiskStorage::open(tmp.path(), DiskOptions::default()).expect_err("damage");
            assert!(
                err.0.contains("hardstate") && err.0.contains("offset"),
                "{err}"
            );
        }
        fs::write(&path, [1, 2]).expect("write");
        let err = DiskStorage::open(tmp.path(), DiskOptions::default()).expect_err("short");
        assert!(err.0.contains("hardstate"), "{err}");
    }

    #[test]
    fn fsync_never_writes_the_same_files() {
        let run = |fsync| {
            let tmp = tempfile::tempdir().expect("tempdir");
            let options = DiskOptions {
                fsync,
                segment_bytes: 120,
            };
            let mut s = open(tmp.path(), options);
            let hs = |term| HardState {
                term,
                voted_for: Some(1),
                commit: 1,
            };
            s.persist(Some(&hs(1)), &entries(1, 5, 1)).expect("persist");
            s.persist(Some(&hs(2)), &entries(4, 9, 2)).expect("persist");
            s.persist(None, &entries(10, 12, 2)).expect("persist");
            s.persist(Some(&hs(3)), &entries(2, 3, 3)).expect("persist");
            let state = s.initial_state().expect("state");
            drop(s);
            let reopened = open(tmp.path(), options).initial_state().expect("state");
            let files: Vec<(String, Vec<u8>)> = segment_names(tmp.path())
                .into_iter()
                .chain(["hardstate".to_string()])
                .map(|n| (n.clone(), fs::read(tmp.path().join(&n)).expect("read")))
                .collect();
            (state, reopened, files)
        };
        assert_eq!(run(FsyncPolicy::Always), run(FsyncPolicy::Never));
    }

    /// One step of a random history: an optional hard state, then entries from `at` (clamped
    /// to at most one past the last index) of the given terms.
    #[derive(Clone, Debug)]
    struct Step {
        hs: Option<(Term, Option<NodeId>, Index)>,
        at: Index,
        terms: Vec<Term>,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            proptest::option::of((0..4u64, proptest::option::of(1..4u64), 0..30u64)),
            1..30u64,
            proptest::collection::vec(1..5u64, 0..6),
        )
            .prop_map(|(hs, at, terms)| Step { hs, at, terms })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn behaves_like_mem_storage(
            steps in proptest::collection::vec(step(), 1..25),
            segment_bytes in 40..400u64,
        ) {
            let tmp = tempfile::tempdir().expect("tempdir");
            let options = DiskOptions { fsync: FsyncPolicy::Never, segment_bytes };
            let mut disk = open(tmp.path(), options);
            let mut mem = MemStorage::new();
            let mut durable = (0, None);
            for Step { hs, at, terms } in steps {
                // Mostly valid appends; now and then one that leaves a gap (refused by both).
                let at = if at % 5 == 0 { at } else { at.min(mem.last_index() + 1) };
                let batch: Vec<Entry> =
                    (at..).zip(&terms).map(|(i, &t)| entry(i, t)).collect();
                let hs = hs.map(|(term, voted_for, commit)| HardState { term, voted_for, commit });
                let ok = disk.persist(hs.as_ref(), &batch).is_ok();
                prop_assert_eq!(ok, mem.persist(hs.as_ref(), &batch).is_ok());
                if let (true, Some(hs)) = (ok, hs) {
                    durable = (hs.term, hs.voted_for);
                }
                prop_assert_eq!(disk.last_index(), mem.last_index());
                let mut want = mem.initial_state().expect("mem");
                want.hard_state.commit = want.hard_state.commit.min(mem.last_index());
                prop_assert_eq!(disk.initial_state().expect("disk"), want);
            }
            drop(disk);
            let reopened = open(tmp.path(), options).initial_state().expect("reopen");
            let want = mem.initial_state().expect("mem");
            prop_assert_eq!(&reopened.entries, &want.entries);
            prop_assert_eq!(
                (reopened.hard_state.term, reopened.hard_state.voted_for),
                durable
            );
            prop_assert!(reopened.hard_state.commit <= mem.last_index());
        }

        #[test]
        fn arbitrary_segment_bytes_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
        ) {
            let tmp = dir_with_segment(&bytes);
            if let Ok(mut s) = DiskStorage::open(tmp.path(), DiskOptions::default()) {
                let got = s.initial_state().expect("a recovered log reads back");
                let next = got.entries.len() as Index + 1;
                s.persist(None, &entries(next, next, 1)).expect("append after recovery");
            }
        }

        #[test]
        fn damaged_valid_segments_never_panic(
            garbage in proptest::collection::vec(any::<u8>(), 0..256),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 0..3),
            cut in any::<prop::sample::Index>(),
        ) {
            let (mut bytes, _) = five_entry_segment();
            let valid_len = bytes.len();
            bytes.extend_from_slice(&garbage);
            for (at, x) in &flips {
                let i = at.index(bytes.len());
                bytes[i] ^= x;
            }
            bytes.truncate(cut.index(bytes.len() + 1).max(valid_len.min(bytes.len())));
            let tmp = dir_with_segment(&bytes);
            if let Ok(mut s) = DiskStorage::open(tmp.path(), DiskOptions::default()) {
                let got = s.initial_state().expect("a recovered log reads back").entries;
                // Whatever is recovered is a prefix of what was written (or, rarely, of the
                // garbage if it happens to hold valid records: never more than 5 + garbage).
                let original = entries(1, 5, 1);
                let n = got.len().min(original.len());
                prop_assert_eq!(&got[..n], &original[..n]);
                let next = got.len() as Index + 1;
                s.persist(None, &entries(next, next, 2)).expect("append after recovery");
            }
        }
    }
}
