//! The overlays: help (drawn from the key tables) and node detail, how they scroll, open and
//! close.

use super::*;

#[test]
fn detail_overlay_describes_the_selected_node() {
    let mut state = app_with(elected(), election_story());
    state.selected = 3;
    state.focus = Focus::Detail;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("node 3 (Esc closes)").join("\n");
    for part in [
        "★ leader",
        "127.0.0.1:7003",
        "term 4   voted for 3   leader 3",
        "log 1..=8 (last term 4)",
        "commit 8   applied 8   keys 3",
        "followers (match / next / state / in flight):",
        "1: 8 / 9 / replicate / 0",
        "became leader in term 4",
        "client put x 7 -> ok in 4.2 ms",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    // Another node's events stay out.
    assert!(!text.contains("granted vote to 3"), "{text}");
}

#[test]
fn help_overlay_lists_keys_from_the_binding_table() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    // Tall enough that the key column needs no scrolling (at 45 rows it scrolls).
    let screen = Screen::of(&state, 140, 90);
    let text = screen.block(" help (").join("\n");
    for part in [
        "Keys",
        "1-9        select a node",
        "q          quit (Ctrl-C too)",
        "k          kill the selected node",
        "space      pause / resume time",
        "Esc        close the overlay or prompt",
        "Commands (press :)",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
}

#[test]
fn help_overlay_shows_every_command_and_the_legend_at_140x45() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block(" help (").join("\n");
    for c in raftlab::command::prompt::COMMANDS {
        // The lab's own commands are in the lab's help only.
        if c.lab_only() {
            assert!(!text.contains(c.summary), "{:?} shown:\n{text}", c.usage);
        } else {
            assert!(text.contains(c.usage), "{:?} missing:\n{text}", c.usage);
        }
    }
    for b in raftlab::tui::action::bindings(raftlab::tui::action::Mode::Main) {
        assert!(text.contains(b.label), "{:?} missing:\n{text}", b.label);
    }
    assert!(text.contains("Symbols"), "{text}");
}

#[test]
fn help_overlay_lines_are_not_cut_at_140_columns() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    // Tall enough that nothing needs scrolling: what is checked is the wrapping at 140 columns.
    let screen = Screen::of(&state, 140, 90);
    // Words may wrap onto the next row of their column: read the two columns (keys left,
    // commands right, split at 9/20 of the inner width) one after the other, whitespace squeezed.
    let rows = screen.block(" help (");
    let half = rows.first().map_or(0, |r| r.chars().count() * 9 / 20);
    let left: String = rows
        .iter()
        .map(|r| r.chars().take(half).collect::<String>())
        .collect();
    let right: String = rows
        .iter()
        .map(|r| r.chars().skip(half).collect::<String>())
        .collect();
    let text: String = format!("{left}{right}").split_whitespace().collect();
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let mut cut = Vec::new();
    for b in raftlab::tui::action::bindings(raftlab::tui::action::Mode::Main) {
        if !text.contains(&squeeze(b.help)) {
            cut.push(b.help);
        }
    }
    for c in raftlab::command::prompt::COMMANDS
        .iter()
        .filter(|c| !c.lab_only())
    {
        if !text.contains(&squeeze(c.summary)) {
            cut.push(c.summary);
        }
    }
    assert!(cut.is_empty(), "cut off: {cut:#?}");
}

#[test]
fn help_overlay_scrolls_at_80x24() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    let top = Screen::of(&state, 80, 24).block(" help (");
    assert!(top[0].starts_with("Keys"), "{top:#?}");
    let screen_text = |state: &AppState| Screen::of(state, 80, 24).block(" help (").join("\n");
    assert!(!screen_text(&state).contains("Symbols"));
    // Down until the legend's line about divergent entries shows (wrapped anywhere).
    let squeeze = |s: &str| s.split_whitespace().collect::<String>();
    let mut presses = 0;
    while !squeeze(&screen_text(&state)).contains(&squeeze("!n = differs from the leader")) {
        state.on_key(code(KeyCode::Down));
        presses += 1;
        assert!(presses < 400, "the legend never showed");
    }
    assert_eq!(state.focus, Focus::Help);
    assert_ne!(Screen::of(&state, 80, 24).block(" help (")[0], top[0]);
    // Home goes back to the top; closing and opening again starts at the top too.
    state.on_key(code(KeyCode::Home));
    assert_eq!(Screen::of(&state, 80, 24).block(" help (")[0], top[0]);
    state.on_key(code(KeyCode::PageDown));
    state.on_key(code(KeyCode::Esc));
    state.on_key(key('?'));
    assert_eq!(Screen::of(&state, 80, 24).block(" help (")[0], top[0]);
}

#[test]
fn help_overlay_does_not_scroll_past_its_end() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    for _ in 0..30 {
        state.on_key(code(KeyCode::PageDown));
    }
    let rows = Screen::of(&state, 80, 24).block(" help (");
    assert!(
        rows.iter().any(|r| !r.trim().is_empty()),
        "the help box is empty: {rows:#?}"
    );
}

#[test]
fn help_from_the_prompt_starts_at_the_top() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    state.on_key(code(KeyCode::PageDown));
    state.on_key(code(KeyCode::Esc));
    type_keys(&mut state, ":help");
    state.on_key(code(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Help);
    let rows = Screen::of(&state, 80, 24).block(" help (");
    assert!(rows[0].starts_with("Keys"), "{rows:#?}");
}

#[test]
fn detail_overlay_shows_snapshots_and_transfers() {
    let mut state = app_with(snapshot_transfer(), snapshot_story());
    state.focus = Focus::Detail;
    state.selected = 3;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("node 3 (Esc closes)").join("\n");
    for part in [
        "log 41..=48 (last term 4)",
        "snapshot 40/4 (1,024 B): entries 1..=40 compacted away, the log starts at 41",
        "2: 12 / 13 / snapshot / 1",
        "→ 2: sending snapshot 40 (512/1,024 B)",
        "node 2 needs entry 13, compacted away: sending snapshot 40 (1024 bytes)",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    assert_eq!(text.matches("sending snapshot").count(), 2, "{text}");
    state.selected = 2;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block("node 2 (Esc closes)").join("\n");
    for part in [
        "no snapshot: the log holds every entry from 1",
        "receiving snapshot 40: 512/1,024 B",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    // Without a leader that is sending it, the follower knows only what arrived.
    let mut v = snapshot_transfer();
    v.status.nodes[2].status.progress.clear();
    state.apply_view(v);
    let text = Screen::of(&state, 140, 45)
        .block("node 2 (Esc closes)")
        .join("\n");
    assert!(
        text.contains("receiving snapshot 40: 512 B so far"),
        "{text}"
    );
}

#[test]
fn help_lists_the_snapshot_glyphs_key_and_command() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    let mut seen = String::new();
    // Scroll to the end, a page at a time.
    for _ in 0..20 {
        seen.push_str(&Screen::of(&state, 80, 24).block(" help (").join("\n"));
        state.on_key(code(KeyCode::PageDown));
    }
    let flat: String = seen.split_whitespace().collect::<Vec<_>>().join(" ");
    for part in [
        "S the selected node takes a snapshot now",
        "snapshot NODE",
        "▣ InstallSnapshot",
        "◇ snapshot reply",
        "▒ = compacted into a snapshot",
    ] {
        assert!(flat.contains(part), "{part:?} missing:\n{seen}");
    }
}

#[test]
fn overlays_open_close_and_swallow_keys() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    assert_eq!(state.focus, Focus::Help);
    assert!(state.on_key(key('k')).is_empty(), "no kill under the help");
    assert_eq!(state.on_key(key('3')), Vec::new());
    assert_eq!(state.selected, 1);
    assert_eq!(state.focus, Focus::Help);
    state.on_key(key('?'));
    assert_eq!(state.focus, Focus::Main);
    state.on_key(key('3'));
    state.on_key(code(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Detail);
    assert!(state.on_key(key('r')).is_empty());
    state.on_key(code(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Main);
    state.update(Action::ToggleDetail);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.focus, Focus::Main);
    state.update(Action::ToggleHelp);
    assert_eq!(state.focus, Focus::Help);
    state.update(Action::ToggleHelp);
    assert_eq!(state.focus, Focus::Main);
}

#[test]
fn help_scrolls_no_further_than_the_last_frame_allowed() {
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    // The first frame tells the key handler how far the help can scroll.
    draw_keeping_layout(&mut state, 80, 24);
    for _ in 0..30 {
        state.on_key(code(KeyCode::PageDown));
    }
    let bottom = Screen::of(&state, 80, 24).block(" help (");
    assert_eq!(state.help_scroll, state.layout.max_scroll);
    // One line up shows one line more at the top, at once.
    state.on_key(code(KeyCode::Up));
    let up = Screen::of(&state, 80, 24).block(" help (");
    assert_ne!(up, bottom);
    assert_eq!(up[1..], bottom[..bottom.len() - 1]);
}

#[test]
fn help_lists_the_keys_of_the_help_itself_and_of_the_prompt() {
    use raftlab::tui::action::{bindings, Mode};
    let mut state = app_with(elected(), Vec::new());
    state.on_key(key('?'));
    // One column, tall enough for all of it.
    let text = Screen::of(&state, 100, 200).block(" help (").join("\n");
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for heading in ["In this help", "At the prompt (:)"] {
        assert!(flat.contains(heading), "{heading:?} missing:\n{text}");
    }
    for mode in [Mode::Main, Mode::Help, Mode::Prompt] {
        for b in bindings(mode) {
            let help: String = b.help.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(
                flat.contains(&help),
                "{mode:?}: {:?} missing:\n{text}",
                b.help
            );
        }
    }
}

/// Every message kind. The match fails to compile when a kind is added: add it to
/// `MessageKind::ALL` too.
fn every_message_kind() -> Vec<MessageKind> {
    let all = MessageKind::ALL.to_vec();
    for k in &all {
        match k {
            MessageKind::RequestVote
            | MessageKind::RequestVoteReply
            | MessageKind::PreVote
            | MessageKind::PreVoteReply
            | MessageKind::AppendEntries
            | MessageKind::Heartbeat
            | MessageKind::AppendEntriesReply
            | MessageKind::InstallSnapshot
            | MessageKind::InstallSnapshotReply
            | MessageKind::TimeoutNow => {}
        }
    }
    all
}

#[test]
fn help_symbols_name_every_message_glyph() {
    let symbols = view::help::SYMBOLS.join("\n");
    for kind in every_message_kind() {
        let (glyph, _) = view::style::message_glyph(Theme::Mono, kind);
        // The glyph as a word of its own, followed by what it is.
        let named = symbols
            .split("  ")
            .chain(symbols.split('\n'))
            .any(|part| part.trim_start().starts_with(&format!("{glyph} ")));
        assert!(
            named,
            "{glyph} ({kind:?}) missing from the help's symbols:\n{symbols}"
        );
    }
}

#[test]
fn help_explains_the_rules_the_no_op_and_the_fault_marks() {
    let mut state = app_with(elected(), Vec::new());
    state.focus = Focus::Help;
    state.help_scroll = u16::MAX;
    let screen = Screen::of(&state, 140, 45);
    let text = screen.block(" help (").join("\n");
    for part in [
        "Rules (header; now PreVote·CheckQuorum)",
        "PreVote (thesis §9.6)",
        "CheckQuorum (thesis §6.2)",
        "Figure 2 only (--paper)",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    let symbols = view::help::SYMBOLS.join(" ");
    for part in [
        "no-op",
        "¿ PreVote",
        "¡ pre-vote reply",
        "+300ms",
        "✗59%",
        "idx",
    ] {
        assert!(symbols.contains(part), "{part:?} missing: {symbols}");
    }
}
