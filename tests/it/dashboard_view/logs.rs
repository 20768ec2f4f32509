//! The logs panel: commit marks, divergent and missing entries, the ruler, compacted prefixes.

use super::*;

#[test]
fn logs_mark_the_commit_index() {
    // Node 1 committed 4 of its 8 entries.
    let state = app_with(divergent(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let r1 = log_row(&screen, 1);
    assert_eq!(log_cell(&r1, 1, 4), " 2┃", "{r1:?}");
    assert_eq!(r1.matches('┃').count(), 1, "{r1:?}");
    let r3 = log_row(&screen, 3);
    assert_eq!(log_cell(&r3, 1, 7), " 6┃", "{r3:?}");
    assert_eq!(log_cell(&r3, 1, 6), " 5 ", "{r3:?}");
    // The row label: selection marker, role symbol, id.
    assert!(r1.starts_with("▶●1"), "{r1:?}");
    assert!(r3.starts_with(" ★3"), "{r3:?}");
}

#[test]
fn logs_flag_entries_that_differ_from_the_leader() {
    let state = app_with(divergent(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let r1 = log_row(&screen, 1);
    for i in 1..=4 {
        assert!(!log_cell(&r1, 1, i).contains('!'), "index {i}: {r1:?}");
    }
    for i in 5..=7 {
        assert_eq!(log_cell(&r1, 1, i), "!3 ", "index {i}: {r1:?}");
    }
    // Index 8: the leader has no entry there, so nothing to differ from.
    assert_eq!(log_cell(&r1, 1, 8), " 3 ", "index 8: {r1:?}");
    for id in [2, 3, 4, 5] {
        let r = log_row(&screen, id);
        assert!(!r.contains('!'), "node {id}: {r:?}");
    }
}

#[test]
fn logs_leave_missing_entries_blank() {
    let state = app_with(divergent(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let r2 = log_row(&screen, 2);
    assert_eq!(log_cell(&r2, 1, 5), " 5 ", "{r2:?}");
    assert_eq!(log_cell(&r2, 1, 6), "   ", "{r2:?}");
    assert_eq!(log_cell(&r2, 1, 8), "   ", "{r2:?}");
}

/// The ruler's labels as (index, column where the label starts, column of that index's cell),
/// given that the first label names the window's first index.
fn ruler_labels(screen: &Screen) -> Vec<(Index, usize, usize)> {
    let ruler: Vec<char> = screen.block(" logs (")[0].chars().collect();
    let mut labels = Vec::new();
    let mut x = 0;
    while x < ruler.len() {
        if ruler[x].is_ascii_digit() {
            let digits: String = ruler[x..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            labels.push((digits.parse::<Index>().expect("a number"), x));
            x += digits.len();
        } else {
            x += 1;
        }
    }
    let first = labels.first().map_or(1, |(i, _)| *i);
    labels
        .into_iter()
        .map(|(i, col)| {
            let want =
                view::logs::LABEL as usize + ((i - first) * u64::from(view::logs::CELL)) as usize;
            (i, col, want)
        })
        .collect()
}

#[test]
fn logs_ruler_labels_sit_over_their_index() {
    // 28 entries in 24 cells: the window starts at 5, a multiple of five.
    let log: Vec<Term> = (1..=28).map(|i| if i < 10 { 1 } else { 4 }).collect();
    let v = make_view(&[
        follower(4, &log, 28).led_by(2),
        leader(4, &log, 28),
        follower(4, &log, 28).led_by(2),
    ]);
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 80, 24);
    let labels = ruler_labels(&screen);
    let indexes: Vec<Index> = labels.iter().map(|l| l.0).collect();
    assert_eq!(indexes, [5, 10, 15, 20, 25]);
    for (i, col, want) in labels {
        assert_eq!(col, want, "label {i}: {:?}", screen.block(" logs (")[0]);
    }
}

#[test]
fn logs_ruler_labels_sit_over_their_index_when_the_window_starts_elsewhere() {
    // Window 1..=8 (from 1) and 77..=100 (the tail of 100 entries in 24 cells).
    for (view, w, h) in [(elected(), 140, 45), (long_logs(), 80, 24)] {
        let state = app_with(view, Vec::new());
        let screen = Screen::of(&state, w, h);
        let labels = ruler_labels(&screen);
        assert!(labels.len() >= 2, "{labels:?}");
        for (i, col, want) in labels {
            assert_eq!(
                col,
                want,
                "{w}x{h}: label {i}: {:?}",
                screen.block(" logs (")[0]
            );
        }
    }
}

#[test]
fn logs_title_says_whether_it_follows_the_tail() {
    let mut state = app_with(elected(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    assert!(screen.find("· following the tail").is_some());
    state.log_end = Some(5);
    let screen = Screen::of(&state, 140, 45);
    assert!(screen
        .find("· up to index 5; End follows the tail")
        .is_some());
}

#[test]
fn logs_draw_the_compacted_prefix_as_a_labelled_run() {
    let state = app_with(snapshot_transfer(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    // 44 cells: the window is 5..=48, so indexes 5..=40 of the compacted logs are a run.
    let labels = ruler_labels(&screen);
    assert_eq!(labels.first().map(|l| l.0), Some(5), "{labels:?}");
    for id in [1, 3, 5] {
        let row = log_row(&screen, id);
        let run: String = (5..=40).map(|i| log_cell(&row, 5, i)).collect();
        assert!(
            run.chars().all(|c| c == '▒' || " snapshot≤40".contains(c)),
            "node {id}: {row:?}"
        );
        assert!(
            run.ends_with("▒ snapshot ≤40 ▒"),
            "labelled at its right end: {row:?}"
        );
        assert_eq!(log_cell(&row, 5, 41), " 4 ", "node {id}: {row:?}");
        assert_eq!(log_cell(&row, 5, 48), " 4┃", "node {id}: {row:?}");
    }
    // Node 4 compacted less: its entries from 21 show, and none differ from the leader just
    // because the leader no longer holds them.
    let r4 = log_row(&screen, 4);
    assert_eq!(log_cell(&r4, 5, 5), "▒▒▒", "{r4:?}");
    assert_eq!(log_cell(&r4, 5, 21), " 2 ", "{r4:?}");
    assert!(r4.contains("▒ snapshot ≤20 ▒ 2 "), "{r4:?}");
    // Node 2 holds 1..=12 and has not compacted: no run, no alert, and after its last entry the
    // snapshot on its way.
    let r2 = log_row(&screen, 2);
    assert!(!r2.contains('▒'), "{r2:?}");
    assert_eq!(log_cell(&r2, 5, 12), " 2┃", "{r2:?}");
    assert_eq!(log_cell(&r2, 5, 13), " ▣ ", "{r2:?}");
    assert!(
        r2.contains(" 2┃ ▣ receiving snapshot ≤40: 512 B   "),
        "{r2:?}"
    );
    for id in 1..=5 {
        assert!(!log_row(&screen, id).contains('!'), "node {id}");
    }
}

#[test]
fn logs_shorten_the_label_of_a_short_compacted_run() {
    // 80 columns: 24 cells, the window is 25..=48; node 4's run is 25..=20: none at all.
    let state = app_with(snapshot_transfer(), Vec::new());
    let screen = Screen::of(&state, 80, 24);
    let r3 = log_row(&screen, 3);
    assert_eq!(log_cell(&r3, 25, 25), "▒▒▒", "{r3:?}");
    assert!(r3.contains("▒ snapshot ≤40 ▒"), "{r3:?}");
    assert!(!log_row(&screen, 4).contains('▒'));
    // The label shrinks with the run, and goes when there is no room.
    assert_eq!(view::logs::compacted_run(1, 1, 0, 1), "▒▒▒");
    assert_eq!(view::logs::compacted_run(1, 2, 0, 2), "▒ ≤2 ▒");
    assert_eq!(view::logs::compacted_run(39, 40, 40, 40), "▒▒▒▒▒┃");
    assert_eq!(view::logs::compacted_run(37, 40, 40, 40), "▒ snap ≤40 ┃");
    assert_eq!(
        view::logs::compacted_run(1, 2, 0, 0),
        "▒▒▒▒▒▒",
        "no snapshot, no label"
    );
}

#[test]
fn logs_show_a_log_compacted_up_to_its_last_entry() {
    // Every node snapshotted all 8 entries: the logs hold nothing, the poller returns nothing.
    let mut v = elected();
    for id in 1..=5 {
        compact(&mut v, id, 8, 300);
    }
    assert!(v.logs.values().all(|w| w.entries.is_empty()));
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 140, 45);
    for id in 1..=5 {
        let row = log_row(&screen, id);
        let cells: String = (1..=8).map(|i| log_cell(&row, 1, i)).collect();
        assert_eq!(cells, "▒▒▒▒▒▒▒▒▒▒ snapshot ≤8 ┃", "node {id}: {row:?}");
    }
}

#[test]
fn logs_say_cells_are_terms_and_the_ruler_indexes() {
    let state = app_with(elected(), Vec::new());
    for (w, h) in [(140, 45), (120, 40), (80, 24)] {
        let screen = Screen::of(&state, w, h);
        let logs = screen.block(" logs (");
        assert!(
            screen.text().contains(" logs (cells: term · ruler: index)"),
            "{w}x{h}: {logs:?}"
        );
        assert!(logs[0].starts_with("idx"), "{w}x{h}: {:?}", logs[0]);
    }
}
