//! What clients asked and what they were told: the operations of a run, their outcomes, and a
//! thread-safe recorder that timestamps them.
//!
//! An operation has one of three outcomes ([`Outcome`]):
//!
//! - **ok**: the store answered; the answer is a [`KvOutput`] and the operation took effect
//!   between its invocation and its completion;
//! - **failed**: a definite error that means the operation was *not* applied (for example the
//!   store refused it). It is kept in the history file, for the record, and ignored by the checker;
//! - **unknown**: no answer (a timeout, a lost connection): the operation may have taken effect at
//!   any time after its invocation, even after the client gave up, or never. Its completion time
//!   is `None` (the checker reads it as +∞) and its output `None` (any answer is possible).
//!
//! Times are microseconds since the [`History`] was created, read from `std::time::Instant`
//! under the recorder's lock, so they are monotonic and ordered like the calls that took them.
//!
//! # File format
//!
//! [`write_jsonl`] writes one [`Operation`] as one JSON object per line, for example:
//!
//! ```text
//! {"id":0,"client":1,"invoke_us":12,"complete_us":950,"op":{"type":"put","key":"x","value":"1"},"output":{"type":"put","previous":null}}
//! {"id":1,"client":2,"invoke_us":40,"complete_us":null,"op":{"type":"get","key":"x"},"output":null,"error":"timeout"}
//! ```
//!
//! [`read_jsonl`] reads it back, skipping blank lines; a line that does not parse is reported
//! with its number ([`ReadError`]).

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// An operation on the key-value store, as a client asked it. Every operation names one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KvOp {
    /// Read the value of `key`.
    Get {
        /// The key.
        key: String,
    },
    /// Set `key` to `value`.
    Put {
        /// The key.
        key: String,
        /// The new value.
        value: String,
    },
    /// Remove `key`.
    Delete {
        /// The key.
        key: String,
    },
    /// Append `value` to the value of `key` (to `""` if it is absent).
    Append {
        /// The key.
        key: String,
        /// The suffix to append.
        value: String,
    },
    /// Set `key` to `new_value` if its value is `expected` (if it is absent, for `None`).
    Cas {
        /// The key.
        key: String,
        /// The value expected; `None` expects the key to be absent.
        expected: Option<String>,
        /// The value written when the comparison holds.
        new_value: String,
    },
}

impl KvOp {
    /// The key the operation touches.
    pub fn key(&self) -> &str {
        match self {
            KvOp::Get { key }
            | KvOp::Put { key, .. }
            | KvOp::Delete { key }
            | KvOp::Append { key, .. }
            | KvOp::Cas { key, .. } => key,
        }
    }

    /// Whether the operation never changes the store (a `get`).
    pub fn is_read(&self) -> bool {
        matches!(self, KvOp::Get { .. })
    }
}

/// `get x`, `put x="1"`, `delete x`, `append x+="a"`, `cas x: "1"→"2"` (`absent→"2"`).
impl fmt::Display for KvOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOp::Get { key } => write!(f, "get {key}"),
            KvOp::Put { key, value } => write!(f, "put {key}={value:?}"),
            KvOp::Delete { key } => write!(f, "delete {key}"),
            KvOp::Append { key, value } => write!(f, "append {key}+={value:?}"),
            KvOp::Cas {
                key,
                expected,
                new_value,
            } => write!(f, "cas {key}: {}→{new_value:?}", Value(expected.as_deref())),
        }
    }
}

/// What the store answered to an operation. Each variant answers the [`KvOp`] of the same name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum KvOutput {
    /// The value read; `None` if the key was absent.
    Get {
        /// The value read.
        value: Option<String>,
    },
    /// The value replaced; `None` if the key was absent.
    Put {
        /// The value before the put.
        previous: Option<String>,
    },
    /// Whether the key existed before the delete.
    Delete {
        /// Whether there was a value to remove.
        existed: bool,
    },
    /// The value after appending.
    Append {
        /// The value after the append.
        value: String,
    },
    /// Whether the value was swapped, and the value before.
    Cas {
        /// Whether `new_value` was written.
        swapped: bool,
        /// The value before the cas; `None` if the key was absent.
        previous: Option<String>,
    },
}

/// `→ "1"`, `→ absent`, `→ ok, was "1"`, `→ existed`, `→ swapped, was "1"`, …
impl fmt::Display for KvOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvOutput::Get { value } => write!(f, "→ {}", Value(value.as_deref())),
            KvOutput::Put { previous } => write!(f, "→ ok, was {}", Value(previous.as_deref())),
            KvOutput::Delete { existed: true } => f.write_str("→ existed"),
            KvOutput::Delete { existed: false } => f.write_str("→ was absent"),
            KvOutput::Append { value } => write!(f, "→ {value:?}"),
            KvOutput::Cas { swapped, previous } => write!(
                f,
                "→ {}, was {}",
                if *swapped { "swapped" } else { "not swapped" },
                Value(previous.as_deref())
            ),
        }
    }
}

/// A value for display: quoted, or `absent`.
struct Value<'a>(Option<&'a str>);

impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(v) => write!(f, "{v:?}"),
            None => f.write_str("absent"),
        }
    }
}

/// How an operation ended, as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The store answered.
    Ok(KvOutput),
    /// A definite error: the operation was not applied. Kept in the history, ignored by the
    /// checker.
    Failed(String),
    /// No answer (timeout, connection lost): the operation may or may not have taken effect.
    Unknown(String),
}

/// The three kinds of [`Outcome`], read back from an [`Operation`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpStatus {
    /// Answered: `output` is `Some`.
    Ok,
    /// Known not applied: completed, without an output.
    Failed,
    /// Outcome unknown: no completion time and no output.
    Unknown,
}

/// One operation of a history.
///
/// The outcome is read from the fields ([`Operation::status`]): `output: Some` is ok;
/// `output: None` with `complete_us: Some` failed (known not applied); both `None` is unknown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    /// Unique within a history, in order of invocation.
    pub id: u64,
    /// The client that issued it.
    pub client: u64,
    /// When the client sent it, in µs since the history began.
    pub invoke_us: u64,
    /// When the client got its answer (or the definite error); `None` if the outcome is unknown.
    pub complete_us: Option<u64>,
    /// What was asked.
    pub op: KvOp,
    /// What was answered; `None` if unknown or failed.
    pub output: Option<KvOutput>,
    /// The error of a failed operation, or why the outcome of an unknown one is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Operation {
    /// Ok, failed or unknown (see the type's docs).
    pub fn status(&self) -> OpStatus {
        match (&self.output, self.complete_us) {
            (Some(_), _) => OpStatus::Ok,
            (None, Some(_)) => OpStatus::Failed,
            (None, None) => OpStatus::Unknown,
        }
    }

    /// The key the operation touches.
    pub fn key(&self) -> &str {
        self.op.key()
    }
}

/// How many operations of a history ended which way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Answered.
    pub ok: usize,
    /// Known not applied.
    pub failed: usize,
    /// Completed with an unknown outcome (or dropped without one).
    pub unknown: usize,
    /// Invoked and not completed yet; [`History::operations`] lists them as unknown.
    pub in_flight: usize,
}

/// A thread-safe recorder of a history. Cheap to clone: clones share the same record.
///
/// ```ignore
/// let history = History::new();
/// let pending = history.invoke(client, KvOp::Get { key: "x".into() });
/// // … send the request …
/// pending.complete(Outcome::Ok(KvOutput::Get { value: None }));
/// ```
#[derive(Clone, Debug)]
pub struct History {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    start: Instant,
    record: Mutex<Record>,
}

#[derive(Debug, Default)]
struct Record {
    /// Indexed by id.
    ops: Vec<Operation>,
    /// Parallel to `ops`: still waiting for its outcome.
    open: Vec<bool>,
    in_flight: usize,
}

/// The reason recorded for an operation whose [`Pending`] was dropped without an outcome.
const DROPPED: &str = "dropped without an outcome";
/// The reason shown for an operation still in flight when the history is read.
const IN_FLIGHT: &str = "in flight";

impl Default for History {
    fn default() -> Self {
        Self::new()
    }
}

impl History {
    /// An empty history whose clock starts now.
    pub fn new() -> Self {
        Self {
            inner: Arc::new(Inner {
                start: Instant::now(),
                record: Mutex::new(Record::default()),
            }),
        }
    }

    /// Records that `client` sends `op` now; complete the returned [`Pending`] with the outcome.
    pub fn invoke(&self, client: u64, op: KvOp) -> Pending {
        let mut record = self.lock();
        let invoke_us = self.now_us();
        let id = record.ops.len() as u64;
        record.ops.push(Operation {
            id,
            client,
            invoke_us,
            complete_us: None,
            op,
            output: None,
            error: None,
        });
        record.open.push(true);
        record.in_flight += 1;
        Pending {
            history: self.clone(),
            id,
            done: false,
        }
    }

    /// Every operation so far, in order of invocation; those still in flight appear as unknown.
    pub fn operations(&self) -> Vec<Operation> {
        let record = self.lock();
        record
            .ops
            .iter()
            .zip(&record.open)
            .map(|(op, &open)| {
                let mut op = op.clone();
                if open {
                    op.error = Some(IN_FLIGHT.to_string());
                }
                op
            })
            .collect()
    }

    /// The number of operations invoked so far.
    pub fn len(&self) -> usize {
        self.lock().ops.len()
    }

    /// Whether no operation was invoked yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many operations ended which way.
    pub fn counts(&self) -> Counts {
        let record = self.lock();
        let mut counts = Counts {
            in_flight: record.in_flight,
            ..Counts::default()
        };
        for (op, &open) in record.ops.iter().zip(&record.open) {
            match op.status() {
                _ if open => {}
                OpStatus::Ok => counts.ok += 1,
                OpStatus::Failed => counts.failed += 1,
                OpStatus::Unknown => counts.unknown += 1,
            }
        }
        counts
    }

    /// Microseconds since the history was created.
    pub fn now_us(&self) -> u64 {
        u64::try_from(self.inner.start.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    /// Writes [`History::operations`] to `path`, one JSON object per line.
    pub fn write_jsonl(&self, path: &Path) -> io::Result<()> {
        write_jsonl(path, &self.operations())
    }

    fn lock(&self) -> MutexGuard<'_, Record> {
        // A client that panicked while holding the lock left a consistent record: every update
        // is a single assignment.
        self.inner
            .record
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn finish(&self, id: u64, outcome: Outcome) {
        let mut record = self.lock();
        let now = self.now_us();
        let Ok(index) = usize::try_from(id) else {
            return;
        };
        if !record.open.get(index).copied().unwrap_or(false) {
            return;
        }
        record.open[index] = false;
        record.in_flight -= 1;
        let op = &mut record.ops[index];
        match outcome {
            Outcome::Ok(output) => {
                op.complete_us = Some(now);
                op.output = Some(output);
            }
            Outcome::Failed(error) => {
                op.complete_us = Some(now);
                op.error = Some(error);
            }
            Outcome::Unknown(reason) => op.error = Some(reason),
        }
    }
}

/// An operation invoked and not completed yet. Dropping it without [`Pending::complete`] records
/// the outcome as unknown.
#[derive(Debug)]
#[must_use = "complete the operation with its outcome; dropping it records an unknown outcome"]
pub struct Pending {
    history: History,
    id: u64,
    done: bool,
}

impl Pending {
    /// The id of the operation in the history.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Records how the operation ended, timestamped now.
    pub fn complete(mut self, outcome: Outcome) {
        self.done = true;
        self.history.finish(self.id, outcome);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            self.history
                .finish(self.id, Outcome::Unknown(DROPPED.to_string()));
        }
    }
}

/// Writes `ops` to `path`, one JSON object per line.
pub fn write_jsonl(path: &Path, ops: &[Operation]) -> io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    for op in ops {
        serde_json::to_writer(&mut out, op)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// Reads a file written by [`write_jsonl`].
pub fn read_jsonl(path: &Path) -> Result<Vec<Operation>, ReadError> {
    let file = File::open(path).map_err(|source| ReadError::Io { line: None, source })?;
    parse_jsonl(BufReader::new(file))
}

/// Parses operations, one JSON object per line; blank lines are skipped.
pub fn parse_jsonl(reader: impl BufRead) -> Result<Vec<Operation>, ReadError> {
    let mut ops = Vec::new();
    for (index, line) in reader.lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|source| ReadError::Io {
            line: Some(number),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let op = serde_json::from_str(&line).map_err(|source| ReadError::Parse {
            line: number,
            source,
        })?;
        ops.push(op);
    }
    Ok(ops)
}

/// Why a history file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file could not be opened or read (at `line`, if it was being read).
    Io {
        /// The 1-based line being read, if any.
        line: Option<usize>,
        /// The error.
        source: io::Error,
    },
    /// A line is not a JSON [`Operation`].
    Parse {
        /// The 1-based line number.
        line: usize,
        /// What serde_json said (its column counts within the line).
        source: serde_json::Error,
    },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io {
                line: Some(line),
                source,
            } => write!(f, "line {line}: {source}"),
            ReadError::Io { line: None, source } => source.fmt(f),
            ReadError::Parse { line, source } => {
                write!(f, "line {line}: not an operation: {source}")
            }
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            ReadError::Parse { source, .. } => Some(source),
        }
    }
}

#[cfg(test)]
mod tests;
