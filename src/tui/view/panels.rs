//! The smaller panels: the event feed, the state machine (with a diff when nodes disagree), the
//! messages in flight, the footer with the prompt, and the help and node-detail overlays.

use std::collections::{BTreeMap, BTreeSet};

use crossterm::event::{KeyEvent, KeyModifiers};

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{style, verdict, ViewLayout};
use crate::command::prompt::{PromptError, COMMANDS};
use crate::observe::feed::{Category, FeedLine};
use crate::observe::format;
use crate::raft::NodeId;
use crate::tui::action::{self, bindings, KeyBinding, Mode, DIGITS_HELP, DIGITS_LABEL};
use crate::tui::app::{AppState, Focus};

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

/// One feed line: time, the node (when given), and the text in its category's colour.
fn feed_line(state: &AppState, l: &FeedLine, who: Option<String>) -> Line<'static> {
    let mut spans = vec![Span::styled(fmt_at(l.at), style::dim()), Span::raw(" ")];
    if let Some(who) = who {
        spans.push(Span::styled(who, style::strong()));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::styled(
        l.text.clone(),
        style::category_style(state.theme, l.category),
    ));
    Line::from(spans)
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
            feed_line(state, l, Some(who))
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

/// The prompt line that did not parse and its error, while the status line still shows that
/// error (the footer then takes two rows more: the line, and a caret under the word).
pub fn prompt_error(state: &AppState) -> Option<(&str, &PromptError)> {
    let (line, e) = state.prompt.error.as_ref()?;
    let current = state.replay.is_none()
        && state.focus != Focus::Prompt
        && state.status_line.strip_prefix("error: ") == Some(e.to_string().as_str());
    current.then_some((line.as_str(), e))
}

/// The footer: the prompt when open, else the last result (with a caret under the word a
/// prompt error is about) and the main keys.
pub fn footer(state: &AppState, frame: &mut Frame, area: Rect) {
    if state.replay.is_some() && state.focus != Focus::Prompt {
        super::timeline::footer(state, frame, area);
        return;
    }
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
        let mut keys: Vec<String> = action::footer(Mode::Prompt)
            .iter()
            .map(action::Footer::text)
            .collect();
        keys.push("help lists commands".into());
        lines.push(Line::from(Span::styled(keys.join(" · "), style::dim())));
    } else {
        let st = if state.status_line.starts_with("error") {
            style::alert(state.theme)
        } else {
            ratatui::style::Style::default()
        };
        if let Some((line, e)) = prompt_error(state) {
            // The line that did not parse, with a caret under the word the error is about.
            lines.push(Line::from(vec![
                Span::styled(":", style::strong()),
                Span::raw(line.to_string()),
            ]));
            lines.push(Line::from(Span::styled(
                format!(" {}", e.span.carets(line)),
                st,
            )));
        }
        lines.push(Line::from(Span::styled(state.status_line.clone(), st)));
        // The verdict on the history, right-aligned; the keys take what is left.
        let width = area.width as usize;
        let mut text = format!("{DIGITS_LABEL} select");
        let segment = verdict::segment(state, width.saturating_sub(text.len() + 2));
        let segment_w: usize = segment.iter().flatten().map(Span::width).sum();
        let room = if segment.is_some() {
            width.saturating_sub(segment_w + 2)
        } else {
            width
        };
        // As many keys as fit, most important first.
        for f in action::footer(Mode::Main) {
            let item = format!(" · {}", f.text());
            if text.chars().count() + item.chars().count() > room {
                break;
            }
            text.push_str(&item);
        }
        let mut row = Vec::new();
        let pad = width.saturating_sub(text.chars().count() + segment_w);
        row.push(Span::styled(text, style::dim()));
        if let Some(segment) = segment {
            row.push(Span::raw(" ".repeat(pad)));
            row.extend(segment);
        }
        lines.push(Line::from(row));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// The help overlay: every key and every command, from the same tables the handlers use. Two
/// columns when wide enough; it scrolls (↑ ↓ PgUp PgDn) when it does not fit.
pub fn help(state: &AppState, layout: &mut ViewLayout, frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" help (↑↓ scroll · Esc closes) ");
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let two = inner.width >= 120;
    // Two columns: keys on the left, the (longer) commands on the right.
    let left_w = if two {
        inner.width * 9 / 20
    } else {
        inner.width
    };
    let right_w = if two {
        inner.width - left_w
    } else {
        inner.width
    };
    let col_w = left_w as usize;

    let mut keys = vec![Line::from(Span::styled("Keys", style::strong()))];
    let cmd_w = right_w as usize;
    let mut commands;
    if let Some(replay) = &state.replay {
        // A replay: its own keys first, then the live keys that only change what is shown.
        keys = vec![Line::from(Span::styled(
            format!("Replay keys ({})", replay.source),
            style::strong(),
        ))];
        rows(&mut keys, &bindings(Mode::Replay), col_w);
        keys.push(Line::from(""));
        keys.push(Line::from(Span::styled("Also", style::strong())));
        keys.extend(hang(13, &format!("  {DIGITS_LABEL}"), DIGITS_HELP, col_w));
        keys.extend(hang(
            13,
            "  Tab ⇧Tab",
            "select the next / previous node",
            col_w,
        ));
        // Main bindings a replay key took over (← →, PgUp PgDn, End) are left out.
        let shadowed = |b: &KeyBinding| {
            b.keys.iter().any(|k| {
                let press = KeyEvent::new(k.code, KeyModifiers::NONE);
                action::binding_for(Mode::Replay, &press).is_some()
            })
        };
        let shown: Vec<KeyBinding> = bindings(Mode::Main)
            .into_iter()
            .filter(|b| crate::tui::replay::allowed_in_replay(&b.action) && !shadowed(b))
            .collect();
        rows(&mut keys, &shown, col_w);
        commands = vec![Line::from(Span::styled("A recording", style::strong()))];
        for l in [
            "This is a recording, not a live cluster: keys and commands that would act on a \
             cluster (kill, write, partition, ...) answer \"replay: read-only\". The prompt (:) \
             takes help and quit.",
            "Every panel shows the cluster as it was at the slider's time: the frame recorded \
             then (every ~100 ms), the events up to then, the last command result.",
        ] {
            commands.extend(hang(2, "", l, cmd_w));
        }
    } else {
        keys.extend(hang(13, &format!("  {DIGITS_LABEL}"), DIGITS_HELP, col_w));
        rows(&mut keys, &bindings(Mode::Main), col_w);
        commands = vec![Line::from(Span::styled(
            "Commands (press :)",
            style::strong(),
        ))];
        for c in COMMANDS {
            commands.extend(hang(30, &format!("  {}", c.usage), c.summary, cmd_w));
        }
    }
    // The keys of the help itself and of the prompt, from their tables too.
    for (title, mode) in [
        ("In this help", Mode::Help),
        ("At the prompt (:)", Mode::Prompt),
    ] {
        keys.push(Line::from(""));
        keys.push(Line::from(Span::styled(title, style::strong())));
        rows(&mut keys, &bindings(mode), col_w);
    }
    commands.push(Line::from(""));
    commands.push(Line::from(Span::styled("Symbols", style::strong())));
    for l in [
        "★ leader  ◆ candidate  ● follower  ✕ down",
        "▮▮▯ election timer (drains to 0, then an election)",
        "╳ cut link   ✗ message dropped",
        "? RequestVote  ! vote reply  ■ AppendEntries",
        "♥ heartbeat  ✓ append reply  » TimeoutNow",
        "▣ InstallSnapshot (one chunk)  ◇ snapshot reply",
        "logs: one cell per entry, showing its term; filled = committed, hollow = not yet \
         committed, ┃ = commit index, !n = differs from the leader",
        "logs: ▒ = compacted into a snapshot (snapshot ≤n: it covers the entries up to n)",
        "table: snap = index/term of the newest snapshot; ▣ 50% = how much of its snapshot \
         the leader has sent that follower",
    ] {
        commands.extend(hang(2, "", l, cmd_w));
    }
    // A replay has no checker: its footer is the slider.
    if state.replay.is_none() {
        commands.push(Line::from(""));
        commands.push(Line::from(Span::styled(
            "Verdict (footer, right)",
            style::strong(),
        )));
        for l in [
            "ops 1,234 · linearizable ✓ — every get, put, del, append and cas is recorded (yours \
             as client 0, a nemesis' workers as 1 and up); every 2 s the checker looks for one \
             order of them that respects real time and explains every answer",
            "NOT LINEARIZABLE ✗ key x — no order does: v (or :history) shows the failing window",
            "undecided (gave up) — the checker ran out of time; checking — a check is running",
            "nemesis 12 s left — a nemesis (C or :nemesis) is injecting faults; the feed gets its \
             faults, then whether the nodes converged and the verdict",
        ] {
            commands.extend(hang(2, "", l, cmd_w));
        }
    }
    if let Some(path) = &state.log_path {
        commands.push(Line::from(""));
        commands.extend(hang(2, "", &format!("log file: {path}"), cmd_w));
    }
    if two {
        let left = Rect {
            width: left_w,
            ..inner
        };
        let right = Rect {
            x: inner.x + left_w,
            width: right_w,
            ..inner
        };
        let scroll = clamp_scroll(state, layout, keys.len().max(commands.len()), inner.height);
        frame.render_widget(Paragraph::new(keys).scroll((scroll, 0)), left);
        frame.render_widget(Paragraph::new(commands).scroll((scroll, 0)), right);
    } else {
        let mut all = keys;
        all.push(Line::from(""));
        all.extend(commands);
        let scroll = clamp_scroll(state, layout, all.len(), inner.height);
        frame.render_widget(Paragraph::new(all).scroll((scroll, 0)), inner);
    }
}

/// One help line per row of a key table, in `width` columns.
fn rows(lines: &mut Vec<Line<'static>>, table: &[KeyBinding], width: usize) {
    for b in table {
        lines.extend(hang(13, &format!("  {}", b.label), b.help, width));
    }
}

/// `label` padded to `indent` columns, then `text` word-wrapped to `width` with every
/// continuation line indented the same (a hanging indent).
fn hang(indent: usize, label: &str, text: &str, width: usize) -> Vec<Line<'static>> {
    let room = width.saturating_sub(indent).max(10);
    let mut lines = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        if !current.is_empty() && current.chars().count() + 1 + word.chars().count() > room {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    lines.push(current);
    let label_w = label.chars().count();
    let mut out = Vec::new();
    if label_w >= indent {
        // A label too long for its column goes on a line of its own.
        out.push(Line::from(label.to_string()));
    }
    for (i, l) in lines.into_iter().enumerate() {
        if l.is_empty() && label_w >= indent {
            continue;
        }
        let lead = if i == 0 && label_w < indent {
            format!("{label}{}", " ".repeat(indent - label_w))
        } else {
            " ".repeat(indent)
        };
        out.push(Line::from(format!("{lead}{l}").trim_end().to_string()));
    }
    out
}

/// The scroll offset to use, at most what shows the last line; remembered for the key handler.
pub(super) fn clamp_scroll(
    state: &AppState,
    layout: &mut ViewLayout,
    total_lines: usize,
    height: u16,
) -> u16 {
    let max = total_lines
        .saturating_sub(height as usize)
        .min(u16::MAX as usize) as u16;
    layout.max_scroll = max;
    state.help_scroll.min(max)
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
            "{}   clock {}x   extra delay {} ms",
            if role == Some(crate::raft::Role::Leader) {
                "sends heartbeats (no election timer while leading)".to_string()
            } else {
                format!(
                    "election timer {}/{} ticks",
                    s.election_elapsed, s.election_timeout
                )
            },
            n.clock_rate,
            n.slow.as_millis()
        )),
    ];
    lines.push(Line::from(if s.snapshot_index == 0 {
        "no snapshot: the log holds every entry from 1".to_string()
    } else {
        format!(
            "snapshot {}/{} ({}): entries 1..={} compacted away, the log starts at {}",
            s.snapshot_index,
            s.snapshot_term,
            format::bytes(s.snapshot_bytes),
            s.snapshot_index,
            s.first_index
        )
    }));
    if let Some((index, received)) = s.receiving_snapshot {
        // The follower does not know the size until the last chunk; the leader does.
        let total = state
            .view
            .as_ref()
            .and_then(|v| {
                let leader = v.status.leader()?;
                v.status.nodes.iter().find(|l| l.id == leader)
            })
            .and_then(|l| l.status.progress.iter().find(|p| p.id == n.id))
            .and_then(|p| p.snapshot_transfer)
            .filter(|(i, _, _)| *i == index)
            .map(|(_, _, total)| total);
        let text = match total {
            Some(total) => format!(
                "receiving snapshot {index}: {}/{}",
                format::thousands(received),
                format::bytes(total)
            ),
            None => format!(
                "receiving snapshot {index}: {} so far",
                format::bytes(received)
            ),
        };
        lines.push(Line::from(Span::styled(text, style::strong())));
    }
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
        for p in &s.progress {
            if let Some((index, sent, total)) = p.snapshot_transfer {
                lines.push(Line::from(Span::styled(
                    format!(
                        "→ {}: sending snapshot {index} ({}/{})",
                        p.id,
                        format::thousands(sent),
                        format::bytes(total)
                    ),
                    style::strong(),
                )));
            }
        }
    }
    lines.push(Line::from(Span::styled("recent events:", style::strong())));
    let rows = area.height.saturating_sub(lines.len() as u16 + 3) as usize;
    let mut recent: Vec<Line> = state
        .feed
        .iter()
        .rev()
        .filter(|l| l.node == state.selected && l.category != Category::Message)
        .take(rows)
        .map(|l| feed_line(state, l, None))
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
