//! A disk in memory that lies as real disks do: it keeps, for every file and directory, what is
//! durable and what is only written, and a [power cut](FaultyDisk::power_cut) keeps only the
//! durable part. It can also flip a bit, fail the next fsync or write with EIO, and run out of
//! space (ENOSPC). For tests of storage, and later the simulator and the live cluster.
//!
//! The model is that of a POSIX file system after a machine crash:
//!
//! ```text
//!   directory  /n1:   entries  {hardstate → #3, wal-…1.log → #4, snapshots/}   what a list shows
//!                     durable  {hardstate → #2, snapshots/}                     as of its last sync_dir
//!   file #4:          data     [rec 1][rec 2][rec 3]                            what a read shows
//!                     durable  [rec 1]                                          as of its last sync
//!
//!   power_cut():  every directory's entries := its durable entries (creations, renames and
//!                 removals not followed by a sync of the directory are undone; a directory whose
//!                 own entry was lost goes, with what it held), and every file's data := its
//!                 durable data + a prefix of what was appended after it: none, all, or torn at a
//!                 seeded random byte. An unsynced truncation is undone.
//! ```
//!
//! A power cut also ends the "process": the handles and the `FaultyDisk` clones made before it
//! fail every operation afterwards (as a dead process does nothing), except the `FaultyDisk` the
//! cut was made on, which then shows the disk as the machine finds it when it boots again.
//!
//! A directory whose parent this disk does not know (the topmost one a `create_dir_all` made) is
//! durable by fiat: it stands for a mount point. Give storage a relative path (`n1`) and the node
//! directory is that mount point; an absolute one (`/n1`) makes `/` the mount point, and `/n1`
//! itself is lost on a power cut unless `/` was synced.
//!
//! Faults beside the power cut: [`FaultyDisk::flip_bit`] damages stored data (durable and not);
//! [`FaultyDisk::fail_next_fsync`] and [`FaultyDisk::fail_next_write`] answer the next file or
//! directory sync, or the next write, with EIO (the sync makes nothing durable, the write writes
//! nothing); [`FaultyDisk::set_capacity`] refuses, with ENOSPC and writing nothing, a write that
//! would take the bytes held by the files in its directories past a limit.
//!
//! What it does not model (yet): a failed fsync that marks its pages clean so that a later fsync
//! "succeeds" without writing them (the fsyncgate lesson: storage must not retry, and does not);
//! lost or misdirected writes; reordering within one unsynced append beyond a torn tail.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use super::disk::{Disk, DiskFile};

/// What a power cut keeps of the bytes appended to a file after its last sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unsynced {
    /// Nothing.
    Lost,
    /// All of them (the page cache happened to be written back).
    Kept,
    /// A prefix of seeded random length, from none to all: a torn write.
    Torn,
}

/// An in-memory disk with durability and faults: see the [module documentation](self).
///
/// Clones share the disk; a clone made before a power cut is dead after it.
#[derive(Clone)]
pub struct FaultyDisk {
    state: Arc<Mutex<State>>,
    /// The power-cut count this handle belongs to.
    generation: u64,
}

impl fmt::Debug for FaultyDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyDisk")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Node {
    File(u64),
    Dir,
}

#[derive(Debug, Default)]
struct Dir {
    /// The mount point: survives every power cut.
    root: bool,
    entries: BTreeMap<OsString, Node>,
    durable: BTreeMap<OsString, Node>,
}

#[derive(Debug, Default)]
struct Inode {
    data: Vec<u8>,
    durable: Vec<u8>,
}

#[derive(Debug)]
struct State {
    generation: u64,
    rng: u64,
    dirs: BTreeMap<PathBuf, Dir>,
    inodes: HashMap<u64, Inode>,
    next_inode: u64,
    fail_fsyncs: u32,
    fail_writes: u32,
    capacity: Option<u64>,
    /// Successful syncs of files and directories, for tests.
    syncs: u64,
    /// Syncs that may still succeed before the machine goes down ([`FaultyDisk::crash_after_syncs`]).
    syncs_left: Option<u64>,
    /// The machine is going down: every operation fails until the power cut.
    down: bool,
}

fn eio(what: &str) -> io::Error {
    io::Error::other(format!("Input/output error (EIO, injected on {what})"))
}

fn not_found(path: &Path) -> io::Error {
    io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no such file or directory", path.display()),
    )
}

fn dead() -> io::Error {
    io::Error::other("the power was cut: this handle belongs to a process that no longer runs")
}

/// The parent directory and the name of `path`.
fn split(path: &Path) -> io::Result<(&Path, OsString)> {
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => Ok((parent, name.to_os_string())),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{}: not a file path", path.display()),
        )),
    }
}

impl State {
    fn next_random(&mut self) -> u64 {
        // splitmix64
        self.rng = self.rng.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn dir(&self, dir: &Path) -> io::Result<&Dir> {
        self.dirs.get(dir).ok_or_else(|| not_found(dir))
    }

    fn dir_mut(&mut self, dir: &Path) -> io::Result<&mut Dir> {
        self.dirs.get_mut(dir).ok_or_else(|| not_found(dir))
    }

    /// The inode of the file `path`.
    fn file(&self, path: &Path) -> io::Result<u64> {
        let (parent, name) = split(path)?;
        match self.dir(parent)?.entries.get(&name) {
            Some(Node::File(inode)) => Ok(*inode),
            Some(Node::Dir) => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{}: is a directory", path.display()),
            )),
            None => Err(not_found(path)),
        }
    }

    fn inode(&self, inode: u64) -> io::Result<&Inode> {
        self.inodes
            .get(&inode)
            .ok_or_else(|| io::Error::other("stale file"))
    }

    fn inode_mut(&mut self, inode: u64) -> io::Result<&mut Inode> {
        self.inodes
            .get_mut(&inode)
            .ok_or_else(|| io::Error::other("stale file"))
    }

    /// Creates the file `path`: a new empty inode, or (unless `new_only`) the existing one
    /// emptied.
    fn create(&mut self, path: &Path, new_only: bool) -> io::Result<u64> {
        let (parent, name) = split(path)?;
        match self.dir(parent)?.entries.get(&name).copied() {
            Some(Node::File(_)) if new_only => Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{}: exists", path.display()),
            )),
            Some(Node::File(inode)) => {
                self.inode_mut(inode)?.data.clear();
                Ok(inode)
            }
            Some(Node::Dir) => Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{}: is a directory", path.display()),
            )),
            None => {
                let inode = self.next_inode;
                self.next_inode += 1;
                self.inodes.insert(inode, Inode::default());
                self.dir_mut(parent)?
                    .entries
                    .insert(name, Node::File(inode));
                Ok(inode)
            }
        }
    }

    /// Bytes held by the files the directories list now.
    fn used(&self) -> u64 {
        self.dirs
            .values()
            .flat_map(|d| d.entries.values())
            .filter_map(|n| match n {
                Node::File(inode) => self.inodes.get(inode),
                Node::Dir => None,
            })
            .map(|i| i.data.len() as u64)
            .sum()
    }

    fn sync(&mut self, what: &str) -> io::Result<()> {
        match self.syncs_left {
            Some(0) => {
                self.down = true;
                return Err(eio(what));
            }
            Some(n) => self.syncs_left = Some(n - 1),
            None => {}
        }
        if self.fail_fsyncs > 0 {
            self.fail_fsyncs -= 1;
            return Err(eio(what));
        }
        self.syncs += 1;
        Ok(())
    }

    fn power_cut(&mut self, unsynced: Unsynced) {
        self.generation += 1;
        self.down = false;
        self.syncs_left = None;
        for dir in self.dirs.values_mut() {
            dir.entries = dir.durable.clone();
        }
        // Directories whose own entry was lost go, with what they held.
        let paths: Vec<PathBuf> = self.dirs.keys().cloned().collect();
        for path in paths {
            // Parents sort before their children: their fate is known.
            let alive = match self.dirs.get(&path) {
                Some(d) if d.root => true,
                _ => match split(&path) {
                    Ok((parent, name)) => self
                        .dirs
                        .get(parent)
                        .is_some_and(|p| p.entries.get(&name) == Some(&Node::Dir)),
                    Err(_) => false,
                },
            };
            if !alive {
                self.dirs.remove(&path);
            }
        }
        let live: std::collections::HashSet<u64> = self
            .dirs
            .values()
            .flat_map(|d| d.entries.values())
            .filter_map(|n| match n {
                Node::File(inode) => Some(*inode),
                Node::Dir => None,
            })
            .collect();
        self.inodes.retain(|inode, _| live.contains(inode));
        let mut inodes: Vec<u64> = self.inodes.keys().copied().collect();
        inodes.sort_unstable();
        for inode in inodes {
            let random = self.next_random();
            let Some(file) = self.inodes.get_mut(&inode) else {
                continue;
            };
            let extra = if file.data.starts_with(&file.durable) {
                file.data.len() - file.durable.len()
            } else {
                0
            };
            let keep = match unsynced {
                Unsynced::Lost => 0,
                Unsynced::Kept => extra,
                Unsynced::Torn => (random % (extra as u64 + 1)) as usize,
            };
            let mut data = file.durable.clone();
            if keep > 0 {
                let from = file.durable.len();
                data.extend_from_slice(file.data.get(from..from + keep).unwrap_or_default());
            }
            file.durable = data.clone();
            file.data = data;
        }
    }
}

impl FaultyDisk {
    /// An empty disk; `seed` decides where power cuts tear writes.
    pub fn new(seed: u64) -> FaultyDisk {
        FaultyDisk {
            state: Arc::new(Mutex::new(State {
                generation: 0,
                rng: seed,
                dirs: BTreeMap::new(),
                inodes: HashMap::new(),
                next_inode: 1,
                fail_fsyncs: 0,
                fail_writes: 0,
                capacity: None,
                syncs: 0,
                syncs_left: None,
                down: false,
            })),
            generation: 0,
        }
    }

    /// The state, if this handle is from the current power-cut generation.
    fn live(&self) -> io::Result<MutexGuard<'_, State>> {
        let state = self.lock();
        if state.generation != self.generation {
            return Err(dead());
        }
        if state.down {
            return Err(eio("a machine going down"));
        }
        Ok(state)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Cuts the power: keeps only what was durable, and of each file's unsynced appends a torn
    /// prefix (seeded). Every clone and handle made before is dead afterwards; this one shows
    /// the disk as it boots.
    pub fn power_cut(&mut self) {
        self.power_cut_keeping(Unsynced::Torn);
    }

    /// [`FaultyDisk::power_cut`], choosing what is kept of unsynced appends.
    pub fn power_cut_keeping(&mut self, unsynced: Unsynced) {
        let generation = {
            let mut state = self.lock();
            state.power_cut(unsynced);
            state.generation
        };
        self.generation = generation;
    }

    /// Flips the lowest bit of byte `offset` of the file `path`, in what is written and in what
    /// is durable: damage on the medium.
    pub fn flip_bit(&self, path: &Path, offset: u64) -> io::Result<()> {
        let mut state = self.live()?;
        let inode = state.file(path)?;
        let file = state.inode_mut(inode)?;
        let at = usize::try_from(offset).unwrap_or(usize::MAX);
        let Some(byte) = file.data.get_mut(at) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: no byte at offset {offset}", path.display()),
            ));
        };
        *byte ^= 1;
        if let Some(byte) = file.durable.get_mut(at) {
            *byte ^= 1;
        }
        Ok(())
    }

    /// The next sync (of a file or a directory) fails with EIO and makes nothing durable.
    pub fn fail_next_fsync(&self) {
        self.lock().fail_fsyncs += 1;
    }

    /// The next write fails with EIO and writes nothing.
    pub fn fail_next_write(&self) {
        self.lock().fail_writes += 1;
    }

    /// Limits the bytes the files may hold (`None`: no limit); a write past it fails with ENOSPC
    /// and writes nothing.
    pub fn set_capacity(&self, bytes: Option<u64>) {
        self.lock().capacity = bytes;
    }

    /// The machine goes down after `n` more successful syncs: the next one fails with EIO, and
    /// so does every operation after it until [`FaultyDisk::power_cut`]. A test enumerates the
    /// crash points of an operation with `n = 0, 1, 2, ...`.
    pub fn crash_after_syncs(&self, n: u64) {
        self.lock().syncs_left = Some(n);
    }

    /// Successful syncs (files and directories) so far.
    pub fn syncs(&self) -> u64 {
        self.lock().syncs
    }
}

impl Disk for FaultyDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        let mut missing: Vec<&Path> = dir
            .ancestors()
            .filter(|a| !a.as_os_str().is_empty())
            .take_while(|a| !state.dirs.contains_key(*a))
            .collect();
        missing.reverse();
        for path in missing {
            let root = match split(path) {
                Ok((parent, name)) => match state.dirs.get_mut(parent) {
                    Some(p) => {
                        if let Some(Node::File(_)) = p.entries.get(&name) {
                            return Err(io::Error::new(
                                io::ErrorKind::AlreadyExists,
                                format!("{}: a file", path.display()),
                            ));
                        }
                        p.entries.insert(name, Node::Dir);
                        false
                    }
                    None => true,
                },
                Err(_) => true,
            };
            state.dirs.insert(
                path.to_path_buf(),
                Dir {
                    root,
                    ..Dir::default()
                },
            );
        }
        Ok(())
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<OsString>> {
        let state = self.live()?;
        Ok(state.dir(dir)?.entries.keys().cloned().collect())
    }

    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let state = self.live()?;
        let inode = state.file(path)?;
        Ok(state.inode(inode)?.data.clone())
    }

    fn read_at(&self, path: &Path, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let state = self.live()?;
        let inode = state.file(path)?;
        let data = &state.inode(inode)?.data;
        let from = usize::try_from(offset).unwrap_or(usize::MAX);
        let bytes = from
            .checked_add(buf.len())
            .and_then(|to| data.get(from..to))
            .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "short file"))?;
        buf.copy_from_slice(bytes);
        Ok(())
    }

    fn create(&self, path: &Path) -> io::Result<Box<dyn DiskFile>> {
        let inode = self.live()?.create(path, false)?;
        Ok(Box::new(FaultyFile {
            disk: self.clone(),
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn DiskFile>> {
        let inode = self.live()?.create(path, true)?;
        Ok(Box::new(FaultyFile {
            disk: self.clone(),
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn open(&self, path: &Path) -> io::Result<Box<dyn DiskFile>> {
        let inode = self.live()?.file(path)?;
        Ok(Box::new(FaultyFile {
            disk: self.clone(),
            inode,
            path: path.to_path_buf(),
        }))
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        let inode = state.file(from)?;
        let (to_parent, to_name) = split(to)?;
        if let Some(Node::Dir) = state.dir(to_parent)?.entries.get(&to_name) {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                format!("{}: is a directory", to.display()),
            ));
        }
        let (from_parent, from_name) = split(from)?;
        state.dir_mut(from_parent)?.entries.remove(&from_name);
        state
            .dir_mut(to_parent)?
            .entries
            .insert(to_name, Node::File(inode));
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        state.file(path)?;
        let (parent, name) = split(path)?;
        state.dir_mut(parent)?.entries.remove(&name);
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.live()?;
        state.dir(dir)?;
        state.sync(&format!("sync of directory {}", dir.display()))?;
        let d = state.dir_mut(dir)?;
        d.durable = d.entries.clone();
        Ok(())
    }
}

/// A file open on a [`FaultyDisk`].
#[derive(Debug)]
struct FaultyFile {
    disk: FaultyDisk,
    inode: u64,
    /// For messages.
    path: PathBuf,
}

impl FaultyFile {
    fn sync(&mut self) -> io::Result<()> {
        let mut state = self.disk.live()?;
        state.inode(self.inode)?;
        state.sync(&format!("sync of {}", self.path.display()))?;
        let file = state.inode_mut(self.inode)?;
        file.durable = file.data.clone();
        Ok(())
    }
}

impl DiskFile for FaultyFile {
    fn append(&mut self, buf: &[u8]) -> io::Result<()> {
        let mut state = self.disk.live()?;
        state.inode(self.inode)?;
        if state.fail_writes > 0 {
            state.fail_writes -= 1;
            return Err(eio(&format!("write to {}", self.path.display())));
        }
        if let Some(capacity) = state.capacity {
            if state.used().saturating_add(buf.len() as u64) > capacity {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    format!(
                        "No space left on device (ENOSPC, injected: capacity {capacity} bytes)"
                    ),
                ));
            }
        }
        state.inode_mut(self.inode)?.data.extend_from_slice(buf);
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        self.sync()
    }

    fn sync_all(&mut self) -> io::Result<()> {
        self.sync()
    }

    fn truncate(&mut self, len: u64) -> io::Result<()> {
        let mut state = self.disk.live()?;
        let file = state.inode_mut(self.inode)?;
        file.data
            .resize(usize::try_from(len).unwrap_or(usize::MAX), 0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PathBuf {
        PathBuf::from(s)
    }

    fn names(disk: &FaultyDisk, dir: &str) -> Vec<String> {
        disk.list(&p(dir))
            .expect("list")
            .into_iter()
            .map(|n| n.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn a_power_cut_keeps_only_what_was_synced() {
        let mut disk = FaultyDisk::new(1);
        disk.create_dir_all(&p("n/sub")).expect("mkdir");
        disk.sync_dir(&p("n")).expect("sync");
        let mut a = disk.create(&p("n/a")).expect("create");
        a.append(b"durable").expect("write");
        a.sync_data().expect("sync");
        disk.sync_dir(&p("n")).expect("sync");
        a.append(b" lost").expect("write");
        let mut b = disk.create(&p("n/b")).expect("create");
        b.append(b"synced, but its entry is not").expect("write");
        b.sync_all().expect("sync");
        disk.create(&p("n/sub/c")).expect("create");
        disk.power_cut_keeping(Unsynced::Lost);
        assert_eq!(names(&disk, "n"), ["a", "sub"]);
        assert_eq!(disk.read(&p("n/a")).expect("read"), b"durable");
        assert!(names(&disk, "n/sub").is_empty());
        assert!(
            a.append(b"x").is_err(),
            "a handle from before the cut is dead"
        );
    }

    #[test]
    fn renames_and_removals_are_undone_without_a_directory_sync() {
        let mut disk = FaultyDisk::new(2);
        disk.create_dir_all(&p("n")).expect("mkdir");
        for name in ["old", "doomed"] {
            let mut f = disk.create(&p(&format!("n/{name}"))).expect("create");
            f.append(name.as_bytes()).expect("write");
            f.sync_all().expect("sync");
        }
        disk.sync_dir(&p("n")).expect("sync");
        let mut f = disk.create(&p("n/new.tmp")).expect("create");
        f.append(b"new").expect("write");
        f.sync_all().expect("sync");
        disk.rename(&p("n/new.tmp"), &p("n/old")).expect("rename");
        disk.remove(&p("n/doomed")).expect("remove");
        assert_eq!(disk.read(&p("n/old")).expect("read"), b"new");
        disk.power_cut();
        assert_eq!(names(&disk, "n"), ["doomed", "old"]);
        assert_eq!(disk.read(&p("n/old")).expect("read"), b"old");
    }

    #[test]
    fn torn_appends_keep_a_prefix_and_vary_with_the_seed() {
        let mut kept = std::collections::BTreeSet::new();
        for seed in 0..40 {
            let mut disk = FaultyDisk::new(seed);
            disk.create_dir_all(&p("n")).expect("mkdir");
            let mut f = disk.create(&p("n/f")).expect("create");
            f.append(b"0123").expect("write");
            f.sync_data().expect("sync");
            disk.sync_dir(&p("n")).expect("sync");
            f.append(b"456789").expect("write");
            disk.power_cut();
            let data = disk.read(&p("n/f")).expect("read");
            assert!(
                b"0123456789".starts_with(&data) && data.len() >= 4,
                "{data:?}"
            );
            kept.insert(data.len());
        }
        assert!(kept.len() > 3, "tears at several bytes: {kept:?}");
    }

    #[test]
    fn injected_faults() {
        let disk = FaultyDisk::new(3);
        disk.create_dir_all(&p("n")).expect("mkdir");
        let mut f = disk.create(&p("n/f")).expect("create");
        disk.fail_next_write();
        assert!(f.append(b"x").is_err());
        f.append(b"ab").expect("the fault was for one write");
        disk.fail_next_fsync();
        let e = f.sync_data().expect_err("EIO");
        assert!(e.to_string().contains("EIO"), "{e}");
        f.sync_data().expect("one fault");
        disk.set_capacity(Some(3));
        let e = f.append(b"cd").expect_err("ENOSPC");
        assert_eq!(e.kind(), io::ErrorKind::StorageFull);
        assert_eq!(
            disk.read(&p("n/f")).expect("read"),
            b"ab",
            "nothing written"
        );
        disk.set_capacity(None);
        f.append(b"cd").expect("space is back");
        disk.flip_bit(&p("n/f"), 1).expect("flip");
        assert_eq!(disk.read(&p("n/f")).expect("read"), b"accd");
    }
}
