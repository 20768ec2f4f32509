//! `raftlab scenario NAME|FILE`: runs a scripted scenario on the dashboard or headless, and
//! `raftlab scenario --list` lists the built-in ones.

use std::process::ExitCode;

use tokio::sync::mpsc;

use super::ScenarioArgs;
use crate::check::History;
use crate::cluster::{Cluster, ClusterConfig, StorageConfig};
use crate::command::executor::Executor;
use crate::node::SnapshotPolicy;
use crate::scenario::runner::{self, Report, Verdict};
use crate::scenario::{self, fmt_secs, Scenario};

/// Runs `raftlab scenario`.
pub fn main(args: ScenarioArgs) -> ExitCode {
    if args.list {
        list();
        return ExitCode::SUCCESS;
    }
    let Some(name) = args.scenario.as_deref() else {
        eprintln!("raftlab scenario: name a scenario (--list shows them) or a TOML file");
        return ExitCode::from(2);
    };
    let mut scenario = match scenario::load(name) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("raftlab scenario: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(seed) = args.seed {
        scenario.seed = seed;
    }
    if args.headless {
        super::run_async(headless(scenario, args))
    } else {
        let _ = (args.guided, args.theme);
        eprintln!("raftlab scenario: the dashboard mode is not built yet; use --headless");
        ExitCode::from(2)
    }
}

fn list() {
    println!("Built-in scenarios (raftlab scenario NAME, add --guided or --headless):\n");
    for (name, _) in scenario::BUILTIN {
        match scenario::load(name) {
            Ok(s) => println!(
                "  {name:<16} {} — {} ({} nodes, {} steps)",
                s.title,
                s.summary,
                s.nodes,
                s.steps.len()
            ),
            Err(e) => println!("  {name:<16} (broken: {e})"),
        }
    }
    println!("\nA scenario file is TOML; see assets/scenarios/ and the README for the format.");
}

/// The cluster configuration a scenario asks for (memory storage: kills and restarts keep it).
pub fn cluster_config(s: &Scenario) -> ClusterConfig {
    let mut config = ClusterConfig::new(s.nodes, s.preset);
    config.seed = s.seed;
    config.storage = StorageConfig::Memory;
    if let Some(every) = s.snapshot_every {
        config.snapshot = Some(SnapshotPolicy {
            entries: every,
            bytes: 0,
        });
    }
    config
}

/// Runs a scenario on a fresh cluster without a screen, sending every report to `reports`
/// (client operations' outcomes come as `Report::Line`s too).
pub async fn run_headless(
    scenario: &Scenario,
    reports: mpsc::UnboundedSender<Report>,
    record: Option<std::path::PathBuf>,
) -> Result<Verdict, String> {
    let cluster = Cluster::start(cluster_config(scenario))
        .await
        .map_err(|e| format!("cannot start the cluster: {e}"))?;
    let history = History::new();
    // RECORDER-HOOK: the recorder is wired in once src/record.rs lands.
    let _ = &record;
    let (results_tx, mut results_rx) = mpsc::channel::<String>(64);
    let mut executor = Executor::new(cluster.handle(), history, results_tx);
    let forward = reports.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(text) = results_rx.recv().await {
            let ok = !text.starts_with("error");
            let _ = forward.send(Report::Line { ok, text });
        }
    });
    let (tee_tx, mut tee_rx) = mpsc::unbounded_channel::<Report>();
    let tee = tokio::spawn(async move {
        while let Some(r) = tee_rx.recv().await {
            let _ = reports.send(r);
        }
    });
    let verdict = runner::run(scenario, &cluster.handle(), &mut executor, &tee_tx, None).await;
    drop(executor);
    drop(tee_tx);
    let _ = tee.await;
    forwarder.abort();
    cluster.shutdown().await;
    Ok(verdict)
}

/// One line on how a scenario ended.
pub fn verdict_line(name: &str, v: &Verdict) -> String {
    match &v.failure {
        None => format!(
            "PASS {name}: {}/{} steps in {}",
            v.steps_done,
            v.total,
            fmt_secs(v.elapsed)
        ),
        Some((step, why)) => format!(
            "FAIL {name} at step {step}/{}: {why} ({} in)",
            v.total,
            fmt_secs(v.elapsed)
        ),
    }
}

async fn headless(scenario: Scenario, args: ScenarioArgs) -> ExitCode {
    println!(
        "scenario {}: {} — {} nodes, {} preset, seed {}",
        scenario.name,
        scenario.title,
        scenario.nodes,
        scenario.preset.as_str(),
        scenario.seed
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let printer = tokio::spawn(async move {
        while let Some(r) = rx.recv().await {
            print_report(&r);
        }
    });
    let outcome = run_headless(&scenario, tx, args.record.clone()).await;
    let _ = printer.await;
    match outcome {
        Ok(v) => {
            println!("{}", verdict_line(&scenario.name, &v));
            if let Some(path) = &args.record {
                println!("recorded to {} (raftlab replay {0})", path.display());
            }
            if v.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("raftlab scenario: {e}");
            ExitCode::FAILURE
        }
    }
}

fn print_report(r: &Report) {
    match r {
        Report::Step {
            number,
            total,
            say,
            describe,
        } => {
            println!("\n[{number}/{total}] {describe}");
            if let Some(s) = say {
                for l in wrap(s, 92) {
                    println!("      {l}");
                }
            }
        }
        Report::Line { ok, text } => println!("   {} {text}", if *ok { "✓" } else { "✗" }),
        Report::WaitingForUser => {}
        Report::Finished(_) => {}
    }
}

/// Splits text into lines of at most `width` characters at spaces (paragraphs kept).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for para in text.lines() {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                out.push(std::mem::take(&mut line));
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push(line);
    }
    out
}
