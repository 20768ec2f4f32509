//! The `raftlab` command line: subcommands and their flags (clap), each handing over to a layer.
//!
//! With no subcommand, `raftlab` opens the dashboard; `serve`, `bench`, `chaos` and `sim` are
//! the headless commands (one module each under `cli/`).

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cluster::Preset;
use crate::raft::{NodeId, Role};

pub mod bench;
pub mod chaos;
pub mod replay;
pub mod scenario;
pub mod serve;
use crate::sim::{NetConfig, Record, SimConfig, Simulator, Violation};

/// raftlab — a Raft lab in one terminal.
///
/// With no command it opens the dashboard on an in-process 5-node cluster at teaching speed.
#[derive(Debug, Parser)]
#[command(name = "raftlab", version, about, long_about = None, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to run (default: the dashboard).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// The dashboard's flags, when no command is given.
    #[command(flatten)]
    pub ui: UiArgs,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// The dashboard (the default): a live view of an in-process cluster, with keys to break it.
    Ui(UiArgs),
    /// Run a real cluster headless: N nodes speaking gRPC on 127.0.0.1, with the Kv service on
    /// every node and the Control service on the supervisor. Prints one JSON line with the
    /// addresses, then runs until SIGINT or SIGTERM.
    Serve(ServeArgs),
    /// Measure write throughput and latency: closed-loop clients putting to an in-process
    /// cluster over gRPC (each client one write outstanding, exactly-once sessions).
    Bench(BenchArgs),
    /// Jepsen in one process: concurrent clients (get, put, append, cas on a few keys) against a
    /// real cluster while a seeded nemesis partitions, kills, slows, drops, drifts and pauses
    /// nodes; then heal, check that every node converged, and judge the history with the
    /// linearizability checker. Exits 0 only when linearizable and converged.
    Chaos(ChaosArgs),
    /// Check a saved history (JSON lines from `chaos --history`, `bench --history` or the
    /// dashboard's `:history save`) with the linearizability checker. Exits 0 when linearizable,
    /// 1 when not (printing the failing window), 3 when the checker gave up, 2 on a bad file.
    Check(CheckArgs),
    /// Run a scripted story on the deterministic simulator and print its trace: elections,
    /// replication, a leader crash, a partition and its repair, with the safety properties of the
    /// Raft paper checked after every step.
    Sim(SimArgs),
    /// Run a scripted scenario (a built-in name or a TOML file): a real cluster, actions, waits
    /// and assertions, with narration. On the dashboard by default (`--guided` waits for Enter
    /// between steps); `--headless` prints each step and exits non-zero when one fails.
    Scenario(ScenarioArgs),
    /// Open a recording made with `--record FILE` in the dashboard: play, pause, change speed
    /// and seek backward and forward with a time slider.
    Replay(ReplayArgs),
}

/// Flags of `raftlab scenario`.
#[derive(Debug, Args, Clone)]
pub struct ScenarioArgs {
    /// A built-in scenario's name (see --list) or the path of a scenario file (TOML).
    #[arg(required_unless_present = "list")]
    pub scenario: Option<String>,
    /// List the built-in scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Stop after each step until Enter is pressed (dashboard only).
    #[arg(long, conflicts_with = "headless")]
    pub guided: bool,
    /// Run without a screen: print each step and its result; exit 1 when an assertion fails or a
    /// wait times out, 2 on a bad scenario file.
    #[arg(long)]
    pub headless: bool,
    /// Write the run (status, messages, faults, client operations, narration) to FILE as JSON
    /// lines, for `raftlab replay FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    /// Override the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Colours: color, or mono (also chosen when NO_COLOR is set).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeArg>,
}

/// Flags of `raftlab replay`.
#[derive(Debug, Args, Clone)]
pub struct ReplayArgs {
    /// A recording made with `--record FILE`.
    pub file: std::path::PathBuf,
    /// Playback speed (1: as recorded).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Colours: color, or mono (also chosen when NO_COLOR is set).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeArg>,
}

/// Where the nodes keep their data (shared by the dashboard, `serve` and `bench`).
#[derive(Debug, Args, Clone, Default)]
pub struct StorageArgs {
    /// Where nodes keep their hard state and log: disk (a WAL per node) or memory. Default: disk
    /// for the dashboard, and for serve when --data-dir is given; memory otherwise.
    #[arg(long, value_enum)]
    pub storage: Option<StorageKind>,
    /// Directory for the nodes' data, kept after exit (default: a fresh temporary directory,
    /// removed on exit).
    #[arg(long)]
    pub data_dir: Option<std::path::PathBuf>,
    /// always: fsync every write. never: UNSAFE, for demos and benchmarks only — a crash of the
    /// machine can lose writes that were acknowledged.
    #[arg(long, value_enum, default_value_t = FsyncArg::Always)]
    pub fsync: FsyncArg,
    /// Each node snapshots its state and compacts its log after this many applied entries
    /// (0: never by count). Default: the preset's (fast 10000, teach 20).
    #[arg(long, value_name = "ENTRIES")]
    pub snapshot_every: Option<u64>,
    /// ... or after this many bytes of applied commands (0: never by size). Default: the
    /// preset's (fast 64 MiB, teach none).
    #[arg(long, value_name = "BYTES")]
    pub snapshot_bytes: Option<u64>,
}

/// The rule switches (shared by the dashboard, `serve` and `chaos`): PreVote, CheckQuorum, the
/// read mode, and rules that break Raft on purpose.
#[derive(Debug, Args, Clone, Default)]
pub struct RulesArgs {
    /// Turn PreVote off (on by default): a node whose timer fires starts a real election at
    /// once, raising the term even when it cannot win.
    #[arg(long)]
    pub no_pre_vote: bool,
    /// Turn CheckQuorum off (on by default): a leader cut off from a majority keeps believing
    /// it leads.
    #[arg(long)]
    pub no_check_quorum: bool,
    /// How leaders answer reads: safe (ReadIndex: a round of heartbeats per batch of reads) or
    /// lease (no round while a lease holds; assumes bounded clock drift — unsafe with `clock`).
    #[arg(long, value_enum, default_value_t = ReadModeArg::Safe)]
    pub read_mode: ReadModeArg,
    /// UNSAFE, for learning: rules to break, comma-separated: vote-without-log-check,
    /// commit-by-counting, forget-vote, local-reads.
    #[arg(long = "unsafe", value_name = "RULE[,RULE]", value_delimiter = ',',
          value_parser = parse_unsafe_rule)]
    pub unsafe_rules: Vec<crate::node::UnsafeRule>,
}

fn parse_unsafe_rule(s: &str) -> Result<crate::node::UnsafeRule, String> {
    crate::node::UnsafeRule::from_name(s)
}

impl RulesArgs {
    /// The rules these flags select.
    pub fn rules(&self) -> crate::node::Rules {
        let mut rules = crate::node::Rules {
            pre_vote: !self.no_pre_vote,
            check_quorum: !self.no_check_quorum,
            read_mode: match self.read_mode {
                ReadModeArg::Safe => crate::raft::ReadMode::Safe,
                ReadModeArg::Lease => crate::raft::ReadMode::Lease,
            },
            ..Default::default()
        };
        for rule in &self.unsafe_rules {
            rules.enable(*rule);
        }
        rules
    }
}

/// `--read-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ReadModeArg {
    /// ReadIndex: linearizable under any timing.
    #[default]
    Safe,
    /// Lease reads: trust that clocks drift little.
    Lease,
}

/// `--storage` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StorageKind {
    /// A write-ahead log and a hard-state file per node.
    Disk,
    /// In memory (lost when the process ends).
    Memory,
}

/// `--fsync` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum FsyncArg {
    /// fsync every write (safe).
    #[default]
    Always,
    /// Never fsync (UNSAFE: for demos and benchmarks).
    Never,
}

/// A temporary data directory, removed when dropped.
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates a fresh directory under the system's temporary directory.
    pub fn new(prefix: &str) -> std::io::Result<TempDir> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = std::env::temp_dir().join(format!("{prefix}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    /// The directory.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl StorageArgs {
    /// The snapshot policy the flags ask for, or `None` for the preset's.
    pub fn snapshot_policy(&self) -> Option<crate::node::SnapshotPolicy> {
        match (self.snapshot_every, self.snapshot_bytes) {
            (None, None) => None,
            (entries, bytes) => Some(crate::node::SnapshotPolicy {
                entries: entries.unwrap_or(0),
                bytes: bytes.unwrap_or(0),
            }),
        }
    }

    /// The storage to use, with `default` when neither --storage nor --data-dir decides, and
    /// the temporary directory to remove on exit, if one was made.
    pub fn resolve(
        &self,
        default: StorageKind,
    ) -> Result<(crate::cluster::StorageConfig, Option<TempDir>), String> {
        let kind = match (self.storage, &self.data_dir) {
            (Some(k), _) => k,
            (None, Some(_)) => StorageKind::Disk,
            (None, None) => default,
        };
        let fsync = match self.fsync {
            FsyncArg::Always => crate::storage::FsyncPolicy::Always,
            FsyncArg::Never => crate::storage::FsyncPolicy::Never,
        };
        match (kind, &self.data_dir) {
            (StorageKind::Memory, Some(_)) => {
                Err("--data-dir needs --storage disk (memory storage keeps no files)".into())
            }
            (StorageKind::Memory, None) => Ok((crate::cluster::StorageConfig::Memory, None)),
            (StorageKind::Disk, Some(dir)) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
                Ok((
                    crate::cluster::StorageConfig::Disk {
                        dir: dir.clone(),
                        fsync,
                    },
                    None,
                ))
            }
            (StorageKind::Disk, None) => {
                let tmp = TempDir::new("raftlab-data")
                    .map_err(|e| format!("cannot create a temporary data directory: {e}"))?;
                Ok((
                    crate::cluster::StorageConfig::Disk {
                        dir: tmp.path().to_path_buf(),
                        fsync,
                    },
                    Some(tmp),
                ))
            }
        }
    }
}

/// Flags of the dashboard.
#[derive(Debug, Args, Clone)]
pub struct UiArgs {
    /// Number of nodes, 1 to 9.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: u64,
    /// Timing: teach (2–4 s elections, messages visibly in flight) or fast (150–300 ms).
    #[arg(long, value_enum, default_value_t = Preset::Teach)]
    pub preset: Preset,
    /// Seed of the nodes' election timeouts and of the network's random choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Colours: color, or mono (also chosen when NO_COLOR is set).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeArg>,
    /// Write the run (status, messages, faults, client operations) to FILE as JSON lines, for
    /// `raftlab replay FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    /// Rule switches.
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Storage flags.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// The `--theme` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ThemeArg {
    /// Colours and symbols.
    Color,
    /// Symbols only.
    Mono,
}

/// Flags of `raftlab serve`.
#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    /// Number of nodes, 1 to 9.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: u64,
    /// Timing: fast (150–300 ms elections, for scripts) or teach (2–4 s, messages visibly in
    /// flight).
    #[arg(long, value_enum, default_value_t = Preset::Fast)]
    pub preset: Preset,
    /// Address of the Control service (port 0: any free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub control: std::net::SocketAddr,
    /// Seed of the nodes' election timeouts and of the network's random choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the run (status, messages, faults, client operations) to FILE as JSON lines, for
    /// `raftlab replay FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    /// Rule switches.
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Storage flags.
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Worker threads of the async runtime that runs the nodes, 1 to 256 (default: half the
    /// machine's cores, at least one: the clients that drive the cluster need the rest).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: Option<u64>,
}

/// Flags of `raftlab bench`.
#[derive(Debug, Args, Clone)]
pub struct BenchArgs {
    /// Number of nodes of the in-process cluster, 1 to 9.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: u64,
    /// Concurrent closed-loop clients, 1 to 4096 (each keeps one request outstanding; they
    /// share a few HTTP/2 connections per node).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=4096))]
    pub clients: u64,
    /// HTTP/2 connections per node the clients share in turn, 1 to 8 (default: one on a single
    /// worker thread; otherwise 4, or one per client if fewer, and beyond 512 clients one per
    /// 128 clients).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=8))]
    pub connections: Option<u64>,
    /// How long to measure, after the warm-up (e.g. 10s, 500ms). Default: 10s, or no limit
    /// with --writes. With --sweep: for each client count.
    #[arg(long, value_parser = bench::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Warm-up before each measurement (e.g. 1s, 200ms; 0 for none): operations that start
    /// during it are not counted.
    #[arg(long, default_value = "1s", value_parser = bench::parse_warmup)]
    pub warmup: std::time::Duration,
    /// Run each of these client counts in turn on the same cluster (e.g. 1,4,16,64,256,1024),
    /// each with its warm-up, and print a table.
    #[arg(long, value_name = "CLIENTS,...", value_parser = bench::parse_sweep,
          conflicts_with_all = ["clients", "writes"])]
    pub sweep: Option<bench::Sweep>,
    /// Fraction of operations that are reads (Get, linearizable: ReadIndex) of keys the client
    /// wrote before, 0.0 to 1.0.
    #[arg(long, default_value_t = 0.0, value_parser = bench::parse_ratio)]
    pub read_ratio: f64,
    /// Drive a running `raftlab serve` instead of starting a cluster: the Kv addresses of its
    /// nodes, comma-separated (as `serve` prints them under "nodes"), so that the load generator
    /// runs in its own process.
    #[arg(long, value_name = "ADDR,...", value_delimiter = ',', value_parser = bench::parse_addr,
          conflicts_with_all = ["nodes", "preset", "seed", "storage", "data_dir", "fsync",
                                "snapshot_every", "snapshot_bytes"])]
    pub target: Vec<std::net::SocketAddr>,
    /// With --target: the Control address `serve` prints, to read the nodes' counters (mean
    /// batch size, AppendEntries/s). Without it those figures are "n/a".
    #[arg(long, value_name = "ADDR", value_parser = bench::parse_addr, requires = "target")]
    pub control: Option<std::net::SocketAddr>,
    /// Print the results as JSON instead of text: one object per run (per client count with
    /// --sweep), one per line.
    #[arg(long)]
    pub json: bool,
    /// Stop once this many writes were acknowledged (a soak run: e.g. --writes 1000000).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub writes: Option<u64>,
    /// Print a line every 5 s while running (on stderr): writes so far and, in-process,
    /// resident memory, each node's log length and snapshot, and disk use.
    #[arg(long)]
    pub progress: bool,
    /// Record every operation (invocation, completion, outcome) and save the history as JSON
    /// lines (the same format as `raftlab chaos --history`; costs a little throughput).
    #[arg(long)]
    pub history: Option<std::path::PathBuf>,
    /// Bytes per value, 0 to 1 MiB (a value is the write's sequence number, zero-padded).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(0..=1_048_576))]
    pub payload: u64,
    /// Timing preset of the in-process cluster.
    #[arg(long, value_enum, default_value_t = Preset::Fast)]
    pub preset: Preset,
    /// Seed of the cores' RNGs and of the clients' choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Storage flags (in-process cluster).
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Worker threads of the async runtime, 1 to 256 (default: with --target half the
    /// machine's cores, at least one, as `serve` takes the other half; in-process, where the
    /// cluster and the clients share the runtime, every core).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub threads: Option<u64>,
}

/// Flags of `raftlab chaos`.
#[derive(Debug, Args, Clone)]
pub struct ChaosArgs {
    /// Number of nodes, 1 to 9.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: u64,
    /// Seed of the fault schedule and of the clients' operations.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// How long clients and nemesis run (e.g. 60s, 2m).
    #[arg(long, default_value = "60s", value_parser = bench::parse_duration)]
    pub duration: std::time::Duration,
    /// Concurrent clients, 1 to 256.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=256))]
    pub clients: u64,
    /// Keys the clients share, 1 to 1000 (few keys: more conflicts).
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub keys: u64,
    /// Faults to inject, comma-separated: partition, kill (restart is part of it), slow, drop,
    /// drift, pause, transfer (leadership handed to a random follower), or all.
    #[arg(long, default_value = "all")]
    pub nemesis: String,
    /// Time limit of the linearizability check (e.g. 60s).
    #[arg(long, default_value = "60s", value_parser = bench::parse_duration)]
    pub check_budget: std::time::Duration,
    /// Save the history as JSON lines (one operation per line).
    #[arg(long)]
    pub history: Option<std::path::PathBuf>,
    /// Print each fault as it is applied.
    #[arg(long)]
    pub verbose: bool,
    /// Write the run (status, messages, faults, client operations) to FILE as JSON lines, for
    /// `raftlab replay FILE`.
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    /// Rule switches.
    #[command(flatten)]
    pub rules: RulesArgs,
    /// Storage flags.
    #[command(flatten)]
    pub storage: StorageArgs,
}

/// Flags of `raftlab check`.
#[derive(Debug, Args, Clone)]
pub struct CheckArgs {
    /// The history file (one JSON operation per line).
    pub file: std::path::PathBuf,
    /// Time limit of the check (e.g. 60s).
    #[arg(long, default_value = "60s", value_parser = bench::parse_duration)]
    pub budget: std::time::Duration,
}

/// `raftlab check FILE`.
fn run_check(args: &CheckArgs) -> ExitCode {
    let ops = match crate::check::read_jsonl(&args.file) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("raftlab check: {}: {e}", args.file.display());
            return ExitCode::from(2);
        }
    };
    let report = crate::check::check_report(&ops, args.budget);
    let keys = report.keys.len();
    println!(
        "{} operations on {keys} keys checked in {:.3} s",
        ops.len(),
        report.elapsed.as_secs_f64()
    );
    println!("{}", report.result);
    match report.result {
        crate::check::CheckResult::Linearizable => ExitCode::SUCCESS,
        crate::check::CheckResult::NotLinearizable { .. } => ExitCode::FAILURE,
        crate::check::CheckResult::GaveUp { .. } => ExitCode::from(3),
    }
}

/// Flags of `raftlab sim`.
#[derive(Debug, Args, Clone)]
pub struct SimArgs {
    /// Seed of everything random: the same seed prints the same run.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Number of servers, 3 to 9.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(3..=9))]
    pub nodes: u64,
    /// The network: reliable (1–5 ms) or unreliable (loss, duplicates, long reordering).
    #[arg(long, value_enum, default_value_t = NetKind::Reliable)]
    pub net: NetKind,
    /// Also print every message delivered or lost (heartbeats included).
    #[arg(long)]
    pub messages: bool,
}

impl Default for SimArgs {
    fn default() -> Self {
        SimArgs {
            seed: 7,
            nodes: 5,
            net: NetKind::Reliable,
            messages: false,
        }
    }
}

/// Network presets of the simulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetKind {
    /// 1–5 ms, nothing lost.
    Reliable,
    /// 10% loss, 5% duplicates, 2% held back up to 600 ms.
    Unreliable,
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Ui(cli.ui)) {
        Command::Ui(args) => {
            let (storage, _tmp) = match storage_or_exit(&args.storage, StorageKind::Disk) {
                Ok(s) => s,
                Err(code) => return code,
            };
            run_async(None, crate::tui::run(ui_config(&args, storage)))
        }
        Command::Sim(args) => run_sim(&args),
        Command::Check(args) => run_check(&args),
        Command::Serve(args) => {
            let (storage, _tmp) = match storage_or_exit(&args.storage, StorageKind::Memory) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let threads = args.threads.map_or_else(half_the_cores, |n| n as usize);
            run_async(Some(threads), serve::run(args, storage))
        }
        Command::Bench(args) => {
            let (storage, _tmp) = match storage_or_exit(&args.storage, StorageKind::Memory) {
                Ok(s) => s,
                Err(code) => return code,
            };
            let threads = match args.threads {
                Some(n) => Some(n as usize),
                None if !args.target.is_empty() => Some(half_the_cores()),
                None => None,
            };
            run_async(threads, bench::run(args, storage))
        }
        Command::Chaos(args) => {
            let (storage, _tmp) = match storage_or_exit(&args.storage, StorageKind::Memory) {
                Ok(s) => s,
                Err(code) => return code,
            };
            run_async(None, chaos::run(args, storage))
        }
        Command::Scenario(args) => scenario::main(args),
        Command::Replay(args) => replay::main(args),
    }
}

/// The theme `--theme` asks for, or mono when NO_COLOR is set.
pub fn theme(arg: Option<ThemeArg>) -> crate::tui::app::Theme {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    match arg {
        Some(ThemeArg::Mono) => crate::tui::app::Theme::Mono,
        Some(ThemeArg::Color) => crate::tui::app::Theme::Color,
        None if no_color => crate::tui::app::Theme::Mono,
        None => crate::tui::app::Theme::Color,
    }
}

/// The dashboard's configuration from its flags and the environment (NO_COLOR).
pub fn ui_config(args: &UiArgs, storage: crate::cluster::StorageConfig) -> crate::tui::UiConfig {
    let theme = theme(args.theme);
    crate::tui::UiConfig {
        nodes: args.nodes as usize,
        preset: args.preset,
        seed: args.seed,
        theme,
        storage,
        snapshot: args.storage.snapshot_policy(),
        record: args.record.clone(),
        rules: args.rules.rules(),
    }
}

/// Resolves the storage flags or explains what is wrong with them.
fn storage_or_exit(
    args: &StorageArgs,
    default: StorageKind,
) -> Result<(crate::cluster::StorageConfig, Option<TempDir>), ExitCode> {
    args.resolve(default).map_err(|e| {
        eprintln!("raftlab: {e}");
        ExitCode::from(2)
    })
}

/// Half the machine's cores, at least one: the default runtime size of `serve` and of
/// `bench --target`, which usually share a machine. On two cores that is one worker, which
/// measured faster at every client count than two (a worker that wakes its idle sibling for
/// each task pays a futex wake and a context switch; see README, Performance).
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

const MS: u64 = 1_000;

fn run_sim(args: &SimArgs) -> ExitCode {
    match sim_story(args, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(StoryError::Violation(v)) => {
            eprintln!("{v}");
            ExitCode::FAILURE
        }
        Err(StoryError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(StoryError::Io(e)) => {
            eprintln!("raftlab: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why the story stopped.
#[derive(Debug)]
pub enum StoryError {
    /// A safety property broke (a bug in the core).
    Violation(Violation),
    /// Writing the trace failed.
    Io(std::io::Error),
}

impl From<Violation> for StoryError {
    fn from(v: Violation) -> Self {
        StoryError::Violation(v)
    }
}

impl From<std::io::Error> for StoryError {
    fn from(e: std::io::Error) -> Self {
        StoryError::Io(e)
    }
}

/// Prints the records the simulator pushed since the last call.
struct Printer {
    printed: u64,
    messages: bool,
}

impl Printer {
    fn flush(&mut self, sim: &Simulator, out: &mut impl std::io::Write) -> std::io::Result<()> {
        for r in sim.timeline().since(self.printed) {
            let show = self.messages
                || matches!(
                    r.record,
                    Record::Trace { .. }
                        | Record::Fault(_)
                        | Record::Note(_)
                        | Record::Proposed { .. }
                );
            if show {
                writeln!(out, "{r}")?;
            }
        }
        self.printed = sim.timeline().total();
        Ok(())
    }
}

/// The demo: a 5-node run that shows the main moves of Raft. Writes its trace to `out`.
pub fn sim_story(args: &SimArgs, out: &mut impl std::io::Write) -> Result<(), StoryError> {
    let net = match args.net {
        NetKind::Reliable => NetConfig::reliable(),
        NetKind::Unreliable => NetConfig::unreliable(),
    };
    let mut config = SimConfig::new(args.nodes as usize, args.seed).with_net(net);
    config.timeline = 0;
    let mut sim = Simulator::new(config);
    let mut p = Printer {
        printed: 0,
        messages: args.messages,
    };
    let all = sim.ids();
    writeln!(
        out,
        "raftlab sim: {} servers, seed {}, {} network; ticks of 10 ms, elections after \
         10-20 ticks, heartbeats every 2",
        args.nodes,
        args.seed,
        match args.net {
            NetKind::Reliable => "reliable",
            NetKind::Unreliable => "unreliable",
        }
    )?;

    sim.note("-- 1. a fresh cluster elects a leader (§5.2)");
    let leader = wait_leader(&mut sim, &all)?;
    p.flush(&sim, out)?;

    sim.note("-- 2. the leader replicates three commands (§5.3)");
    for cmd in ["x=1", "y=2", "x=3"] {
        sim.one(cmd, all.len(), true)?.ok();
    }
    sim.run_for(50 * MS)?;
    p.flush(&sim, out)?;

    if let Some(leader) = leader {
        sim.note(format!(
            "-- 3. the leader, node {leader}, crashes; the others elect a new one"
        ));
        sim.crash(leader);
        let rest: Vec<NodeId> = all.iter().copied().filter(|n| *n != leader).collect();
        wait_leader(&mut sim, &rest)?;
        sim.one("z=4", rest.len(), true)?.ok();
        p.flush(&sim, out)?;
        sim.note(format!(
            "-- 4. node {leader} restarts from its storage and catches up"
        ));
        sim.restart(leader);
        sim.run_for(500 * MS)?;
        p.flush(&sim, out)?;
    }

    if let Some(l2) = sim.leader() {
        let buddy = all.iter().copied().find(|n| *n != l2).unwrap_or(l2);
        let majority: Vec<NodeId> = all
            .iter()
            .copied()
            .filter(|n| *n != l2 && *n != buddy)
            .collect();
        sim.note(format!(
            "-- 5. partition: leader {l2} and node {buddy} are cut off from {majority:?}; the \
             old leader takes a command it cannot commit"
        ));
        sim.partition(&[vec![l2, buddy], majority.clone()]);
        sim.propose(l2, "lost=1")?;
        wait_leader(&mut sim, &majority)?;
        sim.one("w=5", majority.len(), true)?.ok();
        p.flush(&sim, out)?;
        sim.note("-- 6. heal: the old leader steps down and its uncommitted entry is replaced");
        sim.heal();
        sim.one("v=6", all.len(), true)?.ok();
        sim.run_for(200 * MS)?;
        p.flush(&sim, out)?;
    }

    sim.check_logs_fully()?;
    writeln!(out)?;
    writeln!(
        out,
        "{:>4} {:<9} {:>4} {:>6} {:>7} {:>8}  applied commands",
        "node", "role", "term", "commit", "applied", "last log"
    )?;
    for id in &all {
        let cmds: Vec<String> = sim
            .applied(*id)
            .iter()
            .filter(|(_, d)| !d.is_empty())
            .map(|(_, d)| String::from_utf8_lossy(d).into_owned())
            .collect();
        match sim.status(*id) {
            Some(st) => writeln!(
                out,
                "{:>4} {:<9} {:>4} {:>6} {:>7} {:>5}/{:<2}  {}",
                st.id,
                st.role.as_str(),
                st.term,
                st.commit,
                st.applied,
                st.last_log_index,
                st.last_log_term,
                cmds.join(" ")
            )?,
            None => writeln!(out, "{id:>4} down")?,
        }
    }
    writeln!(
        out,
        "\nElection Safety, Log Matching, Leader Completeness and State Machine Safety held \
         after each of {} steps.",
        sim.steps()
    )?;
    Ok(())
}

fn wait_leader(sim: &mut Simulator, among: &[NodeId]) -> Result<Option<NodeId>, Violation> {
    let among = among.to_vec();
    sim.run_until_cond(10_000 * MS, |s| s.stable_leader(&among).is_some())?;
    let leader = sim.stable_leader(&among);
    if leader.is_none() {
        sim.note(format!("no leader among {among:?} within 10 s"));
    }
    // Let the new leader's first heartbeats land so the trace shows followers learning of it.
    sim.run_for(30 * MS)?;
    Ok(leader.filter(|l| sim.status(*l).is_some_and(|s| s.role == Role::Leader)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_judges_a_saved_history_and_refuses_a_bad_file() {
        use crate::check::{History, KvOp, KvOutput, Outcome};
        let dir = tempfile::tempdir().unwrap();
        let h = History::new();
        let put = |v: &str| KvOp::Put {
            key: "x".into(),
            value: v.into(),
        };
        h.invoke(1, put("1"))
            .complete(Outcome::Ok(KvOutput::Put { previous: None }));
        h.invoke(1, put("2")).complete(Outcome::Ok(KvOutput::Put {
            previous: Some("1".into()),
        }));
        let good = dir.path().join("good.jsonl");
        h.write_jsonl(&good).unwrap();
        let args = |file| CheckArgs {
            file,
            budget: std::time::Duration::from_secs(10),
        };
        assert_eq!(run_check(&args(good)), ExitCode::SUCCESS);
        // A read after the second put that returns the first value: a stale read.
        h.invoke(2, KvOp::Get { key: "x".into() })
            .complete(Outcome::Ok(KvOutput::Get {
                value: Some("1".into()),
            }));
        let stale = dir.path().join("stale.jsonl");
        h.write_jsonl(&stale).unwrap();
        assert_eq!(run_check(&args(stale)), ExitCode::FAILURE);
        let bad = dir.path().join("bad.jsonl");
        std::fs::write(&bad, "{not json\n").unwrap();
        assert_eq!(run_check(&args(bad)), ExitCode::from(2));
        assert_eq!(
            run_check(&args(dir.path().join("missing.jsonl"))),
            ExitCode::from(2)
        );
    }

    #[test]
    fn cli_parses_defaults_and_rejects_bad_flags() {
        let cli = Cli::try_parse_from(["raftlab"]).expect("no subcommand is fine");
        assert!(cli.command.is_none());
        assert_eq!(cli.ui.nodes, 5);
        assert_eq!(cli.ui.preset, Preset::Teach);
        let cli = Cli::try_parse_from(["raftlab", "--nodes", "3", "--theme", "mono"])
            .expect("dashboard flags without a subcommand");
        assert_eq!(cli.ui.nodes, 3);
        assert!(Cli::try_parse_from(["raftlab", "--nodes", "0"]).is_err());
        let cli =
            Cli::try_parse_from(["raftlab", "sim", "--seed", "9", "--nodes", "3"]).expect("valid");
        let Some(Command::Sim(a)) = cli.command else {
            panic!("sim expected");
        };
        assert_eq!((a.seed, a.nodes), (9, 3));
        assert!(Cli::try_parse_from(["raftlab", "sim", "--nodes", "12"]).is_err());
        assert!(Cli::try_parse_from(["raftlab", "sim", "--seed", "x"]).is_err());
        assert!(Cli::try_parse_from(["raftlab", "sim", "--net", "lossy"]).is_err());
    }

    #[test]
    fn the_story_runs_and_ends_in_agreement() {
        for net in [NetKind::Reliable, NetKind::Unreliable] {
            let args = SimArgs {
                net,
                ..SimArgs::default()
            };
            let mut out = Vec::new();
            sim_story(&args, &mut out).expect("no violation");
            let text = String::from_utf8(out).expect("utf-8");
            assert!(text.contains("became leader"), "{text}");
            assert!(text.contains("-- 6. heal"), "{text}");
            assert!(text.contains("held after each of"), "{text}");
            // Every line of the final table lists the same applied commands on live nodes.
            let tables: Vec<&str> = text
                .lines()
                .skip_while(|l| !l.starts_with("node"))
                .skip(1)
                .take_while(|l| !l.is_empty())
                .collect();
            assert_eq!(tables.len(), 5, "{text}");
            assert!(
                tables.iter().all(|l| l.contains("x=1 y=2 x=3 z=4")),
                "{text}"
            );
            assert!(
                !text.contains("lost=1 w=5"),
                "uncommitted entry applied: {text}"
            );
        }
    }

    #[test]
    fn same_seed_same_trace() {
        let run = |seed| {
            let mut out = Vec::new();
            sim_story(
                &SimArgs {
                    seed,
                    ..SimArgs::default()
                },
                &mut out,
            )
            .expect("no violation");
            out
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }
}
