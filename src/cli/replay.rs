//! `raftlab replay FILE`: opens a recording in the dashboard.

use std::process::ExitCode;

use super::ReplayArgs;

/// Runs `raftlab replay`.
pub fn main(args: ReplayArgs) -> ExitCode {
    eprintln!(
        "raftlab replay {}: not built yet (issue 8)",
        args.file.display()
    );
    ExitCode::from(2)
}
