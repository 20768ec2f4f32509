//! The node table: what each node believes — role, term, vote, last log entry, commit and apply
//! indexes, its newest snapshot (`snap`, wherever the column fits), its election timer — and,
//! from the leader's progress, each follower's match/next, or `▣ 50%` while the leader sends it
//! a snapshot. The row ends with each node's faults (`slow +300ms clock 2× →4 loss 59%
//! isolated`: its extra delay, its clock's rate, the links from it that lose or delay messages,
//! its isolation), in short forms (`+300ms 2× →4 ✗59% isol`) when the column is too narrow for
//! the long ones. The faults column shows in the wide layout, and in any other when some node
//! has a fault and the row has room for it (before `snap`); where it has none, a node with a
//! fault is marked `~` beside its id (the header names the faults).
//!
//! The columns are data ([`COLUMNS`]): a name and a short name, a width and a short width, and a
//! [`Priority`] that says when the column shows. Below [`NARROW_BELOW`] columns the table uses
//! the short names and widths and keeps only the columns that always show.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Row, Table};
use ratatui::Frame;

use super::{faults, ring::timer_bar, style};
use crate::cluster::NodeState;
use crate::observe::cluster_view::ClusterView;
use crate::observe::format;
use crate::raft::{PeerProgress, Role};
use crate::tui::app::AppState;

/// A table narrower than this uses short names and widths, and only [`Priority::Always`]
/// columns.
pub const NARROW_BELOW: u16 = 60;
/// A table at least this wide shows the [`Priority::Wide`] columns.
pub const WIDE_FROM: u16 = 78;

/// When a column shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// Always.
    Always,
    /// From [`WIDE_FROM`] columns on.
    Wide,
    /// Outside the narrow layout, when the row has room for it beside the others (a filling
    /// column counted at its least width).
    IfRoom,
}

/// What a column shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// `▶` on the selected node.
    Selected,
    /// The role's symbol and the node's id.
    Node,
    /// The role's name (or what the node is doing: `pre-vote`, ...).
    Role,
    /// The current term.
    Term,
    /// Who it voted for in this term.
    Vote,
    /// Index and term of its last log entry.
    Last,
    /// The last index persisted, beside the in-memory one.
    Disk,
    /// The commit index.
    Commit,
    /// The last index applied.
    Applied,
    /// Index and term of its newest snapshot.
    Snap,
    /// The election timer as a draining bar (`leads` for the leader).
    Timer,
    /// The leader's match/next for it, or the progress of a snapshot transfer.
    MatchNext,
    /// Its faults: extra delay, clock rate, isolation.
    Faults,
}

/// One column of the table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// What it shows.
    pub field: Field,
    /// Its header.
    pub name: &'static str,
    /// Its header in the narrow layout.
    pub short: &'static str,
    /// Its width (the least width, for the column that fills the rest of the row).
    pub width: u16,
    /// Its width in the narrow layout.
    pub short_width: u16,
    /// When it shows.
    pub priority: Priority,
    /// Takes what is left of the row (the last column only).
    pub fill: bool,
}

const fn column(
    field: Field,
    (name, short): (&'static str, &'static str),
    (width, short_width): (u16, u16),
    priority: Priority,
) -> Column {
    Column {
        field,
        name,
        short,
        width,
        short_width,
        priority,
        fill: false,
    }
}

/// The table's columns, left to right.
pub const COLUMNS: [Column; 13] = [
    column(Field::Selected, ("", ""), (1, 1), Priority::Always),
    column(Field::Node, ("node", "id"), (4, 3), Priority::Always),
    column(Field::Role, ("role", "role"), (9, 9), Priority::Wide),
    column(Field::Term, ("term", "term"), (4, 4), Priority::Always),
    column(Field::Vote, ("vote", "vote"), (4, 4), Priority::Always),
    column(Field::Last, ("last", "last"), (8, 6), Priority::Always),
    column(Field::Disk, ("disk", "disk"), (6, 6), Priority::Wide),
    column(Field::Commit, ("commit", "cmt"), (6, 4), Priority::Always),
    column(
        Field::Applied,
        ("applied", "appl"),
        (7, 4),
        Priority::Always,
    ),
    column(Field::Snap, ("snap", "snap"), (7, 7), Priority::IfRoom),
    column(Field::Timer, ("timer", "tmr"), (6, 4), Priority::Always),
    column(
        Field::MatchNext,
        ("match/next", "m/n"),
        (10, 7),
        Priority::Always,
    ),
    Column {
        fill: true,
        ..column(Field::Faults, ("faults", "faults"), (8, 8), Priority::Wide)
    },
];

/// The columns shown in a table `width` columns wide (borders included), with their widths;
/// `faults` says whether some node has a fault, which earns the faults column a place where
/// there is room for it.
pub fn columns(width: u16, faults: bool) -> Vec<(Column, u16)> {
    if width < NARROW_BELOW {
        return COLUMNS
            .iter()
            .filter(|c| c.priority == Priority::Always)
            .map(|c| (*c, c.short_width))
            .collect();
    }
    let inner = width.saturating_sub(2);
    let mut shown: Vec<Column> = COLUMNS
        .iter()
        .filter(|c| match c.priority {
            Priority::Always => true,
            Priority::Wide => width >= WIDE_FROM,
            Priority::IfRoom => false,
        })
        .copied()
        .collect();
    // Widths plus one space between columns.
    let used = |cols: &[Column]| {
        cols.iter().map(|c| c.width).sum::<u16>() + (cols.len() as u16).saturating_sub(1)
    };
    let faults_column = COLUMNS.iter().find(|c| c.field == Field::Faults);
    if let Some(c) = faults_column.filter(|_| faults && width < WIDE_FROM) {
        if used(&shown) + 1 + c.width <= inner {
            shown.push(*c);
        }
    }
    for (at, c) in COLUMNS.iter().enumerate() {
        if c.priority == Priority::IfRoom && used(&shown) + 1 + c.width <= inner {
            // In table order: after the shown columns that come before it.
            let before = COLUMNS[..at]
                .iter()
                .filter(|b| shown.iter().any(|s| s.field == b.field))
                .count();
            shown.insert(before, *c);
        }
    }
    shown.into_iter().map(|c| (c, c.width)).collect()
}

/// What every cell of a row may need.
struct RowContext<'a> {
    state: &'a AppState,
    view: &'a ClusterView,
    node: &'a NodeState,
    leader: Option<crate::raft::NodeId>,
    progress: &'a [PeerProgress],
    narrow: bool,
    /// The width the faults column gets (0: not shown).
    faults_width: u16,
}

/// The cell of `field` in `cx`'s row.
fn cell(field: Field, cx: &RowContext) -> Cell<'static> {
    let n = cx.node;
    let s = &n.status;
    let role = n.up.then_some(s.role);
    match field {
        Field::Selected => Cell::from(if n.id == cx.state.selected {
            "▶"
        } else {
            " "
        }),
        Field::Node => {
            let (sym, _) = style::role_symbol(role);
            let rs = style::role_style(cx.state.theme, role);
            let mut spans = vec![Span::styled(format!("{sym}{}", n.id), rs)];
            // No faults column: `~` says this node has one.
            if cx.faults_width == 0 && !fault_list(cx).is_empty() {
                spans.push(Span::styled("~", faults::warn(cx.state.theme)));
            }
            Cell::from(Line::from(spans))
        }
        Field::Role => {
            let (_, name) = style::role_symbol(role);
            let rs = style::role_style(cx.state.theme, role);
            let name = match style::role_detail(s).filter(|_| role.is_some()) {
                Some(detail) if !detail.starts_with("transfer") => detail,
                _ => name.to_string(),
            };
            Cell::from(Span::styled(name, rs))
        }
        Field::Term => Cell::from(s.term.to_string()),
        Field::Vote => Cell::from(s.voted_for.map_or("-".into(), |v| v.to_string())),
        Field::Last => Cell::from(format!("{}/{}", s.last_log_index, s.last_log_term)),
        Field::Disk => Cell::from(s.persisted_index.to_string()),
        Field::Commit => Cell::from(s.commit.to_string()),
        Field::Applied => Cell::from(s.applied.to_string()),
        // The newest snapshot: the log before it is compacted away.
        Field::Snap => Cell::from(if s.snapshot_index == 0 {
            "—".to_string()
        } else {
            format!("{}/{}", s.snapshot_index, s.snapshot_term)
        }),
        Field::Timer => Cell::from(match role {
            Some(Role::Leader) => if cx.narrow { "lead" } else { "leads" }.to_string(),
            Some(_) => timer_bar(
                s.election_elapsed,
                s.election_timeout,
                if cx.narrow { 4 } else { 6 },
            ),
            None => "—".to_string(),
        }),
        Field::MatchNext => Cell::from(if Some(n.id) == cx.leader {
            "—".to_string()
        } else {
            cx.progress
                .iter()
                .find(|p| p.id == n.id)
                .map_or(String::new(), |p| match p.snapshot_transfer {
                    // InstallSnapshot in progress: how much of it the follower confirmed.
                    Some((_, sent, total)) => format!("▣ {}%", format::percent(sent, total)),
                    None => format!("{}/{}", p.match_index, p.next_index),
                })
        }),
        Field::Faults => faults(cx),
    }
}

/// The row's faults, (long, short) each: its delay, its clock, the links from it that lose or
/// delay messages, its isolation.
fn fault_list(cx: &RowContext) -> Vec<(String, String)> {
    let n = cx.node;
    let status = &cx.view.status;
    let mut faults: Vec<(String, String)> = Vec::new();
    if !n.slow.is_zero() {
        let ms = faults::ms(n.slow);
        faults.push((format!("slow +{ms}"), format!("+{ms}")));
    }
    if faults::skewed(n) {
        let rate = faults::rate(n.clock_rate);
        faults.push((format!("clock {rate}"), rate));
    }
    for l in cx.view.links.iter().filter(|l| l.from == n.id) {
        faults.push((
            format!("→{} {}", l.to, faults::link_text(l, false)),
            format!("→{} {}", l.to, faults::link_text(l, true)),
        ));
    }
    let isolated = status
        .nodes
        .iter()
        .filter(|o| o.id != n.id)
        .all(|o| status.cut_links.contains(&(n.id, o.id)));
    if isolated && status.nodes.len() > 1 {
        faults.push(("isolated".into(), "isol".into()));
    }
    faults
}

/// The faults cell: long forms when they fit the column, short ones when not.
fn faults(cx: &RowContext) -> Cell<'static> {
    let faults = fault_list(cx);
    if faults.is_empty() {
        return Cell::from("");
    }
    let long = faults.iter().map(|f| f.0.as_str()).collect::<Vec<_>>();
    let long = long.join(" ");
    let text = if long.chars().count() <= cx.faults_width as usize {
        long
    } else {
        let short = faults.iter().map(|f| f.1.as_str()).collect::<Vec<_>>();
        short.join(" ")
    };
    Cell::from(Span::styled(text, style::alert(cx.state.theme)))
}

/// Draws the table.
pub fn render(state: &AppState, frame: &mut Frame, area: Rect) {
    let block = Block::default().borders(Borders::ALL).title(" nodes ");
    let Some(view) = &state.view else {
        frame.render_widget(block, area);
        return;
    };
    let narrow = area.width < NARROW_BELOW;
    let columns = columns(area.width, faults::any(view));
    // What the filling column gets: the rest of the row, after the others and a space each.
    let fixed: Vec<u16> = columns
        .iter()
        .filter(|(c, _)| !c.fill)
        .map(|(_, w)| *w)
        .collect();
    let faults_width = if columns.iter().any(|(c, _)| c.field == Field::Faults) {
        area.width
            .saturating_sub(2)
            .saturating_sub(fixed.iter().sum::<u16>() + fixed.len() as u16)
            .max(1)
    } else {
        0
    };
    let leader = view.status.leader();
    let progress = leader
        .and_then(|l| view.status.nodes.iter().find(|n| n.id == l))
        .map(|n| n.status.progress.clone())
        .unwrap_or_default();
    let rows = view.status.nodes.iter().map(|n| {
        let cx = RowContext {
            state,
            view,
            node: n,
            leader,
            progress: &progress,
            narrow,
            faults_width,
        };
        let row = Row::new(columns.iter().map(|(c, _)| cell(c.field, &cx)));
        if n.id == state.selected {
            row.style(ratatui::style::Style::default().add_modifier(Modifier::BOLD))
        } else {
            row
        }
    });
    let header = columns.iter().map(|(c, _)| {
        let name = if narrow { c.short } else { c.name };
        Cell::from(Line::from(name))
    });
    let widths = columns.iter().map(|(c, w)| {
        if c.fill {
            Constraint::Min(*w)
        } else {
            Constraint::Length(*w)
        }
    });
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(style::dim()))
        .column_spacing(1)
        .block(block);
    frame.render_widget(table, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(width: u16) -> Vec<&'static str> {
        names_with(width, false)
    }

    fn names_with(width: u16, faults: bool) -> Vec<&'static str> {
        columns(width, faults)
            .iter()
            .map(|(c, _)| {
                if width < NARROW_BELOW {
                    c.short
                } else {
                    c.name
                }
            })
            .collect()
    }

    #[test]
    fn columns_drop_by_priority_as_the_table_narrows() {
        let always = ["", "node", "term", "vote", "last", "commit", "applied"];
        // Wide and roomy: everything.
        assert_eq!(
            names(94),
            [
                "",
                "node",
                "role",
                "term",
                "vote",
                "last",
                "disk",
                "commit",
                "applied",
                "snap",
                "timer",
                "match/next",
                "faults"
            ]
        );
        // Wide but no room for snap beside the faults.
        assert_eq!(
            names(93),
            [
                "",
                "node",
                "role",
                "term",
                "vote",
                "last",
                "disk",
                "commit",
                "applied",
                "timer",
                "match/next",
                "faults"
            ]
        );
        // Not wide: snap fits from 68 columns.
        let mut with_snap = always.to_vec();
        with_snap.extend(["snap", "timer", "match/next"]);
        assert_eq!(names(77), with_snap);
        assert_eq!(names(68), with_snap);
        let mut without = always.to_vec();
        without.extend(["timer", "match/next"]);
        assert_eq!(names(67), without);
        // Narrow: short names, the columns that always show.
        assert_eq!(
            names(59),
            ["", "id", "term", "vote", "last", "cmt", "appl", "tmr", "m/n"]
        );
    }

    #[test]
    fn a_fault_brings_the_faults_column_in_where_it_fits() {
        // At 120×40 the table is 76 wide: faults take the place of snap.
        let with = |w| names_with(w, true);
        assert_eq!(
            with(76),
            [
                "",
                "node",
                "term",
                "vote",
                "last",
                "commit",
                "applied",
                "timer",
                "match/next",
                "faults"
            ]
        );
        assert!(!names(76).contains(&"faults"));
        // Room for the least width of the column (8) from 69 columns on.
        assert!(with(69).contains(&"faults") && !with(68).contains(&"faults"));
        // Narrow: no room (a `~` beside the id says it instead).
        assert!(!with(59).contains(&"faults"));
        // Wide: the column is there anyway.
        assert_eq!(with(94), names(94));
    }
}
