//! Challenges: goal-driven exercises checked live. Where a scenario tells a story, a challenge
//! sets up a cluster, states a goal in the condition language, and watches the cluster (and its
//! event history) until the goal holds, whatever the learner does to get there. Hints come one
//! at a time on request; on success, a short explanation names the paper's section.
//!
//! The challenges shipped are in `assets/challenges/`, one TOML file each:
//!
//! ```toml
//! title = "Cause a split vote"
//! summary = "two candidates in one term, and nobody wins it"
//! section = "§5.2"
//!
//! [cluster]
//! nodes = 5
//! preset = "teach"           # teach (default) or fast
//! rules = "paper"            # default (PreVote and CheckQuorum on) or paper (Figure 2 only)
//! unsafe = ["local-reads"]   # optional: rules broken on purpose
//! snapshot_every = 10        # optional: snapshot policy in applied entries
//! max_append = 1             # optional: most entries in one AppendEntries
//!
//! setup = ["campaign 1"]     # prompt commands run when the challenge starts
//! ready = "leader 1"         # ... and what to wait for before watching the goal
//! goal = "split votes >= 1"  # a condition; history atoms count from `ready` on
//! hints = ["first hint", "second hint"]
//! explain = "what it showed"
//! ```
//!
//! ```text
//!   setup (Executor) ─► wait ready ─► watch: event bus ─► EventHistory ─┐
//!                                          status poll ─────────────────┼─► goal? ─► Solved
//!                                          client history ─► checker ───┘
//! ```
//!
//! Progress (tries, when solved) is kept in the user's data directory: [`progress`].

pub mod progress;

use std::fmt;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::mpsc;

use super::condition::{roles, Condition, EventHistory, HistoryCount, Source, Vars};
use super::runner::{default_within, POLL};
use crate::check::History;
use crate::cluster::{ClusterConfig, ClusterHandle, Preset, Rules, StorageConfig, UnsafeRule};
use crate::command::executor::Executor;
use crate::command::prompt;
use crate::node::EventKind;
use crate::raft::TraceEvent;

/// The challenges shipped in `assets/challenges/`, built into the binary: (name, TOML text).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "split-vote",
        include_str!("../../assets/challenges/split-vote.toml"),
    ),
    (
        "two-leaders",
        include_str!("../../assets/challenges/two-leaders.toml"),
    ),
    (
        "doomed-write",
        include_str!("../../assets/challenges/doomed-write.toml"),
    ),
    (
        "log-repair",
        include_str!("../../assets/challenges/log-repair.toml"),
    ),
    (
        "snapshot-catch-up",
        include_str!("../../assets/challenges/snapshot-catch-up.toml"),
    ),
    (
        "hand-over",
        include_str!("../../assets/challenges/hand-over.toml"),
    ),
    (
        "lost-commit",
        include_str!("../../assets/challenges/lost-commit.toml"),
    ),
    (
        "stale-read",
        include_str!("../../assets/challenges/stale-read.toml"),
    ),
];

/// A challenge, checked and ready to start.
#[derive(Clone, Debug, PartialEq)]
pub struct Challenge {
    /// Its name (the built-in name).
    pub name: String,
    /// Its title: the task, in a few words.
    pub title: String,
    /// One line on the task.
    pub summary: String,
    /// The paper's section it is about, e.g. "§5.4.2".
    pub section: String,
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Timing preset.
    pub preset: Preset,
    /// Seed of the cores and the network.
    pub seed: u64,
    /// The rule switches the cluster runs with.
    pub rules: Rules,
    /// Snapshot policy in applied entries, when set.
    pub snapshot_every: Option<u64>,
    /// Most entries in one AppendEntries, when set.
    pub max_append: Option<usize>,
    /// Prompt commands run when it starts.
    pub setup: Vec<String>,
    /// What to wait for after the setup.
    pub ready: Option<Condition>,
    /// The goal.
    pub goal: Condition,
    /// Hints, in the order they are given.
    pub hints: Vec<String>,
    /// What reaching the goal showed.
    pub explain: String,
}

/// Why a challenge cannot be loaded or started.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChallengeError(pub String);

impl fmt::Display for ChallengeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ChallengeError {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChallenge {
    title: String,
    summary: String,
    section: String,
    #[serde(default)]
    cluster: RawCluster,
    #[serde(default)]
    setup: Vec<String>,
    ready: Option<String>,
    goal: String,
    hints: Vec<String>,
    explain: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    nodes: Option<i64>,
    preset: Option<String>,
    seed: Option<u64>,
    rules: Option<String>,
    #[serde(rename = "unsafe", default)]
    unsafe_rules: Vec<String>,
    snapshot_every: Option<u64>,
    max_append: Option<i64>,
}

/// Parses a challenge from TOML text; `name` says where it came from.
pub fn parse(name: &str, text: &str) -> Result<Challenge, ChallengeError> {
    let err = |m: String| ChallengeError(format!("challenge {name}: {m}"));
    let raw: RawChallenge = toml::from_str(text).map_err(|e| err(e.to_string()))?;
    let nodes = raw.cluster.nodes.unwrap_or(3);
    if !(1..=9).contains(&nodes) {
        return Err(err(format!("[cluster] nodes = {nodes}: use 1 to 9")));
    }
    let nodes = nodes as usize;
    let preset = match raw.cluster.preset.as_deref() {
        None | Some("teach") => Preset::Teach,
        Some("fast") => Preset::Fast,
        Some(other) => return Err(err(format!("[cluster] preset = {other:?}: teach or fast"))),
    };
    let mut rules = Rules::default();
    match raw.cluster.rules.as_deref() {
        None | Some("default") => {}
        Some("paper") => {
            rules.pre_vote = false;
            rules.check_quorum = false;
        }
        Some(other) => {
            return Err(err(format!(
                "[cluster] rules = {other:?}: default or paper"
            )))
        }
    }
    for r in &raw.cluster.unsafe_rules {
        rules.enable(UnsafeRule::from_name(r).map_err(|e| err(format!("[cluster] unsafe: {e}")))?);
    }
    let max_append = match raw.cluster.max_append {
        None => None,
        Some(n) if (1..=1000).contains(&n) => Some(n as usize),
        Some(n) => return Err(err(format!("[cluster] max_append = {n}: use 1 to 1000"))),
    };
    for line in &raw.setup {
        prompt::parse(line, nodes).map_err(|e| err(format!("setup {line:?}: {e}")))?;
    }
    let condition = |what: &str, text: &str| {
        Condition::parse(text, nodes).map_err(|e| err(format!("{what} {text:?}: {e}")))
    };
    let ready = raw
        .ready
        .as_deref()
        .map(|r| condition("ready", r))
        .transpose()?;
    let goal = condition("goal", &raw.goal)?;
    if raw.hints.is_empty() {
        return Err(err("no hints: give at least one".into()));
    }
    for (what, text) in [
        ("title", &raw.title),
        ("summary", &raw.summary),
        ("explain", &raw.explain),
    ] {
        if text.trim().is_empty() {
            return Err(err(format!("the {what} is empty")));
        }
    }
    Ok(Challenge {
        name: name.to_string(),
        title: raw.title.trim().to_string(),
        summary: raw.summary.trim().to_string(),
        section: raw.section.trim().to_string(),
        nodes,
        preset,
        seed: raw.cluster.seed.unwrap_or(1),
        rules,
        snapshot_every: raw.cluster.snapshot_every,
        max_append,
        setup: raw.setup,
        ready,
        goal,
        hints: raw.hints.iter().map(|h| one_line(h)).collect(),
        explain: one_line(&raw.explain),
    })
}

/// Text of a TOML multi-line string as one paragraph.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every built-in challenge, parsed.
pub fn builtin() -> Vec<Result<Challenge, ChallengeError>> {
    BUILTIN.iter().map(|(n, t)| parse(n, t)).collect()
}

/// The built-in challenge of that name.
pub fn load(name: &str) -> Result<Challenge, ChallengeError> {
    match BUILTIN.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => parse(n, text),
        None => Err(ChallengeError(format!(
            "no challenge named {name:?}: one of {} (`raftlab challenge` lists them)",
            BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

impl Challenge {
    /// The cluster it runs on, with `preset` instead of its own when given (tests use the fast
    /// one where the story allows). Memory storage: kills and restarts keep it.
    pub fn cluster_config(&self, preset: Option<Preset>) -> ClusterConfig {
        let mut c = ClusterConfig::new(self.nodes, preset.unwrap_or(self.preset));
        c.seed = self.seed;
        c.storage = StorageConfig::Memory;
        c.rules = self.rules;
        c.max_entries_per_append = self.max_append;
        if let Some(every) = self.snapshot_every {
            c.snapshot = Some(crate::node::SnapshotPolicy {
                entries: every,
                bytes: 0,
            });
        }
        c
    }

    /// The cluster settings, in one line: "5 nodes, teach, Figure 2 rules, UNSAFE: local-reads".
    pub fn settings(&self) -> String {
        let mut parts = vec![
            format!("{} nodes", self.nodes),
            self.preset.as_str().to_string(),
        ];
        if !self.rules.pre_vote && !self.rules.check_quorum {
            parts.push("Figure 2 rules (no PreVote, no CheckQuorum)".into());
        }
        if let Some(n) = self.max_append {
            parts.push(format!("{n} entry per AppendEntries"));
        }
        if let Some(n) = self.snapshot_every {
            parts.push(format!("snapshot every {n} entries"));
        }
        if let Some(m) = self.rules.unsafe_marker() {
            parts.push(m);
        }
        parts.join(", ")
    }

    /// Whether it can run on a dashboard's cluster of `nodes` nodes with `rules` (a running
    /// cluster cannot change them); if not, what to do instead.
    pub fn fits(&self, nodes: usize, rules: &Rules) -> Result<(), ChallengeError> {
        let same_rules = rules.pre_vote == self.rules.pre_vote
            && rules.check_quorum == self.rules.check_quorum
            && rules.unsafe_on() == self.rules.unsafe_on();
        if nodes == self.nodes && same_rules && self.max_append.is_none() {
            return Ok(());
        }
        Err(ChallengeError(format!(
            "challenge {} needs its own cluster ({}): quit and run `raftlab challenge {}`",
            self.name,
            self.settings(),
            self.name
        )))
    }
}

/// What a challenge's watcher reports as it goes.
#[derive(Clone, Debug, PartialEq)]
pub enum ChallengeReport {
    /// A setup command's outcome, or the ready wait's.
    Setup(String),
    /// The setup is done: the goal is watched from now on.
    Watching,
    /// The goal does not hold yet, and why (sent when the reason changes).
    NotYet(String),
    /// The goal holds: solved after this long (from `Watching`).
    Solved(Duration),
    /// The setup failed: the challenge cannot go on.
    Failed(String),
}

/// Starts `challenge` on `cluster`: runs its setup with `executor`, waits for `ready`, then
/// watches the goal against the cluster, its event bus and the client `history` until it
/// holds. Reports go to `reports`. Returns the time to solve, or `None` if the setup failed.
/// It never gives up on its own: the caller drops (aborts) it to stop watching.
pub async fn run(
    challenge: &Challenge,
    cluster: &ClusterHandle,
    executor: &mut Executor,
    history: &History,
    reports: &mpsc::UnboundedSender<ChallengeReport>,
) -> Option<Duration> {
    let send = |r| {
        let _ = reports.send(r);
    };
    for line in &challenge.setup {
        let outcome = match prompt::parse(line, challenge.nodes) {
            Ok(cmd) => executor.execute(cmd).await,
            Err(e) => Some(format!("error: {line}: {e}")),
        };
        match outcome {
            Some(text) if text.starts_with("error") => {
                send(ChallengeReport::Failed(text));
                return None;
            }
            Some(text) => send(ChallengeReport::Setup(text)),
            None => send(ChallengeReport::Setup(format!("{line}: sent"))),
        }
    }
    if let Some(ready) = &challenge.ready {
        let within = default_within(cluster.preset());
        let started = Instant::now();
        loop {
            match ready.eval(cluster, &Vars::new(), None).await {
                Ok(()) => break,
                Err(why) if started.elapsed() >= within => {
                    send(ChallengeReport::Failed(format!(
                        "the setup did not reach `{ready}` in {} s: {why}",
                        within.as_secs()
                    )));
                    return None;
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
        send(ChallengeReport::Setup(format!(
            "ready: {ready} ({})",
            roles(&Source::status(cluster))
        )));
    }
    Some(watch(challenge, cluster, history, reports).await)
}

/// Watches the goal from now on until it holds; returns how long that took.
async fn watch(
    challenge: &Challenge,
    cluster: &ClusterHandle,
    history: &History,
    reports: &mpsc::UnboundedSender<ChallengeReport>,
) -> Duration {
    let counts = challenge.goal.history_counts();
    let reads_commits = counts.contains(&HistoryCount::LostCommits);
    let checks_reads = counts.contains(&HistoryCount::StaleReads);
    let mut bus = cluster.events().subscribe();
    let mut tally = EventHistory::starting_from(&Source::status(cluster));
    let _ = reports.send(ChallengeReport::Watching);
    let started = Instant::now();
    let mut poll = tokio::time::interval(POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut last_why = String::new();
    let mut checked = crate::check::Counts::default();
    loop {
        tokio::select! {
            ev = bus.recv() => {
                let Ok(ev) = ev else {
                    // Lagged: some events were skipped; closed: the cluster is going away.
                    if matches!(ev, Err(tokio::sync::broadcast::error::RecvError::Closed)) {
                        poll.tick().await;
                    }
                    continue;
                };
                tally.observe(&ev);
                if let (true, EventKind::Trace(TraceEvent::CommitAdvanced { from, to })) =
                    (reads_commits, &ev.kind)
                {
                    if let Ok(entries) = cluster.log_terms(ev.node, from + 1, *to).await {
                        tally.observe_committed(ev.node, &entries);
                    }
                }
            }
            _ = poll.tick() => {
                tally.observe_status(&Source::status(cluster));
                // Checked again whenever an operation starts or ends.
                if checks_reads && history.counts() != checked {
                    checked = history.counts();
                    let ops = history.operations();
                    let verdict = tokio::task::spawn_blocking(move || {
                        crate::check::check(&ops, Duration::from_secs(2))
                    })
                    .await;
                    if let Ok(crate::check::CheckResult::NotLinearizable { .. }) = verdict {
                        tally.set_stale_reads(1);
                    }
                }
                match challenge.goal.eval_with_history(cluster, &Vars::new(), None, Some(&tally)).await {
                    Ok(()) => {
                        let took = started.elapsed();
                        let _ = reports.send(ChallengeReport::Solved(took));
                        return took;
                    }
                    Err(why) => {
                        if why.0 != last_why {
                            last_why = why.0.clone();
                            let _ = reports.send(ChallengeReport::NotYet(why.0));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_challenge_parses_and_has_what_a_learner_needs() {
        let all = builtin();
        assert!(all.len() >= 8);
        for c in all {
            let c = c.unwrap_or_else(|e| panic!("{e}"));
            assert!(
                c.section.starts_with('§'),
                "{}: section {:?}",
                c.name,
                c.section
            );
            assert!(c.hints.len() >= 2, "{} has fewer than two hints", c.name);
            assert!(!c.goal.history_counts().is_empty() || c.name == "hand-over");
        }
    }

    #[test]
    fn bad_challenges_say_what_is_wrong() {
        let base = "title = \"T\"\nsummary = \"s\"\nsection = \"§5\"\nexplain = \"e\"\n\
                    hints = [\"h\"]\n";
        for (extra, needle) in [
            ("goal = \"split votes >= x\"\n", "goal"),
            ("goal = \"leader\"\nsetup = [\"frob\"]\n", "setup"),
            ("goal = \"leader\"\n[cluster]\nrules = \"odd\"\n", "rules"),
            (
                "goal = \"leader\"\n[cluster]\nunsafe = [\"nope\"]\n",
                "unsafe",
            ),
            ("goal = \"leader\"\n[cluster]\nnodes = 12\n", "nodes"),
            (
                "goal = \"leader\"\n[cluster]\nmax_append = 0\n",
                "max_append",
            ),
            ("goal = \"leader\"\nhelp = 1\n", "unknown field"),
        ] {
            let e = parse("t", &format!("{base}{extra}"))
                .unwrap_err()
                .to_string();
            assert!(e.contains(needle), "{extra:?}: {e}");
        }
        let e = load("nope").unwrap_err().to_string();
        assert!(e.contains("split-vote"), "{e}");
    }

    #[test]
    fn a_dashboard_with_other_rules_is_told_how_to_start_the_challenge() {
        let c = load("stale-read").unwrap();
        let e = c.fits(5, &Rules::default()).unwrap_err().to_string();
        assert!(e.contains("raftlab challenge stale-read"), "{e}");
        assert!(c.fits(c.nodes, &c.rules).is_ok());
    }
}
