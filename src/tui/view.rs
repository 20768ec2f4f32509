//! `view(&AppState, &mut Frame)`: draws the whole screen from the state alone.
//!
//! ```text
//! ┌ header: size · leader · term · commit · preset · speed · running/paused · ? help ───────┐
//! ├ ring of nodes (Canvas) ─────────┬ node table ──────────────────────────────────────────┤
//! │   (2)         (3)               │ id role term vote last commit applied timer match/next│
//! │ (1)    ·→        (4)            │                                                       │
//! │        (5)                      │                                                       │
//! ├ logs: one row per node, one cell per index ─────────────────────────────────────────────┤
//! ├ events (filterable) ────────────┬ state machine / messages in flight ───────────────────┤
//! └ footer: status line · keys ··· nemesis 12 s left · ops 1,234 · linearizable ✓ ───────────┘
//! ```
//!
//! A scenario on the dashboard (`raftlab scenario NAME`) puts its narration panel
//! ([`narration`]) where the state machine and messages panel is.
//!
//! In a replay (`raftlab replay`), the footer's key row is the time slider ([`timeline`]), and a
//! recording with narration (a scenario's) gets one more row above the footer for it.
//!
//! The view never writes into the state: where it put things (the ring, how many log cells fit,
//! how far the overlay can scroll) goes into a [`ViewLayout`] it is handed `&mut`, the way a
//! ratatui `StatefulWidget` writes its state. [`draw`] keeps that layout in the state for the key
//! and mouse handlers.
//!
//! Panels shrink or drop out on small terminals (80×24 keeps the ring, table, logs, a few
//! events and the footer); overlays (help, node detail, history and verdict) draw over
//! everything.

pub mod detail;
pub mod feed;
pub mod footer;
pub mod header;
pub mod help;
pub mod logs;
pub mod narration;
pub mod ring;
pub mod side;
pub mod style;
pub mod table;
pub mod timeline;
pub mod verdict;
pub mod wrap;

use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::Frame;

use super::app::{AppState, Focus};

/// Where the last frame put things: what the key and mouse handlers need to know of the screen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewLayout {
    /// Where the ring was drawn (mouse clicks select the node under them).
    pub ring: Rect,
    /// How many log cells fit in a row of the logs panel (the poller fetches that many; PgUp
    /// and PgDn move by half of it).
    pub log_cells: u64,
    /// The largest useful scroll of the overlay drawn last (help, history).
    pub max_scroll: u16,
    /// Where the event feed was drawn (the mouse wheel over it scrolls it).
    pub feed: Rect,
    /// How many rows of lines the feed showed (a page for PgUp and PgDn).
    pub feed_rows: u16,
    /// The oldest feed line shown whole (its sequence number): ↑ past it scrolls back.
    pub feed_top: Option<u64>,
}

impl Default for ViewLayout {
    fn default() -> Self {
        ViewLayout {
            ring: Rect::default(),
            log_cells: 64,
            max_scroll: u16::MAX,
            feed: Rect::default(),
            feed_rows: 0,
            feed_top: None,
        }
    }
}

/// Draws the whole screen and keeps its layout in the state, for the next keys and clicks.
pub fn draw(state: &mut AppState, frame: &mut Frame) {
    let mut layout = state.layout;
    view(state, &mut layout, frame);
    state.layout = layout;
}

/// Draws the whole screen from `state`, writing where things went into `layout` (what a
/// panel that is not drawn, on a screen too small, leaves as it was).
pub fn view(state: &AppState, layout: &mut ViewLayout, frame: &mut Frame) {
    let area = frame.area();
    if area.width < 40 || area.height < 12 {
        too_small(state, frame, area);
        return;
    }
    let nodes = state.nodes as u16;
    let footer_h = if footer::prompt_error(state).is_some() {
        4
    } else if state.focus == Focus::Prompt && !state.prompt.completions.is_empty() {
        3
    } else {
        2
    };
    let narration_h = u16::from(
        state
            .replay
            .as_ref()
            .is_some_and(|r| r.recording.has_narration()),
    );
    // The ring wants height; the table needs a row per node.
    let top_h = (area.height * 2 / 5)
        .clamp((nodes + 3).max(8), 18)
        .min(area.height / 2);
    let logs_h = (nodes + 3).min(
        area.height
            .saturating_sub(1 + top_h + footer_h + narration_h + 3),
    );
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(top_h),
            Constraint::Length(logs_h),
            Constraint::Min(3),
            Constraint::Length(narration_h),
            Constraint::Length(footer_h),
        ])
        .split(area);
    header::render(state, frame, rows[0]);

    let ring_w = if area.width >= 120 {
        (area.width / 3).clamp(44, 70)
    } else {
        34
    }
    .min(area.width / 2);
    let top = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(ring_w), Constraint::Min(20)])
        .split(rows[1]);
    ring::render(state, layout, frame, top[0]);
    table::render(state, frame, top[1]);
    logs::render(state, layout, frame, rows[2]);

    let bottom = rows[3];
    if let Some(n) = &state.narration {
        // A scenario: its narration takes the place of the side panel (or of the feed when
        // narrow).
        if area.width >= 100 {
            let cols = Layout::default()
                .direction(Direction::Horizontal)
                .constraints([Constraint::Percentage(50), Constraint::Percentage(50)])
                .split(bottom);
            feed::feed(state, layout, frame, cols[0]);
            narration::render(n, state.theme, frame, cols[1]);
        } else {
            narration::render(n, state.theme, frame, bottom);
        }
    } else if area.width >= 100 {
        let cols = Layout::default()
            .direction(Direction::Horizontal)
            .constraints([Constraint::Percentage(60), Constraint::Percentage(40)])
            .split(bottom);
        feed::feed(state, layout, frame, cols[0]);
        side::side(state, frame, cols[1]);
    } else if state.message.is_some() {
        side::side(state, frame, bottom);
    } else {
        feed::feed(state, layout, frame, bottom);
    }
    if narration_h > 0 {
        timeline::narration(state, frame, rows[4]);
    }
    footer::footer(state, frame, rows[5]);

    match state.focus {
        Focus::Help => help::help(state, layout, frame, centered(area, 96, 96)),
        Focus::Detail => detail::detail(state, frame, centered(area, 80, 80)),
        Focus::History => verdict::overlay(state, layout, frame, centered(area, 96, 90)),
        Focus::Main | Focus::Prompt => {}
    }
}

/// A rectangle of `pw`% × `ph`% of `area`, centred.
pub fn centered(area: Rect, pw: u16, ph: u16) -> Rect {
    let w = area.width * pw / 100;
    let h = area.height * ph / 100;
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

/// Shown when the terminal is too small for the layout.
pub fn too_small(state: &AppState, frame: &mut Frame, area: Rect) {
    let leader = state.leader().map_or("none".to_string(), |l| l.to_string());
    let text = format!(
        "raftlab needs at least 40×12 (this is {}×{}).\nleader: {leader}\nq quits",
        area.width, area.height
    );
    frame.render_widget(
        ratatui::widgets::Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true }),
        area,
    );
}
