//! Runs a scenario's steps against a live cluster and reports each one as it goes: to the
//! headless printer (`raftlab scenario --headless`), to the dashboard's narration panel, and to
//! a recording.

use std::fmt;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::condition::{ConditionError, Source, Unmet, Vars};
use super::{fmt_secs, Scenario, Step};
use crate::cluster::{ClusterHandle, Preset};
use crate::command::executor::{Executor, OpsTracker};
use crate::command::prompt::{self, PromptError};

/// How often a wait looks at the cluster again.
pub const POLL: Duration = Duration::from_millis(50);

/// What the runner reports as it goes.
#[derive(Clone, Debug, PartialEq)]
pub enum RunReport {
    /// A step begins.
    Step {
        /// Its number, from 1.
        number: usize,
        /// How many steps there are.
        total: usize,
        /// Its narration.
        say: Option<String>,
        /// What it does, in short.
        describe: String,
    },
    /// A part of the step ended (ok or not), or an action's outcome.
    Line {
        /// False for a failure.
        ok: bool,
        /// What happened.
        text: String,
    },
    /// Guided mode: waiting for the user to go on.
    WaitingForUser,
    /// The scenario ended.
    Finished(Verdict),
}

/// How a scenario ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Steps that ran to the end.
    pub steps_done: usize,
    /// Steps in all.
    pub total: usize,
    /// Why it failed, if it did: the step's number and what contradicted it.
    pub failure: Option<(usize, String)>,
    /// How long it took.
    pub elapsed: Duration,
}

impl Verdict {
    /// Whether every step passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// The default time a wait may take: about ten election timeouts of the preset.
pub fn default_within(preset: Preset) -> Duration {
    match preset {
        Preset::Teach => Duration::from_secs(40),
        Preset::Fast => Duration::from_secs(10),
    }
}

/// Runs `scenario` on `cluster`, carrying out commands with `executor`, and sends a
/// [`RunReport`] for everything that happens. Returns the verdict (also sent last).
///
/// Guided mode (`advance` given): after each narrated step but the last, time stands still
/// until a message arrives on `advance` (the learner's Enter). The runner pauses the cluster
/// (no ticks, messages held in flight) before it reports [`RunReport::WaitingForUser`]. After
/// Enter, the next step's `let`s read the world as the learner saw it, its commands go in, and
/// only then time runs again (so, in Figure 8, a link is cut before the vote replies that were
/// in flight at the stop arrive). It resumes only a pause of its own: if the cluster was already
/// paused when the stop came (the learner pressed space during the step), it stays paused; if
/// the learner resumed it at the stop, it runs on. In guided mode a wait's `within` and a `hold`
/// count only the time the cluster runs, so a learner's pause never makes a step fail.
pub async fn run(
    scenario: &Scenario,
    cluster: &ClusterHandle,
    executor: &mut Executor,
    reports: &mpsc::UnboundedSender<RunReport>,
    mut advance: Option<&mut mpsc::UnboundedReceiver<()>>,
) -> Verdict {
    let started = Instant::now();
    let ops = executor.ops();
    let mut vars = Vars::new();
    let total = scenario.steps.len();
    let mut failure = None;
    let mut done = 0;
    let guided = advance.is_some();
    // The runner paused the cluster at the last stop and resumes it once the next step's
    // commands are in: they act on the world the learner was looking at.
    let mut held = false;
    for (i, step) in scenario.steps.iter().enumerate() {
        let number = i + 1;
        // The step's `let`s first: its narration may name what they remember.
        let remembered = remember(step, cluster, &mut vars);
        let say = step.say.as_ref().map(|text| fill(text, &vars));
        let _ = reports.send(RunReport::Step {
            number,
            total,
            say,
            describe: step.describe(),
        });
        let mut outcome = match remembered {
            Ok(lines) => {
                for text in lines {
                    let _ = reports.send(RunReport::Line { ok: true, text });
                }
                act(step, scenario, executor, &vars, reports).await
            }
            Err(e) => Err(e),
        };
        if std::mem::take(&mut held) && cluster.status().paused {
            cluster.resume();
        }
        if outcome.is_ok() {
            outcome = check(step, scenario, cluster, &ops, &vars, reports, guided).await;
        }
        if let Err(e) = outcome {
            failure = Some((number, e.to_string()));
            break;
        }
        done = number;
        if let Some(rx) = advance.as_deref_mut() {
            if step.say.is_some() && number < total {
                // Time stands still at a stop; a pause the learner made is theirs to undo.
                let ours = !cluster.status().paused;
                if ours {
                    cluster.pause();
                }
                let _ = reports.send(RunReport::WaitingForUser);
                if rx.recv().await.is_none() {
                    failure = Some((number, "stopped before the end".to_string()));
                    break;
                }
                held = ours;
            }
        }
    }
    let verdict = Verdict {
        steps_done: done,
        total,
        failure,
        elapsed: started.elapsed(),
    };
    let _ = reports.send(RunReport::Finished(verdict.clone()));
    verdict
}

/// `text` with its placeholders filled in from `vars`; those not known stay as written.
fn fill(text: &str, vars: &Vars) -> String {
    super::condition::substitute(text, &|n| vars.get(n).copied())
        .map_or_else(|_| text.to_string(), |s| s.line)
}

/// Evaluates the step's `let`s into `vars`; returns a line for each (`let k = last 1 → 3`).
fn remember(
    step: &Step,
    cluster: &ClusterHandle,
    vars: &mut Vars,
) -> Result<Vec<String>, StepError> {
    let mut lines = Vec::new();
    for c in &step.lets {
        let v = c
            .eval(&Source::status(cluster), vars)
            .map_err(|why| StepError::Let {
                capture: c.to_string(),
                why,
            })?;
        lines.push(format!("let {c} → {v}"));
        vars.insert(c.name.clone(), v);
    }
    Ok(lines)
}

/// Time that counts for a wait's `within` or a `hold`: all of it, or in guided mode only the
/// time the cluster runs (a learner's pause stops it).
struct Stopwatch {
    counted: Duration,
    last: Instant,
    running_only: bool,
}

impl Stopwatch {
    fn start(running_only: bool) -> Stopwatch {
        Stopwatch {
            counted: Duration::ZERO,
            last: Instant::now(),
            running_only,
        }
    }

    /// The time counted so far.
    fn read(&mut self, cluster: &ClusterHandle) -> Duration {
        let now = Instant::now();
        if !self.running_only || !cluster.status().paused {
            self.counted += now - self.last;
        }
        self.last = now;
        self.counted
    }
}

/// Why a step failed.
#[derive(Debug)]
pub enum StepError {
    /// A `let` could not be evaluated.
    Let {
        /// The `let`, as written.
        capture: String,
        /// Why.
        why: Unmet,
    },
    /// A command's placeholders could not be filled in.
    Substitute {
        /// The command, as written.
        template: String,
        /// Why.
        why: ConditionError,
    },
    /// A command, its placeholders filled in, does not parse.
    Parse {
        /// The command line.
        line: String,
        /// Why.
        why: PromptError,
    },
    /// The cluster refused a command.
    Command {
        /// The command line.
        line: String,
        /// What the executor answered (`error: ...`).
        outcome: String,
    },
    /// A wait ran out of time.
    TimedOut {
        /// The condition, placeholders filled in.
        condition: String,
        /// How long it waited.
        within: Duration,
        /// What contradicted it last.
        why: Unmet,
    },
    /// An assertion was false.
    Assert {
        /// The condition, placeholders filled in.
        condition: String,
        /// What contradicted it.
        why: Unmet,
    },
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Let { capture, why } => write!(f, "let {capture}: {why}"),
            StepError::Substitute { template, why } => write!(f, "do {template}: {why}"),
            StepError::Parse { line, why } => write!(f, "do {line}: {why}"),
            StepError::Command { line, outcome } => write!(f, "do {line}: {outcome}"),
            StepError::TimedOut {
                condition,
                within,
                why,
            } => write!(
                f,
                "wait {condition}: still false after {}: {why}",
                fmt_secs(*within)
            ),
            StepError::Assert { condition, why } => write!(f, "assert {condition}: false: {why}"),
        }
    }
}

impl std::error::Error for StepError {}

/// Runs the step's commands (`repeat` times).
async fn act(
    step: &Step,
    scenario: &Scenario,
    executor: &mut Executor,
    vars: &Vars,
    reports: &mpsc::UnboundedSender<RunReport>,
) -> Result<(), StepError> {
    let line = |ok: bool, text: String| {
        let _ = reports.send(RunReport::Line { ok, text });
    };
    for _ in 0..step.repeat {
        for template in &step.actions {
            let text = super::condition::substitute(template, &|n| vars.get(n).copied())
                .map_err(|why| StepError::Substitute {
                    template: template.clone(),
                    why,
                })?
                .line;
            let cmd = prompt::parse(&text, scenario.nodes).map_err(|why| StepError::Parse {
                line: text.clone(),
                why,
            })?;
            match executor.execute(cmd).await {
                Some(outcome) if outcome.starts_with("error") => {
                    return Err(StepError::Command {
                        line: text,
                        outcome,
                    });
                }
                Some(outcome) => line(true, format!("do {text} → {outcome}")),
                None => line(true, format!("do {text} → sent")),
            }
        }
    }
    Ok(())
}

/// Waits for the step's condition, checks its assertions, then lets its `hold` pass.
async fn check(
    step: &Step,
    scenario: &Scenario,
    cluster: &ClusterHandle,
    ops: &OpsTracker,
    vars: &Vars,
    reports: &mpsc::UnboundedSender<RunReport>,
    guided: bool,
) -> Result<(), StepError> {
    let line = |ok: bool, text: String| {
        let _ = reports.send(RunReport::Line { ok, text });
    };
    let show = |text: &str| fill(text, vars);
    if let Some(cond) = &step.wait {
        let within = step
            .within
            .unwrap_or_else(|| default_within(scenario.preset));
        let mut clock = Stopwatch::start(guided);
        loop {
            let elapsed = clock.read(cluster);
            match cond.eval(cluster, vars, Some(ops)).await {
                Ok(()) => {
                    line(
                        true,
                        format!(
                            "wait {}: ok after {} ({})",
                            show(&cond.to_string()),
                            fmt_secs(elapsed),
                            super::condition::roles(&Source::status(cluster))
                        ),
                    );
                    break;
                }
                Err(why) if elapsed >= within => {
                    return Err(StepError::TimedOut {
                        condition: show(&cond.to_string()),
                        within,
                        why,
                    });
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }
    for cond in &step.asserts {
        cond.eval(cluster, vars, Some(ops))
            .await
            .map_err(|why| StepError::Assert {
                condition: show(&cond.to_string()),
                why,
            })?;
        line(true, format!("assert {}: ok", show(&cond.to_string())));
    }
    if let Some(h) = step.hold {
        let mut clock = Stopwatch::start(guided);
        loop {
            let left = h.saturating_sub(clock.read(cluster));
            if left.is_zero() {
                break;
            }
            tokio::time::sleep(left.min(POLL)).await;
        }
    }
    Ok(())
}

/// One line on how a scenario ended.
pub fn verdict_line(name: &str, v: &Verdict) -> String {
    match &v.failure {
        None => format!(
            "PASS {name}: {}/{} steps in {}",
            v.steps_done,
            v.total,
            super::fmt_secs(v.elapsed)
        ),
        Some((step, why)) => format!(
            "FAIL {name} at step {step}/{}: {why} ({} in)",
            v.total,
            super::fmt_secs(v.elapsed)
        ),
    }
}
