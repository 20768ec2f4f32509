//! What the cluster feeds the state: snapshots and bus events, their categories, and when the
//! screen must be redrawn.

use super::*;

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
