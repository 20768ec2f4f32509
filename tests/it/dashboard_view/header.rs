//! The header: cluster size, leader, term, commit, partitions, pause and unsafe rules.

use super::*;

#[test]
fn header_names_leader_term_commit_and_running() {
    let state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let header = screen.row(0);
    for part in [
        "raftlab",
        "5/5 up",
        "leader 3",
        "term 4",
        "commit 8",
        "fast",
        "×1.00",
        "▶ running",
        "? help",
    ] {
        assert!(header.contains(part), "{part:?} missing from {header:?}");
    }
    assert!(!header.contains("partition"), "{header:?}");
}

#[test]
fn header_shows_the_newest_leader_pause_and_partition() {
    let mut v = partitioned();
    v.status.paused = true;
    let state = app_with(v, Vec::new());
    let header = Screen::of(&state, 140, 45).row(0);
    // Node 1 still believes it leads term 3; the header names the leader of the highest term.
    assert!(header.contains("leader 4"), "{header:?}");
    assert!(header.contains("term 4"), "{header:?}");
    assert!(header.contains("commit 9"), "{header:?}");
    assert!(header.contains("❚❚ PAUSED"), "{header:?}");
    assert!(!header.contains("running"), "{header:?}");
    assert!(header.contains("partition {3,4,5} {1,2}"), "{header:?}");
}

#[test]
fn header_without_a_leader_says_none() {
    let mut v = elected();
    for n in &mut v.status.nodes {
        n.status.role = Role::Follower;
    }
    v.status.nodes[1].status.role = Role::Candidate;
    v.status.nodes[1].status.term = 5;
    let header = Screen::of(&app_with(v, Vec::new()), 140, 45).row(0);
    assert!(header.contains("leader none"), "{header:?}");
    assert!(header.contains("term 5"), "{header:?}");
}

#[test]
fn header_shows_every_partition_group_at_80_columns() {
    let state = app_with(partitioned(), Vec::new());
    let header = Screen::of(&state, 80, 24).row(0);
    assert!(header.contains("{3,4,5} {1,2}"), "{header:?}");
}

#[test]
fn header_says_when_the_leader_is_of_an_older_term() {
    // Isolated node 9 campaigned up to term 9; node 5 still leads term 7.
    let state = app_with(nine_nodes(), Vec::new());
    let header = Screen::of(&state, 200, 60).row(0);
    assert!(header.contains("leader 5 (of term 7)"), "{header:?}");
    assert!(header.contains("term 9"), "{header:?}");
    assert!(header.contains("8/9 up"), "{header:?}");
    // Leader in the highest term: no qualifier.
    let header = Screen::of(&app_with(elected(), Vec::new()), 140, 45).row(0);
    assert!(!header.contains("(of term"), "{header:?}");
}

#[test]
fn header_marks_unsafe_rules_loudly_even_at_80_columns() {
    let mut state = app_with(elected(), Vec::new());
    let header = Screen::of(&state, 140, 45).row(0);
    assert!(!header.contains("UNSAFE"), "{header:?}");
    state.unsafe_rules = Some("UNSAFE: forget-vote, local-reads".into());
    for (w, h) in [(140, 45), (80, 24)] {
        let header = Screen::of(&state, w, h).row(0);
        assert!(
            header.contains("UNSAFE: forget-vote, local-reads"),
            "{w}x{h}: {header:?}"
        );
    }
    state.theme = Theme::Color;
    let (x, y) = Screen::of(&state, 140, 45).find("UNSAFE").expect("marker");
    let terminal = draw(&state, 140, 45);
    let bg = terminal
        .backend()
        .buffer()
        .cell((x as u16, y as u16))
        .map(|c| c.bg);
    assert_eq!(bg, Some(ratatui::style::Color::Red));
}

#[test]
fn header_counts_nodes_up() {
    let state = app_with(one_down(), Vec::new());
    let header = Screen::of(&state, 140, 45).row(0);
    assert!(header.contains("4/5 up"), "{header:?}");
}

#[test]
fn header_names_the_rules_in_force() {
    let mut state = app_with(elected(), Vec::new());
    for (w, h) in [(140, 45), (80, 24)] {
        let header = Screen::of(&state, w, h).row(0);
        assert!(
            header.contains("PreVote·CheckQuorum"),
            "{w}x{h}: {header:?}"
        );
    }
    state.rules_in_force = Some(raftlab::node::Rules::paper().in_force());
    for (w, h) in [(140, 45), (80, 24)] {
        let header = Screen::of(&state, w, h).row(0);
        assert!(header.contains("Figure 2 only"), "{w}x{h}: {header:?}");
        assert!(!header.contains("PreVote"), "{w}x{h}: {header:?}");
    }
    // Beside the unsafe rules, at 140 columns.
    state.unsafe_rules = Some("UNSAFE: commit-by-counting".into());
    let header = Screen::of(&state, 140, 45).row(0);
    assert!(
        header.contains("Figure 2 only") && header.contains("UNSAFE: commit-by-counting"),
        "{header:?}"
    );
    // Unknown (a replay): nothing said.
    state.rules_in_force = None;
    let header = Screen::of(&state, 140, 45).row(0);
    assert!(!header.contains("Figure 2"), "{header:?}");
}

#[test]
fn header_summarizes_the_faults_in_force() {
    let calm = Screen::of(&app_with(elected(), Vec::new()), 140, 45).row(0);
    assert!(!calm.contains("fault"), "{calm:?}");
    let mut v = with_link(elected(), 1, 4, 0.59, 0);
    v.status.nodes[1].slow = Duration::from_millis(300);
    v.status.nodes[2].clock_rate = 2.0;
    let state = app_with(v, Vec::new());
    let header = Screen::of(&state, 140, 45).row(0);
    assert!(
        header.contains("faults: 2 slow 300ms · 3 clock 2× · 1→4 loss 59%"),
        "{header:?}"
    );
    // 80 columns: shorter, never cut mid-word, and the rest of the header still there.
    let header = Screen::of(&state, 80, 24).row(0);
    assert!(
        header.contains("faults: 2 slow · 3 clock · 1→4 loss"),
        "{header:?}"
    );
    for part in ["leader 3", "term 4", "running"] {
        assert!(header.contains(part), "{part:?} missing: {header:?}");
    }
    // Both directions of a link with one fault are told once.
    let v = with_link(with_link(elected(), 1, 4, 0.0, 200), 4, 1, 0.0, 200);
    let header = Screen::of(&app_with(v, Vec::new()), 140, 45).row(0);
    assert!(header.contains("faults: 1↔4 delay 200ms"), "{header:?}");
}

#[test]
fn header_counts_the_faults_when_even_their_names_do_not_fit() {
    let mut v = partitioned();
    v.status.paused = true;
    for n in &mut v.status.nodes {
        n.slow = Duration::from_millis(100);
    }
    let header = Screen::of(&app_with(v, Vec::new()), 80, 24).row(0);
    assert!(header.contains("5 faults"), "{header:?}");
    assert!(header.contains("{3,4,5} {1,2}"), "{header:?}");
}
