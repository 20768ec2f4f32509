//! The dashboard's background jobs, each a task that reports to the UI loop with [`Notice`]s and
//! never waits on it:
//!
//! ```text
//!   prompt get/put/del/append/cas, w ──(commander, client 0)──┐
//!   nemesis workers (clients 1..=4) ──────────────────────────┼─► History (shared)
//!                                                             │
//!   checker: every 2 s, if the history changed ─► check() in spawn_blocking (3 s budget)
//!            ─► Notice::{Counts, Checking, Verdict} ─► footer: ops 1,234 · linearizable ✓
//!   nemesis: chaos::run_chaos_into(live cluster, same History) ─► Notice::Nemesis (time left)
//!            ─► at the end: Notice::Feed (convergence, verdict) and Notice::Verdict
//! ```
//!
//! `history save FILE` writes the same history as JSON lines ([`save`]).

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::app::{NemesisView, Notice};
use crate::chaos::{explain_outcomes, run_chaos_into, ChaosOptions, ChaosReport};
use crate::check::{self, CheckResult, Counts, History};
use crate::cluster::ClusterHandle;
use crate::observe::format::thousands;

/// How often the checker looks at the history, and how long it may think.
#[derive(Clone, Copy, Debug)]
pub struct CheckerTiming {
    /// How often the counts are refreshed.
    pub counts_every: Duration,
    /// Least time between the end of one check and the start of the next.
    pub check_every: Duration,
    /// Time limit of one check.
    pub budget: Duration,
}

impl Default for CheckerTiming {
    fn default() -> Self {
        CheckerTiming {
            counts_every: Duration::from_millis(500),
            check_every: Duration::from_secs(2),
            budget: Duration::from_secs(3),
        }
    }
}

/// Checks `history` whenever it changed (new operations, or outcomes arrived), at most once per
/// `check_every`, and reports counts and verdicts. Stops checking once it found a violation (a
/// longer history cannot undo it); returns when the dashboard hangs up.
pub async fn checker(history: History, notices: mpsc::Sender<Notice>, timing: CheckerTiming) {
    let mut last_counts = Counts::default();
    let mut checked: Option<Counts> = None;
    let mut next_check = Instant::now();
    loop {
        tokio::time::sleep(timing.counts_every).await;
        let counts = history.counts();
        if counts != last_counts {
            last_counts = counts;
            let ops = Arc::new(history.operations());
            if notices.send(Notice::Counts(counts)).await.is_err()
                || notices.send(Notice::Operations(ops)).await.is_err()
            {
                return;
            }
        }
        if Instant::now() < next_check || checked == Some(counts) || history.is_empty() {
            continue;
        }
        if notices.send(Notice::Checking(true)).await.is_err() {
            return;
        }
        let ops = history.operations();
        let n = ops.len();
        let budget = timing.budget;
        let result = tokio::task::spawn_blocking(move || check::check(&ops, budget))
            .await
            .unwrap_or_else(|e| CheckResult::GaveUp {
                key: String::new(),
                reason: format!("the checker panicked: {e}"),
            });
        let violated = matches!(result, CheckResult::NotLinearizable { .. });
        checked = Some(counts);
        next_check = Instant::now() + timing.check_every;
        if notices
            .send(Notice::Verdict { ops: n, result })
            .await
            .is_err()
            || notices.send(Notice::Checking(false)).await.is_err()
        {
            return;
        }
        if violated {
            return;
        }
    }
}

/// A nemesis running in the background. Dropping it cancels the run and abandons it.
#[derive(Debug)]
pub struct NemesisJob {
    cancel: Arc<AtomicBool>,
    handle: JoinHandle<()>,
}

impl NemesisJob {
    /// Whether the run (its healing, convergence and check included) is over.
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Asks the run to end now: it heals, waits for convergence and checks, then reports.
    pub fn stop(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// Whether [`NemesisJob::stop`] was called.
    pub fn stopping(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

impl Drop for NemesisJob {
    fn drop(&mut self) {
        self.stop();
        self.handle.abort();
    }
}

/// The options of a dashboard nemesis: every fault, 4 clients on 3 keys, a 10 s check budget
/// (the checker goes on after it), 30 s to recover; `seed` picks the schedule.
pub fn nemesis_options(seed: u64, duration: Duration) -> ChaosOptions {
    ChaosOptions {
        clients: 4,
        keys: 3,
        check_budget: Duration::from_secs(10),
        recovery: Duration::from_secs(30),
        verbose: false,
        cancel: Some(Arc::new(AtomicBool::new(false))),
        ..ChaosOptions::new(seed, duration)
    }
}

/// Starts `options` on the live cluster, recording into `history`, reporting to `notices`.
pub fn start_nemesis(
    cluster: ClusterHandle,
    history: History,
    mut options: ChaosOptions,
    notices: mpsc::Sender<Notice>,
) -> NemesisJob {
    let cancel = options
        .cancel
        .get_or_insert_with(|| Arc::new(AtomicBool::new(false)))
        .clone();
    let handle = tokio::spawn(run_nemesis(cluster, history, options, notices));
    NemesisJob { cancel, handle }
}

/// How often the nemesis job refreshes the time left.
const TICK: Duration = Duration::from_millis(200);

async fn run_nemesis(
    cluster: ClusterHandle,
    history: History,
    options: ChaosOptions,
    notices: mpsc::Sender<Notice>,
) {
    let cancel = options.cancel.clone().unwrap_or_default();
    let feed = |text: String| Notice::Feed {
        at: cluster.events().elapsed(),
        text,
    };
    let faults = if options.nemeses == crate::chaos::Nemesis::ALL {
        "every fault".to_string()
    } else {
        let names: Vec<&str> = options.nemeses.iter().map(|n| n.name()).collect();
        names.join(", ")
    };
    let _ = notices
        .send(feed(format!(
            "nemesis: {} s of {faults}, {} clients on keys k0..k{} (seed {})",
            options.duration.as_secs(),
            options.clients,
            options.keys.saturating_sub(1),
            options.seed
        )))
        .await;
    let run = run_chaos_into(&cluster, &options, history);
    tokio::pin!(run);
    // The run counts running time only (a paused cluster stops its clock); so does this.
    let mut left = options.duration;
    let mut shown = None;
    let started = Instant::now();
    let report = loop {
        let view = if cancel.load(Ordering::Relaxed) || left.is_zero() {
            NemesisView::Finishing
        } else {
            NemesisView::Running {
                left: Duration::from_secs(left.as_secs() + u64::from(left.subsec_nanos() > 0)),
            }
        };
        if shown != Some(view) {
            shown = Some(view);
            let _ = notices.send(Notice::Nemesis(Some(view))).await;
        }
        let paused = cluster.clock().is_paused();
        let slice = Instant::now();
        tokio::select! {
            report = &mut run => break report,
            _ = tokio::time::sleep(TICK) => {
                if !paused {
                    left = left.saturating_sub(slice.elapsed());
                }
            }
        }
    };
    for line in report_lines(&report, cancel.load(Ordering::Relaxed), started.elapsed()) {
        let _ = notices.send(feed(line)).await;
    }
    let _ = notices
        .send(Notice::Verdict {
            ops: report.history.len(),
            result: report.verdict.clone(),
        })
        .await;
    let _ = notices.send(Notice::Status(verdict_line(&report))).await;
    let _ = notices.send(Notice::Nemesis(None)).await;
}

/// The feed's lines at the end of a run: what ran, whether the nodes converged, the verdict.
/// The failed and unknown operations come next, explained by kind (`141 failed: 90 no leader
/// (during an election, or cut off), …`).
pub fn report_lines(report: &ChaosReport, stopped: bool, took: Duration) -> Vec<String> {
    let c = report.history.counts();
    let why = explain_outcomes(&report.history.operations());
    let mut lines = vec![
        format!(
            "nemesis {} after {:.0} s: {} ok, {} failed, {} unknown operations ({} faults, \
             leaders seen: {})",
            if stopped { "stopped" } else { "over" },
            took.as_secs_f64(),
            thousands(c.ok as u64),
            thousands(c.failed as u64),
            thousands(c.unknown as u64),
            report.faults.len(),
            report.elections,
        ),
        match &report.converged {
            Ok(()) => "converged: every node applied the same state after the final heal".into(),
            Err(e) => format!("NOT CONVERGED: {e}"),
        },
        verdict_line(report),
    ];
    lines.splice(1..1, why);
    lines
}

/// `verdict: linearizable ✓`, `verdict: NOT linearizable on key "k1" ✗ (v shows why)`, ….
fn verdict_line(report: &ChaosReport) -> String {
    match &report.verdict {
        CheckResult::Linearizable => format!(
            "verdict: linearizable ✓ ({} operations)",
            thousands(report.history.len() as u64)
        ),
        CheckResult::NotLinearizable { key, .. } => {
            format!("verdict: NOT linearizable on key {key:?} ✗ (v shows the failing window)")
        }
        other => format!("verdict: {other}"),
    }
}

/// Writes `history` to `path` as JSON lines, through a temporary file beside it, so that a
/// failure leaves `path` as it was. Returns what it did, or why not.
pub fn save(history: &History, path: &Path) -> Result<String, String> {
    let name = path
        .file_name()
        .ok_or_else(|| format!("{} is not a file name", path.display()))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(".raftlab-tmp");
    let tmp = path.with_file_name(tmp_name);
    let ops = history.operations();
    let written = check::write_jsonl(&tmp, &ops).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e.to_string());
    }
    let shown = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    Ok(format!(
        "saved {} operations to {} (JSON lines)",
        thousands(ops.len() as u64),
        shown.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{KvOp, KvOutput, Outcome};

    fn put(h: &History, client: u64, key: &str, value: &str, previous: Option<&str>) {
        h.invoke(
            client,
            KvOp::Put {
                key: key.into(),
                value: value.into(),
            },
        )
        .complete(Outcome::Ok(KvOutput::Put {
            previous: previous.map(String::from),
        }));
    }

    fn get(h: &History, client: u64, key: &str, value: Option<&str>) {
        h.invoke(client, KvOp::Get { key: key.into() })
            .complete(Outcome::Ok(KvOutput::Get {
                value: value.map(String::from),
            }));
    }

    fn fast() -> CheckerTiming {
        CheckerTiming {
            counts_every: Duration::from_millis(5),
            check_every: Duration::from_millis(5),
            budget: Duration::from_secs(5),
        }
    }

    /// The next verdict the checker sends.
    async fn next_verdict(rx: &mut mpsc::Receiver<Notice>) -> (usize, CheckResult) {
        loop {
            let n = tokio::time::timeout(Duration::from_secs(10), rx.recv())
                .await
                .expect("a notice within 10 s")
                .expect("the checker runs");
            if let Notice::Verdict { ops, result } = n {
                return (ops, result);
            }
        }
    }

    #[tokio::test]
    async fn the_checker_judges_the_history_again_when_it_grows() {
        let h = History::new();
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(checker(h.clone(), tx, fast()));
        put(&h, 0, "x", "1", None);
        get(&h, 0, "x", Some("1"));
        assert_eq!(next_verdict(&mut rx).await, (2, CheckResult::Linearizable));
        // A read of a value nobody wrote, after the write completed: a stale read.
        get(&h, 0, "x", None);
        let (ops, result) = next_verdict(&mut rx).await;
        assert_eq!(ops, 3);
        assert!(
            matches!(&result, CheckResult::NotLinearizable { key, .. } if key == "x"),
            "{result}"
        );
        // A violation is final: the checker stops.
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the checker ends after a violation")
            .expect("no panic");
    }

    #[tokio::test]
    async fn the_checker_reports_counts_and_ends_when_the_dashboard_hangs_up() {
        let h = History::new();
        let (tx, mut rx) = mpsc::channel(64);
        let task = tokio::spawn(checker(h.clone(), tx, fast()));
        put(&h, 0, "x", "1", None);
        let pending = h.invoke(0, KvOp::Get { key: "x".into() });
        let counts = loop {
            if let Some(Notice::Counts(c)) = rx.recv().await {
                if c.in_flight == 1 {
                    break c;
                }
            }
        };
        assert_eq!((counts.ok, counts.in_flight), (1, 1));
        drop(pending);
        drop(rx);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the checker ends without a listener")
            .expect("no panic");
    }

    #[test]
    fn save_writes_json_lines_and_leaves_nothing_behind_on_a_bad_path() {
        let dir = std::env::temp_dir().join(format!("raftlab-jobs-save-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let h = History::new();
        put(&h, 0, "x", "1", None);
        get(&h, 0, "x", Some("1"));
        let file = dir.join("h.jsonl");
        let text = save(&h, &file).unwrap();
        assert!(text.starts_with("saved 2 operations to "), "{text}");
        assert_eq!(check::read_jsonl(&file).unwrap(), h.operations());

        let bad = dir.join("no such dir").join("h.jsonl");
        let e = save(&h, &bad).unwrap_err();
        assert!(e.contains("No such file"), "{e}");
        // A directory in the way: refused, the directory is untouched, no temporary file left.
        let e = save(&h, &dir).unwrap_err();
        assert!(!e.is_empty());
        assert!(dir.is_dir());
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("h.jsonl")]);
        assert!(save(&h, Path::new("/")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_nemesis_report_explains_its_failures_by_kind() {
        let h = History::new();
        put(&h, 1, "k0", "1", None);
        for why in [
            "Unavailable: no leader known",
            "Unavailable: no leader known",
            "Unavailable: not the leader; the leader is node 2",
        ] {
            h.invoke(1, KvOp::Get { key: "k0".into() })
                .complete(Outcome::Failed(why.into()));
        }
        let report = ChaosReport {
            history: h,
            faults: vec!["  1.00 s  isolate node 3".into()],
            elections: 2,
            converged: Ok(()),
            verdict: CheckResult::Linearizable,
            unsafe_rules: None,
        };
        let lines = report_lines(&report, false, Duration::from_secs(30));
        assert_eq!(
            lines[0],
            "nemesis over after 30 s: 1 ok, 3 failed, 0 unknown operations (1 faults, leaders \
             seen: 2)"
        );
        assert_eq!(
            lines[1],
            "3 failed: 2 no leader (during an election, or cut off), 1 redirected (asked a \
             follower; it named the leader)"
        );
        assert!(lines[2].starts_with("converged"), "{lines:?}");
        assert!(lines[3].starts_with("verdict: linearizable"), "{lines:?}");
        assert!(crate::chaos::summary(&report).contains("\n  3 failed: 2 no leader"));
    }

    #[test]
    fn dashboard_nemesis_options_are_cancellable_with_4_clients_on_3_keys() {
        let o = nemesis_options(7, Duration::from_secs(30));
        assert_eq!((o.clients, o.keys, o.seed), (4, 3, 7));
        assert_eq!(o.nemeses, crate::chaos::Nemesis::ALL.to_vec());
        assert!(o.cancel.is_some() && !o.verbose);
    }
}
