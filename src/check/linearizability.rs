//! The linearizability checker for the KV model: is there one order of the operations, each
//! taking effect at a single instant between its invocation and its completion, that explains
//! every answer the clients got?
//!
//! [`check`] splits the history by key — every operation touches one key and the store is a
//! product of independent keys, so the history is linearizable iff each key's sub-history is
//! (P-compositionality, as in Porcupine) — and searches each key on its own, smallest first,
//! within one time budget (the `search` module describes the algorithm and how unknown outcomes
//! are handled). Failed operations, known not to have been applied, are ignored.
//!
//! # The failing window
//!
//! When a key is not linearizable, [`CheckResult::NotLinearizable`] names a small set C of that
//! key's operations whose **answers conflict**:
//!
//! > Every operation of the key took effect within its recorded interval (an unknown one: at
//! > any time after its invocation, or never); and yet the answers of C cannot all be right,
//! > whatever the answers of the other operations were.
//!
//! Only answers are ever left out, never operations: every write still takes effect within its
//! recorded interval, so C cannot be an artefact of a missing write (leaving out the put of `v`
//! would make any read of `v` look impossible). C is found in three steps, all within what is
//! left of the same budget:
//!
//! 1. **Prefix.** The shortest prefix, in order of invocation, that is already not
//!    linearizable, counting the operations of the prefix still running when the next one was
//!    invoked as unknown (this makes the property monotone, so a binary search finds it). The
//!    operations after the prefix keep their effects but lose their answers.
//! 2. **Cut.** The latest time T such that, *whatever the state of the key at T*, the operations
//!    that had not returned by T still conflict; those that returned before T are left out and
//!    summed up by that unknown state, and those still running across the cut are made unknown
//!    (they may have taken effect before it). Searched backwards from the end in doubling steps,
//!    then by bisection; no cut if even the start does not fail from an arbitrary state.
//! 3. **Greedy forgetting.** Forget the answers of chunks of halving size, then of single
//!    operations, while the rest still conflicts, until no single answer can be forgotten.
//!
//! The cut statement (from any state at T) implies the one above (from the true state), so C is
//! sound either way. "Minimal" means *1-minimal for the cut*: with the state at T unknown,
//! forgetting any one answer of C would remove the conflict. It is not necessarily the smallest
//! such set, nor 1-minimal from the true initial state (the answer that pins the state right
//! after the cut may be in C where the full history would not need it). When the budget runs
//! out while shrinking, C is only the smallest found so far ([`ShrinkStats::minimal`] says
//! which).
//!
//! The window shown is C plus, for context, the writes each of its operations could have seen:
//! those that may be the last before it (not followed by another write that completed before it
//! was invoked; an unknown write counts only if invoked after that one), and the latest write
//! before it of the value it saw.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::time::{Duration, Instant};

use super::history::{KvOp, KvOutput, Operation};
use super::search::{self, matters, observations, return_us, Initial, Item, Observation, Verdict};

/// The verdict on a history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckResult {
    /// Some order of the operations, respecting real time, explains every answer.
    Linearizable,
    /// No order does for the operations on `key`.
    NotLinearizable {
        /// The key whose operations are not linearizable.
        key: String,
        /// The failing window, in order of invocation: the operations whose answers conflict
        /// and, for context, the writes they could have seen (see the module docs).
        window: Vec<Operation>,
        /// The ids of the window's operations whose answers conflict.
        conflicting: Vec<u64>,
    },
    /// The budget ran out (or the memory cap was reached) before a verdict on `key`; no key
    /// checked was found not linearizable.
    GaveUp {
        /// A key left undecided.
        key: String,
        /// Why, with how far the search got.
        reason: String,
    },
}

impl CheckResult {
    /// Whether the verdict is [`CheckResult::Linearizable`].
    pub fn is_linearizable(&self) -> bool {
        matches!(self, CheckResult::Linearizable)
    }
}

/// The verdict on one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyVerdict {
    /// Linearizable.
    Linearizable,
    /// Not linearizable.
    NotLinearizable,
    /// Undecided within the budget.
    GaveUp,
    /// Not searched: another key was found not linearizable first.
    Skipped,
}

/// What the checker did on one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyStats {
    /// The key.
    pub key: String,
    /// Operations on the key in the history.
    pub ops: usize,
    /// Of those, the ones searched (the others: failed, unknown gets, unknown writes nobody
    /// could have observed).
    pub searched: usize,
    /// Iterations of the search, over all attempts.
    pub steps: u64,
    /// Configurations remembered by the last attempt.
    pub configurations: usize,
    /// Time spent searching the key (not shrinking).
    pub elapsed: Duration,
    /// The verdict.
    pub verdict: KeyVerdict,
}

/// What shrinking a violation to its window did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShrinkStats {
    /// Operations of the key the checker looked at (failed ones and unknown gets excluded).
    pub from: usize,
    /// Length of the shortest failing prefix found.
    pub prefix: usize,
    /// The time of the cut: the state of the key then is taken as unknown (see the module docs).
    pub cut_us: Option<u64>,
    /// Operations whose answers conflict.
    pub conflicting: usize,
    /// Operations in the window: those, and the writes shown for context.
    pub window: usize,
    /// Searches run while shrinking.
    pub searches: usize,
    /// Whether the conflicting set is 1-minimal; `false` if the budget ran out first.
    pub minimal: bool,
    /// Time spent shrinking.
    pub elapsed: Duration,
}

/// A verdict with what it cost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The verdict.
    pub result: CheckResult,
    /// Per key, in the order they were searched (smallest first).
    pub keys: Vec<KeyStats>,
    /// Present when a violation was shrunk.
    pub shrink: Option<ShrinkStats>,
    /// Total time.
    pub elapsed: Duration,
}

/// Whether `ops` are linearizable, spending at most about `budget` (the clock is read every
/// thousand search steps or so). [`check_report`] does the same with statistics.
pub fn check(ops: &[Operation], budget: Duration) -> CheckResult {
    check_report(ops, budget).result
}

/// How many times keys that gave up are searched again with the time others left over.
const RETRIES: usize = 3;

/// [`check`], with what each key cost.
///
/// Keys are searched smallest first, each with an equal share of the time left, so that small
/// keys are decided even when a large one is hard. Keys that gave up are searched again (from
/// scratch) while the time left per key is more than they had. The first key found not
/// linearizable stops the check; its window is shrunk with the rest of the budget.
pub fn check_report(ops: &[Operation], budget: Duration) -> Report {
    let start = Instant::now();
    let deadline = start
        .checked_add(budget)
        .unwrap_or(start + Duration::from_secs(1 << 32));
    let mut by_key: BTreeMap<&str, Vec<&Operation>> = BTreeMap::new();
    for op in ops {
        by_key.entry(op.key()).or_default().push(op);
    }
    let mut keys: Vec<(&str, Vec<&Operation>)> = by_key.into_iter().collect();
    keys.sort_by_key(|(_, ops)| ops.len());
    let mut stats: Vec<KeyStats> = keys
        .iter()
        .map(|(key, ops)| KeyStats {
            key: (*key).to_string(),
            ops: ops.len(),
            searched: 0,
            steps: 0,
            configurations: 0,
            elapsed: Duration::ZERO,
            verdict: KeyVerdict::Skipped,
        })
        .collect();
    let report = |result, keys, shrink| Report {
        result,
        keys,
        shrink,
        elapsed: start.elapsed(),
    };
    let mut todo: Vec<usize> = (0..keys.len()).collect();
    let mut shares = vec![Duration::ZERO; keys.len()];
    let mut reasons = vec![String::new(); keys.len()];
    let mut attempt = 0;
    loop {
        let mut undecided = Vec::new();
        for (done, &k) in todo.iter().enumerate() {
            let now = Instant::now();
            let left = deadline.saturating_duration_since(now);
            let share = left / u32::try_from(todo.len() - done).unwrap_or(u32::MAX);
            shares[k] = share;
            let items: Vec<Item<'_>> = keys[k].1.iter().filter_map(|op| Item::of(op)).collect();
            let (verdict, s) = search::search(&items, Initial::Absent, now + share);
            let stat = &mut stats[k];
            stat.searched = s.ops;
            stat.steps += s.steps;
            stat.configurations = s.configurations;
            stat.elapsed += now.elapsed();
            match verdict {
                Verdict::Linearizable => stat.verdict = KeyVerdict::Linearizable,
                Verdict::GaveUp(reason) => {
                    stat.verdict = KeyVerdict::GaveUp;
                    reasons[k] = reason;
                    undecided.push(k);
                }
                Verdict::NotLinearizable => {
                    stat.verdict = KeyVerdict::NotLinearizable;
                    let (window, conflicting, shrink) = shrink(&keys[k].1, deadline);
                    let result = CheckResult::NotLinearizable {
                        key: keys[k].0.to_string(),
                        window,
                        conflicting,
                    };
                    return report(result, stats, Some(shrink));
                }
            }
        }
        let Some(&first) = undecided.first() else {
            return report(CheckResult::Linearizable, stats, None);
        };
        let left = deadline.saturating_duration_since(Instant::now());
        let next_share = left / u32::try_from(undecided.len()).unwrap_or(u32::MAX);
        let had = undecided
            .iter()
            .map(|&k| shares[k])
            .max()
            .unwrap_or_default();
        if attempt == RETRIES || next_share <= had {
            let others = undecided.len() - 1;
            let reason = if others == 0 {
                std::mem::take(&mut reasons[first])
            } else {
                format!("{} ({others} other keys undecided too)", reasons[first])
            };
            let result = CheckResult::GaveUp {
                key: keys[first].0.to_string(),
                reason,
            };
            return report(result, stats, None);
        }
        todo = undecided;
        attempt += 1;
    }
}

/// Where a history is cut: what happened before `at` is summed up as an unknown state.
#[derive(Clone, Copy, Debug)]
struct Cut {
    /// Operations that returned before this are left out.
    at: u64,
    /// The latest return among them: operations invoked by then may have taken effect before
    /// some of them, so they are made unknown.
    straddle: Option<u64>,
}

impl Cut {
    /// The cut at the invocation of `all[c]`; `None` if it would leave nothing out.
    fn at(all: &[&Operation], c: usize) -> Option<Cut> {
        let at = all[c].invoke_us;
        let straddle = all
            .iter()
            .map(|op| return_us(op))
            .filter(|&ret| ret < at)
            .max();
        straddle.map(|_| Cut { at, straddle })
    }
}

/// The items of `all`: answered ones as recorded, others with their answer forgotten; with a
/// cut, without those before it and with those running across it made unknown.
fn items<'a>(all: &[&'a Operation], answered: &[bool], cut: Option<Cut>) -> Vec<Item<'a>> {
    all.iter()
        .zip(answered)
        .filter_map(|(&op, &answered)| {
            if let Some(cut) = cut {
                if return_us(op) < cut.at {
                    return None;
                }
                if Some(op.invoke_us) <= cut.straddle {
                    return Item::unknown(op);
                }
            }
            if answered {
                Item::of(op)
            } else {
                Item::forgotten(op)
            }
        })
        .collect()
}

/// Shrinks a non-linearizable key (all its operations in `ops`) to its window: the window,
/// the ids of the conflicting operations, and what it cost. See the module docs.
fn shrink(ops: &[&Operation], deadline: Instant) -> (Vec<Operation>, Vec<u64>, ShrinkStats) {
    let started = Instant::now();
    let mut all: Vec<&Operation> = ops.iter().copied().filter(|op| matters(op)).collect();
    all.sort_by_key(|op| (op.invoke_us, op.id));
    let n = all.len();
    let mut searches = 0;
    // No single search may take more than a quarter of the time left: one that gives up only
    // makes the window larger.
    let mut conflicts = |items: &[Item<'_>], initial: Initial| -> Option<bool> {
        searches += 1;
        let now = Instant::now();
        let limit = now + deadline.saturating_duration_since(now) / 4;
        match search::search(items, initial, limit).0 {
            Verdict::NotLinearizable => Some(true),
            Verdict::Linearizable => Some(false),
            Verdict::GaveUp(_) => None,
        }
    };

    // 1. The shortest failing prefix. The ops of the prefix still running when the first op
    // left out was invoked count as unknown: then a failing prefix stays failing when extended.
    let (mut lo, mut hi) = (0, n);
    while hi - lo > 1 && Instant::now() < deadline {
        let mid = lo + (hi - lo) / 2;
        let cut = all[mid].invoke_us;
        let prefix: Vec<Item<'_>> = all[..mid]
            .iter()
            .filter_map(|op| {
                if return_us(op) >= cut {
                    Item::unknown(op)
                } else {
                    Item::of(op)
                }
            })
            .collect();
        if conflicts(&prefix, Initial::Absent) == Some(true) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    // The prefix keeps its answers; the ops after it only take effect.
    let mut answered: Vec<bool> = (0..n).map(|i| i < hi).collect();

    // 2. The latest cut from which, whatever the state then, the rest still fails. Searched
    // backwards from the end in doubling steps (short suffixes are cheap to search), then by
    // bisection.
    // A cut that leaves nothing out is no cut: the state is known there (absent).
    let mut cut: Option<Cut> = None;
    let mut fails_from = |c: usize| -> Option<Option<Cut>> {
        let Some(candidate) = Cut::at(&all, c) else {
            return Some(None);
        };
        let items = items(&all, &answered, Some(candidate));
        (conflicts(&items, Initial::Any) == Some(true)).then_some(Some(candidate))
    };
    let (mut good, mut bad) = (None, hi);
    let mut step = 1;
    while good.is_none() && bad > 0 && Instant::now() < deadline {
        let c = hi.saturating_sub(step);
        match fails_from(c) {
            Some(found) => {
                good = Some(c);
                cut = found;
            }
            None => bad = c,
        }
        step *= 2;
    }
    if let Some(mut lo) = good {
        while bad - lo > 1 && Instant::now() < deadline {
            let mid = lo + (bad - lo) / 2;
            match fails_from(mid) {
                Some(found) => {
                    lo = mid;
                    cut = found;
                }
                None => bad = mid,
            }
        }
    }
    let initial = if cut.is_some() {
        Initial::Any
    } else {
        Initial::Absent
    };

    // 3. Greedy removal: an op leaves the conflicting set by having its answer forgotten.
    let mut core: Vec<usize> = (0..hi)
        .filter(|&i| {
            cut.is_none_or(|cut| {
                return_us(all[i]) >= cut.at && Some(all[i].invoke_us) > cut.straddle
            })
        })
        .collect();
    let mut chunk = (core.len() / 2).max(1);
    let mut minimal = false;
    'shrink: loop {
        let mut removed = false;
        let mut undecided = false;
        let mut at = 0;
        while at < core.len() {
            if Instant::now() >= deadline {
                break 'shrink;
            }
            let end = (at + chunk).min(core.len());
            if end - at == core.len() {
                at = end;
                continue;
            }
            for &i in &core[at..end] {
                answered[i] = false;
            }
            match conflicts(&items(&all, &answered, cut), initial) {
                Some(true) => {
                    core.drain(at..end);
                    removed = true;
                }
                verdict => {
                    undecided |= verdict.is_none();
                    for &i in &core[at..end] {
                        answered[i] = true;
                    }
                    at = end;
                }
            }
        }
        if chunk > 1 {
            chunk = (chunk / 2).max(1);
        } else if !removed {
            minimal = !undecided;
            break;
        }
    }

    let mut shown: BTreeSet<usize> = core.iter().copied().collect();
    for &o in &core {
        shown.extend(context(&all, o));
    }
    let window: Vec<Operation> = shown.iter().map(|&i| all[i].clone()).collect();
    let conflicting: Vec<u64> = core.iter().map(|&i| all[i].id).collect();
    let stats = ShrinkStats {
        from: n,
        prefix: hi,
        cut_us: cut.map(|cut| cut.at),
        conflicting: conflicting.len(),
        window: window.len(),
        searches,
        minimal,
        elapsed: started.elapsed(),
    };
    (window, conflicting, stats)
}

/// The writes op `o` of `all` could have seen: those that may be the last before it (invoked
/// before it returned, and not followed by another write that completed before it was
/// invoked; an unknown write counts only if invoked after that other write), and the latest
/// write, invoked before it returned, of the value it saw.
fn context(all: &[&Operation], o: usize) -> Vec<usize> {
    let op = all[o];
    let (invoke, ret) = (op.invoke_us, return_us(op));
    let writes = || {
        (0..all.len()).filter(move |&i| i != o && !all[i].op.is_read() && all[i].invoke_us <= ret)
    };
    // The latest invocation of a write that completed before `op` was invoked: any write that
    // completed before that was overwritten.
    let overwritten_before = writes()
        .filter(|&i| return_us(all[i]) < invoke)
        .map(|i| all[i].invoke_us)
        .max();
    let mut seen: Vec<usize> = writes()
        .filter(|&i| {
            let unknown = all[i].complete_us.is_none();
            let end = if unknown {
                all[i].invoke_us
            } else {
                return_us(all[i])
            };
            Some(end) >= overwritten_before
        })
        .collect();
    for observed in observations(&op.op, op.output.as_ref()) {
        let source = writes()
            .filter(|&i| produces(all[i], observed))
            .max_by_key(|&i| all[i].invoke_us);
        seen.extend(source);
    }
    seen
}

/// Whether `writer` can leave the key in the state `observed`.
fn produces(writer: &Operation, observed: Observation<'_>) -> bool {
    match (&writer.op, observed) {
        (KvOp::Delete { .. }, Observation::Absent) => true,
        (KvOp::Put { value, .. }, Observation::Value(v)) => value == v,
        (KvOp::Cas { new_value, .. }, Observation::Value(v)) => {
            new_value == v && !matches!(writer.output, Some(KvOutput::Cas { swapped: false, .. }))
        }
        (KvOp::Append { value: suffix, .. }, Observation::Value(v)) => match &writer.output {
            Some(KvOutput::Append { value }) => value == v,
            _ => v.ends_with(suffix.as_str()),
        },
        _ => false,
    }
}

/// `linearizable`; `NOT linearizable: key "x" …` with the window as a timeline; `undecided …`.
impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckResult::Linearizable => f.write_str("linearizable"),
            CheckResult::GaveUp { key, reason } => {
                write!(f, "undecided: gave up on key {key:?}: {reason}")
            }
            CheckResult::NotLinearizable {
                key,
                window,
                conflicting,
            } => {
                writeln!(
                    f,
                    "NOT linearizable: key {key:?}. The answers marked ✗ cannot all be right, \
                     given when each operation of the key ran; the other lines are writes they \
                     could have seen."
                )?;
                write_timeline(f, window, conflicting)
            }
        }
    }
}

/// The verdict, then one line per key and one for shrinking.
impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.result)?;
        for key in &self.keys {
            writeln!(
                f,
                "  key {:?}: {:?}, {} ops ({} searched), {} steps, {} configurations, {:.1} ms",
                key.key,
                key.verdict,
                key.ops,
                key.searched,
                key.steps,
                key.configurations,
                key.elapsed.as_secs_f64() * 1e3
            )?;
        }
        if let Some(s) = &self.shrink {
            writeln!(
                f,
                "  window: {} conflicting answers ({}) among {} ops, shortest failing prefix {}, \
                 {} searches, {:.1} ms",
                s.conflicting,
                if s.minimal {
                    "1-minimal"
                } else {
                    "not shrunk to the end: budget"
                },
                s.from,
                s.prefix,
                s.searches,
                s.elapsed.as_secs_f64() * 1e3,
            )?;
        }
        write!(f, "  checked in {:.1} ms", self.elapsed.as_secs_f64() * 1e3)
    }
}

/// Width of the interval bars of the timeline.
const BAR: usize = 32;

/// One line per op: ✗ if its answer conflicts, client, `[invoke, complete]` in ms, op, answer,
/// and a bar placing the interval within the window (`>` runs on: the outcome is unknown).
fn write_timeline(
    f: &mut fmt::Formatter<'_>,
    window: &[Operation],
    conflicting: &[u64],
) -> fmt::Result {
    let first = window.iter().map(|op| op.invoke_us).min().unwrap_or(0);
    let last = window
        .iter()
        .map(|op| op.complete_us.unwrap_or(op.invoke_us).max(op.invoke_us))
        .max()
        .unwrap_or(first);
    let span = (last - first).max(1);
    let column = |t: u64| -> usize {
        let offset = u128::from(t.saturating_sub(first).min(span));
        usize::try_from(offset * (BAR as u128 - 1) / u128::from(span)).unwrap_or(BAR - 1)
    };
    let ops: Vec<String> = window.iter().map(|op| op.op.to_string()).collect();
    let outputs: Vec<String> = window
        .iter()
        .map(|op| match (&op.output, &op.error) {
            (Some(output), _) => output.to_string(),
            (None, Some(error)) => format!("? unknown ({error})"),
            (None, None) => "? unknown".to_string(),
        })
        .collect();
    let op_width = ops.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    let out_width = outputs.iter().map(|s| s.chars().count()).max().unwrap_or(0);
    for ((op, text), output) in window.iter().zip(&ops).zip(&outputs) {
        let mark = if conflicting.contains(&op.id) {
            '✗'
        } else {
            ' '
        };
        let complete = op.complete_us.map_or_else(|| "?".to_string(), millis);
        let from = column(op.invoke_us);
        let to = op
            .complete_us
            .map_or(BAR - 1, |c| column(c.max(op.invoke_us)));
        let bar: String = (0..BAR)
            .map(|x| match x {
                _ if x < from || x > to => ' ',
                _ if from == to => '|',
                _ if x == from => '[',
                _ if x == to && op.complete_us.is_none() => '>',
                _ if x == to => ']',
                _ => '=',
            })
            .collect();
        writeln!(
            f,
            "{mark} client {:>4}  [{:>10}, {:>10}] ms  {text:<op_width$}  {output:<out_width$}  |{bar}|",
            op.client,
            millis(op.invoke_us),
            complete,
        )?;
    }
    Ok(())
}

/// Microseconds as milliseconds with three decimals.
fn millis(us: u64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

#[cfg(test)]
mod tests {
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
                        n if rng.below(4) > 0 => {
                            Some(written[k][rng.below(n as u64) as usize].clone())
                        }
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
                |(
                    seed,
                    ops,
                    clients,
                    keys,
                    unknown_per_mille,
                    failed_per_mille,
                    unique_appends,
                )| {
                    Gen {
                        seed,
                        ops,
                        clients,
                        keys,
                        unknown_per_mille,
                        failed_per_mille,
                        unique_appends,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn generated_histories_are_linearizable(g in gen_strategy()) {
            let ops = generate(&g);
            let result = check(&ops, BUDGET);
            prop_assert!(result.is_linearizable(), "{}", result);
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
        for (unknown_per_mille, unique_appends) in
            [(10, true), (50, true), (10, false), (50, false)]
        {
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
}
