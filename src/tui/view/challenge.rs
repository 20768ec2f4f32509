//! The challenge panel: where the narration of a scenario goes, the running challenge's task,
//! its goal and why it does not hold yet, the hints asked for (`H`), and on success what it
//! showed, with the paper's section.
//!
//! ```text
//! ┌ challenge two-leaders · §5.2 · H: hint 1/3 ─────────────┐
//! │ Two leaders at once                                     │
//! │ make two nodes believe they lead at the same moment     │
//! │ goal: leaders at once >= 2                              │
//! │ not yet: leaders at once is 1 (wanted Ge 2)             │
//! │ hint 1: Election Safety says at most one leader per …   │
//! └─────────────────────────────────────────────────────────┘
//! ```

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::style;
use super::wrap::{hang, word_wrap};
use crate::observe::feed::Category;
use crate::tui::app::Theme;
use crate::tui::challenge::{ChallengePanel, Stage};

/// Draws the panel into `area`.
pub fn render(p: &ChallengePanel, theme: Theme, frame: &mut Frame, area: Rect) {
    let hint_key = if p.shown < p.hints.len() {
        format!("H: hint {}/{}", p.shown + 1, p.hints.len())
    } else {
        "all hints shown".to_string()
    };
    let title = format!(" challenge {} · {} · {hint_key} ", p.name, p.section);
    let block = Block::default().borders(Borders::ALL).title(title);
    let width = area.width.saturating_sub(2).max(1) as usize;
    let mut lines: Vec<Line<'static>> = Vec::new();
    lines.push(Line::from(Span::styled(
        p.title.clone(),
        style::strong().add_modifier(Modifier::BOLD),
    )));
    // Solved, the explanation takes the room of the task and the goal.
    if !p.solved() {
        lines.extend(word_wrap(&p.summary, width).into_iter().map(Line::from));
        lines.extend(hang(6, "goal:", &p.goal, width));
    }
    match &p.stage {
        Stage::SettingUp => lines.push(Line::from(Span::styled(
            "setting up the cluster…".to_string(),
            style::dim(),
        ))),
        Stage::Watching => {
            if let Some(why) = &p.not_yet {
                for l in hang(9, "not yet:", why, width) {
                    lines.push(l.style(style::dim()));
                }
            }
        }
        Stage::Failed(why) => {
            for l in hang(2, "✗", &format!("the setup failed: {why}"), width) {
                lines.push(l.style(style::alert(theme)));
            }
        }
        Stage::Solved(took) => {
            let head = format!("✓ solved in {:.1} s ({}):", took.as_secs_f64(), p.section);
            for l in hang(0, "", &format!("{head} {}", p.explain), width) {
                lines.push(l.style(style::category_style(theme, Category::Client)));
            }
            if let Some(note) = &p.progress {
                lines.extend(
                    word_wrap(note, width)
                        .into_iter()
                        .map(|t| Line::from(Span::styled(t, style::dim()))),
                );
            }
        }
    }
    if !p.solved() {
        for (i, h) in p.hints.iter().take(p.shown).enumerate() {
            lines.extend(hang(8, &format!("hint {}:", i + 1), h, width));
        }
    }
    // The newest hints matter most: when the panel is short, drop from the top of the hints.
    let height = area.height.saturating_sub(2) as usize;
    if lines.len() > height {
        let keep_head = 3.min(height);
        let tail_len = height.saturating_sub(keep_head);
        let tail: Vec<Line<'static>> = lines.split_off(lines.len() - tail_len);
        lines.truncate(keep_head);
        lines.extend(tail);
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}
