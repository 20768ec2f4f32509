//! The node table: rows, faults, the snap column and snapshot transfers.

use super::*;

#[test]
fn table_marks_a_down_node_and_the_selection() {
    let mut state = app_with(one_down(), Vec::new());
    state.selected = 4;
    let screen = Screen::of(&state, 140, 45);
    let rows = table_rows(&state, &screen);
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.contains(id))
            .unwrap_or_else(|| panic!("no row {id} in {rows:#?}"))
            .clone()
    };
    let down = row("✕2");
    assert!(down.contains("down"), "{down:?}");
    assert!(
        down.contains("6/4"),
        "last index/term of the down node: {down:?}"
    );
    assert!(down.contains('—'), "a down node has no timer: {down:?}");
    let lead = row("★3");
    assert!(lead.contains("leader"), "{lead:?}");
    assert!(lead.contains("leads"), "{lead:?}");
    let selected = row("●4");
    assert!(selected.contains('▶'), "selected row marked: {selected:?}");
    assert!(!row("●5").contains('▶'));
    // The leader's view of the down node: it matched 6 entries.
    assert!(down.contains("6/7"), "match/next of node 2: {down:?}");
    assert!(row("●5").contains("10/11"), "match/next of node 5");
}

#[test]
fn table_lists_faults_on_a_wide_screen() {
    let state = app_with(nine_nodes(), Vec::new());
    let screen = Screen::of(&state, 200, 60);
    let rows = table_rows(&state, &screen);
    let row = |id: &str| {
        rows.iter()
            .find(|r| r.contains(id))
            .unwrap_or_else(|| panic!("no row {id} in {rows:#?}"))
            .clone()
    };
    assert!(row("●2").contains("slow +300ms"));
    assert!(row("●7").contains("clock 2×"));
    assert!(row("◆9").contains("isolated"));
    assert!(row("◆9").contains("candidate"));
    assert!(!row("●1").contains("isolated"));
}

/// The node table's row of the node labelled `label` (`★3`, `●2`).
fn table_row(state: &AppState, screen: &Screen, label: &str) -> String {
    let rows = table_rows(state, screen);
    rows.iter()
        .find(|r| r.contains(label))
        .unwrap_or_else(|| panic!("no row {label} in {rows:#?}"))
        .clone()
}

#[test]
fn table_shows_each_snapshot_and_a_transfer_in_progress() {
    let state = app_with(snapshot_transfer(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let header = table_rows(&state, &screen)[1].clone();
    assert!(
        header.contains(" applied snap    timer"),
        "the snap column: {header:?}"
    );
    assert!(table_row(&state, &screen, "★3").contains(" 40/4 "));
    assert!(table_row(&state, &screen, "●4").contains(" 20/2 "));
    let receiving = table_row(&state, &screen, "●2");
    assert!(receiving.contains(" — "), "no snapshot yet: {receiving:?}");
    assert!(receiving.contains("▣ 50%"), "half sent: {receiving:?}");
    assert!(table_row(&state, &screen, "●1").contains("48/49"));
    // The narrower layouts have no snap column, but still show the transfer.
    for (w, h) in [(80, 24), (100, 30)] {
        let screen = Screen::of(&state, w, h);
        let header = table_rows(&state, &screen)[1].clone();
        assert!(!header.contains("snap"), "{w}x{h}: {header:?}");
        let row = table_row(&state, &screen, "●2");
        assert!(row.contains("▣ 50%"), "{w}x{h}: {row:?}");
        assert!(row.trim_end().ends_with('│'), "{w}x{h}: {row:?}");
    }
}

#[test]
fn table_has_a_snap_column_only_where_it_fits() {
    let state = app_with(snapshot_transfer(), Vec::new());
    // (screen width, whether the table has a snap column): the table is 46, 66, 70, 76, 78
    // and 94 columns wide (the ring takes the rest).
    for (w, shown) in [
        (80, false),
        (100, false),
        (104, true),
        (120, true),
        (112, false),
        (140, true),
    ] {
        let screen = Screen::of(&state, w, 30);
        let rows = table_rows(&state, &screen);
        let header = &rows[1];
        assert_eq!(header.contains(" snap "), shown, "{w} columns: {header:?}");
        if shown {
            // Every other column keeps its whole name.
            for column in [
                " node ",
                " term ",
                " last ",
                " commit ",
                " applied ",
                " timer ",
            ] {
                assert!(
                    header.contains(column),
                    "{w}: {column:?} missing: {header:?}"
                );
            }
            assert!(header.contains(" match/next"), "{w}: {header:?}");
            let leader = table_row(&state, &screen, "★3");
            assert!(leader.contains(" 40/4 "), "{w}: {leader:?}");
        }
    }
}

#[test]
fn table_shortens_faults_that_do_not_fit_beside_the_snap_column() {
    // 140 columns: the faults column has 8 cells left.
    for (view, want, not) in [
        (with_faults(2, 300, 1.0), "+300ms", "slow"),
        (with_faults(2, 0, 0.5), "0.5×", "clock"),
        (with_faults(2, 0, 2.0), "clock 2×", "isol"),
    ] {
        let state = app_with(view, Vec::new());
        let screen = Screen::of(&state, 140, 45);
        let row = table_row(&state, &screen, "●2");
        assert!(row.contains(want), "{want:?} missing: {row:?}");
        assert!(!row.contains(not), "{row:?}");
    }
    // Wide enough: the long forms (see also table_lists_faults_on_a_wide_screen).
    let state = app_with(with_faults(2, 300, 1.0), Vec::new());
    let screen = Screen::of(&state, 200, 60);
    assert!(table_row(&state, &screen, "●2").contains("slow +300ms"));
}

#[test]
fn table_shows_faults_at_120_columns_in_place_of_snap() {
    // 120×40: the table is 76 wide, not wide enough for the faults column of the wide layout;
    // a fault brings it in.
    let state = app_with(
        with_link(with_faults(2, 300, 1.0), 1, 4, 0.59, 0),
        Vec::new(),
    );
    let screen = Screen::of(&state, 120, 40);
    let header = table_rows(&state, &screen)[1].clone();
    assert!(header.contains("faults"), "{header:?}");
    assert!(!header.contains(" snap "), "{header:?}");
    let slow = table_row(&state, &screen, "●2");
    assert!(slow.contains("slow +300ms"), "{slow:?}");
    let lossy = table_row(&state, &screen, "●1");
    assert!(lossy.contains("→4 loss 59%"), "{lossy:?}");
    assert!(!table_row(&state, &screen, "●4").contains("loss"));
    // Without faults: no faults column at 120.
    let calm = app_with(elected(), Vec::new());
    let screen = Screen::of(&calm, 120, 40);
    assert!(!table_rows(&calm, &screen)[1].contains("faults"));
}

#[test]
fn table_marks_a_faulty_node_beside_its_id_when_narrow() {
    // 80×24: the table is 46 wide, no room for a faults column: `~` beside the id.
    let state = app_with(with_faults(3, 0, 2.0), Vec::new());
    let screen = Screen::of(&state, 80, 24);
    let header = table_rows(&state, &screen)[1].clone();
    assert!(!header.contains("faults"), "{header:?}");
    assert!(table_row(&state, &screen, "★3~").contains("★3~"));
    assert!(!table_row(&state, &screen, "●1").contains('~'));
    let calm = app_with(elected(), Vec::new());
    let screen = Screen::of(&calm, 80, 24);
    assert!(!table_row(&calm, &screen, "★3").contains('~'));
}
