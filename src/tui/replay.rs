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
//!  keys ──► replay table (space, ← →, , ., PgUp PgDn, Home End, + -, [ ]) ──► seek / play / speed
//!       └─► the live table: selection, feed filters, help... pass; cluster keys: "replay: read-only"
//!  playback timer (≤ 30 fps while playing) ──► position += speed × real time ──► seek
//! ```

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{
    Event as TermEvent, EventStream, KeyCode, KeyEvent, KeyEventKind, KeyModifiers,
};
use tokio::time::Instant;
use tokio_stream::StreamExt;

use super::action::{action_for, Action};
use super::app::{AppState, Effect, Theme};
use crate::command::prompt::PromptCommand;
use crate::observe::cluster_view::LogWant;
use crate::record::Recording;

/// The playback speeds `+` and `-` step through.
pub const SPEEDS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0];
/// What a key that would act on a cluster says in a replay.
pub const READ_ONLY: &str =
    "replay: read-only (this is a recording; keys that act on a cluster do nothing)";

/// Where a replay is.
#[derive(Clone)]
pub struct ReplayState {
    /// The recording.
    pub recording: Arc<Recording>,
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
    /// Cluster time of the recording's first frame.
    pub fn start(&self) -> Duration {
        self.recording.start()
    }

    /// Cluster time of its end.
    pub fn end(&self) -> Duration {
        self.recording.end()
    }

    /// Whether the position is at the end.
    pub fn at_end(&self) -> bool {
        self.position >= self.end()
    }
}

/// One thing a key does in a replay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ReplayAction {
    /// Play or pause (at the end, play starts over).
    PlayPause,
    /// Move by this many milliseconds (negative: back).
    Seek(i64),
    /// To the next frame.
    NextFrame,
    /// To the previous frame.
    PrevFrame,
    /// To the start.
    Start,
    /// To the end.
    End,
    /// Play faster.
    Faster,
    /// Play slower.
    Slower,
    /// Scroll the logs back.
    LogBack,
    /// Scroll the logs forward (past the newest entry: follow the tail again).
    LogForward,
}

/// A key of the replay table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayKey {
    /// The key.
    pub code: KeyCode,
    /// Shift held (for arrows; characters match whatever the terminal says of Shift).
    pub shift: bool,
}

/// One row of the replay's key table.
#[derive(Clone, Debug)]
pub struct ReplayBinding {
    /// The keys.
    pub keys: Vec<ReplayKey>,
    /// How the help writes them.
    pub label: &'static str,
    /// What it does.
    pub action: ReplayAction,
    /// One line of help.
    pub help: &'static str,
}

/// The replay's key table: checked before the live one, so it wins where they share a key
/// (← → seek rather than select, PgUp PgDn End move in time rather than in the logs).
pub fn replay_bindings() -> Vec<ReplayBinding> {
    use ReplayAction::*;
    let k = |code| ReplayKey { code, shift: false };
    let s = |code| ReplayKey { code, shift: true };
    let c = |ch| k(KeyCode::Char(ch));
    let b = |keys: &[ReplayKey], label, action, help| ReplayBinding {
        keys: keys.to_vec(),
        label,
        action,
        help,
    };
    vec![
        b(
            &[c(' ')],
            "space",
            PlayPause,
            "play / pause (at the end: from the start)",
        ),
        b(&[k(KeyCode::Right)], "→", Seek(1_000), "forward 1 s"),
        b(&[k(KeyCode::Left)], "←", Seek(-1_000), "back 1 s"),
        b(
            &[s(KeyCode::Right), c('.')],
            ". ⇧→",
            NextFrame,
            "next frame (~100 ms)",
        ),
        b(
            &[s(KeyCode::Left), c(',')],
            ", ⇧←",
            PrevFrame,
            "previous frame",
        ),
        b(
            &[k(KeyCode::PageDown)],
            "PgDn",
            Seek(10_000),
            "forward 10 s",
        ),
        b(&[k(KeyCode::PageUp)], "PgUp", Seek(-10_000), "back 10 s"),
        b(&[k(KeyCode::Home)], "Home", Start, "to the start"),
        b(&[k(KeyCode::End)], "End", End, "to the end"),
        b(&[c('+'), c('=')], "+", Faster, "play faster (up to 16×)"),
        b(&[c('-')], "-", Slower, "play slower (down to 0.25×)"),
        b(&[c('[')], "[", LogBack, "scroll the logs back"),
        b(
            &[c(']')],
            "]",
            LogForward,
            "scroll the logs forward (past the end: follow the tail)",
        ),
    ]
}

/// The replay action a key asks for, if the replay table has it.
pub fn replay_action_for(ev: &KeyEvent) -> Option<ReplayAction> {
    if ev.modifiers.contains(KeyModifiers::CONTROL) {
        return None;
    }
    let shift = ev.modifiers.contains(KeyModifiers::SHIFT);
    replay_bindings()
        .into_iter()
        .find(|b| {
            b.keys.iter().any(|k| {
                k.code == ev.code && (matches!(k.code, KeyCode::Char(_)) || k.shift == shift)
            })
        })
        .map(|b| b.action)
}

/// Whether an action of the live table still works in a replay: it only changes what is shown.
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
        | Action::ToggleHistory => true,
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
            recording,
            source,
            position: start,
            playing: true,
            speed: clamp_speed(speed),
            narration: None,
            built_want: LogWant::default(),
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
        let r = replay.recording.clone();
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
        if t >= replay.end() {
            replay.playing = false;
        }
        self.seek(t);
    }

    /// Handles a key on the main screen of a replay.
    pub(super) fn on_replay_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        let Some(action) = replay_action_for(&key) else {
            return match action_for(&key, self.max_id()) {
                Some(action) => self.update(action),
                None => Vec::new(),
            };
        };
        self.dirty = true;
        self.replay_update(action);
        Vec::new()
    }

    /// Applies one replay action.
    pub fn replay_update(&mut self, action: ReplayAction) {
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        let pos = replay.position;
        let r = replay.recording.clone();
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
    let mut state = AppState::replay(Arc::new(recording), source, speed, theme);
    let (mut terminal, guard) = super::enter_terminal();
    let result = event_loop(&mut terminal, &mut state).await;
    drop(guard);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raftlab replay: {e}");
            ExitCode::FAILURE
        }
    }
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
                    // Effects never come out of a replay (cluster actions are refused).
                    let _ = state.on_key(key);
                    if !was_playing {
                        last_tick = Instant::now();
                    }
                }
                Some(Ok(TermEvent::Mouse(m))) => {
                    let _ = state.on_mouse(m);
                }
                Some(Ok(TermEvent::Resize(..))) => state.dirty = true,
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
                terminal.draw(|f| super::view::view(state, f))?;
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

    fn press(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn replay_keys_map_to_their_actions() {
        let none = KeyModifiers::NONE;
        assert_eq!(
            replay_action_for(&press(KeyCode::Char(' '), none)),
            Some(ReplayAction::PlayPause)
        );
        assert_eq!(
            replay_action_for(&press(KeyCode::Right, none)),
            Some(ReplayAction::Seek(1_000))
        );
        assert_eq!(
            replay_action_for(&press(KeyCode::Right, KeyModifiers::SHIFT)),
            Some(ReplayAction::NextFrame)
        );
        assert_eq!(
            replay_action_for(&press(KeyCode::Char('+'), KeyModifiers::SHIFT)),
            Some(ReplayAction::Faster)
        );
        assert_eq!(
            replay_action_for(&press(KeyCode::PageUp, none)),
            Some(ReplayAction::Seek(-10_000))
        );
        // Not replay keys: the live table decides.
        assert_eq!(replay_action_for(&press(KeyCode::Tab, none)), None);
        assert_eq!(replay_action_for(&press(KeyCode::Char('k'), none)), None);
        assert_eq!(
            replay_action_for(&press(KeyCode::Char(' '), KeyModifiers::CONTROL)),
            None
        );
    }

    #[test]
    fn no_replay_key_is_bound_twice() {
        let mut seen = Vec::new();
        for b in replay_bindings() {
            for k in &b.keys {
                assert!(!seen.contains(k), "{k:?} bound twice");
                seen.push(*k);
            }
        }
    }

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
