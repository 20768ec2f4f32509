//! Tests of the linearizability checker: hand-written histories (linearizable and not), the printed window, budgets, and generated histories checked against a brute-force search.

use super::*;
use crate::check::history::{KvOp, KvOutput};
use crate::check::model;
use proptest::prelude::*;

const BUDGET: Duration = Duration::from_secs(20);

/// Builds histories by hand: times in µs, ids in order of creation.
#[derive(Default)]
struct Builder {
    ops: Vec<Operation>,
}

impl Builder {
    fn push(
        &mut self,
        client: u64,
        invoke: u64,
        complete: Option<u64>,
        op: KvOp,
        output: Option<KvOutput>,
    ) -> u64 {
        let id = self.ops.len() as u64;
        self.ops.push(Operation {
            id,
            client,
            invoke_us: invoke,
            complete_us: complete,
            op,
            output,
            error: None,
        });
        id
    }

    fn put(&mut self, c: u64, at: (u64, u64), key: &str, v: &str, prev: Option<&str>) -> u64 {
        let op = KvOp::Put {
            key: key.into(),
            value: v.into(),
        };
        let out = KvOutput::Put {
            previous: prev.map(str::to_string),
        };
        self.push(c, at.0, Some(at.1), op, Some(out))
    }

    fn get(&mut self, c: u64, at: (u64, u64), key: &str, v: Option<&str>) -> u64 {
        let op = KvOp::Get { key: key.into() };
        let out = KvOutput::Get {
            value: v.map(str::to_string),
        };
        self.push(c, at.0, Some(at.1), op, Some(out))
    }

    fn append(&mut self, c: u64, at: (u64, u64), key: &str, suffix: &str, after: &str) -> u64 {
        let op = KvOp::Append {
            key: key.into(),
            value: suffix.into(),
        };
        let out = KvOutput::Append {
            value: after.into(),
        };
        self.push(c, at.0, Some(at.1), op, Some(out))
    }

    #[allow(clippy::too_many_arguments)]
    fn cas(
        &mut self,
        c: u64,
        at: (u64, u64),
        key: &str,
        expected: Option<&str>,
        new: &str,
        swapped: bool,
        prev: Option<&str>,
    ) -> u64 {
        let op = KvOp::Cas {
            key: key.into(),
            expected: expected.map(str::to_string),
            new_value: new.into(),
        };
        let out = KvOutput::Cas {
            swapped,
            previous: prev.map(str::to_string),
        };
        self.push(c, at.0, Some(at.1), op, Some(out))
    }

    fn unknown_put(&mut self, c: u64, invoke: u64, key: &str, v: &str) -> u64 {
        let op = KvOp::Put {
            key: key.into(),
            value: v.into(),
        };
        self.push(c, invoke, None, op, None)
    }

    fn check(&self) -> CheckResult {
        check(&self.ops, BUDGET)
    }
}

/// The window of a violation and its conflicting ops, as ids; panics on another verdict.
fn window_ids(result: &CheckResult) -> (Vec<u64>, Vec<u64>) {
    match result {
        CheckResult::NotLinearizable {
            window,
            conflicting,
            ..
        } => (window.iter().map(|op| op.id).collect(), conflicting.clone()),
        other => panic!("expected a violation, got {other}"),
    }
}

#[test]
fn a_sequential_history_is_linearizable() {
    let mut h = Builder::default();
    h.get(1, (0, 1), "x", None);
    h.put(1, (2, 3), "x", "a", None);
    h.get(2, (4, 5), "x", Some("a"));
    h.append(1, (6, 7), "x", "b", "ab");
    h.cas(2, (8, 9), "x", Some("ab"), "c", true, Some("ab"));
    h.cas(1, (10, 11), "x", Some("ab"), "d", false, Some("c"));
    h.push(
        2,
        12,
        Some(13),
        KvOp::Delete { key: "x".into() },
        Some(KvOutput::Delete { existed: true }),
    );
    h.get(1, (14, 15), "x", None);
    h.append(1, (16, 17), "x", "e", "e");
    assert_eq!(h.check(), CheckResult::Linearizable);
}

#[test]
fn concurrent_writes_and_a_read_seeing_either_are_linearizable() {
    for (first, second) in [("a", "b"), ("b", "a")] {
        for seen in [first, second] {
            let mut h = Builder::default();
            h.put(1, (0, 10), "x", first, None);
            h.put(2, (0, 10), "x", second, Some(first));
            h.get(3, (5, 6), "x", Some(seen));
            assert_eq!(
                h.check(),
                CheckResult::Linearizable,
                "{first} {second} {seen}"
            );
        }
    }
    // A read concurrent with both may also see neither.
    let mut h = Builder::default();
    h.put(1, (0, 10), "x", "a", None);
    h.put(2, (0, 10), "x", "b", Some("a"));
    h.get(3, (1, 2), "x", None);
    assert_eq!(h.check(), CheckResult::Linearizable);
}

#[test]
fn a_read_may_see_neither_concurrent_write_but_not_after_both() {
    let mut h = Builder::default();
    h.unknown_put(1, 0, "x", "a");
    h.put(2, (0, 10), "x", "b", None);
    h.get(3, (1, 2), "x", None);
    assert_eq!(h.check(), CheckResult::Linearizable);
    h.get(3, (11, 12), "x", None);
    let (window, conflicting) = window_ids(&h.check());
    assert_eq!(conflicting, vec![3]);
    assert_eq!(window, vec![0, 1, 3]);
}

#[test]
fn operations_that_touch_end_to_end_are_concurrent() {
    // A completes at 10 and B is invoked at 10: concurrent, B may come first.
    let mut h = Builder::default();
    h.put(1, (0, 10), "x", "a", None);
    h.get(2, (10, 12), "x", None);
    assert_eq!(h.check(), CheckResult::Linearizable);
    let mut h = Builder::default();
    h.put(1, (0, 10), "x", "a", None);
    h.get(2, (11, 12), "x", None);
    assert!(!h.check().is_linearizable());
}

#[test]
fn overlapping_appends_and_reads_are_linearizable() {
    let mut h = Builder::default();
    h.append(1, (0, 20), "x", "a", "ba");
    h.append(2, (5, 15), "x", "b", "b");
    h.get(3, (1, 3), "x", None);
    h.get(4, (6, 30), "x", Some("b"));
    h.get(5, (16, 25), "x", Some("ba"));
    h.append(6, (21, 40), "x", "c", "bac");
    h.get(7, (22, 23), "x", Some("ba"));
    h.get(8, (41, 42), "x", Some("bac"));
    assert_eq!(h.check(), CheckResult::Linearizable);
}

#[test]
fn appends_that_skip_each_other_are_caught() {
    let mut h = Builder::default();
    h.append(1, (0, 10), "x", "a", "a");
    h.append(2, (0, 10), "x", "b", "b");
    assert_eq!(window_ids(&h.check()), (vec![0, 1], vec![0, 1]));
}

#[test]
fn a_cas_race_with_one_winner_is_linearizable() {
    let mut h = Builder::default();
    h.put(1, (0, 1), "x", "0", None);
    h.cas(2, (2, 10), "x", Some("0"), "a", true, Some("0"));
    h.cas(3, (3, 9), "x", Some("0"), "b", false, Some("a"));
    h.cas(4, (4, 11), "x", Some("0"), "c", false, Some("a"));
    h.get(5, (12, 13), "x", Some("a"));
    assert_eq!(h.check(), CheckResult::Linearizable);
}

#[test]
fn a_cas_race_with_two_winners_is_caught() {
    let mut h = Builder::default();
    h.put(1, (0, 1), "x", "0", None);
    h.cas(2, (2, 10), "x", Some("0"), "a", true, Some("0"));
    h.cas(3, (3, 9), "x", Some("0"), "b", true, Some("0"));
    assert_eq!(window_ids(&h.check()), (vec![0, 1, 2], vec![1, 2]));
}

#[test]
fn a_stale_read_is_caught_with_the_writes_in_the_window() {
    let mut h = Builder::default();
    let w0 = h.put(1, (0, 1), "x", "old", None);
    let w1 = h.put(1, (2, 3), "x", "new", Some("old"));
    let read = h.get(2, (5, 6), "x", Some("old"));
    // The read alone conflicts with the puts' timing; both puts are shown for context.
    assert_eq!(window_ids(&h.check()), (vec![w0, w1, read], vec![read]));
}

/// Whether `order` is a linearization of its key's operations in `ops`: every operation with an
/// answer in it, each once, none failed; real time respected; each answer the model's.
fn valid_order(ops: &[Operation], order: &KeyOrder) -> Result<(), String> {
    let by_id: std::collections::HashMap<u64, &Operation> =
        ops.iter().map(|op| (op.id, op)).collect();
    let mut placed = std::collections::HashSet::new();
    let mut state: model::State = None;
    for (i, id) in order.order.iter().enumerate() {
        let op = by_id.get(id).ok_or(format!("no op #{id}"))?;
        if op.key() != order.key || !placed.insert(*id) {
            return Err(format!("#{id} of another key, or twice"));
        }
        if op.status() == crate::check::OpStatus::Failed {
            return Err(format!("failed op #{id} placed"));
        }
        for later in &order.order[i + 1..] {
            if by_id[later].complete_us.is_some_and(|c| c < op.invoke_us) {
                return Err(format!("#{later} returned before #{id} was invoked"));
            }
        }
        state = model::step(&state, &op.op, op.output.as_ref())
            .ok_or(format!("#{id}'s answer is not the model's after {state:?}"))?;
    }
    let missing: Vec<u64> = ops
        .iter()
        .filter(|op| op.key() == order.key && op.output.is_some() && !placed.contains(&op.id))
        .map(|op| op.id)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!("answered ops not placed: {missing:?}"))
    }
}

#[test]
fn the_traced_check_keeps_the_order_or_the_longest_partial_one() {
    let mut h = Builder::default();
    let w0 = h.put(1, (0, 10), "x", "1", None);
    let r = h.get(2, (5, 20), "x", Some("1"));
    let w1 = h.put(3, (15, 30), "x", "2", Some("1"));
    let unknown = h.unknown_put(1, 40, "x", "3");
    let r2 = h.get(2, (50, 60), "x", Some("3"));
    let report = check_report_traced(&h.ops, BUDGET);
    assert!(report.result.is_linearizable(), "{report}");
    let order = &report.orders[0];
    assert_eq!(order.order, vec![w0, r, w1, unknown, r2]);
    assert_eq!(order.stuck, None);
    valid_order(&h.ops, order).unwrap();
    // Not traced: no orders, the same verdict.
    let plain = check_report(&h.ops, BUDGET);
    assert!(plain.orders.is_empty() && plain.result.is_linearizable());

    // A stale read: the two puts are placed, then the read's return comes first.
    let mut h = Builder::default();
    let w0 = h.put(1, (0, 1), "x", "old", None);
    let w1 = h.put(1, (2, 3), "x", "new", Some("old"));
    let read = h.get(2, (5, 6), "x", Some("old"));
    let report = check_report_traced(&h.ops, BUDGET);
    assert!(!report.result.is_linearizable());
    assert_eq!(report.orders[0].order, vec![w0, w1]);
    assert_eq!(report.orders[0].stuck, Some(read));
}

#[test]
fn a_lost_write_is_caught() {
    // The put of "b" was acknowledged; later reads never see it, and nothing else wrote.
    let mut h = Builder::default();
    let a = h.put(1, (0, 1), "x", "a", None);
    let b = h.put(2, (2, 3), "x", "b", Some("a"));
    let r1 = h.get(3, (4, 5), "x", Some("a"));
    let r2 = h.get(3, (6, 7), "x", Some("a"));
    let (window, conflicting) = window_ids(&h.check());
    // The put of "b" completed; a read after it still saw "a".
    assert!(
        conflicting == [r1] || conflicting == [r2],
        "{conflicting:?}"
    );
    assert_eq!(window, [vec![a, b], conflicting].concat());
}

#[test]
fn a_write_seen_then_unseen_is_caught() {
    let mut h = Builder::default();
    let v1 = h.put(1, (0, 1), "x", "v1", None);
    let v2 = h.put(2, (2, 20), "x", "v2", Some("v1"));
    let saw = h.get(3, (3, 4), "x", Some("v2"));
    let unsaw = h.get(3, (5, 6), "x", Some("v1"));
    let (window, conflicting) = window_ids(&h.check());
    assert_eq!(conflicting, vec![saw, unsaw]);
    assert_eq!(window, vec![v1, v2, saw, unsaw]);
}

#[test]
fn an_unknown_put_that_a_later_read_observes_is_linearizable() {
    let mut h = Builder::default();
    h.put(1, (0, 1), "x", "a", None);
    h.unknown_put(2, 2, "x", "b");
    h.get(3, (3, 4), "x", Some("a"));
    h.get(3, (50, 51), "x", Some("b"));
    h.get(3, (60, 61), "x", Some("b"));
    assert_eq!(h.check(), CheckResult::Linearizable);
}

#[test]
fn an_unknown_put_that_nobody_observes_is_linearizable() {
    let mut h = Builder::default();
    h.put(1, (0, 1), "x", "a", None);
    h.unknown_put(2, 2, "x", "b");
    h.get(3, (3, 4), "x", Some("a"));
    h.get(3, (50, 51), "x", Some("a"));
    assert_eq!(h.check(), CheckResult::Linearizable);
}

#[test]
fn an_unknown_put_cannot_explain_a_read_before_its_invocation() {
    let mut h = Builder::default();
    h.put(1, (0, 1), "x", "a", None);
    let read = h.get(3, (2, 3), "x", Some("b"));
    let late = h.unknown_put(2, 4, "x", "b");
    let (window, conflicting) = window_ids(&h.check());
    assert_eq!(conflicting, vec![read]);
    assert!(!window.contains(&late), "{window:?}");
}

#[test]
fn failed_operations_are_ignored() {
    let mut h = Builder::default();
    h.put(1, (0, 1), "x", "a", None);
    h.push(
        2,
        2,
        Some(3),
        KvOp::Put {
            key: "x".into(),
            value: "b".into(),
        },
        None,
    );
    h.get(3, (4, 5), "x", Some("a"));
    assert_eq!(h.check(), CheckResult::Linearizable);
}

#[test]
fn keys_are_judged_independently() {
    let mut h = Builder::default();
    h.put(1, (0, 1), "x", "a", None);
    h.put(1, (0, 1), "y", "a", None);
    h.get(2, (2, 3), "y", Some("a"));
    h.get(2, (2, 3), "x", None);
    let result = h.check();
    assert!(matches!(&result, CheckResult::NotLinearizable { key, .. } if key == "x"));
    assert_eq!(window_ids(&result), (vec![0, 3], vec![3]));
}

#[test]
fn the_verdict_prints_the_window_as_a_timeline() {
    let mut h = Builder::default();
    h.put(1, (0, 1000), "x", "old", None);
    h.put(1, (2000, 3000), "x", "new", Some("old"));
    h.unknown_put(7, 2500, "x", "zzz");
    h.ops[2].error = Some("timeout".into());
    h.get(2, (5000, 6500), "x", Some("old"));
    let text = h.check().to_string();
    let expected = r#"NOT linearizable: key "x". The answers marked ✗ cannot all be right, given when each operation of the key ran; the other lines are writes they could have seen.
  client    1  [     0.000,      1.000] ms  put x="old"  → ok, was absent     |[===]                           |
  client    1  [     2.000,      3.000] ms  put x="new"  → ok, was "old"      |         [====]                 |
  client    7  [     2.500,          ?] ms  put x="zzz"  ? unknown (timeout)  |           [===================>|
✗ client    2  [     5.000,      6.500] ms  get x        → "old"              |                       [=======]|
"#;
    assert_eq!(text, expected, "\n{text}");
    let report = check_report(&h.ops, BUDGET);
    let text = report.to_string();
    assert!(
        text.contains("1 conflicting answers (1-minimal) among 4 ops"),
        "{text}"
    );
    assert_eq!(check(&[], BUDGET).to_string(), "linearizable");
}

#[test]
fn a_violation_deep_in_a_long_history_gets_a_small_window() {
    let mut ops = generate(&Gen {
        seed: 7,
        ops: 600,
        clients: 6,
        keys: 1,
        unknown_per_mille: 20,
        failed_per_mille: 20,
        unique_appends: false,
    });
    let end = ops
        .iter()
        .filter_map(|op| op.complete_us)
        .max()
        .unwrap_or(0)
        + 10_000;
    let mut h = Builder { ops: Vec::new() };
    let a = h.put(1, (end, end + 5), "k0", "A", None);
    let b = h.put(1, (end + 10, end + 15), "k0", "B", Some("A"));
    let read = h.get(2, (end + 20, end + 25), "k0", Some("A"));
    for op in &mut h.ops {
        op.id += 10_000;
        // The first put's previous value is whatever the generated history left.
        if op.id == a + 10_000 {
            op.output = None;
            op.complete_us = None;
        }
    }
    ops.extend(h.ops);
    let report = check_report(&ops, BUDGET);
    let (window, conflicting) = window_ids(&report.result);
    println!("{report}");
    // The put of "B" answered that "A" was there before it; the read saw "A" after it; and
    // (because the put of "A" may have taken effect at any time after its invocation) the
    // last read before shows that "A" was not there already.
    assert!(conflicting.len() <= 3, "{conflicting:?}");
    assert!(
        conflicting.ends_with(&[b + 10_000, read + 10_000]),
        "{conflicting:?}"
    );
    // Shown with them: the put of "A".
    assert!(window.contains(&(a + 10_000)), "{window:?}");
    assert!(window.len() <= 6, "{window:?}");
}

#[test]
fn a_huge_adversarial_history_gives_up_within_a_tiny_budget() {
    // Forty unknown puts and forty reads, all concurrent, each read seeing one put, and one
    // read of a value nobody wrote: not linearizable, but only after every interleaving of
    // puts and reads has been tried.
    let mut h = Builder::default();
    for i in 0..40 {
        h.unknown_put(i, 0, "x", &format!("p{i}"));
        h.get(100 + i, (0, 1000), "x", Some(&format!("p{i}")));
    }
    h.get(999, (0, 1000), "x", Some("nobody"));
    let started = Instant::now();
    let result = check(&h.ops, Duration::from_millis(20));
    assert!(
        matches!(&result, CheckResult::GaveUp { key, .. } if key == "x"),
        "{result}"
    );
    println!("{result} (returned after {:?})", started.elapsed());
}

// ---------------------------------------------------------------------------------------
// Generated histories: a sequential model run, with concurrent intervals around each op's
// linearization point.
// ---------------------------------------------------------------------------------------

/// SplitMix64: enough randomness for generated histories.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

#[derive(Clone, Debug)]
struct Gen {
    seed: u64,
    ops: usize,
    clients: u64,
    keys: u64,
    unknown_per_mille: u64,
    failed_per_mille: u64,
    /// Appends of unique tokens (as a real workload would use) rather than of `a`, `b`, `c`.
    unique_appends: bool,
}

/// Each client runs one op at a time; each op takes effect at a random point of its
/// interval, in the order of those points, on a real sequential model. Unknown ops took
/// effect or not (half each); failed ones did not.
fn generate(g: &Gen) -> Vec<Operation> {
    let mut rng = Rng(g.seed);
    let mut free_at: Vec<u64> = (0..g.clients).map(|_| rng.below(50)).collect();
    let mut written: Vec<Vec<String>> = vec![Vec::new(); g.keys as usize];
    let mut planned = Vec::new();
    for i in 0..g.ops {
        let client = rng.below(g.clients);
        let invoke = free_at[client as usize] + rng.below(30);
        let duration = 1 + rng.below(300);
        let point = invoke + rng.below(duration + 1);
        free_at[client as usize] = invoke + duration;
        let k = rng.below(g.keys) as usize;
        let key = format!("k{k}");
        let op = match rng.below(10) {
            0..=2 => KvOp::Get { key },
            3..=4 => {
                let value = format!("v{i}");
                written[k].push(value.clone());
                KvOp::Put { key, value }
            }
            5 => KvOp::Delete { key },
            6..=7 => KvOp::Append {
                key,
                value: if g.unique_appends {
                    format!("<{i}>")
                } else {
                    ["a", "b", "c"][rng.below(3) as usize].to_string()
                },
            },
            _ => {
                let expected = match written[k].len() {
                    0 => None,
                    n if rng.below(4) > 0 => Some(written[k][rng.below(n as u64) as usize].clone()),
                    _ => None,
                };
                let new_value = format!("c{i}");
                written[k].push(new_value.clone());
                KvOp::Cas {
                    key,
                    expected,
                    new_value,
                }
            }
        };
        let roll = rng.below(1000);
        let fate = if roll < g.unknown_per_mille {
            if rng.below(2) == 0 {
                Fate::UnknownApplied
            } else {
                Fate::UnknownNotApplied
            }
        } else if roll < g.unknown_per_mille + g.failed_per_mille {
            Fate::Failed
        } else {
            Fate::Ok
        };
        planned.push((point, i, client, invoke, invoke + duration, op, fate));
    }
    planned.sort_by_key(|p| (p.0, p.1));
    let mut states: Vec<model::State> = vec![None; g.keys as usize];
    let mut ops = Vec::new();
    for (_, i, client, invoke, complete, op, fate) in planned {
        let k: usize = op.key()[1..].parse().unwrap();
        let mut record = Operation {
            id: i as u64,
            client,
            invoke_us: invoke,
            complete_us: None,
            op,
            output: None,
            error: None,
        };
        match fate {
            Fate::Ok => {
                let (next, output) = model::apply(&states[k], &record.op);
                states[k] = next;
                record.complete_us = Some(complete);
                record.output = Some(output);
            }
            Fate::UnknownApplied => {
                states[k] = model::apply(&states[k], &record.op).0;
                record.error = Some("timeout".into());
            }
            Fate::UnknownNotApplied => record.error = Some("timeout".into()),
            Fate::Failed => {
                record.complete_us = Some(complete);
                record.error = Some("not leader".into());
            }
        }
        ops.push(record);
    }
    ops.sort_by_key(|op| op.id);
    ops
}

enum Fate {
    Ok,
    UnknownApplied,
    UnknownNotApplied,
    Failed,
}

fn gen_strategy() -> impl Strategy<Value = Gen> {
    (
        any::<u64>(),
        1usize..80,
        1u64..6,
        1u64..4,
        0u64..150,
        0u64..100,
        any::<bool>(),
    )
        .prop_map(
            |(seed, ops, clients, keys, unknown_per_mille, failed_per_mille, unique_appends)| Gen {
                seed,
                ops,
                clients,
                keys,
                unknown_per_mille,
                failed_per_mille,
                unique_appends,
            },
        )
}

proptest! {
    #[test]
    fn generated_histories_are_linearizable(g in gen_strategy()) {
        let ops = generate(&g);
        let result = check(&ops, BUDGET);
        prop_assert!(result.is_linearizable(), "{}", result);
        // The traced check finds the same, and its orders are linearizations.
        let traced = check_report_traced(&ops, BUDGET);
        prop_assert!(traced.result.is_linearizable(), "{}", traced.result);
        prop_assert_eq!(traced.orders.len(), traced.keys.len());
        for order in &traced.orders {
            if let Err(why) = valid_order(&ops, order) {
                prop_assert!(false, "key {:?}: {}", order.key, why);
            }
        }
    }

    #[test]
    fn a_read_of_a_value_never_written_is_caught(g in gen_strategy(), pick in any::<usize>()) {
        let mut ops = generate(&g);
        let reads: Vec<usize> = (0..ops.len())
            .filter(|&i| ops[i].op.is_read() && ops[i].output.is_some())
            .collect();
        prop_assume!(!reads.is_empty());
        let bad = reads[pick % reads.len()];
        ops[bad].output = Some(KvOutput::Get { value: Some("!never".into()) });
        let result = check(&ops, BUDGET);
        let CheckResult::NotLinearizable { key, conflicting, .. } = &result else {
            return Err(TestCaseError::fail(format!("not caught: {result}")));
        };
        prop_assert_eq!(key, ops[bad].key());
        prop_assert!(conflicting.contains(&ops[bad].id), "{}", result);
    }
}

/// An operation for the brute-force checker: the answer to match (`None`: any), its
/// interval, and whether it may never take effect.
struct Brute<'a> {
    op: &'a KvOp,
    output: Option<&'a KvOutput>,
    invoke: u64,
    ret: u64,
    optional: bool,
}

/// Linearizability by enumeration: every subset of the optional ops, every order that
/// respects real time. Answers of ops not in `answered` are ignored (their interval kept).
fn brute_force(ops: &[Operation], answered: impl Fn(&Operation) -> bool) -> bool {
    let items: Vec<Brute<'_>> = ops
        .iter()
        .filter(|op| matters(op))
        .filter(|op| op.output.is_some() || !op.op.is_read())
        .map(|op| Brute {
            op: &op.op,
            output: op.output.as_ref().filter(|_| answered(op)),
            invoke: op.invoke_us,
            ret: return_us(op),
            optional: op.complete_us.is_none(),
        })
        .collect();
    let optional: Vec<usize> = (0..items.len()).filter(|&i| items[i].optional).collect();
    (0u32..1 << optional.len()).any(|mask| {
        let chosen: Vec<usize> = (0..items.len())
            .filter(|&i| match optional.iter().position(|&o| o == i) {
                Some(bit) => mask & (1 << bit) != 0,
                None => true,
            })
            .collect();
        orders(&items, &chosen, &mut vec![false; items.len()], &None)
    })
}

fn orders(
    items: &[Brute<'_>],
    chosen: &[usize],
    placed: &mut Vec<bool>,
    state: &model::State,
) -> bool {
    let left: Vec<usize> = chosen.iter().copied().filter(|&i| !placed[i]).collect();
    if left.is_empty() {
        return true;
    }
    left.iter().any(|&i| {
        let free = left
            .iter()
            .all(|&j| j == i || items[j].ret >= items[i].invoke);
        let Some(next) = free
            .then(|| model::step(state, items[i].op, items[i].output))
            .flatten()
        else {
            return false;
        };
        placed[i] = true;
        let ok = orders(items, chosen, placed, &next);
        placed[i] = false;
        ok
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(5000))]

    /// On small histories with some answers falsified, the checker agrees with enumeration;
    /// and a violation's conflicting answers, with every other answer forgotten, still
    /// admit no order.
    #[test]
    fn agrees_with_brute_force_on_small_histories(
        g in (any::<u64>(), 1usize..13, 1u64..6, 0u64..400, 0u64..150).prop_map(
            |(seed, ops, clients, unknown_per_mille, failed_per_mille)| Gen {
                seed, ops, clients, keys: 1, unknown_per_mille, failed_per_mille,
                unique_appends: false,
            }),
        lies in proptest::collection::vec((any::<usize>(), any::<usize>()), 0..4),
    ) {
        let mut ops = generate(&g);
        let mut pool: Vec<model::State> = vec![None, Some(String::new()), Some("a".into())];
        for op in &ops {
            if let KvOp::Put { value, .. } | KvOp::Append { value, .. } = &op.op {
                pool.push(Some(value.clone()));
            }
        }
        for (which, from) in lies {
            let i = which % ops.len();
            if ops[i].output.is_some() {
                ops[i].output = Some(model::apply(&pool[from % pool.len()], &ops[i].op).1);
            }
        }
        let expected = brute_force(&ops, |_| true);
        let result = check(&ops, BUDGET);
        prop_assert_eq!(result.is_linearizable(), expected, "{}", result);
        if let CheckResult::NotLinearizable { conflicting, .. } = &result {
            prop_assert!(!brute_force(&ops, |op| conflicting.contains(&op.id)), "{}", result);
        }
    }
}

#[test]
fn speed_on_a_generated_history() {
    for (unknown_per_mille, unique_appends) in [(10, true), (50, true), (10, false), (50, false)] {
        let g = Gen {
            seed: 42,
            ops: 5_000,
            clients: 8,
            keys: 5,
            unknown_per_mille,
            failed_per_mille: 10,
            unique_appends,
        };
        let ops = generate(&g);
        let report = check_report(&ops, BUDGET);
        assert!(report.result.is_linearizable(), "{report}");
        println!("{report}");
        println!(
            "{} ops, {} keys, {} clients, {}‰ unknown, appends {}: {:.0} ops/s checked",
            ops.len(),
            g.keys,
            g.clients,
            unknown_per_mille,
            if unique_appends {
                "unique"
            } else {
                "of a, b, c"
            },
            ops.len() as f64 / report.elapsed.as_secs_f64()
        );
        // The same history with one read in the middle made stale.
        let mut bad = ops.clone();
        let middle = bad.len() / 2;
        let read = (middle..bad.len())
            .find(|&i| bad[i].op.is_read() && bad[i].output.is_some())
            .unwrap();
        bad[read].output = Some(KvOutput::Get {
            value: Some("!stale".into()),
        });
        let report = check_report(&bad, BUDGET);
        assert!(
            matches!(report.result, CheckResult::NotLinearizable { .. }),
            "{report}"
        );
        println!("{report}");
    }
}
