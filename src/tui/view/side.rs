//! The right-hand panel: the messages in flight (with the selected one in full) when a message
//! is selected or the cluster is paused, else the state machine (with a diff when nodes
//! disagree). In a paused lab it is the "what happens next" list: the messages in the order
//! they arrive, then each node's timer.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::{style, wrap};
use crate::raft::NodeId;
use crate::tui::app::AppState;

/// The right-hand panel: the selected message when one is selected, else the messages in
/// flight when the cluster is paused, else the state machine.
pub fn side(state: &AppState, frame: &mut Frame, area: Rect) {
    if state.view.is_none() {
        return;
    }
    if shows_in_flight(state) {
        in_flight(state, frame, area);
    } else {
        state_machine(state, frame, area);
    }
}

/// Whether the side panel shows the messages in flight (else the state machine).
pub fn shows_in_flight(state: &AppState) -> bool {
    // A paused lab always has something next: its timers.
    let lab = state.replay.as_ref().is_some_and(|r| r.lab().is_some());
    state.view.as_ref().is_some_and(|view| {
        state.message.is_some() || (view.status.paused && (lab || !view.in_flight.is_empty()))
    })
}

/// Whose messages the in-flight panel lists: a live cluster's (which the keys act on), a
/// recording's (read-only) or a lab's (with its timers: what happens next).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Live,
    Recording,
    Lab,
}

/// The in-flight panel's title for `n` messages in `room` columns: the count always, the key
/// hints dropped from the last when they do not fit.
fn in_flight_title(n: usize, source: Source, room: usize) -> String {
    // Most useful first: each shorter wording drops the last hint.
    let hints: &[&str] = match source {
        Source::Recording => &["n/N select"],
        Source::Live => &["n/N select", "x drop", "g deliver", "u dup"],
        Source::Lab => &[
            "n/N select",
            "g deliver now",
            "x drop",
            "u dup",
            "t campaign",
        ],
    };
    let what = match source {
        Source::Lab => format!("next: {n} in flight, then timers"),
        _ => format!("{n} in flight"),
    };
    let mut options: Vec<String> = (1..=hints.len())
        .rev()
        .map(|k| format!(" {what} ({}) ", hints[..k].join(" · ")))
        .collect();
    options.push(format!(" {what} "));
    options.push(format!(" {n} in flight "));
    wrap::fit(&options, room)
}

fn in_flight(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(view) = &state.view else {
        return;
    };
    let lab = state.replay.as_ref().and_then(|r| r.lab());
    let source = match (&state.replay, lab) {
        (None, _) => Source::Live,
        (Some(_), None) => Source::Recording,
        (Some(_), Some(_)) => Source::Lab,
    };
    let title = in_flight_title(
        view.in_flight.len(),
        source,
        area.width.saturating_sub(2) as usize,
    );
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    // The selected message in full (its fields wrapped, never cut), then the list, one message
    // per entry, its fields wrapped under its summary.
    let selected = state.message;
    let mut top = 0u16;
    if let Some(m) = selected.and_then(|i| view.in_flight.get(i)) {
        let id = format!("#{}", m.id);
        let mut lines: Vec<Line> = wrap::hang(wrap::width(&id) + 1, &id, &m.summary, width)
            .into_iter()
            .map(|l| l.style(style::strong()))
            .collect();
        let timing = format!(
            "sent {:.2}s, due {:.2}s ({} → {}, {})",
            m.sent_at.as_secs_f64(),
            m.due_at.as_secs_f64(),
            m.from,
            m.to,
            m.kind.as_str()
        );
        lines.extend(
            wrap::word_wrap(&timing, width)
                .into_iter()
                .map(|l| Line::from(Span::styled(l, style::dim()))),
        );
        top = (lines.len() as u16).min(inner.height);
        frame.render_widget(
            Paragraph::new(lines),
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
    // Each message as its lines: `■ #41    3->1 AppendEntries{term:4 prev:8/4`, the rest of its
    // fields on the lines under the summary.
    const INDENT: usize = 9;
    let entries: Vec<Vec<Line>> = view
        .in_flight
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let (glyph, st) = style::message_glyph(state.theme, m.kind);
            let mut lines: Vec<Line> =
                wrap::word_wrap(&m.summary, width.saturating_sub(INDENT).max(10))
                    .into_iter()
                    .enumerate()
                    .map(|(k, text)| {
                        if k == 0 {
                            Line::from(vec![
                                Span::styled(format!("{glyph} "), st),
                                Span::raw(format!("#{:<5} {text}", m.id)),
                            ])
                        } else {
                            Line::from(format!("{}{text}", " ".repeat(INDENT)))
                        }
                    })
                    .collect();
            if Some(i) == selected {
                let reversed = ratatui::style::Style::default().add_modifier(Modifier::REVERSED);
                lines = lines.into_iter().map(|l| l.patch_style(reversed)).collect();
            }
            lines
        })
        .collect();
    // A lab's timers after its messages: when each would fire if nothing else happened.
    let mut entries = entries;
    if let Some(m) = lab {
        for e in m.next_events(64) {
            if matches!(e.action, Some(crate::engine::sim::Action::Deliver(_))) {
                continue;
            }
            let text = format!("{:.2}s {}", e.at.as_secs_f64(), e.text);
            entries.push(
                wrap::word_wrap(&text, width.saturating_sub(2).max(10))
                    .into_iter()
                    .enumerate()
                    .map(|(k, l)| {
                        let lead = if k == 0 { "⏱ " } else { "  " };
                        Line::from(Span::styled(format!("{lead}{l}"), style::dim()))
                    })
                    .collect(),
            );
        }
    }
    // Start far enough back that the selected message sits about half way down.
    let mut first = selected.unwrap_or(0).min(entries.len().saturating_sub(1));
    let mut above = 0;
    while first > 0 && above + entries[first - 1].len() <= rows / 2 {
        first -= 1;
        above += entries[first].len();
    }
    let mut lines = Vec::new();
    for entry in entries.into_iter().skip(first) {
        if lines.len() + entry.len() > rows && !lines.is_empty() {
            break;
        }
        lines.extend(entry);
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
    let width = area.width.saturating_sub(2) as usize;
    let mut lines = Vec::new();
    let titles: Vec<String>;
    let mut contents = view.kv.values();
    let first = contents.next();
    let agree = contents.all(|c| Some(c) == first);
    if agree {
        let n = first.map_or(0, Vec::len);
        let keys = if n == 1 { "key" } else { "keys" };
        titles = vec![
            format!(" state machine: all nodes agree, {n} {keys} "),
            format!(" state machine: all agree, {n} {keys} "),
            format!(" state machine: {n} {keys} "),
        ];
        for (k, v) in first.into_iter().flatten() {
            if lines.len() >= rows {
                break;
            }
            lines.extend(keyed(&format!("{k} ="), Style::default(), v, width));
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
        titles = if behind.is_empty() {
            vec![
                " state machine: nodes DISAGREE at the same applied index ".to_string(),
                " state machine: nodes DISAGREE at the same index ".to_string(),
                " state machine: nodes DISAGREE ".to_string(),
                " state machine: DISAGREE ".to_string(),
            ]
        } else {
            let behind = behind.join(",");
            vec![
                format!(" state machine: nodes DISAGREE; behind: {behind} "),
                format!(" state machine: behind: {behind} "),
                format!(" state machine: DISAGREE "),
            ]
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
                lines.extend(keyed(k, style::alert(state.theme), &per.join(" "), width));
            }
        }
    }
    lines.truncate(rows);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(wrap::fit(&titles, width));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// `key text` in `width` columns: the key in `key_style`, the text word-wrapped after it with
/// its continuation lines under the text (or indented by two when the key is long).
fn keyed(key: &str, key_style: Style, text: &str, width: usize) -> Vec<Line<'static>> {
    let key_w = wrap::width(key) + 1;
    let (indent, own_line) = if key_w <= width / 2 {
        (key_w, false)
    } else {
        (2, true)
    };
    let mut lines = Vec::new();
    if own_line {
        lines.push(Line::from(Span::styled(key.to_string(), key_style)));
    }
    for (i, part) in wrap::word_wrap(text, width.saturating_sub(indent).max(1))
        .into_iter()
        .enumerate()
    {
        lines.push(if i == 0 && !own_line {
            Line::from(vec![
                Span::styled(format!("{key} "), key_style),
                Span::raw(part),
            ])
        } else {
            Line::from(format!("{}{part}", " ".repeat(indent)))
        });
    }
    lines
}
