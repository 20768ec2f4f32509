//! The command line's arguments: the clap types of `raftlab` and of each subcommand, the
//! parsers of their values, and what the shared flags (rules, storage, theme) mean.
//!
//! ```text
//!   Cli ─ command: Option<Command>      none: the dashboard, with Cli::ui's flags
//!         ui: UiArgs ─┬─ RulesArgs      PreVote, CheckQuorum, read mode, UNSAFE rules
//!                     └─ StorageArgs    disk or memory, data dir, fsync, snapshots
//!   Command ─ Ui · Serve · Bench · Chaos · Check · Sim · Scenario · Challenge · Replay · Lab · Config
//!             (one *Args each)
//! ```
//!
//! The dashboard's flags are `Option`s where the config file (`raftlab.toml`) may give the value:
//! a flag that is absent leaves the file's value (or the default) in force, see `cli::config`.
//!
//! ```text
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cluster::Preset;

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
    /// Goal-driven exercises checked live on the dashboard. Without a name, lists them (✓ for
    /// those solved; progress is kept in the user's data directory). With a name, opens the
    /// dashboard on the challenge's cluster: `H` or `:hint` gives a hint.
    Challenge(ChallengeArgs),
    /// Open a recording made with `--record FILE` in the dashboard: play, pause, change speed
    /// and seek backward and forward with a time slider. With `--export OUT`, write the run's
    /// space-time diagram (SVG, HTML, Mermaid or ShiViz) instead.
    Replay(ReplayArgs),
    /// The deterministic lab: a run (a seed, settings and timed actions) played on the
    /// simulator and opened in the replay dashboard, where the slider travels through it. The
    /// same run draws the same screens on any machine; `--save` and `--share` hand it on.
    /// `--headless` prints what happened and exits 1 if a safety property broke.
    Lab(LabArgs),
    /// Show the dashboard's settings in force and where each came from (default, the config
    /// file's line, an environment variable, a flag), and where the config file and the logs
    /// are. Dashboard flags given here show how they would override the file.
    Config(ConfigArgs),
}

/// Flags of `raftlab config`.
#[derive(Debug, Args, Clone)]
pub struct ConfigArgs {
    /// Print only the config file's path.
    #[arg(long, conflicts_with_all = ["init", "keys"])]
    pub path: bool,
    /// Write a commented config file with every default (never over an existing file).
    #[arg(long, conflicts_with = "keys")]
    pub init: bool,
    /// List every mode's actions by the name the config file's [keys.MODE] tables use, with
    /// their keys in force.
    #[arg(long)]
    pub keys: bool,
    /// The dashboard's flags, to see how they override the file.
    #[command(flatten)]
    pub ui: UiArgs,
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
    /// Stop after each step until Enter is pressed, time standing still meanwhile (dashboard
    /// only).
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
    /// The paper's Figure 2 only: PreVote and CheckQuorum off, whatever the scenario's
    /// `[cluster] rules` says.
    #[arg(long)]
    pub paper: bool,
    /// Colours: color, or mono (also chosen when NO_COLOR is set).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeArg>,
}

/// Flags of `raftlab challenge`.
#[derive(Debug, Args, Clone)]
pub struct ChallengeArgs {
    /// The challenge to start; without it, the list.
    pub name: Option<String>,
    /// Override the challenge's timing preset (fast: elections in 150–300 ms).
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Colours: color, or mono (also chosen when NO_COLOR is set).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeArg>,
}

/// Flags of `raftlab lab`.
#[derive(Debug, Args, Clone)]
pub struct LabArgs {
    /// A run file (written by --save), or a built-in run: figure-8, forget-vote,
    /// vote-without-log-check (each breaks Raft with its unsafe rule). Without it (and
    /// without --run), a new run from the flags below.
    #[arg(conflicts_with = "run")]
    pub file: Option<std::path::PathBuf>,
    /// A run as a share string (printed by --share).
    #[arg(long, value_name = "STRING")]
    pub run: Option<String>,
    /// Nodes of a new run, 1 to 9.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: u64,
    /// Seed of a new run: election timers and message delays.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Timing of a new run: teach (100 ms ticks, 150–450 ms links) or fast.
    #[arg(long, value_enum, default_value_t = Preset::Teach)]
    pub preset: Preset,
    /// A new run with the paper's Figure 2 rules only (PreVote and CheckQuorum off).
    #[arg(long)]
    pub paper: bool,
    /// UNSAFE rules of a new run, comma-separated: vote-without-log-check,
    /// commit-by-counting, forget-vote.
    #[arg(long = "unsafe", value_name = "RULE[,RULE]", value_delimiter = ',')]
    pub unsafe_rules: Vec<String>,
    /// Entries per AppendEntries in a new run (default 64).
    #[arg(long, value_name = "N")]
    pub max_append: Option<usize>,
    /// An action at a simulated moment, added after the run's own: `--do "2s kill 3"`,
    /// `--do "2.5s put x 1"`. Repeat for more, in time order. Actions: kill, restart,
    /// isolate, partition, heal, link FROM TO cut|up|delay D|drop P, campaign, clock N RATE,
    /// put KEY VALUE, get KEY, transfer N, deliver ID, drop ID, duplicate ID (docs/lab.md).
    #[arg(long = "do", value_name = "MOMENT ACTION")]
    pub actions: Vec<String>,
    /// How much simulated time to play (default: 10 s past the last action, at least 30 s).
    #[arg(long = "for", value_name = "DURATION", value_parser = parse_duration)]
    pub play_for: Option<Duration>,
    /// Write the run to FILE (JSON: settings and actions), to open later or elsewhere.
    #[arg(long, value_name = "FILE")]
    pub save: Option<std::path::PathBuf>,
    /// Print the run as one compact string for `raftlab lab --run STRING`.
    #[arg(long)]
    pub share: bool,
    /// Write the played run as a recording (for `raftlab replay FILE`).
    #[arg(long, value_name = "FILE")]
    pub record: Option<std::path::PathBuf>,
    /// Print each action's outcome, the end state and the safety verdict instead of opening
    /// the dashboard.
    #[arg(long)]
    pub headless: bool,
    /// Colours: color, or mono (also chosen when NO_COLOR is set).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeArg>,
}

/// Which engine runs behind the dashboard.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// The real gRPC cluster, in real time.
    #[default]
    Live,
    /// The deterministic simulator, in simulated time.
    Sim,
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
    /// Write the run's space-time diagram to OUT instead of opening the dashboard; the extension
    /// chooses the format: .svg, .html (self-contained, zoom and hover), .mmd (Mermaid, at most
    /// 300 messages), .shiviz (ShiViz's log).
    #[arg(long, value_name = "OUT")]
    pub export: Option<std::path::PathBuf>,
    /// With --export: start of the window, in cluster time (2s, 1500ms; default: the start).
    #[arg(long, value_parser = parse_instant, requires = "export")]
    pub from: Option<Duration>,
    /// With --export: end of the window, in cluster time (default: the end).
    #[arg(long, value_parser = parse_instant, requires = "export")]
    pub to: Option<Duration>,
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
    /// The paper's Figure 2 only: PreVote and CheckQuorum off (as --no-pre-vote
    /// --no-check-quorum), so a leader cut off from a majority goes on believing it leads.
    #[arg(long)]
    pub paper: bool,
    /// Turn PreVote off (on by default): a node whose timer fires starts a real election at
    /// once, raising the term even when it cannot win.
    #[arg(long, overrides_with = "pre_vote")]
    pub no_pre_vote: bool,
    /// Turn PreVote on, whatever the config file says (the dashboard's default).
    #[arg(long, overrides_with = "no_pre_vote")]
    pub pre_vote: bool,
    /// Turn CheckQuorum off (on by default): a leader cut off from a majority keeps believing
    /// it leads.
    #[arg(long, overrides_with = "check_quorum")]
    pub no_check_quorum: bool,
    /// Turn CheckQuorum on, whatever the config file says (the dashboard's default).
    #[arg(long, overrides_with = "no_check_quorum")]
    pub check_quorum: bool,
    /// How leaders answer reads: safe (ReadIndex: a round of heartbeats per batch of reads; the
    /// default) or lease (no round while a lease holds; assumes bounded clock drift — unsafe
    /// with `clock`).
    #[arg(long, value_enum)]
    pub read_mode: Option<ReadModeArg>,
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
    /// The rules these flags select over the defaults.
    pub fn rules(&self) -> crate::node::Rules {
        let mut rules = crate::node::Rules::default();
        if self.no_pre_vote || self.paper {
            rules.pre_vote = false;
        }
        if self.no_check_quorum || self.paper {
            rules.check_quorum = false;
        }
        if let Some(mode) = self.read_mode {
            rules.read_mode = mode.read_mode();
        }
        for rule in &self.unsafe_rules {
            rules.enable(*rule);
        }
        rules
    }
}

impl ReadModeArg {
    /// The core's read mode.
    pub fn read_mode(self) -> crate::raft::ReadMode {
        match self {
            ReadModeArg::Safe => crate::raft::ReadMode::Safe,
            ReadModeArg::Lease => crate::raft::ReadMode::Lease,
        }
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
#[derive(Debug, Args, Clone, Default)]
pub struct UiArgs {
    /// Number of nodes, 1 to 9 (default: 5, or `nodes` in the config file).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=9))]
    pub nodes: Option<u64>,
    /// Timing: teach (2–4 s elections, messages visibly in flight; the default) or fast
    /// (150–300 ms).
    #[arg(long, value_enum)]
    pub preset: Option<Preset>,
    /// Seed of the nodes' election timeouts and of the network's random choices.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// What runs behind the dashboard: live (real nodes speaking gRPC on 127.0.0.1, in real
    /// time) or sim (the same core on the deterministic simulator: rewind, branches, runs to
    /// share; see `raftlab lab`).
    #[arg(long, value_enum, default_value_t = EngineArg::Live)]
    pub engine: EngineArg,
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
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Warm-up before each measurement (e.g. 1s, 200ms; 0 for none): operations that start
    /// during it are not counted.
    #[arg(long, default_value = "1s", value_parser = parse_warmup)]
    pub warmup: std::time::Duration,
    /// Run each of these client counts in turn on the same cluster (e.g. 1,4,16,64,256,1024),
    /// each with its warm-up, and print a table.
    #[arg(long, value_name = "CLIENTS,...", value_parser = parse_sweep,
          conflicts_with_all = ["clients", "writes"])]
    pub sweep: Option<Sweep>,
    /// Fraction of operations that are reads (Get, linearizable: ReadIndex) of keys the client
    /// wrote before, 0.0 to 1.0.
    #[arg(long, default_value_t = 0.0, value_parser = parse_ratio)]
    pub read_ratio: f64,
    /// Drive a running `raftlab serve` instead of starting a cluster: the Kv addresses of its
    /// nodes, comma-separated (as `serve` prints them under "nodes"), so that the load generator
    /// runs in its own process.
    #[arg(long, value_name = "ADDR,...", value_delimiter = ',', value_parser = parse_addr,
          conflicts_with_all = ["nodes", "preset", "seed", "storage", "data_dir", "fsync",
                                "snapshot_every", "snapshot_bytes"])]
    pub target: Vec<std::net::SocketAddr>,
    /// With --target: the Control address `serve` prints, to read the nodes' counters (mean
    /// batch size, AppendEntries/s). Without it those figures are "n/a".
    #[arg(long, value_name = "ADDR", value_parser = parse_addr, requires = "target")]
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
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
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
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
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
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub budget: std::time::Duration,
    /// Also write the history as one self-contained HTML page: a row per key, a bar per
    /// operation, the linearization order, or the failing window and the longest partial
    /// linearization. Written whatever the verdict; the exit code stays the verdict's.
    #[arg(long, value_name = "REPORT.html")]
    pub html: Option<std::path::PathBuf>,
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

/// Parses a moment of a run: a duration since the cluster started, 0 included (the words of a
/// warm-up).
pub fn parse_instant(s: &str) -> Result<Duration, String> {
    parse_warmup(s)
}

/// Parses a warm-up: a duration, or 0 for none.
pub fn parse_warmup(s: &str) -> Result<Duration, String> {
    if s.trim().trim_end_matches(['s', 'm']).trim() == "0" {
        return Ok(Duration::ZERO);
    }
    parse_duration(s)
}

/// Most clients one run may have.
pub const MAX_CLIENTS: u64 = 4096;

/// The client counts of `--sweep`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sweep(pub Vec<u64>);

/// Parses `--sweep 1,4,16,64`: client counts from 1 to [`MAX_CLIENTS`], comma-separated.
pub fn parse_sweep(s: &str) -> Result<Sweep, String> {
    let counts = s
        .split(',')
        .map(|part| {
            let part = part.trim();
            let n: u64 = part
                .parse()
                .map_err(|_| format!("{part:?} is not a client count (e.g. --sweep 1,4,16,64)"))?;
            if (1..=MAX_CLIENTS).contains(&n) {
                Ok(n)
            } else {
                Err(format!(
                    "client count {n} is out of range 1..={MAX_CLIENTS}"
                ))
            }
        })
        .collect::<Result<Vec<u64>, String>>()?;
    Ok(Sweep(counts))
}

/// Parses `--read-ratio`: a fraction from 0 to 1.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let r: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a number (e.g. 0.3)"))?;
    if (0.0..=1.0).contains(&r) {
        Ok(r)
    } else {
        Err(format!("{r} is out of range 0.0..=1.0"))
    }
}

/// Parses one `--target` address (host:port, as `raftlab serve` prints them).
pub fn parse_addr(s: &str) -> Result<SocketAddr, String> {
    s.trim().parse().map_err(|_| {
        format!("{s:?} is not an address: expected ip:port, e.g. 127.0.0.1:50051 (the Kv addresses `raftlab serve` prints)")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paper_turns_pre_vote_and_check_quorum_off() {
        let cli = Cli::try_parse_from(["raftlab"]).expect("defaults");
        assert_eq!(cli.ui.rules.rules(), crate::node::Rules::default());
        let cli = Cli::try_parse_from(["raftlab", "--paper"]).expect("--paper");
        assert_eq!(cli.ui.rules.rules(), crate::node::Rules::paper());
        let cli = Cli::try_parse_from(["raftlab", "ui", "--paper", "--unsafe", "forget-vote"])
            .expect("ui --paper");
        let Some(Command::Ui(a)) = cli.command else {
            panic!("ui expected");
        };
        let rules = a.rules.rules();
        assert!(!rules.pre_vote && !rules.check_quorum && rules.any_unsafe());
        let cli = Cli::try_parse_from(["raftlab", "scenario", "stale-leader", "--paper"])
            .expect("scenario --paper");
        let Some(Command::Scenario(a)) = cli.command else {
            panic!("scenario expected");
        };
        assert!(a.paper);
    }

    #[test]
    fn cli_parses_defaults_and_rejects_bad_flags() {
        let cli = Cli::try_parse_from(["raftlab"]).expect("no subcommand is fine");
        assert!(cli.command.is_none());
        assert_eq!(cli.ui.nodes, None);
        assert_eq!(cli.ui.preset, None);
        let cli = Cli::try_parse_from(["raftlab", "--nodes", "3", "--theme", "mono"])
            .expect("dashboard flags without a subcommand");
        assert_eq!(cli.ui.nodes, Some(3));
        let cli = Cli::try_parse_from(["raftlab", "--no-pre-vote", "--pre-vote"]).expect("valid");
        assert!(
            cli.ui.rules.pre_vote && !cli.ui.rules.no_pre_vote,
            "the last one wins"
        );
        let cli = Cli::try_parse_from(["raftlab", "config", "--nodes", "2", "--path"])
            .expect("config takes the dashboard's flags");
        let Some(Command::Config(c)) = cli.command else {
            panic!("config expected");
        };
        assert!(c.path && c.ui.nodes == Some(2));
        assert!(Cli::try_parse_from(["raftlab", "config", "--path", "--init"]).is_err());
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
    fn durations_parse_with_units_and_refuse_garbage() {
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(parse_duration("10h").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
        assert_eq!(parse_warmup("0"), Ok(Duration::ZERO));
        assert_eq!(parse_warmup("0s"), Ok(Duration::ZERO));
        assert_eq!(parse_warmup("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_instant("0ms"), Ok(Duration::ZERO));
        assert_eq!(parse_instant("1500ms"), Ok(Duration::from_millis(1500)));
        assert!(parse_instant("2h").is_err());
    }

    #[test]
    fn sweeps_are_client_counts_in_range() {
        assert_eq!(
            parse_sweep("1,4,16,64,256,1024"),
            Ok(Sweep(vec![1, 4, 16, 64, 256, 1024]))
        );
        assert_eq!(parse_sweep(" 8 , 2 "), Ok(Sweep(vec![8, 2])));
        assert_eq!(parse_sweep("32"), Ok(Sweep(vec![32])));
        for bad in ["", "1,,4", "0", "1,x", "-4", "4097", "1.5", "1;4"] {
            assert!(parse_sweep(bad).is_err(), "{bad:?} accepted");
        }
        assert!(parse_sweep("5000").unwrap_err().contains("1..=4096"));
    }

    #[test]
    fn read_ratios_and_addresses_are_checked() {
        assert_eq!(parse_ratio("0.3"), Ok(0.3));
        assert_eq!(parse_ratio("1"), Ok(1.0));
        assert!(parse_ratio("1.1").is_err());
        assert!(parse_ratio("-0.1").is_err());
        assert!(parse_ratio("NaN").is_err());
        assert!(parse_ratio("half").is_err());
        assert_eq!(
            parse_addr("127.0.0.1:7000"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 7000)))
        );
        assert!(parse_addr("localhost").is_err());
        assert!(parse_addr("127.0.0.1").is_err());
    }
}
