//! The errors of scenario conditions: [`ConditionError`] when a condition, a `let` or a
//! placeholder does not parse (with the span of the word at fault), and [`Unmet`] when a
//! condition does not hold (with the state that contradicts it).

use std::fmt;

use crate::command::prompt::Span;
use crate::raft::NodeId;

/// Why a condition, a `let` or a `{name}` placeholder does not parse, and the word it is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConditionError {
    /// What is wrong.
    pub kind: ConditionErrorKind,
    /// Where, in the text parsed; an empty span where a word is missing.
    pub span: Span,
}

/// What is wrong with a condition, a `let` or a placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConditionErrorKind {
    /// Nothing but whitespace.
    Empty,
    /// Nothing between two `and`s.
    EmptyClause,
    /// A `{` without its `}`.
    Unclosed,
    /// `{name+x}` where x is not a number (the inside of the braces).
    BadOffset(String),
    /// `{1x}`: not a name (the inside of the braces).
    BadPlaceholder(String),
    /// A placeholder whose name has no value yet.
    NoValue(String),
    /// A value plus its offset falls outside 0..2^64.
    OutOfRange {
        /// The value.
        value: u64,
        /// The offset.
        offset: i64,
    },
    /// A node id outside the cluster.
    NoSuchNode {
        /// The id.
        id: NodeId,
        /// Nodes in the cluster.
        nodes: usize,
    },
    /// A word that should name a node.
    NotANode(String),
    /// A word that should be a value.
    NotAValue(String),
    /// A word that should be a comparison.
    NotAComparison(String),
    /// A word that should be a role.
    NotARole(String),
    /// A word after the end of a clause.
    Unexpected(String),
    /// Something is missing: "a value", "a role", "a comparison (== != < <= > >=)".
    Missing(&'static str),
    /// A word needs another after it: `` `log` `` needs "a node".
    Needs {
        /// The word (or words), as written in the message.
        word: &'static str,
        /// What must follow.
        what: &'static str,
    },
    /// The clause has the wrong shape; what was expected, as a sentence.
    Hint(&'static str),
    /// The first word of a clause is no condition.
    Unknown(String),
    /// The name of a `let` is not a name.
    BadName(String),
    /// `follower K` with K outside 1..nodes.
    NoSuchFollower {
        /// The K written.
        k: String,
        /// The largest K.
        max: usize,
    },
}

impl fmt::Display for ConditionErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ConditionErrorKind as E;
        match self {
            E::Empty => f.write_str("the condition is empty"),
            E::EmptyClause => f.write_str("an empty clause (two `and`s in a row?)"),
            E::Unclosed => f.write_str("a `{` is not closed"),
            E::BadOffset(inner) => write!(f, "bad offset in {{{inner}}}"),
            E::BadPlaceholder(inner) => write!(f, "bad name in {{{inner}}}"),
            E::NoValue(name) => write!(f, "{{{name}}} has no value"),
            E::OutOfRange { value, offset } => write!(f, "{value} {offset:+} is out of range"),
            E::NoSuchNode { id, nodes } => {
                write!(f, "node {id} does not exist (nodes are 1 to {nodes})")
            }
            E::NotANode(word) => write!(
                f,
                "expected a node (a number, `leader` or {{name}}), found {word:?}"
            ),
            E::NotAValue(word) => write!(
                f,
                "expected a number, {{name}}, `leader` or METRIC NODE, found {word:?}"
            ),
            E::NotAComparison(word) => write!(f, "expected == != < <= > >=, found {word:?}"),
            E::NotARole(word) => write!(
                f,
                "expected leader, follower, candidate, down or up, found {word:?}"
            ),
            E::Unexpected(word) => write!(f, "unexpected {word:?}"),
            E::Missing(what) => write!(f, "{what} is missing"),
            E::Needs { word, what } => write!(f, "`{word}` needs {what}"),
            E::Hint(hint) => f.write_str(hint),
            E::Unknown(word) => write!(f, "unknown condition {word:?}"),
            E::BadName(name) => write!(f, "bad name {name:?}"),
            E::NoSuchFollower { k, max } => write!(f, "follower {k}: use 1 to {max}"),
        }
    }
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.kind, f)
    }
}

impl std::error::Error for ConditionError {}

pub(super) fn error(kind: ConditionErrorKind, span: Span) -> ConditionError {
    ConditionError { kind, span }
}

/// Why a condition does not hold now, or cannot be evaluated: a description of the state that
/// contradicts it (`node 3 has commit 2 (wanted Ge 3)`, `there is no leader (1 down, ...)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmet(pub String);

impl fmt::Display for Unmet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unmet {}

pub(super) fn unmet(why: impl Into<String>) -> Unmet {
    Unmet(why.into())
}
