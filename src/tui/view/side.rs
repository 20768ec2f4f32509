//! The right-hand panel: the messages in flight (with the selected one in full) when a message
//! is selected or the cluster is paused, else the state machine (with a diff when nodes
//! disagree).

use std::collections::{BTreeMap, BTreeSet};

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::style;
use crate::raft::NodeId;
use crate::tui::app::AppState;

/// The right-hand panel: the selected message when one is selected, else the messages in
/// flight when the cluster is paused, else the state machine.
pub fn side(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(view) = &state.view else {
        return;
    };
    if state.message.is_some() || (view.status.paused && !view.in_flight.is_empty()) {
        in_flight(state, frame, area);
    } else {
        state_machine(state, frame, area);
    }
}

fn in_flight(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(view) = &state.view else {
        return;
    };
    let keys = if state.replay.is_some() {
        "n/N select"
    } else {
        "n/N select · x drop · u dup · g deliver"
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" {} in flight ({keys}) ", view.in_flight.len()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    // The selected message in full (wrapped), then the list, one message per row.
    let selected = state.message;
    let mut top = 0u16;
    if let Some(m) = selected.and_then(|i| view.in_flight.get(i)) {
        let detail = Paragraph::new(vec![
            Line::from(Span::styled(
                format!("#{} {}", m.id, m.summary),
                style::strong(),
            )),
            Line::from(Span::styled(
                format!(
                    "sent {:.2}s, due {:.2}s ({} → {}, {})",
                    m.sent_at.as_secs_f64(),
                    m.due_at.as_secs_f64(),
                    m.from,
                    m.to,
                    m.kind.as_str()
                ),
                style::dim(),
            )),
        ])
        .wrap(Wrap { trim: false });
        top = (detail.line_count(inner.width) as u16).min(inner.height);
        frame.render_widget(
            detail,
            Rect {
                height: top,
                ..inner
            },
        );
    }
    let list_area = Rect {
        y: inner.y + top,
        height: inner.height - top,
        ..inner
    };
    let rows = list_area.height as usize;
    let skip = selected.unwrap_or(0).saturating_sub(rows / 2);
    let mut lines = Vec::new();
    for (i, m) in view.in_flight.iter().enumerate().skip(skip).take(rows) {
        let (glyph, st) = style::message_glyph(state.theme, m.kind);
        let mut line = Line::from(vec![
            Span::styled(format!("{glyph} "), st),
            Span::raw(format!("#{:<5} {}", m.id, m.summary)),
        ]);
        if Some(i) == selected {
            line =
                line.patch_style(ratatui::style::Style::default().add_modifier(Modifier::REVERSED));
        }
        lines.push(line);
    }
    frame.render_widget(Paragraph::new(lines), list_area);
}

/// The key-value contents as each node applied them; when nodes disagree, only the keys that
/// differ, with each node's value.
pub fn state_machine(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(view) = &state.view else {
        return;
    };
    let rows = area.height.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    let title;
    let mut contents = view.kv.values();
    let first = contents.next();
    let agree = contents.all(|c| Some(c) == first);
    if agree {
        let n = first.map_or(0, Vec::len);
        let keys = if n == 1 { "key" } else { "keys" };
        title = format!(" state machine: all nodes agree, {n} {keys} ");
        for (k, v) in first.into_iter().flatten().take(rows) {
            lines.push(Line::from(format!("{k} = {v}")));
        }
    } else {
        // Nodes that have applied less are simply behind; a difference between nodes that have
        // applied the same index would be a real divergence (State Machine Safety broken).
        let applied: BTreeMap<NodeId, u64> = view
            .status
            .nodes
            .iter()
            .map(|n| (n.id, n.status.applied))
            .collect();
        let top = applied.values().copied().max().unwrap_or(0);
        let behind: Vec<String> = view
            .kv
            .keys()
            .filter(|id| applied.get(id).copied().unwrap_or(0) < top)
            .map(|id| id.to_string())
            .collect();
        title = if behind.is_empty() {
            " state machine: nodes DISAGREE at the same applied index ".to_string()
        } else {
            format!(
                " state machine: nodes DISAGREE; behind: {} ",
                behind.join(",")
            )
        };
        let maps: BTreeMap<NodeId, BTreeMap<&str, &str>> = view
            .kv
            .iter()
            .map(|(id, kv)| {
                (
                    *id,
                    kv.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect(),
                )
            })
            .collect();
        let keys: BTreeSet<&str> = maps.values().flat_map(|m| m.keys().copied()).collect();
        for k in keys {
            if lines.len() >= rows {
                break;
            }
            let values: BTreeSet<Option<&str>> = maps.values().map(|m| m.get(k).copied()).collect();
            if values.len() > 1 {
                let per: Vec<String> = maps
                    .iter()
                    .map(|(id, m)| format!("{id}:{}", m.get(k).unwrap_or(&"∅")))
                    .collect();
                lines.push(Line::from(vec![
                    Span::styled(format!("{k} "), style::alert(state.theme)),
                    Span::raw(per.join(" ")),
                ]));
            }
        }
    }
    let block = Block::default().borders(Borders::ALL).title(title);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
