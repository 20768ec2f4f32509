//! The other panels: state machine, messages in flight, event feed, footer and prompt line, and
//! the too-small and starting screens.

use super::*;

#[test]
fn state_machine_says_when_all_nodes_agree() {
    let state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block("state machine: all nodes agree, 3 keys");
    let text = rows.join("\n");
    for kv in ["x = v6", "y = v7", "z = v8"] {
        assert!(text.contains(kv), "{kv:?} missing: {rows:#?}");
    }
}

#[test]
fn state_machine_lists_the_keys_nodes_disagree_on() {
    let mut v = elected();
    // Node 5 has applied only up to 7: z is v5 there (from entry 5), not v8.
    v.kv.insert(5, kv_after(7));
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block("state machine: nodes DISAGREE");
    let lines: Vec<&str> = rows.iter().map(|r| r.trim_end()).collect();
    assert_eq!(lines[0], "z 1:v8 2:v8 3:v8 4:v8 5:v5", "{lines:#?}");
    assert!(
        !rows
            .iter()
            .any(|r| r.starts_with("x ") || r.starts_with("y ")),
        "only the differing key is listed: {lines:#?}"
    );
}

#[test]
fn state_machine_marks_a_missing_key() {
    let mut v = elected();
    v.kv.insert(2, kv_after(1)); // only y
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("state machine: nodes DISAGREE").join("\n");
    assert!(text.contains("x 1:v6 2:∅ 3:v6"), "{text}");
}

#[test]
fn footer_lists_the_main_keys() {
    let state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let status = screen.row(43);
    let keys = screen.row(44);
    assert!(status.starts_with("cluster up."), "{status:?}");
    for k in [
        "1-9 select",
        "q quit",
        "? help",
        "k kill",
        "r restart",
        "i isolate",
        "t timeout",
        "h heal",
        "space pause",
        "w write",
        ": command",
        "Enter details",
    ] {
        assert!(keys.contains(k), "{k:?} missing from {keys:?}");
    }
}

#[test]
fn footer_lists_the_prompt_key_at_80_columns() {
    let state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 80, 24);
    let keys = screen.row(23);
    assert!(keys.contains(": command"), "{keys:?}");
}

#[test]
fn footer_names_enter_for_node_details_at_120_and_80_columns() {
    let mut state = app_with(elected(), Vec::new());
    for verdict in [false, true] {
        if verdict {
            // The verdict takes the right end of the row: Enter still fits.
            state.apply_notice(Notice::Counts(Counts {
                ok: 1_240,
                ..Counts::default()
            }));
        }
        for (w, h) in [(120, 40), (80, 24)] {
            let screen = Screen::of(&state, w, h);
            let keys = screen.row(usize::from(h) - 1);
            assert!(keys.contains("Enter details"), "{w}x{h}: {keys:?}");
            assert!(keys.contains(": command"), "{w}x{h}: {keys:?}");
        }
    }
}

#[test]
fn in_flight_panel_describes_the_selected_message() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.message = Some(1);
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block("4 in flight (n/N select");
    assert!(
        rows[0].starts_with("#42 3->2 AppendEntries{term:4 prev:8/4"),
        "{rows:#?}"
    );
    // The summary may wrap; the timing line follows it.
    assert!(
        rows.iter()
            .any(|r| r.trim_end() == "sent 12.14s, due 12.54s (3 → 2, Heartbeat)"),
        "{rows:#?}"
    );
    let list = rows.join("\n");
    for id in ["#41", "#43", "#44"] {
        assert!(list.contains(id), "{id} missing: {rows:#?}");
    }
    // Paused with messages on the wire but none selected: the list still replaces the state
    // machine.
    state.message = None;
    let screen = Screen::of(&state, 140, 45);
    assert!(screen.find("4 in flight").is_some());
    assert!(screen.find("state machine").is_none());
}

#[test]
fn in_flight_panel_shows_the_selected_message_in_full_at_140x45() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.message = Some(0);
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("4 in flight (n/N select").concat();
    assert!(
        text.contains("entries:9..=9 (1)}"),
        "{:#?}",
        screen.block("4 in flight (n/N select")
    );
}

#[test]
fn in_flight_list_rows_line_up() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.message = Some(0);
    let screen = Screen::of(&state, 140, 45);
    let (x0, y0) = screen.find("4 in flight").expect("the panel");
    let mut columns = Vec::new();
    // Long summaries wrap: a message may take two rows.
    for y in y0 + 1..y0 + 14 {
        for id in ["#41 ", "#42 ", "#43 ", "#44 "] {
            // The list rows (not the detail line at the top, which has no glyph).
            let row = screen.span(y, x0.saturating_sub(2), screen.width());
            if row.contains(&format!("{id}  ")) {
                let x = (x0.saturating_sub(2)..screen.width())
                    .find(|x| screen.span(y, *x, screen.width()).starts_with(id))
                    .expect("the id");
                columns.push((id, x));
            }
        }
    }
    assert_eq!(columns.len(), 4, "{columns:?}");
    assert!(
        columns.iter().all(|(_, x)| *x == columns[0].1),
        "{columns:?}"
    );
}

#[test]
fn narrow_screen_shows_the_selected_message_instead_of_the_feed() {
    let mut state = app_with(paused_in_flight(), election_story());
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.find(" events: protocol").is_some());
    state.message = Some(0);
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.find(" events:").is_none());
    assert!(screen.find("#41 3->1 AppendEntries").is_some());
}

#[test]
fn feed_shows_the_newest_lines_with_times_and_nodes() {
    let state = app_with(elected(), election_story());
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block(" events: protocol (f: kind, F: node, e: look back) ");
    let text: Vec<&str> = rows.iter().map(|r| r.trim_end()).collect();
    assert!(
        text.contains(&"   2.4s  3 client put x 7 -> ok in 4.2 ms"),
        "{text:#?}"
    );
    assert!(text.contains(&"   2.4s  3 commit 7 -> 8"), "{text:#?}");
    // Messages are hidden under the default filter.
    assert!(!text.iter().any(|l| l.contains("sent #7")), "{text:#?}");
    assert!(
        !text.iter().any(|l| l.contains("delivered #9")),
        "{text:#?}"
    );
    // Newest last.
    let last = text.iter().rposition(|l| !l.is_empty()).expect("lines");
    assert!(text[last].ends_with("commit 7 -> 8"), "{text:#?}");
}

#[test]
fn prompt_replaces_the_footer() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":put k v");
    let screen = Screen::of(&state, 140, 45);
    assert!(
        screen.row(43).starts_with(":put k v█"),
        "{:?}",
        screen.row(43)
    );
    assert!(screen.row(44).starts_with("Enter runs · Tab completes"));
    // With completions the footer grows a line.
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":kill ");
    state.on_key(code(KeyCode::Tab));
    let screen = Screen::of(&state, 140, 45);
    assert!(
        screen.row(42).starts_with(":kill █"),
        "{:?}",
        screen.row(42)
    );
    assert!(
        screen
            .row(43)
            .starts_with("kill 1  kill 2  kill 3  kill 4  kill 5"),
        "{:?}",
        screen.row(43)
    );
}

#[test]
fn an_error_shows_in_the_footer() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":frobnicate");
    state.on_key(code(KeyCode::Enter));
    let screen = Screen::of(&state, 140, 45);
    assert!(
        screen.row(43).starts_with("error: "),
        "{:?}",
        screen.row(43)
    );
}

#[test]
fn too_small_screen_says_so() {
    let state = app_with(elected(), Vec::new());
    let text = Screen::of(&state, 30, 10).text();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("raftlab needs at least 40×12 (this is 30×10)."),
        "{text}"
    );
    assert!(flat.contains("leader: 3"), "{text}");
    assert!(flat.contains("q quits"), "{text}");
    // One column or one row short is still too small; 40×12 is not.
    let text = Screen::of(&state, 39, 24).text();
    assert!(text.contains("needs at least"), "{text}");
    let text = Screen::of(&state, 80, 11).text();
    assert!(text.contains("needs at least"), "{text}");
    let text = Screen::of(&state, 40, 12).text();
    assert!(!text.contains("needs at least"), "{text}");
}

#[test]
fn before_the_first_snapshot_the_screen_says_starting() {
    let state = AppState::new(5, Theme::Mono);
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.row(0).contains("starting the cluster"));
    assert!(screen.find(" nodes ").is_some());
    assert!(screen.find(" cluster ").is_some());
}

#[test]
fn a_long_result_wraps_by_words_in_the_footer_instead_of_running_off_the_screen() {
    let mut state = app_with(elected(), election_story());
    let answer = "dropped #777 AppendEntriesReply 1→2: node 2 does not learn what node 1 stored \
                  (or refused): its match index for node 1 stays where it was, and commitment \
                  waits for another reply";
    state.status_line = answer.to_string();
    for (w, h) in [(120, 40), (80, 24)] {
        let screen = Screen::of(&state, w, h);
        let text = screen.text();
        let squeeze = |s: &str| s.split_whitespace().collect::<String>();
        assert!(
            squeeze(&text).contains(&squeeze(answer)),
            "{w}×{h}: the answer is not whole:\n{text}"
        );
        // The key row still shows under it.
        assert!(
            screen.row(usize::from(h) - 1).starts_with("1-9 select"),
            "{text}"
        );
    }
}

#[test]
fn a_paused_lab_lists_what_happens_next_messages_then_timers() {
    use raftlab::engine::sim::travel::TimeMachine;
    use raftlab::engine::sim::{Run, Settings};
    let machine = TimeMachine::new(Run::new(Settings::new(3, 4))).expect("a valid run");
    let mut state = AppState::lab(machine, "test".into(), Theme::Mono);
    state.seek(Duration::from_secs(7));
    // Playing: the state machine; paused: what happens next.
    let screen = Screen::of(&state, 140, 45);
    assert!(screen.find("state machine").is_some(), "{}", screen.text());
    state.update(Action::Replay(
        raftlab::tui::action::ReplayAction::PlayPause,
    ));
    let screen = Screen::of(&state, 140, 45);
    let rows = screen.block("next: ");
    let text = rows.join("\n");
    let in_flight = state.view.as_ref().expect("a view").in_flight.len();
    assert!(in_flight > 0);
    assert!(
        screen
            .find(&format!("next: {in_flight} in flight, then timers"))
            .is_some(),
        "{}",
        screen.text()
    );
    // Every message, then a timer line per node, each at its moment.
    let first_timer = rows.iter().position(|r| r.starts_with('⏱')).expect(&text);
    let first_message = rows.iter().position(|r| r.contains('#')).expect(&text);
    assert!(first_message < first_timer, "{text}");
    assert!(text.contains("node 1 sends heartbeats"), "{text}");
    assert!(text.contains("node 2's election timer fires"), "{text}");
    assert!(text.contains("node 3's election timer fires"), "{text}");
}
