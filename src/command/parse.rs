//! Parsing a prompt line into a [`PromptCommand`], with errors that say what is wrong and where:
//! every [`PromptError`] carries the [`Span`] of the word it is about, so that the prompt (and a
//! scenario file) can put a caret under it.
//!
//! ```text
//! partition 1,2 1,3
//!               ^ partition: node 1 is in two groups
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use super::help::Kind;
use super::lex::{scan, Span, Token};
use super::prompt::{DurationText, LinkChange, PromptCommand};
use crate::check::KvOp;
use crate::raft::NodeId;

/// The longest duration the prompt accepts.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(3600);

/// How long `nemesis` runs without SECS.
pub const NEMESIS_DEFAULT: Duration = Duration::from_secs(30);

/// Why a prompt line does not parse, and the word that says so.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptError {
    /// What is wrong.
    pub kind: PromptErrorKind,
    /// The word (or the part of a word) it is about; an empty span where a word is missing.
    pub span: Span,
}

/// What is wrong with a prompt line. `command` is the canonical name of the command and `usage`
/// its usage line from [`crate::command::prompt::COMMANDS`].
#[derive(Clone, Debug, PartialEq)]
pub enum PromptErrorKind {
    /// A `"` is not closed.
    UnterminatedQuote,
    /// Nothing but whitespace.
    Empty,
    /// The first word names no command.
    UnknownCommand(String),
    /// The command was given no argument but needs some.
    Usage {
        /// The usage line.
        usage: &'static str,
        /// An example to show beside it.
        example: Option<&'static str>,
    },
    /// An argument is missing.
    Missing {
        /// The command.
        command: &'static str,
        /// The missing argument, as the usage names it.
        what: &'static str,
        /// The usage line.
        usage: &'static str,
    },
    /// More arguments than the command takes.
    TooMany {
        /// The command.
        command: &'static str,
        /// The usage line.
        usage: &'static str,
    },
    /// A key is the empty string.
    EmptyKey {
        /// The command.
        command: &'static str,
        /// The usage line.
        usage: &'static str,
    },
    /// A word that should be a node id is not a number.
    NotANodeId {
        /// The command.
        command: &'static str,
        /// The word.
        text: String,
        /// Nodes in the cluster.
        nodes: usize,
    },
    /// A node id outside `1..=nodes`.
    NoSuchNode {
        /// The command.
        command: &'static str,
        /// The id.
        id: NodeId,
        /// Nodes in the cluster.
        nodes: usize,
    },
    /// A word that should be a message id is not a number.
    NotAMessageId {
        /// The command.
        command: &'static str,
        /// The word.
        text: String,
        /// The usage line.
        usage: &'static str,
    },
    /// A word that should be a duration is not one.
    NotADuration {
        /// The command.
        command: &'static str,
        /// The word.
        text: String,
    },
    /// A duration beyond the longest the prompt accepts.
    DurationTooLong {
        /// The command.
        command: &'static str,
        /// The word.
        text: String,
    },
    /// A word that should be a number is not one.
    NotANumber {
        /// The command.
        command: &'static str,
        /// The word.
        text: String,
        /// The usage line.
        usage: &'static str,
    },
    /// A number that must be finite and positive is not.
    NotPositive {
        /// The command.
        command: &'static str,
        /// What the number is, when the command takes more than one argument.
        what: Option<&'static str>,
    },
    /// `nemesis` for less than a second.
    NemesisTooShort {
        /// The word.
        text: String,
        /// The usage line.
        usage: &'static str,
    },
    /// `nemesis` with a word that is neither seconds nor `stop`.
    NemesisNotSecondsOrStop {
        /// The word.
        text: String,
        /// The usage line.
        usage: &'static str,
    },
    /// `history save ""`.
    EmptyFile {
        /// The usage line.
        usage: &'static str,
    },
    /// `history` with a word other than `save`.
    UnknownSubcommand {
        /// The command.
        command: &'static str,
        /// The word.
        text: String,
        /// The usage line.
        usage: &'static str,
    },
    /// A partition group that is not a list of node ids.
    NotAGroup(String),
    /// A node twice in one partition group.
    ListedTwice(NodeId),
    /// A node in two partition groups.
    InTwoGroups(NodeId),
    /// `link N N`.
    LinkToItself {
        /// The node.
        id: NodeId,
        /// The usage line.
        usage: &'static str,
    },
    /// `link ... delay` (or `jitter`, `drop`) with nothing after it.
    ChangeNeedsValue(&'static str),
    /// `link ... drop X` where X is not a number.
    NotADropRate(String),
    /// `link ... drop X` where X is not within 0..1.
    DropRateOutOfRange,
    /// `link ... X` where X is no link change.
    UnknownChange(String),
    /// A link change given twice.
    GivenTwice(&'static str),
    /// `link ... cut up`.
    CutAndUp,
    /// A duration outside a command (a scenario's `within` or `hold`) that does not parse.
    BadDuration {
        /// The text.
        text: String,
        /// It is a duration, but longer than the prompt accepts.
        too_long: bool,
    },
}

impl PromptError {
    fn new(kind: PromptErrorKind, span: Span) -> Self {
        PromptError { kind, span }
    }

    /// The error as the prompt answers it: `line`, then a caret under the word and the message.
    ///
    /// ```text
    /// partition 1,2 1,3
    ///               ^ partition: node 1 is in two groups
    /// ```
    pub fn pointed(&self, line: &str) -> String {
        format!("{line}\n{} {self}", self.span.carets(line))
    }
}

impl fmt::Display for PromptError {
    /// One line that names the problem and, where it helps, shows the usage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for PromptError {}

/// `nodes are 1..5`, or `there are no nodes`.
struct NodesAre(usize);

impl fmt::Display for NodesAre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            f.write_str("there are no nodes")
        } else {
            write!(f, "nodes are 1..{}", self.0)
        }
    }
}

impl fmt::Display for PromptErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use PromptErrorKind as E;
        match self {
            E::UnterminatedQuote => f.write_str("unterminated quote (close it with \")"),
            E::Empty => f.write_str("empty command (type help)"),
            E::UnknownCommand(word) => write!(f, "unknown command {word:?} (type help)"),
            E::Usage {
                usage,
                example: None,
            } => write!(f, "usage: {usage}"),
            E::Usage {
                usage,
                example: Some(example),
            } => write!(f, "usage: {usage} (e.g. {example})"),
            E::Missing {
                command,
                what,
                usage,
            } => write!(f, "{command}: missing {what} (usage: {usage})"),
            E::TooMany { command, usage } => {
                write!(f, "{command}: too many arguments (usage: {usage})")
            }
            E::EmptyKey { command, usage } => {
                write!(f, "{command}: key must not be empty (usage: {usage})")
            }
            E::NotANodeId {
                command,
                text,
                nodes,
            } => write!(
                f,
                "{command}: {text:?} is not a node id ({})",
                NodesAre(*nodes)
            ),
            E::NoSuchNode { command, id, nodes } => write!(
                f,
                "{command}: node {id} does not exist ({})",
                NodesAre(*nodes)
            ),
            E::NotAMessageId {
                command,
                text,
                usage,
            } => write!(
                f,
                "{command}: {text:?} is not a message id (usage: {usage})"
            ),
            E::NotADuration { command, text } => {
                write!(f, "{command}: {text:?} is not a duration (use 300ms, 2s)")
            }
            E::DurationTooLong { command, text } => write!(
                f,
                "{command}: {text} is too long (at most {})",
                DurationText(MAX_DURATION)
            ),
            E::NotANumber {
                command,
                text,
                usage,
            } => write!(f, "{command}: {text:?} is not a number (usage: {usage})"),
            E::NotPositive {
                command,
                what: Some(what),
            } => write!(f, "{command}: {what} must be a positive number"),
            E::NotPositive {
                command,
                what: None,
            } => write!(f, "{command}: must be a positive number"),
            E::NemesisTooShort { text, usage } => write!(
                f,
                "nemesis: {text} is too short (at least 1 s; usage: {usage})"
            ),
            E::NemesisNotSecondsOrStop { text, usage } => write!(
                f,
                "nemesis: {text:?} is neither a number of seconds nor stop (usage: {usage})"
            ),
            E::EmptyFile { usage } => {
                write!(f, "history: FILE must not be empty (usage: {usage})")
            }
            E::UnknownSubcommand {
                command,
                text,
                usage,
            } => write!(f, "{command}: unknown subcommand {text:?} (usage: {usage})"),
            E::NotAGroup(text) => {
                write!(f, "partition: {text:?} is not a group of node ids like 1,2")
            }
            E::ListedTwice(id) => write!(f, "partition: node {id} is listed twice"),
            E::InTwoGroups(id) => write!(f, "partition: node {id} is in two groups"),
            E::LinkToItself { id, usage } => {
                write!(f, "link: node {id} has no link to itself (usage: {usage})")
            }
            E::ChangeNeedsValue("drop") => f.write_str("link: drop needs a rate within 0..1"),
            E::ChangeNeedsValue(change) => {
                write!(f, "link: {change} needs a duration (use 300ms, 2s)")
            }
            E::NotADropRate(text) => write!(
                f,
                "link: {text:?} is not a drop rate (use a number within 0..1)"
            ),
            E::DropRateOutOfRange => f.write_str("link: drop rate must be within 0..1"),
            E::UnknownChange(text) => write!(
                f,
                "link: unknown change {text:?} (use cut, up, delay D, jitter D, drop P)"
            ),
            E::GivenTwice(change) => write!(f, "link: {change} is given twice"),
            E::CutAndUp => f.write_str("link: cut and up contradict each other"),
            E::BadDuration {
                text,
                too_long: false,
            } => write!(f, "bad duration {text:?} (write it like 300ms, 2s or 1.5s)"),
            E::BadDuration {
                text,
                too_long: true,
            } => write!(
                f,
                "duration {text:?} is too long (at most {} s)",
                MAX_DURATION.as_secs()
            ),
        }
    }
}

/// Parses one prompt line for a cluster of `nodes` nodes (ids `1..=nodes`).
///
/// An error names the problem in one line and, where it helps, shows the usage:
/// `kill: node 12 does not exist (nodes are 1..5)`, `usage: put KEY VALUE`,
/// `unknown command "frobnicate" (type help)`; its span is the word it is about.
pub fn parse(line: &str, nodes: usize) -> Result<PromptCommand, PromptError> {
    let scan = scan(line);
    if let Some(quote) = scan.unterminated {
        return Err(PromptError::new(
            PromptErrorKind::UnterminatedQuote,
            Span::new(quote, line.len()),
        ));
    }
    let Some((first, args)) = scan.tokens.split_first() else {
        return Err(PromptError::new(PromptErrorKind::Empty, Span::at(0)));
    };
    let Some(kind) = Kind::from_name(&first.text.to_lowercase()) else {
        return Err(PromptError::new(
            PromptErrorKind::UnknownCommand(first.text.clone()),
            first.span,
        ));
    };
    let last = args.last().unwrap_or(first);
    let cx = Cx {
        kind,
        args,
        nodes,
        next: last.span.end + 1,
    };
    let kv = |op: KvOp| PromptCommand::Kv(op);
    let cmd = match kind {
        Kind::Put => {
            let [key, value] = cx.exactly()?;
            kv(KvOp::Put {
                key: cx.key(key)?,
                value: value.text.clone(),
            })
        }
        Kind::Get => {
            let [key] = cx.exactly()?;
            kv(KvOp::Get { key: cx.key(key)? })
        }
        Kind::Del => {
            let [key] = cx.exactly()?;
            kv(KvOp::Delete { key: cx.key(key)? })
        }
        Kind::Append => {
            let [key, value] = cx.exactly()?;
            kv(KvOp::Append {
                key: cx.key(key)?,
                value: value.text.clone(),
            })
        }
        Kind::Cas => {
            let [key, expected, new_value] = cx.exactly()?;
            let expected = if !expected.quoted && expected.text == "-" {
                None
            } else {
                Some(expected.text.clone())
            };
            kv(KvOp::Cas {
                key: cx.key(key)?,
                expected,
                new_value: new_value.text.clone(),
            })
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
            let [node, rate_word] = cx.exactly()?;
            let node = cx.node(node)?;
            let rate = cx.number(rate_word)?;
            if !(rate.is_finite() && rate > 0.0) {
                return Err(cx.not_positive(Some("rate"), rate_word));
            }
            PromptCommand::Clock { node, rate }
        }
        Kind::Speed => {
            let [word] = cx.exactly()?;
            let factor = cx.number(word)?;
            if !(factor.is_finite() && factor > 0.0) {
                return Err(cx.not_positive(None, word));
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
        Kind::Save => match cx.args {
            [] => return Err(cx.missing("FILE")),
            [file] if file.text.is_empty() => {
                return Err(PromptError::new(
                    PromptErrorKind::EmptyFile { usage: cx.usage() },
                    file.span,
                ))
            }
            [file] => PromptCommand::Save(file.text.clone()),
            _ => return Err(cx.too_many(1)),
        },
        Kind::Share => cx.none(PromptCommand::Share)?,
        Kind::Branches => cx.none(PromptCommand::Branches)?,
        Kind::Next => cx.none(PromptCommand::Next)?,
        Kind::Branch => {
            let [word] = cx.exactly()?;
            let n = cx.number(word)?;
            if !(n >= 1.0 && n.fract() == 0.0 && n <= u32::MAX as f64) {
                return Err(cx.not_positive(Some("the branch number"), word));
            }
            PromptCommand::Branch(n as usize)
        }
        Kind::Challenge => match cx.args {
            [] => PromptCommand::Challenge(None),
            [name] => PromptCommand::Challenge(Some(name.text.clone())),
            _ => return Err(cx.too_many(1)),
        },
        Kind::Hint => cx.none(PromptCommand::Hint)?,
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
    /// Where a missing word would go: one past the end of the last word.
    next: usize,
}

impl<'a> Cx<'a> {
    fn name(&self) -> &'static str {
        self.kind.name()
    }

    fn usage(&self) -> &'static str {
        self.kind.usage()
    }

    /// The error for a missing argument: the bare usage when nothing was given, else which
    /// argument is missing; it points where the argument would go.
    fn missing(&self, what: &'static str) -> PromptError {
        let kind = if self.args.is_empty() {
            PromptErrorKind::Usage {
                usage: self.usage(),
                example: None,
            }
        } else {
            PromptErrorKind::Missing {
                command: self.name(),
                what,
                usage: self.usage(),
            }
        };
        PromptError::new(kind, Span::at(self.next))
    }

    /// The error for arguments beyond the `expected` first ones; it covers the extra ones.
    fn too_many(&self, expected: usize) -> PromptError {
        let start = self.args.get(expected).map_or(self.next, |t| t.span.start);
        let end = self.args.last().map_or(self.next, |t| t.span.end);
        PromptError::new(
            PromptErrorKind::TooMany {
                command: self.name(),
                usage: self.usage(),
            },
            Span::new(start, end),
        )
    }

    /// Exactly `N` arguments.
    fn exactly<const N: usize>(&self) -> Result<[&'a Token; N], PromptError> {
        if self.args.len() > N {
            return Err(self.too_many(N));
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
        refs.try_into().map_err(|_| self.too_many(N))
    }

    fn none(&self, cmd: PromptCommand) -> Result<PromptCommand, PromptError> {
        if self.args.is_empty() {
            Ok(cmd)
        } else {
            Err(self.too_many(0))
        }
    }

    fn key(&self, t: &Token) -> Result<String, PromptError> {
        if t.text.is_empty() {
            Err(PromptError::new(
                PromptErrorKind::EmptyKey {
                    command: self.name(),
                    usage: self.usage(),
                },
                t.span,
            ))
        } else {
            Ok(t.text.clone())
        }
    }

    /// A node id written `text`, found at `span`.
    fn node_text(&self, text: &str, span: Span) -> Result<NodeId, PromptError> {
        let Ok(id) = text.trim().parse::<NodeId>() else {
            return Err(PromptError::new(
                PromptErrorKind::NotANodeId {
                    command: self.name(),
                    text: text.to_string(),
                    nodes: self.nodes,
                },
                span,
            ));
        };
        if id == 0 || id > self.nodes as u64 {
            return Err(PromptError::new(
                PromptErrorKind::NoSuchNode {
                    command: self.name(),
                    id,
                    nodes: self.nodes,
                },
                span,
            ));
        }
        Ok(id)
    }

    fn node(&self, t: &Token) -> Result<NodeId, PromptError> {
        self.node_text(&t.text, t.span)
    }

    fn one_node(&self) -> Result<NodeId, PromptError> {
        let [node] = self.exactly()?;
        self.node(node)
    }

    fn one_message(&self) -> Result<u64, PromptError> {
        let [id] = self.exactly()?;
        id.text.parse::<u64>().map_err(|_| {
            PromptError::new(
                PromptErrorKind::NotAMessageId {
                    command: self.name(),
                    text: id.text.clone(),
                    usage: self.usage(),
                },
                id.span,
            )
        })
    }

    fn duration(&self, t: &Token) -> Result<Duration, PromptError> {
        let command = self.name();
        let text = t.text.clone();
        parse_duration(&t.text).map_err(|e| {
            let kind = match e {
                DurationError::Invalid => PromptErrorKind::NotADuration { command, text },
                DurationError::TooLong => PromptErrorKind::DurationTooLong { command, text },
            };
            PromptError::new(kind, t.span)
        })
    }

    fn number(&self, t: &Token) -> Result<f64, PromptError> {
        t.text.parse::<f64>().map_err(|_| {
            PromptError::new(
                PromptErrorKind::NotANumber {
                    command: self.name(),
                    text: t.text.clone(),
                    usage: self.usage(),
                },
                t.span,
            )
        })
    }

    fn not_positive(&self, what: Option<&'static str>, t: &Token) -> PromptError {
        PromptError::new(
            PromptErrorKind::NotPositive {
                command: self.name(),
                what,
            },
            t.span,
        )
    }

    /// `nemesis`, `nemesis stop`, `nemesis 45` (seconds), `nemesis 2s` (any duration of 1 s or
    /// more).
    fn nemesis(&self) -> Result<PromptCommand, PromptError> {
        let [arg] = match self.args {
            [] => return Ok(PromptCommand::Nemesis(NEMESIS_DEFAULT)),
            [arg] => [arg],
            _ => return Err(self.too_many(1)),
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
        let (text, usage) = (text.clone(), self.usage());
        let kind = match parsed {
            Ok(d) if d < Duration::from_secs(1) => PromptErrorKind::NemesisTooShort { text, usage },
            Ok(d) => return Ok(PromptCommand::Nemesis(d)),
            Err(DurationError::Invalid) => PromptErrorKind::NemesisNotSecondsOrStop { text, usage },
            Err(DurationError::TooLong) => PromptErrorKind::DurationTooLong {
                command: self.name(),
                text,
            },
        };
        Err(PromptError::new(kind, arg.span))
    }

    /// `history` or `history save FILE`.
    fn history(&self) -> Result<PromptCommand, PromptError> {
        match self.args {
            [] => Ok(PromptCommand::History),
            [sub, rest @ ..] if !sub.quoted && sub.text.eq_ignore_ascii_case("save") => {
                match rest {
                    [] => Err(self.missing("FILE")),
                    [file] if file.text.is_empty() => Err(PromptError::new(
                        PromptErrorKind::EmptyFile {
                            usage: self.usage(),
                        },
                        file.span,
                    )),
                    [file] => Ok(PromptCommand::HistorySave(file.text.clone())),
                    _ => Err(self.too_many(2)),
                }
            }
            [sub, ..] => Err(PromptError::new(
                PromptErrorKind::UnknownSubcommand {
                    command: self.name(),
                    text: sub.text.clone(),
                    usage: self.usage(),
                },
                sub.span,
            )),
        }
    }

    fn partition(&self) -> Result<PromptCommand, PromptError> {
        if self.args.is_empty() {
            return Err(PromptError::new(
                PromptErrorKind::Usage {
                    usage: self.usage(),
                    example: Some("partition 1,2 3,4,5"),
                },
                Span::at(self.next),
            ));
        }
        let mut seen = BTreeSet::new();
        let mut groups = Vec::with_capacity(self.args.len());
        for arg in self.args {
            let mut group = Vec::new();
            let mut offset = 0;
            for part in arg.text.split(',') {
                let span = arg.part(offset, offset + part.len());
                offset += part.len() + 1;
                if part.trim().is_empty() {
                    return Err(PromptError::new(
                        PromptErrorKind::NotAGroup(arg.text.clone()),
                        arg.span,
                    ));
                }
                let id = self.node_text(part, span)?;
                if group.contains(&id) {
                    return Err(PromptError::new(PromptErrorKind::ListedTwice(id), span));
                }
                if !seen.insert(id) {
                    return Err(PromptError::new(PromptErrorKind::InTwoGroups(id), span));
                }
                group.push(id);
            }
            groups.push(group);
        }
        Ok(PromptCommand::Partition(groups))
    }

    fn link(&self) -> Result<PromptCommand, PromptError> {
        let from_word = self.args.first().ok_or_else(|| self.missing("FROM"))?;
        let to_word = self.args.get(1).ok_or_else(|| self.missing("TO"))?;
        let from = self.node(from_word)?;
        let to = self.node(to_word)?;
        if from == to {
            return Err(PromptError::new(
                PromptErrorKind::LinkToItself {
                    id: from,
                    usage: self.usage(),
                },
                to_word.span,
            ));
        }
        let rest = self.args.get(2..).unwrap_or_default();
        if rest.is_empty() {
            return Err(self.missing("a change"));
        }
        let mut changes = Vec::new();
        let mut seen: BTreeSet<&'static str> = BTreeSet::new();
        let mut cut_or_up = Span::default();
        let mut words = rest.iter();
        while let Some(word) = words.next() {
            let keyword = word.text.to_lowercase();
            let needs_value = |name| {
                PromptError::new(
                    PromptErrorKind::ChangeNeedsValue(name),
                    Span::at(word.span.end + 1),
                )
            };
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
                        return Err(needs_value(name));
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
                        return Err(needs_value("drop"));
                    };
                    let Ok(rate) = value.text.parse::<f64>() else {
                        return Err(PromptError::new(
                            PromptErrorKind::NotADropRate(value.text.clone()),
                            value.span,
                        ));
                    };
                    if !(0.0..=1.0).contains(&rate) {
                        return Err(PromptError::new(
                            PromptErrorKind::DropRateOutOfRange,
                            value.span,
                        ));
                    }
                    ("drop", LinkChange::Drop(rate))
                }
                _ => {
                    return Err(PromptError::new(
                        PromptErrorKind::UnknownChange(word.text.clone()),
                        word.span,
                    ))
                }
            };
            if !seen.insert(name) {
                return Err(PromptError::new(
                    PromptErrorKind::GivenTwice(name),
                    word.span,
                ));
            }
            if matches!(name, "cut" | "up") {
                // The later of the two is the one that contradicts.
                cut_or_up = word.span;
            }
            changes.push(change);
        }
        if seen.contains("cut") && seen.contains("up") {
            return Err(PromptError::new(PromptErrorKind::CutAndUp, cut_or_up));
        }
        Ok(PromptCommand::Link { from, to, changes })
    }
}

/// Why [`parse_duration`] refused a text.
pub(crate) enum DurationError {
    /// Not a duration.
    Invalid,
    /// Longer than [`MAX_DURATION`].
    TooLong,
}

/// Parses a duration the way the prompt does (`300ms`, `2s`, `1.5s`, `0`), with an error that
/// says what is wrong (its span covers the whole text).
pub fn duration(text: &str) -> Result<Duration, PromptError> {
    parse_duration(text).map_err(|e| {
        PromptError::new(
            PromptErrorKind::BadDuration {
                text: text.to_string(),
                too_long: matches!(e, DurationError::TooLong),
            },
            Span::new(0, text.len()),
        )
    })
}
/// Parses `300ms`, `2s`, `1.5s`, `0.25ms` or a bare zero (`0`). Units are case-insensitive;
/// digits beyond nanoseconds are ignored.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, DurationError> {
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

#[cfg(test)]
mod tests;
