//! The mouse: a click on a node in the ring selects it, nothing else does; the wheel over the
//! event feed scrolls it.

use super::*;

#[test]
fn a_click_on_a_node_selects_it() {
    for (w, h) in [(80, 24), (140, 45), (200, 60)] {
        let view = if w == 200 { nine_nodes() } else { elected() };
        let n = view.status.nodes.len();
        let mut state = app_with(view, Vec::new());
        draw_keeping_layout(&mut state, w, h);
        let cells = view::ring::node_cells(state.layout.ring, &state.ids);
        assert_eq!(cells.len(), n);
        for (id, x, y) in cells {
            // Click the first cell of the node's label too, not just its centre.
            for column in [x, x.saturating_sub(2)] {
                state.selected = if id == 1 { 2 } else { 1 };
                assert!(state.on_mouse(click(column, y)).is_empty());
                assert_eq!(state.selected, id, "{w}x{h}: click at ({column}, {y})");
            }
        }
    }
}

#[test]
fn a_click_elsewhere_or_not_a_left_press_selects_nothing() {
    let mut state = app_with(elected(), Vec::new());
    draw_keeping_layout(&mut state, 140, 45);
    let (_, x, y) = view::ring::node_cells(state.layout.ring, &state.ids)[3];
    state.selected = 1;
    // Far from any node: the table, the ring's centre.
    state.on_mouse(click(120, 5));
    let ring = state.layout.ring;
    state.on_mouse(click(ring.x + ring.width / 2, ring.y + ring.height / 2));
    assert_eq!(state.selected, 1);
    // Right button, release, or an overlay open: ignored.
    let mut right = click(x, y);
    right.kind = MouseEventKind::Down(MouseButton::Right);
    state.on_mouse(right);
    let mut up = click(x, y);
    up.kind = MouseEventKind::Up(MouseButton::Left);
    state.on_mouse(up);
    state.focus = Focus::Help;
    state.on_mouse(click(x, y));
    assert_eq!(state.selected, 1);
    state.focus = Focus::Main;
    state.on_mouse(click(x, y));
    assert_eq!(state.selected, 4);
}

fn wheel(up: bool, column: u16, row: u16) -> MouseEvent {
    MouseEvent {
        kind: if up {
            MouseEventKind::ScrollUp
        } else {
            MouseEventKind::ScrollDown
        },
        column,
        row,
        modifiers: KeyModifiers::NONE,
    }
}

#[test]
fn the_wheel_over_the_feed_scrolls_it_and_nowhere_else() {
    let events = (0..40)
        .map(|i| ev(3_000 + i * 100, 0, EventKind::Fault(format!("fault {i}"))))
        .collect();
    let mut state = app_with(elected(), events);
    draw_keeping_layout(&mut state, 120, 40);
    let feed = state.layout.feed;
    assert!(feed.width > 0 && feed.height > 0, "{feed:?}");
    // Over the ring: nothing.
    let ring = state.layout.ring;
    state.on_mouse(wheel(true, ring.x + 1, ring.y + 1));
    assert_eq!(state.feed_cursor.anchor, None);
    // Over the feed: three lines back, then forward again to following.
    let (x, y) = (feed.x + 5, feed.y + 3);
    assert!(state.on_mouse(wheel(true, x, y)).is_empty());
    let newest = state.visible_feed_seq().last().map(|(s, _)| s);
    assert_eq!(state.feed_cursor.anchor, newest.map(|s| s - 3));
    let screen = Screen::of(&state, 120, 40);
    assert!(screen.find("⏸ 3 newer").is_some(), "{}", screen.text());
    state.on_mouse(wheel(false, x, y));
    assert_eq!(state.feed_cursor.anchor, None);
    // Esc on the main screen follows again after a wheel.
    state.on_mouse(wheel(true, x, y));
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.feed_cursor.anchor, None);
}
