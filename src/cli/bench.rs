//! `raftlab bench`: closed-loop clients writing to a real in-process cluster over gRPC, with
//! throughput and latency percentiles printed at the end.
//!
//! Each client has its own session (client id, sequence number) and keeps exactly one write
//! outstanding: it sends a `Put` to the node it believes leads, follows the leader hint of a
//! refusal, and retries the same sequence number after an error (exactly-once keeps the count
//! honest). Only acknowledged writes are counted.
//!
//! A soak run (`--writes 1000000 --progress`) also reports what the run costs over time: the
//! process's resident memory (current and peak, from `/proc/self/status`: the nodes share one
//! process), each node's in-memory log length and snapshot index, and the bytes each node keeps
//! on disk — so one can see them stay flat while the write count grows.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tonic::transport::Channel;

use super::BenchArgs;
use crate::check::{History, KvOp, KvOutput, Outcome};
use crate::cluster::{Cluster, ClusterConfig, ClusterHandle};
use crate::node::{kv_service::LEADER_ID, transport};
use crate::pb::{self, kv_client::KvClient};
use crate::raft::NodeId;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Writes acknowledged.
    pub writes: u64,
    /// Errors seen (each followed by a retry).
    pub errors: u64,
    /// Measured time.
    pub elapsed: Duration,
    /// Latency of acknowledged writes, in microseconds.
    pub latency_us: Histogram<u64>,
}

impl BenchReport {
    /// Acknowledged writes per second.
    pub fn throughput(&self) -> f64 {
        self.writes as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 60 s at 3 significant figures: constant, valid bounds.
    Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds")
}

/// Parses "10s", "500ms", "2m" or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a duration (try 10s, 500ms, 2m)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {s:?} (use ms, s or m)")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs < 86_400.0) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn kv_client(cluster: &ClusterHandle, id: NodeId) -> Option<KvClient<Channel>> {
    Some(KvClient::new(transport::channel(cluster.addr(id)?)))
}

/// When a run stops: a shared flag, and optionally a total of acknowledged writes.
#[derive(Clone)]
struct Stop {
    flag: Arc<AtomicBool>,
    acked: Arc<AtomicU64>,
    limit: Option<u64>,
}

impl Stop {
    fn stopped(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }

    /// Counts one acknowledged write; returns whether it may be counted (within the limit).
    fn ack(&self) -> bool {
        let n = self.acked.fetch_add(1, Ordering::Relaxed) + 1;
        match self.limit {
            Some(limit) if n >= limit => {
                self.flag.store(true, Ordering::Relaxed);
                n <= limit
            }
            _ => true,
        }
    }
}

async fn client_loop(
    cluster: ClusterHandle,
    client_id: u64,
    payload: String,
    stop: Stop,
    measure_from: Instant,
    history: Option<History>,
) -> (u64, u64, Histogram<u64>) {
    let ids = cluster.ids();
    let mut hist = new_histogram();
    let (mut writes, mut errors) = (0u64, 0u64);
    let mut target = ids[(client_id as usize) % ids.len()];
    let mut clients: std::collections::BTreeMap<NodeId, KvClient<Channel>> = ids
        .iter()
        .filter_map(|id| Some((*id, kv_client(&cluster, *id)?)))
        .collect();
    let mut seq = 1u64;
    while !stop.stopped() {
        let Some(kv) = clients.get_mut(&target) else {
            break;
        };
        let key = format!("bench-{client_id}");
        let pending = history.as_ref().map(|h| {
            h.invoke(
                client_id,
                KvOp::Put {
                    key: key.clone(),
                    value: payload.clone(),
                },
            )
        });
        let mut req = tonic::Request::new(pb::PutRequest {
            key,
            value: payload.clone(),
            client_id,
            seq,
        });
        req.set_timeout(Duration::from_secs(5));
        let started = Instant::now();
        let reply = kv.put(req).await;
        if let Some(pending) = pending {
            pending.complete(match &reply {
                Ok(r) => {
                    let r = r.get_ref();
                    Outcome::Ok(KvOutput::Put {
                        previous: r.had_previous.then(|| r.previous.clone()),
                    })
                }
                Err(status) => crate::chaos::outcome_of(status),
            });
        }
        match reply {
            Ok(_) => {
                seq += 1;
                if started >= measure_from && stop.ack() {
                    writes += 1;
                    let _ = hist.record(started.elapsed().as_micros().max(1) as u64);
                }
            }
            Err(status) => {
                errors += 1;
                let hint = status
                    .metadata()
                    .get(LEADER_ID)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<NodeId>().ok());
                target = match hint {
                    Some(l) if l != target => l,
                    _ => ids[(ids.iter().position(|i| *i == target).unwrap_or(0) + 1) % ids.len()],
                };
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
    (writes, errors, hist)
}

/// How long and how much to run.
#[derive(Clone, Copy, Debug)]
pub struct RunLimits {
    /// Warm-up before measuring.
    pub warmup: Duration,
    /// Measuring time (None: until `writes`).
    pub duration: Option<Duration>,
    /// Stop after this many acknowledged writes.
    pub writes: Option<u64>,
    /// Print a progress line every 5 s.
    pub progress: bool,
}

/// Runs the benchmark against `cluster` and returns what it measured.
pub async fn measure(
    cluster: &ClusterHandle,
    clients: u64,
    limits: RunLimits,
    payload: usize,
    data_dir: Option<std::path::PathBuf>,
    history: Option<History>,
) -> BenchReport {
    let stop = Stop {
        flag: Arc::new(AtomicBool::new(false)),
        acked: Arc::new(AtomicU64::new(0)),
        limit: limits.writes,
    };
    let warmup = limits.warmup;
    let start = Instant::now();
    let measure_from = start + warmup;
    let payload = "x".repeat(payload);
    let tasks: Vec<_> = (1..=clients)
        .map(|c| {
            tokio::spawn(client_loop(
                cluster.clone(),
                1_000 + c,
                payload.clone(),
                stop.clone(),
                measure_from,
                history.clone(),
            ))
        })
        .collect();
    let deadline = limits.duration.map(|d| measure_from + d);
    let mut next_progress = measure_from + Duration::from_secs(5);
    while !stop.stopped() && deadline.is_none_or(|d| Instant::now() < d) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        if limits.progress && Instant::now() >= next_progress {
            next_progress += Duration::from_secs(5);
            println!(
                "{}",
                progress_line(
                    cluster,
                    stop.acked.load(Ordering::Relaxed),
                    measure_from,
                    data_dir.as_deref()
                )
            );
        }
    }
    stop.flag.store(true, Ordering::Relaxed);
    let elapsed = Instant::now().saturating_duration_since(measure_from);
    let mut report = BenchReport {
        writes: 0,
        errors: 0,
        elapsed,
        latency_us: new_histogram(),
    };
    for t in tasks {
        if let Ok((w, e, h)) = t.await {
            report.writes += w;
            report.errors += e;
            let _ = report.latency_us.add(&h);
        }
    }
    report
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

/// `raftlab bench`.
pub async fn run(args: BenchArgs, storage: crate::cluster::StorageConfig) -> ExitCode {
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
    let mut config = ClusterConfig::new(args.nodes as usize, args.preset);
    config.seed = args.seed;
    let storage_text = storage.describe();
    let data_dir = match &storage {
        crate::cluster::StorageConfig::Disk { dir, .. } => Some(dir.clone()),
        crate::cluster::StorageConfig::Memory => None,
    };
    config.storage = storage;
    config.snapshot = args.storage.snapshot_policy();
    let cluster = match Cluster::start(config).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raftlab bench: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Wait for a leader before the clock starts.
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.status().leader().is_none() {
        if Instant::now() > deadline {
            eprintln!("raftlab bench: no leader elected within 30 s");
            cluster.shutdown().await;
            return ExitCode::FAILURE;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let limits = RunLimits {
        warmup: Duration::from_secs(1),
        duration: match (args.duration, args.writes) {
            (Some(d), _) => Some(d),
            (None, Some(_)) => None,
            (None, None) => Some(Duration::from_secs(10)),
        },
        writes: args.writes,
        progress: args.progress,
    };
    let history = args.history.as_ref().map(|_| History::new());
    let report = measure(
        &cluster.handle(),
        args.clients,
        limits,
        args.payload as usize,
        data_dir.clone(),
        history.clone(),
    )
    .await;
    let final_state = (args.writes.is_some() || args.progress).then(|| {
        progress_line(
            &cluster.handle(),
            report.writes,
            Instant::now() - report.elapsed,
            data_dir.as_deref(),
        )
    });
    cluster.shutdown().await;
    let h = &report.latency_us;
    let ms = |us: u64| us as f64 / 1000.0;
    println!(
        "raftlab bench: {} nodes, preset {}, {} clients, {}-byte values, storage {storage_text}, \
         in-process cluster over gRPC on loopback",
        args.nodes, args.preset, args.clients, args.payload
    );
    println!(
        "writes: {} in {:.1} s = {:.0} writes/s; errors retried: {}",
        report.writes,
        report.elapsed.as_secs_f64(),
        report.throughput(),
        report.errors
    );
    println!(
        "latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}",
        ms(h.value_at_quantile(0.5)),
        ms(h.value_at_quantile(0.9)),
        ms(h.value_at_quantile(0.99)),
        ms(h.max())
    );
    if let Some(line) = final_state {
        println!("at the end: {line}");
        if let Some(peak) = proc_status_kib("VmHWM:") {
            println!(
                "peak resident memory of the process ({} nodes and the load generator): {:.1} MiB",
                args.nodes,
                peak as f64 / 1024.0
            );
        }
    }
    if let (Some(path), Some(history)) = (&args.history, &history) {
        match history.write_jsonl(path) {
            Ok(()) => println!(
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
    if report.writes == 0 {
        eprintln!("raftlab bench: no write was acknowledged");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_refuse_garbage() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("s").is_err());
    }
}
