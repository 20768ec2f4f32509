//! What the cluster feeds the state: snapshots and bus events, their categories, and when the
//! screen must be redrawn.

use super::*;
use raftlab::tui::action::Mode;

#[test]
fn snapshot_events_are_replication() {
    for t in [
        TraceEvent::SnapshotTaken {
            index: 40,
            term: 4,
            bytes: 1_024,
        },
        TraceEvent::SnapshotSending {
            to: 2,
            index: 40,
            bytes: 1_024,
            next_index: 13,
        },
        TraceEvent::SnapshotInstalled {
            index: 40,
            term: 4,
            leader: 3,
            bytes: 1_024,
            kept_suffix: false,
        },
        TraceEvent::SnapshotDelivered { to: 2, index: 40 },
    ] {
        assert_eq!(
            feed::category(&EventKind::Trace(t.clone())),
            Category::Replication,
            "{t}"
        );
    }
    // Shown under the default filter and under replication.
    let mut state = app_with(snapshot_transfer(), snapshot_story());
    assert_eq!(state.visible_feed().count(), 5);
    state.feed_kind = FeedKind::Replication;
    assert_eq!(state.visible_feed().count(), 4);
}

#[test]
fn apply_view_marks_dirty_only_when_something_changed() {
    let mut state = AppState::new(5, Theme::Mono);
    assert!(state.dirty);
    state.dirty = false;
    state.apply_view(elected());
    assert!(state.dirty, "the first snapshot");
    assert!(state.status_line.starts_with("cluster up."));
    state.dirty = false;
    state.apply_view(elected());
    assert!(!state.dirty, "the same snapshot");
    let mut later = elected();
    later.at += Duration::from_secs(1);
    state.apply_view(later);
    assert!(!state.dirty, "only the time moved");
    let mut v = elected();
    v.status.nodes[0].status.election_elapsed += 1;
    state.apply_view(v);
    assert!(state.dirty, "a timer moved");
    state.dirty = false;
    let mut v = elected();
    v.kv.insert(2, kv_after(7));
    state.apply_view(v);
    assert!(state.dirty, "the state machine changed");
    state.dirty = false;
    let mut v = elected();
    v.logs.insert(2, LogWindow::default());
    state.apply_view(v);
    assert!(state.dirty, "a log changed");
    // Paused with messages on the wire: dirty when they change, not otherwise.
    state.apply_view(paused_in_flight());
    state.dirty = false;
    state.apply_view(paused_in_flight());
    assert!(!state.dirty, "paused, nothing moved");
    // Running with messages on the wire: they move with the clock, so always dirty.
    let mut running = paused_in_flight();
    running.status.paused = false;
    state.apply_view(running.clone());
    state.dirty = false;
    state.apply_view(running);
    assert!(state.dirty, "messages moving");
    // The status line set by the first snapshot is not reset by later ones.
    state.status_line = "kept".into();
    state.apply_view(elected());
    assert_eq!(state.status_line, "kept");
}

#[test]
fn apply_event_marks_dirty_only_for_lines_the_feed_shows() {
    let mut state = app_with(elected(), Vec::new());
    state.dirty = false;
    let sent = ev(
        1_000,
        3,
        EventKind::MessageSent {
            id: 1,
            from: 3,
            to: 1,
            kind: MessageKind::Heartbeat,
            term: 4,
            delay: Duration::ZERO,
        },
    );
    state.apply_event(sent.clone());
    assert!(!state.dirty, "messages are hidden by default");
    assert_eq!(state.feed.len(), 1, "but kept");
    state.apply_event(ev(1_001, 0, EventKind::Fault("heal".into())));
    assert!(state.dirty);
    state.feed_kind = FeedKind::Messages;
    state.dirty = false;
    state.apply_event(sent);
    assert!(state.dirty);
    // Drops are remembered for the ring, at most 64.
    for i in 0..70 {
        state.apply_event(ev(
            2_000 + i,
            1,
            EventKind::MessageDropped {
                id: i,
                from: 1,
                to: 2,
                kind: MessageKind::Heartbeat,
                why: "link cut".into(),
            },
        ));
    }
    assert_eq!(state.drops.len(), 64);
    assert_eq!(
        state.drops.back().map(|d| d.at),
        Some(Duration::from_millis(2_069))
    );
    // The feed keeps at most FEED_CAPACITY lines, dropping the oldest.
    for i in 0..feed::FEED_CAPACITY as u64 {
        state.apply_event(ev(10_000 + i, 0, EventKind::NodeUp));
    }
    assert_eq!(state.feed.len(), feed::FEED_CAPACITY);
    assert_eq!(
        state.feed.front().map(|l| l.at),
        Some(Duration::from_millis(10_000))
    );
}

#[test]
fn keys_and_results_mark_dirty() {
    let mut state = app_with(elected(), Vec::new());
    state.dirty = false;
    state.on_key(key('Z'));
    assert!(state.dirty, "any key redraws");
    state.dirty = false;
    state.apply_result("killed 2".into());
    assert!(state.dirty);
    assert_eq!(state.status_line, "killed 2");
}

// ----------------------------------------------------------------------------------------------
// The event feed: the sticky election line, wrapping, looking back (e), an event in full
// ----------------------------------------------------------------------------------------------

/// `n` fault lines, one every 100 ms from 3 s: "fault 0", "fault 1", ...
fn faults(n: u64) -> Vec<Event> {
    (0..n)
        .map(|i| ev(3_000 + i * 100, 0, EventKind::Fault(format!("fault {i}"))))
        .collect()
}

/// The rows inside the event feed's block at `w`×`h`, trimmed at the end.
fn feed_rows(state: &AppState, w: u16, h: u16) -> Vec<String> {
    Screen::of(state, w, h)
        .block(" events")
        .iter()
        .map(|r| r.trim_end().to_string())
        .collect()
}

/// The feed block's title row at `w`×`h`.
fn feed_title(state: &AppState, w: u16, h: u16) -> String {
    let screen = Screen::of(state, w, h);
    let (_, y) = screen.find(" events").expect("the feed's title");
    screen.row(y)
}

#[test]
fn the_feed_keeps_the_last_election_on_its_first_line() {
    let mut events = election_story();
    // Enough later lines that the election's own lines scroll away.
    events.extend(faults(30));
    let state = app_with(elected(), events);
    let rows = feed_rows(&state, 120, 40);
    let sticky = format!("{} {}", rows[0], rows[1].trim_start());
    assert_eq!(
        sticky,
        "last election: node 3 timed out first (17 ticks), won term 4 with votes of 1, 3 and 5",
        "{rows:#?}"
    );
    assert!(
        !rows.iter().any(|r| r.contains("became leader")),
        "the election's lines scrolled away: {rows:#?}"
    );
    assert!(rows.last().is_some_and(|r| r.ends_with("fault 29")));
}

#[test]
fn the_sticky_line_says_who_is_asking_while_an_election_runs() {
    let mut events = election_story();
    events.extend([
        trace(
            5_000,
            2,
            TraceEvent::ElectionTimeout {
                term: 4,
                timeout: 21,
            },
        ),
        trace(5_000, 2, TraceEvent::BecameCandidate { term: 5 }),
    ]);
    let state = app_with(elected(), events);
    let rows = feed_rows(&state, 120, 40);
    assert_eq!(
        rows[0], "electing now: term 5: node 2 is asking for votes (1 of 3 so far)",
        "{rows:#?}"
    );
}

#[test]
fn long_feed_lines_wrap_at_word_boundaries_under_their_text() {
    let rejected = TraceEvent::AppendRejected {
        to: 3,
        term: 4,
        reason: AppendRejectReason::TermMismatch {
            index: 40,
            ours: 2,
            theirs: 4,
        },
        conflict_index: 26,
        conflict_term: 2,
    };
    let text = rejected.to_string();
    let state = app_with(elected(), vec![trace(12_000, 2, rejected)]);
    for (w, h) in [(120, 40), (140, 45)] {
        let rows = feed_rows(&state, w, h);
        let inner = rows.first().map_or(0, |_| {
            Screen::of(&state, w, h).block(" events")[0].chars().count()
        });
        let first = rows
            .iter()
            .position(|r| r.starts_with("  12.0s  2 rejected"))
            .unwrap_or_else(|| panic!("{w}x{h}: no rejected line in {rows:#?}"));
        let part: Vec<&String> = rows[first..].iter().take_while(|r| !r.is_empty()).collect();
        assert!(part.len() >= 2, "{w}x{h}: the line wraps: {rows:#?}");
        // Continuation rows are indented under the text; together the rows hold every word,
        // whole, in order.
        let mut words: Vec<String> = Vec::new();
        for (i, r) in part.iter().enumerate() {
            assert!(r.chars().count() <= inner, "{w}x{h}: {r:?} fits");
            let body: String = r.chars().skip(11).collect();
            if i > 0 {
                assert!(r.starts_with(&" ".repeat(11)), "{w}x{h}: {r:?}");
            }
            words.extend(body.split_whitespace().map(str::to_string));
        }
        let want: Vec<String> = text.split_whitespace().map(str::to_string).collect();
        assert_eq!(words, want, "{w}x{h}: {rows:#?}");
    }
}

#[test]
fn e_focuses_the_feed_and_it_holds_still_while_you_look_back() {
    let mut state = app_with(elected(), faults(40));
    draw_keeping_layout(&mut state, 120, 40);
    assert!(!feed_title(&state, 120, 40).contains('⏸'));
    assert!(state.on_key(key('e')).is_empty());
    assert_eq!(state.mode(), Mode::Feed);
    assert!(feed_title(&state, 120, 40).contains("following"));
    // ↑ selects the newest line shown and stops following.
    state.on_key(code(KeyCode::Up));
    draw_keeping_layout(&mut state, 120, 40);
    let newest = state.visible_feed_seq().last().map(|(s, _)| s);
    assert_eq!(state.feed_cursor.selected, newest);
    let rows = feed_rows(&state, 120, 40);
    assert!(
        rows.iter()
            .any(|r| r.starts_with("▶") && r.ends_with("fault 39")),
        "{rows:#?}"
    );
    // New lines arrive: the feed shows the same lines and says how many wait.
    state.apply_event(ev(9_000, 0, EventKind::Fault("fault 40".into())));
    state.apply_event(ev(9_100, 0, EventKind::Fault("fault 41".into())));
    assert_eq!(feed_rows(&state, 120, 40), rows);
    assert!(
        feed_title(&state, 120, 40).contains("⏸ 2 newer (End follows)"),
        "{}",
        feed_title(&state, 120, 40)
    );
    // ↑ past the top scrolls back, one line at a time; the selection stays on screen.
    for _ in 0..20 {
        state.on_key(code(KeyCode::Up));
        draw_keeping_layout(&mut state, 120, 40);
    }
    let rows = feed_rows(&state, 120, 40);
    assert!(
        rows.iter()
            .any(|r| r.starts_with("▶") && r.ends_with("fault 19")),
        "{rows:#?}"
    );
    assert!(!rows.iter().any(|r| r.ends_with("fault 39")), "{rows:#?}");
    // ↓ moves the selection down again.
    state.on_key(code(KeyCode::Down));
    let rows = feed_rows(&state, 120, 40);
    assert!(
        rows.iter()
            .any(|r| r.starts_with("▶") && r.ends_with("fault 20")),
        "{rows:#?}"
    );
    // End follows the newest again, still focused; Esc gives the keyboard back.
    state.on_key(code(KeyCode::End));
    assert_eq!(state.feed_cursor.anchor, None);
    let rows = feed_rows(&state, 120, 40);
    assert!(rows.last().is_some_and(|r| r.ends_with("fault 41")));
    assert!(!feed_title(&state, 120, 40).contains('⏸'));
    assert_eq!(state.mode(), Mode::Feed);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.mode(), Mode::Main);
    // Back on the main screen, ↑ selects messages in flight again.
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.feed_cursor, app::FeedCursor::default());
}

#[test]
fn pages_home_and_end_scroll_the_feed() {
    let mut state = app_with(elected(), faults(100));
    draw_keeping_layout(&mut state, 120, 40);
    state.on_key(key('e'));
    let page = usize::from(state.layout.feed_rows);
    assert!(page >= 5, "{page}");
    state.on_key(code(KeyCode::PageUp));
    let rows = feed_rows(&state, 120, 40);
    let last = format!("fault {}", 99 - (page - 1));
    assert!(
        rows.last().is_some_and(|r| r.ends_with(&last)),
        "{last}: {rows:#?}"
    );
    assert!(feed_title(&state, 120, 40).contains(&format!("⏸ {} newer", page - 1)));
    state.on_key(code(KeyCode::Home));
    draw_keeping_layout(&mut state, 120, 40);
    let rows = feed_rows(&state, 120, 40);
    let first = rows
        .iter()
        .position(|r| r.contains("fault"))
        .expect("fault lines");
    assert!(
        rows[first].starts_with("▶") && rows[first].ends_with("fault 0"),
        "{rows:#?}"
    );
    // PgDn pages forward; past the newest it follows again.
    state.on_key(code(KeyCode::PageDown));
    assert!(state.feed_cursor.anchor.is_some());
    for _ in 0..30 {
        state.on_key(code(KeyCode::PageDown));
    }
    assert_eq!(state.feed_cursor.anchor, None);
    let rows = feed_rows(&state, 120, 40);
    assert!(rows.last().is_some_and(|r| r.ends_with("fault 99")));
}

#[test]
fn filters_keep_working_while_the_feed_is_scrolled_back() {
    let mut events = election_story();
    events.extend(faults(30));
    let mut state = app_with(elected(), events);
    draw_keeping_layout(&mut state, 120, 40);
    state.on_key(key('e'));
    state.on_key(code(KeyCode::PageUp));
    let anchor = state.feed_cursor.anchor;
    state.on_key(key('f')); // elections only
    assert_eq!(state.feed_kind, FeedKind::Elections);
    assert_eq!(state.feed_cursor.anchor, anchor, "the place is kept");
    let rows = feed_rows(&state, 120, 40);
    assert!(
        rows.iter().any(|r| r.ends_with("became leader in term 4")),
        "{rows:#?}"
    );
    assert!(!rows.iter().any(|r| r.contains("fault")), "{rows:#?}");
    assert!(feed_title(&state, 120, 40).contains("events: elections · ⏸"));
    // F: the selected node only, still scrolled.
    state.selected = 1;
    state.on_key(key('F'));
    let rows = feed_rows(&state, 120, 40);
    assert!(
        rows.iter()
            .any(|r| r.ends_with("granted vote to 3 in term 4")),
        "{rows:#?}"
    );
    assert!(
        !rows.iter().any(|r| r.contains("became leader")),
        "{rows:#?}"
    );
}

#[test]
fn enter_on_an_event_shows_it_in_full_and_moves_the_logs_to_its_index() {
    let rejected = TraceEvent::AppendRejected {
        to: 3,
        term: 4,
        reason: AppendRejectReason::TermMismatch {
            index: 40,
            ours: 2,
            theirs: 4,
        },
        conflict_index: 26,
        conflict_term: 2,
    };
    let text = rejected.to_string();
    let mut events = election_story();
    events.push(trace(12_000, 2, rejected));
    events.push(ev(12_100, 0, EventKind::Fault("heal".into())));
    let mut state = app_with(long_logs(), events);
    draw_keeping_layout(&mut state, 120, 40);
    let logs_before = Screen::of(&state, 120, 40).block(" logs (")[0].clone();
    assert!(!logs_before.contains("40"), "{logs_before}");
    state.on_key(key('e'));
    state.on_key(code(KeyCode::Up)); // heal
    state.on_key(code(KeyCode::Up)); // the rejection
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.feed_cursor.open, state.feed_cursor.selected);
    let cells = state.layout.log_cells;
    assert_eq!(state.log_end, Some(40 + cells / 2));
    assert!(state.status_line.starts_with("logs moved to index 40"));
    // The poller fetches the window the state wants; the logs panel then shows index 40.
    let want = state.log_want();
    let end = want.end.expect("a window that ends before the tail");
    assert!((end + 1 - want.len..=end).contains(&40), "{want:?}");
    let mut fetched = long_logs();
    for w in fetched.logs.values_mut() {
        w.entries.retain(|(i, _)| *i <= end && *i + want.len > end);
    }
    state.apply_view(fetched);
    let screen = Screen::of(&state, 120, 40);
    let ruler = &screen.block(" logs (cells: term · ruler: index) · up to index 58")[0];
    assert!(ruler.contains("40"), "{ruler}");
    let rows = feed_rows(&state, 120, 40);
    let rule = rows
        .iter()
        .position(|r| r.starts_with("─ 12.0s · node 2 · replication (Enter or Esc hides)"))
        .unwrap_or_else(|| panic!("{rows:#?}"));
    let detail = rows[rule + 1..].join(" ");
    let words: Vec<&str> = detail.split_whitespace().collect();
    let want: Vec<&str> = text
        .split_whitespace()
        .chain("message: AppendEntries from 3 to 2 term 4".split_whitespace())
        .chain(
            "indexes: prev_log_index 40, retry from (hint) 26 (the logs show index 40)"
                .split_whitespace(),
        )
        .collect();
    assert_eq!(words, want, "{rows:#?}");
    // Enter again hides it; Esc hides it, a second Esc leaves the feed.
    state.on_key(code(KeyCode::Enter));
    assert_eq!(state.feed_cursor.open, None);
    state.on_key(code(KeyCode::Enter));
    assert!(state.feed_cursor.open.is_some());
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.feed_cursor.open, None);
    assert_eq!(state.mode(), Mode::Feed);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.mode(), Mode::Main);
}

#[test]
fn an_event_without_a_message_says_so_in_full() {
    let mut state = app_with(elected(), faults(3));
    draw_keeping_layout(&mut state, 120, 40);
    state.on_key(key('e'));
    state.on_key(code(KeyCode::Enter)); // selects the newest and opens it
    let rows = feed_rows(&state, 120, 40);
    assert!(
        rows.iter()
            .any(|r| r == "it names no message, term or log index"),
        "{rows:#?}"
    );
    assert_eq!(state.log_end, None, "no index: the logs stay");
}
