//! Client operations waiting for their answer, and clocks that stop while paused: the footer's
//! pending row (where the entry sits, the commit index, the age in cluster time) and the
//! screens of a paused cluster, which draw the same however much wall time passes.

use super::*;
use raftlab::command::executor::PendingOp;

/// Node 3 is cut off but still believes it leads term 4: it appended entry 9 and cannot commit
/// it (its commit index stays 8).
fn stale_leader() -> ClusterView {
    let mut log = LOG_T4.to_vec();
    log.push(4);
    let mut v = make_view(&[
        follower(5, &LOG_T4, 8).led_by(1),
        follower(5, &LOG_T4, 8).led_by(1),
        leader(4, &log, 8),
        follower(5, &LOG_T4, 8).led_by(1),
        follower(5, &LOG_T4, 8).led_by(1),
    ]);
    partition(&mut v, &[&[1, 2, 4, 5], &[3]]);
    v
}

/// `put y 2`, sent to node 3 (then the leader, its log ending at 8) at 0.345 s of cluster time.
fn put_y() -> PendingOp {
    PendingOp {
        id: 0,
        line: "put y 2".into(),
        write: true,
        node: Some(3),
        to_leader: true,
        last_index: 8,
        sent_at: Duration::from_millis(345),
    }
}

fn waiting(view: ClusterView, ops: Vec<PendingOp>) -> AppState {
    let mut state = app_with(view, election_story());
    state.apply_result("put y 2 sent".into());
    state.apply_pending(ops);
    state
}

/// The footer's rows, from the pending row (or the status line) down.
fn footer_rows(state: &AppState, w: u16, h: u16, n: usize) -> Vec<String> {
    let screen = Screen::of(state, w, h);
    (h as usize - n..h as usize)
        .map(|r| screen.row(r))
        .collect()
}

#[test]
fn a_write_to_a_stale_leader_shows_its_index_commit_and_age_above_the_status_line() {
    let state = waiting(stale_leader(), vec![put_y()]);
    for (w, h) in SIZES {
        let rows = footer_rows(&state, w, h, 3);
        assert_eq!(
            rows[0].trim_end(),
            "1 pending: put y 2 → node 3, index 9 (commit 8), 12 s",
            "{w}x{h}"
        );
        assert!(rows[1].starts_with("put y 2 sent"), "{rows:?}");
    }
    snapshot("pending_stale_leader", &state, 80, 24);
}

#[test]
fn the_pending_row_is_there_only_while_something_waits() {
    let mut state = waiting(stale_leader(), vec![put_y()]);
    assert!(footer_rows(&state, 80, 24, 3)[0].starts_with("1 pending"));
    state.apply_pending(Vec::new());
    let rows = footer_rows(&state, 80, 24, 3);
    assert!(rows.iter().all(|r| !r.contains("pending")), "{rows:?}");
    assert!(rows[1].starts_with("put y 2 sent"), "{rows:?}");
}

#[test]
fn several_pending_operations_share_the_row_and_say_how_many_are_left_out() {
    let ops: Vec<PendingOp> = (0..6)
        .map(|i| PendingOp {
            id: i,
            line: format!("put key{i} value{i}"),
            ..put_y()
        })
        .collect();
    let state = waiting(stale_leader(), ops);
    let row = footer_rows(&state, 140, 45, 3)[0].trim_end().to_string();
    assert!(
        row.starts_with("6 pending: put key0 value0 → node 3, after index 8"),
        "{row}"
    );
    assert!(row.ends_with("more"), "{row}");
    assert!(row.chars().count() <= 140);
}

#[test]
fn paused_every_clock_on_screen_stands_still_while_wall_time_passes() {
    // The cluster paused at 12.345 s of cluster time: the capture's time, the messages' send
    // times and the pending write's age come from cluster time, which the pause stopped.
    let mut view = stale_leader();
    view.status.paused = true;
    view.in_flight = four_messages();
    let mut state = waiting(view.clone(), vec![put_y()]);
    state.message = Some(1);
    let before = Screen::of(&state, 140, 45);
    std::thread::sleep(Duration::from_millis(1_100));
    // A later capture of the same paused cluster: the same cluster time.
    state.apply_view(view);
    state.apply_pending(vec![put_y()]);
    let after = Screen::of(&state, 140, 45);
    let text = |s: &Screen| (0..45).map(|r| s.row(r)).collect::<Vec<_>>().join("\n");
    assert_eq!(text(&before), text(&after));
    assert!(
        text(&after).contains("sent 12.14s, due 12.54s"),
        "{}",
        text(&after)
    );
    assert!(text(&after).contains("index 9 (commit 8), 12 s"));
}
