//! Membership change over real gRPC (`fast` preset): a running 3-node cluster grows to 5 (each
//! new node a new gRPC server on a new port, added as a learner, caught up, then promoted) and
//! shrinks back to 3 (the leader among the removed), while closed-loop writers keep writing.
//! Every write must be acknowledged in the end (a writer retries with its session, so a retry is
//! applied once), and every acknowledged write must be on every remaining node.
//!
//! On a loaded 2-core machine: every wait polls a condition against a generous deadline.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::common::in_process::{eventually, kv_client, wait_leader};
use crate::common::DEADLINE;
use raftlab::cluster::{Cluster, ClusterConfig, ClusterError, ClusterHandle, Preset};
use raftlab::node::kv_service::LEADER_ID;
use raftlab::pb;
use raftlab::raft::NodeId;
use tokio::time::{Duration, Instant};

/// What the writers did.
#[derive(Default)]
struct Tally {
    /// Acknowledged writes: key → value.
    acked: Mutex<BTreeMap<String, String>>,
    /// Writes that were never acknowledged before the deadline.
    failed: Mutex<Vec<String>>,
    count: AtomicU64,
}

/// One closed-loop writer: a session (client id, sequence number), one write outstanding,
/// retried with the same sequence number until acknowledged.
async fn writer(c: ClusterHandle, client: u64, stop: Arc<AtomicBool>, tally: Arc<Tally>) {
    let mut target: NodeId = 1;
    let mut seq = 0u64;
    while !stop.load(Ordering::Relaxed) {
        seq += 1;
        let (key, value) = (format!("w{client}-{seq}"), format!("v{seq}"));
        let deadline = Instant::now() + DEADLINE;
        let mut acked = false;
        let mut attempt = 0usize;
        while Instant::now() < deadline {
            attempt += 1;
            let Some(mut kv) = kv_client(&c, target) else {
                let ids = c.ids();
                target = ids[attempt % ids.len()];
                continue;
            };
            let mut req = tonic::Request::new(pb::PutRequest {
                key: key.clone(),
                value: value.clone(),
                client_id: client,
                seq,
            });
            req.set_timeout(Duration::from_secs(5));
            match kv.put(req).await {
                Ok(_) => {
                    acked = true;
                    break;
                }
                Err(status) => {
                    let hint = status
                        .metadata()
                        .get(LEADER_ID)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<NodeId>().ok())
                        .filter(|h| *h != target);
                    target = hint.unwrap_or_else(|| {
                        let ids = c.ids();
                        ids[attempt % ids.len()]
                    });
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
        }
        if acked {
            tally.acked.lock().expect("tally lock").insert(key, value);
            tally.count.fetch_add(1, Ordering::Relaxed);
        } else {
            tally.failed.lock().expect("tally lock").push(key);
        }
    }
}

/// Runs a membership operation until the leader accepts it (it refuses while a new leader has
/// not committed in its term, or while another change is uncommitted, or a learner is behind).
async fn until_accepted<T, F, Fut>(what: &str, mut op: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ClusterError>>,
{
    eventually(what, || {
        let fut = op();
        async move {
            match fut.await {
                Ok(v) => Some(v),
                Err(ClusterError::NoLeader | ClusterError::Refused(..)) => None,
                Err(ClusterError::AlreadyDown(_)) => None,
                Err(e) => panic!("{what}: {e}"),
            }
        }
    })
    .await
}

/// The configuration every running node has committed, once they agree: (voters, learners).
fn agreed_configuration(c: &ClusterHandle) -> Option<(Vec<NodeId>, Vec<NodeId>)> {
    let st = c.status();
    let first = st.nodes.first()?;
    let conf = (first.status.voters.clone(), first.status.learners.clone());
    st.nodes
        .iter()
        .all(|n| {
            n.up && !n.status.conf_pending
                && (n.status.voters.clone(), n.status.learners.clone()) == conf
        })
        .then_some(conf)
}

async fn wait_configuration(c: &ClusterHandle, voters: &[NodeId], learners: &[NodeId]) {
    let want = (voters.to_vec(), learners.to_vec());
    eventually(&format!("every node commits {want:?}"), || async {
        (agreed_configuration(c).as_ref() == Some(&want)).then_some(())
    })
    .await
}

/// Waits until the writers have acknowledged `more` writes beyond now.
async fn writes_go_on(tally: &Tally, more: u64) {
    let from = tally.count.load(Ordering::Relaxed);
    eventually(&format!("{more} more writes acknowledged"), || async {
        (tally.count.load(Ordering::Relaxed) >= from + more).then_some(())
    })
    .await
}

async fn add_and_promote(c: &ClusterHandle, tally: &Tally, voters: &mut Vec<NodeId>) -> NodeId {
    let (id, _) = until_accepted("add a node", || c.add_node()).await;
    let addr = c.addr(id).expect("the new node has an address");
    assert!(addr.ip().is_loopback(), "{addr}");
    wait_configuration(c, voters, &[id]).await;
    writes_go_on(tally, 20).await;
    until_accepted(&format!("promote {id}"), || c.promote(id)).await;
    voters.push(id);
    wait_configuration(c, voters, &[]).await;
    writes_go_on(tally, 20).await;
    id
}

async fn remove(c: &ClusterHandle, tally: &Tally, id: NodeId, voters: &mut Vec<NodeId>) {
    until_accepted(&format!("remove {id}"), || c.remove_node(id)).await;
    voters.retain(|v| *v != id);
    eventually(&format!("node {id} leaves"), || async {
        (!c.ids().contains(&id)).then_some(())
    })
    .await;
    wait_configuration(c, voters, &[]).await;
    writes_go_on(tally, 20).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grow_to_five_and_shrink_to_three_while_writing() {
    let _real_time = crate::common::real_time();
    let mut config = ClusterConfig::new(3, Preset::Fast);
    config.seed = 11;
    let cluster = Cluster::start(config).await.expect("cluster starts");
    let c = cluster.handle();
    wait_leader(&c).await;

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let writers: Vec<_> = (1..=4)
        .map(|client| tokio::spawn(writer(c.clone(), client, stop.clone(), tally.clone())))
        .collect();
    writes_go_on(&tally, 20).await;

    let mut voters = vec![1, 2, 3];
    let four = add_and_promote(&c, &tally, &mut voters).await;
    let five = add_and_promote(&c, &tally, &mut voters).await;
    assert_eq!((four, five), (4, 5));
    assert_eq!(c.ids(), vec![1, 2, 3, 4, 5]);

    // Shrink: first the leader itself (it steps down once its removal commits), then one more.
    let leader = wait_leader(&c).await;
    remove(&c, &tally, leader, &mut voters).await;
    let other = *voters
        .iter()
        .find(|v| **v != wait_leader_now(&c))
        .expect("a follower");
    remove(&c, &tally, other, &mut voters).await;
    assert_eq!(c.ids(), voters);
    assert_eq!(voters.len(), 3);

    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.expect("writer");
    }
    let failed = tally.failed.lock().expect("tally lock").clone();
    assert!(failed.is_empty(), "writes never acknowledged: {failed:?}");
    let acked = tally.acked.lock().expect("tally lock").clone();
    assert!(acked.len() >= 100, "only {} writes", acked.len());

    // Every acknowledged write is on every remaining node once they have applied everything.
    let leader = wait_leader(&c).await;
    let commit = c
        .status()
        .nodes
        .iter()
        .find(|n| n.id == leader)
        .map_or(0, |n| n.status.commit);
    eventually("every node applies the leader's commit index", || async {
        c.status()
            .nodes
            .iter()
            .all(|n| n.status.applied >= commit)
            .then_some(())
    })
    .await;
    for id in c.ids() {
        let kv: BTreeMap<String, String> = c.kv(id).await.expect("kv").into_iter().collect();
        for (key, value) in &acked {
            assert_eq!(
                kv.get(key),
                Some(value),
                "node {id} lost the acknowledged write {key}={value}"
            );
        }
    }
    cluster.shutdown().await;
}

fn wait_leader_now(c: &ClusterHandle) -> NodeId {
    c.status().leader().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn membership_mistakes_are_refused_and_change_nothing() {
    let _real_time = crate::common::real_time();
    let cluster = Cluster::start(ClusterConfig::new(3, Preset::Fast))
        .await
        .expect("cluster starts");
    let c = cluster.handle();
    wait_leader(&c).await;
    // Not a learner: promoting a voter or an unknown node is refused.
    let err = until_accepted_err(&c, 2).await;
    assert!(err.contains("node"), "{err}");
    assert!(matches!(
        c.promote(7).await,
        Err(ClusterError::UnknownNode(7))
    ));
    assert!(matches!(
        c.remove_node(8).await,
        Err(ClusterError::UnknownNode(8))
    ));
    assert_eq!(c.ids(), vec![1, 2, 3]);
    wait_configuration(&c, &[1, 2, 3], &[]).await;
    cluster.shutdown().await;
}

/// Promoting voter `id` until the leader answers (it may not have committed in its term yet);
/// returns the refusal.
async fn until_accepted_err(c: &ClusterHandle, id: NodeId) -> String {
    eventually(&format!("the leader answers promote {id}"), || async {
        match c.promote(id).await {
            Err(ClusterError::Refused(_, why)) if !why.contains("commit") => Some(why),
            Ok(i) => panic!("promote {id} of a voter was accepted at {i}"),
            _ => None,
        }
    })
    .await
}

/// A node added at runtime, then compacted into a snapshot (which covers the configuration
/// entries that made it a member), restarts from disk knowing the configuration: its snapshot
/// file keeps it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_added_node_restarts_from_its_snapshot_knowing_the_configuration() {
    let _real_time = crate::common::real_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ClusterConfig::new(3, Preset::Fast);
    config.storage = raftlab::cluster::StorageConfig::Disk {
        dir: dir.path().to_path_buf(),
        fsync: raftlab::storage::FsyncPolicy::Never,
    };
    let cluster = Cluster::start(config).await.expect("cluster starts");
    let c = cluster.handle();
    wait_leader(&c).await;
    let (id, _) = until_accepted("add a node", || c.add_node()).await;
    wait_configuration(&c, &[1, 2, 3], &[id]).await;
    until_accepted(&format!("promote {id}"), || c.promote(id)).await;
    wait_configuration(&c, &[1, 2, 3, id], &[]).await;
    // The snapshot must cover the promotion, so that no configuration entry is left in the log
    // to recover it from: wait for the node to apply everything committed so far.
    let commit = c
        .status()
        .nodes
        .iter()
        .map(|n| n.status.commit)
        .max()
        .unwrap_or(0);
    eventually(&format!("node {id} applies {commit}"), || async {
        c.status()
            .nodes
            .iter()
            .any(|n| n.id == id && n.status.applied >= commit)
            .then_some(())
    })
    .await;
    let meta = until_accepted(&format!("snapshot {id}"), || c.snapshot(id)).await;
    assert!(meta.index >= commit, "{meta:?} covers {commit}");
    c.kill(id).await.expect("kill");
    c.restart(id).await.expect("restart");
    eventually(
        &format!("node {id} knows it votes after its restart"),
        || async {
            c.status()
                .nodes
                .iter()
                .find(|n| n.id == id && n.up)
                .filter(|n| n.status.snapshot_index > 0 && n.status.voters == vec![1, 2, 3, id])
                .map(|_| ())
        },
    )
    .await;
    cluster.shutdown().await;
}
