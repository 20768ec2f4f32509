//! The cluster supervisor: starts N nodes on 127.0.0.1, owns the clock, the fault-injecting
//! network and the event bus, and can break anything on command.
//!
//! ```text
//!            ┌──────────── Cluster ─────────────────────────────────────────┐
//!  Control ─►│ kill / restart · partition / heal / links / slow · clock      │
//!            │   clock task ──Tick──► node 1 … node N ──outbox──► Network ───┼─► Raft.Stream
//!            │                        (driver + gRPC)          (in flight)   │
//!            │   EventBus ◄── trace events, messages, faults, client results │
//!            └───────────────────────────────────────────────────────────────┘
//! ```
//!
//! Storage outlives a node's process: killing a node stops its task and its server; restarting
//! it recovers from the same storage, on the same id and address.
//!
//! Membership changes at runtime: [`ClusterHandle::add_node`] starts a node on a new port and
//! has the leader add it as a learner, [`ClusterHandle::promote`] makes it a voter, and
//! [`ClusterHandle::remove_node`] has the leader remove a node, which is stopped and forgotten
//! (its id freed) once another node has committed the change.

pub mod clock;
pub mod control;
pub mod network;
pub mod preset;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use clock::Clock;
pub use network::{InFlightInfo, LinkPolicy, Network};
pub use preset::Preset;

use crate::node::{
    self, AddressBook, EventBus, EventKind, Input, NodeConfig, NodeError, NodeView, Outbox,
    RunningNode, SharedStorage, SnapshotPolicy,
};
pub use crate::node::{Rules, UnsafeRule};
use crate::raft::{ConfChange, Index, MemStorage, NodeId, Status};

/// Most nodes a cluster may have.
pub const MAX_NODES: usize = 9;

/// How to start a cluster.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// Number of nodes, 1 to [`MAX_NODES`].
    pub nodes: usize,
    /// Timing preset.
    pub preset: Preset,
    /// Seed of the cores' RNGs and of the network's random choices.
    pub seed: u64,
    /// Address to bind nodes on (port 0: ephemeral ports).
    pub host: std::net::IpAddr,
    /// Where the nodes keep their hard state and log.
    pub storage: StorageConfig,
    /// When nodes snapshot and compact their logs (the preset's default when `None`).
    pub snapshot: Option<SnapshotPolicy>,
    /// Which optional rules the nodes follow and which they break on purpose (see [`Rules`]).
    /// Fixed for the cluster's life: a restarted node gets the same rules.
    pub rules: Rules,
    /// Most entries in one AppendEntries (the core's default when `None`). One entry per
    /// message makes the schedules of Figure 8 reachable by hand.
    pub max_entries_per_append: Option<usize>,
}

/// Where the nodes keep their hard state and log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StorageConfig {
    /// In memory, shared between a node's incarnations: a killed node restarts from what it had
    /// persisted, but nothing survives the process.
    Memory,
    /// A WAL and a hard-state file per node, in `dir/node-<id>`; a restarted node re-opens and
    /// recovers them.
    Disk {
        /// The cluster's data directory.
        dir: std::path::PathBuf,
        /// Whether every write is fsynced.
        fsync: crate::storage::FsyncPolicy,
    },
}

impl StorageConfig {
    /// Opens (or creates) node `id`'s storage.
    pub fn open(&self, id: NodeId) -> Result<SharedStorage, crate::raft::StorageError> {
        let storage: Box<dyn crate::node::NodeStorage> = match self {
            StorageConfig::Memory => Box::new(MemStorage::new()),
            StorageConfig::Disk { dir, fsync } => {
                let disk = crate::storage::DiskStorage::open(
                    &dir.join(format!("node-{id}")),
                    crate::storage::DiskOptions {
                        fsync: *fsync,
                        ..Default::default()
                    },
                )?;
                for warning in disk.warnings() {
                    tracing::warn!(node = id, "recovery: {warning}");
                }
                Box::new(disk)
            }
        };
        Ok(Arc::new(Mutex::new(storage)))
    }

    /// A short description for logs and headers.
    pub fn describe(&self) -> String {
        match self {
            StorageConfig::Memory => "memory".to_string(),
            StorageConfig::Disk { dir, fsync } => format!(
                "disk at {} (fsync {})",
                dir.display(),
                match fsync {
                    crate::storage::FsyncPolicy::Always => "always",
                    crate::storage::FsyncPolicy::Never => "never: UNSAFE",
                }
            ),
        }
    }
}

impl ClusterConfig {
    /// `nodes` nodes with the given preset on 127.0.0.1.
    pub fn new(nodes: usize, preset: Preset) -> Self {
        ClusterConfig {
            nodes,
            preset,
            seed: 0,
            host: std::net::Ipv4Addr::LOCALHOST.into(),
            storage: StorageConfig::Memory,
            snapshot: None,
            rules: Rules::default(),
            max_entries_per_append: None,
        }
    }

    /// The core configuration of node `id` among `voters`: the preset's, with the cluster's
    /// own limits.
    pub fn raft_config(&self, id: NodeId, voters: Vec<NodeId>) -> crate::raft::Config {
        let mut c = self.preset.raft_config(id, voters, self.seed);
        if let Some(n) = self.max_entries_per_append {
            c.max_entries_per_append = n.max(1);
        }
        c
    }

    /// The snapshot policy in force: the configured one, or the preset's.
    pub fn snapshot_policy(&self) -> SnapshotPolicy {
        self.snapshot
            .unwrap_or_else(|| self.preset.snapshot_policy())
    }
}

/// Why a cluster operation failed.
#[derive(Debug)]
pub enum ClusterError {
    /// The requested size is out of range.
    Size(usize),
    /// No such node.
    UnknownNode(NodeId),
    /// The node is already running.
    AlreadyUp(NodeId),
    /// The node is already stopped.
    AlreadyDown(NodeId),
    /// A node failed to start.
    Node(NodeId, NodeError),
    /// Binding a port failed.
    Io(std::io::Error),
    /// A node refused an operation, and why (e.g. nothing new to snapshot).
    Refused(NodeId, String),
    /// The operation needs a leader and no running node leads.
    NoLeader,
    /// Every node id (1 to [`MAX_NODES`]) is taken.
    Full,
}

impl std::fmt::Display for ClusterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClusterError::Size(n) => write!(f, "a cluster has 1 to {MAX_NODES} nodes, not {n}"),
            ClusterError::UnknownNode(id) => write!(f, "no node {id}"),
            ClusterError::AlreadyUp(id) => write!(f, "node {id} is already up"),
            ClusterError::AlreadyDown(id) => write!(f, "node {id} is already down"),
            ClusterError::Node(id, e) => write!(f, "node {id}: {e}"),
            ClusterError::Io(e) => write!(f, "{e}"),
            ClusterError::Refused(id, why) => write!(f, "node {id}: {why}"),
            ClusterError::NoLeader => write!(f, "no node leads right now"),
            ClusterError::Full => write!(f, "the cluster already has {MAX_NODES} nodes"),
        }
    }
}

impl std::error::Error for ClusterError {}

/// What the supervisor knows about one node.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NodeState {
    /// Its id.
    pub id: NodeId,
    /// Where its Raft and Kv services listen.
    pub addr: SocketAddr,
    /// Whether its process runs.
    pub up: bool,
    /// Its last published status (as of when it went down, if down).
    pub status: Status,
    /// Keys in its state machine.
    pub kv_len: usize,
    /// Its clock rate.
    pub clock_rate: f64,
    /// Extra delay on its links.
    pub slow: Duration,
}

/// Everything the supervisor knows, in one snapshot.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClusterStatus {
    /// Each node.
    pub nodes: Vec<NodeState>,
    /// Whether the clock and network are paused.
    pub paused: bool,
    /// The clock's speed factor.
    pub speed: f64,
    /// The preset.
    pub preset: Preset,
    /// Current length of a tick.
    pub tick: Duration,
    /// Partition groups, largest first (one group when healed).
    pub groups: Vec<Vec<NodeId>>,
    /// Directed links that are cut (by a partition or a link policy).
    pub cut_links: Vec<(NodeId, NodeId)>,
}

impl ClusterStatus {
    /// The leader of the highest term among running nodes, if any.
    pub fn leader(&self) -> Option<NodeId> {
        self.nodes
            .iter()
            .filter(|n| n.up && n.status.role == crate::raft::Role::Leader)
            .max_by_key(|n| n.status.term)
            .map(|n| n.id)
    }
}

struct Slot {
    running: Option<RunningNode>,
    view: watch::Receiver<NodeView>,
}

struct Inner {
    config: ClusterConfig,
    /// Every node the supervisor runs or keeps down; grows and shrinks with membership changes.
    node_configs: Mutex<BTreeMap<NodeId, NodeConfig>>,
    addresses: AddressBook,
    /// Held while a node is being added or forgotten, so that two additions never pick one id.
    membership: tokio::sync::Mutex<()>,
    storages: Mutex<BTreeMap<NodeId, SharedStorage>>,
    slots: tokio::sync::Mutex<BTreeMap<NodeId, Slot>>,
    inboxes: Mutex<BTreeMap<NodeId, mpsc::Sender<Input>>>,
    views: Mutex<BTreeMap<NodeId, watch::Receiver<NodeView>>>,
    up: Mutex<BTreeMap<NodeId, bool>>,
    network: Arc<Network>,
    clock: Arc<Clock>,
    events: EventBus,
    outbox: Outbox,
}

/// A running cluster. It dereferences to a [`ClusterHandle`] with every operation.
pub struct Cluster {
    handle: ClusterHandle,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("nodes", &self.handle.ids())
            .finish()
    }
}

impl Cluster {
    /// Starts every node on its own ephemeral port, the network and the clock.
    pub async fn start(config: ClusterConfig) -> Result<Cluster, ClusterError> {
        if config.nodes == 0 || config.nodes > MAX_NODES {
            return Err(ClusterError::Size(config.nodes));
        }
        let ids: Vec<NodeId> = (1..=config.nodes as NodeId).collect();
        // Bind every port first: each node must know every address before any starts.
        let mut listeners = BTreeMap::new();
        let addresses = AddressBook::default();
        for id in &ids {
            let l = tokio::net::TcpListener::bind(SocketAddr::new(config.host, 0))
                .await
                .map_err(ClusterError::Io)?;
            addresses.insert(*id, l.local_addr().map_err(ClusterError::Io)?);
            listeners.insert(*id, l);
        }
        let events = EventBus::new(65_536);
        let (base_delay, base_jitter) = config.preset.link_delay();
        let network = Arc::new(Network::new(
            addresses.clone(),
            base_delay,
            base_jitter,
            config.seed,
            events.clone(),
        ));
        let clock = Arc::new(Clock::new(config.preset.tick()));
        let outbox_tx = network.outbox();
        let node_configs: BTreeMap<NodeId, NodeConfig> = ids
            .iter()
            .map(|id| {
                (
                    *id,
                    NodeConfig {
                        raft: config.raft_config(*id, ids.clone()),
                        addresses: addresses.clone(),
                        client_timeout: config.preset.client_timeout(),
                        snapshot: config.snapshot_policy(),
                        rules: config.rules,
                        metrics: Default::default(),
                    },
                )
            })
            .collect();
        let mut storages: BTreeMap<NodeId, SharedStorage> = BTreeMap::new();
        for id in &ids {
            let s = config
                .storage
                .open(*id)
                .map_err(|e| ClusterError::Node(*id, NodeError::Storage(e)))?;
            storages.insert(*id, s);
        }

        let mut slots = BTreeMap::new();
        let mut inboxes = BTreeMap::new();
        let mut views = BTreeMap::new();
        let mut up = BTreeMap::new();
        for id in &ids {
            let running = node::start(
                node_configs[id].clone(),
                storages[id].clone(),
                listeners.remove(id),
                outbox_tx.clone(),
                events.clone(),
            )
            .await
            .map_err(|e| ClusterError::Node(*id, e))?;
            inboxes.insert(*id, running.inbox.clone());
            views.insert(*id, running.view.clone());
            up.insert(*id, true);
            slots.insert(
                *id,
                Slot {
                    view: running.view.clone(),
                    running: Some(running),
                },
            );
        }
        let inner = Arc::new(Inner {
            config,
            node_configs: Mutex::new(node_configs.clone()),
            addresses,
            membership: tokio::sync::Mutex::new(()),
            storages: Mutex::new(storages.clone()),
            slots: tokio::sync::Mutex::new(slots),
            inboxes: Mutex::new(inboxes),
            views: Mutex::new(views),
            up: Mutex::new(up),
            network: network.clone(),
            clock,
            events,
            outbox: outbox_tx,
        });
        let tasks = vec![
            tokio::spawn(network.run()),
            tokio::spawn(clock_task(inner.clone())),
        ];
        Ok(Cluster {
            handle: ClusterHandle { inner },
            tasks,
        })
    }

    /// A handle for services (Control) that outlive borrows of the cluster.
    pub fn handle(&self) -> ClusterHandle {
        self.handle.clone()
    }

    /// Stops every node and the cluster's tasks. Ports are released when this returns.
    pub async fn shutdown(self) {
        let mut slots = self.handle.inner.slots.lock().await;
        for slot in slots.values_mut() {
            if let Some(running) = slot.running.take() {
                running.stop().await;
            }
        }
        drop(slots);
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

impl std::ops::Deref for Cluster {
    type Target = ClusterHandle;

    fn deref(&self) -> &ClusterHandle {
        &self.handle
    }
}

/// A cheap, cloneable handle to a running cluster: every operation of the supervisor.
#[derive(Clone)]
pub struct ClusterHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for ClusterHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterHandle").finish_non_exhaustive()
    }
}

impl ClusterHandle {
    /// Ids of all nodes (up or down), in order. Changes when nodes are added or removed.
    pub fn ids(&self) -> Vec<NodeId> {
        self.configs().keys().copied().collect()
    }

    /// The address of a node's services.
    pub fn addr(&self, id: NodeId) -> Option<SocketAddr> {
        self.inner.addresses.get(id)
    }

    fn configs(&self) -> std::sync::MutexGuard<'_, BTreeMap<NodeId, NodeConfig>> {
        self.inner
            .node_configs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A node's bench counters (persist batches, AppendEntries sent) since the cluster started;
    /// they survive kill and restart.
    pub fn metrics(&self, id: NodeId) -> Option<crate::node::metrics::MetricsSnapshot> {
        Some(self.configs().get(&id)?.metrics.snapshot())
    }

    /// The cluster's preset.
    pub fn preset(&self) -> Preset {
        self.inner.config.preset
    }

    /// The rules every node follows (set when the cluster started).
    pub fn rules(&self) -> Rules {
        self.inner.config.rules
    }

    /// The event bus (subscribe to see everything that happens).
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// The network, for its faults and messages in flight.
    pub fn network(&self) -> &Network {
        &self.inner.network
    }

    /// The clock.
    pub fn clock(&self) -> &Clock {
        &self.inner.clock
    }

    fn fault(&self, what: String) {
        tracing::info!("{what}");
        self.inner.events.emit(0, EventKind::Fault(what));
    }

    fn check(&self, id: NodeId) -> Result<(), ClusterError> {
        if self.configs().contains_key(&id) {
            Ok(())
        } else {
            Err(ClusterError::UnknownNode(id))
        }
    }

    /// A snapshot of every node and of the clock and network settings.
    pub fn status(&self) -> ClusterStatus {
        let configs = self.configs().clone();
        let views = self.inner.views.lock().unwrap_or_else(|p| p.into_inner());
        let up = self.inner.up.lock().unwrap_or_else(|p| p.into_inner());
        let nodes = configs
            .iter()
            .filter_map(|(id, cfg)| {
                let view = views.get(id)?.borrow().clone();
                Some(NodeState {
                    id: *id,
                    addr: cfg.addr()?,
                    up: up.get(id).copied().unwrap_or(false),
                    status: view.status,
                    kv_len: view.kv_len,
                    clock_rate: self.inner.clock.rate(*id),
                    slow: self.inner.network.slow(*id),
                })
            })
            .collect();
        ClusterStatus {
            nodes,
            paused: self.inner.clock.is_paused(),
            speed: self.inner.clock.speed(),
            preset: self.inner.config.preset,
            tick: self.inner.clock.interval(),
            groups: self.inner.network.groups(),
            cut_links: self.cut_links(),
        }
    }

    fn cut_links(&self) -> Vec<(NodeId, NodeId)> {
        let ids = self.ids();
        let mut cut = Vec::new();
        for a in &ids {
            for b in &ids {
                if a != b && !self.inner.network.connected(*a, *b) {
                    cut.push((*a, *b));
                }
            }
        }
        cut
    }

    /// Whether a node's process runs.
    pub fn is_up(&self, id: NodeId) -> bool {
        let up = self.inner.up.lock().unwrap_or_else(|p| p.into_inner());
        up.get(&id).copied().unwrap_or(false)
    }

    /// Kills a node: its task and its server stop; its storage stays.
    pub async fn kill(&self, id: NodeId) -> Result<(), ClusterError> {
        self.check(id)?;
        let mut slots = self.inner.slots.lock().await;
        let slot = slots.get_mut(&id).ok_or(ClusterError::UnknownNode(id))?;
        let running = slot.running.take().ok_or(ClusterError::AlreadyDown(id))?;
        self.inner
            .inboxes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
        self.inner
            .up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, false);
        running.stop().await;
        self.inner
            .events
            .emit(id, EventKind::NodeDown("killed".into()));
        self.fault(format!("kill node {id}"));
        Ok(())
    }

    /// Restarts a killed node from its storage, on the same id and address.
    pub async fn restart(&self, id: NodeId) -> Result<(), ClusterError> {
        self.check(id)?;
        let mut slots = self.inner.slots.lock().await;
        let slot = slots.get_mut(&id).ok_or(ClusterError::UnknownNode(id))?;
        if slot.running.is_some() {
            return Err(ClusterError::AlreadyUp(id));
        }
        // On disk, a restart recovers from the files, not from what the old process held.
        let storage = match &self.inner.config.storage {
            StorageConfig::Memory => self
                .inner
                .storages
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&id)
                .cloned()
                .ok_or(ClusterError::UnknownNode(id))?,
            disk => {
                let s = disk
                    .open(id)
                    .map_err(|e| ClusterError::Node(id, NodeError::Storage(e)))?;
                self.inner
                    .storages
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id, s.clone());
                s
            }
        };
        let config = self
            .configs()
            .get(&id)
            .cloned()
            .ok_or(ClusterError::UnknownNode(id))?;
        let running = node::start(
            config,
            storage,
            None,
            self.inner.outbox.clone(),
            self.inner.events.clone(),
        )
        .await
        .map_err(|e| ClusterError::Node(id, e))?;
        self.inner
            .inboxes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, running.inbox.clone());
        self.inner
            .views
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, running.view.clone());
        self.inner
            .up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, true);
        slot.view = running.view.clone();
        slot.running = Some(running);
        self.fault(format!("restart node {id}"));
        Ok(())
    }

    /// Splits the nodes into groups that cannot talk to each other; unlisted nodes are each
    /// alone.
    pub fn partition(&self, groups: &[Vec<NodeId>]) -> Result<(), ClusterError> {
        for g in groups {
            for id in g {
                self.check(*id)?;
            }
        }
        self.inner.network.partition(groups);
        self.fault(format!("partition {groups:?}"));
        Ok(())
    }

    /// Cuts a node off from all others.
    pub fn isolate(&self, id: NodeId) -> Result<(), ClusterError> {
        self.check(id)?;
        self.inner.network.isolate(id);
        self.fault(format!("isolate node {id}"));
        Ok(())
    }

    /// Clears every network fault (partitions, link policies, slow nodes) and clock drift.
    pub fn heal(&self) {
        self.inner.network.heal();
        self.inner.clock.reset_rates();
        self.fault("heal: network and clocks restored".into());
    }

    /// Sets the policy of the directed link `from → to`.
    pub fn set_link(
        &self,
        from: NodeId,
        to: NodeId,
        policy: LinkPolicy,
    ) -> Result<(), ClusterError> {
        self.check(from)?;
        self.check(to)?;
        let policy = LinkPolicy {
            drop_rate: if policy.drop_rate.is_finite() {
                policy.drop_rate.clamp(0.0, 1.0)
            } else {
                0.0
            },
            ..policy
        };
        self.inner.network.set_link(from, to, policy);
        self.fault(format!(
            "link {from}->{to}: {} delay {} ms jitter {} ms drop {:.0}%",
            if policy.cut { "cut," } else { "up," },
            policy.delay.as_millis(),
            policy.jitter.as_millis(),
            policy.drop_rate * 100.0
        ));
        Ok(())
    }

    /// Adds `delay` to every link to and from a node (zero: back to normal).
    pub fn slow(&self, id: NodeId, delay: Duration) -> Result<(), ClusterError> {
        self.check(id)?;
        self.inner.network.set_slow(id, delay);
        self.fault(format!(
            "slow node {id}: +{} ms per message",
            delay.as_millis()
        ));
        Ok(())
    }

    /// Sets a node's clock rate (drift); returns the rate applied after clamping.
    pub fn set_clock_rate(&self, id: NodeId, rate: f64) -> Result<f64, ClusterError> {
        self.check(id)?;
        let rate = self.inner.clock.set_rate(id, rate);
        self.fault(format!("clock of node {id} runs at {rate}x"));
        Ok(rate)
    }

    /// Sets the speed factor (tick length multiplier); returns the factor applied.
    pub fn set_speed(&self, speed: f64) -> f64 {
        let speed = self.inner.clock.set_speed(speed);
        self.fault(format!("speed {speed}x tick length"));
        speed
    }

    /// Pauses time: no ticks, and every message stays in flight.
    pub fn pause(&self) {
        self.inner.clock.set_paused(true);
        self.inner.network.pause();
        self.fault("paused".into());
        // Cluster time stops after the "paused" event is stamped.
        self.inner.events.pause();
    }

    /// Resumes time.
    pub fn resume(&self) {
        self.inner.events.resume();
        self.inner.clock.set_paused(false);
        self.inner.network.resume();
        self.fault("resumed".into());
    }

    /// One step while paused: delivers the earliest-due message in flight or, if none, gives
    /// every node one tick. Returns what it did.
    pub fn step(&self) -> String {
        match self.inner.network.step() {
            Some(what) => format!("delivered {what}"),
            None => {
                self.tick_all();
                "tick".to_string()
            }
        }
    }

    fn tick_all(&self) {
        let inboxes: Vec<(NodeId, mpsc::Sender<Input>)> = self
            .inner
            .inboxes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(id, tx)| (*id, tx.clone()))
            .collect();
        let ids: Vec<NodeId> = inboxes.iter().map(|(id, _)| *id).collect();
        let ticks = self.inner.clock.ticks_for(&ids);
        for ((_, tx), (_, n)) in inboxes.iter().zip(ticks) {
            for _ in 0..n {
                let _ = tx.try_send(Input::Tick);
            }
        }
    }

    async fn send(&self, id: NodeId, input: Input) -> Result<(), ClusterError> {
        self.check(id)?;
        let tx = self
            .inner
            .inboxes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&id)
            .cloned()
            .ok_or(ClusterError::AlreadyDown(id))?;
        tx.send(input)
            .await
            .map_err(|_| ClusterError::AlreadyDown(id))
    }

    /// Makes a node time out now.
    pub async fn campaign(&self, id: NodeId) -> Result<(), ClusterError> {
        self.send(id, Input::Campaign).await?;
        self.fault(format!("node {id} times out now"));
        Ok(())
    }

    /// Asks the leader to hand leadership over to node `to` (thesis §3.10): the leader brings
    /// `to` up to date, then sends it TimeoutNow; it takes no proposals meanwhile, and gives up
    /// after an election timeout. Returns the leader that started the transfer. The transfer
    /// itself completes (or aborts) later: watch the status or the events.
    pub async fn transfer(&self, to: NodeId) -> Result<NodeId, ClusterError> {
        self.check(to)?;
        let leader = self.status().leader().ok_or(ClusterError::NoLeader)?;
        let (tx, rx) = oneshot::channel();
        self.send(leader, Input::Transfer { to, reply: tx }).await?;
        rx.await
            .map_err(|_| ClusterError::AlreadyDown(leader))?
            .map_err(|e| ClusterError::Refused(leader, e.to_string()))?;
        self.fault(format!("node {leader} transfers leadership to node {to}"));
        Ok(leader)
    }

    // ------------------------------------------------------------------------------------------
    // Membership
    // ------------------------------------------------------------------------------------------

    /// Proposes a membership change at the leader; returns the leader and the index of the
    /// configuration entry.
    async fn change_config(&self, change: ConfChange) -> Result<(NodeId, Index), ClusterError> {
        let leader = self.status().leader().ok_or(ClusterError::NoLeader)?;
        let (tx, rx) = oneshot::channel();
        self.send(leader, Input::ChangeConfig { change, reply: tx })
            .await?;
        let index = rx
            .await
            .map_err(|_| ClusterError::AlreadyDown(leader))?
            .map_err(|e| ClusterError::Refused(leader, e.to_string()))?;
        Ok((leader, index))
    }

    /// Starts a new node on a new port and asks the leader to add it as a learner: it receives
    /// the log (or a snapshot) but neither votes nor counts toward a majority until promoted
    /// with [`ClusterHandle::promote`]. The new node takes the lowest free id and starts with an
    /// empty log and no configuration: it learns both from the leader. Returns its id and the
    /// index of the configuration entry (in force at once, final once committed).
    pub async fn add_node(&self) -> Result<(NodeId, Index), ClusterError> {
        let _serial = self.inner.membership.lock().await;
        self.status().leader().ok_or(ClusterError::NoLeader)?;
        let id = {
            let configs = self.configs();
            (1..=MAX_NODES as NodeId)
                .find(|id| !configs.contains_key(id))
                .ok_or(ClusterError::Full)?
        };
        let listener = tokio::net::TcpListener::bind(SocketAddr::new(self.inner.config.host, 0))
            .await
            .map_err(ClusterError::Io)?;
        let addr = listener.local_addr().map_err(ClusterError::Io)?;
        // A removed node's files must not come back under its reused id.
        if let StorageConfig::Disk { dir, .. } = &self.inner.config.storage {
            let old = dir.join(format!("node-{id}"));
            if old.exists() {
                std::fs::remove_dir_all(&old).map_err(ClusterError::Io)?;
            }
        }
        let storage = self
            .inner
            .config
            .storage
            .open(id)
            .map_err(|e| ClusterError::Node(id, NodeError::Storage(e)))?;
        let preset = self.inner.config.preset;
        let config = NodeConfig {
            // No voters: a joining server knows no configuration until the leader's log or
            // snapshot gives it one, so it never campaigns on its own.
            raft: self.inner.config.raft_config(id, Vec::new()),
            addresses: self.inner.addresses.clone(),
            client_timeout: preset.client_timeout(),
            snapshot: self.inner.config.snapshot_policy(),
            rules: self.inner.config.rules,
            metrics: Default::default(),
        };
        self.inner.addresses.insert(id, addr);
        self.inner.network.add_node(id);
        let running = match node::start(
            config.clone(),
            storage.clone(),
            Some(listener),
            self.inner.outbox.clone(),
            self.inner.events.clone(),
        )
        .await
        {
            Ok(running) => running,
            Err(e) => {
                self.inner.addresses.remove(id);
                self.inner.network.remove_node(id);
                return Err(ClusterError::Node(id, e));
            }
        };
        self.lock(&self.inner.storages).insert(id, storage);
        self.lock(&self.inner.inboxes)
            .insert(id, running.inbox.clone());
        self.lock(&self.inner.views)
            .insert(id, running.view.clone());
        self.lock(&self.inner.up).insert(id, true);
        self.configs().insert(id, config);
        self.inner.slots.lock().await.insert(
            id,
            Slot {
                view: running.view.clone(),
                running: Some(running),
            },
        );
        match self.change_config(ConfChange::AddLearner(id)).await {
            Ok((leader, index)) => {
                self.fault(format!(
                    "add node {id} at {addr}: node {leader} adds it as a learner (entry {index})"
                ));
                Ok((id, index))
            }
            Err(e) => {
                // Nobody knows the new node yet: take it away again.
                self.forget(id).await;
                Err(e)
            }
        }
    }

    /// Asks the leader to make learner `id` a voter. Refused while its log is far behind the
    /// leader's (let it catch up first). Returns the index of the configuration entry.
    pub async fn promote(&self, id: NodeId) -> Result<Index, ClusterError> {
        self.check(id)?;
        let _serial = self.inner.membership.lock().await;
        let (leader, index) = self.change_config(ConfChange::PromoteLearner(id)).await?;
        self.fault(format!(
            "node {leader} promotes learner {id} to voter (entry {index})"
        ));
        Ok(index)
    }

    /// Asks the leader to remove node `id` (a voter, a learner, or the leader itself, which
    /// steps down once the change commits). Returns the index of the configuration entry, or
    /// `None` when the leader's configuration no longer had the node (it is forgotten at once).
    /// Once another server has committed a configuration without `id`, the node is stopped and
    /// forgotten: its id leaves [`ClusterHandle::ids`] and may be reused by [`Self::add_node`].
    pub async fn remove_node(&self, id: NodeId) -> Result<Option<Index>, ClusterError> {
        self.check(id)?;
        let _serial = self.inner.membership.lock().await;
        let status = self.status();
        let leader = status.leader().ok_or(ClusterError::NoLeader)?;
        let member = status
            .nodes
            .iter()
            .find(|n| n.id == leader)
            .is_some_and(|n| n.status.voters.contains(&id) || n.status.learners.contains(&id));
        if !member {
            self.forget(id).await;
            self.fault(format!("node {id} is no member: forgotten"));
            return Ok(None);
        }
        let (leader, index) = self.change_config(ConfChange::RemoveServer(id)).await?;
        self.fault(format!(
            "node {leader} removes node {id} (entry {index}); it leaves once that commits"
        ));
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            // Polls until the removal is committed somewhere other than on `id` itself.
            loop {
                tokio::time::sleep(Duration::from_millis(20)).await;
                let Some(inner) = weak.upgrade() else { return };
                let handle = ClusterHandle { inner };
                if !handle.configs().contains_key(&id) {
                    return;
                }
                let committed = handle.status().nodes.iter().any(|n| {
                    n.id != id
                        && n.up
                        && n.status.commit >= index
                        && !n.status.conf_pending
                        && !n.status.voters.contains(&id)
                        && !n.status.learners.contains(&id)
                });
                if committed {
                    let _serial = handle.inner.membership.lock().await;
                    handle.forget(id).await;
                    handle.fault(format!("node {id} left the cluster and was stopped"));
                    return;
                }
            }
        });
        Ok(Some(index))
    }

    /// Stops node `id` if it runs and drops everything the supervisor and the network know of
    /// it. Its storage goes too.
    async fn forget(&self, id: NodeId) {
        let running = self
            .inner
            .slots
            .lock()
            .await
            .remove(&id)
            .and_then(|s| s.running);
        self.lock(&self.inner.inboxes).remove(&id);
        if let Some(running) = running {
            running.stop().await;
            self.inner
                .events
                .emit(id, EventKind::NodeDown("removed".into()));
        }
        self.configs().remove(&id);
        self.lock(&self.inner.views).remove(&id);
        self.lock(&self.inner.up).remove(&id);
        self.lock(&self.inner.storages).remove(&id);
        self.inner.addresses.remove(id);
        self.inner.network.remove_node(id);
        self.inner.clock.forget(id);
    }

    fn lock<'a, T>(&self, m: &'a Mutex<T>) -> std::sync::MutexGuard<'a, T> {
        m.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Makes a node snapshot its state machine now and compact its log up to its applied index.
    pub async fn snapshot(&self, id: NodeId) -> Result<crate::raft::SnapshotMeta, ClusterError> {
        let (tx, rx) = oneshot::channel();
        self.send(id, Input::Snapshot(tx)).await?;
        let meta = rx
            .await
            .map_err(|_| ClusterError::AlreadyDown(id))?
            .map_err(|why| ClusterError::Refused(id, why))?;
        self.fault(format!(
            "node {id} snapshots: log compacted up to {}/{}",
            meta.index, meta.term
        ));
        Ok(meta)
    }

    /// Sets a node's running election timeout, in ticks.
    pub async fn set_election_timeout(&self, id: NodeId, ticks: u32) -> Result<(), ClusterError> {
        self.send(id, Input::SetElectionTimeout(ticks)).await
    }

    /// The key-value contents a running node has applied.
    pub async fn kv(&self, id: NodeId) -> Result<Vec<(String, String)>, ClusterError> {
        let (tx, rx) = oneshot::channel();
        self.send(id, Input::ReadKv(tx)).await?;
        rx.await.map_err(|_| ClusterError::AlreadyDown(id))
    }

    /// The (index, term) of a running node's log entries `lo..=hi`.
    pub async fn log_terms(
        &self,
        id: NodeId,
        lo: crate::raft::Index,
        hi: crate::raft::Index,
    ) -> Result<Vec<(crate::raft::Index, crate::raft::Term)>, ClusterError> {
        let (tx, rx) = oneshot::channel();
        self.send(id, Input::ReadLog { lo, hi, reply: tx }).await?;
        rx.await.map_err(|_| ClusterError::AlreadyDown(id))
    }

    /// Messages in flight.
    pub fn in_flight(&self) -> Vec<InFlightInfo> {
        self.inner.network.in_flight()
    }

    /// Drops a message in flight.
    pub fn drop_message(&self, id: u64) -> bool {
        self.inner.network.drop_message(id)
    }

    /// Duplicates a message in flight; returns the copy's id.
    pub fn duplicate_message(&self, id: u64) -> Option<u64> {
        self.inner.network.duplicate_message(id)
    }

    /// Delivers a message in flight now.
    pub fn deliver_message(&self, id: u64) -> bool {
        self.inner.network.deliver_message(id)
    }
}

/// Ticks every running node once per clock interval (times its rate), unless paused.
async fn clock_task(inner: Arc<Inner>) {
    let handle = ClusterHandle { inner };
    loop {
        if handle.inner.clock.is_paused() {
            handle.inner.clock.changed.notified().await;
            continue;
        }
        let interval = handle.inner.clock.interval();
        tokio::select! {
            _ = tokio::time::sleep(interval) => handle.tick_all(),
            _ = handle.inner.clock.changed.notified() => {}
        }
    }
}
