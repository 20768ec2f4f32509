//! Golden, data-driven tests of the consensus core, after etcd-io/raft's `testdata/*.txt` and
//! raft-rs's `datadriven`: each file in `tests/testdata/` tells one story of the Raft paper as
//! commands and, under each, the output the real core gives — its trace events with their
//! reasons, the messages it sends, the state asked for.
//!
//! ```text
//!   # a comment: what the story shows, and the paper's section
//!   > campaign 1                          a command (see env.rs for the language)
//!   1: election timeout ...               its expected output, up to the next blank line
//!   1: sent #1 1->2 PreVote{...}
//!
//!   > stabilize
//!   ...
//! ```
//!
//! A file fails when any output differs; the failure names the file and line of each command
//! whose output changed, with a diff. After a deliberate change to the core, rewrite the
//! expectations and review them as a diff:
//!
//! ```text
//! RAFTLAB_REWRITE=1 cargo test --release --test it golden::
//! ```

mod env;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use env::Env;

/// One piece of a golden file.
enum Piece {
    /// A comment or a blank line, kept as written.
    Text(String),
    /// A command with the line it is on and the output the file expects.
    Command {
        line: usize,
        command: String,
        expected: Vec<String>,
    },
}

fn parse(path: &Path, text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut lines = text.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        if let Some(command) = line.strip_prefix("> ") {
            let mut expected = Vec::new();
            while let Some((_, out)) = lines.next_if(|(_, l)| !l.trim().is_empty()) {
                expected.push(out.to_string());
            }
            pieces.push(Piece::Command {
                line: i + 1,
                command: command.trim().to_string(),
                expected,
            });
        } else if line.trim().is_empty() || line.starts_with('#') {
            pieces.push(Piece::Text(line.to_string()));
        } else {
            panic!(
                "{}:{}: expected a `# comment`, a blank line or a `> command`, found {line:?}",
                path.display(),
                i + 1
            );
        }
    }
    pieces
}

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/testdata")
}

/// Runs `tests/testdata/<name>.txt`: fails with a diff per command whose output changed, or
/// rewrites the file when `RAFTLAB_REWRITE` is set.
fn run(name: &str) {
    let path = testdata().join(format!("{name}.txt"));
    let shown = format!("tests/testdata/{name}.txt");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{shown}: {e}"));
    let pieces = parse(&path, &text);
    let mut env = Env::new();
    let mut rewritten = String::new();
    let mut failures = String::new();
    for piece in &pieces {
        match piece {
            Piece::Text(line) => {
                rewritten.push_str(line);
                rewritten.push('\n');
            }
            Piece::Command {
                line,
                command,
                expected,
            } => {
                let actual = env.run(command);
                writeln!(rewritten, "> {command}").ok();
                for out in &actual {
                    writeln!(rewritten, "{out}").ok();
                }
                if &actual != expected {
                    writeln!(failures, "{shown}:{line}: > {command}").ok();
                    failures.push_str(&diff(expected, &actual));
                }
            }
        }
    }
    if std::env::var_os("RAFTLAB_REWRITE").is_some() {
        if rewritten != text {
            std::fs::write(&path, rewritten).unwrap_or_else(|e| panic!("{shown}: {e}"));
        }
        return;
    }
    assert!(
        failures.is_empty(),
        "the core's behaviour differs from the golden file (- expected, + actual):\n\n{failures}\n\
         If the change is intended, rewrite the expectations and review the diff:\n  \
         RAFTLAB_REWRITE=1 cargo test --release --test it golden::{name}"
    );
}

/// A line diff (longest common subsequence), with two lines of context around each change.
fn diff(expected: &[String], actual: &[String]) -> String {
    let (n, m) = (expected.len(), actual.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if expected[i] == actual[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && expected[i] == actual[j] {
            ops.push((' ', &expected[i]));
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j]) {
            ops.push(('+', &actual[j]));
            j += 1;
        } else {
            ops.push(('-', &expected[i]));
            i += 1;
        }
    }
    let near_change = |k: usize| {
        ops[k.saturating_sub(2)..(k + 3).min(ops.len())]
            .iter()
            .any(|(op, _)| *op != ' ')
    };
    let mut out = String::new();
    let mut skipped = false;
    for (k, (op, line)) in ops.iter().enumerate() {
        if near_change(k) {
            if skipped {
                out.push_str("    ...\n");
                skipped = false;
            }
            writeln!(out, "  {op} {line}").ok();
        } else {
            skipped = true;
        }
    }
    out.push('\n');
    out
}

/// One test per golden file, so that `cargo test golden::figure_8` runs one story.
macro_rules! golden_files {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run(stringify!($name));
            }
        )*

        /// Every file listed above.
        const FILES: &[&str] = &[$(stringify!($name)),*];
    };
}

golden_files! {
    check_quorum_leader_steps_down,
    check_quorum_lease_ignores_disruptive_vote,
    commit_needs_a_majority,
    election_basic,
    election_higher_term_deposes_leader,
    election_restriction,
    election_split_vote,
    figure_7_a,
    figure_7_b,
    figure_7_c,
    figure_7_d,
    figure_7_e,
    figure_7_f,
    figure_8,
    follower_forwards_no_proposals,
    heartbeats_and_commit_propagation,
    install_snapshot,
    install_snapshot_in_chunks,
    learner_never_votes,
    leader_transfer,
    leader_transfer_aborts,
    leader_transfer_catches_up_target,
    log_repair_conflict_term_hint,
    membership_add_and_promote,
    membership_remove_leader,
    membership_remove_follower,
    partitioned_leader_rejoins,
    persistence_restart,
    pre_vote_disrupted_leader_without,
    pre_vote_rejoining_node,
    read_index,
    read_index_deposed_leader,
    stale_term_messages,
    unsafe_commit_by_counting,
    unsafe_forget_vote,
    unsafe_vote_without_log_check,
}

/// A file in `tests/testdata/` that no test runs would rot unnoticed.
#[test]
fn every_golden_file_has_a_test() {
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(testdata()).expect("tests/testdata") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "txt") {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if !FILES.contains(&stem) {
                missing.push(stem.to_string());
            }
        }
    }
    assert!(
        missing.is_empty(),
        "add these files to golden_files! in tests/it/golden.rs: {missing:?}"
    );
}
