//! A core's configuration: who it is, who its peers are, and its timing in ticks.

use super::types::NodeId;

/// How one core is set up. Time is counted in ticks of the runtime's logical clock: the core
/// never reads a clock, the runtime decides how long a tick lasts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// This server's id (≥ 1).
    pub id: NodeId,
    /// Every voting member of the cluster, this server included.
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
}

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
            max_entries_per_append: 64,
            max_bytes_per_append: 1 << 20,
            max_inflight_appends: 8,
            snapshot_chunk_bytes: 64 << 10,
            seed: 0,
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
        if !self.voters.contains(&self.id) {
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
        let mut c = base;
        c.max_inflight_appends = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroLimit));
    }
}
