//! The runtime side of issue 9 over real gRPC (`fast` preset, memory storage): gets served by
//! ReadIndex without a log entry, lease reads, leader transfer (completed, and aborted when the
//! target is down), and the rule switches reaching every core.
//!
//! These run on loaded 2-core machines: every wait polls a condition against a generous
//! deadline, never a bare sleep.

use std::time::Duration;

use crate::common::in_process::{agreed_leader, eventually, wait_leader};
use crate::common::DEADLINE;
use raftlab::cluster::{Cluster, ClusterConfig, ClusterHandle, Preset, Rules, UnsafeRule};
use raftlab::node::EventKind;
use raftlab::pb::{self, kv_client::KvClient};
use raftlab::raft::{NodeId, ReadMode, Role, TraceEvent};
use tokio::time::Instant;
use tonic::transport::Channel;

async fn start(n: usize, rules: Rules) -> Cluster {
    let mut config = ClusterConfig::new(n, Preset::Fast);
    config.seed = 9;
    config.rules = rules;
    Cluster::start(config).await.expect("cluster starts")
}

fn client(c: &ClusterHandle, id: NodeId) -> KvClient<Channel> {
    crate::common::in_process::kv_client(c, id).expect("a running node's address")
}

/// Puts at node `at`, retrying until it succeeds.
async fn put_at(c: &ClusterHandle, at: NodeId, key: &str, value: &str) {
    eventually(&format!("put {key}={value} at node {at}"), || {
        let mut kv = client(c, at);
        let req = pb::PutRequest {
            key: key.into(),
            value: value.into(),
            client_id: 0,
            seq: 0,
        };
        async move {
            let mut req = tonic::Request::new(req);
            req.set_timeout(Duration::from_secs(3));
            kv.put(req).await.ok().map(|_| ())
        }
    })
    .await
}

async fn get_at(c: &ClusterHandle, at: NodeId, key: &str) -> Result<pb::GetReply, tonic::Status> {
    let mut req = tonic::Request::new(pb::GetRequest { key: key.into() });
    req.set_timeout(Duration::from_secs(5));
    client(c, at).get(req).await.map(|r| r.into_inner())
}

fn last_index(c: &ClusterHandle, id: NodeId) -> u64 {
    c.status()
        .nodes
        .iter()
        .find(|n| n.id == id)
        .map_or(0, |n| n.status.last_log_index)
}

/// Gets at the leader and at a follower answer the latest value, and add nothing to the log.
async fn reads_take_no_log_entry(rules: Rules) {
    let c = start(3, rules).await;
    let leader = wait_leader(&c).await;
    put_at(&c, leader, "x", "1").await;
    let follower = c
        .ids()
        .into_iter()
        .find(|i| *i != leader)
        .expect("a follower");
    // Let the follower apply x=1 too, so that the log is quiet.
    eventually("every node applied x=1", || async {
        let st = c.status();
        let top = st.nodes.iter().map(|n| n.status.last_log_index).max()?;
        st.nodes
            .iter()
            .all(|n| n.status.applied == top)
            .then_some(())
    })
    .await;
    let before = last_index(&c, leader);
    for i in 0..20 {
        let at = if i % 2 == 0 { leader } else { follower };
        let reply = get_at(&c, at, "x").await.expect("a get succeeds");
        assert!(reply.found, "get {i} at node {at} found nothing");
        assert_eq!(reply.value, "1", "get {i} at node {at}");
    }
    let missing = get_at(&c, leader, "nope").await.expect("a get succeeds");
    assert!(!missing.found);
    assert_eq!(
        last_index(&c, leader),
        before,
        "reads must not append log entries"
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gets_use_read_index_and_take_no_log_entry() {
    let _real_time = crate::common::real_time();
    reads_take_no_log_entry(Rules::default()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_reads_answer_too_and_take_no_log_entry() {
    let _real_time = crate::common::real_time();
    reads_take_no_log_entry(Rules {
        read_mode: ReadMode::Lease,
        ..Rules::default()
    })
    .await;
}

/// An old leader cut off from the majority cannot confirm a read index: its get fails (it never
/// answers the value it still holds), while the majority has moved on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_isolated_old_leader_never_answers_a_stale_get() {
    let _real_time = crate::common::real_time();
    let c = start(5, Rules::default()).await;
    let old = wait_leader(&c).await;
    put_at(&c, old, "x", "1").await;
    let others: Vec<NodeId> = c.ids().into_iter().filter(|i| *i != old).collect();
    c.partition(&[vec![old], others.clone()])
        .expect("partition");
    let new = eventually("the majority elects a new leader", || async {
        let st = c.status();
        st.nodes
            .iter()
            .filter(|n| others.contains(&n.id) && n.status.role == Role::Leader)
            .map(|n| n.id)
            .next()
    })
    .await;
    put_at(&c, new, "x", "2").await;
    match get_at(&c, old, "x").await {
        Ok(reply) => panic!(
            "the isolated old leader answered a get: {:?} (x=2 was acknowledged)",
            reply.value
        ),
        Err(status) => println!("the isolated old leader refused: {status:?}"),
    }
    c.heal();
    let reply = eventually("a get after the heal", || async {
        get_at(&c, old, "x").await.ok()
    })
    .await;
    assert_eq!(reply.value, "2");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_makes_the_target_leader_and_writes_continue() {
    let _real_time = crate::common::real_time();
    let c = start(3, Rules::default()).await;
    let leader = wait_leader(&c).await;
    put_at(&c, leader, "x", "1").await;
    let target = c
        .ids()
        .into_iter()
        .find(|i| *i != leader)
        .expect("a follower");
    let from = c.transfer(target).await.expect("the transfer starts");
    assert_eq!(from, leader);
    eventually(&format!("node {target} leads"), || async {
        (agreed_leader(&c) == Some(target)).then_some(())
    })
    .await;
    put_at(&c, target, "x", "2").await;
    assert_eq!(get_at(&c, target, "x").await.expect("get").value, "2");
    // Refusals are clear: the leader cannot hand over to itself or to a stranger.
    let err = c.transfer(target).await.expect_err("to itself");
    assert!(err.to_string().contains("already leads"), "{err}");
    assert!(c.transfer(7).await.is_err());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transfer_to_a_killed_node_aborts_and_the_leader_keeps_leading() {
    let _real_time = crate::common::real_time();
    let c = start(3, Rules::default()).await;
    let leader = wait_leader(&c).await;
    put_at(&c, leader, "x", "1").await;
    let term = c
        .status()
        .nodes
        .iter()
        .find(|n| n.id == leader)
        .map(|n| n.status.term);
    let target = c
        .ids()
        .into_iter()
        .find(|i| *i != leader)
        .expect("a follower");
    c.kill(target).await.expect("kill");
    let mut events = c.events().subscribe();
    c.transfer(target).await.expect("the transfer starts");
    // Proposals pause while the transfer is under way.
    let mut kv = client(&c, leader);
    let refused = kv
        .put(pb::PutRequest {
            key: "x".into(),
            value: "paused".into(),
            client_id: 0,
            seq: 0,
        })
        .await
        .expect_err("a put during the transfer is refused");
    assert!(
        refused.message().contains("transferred"),
        "unexpected refusal: {refused:?}"
    );
    // It aborts after an election timeout.
    let deadline = Instant::now() + DEADLINE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = tokio::time::timeout(left, events.recv())
            .await
            .expect("the transfer aborts in time")
            .expect("the event bus is open");
        if let EventKind::Trace(TraceEvent::TransferAborted { to, .. }) = event.kind {
            assert_eq!((event.node, to), (leader, target));
            break;
        }
    }
    // The same leader, in the same term, takes writes again.
    put_at(&c, leader, "x", "2").await;
    let st = c.status();
    let now = st.nodes.iter().find(|n| n.id == leader).expect("leader");
    assert_eq!(now.status.role, Role::Leader);
    assert_eq!(Some(now.status.term), term);
    assert_eq!(get_at(&c, leader, "x").await.expect("get").value, "2");
    c.shutdown().await;
}

/// Isolates a follower for two seconds (many election timeouts); returns how far its term rose.
async fn isolated_follower_term_rise(rules: Rules) -> u64 {
    let c = start(3, rules).await;
    assert_eq!(c.rules(), rules);
    let leader = wait_leader(&c).await;
    let follower = c
        .ids()
        .into_iter()
        .find(|i| *i != leader)
        .expect("a follower");
    let term = |c: &ClusterHandle| {
        c.status()
            .nodes
            .iter()
            .find(|n| n.id == follower)
            .map_or(0, |n| n.status.term)
    };
    let before = term(&c);
    c.isolate(follower).expect("isolate");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rise = term(&c) - before;
    c.shutdown().await;
    rise
}

/// The switches reach every core: with PreVote (the default) a cut-off follower never raises its
/// term; without it, it does at every election timeout. Unsafe rules are announced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pre_vote_switch_reaches_the_cores_and_unsafe_rules_are_marked() {
    let _real_time = crate::common::real_time();
    assert_eq!(isolated_follower_term_rise(Rules::default()).await, 0);
    let mut rules = Rules {
        pre_vote: false,
        ..Rules::default()
    };
    rules.enable(UnsafeRule::ForgetVote);
    assert_eq!(
        rules.unsafe_marker().as_deref(),
        Some("UNSAFE: forget-vote")
    );
    let rise = isolated_follower_term_rise(rules).await;
    assert!(rise >= 2, "without PreVote the term rose only by {rise}");
}
