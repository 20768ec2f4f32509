//! Colours and symbols, in one place. Every state has a symbol as well as a colour, so the
//! screen reads the same without colour (NO_COLOR, `--theme mono`).

use ratatui::style::{Color, Modifier, Style};

use crate::observe::feed::Category;
use crate::raft::{MessageKind, Role, Term};
use crate::tui::app::Theme;

/// Symbol and name of a node's role; `None` is a node that is down.
pub fn role_symbol(role: Option<Role>) -> (&'static str, &'static str) {
    match role {
        Some(Role::Leader) => ("★", "leader"),
        Some(Role::Candidate) => ("◆", "candidate"),
        Some(Role::Follower) => ("●", "follower"),
        None => ("✕", "down"),
    }
}

/// What a node is beyond its role, in a word, when that matters: a follower running a pre-vote
/// round, a learner (it never votes nor counts), a leader handing over to another node. A node
/// whose configuration is unknown (nothing recorded) is none of these.
pub fn role_detail(status: &crate::raft::Status) -> Option<String> {
    if let Some(to) = status.transfer_target {
        return Some(format!("transfer→{to}"));
    }
    if status.pre_candidate {
        return Some("pre-vote".to_string());
    }
    if status.learners.contains(&status.id) {
        return Some("learner".to_string());
    }
    None
}

/// Style of a node's role.
pub fn role_style(theme: Theme, role: Option<Role>) -> Style {
    if theme == Theme::Mono {
        return match role {
            Some(Role::Leader) => Style::default().add_modifier(Modifier::BOLD),
            None => Style::default().add_modifier(Modifier::DIM),
            _ => Style::default(),
        };
    }
    match role {
        Some(Role::Leader) => Style::default()
            .fg(Color::LightGreen)
            .add_modifier(Modifier::BOLD),
        Some(Role::Candidate) => Style::default().fg(Color::Yellow),
        Some(Role::Follower) => Style::default().fg(Color::Cyan),
        None => Style::default().fg(Color::Red).add_modifier(Modifier::DIM),
    }
}

const TERM_COLORS: [Color; 8] = [
    Color::Blue,
    Color::Magenta,
    Color::Green,
    Color::Yellow,
    Color::Cyan,
    Color::LightRed,
    Color::LightBlue,
    Color::LightMagenta,
];

/// Background of a log cell of term `t`: one colour per term, cycling.
pub fn term_style(theme: Theme, t: Term) -> Style {
    match theme {
        Theme::Mono => Style::default(),
        Theme::Color => Style::default()
            .bg(TERM_COLORS[(t % TERM_COLORS.len() as u64) as usize])
            .fg(Color::Black),
    }
}

/// Glyph and colour of a message kind on the ring.
pub fn message_glyph(theme: Theme, kind: MessageKind) -> (&'static str, Style) {
    let (glyph, color) = match kind {
        MessageKind::RequestVote => ("?", Color::Yellow),
        MessageKind::RequestVoteReply => ("!", Color::LightYellow),
        MessageKind::PreVote => ("¿", Color::Yellow),
        MessageKind::PreVoteReply => ("¡", Color::LightYellow),
        MessageKind::AppendEntries => ("■", Color::LightGreen),
        MessageKind::Heartbeat => ("♥", Color::Green),
        MessageKind::AppendEntriesReply => ("✓", Color::LightCyan),
        MessageKind::InstallSnapshot => ("▣", Color::LightBlue),
        MessageKind::InstallSnapshotReply => ("◇", Color::LightBlue),
        MessageKind::TimeoutNow => ("»", Color::LightMagenta),
    };
    let style = match theme {
        Theme::Mono => Style::default().add_modifier(Modifier::BOLD),
        Theme::Color => Style::default().fg(color).add_modifier(Modifier::BOLD),
    };
    (glyph, style)
}

/// Colour of an event feed line.
pub fn category_style(theme: Theme, c: Category) -> Style {
    if theme == Theme::Mono {
        return Style::default();
    }
    match c {
        Category::Election => Style::default().fg(Color::Yellow),
        Category::Replication => Style::default().fg(Color::Green),
        Category::Message => Style::default().fg(Color::DarkGray),
        Category::Client => Style::default().fg(Color::LightBlue),
        Category::Fault => Style::default().fg(Color::LightRed),
    }
}

/// Something that needs attention (divergent entries, cut links, errors).
pub fn alert(theme: Theme) -> Style {
    match theme {
        Theme::Mono => Style::default().add_modifier(Modifier::REVERSED),
        Theme::Color => Style::default()
            .fg(Color::White)
            .bg(Color::Red)
            .add_modifier(Modifier::BOLD),
    }
}

/// Secondary text.
pub fn dim() -> Style {
    Style::default().add_modifier(Modifier::DIM)
}

/// Titles and the selected node.
pub fn strong() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

/// The shade that fills log cells compacted into a snapshot.
pub const COMPACTED: char = '▒';

/// Style of log cells compacted into a snapshot: present in the past, gone from the log.
pub fn compacted(theme: Theme) -> Style {
    match theme {
        Theme::Mono => Style::default().add_modifier(Modifier::DIM),
        Theme::Color => Style::default().fg(Color::DarkGray),
    }
}
