//! The ring: cut links, node labels, drops, the selected node and message.

use super::*;

#[test]
fn ring_marks_cut_links_and_only_those() {
    let state = app_with(partitioned(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let ring = screen.rect(layout(&state, 140, 45).ring).join("\n");
    assert!(ring.contains('╳'), "{ring}");
    let healed = app_with(elected(), Vec::new());
    let screen = Screen::of(&healed, 140, 45);
    let ring = screen.rect(layout(&healed, 140, 45).ring).join("\n");
    assert!(!ring.contains('╳'), "{ring}");
}

#[test]
fn ring_labels_every_node_with_role_and_term() {
    let state = app_with(partitioned(), Vec::new());
    let screen = Screen::of(&state, 140, 45);
    let ring = screen.rect(layout(&state, 140, 45).ring).join("\n");
    for label in ["★1 t3", "●2 t3", "●3 t4", "★4 t4", "●5 t4"] {
        assert!(ring.contains(label), "{label:?} missing:\n{ring}");
    }
    assert_eq!(ring.matches("♥ leads").count(), 2, "{ring}");
    let down = app_with(one_down(), Vec::new());
    let screen = Screen::of(&down, 140, 45);
    let ring = screen.rect(layout(&down, 140, 45).ring).join("\n");
    assert!(ring.contains("✕2 t4"), "{ring}");
    assert!(ring.contains("down"), "{ring}");
}

#[test]
fn ring_shows_a_recent_drop() {
    let mut state = app_with(elected(), Vec::new());
    state.apply_event(ev(
        12_000,
        1,
        EventKind::MessageDropped {
            id: 5,
            from: 1,
            to: 3,
            kind: MessageKind::AppendEntriesReply,
            why: "dropped by hand".into(),
        },
    ));
    let screen = Screen::of(&state, 140, 45);
    let ring = screen.rect(layout(&state, 140, 45).ring).join("\n");
    assert!(ring.contains('✗'), "{ring}");
    // More than a second later (the view's clock at 13.4 s) the mark is gone.
    let mut later = elected();
    later.at = Duration::from_millis(13_400);
    state.apply_view(later);
    let screen = Screen::of(&state, 140, 45);
    let ring = screen.rect(layout(&state, 140, 45).ring).join("\n");
    assert!(!ring.contains('✗'), "{ring}");
}

#[test]
fn ring_highlights_the_selected_node_and_message() {
    use ratatui::style::Modifier;
    let mut state = app_with(paused_in_flight(), Vec::new());
    state.selected = 2;
    state.message = Some(0); // #41, AppendEntries 3 -> 1: the only ■
    let terminal = draw(&state, 140, 45);
    let buf = terminal.backend().buffer();
    let ring = layout(&state, 140, 45).ring;
    let mut reversed = Vec::new();
    for y in ring.y..ring.bottom() {
        for x in ring.x..ring.right() {
            let cell = buf.cell((x, y)).expect("inside");
            if cell.modifier.contains(Modifier::REVERSED) {
                reversed.push(cell.symbol().to_string());
            }
        }
    }
    let text = reversed.concat();
    assert!(text.contains("●2 t4"), "selected node label: {text:?}");
    assert!(text.contains('■'), "selected message: {text:?}");
    assert!(!text.contains("●1"), "{text:?}");
    assert!(
        !text.contains('♥'),
        "other messages are not highlighted: {text:?}"
    );
}

#[test]
fn ring_marks_slow_nodes_and_skewed_clocks_beside_them() {
    let mut v = elected();
    v.status.nodes[1].slow = Duration::from_millis(300);
    v.status.nodes[2].clock_rate = 2.0;
    let state = app_with(v, Vec::new());
    for (w, h) in [(120, 40), (80, 24)] {
        let screen = Screen::of(&state, w, h);
        let ring = screen.rect(layout(&state, w, h).ring).join("\n");
        assert!(ring.contains("●2 t4 +300ms"), "{w}x{h}:\n{ring}");
        assert!(ring.contains("★3 t4 2×"), "{w}x{h}:\n{ring}");
        assert!(!ring.contains("●1 t4 +"), "{w}x{h}:\n{ring}");
    }
}

#[test]
fn ring_tags_links_that_lose_or_delay_messages() {
    let calm = app_with(elected(), Vec::new());
    let screen = Screen::of(&calm, 120, 40);
    let ring = screen.rect(layout(&calm, 120, 40).ring).join("\n");
    assert!(!ring.contains('%') && !ring.contains("ms"), "{ring}");
    // One direction: the tag points the way messages go.
    let state = app_with(with_link(elected(), 1, 4, 0.59, 0), Vec::new());
    let screen = Screen::of(&state, 120, 40);
    let ring = screen.rect(layout(&state, 120, 40).ring).join("\n");
    assert!(ring.contains("✗59%→"), "{ring}");
    // Both directions alike: one tag, at the middle.
    let v = with_link(with_link(elected(), 2, 5, 0.0, 200), 5, 2, 0.0, 200);
    let state = app_with(v, Vec::new());
    let screen = Screen::of(&state, 120, 40);
    let ring = screen.rect(layout(&state, 120, 40).ring).join("\n");
    assert_eq!(ring.matches("+200ms").count(), 1, "{ring}");
    assert!(!ring.contains("+200ms→"), "{ring}");
}
