//! The node table: what each node believes — role, term, vote, last log entry, commit and apply
//! indexes, its election timer — and, from the leader's progress, each follower's match/next.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

use super::{ring::timer_bar, style};
use crate::raft::Role;
use crate::tui::app::AppState;

/// Draws the table.
pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(" nodes ");
    let Some(view) = &state.view else {
        frame.render_widget(block, area);
        return;
    };
    let wide = area.width >= 78;
    let narrow = area.width < 60;
    let bar = if narrow { 4 } else { 6 };
    let leader = view.status.leader();
    let progress = leader
        .and_then(|l| view.status.nodes.iter().find(|n| n.id == l))
        .map(|n| n.status.progress.clone())
        .unwrap_or_default();
    let mut header = if narrow {
        vec![
            "", "id", "term", "vote", "last", "cmt", "appl", "tmr", "m/n",
        ]
    } else {
        vec![
            "",
            "node",
            "term",
            "vote",
            "last",
            "commit",
            "applied",
            "timer",
            "match/next",
        ]
    };
    if wide {
        header.insert(2, "role");
        header.insert(6, "disk");
        header.push("faults");
    }
    let rows = view.status.nodes.iter().map(|n| {
        let role = n.up.then_some(n.status.role);
        let (sym, name) = style::role_symbol(role);
        let rs = style::role_style(state.theme, role);
        let s = &n.status;
        let timer = match role {
            Some(Role::Leader) => if narrow { "lead" } else { "leads" }.to_string(),
            Some(_) => timer_bar(s.election_elapsed, s.election_timeout, bar),
            None => "—".to_string(),
        };
        let repl = if Some(n.id) == leader {
            "—".to_string()
        } else {
            progress
                .iter()
                .find(|p| p.id == n.id)
                .map_or(String::new(), |p| {
                    format!("{}/{}", p.match_index, p.next_index)
                })
        };
        let mut cells = vec![
            Cell::from(if n.id == state.selected { "▶" } else { " " }),
            Cell::from(Span::styled(format!("{sym}{}", n.id), rs)),
            Cell::from(s.term.to_string()),
            Cell::from(s.voted_for.map_or("-".into(), |v| v.to_string())),
            Cell::from(format!("{}/{}", s.last_log_index, s.last_log_term)),
            Cell::from(s.commit.to_string()),
            Cell::from(s.applied.to_string()),
            Cell::from(timer),
            Cell::from(repl),
        ];
        if wide {
            cells.insert(2, Cell::from(Span::styled(name, rs)));
            // The persisted last index beside the in-memory one.
            cells.insert(6, Cell::from(s.persisted_index.to_string()));
            let mut faults = Vec::new();
            if !n.slow.is_zero() {
                faults.push(format!("slow +{}ms", n.slow.as_millis()));
            }
            if (n.clock_rate - 1.0).abs() > 1e-9 {
                faults.push(format!("clock {}x", n.clock_rate));
            }
            let isolated = view
                .status
                .nodes
                .iter()
                .filter(|o| o.id != n.id)
                .all(|o| view.status.cut_links.contains(&(n.id, o.id)));
            if isolated && view.status.nodes.len() > 1 {
                faults.push("isolated".into());
            }
            cells.push(if faults.is_empty() {
                Cell::from("")
            } else {
                Cell::from(Span::styled(faults.join(" "), style::alert(state.theme)))
            });
        }
        let row = Row::new(cells);
        if n.id == state.selected {
            row.style(ratatui::style::Style::default().add_modifier(Modifier::BOLD))
        } else {
            row
        }
    });
    let mut widths: Vec<Constraint> = if narrow {
        [1, 3, 4, 4, 6, 4, 4, 4, 7]
    } else {
        [1, 4, 4, 4, 8, 6, 7, 6, 10]
    }
    .into_iter()
    .map(Constraint::Length)
    .collect();
    if wide {
        widths.insert(2, Constraint::Length(9));
        widths.insert(6, Constraint::Length(6));
        widths.push(Constraint::Min(8));
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header.into_iter().map(|h| Cell::from(Line::from(h)))).style(style::dim()))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}
