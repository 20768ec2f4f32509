//! Issue 9: the unsafe rule switches do damage that `raftlab chaos` catches, on a real gRPC
//! cluster, and the same invocation without the switch passes.
//!
//! - `local-reads`: every node answers gets from its own applied state. Followers lag the leader,
//!   so with 8 clients on 5 keys a read that misses an acknowledged write comes within the first
//!   second, partition or not: the linearizability checker says NOT linearizable.
//!   (`raftlab chaos --seed 1 --nemesis partition --duration 5s --unsafe local-reads`)
//! - `vote-without-log-check`: with PreVote and CheckQuorum off, a node cut off by a partition
//!   keeps raising its term; at the heal its higher term deposes the leader, and without the
//!   election restriction the others vote for it although its log lacks what they committed.
//!   As leader it tries to overwrite committed entries: the followers refuse (the core's guard
//!   against truncating committed entries, a `ProtocolViolation` trace), nothing commits again,
//!   and the chaos run's convergence check fails.
//!   (`raftlab chaos --seed 2 --nodes 5 --nemesis partition --duration 12s --no-pre-vote
//!   --no-check-quorum --unsafe vote-without-log-check`)
//!
//! Each unsafe run gets up to 3 seeds (a chaos run is not deterministic: real sockets and
//! timers) and passes when one of them is caught; the safe run of the first seed must pass.
//!
//! `forget-vote` and `commit-by-counting` are not here: their damage needs a precise schedule (a
//! restart between two RequestVotes of one term; Figure 8's crash-and-elect sequence) that random
//! chaos did not produce in the runs tried. The simulator shows both: `tests/sim_lab.rs`.

use std::time::Duration;

use raftlab::chaos::{run_chaos, summary, ChaosOptions, ChaosReport, Nemesis};
use raftlab::check::CheckResult;
use raftlab::cluster::{Cluster, ClusterConfig, Preset, UnsafeRule};
use raftlab::node::event::EventKind;
use raftlab::raft::TraceEvent;

/// One `raftlab chaos` invocation, with or without an unsafe rule.
#[derive(Clone)]
struct Invocation {
    nodes: usize,
    nemeses: Vec<Nemesis>,
    duration: Duration,
    recovery: Duration,
    pre_vote: bool,
    check_quorum: bool,
}

/// What a run found: its report, and how many times a follower refused to remove a committed
/// entry (seen on the event bus; a lower bound, the bus may skip events under load).
struct Run {
    report: ChaosReport,
    refused_truncations: usize,
}

async fn run(inv: &Invocation, seed: u64, rule: Option<UnsafeRule>) -> Run {
    let mut config = ClusterConfig::new(inv.nodes, Preset::Fast);
    config.seed = seed;
    config.rules.pre_vote = inv.pre_vote;
    config.rules.check_quorum = inv.check_quorum;
    if let Some(rule) = rule {
        config.rules.enable(rule);
    }
    let cluster = Cluster::start(config).await.expect("cluster starts");
    let mut events = cluster.handle().events().subscribe();
    let watcher = tokio::spawn(async move {
        let mut refused = 0;
        loop {
            match events.recv().await {
                Ok(e) => {
                    if let EventKind::Trace(TraceEvent::ProtocolViolation { .. }) = e.kind {
                        refused += 1;
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return refused,
            }
        }
    });
    let options = ChaosOptions {
        seed,
        duration: inv.duration,
        clients: 8,
        keys: 5,
        nemeses: inv.nemeses.clone(),
        check_budget: Duration::from_secs(30),
        recovery: inv.recovery,
        verbose: false,
        cancel: None,
    };
    let report = run_chaos(&cluster.handle(), &options).await;
    cluster.shutdown().await;
    watcher.abort();
    let refused_truncations = watcher.await.unwrap_or(0);
    Run {
        report,
        refused_truncations,
    }
}

/// Runs `inv` with `rule` on for up to three seeds, until `caught` says a run showed the damage;
/// then the first seed without the rule, which must pass.
async fn caught_with_and_passes_without(
    inv: Invocation,
    rule: UnsafeRule,
    seeds: [u64; 3],
    caught: impl Fn(&Run) -> bool,
) {
    let mut tried = Vec::new();
    let mut hit = None;
    for seed in seeds {
        let r = run(&inv, seed, Some(rule)).await;
        if caught(&r) {
            hit = Some((seed, r));
            break;
        }
        tried.push(format!("seed {seed}:\n{}", summary(&r.report)));
    }
    let Some((seed, r)) = hit else {
        panic!(
            "{rule}: no run of {seeds:?} showed the damage:\n{}",
            tried.join("\n")
        );
    };
    let counts = r.report.history.counts();
    println!(
        "{rule} seed {seed} ({} runs not caught before it): {} ok ops, {} faults, {} refused \
         truncations of committed entries\n  converged: {:?}\n  verdict: {}",
        tried.len(),
        counts.ok,
        r.report.faults.len(),
        r.refused_truncations,
        r.report.converged,
        r.report.verdict,
    );
    let safe = run(&inv, seeds[0], None).await;
    assert!(
        safe.report.passed(),
        "{rule}: the same invocation without the rule (seed {}) failed:\n{}",
        seeds[0],
        summary(&safe.report)
    );
    assert!(safe.report.history.counts().ok > 0);
    println!("without {rule}, seed {}: passed", seeds[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_reads_give_stale_reads_that_the_checker_rejects() {
    let inv = Invocation {
        nodes: 5,
        nemeses: vec![Nemesis::Partition],
        duration: Duration::from_secs(5),
        recovery: Duration::from_secs(15),
        pre_vote: true,
        check_quorum: true,
    };
    caught_with_and_passes_without(inv, UnsafeRule::LocalReads, [1, 2, 3], |r| {
        matches!(r.report.verdict, CheckResult::NotLinearizable { .. })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_without_the_log_check_elect_a_stale_leader_that_wedges_the_cluster() {
    let inv = Invocation {
        nodes: 5,
        nemeses: vec![Nemesis::Partition],
        duration: Duration::from_secs(12),
        recovery: Duration::from_secs(8),
        pre_vote: false,
        check_quorum: false,
    };
    // Caught: the checker rejects the history (a lagging follower let the stale leader cut
    // committed entries), or the cluster never converged while followers refused to remove
    // committed entries (the stale leader's doing, not a slow machine's).
    caught_with_and_passes_without(inv, UnsafeRule::VoteWithoutLogCheck, [2, 1, 3], |r| {
        matches!(r.report.verdict, CheckResult::NotLinearizable { .. })
            || (r.report.converged.is_err() && r.refused_truncations > 0)
    })
    .await;
}
