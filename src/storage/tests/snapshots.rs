//! Snapshots on disk: saving, compaction and retention, recovery with corrupt snapshot files,
//! and a simulated crash at every point of `save_snapshot`.

use std::collections::BTreeMap;

use super::*;
use crate::raft::SnapshotMeta;

fn snap(index: Index, term: Term) -> Snapshot {
    Snapshot {
        meta: SnapshotMeta { index, term },
        data: bytes::Bytes::from(format!("the state machine through {index} (term {term})")),
        conf: None,
    }
}

fn snap_name(index: Index, term: Term) -> String {
    snapshot::file_name(SnapshotMeta { index, term })
}

/// Names of the files in `<dir>/snapshots/`, sorted.
fn snapshot_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir.join("snapshots"))
        .expect("list")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Every file of a node directory and its bytes.
fn dir_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for sub in ["", "snapshots"] {
        for e in fs::read_dir(dir.join(sub)).expect("list") {
            let e = e.expect("entry");
            if e.file_type().expect("type").is_file() {
                let name = format!("{sub}/{}", e.file_name().to_string_lossy());
                files.insert(name, fs::read(e.path()).expect("read"));
            }
        }
    }
    files
}

/// One entry per `persist`, so that `small(100)` makes segments of three entries:
/// 1..=3, 4..=6, 7..=9, ...
fn one_by_one(s: &mut DiskStorage, from: Index, to: Index, term: Term) {
    for i in from..=to {
        s.persist(None, &[entry(i, term)]).expect("persist");
    }
}

/// The recovered snapshot's index and the recovered entries.
fn recovered(s: &DiskStorage) -> (Option<Index>, Vec<Entry>) {
    let state = s.initial_state().expect("initial state");
    (state.snapshot.map(|x| x.meta.index), state.entries)
}

#[test]
fn a_snapshot_and_the_entries_after_it_come_back_after_reopening() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), DiskOptions::default());
    let hs = HardState {
        term: 1,
        voted_for: Some(1),
        commit: 10,
    };
    s.persist(Some(&hs), &entries(1, 10, 1)).expect("persist");
    s.save_snapshot(&snap(6, 1)).expect("snapshot");
    s.settle();
    assert_eq!((s.snapshot_index(), s.last_index()), (6, 10));
    let check = |s: &DiskStorage| {
        let state = s.initial_state().expect("state");
        assert_eq!(state.snapshot, Some(snap(6, 1)));
        assert_eq!(
            state.entries,
            entries(7, 10, 1),
            "only the entries after it"
        );
        assert_eq!(state.hard_state, hs);
    };
    check(&s);
    assert_eq!(snapshot_names(tmp.path()), vec![snap_name(6, 1)]);
    drop(s);
    let mut s = open(tmp.path(), DiskOptions::default());
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert_eq!((s.snapshot_index(), s.last_index()), (6, 10));
    check(&s);
    // The log goes on and can still be cut right after the snapshot.
    s.persist(None, &entries(11, 12, 1)).expect("append");
    s.persist(None, &entries(7, 8, 2))
        .expect("truncate after the snapshot");
    drop(s);
    let s = open(tmp.path(), DiskOptions::default());
    assert_eq!(recovered(&s), (Some(6), entries(7, 8, 2)));
}

#[test]
fn persist_inside_the_snapshot_is_refused_and_changes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), DiskOptions::default());
    s.persist(None, &entries(1, 8, 1)).expect("persist");
    s.save_snapshot(&snap(5, 1)).expect("snapshot");
    s.settle();
    let before = dir_files(tmp.path());
    let hs = HardState {
        term: 9,
        voted_for: Some(3),
        commit: 8,
    };
    for at in [1, 4, 5] {
        let err = s
            .persist(Some(&hs), &entries(at, 9, 2))
            .expect_err("inside the snapshot");
        assert!(err.0.contains("inside the snapshot"), "{err}");
    }
    assert!(s.persist(None, &entries(10, 10, 1)).is_err(), "a gap");
    // A snapshot at or below the stored one changes nothing either.
    s.save_snapshot(&snap(5, 1)).expect("same snapshot");
    s.settle();
    s.save_snapshot(&snap(3, 1)).expect("older snapshot");
    s.settle();
    s.save_snapshot(&snap(5, 7))
        .expect("same index, other term");
    assert_eq!(dir_files(tmp.path()), before);
    assert_eq!((s.snapshot_index(), s.last_index()), (5, 8));
    let state = s.initial_state().expect("state");
    assert_eq!(state.hard_state, HardState::default());
    assert_eq!(state.entries, entries(6, 8, 1));
    // At snapshot index + 1 is fine.
    s.persist(None, &entries(6, 6, 2))
        .expect("right after the snapshot");
    assert_eq!(s.last_index(), 6);
}

#[test]
fn compaction_keeps_one_generation_and_deletes_only_whole_segments() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), small(100));
    one_by_one(&mut s, 1, 21, 1);
    let all = [1, 4, 7, 10, 13, 16, 19].map(seg);
    assert_eq!(segment_names(tmp.path()), all);

    // The first snapshot deletes nothing: the log still continues "no snapshot".
    s.save_snapshot(&snap(8, 1)).expect("snapshot 8");
    s.settle();
    assert_eq!(segment_names(tmp.path()), all);
    assert_eq!(snapshot_names(tmp.path()), vec![snap_name(8, 1)]);

    // The second deletes the segments wholly at or below 8: 1..=3 and 4..=6, not 7..=9.
    s.save_snapshot(&snap(14, 1)).expect("snapshot 14");
    s.settle();
    assert_eq!(segment_names(tmp.path()), [7, 10, 13, 16, 19].map(seg));
    assert_eq!(
        snapshot_names(tmp.path()),
        vec![snap_name(8, 1), snap_name(14, 1)]
    );

    // 12 is the end of a segment: 10..=12 goes with 7..=9; 13..=15 stays.
    s.save_snapshot(&snap(20, 1)).expect("snapshot 20");
    s.settle();
    assert_eq!(segment_names(tmp.path()), [13, 16, 19].map(seg));
    assert_eq!(
        snapshot_names(tmp.path()),
        vec![snap_name(14, 1), snap_name(20, 1)],
        "the two newest snapshot files stay"
    );
    assert_eq!(recovered(&s), (Some(20), entries(21, 21, 1)));

    // Up to the last entry: the last segment stays even when all of it is covered.
    s.save_snapshot(&snap(21, 1)).expect("snapshot 21");
    s.settle();
    assert_eq!(segment_names(tmp.path()), [19].map(seg));
    assert_eq!((s.snapshot_index(), s.last_index()), (21, 21));
    s.persist(None, &entries(22, 23, 2)).expect("append");
    drop(s);

    let s = open(tmp.path(), small(100));
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert_eq!(recovered(&s), (Some(21), entries(22, 23, 2)));
}

#[test]
fn a_snapshot_that_conflicts_with_the_log_replaces_all_of_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), small(100));
    one_by_one(&mut s, 1, 10, 1);
    s.save_snapshot(&snap(2, 1)).expect("own snapshot");
    s.settle();
    // A leader's snapshot whose entry 7 has another term than ours.
    s.save_snapshot(&snap(7, 2)).expect("leader's snapshot");
    s.settle();
    assert!(segment_names(tmp.path()).is_empty());
    assert_eq!((s.snapshot_index(), s.last_index()), (7, 7));
    assert_eq!(recovered(&s), (Some(7), vec![]));
    assert!(s.persist(None, &entries(7, 8, 2)).is_err(), "inside");
    assert!(s.persist(None, &entries(9, 9, 2)).is_err(), "a gap");
    drop(s);

    // Reopened before anything was appended: the log goes on at 8.
    let mut s = open(tmp.path(), small(100));
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert_eq!((s.snapshot_index(), s.last_index()), (7, 7));
    s.persist(None, &entries(8, 9, 2)).expect("the log goes on");
    assert_eq!(segment_names(tmp.path()), vec![seg(8)]);
    s.persist(None, &entries(9, 9, 3)).expect("and can be cut");
    drop(s);
    let s = open(tmp.path(), small(100));
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    let want: Vec<Entry> = entries(8, 8, 2)
        .into_iter()
        .chain(entries(9, 9, 3))
        .collect();
    assert_eq!(recovered(&s), (Some(7), want));
}

#[test]
fn a_snapshot_beyond_the_log_replaces_all_of_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), DiskOptions::default());
    s.persist(None, &entries(1, 5, 1)).expect("persist");
    s.save_snapshot(&snap(9, 3)).expect("snapshot");
    s.settle();
    assert!(segment_names(tmp.path()).is_empty());
    assert_eq!((s.snapshot_index(), s.last_index()), (9, 9));
    s.persist(None, &entries(10, 12, 3))
        .expect("the log goes on");
    assert_eq!(segment_names(tmp.path()), vec![seg(10)]);
    drop(s);
    let s = open(tmp.path(), DiskOptions::default());
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert_eq!(recovered(&s), (Some(9), entries(10, 12, 3)));
    assert_eq!(s.last_index(), 12);
}

/// A directory with snapshots 8 and 14 and the log 7..=24 (segments of three entries).
fn two_generations(dir: &Path) {
    let mut s = open(dir, small(100));
    one_by_one(&mut s, 1, 20, 1);
    s.save_snapshot(&snap(8, 1)).expect("snapshot");
    s.settle();
    s.save_snapshot(&snap(14, 1)).expect("snapshot");
    s.settle();
    one_by_one(&mut s, 21, 24, 2);
    assert_eq!(segment_names(dir)[0], seg(7));
}

#[test]
fn a_corrupt_newest_snapshot_falls_back_to_the_older_one_and_loses_no_entry() {
    let newest = snap_name(14, 1);
    type Damage = fn(&mut Vec<u8>);
    let damages: [(&str, Damage); 4] = [
        ("flipped byte", |b| b[40] ^= 0x20),
        ("truncated", |b| b.truncate(b.len() - 3)),
        ("emptied", |b| b.clear()),
        ("bad magic", |b| b[3] = b'?'),
    ];
    for (what, damage) in damages {
        let tmp = tempfile::tempdir().expect("tempdir");
        two_generations(tmp.path());
        let path = tmp.path().join("snapshots").join(&newest);
        let mut bytes = fs::read(&path).expect("read");
        damage(&mut bytes);
        fs::write(&path, &bytes).expect("write");

        let mut s = open(tmp.path(), small(100));
        assert_eq!(s.snapshot_index(), 8, "{what}");
        assert_eq!(s.last_index(), 24, "{what}");
        let want: Vec<Entry> = entries(9, 20, 1)
            .into_iter()
            .chain(entries(21, 24, 2))
            .collect();
        assert_eq!(recovered(&s), (Some(8), want), "{what}");
        let [warning] = s.warnings() else {
            panic!("{what}: {:?}", s.warnings());
        };
        assert!(
            warning.contains(&newest)
                && warning.contains("corrupt")
                && warning.contains(&format!("using snapshot {}", snap_name(8, 1))),
            "{what}: {warning}"
        );
        // The node goes on; the next snapshot replaces the corrupt file.
        s.save_snapshot(&snap(22, 2)).expect("next snapshot");
        s.settle();
        assert_eq!(
            snapshot_names(tmp.path()),
            vec![snap_name(8, 1), snap_name(22, 2)]
        );
        drop(s);
        let s = open(tmp.path(), small(100));
        assert!(s.warnings().is_empty(), "{what}: {:?}", s.warnings());
        assert_eq!(recovered(&s), (Some(22), entries(23, 24, 2)), "{what}");
    }
}

#[test]
fn a_corrupt_only_snapshot_leaves_the_log_alone_when_it_starts_at_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), small(100));
    one_by_one(&mut s, 1, 10, 1);
    s.save_snapshot(&snap(5, 1)).expect("snapshot");
    s.settle();
    drop(s);
    let path = tmp.path().join("snapshots").join(snap_name(5, 1));
    let mut bytes = fs::read(&path).expect("read");
    let n = bytes.len();
    bytes[n - 1] ^= 1;
    fs::write(&path, &bytes).expect("write");
    let s = open(tmp.path(), small(100));
    assert_eq!(recovered(&s), (None, entries(1, 10, 1)));
    let [warning] = s.warnings() else {
        panic!("{:?}", s.warnings());
    };
    assert!(
        warning.contains("bad CRC") && warning.contains("using the log alone"),
        "{warning}"
    );
}

#[test]
fn every_snapshot_corrupt_and_the_log_compacted_is_an_error() {
    let tmp = tempfile::tempdir().expect("tempdir");
    two_generations(tmp.path());
    for name in [snap_name(8, 1), snap_name(14, 1)] {
        fs::write(tmp.path().join("snapshots").join(name), b"junk").expect("write");
    }
    let err = DiskStorage::open(tmp.path(), small(100)).expect_err("nothing to start from");
    assert!(
        err.0.contains("no usable snapshot") && err.0.contains("starts at 7"),
        "{err}"
    );
}

#[test]
fn stray_and_malformed_files_in_the_snapshot_directory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), DiskOptions::default());
    s.persist(None, &entries(1, 4, 1)).expect("persist");
    s.save_snapshot(&snap(3, 1)).expect("snapshot");
    s.settle();
    drop(s);
    let dir = tmp.path().join("snapshots");
    fs::write(dir.join(format!("{}.tmp", snap_name(4, 1))), b"half").expect("write");
    fs::write(dir.join("snap-7.snap"), b"?").expect("write");
    fs::write(dir.join("README"), b"notes").expect("write");
    let s = open(tmp.path(), DiskOptions::default());
    assert_eq!(recovered(&s), (Some(3), entries(4, 4, 1)));
    assert_eq!(
        snapshot_names(tmp.path()),
        vec![
            "README".to_string(),
            snap_name(3, 1),
            "snap-7.snap".to_string()
        ],
        "the .tmp is deleted, the rest left alone"
    );
    let [warning] = s.warnings() else {
        panic!("{:?}", s.warnings());
    };
    assert!(warning.contains("snap-7.snap"), "{warning}");
}

#[test]
fn a_staged_snapshot_is_installed_refused_or_dropped_and_never_left_behind() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), DiskOptions::default());
    s.persist(None, &entries(1, 9, 1)).expect("persist");
    let stager = s.snapshot_stager();

    // Dropped without being installed: its file goes.
    let staged = stager.stage(&snap(3, 1)).expect("stage");
    assert_eq!(staged.meta(), snap(3, 1).meta);
    assert_eq!(snapshot_names(tmp.path()).len(), 1, "written ahead");
    drop(staged);
    assert!(snapshot_names(tmp.path()).is_empty());

    // Staged for another snapshot: refused, and nothing changes.
    let staged = stager.stage(&snap(4, 1)).expect("stage");
    let err = s
        .save_staged_snapshot(&snap(5, 1), staged)
        .expect_err("mismatch");
    assert!(
        err.0.contains("index 4") && err.0.contains("index 5"),
        "{err}"
    );
    assert_eq!(s.snapshot_index(), 0);
    assert!(snapshot_names(tmp.path()).is_empty());

    // A newer snapshot saved meanwhile leaves the staged file alone (its stager may still be
    // writing it); installing the older one then changes nothing and deletes it.
    let staged = stager.stage(&snap(4, 1)).expect("stage");
    s.save_snapshot(&snap(6, 1)).expect("save");
    s.settle();
    assert_eq!(
        snapshot_names(tmp.path()).len(),
        2,
        "the staged file survives"
    );
    s.save_staged_snapshot(&snap(4, 1), staged)
        .expect("older: no-op");
    assert_eq!(s.snapshot_index(), 6);
    assert_eq!(snapshot_names(tmp.path()), [snap_name(6, 1)]);

    // Installed: in use, and what a reopened storage recovers.
    let staged = stager.stage(&snap(8, 1)).expect("stage");
    s.save_staged_snapshot(&snap(8, 1), staged)
        .expect("install");
    assert_eq!(s.snapshot_index(), 8);
    assert_eq!(
        snapshot_names(tmp.path()),
        [snap_name(6, 1), snap_name(8, 1)]
    );
    drop(s);
    let reopened = open(tmp.path(), DiskOptions::default());
    assert_eq!(recovered(&reopened), (Some(8), entries(9, 9, 1)));
    assert!(reopened.warnings().is_empty(), "{:?}", reopened.warnings());

    // A staged file that a crash left behind is deleted on open.
    std::mem::forget(
        reopened
            .snapshot_stager()
            .stage(&snap(9, 1))
            .expect("stage"),
    );
    assert_eq!(snapshot_names(tmp.path()).len(), 3);
    drop(reopened);
    let reopened = open(tmp.path(), DiskOptions::default());
    assert_eq!(recovered(&reopened), (Some(8), entries(9, 9, 1)));
    assert_eq!(
        snapshot_names(tmp.path()),
        [snap_name(6, 1), snap_name(8, 1)]
    );
}

#[test]
fn a_crash_before_the_rename_leaves_the_old_snapshot_and_log() {
    let tmp = tempfile::tempdir().expect("tempdir");
    two_generations(tmp.path());
    let mut s = open(tmp.path(), small(100));
    let before = recovered(&s);
    s.save_snapshot_until(&snap(20, 1), None, Some(CrashPoint::BeforeRename))
        .expect_err("crash");
    drop(s);
    assert!(snapshot_names(tmp.path()).contains(&format!("{}.tmp", snap_name(20, 1))));
    let s = open(tmp.path(), small(100));
    assert!(s.warnings().is_empty(), "{:?}", s.warnings());
    assert_eq!(recovered(&s), before);
    assert_eq!(
        snapshot_names(tmp.path()),
        vec![snap_name(8, 1), snap_name(14, 1)]
    );
}

#[test]
fn a_crash_anywhere_while_keeping_the_suffix_recovers_the_new_snapshot() {
    // Compaction after snapshot 20 deletes the segments 7..=9, 10..=12: crash before each.
    for crash in [
        CrashPoint::AfterRename,
        CrashPoint::AfterDeletes(0),
        CrashPoint::AfterDeletes(1),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        two_generations(tmp.path());
        let mut s = open(tmp.path(), small(100));
        s.save_snapshot_until(&snap(20, 1), None, Some(crash))
            .expect_err("crash");
        drop(s);
        let mut s = open(tmp.path(), small(100));
        assert!(s.warnings().is_empty(), "{crash:?}: {:?}", s.warnings());
        assert_eq!(recovered(&s), (Some(20), entries(21, 24, 2)), "{crash:?}");
        // The next snapshot finishes the job.
        s.save_snapshot(&snap(23, 2)).expect("snapshot");
        s.settle();
        assert_eq!(segment_names(tmp.path()), [19, 22].map(seg));
        assert_eq!(
            snapshot_names(tmp.path()),
            vec![snap_name(20, 1), snap_name(23, 2)]
        );
    }
    // And the newest snapshot corrupt after a crash mid-compaction: the previous one still works.
    let tmp = tempfile::tempdir().expect("tempdir");
    two_generations(tmp.path());
    let mut s = open(tmp.path(), small(100));
    s.save_snapshot_until(&snap(20, 1), None, Some(CrashPoint::AfterDeletes(1)))
        .expect_err("crash");
    drop(s);
    fs::write(tmp.path().join("snapshots").join(snap_name(20, 1)), b"x").expect("write");
    let s = open(tmp.path(), small(100));
    assert_eq!(s.snapshot_index(), 14);
    assert_eq!(s.last_index(), 24);
    assert_eq!(s.warnings().len(), 1, "{:?}", s.warnings());
}

/// What a node directory recovers to: the snapshot, the entries after it.
type Outcome = (Option<Index>, Vec<Entry>);

/// Runs `save_snapshot(new)` on the directory `setup` makes, crashing after `k` segment
/// deletions for every `k` (and after the rename), and returns what each reopening recovered.
fn crash_everywhere(
    setup: fn(&Path),
    new: Snapshot,
    options: DiskOptions,
) -> Vec<(CrashPoint, Outcome, Vec<String>)> {
    let mut out = Vec::new();
    let points =
        std::iter::once(CrashPoint::AfterRename).chain((0..20).map(CrashPoint::AfterDeletes));
    for crash in points {
        let tmp = tempfile::tempdir().expect("tempdir");
        setup(tmp.path());
        let mut s = open(tmp.path(), options);
        if s.save_snapshot_until(&new, None, Some(crash)).is_ok() {
            break; // Past the last deletion.
        }
        drop(s);
        let mut s = open(tmp.path(), options);
        let outcome = recovered(&s);
        let warnings = s.warnings().to_vec();
        // Whatever was recovered, the node can go on, and a second reopening agrees.
        let next = s.last_index() + 1;
        s.persist(None, &entries(next, next, 5)).expect("append");
        drop(s);
        let s = open(tmp.path(), options);
        assert!(s.warnings().is_empty(), "{crash:?}: {:?}", s.warnings());
        assert_eq!(s.last_index(), next, "{crash:?}");
        out.push((crash, outcome, warnings));
    }
    out
}

#[test]
fn a_crash_anywhere_while_discarding_a_conflicting_log_recovers_old_or_new() {
    // Snapshot 5 and the log 1..=21 of term 1 in segments of three; a leader's snapshot (12, 2)
    // conflicts at 12, the end of segment 10..=12: the segment 13..=21 after it must not become
    // the first one, or the log would seem to continue the new snapshot.
    fn setup(dir: &Path) {
        let mut s = open(dir, small(100));
        one_by_one(&mut s, 1, 21, 1);
        s.save_snapshot(&snap(5, 1)).expect("snapshot");
        s.settle();
    }
    let old: Outcome = (Some(5), entries(6, 21, 1));
    let new: Outcome = (Some(12), vec![]);
    let runs = crash_everywhere(setup, snap(12, 2), small(100));
    assert_eq!(
        runs.len(),
        1 + 7,
        "after the rename and before each of 7 deletions"
    );
    let mut seen_new = false;
    for (crash, outcome, warnings) in &runs {
        if *outcome == old {
            assert!(
                !seen_new,
                "{crash:?}: back to the old state after the new one"
            );
            assert!(
                warnings.iter().any(|w| w.contains("is not used")),
                "{crash:?}: {warnings:?}"
            );
        } else {
            assert_eq!(outcome, &new, "{crash:?}");
            seen_new = true;
        }
    }
    assert!(seen_new && runs[0].1 == old, "{runs:?}");
}

#[test]
fn a_crash_anywhere_while_discarding_a_log_that_ends_before_the_snapshot_recovers_the_new_one() {
    fn setup(dir: &Path) {
        let mut s = open(dir, small(100));
        one_by_one(&mut s, 1, 10, 1);
        s.save_snapshot(&snap(4, 1)).expect("snapshot");
        s.settle();
    }
    let runs = crash_everywhere(setup, snap(15, 3), small(100));
    assert_eq!(runs.len(), 1 + 4);
    for (crash, outcome, warnings) in &runs {
        assert_eq!(outcome, &(Some(15), vec![]), "{crash:?}");
        assert!(
            warnings.iter().any(|w| w.contains("were dropped")),
            "{crash:?}: {warnings:?}"
        );
    }
}

#[test]
fn a_crash_while_discarding_with_no_older_snapshot_keeps_only_a_prefix_of_the_old_log() {
    // The one case where no order keeps the old log whole: the segment holding the conflicting
    // index also holds index 1, and two segments follow. The newer ones go first, so what a crash
    // leaves is the new snapshot or a prefix of the old log that reaches past the conflict (safe:
    // entries after a conflict with a leader's snapshot were never committed).
    fn setup(dir: &Path) {
        let mut s = open(dir, small(100));
        one_by_one(&mut s, 1, 9, 1);
    }
    let runs = crash_everywhere(setup, snap(3, 2), small(100));
    for (crash, outcome, _) in &runs {
        match outcome {
            (None, log) => {
                assert!(log.len() > 3, "{crash:?}");
                assert_eq!(log[..], entries(1, 9, 1)[..log.len()], "{crash:?}");
            }
            other => assert_eq!(other, &(Some(3), vec![]), "{crash:?}"),
        }
    }
    assert_eq!(runs.last().map(|r| &r.1), Some(&(Some(3), vec![])));
}

#[test]
fn a_stale_snapshot_that_lost_to_a_longer_log_is_deleted() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut s = open(tmp.path(), DiskOptions::default());
    s.persist(None, &entries(1, 10, 1)).expect("persist");
    s.save_snapshot_until(&snap(4, 2), None, Some(CrashPoint::AfterRename))
        .expect_err("crash");
    drop(s);
    let s = open(tmp.path(), DiskOptions::default());
    assert_eq!(recovered(&s), (None, entries(1, 10, 1)));
    let [warning] = s.warnings() else {
        panic!("{:?}", s.warnings());
    };
    assert!(
        warning.contains(&snap_name(4, 2)) && warning.contains("term 1"),
        "{warning}"
    );
    assert!(snapshot_names(tmp.path()).is_empty());
    drop(s);
    let s = open(tmp.path(), DiskOptions::default());
    assert!(s.warnings().is_empty());
}

#[test]
fn an_empty_segment_left_after_a_discard_is_harmless() {
    // A crash right after the first segment after a discard was created, before the write:
    // named right after the snapshot, or (not made by this code, but harmless) anywhere else.
    for first in [7, 2, 30] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut s = open(tmp.path(), DiskOptions::default());
        s.persist(None, &entries(1, 3, 1)).expect("persist");
        s.save_snapshot(&snap(6, 2)).expect("snapshot");
        s.settle();
        drop(s);
        fs::write(tmp.path().join(seg(first)), b"").expect("write");
        let mut s = open(tmp.path(), DiskOptions::default());
        assert!(s.warnings().is_empty(), "{first}: {:?}", s.warnings());
        assert_eq!((s.snapshot_index(), s.last_index()), (6, 6), "{first}");
        s.persist(None, &entries(7, 7, 2)).expect("append");
        drop(s);
        let s = open(tmp.path(), DiskOptions::default());
        assert_eq!(recovered(&s), (Some(6), entries(7, 7, 2)), "{first}");
        assert_eq!(segment_names(tmp.path()), vec![seg(7)], "{first}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn garbage_in_a_snapshot_file_never_panics(
        index in 1..12u64,
        term in 1..3u64,
        garbage in proptest::collection::vec(any::<u8>(), 0..200),
        valid_prefix in any::<bool>(),
        with_log in any::<bool>(),
    ) {
        let tmp = tempfile::tempdir().expect("tempdir");
        if with_log {
            let mut s = open(tmp.path(), DiskOptions::default());
            s.persist(None, &entries(1, 6, 1)).expect("persist");
        }
        let mut bytes = if valid_prefix { snapshot::encode(&snap(index, term)) } else { vec![] };
        let keep = garbage.len().min(bytes.len());
        bytes.truncate(bytes.len() - keep);
        bytes.extend_from_slice(&garbage);
        fs::create_dir_all(tmp.path().join("snapshots")).expect("mkdir");
        fs::write(tmp.path().join("snapshots").join(snap_name(index, term)), &bytes)
            .expect("write");
        if let Ok(mut s) = DiskStorage::open(tmp.path(), DiskOptions::default()) {
            let state = s.initial_state().expect("a recovered state reads back");
            let next = s.last_index() + 1;
            prop_assert_eq!(
                state.entries.last().map_or(s.snapshot_index(), |e| e.index) + 1,
                next
            );
            s.persist(None, &entries(next, next, 2)).expect("append after recovery");
        }
    }
}
