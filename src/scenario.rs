//! Scripted scenarios: a story told on a real cluster, step by step, with narration, actions,
//! waits and assertions. The teaching demos of `assets/scenarios/` are written in this format,
//! and each is also an automated test (`tests/scenarios.rs`).
//!
//! A scenario is a TOML file:
//!
//! ```toml
//! title = "Leader crash and re-election"
//! summary = "the leader dies; the followers' timers run out and they elect a new one"
//!
//! [cluster]
//! nodes = 3          # 1 to 9
//! preset = "teach"   # teach (default) or fast
//! seed = 1           # seeds the election timers and the network
//! snapshot_every = 20   # optional: the snapshot policy, in applied entries (0: never)
//! rules = "paper"    # optional: "paper" (Figure 2 only: PreVote and CheckQuorum off) or
//!                    # "default" (both on)
//!
//! [[step]]
//! say = "Node 1 times out first and asks for votes."   # narration
//! do = "campaign 1"                                     # one prompt command, or a list
//! wait = "leader 1"                                     # a condition to wait for ...
//! within = "20s"                                        # ... at most this long
//!
//! [[step]]
//! let = "old = leader"                # remember a number: a node id, a term, an index
//! do = ["put x 1", "kill {old}"]      # {name} is replaced by its value; {name+1} adds one
//! wait = "leader != {old}"
//! assert = ["term > 1", "ops done"]   # must hold right away
//! hold = "2s"                         # let time pass for the viewer
//! ```
//!
//! A step does its parts in this order: `let`, `say` (so the narration may name what the
//! `let`s remember), `do` (`repeat` times), `wait`, `assert`, `hold`. Commands are the dashboard prompt's (see [`crate::command::prompt`]); client operations
//! run in the background (`wait = "ops done"` waits for them). Conditions are described in
//! [`condition`]; a wait that times out or an assertion that fails ends the scenario with the
//! state that contradicted it. A scenario file is checked whole before anything runs.

pub mod challenge;
pub mod condition;
pub mod runner;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Deserializer};
use toml::Spanned;

use crate::cluster::Preset;
use crate::command::prompt::{self, PromptCommand, Span};
pub use condition::{Capture, Condition, ConditionError};

/// The scenarios shipped in `assets/scenarios/`, built into the binary: (name, TOML text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "leader-election",
        include_str!("../assets/scenarios/leader-election.toml"),
    ),
    (
        "leader-crash",
        include_str!("../assets/scenarios/leader-crash.toml"),
    ),
    (
        "split-vote",
        include_str!("../assets/scenarios/split-vote.toml"),
    ),
    (
        "stale-leader",
        include_str!("../assets/scenarios/stale-leader.toml"),
    ),
    (
        "log-repair",
        include_str!("../assets/scenarios/log-repair.toml"),
    ),
    (
        "figure-8",
        include_str!("../assets/scenarios/figure-8.toml"),
    ),
    (
        "slow-follower",
        include_str!("../assets/scenarios/slow-follower.toml"),
    ),
    (
        "exactly-once",
        include_str!("../assets/scenarios/exactly-once.toml"),
    ),
    (
        "snapshots",
        include_str!("../assets/scenarios/snapshots.toml"),
    ),
];

/// A scenario, checked and ready to run.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Its name: the built-in name or the file's stem.
    pub name: String,
    /// Its title.
    pub title: String,
    /// One line on what it shows.
    pub summary: String,
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Timing preset.
    pub preset: Preset,
    /// Seed of the cores and the network.
    pub seed: u64,
    /// Snapshot policy in applied entries, when the scenario sets one.
    pub snapshot_every: Option<u64>,
    /// The rules the nodes follow: the defaults, or the paper's Figure 2 only
    /// (`rules = "paper"`, or `raftlab scenario --paper`).
    pub rules: crate::node::Rules,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Step {
    /// Narration shown while the step runs, with `{name}` placeholders: they are filled in
    /// once the step's `let`s have run, so the text may name what they remember.
    pub say: Option<String>,
    /// Values to remember, evaluated first (before the narration is shown and the actions).
    pub lets: Vec<Capture>,
    /// Prompt command lines, with `{name}` placeholders.
    pub actions: Vec<String>,
    /// How many times the actions run (at least 1).
    pub repeat: u32,
    /// A condition to wait for.
    pub wait: Option<Condition>,
    /// How long the wait may take (the preset's default when `None`).
    pub within: Option<Duration>,
    /// Conditions that must hold after the wait.
    pub asserts: Vec<Condition>,
    /// Time to let pass at the end of the step.
    pub hold: Option<Duration>,
}

impl Scenario {
    /// The cluster configuration the scenario asks for (memory storage: kills and restarts keep
    /// it, and nothing is left on disk).
    pub fn cluster_config(&self) -> crate::cluster::ClusterConfig {
        let mut config = crate::cluster::ClusterConfig::new(self.nodes, self.preset);
        config.seed = self.seed;
        config.storage = crate::cluster::StorageConfig::Memory;
        config.rules = self.rules;
        if let Some(every) = self.snapshot_every {
            config.snapshot = Some(crate::node::SnapshotPolicy {
                entries: every,
                bytes: 0,
            });
        }
        config
    }
}

impl Step {
    /// A short description of what the step does (without the narration).
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for b in &self.lets {
            parts.push(format!("let {b}"));
        }
        if !self.actions.is_empty() {
            let times = if self.repeat > 1 {
                format!(" ×{}", self.repeat)
            } else {
                String::new()
            };
            parts.push(format!("do {}{times}", self.actions.join("; ")));
        }
        if let Some(w) = &self.wait {
            parts.push(format!("wait {w}"));
        }
        for a in &self.asserts {
            parts.push(format!("assert {a}"));
        }
        if let Some(h) = self.hold {
            parts.push(format!("hold {}", fmt_secs(h)));
        }
        parts.join(", ")
    }
}

/// Writes a duration as seconds with one decimal.
pub fn fmt_secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Why a scenario cannot be loaded: where (the file, the step, the line and column of the word at
/// fault) and what is wrong.
///
/// ```text
/// assets/scenarios/x.toml: step 3, line 14, column 18: do "partition 1,2 1,3": partition: node 1 is in two groups
///   do = "partition 1,2 1,3"
///                       ^
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// The file, or the built-in scenario's name.
    pub origin: String,
    /// The step (from 1), if the problem is in one.
    pub step: Option<usize>,
    /// The word at fault in the file, when known.
    pub at: Option<Box<SourcePosition>>,
    /// What is wrong.
    pub message: String,
}

/// A place in a scenario file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourcePosition {
    /// The line, from 1.
    pub line: usize,
    /// The column, from 1, in characters.
    pub column: usize,
    /// The text of the line.
    pub text: String,
    /// The line to print under it: a caret under the word.
    pub carets: String,
}

impl SourcePosition {
    /// The position of the bytes `span` of the document `doc`.
    fn of(doc: &str, span: Span) -> SourcePosition {
        let start = span.start.min(doc.len());
        let line_start = doc[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = doc[line_start..]
            .find('\n')
            .map_or(doc.len(), |i| i + line_start);
        let text = doc[line_start..line_end].trim_end_matches('\r');
        let local = Span::new(span.start - line_start, span.end.min(line_end) - line_start);
        SourcePosition {
            line: doc[..line_start].matches('\n').count() + 1,
            column: local.column(text) + 1,
            text: text.to_string(),
            carets: local.carets(text),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.origin)?;
        match (self.step, &self.at) {
            (None, None) => {}
            (Some(step), None) => write!(f, ": step {step}")?,
            (None, Some(at)) => write!(f, ": line {}, column {}", at.line, at.column)?,
            (Some(step), Some(at)) => {
                write!(f, ": step {step}, line {}, column {}", at.line, at.column)?
            }
        }
        write!(f, ": {}", self.message)?;
        if let Some(at) = &self.at {
            write!(f, "\n  {}\n  {}", at.text, at.carets)?;
        }
        Ok(())
    }
}

impl std::error::Error for ScenarioError {}

/// A string of the scenario file and where its literal is in the document.
#[derive(Clone, Debug)]
struct Located {
    text: String,
    /// The literal, quotes included.
    literal: std::ops::Range<usize>,
}

impl Located {
    fn new(s: Spanned<String>) -> Located {
        Located {
            literal: s.span(),
            text: s.into_inner(),
        }
    }

    /// Where the bytes `span` of the string are in the document `doc`: exact when the literal
    /// holds the string as written (no escapes), else the whole literal.
    fn in_doc(&self, doc: &str, span: Span) -> Span {
        let whole = Span::new(self.literal.start, self.literal.end);
        let Some(raw) = doc.get(self.literal.clone()) else {
            return whole;
        };
        for quote in ["\"\"\"", "\'\'\'", "\"", "\'"] {
            let Some(inner) = raw.strip_prefix(quote).and_then(|r| r.strip_suffix(quote)) else {
                continue;
            };
            // A multi-line string drops the newline right after its opening quotes, and a
            // narration is trimmed: find the text inside what is written.
            let Some(at) = inner.find(self.text.as_str()) else {
                continue;
            };
            let literal_text = &inner[at..at + self.text.len()];
            let skipped = &inner[..at];
            if literal_text == self.text && skipped.trim().is_empty() {
                let end = span.end.min(self.text.len());
                return Span::new(span.start.min(end), end)
                    .shift(self.literal.start + quote.len() + at);
            }
        }
        whole
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    title: String,
    #[serde(default)]
    summary: String,
    #[serde(default)]
    cluster: RawCluster,
    #[serde(default)]
    step: Vec<RawStep>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    nodes: Option<i64>,
    preset: Option<String>,
    seed: Option<u64>,
    snapshot_every: Option<u64>,
    rules: Option<String>,
}

/// One string or a list of them, each with its place in the file.
enum OneOrMany {
    One(String),
    Many(Vec<Spanned<String>>),
}

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = OneOrMany;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<OneOrMany, E> {
                Ok(OneOrMany::One(v.to_string()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<OneOrMany, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element()? {
                    out.push(s);
                }
                Ok(OneOrMany::Many(out))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The strings of a `OneOrMany` field, each with its place in the file.
fn located(field: Option<Spanned<OneOrMany>>) -> Vec<Located> {
    let Some(field) = field else {
        return Vec::new();
    };
    let span = field.span();
    match field.into_inner() {
        OneOrMany::One(s) => vec![Located::new(Spanned::new(span, s))],
        OneOrMany::Many(v) => v.into_iter().map(Located::new).collect(),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    say: Option<Spanned<String>>,
    #[serde(rename = "let")]
    lets: Option<Spanned<OneOrMany>>,
    #[serde(rename = "do")]
    actions: Option<Spanned<OneOrMany>>,
    repeat: Option<i64>,
    wait: Option<Spanned<String>>,
    within: Option<Spanned<String>>,
    assert: Option<Spanned<OneOrMany>>,
    hold: Option<Spanned<String>>,
}

/// Commands a scenario may not use: they belong to the person at the dashboard.
fn forbidden(cmd: &PromptCommand) -> bool {
    matches!(
        cmd,
        PromptCommand::Help
            | PromptCommand::Quit
            | PromptCommand::History
            | PromptCommand::HistorySave(_)
            | PromptCommand::Save(_)
            | PromptCommand::Share
            | PromptCommand::Branches
            | PromptCommand::Branch(_)
            | PromptCommand::Next
            | PromptCommand::Nemesis(_)
            | PromptCommand::NemesisStop
    )
}

/// Parses a scenario from TOML text; `name` says where it came from (in errors too).
pub fn parse(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    parse_file(name, name, text)
}

/// Parses a scenario read from the file `origin` (which errors name, with the line and column
/// of the word at fault), calling it `name`.
pub fn parse_file(origin: &str, name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let err = |message: String| ScenarioError {
        origin: origin.to_string(),
        step: None,
        at: None,
        message,
    };
    let raw: RawScenario = toml::from_str(text).map_err(|e| err(e.to_string()))?;
    if raw.title.trim().is_empty() {
        return Err(err("the title is empty".into()));
    }
    let nodes = raw.cluster.nodes.unwrap_or(3);
    if !(1..=9).contains(&nodes) {
        return Err(err(format!(
            "[cluster] nodes = {nodes}: a scenario has 1 to 9 nodes"
        )));
    }
    let nodes = nodes as usize;
    let preset = match raw.cluster.preset.as_deref() {
        None | Some("teach") => Preset::Teach,
        Some("fast") => Preset::Fast,
        Some(other) => {
            return Err(err(format!(
                "[cluster] preset = {other:?}: use \"teach\" or \"fast\""
            )))
        }
    };
    let rules = match raw.cluster.rules.as_deref() {
        None | Some("default") => crate::node::Rules::default(),
        Some("paper") => crate::node::Rules::paper(),
        Some(other) => {
            return Err(err(format!(
                "[cluster] rules = {other:?}: use \"paper\" (Figure 2 only) or \"default\" \
                 (PreVote and CheckQuorum on)"
            )))
        }
    };
    if raw.step.is_empty() {
        return Err(err("the scenario has no [[step]]".into()));
    }
    let mut bound: BTreeSet<String> = BTreeSet::new();
    let mut steps = Vec::with_capacity(raw.step.len());
    for (i, rs) in raw.step.into_iter().enumerate() {
        let serr = |message: String| ScenarioError {
            origin: origin.to_string(),
            step: Some(i + 1),
            at: None,
            message,
        };
        // An error about the bytes `span` of the string `v`.
        let at = |v: &Located, span: Span, message: String| ScenarioError {
            origin: origin.to_string(),
            step: Some(i + 1),
            at: Some(Box::new(SourcePosition::of(text, v.in_doc(text, span)))),
            message,
        };
        let mut step = Step {
            repeat: 1,
            ..Step::default()
        };
        for v in located(rs.lets) {
            let t = &v.text;
            let c =
                Capture::parse(t, nodes).map_err(|e| at(&v, e.span, format!("let {t:?}: {e}")))?;
            if let Some((name, span)) = undefined(&c.vars(), &bound, t) {
                return Err(at(&v, span, format!("let {t:?}: {}", not_defined(name))));
            }
            bound.insert(c.name.clone());
            step.lets.push(c);
        }
        // The narration is filled in after the step's `let`s: it may name what they remember.
        if let Some(say) = rs.say {
            let span = say.span();
            let v = Located::new(Spanned::new(span, say.into_inner().trim().to_string()));
            let t = &v.text;
            let found =
                condition::placeholders(t).map_err(|e| at(&v, e.span, format!("say: {e}")))?;
            // A `}` outside every placeholder would be printed as it is.
            let mut gaps = Vec::new();
            let mut from = 0;
            for (_, span) in &found {
                gaps.push(from..span.start);
                from = span.end;
            }
            gaps.push(from..t.len());
            if let Some(i) = gaps
                .into_iter()
                .find_map(|g| t[g.clone()].find('}').map(|i| g.start + i))
            {
                return Err(at(
                    &v,
                    Span::new(i, i + 1),
                    "say: a `}` without its `{` (braces are for {name} placeholders)".into(),
                ));
            }
            let vars: Vec<String> = found.into_iter().map(|(name, _)| name).collect();
            if let Some((name, span)) = undefined(&vars, &bound, t) {
                return Err(at(&v, span, format!("say: {}", not_defined(name))));
            }
            step.say = Some(v.text);
        }
        for v in located(rs.actions) {
            let line = &v.text;
            let fail = |span: Span, e: &dyn fmt::Display| at(&v, span, format!("do {line:?}: {e}"));
            let vars: Vec<String> = condition::placeholders(line)
                .map_err(|e| fail(e.span, &e))?
                .into_iter()
                .map(|(name, _)| name)
                .collect();
            if let Some((name, span)) = undefined(&vars, &bound, line) {
                return Err(fail(span, &not_defined(name)));
            }
            // Check the command's shape with every placeholder standing for node 1.
            let probe = condition::substitute(line, &|_| Some(1)).map_err(|e| fail(e.span, &e))?;
            let cmd =
                prompt::parse(&probe.line, nodes).map_err(|e| fail(probe.original(e.span), &e))?;
            if forbidden(&cmd) {
                return Err(fail(
                    Span::new(0, line.len()),
                    &"a scenario cannot use this command",
                ));
            }
            step.actions.push(line.clone());
        }
        if let Some(r) = rs.repeat {
            if !(1..=1000).contains(&r) {
                return Err(serr(format!("repeat = {r}: use 1 to 1000")));
            }
            if step.actions.is_empty() {
                return Err(serr("repeat without do".into()));
            }
            step.repeat = r as u32;
        }
        let condition = |v: &Located, part: &str| -> Result<Condition, ScenarioError> {
            let t = &v.text;
            let c = Condition::parse(t, nodes)
                .map_err(|e| at(v, e.span, format!("{part} {t:?}: {e}")))?;
            if let Some((name, span)) = undefined(&c.vars(), &bound, t) {
                return Err(at(v, span, format!("{part} {t:?}: {}", not_defined(name))));
            }
            Ok(c)
        };
        if let Some(w) = rs.wait.map(Located::new) {
            step.wait = Some(condition(&w, "wait")?);
        }
        if let Some(w) = rs.within.map(Located::new) {
            if step.wait.is_none() {
                return Err(serr("within without wait".into()));
            }
            let d =
                prompt::duration(&w.text).map_err(|e| at(&w, e.span, format!("within: {e}")))?;
            step.within = Some(d);
        }
        for a in located(rs.assert) {
            step.asserts.push(condition(&a, "assert")?);
        }
        if let Some(h) = rs.hold.map(Located::new) {
            let d = prompt::duration(&h.text).map_err(|e| at(&h, e.span, format!("hold: {e}")))?;
            step.hold = Some(d);
        }
        steps.push(step);
    }
    Ok(Scenario {
        name: name.to_string(),
        title: raw.title.trim().to_string(),
        summary: raw.summary.trim().to_string(),
        nodes,
        preset,
        seed: raw.cluster.seed.unwrap_or(1),
        snapshot_every: raw.cluster.snapshot_every,
        rules,
        steps,
    })
}

/// The first of `vars` that no `let` defined so far, and where it is in `text`.
fn undefined<'v>(
    vars: &'v [String],
    bound: &BTreeSet<String>,
    text: &str,
) -> Option<(&'v str, Span)> {
    let v = vars.iter().find(|v| !bound.contains(*v))?;
    let span = condition::placeholders(text)
        .ok()
        .and_then(|p| p.into_iter().find(|(name, _)| name == v))
        .map_or(Span::new(0, text.len()), |(_, span)| span);
    Some((v, span))
}

fn not_defined(v: &str) -> String {
    format!("{{{v}}} is not defined by a `let` in this or an earlier step")
}

/// The steps whose narration does not tell what they do, one line each (empty: none). The
/// rule, mechanical so that a test can hold every built-in scenario to it (docs/scenarios.md):
/// every step has `say` (in guided mode each one is a stop), and its text names what its
/// actions touch: each `{name}` they use (as `{name}` or `{name±N}`), each node id they name
/// (as a number), and each key of a client operation (as a word).
pub fn untold(scenario: &Scenario) -> Vec<String> {
    let mut out = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let number = i + 1;
        let Some(say) = &step.say else {
            out.push(format!("step {number} ({}) has no `say`", step.describe()));
            continue;
        };
        let said: BTreeSet<String> = condition::placeholders(say)
            .unwrap_or_default()
            .into_iter()
            .map(|(name, _)| name)
            .collect();
        let numbers: BTreeSet<u64> = say
            .split(|c: char| !c.is_ascii_digit())
            .filter_map(|w| w.parse().ok())
            .collect();
        let words: BTreeSet<&str> = say
            .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-'))
            .collect();
        for action in &step.actions {
            let mut missing = Vec::new();
            let names = condition::placeholders(action).unwrap_or_default();
            for (name, _) in &names {
                if !said.contains(name) {
                    missing.push(format!("{{{name}}}"));
                }
            }
            // The nodes named literally: those of the command whatever the placeholders stand
            // for (a placeholder is filled with 1, then with 2; what both name is literal).
            let parsed = |value: u64| {
                condition::substitute(action, &|_| Some(value))
                    .ok()
                    .and_then(|s| prompt::parse(&s.line, scenario.nodes).ok())
            };
            let Some(cmd) = parsed(1) else {
                continue;
            };
            let mut literal = named_nodes(&cmd);
            if !names.is_empty() {
                let other = parsed(2).map(|c| named_nodes(&c)).unwrap_or_default();
                literal.retain(|n| other.contains(n));
            }
            for n in literal {
                if !numbers.contains(&n) {
                    missing.push(format!("node {n}"));
                }
            }
            if let PromptCommand::Kv(op) = &cmd {
                if !words.contains(op.key()) {
                    missing.push(format!("key {}", op.key()));
                }
            }
            missing.dedup();
            if !missing.is_empty() {
                out.push(format!(
                    "step {number}: `say` does not name {} (do {action:?})",
                    missing.join(", ")
                ));
            }
        }
    }
    out
}

/// The nodes a command acts on.
fn named_nodes(cmd: &PromptCommand) -> Vec<crate::raft::NodeId> {
    use PromptCommand as C;
    match cmd {
        C::Kill(n)
        | C::Restart(n)
        | C::Isolate(n)
        | C::Campaign(n)
        | C::Snapshot(n)
        | C::Transfer(n)
        | C::Promote(n)
        | C::RemoveNode(n)
        | C::Slow { node: n, .. }
        | C::Clock { node: n, .. } => vec![*n],
        C::Link { from, to, .. } => vec![*from, *to],
        C::Partition(groups) => groups.iter().flatten().copied().collect(),
        _ => Vec::new(),
    }
}

/// Loads a scenario by built-in name, or from a file when `name_or_path` is not a built-in
/// name (or contains a `/` or ends in `.toml`).
pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    let looks_like_path = name_or_path.contains('/') || name_or_path.ends_with(".toml");
    if !looks_like_path {
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return parse(name, text);
        }
    }
    let path = Path::new(name_or_path);
    let text = std::fs::read_to_string(path).map_err(|e| ScenarioError {
        origin: name_or_path.to_string(),
        step: None,
        at: None,
        message: if looks_like_path {
            format!("cannot read it: {e}")
        } else {
            format!(
                "no built-in scenario by that name and no such file ({e}); `raftlab scenario \
                 --list` lists the built-in ones"
            )
        },
    })?;
    let name = path.file_stem().map_or_else(
        || name_or_path.to_string(),
        |s| s.to_string_lossy().into_owned(),
    );
    parse_file(name_or_path, &name, &text)
}

/// Every built-in scenario, parsed.
pub fn builtin() -> Vec<Result<Scenario, ScenarioError>> {
    BUILTIN.iter().map(|(n, t)| parse(n, t)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_scenario_parses() {
        for s in builtin() {
            let s = s.unwrap_or_else(|e| panic!("{e}"));
            assert!(!s.steps.is_empty());
            assert!(!s.summary.is_empty(), "{} has no summary", s.name);
        }
    }

    #[test]
    fn a_scenario_can_ask_for_the_papers_rules() {
        let s = parse(
            "t",
            "title = \"T\"\n[cluster]\nrules = \"paper\"\n[[step]]\nsay = \"hi\"\n",
        )
        .unwrap();
        assert_eq!(s.rules, crate::node::Rules::paper());
        assert_eq!(s.cluster_config().rules, crate::node::Rules::paper());
        let stale = load("stale-leader").unwrap();
        assert_eq!(stale.rules.in_force(), "Figure 2 only");
        let other = load("leader-crash").unwrap();
        assert_eq!(other.rules, crate::node::Rules::default());
    }

    #[test]
    fn a_minimal_scenario_parses_with_defaults() {
        let s = parse(
            "t",
            "title = \"T\"\n[[step]]\nsay = \"hi\"\nwait = \"leader\"\n",
        )
        .unwrap();
        assert_eq!(s.nodes, 3);
        assert_eq!(s.preset, Preset::Teach);
        assert_eq!(s.seed, 1);
        assert_eq!(s.steps[0].say.as_deref(), Some("hi"));
        assert!(s.steps[0].wait.is_some());
    }

    #[test]
    fn bad_scenarios_say_what_and_where() {
        let cases: &[(&str, &str)] = &[
            ("title = \"T\"\n", "no [[step]]"),
            (
                "title = \"T\"\n[cluster]\nnodes = 12\n[[step]]\nsay=\"x\"\n",
                "1 to 9",
            ),
            (
                "title = \"T\"\n[cluster]\npreset = \"slow\"\n[[step]]\nsay=\"x\"\n",
                "preset",
            ),
            (
                "title = \"T\"\n[cluster]\nrules = \"thesis\"\n[[step]]\nsay=\"x\"\n",
                "rules = \"thesis\": use \"paper\"",
            ),
            ("title = \"T\"\n[[step]]\ndo = \"kill 7\"\n", "step 1"),
            ("title = \"T\"\n[[step]]\ndo = \"frobnicate\"\n", "step 1"),
            ("title = \"T\"\n[[step]]\ndo = \"quit\"\n", "cannot use"),
            (
                "title = \"T\"\n[[step]]\ndo = \"kill {old}\"\n",
                "{old} is not defined",
            ),
            (
                "title = \"T\"\n[[step]]\nwait = \"leader is banana\"\n",
                "step 1",
            ),
            (
                "title = \"T\"\n[[step]]\nwithin = \"2s\"\n",
                "within without wait",
            ),
            (
                "title = \"T\"\n[[step]]\nwait = \"leader\"\nwithin = \"2 parsecs\"\n",
                "bad duration",
            ),
            (
                "title = \"T\"\n[[step]]\nsay = \"x\"\nsya = \"y\"\n",
                "unknown field",
            ),
            ("title = \"T\"\n[[step]]\nrepeat = 3\n", "repeat without do"),
            (
                "title = \"T\"\n[[step]]\nsay = \"a\"\n[[step]]\nassert = \"term > {t}\"\n",
                "step 2",
            ),
            ("title = ", "t:"),
        ];
        for (text, needle) in cases {
            let e = parse("t", text).expect_err(text).to_string();
            assert!(e.contains(needle), "{text:?}: {e:?} lacks {needle:?}");
        }
    }

    #[test]
    fn a_bad_command_in_a_file_is_pointed_at() {
        let text = "title = \"T\"\n[[step]]\nsay = \"a\"\n[[step]]\nsay = \"b\"\n\
                    [[step]]\ndo = \"partition 1,2 1,3\"\n";
        let e = parse_file("assets/scenarios/x.toml", "x", text).unwrap_err();
        assert_eq!(
            e.to_string(),
            "assets/scenarios/x.toml: step 3, line 7, column 21: do \"partition 1,2 1,3\": \
             partition: node 1 is in two groups\n  do = \"partition 1,2 1,3\"\n                      ^"
        );
    }

    #[test]
    fn bad_words_are_pointed_at_through_placeholders_and_lists() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "[[step]]\nlet = \"old = leader\"\ndo = [\"heal\", \"kill {old} 9\"]\n",
                "step 1, line 4, column 27",
                "do = [\"heal\", \"kill {old} 9\"]\n                            ^",
            ),
            (
                "[[step]]\nwait = \"leader is banana\"\n",
                "step 1, line 3, column 19",
                "wait = \"leader is banana\"\n                    ^^^^^^",
            ),
            (
                "[[step]]\nassert = [\"term > 1\", \"commit > {c}\"]\n",
                "step 1, line 3, column 33",
                "{c} is not defined",
            ),
            (
                "[[step]]\nwait = \"leader\"\nwithin = \"2 parsecs\"\n",
                "step 1, line 4, column 11",
                "within = \"2 parsecs\"\n            ^^^^^^^^^",
            ),
            (
                "[[step]]\nwait = \"le\\u0061der is x\"\n",
                "step 1, line 3, column 8",
                "\n         ^^^^^^^^^^^^^^^^^^",
            ),
        ];
        for (steps, place, needle) in cases {
            let text = format!("title = \"T\"\n{steps}");
            let e = parse("t", &text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("t: {place}: ")), "{e}");
            assert!(e.contains(needle), "{e}\nlacks\n{needle}");
        }
    }

    #[test]
    fn narration_may_name_only_what_a_let_defined() {
        // The step's own `let`s count: they run before the text is shown.
        let s = parse(
            "t",
            "title = \"T\"\n[[step]]\nlet = \"k = last 1\"\nsay = \"entry {k+1}\"\n",
        )
        .unwrap();
        assert_eq!(s.steps[0].say.as_deref(), Some("entry {k+1}"));
        let cases: &[(&str, &str, &str)] = &[
            (
                "[[step]]\nsay = \"index {k+1} in term {t}\"\n",
                "step 1, line 3, column 14",
                "say: {k} is not defined",
            ),
            (
                "[[step]]\nlet = \"k = last 1\"\nsay = \"\"\"\nindex {k+1}\nin term {t}\n\"\"\"\n",
                "step 1, line 6, column 9",
                "say: {t} is not defined",
            ),
            (
                "[[step]]\nsay = \"a set {1,2}\"\n",
                "step 1, line 3, column 14",
                "say: bad name",
            ),
            (
                "[[step]]\nsay = \"a stray } brace\"\n",
                "step 1, line 3, column 16",
                "a `}` without its `{`",
            ),
            (
                "[[step]]\nsay = \"open { here\"\n",
                "step 1, line 3",
                "not closed",
            ),
        ];
        for (steps, place, needle) in cases {
            let text = format!("title = \"T\"\n{steps}");
            let e = parse("t", &text).unwrap_err().to_string();
            assert!(e.starts_with(&format!("t: {place}")), "{e}");
            assert!(e.contains(needle), "{e}\nlacks\n{needle}");
        }
    }

    #[test]
    fn untold_steps_are_found() {
        let s = parse(
            "t",
            "title = \"T\"\n[cluster]\nnodes = 5\n\
             [[step]]\nlet = \"old = leader\"\nsay = \"Node {old} crashes; node 3 is cut off from 4.\"\n\
             do = [\"kill {old}\", \"link 3 4 cut\", \"put x 1\"]\n\
             [[step]]\nsay = \"The leader crashes.\"\ndo = [\"kill {old}\", \"isolate 2\"]\n\
             [[step]]\ndo = \"heal\"\n",
        )
        .unwrap();
        let found = untold(&s);
        assert_eq!(found.len(), 4, "{found:#?}");
        assert!(
            found[0].starts_with("step 1") && found[0].contains("key x"),
            "{found:#?}"
        );
        assert!(
            found[1].starts_with("step 2") && found[1].contains("{old}"),
            "{found:#?}"
        );
        assert!(
            found[2].starts_with("step 2") && found[2].contains("node 2"),
            "{found:#?}"
        );
        assert!(
            found[3].starts_with("step 3") && found[3].contains("no `say`"),
            "{found:#?}"
        );
    }

    #[test]
    fn let_binds_names_for_later_steps() {
        let s = parse(
            "t",
            "title = \"T\"\n[[step]]\nlet = \"old = leader\"\ndo = \"kill {old}\"\n\
             [[step]]\nwait = \"leader != {old} and term > {old+1}\"\n",
        )
        .unwrap();
        assert_eq!(s.steps[0].actions, vec!["kill {old}".to_string()]);
        assert_eq!(s.steps[1].wait.as_ref().unwrap().vars(), vec!["old", "old"]);
    }

    #[test]
    fn unknown_names_are_neither_builtin_nor_files() {
        let e = load("no-such-scenario").unwrap_err().to_string();
        assert!(e.contains("--list"), "{e}");
        let e = load("/nonexistent/x.toml").unwrap_err().to_string();
        assert!(e.contains("cannot read"), "{e}");
    }
}
