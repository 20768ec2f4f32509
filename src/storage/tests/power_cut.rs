//! Power cuts on a [`FaultyDisk`]: what storage synced survives, what it did not sync may be
//! lost or torn but never leaves a log, a hard state or a snapshot that cannot be trusted. Unlike
//! a kill -9 (the kernel's page cache survives it), a power cut notices a missing fsync, a
//! missing directory sync or writes made durable in the wrong order.
//!
//! Each test runs over seeds: the seed decides where unsynced appends are torn.

use std::sync::Arc;

use super::*;
use crate::raft::MemStorage;
use crate::raft::SnapshotMeta;

/// The node directory: relative, so that it is the faulty disk's mount point (see
/// [`FaultyDisk`]).
const DIR: &str = "n1";

fn open_on(disk: &FaultyDisk, options: DiskOptions) -> Result<DiskStorage, StorageError> {
    DiskStorage::open_on(Arc::new(disk.clone()), Path::new(DIR), options)
}

fn never(segment_bytes: u64) -> DiskOptions {
    DiskOptions {
        fsync: FsyncPolicy::Never,
        segment_bytes,
    }
}

fn hs(term: Term, vote: NodeId) -> HardState {
    HardState {
        term,
        voted_for: Some(vote),
        commit: 0,
    }
}

/// Power cut, then reopen: what the node finds when the machine boots again.
fn reboot(disk: &mut FaultyDisk, options: DiskOptions) -> InitialState {
    disk.power_cut();
    let s = open_on(disk, options).expect("storage opens after a power cut");
    s.initial_state().expect("initial state")
}

/// Log Matching within one node: the recovered log holds consecutive entries, and no entry has
/// a term above the hard state's (a node adopts a term before it accepts entries of it).
fn check_consistent(state: &InitialState, context: &str) {
    let first = state.snapshot.as_ref().map_or(1, |s| s.meta.index + 1);
    for (e, want) in state.entries.iter().zip(first..) {
        assert_eq!(e.index, want, "{context}: entries not consecutive");
        assert!(
            e.term <= state.hard_state.term,
            "{context}: entry {} has term {} but the hard state's term is {}",
            e.index,
            e.term,
            state.hard_state.term
        );
    }
}

#[test]
fn a_new_node_directory_survives_a_power_cut() {
    // The node directory inside a mount point (`data`): its entry in `data` must be synced too,
    // or a power cut takes the directory and everything synced inside it.
    for seed in 0..10 {
        let mut disk = FaultyDisk::new(seed);
        Disk::create_dir_all(&disk, Path::new("data")).expect("the mount point");
        let dir = Path::new("data/n1");
        let open =
            |disk: &FaultyDisk| DiskStorage::open_on(Arc::new(disk.clone()), dir, small(300));
        let mut s = open(&disk).expect("open");
        s.persist(Some(&hs(1, 1)), &entries(1, 3, 1))
            .expect("persist");
        drop(s);
        disk.power_cut();
        let state = open(&disk).expect("reopen").initial_state().expect("state");
        assert_eq!(state.entries, entries(1, 3, 1), "seed {seed}");
        assert_eq!(state.hard_state.term, 1, "seed {seed}");
    }
}

#[test]
fn synced_entries_survive_and_nothing_follows_a_torn_record() {
    for seed in 0..40 {
        let mut disk = FaultyDisk::new(seed);
        let mut s = open_on(&disk, small(300)).expect("open");
        let mut written = Vec::new();
        for batch in 0..6 {
            let from = batch * 4 + 1;
            let batch = entries(from, from + 3, 1);
            s.persist(None, &batch).expect("persist");
            written.extend(batch);
        }
        let synced = written.len();
        drop(s);
        // The same directory, now written without fsync: what follows is never durable.
        let mut s = open_on(&disk, never(300)).expect("open");
        for batch in 0..4 {
            let from = synced as Index + batch * 3 + 1;
            let batch = entries(from, from + 2, 1);
            s.persist(None, &batch).expect("persist");
            written.extend(batch);
        }
        drop(s);
        let state = reboot(&mut disk, small(300));
        let n = state.entries.len();
        assert!(
            n >= synced,
            "seed {seed}: {n} entries after the power cut, {synced} were synced"
        );
        assert_eq!(
            state.entries,
            written[..n],
            "seed {seed}: the log is a prefix of what was written"
        );
    }
}

#[test]
fn an_append_whose_fsync_failed_is_refused_and_may_be_lost_but_never_tears_the_log() {
    for seed in 0..30 {
        let mut disk = FaultyDisk::new(seed);
        let mut s = open_on(&disk, small(8 << 20)).expect("open");
        s.persist(Some(&hs(1, 1)), &entries(1, 5, 1))
            .expect("persist");
        disk.fail_next_fsync();
        let err = s
            .persist(None, &entries(6, 9, 1))
            .expect_err("the fsync failed");
        assert!(err.0.contains("EIO"), "{err}");
        let syncs = disk.syncs();
        let again = s.persist(None, &entries(6, 9, 1)).expect_err("refused");
        assert!(again.0.contains("an earlier write failed"), "{again}");
        assert_eq!(disk.syncs(), syncs, "seed {seed}: the fsync is not retried");
        drop(s);
        let state = reboot(&mut disk, small(8 << 20));
        let n = state.entries.len();
        assert!((5..=9).contains(&n), "seed {seed}: {n} entries");
        assert_eq!(state.entries, entries(1, n as Index, 1), "seed {seed}");
    }
}

#[test]
fn a_synced_hard_state_survives_and_an_unsynced_one_does_not() {
    for seed in 0..10 {
        let mut disk = FaultyDisk::new(seed);
        let mut s = open_on(&disk, small(8 << 20)).expect("open");
        s.persist(Some(&hs(2, 3)), &[]).expect("persist");
        drop(s);
        let state = reboot(&mut disk, small(8 << 20));
        assert_eq!(
            (state.hard_state.term, state.hard_state.voted_for),
            (2, Some(3)),
            "seed {seed}: synced"
        );
        let mut s = open_on(&disk, never(8 << 20)).expect("open");
        s.persist(Some(&hs(3, 1)), &[]).expect("persist");
        drop(s);
        let state = reboot(&mut disk, small(8 << 20));
        assert_eq!(
            (state.hard_state.term, state.hard_state.voted_for),
            (2, Some(3)),
            "seed {seed}: the unsynced vote is lost"
        );
    }
}

/// Every crash point of one `persist` of a new term with entries of that term: the node comes
/// back with the old state or the new one, and never with entries of a term its hard state has
/// not reached (which is why the hard state is written first).
#[test]
fn a_power_cut_at_every_sync_of_a_persist_keeps_the_hard_state_ahead_of_the_log() {
    for seed in 0..10 {
        for crash_at in 0.. {
            let mut disk = FaultyDisk::new(seed);
            let mut s = open_on(&disk, small(200)).expect("open");
            s.persist(Some(&hs(1, 1)), &entries(1, 4, 1))
                .expect("persist");
            disk.crash_after_syncs(crash_at);
            let done = s.persist(Some(&hs(2, 2)), &entries(5, 9, 2)).is_ok();
            drop(s);
            let state = reboot(&mut disk, small(200));
            let context = format!("seed {seed}, crash after {crash_at} syncs");
            check_consistent(&state, &context);
            assert!(state.entries.len() >= 4, "{context}: synced entries lost");
            if done {
                assert_eq!(state.hard_state.term, 2, "{context}");
                assert_eq!(state.entries.len(), 9, "{context}");
                break;
            }
        }
    }
}

fn snap(index: Index, term: Term) -> Snapshot {
    Snapshot {
        meta: SnapshotMeta { index, term },
        data: bytes::Bytes::from(format!("the state machine through {index}")),
        conf: None,
    }
}

/// Every crash point of `save_snapshot` (file written aside, synced, renamed, directory synced,
/// then the log compacted): all or nothing. After a crash the node has the old snapshot and its
/// log, or the new snapshot; once `save_snapshot` returned, the new one, whatever the power does.
#[test]
fn a_snapshot_install_survives_a_power_cut_at_every_step() {
    for (leaders, seeds) in [(false, 0..6), (true, 0..6)] {
        for seed in seeds {
            for crash_at in 0.. {
                let mut disk = FaultyDisk::new(seed);
                let mut s = open_on(&disk, small(150)).expect("open");
                s.persist(Some(&hs(1, 1)), &entries(1, 12, 1))
                    .expect("persist");
                s.save_snapshot(&snap(6, 1)).expect("first snapshot");
                s.persist(None, &entries(13, 20, 1)).expect("persist");
                // A node's own snapshot keeps the log after it; a leader's snapshot beyond the
                // log replaces all of it.
                let new = if leaders { snap(30, 2) } else { snap(16, 1) };
                disk.crash_after_syncs(crash_at);
                let done = s.save_snapshot(&new).is_ok();
                drop(s);
                let state = reboot(&mut disk, small(150));
                let context =
                    format!("leader's {leaders}, seed {seed}, crash after {crash_at} syncs");
                check_consistent(&state, &context);
                let got = state.snapshot.as_ref().map(|s| s.meta);
                let last = state
                    .entries
                    .last()
                    .map_or(got.map_or(0, |m| m.index), |e| e.index);
                if got == Some(new.meta) {
                    assert_eq!(state.snapshot.as_ref(), Some(&new), "{context}: whole");
                } else {
                    assert!(
                        !done,
                        "{context}: save_snapshot returned, the snapshot is lost"
                    );
                    assert_eq!(got, Some(snap(6, 1).meta), "{context}: the old snapshot");
                    assert_eq!(last, 20, "{context}: the old log");
                }
                if done {
                    break;
                }
            }
        }
    }
}

#[test]
fn a_flipped_bit_before_the_tail_stops_the_node_naming_file_and_offset() {
    let mut disk = FaultyDisk::new(7);
    let mut s = open_on(&disk, small(8 << 20)).expect("open");
    s.persist(Some(&hs(1, 1)), &entries(1, 5, 1))
        .expect("persist");
    drop(s);
    let segment = Path::new(DIR).join(seg(1));
    disk.flip_bit(&segment, 12).expect("flip");
    disk.power_cut();
    let err = open_on(&disk, small(8 << 20)).expect_err("damaged");
    assert!(err.0.contains("wal-00000000000000000001.log"), "{err}");
    assert!(err.0.contains("byte offset 0"), "{err}");
    // The hard state: also named, with its offset.
    let disk = FaultyDisk::new(7);
    let mut s = open_on(&disk, small(8 << 20)).expect("open");
    s.persist(Some(&hs(1, 1)), &[]).expect("persist");
    drop(s);
    disk.flip_bit(&Path::new(DIR).join("hardstate"), 5)
        .expect("flip");
    let err = open_on(&disk, small(8 << 20)).expect_err("damaged");
    assert!(
        err.0.contains("hardstate") && err.0.contains("byte offset"),
        "{err}"
    );
}

#[test]
fn a_full_disk_refuses_the_write_with_a_clear_error_and_writes_nothing() {
    let mut disk = FaultyDisk::new(8);
    let mut s = open_on(&disk, small(8 << 20)).expect("open");
    s.persist(Some(&hs(1, 1)), &entries(1, 3, 1))
        .expect("persist");
    disk.set_capacity(Some(10));
    let err = s.persist(None, &entries(4, 6, 1)).expect_err("full");
    assert!(err.0.contains("No space left on device"), "{err}");
    assert!(err.0.contains("wal-00000000000000000001.log"), "{err}");
    drop(s);
    disk.set_capacity(None);
    let state = reboot(&mut disk, small(8 << 20));
    assert_eq!(state.entries, entries(1, 3, 1));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random sequences of appends (with truncations), hard states and snapshots (own, a
    /// leader's, staged or not), with fsync always and power cuts at random points: a power cut
    /// after an operation returned loses nothing of it.
    #[test]
    fn a_power_cut_after_any_sequence_loses_nothing_acknowledged(
        steps in proptest::collection::vec(step(), 1..25),
        segment_bytes in 40..400u64,
        seed in 0..u64::MAX,
    ) {
        let mut faulty = FaultyDisk::new(seed);
        let options = small(segment_bytes);
        let mut disk = open_on(&faulty, options).expect("open");
        let mut mem = MemStorage::new();
        let mut durable = (0, None);
        for Step { hs, at, terms, snap, reopen: cut } in steps {
            if let Some(snap) = snap {
                let snapshot = step_snapshot(&mem, snap);
                save(&mut disk, &snapshot).expect("disk snapshot");
                mem.save_snapshot(&snapshot).expect("mem snapshot");
            } else {
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
            if cut {
                // The purger finishes what it was given before the power goes.
                drop(disk);
                faulty.power_cut();
                disk = open_on(&faulty, options).expect("open after a power cut");
                prop_assert!(disk.warnings().is_empty(), "{:?}", disk.warnings());
                let hs = hard_state::read(&faulty, Path::new(DIR)).expect("hard state");
                prop_assert_eq!((hs.term, hs.voted_for), durable);
                mem.persist(Some(&hs), &[]).expect("mem hard state");
            }
            prop_assert_eq!(disk.last_index(), mem.last_index());
            prop_assert_eq!(disk.snapshot_index(), mem.snapshot_index());
            let mut want = mem.initial_state().expect("mem");
            want.hard_state.commit = want.hard_state.commit.min(mem.last_index());
            prop_assert_eq!(disk.initial_state().expect("disk"), want);
        }
    }
}
