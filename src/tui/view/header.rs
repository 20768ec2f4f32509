//! The header line: cluster size, leader, highest term, commit index, the configuration when it
//! has learners or is changing, preset and speed, running or paused, where help is — and, in
//! red, the unsafe rules when any is on.

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
    // A stale leader (cut off, in an old term) must not read as the leader of the highest term.
    let leader_term = leader
        .and_then(|l| st.nodes.iter().find(|n| n.id == l))
        .filter(|n| n.status.term != term)
        .map_or(String::new(), |n| format!(" (of term {})", n.status.term));
    let run = if st.paused {
        Span::styled(
            " ❚❚ PAUSED",
            match state.theme {
                Theme::Color => Style::default().fg(Color::Black).bg(Color::Yellow),
                Theme::Mono => style::alert(Theme::Mono),
            },
        )
    } else {
        Span::styled(" ▶ running", style::dim())
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
    // The configuration, when it is worth a look: learners, a change not yet committed, or
    // voters other than the nodes on screen. The leader's view, else the most advanced node's.
    let conf_of = leader
        .and_then(|l| st.nodes.iter().find(|n| n.id == l))
        .or_else(|| st.nodes.iter().max_by_key(|n| n.status.commit))
        .map(|n| &n.status);
    let config = conf_of
        .filter(|s| !s.voters.is_empty())
        .filter(|s| {
            let ids: Vec<_> = st.nodes.iter().map(|n| n.id).collect();
            !s.learners.is_empty() || s.conf_pending || s.voters != ids
        })
        .map_or(String::new(), |s| {
            let list = |ids: &[u64]| {
                ids.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            };
            let mut text = format!(" │ voters {}", list(&s.voters));
            if !s.learners.is_empty() {
                text.push_str(&format!(" learners {}", list(&s.learners)));
            }
            if s.conf_pending {
                text.push_str(" (uncommitted)");
            }
            text
        });
    // Segments with the order in which they give way on a narrow terminal (0 never does).
    let leader_style = style::role_style(state.theme, leader.map(|_| crate::raft::Role::Leader));
    let segments: Vec<(u8, Vec<Span>)> = vec![
        (0, vec![Span::styled(" raftlab", style::strong())]),
        (4, vec![Span::raw(format!(" │ {up}/{} up", st.nodes.len()))]),
        (
            0,
            vec![
                Span::raw(" │ leader "),
                Span::styled(
                    leader.map_or("none".to_string(), |l| format!("{l}")),
                    leader_style,
                ),
                Span::raw(leader_term),
            ],
        ),
        (0, vec![Span::raw(format!(" │ term {term}"))]),
        (3, vec![Span::raw(format!(" │ commit {commit}"))]),
        (0, vec![Span::raw(" │"), run]),
        (0, vec![Span::styled(partition, style::alert(state.theme))]),
        (3, vec![Span::raw(config)]),
        (
            1,
            vec![Span::raw(format!(
                " │ {} {}ms ×{:.2}",
                st.preset,
                st.tick.as_millis(),
                st.speed
            ))],
        ),
        (2, vec![Span::styled(" │ ? help", style::dim())]),
    ];
    let width = |segs: &[(u8, Vec<Span>)]| -> usize {
        segs.iter()
            .flat_map(|(_, spans)| spans.iter())
            .map(|s| s.content.chars().count())
            .sum()
    };
    let mut segments = segments;
    if state.replay.is_some() {
        segments.insert(1, (0, vec![Span::styled(" │ REPLAY", style::strong())]));
    }
    // Rules that break Raft on purpose are never hidden: loud, and they never give way.
    if let Some(marker) = &state.unsafe_rules {
        let loud = match state.theme {
            Theme::Color => Style::default().fg(Color::White).bg(Color::Red),
            Theme::Mono => style::alert(Theme::Mono),
        };
        segments.insert(
            1,
            (
                0,
                vec![Span::raw(" │ "), Span::styled(marker.clone(), loud)],
            ),
        );
    }
    for give_way in 1..=4u8 {
        if width(&segments) <= area.width as usize {
            break;
        }
        segments.retain(|(p, _)| *p != give_way);
    }
    let line = Line::from(
        segments
            .into_iter()
            .flat_map(|(_, spans)| spans)
            .collect::<Vec<_>>(),
    );
    frame.render_widget(Paragraph::new(line), area);
}
