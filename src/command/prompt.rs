//! The dashboard's command prompt (opened with `:`): the commands it understands, and its
//! parsing, completion, history and help table. Pure logic, no terminal I/O.
//!
//! A command line is a list of words separated by whitespace. A double quote starts a quoted
//! section that may hold spaces, with `\"` and `\\` as escapes (`put greeting "hello world"`);
//! an unterminated quote is an error. Command names and link keywords are case-insensitive.
//!
//! ```text
//! put KEY VALUE            get KEY          del KEY          append KEY VALUE
//! cas KEY EXPECTED NEW     (EXPECTED `-`: the key must be absent; `"-"` is the string "-")
//! write                    a random write, like the `w` key
//! kill N   restart N   isolate N   campaign N (or timeout N)   snapshot N (or compact N)
//! transfer N               hand leadership to node N (the leader brings it up to date first)
//! add-node   promote N   remove-node N     membership: a learner on a new port, voter, gone
//! rules                    the cluster's rule switches (PreVote, CheckQuorum, reads, UNSAFE)
//! partition 1,2 3,4,5      heal
//! slow N 300ms             (slow N 0 clears)
//! link FROM TO cut | up | delay 200ms | jitter 50ms | drop 0.3   (several at once)
//! clock N 1.5              speed 0.5
//! pause   resume   step    drop MSG   dup MSG   deliver MSG
//! nemesis [SECS]           random faults and 4 clients for SECS s (30), judged live
//! nemesis stop             end it early (heal, converge, check)
//! history                  the recorded operations and the verdict on them
//! history save FILE        write them as JSON lines
//! help (or ?)              quit (or exit, q)
//! ```
//!
//! This module holds the command type and gathers the prompt's parts:
//!
//! ```text
//! line ─► lex (words + spans) ─► parse ─► PromptCommand ─► executor
//!                  │                └──► PromptError (message + span: a caret under the word)
//!                  └─► complete (Tab)      help: COMMANDS, the table parse, complete and ? use
//! history: InputHistory (Up/Down)
//! ```
//!
//! [`parse`] turns a line into a [`PromptCommand`] or a [`PromptError`] that names the problem in
//! one line, shows the usage, and knows the [`Span`] of the word it is about;
//! [`PromptCommand`]'s `Display` gives back a canonical line that parses to the same command.
//! [`complete`] offers completions of the word being typed, [`InputHistory`] is the Up/Down
//! history, and [`COMMANDS`] is the table the help overlay and completion are built from.

use std::fmt;
use std::time::Duration;

pub use super::complete::complete;
pub use super::help::{CommandHelp, COMMANDS};
pub use super::history::InputHistory;
pub use super::lex::Span;
use super::lex::Word;
pub use super::parse::{duration, parse, PromptError, PromptErrorKind, NEMESIS_DEFAULT};
use crate::check::KvOp;
use crate::raft::NodeId;

/// The longest line the prompt holds, in bytes (4 KiB): room for any command and for a `put` of
/// a value of a few kilobytes. What a paste or a key would add beyond it is not taken, and the
/// prompt says how much was cut.
pub const PROMPT_MAX: usize = 4_096;

/// What became of a paste on its way into the prompt's single line: see [`fit_paste`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PasteFit {
    /// The text to insert.
    pub text: String,
    /// Line breaks in the part kept that became spaces (a tab becomes one too, uncounted).
    pub spaced: usize,
    /// Other control characters (stray escape sequences, ...) left out of the part kept.
    pub dropped: usize,
    /// Bytes cut off the end because the line would have gone past [`PROMPT_MAX`].
    pub cut: usize,
}

/// Makes `pasted` fit the prompt whose line holds `line` already: one line (a line break or a
/// tab becomes a space, line breaks at the very end go, other control characters are left
/// out), and the whole line at most [`PROMPT_MAX`] bytes, cut at a character boundary.
pub fn fit_paste(line: &str, pasted: &str) -> PasteFit {
    let mut fit = PasteFit::default();
    // Where each line break became a space and each control character was left out (byte
    // offsets into the text), so that only those in the part kept are counted.
    let mut spaced = Vec::new();
    let mut dropped = Vec::new();
    let body = pasted.trim_end_matches(['\r', '\n']);
    let mut last_cr = false;
    for c in body.chars() {
        match c {
            // A CR LF pair is one line break.
            '\n' if last_cr => {}
            '\r' | '\n' => {
                spaced.push(fit.text.len());
                fit.text.push(' ');
            }
            '\t' => fit.text.push(' '),
            c if c.is_control() => dropped.push(fit.text.len()),
            c => fit.text.push(c),
        }
        last_cr = c == '\r';
    }
    let room = PROMPT_MAX.saturating_sub(line.len());
    let mut end = fit.text.len();
    if end > room {
        end = room;
        while !fit.text.is_char_boundary(end) {
            end -= 1;
        }
        fit.cut = fit.text.len() - end;
        fit.text.truncate(end);
    }
    fit.spaced = spaced.iter().filter(|at| **at < end).count();
    fit.dropped = dropped.iter().filter(|at| **at < end).count();
    fit
}

impl PasteFit {
    /// One line that says what the paste lost or changed; `None` when it went in as it was.
    pub fn note(&self) -> Option<String> {
        use crate::observe::format::thousands;
        let mut parts = Vec::new();
        if self.cut > 0 {
            parts.push(format!(
                "the prompt holds {} bytes: the last {} bytes of the paste were cut",
                thousands(PROMPT_MAX as u64),
                thousands(self.cut as u64)
            ));
        }
        if self.spaced > 0 {
            parts.push(format!(
                "{} line break{} became {}",
                thousands(self.spaced as u64),
                if self.spaced == 1 { "" } else { "s" },
                if self.spaced == 1 {
                    "a space"
                } else {
                    "spaces"
                }
            ));
        }
        if self.dropped > 0 {
            parts.push(format!(
                "{} control character{} left out",
                thousands(self.dropped as u64),
                if self.dropped == 1 { "" } else { "s" }
            ));
        }
        (!parts.is_empty()).then(|| format!("pasted: {}", parts.join("; ")))
    }
}

/// A command typed at the prompt.
#[derive(Clone, Debug, PartialEq)]
pub enum PromptCommand {
    /// A client operation on the key-value store, as the history records it: `put KEY VALUE`,
    /// `get KEY`, `del KEY` (or `delete KEY`), `append KEY VALUE`, `cas KEY EXPECTED NEW`
    /// (EXPECTED `-`: the key must be absent). The key is never empty.
    Kv(KvOp),
    /// `write`: a random write (the same as the `w` key).
    Write,
    /// `retry`: sends the last write again with the same session and sequence number; the
    /// cluster applies it at most once (exactly-once semantics).
    Retry,
    /// `kill N`: crashes a node.
    Kill(NodeId),
    /// `restart N`: restarts a killed node.
    Restart(NodeId),
    /// `isolate N`: cuts a node off from every other.
    Isolate(NodeId),
    /// `campaign N` (or `timeout N`): fires a node's election timer now.
    Campaign(NodeId),
    /// `snapshot N` (or `compact N`): makes a node snapshot its state machine now and compact
    /// its log up to its applied index.
    Snapshot(NodeId),
    /// `transfer N`: asks the leader to hand leadership over to node N.
    Transfer(NodeId),
    /// `add-node`: starts a node on a new port; the leader adds it as a learner.
    AddNode,
    /// `promote N`: the leader makes learner N a voter.
    Promote(NodeId),
    /// `remove-node N`: the leader removes node N, which stops once the change commits.
    RemoveNode(NodeId),
    /// `rules`: shows the cluster's rule switches.
    Rules,
    /// `partition 1,2 3,4,5`: nodes in different groups cannot talk; unlisted nodes are each
    /// alone. Every group is non-empty and no node is in two groups.
    Partition(Vec<Vec<NodeId>>),
    /// `heal`: clears partitions, link policies and slow nodes.
    Heal,
    /// `slow N 300ms`: extra delay on every link to and from a node (`slow N 0` clears it).
    Slow {
        /// The node.
        node: NodeId,
        /// The extra delay; zero clears it.
        delay: Duration,
    },
    /// `link FROM TO CHANGE...`: changes the policy of the directed link `from → to`.
    Link {
        /// The sending node.
        from: NodeId,
        /// The receiving node (not `from`).
        to: NodeId,
        /// The changes, in the order typed; at least one, no kind twice, not both cut and up.
        changes: Vec<LinkChange>,
    },
    /// `clock N 1.5`: makes a node's clock run at `rate` times real time.
    Clock {
        /// The node.
        node: NodeId,
        /// The rate: finite and positive, 1.0 is normal.
        rate: f64,
    },
    /// `speed 0.5`: sets the tick length factor (finite and positive; 2.0 = ticks twice as long).
    Speed(f64),
    /// `pause`: stops time.
    Pause,
    /// `resume`: restarts time.
    Resume,
    /// `step`: advances a paused cluster by one event.
    Step,
    /// `drop MSG`: loses a message in flight.
    DropMessage(u64),
    /// `dup MSG` (or `duplicate MSG`): duplicates a message in flight.
    DupMessage(u64),
    /// `deliver MSG`: delivers a message in flight now.
    DeliverMessage(u64),
    /// `nemesis [SECS]`: runs random faults with client workers on the live cluster for that
    /// long (30 s without SECS), recording into the dashboard's history.
    Nemesis(Duration),
    /// `nemesis stop`: ends the running nemesis early.
    NemesisStop,
    /// `history`: shows the recorded operations and the checker's verdict.
    History,
    /// `history save FILE`: writes the recorded operations to FILE as JSON lines.
    HistorySave(String),
    /// `save FILE`: the lab's run to FILE (the sim engine only).
    Save(String),
    /// `share`: the lab's run as a share string (the sim engine only).
    Share,
    /// `branches`: the lab's branches (the sim engine only).
    Branches,
    /// `branch N`: switch to the lab's branch N, counted from 1 (the sim engine only).
    Branch(usize),
    /// `next`: what happens next in the lab, in order (the sim engine only).
    Next,
    /// `challenge NAME`: starts a challenge on the dashboard; `challenge` alone lists them.
    Challenge(Option<String>),
    /// `hint`: the running challenge's next hint (the dashboard's `H`).
    Hint,
    /// `help` (or `?`): shows the help overlay.
    Help,
    /// `quit` (or `exit`, `q`): leaves the dashboard.
    Quit,
}

/// One change to a link's policy in a [`PromptCommand::Link`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LinkChange {
    /// `cut`: every message on the link is lost.
    Cut,
    /// `up`: the link carries messages again.
    Up,
    /// `delay 200ms`: extra one-way delay.
    Delay(Duration),
    /// `jitter 50ms`: up to this much more delay, drawn per message.
    Jitter(Duration),
    /// `drop 0.3`: probability (within 0..=1) that a message is lost.
    Drop(f64),
}

impl fmt::Display for LinkChange {
    /// `cut`, `up`, `delay 200ms`, `jitter 50ms`, `drop 0.3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkChange::Cut => f.write_str("cut"),
            LinkChange::Up => f.write_str("up"),
            LinkChange::Delay(d) => write!(f, "delay {}", DurationText(*d)),
            LinkChange::Jitter(d) => write!(f, "jitter {}", DurationText(*d)),
            LinkChange::Drop(p) => write!(f, "drop {p}"),
        }
    }
}

impl fmt::Display for PromptCommand {
    /// The canonical command line: canonical names, quoted words where needed; [`parse`] reads
    /// it back to an equal command.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PromptCommand::Kv(KvOp::Put { key, value }) => {
                write!(f, "put {} {}", Word(key), Word(value))
            }
            PromptCommand::Kv(KvOp::Get { key }) => write!(f, "get {}", Word(key)),
            PromptCommand::Kv(KvOp::Delete { key }) => write!(f, "del {}", Word(key)),
            PromptCommand::Kv(KvOp::Append { key, value }) => {
                write!(f, "append {} {}", Word(key), Word(value))
            }
            PromptCommand::Kv(KvOp::Cas {
                key,
                expected,
                new_value,
            }) => {
                write!(f, "cas {} ", Word(key))?;
                match expected {
                    Some(e) => write!(f, "{}", Word(e))?,
                    None => f.write_str("-")?,
                }
                write!(f, " {}", Word(new_value))
            }
            PromptCommand::Write => f.write_str("write"),
            PromptCommand::Retry => f.write_str("retry"),
            PromptCommand::Kill(n) => write!(f, "kill {n}"),
            PromptCommand::Restart(n) => write!(f, "restart {n}"),
            PromptCommand::Isolate(n) => write!(f, "isolate {n}"),
            PromptCommand::Campaign(n) => write!(f, "campaign {n}"),
            PromptCommand::Snapshot(n) => write!(f, "snapshot {n}"),
            PromptCommand::Transfer(n) => write!(f, "transfer {n}"),
            PromptCommand::AddNode => f.write_str("add-node"),
            PromptCommand::Promote(n) => write!(f, "promote {n}"),
            PromptCommand::RemoveNode(n) => write!(f, "remove-node {n}"),
            PromptCommand::Rules => f.write_str("rules"),
            PromptCommand::Partition(groups) => {
                f.write_str("partition")?;
                for group in groups {
                    f.write_str(" ")?;
                    for (i, id) in group.iter().enumerate() {
                        if i > 0 {
                            f.write_str(",")?;
                        }
                        write!(f, "{id}")?;
                    }
                }
                Ok(())
            }
            PromptCommand::Heal => f.write_str("heal"),
            PromptCommand::Slow { node, delay } => {
                write!(f, "slow {node} {}", DurationText(*delay))
            }
            PromptCommand::Link { from, to, changes } => {
                write!(f, "link {from} {to}")?;
                for change in changes {
                    write!(f, " {change}")?;
                }
                Ok(())
            }
            PromptCommand::Clock { node, rate } => write!(f, "clock {node} {rate}"),
            PromptCommand::Speed(factor) => write!(f, "speed {factor}"),
            PromptCommand::Pause => f.write_str("pause"),
            PromptCommand::Resume => f.write_str("resume"),
            PromptCommand::Step => f.write_str("step"),
            PromptCommand::DropMessage(id) => write!(f, "drop {id}"),
            PromptCommand::DupMessage(id) => write!(f, "dup {id}"),
            PromptCommand::DeliverMessage(id) => write!(f, "deliver {id}"),
            PromptCommand::Nemesis(d) if d.subsec_nanos() == 0 => {
                write!(f, "nemesis {}", d.as_secs())
            }
            PromptCommand::Nemesis(d) => write!(f, "nemesis {}", DurationText(*d)),
            PromptCommand::NemesisStop => f.write_str("nemesis stop"),
            PromptCommand::History => f.write_str("history"),
            PromptCommand::Challenge(None) => f.write_str("challenge"),
            PromptCommand::Challenge(Some(name)) => write!(f, "challenge {}", Word(name)),
            PromptCommand::Hint => f.write_str("hint"),
            PromptCommand::HistorySave(file) => write!(f, "history save {}", Word(file)),
            PromptCommand::Save(file) => write!(f, "save {}", Word(file)),
            PromptCommand::Share => f.write_str("share"),
            PromptCommand::Branches => f.write_str("branches"),
            PromptCommand::Branch(n) => write!(f, "branch {n}"),
            PromptCommand::Next => f.write_str("next"),
            PromptCommand::Help => f.write_str("help"),
            PromptCommand::Quit => f.write_str("quit"),
        }
    }
}

/// Writes a duration the way `parse`'s duration reader reads it: `0`, `2s`, `300ms`, `1.5ms`.
pub(crate) struct DurationText(pub Duration);

impl fmt::Display for DurationText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nanos = self.0.as_nanos();
        if nanos == 0 {
            return f.write_str("0");
        }
        if nanos.is_multiple_of(1_000_000_000) {
            return write!(f, "{}s", nanos / 1_000_000_000);
        }
        let ms = nanos / 1_000_000;
        let rest = nanos % 1_000_000;
        if rest == 0 {
            write!(f, "{ms}ms")
        } else {
            let fraction = format!("{rest:06}");
            write!(f, "{ms}.{}ms", fraction.trim_end_matches('0'))
        }
    }
}

#[cfg(test)]
mod paste_tests {
    use super::*;

    #[test]
    fn a_paste_becomes_one_line_and_says_what_changed() {
        let fit = fit_paste("put x ", "a\r\nb\nc\td\u{1b}[1m\n\n");
        assert_eq!(fit.text, "a b c d[1m");
        assert_eq!((fit.spaced, fit.dropped, fit.cut), (2, 1, 0));
        assert_eq!(
            fit.note().as_deref(),
            Some("pasted: 2 line breaks became spaces; 1 control character left out")
        );
        // A single line with its trailing line break goes in as it is, without a word.
        let fit = fit_paste("", "kill 2\n");
        assert_eq!((fit.text.as_str(), fit.note()), ("kill 2", None));
    }

    #[test]
    fn a_paste_stops_at_the_prompts_limit_and_says_how_much_was_cut() {
        let fit = fit_paste("put x ", &"k".repeat(65_536));
        assert_eq!(fit.text.len(), PROMPT_MAX - 6);
        assert_eq!(fit.cut, 65_536 - (PROMPT_MAX - 6));
        assert_eq!(
            fit.note().as_deref(),
            Some(
                "pasted: the prompt holds 4,096 bytes: the last 61,446 bytes of the paste were cut"
            )
        );
        // Never inside a character.
        let fit = fit_paste(&"a".repeat(PROMPT_MAX - 1), "éé");
        assert_eq!((fit.text.as_str(), fit.cut), ("", 4));
        // Only the line breaks of the part kept are counted.
        let fit = fit_paste("", &"abc\n".repeat(3_000));
        assert_eq!((fit.spaced, fit.cut), (1_024, 12_000 - 1 - PROMPT_MAX));
        // A full line takes nothing more.
        let fit = fit_paste(&"a".repeat(PROMPT_MAX), "b");
        assert_eq!((fit.text.as_str(), fit.cut), ("", 1));
    }
}
