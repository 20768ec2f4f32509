//! Trace events: what a core did and *why*, for learners, dashboards and the simulator.
//!
//! Each [`Ready`](super::Ready) carries the events that happened since the last one. They are
//! explanations, not inputs: dropping them changes nothing in the protocol.

use super::types::{Index, NodeId, Role, Term};

/// Something a core did, with the reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TraceEvent {
    /// The election timer fired in `term`: no word from a leader for `timeout` ticks.
    ElectionTimeout {
        /// Term the server was in.
        term: Term,
        /// The randomized timeout that elapsed, in ticks.
        timeout: u32,
    },
    /// Started an election: incremented its term and voted for itself (§5.2).
    BecameCandidate {
        /// The new term.
        term: Term,
    },
    /// Granted its vote.
    VoteGranted {
        /// The candidate.
        to: NodeId,
        /// The election's term.
        term: Term,
    },
    /// Refused its vote, and why.
    VoteRejected {
        /// The candidate.
        to: NodeId,
        /// This server's term when it answered.
        term: Term,
        /// Why.
        reason: VoteRejectReason,
    },
    /// A candidate heard an answer to its RequestVote.
    VoteReceived {
        /// The voter.
        from: NodeId,
        /// The election's term.
        term: Term,
        /// Whether it granted.
        granted: bool,
        /// Votes granted so far, the candidate's own included.
        granted_total: usize,
        /// Votes needed to win.
        needed: usize,
    },
    /// Won the election of `term` (§5.2).
    BecameLeader {
        /// The term it leads.
        term: Term,
    },
    /// Adopted a higher term seen in a message (§5.1: "if one server's current term is smaller
    /// than the other's, then it updates its current term to the larger value").
    TermAdvanced {
        /// The old term.
        from_term: Term,
        /// The new term.
        to_term: Term,
        /// Who carried it.
        by: NodeId,
    },
    /// A leader or candidate returned to follower, and why.
    SteppedDown {
        /// Role it had.
        was: Role,
        /// Its term now.
        term: Term,
        /// Why.
        reason: StepDownReason,
    },
    /// Learned who leads the current term (or that it does not know).
    LeaderChanged {
        /// The leader, if known.
        leader: Option<NodeId>,
        /// The term.
        term: Term,
    },
    /// Refused an AppendEntries, with the back-off hint sent to the leader.
    AppendRejected {
        /// The leader that sent it.
        to: NodeId,
        /// This server's term.
        term: Term,
        /// Why.
        reason: AppendRejectReason,
        /// The hint: first index to retry from.
        conflict_index: Index,
        /// The hint: conflicting term (0: log too short).
        conflict_term: Term,
    },
    /// Removed a conflicting suffix of its log on a leader's order (§5.3).
    LogTruncated {
        /// First index removed.
        from_index: Index,
        /// The leader whose entries replace it.
        leader: NodeId,
    },
    /// Compacted its log: a snapshot of the state machine now covers entries up to `index` (§7).
    SnapshotTaken {
        /// Last index covered.
        index: Index,
        /// Its term.
        term: Term,
        /// Size of the snapshot.
        bytes: u64,
    },
    /// A leader starts sending its snapshot to a follower whose next entry was compacted away.
    SnapshotSending {
        /// The follower.
        to: NodeId,
        /// The snapshot's last index.
        index: Index,
        /// Its size.
        bytes: u64,
        /// The entry the follower needed.
        next_index: Index,
    },
    /// A follower installed the leader's snapshot (Figure 13).
    SnapshotInstalled {
        /// Last index covered.
        index: Index,
        /// Its term.
        term: Term,
        /// The leader that sent it.
        leader: NodeId,
        /// Its size.
        bytes: u64,
        /// Whether the log after the snapshot's last entry was kept (it matched); otherwise the
        /// whole log was discarded.
        kept_suffix: bool,
    },
    /// A leader learned that a follower installed its snapshot.
    SnapshotDelivered {
        /// The follower.
        to: NodeId,
        /// The snapshot's last index.
        index: Index,
    },
    /// The commit index rose.
    CommitAdvanced {
        /// Old commit index.
        from: Index,
        /// New commit index.
        to: Index,
    },
    /// Received a message that only a broken protocol could send (two leaders in one term, an
    /// order to remove committed entries). The core refused it. The simulator treats this as a
    /// safety violation.
    ProtocolViolation {
        /// The sender.
        from: NodeId,
        /// What was wrong.
        what: String,
    },
}

/// Why a vote was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteRejectReason {
    /// The candidate's term is older than ours.
    StaleTerm {
        /// The candidate's term.
        candidate_term: Term,
    },
    /// We already voted for someone else in this term (one vote per term, §5.2).
    AlreadyVoted {
        /// Whom we voted for.
        voted_for: NodeId,
    },
    /// The candidate's log is less up-to-date than ours (§5.4.1).
    LogNotUpToDate {
        /// Our last (index, term).
        ours: (Index, Term),
        /// The candidate's last (index, term).
        theirs: (Index, Term),
    },
}

impl std::fmt::Display for VoteRejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            VoteRejectReason::StaleTerm { candidate_term } => {
                write!(f, "stale term {candidate_term}")
            }
            VoteRejectReason::AlreadyVoted { voted_for } => {
                write!(f, "already voted for {voted_for}")
            }
            VoteRejectReason::LogNotUpToDate { ours, theirs } => write!(
                f,
                "log not up to date (theirs ends {}/{}, ours {}/{})",
                theirs.0, theirs.1, ours.0, ours.1
            ),
        }
    }
}

/// Why an AppendEntries was refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendRejectReason {
    /// The leader's term is older than ours: it is deposed.
    StaleTerm {
        /// The sender's term.
        leader_term: Term,
    },
    /// Our log has no entry at prev_log_index.
    LogTooShort {
        /// Our last index.
        last_index: Index,
    },
    /// Our entry at prev_log_index has another term.
    TermMismatch {
        /// prev_log_index.
        index: Index,
        /// Our term there.
        ours: Term,
        /// prev_log_term.
        theirs: Term,
    },
    /// The request would remove committed entries (see [`TraceEvent::ProtocolViolation`]).
    WouldTruncateCommitted {
        /// First conflicting index.
        index: Index,
        /// Our commit index.
        committed: Index,
    },
}

impl std::fmt::Display for AppendRejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppendRejectReason::StaleTerm { leader_term } => {
                write!(f, "stale leader term {leader_term}")
            }
            AppendRejectReason::LogTooShort { last_index } => {
                write!(f, "log too short (ends at {last_index})")
            }
            AppendRejectReason::TermMismatch {
                index,
                ours,
                theirs,
            } => write!(f, "term mismatch at {index}: ours {ours}, theirs {theirs}"),
            AppendRejectReason::WouldTruncateCommitted { index, committed } => write!(
                f,
                "would remove committed entry {index} (commit {committed})"
            ),
        }
    }
}

/// Why a leader or candidate became a follower.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepDownReason {
    /// A message carried a higher term.
    HigherTerm {
        /// Who sent it.
        from: NodeId,
        /// Its term.
        term: Term,
    },
    /// A candidate heard from the leader of its own term (§5.2).
    LeaderDiscovered {
        /// The leader.
        leader: NodeId,
    },
}

impl std::fmt::Display for StepDownReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepDownReason::HigherTerm { from, term } => {
                write!(f, "saw higher term {term} from {from}")
            }
            StepDownReason::LeaderDiscovered { leader } => {
                write!(f, "heard from leader {leader}")
            }
        }
    }
}

impl std::fmt::Display for TraceEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TraceEvent::ElectionTimeout { term, timeout } => {
                write!(f, "election timeout in term {term} after {timeout} ticks")
            }
            TraceEvent::BecameCandidate { term } => write!(f, "became candidate in term {term}"),
            TraceEvent::VoteGranted { to, term } => {
                write!(f, "granted vote to {to} in term {term}")
            }
            TraceEvent::VoteRejected { to, term, reason } => {
                write!(f, "refused vote to {to} in term {term}: {reason}")
            }
            TraceEvent::VoteReceived {
                from,
                term,
                granted,
                granted_total,
                needed,
            } => write!(
                f,
                "vote from {from} in term {term}: {} ({granted_total} granted, {needed} needed)",
                if *granted { "granted" } else { "refused" }
            ),
            TraceEvent::BecameLeader { term } => write!(f, "became leader in term {term}"),
            TraceEvent::TermAdvanced {
                from_term,
                to_term,
                by,
            } => write!(f, "term {from_term} -> {to_term} (from {by})"),
            TraceEvent::SteppedDown { was, term, reason } => {
                write!(f, "{was} stepped down in term {term}: {reason}")
            }
            TraceEvent::LeaderChanged { leader, term } => match leader {
                Some(l) => write!(f, "leader of term {term} is {l}"),
                None => write!(f, "no known leader in term {term}"),
            },
            TraceEvent::AppendRejected {
                to,
                term,
                reason,
                conflict_index,
                conflict_term,
            } => write!(
                f,
                "rejected AppendEntries from {to} in term {term}: {reason} \
                 (hint {conflict_index}/{conflict_term})"
            ),
            TraceEvent::LogTruncated { from_index, leader } => {
                write!(
                    f,
                    "log truncated from {from_index} on leader {leader}'s order"
                )
            }
            TraceEvent::SnapshotTaken { index, term, bytes } => write!(
                f,
                "snapshot taken: log compacted up to {index}/{term} ({bytes} bytes)"
            ),
            TraceEvent::SnapshotSending {
                to,
                index,
                bytes,
                next_index,
            } => write!(
                f,
                "node {to} needs entry {next_index}, compacted away: sending snapshot \
                 {index} ({bytes} bytes)"
            ),
            TraceEvent::SnapshotInstalled {
                index,
                term,
                leader,
                bytes,
                kept_suffix,
            } => write!(
                f,
                "installed leader {leader}'s snapshot {index}/{term} ({bytes} bytes); {}",
                if *kept_suffix {
                    "kept the log after it"
                } else {
                    "discarded the log"
                }
            ),
            TraceEvent::SnapshotDelivered { to, index } => {
                write!(f, "node {to} installed snapshot {index}")
            }
            TraceEvent::CommitAdvanced { from, to } => write!(f, "commit {from} -> {to}"),
            TraceEvent::ProtocolViolation { from, what } => {
                write!(f, "PROTOCOL VIOLATION by {from}: {what}")
            }
        }
    }
}
