//! `raftlab` (or `raftlab ui`): the dashboard on an in-process cluster, storage on disk in a
//! temporary directory by default so that a restarted node really recovers. Its settings: the
//! flags, over the user's config file (`raftlab.toml`, see `cli::config`), over the defaults.

use std::process::ExitCode;

use super::args::{EngineArg, StorageKind, UiArgs};
use crate::config::Config;

/// Runs the dashboard: a bad config file is one line on stderr and exit 2, before anything
/// starts.
pub fn main(args: UiArgs) -> ExitCode {
    let loaded = match super::config::load_or_exit() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut settings = loaded.config;
    super::config::apply_ui_flags(&mut settings, &args);
    if args.engine == EngineArg::Sim {
        return match sim_run(&settings, &args) {
            Ok(run) => {
                let title = super::lab::title(&run);
                super::lab::open(run, title, args.theme)
            }
            Err(e) => {
                eprintln!("raftlab: --engine sim: {e}");
                ExitCode::from(2)
            }
        };
    }
    let logs = super::config::log_place(loaded.places.as_ref(), &settings);
    crate::tui::action::install(loaded.keymap);
    super::with_storage(&args.storage.clone(), StorageKind::Disk, |storage| {
        let mut ui = config_from(&settings, &args, storage);
        ui.logs = logs;
        super::run_async(None, crate::tui::run(ui))
    })
}

/// The run `--engine sim` starts: the dashboard's nodes, preset, seed and rules on the
/// simulator. What the sim engine does not have is a one-line error.
fn sim_run(settings: &Config, args: &UiArgs) -> Result<crate::engine::sim::Run, String> {
    if args.record.is_some() {
        return Err(
            "--record is for the live engine; raftlab lab --record FILE records a run".into(),
        );
    }
    let rules = settings.rules();
    if rules.pre_vote != rules.check_quorum {
        return Err(
            "the sim engine runs PreVote and CheckQuorum both on, or both off (--paper)".into(),
        );
    }
    if rules.read_mode != crate::raft::ReadMode::Safe {
        return Err("--read-mode is not on the sim engine yet".into());
    }
    let unsafe_rules = crate::node::UnsafeRule::ALL
        .into_iter()
        .filter(|r| rules.is_on(*r))
        .map(|r| r.name().to_string())
        .collect();
    let run = crate::engine::sim::Run::new(crate::engine::sim::Settings {
        nodes: settings.nodes.value as usize,
        seed: args.seed,
        preset: settings.preset.value,
        paper: !rules.pre_vote,
        unsafe_rules,
        max_append: None,
    });
    run.validate().map_err(|e| e.to_string())?;
    Ok(run)
}

/// The dashboard's configuration from its flags and the environment (NO_COLOR) alone, without
/// the config file.
pub fn config(args: &UiArgs, storage: crate::cluster::StorageConfig) -> crate::tui::UiConfig {
    let mut settings = Config::defaults(None)
        .with_no_color(std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()));
    super::config::apply_ui_flags(&mut settings, args);
    config_from(&settings, args, storage)
}

/// The dashboard's configuration from `settings` (the config file with the flags laid over
/// it) and the flags the file has no say in (seed, storage, record).
pub fn config_from(
    settings: &Config,
    args: &UiArgs,
    storage: crate::cluster::StorageConfig,
) -> crate::tui::UiConfig {
    crate::tui::UiConfig {
        nodes: settings.nodes.value as usize,
        preset: settings.preset.value,
        seed: args.seed,
        theme: super::config::theme(settings),
        storage,
        snapshot: args.storage.snapshot_policy(),
        record: args.record.clone(),
        rules: settings.rules(),
        logs: crate::tui::LogPlace::default(),
    }
}
