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
//!   against truncating committed entries, a `ProtocolViolation` trace), it commits nothing
//!   more, its applied index stays behind, and the chaos run's convergence check fails; when a
//!   lagging follower let it cut entries first, the checker also finds the lost writes.
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

async fn run(inv: &Invocation, seed: u64, rule: Option<UnsafeRule>) -> ChaosReport {
    let mut config = ClusterConfig::new(inv.nodes, Preset::Fast);
    config.seed = seed;
    config.rules.pre_vote = inv.pre_vote;
    config.rules.check_quorum = inv.check_quorum;
    if let Some(rule) = rule {
        config.rules.enable(rule);
    }
    let cluster = Cluster::start(config).await.expect("cluster starts");
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
    report
}

/// Runs `inv` with `rule` on for up to three seeds, until `caught` says a run showed the damage;
/// then the first seed without the rule, which must pass.
async fn caught_with_and_passes_without(
    inv: Invocation,
    rule: UnsafeRule,
    seeds: [u64; 3],
    caught: impl Fn(&ChaosReport) -> bool,
) {
    let mut tried = Vec::new();
    let mut hit = None;
    for seed in seeds {
        let r = run(&inv, seed, Some(rule)).await;
        if caught(&r) {
            hit = Some((seed, r));
            break;
        }
        tried.push(format!("seed {seed}:\n{}", summary(&r)));
    }
    let Some((seed, r)) = hit else {
        panic!(
            "{rule}: no run of {seeds:?} showed the damage:\n{}",
            tried.join("\n")
        );
    };
    let counts = r.history.counts();
    println!(
        "{rule} seed {seed} ({} runs not caught before it): {} ok ops, {} faults\n  converged: {:?}\n  verdict: {}",
        tried.len(),
        counts.ok,
        r.faults.len(),
        r.converged,
        r.verdict,
    );
    let safe = run(&inv, seeds[0], None).await;
    assert!(
        safe.passed(),
        "{rule}: the same invocation without the rule (seed {}) failed:\n{}",
        seeds[0],
        summary(&safe)
    );
    assert!(safe.history.counts().ok > 0);
    println!("without {rule}, seed {}: passed", seeds[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_reads_give_stale_reads_that_the_checker_rejects() {
    let _real_time = crate::common::real_time();
    let inv = Invocation {
        nodes: 5,
        nemeses: vec![Nemesis::Partition],
        duration: Duration::from_secs(5),
        recovery: Duration::from_secs(15),
        pre_vote: true,
        check_quorum: true,
    };
    caught_with_and_passes_without(inv, UnsafeRule::LocalReads, [1, 2, 3], |r| {
        matches!(r.verdict, CheckResult::NotLinearizable { .. })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_without_the_log_check_elect_a_stale_leader_that_wedges_the_cluster() {
    let _real_time = crate::common::real_time();
    let inv = Invocation {
        nodes: 5,
        nemeses: vec![Nemesis::Partition],
        duration: Duration::from_secs(12),
        recovery: Duration::from_secs(6),
        pre_vote: false,
        check_quorum: false,
    };
    // Caught: the checker rejects the history (a lagging follower let the stale leader cut
    // committed entries), or the cluster never converges: the stale leader cannot commit and
    // its applied index stays behind the others'. The safe run of the same seed converges.
    caught_with_and_passes_without(inv, UnsafeRule::VoteWithoutLogCheck, [2, 1, 3], |r| {
        !r.passed()
    })
    .await;
}
