//! The dashboard's command prompt (opened with `:`): parsing, completion, history and the help
//! table. Pure logic, no terminal I/O.
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
//! [`parse`] turns a line into a [`PromptCommand`] or a one-line error that names the problem and
//! shows the usage; [`PromptCommand`]'s `Display` gives back a canonical line that parses to the
//! same command. [`complete`] offers completions of the word being typed, [`History`] is the
//! Up/Down history, and [`COMMANDS`] is the table the help overlay and completion are built from.

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::time::Duration;

use crate::raft::NodeId;

/// A command typed at the prompt.
#[derive(Clone, Debug, PartialEq)]
pub enum PromptCommand {
    /// `put KEY VALUE`: sets a key.
    Put {
        /// The key (non-empty).
        key: String,
        /// The new value (may be empty).
        value: String,
    },
    /// `get KEY`: reads a key.
    Get {
        /// The key (non-empty).
        key: String,
    },
    /// `del KEY` (or `delete KEY`): deletes a key.
    Del {
        /// The key (non-empty).
        key: String,
    },
    /// `append KEY VALUE`: appends to a key's value.
    Append {
        /// The key (non-empty).
        key: String,
        /// The text to append.
        value: String,
    },
    /// `cas KEY EXPECTED NEW`: compare-and-swap.
    Cas {
        /// The key (non-empty).
        key: String,
        /// The value the key must hold; `None` (written `-`): the key must be absent.
        expected: Option<String>,
        /// The value to set when the comparison holds.
        new_value: String,
    },
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

/// One row of the help table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CommandHelp {
    /// How to write the command; its first word is the command's canonical name.
    pub usage: &'static str,
    /// What the command does, in a few words (aliases are mentioned here).
    pub summary: &'static str,
}

/// Every command of the prompt, in the order the help overlay shows them. The first word of each
/// `usage` is the command's canonical name, which [`complete`] offers.
pub const COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        usage: "put KEY VALUE",
        summary: "set KEY (quote spaces: put k \"a b\")",
    },
    CommandHelp {
        usage: "get KEY",
        summary: "read KEY",
    },
    CommandHelp {
        usage: "del KEY",
        summary: "delete KEY (also: delete)",
    },
    CommandHelp {
        usage: "append KEY VALUE",
        summary: "append VALUE to KEY's value",
    },
    CommandHelp {
        usage: "cas KEY EXPECTED NEW",
        summary: "NEW if KEY is EXPECTED (- : if absent)",
    },
    CommandHelp {
        usage: "write",
        summary: "submit a random write (the w key)",
    },
    CommandHelp {
        usage: "retry",
        summary: "resend the last write (same seq: applied once)",
    },
    CommandHelp {
        usage: "kill NODE",
        summary: "crash a node",
    },
    CommandHelp {
        usage: "restart NODE",
        summary: "restart a killed node",
    },
    CommandHelp {
        usage: "isolate NODE",
        summary: "cut a node off from all others",
    },
    CommandHelp {
        usage: "campaign NODE",
        summary: "election timer fires now (also: timeout)",
    },
    CommandHelp {
        usage: "snapshot NODE",
        summary: "snapshot now and compact (also: compact)",
    },
    CommandHelp {
        usage: "transfer NODE",
        summary: "hand leadership to a node",
    },
    CommandHelp {
        usage: "add-node",
        summary: "start a node; the leader adds a learner",
    },
    CommandHelp {
        usage: "promote NODE",
        summary: "make a learner a voter",
    },
    CommandHelp {
        usage: "remove-node NODE",
        summary: "remove a node from the configuration",
    },
    CommandHelp {
        usage: "rules",
        summary: "PreVote, CheckQuorum, reads, UNSAFE",
    },
    CommandHelp {
        usage: "partition GROUP...",
        summary: "groups like 1,2 3,4,5 (others alone)",
    },
    CommandHelp {
        usage: "heal",
        summary: "clear every network fault and drift",
    },
    CommandHelp {
        usage: "slow NODE DELAY",
        summary: "+DELAY on a node's messages (0 clears)",
    },
    CommandHelp {
        usage: "link FROM TO cut|up|delay D|jitter D|drop P...",
        summary: "change the link FROM -> TO",
    },
    CommandHelp {
        usage: "clock NODE RATE",
        summary: "node's clock at RATE x real time (1)",
    },
    CommandHelp {
        usage: "speed FACTOR",
        summary: "tick length x FACTOR (2: twice as slow)",
    },
    CommandHelp {
        usage: "pause",
        summary: "stop time",
    },
    CommandHelp {
        usage: "resume",
        summary: "restart time",
    },
    CommandHelp {
        usage: "step",
        summary: "advance a paused cluster by one event",
    },
    CommandHelp {
        usage: "drop MSG",
        summary: "lose the in-flight message MSG",
    },
    CommandHelp {
        usage: "dup MSG",
        summary: "duplicate message MSG (also: duplicate)",
    },
    CommandHelp {
        usage: "deliver MSG",
        summary: "deliver the in-flight message MSG now",
    },
    CommandHelp {
        usage: "nemesis [SECS|stop]",
        summary: "faults + 4 clients for SECS s (30), or stop",
    },
    CommandHelp {
        usage: "history [save FILE]",
        summary: "operations and verdict; save: as JSON lines",
    },
    CommandHelp {
        usage: "help",
        summary: "show this help (also: ?)",
    },
    CommandHelp {
        usage: "quit",
        summary: "leave raftlab (also: exit, q)",
    },
];

/// The longest duration the prompt accepts.
const MAX_DURATION: Duration = Duration::from_secs(3600);

/// How long `nemesis` runs without SECS.
pub const NEMESIS_DEFAULT: Duration = Duration::from_secs(30);

/// Node ids beyond this are not offered by [`complete`] (a cluster has at most 9 nodes).
const MAX_COMPLETED_NODE: u64 = 999;

/// The kinds of command, one per canonical name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Put,
    Get,
    Del,
    Append,
    Cas,
    Write,
    Retry,
    Kill,
    Restart,
    Isolate,
    Campaign,
    Snapshot,
    Transfer,
    AddNode,
    Promote,
    RemoveNode,
    Rules,
    Partition,
    Heal,
    Slow,
    Link,
    Clock,
    Speed,
    Pause,
    Resume,
    Step,
    Drop,
    Dup,
    Deliver,
    Nemesis,
    History,
    Help,
    Quit,
}

impl Kind {
    #[cfg(test)]
    const ALL: [Kind; 33] = [
        Kind::Put,
        Kind::Get,
        Kind::Del,
        Kind::Append,
        Kind::Cas,
        Kind::Write,
        Kind::Retry,
        Kind::Kill,
        Kind::Restart,
        Kind::Isolate,
        Kind::Campaign,
        Kind::Snapshot,
        Kind::Transfer,
        Kind::AddNode,
        Kind::Promote,
        Kind::RemoveNode,
        Kind::Rules,
        Kind::Partition,
        Kind::Heal,
        Kind::Slow,
        Kind::Link,
        Kind::Clock,
        Kind::Speed,
        Kind::Pause,
        Kind::Resume,
        Kind::Step,
        Kind::Drop,
        Kind::Dup,
        Kind::Deliver,
        Kind::Nemesis,
        Kind::History,
        Kind::Help,
        Kind::Quit,
    ];

    /// The kind named by `word` (already lowercased), aliases included.
    fn from_name(word: &str) -> Option<Kind> {
        Some(match word {
            "put" => Kind::Put,
            "get" => Kind::Get,
            "del" | "delete" => Kind::Del,
            "append" => Kind::Append,
            "cas" => Kind::Cas,
            "write" => Kind::Write,
            "retry" => Kind::Retry,
            "kill" => Kind::Kill,
            "restart" => Kind::Restart,
            "isolate" => Kind::Isolate,
            "campaign" | "timeout" => Kind::Campaign,
            "snapshot" | "compact" => Kind::Snapshot,
            "transfer" => Kind::Transfer,
            "add-node" => Kind::AddNode,
            "promote" => Kind::Promote,
            "remove-node" => Kind::RemoveNode,
            "rules" => Kind::Rules,
            "partition" => Kind::Partition,
            "heal" => Kind::Heal,
            "slow" => Kind::Slow,
            "link" => Kind::Link,
            "clock" => Kind::Clock,
            "speed" => Kind::Speed,
            "pause" => Kind::Pause,
            "resume" => Kind::Resume,
            "step" => Kind::Step,
            "drop" => Kind::Drop,
            "dup" | "duplicate" => Kind::Dup,
            "deliver" => Kind::Deliver,
            "nemesis" => Kind::Nemesis,
            "history" => Kind::History,
            "help" | "?" => Kind::Help,
            "quit" | "exit" | "q" => Kind::Quit,
            _ => return None,
        })
    }

    /// The canonical name, as in [`COMMANDS`] and in `Display`.
    fn name(self) -> &'static str {
        match self {
            Kind::Put => "put",
            Kind::Get => "get",
            Kind::Del => "del",
            Kind::Append => "append",
            Kind::Cas => "cas",
            Kind::Write => "write",
            Kind::Retry => "retry",
            Kind::Kill => "kill",
            Kind::Restart => "restart",
            Kind::Isolate => "isolate",
            Kind::Campaign => "campaign",
            Kind::Snapshot => "snapshot",
            Kind::Transfer => "transfer",
            Kind::AddNode => "add-node",
            Kind::Promote => "promote",
            Kind::RemoveNode => "remove-node",
            Kind::Rules => "rules",
            Kind::Partition => "partition",
            Kind::Heal => "heal",
            Kind::Slow => "slow",
            Kind::Link => "link",
            Kind::Clock => "clock",
            Kind::Speed => "speed",
            Kind::Pause => "pause",
            Kind::Resume => "resume",
            Kind::Step => "step",
            Kind::Drop => "drop",
            Kind::Dup => "dup",
            Kind::Deliver => "deliver",
            Kind::Nemesis => "nemesis",
            Kind::History => "history",
            Kind::Help => "help",
            Kind::Quit => "quit",
        }
    }

    /// The usage line from [`COMMANDS`].
    fn usage(self) -> &'static str {
        COMMANDS
            .iter()
            .find(|c| c.usage.split_whitespace().next() == Some(self.name()))
            .map_or(self.name(), |c| c.usage)
    }
}

/// A word of a command line, quotes removed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Token {
    /// The word with quotes and escapes resolved.
    text: String,
    /// Whether any part of it was quoted.
    quoted: bool,
    /// Byte offset in the line where the word starts.
    start: usize,
}

/// A line split into words.
struct Scan {
    tokens: Vec<Token>,
    /// The line ends inside a quote.
    unterminated: bool,
    /// The line ends inside a word (no whitespace after the last one).
    ends_in_word: bool,
}

fn scan(line: &str) -> Scan {
    let mut tokens = Vec::new();
    let mut current: Option<Token> = None;
    let mut in_quote = false;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if in_quote {
            let ch = match c {
                '"' => {
                    in_quote = false;
                    continue;
                }
                '\\' => match chars.peek() {
                    Some(&(_, next)) if next == '"' || next == '\\' => {
                        chars.next();
                        next
                    }
                    _ => '\\',
                },
                other => other,
            };
            if let Some(t) = current.as_mut() {
                t.text.push(ch);
            }
        } else if c.is_whitespace() {
            if let Some(t) = current.take() {
                tokens.push(t);
            }
        } else {
            let t = current.get_or_insert_with(|| Token {
                text: String::new(),
                quoted: false,
                start: i,
            });
            if c == '"' {
                in_quote = true;
                t.quoted = true;
            } else {
                t.text.push(c);
            }
        }
    }
    let ends_in_word = current.is_some();
    if let Some(t) = current {
        tokens.push(t);
    }
    Scan {
        tokens,
        unterminated: in_quote,
        ends_in_word,
    }
}

/// Parses one prompt line for a cluster of `nodes` nodes (ids `1..=nodes`).
///
/// Errors are one line that names the problem and, where it helps, shows the usage:
/// `kill: node 12 does not exist (nodes are 1..5)`, `usage: put KEY VALUE`,
/// `unknown command "frobnicate" (type help)`.
pub fn parse(line: &str, nodes: usize) -> Result<PromptCommand, String> {
    let scan = scan(line);
    if scan.unterminated {
        return Err("unterminated quote (close it with \")".to_string());
    }
    let Some((first, args)) = scan.tokens.split_first() else {
        return Err("empty command (type help)".to_string());
    };
    let Some(kind) = Kind::from_name(&first.text.to_lowercase()) else {
        return Err(format!("unknown command {:?} (type help)", first.text));
    };
    let cx = Cx { kind, args, nodes };
    let cmd = match kind {
        Kind::Put => {
            let [key, value] = cx.exactly()?;
            PromptCommand::Put {
                key: cx.key(key)?,
                value: value.text.clone(),
            }
        }
        Kind::Get => {
            let [key] = cx.exactly()?;
            PromptCommand::Get { key: cx.key(key)? }
        }
        Kind::Del => {
            let [key] = cx.exactly()?;
            PromptCommand::Del { key: cx.key(key)? }
        }
        Kind::Append => {
            let [key, value] = cx.exactly()?;
            PromptCommand::Append {
                key: cx.key(key)?,
                value: value.text.clone(),
            }
        }
        Kind::Cas => {
            let [key, expected, new_value] = cx.exactly()?;
            let expected = if !expected.quoted && expected.text == "-" {
                None
            } else {
                Some(expected.text.clone())
            };
            PromptCommand::Cas {
                key: cx.key(key)?,
                expected,
                new_value: new_value.text.clone(),
            }
        }
        Kind::Write => cx.none(PromptCommand::Write)?,
        Kind::Retry => cx.none(PromptCommand::Retry)?,
        Kind::Kill => PromptCommand::Kill(cx.one_node()?),
        Kind::Restart => PromptCommand::Restart(cx.one_node()?),
        Kind::Isolate => PromptCommand::Isolate(cx.one_node()?),
        Kind::Campaign => PromptCommand::Campaign(cx.one_node()?),
        Kind::Snapshot => PromptCommand::Snapshot(cx.one_node()?),
        Kind::Transfer => PromptCommand::Transfer(cx.one_node()?),
        Kind::AddNode => cx.none(PromptCommand::AddNode)?,
        Kind::Promote => PromptCommand::Promote(cx.one_node()?),
        Kind::RemoveNode => PromptCommand::RemoveNode(cx.one_node()?),
        Kind::Rules => cx.none(PromptCommand::Rules)?,
        Kind::Partition => cx.partition()?,
        Kind::Heal => cx.none(PromptCommand::Heal)?,
        Kind::Slow => {
            let [node, delay] = cx.exactly()?;
            PromptCommand::Slow {
                node: cx.node(node)?,
                delay: cx.duration(delay)?,
            }
        }
        Kind::Link => cx.link()?,
        Kind::Clock => {
            let [node, rate] = cx.exactly()?;
            let node = cx.node(node)?;
            let rate = cx.number(rate)?;
            if !(rate.is_finite() && rate > 0.0) {
                return Err("clock: rate must be a positive number".to_string());
            }
            PromptCommand::Clock { node, rate }
        }
        Kind::Speed => {
            let [factor] = cx.exactly()?;
            let factor = cx.number(factor)?;
            if !(factor.is_finite() && factor > 0.0) {
                return Err("speed: must be a positive number".to_string());
            }
            PromptCommand::Speed(factor)
        }
        Kind::Pause => cx.none(PromptCommand::Pause)?,
        Kind::Resume => cx.none(PromptCommand::Resume)?,
        Kind::Step => cx.none(PromptCommand::Step)?,
        Kind::Drop => PromptCommand::DropMessage(cx.one_message()?),
        Kind::Dup => PromptCommand::DupMessage(cx.one_message()?),
        Kind::Deliver => PromptCommand::DeliverMessage(cx.one_message()?),
        Kind::Nemesis => cx.nemesis()?,
        Kind::History => cx.history()?,
        Kind::Help => cx.none(PromptCommand::Help)?,
        Kind::Quit => cx.none(PromptCommand::Quit)?,
    };
    Ok(cmd)
}

/// What parsing one command needs to know.
struct Cx<'a> {
    kind: Kind,
    args: &'a [Token],
    nodes: usize,
}

impl<'a> Cx<'a> {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    fn usage(&self) -> &'static str {
        self.kind.usage()
    }

    /// The error for a missing argument: the bare usage when nothing was given, else which
    /// argument is missing.
    fn missing(&self, what: &str) -> String {
        if self.args.is_empty() {
            format!("usage: {}", self.usage())
        } else {
            format!("{}: missing {what} (usage: {})", self.name(), self.usage())
        }
    }

    fn too_many(&self) -> String {
        format!(
            "{}: too many arguments (usage: {})",
            self.name(),
            self.usage()
        )
    }

    /// Exactly `N` arguments.
    fn exactly<const N: usize>(&self) -> Result<[&'a Token; N], String> {
        if self.args.len() > N {
            return Err(self.too_many());
        }
        if self.args.len() < N {
            let what = self
                .usage()
                .split_whitespace()
                .nth(self.args.len() + 1)
                .unwrap_or("an argument");
            return Err(self.missing(what));
        }
        let refs: Vec<&'a Token> = self.args.iter().collect();
        refs.try_into().map_err(|_| self.too_many())
    }

    fn none(&self, cmd: PromptCommand) -> Result<PromptCommand, String> {
        if self.args.is_empty() {
            Ok(cmd)
        } else {
            Err(self.too_many())
        }
    }

    fn key(&self, t: &Token) -> Result<String, String> {
        if t.text.is_empty() {
            Err(format!(
                "{}: key must not be empty (usage: {})",
                self.name(),
                self.usage()
            ))
        } else {
            Ok(t.text.clone())
        }
    }

    fn nodes_are(&self) -> String {
        if self.nodes == 0 {
            "there are no nodes".to_string()
        } else {
            format!("nodes are 1..{}", self.nodes)
        }
    }

    fn node_text(&self, text: &str) -> Result<NodeId, String> {
        let Ok(id) = text.trim().parse::<NodeId>() else {
            return Err(format!(
                "{}: {text:?} is not a node id ({})",
                self.name(),
                self.nodes_are()
            ));
        };
        if id == 0 || id > self.nodes as u64 {
            return Err(format!(
                "{}: node {id} does not exist ({})",
                self.name(),
                self.nodes_are()
            ));
        }
        Ok(id)
    }

    fn node(&self, t: &Token) -> Result<NodeId, String> {
        self.node_text(&t.text)
    }

    fn one_node(&self) -> Result<NodeId, String> {
        let [node] = self.exactly()?;
        self.node(node)
    }

    fn one_message(&self) -> Result<u64, String> {
        let [id] = self.exactly()?;
        id.text.parse::<u64>().map_err(|_| {
            format!(
                "{}: {:?} is not a message id (usage: {})",
                self.name(),
                id.text,
                self.usage()
            )
        })
    }

    fn duration(&self, t: &Token) -> Result<Duration, String> {
        match parse_duration(&t.text) {
            Ok(d) => Ok(d),
            Err(DurationError::Invalid) => Err(format!(
                "{}: {:?} is not a duration (use 300ms, 2s)",
                self.name(),
                t.text
            )),
            Err(DurationError::TooLong) => Err(format!(
                "{}: {} is too long (at most {})",
                self.name(),
                t.text,
                DurationText(MAX_DURATION)
            )),
        }
    }

    fn number(&self, t: &Token) -> Result<f64, String> {
        t.text.parse::<f64>().map_err(|_| {
            format!(
                "{}: {:?} is not a number (usage: {})",
                self.name(),
                t.text,
                self.usage()
            )
        })
    }

    /// `nemesis`, `nemesis stop`, `nemesis 45` (seconds), `nemesis 2s` (any duration of 1 s or
    /// more).
    fn nemesis(&self) -> Result<PromptCommand, String> {
        let [arg] = match self.args {
            [] => return Ok(PromptCommand::Nemesis(NEMESIS_DEFAULT)),
            [arg] => [arg],
            _ => return Err(self.too_many()),
        };
        if !arg.quoted && arg.text.eq_ignore_ascii_case("stop") {
            return Ok(PromptCommand::NemesisStop);
        }
        let text = &arg.text;
        let parsed = if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            // Bare digits are seconds.
            text.parse::<u64>()
                .ok()
                .filter(|s| *s <= MAX_DURATION.as_secs())
                .map(Duration::from_secs)
                .ok_or(DurationError::TooLong)
        } else {
            parse_duration(text)
        };
        match parsed {
            Ok(d) if d < Duration::from_secs(1) => Err(format!(
                "nemesis: {text} is too short (at least 1 s; usage: {})",
                self.usage()
            )),
            Ok(d) => Ok(PromptCommand::Nemesis(d)),
            Err(DurationError::Invalid) => Err(format!(
                "nemesis: {text:?} is neither a number of seconds nor stop (usage: {})",
                self.usage()
            )),
            Err(DurationError::TooLong) => Err(format!(
                "nemesis: {text} is too long (at most {})",
                DurationText(MAX_DURATION)
            )),
        }
    }

    /// `history` or `history save FILE`.
    fn history(&self) -> Result<PromptCommand, String> {
        match self.args {
            [] => Ok(PromptCommand::History),
            [sub, rest @ ..] if !sub.quoted && sub.text.eq_ignore_ascii_case("save") => {
                match rest {
                    [] => Err(self.missing("FILE")),
                    [file] if file.text.is_empty() => Err(format!(
                        "history: FILE must not be empty (usage: {})",
                        self.usage()
                    )),
                    [file] => Ok(PromptCommand::HistorySave(file.text.clone())),
                    _ => Err(self.too_many()),
                }
            }
            [sub, ..] => Err(format!(
                "history: unknown subcommand {:?} (usage: {})",
                sub.text,
                self.usage()
            )),
        }
    }

    fn partition(&self) -> Result<PromptCommand, String> {
        if self.args.is_empty() {
            return Err(format!(
                "usage: {} (e.g. partition 1,2 3,4,5)",
                self.usage()
            ));
        }
        let mut seen = BTreeSet::new();
        let mut groups = Vec::with_capacity(self.args.len());
        for arg in self.args {
            let mut group = Vec::new();
            for part in arg.text.split(',') {
                if part.trim().is_empty() {
                    return Err(format!(
                        "partition: {:?} is not a group of node ids like 1,2",
                        arg.text
                    ));
                }
                let id = self.node_text(part)?;
                if group.contains(&id) {
                    return Err(format!("partition: node {id} is listed twice"));
                }
                if !seen.insert(id) {
                    return Err(format!("partition: node {id} is in two groups"));
                }
                group.push(id);
            }
            groups.push(group);
        }
        Ok(PromptCommand::Partition(groups))
    }

    fn link(&self) -> Result<PromptCommand, String> {
        let from = self.args.first().ok_or_else(|| self.missing("FROM"))?;
        let to = self.args.get(1).ok_or_else(|| self.missing("TO"))?;
        let from = self.node(from)?;
        let to = self.node(to)?;
        if from == to {
            return Err(format!(
                "link: node {from} has no link to itself (usage: {})",
                self.usage()
            ));
        }
        let rest = self.args.get(2..).unwrap_or_default();
        if rest.is_empty() {
            return Err(self.missing("a change"));
        }
        let mut changes = Vec::new();
        let mut seen: BTreeSet<&'static str> = BTreeSet::new();
        let mut words = rest.iter();
        while let Some(word) = words.next() {
            let keyword = word.text.to_lowercase();
            let (name, change) = match keyword.as_str() {
                "cut" => ("cut", LinkChange::Cut),
                "up" => ("up", LinkChange::Up),
                "delay" | "jitter" => {
                    let name = if keyword == "delay" {
                        "delay"
                    } else {
                        "jitter"
                    };
                    let Some(value) = words.next() else {
                        return Err(format!("link: {name} needs a duration (use 300ms, 2s)"));
                    };
                    let d = self.duration(value)?;
                    if name == "delay" {
                        (name, LinkChange::Delay(d))
                    } else {
                        (name, LinkChange::Jitter(d))
                    }
                }
                "drop" => {
                    let Some(value) = words.next() else {
                        return Err("link: drop needs a rate within 0..1".to_string());
                    };
                    let Ok(rate) = value.text.parse::<f64>() else {
                        return Err(format!(
                            "link: {:?} is not a drop rate (use a number within 0..1)",
                            value.text
                        ));
                    };
                    if !(0.0..=1.0).contains(&rate) {
                        return Err("link: drop rate must be within 0..1".to_string());
                    }
                    ("drop", LinkChange::Drop(rate))
                }
                _ => {
                    return Err(format!(
                        "link: unknown change {:?} (use cut, up, delay D, jitter D, drop P)",
                        word.text
                    ))
                }
            };
            if !seen.insert(name) {
                return Err(format!("link: {name} is given twice"));
            }
            changes.push(change);
        }
        if seen.contains("cut") && seen.contains("up") {
            return Err("link: cut and up contradict each other".to_string());
        }
        Ok(PromptCommand::Link { from, to, changes })
    }
}

enum DurationError {
    Invalid,
    TooLong,
}

/// Parses a duration the way the prompt does (`300ms`, `2s`, `1.5s`, `0`), with an error that
/// says what is wrong.
pub fn duration(text: &str) -> Result<Duration, String> {
    parse_duration(text).map_err(|e| match e {
        DurationError::Invalid => {
            format!("bad duration {text:?} (write it like 300ms, 2s or 1.5s)")
        }
        DurationError::TooLong => format!(
            "duration {text:?} is too long (at most {} s)",
            MAX_DURATION.as_secs()
        ),
    })
}

/// Parses `300ms`, `2s`, `1.5s`, `0.25ms` or a bare zero (`0`). Units are case-insensitive;
/// digits beyond nanoseconds are ignored.
fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let lower = text.to_ascii_lowercase();
    let (number, nanos_per_unit): (&str, u128) = if let Some(n) = lower.strip_suffix("ms") {
        (n, 1_000_000)
    } else if let Some(n) = lower.strip_suffix('s') {
        (n, 1_000_000_000)
    } else {
        // A bare number: only zero needs no unit.
        (lower.as_str(), 0)
    };
    let (whole, fraction) = match number.split_once('.') {
        Some((w, f)) => (w, f),
        None => (number, ""),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) || number.ends_with('.') {
        return Err(DurationError::Invalid);
    }
    if nanos_per_unit == 0 {
        let zero = whole.bytes().all(|b| b == b'0') && fraction.bytes().all(|b| b == b'0');
        return if zero {
            Ok(Duration::ZERO)
        } else {
            Err(DurationError::Invalid)
        };
    }
    let max = MAX_DURATION.as_nanos();
    let mut nanos: u128 = 0;
    for b in whole.bytes() {
        nanos = nanos * 10 + u128::from(b - b'0');
        if nanos > max {
            return Err(DurationError::TooLong);
        }
    }
    nanos *= nanos_per_unit;
    let mut scale = nanos_per_unit;
    for b in fraction.bytes() {
        scale /= 10;
        if scale == 0 {
            break;
        }
        nanos += u128::from(b - b'0') * scale;
    }
    if nanos > max {
        return Err(DurationError::TooLong);
    }
    let nanos = u64::try_from(nanos).map_err(|_| DurationError::TooLong)?;
    Ok(Duration::from_nanos(nanos))
}

/// Writes a duration the way [`parse_duration`] reads it: `0`, `2s`, `300ms`, `1.5ms`.
struct DurationText(Duration);

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

/// Writes a word so that the tokenizer reads it back unchanged, quoting when needed.
struct Word<'a>(&'a str);

impl fmt::Display for Word<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let plain = !s.is_empty()
            && s != "-"
            && !s
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\\');
        if plain {
            return f.write_str(s);
        }
        f.write_str("\"")?;
        for c in s.chars() {
            if c == '"' || c == '\\' {
                f.write_str("\\")?;
            }
            write!(f, "{c}")?;
        }
        f.write_str("\"")
    }
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
            PromptCommand::Put { key, value } => write!(f, "put {} {}", Word(key), Word(value)),
            PromptCommand::Get { key } => write!(f, "get {}", Word(key)),
            PromptCommand::Del { key } => write!(f, "del {}", Word(key)),
            PromptCommand::Append { key, value } => {
                write!(f, "append {} {}", Word(key), Word(value))
            }
            PromptCommand::Cas {
                key,
                expected,
                new_value,
            } => {
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
            PromptCommand::HistorySave(file) => write!(f, "history save {}", Word(file)),
            PromptCommand::Help => f.write_str("help"),
            PromptCommand::Quit => f.write_str("quit"),
        }
    }
}

/// Completions of the word being typed at the end of `line` (an empty word after trailing
/// whitespace), for a cluster of `nodes` nodes, as full replacement lines: `"pa"` gives
/// `["partition ", "pause "]`, `"kill "` gives `["kill 1", ..., "kill 5"]`, `"link 1 2 d"` gives
/// `["link 1 2 delay ", "link 1 2 drop "]`. A space follows a completed word when more may
/// follow it. Sorted; empty when there is nothing to offer (keys, values, durations, numbers,
/// inside quotes).
pub fn complete(line: &str, nodes: usize) -> Vec<String> {
    let scan = scan(line);
    if scan.unterminated {
        return Vec::new();
    }
    let (index, start, word) = if scan.ends_in_word {
        match scan.tokens.last() {
            Some(t) if t.quoted => return Vec::new(),
            Some(t) => (scan.tokens.len() - 1, t.start, t.text.as_str()),
            None => return Vec::new(),
        }
    } else {
        (scan.tokens.len(), line.len(), "")
    };
    let Some(head) = line.get(..start) else {
        return Vec::new();
    };
    let before = scan.tokens.get(..index).unwrap_or_default();
    let mut out: Vec<String> = candidates(before, word, nodes)
        .into_iter()
        .map(|c| format!("{head}{c}"))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Replacements for `word`, given the words before it.
fn candidates(before: &[Token], word: &str, nodes: usize) -> Vec<String> {
    let lower = word.to_lowercase();
    let Some((first, args)) = before.split_first() else {
        return COMMANDS
            .iter()
            .filter_map(|c| c.usage.split_whitespace().next())
            .filter(|name| name.starts_with(&lower))
            .map(|name| format!("{name} "))
            .collect();
    };
    let Some(kind) = Kind::from_name(&first.text.to_lowercase()) else {
        return Vec::new();
    };
    let position = args.len();
    let node_ids = |skip: &BTreeSet<NodeId>, prefix: &str, suffix: &str| -> Vec<String> {
        (1..=(nodes as u64).min(MAX_COMPLETED_NODE))
            .filter(|id| !skip.contains(id))
            .map(|id| id.to_string())
            .filter(|id| id.starts_with(prefix))
            .map(|id| format!("{id}{suffix}"))
            .collect()
    };
    let none = BTreeSet::new();
    match (kind, position) {
        (
            Kind::Kill
            | Kind::Restart
            | Kind::Isolate
            | Kind::Campaign
            | Kind::Snapshot
            | Kind::Transfer
            | Kind::Promote
            | Kind::RemoveNode,
            0,
        ) => node_ids(&none, word, ""),
        (Kind::Slow | Kind::Clock | Kind::Link, 0) => node_ids(&none, word, " "),
        (Kind::Link, 1) => {
            let skip = args
                .first()
                .and_then(|t| t.text.parse::<NodeId>().ok())
                .into_iter()
                .collect();
            node_ids(&skip, word, " ")
        }
        (Kind::Link, _) => {
            let mut used = BTreeSet::new();
            let mut expecting_value = false;
            for t in args.get(2..).unwrap_or_default() {
                if expecting_value {
                    expecting_value = false;
                    continue;
                }
                let k = t.text.to_lowercase();
                expecting_value = matches!(k.as_str(), "delay" | "jitter" | "drop");
                used.insert(k);
            }
            if expecting_value {
                return Vec::new();
            }
            ["cut", "up", "delay", "jitter", "drop"]
                .into_iter()
                .filter(|k| !used.contains(*k))
                .filter(|k| !(*k == "cut" && used.contains("up")))
                .filter(|k| !(*k == "up" && used.contains("cut")))
                .filter(|k| k.starts_with(&lower))
                .map(|k| format!("{k} "))
                .collect()
        }
        (Kind::Nemesis, 0) => ["stop"]
            .into_iter()
            .filter(|k| k.starts_with(&lower))
            .map(String::from)
            .collect(),
        (Kind::History, 0) => ["save"]
            .into_iter()
            .filter(|k| k.starts_with(&lower))
            .map(|k| format!("{k} "))
            .collect(),
        (Kind::Partition, _) => {
            let ids = |s: &str| -> Vec<NodeId> {
                s.split(',')
                    .filter_map(|p| p.trim().parse::<NodeId>().ok())
                    .collect()
            };
            let (done, typed) = match word.rfind(',') {
                Some(i) => word.split_at(i + 1),
                None => ("", word),
            };
            let used: BTreeSet<NodeId> = args
                .iter()
                .flat_map(|t| ids(&t.text))
                .chain(ids(done))
                .collect();
            node_ids(&used, typed, "")
                .into_iter()
                .map(|id| format!("{done}{id}"))
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The prompt's history, navigated with Up and Down like a shell's.
#[derive(Clone, Debug)]
pub struct History {
    entries: VecDeque<String>,
    capacity: usize,
    /// The entry shown, `None` while editing the line being typed.
    cursor: Option<usize>,
    /// The line being typed when navigation started.
    draft: String,
}

impl History {
    /// An empty history keeping at most `capacity` lines (the oldest go first).
    pub fn new(capacity: usize) -> Self {
        History {
            entries: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            cursor: None,
            draft: String::new(),
        }
    }

    /// Records a submitted line, ignoring blank lines and a repeat of the newest entry, and
    /// returns navigation to the line being typed.
    pub fn push(&mut self, line: &str) {
        self.reset_cursor();
        if line.trim().is_empty() || self.capacity == 0 {
            return;
        }
        if self.entries.back().map(String::as_str) == Some(line) {
            return;
        }
        while self.entries.len() >= self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(line.to_string());
    }

    /// Up: the next older entry, remembering `current` (the line being typed) when leaving it.
    /// `None` when there is nothing older (the caller keeps the line as it is).
    pub fn prev(&mut self, current: &str) -> Option<&str> {
        let index = match self.cursor {
            None => {
                let newest = self.entries.len().checked_sub(1)?;
                self.draft = current.to_string();
                newest
            }
            Some(i) => i.checked_sub(1)?,
        };
        self.cursor = Some(index);
        self.entries.get(index).map(String::as_str)
    }

    /// Down: the next newer entry; past the newest, the line that was being typed. `None` when
    /// not navigating (the caller keeps the line as it is).
    // Named after the Down key's role, paired with `prev`; a History is not an iterator.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Option<&str> {
        let i = self.cursor?;
        if i + 1 < self.entries.len() {
            self.cursor = Some(i + 1);
            self.entries.get(i + 1).map(String::as_str)
        } else {
            self.cursor = None;
            Some(self.draft.as_str())
        }
    }

    /// Stops navigating: the next [`History::prev`] starts from the newest entry again.
    pub fn reset_cursor(&mut self) {
        self.cursor = None;
        self.draft.clear();
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, oldest first.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const N: usize = 5;

    fn ok(line: &str) -> PromptCommand {
        match parse(line, N) {
            Ok(cmd) => cmd,
            Err(e) => panic!("{line:?} should parse, got {e:?}"),
        }
    }

    fn err(line: &str) -> String {
        match parse(line, N) {
            Ok(cmd) => panic!("{line:?} should fail, got {cmd:?}"),
            Err(e) => e,
        }
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn s(x: &str) -> String {
        x.to_string()
    }

    fn put(key: &str, value: &str) -> PromptCommand {
        PromptCommand::Put {
            key: s(key),
            value: s(value),
        }
    }

    fn append(key: &str, value: &str) -> PromptCommand {
        PromptCommand::Append {
            key: s(key),
            value: s(value),
        }
    }

    fn get(key: &str) -> PromptCommand {
        PromptCommand::Get { key: s(key) }
    }

    fn del(key: &str) -> PromptCommand {
        PromptCommand::Del { key: s(key) }
    }

    fn cas(key: &str, expected: Option<&str>, new_value: &str) -> PromptCommand {
        PromptCommand::Cas {
            key: s(key),
            expected: expected.map(s),
            new_value: s(new_value),
        }
    }

    fn slow(node: NodeId, delay: Duration) -> PromptCommand {
        PromptCommand::Slow { node, delay }
    }

    fn link(from: NodeId, to: NodeId, changes: Vec<LinkChange>) -> PromptCommand {
        PromptCommand::Link { from, to, changes }
    }

    #[test]
    fn parses_every_command() {
        use LinkChange::*;
        use PromptCommand as C;
        let cases: Vec<(&str, PromptCommand)> = vec![
            ("put x 1", put("x", "1")),
            (
                "put greeting \"hello world\"",
                put("greeting", "hello world"),
            ),
            ("put k \"\"", put("k", "")),
            (r#"put "a \"b\"" "c\\d""#, put("a \"b\"", "c\\d")),
            (r#"put k "a\nb""#, put("k", "a\\nb")),
            ("put k ab\"c d\"e", put("k", "abc de")),
            ("put k a\\b", put("k", "a\\b")),
            ("  PUT   x\t1  ", put("x", "1")),
            ("get x", get("x")),
            ("del x", del("x")),
            ("delete x", del("x")),
            ("append x abc", append("x", "abc")),
            ("cas x - 1", cas("x", None, "1")),
            ("cas x \"-\" 1", cas("x", Some("-"), "1")),
            ("cas x 1 2", cas("x", Some("1"), "2")),
            ("write", C::Write),
            ("retry", C::Retry),
            ("kill 3", C::Kill(3)),
            ("KILL 1", C::Kill(1)),
            ("restart 5", C::Restart(5)),
            ("isolate 2", C::Isolate(2)),
            ("campaign 3", C::Campaign(3)),
            ("timeout 3", C::Campaign(3)),
            ("transfer 2", C::Transfer(2)),
            ("add-node", C::AddNode),
            ("promote 4", C::Promote(4)),
            ("remove-node 2", C::RemoveNode(2)),
            ("rules", C::Rules),
            ("snapshot 2", C::Snapshot(2)),
            ("compact 5", C::Snapshot(5)),
            ("SNAPSHOT 1", C::Snapshot(1)),
            (
                "partition 1,2 3,4,5",
                C::Partition(vec![vec![1, 2], vec![3, 4, 5]]),
            ),
            ("partition 1", C::Partition(vec![vec![1]])),
            (
                "partition \"1, 2\" 3",
                C::Partition(vec![vec![1, 2], vec![3]]),
            ),
            ("heal", C::Heal),
            ("slow 2 300ms", slow(2, ms(300))),
            ("slow 2 0", slow(2, Duration::ZERO)),
            ("slow 2 0ms", slow(2, Duration::ZERO)),
            ("slow 2 2s", slow(2, ms(2000))),
            ("slow 2 1.5s", slow(2, ms(1500))),
            ("slow 2 1.5MS", slow(2, Duration::from_micros(1500))),
            ("slow 2 3600s", slow(2, Duration::from_secs(3600))),
            ("link 1 2 drop 0.3", link(1, 2, vec![Drop(0.3)])),
            ("link 1 2 cut", link(1, 2, vec![Cut])),
            ("link 1 2 up", link(1, 2, vec![Up])),
            (
                "link 1 2 delay 200ms jitter 50ms",
                link(1, 2, vec![Delay(ms(200)), Jitter(ms(50))]),
            ),
            (
                "link 2 1 UP delay 0 drop 1 jitter 1s",
                link(
                    2,
                    1,
                    vec![Up, Delay(Duration::ZERO), Drop(1.0), Jitter(ms(1000))],
                ),
            ),
            ("link 1 2 drop 0", link(1, 2, vec![Drop(0.0)])),
            ("clock 4 1.5", C::Clock { node: 4, rate: 1.5 }),
            ("clock 4 1e-1", C::Clock { node: 4, rate: 0.1 }),
            ("speed 0.5", C::Speed(0.5)),
            ("speed 2", C::Speed(2.0)),
            ("pause", C::Pause),
            ("resume", C::Resume),
            ("step", C::Step),
            ("drop 17", C::DropMessage(17)),
            ("dup 17", C::DupMessage(17)),
            ("duplicate 17", C::DupMessage(17)),
            ("deliver 17", C::DeliverMessage(17)),
            ("nemesis", C::Nemesis(NEMESIS_DEFAULT)),
            ("nemesis 45", C::Nemesis(Duration::from_secs(45))),
            ("NEMESIS 2s", C::Nemesis(ms(2000))),
            ("nemesis 1500ms", C::Nemesis(ms(1500))),
            ("nemesis 3600", C::Nemesis(Duration::from_secs(3600))),
            ("nemesis stop", C::NemesisStop),
            ("nemesis STOP", C::NemesisStop),
            ("history", C::History),
            ("history save h.jsonl", C::HistorySave(s("h.jsonl"))),
            (
                "HISTORY Save \"my runs/h 1.jsonl\"",
                C::HistorySave(s("my runs/h 1.jsonl")),
            ),
            ("history save stop", C::HistorySave(s("stop"))),
            ("help", C::Help),
            ("?", C::Help),
            ("quit", C::Quit),
            ("exit", C::Quit),
            ("q", C::Quit),
            ("Q", C::Quit),
        ];
        for (line, want) in cases {
            assert_eq!(ok(line), want, "{line:?}");
        }
    }

    #[test]
    fn rejects_bad_input_with_clear_errors() {
        let cases: &[(&str, &str)] = &[
            ("", "empty command (type help)"),
            ("   ", "empty command (type help)"),
            ("frobnicate", "unknown command \"frobnicate\" (type help)"),
            ("frobnicate 1 2", "unknown command \"frobnicate\" (type help)"),
            ("put x \"abc", "unterminated quote (close it with \")"),
            ("put x \"abc\\\"", "unterminated quote (close it with \")"),
            ("put", "usage: put KEY VALUE"),
            ("put x", "put: missing VALUE (usage: put KEY VALUE)"),
            ("put x 1 2", "put: too many arguments (usage: put KEY VALUE)"),
            ("put \"\" 1", "put: key must not be empty (usage: put KEY VALUE)"),
            ("get", "usage: get KEY"),
            ("get a b", "get: too many arguments (usage: get KEY)"),
            ("get \"\"", "get: key must not be empty (usage: get KEY)"),
            ("del", "usage: del KEY"),
            ("delete a b", "del: too many arguments (usage: del KEY)"),
            ("append x", "append: missing VALUE (usage: append KEY VALUE)"),
            ("cas", "usage: cas KEY EXPECTED NEW"),
            ("cas x -", "cas: missing NEW (usage: cas KEY EXPECTED NEW)"),
            ("cas x 1 2 3", "cas: too many arguments (usage: cas KEY EXPECTED NEW)"),
            ("cas \"\" - 1", "cas: key must not be empty (usage: cas KEY EXPECTED NEW)"),
            ("write now", "write: too many arguments (usage: write)"),
            ("kill", "usage: kill NODE"),
            ("kill 12", "kill: node 12 does not exist (nodes are 1..5)"),
            ("kill 0", "kill: node 0 does not exist (nodes are 1..5)"),
            ("kill -1", "kill: \"-1\" is not a node id (nodes are 1..5)"),
            ("kill x", "kill: \"x\" is not a node id (nodes are 1..5)"),
            ("kill 1 2", "kill: too many arguments (usage: kill NODE)"),
            ("restart 6", "restart: node 6 does not exist (nodes are 1..5)"),
            ("isolate", "usage: isolate NODE"),
            ("timeout 9", "campaign: node 9 does not exist (nodes are 1..5)"),
            ("snapshot", "usage: snapshot NODE"),
            ("compact", "usage: snapshot NODE"),
            ("snapshot 6", "snapshot: node 6 does not exist (nodes are 1..5)"),
            ("snapshot 0", "snapshot: node 0 does not exist (nodes are 1..5)"),
            ("snapshot all", "snapshot: \"all\" is not a node id (nodes are 1..5)"),
            ("compact 1 2", "snapshot: too many arguments (usage: snapshot NODE)"),
            ("snapshot 1 now", "snapshot: too many arguments (usage: snapshot NODE)"),
            ("partition", "usage: partition GROUP... (e.g. partition 1,2 3,4,5)"),
            ("partition 1,2,3 3,4", "partition: node 3 is in two groups"),
            ("partition 1,2 3,4,3", "partition: node 3 is listed twice"),
            ("partition 1,2 2", "partition: node 2 is in two groups"),
            ("partition 1,1", "partition: node 1 is listed twice"),
            ("partition 1,,2", "partition: \"1,,2\" is not a group of node ids like 1,2"),
            ("partition 1, 2", "partition: \"1,\" is not a group of node ids like 1,2"),
            ("partition 1,9", "partition: node 9 does not exist (nodes are 1..5)"),
            ("partition a", "partition: \"a\" is not a node id (nodes are 1..5)"),
            ("heal all", "heal: too many arguments (usage: heal)"),
            ("slow", "usage: slow NODE DELAY"),
            ("slow 2", "slow: missing DELAY (usage: slow NODE DELAY)"),
            ("slow 2 \"3 seconds\"", "slow: \"3 seconds\" is not a duration (use 300ms, 2s)"),
            ("slow 2 300", "slow: \"300\" is not a duration (use 300ms, 2s)"),
            ("slow 2 -1s", "slow: \"-1s\" is not a duration (use 300ms, 2s)"),
            ("slow 2 1.s", "slow: \"1.s\" is not a duration (use 300ms, 2s)"),
            ("slow 2 .5s", "slow: \".5s\" is not a duration (use 300ms, 2s)"),
            ("slow 2 ms", "slow: \"ms\" is not a duration (use 300ms, 2s)"),
            ("slow 2 5m", "slow: \"5m\" is not a duration (use 300ms, 2s)"),
            ("slow 2 3601s", "slow: 3601s is too long (at most 3600s)"),
            (
                "slow 2 99999999999999999999999999999999999999999999s",
                "slow: 99999999999999999999999999999999999999999999s is too long (at most 3600s)",
            ),
            ("slow 7 1s", "slow: node 7 does not exist (nodes are 1..5)"),
            ("slow 2 1s 3", "slow: too many arguments (usage: slow NODE DELAY)"),
            ("link", "usage: link FROM TO cut|up|delay D|jitter D|drop P..."),
            ("link 1", "link: missing TO (usage: link FROM TO cut|up|delay D|jitter D|drop P...)"),
            (
                "link 1 2",
                "link: missing a change (usage: link FROM TO cut|up|delay D|jitter D|drop P...)",
            ),
            (
                "link 1 1 cut",
                "link: node 1 has no link to itself (usage: link FROM TO cut|up|delay D|jitter D|drop P...)",
            ),
            ("link 1 6 cut", "link: node 6 does not exist (nodes are 1..5)"),
            ("link 1 2 drop 1.5", "link: drop rate must be within 0..1"),
            ("link 1 2 drop -0.1", "link: drop rate must be within 0..1"),
            ("link 1 2 drop NaN", "link: drop rate must be within 0..1"),
            ("link 1 2 drop lots", "link: \"lots\" is not a drop rate (use a number within 0..1)"),
            ("link 1 2 drop", "link: drop needs a rate within 0..1"),
            ("link 1 2 delay", "link: delay needs a duration (use 300ms, 2s)"),
            ("link 1 2 jitter x", "link: \"x\" is not a duration (use 300ms, 2s)"),
            ("link 1 2 cut cut", "link: cut is given twice"),
            ("link 1 2 delay 1s delay 2s", "link: delay is given twice"),
            ("link 1 2 cut up", "link: cut and up contradict each other"),
            (
                "link 1 2 sever",
                "link: unknown change \"sever\" (use cut, up, delay D, jitter D, drop P)",
            ),
            ("clock 4", "clock: missing RATE (usage: clock NODE RATE)"),
            ("clock 4 0", "clock: rate must be a positive number"),
            ("clock 4 -1", "clock: rate must be a positive number"),
            ("clock 4 inf", "clock: rate must be a positive number"),
            ("clock 4 NaN", "clock: rate must be a positive number"),
            ("clock 4 fast", "clock: \"fast\" is not a number (usage: clock NODE RATE)"),
            ("clock 9 1", "clock: node 9 does not exist (nodes are 1..5)"),
            ("speed", "usage: speed FACTOR"),
            ("speed 0", "speed: must be a positive number"),
            ("speed -2", "speed: must be a positive number"),
            ("speed x", "speed: \"x\" is not a number (usage: speed FACTOR)"),
            ("speed 1 2", "speed: too many arguments (usage: speed FACTOR)"),
            ("pause 1", "pause: too many arguments (usage: pause)"),
            ("resume x", "resume: too many arguments (usage: resume)"),
            ("step 2", "step: too many arguments (usage: step)"),
            ("drop", "usage: drop MSG"),
            ("drop x", "drop: \"x\" is not a message id (usage: drop MSG)"),
            ("dup -1", "dup: \"-1\" is not a message id (usage: dup MSG)"),
            ("deliver 1 2", "deliver: too many arguments (usage: deliver MSG)"),
            ("help me", "help: too many arguments (usage: help)"),
            ("nemesis 0", "nemesis: 0 is too short (at least 1 s; usage: nemesis [SECS|stop])"),
            ("nemesis 500ms", "nemesis: 500ms is too short (at least 1 s; usage: nemesis [SECS|stop])"),
            ("nemesis 3601", "nemesis: 3601 is too long (at most 3600s)"),
            ("nemesis 99999999999999999999999", "nemesis: 99999999999999999999999 is too long (at most 3600s)"),
            ("nemesis 2h", "nemesis: \"2h\" is neither a number of seconds nor stop (usage: nemesis [SECS|stop])"),
            ("nemesis -1", "nemesis: \"-1\" is neither a number of seconds nor stop (usage: nemesis [SECS|stop])"),
            ("nemesis \"stop\"", "nemesis: \"stop\" is neither a number of seconds nor stop (usage: nemesis [SECS|stop])"),
            ("nemesis 30 stop", "nemesis: too many arguments (usage: nemesis [SECS|stop])"),
            ("history save", "history: missing FILE (usage: history [save FILE])"),
            ("history save \"\"", "history: FILE must not be empty (usage: history [save FILE])"),
            ("history save a b", "history: too many arguments (usage: history [save FILE])"),
            ("history load a", "history: unknown subcommand \"load\" (usage: history [save FILE])"),
            ("history \"save\" a", "history: unknown subcommand \"save\" (usage: history [save FILE])"),
            ("quit now", "quit: too many arguments (usage: quit)"),
        ];
        for (line, want) in cases {
            let got = err(line);
            assert_eq!(got, *want, "{line:?}");
            assert!(!got.contains('\n'), "{line:?}: error is not one line");
        }
    }

    #[test]
    fn node_range_follows_the_cluster_size() {
        assert_eq!(parse("kill 7", 9), Ok(PromptCommand::Kill(7)));
        assert_eq!(
            parse("kill 1", 0),
            Err("kill: node 1 does not exist (there are no nodes)".to_string())
        );
        assert_eq!(
            parse("kill 2", 1),
            Err("kill: node 2 does not exist (nodes are 1..1)".to_string())
        );
    }

    #[test]
    fn errors_name_untrusted_text_on_one_line() {
        let e = err("kill \"a\nb\"");
        assert!(!e.contains('\n'), "{e:?}");
        let e = err("\"bad\ncommand\"");
        assert!(!e.contains('\n'), "{e:?}");
    }

    fn every_variant() -> Vec<PromptCommand> {
        use LinkChange::*;
        use PromptCommand as C;
        vec![
            put("x", "1"),
            put("a b", ""),
            put("q\"uote", "back\\slash"),
            put("-", "-"),
            put("tab\there", "new\nline"),
            get("x"),
            del("\""),
            append("x", "hello world"),
            cas("x", None, "1"),
            cas("x", Some("-"), "-"),
            cas("x", Some(""), ""),
            C::Write,
            C::Retry,
            C::Kill(1),
            C::Restart(2),
            C::Isolate(3),
            C::Campaign(4),
            C::Snapshot(5),
            C::Partition(vec![vec![1, 2], vec![3, 4, 5]]),
            C::Partition(vec![vec![5]]),
            C::Heal,
            slow(2, ms(300)),
            slow(2, Duration::ZERO),
            slow(2, ms(2000)),
            slow(2, ms(1500)),
            slow(2, Duration::from_nanos(1_234_567)),
            slow(2, Duration::from_nanos(1)),
            slow(2, MAX_DURATION),
            link(1, 2, vec![Cut]),
            link(2, 1, vec![Up, Drop(0.0)]),
            link(5, 3, vec![Delay(ms(200)), Jitter(ms(50)), Drop(0.3), Cut]),
            link(1, 2, vec![Drop(1.0)]),
            C::Clock { node: 4, rate: 1.5 },
            C::Clock { node: 4, rate: 1.0 },
            C::Clock {
                node: 4,
                rate: 1e-9,
            },
            C::Clock {
                node: 4,
                rate: 1e300,
            },
            C::Speed(0.5),
            C::Speed(1.0 / 3.0),
            C::Pause,
            C::Resume,
            C::Step,
            C::DropMessage(17),
            C::DupMessage(0),
            C::DeliverMessage(u64::MAX),
            C::Nemesis(NEMESIS_DEFAULT),
            C::Nemesis(Duration::from_secs(1)),
            C::Nemesis(ms(1500)),
            C::Nemesis(MAX_DURATION),
            C::NemesisStop,
            C::History,
            C::HistorySave(s("h.jsonl")),
            C::HistorySave(s("a dir/\"quoted\" -")),
            C::HistorySave(s("-")),
            C::HistorySave(s("stop")),
            C::Help,
            C::Quit,
        ]
    }

    #[test]
    fn display_round_trips_for_every_variant() {
        for cmd in every_variant() {
            let line = cmd.to_string();
            assert_eq!(parse(&line, N), Ok(cmd.clone()), "{line:?}");
            assert!(!line.contains("  "), "{line:?}");
        }
    }

    #[test]
    fn display_is_canonical() {
        let cases = [
            ("timeout 3", "campaign 3"),
            ("compact 2", "snapshot 2"),
            ("DELETE x", "del x"),
            ("duplicate 4", "dup 4"),
            ("?", "help"),
            ("exit", "quit"),
            (
                "put greeting \"hello world\"",
                "put greeting \"hello world\"",
            ),
            ("cas k - \"a b\"", "cas k - \"a b\""),
            ("cas k \"-\" v", "cas k \"-\" v"),
            ("slow 1 1000ms", "slow 1 1s"),
            ("slow 1 0.3s", "slow 1 300ms"),
            ("slow 1 0ms", "slow 1 0"),
            ("slow 1 0.0015s", "slow 1 1.5ms"),
            (
                "link 1 2 DELAY 0.2s Drop .5e0",
                "link 1 2 delay 200ms drop 0.5",
            ),
            ("clock 2 1.50", "clock 2 1.5"),
            ("speed 2.0", "speed 2"),
            ("partition  1,2   3", "partition 1,2 3"),
            ("nemesis", "nemesis 30"),
            ("nemesis 60s", "nemesis 60"),
            ("nemesis 1.5s", "nemesis 1500ms"),
            ("nemesis Stop", "nemesis stop"),
            ("history SAVE \"a b\"", "history save \"a b\""),
        ];
        for (input, want) in cases {
            assert_eq!(ok(input).to_string(), want, "{input:?}");
        }
    }

    #[test]
    fn every_help_entry_names_a_command() {
        let mut names = Vec::new();
        for entry in COMMANDS {
            let name = entry.usage.split_whitespace().next().unwrap_or("");
            let kind = Kind::from_name(name);
            assert!(kind.is_some(), "{:?} is not a command", entry.usage);
            assert_eq!(kind.map(Kind::name), Some(name), "{name} is not canonical");
            if let Err(e) = parse(name, N) {
                assert!(!e.starts_with("unknown command"), "{name}: {e}");
            }
            assert!(!entry.summary.is_empty());
            assert!(!names.contains(&name), "{name} listed twice");
            names.push(name);
        }
        for kind in Kind::ALL {
            assert!(
                names.contains(&kind.name()),
                "{} missing from COMMANDS",
                kind.name()
            );
            assert!(kind.usage().starts_with(kind.name()));
        }
        assert_eq!(names.len(), Kind::ALL.len());
    }

    #[test]
    fn every_variant_has_a_help_entry() {
        for cmd in every_variant() {
            let line = cmd.to_string();
            let name = line.split_whitespace().next().unwrap_or("");
            assert!(
                COMMANDS
                    .iter()
                    .any(|c| c.usage.split_whitespace().next() == Some(name)),
                "{name}"
            );
        }
    }

    #[test]
    fn no_argument_commands_parse_from_their_usage() {
        for entry in COMMANDS {
            if !entry.usage.contains(' ') {
                assert!(parse(entry.usage, N).is_ok(), "{}", entry.usage);
            }
        }
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn completes_command_names() {
        assert_eq!(complete("pa", N), strings(&["partition ", "pause "]));
        assert_eq!(complete("PA", N), strings(&["partition ", "pause "]));
        assert_eq!(
            complete("d", N),
            strings(&["del ", "deliver ", "drop ", "dup "])
        );
        assert_eq!(complete("pause", N), strings(&["pause "]));
        assert_eq!(complete("  he", N), strings(&["  heal ", "  help "]));
        assert_eq!(
            complete("s", N),
            strings(&["slow ", "snapshot ", "speed ", "step "])
        );
        assert_eq!(complete("sn", N), strings(&["snapshot "]));
        assert_eq!(complete("zz", N), Vec::<String>::new());
        let all = complete("", N);
        assert_eq!(all.len(), COMMANDS.len());
        for entry in COMMANDS {
            let name = entry.usage.split_whitespace().next().unwrap_or("");
            assert!(all.contains(&format!("{name} ")), "{name}");
            assert!(complete(&name[..1], N).contains(&format!("{name} ")));
        }
    }

    #[test]
    fn completes_node_ids() {
        assert_eq!(
            complete("kill ", N),
            strings(&["kill 1", "kill 2", "kill 3", "kill 4", "kill 5"])
        );
        assert_eq!(complete("kill 3", N), strings(&["kill 3"]));
        assert_eq!(complete("timeout 2", N), strings(&["timeout 2"]));
        assert_eq!(
            complete("snapshot ", 3),
            strings(&["snapshot 1", "snapshot 2", "snapshot 3"])
        );
        assert_eq!(complete("compact 2", N), strings(&["compact 2"]));
        assert_eq!(complete("snapshot 2 ", N), Vec::<String>::new());
        assert_eq!(complete("KILL  ", 2), strings(&["KILL  1", "KILL  2"]));
        assert_eq!(complete("kill 1 ", N), Vec::<String>::new());
        assert_eq!(complete("kill 9", N), Vec::<String>::new());
        assert_eq!(complete("slow ", 2), strings(&["slow 1 ", "slow 2 "]));
        assert_eq!(complete("slow 1 ", N), Vec::<String>::new());
        assert_eq!(complete("clock ", 2), strings(&["clock 1 ", "clock 2 "]));
        assert_eq!(complete("link ", 2), strings(&["link 1 ", "link 2 "]));
        assert_eq!(complete("link 1 ", 3), strings(&["link 1 2 ", "link 1 3 "]));
        assert_eq!(complete("kill ", 0), Vec::<String>::new());
        assert_eq!(
            complete("kill 1", 12),
            strings(&["kill 1", "kill 10", "kill 11", "kill 12"])
        );
    }

    #[test]
    fn completes_link_changes() {
        assert_eq!(
            complete("link 1 2 d", N),
            strings(&["link 1 2 delay ", "link 1 2 drop "])
        );
        assert_eq!(
            complete("link 1 2 ", N),
            strings(&[
                "link 1 2 cut ",
                "link 1 2 delay ",
                "link 1 2 drop ",
                "link 1 2 jitter ",
                "link 1 2 up ",
            ])
        );
        assert_eq!(
            complete("link 1 2 delay 5ms ", N),
            strings(&[
                "link 1 2 delay 5ms cut ",
                "link 1 2 delay 5ms drop ",
                "link 1 2 delay 5ms jitter ",
                "link 1 2 delay 5ms up ",
            ])
        );
        assert_eq!(
            complete("link 1 2 cut ", N),
            strings(&[
                "link 1 2 cut delay ",
                "link 1 2 cut drop ",
                "link 1 2 cut jitter "
            ])
        );
        assert_eq!(complete("link 1 2 delay ", N), Vec::<String>::new());
        assert_eq!(complete("link 1 2 drop 0", N), Vec::<String>::new());
    }

    #[test]
    fn completes_nemesis_and_history_subcommands() {
        assert_eq!(complete("ne", N), strings(&["nemesis "]));
        assert_eq!(complete("hi", N), strings(&["history "]));
        assert_eq!(complete("nemesis ", N), strings(&["nemesis stop"]));
        assert_eq!(complete("nemesis S", N), strings(&["nemesis stop"]));
        assert_eq!(complete("nemesis 3", N), Vec::<String>::new());
        assert_eq!(complete("nemesis stop ", N), Vec::<String>::new());
        assert_eq!(complete("history ", N), strings(&["history save "]));
        assert_eq!(complete("history sa", N), strings(&["history save "]));
        assert_eq!(complete("history save ", N), Vec::<String>::new());
        assert_eq!(complete("history save x", N), Vec::<String>::new());
        for line in ["nemesis ", "history "] {
            for c in complete(line, N) {
                let c = c.trim_end();
                if c != "history save" {
                    assert!(parse(c, N).is_ok(), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn completes_partition_groups() {
        assert_eq!(
            complete("partition ", 3),
            strings(&["partition 1", "partition 2", "partition 3"])
        );
        assert_eq!(
            complete("partition 1,", 3),
            strings(&["partition 1,2", "partition 1,3"])
        );
        assert_eq!(complete("partition 1,2 ", 3), strings(&["partition 1,2 3"]));
        assert_eq!(complete("partition 1 2,", 3), strings(&["partition 1 2,3"]));
        assert_eq!(complete("partition 1,2,3 ", 3), Vec::<String>::new());
    }

    #[test]
    fn offers_nothing_for_free_text() {
        for line in [
            "put ",
            "put x",
            "get ",
            "cas x - ",
            "put x \"hello",
            "put \"x\"",
            "speed ",
            "drop ",
            "frobnicate ",
            "pause ",
        ] {
            assert_eq!(complete(line, N), Vec::<String>::new(), "{line:?}");
        }
    }

    #[test]
    fn completions_parse_when_complete() {
        for line in ["kill ", "partition 1,", "link 1 2 "] {
            for c in complete(line, N) {
                let c = c.trim_end();
                if !c.starts_with("link") {
                    assert!(parse(c, N).is_ok(), "{c:?}");
                }
            }
        }
    }

    #[test]
    fn history_navigates_like_a_shell() {
        let mut h = History::new(10);
        assert_eq!(h.prev("typing"), None);
        assert_eq!(h.next(), None);
        h.push("kill 1");
        h.push("restart 1");
        h.push("heal");
        assert_eq!(h.prev("draft"), Some("heal"));
        assert_eq!(h.prev("heal"), Some("restart 1"));
        assert_eq!(h.prev("restart 1"), Some("kill 1"));
        assert_eq!(h.prev("kill 1"), None, "nothing older");
        assert_eq!(h.next(), Some("restart 1"));
        assert_eq!(h.next(), Some("heal"));
        assert_eq!(h.next(), Some("draft"), "back to the line being typed");
        assert_eq!(h.next(), None);
        assert_eq!(h.prev("draft 2"), Some("heal"));
        h.reset_cursor();
        assert_eq!(h.next(), None);
        assert_eq!(h.prev(""), Some("heal"));
        assert_eq!(h.next(), Some(""));
    }

    #[test]
    fn history_ignores_blanks_and_repeats_and_is_bounded() {
        let mut h = History::new(3);
        h.push("");
        h.push("   ");
        assert!(h.is_empty());
        h.push("a");
        h.push("a");
        assert_eq!(h.len(), 1);
        h.push("b");
        h.push("a");
        assert_eq!(h.iter().collect::<Vec<_>>(), ["a", "b", "a"]);
        h.push("c");
        assert_eq!(h.iter().collect::<Vec<_>>(), ["b", "a", "c"]);
        assert_eq!(h.len(), 3);

        let mut none = History::new(0);
        none.push("a");
        assert!(none.is_empty());
        assert_eq!(none.prev("x"), None);
    }

    #[test]
    fn push_resets_navigation() {
        let mut h = History::new(10);
        h.push("a");
        h.push("b");
        assert_eq!(h.prev(""), Some("b"));
        assert_eq!(h.prev("b"), Some("a"));
        h.push("c");
        assert_eq!(h.prev(""), Some("c"));
    }

    fn command_like() -> impl Strategy<Value = String> {
        let names: Vec<&'static str> = vec![
            "put",
            "get",
            "del",
            "delete",
            "append",
            "cas",
            "write",
            "kill",
            "restart",
            "isolate",
            "campaign",
            "timeout",
            "snapshot",
            "compact",
            "transfer",
            "rules",
            "partition",
            "heal",
            "slow",
            "link",
            "clock",
            "speed",
            "pause",
            "resume",
            "step",
            "drop",
            "dup",
            "duplicate",
            "deliver",
            "nemesis",
            "history",
            "help",
            "?",
            "quit",
            "exit",
            "q",
        ];
        let word = prop_oneof![
            Just("-".to_string()),
            Just("cut".to_string()),
            Just("up".to_string()),
            Just("delay".to_string()),
            Just("jitter".to_string()),
            Just("drop".to_string()),
            Just("stop".to_string()),
            Just("save".to_string()),
            "[0-9]{1,3}(\\.[0-9]{0,3})?(ms|s|m)?",
            "[0-9,]{0,8}",
            "\"[a-z \\\\\"]{0,6}\"?",
            "\\PC{0,6}",
            any::<f64>().prop_map(|f| f.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
        ];
        (
            prop::sample::select(names),
            prop::collection::vec(word, 0..6),
            "[ \t]{0,2}",
        )
            .prop_map(|(name, words, tail)| format!("{name} {}{tail}", words.join(" ")))
    }

    fn link_change() -> impl Strategy<Value = LinkChange> {
        let duration = (0u64..=3_600_000_000_000).prop_map(Duration::from_nanos);
        prop_oneof![
            Just(LinkChange::Cut),
            Just(LinkChange::Up),
            duration.clone().prop_map(LinkChange::Delay),
            duration.prop_map(LinkChange::Jitter),
            (0.0f64..=1.0).prop_map(LinkChange::Drop),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1024))]

        #[test]
        fn parse_and_complete_never_panic(line in "\\PC*|.*", nodes in 0usize..12) {
            let _ = parse(&line, nodes);
            let completions = complete(&line, nodes);
            let mut sorted = completions.clone();
            sorted.sort();
            prop_assert_eq!(completions, sorted);
        }

        #[test]
        fn any_chars_never_panic(chars in prop::collection::vec(any::<char>(), 0..40), nodes in 0usize..12) {
            let line: String = chars.into_iter().collect();
            let _ = parse(&line, nodes);
            let _ = complete(&line, nodes);
        }

        #[test]
        fn command_like_input_never_panics(line in command_like(), nodes in 0usize..12) {
            if let Ok(cmd) = parse(&line, nodes) {
                // Whatever parses prints back to a line that parses to the same command.
                prop_assert_eq!(parse(&cmd.to_string(), nodes), Ok(cmd));
            }
            let _ = complete(&line, nodes);
        }

        #[test]
        fn words_round_trip(key in "\\PC{1,12}|.{1,12}", value in ".{0,12}", expected in proptest::option::of(".{0,8}")) {
            let cmds = [
                PromptCommand::Put { key: key.clone(), value: value.clone() },
                PromptCommand::Append { key: key.clone(), value: value.clone() },
                PromptCommand::Get { key: key.clone() },
                PromptCommand::Cas { key: key.clone(), expected, new_value: value },
            ];
            for cmd in cmds {
                prop_assert_eq!(parse(&cmd.to_string(), N), Ok(cmd));
            }
        }

        #[test]
        fn link_and_slow_round_trip(
            from in 1u64..=5,
            changes in prop::collection::vec(link_change(), 1..3),
            nanos in 0u64..=3_600_000_000_000,
            rate in 1e-6f64..1e6,
        ) {
            let to = from % 5 + 1;
            let mut seen = Vec::new();
            let changes: Vec<LinkChange> = changes
                .into_iter()
                .filter(|c| {
                    let kind = std::mem::discriminant(c);
                    let fresh = !seen.contains(&kind);
                    seen.push(kind);
                    fresh
                })
                .filter(|c| *c != LinkChange::Up)
                .collect();
            if !changes.is_empty() {
                let cmd = PromptCommand::Link { from, to, changes };
                prop_assert_eq!(parse(&cmd.to_string(), N), Ok(cmd));
            }
            let slow = PromptCommand::Slow { node: from, delay: Duration::from_nanos(nanos) };
            prop_assert_eq!(parse(&slow.to_string(), N), Ok(slow));
            let clock = PromptCommand::Clock { node: to, rate };
            prop_assert_eq!(parse(&clock.to_string(), N), Ok(clock));
            prop_assert_eq!(parse(&PromptCommand::Speed(rate).to_string(), N), Ok(PromptCommand::Speed(rate)));
        }
    }
}
