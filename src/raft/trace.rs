//! Trace events: what a core did and *why*, for learners, dashboards and the simulator.
//!
//! Each [`Ready`](super::Ready) carries the events that happened since the last one. They are
//! explanations, not inputs: dropping them changes nothing in the protocol.

use super::membership::{ConfChange, Configuration};
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
    /// PreVote (thesis §9.6): instead of starting an election, asks the others whether they would
    /// vote for it in `term` (its current term + 1). Its own term does not change.
    BecamePreCandidate {
        /// The term it would campaign in.
        term: Term,
    },
    /// Said yes to a PreVote (nothing changes here: no term, no vote, no timer reset).
    PreVoteGranted {
        /// The asker.
        to: NodeId,
        /// The term asked about.
        term: Term,
    },
    /// Said no to a PreVote, and why.
    PreVoteRejected {
        /// The asker.
        to: NodeId,
        /// This server's term when it answered.
        term: Term,
        /// Why.
        reason: VoteRejectReason,
    },
    /// A pre-candidate heard an answer to its PreVote.
    PreVoteReceived {
        /// The voter.
        from: NodeId,
        /// The term asked about.
        term: Term,
        /// Whether it said yes.
        granted: bool,
        /// Yeses so far, its own included.
        granted_total: usize,
        /// Yeses needed.
        needed: usize,
    },
    /// A majority said no to the PreVote: back to follower, in the same term, until the timer
    /// fires again.
    PreVoteLost {
        /// The term it asked about.
        term: Term,
    },
    /// Ignored a RequestVote of a higher term without adopting the term (CheckQuorum's leader
    /// lease, thesis §4.2.3): it heard from its leader less than a minimum election timeout ago.
    VoteIgnored {
        /// The candidate.
        from: NodeId,
        /// The candidate's term.
        candidate_term: Term,
        /// The leader it heard from.
        leader: NodeId,
        /// Ticks since it heard from that leader.
        ticks_ago: u32,
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
    /// A new leader appended the no-op entry of its term (§8): an entry of the current term,
    /// so that entries of earlier terms, which never commit by counting replicas (§5.4.2),
    /// commit with it.
    NoopAppended {
        /// Its index.
        index: Index,
        /// Its term: the leader's.
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
    /// Leadership transfer (thesis §3.10) begun: proposals are refused until it ends.
    TransferStarted {
        /// The target.
        to: NodeId,
        /// The target's matchIndex when it began.
        match_index: Index,
        /// The leader's last index (the target must reach it before TimeoutNow).
        last_index: Index,
    },
    /// The transfer target's log is up to date: sent it TimeoutNow.
    TimeoutNowSent {
        /// The target.
        to: NodeId,
    },
    /// Received TimeoutNow from its leader: campaigns at once (no PreVote, and its RequestVotes
    /// bypass the voters' leader lease).
    TimeoutNowReceived {
        /// The leader handing over.
        from: NodeId,
    },
    /// The target's election reached the old leader (a message of a higher term from it): the
    /// transfer is done on this side, and the old leader steps down.
    TransferCompleted {
        /// The target.
        to: NodeId,
        /// The target's term.
        term: Term,
    },
    /// The transfer was given up: proposals are accepted again (if still leader).
    TransferAborted {
        /// The target.
        to: NodeId,
        /// Why.
        reason: TransferAbortReason,
    },
    /// A leader began confirming a read (ReadIndex, thesis §6.4): it waits for a majority to
    /// acknowledge heartbeat round `round`.
    ReadIndexStarted {
        /// The caller's context.
        ctx: u64,
        /// The read index (the commit index now).
        index: Index,
        /// The confirmation round.
        round: u64,
    },
    /// A read was confirmed; the runtime serves it once applied ≥ `index`.
    ReadIndexConfirmed {
        /// The caller's context.
        ctx: u64,
        /// The read index.
        index: Index,
        /// True when answered at once on the leader's lease (no round of heartbeats).
        lease: bool,
    },
    /// A leader stepped down with reads unconfirmed: they are dropped, never answered. The runtime
    /// tells their clients to retry (with the new leader).
    ReadsDropped {
        /// The contexts of the dropped reads.
        ctxs: Vec<u64>,
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
    /// The leader appended a membership change (thesis §4.1): it is in force at once.
    ConfChangeProposed {
        /// The change.
        change: ConfChange,
        /// The configuration entry's index.
        index: Index,
    },
    /// The configuration in force changed: a configuration entry was appended, truncated away
    /// (`reverted`: the previous configuration is back), or came with a snapshot.
    ConfigurationChanged {
        /// The configuration now in force.
        conf: Configuration,
        /// The index of the entry that set it (0: the snapshot's or the initial one).
        index: Index,
        /// Whether it is back because a newer configuration entry was truncated.
        reverted: bool,
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
    /// PreVote (thesis §9.6): we heard from a leader less than a minimum election timeout ago (or
    /// we are the leader), so there is no reason for an election.
    HeardFromLeader {
        /// The leader.
        leader: NodeId,
        /// Ticks since we heard from it.
        ticks_ago: u32,
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
            VoteRejectReason::HeardFromLeader { leader, ticks_ago } => {
                write!(f, "heard from leader {leader} {ticks_ago} ticks ago")
            }
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
    /// CheckQuorum (thesis §6.2): a leader heard from fewer than a majority (itself included)
    /// during the last election timeout.
    QuorumLost {
        /// Servers heard from, itself included.
        heard_from: usize,
        /// A majority.
        needed: usize,
    },
    /// A configuration without this leader committed: it is no longer a member (thesis §4.2.2).
    RemovedFromConfiguration {
        /// The configuration entry's index.
        index: Index,
    },
}

/// Why a leadership transfer was given up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransferAbortReason {
    /// The target did not take over within an election timeout.
    TimedOut {
        /// Ticks waited.
        ticks: u32,
    },
    /// The leader stepped down for another reason before the target took over.
    LostLeadership,
}

impl std::fmt::Display for TransferAbortReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransferAbortReason::TimedOut { ticks } => {
                write!(f, "the target did not take over within {ticks} ticks")
            }
            TransferAbortReason::LostLeadership => write!(f, "the leader stepped down"),
        }
    }
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
            StepDownReason::RemovedFromConfiguration { index } => {
                write!(f, "removed by the configuration committed at {index}")
            }
            StepDownReason::QuorumLost { heard_from, needed } => write!(
                f,
                "heard from only {heard_from} of the {needed} servers needed in an election \
                 timeout (CheckQuorum)"
            ),
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
            TraceEvent::BecamePreCandidate { term } => {
                write!(f, "pre-candidate: asking for pre-votes for term {term}")
            }
            TraceEvent::PreVoteGranted { to, term } => {
                write!(f, "granted pre-vote to {to} for term {term}")
            }
            TraceEvent::PreVoteRejected { to, term, reason } => {
                write!(f, "refused pre-vote to {to} in term {term}: {reason}")
            }
            TraceEvent::PreVoteReceived {
                from,
                term,
                granted,
                granted_total,
                needed,
            } => write!(
                f,
                "pre-vote from {from} for term {term}: {} ({granted_total} granted, {needed} \
                 needed)",
                if *granted { "granted" } else { "refused" }
            ),
            TraceEvent::PreVoteLost { term } => {
                write!(f, "pre-vote for term {term} lost: stays follower")
            }
            TraceEvent::VoteIgnored {
                from,
                candidate_term,
                leader,
                ticks_ago,
            } => write!(
                f,
                "ignored RequestVote from {from} for term {candidate_term}: heard from leader \
                 {leader} {ticks_ago} ticks ago"
            ),
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
            TraceEvent::NoopAppended { index, term } => write!(
                f,
                "appended its no-op entry at index {index} (term {term}), so entries of earlier \
                 terms can commit"
            ),
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
            TraceEvent::TransferStarted {
                to,
                match_index,
                last_index,
            } => write!(
                f,
                "leadership transfer to {to} started (its match {match_index}, last {last_index})"
            ),
            TraceEvent::TimeoutNowSent { to } => {
                write!(f, "node {to} is up to date: sent TimeoutNow")
            }
            TraceEvent::TimeoutNowReceived { from } => {
                write!(f, "TimeoutNow from leader {from}: campaigning at once")
            }
            TraceEvent::TransferCompleted { to, term } => {
                write!(
                    f,
                    "leadership transfer to {to} done: it campaigns in term {term}"
                )
            }
            TraceEvent::TransferAborted { to, reason } => {
                write!(f, "leadership transfer to {to} aborted: {reason}")
            }
            TraceEvent::ReadIndexStarted { ctx, index, round } => write!(
                f,
                "read {ctx} at index {index}: confirming leadership (round {round})"
            ),
            TraceEvent::ReadIndexConfirmed { ctx, index, lease } => write!(
                f,
                "read {ctx} confirmed at index {index}{}",
                if *lease { " (lease)" } else { "" }
            ),
            TraceEvent::ReadsDropped { ctxs } => {
                write!(
                    f,
                    "stepped down: dropped {} pending reads {ctxs:?}",
                    ctxs.len()
                )
            }
            TraceEvent::CommitAdvanced { from, to } => write!(f, "commit {from} -> {to}"),
            TraceEvent::ProtocolViolation { from, what } => {
                write!(f, "PROTOCOL VIOLATION by {from}: {what}")
            }
            TraceEvent::ConfChangeProposed { change, index } => {
                write!(f, "proposed membership change at {index}: {change}")
            }
            TraceEvent::ConfigurationChanged {
                conf,
                index,
                reverted,
            } => {
                if *reverted {
                    write!(
                        f,
                        "configuration entry truncated: back to {conf} (from {index})"
                    )
                } else {
                    write!(f, "configuration now {conf} (from {index})")
                }
            }
        }
    }
}
