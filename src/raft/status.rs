//! `Status`: a snapshot of what one core believes, for dashboards, tests and the Control API.

use super::progress::ProgressState;
use super::types::{Index, NodeId, Role, Term};

/// What one server believes right now.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Status {
    /// The server.
    pub id: NodeId,
    /// Its role.
    pub role: Role,
    /// currentTerm.
    pub term: Term,
    /// votedFor in the current term.
    pub voted_for: Option<NodeId>,
    /// The leader it knows for the current term.
    pub leader_id: Option<NodeId>,
    /// commitIndex.
    pub commit: Index,
    /// lastApplied: highest index handed to the state machine.
    pub applied: Index,
    /// Index of its last log entry.
    pub last_log_index: Index,
    /// Term of its last log entry.
    pub last_log_term: Term,
    /// Highest index known durable.
    pub persisted_index: Index,
    /// First index held in the log (1 without a snapshot).
    pub first_index: Index,
    /// Last index covered by the newest snapshot (0 without one): the compacted prefix.
    pub snapshot_index: Index,
    /// Term of that entry.
    pub snapshot_term: Term,
    /// Size of the newest snapshot in bytes.
    pub snapshot_bytes: u64,
    /// Follower only: a leader's snapshot arriving in chunks (its index, bytes received so far).
    pub receiving_snapshot: Option<(Index, u64)>,
    /// Ticks since the election timer was last reset.
    pub election_elapsed: u32,
    /// The randomized timeout the timer runs to.
    pub election_timeout: u32,
    /// The leader's view of each follower (empty unless leader).
    pub progress: Vec<PeerProgress>,
    /// A follower running a pre-vote round (thesis §9.6): it asks whether it could win before
    /// raising its term.
    #[serde(default)]
    pub pre_candidate: bool,
    /// Leader only: the server it is handing leadership to (proposals pause meanwhile).
    #[serde(default)]
    pub transfer_target: Option<NodeId>,
    /// The configuration in force on this server: its voters, in id order.
    #[serde(default)]
    pub voters: Vec<NodeId>,
    /// ... and its learners (non-voting members), in id order.
    #[serde(default)]
    pub learners: Vec<NodeId>,
    /// Whether that configuration's entry is not yet committed.
    #[serde(default)]
    pub conf_pending: bool,
}

/// A leader's matchIndex / nextIndex for one follower.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PeerProgress {
    /// The follower.
    pub id: NodeId,
    /// matchIndex.
    pub match_index: Index,
    /// nextIndex.
    pub next_index: Index,
    /// Probe or replicate.
    pub state: ProgressState,
    /// Appends in flight.
    pub inflight: usize,
    /// In snapshot state: (snapshot index, bytes the follower confirmed, total bytes).
    pub snapshot_transfer: Option<(Index, u64, u64)>,
}
