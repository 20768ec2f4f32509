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
pub struct CheckReport {
    /// The verdict.
    pub result: CheckResult,
    /// Per key, in the order they were searched (smallest first).
    pub keys: Vec<KeyStats>,
    /// Present when a violation was shrunk.
    pub shrink: Option<ShrinkStats>,
    /// Total time.
    pub elapsed: Duration,
    /// Per key searched, the order the search found: filled by [`check_report_traced`] only.
    pub orders: Vec<KeyOrder>,
}

/// The order the search found for one key, read back for a picture of the history (the HTML
/// report of `raftlab check --html`): it changes nothing in the verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyOrder {
    /// The key.
    pub key: String,
    /// Linearizable: the ids of the key's operations in the order of one linearization (the
    /// operations whose outcome is unknown and that never needed to take effect are left
    /// out, as are failed ones). Otherwise: the longest partial linearization the search
    /// reached on the whole key, in order.
    pub order: Vec<u64>,
    /// Not linearizable: the operation whose completion the search met right after that longest
    /// partial linearization, before it could place it.
    pub stuck: Option<u64>,
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
pub fn check_report(ops: &[Operation], budget: Duration) -> CheckReport {
    report(ops, budget, false)
}

/// [`check_report`], also keeping per key the order the search found ([`CheckReport::orders`]):
/// the same searches and the same verdict; it costs a copy of the search's stack now and then.
pub fn check_report_traced(ops: &[Operation], budget: Duration) -> CheckReport {
    report(ops, budget, true)
}

fn report(ops: &[Operation], budget: Duration, traced: bool) -> CheckReport {
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
    let mut traces: Vec<Option<search::Trace>> = vec![None; keys.len()];
    let report = |result, key_stats, shrink, traces: Vec<Option<search::Trace>>| CheckReport {
        result,
        keys: key_stats,
        shrink,
        elapsed: start.elapsed(),
        orders: traces
            .into_iter()
            .zip(&keys)
            .filter_map(|(trace, (key, _))| {
                trace.map(|t| KeyOrder {
                    key: (*key).to_string(),
                    order: t.order,
                    stuck: t.stuck,
                })
            })
            .collect(),
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
            let (verdict, s) = if traced {
                let (verdict, s, trace) =
                    search::search_traced(&items, Initial::Absent, now + share);
                traces[k] = Some(trace);
                (verdict, s)
            } else {
                search::search(&items, Initial::Absent, now + share)
            };
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
                    return report(result, stats, Some(shrink), traces);
                }
            }
        }
        let Some(&first) = undecided.first() else {
            return report(CheckResult::Linearizable, stats, None, traces);
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
            return report(result, stats, None, traces);
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
impl fmt::Display for CheckReport {
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
mod tests;
