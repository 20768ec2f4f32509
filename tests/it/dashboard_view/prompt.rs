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
