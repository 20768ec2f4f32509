//! The narration panel of a scenario on the dashboard: title and step, the step's text, the
//! runner's last lines, and the Enter prompt in guided mode (or the verdict at the end).

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use super::style;
use crate::observe::feed::Category;
use crate::tui::app::Theme;
use crate::tui::narration::Narration;

/// Draws the panel into `area`.
pub fn render(n: &Narration, theme: Theme, frame: &mut Frame, area: Rect) {
    let (step, total) = n.step;
    let title = format!(" scenario {}: step {step}/{total} ", n.name);
    let block = Block::default().borders(Borders::ALL).title(title);
    let inner_w = area.width.saturating_sub(2).max(1) as usize;
    let mut lines: Vec<Line<'static>> = vec![Line::from(Span::styled(
        n.title.clone(),
        style::strong().add_modifier(Modifier::BOLD),
    ))];
    if let Some(say) = &n.say {
        for para in say.split("\n\n") {
            let joined = para.split_whitespace().collect::<Vec<_>>().join(" ");
            lines.push(Line::from(joined));
        }
    }
    // What comes after the text: the prompt or verdict at the bottom, the runner's lines above
    // it, as many as fit.
    let mut tail: Vec<Line<'static>> = Vec::new();
    match &n.verdict {
        Some(v) if v.passed() => tail.push(Line::from(Span::styled(
            format!("✓ done: {}/{} steps. q quits.", v.steps_done, v.total),
            style::category_style(theme, Category::Client),
        ))),
        Some(v) => {
            let why = v
                .failure
                .as_ref()
                .map_or(String::new(), |(s, w)| format!("step {s}: {w}"));
            tail.push(Line::from(Span::styled(
                format!("✗ failed at {why}"),
                style::alert(theme),
            )));
        }
        None if n.waiting_for_user => tail.push(Line::from(Span::styled(
            "▶ Enter: next step".to_string(),
            style::strong().add_modifier(Modifier::REVERSED),
        ))),
        None if !n.describe.is_empty() => tail.push(Line::from(Span::styled(
            format!("… {}", n.describe),
            style::dim(),
        ))),
        None => {}
    }
    let height = area.height.saturating_sub(2) as usize;
    let text_rows: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_w))
        .sum();
    let room = height.saturating_sub(text_rows + tail.len());
    let recent: Vec<Line<'static>> = n
        .lines
        .iter()
        .rev()
        .take(room)
        .rev()
        .map(|(ok, text)| {
            let (mark, st) = if *ok {
                ("✓ ", style::dim())
            } else {
                ("✗ ", style::alert(theme))
            };
            let mut t: String = text.chars().take(inner_w.saturating_sub(2)).collect();
            if t.chars().count() < text.chars().count() {
                t.pop();
                t.push('…');
            }
            Line::from(vec![Span::styled(mark, st), Span::styled(t, st)])
        })
        .collect();
    lines.extend(recent);
    lines.extend(tail);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
