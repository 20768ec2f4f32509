//! `raftlab chaos` in process: seeds of concurrent clients under every nemesis, judged by the
//! linearizability checker; and proof that the checker catches a real bug (reads served from a
//! node's local state) in a partition.
//!
//! `RAFTLAB_CHAOS_SEEDS` (default 3) seeds of `RAFTLAB_CHAOS_SECS` (default 10) seconds each;
//! `RAFTLAB_CHAOS_SEED=S` runs just seed S.

use std::time::Duration;

use raftlab::chaos::{run_chaos, summary, ChaosOptions, Nemesis};
use raftlab::check::{self, CheckResult, History, KvOp, KvOutput, Outcome};
use raftlab::cluster::{Cluster, ClusterConfig, ClusterHandle, Preset, UnsafeRule};
use raftlab::pb::{self, kv_client::KvClient};
use raftlab::raft::{NodeId, Role};
use tokio::time::Instant;

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_seeds_are_linearizable_under_every_nemesis() {
    let _real_time = crate::common::real_time();
    let seeds: Vec<u64> = match env_u64("RAFTLAB_CHAOS_SEED") {
        Some(s) => vec![s],
        None => (0..env_u64("RAFTLAB_CHAOS_SEEDS").unwrap_or(3)).collect(),
    };
    let secs = env_u64("RAFTLAB_CHAOS_SECS").unwrap_or(10);
    for seed in seeds {
        let mut config = ClusterConfig::new(5, Preset::Fast);
        config.seed = seed;
        let cluster = Cluster::start(config).await.expect("cluster starts");
        let options = ChaosOptions {
            seed,
            duration: Duration::from_secs(secs),
            clients: 8,
            keys: 5,
            nemeses: Nemesis::ALL.to_vec(),
            check_budget: Duration::from_secs(60),
            recovery: Duration::from_secs(60),
            verbose: false,
            cancel: None,
        };
        let report = run_chaos(&cluster.handle(), &options).await;
        cluster.shutdown().await;
        let counts = report.history.counts();
        assert!(
            report.passed(),
            "chaos seed {seed} failed:\n{}",
            summary(&report)
        );
        assert!(counts.ok > 0, "seed {seed}: no operation succeeded");
        assert!(
            !report.faults.is_empty(),
            "seed {seed}: no fault was applied"
        );
        println!(
            "seed {seed}: {} ok, {} failed, {} unknown, {} faults, {} elections: {}",
            counts.ok,
            counts.failed,
            counts.unknown,
            report.faults.len(),
            report.elections,
            report.verdict
        );
    }
}

fn client(c: &ClusterHandle, id: NodeId) -> KvClient<tonic::transport::Channel> {
    let addr = c.addr(id).expect("address");
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .expect("uri")
        .connect_lazy();
    KvClient::new(channel)
}

/// Polls until `cond` holds, for at most 30 s.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn leader_among(c: &ClusterHandle, among: &[NodeId]) -> Option<NodeId> {
    let st = c.status();
    let leader = st
        .nodes
        .iter()
        .filter(|n| n.up && among.contains(&n.id) && n.status.role == Role::Leader)
        .max_by_key(|n| n.status.term)?;
    let followed = st
        .nodes
        .iter()
        .filter(|n| among.contains(&n.id) && n.status.leader_id == Some(leader.id))
        .count();
    (followed > among.len() / 2).then_some(leader.id)
}

/// Puts through the leader until it is acknowledged, recording every attempt.
async fn recorded_put(c: &ClusterHandle, h: &History, among: &[NodeId], key: &str, value: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            Instant::now() < deadline,
            "put {key}={value} never succeeded"
        );
        let Some(leader) = leader_among(c, among) else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let op = KvOp::Put {
            key: key.into(),
            value: value.into(),
        };
        let pending = h.invoke(1, op);
        let mut req = tonic::Request::new(pb::PutRequest {
            key: key.into(),
            value: value.into(),
            client_id: 0,
            seq: 0,
        });
        req.set_timeout(Duration::from_secs(3));
        match client(c, leader).put(req).await {
            Ok(r) => {
                let r = r.into_inner();
                pending.complete(Outcome::Ok(KvOutput::Put {
                    previous: r.had_previous.then_some(r.previous),
                }));
                return;
            }
            Err(e) => pending.complete(Outcome::Unknown(e.to_string())),
        }
    }
}

/// The unsafe rule `local-reads` makes every node answer gets from its own state.
/// Cut the leader off, write through the new leader, read through the old one: the history has
/// a stale read, and the checker must say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checker_rejects_stale_reads_from_local_state_in_a_partition() {
    let _real_time = crate::common::real_time();
    let mut config = ClusterConfig::new(5, Preset::Fast);
    config.seed = 3;
    config.rules.enable(UnsafeRule::LocalReads);
    let cluster = Cluster::start(config).await.expect("cluster starts");
    let c = cluster.handle();
    let all = c.ids();
    let history = History::new();
    recorded_put(&c, &history, &all, "x", "1").await;
    let old = leader_among(&c, &all).expect("a leader");
    // Wait until the old leader applied x=1 itself.
    eventually("the old leader applies x=1", || {
        c.status()
            .nodes
            .iter()
            .any(|n| n.id == old && n.status.applied >= 2)
    })
    .await;
    let others: Vec<NodeId> = all.iter().copied().filter(|n| *n != old).collect();
    c.partition(&[vec![old], others.clone()])
        .expect("partition");
    eventually("the majority elects a new leader", || {
        leader_among(&c, &others).is_some()
    })
    .await;
    recorded_put(&c, &history, &others, "x", "2").await;
    // A read at the old leader, after x=2 was acknowledged.
    let pending = history.invoke(2, KvOp::Get { key: "x".into() });
    let reply = client(&c, old)
        .get(pb::GetRequest { key: "x".into() })
        .await
        .expect("a local read always answers")
        .into_inner();
    assert_eq!(reply.value, "1", "the isolated old leader still has x=1");
    pending.complete(Outcome::Ok(KvOutput::Get {
        value: reply.found.then_some(reply.value),
    }));
    cluster.shutdown().await;
    let verdict = check::check(&history.operations(), Duration::from_secs(30));
    assert!(
        matches!(verdict, CheckResult::NotLinearizable { .. }),
        "the checker accepted a stale read: {verdict}"
    );
    println!("{verdict}");
}
