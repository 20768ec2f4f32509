//! The verdict on the dashboard's history: the footer's status segment, right-aligned on the key
//! row, and the history overlay (`v`, `:history`): counts, why operations failed (by kind), the
//! verdict, and every operation as a timeline per key, linearizable or not.
//!
//! ```text
//! 1-9 select · : command · ? help · k kill      nemesis 12 s left · ops 1,234 · linearizable ✓
//! 1-9 select · : command       ops 1,240 · NOT LINEARIZABLE ✗ key k1 (v: why)
//! ```

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

use super::help::clamp_scroll;
use super::style;
use super::wrap::{hang, word_wrap};
use super::ViewLayout;
use crate::chaos::{explain_outcomes, FailureKind};
use crate::check::{CheckResult, OpStatus, Operation};
use crate::observe::format::thousands;
use crate::tui::action::{bindings, Action, Mode};
use crate::tui::app::{AppState, NemesisView, Theme};

/// The label of the key that opens the overlay (`v`).
fn overlay_key() -> &'static str {
    bindings(Mode::Main)
        .into_iter()
        .find(|b| b.action == Action::ToggleHistory)
        .map_or("v", |b| b.label)
}

fn good(theme: Theme) -> Style {
    match theme {
        Theme::Mono => style::strong(),
        Theme::Color => Style::default()
            .fg(Color::LightGreen)
            .add_modifier(Modifier::BOLD),
    }
}

fn warn(theme: Theme) -> Style {
    match theme {
        Theme::Mono => Style::default(),
        Theme::Color => Style::default().fg(Color::Yellow),
    }
}

fn busy(theme: Theme) -> Style {
    match theme {
        Theme::Mono => style::strong(),
        Theme::Color => Style::default()
            .fg(Color::LightMagenta)
            .add_modifier(Modifier::BOLD),
    }
}

/// `nemesis 12 s left`, or what it does after its time is up.
pub fn nemesis_text(n: NemesisView) -> String {
    match n {
        NemesisView::Running { left } => format!("nemesis {} s left", left.as_secs()),
        NemesisView::Finishing => "nemesis: healing, checking".into(),
    }
}

/// The verdict's words and their style: `linearizable ✓`, `NOT LINEARIZABLE ✗ key x`,
/// `undecided (gave up)`, `checking`.
fn verdict_span(state: &AppState) -> Span<'static> {
    let check = &state.check;
    if let Some(key) = check.violation() {
        return Span::styled(
            format!("NOT LINEARIZABLE ✗ key {key}"),
            style::alert(state.theme),
        );
    }
    match &check.verdict {
        _ if check.checking => Span::styled("checking", style::dim()),
        Some((_, CheckResult::Linearizable)) => Span::styled("linearizable ✓", good(state.theme)),
        Some((_, CheckResult::GaveUp { .. })) => {
            Span::styled("undecided (gave up)", warn(state.theme))
        }
        // Not checked yet: the checker looks every 2 s.
        _ => Span::styled("checking", style::dim()),
    }
}

/// The footer's status segment, at most `width` columns wide (parts give way, least important
/// first: the key hint, the operation count, the nemesis); `None` while there is nothing to
/// judge (no operation recorded and no nemesis).
pub fn segment(state: &AppState, width: usize) -> Option<Vec<Span<'static>>> {
    let check = &state.check;
    if state.nemesis.is_none() && check.total() == 0 && check.verdict.is_none() {
        return None;
    }
    // (priority, spans): 0 never gives way, higher gives way first.
    let mut parts: Vec<(u8, Vec<Span<'static>>)> = Vec::new();
    if let Some(n) = state.nemesis {
        parts.push((
            1,
            vec![Span::styled(nemesis_text(n), busy(state.theme)), sep()],
        ));
    }
    parts.push((
        2,
        vec![
            Span::raw(format!("ops {}", thousands(check.total() as u64))),
            sep(),
        ],
    ));
    parts.push((0, vec![verdict_span(state)]));
    if check.violation().is_some() {
        parts.push((
            3,
            vec![Span::styled(
                format!(" ({}: why)", overlay_key()),
                style::dim(),
            )],
        ));
    }
    let w = |parts: &[(u8, Vec<Span>)]| -> usize {
        parts
            .iter()
            .flat_map(|(_, s)| s.iter())
            .map(Span::width)
            .sum()
    };
    for give_way in (1..=3u8).rev() {
        if w(&parts) <= width {
            break;
        }
        parts.retain(|(p, _)| *p != give_way);
    }
    Some(parts.into_iter().flat_map(|(_, s)| s).collect())
}

fn sep() -> Span<'static> {
    Span::styled(" · ", style::dim())
}

/// Splits `text` into pieces of at most `width` characters, spaces kept (for the timeline,
/// whose columns matter).
fn hard_wrap(text: &str, width: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    if chars.is_empty() {
        return vec![String::new()];
    }
    chars
        .chunks(width.max(1))
        .map(|c| c.iter().collect::<String>().trim_end().to_string())
        .collect()
}

/// The history overlay: what was recorded, the verdict and, when the history is not
/// linearizable, the failing window as a timeline. Scrolls like the help.
pub fn overlay(state: &AppState, layout: &mut ViewLayout, frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let block = Block::default().borders(Borders::ALL).title(format!(
        " history and verdict (↑↓ scroll · {} or Esc closes) ",
        overlay_key()
    ));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let width = inner.width as usize;
    let check = &state.check;
    let c = check.counts;
    let mut lines: Vec<Line<'static>> = Vec::new();
    let prose = |lines: &mut Vec<Line<'static>>, text: &str| {
        lines.extend(word_wrap(text, width).into_iter().map(Line::from));
    };
    lines.push(Line::from(Span::styled(
        format!("{} operations recorded", thousands(check.total() as u64)),
        style::strong(),
    )));
    prose(
        &mut lines,
        &format!(
            "{} ok · {} failed (known not applied) · {} unknown (may or may not have taken \
             effect) · {} in flight",
            thousands(c.ok as u64),
            thousands(c.failed as u64),
            thousands(c.unknown as u64),
            thousands(c.in_flight as u64)
        ),
    );
    for why in explain_outcomes(&check.operations) {
        prose(&mut lines, &why);
    }
    prose(
        &mut lines,
        "Client 0 is you (the prompt's get, put, del, append, cas and the w key); clients 1 and \
         up are a nemesis' workers (C). Every 2 s the checker looks for one order of all the \
         operations, one at a time, that respects real time and explains every answer.",
    );
    lines.push(Line::from(""));
    if let Some(n) = state.nemesis {
        lines.push(Line::from(Span::styled(nemesis_text(n), busy(state.theme))));
    }
    match &check.verdict {
        None if check.total() == 0 => prose(
            &mut lines,
            "Nothing to judge yet: put, get, del, append, cas (or w) record operations, and C \
             runs a nemesis.",
        ),
        None => prose(&mut lines, "Not checked yet: the checker looks every 2 s."),
        Some((n, result)) => {
            let mut head = vec![Span::styled(
                format!("Verdict on the first {} operations: ", thousands(*n as u64)),
                style::strong(),
            )];
            head.push(verdict_span(state));
            if check.checking && check.violation().is_none() {
                head.push(Span::styled(" (checking the newer ones)", style::dim()));
            }
            lines.push(Line::from(head));
            // `linearizable` says nothing more than the line above.
            let text = match result {
                CheckResult::Linearizable => String::new(),
                other => other.to_string(),
            };
            let mut rows = text.lines();
            if let Some(first) = rows.next().filter(|r| !r.is_empty()) {
                prose(&mut lines, first);
            }
            for row in rows {
                lines.extend(hard_wrap(row, width).into_iter().map(Line::from));
            }
            if matches!(result, CheckResult::NotLinearizable { .. }) {
                lines.push(Line::from(""));
                prose(
                    &mut lines,
                    "Each row: client, [invoked, answered] in ms, the operation, its answer, and \
                     a bar placing it in time (> runs on: no answer). No order of these \
                     operations explains every answer marked ✗.",
                );
            }
        }
    }
    timeline(&check.operations, width, &mut lines);
    lines.push(Line::from(""));
    prose(
        &mut lines,
        ":history save FILE writes every operation as JSON lines (one object a line).",
    );
    let scroll = clamp_scroll(state, layout, lines.len(), inner.height);
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

/// Operations shown per key in the timeline (the newest; `:history save` writes them all).
pub const TIMELINE_PER_KEY: usize = 200;

/// `12.31`: seconds since the history began.
fn secs(us: u64) -> String {
    format!("{:.2}", us as f64 / 1e6)
}

/// What an operation got: its answer, or why it has none (by kind).
fn outcome_text(op: &Operation) -> String {
    let why = || FailureKind::of(op.error.as_deref().unwrap_or("")).describe();
    match (op.status(), &op.output) {
        (OpStatus::Ok, Some(out)) => out.to_string(),
        (OpStatus::Failed, _) => format!("→ failed: {}", why()),
        _ if op.error.as_deref() == Some("in flight") => "→ waiting for its answer".into(),
        _ => format!(
            "→ unknown: {}; may take effect any time after it was sent",
            why()
        ),
    }
}

/// Every operation, key by key, in the order they were sent: client, sent → answered (seconds
/// since the dashboard started; `…` when no answer came: open-ended), the operation and its
/// outcome.
fn timeline(ops: &[Operation], width: usize, lines: &mut Vec<Line<'static>>) {
    if ops.is_empty() {
        return;
    }
    let mut keys: std::collections::BTreeMap<&str, Vec<&Operation>> = Default::default();
    for op in ops {
        keys.entry(op.key()).or_default().push(op);
    }
    lines.push(Line::from(""));
    lines.push(Line::from(Span::styled(
        "Timeline per key",
        style::strong(),
    )));
    lines.extend(
        word_wrap(
            "client, sent → answered (seconds since the dashboard started; … : no answer, \
             open-ended), the operation and what it got",
            width,
        )
        .into_iter()
        .map(|l| Line::from(Span::styled(l, style::dim()))),
    );
    for (key, ops) in keys {
        lines.push(Line::from(Span::styled(
            format!("key {key}: {} operations", thousands(ops.len() as u64)),
            style::strong(),
        )));
        let skipped = ops.len().saturating_sub(TIMELINE_PER_KEY);
        if skipped > 0 {
            lines.push(Line::from(Span::styled(
                format!(
                    "  … {} earlier (:history save FILE has them all)",
                    thousands(skipped as u64)
                ),
                style::dim(),
            )));
        }
        for op in &ops[skipped..] {
            let done = op.complete_us.map_or("…".to_string(), secs);
            let label = format!("  c{} {}→{done}", op.client, secs(op.invoke_us));
            let text = format!("{} {}", op.op, outcome_text(op));
            lines.extend(hang(22, &label, &text, width));
        }
    }
}
