//! The logs: one row per node, one cell per index showing the entry's term (a colour per term);
//! the ruler above them shows indexes (`idx`), and the title says which number is which.
//! Committed entries are filled, uncommitted ones hollow, the commit index is marked `┃`, and an
//! entry that differs from the leader's at the same index stands out as an alert. Entries a node
//! compacted into a snapshot (indexes before its first index) are a `▒` run labelled with the
//! snapshot's last index (`snapshot ≤40`): gone from the log, not missing, and never compared
//! with the leader's. A follower receiving a snapshot says so after its last entry
//! (`▣ receiving snapshot ≤40: 512 B`). Follows the tail unless scrolled back (PgUp / PgDn /
//! End). Only the visible window is ever drawn.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::{style, ViewLayout};
use crate::observe::format;
use crate::raft::{Index, MessageKind};
use crate::tui::app::{AppState, Theme};

/// Width of one log cell.
pub const CELL: u16 = 3;
/// Width of the row label.
pub const LABEL: u16 = 5;

/// Draws the logs panel.
pub fn render(state: &AppState, layout: &mut ViewLayout, frame: &mut Frame, area: Rect) {
    let cells = (area.width.saturating_sub(2 + LABEL) / CELL).max(1);
    layout.log_cells = u64::from(cells);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title(state, area.width.saturating_sub(2) as usize));
    let Some(view) = &state.view else {
        frame.render_widget(block, area);
        return;
    };
    // The window's indexes: the widest any node has.
    let (lo, hi) = view
        .logs
        .values()
        .filter_map(|w| Some((w.entries.first()?.0, w.entries.last()?.0)))
        .fold(None, |acc: Option<(Index, Index)>, (a, b)| match acc {
            None => Some((a, b)),
            Some((x, y)) => Some((x.min(a), y.max(b))),
        })
        .unwrap_or((1, 0));
    // The poller fetches only what the logs hold: once a node has compacted, start from 1 so the
    // compacted prefix shows, and take the end from the statuses too (a log compacted up to its
    // last entry holds nothing).
    let compacted = view.status.nodes.iter().any(|n| n.status.first_index > 1);
    let lo = if compacted { 1 } else { lo };
    let last = view
        .status
        .nodes
        .iter()
        .map(|n| n.status.last_log_index)
        .max()
        .unwrap_or(0);
    let hi = if compacted {
        hi.max(state.log_end.map_or(last, |end| last.min(end)))
    } else {
        hi
    };
    let hi = hi.max(lo.saturating_sub(1));
    let first = hi.saturating_sub(u64::from(cells) - 1).max(lo).max(1);
    let leader = view.status.leader();
    let leader_log = leader.and_then(|l| view.logs.get(&l));

    let mut lines = Vec::with_capacity(view.status.nodes.len() + 1);
    // Ruler: each multiple of five labelled over its own cell (and the first cell too, when
    // its label ends before the next one starts).
    let width = (LABEL + cells * CELL) as usize;
    let mut ruler = vec![' '; width];
    let mut free_from = 0usize;
    for i in first..=hi {
        if i % 5 != 0 && i != first {
            continue;
        }
        let col = LABEL as usize + (i - first) as usize * CELL as usize;
        let label: Vec<char> = i.to_string().chars().collect();
        let next_mark = LABEL as usize + (i - first + 5 - i % 5) as usize * CELL as usize;
        if col < free_from || (i % 5 != 0 && col + label.len() >= next_mark) {
            continue;
        }
        for (k, ch) in label.iter().enumerate() {
            if let Some(slot) = ruler.get_mut(col + k) {
                *slot = *ch;
            }
        }
        free_from = col + label.len() + 1;
    }
    // The ruler's numbers are indexes: said where the rows have their labels.
    for (slot, ch) in ruler.iter_mut().zip("idx".chars()) {
        *slot = ch;
    }
    let ruler: String = ruler.into_iter().collect();
    lines.push(Line::from(Span::styled(ruler, style::dim())));

    for node in &view.status.nodes {
        let role = node.up.then_some(node.status.role);
        let (sym, _) = style::role_symbol(role);
        let marker = if node.id == state.selected {
            "▶"
        } else {
            " "
        };
        let mut spans = vec![Span::styled(
            format!("{marker}{sym}{:<w$}", node.id, w = LABEL as usize - 2),
            style::role_style(state.theme, role),
        )];
        let window = view.logs.get(&node.id);
        let commit = node.status.commit;
        let held = |i: Index| window.and_then(|w| w.term(i));
        // Indexes before the first one the log holds are in the snapshot.
        let gone = |i: Index| i < node.status.first_index && held(i).is_none();
        // Blank cells at the end of the row (one span each), where a snapshot on its way is told.
        let mut blank_tail = 0usize;
        let mut i = first;
        while i <= hi {
            blank_tail += 1;
            if gone(i) {
                blank_tail = 0;
                let mut end = i;
                while end < hi && gone(end + 1) {
                    end += 1;
                }
                spans.push(Span::styled(
                    compacted_run(i, end, commit, node.status.snapshot_index),
                    style::compacted(state.theme),
                ));
                i = end + 1;
                continue;
            }
            let term = held(i);
            let sep = if i == commit { "┃" } else { " " };
            if term.is_some() || i == commit {
                blank_tail = 0;
            }
            match term {
                None => spans.push(Span::raw(format!("{:>w$}", sep, w = CELL as usize))),
                Some(t) => {
                    let differs = leader_log.and_then(|l| l.term(i)).is_some_and(|lt| lt != t);
                    let text = if differs {
                        format!("!{:<1}", t % 10)
                    } else {
                        format!("{:>2}", t % 100)
                    };
                    let st = if differs {
                        style::alert(state.theme)
                    } else if i <= commit {
                        style::term_style(state.theme, t)
                    } else {
                        match state.theme {
                            Theme::Color => Style::default()
                                .fg(style::term_style(state.theme, t).bg.unwrap_or_default())
                                .add_modifier(Modifier::ITALIC),
                            Theme::Mono => Style::default().add_modifier(Modifier::DIM),
                        }
                    };
                    spans.push(Span::styled(text, st));
                    spans.push(Span::raw(sep));
                }
            }
            i += 1;
        }
        if let Some((index, received)) = node.status.receiving_snapshot {
            let room = blank_tail * CELL as usize;
            let text = [
                format!(
                    " ▣ receiving snapshot ≤{index}: {}",
                    format::bytes(received)
                ),
                format!(" ▣ receiving ≤{index}"),
                " ▣".to_string(),
            ]
            .into_iter()
            .find(|t| t.chars().count() < room);
            if let Some(text) = text {
                spans.truncate(spans.len() - blank_tail);
                let glyph = style::message_glyph(state.theme, MessageKind::InstallSnapshot).1;
                spans.push(Span::styled(format!("{text:<room$}"), glyph));
            }
        }
        lines.push(Line::from(spans));
    }
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// The panel's title in at most `room` characters: what a cell's number is (the entry's term)
/// and what the ruler's is (the index), then where the window is and how to move it, as much of
/// it as fits.
pub fn title(state: &AppState, room: usize) -> String {
    // A replay moves in time with PgUp / End: its logs scroll with [ and ].
    let (long, short) = match (state.log_end, state.replay.is_some()) {
        (None, false) => (
            "following the tail; PgUp to scroll back".to_string(),
            "PgUp scrolls back".to_string(),
        ),
        (Some(end), false) => (
            format!("up to index {end}; End follows the tail"),
            format!("up to {end}; End: tail"),
        ),
        (None, true) => (
            "following the tail; [ to scroll back".to_string(),
            "[ scrolls back".to_string(),
        ),
        (Some(end), true) => (
            format!("up to index {end}; ] scrolls forward"),
            format!("up to {end}; ] forward"),
        ),
    };
    [
        format!(" logs (cells: term · ruler: index) · {long} "),
        format!(" logs (cells: term · ruler: index) · {short} "),
        " logs (cells: term · ruler: index) ".to_string(),
        " logs (cells: term) ".to_string(),
    ]
    .into_iter()
    .find(|t| t.chars().count() <= room)
    .unwrap_or_else(|| " logs ".to_string())
}

/// The cells of indexes `from..=to`, compacted into a snapshot whose last index is `snapshot`:
/// a `▒` run, labelled `snapshot ≤40` (or shorter) at its right end when there is room, with the
/// commit marker `┃` in place when the commit index falls inside it.
pub fn compacted_run(from: Index, to: Index, commit: Index, snapshot: Index) -> String {
    let cells = (to - from + 1) as usize;
    let mut run: Vec<char> = Vec::with_capacity(cells * CELL as usize);
    for i in from..=to {
        run.extend(std::iter::repeat_n(style::COMPACTED, CELL as usize - 1));
        run.push(if i == commit { '┃' } else { style::COMPACTED });
    }
    if snapshot > 0 {
        // Right-aligned before the last cell's separator, leaving at least one shade before it.
        let room = run.len().saturating_sub(2);
        let label = [
            format!(" snapshot ≤{snapshot} "),
            format!(" snap ≤{snapshot} "),
            format!(" ≤{snapshot} "),
        ]
        .into_iter()
        .map(|l| l.chars().collect::<Vec<char>>())
        .find(|l| l.len() <= room);
        if let Some(label) = label {
            let end = run.len() - 1;
            run.splice(end - label.len()..end, label);
        }
    }
    run.into_iter().collect()
}
