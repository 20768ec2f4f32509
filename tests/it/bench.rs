//! `raftlab bench` as a user runs it: short in-process runs (writes, then writes and reads,
//! then a sweep) whose JSON says something was measured, nothing acknowledged was lost and the
//! nodes' counters moved; a run against `raftlab serve` in another process; and the errors a
//! user gets for bad flags and an address nobody listens on. No wall-clock thresholds: only
//! "more than zero" and "nothing lost".

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{start_serve, DEADLINE};
use raftlab::cli::bench::report::BenchReport;

/// Runs `raftlab bench ARGS` and waits at most `limit` for it (killing it then).
fn bench(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .arg("bench")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn raftlab bench");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("output");
            panic!(
                "raftlab bench {args:?} still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

/// The JSON reports a successful run printed, one per line.
fn reports(args: &[&str]) -> Vec<BenchReport> {
    let out = bench(args, Duration::from_secs(120));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "raftlab bench {args:?} failed ({:?}); stdout: {stdout}; stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
        .collect()
}

/// Something was written, nothing acknowledged was lost, no read was stale.
fn assert_sound(r: &BenchReport) {
    assert!(r.writes > 0, "no write measured: {r:?}");
    assert_eq!(r.lost_writes, 0, "acknowledged writes lost: {r:?}");
    assert_eq!(r.stale_reads, 0, "stale reads: {r:?}");
    assert_eq!(r.unverified, 0, "keys not read back: {r:?}");
    assert!(r.keys_verified > 0, "nothing read back: {r:?}");
    assert!(r.write_latency_ms.is_some(), "{r:?}");
    assert!(
        r.cpu_us_per_op.is_some(),
        "CPU per operation measured: {r:?}"
    );
}

/// The leader's counters moved: batches were appended and AppendEntries sent.
fn assert_counted(r: &BenchReport) {
    assert!(r.mean_batch.is_some_and(|b| b >= 1.0), "{r:?}");
    assert!(r.append_entries_per_sec.is_some_and(|a| a > 0.0), "{r:?}");
    assert!(r.persists_per_sec.is_some_and(|p| p > 0.0), "{r:?}");
}

#[test]
fn in_process_bench_writes_then_reads_loses_nothing_and_counts_batches() {
    let _real_time = crate::common::real_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let history = dir.path().join("bench.jsonl");
    let history = history.to_str().expect("utf-8 path");
    let common = ["--duration", "1s", "--warmup", "300ms", "--json"];

    let writes = reports(&[&common[..], &["--clients", "4", "--history", history]].concat());
    assert_eq!(writes.len(), 1);
    let w = &writes[0];
    assert_eq!((w.mode.as_str(), w.clients, w.nodes), ("in-process", 4, 3));
    // In-process the cluster and the clients share one runtime of every core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(w.threads as usize, cores, "{w:?}");
    assert_sound(w);
    assert_counted(w);
    assert_eq!(w.reads, 0);
    // A second of a cluster and four clients at work is many 10 ms ticks of CPU.
    assert!(w.cpu_us_per_op.is_some_and(|c| c > 0.0), "{w:?}");
    // The history of every write is linearizable.
    let check = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(["check", history, "--budget", "60s"])
        .output()
        .expect("raftlab check");
    assert!(
        check.status.success(),
        "history not linearizable: {}",
        String::from_utf8_lossy(&check.stdout)
    );

    let mixed = reports(&[&common[..], &["--clients", "4", "--read-ratio", "0.5"]].concat());
    let m = &mixed[0];
    assert_sound(m);
    assert_counted(m);
    assert!(m.reads > 0, "no read measured: {m:?}");
    assert!(m.read_latency_ms.is_some(), "{m:?}");
}

#[test]
fn a_sweep_prints_one_report_per_client_count_in_order() {
    let _real_time = crate::common::real_time();
    let points = reports(&[
        "--sweep",
        "1,3",
        "--duration",
        "500ms",
        "--warmup",
        "200ms",
        "--json",
    ]);
    let clients: Vec<u64> = points.iter().map(|r| r.clients).collect();
    assert_eq!(clients, vec![1, 3]);
    let connections: Vec<u64> = points.iter().map(|r| r.connections_per_node).collect();
    // In-process the runtime has a worker per core; on one, a single connection per node.
    let expected = if points[0].threads > 1 {
        vec![1, 3]
    } else {
        vec![1, 1]
    };
    assert_eq!(
        connections, expected,
        "one connection per client below four (on more than one thread)"
    );
    for r in &points {
        assert_sound(r);
        assert_counted(r);
    }
}

#[test]
fn bench_drives_a_serve_process_and_reads_its_counters_through_control() {
    let _real_time = crate::common::real_time();
    let (_server, info) = start_serve(&["--nodes", "3", "--preset", "fast"]);
    let targets = info
        .nodes
        .iter()
        .map(|n| n.addr.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let base = [
        "--target",
        &targets,
        "--clients",
        "4",
        "--duration",
        "1s",
        "--json",
    ];

    let with = reports(
        &[
            &base[..],
            &["--control", &info.control, "--read-ratio", "0.3"],
        ]
        .concat(),
    );
    let r = &with[0];
    assert_eq!((r.mode.as_str(), r.nodes), ("target", 3));
    // Beside `serve`, the load generator takes half the cores by default, and on one thread
    // one connection per node.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(r.threads as usize, (cores / 2).max(1), "{r:?}");
    let connections = if r.threads > 1 { 4 } else { 1 };
    assert_eq!(r.connections_per_node, connections, "{r:?}");
    assert_sound(r);
    assert_counted(r);
    assert!(r.reads > 0, "{r:?}");

    // Without --control the counters are unknown: null, not made up.
    let without = reports(&base);
    let r = &without[0];
    assert_sound(r);
    assert_eq!(
        (r.mean_batch, r.append_entries_per_sec),
        (None, None),
        "{r:?}"
    );
}

#[test]
fn an_unreachable_target_is_a_clear_error_not_a_hang() {
    let _real_time = crate::common::real_time();
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind")
        .port();
    let target = format!("127.0.0.1:{port}");
    let out = bench(&["--target", &target, "--duration", "1s"], DEADLINE);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot connect to {target}")),
        "{stderr}"
    );
}

#[test]
fn connections_can_be_chosen_and_never_outnumber_the_clients() {
    let _real_time = crate::common::real_time();
    let points = reports(&[
        "--sweep",
        "1,6",
        "--connections",
        "2",
        "--duration",
        "300ms",
        "--warmup",
        "100ms",
        "--json",
    ]);
    let connections: Vec<u64> = points.iter().map(|r| r.connections_per_node).collect();
    assert_eq!(connections, vec![1, 2]);
    for r in &points {
        assert_sound(r);
    }
}

#[test]
fn threads_chooses_the_runtime_size() {
    let _real_time = crate::common::real_time();
    let r = &reports(&[
        "--clients",
        "2",
        "--threads",
        "3",
        "--duration",
        "300ms",
        "--warmup",
        "100ms",
        "--json",
    ])[0];
    assert_eq!(r.threads, 3, "{r:?}");
    assert_sound(r);
}

#[test]
fn bad_flags_are_refused_with_the_reason() {
    let _real_time = crate::common::real_time();
    for (args, why) in [
        (&["--sweep", "1,x"][..], "not a client count"),
        (&["--sweep", "0"][..], "out of range"),
        (&["--read-ratio", "1.5"][..], "out of range"),
        (&["--target", "localhost"][..], "not an address"),
        (&["--control", "127.0.0.1:1"][..], "--target"),
        (&["--duration", "10h"][..], "unknown unit"),
        (&["--clients", "0"][..], "0"),
        (&["--connections", "9"][..], "not in 1..=8"),
        (&["--threads", "0"][..], "not in 1..=256"),
        (
            &["--sweep", "4", "--clients", "8"][..],
            "cannot be used with",
        ),
    ] {
        let out = bench(args, DEADLINE);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(why), "{args:?}: {stderr}");
    }
}
