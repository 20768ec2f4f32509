//! Everything a user can do, as data: the `Action` enum and the key table that maps keys to
//! actions. The footer and the help overlay are generated from the same table as the key
//! handling, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::command::prompt::PromptCommand;
use crate::raft::NodeId;

/// One thing the user asked for.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Leave the dashboard.
    Quit,
    /// Show or hide the help overlay.
    ToggleHelp,
    /// Close whatever overlay is open.
    Close,
    /// Select a node by id.
    Select(NodeId),
    /// Select the next node.
    SelectNext,
    /// Select the previous node.
    SelectPrev,
    /// Show or hide the selected node's detail view.
    ToggleDetail,
    /// Kill the selected node.
    Kill,
    /// Restart the selected node.
    Restart,
    /// Cut the selected node off from all others.
    Isolate,
    /// Cycle the selected node's extra delay (0, 100 ms, 300 ms, 1 s).
    CycleSlow,
    /// Cycle the selected node's clock rate (1x, 2x, 0.5x).
    CycleClock,
    /// Make the selected node time out now.
    TimeoutNow,
    /// Make the selected node snapshot its state machine and compact its log now.
    Snapshot,
    /// Make every node's election timer fire together: a split vote.
    AlignTimers,
    /// Spread the election timers apart again.
    SpreadTimers,
    /// Clear every partition, link fault, slow node and clock drift.
    Heal,
    /// Pause or resume time.
    PauseResume,
    /// One step while paused: the next message, or a tick.
    Step,
    /// Make ticks shorter (faster).
    Faster,
    /// Make ticks longer (slower).
    Slower,
    /// Submit a random write.
    RandomWrite,
    /// Open the command prompt.
    OpenPrompt,
    /// Select the next message in flight.
    NextMessage,
    /// Select the previous message in flight.
    PrevMessage,
    /// Drop the selected message.
    DropMessage,
    /// Duplicate the selected message.
    DuplicateMessage,
    /// Deliver the selected message now.
    DeliverMessage,
    /// Scroll the logs back.
    LogBack,
    /// Scroll the logs forward.
    LogForward,
    /// Follow the newest log entries again.
    LogTail,
    /// Cycle the event feed's kind filter.
    CycleFeedKind,
    /// Show only the selected node's events, or all again.
    ToggleFeedNode,
    /// Start a nemesis (random faults and client workers, 30 s), or stop the one running.
    Nemesis,
    /// Show or hide the recorded operations and the checker's verdict (the failing window when
    /// there is one).
    ToggleHistory,
    /// A command typed at the prompt.
    Command(PromptCommand),
}

/// A key as the table writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Key {
    /// The key.
    pub code: KeyCode,
    /// Ctrl held.
    pub ctrl: bool,
}

const fn key(c: char) -> Key {
    Key {
        code: KeyCode::Char(c),
        ctrl: false,
    }
}

const fn code(code: KeyCode) -> Key {
    Key { code, ctrl: false }
}

/// One row of the key table.
#[derive(Clone, Debug)]
pub struct Binding {
    /// The keys that trigger it.
    pub keys: Vec<Key>,
    /// How the help writes the keys.
    pub label: &'static str,
    /// What it does.
    pub action: Action,
    /// One line of help.
    pub help: &'static str,
    /// Shown in the footer when there is room.
    pub footer: bool,
    /// The footer's word for it.
    pub short: &'static str,
}

/// The key table of the main screen (1–9 select nodes directly and are handled apart).
pub fn bindings() -> Vec<Binding> {
    use Action::*;
    let b = |keys: &[Key], label, action, help, footer| Binding {
        short: short_of(&action),
        keys: keys.to_vec(),
        label,
        action,
        help,
        footer,
    };
    vec![
        b(
            &[
                key('q'),
                Key {
                    code: KeyCode::Char('c'),
                    ctrl: true,
                },
            ],
            "q",
            Quit,
            "quit (Ctrl-C too)",
            true,
        ),
        b(
            &[key('?')],
            "?",
            ToggleHelp,
            "help: every key and command",
            true,
        ),
        b(
            &[code(KeyCode::Right), code(KeyCode::Tab)],
            "→ Tab",
            SelectNext,
            "select the next node",
            false,
        ),
        b(
            &[code(KeyCode::Left), code(KeyCode::BackTab)],
            "←",
            SelectPrev,
            "select the previous node",
            false,
        ),
        b(
            &[code(KeyCode::Enter)],
            "Enter",
            ToggleDetail,
            "details of the selected node",
            false,
        ),
        b(&[key('k')], "k", Kill, "kill the selected node", true),
        b(
            &[key('r')],
            "r",
            Restart,
            "restart the selected node from its storage",
            true,
        ),
        b(
            &[key('i')],
            "i",
            Isolate,
            "isolate the selected node (partition it alone)",
            true,
        ),
        b(
            &[key('s')],
            "s",
            CycleSlow,
            "slow the selected node: +0 / 100 / 300 / 1000 ms per message",
            false,
        ),
        b(
            &[key('c')],
            "c",
            CycleClock,
            "skew the selected node's clock: 1x / 2x / 0.5x",
            false,
        ),
        b(
            &[key('t')],
            "t",
            TimeoutNow,
            "the selected node times out now",
            true,
        ),
        b(
            &[key('S')],
            "S",
            Snapshot,
            "the selected node takes a snapshot now (compacts its log)",
            false,
        ),
        b(
            &[key('a')],
            "a",
            AlignTimers,
            "align all election timers (a split vote)",
            false,
        ),
        b(
            &[key('A')],
            "A",
            SpreadTimers,
            "spread the election timers apart",
            false,
        ),
        b(
            &[key('h')],
            "h",
            Heal,
            "heal: clear every network fault and drift",
            true,
        ),
        b(
            &[key(' ')],
            "space",
            PauseResume,
            "pause / resume time",
            true,
        ),
        b(
            &[key('.')],
            ".",
            Step,
            "step (paused): next message, or a tick",
            false,
        ),
        b(
            &[key('+'), key('=')],
            "+",
            Faster,
            "faster (shorter ticks)",
            false,
        ),
        b(&[key('-')], "-", Slower, "slower (longer ticks)", false),
        b(&[key('w')], "w", RandomWrite, "submit a random write", true),
        b(
            &[key(':')],
            ":",
            OpenPrompt,
            "command prompt (put, get, partition, ...)",
            true,
        ),
        b(
            &[key('n'), code(KeyCode::Down)],
            "n ↓",
            NextMessage,
            "select the next message in flight",
            false,
        ),
        b(
            &[key('N'), code(KeyCode::Up)],
            "N ↑",
            PrevMessage,
            "select the previous message in flight",
            false,
        ),
        b(
            &[key('x')],
            "x",
            DropMessage,
            "drop the selected message",
            false,
        ),
        b(
            &[key('u')],
            "u",
            DuplicateMessage,
            "duplicate the selected message",
            false,
        ),
        b(
            &[key('g')],
            "g",
            DeliverMessage,
            "deliver the selected message now",
            false,
        ),
        b(
            &[code(KeyCode::PageUp)],
            "PgUp",
            LogBack,
            "scroll the logs back",
            false,
        ),
        b(
            &[code(KeyCode::PageDown)],
            "PgDn",
            LogForward,
            "scroll the logs forward",
            false,
        ),
        b(
            &[code(KeyCode::End)],
            "End",
            LogTail,
            "follow the newest log entries",
            false,
        ),
        b(
            &[key('f')],
            "f",
            CycleFeedKind,
            "event feed: protocol / elections / replication / messages / clients / faults / everything",
            false,
        ),
        b(
            &[key('F')],
            "F",
            ToggleFeedNode,
            "event feed: the selected node only / all",
            false,
        ),
        b(
            &[key('C')],
            "C",
            Nemesis,
            "chaos: run a 30 s nemesis, or stop it",
            true,
        ),
        b(
            &[key('v')],
            "v",
            ToggleHistory,
            "why the footer's verdict says so (history)",
            false,
        ),
        b(
            &[code(KeyCode::Esc)],
            "Esc",
            Close,
            "close the overlay or prompt",
            false,
        ),
    ]
}

fn short_of(action: &Action) -> &'static str {
    match action {
        Action::Quit => "quit",
        Action::ToggleHelp => "help",
        Action::Kill => "kill",
        Action::Restart => "restart",
        Action::Isolate => "isolate",
        Action::TimeoutNow => "timeout",
        Action::Snapshot => "snapshot",
        Action::Heal => "heal",
        Action::PauseResume => "pause",
        Action::RandomWrite => "write",
        Action::OpenPrompt => "command",
        Action::Nemesis => "nemesis",
        _ => "",
    }
}

/// The action a key press asks for on the main screen, if any.
pub fn action_for(ev: &KeyEvent, nodes: usize) -> Option<Action> {
    let ctrl = ev.modifiers.contains(KeyModifiers::CONTROL);
    if let KeyCode::Char(c) = ev.code {
        if !ctrl {
            if let Some(d) = c.to_digit(10) {
                if (1..=nodes as u32).contains(&d) {
                    return Some(Action::Select(NodeId::from(d)));
                }
                return None;
            }
        }
    }
    bindings()
        .into_iter()
        .find(|b| {
            b.keys.iter().any(|k| {
                k.code == ev.code && k.ctrl == ctrl
                    // Shifted letters arrive as upper-case chars with SHIFT set.
                    || (k.code == ev.code && !k.ctrl && !ctrl)
            })
        })
        .map(|b| b.action)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn digits_select_existing_nodes_only() {
        assert_eq!(
            action_for(&press(KeyCode::Char('3')), 5),
            Some(Action::Select(3))
        );
        assert_eq!(action_for(&press(KeyCode::Char('7')), 5), None);
        assert_eq!(action_for(&press(KeyCode::Char('0')), 5), None);
    }

    #[test]
    fn table_keys_map_to_their_actions() {
        assert_eq!(
            action_for(&press(KeyCode::Char('k')), 5),
            Some(Action::Kill)
        );
        assert_eq!(
            action_for(&press(KeyCode::Char(' ')), 5),
            Some(Action::PauseResume)
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL), 5),
            Some(Action::Quit)
        );
        assert_eq!(
            action_for(&press(KeyCode::Char('c')), 5),
            Some(Action::CycleClock)
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('A'), KeyModifiers::SHIFT), 5),
            Some(Action::SpreadTimers)
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('S'), KeyModifiers::SHIFT), 5),
            Some(Action::Snapshot)
        );
        assert_eq!(
            action_for(&press(KeyCode::Char('s')), 5),
            Some(Action::CycleSlow)
        );
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('C'), KeyModifiers::SHIFT), 5),
            Some(Action::Nemesis)
        );
        assert_eq!(
            action_for(&press(KeyCode::Char('v')), 5),
            Some(Action::ToggleHistory)
        );
        assert_eq!(action_for(&press(KeyCode::Char('Z')), 5), None);
    }

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = Vec::new();
        for b in bindings() {
            for k in &b.keys {
                assert!(!seen.contains(k), "{k:?} bound twice");
                seen.push(*k);
            }
        }
    }
}
