//! One node's runtime: a tokio task that owns the node's consensus core, its storage and its
//! state machine, and a tonic server with the peer `Raft` service and the client `Kv` service.
//!
//! ```text
//!   ticks (cluster clock) ─┐
//!   Raft.Stream (peers) ───┼─► inbox ─► driver: step core ─► Ready: persist ─► outbox (network)
//!   Kv requests ───────────┤                                       apply ─► answer clients
//!   control (campaign...) ─┘                                       publish status (watch)
//! ```
//!
//! The driver never blocks on the network or on readers: its [`Outbox`] hands each message to the
//! cluster's network, which decides its fate and queues it on its link without waiting, and it
//! publishes its status on a `watch` channel.

pub mod address_book;
pub mod driver;
pub mod event;
pub mod kv_service;
pub mod metrics;
pub mod outbox;
pub mod rules;
pub mod transport;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use address_book::AddressBook;
pub use event::{Event, EventBus, EventKind};
pub use outbox::Outbox;
pub use rules::{Rules, UnsafeRule};

use crate::pb;
use crate::raft::{self, Index, Message, NodeId, RaftNode, Storage, Term};

/// Storage shared between a node's successive incarnations (it survives kill and restart).
pub type SharedStorage = Arc<Mutex<Box<dyn NodeStorage>>>;

/// A node's storage: the core's [`Storage`], and a way to write a snapshot's file off the node's
/// task, for storage where that write takes time.
pub trait NodeStorage: Storage + Send {
    /// Something that writes snapshot files on another thread, for
    /// [`NodeStorage::save_staged_snapshot`]; `None` (the default) when saving a snapshot is
    /// cheap, as in memory.
    fn snapshot_stager(&self) -> Option<crate::storage::SnapshotStager> {
        None
    }

    /// [`Storage::save_snapshot`], with the snapshot's file written ahead by the stager.
    fn save_staged_snapshot(
        &mut self,
        snapshot: &raft::Snapshot,
        staged: crate::storage::StagedSnapshot,
    ) -> Result<(), raft::StorageError> {
        drop(staged);
        self.save_snapshot(snapshot)
    }
}

impl NodeStorage for raft::MemStorage {}

impl NodeStorage for crate::storage::DiskStorage {
    fn snapshot_stager(&self) -> Option<crate::storage::SnapshotStager> {
        Some(crate::storage::DiskStorage::snapshot_stager(self))
    }

    fn save_staged_snapshot(
        &mut self,
        snapshot: &raft::Snapshot,
        staged: crate::storage::StagedSnapshot,
    ) -> Result<(), raft::StorageError> {
        crate::storage::DiskStorage::save_staged_snapshot(self, snapshot, staged)
    }
}

/// Largest gRPC message a node accepts or sends on its `Raft` service: far above the largest
/// frame of AppendEntries the network sends (see [`transport`], which asserts it at compile
/// time), so replication can never stall on a size limit.
pub const MAX_GRPC_MESSAGE: usize = 64 << 20;

/// Largest client request the `Kv` service accepts (tonic's default, made explicit): it bounds
/// the size of one log entry, and so of the one entry an AppendEntries always carries.
pub const MAX_CLIENT_COMMAND: usize = 4 << 20;

/// How one node is set up.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// The core's configuration (id, voters, timing in ticks, seed). [`start`] applies
    /// `rules` to it.
    pub raft: raft::Config,
    /// Address of every member, this node included: its Raft and Kv services listen there.
    /// Shared with the cluster, which adds and removes nodes.
    pub addresses: AddressBook,
    /// How long a client request may wait to be applied before its outcome is reported unknown.
    pub client_timeout: Duration,
    /// When the node snapshots its state machine and compacts its log.
    pub snapshot: SnapshotPolicy,
    /// Which of Raft's optional rules the node follows, and which rules it breaks on purpose
    /// (see [`Rules`]). `rules.local_reads` is UNSAFE: every node answers `Get` from its own
    /// applied state at once instead of confirming a read index with the leader, so a follower
    /// (or a deposed leader) can return a stale value.
    pub rules: Rules,
    /// Counters the driver bumps (persist batches, AppendEntries sent), for `raftlab bench`.
    /// Shared by the node's successive incarnations: they survive kill and restart.
    pub metrics: Arc<metrics::NodeMetrics>,
}

/// When a node takes a snapshot on its own (it also takes one on command).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SnapshotPolicy {
    /// After this many entries applied since the last snapshot (0: no entry threshold).
    pub entries: u64,
    /// After this many command bytes applied since the last snapshot (0: no byte threshold).
    pub bytes: u64,
}

impl SnapshotPolicy {
    /// Never snapshot on its own.
    pub const NEVER: SnapshotPolicy = SnapshotPolicy {
        entries: 0,
        bytes: 0,
    };
}

impl NodeConfig {
    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.raft.id
    }

    /// This node's listening address.
    pub fn addr(&self) -> Option<SocketAddr> {
        self.addresses.get(self.raft.id)
    }
}

/// One input to the driver loop.
#[derive(Debug)]
pub enum Input {
    /// One tick of the node's logical clock.
    Tick,
    /// A message from a peer.
    Peer(Message),
    /// A client command to replicate and apply.
    Client(ClientRequest),
    /// A linearizable read (ReadIndex): answered once the leader confirmed it and the state
    /// machine applied the read index.
    Read(ReadRequest),
    /// Hand leadership over to `to` (leader only).
    Transfer {
        /// The target.
        to: NodeId,
        /// Whether the transfer started.
        reply: oneshot::Sender<Result<(), raft::TransferError>>,
    },
    /// Propose a membership change (leader only): answered with the index of the configuration
    /// entry, which takes effect at once and is final once committed.
    ChangeConfig {
        /// The change.
        change: raft::ConfChange,
        /// The entry's index, or why the leader refused.
        reply: oneshot::Sender<Result<Index, raft::ConfChangeError>>,
    },
    /// Time out now (start an election).
    Campaign,
    /// Set the running election timer's timeout, in ticks.
    SetElectionTimeout(u32),
    /// Read the applied key-value contents.
    ReadKv(oneshot::Sender<Vec<(String, String)>>),
    /// Take a snapshot now and compact the log up to the applied index.
    Snapshot(oneshot::Sender<Result<raft::SnapshotMeta, String>>),
    /// Read the terms of the log entries `lo..=hi` (those the log holds).
    ReadLog {
        /// First index wanted.
        lo: Index,
        /// Last index wanted.
        hi: Index,
        /// Where the (index, term) pairs go.
        reply: oneshot::Sender<Vec<(Index, Term)>>,
    },
}

/// A command waiting to be applied.
#[derive(Debug)]
pub struct ClientRequest {
    /// An encoded `pb::KvCommand`.
    pub command: Bytes,
    /// Where the outcome goes.
    pub reply: oneshot::Sender<Result<Applied, ClientError>>,
}

/// A read waiting for its read index.
#[derive(Debug)]
pub struct ReadRequest {
    /// The key to read.
    pub key: String,
    /// Where the outcome goes: on success, `index` is the read index, `term` the node's term
    /// when it answered, and `result` an encoded `pb::KvResult` (found, value).
    pub reply: oneshot::Sender<Result<Applied, ClientError>>,
}

/// A command that was committed and applied.
#[derive(Clone, Debug)]
pub struct Applied {
    /// Its log index.
    pub index: Index,
    /// Its term.
    pub term: Term,
    /// The state machine's encoded `pb::KvResult`.
    pub result: Bytes,
}

/// Why a command was not applied — or why nobody knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientError {
    /// This node does not lead; maybe it knows who does.
    NotLeader {
        /// The leader this node knows of.
        leader_hint: Option<NodeId>,
    },
    /// The entry was replaced by another leader's before it committed: it will never apply.
    NotApplied {
        /// Index the command had been given.
        index: Index,
    },
    /// This node leads but is handing leadership to `to`: it takes no proposals meanwhile.
    TransferInProgress {
        /// The transfer's target.
        to: NodeId,
    },
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::NotLeader {
                leader_hint: Some(l),
            } => write!(f, "not the leader; the leader is node {l}"),
            ClientError::NotLeader { leader_hint: None } => write!(f, "no leader known"),
            ClientError::NotApplied { index } => write!(
                f,
                "not applied: entry {index} was replaced by a new leader's (safe to retry)"
            ),
            ClientError::TransferInProgress { to } => write!(
                f,
                "not the leader for long: leadership is being transferred to node {to}; retry there"
            ),
        }
    }
}

/// What a node publishes after every turn of its loop.
#[derive(Clone, Debug)]
pub struct NodeView {
    /// The core's status.
    pub status: raft::Status,
    /// Number of keys in its state machine.
    pub kv_len: usize,
}

/// Why a node could not start.
#[derive(Debug)]
pub enum NodeError {
    /// Its configuration is invalid.
    Config(raft::ConfigError),
    /// Its storage could not be read.
    Storage(raft::StorageError),
    /// Its address could not be bound.
    Bind(SocketAddr, std::io::Error),
    /// Its address is not in its own configuration.
    NoAddress(NodeId),
    /// Its stored snapshot could not be restored into the state machine.
    Snapshot(String),
    /// Its core would build messages bigger than the peer transport carries.
    TooBig,
}

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NodeError::Config(e) => write!(f, "invalid node configuration: {e}"),
            NodeError::Storage(e) => write!(f, "{e}"),
            NodeError::Bind(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            NodeError::NoAddress(id) => write!(f, "node {id} has no address"),
            NodeError::Snapshot(e) => write!(f, "cannot restore the stored snapshot: {e}"),
            NodeError::TooBig => write!(
                f,
                "max_bytes_per_append or snapshot_chunk_bytes is too big for the peer transport"
            ),
        }
    }
}

impl std::error::Error for NodeError {}

/// A node that is running: its inbox, its published view, and the tasks to stop.
#[derive(Debug)]
pub struct RunningNode {
    /// Inputs to the driver (ticks, peer messages, client requests, control).
    pub inbox: mpsc::Sender<Input>,
    /// The node's latest status.
    pub view: watch::Receiver<NodeView>,
    /// The address it listens on.
    pub addr: SocketAddr,
    driver: JoinHandle<()>,
    server: JoinHandle<()>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl RunningNode {
    /// Stops the node: its driver ends at once (pending clients learn their outcome is unknown)
    /// and its server stops listening. Its storage is untouched.
    pub async fn stop(mut self) {
        self.driver.abort();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // Give in-flight requests a moment to finish, then cut them off: the port must be free
        // for a restart.
        if tokio::time::timeout(Duration::from_secs(2), &mut self.server)
            .await
            .is_err()
        {
            self.server.abort();
            let _ = (&mut self.server).await;
        }
        let _ = self.driver.await;
    }
}

/// Capacity of a node's inbox. Peer messages that find it full are dropped (the network lost
/// them); clients and ticks wait or retry.
pub const INBOX_CAPACITY: usize = 8192;

/// Starts a node: recovers its core from `storage`, binds its address (or takes `listener`,
/// already bound to it), spawns its driver and its gRPC server. Outbound peer messages go to
/// `outbox`; events to `events`.
pub async fn start(
    config: NodeConfig,
    storage: SharedStorage,
    listener: Option<tokio::net::TcpListener>,
    outbox: Outbox,
    events: EventBus,
) -> Result<RunningNode, NodeError> {
    let id = config.id();
    let addr = config.addr().ok_or(NodeError::NoAddress(id))?;
    let initial = {
        let guard = storage
            .lock()
            .map_err(|_| NodeError::Storage(raft::StorageError("storage lock poisoned".into())))?;
        guard.initial_state().map_err(NodeError::Storage)?
    };
    let mut raft_config = config.raft.clone();
    config.rules.apply(&mut raft_config);
    if !transport::fits_transport(&raft_config) {
        return Err(NodeError::TooBig);
    }
    let core = RaftNode::new(raft_config, initial).map_err(NodeError::Config)?;
    let listener = match listener {
        Some(l) => l,
        None => tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| NodeError::Bind(addr, e))?,
    };

    let (inbox_tx, inbox_rx) = mpsc::channel(INBOX_CAPACITY);
    let driver = driver::Driver::new(core, storage, outbox, events.clone(), config.snapshot)
        .map_err(NodeError::Snapshot)?
        .with_metrics(config.metrics.clone());
    let view_rx = driver.view();
    let driver = tokio::spawn(driver.run(inbox_rx));

    let raft_service = transport::RaftService::new(id, inbox_tx.clone());
    let kv_service = kv_service::KvService::new(
        id,
        inbox_tx.clone(),
        view_rx.clone(),
        config.addresses.clone(),
        config.client_timeout,
        events.clone(),
    )
    .with_unsafe_local_reads(config.rules.local_reads);
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .ok();
    let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
    // Our own listener, so tonic's `tcp_nodelay` (ignored by `serve_with_incoming`) must be set
    // here: with Nagle's algorithm on, a small answer (an ack, a Kv reply) can wait for the
    // peer's delayed ACK, tens of milliseconds.
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let router = tonic::transport::Server::builder()
        .add_service(
            pb::raft_server::RaftServer::new(raft_service)
                .max_decoding_message_size(MAX_GRPC_MESSAGE)
                .max_encoding_message_size(MAX_GRPC_MESSAGE),
        )
        .add_service(
            pb::kv_server::KvServer::new(kv_service).max_decoding_message_size(MAX_CLIENT_COMMAND),
        )
        .add_optional_service(reflection);
    let server = tokio::spawn(async move {
        let shutdown = async {
            let _ = shutdown_rx.await;
        };
        if let Err(e) = router
            .serve_with_incoming_shutdown(incoming, shutdown)
            .await
        {
            tracing::warn!(node = id, "server stopped: {e}");
        }
    });
    events.emit(id, EventKind::NodeUp);
    Ok(RunningNode {
        inbox: inbox_tx,
        view: view_rx,
        addr,
        driver,
        server,
        shutdown: Some(shutdown_tx),
    })
}
