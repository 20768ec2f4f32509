//! The node table: what each node believes — role, term, vote, last log entry, commit and apply
//! indexes, its newest snapshot (`snap`, wherever the column fits), its election timer — and,
//! from the leader's progress, each follower's match/next, or `▣ 50%` while the leader sends it
//! a snapshot. The wide layout ends with each node's faults (`slow +300ms clock 2x isolated`),
//! in short forms (`+300ms 2x isol`) when the column is too narrow for the long ones.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

use super::{ring::timer_bar, style};
use crate::observe::format;
use crate::raft::Role;
use crate::tui::app::AppState;

/// Width of the snap column (`1234/12`).
const SNAP_WIDTH: u16 = 7;

/// Draws the table.
pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(" nodes ");
    let Some(view) = &state.view else {
        frame.render_widget(block, area);
        return;
    };
    let wide = area.width >= 78;
    let narrow = area.width < 60;
    let mut widths: Vec<u16> = if narrow {
        vec![1, 3, 4, 4, 6, 4, 4, 4, 7]
    } else {
        vec![1, 4, 4, 4, 8, 6, 7, 6, 10]
    };
    if wide {
        widths.insert(2, 9);
        widths.insert(6, 6);
    }
    // The snap column goes after "applied" when it fits beside the others (one space between
    // columns; the wide layout's faults column wants at least 8).
    let applied_at = if wide { 8 } else { 6 };
    let faults_min = if wide { 1 + 8 } else { 0 };
    let used = widths.iter().sum::<u16>() + widths.len() as u16 - 1 + faults_min;
    let snap = !narrow && used + 1 + SNAP_WIDTH <= area.width.saturating_sub(2);
    if snap {
        widths.insert(applied_at + 1, SNAP_WIDTH);
    }
    // What the faults column gets: the rest of the row.
    let faults_width = area
        .width
        .saturating_sub(2)
        .saturating_sub(widths.iter().sum::<u16>() + widths.len() as u16);
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
    if snap {
        header.insert(applied_at + 1, "snap");
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
                .map_or(String::new(), |p| match p.snapshot_transfer {
                    // InstallSnapshot in progress: how much of it the follower confirmed.
                    Some((_, sent, total)) => format!("▣ {}%", format::percent(sent, total)),
                    None => format!("{}/{}", p.match_index, p.next_index),
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
            let name = match style::role_detail(s).filter(|_| role.is_some()) {
                Some(detail) if !detail.starts_with("transfer") => detail,
                _ => name.to_string(),
            };
            cells.insert(2, Cell::from(Span::styled(name, rs)));
            // The persisted last index beside the in-memory one.
            cells.insert(6, Cell::from(s.persisted_index.to_string()));
            // (long, short): the short forms when the long ones do not fit the column.
            let mut faults: Vec<(String, String)> = Vec::new();
            if !n.slow.is_zero() {
                let ms = n.slow.as_millis();
                faults.push((format!("slow +{ms}ms"), format!("+{ms}ms")));
            }
            if (n.clock_rate - 1.0).abs() > 1e-9 {
                let rate = n.clock_rate;
                faults.push((format!("clock {rate}x"), format!("{rate}x")));
            }
            let isolated = view
                .status
                .nodes
                .iter()
                .filter(|o| o.id != n.id)
                .all(|o| view.status.cut_links.contains(&(n.id, o.id)));
            if isolated && view.status.nodes.len() > 1 {
                faults.push(("isolated".into(), "isol".into()));
            }
            let long = faults.iter().map(|f| f.0.as_str()).collect::<Vec<_>>();
            let long = long.join(" ");
            let text = if long.chars().count() <= faults_width as usize {
                long
            } else {
                let short = faults.iter().map(|f| f.1.as_str()).collect::<Vec<_>>();
                short.join(" ")
            };
            cells.push(if faults.is_empty() {
                Cell::from("")
            } else {
                Cell::from(Span::styled(text, style::alert(state.theme)))
            });
        }
        if snap {
            // The newest snapshot: the log before it is compacted away.
            cells.insert(
                applied_at + 1,
                Cell::from(if s.snapshot_index == 0 {
                    "—".to_string()
                } else {
                    format!("{}/{}", s.snapshot_index, s.snapshot_term)
                }),
            );
        }
        let row = Row::new(cells);
        if n.id == state.selected {
            row.style(ratatui::style::Style::default().add_modifier(Modifier::BOLD))
        } else {
            row
        }
    });
    let mut widths: Vec<Constraint> = widths.into_iter().map(Constraint::Length).collect();
    if wide {
        widths.push(Constraint::Min(8));
    }
    let table = Table::new(rows, widths)
        .header(Row::new(header.into_iter().map(|h| Cell::from(Line::from(h)))).style(style::dim()))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}
