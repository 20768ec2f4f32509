//! The commander: carries out the dashboard's effects against the cluster, off the UI loop, and
//! reports each outcome as one line. Faults run in order; client operations run concurrently
//! (a write may wait seconds at teaching speed and must not hold up a kill). Every client
//! operation is recorded in the dashboard's [`History`] as client 0, with the outcome its
//! answer proves ([`crate::chaos::outcome_of`]); the nemesis runs as a background job
//! ([`super::jobs`]) recording into the same history.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::app::{Effect, Notice};
use super::jobs::{self, NemesisJob};
use super::prompt::{LinkChange, PromptCommand};
use crate::chaos::outcome_of;
use crate::check::{History, KvOp, KvOutput, Outcome};
use crate::cluster::{ClusterHandle, LinkPolicy};
use crate::node::transport;
use crate::pb::{self, kv_client::KvClient};
use crate::raft::{NodeId, Rng, Role};

/// A client session of the dashboard: its own id, one sequence number per write.
struct Session {
    client_id: u64,
    seq: u64,
    rng: Rng,
}

/// The dashboard user's client id in the history (the nemesis' workers are 1, 2, ...).
pub const USER_CLIENT: u64 = 0;

/// Runs effects until the dashboard hangs up, recording client operations into `history`.
pub async fn run(
    cluster: ClusterHandle,
    history: History,
    mut effects: mpsc::Receiver<Effect>,
    results: mpsc::Sender<String>,
    notices: mpsc::Sender<Notice>,
) {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut rng = Rng::new(seed);
    let mut session = Session {
        client_id: rng.range(1 << 20, 1 << 40),
        seq: 0,
        rng,
    };
    // Dropped (cancelled) when the dashboard hangs up.
    let mut nemesis: Option<NemesisJob> = None;
    while let Some(effect) = effects.recv().await {
        let text = match effect {
            Effect::AlignTimers => align(&cluster, false).await,
            Effect::SpreadTimers => align(&cluster, true).await,
            Effect::Run(PromptCommand::Nemesis(duration)) => match &nemesis {
                Some(job) if !job.is_finished() => {
                    "error: a nemesis is already running (nemesis stop, or C, ends it)".into()
                }
                _ => {
                    let seed = session.rng.range(0, 1 << 32);
                    let options = jobs::nemesis_options(seed, duration);
                    let text = format!(
                        "nemesis: {} s of random faults, {} clients on {} keys (C or nemesis \
                         stop ends it)",
                        duration.as_secs(),
                        options.clients,
                        options.keys
                    );
                    nemesis = Some(jobs::start_nemesis(
                        cluster.clone(),
                        history.clone(),
                        options,
                        notices.clone(),
                    ));
                    text
                }
            },
            Effect::Run(PromptCommand::NemesisStop) => match &nemesis {
                Some(job) if !job.is_finished() && !job.stopping() => {
                    job.stop();
                    "stopping the nemesis: healing, then waiting for the nodes to agree, then \
                     the verdict"
                        .into()
                }
                Some(job) if !job.is_finished() => {
                    "the nemesis is already stopping (healing, converging, checking)".into()
                }
                _ => "error: nemesis stop: no nemesis is running".into(),
            },
            Effect::Run(PromptCommand::HistorySave(file)) => {
                let line = PromptCommand::HistorySave(file.clone()).to_string();
                let h = history.clone();
                let saved = tokio::task::spawn_blocking(move || {
                    jobs::save(&h, std::path::Path::new(&file))
                })
                .await
                .unwrap_or_else(|e| Err(e.to_string()));
                match saved {
                    Ok(text) => text,
                    Err(e) => format!("error: {line}: {e}"),
                }
            }
            Effect::Run(cmd) => match client_op(&mut session, cmd) {
                Ok(op) => {
                    let (c, r, h) = (cluster.clone(), results.clone(), history.clone());
                    tokio::spawn(async move {
                        let _ = r.send(op.run(&c, &h).await).await;
                    });
                    continue;
                }
                Err(cmd) => fault(&cluster, cmd).await,
            },
        };
        if results.send(text).await.is_err() {
            return;
        }
    }
}

async fn align(cluster: &ClusterHandle, spread: bool) -> String {
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
async fn fault(c: &ClusterHandle, cmd: PromptCommand) -> String {
    let line = cmd.to_string();
    let outcome: Result<String, String> = match cmd {
        PromptCommand::Kill(id) => c
            .kill(id)
            .await
            .map(|_| format!("killed node {id}"))
            .map_err(|e| e.to_string()),
        PromptCommand::Restart(id) => c
            .restart(id)
            .await
            .map(|_| format!("restarted node {id} from its storage"))
            .map_err(|e| e.to_string()),
        PromptCommand::Isolate(id) => c
            .isolate(id)
            .map(|_| format!("node {id} is cut off from every other"))
            .map_err(|e| e.to_string()),
        PromptCommand::Campaign(id) => c
            .campaign(id)
            .await
            .map(|_| format!("node {id} times out now"))
            .map_err(|e| e.to_string()),
        PromptCommand::Snapshot(id) => c
            .snapshot(id)
            .await
            .map(|meta| {
                format!(
                    "node {id} took a snapshot: its log is compacted up to {}/{}",
                    meta.index, meta.term
                )
            })
            .map_err(|e| e.to_string()),
        PromptCommand::Partition(groups) => c
            .partition(&groups)
            .map(|_| format!("partitioned into {groups:?}"))
            .map_err(|e| e.to_string()),
        PromptCommand::Heal => {
            c.heal();
            Ok("healed: partitions, link faults, slow nodes and clock drift cleared".into())
        }
        PromptCommand::Slow { node, delay } => c
            .slow(node, delay)
            .map(|_| format!("node {node}: +{} ms on every message", delay.as_millis()))
            .map_err(|e| e.to_string()),
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
                .map_err(|e| e.to_string())
        }
        PromptCommand::Clock { node, rate } => c
            .set_clock_rate(node, rate)
            .map(|r| format!("node {node}'s clock runs at {r}x"))
            .map_err(|e| e.to_string()),
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
            None => Err(format!("no message #{id} in flight")),
        },
        PromptCommand::DeliverMessage(id) => found(
            c.deliver_message(id),
            format!("delivered message #{id} now"),
            id,
        ),
        other => Err(format!("{other} is not a cluster command")),
    };
    match outcome {
        Ok(text) => text,
        Err(e) => format!("error: {line}: {e}"),
    }
}

fn found(ok: bool, text: String, id: u64) -> Result<String, String> {
    if ok {
        Ok(text)
    } else {
        Err(format!("no message #{id} in flight"))
    }
}

/// A client operation ready to run.
struct ClientOp {
    line: String,
    /// The operation as the history records it.
    op: KvOp,
    request: Request,
}

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
    let request = match cmd {
        PromptCommand::Put { key, value } => Request::Put(pb::PutRequest {
            key,
            value,
            client_id,
            seq,
        }),
        PromptCommand::Write => {
            let key = format!("k{}", s.rng.range(0, 8));
            let value = format!("{}", s.rng.range(0, 1000));
            Request::Put(pb::PutRequest {
                key,
                value,
                client_id,
                seq,
            })
        }
        PromptCommand::Get { key } => Request::Get(pb::GetRequest { key }),
        PromptCommand::Del { key } => Request::Delete(pb::DeleteRequest {
            key,
            client_id,
            seq,
        }),
        PromptCommand::Append { key, value } => Request::Append(pb::AppendRequest {
            key,
            value,
            client_id,
            seq,
        }),
        PromptCommand::Cas {
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
        other => return Err(other),
    };
    if !matches!(request, Request::Get(_)) {
        s.seq = seq;
    }
    let line = match &request {
        Request::Put(p) => format!("put {} {}", p.key, p.value),
        _ => line,
    };
    let op = match &request {
        Request::Put(p) => KvOp::Put {
            key: p.key.clone(),
            value: p.value.clone(),
        },
        Request::Get(g) => KvOp::Get { key: g.key.clone() },
        Request::Delete(d) => KvOp::Delete { key: d.key.clone() },
        Request::Append(a) => KvOp::Append {
            key: a.key.clone(),
            value: a.value.clone(),
        },
        Request::Cas(c) => KvOp::Cas {
            key: c.key.clone(),
            expected: (!c.expect_absent).then(|| c.expected.clone()),
            new_value: c.new_value.clone(),
        },
    };
    Ok(ClientOp { line, op, request })
}

impl ClientOp {
    /// Sends the request to the leader (or any running node, which forwards it), records it in
    /// `history` and describes the outcome.
    async fn run(self, c: &ClusterHandle, history: &History) -> String {
        let st = c.status();
        let target: Option<NodeId> = st
            .leader()
            .or_else(|| st.nodes.iter().find(|n| n.up).map(|n| n.id));
        let Some(addr) = target.and_then(|t| c.addr(t)) else {
            return format!("error: {}: no node is running", self.line);
        };
        let mut kv = KvClient::new(transport::channel(addr));
        let timeout = c.preset().client_timeout() + Duration::from_secs(1);
        let started = Instant::now();
        let pending = history.invoke(USER_CLIENT, self.op);
        let outcome = send(&mut kv, self.request, timeout).await;
        pending.complete(match &outcome {
            Ok((_, output)) => Outcome::Ok(output.clone()),
            Err(status) => outcome_of(status),
        });
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match outcome {
            Ok((text, _)) => format!("{} → {text} in {ms:.1} ms", self.line),
            Err(status) => format!(
                "error: {} → {:?}: {} (after {ms:.1} ms)",
                self.line,
                status.code(),
                status.message()
            ),
        }
    }
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
                format!("was {:?}", r.previous)
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
                format!("{:?}{}", r.value, at(r.header))
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
            let text = format!("now {:?}{}", r.value, at(r.header));
            (text, KvOutput::Append { value: r.value })
        }
        Request::Cas(cas) => {
            let r = kv.cas(req(cas, timeout)).await?.into_inner();
            let text = if r.swapped {
                format!("swapped{}", at(r.header))
            } else if r.found {
                format!("not swapped: value is {:?}{}", r.current, at(r.header))
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
