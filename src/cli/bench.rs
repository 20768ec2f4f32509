//! `raftlab bench`: closed-loop clients driving a real cluster through its Kv gRPC service,
//! with throughput, latency percentiles and the leader's batching figures at the end.
//!
//! ```text
//!   bench ─ run(): start a cluster (or --target: `raftlab serve` in another process)
//!     │            find the leader, then for each client count (--sweep, or --clients):
//!     ├─ load.rs    N closed-loop clients over a few HTTP/2 connections per node
//!     │   └─ conn.rs  one such connection: hyper's HTTP/2 client, opened on first use
//!     ├─ source.rs  the nodes' counters, read before and after the measured window
//!     │             (in-process: ClusterHandle::metrics; --control: Control.Status)
//!     └─ report.rs  text, a sweep table, or JSON (one object per run)
//! ```
//!
//! Each client has its own session and keeps exactly one operation outstanding (see
//! [`load`]): its latency is from the first attempt to the acknowledgement. Only acknowledged
//! writes and answered reads count. Every run ends with a check: each client reads its keys
//! back, and a key without its last acknowledged value is reported as a lost write; a read that
//! did not return the client's own last write is a stale read. Either makes the exit code 1.
//!
//! Mean batch size is entries per leader append batch (one persist, and one AppendEntries round
//! to each follower); AppendEntries/s counts the messages the leader sent, heartbeats included.
//! Both come from the nodes' counters ([`crate::node::metrics`]): with `--target` they are read
//! from the Control service given with `--control` (the address `serve` prints), and without it
//! they are "n/a".
//!
//! A soak run (`--writes 1000000 --progress`) also reports what the run costs over time: the
//! process's resident memory (current and peak, from `/proc/self/status`: the nodes share one
//! process), each node's in-memory log length and snapshot index, and the bytes each node keeps
//! on disk — so one can see them stay flat while the write count grows.

pub mod conn;
pub mod load;
pub mod report;
pub mod source;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::args::{BenchArgs, StorageKind, Sweep};
use crate::check::History;
use crate::cluster::{Cluster, ClusterConfig, ClusterHandle, StorageConfig};
use load::{ClientSpec, LoadResult, Targets, Window};
use report::{BenchReport, Percentiles};
use source::MetricsSource;

/// A session id base for this run, different in every process, so that a run against a
/// long-lived `serve` never reuses an earlier run's sessions.
fn client_id_base() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mixed = nanos ^ (u64::from(std::process::id()) << 24);
    // Room above for 2^16 clients per process; never 0 (0 means "no session").
    ((mixed % (1 << 46)) << 16) | 1
}

/// What the nodes and clients are, for the report.
struct Setup {
    mode: &'static str,
    nodes: u64,
    storage: Option<String>,
    preset: Option<String>,
}

/// HTTP/2 connections per node for a run of `clients` clients: `--connections`, or the default
/// for that many clients on `threads` worker threads; never more than there are clients.
fn connections(args: &BenchArgs, clients: u64, threads: usize) -> u64 {
    args.connections
        .unwrap_or_else(|| Targets::connections_for(clients, threads))
        .min(clients)
}

/// One measured run with `clients` clients: warm-up, window, counters, check.
#[allow(clippy::too_many_arguments)]
async fn measure(
    targets: &Targets,
    metrics: &mut MetricsSource,
    args: &BenchArgs,
    setup: &Setup,
    clients: u64,
    next_client: &mut u64,
    history: Option<History>,
    progress: Option<(&ClusterHandle, Option<&std::path::Path>)>,
) -> (BenchReport, LoadResult) {
    let duration = match (args.duration, args.writes) {
        (Some(d), _) => Some(d),
        (None, Some(_)) => None,
        (None, None) => Some(Duration::from_secs(10)),
    };
    let start = Instant::now();
    let from = start + args.warmup;
    let window = Window {
        from,
        until: duration.map(|d| from + d),
        stop: Arc::new(AtomicBool::new(false)),
        acked: Arc::new(AtomicU64::new(0)),
        limit: args.writes,
    };
    let threads = tokio::runtime::Handle::current().metrics().num_workers();
    let connections = connections(args, clients, threads);
    let specs = (0..clients)
        .map(|index| {
            *next_client += 1;
            ClientSpec {
                client_id: *next_client,
                index,
                connections,
                payload: args.payload as usize,
                read_ratio: args.read_ratio,
                seed: args.seed,
            }
        })
        .collect();
    let set = load::spawn_clients(targets, specs, &window, history);
    tokio::time::sleep_until(from.into()).await;
    let cpu_before = report::process_cpu();
    let before = metrics.snapshot().await;
    let mut next_progress = from + Duration::from_secs(5);
    while !window.stop.load(Ordering::Relaxed) && window.until.is_none_or(|u| Instant::now() < u) {
        let now = Instant::now();
        let nap = Duration::from_millis(20).min(
            window
                .until
                .map_or(Duration::MAX, |u| u.saturating_duration_since(now)),
        );
        tokio::time::sleep(nap).await;
        if args.progress && Instant::now() >= next_progress {
            next_progress += Duration::from_secs(5);
            let acked = window.acked.load(Ordering::Relaxed);
            eprintln!(
                "{}",
                match progress {
                    Some((cluster, dir)) => progress_line(cluster, acked, from, dir),
                    None => format!("[{:6.0} s] writes {acked:>9}", from.elapsed().as_secs_f64()),
                }
            );
        }
    }
    let end = Instant::now();
    let cpu_after = report::process_cpu();
    let after = metrics.snapshot().await;
    window.stop.store(true, Ordering::Relaxed);
    let seconds = end.saturating_duration_since(from).as_secs_f64().max(1e-9);
    let result = load::join_clients(set).await;
    let mut report = BenchReport {
        mode: setup.mode.to_string(),
        nodes: setup.nodes,
        clients,
        connections_per_node: connections,
        threads: threads as u64,
        payload: args.payload,
        read_ratio: args.read_ratio,
        storage: setup.storage.clone(),
        preset: setup.preset.clone(),
        seconds,
        writes: result.writes,
        reads: result.reads,
        writes_per_sec: result.writes as f64 / seconds,
        reads_per_sec: result.reads as f64 / seconds,
        write_latency_ms: Percentiles::of(&result.write_us),
        read_latency_ms: Percentiles::of(&result.read_us),
        errors: result.errors,
        redirects: result.redirects,
        stale_reads: result.stale_reads,
        keys_verified: result.keys_verified,
        lost_writes: result.lost_writes,
        unverified: result.unverified,
        mean_batch: None,
        append_entries_per_sec: None,
        entries_per_append_entries: None,
        persists_per_sec: None,
        load_average: report::load_average(),
        cpu_us_per_op: cpu_before.zip(cpu_after).and_then(|(b, a)| {
            let ops = result.writes + result.reads;
            (ops > 0).then(|| a.saturating_sub(b).as_secs_f64() * 1e6 / ops as f64)
        }),
    };
    report.set_metrics(before.zip(after).map(|(b, a)| a.since(&b)));
    (report, result)
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`), where there is one.
fn proc_status_kib(field: &str) -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Total bytes of the files under `dir`.
fn dir_bytes(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// One line of a soak run's progress.
fn progress_line(
    cluster: &ClusterHandle,
    writes: u64,
    since: Instant,
    data_dir: Option<&std::path::Path>,
) -> String {
    let secs = Instant::now()
        .saturating_duration_since(since)
        .as_secs_f64();
    let mut line = format!("[{secs:6.0} s] writes {writes:>9}");
    if let Some(rss) = proc_status_kib("VmRSS:") {
        line += &format!("  rss {:7.1} MiB", rss as f64 / 1024.0);
    }
    for n in &cluster.status().nodes {
        let st = &n.status;
        line += &format!(
            "  | n{} log {}..{} snap {}",
            n.id, st.first_index, st.last_log_index, st.snapshot_index
        );
        if let Some(dir) = data_dir {
            line += &format!(
                " disk {:.1} MiB",
                mib(dir_bytes(&dir.join(format!("node-{}", n.id))))
            );
        }
    }
    line
}

/// Starts the in-process cluster and waits for a leader.
async fn start_cluster(args: &BenchArgs, storage: StorageConfig) -> Result<Cluster, String> {
    let mut config = ClusterConfig::new(args.nodes as usize, args.preset);
    config.seed = args.seed;
    config.storage = storage;
    config.snapshot = args.storage.snapshot_policy();
    let cluster = Cluster::start(config).await.map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.status().leader().is_none() {
        if Instant::now() > deadline {
            cluster.shutdown().await;
            return Err("no leader elected within 30 s".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(cluster)
}

/// Runs `raftlab bench`: resolves the storage flags and sizes the runtime (with --target half
/// the cores, as `serve` takes the other half; in-process every core).
pub fn main(args: BenchArgs) -> ExitCode {
    super::with_storage(&args.storage.clone(), StorageKind::Memory, |storage| {
        let threads = match args.threads {
            Some(n) => Some(n as usize),
            None if !args.target.is_empty() => Some(super::half_the_cores()),
            None => None,
        };
        super::run_async(threads, run(args, storage))
    })
}

/// `raftlab bench` on a runtime.
pub async fn run(args: BenchArgs, storage: StorageConfig) -> ExitCode {
    if let Some(path) = &args.history {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if parent.is_some_and(|p| !p.is_dir()) {
            eprintln!(
                "raftlab bench: cannot write the history to {}: no such directory",
                path.display()
            );
            return ExitCode::from(2);
        }
    }
    let data_dir = match &storage {
        StorageConfig::Disk { dir, .. } => Some(dir.clone()),
        StorageConfig::Memory => None,
    };
    let storage_text = storage.describe();
    let (cluster, addrs, mut metrics, setup) = if args.target.is_empty() {
        let cluster = match start_cluster(&args, storage).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("raftlab bench: {e}");
                return ExitCode::FAILURE;
            }
        };
        let addrs: Vec<SocketAddr> = cluster
            .ids()
            .into_iter()
            .filter_map(|id| cluster.addr(id))
            .collect();
        let metrics = MetricsSource::Cluster(cluster.handle());
        let setup = Setup {
            mode: "in-process",
            nodes: args.nodes,
            storage: Some(storage_text),
            preset: Some(args.preset.to_string()),
        };
        (Some(cluster), addrs, metrics, setup)
    } else {
        let metrics = match args.control {
            Some(addr) => match MetricsSource::control(addr, Duration::from_secs(3)).await {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("raftlab bench: {e}");
                    return ExitCode::FAILURE;
                }
            },
            None => MetricsSource::None,
        };
        let setup = Setup {
            mode: "target",
            nodes: args.target.len() as u64,
            storage: None,
            preset: None,
        };
        (None, args.target.clone(), metrics, setup)
    };
    let code = drive(
        &args,
        cluster.as_ref(),
        addrs,
        &mut metrics,
        &setup,
        data_dir,
    )
    .await;
    if let Some(cluster) = cluster {
        cluster.shutdown().await;
    }
    code
}

/// Everything after the cluster is there: find the leader, run each point, print, check.
async fn drive(
    args: &BenchArgs,
    cluster: Option<&Cluster>,
    addrs: Vec<SocketAddr>,
    metrics: &mut MetricsSource,
    setup: &Setup,
    data_dir: Option<std::path::PathBuf>,
) -> ExitCode {
    let targets = match Targets::new(addrs) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("raftlab bench: {e}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = targets.check_reachable(Duration::from_secs(3)).await {
        eprintln!("raftlab bench: {e}");
        if !args.target.is_empty() {
            eprintln!("  (--target takes the Kv addresses of the nodes, as `raftlab serve` prints them under \"nodes\")");
        }
        return ExitCode::FAILURE;
    }
    let leader_wait = if cluster.is_some() { 30 } else { 10 };
    if let Err(e) = targets.find_leader(Duration::from_secs(leader_wait)).await {
        eprintln!("raftlab bench: {e}");
        return ExitCode::FAILURE;
    }
    if !args.json && !args.target.is_empty() && !metrics.available() {
        eprintln!(
            "raftlab bench: no --control address: batch size and AppendEntries/s are not available"
        );
    }
    let points = match &args.sweep {
        Some(Sweep(counts)) => counts.clone(),
        None => vec![args.clients],
    };
    let history = args.history.as_ref().map(|_| History::new());
    let mut next_client = client_id_base();
    let mut reports = Vec::new();
    for (i, clients) in points.iter().enumerate() {
        if args.sweep.is_some() && !args.json {
            eprintln!(
                "raftlab bench: point {}/{}: {clients} clients...",
                i + 1,
                points.len()
            );
        }
        let progress = cluster.map(|c| (&**c, data_dir.as_deref()));
        let (report, _) = measure(
            &targets,
            metrics,
            args,
            setup,
            *clients,
            &mut next_client,
            history.clone(),
            progress,
        )
        .await;
        if args.json {
            match serde_json::to_string(&report) {
                Ok(line) => println!("{line}"),
                Err(e) => eprintln!("raftlab bench: {e}"),
            }
        } else if args.sweep.is_none() {
            print!("{}", report.text());
        }
        reports.push(report);
    }
    if args.sweep.is_some() && !args.json {
        if let Some(first) = reports.first() {
            println!("{}", first.sweep_header());
        }
        print!("{}", report::table(&reports));
    }
    if let (Some(cluster), false) = (cluster, args.json) {
        if args.writes.is_some() || args.progress {
            let writes = reports.iter().map(|r| r.writes).sum();
            let seconds: f64 = reports.iter().map(|r| r.seconds).sum();
            let since = Instant::now()
                .checked_sub(Duration::from_secs_f64(seconds))
                .unwrap_or_else(Instant::now);
            println!(
                "at the end: {}",
                progress_line(cluster, writes, since, data_dir.as_deref())
            );
            if let Some(peak) = proc_status_kib("VmHWM:") {
                println!(
                    "peak resident memory of the process ({} nodes and the load generator): {:.1} MiB",
                    setup.nodes,
                    peak as f64 / 1024.0
                );
            }
        }
    }
    if let (Some(path), Some(history)) = (&args.history, &history) {
        match history.write_jsonl(path) {
            Ok(()) => eprintln!(
                "history: {} operations in {}",
                history.len(),
                path.display()
            ),
            Err(e) => {
                eprintln!("raftlab bench: cannot write {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    let violations: u64 = reports.iter().map(BenchReport::violations).sum();
    if violations > 0 {
        eprintln!(
            "raftlab bench: FAILED: {} lost acknowledged writes, {} stale reads",
            reports.iter().map(|r| r.lost_writes).sum::<u64>(),
            reports.iter().map(|r| r.stale_reads).sum::<u64>()
        );
        return ExitCode::FAILURE;
    }
    // (With --read-ratio 1 a client writes once, maybe during the warm-up, then only reads.)
    if let Some(r) = reports.iter().find(|r| r.writes + r.reads == 0) {
        eprintln!(
            "raftlab bench: no operation was acknowledged with {} clients",
            r.clients
        );
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::args::MAX_CLIENTS;

    #[test]
    fn session_bases_are_never_zero_and_leave_room_for_clients() {
        let base = client_id_base();
        assert_eq!(base & 0xFFFF, 1);
        assert!(base.checked_add(MAX_CLIENTS * 16).is_some());
    }
}
