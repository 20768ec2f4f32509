//! The footer: the prompt when open (a long line scrolled to show its end, and a notice when a
//! paste was cut or changed), else the last result (with a caret under the word a prompt error
//! is about), the main keys and the verdict on the history. While the
//! user's client operations wait for their answer, one row more above it says where each one
//! sits:
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
use crate::command::prompt::{PromptError, PROMPT_MAX};
use crate::observe::format::thousands;
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

/// How many rows the footer takes: the status line and the keys; with a prompt error, the line
/// and its caret too; at the open prompt, its line, the keys, and a row each for the notice
/// (a paste cut or changed) and the completions when there are any.
pub fn height(state: &AppState) -> u16 {
    if prompt_error(state).is_some() {
        4
    } else if state.focus == Focus::Prompt {
        2 + u16::from(state.prompt.notice.is_some())
            + u16::from(!state.prompt.completions.is_empty())
    } else {
        2
    }
}

/// The most rows a result (the status line) takes before it ends in `…`.
pub const STATUS_ROWS: usize = 3;

/// The status line in `width` columns: wrapped by words onto at most [`STATUS_ROWS`] rows, the
/// last ending in `…` when there is more.
pub fn status_lines(text: &str, width: u16) -> Vec<String> {
    let width = usize::from(width).max(10);
    if text.chars().count() <= width {
        return vec![text.to_string()];
    }
    let mut rows = super::wrap::word_wrap(text, width);
    if rows.len() > STATUS_ROWS {
        rows.truncate(STATUS_ROWS);
        if let Some(last) = rows.last_mut() {
            // Room for the mark: whole words only.
            let mut words: Vec<&str> = last.split(' ').collect();
            while !words.is_empty() && words.join(" ").chars().count() + 2 > width {
                words.pop();
            }
            *last = format!("{} …", words.join(" "));
        }
    }
    rows
}

/// How many rows more than one the status line takes at `width` (0 while the prompt is open,
/// which has no status line, and in a recording's replay, whose results keep to one row; a
/// lab's wrap as the live dashboard's do).
pub fn extra_status_rows(state: &AppState, width: u16) -> u16 {
    let recording = state
        .replay
        .as_ref()
        .is_some_and(|r| r.recording().is_some());
    if state.focus == Focus::Prompt || recording {
        return 0;
    }
    status_lines(&state.status_line, width)
        .len()
        .saturating_sub(1) as u16
}

/// The open prompt's line in `width` columns: `:`, the text, the cursor `█`. A line too long
/// to fit shows its end, where the cursor is, after a `…` that stands for the part scrolled
/// out at the left; the flag says it did.
pub fn prompt_line(input: &str, width: usize) -> (Line<'static>, bool) {
    let char_width = |c: char| Span::raw(c.encode_utf8(&mut [0; 4]).to_string()).width();
    let total: usize = input.chars().map(char_width).sum();
    // ":" and "█" take a column each.
    if total + 2 <= width {
        let line = Line::from(vec![
            Span::styled(":", style::strong()),
            Span::raw(input.to_string()),
            Span::styled("█", style::dim()),
        ]);
        return (line, false);
    }
    // ":", "…", the tail, "█".
    let room = width.saturating_sub(3);
    let mut used = 0;
    let mut start = input.len();
    for (i, c) in input.char_indices().rev() {
        let w = char_width(c);
        if used + w > room {
            break;
        }
        used += w;
        start = i;
    }
    let line = Line::from(vec![
        Span::styled(":", style::strong()),
        Span::styled("…", style::dim()),
        Span::raw(input[start..].to_string()),
        Span::styled("█", style::dim()),
    ]);
    (line, true)
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
        let width = area.width as usize;
        let (line, scrolled) = prompt_line(&state.prompt.input, width);
        lines.push(line);
        if let Some(notice) = &state.prompt.notice {
            lines.push(Line::from(Span::styled(
                notice.clone(),
                style::alert(state.theme),
            )));
        }
        if !state.prompt.completions.is_empty() {
            lines.push(Line::from(Span::styled(
                state.prompt.completions.join("  "),
                style::dim(),
            )));
        }
        let mut keys = Vec::new();
        if scrolled {
            // The line's length first, since its start is out of sight.
            keys.push(format!(
                "{} of {} bytes",
                thousands(state.prompt.input.len() as u64),
                thousands(PROMPT_MAX as u64)
            ));
        }
        keys.extend(
            action::footer(Mode::Prompt)
                .iter()
                .map(action::Footer::text),
        );
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
        // A long result wraps by words onto up to STATUS_ROWS rows, never cut mid-word.
        for row in status_lines(&state.status_line, area.width) {
            lines.push(Line::from(Span::styled(row, st)));
        }
        // The verdict on the history, right-aligned; the keys take what is left.
        let width = area.width as usize;
        // At a guided stop its key comes first, at every width.
        let mut text = String::new();
        if state.mode() == Mode::Stop {
            for f in action::footer(Mode::Stop) {
                text.push_str(&format!("{} · ", f.text()));
            }
        }
        text.push_str(&format!("{DIGITS_LABEL} select"));
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
