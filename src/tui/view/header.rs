//! The header line: cluster size, leader, highest term, commit index, preset and speed, running
//! or paused, and where help is.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::style;
use crate::tui::app::{AppState, Theme};

/// Draws the header.
pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let Some(view) = &state.view else {
        frame.render_widget(Paragraph::new(" raftlab — starting the cluster..."), area);
        return;
    };
    let st = &view.status;
    let up = st.nodes.iter().filter(|n| n.up).count();
    let term = st.nodes.iter().map(|n| n.status.term).max().unwrap_or(0);
    let leader = st.leader();
    let commit = leader
        .and_then(|l| st.nodes.iter().find(|n| n.id == l))
        .map_or_else(
            || st.nodes.iter().map(|n| n.status.commit).max().unwrap_or(0),
            |n| n.status.commit,
        );
    let run = if st.paused {
        Span::styled(
            " ❚❚ PAUSED ",
            match state.theme {
                Theme::Color => Style::default().fg(Color::Black).bg(Color::Yellow),
                Theme::Mono => style::alert(Theme::Mono),
            },
        )
    } else {
        Span::styled(" ▶ running ", style::dim())
    };
    let partition = if st.groups.len() > 1 {
        let groups: Vec<String> = st
            .groups
            .iter()
            .map(|g| {
                g.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .collect();
        format!(" │ partition {{{}}}", groups.join("} {"))
    } else {
        String::new()
    };
    let line = Line::from(vec![
        Span::styled(" raftlab ", style::strong()),
        Span::raw(format!("│ {up}/{} up │ leader ", st.nodes.len())),
        Span::styled(
            leader.map_or("none".to_string(), |l| format!("{l}")),
            style::role_style(state.theme, leader.map(|_| crate::raft::Role::Leader)),
        ),
        Span::raw(format!(
            " │ term {term} │ commit {commit} │ {} tick {} ms (×{:.2}) ",
            st.preset,
            st.tick.as_millis(),
            st.speed
        )),
        run,
        Span::styled(partition, style::alert(state.theme)),
        Span::styled(" │ ? help", style::dim()),
    ]);
    frame.render_widget(Paragraph::new(line), area);
}
