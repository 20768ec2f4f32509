//! Disk faults under a running node's driver: its storage on a `FaultyDisk`, its messages caught
//! by a channel outbox. A failed fsync or write, or a full disk, stops the node before it sends
//! anything that depends on the write (here: the vote it was about to grant), and the write is
//! not retried; after a power cut the node comes back with what was durable.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use raftlab::node::driver::Driver;
use raftlab::node::{EventBus, EventKind, Input, Outbox, SharedStorage, SnapshotPolicy};
use raftlab::raft::{Config, Message, RaftNode, RequestVoteArgs, RequestVoteReply, Rpc, Storage};
use raftlab::storage::{DiskOptions, DiskStorage, FaultyDisk};
use tokio::sync::mpsc;

const DIR: &str = "n1";

fn storage(disk: &FaultyDisk) -> DiskStorage {
    DiskStorage::open_on(
        Arc::new(disk.clone()),
        Path::new(DIR),
        DiskOptions::default(),
    )
    .expect("storage opens")
}

fn vote_request(term: u64, candidate: u64) -> Input {
    Input::Peer(Message {
        from: candidate,
        to: 1,
        rpc: Rpc::RequestVote(RequestVoteArgs {
            term,
            candidate_id: candidate,
            last_log_index: 0,
            last_log_term: 0,
            leadership_transfer: false,
        }),
    })
}

/// Node 1 of {1, 2, 3} on `disk`: its inbox, what it sends, its events, and its task.
struct Node {
    inbox: mpsc::Sender<Input>,
    sent: mpsc::UnboundedReceiver<Message>,
    events: tokio::sync::broadcast::Receiver<raftlab::node::Event>,
    task: tokio::task::JoinHandle<()>,
}

fn start(disk: &FaultyDisk) -> Node {
    let storage = storage(disk);
    let initial = storage.initial_state().expect("initial state");
    let core = RaftNode::new(Config::new(1, vec![1, 2, 3]), initial).expect("core");
    let shared: SharedStorage = Arc::new(Mutex::new(Box::new(storage)));
    let (outbox, sent) = Outbox::channel();
    let bus = EventBus::new(64);
    let events = bus.subscribe();
    let driver = Driver::new(core, shared, outbox, bus, SnapshotPolicy::NEVER).expect("driver");
    let (inbox, rx) = mpsc::channel(16);
    let task = tokio::spawn(driver.run(rx));
    Node {
        inbox,
        sent,
        events,
        task,
    }
}

/// Asks node 1 for its vote, lets the disk fail the write with `fault`, and checks that the node
/// stops with an error naming it, granting nothing, and that a power cut leaves the vote it had
/// granted before.
async fn a_failed_write_stops_the_node_before_it_votes(fault: impl Fn(&FaultyDisk), says: &str) {
    let mut disk = FaultyDisk::new(1);
    let mut node = start(&disk);
    node.inbox.send(vote_request(1, 2)).await.expect("send");
    let granted = tokio::time::timeout(Duration::from_secs(10), node.sent.recv())
        .await
        .expect("answered in time")
        .expect("an answer");
    assert_eq!(
        granted.rpc,
        Rpc::RequestVoteReply(RequestVoteReply {
            term: 1,
            vote_granted: true
        })
    );

    fault(&disk);
    node.inbox.send(vote_request(2, 3)).await.expect("send");
    tokio::time::timeout(Duration::from_secs(10), &mut node.task)
        .await
        .expect("the node stops")
        .expect("without panicking");
    assert_eq!(
        node.sent.recv().await,
        None,
        "nothing sent after the failed write: the vote is not granted"
    );
    let mut down = None;
    while let Ok(event) = node.events.try_recv() {
        if let EventKind::NodeDown(why) = event.kind {
            down = Some(why);
        }
    }
    let why = down.expect("a NodeDown event");
    assert!(why.contains(says), "{why}");
    assert!(why.contains("hardstate.tmp"), "names the file: {why}");

    disk.power_cut();
    disk.set_capacity(None);
    let state = storage(&disk).initial_state().expect("state");
    assert_eq!(
        (state.hard_state.term, state.hard_state.voted_for),
        (1, Some(2)),
        "the vote granted before survives; the one refused was never durable"
    );
}

#[tokio::test]
async fn an_fsync_error_stops_the_node_before_it_votes() {
    a_failed_write_stops_the_node_before_it_votes(FaultyDisk::fail_next_fsync, "EIO").await;
}

#[tokio::test]
async fn a_write_error_stops_the_node_before_it_votes() {
    a_failed_write_stops_the_node_before_it_votes(FaultyDisk::fail_next_write, "EIO").await;
}

#[tokio::test]
async fn a_full_disk_stops_the_node_before_it_votes() {
    a_failed_write_stops_the_node_before_it_votes(
        |disk| disk.set_capacity(Some(0)),
        "No space left on device",
    )
    .await;
}
