//! The executor: carries out prompt commands against a cluster and reports each outcome as one
//! line. Faults run in order, at once; client operations run concurrently in the background (a
//! write may wait seconds at teaching speed and must not hold up a kill). Every client operation
//! is recorded in a [`History`] as client 0, with the outcome its answer proves
//! ([`crate::chaos::outcome_of`]). The dashboard's commander and the scenario runner each own
//! an [`Executor`].

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::prompt::{LinkChange, PromptCommand};
use crate::chaos::outcome_of;
use crate::check::{History, KvOp, KvOutput, Outcome};
use crate::cluster::{
    ClusterError, ClusterHandle, ClusterStatus, InFlightInfo, LinkPolicy, NodeState,
};
use crate::node::transport;
use crate::pb::{self, kv_client::KvClient};
use crate::raft::{Index, MessageKind, NodeId, Rng, Role};

/// A client session of the dashboard: its own id, one sequence number per write. A session has
/// at most one write outstanding (the state machine applies a session's writes in sequence
/// order and refuses older ones), so concurrent writes each take an idle session from a pool.
struct Session {
    client_id: u64,
    seq: u64,
    rng: Rng,
}

/// The dashboard user's client id in the history (the nemesis' workers are 1, 2, ...).
pub const USER_CLIENT: u64 = 0;

/// Client operations the executor has started and not yet seen end, and the last one's line.
#[derive(Debug, Default)]
pub struct OpsTracker {
    pending: AtomicUsize,
    started: AtomicU64,
    last: Mutex<Option<(String, bool)>>,
    waiting: Mutex<Vec<PendingOp>>,
}

/// A client operation waiting for its answer: what it is, where it went, since when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingOp {
    /// Its number among the operations the tracker saw start.
    pub id: u64,
    /// The command, as typed (`put y 2`).
    pub line: String,
    /// Whether it writes (takes a log entry); a read takes none (ReadIndex).
    pub write: bool,
    /// The node it was sent to (`None`: no node was running).
    pub node: Option<NodeId>,
    /// Whether that node led when the operation was sent (it appends the entry itself; a
    /// follower forwards to the leader it knows).
    pub to_leader: bool,
    /// That node's last log index when the operation was sent: its entry comes after.
    pub last_index: Index,
    /// Cluster time when it was sent (stands still while the cluster is paused).
    pub sent_at: Duration,
}

impl PendingOp {
    /// Where its entry sits, from what the node shows `now` (`node`: its state in the latest
    /// capture; `writes_there`: how many pending writes went to that node). An index is named
    /// only when it is certain: the node led, and exactly one entry was appended since the
    /// write was sent, with no other write of ours pending there; otherwise the index it comes
    /// after, and where the log ends.
    pub fn whereabouts(&self, node: Option<&NodeState>, writes_there: usize) -> String {
        let Some(id) = self.node else {
            return "no node running".into();
        };
        let Some(n) = node else {
            return format!("→ node {id}");
        };
        if !n.up {
            return format!("→ node {id} (down)");
        }
        if !self.write {
            return format!("→ node {id}, read (no log entry)");
        }
        if !self.to_leader {
            return format!("→ node {id} (not the leader: forwarded)");
        }
        let (first, last, commit) = (
            self.last_index + 1,
            n.status.last_log_index,
            n.status.commit,
        );
        if last < first {
            return format!("→ node {id}, not in its log (commit {commit})");
        }
        let committed = if commit >= last {
            "committed, not applied yet".to_string()
        } else {
            format!("commit {commit}")
        };
        if last == first && writes_there == 1 {
            format!("→ node {id}, index {first} ({committed})")
        } else {
            // Other entries were appended too: ours is one of them, or still to come.
            format!(
                "→ node {id}, after index {} (last {last}, {committed})",
                first - 1
            )
        }
    }

    /// `put y 2 → node 3, index 5 (commit 4), 12 s`: the operation, where it sits, its age at
    /// cluster time `now`.
    pub fn describe(&self, now: Duration, node: Option<&NodeState>, writes_there: usize) -> String {
        format!(
            "{} {}, {}",
            self.line,
            self.whereabouts(node, writes_there),
            age(now.saturating_sub(self.sent_at))
        )
    }
}

/// `0.4 s`, `12 s`.
fn age(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1} s")
    } else {
        format!("{s:.0} s")
    }
}

/// One line for every pending operation (oldest first), at most `width` columns:
/// `2 pending: put y 2 → node 3, index 5 (commit 4), 12 s · get y → node 3, read … · +1 more`.
/// `None` when nothing is pending.
pub fn pending_line(
    ops: &[PendingOp],
    status: &ClusterStatus,
    now: Duration,
    width: usize,
) -> Option<String> {
    if ops.is_empty() {
        return None;
    }
    let items: Vec<String> = ops
        .iter()
        .map(|op| {
            let node = op
                .node
                .and_then(|id| status.nodes.iter().find(|n| n.id == id));
            let writes_there = ops
                .iter()
                .filter(|o| o.write && o.to_leader && o.node == op.node)
                .count();
            op.describe(now, node, writes_there)
        })
        .collect();
    // As many as fit (at least one), then how many were left out.
    let line = |k: usize| {
        let more = match ops.len() - k {
            0 => String::new(),
            rest => format!(" · +{rest} more"),
        };
        format!("{} pending: {}{more}", ops.len(), items[..k].join(" · "))
    };
    let k = (1..=items.len())
        .rev()
        .find(|&k| line(k).chars().count() <= width)
        .unwrap_or(1);
    Some(line(k))
}

impl OpsTracker {
    /// Operations still waiting for their answer.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// The operations still waiting for their answer, oldest first.
    pub fn pending_ops(&self) -> Vec<PendingOp> {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Operations started so far.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::SeqCst)
    }

    /// The line of the last operation that ended, and whether it succeeded.
    pub fn last(&self) -> Option<(String, bool)> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Counts `op` as started and pending (its `id` is set here); returns the id.
    fn begin(&self, mut op: PendingOp) -> u64 {
        let id = self.started.fetch_add(1, Ordering::SeqCst);
        self.pending.fetch_add(1, Ordering::SeqCst);
        op.id = id;
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(op);
        id
    }

    fn end(&self, id: u64, line: &str) {
        let ok = !line.starts_with("error");
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((line.to_string(), ok));
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|o| o.id != id);
        self.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The last write, kept for `retry`.
struct LastWrite {
    op: ClientOp,
    /// Set when the first attempt ended: whether it definitely failed (nothing changed).
    failed: Arc<Mutex<Option<bool>>>,
}

/// Carries out prompt commands against a cluster: faults at once, client operations in the
/// background (their lines go to `results` when they end). The dashboard and the scenario
/// runner each own one.
pub struct Executor {
    cluster: ClusterHandle,
    history: History,
    session: Session,
    /// Sessions with no write outstanding: (client id, last sequence number used).
    idle: Arc<Mutex<Vec<(u64, u64)>>>,
    results: mpsc::Sender<String>,
    ops: Arc<OpsTracker>,
    last_write: Option<LastWrite>,
}

impl Executor {
    /// An executor with a fresh client session, recording client operations into `history`.
    pub fn new(cluster: ClusterHandle, history: History, results: mpsc::Sender<String>) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let mut rng = Rng::new(seed);
        Executor {
            cluster,
            history,
            session: Session {
                client_id: rng.range(1 << 20, 1 << 40),
                seq: 0,
                rng,
            },
            idle: Arc::new(Mutex::new(Vec::new())),
            results,
            ops: Arc::new(OpsTracker::default()),
            last_write: None,
        }
    }

    /// The tracker of this executor's client operations.
    pub fn ops(&self) -> Arc<OpsTracker> {
        self.ops.clone()
    }

    /// The same executor, counting its client operations in `ops` (shared with a dashboard that
    /// shows them while they wait).
    pub fn with_ops(mut self, ops: Arc<OpsTracker>) -> Self {
        self.ops = ops;
        self
    }

    /// A number from the session's RNG (seeds for background jobs).
    pub fn next_seed(&mut self) -> u64 {
        self.session.rng.range(0, 1 << 32)
    }

    /// Carries out `cmd`. A fault or clock command returns its outcome line; a client operation
    /// starts in the background and returns `None` (its line goes to `results` when it ends).
    pub async fn execute(&mut self, cmd: PromptCommand) -> Option<String> {
        if cmd == PromptCommand::Retry {
            return self.retry();
        }
        let write = match &cmd {
            PromptCommand::Kv(op) => !op.is_read(),
            PromptCommand::Write => true,
            _ => false,
        };
        if write {
            let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let (client_id, seq) =
                idle.unwrap_or_else(|| (self.session.rng.range(1 << 20, 1 << 40), 0));
            self.session.client_id = client_id;
            self.session.seq = seq;
        }
        match client_op(&mut self.session, cmd) {
            Ok(op) => {
                let failed = Arc::new(Mutex::new(None));
                let session = write.then_some((self.session.client_id, self.session.seq));
                if write {
                    self.last_write = Some(LastWrite {
                        op: op.clone(),
                        failed: failed.clone(),
                    });
                }
                self.spawn(op, Some(failed), true, session);
                None
            }
            Err(cmd) => Some(fault(&self.cluster, cmd).await),
        }
    }

    /// `retry`: the last write again, same sequence number. The history records it only when
    /// the first attempt definitely failed; otherwise its effect is the first attempt's.
    fn retry(&mut self) -> Option<String> {
        let Some(last) = &self.last_write else {
            return Some("error: retry: no write to retry yet".into());
        };
        let first = *last.failed.lock().unwrap_or_else(|p| p.into_inner());
        let Some(failed) = first else {
            return Some(format!(
                "error: retry: `{}` is still waiting for its answer",
                last.op.line
            ));
        };
        let mut op = last.op.clone();
        op.line = format!("retry {}", op.line);
        self.spawn(op, None, failed, None);
        None
    }

    /// Runs `op` in the background. `session` (client id, sequence number) goes back to the
    /// idle pool when the answer is definite; after an unknown outcome it is retired, so that
    /// only `retry` ever uses that sequence number again.
    fn spawn(
        &self,
        op: ClientOp,
        failed: Option<Arc<Mutex<Option<bool>>>>,
        record: bool,
        session: Option<(u64, u64)>,
    ) {
        let (c, r, h, ops, idle) = (
            self.cluster.clone(),
            self.results.clone(),
            self.history.clone(),
            self.ops.clone(),
            self.idle.clone(),
        );
        let st = c.status();
        let target: Option<NodeId> = st
            .leader()
            .or_else(|| st.nodes.iter().find(|n| n.up).map(|n| n.id));
        let node = target.and_then(|t| st.nodes.iter().find(|n| n.id == t));
        let id = ops.begin(PendingOp {
            id: 0,
            line: op.line.clone(),
            write: !op.op.is_read(),
            node: target,
            to_leader: node.is_some_and(|n| n.status.role == Role::Leader),
            last_index: node.map_or(0, |n| n.status.last_log_index),
            sent_at: c.events().elapsed(),
        });
        tokio::spawn(async move {
            let (line, outcome) = op.run(&c, target, record.then_some(&h)).await;
            let definite_failure = matches!(outcome, Outcome::Failed(_));
            if let (Some(s), false) = (session, matches!(outcome, Outcome::Unknown(_))) {
                idle.lock().unwrap_or_else(|p| p.into_inner()).push(s);
            }
            if let Some(f) = failed {
                *f.lock().unwrap_or_else(|p| p.into_inner()) = Some(definite_failure);
            }
            ops.end(id, &line);
            let _ = r.send(line).await;
        });
    }
}

/// Aligns (or spreads apart) the election timers of the running followers.
pub async fn align(cluster: &ClusterHandle, spread: bool) -> String {
    let st = cluster.status();
    let mut k = 0;
    for n in st
        .nodes
        .iter()
        .filter(|n| n.up && n.status.role != Role::Leader)
    {
        let extra = if spread { 10 + 8 * k } else { 10 };
        k += 1;
        let _ = cluster
            .set_election_timeout(n.id, n.status.election_elapsed + extra)
            .await;
    }
    if spread {
        format!("spread the election timers of {k} nodes apart")
    } else {
        format!(
            "aligned the election timers of {k} nodes: they fire together in 10 ticks \
             (with no leader, a split vote)"
        )
    }
}

/// Carries out a fault or a clock command; returns what happened.
pub async fn fault(c: &ClusterHandle, cmd: PromptCommand) -> String {
    let line = cmd.to_string();
    let outcome: Result<String, FaultError> = match cmd {
        PromptCommand::Kill(id) => c
            .kill(id)
            .await
            .map(|_| format!("killed node {id}"))
            .map_err(FaultError::Cluster),
        PromptCommand::Restart(id) => c
            .restart(id)
            .await
            .map(|_| format!("restarted node {id} from its storage"))
            .map_err(FaultError::Cluster),
        PromptCommand::Isolate(id) => c
            .isolate(id)
            .map(|_| format!("node {id} is cut off from every other"))
            .map_err(FaultError::Cluster),
        PromptCommand::Campaign(id) => c
            .campaign(id)
            .await
            .map(|_| format!("node {id} times out now"))
            .map_err(FaultError::Cluster),
        PromptCommand::Snapshot(id) => c
            .snapshot(id)
            .await
            .map(|meta| {
                format!(
                    "node {id} took a snapshot: its log is compacted up to {}/{}",
                    meta.index, meta.term
                )
            })
            .map_err(FaultError::Cluster),
        PromptCommand::Transfer(to) => c
            .transfer(to)
            .await
            .map(|from| {
                format!(
                    "node {from} hands leadership to node {to}: it brings {to} up to date, then \
                     sends TimeoutNow (proposals wait; aborted after an election timeout)"
                )
            })
            .map_err(FaultError::Cluster),
        PromptCommand::AddNode => c
            .add_node()
            .await
            .map(|(id, index)| {
                let addr = c.addr(id).map_or(String::new(), |a| format!(" on {a}"));
                format!(
                    "node {id} started{addr}; the leader adds it as a learner (entry {index}): \
                     it catches up, then `promote {id}` makes it a voter"
                )
            })
            .map_err(FaultError::Cluster),
        PromptCommand::Promote(id) => c
            .promote(id)
            .await
            .map(|index| format!("the leader makes node {id} a voter (entry {index})"))
            .map_err(FaultError::Cluster),
        PromptCommand::RemoveNode(id) => c
            .remove_node(id)
            .await
            .map(|index| match index {
                Some(index) => format!(
                    "the leader removes node {id} (entry {index}); it stops once that commits"
                ),
                None => format!("node {id} was no member: stopped and forgotten"),
            })
            .map_err(FaultError::Cluster),
        PromptCommand::Rules => Ok(format!("rules: {}", c.rules().describe())),
        PromptCommand::Partition(groups) => c
            .partition(&groups)
            .map(|_| format!("partitioned into {groups:?}"))
            .map_err(FaultError::Cluster),
        PromptCommand::Heal => {
            c.heal();
            Ok("healed: partitions, link faults, slow nodes and clock drift cleared".into())
        }
        PromptCommand::Slow { node, delay } => c
            .slow(node, delay)
            .map(|_| format!("node {node}: +{} ms on every message", delay.as_millis()))
            .map_err(FaultError::Cluster),
        PromptCommand::Link { from, to, changes } => {
            let mut policy = c.network().link(from, to);
            for change in changes {
                match change {
                    LinkChange::Cut => policy.cut = true,
                    LinkChange::Up => policy = LinkPolicy::default(),
                    LinkChange::Delay(d) => policy.delay = d,
                    LinkChange::Jitter(d) => policy.jitter = d,
                    LinkChange::Drop(p) => policy.drop_rate = p,
                }
            }
            c.set_link(from, to, policy)
                .map(|_| format!("link {from}->{to} updated"))
                .map_err(FaultError::Cluster)
        }
        PromptCommand::Clock { node, rate } => c
            .set_clock_rate(node, rate)
            .map(|r| format!("node {node}'s clock runs at {r}x"))
            .map_err(FaultError::Cluster),
        PromptCommand::Speed(s) => {
            let s = c.set_speed(s);
            Ok(format!(
                "speed ×{s:.2}: ticks now last {} ms",
                c.clock().interval().as_millis()
            ))
        }
        PromptCommand::Pause => {
            c.pause();
            Ok("paused: no ticks, messages stay in flight (. steps, n selects a message)".into())
        }
        PromptCommand::Resume => {
            c.resume();
            Ok("resumed".into())
        }
        PromptCommand::Step => Ok(format!("step: {}", c.step())),
        PromptCommand::DropMessage(id) => {
            let before = (c.in_flight().into_iter().find(|m| m.id == id), c.status());
            let text = match &before {
                (Some(m), st) => format!(
                    "dropped #{id} {} {}→{}: {}",
                    m.kind.as_str(),
                    m.from,
                    m.to,
                    drop_consequence(m, st)
                ),
                (None, _) => format!("dropped message #{id}"),
            };
            found(c.drop_message(id), text, id)
        }
        PromptCommand::DupMessage(id) => match c.duplicate_message(id) {
            Some(copy) => Ok(format!("duplicated message #{id} as #{copy}")),
            None => Err(FaultError::NoMessage(id)),
        },
        PromptCommand::DeliverMessage(id) => {
            let text = match c.in_flight().into_iter().find(|m| m.id == id) {
                Some(m) => format!(
                    "delivered #{id} {} {}→{} now, before it was due: {}",
                    m.kind.as_str(),
                    m.from,
                    m.to,
                    deliver_consequence(&m)
                ),
                None => format!("delivered message #{id} now"),
            };
            found(c.deliver_message(id), text, id)
        }
        PromptCommand::Challenge(_) | PromptCommand::Hint => Err(FaultError::DashboardOnly),
        PromptCommand::Save(_)
        | PromptCommand::Share
        | PromptCommand::Branches
        | PromptCommand::Branch(_)
        | PromptCommand::Next => Err(FaultError::LabOnly),
        other => Err(FaultError::NotAClusterCommand(other)),
    };
    match outcome {
        Ok(text) => text,
        Err(e) => format!("error: {line}: {e}"),
    }
}

/// What dropping message `m` changes, in one sentence, from the cluster as it is (`st`): the
/// receiver's election timer for a heartbeat, the entries a follower misses for an append, the
/// vote a candidate cannot count, ...
pub fn drop_consequence(m: &InFlightInfo, st: &ClusterStatus) -> String {
    let (from, to) = (m.from, m.to);
    let receiver = st.nodes.iter().find(|n| n.id == to);
    let paused = if st.paused {
        " (time is paused: nothing moves until you resume or step)"
    } else {
        ""
    };
    let text = match m.kind {
        MessageKind::Heartbeat => match receiver {
            Some(n) if !n.up => format!("node {to} is down anyway: it would not have heard it"),
            Some(n) => {
                let left = n
                    .status
                    .election_timeout
                    .saturating_sub(n.status.election_elapsed);
                let rate = if n.clock_rate > 0.0 {
                    n.clock_rate
                } else {
                    1.0
                };
                let secs = st.tick.as_secs_f64() * f64::from(left) / rate;
                format!(
                    "node {to}'s election timer is not reset; it times out in ~{left} ticks \
                     (≈{secs:.1} s) unless another heartbeat from node {from} arrives first"
                )
            }
            None => format!("node {to}'s election timer is not reset by it"),
        },
        MessageKind::AppendEntries => format!(
            "node {to} does not get these entries now; node {from} sends them again when no \
             answer comes, and until node {to} stores them they cannot count toward a majority"
        ),
        MessageKind::AppendEntriesReply => format!(
            "node {to} does not learn what node {from} stored (or refused): its match index for \
             node {from} stays, so commitment waits for other answers or the next round"
        ),
        MessageKind::RequestVote => format!(
            "node {to} never sees candidate {from}'s request: {from} gets no vote from it this \
             term and needs a majority from the others"
        ),
        MessageKind::RequestVoteReply => format!(
            "candidate {to} never hears node {from}'s answer: a vote given stays given ({from} \
             cannot vote again this term), but {to} cannot count it"
        ),
        MessageKind::PreVote => format!(
            "node {to} never sees node {from}'s pre-vote: {from} needs a majority of pre-votes \
             from the others before it may start an election"
        ),
        MessageKind::PreVoteReply => format!(
            "node {to} never hears node {from}'s pre-vote answer: it cannot count it toward the \
             majority it needs before starting an election"
        ),
        MessageKind::InstallSnapshot => format!(
            "node {to} does not get this snapshot chunk; node {from} sends it again when no \
             answer comes"
        ),
        MessageKind::InstallSnapshotReply => {
            format!("node {to} does not learn that node {from} took the chunk; it sends it again")
        }
        MessageKind::TimeoutNow => format!(
            "node {to} does not start the election node {from} asked for: the transfer is \
             aborted after an election timeout and node {from} takes proposals again"
        ),
    };
    format!("{text}{paused}")
}

/// What delivering message `m` early does, in a few words.
pub fn deliver_consequence(m: &InFlightInfo) -> String {
    let to = m.to;
    match m.kind {
        MessageKind::Heartbeat => format!("node {to}'s election timer is reset"),
        MessageKind::AppendEntries => format!("node {to} checks and stores the entries"),
        MessageKind::AppendEntriesReply | MessageKind::InstallSnapshotReply => {
            format!("node {to} updates its progress for node {}", m.from)
        }
        MessageKind::RequestVote | MessageKind::PreVote => {
            format!("node {to} decides whether to grant it")
        }
        MessageKind::RequestVoteReply | MessageKind::PreVoteReply => {
            format!("node {to} counts the answer")
        }
        MessageKind::InstallSnapshot => format!("node {to} takes the snapshot chunk"),
        MessageKind::TimeoutNow => format!("node {to} starts an election at once"),
    }
}

fn found(ok: bool, text: String, id: u64) -> Result<String, FaultError> {
    if ok {
        Ok(text)
    } else {
        Err(FaultError::NoMessage(id))
    }
}

/// Why a fault or clock command did not happen.
#[derive(Debug)]
pub enum FaultError {
    /// The cluster refused it.
    Cluster(ClusterError),
    /// `drop`, `dup` or `deliver` named no message in flight.
    NoMessage(u64),
    /// The command is not a fault or clock command (a client operation, help, ...).
    NotAClusterCommand(PromptCommand),
    /// Challenges and hints live on the dashboard.
    DashboardOnly,
    /// Runs and branches belong to the sim engine's lab.
    LabOnly,
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::Cluster(e) => e.fmt(f),
            FaultError::NoMessage(id) => write!(f, "no message #{id} in flight"),
            FaultError::NotAClusterCommand(cmd) => write!(f, "{cmd} is not a cluster command"),
            FaultError::DashboardOnly => f.write_str("only on the dashboard"),
            FaultError::LabOnly => f.write_str(
                "only on the sim engine (raftlab --engine sim, raftlab lab): a live cluster has \
                 no run to save and no branches",
            ),
        }
    }
}

impl std::error::Error for FaultError {}

/// A client operation ready to run.
#[derive(Clone)]
struct ClientOp {
    line: String,
    /// The operation as the history records it.
    op: KvOp,
    request: Request,
}

#[derive(Clone)]
enum Request {
    Put(pb::PutRequest),
    Get(pb::GetRequest),
    Delete(pb::DeleteRequest),
    Append(pb::AppendRequest),
    Cas(pb::CasRequest),
}

/// Turns a client command into an operation with a fresh sequence number; any other command is
/// handed back.
fn client_op(s: &mut Session, cmd: PromptCommand) -> Result<ClientOp, PromptCommand> {
    let line = cmd.to_string();
    let (client_id, seq) = (s.client_id, s.seq + 1);
    let op = match cmd {
        PromptCommand::Kv(op) => op,
        PromptCommand::Write => KvOp::Put {
            key: format!("k{}", s.rng.range(0, 8)),
            value: format!("{}", s.rng.range(0, 1000)),
        },
        other => return Err(other),
    };
    let request = match op.clone() {
        KvOp::Put { key, value } => Request::Put(pb::PutRequest {
            key,
            value,
            client_id,
            seq,
        }),
        KvOp::Get { key } => Request::Get(pb::GetRequest { key }),
        KvOp::Delete { key } => Request::Delete(pb::DeleteRequest {
            key,
            client_id,
            seq,
        }),
        KvOp::Append { key, value } => Request::Append(pb::AppendRequest {
            key,
            value,
            client_id,
            seq,
        }),
        KvOp::Cas {
            key,
            expected,
            new_value,
        } => Request::Cas(pb::CasRequest {
            key,
            expect_absent: expected.is_none(),
            expected: expected.unwrap_or_default(),
            new_value,
            client_id,
            seq,
        }),
    };
    if !op.is_read() {
        s.seq = seq;
    }
    // The command as the answer echoes it, long keys and values abbreviated.
    let line = match &op {
        KvOp::Put { key, value } => format!("put {} {}", brief(key), brief(value)),
        KvOp::Append { key, value } if is_long(key) || is_long(value) => {
            format!("append {} {}", brief(key), brief(value))
        }
        KvOp::Cas {
            key,
            expected,
            new_value,
        } if is_long(key) || expected.as_deref().is_some_and(is_long) || is_long(new_value) => {
            let expected = expected.as_deref().map_or_else(|| "-".to_string(), brief);
            format!("cas {} {expected} {}", brief(key), brief(new_value))
        }
        KvOp::Get { key } if is_long(key) => format!("get {}", brief(key)),
        KvOp::Delete { key } if is_long(key) => format!("del {}", brief(key)),
        _ => line,
    };
    Ok(ClientOp { line, op, request })
}

impl ClientOp {
    /// Sends the request to `target` (the leader, or any running node, which forwards it),
    /// records it in
    /// `history` (when given) and describes the outcome; also gives the outcome the answer proves.
    async fn run(
        self,
        c: &ClusterHandle,
        target: Option<NodeId>,
        history: Option<&History>,
    ) -> (String, Outcome) {
        let Some(addr) = target.and_then(|t| c.addr(t)) else {
            let line = format!("error: {}: no node is running", self.line);
            return (line, Outcome::Failed("no node is running".into()));
        };
        let mut kv = KvClient::new(transport::channel(addr));
        let timeout = c.preset().client_timeout() + Duration::from_secs(1);
        let started = Instant::now();
        let pending = history.map(|h| h.invoke(USER_CLIENT, self.op));
        let outcome = send(&mut kv, self.request, timeout).await;
        let recorded = match &outcome {
            Ok((_, output)) => Outcome::Ok(output.clone()),
            Err(status) => outcome_of(status),
        };
        if let Some(p) = pending {
            p.complete(recorded.clone());
        }
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let line = match outcome {
            Ok((text, _)) => format!("{} → {text} in {ms:.1} ms", self.line),
            Err(status) => format!(
                "error: {} → {:?}: {} (after {ms:.1} ms)",
                self.line,
                status.code(),
                status.message()
            ),
        };
        (line, recorded)
    }
}

/// The longest key or value an answer shows whole, in characters.
const SHOWN_WHOLE: usize = 40;
/// How much of a longer one it shows, in characters, before `…` and the size.
const SHOWN_START: usize = 24;

fn is_long(text: &str) -> bool {
    text.chars().count() > SHOWN_WHOLE
}

/// A key or value as an answer shows it: whole when short, else its start, `…` and its size
/// (`aaaaaaaaaaaaaaaaaaaaaaaa… (3,072 bytes)`), so that a long value never pushes the rest of
/// the answer (the outcome, the index, the time) off the status line.
fn brief(text: &str) -> String {
    if !is_long(text) {
        return text.to_string();
    }
    let start: String = text.chars().take(SHOWN_START).collect();
    format!(
        "{start}… ({} bytes)",
        crate::observe::format::thousands(text.len() as u64)
    )
}

/// A value quoted, as answers show values (`"abc"`), abbreviated like [`brief`] when long
/// (`"aaaa…" (3,072 bytes)`).
fn brief_quoted(text: &str) -> String {
    if !is_long(text) {
        return format!("{text:?}");
    }
    let start: String = text.chars().take(SHOWN_START).collect();
    let quoted = format!("{start:?}");
    format!(
        "{}…\" ({} bytes)",
        &quoted[..quoted.len() - 1],
        crate::observe::format::thousands(text.len() as u64)
    )
}

fn at(h: Option<pb::KvHeader>) -> String {
    h.map_or(String::new(), |h| {
        format!(" (index {}, term {})", h.index, h.term)
    })
}

/// Sends one request; returns the text to show and the output the history records.
async fn send(
    kv: &mut KvClient<Channel>,
    request: Request,
    timeout: Duration,
) -> Result<(String, KvOutput), tonic::Status> {
    fn req<T>(t: T, timeout: Duration) -> tonic::Request<T> {
        let mut r = tonic::Request::new(t);
        r.set_timeout(timeout);
        r
    }
    Ok(match request {
        Request::Put(p) => {
            let r = kv.put(req(p, timeout)).await?.into_inner();
            let prev = if r.had_previous {
                format!("was {}", brief_quoted(&r.previous))
            } else {
                "new key".into()
            };
            let output = KvOutput::Put {
                previous: r.had_previous.then_some(r.previous),
            };
            (format!("ok, {prev}{}", at(r.header)), output)
        }
        Request::Get(g) => {
            let r = kv.get(req(g, timeout)).await?.into_inner();
            let text = if r.found {
                format!("{}{}", brief_quoted(&r.value), at(r.header))
            } else {
                format!("not found{}", at(r.header))
            };
            let output = KvOutput::Get {
                value: r.found.then_some(r.value),
            };
            (text, output)
        }
        Request::Delete(d) => {
            let r = kv.delete(req(d, timeout)).await?.into_inner();
            let text = format!(
                "{}{}",
                if r.existed { "deleted" } else { "was absent" },
                at(r.header)
            );
            (text, KvOutput::Delete { existed: r.existed })
        }
        Request::Append(a) => {
            let r = kv.append(req(a, timeout)).await?.into_inner();
            let text = format!("now {}{}", brief_quoted(&r.value), at(r.header));
            (text, KvOutput::Append { value: r.value })
        }
        Request::Cas(cas) => {
            let r = kv.cas(req(cas, timeout)).await?.into_inner();
            let text = if r.swapped {
                format!("swapped{}", at(r.header))
            } else if r.found {
                format!(
                    "not swapped: value is {}{}",
                    brief_quoted(&r.current),
                    at(r.header)
                )
            } else {
                format!("not swapped: key absent{}", at(r.header))
            };
            let output = KvOutput::Cas {
                swapped: r.swapped,
                previous: r.found.then_some(r.current),
            };
            (text, output)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_value_is_shown_by_its_start_and_its_size() {
        assert_eq!(brief("x"), "x");
        assert_eq!(brief_quoted("a b"), "\"a b\"");
        let whole = "v".repeat(SHOWN_WHOLE);
        assert_eq!(brief(&whole), whole);
        let long = "a".repeat(3_072);
        assert_eq!(brief(&long), format!("{}… (3,072 bytes)", "a".repeat(24)));
        assert_eq!(
            brief_quoted(&long),
            format!("\"{}…\" (3,072 bytes)", "a".repeat(24))
        );
        // Characters, not bytes, are cut: never inside one.
        let wide = "é".repeat(100);
        assert_eq!(brief(&wide), format!("{}… (200 bytes)", "é".repeat(24)));
    }

    #[test]
    fn the_echo_of_a_long_put_or_append_is_abbreviated() {
        let mut session = Session {
            client_id: 7,
            seq: 0,
            rng: Rng::new(7),
        };
        let value = "z".repeat(5_000);
        let put = PromptCommand::Kv(KvOp::Put {
            key: "x".into(),
            value: value.clone(),
        });
        let op = client_op(&mut session, put).ok().map(|op| op.line);
        assert_eq!(
            op.as_deref(),
            Some(format!("put x {}… (5,000 bytes)", "z".repeat(24)).as_str())
        );
        let append = PromptCommand::Kv(KvOp::Append {
            key: "x".into(),
            value,
        });
        let op = client_op(&mut session, append).ok().map(|op| op.line);
        assert_eq!(
            op.as_deref(),
            Some(format!("append x {}… (5,000 bytes)", "z".repeat(24)).as_str())
        );
    }

    use crate::cluster::Preset;
    use crate::raft::Status;

    fn node(id: NodeId, role: Role, last: Index, commit: Index) -> NodeState {
        NodeState {
            id,
            addr: "127.0.0.1:1".parse().unwrap(),
            up: true,
            status: Status {
                id,
                role,
                term: 2,
                voted_for: None,
                leader_id: None,
                commit,
                applied: commit,
                last_log_index: last,
                last_log_term: 2,
                persisted_index: last,
                first_index: 1,
                snapshot_index: 0,
                snapshot_term: 0,
                snapshot_bytes: 0,
                receiving_snapshot: None,
                election_elapsed: 12,
                election_timeout: 19,
                progress: Vec::new(),
                pre_candidate: false,
                transfer_target: None,
                voters: Vec::new(),
                learners: Vec::new(),
                conf_pending: false,
            },
            kv_len: 0,
            clock_rate: 1.0,
            slow: Duration::ZERO,
        }
    }

    fn cluster(nodes: Vec<NodeState>, paused: bool) -> ClusterStatus {
        ClusterStatus {
            nodes,
            paused,
            speed: 1.0,
            preset: Preset::Teach,
            tick: Duration::from_millis(100),
            groups: Vec::new(),
            cut_links: Vec::new(),
        }
    }

    fn message(kind: MessageKind, from: NodeId, to: NodeId) -> InFlightInfo {
        InFlightInfo {
            id: 7,
            from,
            to,
            kind,
            term: 2,
            sent_at: Duration::from_secs(3),
            due_at: Duration::from_secs(4),
            summary: String::new(),
        }
    }

    #[test]
    fn a_dropped_heartbeat_says_when_the_follower_times_out() {
        let st = cluster(
            vec![node(1, Role::Leader, 4, 4), node(2, Role::Follower, 4, 4)],
            false,
        );
        let text = drop_consequence(&message(MessageKind::Heartbeat, 1, 2), &st);
        assert_eq!(
            text,
            "node 2's election timer is not reset; it times out in ~7 ticks (≈0.7 s) unless \
             another heartbeat from node 1 arrives first"
        );
        let mut down = st.clone();
        down.nodes[1].up = false;
        let text = drop_consequence(&message(MessageKind::Heartbeat, 1, 2), &down);
        assert!(text.contains("down anyway"), "{text}");
        let paused = cluster(st.nodes.clone(), true);
        let text = drop_consequence(&message(MessageKind::Heartbeat, 1, 2), &paused);
        assert!(text.ends_with("(time is paused: nothing moves until you resume or step)"));
    }

    #[test]
    fn every_kind_of_dropped_message_has_its_own_consequence() {
        let st = cluster(vec![node(1, Role::Leader, 4, 4)], false);
        let kinds = [
            (MessageKind::AppendEntries, "cannot count toward a majority"),
            (MessageKind::AppendEntriesReply, "commitment waits"),
            (MessageKind::RequestVote, "gets no vote from it"),
            (MessageKind::RequestVoteReply, "a vote given stays given"),
            (MessageKind::PreVote, "majority of pre-votes"),
            (MessageKind::PreVoteReply, "before starting an election"),
            (MessageKind::InstallSnapshot, "snapshot chunk"),
            (MessageKind::InstallSnapshotReply, "sends it again"),
            (MessageKind::TimeoutNow, "transfer is aborted"),
        ];
        for (kind, words) in kinds {
            let text = drop_consequence(&message(kind, 1, 2), &st);
            assert!(text.contains(words), "{kind:?}: {text}");
            assert!(!deliver_consequence(&message(kind, 1, 2)).is_empty());
        }
    }

    fn pending(line: &str, node: NodeId, to_leader: bool, last: Index, at: u64) -> PendingOp {
        PendingOp {
            id: 0,
            line: line.into(),
            write: !line.starts_with("get"),
            node: Some(node),
            to_leader,
            last_index: last,
            sent_at: Duration::from_secs(at),
        }
    }

    #[test]
    fn a_pending_write_names_its_index_only_when_it_is_certain() {
        // A stale leader appended the write at 5 and cannot commit it.
        let st = cluster(vec![node(3, Role::Leader, 5, 4)], false);
        let now = Duration::from_secs(14);
        let put = pending("put y 2", 3, true, 4, 2);
        assert_eq!(
            pending_line(std::slice::from_ref(&put), &st, now, 200).unwrap(),
            "1 pending: put y 2 → node 3, index 5 (commit 4), 12 s"
        );
        // Two of our writes there, or other entries since: only where it comes after is certain.
        let two = [put.clone(), pending("put z 1", 3, true, 4, 13)];
        let line = pending_line(&two, &st, now, 200).unwrap();
        assert_eq!(
            line,
            "2 pending: put y 2 → node 3, after index 4 (last 5, commit 4), 12 s · put z 1 → \
             node 3, after index 4 (last 5, commit 4), 1.0 s"
        );
        let grown = cluster(vec![node(3, Role::Leader, 7, 4)], false);
        assert!(put
            .describe(now, grown.nodes.first(), 1)
            .contains("after index 4 (last 7, commit 4)"));
        // Not appended yet; sent to a follower; a read; the node went down.
        let behind = cluster(vec![node(3, Role::Leader, 4, 4)], false);
        assert!(put
            .describe(now, behind.nodes.first(), 1)
            .contains("not in its log"));
        let forwarded = pending("put y 2", 3, false, 4, 2);
        assert!(forwarded
            .describe(now, st.nodes.first(), 1)
            .contains("forwarded"));
        let get = pending("get y", 3, true, 4, 2);
        assert!(get
            .describe(now, st.nodes.first(), 0)
            .contains("read (no log entry)"));
        let mut down = st.clone();
        down.nodes[0].up = false;
        assert!(put.describe(now, down.nodes.first(), 1).contains("(down)"));
        assert_eq!(pending_line(&[], &st, now, 80), None);
    }

    #[test]
    fn the_pending_line_fits_its_width_by_counting_what_it_leaves_out() {
        let st = cluster(vec![node(3, Role::Leader, 9, 4)], false);
        let ops: Vec<PendingOp> = (0..5)
            .map(|i| pending(&format!("put k{i} {i}"), 3, true, 4, 1))
            .collect();
        let line = pending_line(&ops, &st, Duration::from_secs(3), 80).unwrap();
        assert!(line.chars().count() <= 80, "{line}");
        assert!(line.starts_with("5 pending: put k0 0 → node 3"), "{line}");
        assert!(line.contains("more"), "{line}");
    }

    #[test]
    fn the_tracker_lists_what_waits_and_forgets_what_ended() {
        let t = OpsTracker::default();
        let a = t.begin(pending("put a 1", 1, true, 0, 0));
        let b = t.begin(pending("get a", 1, true, 0, 0));
        assert_eq!((t.pending(), t.started()), (2, 2));
        t.end(a, "put a 1 → ok");
        let left = t.pending_ops();
        assert_eq!(left.len(), 1);
        assert_eq!((left[0].id, left[0].line.as_str()), (b, "get a"));
        assert_eq!(t.last(), Some(("put a 1 → ok".to_string(), true)));
    }
}
