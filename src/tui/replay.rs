//! `raftlab replay FILE`: the dashboard on a recording instead of a live cluster.
//!
//! The same [`AppState`] and [`view`](super::view::view) as live, so every panel looks the same;
//! [`ReplayState`] adds a position in the recording, play / pause and a speed. Everything the
//! cluster fed the live dashboard (the snapshot, the feed, the ring's drop marks, the status
//! line) is rebuilt from the recording at the position ([`AppState::seek`]): a pure function of
//! the position and the UI's own settings (selection, filters, log scroll), so seeking back and
//! forth always draws the same screen for the same moment.
//!
//! ```text
//!  keys ──► replay table (action::Mode::Replay: space, ← →, , ., PgUp PgDn, Home End, + -, [ ])
//!       │      ──► seek / play / speed
//!       └─► the main table: selection, feed filters, help... pass; cluster keys: "replay: read-only"
//!  playback timer (≤ 30 fps while playing) ──► position += speed × real time ──► seek
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use tokio::time::Instant;
use tokio_stream::StreamExt;

use super::action::{Action, ReplayAction};
use super::app::{AppState, Theme};

use crate::command::prompt::PromptCommand;
use crate::engine::sim::travel::TimeMachine;
use crate::observe::cluster_view::LogWant;
use crate::record::Recording;

/// The playback speeds `+` and `-` step through.
pub const SPEEDS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];
/// What a key that would act on a cluster says in a replay.
pub const READ_ONLY: &str =
    "replay: read-only (this is a recording; keys that act on a cluster do nothing)";

/// What a replay moves along: a recording, or the sim engine's lab (which plays as it goes and
/// takes actions, see [`super::lab`]).
#[derive(Clone)]
pub enum Tape {
    /// `raftlab replay FILE`: read-only.
    Recording(Arc<Recording>),
    /// `raftlab lab`, `raftlab --engine sim`: the run on the simulator, with its branches.
    Lab(Box<TimeMachine>),
}

/// Where a replay is.
#[derive(Clone)]
pub struct ReplayState {
    /// What it moves along.
    pub tape: Tape,
    /// Where it came from (shown in the footer and help).
    pub source: String,
    /// Cluster time shown.
    pub position: Duration,
    /// Playing or paused.
    pub playing: bool,
    /// Playback speed (1: as recorded).
    pub speed: f64,
    /// The narration in force at the position.
    pub narration: Option<String>,
    /// The log window the cluster-derived state was built with.
    pub built_want: LogWant,
    /// What the last command said in a lab, shown until the next one.
    pub message: Option<String>,
    /// Share strings asked for in a lab (`:share`), printed on the way out.
    pub shared: Vec<String>,
}

impl std::fmt::Debug for ReplayState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayState")
            .field("source", &self.source)
            .field("position", &self.position)
            .field("playing", &self.playing)
            .field("speed", &self.speed)
            .finish_non_exhaustive()
    }
}

impl ReplayState {
    /// Cluster time of the recording's first frame (a lab's 0).
    pub fn start(&self) -> Duration {
        match &self.tape {
            Tape::Recording(r) => r.start(),
            Tape::Lab(_) => Duration::ZERO,
        }
    }

    /// Cluster time of its end (how far a lab's branch has been played).
    pub fn end(&self) -> Duration {
        match &self.tape {
            Tape::Recording(r) => r.end(),
            Tape::Lab(m) => m.frontier().max(self.position),
        }
    }

    /// Whether the position is at the end (a lab ends only where safety broke).
    pub fn at_end(&self) -> bool {
        match &self.tape {
            Tape::Recording(_) => self.position >= self.end(),
            Tape::Lab(m) => m.broken().is_some(),
        }
    }

    /// The recording, when this is one.
    pub fn recording(&self) -> Option<&Arc<Recording>> {
        match &self.tape {
            Tape::Recording(r) => Some(r),
            Tape::Lab(_) => None,
        }
    }

    /// The lab, when this is one.
    pub fn lab(&self) -> Option<&TimeMachine> {
        match &self.tape {
            Tape::Recording(_) => None,
            Tape::Lab(m) => Some(m),
        }
    }
}

/// Whether an action still works in a replay: it only changes what is shown (or moves in time).
pub fn allowed_in_replay(action: &Action) -> bool {
    match action {
        Action::Quit
        | Action::ToggleHelp
        | Action::Close
        | Action::Select(_)
        | Action::SelectNext
        | Action::SelectPrev
        | Action::ToggleDetail
        | Action::OpenPrompt
        | Action::NextMessage
        | Action::PrevMessage
        | Action::LogBack
        | Action::LogForward
        | Action::LogTail
        | Action::CycleFeedKind
        | Action::ToggleFeedNode
        | Action::Zoom
        | Action::CycleBottom
        | Action::ToggleHistory
        | Action::CloseOverlay
        | Action::Scroll(_)
        | Action::ScrollTop
        | Action::PromptRun
        | Action::PromptComplete
        | Action::PromptHistoryBack
        | Action::PromptHistoryForward
        | Action::PromptDelete
        | Action::PromptCancel
        | Action::PromptType(_)
        | Action::Replay(_) => true,
        Action::Command(cmd) => matches!(
            cmd,
            PromptCommand::Help | PromptCommand::Quit | PromptCommand::History
        ),
        _ => false,
    }
}

/// The next speed up (`faster`) or down from `speed`.
pub fn step_speed(speed: f64, faster: bool) -> f64 {
    let next = if faster {
        SPEEDS.iter().copied().find(|s| *s > speed + 1e-9)
    } else {
        SPEEDS.iter().rev().copied().find(|s| *s < speed - 1e-9)
    };
    next.unwrap_or(speed)
}

/// A speed asked for on the command line, kept within [`SPEEDS`]' range.
pub fn clamp_speed(speed: f64) -> f64 {
    if speed.is_finite() {
        speed.clamp(SPEEDS[0], SPEEDS[SPEEDS.len() - 1])
    } else {
        1.0
    }
}

impl AppState {
    /// A dashboard on `recording`, at its start, playing at `speed`.
    pub fn replay(recording: Arc<Recording>, source: String, speed: f64, theme: Theme) -> Self {
        let nodes = recording
            .frame_at(recording.start(), LogWant { end: None, len: 1 })
            .map_or(recording.header().nodes, |v| v.status.nodes.len())
            .max(1);
        let mut state = AppState::new(nodes, theme);
        let start = recording.start();
        state.replay = Some(ReplayState {
            tape: Tape::Recording(recording),
            source,
            position: start,
            playing: true,
            speed: clamp_speed(speed),
            narration: None,
            built_want: LogWant::default(),
            message: None,
            shared: Vec::new(),
        });
        state.seek(start);
        state
    }

    /// Moves a replay to `t` (kept within the recording) and rebuilds everything the cluster
    /// fed: the snapshot, the feed, the drop marks, the status line and the narration. Nothing
    /// else changes. Does nothing live.
    pub fn seek(&mut self, t: Duration) {
        let want = self.log_want();
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        let r = match &replay.tape {
            Tape::Recording(r) => r.clone(),
            Tape::Lab(_) => return self.seek_lab(t),
        };
        let t = t.clamp(r.start(), r.end());
        replay.position = t;
        if t >= r.end() {
            // Playback stops at the end, however it got there.
            replay.playing = false;
        }
        replay.built_want = want;
        replay.narration = r.narration_at(t).map(str::to_string);
        self.view = r.frame_at(t, want);
        self.feed = r.feed_at(t).into();
        self.drops = r.drops_at(t).into();
        self.status_line = match r.result_at(t) {
            Some(text) => text.to_string(),
            None => format!(
                "replay of {}: {} (space plays, ← → seek, ? help)",
                replay.source,
                r.header().title
            ),
        };
        self.dirty = true;
    }

    /// Rebuilds when the log window the view wants changed since the last build (the screen
    /// was resized, the logs scrolled).
    pub fn refresh_replay(&mut self) {
        let want = self.log_want();
        if let Some(replay) = &self.replay {
            if replay.built_want != want {
                let t = replay.position;
                self.seek(t);
            }
        }
    }

    /// Playback: `real` time went by. Moves the position by `speed × real` while playing, and
    /// stops at the end.
    pub fn advance(&mut self, real: Duration) {
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        if !replay.playing {
            return;
        }
        let t = replay.position + real.mul_f64(replay.speed);
        if replay.recording().is_some() && t >= replay.end() {
            replay.playing = false;
        }
        self.seek(t);
    }

    /// Applies one replay action.
    pub fn replay_update(&mut self, action: ReplayAction) {
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        let pos = replay.position;
        let r = match &replay.tape {
            Tape::Recording(r) => r.clone(),
            Tape::Lab(_) => return self.lab_time(action),
        };
        match action {
            ReplayAction::PlayPause => {
                replay.playing = !replay.playing;
                if replay.playing && replay.at_end() {
                    self.seek(r.start());
                }
            }
            ReplayAction::Faster | ReplayAction::Slower => {
                replay.speed = step_speed(replay.speed, action == ReplayAction::Faster);
            }
            ReplayAction::Seek(ms) => {
                let d = Duration::from_millis(ms.unsigned_abs());
                let t = if ms < 0 {
                    pos.saturating_sub(d)
                } else {
                    pos + d
                };
                self.seek(t);
            }
            ReplayAction::NextFrame => self.seek(r.frame_after(pos).unwrap_or(r.end())),
            ReplayAction::PrevFrame => self.seek(r.frame_before(pos).unwrap_or(r.start())),
            ReplayAction::Start => self.seek(r.start()),
            ReplayAction::End => self.seek(r.end()),
            ReplayAction::LogBack => {
                self.update(Action::LogBack);
                self.refresh_replay();
            }
            ReplayAction::LogForward => {
                self.update(Action::LogForward);
                self.refresh_replay();
            }
        }
    }
}

/// Runs the replay dashboard until the user quits. The caller checked that this is a terminal.
pub async fn run(recording: Recording, source: String, speed: f64, theme: Theme) -> ExitCode {
    let state = AppState::replay(Arc::new(recording), source, speed, theme);
    run_state(state).await.0
}

/// Runs the dashboard on a replay's (or a lab's) `state` until the user quits; gives back the
/// state with the exit code, once the terminal is restored.
pub async fn run_state(mut state: AppState) -> (ExitCode, AppState) {
    let (mut terminal, guard) = super::enter_terminal();
    let result = event_loop(&mut terminal, &mut state).await;
    drop(guard);
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raftlab: {e}");
            ExitCode::FAILURE
        }
    };
    (code, state)
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut AppState,
) -> std::io::Result<()> {
    let mut input = EventStream::new();
    let mut sigterm = super::sigterm_stream();
    let mut last_draw = Instant::now() - super::FRAME;
    let mut last_tick = Instant::now();
    loop {
        if state.quit {
            break;
        }
        let playing = state.replay.as_ref().is_some_and(|r| r.playing);
        let tick_at = playing.then_some(last_tick + super::FRAME);
        let draw_at = state.dirty.then_some(last_draw + super::FRAME);
        tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => {
                    let was_playing = playing;
                    // Effects come out of a lab only (a recording refuses cluster actions).
                    let effects = state.on_key(key);
                    state.lab_effects(effects);
                    if !was_playing {
                        last_tick = Instant::now();
                    }
                }
                Some(Ok(TermEvent::Mouse(m))) => {
                    let effects = state.on_mouse(m);
                    state.lab_effects(effects);
                }
                Some(Ok(TermEvent::Resize(..))) => state.dirty = true,
                Some(Ok(TermEvent::Paste(text))) => state.on_paste(&text),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => break,
            },
            _ = super::sleep_until_opt(tick_at) => {
                let now = Instant::now();
                state.advance(now - last_tick);
                last_tick = now;
            }
            _ = super::sleep_until_opt(draw_at) => {
                terminal.draw(|f| super::view::draw(state, f))?;
                state.dirty = false;
                last_draw = Instant::now();
                // The view knows how many log cells fit only once drawn.
                state.refresh_replay();
            }
            _ = sigterm.recv() => state.quit = true,
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_step_within_range() {
        assert_eq!(step_speed(1.0, true), 2.0);
        assert_eq!(step_speed(1.0, false), 0.5);
        assert_eq!(step_speed(16.0, true), 16.0);
        assert_eq!(step_speed(0.25, false), 0.25);
        assert_eq!(step_speed(3.0, true), 4.0);
        assert_eq!(step_speed(3.0, false), 2.0);
        assert_eq!(clamp_speed(100.0), 16.0);
        assert_eq!(clamp_speed(0.0), 0.25);
        assert_eq!(clamp_speed(f64::NAN), 1.0);
    }

    #[test]
    fn cluster_actions_are_read_only_and_view_actions_are_not() {
        assert!(!allowed_in_replay(&Action::Kill));
        assert!(!allowed_in_replay(&Action::RandomWrite));
        assert!(!allowed_in_replay(&Action::PauseResume));
        assert!(!allowed_in_replay(&Action::Command(PromptCommand::Heal)));
        assert!(allowed_in_replay(&Action::SelectNext));
        assert!(allowed_in_replay(&Action::CycleFeedKind));
        assert!(allowed_in_replay(&Action::Command(PromptCommand::Help)));
    }
}
