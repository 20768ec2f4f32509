//! Durable storage of one node: the write-ahead log, the hard state and the snapshots, in a node
//! directory.
//!
//! [`DiskStorage`] implements the core's [`Storage`] trait on files. The layout of a node
//! directory:
//!
//! ```text
//! <dir>/
//! ├── hardstate                        crc32c u32 LE | prost pb::HardState
//! ├── hardstate.tmp                    (only after a crash mid-replace; ignored, overwritten)
//! ├── wal-00000000000000000031.log     entries 31 ..= 41  (kept for the previous snapshot)
//! ├── wal-00000000000000000042.log     entries 42 ..      (the last segment: appends go here)
//! └── snapshots/
//!     ├── snap-00000000000000000035-00000000000000000002.snap   the previous snapshot
//!     ├── snap-00000000000000000050-00000000000000000003.snap   the snapshot in use
//!     ├── snap-…-….snap.staged-7.tmp   (being written ahead by a stager; see below)
//!     └── snap-…-….snap.tmp            (only after a crash mid-write; deleted on open)
//!
//! a segment, record after record:
//! ┌────────────────┬────────────────┬───────────────────────────────────┐
//! │ length: u32 LE │ crc32c: u32 LE │ payload: prost pb::Entry          │ ...
//! └────────────────┴────────────────┴───────────────────────────────────┘
//!   of the payload   of the payload   1 ..= 64 MiB
//!
//! a snapshot file, snap-<index, 20 digits>-<term, 20 digits>.snap (see `snapshot` for format 1):
//! ┌──────────────────┬───────────────┬──────────────┬─────────────────────┬─────────────────────┐
//! │ magic "RLSNAP02" │ index: u64 LE │ term: u64 LE │ data length: u64 LE │ conf length: u64 LE │ …
//! └──────────────────┴───────────────┴──────────────┴─────────────────────┴─────────────────────┘
//!   … │ configuration │ data │ crc32c: u32 LE │    the CRC covers every byte before it
//! ```
//!
//! - A segment is named after the index of its first entry (20 digits, so names sort as
//!   indexes). Segments roll when the next write would take the last one past
//!   [`DiskOptions::segment_bytes`]; one batch is never split, so a segment may overshoot.
//! - [`Storage::persist`] writes a batch with one `write` and, with [`FsyncPolicy::Always`], one
//!   `fsync` of the segment (plus one of the directory when a segment was created or deleted).
//!   Entries that conflict with the batch (its first index at or below the stored last index)
//!   are removed first: later segments are deleted, the last one first, and the segment holding
//!   the first conflicting index is truncated at that record. A batch that starts at or below
//!   the snapshot index is refused, and nothing is written.
//! - The hard state is replaced atomically (`hardstate.tmp`, fsync, rename, fsync of the
//!   directory), and only when its term or vote changes. **The commit index is not durable on
//!   its own**: it is written along with a term or vote change only, so after a restart it may be
//!   older than the last one persisted. That is safe (the core learns the commit index again from
//!   the leader; see [`HardState`]), and it saves a file replacement per commit.
//!   [`Storage::initial_state`] returns it clamped to the last index.
//! - The hard state is written *before* the batch's entries: a crash in between leaves the new
//!   term and vote with the old log (as if the entries had not arrived), never entries of a
//!   term the stored hard state has not reached.
//! - Only an index of the log stays in memory (per segment: first index, byte offset of each
//!   record), and of the snapshot only its index and term; `initial_state` reads the snapshot
//!   and the entries after it back from disk.
//!
//! ## Snapshots and compaction
//!
//! [`Storage::save_snapshot`] with a snapshot newer than the stored one:
//!
//! 1. writes the snapshot file durably: `<name>.tmp`, fsync, rename, fsync of `snapshots/`;
//! 2. then compacts the log. If the log holds the snapshot's last entry with the snapshot's term
//!    (a node snapshotting its own applied state), the entries after it are kept and **one
//!    generation is retained**: only whole segments at or below the *previous* snapshot's index
//!    are deleted, oldest first, so that the previous snapshot plus the log still recover
//!    everything if the newest file turns out corrupt. No live data is rewritten; the segment
//!    holding a boundary stays, and entries at or below the snapshot that the log still holds
//!    are never returned. Otherwise (a leader's snapshot replacing a conflicting or too short
//!    log) every segment is deleted and the log goes on at the snapshot index + 1, in a segment
//!    created by the next append;
//! 3. then deletes every snapshot file but the new one and the previous one (and any `.tmp`
//!    but the staged ones).
//!
//! Step 1 is the one that takes time, with a large state machine. A [`SnapshotStager`] does it
//! on another thread, while the storage goes on with appends: it writes and syncs the file under
//! a name of its own (`.staged-<n>.tmp`, which step 3 leaves alone), and
//! [`DiskStorage::save_staged_snapshot`] then renames it into place and carries on with step 2,
//! exactly as `save_snapshot` would. A staged file dropped without being installed (a newer
//! snapshot came first) is deleted; one left by a crash is deleted on open, as any `.tmp`.
//!
//! The deletions of steps 2 and 3 take time too: a directory sync per file, several segments per
//! snapshot. When the suffix is kept, the segments leave the log's index at once (their entries
//! are never read again) and the [purger](purge) deletes their files, then the old snapshot
//! files, on a thread of its own, in the same order and with the same syncs. Before it deletes
//! segments itself (a discarded log), the storage waits for the purger; a deletion the purger
//! could not do fails the next write. Dropping the storage finishes the purger's queue.
//!
//! Segments are deleted one at a time, the directory synced after each, oldest first, so that a
//! crash leaves a log that is a suffix of the old one. When the whole log is discarded, a segment
//! starting right after the new snapshot must never become the first one (that log would seem to
//! continue the snapshot): it and the segments after it go, newest first, before the segment
//! holding the snapshot's index. A crash at any point recovers (see below) the old snapshot and
//! the old log, or the new snapshot and a log that continues it, with one exception: when the
//! segment holding the conflicting index also holds the first entry after the previous snapshot,
//! no order keeps the old log whole, and a crash may bring back the old log cut after a segment
//! past the conflict. That is safe: entries at and after an index where the log disagrees with a
//! leader's snapshot were never committed.
//!
//! ## Recovery
//!
//! [`DiskStorage::open`] checks every log record's length, CRC and index. A torn tail (a bad
//! record in the last segment with no valid record after it: what a crash during an append
//! leaves) is cut off; any other damage of the log or the hard state is a [`StorageError`]
//! naming the file and byte offset, and the node must not start on it. Then the snapshot:
//!
//! - Snapshot files are tried newest first, each checked fully (magic, header against name,
//!   length, CRC). A corrupt or unreadable one is not fatal: it is passed over with a warning
//!   ([`DiskStorage::warnings`]) and an older one is tried.
//! - The log *continues* a snapshot S when it holds no entry, or starts at or before
//!   `S.index + 1`, reaches `S.index`, and its entry at `S.index` (if it holds it) has `S.term`.
//!   Each valid snapshot is an option (with the log if the log continues it, alone if not), and
//!   so is the log alone when it starts at index 1. The option that recovers the highest last
//!   index wins; among equals, the newest snapshot. A log that does not continue the chosen
//!   snapshot (what a crash between a leader's snapshot and the deletion of the old log leaves)
//!   is deleted, with a warning naming the entries dropped; a newer valid snapshot that lost to
//!   a longer log is deleted, with a warning, so that it cannot come back later.
//! - A directory without snapshot files recovers the log alone, as before snapshots existed. If
//!   every snapshot file is corrupt and the log does not start at 1, there is nothing to start
//!   from: an error.

mod hard_state;
mod purge;
mod recovery;
mod snapshot;
mod wal;

use std::path::{Path, PathBuf};

use crate::raft::{
    Entry, HardState, Index, InitialState, NodeId, Snapshot, SnapshotMeta, Storage, StorageError,
    Term,
};
use wal::End;

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
    /// Size at which the log starts a new segment file (8 MiB by default). Compaction removes
    /// whole segments only, so this bounds how much log a snapshot leaves on disk: small enough
    /// that disk use stays flat under the default snapshot policies, large enough that rolling
    /// (a file creation and a directory sync) is rare.
    pub segment_bytes: u64,
}

impl Default for DiskOptions {
    fn default() -> Self {
        DiskOptions {
            fsync: FsyncPolicy::Always,
            segment_bytes: 8 << 20,
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
    /// The snapshot in use (its file is in `snapshots/`): the newest one the log continues.
    snapshot: Option<SnapshotMeta>,
    /// What recovery had to work around.
    warnings: Vec<String>,
    /// Deletes what snapshots made useless, off the caller's thread (started on first use).
    purger: Option<purge::Purger>,
}

/// Where a simulated crash stops [`DiskStorage::save_snapshot_until`] (tests only).
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrashPoint {
    /// The snapshot is written to its `.tmp` file, not renamed.
    BeforeRename,
    /// The snapshot file is in place; no log segment is deleted yet.
    AfterRename,
    /// After this many segment deletions.
    AfterDeletes(usize),
}

impl DiskStorage {
    /// Opens (creating if needed) the node directory `dir`; recovers what is there.
    ///
    /// Fails, naming the file and byte offset, on any damage of the log other than a torn tail,
    /// and on a damaged hard state. A corrupt snapshot file is not fatal: an older one (or the
    /// log alone) is used, and [`DiskStorage::warnings`] says so.
    pub fn open(dir: &Path, options: DiskOptions) -> Result<DiskStorage, StorageError> {
        let fsync = options.fsync == FsyncPolicy::Always;
        let snapshots = dir.join(snapshot::DIR_NAME);
        std::fs::create_dir_all(&snapshots)
            .map_err(|e| io_error("cannot create", &snapshots, e))?;
        if fsync {
            sync_dir(dir)?;
        }
        let hard_state = hard_state::read(dir)?;
        let mut wal = wal::Wal::open(dir, fsync, options.segment_bytes)?;
        let recovered = recovery::recover(dir, &mut wal, fsync)?;
        for warning in &recovered.warnings {
            tracing::warn!("{}: {warning}", dir.display());
        }
        Ok(DiskStorage {
            dir: dir.to_path_buf(),
            options,
            wal,
            hard_state,
            stored: (hard_state.term, hard_state.voted_for),
            snapshot: recovered.snapshot,
            warnings: recovered.warnings,
            purger: None,
        })
    }

    /// The node directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// What [`DiskStorage::open`] had to work around, one sentence each: corrupt snapshot files
    /// passed over, log entries dropped because they did not continue the snapshot in use,
    /// files ignored. Empty after a clean recovery.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn fsync(&self) -> bool {
        self.options.fsync == FsyncPolicy::Always
    }

    fn snapshot_dir(&self) -> PathBuf {
        self.dir.join(snapshot::DIR_NAME)
    }

    /// Something that writes this storage's snapshot files on another thread, for
    /// [`DiskStorage::save_staged_snapshot`].
    pub fn snapshot_stager(&self) -> SnapshotStager {
        SnapshotStager {
            dir: self.snapshot_dir(),
            fsync: self.fsync(),
        }
    }

    /// [`Storage::save_snapshot`], with the snapshot's file already written by
    /// [`SnapshotStager::stage`] (from `snapshot` itself: the file is not read back). Refused,
    /// changing nothing, if it was staged for another snapshot or another storage.
    pub fn save_staged_snapshot(
        &mut self,
        snapshot: &Snapshot,
        staged: StagedSnapshot,
    ) -> Result<(), StorageError> {
        if staged.meta != snapshot.meta || staged.dir != self.snapshot_dir() {
            return Err(StorageError(format!(
                "the file staged for {} in {} is not for {} in {}",
                snapshot::describe(staged.meta),
                staged.dir.display(),
                snapshot::describe(snapshot.meta),
                self.snapshot_dir().display()
            )));
        }
        self.save_snapshot_until(snapshot, Some(staged), None)
    }

    /// [`Storage::save_snapshot`] (with the file written ahead, if `staged`), stopping with an
    /// error where `crash` says (tests simulate a crash there by reopening the directory).
    fn save_snapshot_until(
        &mut self,
        s: &Snapshot,
        staged: Option<StagedSnapshot>,
        crash: Option<CrashPoint>,
    ) -> Result<(), StorageError> {
        let crashed = || StorageError("simulated crash".into());
        let meta = s.meta;
        if meta.index <= self.snapshot_index() {
            return Ok(());
        }
        self.wal.check_usable()?;
        let keeps_suffix =
            meta.index <= self.wal.last_index() && self.wal.term_at(meta.index)? == Some(meta.term);
        let fsync = self.fsync();
        let dir = self.snapshot_dir();
        // Keeping the suffix, the files the snapshot makes useless are deleted by the purger, in
        // the order below; otherwise here, after whatever the purger still has to delete.
        let purge = keeps_suffix && crash.is_none();
        if !purge {
            self.flush_purger()?;
        } else if let Some(purger) = &self.purger {
            purger.check()?;
        }

        // 1. The snapshot file, durably, before anything it replaces is deleted.
        let tmp = match staged {
            Some(staged) => staged.into_file(),
            None => snapshot::write_tmp(&dir, s, fsync)?,
        };
        if crash == Some(CrashPoint::BeforeRename) {
            return Err(crashed());
        }
        snapshot::install(&dir, &tmp, meta, fsync)?;
        if crash == Some(CrashPoint::AfterRename) {
            return Err(crashed());
        }

        // 2. The log. Keeping the suffix: whole segments at or below the previous snapshot go,
        // oldest first (the log stays a suffix that continues both snapshots; the segment holding
        // the boundary stays). Otherwise every segment goes, in an order after which what is left
        // never looks like it continues the new snapshot.
        let previous = self.snapshot;
        let order = if keeps_suffix {
            let through = previous.map_or(0, |p| p.index);
            let ranges = self.wal.segment_ranges();
            let whole = ranges
                .iter()
                .take(ranges.len().saturating_sub(1))
                .take_while(|&&(_, last)| last <= through)
                .count();
            vec![End::Front; whole]
        } else {
            self.wal.discard_order(meta.index)
        };
        let mut useless = Vec::new();
        for (done, end) in order.into_iter().enumerate() {
            if crash == Some(CrashPoint::AfterDeletes(done)) {
                return Err(crashed());
            }
            if purge {
                useless.extend(self.wal.detach_front()?);
            } else {
                self.wal.delete_segment(end)?;
            }
        }
        if !keeps_suffix {
            self.wal.restart_at(meta.index.saturating_add(1))?;
        }
        self.snapshot = Some(meta);

        // 3. Snapshot files: the new one and the previous one stay.
        let keep: Vec<String> = [Some(meta), previous]
            .into_iter()
            .flatten()
            .map(snapshot::file_name)
            .collect();
        if purge {
            let names = snapshot::not_kept(&dir, &keep)?;
            useless.extend(names.iter().map(|name| dir.join(name)));
            if !useless.is_empty() {
                self.purger()?.delete(useless)?;
            }
        } else {
            snapshot::retain(&dir, &keep, fsync)?;
        }
        Ok(())
    }

    /// The purger, started on first use.
    fn purger(&mut self) -> Result<&purge::Purger, StorageError> {
        let purger = match self.purger.take() {
            Some(purger) => purger,
            None => purge::Purger::start(self.fsync())?,
        };
        Ok(self.purger.insert(purger))
    }

    /// Waits for the purger, for a test to look at the files.
    #[cfg(test)]
    fn settle(&self) {
        self.flush_purger()
            .expect("the purger deletes what it is given");
    }

    /// Waits until the purger has deleted what it was given (and fails if it could not).
    fn flush_purger(&self) -> Result<(), StorageError> {
        self.purger.as_ref().map_or(Ok(()), purge::Purger::flush)
    }
}

/// Writes a [`DiskStorage`]'s snapshot files on another thread: see the
/// [module documentation](self#snapshots-and-compaction).
#[derive(Clone, Debug)]
pub struct SnapshotStager {
    /// The storage's snapshot directory.
    dir: PathBuf,
    fsync: bool,
}

impl SnapshotStager {
    /// Writes `snapshot`'s file, synced as the storage would sync it, where only
    /// [`DiskStorage::save_staged_snapshot`] puts it into use.
    pub fn stage(&self, snapshot: &Snapshot) -> Result<StagedSnapshot, StorageError> {
        let file = snapshot::write_staged(&self.dir, snapshot, self.fsync)?;
        Ok(StagedSnapshot {
            meta: snapshot.meta,
            dir: self.dir.clone(),
            file: Some(file),
        })
    }
}

/// A snapshot file written by a [`SnapshotStager`], not in use yet. Dropped without being
/// installed, it deletes its file.
#[derive(Debug)]
pub struct StagedSnapshot {
    meta: SnapshotMeta,
    /// The snapshot directory it was written in.
    dir: PathBuf,
    /// The file; `None` once taken to be installed.
    file: Option<PathBuf>,
}

impl StagedSnapshot {
    /// The snapshot it holds.
    pub fn meta(&self) -> SnapshotMeta {
        self.meta
    }

    /// The file, which from now on is the caller's to install or delete.
    fn into_file(mut self) -> PathBuf {
        // Only this takes it, and it consumes the value: the file is always there.
        self.file.take().unwrap_or_default()
    }
}

impl Drop for StagedSnapshot {
    fn drop(&mut self) {
        if let Some(file) = self.file.take() {
            // Best effort: a leftover is deleted on the next open.
            let _ = std::fs::remove_file(file);
        }
    }
}

impl Storage for DiskStorage {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        let snapshot = match self.snapshot {
            Some(meta) => Some(snapshot::read(&self.snapshot_dir(), meta).map_err(|why| {
                StorageError(format!(
                    "{}: snapshot {} ({why})",
                    self.snapshot_dir().display(),
                    snapshot::file_name(meta)
                ))
            })?),
            None => None,
        };
        let entries = self
            .wal
            .read_entries_from(self.snapshot_index().saturating_add(1))?;
        let mut hard_state = self.hard_state;
        hard_state.commit = hard_state.commit.min(self.last_index());
        Ok(InitialState {
            hard_state,
            snapshot,
            entries,
        })
    }

    fn persist(
        &mut self,
        hard_state: Option<&HardState>,
        entries: &[Entry],
    ) -> Result<(), StorageError> {
        if let Some(purger) = &self.purger {
            purger.check()?;
        }
        // Everything that can be refused is refused before anything is written.
        if let Some(first) = entries.first() {
            if first.index <= self.snapshot_index() {
                return Err(StorageError(format!(
                    "append at {} is inside the snapshot (which covers up to {})",
                    first.index,
                    self.snapshot_index()
                )));
            }
        }
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

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StorageError> {
        self.save_snapshot_until(snapshot, None, None)
    }

    fn last_index(&self) -> Index {
        self.wal.last_index().max(self.snapshot_index())
    }

    fn snapshot_index(&self) -> Index {
        self.snapshot.map_or(0, |m| m.index)
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

    mod snapshots;

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
    /// to at most one past the last index) of the given terms; or, instead, a snapshot.
    #[derive(Clone, Debug)]
    struct Step {
        hs: Option<(Term, Option<NodeId>, Index)>,
        at: Index,
        terms: Vec<Term>,
        /// A snapshot at this index instead of the write; `true`: with the term of the stored
        /// entry there, if there is one (a node's own snapshot); else with the term given.
        snap: Option<(Index, bool, Term)>,
        /// Reopen the directory after the step.
        reopen: bool,
    }

    fn step() -> impl Strategy<Value = Step> {
        (
            proptest::option::of((0..4u64, proptest::option::of(1..4u64), 0..30u64)),
            1..30u64,
            proptest::collection::vec(1..5u64, 0..6),
            proptest::option::weighted(0.2, (1..32u64, proptest::bool::weighted(0.7), 1..5u64)),
            proptest::bool::weighted(0.1),
        )
            .prop_map(|(hs, at, terms, snap, reopen)| Step {
                hs,
                at,
                terms,
                snap,
                reopen,
            })
    }

    /// Saves `snapshot` as a node's task does: at an even index written ahead by a stager, at an
    /// odd one by `save_snapshot` itself.
    fn save(disk: &mut DiskStorage, snapshot: &Snapshot) -> Result<(), StorageError> {
        if snapshot.meta.index.is_multiple_of(2) {
            let staged = disk.snapshot_stager().stage(snapshot)?;
            disk.save_staged_snapshot(snapshot, staged)
        } else {
            disk.save_snapshot(snapshot)
        }
    }

    /// The snapshot a step asks for, given the log in `mem`.
    fn step_snapshot(mem: &MemStorage, (index, own, term): (Index, bool, Term)) -> Snapshot {
        let stored = index
            .checked_sub(mem.snapshot_index() + 1)
            .and_then(|k| mem.entries().get(k as usize))
            .map(|e| e.term);
        let term = if own { stored.unwrap_or(term) } else { term };
        Snapshot {
            meta: SnapshotMeta { index, term },
            data: format!("state at {index} of term {term}").into(),
            conf: None,
        }
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
            for Step { hs, at, terms, snap, reopen } in steps {
                if let Some(snap) = snap {
                    let snapshot = step_snapshot(&mem, snap);
                    save(&mut disk, &snapshot).expect("disk snapshot");
                    mem.save_snapshot(&snapshot).expect("mem snapshot");
                } else {
                    // Mostly valid appends; now and then one that leaves a gap or reaches into
                    // the snapshot (refused by both).
                    let at = if at % 5 == 0 { at } else { at.min(mem.last_index() + 1) };
                    let batch: Vec<Entry> =
                        (at..).zip(&terms).map(|(i, &t)| entry(i, t)).collect();
                    let hs =
                        hs.map(|(term, voted_for, commit)| HardState { term, voted_for, commit });
                    let ok = disk.persist(hs.as_ref(), &batch).is_ok();
                    prop_assert_eq!(ok, mem.persist(hs.as_ref(), &batch).is_ok());
                    if let (true, Some(hs)) = (ok, hs) {
                        durable = (hs.term, hs.voted_for);
                    }
                }
                if reopen {
                    drop(disk);
                    disk = open(tmp.path(), options);
                    prop_assert!(disk.warnings().is_empty(), "{:?}", disk.warnings());
                    // The node restarts with what the disk kept (the commit index may be older;
                    // as read from the file, not yet clamped to the log).
                    let hs = hard_state::read(tmp.path()).expect("hard state");
                    prop_assert_eq!((hs.term, hs.voted_for), durable);
                    mem.persist(Some(&hs), &[]).expect("mem hard state");
                }
                prop_assert_eq!(disk.last_index(), mem.last_index());
                prop_assert_eq!(disk.snapshot_index(), mem.snapshot_index());
                let mut want = mem.initial_state().expect("mem");
                want.hard_state.commit = want.hard_state.commit.min(mem.last_index());
                prop_assert_eq!(disk.initial_state().expect("disk"), want);
            }
            drop(disk);
            let reopened = open(tmp.path(), options);
            prop_assert!(reopened.warnings().is_empty(), "{:?}", reopened.warnings());
            let reopened = reopened.initial_state().expect("reopen");
            let want = mem.initial_state().expect("mem");
            prop_assert_eq!(&reopened.entries, &want.entries);
            prop_assert_eq!(&reopened.snapshot, &want.snapshot);
            prop_assert_eq!(
                (reopened.hard_state.term, reopened.hard_state.voted_for),
                durable
            );
            prop_assert!(reopened.hard_state.commit <= mem.last_index());
        }

        #[test]
        fn a_crash_anywhere_in_save_snapshot_recovers_the_old_or_the_new_state(
            steps in proptest::collection::vec(step(), 1..25),
            last in (0..12u64, proptest::bool::weighted(0.5), 1..5u64),
            crash in 0..12usize,
            segment_bytes in 40..200u64,
            staged in proptest::bool::ANY,
        ) {
            let tmp = tempfile::tempdir().expect("tempdir");
            let options = DiskOptions { fsync: FsyncPolicy::Never, segment_bytes };
            let mut disk = open(tmp.path(), options);
            let mut mem = MemStorage::new();
            for Step { at, terms, snap, .. } in steps {
                if let Some(snap) = snap {
                    let snapshot = step_snapshot(&mem, snap);
                    disk.save_snapshot(&snapshot).expect("disk snapshot");
                    mem.save_snapshot(&snapshot).expect("mem snapshot");
                } else {
                    let at = at.min(mem.last_index() + 1);
                    let batch: Vec<Entry> =
                        (at..).zip(&terms).map(|(i, &t)| entry(i, t)).collect();
                    prop_assert_eq!(disk.persist(None, &batch).is_ok(), mem.persist(None, &batch).is_ok());
                }
            }
            // Above the stored snapshot (one at or below it changes nothing, tested elsewhere).
            let last = (mem.snapshot_index() + 1 + last.0, last.1, last.2);
            let snapshot = step_snapshot(&mem, last);
            let old = mem.initial_state().expect("mem");
            let keeps_suffix = step_snapshot(&mem, (last.0, true, 0)).meta.term == snapshot.meta.term
                && last.0 <= mem.last_index();
            mem.save_snapshot(&snapshot).expect("mem snapshot");
            let new = mem.initial_state().expect("mem");
            let crash = match crash {
                0 => CrashPoint::BeforeRename,
                1 => CrashPoint::AfterRename,
                k => CrashPoint::AfterDeletes(k - 2),
            };
            let staged = staged.then(|| disk.snapshot_stager().stage(&snapshot).expect("stage"));
            let _ = disk.save_snapshot_until(&snapshot, staged, Some(crash));
            drop(disk);
            let reopened = open(tmp.path(), options);
            let got = reopened.initial_state().expect("reopen");
            let is = |want: &InitialState| got.snapshot == want.snapshot && got.entries == want.entries;
            // The one exception (see `Wal::discard_order`): a log discarded for a conflicting
            // snapshot may come back as the old one cut after a segment past the conflict.
            let old_prefix = !keeps_suffix
                && got.snapshot == old.snapshot
                && old.entries.starts_with(&got.entries)
                && reopened.last_index() > snapshot.meta.index;
            prop_assert!(
                is(&old) || is(&new) || old_prefix,
                "{:?}: got {:?} / {:?}", crash, got.snapshot.map(|s| s.meta), got.entries
            );
            if is(&new) && !is(&old) {
                prop_assert_eq!(reopened.snapshot_index(), snapshot.meta.index);
            }
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
