//! Crash tests with a real process: `raftlab serve --data-dir D` under a write load from
//! concurrent clients is killed with SIGKILL at a random moment and restarted on the same
//! directory, round after round. Every write acknowledged before a kill must be readable after
//! the restart, and the nodes' logs must agree. The nodes snapshot often, so kills also land in
//! the middle of snapshots.
//!
//! `RAFTLAB_CRASH_ROUNDS=N` sets the number of rounds (CI runs a few; 100 locally).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::{channel, start_serve, Server, DEADLINE};
use raftlab::cli::serve::ServeInfo;
use raftlab::pb::{self, control_client::ControlClient, kv_client::KvClient};
use raftlab::raft::Rng;
use tonic::transport::Channel;

fn start(dir: &std::path::Path, seed: u64) -> (Server, ServeInfo) {
    let dir = dir.display().to_string();
    let seed = seed.to_string();
    start_serve(&[
        "--nodes",
        "3",
        "--preset",
        "fast",
        "--fsync",
        "always",
        "--data-dir",
        &dir,
        "--seed",
        &seed,
        // Snapshots every few hundred writes, so that kills also land while a snapshot's file is
        // being written ahead or the files it made useless are being deleted.
        "--snapshot-every",
        "150",
    ])
}

/// Writes unique keys with an exactly-once session until aborted; records each acknowledged one.
async fn writer(nodes: Vec<String>, client_id: u64, acked: Arc<Mutex<Vec<(String, String)>>>) {
    let mut clients: Vec<KvClient<Channel>> =
        nodes.iter().map(|a| KvClient::new(channel(a))).collect();
    let mut target = (client_id as usize) % clients.len();
    let mut seq = 1u64;
    loop {
        let key = format!("c{client_id}-{seq}");
        let value = format!("v{seq}");
        let mut req = tonic::Request::new(pb::PutRequest {
            key: key.clone(),
            value: value.clone(),
            client_id,
            seq,
        });
        req.set_timeout(Duration::from_secs(2));
        match clients[target].put(req).await {
            Ok(_) => {
                if let Ok(mut a) = acked.lock() {
                    a.push((key, value));
                }
                seq += 1;
            }
            Err(_) => {
                target = (target + 1) % clients.len();
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn read(nodes: &[String], key: &str) -> Option<(bool, String)> {
    for addr in nodes {
        let mut kv = KvClient::new(channel(addr));
        let mut req = tonic::Request::new(pb::GetRequest { key: key.into() });
        req.set_timeout(Duration::from_secs(2));
        if let Ok(r) = kv.get(req).await {
            let r = r.into_inner();
            return Some((r.found, r.value));
        }
    }
    None
}

/// Polls `cond` every 50 ms until it holds, or panics with `what` after DEADLINE.
async fn eventually<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + DEADLINE;
    while !cond().await {
        assert!(Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn snapshot(acked: &Mutex<Vec<(String, String)>>) -> Vec<(String, String)> {
    acked.lock().map(|a| a.clone()).unwrap_or_default()
}

async fn check_all(nodes: &[String], acked: &[(String, String)], when: &str) {
    eventually("the restarted cluster answers reads", || async {
        read(nodes, "probe").await.is_some()
    })
    .await;
    // Many reads at once: the leader batches them into few log appends.
    for chunk in acked.chunks(256) {
        let mut reads = tokio::task::JoinSet::new();
        for (k, v) in chunk {
            let (nodes, k, v) = (nodes.to_vec(), k.clone(), v.clone());
            reads.spawn(async move {
                let got = read(&nodes, &k).await;
                (k, v, got)
            });
        }
        while let Some(done) = reads.join_next().await {
            let (k, v, got) = done.expect("read task");
            assert_eq!(
                got,
                Some((true, v.clone())),
                "{when}: acknowledged write {k}={v} lost after a SIGKILL"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_sigkill() {
    let _real_time = crate::common::real_time();
    let rounds: u64 = std::env::var("RAFTLAB_CRASH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let dir = std::env::temp_dir().join(format!("raftlab-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = Rng::new(0xC4A5);
    // Acknowledged writes in the order they were acknowledged.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut checked = 0usize;
    for round in 0..rounds {
        let (server, info) = start(&dir, round);
        let nodes: Vec<String> = info.nodes.iter().map(|n| n.addr.clone()).collect();
        // Everything acknowledged before the last kill is there (and a sample of what earlier
        // rounds already checked, so that later recoveries are seen not to lose it either).
        let all = snapshot(&acked);
        let (older, newer) = all.split_at(checked.min(all.len()));
        let mut to_check: Vec<(String, String)> = newer.to_vec();
        for _ in 0..older.len().min(500) {
            to_check.push(older[rng.range(0, older.len() as u64) as usize].clone());
        }
        check_all(&nodes, &to_check, &format!("round {round}")).await;
        checked = all.len();
        // ...and the nodes' logs agree once they have caught up.
        let control = ControlClient::new(channel(&info.control));
        eventually("the nodes' logs agree", || {
            let mut c = control.clone();
            async move {
                let Ok(st) = c.status(pb::StatusRequest {}).await else {
                    return false;
                };
                let ends: Vec<(u64, u64, u64)> = st
                    .into_inner()
                    .nodes
                    .iter()
                    .map(|n| (n.last_log_index, n.last_log_term, n.commit_index))
                    .collect();
                ends.len() == 3 && ends.windows(2).all(|w| w[0] == w[1])
            }
        })
        .await;
        // Load, then SIGKILL at a random moment.
        let writers: Vec<_> = (1..=4u64)
            .map(|c| tokio::spawn(writer(nodes.clone(), round * 100 + c, acked.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(rng.range(300, 1500))).await;
        drop(server);
        for w in writers {
            w.abort();
        }
    }
    // A last restart: everything acknowledged, in every round, is there.
    let (server, info) = start(&dir, rounds);
    let nodes: Vec<String> = info.nodes.iter().map(|n| n.addr.clone()).collect();
    let all = snapshot(&acked);
    assert!(!all.is_empty(), "no write was ever acknowledged");
    check_all(&nodes, &all, "after the last kill").await;
    // The kills did land among snapshots: every node restarted from one.
    let status = ControlClient::new(channel(&info.control))
        .status(pb::StatusRequest {})
        .await
        .expect("status")
        .into_inner();
    let snapshots: Vec<u64> = status.nodes.iter().map(|n| n.snapshot_index).collect();
    assert!(
        snapshots.len() == 3 && snapshots.iter().all(|&i| i > 0),
        "every node should have recovered a snapshot: {snapshots:?}"
    );
    eprintln!(
        "{rounds} SIGKILL rounds, {} acknowledged writes, none lost; snapshots at {snapshots:?}",
        all.len()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
