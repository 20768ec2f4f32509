//! `AppState`, the dashboard's view model, and `update`, the only place it changes.
//!
//! ```text
//!   key / mouse / resize ─► Action ─┐
//!   ClusterView snapshot ───────────┼─► update(&mut AppState) ─► Effects for the cluster
//!   Event from the bus ─────────────┤                              (run by the commander)
//!   result of an Effect ────────────┤
//!   Notice from a job ──────────────┘   (the checker's verdict, the nemesis' progress)
//! ```

use std::collections::VecDeque;
use std::time::Duration;

use crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};

use super::action::{action_for, Action, Mode};
use super::view::ViewLayout;
use crate::check::{CheckResult, Counts, Operation};
use crate::command::executor::PendingOp;
use crate::command::prompt::{
    self, InputHistory, PromptCommand, PromptError, NEMESIS_DEFAULT, PROMPT_MAX,
};
use crate::node::{Event, EventKind};
use crate::observe::cluster_view::{ClusterView, LogWant};
use crate::observe::election::ElectionStory;
use crate::observe::feed::{Category, DropMark, FeedKind, FeedLine, FEED_CAPACITY};
use crate::raft::NodeId;

/// What has the keyboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Focus {
    /// The main screen.
    Main,
    /// The command prompt.
    Prompt,
    /// The help overlay.
    Help,
    /// The selected node's detail view.
    Detail,
    /// The recorded operations and the checker's verdict.
    History,
}

/// The command prompt's state.
#[derive(Clone, Debug)]
pub struct PromptState {
    /// Text typed so far.
    pub input: String,
    /// Past commands.
    pub history: InputHistory,
    /// Completions of the current word, shown under the prompt.
    pub completions: Vec<String>,
    /// The last line that did not parse and why: while the status line shows that error, the
    /// footer shows the line with a caret under the word.
    pub error: Option<(String, PromptError)>,
    /// What the last paste or key lost or changed (cut at [`PROMPT_MAX`], line breaks made
    /// spaces), shown under the open prompt until the line is edited again.
    pub notice: Option<String>,
    /// Keys refused since the line reached [`PROMPT_MAX`] (for the notice).
    pub refused: usize,
}

/// Work for the cluster, carried out off the UI thread by the commander.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// A command (from a key or the prompt).
    Run(PromptCommand),
    /// Make every running node's election timer fire after the same number of ticks.
    AlignTimers,
    /// Spread the election timers apart again.
    SpreadTimers,
    /// Guided scenario: go on to the next step (Enter).
    AdvanceScenario,
    /// `:challenge NAME`: start that challenge (the dashboard's loop does it).
    StartChallenge(String),
}

/// What the checker said about the dashboard's history (every client operation: the user's,
/// client 0, and the nemesis' workers).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CheckView {
    /// Operations recorded so far, by outcome.
    pub counts: Counts,
    /// A check is running.
    pub checking: bool,
    /// The verdict on the longest history checked, and how many operations that history held.
    /// `None` before the first check. A violation is final: later verdicts do not replace it.
    pub verdict: Option<(usize, CheckResult)>,
    /// Every operation recorded, as of the last count (the `v` overlay's timeline per key).
    pub operations: std::sync::Arc<Vec<Operation>>,
}

impl CheckView {
    /// Every operation recorded, whatever its outcome (in flight included).
    pub fn total(&self) -> usize {
        self.counts.ok + self.counts.failed + self.counts.unknown + self.counts.in_flight
    }

    /// The key whose operations are not linearizable, when a violation was found.
    pub fn violation(&self) -> Option<&str> {
        match &self.verdict {
            Some((_, CheckResult::NotLinearizable { key, .. })) => Some(key),
            _ => None,
        }
    }
}

/// Where a nemesis run is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NemesisView {
    /// Injecting faults, with this much running time left (whole seconds, rounded up).
    Running {
        /// Time left.
        left: Duration,
    },
    /// Time is up (or it was stopped): healing, waiting for the nodes to agree, checking.
    Finishing,
}

/// News from a background job (the checker, a nemesis), for [`AppState::apply_notice`].
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// The history's operations, by outcome.
    Counts(Counts),
    /// The history's operations themselves (sent with new counts).
    Operations(std::sync::Arc<Vec<Operation>>),
    /// The checker started (`true`) or finished (`false`) a check.
    Checking(bool),
    /// A verdict on the first `ops` operations of the history.
    Verdict {
        /// How many operations the checked history held.
        ops: usize,
        /// The verdict.
        result: CheckResult,
    },
    /// The nemesis' progress; `None` when it is over.
    Nemesis(Option<NemesisView>),
    /// A line for the event feed (node 0, a fault), at cluster time `at`.
    Feed {
        /// Cluster time.
        at: Duration,
        /// The text.
        text: String,
    },
    /// A line for the status line, like a command's result.
    Status(String),
}

/// A panel of the main screen, as the `z` key (zoom) and the `b` key (the bottom panel on small
/// screens) name them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The ring of nodes.
    Ring,
    /// The node table.
    Nodes,
    /// The logs, one row per node.
    Logs,
    /// The event feed.
    Events,
    /// A scenario's narration (only while one runs on the dashboard).
    Narration,
    /// The state machine, or the messages in flight when one is selected or time is paused.
    Side,
}

impl Panel {
    /// The order `z` zooms them in (narration only while a scenario runs).
    pub const ZOOM_ORDER: [Panel; 6] = [
        Panel::Ring,
        Panel::Nodes,
        Panel::Logs,
        Panel::Events,
        Panel::Narration,
        Panel::Side,
    ];
}

/// Where the event feed looks when the user looks back (`e`, the mouse wheel). Lines are
/// named by their sequence number ([`AppState::feed_seq`]), so new lines do not move them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedCursor {
    /// The feed has the keyboard (`e`; Esc gives it back).
    pub focused: bool,
    /// The newest line shown; `None` follows the newest.
    pub anchor: Option<u64>,
    /// The selected line.
    pub selected: Option<u64>,
    /// The line shown in full (Enter).
    pub open: Option<u64>,
}

/// Colours or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Theme {
    /// Colours, with symbols too.
    Color,
    /// No colour at all (NO_COLOR, `--theme mono`): symbols and text carry everything.
    Mono,
}

/// The dashboard's whole state.
#[derive(Debug)]
pub struct AppState {
    /// The latest snapshot of the cluster (None before the first).
    pub view: Option<ClusterView>,
    /// "UNSAFE: <rules>" when the cluster runs with rules that break Raft on purpose: shown in
    /// red in the header.
    pub unsafe_rules: Option<String>,
    /// The thesis's optional rules in force ("PreVote·CheckQuorum", "Figure 2 only"), shown in
    /// the header; None when not known (a replay).
    pub rules_in_force: Option<String>,
    /// The selected node.
    pub selected: NodeId,
    /// Number of nodes.
    pub nodes: usize,
    /// Their ids, in order: `1..=nodes` at first, then whatever the cluster's membership changes
    /// made of them (a removed node leaves a gap; an added one takes the lowest free id).
    pub ids: Vec<NodeId>,
    /// What has the keyboard.
    pub focus: Focus,
    /// The prompt.
    pub prompt: PromptState,
    /// The event feed, oldest first.
    pub feed: VecDeque<FeedLine>,
    /// The feed's kind filter.
    pub feed_kind: FeedKind,
    /// Show only the selected node's events.
    pub feed_node_only: bool,
    /// Where the feed looks, what is selected and open in it.
    pub feed_cursor: FeedCursor,
    /// Lines dropped off the front of the feed so far: a line's sequence number is this plus
    /// its position in [`AppState::feed`].
    pub feed_dropped: u64,
    /// The last election in one sentence, or the one under way: the feed's sticky line.
    pub election: ElectionStory,
    /// Recent drops, for the ring.
    pub drops: VecDeque<DropMark>,
    /// Log view: None follows the tail, Some(i) ends at index i.
    pub log_end: Option<u64>,
    /// Index into the messages in flight, when one is selected.
    pub message: Option<usize>,
    /// The last command's result or error, shown in the footer.
    pub status_line: String,
    /// Colours.
    pub theme: Theme,
    /// Set when the user asked to leave.
    pub quit: bool,
    /// Set when the screen must be redrawn.
    pub dirty: bool,
    /// Where the log file is.
    pub log_path: Option<String>,
    /// First line of the help overlay shown (it scrolls).
    pub help_scroll: u16,
    /// Where the last frame put things (the ring, how many log cells fit, how far the overlay
    /// scrolls): written by the view through [`view::draw`](super::view::draw), read by the key
    /// and mouse handlers.
    pub layout: ViewLayout,
    /// The checker's view of the history.
    pub check: CheckView,
    /// The nemesis, while one runs.
    pub nemesis: Option<NemesisView>,
    /// A replay's position, playback and recording (`raftlab replay`); `None` live.
    pub replay: Option<super::replay::ReplayState>,
    /// The scenario running on the dashboard, if any: its narration panel.
    pub narration: Option<super::narration::Narration>,
    /// The challenge running on the dashboard, if any: its panel.
    pub challenge: Option<super::challenge::ChallengePanel>,
    /// The panel `z` zoomed to the whole screen (between the header and the footer), if any.
    pub zoom: Option<Panel>,
    /// The bottom panel `b` chose, for screens too narrow to show every bottom panel side by
    /// side; `None` until then (the view picks: narration while a scenario runs, the messages in
    /// flight while one is selected, else the events).
    pub bottom: Option<Panel>,
    /// The user's client operations still waiting for their answer (the footer's pending row).
    pub pending_ops: Vec<PendingOp>,
}

/// Delays the `s` key cycles through.
pub const SLOW_STEPS: [u64; 4] = [0, 100, 300, 1000];
/// Clock rates the `c` key cycles through.
pub const CLOCK_STEPS: [f64; 3] = [1.0, 2.0, 0.5];

impl AppState {
    /// A fresh dashboard for `nodes` nodes.
    pub fn new(nodes: usize, theme: Theme) -> Self {
        AppState {
            view: None,
            selected: 1,
            nodes,
            ids: (1..=nodes as NodeId).collect(),
            focus: Focus::Main,
            prompt: PromptState {
                input: String::new(),
                history: InputHistory::new(100),
                completions: Vec::new(),
                error: None,
                notice: None,
                refused: 0,
            },
            feed: VecDeque::new(),
            feed_kind: FeedKind::Protocol,
            feed_node_only: false,
            feed_cursor: FeedCursor::default(),
            feed_dropped: 0,
            election: ElectionStory::default(),
            drops: VecDeque::new(),
            log_end: None,
            message: None,
            status_line: "starting the cluster...".into(),
            theme,
            quit: false,
            dirty: true,
            log_path: None,
            help_scroll: 0,
            layout: ViewLayout::default(),
            check: CheckView::default(),
            nemesis: None,
            replay: None,
            narration: None,
            challenge: None,
            unsafe_rules: None,
            rules_in_force: None,
            zoom: None,
            bottom: None,
            pending_ops: Vec::new(),
        }
    }

    /// Which log window the poller should fetch.
    pub fn log_want(&self) -> LogWant {
        LogWant {
            end: self.log_end,
            len: self.layout.log_cells.max(8),
        }
    }

    /// Takes a new snapshot. Marks the screen dirty only if something visible changed (or
    /// messages are moving).
    pub fn apply_view(&mut self, view: ClusterView) {
        let moving = !view.in_flight.is_empty() && !view.status.paused;
        let changed = match &self.view {
            None => true,
            Some(old) => {
                old.status != view.status
                    || old.in_flight != view.in_flight
                    || old.logs != view.logs
                    || old.kv != view.kv
            }
        };
        if let Some(i) = self.message {
            if view.in_flight.is_empty() {
                self.message = None;
            } else if i >= view.in_flight.len() {
                self.message = Some(view.in_flight.len() - 1);
            }
        }
        // The first view's hint, unless the start had something to say (no log file).
        if self.view.is_none() && !self.status_line.starts_with("log file:") {
            let key = |a: Action| super::action::label_of(Mode::Main, &a);
            self.status_line = format!(
                "cluster up. Select a node with 1-9, {} kills it, {} writes, {} lists every key.",
                key(Action::Kill),
                key(Action::RandomWrite),
                key(Action::ToggleHelp)
            );
        }
        let ids: Vec<NodeId> = view.status.nodes.iter().map(|n| n.id).collect();
        if !ids.is_empty() && ids != self.ids {
            self.nodes = ids.len();
            if !ids.contains(&self.selected) {
                self.selected = ids[0];
            }
            self.ids = ids;
            self.dirty = true;
        }
        self.view = Some(view);
        if changed || moving {
            self.dirty = true;
        }
    }

    /// Takes the list of the user's operations still waiting for their answer (the screen
    /// redraws while there are any: their ages move with cluster time).
    pub fn apply_pending(&mut self, ops: Vec<PendingOp>) {
        if !ops.is_empty() || ops != self.pending_ops {
            self.dirty = true;
        }
        self.pending_ops = ops;
    }

    /// Takes an event from the bus into the feed.
    pub fn apply_event(&mut self, event: Event) {
        if let EventKind::MessageDropped { from, to, .. } = &event.kind {
            self.drops.push_back(DropMark {
                at: event.at,
                from: *from,
                to: *to,
            });
            while self.drops.len() > 64 {
                self.drops.pop_front();
            }
        }
        self.election.apply(&event);
        let line = FeedLine::of(event.at, event.node, &event.kind);
        // Election events may change the sticky line, whatever the filter.
        if self.feed_kind.shows(line.category) || line.category == Category::Election {
            self.dirty = true;
        }
        self.push_feed(line);
    }

    /// Adds a line to the feed, dropping the oldest beyond [`FEED_CAPACITY`].
    fn push_feed(&mut self, line: FeedLine) {
        self.feed.push_back(line);
        while self.feed.len() > FEED_CAPACITY {
            self.feed.pop_front();
            self.feed_dropped += 1;
        }
    }

    /// The feed lines the current filter shows, oldest first.
    pub fn visible_feed(&self) -> impl DoubleEndedIterator<Item = &FeedLine> {
        self.visible_feed_seq().map(|(_, l)| l)
    }

    /// The feed lines the current filter shows with their sequence numbers, oldest first.
    pub fn visible_feed_seq(&self) -> impl DoubleEndedIterator<Item = (u64, &FeedLine)> {
        let node = self.feed_node_only.then_some(self.selected);
        let kind = self.feed_kind;
        let base = self.feed_dropped;
        self.feed
            .iter()
            .enumerate()
            .map(move |(i, l)| (base + i as u64, l))
            .filter(move |(_, l)| kind.shows(l.category) && node.is_none_or(|n| l.node == n))
    }

    /// The feed line with sequence number `seq`, while the feed keeps it.
    pub fn feed_seq(&self, seq: u64) -> Option<&FeedLine> {
        let i = usize::try_from(seq.checked_sub(self.feed_dropped)?).ok()?;
        self.feed.get(i)
    }

    /// How many lines the filter shows after the newest one shown (0 when following).
    pub fn feed_newer(&self) -> usize {
        match self.feed_cursor.anchor {
            None => 0,
            Some(a) => self
                .visible_feed_seq()
                .rev()
                .take_while(|(s, _)| *s > a)
                .count(),
        }
    }

    /// Moves the feed's window by `delta` lines of the filter (negative: back in time); past
    /// the newest, it follows again.
    fn scroll_feed(&mut self, delta: isize) {
        let seqs: Vec<u64> = self.visible_feed_seq().map(|(s, _)| s).collect();
        let Some(last) = seqs.len().checked_sub(1) else {
            return;
        };
        let bottom = self.feed_bottom(&seqs);
        let to = bottom.saturating_add_signed(delta);
        // Back: at least a page of lines stays on screen; forward past the end: follow.
        let page = usize::from(self.layout.feed_rows.max(1));
        self.feed_cursor.anchor = if delta > 0 && to >= last {
            None
        } else {
            Some(seqs[to.clamp((page - 1).min(last), last)])
        };
    }

    /// Where the newest line shown sits among `seqs` (the filter's lines).
    fn feed_bottom(&self, seqs: &[u64]) -> usize {
        let last = seqs.len().saturating_sub(1);
        match self.feed_cursor.anchor {
            None => last,
            Some(a) => seqs.partition_point(|s| *s <= a).saturating_sub(1),
        }
    }

    /// Moves the feed's selection by one line (`older`: up), scrolling to keep it on screen;
    /// the first move selects the newest line shown and stops following.
    fn select_feed(&mut self, older: bool) {
        let seqs: Vec<u64> = self.visible_feed_seq().map(|(s, _)| s).collect();
        let Some(last) = seqs.len().checked_sub(1) else {
            self.status_line = "the event feed is empty under this filter (f, F change it)".into();
            return;
        };
        let bottom = self.feed_bottom(&seqs);
        let at = match self.feed_cursor.selected {
            None => {
                self.feed_cursor.selected = Some(seqs[bottom]);
                self.feed_cursor.anchor = Some(seqs[bottom]);
                return;
            }
            Some(sel) => seqs.partition_point(|s| *s <= sel).saturating_sub(1),
        };
        let to = if older {
            at.saturating_sub(1)
        } else {
            (at + 1).min(last)
        };
        let seq = seqs[to];
        self.feed_cursor.selected = Some(seq);
        let top = self.layout.feed_top.unwrap_or(0);
        if seq < top {
            // Above the top: the window goes back one line.
            self.feed_cursor.anchor = Some(seqs[bottom.saturating_sub(1)]);
        } else if to == last && !older {
            self.feed_cursor.anchor = None;
        } else if self.feed_cursor.anchor.is_none_or(|a| seq > a) {
            self.feed_cursor.anchor = Some(seq.max(seqs[bottom]));
        }
    }

    /// Shows the selected line in full (or hides it) and moves the logs to its index.
    fn open_feed(&mut self) {
        if self.feed_cursor.open.is_some() && self.feed_cursor.open == self.feed_cursor.selected {
            self.feed_cursor.open = None;
            return;
        }
        if self.feed_cursor.selected.is_none() {
            self.select_feed(true);
        }
        let Some(seq) = self.feed_cursor.selected else {
            return;
        };
        self.feed_cursor.open = Some(seq);
        let index = self
            .feed_seq(seq)
            .and_then(|l| l.subject.as_ref())
            .and_then(|s| s.index());
        if let Some(i) = index {
            let cells = self.layout.log_cells.max(8);
            let end = (i + cells / 2).max(cells);
            self.log_end = (end < self.highest_index()).then_some(end);
            self.status_line = format!(
                "logs moved to index {i}{}",
                if self.log_end.is_some() {
                    " (End on the main screen follows the tail again)"
                } else {
                    ""
                }
            );
        }
    }

    /// Takes a report of the scenario runner into the narration panel.
    pub fn apply_report(&mut self, report: crate::scenario::runner::RunReport) {
        if let Some(n) = &mut self.narration {
            n.apply(report);
            self.dirty = true;
        }
    }

    /// Records the outcome of an effect.
    pub fn apply_result(&mut self, text: String) {
        self.status_line = text;
        self.dirty = true;
    }

    /// Takes news from a background job.
    pub fn apply_notice(&mut self, notice: Notice) {
        self.dirty = true;
        match notice {
            Notice::Counts(counts) => self.check.counts = counts,
            Notice::Operations(ops) => self.check.operations = ops,
            Notice::Checking(on) => self.check.checking = on,
            Notice::Verdict { ops, result } => {
                // The longest history wins; a violation stays (a longer history that contains
                // it cannot be linearizable either).
                let replace = match &self.check.verdict {
                    None => true,
                    Some((_, CheckResult::NotLinearizable { .. })) => false,
                    Some((old, _)) => {
                        ops >= *old || matches!(result, CheckResult::NotLinearizable { .. })
                    }
                };
                if replace {
                    self.check.verdict = Some((ops, result));
                }
            }
            Notice::Nemesis(n) => self.nemesis = n,
            Notice::Feed { at, text } => {
                self.push_feed(FeedLine::text(at, 0, Category::Fault, text));
            }
            Notice::Status(text) => self.status_line = text,
        }
    }

    /// The highest node id: the bound that keys and the prompt accept (the cluster refuses an
    /// id in a gap left by a removed node, with a clear error).
    pub fn max_id(&self) -> usize {
        self.ids
            .iter()
            .copied()
            .max()
            .unwrap_or(self.nodes as NodeId) as usize
    }

    /// Where node `id` sits on the ring: its place among the ids, from 1.
    pub fn ring_slot(&self, id: NodeId) -> NodeId {
        self.ids
            .iter()
            .position(|i| *i == id)
            .map_or(id, |p| p as NodeId + 1)
    }

    /// The selected node's status, if known.
    pub fn selected_status(&self) -> Option<&crate::cluster::NodeState> {
        self.view
            .as_ref()?
            .status
            .nodes
            .iter()
            .find(|n| n.id == self.selected)
    }

    /// Whether `panel` has something to show: the narration only while a scenario runs.
    pub fn has_panel(&self, panel: Panel) -> bool {
        panel != Panel::Narration || self.narration.is_some() || self.challenge.is_some()
    }

    /// The panels of the bottom row, left to right: events, narration (while a scenario runs),
    /// and the state machine / messages in flight.
    pub fn bottom_panels(&self) -> Vec<Panel> {
        [Panel::Events, Panel::Narration, Panel::Side]
            .into_iter()
            .filter(|p| self.has_panel(*p))
            .collect()
    }

    /// What `b` switches between when `slots` bottom panels fit side by side: every bottom panel
    /// on one slot; with more slots, the events stay on the left and `b` switches the other
    /// slot; nothing when every bottom panel shows.
    pub fn bottom_choices(&self, slots: usize) -> Vec<Panel> {
        let panels = self.bottom_panels();
        match slots {
            _ if slots >= panels.len() => Vec::new(),
            0 | 1 => panels,
            _ => panels.into_iter().skip(slots - 1).collect(),
        }
    }

    /// The bottom panel `b` chose, or the default for `slots`: the messages in flight while
    /// one is selected, else narration while a scenario runs, else the events.
    pub fn bottom_choice(&self, slots: usize) -> Option<Panel> {
        let choices = self.bottom_choices(slots);
        if let Some(p) = self.bottom.filter(|p| choices.contains(p)) {
            return Some(p);
        }
        [Panel::Side, Panel::Narration, Panel::Events]
            .into_iter()
            .find(|p| {
                choices.contains(p)
                    && match p {
                        Panel::Side => self.message.is_some(),
                        _ => true,
                    }
            })
    }

    /// The bottom row's panels for `slots` side by side, left to right.
    pub fn bottom_shown(&self, slots: usize) -> Vec<Panel> {
        let panels = self.bottom_panels();
        match self.bottom_choice(slots) {
            None => panels,
            Some(chosen) => {
                let fixed = slots.saturating_sub(1);
                panels
                    .into_iter()
                    .enumerate()
                    .filter(|(i, p)| *i < fixed || *p == chosen)
                    .map(|(_, p)| p)
                    .collect()
            }
        }
    }

    /// Which key table is in force.
    pub fn mode(&self) -> Mode {
        match self.focus {
            Focus::Main if self.replay.is_some() => Mode::Replay,
            Focus::Main if self.feed_cursor.focused => Mode::Feed,
            Focus::Main if self.narration.as_ref().is_some_and(|n| n.waiting_for_user) => {
                Mode::Stop
            }
            Focus::Main => Mode::Main,
            Focus::Prompt => Mode::Prompt,
            Focus::Help => Mode::Help,
            Focus::Detail => Mode::Detail,
            Focus::History => Mode::History,
        }
    }

    /// Handles a key press with the table of the mode in force; returns the effects for the
    /// cluster.
    pub fn on_key(&mut self, key: KeyEvent) -> Vec<Effect> {
        self.dirty = true;
        let mode = self.mode();
        match action_for(mode, &key, self.max_id()) {
            Some(action) => self.update(action),
            None => Vec::new(),
        }
    }

    /// Takes a paste (the terminal's bracketed paste: the whole text in one event). A paste is
    /// text for the prompt, never keys, and never runs by itself: at the open prompt it goes in
    /// at the cursor (the end of the line); anywhere else it opens the prompt with it, so a
    /// command pasted from notes waits there for Enter (Esc drops it). It becomes one line, at
    /// most [`PROMPT_MAX`] bytes; what it lost or changed is said under the prompt.
    pub fn on_paste(&mut self, text: &str) {
        self.dirty = true;
        if self.focus != Focus::Prompt {
            self.update(Action::OpenPrompt);
        }
        let fit = prompt::fit_paste(&self.prompt.input, text);
        self.prompt.input.push_str(&fit.text);
        self.prompt.completions.clear();
        self.prompt.history.reset_cursor();
        self.prompt.refused = 0;
        self.prompt.notice = fit.note();
    }

    /// The line changed: what the notice said about it is old news.
    fn clear_prompt_notice(&mut self) {
        self.prompt.notice = None;
        self.prompt.refused = 0;
    }

    /// Runs the line typed at the prompt.
    fn run_prompt(&mut self) -> Vec<Effect> {
        let line = std::mem::take(&mut self.prompt.input);
        self.prompt.completions.clear();
        self.clear_prompt_notice();
        self.prompt.history.reset_cursor();
        self.focus = Focus::Main;
        if line.trim().is_empty() {
            return Vec::new();
        }
        self.prompt.history.push(&line);
        match prompt::parse(&line, self.max_id()) {
            Ok(cmd) => return self.update(Action::Command(cmd)),
            Err(e) => {
                self.status_line = format!("error: {e}");
                self.prompt.error = Some((line, e));
            }
        }
        Vec::new()
    }

    /// Completes the word being typed at the prompt.
    fn complete_prompt(&mut self) {
        let options = prompt::complete(&self.prompt.input, self.max_id());
        // A completion never takes the line past the prompt's limit.
        let options: Vec<String> = options
            .into_iter()
            .filter(|o| o.len() <= PROMPT_MAX)
            .collect();
        if options.len() == 1 {
            self.prompt.input = options[0].clone();
            self.prompt.completions.clear();
        } else {
            // Complete the common prefix, show the rest.
            if let Some(common) = common_prefix(&options) {
                if common.len() > self.prompt.input.len() {
                    self.prompt.input = common;
                }
            }
            self.prompt.completions = options;
        }
    }

    /// Handles a mouse event: a click on a node in the ring selects it; the wheel over the
    /// event feed scrolls it.
    pub fn on_mouse(&mut self, ev: MouseEvent) -> Vec<Effect> {
        let over_feed = self.layout.feed.contains(ratatui::layout::Position {
            x: ev.column,
            y: ev.row,
        });
        if over_feed && self.focus == Focus::Main {
            let delta = match ev.kind {
                MouseEventKind::ScrollUp => -3,
                MouseEventKind::ScrollDown => 3,
                _ => 0,
            };
            if delta != 0 {
                self.dirty = true;
                self.scroll_feed(delta);
                return Vec::new();
            }
        }
        if ev.kind != MouseEventKind::Down(MouseButton::Left) || self.focus != Focus::Main {
            return Vec::new();
        }
        let area = self.layout.ring;
        let positions = super::view::ring::node_cells(area, &self.ids);
        let hit = positions.iter().min_by_key(|(_, x, y)| {
            let dx = i32::from(*x) - i32::from(ev.column);
            let dy = (i32::from(*y) - i32::from(ev.row)) * 2;
            dx * dx + dy * dy
        });
        if let Some((id, x, y)) = hit {
            let dx = i32::from(*x) - i32::from(ev.column);
            let dy = i32::from(*y) - i32::from(ev.row);
            if dx.abs() <= 4 && dy.abs() <= 1 {
                return self.update(Action::Select(*id));
            }
        }
        Vec::new()
    }

    /// Applies one action; returns the effects for the cluster.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        self.dirty = true;
        let read_only = self
            .replay
            .as_ref()
            .is_some_and(|r| r.recording().is_some());
        if read_only && !super::replay::allowed_in_replay(&action) {
            self.status_line = super::replay::READ_ONLY.to_string();
            return Vec::new();
        }
        let id = self.selected;
        let run = |c: PromptCommand| vec![Effect::Run(c)];
        match action {
            Action::Quit => {
                self.quit = true;
                Vec::new()
            }
            Action::NextStep => match &mut self.narration {
                Some(n) if n.waiting_for_user => {
                    n.waiting_for_user = false;
                    vec![Effect::AdvanceScenario]
                }
                _ => Vec::new(),
            },
            Action::ToggleHelp => {
                self.help_scroll = 0;
                self.focus = if self.focus == Focus::Help {
                    Focus::Main
                } else {
                    Focus::Help
                };
                Vec::new()
            }
            Action::Close => {
                // Esc leaves a zoom first; the message selection stays for the next Esc.
                if self.zoom.take().is_none() {
                    self.message = None;
                }
                self.focus = Focus::Main;
                // A feed scrolled back with the wheel follows again.
                self.feed_cursor = FeedCursor::default();
                Vec::new()
            }
            Action::Zoom => {
                let order: Vec<Panel> = Panel::ZOOM_ORDER
                    .into_iter()
                    .filter(|p| self.has_panel(*p))
                    .collect();
                self.zoom = match self.zoom.and_then(|z| order.iter().position(|p| *p == z)) {
                    None => order.first().copied(),
                    Some(i) => order.get(i + 1).copied(),
                };
                self.status_line = match self.zoom {
                    Some(p) => format!(
                        "zoom: {}. z zooms the next panel, Esc shows them all.",
                        self.panel_name(p)
                    ),
                    None => "zoom off: every panel shows.".into(),
                };
                Vec::new()
            }
            Action::CycleBottom => {
                let slots = usize::from(self.layout.bottom_slots);
                let choices = self.bottom_choices(slots);
                let now = self.bottom_choice(slots);
                let at = now.and_then(|n| choices.iter().position(|p| *p == n));
                match at {
                    Some(i) if !choices.is_empty() => {
                        let next = choices[(i + 1) % choices.len()];
                        self.bottom = Some(next);
                        let names: Vec<&str> =
                            choices.iter().map(|p| self.panel_name(*p)).collect();
                        self.status_line = format!(
                            "bottom panel: {} (b switches: {}).",
                            self.panel_name(next),
                            names.join(" · ")
                        );
                    }
                    _ => {
                        self.status_line = "every bottom panel shows already; b switches them \
                                            on a narrower screen."
                            .into();
                    }
                }
                Vec::new()
            }
            Action::Select(n) => {
                if self.ids.contains(&n) {
                    self.selected = n;
                }
                Vec::new()
            }
            Action::SelectNext | Action::SelectPrev => {
                let len = self.ids.len().max(1);
                let at = self
                    .ids
                    .iter()
                    .position(|i| *i == self.selected)
                    .unwrap_or(0);
                let next = if action == Action::SelectNext {
                    (at + 1) % len
                } else {
                    (at + len - 1) % len
                };
                self.selected = self.ids.get(next).copied().unwrap_or(1);
                Vec::new()
            }
            Action::ToggleDetail => {
                self.focus = if self.focus == Focus::Detail {
                    Focus::Main
                } else {
                    Focus::Detail
                };
                Vec::new()
            }
            Action::Kill => run(PromptCommand::Kill(id)),
            Action::Restart => run(PromptCommand::Restart(id)),
            Action::Isolate => run(PromptCommand::Isolate(id)),
            Action::CycleSlow => {
                let now = self
                    .selected_status()
                    .map_or(0, |n| n.slow.as_millis() as u64);
                let i = SLOW_STEPS.iter().position(|d| *d == now).unwrap_or(0);
                let next = SLOW_STEPS[(i + 1) % SLOW_STEPS.len()];
                run(PromptCommand::Slow {
                    node: id,
                    delay: Duration::from_millis(next),
                })
            }
            Action::CycleClock => {
                let now = self.selected_status().map_or(1.0, |n| n.clock_rate);
                let i = CLOCK_STEPS
                    .iter()
                    .position(|r| (r - now).abs() < 1e-9)
                    .unwrap_or(0);
                let next = CLOCK_STEPS[(i + 1) % CLOCK_STEPS.len()];
                run(PromptCommand::Clock {
                    node: id,
                    rate: next,
                })
            }
            Action::TimeoutNow => run(PromptCommand::Campaign(id)),
            Action::Snapshot => run(PromptCommand::Snapshot(id)),
            Action::AlignTimers => vec![Effect::AlignTimers],
            Action::SpreadTimers => vec![Effect::SpreadTimers],
            Action::Heal => run(PromptCommand::Heal),
            Action::PauseResume => {
                let paused = self.view.as_ref().is_some_and(|v| v.status.paused);
                run(if paused {
                    PromptCommand::Resume
                } else {
                    PromptCommand::Pause
                })
            }
            Action::Step => run(PromptCommand::Step),
            Action::Faster | Action::Slower => {
                let speed = self.view.as_ref().map_or(1.0, |v| v.status.speed);
                let next = if action == Action::Faster {
                    speed / 1.5
                } else {
                    speed * 1.5
                };
                run(PromptCommand::Speed(next))
            }
            Action::RandomWrite => run(PromptCommand::Write),
            Action::OpenPrompt => {
                self.focus = Focus::Prompt;
                self.prompt.input.clear();
                self.prompt.completions.clear();
                self.clear_prompt_notice();
                Vec::new()
            }
            Action::NextMessage | Action::PrevMessage => {
                let n = self.view.as_ref().map_or(0, |v| v.in_flight.len());
                if n == 0 {
                    self.message = None;
                    self.status_line =
                        "no message in flight (pause with space to catch some)".into();
                } else {
                    self.message = Some(match (self.message, action == Action::NextMessage) {
                        (None, true) => 0,
                        (None, false) => n - 1,
                        (Some(i), true) => (i + 1) % n,
                        (Some(i), false) => (i + n - 1) % n,
                    });
                    // A small screen shows the message selected rather than the events.
                    self.bottom = Some(Panel::Side);
                }
                Vec::new()
            }
            Action::DropMessage | Action::DuplicateMessage | Action::DeliverMessage => {
                let Some(msg) = self.selected_message() else {
                    self.status_line =
                        "select a message in flight first (n / N; pause with space)".into();
                    return Vec::new();
                };
                let cmd = match action {
                    Action::DropMessage => PromptCommand::DropMessage(msg),
                    Action::DuplicateMessage => PromptCommand::DupMessage(msg),
                    _ => PromptCommand::DeliverMessage(msg),
                };
                run(cmd)
            }
            Action::LogBack => {
                let page = self.layout.log_cells.max(8) / 2;
                let highest = self.highest_index();
                let end = self.log_end.unwrap_or(highest);
                self.log_end = Some(
                    end.saturating_sub(page)
                        .max(self.layout.log_cells.min(highest)),
                );
                Vec::new()
            }
            Action::LogForward => {
                let page = self.layout.log_cells.max(8) / 2;
                if let Some(end) = self.log_end {
                    let next = end + page;
                    self.log_end = (next < self.highest_index()).then_some(next);
                }
                Vec::new()
            }
            Action::LogTail => {
                self.log_end = None;
                Vec::new()
            }
            Action::CycleFeedKind => {
                self.feed_kind = self.feed_kind.next();
                Vec::new()
            }
            Action::ToggleFeedNode => {
                self.feed_node_only = !self.feed_node_only;
                Vec::new()
            }
            Action::FocusFeed => {
                self.feed_cursor.focused = true;
                self.status_line =
                    "event feed: ↑↓ select, Enter shows one in full, PgUp PgDn scroll, Esc leaves"
                        .into();
                Vec::new()
            }
            Action::FeedOlder | Action::FeedNewer => {
                self.select_feed(action == Action::FeedOlder);
                Vec::new()
            }
            Action::FeedPageBack | Action::FeedPageForward => {
                let page = self.layout.feed_rows.saturating_sub(1).max(1) as isize;
                self.scroll_feed(if action == Action::FeedPageBack {
                    -page
                } else {
                    page
                });
                Vec::new()
            }
            Action::FeedOldest => {
                let first = self.visible_feed_seq().next().map(|(s, _)| s);
                self.feed_cursor.selected = first;
                self.scroll_feed(isize::MIN / 2);
                Vec::new()
            }
            Action::FeedFollow => {
                self.feed_cursor = FeedCursor {
                    focused: self.feed_cursor.focused,
                    ..FeedCursor::default()
                };
                Vec::new()
            }
            Action::FeedOpen => {
                self.open_feed();
                Vec::new()
            }
            Action::FeedLeave => {
                if self.feed_cursor.open.is_some() {
                    self.feed_cursor.open = None;
                } else {
                    self.feed_cursor = FeedCursor::default();
                }
                Vec::new()
            }
            Action::Nemesis => run(if self.nemesis.is_some() {
                PromptCommand::NemesisStop
            } else {
                PromptCommand::Nemesis(NEMESIS_DEFAULT)
            }),
            Action::NextHint => {
                self.next_hint();
                Vec::new()
            }
            Action::ToggleHistory => {
                self.help_scroll = 0;
                self.focus = if self.focus == Focus::History {
                    Focus::Main
                } else {
                    Focus::History
                };
                Vec::new()
            }
            Action::CloseOverlay => {
                self.focus = Focus::Main;
                Vec::new()
            }
            Action::Scroll(lines) => {
                self.help_scroll = if lines < 0 {
                    self.help_scroll.saturating_sub(lines.unsigned_abs())
                } else {
                    self.help_scroll
                        .saturating_add(lines.unsigned_abs())
                        .min(self.layout.max_scroll)
                };
                Vec::new()
            }
            Action::ScrollTop => {
                self.help_scroll = 0;
                Vec::new()
            }
            Action::PromptRun => self.run_prompt(),
            Action::PromptComplete => {
                self.complete_prompt();
                Vec::new()
            }
            Action::PromptHistoryBack => {
                if let Some(line) = self.prompt.history.prev(&self.prompt.input) {
                    self.prompt.input = line.to_string();
                    self.clear_prompt_notice();
                }
                Vec::new()
            }
            Action::PromptHistoryForward => {
                if let Some(line) = self.prompt.history.next() {
                    self.prompt.input = line.to_string();
                    self.clear_prompt_notice();
                }
                Vec::new()
            }
            Action::PromptDelete => {
                self.prompt.input.pop();
                self.prompt.completions.clear();
                self.clear_prompt_notice();
                Vec::new()
            }
            Action::PromptCancel => {
                self.focus = Focus::Main;
                self.prompt.input.clear();
                self.prompt.completions.clear();
                self.clear_prompt_notice();
                self.prompt.history.reset_cursor();
                Vec::new()
            }
            Action::PromptType(c) => {
                if self.prompt.input.len() + c.len_utf8() > PROMPT_MAX {
                    // Count the keys refused since the line filled up (a paste in a terminal
                    // without bracketed paste arrives as keys).
                    self.prompt.refused += 1;
                    let n = self.prompt.refused;
                    self.prompt.notice = Some(format!(
                        "the prompt is full ({} bytes): {} key{} not typed",
                        crate::observe::format::thousands(PROMPT_MAX as u64),
                        crate::observe::format::thousands(n as u64),
                        if n == 1 { " was" } else { "s were" }
                    ));
                } else {
                    self.prompt.input.push(c);
                    self.clear_prompt_notice();
                }
                self.prompt.completions.clear();
                Vec::new()
            }
            Action::Replay(action) => {
                self.replay_update(action);
                Vec::new()
            }
            Action::Command(cmd) => match cmd {
                PromptCommand::Help => {
                    self.help_scroll = 0;
                    self.focus = Focus::Help;
                    Vec::new()
                }
                PromptCommand::Quit => {
                    self.quit = true;
                    Vec::new()
                }
                PromptCommand::History => {
                    self.help_scroll = 0;
                    self.focus = Focus::History;
                    Vec::new()
                }
                PromptCommand::Challenge(name) => self.challenge_command(name),
                PromptCommand::Hint => {
                    self.next_hint();
                    Vec::new()
                }
                other => run(other),
            },
        }
    }

    /// `:challenge [NAME]`: the list, or the effect that starts NAME (not during a scenario or
    /// a replay).
    fn challenge_command(&mut self, name: Option<String>) -> Vec<Effect> {
        let names = || {
            crate::scenario::challenge::BUILTIN
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        match name {
            _ if self.replay.is_some() => {
                self.status_line = "error: challenge: not in a replay or the lab".into();
            }
            _ if self.narration.is_some() => {
                self.status_line = "error: challenge: a scenario is running".into();
            }
            None => self.status_line = format!("challenges: {} (:challenge NAME)", names()),
            Some(n)
                if crate::scenario::challenge::BUILTIN
                    .iter()
                    .any(|(b, _)| *b == n) =>
            {
                return vec![Effect::StartChallenge(n)];
            }
            Some(n) => {
                self.status_line = format!("error: challenge: no challenge {n:?}: {}", names());
            }
        }
        Vec::new()
    }

    /// `H` or `:hint`: the running challenge's next hint.
    pub fn next_hint(&mut self) {
        self.status_line = match &mut self.challenge {
            Some(c) => c.next_hint(),
            None => "no challenge is running (:challenge NAME starts one)".into(),
        };
    }

    /// Takes a report of the challenge watcher of `generation` (older watchers' are ignored).
    pub fn apply_challenge_report(
        &mut self,
        generation: u64,
        report: crate::scenario::challenge::ChallengeReport,
    ) {
        if let Some(c) = &mut self.challenge {
            if c.generation == generation {
                if let crate::scenario::challenge::ChallengeReport::Solved(_) = &report {
                    self.status_line = format!("✓ challenge {} solved", c.name);
                }
                c.apply(report);
                self.dirty = true;
            }
        }
    }

    /// How the screen names `panel` (the side panel by what it shows now).
    pub fn panel_name(&self, panel: Panel) -> &'static str {
        match panel {
            Panel::Ring => "ring",
            Panel::Nodes => "node table",
            Panel::Logs => "logs",
            Panel::Events => "events",
            Panel::Narration if self.narration.is_none() && self.challenge.is_some() => "challenge",
            Panel::Narration => "narration",
            Panel::Side if super::view::side::shows_in_flight(self) => "messages in flight",
            Panel::Side => "state machine",
        }
    }

    /// Id of the selected message in flight.
    pub fn selected_message(&self) -> Option<u64> {
        let view = self.view.as_ref()?;
        view.in_flight.get(self.message?).map(|m| m.id)
    }

    fn highest_index(&self) -> u64 {
        self.view.as_ref().map_or(0, |v| {
            v.status
                .nodes
                .iter()
                .map(|n| n.status.last_log_index)
                .max()
                .unwrap_or(0)
        })
    }

    /// The leader of the highest term among running nodes.
    pub fn leader(&self) -> Option<NodeId> {
        self.view.as_ref()?.status.leader()
    }
}

fn common_prefix(options: &[String]) -> Option<String> {
    let first = options.first()?;
    let mut len = first.len();
    for o in &options[1..] {
        len = len.min(
            first
                .chars()
                .zip(o.chars())
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| a.len_utf8())
                .sum(),
        );
    }
    Some(first[..len].to_string())
}
