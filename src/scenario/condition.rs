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
//! A node is a number, `leader`, or a remembered `{name}`. `let` remembers `leader`,
//! `follower K` (the K-th running follower by id), `METRIC NODE`, or a number.

use std::collections::BTreeMap;
use std::fmt;

use crate::cluster::{ClusterHandle, ClusterStatus, NodeState};
use crate::command::executor::OpsTracker;
use crate::raft::{Index, NodeId, Role, Term};

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

/// `let NAME = ...`: a value to remember.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The name.
    pub name: String,
    /// What to remember.
    pub expr: Expr,
    text: String,
}

impl fmt::Display for Binding {
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

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses the inside of `{name}`, `{name+2}`, `{name-1}`.
fn parse_placeholder(inner: &str) -> Result<(String, i64), String> {
    let (name, offset) = match inner.find(['+', '-']) {
        Some(i) => {
            let n: i64 = inner[i + 1..]
                .parse()
                .map_err(|_| format!("bad offset in {{{inner}}}"))?;
            let n = if inner.as_bytes()[i] == b'-' { -n } else { n };
            (&inner[..i], n)
        }
        None => (inner, 0),
    };
    if !is_name(name) {
        return Err(format!("bad name in {{{inner}}}"));
    }
    Ok((name.to_string(), offset))
}

fn apply_offset(v: u64, offset: i64) -> Result<u64, String> {
    v.checked_add_signed(offset)
        .ok_or_else(|| format!("{v} {offset:+} is out of range"))
}

/// The names of the `{name}` placeholders in a command line, in order.
pub fn placeholders(line: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    let mut rest = line;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a `{` is not closed".to_string())?;
        names.push(parse_placeholder(&after[..close])?.0);
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// Replaces each `{name±N}` in `line` with `lookup(name)` plus the offset.
pub fn substitute(line: &str, lookup: &dyn Fn(&str) -> Option<u64>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| "a `{` is not closed".to_string())?;
        let (name, offset) = parse_placeholder(&after[..close])?;
        let v = lookup(&name).ok_or_else(|| format!("{{{name}}} has no value"))?;
        out.push_str(&apply_offset(v, offset)?.to_string());
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_node(word: &str, nodes: usize) -> Result<NodeRef, String> {
    if word == "leader" {
        return Ok(NodeRef::Leader);
    }
    if let Some(inner) = word.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
        let (name, offset) = parse_placeholder(inner)?;
        return Ok(NodeRef::Var(name, offset));
    }
    match word.parse::<NodeId>() {
        Ok(id) if (1..=nodes as u64).contains(&id) => Ok(NodeRef::Id(id)),
        Ok(id) => Err(format!("node {id} does not exist (nodes are 1 to {nodes})")),
        Err(_) => Err(format!(
            "expected a node (a number, `leader` or {{name}}), found {word:?}"
        )),
    }
}

/// Parses a value from the front of `words`; returns it and how many words it took.
fn parse_value(words: &[&str], nodes: usize) -> Result<(Value, usize), String> {
    let Some(first) = words.first() else {
        return Err("a value is missing".into());
    };
    if *first == "leader" {
        return Ok((Value::SameOnLeader, 1));
    }
    if let Some(inner) = first.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
        let (name, offset) = parse_placeholder(inner)?;
        return Ok((Value::Var(name, offset), 1));
    }
    if let Some(m) = Metric::parse(first) {
        let node = words
            .get(1)
            .ok_or_else(|| format!("`{first}` needs a node"))?;
        return Ok((Value::Metric(m, parse_node(node, nodes)?), 2));
    }
    first
        .parse::<u64>()
        .map(|n| (Value::Int(n), 1))
        .map_err(|_| {
            format!("expected a number, {{name}}, `leader` or METRIC NODE, found {first:?}")
        })
}

fn parse_op(word: Option<&&str>) -> Result<Op, String> {
    let w = word.ok_or_else(|| "a comparison (== != < <= > >=) is missing".to_string())?;
    Op::parse(w).ok_or_else(|| format!("expected == != < <= > >=, found {w:?}"))
}

fn parse_role(word: Option<&&str>) -> Result<RoleName, String> {
    let w = word.ok_or_else(|| "a role is missing".to_string())?;
    RoleName::parse(w)
        .ok_or_else(|| format!("expected leader, follower, candidate, down or up, found {w:?}"))
}

fn no_more(words: &[&str], used: usize) -> Result<(), String> {
    match words.get(used) {
        Some(w) => Err(format!("unexpected {w:?}")),
        None => Ok(()),
    }
}

fn parse_clause(words: &[&str], nodes: usize) -> Result<Clause, String> {
    let Some(&first) = words.first() else {
        return Err("an empty clause (two `and`s in a row?)".into());
    };
    let clause = match first {
        "leader" => match words.get(1) {
            None => Clause::LeaderExists(true),
            Some(&w) => {
                let (negate, at) = match w {
                    "is" | "==" => (false, 2),
                    "!=" => (true, 2),
                    _ => (false, 1),
                };
                let node = words.get(at).ok_or("`leader is` needs a node")?;
                no_more(words, at + 1)?;
                Clause::LeaderIs {
                    node: parse_node(node, nodes)?,
                    negate,
                }
            }
        },
        "no" => {
            if words.get(1) != Some(&"leader") {
                return Err("`no` must be followed by `leader`".into());
            }
            no_more(words, 2)?;
            Clause::LeaderExists(false)
        }
        "logs" => {
            if words.get(1) != Some(&"agree") {
                return Err("did you mean `logs agree`?".into());
            }
            no_more(words, 2)?;
            Clause::LogsAgree
        }
        "ops" => {
            if words.get(1) != Some(&"done") {
                return Err("did you mean `ops done`?".into());
            }
            no_more(words, 2)?;
            Clause::OpsDone
        }
        "last" if words.get(1) == Some(&"op") => {
            let ok = match words.get(2) {
                Some(&"ok") => true,
                Some(&"failed") => false,
                _ => return Err("did you mean `last op ok` or `last op failed`?".into()),
            };
            no_more(words, 3)?;
            Clause::LastOp(ok)
        }
        "log" => {
            let node = parse_node(words.get(1).ok_or("`log` needs a node")?, nodes)?;
            let negate = match words.get(2) {
                Some(&"==") | Some(&"is") => false,
                Some(&"!=") => true,
                _ => return Err("expected `log N == M` or `log N != M`".into()),
            };
            let other = parse_node(words.get(3).ok_or("`log N ==` needs a node")?, nodes)?;
            no_more(words, 4)?;
            Clause::LogEq {
                node,
                other,
                negate,
            }
        }
        "kv" => {
            let node = parse_node(words.get(1).ok_or("`kv` needs a node")?, nodes)?;
            let key = words.get(2).ok_or("`kv N` needs a key")?.to_string();
            let value = match words.get(3) {
                Some(&"absent") => {
                    no_more(words, 4)?;
                    None
                }
                Some(&"==") | Some(&"is") => {
                    let v = words.get(4).ok_or("`kv N KEY ==` needs a value")?;
                    no_more(words, 5)?;
                    Some(v.to_string())
                }
                _ => return Err("expected `kv N KEY == VALUE` or `kv N KEY absent`".into()),
            };
            Clause::Kv { node, key, value }
        }
        "count" => {
            let role = parse_role(words.get(1))?;
            let op = parse_op(words.get(2))?;
            let (value, used) = parse_value(&words[3.min(words.len())..], nodes)?;
            no_more(words, 3 + used)?;
            Clause::Count { role, op, value }
        }
        "node" => {
            let node = parse_node(words.get(1).ok_or("`node` needs a node")?, nodes)?;
            if words.get(2) != Some(&"is") {
                return Err("expected `node N is ROLE`".into());
            }
            let role = parse_role(words.get(3))?;
            no_more(words, 4)?;
            Clause::RoleIs { node, role }
        }
        w if Metric::parse(w).is_some() => {
            let metric = Metric::parse(w).ok_or("unreachable")?;
            let (scope, at) = match words.get(1) {
                Some(&"all") => (Scope::All, 2),
                Some(&"any") => (Scope::Any, 2),
                Some(w) if Op::parse(w).is_some() && *w != "is" => (Scope::All, 1),
                Some(w) => (Scope::Node(parse_node(w, nodes)?), 2),
                None => return Err(format!("`{first}` needs a comparison")),
            };
            let op = parse_op(words.get(at))?;
            let (value, used) = parse_value(&words[(at + 1).min(words.len())..], nodes)?;
            no_more(words, at + 1 + used)?;
            Clause::Compare {
                metric,
                scope,
                op,
                value,
            }
        }
        _ if words.get(1) == Some(&"is") => {
            let node = parse_node(first, nodes)?;
            let role = parse_role(words.get(2))?;
            no_more(words, 3)?;
            Clause::RoleIs { node, role }
        }
        other => return Err(format!("unknown condition {other:?}")),
    };
    Ok(clause)
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
    pub fn parse(text: &str, nodes: usize) -> Result<Condition, String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        if words.is_empty() {
            return Err("the condition is empty".into());
        }
        let clauses = words
            .split(|w| *w == "and")
            .map(|c| parse_clause(c, nodes))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Condition {
            text: words.join(" "),
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
                Clause::Count { value, .. } => value_vars(value, &mut out),
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
    pub async fn eval(
        &self,
        source: &impl Source,
        vars: &Vars,
        ops: Option<&OpsTracker>,
    ) -> Result<(), String> {
        let status = source.status();
        let env = Env {
            status: &status,
            vars,
        };
        for c in &self.clauses {
            eval_clause(c, &env, source, ops).await?;
        }
        Ok(())
    }
}

struct Env<'a> {
    status: &'a ClusterStatus,
    vars: &'a Vars,
}

impl Env<'_> {
    fn node(&self, n: &NodeRef) -> Result<&NodeState, String> {
        let id = match n {
            NodeRef::Id(id) => *id,
            NodeRef::Leader => self
                .status
                .leader()
                .ok_or_else(|| format!("there is no leader ({})", roles(self.status)))?,
            NodeRef::Var(name, offset) => {
                let v = self
                    .vars
                    .get(name)
                    .ok_or_else(|| format!("{{{name}}} has no value"))?;
                apply_offset(*v, *offset)?
            }
        };
        self.status
            .nodes
            .iter()
            .find(|s| s.id == id)
            .ok_or_else(|| format!("node {id} does not exist"))
    }

    fn value(&self, v: &Value, metric: Option<Metric>) -> Result<u64, String> {
        match v {
            Value::Int(n) => Ok(*n),
            Value::Var(name, offset) => {
                let v = self
                    .vars
                    .get(name)
                    .ok_or_else(|| format!("{{{name}}} has no value"))?;
                apply_offset(*v, *offset)
            }
            Value::SameOnLeader => {
                let m = metric.ok_or("`leader` as a value needs a metric on the left")?;
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
) -> Result<(), String> {
    let st = env.status;
    match c {
        Clause::LeaderExists(want) => match (st.leader(), want) {
            (Some(_), true) | (None, false) => Ok(()),
            (None, true) => Err(format!("no leader ({})", roles(st))),
            (Some(l), false) => Err(format!("node {l} is leader ({})", roles(st))),
        },
        Clause::LeaderIs { node, negate } => {
            let want = env.node(node)?.id;
            let leader = st.leader();
            // `leader != N` means that there is a leader and it is not N.
            if leader.is_some() && (leader == Some(want)) != *negate {
                Ok(())
            } else {
                Err(match leader {
                    Some(l) => format!("the leader is node {l} ({})", roles(st)),
                    None => format!("there is no leader ({})", roles(st)),
                })
            }
        }
        Clause::RoleIs { node, role } => {
            let n = env.node(node)?;
            if role.has(n) {
                Ok(())
            } else {
                Err(format!("not so: {}", roles(st)))
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
                Err("no node is running".into())
            } else {
                Err(format!("{} (wanted {:?} {target})", fails.join(", "), op))
            }
        }
        Clause::Count { role, op, value } => {
            let target = env.value(value, None)?;
            let n = st.nodes.iter().filter(|n| role.has(n)).count() as u64;
            if op.holds(n, target) {
                Ok(())
            } else {
                Err(format!("{n} such nodes ({})", roles(st)))
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
                (Ok(()), true) => Err(format!("the logs of {} and {} are equal", a.id, b.id)),
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
                .ok_or_else(|| format!("node {} is down", n.id))?;
            let found = kv.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            match (found, value) {
                (None, None) => Ok(()),
                (Some(v), Some(want)) if v == want => Ok(()),
                (None, Some(_)) => Err(format!("node {} has no key {key}", n.id)),
                (Some(v), _) => Err(format!("node {} has {key} = {v:?}", n.id)),
            }
        }
        Clause::OpsDone => {
            let pending = ops.map_or(0, OpsTracker::pending);
            if pending == 0 {
                Ok(())
            } else {
                Err(format!("{pending} client operation(s) still waiting"))
            }
        }
        Clause::LastOp(want_ok) => match ops.and_then(OpsTracker::last) {
            None => Err("no client operation has ended yet".into()),
            Some((_, ok)) if ok == *want_ok => Ok(()),
            Some((line, _)) => Err(format!("the last operation ended: {line}")),
        },
    }
}

/// Whether two nodes' logs hold the same entries: the same last index and term, and the same
/// term at every index both still hold (a compacted prefix is covered by the snapshot's term).
/// The outer error is "cannot tell"; the inner one says how they differ.
async fn logs_equal(
    source: &impl Source,
    a: &NodeState,
    b: &NodeState,
) -> Result<Result<(), String>, String> {
    for n in [a, b] {
        if !n.up {
            return Err(format!("node {} is down", n.id));
        }
    }
    let (sa, sb) = (&a.status, &b.status);
    if (sa.last_log_index, sa.last_log_term) != (sb.last_log_index, sb.last_log_term) {
        return Ok(Err(format!(
            "node {} ends at {}/{}, node {} at {}/{}",
            a.id, sa.last_log_index, sa.last_log_term, b.id, sb.last_log_index, sb.last_log_term
        )));
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
        return Err("a node went down while its log was read".into());
    };
    let mb: BTreeMap<Index, Term> = lb.into_iter().collect();
    for (i, t) in la {
        if let Some(&u) = mb.get(&i) {
            if u != t {
                return Ok(Err(format!(
                    "at index {i}: node {} has term {t}, node {} term {u}",
                    a.id, b.id
                )));
            }
        }
    }
    Ok(Ok(()))
}

impl Binding {
    /// Parses `NAME = leader | follower K | METRIC NODE | NUMBER`.
    pub fn parse(text: &str, nodes: usize) -> Result<Binding, String> {
        let (name, rhs) = text
            .split_once('=')
            .ok_or("expected NAME = leader | follower K | METRIC NODE | NUMBER")?;
        let name = name.trim();
        if !is_name(name) {
            return Err(format!("bad name {name:?}"));
        }
        let words: Vec<&str> = rhs.split_whitespace().collect();
        let expr = match words.as_slice() {
            ["leader"] => Expr::Leader,
            ["follower", k] => {
                let k: usize = k
                    .parse()
                    .ok()
                    .filter(|k| (1..nodes).contains(k))
                    .ok_or_else(|| format!("follower {k}: use 1 to {}", nodes.saturating_sub(1)))?;
                Expr::Follower(k)
            }
            [m, node] if Metric::parse(m).is_some() => Expr::Metric(
                Metric::parse(m).ok_or("unreachable")?,
                parse_node(node, nodes)?,
            ),
            [v] => {
                let (value, _) = parse_value(&[v], nodes)?;
                if value == Value::SameOnLeader {
                    Expr::Leader
                } else {
                    Expr::Value(value)
                }
            }
            _ => return Err("expected leader, follower K, METRIC NODE or a number".into()),
        };
        Ok(Binding {
            name: name.to_string(),
            expr,
            text: format!("{name} = {}", words.join(" ")),
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
    pub fn eval(&self, status: &ClusterStatus, vars: &Vars) -> Result<u64, String> {
        let env = Env { status, vars };
        match &self.expr {
            Expr::Leader => Ok(env.node(&NodeRef::Leader)?.id),
            Expr::Follower(k) => status
                .nodes
                .iter()
                .filter(|n| n.up && n.status.role != Role::Leader)
                .nth(k - 1)
                .map(|n| n.id)
                .ok_or_else(|| format!("there is no follower {k} ({})", roles(status))),
            Expr::Metric(m, n) => Ok(m.of(env.node(n)?)),
            Expr::Value(v) => env.value(v, None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::raft::Status;

    struct Fake {
        status: ClusterStatus,
        logs: BTreeMap<NodeId, Vec<(Index, Term)>>,
        kv: BTreeMap<NodeId, Vec<(String, String)>>,
    }

    impl Source for Fake {
        fn status(&self) -> ClusterStatus {
            self.status.clone()
        }
        async fn log_terms(&self, id: NodeId, lo: Index, hi: Index) -> Option<Vec<(Index, Term)>> {
            let log = self.logs.get(&id)?;
            Some(
                log.iter()
                    .copied()
                    .filter(|(i, _)| (lo..=hi).contains(i))
                    .collect(),
            )
        }
        async fn kv(&self, id: NodeId) -> Option<Vec<(String, String)>> {
            self.kv.get(&id).cloned()
        }
    }

    fn node(
        id: NodeId,
        up: bool,
        role: Role,
        term: Term,
        log: &[Term],
        commit: Index,
    ) -> NodeState {
        NodeState {
            id,
            addr: "127.0.0.1:1".parse().unwrap(),
            up,
            status: Status {
                id,
                role,
                term,
                voted_for: None,
                leader_id: None,
                commit,
                applied: commit,
                last_log_index: log.len() as u64,
                last_log_term: log.last().copied().unwrap_or(0),
                persisted_index: log.len() as u64,
                first_index: 1,
                snapshot_index: 0,
                snapshot_term: 0,
                snapshot_bytes: 0,
                receiving_snapshot: None,
                election_elapsed: 0,
                election_timeout: 10,
                progress: vec![],
                pre_candidate: false,
                transfer_target: None,
                voters: Vec::new(),
                learners: Vec::new(),
                conf_pending: false,
            },
            kv_len: 0,
            clock_rate: 1.0,
            slow: std::time::Duration::ZERO,
        }
    }

    fn fake(nodes: Vec<(NodeState, Vec<Term>)>) -> Fake {
        let logs = nodes
            .iter()
            .map(|(n, l)| {
                (
                    n.id,
                    l.iter()
                        .enumerate()
                        .map(|(i, t)| (i as u64 + 1, *t))
                        .collect(),
                )
            })
            .collect();
        let kv = nodes
            .iter()
            .filter(|(n, _)| n.up)
            .map(|(n, _)| (n.id, vec![("x".to_string(), "1".to_string())]))
            .collect();
        Fake {
            status: ClusterStatus {
                nodes: nodes.into_iter().map(|(n, _)| n).collect(),
                paused: false,
                speed: 1.0,
                preset: crate::cluster::Preset::Fast,
                tick: std::time::Duration::from_millis(10),
                groups: vec![],
                cut_links: vec![],
            },
            logs,
            kv,
        }
    }

    /// Node 1 leads term 3; node 2 follows with the same log; node 3 diverged; node 4 is down.
    fn cluster() -> Fake {
        fake(vec![
            (node(1, true, Role::Leader, 3, &[1, 1, 3], 3), vec![1, 1, 3]),
            (
                node(2, true, Role::Follower, 3, &[1, 1, 3], 3),
                vec![1, 1, 3],
            ),
            (
                node(3, true, Role::Follower, 3, &[1, 2, 2], 2),
                vec![1, 2, 2],
            ),
            (node(4, false, Role::Follower, 1, &[1], 1), vec![1]),
        ])
    }

    fn holds(text: &str, vars: &[(&str, u64)]) -> Result<(), String> {
        let c = Condition::parse(text, 4).unwrap_or_else(|e| panic!("{text}: {e}"));
        let vars: Vars = vars.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        let ops = OpsTracker::default();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(c.eval(&cluster(), &vars, Some(&ops)))
    }

    #[test]
    fn conditions_that_hold() {
        for text in [
            "leader",
            "leader 1",
            "leader is 1",
            "leader != 2",
            "node 4 is down",
            "3 is follower",
            "node 1 is up",
            "term == 3",
            "term all >= 3",
            "commit any < 3",
            "commit 2 == leader",
            "commit 3 < commit 1",
            "vote 1 == 0",
            "last == 3 and lastterm 3 == 2",
            "count follower == 2",
            "count down >= 1",
            "log 2 == leader",
            "log 3 != 1",
            "kv 2 x == 1",
            "kv 1 y absent",
            "ops done",
            "leader {l} and commit >= {c-1}",
            "term > {t+1}",
        ] {
            let r = holds(text, &[("l", 1), ("c", 3), ("t", 1)]);
            assert_eq!(r, Ok(()), "{text}");
        }
    }

    #[test]
    fn conditions_that_fail_say_why() {
        for (text, why) in [
            ("no leader", "node 1 is leader"),
            ("leader 2", "the leader is node 1"),
            ("leader != 1", "the leader is node 1"),
            ("node 2 is candidate", "not so"),
            ("commit >= 3", "node 3 has commit 2"),
            ("commit any > 3", "has commit"),
            ("log 3 == leader", "node 3 ends at 3/2, node 1 at 3/3"),
            ("logs agree", "node 2 ends at 3/3, node 3 at 3/2"),
            ("log 4 == leader", "node 4 is down"),
            ("kv 2 x == 2", "x = \"1\""),
            ("kv 2 z == 2", "no key z"),
            ("last op ok", "no client operation"),
            ("count leader > 1", "1 such nodes"),
            ("leader and term > 3", "node 1 has term 3"),
        ] {
            let r = holds(text, &[]);
            let e = r.expect_err(text);
            assert!(e.contains(why), "{text}: {e:?} lacks {why:?}");
        }
    }

    #[test]
    fn bad_conditions_are_refused() {
        for text in [
            "",
            "leader is",
            "leader is banana",
            "leader 9",
            "term",
            "term >",
            "term > x",
            "term ~ 3",
            "commit 2 >= 3 4",
            "node 2 is king",
            "log 2 = leader",
            "kv 2",
            "kv 2 x",
            "and leader",
            "ops",
            "frob",
            "term > {1x}",
            "term > {x+y}",
        ] {
            assert!(Condition::parse(text, 4).is_err(), "{text:?} parsed");
        }
    }

    #[test]
    fn display_gives_back_the_text() {
        let c = Condition::parse("  leader   != {old} and  term > 2 ", 3).unwrap();
        assert_eq!(c.to_string(), "leader != {old} and term > 2");
        assert_eq!(c.vars(), vec!["old"]);
    }

    #[test]
    fn placeholders_substitute_with_offsets() {
        let look = |n: &str| (n == "a").then_some(5);
        assert_eq!(substitute("kill {a}", &look).unwrap(), "kill 5");
        assert_eq!(
            substitute("partition {a},{a-1} {a+2}", &look).unwrap(),
            "partition 5,4 7"
        );
        assert!(substitute("kill {b}", &look).is_err());
        assert!(substitute("kill {a", &look).is_err());
        assert!(substitute("kill {a-9}", &look).is_err());
        assert_eq!(placeholders("x {a} {b+1}").unwrap(), vec!["a", "b"]);
    }

    #[test]
    fn bindings_remember_what_they_name() {
        let st = cluster().status;
        let vars = Vars::new();
        let eval = |t: &str| Binding::parse(t, 4).unwrap().eval(&st, &vars);
        assert_eq!(eval("l = leader"), Ok(1));
        assert_eq!(eval("f = follower 2"), Ok(3));
        assert_eq!(eval("c = commit 3"), Ok(2));
        assert_eq!(eval("t = term leader"), Ok(3));
        assert_eq!(eval("n = 7"), Ok(7));
        assert!(eval("f = follower 3").is_err());
        assert!(Binding::parse("1x = leader", 4).is_err());
        assert!(Binding::parse("x leader", 4).is_err());
        assert!(Binding::parse("x = follower 9", 4).is_err());
    }
}
