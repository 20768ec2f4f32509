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
//! The bottom row holds as many of its panels (events, narration while a scenario runs, state
//! machine / messages in flight) as fit side by side ([`bottom_slots`]: one below 100 columns,
//! two below 180, else three); `b` switches the one slot that changes
//! ([`AppState::bottom_shown`]), and that panel's bottom border names the next. A scenario on
//! the dashboard (`raftlab scenario NAME`) puts its narration ([`narration`]) where the state
//! machine and messages panel is, until `b`; a challenge (`raftlab challenge NAME`, `:challenge
//! NAME`) puts its panel ([`challenge`]) in that same place.
//!
//! `z` zooms one panel ([`AppState::zoom`]) to everything between the header and the footer.
//!
//! In a replay (`raftlab replay`), the footer's key row is the time slider ([`timeline`]), and a
//! recording with narration (a scenario's) gets one more row above the footer for it.
//!
//! The view never writes into the state: where it put things (the ring, how many log cells fit,
//! how far the overlay can scroll) goes into a [`ViewLayout`] it is handed `&mut`, the way a
//! ratatui `StatefulWidget` writes its state. [`draw`] keeps that layout in the state for the key
//! and mouse handlers.
//!
//! Below [`COMPACT_HEIGHT`] rows the panels share their borders (joined `├ ┤ ┴`), so 80×24
//! keeps the ring, table, logs, five rows of the bottom panel and the footer; overlays (help,
//! node detail, history and verdict) draw over everything.

pub mod challenge;
pub mod detail;
pub mod faults;
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

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Direction, Layout, Rect};
use ratatui::Frame;

use super::app::{AppState, Focus, Panel};

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
    /// How many bottom panels fit side by side (what `b` switches between depends on it).
    pub bottom_slots: u8,
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
            bottom_slots: 2,
            feed: Rect::default(),
            feed_rows: 0,
            feed_top: None,
        }
    }
}

/// Below this height the panels share their borders (a row each) so the bottom panel keeps a
/// useful height: 80×24 shows five rows of events.
pub const COMPACT_HEIGHT: u16 = 30;

/// How many bottom panels fit side by side on a screen `width` columns wide.
pub fn bottom_slots(width: u16) -> usize {
    match width {
        0..100 => 1,
        100..180 => 2,
        _ => 3,
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
    let slots = bottom_slots(area.width);
    layout.bottom_slots = slots as u8;
    let nodes = state.nodes as u16;
    let footer_h = footer::height(state)
        + u16::from(footer::pending_row(state, area.width).is_some())
        + footer::extra_status_rows(state, area.width);
    let narration_h = u16::from(
        state
            .replay
            .as_ref()
            .and_then(|r| r.recording())
            .is_some_and(|r| r.has_narration()),
    );
    if let Some(panel) = state.zoom.filter(|p| state.has_panel(*p)) {
        // One panel between the header and the footer, for a projector.
        let rows = Layout::default()
            .direction(Direction::Vertical)
            .constraints([
                Constraint::Length(1),
                Constraint::Min(3),
                Constraint::Length(narration_h),
                Constraint::Length(footer_h),
            ])
            .split(area);
        header::render(state, frame, rows[0]);
        draw_panel(state, layout, frame, panel, rows[1]);
        let next = Panel::ZOOM_ORDER
            .into_iter()
            .filter(|p| state.has_panel(*p))
            .skip_while(|p| *p != panel)
            .nth(1);
        let hint = match next {
            Some(p) => format!(" z: zoom {} · Esc: every panel ", state.panel_name(p)),
            None => " z or Esc: every panel ".to_string(),
        };
        border_hint(frame.buffer_mut(), rows[1], &hint);
        if narration_h > 0 {
            timeline::narration(state, frame, rows[2]);
        }
        footer::footer(state, frame, rows[3]);
        overlays(state, layout, frame, area);
        return;
    }
    // Small screens: the panels share their borders, a row each.
    let overlap = u16::from(area.height < COMPACT_HEIGHT);
    // The ring wants height; the table needs a row per node.
    let top_h = if overlap > 0 {
        (nodes + 4).max(9)
    } else {
        (area.height * 2 / 5).clamp((nodes + 3).max(8), 18)
    }
    .min(area.height / 2);
    let logs_h = (nodes + 3).min(
        area.height
            .saturating_sub(1 + top_h + footer_h + narration_h + 3)
            + overlap,
    );
    let rows = Layout::default()
        .direction(Direction::Vertical)
        .constraints([
            Constraint::Length(1),
            Constraint::Length(top_h - overlap),
            Constraint::Length(logs_h.saturating_sub(overlap)),
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
    let top_area = Rect {
        height: rows[1].height + overlap,
        ..rows[1]
    };
    let top = Layout::default()
        .direction(Direction::Horizontal)
        .constraints([Constraint::Length(ring_w), Constraint::Min(20)])
        .split(top_area);
    ring::render(state, layout, frame, top[0]);
    table::render(state, frame, top[1]);
    let logs_area = Rect {
        height: rows[2].height + overlap,
        ..rows[2]
    };
    logs::render(state, layout, frame, logs_area);

    // The bottom row: as many of events, narration and state machine / in flight as fit side
    // by side; `b` switches the one slot that changes.
    let bottom = rows[3];
    let shown = state.bottom_shown(slots);
    let constraints: Vec<Constraint> = match shown.as_slice() {
        [_] => vec![Constraint::Percentage(100)],
        [_, Panel::Side] => vec![Constraint::Percentage(60), Constraint::Percentage(40)],
        [_, _] => vec![Constraint::Percentage(50), Constraint::Percentage(50)],
        _ => vec![Constraint::Ratio(1, shown.len() as u32); shown.len()],
    };
    let cols = Layout::default()
        .direction(Direction::Horizontal)
        .constraints(constraints)
        .split(bottom);
    let choice = state.bottom_choice(slots);
    let choices = state.bottom_choices(slots);
    for (panel, col) in shown.iter().zip(cols.iter()) {
        draw_panel(state, layout, frame, *panel, *col);
        if Some(*panel) == choice {
            let at = choices.iter().position(|p| p == panel).unwrap_or(0);
            let next = choices[(at + 1) % choices.len()];
            let hint = format!(" b: switch to {} ", state.panel_name(next));
            border_hint(frame.buffer_mut(), *col, &hint);
        }
    }
    if overlap > 0 {
        join_borders(frame.buffer_mut(), rows[2].y, area);
        join_borders(frame.buffer_mut(), rows[3].y, area);
    }
    if narration_h > 0 {
        timeline::narration(state, frame, rows[4]);
    }
    footer::footer(state, frame, rows[5]);
    overlays(state, layout, frame, area);
}

/// Draws one panel of the main screen into `area`.
fn draw_panel(
    state: &AppState,
    layout: &mut ViewLayout,
    frame: &mut Frame,
    panel: Panel,
    area: Rect,
) {
    match panel {
        Panel::Ring => ring::render(state, layout, frame, area),
        Panel::Nodes => table::render(state, frame, area),
        Panel::Logs => logs::render(state, layout, frame, area),
        Panel::Events => feed::feed(state, layout, frame, area),
        Panel::Narration => {
            if let Some(n) = &state.narration {
                narration::render(n, state.theme, frame, area);
            } else if let Some(c) = &state.challenge {
                challenge::render(c, state.theme, frame, area);
            }
        }
        Panel::Side => side::side(state, frame, area),
    }
}

/// The overlay on top, if any (help, node detail, history).
fn overlays(state: &AppState, layout: &mut ViewLayout, frame: &mut Frame, area: Rect) {
    match state.focus {
        Focus::Help => help::help(state, layout, frame, centered(area, 96, 96)),
        Focus::Detail => detail::detail(state, frame, centered(area, 80, 80)),
        Focus::History => verdict::overlay(state, layout, frame, centered(area, 96, 90)),
        Focus::Main | Focus::Prompt => {}
    }
}

/// Writes `hint` into the bottom border of the panel drawn in `area`, right-aligned (the
/// panels' own titles are on their top border): which key switches or zooms it. Shortened by
/// whole words when the border is short.
fn border_hint(buf: &mut Buffer, area: Rect, hint: &str) {
    if area.height < 2 || area.width < 6 {
        return;
    }
    let room = area.width as usize - 4;
    let text = wrap::clip_words(hint, room);
    let w = wrap::width(&text) as u16;
    if w == 0 {
        return;
    }
    let x = area.right() - 2 - w;
    buf.set_stringn(x, area.bottom() - 1, &text, room, style::dim());
}

/// Where two panels share the border row `y` (the upper panel's bottom, the lower one's top),
/// the corners and lines become the joints that draw them as one frame: `├ ┤ ┴ ┬ ┼`.
fn join_borders(buf: &mut Buffer, y: u16, area: Rect) {
    if y == area.y || y + 1 >= area.bottom() {
        return;
    }
    let sym =
        |buf: &Buffer, x: u16, y: u16| buf.cell((x, y)).map_or("", |c| c.symbol()).to_string();
    for x in area.x..area.right() {
        let here = sym(buf, x, y);
        let up = matches!(
            sym(buf, x, y - 1).as_str(),
            "│" | "├" | "┤" | "┼" | "┬" | "┌" | "┐"
        );
        let down = matches!(
            sym(buf, x, y + 1).as_str(),
            "│" | "├" | "┤" | "┼" | "┴" | "└" | "┘"
        );
        let joint = match (here.as_str(), up, down) {
            ("─", true, true) => "┼",
            ("─", true, false) => "┴",
            ("─", false, true) => "┬",
            ("┌" | "└", true, true) => "├",
            ("┐" | "┘", true, true) => "┤",
            _ => continue,
        };
        if let Some(cell) = buf.cell_mut((x, y)) {
            cell.set_symbol(joint);
        }
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
