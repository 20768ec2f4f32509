//! Colours and symbols, in one place. Every state has a symbol as well as a colour, so the
//! screen reads the same without colour (NO_COLOR, `--theme mono`).

use ratatui::style::{Color, Modifier, Style};

use crate::raft::{MessageKind, Role, Term};
use crate::tui::app::{Category, Theme};

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

/// A size in bytes with thousands separators: `1,024 B`.
pub fn bytes(n: u64) -> String {
    format!("{} B", thousands(n))
}

/// `n` with a comma every three digits: `1,048,576`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// How much of a transfer is done, in whole percent (0 when the total is unknown).
pub fn percent(done: u64, total: u64) -> u64 {
    if total == 0 {
        0
    } else {
        (u128::from(done.min(total)) * 100 / u128::from(total)) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_with_thousands_separators() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(999), "999 B");
        assert_eq!(bytes(1_024), "1,024 B");
        assert_eq!(bytes(1_048_576), "1,048,576 B");
        assert_eq!(thousands(u64::MAX), "18,446,744,073,709,551,615");
    }

    #[test]
    fn percent_is_floored_and_capped() {
        assert_eq!(percent(512, 1_024), 50);
        assert_eq!(percent(1_023, 1_024), 99);
        assert_eq!(percent(2_000, 1_024), 100);
        assert_eq!(percent(5, 0), 0);
        assert_eq!(percent(u64::MAX, u64::MAX), 100);
    }
}
