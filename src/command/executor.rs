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
use crate::cluster::{ClusterError, ClusterHandle, LinkPolicy};
use crate::node::transport;
use crate::pb::{self, kv_client::KvClient};
use crate::raft::{NodeId, Rng, Role};

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
}

impl OpsTracker {
    /// Operations still waiting for their answer.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }

    /// Operations started so far.
    pub fn started(&self) -> u64 {
        self.started.load(Ordering::SeqCst)
    }

    /// The line of the last operation that ended, and whether it succeeded.
    pub fn last(&self) -> Option<(String, bool)> {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn begin(&self) {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.pending.fetch_add(1, Ordering::SeqCst);
    }

    fn end(&self, line: &str) {
        let ok = !line.starts_with("error");
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some((line.to_string(), ok));
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
        ops.begin();
        tokio::spawn(async move {
            let (line, outcome) = op.run(&c, record.then_some(&h)).await;
            let definite_failure = matches!(outcome, Outcome::Failed(_));
            if let (Some(s), false) = (session, matches!(outcome, Outcome::Unknown(_))) {
                idle.lock().unwrap_or_else(|p| p.into_inner()).push(s);
            }
            if let Some(f) = failed {
                *f.lock().unwrap_or_else(|p| p.into_inner()) = Some(definite_failure);
            }
            ops.end(&line);
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
            found(c.drop_message(id), format!("dropped message #{id}"), id)
        }
        PromptCommand::DupMessage(id) => match c.duplicate_message(id) {
            Some(copy) => Ok(format!("duplicated message #{id} as #{copy}")),
            None => Err(FaultError::NoMessage(id)),
        },
        PromptCommand::DeliverMessage(id) => found(
            c.deliver_message(id),
            format!("delivered message #{id} now"),
            id,
        ),
        PromptCommand::Challenge(_) | PromptCommand::Hint => Err(FaultError::DashboardOnly),
        other => Err(FaultError::NotAClusterCommand(other)),
    };
    match outcome {
        Ok(text) => text,
        Err(e) => format!("error: {line}: {e}"),
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
}

impl fmt::Display for FaultError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultError::Cluster(e) => e.fmt(f),
            FaultError::NoMessage(id) => write!(f, "no message #{id} in flight"),
            FaultError::NotAClusterCommand(cmd) => write!(f, "{cmd} is not a cluster command"),
            FaultError::DashboardOnly => f.write_str("only on the dashboard"),
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
    /// Sends the request to the leader (or any running node, which forwards it), records it in
    /// `history` (when given) and describes the outcome; also gives the outcome the answer proves.
    async fn run(self, c: &ClusterHandle, history: Option<&History>) -> (String, Outcome) {
        let st = c.status();
        let target: Option<NodeId> = st
            .leader()
            .or_else(|| st.nodes.iter().find(|n| n.up).map(|n| n.id));
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
}
