//! The cluster as a ring of nodes (ratatui Canvas): each node's role, id, term and election
//! timer, with its faults beside it (`+300ms` slow, `2×` clock); the links between nodes, cut
//! ones marked ╳, lossy or delayed ones drawn apart and tagged (`✗59%` loss, `+200ms` delay);
//! messages in flight moving along them, one glyph per kind; recent drops marked ✗.

use std::time::Duration;

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::canvas::{Canvas, Line as CanvasLine};
use ratatui::widgets::{Block, Borders};
use ratatui::Frame;

use super::{faults, style, ViewLayout};
use crate::raft::{NodeId, Role};
use crate::tui::app::{AppState, Theme};

/// Canvas coordinates of node `id` (1-based) of `n`, on a circle; node 1 at the top.
pub fn position(id: NodeId, n: usize) -> (f64, f64) {
    if n <= 1 {
        return (50.0, 50.0);
    }
    let angle =
        std::f64::consts::FRAC_PI_2 - 2.0 * std::f64::consts::PI * (id as f64 - 1.0) / n as f64;
    (50.0 + 36.0 * angle.cos(), 50.0 + 36.0 * angle.sin())
}

/// The terminal cell (column, row) at the centre of each node's label, for mouse clicks.
pub fn node_cells(area: Rect, ids: &[NodeId]) -> Vec<(NodeId, u16, u16)> {
    let n = ids.len();
    let inner = Rect {
        x: area.x + 1,
        y: area.y + 1,
        width: area.width.saturating_sub(2),
        height: area.height.saturating_sub(2),
    };
    ids.iter()
        .enumerate()
        .map(|(slot, id)| {
            let id = *id;
            let (x, y) = position(slot as NodeId + 1, n);
            let col = inner.x + ((x / 100.0) * f64::from(inner.width.saturating_sub(1))) as u16;
            let row = inner.y
                + (((100.0 - y) / 100.0) * f64::from(inner.height.saturating_sub(1))) as u16;
            (id, col, row)
        })
        .collect()
}

/// The election timer as a draining bar: full when just reset, empty when it fires.
pub fn timer_bar(elapsed: u32, timeout: u32, width: usize) -> String {
    let timeout = timeout.max(1);
    let left = timeout.saturating_sub(elapsed).min(timeout);
    let filled = (left as usize * width).div_ceil(timeout as usize);
    let filled = filled.min(width);
    format!("{}{}", "▮".repeat(filled), "▯".repeat(width - filled))
}

/// Draws the ring.
pub fn render(state: &AppState, layout: &mut ViewLayout, frame: &mut Frame, area: Rect) {
    layout.ring = area;
    let block = Block::default().borders(Borders::ALL).title(" cluster ");
    let Some(view) = &state.view else {
        frame.render_widget(block, area);
        return;
    };
    let n = state.ids.len();
    // Nodes sit on the ring in id order, evenly spaced whatever their ids.
    let position = |id: NodeId, n: usize| position(state.ring_slot(id), n);
    let theme = state.theme;
    let now = view.at;
    let link_color = match theme {
        Theme::Color => Color::DarkGray,
        Theme::Mono => Color::Reset,
    };
    let marks = faults::link_marks(&view.links);
    let faulty = |a: NodeId, b: NodeId| {
        view.links
            .iter()
            .any(|l| (l.from, l.to) == (a, b) || (l.from, l.to) == (b, a))
    };
    // One character is about 100 / width canvas units.
    let unit = 100.0 / f64::from(area.width.saturating_sub(2).max(1));
    // Where text `w` characters wide starts so that it centres on `x`, inside the canvas.
    let start = |x: f64, w: usize| {
        (x - w as f64 / 2.0 * unit).clamp(0.0, (100.0 - w as f64 * unit).max(0.0))
    };
    let canvas = Canvas::default()
        .block(block)
        .marker(Marker::Braille)
        .x_bounds([0.0, 100.0])
        .y_bounds([0.0, 100.0])
        .paint(|ctx| {
            // Links: a line when both directions are up, a cut mark otherwise.
            for (i, &a) in state.ids.iter().enumerate() {
                for &b in &state.ids[i + 1..] {
                    let (x1, y1) = position(a, n);
                    let (x2, y2) = position(b, n);
                    let cut = view.status.cut_links.contains(&(a, b))
                        || view.status.cut_links.contains(&(b, a));
                    if cut {
                        ctx.print(
                            (x1 + x2) / 2.0,
                            (y1 + y2) / 2.0,
                            Span::styled("╳", style::alert(theme)),
                        );
                    } else {
                        let color = match (theme, faulty(a, b)) {
                            (Theme::Color, true) => Color::Yellow,
                            _ => link_color,
                        };
                        ctx.draw(&CanvasLine {
                            x1,
                            y1,
                            x2,
                            y2,
                            color,
                        });
                    }
                }
            }
            ctx.layer();
            // Links that lose or delay messages: a tag at the middle when both directions do
            // the same, else a third of the way from the sender.
            for m in &marks {
                let (x1, y1) = position(m.fault.from, n);
                let (x2, y2) = position(m.fault.to, n);
                let along = if m.both { 0.5 } else { 0.35 };
                let tag = faults::link_text(&m.fault, true);
                let tag = if m.both { tag } else { format!("{tag}→") };
                let w = tag.chars().count();
                ctx.print(
                    start(x1 + (x2 - x1) * along, w),
                    y1 + (y2 - y1) * along,
                    Span::styled(tag, faults::warn(theme)),
                );
            }
            // Messages in flight, moving from sender to receiver.
            for m in &view.in_flight {
                let (x1, y1) = position(m.from, n);
                let (x2, y2) = position(m.to, n);
                let span = m.due_at.saturating_sub(m.sent_at).as_secs_f64().max(1e-6);
                let done = (now.saturating_sub(m.sent_at).as_secs_f64() / span).clamp(0.1, 0.8);
                // Requests and replies of one link ride on either side of it.
                let side = if m.from < m.to { 2.5 } else { -2.5 };
                let (dx, dy) = (x2 - x1, y2 - y1);
                let len = (dx * dx + dy * dy).sqrt().max(1e-6);
                let (ox, oy) = (-dy / len * side, dx / len * side);
                let (glyph, st) = style::message_glyph(theme, m.kind);
                let selected = state.selected_message() == Some(m.id);
                let st = if selected { style::alert(theme) } else { st };
                ctx.print(
                    x1 + dx * done + ox,
                    y1 + dy * done + oy,
                    Span::styled(glyph, st),
                );
            }
            // Recent drops.
            for d in state
                .drops
                .iter()
                .filter(|d| now.saturating_sub(d.at) < Duration::from_secs(1))
            {
                let (x1, y1) = position(d.from, n);
                let (x2, y2) = position(d.to, n);
                ctx.print(
                    x1 + (x2 - x1) * 0.6,
                    y1 + (y2 - y1) * 0.6,
                    Span::styled("✗", style::alert(theme)),
                );
            }
            ctx.layer();
            // Nodes: role symbol, id, term; the timer under it.
            for node in &view.status.nodes {
                let (x, y) = position(node.id, n);
                let role = node.up.then_some(node.status.role);
                let (sym, _) = style::role_symbol(role);
                let mut label_style = style::role_style(theme, role);
                if node.id == state.selected {
                    label_style = label_style.add_modifier(ratatui::style::Modifier::REVERSED);
                }
                let label = format!("{sym}{} t{}", node.id, node.status.term);
                // Its faults beside it: `+300ms` (slow), `2×` (its clock's rate).
                let tags: String = faults::node_tags(node)
                    .iter()
                    .map(|t| format!(" {t}"))
                    .collect();
                let w = label.chars().count() + tags.chars().count();
                let mut spans = vec![Span::styled(label, label_style)];
                if !tags.is_empty() {
                    spans.push(Span::styled(tags, faults::warn(theme)));
                }
                ctx.print(start(x, w), y, Line::from(spans));
                let below = match (role, style::role_detail(&node.status)) {
                    (Some(_), Some(detail)) => detail,
                    (Some(Role::Leader), None) => "♥ leads".to_string(),
                    (Some(_), None) => timer_bar(
                        node.status.election_elapsed,
                        node.status.election_timeout,
                        6,
                    ),
                    (None, _) => "down".to_string(),
                };
                // One row is 100 / (rows - 1) canvas units; go a little more to land on the next.
                let unit_y = 100.0 / f64::from(area.height.saturating_sub(3).max(1)) * 1.1;
                ctx.print(
                    start(x, below.chars().count()),
                    y - unit_y,
                    Span::styled(
                        below,
                        Style::default().add_modifier(ratatui::style::Modifier::DIM),
                    ),
                );
            }
        });
    frame.render_widget(canvas, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_drains() {
        assert_eq!(timer_bar(0, 20, 6), "▮▮▮▮▮▮");
        assert_eq!(timer_bar(10, 20, 6), "▮▮▮▯▯▯");
        assert_eq!(timer_bar(20, 20, 6), "▯▯▯▯▯▯");
        assert_eq!(timer_bar(25, 20, 6), "▯▯▯▯▯▯");
        assert_eq!(timer_bar(19, 20, 6), "▮▯▯▯▯▯");
    }

    #[test]
    fn nodes_sit_on_a_circle_inside_the_canvas() {
        for n in 1..=9 {
            for id in 1..=n as NodeId {
                let (x, y) = position(id, n);
                assert!((10.0..=90.0).contains(&x) && (10.0..=90.0).contains(&y));
            }
        }
        assert_eq!(position(1, 5).0.round(), 50.0, "node 1 at the top");
    }
}
