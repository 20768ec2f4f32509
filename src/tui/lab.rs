//! The dashboard on the sim engine (`raftlab --engine sim`, `raftlab lab`): the replay's slider
//! and time keys over a [`TimeMachine`], with the main screen's keys and the prompt acting on
//! the simulated cluster.
//!
//! ```text
//!  keys ─► replay table: space play/pause · ← → 1 s · , . one event · Home End · + - speed
//!       └─► main table ─► Effect::Run(command) ─► lab_effects ─► engine Action ─► act
//!                                     (at the frontier: joins the run; in the past: a new branch)
//!  prompt: save FILE · share · branches · branch N · next · pause · resume · step · speed F
//!  every position ─► view, feed, drops, status line rebuilt from the moment (seek_lab)
//! ```
//!
//! What the sim engine cannot do yet answers "not on the sim engine yet" (docs/lab.md).

use std::process::ExitCode;
use std::time::Duration;

use super::action::ReplayAction;
use super::app::{AppState, Effect, Theme};
use super::replay::{clamp_speed, step_speed, ReplayState, Tape};
use super::view::timeline::clock;
use crate::check::KvOp;
use crate::command::prompt::{LinkChange, PromptCommand};
use crate::engine::sim::travel::TimeMachine;
use crate::engine::sim::Action;
use crate::observe::cluster_view::LogWant;

/// What the status line says when nothing else has been said.
const HINT: &str = "lab (sim engine): keys act; space plays or pauses, ← → move in time, \
                    , . one event; acting in the past makes a branch; ? help";

impl AppState {
    /// A dashboard on `machine`, at moment 0, playing at the speed of real time.
    pub fn lab(machine: TimeMachine, source: String, theme: Theme) -> Self {
        let nodes = machine.run().settings.nodes;
        let mut state = AppState::new(nodes, theme);
        let rules = &machine.run().settings.unsafe_rules;
        if !rules.is_empty() {
            state.unsafe_rules = Some(format!("UNSAFE: {}", rules.join(", ")));
        }
        state.rules_in_force = Some(if machine.run().settings.paper {
            "Figure 2 only".to_string()
        } else {
            "PreVote·CheckQuorum".to_string()
        });
        state.replay = Some(ReplayState {
            tape: Tape::Lab(Box::new(machine)),
            source,
            position: Duration::ZERO,
            playing: true,
            speed: 1.0,
            narration: None,
            built_want: LogWant::default(),
            message: None,
            shared: Vec::new(),
        });
        state.seek(Duration::ZERO);
        state
    }

    /// Moves the lab to `t` and rebuilds all it shows from that moment: the cluster, the feed,
    /// the ring's drop marks, the status line.
    pub(super) fn seek_lab(&mut self, t: Duration) {
        let want = self.log_want();
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        let Tape::Lab(m) = &mut replay.tape else {
            return;
        };
        m.seek(t);
        replay.position = m.now();
        replay.built_want = want;
        if m.broken().is_some() {
            replay.playing = false;
        }
        let mut view = m.view(want);
        // The header's run state is the lab's playback.
        view.status.paused = !replay.playing;
        view.status.speed = 1.0 / replay.speed;
        let events: Vec<_> = m.recent().cloned().collect();
        let status = match (m.broken(), &replay.message, m.note()) {
            (Some(b), _, _) => format!(
                "SAFETY BROKEN at {}: {} — ← or , goes back to see how it came to be",
                clock(b.at),
                b.what
            ),
            (None, Some(said), _) => said.clone(),
            (None, None, Some((at, text))) => format!("{}: {text}", clock(*at)),
            (None, None, None) => HINT.to_string(),
        };
        self.view = Some(view);
        self.feed.clear();
        self.drops.clear();
        self.election = Default::default();
        for e in events {
            self.apply_event(e);
        }
        self.status_line = status;
        self.dirty = true;
    }

    /// A time key in the lab.
    pub(super) fn lab_time(&mut self, action: ReplayAction) {
        let Some(replay) = self.replay.as_mut() else {
            return;
        };
        let Tape::Lab(m) = &mut replay.tape else {
            return;
        };
        replay.message = None;
        let pos = replay.position;
        let target = match action {
            ReplayAction::PlayPause => {
                if m.broken().is_some() {
                    replay.message = Some(
                        "time stopped where safety broke: ← or , goes back, Home to the start"
                            .into(),
                    );
                } else {
                    replay.playing = !replay.playing;
                }
                pos
            }
            ReplayAction::Faster | ReplayAction::Slower => {
                replay.speed = step_speed(replay.speed, action == ReplayAction::Faster);
                pos
            }
            ReplayAction::Seek(ms) => {
                let d = Duration::from_millis(ms.unsigned_abs());
                if ms < 0 {
                    pos.saturating_sub(d)
                } else {
                    pos + d
                }
            }
            ReplayAction::NextFrame => {
                replay.playing = false;
                m.step_forward();
                m.now()
            }
            ReplayAction::PrevFrame => {
                replay.playing = false;
                m.step_back();
                m.now()
            }
            ReplayAction::Start => Duration::ZERO,
            ReplayAction::End => m.frontier().max(m.last_action()),
            ReplayAction::LogBack | ReplayAction::LogForward => {
                let back = action == ReplayAction::LogBack;
                self.update(if back {
                    super::action::Action::LogBack
                } else {
                    super::action::Action::LogForward
                });
                self.refresh_replay();
                return;
            }
        };
        self.seek_lab(target);
    }

    /// Carries out what keys and prompt commands asked of the cluster, on the lab.
    pub fn lab_effects(&mut self, effects: Vec<Effect>) {
        for e in effects {
            let said = match e {
                Effect::Run(cmd) => self.lab_command(cmd),
                Effect::AlignTimers | Effect::SpreadTimers => Some(not_yet("aligning the timers")),
                Effect::AdvanceScenario => None,
                Effect::StartChallenge(_) => {
                    Some("challenges run on the live engine (raftlab challenge NAME)".into())
                }
            };
            let Some(replay) = self.replay.as_mut() else {
                return;
            };
            replay.message = said;
            let t = replay.position;
            self.seek_lab(t);
        }
    }

    /// One command on the lab; what to say, if anything (an action's outcome shows by itself).
    fn lab_command(&mut self, cmd: PromptCommand) -> Option<String> {
        let replay = self.replay.as_mut()?;
        let Tape::Lab(m) = &mut replay.tape else {
            return None;
        };
        match cmd {
            PromptCommand::Pause => {
                replay.playing = false;
                None
            }
            PromptCommand::Resume => {
                replay.playing = m.broken().is_none();
                None
            }
            PromptCommand::Step => {
                replay.playing = false;
                m.step_forward();
                replay.position = m.now();
                None
            }
            PromptCommand::Speed(factor) => {
                // The live cluster's factor stretches a tick: 2 is twice as slow.
                replay.speed = clamp_speed(1.0 / factor);
                Some(format!(
                    "playing at {}",
                    super::view::timeline::speed_label(replay.speed)
                ))
            }
            PromptCommand::Save(file) => Some(match std::fs::write(&file, m.run().to_file()) {
                Ok(()) => format!(
                    "saved branch {} ({} actions) to {file}: raftlab lab {file} opens it",
                    m.current() + 1,
                    m.run().actions.len()
                ),
                Err(e) => format!("error: save: cannot write {file}: {e}"),
            }),
            PromptCommand::Share => {
                let text = m.run().share();
                let n = text.len();
                replay.shared.push(text);
                Some(format!(
                    "share string of branch {} ({n} characters): printed when you leave \
                     (q); raftlab lab --run STRING opens it",
                    m.current() + 1
                ))
            }
            PromptCommand::Branches => Some(branches_line(m)),
            PromptCommand::Next => Some(next_line(m)),
            PromptCommand::Branch(n) => Some(match m.switch(n.saturating_sub(1)) {
                Ok(()) => {
                    replay.position = m.now();
                    format!("on branch {n} at {}", clock(m.now()))
                }
                Err(e) => format!("error: branch: {e}"),
            }),
            other => {
                let written = m.run().actions.len();
                let before = m.branches().len();
                let outcome = engine_actions(&other, written).and_then(|actions| {
                    let mut said = Vec::new();
                    for a in actions {
                        said.push(m.act(a)?);
                    }
                    let text = said.join("; ");
                    Ok(if m.branches().len() > before {
                        format!(
                            "{text} — a new branch {} from {} (the old one is kept: :branches)",
                            m.current() + 1,
                            clock(m.now())
                        )
                    } else {
                        text
                    })
                });
                replay.position = m.now();
                Some(match outcome {
                    Ok(text) => format!("{}: {text}", clock(m.now())),
                    Err(why) => format!("error: {other}: {why}"),
                })
            }
        }
    }

    /// The share strings asked for with `:share`, to print once the terminal is restored.
    pub fn shared(&self) -> &[String] {
        self.replay.as_ref().map_or(&[], |r| &r.shared)
    }
}

/// What the sim engine answers for a command it does not have yet.
fn not_yet(what: &str) -> String {
    format!("not on the sim engine yet: {what} (docs/lab.md says what the lab does)")
}

/// `branches: 1 0s–45.2s 3 actions · ▸2 from 1 at 12.0s, 0s–20.0s 2 actions`.
fn branches_line(m: &TimeMachine) -> String {
    let items: Vec<String> = m
        .branches()
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mark = if i == m.current() { "▸" } else { "" };
            let from = match b.parent {
                Some((p, at)) => format!(" from {} at {}", p + 1, clock(at)),
                None => String::new(),
            };
            format!(
                "{mark}{}{from}: {} played, {} action{}",
                i + 1,
                clock(b.frontier),
                b.run.actions.len(),
                if b.run.actions.len() == 1 { "" } else { "s" }
            )
        })
        .collect();
    format!("branches: {} (:branch N switches)", items.join(" · "))
}

/// The lab actions a prompt command (or a key's) stands for; `written` numbers a random write
/// (`w`) so that a run replays it the same. Commands the sim engine lacks say so.
pub fn engine_actions(cmd: &PromptCommand, written: usize) -> Result<Vec<Action>, String> {
    let one = match cmd {
        PromptCommand::Kill(n) => Action::Kill(*n),
        PromptCommand::Restart(n) => Action::Restart(*n),
        PromptCommand::Isolate(n) => Action::Isolate(*n),
        PromptCommand::Campaign(n) => Action::Campaign(*n),
        PromptCommand::Partition(groups) => Action::Partition(groups.clone()),
        PromptCommand::Heal => Action::Heal,
        PromptCommand::Clock { node, rate } => Action::Clock(*node, *rate),
        PromptCommand::Transfer(n) => Action::Transfer(*n),
        PromptCommand::DeliverMessage(id) => Action::Deliver(*id),
        PromptCommand::DropMessage(id) => Action::Drop(*id),
        PromptCommand::DupMessage(id) => Action::Duplicate(*id),
        PromptCommand::Link { from, to, changes } => {
            let (from, to) = (*from, *to);
            return changes
                .iter()
                .map(|c| match c {
                    LinkChange::Cut => Ok(Action::Link {
                        from,
                        to,
                        up: false,
                    }),
                    LinkChange::Up => Ok(Action::Link { from, to, up: true }),
                    LinkChange::Delay(delay) => Ok(Action::LinkDelay {
                        from,
                        to,
                        delay: *delay,
                    }),
                    LinkChange::Drop(rate) => Ok(Action::LinkDrop {
                        from,
                        to,
                        rate: *rate,
                    }),
                    LinkChange::Jitter(_) => Err(not_yet("link jitter")),
                })
                .collect();
        }
        PromptCommand::Kv(KvOp::Put { key, value }) => Action::Put(key.clone(), value.clone()),
        PromptCommand::Kv(KvOp::Get { key }) => Action::Get(key.clone()),
        PromptCommand::Write => Action::Put(format!("w{written}"), written.to_string()),
        other => return Err(not_yet(&other.to_string())),
    };
    Ok(vec![one])
}

/// `next: 4.213s deliver #41 AppendEntries 3→1 t1 · 4.250s node 2's election timer fires · …`:
/// what happens next if nothing is done, and how to make one happen now.
fn next_line(m: &TimeMachine) -> String {
    let events = m.next_events(6);
    if events.is_empty() {
        return "next: nothing is pending".into();
    }
    let items: Vec<String> = events
        .iter()
        .map(|e| format!("{} {}", clock(e.at), e.text))
        .collect();
    format!(
        "next: {} (deliver ID or campaign N makes one happen now; . takes the earliest)",
        items.join(" · ")
    )
}

/// Runs the lab dashboard on `machine` until the user quits, then prints the share strings
/// asked for. The caller checked that this is a terminal.
pub async fn run(machine: TimeMachine, source: String, theme: Theme) -> ExitCode {
    let state = AppState::lab(machine, source, theme);
    let (code, state) = super::replay::run_state(state).await;
    for s in state.shared() {
        println!("{s}");
    }
    code
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::sim::{Run, Settings};
    use crate::tui::action::Action as Key;

    fn lab() -> AppState {
        let run = Run::new(Settings::new(3, 11));
        let m = TimeMachine::new(run).unwrap();
        let mut s = AppState::lab(m, "test".into(), Theme::Mono);
        s.seek(Duration::from_secs(8));
        s
    }

    fn machine(s: &AppState) -> &TimeMachine {
        s.replay.as_ref().unwrap().lab().unwrap()
    }

    #[test]
    fn a_key_acts_on_the_lab_and_joins_the_run() {
        let mut s = lab();
        s.selected = 2;
        let effects = s.update(Key::Kill);
        s.lab_effects(effects);
        let m = machine(&s);
        assert_eq!(m.run().actions.len(), 1);
        assert_eq!(m.run().actions[0].to_string(), "8000ms kill 2");
        assert!(!s.view.as_ref().unwrap().status.nodes[1].up);
        assert!(s.status_line.contains("killed node 2"), "{}", s.status_line);
    }

    #[test]
    fn acting_in_the_past_makes_a_branch_and_branch_switches_back() {
        let mut s = lab();
        s.lab_effects(vec![Effect::Run(PromptCommand::Write)]);
        s.seek(Duration::from_secs(12));
        s.seek(Duration::from_secs(4));
        s.lab_effects(vec![Effect::Run(PromptCommand::Kill(1))]);
        assert_eq!(machine(&s).branches().len(), 2);
        assert!(
            s.status_line.contains("a new branch 2"),
            "{}",
            s.status_line
        );
        s.lab_effects(vec![Effect::Run(PromptCommand::Branches)]);
        assert!(
            s.status_line
                .starts_with("branches: 1: 12.0s played, 1 action · ▸2 from 1 at 4.0s"),
            "{}",
            s.status_line
        );
        s.lab_effects(vec![Effect::Run(PromptCommand::Branch(1))]);
        assert_eq!(machine(&s).current(), 0);
        s.lab_effects(vec![Effect::Run(PromptCommand::Branch(7))]);
        assert!(s.status_line.contains("no branch 7"), "{}", s.status_line);
    }

    #[test]
    fn what_the_sim_engine_lacks_says_so_and_changes_nothing() {
        let mut s = lab();
        s.lab_effects(vec![Effect::Run(PromptCommand::Snapshot(1))]);
        assert!(
            s.status_line.contains("not on the sim engine yet"),
            "{}",
            s.status_line
        );
        s.lab_effects(vec![Effect::Run(PromptCommand::Link {
            from: 1,
            to: 2,
            changes: vec![LinkChange::Jitter(Duration::from_millis(5))],
        })]);
        assert!(
            s.status_line.contains("not on the sim engine yet"),
            "{}",
            s.status_line
        );
        assert!(machine(&s).run().actions.is_empty());
    }

    #[test]
    fn next_lists_what_happens_and_deliver_makes_a_message_arrive_now() {
        let mut s = lab();
        s.lab_effects(vec![Effect::Run(PromptCommand::Next)]);
        assert!(s.status_line.starts_with("next: "), "{}", s.status_line);
        let id = machine(&s)
            .next_events(50)
            .into_iter()
            .find_map(|e| match e.action {
                Some(Action::Deliver(id)) => Some(id),
                _ => None,
            })
            .expect("a message in flight");
        s.lab_effects(vec![Effect::Run(PromptCommand::DeliverMessage(id))]);
        assert!(
            s.status_line.contains(&format!("delivered #{id}")),
            "{}",
            s.status_line
        );
        assert_eq!(machine(&s).run().actions[0].action, Action::Deliver(id));
        assert!(!machine(&s)
            .next_events(50)
            .iter()
            .any(|e| e.action == Some(Action::Deliver(id))));
    }

    #[test]
    fn save_and_share_write_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("r.json");
        let mut s = lab();
        s.lab_effects(vec![Effect::Run(PromptCommand::Kv(KvOp::Put {
            key: "x".into(),
            value: "1".into(),
        }))]);
        s.lab_effects(vec![Effect::Run(PromptCommand::Save(
            file.display().to_string(),
        ))]);
        let saved = Run::from_file(&std::fs::read_to_string(&file).unwrap()).unwrap();
        assert_eq!(&saved, machine(&s).run());
        s.lab_effects(vec![Effect::Run(PromptCommand::Share)]);
        assert_eq!(s.shared().len(), 1);
        assert_eq!(&Run::from_share(&s.shared()[0]).unwrap(), machine(&s).run());
    }
}
