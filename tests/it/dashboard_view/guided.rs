//! A guided scenario at a stop on the dashboard: Enter goes on (a key of the stop's own table;
//! elsewhere Enter opens the node detail), the footer names it first at every size, and the
//! narration panel says that time stands still.

use super::*;
use raftlab::scenario::runner::RunReport;
use raftlab::tui::action::Mode;
use raftlab::tui::narration::Narration;

/// The dashboard of `split-vote --guided`, at its second stop.
fn at_a_stop() -> AppState {
    let mut state = app_with(elected(), Vec::new());
    state.narration = Some(Narration::new("split-vote", "Split vote", 4, true));
    state.apply_report(RunReport::Step {
        number: 2,
        total: 4,
        say: Some("We make nodes 2 and 3 time out at the same moment.".into()),
        describe: "do campaign 2; campaign 3".into(),
    });
    state.apply_report(RunReport::WaitingForUser);
    state
}

#[test]
fn enter_at_a_stop_goes_on_and_elsewhere_opens_the_node_detail() {
    let mut state = at_a_stop();
    assert_eq!(state.mode(), Mode::Stop);
    // The main screen's keys still act at a stop.
    assert_eq!(state.on_key(key('k')), run(PromptCommand::Kill(1)));
    assert_eq!(
        state.on_key(code(KeyCode::Enter)),
        vec![Effect::AdvanceScenario]
    );
    assert_eq!(state.mode(), Mode::Main);
    assert!(state.on_key(code(KeyCode::Enter)).is_empty());
    assert_eq!(state.focus, Focus::Detail);
}

#[test]
fn the_footer_names_the_stop_first_at_every_size() {
    let state = at_a_stop();
    for (w, h) in [(120, 40), (80, 24), (140, 45)] {
        let screen = Screen::of(&state, w, h);
        let text = screen.text();
        let last = screen.row(usize::from(h) - 1);
        assert!(last.starts_with("Enter next step · "), "{w}×{h}:\n{text}");
        assert!(text.contains("▶ Enter: next step"), "{w}×{h}:\n{text}");
        assert!(text.contains("time stands still"), "{w}×{h}:\n{text}");
    }
}
