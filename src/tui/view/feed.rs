//! The event feed: what the nodes did and why, newest at the bottom, filtered by kind and
//! optionally by node.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::style;
use crate::observe::feed::FeedLine;
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
