//! `raftlab challenge`: lists the challenges (✓ for those solved, from the progress file in the
//! user's data directory), and `raftlab challenge NAME` starts one on the dashboard.

use std::process::ExitCode;

use super::args::ChallengeArgs;
use crate::scenario::challenge::{self, progress::ProgressFile};

/// Runs `raftlab challenge`.
pub fn main(args: ChallengeArgs) -> ExitCode {
    let Some(name) = args.name.as_deref() else {
        list();
        return ExitCode::SUCCESS;
    };
    let challenge = match challenge::load(name) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("raftlab challenge: {e}");
            return ExitCode::from(2);
        }
    };
    super::warn_if_unsafe("challenge", &challenge.rules);
    // As for a scenario: the config file gives the theme, the keys and where logs go; the
    // challenge brings its own cluster (nodes, rules).
    let (theme, logs) = match super::config::own_cluster_settings(args.theme) {
        Ok(s) => s,
        Err(code) => return code,
    };
    super::run_async(
        None,
        crate::tui::run_challenge(challenge, args.preset, theme, logs),
    )
}

/// Prints every challenge, ✓ before the solved ones; a progress file that cannot be read is one
/// line on stderr.
fn list() {
    let file = ProgressFile::of_user();
    if let Some(w) = &file.warning {
        eprintln!("raftlab challenge: {w}");
    }
    println!("Challenges (raftlab challenge NAME, or :challenge NAME on the dashboard):\n");
    let mut solved = 0;
    for c in challenge::builtin() {
        match c {
            Ok(c) => {
                let done = file.progress.solved(&c.name);
                solved += usize::from(done);
                let mark = if done { "✓" } else { " " };
                println!("  {mark} {:<18} {} — {}", c.name, c.title, c.summary);
                println!("    {:<18} {} · {}", "", c.section, c.settings());
            }
            Err(e) => println!("    (broken: {e})"),
        }
    }
    println!(
        "\n{solved} of {} solved. On the dashboard, H or :hint gives a hint, one at a time.",
        challenge::BUILTIN.len()
    );
    if let Some(path) = &file.path {
        println!("Progress: {}", path.display());
    }
}
