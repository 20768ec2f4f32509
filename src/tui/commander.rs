//! The commander: carries out the dashboard's effects against the cluster, off the UI loop, and
//! reports each outcome as one line. Faults run in order; client operations run concurrently
//! (a write may wait seconds at teaching speed and must not hold up a kill).

use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tonic::transport::Channel;

use super::app::Effect;
use super::prompt::{LinkChange, PromptCommand};
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

/// Runs effects until the dashboard hangs up.
pub async fn run(
    cluster: ClusterHandle,
    mut effects: mpsc::Receiver<Effect>,
    results: mpsc::Sender<String>,
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
    while let Some(effect) = effects.recv().await {
        let text = match effect {
            Effect::AlignTimers => align(&cluster, false).await,
            Effect::SpreadTimers => align(&cluster, true).await,
            Effect::Run(cmd) => match client_op(&mut session, cmd) {
                Ok(op) => {
                    let (c, r) = (cluster.clone(), results.clone());
                    tokio::spawn(async move {
                        let _ = r.send(op.run(&c).await).await;
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
    Ok(ClientOp { line, request })
}

impl ClientOp {
    /// Sends the request to the leader (or any running node, which forwards it) and describes
    /// the outcome.
    async fn run(self, c: &ClusterHandle) -> String {
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
        let outcome = send(&mut kv, self.request, timeout).await;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        match outcome {
            Ok(text) => format!("{} → {text} in {ms:.1} ms", self.line),
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

async fn send(
    kv: &mut KvClient<Channel>,
    request: Request,
    timeout: Duration,
) -> Result<String, tonic::Status> {
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
            format!("ok, {prev}{}", at(r.header))
        }
        Request::Get(g) => {
            let r = kv.get(req(g, timeout)).await?.into_inner();
            if r.found {
                format!("{:?}{}", r.value, at(r.header))
            } else {
                format!("not found{}", at(r.header))
            }
        }
        Request::Delete(d) => {
            let r = kv.delete(req(d, timeout)).await?.into_inner();
            format!(
                "{}{}",
                if r.existed { "deleted" } else { "was absent" },
                at(r.header)
            )
        }
        Request::Append(a) => {
            let r = kv.append(req(a, timeout)).await?.into_inner();
            format!("now {:?}{}", r.value, at(r.header))
        }
        Request::Cas(cas) => {
            let r = kv.cas(req(cas, timeout)).await?.into_inner();
            if r.swapped {
                format!("swapped{}", at(r.header))
            } else if r.found {
                format!("not swapped: value is {:?}{}", r.current, at(r.header))
            } else {
                format!("not swapped: key absent{}", at(r.header))
            }
        }
    })
}
