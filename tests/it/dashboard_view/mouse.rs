//! The mouse: a click on a node in the ring selects it, nothing else does.

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
