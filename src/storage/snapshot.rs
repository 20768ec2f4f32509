//! Snapshot files: one file per snapshot in `<dir>/snapshots/`, named after what it covers.
//!
//! `snap-<index, 20 digits>-<term, 20 digits>.snap` (so names sort by index), holding (format 2):
//!
//! ```text
//! ┌──────────────────┬──────────────┬─────────────┬────────────────────┬────────────────────┐
//! │ magic "RLSNAP02" │ index: u64 LE│ term: u64 LE│ data length: u64 LE│ conf length: u64 LE│ …
//! └──────────────────┴──────────────┴─────────────┴────────────────────┴────────────────────┘
//!   byte 0             8              16            24                   32
//!   ┌───────────────┬──────┬────────────────┐
//! … │ configuration │ data │ crc32c: u32 LE │   the CRC covers every byte before it
//!   └───────────────┴──────┴────────────────┘
//!   40              40 + conf length
//! ```
//!
//! The configuration is the cluster's membership at the snapshot's index, in the binary form of
//! [`Configuration::encode`] (a snapshot replaces the log prefix, configuration entries
//! included); length 0 means none was recorded. Format 1 (`RLSNAP01`: no conf length, no
//! configuration, the data at byte 32), written before membership could change at runtime, is
//! still read, as a snapshot without a configuration.
//!
//! A file is written whole to `<name>.tmp`, synced, renamed to its name and the directory synced:
//! a crash leaves the file complete or absent, and at most a `.tmp` behind (never read, deleted
//! by the next recovery or retention pass). A file is only trusted after a full check: magic,
//! header against name, length against file size, CRC. What is wrong with one that fails is
//! described for a warning; choosing among the files is the caller's business.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use super::{io_error, sync_dir, Disk};
use crate::raft::{Configuration, Snapshot, SnapshotMeta, StorageError};

/// Name of the snapshot directory inside a node directory.
pub(crate) const DIR_NAME: &str = "snapshots";
/// The first bytes of every snapshot file this version writes (format 2).
pub(crate) const MAGIC: &[u8; 8] = b"RLSNAP02";
/// The first bytes of a format 1 file (read, never written).
const MAGIC_V1: &[u8; 8] = b"RLSNAP01";
/// Bytes before the configuration: magic, index, term, data length, conf length.
const HEADER_BYTES: usize = 40;
/// Bytes before the data in format 1: magic, index, term, data length.
const HEADER_BYTES_V1: usize = 32;
/// Bytes after the data: the CRC.
const CRC_BYTES: usize = 4;
/// Suffix of a file being written.
const TMP_SUFFIX: &str = ".tmp";
/// What the name of a file written ahead by a stager adds before [`TMP_SUFFIX`]:
/// `snap-…-….snap.staged-<n>.tmp`, with `n` unique in the process, so that two stagers never
/// write the same file (a node killed mid-write and its restarted self included).
const STAGED_INFIX: &str = ".staged-";
/// The next `n` of a staged file's name.
static NEXT_STAGED: AtomicU64 = AtomicU64::new(0);

/// The file name of the snapshot covering up to `meta.index` (whose entry has `meta.term`).
pub(crate) fn file_name(meta: SnapshotMeta) -> String {
    format!("snap-{:020}-{:020}.snap", meta.index, meta.term)
}

/// Parses a snapshot file name. `None`: not a snapshot name at all. `Some(Err)`: looks like
/// one (`snap-*.snap`) but is malformed (or names index 0, which no snapshot covers).
pub(crate) fn parse_file_name(name: &str) -> Option<Result<SnapshotMeta, ()>> {
    let middle = name.strip_prefix("snap-")?.strip_suffix(".snap")?;
    let number = |digits: &str| -> Result<u64, ()> {
        if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(());
        }
        digits.parse().map_err(|_| ())
    };
    let parsed = middle.split_once('-').ok_or(()).and_then(|(i, t)| {
        let meta = SnapshotMeta {
            index: number(i)?,
            term: number(t)?,
        };
        if meta.index == 0 {
            return Err(());
        }
        Ok(meta)
    });
    Some(parsed)
}

/// The bytes of a snapshot file.
pub(crate) fn encode(snapshot: &Snapshot) -> Vec<u8> {
    let data = &snapshot.data;
    let conf = snapshot.conf.as_ref().map(Configuration::encode);
    let conf = conf.as_deref().unwrap_or_default();
    let mut buf = Vec::with_capacity(HEADER_BYTES + conf.len() + data.len() + CRC_BYTES);
    buf.extend_from_slice(MAGIC);
    buf.extend_from_slice(&snapshot.meta.index.to_le_bytes());
    buf.extend_from_slice(&snapshot.meta.term.to_le_bytes());
    buf.extend_from_slice(&(data.len() as u64).to_le_bytes());
    buf.extend_from_slice(&(conf.len() as u64).to_le_bytes());
    buf.extend_from_slice(conf);
    buf.extend_from_slice(data);
    let crc = crc32c::crc32c(&buf);
    buf.extend_from_slice(&crc.to_le_bytes());
    buf
}

/// Reads the little-endian u64 at `at` (the caller has checked the length).
fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut b = [0u8; 8];
    if let Some(s) = bytes.get(at..at + 8) {
        b.copy_from_slice(s);
    }
    u64::from_le_bytes(b)
}

/// Checks the bytes of the file named after `named` and returns the snapshot, or what is wrong
/// with it (with the byte offset), for a warning.
pub(crate) fn decode(bytes: &[u8], named: SnapshotMeta) -> Result<Snapshot, String> {
    let v1 = bytes.get(..MAGIC.len()) == Some(MAGIC_V1.as_slice());
    let header = if v1 { HEADER_BYTES_V1 } else { HEADER_BYTES };
    if bytes.len() < header + CRC_BYTES {
        return Err(format!(
            "truncated: {} bytes, less than the {} of an empty snapshot, at byte 0",
            bytes.len(),
            header + CRC_BYTES
        ));
    }
    if !v1 && bytes.get(..MAGIC.len()) != Some(MAGIC.as_slice()) {
        return Err("bad magic at byte 0".into());
    }
    let len = u64_at(bytes, 24);
    let conf_len = if v1 { 0 } else { u64_at(bytes, 32) };
    let have = (bytes.len() - header - CRC_BYTES) as u64;
    if len.checked_add(conf_len) != Some(have) {
        return Err(format!(
            "data length {len} at byte 24 and configuration length {conf_len} at byte 32, but \
             the file holds {have} bytes after its header: truncated or extended"
        ));
    }
    let crc_at = bytes.len() - CRC_BYTES;
    let (body, crc) = bytes.split_at(crc_at);
    let mut stored = [0u8; 4];
    stored.copy_from_slice(crc);
    let stored = u32::from_le_bytes(stored);
    let computed = crc32c::crc32c(body);
    if stored != computed {
        return Err(format!(
            "bad CRC at byte {crc_at}: stored {stored:08x}, computed {computed:08x}"
        ));
    }
    let meta = SnapshotMeta {
        index: u64_at(bytes, 8),
        term: u64_at(bytes, 16),
    };
    if meta != named {
        return Err(format!(
            "its header at byte 8 says index {} term {}, its name index {} term {}",
            meta.index, meta.term, named.index, named.term
        ));
    }
    let data_at = header + conf_len as usize;
    let conf = if conf_len == 0 {
        None
    } else {
        let raw = body.get(header..data_at).unwrap_or_default();
        Some(Configuration::decode(raw).map_err(|e| format!("at byte {header}: {e}"))?)
    };
    Ok(Snapshot {
        meta,
        data: Bytes::copy_from_slice(body.get(data_at..).unwrap_or_default()),
        conf,
    })
}

/// A snapshot file found in the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Listed {
    /// What its name says it covers.
    pub(crate) meta: SnapshotMeta,
    /// Its file name.
    pub(crate) name: String,
}

/// What the snapshot directory holds.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    /// The snapshot files, newest (highest index, then term) first.
    pub(crate) files: Vec<Listed>,
    /// Names that look like snapshot files but are malformed: left alone.
    pub(crate) malformed: Vec<String>,
}

/// Lists the snapshot files of `dir` (the snapshot directory).
pub(crate) fn list(disk: &dyn Disk, dir: &Path) -> Result<Listing, StorageError> {
    let mut listing = Listing::default();
    let entries = match disk.list(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(listing),
        Err(e) => return Err(io_error("cannot list", dir, e)),
    };
    for name in entries {
        let Ok(name) = name.into_string() else {
            continue;
        };
        match parse_file_name(&name) {
            None => {}
            Some(Ok(meta)) => listing.files.push(Listed { meta, name }),
            Some(Err(())) => listing.malformed.push(name),
        }
    }
    listing
        .files
        .sort_unstable_by_key(|f| std::cmp::Reverse((f.meta.index, f.meta.term)));
    listing.malformed.sort_unstable();
    Ok(listing)
}

/// Reads and checks the snapshot file of `dir` named after `meta`; what is wrong otherwise.
pub(crate) fn read(disk: &dyn Disk, dir: &Path, meta: SnapshotMeta) -> Result<Snapshot, String> {
    let path = dir.join(file_name(meta));
    let bytes = disk.read(&path).map_err(|e| format!("unreadable: {e}"))?;
    decode(&bytes, meta)
}

/// Writes `snapshot` to its `.tmp` file in `dir` and, with `fsync`, syncs it; returns its path.
/// Not visible as a snapshot until [`install`]ed.
pub(crate) fn write_tmp(
    disk: &dyn Disk,
    dir: &Path,
    snapshot: &Snapshot,
    fsync: bool,
) -> Result<PathBuf, StorageError> {
    let tmp = dir.join(format!("{}{TMP_SUFFIX}", file_name(snapshot.meta)));
    write_file(disk, tmp, snapshot, fsync)
}

/// [`write_tmp`] under a name of its own (see [`STAGED_INFIX`]), which a retention pass leaves
/// alone: for a file written on another thread while its storage goes on.
pub(crate) fn write_staged(
    disk: &dyn Disk,
    dir: &Path,
    snapshot: &Snapshot,
    fsync: bool,
) -> Result<PathBuf, StorageError> {
    let n = NEXT_STAGED.fetch_add(1, Ordering::Relaxed);
    let name = format!("{}{STAGED_INFIX}{n}{TMP_SUFFIX}", file_name(snapshot.meta));
    write_file(disk, dir.join(name), snapshot, fsync)
}

fn write_file(
    disk: &dyn Disk,
    tmp: PathBuf,
    snapshot: &Snapshot,
    fsync: bool,
) -> Result<PathBuf, StorageError> {
    let result = disk
        .create(&tmp)
        .and_then(|mut file| {
            file.append(&encode(snapshot))?;
            if fsync {
                file.sync_all()?;
            }
            Ok(())
        })
        .map_err(|e| io_error("cannot write", &tmp, e));
    if result.is_err() {
        // Best effort: a leftover is deleted by the next recovery anyway.
        let _ = disk.remove(&tmp);
    }
    result.map(|()| tmp)
}

/// Renames the `.tmp` file written by [`write_tmp`] to the snapshot's name and, with `fsync`,
/// syncs the directory: from here on the snapshot survives a crash.
pub(crate) fn install(
    disk: &dyn Disk,
    dir: &Path,
    tmp: &Path,
    meta: SnapshotMeta,
    fsync: bool,
) -> Result<(), StorageError> {
    let path = dir.join(file_name(meta));
    disk.rename(tmp, &path)
        .map_err(|e| io_error("cannot rename over", &path, e))?;
    if fsync {
        sync_dir(disk, dir)?;
    }
    Ok(())
}

/// Deletes, in `dir`, every `.tmp` file (but the staged ones, which their stagers may still be
/// writing) and every snapshot file whose name is not in `keep`; returns the names deleted.
/// With `fsync`, syncs the directory if anything was deleted.
pub(crate) fn retain(
    disk: &dyn Disk,
    dir: &Path,
    keep: &[String],
    fsync: bool,
) -> Result<Vec<String>, StorageError> {
    let doomed = not_kept(disk, dir, keep)?;
    remove(disk, dir, &doomed, fsync)?;
    Ok(doomed)
}

/// The files [`retain`] deletes, sorted by name.
pub(crate) fn not_kept(
    disk: &dyn Disk,
    dir: &Path,
    keep: &[String],
) -> Result<Vec<String>, StorageError> {
    let entries = disk
        .list(dir)
        .map_err(|e| io_error("cannot list", dir, e))?;
    let mut doomed = Vec::new();
    for name in entries {
        let Ok(name) = name.into_string() else {
            continue;
        };
        let stray_tmp = name.ends_with(TMP_SUFFIX) && !name.contains(STAGED_INFIX);
        let old = matches!(parse_file_name(&name), Some(Ok(_))) && !keep.contains(&name);
        if stray_tmp || old {
            doomed.push(name);
        }
    }
    doomed.sort_unstable();
    Ok(doomed)
}

/// Deletes the named files of `dir` (a missing one is not an error); with `fsync`, syncs the
/// directory if there were any.
pub(crate) fn remove(
    disk: &dyn Disk,
    dir: &Path,
    names: &[String],
    fsync: bool,
) -> Result<(), StorageError> {
    for name in names {
        let path = dir.join(name);
        match disk.remove(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(io_error("cannot delete", &path, e)),
        }
    }
    if fsync && !names.is_empty() {
        sync_dir(disk, dir)?;
    }
    Ok(())
}

/// Deletes every `.tmp` file of `dir`, staged ones included (what a crash during [`write_tmp`]
/// or [`write_staged`] leaves).
pub(crate) fn remove_tmp(
    disk: &dyn Disk,
    dir: &Path,
    fsync: bool,
) -> Result<Vec<String>, StorageError> {
    let entries = disk
        .list(dir)
        .map_err(|e| io_error("cannot list", dir, e))?;
    let mut doomed = Vec::new();
    for name in entries {
        if let Ok(name) = name.into_string() {
            if name.ends_with(TMP_SUFFIX) {
                doomed.push(name);
            }
        }
    }
    remove(disk, dir, &doomed, fsync)?;
    Ok(doomed)
}

/// Index and term of a listed snapshot, for messages: `snap-…-….snap (index 12, term 3)`.
pub(crate) fn describe(meta: SnapshotMeta) -> String {
    format!(
        "{} (index {}, term {})",
        file_name(meta),
        meta.index,
        meta.term
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::{Index, Term};
    use std::fs;

    fn snap(index: Index, term: Term, data: &'static [u8]) -> Snapshot {
        Snapshot {
            meta: SnapshotMeta { index, term },
            data: Bytes::from_static(data),
            conf: None,
        }
    }

    #[test]
    fn names_sort_as_indexes_and_parse_back() {
        let meta = SnapshotMeta { index: 42, term: 7 };
        let name = file_name(meta);
        assert_eq!(name, "snap-00000000000000000042-00000000000000000007.snap");
        assert_eq!(parse_file_name(&name), Some(Ok(meta)));
        assert!(file_name(SnapshotMeta { index: 9, term: 99 }) < name);
        assert_eq!(parse_file_name("wal-00000000000000000001.log"), None);
        assert_eq!(parse_file_name(&format!("{name}.tmp")), None);
        for bad in [
            "snap-42-7.snap",
            "snap-00000000000000000042.snap",
            "snap-0000000000000000004x-00000000000000000007.snap",
            "snap-00000000000000000000-00000000000000000007.snap",
            "snap-99999999999999999999-00000000000000000007.snap",
        ] {
            assert_eq!(parse_file_name(bad), Some(Err(())), "{bad}");
        }
    }

    #[test]
    fn the_format_round_trips_and_every_damage_is_described() {
        let s = snap(12, 3, b"the state machine");
        let bytes = encode(&s);
        assert_eq!(&bytes[..8], MAGIC);
        assert_eq!(bytes.len(), 40 + 17 + 4);
        assert_eq!(decode(&bytes, s.meta), Ok(s.clone()));
        let empty = snap(1, 1, b"");
        assert_eq!(decode(&encode(&empty), empty.meta), Ok(empty));

        let mut flipped = bytes.clone();
        flipped[48] ^= 1;
        let why = decode(&flipped, s.meta).expect_err("flipped");
        assert!(why.contains("bad CRC at byte 57"), "{why}");
        let why = decode(&bytes[..bytes.len() - 1], s.meta).expect_err("cut");
        assert!(why.contains("data length 17 at byte 24"), "{why}");
        let why = decode(&bytes[..20], s.meta).expect_err("short");
        assert!(why.contains("truncated"), "{why}");
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert!(decode(&magic, s.meta).expect_err("magic").contains("magic"));
        let why = decode(&bytes, SnapshotMeta { index: 12, term: 4 }).expect_err("name");
        assert!(why.contains("name index 12 term 4"), "{why}");
        // Every single flipped bit is caught.
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&damaged, s.meta).is_err(), "bit {bit}");
        }
    }

    #[test]
    fn the_configuration_is_kept_and_format_1_is_still_read() {
        let mut conf = Configuration::with_voters([1, 2, 3]);
        conf.learners.insert(5);
        let s = Snapshot {
            conf: Some(conf),
            ..snap(40, 2, b"kv")
        };
        let bytes = encode(&s);
        assert_eq!(decode(&bytes, s.meta), Ok(s.clone()));
        for bit in 0..bytes.len() * 8 {
            let mut damaged = bytes.clone();
            damaged[bit / 8] ^= 1 << (bit % 8);
            assert!(decode(&damaged, s.meta).is_err(), "bit {bit}");
        }
        // A format 1 file, as the previous version wrote it: no configuration.
        let mut v1 = Vec::new();
        v1.extend_from_slice(b"RLSNAP01");
        v1.extend_from_slice(&40u64.to_le_bytes());
        v1.extend_from_slice(&2u64.to_le_bytes());
        v1.extend_from_slice(&2u64.to_le_bytes());
        v1.extend_from_slice(b"kv");
        let crc = crc32c::crc32c(&v1);
        v1.extend_from_slice(&crc.to_le_bytes());
        assert_eq!(decode(&v1, s.meta), Ok(snap(40, 2, b"kv")));
    }

    #[test]
    fn write_install_list_and_retain() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        let disk = &crate::storage::RealDisk;
        let mut written = Vec::new();
        for (i, t) in [(5, 1), (20, 2), (9, 1)] {
            let s = snap(i, t, b"x");
            let path = write_tmp(disk, dir, &s, true).expect("write");
            assert!(list(disk, dir)
                .expect("list")
                .files
                .iter()
                .all(|f| f.meta != s.meta));
            install(disk, dir, &path, s.meta, true).expect("install");
            written.push(s);
        }
        fs::write(dir.join("snap-1.snap"), b"?").expect("write");
        fs::write(dir.join("snap-x.snap.tmp"), b"?").expect("write");
        let listing = list(disk, dir).expect("list");
        let indexes: Vec<Index> = listing.files.iter().map(|f| f.meta.index).collect();
        assert_eq!(indexes, vec![20, 9, 5], "newest first");
        assert_eq!(listing.malformed, vec!["snap-1.snap".to_string()]);
        assert_eq!(read(disk, dir, written[1].meta), Ok(written[1].clone()));
        assert!(read(disk, dir, SnapshotMeta { index: 7, term: 1 })
            .expect_err("missing")
            .contains("unreadable"));
        let keep = [file_name(written[1].meta), file_name(written[2].meta)];
        let deleted = retain(disk, dir, &keep, true).expect("retain");
        assert_eq!(
            deleted,
            vec![file_name(written[0].meta), "snap-x.snap.tmp".to_string()]
        );
        let left: Vec<Index> = list(disk, dir)
            .expect("list")
            .files
            .iter()
            .map(|f| f.meta.index)
            .collect();
        assert_eq!(left, vec![20, 9]);
        assert!(
            dir.join("snap-1.snap").exists(),
            "malformed names are left alone"
        );
    }
}
