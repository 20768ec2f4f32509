//! The consensus core: Raft as a pure, deterministic state machine (sans I/O).
//!
//! No tokio, no clock, no sockets, no filesystem, no global RNG: the runtime (or the simulator)
//! feeds it ticks and messages and carries out what each [`Ready`] asks. Names follow Figure 2
//! of the Raft paper so the code can be read beside it.
//!
//! | module       | what it holds                                                   |
//! |--------------|-----------------------------------------------------------------|
//! | `ids`        | [`NodeId`], [`Term`], [`Index`]: the leaf every module stands on |
//! | `types`      | [`Entry`], [`Snapshot`], [`HardState`], [`Role`]                 |
//! | `message`    | the RPCs and their replies ([`Message`], [`Rpc`])                |
//! | `log`        | [`RaftLog`]: entries with commit / apply / persist marks         |
//! | `membership` | [`Configuration`], single-server [`ConfChange`]s and learners    |
//! | `progress`   | a leader's [`Progress`] per follower (nextIndex, matchIndex)     |
//! | `quorum`     | majority arithmetic                                             |
//! | `read_only`  | ReadIndex (thesis §6.4): [`ReadState`], confirmation rounds      |
//! | `raft_node`  | [`RaftNode`]: the rules of Figure 2, PreVote, CheckQuorum,       |
//! |              | leader transfer, ReadIndex, snapshots — one module a concern     |
//! | `ready`      | [`Ready`]: persist → send → apply                                |
//! | `trace`      | [`TraceEvent`]: what happened and why                            |
//! | `status`     | [`Status`]: what a node believes, for dashboards                 |
//! | `storage`    | the [`Storage`] trait and [`MemStorage`]                         |

pub mod config;
mod ids;
pub mod log;
pub mod membership;
pub mod message;
pub mod progress;
pub mod quorum;
pub mod raft_node;
pub mod read_only;
pub mod ready;
pub mod rng;
pub mod status;
pub mod storage;
pub mod trace;
pub mod types;

pub use config::{
    Config, ConfigError, ReadMode, UnsafeRules, DEFAULT_MAX_BYTES_PER_APPEND,
    DEFAULT_MAX_ENTRIES_PER_APPEND, DEFAULT_MAX_INFLIGHT_APPENDS, DEFAULT_SNAPSHOT_CHUNK_BYTES,
};
pub use log::RaftLog;
pub use membership::{ConfChange, ConfChangeError, ConfDecodeError, Configuration, Membership};
pub use message::*;
pub use progress::{Progress, ProgressState};
pub use raft_node::{CompactError, ProposeError, RaftNode, StepError, TransferError};
pub use read_only::{ReadIndexError, ReadState};
pub use ready::Ready;
pub use rng::Rng;
pub use status::{PeerProgress, Status};
pub use storage::{InitialState, MemStorage, Storage, StorageError};
pub use trace::{
    AppendRejectReason, StepDownReason, TraceEvent, TransferAbortReason, VoteRejectReason,
};
pub use types::*;
