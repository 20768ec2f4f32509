//! Tests of the search over one key's operations: pruning of unknown writes, cuts, and backtracking.

use super::*;
use std::time::Duration;

fn op(id: u64, invoke: u64, complete: Option<u64>, op: KvOp, out: Option<KvOutput>) -> Operation {
    Operation {
        id,
        client: id,
        invoke_us: invoke,
        complete_us: complete,
        op,
        output: out,
        error: None,
    }
}

fn put(v: &str) -> KvOp {
    KvOp::Put {
        key: "k".into(),
        value: v.into(),
    }
}

fn get() -> KvOp {
    KvOp::Get { key: "k".into() }
}

fn items(ops: &[Operation]) -> Vec<Item<'_>> {
    ops.iter().filter_map(Item::of).collect()
}

fn run(ops: &[Operation]) -> Verdict {
    search(
        &items(ops),
        Initial::Absent,
        Instant::now() + Duration::from_secs(10),
    )
    .0
}

#[test]
fn unknown_writes_nobody_could_see_are_pruned() {
    let ops = vec![
        op(0, 0, None, put("a"), None),
        op(1, 0, None, put("b"), None),
        op(
            2,
            5,
            Some(6),
            get(),
            Some(KvOutput::Get {
                value: Some("b".into()),
            }),
        ),
        op(3, 7, None, put("c"), None),
        op(4, 1, None, get(), None),
    ];
    let kept: Vec<Item<'_>> = prune(&items(&ops));
    assert_eq!(kept.len(), 2);
    // The put of "b" is kept, bounded by the read that saw it, and may never happen.
    assert_eq!(
        (kept[0].op, kept[0].ret, kept[0].optional),
        (&ops[1].op, 6, true)
    );
    assert_eq!(kept[1], Item::of(&ops[2]).unwrap());
}

#[test]
fn a_forgotten_write_still_happens_within_its_interval() {
    let ops = vec![
        op(
            0,
            0,
            Some(1),
            put("a"),
            Some(KvOutput::Put { previous: None }),
        ),
        op(
            1,
            2,
            Some(10),
            put("b"),
            Some(KvOutput::Put {
                previous: Some("a".into()),
            }),
        ),
        op(
            2,
            11,
            Some(12),
            get(),
            Some(KvOutput::Get {
                value: Some("a".into()),
            }),
        ),
    ];
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut with = items(&ops);
    with[1] = Item::forgotten(&ops[1]).unwrap();
    assert_eq!(prune(&with).len(), 3);
    assert_eq!(
        search(&with, Initial::Absent, deadline).0,
        Verdict::NotLinearizable
    );
    with[1] = Item::unknown(&ops[1]).unwrap();
    assert_eq!(
        search(&with, Initial::Absent, deadline).0,
        Verdict::Linearizable
    );
}

#[test]
fn from_any_state_only_what_happens_after_the_cut_counts() {
    let deadline = Instant::now() + Duration::from_secs(10);
    // A read of a value never written is fine from an unknown state...
    let ops = vec![op(
        0,
        0,
        Some(1),
        get(),
        Some(KvOutput::Get {
            value: Some("z".into()),
        }),
    )];
    assert_eq!(
        search(&items(&ops), Initial::Absent, deadline).0,
        Verdict::NotLinearizable
    );
    assert_eq!(
        search(&items(&ops), Initial::Any, deadline).0,
        Verdict::Linearizable
    );
    // ...but not after a write that completed before it.
    let ops = vec![
        op(
            0,
            0,
            Some(1),
            put("a"),
            Some(KvOutput::Put { previous: None }),
        ),
        op(
            1,
            2,
            Some(3),
            get(),
            Some(KvOutput::Get {
                value: Some("z".into()),
            }),
        ),
    ];
    let mut with = items(&ops);
    with[0] = Item::forgotten(&ops[0]).unwrap();
    assert_eq!(
        search(&with, Initial::Any, deadline).0,
        Verdict::NotLinearizable
    );
}

#[test]
fn an_unknown_cas_keeps_the_write_it_depends_on() {
    let ops = vec![
        op(0, 0, None, put("a"), None),
        op(
            1,
            0,
            None,
            KvOp::Cas {
                key: "k".into(),
                expected: Some("a".into()),
                new_value: "z".into(),
            },
            None,
        ),
        op(
            2,
            5,
            Some(6),
            get(),
            Some(KvOutput::Get {
                value: Some("z".into()),
            }),
        ),
    ];
    assert_eq!(prune(&items(&ops)).len(), 3);
    assert_eq!(run(&ops), Verdict::Linearizable);
}

#[test]
fn an_unknown_put_then_an_unknown_append_explain_their_concatenation() {
    let ops = vec![
        op(0, 0, None, put("a"), None),
        op(
            1,
            0,
            None,
            KvOp::Append {
                key: "k".into(),
                value: "b".into(),
            },
            None,
        ),
        op(
            2,
            5,
            Some(6),
            get(),
            Some(KvOutput::Get {
                value: Some("ab".into()),
            }),
        ),
    ];
    assert_eq!(run(&ops), Verdict::Linearizable);
}

#[test]
fn the_list_is_restored_after_backtracking() {
    // Three concurrent puts and a read of the first one written: needs backtracking.
    let ops = vec![
        op(
            0,
            0,
            Some(10),
            put("a"),
            Some(KvOutput::Put {
                previous: Some("c".into()),
            }),
        ),
        op(
            1,
            0,
            Some(10),
            put("b"),
            Some(KvOutput::Put { previous: None }),
        ),
        op(
            2,
            0,
            Some(10),
            put("c"),
            Some(KvOutput::Put {
                previous: Some("b".into()),
            }),
        ),
        op(
            3,
            11,
            Some(12),
            get(),
            Some(KvOutput::Get {
                value: Some("a".into()),
            }),
        ),
    ];
    assert_eq!(run(&ops), Verdict::Linearizable);
    let mut bad = ops.clone();
    bad[3].output = Some(KvOutput::Get {
        value: Some("c".into()),
    });
    assert_eq!(run(&bad), Verdict::NotLinearizable);
}
