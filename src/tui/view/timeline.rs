//! The replay's time slider: one line in place of the footer's keys.
//!
//! ```text
//!  ▶ ×2   12.3s ━━━━━━━━━━━━━━●───────────────────── 65.0s  space play · ←→ 1s · ,. frame · ...
//! ```
//!
//! Play state and speed, the position, a bar with the cursor where the position is between the
//! recording's first frame and its end (in a lab: 0 and how far the branch has been played,
//! with `┿` where the branch forked), the end time, and as many replay keys as fit (they give
//! way first; the bar keeps at least [`MIN_BAR`] columns).

use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::style;
use crate::tui::action::{self, Action, Footer, Mode};
use crate::tui::app::{AppState, Theme};
use crate::tui::replay::ReplayState;

/// Fewest columns the bar keeps.
pub const MIN_BAR: usize = 12;

/// The keys, longest first: the first that fits is shown. From the replay's key table and the
/// main screen's help key: `space play · ←→ 1s · ... · ? help`, then the keys alone
/// (`space ←→ ,. ... ?`), then `? help`.
fn keys() -> [String; 3] {
    let mut items = action::footer(Mode::Replay);
    items.extend(
        action::bindings(Mode::Main)
            .into_iter()
            .filter(|b| b.action == Action::ToggleHelp)
            .filter_map(|b| b.footer),
    );
    let words: Vec<String> = items.iter().map(Footer::text).collect();
    let keys: Vec<&str> = items.iter().map(|f| f.keys).collect();
    [
        words.join(" · "),
        keys.join(" "),
        words.last().cloned().unwrap_or_default(),
    ]
}

/// `12.3s`, or `1:05.0` from a minute on.
pub fn clock(d: std::time::Duration) -> String {
    let s = d.as_secs_f64();
    if s < 60.0 {
        format!("{s:.1}s")
    } else {
        let m = (s / 60.0).floor();
        format!("{m:.0}:{:04.1}", s - m * 60.0)
    }
}

/// `×1`, `×0.25`, `×16`.
pub fn speed_label(speed: f64) -> String {
    let text = format!("{speed:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("×{text}")
}

/// The play state's glyph and word.
fn play_state(r: &ReplayState) -> &'static str {
    if r.playing {
        "▶ playing"
    } else if r.at_end() {
        "■ end"
    } else {
        "❚❚ paused"
    }
}

/// The bar, `width` columns: played `━`, the cursor `●`, the rest `─`.
pub fn bar(r: &ReplayState, width: usize) -> (String, String, String) {
    let width = width.max(1);
    let total = r.end().saturating_sub(r.start()).as_secs_f64();
    let done = r.position.saturating_sub(r.start()).as_secs_f64();
    let frac = if total > 0.0 {
        (done / total).clamp(0.0, 1.0)
    } else {
        1.0
    };
    let cursor = ((width - 1) as f64 * frac).round() as usize;
    let mut played: Vec<char> = "━".repeat(cursor).chars().collect();
    let mut rest: Vec<char> = "─".repeat(width - 1 - cursor).chars().collect();
    // A lab's branch that forked: `┿` where it parts from the one it came from.
    let fork = r
        .lab()
        .and_then(|m| m.branches()[m.current()].parent)
        .map(|(_, at)| at);
    if let Some(at) = fork.filter(|_| total > 0.0) {
        let f = (at.saturating_sub(r.start()).as_secs_f64() / total).clamp(0.0, 1.0);
        let col = ((width - 1) as f64 * f).round() as usize;
        if col < cursor {
            played[col] = '┿';
        } else if col > cursor {
            rest[col - cursor - 1] = '┼';
        }
    }
    (
        played.into_iter().collect(),
        "●".to_string(),
        rest.into_iter().collect(),
    )
}

/// The slider line for a replay, `width` columns wide (empty live).
pub fn line(state: &AppState, width: u16) -> Line<'static> {
    let Some(r) = &state.replay else {
        return Line::default();
    };
    let width = width as usize;
    let head = format!(" {} {}  ", play_state(r), speed_label(r.speed));
    let pos = format!("{} ", clock(r.position));
    let end = format!(" {}", clock(r.end()));
    let fixed = head.chars().count() + pos.chars().count() + end.chars().count();
    let keys = keys()
        .iter()
        .find(|k| fixed + MIN_BAR + 2 + k.chars().count() <= width)
        .map_or(String::new(), |k| format!("  {k}"));
    let bar_w = width
        .saturating_sub(fixed + keys.chars().count())
        .max(MIN_BAR.min(width));
    let (played, cursor, rest) = bar(r, bar_w);
    let (played_style, cursor_style) = match state.theme {
        Theme::Color => (
            Style::default().fg(Color::Cyan),
            Style::default()
                .fg(Color::LightCyan)
                .add_modifier(Modifier::BOLD),
        ),
        Theme::Mono => (Style::default(), style::strong()),
    };
    let head_style = if r.playing {
        style::strong()
    } else {
        Style::default()
    };
    Line::from(vec![
        Span::styled(head, head_style),
        Span::raw(pos),
        Span::styled(played, played_style),
        Span::styled(cursor, cursor_style),
        Span::styled(rest, style::dim()),
        Span::raw(end),
        Span::styled(keys, style::dim()),
    ])
}

/// Draws the slider in `area` (one row).
pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    frame.render_widget(Paragraph::new(line(state, area.width)), area);
}

/// A replay's footer: the status line (the last command result recorded up to the position),
/// then the slider.
pub fn footer(state: &AppState, frame: &mut Frame, area: Rect) {
    let st = if state.status_line.starts_with("error") {
        style::alert(state.theme)
    } else {
        Style::default()
    };
    let mut lines = Vec::new();
    if state.replay.as_ref().is_some_and(|r| r.lab().is_some()) {
        // A lab's results (an outcome, :branches, :next, a broken property) wrap by words.
        for row in super::footer::status_lines(&state.status_line, area.width) {
            lines.push(Line::from(Span::styled(row, st)));
        }
    } else {
        lines.push(Line::from(Span::styled(state.status_line.clone(), st)));
    }
    lines.push(line(state, area.width));
    frame.render_widget(Paragraph::new(lines), area);
}

/// The narration in force (a scenario's recording), on its own row.
pub fn narration(state: &AppState, frame: &mut Frame, area: Rect) {
    let text = state
        .replay
        .as_ref()
        .and_then(|r| r.narration.clone())
        .unwrap_or_default();
    let line = if text.is_empty() {
        Line::default()
    } else {
        Line::from(vec![
            Span::styled(" » ", style::dim()),
            Span::styled(text, style::strong()),
        ])
    };
    frame.render_widget(Paragraph::new(line), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn clocks_and_speeds_read_well() {
        assert_eq!(clock(Duration::from_millis(12_345)), "12.3s");
        assert_eq!(clock(Duration::from_millis(65_000)), "1:05.0");
        assert_eq!(clock(Duration::from_millis(600_049)), "10:00.0");
        assert_eq!(speed_label(1.0), "×1");
        assert_eq!(speed_label(0.25), "×0.25");
        assert_eq!(speed_label(0.5), "×0.5");
        assert_eq!(speed_label(16.0), "×16");
    }
}
