//! `raftlab chaos`: starts a cluster, runs [`crate::chaos::run_chaos`] on it, prints the summary
//! and exits 0 only when the history is linearizable and the nodes converged.

use std::process::ExitCode;
use std::time::Duration;

use super::args::{ChaosArgs, StorageKind};
use crate::chaos::{parse_nemeses, run_chaos_into, summary, ChaosOptions};
use crate::check::History;
use crate::cluster::{Cluster, ClusterConfig, Preset};

/// Runs `raftlab chaos`: resolves the storage flags and starts the runtime.
pub fn main(args: ChaosArgs) -> ExitCode {
    super::with_storage(&args.storage.clone(), StorageKind::Memory, |storage| {
        super::run_async(None, run(args, storage))
    })
}

/// `raftlab chaos` on a runtime.
pub async fn run(args: ChaosArgs, storage: crate::cluster::StorageConfig) -> ExitCode {
    let nemeses = match parse_nemeses(&args.nemesis) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("raftlab chaos: {e}");
            return ExitCode::from(2);
        }
    };
    let mut config = ClusterConfig::new(args.nodes as usize, Preset::Fast);
    config.seed = args.seed;
    let storage_text = storage.describe();
    config.storage = storage;
    config.snapshot = args.storage.snapshot_policy();
    config.rules = args.rules.rules();
    super::warn_if_unsafe("chaos", &config.rules);
    let cluster = match Cluster::start(config).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raftlab chaos: {e}");
            return ExitCode::FAILURE;
        }
    };
    let names: Vec<&str> = nemeses.iter().map(|n| n.name()).collect();
    println!(
        "raftlab chaos: {} nodes, seed {}, {} s, {} clients on {} keys, nemesis {}, storage \
         {storage_text}",
        args.nodes,
        args.seed,
        args.duration.as_secs_f64(),
        args.clients,
        args.keys,
        names.join(",")
    );
    let options = ChaosOptions {
        seed: args.seed,
        duration: args.duration,
        clients: args.clients,
        keys: args.keys,
        nemeses,
        check_budget: args.check_budget,
        recovery: Duration::from_secs(30),
        verbose: args.verbose,
        cancel: None,
    };
    let history = History::new();
    let header =
        || crate::record::Header::for_command_line(args.nodes as usize, Preset::Fast, args.seed);
    let recorder = match crate::record::Recorder::start_if(
        cluster.handle(),
        args.record.as_deref(),
        header,
        Some(history.clone()),
    ) {
        Ok(recorder) => recorder,
        Err(e) => {
            eprintln!("raftlab chaos: cannot record: {e}");
            cluster.shutdown().await;
            return ExitCode::from(2);
        }
    };
    let report = run_chaos_into(&cluster.handle(), &options, history).await;
    let recorded = match recorder {
        Some(r) => {
            let verdict = report.verdict.to_string();
            let converged = match &report.converged {
                Ok(()) => "converged",
                Err(_) => "NOT CONVERGED",
            };
            r.note(
                crate::record::NoteKind::Result,
                format!(
                    "chaos over: {converged}; {}",
                    verdict.lines().next().unwrap_or_default()
                ),
            );
            Some(r.finish().await)
        }
        None => None,
    };
    cluster.shutdown().await;
    print!("{}", summary(&report));
    if let Some(path) = &args.history {
        match report.history.write_jsonl(path) {
            Ok(()) => println!("history: {}", path.display()),
            Err(e) => eprintln!("raftlab chaos: cannot write {}: {e}", path.display()),
        }
    }
    match recorded {
        Some(Ok(s)) => println!("{}", s.describe()),
        Some(Err(e)) => eprintln!("raftlab chaos: the recording failed: {e}"),
        None => {}
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
