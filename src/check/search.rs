//! The search over the operations of one key: Wing & Gong's algorithm with Lowe's memoization,
//! as Porcupine implements it.
//!
//! ```text
//!   ops ─► drop what cannot matter ─► entries sorted by time ─► depth-first search
//!          (failed ops, unknown gets,   call(op) … return(op)    linearize a call the model
//!           unknown writes that no op    in a doubly-linked list  accepts, or skip it; back up
//!           could have observed; bound                            at the first return met
//!           the others)
//! ```
//!
//! **Order.** An operation *precedes* another iff it completed strictly before the other was
//! invoked; equal times are concurrent. The list sorts entries by time with calls before
//! returns at equal times, so a return is reached only after every call that could still be
//! linearized before it.
//!
//! **Search.** Scanning from the head, a call whose op the model accepts from the current state
//! is *lifted* (its call and return unlinked), pushed on a stack with the state before it, and
//! the scan restarts at the head. Reaching a return means that op can no longer be linearized in
//! this branch: pop the last linearized op, put it back, and go on with the entry after it.
//!
//! **Memoization.** A configuration is the set of ops linearized (a bitset) and the model state
//! after them. Two branches reaching the same configuration have the same future, so a branch
//! that reaches a configuration already seen is cut. The set is keyed by a hash of the bitset
//! (an XOR of one random word per op, updated in O(1)) and the state's interned id; bitsets are
//! stored flat and compared on a hash match.
//!
//! **Unknown outcomes.** An op whose outcome is unknown returns at +∞ and accepts any output: it
//! may take effect at any time after its invocation, or never (the same as at the very end,
//! since the model accepts every op in every state). So the search succeeds as soon as every op
//! with a *known* output is linearized. Left as they are, such ops multiply the configurations:
//! each could be linearized at any point of the rest of the history, in any combination. So:
//!
//! - before searching, [`prune`] drops those that no known output could have observed, and gives
//!   the others a return time — the last return of an op that could observe them — and the
//!   choice of never taking effect ([`Item::optional`]);
//! - the search decides "never" lazily, when the scan meets the op's return;
//! - at each configuration the scan tries the other ops first, and the optional ones in a second
//!   pass, only where nothing else works;
//! - an optional op is taken only if it changes the state and the next op with an answer (or a
//!   cas that could swap on it) could see the change ([`Search::visible`]); otherwise taking it
//!   here is equivalent to never taking it;
//! - of identical optional ops (say two unknown deletes) whose windows nest, only the one that
//!   must return first is tried ([`Search::blocked`]).
//!
//! Each of these only removes orders equivalent to one still tried, so verdicts are unchanged —
//! a property test compares them with brute-force enumeration on small histories.
//!
//! **Unknown initial state.** Shrinking a violation cuts the history and searches from a state
//! nothing is known about ([`Initial::Any`]); the first answer then tells the state
//! ([`model::step_from_unknown`]).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::time::Instant;

use super::history::{KvOp, KvOutput, OpStatus, Operation};
use super::model;

/// The verdict of one search.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Some order of the ops explains every known output.
    Linearizable,
    /// No order does.
    NotLinearizable,
    /// Stopped before a verdict, for the reason given.
    GaveUp(String),
}

/// What one search did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SearchStats {
    /// Items searched, after pruning.
    pub ops: usize,
    /// Iterations of the search loop.
    pub steps: u64,
    /// Configurations remembered.
    pub configurations: usize,
    /// The most ops linearized at once.
    pub deepest: usize,
}

/// The memory the configuration cache may take, in 64-bit words of bitsets (128 MiB). A search
/// that needs more gives up rather than exhaust the machine.
const MAX_CACHE_WORDS: usize = 1 << 24;

/// How many iterations pass between two looks at the clock.
const CLOCK_EVERY: u64 = 1 << 10;

/// The list's sentinels; entries are nodes `2..`.
const HEAD: usize = 0;
const TAIL: usize = 1;

/// End of a chain in the configuration cache.
const NONE: u32 = u32::MAX;

/// The interned ids of the absent state and of the unknown state ([`Initial::Any`]).
const ABSENT: u32 = 0;
const ANY: u32 = 1;

/// One operation as the search sees it: what it asked, the answer it must match (`None`: any),
/// and when it ran (`ret` is `u64::MAX` when it may take effect at any time after `invoke`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Item<'a> {
    /// The operation's id in the history ([`Operation::id`]), for [`Trace`].
    pub id: u64,
    /// What was asked.
    pub op: &'a KvOp,
    /// The answer to match; `None` accepts any.
    pub output: Option<&'a KvOutput>,
    /// When it was invoked.
    pub invoke: u64,
    /// When it returned; `u64::MAX` for +∞.
    pub ret: u64,
    /// Whether it may also never take effect: an unknown op that [`prune`] gave a return time.
    pub optional: bool,
}

impl<'a> Item<'a> {
    /// The op as recorded; `None` if the checker ignores it ([`matters`]).
    pub(crate) fn of(op: &'a Operation) -> Option<Self> {
        matters(op).then(|| Item {
            id: op.id,
            op: &op.op,
            output: op.output.as_ref(),
            invoke: op.invoke_us,
            ret: return_us(op),
            optional: false,
        })
    }

    /// The op with its answer forgotten: it still took effect within its recorded interval
    /// (an unknown op: any time after its invocation, or never). A get then does nothing.
    pub(crate) fn forgotten(op: &'a Operation) -> Option<Self> {
        let item = Item::of(op)?;
        (!op.op.is_read()).then_some(Item {
            output: None,
            ..item
        })
    }

    /// The op with its outcome unknown: it may take effect at any time after its invocation, or
    /// never, with any answer. A get then does nothing.
    pub(crate) fn unknown(op: &'a Operation) -> Option<Self> {
        let item = Item::forgotten(op)?;
        Some(Item {
            ret: u64::MAX,
            ..item
        })
    }
}

/// The state of the key before the first item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Initial {
    /// Absent: the start of a history.
    Absent,
    /// Any state: the history was cut, and what came before is unknown.
    Any,
}

/// Whether the items (all of one key) are linearizable from `initial`, searching until
/// `deadline`.
pub(crate) fn search(
    items: &[Item<'_>],
    initial: Initial,
    deadline: Instant,
) -> (Verdict, SearchStats) {
    let (verdict, stats, _) = run(items, initial, deadline, false);
    (verdict, stats)
}

/// [`search`], also keeping the order it found ([`Trace`]): the same search, the same verdict.
pub(crate) fn search_traced(
    items: &[Item<'_>],
    initial: Initial,
    deadline: Instant,
) -> (Verdict, SearchStats, Trace) {
    run(items, initial, deadline, true)
}

fn run(
    items: &[Item<'_>],
    initial: Initial,
    deadline: Instant,
    traced: bool,
) -> (Verdict, SearchStats, Trace) {
    let kept = prune(items);
    let mut stats = SearchStats {
        ops: kept.len(),
        ..SearchStats::default()
    };
    let mut search = Search::new(&kept);
    let mut tracer = traced.then(Tracer::default);
    let verdict = search.run(initial, deadline, &mut stats, tracer.as_mut());
    let trace = tracer.map_or_else(Trace::default, |t| t.finish(&search));
    (verdict, stats, trace)
}

/// The order a traced search found: read-only, for pictures of a history.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Trace {
    /// The ids of the ops in the order they were linearized: all of a linearization when the
    /// items are linearizable (the unknown ops that never took effect, or were not needed, left
    /// out); otherwise the longest partial linearization the search reached (the first one
    /// reached, of that length).
    pub order: Vec<u64>,
    /// When not linearizable: the op whose return the search met right after that longest
    /// partial linearization, before it could place it.
    pub stuck: Option<u64>,
}

/// Keeps the deepest stack of a search, copying each entry at most once per push: `best`
/// agrees with the stack up to `valid`, and is brought up to date at the first back-up after
/// the stack grew past it.
#[derive(Debug, Default)]
struct Tracer {
    /// (call node, how) of the longest partial linearization so far.
    best: Vec<(usize, How)>,
    /// How many leading entries of `best` are also on the stack now.
    valid: usize,
    /// Whether the stack is longer than `best` now.
    grown: bool,
    /// The op (an index of the items) whose return ended `best`.
    stuck: Option<usize>,
    /// Whether the search found a whole linearization (then `best` is it).
    whole: bool,
}

impl Tracer {
    /// After a push.
    fn pushed(&mut self, depth: usize) {
        self.grown |= depth > self.best.len();
    }

    /// Before a back-up from `stack`, met at `entry`.
    fn backing_up(&mut self, search: &Search<'_>, stack: &[(usize, u32, How)], entry: usize) {
        if self.grown {
            self.best.truncate(self.valid);
            self.best.extend(
                stack[self.valid..]
                    .iter()
                    .map(|&(call, _, how)| (call, how)),
            );
            self.stuck = (entry != TAIL && entry != HEAD && !search.is_call[entry])
                .then(|| search.node_op[entry]);
            self.grown = false;
        }
        self.valid = self.valid.min(stack.len().saturating_sub(1));
    }

    /// When the search ends with `stack`: linearized (`whole`), or not.
    fn ended(&mut self, stack: &[(usize, u32, How)], whole: bool) {
        if whole || self.grown {
            self.best = stack.iter().map(|&(call, _, how)| (call, how)).collect();
            self.stuck = None;
            self.grown = false;
        }
        self.whole = whole;
    }

    fn finish(self, search: &Search<'_>) -> Trace {
        let id = |op: usize| search.items[op].id;
        Trace {
            order: self
                .best
                .iter()
                .filter(|&&(_, how)| how != How::Skipped)
                .map(|&(call, _)| id(search.node_op[call]))
                .collect(),
            stuck: if self.whole { None } else { self.stuck.map(id) },
        }
    }
}

/// The time an op returns: its completion, or +∞ when unknown. A completion before the
/// invocation (a malformed record) is read as the invocation.
pub(crate) fn return_us(op: &Operation) -> u64 {
    op.complete_us.map_or(u64::MAX, |c| c.max(op.invoke_us))
}

/// Whether the checker looks at an op at all: failed ops were not applied, and a get whose
/// answer is unknown neither changed nor revealed anything.
pub(crate) fn matters(op: &Operation) -> bool {
    match op.status() {
        OpStatus::Ok => true,
        OpStatus::Failed => false,
        OpStatus::Unknown => !op.op.is_read(),
    }
}

/// What an op's answer reveals about the state it was applied to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Observation<'a> {
    /// The key held exactly this value.
    Value(&'a str),
    /// The key was absent.
    Absent,
    /// The key was present (a delete that found it).
    Present,
}

/// The states an op's known output reveals (an append that returns only its own suffix saw an
/// absent key or `""`). A cas without an answer is counted as observing its `expected`: if it
/// swapped, it saw that value.
pub(crate) fn observations<'a>(op: &'a KvOp, output: Option<&'a KvOutput>) -> Vec<Observation<'a>> {
    use Observation::{Absent, Present, Value};
    match (op, output) {
        (KvOp::Get { .. }, Some(KvOutput::Get { value })) => vec![observed(value.as_deref())],
        (KvOp::Put { .. }, Some(KvOutput::Put { previous }))
        | (KvOp::Cas { .. }, Some(KvOutput::Cas { previous, .. })) => {
            vec![observed(previous.as_deref())]
        }
        (KvOp::Delete { .. }, Some(KvOutput::Delete { existed })) => {
            vec![if *existed { Present } else { Absent }]
        }
        (KvOp::Append { value: suffix, .. }, Some(KvOutput::Append { value })) => {
            match value.strip_suffix(suffix.as_str()) {
                Some("") => vec![Absent, Value("")],
                Some(before) => vec![Value(before)],
                None => Vec::new(),
            }
        }
        (KvOp::Cas { expected, .. }, None) => vec![observed(expected.as_deref())],
        _ => Vec::new(),
    }
}

fn observed(value: Option<&str>) -> Observation<'_> {
    value.map_or(Observation::Absent, Observation::Value)
}

/// The suffixes that appends without an answer (unknown or forgotten) may have added to a value
/// without anyone seeing it.
struct Tails<'a> {
    suffixes: Vec<&'a str>,
}

impl Tails<'_> {
    /// `ends[k]`: whether `x[k..]` is a concatenation of zero or more of the suffixes.
    fn ends(&self, x: &str) -> Vec<bool> {
        let mut ends = vec![false; x.len() + 1];
        ends[x.len()] = true;
        for k in (0..x.len()).rev() {
            ends[k] = x.is_char_boundary(k)
                && self.suffixes.iter().any(|suffix| {
                    !suffix.is_empty() && x[k..].starts_with(suffix) && ends[k + suffix.len()]
                });
        }
        ends
    }

    /// Whether `x` is a concatenation of one or more of the suffixes.
    fn builds(&self, x: &str) -> bool {
        if x.is_empty() {
            return self.suffixes.contains(&"");
        }
        self.ends(x)[0]
    }
}

/// Whether the state `state` (`None`: absent) can be what `seen` observes after some of the
/// `tails` are appended to it.
fn reaches(state: Option<&str>, seen: Observation<'_>, tails: &Tails<'_>) -> bool {
    use Observation::{Absent, Present, Value};
    match (state, seen) {
        (None, Absent) | (Some(_), Present) => true,
        (None, Present) => !tails.suffixes.is_empty(),
        (None, Value(seen)) => tails.builds(seen),
        (Some(_), Absent) => false,
        (Some(state), Value(seen)) => seen
            .strip_prefix(state)
            .is_some_and(|rest| rest.is_empty() || tails.ends(rest)[0]),
    }
}

/// Whether the unknown write `writer` could have produced the state `seen` observed later.
///
/// After a write, until some other write overwrites it, the key holds what the write left
/// followed by the suffixes of appends that nobody saw ([`Tails`]) — any later write with an
/// answer would itself have observed the state. So a put or cas of `v` can only be seen as
/// `v` + tails, an append of `s` as anything + `s` + tails, a delete as an absent key or as tails
/// alone. Any write but a delete is seen as present; a delete, only if appends could follow it.
fn feeds(writer: &KvOp, seen: Observation<'_>, tails: &Tails<'_>) -> bool {
    use Observation::{Absent, Present, Value};
    match (writer, seen) {
        (KvOp::Get { .. }, _) => false,
        (KvOp::Delete { .. }, Absent) => true,
        (KvOp::Delete { .. }, Present) => !tails.suffixes.is_empty(),
        (KvOp::Delete { .. }, Value(seen)) => tails.builds(seen),
        (_, Absent) => false,
        (_, Present) => true,
        (KvOp::Put { value: v, .. } | KvOp::Cas { new_value: v, .. }, Value(seen)) => seen
            .strip_prefix(v.as_str())
            .is_some_and(|rest| rest.is_empty() || tails.ends(rest)[0]),
        (KvOp::Append { value: suffix, .. }, Value(seen)) => {
            if seen.ends_with(suffix.as_str()) {
                return true;
            }
            if tails.suffixes.is_empty() {
                return false;
            }
            let ends = tails.ends(seen);
            (suffix.len()..seen.len()).any(|k| {
                ends[k] && seen.is_char_boundary(k) && seen[..k].ends_with(suffix.as_str())
            })
        }
    }
}

/// The items worth searching, with the unknown ones (returning at +∞, without an answer)
/// dropped or bounded:
///
/// - one invoked after every item with an answer had returned is dropped: it fits at the very
///   end (this holds for any item without an answer);
/// - one that no item that could be linearized after it (returning no earlier than it was
///   invoked) observes a state it could have produced ([`feeds`]) is dropped. Removing it from
///   any linearization leaves every answer as it was — whatever it wrote was overwritten before
///   anyone looked — and it can always be put back at the end; so the verdict is the same;
/// - one that such items may observe, all returning by some time L, is bounded: it returns at L
///   and becomes [`optional`](Item::optional). By the same argument, if it took effect after L
///   nobody saw it, and it may as well never have taken effect. This keeps an unknown op from
///   being tried at every point of the rest of the history.
///
/// Dropping a cas without an answer removes what it observed, so the rules are applied until
/// nothing moves.
fn prune<'a>(items: &[Item<'a>]) -> Vec<Item<'a>> {
    let last_answer = items
        .iter()
        .filter(|item| item.output.is_some())
        .map(|item| item.ret)
        .max();
    let mut keep: Vec<bool> = items
        .iter()
        .map(|item| item.output.is_some() || Some(item.invoke) <= last_answer)
        .collect();
    let seen: Vec<Vec<Observation<'_>>> = items
        .iter()
        .map(|item| observations(item.op, item.output))
        .collect();
    let unknown = |item: &Item<'_>| item.output.is_none() && item.ret == u64::MAX;
    // Per unknown item: the latest return of an item that may observe it.
    let mut bound: Vec<Option<u64>> = vec![None; items.len()];
    loop {
        let mut suffixes: Vec<&str> = items
            .iter()
            .zip(&keep)
            .filter_map(|(item, &k)| match item.op {
                KvOp::Append { value, .. } if k && item.output.is_none() => Some(value.as_str()),
                _ => None,
            })
            .collect();
        suffixes.sort_unstable();
        suffixes.dedup();
        let tails = Tails { suffixes };
        let mut changed = false;
        for i in 0..items.len() {
            let writer = items[i];
            if !keep[i] || !unknown(&writer) {
                continue;
            }
            bound[i] = (0..items.len())
                .filter(|&j| {
                    j != i
                        && keep[j]
                        && items[j].ret >= writer.invoke
                        && seen[j].iter().any(|&o| feeds(writer.op, o, &tails))
                })
                .map(|j| items[j].ret)
                .max();
            if bound[i].is_none() {
                keep[i] = false;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    items
        .iter()
        .zip(keep)
        .zip(bound)
        .filter_map(|((item, k), bound)| {
            k.then_some(match bound {
                Some(ret) if ret != u64::MAX && unknown(item) => Item {
                    ret,
                    optional: true,
                    ..*item
                },
                _ => *item,
            })
        })
        .collect()
}

/// One search's working set.
struct Search<'a> {
    items: &'a [Item<'a>],
    /// Per op: its output is known, so it must be linearized.
    known: Vec<bool>,
    /// Per op: its random word in the bitset hash.
    words: Vec<u64>,
    /// The doubly-linked list of entries, with the sentinels `HEAD` and `TAIL`.
    next: Vec<usize>,
    prev: Vec<usize>,
    /// Per node: the op of the entry.
    node_op: Vec<usize>,
    /// Per node: whether it is a call (else a return).
    is_call: Vec<bool>,
    /// Per call node: its return node; per return node: its call node.
    partner: Vec<usize>,
    /// Per op: what its answer observes ([`observations`]).
    seen: Vec<Vec<Observation<'a>>>,
    /// Per optional op: the identical optional ops that must be linearized before it
    /// (see [`Search::blocked`]).
    blockers: Vec<Vec<usize>>,
    /// Interned model states: `ABSENT`, then a placeholder for `ANY`, then the others.
    states: Vec<model::State>,
    state_ids: HashMap<model::State, u32>,
}

impl<'a> Search<'a> {
    fn new(items: &'a [Item<'a>]) -> Self {
        let mut entries: Vec<(u64, bool, usize)> = Vec::with_capacity(2 * items.len());
        for (i, item) in items.iter().enumerate() {
            // `false` sorts first: calls before returns at equal times (concurrent).
            entries.push((item.invoke, false, i));
            entries.push((item.ret.max(item.invoke), true, i));
        }
        entries.sort_unstable();
        let nodes = 2 + entries.len();
        let mut search = Search {
            items,
            known: items.iter().map(|item| item.output.is_some()).collect(),
            words: (0..items.len() as u64).map(splitmix64).collect(),
            next: vec![TAIL; nodes],
            prev: vec![HEAD; nodes],
            node_op: vec![0; nodes],
            is_call: vec![false; nodes],
            partner: vec![0; nodes],
            blockers: blockers(items),
            seen: items
                .iter()
                .map(|item| observations(item.op, item.output))
                .collect(),
            states: vec![None, None],
            state_ids: HashMap::from([(None, ABSENT)]),
        };
        let mut call_node = vec![0; items.len()];
        let mut last = HEAD;
        for (n, &(_, is_return, op)) in entries.iter().enumerate() {
            let node = 2 + n;
            search.node_op[node] = op;
            search.is_call[node] = !is_return;
            if is_return {
                search.partner[call_node[op]] = node;
                search.partner[node] = call_node[op];
            } else {
                call_node[op] = node;
            }
            search.next[last] = node;
            search.prev[node] = last;
            last = node;
        }
        search.next[last] = TAIL;
        search.prev[TAIL] = last;
        search
    }

    fn run(
        &mut self,
        initial: Initial,
        deadline: Instant,
        stats: &mut SearchStats,
        mut tracer: Option<&mut Tracer>,
    ) -> Verdict {
        let n = self.items.len();
        let mut left = self.known.iter().filter(|&&k| k).count();
        let mut seen = Seen::new(n.div_ceil(64).max(1));
        let mut bits = vec![0u64; seen.words];
        let mut hash = 0u64;
        let mut state = match initial {
            Initial::Absent => ABSENT,
            Initial::Any => ANY,
        };
        let mut stack: Vec<(usize, u32, How)> = Vec::new();
        let mut entry = self.next[HEAD];
        // The scan first tries the ops that must take effect, then, from the head again, the
        // optional ones: those are needed only where nothing else works.
        let mut deferred = false;
        loop {
            if left == 0 {
                stats.configurations = seen.len();
                if let Some(t) = tracer.as_deref_mut() {
                    t.ended(&stack, true);
                }
                return Verdict::Linearizable;
            }
            stats.steps += 1;
            if stats.steps.is_multiple_of(CLOCK_EVERY) {
                let gave_up = if Instant::now() >= deadline {
                    Some("the time budget ran out")
                } else if seen.arena.len() > MAX_CACHE_WORDS {
                    Some("the memory cap of the configuration cache was reached")
                } else {
                    None
                };
                if let Some(why) = gave_up {
                    stats.configurations = seen.len();
                    if let Some(t) = tracer.as_deref_mut() {
                        t.ended(&stack, false);
                    }
                    return Verdict::GaveUp(format!(
                        "{why} after {} steps ({} configurations; at most {} of {n} ops \
                         linearized at once)",
                        stats.steps,
                        seen.len(),
                        stats.deepest
                    ));
                }
            }
            if entry != TAIL && self.is_call[entry] {
                let op = self.node_op[entry];
                let optional = self.items[op].optional;
                if optional != deferred {
                    entry = self.next[entry];
                    continue;
                }
                let after = if optional && self.blocked(op, &bits) {
                    None
                } else {
                    self.step(state, op)
                };
                // An optional op is worth taking only if it changes the state and an op that
                // may come next could see the change; otherwise it may as well never take
                // effect, which the search tries at its return.
                let after = after
                    .filter(|&after| !optional || after != state && self.visible(op, state, after));
                let fresh = after.is_some_and(|after| {
                    seen.insert(hash ^ self.words[op], after, with(&mut bits, op))
                });
                match after {
                    Some(after) if fresh => {
                        hash ^= self.words[op];
                        let how = if optional {
                            How::Deferred
                        } else {
                            How::Applied
                        };
                        stack.push((entry, state, how));
                        stats.deepest = stats.deepest.max(stack.len());
                        if let Some(t) = tracer.as_deref_mut() {
                            t.pushed(stack.len());
                        }
                        state = after;
                        if self.known[op] {
                            left -= 1;
                        }
                        self.lift(entry);
                        (entry, deferred) = (self.next[HEAD], false);
                    }
                    Some(_) => {
                        clear(&mut bits, op);
                        entry = self.next[entry];
                    }
                    None => entry = self.next[entry],
                }
                continue;
            }
            if entry != TAIL && !deferred {
                // The first return: now try the optional calls before it.
                (entry, deferred) = (self.next[HEAD], true);
                continue;
            }
            if entry != TAIL && self.items[self.node_op[entry]].optional {
                // The return of an optional op not linearized: it never took effect.
                let (op, call) = (self.node_op[entry], self.partner[entry]);
                if seen.insert(hash ^ self.words[op], state, with(&mut bits, op)) {
                    hash ^= self.words[op];
                    stack.push((call, state, How::Skipped));
                    stats.deepest = stats.deepest.max(stack.len());
                    if let Some(t) = tracer.as_deref_mut() {
                        t.pushed(stack.len());
                    }
                    self.lift(call);
                    (entry, deferred) = (self.next[HEAD], false);
                    continue;
                }
                clear(&mut bits, op);
            }
            // A return: its op cannot be linearized any more in this branch. Back up.
            if let Some(t) = tracer.as_deref_mut() {
                t.backing_up(self, &stack, entry);
            }
            let Some((call, before, how)) = stack.pop() else {
                stats.configurations = seen.len();
                return Verdict::NotLinearizable;
            };
            let op = self.node_op[call];
            clear(&mut bits, op);
            hash ^= self.words[op];
            state = before;
            if self.known[op] {
                left += 1;
            }
            self.unlift(call);
            (entry, deferred) = match how {
                How::Applied => (self.next[call], false),
                How::Deferred => (self.next[call], true),
                // Skipping was the last choice for that op: back up further.
                How::Skipped => (TAIL, true),
            };
        }
    }

    /// Whether the change the optional op `op` makes (from `before` to `after`) could be seen
    /// by the op with an answer that comes next after it. That op, and the ops without an
    /// answer in between, have their calls before the first return of an op with an answer in
    /// the list; the change is seen if one of them observes a state it feeds ([`reaches`]), the
    /// ops in between only appending to it, or if a cas without an answer there could swap on
    /// it. A delete that found the key does not see a write if the key was there before it.
    fn visible(&self, op: usize, before: u32, after: u32) -> bool {
        if after == ANY {
            return true;
        }
        let after = self.states[after as usize].as_deref();
        let was_present = (before != ANY).then(|| self.states[before as usize].is_some());
        let mut next: Vec<usize> = Vec::new();
        let mut suffixes: Vec<&str> = Vec::new();
        let mut entry = self.next[HEAD];
        while entry != TAIL {
            let other = self.node_op[entry];
            if !self.is_call[entry] {
                if self.known[other] {
                    break;
                }
            } else if other != op {
                let item = self.items[other];
                if let (KvOp::Append { value, .. }, None) = (item.op, item.output) {
                    suffixes.push(value);
                }
                next.push(other);
            }
            entry = self.next[entry];
        }
        let tails = Tails { suffixes };
        next.iter().any(|&other| {
            let item = self.items[other];
            if item.output.is_none() && !matches!(item.op, KvOp::Cas { .. }) {
                return false;
            }
            self.seen[other].iter().any(|&seen| {
                let delete = matches!(item.op, KvOp::Delete { .. });
                !(seen == Observation::Present && delete && was_present == Some(true))
                    && reaches(after, seen, &tails)
            })
        })
    }

    /// Whether the optional op must wait: an identical optional op invoked no later, which must
    /// return no later, is still pending. Exchanging the two in any linearization gives another
    /// one, so only this order needs to be tried.
    fn blocked(&self, op: usize, bits: &[u64]) -> bool {
        self.blockers[op]
            .iter()
            .any(|&other| bits[other / 64] & (1 << (other % 64)) == 0)
    }

    /// The model's step on interned states (from `ANY`: [`model::step_from_unknown`]).
    fn step(&mut self, state: u32, op: usize) -> Option<u32> {
        let item = self.items[op];
        let after = if state == ANY {
            match model::step_from_unknown(item.op, item.output)? {
                model::After::Unknown => return Some(ANY),
                model::After::Known(after) => after,
            }
        } else {
            let current = &self.states[state as usize];
            let after = model::step(current, item.op, item.output)?;
            if after == *current {
                return Some(state);
            }
            after
        };
        Some(match self.state_ids.entry(after) {
            Entry::Occupied(id) => *id.get(),
            Entry::Vacant(slot) => {
                let id = self.states.len() as u32;
                self.states.push(slot.key().clone());
                slot.insert(id);
                id
            }
        })
    }

    /// Unlinks a call and its return.
    fn lift(&mut self, call: usize) {
        let ret = self.partner[call];
        let (p, n) = (self.prev[call], self.next[call]);
        self.next[p] = n;
        self.prev[n] = p;
        let (p, n) = (self.prev[ret], self.next[ret]);
        self.next[p] = n;
        self.prev[n] = p;
    }

    /// Links back a call and its return, undoing the last [`Search::lift`].
    fn unlift(&mut self, call: usize) {
        let ret = self.partner[call];
        let (p, n) = (self.prev[ret], self.next[ret]);
        self.next[p] = ret;
        self.prev[n] = ret;
        let (p, n) = (self.prev[call], self.next[call]);
        self.next[p] = call;
        self.prev[n] = call;
    }
}

/// How an op on the stack was linearized.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum How {
    /// Taken in the first pass of the scan.
    Applied,
    /// An optional op taken in the second pass.
    Deferred,
    /// An optional op that never took effect, decided at its return.
    Skipped,
}

/// Sets the bit of `op` and returns the bitset.
fn with(bits: &mut [u64], op: usize) -> &[u64] {
    bits[op / 64] |= 1 << (op % 64);
    bits
}

/// Clears the bit of `op`.
fn clear(bits: &mut [u64], op: usize) {
    bits[op / 64] &= !(1 << (op % 64));
}

/// Per optional item: the identical optional items invoked no later that return earlier (or
/// at the same time, with a smaller index).
fn blockers(items: &[Item<'_>]) -> Vec<Vec<usize>> {
    let optional: Vec<usize> = (0..items.len()).filter(|&i| items[i].optional).collect();
    (0..items.len())
        .map(|i| {
            if !items[i].optional {
                return Vec::new();
            }
            optional
                .iter()
                .copied()
                .filter(|&j| {
                    j != i
                        && items[j].op == items[i].op
                        && items[j].invoke <= items[i].invoke
                        && (items[j].ret, j) < (items[i].ret, i)
                })
                .collect()
        })
        .collect()
}

/// The configurations seen: bitsets of linearized ops with a model state.
struct Seen {
    /// 64-bit words per bitset.
    words: usize,
    /// (bitset hash, state) → the newest configuration with them.
    table: HashMap<(u64, u32), u32>,
    /// Per configuration: the previous one with the same hash and state, or `NONE`.
    chain: Vec<u32>,
    /// Per configuration: its bitset, `words` words each.
    arena: Vec<u64>,
}

impl Seen {
    fn new(words: usize) -> Self {
        Seen {
            words,
            table: HashMap::new(),
            chain: Vec::new(),
            arena: Vec::new(),
        }
    }

    fn len(&self) -> usize {
        self.chain.len()
    }

    /// Remembers a configuration; `false` if it was already known.
    fn insert(&mut self, hash: u64, state: u32, bits: &[u64]) -> bool {
        let new = self.chain.len() as u32;
        match self.table.entry((hash, state)) {
            Entry::Vacant(slot) => {
                slot.insert(new);
                self.chain.push(NONE);
            }
            Entry::Occupied(mut slot) => {
                let mut at = *slot.get();
                while at != NONE {
                    let start = at as usize * self.words;
                    if self.arena[start..start + self.words] == *bits {
                        return false;
                    }
                    at = self.chain[at as usize];
                }
                self.chain.push(*slot.get());
                slot.insert(new);
            }
        }
        self.arena.extend_from_slice(bits);
        true
    }
}

/// A well-mixed 64-bit word per op (SplitMix64).
fn splitmix64(i: u64) -> u64 {
    let mut z = i
        .wrapping_add(0x9e37_79b9_7f4a_7c15)
        .wrapping_mul(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests;
