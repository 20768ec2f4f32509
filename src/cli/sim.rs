//! `raftlab sim`: a scripted story on the deterministic simulator — elections, replication, a
//! leader crash, a partition and its repair — with its trace, and the safety properties of
//! the Raft paper checked after every step.

use std::process::ExitCode;

use super::args::{NetKind, SimArgs};
use crate::raft::{NodeId, Role};
use crate::sim::{NetConfig, Record, SimConfig, Simulator, Violation};

const MS: u64 = 1_000;

/// Runs `raftlab sim`, the trace on stdout.
pub fn main(args: &SimArgs) -> ExitCode {
    match sim_story(args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(StoryError::Violation(v)) => {
            eprintln!("{v}");
            ExitCode::FAILURE
        }
        Err(StoryError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(StoryError::Io(e)) => {
            eprintln!("raftlab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why the story stopped.
#[derive(Debug)]
pub enum StoryError {
    /// A safety property broke (a bug in the core).
    Violation(Violation),
    /// Writing the trace failed.
    Io(std::io::Error),
}

impl From<Violation> for StoryError {
    fn from(v: Violation) -> Self {
        StoryError::Violation(v)
    }
}

impl From<std::io::Error> for StoryError {
    fn from(e: std::io::Error) -> Self {
        StoryError::Io(e)
    }
}

/// Prints the records the simulator pushed since the last call.
struct Printer {
    printed: u64,
    messages: bool,
}

impl Printer {
    fn flush(&mut self, sim: &Simulator, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for r in sim.timeline().since(self.printed) {
            let show = self.messages
                || matches!(
                    r.record,
                    Record::Trace { .. }
                        | Record::Fault(_)
                        | Record::Note(_)
                        | Record::Proposed { .. }
                );
            if show {
                writeln!(out, "{r}")?;
            }
        }
        self.printed = sim.timeline().total();
        Ok(())
    }
}

/// The demo: a 5-node run that shows the main moves of Raft. Writes its trace to `out`.
pub fn sim_story(args: &SimArgs, out: &mut impl std::io::Write) -> Result<(), StoryError> {
    let net = match args.net {
        NetKind::Reliable => NetConfig::reliable(),
        NetKind::Unreliable => NetConfig::unreliable(),
    };
    let mut config = SimConfig::new(args.nodes as usize, args.seed).with_net(net);
    config.timeline = 0;
    let mut sim = Simulator::new(config);
    let mut p = Printer {
        printed: 0,
        messages: args.messages,
    };
    let all = sim.ids();
    writeln!(
        out,
        "raftlab sim: {} servers, seed {}, {} network; ticks of 10 ms, elections after \
         10-20 ticks, heartbeats every 2",
        args.nodes,
        args.seed,
        match args.net {
            NetKind::Reliable => "reliable",
            NetKind::Unreliable => "unreliable",
        }
    )?;

    sim.note("-- 1. a fresh cluster elects a leader (§5.2)");
    let leader = wait_leader(&mut sim, &all)?;
    p.flush(&sim, out)?;

    sim.note("-- 2. the leader replicates three commands (§5.3)");
    for cmd in ["x=1", "y=2", "x=3"] {
        sim.one(cmd, all.len(), true)?.ok();
    }
    sim.run_for(50 * MS)?;
    p.flush(&sim, out)?;

    if let Some(leader) = leader {
        sim.note(format!(
            "-- 3. the leader, node {leader}, crashes; the others elect a new one"
        ));
        sim.crash(leader);
        let rest: Vec<NodeId> = all.iter().copied().filter(|n| *n != leader).collect();
        wait_leader(&mut sim, &rest)?;
        sim.one("z=4", rest.len(), true)?.ok();
        p.flush(&sim, out)?;
        sim.note(format!(
            "-- 4. node {leader} restarts from its storage and catches up"
        ));
        sim.restart(leader);
        sim.run_for(500 * MS)?;
        p.flush(&sim, out)?;
    }

    if let Some(l2) = sim.leader() {
        let buddy = all.iter().copied().find(|n| *n != l2).unwrap_or(l2);
        let majority: Vec<NodeId> = all
            .iter()
            .copied()
            .filter(|n| *n != l2 && *n != buddy)
            .collect();
        sim.note(format!(
            "-- 5. partition: leader {l2} and node {buddy} are cut off from {majority:?}; the \
             old leader takes a command it cannot commit"
        ));
        sim.partition(&[vec![l2, buddy], majority.clone()]);
        sim.propose(l2, "lost=1")?;
        wait_leader(&mut sim, &majority)?;
        sim.one("w=5", majority.len(), true)?.ok();
        p.flush(&sim, out)?;
        sim.note("-- 6. heal: the old leader steps down and its uncommitted entry is replaced");
        sim.heal();
        sim.one("v=6", all.len(), true)?.ok();
        sim.run_for(200 * MS)?;
        p.flush(&sim, out)?;
    }

    sim.check_logs_fully()?;
    writeln!(out)?;
    writeln!(
        out,
        "{:>4} {:<9} {:>4} {:>6} {:>7} {:>8}  applied commands",
        "node", "role", "term", "commit", "applied", "last log"
    )?;
    for id in &all {
        let cmds: Vec<String> = sim
            .applied(*id)
            .iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
            .collect();
        match sim.status(*id) {
            Some(st) => writeln!(
                out,
                "{:>4} {:<9} {:>4} {:>6} {:>7} {:>5}/{:<2}  {}",
                st.id,
                st.role.as_str(),
                st.term,
                st.commit,
                st.applied,
                st.last_log_index,
                st.last_log_term,
                cmds.join(" ")
            )?,
            None => writeln!(out, "{id:>4} down")?,
        }
    }
    writeln!(
        out,
        "\nElection Safety, Log Matching, Leader Completeness and State Machine Safety held \
         after each of {} steps.",
        sim.steps()
    )?;
    Ok(())
}

fn wait_leader(sim: &mut Simulator, among: &[NodeId]) -> Result<Option<NodeId>, Violation> {
    let among = among.to_vec();
    sim.run_until_cond(10_000 * MS, |s| s.stable_leader(&among).is_some())?;
    let leader = sim.stable_leader(&among);
    if leader.is_none() {
        sim.note(format!("no leader among {among:?} within 10 s"));
    }
    // Let the new leader's first heartbeats land so the trace shows followers learning of it.
    sim.run_for(30 * MS)?;
    Ok(leader.filter(|l| sim.status(*l).is_some_and(|s| s.role == Role::Leader)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_story_runs_and_ends_in_agreement() {
        for net in [NetKind::Reliable, NetKind::Unreliable] {
            let args = SimArgs {
                net,
                ..SimArgs::default()
            };
            let mut out = Vec::new();
            sim_story(&args, &mut out).expect("no violation");
            let text = String::from_utf8(out).expect("utf-8");
            assert!(text.contains("became leader"), "{text}");
            assert!(text.contains("-- 6. heal"), "{text}");
            assert!(text.contains("held after each of"), "{text}");
            // Every line of the final table lists the same applied commands on live nodes.
            let tables: Vec<&str> = text
                .lines()
                .skip_while(|l| !l.starts_with("node"))
                .skip(1)
                .take_while(|l| !l.is_empty())
                .collect();
            assert_eq!(tables.len(), 5, "{text}");
            assert!(
                tables.iter().all(|l| l.contains("x=1 y=2 x=3 z=4")),
                "{text}"
            );
            assert!(
                !text.contains("lost=1 w=5"),
                "uncommitted entry applied: {text}"
            );
        }
    }

    #[test]
    fn same_seed_same_trace() {
        let run = |seed| {
            let mut out = Vec::new();
            sim_story(
                &SimArgs {
                    seed,
                    ..SimArgs::default()
                },
                &mut out,
            )
            .expect("no violation");
            out
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}
