//! The lab's figures (issue 21): the sim engine's speed, the size of a saved run and of its
//! share string, the time to seek to any moment of a played run, and the memory of a long one.
//!
//! `cargo bench --bench lab` prints them. The run: 5 nodes at teaching speed, a write every
//! second, for 10 minutes (and for one hour, for the memory figure).

use std::time::{Duration, Instant};

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
    if let Some(i) = args.iter().position(|a| a == "--hour-child") {
        return hour_child(&args[i + 1]);
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
    // Seeks to moments spread over the run, in a scrambled order.
    let mut seeks = Vec::new();
    let mut t: u64 = 7;
    for _ in 0..2_000 {
        t = (t * 7_919 + 104_729) % 600_000;
        let at = Duration::from_millis(t);
        let started = Instant::now();
        let frame = recording.frame_at(at, LogWant::default());
        seeks.push(started.elapsed());
        assert!(frame.is_some());
    }
    seeks.sort();
    println!(
        "seek to any moment (2,000 seeks): p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&seeks, 0.5).as_secs_f64() * 1e3,
        percentile(&seeks, 0.99).as_secs_f64() * 1e3,
        seeks.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );

    // One hour, in a child: play and record it, then read the recording back and hold it.
    let dir = std::env::temp_dir().join(format!("raftlab-lab-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("hour.jsonl");
    let played = record_run(run_of(3_600), Duration::from_secs(3_600), "bench").expect("plays");
    std::fs::write(&path, &played.recording).expect("write the hour's recording");
    let out = std::process::Command::new(std::env::current_exe().expect("this bench"))
        .args(["--hour-child", &path.to_string_lossy()])
        .output()
        .expect("run the child");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads a one-hour recording and prints the resident memory it takes.
fn hour_child(path: &str) {
    // Before the file is read: the figure counts the text too if the allocator keeps it.
    let before = rss();
    let text = std::fs::read_to_string(path).expect("the hour's recording");
    let len = text.len();
    let recording = Recording::parse(text.as_bytes()).expect("the recording reads back");
    drop(text);
    let after = rss();
    println!(
        "one-hour run: recording {:.1} MB on disk; the timeline held for seeking takes {:.1} MB \
         of resident memory ({} frames)",
        len as f64 / 1e6,
        after.saturating_sub(before) as f64 / 1e6,
        recording.frames()
    );
}
