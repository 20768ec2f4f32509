//! The event feed: what the nodes did and why, newest at the bottom, filtered by kind and
//! optionally by node; long lines wrap at word boundaries.
//!
//! ```text
//! ┌ events: protocol · ⏸ 37 newer ─────────────────────────────────────┐
//! │last election: node 5 timed out first (26 ticks), asked for         │  sticky line: the last
//! │  pre-votes, won term 1 with votes of 2, 4 and 5                    │  election (or the one
//! │   11.9s  3 rejected AppendEntries from 5 in term 1: log too short  │  under way)
//! │            (ends at 2) (hint 3/0)                                  │  lines (wrapped)
//! │▶  12.0s  5 commit 2 -> 3                                           │  ▶ the selected one
//! │─ 12.0s node 5 · replication ───────────────────────────────────────│  Enter: the selected
//! │commit 2 -> 3                                                       │  line in full and the
//! │indexes: commit 3, was 2 (the logs show index 3)                    │  message it concerns
//! └ ↑↓ select · Enter opens · PgUp PgDn scroll · End follows · Esc ────┘  keys while focused (e)
//! ```

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::wrap::word_wrap;
use super::{style, ViewLayout};
use crate::observe::election::StoryLine;
use crate::observe::feed::{Category, FeedLine};
use crate::tui::action::{self, Mode};
use crate::tui::app::AppState;

pub(super) fn fmt_at(d: std::time::Duration) -> String {
    format!("{:>6.1}s", d.as_secs_f64())
}

/// One feed line: time, the node (when given), and the text in its category's colour.
pub(super) fn feed_line(state: &AppState, l: &FeedLine, who: Option<String>) -> Line<'static> {
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

/// How the detail names a category.
fn category_name(c: Category) -> &'static str {
    match c {
        Category::Election => "election",
        Category::Replication => "replication",
        Category::Message => "message",
        Category::Client => "client",
        Category::Fault => "fault",
    }
}

/// The first of `variants` that fits in `width` columns (the last one if none does).
fn fit(width: usize, variants: Vec<String>) -> String {
    let last = variants.last().cloned().unwrap_or_default();
    variants
        .into_iter()
        .find(|v| v.chars().count() <= width)
        .unwrap_or(last)
}

/// The rows of one feed line, wrapped at word boundaries under its text (a hanging indent):
/// `▶  12.0s  5 text...` with `▶` on the selected one.
fn line_rows(state: &AppState, l: &FeedLine, selected: bool, width: usize) -> Vec<Line<'static>> {
    let at = fmt_at(l.at);
    let who = if l.node == 0 {
        "  ".to_string()
    } else {
        format!("{:>2}", l.node)
    };
    // The selected line's time gives its first column to the marker.
    let at = if selected {
        match at.strip_prefix(' ') {
            Some(rest) => format!("▶{rest}"),
            None => format!("▶{at}"),
        }
    } else {
        at
    };
    let indent = at.chars().count() + 1 + who.chars().count() + 1;
    let room = width.saturating_sub(indent).max(8);
    let text_style = style::category_style(state.theme, l.category);
    let (text_style, lead_style) = if selected {
        (
            text_style.add_modifier(Modifier::REVERSED),
            style::strong().add_modifier(Modifier::REVERSED),
        )
    } else {
        (text_style, style::dim())
    };
    word_wrap(&l.text, room)
        .into_iter()
        .enumerate()
        .map(|(i, part)| {
            let lead = if i == 0 {
                vec![
                    Span::styled(at.clone(), lead_style),
                    Span::raw(" "),
                    Span::styled(who.clone(), style::strong()),
                    Span::raw(" "),
                ]
            } else {
                vec![Span::raw(" ".repeat(indent))]
            };
            let mut spans = lead;
            spans.push(Span::styled(part, text_style));
            Line::from(spans)
        })
        .collect()
}

/// The sticky line: the last election told (or the one under way), word-wrapped to at most
/// `rows` rows (the last one ends in `…` when it had to stop early).
fn sticky(state: &AppState, width: usize, rows: usize) -> Vec<Line<'static>> {
    if rows == 0 {
        return Vec::new();
    }
    let Some(line) = state.election.line(state.nodes) else {
        return Vec::new();
    };
    let text = match line {
        StoryLine::Told(s) => format!("last election: {s}"),
        StoryLine::UnderWay(s) => format!("electing now: {s}"),
    };
    let mut parts = word_wrap(&text, width.max(10));
    if parts.len() > rows {
        parts.truncate(rows);
        if let Some(last) = parts.last_mut() {
            // Whole words only, then the ellipsis.
            while last.chars().count() + 2 > width && last.contains(' ') {
                if let Some(cut) = last.rfind(' ') {
                    last.truncate(cut);
                }
            }
            last.push_str(" …");
        }
    }
    parts
        .into_iter()
        .map(|p| Line::from(Span::styled(p, style::strong())))
        .collect()
}

/// The open line in full: a rule naming it, its whole text wrapped, the message it concerns.
fn detail_rows(state: &AppState, seq: u64, width: usize) -> Vec<Line<'static>> {
    let Some(l) = state.feed_seq(seq) else {
        return vec![Line::from(Span::styled(
            "(that event is no longer kept; Esc hides this)",
            style::dim(),
        ))];
    };
    let who = if l.node == 0 {
        "the cluster".to_string()
    } else {
        format!("node {}", l.node)
    };
    let rule = format!(
        "─ {} · {who} · {} (Enter or Esc hides) ",
        fmt_at(l.at).trim_start(),
        category_name(l.category)
    );
    let pad = width.saturating_sub(rule.chars().count());
    let mut out = vec![Line::from(Span::styled(
        format!("{rule}{}", "─".repeat(pad)),
        style::dim(),
    ))];
    let wrap = |text: &str, st| -> Vec<Line<'static>> {
        word_wrap(text, width.max(10))
            .into_iter()
            .map(|p| Line::from(Span::styled(p, st)))
            .collect()
    };
    out.extend(wrap(
        &l.text,
        style::category_style(state.theme, l.category),
    ));
    match &l.subject {
        None => out.extend(wrap("it names no message, term or log index", style::dim())),
        Some(s) => {
            let mut words = Vec::new();
            if let Some(m) = s.message {
                words.push(m.as_str().to_string());
            }
            if let Some(f) = s.from {
                words.push(format!("from {f}"));
            }
            if let Some(t) = s.to {
                words.push(format!("to {t}"));
            }
            if let Some(t) = s.term {
                words.push(format!("term {t}"));
            }
            if !words.is_empty() {
                let head = if s.message.is_some() {
                    "message:"
                } else {
                    "concerns:"
                };
                out.extend(wrap(
                    &format!("{head} {}", words.join(" ")),
                    style::strong(),
                ));
            }
            if let Some(first) = s.index() {
                let list: Vec<String> = s
                    .indexes
                    .iter()
                    .map(|(what, i)| format!("{what} {i}"))
                    .collect();
                out.extend(wrap(
                    &format!("indexes: {} (the logs show index {first})", list.join(", ")),
                    style::strong(),
                ));
            }
        }
    }
    out
}

/// The event feed: the sticky election line, then the lines, newest at the bottom (or where
/// the user scrolled to), and the open line in full. Writes where it went into `layout`.
pub fn feed(state: &AppState, layout: &mut ViewLayout, frame: &mut Frame, area: Rect) {
    layout.feed = area;
    let cursor = state.feed_cursor;
    let filter = if state.feed_node_only {
        format!("{}, node {}", state.feed_kind.name(), state.selected)
    } else {
        state.feed_kind.name().to_string()
    };
    let room = usize::from(area.width.saturating_sub(2));
    let title = match cursor.anchor {
        Some(_) => {
            let newer = state.feed_newer();
            let held = if newer == 0 {
                "⏸ held".to_string()
            } else {
                format!("⏸ {newer} newer")
            };
            fit(
                room,
                vec![
                    format!(" events: {filter} · {held} (End follows) "),
                    format!(" events: {filter} · {held} "),
                    format!(" {held} "),
                ],
            )
        }
        None if cursor.focused => fit(
            room,
            vec![
                format!(" events: {filter} · following "),
                format!(" events: {filter} "),
            ],
        ),
        None => fit(
            room,
            vec![
                format!(" events: {filter} (f: kind, F: node, e: look back) "),
                format!(" events: {filter} (f, F, e) "),
                format!(" events: {filter} "),
                " events ".to_string(),
            ],
        ),
    };
    let mut block = Block::default().borders(Borders::ALL).title(title);
    if cursor.focused {
        // The feed's own keys, from its table, as many as fit.
        let mut keys = String::from(" ");
        for f in action::footer(Mode::Feed) {
            let item = if keys.len() > 1 {
                format!("· {} ", f.text())
            } else {
                format!("{} ", f.text())
            };
            if keys.chars().count() + item.chars().count() > room {
                break;
            }
            keys.push_str(&item);
        }
        block = block
            .border_style(style::strong())
            .title_bottom(Line::from(Span::styled(keys, style::strong())));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = usize::from(inner.width);
    let height = usize::from(inner.height);

    let sticky_rows = match height {
        0..=1 => 0,
        2..=5 => 1,
        6..=13 => 2,
        _ => 3,
    };
    let mut lines = sticky(state, width, sticky_rows);
    let left = height.saturating_sub(lines.len());
    let mut detail = match cursor.open {
        Some(seq) => detail_rows(state, seq, width),
        None => Vec::new(),
    };
    // The open line keeps at least two rows of lines above it when there is room for both.
    let keep = if left >= 8 { 2 } else { 0 };
    detail.truncate(left.saturating_sub(keep));
    let list_rows = left.saturating_sub(detail.len());

    let visible: Vec<(u64, &FeedLine)> = state.visible_feed_seq().collect();
    let bottom = match cursor.anchor {
        None => visible.len(),
        Some(a) => visible.partition_point(|(s, _)| *s <= a),
    };
    let mut rows: Vec<Line> = Vec::new();
    let mut top = None;
    for (seq, l) in visible[..bottom].iter().rev() {
        if rows.len() >= list_rows {
            break;
        }
        let mut these = line_rows(state, l, cursor.selected == Some(*seq), width);
        let free = list_rows - rows.len();
        if these.len() > free {
            // The oldest line shown only in part: its last rows.
            these.drain(..these.len() - free);
            rows.extend(these.into_iter().rev());
            break;
        }
        rows.extend(these.into_iter().rev());
        top = Some(*seq);
    }
    rows.reverse();
    layout.feed_rows = u16::try_from(list_rows).unwrap_or(u16::MAX);
    layout.feed_top = top;
    lines.extend(rows);
    if !detail.is_empty() {
        // The open line sits at the bottom of the panel.
        let used = lines.len() + detail.len();
        lines.extend(std::iter::repeat_n(
            Line::from(""),
            height.saturating_sub(used),
        ));
        lines.extend(detail);
    }
    frame.render_widget(Paragraph::new(lines), inner);
}
