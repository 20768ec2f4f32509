//! The `raftlab` command line: parse (clap, in [`args`]) and hand over to one module per
//! subcommand, each of which hands over to a layer.
//!
//! ```text
//!   args.rs      the clap types of every subcommand, the parsers of their values, and what
//!                the shared flags (rules, storage, theme) mean
//!   ui.rs        raftlab [ui]        the dashboard (the default)
//!   serve.rs     raftlab serve       a cluster without a screen, Kv and Control over gRPC
//!   bench.rs     raftlab bench       closed-loop clients: throughput and latency (bench/)
//!   chaos.rs     raftlab chaos       clients + nemesis + linearizability verdict
//!   check.rs     raftlab check       judge a saved history
//!   sim.rs       raftlab sim         a scripted story on the deterministic simulator
//!   scenario.rs  raftlab scenario    a scripted scenario, on the dashboard or headless
//!   challenge.rs raftlab challenge   the challenges: the list, or one on the dashboard
//!   replay.rs    raftlab replay      a recording, played back in the dashboard
//!   config.rs    raftlab config      the settings in force and where each came from; also the
//!                                    loading of raftlab.toml the dashboard commands share
//! ```
//!
//! This file holds only the dispatch and what several subcommands share: the storage flags'
//! resolution, the UNSAFE warning and the async runtime.

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub mod args;
pub mod bench;
pub mod challenge;
pub mod chaos;
pub mod check;
pub mod config;
pub mod lab;
pub mod replay;
pub mod scenario;
pub mod serve;
pub mod sim;
pub mod ui;

pub use args::{
    theme, BenchArgs, ChallengeArgs, ChaosArgs, CheckArgs, Cli, Command, ConfigArgs, FsyncArg,
    NetKind, ReadModeArg, ReplayArgs, RulesArgs, ScenarioArgs, ServeArgs, SimArgs, StorageArgs,
    StorageKind, TempDir, ThemeArg, UiArgs,
};

/// Entry point of the binary.
pub fn main() -> ExitCode {
    // The long help (`--help`) of the dashboard says where its files are, which only a run
    // knows (XDG directories, RAFTLAB_HOME).
    let files = config::files_help();
    let command = Cli::command()
        .after_long_help(files.clone())
        .mut_subcommand("ui", |c| c.after_long_help(files.clone()))
        .mut_subcommand("config", |c| c.after_long_help(files));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    match cli.command.unwrap_or(Command::Ui(cli.ui)) {
        Command::Ui(args) => ui::main(args),
        Command::Serve(args) => serve::main(args),
        Command::Bench(args) => bench::main(args),
        Command::Chaos(args) => chaos::main(args),
        Command::Check(args) => check::main(&args),
        Command::Sim(args) => sim::main(&args),
        Command::Scenario(args) => scenario::main(args),
        Command::Challenge(args) => challenge::main(args),
        Command::Replay(args) => replay::main(args),
        Command::Lab(args) => lab::main(args),
        Command::Config(args) => config::main(args),
    }
}

/// Resolves the storage flags (`default` when they do not decide) and runs `run` with the
/// storage; a temporary data directory lives until `run` returns. Bad flags: a line on stderr
/// and exit 2.
fn with_storage(
    args: &StorageArgs,
    default: StorageKind,
    run: impl FnOnce(crate::cluster::StorageConfig) -> ExitCode,
) -> ExitCode {
    match args.resolve(default) {
        Ok((storage, _tmp)) => run(storage),
        Err(e) => {
            eprintln!("raftlab: {e}");
            ExitCode::from(2)
        }
    }
}

/// Warns on stderr that `command` runs with rules that break Raft on purpose, if it does.
fn warn_if_unsafe(command: &str, rules: &crate::node::Rules) {
    if let Some(marker) = rules.unsafe_marker() {
        eprintln!(
            "raftlab {command}: WARNING: {marker} — these rules break Raft on purpose; expect \
             violations"
        );
    }
}

/// Half the machine's cores, at least one: the default runtime size of `serve` and of
/// `bench --target`, which usually share a machine. On two cores that is one worker, which
/// measured faster at every client count than two (a worker that wakes its idle sibling for
/// each task pays a futex wake and a context switch; see docs/performance.md).
pub(crate) fn half_the_cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// Runs an async subcommand on a multi-threaded tokio runtime of `workers` worker threads
/// (`None`: one per core, or `TOKIO_WORKER_THREADS`).
pub(crate) fn run_async(
    workers: Option<usize>,
    f: impl std::future::Future<Output = ExitCode>,
) -> ExitCode {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = workers {
        builder.worker_threads(n);
    }
    match builder.enable_all().build() {
        Ok(rt) => rt.block_on(f),
        Err(e) => {
            eprintln!("raftlab: cannot start the async runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
