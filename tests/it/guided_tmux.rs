//! Every built-in scenario, guided, as a learner reads it: `raftlab scenario NAME --guided` in a
//! 120×40 tmux pane, 5 s of reading at every `▶ Enter` stop, then Enter. Each must end with
//! `✓ done: N/N steps`. At every stop the test also checks what the learner sees: the stops
//! come in order (1/N, 2/N, ...), the header says `PAUSED` and the node table does not change
//! while the learner reads (time stands still), the footer names `Enter next step` first, and
//! the narration has no `{placeholder}` left and is not cut short.
//!
//! The scenarios run [`AT_ONCE`] at a time, each in its own session of one private tmux server:
//! time stands still at the stops, so the load of the others does not change a story, and the
//! waits between stops have generous limits.
//!
//! Needs `tmux` on the PATH (CI's `.ci/run` installs it); without it the test fails and says so.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use raftlab::scenario;

use crate::common::tmux::{sh_quote, Tmux};

const WIDTH: usize = 120;
const HEIGHT: usize = 40;
/// How long a learner reads at each stop.
const READING: Duration = Duration::from_secs(5);
/// How long the dashboard may take to reach the next stop (a step's waits allow up to 60 s).
const STEP_DEADLINE: Duration = Duration::from_secs(150);
/// How often the screen is read while waiting.
const POLL: Duration = Duration::from_millis(200);
/// Scenarios running at the same time.
const AT_ONCE: usize = 3;

/// The narration panel at a stop: its step (number, total) and its rows (without borders).
fn narration(screen: &str, name: &str) -> Option<((usize, usize), Vec<String>)> {
    let title = format!("┌ scenario {name}: step ");
    let mut rows = screen.lines();
    let row = rows.by_ref().find(|r| r.contains(&title))?;
    let at = row.find(&title)? + title.len();
    let (number, rest) = row[at..].split_once('/')?;
    let total: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let step = (number.parse().ok()?, total.parse().ok()?);
    // The panel is the right-hand one: what is right of the last `││` boundary.
    let body = rows
        .map_while(|r| r.rsplit_once("││").map(|(_, right)| right))
        .map(|r| r.trim_end_matches('│').trim_end().to_string())
        .collect();
    Some((step, body))
}

/// The node table's rows (inside its borders): what time changes first (terms, timers,
/// indexes).
fn node_table(screen: &str) -> Vec<String> {
    let mut rows = screen.lines();
    if rows.by_ref().find(|r| r.contains("┌ nodes ")).is_none() {
        return Vec::new();
    }
    rows.map_while(|r| r.rsplit_once("││").map(|(_, right)| right.to_string()))
        .collect()
}

/// Drives one scenario from start to verdict; returns a line on how it went, or why not.
fn guide(tmux: &Tmux, name: &str, total: usize) -> Result<String, String> {
    let bin = env!("CARGO_BIN_EXE_raftlab");
    let script = format!(
        "{} scenario {name} --guided; echo EXITED $?; sleep 600",
        sh_quote(bin)
    );
    let (w, h) = (WIDTH.to_string(), HEIGHT.to_string());
    let command = format!("sh -c {}", sh_quote(&script));
    tmux.try_run(&[
        "new-session",
        "-d",
        "-s",
        name,
        "-x",
        &w,
        "-y",
        &h,
        &command,
    ])?;
    let capture = || tmux.try_run(&["capture-pane", "-p", "-t", name]);
    let framed = |screen: &str| {
        let rule = "-".repeat(WIDTH);
        format!("{rule}\n{}\n{rule}", screen.trim_end_matches('\n'))
    };
    let started = Instant::now();
    let mut stops = 0;
    loop {
        // The next stop (the one after `stops`), or the verdict.
        let deadline = Instant::now() + STEP_DEADLINE;
        let (screen, at_stop) = loop {
            let screen = capture()?;
            if screen.contains("✓ done:") || screen.contains("✗ failed at") {
                break (screen, None);
            }
            if screen.contains("EXITED") {
                return Err(format!("{name}: the dashboard exited\n{}", framed(&screen)));
            }
            if screen.contains("▶ Enter: next step") {
                if let Some(((step, _), rows)) = narration(&screen, name) {
                    if step > stops {
                        break (screen, Some((step, rows)));
                    }
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{name}: no stop after step {stops} and no verdict within {STEP_DEADLINE:?}\n{}",
                    framed(&screen)
                ));
            }
            std::thread::sleep(POLL);
        };
        let Some((step, _)) = at_stop else {
            let done = format!("✓ done: {total}/{total} steps");
            if !screen.contains(&done) || stops + 1 != total {
                return Err(format!(
                    "{name}: ended after stop {stops} of {}, without {done:?}\n{}",
                    total - 1,
                    framed(&screen)
                ));
            }
            let _ = tmux.try_run(&["send-keys", "-t", name, "q"]);
            return Ok(format!(
                "{name}: {total}/{total} steps, {stops} stops, {:.0} s",
                started.elapsed().as_secs_f64()
            ));
        };
        // What was on its way to a node when time stopped may still be taken in: look again
        // once the screen has settled.
        std::thread::sleep(Duration::from_millis(800));
        let screen = capture()?;
        let Some((_, rows)) = narration(&screen, name) else {
            return Err(format!(
                "{name}: the narration panel went away\n{}",
                framed(&screen)
            ));
        };
        // Every stop, in order.
        if step != stops + 1 {
            return Err(format!(
                "{name}: stop at step {step} after step {stops}\n{}",
                framed(&screen)
            ));
        }
        let text = rows.join("\n");
        if text.contains(['{', '}']) {
            return Err(format!("{name} step {step}: a placeholder is left\n{text}"));
        }
        if rows.iter().any(|r| r.ends_with(" …")) {
            return Err(format!(
                "{name} step {step}: the narration is cut short\n{text}"
            ));
        }
        let header = screen.lines().next().unwrap_or("");
        if !header.contains("PAUSED") {
            return Err(format!(
                "{name} step {step}: the header does not say PAUSED at a stop\n{}",
                framed(&screen)
            ));
        }
        let footer = screen.lines().last().unwrap_or("");
        if !footer.starts_with("Enter next step") {
            return Err(format!(
                "{name} step {step}: the footer does not start with the stop's key: {footer:?}"
            ));
        }
        // A learner reads; time stands still meanwhile.
        let before = node_table(&screen);
        std::thread::sleep(READING);
        let after = capture()?;
        if node_table(&after) != before {
            return Err(format!(
                "{name} step {step}: the node table changed during the stop\nbefore:\n{}\nafter:\n{}",
                before.join("\n"),
                framed(&after)
            ));
        }
        tmux.try_run(&["send-keys", "-t", name, "Enter"])?;
        stops = step;
    }
}

#[test]
fn every_scenario_guided_at_a_readers_pace_passes_every_step() {
    let _real_time = crate::common::real_time();
    // A first session starts the server, whose environment every pane inherits: the
    // dashboards' log files and config in the test's own directory.
    let tmux = Tmux::start("guided", "keep", (WIDTH, HEIGHT), "sleep 3600");

    let queue: Vec<(String, usize)> = scenario::builtin()
        .into_iter()
        .map(|s| s.unwrap_or_else(|e| panic!("{e}")))
        .map(|s| (s.name.clone(), s.steps.len()))
        .collect();
    assert!(queue.len() >= 9);
    let queue = Arc::new(Mutex::new(queue));
    let results = Arc::new(Mutex::new(Vec::new()));
    let started = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..AT_ONCE {
            let (queue, results, tmux) = (queue.clone(), results.clone(), &tmux);
            scope.spawn(move || loop {
                let next = queue.lock().unwrap_or_else(|p| p.into_inner()).pop();
                let Some((name, total)) = next else { return };
                let outcome = guide(tmux, &name, total);
                results
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(outcome);
            });
        }
    });
    let results = std::mem::take(&mut *results.lock().unwrap_or_else(|p| p.into_inner()));
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let passed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    eprintln!(
        "guided scenarios, {AT_ONCE} at a time, in {:.0} s:\n  {}",
        started.elapsed().as_secs_f64(),
        passed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    assert!(
        failed.is_empty(),
        "{} of {} guided scenarios failed (the dashboards' logs are in {}):\n\n{}",
        failed.len(),
        results.len(),
        tmux.tmp.display(),
        failed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}
