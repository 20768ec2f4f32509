//! The file operations storage uses, behind a trait: [`Disk`] and its open files, [`DiskFile`].
//!
//! The WAL, the hard-state file and the snapshot files do all their I/O through a `Disk`, so that
//! a test (and, later, the simulator and the live cluster's `:disk` faults) can put a disk that
//! lies under them: the [`FaultyDisk`](super::FaultyDisk), which loses what was not synced on a
//! power cut. [`RealDisk`] is `std::fs`, one call each: the default path pays one virtual call
//! per operation, nothing else.
//!
//! ```text
//!   DiskStorage ─► Wal, hard_state, snapshot, purger ─► Arc<dyn Disk> ─┬─► RealDisk (std::fs)
//!                                                                      └─► FaultyDisk (memory)
//! ```
//!
//! Only what storage calls is here: create a directory, list one, read a file (whole or a slice),
//! create or open a file and write at its end, sync it, truncate it, rename, remove, and sync a
//! directory (which makes its creations, renames and removals durable).

use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// The file operations of storage. Errors are the operating system's (`NotFound` where a caller
/// tolerates a missing file).
pub trait Disk: Send + Sync + fmt::Debug {
    /// Creates `dir` and its missing parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// The names of the entries (files and directories) of `dir`, in no particular order.
    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>>;
    /// The whole content of the file `path`.
    fn read(&self, path: &Path) -> io::Result<Vec<u8>>;
    /// Fills `buf` from the file `path` at byte `offset` (an error if the file is shorter).
    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Creates the file `path`, empty (replacing its content if it exists), open for writing.
    fn create(&self, path: &Path) -> io::Result<Box<dyn DiskFile>>;
    /// Creates the file `path`, which must not exist, open for writing.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn DiskFile>>;
    /// Opens the existing file `path` for writing at its end.
    fn open(&self, path: &Path) -> io::Result<Box<dyn DiskFile>>;
    /// Renames `from` to `to` (replacing `to`), atomically.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Removes the file `path`.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Makes the entries of directory `dir` durable: files created, renamed or removed in it.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// A file open for writing, through a [`Disk`]. Every write goes to the end of the file.
pub trait DiskFile: Send + fmt::Debug {
    /// Appends all of `buf`.
    fn append(&mut self, buf: &[u8]) -> io::Result<()>;
    /// Makes the content durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
    /// Makes the content and the metadata durable (`fsync`).
    fn sync_all(&mut self) -> io::Result<()>;
    /// Cuts the file to `len` bytes; later appends go after them.
    fn truncate(&mut self, len: u64) -> io::Result<()>;
}

/// The real file system: `std::fs`.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealDisk;

/// A file of the [`RealDisk`].
#[derive(Debug)]
struct RealFile(File);

impl Disk for RealDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        fs::create_dir_all(dir)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.file_name()))
            .collect()
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        fs::read(path)
    }

    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let mut file = File::open(path)?;
        file.seek(SeekFrom::Start(offset))?;
        file.read_exact(buf)
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn DiskFile>> {
        Ok(Box::new(RealFile(File::create(path)?)))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn DiskFile>> {
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(path)?;
        Ok(Box::new(RealFile(file)))
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn DiskFile>> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Box::new(RealFile(file)))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        fs::remove_file(path)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        #[cfg(unix)]
        File::open(dir)?.sync_all()?;
        #[cfg(not(unix))]
        let _ = dir;
        Ok(())
    }
}

impl DiskFile for RealFile {
    fn append(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.write_all(buf)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.0.sync_all()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.0.set_len(len)?;
        // A handle from `create` is not in append mode: its position stays where it was.
        self.0.seek(SeekFrom::End(0)).map(drop)
    }
}
