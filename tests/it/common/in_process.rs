//! Helpers for tests that run a cluster in this process: polling a condition against a
//! deadline (never a bare sleep), the leader every running node follows, and a Kv client of a
//! node.
#![allow(dead_code)]

use std::future::Future;

use raftlab::cluster::ClusterHandle;
use raftlab::pb::kv_client::KvClient;
use raftlab::raft::{NodeId, Role};
use tokio::time::{Duration, Instant};
use tonic::transport::Channel;

use super::DEADLINE;

/// Polls `cond` every 20 ms until it returns Some, or panics with `what` after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut cond: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = cond().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A leader that every running node follows in the leader's term.
pub fn agreed_leader(c: &ClusterHandle) -> Option<NodeId> {
    agreed_leader_among(c, &c.ids())
}

/// A leader that every running node among `among` follows in the leader's term.
pub fn agreed_leader_among(c: &ClusterHandle, among: &[NodeId]) -> Option<NodeId> {
    let st = c.status();
    let nodes: Vec<_> = st
        .nodes
        .iter()
        .filter(|n| n.up && among.contains(&n.id))
        .collect();
    let leader = nodes
        .iter()
        .filter(|n| n.status.role == Role::Leader)
        .max_by_key(|n| n.status.term)?;
    let all_follow = nodes
        .iter()
        .all(|n| n.status.term == leader.status.term && n.status.leader_id == Some(leader.id));
    all_follow.then_some(leader.id)
}

/// Waits for [`agreed_leader`].
pub async fn wait_leader(c: &ClusterHandle) -> NodeId {
    eventually("a leader all running nodes follow", || async {
        agreed_leader(c)
    })
    .await
}

/// A lazily connected Kv client of node `id`.
pub fn kv_client(c: &ClusterHandle, id: NodeId) -> Option<KvClient<Channel>> {
    let addr = c.addr(id)?;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .ok()?
        .connect_lazy();
    Some(KvClient::new(channel))
}
