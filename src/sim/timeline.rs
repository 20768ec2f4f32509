//! The simulation's timeline: what happened, in order, stamped with simulated time — kept
//! compactly so that a failure can print the events that led to it. Records are formatted only
//! when a violation is reported. (Not to be confused with `check::History`, the operations
//! clients saw.)

use std::collections::VecDeque;
use std::fmt;

use crate::raft::{Index, Message, MessageKind, NodeId, Term, TraceEvent};

/// One thing that happened.
#[derive(Clone, Debug)]
pub enum Record {
    /// A message was handed to a core.
    Delivered(Message),
    /// A message was lost (cut link, random loss, or receiver down).
    Lost {
        /// Sender.
        from: NodeId,
        /// Receiver.
        to: NodeId,
        /// Kind.
        kind: MessageKind,
        /// Why.
        why: &'static str,
    },
    /// A core explained itself.
    Trace {
        /// The node.
        node: NodeId,
        /// What it said.
        event: TraceEvent,
    },
    /// A command was proposed to a leader.
    Proposed {
        /// The leader.
        node: NodeId,
        /// Where it went.
        index: Index,
        /// In which term.
        term: Term,
    },
    /// A fault or a repair applied by the test.
    Fault(String),
    /// A remark of the test's own.
    Note(String),
}

/// A record with its simulated time.
#[derive(Clone, Debug)]
pub struct Stamped {
    /// Simulated microseconds since start.
    pub time: u64,
    /// What happened.
    pub record: Record,
}

impl fmt::Display for Stamped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:>10.3}ms ", self.time as f64 / 1000.0)?;
        match &self.record {
            Record::Delivered(msg) => write!(f, "deliver {msg}"),
            Record::Lost {
                from,
                to,
                kind,
                why,
            } => write!(f, "lost    {from}->{to} {} ({why})", kind.as_str()),
            Record::Trace { node, event } => write!(f, "node {node}: {event}"),
            Record::Proposed { node, index, term } => {
                write!(f, "propose at node {node}: index {index} term {term}")
            }
            Record::Fault(what) => write!(f, "FAULT   {what}"),
            Record::Note(what) => write!(f, "{what}"),
        }
    }
}

/// The last `capacity` records (all of them when `capacity` is 0).
#[derive(Clone, Debug)]
pub struct Timeline {
    records: VecDeque<Stamped>,
    capacity: usize,
    total: u64,
}

impl Timeline {
    /// A timeline keeping the last `capacity` records, or everything when 0.
    pub fn new(capacity: usize) -> Self {
        Timeline {
            records: VecDeque::new(),
            capacity,
            total: 0,
        }
    }

    /// Adds a record.
    pub fn push(&mut self, time: u64, record: Record) {
        if self.capacity > 0 && self.records.len() == self.capacity {
            self.records.pop_front();
        }
        self.records.push_back(Stamped { time, record });
        self.total += 1;
    }

    /// The records kept, oldest first.
    pub fn records(&self) -> impl Iterator<Item = &Stamped> {
        self.records.iter()
    }

    /// Records pushed after the first `n` ever pushed (those still kept), oldest first: lets a
    /// caller print a run as it goes.
    pub fn since(&self, n: u64) -> impl Iterator<Item = &Stamped> {
        let first_kept = self.total - self.records.len() as u64;
        let skip = n.saturating_sub(first_kept) as usize;
        self.records.iter().skip(skip)
    }

    /// How many records were ever pushed.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Drops every record kept (the count goes on): for a reader that has taken them all and
    /// keeps copies of the simulator (the lab's checkpoints), so that no copy carries them.
    pub fn forget(&mut self) {
        self.records.clear();
    }
}

/// A broken safety property, with what is needed to reproduce it.
#[derive(Clone, Debug)]
pub struct Violation {
    /// The simulator's seed: the same seed and the same test replay the same run.
    pub seed: u64,
    /// Simulated time of the failure, in microseconds.
    pub time: u64,
    /// Which property and how.
    pub what: String,
    /// The events leading up to it.
    pub timeline: Vec<String>,
    /// Events before the kept window.
    pub omitted: u64,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "SAFETY VIOLATION at {:.3}ms with seed {}: {}",
            self.time as f64 / 1000.0,
            self.seed,
            self.what
        )?;
        writeln!(
            f,
            "reproduce: rerun the same test with RAFTLAB_SEED={} \
             (RAFTLAB_SIM_HISTORY=0 keeps the whole history)",
            self.seed
        )?;
        if self.omitted > 0 {
            writeln!(f, "... {} earlier events omitted ...", self.omitted)?;
        }
        for line in &self.timeline {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violation {}
