//! The footer: the prompt when open, else the last result (with a caret under the word a
//! prompt error is about), the main keys and the verdict on the history. While the user's client
//! operations wait for their answer, one row more above it says where each one sits:
//!
//! ```text
//! 1 pending: put y 2 → node 3, index 5 (commit 4), 12 s
//! put y 2 sent to node 3
//! 1-9 select · : command · ? help ...
//! ```

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{style, verdict};
use crate::command::executor::pending_line;
use crate::command::prompt::PromptError;
use crate::tui::action::{self, Mode, DIGITS_LABEL};
use crate::tui::app::{AppState, Focus};

/// The prompt line that did not parse and its error, while the status line still shows that
/// error (the footer then takes two rows more: the line, and a caret under the word).
pub fn prompt_error(state: &AppState) -> Option<(&str, &PromptError)> {
    let (line, e) = state.prompt.error.as_ref()?;
    let current = state.replay.is_none()
        && state.focus != Focus::Prompt
        && state.status_line.strip_prefix("error: ") == Some(e.to_string().as_str());
    current.then_some((line.as_str(), e))
}

/// The pending row, `width` columns at most: the user's operations waiting for their answer,
/// where each sits and for how long (cluster time: the ages stand still while paused). `None`
/// when nothing waits (or in a replay).
pub fn pending_row(state: &AppState, width: u16) -> Option<String> {
    let view = state.view.as_ref().filter(|_| state.replay.is_none())?;
    pending_line(&state.pending_ops, &view.status, view.at, width as usize)
}

/// The footer: the prompt when open, else the last result (with a caret under the word a
/// prompt error is about) and the main keys; the pending row above them.
pub fn footer(state: &AppState, frame: &mut Frame, area: Rect) {
    if state.replay.is_some() && state.focus != Focus::Prompt {
        super::timeline::footer(state, frame, area);
        return;
    }
    let mut lines = Vec::new();
    if let Some(row) = pending_row(state, area.width) {
        lines.push(Line::from(Span::styled(row, style::strong())));
    }
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
