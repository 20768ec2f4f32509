//! The write-ahead log: segment files of CRC-framed entries, and the in-memory index over them.
//!
//! A segment `wal-<first index, 20 digits>.log` holds consecutive entries from its first index
//! on, each as one record:
//!
//! ```text
//! +----------------+----------------+---------------------------------+
//! | length: u32 LE | crc32c: u32 LE | payload: prost-encoded pb::Entry |
//! +----------------+----------------+---------------------------------+
//!   of the payload   of the payload   `length` bytes (1 ..= 64 MiB)
//! ```
//!
//! The index kept in memory is, per segment, its first index and the byte offset of each record:
//! enough to find where to cut the log without reading it. Entries' data stay on disk.
//!
//! The log need not start at index 1: compaction deletes whole segments from the front
//! ([`Wal::delete_segment`], one at a time, the directory synced after each), and a log discarded
//! for a snapshot goes on at any index ([`Wal::restart_at`]), in a segment created by the next
//! append. Which entries the snapshot covers is the caller's business: the log only keeps
//! consecutive entries from its first index on.
//!
//! Recovery ([`Wal::open`]) reads every segment and checks every record. The only damage it repairs
//! is a torn tail: a bad record in the last segment with no valid record after it, which is what
//! a crash in the middle of an append leaves. It is cut off. Anything else (a bad record with
//! valid ones after it, a bad record in an earlier segment, an index out of sequence) is an
//! error naming the file and the byte offset: the log cannot be trusted and the node must not start.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use prost::Message as _;

use super::{io_error, sync_dir, Disk, DiskFile};
use crate::pb;
use crate::raft::{Entry, Index, StorageError, Term};

/// The largest record payload (an encoded entry) the log writes or accepts: 64 MiB. A length
/// field above it is damage, rejected without allocating anything.
pub const MAX_RECORD_BYTES: u32 = 64 << 20;

/// Bytes of a record's header: length and CRC.
const HEADER_BYTES: usize = 8;

/// The file name of the segment whose first entry has index `first`.
pub(crate) fn segment_file_name(first: Index) -> String {
    format!("wal-{first:020}.log")
}

fn segment_path(dir: &Path, first: Index) -> PathBuf {
    dir.join(segment_file_name(first))
}

/// Parses a segment file name. `None`: not a segment name at all. `Some(Err)`: looks like one
/// (`wal-*.log`) but is malformed, which recovery refuses rather than ignore a piece of the log.
fn parse_segment_name(name: &str) -> Option<Result<Index, ()>> {
    let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Err(()));
    }
    Some(digits.parse::<Index>().map_err(|_| ()))
}

/// One segment in the in-memory index.
#[derive(Debug)]
struct Segment {
    /// Index of its first entry (also when it has none yet).
    first: Index,
    /// Byte offset of each record, in index order.
    offsets: Vec<u64>,
    /// Bytes of valid records: the file's length.
    len: u64,
}

impl Segment {
    /// Index the next entry appended to this segment must have.
    fn next_index(&self) -> Index {
        self.first.saturating_add(self.offsets.len() as u64)
    }

    /// Index of its last entry (`first - 1` when it has none).
    fn last_index(&self) -> Index {
        self.next_index().saturating_sub(1)
    }
}

/// Which end of the log [`Wal::delete_segment`] removes a segment from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The oldest segment.
    Front,
    /// The newest segment.
    Back,
}

/// The log on disk and its index.
#[derive(Debug)]
pub(crate) struct Wal {
    disk: Arc<dyn Disk>,
    dir: PathBuf,
    fsync: bool,
    segment_bytes: u64,
    /// In index order, consecutive; only the last may be empty.
    segments: Vec<Segment>,
    /// Index the first entry will have while there is no segment: 1 for a new log,
    /// the snapshot index + 1 after the whole log was discarded for a snapshot.
    start: Index,
    /// Append handle on the last segment, opened on demand.
    file: Option<Box<dyn DiskFile>>,
    /// The last segment was cut (`set_len`) and not synced since.
    cut_unsynced: bool,
    /// Set when a write failed half-way: the index may no longer match the files.
    broken: Option<String>,
}

/// Entries checked and encoded by [`Wal::prepare`], ready for [`Wal::append`].
#[derive(Debug)]
pub(crate) struct Batch {
    first: Index,
    last_before: Index,
    /// The records, back to back.
    buf: Vec<u8>,
    /// Offset of each record in `buf`.
    rel_offsets: Vec<u64>,
}

/// Why the bytes at an offset are not a valid record.
#[derive(Clone, Copy, Debug)]
enum Bad {
    Header { have: usize },
    ZeroLength,
    TooLong { len: u32 },
    Incomplete { len: u32, have: usize },
    Crc { stored: u32, computed: u32 },
}

impl fmt::Display for Bad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Bad::Header { have } => write!(
                f,
                "incomplete record header ({have} of {HEADER_BYTES} bytes)"
            ),
            Bad::ZeroLength => write!(f, "record length 0"),
            Bad::TooLong { len } => write!(
                f,
                "record length {len} above the maximum {MAX_RECORD_BYTES}"
            ),
            Bad::Incomplete { len, have } => write!(
                f,
                "incomplete record: length {len} but {have} bytes follow the header"
            ),
            Bad::Crc { stored, computed } => write!(
                f,
                "record CRC mismatch (stored {stored:08x}, computed {computed:08x})"
            ),
        }
    }
}

/// Reads the record at `p`: its payload and the offset after it.
fn read_record(bytes: &[u8], p: usize) -> Result<(&[u8], usize), Bad> {
    let rest = bytes.get(p..).unwrap_or_default();
    let Some((header, rest)) = rest.split_first_chunk::<HEADER_BYTES>() else {
        return Err(Bad::Header { have: rest.len() });
    };
    let [l0, l1, l2, l3, c0, c1, c2, c3] = *header;
    let len = u32::from_le_bytes([l0, l1, l2, l3]);
    let stored = u32::from_le_bytes([c0, c1, c2, c3]);
    if len == 0 {
        return Err(Bad::ZeroLength);
    }
    if len > MAX_RECORD_BYTES {
        return Err(Bad::TooLong { len });
    }
    let Some(payload) = rest.get(..len as usize) else {
        return Err(Bad::Incomplete {
            len,
            have: rest.len(),
        });
    };
    let computed = crc32c::crc32c(payload);
    if computed != stored {
        return Err(Bad::Crc { stored, computed });
    }
    Ok((payload, p + HEADER_BYTES + payload.len()))
}

/// Whether a valid record starts anywhere at or after `from`.
fn valid_record_from(bytes: &[u8], from: usize) -> bool {
    (from..bytes.len()).any(|q| read_record(bytes, q).is_ok())
}

fn corrupt(path: &Path, offset: usize, what: impl fmt::Display) -> StorageError {
    StorageError(format!(
        "{}: {what} at byte offset {offset}; the log is damaged, refusing to go on",
        path.display()
    ))
}

/// What a segment's scan found.
struct Scanned {
    offsets: Vec<u64>,
    /// Bytes of valid records from the start.
    good_len: usize,
    /// The torn tail cut off, if any (only in a last segment).
    torn: Option<Bad>,
}

/// Checks every record of a segment's `bytes` and their indexes, from `first` on. In the last
/// segment (`is_last`), a bad record with no valid record after it is a torn tail, reported in
/// [`Scanned::torn`]; anything else bad is an error. Entries go to `out` if given.
fn scan(
    path: &Path,
    bytes: &[u8],
    first: Index,
    is_last: bool,
    mut out: Option<&mut Vec<Entry>>,
) -> Result<Scanned, StorageError> {
    let mut offsets = Vec::new();
    let mut p = 0usize;
    let mut expected = first;
    while p < bytes.len() {
        let (payload, next) = match read_record(bytes, p) {
            Ok(record) => record,
            Err(bad) => {
                if is_last && !valid_record_from(bytes, p + 1) {
                    return Ok(Scanned {
                        offsets,
                        good_len: p,
                        torn: Some(bad),
                    });
                }
                return Err(corrupt(path, p, bad));
            }
        };
        let entry = pb::Entry::decode(payload)
            .map_err(|e| corrupt(path, p, format_args!("undecodable entry ({e})")))?;
        let entry = Entry::try_from(entry)
            .map_err(|e| corrupt(path, p, format_args!("invalid entry ({e})")))?;
        if entry.index != expected {
            return Err(corrupt(
                path,
                p,
                format_args!("entry index {} where {expected} was expected", entry.index),
            ));
        }
        expected = expected
            .checked_add(1)
            .ok_or_else(|| corrupt(path, p, "index overflow"))?;
        offsets.push(p as u64);
        if let Some(out) = out.as_deref_mut() {
            out.push(entry);
        }
        p = next;
    }
    Ok(Scanned {
        offsets,
        good_len: p,
        torn: None,
    })
}

/// The first indexes of the segment files in `dir`, sorted.
fn list_segments(disk: &dyn Disk, dir: &Path) -> Result<Vec<Index>, StorageError> {
    let mut firsts = Vec::new();
    let entries = disk
        .list(dir)
        .map_err(|e| io_error("cannot list", dir, e))?;
    for name in entries {
        let Some(name) = name.to_str() else { continue };
        match parse_segment_name(name) {
            None => {}
            Some(Ok(first)) => firsts.push(first),
            Some(Err(())) => {
                return Err(StorageError(format!(
                    "{}: malformed WAL segment name (expected wal-<20 digits>.log)",
                    dir.join(name).display()
                )))
            }
        }
    }
    firsts.sort_unstable();
    Ok(firsts)
}

impl Wal {
    /// Recovers the log in `dir`: checks every segment, cuts a torn tail off the last one.
    pub(crate) fn open(
        disk: Arc<dyn Disk>,
        dir: &Path,
        fsync: bool,
        segment_bytes: u64,
    ) -> Result<Wal, StorageError> {
        let firsts = list_segments(&*disk, dir)?;
        let count = firsts.len();
        let mut segments: Vec<Segment> = Vec::with_capacity(count);
        for (i, first) in firsts.into_iter().enumerate() {
            let path = segment_path(dir, first);
            if first == 0 {
                return Err(StorageError(format!(
                    "{}: a segment cannot start at index 0",
                    path.display()
                )));
            }
            if let Some(prev) = segments.last() {
                if prev.next_index() != first {
                    return Err(StorageError(format!(
                        "{}: segment starts at index {first} but the segment before it ends at \
                         index {}; the log is damaged, refusing to go on",
                        path.display(),
                        prev.next_index().saturating_sub(1)
                    )));
                }
            }
            let bytes = disk
                .read(&path)
                .map_err(|e| io_error("cannot read", &path, e))?;
            let scanned = scan(&path, &bytes, first, i + 1 == count, None)?;
            if let Some(bad) = scanned.torn {
                tracing::warn!(
                    "{}: cutting a torn tail at byte offset {} ({bad}; {} bytes dropped)",
                    path.display(),
                    scanned.good_len,
                    bytes.len() - scanned.good_len
                );
                let mut file = disk
                    .open(&path)
                    .map_err(|e| io_error("cannot open", &path, e))?;
                file.truncate(scanned.good_len as u64)
                    .map_err(|e| io_error("cannot truncate", &path, e))?;
                if fsync {
                    file.sync_all()
                        .map_err(|e| io_error("cannot sync", &path, e))?;
                }
            }
            segments.push(Segment {
                first,
                offsets: scanned.offsets,
                len: scanned.good_len as u64,
            });
        }
        Ok(Wal {
            disk,
            dir: dir.to_path_buf(),
            fsync,
            segment_bytes,
            segments,
            start: 1,
            file: None,
            cut_unsynced: false,
            broken: None,
        })
    }

    /// Index the first stored entry has, or would have (without segments: 1 for a new log, or
    /// where [`Wal::restart_at`] put it).
    pub(crate) fn first_index(&self) -> Index {
        self.segments.first().map_or(self.start, |s| s.first)
    }

    /// Index of the last stored entry (`first_index() - 1` when there is none).
    pub(crate) fn last_index(&self) -> Index {
        self.segments
            .last()
            .map_or(self.start.saturating_sub(1), Segment::last_index)
    }

    /// Whether the log holds no entry (it may still have an empty segment file).
    pub(crate) fn is_empty(&self) -> bool {
        self.last_index() < self.first_index()
    }

    /// The segments as `(first index, last index)`, oldest first; an empty segment's last index
    /// is its first minus one.
    pub(crate) fn segment_ranges(&self) -> Vec<(Index, Index)> {
        self.segments
            .iter()
            .map(|s| (s.first, s.last_index()))
            .collect()
    }

    /// Fails if an earlier write failed half-way (the index may no longer match the files).
    pub(crate) fn check_usable(&self) -> Result<(), StorageError> {
        match &self.broken {
            Some(why) => Err(StorageError(format!(
                "an earlier write failed ({why}); restart to recover"
            ))),
            None => Ok(()),
        }
    }

    /// The term of the stored entry at `index`, read back from disk; `None` if the log does not
    /// hold it.
    pub(crate) fn term_at(&self, index: Index) -> Result<Option<Term>, StorageError> {
        if index < self.first_index() || index > self.last_index() {
            return Ok(None);
        }
        let pos = self.segments.partition_point(|s| s.first <= index);
        let Some(seg) = pos.checked_sub(1).and_then(|p| self.segments.get(p)) else {
            return Ok(None);
        };
        let k = usize::try_from(index - seg.first).unwrap_or(usize::MAX);
        let (Some(&from), to) = (seg.offsets.get(k), seg.offsets.get(k.saturating_add(1))) else {
            return Ok(None);
        };
        let to = to.copied().unwrap_or(seg.len);
        let path = segment_path(&self.dir, seg.first);
        let mut buf = vec![0; usize::try_from(to.saturating_sub(from)).unwrap_or(0)];
        self.disk
            .read_at(&path, from, &mut buf)
            .map_err(|e| io_error("cannot read", &path, e))?;
        let at = usize::try_from(from).unwrap_or(usize::MAX);
        let (payload, _) = read_record(&buf, 0).map_err(|bad| corrupt(&path, at, bad))?;
        let entry = pb::Entry::decode(payload)
            .map_err(|e| corrupt(&path, at, format_args!("undecodable entry ({e})")))?;
        let entry = Entry::try_from(entry)
            .map_err(|e| corrupt(&path, at, format_args!("invalid entry ({e})")))?;
        if entry.index != index {
            return Err(corrupt(
                &path,
                at,
                format_args!("entry index {} where {index} was expected", entry.index),
            ));
        }
        Ok(Some(entry.term))
    }

    /// Deletes the oldest or the newest segment file (then syncs the directory, with fsync, so
    /// that deletions reach the disk in the order they are made). A failure leaves the log
    /// unusable: every later write fails.
    pub(crate) fn delete_segment(&mut self, end: End) -> Result<(), StorageError> {
        self.check_usable()?;
        let pos = match end {
            End::Front => 0,
            End::Back => self.segments.len().saturating_sub(1),
        };
        let Some(seg) = self.segments.get(pos) else {
            return Ok(());
        };
        let path = segment_path(&self.dir, seg.first);
        let (first, next) = (seg.first, seg.next_index());
        let result = self
            .disk
            .remove(&path)
            .map_err(|e| io_error("cannot delete", &path, e))
            .and_then(|()| {
                if self.fsync {
                    sync_dir(&*self.disk, &self.dir)
                } else {
                    Ok(())
                }
            });
        if let Err(e) = &result {
            self.broken = Some(e.0.clone());
            return result;
        }
        if pos + 1 == self.segments.len() {
            // The append handle, and an unsynced cut, are on the last segment.
            self.file = None;
            self.cut_unsynced = false;
        }
        self.segments.remove(pos);
        if self.segments.is_empty() {
            // The log is empty: it goes on after what the front had, or where the back began.
            self.start = match end {
                End::Front => next,
                End::Back => first,
            };
        }
        Ok(())
    }

    /// Takes the oldest segment out of the index and returns its file, for the caller to delete
    /// later ([`super::purge`]): the entries it holds are never read again. The last segment (the
    /// one appends go to) is never taken: `None` then.
    pub(crate) fn detach_front(&mut self) -> Result<Option<PathBuf>, StorageError> {
        self.check_usable()?;
        if self.segments.len() < 2 {
            return Ok(None);
        }
        let seg = self.segments.remove(0);
        Ok(Some(segment_path(&self.dir, seg.first)))
    }

    /// The order in which to delete every segment when the whole log is discarded for a snapshot
    /// at `index` that it does not lead to: oldest first, so that what a crash leaves is a
    /// suffix of the log (recovery sees a gap before it, or the conflicting entry at `index`),
    /// except that a segment starting right after `index` must never become the first one (a log
    /// starting at `index + 1` would look like it continued the snapshot): it and those after it
    /// go, newest first, before the segment holding `index`.
    pub(crate) fn discard_order(&self, index: Index) -> Vec<End> {
        let n = self.segments.len();
        match self
            .segments
            .iter()
            .position(|s| Some(s.first) == index.checked_add(1))
        {
            Some(j) if j > 0 => {
                let mut order = vec![End::Front; j - 1];
                order.extend(std::iter::repeat_n(End::Back, n - j));
                order.push(End::Front);
                order
            }
            _ => vec![End::Front; n],
        }
    }

    /// Makes an empty log go on at `next`: its first entry will have that index. Fails if the
    /// log still has segments.
    pub(crate) fn restart_at(&mut self, next: Index) -> Result<(), StorageError> {
        if !self.segments.is_empty() {
            return Err(StorageError(format!(
                "cannot restart the log at {next}: it still has segments"
            )));
        }
        self.start = next;
        Ok(())
    }

    /// Reads the stored entries from index `from` on back from disk, checking each record again
    /// (of every segment that holds one of them).
    pub(crate) fn read_entries_from(&self, from: Index) -> Result<Vec<Entry>, StorageError> {
        let mut out = Vec::new();
        for seg in self.segments.iter().filter(|s| s.last_index() >= from) {
            let path = segment_path(&self.dir, seg.first);
            let bytes = self
                .disk
                .read(&path)
                .map_err(|e| io_error("cannot read", &path, e))?;
            let Some(bytes) = bytes.get(..seg.len as usize) else {
                return Err(StorageError(format!(
                    "{}: {} bytes, {} expected: changed behind our back",
                    path.display(),
                    bytes.len(),
                    seg.len
                )));
            };
            let mut entries = Vec::new();
            let scanned = scan(&path, bytes, seg.first, false, Some(&mut entries))?;
            if scanned.offsets != seg.offsets {
                return Err(StorageError(format!(
                    "{}: records differ from the index: changed behind our back",
                    path.display()
                )));
            }
            out.extend(entries.into_iter().filter(|e| e.index >= from));
        }
        Ok(out)
    }

    /// Checks and encodes `entries` for [`Wal::append`]: they must be consecutive, the first at
    /// most one past the last stored index and not before the first, none above
    /// [`MAX_RECORD_BYTES`] encoded. Changes nothing.
    pub(crate) fn prepare(&self, entries: &[Entry]) -> Result<Option<Batch>, StorageError> {
        self.check_usable()?;
        let Some(first) = entries.first() else {
            return Ok(None);
        };
        let last = self.last_index();
        if first.index < self.first_index() || first.index > last.saturating_add(1) {
            return Err(StorageError(format!(
                "append at {} leaves a gap after {last}",
                first.index
            )));
        }
        let mut buf = Vec::with_capacity(entries.iter().map(|e| e.approx_size() + 16).sum());
        let mut rel_offsets = Vec::with_capacity(entries.len());
        for (e, want) in entries.iter().zip(first.index..) {
            if e.index != want {
                return Err(StorageError(format!(
                    "entries to append are not consecutive: {} where {want} was expected",
                    e.index
                )));
            }
            let payload = pb::Entry::from(e.clone()).encode_to_vec();
            let len = u32::try_from(payload.len())
                .ok()
                .filter(|&len| len <= MAX_RECORD_BYTES)
                .ok_or_else(|| {
                    StorageError(format!(
                        "entry {} encodes to {} bytes, above the maximum {MAX_RECORD_BYTES}",
                        e.index,
                        payload.len()
                    ))
                })?;
            rel_offsets.push(buf.len() as u64);
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(&crc32c::crc32c(&payload).to_le_bytes());
            buf.extend_from_slice(&payload);
        }
        Ok(Some(Batch {
            first: first.index,
            last_before: last,
            buf,
            rel_offsets,
        }))
    }

    /// Appends a prepared batch, first removing the stored entries from its first index on if
    /// there are any. An I/O failure leaves the log unusable: every later call fails.
    pub(crate) fn append(&mut self, batch: Batch) -> Result<(), StorageError> {
        if batch.last_before != self.last_index() {
            return Err(StorageError("batch prepared against another log".into()));
        }
        let result = self.write(
            batch.first,
            batch.last_before,
            &batch.buf,
            batch.rel_offsets,
        );
        if let Err(e) = &result {
            self.broken = Some(e.0.clone());
        }
        result
    }

    /// The I/O part of [`Wal::append`], on a checked and encoded batch.
    fn write(
        &mut self,
        first: Index,
        last: Index,
        buf: &[u8],
        rel_offsets: Vec<u64>,
    ) -> Result<(), StorageError> {
        if first <= last {
            self.cut_from(first)?;
        }
        let roll = match self.segments.last() {
            None => true,
            Some(s) => s.len > 0 && s.len.saturating_add(buf.len() as u64) > self.segment_bytes,
        };
        if roll {
            if self.cut_unsynced && self.fsync {
                // The cut must be durable before a later segment exists.
                let path = self.last_segment_path();
                self.current_file()?
                    .sync_data()
                    .map_err(|e| io_error("cannot sync", &path, e))?;
            }
            self.cut_unsynced = false;
            let path = segment_path(&self.dir, first);
            let file = self
                .disk
                .create_new(&path)
                .map_err(|e| io_error("cannot create", &path, e))?;
            self.file = Some(file);
            self.segments.push(Segment {
                first,
                offsets: Vec::new(),
                len: 0,
            });
        }
        let fsync = self.fsync;
        let path = self.last_segment_path();
        let file = self.current_file()?;
        file.append(buf)
            .map_err(|e| io_error("cannot write", &path, e))?;
        if fsync {
            file.sync_data()
                .map_err(|e| io_error("cannot sync", &path, e))?;
            if roll {
                sync_dir(&*self.disk, &self.dir)?;
            }
        }
        self.cut_unsynced = false;
        let Some(seg) = self.segments.last_mut() else {
            return Err(StorageError("no segment after a write".into()));
        };
        seg.offsets
            .extend(rel_offsets.into_iter().map(|o| o + seg.len));
        seg.len += buf.len() as u64;
        Ok(())
    }

    /// Removes the stored entries from `index` on (`first_index() <= index <= last_index()`):
    /// deletes every later segment (the last first, then a directory sync) and truncates the
    /// segment holding `index` at its record. The truncation is synced by the append that follows.
    fn cut_from(&mut self, index: Index) -> Result<(), StorageError> {
        let holding = self
            .segments
            .partition_point(|s| s.first <= index)
            .checked_sub(1)
            .ok_or_else(|| StorageError(format!("no segment holds index {index}")))?;
        let mut deleted = false;
        while self.segments.len() > holding + 1 {
            let Some(seg) = self.segments.pop() else {
                break;
            };
            self.file = None;
            let path = segment_path(&self.dir, seg.first);
            self.disk
                .remove(&path)
                .map_err(|e| io_error("cannot delete", &path, e))?;
            deleted = true;
        }
        if deleted && self.fsync {
            sync_dir(&*self.disk, &self.dir)?;
        }
        let (k, offset) = {
            let Some(seg) = self.segments.get(holding) else {
                return Err(StorageError(format!("no segment holds index {index}")));
            };
            let k = usize::try_from(index - seg.first).unwrap_or(usize::MAX);
            let Some(&offset) = seg.offsets.get(k) else {
                return Err(StorageError(format!("no record for index {index}")));
            };
            (k, offset)
        };
        let path = self.last_segment_path();
        self.current_file()?
            .truncate(offset)
            .map_err(|e| io_error("cannot truncate", &path, e))?;
        self.cut_unsynced = true;
        if let Some(seg) = self.segments.get_mut(holding) {
            seg.offsets.truncate(k);
            seg.len = offset;
        }
        Ok(())
    }

    /// Path of the last segment (the directory if there is none), for messages.
    fn last_segment_path(&self) -> PathBuf {
        self.segments
            .last()
            .map_or_else(|| self.dir.clone(), |s| segment_path(&self.dir, s.first))
    }

    /// The append handle on the last segment, opened if needed.
    fn current_file(&mut self) -> Result<&mut Box<dyn DiskFile>, StorageError> {
        if self.file.is_none() {
            let Some(seg) = self.segments.last() else {
                return Err(StorageError("no segment to write to".into()));
            };
            let path = segment_path(&self.dir, seg.first);
            let file = self
                .disk
                .open(&path)
                .map_err(|e| io_error("cannot open", &path, e))?;
            self.file = Some(file);
        }
        self.file
            .as_mut()
            .ok_or_else(|| StorageError("no segment file".into()))
    }
}
