//! Runs a scenario's steps against a live cluster and reports each one as it goes: to the
//! headless printer (`raftlab scenario --headless`), to the dashboard's narration panel, and to
//! a recording.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::condition::{Source, Vars};
use super::{fmt_secs, Scenario, Step};
use crate::cluster::{ClusterHandle, Preset};
use crate::command::executor::{Executor, OpsTracker};
use crate::command::prompt;

/// How often a wait looks at the cluster again.
pub const POLL: Duration = Duration::from_millis(50);

/// What the runner reports as it goes.
#[derive(Clone, Debug, PartialEq)]
pub enum Report {
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
/// [`Report`] for everything that happens. In guided mode (`advance` given), it waits for a
/// message on `advance` after each narrated step. Returns the verdict (also sent last).
pub async fn run(
    scenario: &Scenario,
    cluster: &ClusterHandle,
    executor: &mut Executor,
    reports: &mpsc::UnboundedSender<Report>,
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
                .unwrap_or_else(|_| text.clone())
        });
        let _ = reports.send(Report::Step {
            number,
            total,
            say,
            describe: step.describe(),
        });
        if let Err(e) = run_step(step, scenario, cluster, executor, &ops, &mut vars, reports).await
        {
            failure = Some((number, e));
            break;
        }
        done = number;
        if let Some(rx) = advance.as_deref_mut() {
            if step.say.is_some() && number < total {
                let _ = reports.send(Report::WaitingForUser);
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
    let _ = reports.send(Report::Finished(verdict.clone()));
    verdict
}

async fn run_step(
    step: &Step,
    scenario: &Scenario,
    cluster: &ClusterHandle,
    executor: &mut Executor,
    ops: &OpsTracker,
    vars: &mut Vars,
    reports: &mpsc::UnboundedSender<Report>,
) -> Result<(), String> {
    let line = |ok: bool, text: String| {
        let _ = reports.send(Report::Line { ok, text });
    };
    for b in &step.lets {
        let v = b
            .eval(&Source::status(cluster), vars)
            .map_err(|e| format!("let {b}: {e}"))?;
        line(true, format!("let {b} → {v}"));
        vars.insert(b.name.clone(), v);
    }
    let vars = &*vars;
    let show = |text: &str| {
        super::condition::substitute(text, &|n| vars.get(n).copied())
            .unwrap_or_else(|_| text.to_string())
    };
    for _ in 0..step.repeat {
        for template in &step.actions {
            let text = super::condition::substitute(template, &|n| vars.get(n).copied())
                .map_err(|e| format!("do {template}: {e}"))?;
            let cmd =
                prompt::parse(&text, scenario.nodes).map_err(|e| format!("do {text}: {e}"))?;
            match executor.execute(cmd).await {
                Some(outcome) if outcome.starts_with("error") => {
                    return Err(format!("do {text}: {outcome}"));
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
                    return Err(format!(
                        "wait {}: still false after {}: {why}",
                        show(&cond.to_string()),
                        fmt_secs(within)
                    ));
                }
                Err(_) => tokio::time::sleep(POLL).await,
            }
        }
    }
    for cond in &step.asserts {
        cond.eval(cluster, vars, Some(ops))
            .await
            .map_err(|why| format!("assert {}: false: {why}", show(&cond.to_string())))?;
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
