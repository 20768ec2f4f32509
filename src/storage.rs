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

mod disk;
mod faulty_disk;
mod hard_state;
mod purge;
mod recovery;
mod snapshot;
mod wal;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::raft::{
    Entry, HardState, Index, InitialState, NodeId, Snapshot, SnapshotMeta, Storage, StorageError,
    Term,
};
use wal::End;

pub use disk::{Disk, DiskFile, RealDisk};
pub use faulty_disk::{FaultyDisk, Unsynced};
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
    /// Where every file operation goes: the real disk, or one that injects faults.
    disk: Arc<dyn Disk>,
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
    /// The first write that failed (I/O): every later write is refused with it, so that a failed
    /// fsync is never retried as if the data were safe.
    failed: Option<String>,
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
        DiskStorage::open_on(Arc::new(RealDisk), dir, options)
    }

    /// [`DiskStorage::open`] on another [`Disk`]: a [`FaultyDisk`] in tests.
    pub fn open_on(
        disk: Arc<dyn Disk>,
        dir: &Path,
        options: DiskOptions,
    ) -> Result<DiskStorage, StorageError> {
        let fsync = options.fsync == FsyncPolicy::Always;
        let snapshots = dir.join(snapshot::DIR_NAME);
        disk.create_dir_all(&snapshots)
            .map_err(|e| io_error("cannot create", &snapshots, e))?;
        if fsync {
            sync_dir(&*disk, dir)?;
            // The node directory's own entry too: a directory created now is lost on a power
            // cut until its parent is synced, and everything in it with it.
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                sync_dir(&*disk, parent)?;
            }
        }
        let hard_state = hard_state::read(&*disk, dir)?;
        let mut wal = wal::Wal::open(Arc::clone(&disk), dir, fsync, options.segment_bytes)?;
        let recovered = recovery::recover(&*disk, dir, &mut wal, fsync)?;
        for warning in &recovered.warnings {
            tracing::warn!("{}: {warning}", dir.display());
        }
        Ok(DiskStorage {
            disk,
            dir: dir.to_path_buf(),
            options,
            wal,
            hard_state,
            stored: (hard_state.term, hard_state.voted_for),
            snapshot: recovered.snapshot,
            warnings: recovered.warnings,
            purger: None,
            failed: None,
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
            disk: Arc::clone(&self.disk),
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
        self.guarded(|s| s.save_snapshot_until(snapshot, Some(staged), None))
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
            None => snapshot::write_tmp(&*self.disk, &dir, s, fsync)?,
        };
        if crash == Some(CrashPoint::BeforeRename) {
            return Err(crashed());
        }
        snapshot::install(&*self.disk, &dir, &tmp, meta, fsync)?;
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
            let names = snapshot::not_kept(&*self.disk, &dir, &keep)?;
            useless.extend(names.iter().map(|name| dir.join(name)));
            if !useless.is_empty() {
                self.purger()?.delete(useless)?;
            }
        } else {
            snapshot::retain(&*self.disk, &dir, &keep, fsync)?;
        }
        Ok(())
    }

    /// The purger, started on first use.
    fn purger(&mut self) -> Result<&purge::Purger, StorageError> {
        let purger = match self.purger.take() {
            Some(purger) => purger,
            None => purge::Purger::start(Arc::clone(&self.disk), self.fsync())?,
        };
        Ok(self.purger.insert(purger))
    }

    /// Refuses to go on after a failed write; otherwise runs `write` and remembers its failure.
    /// A write that failed half-way leaves files the storage no longer knows (and a failed fsync
    /// may have lost data the kernel reported written): only a restart, which reads back what is
    /// really on disk, can go on from there.
    fn guarded<T>(
        &mut self,
        write: impl FnOnce(&mut Self) -> Result<T, StorageError>,
    ) -> Result<T, StorageError> {
        if let Some(why) = &self.failed {
            return Err(StorageError(format!(
                "{}: an earlier write failed ({why}); refusing to write until a restart",
                self.dir.display()
            )));
        }
        let result = write(self);
        if let Err(e) = &result {
            self.failed = Some(e.0.clone());
        }
        result
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
    disk: Arc<dyn Disk>,
    /// The storage's snapshot directory.
    dir: PathBuf,
    fsync: bool,
}

impl SnapshotStager {
    /// Writes `snapshot`'s file, synced as the storage would sync it, where only
    /// [`DiskStorage::save_staged_snapshot`] puts it into use.
    pub fn stage(&self, snapshot: &Snapshot) -> Result<StagedSnapshot, StorageError> {
        let file = snapshot::write_staged(&*self.disk, &self.dir, snapshot, self.fsync)?;
        Ok(StagedSnapshot {
            disk: Arc::clone(&self.disk),
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
    disk: Arc<dyn Disk>,
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
            let _ = self.disk.remove(&file);
        }
    }
}

impl Storage for DiskStorage {
    fn initial_state(&self) -> Result<InitialState, StorageError> {
        let snapshot = match self.snapshot {
            Some(meta) => Some(
                snapshot::read(&*self.disk, &self.snapshot_dir(), meta).map_err(|why| {
                    StorageError(format!(
                        "{}: snapshot {} ({why})",
                        self.snapshot_dir().display(),
                        snapshot::file_name(meta)
                    ))
                })?,
            ),
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
        self.guarded(|s| {
            if let Some(hs) = hard_state {
                if (hs.term, hs.voted_for) != s.stored {
                    hard_state::write(&*s.disk, &s.dir, hs, s.fsync())?;
                    s.stored = (hs.term, hs.voted_for);
                }
                s.hard_state = *hs;
            }
            if let Some(batch) = batch {
                s.wal.append(batch)?;
            }
            Ok(())
        })
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StorageError> {
        self.guarded(|s| s.save_snapshot_until(snapshot, None, None))
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
fn sync_dir(disk: &dyn Disk, dir: &Path) -> Result<(), StorageError> {
    disk.sync_dir(dir)
        .map_err(|e| io_error("cannot sync directory", dir, e))
}

#[cfg(test)]
mod tests;
