//! Recovery of a WAL segment made of arbitrary bytes must never panic: it either recovers a log
//! (which then reads back and accepts an append) or reports an error.
//!
//! Run with `cargo +nightly fuzz run wal_recover` from the repository root.
#![no_main]

use libfuzzer_sys::fuzz_target;
use raftlab::raft::{Entry, Storage};
use raftlab::storage::{DiskOptions, DiskStorage, FsyncPolicy};

fuzz_target!(|data: &[u8]| {
    let Ok(dir) = tempfile::tempdir() else { return };
    if std::fs::write(dir.path().join("wal-00000000000000000001.log"), data).is_err() {
        return;
    }
    let options = DiskOptions {
        fsync: FsyncPolicy::Never,
        ..DiskOptions::default()
    };
    if let Ok(mut storage) = DiskStorage::open(dir.path(), options) {
        let state = storage
            .initial_state()
            .expect("a recovered log reads back");
        let next = state.entries.len() as u64 + 1;
        assert_eq!(storage.last_index(), next - 1);
        storage
            .persist(None, &[Entry::normal(next, 1, b"x".to_vec())])
            .expect("a recovered log accepts an append");
    }
});
