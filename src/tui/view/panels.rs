//! The smaller panels: the event feed, the state machine (with a diff when nodes disagree), the
//! messages in flight, the footer with the prompt, and the help and node-detail overlays.

use std::collections::{BTreeMap, BTreeSet};

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::style;
use crate::raft::NodeId;
use crate::tui::action::bindings;
use crate::tui::app::{AppState, Focus};
use crate::tui::prompt::COMMANDS;

/// Shown when the terminal is too small for the layout.
pub fn too_small(state: &AppState, frame: &mut Frame, area: Rect) {
    let leader = state.leader().map_or("none".to_string(), |l| l.to_string());
    let text = format!(
        "raftlab needs at least 40×12 (this is {}×{}).\nleader: {leader}\nq quits",
        area.width, area.height
    );
    frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
}

fn fmt_at(d: std::time::Duration) -> String {
    format!("{:>6.1}s", d.as_secs_f64())
}

/// The event feed: newest at the bottom, filtered by kind and optionally by node.
pub fn feed(state: &AppState, frame: &mut Frame, area: Rect) {
    let filter = if state.feed_node_only {
        format!("{}, node {}", state.feed_kind.name(), state.selected)
    } else {
        state.feed_kind.name().to_string()
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" events: {filter} (f: kind, F: node) "));
    let rows = area.height.saturating_sub(2) as usize;
    let mut lines: Vec<Line> = state
        .visible_feed()
        .rev()
        .take(rows)
        .map(|l| {
            let who = if l.node == 0 {
                "  ".to_string()
            } else {
                format!("{:>2}", l.node)
            };
            Line::from(vec![
                Span::styled(fmt_at(l.at), style::dim()),
                Span::raw(" "),
                Span::styled(who, style::strong()),
                Span::raw(" "),
                Span::styled(
                    l.text.clone(),
                    style::category_style(state.theme, l.category),
                ),
            ])
        })
        .collect();
    lines.reverse();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

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
    let block = Block::default().borders(Borders::ALL).title(format!(
        " {} in flight (n/N select · x drop · u dup · g deliver) ",
        view.in_flight.len()
    ));
    let mut lines = Vec::new();
    let selected = state.message;
    if let Some(m) = selected.and_then(|i| view.in_flight.get(i)) {
        lines.push(Line::from(Span::styled(
            format!("#{} {}", m.id, m.summary),
            style::strong(),
        )));
        lines.push(Line::from(Span::styled(
            format!(
                "sent {:.2}s, due {:.2}s ({} → {}, {})",
                m.sent_at.as_secs_f64(),
                m.due_at.as_secs_f64(),
                m.from,
                m.to,
                m.kind.as_str()
            ),
            style::dim(),
        )));
    }
    let rows = area.height.saturating_sub(2) as usize;
    let skip = selected
        .unwrap_or(0)
        .saturating_sub(rows.saturating_sub(lines.len() + 1) / 2);
    for (i, m) in view.in_flight.iter().enumerate().skip(skip) {
        if lines.len() >= rows {
            break;
        }
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
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The key-value contents as each node applied them; when nodes disagree, only the keys that
/// differ, with each node's value.
pub fn state_machine(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(view) = &state.view else {
        return;
    };
    let distinct: BTreeSet<&Vec<(String, String)>> = view.kv.values().collect();
    let mut lines = Vec::new();
    let title;
    if distinct.len() <= 1 {
        let kv = distinct.into_iter().next();
        let n = kv.map_or(0, Vec::len);
        title = format!(" state machine: all nodes agree, {n} keys ");
        for (k, v) in kv.into_iter().flatten() {
            lines.push(Line::from(format!("{k} = {v}")));
        }
    } else {
        title = " state machine: nodes DISAGREE (still applying?) ".to_string();
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

/// The footer: the prompt when open, else the last result and the main keys.
pub fn footer(state: &AppState, frame: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    if state.focus == Focus::Prompt {
        lines.push(Line::from(vec![
            Span::styled(":", style::strong()),
            Span::raw(state.prompt.input.clone()),
            Span::styled("█", style::dim()),
        ]));
        if !state.prompt.completions.is_empty() {
            lines.push(Line::from(Span::styled(
                state.prompt.completions.join("  "),
                style::dim(),
            )));
        }
        lines.push(Line::from(Span::styled(
            "Enter runs · Tab completes · ↑↓ history · Esc cancels · help lists commands",
            style::dim(),
        )));
    } else {
        let st = if state.status_line.starts_with("error") {
            style::alert(state.theme)
        } else {
            ratatui::style::Style::default()
        };
        lines.push(Line::from(Span::styled(state.status_line.clone(), st)));
        let keys: Vec<String> = bindings()
            .into_iter()
            .filter(|b| b.footer)
            .map(|b| format!("{} {}", b.label, b.short))
            .collect();
        lines.push(Line::from(Span::styled(
            format!("1-9 select · {}", keys.join(" · ")),
            style::dim(),
        )));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The help overlay: every key and every command, from the same tables the handlers use.
pub fn help(state: &AppState, frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let mut lines = vec![
        Line::from(Span::styled("Keys", style::strong())),
        Line::from("  1-9        select a node (or click it)"),
    ];
    for b in bindings() {
        lines.push(Line::from(format!("  {:<10} {}", b.label, b.help)));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Commands (press :)",
        style::strong(),
    )));
    for c in COMMANDS {
        lines.push(Line::from(format!("  {:<34} {}", c.usage, c.summary)));
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled("Symbols", style::strong())));
    lines.push(Line::from(
        "  ★ leader  ◆ candidate  ● follower  ✕ down  ▮▮▯ election timer  ╳ cut link  ✗ dropped",
    ));
    lines.push(Line::from(
        "  messages: ? RequestVote  ! vote reply  ■ AppendEntries  ♥ heartbeat  ✓ append reply  ⚡ TimeoutNow",
    ));
    lines.push(Line::from(
        "  logs: a cell per entry with its term; filled = committed, hollow = not yet; ┃ commit index; !n differs from the leader",
    ));
    if let Some(path) = &state.log_path {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled(
            format!("log file: {path}"),
            style::dim(),
        )));
    }
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" help (Esc closes) ");
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}

/// The selected node's detail view: everything about it and its recent events.
pub fn detail(state: &AppState, frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" node {} (Esc closes) ", state.selected));
    let Some(n) = state.selected_status() else {
        frame.render_widget(block, area);
        return;
    };
    let s = &n.status;
    let role = n.up.then_some(s.role);
    let (sym, name) = style::role_symbol(role);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!("{sym} {name}"),
                style::role_style(state.theme, role),
            ),
            Span::raw(format!("  at {}  ", n.addr)),
        ]),
        Line::from(format!(
            "term {}   voted for {}   leader {}",
            s.term,
            s.voted_for.map_or("nobody".into(), |v| v.to_string()),
            s.leader_id.map_or("unknown".into(), |v| v.to_string()),
        )),
        Line::from(format!(
            "log {}..={} (last term {})   persisted {}   commit {}   applied {}   keys {}",
            s.first_index,
            s.last_log_index,
            s.last_log_term,
            s.persisted_index,
            s.commit,
            s.applied,
            n.kv_len
        )),
        Line::from(format!(
            "election timer {}/{} ticks   clock {}x   extra delay {} ms",
            s.election_elapsed,
            s.election_timeout,
            n.clock_rate,
            n.slow.as_millis()
        )),
    ];
    if !s.progress.is_empty() {
        lines.push(Line::from(Span::styled(
            "followers (match / next / state / in flight):",
            style::strong(),
        )));
        for p in &s.progress {
            lines.push(Line::from(format!(
                "  {}: {} / {} / {} / {}",
                p.id,
                p.match_index,
                p.next_index,
                p.state.as_str(),
                p.inflight
            )));
        }
    }
    lines.push(Line::from(Span::styled("recent events:", style::strong())));
    let rows = area.height.saturating_sub(lines.len() as u16 + 3) as usize;
    let mut recent: Vec<Line> = state
        .feed
        .iter()
        .rev()
        .filter(|l| l.node == state.selected && l.category != crate::tui::app::Category::Message)
        .take(rows)
        .map(|l| {
            Line::from(vec![
                Span::styled(fmt_at(l.at), style::dim()),
                Span::raw(" "),
                Span::styled(
                    l.text.clone(),
                    style::category_style(state.theme, l.category),
                ),
            ])
        })
        .collect();
    recent.reverse();
    lines.extend(recent);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
