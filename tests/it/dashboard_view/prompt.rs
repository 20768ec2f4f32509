//! The command prompt: parsing, running, completion, history and cancelling.

use super::*;

#[test]
fn prompt_snapshot_runs_and_bad_input_changes_nothing() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":snapshot 2");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Snapshot(2))
    );
    type_keys(&mut state, ":compact 5");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Snapshot(5))
    );
    for (line, want) in [
        ("snapshot", "error: usage: snapshot NODE"),
        (
            "snapshot 9",
            "error: snapshot: node 9 does not exist (nodes are 1..5)",
        ),
        (
            "compact 1 2",
            "error: snapshot: too many arguments (usage: snapshot NODE)",
        ),
    ] {
        type_keys(&mut state, &format!(":{line}"));
        assert!(state.on_key(code(KeyCode::Enter)).is_empty(), "{line}");
        assert_eq!(state.status_line, want);
        assert_eq!(state.focus, Focus::Main);
    }
    type_keys(&mut state, ":snap");
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.prompt.input, "snapshot ");
}

#[test]
fn prompt_runs_a_parsed_command() {
    let mut state = app_with(elected(), Vec::new());
    assert!(state.on_key(key(':')).is_empty());
    assert_eq!(state.focus, Focus::Prompt);
    // Keys that mean something on the main screen are text in the prompt.
    assert!(type_keys(&mut state, "kill 2").is_empty());
    assert_eq!(state.prompt.input, "kill 2");
    assert!(!state.quit);
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Kill(2))
    );
    assert_eq!(state.focus, Focus::Main);
    assert_eq!(state.prompt.input, "");
    assert_eq!(state.prompt.history.iter().collect::<Vec<_>>(), ["kill 2"]);
    assert_eq!(state.selected, 1, "the prompt names its node");
    // More commands through the same path.
    type_keys(&mut state, ":partition 1,2 3,4,5");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Partition(vec![vec![1, 2], vec![3, 4, 5]]))
    );
    type_keys(&mut state, ":put greeting hello");
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Kv(raftlab::check::KvOp::Put {
            key: "greeting".into(),
            value: "hello".into()
        }))
    );
    // Backspace edits.
    type_keys(&mut state, ":restart 33");
    state.on_key(code(KeyCode::Backspace));
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Restart(3))
    );
    // An empty line just closes the prompt.
    state.on_key(key(':'));
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::Main);
}

#[test]
fn prompt_help_and_quit_act_locally() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":help");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::Help);
    state.on_key(code(KeyCode::Esc));
    assert_eq!(state.focus, Focus::Main);
    type_keys(&mut state, ":quit");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert!(state.quit);
}

#[test]
fn a_bad_command_leaves_an_error_and_no_effect() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":frobnicate 2");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        state.status_line.starts_with("error: "),
        "{}",
        state.status_line
    );
    assert_eq!(state.focus, Focus::Main);
    // A node outside the cluster.
    type_keys(&mut state, ":kill 9");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert!(
        state.status_line.starts_with("error: "),
        "{}",
        state.status_line
    );
    // The bad line is kept, to fix it with Up.
    type_keys(&mut state, ":");
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.prompt.input, "kill 9");
}

#[test]
fn a_bad_command_is_shown_with_a_caret_under_the_word() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":partition 1,2 1,3");
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(
        state.status_line,
        "error: partition: node 1 is in two groups"
    );
    for (w, h) in [(80, 24), (140, 45)] {
        let screen = Screen::of(&state, w, h);
        let rows: Vec<String> = (0..h as usize).map(|y| screen.row(y)).collect();
        let at = rows
            .iter()
            .position(|r| r.starts_with(":partition 1,2 1,3"))
            .unwrap_or_else(|| panic!("the bad line is shown:\n{}", rows.join("\n")));
        // The caret sits under the second `1` (column 15: after the `:`), the message below.
        assert_eq!(rows[at + 1].trim_end(), "               ^");
        assert_eq!(
            rows[at + 2].trim_end(),
            "error: partition: node 1 is in two groups"
        );
        assert!(rows[at + 3].starts_with("1-9 select"), "{}", rows[at + 3]);
    }
    // Once the status line moves on, the caret goes with it.
    state.apply_result("killed 2".into());
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.find(":partition").is_none());
}

#[test]
fn tab_completes_the_word_being_typed() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":kil");
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.prompt.input, "kill ");
    assert!(state.prompt.completions.is_empty());
    state.on_key(code(KeyCode::Tab));
    assert_eq!(
        state.prompt.completions,
        ["kill 1", "kill 2", "kill 3", "kill 4", "kill 5"]
    );
    assert_eq!(state.prompt.input, "kill ");
    // Typing hides the completions.
    type_keys(&mut state, "4");
    assert!(state.prompt.completions.is_empty());
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Kill(4))
    );
    // Several commands share a prefix: shown, not chosen.
    type_keys(&mut state, ":pa");
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.prompt.input, "pa");
    assert_eq!(state.prompt.completions, ["partition ", "pause "]);
    state.on_key(code(KeyCode::Backspace));
    assert!(state.prompt.completions.is_empty());
    // Nothing to complete: nothing changes.
    type_keys(&mut state, "ut greeting ");
    state.on_key(code(KeyCode::Tab));
    assert_eq!(state.prompt.input, "put greeting ");
    assert!(state.prompt.completions.is_empty());
}

#[test]
fn up_and_down_walk_the_history() {
    let mut state = app_with(elected(), Vec::new());
    for line in ["kill 2", "restart 2", "heal"] {
        type_keys(&mut state, &format!(":{line}"));
        state.on_key(code(KeyCode::Enter));
    }
    type_keys(&mut state, ":pau");
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.prompt.input, "heal");
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.prompt.input, "restart 2");
    state.on_key(code(KeyCode::Up));
    state.on_key(code(KeyCode::Up));
    assert_eq!(state.prompt.input, "kill 2", "stays on the oldest");
    state.on_key(code(KeyCode::Down));
    assert_eq!(state.prompt.input, "restart 2");
    state.on_key(code(KeyCode::Down));
    state.on_key(code(KeyCode::Down));
    assert_eq!(state.prompt.input, "pau", "back to the draft");
    state.on_key(code(KeyCode::Up));
    state.on_key(code(KeyCode::Up));
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Restart(2))
    );
}

#[test]
fn esc_cancels_the_prompt() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":kill 2");
    state.on_key(code(KeyCode::Tab));
    assert!(state.on_key(code(KeyCode::Esc)).is_empty());
    assert_eq!(state.focus, Focus::Main);
    assert_eq!(state.prompt.input, "");
    assert!(state.prompt.completions.is_empty());
    assert!(state.prompt.history.is_empty(), "nothing was run");
    // Reopening starts empty.
    state.on_key(key(':'));
    assert_eq!(state.prompt.input, "");
}

#[test]
fn a_paste_at_the_prompt_is_text_at_the_cursor_never_keys() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":put x ");
    // `q` quits and `k` kills on the main screen; in a paste they are letters, and the line
    // break at the end does not run the line.
    state.on_paste("quick\n");
    assert_eq!(state.focus, Focus::Prompt);
    assert_eq!(state.prompt.input, "put x quick");
    assert!(!state.quit);
    assert_eq!(
        state.prompt.notice, None,
        "nothing to say about a one-line paste"
    );
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        run(PromptCommand::Kv(KvOp::Put {
            key: "x".into(),
            value: "quick".into()
        }))
    );
    // Line breaks inside become spaces, and the prompt says so.
    type_keys(&mut state, ":");
    state.on_paste("kill\n2\n");
    assert_eq!(state.prompt.input, "kill 2");
    assert_eq!(
        state.prompt.notice.as_deref(),
        Some("pasted: 1 line break became a space")
    );
    // Editing the line retires the notice.
    state.on_key(code(KeyCode::Backspace));
    assert_eq!(state.prompt.notice, None);
}

#[test]
fn a_paste_on_the_main_screen_opens_the_prompt_with_it_and_runs_nothing() {
    for focus in [Focus::Main, Focus::Help, Focus::Detail] {
        let mut state = app_with(elected(), Vec::new());
        state.focus = focus;
        state.on_paste("k q i 1 2 kill 2");
        assert_eq!(state.focus, Focus::Prompt, "from {focus:?}");
        assert_eq!(state.prompt.input, "k q i 1 2 kill 2");
        assert!(!state.quit);
        assert_eq!(state.selected, 1, "no digit selected a node");
        // Esc drops it: nothing ran.
        assert!(state.on_key(code(KeyCode::Esc)).is_empty());
        assert_eq!(state.focus, Focus::Main);
        assert!(state.prompt.history.is_empty());
    }
}

#[test]
fn the_prompt_holds_4_kib_and_says_how_much_a_paste_or_typing_lost() {
    let max = raftlab::command::prompt::PROMPT_MAX;
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":put x ");
    state.on_paste(&"v".repeat(65_536));
    assert_eq!(state.prompt.input.len(), max);
    assert_eq!(
        state.prompt.notice.as_deref(),
        Some("pasted: the prompt holds 4,096 bytes: the last 61,446 bytes of the paste were cut")
    );
    // Typing on is refused, key by key, and counted.
    type_keys(&mut state, "ab");
    assert_eq!(state.prompt.input.len(), max);
    assert_eq!(
        state.prompt.notice.as_deref(),
        Some("the prompt is full (4,096 bytes): 2 keys were not typed")
    );
    // Room again after Backspace.
    state.on_key(code(KeyCode::Backspace));
    type_keys(&mut state, "w");
    assert_eq!(state.prompt.input.len(), max);
    assert!(state.prompt.input.ends_with("vw"));
    assert_eq!(state.prompt.notice, None);
    // The capped line still runs: a put of a 4 KB value.
    let effects = state.on_key(code(KeyCode::Enter));
    assert!(
        matches!(&effects[..], [Effect::Run(PromptCommand::Kv(KvOp::Put { value, .. }))]
            if value.len() == max - 6),
        "{effects:?}"
    );
}

#[test]
fn a_long_line_shows_its_end_where_the_cursor_is() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":put x ");
    let value: String = (0..300)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    state.on_paste(&value);
    for (w, h) in [(80, 24), (140, 45)] {
        let screen = Screen::of(&state, w, h);
        let rows: Vec<String> = (0..h as usize).map(|y| screen.row(y)).collect();
        let at = rows
            .iter()
            .position(|r| r.starts_with(":…"))
            .unwrap_or_else(|| panic!("a scrolled prompt row:\n{}", rows.join("\n")));
        // `:`, `…`, as much of the end as fits, the cursor: the whole width.
        let tail = &value[value.len() - (w as usize - 3)..];
        assert_eq!(rows[at], format!(":…{tail}█"));
        // The keys row gives the line's length, since its start is out of sight.
        assert!(
            rows[at + 1].starts_with("306 of 4,096 bytes · "),
            "{}",
            rows[at + 1]
        );
    }
    // A short line is shown whole, from its start.
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":kill 2");
    let screen = Screen::of(&state, 80, 24);
    assert!(screen.find(":kill 2█").is_some(), "{}", screen.text());
}

#[test]
fn a_cut_paste_shows_its_notice_under_the_prompt() {
    let mut state = app_with(elected(), Vec::new());
    type_keys(&mut state, ":");
    state.on_paste(&"k".repeat(10_000));
    let screen = Screen::of(&state, 140, 45);
    let rows: Vec<String> = (0..45).map(|y| screen.row(y)).collect();
    let at = rows
        .iter()
        .position(|r| r.starts_with(":…"))
        .unwrap_or_else(|| panic!("a scrolled prompt row:\n{}", rows.join("\n")));
    assert_eq!(
        rows[at + 1].trim_end(),
        "pasted: the prompt holds 4,096 bytes: the last 5,904 bytes of the paste were cut"
    );
    assert!(
        rows[at + 2].contains("help lists commands"),
        "{}",
        rows[at + 2]
    );
    assert_eq!(at + 3, 45, "the footer ends the screen");
}
