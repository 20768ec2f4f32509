//! The Raft lab suite, run in the deterministic simulator over many seeds.
//!
//! In the spirit of the well-known Raft lab tests (elections, agreement, persistence, Figure 8,
//! unreliable networks, churn), but on raftlab's sans-IO core: every run checks Election Safety,
//! Log Matching, Leader Completeness and State Machine Safety after every step, and each test adds
//! its own liveness and accounting assertions.
//!
//! The scripted stories (Figure 8 step by step, the unsafe rules and the violation each lets
//! through) are told in `tests/testdata/*.txt` (see `golden.rs`); the seed sweeps stay here.
//!
//! Seeds: `RAFTLAB_SEEDS=N` runs N seeds per randomized test (default: a CI-sized count),
//! `RAFTLAB_SEED=S` runs just seed S (to reproduce a failure), and `--features many-seeds` runs
//! 10,000.

use std::collections::BTreeSet;

use bytes::Bytes;
use raftlab::raft::{
    ConfChange, ConfChangeError, Configuration, MessageKind, NodeId, ReadMode, Role,
};
use raftlab::sim::{NetConfig, SimConfig, Simulator, Violation};

const MS: u64 = 1_000;
const SEC: u64 = 1_000_000;
/// Longest an election may take on a healthy majority. Elections are won by chance (randomized
/// timeouts, §5.2): with 4 of 7 servers up every one of the 4 must vote alike, and a round that
/// splits costs one timeout (100–200 ms here). 10 s is ~60 rounds.
const ELECTION: u64 = 10 * SEC;

/// Why a seed failed.
#[derive(Debug)]
enum Failure {
    Safety(Violation),
    Liveness(String),
}

impl From<Violation> for Failure {
    fn from(v: Violation) -> Self {
        Failure::Safety(v)
    }
}

type Outcome = Result<(), Failure>;

fn fail(sim: &Simulator, what: impl Into<String>) -> Failure {
    let history = sim.timeline_lines();
    let tail = &history[..];
    Failure::Liveness(format!(
        "{} (seed {}, at {:.3}ms)\nreproduce with RAFTLAB_SEED={}\nlast events:\n  {}",
        what.into(),
        sim.seed(),
        sim.now() as f64 / 1000.0,
        sim.seed(),
        tail.join("\n  ")
    ))
}

/// The seeds a randomized test runs.
fn seeds(ci_default: u64) -> Vec<u64> {
    if let Some(seed) = std::env::var("RAFTLAB_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let count = std::env::var("RAFTLAB_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if cfg!(feature = "many-seeds") {
            10_000
        } else {
            ci_default
        });
    (0..count).collect()
}

/// Runs `test` for every seed; reports every failing seed (not just the first) and panics.
fn for_seeds(ci_default: u64, test: impl Fn(u64) -> Outcome) {
    let mut failures = Vec::new();
    for seed in seeds(ci_default) {
        if let Err(f) = test(seed) {
            let text = match f {
                Failure::Safety(v) => v.to_string(),
                Failure::Liveness(s) => s,
            };
            failures.push((seed, text));
            if failures.len() >= 3 {
                break;
            }
        }
    }
    if let Some((_, first)) = failures.first() {
        let list: Vec<u64> = failures.iter().map(|(s, _)| *s).collect();
        panic!("failing seeds {list:?}; first failure:\n{first}");
    }
}

fn sim(nodes: usize, seed: u64) -> Simulator {
    Simulator::new(SimConfig::new(nodes, seed))
}

fn cmd(i: u64) -> Bytes {
    Bytes::from(format!("cmd-{i}"))
}

/// Waits for a leader that a majority of `among` follows.
fn check_one_leader(sim: &mut Simulator, among: &[NodeId]) -> Result<NodeId, Failure> {
    let among = among.to_vec();
    if sim.run_until_cond(ELECTION, |s| s.stable_leader(&among).is_some())? {
        if let Some(l) = sim.stable_leader(&among) {
            return Ok(l);
        }
    }
    Err(fail(sim, format!("no leader among {among:?}")))
}

fn one(sim: &mut Simulator, data: Bytes, expected: usize, retry: bool) -> Result<u64, Failure> {
    match sim.one(data, expected, retry)? {
        Ok(index) => Ok(index),
        Err(e) => Err(fail(sim, e)),
    }
}

fn connected_others(all: &[NodeId], out: &BTreeSet<NodeId>) -> Vec<NodeId> {
    all.iter().copied().filter(|n| !out.contains(n)).collect()
}

// ---------------------------------------------------------------------------------------------
// Elections (§5.2)
// ---------------------------------------------------------------------------------------------

/// §5.2: a fresh cluster elects exactly one leader, and without faults the term then stays put
/// and no further elections happen.
#[test]
fn initial_election_one_leader_and_stable_terms() {
    for_seeds(300, |seed| {
        let mut s = sim(3, seed);
        let all = s.ids();
        let leader = check_one_leader(&mut s, &all)?;
        let term = s.status(leader).map(|st| st.term).unwrap_or(0);
        if term == 0 {
            return Err(fail(&s, "leader in term 0"));
        }
        let elections = s.stats().elections;
        s.run_for(2 * SEC)?;
        let term2 = s.status(leader).map(|st| st.term).unwrap_or(0);
        if term2 != term || s.stats().elections != elections {
            return Err(fail(
                &s,
                format!("term moved from {term} to {term2} with no failure"),
            ));
        }
        if s.stable_leader(&all) != Some(leader) {
            return Err(fail(&s, "leadership changed with no failure"));
        }
        for st in s.statuses() {
            if st.term != term || st.leader_id != Some(leader) {
                return Err(fail(&s, format!("node {} disagrees: {st:?}", st.id)));
            }
        }
        Ok(())
    });
}

/// §5.2: when the leader is cut off a new one is elected; when it returns it does not disturb
/// the new leader; without a majority nobody is elected; with it back, someone is.
#[test]
fn reelection_after_leader_cut_off_and_return() {
    for_seeds(300, |seed| {
        let mut s = sim(3, seed);
        let all = s.ids();
        let l1 = check_one_leader(&mut s, &all)?;
        s.disconnect(l1);
        let rest: Vec<NodeId> = connected_others(&all, &[l1].into());
        let l2 = check_one_leader(&mut s, &rest)?;
        if l2 == l1 {
            return Err(fail(&s, "the cut-off leader is still the leader"));
        }
        // The old leader rejoins: one leader again, in the whole cluster.
        s.connect(l1);
        check_one_leader(&mut s, &all)?;
        // Two of three cut off: no majority, no leader among the one left.
        let leader = check_one_leader(&mut s, &all)?;
        let other = *all.iter().find(|n| **n != leader).unwrap_or(&leader);
        s.disconnect(leader);
        s.disconnect(other);
        let alone: Vec<NodeId> = connected_others(&all, &[leader, other].into());
        s.run_for(2 * SEC)?;
        if s.stable_leader(&alone).is_some() {
            return Err(fail(&s, "a leader without a majority"));
        }
        // One comes back: a majority again.
        s.connect(other);
        let two = connected_others(&all, &[leader].into());
        check_one_leader(&mut s, &two)?;
        s.connect(leader);
        check_one_leader(&mut s, &all)?;
        Ok(())
    });
}

/// §5.2: servers that cannot reach a majority never elect a leader, however long they try.
#[test]
fn no_leader_without_a_majority() {
    for_seeds(300, |seed| {
        let mut s = sim(5, seed);
        s.partition(&[vec![1, 2], vec![3, 4]]);
        s.run_for(3 * SEC)?;
        if s.checker().leaders().next().is_some() {
            return Err(fail(&s, "a leader was elected by a minority"));
        }
        // With PreVote (thesis §9.6) a minority never gets past the pre-vote: its attempts are
        // pre-elections.
        if s.stats().elections + s.stats().pre_elections == 0 {
            return Err(fail(&s, "nobody even tried"));
        }
        // One link is enough to form a majority of 3.
        s.partition(&[vec![1, 2, 3], vec![4], vec![5]]);
        check_one_leader(&mut s, &[1, 2, 3])?;
        Ok(())
    });
}

/// §5.2: under repeated random disconnects of up to a minority, a majority always has a leader,
/// and Election Safety holds throughout.
#[test]
fn many_elections_under_random_disconnects() {
    for_seeds(150, |seed| {
        let mut s = sim(7, seed);
        let all = s.ids();
        check_one_leader(&mut s, &all)?;
        for _ in 0..10 {
            let mut out = BTreeSet::new();
            while out.len() < 3 {
                out.insert(s.rand(1, 8));
            }
            for n in &out {
                s.disconnect(*n);
            }
            let rest = connected_others(&all, &out);
            check_one_leader(&mut s, &rest)?;
            for n in &out {
                s.connect(*n);
            }
        }
        check_one_leader(&mut s, &all)?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Agreement (§5.3)
// ---------------------------------------------------------------------------------------------

/// §5.3: commands submitted to the leader are applied by every server, in order, at consecutive
/// indexes after the leader's no-op.
#[test]
fn basic_agreement() {
    for_seeds(200, |seed| {
        let mut s = sim(5, seed);
        let all = s.ids();
        check_one_leader(&mut s, &all)?;
        let mut last = None;
        for i in 1..=5 {
            let index = one(&mut s, cmd(i), 5, false)?;
            if let Some(prev) = last {
                if index != prev + 1 {
                    return Err(fail(&s, format!("index {index} after {prev}")));
                }
            }
            last = Some(index);
        }
        Ok(())
    });
}

/// §5.3: with one follower down the other two still agree; with both down the leader alone
/// cannot commit.
#[test]
fn agreement_with_a_follower_down() {
    for_seeds(200, |seed| {
        let mut s = sim(3, seed);
        let all = s.ids();
        one(&mut s, cmd(101), 3, false)?;
        let leader = check_one_leader(&mut s, &all)?;
        let f1 = *all.iter().find(|n| **n != leader).unwrap_or(&leader);
        s.disconnect(f1);
        one(&mut s, cmd(102), 2, false)?;
        s.run_for(SEC)?;
        one(&mut s, cmd(103), 2, false)?;
        // Now cut the other follower too: nothing can commit.
        let leader = check_one_leader(&mut s, &connected_others(&all, &[f1].into()))?;
        let f2 = *all
            .iter()
            .find(|n| **n != leader && **n != f1)
            .unwrap_or(&leader);
        s.disconnect(f2);
        let Some((index, _)) = s.propose(leader, cmd(104))? else {
            return Err(fail(&s, "leader refused a proposal"));
        };
        s.run_for(2 * SEC)?;
        let (n, _) = s.n_applied(index);
        if n > 0 {
            return Err(fail(
                &s,
                format!("{n} servers applied {index} without a majority"),
            ));
        }
        Ok(())
    });
}

/// §5.3: a leader cut off from a majority commits nothing; once the followers return the
/// cluster agrees again (and the uncommitted entry may or may not survive).
#[test]
fn no_commit_without_majority_then_commit_after_return() {
    for_seeds(200, |seed| {
        let mut s = sim(5, seed);
        let all = s.ids();
        one(&mut s, cmd(10), 5, false)?;
        let leader = check_one_leader(&mut s, &all)?;
        let followers: Vec<NodeId> = all.iter().copied().filter(|n| *n != leader).collect();
        for f in &followers[..3] {
            s.disconnect(*f);
        }
        let Some((index, _)) = s.propose(leader, cmd(20))? else {
            return Err(fail(&s, "leader refused a proposal"));
        };
        s.run_for(2 * SEC)?;
        if s.n_applied(index).0 > 0 {
            return Err(fail(&s, "committed without a majority"));
        }
        for f in &followers[..3] {
            s.connect(*f);
        }
        // The disconnected majority may have elected a leader of its own and overwritten index;
        // either way the cluster must agree on new commands.
        one(&mut s, cmd(30), 5, true)?;
        one(&mut s, cmd(1000), 5, true)?;
        Ok(())
    });
}

/// §5.3: many proposals at once in one term all commit, each at its own index.
#[test]
fn concurrent_proposals() {
    for_seeds(200, |seed| {
        let mut s = sim(3, seed);
        let all = s.ids();
        'attempt: for _ in 0..5 {
            let leader = check_one_leader(&mut s, &all)?;
            let Some(term) = s.status(leader).map(|st| st.term) else {
                continue;
            };
            let mut indexes = Vec::new();
            for i in 0..20 {
                match s.propose(leader, cmd(100 + i))? {
                    Some((index, t)) if t == term => indexes.push(index),
                    _ => continue 'attempt,
                }
            }
            let last = *indexes.last().unwrap_or(&0);
            if s.wait_applied(last, 3, 2 * SEC)?.is_none() {
                if s.status(leader).map(|st| st.term) != Some(term) {
                    continue 'attempt; // leadership changed: try again
                }
                return Err(fail(&s, "proposals not applied"));
            }
            let distinct: BTreeSet<u64> = indexes.iter().copied().collect();
            if distinct.len() != 20 {
                return Err(fail(&s, "two proposals share an index"));
            }
            let applied: BTreeSet<Bytes> =
                s.applied(leader).iter().map(|(_, d)| d.clone()).collect();
            for i in 0..20 {
                if !applied.contains(&cmd(100 + i)) {
                    return Err(fail(&s, format!("command {} missing", 100 + i)));
                }
            }
            return Ok(());
        }
        Err(fail(&s, "leadership kept changing"))
    });
}

/// §5.3/§5.4: a partitioned old leader that accepted proposals it could not commit rejoins; its
/// divergent entries are replaced by the new leader's, and everyone agrees.
#[test]
fn partitioned_leader_rejoins_and_is_repaired() {
    for_seeds(200, |seed| {
        let mut s = sim(3, seed);
        let all = s.ids();
        one(&mut s, cmd(101), 3, true)?;
        let l1 = check_one_leader(&mut s, &all)?;
        s.disconnect(l1);
        for i in 102..=104 {
            s.propose(l1, cmd(i))?;
        }
        let l1_last = s.status(l1).map(|st| st.last_log_index).unwrap_or(0);
        // The rest elect a new leader and commit 103.
        one(&mut s, cmd(103), 2, true)?;
        let rest = connected_others(&all, &[l1].into());
        let l2 = check_one_leader(&mut s, &rest)?;
        s.disconnect(l2);
        s.connect(l1);
        one(&mut s, cmd(104), 2, true)?;
        s.connect(l2);
        one(&mut s, cmd(105), 3, true)?;
        // Old leader's uncommitted 102 must be gone: it was never committed.
        let committed: Vec<Bytes> = s.applied(l1).iter().map(|(_, d)| d.clone()).collect();
        if committed.contains(&cmd(102)) {
            return Err(fail(&s, "an entry that was never committed was applied"));
        }
        if s.stored_log(l1).len() as u64 <= l1_last.min(1) {
            return Err(fail(&s, "old leader's log not repaired"));
        }
        s.check_logs_fully()?;
        Ok(())
    });
}

/// §5.3 fast back-off: a follower with a long divergent log is repaired in a number of
/// AppendEntries rejections bounded by the number of conflicting terms, not by the length of
/// the divergence.
#[test]
fn long_divergent_logs_are_backed_up_in_few_rounds() {
    for_seeds(100, |seed| {
        let mut s = sim(5, seed);
        let all = s.ids();
        one(&mut s, cmd(0), 5, true)?;
        let l1 = check_one_leader(&mut s, &all)?;
        let others: Vec<NodeId> = all.iter().copied().filter(|n| *n != l1).collect();
        // The leader and one follower are cut off together and take 50 uncommittable entries.
        let buddy = others[0];
        s.partition(&[vec![l1, buddy], others[1..].to_vec()]);
        for i in 0..50 {
            s.propose(l1, cmd(1000 + i))?;
        }
        // The other three elect a leader and commit 50 entries of their own.
        let majority = others[1..].to_vec();
        check_one_leader(&mut s, &majority)?;
        for i in 0..50 {
            one(&mut s, cmd(2000 + i), 3, true)?;
        }
        let before = s.stats().append_rejections.clone();
        let diverged: u64 = [l1, buddy]
            .iter()
            .map(|n| s.status(*n).map(|st| st.last_log_index).unwrap_or(0))
            .max()
            .unwrap_or(0);
        s.heal();
        one(&mut s, cmd(3000), 5, true)?;
        for n in [l1, buddy] {
            let rejections = s.stats().append_rejections.get(&n).copied().unwrap_or(0)
                - before.get(&n).copied().unwrap_or(0);
            // One round for the stale-term heartbeat, one or two per conflicting term.
            if rejections > 8 {
                return Err(fail(
                    &s,
                    format!(
                        "node {n} needed {rejections} rejected AppendEntries to repair a \
                         divergence of ~{diverged} entries"
                    ),
                ));
            }
        }
        s.check_logs_fully()?;
        Ok(())
    });
}

/// No message storms: an election costs at most one RequestVote per candidate per peer; a
/// stable leader sends one heartbeat per follower per interval and no one asks for votes.
#[test]
fn message_counts_in_steady_state() {
    for_seeds(200, |seed| {
        let mut s = sim(3, seed);
        let all = s.ids();
        let leader = check_one_leader(&mut s, &all)?;
        for (term, votes) in &s.stats().votes_requested_by_term {
            let candidates = s.stats().candidates_by_term.get(term).copied().unwrap_or(0);
            if *votes > candidates * 2 {
                return Err(fail(
                    &s,
                    format!("{votes} RequestVote in term {term} from {candidates} candidates"),
                ));
            }
        }
        if s.stats().sent_of(MessageKind::RequestVote) > 30 {
            return Err(fail(&s, "too many RequestVote to elect a leader"));
        }
        let term = s.status(leader).map(|st| st.term);
        // Idle for 1 s: 100 ticks, heartbeat every 2 ticks, 2 followers.
        let before = s.stats().clone();
        s.run_for(SEC)?;
        let after = s.stats();
        let votes =
            after.sent_of(MessageKind::RequestVote) - before.sent_of(MessageKind::RequestVote);
        let heartbeats =
            after.sent_of(MessageKind::Heartbeat) - before.sent_of(MessageKind::Heartbeat);
        let appends =
            after.sent_of(MessageKind::AppendEntries) - before.sent_of(MessageKind::AppendEntries);
        if votes != 0 || s.status(leader).map(|st| st.term) != term {
            return Err(fail(&s, "an election in steady state"));
        }
        if !(90..=102).contains(&heartbeats) || appends != 0 {
            return Err(fail(
                &s,
                format!("{heartbeats} heartbeats and {appends} appends in 1 s idle (want ~100, 0)"),
            ));
        }
        // Agreement on 10 commands costs a bounded number of messages.
        let before = s.stats().total_sent();
        for i in 0..10 {
            one(&mut s, cmd(i), 3, false)?;
        }
        let used = s.stats().total_sent() - before;
        let elapsed_heartbeats = 4 * 10 * 2 * 50; // generous: 10 × ≤2 s waits of heartbeats
        if used > 10 * 4 + elapsed_heartbeats {
            return Err(fail(&s, format!("{used} messages for 10 commands")));
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Persistence (Figure 2: persistent state)
// ---------------------------------------------------------------------------------------------

/// A crashed server restarts from its storage: crash and restart all, the leader, followers —
/// nothing committed is lost and the cluster goes on.
#[test]
fn persistence_crash_and_restart() {
    for_seeds(150, |seed| {
        let mut s = sim(3, seed);
        let all = s.ids();
        one(&mut s, cmd(11), 3, true)?;
        // All crash and restart.
        for n in &all {
            s.crash(*n);
        }
        for n in &all {
            s.restart(*n);
        }
        one(&mut s, cmd(12), 3, true)?;
        // The leader crashes and restarts.
        let l1 = check_one_leader(&mut s, &all)?;
        s.crash(l1);
        s.restart(l1);
        one(&mut s, cmd(13), 3, true)?;
        // The leader crashes; the others commit; it comes back.
        let l2 = check_one_leader(&mut s, &all)?;
        s.crash(l2);
        one(&mut s, cmd(14), 2, true)?;
        s.restart(l2);
        one(&mut s, cmd(15), 3, true)?;
        // A follower crashes; it comes back and catches up.
        let l3 = check_one_leader(&mut s, &all)?;
        let f = *all.iter().find(|n| **n != l3).unwrap_or(&l3);
        s.crash(f);
        one(&mut s, cmd(16), 2, true)?;
        s.restart(f);
        one(&mut s, cmd(17), 3, true)?;
        // Every server applied every command, in the same order.
        let want: Vec<Bytes> = (11..=17).map(cmd).collect();
        let all_applied = s.run_until_cond(5 * SEC, |s| {
            s.ids().iter().all(|n| {
                let got: Vec<Bytes> = s
                    .applied(*n)
                    .iter()
                    .map(|(_, d)| d.clone())
                    .filter(|d| !d.is_empty())
                    .collect();
                got == want
            })
        })?;
        if !all_applied {
            return Err(fail(&s, "not every server applied 11..=17 in order"));
        }
        Ok(())
    });
}

/// Crashes in the middle of replication: right after persisting new entries but before sending
/// or applying anything (the worst moment for a leader and for a follower), repeatedly.
#[test]
fn persistence_crash_mid_replication() {
    for_seeds(200, |seed| {
        let mut s = sim(5, seed);
        let all = s.ids();
        one(&mut s, cmd(0), 5, true)?;
        for round in 1..=10u64 {
            let leader = check_one_leader(&mut s, &all)?;
            let victim = if round % 2 == 0 {
                leader
            } else {
                *all.iter().find(|n| **n != leader).unwrap_or(&leader)
            };
            s.crash_after_next_persist(victim);
            for i in 0..3 {
                s.propose(leader, cmd(round * 10 + i))?;
            }
            if !s.run_until_cond(SEC, |s| !s.is_up(victim))? {
                return Err(fail(
                    &s,
                    format!("node {victim} never persisted new entries"),
                ));
            }
            let pause = s.rand(0, 50) * MS;
            s.run_for(pause)?;
            s.restart(victim);
            one(&mut s, cmd(round * 10 + 5), 5, true)?;
        }
        s.check_logs_fully()?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Figure 8 (§5.4.2)
// ---------------------------------------------------------------------------------------------

/// Figure 8: leaders come and go while proposals are in flight, so old-term entries sit on a
/// majority without being committed; the checker verifies after every step that nothing
/// committed is ever lost (which committing by counting old-term replicas would allow).
#[test]
fn figure_8() {
    for_seeds(100, |seed| {
        let mut s = sim(5, seed);
        let all = s.ids();
        one(&mut s, cmd(0), 1, true)?;
        let mut up = 5;
        for iter in 0..300u64 {
            let leader = s.leader();
            if let Some(l) = leader {
                s.propose(l, cmd(iter + 1))?;
            }
            let pause = if s.chance(0.1) {
                s.rand(0, 500) * MS
            } else {
                s.rand(0, 13) * MS
            };
            s.run_for(pause)?;
            if let Some(l) = leader {
                if s.is_up(l) {
                    s.crash(l);
                    up -= 1;
                }
            }
            if up < 3 {
                let down: Vec<NodeId> = all.iter().copied().filter(|n| !s.is_up(*n)).collect();
                let pick = down[s.rand(0, down.len() as u64) as usize];
                s.restart(pick);
                up += 1;
            }
        }
        for n in &all {
            s.restart(*n);
        }
        one(&mut s, cmd(9999), 5, true)?;
        s.check_logs_fully()?;
        Ok(())
    });
}

/// Figure 8 on an unreliable network: loss, duplicates, long reordering, and leaders cut off
/// rather than crashed; at the end the network heals and everyone agrees.
#[test]
fn figure_8_unreliable() {
    for_seeds(100, |seed| {
        let mut s = Simulator::new(SimConfig::new(5, seed).with_net(NetConfig::unreliable()));
        one(&mut s, cmd(0), 1, true)?;
        let mut cut = BTreeSet::new();
        for iter in 0..300u64 {
            if iter == 200 {
                s.set_net(NetConfig {
                    long_delay_rate: 0.2,
                    ..NetConfig::unreliable()
                });
            }
            if let Some(l) = s.leader() {
                s.propose(l, cmd(iter + 1))?;
                if s.chance(0.5) {
                    s.disconnect(l);
                    cut.insert(l);
                }
            }
            let pause = if s.chance(0.1) {
                s.rand(0, 500) * MS
            } else {
                s.rand(0, 13) * MS
            };
            s.run_for(pause)?;
            if cut.len() >= 3 {
                let pick = *cut
                    .iter()
                    .nth(s.rand(0, cut.len() as u64) as usize)
                    .unwrap_or(&1);
                s.connect(pick);
                cut.remove(&pick);
            }
        }
        s.heal();
        s.set_net(NetConfig::reliable());
        one(&mut s, cmd(9999), 5, true)?;
        s.check_logs_fully()?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Unreliable network and churn
// ---------------------------------------------------------------------------------------------

/// Agreement despite loss, duplication and long reordering: every command is eventually
/// applied by all, in one order.
#[test]
fn unreliable_network_agreement() {
    for_seeds(100, |seed| {
        let mut s = Simulator::new(SimConfig::new(5, seed).with_net(NetConfig::unreliable()));
        for i in 0..30 {
            one(&mut s, cmd(i), 1, true)?;
        }
        s.set_net(NetConfig::reliable());
        one(&mut s, cmd(100), 5, true)?;
        // Same sequence everywhere.
        let reference = s.applied(1).to_vec();
        for n in s.ids() {
            let a = s.applied(n);
            let k = a.len().min(reference.len());
            if a[..k] != reference[..k] {
                return Err(fail(&s, format!("node {n} applied a different sequence")));
            }
        }
        Ok(())
    });
}

/// Churn: random crashes, restarts and disconnects while clients keep proposing; at the end
/// everything heals and the cluster agrees on a last command, with every log matching.
#[test]
fn churn() {
    for_seeds(100, |seed| {
        let mut s = Simulator::new(SimConfig::new(5, seed).with_net(NetConfig {
            drop_rate: 0.02,
            ..NetConfig::reliable()
        }));
        churn_rounds(&mut s, 100, 4)?;
        s.heal();
        recover_and_agree(&mut s)?;
        Ok(())
    });
}

/// `rounds` rounds of up to `max_proposals - 1` proposals, one random fault (crash, restart,
/// disconnect, connect or nothing; never fewer than 3 servers up) and a random pause.
fn churn_rounds(s: &mut Simulator, rounds: u64, max_proposals: u64) -> Outcome {
    let all = s.ids();
    let mut proposed = 0u64;
    for _ in 0..rounds {
        for _ in 0..s.rand(0, max_proposals) {
            proposed += 1;
            s.propose_anywhere(cmd(proposed))?;
        }
        let victim = s.rand(1, 6);
        match s.rand(0, 10) {
            0 | 1 => s.crash(victim),
            2 | 3 => s.restart(victim),
            4 => s.disconnect(victim),
            5 | 6 => s.connect(victim),
            _ => {}
        }
        if all.iter().filter(|n| s.is_up(**n)).count() < 3 {
            s.restart(victim);
        }
        let pause = s.rand(0, 200) * MS;
        s.run_for(pause)?;
    }
    Ok(())
}

/// After the faults are gone: every server restarts, the cluster agrees on a last command, every
/// log matches, and every server's applied commands are a prefix of one sequence. Returns the
/// length of the longest.
fn recover_and_agree(s: &mut Simulator) -> Result<usize, Failure> {
    let all = s.ids();
    for n in &all {
        s.restart(*n);
    }
    one(s, cmd(99_999), 5, true)?;
    s.check_logs_fully()?;
    let longest = all
        .iter()
        .map(|n| s.applied(*n).to_vec())
        .max_by_key(|a| a.len())
        .unwrap_or_default();
    for n in &all {
        let a = s.applied(*n);
        if a != &longest[..a.len()] {
            return Err(fail(s, format!("node {n}'s state machine diverged")));
        }
    }
    Ok(longest.len())
}

/// The simulator is deterministic: the same seed gives the same run, event for event.
#[test]
fn same_seed_same_run() {
    let run = |seed| -> Result<(u64, Vec<String>), Violation> {
        let mut s = Simulator::new(SimConfig::new(5, seed).with_net(NetConfig::unreliable()));
        for i in 0..10 {
            let _ = s.one(cmd(i), 3, true)?;
        }
        s.crash(1);
        s.run_for(SEC)?;
        Ok((s.steps(), s.timeline_lines()))
    };
    let a = run(7).expect("safe");
    let b = run(7).expect("safe");
    let c = run(8).expect("safe");
    assert_eq!(a, b, "same seed, same run");
    assert_ne!(a.1, c.1, "another seed, another run");
}

/// Roles are consistent at the end of a run: a single leader, everyone else following it.
#[test]
fn followers_know_the_leader() {
    for_seeds(50, |seed| {
        let mut s = sim(5, seed);
        let all = s.ids();
        let leader = check_one_leader(&mut s, &all)?;
        s.run_for(100 * MS)?;
        for st in s.statuses() {
            let ok = if st.id == leader {
                st.role == Role::Leader
            } else {
                st.role == Role::Follower && st.leader_id == Some(leader)
            };
            if !ok {
                return Err(fail(&s, format!("{st:?}")));
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Snapshots and log compaction (§7)
// ---------------------------------------------------------------------------------------------

fn sim_with_snapshots(nodes: usize, seed: u64, every: u64, chunk: usize) -> Simulator {
    Simulator::new(SimConfig::new(nodes, seed).with_snapshots(every, chunk))
}

/// Proposes commands `first..first + count` at the leader, in batches, until every node of
/// `among` applied them all. A leader deposed before committing loses what it accepted, so the
/// missing ones are proposed again (a few times at most).
fn commit_many(s: &mut Simulator, among: &[NodeId], first: u64, count: u64) -> Result<(), Failure> {
    let among = among.to_vec();
    let applied_by = |s: &Simulator, n: NodeId| -> std::collections::HashSet<Bytes> {
        commands_of(s, n).into_iter().collect()
    };
    for _attempt in 0..5 {
        let have = applied_by(s, among[0]);
        let missing: Vec<u64> = (first..first + count)
            .filter(|i| !have.contains(&cmd(*i)))
            .collect();
        if missing.is_empty()
            && among[1..].iter().all(|n| {
                let theirs = applied_by(s, *n);
                (first..first + count).all(|i| theirs.contains(&cmd(i)))
            })
        {
            return Ok(());
        }
        let mut queue = missing.iter().copied().peekable();
        while queue.peek().is_some() {
            let leader = check_one_leader(s, &among)?;
            for _ in 0..20 {
                let Some(i) = queue.peek().copied() else {
                    break;
                };
                if s.propose(leader, cmd(i))?.is_none() {
                    break;
                }
                queue.next();
            }
            s.run_for(20 * MS)?;
        }
        // Wait until the last one proposed is applied everywhere (cheap to check per step).
        if let Some(last) = missing.last().map(|i| cmd(*i)) {
            s.run_until_cond(3 * SEC, |s| {
                among
                    .iter()
                    .all(|n| s.applied(*n).iter().rev().any(|(_, d)| *d == last))
            })?;
        } else {
            s.run_for(SEC)?;
        }
    }
    Err(fail(
        s,
        format!(
            "{among:?} did not all apply commands {first}..{}",
            first + count
        ),
    ))
}

fn commands_of(s: &Simulator, n: NodeId) -> Vec<Bytes> {
    s.applied(n)
        .iter()
        .map(|(_, d)| d.clone())
        .filter(|d| !d.is_empty())
        .collect()
}

/// A follower cut off while a thousand entries commit and are compacted away rejoins through
/// InstallSnapshot (in small chunks), and ends with the leader's state; nobody's log grows
/// without bound.
#[test]
fn lagging_follower_catches_up_by_snapshot() {
    for_seeds(40, |seed| {
        let mut s = sim_with_snapshots(3, seed, 50, 512);
        let all = s.ids();
        let leader = check_one_leader(&mut s, &all)?;
        let lagger = *all.iter().find(|n| **n != leader).unwrap_or(&leader);
        s.disconnect(lagger);
        let others: Vec<NodeId> = all.iter().copied().filter(|n| *n != lagger).collect();
        commit_many(&mut s, &others, 0, 1000)?;
        for n in &others {
            if s.snapshot_index(*n) == 0 || s.stored_log(*n).len() > 200 {
                return Err(fail(
                    &s,
                    format!(
                        "node {n} did not compact: snapshot {} and {} entries stored",
                        s.snapshot_index(*n),
                        s.stored_log(*n).len()
                    ),
                ));
            }
        }
        let before = s.stats().sent_of(MessageKind::InstallSnapshot);
        s.connect(lagger);
        commit_many(&mut s, &all, 1000, 10)?;
        if s.stats().sent_of(MessageKind::InstallSnapshot) <= before + 1 {
            return Err(fail(
                &s,
                "the lagging follower was not sent a chunked snapshot",
            ));
        }
        let want = commands_of(&s, others[0]);
        let caught_up =
            s.run_until_cond(5 * SEC, |s| all.iter().all(|n| commands_of(s, *n) == want))?;
        if !caught_up {
            return Err(fail(&s, "state machines differ after the snapshot"));
        }
        s.check_logs_fully()?;
        Ok(())
    });
}

/// Crashes around snapshots: right after a node compacts, in the middle of receiving a snapshot,
/// and right after storing an installed snapshot but before answering; each node restarts from
/// its snapshot plus the log after it, and all agree in the end.
#[test]
fn crashes_around_snapshots() {
    for_seeds(60, |seed| {
        let mut s = sim_with_snapshots(3, seed, 20, 256);
        let all = s.ids();
        let mut next = 0u64;
        // Crash right after a snapshot: every node has compacted by the time 60 entries applied.
        commit_many(&mut s, &all, next, 60)?;
        next += 60;
        let victim = s.rand(1, 4);
        s.crash(victim);
        s.restart(victim);
        commit_many(&mut s, &all, next, 5)?;
        next += 5;
        // Crash in the middle of an install, at a random chunk, or right after storing it.
        let leader = check_one_leader(&mut s, &all)?;
        let lagger = *all.iter().find(|n| **n != leader).unwrap_or(&leader);
        s.disconnect(lagger);
        let others: Vec<NodeId> = all.iter().copied().filter(|n| *n != lagger).collect();
        commit_many(&mut s, &others, next, 100)?;
        next += 100;
        s.connect(lagger);
        let receiving = s.run_until_cond(5 * SEC, |s| {
            s.status(lagger)
                .is_some_and(|st| st.receiving_snapshot.is_some())
        })?;
        if !receiving {
            return Err(fail(&s, format!("node {lagger} never received a snapshot")));
        }
        if s.chance(0.5) {
            let chunks = s.rand(0, 6);
            s.run_until_cond(chunks * 5 * MS, |_| false)?;
            s.crash(lagger);
        } else {
            s.crash_after_next_persist(lagger);
            s.run_until_cond(SEC, |s| !s.is_up(lagger))?;
        }
        let pause = s.rand(0, 100) * MS;
        s.run_for(pause)?;
        s.restart(lagger);
        commit_many(&mut s, &all, next, 5)?;
        let want = commands_of(&s, leader);
        let agreed =
            s.run_until_cond(5 * SEC, |s| all.iter().all(|n| commands_of(s, *n) == want))?;
        if !agreed {
            return Err(fail(
                &s,
                "state machines differ after crashes around snapshots",
            ));
        }
        s.check_logs_fully()?;
        Ok(())
    });
}

/// The churn test with aggressive compaction on an unreliable network (loss, duplication,
/// reordering): snapshots are taken, sent, lost, duplicated and installed while servers crash
/// and restart, and the four safety properties hold after every step.
#[test]
fn churn_with_compaction() {
    for_seeds(60, |seed| {
        let mut s = Simulator::new(
            SimConfig::new(5, seed)
                .with_net(NetConfig::unreliable())
                .with_snapshots(8, 64),
        );
        churn_rounds(&mut s, 60, 6)?;
        s.heal();
        s.set_net(NetConfig::reliable());
        let longest = recover_and_agree(&mut s)?;
        let all = s.ids();
        // (Some seeds make little progress under this much churn; those that commit enough
        // must have compacted.)
        if longest >= 16 && all.iter().all(|n| s.snapshot_index(*n) == 0) {
            return Err(fail(&s, "no node ever compacted its log"));
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// PreVote, CheckQuorum, leadership transfer (thesis §9.6, §6.2, §3.10)
// ---------------------------------------------------------------------------------------------

/// One election timeout at most, in simulated time (20 ticks of 10 ms).
const ELECTION_TIMEOUT_MAX: u64 = 200 * MS;
/// The minimum election timeout (10 ticks of 10 ms): CheckQuorum's window and the lease.
const ELECTION_TIMEOUT_MIN: u64 = 100 * MS;

/// What happened around a follower cut off for 20 election timeouts, then reconnected.
struct Rejoin {
    term_before: u64,
    /// The cut-off follower's term just before it rejoined.
    isolated_term: u64,
    /// The highest term in the cluster 2 s after it rejoined.
    term_after: u64,
    leader_before: NodeId,
    leader_after: NodeId,
    pre_elections_by_isolated: u64,
}

fn isolate_and_rejoin(seed: u64, pre_vote: bool) -> Result<Rejoin, Failure> {
    let mut config = SimConfig::new(5, seed);
    config.pre_vote = pre_vote;
    let mut s = Simulator::new(config);
    let all = s.ids();
    one(&mut s, cmd(1), 5, true)?;
    let leader_before = check_one_leader(&mut s, &all)?;
    let term_before = s.status(leader_before).map_or(0, |st| st.term);
    let pick = s.rand(0, 4) as usize;
    let victim = connected_others(&all, &[leader_before].into())[pick];
    s.disconnect(victim);
    let pre_before = s.stats().pre_elections;
    s.run_for(20 * ELECTION_TIMEOUT_MAX)?;
    let pre_elections_by_isolated = s.stats().pre_elections - pre_before;
    let isolated_term = s.status(victim).map_or(0, |st| st.term);
    s.connect(victim);
    s.run_for(2 * SEC)?;
    let leader_after = check_one_leader(&mut s, &all)?;
    let term_after = s.statuses().map(|st| st.term).max().unwrap_or(0);
    Ok(Rejoin {
        term_before,
        isolated_term,
        term_after,
        leader_before,
        leader_after,
        pre_elections_by_isolated,
    })
}

/// PreVote (thesis §9.6): a follower cut off for twenty election timeouts keeps asking for
/// pre-votes and never raises its term; when it rejoins, the leader stays and the cluster's term
/// does not move. The same run without PreVote shows what it prevents: the cut-off follower's
/// term climbs, and on its return the cluster is dragged into a new, higher term.
#[test]
fn pre_vote_stops_a_rejoining_follower_from_disrupting_the_leader() {
    for_seeds(100, |seed| {
        let r = isolate_and_rejoin(seed, true)?;
        let ok = r.isolated_term == r.term_before
            && r.term_after == r.term_before
            && r.leader_after == r.leader_before
            && r.pre_elections_by_isolated >= 10;
        if !ok {
            return Err(Failure::Liveness(format!(
                "seed {seed}, with PreVote: term {} -> isolated {} -> after {}, leader {} -> {}, \
                 {} pre-elections while cut off",
                r.term_before,
                r.isolated_term,
                r.term_after,
                r.leader_before,
                r.leader_after,
                r.pre_elections_by_isolated
            )));
        }
        let r = isolate_and_rejoin(seed, false)?;
        if r.isolated_term <= r.term_before + 10 || r.term_after <= r.term_before {
            return Err(Failure::Liveness(format!(
                "seed {seed}, without PreVote: expected the term to climb, got {} -> isolated {} \
                 -> after {}",
                r.term_before, r.isolated_term, r.term_after
            )));
        }
        Ok(())
    });
}

/// CheckQuorum (thesis §6.2): a leader cut off from the majority steps down within two election
/// timeouts (it checks every minimum election timeout), while the majority elects another. With
/// CheckQuorum off the cut-off leader goes on believing it leads.
#[test]
fn check_quorum_deposes_a_leader_cut_off_from_the_majority() {
    for_seeds(100, |seed| {
        for check_quorum in [true, false] {
            let mut config = SimConfig::new(5, seed);
            config.check_quorum = check_quorum;
            let mut s = Simulator::new(config);
            let all = s.ids();
            let leader = check_one_leader(&mut s, &all)?;
            let term = s.status(leader).map_or(0, |st| st.term);
            s.disconnect(leader);
            let cut_at = s.now();
            let window = if check_quorum {
                2 * ELECTION_TIMEOUT_MIN + 20 * MS
            } else {
                2 * SEC
            };
            let stepped_down = s.run_until_cond(window, |s| {
                s.status(leader).is_some_and(|st| st.role != Role::Leader)
            })?;
            if stepped_down != check_quorum {
                return Err(fail(
                    &s,
                    format!(
                        "check_quorum {check_quorum}: the cut-off leader {leader} {} within \
                         {} ms",
                        if stepped_down {
                            "stepped down"
                        } else {
                            "still leads"
                        },
                        (s.now() - cut_at) / MS
                    ),
                ));
            }
            if check_quorum && s.status(leader).map(|st| st.term) != Some(term) {
                return Err(fail(&s, "stepping down must not change the term by itself"));
            }
            let rest = connected_others(&all, &[leader].into());
            check_one_leader(&mut s, &rest)?;
        }
        Ok(())
    });
}

/// Leadership transfer (thesis §3.10): in a healthy cluster the target takes over in the next
/// term, at once (one election, no PreVote) — also when its log lags and the leader must first
/// bring it up to date. Proposals are refused while the transfer is under way.
#[test]
fn leader_transfer_hands_over_in_the_next_term() {
    for_seeds(100, |seed| {
        let mut s = sim(5, seed);
        let all = s.ids();
        one(&mut s, cmd(0), 5, true)?;
        let leader = check_one_leader(&mut s, &all)?;
        let followers = connected_others(&all, &[leader].into());
        let target = followers[s.rand(0, 4) as usize];
        let lagging = s.chance(0.5);
        if lagging {
            // Its own timer must not fire while it is cut off: this is about the transfer.
            s.set_election_timeout(target, 1_000_000);
            s.disconnect(target);
            for i in 1..=5 {
                one(&mut s, cmd(i), 4, true)?;
            }
            s.connect(target);
        }
        let leader = check_one_leader(&mut s, &all)?;
        if leader == target {
            return Ok(()); // it took over by itself meanwhile (never, in practice)
        }

        let term = s.status(leader).map_or(0, |st| st.term);
        let target_last = s.status(target).map_or(0, |st| st.last_log_index);
        let leader_last = s.status(leader).map_or(0, |st| st.last_log_index);
        let (elections, pre_elections) = (s.stats().elections, s.stats().pre_elections);
        match s.transfer_leader(leader, target)? {
            Ok(()) => {}
            Err(e) => return Err(fail(&s, format!("transfer refused: {e}"))),
        }
        if s.transfer_target(leader) != Some(target) {
            return Err(fail(&s, "the transfer is not shown as under way"));
        }
        if s.propose(leader, cmd(100))?.is_some() {
            return Err(fail(&s, "a proposal was taken during the transfer"));
        }
        let started = s.now();
        let took_over = s.run_until_cond(ELECTION_TIMEOUT_MIN, |s| {
            s.status(target).is_some_and(|st| st.role == Role::Leader)
        })?;
        if !took_over {
            return Err(fail(
                &s,
                format!(
                    "node {target} did not take over within {} ms (lagging {lagging}: last \
                     {target_last} of {leader_last})",
                    ELECTION_TIMEOUT_MIN / MS
                ),
            ));
        }
        let new_term = s.status(target).map_or(0, |st| st.term);
        if new_term != term + 1 {
            return Err(fail(
                &s,
                format!("took over in term {new_term}, not {}", term + 1),
            ));
        }
        if s.stats().elections != elections + 1 || s.stats().pre_elections != pre_elections {
            return Err(fail(
                &s,
                "the transfer took more than the one election TimeoutNow starts",
            ));
        }
        s.note(format!("took over in {} ms", (s.now() - started) / MS));
        one(&mut s, cmd(200), 5, true)?;
        if s.stable_leader(&all) != Some(target) {
            return Err(fail(&s, "the new leader did not stay"));
        }
        Ok(())
    });
}

/// Leadership transfer to a server that died: the leader stops taking proposals, gives up after
/// an election timeout (it stays leader, in the same term) and takes proposals again.
#[test]
fn leader_transfer_aborts_when_the_target_dies() {
    for_seeds(100, |seed| {
        let mut s = sim(5, seed);
        let all = s.ids();
        one(&mut s, cmd(0), 5, true)?;
        let leader = check_one_leader(&mut s, &all)?;
        let term = s.status(leader).map_or(0, |st| st.term);
        let followers = connected_others(&all, &[leader].into());
        let target = followers[s.rand(0, 4) as usize];
        s.crash(target);
        if let Err(e) = s.transfer_leader(leader, target)? {
            return Err(fail(&s, format!("transfer refused: {e}")));
        }
        let started = s.now();
        s.run_for(ELECTION_TIMEOUT_MIN / 2)?;
        if s.propose(leader, cmd(1))?.is_some() {
            return Err(fail(&s, "a proposal was taken during the transfer"));
        }
        let aborted = s.run_until_cond(ELECTION_TIMEOUT_MIN, |s| {
            s.transfer_target(leader).is_none()
        })?;
        let waited = s.now() - started;
        if !aborted || waited + 2 * 10 * MS < ELECTION_TIMEOUT_MIN {
            return Err(fail(
                &s,
                format!(
                    "the transfer ended after {} ms (aborted: {aborted})",
                    waited / MS
                ),
            ));
        }
        let st = s.status(leader);
        if st.as_ref().map(|st| (st.role, st.term)) != Some((Role::Leader, term)) {
            return Err(fail(&s, format!("the old leader changed: {st:?}")));
        }
        if !s
            .timeline_lines()
            .iter()
            .any(|l| l.contains(&format!("leadership transfer to {target} aborted")))
        {
            return Err(fail(&s, "no TransferAborted event"));
        }
        match s.propose(leader, cmd(2))? {
            Some((_, t)) if t == term => {}
            other => return Err(fail(&s, format!("proposal after the abort: {other:?}"))),
        }
        one(&mut s, cmd(3), 4, true)?;
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// ReadIndex and lease reads (thesis §6.4)
// ---------------------------------------------------------------------------------------------

/// Asks a read of every server that believes it leads (stale leaders included) and of one
/// random server. Returns how many took it.
fn read_everywhere(s: &mut Simulator) -> Result<u64, Failure> {
    let mut asked = 0;
    let leaders: Vec<NodeId> = s
        .statuses()
        .filter(|st| st.role == Role::Leader)
        .map(|st| st.id)
        .collect();
    for l in leaders {
        if s.read_index(l)?.is_ok() {
            asked += 1;
        }
    }
    let anyone = s.rand(1, 6);
    if s.read_index(anyone)?.is_ok() {
        asked += 1;
    }
    Ok(asked)
}

/// ReadIndex under churn: crashes, restarts, partitions, loss, duplication and reordering, with
/// reads asked of every server that believes it leads (stale leaders included) and of random
/// others. After every step the simulator checks that each confirmed read's index covers every
/// entry committed anywhere before the read was asked. Each seed runs with CheckQuorum on (the
/// default) and off: off, deposed leaders linger, and only ReadIndex keeps their reads fresh. On
/// a healthy cluster at the end a read is confirmed; over all seeds, reads are confirmed under
/// churn too (on average at least 5 a run: the check is not vacuous).
#[test]
fn read_index_is_never_stale_under_partitions_crashes_and_drops() {
    use std::sync::atomic::AtomicU64;
    let (runs, confirmed) = (AtomicU64::new(0), AtomicU64::new(0));
    for_seeds(100, |seed| {
        for check_quorum in [true, false] {
            read_index_churn(seed, check_quorum, &runs, &confirmed)?;
        }
        Ok(())
    });
    let (runs, confirmed) = (runs.into_inner(), confirmed.into_inner());
    assert!(
        confirmed >= 5 * runs,
        "only {confirmed} reads confirmed under churn in {runs} runs"
    );
}

fn read_index_churn(
    seed: u64,
    check_quorum: bool,
    runs: &std::sync::atomic::AtomicU64,
    confirmed: &std::sync::atomic::AtomicU64,
) -> Outcome {
    use std::sync::atomic::Ordering;
    let mut config = SimConfig::new(5, seed).with_net(NetConfig::unreliable());
    config.check_quorum = check_quorum;
    let mut s = Simulator::new(config);
    let all = s.ids();
    for round in 0..80u64 {
        if s.chance(0.7) {
            s.propose_anywhere(cmd(round))?;
        }
        read_everywhere(&mut s)?;
        let victim = s.rand(1, 6);
        match s.rand(0, 12) {
            0 => s.crash(victim),
            1 | 2 => s.restart(victim),
            3 => s.disconnect(victim),
            4 | 5 => s.connect(victim),
            6 => {
                // A minority of one or two against the rest.
                let a = s.rand(1, 6);
                let rest: Vec<NodeId> = connected_others(&all, &[victim, a].into());
                s.partition(&[vec![victim, a], rest]);
            }
            7 => s.heal(),
            _ => {}
        }
        if all.iter().filter(|n| s.is_up(**n)).count() < 3 {
            s.restart(victim);
        }
        let pause = s.rand(0, 120) * MS;
        s.run_for(pause / 2)?;
        read_everywhere(&mut s)?;
        s.run_for(pause - pause / 2)?;
    }
    runs.fetch_add(1, Ordering::Relaxed);
    confirmed.fetch_add(s.reads_served().len() as u64, Ordering::Relaxed);
    s.heal();
    s.set_net(NetConfig::reliable());
    for n in &all {
        s.restart(*n);
    }
    one(&mut s, cmd(9_999), 5, true)?;
    // On a healthy cluster, a read at the leader is confirmed.
    let leader = check_one_leader(&mut s, &all)?;
    let ctx = match s.read_index(leader)? {
        Ok(ctx) => ctx,
        Err(e) => return Err(fail(&s, format!("healthy leader refused a read: {e}"))),
    };
    s.run_for(100 * MS)?;
    if !s.reads_served().iter().any(|r| r.ctx == ctx) {
        return Err(fail(&s, "a healthy leader did not confirm a read"));
    }
    Ok(())
}

/// ReadIndex (thesis §6.4), scripted: a leader cut off with one follower still believes it leads
/// (CheckQuorum off, so that only ReadIndex stands between it and a stale read). It takes a read,
/// but its round of heartbeats never reaches a majority, so it never answers, while the majority
/// elects a new leader and commits. When the partition heals it steps down and drops the read. A
/// read at the new leader is confirmed, and covers the new entry.
#[test]
fn read_index_at_a_deposed_leader_is_never_confirmed() {
    for_seeds(50, |seed| {
        let mut config = SimConfig::new(5, seed);
        config.check_quorum = false;
        let mut s = Simulator::new(config);
        let all = s.ids();
        one(&mut s, cmd(1), 5, true)?;
        let old = check_one_leader(&mut s, &all)?;
        let others = connected_others(&all, &[old].into());
        s.partition(&[vec![old, others[0]], others[1..].to_vec()]);
        let majority = others[1..].to_vec();
        let new = check_one_leader(&mut s, &majority)?;
        let index = one(&mut s, cmd(2), 3, true)?;
        if s.status(old).map(|st| st.role) != Some(Role::Leader) {
            return Err(fail(&s, "the cut-off leader should still believe it leads"));
        }
        let ctx = match s.read_index(old)? {
            Ok(ctx) => ctx,
            Err(e) => return Err(fail(&s, format!("the old leader refused the read: {e}"))),
        };
        s.run_for(SEC)?;
        s.heal();
        let deposed = s.run_until_cond(SEC, |s| {
            s.status(old).is_some_and(|st| st.role != Role::Leader)
        })?;
        if !deposed {
            return Err(fail(&s, "the old leader did not step down after the heal"));
        }
        if s.reads_served().iter().any(|r| r.ctx == ctx) {
            return Err(fail(&s, "the deposed leader answered the read"));
        }
        if !s
            .timeline_lines()
            .iter()
            .any(|l| l.contains("dropped 1 pending reads"))
        {
            return Err(fail(
                &s,
                "no ReadsDropped event when the old leader stepped down",
            ));
        }
        let leader = check_one_leader(&mut s, &all)?;
        let ctx = match s.read_index(leader)? {
            Ok(ctx) => ctx,
            Err(e) => return Err(fail(&s, format!("leader {leader} refused: {e}"))),
        };
        s.run_for(100 * MS)?;
        match s.reads_served().iter().find(|r| r.ctx == ctx) {
            Some(r) if r.index >= index => {}
            other => {
                return Err(fail(
                    &s,
                    format!("read at leader {leader} (was {new}): {other:?}, want index ≥ {index}"),
                ))
            }
        }
        Ok(())
    });
}

/// A follower clock `rate` times as fast as the leader's; the leader is cut off, the others elect
/// a new leader and commit its no-op, and the old leader is asked a read at once. Returns whether
/// the checker caught a stale read.
fn read_after_cut_with_fast_followers(
    seed: u64,
    mode: ReadMode,
    rate: f64,
) -> Result<bool, Failure> {
    let mut config = SimConfig::new(3, seed);
    config.read_mode = mode;
    // Elections after 30-60 ticks: a lease of 28 ticks (280 ms at the leader's rate), long
    // beside the few milliseconds of message delay.
    config.election_timeout = (30, 60);
    let mut s = Simulator::new(config);
    let all = s.ids();
    one(&mut s, cmd(1), 3, true)?;
    let leader = check_one_leader(&mut s, &all)?;
    // A few heartbeat rounds establish the lease.
    s.run_for(100 * MS)?;
    // Sanity: on a healthy cluster a lease read is answered at once, a safe one after a round.
    let served = s.reads_served().len();
    if let Err(e) = s.read_index(leader)? {
        return Err(fail(&s, format!("healthy leader refused a read: {e}")));
    }
    let at_once = s.reads_served().len() == served + 1;
    if at_once != (mode == ReadMode::Lease) {
        return Err(fail(
            &s,
            format!("{mode:?} read answered at once: {at_once}"),
        ));
    }
    for f in connected_others(&all, &[leader].into()) {
        s.set_clock_rate(f, rate);
    }
    s.run_for(50 * MS)?;
    let committed = s.checker().max_committed();
    s.disconnect(leader);
    let rest = connected_others(&all, &[leader].into());
    let moved_on = s.run_until_cond(ELECTION, |s| {
        s.checker().max_committed() > committed && s.stable_leader(&rest).is_some()
    })?;
    if !moved_on {
        return Err(fail(
            &s,
            "the majority did not elect a new leader and commit",
        ));
    }
    match s.read_index(leader) {
        Err(v) if v.what.contains("Linearizable reads") => return Ok(true),
        Err(v) => return Err(Failure::Safety(v)),
        Ok(_) => {}
    }
    // A read not answered at once waits for a round that cannot complete.
    match s.run_for(SEC) {
        Err(v) if v.what.contains("Linearizable reads") => Ok(true),
        Err(v) => Err(Failure::Safety(v)),
        Ok(()) => Ok(false),
    }
}

/// Lease reads (thesis §6.4.1) trust clocks. When the followers' clocks run ten times as fast as
/// the leader's, their lease ends (and they elect a new leader, which commits) while the old
/// leader still believes its lease holds: it answers a read at once, and the read is stale — the
/// simulator's read check catches it. With equal clocks the lease ends first; with ReadIndex
/// (`ReadMode::Safe`) fast clocks do no harm.
#[test]
fn lease_reads_can_be_stale_when_a_followers_clock_runs_fast() {
    for_seeds(50, |seed| {
        for (mode, rate, want) in [
            (ReadMode::Lease, 10.0, true),
            (ReadMode::Lease, 1.0, false),
            (ReadMode::Safe, 10.0, false),
        ] {
            let stale = read_after_cut_with_fast_followers(seed, mode, rate)?;
            if stale != want {
                return Err(Failure::Liveness(format!(
                    "seed {seed}: {mode:?} reads with follower clocks at {rate}x: stale read \
                     {}, expected {}",
                    if stale { "found" } else { "not found" },
                    if want { "one" } else { "none" }
                )));
            }
        }
        Ok(())
    });
}

// ---------------------------------------------------------------------------------------------
// Membership change: single-server changes and learners (thesis §4.1, §4.2)
// ---------------------------------------------------------------------------------------------

/// Drives the cluster to a committed configuration that satisfies `goal`, proposing `change` at
/// whichever leader exists (again after a leader change or a truncated entry) and proposing
/// commands meanwhile. Refusals (no commit in the term yet, a change pending, a learner behind)
/// just wait.
fn reach(
    s: &mut Simulator,
    change: ConfChange,
    goal: impl Fn(&Configuration) -> bool,
    next_cmd: &mut u64,
) -> Outcome {
    reach_under(s, change, goal, next_cmd, &[])
}

/// [`reach`], with a random crash or cut among `faulty` (one server at a time) now and then while
/// the change is under way.
fn reach_under(
    s: &mut Simulator,
    change: ConfChange,
    goal: impl Fn(&Configuration) -> bool,
    next_cmd: &mut u64,
    faulty: &[NodeId],
) -> Outcome {
    let deadline = s.now() + 30 * SEC;
    while s.now() < deadline {
        if !faulty.is_empty() && s.chance(0.15) {
            membership_fault(s, faulty);
        }
        *next_cmd += 1;
        s.propose_anywhere(cmd(*next_cmd))?;
        if let Some(leader) = s.leader() {
            if let Some(m) = s.membership(leader) {
                if !m.pending && goal(&m.conf) {
                    return Ok(());
                }
                if !m.pending {
                    s.propose_config_change(leader, change)?;
                }
            }
        }
        s.run_for(30 * MS)?;
    }
    Err(fail(s, format!("configuration never reached: {change}")))
}

/// A random fault among `among`, or none; at most one server down or cut off at a time.
fn membership_fault(s: &mut Simulator, among: &[NodeId]) {
    for n in s.ids() {
        s.restart(n);
        s.connect(n);
    }
    let victim = among[s.rand(0, among.len() as u64) as usize];
    match s.rand(0, 6) {
        0 => s.crash(victim),
        1 => s.disconnect(victim),
        _ => {}
    }
}

/// Grow 3 → 5 (each new server joins as a learner, catches up, is promoted) and shrink back to 3
/// (removing two original servers, the leader among them if it is one), while commands keep
/// coming, messages are lost and servers crash or are cut off between steps. Every invariant
/// holds throughout (Election Safety across configurations in particular); at the end the new
/// configuration commits on its own and the removed servers stay quiet.
#[test]
fn membership_grow_and_shrink_under_faults() {
    for_seeds(30, |seed| {
        grow_and_shrink(SimConfig::new(3, seed).with_net(NetConfig {
            drop_rate: 0.02,
            ..NetConfig::reliable()
        }))
    });
}

/// The same with log compaction: the learners catch up by InstallSnapshot, which must bring the
/// configuration in force at the snapshot, and restarted servers recover their configuration
/// from snapshot and log.
#[test]
fn membership_grow_and_shrink_with_snapshots() {
    for_seeds(30, |seed| {
        grow_and_shrink(
            SimConfig::new(3, seed)
                .with_snapshots(15, 64)
                .with_net(NetConfig {
                    drop_rate: 0.02,
                    ..NetConfig::reliable()
                }),
        )
    });
}

fn grow_and_shrink(config: SimConfig) -> Outcome {
    {
        let mut s = Simulator::new(config);
        let mut c = 0u64;
        check_one_leader(&mut s, &[1, 2, 3])?;
        for id in [4, 5] {
            s.add_node(id);
            membership_fault(&mut s, &[1, 2, 3]);
            let add = ConfChange::AddLearner(id);
            reach_under(&mut s, add, |k| k.is_learner(id), &mut c, &[1, 2, 3])?;
            membership_fault(&mut s, &[1, 2, 3]);
            let promote = ConfChange::PromoteLearner(id);
            reach_under(&mut s, promote, |k| k.is_voter(id), &mut c, &[1, 2, 3])?;
            let pause = s.rand(0, 300) * MS;
            s.run_for(pause)?;
        }
        for id in [1, 2] {
            membership_fault(&mut s, &[1, 2, 3, 4, 5]);
            let remove = ConfChange::RemoveServer(id);
            reach_under(
                &mut s,
                remove,
                |k| !k.is_member(id),
                &mut c,
                &[1, 2, 3, 4, 5],
            )?;
            let pause = s.rand(0, 300) * MS;
            s.run_for(pause)?;
        }
        for n in s.ids() {
            s.restart(n);
            s.connect(n);
        }
        s.set_net(NetConfig::reliable());
        // The new configuration works without the removed servers.
        s.crash(1);
        s.crash(2);
        let leader = check_one_leader(&mut s, &[3, 4, 5])?;
        let index = one(&mut s, cmd(1_000_000), 3, true)?;
        let want: BTreeSet<NodeId> = [3, 4, 5].into_iter().collect();
        for n in [3, 4, 5] {
            let m = s.membership(n).ok_or_else(|| fail(&s, "down"))?;
            if m.conf.voters != want || !m.conf.learners.is_empty() {
                return Err(fail(&s, format!("node {n} ends with {}", m.conf)));
            }
        }
        if ![3, 4, 5].contains(&leader) || index == 0 {
            return Err(fail(
                &s,
                format!("leader {leader} outside the configuration"),
            ));
        }
        s.check_logs_fully()?;
        Ok(())
    }
}

/// Removing the leader: it keeps leading (uncounted) until the configuration without it commits,
/// then steps down and never leads again; a server of the new configuration is elected.
#[test]
fn removed_leader_steps_down_after_commit() {
    for_seeds(30, |seed| {
        let mut s = Simulator::new(SimConfig::new(5, seed).with_net(NetConfig {
            drop_rate: 0.01,
            ..NetConfig::reliable()
        }));
        let leader = check_one_leader(&mut s, &[1, 2, 3, 4, 5])?;
        one(&mut s, cmd(1), 5, true)?;
        let index = match s.propose_config_change(leader, ConfChange::RemoveServer(leader))? {
            Some(Ok(index)) => index,
            other => return Err(fail(&s, format!("removal refused: {other:?}"))),
        };
        let removal_term = s.status(leader).map_or(0, |st| st.term);
        let rest: Vec<NodeId> = (1..=5).filter(|n| *n != leader).collect();
        let new_leader = check_one_leader(&mut s, &rest)?;
        s.run_for(2 * SEC)?;
        let st = s
            .status(leader)
            .ok_or_else(|| fail(&s, "removed leader down"))?;
        if st.role != Role::Follower {
            return Err(fail(&s, format!("removed leader is {}", st.role)));
        }
        if st.commit < index && s.n_applied(index).0 < 4 {
            return Err(fail(&s, "the removal never committed"));
        }
        if let Some((t, _)) = s
            .checker()
            .leaders()
            .find(|(t, l)| *t > removal_term && *l == leader)
        {
            return Err(fail(&s, format!("removed server led again in term {t}")));
        }
        one(&mut s, cmd(2), 4, true)?;
        if !rest.contains(&new_leader) {
            return Err(fail(&s, "leader outside the new configuration"));
        }
        Ok(())
    });
}

/// A learner's vote and its log are never counted. Voters {1, 2, 3}, learners {4, 5}: counting
/// the learners would make {leader, 4, 5} three of five and commit the entries proposed on that
/// side of a partition — they must not commit, and CheckQuorum must depose the leader. And with
/// {v, 4, 5} apart from the two other voters, v must not win an election on the learners' votes.
#[test]
fn learner_never_votes_nor_counts() {
    for_seeds(20, |seed| {
        let mut s = sim(3, seed);
        check_one_leader(&mut s, &[1, 2, 3])?;
        one(&mut s, cmd(1), 3, true)?;
        let mut c = 1;
        for id in [4, 5] {
            s.add_node(id);
            reach(
                &mut s,
                ConfChange::AddLearner(id),
                |k| k.is_learner(id),
                &mut c,
            )?;
        }
        one(&mut s, cmd(100), 5, true)?;
        let leader = check_one_leader(&mut s, &[1, 2, 3])?;
        let others: Vec<NodeId> = [1, 2, 3].into_iter().filter(|n| *n != leader).collect();
        s.partition(&[vec![leader, 4, 5], others.clone()]);
        let before = s.status(leader).map_or(0, |st| st.commit);
        let mut last = 0;
        for i in 0..5 {
            if let Some((idx, _)) = s.propose(leader, cmd(200 + i))? {
                last = idx;
            }
        }
        if last == 0 {
            return Err(fail(&s, "the leader took no proposal"));
        }
        s.run_for(2 * SEC)?;
        if let Some(st) = s.status(leader) {
            if st.commit > before {
                return Err(fail(
                    &s,
                    format!("a minority committed up to {}", st.commit),
                ));
            }
            if st.role == Role::Leader && st.term == s.status(others[0]).map_or(0, |o| o.term) {
                return Err(fail(
                    &s,
                    "CheckQuorum did not depose a leader backed by learners",
                ));
            }
        }
        if s.n_applied(last).1 == Some(cmd(204)) {
            return Err(fail(&s, "an entry of the minority side applied"));
        }
        for id in [4, 5] {
            if s.status(id).is_some_and(|st| {
                st.role != Role::Follower
                    || st.term > 0 && s.checker().leaders().any(|(_, l)| l == id)
            }) {
                return Err(fail(&s, format!("learner {id} stood for election")));
            }
        }
        // {v, 4, 5} | {a} | {b}: v would win with the learners' votes.
        s.heal();
        one(&mut s, cmd(300), 5, true)?;
        let v = others[0];
        s.partition(&[vec![v, 4, 5], vec![leader], vec![others[1]]]);
        let t0 = s.checker().leaders().map(|(t, _)| t).max().unwrap_or(0);
        s.run_for(3 * SEC)?;
        if let Some((t, l)) = s.checker().leaders().find(|(t, _)| *t > t0) {
            return Err(fail(
                &s,
                format!("node {l} won term {t} without a majority of voters"),
            ));
        }
        Ok(())
    });
}

/// A leader appends a configuration entry that never commits (it is cut off); the new leader's
/// log overwrites it, and the old leader goes back to the previous configuration.
#[test]
fn truncated_config_entry_reverts_the_configuration() {
    for_seeds(20, |seed| {
        let mut s = sim(5, seed);
        let leader = check_one_leader(&mut s, &[1, 2, 3, 4, 5])?;
        one(&mut s, cmd(1), 5, true)?;
        s.disconnect(leader);
        let index = match s.propose_config_change(leader, ConfChange::AddLearner(9))? {
            Some(Ok(index)) => index,
            other => return Err(fail(&s, format!("refused: {other:?}"))),
        };
        let m = s.membership(leader).ok_or_else(|| fail(&s, "down"))?;
        if !(m.pending && m.index == index && m.conf.is_learner(9)) {
            return Err(fail(&s, format!("not in force at once: {m:?}")));
        }
        let rest: Vec<NodeId> = (1..=5).filter(|n| *n != leader).collect();
        check_one_leader(&mut s, &rest)?;
        for i in 0..3 {
            s.propose_anywhere(cmd(10 + i))?;
        }
        s.run_for(300 * MS)?;
        s.connect(leader);
        let reverted = s.run_until_cond(5 * SEC, |s| {
            s.membership(leader)
                .is_some_and(|m| !m.conf.is_learner(9) && m.index < index)
        })?;
        if !reverted {
            return Err(fail(&s, "the configuration was not reverted"));
        }
        if s.ids().iter().any(|n| {
            s.membership(*n)
                .is_some_and(|m| m.conf.is_member(9) || m.conf.voters.len() != 5)
        }) {
            return Err(fail(&s, "some server kept the lost configuration"));
        }
        Ok(())
    });
}

/// The leader's rules: no change before it committed an entry of its term, one uncommitted
/// change at a time, no direct voter addition, no promotion of a learner far behind.
#[test]
fn config_changes_are_refused_when_unsafe() {
    for_seeds(10, |seed| {
        let mut s = sim(3, seed);
        check_one_leader(&mut s, &[1, 2, 3])?;
        one(&mut s, cmd(1), 3, true)?;
        // A fresh leader, before its no-op commits.
        let old = s.leader().unwrap_or(1);
        let next = if old == 1 { 2 } else { 1 };
        let _ = s.transfer_leader(old, next)?;
        s.run_until_cond(SEC, |s| {
            s.status(next).is_some_and(|st| st.role == Role::Leader)
        })?;
        if s.status(next).is_some_and(|st| st.role == Role::Leader) {
            let fresh = s.status(next).map_or(0, |st| st.commit);
            let term_committed = s
                .status(next)
                .is_some_and(|st| st.commit >= st.last_log_index);
            let r = s.propose_config_change(next, ConfChange::AddLearner(4))?;
            if !term_committed && !matches!(r, Some(Err(ConfChangeError::NoCommitInTerm { .. }))) {
                return Err(fail(&s, format!("accepted before commit {fresh}: {r:?}")));
            }
        }
        s.run_for(300 * MS)?;
        let leader = check_one_leader(&mut s, &[1, 2, 3])?;
        let r = s.propose_config_change(leader, ConfChange::AddVoter(4))?;
        if !matches!(r, Some(Err(ConfChangeError::AddVoterUnsupported { id: 4 }))) {
            return Err(fail(&s, format!("direct voter addition: {r:?}")));
        }
        let r = s.propose_config_change(leader, ConfChange::AddLearner(4))?;
        let Some(Ok(first)) = r else {
            return Err(fail(&s, format!("add learner refused: {r:?}")));
        };
        let r = s.propose_config_change(leader, ConfChange::AddLearner(5))?;
        if r != Some(Err(ConfChangeError::ChangePending { index: first })) {
            return Err(fail(&s, format!("second change while pending: {r:?}")));
        }
        s.run_for(300 * MS)?;
        // Node 4 does not run yet: its log stays empty while the leader's grows.
        for i in 0..100 {
            s.propose_anywhere(cmd(10 + i))?;
        }
        s.run_for(500 * MS)?;
        let leader = check_one_leader(&mut s, &[1, 2, 3])?;
        let r = s.propose_config_change(leader, ConfChange::PromoteLearner(4))?;
        if !matches!(r, Some(Err(ConfChangeError::LearnerBehind { id: 4, .. }))) {
            return Err(fail(&s, format!("promoted a learner far behind: {r:?}")));
        }
        // Once it runs and catches up, the promotion goes through.
        s.add_node(4);
        let mut c = 1_000;
        reach(
            &mut s,
            ConfChange::PromoteLearner(4),
            |k| k.is_voter(4),
            &mut c,
        )?;
        one(&mut s, cmd(5_000), 4, true)?;
        Ok(())
    });
}
