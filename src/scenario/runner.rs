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
/// [`RunReport`] for everything that happens. In guided mode (`advance` given), it waits for a
/// message on `advance` after each narrated step. Returns the verdict (also sent last).
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
    for (i, step) in scenario.steps.iter().enumerate() {
        let number = i + 1;
        // Narration may name remembered values; those not known yet stay as written.
        let say = step.say.as_ref().map(|text| {
            super::condition::substitute(text, &|n| vars.get(n).copied())
                .map_or_else(|_| text.clone(), |s| s.line)
        });
        let _ = reports.send(RunReport::Step {
            number,
            total,
            say,
            describe: step.describe(),
        });
        if let Err(e) = run_step(step, scenario, cluster, executor, &ops, &mut vars, reports).await
        {
            failure = Some((number, e.to_string()));
            break;
        }
        done = number;
        if let Some(rx) = advance.as_deref_mut() {
            if step.say.is_some() && number < total {
                let _ = reports.send(RunReport::WaitingForUser);
                if rx.recv().await.is_none() {
                    failure = Some((number, "stopped before the end".to_string()));
                    break;
                }
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

async fn run_step(
    step: &Step,
    scenario: &Scenario,
    cluster: &ClusterHandle,
    executor: &mut Executor,
    ops: &OpsTracker,
    vars: &mut Vars,
    reports: &mpsc::UnboundedSender<RunReport>,
) -> Result<(), StepError> {
    let line = |ok: bool, text: String| {
        let _ = reports.send(RunReport::Line { ok, text });
    };
    for c in &step.lets {
        let v = c
            .eval(&Source::status(cluster), vars)
            .map_err(|why| StepError::Let {
                capture: c.to_string(),
                why,
            })?;
        line(true, format!("let {c} → {v}"));
        vars.insert(c.name.clone(), v);
    }
    let vars = &*vars;
    let show = |text: &str| {
        super::condition::substitute(text, &|n| vars.get(n).copied())
            .map_or_else(|_| text.to_string(), |s| s.line)
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
    if let Some(cond) = &step.wait {
        let within = step
            .within
            .unwrap_or_else(|| default_within(scenario.preset));
        let started = Instant::now();
        loop {
            match cond.eval(cluster, vars, Some(ops)).await {
                Ok(()) => {
                    line(
                        true,
                        format!(
                            "wait {}: ok after {} ({})",
                            show(&cond.to_string()),
                            fmt_secs(started.elapsed()),
                            super::condition::roles(&Source::status(cluster))
                        ),
                    );
                    break;
                }
                Err(why) if started.elapsed() >= within => {
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
        tokio::time::sleep(h).await;
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
