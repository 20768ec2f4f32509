//! What a run measured, as plain numbers: printed as text (one run), as a table (a sweep), or
//! as JSON (one object per run).
//!
//! Figures that need the nodes' counters (mean batch size, AppendEntries/s, persists/s) are
//! `None` when the counters could not be read (`--target` without `--control`, or a server
//! that does not report them): shown as "n/a" in text and `null` in JSON, never estimated.

use std::fmt::Write as _;

use hdrhistogram::Histogram;

use crate::node::metrics::MetricsSnapshot;

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    pub p999: f64,
    /// Largest.
    pub max: f64,
}

impl Percentiles {
    /// The percentiles of `h` (µs), or `None` when it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<Percentiles> {
        let ms = |us: u64| us as f64 / 1000.0;
        (!h.is_empty()).then(|| Percentiles {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
        })
    }

    fn line(&self) -> String {
        format!(
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p999 {:.2}  max {:.2}",
            self.p50, self.p90, self.p99, self.p999, self.max
        )
    }
}

/// One run (or one point of a sweep).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BenchReport {
    /// "in-process" or "target".
    pub mode: String,
    /// Nodes (in-process: as started; target: addresses given).
    pub nodes: u64,
    /// Concurrent closed-loop clients.
    pub clients: u64,
    /// HTTP/2 connections per node the clients shared.
    pub connections_per_node: u64,
    /// Worker threads of the bench's runtime (in-process: shared with the cluster).
    #[serde(default)]
    pub threads: u64,
    /// Bytes per value.
    pub payload: u64,
    /// Fraction of operations that were reads.
    pub read_ratio: f64,
    /// Storage of the nodes (in-process), or `None` when unknown (target).
    pub storage: Option<String>,
    /// The cluster's timing preset (in-process).
    pub preset: Option<String>,
    /// Measured seconds (after the warm-up).
    pub seconds: f64,
    /// Writes acknowledged.
    pub writes: u64,
    /// Reads answered.
    pub reads: u64,
    /// Acknowledged writes per second.
    pub writes_per_sec: f64,
    /// Reads per second.
    pub reads_per_sec: f64,
    /// Write latency.
    pub write_latency_ms: Option<Percentiles>,
    /// Read latency.
    pub read_latency_ms: Option<Percentiles>,
    /// Failed attempts (retried); redirects to the leader not included.
    pub errors: u64,
    /// Refusals naming the leader, followed.
    pub redirects: u64,
    /// Reads that did not return the client's own last write (must be 0).
    pub stale_reads: u64,
    /// Keys read back after the run.
    pub keys_verified: u64,
    /// Keys read back without the last acknowledged write (must be 0).
    pub lost_writes: u64,
    /// Keys that could not be read back in time.
    pub unverified: u64,
    /// Mean entries per leader append batch (one persist, one AppendEntries round).
    pub mean_batch: Option<f64>,
    /// AppendEntries messages sent per second (heartbeats included).
    pub append_entries_per_sec: Option<f64>,
    /// Mean entries per AppendEntries message.
    pub entries_per_append_entries: Option<f64>,
    /// Persist batches per second, all nodes (each one write, and one fsync on disk).
    pub persists_per_sec: Option<f64>,
    /// The 1-minute load average of the machine at the end (other work skews the figures).
    pub load_average: Option<f64>,
    /// CPU time this process spent per operation in the window, in µs: in-process the cluster
    /// and the clients together, with `--target` the load generator alone (whose share of the
    /// machine the cluster does not get).
    #[serde(default)]
    pub cpu_us_per_op: Option<f64>,
}

impl BenchReport {
    /// Fills the figures derived from the nodes' counters over `seconds`.
    pub fn set_metrics(&mut self, m: Option<MetricsSnapshot>) {
        let secs = self.seconds.max(1e-9);
        self.mean_batch = m.and_then(|m| m.mean_batch());
        self.append_entries_per_sec = m.map(|m| m.append_entries_sent as f64 / secs);
        self.entries_per_append_entries = m.and_then(|m| {
            (m.append_entries_sent > 0)
                .then(|| m.entries_sent as f64 / m.append_entries_sent as f64)
        });
        self.persists_per_sec = m.map(|m| m.persists as f64 / secs);
    }

    /// Whether the run saw something wrong: a stale read or a lost write.
    pub fn violations(&self) -> u64 {
        self.stale_reads + self.lost_writes
    }

    /// What ran where, in words.
    fn setup(&self) -> String {
        match self.mode.as_str() {
            "in-process" => format!(
                "{} nodes, preset {}, storage {}, in-process cluster over gRPC on loopback",
                self.nodes,
                self.preset.as_deref().unwrap_or("?"),
                self.storage.as_deref().unwrap_or("?")
            ),
            _ => format!("{} target nodes (another process)", self.nodes),
        }
    }

    /// The first line of a sweep's table: what every row ran on.
    pub fn sweep_header(&self) -> String {
        format!(
            "raftlab bench sweep: {}-byte values, read ratio {:.2}, {:.1} s per point, {} worker \
             thread(s); {}",
            self.payload,
            self.read_ratio,
            self.seconds,
            self.threads,
            self.setup()
        )
    }

    /// The text report of one run.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "raftlab bench: {} clients over {} HTTP/2 connection(s) per node, {}-byte values, \
             read ratio {:.2}, {} worker thread(s); {}",
            self.clients,
            self.connections_per_node,
            self.payload,
            self.read_ratio,
            self.threads,
            self.setup()
        );
        let _ = writeln!(
            s,
            "writes: {} in {:.1} s = {:.0} writes/s",
            self.writes, self.seconds, self.writes_per_sec
        );
        if let Some(p) = &self.write_latency_ms {
            let _ = writeln!(s, "  write latency ms: {}", p.line());
        }
        if self.read_ratio > 0.0 || self.reads > 0 {
            let _ = writeln!(
                s,
                "reads: {} in {:.1} s = {:.0} reads/s",
                self.reads, self.seconds, self.reads_per_sec
            );
            if let Some(p) = &self.read_latency_ms {
                let _ = writeln!(s, "  read latency ms: {}", p.line());
            }
        }
        let _ = writeln!(
            s,
            "errors retried: {}; redirects to the leader: {}",
            self.errors, self.redirects
        );
        let _ = writeln!(
            s,
            "leader: mean batch {} entries per append; AppendEntries {}/s ({} entries each); \
             persists {}/s (all nodes)",
            opt(self.mean_batch, 1),
            opt(self.append_entries_per_sec, 0),
            opt(self.entries_per_append_entries, 1),
            opt(self.persists_per_sec, 0)
        );
        let _ = writeln!(
            s,
            "check: {} keys read back, {} acknowledged writes lost, {} stale reads{}",
            self.keys_verified,
            self.lost_writes,
            self.stale_reads,
            if self.unverified > 0 {
                format!(", {} keys unreadable", self.unverified)
            } else {
                String::new()
            }
        );
        let _ = writeln!(s, "load average (1 min): {}", opt(self.load_average, 2));
        let _ = writeln!(
            s,
            "CPU per operation in this process ({}): {} µs",
            if self.mode == "target" {
                "the load generator"
            } else {
                "cluster and clients"
            },
            opt(self.cpu_us_per_op, 1)
        );
        s
    }
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    match v {
        Some(v) => format!("{v:.decimals$}"),
        None => "n/a".to_string(),
    }
}

/// A sweep's table: one row per client count.
pub fn table(reports: &[BenchReport]) -> String {
    let reads = reports.iter().any(|r| r.read_ratio > 0.0);
    let mut head = vec![
        "clients", "conns", "writes/s", "p50 ms", "p90 ms", "p99 ms", "p999 ms",
    ];
    if reads {
        head.extend(["reads/s", "rd p50", "rd p99"]);
    }
    head.extend(["errors", "batch", "AE/s", "lost", "load", "cpu us/op"]);
    let rows: Vec<Vec<String>> = reports
        .iter()
        .map(|r| {
            let w = r.write_latency_ms;
            let pct =
                |f: fn(&Percentiles) -> f64, p: Option<Percentiles>| opt(p.as_ref().map(f), 2);
            let mut row = vec![
                r.clients.to_string(),
                r.connections_per_node.to_string(),
                format!("{:.0}", r.writes_per_sec),
                pct(|p| p.p50, w),
                pct(|p| p.p90, w),
                pct(|p| p.p99, w),
                pct(|p| p.p999, w),
            ];
            if reads {
                row.extend([
                    format!("{:.0}", r.reads_per_sec),
                    pct(|p| p.p50, r.read_latency_ms),
                    pct(|p| p.p99, r.read_latency_ms),
                ]);
            }
            row.extend([
                r.errors.to_string(),
                opt(r.mean_batch, 1),
                opt(r.append_entries_per_sec, 0),
                r.lost_writes.to_string(),
                opt(r.load_average, 2),
                opt(r.cpu_us_per_op, 1),
            ]);
            row
        })
        .collect();
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|row| row[i].len())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut s = line(&head.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    s.push('\n');
    for row in &rows {
        s += &line(row);
        s.push('\n');
    }
    s
}

/// CPU time (user and system) this process has used so far, on Linux.
pub fn process_cpu() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let mut fields = after.split_whitespace().skip(11); // field 14 is utime, 15 stime
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // In clock ticks of USER_HZ, which is 100 on Linux whatever the kernel's own HZ.
    Some(std::time::Duration::from_millis((utime + stime) * 10))
}

/// The 1-minute load average, on Linux.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_cpu_counts_this_process_s_work() {
        let start = process_cpu().expect("/proc/self/stat on Linux");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        let mut x = 0u64;
        // Work until the counter moves (a tick is 10 ms of CPU).
        while process_cpu().expect("readable") <= start {
            for i in 0..100_000u64 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(i);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "CPU time never grew ({x})"
            );
        }
    }

    fn report(clients: u64, metrics: bool) -> BenchReport {
        let mut h = crate::cli::bench::load::new_histogram();
        for us in [200, 300, 400, 5_000] {
            h.record(us).expect("in range");
        }
        let mut r = BenchReport {
            mode: "in-process".into(),
            nodes: 3,
            clients,
            connections_per_node: 1,
            threads: 2,
            payload: 16,
            read_ratio: 0.0,
            storage: Some("memory".into()),
            preset: Some("fast".into()),
            seconds: 2.0,
            writes: 2_000,
            reads: 0,
            writes_per_sec: 1_000.0,
            reads_per_sec: 0.0,
            write_latency_ms: Percentiles::of(&h),
            read_latency_ms: None,
            errors: 1,
            redirects: 2,
            stale_reads: 0,
            keys_verified: 8,
            lost_writes: 0,
            unverified: 0,
            mean_batch: None,
            append_entries_per_sec: None,
            entries_per_append_entries: None,
            persists_per_sec: None,
            load_average: Some(1.5),
            cpu_us_per_op: Some(42.0),
        };
        if metrics {
            r.set_metrics(Some(MetricsSnapshot {
                persists: 300,
                leader_appends: 100,
                leader_entries: 2_000,
                append_entries_sent: 400,
                entries_sent: 4_000,
            }));
        }
        r
    }

    #[test]
    fn metrics_give_batch_size_and_rates_and_their_absence_shows_as_na() {
        let r = report(4, true);
        assert_eq!(r.mean_batch, Some(20.0));
        assert_eq!(r.append_entries_per_sec, Some(200.0));
        assert_eq!(r.entries_per_append_entries, Some(10.0));
        assert_eq!(r.persists_per_sec, Some(150.0));
        let text = r.text();
        assert!(text.contains("1000 writes/s"), "{text}");
        assert!(text.contains("mean batch 20.0 entries"), "{text}");
        assert!(text.contains("AppendEntries 200/s"), "{text}");
        assert!(
            !text.contains("reads:"),
            "no read line without reads: {text}"
        );
        let text = report(4, false).text();
        assert!(
            text.contains("mean batch n/a entries per append; AppendEntries n/a/s"),
            "{text}"
        );
    }

    #[test]
    fn percentiles_are_in_milliseconds_and_empty_histograms_have_none() {
        let p = report(1, false).write_latency_ms.expect("some");
        assert!((p.p50 - 0.3).abs() < 0.01, "{p:?}");
        assert!((p.max - 5.0).abs() < 0.01, "{p:?}");
        assert_eq!(
            Percentiles::of(&crate::cli::bench::load::new_histogram()),
            None
        );
    }

    #[test]
    fn json_round_trips_and_missing_metrics_are_null() {
        for r in [report(16, true), report(16, false)] {
            let json = serde_json::to_string(&r).expect("serializes");
            let back: BenchReport = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, r);
        }
        let v: serde_json::Value = serde_json::to_value(report(16, false)).expect("serializes");
        assert!(v["mean_batch"].is_null());
        assert_eq!(v["writes"], 2_000);
        assert_eq!(v["write_latency_ms"]["p50"], 0.3);
    }

    #[test]
    fn the_sweep_table_has_one_aligned_row_per_point() {
        let mut with_reads = report(64, true);
        with_reads.read_ratio = 0.5;
        let t = table(&[report(1, true), report(16, false), with_reads]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[0].trim_start().starts_with("clients"), "{t}");
        assert!(lines[0].contains("rd p50"), "read columns when reads: {t}");
        assert!(lines.iter().all(|l| l.len() == lines[0].len()), "{t}");
        assert!(lines[2].contains("n/a"), "{t}");
        let t = table(&[report(1, true)]);
        assert!(!t.contains("rd p50"), "{t}");
    }
}
