//! Whole screens: each state drawn at 80×24 and 140×45 (plus a too-small screen and a nine-node
//! cluster at 200×60) in the mono theme, compared with insta snapshots.

use super::*;

#[test]
fn screen_leader_elected() {
    let state = app_with(elected(), election_story());
    for (w, h) in SIZES {
        snapshot("leader_elected", &state, w, h);
    }
}

#[test]
fn screen_one_node_down() {
    let mut events = election_story();
    events.push(ev(
        9_000,
        2,
        EventKind::NodeDown("killed from the dashboard".into()),
    ));
    events.push(ev(9_000, 0, EventKind::Fault("kill 2".into())));
    let mut state = app_with(one_down(), events);
    state.selected = 2;
    for (w, h) in SIZES {
        snapshot("one_node_down", &state, w, h);
    }
}

#[test]
fn screen_partition_old_leader_in_minority() {
    let events = vec![
        ev(
            8_000,
            0,
            EventKind::Fault("partition [[1, 2], [3, 4, 5]]".into()),
        ),
        ev(
            8_100,
            1,
            EventKind::MessageDropped {
                id: 88,
                from: 1,
                to: 3,
                kind: MessageKind::AppendEntries,
                why: "link cut".into(),
            },
        ),
        trace(
            8_350,
            4,
            TraceEvent::ElectionTimeout {
                term: 3,
                timeout: 18,
            },
        ),
        trace(8_350, 4, TraceEvent::BecameCandidate { term: 4 }),
        trace(8_362, 4, TraceEvent::BecameLeader { term: 4 }),
        trace(8_380, 4, TraceEvent::CommitAdvanced { from: 7, to: 9 }),
    ];
    let state = app_with(partitioned(), events);
    for (w, h) in SIZES {
        snapshot("partition_old_leader_in_minority", &state, w, h);
    }
}

#[test]
fn screen_divergent_logs() {
    let events = vec![
        trace(
            5_000,
            3,
            TraceEvent::LeaderChanged {
                leader: Some(3),
                term: 6,
            },
        ),
        trace(5_010, 3, TraceEvent::CommitAdvanced { from: 4, to: 7 }),
        trace(
            5_020,
            1,
            TraceEvent::AppendRejected {
                to: 3,
                term: 6,
                reason: AppendRejectReason::TermMismatch {
                    index: 7,
                    ours: 3,
                    theirs: 6,
                },
                conflict_index: 5,
                conflict_term: 3,
            },
        ),
    ];
    let mut state = app_with(divergent(), events);
    state.selected = 1;
    for (w, h) in SIZES {
        snapshot("divergent_logs", &state, w, h);
    }
}

#[test]
fn screen_paused_with_a_message_selected() {
    let mut state = app_with(paused_in_flight(), election_story());
    state.selected = 3;
    state.message = Some(0);
    for (w, h) in SIZES {
        snapshot("paused_message_selected", &state, w, h);
    }
}

#[test]
fn screen_help_overlay() {
    let mut state = app_with(elected(), election_story());
    state.focus = Focus::Help;
    for (w, h) in SIZES {
        snapshot("help_overlay", &state, w, h);
    }
}

#[test]
fn screen_detail_overlay() {
    let mut state = app_with(elected(), election_story());
    state.selected = 3;
    state.focus = Focus::Detail;
    for (w, h) in SIZES {
        snapshot("detail_overlay", &state, w, h);
    }
}

#[test]
fn screen_prompt_with_completions() {
    let mut state = app_with(elected(), election_story());
    assert!(type_keys(&mut state, ":pa").is_empty());
    assert!(state.on_key(code(KeyCode::Tab)).is_empty());
    assert_eq!(state.focus, Focus::Prompt);
    assert_eq!(state.prompt.input, "pa");
    assert_eq!(state.prompt.completions, ["partition ", "pause "]);
    for (w, h) in SIZES {
        snapshot("prompt_with_completions", &state, w, h);
    }
}

#[test]
fn screen_too_small() {
    let state = app_with(elected(), election_story());
    snapshot("too_small", &state, 30, 10);
}

#[test]
fn screen_nine_nodes() {
    let mut events = election_story();
    events.push(ev(
        20_000,
        0,
        EventKind::Fault("partition [[1, 2, 3, 4, 5, 6, 7, 8], [9]]".into()),
    ));
    let mut state = app_with(nine_nodes(), events);
    state.selected = 9;
    snapshot("nine_nodes", &state, 200, 60);
}

#[test]
fn screen_snapshot_transfer() {
    let mut state = app_with(snapshot_transfer(), snapshot_story());
    state.selected = 2;
    for (w, h) in SIZES {
        snapshot("snapshot_transfer", &state, w, h);
    }
}

#[test]
fn screen_snapshot_transfer_details() {
    let mut state = app_with(snapshot_transfer(), snapshot_story());
    state.focus = Focus::Detail;
    for (id, name) in [(3, "leader"), (2, "follower")] {
        state.selected = id;
        for (w, h) in SIZES {
            snapshot(&format!("snapshot_transfer_detail_{name}"), &state, w, h);
        }
    }
}
