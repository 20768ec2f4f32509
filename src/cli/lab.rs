//! `raftlab lab` (and `raftlab --engine sim`): a run (from a file, a share string, or flags)
//! opened on the sim engine's dashboard, or played and printed with `--headless`.
//!
//! ```text
//!   FILE | --run STRING | flags ─► Run (+ --do actions) ─► --save FILE, --share
//!        ├─► TimeMachine ─► tui::lab (plays as it goes; keys act; rewind, branches)
//!        └─► --headless / --record FILE: record::record_run(run, for) (frames, events, notes)
//!              --headless: outcomes, end state, safety verdict on stdout (exit 1 if broken)
//! ```
//!
//! Everything is read and checked before the terminal is touched: a bad file, string, flag or
//! action is one line on stderr and exit 2.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use super::args::LabArgs;
use crate::engine::sim::travel::TimeMachine;
use crate::engine::sim::{Run, RunError, Settings, Timed, MAX_LENGTH};
use crate::record::{record_run, Played};

/// Runs `raftlab lab`.
pub fn main(args: LabArgs) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("raftlab lab: {e}");
        ExitCode::from(2)
    };
    let run = match build_run(&args) {
        Ok(r) => r,
        Err(e) => return fail(&e),
    };
    let until = args.play_for.unwrap_or_else(|| default_length(&run));
    if until > MAX_LENGTH {
        return fail(&format!(
            "a lab run plays at most {} s of simulated time (asked for {} s): choose --for or \
             earlier actions",
            MAX_LENGTH.as_secs(),
            until.as_secs()
        ));
    }
    if let Some(path) = &args.save {
        if let Err(e) = std::fs::write(path, run.to_file()) {
            return fail(&format!("cannot write {}: {e}", path.display()));
        }
        eprintln!("raftlab lab: saved the run to {}", path.display());
    }
    if args.share {
        println!("{}", run.share());
    }
    let title = title(&run);
    if args.headless || args.record.is_some() {
        let played = match record_run(run.clone(), until, &title) {
            Ok(p) => p,
            Err(e) => return fail(&e),
        };
        if let Some(path) = &args.record {
            if let Err(e) = std::fs::write(path, &played.recording) {
                return fail(&format!("cannot write {}: {e}", path.display()));
            }
        }
        if args.headless {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(report(&played).as_bytes());
            return if played.ending.broken.is_some() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            };
        }
    }
    if args.share && !std::io::stdout().is_terminal() {
        // The string went to a pipe: that was the point.
        return ExitCode::SUCCESS;
    }
    open(run, title, args.theme)
}

/// Opens the lab dashboard on `run`, playing from moment 0 (its actions happen as their
/// moments come).
pub fn open(run: Run, title: String, theme: Option<super::ThemeArg>) -> ExitCode {
    let fail = |e: &dyn std::fmt::Display| {
        eprintln!("raftlab lab: {e}");
        ExitCode::from(2)
    };
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return fail(&"the dashboard needs a terminal (--headless prints the run instead)");
    }
    let loaded = match super::config::load_or_exit() {
        Ok(l) => l,
        Err(code) => return code,
    };
    let mut config = loaded.config;
    super::config::apply_theme_flag(&mut config, theme);
    crate::tui::action::install(loaded.keymap);
    let machine = match TimeMachine::new(run) {
        Ok(m) => m,
        Err(e) => return fail(&e),
    };
    super::run_async(
        None,
        crate::tui::lab::run(machine, title, super::config::theme(&config)),
    )
}

/// The runs built into the binary (`assets/lab/`), by name: `raftlab lab figure-8`.
pub const BUILTIN: [(&str, &str); 3] = [
    ("figure-8", include_str!("../../assets/lab/figure-8.json")),
    (
        "forget-vote",
        include_str!("../../assets/lab/forget-vote.json"),
    ),
    (
        "vote-without-log-check",
        include_str!("../../assets/lab/vote-without-log-check.json"),
    ),
];

/// The run the flags ask for: a file's (or a built-in run's), a string's, or a new one; plus
/// the `--do` actions.
pub fn build_run(args: &LabArgs) -> Result<Run, String> {
    let builtin = args.file.as_ref().and_then(|path| {
        let name = path.to_str()?;
        (!path.exists())
            .then(|| BUILTIN.iter().find(|(n, _)| *n == name))
            .flatten()
    });
    let mut run = if let Some((name, text)) = builtin {
        Run::from_file(text).map_err(|e| format!("built-in run {name}: {e}"))?
    } else if let Some(path) = &args.file {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Run::from_file(&text).map_err(|e| format!("{}: {e}", path.display()))?
    } else if let Some(s) = &args.run {
        Run::from_share(s).map_err(|e| format!("--run: {e}"))?
    } else {
        Run::new(Settings {
            nodes: args.nodes as usize,
            seed: args.seed,
            preset: args.preset,
            paper: args.paper,
            unsafe_rules: args.unsafe_rules.clone(),
            max_append: args.max_append,
        })
    };
    for text in &args.actions {
        let t: Timed = text
            .parse()
            .map_err(|e: RunError| format!("--do {text:?}: {e}"))?;
        run.actions.push(t);
    }
    run.validate().map_err(|e| e.to_string())?;
    Ok(run)
}

/// 10 s past the last action, at least 30 s.
fn default_length(run: &Run) -> Duration {
    let last = run.actions.last().map_or(Duration::ZERO, Timed::at);
    (last + Duration::from_secs(10)).max(Duration::from_secs(30))
}

/// `lab · 5 nodes · seed 1 · teach`.
pub fn title(run: &Run) -> String {
    let s = &run.settings;
    let mut t = format!(
        "lab · {} nodes · seed {} · {}",
        s.nodes,
        s.seed,
        s.preset.as_str()
    );
    if !s.unsafe_rules.is_empty() {
        t.push_str(&format!(" · UNSAFE {}", s.unsafe_rules.join(",")));
    }
    t
}

/// What `--headless` prints: each action's outcome, the end state of every node, the verdict.
pub fn report(played: &Played) -> String {
    let mut out = String::new();
    for (at, text) in &played.notes {
        out.push_str(&format!("{:>8.3}s  {text}\n", at.as_secs_f64()));
    }
    if let Some(last) = &played.last {
        out.push_str(&format!("at {:.3}s:\n", last.at.as_secs_f64()));
        for n in &last.status.nodes {
            let st = &n.status;
            let kv: Vec<String> = last
                .kv
                .get(&n.id)
                .map(|kv| kv.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            out.push_str(&format!(
                "  node {} {:<9} term {:>2}  last {:>3}  commit {:>3}  kv {{{}}}\n",
                n.id,
                if n.up { st.role.as_str() } else { "down" },
                st.term,
                st.last_log_index,
                st.commit,
                kv.join(", ")
            ));
        }
    }
    match &played.ending.broken {
        Some(b) => out.push_str(&format!(
            "SAFETY BROKEN at {:.3}s — {}\n",
            b.at.as_secs_f64(),
            b.what
        )),
        None => out.push_str(
            "safety: Election Safety, Log Matching, Leader Completeness and State Machine \
             Safety held after every step\n",
        ),
    }
    out
}
