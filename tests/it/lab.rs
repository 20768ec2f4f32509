//! `raftlab lab`, the deterministic lab: runs played on the simulator, from outside (the binary:
//! `--headless`, `--save`, `--share`, `--run`, `--record`, bad input) and from the library (the
//! same run twice gives the same frames; a recording of a run reads back frame for frame; each
//! unsafe rule's built-in run stops at the property it breaks; messages delivered and dropped by
//! id replay the same).

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use proptest::prelude::*;
use raftlab::cli::lab::BUILTIN;
use raftlab::engine::sim::{play, Action, Lab, Run, Settings, Timed};
use raftlab::node::EventKind;
use raftlab::observe::cluster_view::LogWant;
use raftlab::record::{record_run, Recording};

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .arg("lab")
        .args(args)
        .output()
        .expect("run raftlab lab")
}

fn text(o: &[u8]) -> String {
    String::from_utf8_lossy(o).into_owned()
}

/// A directory of this test's own, removed when it passes.
struct Dir(std::path::PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("lab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).expect("a test directory");
        Dir(d)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_string_lossy().into_owned()
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

#[test]
fn each_unsafe_rules_run_stops_at_the_property_it_breaks() {
    for (name, property) in [
        ("figure-8", "Leader Completeness"),
        ("forget-vote", "Election Safety"),
        ("vote-without-log-check", "Leader Completeness"),
    ] {
        let out = lab(&[name, "--headless"]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}:\n{stdout}{}",
            text(&out.stderr)
        );
        let verdict = stdout.lines().last().unwrap_or_default();
        assert!(
            verdict.starts_with("SAFETY BROKEN at ") && verdict.contains(&format!("— {property}:")),
            "{name}: {verdict}"
        );
    }
}

#[test]
fn each_unsafe_run_holds_without_its_rule() {
    // The same actions with the rule off: Raft holds. (The rule, not the schedule, breaks it.)
    for (name, file) in BUILTIN {
        let mut run = Run::from_file(file).expect("a built-in run");
        run.settings.unsafe_rules.clear();
        let session = play(run, Duration::from_secs(30)).expect("plays");
        assert!(session.broken.is_none(), "{name}: {:?}", session.broken);
    }
}

#[test]
fn a_saved_run_and_a_shared_string_play_the_same_as_the_flags() {
    let dir = Dir::new("share");
    let saved = dir.path("run.json");
    let flags = [
        "--nodes",
        "3",
        "--seed",
        "4",
        "--do",
        "5s put x 1",
        "--do",
        "7s kill 1",
        "--do",
        "9s put y 2",
        "--do",
        "12s restart 1",
        "--for",
        "20s",
    ];
    let mut args = flags.to_vec();
    args.extend(["--headless", "--save", &saved]);
    let first = lab(&args);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert!(
        text(&first.stdout).contains("x=1"),
        "{}",
        text(&first.stdout)
    );
    let from_file = lab(&[&saved, "--for", "20s", "--headless"]);
    assert_eq!(text(&from_file.stdout), text(&first.stdout));
    let mut args = flags.to_vec();
    args.push("--share");
    let share = text(&lab(&args).stdout).trim().to_string();
    assert!(share.starts_with("raftlab-run-1:"), "{share}");
    let from_string = lab(&["--run", &share, "--for", "20s", "--headless"]);
    assert_eq!(text(&from_string.stdout), text(&first.stdout));
}

#[test]
fn the_same_run_records_the_same_bytes_and_replays_frame_for_frame() {
    let dir = Dir::new("record");
    let (a, b) = (dir.path("a.jsonl"), dir.path("b.jsonl"));
    for path in [&a, &b] {
        let out = lab(&["figure-8", "--headless", "--record", path]);
        assert_eq!(out.status.code(), Some(1));
    }
    let (a, b) = (
        std::fs::read(&a).expect("recording a"),
        std::fs::read(&b).expect("recording b"),
    );
    assert!(!a.is_empty());
    assert!(a == b, "two recordings of one run differ");
    // The recording, read back, shows at each moment what the lab captured then.
    let run = Run::from_file(BUILTIN[0].1).expect("a built-in run");
    let session = play(run.clone(), Duration::from_secs(30)).expect("plays");
    let played = record_run(run, Duration::from_secs(30), "t").expect("records");
    let recording = Recording::parse(played.recording.as_bytes()).expect("reads back");
    // (A recording counts whole milliseconds.)
    let last = session.frames.last().expect("a frame").at;
    assert_eq!(recording.end().as_millis(), last.as_millis());
    for f in session.frames.iter().step_by(7) {
        let seen = recording
            .frame_at(f.at, LogWant::default())
            .expect("a frame");
        assert_eq!(seen.status, f.status, "at {:?}", f.at);
        assert_eq!(seen.in_flight, f.in_flight, "at {:?}", f.at);
        assert_eq!(seen.kv, f.kv, "at {:?}", f.at);
    }
    assert!(played
        .notes
        .iter()
        .any(|(_, n)| n.starts_with("isolate 1 →")));
}

#[test]
fn bad_runs_are_one_line_errors_that_change_nothing() {
    let dir = Dir::new("bad");
    let saved = dir.path("never.json");
    let good = Run::from_file(BUILTIN[1].1)
        .expect("a built-in run")
        .to_file();
    let cut = dir.path("cut.json");
    std::fs::write(&cut, &good[..good.len() / 2]).expect("write");
    let newer = dir.path("newer.json");
    std::fs::write(&newer, good.replace("\"format\": 1", "\"format\": 9")).expect("write");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec![&cut], "not a raftlab run"),
        (vec![&newer], "format 9"),
        (vec!["no-such-run"], "cannot read"),
        (vec!["--run", "raftlab-run-1:garbage"], "damaged"),
        (vec!["--run", "hello"], "starts with raftlab-run-1:"),
        (vec!["--do", "2s fly 3"], "not a lab action"),
        (vec!["--do", "soon kill 3"], "not a moment"),
        (vec!["--nodes", "3", "--do", "1s kill 4"], "names node 4"),
        (
            vec!["--do", "3s kill 1", "--do", "1s kill 2"],
            "comes before",
        ),
        (vec!["--unsafe", "local-reads"], "not on the sim"),
        (vec!["--unsafe", "be-sloppy"], "be-sloppy"),
        (vec!["--for", "61m"], "at most 3600 s"),
        (vec!["--do", "5000s heal"], "at most 3600 s"),
    ];
    for (mut args, says) in cases {
        args.extend(["--headless", "--save", &saved]);
        let out = lab(&args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!Path::new(&saved).exists(), "{args:?} wrote the run");
    }
}

/// Two message ids in flight at `at` in `run` (the first two the next-events list shows).
fn two_messages_in_flight(run: &Run, at: Duration) -> (u64, u64) {
    let mut lab = Lab::new(run.clone()).expect("a run");
    lab.advance(at);
    let ids: Vec<u64> = lab
        .next_events(usize::MAX)
        .into_iter()
        .filter_map(|e| match e.action {
            Some(Action::Deliver(id)) => Some(id),
            _ => None,
        })
        .collect();
    assert!(ids.len() >= 2, "messages in flight at {at:?}: {ids:?}");
    (ids[0], ids[1])
}

#[test]
fn messages_delivered_and_dropped_by_id_replay_the_same_and_a_dropped_one_never_arrives() {
    let mut run = Run::new(Settings::new(3, 2));
    run.actions.push("6s put x 1".parse().expect("an action"));
    let at = Duration::from_millis(6_000);
    let (deliver, dropped) = two_messages_in_flight(&run, at);
    run.actions
        .push(format!("6s deliver {deliver}").parse().expect("an action"));
    run.actions
        .push(format!("6s drop {dropped}").parse().expect("an action"));
    // Saved and loaded, the ids stay what they were.
    let run = Run::from_file(&run.to_file()).expect("reads back");
    let until = Duration::from_secs(12);
    let a = play(run.clone(), until).expect("plays");
    let b = play(run, until).expect("plays");
    assert!(a.broken.is_none(), "{:?}", a.broken);
    assert_eq!(a.frames, b.frames);
    assert_eq!(format!("{:?}", a.events), format!("{:?}", b.events));
    assert_eq!(a.notes, b.notes);
    let notes: Vec<&str> = a.notes.iter().map(|(_, t)| t.as_str()).collect();
    assert!(
        notes
            .iter()
            .any(|t| t.starts_with(&format!("deliver {deliver} → delivered #{deliver} "))),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|t| t.starts_with(&format!("drop {dropped} → dropped #{dropped} "))),
        "{notes:?}"
    );
    // From the moment of the actions on, neither is in flight.
    assert_eq!(a.frames[60].at, at);
    for id in [deliver, dropped] {
        for f in &a.frames[60..] {
            assert!(
                f.in_flight.iter().all(|m| m.id != id),
                "#{id} at {:?}",
                f.at
            );
        }
    }
    let by_hand = a
        .events
        .iter()
        .filter(|e| {
            matches!(&e.kind, EventKind::MessageDropped { why, .. } if why == "dropped by hand")
        })
        .count();
    assert_eq!(by_hand, 1, "the dropped message is lost once, by hand");
    // The same run without the drop: the message arrives (so the test can tell).
    let mut kept = Run::new(Settings::new(3, 2));
    kept.actions.push("6s put x 1".parse().expect("an action"));
    let c = play(kept, until).expect("plays");
    for id in [deliver, dropped] {
        assert!(
            c.frames[60].in_flight.iter().any(|m| m.id == id),
            "#{id} is in flight at 6s when left alone"
        );
    }
    assert!(!c.events.iter().any(|e| {
        matches!(&e.kind, EventKind::MessageDropped { why, .. } if why == "dropped by hand")
    }));
}

#[test]
fn a_message_id_not_in_flight_is_a_clear_outcome_at_play_time() {
    // An id cannot be checked before playing (ids depend on the run): it is checked when its
    // moment comes, and the outcome says it was not there; the run goes on.
    let mut run = Run::new(Settings::new(3, 2));
    for a in ["3s deliver 999999", "3s drop 999999", "3s duplicate 999999"] {
        run.actions.push(a.parse().expect("an action"));
    }
    let session = play(run, Duration::from_secs(5)).expect("plays");
    assert!(session.broken.is_none());
    let notes: Vec<&str> = session.notes.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(notes.len(), 3, "{notes:?}");
    for t in notes {
        assert!(t.contains("no message #999999 is in flight"), "{t}");
    }
    // A word that is not an id is refused when the file is read.
    let out = lab(&["--do", "1s deliver soon", "--headless"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a message id"), "{err}");
}

/// A random action on a cluster of `nodes`.
fn action(nodes: u64) -> impl Strategy<Value = Action> {
    let node = 1..=nodes;
    prop_oneof![
        node.clone().prop_map(Action::Kill),
        node.clone().prop_map(Action::Restart),
        node.clone().prop_map(Action::Isolate),
        node.clone().prop_map(Action::Campaign),
        Just(Action::Heal),
        (node.clone(), node.clone(), any::<bool>()).prop_map(|(from, to, up)| Action::Link {
            from,
            to,
            up
        }),
        (node.clone(), 1..20u8).prop_map(|(n, r)| Action::Clock(n, f64::from(r) / 4.0)),
        (0..5u8, 0..100u8).prop_map(|(k, v)| Action::Put(format!("k{k}"), v.to_string())),
        (0..5u8).prop_map(|k| Action::Get(format!("k{k}"))),
        node.clone().prop_map(Action::Transfer),
        (1..400u64).prop_map(Action::Deliver),
        (1..400u64).prop_map(Action::Drop),
        (1..400u64).prop_map(Action::Duplicate),
        (node.clone(), node.clone(), 0..2_000u64).prop_map(|(from, to, ms)| Action::LinkDelay {
            from,
            to,
            delay: Duration::from_millis(ms)
        }),
        (node, 0..=4u8).prop_map(|(n, r)| Action::LinkDrop {
            from: n,
            to: n % 5 + 1,
            rate: f64::from(r) / 4.0
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// The same run (seed and actions) twice gives identical frames and events, and Raft's
    /// safety holds whatever the actions (no unsafe rule).
    #[test]
    fn the_same_run_plays_the_same_and_stays_safe(
        seed in 0..1_000u64,
        nodes in 1..=5u64,
        steps in proptest::collection::vec((0..3_000u64, action(5)), 0..12),
    ) {
        let mut run = Run::new(Settings::new(nodes as usize, seed));
        let mut at = 0;
        for (gap, a) in steps {
            if a.nodes().iter().any(|n| *n > nodes) {
                continue;
            }
            at += gap;
            run.actions.push(Timed { at_ms: at, action: a });
        }
        let until = Duration::from_millis(at + 5_000);
        let a = play(run.clone(), until).expect("plays");
        let b = play(run, until).expect("plays");
        prop_assert!(a.broken.is_none(), "{:?}", a.broken);
        prop_assert_eq!(&a.frames, &b.frames);
        prop_assert_eq!(format!("{:?}", a.events), format!("{:?}", b.events));
        prop_assert_eq!(a.notes, b.notes);
    }
}
