//! The lab's figures (issue 21): the sim engine's speed, the size of a saved run and of its
//! share string, the time to seek to any moment of a played run, and the memory of a long one.
//!
//! `cargo bench --bench lab` prints them. The run: 5 nodes at teaching speed, a write every
//! second, for 10 minutes (and for one hour, for the memory figure), played by the lab's time
//! machine (what the dashboard seeks in) and, for comparison, into a recording.

use std::time::{Duration, Instant};

use raftlab::engine::sim::travel::{checkpoints_stored, TimeMachine};
use raftlab::engine::sim::{Run, Settings, Timed};
use raftlab::observe::cluster_view::LogWant;
use raftlab::record::{record_run, Recording};

/// A run of `secs` seconds with a write every second.
fn run_of(secs: u64) -> Run {
    let mut run = Run::new(Settings::new(5, 1));
    for s in 1..secs {
        let t: Timed = format!("{s}s put k{} {s}", s % 50)
            .parse()
            .expect("a valid action");
        run.actions.push(t);
    }
    run
}

/// Resident memory of this process, in bytes (Linux).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    // A child process measures the memory of a one-hour run's timeline alone.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--hour-child") {
        return hour_child();
    }
    // 10 minutes: speed, sizes, seeks.
    let run = run_of(600);
    let file = run.to_file();
    let share = run.share();
    let started = Instant::now();
    let played = record_run(run, Duration::from_secs(600), "bench").expect("the run plays");
    let took = started.elapsed();
    println!(
        "10-minute run (5 nodes, teach, a write a second): {} simulator steps, played and \
         recorded in {:.2} s ({:.0} steps/s)",
        played.ending.steps,
        took.as_secs_f64(),
        played.ending.steps as f64 / took.as_secs_f64(),
    );
    println!(
        "saved run: {} bytes; share string: {} characters",
        file.len(),
        share.len()
    );
    let text = played.recording;
    let started = Instant::now();
    let recording = Recording::parse(text.as_bytes()).expect("the recording reads back");
    println!(
        "as a recording: {:.1} MB, {} frames, read back in {:.0} ms",
        text.len() as f64 / 1e6,
        recording.frames(),
        started.elapsed().as_secs_f64() * 1e3
    );
    // The dashboard's timeline: the time machine, with a checkpoint every 60 s.
    let mut machine = TimeMachine::new(run_of(600)).expect("a valid run");
    let started = Instant::now();
    machine.seek(Duration::from_secs(600));
    let took = started.elapsed();
    println!(
        "the lab's time machine played the 10 minutes in {:.2} s ({:.0}x real time), keeping {} \
         checkpoints",
        took.as_secs_f64(),
        600.0 / took.as_secs_f64(),
        checkpoints_stored(&machine)
    );
    // Seeks to moments spread over the run, in a scrambled order: the moment and the view the
    // dashboard draws of it.
    let mut seeks = Vec::new();
    let mut t: u64 = 7;
    for _ in 0..2_000 {
        t = (t * 7_919 + 104_729) % 600_000;
        let at = Duration::from_millis(t);
        let started = Instant::now();
        machine.seek(at);
        let view = machine.view(LogWant::default());
        seeks.push(started.elapsed());
        assert_eq!(view.at, at);
    }
    seeks.sort();
    println!(
        "seek to any moment of it (2,000 seeks, with the view): p50 {:.2} ms, p99 {:.2} ms, \
         max {:.2} ms",
        percentile(&seeks, 0.5).as_secs_f64() * 1e3,
        percentile(&seeks, 0.99).as_secs_f64() * 1e3,
        seeks.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );

    // One hour, in a child: the time machine's memory.
    let out = std::process::Command::new(std::env::current_exe().expect("this bench"))
        .args(["--hour-child"])
        .output()
        .expect("run the child");
    print!("{}", String::from_utf8_lossy(&out.stdout));
}

/// Plays a one-hour run in the time machine and prints the resident memory it takes.
fn hour_child() {
    let before = rss();
    let mut machine = TimeMachine::new(run_of(3_600)).expect("a valid run");
    let started = Instant::now();
    machine.seek(Duration::from_secs(3_600));
    let took = started.elapsed();
    let after = rss();
    println!(
        "one-hour run in the time machine: played in {:.1} s, {} checkpoints, {:.1} MB of \
         resident memory",
        took.as_secs_f64(),
        checkpoints_stored(&machine),
        after.saturating_sub(before) as f64 / 1e6,
    );
}
