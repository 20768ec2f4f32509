//! Keys and actions on the main screen: each action's change to the state and the effects it asks
//! of the cluster.

use super::*;

#[test]
fn faults_act_on_the_selected_node() {
    let mut state = app_with(elected(), Vec::new());
    assert!(state.on_key(key('4')).is_empty());
    assert_eq!(state.selected, 4);
    assert_eq!(state.on_key(key('k')), run(PromptCommand::Kill(4)));
    assert_eq!(state.on_key(key('r')), run(PromptCommand::Restart(4)));
    assert_eq!(state.on_key(key('i')), run(PromptCommand::Isolate(4)));
    assert_eq!(state.on_key(key('t')), run(PromptCommand::Campaign(4)));
    assert_eq!(state.on_key(key('S')), run(PromptCommand::Snapshot(4)));
    assert_eq!(
        state.update(Action::Snapshot),
        run(PromptCommand::Snapshot(4))
    );
    assert_eq!(state.update(Action::Kill), run(PromptCommand::Kill(4)));
    state.update(Action::Select(2));
    assert_eq!(
        state.update(Action::Restart),
        run(PromptCommand::Restart(2))
    );
    assert_eq!(
        state.update(Action::Isolate),
        run(PromptCommand::Isolate(2))
    );
    // Cluster-wide keys.
    assert_eq!(state.on_key(key('h')), run(PromptCommand::Heal));
    assert_eq!(state.on_key(key('w')), run(PromptCommand::Write));
    assert_eq!(state.on_key(key('.')), run(PromptCommand::Step));
    assert_eq!(state.on_key(key('a')), vec![Effect::AlignTimers]);
    assert_eq!(state.on_key(key('A')), vec![Effect::SpreadTimers]);
    assert!(!state.quit);
}

#[test]
fn select_wraps_around() {
    let mut state = app_with(elected(), Vec::new());
    assert_eq!(state.selected, 1);
    assert!(state.update(Action::SelectPrev).is_empty());
    assert_eq!(state.selected, 5);
    assert!(state.update(Action::SelectNext).is_empty());
    assert_eq!(state.selected, 1);
    for want in [2, 3, 4, 5, 1, 2] {
        state.on_key(code(KeyCode::Right));
        assert_eq!(state.selected, want);
    }
    state.on_key(code(KeyCode::Left));
    state.on_key(code(KeyCode::Left));
    assert_eq!(state.selected, 5);
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.selected, 1);
    state.on_key(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT));
    assert_eq!(state.selected, 5);
    // Ids outside the cluster are ignored.
    state.update(Action::Select(3));
    state.update(Action::Select(0));
    state.update(Action::Select(6));
    assert_eq!(state.selected, 3);
    assert!(state.on_key(key('7')).is_empty());
    assert!(state.on_key(key('0')).is_empty());
    assert_eq!(state.selected, 3);
    // Nine nodes: 9 is a valid key.
    let mut nine = app_with(nine_nodes(), Vec::new());
    nine.on_key(key('9'));
    assert_eq!(nine.selected, 9);
    nine.update(Action::SelectNext);
    assert_eq!(nine.selected, 1);
}

#[test]
fn cycle_slow_steps_through_slow_steps() {
    let mut state = app_with(elected(), Vec::new());
    state.selected = 2;
    for (i, now) in app::SLOW_STEPS.iter().enumerate() {
        state.apply_view(with_faults(2, *now, 1.0));
        let next = app::SLOW_STEPS[(i + 1) % app::SLOW_STEPS.len()];
        assert_eq!(
            state.on_key(key('s')),
            run(PromptCommand::Slow {
                node: 2,
                delay: Duration::from_millis(next),
            }),
            "from {now} ms"
        );
    }
    assert_eq!(app::SLOW_STEPS, [0, 100, 300, 1000]);
    // A delay set by hand that is not a step starts the cycle over.
    state.apply_view(with_faults(2, 250, 1.0));
    assert_eq!(
        state.update(Action::CycleSlow),
        run(PromptCommand::Slow {
            node: 2,
            delay: Duration::from_millis(100),
        })
    );
    // Another node's delay does not count.
    state.apply_view(with_faults(4, 300, 1.0));
    assert_eq!(
        state.update(Action::CycleSlow),
        run(PromptCommand::Slow {
            node: 2,
            delay: Duration::from_millis(100),
        })
    );
    // Before the first snapshot: from 0.
    let mut fresh = AppState::new(5, Theme::Mono);
    assert_eq!(
        fresh.update(Action::CycleSlow),
        run(PromptCommand::Slow {
            node: 1,
            delay: Duration::from_millis(100),
        })
    );
}

#[test]
fn cycle_clock_steps_through_clock_steps() {
    let mut state = app_with(elected(), Vec::new());
    state.selected = 5;
    for (i, now) in app::CLOCK_STEPS.iter().enumerate() {
        state.apply_view(with_faults(5, 0, *now));
        let next = app::CLOCK_STEPS[(i + 1) % app::CLOCK_STEPS.len()];
        assert_eq!(
            state.on_key(key('c')),
            run(PromptCommand::Clock {
                node: 5,
                rate: next
            }),
            "from {now}x"
        );
    }
    assert_eq!(app::CLOCK_STEPS, [1.0, 2.0, 0.5]);
    state.apply_view(with_faults(5, 0, 1.7));
    assert_eq!(
        state.update(Action::CycleClock),
        run(PromptCommand::Clock { node: 5, rate: 2.0 })
    );
}

#[test]
fn pause_resume_follows_the_cluster() {
    let mut fresh = AppState::new(5, Theme::Mono);
    assert_eq!(fresh.on_key(key(' ')), run(PromptCommand::Pause));
    let mut state = app_with(elected(), Vec::new());
    assert_eq!(state.on_key(key(' ')), run(PromptCommand::Pause));
    // The key does not flip anything itself: the next snapshot does.
    assert_eq!(state.on_key(key(' ')), run(PromptCommand::Pause));
    state.apply_view(paused_in_flight());
    assert_eq!(state.on_key(key(' ')), run(PromptCommand::Resume));
    assert_eq!(
        state.update(Action::PauseResume),
        run(PromptCommand::Resume)
    );
}

#[test]
fn faster_and_slower_scale_the_speed_by_one_and_a_half() {
    let mut state = AppState::new(5, Theme::Mono);
    assert_eq!(
        state.update(Action::Faster),
        run(PromptCommand::Speed(1.0 / 1.5))
    );
    let mut v = elected();
    v.status.speed = 2.0;
    state.apply_view(v);
    assert_eq!(state.on_key(key('+')), run(PromptCommand::Speed(2.0 / 1.5)));
    assert_eq!(state.on_key(key('=')), run(PromptCommand::Speed(2.0 / 1.5)));
    assert_eq!(state.on_key(key('-')), run(PromptCommand::Speed(3.0)));
    assert_eq!(state.update(Action::Slower), run(PromptCommand::Speed(3.0)));
}

#[test]
fn next_and_prev_message_cycle_and_clear() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    assert_eq!(state.message, None);
    assert!(state.on_key(key('n')).is_empty());
    assert_eq!(state.message, Some(0));
    state.on_key(key('n'));
    state.on_key(code(KeyCode::Down));
    assert_eq!(state.message, Some(2));
    state.on_key(key('n'));
    assert_eq!(state.message, Some(3));
    state.on_key(key('n'));
    assert_eq!(state.message, Some(0), "wraps forward");
    state.on_key(key('N'));
    assert_eq!(state.message, Some(3), "wraps backward");
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.message, Some(2));
    assert_eq!(state.selected_message(), Some(43));
    // From none, N takes the last.
    state.update(Action::Close);
    assert_eq!(state.message, None);
    state.update(Action::PrevMessage);
    assert_eq!(state.message, Some(3));
    // A snapshot with fewer messages clamps the selection; none left clears it.
    let mut fewer = paused_in_flight();
    fewer.in_flight.truncate(2);
    state.apply_view(fewer);
    assert_eq!(state.message, Some(1));
    let mut none = paused_in_flight();
    none.in_flight.clear();
    state.apply_view(none);
    assert_eq!(state.message, None);
    // Nothing in flight: nothing to select, and the status line says why.
    state.message = Some(0);
    state.update(Action::NextMessage);
    assert_eq!(state.message, None);
    assert!(
        state.status_line.starts_with("no message in flight"),
        "{}",
        state.status_line
    );
    state.update(Action::PrevMessage);
    assert_eq!(state.message, None);
}

#[test]
fn message_actions_need_a_selected_message() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    for k in ['x', 'u', 'g'] {
        assert!(state.on_key(key(k)).is_empty(), "{k} without a selection");
        assert!(
            state
                .status_line
                .starts_with("select a message in flight first"),
            "{}",
            state.status_line
        );
    }
    state.on_key(key('n'));
    state.on_key(key('n'));
    assert_eq!(state.on_key(key('x')), run(PromptCommand::DropMessage(42)));
    assert_eq!(state.on_key(key('u')), run(PromptCommand::DupMessage(42)));
    assert_eq!(
        state.on_key(key('g')),
        run(PromptCommand::DeliverMessage(42))
    );
    assert_eq!(
        state.update(Action::DropMessage),
        run(PromptCommand::DropMessage(42))
    );
    // Esc clears the selection.
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.message, None);
    assert!(state.update(Action::DeliverMessage).is_empty());
}

#[test]
fn log_scrolling_pages_back_and_forward_by_half_a_window() {
    let mut state = app_with(long_logs(), Vec::new());
    // 80 columns: (80 - 2 - 5) / 3 = 24 cells, so a page is 12.
    draw_keeping_layout(&mut state, 80, 24);
    assert_eq!(state.layout.log_cells, 24);
    assert_eq!(state.log_want().len, 24);
    assert_eq!(state.log_end, None);
    assert!(state.on_key(code(KeyCode::PageUp)).is_empty());
    assert_eq!(state.log_end, Some(88));
    state.on_key(code(KeyCode::PageUp));
    assert_eq!(state.log_end, Some(76));
    assert_eq!(state.log_want().end, Some(76));
    state.on_key(code(KeyCode::PageDown));
    assert_eq!(state.log_end, Some(88));
    state.on_key(code(KeyCode::PageDown));
    assert_eq!(state.log_end, None, "back at the tail");
    assert!(
        state.update(Action::LogForward).is_empty(),
        "forward at the tail"
    );
    assert_eq!(state.log_end, None);
    // Far back: never before a full window.
    for _ in 0..20 {
        state.update(Action::LogBack);
    }
    assert_eq!(state.log_end, Some(24));
    state.on_key(code(KeyCode::End));
    assert_eq!(state.log_end, None);
    // A log shorter than the window has nowhere to scroll to.
    let mut short = app_with(elected(), Vec::new());
    draw_keeping_layout(&mut short, 80, 24);
    short.update(Action::LogBack);
    assert_eq!(short.log_end, Some(8));
    short.update(Action::LogForward);
    assert_eq!(short.log_end, None);
}

#[test]
fn feed_filters_by_kind_and_node() {
    let mut state = app_with(elected(), election_story());
    state.apply_event(ev(3_000, 0, EventKind::Fault("slow 2 300ms".into())));
    state.apply_event(ev(
        3_100,
        2,
        EventKind::MessageDropped {
            id: 12,
            from: 2,
            to: 3,
            kind: MessageKind::AppendEntriesReply,
            why: "random drop".into(),
        },
    ));
    let count = |s: &AppState| s.visible_feed().count();
    let total = state.feed.len();
    assert_eq!(total, 14);
    let messages = 3;
    assert_eq!(state.feed_kind, FeedKind::Protocol);
    assert_eq!(count(&state), total - messages);
    let mut seen = Vec::new();
    for _ in 0..7 {
        assert!(state.on_key(key('f')).is_empty());
        seen.push((state.feed_kind, count(&state)));
    }
    assert_eq!(
        seen,
        [
            (FeedKind::Elections, 7),
            (FeedKind::Replication, 2),
            (FeedKind::Messages, 3),
            (FeedKind::Clients, 1),
            (FeedKind::Faults, 1),
            (FeedKind::All, 14),
            (FeedKind::Protocol, 11),
        ]
    );
    assert!(state
        .visible_feed()
        .all(|l| l.category != Category::Message));
    // F: only the selected node's lines.
    state.selected = 3;
    state.on_key(key('F'));
    assert!(state.feed_node_only);
    assert!(state.visible_feed().all(|l| l.node == 3));
    assert_eq!(count(&state), 8);
    state.update(Action::CycleFeedKind); // elections
    assert_eq!(count(&state), 5);
    state.selected = 1;
    assert_eq!(count(&state), 2, "follows the selection");
    state.update(Action::ToggleFeedNode);
    assert!(!state.feed_node_only);
    assert_eq!(count(&state), 7);
    // The feed's title names the filter.
    state.update(Action::ToggleFeedNode);
    let screen = Screen::of(&state, 140, 45);
    assert!(screen
        .find(" events: elections, node 1 (f: kind, F: node, e: look back) ")
        .is_some());
}

#[test]
fn q_and_ctrl_c_quit() {
    let mut state = app_with(elected(), Vec::new());
    assert!(state.on_key(key('q')).is_empty());
    assert!(state.quit);
    let mut state = app_with(elected(), Vec::new());
    state.update(Action::Quit);
    assert!(state.quit);
    // Ctrl-C from anywhere, the prompt included.
    for focus in [Focus::Main, Focus::Prompt, Focus::Help, Focus::Detail] {
        let mut state = app_with(elected(), Vec::new());
        state.focus = focus;
        assert!(state.on_key(ctrl('c')).is_empty());
        assert!(state.quit, "{focus:?}");
    }
    // In the prompt q is a letter; in an overlay it closes the overlay.
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":q");
    assert!(!state.quit);
    assert_eq!(state.prompt.input, "q");
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    state.on_key(key('q'));
    assert!(!state.quit);
    assert_eq!(state.focus, Focus::Main);
    // Ctrl with another letter does nothing.
    let mut state = app_with(elected(), Vec::new());
    assert!(state.on_key(ctrl('k')).is_empty());
    assert!(!state.quit);
}

#[test]
fn z_zooms_each_panel_in_turn_then_every_panel_again() {
    let mut state = app_with(elected(), election_story());
    let mut seen = Vec::new();
    while {
        state.on_key(key('z'));
        state.zoom.is_some()
    } {
        seen.push(state.zoom);
        assert!(
            state.status_line.starts_with("zoom: "),
            "{}",
            state.status_line
        );
    }
    use Panel::*;
    // No scenario runs: no narration.
    let want = [Ring, Nodes, Logs, Events, Side].map(Some);
    assert_eq!(seen, want);
    // With a scenario, its narration comes before the state machine.
    with_scenario(&mut state, "A step.");
    for want in [Ring, Nodes, Logs, Events, Narration, Side] {
        state.on_key(key('z'));
        assert_eq!(state.zoom, Some(want));
    }
    state.on_key(key('z'));
    assert_eq!(state.zoom, None);
}

#[test]
fn the_zoomed_panel_fills_the_screen_and_keys_still_act() {
    let mut state = app_with(long_logs(), election_story());
    let cells = layout(&state, 80, 24).log_cells;
    state.update(Action::Zoom);
    state.update(Action::Zoom);
    state.update(Action::Zoom);
    assert_eq!(state.zoom, Some(Panel::Logs));
    let screen = Screen::of(&state, 80, 24);
    // Header, the logs, the footer: no ring, table or events.
    assert!(screen.row(1).starts_with("┌ logs ("), "{}", screen.text());
    assert!(screen.find(" cluster ").is_none());
    assert!(screen.find(" events:").is_none());
    assert!(
        screen.row(21).contains("z: zoom events · Esc: every panel"),
        "{}",
        screen.text()
    );
    // Keys act as ever: the logs scroll, the selected node is killed.
    draw_keeping_layout(&mut state, 80, 24);
    assert!(state.layout.log_cells >= cells);
    state.on_key(code(KeyCode::PageUp));
    assert!(state.log_end.is_some());
    assert_eq!(state.on_key(key('k')), run(PromptCommand::Kill(1)));
    assert_eq!(state.zoom, Some(Panel::Logs));
}

#[test]
fn esc_leaves_the_zoom_then_deselects_the_message() {
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.on_key(key('n'));
    assert_eq!(state.message, Some(0));
    state.on_key(key('z'));
    assert_eq!(state.zoom, Some(Panel::Ring));
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.zoom, None);
    assert_eq!(state.message, Some(0), "the first Esc only leaves the zoom");
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.message, None);
}

#[test]
fn b_switches_the_bottom_panel_where_they_do_not_all_fit() {
    // 80 wide: one bottom panel; b goes events → state machine → events.
    let mut state = app_with(elected(), election_story());
    draw_keeping_layout(&mut state, 80, 24);
    let title = |state: &AppState| {
        let screen = Screen::of(state, 80, 24);
        (
            screen.find(" events: protocol").is_some(),
            screen.find(" state machine:").is_some(),
        )
    };
    assert_eq!(title(&state), (true, false));
    assert!(Screen::of(&state, 80, 24)
        .row(21)
        .contains("b: switch to state machine"));
    state.on_key(key('b'));
    assert_eq!(title(&state), (false, true));
    assert!(state.status_line.starts_with("bottom panel: state machine"));
    state.on_key(key('b'));
    assert_eq!(title(&state), (true, false));
    // With a scenario: narration first, then events, then the state machine.
    with_scenario(&mut state, "A step.");
    state.bottom = None;
    assert!(Screen::of(&state, 80, 24)
        .find(" scenario figure-8")
        .is_some());
    for want in [Panel::Side, Panel::Events, Panel::Narration] {
        state.on_key(key('b'));
        assert_eq!(state.bottom, Some(want));
    }
    // 140 wide: the events stay on the left; b switches narration and state machine.
    draw_keeping_layout(&mut state, 140, 45);
    let screen = Screen::of(&state, 140, 45);
    assert!(screen.find(" events:").is_some() && screen.find(" scenario").is_some());
    state.on_key(key('b'));
    let screen = Screen::of(&state, 140, 45);
    assert!(screen.find(" events:").is_some() && screen.find(" state machine:").is_some());
    assert!(screen.find(" scenario").is_none());
    // Without a scenario everything fits at 140: b says so and changes nothing.
    state.narration = None;
    let panels = |state: &AppState| {
        let text = Screen::of(state, 140, 45).text();
        text.lines().take(43).collect::<Vec<_>>().join("\n")
    };
    let before = panels(&state);
    state.on_key(key('b'));
    assert!(state.status_line.starts_with("every bottom panel shows"));
    assert_eq!(panels(&state), before);
}

#[test]
fn selecting_a_message_shows_it_on_a_small_screen() {
    let mut state = app_with(paused_in_flight(), election_story());
    draw_keeping_layout(&mut state, 80, 24);
    assert!(Screen::of(&state, 80, 24).find(" events:").is_some());
    state.on_key(key('n'));
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.find("4 in flight").is_some(), "{}", screen.text());
    assert!(screen.find(" events:").is_none());
}

#[test]
fn the_focused_feed_takes_arrows_pages_enter_and_esc_and_leaves_the_rest_to_the_main_keys() {
    use raftlab::tui::action::{action_for, Mode};
    let feed = |ev: KeyEvent| action_for(Mode::Feed, &ev, 5);
    assert_eq!(
        action_for(Mode::Main, &key('e'), 5),
        Some(Action::FocusFeed)
    );
    assert_eq!(feed(code(KeyCode::Up)), Some(Action::FeedOlder));
    assert_eq!(feed(code(KeyCode::Down)), Some(Action::FeedNewer));
    assert_eq!(feed(code(KeyCode::PageUp)), Some(Action::FeedPageBack));
    assert_eq!(feed(code(KeyCode::PageDown)), Some(Action::FeedPageForward));
    assert_eq!(feed(code(KeyCode::Home)), Some(Action::FeedOldest));
    assert_eq!(feed(code(KeyCode::End)), Some(Action::FeedFollow));
    assert_eq!(feed(code(KeyCode::Enter)), Some(Action::FeedOpen));
    assert_eq!(feed(code(KeyCode::Esc)), Some(Action::FeedLeave));
    assert_eq!(feed(key('e')), Some(Action::FeedLeave));
    // The main screen's other keys still act: pause, kill, the filters, the digits.
    assert_eq!(feed(key(' ')), Some(Action::PauseResume));
    assert_eq!(feed(key('k')), Some(Action::Kill));
    assert_eq!(feed(key('f')), Some(Action::CycleFeedKind));
    assert_eq!(feed(key('3')), Some(Action::Select(3)));
    assert_eq!(feed(ctrl('c')), Some(Action::Quit));
    // The state's mode follows the focus; the prompt and overlays still take over.
    let mut state = app_with(elected(), election_story());
    state.on_key(key('e'));
    assert_eq!(state.mode(), Mode::Feed);
    state.on_key(key('?'));
    assert_eq!(state.mode(), Mode::Help);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.mode(), Mode::Feed, "back to the feed after the help");
    // Enter in the feed opens an event, not the node detail.
    state.on_key(code(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Main);
    assert!(state.feed_cursor.open.is_some());
}
