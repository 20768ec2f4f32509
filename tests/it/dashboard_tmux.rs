//! The dashboard as a user drives it: the real `raftlab` binary in a 120×40 tmux pane on a
//! private tmux server, keys sent with `tmux send-keys`, the screen read with
//! `tmux capture-pane -p`. It waits for a leader, writes through the prompt and sees every node
//! apply it (and the footer's verdict on the history turn `linearizable ✓`), makes the leader take
//! a snapshot with the `S` key and sees its snap column and its compacted log prefix, kills the
//! leader by key and sees a new one elected in a higher term, partitions and heals through the
//! prompt and the `h` key, restarts the killed node and runs a short nemesis through the prompt
//! (its countdown in the footer, then convergence and a linearizable verdict), then quits and
//! checks the terminal came back (normal screen, cursor shown, mouse capture and raw mode off).
//!
//! Needs `tmux` on the PATH (CI's `.ci/run` installs it); without it the test fails and says so.

use std::collections::BTreeSet;
use std::process::Command;

use crate::common::tmux::{sh_quote, Tmux};
const WIDTH: usize = 120;
const HEIGHT: usize = 40;
/// The tmux session (and so the target of every command).
const TARGET: &str = "e2e";

/// The header row: the first row of the screen, which must be the dashboard's.
fn header(screen: &str) -> Result<&str, String> {
    let first = screen.lines().next().unwrap_or("");
    if first.starts_with(" raftlab") {
        Ok(first)
    } else {
        Err(format!("the first row is not the header: {first:?}"))
    }
}

/// The number after `word ` in `line` (`leader 3`, `term 7`), if any.
fn number_after(line: &str, word: &str) -> Option<u64> {
    let rest = &line[line.find(&format!("{word} "))? + word.len() + 1..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Leader and term as the header shows them; an error while it shows no leader.
fn leader_and_term(screen: &str) -> Result<(u64, u64), String> {
    let h = header(screen)?;
    let leader = number_after(h, "leader").ok_or_else(|| format!("no leader in {h:?}"))?;
    let term = number_after(h, "term").ok_or_else(|| format!("no term in {h:?}"))?;
    Ok((leader, term))
}

/// The partition groups the header shows (`partition {3,4,5} {1,2}`), as sets.
fn partition_groups(header: &str) -> Option<BTreeSet<BTreeSet<u64>>> {
    let rest = &header[header.find("partition {")? + "partition ".len()..];
    let mut groups = BTreeSet::new();
    let mut rest = rest.trim_start();
    while let Some(body) = rest.strip_prefix('{') {
        let end = body.find('}')?;
        let group = body[..end]
            .split(',')
            .map(|n| n.trim().parse().ok())
            .collect::<Option<BTreeSet<u64>>>()?;
        groups.insert(group);
        rest = body[end + 1..].trim_start();
    }
    Some(groups)
}

/// The status line: the footer row above the key list.
fn status_line(screen: &str) -> Option<&str> {
    let rows: Vec<&str> = screen.lines().collect();
    let keys = rows.iter().rposition(|r| r.starts_with("1-9 select"))?;
    keys.checked_sub(1).map(|i| rows[i])
}

/// The key row of the footer, whose right end holds the verdict on the history.
fn key_row(screen: &str) -> Option<&str> {
    screen.lines().rfind(|r| r.starts_with("1-9 select"))
}

/// One row of the node table.
#[derive(Debug)]
struct NodeRow {
    id: u64,
    /// The role symbol: ★ leader, ● follower, ◆ candidate, ✕ down.
    symbol: char,
    applied: u64,
    /// The snap column (`index/term`, or `—` without a snapshot), when the table has one.
    snap: Option<String>,
}

/// The part of a row right of the boundary between two side-by-side panels (`││`).
fn right_panel(row: &str) -> Option<&str> {
    row.rsplit_once("││").map(|(_, right)| right)
}

/// The right-hand panel whose title contains `title`: the title row, then the panel's rows
/// without their borders (the title and bottom rows join the panels with `┐┌` and `┘└`, the
/// rows between with `││`).
fn right_panel_below<'a>(screen: &'a str, title: &str) -> Result<(&'a str, Vec<&'a str>), String> {
    let mut rows = screen.lines();
    let title_row = rows
        .by_ref()
        .find(|r| r.contains(title))
        .ok_or_else(|| format!("no panel titled {title:?}"))?;
    let body = rows
        .map_while(right_panel)
        .map(|r| r.trim_end_matches('│'))
        .collect();
    Ok((title_row, body))
}

/// The node table's rows, parsed by the columns its header names.
fn node_table(screen: &str) -> Result<Vec<NodeRow>, String> {
    let (_, body) = right_panel_below(screen, "┌ nodes ")?;
    let mut rows = body
        .into_iter()
        .map(|r| r.split_whitespace().collect::<Vec<_>>());
    let columns = rows.next().unwrap_or_default();
    let applied_col = columns
        .iter()
        .position(|c| *c == "applied")
        .filter(|_| columns.first() == Some(&"node"))
        .ok_or_else(|| format!("not the node table's header: {columns:?}"))?;
    let snap_col = columns.iter().position(|c| *c == "snap");
    let mut nodes = Vec::new();
    for mut cells in rows {
        if cells.first() == Some(&"▶") {
            cells.remove(0);
        }
        let Some(first) = cells.first() else {
            break; // past the last node
        };
        let mut chars = first.chars();
        let symbol = chars.next().unwrap_or(' ');
        let id = chars
            .as_str()
            .parse()
            .map_err(|_| format!("not a node: {cells:?}"))?;
        let applied = cells
            .get(applied_col)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("node {id}: no applied index in {cells:?}"))?;
        let snap = snap_col.and_then(|c| cells.get(c)).map(|c| c.to_string());
        nodes.push(NodeRow {
            id,
            symbol,
            applied,
            snap,
        });
    }
    Ok(nodes)
}

/// The state machine panel: its title row and its lines.
fn state_machine(screen: &str) -> Result<(&str, Vec<&str>), String> {
    let (title, body) = right_panel_below(screen, "state machine:")?;
    Ok((title, body.into_iter().map(str::trim).collect()))
}

#[test]
fn dashboard_in_tmux_elects_writes_snapshots_fails_over_partitions_heals_and_quits_cleanly() {
    let _real_time = crate::common::real_time();
    // A shell in the pane runs the dashboard, then shows how it exited and stays for a while.
    let script = format!(
        "{} --preset fast; echo EXITED $?; sleep 60",
        sh_quote(env!("CARGO_BIN_EXE_raftlab"))
    );
    let tmux = Tmux::start("e2e", TARGET, (WIDTH, HEIGHT), &script);
    let size = tmux.run(&[
        "display-message",
        "-p",
        "-t",
        TARGET,
        "#{pane_width}x#{pane_height}",
    ]);
    assert_eq!(size.trim(), format!("{WIDTH}x{HEIGHT}"), "the pane's size");

    // 1. A leader is elected and the header says so.
    tmux.wait_for("1. a leader in the header", leader_and_term);

    // 2. A write through the prompt: acknowledged, and applied alike on every node.
    tmux.type_text(":");
    tmux.type_text("put e2e 42");
    tmux.press("Enter");
    // The status line may be replaced by a later message, so seeing it once is enough.
    let mut acknowledged = false;
    let (old_leader, old_term) = tmux.wait_for(
        "2. `put e2e 42 → ok` in the status line, all nodes agreeing on e2e = 42, \
         every node at the same applied index",
        |screen| {
            if status_line(screen).is_some_and(|s| s.contains("put e2e 42 → ok")) {
                acknowledged = true;
            }
            if !acknowledged {
                return Err(format!("status line {:?}", status_line(screen)));
            }
            let (title, body) = state_machine(screen)?;
            if !title.contains("all nodes agree") {
                return Err(format!("state machine title {:?}", title.trim()));
            }
            if !body.contains(&"e2e = 42") {
                return Err(format!("no `e2e = 42` in the state machine: {body:?}"));
            }
            let nodes = node_table(screen)?;
            let applied: BTreeSet<u64> = nodes.iter().map(|n| n.applied).collect();
            if nodes.len() != 5 || applied.len() != 1 {
                return Err(format!("node table {nodes:?}"));
            }
            leader_and_term(screen)
        },
    );
    // The put was recorded (client 0) and checked.
    tmux.wait_for(
        "2. `ops 1 · linearizable ✓` in the footer",
        |screen| match key_row(screen) {
            Some(r) if r.trim_end().ends_with("ops 1 · linearizable ✓") => Ok(()),
            other => Err(format!("key row {other:?}")),
        },
    );

    // 3. Snapshot the leader by key: select it, press S; the table's snap column shows the
    // snapshot's index/term and the logs panel the compacted prefix (▒).
    tmux.type_text(&old_leader.to_string());
    tmux.type_text("S");
    tmux.wait_for(
        &format!("3. leader {old_leader}'s snapshot in the snap column and ▒ in the logs"),
        |screen| {
            let nodes = node_table(screen)?;
            let snap = nodes
                .iter()
                .find(|n| n.id == old_leader)
                .and_then(|n| n.snap.clone());
            match snap.as_deref() {
                Some(s) if s.contains('/') => {}
                other => return Err(format!("leader's snap column: {other:?}")),
            }
            if !screen.contains("▒") {
                return Err("no compacted prefix (▒) in the logs".into());
            }
            Ok(())
        },
    );

    // 4. Kill the leader by key (still selected): a new leader in a higher term.
    tmux.type_text("k");
    tmux.wait_for(
        &format!(
            "4. after killing leader {old_leader} (term {old_term}), a new leader in a higher term"
        ),
        |screen| {
            let (l, t) = leader_and_term(screen)?;
            if l == old_leader || t <= old_term {
                return Err(format!("leader {l}, term {t}"));
            }
            let h = header(screen)?;
            if !h.contains("4/5 up") {
                return Err(format!("not 4/5 up: {h:?}"));
            }
            let nodes = node_table(screen)?;
            match nodes.iter().find(|n| n.id == old_leader) {
                Some(n) if n.symbol == '✕' => Ok(()),
                other => Err(format!("node {old_leader} not shown down: {other:?}")),
            }
        },
    );

    // 5. Partition through the prompt, then heal with h.
    tmux.type_text(":");
    tmux.type_text("partition 1,2 3,4,5");
    tmux.press("Enter");
    let want: BTreeSet<BTreeSet<u64>> = [[1, 2].into(), [3, 4, 5].into()].into();
    tmux.wait_for("5. `partition {1,2} {3,4,5}` in the header", |screen| {
        let h = header(screen)?;
        match partition_groups(h) {
            Some(groups) if groups == want => Ok(()),
            _ => Err(format!("header {h:?}")),
        }
    });
    tmux.type_text("h");
    tmux.wait_for("5. no partition in the header after h", |screen| {
        let h = header(screen)?;
        if h.contains("partition") {
            Err(format!("header {h:?}"))
        } else {
            Ok(())
        }
    });

    // 6. Restart the killed node (still selected), then a 3 s nemesis through the prompt: its
    // countdown in the footer, then the nodes converge and the history (the put of step 2 and
    // the workers' operations) is linearizable.
    tmux.type_text("r");
    tmux.wait_for("6. 5/5 up after r", |screen| {
        let h = header(screen)?;
        if h.contains("5/5 up") {
            Ok(())
        } else {
            Err(format!("header {h:?}"))
        }
    });
    tmux.type_text(":");
    tmux.type_text("nemesis 3");
    tmux.press("Enter");
    tmux.wait_for(
        "6. `nemesis … s left` in the footer",
        |screen| match key_row(screen) {
            Some(r) if r.contains("nemesis ") && r.contains(" s left") => Ok(()),
            other => Err(format!("key row {other:?}")),
        },
    );
    let verdict =
        tmux.wait_for(
            "6. the nemesis' verdict in the status line",
            |screen| match status_line(screen) {
                Some(s) if s.starts_with("verdict: ") => Ok(screen.to_string()),
                other => Err(format!("status line {other:?}")),
            },
        );
    let shown = |what: &str| format!("6. {what}; screen:\n{}", tmux.framed(&verdict));
    assert!(
        status_line(&verdict).is_some_and(|s| s.starts_with("verdict: linearizable ✓")),
        "{}",
        shown("the nemesis' history is not linearizable")
    );
    assert!(
        verdict.contains("converged: every node applied the same state"),
        "{}",
        shown("the nodes did not converge after the nemesis")
    );
    tmux.wait_for(
        "6. the footer's verdict after the nemesis",
        |screen| match key_row(screen) {
            Some(r) if !r.contains("nemesis") && r.trim_end().ends_with("linearizable ✓") => {
                Ok(())
            }
            other => Err(format!("key row {other:?}")),
        },
    );

    // 7. Quit: the dashboard exits 0 and the shell's screen is back.
    tmux.type_text("q");
    tmux.wait_for("7. `EXITED 0` after q", |screen| {
        if screen.lines().any(|l| l.trim() == "EXITED 0") {
            Ok(())
        } else {
            Err("no `EXITED 0` row".into())
        }
    });
    let screen = tmux.capture();
    let shown = |what: &str| {
        format!(
            "7. {what} after quitting; screen:\n{}",
            tmux.framed(&screen)
        )
    };
    assert!(
        screen.lines().any(|l| l.trim() == "EXITED 0"),
        "{}",
        shown("`EXITED 0` is gone")
    );
    assert!(
        !screen.contains(" raftlab │") && !screen.contains("state machine:"),
        "{}",
        shown("the dashboard is still on the screen")
    );
    let modes = tmux.run(&[
        "display-message",
        "-p",
        "-t",
        TARGET,
        "alternate=#{alternate_on} cursor=#{cursor_flag} mouse=#{mouse_any_flag}",
    ]);
    assert_eq!(
        modes.trim(),
        "alternate=0 cursor=1 mouse=0",
        "{}",
        shown("the alternate screen, a hidden cursor or mouse capture is left on")
    );
    // Raw mode is the tty's setting, not the screen's: read it from the pane's tty, which the
    // shell (sleeping) still holds open.
    let tty = tmux.run(&["display-message", "-p", "-t", TARGET, "#{pane_tty}"]);
    let flag = if cfg!(target_os = "linux") {
        "-F"
    } else {
        "-f"
    };
    let stty = Command::new("stty")
        .args(["-a", flag, tty.trim()])
        .output()
        .expect("run stty");
    assert!(
        stty.status.success(),
        "stty -a {flag} {}: {}",
        tty.trim(),
        String::from_utf8_lossy(&stty.stderr).trim()
    );
    let stty = String::from_utf8_lossy(&stty.stdout);
    let words: BTreeSet<&str> = stty.split_whitespace().collect();
    for mode in ["icanon", "echo", "isig"] {
        assert!(
            words.contains(mode),
            "7. the pane's tty is still in raw mode ({mode} is off) after quitting:\n{stty}"
        );
    }
}
