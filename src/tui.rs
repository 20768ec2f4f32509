//! The dashboard (ratatui): watch a real Raft cluster live and break it with a key.
//!
//! The Elm shape: terminal events become [`action::Action`]s, [`app::AppState::update`] is the
//! only place state changes, and [`view::view`] draws from the state alone. Five sources feed the
//! loop, none of which ever waits on another:
//!
//! ```text
//!  crossterm events ──┐
//!  snapshot poller ───┤                     ┌─► draw (≤ 30 fps, only when dirty)
//!  event bus ─────────┼─► update(AppState) ─┤
//!  command results ───┤                     └─► Effects ─► commander task ─► cluster
//!  job notices ───────┘   (checker, nemesis: see jobs)        │ client ops, nemesis
//!                                                             ▼
//!                                         History (shared) ─► checker ─► verdict in the footer
//! ```
//!
//! With `--record FILE`, a [`crate::record::Recorder`] also writes the bus, snapshots of the
//! cluster, the command results and the history's operations to FILE; [`replay`] opens such a
//! file in this same dashboard, with a time slider instead of a cluster.

pub mod action;
pub mod app;
pub mod challenge;
pub mod commander;
pub mod input;
/// The prompt's language lives in the command layer; re-exported where the dashboard uses it.
pub use crate::command::prompt;
pub mod jobs;
pub mod lab;
pub mod narration;
pub mod replay;
pub mod view;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, KeyEventKind};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;

use crate::cluster::{Cluster, ClusterConfig, Preset};
use crate::observe::cluster_view;
use crate::observe::feed::Category;
use app::{AppState, Theme};

/// Shortest time between two frames (about 30 per second).
pub const FRAME: Duration = Duration::from_millis(33);

/// How the dashboard starts.
#[derive(Clone, Debug)]
pub struct UiConfig {
    /// Nodes in the cluster.
    pub nodes: usize,
    /// Timing preset.
    pub preset: Preset,
    /// Seed of the cores' RNGs.
    pub seed: u64,
    /// Colours or not.
    pub theme: Theme,
    /// Where the nodes keep their data.
    pub storage: crate::cluster::StorageConfig,
    /// When nodes snapshot (the preset's default when `None`).
    pub snapshot: Option<crate::node::SnapshotPolicy>,
    /// Record the run to this file (`--record`), for `raftlab replay`.
    pub record: Option<std::path::PathBuf>,
    /// The cluster's rule switches.
    pub rules: crate::node::Rules,
    /// Where the log goes.
    pub logs: LogPlace,
}

/// Restores the terminal when dropped: raw mode off, mouse capture and bracketed paste off,
/// alternate screen left, cursor shown. Also installed as part of the panic hook.
struct TerminalGuard;

fn restore_terminal() {
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::DisableBracketedPaste,
        crossterm::event::DisableMouseCapture
    );
    ratatui::restore();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Takes the terminal: raw mode, alternate screen, mouse capture, bracketed paste (a paste
/// arrives as one [`TermEvent::Paste`], text for the prompt, never as keys), and a panic hook
/// that gives it back. Dropping the guard restores it.
fn enter_terminal() -> (ratatui::DefaultTerminal, TerminalGuard) {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous_hook(info);
    }));
    let terminal = ratatui::init();
    let guard = TerminalGuard;
    let _ = crossterm::execute!(
        std::io::stdout(),
        crossterm::event::EnableMouseCapture,
        crossterm::event::EnableBracketedPaste
    );
    (terminal, guard)
}

/// Where the dashboard keeps its log: daily files in the user's state directory, the last
/// `keep` of them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogPlace {
    /// The directory (`None`: the platform gives no home; no file log).
    pub dir: Option<std::path::PathBuf>,
    /// How many daily files to keep.
    pub keep: usize,
}

impl LogPlace {
    /// The user's state directory ([`crate::paths::Places`]), keeping `keep` files.
    pub fn of_user(keep: usize) -> LogPlace {
        LogPlace {
            dir: crate::paths::Places::of_user().map(|p| p.state),
            keep,
        }
    }

    /// Today's file in `dir`: `raftlab.YYYY-MM-DD.log` (UTC, as the rolling appender names it).
    pub fn file_today(dir: &std::path::Path) -> std::path::PathBuf {
        dir.join(format!(
            "{LOG_PREFIX}.{}.{LOG_SUFFIX}",
            utc_date(std::time::SystemTime::now())
        ))
    }
}

impl Default for LogPlace {
    fn default() -> Self {
        LogPlace::of_user(crate::config::DEFAULT_LOG_FILES)
    }
}

/// Log files are `raftlab.<date>.log`.
pub const LOG_PREFIX: &str = "raftlab";
/// ... ending in `.log`.
pub const LOG_SUFFIX: &str = "log";

/// `YYYY-MM-DD` of `t` in UTC (days to a civil date: Howard Hinnant's algorithm).
fn utc_date(t: std::time::SystemTime) -> String {
    let days = t
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    let (year, month, day) = crate::observe::format::civil_date(days);
    format!("{year:04}-{month:02}-{day:02}")
}

/// What the help overlay says of the log: the file, or why there is none.
fn init_logging(
    place: &LogPlace,
) -> (
    Result<String, String>,
    Option<tracing_appender::non_blocking::WorkerGuard>,
) {
    let Some(dir) = &place.dir else {
        return (Err("none (no home directory to keep it in)".into()), None);
    };
    // Made here first: the appender would complain on stderr of a missing directory.
    if let Err(e) = std::fs::create_dir_all(dir) {
        return (
            Err(format!("none (cannot create {}: {e})", dir.display())),
            None,
        );
    }
    let appender = tracing_appender::rolling::Builder::new()
        .rotation(tracing_appender::rolling::Rotation::DAILY)
        .filename_prefix(LOG_PREFIX)
        .filename_suffix(LOG_SUFFIX)
        .max_log_files(place.keep.max(1))
        .build(dir);
    let appender = match appender {
        Ok(a) => a,
        Err(e) => {
            return (
                Err(format!("none (cannot write to {}: {e})", dir.display())),
                None,
            )
        }
    };
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAFTLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ok = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .is_ok();
    let path = LogPlace::file_today(dir).display().to_string();
    if ok {
        (Ok(path), Some(guard))
    } else {
        (Err("none (a logger was already set up)".into()), None)
    }
}

/// A scenario to run on the dashboard.
#[derive(Clone, Debug)]
pub struct ScenarioRun {
    /// The scenario.
    pub scenario: crate::scenario::Scenario,
    /// Wait for Enter after each narrated step.
    pub guided: bool,
}

/// Runs a scenario on the dashboard: its cluster (memory storage), the narration panel, and in
/// guided mode a pause after each narrated step until Enter.
pub async fn run_scenario(
    scenario: crate::scenario::Scenario,
    guided: bool,
    record: Option<std::path::PathBuf>,
    theme: Theme,
    logs: LogPlace,
) -> ExitCode {
    let cluster = scenario.cluster_config();
    let config = UiConfig {
        nodes: scenario.nodes,
        preset: scenario.preset,
        seed: scenario.seed,
        theme,
        storage: cluster.storage,
        snapshot: cluster.snapshot,
        record,
        rules: cluster.rules,
        logs,
    };
    run_with(config, Some(ScenarioRun { scenario, guided }), None).await
}

/// Runs a challenge on the dashboard: its cluster (memory storage, `preset` instead of its
/// own when given) and its panel, watching the goal from the start.
pub async fn run_challenge(
    challenge: crate::scenario::challenge::Challenge,
    preset: Option<Preset>,
    theme: Theme,
    logs: LogPlace,
) -> ExitCode {
    let cluster = challenge.cluster_config(preset);
    let config = UiConfig {
        nodes: challenge.nodes,
        preset: cluster.preset,
        seed: challenge.seed,
        theme,
        storage: cluster.storage,
        snapshot: cluster.snapshot,
        record: None,
        rules: cluster.rules,
        logs,
    };
    run_with(config, None, Some(challenge)).await
}

/// Runs the dashboard until the user quits (q, Ctrl-C) or SIGTERM arrives.
pub async fn run(config: UiConfig) -> ExitCode {
    run_with(config, None, None).await
}

async fn run_with(
    config: UiConfig,
    scenario: Option<ScenarioRun>,
    challenge: Option<crate::scenario::challenge::Challenge>,
) -> ExitCode {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "raftlab: the dashboard needs a terminal. Without one, try `raftlab serve` (a \
             headless cluster) or `raftlab sim` (the simulator's demo)."
        );
        return ExitCode::from(2);
    }
    let (log_file, _log_guard) = init_logging(&config.logs);
    let mut cluster_config = ClusterConfig::new(config.nodes, config.preset);
    cluster_config.seed = config.seed;
    tracing::info!("storage: {}", config.storage.describe());
    cluster_config.storage = config.storage.clone();
    cluster_config.snapshot = config.snapshot;
    cluster_config.rules = config.rules;
    if let Some(ch) = &challenge {
        cluster_config.max_entries_per_append = ch.max_append;
    }
    let cluster = match Cluster::start(cluster_config).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raftlab: cannot start the cluster: {e}");
            return ExitCode::FAILURE;
        }
    };

    // Every client operation of the dashboard (the user's and the nemesis' workers).
    let history = crate::check::History::new();
    let header = || {
        let title = match &scenario {
            Some(run) => format!("scenario {}: {}", run.scenario.name, run.scenario.title),
            None => crate::record::command_line(),
        };
        crate::record::Header::new(config.nodes, config.preset, config.seed, title)
    };
    let recorder = match crate::record::Recorder::start_if(
        cluster.handle(),
        config.record.as_deref(),
        header,
        Some(history.clone()),
    ) {
        Ok(recorder) => recorder,
        Err(e) => {
            eprintln!("raftlab: cannot record: {e}");
            cluster.shutdown().await;
            return ExitCode::from(2);
        }
    };

    // The terminal: restored on every way out, panics included.
    let (mut terminal, guard) = enter_terminal();
    let mut state = AppState::new(config.nodes, config.theme);
    state.unsafe_rules = config.rules.unsafe_marker();
    state.rules_in_force = Some(config.rules.in_force());
    state.log_path = Some(log_file.clone().unwrap_or_else(|why| why));
    if let Err(why) = &log_file {
        // Said once; the help overlay keeps saying it.
        state.status_line = format!("log file: {why}");
    }
    if let Some(run) = &scenario {
        state.narration = Some(narration::Narration::new(
            &run.scenario.name,
            &run.scenario.title,
            run.scenario.steps.len(),
            run.guided,
        ));
    }
    let result = event_loop(
        &mut terminal,
        &mut state,
        &cluster,
        history,
        recorder.clone(),
        scenario,
        challenge,
    )
    .await;
    drop(guard);
    let recorded = match recorder {
        Some(r) => Some(r.finish().await),
        None => None,
    };
    cluster.shutdown().await;
    match recorded {
        Some(Ok(summary)) => println!("{}", summary.describe()),
        Some(Err(e)) => eprintln!("raftlab: the recording failed: {e}"),
        None => {}
    }
    drop(_log_guard);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("raftlab: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    state: &mut AppState,
    cluster: &Cluster,
    history: crate::check::History,
    recorder: Option<crate::record::Recorder>,
    scenario: Option<ScenarioRun>,
    first_challenge: Option<crate::scenario::challenge::Challenge>,
) -> std::io::Result<()> {
    let poll_every = match cluster.preset() {
        Preset::Fast => Duration::from_millis(50),
        Preset::Teach => Duration::from_millis(40),
    };
    let (want_tx, want_rx) = watch::channel(state.log_want());
    let (views_tx, mut views_rx) = mpsc::channel(2);
    let poller = tokio::spawn(cluster_view::poll(
        cluster.handle(),
        poll_every,
        want_rx,
        views_tx,
    ));
    let (effects_tx, effects_rx) = mpsc::channel(64);
    let (results_tx, mut results_rx) = mpsc::channel(64);
    let (notices_tx, mut notices_rx) = mpsc::channel(256);
    let checker = tokio::spawn(jobs::checker(
        history.clone(),
        notices_tx.clone(),
        jobs::CheckerTiming::default(),
    ));
    // A scenario runs beside the user, with its own executor; its reports feed the narration.
    let (reports_tx, mut reports_rx) = mpsc::unbounded_channel();
    let (advance_tx, advance_rx) = mpsc::unbounded_channel::<()>();
    let runner = scenario.map(|run| {
        let handle = cluster.handle();
        let mut executor = crate::command::executor::Executor::new(
            handle.clone(),
            history.clone(),
            results_tx.clone(),
        );
        let reports = reports_tx.clone();
        let mut advance = advance_rx;
        tokio::spawn(async move {
            let advance = run.guided.then_some(&mut advance);
            crate::scenario::runner::run(&run.scenario, &handle, &mut executor, &reports, advance)
                .await
        })
    });
    drop(reports_tx);
    // A challenge's watcher, started by `raftlab challenge NAME` or `:challenge NAME`; its
    // reports are tagged with the generation of the panel they belong to.
    let mut challenges = challenge::Watchers::new(
        cluster.handle(),
        history.clone(),
        results_tx.clone(),
        cluster.rules(),
        state.nodes,
    );
    if let Some(ch) = first_challenge {
        challenges.start(state, ch);
    }
    let user_ops = std::sync::Arc::new(crate::command::executor::OpsTracker::default());
    let commander = tokio::spawn(commander::run(
        cluster.handle(),
        history,
        effects_rx,
        results_tx,
        notices_tx,
        user_ops.clone(),
    ));
    let mut bus = cluster.events().subscribe();
    let mut input = input::Input::start();
    let mut sigterm = sigterm_stream();
    let mut last_draw = Instant::now() - FRAME;

    loop {
        if state.quit {
            break;
        }
        let draw_at = state.dirty.then_some(last_draw + FRAME);
        let effects = tokio::select! {
            ev = input.next() => {
                // This event and every one queued behind it, then one frame for all of them.
                let mut effects = Vec::new();
                let mut next = ev;
                let mut taken = 0;
                loop {
                    match next {
                        Some(Ok(ev)) => effects.extend(on_terminal_event(state, ev)),
                        Some(Err(e)) => return Err(e),
                        None => state.quit = true,
                    }
                    taken += 1;
                    if state.quit || taken == input::BATCH {
                        break;
                    }
                    match input.try_next() {
                        Some(ev) => next = Some(ev),
                        None => break,
                    }
                }
                effects
            }
            Some(view) = views_rx.recv() => {
                state.apply_view(view);
                state.apply_pending(user_ops.pending_ops());
                Vec::new()
            }
            ev = bus.recv() => {
                match ev {
                    Ok(e) => state.apply_event(e),
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        state.status_line = format!("(the event feed skipped {n} events)");
                    }
                    Err(broadcast::error::RecvError::Closed) => {}
                }
                // Take what else is queued in one go.
                for _ in 0..2_000 {
                    match bus.try_recv() {
                        Ok(e) => state.apply_event(e),
                        Err(_) => break,
                    }
                }
                Vec::new()
            }
            Some(text) = results_rx.recv() => {
                if let Some(r) = &recorder {
                    r.note(crate::record::NoteKind::Result, text.clone());
                }
                state.apply_result(text);
                Vec::new()
            }
            Some((generation, report)) = challenges.reports.recv() => {
                challenges.apply(state, generation, report);
                Vec::new()
            }
            Some(report) = reports_rx.recv() => {
                if let Some(r) = &recorder {
                    narration::note_report(r, &report);
                }
                state.apply_report(report);
                Vec::new()
            }
            Some(notice) = notices_rx.recv() => {
                if let Some(r) = &recorder {
                    record_notice(r, &notice);
                }
                state.apply_notice(notice);
                Vec::new()
            }
            _ = sleep_until_opt(draw_at) => {
                terminal.draw(|f| view::draw(state, f))?;
                state.dirty = false;
                last_draw = Instant::now();
                want_tx.send_if_modified(|w| {
                    let new = state.log_want();
                    let changed = *w != new;
                    *w = new;
                    changed
                });
                Vec::new()
            }
            _ = sigterm.recv() => {
                state.quit = true;
                Vec::new()
            }
        };
        for e in effects {
            if e == app::Effect::AdvanceScenario {
                let _ = advance_tx.send(());
                continue;
            }
            if let app::Effect::StartChallenge(name) = &e {
                challenges.start_named(state, name);
                continue;
            }
            if effects_tx.try_send(e).is_err() {
                state.status_line = "busy: the previous commands are still running".into();
            }
        }
    }
    poller.abort();
    checker.abort();
    commander.abort();
    if let Some(r) = runner {
        r.abort();
    }
    challenges.stop();
    Ok(())
}

/// One terminal event: a key press, a click, a paste (text for the prompt), a resize.
fn on_terminal_event(state: &mut AppState, ev: TermEvent) -> Vec<app::Effect> {
    match ev {
        TermEvent::Key(key) if key.kind != KeyEventKind::Release => state.on_key(key),
        TermEvent::Mouse(m) => state.on_mouse(m),
        TermEvent::Paste(text) => {
            state.on_paste(&text);
            Vec::new()
        }
        TermEvent::Resize(..) => {
            state.dirty = true;
            Vec::new()
        }
        _ => Vec::new(),
    }
}

/// What of a job's notice a recording keeps: feed lines and status lines.
fn record_notice(recorder: &crate::record::Recorder, notice: &app::Notice) {
    match notice {
        app::Notice::Feed { at, text } => {
            recorder.feed(*at, 0, Category::Fault, text.clone());
        }
        app::Notice::Status(text) => recorder.note(crate::record::NoteKind::Result, text.clone()),
        _ => {}
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// SIGTERM as a stream of unit values (never fires where signals are not available).
fn sigterm_stream() -> mpsc::Receiver<()> {
    let (tx, rx) = mpsc::channel(1);
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            while term.recv().await.is_some() {
                if tx.send(()).await.is_err() {
                    return;
                }
            }
        }
    });
    #[cfg(not(unix))]
    drop(tx);
    rx
}
