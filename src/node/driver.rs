//! The driver loop of one node: take inputs, step the core, then carry out its `Ready` —
//! persist, send, apply, answer the clients waiting on applied entries, publish the status.
//!
//! Each turn takes one input and then whatever else is already queued (up to a bound), so that
//! proposals arriving together share one persist and one round of AppendEntries.
//!
//! Reads (`Get`) do not go through the log: they use ReadIndex (thesis §6.4). The driver asks the
//! core for a read index under a fresh context number, waits for the matching `ReadState` in a
//! Ready (the leader confirmed it still leads), then for the state machine to have applied that
//! index, and answers from the store:
//!
//! ```text
//!   Input::Read ─► core.read_index(ctx) ─┬─ NotLeader ──────────► ClientError::NotLeader (forwarded)
//!                                        ├─ NoCommitInTerm ─────► retried every tick (new leader)
//!                                        └─ Ok: waits for Ready.read_states ∋ ctx
//!                                                 │ ReadsDropped (stepped down) ─► NotLeader
//!                                                 ▼
//!                                  applied ≥ index ─► value from the store
//! ```
//!
//! Snapshots: after applying, the driver compacts the log when the [`SnapshotPolicy`] says so.
//! Serializing a large store and writing its file take long, so both happen off the node's
//! task: the driver clones the store (constant time: its maps are persistent) at the applied
//! index, asks the core what the snapshot there will record (its term and configuration), and a
//! blocking task serializes the clone and, with disk storage, writes and syncs the file under a
//! temporary name ([`NodeStorage::snapshot_stager`](super::NodeStorage::snapshot_stager)) while
//! the node goes on. When that is done the driver hands the bytes to the core (which drops the
//! entries up to that index) and has the storage put the file into use, which removes the WAL
//! segments it covers. A snapshot that a newer one overtook meanwhile (taken on command, or
//! installed from the leader) is dropped, its file with it. [`Input::Snapshot`] snapshots at
//! once, on the task, as its caller waits for the result. A snapshot installed from the leader
//! arrives in a Ready: it is stored first (on the task: it must be durable before the entries
//! after it), and the state machine is restored from it before those entries are applied.
//!
//! ```text
//!   applied ≥ policy ─► kv.clone() at index i, core.snapshot_at(i) ─► spawn_blocking: serialize,
//!                                                                     stage the file (disk)
//!                                        … node goes on …                   │
//!                                                                           ▼
//!                i > snapshot index? ─ yes ─► core.compact(i, bytes) ─► storage installs the file
//!                                    └─ no ──► dropped, staged file deleted (overtaken)
//! ```

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot, watch};

use super::{
    Applied, ClientError, EventBus, EventKind, Input, NodeView, ReadRequest, SharedStorage,
    SnapshotPolicy,
};
use crate::raft::{
    EntryKind, Index, RaftNode, ReadIndexError, ReadState, Ready, Snapshot, SnapshotMeta,
    StorageError, Term, TraceEvent,
};
use crate::state_machine::kv::KvStore;
use crate::state_machine::StateMachine;
use crate::storage::StagedSnapshot;

/// Inputs taken per turn before the Ready is drained.
const BATCH: usize = 512;

struct Pending {
    term: Term,
    reply: oneshot::Sender<Result<Applied, ClientError>>,
}

/// Reads in their three stages: refused for now (a new leader without a commit in its term),
/// waiting for the core's confirmation, confirmed and waiting for the state machine.
#[derive(Default)]
struct Reads {
    next_ctx: u64,
    /// Refused with `NoCommitInTerm`: asked again on every tick.
    retry: Vec<ReadRequest>,
    /// Asked, by context.
    asked: HashMap<u64, ReadRequest>,
    /// Confirmed at their read index.
    confirmed: Vec<(Index, ReadRequest)>,
}

/// A snapshot being serialized (and staged) off the node's task.
struct Serializing {
    /// The applied index the store was cloned at.
    index: Index,
    /// Time the task spent starting it (cloning the store, spawning the serialization).
    started_in: Duration,
    task: tokio::task::JoinHandle<Serialized>,
}

/// What the blocking task made of a snapshot.
struct Serialized {
    /// The snapshot, as the core will record it.
    snapshot: Snapshot,
    /// Its file, written ahead (storage that writes files only).
    staged: Option<Result<StagedSnapshot, StorageError>>,
    serialized_in: Duration,
    staged_in: Duration,
}

/// What woke the driver.
enum Wake {
    Input(Input),
    /// The serialization of a snapshot ended (or its task panicked).
    Serialized(Result<Serialized, tokio::task::JoinError>),
    /// Every sender of the inbox is gone.
    Closed,
}

/// The state owned by a node's task.
pub struct Driver {
    core: RaftNode,
    storage: SharedStorage,
    kv: KvStore,
    outbox: super::Outbox,
    events: EventBus,
    pending: BTreeMap<Index, Pending>,
    view: watch::Sender<NodeView>,
    policy: SnapshotPolicy,
    /// Command bytes applied since the last snapshot (or the one being serialized).
    bytes_since_snapshot: u64,
    /// The snapshot being serialized, if any (at most one at a time).
    serializing: Option<Serializing>,
    reads: Reads,
    /// Bench counters (see [`super::metrics`]).
    metrics: std::sync::Arc<super::metrics::NodeMetrics>,
    /// A storage write failed outside the Ready loop (a snapshot asked for by Control): the node
    /// stops at the end of this turn, as when a persist fails.
    storage_failed: Option<String>,
}

impl Driver {
    /// A driver around a recovered core. The state machine starts from the core's snapshot (or
    /// empty) and is rebuilt by applying the committed log after it again.
    pub fn new(
        core: RaftNode,
        storage: SharedStorage,
        outbox: super::Outbox,
        events: EventBus,
        policy: SnapshotPolicy,
    ) -> Result<Self, String> {
        let mut kv = KvStore::new();
        if let Some(snapshot) = core.snapshot() {
            kv.restore(snapshot.meta.index, &snapshot.data)
                .map_err(|e| format!("snapshot {}: {e}", snapshot.meta.index))?;
        }
        let status = core.status();
        let (view, _) = watch::channel(NodeView {
            status,
            kv_len: kv.len(),
        });
        Ok(Driver {
            core,
            storage,
            kv,
            outbox,
            events,
            pending: BTreeMap::new(),
            view,
            policy,
            bytes_since_snapshot: 0,
            serializing: None,
            reads: Reads::default(),
            metrics: Default::default(),
            storage_failed: None,
        })
    }

    /// Bumps `metrics` (shared with the cluster) instead of private counters.
    pub fn with_metrics(mut self, metrics: std::sync::Arc<super::metrics::NodeMetrics>) -> Self {
        self.metrics = metrics;
        self
    }

    /// A reader of the node's published view.
    pub fn view(&self) -> watch::Receiver<NodeView> {
        self.view.subscribe()
    }

    /// Runs until the inbox closes or storage fails.
    pub async fn run(mut self, mut inbox: mpsc::Receiver<Input>) {
        let id = self.core.id();
        self.publish();
        loop {
            let wake = tokio::select! {
                input = inbox.recv() => input.map_or(Wake::Closed, Wake::Input),
                done = async {
                    match self.serializing.as_mut() {
                        Some(s) => (&mut s.task).await,
                        None => std::future::pending().await,
                    }
                } => Wake::Serialized(done),
            };
            let turn = match wake {
                Wake::Closed => return,
                Wake::Input(first) => {
                    self.handle(first);
                    for _ in 0..BATCH {
                        match inbox.try_recv() {
                            Ok(input) => self.handle(input),
                            Err(_) => break,
                        }
                    }
                    Ok(())
                }
                Wake::Serialized(done) => self.finish_snapshot(done),
            };
            // A failed storage write is fatal: nothing that depends on it may be sent or
            // acknowledged, and the write is not retried (a failed fsync may have lost data the
            // kernel reported written). A restart recovers from what is really on disk.
            let turn = turn.and_then(|()| self.storage_failed.take().map_or(Ok(()), Err));
            if let Err(e) = turn.and_then(|()| self.drain_ready()) {
                tracing::error!(node = id, "stopping: {e}");
                self.events.emit(id, EventKind::NodeDown(e));
                return;
            }
            self.publish();
        }
    }

    fn handle(&mut self, input: Input) {
        match input {
            Input::Tick => {
                self.core.tick();
                // Clients that gave up (deadline passed) need no answer.
                self.pending.retain(|_, p| !p.reply.is_closed());
                self.reads.asked.retain(|_, r| !r.reply.is_closed());
                self.reads.confirmed.retain(|(_, r)| !r.reply.is_closed());
                for read in std::mem::take(&mut self.reads.retry) {
                    if !read.reply.is_closed() {
                        self.read(read);
                    }
                }
            }
            Input::Read(read) => self.read(read),
            Input::Peer(msg) => {
                if let Err(e) = self.core.step(msg) {
                    tracing::debug!(node = self.core.id(), "refused message: {e}");
                }
            }
            Input::Client(req) => match self.core.propose(req.command) {
                Ok((index, term)) => {
                    // An older waiter at the same index lost its entry to this one.
                    if let Some(old) = self.pending.insert(
                        index,
                        Pending {
                            term,
                            reply: req.reply,
                        },
                    ) {
                        let _ = old.reply.send(Err(ClientError::NotApplied { index }));
                    }
                }
                Err(crate::raft::ProposeError::NotLeader { leader_hint }) => {
                    let _ = req.reply.send(Err(ClientError::NotLeader { leader_hint }));
                }
                // A leadership transfer is under way: the target is about to lead.
                Err(crate::raft::ProposeError::TransferInProgress { to }) => {
                    let _ = req.reply.send(Err(ClientError::TransferInProgress { to }));
                }
            },
            Input::Campaign => self.core.campaign(),
            Input::Transfer { to, reply } => {
                let _ = reply.send(self.core.transfer_leader(to));
            }
            Input::ChangeConfig { change, reply } => {
                let _ = reply.send(self.core.propose_config_change(change));
            }
            Input::Snapshot(reply) => {
                let _ = reply.send(self.take_snapshot());
            }
            Input::SetElectionTimeout(ticks) => self.core.set_election_timeout(ticks),
            Input::ReadKv(reply) => {
                let contents = self
                    .kv
                    .entries()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect();
                let _ = reply.send(contents);
            }
            Input::ReadLog { lo, hi, reply } => {
                let log = self.core.log();
                let lo = lo.max(log.first_index());
                let hi = hi.min(log.last_index());
                let terms = (lo..=hi)
                    .filter_map(|i| log.term(i).map(|t| (i, t)))
                    .collect();
                let _ = reply.send(terms);
            }
        }
    }

    /// Carries out every Ready the core has: persist, send, apply, explain.
    fn drain_ready(&mut self) -> Result<(), String> {
        let id = self.core.id();
        while self.core.has_ready() {
            let Ready {
                snapshot,
                hard_state,
                entries,
                messages,
                committed_entries,
                read_states,
                events,
            } = self.core.ready();
            // 1. Persist: the leader's snapshot first, then one write for the whole batch, before
            // anything that depends on it.
            if let Some(snapshot) = &snapshot {
                self.store_snapshot(snapshot)?;
            }
            if hard_state.is_some() || !entries.is_empty() {
                let mut storage = self
                    .storage
                    .lock()
                    .map_err(|_| "storage lock poisoned".to_string())?;
                let may_block = storage.may_block();
                let result = blocking(may_block, || storage.persist(hard_state.as_ref(), &entries));
                result.map_err(|e| e.to_string())?;
                // metrics hook (bench): one persist batch.
                let leader = self.core.role() == crate::raft::Role::Leader;
                self.metrics.persisted(entries.len(), leader);
            }
            // 2. Send.
            for msg in messages {
                self.metrics.sent(&msg); // metrics hook (bench)
                self.outbox.send(msg);
            }
            // 3. Apply, and answer whoever waits on each entry: from the snapshot first.
            if let Some(snapshot) = snapshot {
                let index = snapshot.meta.index;
                self.kv
                    .restore(index, &snapshot.data)
                    .map_err(|e| format!("cannot restore the leader's snapshot {index}: {e}"))?;
                self.bytes_since_snapshot = 0;
                // Whoever waited on an entry the snapshot covers cannot learn here whether it
                // was theirs: dropping the waiter reports the outcome as unknown.
                self.pending = self.pending.split_off(&(index + 1));
            }
            for entry in committed_entries {
                self.bytes_since_snapshot += entry.data.len() as u64;
                let result = match entry.kind {
                    EntryKind::Normal => self.kv.apply(entry.index, &entry.data),
                    EntryKind::Noop => Bytes::new(),
                    EntryKind::Config => Bytes::new(),
                };
                if let Some(p) = self.pending.remove(&entry.index) {
                    let outcome = if p.term == entry.term {
                        Ok(Applied {
                            index: entry.index,
                            term: entry.term,
                            result,
                        })
                    } else {
                        Err(ClientError::NotApplied { index: entry.index })
                    };
                    let _ = p.reply.send(outcome);
                }
            }
            // 4. Reads the leader confirmed wait for their index to be applied; those it dropped
            // when it stepped down are refused (the client retries at the new leader).
            for ReadState { ctx, index } in read_states {
                if let Some(read) = self.reads.asked.remove(&ctx) {
                    self.reads.confirmed.push((index, read));
                }
            }
            for event in &events {
                if let TraceEvent::ReadsDropped { ctxs } = event {
                    for ctx in ctxs {
                        if let Some(read) = self.reads.asked.remove(ctx) {
                            let _ = read.reply.send(Err(ClientError::NotLeader {
                                leader_hint: self.core.leader_id(),
                            }));
                        }
                    }
                }
            }
            // 5. Explain.
            for event in events {
                self.events.emit(id, EventKind::Trace(event));
            }
            self.core.advance();
            self.serve_reads();
            if self.snapshot_due() {
                self.start_snapshot()?;
            }
        }
        // A leader that lost its office keeps its waiters: their entries may still commit under
        // the next leader, and then they are answered when applied here; if another entry lands
        // at their index they learn it was not applied. Only their deadline ends the wait.
        Ok(())
    }

    /// Asks the core for a read index for `read`.
    fn read(&mut self, read: ReadRequest) {
        let ctx = self.reads.next_ctx;
        self.reads.next_ctx += 1;
        match self.core.read_index(ctx) {
            Ok(()) => {
                self.reads.asked.insert(ctx, read);
            }
            Err(ReadIndexError::NotLeader { leader_hint }) => {
                let _ = read.reply.send(Err(ClientError::NotLeader { leader_hint }));
            }
            // A new leader learns the commit index with its no-op: ask again on the next tick.
            Err(ReadIndexError::NoCommitInTerm { .. }) => self.reads.retry.push(read),
        }
    }

    /// Answers the confirmed reads whose read index the state machine has applied.
    fn serve_reads(&mut self) {
        let applied = self.core.log().applied();
        if self
            .reads
            .confirmed
            .iter()
            .all(|(index, _)| *index > applied)
        {
            return;
        }
        let term = self.core.term();
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.reads.confirmed)
            .into_iter()
            .partition(|(index, _)| *index <= applied);
        self.reads.confirmed = waiting;
        for (index, read) in ready {
            let value = self.kv.get(&read.key);
            let result = crate::pb::KvResult {
                found: value.is_some(),
                value: value.unwrap_or_default().to_string(),
                ..Default::default()
            };
            let _ = read.reply.send(Ok(Applied {
                index,
                term,
                result: prost::Message::encode_to_vec(&result).into(),
            }));
        }
    }

    /// Whether the policy asks for a snapshot now (and none is being serialized).
    fn snapshot_due(&self) -> bool {
        let log = self.core.log();
        let since = log.applied().saturating_sub(log.snapshot_index());
        self.serializing.is_none()
            && since > 0
            && ((self.policy.entries > 0 && since >= self.policy.entries)
                || (self.policy.bytes > 0 && self.bytes_since_snapshot >= self.policy.bytes))
    }

    /// Clones the state machine at the applied index and, on a blocking thread, serializes the
    /// clone and stages its file; [`Self::finish_snapshot`] takes the result.
    fn start_snapshot(&mut self) -> Result<(), String> {
        let started = Instant::now();
        let index = self.core.log().applied();
        // What the core will record at `index` (settled: the entry is applied).
        let header = self
            .core
            .snapshot_at(index, Bytes::new())
            .map_err(|e| e.to_string())?;
        let stager = self
            .storage
            .lock()
            .map_err(|_| "storage lock poisoned".to_string())?
            .snapshot_stager();
        let store = self.kv.clone();
        self.bytes_since_snapshot = 0;
        let task = tokio::task::spawn_blocking(move || {
            let serializing = Instant::now();
            let snapshot = Snapshot {
                data: store.snapshot(),
                ..header
            };
            let serialized_in = serializing.elapsed();
            let staging = Instant::now();
            let staged = stager.map(|stager| stager.stage(&snapshot));
            Serialized {
                snapshot,
                staged,
                serialized_in,
                staged_in: staging.elapsed(),
            }
        });
        self.serializing = Some(Serializing {
            index,
            started_in: started.elapsed(),
            task,
        });
        Ok(())
    }

    /// Compacts the log with a snapshot serialized off the task, and has the storage put it into
    /// use; unless a newer snapshot overtook it meanwhile (its staged file is then deleted).
    fn finish_snapshot(
        &mut self,
        done: Result<Serialized, tokio::task::JoinError>,
    ) -> Result<(), String> {
        let Some(Serializing {
            index, started_in, ..
        }) = self.serializing.take()
        else {
            return Ok(());
        };
        let done = done.map_err(|e| format!("serializing the snapshot at {index} failed: {e}"))?;
        if index <= self.core.log().snapshot_index() {
            tracing::debug!(
                node = self.core.id(),
                "snapshot at {index} overtaken: dropped"
            );
            return Ok(());
        }
        let staged = done
            .staged
            .transpose()
            .map_err(|e| format!("writing the snapshot at {index} failed: {e}"))?;
        let finishing = Instant::now();
        let size = done.snapshot.data.len();
        let snapshot = self
            .core
            .compact(index, done.snapshot.data)
            .map_err(|e| e.to_string())?;
        let file = match staged {
            Some(staged) => {
                self.store_staged_snapshot(&snapshot, staged)?;
                format!(
                    ", its file written in {:.3} ms",
                    done.staged_in.as_secs_f64() * 1e3
                )
            }
            None => {
                self.store_snapshot(&snapshot)?;
                String::new()
            }
        };
        // How much of the snapshot's work its own task did, against the work it was spared
        // (`RAFTLAB_LOG=raftlab::node::driver=debug` shows it).
        tracing::debug!(
            node = self.core.id(),
            "snapshot at {index}: {size} bytes serialized off the task in {:.3} ms{file}; the \
             task spent {:.3} ms (clone and spawn, compact and store)",
            done.serialized_in.as_secs_f64() * 1e3,
            (started_in + finishing.elapsed()).as_secs_f64() * 1e3
        );
        Ok(())
    }

    /// Snapshots the state machine at the applied index now, on the task, compacts the core's
    /// log and stores the snapshot (which drops the WAL it covers).
    fn take_snapshot(&mut self) -> Result<SnapshotMeta, String> {
        let applied = self.core.log().applied();
        let data = self.kv.snapshot();
        let snapshot = self
            .core
            .compact(applied, data)
            .map_err(|e| e.to_string())?;
        if let Err(e) = self.store_snapshot(&snapshot) {
            self.storage_failed = Some(e.clone());
            return Err(e);
        }
        self.bytes_since_snapshot = 0;
        Ok(snapshot.meta)
    }

    fn store_snapshot(&self, snapshot: &Snapshot) -> Result<(), String> {
        let mut storage = self
            .storage
            .lock()
            .map_err(|_| "storage lock poisoned".to_string())?;
        let may_block = storage.may_block();
        blocking(may_block, || storage.save_snapshot(snapshot)).map_err(|e| e.to_string())
    }

    fn store_staged_snapshot(
        &self,
        snapshot: &Snapshot,
        staged: StagedSnapshot,
    ) -> Result<(), String> {
        let mut storage = self
            .storage
            .lock()
            .map_err(|_| "storage lock poisoned".to_string())?;
        let may_block = storage.may_block();
        blocking(may_block, || storage.save_staged_snapshot(snapshot, staged))
            .map_err(|e| e.to_string())
    }

    fn publish(&self) {
        self.view.send_replace(NodeView {
            status: self.core.status(),
            kv_len: self.kv.len(),
        });
    }
}

/// Runs a disk write that may block (fsync) so that, on a multi-threaded runtime, other tasks
/// move on meanwhile. A write that cannot block (storage in memory) just runs: handing the
/// worker thread over for it would cost two thread switches per turn of the loop.
fn blocking<T>(may_block: bool, write: impl FnOnce() -> T) -> T {
    let multi_thread = may_block
        && tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi_thread {
        tokio::task::block_in_place(write)
    } else {
        write()
    }
}
