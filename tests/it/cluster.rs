//! Integration tests over real gRPC: a cluster of real nodes on 127.0.0.1 with the `fast`
//! preset, driven through the supervisor and the Kv service, each bounded in time.
//!
//! These run on loaded 2-core machines: every wait polls a condition against a generous
//! deadline, never a bare sleep.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::common::in_process::{agreed_leader_among as agreed_leader, eventually};
use raftlab::cluster::{Cluster, ClusterConfig, ClusterHandle, LinkPolicy, Preset};
use raftlab::pb::{self, kv_client::KvClient};
use raftlab::raft::{NodeId, Role};
use tonic::transport::Channel;

async fn start(n: usize) -> Cluster {
    let mut config = ClusterConfig::new(n, Preset::Fast);
    config.seed = 42;
    Cluster::start(config).await.expect("cluster starts")
}

async fn wait_leader(c: &ClusterHandle, among: &[NodeId]) -> NodeId {
    eventually("a leader all nodes follow", || async {
        agreed_leader(c, among)
    })
    .await
}

fn client(c: &ClusterHandle, id: NodeId) -> KvClient<Channel> {
    crate::common::in_process::kv_client(c, id).expect("a running node's address")
}

/// Puts with a session, retrying (same client id and seq) on any node until it succeeds.
async fn put(c: &ClusterHandle, key: &str, value: &str, client_id: u64, seq: u64) -> pb::PutReply {
    let ids = c.ids();
    let mut attempt = 0usize;
    eventually(&format!("put {key}={value}"), || {
        attempt += 1;
        let id = ids[attempt % ids.len()];
        let up = c.is_up(id);
        let mut kv = client(c, id);
        let req = pb::PutRequest {
            key: key.into(),
            value: value.into(),
            client_id,
            seq,
        };
        async move {
            if !up {
                return None;
            }
            let mut req = tonic::Request::new(req);
            req.set_timeout(Duration::from_secs(3));
            kv.put(req).await.ok().map(|r| r.into_inner())
        }
    })
    .await
}

/// Every running node's applied key-value contents, once they all agree.
async fn converged_kv(c: &ClusterHandle) -> Vec<(String, String)> {
    eventually("all running nodes apply the same contents", || async {
        let mut contents = BTreeSet::new();
        let mut commits = BTreeSet::new();
        for id in c.ids() {
            if !c.is_up(id) {
                continue;
            }
            contents.insert(c.kv(id).await.ok()?);
            let st = c.status();
            let n = st.nodes.iter().find(|n| n.id == id)?;
            commits.insert((n.status.commit, n.status.applied));
        }
        (contents.len() == 1 && commits.len() == 1)
            .then(|| contents.into_iter().next().unwrap_or_default())
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_nodes_elect_exactly_one_leader() {
    let _real_time = crate::common::real_time();
    let c = start(5).await;
    let all = c.ids();
    let leader = wait_leader(&c, &all).await;
    let st = c.status();
    let term = st
        .nodes
        .iter()
        .find(|n| n.id == leader)
        .map(|n| n.status.term);
    let leaders_in_term = st
        .nodes
        .iter()
        .filter(|n| n.status.role == Role::Leader && Some(n.status.term) == term)
        .count();
    assert_eq!(leaders_in_term, 1);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_apply_on_every_node() {
    let _real_time = crate::common::real_time();
    let c = start(5).await;
    wait_leader(&c, &c.ids()).await;
    let mut tasks = Vec::new();
    for client_id in 1..=4u64 {
        let h = c.handle();
        tasks.push(tokio::spawn(async move {
            for seq in 1..=50u64 {
                put(
                    &h,
                    &format!("k{client_id}-{seq}"),
                    &format!("v{seq}"),
                    client_id,
                    seq,
                )
                .await;
            }
        }));
    }
    for t in tasks {
        t.await.expect("client task");
    }
    let kv = converged_kv(&c).await;
    assert_eq!(kv.len(), 200, "every write applied once");
    for client_id in 1..=4u64 {
        for seq in 1..=50u64 {
            let key = format!("k{client_id}-{seq}");
            let value = format!("v{seq}");
            assert!(kv.contains(&(key.clone(), value)), "{key} missing");
        }
    }
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_leader_is_replaced_and_writes_continue() {
    let _real_time = crate::common::real_time();
    let c = start(5).await;
    let all = c.ids();
    let old = wait_leader(&c, &all).await;
    put(&c, "before", "1", 1, 1).await;
    let old_term = c.status().nodes[old as usize - 1].status.term;
    c.kill(old).await.expect("kill");
    let rest: Vec<NodeId> = all.iter().copied().filter(|n| *n != old).collect();
    let new = wait_leader(&c, &rest).await;
    assert_ne!(new, old);
    let new_term = c.status().nodes[new as usize - 1].status.term;
    assert!(
        new_term > old_term,
        "new leader's term {new_term} > {old_term}"
    );
    put(&c, "after", "2", 1, 2).await;
    // The old leader comes back from its storage and catches up.
    c.restart(old).await.expect("restart");
    let kv = converged_kv(&c).await;
    assert!(kv.contains(&("before".into(), "1".into())));
    assert!(kv.contains(&("after".into(), "2".into())));
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn minority_leader_cannot_commit_and_steps_down_on_heal() {
    let _real_time = crate::common::real_time();
    let c = start(5).await;
    let all = c.ids();
    let old = wait_leader(&c, &all).await;
    put(&c, "base", "0", 1, 1).await;
    let buddy = *all.iter().find(|n| **n != old).expect("a follower");
    let majority: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|n| *n != old && *n != buddy)
        .collect();
    c.partition(&[vec![old, buddy], majority.clone()])
        .expect("partition");
    // The old leader takes the write but cannot commit it: the client must not see success.
    let mut kv = client(&c, old);
    let mut req = tonic::Request::new(pb::PutRequest {
        key: "lost".into(),
        value: "x".into(),
        client_id: 2,
        seq: 1,
    });
    req.set_timeout(Duration::from_millis(1500));
    let res = kv.put(req).await;
    assert!(res.is_err(), "a minority leader answered success: {res:?}");
    // The majority elects its own leader and commits.
    let new = wait_leader(&c, &majority).await;
    assert!(majority.contains(&new));
    put(&c, "won", "y", 3, 1).await;
    c.heal();
    // The old leader steps down to the new term, and its uncommitted entry is replaced.
    eventually("old leader follows the new one", || async {
        let st = c.status();
        let n = &st.nodes[old as usize - 1];
        (n.status.role == Role::Follower && n.status.leader_id == Some(new)).then_some(())
    })
    .await;
    let kv = converged_kv(&c).await;
    assert!(kv.contains(&("won".into(), "y".into())));
    assert!(
        !kv.iter().any(|(k, _)| k == "lost"),
        "uncommitted entry applied"
    );
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_write_with_same_session_applies_once() {
    let _real_time = crate::common::real_time();
    let c = start(3).await;
    let leader = wait_leader(&c, &c.ids()).await;
    let follower = *c.ids().iter().find(|n| **n != leader).expect("follower");
    let req = pb::AppendRequest {
        key: "log".into(),
        value: "a".into(),
        client_id: 9,
        seq: 1,
    };
    let first = client(&c, leader)
        .append(req.clone())
        .await
        .expect("append")
        .into_inner();
    // The same request again, through a follower (forwarded): the first result, no second apply.
    let again = client(&c, follower)
        .append(req)
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first.value, "a");
    assert_eq!(again.value, "a");
    let get = client(&c, follower)
        .get(pb::GetRequest { key: "log".into() })
        .await
        .expect("get")
        .into_inner();
    assert_eq!((get.found, get.value.as_str()), (true, "a"));
    // A new seq applies.
    let next = client(&c, leader)
        .append(pb::AppendRequest {
            key: "log".into(),
            value: "b".into(),
            client_id: 9,
            seq: 2,
        })
        .await
        .expect("append 2")
        .into_inner();
    assert_eq!(next.value, "ab");
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_link_and_drifted_clocks_keep_agreement() {
    let _real_time = crate::common::real_time();
    let c = start(5).await;
    wait_leader(&c, &c.ids()).await;
    c.slow(2, Duration::from_millis(40)).expect("slow");
    c.set_link(
        3,
        4,
        LinkPolicy {
            delay: Duration::from_millis(20),
            jitter: Duration::from_millis(20),
            drop_rate: 0.2,
            ..LinkPolicy::default()
        },
    )
    .expect("link");
    c.set_clock_rate(4, 1.7).expect("drift");
    c.set_clock_rate(5, 0.6).expect("drift");
    for seq in 1..=40u64 {
        put(&c, &format!("d{seq}"), "v", 5, seq).await;
    }
    let kv = converged_kv(&c).await;
    assert_eq!(kv.len(), 40);
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_errors() {
    let _real_time = crate::common::real_time();
    let c = start(3).await;
    let leader = wait_leader(&c, &c.ids()).await;
    let mut kv = client(&c, leader);
    let err = kv
        .put(pb::PutRequest {
            key: String::new(),
            value: "x".into(),
            client_id: 0,
            seq: 0,
        })
        .await
        .expect_err("empty key");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    let err = kv
        .put(pb::PutRequest {
            key: "k".into(),
            value: "x".into(),
            client_id: 4,
            seq: 0,
        })
        .await
        .expect_err("seq 0 with a session");
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert!(c.kill(99).await.is_err());
    assert!(c.partition(&[vec![1, 42]]).is_err());
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_node_recovers_from_its_disk_then_catches_up() {
    let _real_time = crate::common::real_time();
    let dir = std::env::temp_dir().join(format!("raftlab-cluster-disk-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = ClusterConfig::new(3, Preset::Fast);
    config.seed = 7;
    config.storage = raftlab::cluster::StorageConfig::Disk {
        dir: dir.clone(),
        fsync: raftlab::storage::FsyncPolicy::Always,
    };
    let c = Cluster::start(config)
        .await
        .expect("cluster starts on disk");
    let leader = wait_leader(&c, &c.ids()).await;
    for seq in 1..=30u64 {
        put(&c, &format!("a{seq}"), "1", 1, seq).await;
    }
    let follower = *c.ids().iter().find(|n| **n != leader).expect("follower");
    converged_kv(&c).await;
    let before = c.status().nodes[follower as usize - 1]
        .status
        .last_log_index;
    c.kill(follower).await.expect("kill");
    for seq in 31..=60u64 {
        put(&c, &format!("a{seq}"), "1", 1, seq).await;
    }
    c.restart(follower).await.expect("restart");
    // Straight after the restart its log is what its disk held, before any AppendEntries.
    let recovered = c.status().nodes[follower as usize - 1]
        .status
        .last_log_index;
    assert!(
        recovered >= before,
        "node {follower} restarted with {recovered} entries, had {before} on disk"
    );
    let kv = converged_kv(&c).await;
    assert_eq!(kv.len(), 60);
    c.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Issue 6: a follower killed while 5,000 writes commit and are compacted away on the others
/// restarts from its disk and catches up through InstallSnapshot, ending with the leader's
/// contents; a write retried after the snapshot (same session and seq) is still applied once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_follower_catches_up_by_snapshot_and_sessions_survive_it() {
    let _real_time = crate::common::real_time();
    use raftlab::node::{EventKind, SnapshotPolicy};
    use raftlab::raft::TraceEvent;

    let dir = std::env::temp_dir().join(format!("raftlab-cluster-snap-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = ClusterConfig::new(3, Preset::Fast);
    config.seed = 11;
    config.storage = raftlab::cluster::StorageConfig::Disk {
        dir: dir.clone(),
        fsync: raftlab::storage::FsyncPolicy::Never,
    };
    config.snapshot = Some(SnapshotPolicy {
        entries: 200,
        bytes: 0,
    });
    let c = Cluster::start(config).await.expect("cluster starts");
    let leader = wait_leader(&c, &c.ids()).await;
    let follower = *c.ids().iter().find(|n| **n != leader).expect("follower");
    // A session write before the snapshot, to retry after it.
    let first = client(&c, leader)
        .append(pb::AppendRequest {
            key: "once".into(),
            value: "a".into(),
            client_id: 77,
            seq: 1,
        })
        .await
        .expect("append")
        .into_inner();
    assert_eq!(first.value, "a");
    converged_kv(&c).await;
    c.kill(follower).await.expect("kill");

    // 5,000 writes from 8 concurrent sessions.
    let mut writers = tokio::task::JoinSet::new();
    for w in 0..8u64 {
        let c = c.handle();
        writers.spawn(async move {
            for seq in 1..=625u64 {
                put(
                    &c,
                    &format!("k{}", seq % 50),
                    &format!("w{w}-{seq}"),
                    100 + w,
                    seq,
                )
                .await;
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.expect("writer");
    }
    let st = c.status();
    let lead = &st.nodes[leader as usize - 1].status;
    let lagging = &st.nodes[follower as usize - 1].status;
    assert!(
        lead.first_index > lagging.last_log_index + 1,
        "the leader still holds entry {} the follower needs (first index {})",
        lagging.last_log_index + 1,
        lead.first_index
    );

    let mut events = c.events().subscribe();
    c.restart(follower).await.expect("restart");
    let kv = converged_kv(&c).await;
    assert_eq!(kv.len(), 51, "50 keys written by the writers, plus `once`");
    let mut installed = false;
    loop {
        use tokio::sync::broadcast::error::TryRecvError;
        match events.try_recv() {
            Ok(e) => {
                if e.node == follower
                    && matches!(
                        e.kind,
                        EventKind::Trace(TraceEvent::SnapshotInstalled { .. })
                    )
                {
                    installed = true;
                }
            }
            Err(TryRecvError::Lagged(_)) => continue,
            Err(_) => break,
        }
    }
    assert!(
        installed,
        "node {follower} caught up without InstallSnapshot"
    );

    // The retry, long after the snapshot that covers it: answered with the first result.
    let retry = client(&c, follower)
        .append(pb::AppendRequest {
            key: "once".into(),
            value: "a".into(),
            client_id: 77,
            seq: 1,
        })
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry.value, "a");
    let kv = converged_kv(&c).await;
    assert!(kv.contains(&("once".to_string(), "a".to_string())));
    c.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

/// Paused means every clock stops: cluster time (event stamps, capture times, the send times of
/// messages) stands still while wall time passes, and runs on from there after resume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_time_stands_still_while_paused() {
    let _real_time = crate::common::real_time();
    let c = start(3).await;
    let all = c.ids();
    let leader = wait_leader(&c, &all).await;
    c.pause();
    let stopped = c.events().elapsed();
    // A human looking at the paused screen.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(c.events().elapsed(), stopped);
    let view = raftlab::observe::cluster_view::capture(&c, Default::default(), None, false).await;
    assert_eq!(view.at, stopped);
    // A write while paused: the leader appends and sends at once; the network holds the
    // messages, stamped with the moment of the pause.
    let mut kv = client(&c, leader);
    let write = tokio::spawn(async move {
        let mut req = tonic::Request::new(pb::PutRequest {
            key: "y".into(),
            value: "2".into(),
            client_id: 0,
            seq: 0,
        });
        req.set_timeout(Duration::from_secs(5));
        kv.put(req).await
    });
    let sent = eventually("the write's appends held in flight", || async {
        let held: Vec<_> = c
            .in_flight()
            .into_iter()
            .filter(|m| m.from == leader && m.sent_at >= stopped)
            .collect();
        (!held.is_empty()).then_some(held)
    })
    .await;
    assert!(sent.iter().all(|m| m.sent_at == stopped), "{sent:?}");
    c.resume();
    let resumed = c.events().elapsed();
    assert!(resumed >= stopped && resumed < stopped + Duration::from_millis(400));
    let _ = write.await;
    c.shutdown().await;
}
