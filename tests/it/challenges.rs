//! Every challenge of `assets/challenges/` is reachable through prompt commands, and a plausible
//! wrong attempt (or doing nothing) does not reach it; the progress file and the listing.
//!
//! Each test starts the challenge's cluster in this process, runs the challenge's watcher
//! (`scenario::challenge::run`, as the dashboard does), and drives the cluster with the same
//! [`Executor`] the prompt uses: the attempt is written as scenario steps (prompt commands and
//! waits) and run by the scenario runner. The fast preset is used where the story does not need
//! messages visibly in flight; split-vote and lost-commit need the teaching preset's link delays.

use std::time::Duration;

use raftlab::check::History;
use raftlab::cluster::{Cluster, Preset};
use raftlab::command::executor::Executor;
use raftlab::scenario::challenge::{self, ChallengeReport};
use raftlab::scenario::{self, runner};
use tokio::sync::mpsc;
use tokio::time::Instant;

/// How a test expects an attempt to end.
enum Expect {
    /// The goal is reached within this long after the attempt's steps.
    Solved(Duration),
    /// The goal is not reached, watching this long after the attempt's steps.
    NotSolved(Duration),
}

/// Runs challenge `name` on its cluster (with `preset` instead of its own, if given), then the
/// attempt `steps` (scenario `[[step]]`s), and checks the watcher's verdict.
async fn attempt(name: &str, preset: Option<Preset>, steps: &str, expect: Expect) {
    let _real_time = crate::common::real_time();
    let started = Instant::now();
    let ch = challenge::load(name).unwrap_or_else(|e| panic!("{e}"));
    let config = ch.cluster_config(preset);
    let preset = config.preset;
    let cluster = Cluster::start(config).await.expect("cluster starts");
    let handle = cluster.handle();
    let history = History::new();
    let (results_tx, mut results_rx) = mpsc::channel(256);
    let drain = tokio::spawn(async move {
        let mut lines = Vec::new();
        while let Some(line) = results_rx.recv().await {
            lines.push(line);
        }
        lines
    });
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let watcher = {
        let (ch, handle, history) = (ch.clone(), handle.clone(), history.clone());
        let mut executor = Executor::new(handle.clone(), history.clone(), results_tx.clone());
        tokio::spawn(async move {
            challenge::run(&ch, &handle, &mut executor, &history, &reports_tx).await
        })
    };
    let mut seen = Vec::new();
    // The setup: until the watcher watches.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match tokio::time::timeout_at(deadline, reports.recv()).await {
            Ok(Some(ChallengeReport::Watching)) => break,
            Ok(Some(ChallengeReport::Failed(why))) => panic!("{name}: setup failed: {why}"),
            Ok(Some(r)) => seen.push(format!("{r:?}")),
            Ok(None) | Err(_) => panic!("{name}: the setup did not finish: {seen:?}"),
        }
    }
    // The attempt, through the prompt's executor.
    let text = format!(
        "title = \"attempt\"\n[cluster]\nnodes = {}\npreset = \"{}\"\n{steps}",
        ch.nodes,
        preset.as_str()
    );
    let script =
        scenario::parse(&format!("{name} attempt"), &text).unwrap_or_else(|e| panic!("{e}"));
    let mut executor = Executor::new(handle.clone(), history.clone(), results_tx.clone());
    drop(results_tx);
    let (run_tx, mut run_rx) = mpsc::unbounded_channel();
    let verdict = runner::run(&script, &handle, &mut executor, &run_tx, None).await;
    let mut log = String::new();
    while let Ok(r) = run_rx.try_recv() {
        log.push_str(&format!("  {r:?}\n"));
    }
    assert!(
        verdict.passed(),
        "{name}: the attempt itself went wrong: {:?}\n{log}",
        verdict.failure
    );
    let (wait, want) = match expect {
        Expect::Solved(d) => (d, true),
        Expect::NotSolved(d) => (d, false),
    };
    let until = Instant::now() + wait;
    let mut solved = None;
    while solved.is_none() {
        match tokio::time::timeout_at(until, reports.recv()).await {
            Ok(Some(ChallengeReport::Solved(took))) => solved = Some(took),
            Ok(Some(r)) => seen.push(format!("{r:?}")),
            Ok(None) | Err(_) => break,
        }
    }
    watcher.abort();
    let state = if want != solved.is_some() {
        where_it_stood(&handle).await
    } else {
        String::new()
    };
    cluster.shutdown().await;
    drain.abort();
    let last: Vec<&String> = seen.iter().rev().take(4).collect();
    match (want, solved) {
        (true, None) => panic!(
            "{name}: not solved within {} s after the attempt; last reports: {last:?}\n{log}{state}",
            wait.as_secs()
        ),
        (false, Some(took)) => panic!(
            "{name}: the wrong attempt solved it after {} s\n{log}{state}",
            took.as_secs()
        ),
        _ => {}
    }
    println!(
        "{name}: {} in {:.1} s",
        if want { "solved" } else { "not solved" },
        started.elapsed().as_secs_f64()
    );
}

/// Each node's role, term, vote, commit and log terms: where the cluster stood when an attempt
/// ended the wrong way, for the failure message.
async fn where_it_stood(handle: &raftlab::cluster::ClusterHandle) -> String {
    let mut out = String::from("where the cluster stood:\n");
    for node in handle.status().nodes {
        let st = &node.status;
        let terms = match handle.log_terms(node.id, 1, st.last_log_index).await {
            Ok(t) => format!("{t:?}"),
            Err(e) => e.to_string(),
        };
        out.push_str(&format!(
            "  node {} up {}: {:?} term {} vote {:?} commit {} log (index, term) {terms}\n",
            node.id, node.up, st.role, st.term, st.voted_for, st.commit
        ));
    }
    out
}

fn solved() -> Expect {
    Expect::Solved(Duration::from_secs(40))
}

// ---------------------------------------------------------------------------------------------
// split-vote (§5.2): the teaching preset's link delays let two candidates reach different voters.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_vote_is_reached_by_two_campaigns_over_slow_links() {
    attempt(
        "split-vote",
        None,
        r#"
[[step]]
do = ["link 2 5 delay 3s", "link 3 4 delay 3s", "kill 1", "campaign 2", "campaign 3"]
wait = "count candidate >= 2"
within = "20s"
"#,
        solved(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn split_vote_is_not_reached_with_the_leader_still_voting() {
    // Three voters split between two candidates: one candidate always gets two of them (once
    // every log holds the setup's entry, so that the leader grants its vote too).
    attempt(
        "split-vote",
        None,
        r#"
[[step]]
wait = "commit all >= 1 and logs agree"
within = "20s"
[[step]]
do = ["campaign 2", "campaign 3"]
wait = "leader and leader != 1"
within = "30s"
"#,
        Expect::NotSolved(Duration::from_secs(5)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// two-leaders (§5.2): an isolated leader of the paper's rules keeps believing it leads.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_leaders_are_reached_by_isolating_the_leader() {
    attempt(
        "two-leaders",
        Some(Preset::Fast),
        r#"
[[step]]
do = "isolate 1"
wait = "leader != 1"
within = "20s"
"#,
        solved(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_leaders_are_not_reached_by_killing_the_leader() {
    attempt(
        "two-leaders",
        Some(Preset::Fast),
        r#"
[[step]]
do = "kill 1"
wait = "leader != 1"
within = "20s"
[[step]]
do = "restart 1"
wait = "node 1 is follower"
within = "20s"
"#,
        Expect::NotSolved(Duration::from_secs(3)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// doomed-write (§5.3): a write appended by a leader the majority has left behind.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doomed_write_is_reached_by_writing_to_an_isolated_leader() {
    attempt(
        "doomed-write",
        Some(Preset::Fast),
        r#"
[[step]]
let = "k = last 1"
do = ["isolate 1", "put y 2"]
wait = "last 1 > {k} and leader != 1"
within = "20s"
"#,
        solved(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_doomed_write_is_not_reached_by_writing_before_the_isolation() {
    attempt(
        "doomed-write",
        Some(Preset::Fast),
        r#"
[[step]]
do = "put y 2"
wait = "ops done and commit 1 == last 1"
within = "20s"
[[step]]
do = "isolate 1"
wait = "leader != 1"
within = "20s"
"#,
        Expect::NotSolved(Duration::from_secs(3)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// log-repair (§5.3): three writes on a cut-off leader, replaced at the heal.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_repair_is_reached_by_three_writes_to_a_cut_off_leader() {
    attempt(
        "log-repair",
        Some(Preset::Fast),
        r#"
[[step]]
let = "k = last 1"
do = ["isolate 1", "put a 1", "put b 2", "put c 3"]
wait = "last 1 >= {k+3} and leader != 1"
within = "20s"
[[step]]
do = "put d 4"
wait = "ops done"
within = "30s"
[[step]]
do = "heal"
"#,
        solved(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_repair_is_not_reached_by_a_follower_that_was_down() {
    attempt(
        "log-repair",
        Some(Preset::Fast),
        r#"
[[step]]
do = ["kill 3", "put a 1", "put b 2", "put c 3"]
wait = "ops done"
within = "30s"
[[step]]
do = "restart 3"
wait = "log 3 == leader"
within = "20s"
"#,
        Expect::NotSolved(Duration::from_secs(3)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// snapshot-catch-up (§7): a follower down while the leader compacts.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_catch_up_is_reached_by_missing_a_compaction() {
    attempt(
        "snapshot-catch-up",
        Some(Preset::Fast),
        r#"
[[step]]
do = "kill 3"
[[step]]
do = "write"
repeat = 12
wait = "ops done and snapshot 1 >= 10"
within = "30s"
[[step]]
do = "restart 3"
wait = "log 3 == leader"
within = "20s"
"#,
        solved(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_catch_up_is_not_reached_by_a_short_absence() {
    attempt(
        "snapshot-catch-up",
        Some(Preset::Fast),
        r#"
[[step]]
do = "kill 3"
[[step]]
do = "write"
repeat = 3
wait = "ops done"
within = "30s"
[[step]]
do = "restart 3"
wait = "log 3 == leader"
within = "20s"
"#,
        Expect::NotSolved(Duration::from_secs(3)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// hand-over (thesis §3.10): transfer, not a kill.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_over_is_reached_by_a_transfer() {
    attempt(
        "hand-over",
        Some(Preset::Fast),
        r#"
[[step]]
do = "transfer 3"
"#,
        solved(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_over_is_not_reached_by_killing_the_leader_until_node_3_wins() {
    attempt(
        "hand-over",
        Some(Preset::Fast),
        r#"
[[step]]
do = ["kill 1", "campaign 3"]
wait = "leader"
within = "20s"
[[step]]
do = "restart 1"
"#,
        Expect::NotSolved(Duration::from_secs(3)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// lost-commit (§5.4.2): Figure 8 on three nodes with commit-by-counting, by hand. An extra
// 600 ms on the link from 1 to 2 leaves time to cut node 1 off after it counts y committed and
// before its next entry reaches node 2.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_commit_is_reached_by_figure_8() {
    attempt(
        "lost-commit",
        None,
        r#"
[[step]]
# Node 1's no-op entry must be on both others first: a node 3 without it could not win node
# 2's vote in (b), and node 2 would take the term itself.
wait = "logs agree"
within = "20s"
[[step]]
let = "k = last 1"
do = ["kill 2", "kill 3", "put y 2"]
wait = "last 1 > {k}"
within = "20s"
[[step]]
do = ["kill 1", "restart 2", "restart 3"]
wait = "node 2 is up and node 3 is up"
within = "20s"
[[step]]
do = "campaign 3"
wait = "vote 2 == 3"
within = "20s"
[[step]]
# Node 3's messages to node 1 are cut too: node 1 is down, but a message still in flight when it
# restarts would bring it node 3's entry.
do = ["link 3 2 cut", "link 3 1 cut"]
wait = "leader 3"
within = "20s"
[[step]]
do = "kill 3"
assert = "last 2 == {k}"
[[step]]
# 600 ms more on the link from 1 to 2: node 1's next entry, of its own term, sent the moment node 2
# acknowledges y, is still in flight when the test sees the commit and cuts node 1 off.
do = ["link 1 2 delay 600ms", "restart 1", "campaign 1"]
wait = "commit 1 > {k}"
within = "60s"
[[step]]
do = "isolate 1"
assert = "commit 2 <= {k}"
[[step]]
do = ["restart 3", "link 3 2 up", "campaign 3"]
"#,
        Expect::Solved(Duration::from_secs(60)),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_commit_is_not_reached_by_crashing_a_leader_after_a_write() {
    attempt(
        "lost-commit",
        Some(Preset::Fast),
        r#"
[[step]]
do = "put y 2"
wait = "ops done"
within = "20s"
[[step]]
do = "kill 1"
wait = "leader"
within = "20s"
[[step]]
do = "restart 1"
wait = "log 1 == leader"
within = "20s"
"#,
        Expect::NotSolved(Duration::from_secs(3)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// stale-read (§6.4): a read answered by the old leader's own state.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_read_is_reached_by_reading_from_an_old_leader() {
    attempt(
        "stale-read",
        Some(Preset::Fast),
        r#"
[[step]]
do = "put x 1"
wait = "ops done and applied all >= 2"
within = "20s"
[[step]]
do = "isolate 1"
wait = "leader != 1"
within = "20s"
[[step]]
let = "n = leader"
do = "put x 2"
wait = "ops done and kv {n} x == 2"
within = "20s"
assert = "last op ok"
[[step]]
do = ["kill {n}", "get x"]
wait = "ops done"
within = "20s"
"#,
        solved(),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stale_read_is_not_reached_by_reading_from_the_new_leader() {
    attempt(
        "stale-read",
        Some(Preset::Fast),
        r#"
[[step]]
do = "put x 1"
wait = "ops done and applied all >= 2"
within = "20s"
[[step]]
do = "isolate 1"
wait = "leader != 1"
within = "20s"
[[step]]
let = "n = leader"
do = "put x 2"
wait = "ops done and kv {n} x == 2"
within = "20s"
[[step]]
do = "get x"
wait = "ops done"
within = "20s"
assert = "last op ok"
"#,
        Expect::NotSolved(Duration::from_secs(3)),
    )
    .await;
}

// ---------------------------------------------------------------------------------------------
// The listing and the progress file, through the command line.

/// `raftlab challenge` with RAFTLAB_HOME in `home`: (exit code, stdout, stderr).
fn raftlab_challenge(home: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .arg("challenge")
        .args(args)
        .env("RAFTLAB_HOME", home)
        .output()
        .expect("run raftlab challenge");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_listing_shows_every_challenge_and_marks_the_solved_ones() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, out, err) = raftlab_challenge(home.path(), &[]);
    assert_eq!(code, 0, "{err}");
    assert!(err.is_empty(), "{err}");
    for (name, _) in challenge::BUILTIN {
        assert!(out.contains(name), "{name} missing from:\n{out}");
    }
    assert!(!out.contains('✓'), "nothing is solved yet:\n{out}");
    assert!(challenge::BUILTIN.len() >= 8);

    let file = home.path().join("data").join("challenges.json");
    let mut progress = challenge::progress::ProgressFile::open(&file);
    progress.record_try("two-leaders").expect("saved");
    progress
        .record_solved("two-leaders", Duration::from_secs(12))
        .expect("saved");
    let (code, out, _) = raftlab_challenge(home.path(), &[]);
    assert_eq!(code, 0);
    let line = out
        .lines()
        .find(|l| l.contains("two-leaders"))
        .expect("listed");
    assert!(line.contains('✓'), "{line}");
    let other = out
        .lines()
        .find(|l| l.contains("split-vote"))
        .expect("listed");
    assert!(!other.contains('✓'), "{other}");
}

#[test]
fn a_corrupt_progress_file_gives_one_warning_and_is_kept() {
    let home = tempfile::tempdir().expect("temp dir");
    let data = home.path().join("data");
    std::fs::create_dir_all(&data).expect("mkdir");
    let file = data.join("challenges.json");
    std::fs::write(&file, "{\"challenges\": [oops").expect("write");
    let (code, out, err) = raftlab_challenge(home.path(), &[]);
    assert_eq!(code, 0, "the listing still works: {err}");
    assert!(out.contains("split-vote"));
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.contains("unreadable"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "{\"challenges\": [oops",
        "the file is left as it was"
    );
}

#[test]
fn an_unknown_challenge_is_a_one_line_error() {
    let home = tempfile::tempdir().expect("temp dir");
    let (code, _, err) = raftlab_challenge(home.path(), &["no-such-one"]);
    assert_eq!(code, 2);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("split-vote"), "{err}");
}
