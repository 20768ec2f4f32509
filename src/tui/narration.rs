//! The narration of a scenario running on the dashboard: which step, its text, what the
//! runner did and saw, and whether it waits for Enter (`--guided`). Fed by the runner's
//! [`RunReport`]s; drawn by [`super::view::narration`].

use std::collections::VecDeque;

use crate::scenario::runner::{RunReport, Verdict};

/// Lines of the runner's output kept for the panel.
pub const LINES_KEPT: usize = 50;

/// What the narration panel shows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Narration {
    /// The scenario's name.
    pub name: String,
    /// Its title.
    pub title: String,
    /// The step running: (number from 1, total); (0, total) before the first.
    pub step: (usize, usize),
    /// The current step's narration, its placeholders filled in (none for a step without
    /// text: the panel never shows another step's text).
    pub say: Option<String>,
    /// What the current step does, in short.
    pub describe: String,
    /// The runner's lines (ok or not), oldest first.
    pub lines: VecDeque<(bool, String)>,
    /// Guided mode, and the runner waits for Enter.
    pub waiting_for_user: bool,
    /// Whether the runner waits for Enter after narrated steps.
    pub guided: bool,
    /// How it ended.
    pub verdict: Option<Verdict>,
}

impl Narration {
    /// The panel before the first step.
    pub fn new(name: &str, title: &str, total: usize, guided: bool) -> Self {
        Narration {
            name: name.to_string(),
            title: title.to_string(),
            step: (0, total),
            guided,
            ..Narration::default()
        }
    }

    /// Takes one report from the runner.
    pub fn apply(&mut self, report: RunReport) {
        match report {
            RunReport::Step {
                number,
                total,
                say,
                describe,
            } => {
                self.step = (number, total);
                self.say = say;
                self.describe = describe;
                self.waiting_for_user = false;
            }
            RunReport::Line { ok, text } => self.push(ok, text),
            RunReport::WaitingForUser => self.waiting_for_user = true,
            RunReport::Finished(v) => {
                self.waiting_for_user = false;
                self.verdict = Some(v);
            }
        }
    }

    /// Adds a line (client operations' outcomes arrive this way too).
    pub fn push(&mut self, ok: bool, text: String) {
        self.lines.push_back((ok, text));
        while self.lines.len() > LINES_KEPT {
            self.lines.pop_front();
        }
    }

    /// Whether the scenario is over.
    pub fn finished(&self) -> bool {
        self.verdict.is_some()
    }
}

/// Writes a runner's report into a recording: the step and its text as narration, the
/// runner's lines as results.
pub fn note_report(recorder: &crate::record::Recorder, report: &RunReport) {
    use crate::record::NoteKind;
    match report {
        RunReport::Step {
            number,
            total,
            say,
            describe,
        } => {
            let mut text = format!("step {number}/{total}");
            if let Some(s) = say {
                text.push_str(": ");
                text.push_str(&s.split_whitespace().collect::<Vec<_>>().join(" "));
            } else if !describe.is_empty() {
                text.push_str(&format!(": {describe}"));
            }
            recorder.note(NoteKind::Narration, text);
        }
        RunReport::Line { ok, text } => recorder.note(
            NoteKind::Result,
            if *ok {
                text.clone()
            } else {
                format!("error: {text}")
            },
        ),
        RunReport::WaitingForUser => {}
        RunReport::Finished(v) => recorder.note(
            NoteKind::Narration,
            crate::scenario::runner::verdict_line("scenario", v),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn reports_move_the_panel_along() {
        let mut n = Narration::new("s", "S", 3, true);
        assert_eq!(n.step, (0, 3));
        n.apply(RunReport::Step {
            number: 1,
            total: 3,
            say: Some("hello".into()),
            describe: "wait leader".into(),
        });
        n.apply(RunReport::Line {
            ok: true,
            text: "wait leader: ok".into(),
        });
        n.apply(RunReport::WaitingForUser);
        assert!(n.waiting_for_user);
        n.apply(RunReport::Step {
            number: 2,
            total: 3,
            say: None,
            describe: "do kill 1".into(),
        });
        assert!(!n.waiting_for_user);
        assert_eq!(n.say, None, "a silent step shows no other step's text");
        assert_eq!(n.step, (2, 3));
        for i in 0..(LINES_KEPT + 5) {
            n.push(false, format!("line {i}"));
        }
        assert_eq!(n.lines.len(), LINES_KEPT);
        assert!(!n.finished());
        n.apply(RunReport::Finished(Verdict {
            steps_done: 2,
            total: 3,
            failure: Some((3, "nope".into())),
            elapsed: Duration::from_secs(1),
        }));
        assert!(n.finished());
    }
}
