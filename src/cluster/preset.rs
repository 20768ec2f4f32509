//! Timing presets: how long a tick lasts, the election and heartbeat timing in ticks, and the
//! network's base delay.

use std::time::Duration;

use clap::ValueEnum;

use crate::node::SnapshotPolicy;
use crate::raft::{Config, NodeId};

/// A named set of timings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Real-world timing: 10 ms ticks, elections after 150–300 ms, heartbeats every 50 ms, no
    /// added network delay.
    Fast,
    /// Slow enough to follow by eye: 100 ms ticks, elections after 2–4 s, heartbeats every
    /// 0.5 s, and 300–450 ms on every link so messages are visibly in flight.
    Teach,
}

impl Preset {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Fast => "fast",
            Preset::Teach => "teach",
        }
    }

    /// Length of one tick at speed 1.
    pub fn tick(self) -> Duration {
        match self {
            Preset::Fast => Duration::from_millis(10),
            Preset::Teach => Duration::from_millis(100),
        }
    }

    /// Base one-way delay and jitter added to every link.
    pub fn link_delay(self) -> (Duration, Duration) {
        match self {
            Preset::Fast => (Duration::ZERO, Duration::ZERO),
            Preset::Teach => (Duration::from_millis(300), Duration::from_millis(150)),
        }
    }

    /// How long a client request may wait to be applied.
    pub fn client_timeout(self) -> Duration {
        match self {
            Preset::Fast => Duration::from_secs(5),
            Preset::Teach => Duration::from_secs(30),
        }
    }

    /// When nodes snapshot by default: rarely when fast (10,000 entries or 64 MiB of commands),
    /// every 20 entries when teaching, so that learners see compaction and InstallSnapshot.
    pub fn snapshot_policy(self) -> SnapshotPolicy {
        match self {
            Preset::Fast => SnapshotPolicy {
                entries: 10_000,
                bytes: 64 << 20,
            },
            Preset::Teach => SnapshotPolicy {
                entries: 20,
                bytes: 0,
            },
        }
    }

    /// The core configuration of node `id` among `voters`.
    pub fn raft_config(self, id: NodeId, voters: Vec<NodeId>, seed: u64) -> Config {
        let mut c = Config::new(id, voters);
        c.seed = seed;
        match self {
            Preset::Fast => {
                c.election_timeout_min = 15;
                c.election_timeout_max = 30;
                c.heartbeat_interval = 5;
            }
            Preset::Teach => {
                c.election_timeout_min = 20;
                c.election_timeout_max = 40;
                c.heartbeat_interval = 5;
                // Small chunks, so that a snapshot visibly travels in several messages.
                c.snapshot_chunk_bytes = 256;
            }
        }
        c
    }
}

impl std::fmt::Display for Preset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_are_valid_and_in_the_promised_ranges() {
        for p in [Preset::Fast, Preset::Teach] {
            let c = p.raft_config(1, vec![1, 2, 3], 0);
            assert_eq!(c.validate(), Ok(()));
            let lo = p.tick() * c.election_timeout_min;
            let hi = p.tick() * c.election_timeout_max;
            match p {
                Preset::Fast => {
                    assert_eq!((lo.as_millis(), hi.as_millis()), (150, 300));
                }
                Preset::Teach => {
                    assert_eq!((lo.as_secs(), hi.as_secs()), (2, 4));
                    // A round trip fits in an election timeout: elections can succeed.
                    let (d, j) = p.link_delay();
                    assert!(2 * (d + j) < lo);
                }
            }
        }
    }
}
