//! The conditions a scenario waits for and asserts, the values it remembers with `let`, and the
//! `{name}` placeholders of its commands.
//!
//! A condition is one or more clauses joined by `and`:
//!
//! ```text
//! leader                       some running node is leader
//! no leader                    none is
//! leader 3   leader != {old}   the leader (of the highest term) is / is not that node (with
//!                                `!=`, a leader must exist)
//! node 2 is candidate          also: leader, follower, down, up   (`node` may be left out)
//! term > 4                     on every running node; also commit, applied, last (last log
//! commit 3 >= 20                 index), lastterm, snapshot, vote; a node, `any` or `all` may
//! last 2 == leader               follow the metric; the right side is a number, {name}, {name+1},
//! commit any >= last 1           `leader` (the same metric on the leader) or METRIC NODE;
//!                                operators == != < <= > >=
//! count candidate >= 2         how many running nodes have that role (or down / up)
//! log 2 == leader              node 2's log holds the same entries as the leader's (also != and
//! logs agree                     a node id); every running node's log is the same
//! kv 2 x == 1   kv 2 x absent  node 2's state machine holds x = 1 / has no key x
//! ops done                     no client operation is waiting for its answer
//! last op ok   last op failed  how the last client operation ended
//! ```
//!
//! History atoms count what happened since a challenge began (see [`history`]); they hold only
//! where an [`EventHistory`] is kept (challenges), and compare like `count`:
//!
//! ```text
//! split votes >= 1             terms in which two or more candidates stood and nobody won
//! leaders at once >= 2         the most nodes that believed they led at the same moment
//! stale appends >= 1           entries of its term a leader held uncommitted while a majority
//!                                was in a newer term (it can never commit them)
//! replaced 2 >= 3   replaced   entries a leader's AppendEntries removed from node 2's log
//!                                (without a node: the most on any one node)
//! snapshots installed [N] >= 1 InstallSnapshot accepted by node N (or by any node)
//! kills == 0                   nodes that went down
//! lost commits >= 1            indexes where two different entries were committed
//! stale reads >= 1             keys whose client history is not linearizable
//! ```
//!
//! A node is a number, `leader`, or a remembered `{name}`. `let` remembers `leader`,
//! `follower K` (the K-th running follower by id), `METRIC NODE`, or a number.

use std::collections::BTreeMap;
use std::fmt;

use crate::cluster::{ClusterHandle, ClusterStatus, NodeState};
use crate::command::executor::OpsTracker;
use crate::command::prompt::Span;
use crate::raft::{Index, NodeId, Role, Term};
use error::{error, unmet};
pub use error::{ConditionError, ConditionErrorKind, Unmet};
pub use history::{EventHistory, HistoryCount};

/// What a condition is evaluated against: the cluster's status and, on demand, logs and
/// state-machine contents. A trait so that conditions can be tested without a cluster.
#[allow(async_fn_in_trait)]
pub trait Source {
    /// The cluster's status now.
    fn status(&self) -> ClusterStatus;
    /// (index, term) of node `id`'s entries from `lo` to `hi`, if it is up.
    async fn log_terms(&self, id: NodeId, lo: Index, hi: Index) -> Option<Vec<(Index, Term)>>;
    /// Node `id`'s key-value contents, if it is up.
    async fn kv(&self, id: NodeId) -> Option<Vec<(String, String)>>;
}

impl Source for ClusterHandle {
    fn status(&self) -> ClusterStatus {
        ClusterHandle::status(self)
    }

    async fn log_terms(&self, id: NodeId, lo: Index, hi: Index) -> Option<Vec<(Index, Term)>> {
        ClusterHandle::log_terms(self, id, lo, hi).await.ok()
    }

    async fn kv(&self, id: NodeId) -> Option<Vec<(String, String)>> {
        ClusterHandle::kv(self, id).await.ok()
    }
}

/// Remembered values, by name.
pub type Vars = BTreeMap<String, u64>;

/// A node, as a condition names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeRef {
    /// A node id.
    Id(NodeId),
    /// The leader of the highest term.
    Leader,
    /// A remembered value plus an offset.
    Var(String, i64),
}

/// A number a node reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// currentTerm.
    Term,
    /// commitIndex.
    Commit,
    /// lastApplied.
    Applied,
    /// Index of the last log entry.
    Last,
    /// Term of the last log entry.
    LastTerm,
    /// Last index covered by the newest snapshot.
    Snapshot,
    /// votedFor in the current term (0: none).
    Vote,
}

impl Metric {
    fn parse(word: &str) -> Option<Metric> {
        Some(match word {
            "term" => Metric::Term,
            "commit" => Metric::Commit,
            "applied" => Metric::Applied,
            "last" => Metric::Last,
            "lastterm" => Metric::LastTerm,
            "snapshot" => Metric::Snapshot,
            "vote" => Metric::Vote,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Metric::Term => "term",
            Metric::Commit => "commit",
            Metric::Applied => "applied",
            Metric::Last => "last",
            Metric::LastTerm => "lastterm",
            Metric::Snapshot => "snapshot",
            Metric::Vote => "vote",
        }
    }

    fn of(self, n: &NodeState) -> u64 {
        let s = &n.status;
        match self {
            Metric::Term => s.term,
            Metric::Commit => s.commit,
            Metric::Applied => s.applied,
            Metric::Last => s.last_log_index,
            Metric::LastTerm => s.last_log_term,
            Metric::Snapshot => s.snapshot_index,
            Metric::Vote => s.voted_for.unwrap_or(0),
        }
    }
}

/// A comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// ==
    Eq,
    /// !=
    Ne,
    /// <
    Lt,
    /// <=
    Le,
    /// >
    Gt,
    /// >=
    Ge,
}

impl Op {
    fn parse(word: &str) -> Option<Op> {
        Some(match word {
            "==" | "=" | "is" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return None,
        })
    }

    fn holds(self, a: u64, b: u64) -> bool {
        match self {
            Op::Eq => a == b,
            Op::Ne => a != b,
            Op::Lt => a < b,
            Op::Le => a <= b,
            Op::Gt => a > b,
            Op::Ge => a >= b,
        }
    }
}

/// The right side of a comparison.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A number.
    Int(u64),
    /// A remembered value plus an offset.
    Var(String, i64),
    /// The same metric, on the leader.
    SameOnLeader,
    /// A metric of a node.
    Metric(Metric, NodeRef),
}

/// A role (or up / down) a node can be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoleName {
    /// Leader.
    Leader,
    /// Follower.
    Follower,
    /// Candidate.
    Candidate,
    /// Not running.
    Down,
    /// Running.
    Up,
}

impl RoleName {
    fn parse(word: &str) -> Option<RoleName> {
        Some(match word {
            "leader" => RoleName::Leader,
            "follower" => RoleName::Follower,
            "candidate" => RoleName::Candidate,
            "down" => RoleName::Down,
            "up" => RoleName::Up,
            _ => return None,
        })
    }

    fn has(self, n: &NodeState) -> bool {
        match self {
            RoleName::Down => !n.up,
            RoleName::Up => n.up,
            RoleName::Leader => n.up && n.status.role == Role::Leader,
            RoleName::Follower => n.up && n.status.role == Role::Follower,
            RoleName::Candidate => n.up && n.status.role == Role::Candidate,
        }
    }
}

/// Where a comparison applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every running node.
    All,
    /// Some running node.
    Any,
    /// One node.
    Node(NodeRef),
}

/// One clause of a condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause {
    /// `leader` (true) or `no leader` (false).
    LeaderExists(bool),
    /// `leader N` / `leader != N`.
    LeaderIs {
        /// The node.
        node: NodeRef,
        /// `!=`.
        negate: bool,
    },
    /// `node N is ROLE`.
    RoleIs {
        /// The node.
        node: NodeRef,
        /// The role.
        role: RoleName,
    },
    /// `METRIC [SCOPE] OP VALUE`.
    Compare {
        /// The metric.
        metric: Metric,
        /// Where.
        scope: Scope,
        /// How.
        op: Op,
        /// Against what.
        value: Value,
    },
    /// `count ROLE OP VALUE`.
    Count {
        /// The role.
        role: RoleName,
        /// How.
        op: Op,
        /// Against what.
        value: Value,
    },
    /// `log N == M` / `log N != M`.
    LogEq {
        /// The node.
        node: NodeRef,
        /// The node it is compared with.
        other: NodeRef,
        /// `!=`.
        negate: bool,
    },
    /// `logs agree`.
    LogsAgree,
    /// `kv N KEY == VALUE` / `kv N KEY absent`.
    Kv {
        /// The node.
        node: NodeRef,
        /// The key.
        key: String,
        /// The value, or `None` for absent.
        value: Option<String>,
    },
    /// `ops done`.
    OpsDone,
    /// `last op ok` (true) / `last op failed` (false).
    LastOp(bool),
    /// A count over the event history: `split votes >= 1`, `replaced 2 >= 3`, ...
    History {
        /// What is counted.
        count: HistoryCount,
        /// How.
        op: Op,
        /// Against what.
        value: Value,
    },
}

/// A condition: clauses that must all hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Condition {
    text: String,
    clauses: Vec<Clause>,
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `let NAME = ...`: a value a scenario captures from the cluster to use in later steps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capture {
    /// The name.
    pub name: String,
    /// What to remember.
    pub expr: Expr,
    text: String,
}

impl fmt::Display for Capture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The right side of a `let`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// The leader's id.
    Leader,
    /// The K-th running follower's id (from 1, by id).
    Follower(usize),
    /// A metric of a node.
    Metric(Metric, NodeRef),
    /// A number (or a remembered value plus an offset).
    Value(Value),
}

/// A word of a condition and where it is in the text.
#[derive(Clone, Copy, Debug)]
struct W<'a> {
    text: &'a str,
    span: Span,
}

/// The whitespace-separated words of `text`, with their spans.
fn words(text: &str) -> Vec<W<'_>> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices().chain([(text.len(), ' ')]) {
        match (start, c.is_whitespace()) {
            (None, false) => start = Some(i),
            (Some(s), true) => {
                out.push(W {
                    text: &text[s..i],
                    span: Span::new(s, i),
                });
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The words of one clause, and where a missing word would go (one past the last one).
struct Words<'a, 'w> {
    words: &'w [W<'a>],
    end: usize,
}

impl<'a> Words<'a, '_> {
    fn text(&self, i: usize) -> Option<&'a str> {
        self.words.get(i).map(|w| w.text)
    }

    /// Word `i`, or an error that points where it is missing.
    fn need(&self, i: usize, missing: ConditionErrorKind) -> Result<W<'a>, ConditionError> {
        self.words
            .get(i)
            .copied()
            .ok_or_else(|| error(missing, Span::at(self.end)))
    }

    fn missing(&self, kind: ConditionErrorKind) -> ConditionError {
        error(kind, Span::at(self.end))
    }

    /// An error about word `i` (or where it is missing).
    fn at(&self, i: usize, kind: ConditionErrorKind) -> ConditionError {
        let span = self.words.get(i).map_or(Span::at(self.end), |w| w.span);
        error(kind, span)
    }

    /// No word after the first `used`.
    fn no_more(&self, used: usize) -> Result<(), ConditionError> {
        match self.words.get(used) {
            Some(w) => Err(error(
                ConditionErrorKind::Unexpected(w.text.to_string()),
                w.span,
            )),
            None => Ok(()),
        }
    }
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses the inside of `{name}`, `{name+2}`, `{name-1}`; `span` is where the braces are.
fn parse_placeholder(inner: &str, span: Span) -> Result<(String, i64), ConditionError> {
    let (name, offset) = match inner.find(['+', '-']) {
        Some(i) => {
            let n: i64 = inner[i + 1..]
                .parse()
                .map_err(|_| error(ConditionErrorKind::BadOffset(inner.to_string()), span))?;
            let n = if inner.as_bytes()[i] == b'-' { -n } else { n };
            (&inner[..i], n)
        }
        None => (inner, 0),
    };
    if !is_name(name) {
        return Err(error(
            ConditionErrorKind::BadPlaceholder(inner.to_string()),
            span,
        ));
    }
    Ok((name.to_string(), offset))
}

fn apply_offset(v: u64, offset: i64) -> Result<u64, ConditionErrorKind> {
    v.checked_add_signed(offset)
        .ok_or(ConditionErrorKind::OutOfRange { value: v, offset })
}

/// The `{...}` placeholders of a line, in order: what is inside the braces and where the braces
/// are.
fn braces(line: &str) -> Result<Vec<(&str, Span)>, ConditionError> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(open) = line[from..].find('{').map(|i| i + from) {
        let close = line[open..]
            .find('}')
            .map(|i| i + open)
            .ok_or_else(|| error(ConditionErrorKind::Unclosed, Span::new(open, line.len())))?;
        out.push((&line[open + 1..close], Span::new(open, close + 1)));
        from = close + 1;
    }
    Ok(out)
}

/// The names of the `{name}` placeholders in a command line, in order, with where they are.
pub fn placeholders(line: &str) -> Result<Vec<(String, Span)>, ConditionError> {
    braces(line)?
        .into_iter()
        .map(|(inner, span)| Ok((parse_placeholder(inner, span)?.0, span)))
        .collect()
}

/// A line with its placeholders replaced, and where each replacement went: (span in the new
/// line, span of the placeholder in the original), in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Substituted {
    /// The line with values in place of the placeholders.
    pub line: String,
    /// (where the value is in `line`, where its placeholder was in the original).
    pub replaced: Vec<(Span, Span)>,
}

impl Substituted {
    /// Where `span` of the new line was in the original: a span inside a value maps to its
    /// placeholder; any other span moves by the difference in length of the values before it.
    pub fn original(&self, span: Span) -> Span {
        let mut shift: isize = 0;
        for (new, old) in &self.replaced {
            if span.start >= new.start && span.start < new.end.max(new.start + 1) {
                return *old;
            }
            if new.start > span.start {
                break;
            }
            shift +=
                old.end as isize - old.start as isize - (new.end as isize - new.start as isize);
        }
        let moved = |at: usize| at.saturating_add_signed(shift);
        Span::new(moved(span.start), moved(span.end))
    }
}

/// Replaces each `{name±N}` in `line` with `lookup(name)` plus the offset.
pub fn substitute(
    line: &str,
    lookup: &dyn Fn(&str) -> Option<u64>,
) -> Result<Substituted, ConditionError> {
    let mut out = String::new();
    let mut replaced = Vec::new();
    let mut from = 0;
    for (inner, span) in braces(line)? {
        out.push_str(&line[from..span.start]);
        let (name, offset) = parse_placeholder(inner, span)?;
        let v = lookup(&name).ok_or_else(|| error(ConditionErrorKind::NoValue(name), span))?;
        let v = apply_offset(v, offset).map_err(|kind| error(kind, span))?;
        let start = out.len();
        out.push_str(&v.to_string());
        replaced.push((Span::new(start, out.len()), span));
        from = span.end;
    }
    out.push_str(&line[from..]);
    Ok(Substituted {
        line: out,
        replaced,
    })
}

fn parse_node(word: W<'_>, nodes: usize) -> Result<NodeRef, ConditionError> {
    if word.text == "leader" {
        return Ok(NodeRef::Leader);
    }
    if let Some(inner) = word
        .text
        .strip_prefix('{')
        .and_then(|w| w.strip_suffix('}'))
    {
        let (name, offset) = parse_placeholder(inner, word.span)?;
        return Ok(NodeRef::Var(name, offset));
    }
    match word.text.parse::<NodeId>() {
        Ok(id) if (1..=nodes as u64).contains(&id) => Ok(NodeRef::Id(id)),
        Ok(id) => Err(error(
            ConditionErrorKind::NoSuchNode { id, nodes },
            word.span,
        )),
        Err(_) => Err(error(
            ConditionErrorKind::NotANode(word.text.to_string()),
            word.span,
        )),
    }
}

/// Parses a value from the words of `c` from `at` on; returns it and how many words it took.
fn parse_value(
    c: &Words<'_, '_>,
    at: usize,
    nodes: usize,
) -> Result<(Value, usize), ConditionError> {
    let first = c.need(at, ConditionErrorKind::Missing("a value"))?;
    if first.text == "leader" {
        return Ok((Value::SameOnLeader, 1));
    }
    if let Some(inner) = first
        .text
        .strip_prefix('{')
        .and_then(|w| w.strip_suffix('}'))
    {
        let (name, offset) = parse_placeholder(inner, first.span)?;
        return Ok((Value::Var(name, offset), 1));
    }
    if let Some(m) = Metric::parse(first.text) {
        let node = c.need(
            at + 1,
            ConditionErrorKind::Needs {
                word: m.name(),
                what: "a node",
            },
        )?;
        return Ok((Value::Metric(m, parse_node(node, nodes)?), 2));
    }
    first
        .text
        .parse::<u64>()
        .map(|n| (Value::Int(n), 1))
        .map_err(|_| {
            error(
                ConditionErrorKind::NotAValue(first.text.to_string()),
                first.span,
            )
        })
}

fn parse_op(c: &Words<'_, '_>, at: usize) -> Result<Op, ConditionError> {
    let w = c.need(
        at,
        ConditionErrorKind::Missing("a comparison (== != < <= > >=)"),
    )?;
    Op::parse(w.text).ok_or_else(|| {
        error(
            ConditionErrorKind::NotAComparison(w.text.to_string()),
            w.span,
        )
    })
}

fn parse_role(c: &Words<'_, '_>, at: usize) -> Result<RoleName, ConditionError> {
    let w = c.need(at, ConditionErrorKind::Missing("a role"))?;
    RoleName::parse(w.text)
        .ok_or_else(|| error(ConditionErrorKind::NotARole(w.text.to_string()), w.span))
}

fn parse_clause(c: &Words<'_, '_>, nodes: usize) -> Result<Clause, ConditionError> {
    use ConditionErrorKind as E;
    let needs = |word, what| E::Needs { word, what };
    let Some(first) = c.text(0) else {
        return Err(c.missing(E::EmptyClause));
    };
    let clause = match first {
        "leader" => match c.text(1) {
            None => Clause::LeaderExists(true),
            Some(w) => {
                let (negate, at) = match w {
                    "is" | "==" => (false, 2),
                    "!=" => (true, 2),
                    _ => (false, 1),
                };
                let node = c.need(at, needs("leader is", "a node"))?;
                c.no_more(at + 1)?;
                Clause::LeaderIs {
                    node: parse_node(node, nodes)?,
                    negate,
                }
            }
        },
        "no" => {
            if c.text(1) != Some("leader") {
                return Err(c.at(1, E::Hint("`no` must be followed by `leader`")));
            }
            c.no_more(2)?;
            Clause::LeaderExists(false)
        }
        "logs" => {
            if c.text(1) != Some("agree") {
                return Err(c.at(1, E::Hint("did you mean `logs agree`?")));
            }
            c.no_more(2)?;
            Clause::LogsAgree
        }
        "ops" => {
            if c.text(1) != Some("done") {
                return Err(c.at(1, E::Hint("did you mean `ops done`?")));
            }
            c.no_more(2)?;
            Clause::OpsDone
        }
        "last" if c.text(1) == Some("op") => {
            let ok = match c.text(2) {
                Some("ok") => true,
                Some("failed") => false,
                _ => return Err(c.at(2, E::Hint("did you mean `last op ok` or `last op failed`?"))),
            };
            c.no_more(3)?;
            Clause::LastOp(ok)
        }
        "log" => {
            let node = parse_node(c.need(1, needs("log", "a node"))?, nodes)?;
            let negate = match c.text(2) {
                Some("==") | Some("is") => false,
                Some("!=") => true,
                _ => return Err(c.at(2, E::Hint("expected `log N == M` or `log N != M`"))),
            };
            let other = parse_node(c.need(3, needs("log N ==", "a node"))?, nodes)?;
            c.no_more(4)?;
            Clause::LogEq {
                node,
                other,
                negate,
            }
        }
        "kv" => {
            let node = parse_node(c.need(1, needs("kv", "a node"))?, nodes)?;
            let key = c.need(2, needs("kv N", "a key"))?.text.to_string();
            let value = match c.text(3) {
                Some("absent") => {
                    c.no_more(4)?;
                    None
                }
                Some("==") | Some("is") => {
                    let v = c.need(4, needs("kv N KEY ==", "a value"))?;
                    c.no_more(5)?;
                    Some(v.text.to_string())
                }
                _ => {
                    return Err(c.at(
                        3,
                        E::Hint("expected `kv N KEY == VALUE` or `kv N KEY absent`"),
                    ))
                }
            };
            Clause::Kv { node, key, value }
        }
        "split" | "leaders" | "stale" | "replaced" | "snapshots" | "kills" | "lost" => {
            return parse_history(c, nodes);
        }
        "count" => {
            let role = parse_role(c, 1)?;
            let op = parse_op(c, 2)?;
            let (value, used) = parse_value(c, 3, nodes)?;
            c.no_more(3 + used)?;
            Clause::Count { role, op, value }
        }
        "node" => {
            let node = parse_node(c.need(1, needs("node", "a node"))?, nodes)?;
            if c.text(2) != Some("is") {
                return Err(c.at(2, E::Hint("expected `node N is ROLE`")));
            }
            let role = parse_role(c, 3)?;
            c.no_more(4)?;
            Clause::RoleIs { node, role }
        }
        w if Metric::parse(w).is_some() => {
            let metric = Metric::parse(w).ok_or(c.at(0, E::Unknown(w.to_string())))?;
            let (scope, at) = match c.words.get(1) {
                Some(w) if w.text == "all" => (Scope::All, 2),
                Some(w) if w.text == "any" => (Scope::Any, 2),
                Some(w) if Op::parse(w.text).is_some() && w.text != "is" => (Scope::All, 1),
                Some(w) => (Scope::Node(parse_node(*w, nodes)?), 2),
                None => return Err(c.missing(needs(metric.name(), "a comparison"))),
            };
            let op = parse_op(c, at)?;
            let (value, used) = parse_value(c, at + 1, nodes)?;
            c.no_more(at + 1 + used)?;
            Clause::Compare {
                metric,
                scope,
                op,
                value,
            }
        }
        _ if c.text(1) == Some("is") => {
            let node = parse_node(c.words[0], nodes)?;
            let role = parse_role(c, 2)?;
            c.no_more(3)?;
            Clause::RoleIs { node, role }
        }
        other => return Err(c.at(0, E::Unknown(other.to_string()))),
    };
    Ok(clause)
}

/// Parses a history atom: its words, an optional node where the atom takes one, a comparison
/// and a value.
fn parse_history(c: &Words<'_, '_>, nodes: usize) -> Result<Clause, ConditionError> {
    use ConditionErrorKind as E;
    let words: Vec<&str> = (0..4).map_while(|i| c.text(i)).collect();
    let fixed = |n: usize, count: HistoryCount| (n, count);
    let (used, count) = match words.as_slice() {
        ["split", "votes", ..] => fixed(2, HistoryCount::SplitVotes),
        ["leaders", "at", "once", ..] => fixed(3, HistoryCount::LeadersAtOnce),
        ["stale", "appends", ..] => fixed(2, HistoryCount::StaleAppends),
        ["stale", "reads", ..] => fixed(2, HistoryCount::StaleReads),
        ["kills", ..] => fixed(1, HistoryCount::Kills),
        ["lost", "commits", ..] => fixed(2, HistoryCount::LostCommits),
        ["replaced", ..] | ["snapshots", "installed", ..] => {
            let at = if words[0] == "replaced" { 1 } else { 2 };
            let node = match c.words.get(at) {
                Some(w) if Op::parse(w.text).is_none() => Some(match parse_node(*w, nodes)? {
                    NodeRef::Id(id) => id,
                    _ => {
                        return Err(c.at(at, E::Hint("a history count takes a node number")));
                    }
                }),
                _ => None,
            };
            let count = if at == 1 {
                HistoryCount::Replaced(node)
            } else {
                HistoryCount::SnapshotsInstalled(node)
            };
            (at + usize::from(node.is_some()), count)
        }
        _ => {
            return Err(c.at(
                0,
                E::Hint(
                    "expected a history count: split votes, leaders at once, stale appends, \
                     replaced [N], snapshots installed [N], kills, lost commits, stale reads",
                ),
            ))
        }
    };
    let op = parse_op(c, used)?;
    let (value, n) = parse_value(c, used + 1, nodes)?;
    c.no_more(used + 1 + n)?;
    Ok(Clause::History { count, op, value })
}

fn node_vars(n: &NodeRef, out: &mut Vec<String>) {
    if let NodeRef::Var(name, _) = n {
        out.push(name.clone());
    }
}

fn value_vars(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Var(name, _) => out.push(name.clone()),
        Value::Metric(_, n) => node_vars(n, out),
        Value::Int(_) | Value::SameOnLeader => {}
    }
}

impl Condition {
    /// Parses a condition for a cluster of `nodes` nodes.
    pub fn parse(text: &str, nodes: usize) -> Result<Condition, ConditionError> {
        let words = words(text);
        if words.is_empty() {
            return Err(error(ConditionErrorKind::Empty, Span::new(0, text.len())));
        }
        let mut clauses = Vec::new();
        let mut start = 0;
        for i in 0..=words.len() {
            let next = words.get(i);
            if next.is_some_and(|w| w.text != "and") {
                continue;
            }
            let group = words.get(start..i).unwrap_or_default();
            // Where a missing word goes: after the clause's last word, else at the `and` that
            // ends the empty clause (or after the trailing one).
            let end = match (group.last(), next) {
                (Some(last), _) => last.span.end + 1,
                (None, Some(and)) => and.span.start,
                (None, None) => words.last().map_or(0, |w| w.span.end + 1),
            };
            clauses.push(parse_clause(&Words { words: group, end }, nodes)?);
            start = i + 1;
        }
        Ok(Condition {
            text: words.iter().map(|w| w.text).collect::<Vec<_>>().join(" "),
            clauses,
        })
    }

    /// The names of the remembered values it uses.
    pub fn vars(&self) -> Vec<String> {
        let mut out = Vec::new();
        for c in &self.clauses {
            match c {
                Clause::LeaderIs { node, .. } | Clause::RoleIs { node, .. } => {
                    node_vars(node, &mut out)
                }
                Clause::Compare { scope, value, .. } => {
                    if let Scope::Node(n) = scope {
                        node_vars(n, &mut out);
                    }
                    value_vars(value, &mut out);
                }
                Clause::Count { value, .. } | Clause::History { value, .. } => {
                    value_vars(value, &mut out)
                }
                Clause::LogEq { node, other, .. } => {
                    node_vars(node, &mut out);
                    node_vars(other, &mut out);
                }
                Clause::Kv { node, .. } => node_vars(node, &mut out),
                Clause::LeaderExists(_)
                | Clause::LogsAgree
                | Clause::OpsDone
                | Clause::LastOp(_) => {}
            }
        }
        out
    }

    /// Evaluates the condition now: `Ok` when every clause holds, else what contradicts it.
    /// History atoms are unmet here: they need [`Condition::eval_with_history`].
    pub async fn eval(
        &self,
        source: &impl Source,
        vars: &Vars,
        ops: Option<&OpsTracker>,
    ) -> Result<(), Unmet> {
        self.eval_with_history(source, vars, ops, None).await
    }

    /// Evaluates the condition now, history atoms against `history`.
    pub async fn eval_with_history(
        &self,
        source: &impl Source,
        vars: &Vars,
        ops: Option<&OpsTracker>,
        history: Option<&EventHistory>,
    ) -> Result<(), Unmet> {
        let status = source.status();
        let env = Env {
            status: &status,
            vars,
        };
        for c in &self.clauses {
            eval_clause(c, &env, source, ops, history).await?;
        }
        Ok(())
    }

    /// The history counts it reads.
    pub fn history_counts(&self) -> Vec<HistoryCount> {
        self.clauses
            .iter()
            .filter_map(|c| match c {
                Clause::History { count, .. } => Some(count.clone()),
                _ => None,
            })
            .collect()
    }
}

struct Env<'a> {
    status: &'a ClusterStatus,
    vars: &'a Vars,
}

impl Env<'_> {
    fn node(&self, n: &NodeRef) -> Result<&NodeState, Unmet> {
        let id = match n {
            NodeRef::Id(id) => *id,
            NodeRef::Leader => self
                .status
                .leader()
                .ok_or_else(|| unmet(format!("there is no leader ({})", roles(self.status))))?,
            NodeRef::Var(name, offset) => self.var(name, *offset)?,
        };
        self.status
            .nodes
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| unmet(format!("node {id} does not exist")))
    }

    /// The remembered value `name` plus `offset`.
    fn var(&self, name: &str, offset: i64) -> Result<u64, Unmet> {
        let v = self
            .vars
            .get(name)
            .ok_or_else(|| unmet(ConditionErrorKind::NoValue(name.to_string()).to_string()))?;
        apply_offset(*v, offset).map_err(|e| unmet(e.to_string()))
    }

    fn value(&self, v: &Value, metric: Option<Metric>) -> Result<u64, Unmet> {
        match v {
            Value::Int(n) => Ok(*n),
            Value::Var(name, offset) => self.var(name, *offset),
            Value::SameOnLeader => {
                let m = metric
                    .ok_or_else(|| unmet("`leader` as a value needs a metric on the left"))?;
                Ok(m.of(self.node(&NodeRef::Leader)?))
            }
            Value::Metric(m, n) => Ok(m.of(self.node(n)?)),
        }
    }
}

/// One line on every node's role and term, for error messages.
pub fn roles(status: &ClusterStatus) -> String {
    status
        .nodes
        .iter()
        .map(|n| {
            if n.up {
                let role = match n.status.role {
                    Role::Leader => "leader",
                    Role::Candidate => "candidate",
                    Role::Follower => "follower",
                };
                format!("{} {role} t{}", n.id, n.status.term)
            } else {
                format!("{} down", n.id)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn eval_clause(
    c: &Clause,
    env: &Env<'_>,
    source: &impl Source,
    ops: Option<&OpsTracker>,
    history: Option<&EventHistory>,
) -> Result<(), Unmet> {
    let st = env.status;
    match c {
        Clause::LeaderExists(want) => match (st.leader(), want) {
            (Some(_), true) | (None, false) => Ok(()),
            (None, true) => Err(unmet(format!("no leader ({})", roles(st)))),
            (Some(l), false) => Err(unmet(format!("node {l} is leader ({})", roles(st)))),
        },
        Clause::LeaderIs { node, negate } => {
            let want = env.node(node)?.id;
            let leader = st.leader();
            // `leader != N` means that there is a leader and it is not N.
            if leader.is_some() && (leader == Some(want)) != *negate {
                Ok(())
            } else {
                Err(unmet(match leader {
                    Some(l) => format!("the leader is node {l} ({})", roles(st)),
                    None => format!("there is no leader ({})", roles(st)),
                }))
            }
        }
        Clause::RoleIs { node, role } => {
            let n = env.node(node)?;
            if role.has(n) {
                Ok(())
            } else {
                Err(unmet(format!("not so: {}", roles(st))))
            }
        }
        Clause::Compare {
            metric,
            scope,
            op,
            value,
        } => {
            let target = env.value(value, Some(*metric))?;
            let up: Vec<&NodeState> = match scope {
                Scope::Node(n) => vec![env.node(n)?],
                Scope::All | Scope::Any => st.nodes.iter().filter(|n| n.up).collect(),
            };
            let fails: Vec<String> = up
                .iter()
                .filter(|n| !op.holds(metric.of(n), target))
                .map(|n| format!("node {} has {} {}", n.id, metric.name(), metric.of(n)))
                .collect();
            let ok = match scope {
                Scope::Any => fails.len() < up.len(),
                _ => fails.is_empty(),
            };
            if ok {
                Ok(())
            } else if up.is_empty() {
                Err(unmet("no node is running"))
            } else {
                Err(unmet(format!(
                    "{} (wanted {:?} {target})",
                    fails.join(", "),
                    op
                )))
            }
        }
        Clause::Count { role, op, value } => {
            let target = env.value(value, None)?;
            let n = st.nodes.iter().filter(|n| role.has(n)).count() as u64;
            if op.holds(n, target) {
                Ok(())
            } else {
                Err(unmet(format!("{n} such nodes ({})", roles(st))))
            }
        }
        Clause::LogEq {
            node,
            other,
            negate,
        } => {
            let (a, b) = (env.node(node)?, env.node(other)?);
            let same = logs_equal(source, a, b).await?;
            match (same, negate) {
                (Ok(()), false) | (Err(_), true) => Ok(()),
                (Ok(()), true) => Err(unmet(format!(
                    "the logs of {} and {} are equal",
                    a.id, b.id
                ))),
                (Err(why), false) => Err(why),
            }
        }
        Clause::LogsAgree => {
            let up: Vec<&NodeState> = st.nodes.iter().filter(|n| n.up).collect();
            for pair in up.windows(2) {
                logs_equal(source, pair[0], pair[1]).await??;
            }
            Ok(())
        }
        Clause::Kv { node, key, value } => {
            let n = env.node(node)?;
            let kv = source
                .kv(n.id)
                .await
                .ok_or_else(|| unmet(format!("node {} is down", n.id)))?;
            let found = kv.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            match (found, value) {
                (None, None) => Ok(()),
                (Some(v), Some(want)) if v == want => Ok(()),
                (None, Some(_)) => Err(unmet(format!("node {} has no key {key}", n.id))),
                (Some(v), _) => Err(unmet(format!("node {} has {key} = {v:?}", n.id))),
            }
        }
        Clause::OpsDone => {
            let pending = ops.map_or(0, OpsTracker::pending);
            if pending == 0 {
                Ok(())
            } else {
                Err(unmet(format!(
                    "{pending} client operation(s) still waiting"
                )))
            }
        }
        Clause::LastOp(want_ok) => match ops.and_then(OpsTracker::last) {
            None => Err(unmet("no client operation has ended yet")),
            Some((_, ok)) if ok == *want_ok => Ok(()),
            Some((line, _)) => Err(unmet(format!("the last operation ended: {line}"))),
        },
        Clause::History { count, op, value } => {
            let Some(h) = history else {
                return Err(unmet(format!(
                    "`{}` counts what happened since a challenge began: only a challenge keeps \
                     that history",
                    count.name()
                )));
            };
            let target = env.value(value, None)?;
            let n = h.count(count);
            if op.holds(n, target) {
                Ok(())
            } else {
                let what = match count {
                    HistoryCount::Replaced(Some(id)) => format!("replaced {id}"),
                    HistoryCount::SnapshotsInstalled(Some(id)) => {
                        format!("snapshots installed {id}")
                    }
                    other => other.name().to_string(),
                };
                Err(unmet(format!("{what} is {n} (wanted {op:?} {target})")))
            }
        }
    }
}

/// Whether two nodes' logs hold the same entries: the same last index and term, and the same
/// term at every index both still hold (a compacted prefix is covered by the snapshot's term).
/// The outer error is "cannot tell"; the inner one says how they differ.
async fn logs_equal(
    source: &impl Source,
    a: &NodeState,
    b: &NodeState,
) -> Result<Result<(), Unmet>, Unmet> {
    for n in [a, b] {
        if !n.up {
            return Err(unmet(format!("node {} is down", n.id)));
        }
    }
    let (sa, sb) = (&a.status, &b.status);
    if (sa.last_log_index, sa.last_log_term) != (sb.last_log_index, sb.last_log_term) {
        return Ok(Err(unmet(format!(
            "node {} ends at {}/{}, node {} at {}/{}",
            a.id, sa.last_log_index, sa.last_log_term, b.id, sb.last_log_index, sb.last_log_term
        ))));
    }
    let hi = sa.last_log_index;
    let lo = sa.first_index.max(sb.first_index).max(1);
    if lo > hi {
        return Ok(Ok(()));
    }
    let (la, lb) = (
        source.log_terms(a.id, lo, hi).await,
        source.log_terms(b.id, lo, hi).await,
    );
    let (Some(la), Some(lb)) = (la, lb) else {
        return Err(unmet("a node went down while its log was read"));
    };
    let mb: BTreeMap<Index, Term> = lb.into_iter().collect();
    for (i, t) in la {
        if let Some(&u) = mb.get(&i) {
            if u != t {
                return Ok(Err(unmet(format!(
                    "at index {i}: node {} has term {t}, node {} term {u}",
                    a.id, b.id
                ))));
            }
        }
    }
    Ok(Ok(()))
}

impl Capture {
    /// Parses `NAME = leader | follower K | METRIC NODE | NUMBER`.
    pub fn parse(text: &str, nodes: usize) -> Result<Capture, ConditionError> {
        use ConditionErrorKind as E;
        let Some(eq) = text.find('=') else {
            return Err(error(
                E::Hint("expected NAME = leader | follower K | METRIC NODE | NUMBER"),
                Span::new(0, text.len()),
            ));
        };
        let before = &text[..eq];
        let name = before.trim();
        let name_at = before.len() - before.trim_start().len();
        if !is_name(name) {
            return Err(error(
                E::BadName(name.to_string()),
                Span::new(name_at, name_at + name.len()),
            ));
        }
        let rhs: Vec<W<'_>> = words(&text[eq + 1..])
            .into_iter()
            .map(|w| W {
                text: w.text,
                span: w.span.shift(eq + 1),
            })
            .collect();
        let end = rhs.last().map_or(text.len() + 1, |w| w.span.end + 1);
        let c = Words { words: &rhs, end };
        let texts: Vec<&str> = rhs.iter().map(|w| w.text).collect();
        let expr = match texts.as_slice() {
            ["leader"] => Expr::Leader,
            ["follower", k] => {
                let k: usize = k
                    .parse()
                    .ok()
                    .filter(|k| (1..nodes).contains(k))
                    .ok_or_else(|| {
                        c.at(
                            1,
                            E::NoSuchFollower {
                                k: k.to_string(),
                                max: nodes.saturating_sub(1),
                            },
                        )
                    })?;
                Expr::Follower(k)
            }
            [m, _] if Metric::parse(m).is_some() => {
                let m = Metric::parse(m).ok_or_else(|| c.at(0, E::Unknown(m.to_string())))?;
                Expr::Metric(m, parse_node(rhs[1], nodes)?)
            }
            [_] => {
                let (value, _) = parse_value(&c, 0, nodes)?;
                if value == Value::SameOnLeader {
                    Expr::Leader
                } else {
                    Expr::Value(value)
                }
            }
            _ => {
                let span = match (rhs.first(), rhs.last()) {
                    (Some(a), Some(b)) => Span::new(a.span.start, b.span.end),
                    _ => Span::at(end),
                };
                return Err(error(
                    E::Hint("expected leader, follower K, METRIC NODE or a number"),
                    span,
                ));
            }
        };
        Ok(Capture {
            name: name.to_string(),
            expr,
            text: format!("{name} = {}", texts.join(" ")),
        })
    }

    /// The names of the remembered values it uses.
    pub fn vars(&self) -> Vec<String> {
        let mut out = Vec::new();
        match &self.expr {
            Expr::Metric(_, n) => node_vars(n, &mut out),
            Expr::Value(v) => value_vars(v, &mut out),
            Expr::Leader | Expr::Follower(_) => {}
        }
        out
    }

    /// The value now.
    pub fn eval(&self, status: &ClusterStatus, vars: &Vars) -> Result<u64, Unmet> {
        let env = Env { status, vars };
        match &self.expr {
            Expr::Leader => Ok(env.node(&NodeRef::Leader)?.id),
            Expr::Follower(k) => status
                .nodes
                .iter()
                .filter(|n| n.up && n.status.role != Role::Leader)
                .nth(k - 1)
                .map(|n| n.id)
                .ok_or_else(|| unmet(format!("there is no follower {k} ({})", roles(status)))),
            Expr::Metric(m, n) => Ok(m.of(env.node(n)?)),
            Expr::Value(v) => env.value(v, None),
        }
    }
}

mod error;
pub mod history;
#[cfg(test)]
mod tests;
