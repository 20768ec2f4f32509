//! Chaos: concurrent clients against a real cluster while a nemesis injects faults, then a verdict
//! from the linearizability checker — Jepsen's method, in one process. Used by `raftlab chaos`
//! and by the dashboard's nemesis key.
//!
//! ```text
//!   workers (--clients) ── get/put/append/cas on few keys ──► Kv gRPC ──► cluster
//!        │ every operation: invoke time, completion time, input, output (or unknown)
//!        ▼
//!   History ──► at the end: heal, wait until every node applied the same state,
//!               check(history) ──► linearizable / not (with the failing window) / gave up
//!   nemesis (seeded) ── partition · kill · slow · drop · drift · pause ──► ClusterHandle
//! ```
//!
//! An operation's outcome is what its client can know: a reply (ok), a definite refusal that
//! proves it was not applied (failed: "not the leader", an entry replaced by another leader's, a
//! state machine error), or unknown (a timeout, a lost connection, anything else). The checker
//! lets an unknown operation take effect at any time after its invocation, or never.
//!
//! Time stopped on the cluster (the dashboard's pause) stops the run's clocks too: no fault is
//! applied, no operation invoked and no time counted against the duration, a write's retries or
//! the recovery while the cluster is paused; the workers just wait. A run can be cut short with
//! [`ChaosOptions::cancel`] (the dashboard's `nemesis stop`): it then heals, waits for
//! convergence and checks, as at the end of its duration.
//!
//! The same seed gives the same fault schedule: the same fault kinds, timings and choices (the
//! node chosen by position, "the leader" resolved when the fault is applied) and the same
//! operations per worker; what the cluster does in between depends on real time.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tonic::transport::Channel;

use crate::check::{self, CheckResult, History, KvOp, KvOutput, Outcome};
use crate::cluster::{ClusterHandle, LinkPolicy};
use crate::node::kv_service::LEADER_ID;
use crate::node::transport;
use crate::pb::{self, kv_client::KvClient};
use crate::raft::{NodeId, Rng, Role};

/// A kind of fault the nemesis can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Nemesis {
    /// Random minority/majority splits, the leader isolated, or a bridge (two halves that share
    /// one node).
    Partition,
    /// Kill a random node or the leader; it restarts (from its storage) at the next heal.
    Kill,
    /// Add 50–400 ms to every message of a node.
    Slow,
    /// Lose 20–60% of the messages on random links.
    Drop,
    /// Make a node's clock run 0.3–3x.
    Drift,
    /// Freeze a node: its clock stops and its messages crawl (like SIGSTOP), then it thaws.
    Pause,
    /// Ask the leader to hand leadership over to a random follower (thesis §3.10).
    Transfer,
}

impl Nemesis {
    /// Every nemesis, in the order `--nemesis` lists them.
    pub const ALL: [Nemesis; 7] = [
        Nemesis::Partition,
        Nemesis::Kill,
        Nemesis::Slow,
        Nemesis::Drop,
        Nemesis::Drift,
        Nemesis::Pause,
        Nemesis::Transfer,
    ];

    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Nemesis::Partition => "partition",
            Nemesis::Kill => "kill",
            Nemesis::Slow => "slow",
            Nemesis::Drop => "drop",
            Nemesis::Drift => "drift",
            Nemesis::Pause => "pause",
            Nemesis::Transfer => "transfer",
        }
    }
}

/// Parses `--nemesis partition,kill,...` (`all` for every one; `restart` is accepted as part of
/// `kill`). Unknown names are an error that lists the known ones.
pub fn parse_nemeses(s: &str) -> Result<Vec<Nemesis>, String> {
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let found: Vec<Nemesis> = match name {
            "all" => Nemesis::ALL.to_vec(),
            "restart" => vec![Nemesis::Kill],
            other => match Nemesis::ALL.iter().find(|n| n.name() == other) {
                Some(n) => vec![*n],
                None => {
                    let known: Vec<&str> = Nemesis::ALL.iter().map(|n| n.name()).collect();
                    return Err(format!(
                        "unknown nemesis {other:?}; known: {}, all",
                        known.join(", ")
                    ));
                }
            },
        };
        for n in found {
            if !out.contains(&n) {
                out.push(n);
            }
        }
    }
    if out.is_empty() {
        return Err("--nemesis needs at least one name (or `all`)".into());
    }
    out.sort();
    Ok(out)
}

/// What a chaos run does.
#[derive(Clone, Debug)]
pub struct ChaosOptions {
    /// Seed of the fault schedule and of the workers' operations.
    pub seed: u64,
    /// How long the workers and the nemesis run.
    pub duration: Duration,
    /// Concurrent client workers.
    pub clients: u64,
    /// Keys the workers share (few, so that operations conflict).
    pub keys: u64,
    /// The faults to inject (none: a fault-free run).
    pub nemeses: Vec<Nemesis>,
    /// Time limit of the linearizability check.
    pub check_budget: Duration,
    /// How long to wait for the cluster to recover after the final heal.
    pub recovery: Duration,
    /// Print each fault as it is applied.
    pub verbose: bool,
    /// Raised by the caller to end the run early (it then heals, converges and checks as
    /// usual); the run only reads it. `None`: the run lasts `duration`.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl ChaosOptions {
    /// A run of `duration` with the defaults of `raftlab chaos`: 8 clients on 5 keys, every
    /// nemesis, a 60 s check budget, 30 s to recover, quiet, not cancellable.
    pub fn new(seed: u64, duration: Duration) -> Self {
        Self {
            seed,
            duration,
            clients: 8,
            keys: 5,
            nemeses: Nemesis::ALL.to_vec(),
            check_budget: Duration::from_secs(60),
            recovery: Duration::from_secs(30),
            verbose: false,
            cancel: None,
        }
    }
}

/// What a chaos run found.
#[derive(Debug)]
pub struct ChaosReport {
    /// Every client operation.
    pub history: History,
    /// The faults applied, in order, with their time.
    pub faults: Vec<String>,
    /// Leaders seen during the run (polled every 25 ms: a lower bound).
    pub elections: u64,
    /// Whether every node recovered and applied the same state after the final heal.
    pub converged: Result<(), String>,
    /// The checker's verdict.
    pub verdict: CheckResult,
    /// "UNSAFE: <rules>" when the cluster ran with unsafe rules on: a failure is then expected.
    pub unsafe_rules: Option<String>,
}

impl ChaosReport {
    /// True when the history is linearizable and the nodes converged.
    pub fn passed(&self) -> bool {
        matches!(self.verdict, CheckResult::Linearizable) && self.converged.is_ok()
    }
}

// ---------------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------------

fn kv_client(cluster: &ClusterHandle, id: NodeId) -> Option<KvClient<Channel>> {
    Some(KvClient::new(transport::channel(cluster.addr(id)?)))
}

/// What a refusal proves. A request that reached no state machine is `Failed`; anything that may
/// have been applied is `Unknown`. The dashboard records its user's operations with it too.
pub fn outcome_of(status: &tonic::Status) -> Outcome {
    use tonic::Code;
    let message = status.message();
    let definite = match status.code() {
        // The node refused before proposing, or the entry was replaced before it committed.
        Code::Unavailable => {
            message.starts_with("not the leader")
                || message.starts_with("no leader known")
                || message.starts_with("not applied")
                || message.starts_with("leader ")
        }
        // The state machine refused it (deterministically, on every replica): nothing changed.
        Code::FailedPrecondition | Code::InvalidArgument => true,
        _ => false,
    };
    let text = format!("{:?}: {message}", status.code());
    if definite {
        Outcome::Failed(text)
    } else {
        Outcome::Unknown(text)
    }
}

/// Why an operation did not end with an answer, read from the error its history records (the
/// text [`outcome_of`] wrote, `"Code: message"`). The first five are definite refusals (failed:
/// not applied); the rest leave the outcome unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FailureKind {
    /// The node asked was not the leader and named the one it follows: the client goes there.
    Redirected,
    /// No leader was known (an election was under way, or the leader was cut off).
    NoLeader,
    /// The leader was handing leadership over (thesis §3.10) and took no proposals meanwhile.
    Transfer,
    /// The entry was appended, then replaced by a new leader's before it committed (§5.3).
    Replaced,
    /// The state machine (or the service) refused the request: a stale session, a bad argument.
    Refused,
    /// No answer within the deadline: it may still be applied (a leader that cannot commit, a
    /// slow or partitioned node).
    Timeout,
    /// The node stopped (killed) before it knew the outcome.
    NodeStopped,
    /// The node could not be reached (down, or the connection broke).
    Unreachable,
    /// Still waiting for its answer when the history was read.
    InFlight,
    /// Anything else.
    Other,
}

impl FailureKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [FailureKind; 10] = [
        FailureKind::Redirected,
        FailureKind::NoLeader,
        FailureKind::Transfer,
        FailureKind::Replaced,
        FailureKind::Refused,
        FailureKind::Timeout,
        FailureKind::NodeStopped,
        FailureKind::Unreachable,
        FailureKind::InFlight,
        FailureKind::Other,
    ];

    /// The kind of a recorded error (`Operation::error`).
    pub fn of(error: &str) -> FailureKind {
        let (code, message) = error.split_once(": ").unwrap_or(("", error));
        let lower = message.to_ascii_lowercase();
        match code {
            _ if error == "in flight" => FailureKind::InFlight,
            "Unavailable" if message.starts_with("not the leader for long") => {
                FailureKind::Transfer
            }
            "Unavailable" if message.starts_with("not the leader") => FailureKind::Redirected,
            "Unavailable"
                if message.starts_with("no leader known")
                    || (message.starts_with("leader ") && message.contains("no known address")) =>
            {
                FailureKind::NoLeader
            }
            "Unavailable" if message.starts_with("not applied") => FailureKind::Replaced,
            "Unavailable" if lower.contains("node stopped") => FailureKind::NodeStopped,
            "Unavailable" => FailureKind::Unreachable,
            "FailedPrecondition" | "InvalidArgument" => FailureKind::Refused,
            "DeadlineExceeded" => FailureKind::Timeout,
            "Cancelled" if lower.contains("timeout") || lower.contains("deadline") => {
                FailureKind::Timeout
            }
            "Unknown" if lower.contains("node stopped") => FailureKind::NodeStopped,
            "Unknown" if lower.contains("too busy") => FailureKind::Timeout,
            _ if lower.contains("dropped without an outcome") => FailureKind::Other,
            _ if lower.contains("connection") || lower.contains("transport") => {
                FailureKind::Unreachable
            }
            _ => FailureKind::Other,
        }
    }

    /// A few words saying what happened, for reports: `no leader (an election was on)`.
    pub fn describe(self) -> &'static str {
        match self {
            FailureKind::Redirected => "redirected (asked a follower; it named the leader)",
            FailureKind::NoLeader => "no leader (during an election, or cut off)",
            FailureKind::Transfer => "refused during a leader transfer",
            FailureKind::Replaced => "entry replaced by a new leader's before commit",
            FailureKind::Refused => "refused by the state machine",
            FailureKind::Timeout => "timed out (may still apply)",
            FailureKind::NodeStopped => "node stopped before answering",
            FailureKind::Unreachable => "node unreachable",
            FailureKind::InFlight => "still waiting",
            FailureKind::Other => "other",
        }
    }
}

/// `141 failed: 90 no leader (…), 40 redirected (…), 11 refused during a leader transfer`, or
/// `None` when `errors` is empty. Kinds are listed most frequent first.
pub fn explain_failures<'a>(
    what: &str,
    errors: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    let mut counts = std::collections::BTreeMap::<FailureKind, u64>::new();
    let mut total = 0u64;
    for e in errors {
        *counts.entry(FailureKind::of(e)).or_default() += 1;
        total += 1;
    }
    if total == 0 {
        return None;
    }
    let mut by_count: Vec<(FailureKind, u64)> = counts.into_iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let parts: Vec<String> = by_count
        .iter()
        .map(|(k, n)| format!("{n} {}", k.describe()))
        .collect();
    Some(format!("{total} {what}: {}", parts.join(", ")))
}

/// The failed and the unknown operations of `ops` (those still in flight left out), each
/// explained by kind (see [`explain_failures`]): zero, one or two lines.
pub fn explain_outcomes(ops: &[check::Operation]) -> Vec<String> {
    use check::OpStatus;
    let errors = |status: OpStatus| {
        ops.iter()
            .filter(move |o| o.status() == status)
            .map(|o| o.error.as_deref().unwrap_or(""))
            // Still waiting: not an outcome yet (the counts list them apart).
            .filter(|e| *e != "in flight")
    };
    let mut out = Vec::new();
    out.extend(explain_failures("failed", errors(OpStatus::Failed)));
    out.extend(explain_failures("unknown", errors(OpStatus::Unknown)));
    out
}

/// The leader hint of a refusal, if any.
fn hint_of(status: &tonic::Status) -> Option<NodeId> {
    status
        .metadata()
        .get(LEADER_ID)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}

/// One attempt of an operation against a node, writes in session (`client_id`, `seq`): its
/// outcome, and the leader hint of a refusal.
async fn run_op(
    kv: &mut KvClient<Channel>,
    op: &KvOp,
    client_id: u64,
    seq: u64,
) -> (Outcome, Option<NodeId>) {
    const TIMEOUT: Duration = Duration::from_secs(2);
    fn req<T>(t: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(t);
        r.set_timeout(TIMEOUT);
        r
    }
    let some = |found: bool, v: String| found.then_some(v);
    let result = match op.clone() {
        KvOp::Get { key } => kv.get(req(pb::GetRequest { key })).await.map(|r| {
            let r = r.into_inner();
            KvOutput::Get {
                value: some(r.found, r.value),
            }
        }),
        KvOp::Put { key, value } => kv
            .put(req(pb::PutRequest {
                key,
                value,
                client_id,
                seq,
            }))
            .await
            .map(|r| {
                let r = r.into_inner();
                KvOutput::Put {
                    previous: some(r.had_previous, r.previous),
                }
            }),
        KvOp::Delete { key } => kv
            .delete(req(pb::DeleteRequest {
                key,
                client_id,
                seq,
            }))
            .await
            .map(|r| KvOutput::Delete {
                existed: r.into_inner().existed,
            }),
        KvOp::Append { key, value } => kv
            .append(req(pb::AppendRequest {
                key,
                value,
                client_id,
                seq,
            }))
            .await
            .map(|r| KvOutput::Append {
                value: r.into_inner().value,
            }),
        KvOp::Cas {
            key,
            expected,
            new_value,
        } => kv
            .cas(req(pb::CasRequest {
                key,
                expect_absent: expected.is_none(),
                expected: expected.unwrap_or_default(),
                new_value,
                client_id,
                seq,
            }))
            .await
            .map(|r| {
                let r = r.into_inner();
                KvOutput::Cas {
                    swapped: r.swapped,
                    previous: some(r.found, r.current),
                }
            }),
    };
    match result {
        Ok(output) => (Outcome::Ok(output), None),
        Err(status) => (outcome_of(&status), hint_of(&status)),
    }
}

/// The next operation of a worker: mostly reads and appends, some puts, cas and deletes, over
/// `keys` keys, with values unique to the worker.
fn next_op(rng: &mut Rng, worker: u64, n: u64, keys: u64, last_seen: &[Option<String>]) -> KvOp {
    let k = rng.range(0, keys.max(1));
    let key = format!("k{k}");
    let value = format!("{worker}.{n}");
    match rng.range(0, 100) {
        0..=34 => KvOp::Get { key },
        35..=54 => KvOp::Append {
            key,
            value: format!("{value} "),
        },
        55..=74 => KvOp::Put { key, value },
        75..=94 => KvOp::Cas {
            key,
            expected: last_seen.get(k as usize).cloned().flatten(),
            new_value: value,
        },
        _ => KvOp::Delete { key },
    }
}

async fn worker(
    cluster: ClusterHandle,
    worker: u64,
    seed: u64,
    keys: u64,
    history: History,
    stop: Stop,
) {
    let ids = cluster.ids();
    let mut rng = Rng::derive(seed, 1_000 + worker);
    let mut clients: std::collections::BTreeMap<NodeId, KvClient<Channel>> = ids
        .iter()
        .filter_map(|id| Some((*id, kv_client(&cluster, *id)?)))
        .collect();
    let mut target = ids[(worker as usize) % ids.len()];
    let mut last_seen: Vec<Option<String>> = vec![None; keys as usize];
    let client_id = 10_000 + worker;
    let mut seq = 0u64;
    let mut n = 0u64;
    let next_target = |target: NodeId, hint: Option<NodeId>| match hint {
        Some(l) if l != target && ids.contains(&l) => l,
        _ => ids[(ids.iter().position(|i| *i == target).unwrap_or(0) + 1) % ids.len()],
    };
    while !stop.is_set() {
        // No new operation while time is stopped.
        wait_while_paused(&cluster, Some(&stop)).await;
        if stop.is_set() {
            break;
        }
        n += 1;
        let op = next_op(&mut rng, worker, n, keys, &last_seen);
        if !op.is_read() {
            seq += 1;
        }
        let pending = history.invoke(worker, op.clone());
        let Some(kv) = clients.get_mut(&target) else {
            break;
        };
        let (mut outcome, mut hint) = run_op(kv, &op, client_id, seq).await;
        // A write whose outcome is unknown is retried in its session until it is answered:
        // exactly-once makes the retry return the first application's result (or apply it now,
        // once), so the operation took effect exactly once between its invocation and the
        // answer. That turns nearly every unknown into a known outcome, which keeps the
        // checker's search small. Reads are not retried (an unknown read constrains nothing).
        // Paused time does not count against the 30 s of retries.
        let mut retry_until = Instant::now() + Duration::from_secs(30);
        while matches!(outcome, Outcome::Unknown(_))
            && !op.is_read()
            && Instant::now() < retry_until
        {
            target = next_target(target, hint);
            tokio::time::sleep(Duration::from_millis(20)).await;
            retry_until += wait_while_paused(&cluster, None).await;
            let Some(kv) = clients.get_mut(&target) else {
                break;
            };
            let (again, h) = run_op(kv, &op, client_id, seq).await;
            hint = h;
            outcome = match again {
                // A refusal of the retry proves nothing about the first attempt.
                Outcome::Failed(_) => outcome,
                other => other,
            };
        }
        let ok = matches!(outcome, Outcome::Ok(_));
        if let (Outcome::Ok(out), Some(slot)) = (&outcome, key_slot(&op)) {
            if let Some(seen) = seen_value(out) {
                if let Some(s) = last_seen.get_mut(slot) {
                    *s = seen;
                }
            }
        }
        pending.complete(outcome);
        if !ok {
            target = next_target(target, hint);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Index of the key an operation touches (`k<i>`).
fn key_slot(op: &KvOp) -> Option<usize> {
    let key = match op {
        KvOp::Get { key }
        | KvOp::Put { key, .. }
        | KvOp::Delete { key }
        | KvOp::Append { key, .. }
        | KvOp::Cas { key, .. } => key,
    };
    key.strip_prefix('k')?.parse().ok()
}

/// The value an output shows the key had (after the operation), when it shows one.
fn seen_value(out: &KvOutput) -> Option<Option<String>> {
    match out {
        KvOutput::Get { value } => Some(value.clone()),
        KvOutput::Append { value } => Some(Some(value.clone())),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The nemesis
// ---------------------------------------------------------------------------------------------

/// The faults in force, to undo at the next heal.
#[derive(Default)]
struct Active {
    killed: Vec<NodeId>,
    paused: Vec<NodeId>,
}

fn pick(rng: &mut Rng, ids: &[NodeId]) -> NodeId {
    ids[rng.range(0, ids.len() as u64) as usize]
}

/// Applies one fault of kind `n`; returns its description.
async fn apply(cluster: &ClusterHandle, rng: &mut Rng, n: Nemesis, active: &mut Active) -> String {
    let ids = cluster.ids();
    let leader = cluster.status().leader();
    // "the leader" half of the time when there is one, a random node otherwise.
    let target = |rng: &mut Rng| -> NodeId {
        let random = pick(rng, &ids);
        match leader {
            Some(l) if rng.chance(0.5) => l,
            _ => random,
        }
    };
    match n {
        Nemesis::Partition => {
            let mut shuffled = ids.clone();
            for i in (1..shuffled.len()).rev() {
                let j = rng.range(0, i as u64 + 1) as usize;
                shuffled.swap(i, j);
            }
            match rng.range(0, 3) {
                0 => {
                    let victim = target(rng);
                    let _ = cluster.isolate(victim);
                    format!("isolate node {victim}")
                }
                1 if ids.len() >= 3 => {
                    // A bridge: two halves that cannot talk, except through one node.
                    let mid = shuffled.len() / 2;
                    let bridge = shuffled[mid];
                    let (a, b) = (&shuffled[..mid], &shuffled[mid + 1..]);
                    for x in a {
                        for y in b {
                            let cut = LinkPolicy {
                                cut: true,
                                ..LinkPolicy::default()
                            };
                            let _ = cluster.set_link(*x, *y, cut);
                            let _ = cluster.set_link(*y, *x, cut);
                        }
                    }
                    format!("bridge {a:?} <-> {bridge} <-> {b:?}")
                }
                _ => {
                    let cut = rng.range(1, shuffled.len().max(2) as u64) as usize;
                    let (a, b) = shuffled.split_at(cut.min(shuffled.len()));
                    let groups = vec![a.to_vec(), b.to_vec()];
                    let _ = cluster.partition(&groups);
                    format!("partition {a:?} | {b:?}")
                }
            }
        }
        Nemesis::Kill => {
            let victim = target(rng);
            match cluster.kill(victim).await {
                Ok(()) => {
                    active.killed.push(victim);
                    format!("kill node {victim}")
                }
                Err(e) => format!("kill node {victim}: {e}"),
            }
        }
        Nemesis::Slow => {
            let victim = target(rng);
            let ms = rng.range(50, 401);
            let _ = cluster.slow(victim, Duration::from_millis(ms));
            format!("slow node {victim} by {ms} ms")
        }
        Nemesis::Drop => {
            let rate = rng.range(20, 61) as f64 / 100.0;
            let mut links = Vec::new();
            for _ in 0..ids.len() {
                let (a, b) = (pick(rng, &ids), pick(rng, &ids));
                if a != b {
                    let _ = cluster.set_link(
                        a,
                        b,
                        LinkPolicy {
                            drop_rate: rate,
                            ..LinkPolicy::default()
                        },
                    );
                    links.push(format!("{a}->{b}"));
                }
            }
            format!("drop {:.0}% on {}", rate * 100.0, links.join(" "))
        }
        Nemesis::Drift => {
            let victim = target(rng);
            let rate = [0.3, 0.5, 2.0, 3.0][rng.range(0, 4) as usize];
            let _ = cluster.set_clock_rate(victim, rate);
            format!("clock of node {victim} at {rate}x")
        }
        Nemesis::Pause => {
            let victim = target(rng);
            let _ = cluster.set_clock_rate(victim, 0.0);
            let _ = cluster.slow(victim, Duration::from_millis(1_500));
            active.paused.push(victim);
            format!("pause node {victim}")
        }
        Nemesis::Transfer => {
            let followers: Vec<NodeId> =
                ids.iter().copied().filter(|i| Some(*i) != leader).collect();
            match leader {
                Some(l) if !followers.is_empty() => {
                    let to = pick(rng, &followers);
                    match cluster.transfer(to).await {
                        Ok(from) => format!("transfer leadership {from} -> {to}"),
                        Err(e) => format!("transfer leadership {l} -> {to}: {e}"),
                    }
                }
                _ => "transfer: no leader to ask".to_string(),
            }
        }
    }
}

/// Undoes every fault: network and clocks healed, killed nodes restarted.
async fn heal(cluster: &ClusterHandle, active: &mut Active) {
    cluster.heal();
    for id in active.paused.drain(..) {
        let _ = cluster.slow(id, Duration::ZERO);
    }
    for id in active.killed.drain(..) {
        let _ = cluster.restart(id).await;
    }
}

async fn nemesis(
    cluster: ClusterHandle,
    options: ChaosOptions,
    stop: Stop,
    started: Instant,
) -> Vec<String> {
    let mut rng = Rng::derive(options.seed, 0xC4A0);
    let mut active = Active::default();
    let mut faults = Vec::new();
    if options.nemeses.is_empty() {
        return faults;
    }
    while !stop.is_set() {
        // A quiet spell, a fault, hold it, heal.
        let quiet = Duration::from_millis(rng.range(300, 1_500));
        let hold = Duration::from_millis(rng.range(500, 3_000));
        if sleep_running(&cluster, quiet, &stop).await {
            break;
        }
        let kind = options.nemeses[rng.range(0, options.nemeses.len() as u64) as usize];
        let what = apply(&cluster, &mut rng, kind, &mut active).await;
        let line = format!("{:7.2} s  {what}", started.elapsed().as_secs_f64());
        if options.verbose {
            println!("nemesis {line}");
        }
        faults.push(line);
        sleep_running(&cluster, hold, &stop).await;
        heal(&cluster, &mut active).await;
    }
    heal(&cluster, &mut active).await;
    faults
}

/// How often the run's waits look at the stop flags and at the cluster's pause.
const SLICE: Duration = Duration::from_millis(20);

/// When a run's tasks stop: at the end of its duration, or when the caller cancels it.
#[derive(Clone, Debug)]
struct Stop {
    /// Raised by the run itself.
    end: Arc<AtomicBool>,
    /// [`ChaosOptions::cancel`]: raised by the caller (only read here).
    cancel: Option<Arc<AtomicBool>>,
}

impl Stop {
    fn is_set(&self) -> bool {
        self.end.load(Ordering::Relaxed)
            || self
                .cancel
                .as_ref()
                .is_some_and(|c| c.load(Ordering::Relaxed))
    }
}

/// Sleeps for `d` of running time (time while the cluster is paused does not count) unless
/// `stop` is raised first; returns whether it was.
async fn sleep_running(cluster: &ClusterHandle, d: Duration, stop: &Stop) -> bool {
    let mut left = d;
    while !left.is_zero() {
        if stop.is_set() {
            return true;
        }
        let paused = cluster.clock().is_paused();
        let started = Instant::now();
        tokio::time::sleep(SLICE.min(left)).await;
        if !paused {
            left = left.saturating_sub(started.elapsed());
        }
    }
    stop.is_set()
}

/// Waits while the cluster is paused (until `stop`, when given, is raised); returns how long.
async fn wait_while_paused(cluster: &ClusterHandle, stop: Option<&Stop>) -> Duration {
    let started = Instant::now();
    while cluster.clock().is_paused() && !stop.is_some_and(Stop::is_set) {
        tokio::time::sleep(SLICE).await;
    }
    started.elapsed()
}

// ---------------------------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------------------------

/// Waits until every node is up, one leader is followed by all, and every node applied the same
/// index with the same contents; gives up after `within` of running (unpaused) time.
async fn converge(cluster: &ClusterHandle, within: Duration) -> Result<(), String> {
    let mut deadline = Instant::now() + within;
    let mut last = String::new();
    while Instant::now() < deadline {
        deadline += wait_while_paused(cluster, None).await;
        let st = cluster.status();
        let down: Vec<NodeId> = st.nodes.iter().filter(|n| !n.up).map(|n| n.id).collect();
        let leader = st
            .nodes
            .iter()
            .filter(|n| n.up && n.status.role == Role::Leader)
            .max_by_key(|n| n.status.term);
        let applied: std::collections::BTreeSet<_> =
            st.nodes.iter().map(|n| n.status.applied).collect();
        last = format!(
            "down {down:?}, leader {:?}, applied indexes {applied:?}",
            leader.map(|l| l.id)
        );
        if down.is_empty() && leader.is_some() && applied.len() == 1 {
            let mut contents = std::collections::BTreeSet::new();
            for id in cluster.ids() {
                if let Ok(kv) = cluster.kv(id).await {
                    contents.insert(kv);
                }
            }
            let again: std::collections::BTreeSet<_> = cluster
                .status()
                .nodes
                .iter()
                .map(|n| n.status.applied)
                .collect();
            if contents.len() == 1 && again == applied {
                return Ok(());
            }
            last += &format!(", {} different contents", contents.len());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!(
        "no convergence within {} s: {last}",
        within.as_secs()
    ))
}

/// Runs workers and the nemesis against `cluster` for `options.duration`, heals, waits for
/// convergence and checks the history.
pub async fn run_chaos(cluster: &ClusterHandle, options: &ChaosOptions) -> ChaosReport {
    run_chaos_into(cluster, options, History::new()).await
}

/// The same, recording into `history` (which may hold other clients' operations too, such as
/// the dashboard's): the verdict covers all of it.
pub async fn run_chaos_into(
    cluster: &ClusterHandle,
    options: &ChaosOptions,
    history: History,
) -> ChaosReport {
    let stop = Stop {
        end: Arc::new(AtomicBool::new(false)),
        cancel: options.cancel.clone(),
    };
    let started = Instant::now();
    // Leaders seen, by polling (the event bus may skip events under load; a poll may miss a
    // leader that lasted less than its period, so this is a lower bound).
    let watcher = {
        let cluster = cluster.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut seen = std::collections::BTreeSet::new();
            while !stop.is_set() {
                for n in cluster.status().nodes {
                    if n.up && n.status.role == Role::Leader {
                        seen.insert((n.status.term, n.id));
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            seen.len() as u64
        })
    };
    let workers: Vec<_> = (1..=options.clients)
        .map(|w| {
            tokio::spawn(worker(
                cluster.clone(),
                w,
                options.seed,
                options.keys,
                history.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let nem = tokio::spawn(nemesis(
        cluster.clone(),
        options.clone(),
        stop.clone(),
        started,
    ));
    sleep_running(cluster, options.duration, &stop).await;
    stop.end.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let faults = nem.await.unwrap_or_default();
    let converged = converge(cluster, options.recovery).await;
    let elections = watcher.await.unwrap_or(0);
    let ops = history.operations();
    let budget = options.check_budget;
    let verdict = tokio::task::spawn_blocking(move || check::check(&ops, budget))
        .await
        .unwrap_or_else(|e| CheckResult::GaveUp {
            key: String::new(),
            reason: format!("the checker panicked: {e}"),
        });
    ChaosReport {
        history,
        faults,
        elections,
        converged,
        verdict,
        unsafe_rules: cluster.rules().unsafe_marker(),
    }
}

/// The printed summary of a run.
pub fn summary(report: &ChaosReport) -> String {
    let counts = report.history.counts();
    let mut out = format!(
        "operations: {} ok, {} failed (known not applied), {} unknown\n",
        counts.ok, counts.failed, counts.unknown
    );
    for line in explain_outcomes(&report.history.operations()) {
        out += &format!("  {line}\n");
    }
    out += &format!(
        "faults: {} applied; leaders elected: {}\n",
        report.faults.len(),
        report.elections
    );
    for f in &report.faults {
        out += &format!("  {f}\n");
    }
    out += &match &report.converged {
        Ok(()) => "converged: every node applied the same state after the final heal\n".into(),
        Err(e) => format!("NOT CONVERGED: {e}\n"),
    };
    out += &format!("verdict: {}\n", report.verdict);
    if let Some(marker) = &report.unsafe_rules {
        out += &format!("this run was {marker} (rules that break Raft on purpose)\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nemesis_names_parse_and_unknown_ones_are_refused() {
        assert_eq!(parse_nemeses("all"), Ok(Nemesis::ALL.to_vec()));
        assert_eq!(
            parse_nemeses("kill,partition,restart"),
            Ok(vec![Nemesis::Partition, Nemesis::Kill])
        );
        assert!(parse_nemeses("fire").unwrap_err().contains("known:"));
        assert_eq!(parse_nemeses("transfer"), Ok(vec![Nemesis::Transfer]));
        assert!(parse_nemeses(",").is_err());
    }

    #[test]
    fn options_new_has_the_defaults_of_raftlab_chaos_and_no_cancel() {
        let o = ChaosOptions::new(3, Duration::from_secs(10));
        assert_eq!((o.seed, o.duration), (3, Duration::from_secs(10)));
        assert_eq!((o.clients, o.keys), (8, 5));
        assert_eq!(o.nemeses, Nemesis::ALL.to_vec());
        assert!(o.cancel.is_none() && !o.verbose);
    }

    #[test]
    fn stop_is_raised_by_the_run_or_by_the_callers_cancel() {
        let cancel = Arc::new(AtomicBool::new(false));
        let stop = Stop {
            end: Arc::new(AtomicBool::new(false)),
            cancel: Some(cancel.clone()),
        };
        assert!(!stop.is_set());
        cancel.store(true, Ordering::Relaxed);
        assert!(stop.is_set());
        let own = Stop {
            end: Arc::new(AtomicBool::new(false)),
            cancel: None,
        };
        own.end.store(true, Ordering::Relaxed);
        assert!(own.is_set());
    }

    #[test]
    fn the_same_seed_gives_the_same_operations() {
        let ops = |seed| {
            let mut rng = Rng::derive(seed, 1_001);
            (0..50)
                .map(|n| format!("{:?}", next_op(&mut rng, 1, n, 5, &[])))
                .collect::<Vec<_>>()
        };
        assert_eq!(ops(7), ops(7));
        assert_ne!(ops(7), ops(8));
    }

    /// The errors a history records, as `outcome_of` writes them, by the kind they are counted as.
    #[test]
    fn every_refusal_and_unknown_outcome_is_classified_by_what_happened() {
        let kind = |s: tonic::Status| {
            let text = match outcome_of(&s) {
                Outcome::Failed(t) | Outcome::Unknown(t) => t,
                Outcome::Ok(_) => unreachable!(),
            };
            FailureKind::of(&text)
        };
        use FailureKind::*;
        let cases = [
            (tonic::Status::unavailable("not the leader; the leader is node 2"), Redirected),
            (tonic::Status::unavailable("no leader known"), NoLeader),
            (tonic::Status::unavailable("leader 3 has no known address"), NoLeader),
            (
                tonic::Status::unavailable(
                    "not the leader for long: leadership is being transferred to node 4; retry there",
                ),
                Transfer,
            ),
            (
                tonic::Status::unavailable(
                    "not applied: entry 7 was replaced by a new leader's (safe to retry)",
                ),
                Replaced,
            ),
            (tonic::Status::failed_precondition("stale seq"), Refused),
            (tonic::Status::invalid_argument("key must not be empty"), Refused),
            (
                tonic::Status::deadline_exceeded(
                    "outcome unknown: not applied within 2000 ms (it may still be)",
                ),
                Timeout,
            ),
            (tonic::Status::cancelled("Timeout expired"), Timeout),
            (tonic::Status::unknown("outcome unknown: node stopped"), NodeStopped),
            (tonic::Status::unavailable("node stopped"), NodeStopped),
            (tonic::Status::unavailable("tcp connect error: Connection refused"), Unreachable),
            (tonic::Status::internal("undecodable result: x"), Other),
        ];
        for (status, want) in cases {
            let msg = status.message().to_string();
            assert_eq!(kind(status), want, "{msg}");
        }
        assert_eq!(FailureKind::of("in flight"), InFlight);
        assert_eq!(FailureKind::of("dropped without an outcome"), Other);
    }

    #[test]
    fn failures_are_explained_most_frequent_first() {
        let errors = [
            "Unavailable: no leader known",
            "Unavailable: not the leader; the leader is node 2",
            "Unavailable: no leader known",
            "Unavailable: not the leader for long: leadership is being transferred to node 4",
        ];
        assert_eq!(
            explain_failures("failed", errors).unwrap(),
            "4 failed: 2 no leader (during an election, or cut off), 1 redirected (asked a \
             follower; it named the leader), 1 refused during a leader transfer"
        );
        assert_eq!(explain_failures("failed", []), None);
        let h = History::new();
        h.invoke(1, KvOp::Get { key: "k".into() })
            .complete(Outcome::Failed("Unavailable: no leader known".into()));
        h.invoke(1, KvOp::Get { key: "k".into() })
            .complete(Outcome::Unknown(
                "DeadlineExceeded: outcome unknown: not applied within 2000 ms".into(),
            ));
        h.invoke(1, KvOp::Get { key: "k".into() })
            .complete(Outcome::Ok(KvOutput::Get { value: None }));
        assert_eq!(
            explain_outcomes(&h.operations()),
            vec![
                "1 failed: 1 no leader (during an election, or cut off)".to_string(),
                "1 unknown: 1 timed out (may still apply)".to_string(),
            ]
        );
    }

    #[test]
    fn refusals_that_prove_nothing_was_applied_are_failures() {
        let failed = |s: tonic::Status| matches!(outcome_of(&s), Outcome::Failed(_));
        assert!(failed(tonic::Status::unavailable(
            "not the leader; the leader is node 2"
        )));
        assert!(failed(tonic::Status::unavailable("no leader known")));
        assert!(failed(tonic::Status::failed_precondition("stale seq")));
        assert!(!failed(tonic::Status::unavailable("connection refused")));
        assert!(!failed(tonic::Status::deadline_exceeded("outcome unknown")));
        assert!(!failed(tonic::Status::unknown(
            "outcome unknown: node stopped"
        )));
    }
}
