//! `raftlab replay FILE`: opens a recording (`--record FILE`) in the dashboard. The file is read
//! and checked before the terminal is touched: a bad file gets one line on stderr and exit 2.
//! With `--export OUT [--from T] [--to T]` it draws the run's space-time diagram into OUT
//! instead ([`crate::export`]), prints one line and exits, without the dashboard.

use std::io::IsTerminal;
use std::process::ExitCode;

use super::args::ReplayArgs;
use crate::record::Recording;

/// Runs `raftlab replay`.
pub fn main(args: ReplayArgs) -> ExitCode {
    if let Some(out) = &args.export {
        return export(&args, out);
    }
    // The config file gives the theme and the keys.
    let loaded = match super::config::load_or_exit() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut settings = loaded.config;
    super::config::apply_theme_flag(&mut settings, args.theme);
    let recording = match load(&args.file) {
        Ok(r) => r,
        Err(code) => return code,
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        let h = recording.header();
        eprintln!(
            "raftlab replay: the replay needs a terminal. {} holds {:.1} s of a {}-node {} \
             cluster ({}), {} frames and {} events.",
            args.file.display(),
            recording.duration().as_secs_f64(),
            h.nodes,
            h.preset.as_str(),
            h.title,
            recording.frames(),
            recording.events()
        );
        return ExitCode::from(2);
    }
    let source = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    crate::tui::action::install(loaded.keymap);
    super::run_async(
        None,
        crate::tui::replay::run(
            recording,
            source,
            args.speed,
            super::config::theme(&settings),
        ),
    )
}

/// Reads the recording, its warnings on stderr; a bad file is a line on stderr and exit 2.
fn load(file: &std::path::Path) -> Result<Recording, ExitCode> {
    let recording = Recording::load(file).map_err(|e| {
        eprintln!("raftlab replay: {}: {e}", file.display());
        ExitCode::from(2)
    })?;
    for w in recording.warnings() {
        eprintln!("raftlab replay: {}: {w}", file.display());
    }
    Ok(recording)
}

/// `raftlab replay FILE --export OUT`: writes the diagram, prints `exported OUT (size, N
/// messages)`, exit 0; any error is one line on stderr and exit 2, with nothing written.
fn export(args: &ReplayArgs, out: &std::path::Path) -> ExitCode {
    // The extension first: a typo should not wait for a large recording to load.
    if let Err(e) = crate::export::Format::of_path(out) {
        eprintln!("raftlab replay: {e}");
        return ExitCode::from(2);
    }
    let recording = match load(&args.file) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let window = crate::export::Window {
        from: args.from,
        to: args.to,
    };
    match crate::export::export(&recording, window, out) {
        Ok(done) => {
            println!("{}", done.describe());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("raftlab replay: {e}");
            ExitCode::from(2)
        }
    }
}
