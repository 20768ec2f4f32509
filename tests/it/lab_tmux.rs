//! The lab dashboard (`raftlab --engine sim`) driven in tmux as a learner does, at a reading
//! pace: the header names the engine, a key acts, going back and acting makes a second branch
//! while the first is kept, `:branches` lists both, `:share` prints a string on the way out
//! that opens the same run, and the terminal is given back.

use std::time::Duration;

use raftlab::engine::sim::Run;

use crate::common::tmux::{sh_quote, Tmux};

const TARGET: &str = "lab";

/// A person reads the screen for a moment between keys.
fn read() {
    std::thread::sleep(Duration::from_millis(400));
}

fn has(screen: &str, text: &str) -> Result<(), String> {
    if screen.contains(text) {
        Ok(())
    } else {
        Err(format!("no {text:?} on the screen"))
    }
}

#[test]
fn the_lab_acts_rewinds_forks_and_shares() {
    let _real_time = crate::common::real_time();
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let script = format!(
        "{} --engine sim --nodes 3 --seed 4 --theme mono; echo EXITED $?; sleep 3600",
        sh_quote(bin)
    );
    let tmux = Tmux::start("lab", TARGET, (120, 40), &script);

    // 1. The header says which engine runs; a leader is elected in simulated time.
    tmux.wait_for("1. the lab's header and a leader", |s| {
        has(s, "LAB")?;
        let header = s.lines().next().unwrap_or("");
        if header.contains("leader none") || !header.contains("leader") {
            return Err(format!("no leader yet: {header}"));
        }
        Ok(())
    });
    read();

    // 2. Pause, then a key acts: node 2 is killed at the slider's moment.
    tmux.press("Space");
    tmux.wait_for("2. paused", |s| has(s, "paused"));
    tmux.press("2");
    tmux.press("k");
    tmux.wait_for("2. the kill's outcome", |s| has(s, "killed node 2"));
    read();

    // 3. Back three seconds and write: a new branch, the first one kept.
    for _ in 0..3 {
        tmux.press("Left");
    }
    read();
    tmux.press("w");
    tmux.wait_for("3. a new branch", |s| has(s, "a new branch 2"));
    tmux.wait_for("3. the header names branch 2", |s| {
        let header = s.lines().next().unwrap_or("");
        if header.contains("b2") || header.contains("branch 2/2") {
            Ok(())
        } else {
            Err(format!("header: {header}"))
        }
    });
    read();

    // 4. :branches lists both; :branch 1 goes back to the first, where node 2 is down.
    tmux.press(":");
    tmux.type_text("branches");
    tmux.press("Enter");
    tmux.wait_for("4. the branches", |s| has(s, "▸2 from 1 at"));
    read();
    tmux.press(":");
    tmux.type_text("branch 1");
    tmux.press("Enter");
    tmux.wait_for("4. back on branch 1", |s| has(s, "on branch 1"));
    read();

    // 5. :share, then q: the string is printed once the terminal is back, and opens the run.
    tmux.press(":");
    tmux.type_text("share");
    tmux.press("Enter");
    tmux.wait_for("5. the share note", |s| has(s, "printed when you leave"));
    tmux.press("q");
    let screen = tmux.wait_for("5. the dashboard left", |s| {
        has(s, "EXITED 0")?;
        Ok(s.to_string())
    });
    // The string may wrap over several lines of the pane: join the pane's history.
    let history = tmux.run(&["capture-pane", "-p", "-J", "-S", "-200", "-t", TARGET]);
    let line = history
        .lines()
        .find(|l| l.trim_start().starts_with("raftlab-run-"))
        .unwrap_or_else(|| panic!("no share string printed:\n{screen}"));
    let run = Run::from_share(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(run.settings.seed, 4);
    let actions: Vec<String> = run.actions.iter().map(|t| t.action.to_string()).collect();
    assert_eq!(actions, ["kill 2"], "branch 1's run");
    // The alternate screen is gone: no dashboard frame remains.
    assert!(!screen.contains("┌ cluster"), "{screen}");
}
