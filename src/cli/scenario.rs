//! `raftlab scenario NAME|FILE`: runs a scripted scenario on the dashboard or headless, and
//! `raftlab scenario --list` lists the built-in ones.

use std::process::ExitCode;

use tokio::sync::mpsc;

use super::args::ScenarioArgs;
use crate::check::History;
use crate::cluster::Cluster;
use crate::command::executor::Executor;
use crate::scenario::runner::{self, RunReport, Verdict};
use crate::scenario::{self, Scenario};

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
    if args.paper {
        scenario.rules = crate::node::Rules::paper();
    }
    if args.headless {
        super::run_async(None, headless(scenario, args))
    } else {
        // On the dashboard the config file gives the theme, the keys and where logs go; the
        // scenario brings its own cluster (nodes, preset, rules).
        let (theme, logs) = match super::config::own_cluster_settings(args.theme) {
            Ok(s) => s,
            Err(code) => return code,
        };
        super::run_async(
            None,
            crate::tui::run_scenario(scenario, args.guided, args.record.clone(), theme, logs),
        )
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
    println!(
        "\nA scenario file is TOML; see assets/scenarios/ and docs/scenarios.md for the format."
    );
}

/// Runs a scenario on a fresh cluster without a screen, sending every report to `reports`
/// (client operations' outcomes come as `RunReport::Line`s too).
pub async fn run_headless(
    scenario: &Scenario,
    reports: mpsc::UnboundedSender<RunReport>,
    record: Option<std::path::PathBuf>,
) -> Result<Verdict, String> {
    let cluster = Cluster::start(scenario.cluster_config())
        .await
        .map_err(|e| format!("cannot start the cluster: {e}"))?;
    let history = History::new();
    let recorder = match &record {
        Some(path) => Some(
            crate::record::Recorder::start(
                cluster.handle(),
                path,
                crate::record::Header::new(
                    scenario.nodes,
                    scenario.preset,
                    scenario.seed,
                    format!("scenario {}: {}", scenario.name, scenario.title),
                ),
                Some(history.clone()),
            )
            .map_err(|e| format!("cannot record to {}: {e}", path.display()))?,
        ),
        None => None,
    };
    let (results_tx, mut results_rx) = mpsc::channel::<String>(64);
    let mut executor = Executor::new(cluster.handle(), history, results_tx);
    let forward = reports.clone();
    let rec = recorder.clone();
    let forwarder = tokio::spawn(async move {
        while let Some(text) = results_rx.recv().await {
            if let Some(r) = &rec {
                r.note(crate::record::NoteKind::Result, text.clone());
            }
            let ok = !text.starts_with("error");
            let _ = forward.send(RunReport::Line { ok, text });
        }
    });
    let (tee_tx, mut tee_rx) = mpsc::unbounded_channel::<RunReport>();
    let rec = recorder.clone();
    let tee = tokio::spawn(async move {
        while let Some(r) = tee_rx.recv().await {
            if let Some(recorder) = &rec {
                crate::tui::narration::note_report(recorder, &r);
            }
            let _ = reports.send(r);
        }
    });
    let verdict = runner::run(scenario, &cluster.handle(), &mut executor, &tee_tx, None).await;
    drop(executor);
    drop(tee_tx);
    let _ = tee.await;
    forwarder.abort();
    if let Some(r) = recorder {
        r.finish()
            .await
            .map_err(|e| format!("the recording is incomplete: {e}"))?;
    }
    cluster.shutdown().await;
    Ok(verdict)
}

async fn headless(scenario: Scenario, args: ScenarioArgs) -> ExitCode {
    println!(
        "scenario {}: {} — {} nodes, {} preset, seed {}, {}",
        scenario.name,
        scenario.title,
        scenario.nodes,
        scenario.preset.as_str(),
        scenario.seed,
        scenario.rules.in_force()
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
            println!("{}", runner::verdict_line(&scenario.name, &v));
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

fn print_report(r: &RunReport) {
    match r {
        RunReport::Step {
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
        RunReport::Line { ok, text } => println!("   {} {text}", if *ok { "✓" } else { "✗" }),
        RunReport::WaitingForUser => {}
        RunReport::Finished(_) => {}
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
