//! Peer transport over gRPC: the server side of the `Raft` service (a peer's messages go into
//! this node's inbox) and the client side a sender uses to reach a peer.
//!
//! Two ways in, one inbox:
//!
//! ```text
//!  sender's link task ══ Raft.Stream (one long-lived HTTP/2 stream per directed link) ══╗
//!    RaftBatch{seq, [msg, msg, ...]} ─────────────────────────────────────────────────► ║ stream task:
//!    ◄──────────────────────────────────────────────── StreamAck{seq, refused}  (cumul.) ║  decode, check,
//!                                                                                        ║  inbox.try_send
//!  tools, tests ─── Raft.Deliver (one unary call per message) ─────────────────────────► ║  each message
//! ```
//!
//! The cluster's network sends every message through [`PeerStream`]: the messages of one directed
//! link that are ready together travel as one [`pb::RaftBatch`] frame, in send order, without
//! waiting for the previous frame's answer (up to [`STREAM_WINDOW`] frames unacknowledged). The
//! receiver acknowledges frames once their messages are in its node's inbox, naming those it
//! had to refuse because the inbox was full (they are lost, as on a real network). So a message
//! counts as *delivered* exactly as with `Deliver`: when it reached the receiver's inbox.
//! Acknowledgements are cumulative, like TCP's: one covers every frame since the one before, and
//! the receiver sends one after [`ACK_EVERY`] frames or [`ACK_DELAY`], whichever comes first (at
//! once when it refused a message), so a frame's delivery is reported at most `ACK_DELAY` late.
//!
//! A malformed message in a frame, or one addressed to another node, ends the stream with
//! `INVALID_ARGUMENT` naming the problem (none of that frame's messages is delivered); bytes that
//! are not a `RaftBatch` at all end it with the decoder's error. The stream also ends when the
//! receiver's node stops, so that its server can shut down at once; the sender opens a new one
//! (on a channel that reconnects by itself) with its next message.
//!
//! Size limits: a frame is closed once it holds [`FRAME_BYTES`] encoded bytes, so no frame
//! exceeds `FRAME_BYTES` plus one message, and no single message exceeds
//! [`LARGEST_MESSAGE`] (the biggest AppendEntries the core builds — `max_bytes_per_append` plus
//! one entry of the largest client command — or an InstallSnapshot chunk). Both sides accept
//! frames up to [`MAX_GRPC_MESSAGE`], which a compile-time assertion below keeps above that sum.

use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::Stream;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Response, Status, Streaming};

use super::{Input, MAX_CLIENT_COMMAND, MAX_GRPC_MESSAGE};
use crate::pb;
use crate::raft::{self, Message, NodeId};

/// A frame takes no more messages once its encoded size reaches this.
pub const FRAME_BYTES: usize = 4 << 20;
/// At most this many messages in one frame.
pub const FRAME_MESSAGES: usize = 4096;
/// Frames a sender may have on a stream without their acknowledgement. Messages that find the
/// window full wait on the link, and leave together in the next frame.
pub const STREAM_WINDOW: usize = 32;
/// A receiver acknowledges at the latest once this many frames are unacknowledged, well inside
/// the window, so a busy sender never waits for an acknowledgement.
pub const ACK_EVERY: usize = STREAM_WINDOW / 4;
/// ... and at the latest this long after the oldest frame it has not acknowledged. Each
/// acknowledgement is a socket write and a wake-up on both sides: with one per frame they were
/// about a third of a lightly loaded cluster's socket writes.
pub const ACK_DELAY: Duration = Duration::from_millis(2);
/// Framing that protobuf adds around a message's payload, rounded far up: field tags and
/// lengths, the ids, terms and indexes of a message, and per entry its index, term and kind.
const MESSAGE_OVERHEAD: usize = 64 << 10;
/// Largest single message the core can build with the default configuration: an AppendEntries
/// holds entries up to `max_bytes_per_append`, and always at least one entry, which can be a
/// client command of up to [`MAX_CLIENT_COMMAND`] bytes; an InstallSnapshot chunk holds
/// `snapshot_chunk_bytes` plus the configuration.
pub const LARGEST_MESSAGE: usize = max(
    raft::DEFAULT_MAX_BYTES_PER_APPEND + MAX_CLIENT_COMMAND,
    raft::DEFAULT_SNAPSHOT_CHUNK_BYTES,
) + MESSAGE_OVERHEAD;

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

// The largest frame a sender can build (FRAME_BYTES, then one more message) must fit the limit
// both ends of a stream enforce, or replication would stall for good on the first big batch.
const _: () = assert!(FRAME_BYTES + LARGEST_MESSAGE + MESSAGE_OVERHEAD <= MAX_GRPC_MESSAGE);

/// Whether a core configured with `config` can only build messages a stream carries: its
/// largest AppendEntries and InstallSnapshot chunk are below [`LARGEST_MESSAGE`].
pub fn fits_transport(config: &raft::Config) -> bool {
    config
        .max_bytes_per_append
        .saturating_add(MAX_CLIENT_COMMAND)
        .saturating_add(MESSAGE_OVERHEAD)
        <= LARGEST_MESSAGE
        && config.snapshot_chunk_bytes.saturating_add(MESSAGE_OVERHEAD) <= LARGEST_MESSAGE
}

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

    /// Decodes and checks one message for this node.
    fn check(&self, message: pb::RaftMessage) -> Result<Message, Status> {
        let msg = Message::try_from(message)
            .map_err(|e| Status::invalid_argument(format!("malformed RaftMessage: {e}")))?;
        if msg.to != self.id {
            return Err(Status::invalid_argument(format!(
                "message for node {} delivered to node {}",
                msg.to, self.id
            )));
        }
        Ok(msg)
    }
}

/// The acknowledgements of one stream, as the server sends them.
type AckStream = Pin<Box<dyn Stream<Item = Result<pb::StreamAck, Status>> + Send>>;

#[tonic::async_trait]
impl pb::raft_server::Raft for RaftService {
    async fn deliver(
        &self,
        request: Request<pb::RaftMessage>,
    ) -> Result<Response<pb::DeliverAck>, Status> {
        let msg = self.check(request.into_inner())?;
        match self.inbox.try_send(Input::Peer(msg)) {
            Ok(()) => Ok(Response::new(pb::DeliverAck {})),
            Err(mpsc::error::TrySendError::Full(_)) => {
                Err(Status::resource_exhausted("inbox full: message dropped"))
            }
            Err(mpsc::error::TrySendError::Closed(_)) => Err(Status::unavailable("node stopped")),
        }
    }

    type StreamStream = AckStream;

    async fn stream(
        &self,
        request: Request<Streaming<pb::RaftBatch>>,
    ) -> Result<Response<AckStream>, Status> {
        let inbound = request.into_inner();
        // The window bounds the acks a well-behaved sender leaves unread.
        let (acks, rx) = mpsc::channel(STREAM_WINDOW);
        tokio::spawn(serve_stream(self.clone(), inbound, acks));
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

/// The acknowledgement a receiver is gathering: the frames it put into the inbox since the last
/// acknowledgement it sent.
#[derive(Debug, Default)]
struct PendingAck {
    /// The newest frame covered.
    seq: u64,
    /// Frames covered.
    frames: usize,
    /// Messages in those frames.
    messages: u32,
    /// Refused messages, by position across the covered frames in order.
    refused: Vec<u32>,
}

impl PendingAck {
    /// Adds an accepted frame of `messages` messages, of which those at `refused` were refused.
    fn add(&mut self, seq: u64, messages: u32, refused: &[u32]) {
        self.refused
            .extend(refused.iter().map(|position| self.messages + position));
        self.messages += messages;
        self.seq = seq;
        self.frames += 1;
    }

    /// The acknowledgement of every frame added since the last call, if any.
    fn take(&mut self) -> Option<pb::StreamAck> {
        if self.frames == 0 {
            return None;
        }
        let PendingAck { seq, refused, .. } = std::mem::take(self);
        Some(pb::StreamAck { seq, refused })
    }
}

/// Feeds the frames of one inbound stream into the inbox until the sender closes it, the node
/// stops, or a frame is refused. Acknowledgements are cumulative: one covers every frame since
/// the previous one, and goes out after [`ACK_EVERY`] frames, [`ACK_DELAY`] after the oldest
/// frame it covers, when a message was refused, or before the stream ends.
async fn serve_stream(
    service: RaftService,
    mut inbound: Streaming<pb::RaftBatch>,
    acks: mpsc::Sender<Result<pb::StreamAck, Status>>,
) {
    let mut expected = 1;
    let mut pending = PendingAck::default();
    let flush = tokio::time::sleep(ACK_DELAY);
    tokio::pin!(flush);
    loop {
        let frame = tokio::select! {
            frame = inbound.message() => frame,
            // The node stopped: end the stream, so the server can shut down now.
            _ = service.inbox.closed() => Err(Status::unavailable("node stopped")),
            // The sender went away.
            _ = acks.closed() => return,
            _ = &mut flush, if pending.frames > 0 => {
                if !send_pending(&mut pending, &acks).await {
                    return;
                }
                continue;
            }
        };
        let outcome = match frame {
            Ok(Some(batch)) => service.accept(batch, &mut expected),
            Ok(None) => {
                // The sender is done: it still learns the fate of its last frames.
                send_pending(&mut pending, &acks).await;
                return;
            }
            Err(status) => Err(Status::new(
                match status.code() {
                    // The decoder's word for bytes that are not a RaftBatch.
                    tonic::Code::Internal => tonic::Code::InvalidArgument,
                    code => code,
                },
                format!("malformed stream: {}", status.message()),
            )),
        };
        match outcome {
            Ok(accepted) => {
                let first = pending.frames == 0;
                pending.add(accepted.seq, accepted.messages, &accepted.refused);
                if pending.frames >= ACK_EVERY || !accepted.refused.is_empty() {
                    if !send_pending(&mut pending, &acks).await {
                        return;
                    }
                } else if first {
                    flush
                        .as_mut()
                        .reset(tokio::time::Instant::now() + ACK_DELAY);
                }
            }
            Err(status) => {
                // The frames before the bad one did reach the inbox.
                if send_pending(&mut pending, &acks).await {
                    let _ = acks.send(Err(status)).await;
                }
                return;
            }
        }
    }
}

/// Sends the acknowledgement `pending` gathered, if any; false once the sender went away.
async fn send_pending(
    pending: &mut PendingAck,
    acks: &mpsc::Sender<Result<pb::StreamAck, Status>>,
) -> bool {
    match pending.take() {
        Some(ack) => acks.send(Ok(ack)).await.is_ok(),
        None => true,
    }
}

/// A frame the receiver put into its node's inbox.
struct Accepted {
    seq: u64,
    messages: u32,
    /// Positions in the frame of the messages the full inbox refused.
    refused: Vec<u32>,
}

impl RaftService {
    /// Puts the messages of one frame into the inbox: all of them checked first, so a frame is
    /// refused whole or not at all.
    fn accept(&self, batch: pb::RaftBatch, expected: &mut u64) -> Result<Accepted, Status> {
        if batch.seq != *expected {
            return Err(Status::invalid_argument(format!(
                "frame {} out of order: expected frame {expected}",
                batch.seq
            )));
        }
        *expected += 1;
        let messages = batch
            .messages
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                self.check(m).map_err(|s| {
                    Status::invalid_argument(format!(
                        "frame {} message {i}: {}",
                        batch.seq,
                        s.message()
                    ))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut refused = Vec::new();
        let count = messages.len() as u32;
        for (i, msg) in messages.into_iter().enumerate() {
            match self.inbox.try_send(Input::Peer(msg)) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => refused.push(i as u32),
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    return Err(Status::unavailable("node stopped"))
                }
            }
        }
        Ok(Accepted {
            seq: batch.seq,
            messages: count,
            refused,
        })
    }
}

/// The sending end of one `Raft.Stream`: frames go out in order, acknowledgements come back in
/// the same order.
#[derive(Debug)]
pub struct PeerStream {
    frames: mpsc::Sender<pb::RaftBatch>,
    acks: Streaming<pb::StreamAck>,
    next_seq: u64,
}

/// How long opening a stream may take (connect, and the peer's answer to the call).
const OPEN_TIMEOUT: Duration = Duration::from_secs(4);

impl PeerStream {
    /// Opens a stream on `client` with `messages` as its first frame (numbered 1).
    pub async fn open(
        client: &mut pb::raft_client::RaftClient<Channel>,
        messages: Vec<pb::RaftMessage>,
    ) -> Result<Self, Status> {
        let (frames, rx) = mpsc::channel(STREAM_WINDOW);
        let first = pb::RaftBatch { seq: 1, messages };
        // A fresh channel has room.
        frames
            .try_send(first)
            .map_err(|_| Status::internal("new stream has no room"))?;
        let call = client.stream(ReceiverStream::new(rx));
        let acks = match tokio::time::timeout(OPEN_TIMEOUT, call).await {
            Ok(response) => response?.into_inner(),
            Err(_) => return Err(Status::unavailable("no answer to Raft.Stream")),
        };
        Ok(PeerStream {
            frames,
            acks,
            next_seq: 2,
        })
    }

    /// Queues `messages` as the next frame; returns its number. Fails once the stream is gone,
    /// or if the caller has more than [`STREAM_WINDOW`] frames unacknowledged.
    pub fn send(&mut self, messages: Vec<pb::RaftMessage>) -> Result<u64, Status> {
        let seq = self.next_seq;
        self.frames
            .try_send(pb::RaftBatch { seq, messages })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => {
                    Status::resource_exhausted("stream window exceeded")
                }
                mpsc::error::TrySendError::Closed(_) => Status::unavailable("stream closed"),
            })?;
        self.next_seq += 1;
        Ok(seq)
    }

    /// The next acknowledgement: it covers every frame up to its `seq` not covered before, and
    /// `refused` counts positions across those frames in order. `None` when the receiver ended
    /// the stream normally.
    pub async fn ack(&mut self) -> Result<Option<pb::StreamAck>, Status> {
        self.acks.message().await
    }
}

/// How long a connection attempt may take. A peer that is down refuses at once on loopback;
/// only a full listen backlog (a burst of hundreds of clients connecting together) delays a
/// connection, by the kernel's 1 s SYN retransmission, which this leaves room for.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A lazily connected gRPC channel to `addr`: it connects on first use and reconnects by itself
/// after the peer restarts.
pub fn channel(addr: SocketAddr) -> Channel {
    // A SocketAddr always makes a valid URI.
    match Endpoint::from_shared(format!("http://{addr}")) {
        Ok(endpoint) => endpoint
            .connect_timeout(CONNECT_TIMEOUT)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cumulative_ack_counts_refused_positions_across_its_frames() {
        let mut pending = PendingAck::default();
        assert_eq!(pending.take(), None, "nothing to acknowledge");
        pending.add(4, 3, &[]);
        pending.add(5, 2, &[1]);
        pending.add(6, 4, &[0, 3]);
        assert_eq!(
            pending.take(),
            Some(pb::StreamAck {
                seq: 6,
                refused: vec![4, 5, 8],
            })
        );
        assert_eq!(pending.take(), None, "taken once");
        pending.add(7, 1, &[0]);
        assert_eq!(
            pending.take(),
            Some(pb::StreamAck {
                seq: 7,
                refused: vec![0],
            }),
            "positions start again after each ack"
        );
    }

    #[test]
    fn the_default_configuration_fits_the_transport() {
        assert!(fits_transport(&raft::Config::new(1, vec![1, 2, 3])));
    }

    #[test]
    fn a_configuration_with_bigger_batches_than_a_frame_does_not_fit() {
        let mut c = raft::Config::new(1, vec![1, 2, 3]);
        c.max_bytes_per_append = MAX_GRPC_MESSAGE;
        assert!(!fits_transport(&c));
        let mut c = raft::Config::new(1, vec![1, 2, 3]);
        c.snapshot_chunk_bytes = MAX_GRPC_MESSAGE;
        assert!(!fits_transport(&c));
    }
}
