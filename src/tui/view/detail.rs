//! The selected node's detail overlay: everything about it and its recent events.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::style;
use crate::observe::feed::Category;
use crate::observe::format;
use crate::tui::app::AppState;

/// The selected node's detail view: everything about it and its recent events.
pub fn detail(state: &AppState, frame: &mut Frame, area: Rect) {
    frame.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(format!(" node {} (Esc closes) ", state.selected));
    let Some(n) = state.selected_status() else {
        frame.render_widget(block, area);
        return;
    };
    let s = &n.status;
    let role = n.up.then_some(s.role);
    let (sym, name) = style::role_symbol(role);
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!("{sym} {name}"),
                style::role_style(state.theme, role),
            ),
            Span::raw(format!("  at {}  ", n.addr)),
        ]),
        Line::from(format!(
            "term {}   voted for {}   leader {}",
            s.term,
            s.voted_for.map_or("nobody".into(), |v| v.to_string()),
            s.leader_id.map_or("unknown".into(), |v| v.to_string()),
        )),
        Line::from(format!(
            "log {}..={} (last term {})   persisted {}   commit {}   applied {}   keys {}",
            s.first_index,
            s.last_log_index,
            s.last_log_term,
            s.persisted_index,
            s.commit,
            s.applied,
            n.kv_len
        )),
        Line::from(format!(
            "{}   clock {}x   extra delay {} ms",
            if role == Some(crate::raft::Role::Leader) {
                "sends heartbeats (no election timer while leading)".to_string()
            } else {
                format!(
                    "election timer {}/{} ticks",
                    s.election_elapsed, s.election_timeout
                )
            },
            n.clock_rate,
            n.slow.as_millis()
        )),
    ];
    lines.push(Line::from(if s.snapshot_index == 0 {
        "no snapshot: the log holds every entry from 1".to_string()
    } else {
        format!(
            "snapshot {}/{} ({}): entries 1..={} compacted away, the log starts at {}",
            s.snapshot_index,
            s.snapshot_term,
            format::bytes(s.snapshot_bytes),
            s.snapshot_index,
            s.first_index
        )
    }));
    if let Some((index, received)) = s.receiving_snapshot {
        // The follower does not know the size until the last chunk; the leader does.
        let total = state
            .view
            .as_ref()
            .and_then(|v| {
                let leader = v.status.leader()?;
                v.status.nodes.iter().find(|l| l.id == leader)
            })
            .and_then(|l| l.status.progress.iter().find(|p| p.id == n.id))
            .and_then(|p| p.snapshot_transfer)
            .filter(|(i, _, _)| *i == index)
            .map(|(_, _, total)| total);
        let text = match total {
            Some(total) => format!(
                "receiving snapshot {index}: {}/{}",
                format::thousands(received),
                format::bytes(total)
            ),
            None => format!(
                "receiving snapshot {index}: {} so far",
                format::bytes(received)
            ),
        };
        lines.push(Line::from(Span::styled(text, style::strong())));
    }
    if !s.progress.is_empty() {
        lines.push(Line::from(Span::styled(
            "followers (match / next / state / in flight):",
            style::strong(),
        )));
        for p in &s.progress {
            lines.push(Line::from(format!(
                "  {}: {} / {} / {} / {}",
                p.id,
                p.match_index,
                p.next_index,
                p.state.as_str(),
                p.inflight
            )));
        }
        for p in &s.progress {
            if let Some((index, sent, total)) = p.snapshot_transfer {
                lines.push(Line::from(Span::styled(
                    format!(
                        "→ {}: sending snapshot {index} ({}/{})",
                        p.id,
                        format::thousands(sent),
                        format::bytes(total)
                    ),
                    style::strong(),
                )));
            }
        }
    }
    lines.push(Line::from(Span::styled("recent events:", style::strong())));
    let rows = area.height.saturating_sub(lines.len() as u16 + 3) as usize;
    let mut recent: Vec<Line> = state
        .feed
        .iter()
        .rev()
        .filter(|l| l.node == state.selected && l.category != Category::Message)
        .take(rows)
        .map(|l| super::feed::feed_line(state, l, None))
        .collect();
    recent.reverse();
    lines.extend(recent);
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .wrap(Wrap { trim: false }),
        area,
    );
}
