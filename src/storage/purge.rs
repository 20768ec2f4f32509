//! The purger: deletes files a snapshot made useless — the log segments the previous snapshot
//! covers, old snapshot files — on a thread of its own, so that the node's task does not wait
//! for a directory sync per file.
//!
//! Files are deleted in the order they are queued, one at a time, each followed (with fsync) by
//! a sync of its directory: the same order and the same syncs as deleting them on the spot, so
//! a crash leaves the same states (a prefix of the deletions done). After a failure the purger
//! deletes nothing more (a later deletion could leave a gap in the log) and the storage reports
//! the error at its next write. The storage waits for the queue to empty before it deletes log
//! segments itself ([`Purger::flush`]), and when it is dropped.
//!
//! ```text
//!   save_snapshot (node's task) ── paths, oldest first ──► purger thread: unlink, sync dir, ...
//!   persist / save_snapshot ◄── the first failure, if any ──┘
//! ```

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use super::{io_error, sync_dir, Disk};
use crate::raft::StorageError;

/// What the purger is asked to do.
enum Job {
    /// Delete these files, in order.
    Delete(Vec<PathBuf>),
    /// Answer once every job before this one is done.
    Flush(mpsc::Sender<()>),
}

/// A thread deleting files in the background; see the [module documentation](self).
#[derive(Debug)]
pub(crate) struct Purger {
    jobs: Option<mpsc::Sender<Job>>,
    thread: Option<JoinHandle<()>>,
    /// The first deletion that failed.
    failed: Arc<Mutex<Option<String>>>,
}

impl Purger {
    /// Starts the thread; `fsync`: sync each file's directory after deleting it.
    pub(crate) fn start(disk: Arc<dyn Disk>, fsync: bool) -> Result<Purger, StorageError> {
        let (jobs, inbox) = mpsc::channel::<Job>();
        let failed = Arc::new(Mutex::new(None));
        let failure = Arc::clone(&failed);
        let thread = std::thread::Builder::new()
            .name("raftlab-purger".into())
            .spawn(move || {
                for job in inbox {
                    match job {
                        Job::Delete(paths) => {
                            // Only this thread sets it: no lock is held while deleting.
                            if failure.lock().unwrap_or_else(|p| p.into_inner()).is_some() {
                                continue;
                            }
                            if let Err(e) = delete_all(&*disk, &paths, fsync) {
                                tracing::error!("purging old files: {e}");
                                *failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e.0);
                            }
                        }
                        Job::Flush(done) => {
                            let _ = done.send(());
                        }
                    }
                }
            })
            .map_err(|e| StorageError(format!("cannot start the purger thread: {e}")))?;
        Ok(Purger {
            jobs: Some(jobs),
            thread: Some(thread),
            failed,
        })
    }

    /// Queues `paths` for deletion, in this order.
    pub(crate) fn delete(&self, paths: Vec<PathBuf>) -> Result<(), StorageError> {
        self.check()?;
        if paths.is_empty() {
            return Ok(());
        }
        self.send(Job::Delete(paths))
    }

    /// Waits until every deletion queued so far is done; the first failure, if any.
    pub(crate) fn flush(&self) -> Result<(), StorageError> {
        let (done, wait) = mpsc::channel();
        self.send(Job::Flush(done))?;
        wait.recv()
            .map_err(|_| StorageError("the purger thread is gone".into()))?;
        self.check()
    }

    /// The first failed deletion, as an error.
    pub(crate) fn check(&self) -> Result<(), StorageError> {
        match &*self.failed.lock().unwrap_or_else(|p| p.into_inner()) {
            Some(e) => Err(StorageError(format!("deleting old files failed: {e}"))),
            None => Ok(()),
        }
    }

    fn send(&self, job: Job) -> Result<(), StorageError> {
        self.jobs
            .as_ref()
            .and_then(|jobs| jobs.send(job).ok())
            .ok_or_else(|| StorageError("the purger thread is gone".into()))
    }
}

impl Drop for Purger {
    /// Finishes the queue: whoever opens the directory next finds every deletion done.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Deletes `paths` in order (a missing one is not an error), each followed by a sync of its
/// directory with `fsync`; stops at the first failure.
fn delete_all(disk: &dyn Disk, paths: &[PathBuf], fsync: bool) -> Result<(), StorageError> {
    for path in paths {
        match disk.remove(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error("cannot delete", path, e)),
        }
        if fsync {
            if let Some(dir) = path.parent() {
                sync_dir(disk, dir)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deletes_what_it_is_given_and_flush_waits_for_it() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let paths: Vec<PathBuf> = (0..5).map(|i| tmp.path().join(format!("f{i}"))).collect();
        for p in &paths {
            std::fs::write(p, b"x").expect("write");
        }
        let purger = Purger::start(Arc::new(super::super::RealDisk), true).expect("start");
        purger.delete(paths[..3].to_vec()).expect("queue");
        purger
            .delete(vec![tmp.path().join("never-existed")])
            .expect("queue");
        purger.flush().expect("flush");
        let left: Vec<bool> = paths.iter().map(|p| p.exists()).collect();
        assert_eq!(left, [false, false, false, true, true]);
        purger.delete(paths[3..].to_vec()).expect("queue");
        drop(purger);
        assert!(paths.iter().all(|p| !p.exists()), "drop finishes the queue");
    }

    #[test]
    fn after_a_failure_nothing_more_is_deleted_and_the_error_is_reported() {
        let tmp = tempfile::tempdir().expect("tempdir");
        // A non-empty directory cannot be removed as a file.
        let blocker = tmp.path().join("dir");
        std::fs::create_dir(&blocker).expect("mkdir");
        std::fs::write(blocker.join("inside"), b"x").expect("write");
        let later = tmp.path().join("later");
        std::fs::write(&later, b"x").expect("write");
        let purger = Purger::start(Arc::new(super::super::RealDisk), false).expect("start");
        purger.delete(vec![blocker.clone()]).expect("queue");
        let err = purger.flush().expect_err("failed");
        assert!(err.0.contains("cannot delete"), "{err}");
        assert!(purger.delete(vec![later.clone()]).is_err(), "refused");
        drop(purger);
        assert!(later.exists(), "nothing deleted after the failure");
    }
}
