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
//! A step does its parts in this order: `say`, `let`, `do` (`repeat` times), `wait`, `assert`,
//! `hold`. Commands are the dashboard prompt's (see [`crate::command::prompt`]); client operations
//! run in the background (`wait = "ops done"` waits for them). Conditions are described in
//! [`condition`]; a wait that times out or an assertion that fails ends the scenario with the
//! state that contradicted it. A scenario file is checked whole before anything runs.

pub mod condition;
pub mod runner;

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::cluster::Preset;
use crate::command::prompt::{self, PromptCommand};
pub use condition::{Binding, Condition};

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
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// One step of a scenario.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Step {
    /// Narration shown while the step runs.
    pub say: Option<String>,
    /// Values to remember, evaluated before the actions.
    pub lets: Vec<Binding>,
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

/// Why a scenario cannot be loaded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// Where: the file or scenario name, and the step if the problem is in one.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for ScenarioError {}

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
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    say: Option<String>,
    #[serde(rename = "let")]
    lets: Option<OneOrMany>,
    #[serde(rename = "do")]
    actions: Option<OneOrMany>,
    repeat: Option<i64>,
    wait: Option<String>,
    within: Option<String>,
    assert: Option<OneOrMany>,
    hold: Option<String>,
}

/// Commands a scenario may not use: they belong to the person at the dashboard.
fn forbidden(cmd: &PromptCommand) -> bool {
    matches!(
        cmd,
        PromptCommand::Help
            | PromptCommand::Quit
            | PromptCommand::History
            | PromptCommand::HistorySave(_)
            | PromptCommand::Nemesis(_)
            | PromptCommand::NemesisStop
    )
}

/// Parses a scenario from TOML text; `name` says where it came from (in errors too).
pub fn parse(name: &str, text: &str) -> Result<Scenario, ScenarioError> {
    let err = |message: String| ScenarioError {
        origin: name.to_string(),
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
    if raw.step.is_empty() {
        return Err(err("the scenario has no [[step]]".into()));
    }
    let mut bound: BTreeSet<String> = BTreeSet::new();
    let mut steps = Vec::with_capacity(raw.step.len());
    for (i, rs) in raw.step.into_iter().enumerate() {
        let serr = |message: String| ScenarioError {
            origin: format!("{name}, step {}", i + 1),
            message,
        };
        let mut step = Step {
            say: rs.say.map(|s| s.trim().to_string()),
            repeat: 1,
            ..Step::default()
        };
        for text in rs.lets.map(OneOrMany::into_vec).unwrap_or_default() {
            let b = Binding::parse(&text, nodes).map_err(|e| serr(format!("let {text:?}: {e}")))?;
            check_vars(&b.vars(), &bound).map_err(|e| serr(format!("let {text:?}: {e}")))?;
            bound.insert(b.name.clone());
            step.lets.push(b);
        }
        for line in rs.actions.map(OneOrMany::into_vec).unwrap_or_default() {
            let vars =
                condition::placeholders(&line).map_err(|e| serr(format!("do {line:?}: {e}")))?;
            check_vars(&vars, &bound).map_err(|e| serr(format!("do {line:?}: {e}")))?;
            // Check the command's shape with every placeholder standing for node 1.
            let probe = condition::substitute(&line, &|_| Some(1))
                .map_err(|e| serr(format!("do {line:?}: {e}")))?;
            let cmd =
                prompt::parse(&probe, nodes).map_err(|e| serr(format!("do {line:?}: {e}")))?;
            if forbidden(&cmd) {
                return Err(serr(format!(
                    "do {line:?}: a scenario cannot use this command"
                )));
            }
            step.actions.push(line);
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
        if let Some(w) = rs.wait {
            let c = Condition::parse(&w, nodes).map_err(|e| serr(format!("wait {w:?}: {e}")))?;
            check_vars(&c.vars(), &bound).map_err(|e| serr(format!("wait {w:?}: {e}")))?;
            step.wait = Some(c);
        }
        if let Some(w) = rs.within {
            if step.wait.is_none() {
                return Err(serr("within without wait".into()));
            }
            let d = prompt::duration(&w).map_err(|e| serr(format!("within: {e}")))?;
            step.within = Some(d);
        }
        for a in rs.assert.map(OneOrMany::into_vec).unwrap_or_default() {
            let c = Condition::parse(&a, nodes).map_err(|e| serr(format!("assert {a:?}: {e}")))?;
            check_vars(&c.vars(), &bound).map_err(|e| serr(format!("assert {a:?}: {e}")))?;
            step.asserts.push(c);
        }
        if let Some(h) = rs.hold {
            step.hold = Some(prompt::duration(&h).map_err(|e| serr(format!("hold: {e}")))?);
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
        steps,
    })
}

fn check_vars(vars: &[String], bound: &BTreeSet<String>) -> Result<(), String> {
    match vars.iter().find(|v| !bound.contains(*v)) {
        Some(v) => Err(format!(
            "{{{v}}} is not defined by a `let` in this or an earlier step"
        )),
        None => Ok(()),
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
    parse(&name, &text)
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
