//! `raftlab scenario NAME|FILE`: runs a scripted scenario on the dashboard or headless.

use std::process::ExitCode;

use super::ScenarioArgs;

/// Runs `raftlab scenario`.
pub fn main(args: ScenarioArgs) -> ExitCode {
    eprintln!(
        "raftlab scenario {:?}: not built yet (issue 8)",
        args.scenario
    );
    ExitCode::from(2)
}
