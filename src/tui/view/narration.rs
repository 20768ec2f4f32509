//! The narration panel of a scenario on the dashboard: title and step, the step's text, the
//! runner's last lines, and at a guided stop the Enter prompt with what a stop means (or the
//! verdict at the end).
//!
//! ```text
//! ┌ scenario figure-8: step 3/8 ──────────────────────────┐
//! │Figure 8: why a leader does not commit old entries by  │  title
//! │counting                                               │
//! │(a) Node 1 appends a new entry, y = 2, at index 3 in   │  the step's text, word-wrapped
//! │term 1, and it reaches node 2 only: ...                │
//! │✓ let k = last 1 → 2                                   │  the runner's newest lines
//! │✓ wait last 2 > 2: ok after 0.4 s (1 leader t1, ...)   │
//! │▶ Enter: next step time stands still until then        │  the stop: always shown
//! │keys still act; what they change is yours to answer for│
//! └───────────────────────────────────────────────────────┘
//! ```
//!
//! When the panel is too short for everything, the stop or verdict stays, then the step's text
//! (as much as fits, ending in `…`), then the title, then the runner's lines.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::style;
use super::wrap::{hang, word_wrap};
use crate::observe::feed::Category;
use crate::tui::app::Theme;
use crate::tui::narration::Narration;

/// What a guided stop means, beside and under its Enter prompt.
pub const STOP_NOTE: (&str, &str) = (
    "time stands still until then",
    "keys still act; what they change is yours to answer for",
);

/// Draws the panel into `area`.
pub fn render(n: &Narration, theme: Theme, frame: &mut Frame, area: Rect) {
    let (step, total) = n.step;
    let title = format!(" scenario {}: step {step}/{total} ", n.name);
    let block = Block::default().borders(Borders::ALL).title(title);
    let width = area.width.saturating_sub(2).max(1) as usize;
    let height = area.height.saturating_sub(2) as usize;
    let lines = lines(n, theme, width, height);
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The panel's rows for an inside of `width` × `height`.
fn lines(n: &Narration, theme: Theme, width: usize, height: usize) -> Vec<Line<'static>> {
    let styled = |text: &str, st: Style| -> Vec<Line<'static>> {
        word_wrap(text, width)
            .into_iter()
            .map(|l| Line::from(Span::styled(l, st)))
            .collect()
    };
    // What to do next, or how it ended: always shown.
    let mut tail: Vec<Line<'static>> = Vec::new();
    match &n.verdict {
        Some(v) if v.passed() => tail.extend(styled(
            &format!("✓ done: {}/{} steps. q quits.", v.steps_done, v.total),
            style::category_style(theme, Category::Client),
        )),
        Some(v) => {
            let why = v
                .failure
                .as_ref()
                .map_or(String::new(), |(s, w)| format!("step {s}: {w}"));
            tail.extend(styled(&format!("✗ failed at {why}"), style::alert(theme)));
        }
        None if n.waiting_for_user => {
            let prompt = Span::styled(
                "▶ Enter: next step",
                style::strong().add_modifier(Modifier::REVERSED),
            );
            let (beside, under) = STOP_NOTE;
            if prompt.width() + 1 + beside.len() <= width {
                tail.push(Line::from(vec![
                    prompt,
                    Span::styled(format!(" {beside}"), style::dim()),
                ]));
                tail.extend(styled(under, style::dim()));
            } else {
                tail.push(Line::from(prompt));
                tail.extend(styled(&format!("{beside}; {under}"), style::dim()));
            }
        }
        None if !n.describe.is_empty() => {
            tail.extend(styled(&format!("… {}", n.describe), style::dim()))
        }
        None => {}
    }
    tail.truncate(height);
    let mut room = height - tail.len();
    let mut out: Vec<Line<'static>> = Vec::new();
    let take = |rows: Vec<Line<'static>>, room: &mut usize, out: &mut Vec<Line<'static>>| {
        let fits = rows.len() <= *room;
        let shown = rows.len().min(*room);
        out.extend(rows.into_iter().take(shown));
        *room -= shown;
        if !fits {
            // The last row shown says that more was cut (whole words only).
            if let Some(last) = out.last_mut() {
                let mut text = last.to_string();
                while text.chars().count() + 2 > width {
                    match text.rfind(' ') {
                        Some(i) => text.truncate(i),
                        None => {
                            text.clear();
                            break;
                        }
                    }
                }
                let st = last.style;
                *last = Line::from(format!("{text} …").trim_start().to_string()).style(st);
            }
        }
    };
    // The step's text comes before the title when both do not fit.
    let mut said = Vec::new();
    if let Some(say) = &n.say {
        for para in say.split("\n\n") {
            said.extend(word_wrap(para, width).into_iter().map(Line::from));
        }
    }
    let title = styled(&n.title, style::strong().add_modifier(Modifier::BOLD));
    if title.len() + said.len() <= room {
        take(title, &mut room, &mut out);
    }
    take(said, &mut room, &mut out);
    // The runner's newest lines, as many as fit, oldest first.
    let mut recent: Vec<Vec<Line<'static>>> = Vec::new();
    for (ok, text) in n.lines.iter().rev() {
        let (mark, st) = if *ok {
            ("✓", style::dim())
        } else {
            ("✗", style::alert(theme))
        };
        let rows: Vec<Line<'static>> = hang(2, mark, text, width)
            .into_iter()
            .map(|l| l.style(st))
            .collect();
        if rows.len() > room {
            break;
        }
        room -= rows.len();
        recent.push(rows);
    }
    out.extend(recent.into_iter().rev().flatten());
    out.extend(tail);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::runner::RunReport;

    fn text(lines: &[Line<'_>]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    fn at_a_stop() -> Narration {
        let mut n = Narration::new("s", "A story", 3, true);
        n.apply(RunReport::Step {
            number: 1,
            total: 3,
            say: Some("Node 1 times out first and asks the others for their votes.".into()),
            describe: "do campaign 1".into(),
        });
        n.apply(RunReport::Line {
            ok: true,
            text: "wait leader 1: ok after 0.8 s (1 leader t1, 2 follower t1, 3 follower t1)"
                .into(),
        });
        n.apply(RunReport::WaitingForUser);
        n
    }

    #[test]
    fn a_stop_says_that_time_stands_still_and_nothing_is_cut_mid_word() {
        let rows = text(&lines(&at_a_stop(), Theme::Mono, 30, 20));
        let all = rows.join(" ");
        assert!(all.contains("▶ Enter: next step"), "{rows:#?}");
        assert!(all.contains("time stands still until then"), "{rows:#?}");
        assert!(all.contains("yours to answer for"), "{rows:#?}");
        assert!(rows.iter().all(|r| r.chars().count() <= 30), "{rows:#?}");
        // Every word of the runner's line is whole.
        assert!(all.contains("follower t1)"), "{rows:#?}");
    }

    #[test]
    fn a_short_panel_keeps_the_stop_and_marks_the_cut_text() {
        let rows = text(&lines(&at_a_stop(), Theme::Mono, 30, 6));
        assert_eq!(rows.len(), 6, "{rows:#?}");
        assert!(rows.iter().any(|r| r.contains("▶ Enter")), "{rows:#?}");
        assert!(rows.iter().any(|r| r.ends_with('…')), "{rows:#?}");
    }
}
