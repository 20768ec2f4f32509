//! Every scenario in `assets/scenarios/` runs headless on a real cluster and passes; a scenario
//! whose condition is false fails, with the state that contradicts it; the CLI's exit codes.
//!
//! The scenarios run at teaching speed (their own preset), so each takes 5 to 30 seconds; their
//! waits have generous limits for a loaded machine.

use std::process::Command;

use raftlab::cli::scenario::run_headless;
use raftlab::scenario::runner::{RunReport, Verdict};
use raftlab::scenario::{self, Scenario};
use tokio::sync::mpsc;

/// Runs a scenario headless; returns its verdict and every report line (for failure messages).
fn run(s: &Scenario) -> (Verdict, String) {
    let (verdict, log, _) = run_told(s);
    (verdict, log)
}

/// Runs a scenario headless; returns its verdict, every report line, and each step's narration
/// as the runner showed it (step number, text).
fn run_told(s: &Scenario) -> (Verdict, String, Vec<(usize, Option<String>)>) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let collect = tokio::spawn(async move {
            let mut log = String::new();
            let mut told = Vec::new();
            while let Some(r) = rx.recv().await {
                match r {
                    RunReport::Step {
                        number,
                        describe,
                        say,
                        ..
                    } => {
                        log.push_str(&format!("[{number}] {describe}\n"));
                        told.push((number, say));
                    }
                    RunReport::Line { ok, text } => {
                        log.push_str(&format!("  {} {text}\n", if ok { "ok" } else { "!!" }))
                    }
                    RunReport::WaitingForUser | RunReport::Finished(_) => {}
                }
            }
            (log, told)
        });
        let verdict = run_headless(s, tx, None).await.expect("cluster starts");
        let (log, told) = collect.await.expect("collector");
        (verdict, log, told)
    })
}

/// Runs a built-in scenario headless: every step passes, and every step's narration, as the
/// runner showed it, is there with each placeholder filled in.
fn passes(name: &str) {
    let s = scenario::load(name).unwrap_or_else(|e| panic!("{e}"));
    let (verdict, log, told) = run_told(&s);
    assert!(
        verdict.passed(),
        "scenario {name} failed: {:?}\n{log}",
        verdict.failure
    );
    assert_eq!(verdict.steps_done, s.steps.len());
    let numbers: Vec<usize> = told.iter().map(|(n, _)| *n).collect();
    assert_eq!(numbers, (1..=s.steps.len()).collect::<Vec<_>>(), "{name}");
    for (number, say) in told {
        let say = say.unwrap_or_else(|| panic!("{name}: step {number} has no narration"));
        assert!(
            !say.contains(['{', '}']),
            "{name}: step {number}'s narration has a placeholder left: {say}"
        );
    }
}

/// The rule of docs/scenarios.md ("Narration"), for every built-in scenario: every step has
/// its own text (and so, guided, its own stop), the text names the nodes, keys and remembered
/// values its commands touch, and with any values in place of the placeholders, no brace is
/// left.
#[test]
fn every_builtin_step_tells_what_it_does() {
    let mut problems = Vec::new();
    for s in scenario::builtin() {
        let s = s.unwrap_or_else(|e| panic!("{e}"));
        for p in scenario::untold(&s) {
            problems.push(format!("{}: {p}", s.name));
        }
        for (i, step) in s.steps.iter().enumerate() {
            let Some(say) = &step.say else { continue };
            let filled = raftlab::scenario::condition::substitute(say, &|_| Some(7))
                .map(|f| f.line)
                .unwrap_or_else(|e| panic!("{} step {}: {e}", s.name, i + 1));
            if filled.contains(['{', '}']) {
                problems.push(format!(
                    "{} step {}: a brace is left: {filled}",
                    s.name,
                    i + 1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn leader_election() {
    let _real_time = crate::common::real_time();
    passes("leader-election");
}

#[test]
fn leader_crash() {
    let _real_time = crate::common::real_time();
    passes("leader-crash");
}

#[test]
fn split_vote() {
    let _real_time = crate::common::real_time();
    passes("split-vote");
}

#[test]
fn stale_leader() {
    let _real_time = crate::common::real_time();
    passes("stale-leader");
}

#[test]
fn log_repair() {
    let _real_time = crate::common::real_time();
    passes("log-repair");
}

#[test]
fn figure_8() {
    let _real_time = crate::common::real_time();
    passes("figure-8");
}

#[test]
fn slow_follower() {
    let _real_time = crate::common::real_time();
    passes("slow-follower");
}

#[test]
fn exactly_once() {
    let _real_time = crate::common::real_time();
    passes("exactly-once");
}

#[test]
fn snapshots() {
    let _real_time = crate::common::real_time();
    passes("snapshots");
}

/// Every file in assets/scenarios is built in (and so tested above), and every built-in has
/// its file.
#[test]
fn every_scenario_file_is_built_in_and_tested() {
    let _real_time = crate::common::real_time();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/assets/scenarios");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .expect("assets/scenarios")
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            name.strip_suffix(".toml").map(str::to_string)
        })
        .collect();
    files.sort();
    let mut builtin: Vec<String> = scenario::BUILTIN
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    builtin.sort();
    assert_eq!(files, builtin);
    assert!(builtin.len() >= 9);
}

#[test]
fn a_false_wait_times_out_and_says_what_it_saw() {
    let _real_time = crate::common::real_time();
    let s = scenario::parse(
        "doomed",
        r#"
title = "doomed"
[cluster]
nodes = 3
preset = "fast"
[[step]]
wait = "leader"
within = "20s"
[[step]]
let = "t = term leader"
wait = "term > {t+1000}"
within = "1s"
[[step]]
say = "never reached"
"#,
    )
    .expect("parses");
    let (verdict, log) = run(&s);
    let (step, why) = verdict.failure.clone().expect("the wait must time out");
    assert_eq!(step, 2, "{log}");
    assert!(why.contains("still false after 1.0 s"), "{why}");
    assert!(why.contains("has term"), "{why}");
    assert_eq!(verdict.steps_done, 1);
}

#[test]
fn a_false_assertion_fails_the_scenario() {
    let _real_time = crate::common::real_time();
    let s = scenario::parse(
        "doomed",
        r#"
title = "doomed"
[cluster]
nodes = 3
preset = "fast"
[[step]]
wait = "leader"
within = "20s"
assert = "count leader == 2"
"#,
    )
    .expect("parses");
    let (verdict, log) = run(&s);
    let (step, why) = verdict.failure.clone().expect("the assertion must fail");
    assert_eq!(step, 1, "{log}");
    assert!(why.contains("assert count leader == 2: false"), "{why}");
}

#[test]
fn a_failing_command_fails_the_scenario() {
    let _real_time = crate::common::real_time();
    let s = scenario::parse(
        "doomed",
        "title = \"d\"\n[cluster]\npreset = \"fast\"\n[[step]]\ndo = [\"kill 2\", \"kill 2\"]\n",
    )
    .expect("parses");
    let (verdict, _) = run(&s);
    let (_, why) = verdict.failure.expect("killing a dead node is an error");
    assert!(why.contains("kill 2"), "{why}");
}

#[test]
fn the_cli_exits_1_on_failure_and_2_on_a_bad_file() {
    let _real_time = crate::common::real_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "title = \"x\"\n[[step]]\nwait = \"leader is banana\"\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(["scenario", "--headless"])
        .arg(&bad)
        .output()
        .expect("run raftlab");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("step 1") && err.contains("banana"), "{err}");

    let failing = dir.path().join("failing.toml");
    std::fs::write(
        &failing,
        "title = \"x\"\n[cluster]\npreset = \"fast\"\n[[step]]\nwait = \"leader\"\nwithin = \"20s\"\nassert = \"term > 1000\"\n",
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(["scenario", "--headless"])
        .arg(&failing)
        .output()
        .expect("run raftlab");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL failing at step 1/1"), "{stdout}");

    let out = Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(["scenario", "--list"])
        .output()
        .expect("run raftlab");
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    for (name, _) in scenario::BUILTIN {
        assert!(stdout.contains(name), "{name} not listed");
    }
}
