//! The verdict on the history and the nemesis: the footer's status segment in each state (also as
//! whole screens), the history overlay, `apply_notice`, and the keys and commands that start a
//! nemesis or show and save the history.

use super::*;

/// An operation at fixed times (ms), so the verdict's timeline is the same on every run.
fn operation(id: u64, client: u64, ms: (u64, u64), op: KvOp, output: KvOutput) -> Operation {
    Operation {
        id,
        client,
        invoke_us: ms.0 * 1_000,
        complete_us: Some(ms.1 * 1_000),
        op,
        output: Some(output),
        error: None,
    }
}

/// A stale read on `x`: client 1 writes 1, then client 0 (the user) reads nothing, after the
/// write was acknowledged; a read of `y` that is fine.
fn stale_read() -> CheckResult {
    let ops = vec![
        operation(
            0,
            1,
            (0, 12),
            KvOp::Put {
                key: "x".into(),
                value: "1".into(),
            },
            KvOutput::Put { previous: None },
        ),
        operation(
            1,
            0,
            (30, 41),
            KvOp::Get { key: "x".into() },
            KvOutput::Get { value: None },
        ),
        operation(
            2,
            0,
            (50, 52),
            KvOp::Get { key: "y".into() },
            KvOutput::Get { value: None },
        ),
    ];
    let result = check::check(&ops, Duration::from_secs(10));
    assert!(
        matches!(&result, CheckResult::NotLinearizable { key, .. } if key == "x"),
        "{result}"
    );
    result
}

fn counts(ok: usize, failed: usize, unknown: usize, in_flight: usize) -> Counts {
    Counts {
        ok,
        failed,
        unknown,
        in_flight,
    }
}

/// `state` after the checker reported `n` operations (all ok) and `result` on them.
fn judged(mut state: AppState, n: usize, result: CheckResult) -> AppState {
    state.apply_notice(Notice::Counts(counts(n, 0, 0, 0)));
    state.apply_notice(Notice::Checking(true));
    state.apply_notice(Notice::Verdict { ops: n, result });
    state.apply_notice(Notice::Checking(false));
    state
}

fn linearizable_state() -> AppState {
    let state = app_with(elected(), election_story());
    judged(state, 1_234, CheckResult::Linearizable)
}

fn violation_state() -> AppState {
    let state = app_with(elected(), election_story());
    let mut state = judged(state, 1_240, stale_read());
    state.apply_notice(Notice::Counts(counts(1_236, 2, 1, 1)));
    state
}

/// A nemesis 18 s into a 30 s run: its first line and a fault in the feed.
fn nemesis_state() -> AppState {
    let mut events = election_story();
    events.push(ev(3_100, 0, EventKind::Fault("isolate node 3".into())));
    let mut state = app_with(elected(), Vec::new());
    state.apply_notice(Notice::Feed {
        at: Duration::from_millis(2_500),
        text: "nemesis: 30 s of every fault, 4 clients on keys k0..k2 (seed 7)".into(),
    });
    for e in events
        .into_iter()
        .filter(|e| e.at >= Duration::from_millis(2_600))
    {
        state.apply_event(e);
    }
    state.apply_result(
        "nemesis: 30 s of random faults, 4 clients on 3 keys (C or nemesis stop ends it)".into(),
    );
    state.apply_notice(Notice::Nemesis(Some(NemesisView::Running {
        left: Duration::from_secs(12),
    })));
    judged(state, 381, CheckResult::Linearizable)
}

/// The footer's key row at `w`×`h` (the last row).
fn key_row(state: &AppState, w: u16, h: u16) -> String {
    Screen::of(state, w, h).row(h as usize - 1)
}

#[test]
fn screen_verdict_linearizable() {
    let state = linearizable_state();
    for (w, h) in SIZES {
        snapshot("verdict_linearizable", &state, w, h);
    }
}

#[test]
fn screen_verdict_not_linearizable() {
    let state = violation_state();
    for (w, h) in SIZES {
        snapshot("verdict_not_linearizable", &state, w, h);
    }
}

#[test]
fn screen_nemesis_running() {
    let state = nemesis_state();
    for (w, h) in SIZES {
        snapshot("nemesis_running", &state, w, h);
    }
}

#[test]
fn screen_history_overlay_with_the_failing_window() {
    let mut state = violation_state();
    state.update(Action::ToggleHistory);
    assert_eq!(state.focus, Focus::History);
    for (w, h) in SIZES {
        snapshot("history_overlay_not_linearizable", &state, w, h);
    }
}

#[test]
fn no_verdict_segment_before_the_first_operation() {
    let state = app_with(elected(), Vec::new());
    for (w, h) in SIZES {
        let row = key_row(&state, w, h);
        assert!(!row.contains("ops"), "{row:?}");
        assert!(!row.contains("linearizable"), "{row:?}");
    }
}

#[test]
fn the_verdict_segment_says_each_state_at_80_columns() {
    let base = || app_with(elected(), Vec::new());
    let cases: Vec<(AppState, &str)> = vec![
        (linearizable_state(), "ops 1,234 · linearizable ✓"),
        (
            violation_state(),
            "ops 1,240 · NOT LINEARIZABLE ✗ key x (v: why)",
        ),
        (
            nemesis_state(),
            "nemesis 12 s left · ops 381 · linearizable ✓",
        ),
        (
            judged(
                base(),
                9,
                CheckResult::GaveUp {
                    key: "k1".into(),
                    reason: "budget".into(),
                },
            ),
            "ops 9 · undecided (gave up)",
        ),
        (
            {
                let mut s = judged(base(), 3, CheckResult::Linearizable);
                s.apply_notice(Notice::Counts(counts(4, 0, 0, 0)));
                s.apply_notice(Notice::Checking(true));
                s
            },
            "ops 4 · checking",
        ),
        (
            {
                let mut s = base();
                s.apply_notice(Notice::Counts(counts(0, 0, 0, 1)));
                s
            },
            "ops 1 · checking",
        ),
        (
            {
                let mut s = judged(base(), 5, CheckResult::Linearizable);
                s.apply_notice(Notice::Nemesis(Some(NemesisView::Finishing)));
                s
            },
            "nemesis: healing, checking · ops 5 · linearizable ✓",
        ),
    ];
    for (state, want) in cases {
        for (w, h) in SIZES {
            let row = key_row(&state, w, h);
            assert!(row.starts_with("1-9 select"), "{row:?}");
            assert!(
                row.trim_end().ends_with(want),
                "{want:?} not at the end of {row:?}"
            );
        }
    }
}

#[test]
fn a_long_verdict_gives_way_but_keeps_the_verdict_at_40_columns() {
    let mut state = violation_state();
    state.apply_notice(Notice::Nemesis(Some(NemesisView::Running {
        left: Duration::from_secs(25),
    })));
    let row = key_row(&state, 40, 12);
    assert!(row.starts_with("1-9 select"), "{row:?}");
    assert!(row.contains("NOT LINEARIZABLE ✗ key x"), "{row:?}");
    let row = key_row(&state, 80, 24);
    assert!(
        row.contains("nemesis 25 s left · ops 1,240 · NOT LINEARIZABLE ✗ key x"),
        "{row:?}"
    );
}

#[test]
fn the_history_overlay_shows_counts_and_the_verdict() {
    let mut state = linearizable_state();
    state.apply_notice(Notice::Counts(counts(1_230, 3, 1, 0)));
    type_keys(&mut state, ":history");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::History);
    let text = Screen::of(&state, 140, 45).text();
    for want in [
        "1,234 operations recorded",
        "1,230 ok · 3 failed (known not applied) · 1 unknown",
        "Verdict on the first 1,234 operations: linearizable ✓",
        "Client 0 is you",
        ":history save FILE",
    ] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }
    // v and Esc close it.
    state.on_key(key('v'));
    assert_eq!(state.focus, Focus::Main);
    state.on_key(key('v'));
    assert_eq!(state.focus, Focus::History);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.focus, Focus::Main);
}

#[test]
fn the_history_overlay_shows_the_failing_window_at_80x24_by_scrolling() {
    let mut state = violation_state();
    state.on_key(key('v'));
    let top = Screen::of(&state, 80, 24).text();
    assert!(top.contains("NOT LINEARIZABLE ✗ key x"), "{top}");
    for _ in 0..40 {
        state.on_key(code(KeyCode::Down));
    }
    let bottom = Screen::of(&state, 80, 24).text();
    assert!(bottom.contains(":history save FILE"), "{bottom}");
    assert!(top.contains("client") || bottom.contains("client"));
}

#[test]
fn the_history_overlay_before_any_operation_says_how_to_make_some() {
    let mut state = app_with(elected(), Vec::new());
    state.update(Action::ToggleHistory);
    let text = Screen::of(&state, 140, 45).text();
    assert!(text.contains("0 operations recorded"), "{text}");
    assert!(text.contains("Nothing to judge yet"), "{text}");
}

#[test]
fn the_nemesis_key_starts_one_or_stops_the_one_running() {
    let mut state = app_with(elected(), Vec::new());
    assert_eq!(
        state.on_key(key('C')),
        run(PromptCommand::Nemesis(Duration::from_secs(30)))
    );
    assert_eq!(
        state.update(Action::Nemesis),
        run(PromptCommand::Nemesis(Duration::from_secs(30)))
    );
    state.apply_notice(Notice::Nemesis(Some(NemesisView::Running {
        left: Duration::from_secs(30),
    })));
    assert_eq!(state.on_key(key('C')), run(PromptCommand::NemesisStop));
    state.apply_notice(Notice::Nemesis(Some(NemesisView::Finishing)));
    assert_eq!(state.on_key(key('C')), run(PromptCommand::NemesisStop));
    state.apply_notice(Notice::Nemesis(None));
    assert_eq!(
        state.on_key(key('C')),
        run(PromptCommand::Nemesis(Duration::from_secs(30)))
    );
    // Under an overlay, C does nothing.
    state.on_key(key('?'));
    assert!(state.on_key(key('C')).is_empty());
}

#[test]
fn prompt_nemesis_and_history_commands() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":nemesis 10");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Nemesis(Duration::from_secs(10)))
    );
    type_keys(&mut state, ":nemesis stop");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::NemesisStop)
    );
    type_keys(&mut state, ":history save runs/h.jsonl");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::HistorySave("runs/h.jsonl".into()))
    );
    // Shown locally: no effect.
    type_keys(&mut state, ":history");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::History);
    state.on_key(code(KeyCode::Esc));
    // Errors stay in the footer.
    type_keys(&mut state, ":nemesis forever");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        state.status_line.starts_with("error: nemesis: "),
        "{}",
        state.status_line
    );
    type_keys(&mut state, ":history save");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        state.status_line,
        "error: history: missing FILE (usage: history [save FILE])"
    );
}

#[test]
fn the_verdict_on_the_longest_history_wins_and_a_violation_stays() {
    let mut state = app_with(elected(), Vec::new());
    state.dirty = false;
    state.apply_notice(Notice::Verdict {
        ops: 10,
        result: CheckResult::Linearizable,
    });
    assert!(state.dirty);
    assert_eq!(state.check.verdict, Some((10, CheckResult::Linearizable)));
    // An older check that finished late does not replace a newer one.
    let gave_up = CheckResult::GaveUp {
        key: "x".into(),
        reason: "budget".into(),
    };
    state.apply_notice(Notice::Verdict {
        ops: 8,
        result: gave_up.clone(),
    });
    assert_eq!(state.check.verdict, Some((10, CheckResult::Linearizable)));
    state.apply_notice(Notice::Verdict {
        ops: 12,
        result: gave_up.clone(),
    });
    assert_eq!(state.check.verdict, Some((12, gave_up)));
    // A violation replaces anything and stays.
    let violation = stale_read();
    state.apply_notice(Notice::Verdict {
        ops: 11,
        result: violation.clone(),
    });
    assert_eq!(state.check.violation(), Some("x"));
    state.apply_notice(Notice::Verdict {
        ops: 50,
        result: CheckResult::Linearizable,
    });
    assert_eq!(state.check.verdict, Some((11, violation)));
}

#[test]
fn nemesis_notices_feed_the_feed_and_the_status_line() {
    let mut state = app_with(elected(), Vec::new());
    state.apply_notice(Notice::Feed {
        at: Duration::from_secs(40),
        text: "verdict: linearizable ✓ (381 operations)".into(),
    });
    let line = state.feed.back().expect("a feed line");
    assert_eq!(line.category, Category::Fault);
    assert_eq!((line.node, line.at), (0, Duration::from_secs(40)));
    state.apply_notice(Notice::Status("verdict: linearizable ✓".into()));
    assert_eq!(state.status_line, "verdict: linearizable ✓");
    let text = Screen::of(&state, 140, 45).text();
    assert!(
        text.contains("verdict: linearizable ✓ (381 operations)"),
        "{text}"
    );
}

#[test]
fn help_mentions_the_verdict_line_the_nemesis_key_and_commands() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    // Scroll through the whole overlay at 80×24, collecting its text.
    let mut text = String::new();
    for _ in 0..30 {
        text += &Screen::of(&state, 80, 24).text();
        for _ in 0..10 {
            state.on_key(code(KeyCode::Down));
        }
    }
    for want in [
        "chaos: run a 30 s nemesis",
        "nemesis [SECS|stop]",
        "history [save FILE]",
        "Verdict (footer, right)",
        "ops 1,234 · linearizable ✓",
        "NOT LINEARIZABLE ✗ key x",
    ] {
        assert!(text.contains(want), "{want:?} missing from the help");
    }
}

/// A linearizable history on two keys with every kind of outcome: answered, refused (no leader),
/// unknown (timed out: open-ended), and one still waiting.
fn mixed_history() -> Vec<Operation> {
    let put = |key: &str, value: &str| KvOp::Put {
        key: key.into(),
        value: value.into(),
    };
    let mut ops = vec![
        operation(
            0,
            0,
            (1_000, 1_012),
            put("y", "2"),
            KvOutput::Put { previous: None },
        ),
        operation(
            1,
            1,
            (1_500, 1_520),
            KvOp::Get { key: "x".into() },
            KvOutput::Get { value: None },
        ),
        operation(
            2,
            2,
            (2_000, 2_004),
            put("x", "2.1"),
            KvOutput::Put { previous: None },
        ),
    ];
    ops.push(Operation {
        error: Some("Unavailable: no leader known".into()),
        output: None,
        ..operation(
            3,
            1,
            (2_500, 2_503),
            put("x", "1.2"),
            KvOutput::Put { previous: None },
        )
    });
    ops.push(Operation {
        error: Some("DeadlineExceeded: outcome unknown: not applied within 2000 ms".into()),
        output: None,
        complete_us: None,
        ..operation(
            4,
            0,
            (3_000, 0),
            put("y", "3"),
            KvOutput::Put { previous: None },
        )
    });
    ops.push(Operation {
        error: Some("in flight".into()),
        output: None,
        complete_us: None,
        ..operation(
            5,
            2,
            (3_200, 0),
            KvOp::Get { key: "y".into() },
            KvOutput::Get { value: None },
        )
    });
    ops
}

fn timeline_state() -> AppState {
    let mut state = app_with(elected(), election_story());
    state.apply_notice(Notice::Operations(std::sync::Arc::new(mixed_history())));
    let mut state = judged(state, 6, CheckResult::Linearizable);
    state.apply_notice(Notice::Counts(counts(3, 1, 1, 1)));
    state.update(Action::ToggleHistory);
    state
}

#[test]
fn the_history_overlay_lists_every_operation_per_key_when_linearizable() {
    let state = timeline_state();
    let text = Screen::of(&state, 140, 45).text();
    for want in [
        "1 failed: 1 no leader (during an election, or cut off)",
        "1 unknown: 1 timed out (may still apply)",
        "Timeline per key",
        "key x: 3 operations",
        "c1 1.50→1.52",
        "get x → absent",
        "c1 2.50→2.50",
        "put x=\"1.2\" → failed: no leader (during an election, or cut off)",
        "key y: 3 operations",
        "c0 3.00→…",
        "put y=\"3\" → unknown: timed out (may still apply); may take effect any time",
        "get y → waiting for its answer",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    // Keys in order, operations in the order they were sent.
    let x = text.find("key x:").expect("key x listed");
    let y = text.find("key y:").expect("key y listed");
    assert!(x < y);
    snapshot("history_overlay_timeline", &state, 80, 24);
}

#[test]
fn the_timeline_scrolls_to_its_last_operation() {
    let mut state = timeline_state();
    let _ = draw_keeping_layout(&mut state, 80, 24);
    for _ in 0..200 {
        state.update(Action::Scroll(1));
    }
    let text = draw_keeping_layout(&mut state, 80, 24);
    let screen = text.backend().to_string();
    assert!(
        screen.contains("get y → waiting for its answer"),
        "{screen}"
    );
    assert!(screen.contains("history save FILE"), "{screen}");
}
