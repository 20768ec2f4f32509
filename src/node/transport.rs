//! Peer transport over gRPC: the server side of the `Raft` service (a peer's message goes into
//! this node's inbox) and the client a sender uses to reach a peer.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::sync::mpsc;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status};

use super::{Input, MAX_GRPC_MESSAGE};
use crate::pb;
use crate::raft::{Message, NodeId};

/// The `Raft` service of one node.
#[derive(Debug, Clone)]
pub struct RaftService {
    id: NodeId,
    inbox: mpsc::Sender<Input>,
}

impl RaftService {
    /// The service of node `id`, feeding `inbox`.
    pub fn new(id: NodeId, inbox: mpsc::Sender<Input>) -> Self {
        RaftService { id, inbox }
    }
}

#[tonic::async_trait]
impl pb::raft_server::Raft for RaftService {
    async fn deliver(
        &self,
        request: Request<pb::RaftMessage>,
    ) -> Result<Response<pb::DeliverAck>, Status> {
        let msg = Message::try_from(request.into_inner())
            .map_err(|e| Status::invalid_argument(format!("malformed RaftMessage: {e}")))?;
        if msg.to != self.id {
            return Err(Status::invalid_argument(format!(
                "message for node {} delivered to node {}",
                msg.to, self.id
            )));
        }
        match self.inbox.try_send(Input::Peer(msg)) {
            Ok(()) => Ok(Response::new(pb::DeliverAck {})),
            Err(mpsc::error::TrySendError::Full(_)) => {
                Err(Status::resource_exhausted("inbox full: message dropped"))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Status::unavailable("node stopped")),
        }
    }
}

/// A lazily connected gRPC channel to `addr`: it connects on first use and reconnects by itself
/// after the peer restarts.
pub fn channel(addr: SocketAddr) -> Channel {
    // A SocketAddr always makes a valid URI.
    match Endpoint::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => endpoint
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .connect_lazy(),
        Err(e) => unreachable!("socket address {addr} is not a URI: {e}"),
    }
}

/// A client of a peer's `Raft` service.
pub fn raft_client(addr: SocketAddr) -> pb::raft_client::RaftClient<Channel> {
    pb::raft_client::RaftClient::new(channel(addr))
        .max_decoding_message_size(MAX_GRPC_MESSAGE)
        .max_encoding_message_size(MAX_GRPC_MESSAGE)
}
