//! The challenge running on the dashboard: its task and goal, how far the watcher got (setting
//! up, watching, solved), why the goal does not hold yet, the hints asked for so far (`H` or
//! `:hint`, one at a time), and on success what it showed. Fed by the watcher's
//! [`ChallengeReport`]s; drawn by [`super::view::challenge`] where the narration panel goes.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::app::AppState;
use crate::check::History;
use crate::cluster::{ClusterHandle, Rules};
use crate::command::executor::Executor;
use crate::scenario::challenge::progress::ProgressFile;
use crate::scenario::challenge::{self, Challenge, ChallengeReport};

/// Where the challenge is.
#[derive(Clone, Debug, PartialEq)]
pub enum Stage {
    /// Running the setup commands and waiting for `ready`.
    SettingUp,
    /// Watching the goal.
    Watching,
    /// The goal held, after this long.
    Solved(Duration),
    /// The setup failed, and why.
    Failed(String),
}

/// What the challenge panel shows.
#[derive(Clone, Debug, PartialEq)]
pub struct ChallengePanel {
    /// Which watcher's reports it takes (a new `:challenge` starts a new one).
    pub generation: u64,
    /// The challenge's name.
    pub name: String,
    /// Its title.
    pub title: String,
    /// The task in one line.
    pub summary: String,
    /// The goal, as a condition.
    pub goal: String,
    /// The paper's section.
    pub section: String,
    /// Every hint; the first `shown` are on screen.
    pub hints: Vec<String>,
    /// Hints asked for so far.
    pub shown: usize,
    /// Where it is.
    pub stage: Stage,
    /// Why the goal does not hold yet (the watcher's last word).
    pub not_yet: Option<String>,
    /// What reaching the goal showed.
    pub explain: String,
    /// A line about the progress file (saved, or why not), when there is one to say.
    pub progress: Option<String>,
}

impl ChallengePanel {
    /// The panel of `challenge` as it starts, for the watcher of `generation`.
    pub fn new(challenge: &Challenge, generation: u64) -> Self {
        ChallengePanel {
            generation,
            name: challenge.name.clone(),
            title: challenge.title.clone(),
            summary: challenge.summary.clone(),
            goal: challenge.goal.to_string(),
            section: challenge.section.clone(),
            hints: challenge.hints.clone(),
            shown: 0,
            stage: Stage::SettingUp,
            not_yet: None,
            explain: challenge.explain.clone(),
            progress: None,
        }
    }

    /// Takes one report of the watcher.
    pub fn apply(&mut self, report: ChallengeReport) {
        match report {
            ChallengeReport::Setup(_) => {}
            ChallengeReport::Watching => self.stage = Stage::Watching,
            ChallengeReport::NotYet(why) => self.not_yet = Some(why),
            ChallengeReport::Solved(took) => self.stage = Stage::Solved(took),
            ChallengeReport::Failed(why) => self.stage = Stage::Failed(why),
        }
    }

    /// Shows the next hint; returns the status line to show.
    pub fn next_hint(&mut self) -> String {
        if self.shown < self.hints.len() {
            self.shown += 1;
            format!(
                "hint {}/{} for {}: shown in the challenge panel",
                self.shown,
                self.hints.len(),
                self.name
            )
        } else {
            format!(
                "no more hints for {}: all {} are in the panel",
                self.name,
                self.hints.len()
            )
        }
    }

    /// Whether the goal was reached.
    pub fn solved(&self) -> bool {
        matches!(self.stage, Stage::Solved(_))
    }
}

/// The dashboard's challenge watchers: at most one runs; a new challenge replaces it. Each
/// start counts a try in the progress file, each success records it.
pub struct Watchers {
    cluster: ClusterHandle,
    history: History,
    results: mpsc::Sender<String>,
    rules: Rules,
    nodes: usize,
    generation: u64,
    running: Option<JoinHandle<()>>,
    tx: mpsc::UnboundedSender<(u64, ChallengeReport)>,
    /// The watchers' reports, tagged with their generation.
    pub reports: mpsc::UnboundedReceiver<(u64, ChallengeReport)>,
    progress: ProgressFile,
}

impl Watchers {
    /// No watcher yet, for a dashboard's cluster of `nodes` nodes with `rules`.
    pub fn new(
        cluster: ClusterHandle,
        history: History,
        results: mpsc::Sender<String>,
        rules: Rules,
        nodes: usize,
    ) -> Self {
        let (tx, reports) = mpsc::unbounded_channel();
        Watchers {
            cluster,
            history,
            results,
            rules,
            nodes,
            generation: 0,
            running: None,
            tx,
            reports,
            progress: ProgressFile::of_user(),
        }
    }

    /// `:challenge NAME`: starts it if it fits this dashboard's cluster, else says why not.
    pub fn start_named(&mut self, state: &mut AppState, name: &str) {
        match challenge::load(name).and_then(|c| c.fits(self.nodes, &self.rules).map(|_| c)) {
            Ok(c) => self.start(state, c),
            Err(e) => {
                state.status_line = format!("error: {e}");
                state.dirty = true;
            }
        }
    }

    /// Starts `c`: a new panel, a try counted, the watcher spawned (replacing any other).
    pub fn start(&mut self, state: &mut AppState, c: Challenge) {
        self.stop();
        self.generation += 1;
        let generation = self.generation;
        let mut panel = ChallengePanel::new(&c, generation);
        state.status_line = match self.progress.record_try(&c.name) {
            Ok(()) => format!("challenge {}: {} (H: a hint)", c.name, c.summary),
            Err(w) => {
                panel.progress = Some(w.clone());
                format!("challenge {}: progress not saved: {w}", c.name)
            }
        };
        state.challenge = Some(panel);
        state.dirty = true;
        let (cluster, history, tx) = (self.cluster.clone(), self.history.clone(), self.tx.clone());
        let mut executor = Executor::new(cluster.clone(), history.clone(), self.results.clone());
        self.running = Some(tokio::spawn(async move {
            let (reports, mut rx) = mpsc::unbounded_channel();
            let forward = {
                let tx = tx.clone();
                tokio::spawn(async move {
                    while let Some(r) = rx.recv().await {
                        if tx.send((generation, r)).is_err() {
                            return;
                        }
                    }
                })
            };
            challenge::run(&c, &cluster, &mut executor, &history, &reports).await;
            drop(reports);
            let _ = forward.await;
        }));
    }

    /// Takes a watcher's report into the panel; a success goes into the progress file.
    pub fn apply(&mut self, state: &mut AppState, generation: u64, report: ChallengeReport) {
        let solved = match (&report, &state.challenge) {
            (ChallengeReport::Solved(took), Some(p)) if p.generation == generation => {
                Some((p.name.clone(), *took))
            }
            _ => None,
        };
        state.apply_challenge_report(generation, report);
        if let Some((name, took)) = solved {
            let note = match self.progress.record_solved(&name, took) {
                Ok(()) => "progress saved (`raftlab challenge` lists what is solved)".to_string(),
                Err(w) => format!("progress not saved: {w}"),
            };
            if let Some(p) = &mut state.challenge {
                p.progress = Some(note);
            }
        }
    }

    /// Stops the running watcher, if any.
    pub fn stop(&mut self) {
        if let Some(h) = self.running.take() {
            h.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_come_one_at_a_time_and_reports_move_the_stage() {
        let ch = crate::scenario::challenge::load("two-leaders").unwrap();
        let mut p = ChallengePanel::new(&ch, 1);
        assert_eq!(p.stage, Stage::SettingUp);
        assert_eq!(p.shown, 0);
        for i in 1..=ch.hints.len() {
            assert!(p.next_hint().contains(&format!("hint {i}/")));
            assert_eq!(p.shown, i);
        }
        assert!(p.next_hint().contains("no more hints"));
        assert_eq!(p.shown, ch.hints.len());
        p.apply(ChallengeReport::Watching);
        p.apply(ChallengeReport::NotYet("leaders at once is 1".into()));
        assert_eq!(p.stage, Stage::Watching);
        assert!(!p.solved());
        p.apply(ChallengeReport::Solved(Duration::from_secs(3)));
        assert!(p.solved());
    }
}
