//! The peer transport over real sockets: `Raft.Stream` carries frames in order and acknowledges
//! each, refuses malformed frames with a clear error, and the cluster network's link reopens its
//! stream after the receiver restarts.
//!
//! Every wait is bounded by a generous deadline (these run on loaded machines); none measures
//! speed.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use raftlab::cluster::Network;
use raftlab::node::transport::{self, PeerStream, RaftService};
use raftlab::node::{EventBus, EventKind, Input};
use raftlab::pb;
use raftlab::raft::{Message, NodeId, Rpc, TimeoutNowArgs};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio::time::timeout;

const DEADLINE: Duration = Duration::from_secs(20);

/// A node's Raft service alone, feeding an inbox the test reads.
struct Receiver {
    addr: SocketAddr,
    inbox: mpsc::Receiver<Input>,
    shutdown: oneshot::Sender<()>,
    server: JoinHandle<()>,
}

async fn serve(id: NodeId, addr: SocketAddr, capacity: usize) -> Receiver {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let (tx, inbox) = mpsc::channel(capacity);
    let (shutdown, rx) = oneshot::channel::<()>();
    let service = pb::raft_server::RaftServer::new(RaftService::new(id, tx));
    let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
    let server = tokio::spawn(async move {
        let _ = tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = rx.await;
            })
            .await;
    });
    Receiver {
        addr,
        inbox,
        shutdown,
        server,
    }
}

impl Receiver {
    /// Stops like a killed node: the inbox goes first (the driver is gone), then the server.
    async fn stop(self) {
        drop(self.inbox);
        let _ = self.shutdown.send(());
        timeout(DEADLINE, self.server)
            .await
            .expect("server stops once its node's inbox is gone")
            .expect("server task");
    }

    /// The term of the next peer message in the inbox.
    async fn next_term(&mut self) -> u64 {
        match timeout(DEADLINE, self.inbox.recv()).await {
            Ok(Some(Input::Peer(m))) => m.term(),
            other => panic!("expected a peer message, got {other:?}"),
        }
    }
}

/// A message whose term numbers it, so the test can check order.
fn numbered(from: NodeId, to: NodeId, n: u64) -> Message {
    Message {
        from,
        to,
        rpc: Rpc::TimeoutNow(TimeoutNowArgs {
            term: n,
            leader_id: from,
        }),
    }
}

fn pb_numbered(from: NodeId, to: NodeId, n: u64) -> pb::RaftMessage {
    pb::RaftMessage::from(numbered(from, to, n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_delivers_frames_in_order_and_acknowledges_them_cumulatively() {
    let _real_time = crate::common::real_time();
    let mut rx = serve(2, "127.0.0.1:0".parse().expect("addr"), 1024).await;
    let mut client = transport::raft_client(rx.addr);
    let mut n = 0;
    let mut frame = |size: usize| {
        (0..size)
            .map(|_| {
                n += 1;
                pb_numbered(1, 2, n)
            })
            .collect::<Vec<_>>()
    };
    let mut stream = PeerStream::open(&mut client, frame(1)).await.expect("open");
    for size in 1..=20 {
        let seq = stream.send(frame(size)).expect("send");
        assert_eq!(seq, size as u64 + 1);
    }
    // Acknowledgements are cumulative: each covers the frames after the one before it, up to
    // its seq, and together they cover all 21 (one at least every ACK_EVERY frames).
    let mut covered = 0;
    while covered < 21 {
        let ack = timeout(DEADLINE, stream.ack())
            .await
            .expect("ack in time")
            .expect("stream up")
            .expect("stream open");
        assert!(
            ack.seq > covered && ack.seq <= 21,
            "ack {} after ack {covered}: acks come back in frame order",
            ack.seq
        );
        assert!(
            ack.seq - covered <= transport::ACK_EVERY as u64,
            "at most ACK_EVERY frames per ack: {} after {covered}",
            ack.seq
        );
        assert!(ack.refused.is_empty(), "the inbox had room");
        covered = ack.seq;
    }
    for expected in 1..=n {
        assert_eq!(
            rx.next_term().await,
            expected,
            "messages arrive in send order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_inbox_refuses_messages_by_position() {
    let _real_time = crate::common::real_time();
    let mut rx = serve(2, "127.0.0.1:0".parse().expect("addr"), 2).await;
    let mut client = transport::raft_client(rx.addr);
    let frame = (1..=5).map(|n| pb_numbered(1, 2, n)).collect();
    let mut stream = PeerStream::open(&mut client, frame).await.expect("open");
    let ack = timeout(DEADLINE, stream.ack())
        .await
        .expect("ack in time")
        .expect("stream up")
        .expect("stream open");
    assert_eq!(ack.refused, vec![2, 3, 4], "room for two: the rest is lost");
    assert_eq!(rx.next_term().await, 1);
    assert_eq!(rx.next_term().await, 2);
}

/// The error that ends a stream opened with `first` as its first frame.
async fn refusal(first: Vec<pb::RaftMessage>) -> tonic::Status {
    let rx = serve(2, "127.0.0.1:0".parse().expect("addr"), 16).await;
    let mut client = transport::raft_client(rx.addr);
    let result = match PeerStream::open(&mut client, first).await {
        Err(status) => Err(status),
        Ok(mut stream) => timeout(DEADLINE, stream.ack())
            .await
            .expect("answer in time"),
    };
    match result {
        Err(status) => status,
        Ok(ack) => panic!("the frame was accepted: {ack:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_message_ends_the_stream_with_invalid_argument() {
    let _real_time = crate::common::real_time();
    let no_rpc = pb::RaftMessage {
        from: 1,
        to: 2,
        rpc: None,
    };
    let status = refusal(vec![pb_numbered(1, 2, 1), no_rpc]).await;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("message 1")
            && status.message().contains("RaftMessage without an rpc"),
        "names the message and the problem: {}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_for_another_node_ends_the_stream_with_invalid_argument() {
    let _real_time = crate::common::real_time();
    let status = refusal(vec![pb_numbered(1, 3, 1)]).await;
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("for node 3 delivered to node 2"),
        "{}",
        status.message()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bytes_that_are_not_a_frame_end_the_stream_with_a_clear_error() {
    let _real_time = crate::common::real_time();
    let mut rx = serve(2, "127.0.0.1:0".parse().expect("addr"), 16).await;
    // A HardState where a RaftBatch is expected: field 2 arrives as a varint, not as the
    // length-delimited RaftMessage the receiver expects.
    let garbage = pb::HardState {
        current_term: 1,
        voted_for: 7,
        commit_index: 0,
    };
    let channel = transport::channel(rx.addr);
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.expect("connects");
    let codec: tonic_prost::ProstCodec<pb::HardState, pb::StreamAck> = Default::default();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static("/raftlab.v1.Raft/Stream");
    let request = tonic::Request::new(tokio_stream::iter(vec![garbage]));
    let outcome = timeout(DEADLINE, async {
        let mut acks = grpc.streaming(request, path, codec).await?.into_inner();
        acks.message().await
    })
    .await
    .expect("answer in time");
    let status = match outcome {
        Err(status) => status,
        Ok(ack) => panic!("garbage was accepted: {ack:?}"),
    };
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("malformed stream"),
        "{}",
        status.message()
    );
    assert!(rx.inbox.try_recv().is_err(), "nothing reached the inbox");
    // The server is still up for well-formed streams.
    let mut client = transport::raft_client(rx.addr);
    let mut stream = PeerStream::open(&mut client, vec![pb_numbered(1, 2, 9)])
        .await
        .expect("open");
    assert!(timeout(DEADLINE, stream.ack()).await.expect("ack").is_ok());
    assert_eq!(rx.next_term().await, 9);
}

/// Waits for the next Delivered or Dropped event of message `id`.
async fn fate(
    events: &mut tokio::sync::broadcast::Receiver<raftlab::node::Event>,
    id: u64,
) -> Result<(), String> {
    timeout(DEADLINE, async {
        loop {
            match events.recv().await {
                Ok(e) => match e.kind {
                    EventKind::MessageDelivered { id: i, .. } if i == id => return Ok(()),
                    EventKind::MessageDropped { id: i, why, .. } if i == id => return Err(why),
                    _ => {}
                },
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event bus: {e}"),
            }
        }
    })
    .await
    .expect("the message's fate is reported")
}

/// The id the network gave the next message it sent.
async fn sent_id(events: &mut tokio::sync::broadcast::Receiver<raftlab::node::Event>) -> u64 {
    timeout(DEADLINE, async {
        loop {
            if let Ok(e) = events.recv().await {
                if let EventKind::MessageSent { id, .. } = e.kind {
                    return id;
                }
            }
        }
    })
    .await
    .expect("sent")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_link_reopens_its_stream_after_the_receiver_restarts() {
    let _real_time = crate::common::real_time();
    let rx = serve(2, "127.0.0.1:0".parse().expect("addr"), 1024).await;
    let addr = rx.addr;
    let addresses: BTreeMap<NodeId, SocketAddr> = [(1, addr), (2, addr)].into_iter().collect();
    let bus = EventBus::new(4096);
    let mut events = bus.subscribe();
    let network = Arc::new(Network::new(
        raftlab::node::AddressBook::new(addresses),
        Duration::ZERO,
        Duration::ZERO,
        7,
        bus,
    ));
    let outbox = network.outbox();
    tokio::spawn(network.clone().run());
    let mut rx = rx;

    // Up: delivered, in order.
    for n in 1..=3 {
        outbox.send(numbered(1, 2, n));
        let id = sent_id(&mut events).await;
        assert_eq!(fate(&mut events, id).await, Ok(()));
    }
    for n in 1..=3 {
        assert_eq!(rx.next_term().await, n);
    }

    // Down: reported dropped, receiver down.
    rx.stop().await;
    outbox.send(numbered(1, 2, 4));
    let id = sent_id(&mut events).await;
    assert_eq!(
        fate(&mut events, id).await,
        Err("receiver down".to_string())
    );

    // Back on the same address: the next messages open a new stream and arrive in order.
    let mut rx = serve(2, addr, 1024).await;
    let mut n = 5;
    loop {
        outbox.send(numbered(1, 2, n));
        let id = sent_id(&mut events).await;
        if fate(&mut events, id).await.is_ok() {
            break;
        }
        n += 1;
        assert!(n < 500, "the link never reconnected");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(rx.next_term().await, n);
    for m in n + 1..=n + 10 {
        outbox.send(numbered(1, 2, m));
    }
    for m in n + 1..=n + 10 {
        assert_eq!(rx.next_term().await, m);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unary_deliver_still_works_beside_the_stream() {
    let _real_time = crate::common::real_time();
    let mut rx = serve(2, "127.0.0.1:0".parse().expect("addr"), 16).await;
    let mut client = transport::raft_client(rx.addr);
    timeout(DEADLINE, client.deliver(pb_numbered(1, 2, 5)))
        .await
        .expect("answer in time")
        .expect("delivered");
    assert_eq!(rx.next_term().await, 5);
    let malformed = pb::RaftMessage {
        from: 1,
        to: 2,
        rpc: None,
    };
    let status = timeout(DEADLINE, client.deliver(malformed))
        .await
        .expect("answer in time")
        .expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
}
