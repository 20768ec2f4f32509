//! Everything a user can do, as data: the `Action` enum and one key table per [`Mode`] (the
//! main screen, a replay, the prompt, each overlay). Key handling, the footer, the help overlay
//! and `docs/keys.md` are all generated from the same tables, so they cannot disagree.
//!
//! ```text
//!   KeyEvent ─► AppState::mode() ─► bindings(mode) ─► Action ─► AppState::update
//!                                         ├─► footer (footer, timeline)
//!                                         ├─► help overlay (help)
//!                                         └─► keys_markdown() ─► docs/keys.md
//! ```

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::command::prompt::PromptCommand;
use crate::raft::NodeId;

/// One thing the user asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Leave the dashboard.
    Quit,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Leave the zoom; else close whatever overlay is open and deselect the message.
    Close,
    /// Select a node by id.
    Select(NodeId),
    /// Select the next node.
    SelectNext,
    /// Select the previous node.
    SelectPrev,
    /// Show or hide the selected node's detail view.
    ToggleDetail,
    /// Kill the selected node.
    Kill,
    /// Restart the selected node.
    Restart,
    /// Cut the selected node off from all others.
    Isolate,
    /// Cycle the selected node's extra delay (0, 100 ms, 300 ms, 1 s).
    CycleSlow,
    /// Cycle the selected node's clock rate (1x, 2x, 0.5x).
    CycleClock,
    /// Make the selected node time out now.
    TimeoutNow,
    /// Make the selected node snapshot its state machine and compact its log now.
    Snapshot,
    /// Make every node's election timer fire together: a split vote.
    AlignTimers,
    /// Spread the election timers apart again.
    SpreadTimers,
    /// Clear every partition, link fault, slow node and clock drift.
    Heal,
    /// Pause or resume time.
    PauseResume,
    /// One step while paused: the next message, or a tick.
    Step,
    /// Make ticks shorter (faster).
    Faster,
    /// Make ticks longer (slower).
    Slower,
    /// Submit a random write.
    RandomWrite,
    /// Open the command prompt.
    OpenPrompt,
    /// Select the next message in flight.
    NextMessage,
    /// Select the previous message in flight.
    PrevMessage,
    /// Drop the selected message.
    DropMessage,
    /// Duplicate the selected message.
    DuplicateMessage,
    /// Deliver the selected message now.
    DeliverMessage,
    /// Scroll the logs back.
    LogBack,
    /// Scroll the logs forward.
    LogForward,
    /// Follow the newest log entries again.
    LogTail,
    /// Cycle the event feed's kind filter.
    CycleFeedKind,
    /// Show only the selected node's events, or all again.
    ToggleFeedNode,
    /// Focus the event feed: select events, scroll back, open one (the feed's own keys).
    FocusFeed,
    /// Event feed: select the next older event (scrolls back when it is above the top).
    FeedOlder,
    /// Event feed: select the next newer event.
    FeedNewer,
    /// Event feed: scroll back a page.
    FeedPageBack,
    /// Event feed: scroll forward a page.
    FeedPageForward,
    /// Event feed: scroll to the oldest event kept.
    FeedOldest,
    /// Event feed: follow the newest events again.
    FeedFollow,
    /// Event feed: show the selected event in full, and the logs at its index (again: hide it).
    FeedOpen,
    /// Event feed: hide the event shown in full; else leave the feed, following the newest.
    FeedLeave,
    /// Start a nemesis (random faults and client workers, 30 s), or stop the one running.
    Nemesis,
    /// Show or hide the recorded operations and the checker's verdict (the failing window when
    /// there is one).
    ToggleHistory,
    /// The running challenge's next hint (`:hint`).
    NextHint,
    /// Zoom the next panel to the whole screen: ring, node table, logs, events, narration (while
    /// a scenario runs), state machine / messages in flight, then back to every panel.
    Zoom,
    /// Switch the bottom panel (events, state machine / messages in flight, narration) on a
    /// screen too narrow to show them side by side.
    CycleBottom,
    /// A command typed at the prompt.
    Command(PromptCommand),
    /// Close the overlay on top (help, node detail, history); the message selection stays.
    CloseOverlay,
    /// Scroll the overlay by this many lines (negative: up).
    Scroll(i16),
    /// Scroll the overlay back to its first line.
    ScrollTop,
    /// Run the line typed at the prompt.
    PromptRun,
    /// Complete the word being typed (several choices: their common start, and the list).
    PromptComplete,
    /// The previous line of the prompt's history.
    PromptHistoryBack,
    /// The next line of the prompt's history.
    PromptHistoryForward,
    /// Delete the last character typed.
    PromptDelete,
    /// Leave the prompt, forgetting what was typed.
    PromptCancel,
    /// Type a character at the prompt.
    PromptType(char),
    /// A replay's own key: move in time, play, pause, change speed.
    Replay(ReplayAction),
    /// A guided scenario at a stop: go on to the next step (time runs again).
    NextStep,
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

/// Which key table is in force: what has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The main screen of a live cluster.
    Main,
    /// The main screen while a guided scenario waits at a stop (`▶ Enter: next step`): its own
    /// key first, then the main screen's.
    Stop,
    /// The main screen of a replay (`raftlab replay FILE`): its own keys first, then the main
    /// screen's.
    Replay,
    /// The command prompt (`:`).
    Prompt,
    /// The help overlay (`?`).
    Help,
    /// The selected node's detail (Enter).
    Detail,
    /// The history and the checker's verdict (`v`).
    History,
    /// The event feed, focused with `e`: its own keys first, then the main screen's.
    Feed,
}

impl Mode {
    /// Every mode, in the order the docs list them.
    pub const ALL: [Mode; 8] = [
        Mode::Main,
        Mode::Stop,
        Mode::Feed,
        Mode::Replay,
        Mode::Prompt,
        Mode::Help,
        Mode::Detail,
        Mode::History,
    ];

    /// The mode's name, as a heading.
    pub fn title(self) -> &'static str {
        match self {
            Mode::Main => "Main screen",
            Mode::Stop => "Guided scenario, at a stop",
            Mode::Replay => "Replay",
            Mode::Prompt => "Command prompt",
            Mode::Help => "Help overlay",
            Mode::Detail => "Node detail",
            Mode::History => "History and verdict",
            Mode::Feed => "Event feed",
        }
    }

    /// How one gets there, and what the table does not say.
    pub fn intro(self) -> &'static str {
        match self {
            Mode::Main => "Where the dashboard starts. Keys act on the selected node.",
            Mode::Stop => {
                "`raftlab scenario NAME --guided`, when the narration panel shows `▶ Enter: next \
                 step`. Time stands still (no ticks, messages held) until Enter. This key first; \
                 then every key of the main screen, which still acts: what it changes is yours \
                 to answer for. Enter opens the node detail only when the scenario is not at a \
                 stop."
            }
            Mode::Replay => {
                "`raftlab replay FILE`. These keys first; then the main screen's keys that only \
                 change what is shown (selection, feed filters, overlays, the prompt). Keys that \
                 would act on a cluster answer \"replay: read-only\"."
            }
            Mode::Prompt => "After `:`. Any other key types itself; `help` lists the commands.",
            Mode::Help => "After `?` (or `:help`).",
            Mode::Detail => "After Enter on the main screen: the selected node in detail.",
            Mode::History => "After `v` (or `:history`): the recorded operations and the verdict.",
            Mode::Feed => {
                "After `e` on the main screen: the event feed has the arrows, pages and Enter. \
                 While you look back it stops following the newest events (its title says how \
                 many newer ones wait: `⏸ 37 newer`). Every other key does what it does on the \
                 main screen."
            }
        }
    }

    /// How this mode's table compares a key press with its keys, beyond the key code. A key
    /// written with Ctrl always needs Ctrl.
    fn accepts(self, key: &Key, ev: &KeyEvent) -> bool {
        let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
        if key.ctrl {
            return ctrl;
        }
        match self {
            // Shift is ignored: letters carry it in their case, ⇧Tab arrives as BackTab.
            Mode::Main | Mode::Stop | Mode::Feed => !ctrl,
            // Ctrl belongs to the main table; Shift tells a frame (⇧→) from a second (→).
            Mode::Replay => {
                !ctrl
                    && (matches!(key.code, KeyCode::Char(_))
                        || key.shift == ev.modifiers.contains(KeyModifiers::SHIFT))
            }
            // The key alone counts.
            Mode::Prompt | Mode::Help | Mode::Detail | Mode::History => true,
        }
    }
}

/// A key as the table writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl held.
    pub ctrl: bool,
    /// Shift held (for keys that are not characters: ⇧→).
    pub shift: bool,
}

impl Key {
    /// How the docs write the key: `q`, `Ctrl-C`, `⇧→`, `space`, `PgUp`.
    pub fn name(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) if self.ctrl => c.to_ascii_uppercase().to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Right => "→".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::BackTab => "⇧Tab".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            other => format!("{other:?}"),
        };
        match (self.ctrl, self.shift) {
            (true, _) => format!("Ctrl-{base}"),
            (false, true) => format!("⇧{base}"),
            (false, false) => base,
        }
    }
}

const fn key(c: char) -> Key {
    code(KeyCode::Char(c))
}

const fn code(code: KeyCode) -> Key {
    Key {
        code,
        ctrl: false,
        shift: false,
    }
}

const fn ctrl(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: true,
        shift: false,
    }
}

const fn shift(code: KeyCode) -> Key {
    Key {
        code,
        ctrl: false,
        shift: true,
    }
}

/// How the footer writes a binding: `k kill`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// The keys, as the footer writes them (`←→`, `PgUp PgDn`).
    pub keys: &'static str,
    /// The word after them (may be empty: `Home End`).
    pub word: &'static str,
    /// Lower first: when the row is too narrow for all, the first ones stay.
    pub rank: u8,
}

impl Footer {
    /// `keys word`.
    pub fn text(&self) -> String {
        if self.word.is_empty() {
            self.keys.to_string()
        } else {
            format!("{} {}", self.keys, self.word)
        }
    }
}

/// One row of a key table.
#[derive(Clone, Debug)]
pub struct KeyBinding {
    /// The keys that trigger it.
    pub keys: Vec<Key>,
    /// How the help writes the keys.
    pub label: &'static str,
    /// What it does.
    pub action: Action,
    /// One line of help.
    pub help: &'static str,
    /// How the footer writes it, when it does.
    pub footer: Option<Footer>,
}

/// How the help and the docs write the main screen's digits, handled apart from the table.
pub const DIGITS_LABEL: &str = "1-9";
/// What the digits do.
pub const DIGITS_HELP: &str = "select a node (or click it)";

/// A row.
fn row(keys: &[Key], label: &'static str, action: Action, help: &'static str) -> KeyBinding {
    KeyBinding {
        keys: keys.to_vec(),
        label,
        action,
        help,
        footer: None,
    }
}

/// A row the footer shows.
fn shown(
    keys: &[Key],
    label: &'static str,
    action: Action,
    help: &'static str,
    footer: (&'static str, &'static str, u8),
) -> KeyBinding {
    let (keys_text, word, rank) = footer;
    KeyBinding {
        footer: Some(Footer {
            keys: keys_text,
            word,
            rank,
        }),
        ..row(keys, label, action, help)
    }
}

/// The key table of `mode`, with the config file's keys once [`install`]ed.
pub fn bindings(mode: Mode) -> Vec<KeyBinding> {
    if let Some(table) = KEYMAP.get().and_then(|k| k.table(mode)) {
        return table.to_vec();
    }
    default_bindings(mode)
}

/// The key table of `mode` as built in, whatever the config file says.
pub fn default_bindings(mode: Mode) -> Vec<KeyBinding> {
    match mode {
        Mode::Main => main_bindings(),
        Mode::Stop => vec![shown(
            &[code(KeyCode::Enter)],
            "Enter",
            Action::NextStep,
            "next step of the guided scenario (time runs again)",
            ("Enter", "next step", 0),
        )],
        Mode::Replay => replay_bindings(),
        Mode::Prompt => prompt_bindings(),
        Mode::Help => overlay_bindings(
            &[code(KeyCode::Esc), code(KeyCode::Enter), key('q'), key('?')],
            "close the help (Enter, q, ? too)",
            true,
        ),
        Mode::Detail => overlay_bindings(
            &[code(KeyCode::Esc), code(KeyCode::Enter), key('q'), key('?')],
            "close the node detail (Enter, q, ? too)",
            false,
        ),
        Mode::History => overlay_bindings(
            &[
                code(KeyCode::Esc),
                code(KeyCode::Enter),
                key('q'),
                key('?'),
                key('v'),
            ],
            "close the history (v, Enter, q, ? too)",
            true,
        ),
        Mode::Feed => feed_bindings(),
    }
}

/// The main screen's table (1–9 select nodes directly and are handled apart).
fn main_bindings() -> Vec<KeyBinding> {
    use Action::*;
    vec![
        shown(
            &[key('q'), ctrl('c')],
            "q",
            Quit,
            "quit (Ctrl-C too)",
            ("q", "quit", 9),
        ),
        shown(
            &[key('?')],
            "?",
            ToggleHelp,
            "help: every key and command",
            ("?", "help", 2),
        ),
        row(
            &[code(KeyCode::Right), code(KeyCode::Tab)],
            "→ Tab",
            SelectNext,
            "select the next node",
        ),
        row(
            &[code(KeyCode::Left), code(KeyCode::BackTab)],
            "←",
            SelectPrev,
            "select the previous node",
        ),
        shown(
            &[code(KeyCode::Enter)],
            "Enter",
            ToggleDetail,
            "details of the selected node",
            ("Enter", "details", 1),
        ),
        shown(
            &[key('k')],
            "k",
            Kill,
            "kill the selected node",
            ("k", "kill", 2),
        ),
        shown(
            &[key('r')],
            "r",
            Restart,
            "restart the selected node from its storage",
            ("r", "restart", 3),
        ),
        shown(
            &[key('i')],
            "i",
            Isolate,
            "isolate the selected node (partition it alone)",
            ("i", "isolate", 8),
        ),
        row(
            &[key('s')],
            "s",
            CycleSlow,
            "slow the selected node: +0 / 100 / 300 / 1000 ms per message",
        ),
        row(
            &[key('c')],
            "c",
            CycleClock,
            "skew the selected node's clock: 1x / 2x / 0.5x",
        ),
        shown(
            &[key('t')],
            "t",
            TimeoutNow,
            "the selected node times out now",
            ("t", "timeout", 7),
        ),
        row(
            &[key('S')],
            "S",
            Snapshot,
            "the selected node takes a snapshot now (compacts its log)",
        ),
        row(
            &[key('a')],
            "a",
            AlignTimers,
            "align all election timers (a split vote)",
        ),
        row(
            &[key('A')],
            "A",
            SpreadTimers,
            "spread the election timers apart",
        ),
        shown(
            &[key('h')],
            "h",
            Heal,
            "heal: clear every network fault and drift",
            ("h", "heal", 6),
        ),
        shown(
            &[key(' ')],
            "space",
            PauseResume,
            "pause / resume time",
            ("space", "pause", 5),
        ),
        row(
            &[key('.')],
            ".",
            Step,
            "step (paused): next message, or a tick",
        ),
        row(
            &[key('+'), key('=')],
            "+",
            Faster,
            "faster (shorter ticks)",
        ),
        row(&[key('-')], "-", Slower, "slower (longer ticks)"),
        shown(
            &[key('w')],
            "w",
            RandomWrite,
            "submit a random write",
            ("w", "write", 4),
        ),
        shown(
            &[key(':')],
            ":",
            OpenPrompt,
            "command prompt (put, get, partition, ...)",
            (":", "command", 0),
        ),
        row(
            &[key('n'), code(KeyCode::Down)],
            "n ↓",
            NextMessage,
            "select the next message in flight",
        ),
        row(
            &[key('N'), code(KeyCode::Up)],
            "N ↑",
            PrevMessage,
            "select the previous message in flight",
        ),
        row(&[key('x')], "x", DropMessage, "drop the selected message"),
        row(
            &[key('u')],
            "u",
            DuplicateMessage,
            "duplicate the selected message",
        ),
        row(
            &[key('g')],
            "g",
            DeliverMessage,
            "deliver the selected message now",
        ),
        row(
            &[code(KeyCode::PageUp)],
            "PgUp",
            LogBack,
            "scroll the logs back",
        ),
        row(
            &[code(KeyCode::PageDown)],
            "PgDn",
            LogForward,
            "scroll the logs forward",
        ),
        row(
            &[code(KeyCode::End)],
            "End",
            LogTail,
            "follow the newest log entries",
        ),
        row(
            &[key('f')],
            "f",
            CycleFeedKind,
            "event feed: protocol / elections / replication / messages / clients / faults / everything",
        ),
        row(
            &[key('F')],
            "F",
            ToggleFeedNode,
            "event feed: the selected node only / all",
        ),
        shown(
            &[key('e')],
            "e",
            FocusFeed,
            "event feed: select, scroll back, open one",
            ("e", "events", 9),
        ),
        shown(
            &[key('C')],
            "C",
            Nemesis,
            "chaos: run a 30 s nemesis, or stop it",
            ("C", "nemesis", 10),
        ),
        row(
            &[key('v')],
            "v",
            ToggleHistory,
            "why the footer's verdict says so (history)",
        ),
        shown(
            &[key('z')],
            "z",
            Zoom,
            "zoom a panel; again: the next one (Esc: all)",
            ("z", "zoom", 11),
        ),
        row(
            &[key('b')],
            "b",
            CycleBottom,
            "switch the bottom panel on a narrow screen",
        ),
        row(
            &[key('H')],
            "H",
            NextHint,
            "the running challenge's next hint (:challenge NAME starts one)",
        ),
        row(
            &[code(KeyCode::Esc)],
            "Esc",
            Close,
            "close the overlay or prompt; leave the zoom",
        ),
    ]
}

/// A replay's table: checked before the main screen's, so it wins where they share a key
/// (← → seek rather than select, PgUp PgDn End move in time rather than in the logs).
fn replay_bindings() -> Vec<KeyBinding> {
    use ReplayAction::*;
    let r = Action::Replay;
    vec![
        shown(
            &[key(' ')],
            "space",
            r(PlayPause),
            "play / pause (at the end: from the start)",
            ("space", "play", 0),
        ),
        shown(
            &[code(KeyCode::Right)],
            "→",
            r(Seek(1_000)),
            "forward 1 s",
            ("←→", "1s", 1),
        ),
        row(&[code(KeyCode::Left)], "←", r(Seek(-1_000)), "back 1 s"),
        shown(
            &[shift(KeyCode::Right), key('.')],
            ". ⇧→",
            r(NextFrame),
            "next frame (~100 ms; lab: next event)",
            (",.", "frame", 2),
        ),
        row(
            &[shift(KeyCode::Left), key(',')],
            ", ⇧←",
            r(PrevFrame),
            "previous frame (lab: event)",
        ),
        shown(
            &[code(KeyCode::PageDown)],
            "PgDn",
            r(Seek(10_000)),
            "forward 10 s",
            ("PgUp PgDn", "10s", 3),
        ),
        row(
            &[code(KeyCode::PageUp)],
            "PgUp",
            r(Seek(-10_000)),
            "back 10 s",
        ),
        shown(
            &[code(KeyCode::Home)],
            "Home",
            r(Start),
            "to the start",
            ("Home End", "", 4),
        ),
        row(
            &[code(KeyCode::End)],
            "End",
            r(End),
            "to the end (lab: as far as played)",
        ),
        shown(
            &[key('+'), key('=')],
            "+",
            r(Faster),
            "play faster (up to 16×)",
            ("+-", "speed", 5),
        ),
        row(&[key('-')], "-", r(Slower), "play slower (down to 0.25×)"),
        row(&[key('[')], "[", r(LogBack), "scroll the logs back"),
        row(
            &[key(']')],
            "]",
            r(LogForward),
            "scroll the logs forward (past the end: follow the tail)",
        ),
    ]
}

/// The focused event feed's table; the main screen's keys work too (pause, kill, f, F...).
fn feed_bindings() -> Vec<KeyBinding> {
    use Action::*;
    vec![
        shown(
            &[code(KeyCode::Up)],
            "↑",
            FeedOlder,
            "select the older event (scrolls back past the top)",
            ("↑↓", "select", 0),
        ),
        row(
            &[code(KeyCode::Down)],
            "↓",
            FeedNewer,
            "select the newer event",
        ),
        shown(
            &[code(KeyCode::Enter)],
            "Enter",
            FeedOpen,
            "the selected event in full: its text, the message it concerns, and the logs \
             at its index",
            ("Enter", "opens", 1),
        ),
        shown(
            &[code(KeyCode::PageUp)],
            "PgUp",
            FeedPageBack,
            "scroll the feed back a page (it stops following the newest)",
            ("PgUp PgDn", "scroll", 2),
        ),
        row(
            &[code(KeyCode::PageDown)],
            "PgDn",
            FeedPageForward,
            "scroll the feed forward a page",
        ),
        row(
            &[code(KeyCode::Home)],
            "Home",
            FeedOldest,
            "the oldest event kept",
        ),
        shown(
            &[code(KeyCode::End)],
            "End",
            FeedFollow,
            "follow the newest events again",
            ("End", "follows", 3),
        ),
        shown(
            &[code(KeyCode::Esc), key('e')],
            "Esc e",
            FeedLeave,
            "hide the event shown in full; else leave the feed (it follows the newest again)",
            ("Esc", "leaves", 4),
        ),
    ]
}

/// The prompt's table; any other character types itself.
fn prompt_bindings() -> Vec<KeyBinding> {
    use Action::*;
    vec![
        shown(
            &[code(KeyCode::Enter)],
            "Enter",
            PromptRun,
            "run the command",
            ("Enter", "runs", 0),
        ),
        shown(
            &[code(KeyCode::Tab)],
            "Tab",
            PromptComplete,
            "complete the word (several choices: their common start, and the list)",
            ("Tab", "completes", 1),
        ),
        shown(
            &[code(KeyCode::Up)],
            "↑",
            PromptHistoryBack,
            "the previous command in the history",
            ("↑↓", "history", 2),
        ),
        row(
            &[code(KeyCode::Down)],
            "↓",
            PromptHistoryForward,
            "the next command in the history",
        ),
        row(
            &[code(KeyCode::Backspace)],
            "Backspace",
            PromptDelete,
            "delete the last character",
        ),
        shown(
            &[code(KeyCode::Esc)],
            "Esc",
            PromptCancel,
            "cancel",
            ("Esc", "cancels", 3),
        ),
        row(&[ctrl('c')], "Ctrl-C", Quit, "quit"),
    ]
}

/// An overlay's table: `close` closes it; `scrolls` when it is taller than the screen.
fn overlay_bindings(close: &[Key], close_help: &'static str, scrolls: bool) -> Vec<KeyBinding> {
    use Action::*;
    let mut rows = vec![row(close, "Esc", CloseOverlay, close_help)];
    if scrolls {
        rows.extend([
            row(
                &[code(KeyCode::Up), key('k')],
                "↑ k",
                Scroll(-1),
                "scroll up a line",
            ),
            row(
                &[code(KeyCode::Down), key('j')],
                "↓ j",
                Scroll(1),
                "scroll down a line",
            ),
            row(
                &[code(KeyCode::PageUp)],
                "PgUp",
                Scroll(-10),
                "scroll up 10 lines",
            ),
            row(
                &[code(KeyCode::PageDown)],
                "PgDn",
                Scroll(10),
                "scroll down 10 lines",
            ),
            row(&[code(KeyCode::Home)], "Home", ScrollTop, "back to the top"),
        ]);
    }
    rows.push(row(&[ctrl('c')], "Ctrl-C", Quit, "quit"));
    rows
}

/// How the help writes the keys of `action` in `mode` (`k`, or `K` when the config file says
/// so): for text that names a key, so it follows the config file. The action's config name
/// when no row has it.
pub fn label_of(mode: Mode, action: &Action) -> String {
    bindings(mode)
        .into_iter()
        .find(|b| b.action == *action)
        .map_or_else(|| config_name(action), |b| b.label.to_string())
}

/// The row of `mode`'s own table that a key press matches, if any (no digits, no fallback to
/// another table).
pub fn binding_for(mode: Mode, ev: &KeyEvent) -> Option<KeyBinding> {
    bindings(mode).into_iter().find(|b| {
        b.keys
            .iter()
            .any(|k| k.code == ev.code && mode.accepts(k, ev))
    })
}

/// The action a key press asks for in `mode`, if any; `nodes` bounds the digits.
pub fn action_for(mode: Mode, ev: &KeyEvent, nodes: usize) -> Option<Action> {
    match mode {
        Mode::Main => {
            let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
            if let KeyCode::Char(c) = ev.code {
                if let Some(d) = c.to_digit(10).filter(|_| !ctrl) {
                    return (1..=nodes as u32)
                        .contains(&d)
                        .then(|| Action::Select(NodeId::from(d)));
                }
            }
            binding_for(mode, ev).map(|b| b.action)
        }
        // The replay's (or the stop's, or the feed's) keys first, then the main screen's.
        Mode::Replay | Mode::Stop | Mode::Feed => binding_for(mode, ev)
            .map(|b| b.action)
            .or_else(|| action_for(Mode::Main, ev, nodes)),
        Mode::Prompt => binding_for(mode, ev).map(|b| b.action).or(match ev.code {
            KeyCode::Char(c) => Some(Action::PromptType(c)),
            _ => None,
        }),
        Mode::Help | Mode::Detail | Mode::History => binding_for(mode, ev).map(|b| b.action),
    }
}

/// What the footer shows of `mode`'s table, most important first.
pub fn footer(mode: Mode) -> Vec<Footer> {
    let mut items: Vec<Footer> = bindings(mode)
        .into_iter()
        .filter_map(|b| b.footer)
        .collect();
    items.sort_by_key(|f| f.rank);
    items
}

/// Every mode's keys as Markdown: the text of `docs/keys.md`.
pub fn keys_markdown() -> String {
    let mut out = String::from(
        "# Keys\n\n\
         <!-- Generated from the key tables in src/tui/action.rs by tui::action::keys_markdown().\n     \
         Do not edit: RAFTLAB_REWRITE=1 cargo test --release --test it keys_doc rewrites it. -->\n\n\
         Every key of the dashboard, one table per mode. The dashboard's footer and its help \
         overlay (`?`) come from the same tables, and so does what each key does.\n",
    );
    let cell = |text: &str| text.replace('|', "\\|");
    let keys = |keys: &[Key]| {
        keys.iter()
            .map(|k| format!("`{}`", k.name()))
            .collect::<Vec<_>>()
            .join(" ")
    };
    for mode in Mode::ALL {
        out.push_str(&format!(
            "\n## {}\n\n{}\n\n| Key | What it does |\n|---|---|\n",
            mode.title(),
            mode.intro()
        ));
        if mode == Mode::Main {
            out.push_str(&format!("| `{DIGITS_LABEL}` | {} |\n", cell(DIGITS_HELP)));
        }
        for b in default_bindings(mode) {
            out.push_str(&format!("| {} | {} |\n", keys(&b.keys), cell(b.help)));
        }
    }
    out
}

// ── Keys from the config file ──────────────────────────────────────────────────────────────
//
//   [keys.main] kill = "K"  ─► config::KeyTable ─► keymap() ─► Keymap (checked, every mode)
//                                                                  └─► install() ─► bindings()
//
// An action's name in the file comes from its `Action` variant ([`config_name`]), so a row
// added to a table is configurable without naming it twice.

/// The keymap the dashboard runs with, set once at start by [`install`].
static KEYMAP: std::sync::OnceLock<Keymap> = std::sync::OnceLock::new();

impl Mode {
    /// The mode's name in the config file: `[keys.main]`, `[keys.replay]`, ...
    pub fn config_name(self) -> &'static str {
        match self {
            Mode::Main => "main",
            Mode::Replay => "replay",
            Mode::Prompt => "prompt",
            Mode::Help => "help",
            Mode::Detail => "detail",
            Mode::History => "history",
            Mode::Stop => "stop",
            Mode::Feed => "feed",
        }
    }
}

/// `ToggleHelp` → `toggle-help`.
fn kebab(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The name of a variant as `Debug` writes it, without its fields, in kebab-case.
fn variant_name(debug: &str) -> String {
    let end = debug.find(['(', ' ', '{']).unwrap_or(debug.len());
    kebab(&debug[..end])
}

/// An action's name in the config file (`kill`, `toggle-help`, `forward-1s`, `scroll-up-10`):
/// its variant's name in kebab-case, with the amount for the variants that carry one.
pub fn config_name(action: &Action) -> String {
    match action {
        Action::Replay(ReplayAction::Seek(ms)) => {
            let way = if *ms < 0 { "back" } else { "forward" };
            let ms = ms.unsigned_abs();
            if ms % 1_000 == 0 {
                format!("{way}-{}s", ms / 1_000)
            } else {
                format!("{way}-{ms}ms")
            }
        }
        Action::Replay(r) => variant_name(&format!("{r:?}")),
        Action::Scroll(n) => {
            let way = if *n < 0 { "up" } else { "down" };
            match n.unsigned_abs() {
                1 => format!("scroll-{way}"),
                n => format!("scroll-{way}-{n}"),
            }
        }
        other => variant_name(&format!("{other:?}")),
    }
}

impl Key {
    /// Reads a key as the config file writes it: what [`Key::name`] prints (`K`, `Ctrl-C`,
    /// `space`, `PgUp`, `⇧→`, `Enter`, `F2`), or its ASCII spelling (`Ctrl+c`, `Shift-Right`,
    /// `PageDown`, `Left`, `Escape`). Letters keep their case: `K` is Shift-k.
    pub fn parse(text: &str) -> Result<Key, String> {
        let bad = |why: &str| format!("{text:?} is not a key: {why}");
        let mut rest = text.trim();
        let (mut ctrl, mut shift) = (false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 1
                && (lower.starts_with("ctrl-") || lower.starts_with("ctrl+"))
            {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.chars().count() > 1
                && (lower.starts_with("shift-") || lower.starts_with("shift+"))
            {
                shift = true;
                rest = &rest[6..];
            } else if rest.chars().count() > 1 && rest.starts_with('⇧') {
                shift = true;
                rest = &rest['⇧'.len_utf8()..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (None, _) => return Err(bad("empty")),
            (Some(c), None) => match c {
                '→' => KeyCode::Right,
                '←' => KeyCode::Left,
                '↑' => KeyCode::Up,
                '↓' => KeyCode::Down,
                c if c.is_control() => return Err(bad("a control character")),
                // Ctrl-C and Ctrl-c are one key: the terminal sends the letter in lower case.
                c if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
                c => KeyCode::Char(c),
            },
            _ => match rest.to_ascii_lowercase().as_str() {
                "space" => KeyCode::Char(' '),
                "enter" | "return" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" if shift => {
                    shift = false;
                    KeyCode::BackTab
                }
                "tab" => KeyCode::Tab,
                "backtab" => KeyCode::BackTab,
                "backspace" => KeyCode::Backspace,
                "delete" | "del" => KeyCode::Delete,
                "insert" | "ins" => KeyCode::Insert,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pagedown" => KeyCode::PageDown,
                "up" => KeyCode::Up,
                "down" => KeyCode::Down,
                "left" => KeyCode::Left,
                "right" => KeyCode::Right,
                f if f.starts_with('f') => match f[1..].parse::<u8>() {
                    Ok(n @ 1..=12) => KeyCode::F(n),
                    _ => return Err(bad("function keys are F1 to F12")),
                },
                _ => {
                    return Err(bad(
                        "write one character (k, K, ?), or Ctrl-X, space, Enter, Esc, Tab, \
                         Backspace, Home, End, PgUp, PgDn, an arrow (← or Left) or F1-F12",
                    ))
                }
            },
        };
        if shift && matches!(code, KeyCode::Char(_)) {
            return Err(bad("write the letter itself (K, not Shift-k)"));
        }
        Ok(Key { code, ctrl, shift })
    }
}

/// Key tables with the config file's keys in them, checked: every mode's, once.
#[derive(Clone, Debug, Default)]
pub struct Keymap {
    tables: Vec<(Mode, Vec<KeyBinding>)>,
}

impl Keymap {
    /// The table of `mode`, when the config changed it.
    pub fn table(&self, mode: Mode) -> Option<&[KeyBinding]> {
        self.tables
            .iter()
            .find(|(m, _)| *m == mode)
            .map(|(_, t)| t.as_slice())
    }

    /// What the config changed: (mode, action's name, its keys as the help writes them).
    pub fn changes(&self) -> Vec<(Mode, String, String)> {
        let mut out = Vec::new();
        for (mode, table) in &self.tables {
            let defaults = default_bindings(*mode);
            for (b, d) in table.iter().zip(defaults) {
                if b.keys != d.keys {
                    out.push((*mode, config_name(&b.action), b.label.to_string()));
                }
            }
        }
        out
    }
}

/// Makes `keymap` the keys of this process's dashboard (the first call wins; the tables are
/// fixed once a screen shows them).
pub fn install(keymap: Keymap) {
    let _ = KEYMAP.set(keymap);
}

/// A key table's keys as the help and the footer write them: `K`, `q Ctrl-C`. Leaked once per
/// changed row when the keymap is built (the tables hold `&'static str`).
fn leak_names(keys: &[Key]) -> &'static str {
    let text = keys.iter().map(Key::name).collect::<Vec<_>>().join(" ");
    Box::leak(text.into_boxed_str())
}

/// Whether a key press could match both `a` and `b` in `mode` (the main table ignores Shift).
fn same_press(mode: Mode, a: &Key, b: &Key) -> bool {
    a.code == b.code && a.ctrl == b.ctrl && (mode != Mode::Replay || a.shift == b.shift)
}

/// Builds the keymap the config file's `[keys.MODE]` tables ask for, or the first mistake: an
/// unknown mode or action, a key that is not one, a key that collides with another action's of
/// the same mode (naming both), a digit on the main screen (1-9 select nodes) or a plain
/// character at the prompt (it types itself).
pub fn keymap(tables: &[crate::config::KeyTable]) -> Result<Keymap, (crate::config::At, String)> {
    let mut keymap = Keymap::default();
    for t in tables {
        let Some(mode) = Mode::ALL.into_iter().find(|m| m.config_name() == t.mode) else {
            let modes: Vec<&str> = Mode::ALL.iter().map(|m| m.config_name()).collect();
            return Err((
                t.at,
                format!(
                    "unknown mode keys.{} (expected one of: {})",
                    t.mode,
                    modes.join(", ")
                ),
            ));
        };
        let mut table = keymap
            .tables
            .iter()
            .position(|(m, _)| *m == mode)
            .map(|i| keymap.tables.remove(i).1)
            .unwrap_or_else(|| default_bindings(mode));
        let mut changed: Vec<(usize, crate::config::At)> = Vec::new();
        for e in &t.entries {
            let Some(i) = table
                .iter()
                .position(|b| config_name(&b.action) == e.action)
            else {
                let names: Vec<String> = table.iter().map(|b| config_name(&b.action)).collect();
                return Err((
                    e.at,
                    format!(
                        "keys.{}: no action {:?} (expected one of: {})",
                        t.mode,
                        e.action,
                        names.join(", ")
                    ),
                ));
            };
            let mut keys: Vec<Key> = Vec::new();
            for text in &e.keys {
                let k = Key::parse(text)
                    .map_err(|why| (e.at, format!("keys.{}.{}: {why}", t.mode, e.action)))?;
                let digit = matches!(k.code, KeyCode::Char('1'..='9')) && !k.ctrl;
                if digit && matches!(mode, Mode::Main | Mode::Replay) {
                    return Err((
                        e.at,
                        format!(
                            "keys.{}: {} = {text:?} collides with {DIGITS_LABEL} (select a node)",
                            t.mode, e.action
                        ),
                    ));
                }
                if mode == Mode::Prompt && matches!(k.code, KeyCode::Char(_)) && !k.ctrl {
                    return Err((
                        e.at,
                        format!(
                            "keys.prompt: {} = {text:?}: a character types itself at the prompt \
                             (use Ctrl-{text} or a named key)",
                            e.action
                        ),
                    ));
                }
                if !keys.contains(&k) {
                    keys.push(k);
                }
            }
            let b = &mut table[i];
            b.label = leak_names(&keys);
            if let Some(f) = &mut b.footer {
                f.keys = b.label;
            }
            b.keys = keys;
            changed.retain(|(j, _)| *j != i);
            changed.push((i, e.at));
        }
        for (i, at) in &changed {
            let b = &table[*i];
            for k in &b.keys {
                let other = table
                    .iter()
                    .enumerate()
                    .find(|(j, o)| j != i && o.keys.iter().any(|ok| same_press(mode, k, ok)));
                if let Some((_, o)) = other {
                    return Err((
                        *at,
                        format!(
                            "keys.{}: {} = {:?} collides with {} ({}); give {} another key too",
                            t.mode,
                            config_name(&b.action),
                            k.name(),
                            config_name(&o.action),
                            o.label,
                            config_name(&o.action),
                        ),
                    ));
                }
            }
        }
        keymap.tables.push((mode, table));
    }
    Ok(keymap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn main(ev: KeyEvent) -> Option<Action> {
        action_for(Mode::Main, &ev, 5)
    }

    fn replay(ev: KeyEvent) -> Option<Action> {
        binding_for(Mode::Replay, &ev).map(|b| b.action)
    }

    #[test]
    fn digits_select_existing_nodes_only() {
        assert_eq!(main(press(KeyCode::Char('3'))), Some(Action::Select(3)));
        assert_eq!(main(press(KeyCode::Char('7'))), None);
        assert_eq!(main(press(KeyCode::Char('0'))), None);
    }

    #[test]
    fn table_keys_map_to_their_actions() {
        assert_eq!(main(press(KeyCode::Char('k'))), Some(Action::Kill));
        assert_eq!(main(press(KeyCode::Char(' '))), Some(Action::PauseResume));
        assert_eq!(
            main(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            Some(Action::Quit)
        );
        assert_eq!(main(press(KeyCode::Char('c'))), Some(Action::CycleClock));
        assert_eq!(
            main(KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT)),
            Some(Action::SpreadTimers)
        );
        assert_eq!(
            main(KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT)),
            Some(Action::Snapshot)
        );
        assert_eq!(main(press(KeyCode::Char('s'))), Some(Action::CycleSlow));
        assert_eq!(
            main(KeyEvent::new(KeyCode::Char('C'), KeyModifiers::SHIFT)),
            Some(Action::Nemesis)
        );
        assert_eq!(main(press(KeyCode::Char('v'))), Some(Action::ToggleHistory));
        assert_eq!(main(press(KeyCode::Char('z'))), Some(Action::Zoom));
        assert_eq!(main(press(KeyCode::Char('b'))), Some(Action::CycleBottom));
        assert_eq!(main(press(KeyCode::Char('Z'))), None);
        // ⇧Tab arrives as BackTab with Shift.
        assert_eq!(
            main(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
            Some(Action::SelectPrev)
        );
    }

    #[test]
    fn at_a_guided_stop_enter_goes_on_and_the_main_keys_still_act() {
        let stop = |ev| action_for(Mode::Stop, &ev, 5);
        assert_eq!(stop(press(KeyCode::Enter)), Some(Action::NextStep));
        assert_eq!(main(press(KeyCode::Enter)), Some(Action::ToggleDetail));
        assert_eq!(stop(press(KeyCode::Char('k'))), Some(Action::Kill));
        assert_eq!(stop(press(KeyCode::Char(' '))), Some(Action::PauseResume));
        assert_eq!(stop(press(KeyCode::Char('2'))), Some(Action::Select(2)));
        assert_eq!(footer(Mode::Stop)[0].text(), "Enter next step");
    }

    #[test]
    fn replay_keys_map_to_their_actions() {
        use ReplayAction::*;
        let none = KeyModifiers::NONE;
        let r = |a| Some(Action::Replay(a));
        assert_eq!(
            replay(KeyEvent::new(KeyCode::Char(' '), none)),
            r(PlayPause)
        );
        assert_eq!(replay(KeyEvent::new(KeyCode::Right, none)), r(Seek(1_000)));
        assert_eq!(
            replay(KeyEvent::new(KeyCode::Right, KeyModifiers::SHIFT)),
            r(NextFrame)
        );
        assert_eq!(
            replay(KeyEvent::new(KeyCode::Char('+'), KeyModifiers::SHIFT)),
            r(Faster)
        );
        assert_eq!(
            replay(KeyEvent::new(KeyCode::PageUp, none)),
            r(Seek(-10_000))
        );
        // Not replay keys: the main table decides.
        assert_eq!(replay(KeyEvent::new(KeyCode::Tab, none)), None);
        assert_eq!(replay(KeyEvent::new(KeyCode::Char('k'), none)), None);
        assert_eq!(
            replay(KeyEvent::new(KeyCode::Char(' '), KeyModifiers::CONTROL)),
            None
        );
        assert_eq!(
            action_for(Mode::Replay, &KeyEvent::new(KeyCode::Tab, none), 5),
            Some(Action::SelectNext)
        );
    }

    #[test]
    fn the_prompt_types_what_it_does_not_bind_and_overlays_swallow_it() {
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(
            action_for(Mode::Prompt, &press(KeyCode::Char('k')), 5),
            Some(Action::PromptType('k'))
        );
        assert_eq!(action_for(Mode::Prompt, &ctrl_c, 5), Some(Action::Quit));
        assert_eq!(action_for(Mode::Prompt, &press(KeyCode::F(2)), 5), None);
        for mode in [Mode::Help, Mode::Detail, Mode::History] {
            assert_eq!(action_for(mode, &ctrl_c, 5), Some(Action::Quit));
            assert_eq!(
                action_for(mode, &press(KeyCode::Char('k')), 5).is_some(),
                mode != Mode::Detail,
                "{mode:?}"
            );
            assert_eq!(
                action_for(mode, &press(KeyCode::Char('q')), 5),
                Some(Action::CloseOverlay)
            );
        }
        assert_eq!(
            action_for(Mode::History, &press(KeyCode::Char('v')), 5),
            Some(Action::CloseOverlay)
        );
        assert_eq!(action_for(Mode::Help, &press(KeyCode::Char('v')), 5), None);
    }

    #[test]
    fn no_key_is_bound_twice_in_a_mode() {
        for mode in Mode::ALL {
            let mut seen = Vec::new();
            for b in bindings(mode) {
                for k in &b.keys {
                    assert!(!seen.contains(k), "{mode:?}: {k:?} bound twice");
                    seen.push(*k);
                }
            }
        }
    }

    #[test]
    fn the_markdown_lists_every_label_of_every_mode() {
        let text = keys_markdown();
        for mode in Mode::ALL {
            assert!(text.contains(&format!("## {}", mode.title())), "{mode:?}");
            for b in bindings(mode) {
                assert!(text.contains(b.help), "{mode:?}: {:?}", b.help);
            }
        }
    }

    fn table(mode: &str, entries: &[(&str, &[&str])]) -> crate::config::KeyTable {
        crate::config::KeyTable {
            mode: mode.into(),
            at: crate::config::At { line: 1, column: 7 },
            entries: entries
                .iter()
                .enumerate()
                .map(|(i, (action, keys))| crate::config::KeyEntry {
                    action: action.to_string(),
                    keys: keys.iter().map(|k| k.to_string()).collect(),
                    at: crate::config::At {
                        line: i + 2,
                        column: 1,
                    },
                })
                .collect(),
        }
    }

    fn keymap_error(mode: &str, entries: &[(&str, &[&str])]) -> (usize, String) {
        let (at, why) = keymap(&[table(mode, entries)]).expect_err("an error");
        (at.line, why)
    }

    #[test]
    fn every_row_of_a_mode_has_its_own_config_name() {
        for mode in Mode::ALL {
            let mut seen = Vec::new();
            for b in default_bindings(mode) {
                let name = config_name(&b.action);
                assert!(
                    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'),
                    "{mode:?}: {name:?}"
                );
                assert!(!seen.contains(&name), "{mode:?}: two rows named {name:?}");
                seen.push(name);
            }
        }
        assert_eq!(config_name(&Action::Kill), "kill");
        assert_eq!(config_name(&Action::ToggleHelp), "toggle-help");
        assert_eq!(config_name(&Action::Scroll(-10)), "scroll-up-10");
        assert_eq!(config_name(&Action::Scroll(1)), "scroll-down");
        assert_eq!(
            config_name(&Action::Replay(ReplayAction::Seek(-1_000))),
            "back-1s"
        );
        assert_eq!(
            config_name(&Action::Replay(ReplayAction::PlayPause)),
            "play-pause"
        );
    }

    #[test]
    fn every_key_name_reads_back_as_its_key() {
        for mode in Mode::ALL {
            for b in default_bindings(mode) {
                for k in &b.keys {
                    assert_eq!(Key::parse(&k.name()), Ok(*k), "{mode:?}: {}", k.name());
                }
            }
        }
        assert_eq!(Key::parse("Ctrl+k"), Ok(ctrl('k')));
        assert_eq!(Key::parse("ctrl-K"), Ok(ctrl('k')));
        assert_eq!(Key::parse("Shift-Right"), Ok(shift(KeyCode::Right)));
        assert_eq!(Key::parse("Shift-Tab"), Ok(code(KeyCode::BackTab)));
        assert_eq!(Key::parse("PageDown"), Ok(code(KeyCode::PageDown)));
        assert_eq!(Key::parse("F2"), Ok(code(KeyCode::F(2))));
        assert_eq!(Key::parse("K"), Ok(key('K')));
        assert_eq!(Key::parse("-"), Ok(key('-')));
        for bad in ["", "Ctrl-", "kk", "F13", "Shift-k", "Hyper-x", "\u{7}"] {
            assert!(Key::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_config_rebinds_an_action_and_its_help_and_footer_follow() {
        let map = keymap(&[table(
            "main",
            &[("kill", &["K"]), ("quit", &["Q", "Ctrl-C"])],
        )])
        .expect("valid");
        let main = map.table(Mode::Main).expect("main changed");
        let kill = main.iter().find(|b| b.action == Action::Kill).unwrap();
        assert_eq!(kill.keys, vec![key('K')]);
        assert_eq!(kill.label, "K");
        assert_eq!(kill.footer.map(|f| f.text()).as_deref(), Some("K kill"));
        // k does nothing now; the other rows are untouched.
        assert!(!main.iter().any(|b| b.keys.contains(&key('k'))));
        assert_eq!(main.len(), default_bindings(Mode::Main).len());
        assert!(map.table(Mode::Replay).is_none());
        let changes = map.changes();
        assert_eq!(
            changes,
            vec![
                (Mode::Main, "quit".to_string(), "Q Ctrl-C".to_string()),
                (Mode::Main, "kill".to_string(), "K".to_string()),
            ]
        );
        // Two actions may trade keys.
        keymap(&[table("main", &[("kill", &["r"]), ("restart", &["k"])])]).expect("a swap");
    }

    #[test]
    fn a_collision_names_both_actions_and_the_line() {
        let (line, why) = keymap_error("main", &[("heal", &["x"]), ("kill", &["r"])]);
        assert_eq!(line, 2, "{why}");
        assert!(
            why.contains("heal = \"x\" collides with drop-message (x)"),
            "{why}"
        );
        let (line, why) = keymap_error("main", &[("kill", &["K"]), ("restart", &["K"])]);
        assert_eq!(line, 2);
        assert!(
            why.contains("kill = \"K\" collides with restart (K)"),
            "{why}"
        );
        // Shift does not tell keys apart on the main screen.
        let (_, why) = keymap_error("main", &[("kill", &["⇧→"])]);
        assert!(why.contains("collides with select-next"), "{why}");
        let (_, why) = keymap_error("history", &[("close-overlay", &["j"])]);
        assert!(why.contains("collides with scroll-down"), "{why}");
    }

    #[test]
    fn bad_modes_actions_and_keys_are_errors_that_say_what_would_do() {
        let (line, why) = keymap_error("mian", &[("kill", &["K"])]);
        assert_eq!(line, 1);
        assert!(
            why.contains("unknown mode keys.mian (expected one of: main, stop, feed, replay"),
            "{why}"
        );
        let (line, why) = keymap_error("main", &[("kil", &["K"])]);
        assert_eq!(line, 2);
        assert!(
            why.contains("no action \"kil\" (expected one of: quit, toggle-help"),
            "{why}"
        );
        let (_, why) = keymap_error("main", &[("kill", &["Ctrl"])]);
        assert!(
            why.contains("keys.main.kill: \"Ctrl\" is not a key"),
            "{why}"
        );
        let (_, why) = keymap_error("main", &[("kill", &["3"])]);
        assert!(why.contains("collides with 1-9"), "{why}");
        let (_, why) = keymap_error("prompt", &[("prompt-cancel", &["q"])]);
        assert!(why.contains("types itself"), "{why}");
        keymap(&[table("prompt", &[("prompt-cancel", &["Ctrl-G"])])])
            .expect("Ctrl-G at the prompt");
    }
}
