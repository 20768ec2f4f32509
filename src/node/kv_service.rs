//! The client-facing `Kv` service of one node.
//!
//! A write becomes a `KvCommand` in the log: on the leader it is proposed and answered once
//! applied. A read (`Get`) takes no log entry: the leader confirms a read index (ReadIndex, thesis
//! §6.4, or a lease read if the cluster's rules say so) and answers from its state machine once it
//! has applied that index (see [`super::driver`]). With the UNSAFE `local-reads` rule every node
//! answers reads from its own state instead. A follower forwards a request to the leader it
//! knows, once (a forwarded request is never forwarded again); with
//! no leader known it answers UNAVAILABLE with whatever hint it has. When the outcome cannot be
//! known — the deadline passed, or the node stopped — the answer is an error, never a success.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use super::{
    transport, AddressBook, Applied, ClientError, ClientRequest, EventBus, EventKind, Input,
    NodeView, ReadRequest,
};
use crate::pb::{self, kv_client::KvClient, kv_command::Op, kv_server::Kv};
use crate::raft::{NodeId, Role};
use crate::state_machine::kv::{decode_result, encode_command};

/// Metadata key marking a request a follower forwarded to its leader.
pub const FORWARDED: &str = "raftlab-forwarded";
/// Metadata key carrying the leader's id on UNAVAILABLE.
pub const LEADER_ID: &str = "raftlab-leader-id";
/// Metadata key carrying the leader's address on UNAVAILABLE.
pub const LEADER_ADDR: &str = "raftlab-leader-addr";

/// The `Kv` service of one node.
#[derive(Clone)]
pub struct KvService {
    id: NodeId,
    inbox: mpsc::Sender<Input>,
    view: watch::Receiver<NodeView>,
    addresses: AddressBook,
    timeout: Duration,
    events: EventBus,
    /// A channel per peer, with the address it was made for (a node added later under a
    /// reused id listens elsewhere).
    peers: Arc<Mutex<HashMap<NodeId, (SocketAddr, Channel)>>>,
    /// UNSAFE: answer gets from local state (see `NodeConfig::unsafe_local_reads`).
    local_reads: bool,
}

impl std::fmt::Debug for KvService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvService").field("id", &self.id).finish()
    }
}

impl KvService {
    /// The service of node `id`.
    pub fn new(
        id: NodeId,
        inbox: mpsc::Sender<Input>,
        view: watch::Receiver<NodeView>,
        addresses: AddressBook,
        timeout: Duration,
        events: EventBus,
    ) -> Self {
        KvService {
            id,
            inbox,
            view,
            addresses,
            timeout,
            events,
            peers: Arc::new(Mutex::new(HashMap::new())),
            local_reads: false,
        }
    }

    /// Turns the UNSAFE local reads on or off.
    pub fn with_unsafe_local_reads(mut self, on: bool) -> Self {
        self.local_reads = on;
        self
    }

    /// A get answered from this node's applied state, without the log: possibly stale.
    async fn local_get(&self, key: &str) -> Result<Response<pb::GetReply>, Status> {
        let (tx, rx) = oneshot::channel();
        self.inbox
            .send(Input::ReadKv(tx))
            .await
            .map_err(|_| Status::unavailable("node stopped"))?;
        let contents = rx.await.map_err(|_| Status::unavailable("node stopped"))?;
        let value = contents.into_iter().find(|(k, _)| k == key).map(|(_, v)| v);
        let status = self.view.borrow().status.clone();
        Ok(Response::new(pb::GetReply {
            header: Some(pb::KvHeader {
                node_id: self.id,
                leader_id: status.leader_id.unwrap_or(0),
                index: status.applied,
                term: status.term,
            }),
            found: value.is_some(),
            value: value.unwrap_or_default(),
        }))
    }

    /// Proposes `op` to this node's core and waits until it is applied — or, for a get, asks for
    /// a read index and waits until it is served.
    async fn submit(&self, client_id: u64, seq: u64, op: Op) -> Result<Applied, Submit> {
        let (tx, rx) = oneshot::channel();
        let input = match op {
            Op::Get(get) => Input::Read(ReadRequest {
                key: get.key,
                reply: tx,
            }),
            op => Input::Client(ClientRequest {
                command: encode_command(client_id, seq, op),
                reply: tx,
            }),
        };
        let deadline = tokio::time::Instant::now() + self.timeout;
        tokio::time::timeout_at(deadline, self.inbox.send(input))
            .await
            .map_err(|_| Submit::Unknown("node too busy to take the request".into()))?
            .map_err(|_| Submit::Unknown("node stopped".into()))?;
        match tokio::time::timeout_at(deadline, rx).await {
            Err(_) => Err(Submit::Deadline),
            Ok(Err(_)) => Err(Submit::Unknown(
                "node stopped before the outcome was known".into(),
            )),
            Ok(Ok(Err(e))) => Err(Submit::Refused(e)),
            Ok(Ok(Ok(applied))) => Ok(applied),
        }
    }

    /// The leader, when this node follows one it knows (from its latest published view).
    fn known_leader(&self) -> Option<NodeId> {
        let view = self.view.borrow();
        match view.status.leader_id {
            Some(l) if l != self.id && view.status.role != Role::Leader => Some(l),
            _ => None,
        }
    }

    fn leader_hint(&self) -> Option<NodeId> {
        self.view.borrow().status.leader_id
    }

    fn peer(&self, id: NodeId) -> Option<Channel> {
        let addr = self.addresses.get(id)?;
        let mut peers = self.peers.lock().ok()?;
        let entry = peers
            .entry(id)
            .or_insert_with(|| (addr, transport::channel(addr)));
        if entry.0 != addr {
            *entry = (addr, transport::channel(addr));
        }
        Some(entry.1.clone())
    }

    fn unavailable(&self, message: String, hint: Option<NodeId>) -> Status {
        let mut status = Status::unavailable(message);
        if let Some(l) = hint {
            if let Ok(v) = MetadataValue::try_from(l.to_string()) {
                status.metadata_mut().insert(LEADER_ID, v);
            }
            if let Some(addr) = self.addresses.get(l) {
                if let Ok(v) = MetadataValue::try_from(addr.to_string()) {
                    status.metadata_mut().insert(LEADER_ADDR, v);
                }
            }
        }
        status
    }

    /// The one path of every Kv request: checks it, runs it here if this node leads (or the
    /// request was forwarded to it), else forwards it to the leader it knows; waits until it
    /// is applied, maps a refusal or an unknown outcome to a status, and tells the event feed.
    async fn handle<R: KvRequest>(
        &self,
        request: Request<R>,
    ) -> Result<Response<R::Reply>, Status> {
        let r = request.get_ref();
        check_key(r.key())?;
        if let Some((client_id, seq)) = r.session() {
            check_session(client_id, seq)?;
        }
        let describe = r.describe();
        let (client_id, seq) = r.session().unwrap_or((0, 0));
        let op = r.clone().op();
        let started = Instant::now();
        let forwarded = request.metadata().contains_key(FORWARDED);
        // A follower that knows its leader forwards at once: asking its own core first would
        // only cost a turn of its loop to hear the same "not the leader" (the view is at most one
        // turn behind the core, and a stale hint ends in a refusal the client retries).
        let submitted = match self.known_leader() {
            Some(leader) if !forwarded => Err(Submit::Refused(ClientError::NotLeader {
                leader_hint: Some(leader),
            })),
            _ => self.submit(client_id, seq, op).await,
        };
        let outcome = match submitted {
            Ok(applied) => match decode_result(&applied.result) {
                Ok(result) if result.error.is_empty() => Ok(Response::new(R::reply(
                    pb::KvHeader {
                        node_id: self.id,
                        leader_id: self.id,
                        index: applied.index,
                        term: applied.term,
                    },
                    result,
                ))),
                Ok(result) => Err(Status::failed_precondition(result.error)),
                Err(e) => Err(Status::internal(format!("undecodable result: {e}"))),
            },
            Err(Submit::Refused(ClientError::NotLeader {
                leader_hint: Some(leader),
            })) if !forwarded && leader != self.id => match self.peer(leader) {
                Some(channel) => {
                    let mut req = Request::new(request.into_inner());
                    req.metadata_mut()
                        .insert(FORWARDED, MetadataValue::from_static("1"));
                    req.set_timeout(self.timeout);
                    R::forward(KvClient::new(channel), req).await
                }
                None => Err(self.unavailable(
                    format!("leader {leader} has no known address"),
                    Some(leader),
                )),
            },
            Err(Submit::Refused(e @ ClientError::NotLeader { .. })) => {
                Err(self.unavailable(e.to_string(), self.leader_hint()))
            }
            Err(Submit::Refused(e @ ClientError::NotApplied { .. })) => {
                Err(self.unavailable(e.to_string(), self.leader_hint()))
            }
            // Proposals pause during a leadership transfer: the client retries at the target.
            Err(Submit::Refused(e @ ClientError::TransferInProgress { to })) => {
                Err(self.unavailable(e.to_string(), Some(to)))
            }
            Err(Submit::Deadline) => Err(Status::deadline_exceeded(format!(
                "outcome unknown: not applied within {} ms (it may still be)",
                self.timeout.as_millis()
            ))),
            Err(Submit::Unknown(why)) => Err(Status::unknown(format!("outcome unknown: {why}"))),
        };
        if !forwarded {
            let text = match &outcome {
                Ok(_) => "ok".to_string(),
                Err(s) => format!("{:?}: {}", s.code(), s.message()),
            };
            self.events.emit(
                self.id,
                EventKind::Client {
                    op: describe,
                    outcome: text,
                    latency: started.elapsed(),
                },
            );
        }
        outcome
    }
}

/// Why a submission did not produce a result.
enum Submit {
    /// The core refused it or it lost its place in the log.
    Refused(ClientError),
    /// The deadline passed: it may still be applied.
    Deadline,
    /// The node could not tell (stopped, overloaded).
    Unknown(String),
}

fn check_key(key: &str) -> Result<(), Status> {
    if key.is_empty() {
        Err(Status::invalid_argument("key must not be empty"))
    } else {
        Ok(())
    }
}

fn check_session(client_id: u64, seq: u64) -> Result<(), Status> {
    if client_id != 0 && seq == 0 {
        Err(Status::invalid_argument(
            "seq must be at least 1 when client_id is set",
        ))
    } else {
        Ok(())
    }
}

/// What sets the five Kv requests apart; everything else is [`KvService::handle`]'s one path.
trait KvRequest: Clone + Send + Sync + 'static {
    /// The answer to it.
    type Reply: Send + 'static;
    /// The key it is about (never empty).
    fn key(&self) -> &str;
    /// The client's session (client id, sequence number); a read has none.
    fn session(&self) -> Option<(u64, u64)>;
    /// The operation as the event feed shows it (`put x 1`).
    fn describe(&self) -> String;
    /// The operation for the state machine (a get becomes a read, with no log entry).
    fn op(self) -> Op;
    /// The answer, from the state machine's result.
    fn reply(header: pb::KvHeader, result: pb::KvResult) -> Self::Reply;
    /// Sends it to the leader (a follower forwarding it).
    fn forward(
        client: KvClient<Channel>,
        request: Request<Self>,
    ) -> impl Future<Output = Result<Response<Self::Reply>, Status>> + Send;
}

impl KvRequest for pb::PutRequest {
    type Reply = pb::PutReply;
    fn key(&self) -> &str {
        &self.key
    }
    fn session(&self) -> Option<(u64, u64)> {
        Some((self.client_id, self.seq))
    }
    fn describe(&self) -> String {
        format!("put {} {}", self.key, self.value)
    }
    fn op(self) -> Op {
        Op::Put(self)
    }
    fn reply(header: pb::KvHeader, result: pb::KvResult) -> pb::PutReply {
        pb::PutReply {
            header: Some(header),
            had_previous: result.found,
            previous: result.value,
        }
    }
    async fn forward(
        mut client: KvClient<Channel>,
        request: Request<Self>,
    ) -> Result<Response<pb::PutReply>, Status> {
        client.put(request).await
    }
}

impl KvRequest for pb::GetRequest {
    type Reply = pb::GetReply;
    fn key(&self) -> &str {
        &self.key
    }
    fn session(&self) -> Option<(u64, u64)> {
        None
    }
    fn describe(&self) -> String {
        format!("get {}", self.key)
    }
    fn op(self) -> Op {
        Op::Get(self)
    }
    fn reply(header: pb::KvHeader, result: pb::KvResult) -> pb::GetReply {
        pb::GetReply {
            header: Some(header),
            found: result.found,
            value: result.value,
        }
    }
    async fn forward(
        mut client: KvClient<Channel>,
        request: Request<Self>,
    ) -> Result<Response<pb::GetReply>, Status> {
        client.get(request).await
    }
}

impl KvRequest for pb::DeleteRequest {
    type Reply = pb::DeleteReply;
    fn key(&self) -> &str {
        &self.key
    }
    fn session(&self) -> Option<(u64, u64)> {
        Some((self.client_id, self.seq))
    }
    fn describe(&self) -> String {
        format!("del {}", self.key)
    }
    fn op(self) -> Op {
        Op::Delete(self)
    }
    fn reply(header: pb::KvHeader, result: pb::KvResult) -> pb::DeleteReply {
        pb::DeleteReply {
            header: Some(header),
            existed: result.found,
        }
    }
    async fn forward(
        mut client: KvClient<Channel>,
        request: Request<Self>,
    ) -> Result<Response<pb::DeleteReply>, Status> {
        client.delete(request).await
    }
}

impl KvRequest for pb::AppendRequest {
    type Reply = pb::AppendReply;
    fn key(&self) -> &str {
        &self.key
    }
    fn session(&self) -> Option<(u64, u64)> {
        Some((self.client_id, self.seq))
    }
    fn describe(&self) -> String {
        format!("append {} {}", self.key, self.value)
    }
    fn op(self) -> Op {
        Op::Append(self)
    }
    fn reply(header: pb::KvHeader, result: pb::KvResult) -> pb::AppendReply {
        pb::AppendReply {
            header: Some(header),
            value: result.value,
        }
    }
    async fn forward(
        mut client: KvClient<Channel>,
        request: Request<Self>,
    ) -> Result<Response<pb::AppendReply>, Status> {
        client.append(request).await
    }
}

impl KvRequest for pb::CasRequest {
    type Reply = pb::CasReply;
    fn key(&self) -> &str {
        &self.key
    }
    fn session(&self) -> Option<(u64, u64)> {
        Some((self.client_id, self.seq))
    }
    fn describe(&self) -> String {
        let expected = if self.expect_absent {
            "<absent>"
        } else {
            &self.expected
        };
        format!("cas {} {expected} {}", self.key, self.new_value)
    }
    fn op(self) -> Op {
        Op::Cas(self)
    }
    fn reply(header: pb::KvHeader, result: pb::KvResult) -> pb::CasReply {
        pb::CasReply {
            header: Some(header),
            swapped: result.swapped,
            found: result.found,
            current: result.value,
        }
    }
    async fn forward(
        mut client: KvClient<Channel>,
        request: Request<Self>,
    ) -> Result<Response<pb::CasReply>, Status> {
        client.cas(request).await
    }
}

#[tonic::async_trait]
impl Kv for KvService {
    async fn put(
        &self,
        request: Request<pb::PutRequest>,
    ) -> Result<Response<pb::PutReply>, Status> {
        self.handle(request).await
    }

    async fn get(
        &self,
        request: Request<pb::GetRequest>,
    ) -> Result<Response<pb::GetReply>, Status> {
        if self.local_reads {
            let key = &request.get_ref().key;
            check_key(key)?;
            return self.local_get(key).await;
        }
        self.handle(request).await
    }

    async fn delete(
        &self,
        request: Request<pb::DeleteRequest>,
    ) -> Result<Response<pb::DeleteReply>, Status> {
        self.handle(request).await
    }

    async fn append(
        &self,
        request: Request<pb::AppendRequest>,
    ) -> Result<Response<pb::AppendReply>, Status> {
        self.handle(request).await
    }

    async fn cas(
        &self,
        request: Request<pb::CasRequest>,
    ) -> Result<Response<pb::CasReply>, Status> {
        self.handle(request).await
    }
}
