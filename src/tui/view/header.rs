//! The header line: cluster size, leader, highest term, commit index, the configuration when it
//! has learners or is changing, the faults in force (slow nodes, skewed clocks, links that lose
//! or delay messages), the thesis's rules in force (`PreVote·CheckQuorum`, or `Figure 2 only`
//! with `--paper`), preset and speed, running or paused, where help is — and, in red, the
//! unsafe rules when any is on. On a narrow terminal segments shorten, then give way, least
//! useful first; the partition, the pause and the unsafe rules never do.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{faults, style};
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
    // Segments, each with its forms: from the level at which it takes that form on (0: at
    // once). A narrow terminal raises the level until the line fits: the preset goes first (1),
    // then help (2), commit, configuration and the faults' measures (3), the nodes up (4), the
    // rules (5), the faults but their count (6). An empty form is a segment gone.
    let leader_style = style::role_style(state.theme, leader.map(|_| crate::raft::Role::Leader));
    let raw = |level: u8, text: String| (level, vec![Span::raw(text)]);
    let gone = |level: u8| (level, Vec::new());
    let mut segments: Vec<Vec<(u8, Vec<Span>)>> = vec![
        vec![(0, vec![Span::styled(" raftlab", style::strong())])],
        vec![raw(0, format!(" │ {up}/{} up", st.nodes.len())), gone(4)],
        vec![(
            0,
            vec![
                Span::raw(" │ leader "),
                Span::styled(
                    leader.map_or("none".to_string(), |l| format!("{l}")),
                    leader_style,
                ),
                Span::raw(leader_term),
            ],
        )],
        vec![raw(0, format!(" │ term {term}"))],
        vec![raw(0, format!(" │ commit {commit}")), gone(3)],
        vec![(0, vec![Span::raw(" │"), run])],
        vec![(0, vec![Span::styled(partition, style::alert(state.theme))])],
    ];
    // Faults other than kills and partitions: slow nodes, skewed clocks, lossy or slow links.
    if let Some([long, short, count]) = faults::summary(view) {
        let loud = |text: String| {
            vec![
                Span::raw(" │ "),
                Span::styled(text, faults::warn(state.theme)),
            ]
        };
        segments.push(vec![(0, loud(long)), (3, loud(short)), (6, loud(count))]);
    }
    segments.push(vec![raw(0, config), gone(3)]);
    if let Some(rules) = &state.rules_in_force {
        segments.push(vec![raw(0, format!(" │ {rules}")), gone(5)]);
    }
    segments.push(vec![
        raw(
            0,
            format!(
                " │ {} {}ms ×{:.2}",
                st.preset,
                st.tick.as_millis(),
                st.speed
            ),
        ),
        gone(1),
    ]);
    segments.push(vec![
        (0, vec![Span::styled(" │ ? help", style::dim())]),
        gone(2),
    ]);
    if let Some(replay) = &state.replay {
        let label = match replay.lab() {
            // The engine and the branch: a lab is not a recording.
            Some(m) => format!(
                " │ LAB sim engine · seed {} · branch {}/{}",
                m.run().settings.seed,
                m.current() + 1,
                m.branches().len()
            ),
            None => " │ REPLAY".to_string(),
        };
        let short = match replay.lab() {
            Some(m) => format!(" │ LAB b{}", m.current() + 1),
            None => " │ REPLAY".to_string(),
        };
        segments.insert(
            1,
            vec![
                (0, vec![Span::styled(label, style::strong())]),
                (2, vec![Span::styled(short, style::strong())]),
            ],
        );
    }
    // Rules that break Raft on purpose are never hidden: loud, and they never give way.
    if let Some(marker) = &state.unsafe_rules {
        let loud = match state.theme {
            Theme::Color => Style::default().fg(Color::White).bg(Color::Red),
            Theme::Mono => style::alert(Theme::Mono),
        };
        segments.insert(
            1,
            vec![(
                0,
                vec![Span::raw(" │ "), Span::styled(marker.clone(), loud)],
            )],
        );
    }
    // Each segment's form at `level`: the last one that has taken over by then.
    let at = |level: u8| -> Vec<Span> {
        segments
            .iter()
            .filter_map(|forms| forms.iter().rev().find(|(from, _)| *from <= level))
            .flat_map(|(_, spans)| spans.iter().cloned())
            .collect()
    };
    let width = |spans: &[Span]| -> usize { spans.iter().map(|s| s.width()).sum() };
    let level = (0..=6u8)
        .find(|l| width(&at(*l)) <= area.width as usize)
        .unwrap_or(6);
    let line = Line::from(at(level));
    frame.render_widget(Paragraph::new(line), area);
}
