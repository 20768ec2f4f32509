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
pub mod commander;
/// The prompt's language lives in the command layer; re-exported where the dashboard uses it.
pub use crate::command::prompt;
pub mod jobs;
pub mod narration;
pub mod replay;
pub mod view;

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use crossterm::event::{Event as TermEvent, EventStream, KeyEventKind};
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::Instant;
use tokio_stream::StreamExt;

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
}

/// Restores the terminal when dropped: raw mode off, mouse capture off, alternate screen left,
/// cursor shown. Also installed as part of the panic hook.
struct TerminalGuard;

fn restore_terminal() {
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    ratatui::restore();
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// Takes the terminal: raw mode, alternate screen, mouse capture, and a panic hook that gives
/// it back. Dropping the guard restores it.
fn enter_terminal() -> (ratatui::DefaultTerminal, TerminalGuard) {
    let previous_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        previous_hook(info);
    }));
    let terminal = ratatui::init();
    let guard = TerminalGuard;
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
    (terminal, guard)
}

fn init_logging() -> (
    Option<String>,
    Option<tracing_appender::non_blocking::WorkerGuard>,
) {
    let dir = std::env::temp_dir();
    let name = format!("raftlab-{}.log", std::process::id());
    let appender = tracing_appender::rolling::never(&dir, &name);
    let (writer, guard) = tracing_appender::non_blocking(appender);
    let filter = tracing_subscriber::EnvFilter::try_from_env("RAFTLAB_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ok = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(false)
        .try_init()
        .is_ok();
    let path = dir.join(name).display().to_string();
    (ok.then_some(path), Some(guard))
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
    };
    run_with(config, Some(ScenarioRun { scenario, guided })).await
}

/// Runs the dashboard until the user quits (q, Ctrl-C) or SIGTERM arrives.
pub async fn run(config: UiConfig) -> ExitCode {
    run_with(config, None).await
}

async fn run_with(config: UiConfig, scenario: Option<ScenarioRun>) -> ExitCode {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        eprintln!(
            "raftlab: the dashboard needs a terminal. Without one, try `raftlab serve` (a \
             headless cluster) or `raftlab sim` (the simulator's demo)."
        );
        return ExitCode::from(2);
    }
    let (log_path, _log_guard) = init_logging();
    let mut cluster_config = ClusterConfig::new(config.nodes, config.preset);
    cluster_config.seed = config.seed;
    tracing::info!("storage: {}", config.storage.describe());
    cluster_config.storage = config.storage.clone();
    cluster_config.snapshot = config.snapshot;
    cluster_config.rules = config.rules;
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
    state.log_path = log_path.clone();
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
    // An empty log file is clutter: keep it only when something was written.
    if let Some(path) = log_path {
        if std::fs::metadata(&path).is_ok_and(|m| m.len() == 0) {
            let _ = std::fs::remove_file(&path);
        }
    }
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
    let mut input = EventStream::new();
    let mut sigterm = sigterm_stream();
    let mut last_draw = Instant::now() - FRAME;

    loop {
        if state.quit {
            break;
        }
        let draw_at = state.dirty.then_some(last_draw + FRAME);
        let effects = tokio::select! {
            ev = input.next() => match ev {
                Some(Ok(TermEvent::Key(key))) if key.kind != KeyEventKind::Release => state.on_key(key),
                Some(Ok(TermEvent::Mouse(m))) => state.on_mouse(m),
                Some(Ok(TermEvent::Resize(..))) => {
                    state.dirty = true;
                    Vec::new()
                }
                Some(Ok(_)) => Vec::new(),
                Some(Err(e)) => return Err(e),
                None => break,
            },
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
    Ok(())
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
