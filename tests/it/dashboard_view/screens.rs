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

#[test]
fn screen_zoomed_panels() {
    let mut state = app_with(elected(), election_story());
    state.update(Action::Zoom);
    assert_eq!(state.zoom, Some(Panel::Ring));
    snapshot("zoomed_ring", &state, 80, 24);
    state.update(Action::Zoom);
    assert_eq!(state.zoom, Some(Panel::Nodes));
    // The table zoomed shows every column, even at 80 wide.
    snapshot("zoomed_nodes", &state, 80, 24);
    state.update(Action::Zoom);
    assert_eq!(state.zoom, Some(Panel::Logs));
    for (w, h) in SIZES {
        snapshot("zoomed_logs", &state, w, h);
    }
}

#[test]
fn screen_bottom_panel_switched_at_80x24() {
    let mut state = app_with(elected(), election_story());
    draw_keeping_layout(&mut state, 80, 24);
    state.update(Action::CycleBottom);
    assert_eq!(state.bottom, Some(Panel::Side));
    snapshot("bottom_state_machine", &state, 80, 24);
}

#[test]
fn screen_guided_scenario() {
    let mut state = app_with(elected(), election_story());
    with_scenario(
        &mut state,
        "Node 1 leads term 2 and appends an entry at index 3 that reaches only node 2.\n\n\
         Press Enter: node 1 is cut off and node 5 wins term 3.",
    );
    for (w, h) in SIZES {
        snapshot("guided_scenario", &state, w, h);
    }
}

// ----------------------------------------------------------------------------------------------
// No word cut at a panel's edge
// ----------------------------------------------------------------------------------------------

/// Words only the fixtures below use, long and unlike any other text on screen: each must show
/// whole or not at all.
const LONG_WORDS: [&str; 6] = [
    "kaleidoscope",
    "phantasmagoria",
    "quintessence",
    "labyrinthine",
    "serendipitous",
    "chrysanthemum",
];

/// Words of the titles that shorten with the width (the key hints go first).
const TITLE_WORDS: [&str; 8] = [
    "flight", "select", "drop", "deliver", "dup", "machine", "DISAGREE", "scenario",
];

/// The sizes a word must survive, from 80×24 to 200×60 (both sides of the 100-column step).
const EVERY_SIZE: [(u16, u16); 8] = [
    (80, 24),
    (90, 30),
    (99, 30),
    (100, 30),
    (120, 40),
    (140, 45),
    (160, 50),
    (200, 60),
];

/// Every place on `screen` where a part of one of `words` shows without the rest: a run of
/// letters that is the start (two letters or more, or one that a border cuts) or the end (three
/// or more) of a word but not the word. A word cut at a panel's edge, cut with `…`, or broken
/// over two rows shows so.
fn cut_words(screen: &Screen, words: &[&str]) -> Vec<String> {
    let mut cuts = Vec::new();
    for y in 0..screen.cells.len() {
        let row = screen.row(y);
        let mut at = 0;
        for run in row.split(|c: char| !c.is_alphabetic()) {
            let before = row[..at].chars().next_back().unwrap_or(' ');
            let rest = &row[at + run.len()..];
            let after = rest.chars().next().unwrap_or('│');
            at += run.len() + rest.chars().next().map_or(0, char::len_utf8);
            let n = run.chars().count();
            // One letter right against a border, at the start of a word.
            let at_edge =
                n >= 1 && "│┐┤─".contains(after) && (before == ' ' || "│┌├─".contains(before));
            for w in words {
                let part = run != *w
                    && (((n >= 2 || at_edge) && w.starts_with(run))
                        || (n >= 3 && w.ends_with(run)));
                if part {
                    cuts.push(format!("row {y}: {run:?} of {w:?}: {:?}", row.trim_end()));
                }
            }
        }
    }
    cuts
}

/// Draws `state` at every size, with every bottom panel `b` can show there and every zoom, and
/// returns each cut of `words` with where it was seen.
fn cuts_at_every_size(state: &AppState, words: &[&str]) -> Vec<String> {
    let mut cuts = Vec::new();
    for (w, h) in EVERY_SIZE {
        let mut state = clone_state(state);
        let slots = view::bottom_slots(w);
        let choices = state.bottom_choices(slots).len().max(1);
        let mut seen = |state: &AppState, what: &str| {
            let screen = Screen::of(state, w, h);
            for c in cut_words(&screen, words) {
                cuts.push(format!("{w}×{h} {what}: {c}"));
            }
        };
        for _ in 0..choices {
            draw_keeping_layout(&mut state, w, h);
            seen(&state, &format!("bottom {:?}", state.bottom_choice(slots)));
            state.update(Action::CycleBottom);
        }
        loop {
            state.update(Action::Zoom);
            let Some(z) = state.zoom else { break };
            seen(&state, &format!("zoom {z:?}"));
        }
    }
    cuts
}

/// A copy of what the view reads of `state` (AppState is not Clone: it holds the prompt's
/// history).
fn clone_state(state: &AppState) -> AppState {
    let mut copy = AppState::new(state.nodes, state.theme);
    copy.view = state.view.clone();
    copy.feed = state.feed.clone();
    copy.feed_kind = state.feed_kind;
    copy.message = state.message;
    copy.selected = state.selected;
    copy.narration = state.narration.clone();
    copy
}

/// Four messages on the wire whose summaries end in long words.
fn long_messages() -> ClusterView {
    let mut v = paused_in_flight();
    for m in &mut v.in_flight {
        m.summary = format!(
            "{} {} {} {}",
            m.summary, LONG_WORDS[0], LONG_WORDS[1], LONG_WORDS[2]
        );
    }
    v
}

/// Nodes 1 to 4 hold a long value under a long key; node 5 is behind and holds another.
fn long_values() -> ClusterView {
    let mut v = elected();
    let value = LONG_WORDS[2..].join(" ");
    for id in 1..=4 {
        v.kv.insert(id, vec![(LONG_WORDS[3].to_string(), value.clone())]);
    }
    v.kv.insert(5, vec![(LONG_WORDS[3].to_string(), LONG_WORDS[0].into())]);
    v.status.nodes[4].status.applied = 7;
    v
}

#[test]
fn no_word_is_cut_at_a_panel_edge_at_any_size() {
    let words: Vec<&str> = LONG_WORDS.iter().chain(&TITLE_WORDS).copied().collect();
    let mut cuts = Vec::new();
    // The messages in flight, one selected: the title, the selected one in full, the list.
    let mut state = app_with(long_messages(), election_story());
    state.message = Some(0);
    cuts.extend(cuts_at_every_size(&state, &words));
    // The state machine, nodes disagreeing on a long value.
    let state = app_with(long_values(), election_story());
    assert!(Screen::of(&state, 140, 45).find("DISAGREE").is_some());
    cuts.extend(cuts_at_every_size(&state, &words));
    // A scenario's narration.
    let mut state = app_with(elected(), election_story());
    with_scenario(&mut state, &LONG_WORDS.repeat(3).join(" "));
    cuts.extend(cuts_at_every_size(&state, &words));
    assert!(cuts.is_empty(), "{} cuts:\n{}", cuts.len(), cuts.join("\n"));
}

#[test]
fn the_word_check_sees_a_cut() {
    // What the check above relies on: a word cut at an edge, with `…`, or broken over two rows.
    let mut state = app_with(long_messages(), Vec::new());
    state.message = Some(0);
    let screen = Screen::of(&state, 140, 45);
    assert!(cut_words(&screen, &LONG_WORDS).is_empty());
    assert!(!cut_words(&screen, &["kaleidoscopes"]).is_empty());
    assert!(!cut_words(&screen, &["akaleidoscope"]).is_empty());
}

#[test]
fn feed_and_scenario_result_lines_are_not_cut() {
    let mut state = app_with(elected(), election_story());
    let long = LONG_WORDS.repeat(2).join(" ");
    state.apply_event(ev(3_000, 0, EventKind::Fault(long.clone())));
    with_scenario(&mut state, "A short step.");
    if let Some(n) = &mut state.narration {
        n.push(false, long);
    }
    let cuts = cuts_at_every_size(&state, &LONG_WORDS);
    assert!(cuts.is_empty(), "{} cuts:\n{}", cuts.len(), cuts.join("\n"));
}
