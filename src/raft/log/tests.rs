//! Tests of [`RaftLog`](super::RaftLog): the election restriction's comparison, the consistency check and its hints, append and truncation, apply marks, batching limits, and properties over random logs.

use super::*;
use proptest::prelude::*;

fn log_of(terms: &[Term]) -> RaftLog {
    let entries = terms
        .iter()
        .enumerate()
        .map(|(i, t)| Entry::normal(i as Index + 1, *t, vec![i as u8]))
        .collect();
    RaftLog::restore(0, 0, entries, 0)
}

fn terms(log: &RaftLog) -> Vec<Term> {
    (1..=log.last_index()).filter_map(|i| log.term(i)).collect()
}

#[test]
fn empty_log() {
    let log = RaftLog::default();
    assert_eq!(
        (log.first_index(), log.last_index(), log.last_term()),
        (1, 0, 0)
    );
    assert_eq!(log.term(0), Some(0));
    assert_eq!(log.term(1), None);
    assert_eq!(log.check_consistency(0, 0), Consistency::Match);
}

// §5.4.1: the later last term wins; with equal last terms, the longer log wins.
#[test]
fn up_to_date_compares_last_term_then_length() {
    let log = log_of(&[1, 1, 2]);
    assert!(log.is_up_to_date(1, 3), "later term, shorter log");
    assert!(log.is_up_to_date(3, 2), "same term, same length");
    assert!(log.is_up_to_date(4, 2), "same term, longer");
    assert!(!log.is_up_to_date(2, 2), "same term, shorter");
    assert!(!log.is_up_to_date(9, 1), "earlier term, longer");
}

#[test]
fn consistency_hints() {
    let log = log_of(&[1, 1, 2, 2, 2, 4]);
    assert_eq!(log.check_consistency(6, 4), Consistency::Match);
    assert_eq!(
        log.check_consistency(9, 5),
        Consistency::TooShort { conflict_index: 7 }
    );
    assert_eq!(
        log.check_consistency(5, 3),
        Consistency::TermMismatch {
            conflict_term: 2,
            conflict_index: 3
        }
    );
    assert_eq!(log.last_index_of_term(2), Some(5));
    assert_eq!(log.last_index_of_term(3), None);
    assert_eq!(log.last_index_of_term(4), Some(6));
}

#[test]
fn append_after_truncates_only_on_conflict() {
    let mut log = log_of(&[1, 1, 2, 2]);
    // A stale request covering entries we already have changes nothing.
    let out = log
        .append_after(1, &[Entry::normal(2, 1, vec![1])])
        .expect("no conflict");
    assert_eq!(out.last_new_index, 2);
    assert_eq!(out.truncated_from, None);
    assert_eq!(terms(&log), vec![1, 1, 2, 2]);
    // A conflicting entry at 3 cuts 3.. off and appends.
    let out = log
        .append_after(2, &[Entry::normal(3, 3, vec![9])])
        .expect("3 is not committed");
    assert_eq!(out.truncated_from, Some(3));
    assert_eq!(terms(&log), vec![1, 1, 3]);
}

#[test]
fn refuses_to_truncate_committed() {
    let mut log = log_of(&[1, 1, 2]);
    log.commit_to(3);
    let err = log
        .append_after(1, &[Entry::normal(2, 5, vec![])])
        .expect_err("must refuse");
    assert_eq!(err.conflict_index, 2);
    assert_eq!(terms(&log), vec![1, 1, 2]);
}

#[test]
fn truncation_rewinds_persisted_and_stale_acks_are_ignored() {
    let mut log = log_of(&[1, 1, 1]);
    assert_eq!(log.persisted(), 3);
    log.append_after(1, &[Entry::normal(2, 2, vec![])])
        .expect("ok");
    assert_eq!(log.persisted(), 1);
    assert_eq!(log.unpersisted().len(), 1);
    log.persisted_to(3, 1); // an ack for the old entry 3: gone, ignored
    assert_eq!(log.persisted(), 1);
    log.persisted_to(2, 2);
    assert_eq!(log.persisted(), 2);
}

#[test]
fn apply_waits_for_commit_and_persist() {
    let mut log = log_of(&[1, 1]);
    log.append(Entry::normal(3, 1, vec![]));
    log.commit_to(3);
    assert_eq!(log.next_to_apply().len(), 2, "entry 3 is not durable yet");
    log.persisted_to(3, 1);
    assert_eq!(log.next_to_apply().len(), 3);
    log.applied_to(3);
    assert!(!log.has_next_to_apply());
}

#[test]
fn slice_respects_limits() {
    let log = log_of(&[1; 10]);
    assert_eq!(log.slice(3, 10, 4, usize::MAX).len(), 4);
    assert_eq!(
        log.slice(3, 10, 100, 1).len(),
        1,
        "one entry is always allowed"
    );
    assert_eq!(log.slice(11, 12, 4, 100).len(), 0);
}

fn arb_terms() -> impl Strategy<Value = Vec<Term>> {
    proptest::collection::vec(1u64..4, 0..30).prop_map(|mut v| {
        v.sort_unstable();
        v
    })
}

/// A leader's log and a follower's that shares some prefix of it and then diverges — as Raft
/// logs do: the leader's terms are odd, the follower's divergent terms even, so an
/// (index, term) pair is shared only inside the common prefix (Log Matching holds).
fn arb_leader_and_follower() -> impl Strategy<Value = (Vec<Term>, Vec<Term>)> {
    let leader = arb_terms().prop_map(|v| v.into_iter().map(|t| 2 * t - 1).collect::<Vec<_>>());
    (leader, 0usize..31, arb_terms()).prop_map(|(leader, k, suffix)| {
        let k = k.min(leader.len());
        let floor = if k == 0 { 0 } else { leader[k - 1] };
        let mut follower = leader[..k].to_vec();
        follower.extend(suffix.into_iter().map(|t| 2 * t).filter(|t| *t > floor));
        (leader, follower)
    })
}

proptest! {
    // Log Matching (§5.3): after a follower stores a leader's suffix, the follower's log equals
    // the leader's up to the last new entry, whatever it held before.
    #[test]
    fn append_after_makes_prefix_equal(
        (leader, follower) in arb_leader_and_follower(),
        prev in 0usize..30,
        count in 0usize..30,
    ) {
        let leader_log = log_of(&leader);
        let mut f = log_of(&follower);
        let prev = (prev as Index).min(leader_log.last_index());
        let hi = (prev + count as Index).min(leader_log.last_index());
        let entries = leader_log.range(prev + 1, hi);
        let prev_term = leader_log.term(prev).unwrap_or(0);
        let before = terms(&f);
        match f.check_consistency(prev, prev_term) {
            Consistency::Match => {
                let out = f.append_after(prev, &entries).expect("nothing committed");
                prop_assert_eq!(out.last_new_index, hi.max(prev));
                for i in 1..=hi {
                    prop_assert_eq!(f.term(i), leader_log.term(i));
                }
                // Entries past the request that did not conflict are kept.
                if out.truncated_from.is_none() {
                    prop_assert!(f.last_index() >= before.len() as Index);
                }
            }
            Consistency::TooShort { conflict_index } => {
                prop_assert!(prev > f.last_index());
                prop_assert_eq!(conflict_index, f.last_index() + 1);
            }
            Consistency::TermMismatch { conflict_term, conflict_index } => {
                prop_assert_eq!(f.term(prev), Some(conflict_term));
                prop_assert_ne!(conflict_term, prev_term);
                // The hint is the first entry of that term, and points at or before prev.
                prop_assert!(conflict_index <= prev);
                prop_assert_eq!(f.term(conflict_index), Some(conflict_term));
                prop_assert!(conflict_index == 1 || f.term(conflict_index - 1) != Some(conflict_term));
            }
            Consistency::Compacted => prop_assert!(false, "no snapshot here"),
        }
        prop_assert!(f.validate().is_ok());
    }

    // The leader's half of the hint: the last index of a term, found by binary search, agrees
    // with a linear scan.
    #[test]
    fn last_index_of_term_matches_scan(t in arb_terms(), probe in 0u64..5) {
        let log = log_of(&t);
        let scan = (1..=log.last_index()).rev().find(|i| log.term(*i) == Some(probe));
        prop_assert_eq!(log.last_index_of_term(probe), scan);
    }
}
