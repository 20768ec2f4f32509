//! A core's configuration: who it is, who its peers are, its timing in ticks, and which of the
//! thesis's optional rules it follows (PreVote, CheckQuorum, lease reads) — plus, for learning,
//! switches that break Raft on purpose ([`UnsafeRules`]).

use super::types::NodeId;

/// How a leader answers [`RaftNode::read_index`](super::RaftNode::read_index) (thesis §6.4).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum ReadMode {
    /// ReadIndex: the leader records its commit index, then confirms it still leads by a round
    /// of heartbeats acknowledged by a majority, then answers. Linearizable under any timing.
    #[default]
    Safe,
    /// Lease reads (thesis §6.4.1): the leader answers at once, without a round of heartbeats, if
    /// `check_quorum` is on and a majority acknowledged heartbeats it sent within the last
    /// `election_timeout_min - lease_margin` ticks — because each of those followers then refuses
    /// to vote for anyone else until `election_timeout_min` of *its own* ticks have passed since it
    /// heard from the leader. Otherwise it falls back to a round of heartbeats, as in `Safe`.
    ///
    /// **This trusts clocks.** It is safe only if no server's clock runs faster than the leader's
    /// by more than the margin over a lease (bounded clock drift), if no message (a TimeoutNow in
    /// particular) is delayed beyond a lease, and if no follower of the lease restarts within it
    /// (a restarted server has forgotten whom it heard from, and votes). A follower whose clock
    /// runs fast can vote for a new leader while the old one still believes its lease holds, and
    /// the old leader then answers a stale read — the simulator shows it.
    Lease,
}

/// Rules of Raft that can be switched off to see what goes wrong without them.
///
/// **Every switch here breaks Raft on purpose.** With any of them on, the cluster can elect two
/// leaders in one term, lose committed entries, or apply different commands at the same index.
/// They exist for the lab only (the dashboard and the simulator show the violation they allow);
/// never turn one on for data you care about. All are off by default.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct UnsafeRules {
    /// UNSAFE: grant votes (and pre-votes) without the election restriction of §5.4.1 (the
    /// candidate's log must be at least as up to date as the voter's). A server missing committed
    /// entries can then be elected: Leader Completeness breaks, and with it State Machine Safety.
    pub vote_without_log_check: bool,
    /// UNSAFE: commit an entry as soon as a majority stores it, whatever its term — the bug of
    /// Figure 8 (§5.4.2). Raft commits only entries of the leader's own term by counting; an
    /// older-term entry stored on a majority can still be overwritten by a later leader.
    pub commit_by_counting: bool,
    /// UNSAFE: do not persist votedFor. The hard state handed to storage always says "voted for
    /// nobody", so a server that crashes and restarts can vote a second time in the same term:
    /// two leaders in one term (Election Safety breaks).
    pub forget_vote: bool,
}

impl UnsafeRules {
    /// Whether any unsafe rule is on.
    pub fn any(&self) -> bool {
        self.vote_without_log_check || self.commit_by_counting || self.forget_vote
    }
}

/// How one core is set up. Time is counted in ticks of the runtime's logical clock: the core
/// never reads a clock, the runtime decides how long a tick lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This server's id (≥ 1).
    pub id: NodeId,
    /// The initial configuration: every voting member of the cluster, this server included —
    /// or empty for a server that joins a running cluster later (it waits for a leader to add it
    /// and contact it). A server restarted from storage takes its configuration from its snapshot
    /// and log instead (see [`super::membership`]).
    pub voters: Vec<NodeId>,
    /// Lower bound of the randomized election timeout, in ticks (inclusive).
    pub election_timeout_min: u32,
    /// Upper bound of the randomized election timeout, in ticks (exclusive).
    pub election_timeout_max: u32,
    /// A leader sends heartbeats every this many ticks. Must be well below the election timeout.
    pub heartbeat_interval: u32,
    /// At most this many entries in one AppendEntries.
    pub max_entries_per_append: usize,
    /// At most this many payload bytes in one AppendEntries (one entry is always allowed).
    pub max_bytes_per_append: usize,
    /// At most this many AppendEntries carrying entries unacknowledged per follower (pipelining).
    pub max_inflight_appends: usize,
    /// Bytes of snapshot per InstallSnapshot chunk.
    pub snapshot_chunk_bytes: usize,
    /// Seed of the core's RNG (election timeouts). Same seed, same inputs: same outputs.
    pub seed: u64,
    /// PreVote (thesis §9.6): a server whose election timer fires first asks the others whether
    /// they would vote for it in its term + 1, without anyone changing term; only with a majority
    /// of yes does it start a real election. A server that was cut off then rejoins without
    /// raising the cluster's term and deposing a working leader. A voter says yes only if the
    /// asker's log is up to date (§5.4.1) and it has not heard from a leader for
    /// `election_timeout_min` ticks. Default on.
    pub pre_vote: bool,
    /// CheckQuorum (thesis §6.2): a leader that has not heard from a majority (itself included)
    /// within `election_timeout_min` ticks steps down. With it on, a follower that heard from its
    /// leader less than `election_timeout_min` ticks ago ignores RequestVote of a higher term
    /// (the leader lease of thesis §4.2.3), unless the candidate campaigns on a leadership
    /// transfer. Default on.
    pub check_quorum: bool,
    /// How a leader answers reads: [`ReadMode::Safe`] (default) or [`ReadMode::Lease`].
    pub read_mode: ReadMode,
    /// Lease reads: ticks subtracted from `election_timeout_min` to allow for clock drift. The
    /// lease lasts `election_timeout_min - lease_margin` ticks from the start of the heartbeat
    /// round a majority acknowledged.
    pub lease_margin: u32,
    /// Rules switched off on purpose, to see Raft break. All off by default; see [`UnsafeRules`].
    pub unsafe_rules: UnsafeRules,
}

/// Default of [`Config::max_entries_per_append`].
pub const DEFAULT_MAX_ENTRIES_PER_APPEND: usize = 64;
/// Default of [`Config::max_bytes_per_append`]. The peer transport's size limits are checked
/// against it at compile time (`node::transport`).
pub const DEFAULT_MAX_BYTES_PER_APPEND: usize = 1 << 20;
/// Default of [`Config::max_inflight_appends`].
pub const DEFAULT_MAX_INFLIGHT_APPENDS: usize = 8;
/// Default of [`Config::snapshot_chunk_bytes`].
pub const DEFAULT_SNAPSHOT_CHUNK_BYTES: usize = 64 << 10;

impl Config {
    /// A configuration with the defaults of etcd-io/raft's shape: heartbeat every tick,
    /// elections after 10 to 20 ticks.
    pub fn new(id: NodeId, voters: Vec<NodeId>) -> Self {
        Config {
            id,
            voters,
            election_timeout_min: 10,
            election_timeout_max: 20,
            heartbeat_interval: 1,
            max_entries_per_append: DEFAULT_MAX_ENTRIES_PER_APPEND,
            max_bytes_per_append: DEFAULT_MAX_BYTES_PER_APPEND,
            max_inflight_appends: DEFAULT_MAX_INFLIGHT_APPENDS,
            snapshot_chunk_bytes: DEFAULT_SNAPSHOT_CHUNK_BYTES,
            seed: 0,
            pre_vote: true,
            check_quorum: true,
            read_mode: ReadMode::Safe,
            lease_margin: 2,
            unsafe_rules: UnsafeRules::default(),
        }
    }

    /// Checks the configuration; a core refuses to start from an invalid one.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.id == 0 {
            return Err(ConfigError::ZeroId);
        }
        if self.voters.contains(&0) {
            return Err(ConfigError::ZeroId);
        }
        if !self.voters.is_empty() && !self.voters.contains(&self.id) {
            return Err(ConfigError::SelfNotVoter(self.id));
        }
        let mut sorted = self.voters.clone();
        sorted.sort_unstable();
        if sorted.windows(2).any(|w| w[0] == w[1]) {
            return Err(ConfigError::DuplicateVoter);
        }
        if self.election_timeout_min == 0 || self.election_timeout_max <= self.election_timeout_min
        {
            return Err(ConfigError::ElectionTimeout {
                min: self.election_timeout_min,
                max: self.election_timeout_max,
            });
        }
        if self.heartbeat_interval == 0 || self.heartbeat_interval >= self.election_timeout_min {
            return Err(ConfigError::Heartbeat {
                heartbeat: self.heartbeat_interval,
                election_min: self.election_timeout_min,
            });
        }
        if self.max_entries_per_append == 0
            || self.max_inflight_appends == 0
            || self.snapshot_chunk_bytes == 0
        {
            return Err(ConfigError::ZeroLimit);
        }
        if self.read_mode == ReadMode::Lease && self.lease_margin >= self.election_timeout_min {
            return Err(ConfigError::LeaseMargin {
                margin: self.lease_margin,
                election_min: self.election_timeout_min,
            });
        }
        Ok(())
    }
}

/// Why a [`Config`] is invalid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// Node ids start at 1.
    ZeroId,
    /// The server is not among the voters.
    SelfNotVoter(NodeId),
    /// A voter is listed twice.
    DuplicateVoter,
    /// The election timeout range is empty or starts at 0.
    ElectionTimeout {
        /// Configured minimum.
        min: u32,
        /// Configured maximum.
        max: u32,
    },
    /// The heartbeat interval is 0 or not below the election timeout.
    Heartbeat {
        /// Configured heartbeat interval.
        heartbeat: u32,
        /// Configured election timeout minimum.
        election_min: u32,
    },
    /// A batch or pipeline limit is 0.
    ZeroLimit,
    /// Lease reads with a margin that leaves no lease.
    LeaseMargin {
        /// Configured lease margin.
        margin: u32,
        /// Configured election timeout minimum.
        election_min: u32,
    },
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigError::ZeroId => write!(f, "node ids start at 1; 0 is not a node"),
            ConfigError::SelfNotVoter(id) => write!(f, "node {id} is not in its own voter list"),
            ConfigError::DuplicateVoter => write!(f, "a voter is listed twice"),
            ConfigError::ElectionTimeout { min, max } => write!(
                f,
                "election timeout range [{min}, {max}) ticks is empty or starts at 0"
            ),
            ConfigError::Heartbeat {
                heartbeat,
                election_min,
            } => write!(
                f,
                "heartbeat interval {heartbeat} must be at least 1 and below the minimum election \
                 timeout {election_min}"
            ),
            ConfigError::ZeroLimit => write!(f, "batch and pipeline limits must be at least 1"),
            ConfigError::LeaseMargin {
                margin,
                election_min,
            } => write!(
                f,
                "lease margin {margin} must be below the minimum election timeout {election_min}"
            ),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(Config::new(1, vec![1, 2, 3]).validate(), Ok(()));
    }

    #[test]
    fn each_defect_is_named() {
        let base = Config::new(1, vec![1, 2, 3]);
        let mut c = base.clone();
        c.id = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroId));
        let mut c = base.clone();
        c.voters = vec![2, 3];
        assert_eq!(c.validate(), Err(ConfigError::SelfNotVoter(1)));
        let mut c = base.clone();
        c.voters = vec![1, 2, 2];
        assert_eq!(c.validate(), Err(ConfigError::DuplicateVoter));
        let mut c = base.clone();
        c.election_timeout_max = c.election_timeout_min;
        assert!(matches!(
            c.validate(),
            Err(ConfigError::ElectionTimeout { .. })
        ));
        let mut c = base.clone();
        c.heartbeat_interval = c.election_timeout_min;
        assert!(matches!(c.validate(), Err(ConfigError::Heartbeat { .. })));
        let mut c = base.clone();
        c.max_inflight_appends = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroLimit));
        let mut c = base;
        c.lease_margin = c.election_timeout_min;
        assert_eq!(
            c.validate(),
            Ok(()),
            "the margin matters only for lease reads"
        );
        c.read_mode = ReadMode::Lease;
        assert!(matches!(c.validate(), Err(ConfigError::LeaseMargin { .. })));
    }

    #[test]
    fn thesis_rules_on_and_unsafe_rules_off_by_default() {
        let c = Config::new(1, vec![1, 2, 3]);
        assert!(c.pre_vote && c.check_quorum);
        assert_eq!(c.read_mode, ReadMode::Safe);
        assert!(!c.unsafe_rules.any());
    }
}
