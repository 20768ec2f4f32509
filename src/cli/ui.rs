//! `raftlab` (or `raftlab ui`): the dashboard on an in-process cluster, storage on disk in a
//! temporary directory by default so that a restarted node really recovers.

use std::process::ExitCode;

use super::args::{theme, StorageKind, UiArgs};

/// Runs the dashboard.
pub fn main(args: UiArgs) -> ExitCode {
    super::with_storage(&args.storage.clone(), StorageKind::Disk, |storage| {
        super::run_async(None, crate::tui::run(config(&args, storage)))
    })
}

/// The dashboard's configuration from its flags and the environment (NO_COLOR).
pub fn config(args: &UiArgs, storage: crate::cluster::StorageConfig) -> crate::tui::UiConfig {
    crate::tui::UiConfig {
        nodes: args.nodes as usize,
        preset: args.preset,
        seed: args.seed,
        theme: theme(args.theme),
        storage,
        snapshot: args.storage.snapshot_policy(),
        record: args.record.clone(),
        rules: args.rules.rules(),
    }
}
