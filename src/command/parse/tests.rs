//! Tests of the prompt's parser: every command, every error (its text and the word it points
//! at), and round trips of `Display` through `parse`.

use super::*;
use crate::check::KvOp;
use crate::command::prompt::{complete, COMMANDS};
use proptest::prelude::*;

const N: usize = 5;

fn ok(line: &str) -> PromptCommand {
    match parse(line, N) {
        Ok(cmd) => cmd,
        Err(e) => panic!("{line:?} should parse, got {e:?}"),
    }
}

fn err(line: &str) -> String {
    match parse(line, N) {
        Ok(cmd) => panic!("{line:?} should fail, got {cmd:?}"),
        Err(e) => e.to_string(),
    }
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn s(x: &str) -> String {
    x.to_string()
}

fn put(key: &str, value: &str) -> PromptCommand {
    PromptCommand::Kv(KvOp::Put {
        key: s(key),
        value: s(value),
    })
}

fn append(key: &str, value: &str) -> PromptCommand {
    PromptCommand::Kv(KvOp::Append {
        key: s(key),
        value: s(value),
    })
}

fn get(key: &str) -> PromptCommand {
    PromptCommand::Kv(KvOp::Get { key: s(key) })
}

fn del(key: &str) -> PromptCommand {
    PromptCommand::Kv(KvOp::Delete { key: s(key) })
}

fn cas(key: &str, expected: Option<&str>, new_value: &str) -> PromptCommand {
    PromptCommand::Kv(KvOp::Cas {
        key: s(key),
        expected: expected.map(s),
        new_value: s(new_value),
    })
}

fn slow(node: NodeId, delay: Duration) -> PromptCommand {
    PromptCommand::Slow { node, delay }
}

fn link(from: NodeId, to: NodeId, changes: Vec<LinkChange>) -> PromptCommand {
    PromptCommand::Link { from, to, changes }
}

#[test]
fn parses_every_command() {
    use LinkChange::*;
    use PromptCommand as C;
    let cases: Vec<(&str, PromptCommand)> = vec![
        ("put x 1", put("x", "1")),
        (
            "put greeting \"hello world\"",
            put("greeting", "hello world"),
        ),
        ("put k \"\"", put("k", "")),
        (r#"put "a \"b\"" "c\\d""#, put("a \"b\"", "c\\d")),
        (r#"put k "a\nb""#, put("k", "a\\nb")),
        ("put k ab\"c d\"e", put("k", "abc de")),
        ("put k a\\b", put("k", "a\\b")),
        ("  PUT   x\t1  ", put("x", "1")),
        ("get x", get("x")),
        ("del x", del("x")),
        ("delete x", del("x")),
        ("append x abc", append("x", "abc")),
        ("cas x - 1", cas("x", None, "1")),
        ("cas x \"-\" 1", cas("x", Some("-"), "1")),
        ("cas x 1 2", cas("x", Some("1"), "2")),
        ("write", C::Write),
        ("retry", C::Retry),
        ("kill 3", C::Kill(3)),
        ("KILL 1", C::Kill(1)),
        ("restart 5", C::Restart(5)),
        ("isolate 2", C::Isolate(2)),
        ("campaign 3", C::Campaign(3)),
        ("timeout 3", C::Campaign(3)),
        ("transfer 2", C::Transfer(2)),
        ("add-node", C::AddNode),
        ("promote 4", C::Promote(4)),
        ("remove-node 2", C::RemoveNode(2)),
        ("rules", C::Rules),
        ("snapshot 2", C::Snapshot(2)),
        ("compact 5", C::Snapshot(5)),
        ("SNAPSHOT 1", C::Snapshot(1)),
        (
            "partition 1,2 3,4,5",
            C::Partition(vec![vec![1, 2], vec![3, 4, 5]]),
        ),
        ("partition 1", C::Partition(vec![vec![1]])),
        (
            "partition \"1, 2\" 3",
            C::Partition(vec![vec![1, 2], vec![3]]),
        ),
        ("heal", C::Heal),
        ("slow 2 300ms", slow(2, ms(300))),
        ("slow 2 0", slow(2, Duration::ZERO)),
        ("slow 2 0ms", slow(2, Duration::ZERO)),
        ("slow 2 2s", slow(2, ms(2000))),
        ("slow 2 1.5s", slow(2, ms(1500))),
        ("slow 2 1.5MS", slow(2, Duration::from_micros(1500))),
        ("slow 2 3600s", slow(2, Duration::from_secs(3600))),
        ("link 1 2 drop 0.3", link(1, 2, vec![Drop(0.3)])),
        ("link 1 2 cut", link(1, 2, vec![Cut])),
        ("link 1 2 up", link(1, 2, vec![Up])),
        (
            "link 1 2 delay 200ms jitter 50ms",
            link(1, 2, vec![Delay(ms(200)), Jitter(ms(50))]),
        ),
        (
            "link 2 1 UP delay 0 drop 1 jitter 1s",
            link(
                2,
                1,
                vec![Up, Delay(Duration::ZERO), Drop(1.0), Jitter(ms(1000))],
            ),
        ),
        ("link 1 2 drop 0", link(1, 2, vec![Drop(0.0)])),
        ("clock 4 1.5", C::Clock { node: 4, rate: 1.5 }),
        ("clock 4 1e-1", C::Clock { node: 4, rate: 0.1 }),
        ("speed 0.5", C::Speed(0.5)),
        ("speed 2", C::Speed(2.0)),
        ("pause", C::Pause),
        ("resume", C::Resume),
        ("step", C::Step),
        ("drop 17", C::DropMessage(17)),
        ("dup 17", C::DupMessage(17)),
        ("duplicate 17", C::DupMessage(17)),
        ("deliver 17", C::DeliverMessage(17)),
        ("nemesis", C::Nemesis(NEMESIS_DEFAULT)),
        ("nemesis 45", C::Nemesis(Duration::from_secs(45))),
        ("NEMESIS 2s", C::Nemesis(ms(2000))),
        ("nemesis 1500ms", C::Nemesis(ms(1500))),
        ("nemesis 3600", C::Nemesis(Duration::from_secs(3600))),
        ("nemesis stop", C::NemesisStop),
        ("nemesis STOP", C::NemesisStop),
        ("history", C::History),
        ("history save h.jsonl", C::HistorySave(s("h.jsonl"))),
        (
            "HISTORY Save \"my runs/h 1.jsonl\"",
            C::HistorySave(s("my runs/h 1.jsonl")),
        ),
        ("history save stop", C::HistorySave(s("stop"))),
        ("help", C::Help),
        ("?", C::Help),
        ("quit", C::Quit),
        ("exit", C::Quit),
        ("q", C::Quit),
        ("Q", C::Quit),
    ];
    for (line, want) in cases {
        assert_eq!(ok(line), want, "{line:?}");
    }
}

#[test]
fn rejects_bad_input_with_clear_errors() {
    let cases: &[(&str, &str)] = &[
            ("", "empty command (type help)"),
            ("   ", "empty command (type help)"),
            ("frobnicate", "unknown command \"frobnicate\" (type help)"),
            ("frobnicate 1 2", "unknown command \"frobnicate\" (type help)"),
            ("put x \"abc", "unterminated quote (close it with \")"),
            ("put x \"abc\\\"", "unterminated quote (close it with \")"),
            ("put", "usage: put KEY VALUE"),
            ("put x", "put: missing VALUE (usage: put KEY VALUE)"),
            ("put x 1 2", "put: too many arguments (usage: put KEY VALUE)"),
            ("put \"\" 1", "put: key must not be empty (usage: put KEY VALUE)"),
            ("get", "usage: get KEY"),
            ("get a b", "get: too many arguments (usage: get KEY)"),
            ("get \"\"", "get: key must not be empty (usage: get KEY)"),
            ("del", "usage: del KEY"),
            ("delete a b", "del: too many arguments (usage: del KEY)"),
            ("append x", "append: missing VALUE (usage: append KEY VALUE)"),
            ("cas", "usage: cas KEY EXPECTED NEW"),
            ("cas x -", "cas: missing NEW (usage: cas KEY EXPECTED NEW)"),
            ("cas x 1 2 3", "cas: too many arguments (usage: cas KEY EXPECTED NEW)"),
            ("cas \"\" - 1", "cas: key must not be empty (usage: cas KEY EXPECTED NEW)"),
            ("write now", "write: too many arguments (usage: write)"),
            ("kill", "usage: kill NODE"),
            ("kill 12", "kill: node 12 does not exist (nodes are 1..5)"),
            ("kill 0", "kill: node 0 does not exist (nodes are 1..5)"),
            ("kill -1", "kill: \"-1\" is not a node id (nodes are 1..5)"),
            ("kill x", "kill: \"x\" is not a node id (nodes are 1..5)"),
            ("kill 1 2", "kill: too many arguments (usage: kill NODE)"),
            ("restart 6", "restart: node 6 does not exist (nodes are 1..5)"),
            ("isolate", "usage: isolate NODE"),
            ("timeout 9", "campaign: node 9 does not exist (nodes are 1..5)"),
            ("snapshot", "usage: snapshot NODE"),
            ("compact", "usage: snapshot NODE"),
            ("snapshot 6", "snapshot: node 6 does not exist (nodes are 1..5)"),
            ("snapshot 0", "snapshot: node 0 does not exist (nodes are 1..5)"),
            ("snapshot all", "snapshot: \"all\" is not a node id (nodes are 1..5)"),
            ("compact 1 2", "snapshot: too many arguments (usage: snapshot NODE)"),
            ("snapshot 1 now", "snapshot: too many arguments (usage: snapshot NODE)"),
            ("partition", "usage: partition GROUP... (e.g. partition 1,2 3,4,5)"),
            ("partition 1,2,3 3,4", "partition: node 3 is in two groups"),
            ("partition 1,2 3,4,3", "partition: node 3 is listed twice"),
            ("partition 1,2 2", "partition: node 2 is in two groups"),
            ("partition 1,1", "partition: node 1 is listed twice"),
            ("partition 1,,2", "partition: \"1,,2\" is not a group of node ids like 1,2"),
            ("partition 1, 2", "partition: \"1,\" is not a group of node ids like 1,2"),
            ("partition 1,9", "partition: node 9 does not exist (nodes are 1..5)"),
            ("partition a", "partition: \"a\" is not a node id (nodes are 1..5)"),
            ("heal all", "heal: too many arguments (usage: heal)"),
            ("slow", "usage: slow NODE DELAY"),
            ("slow 2", "slow: missing DELAY (usage: slow NODE DELAY)"),
            ("slow 2 \"3 seconds\"", "slow: \"3 seconds\" is not a duration (use 300ms, 2s)"),
            ("slow 2 300", "slow: \"300\" is not a duration (use 300ms, 2s)"),
            ("slow 2 -1s", "slow: \"-1s\" is not a duration (use 300ms, 2s)"),
            ("slow 2 1.s", "slow: \"1.s\" is not a duration (use 300ms, 2s)"),
            ("slow 2 .5s", "slow: \".5s\" is not a duration (use 300ms, 2s)"),
            ("slow 2 ms", "slow: \"ms\" is not a duration (use 300ms, 2s)"),
            ("slow 2 5m", "slow: \"5m\" is not a duration (use 300ms, 2s)"),
            ("slow 2 3601s", "slow: 3601s is too long (at most 3600s)"),
            (
                "slow 2 99999999999999999999999999999999999999999999s",
                "slow: 99999999999999999999999999999999999999999999s is too long (at most 3600s)",
            ),
            ("slow 7 1s", "slow: node 7 does not exist (nodes are 1..5)"),
            ("slow 2 1s 3", "slow: too many arguments (usage: slow NODE DELAY)"),
            ("link", "usage: link FROM TO cut|up|delay D|jitter D|drop P..."),
            ("link 1", "link: missing TO (usage: link FROM TO cut|up|delay D|jitter D|drop P...)"),
            (
                "link 1 2",
                "link: missing a change (usage: link FROM TO cut|up|delay D|jitter D|drop P...)",
            ),
            (
                "link 1 1 cut",
                "link: node 1 has no link to itself (usage: link FROM TO cut|up|delay D|jitter D|drop P...)",
            ),
            ("link 1 6 cut", "link: node 6 does not exist (nodes are 1..5)"),
            ("link 1 2 drop 1.5", "link: drop rate must be within 0..1"),
            ("link 1 2 drop -0.1", "link: drop rate must be within 0..1"),
            ("link 1 2 drop NaN", "link: drop rate must be within 0..1"),
            ("link 1 2 drop lots", "link: \"lots\" is not a drop rate (use a number within 0..1)"),
            ("link 1 2 drop", "link: drop needs a rate within 0..1"),
            ("link 1 2 delay", "link: delay needs a duration (use 300ms, 2s)"),
            ("link 1 2 jitter x", "link: \"x\" is not a duration (use 300ms, 2s)"),
            ("link 1 2 cut cut", "link: cut is given twice"),
            ("link 1 2 delay 1s delay 2s", "link: delay is given twice"),
            ("link 1 2 cut up", "link: cut and up contradict each other"),
            (
                "link 1 2 sever",
                "link: unknown change \"sever\" (use cut, up, delay D, jitter D, drop P)",
            ),
            ("clock 4", "clock: missing RATE (usage: clock NODE RATE)"),
            ("clock 4 0", "clock: rate must be a positive number"),
            ("clock 4 -1", "clock: rate must be a positive number"),
            ("clock 4 inf", "clock: rate must be a positive number"),
            ("clock 4 NaN", "clock: rate must be a positive number"),
            ("clock 4 fast", "clock: \"fast\" is not a number (usage: clock NODE RATE)"),
            ("clock 9 1", "clock: node 9 does not exist (nodes are 1..5)"),
            ("speed", "usage: speed FACTOR"),
            ("speed 0", "speed: must be a positive number"),
            ("speed -2", "speed: must be a positive number"),
            ("speed x", "speed: \"x\" is not a number (usage: speed FACTOR)"),
            ("speed 1 2", "speed: too many arguments (usage: speed FACTOR)"),
            ("pause 1", "pause: too many arguments (usage: pause)"),
            ("resume x", "resume: too many arguments (usage: resume)"),
            ("step 2", "step: too many arguments (usage: step)"),
            ("drop", "usage: drop MSG"),
            ("drop x", "drop: \"x\" is not a message id (usage: drop MSG)"),
            ("dup -1", "dup: \"-1\" is not a message id (usage: dup MSG)"),
            ("deliver 1 2", "deliver: too many arguments (usage: deliver MSG)"),
            ("help me", "help: too many arguments (usage: help)"),
            ("nemesis 0", "nemesis: 0 is too short (at least 1 s; usage: nemesis [SECS|stop])"),
            ("nemesis 500ms", "nemesis: 500ms is too short (at least 1 s; usage: nemesis [SECS|stop])"),
            ("nemesis 3601", "nemesis: 3601 is too long (at most 3600s)"),
            ("nemesis 99999999999999999999999", "nemesis: 99999999999999999999999 is too long (at most 3600s)"),
            ("nemesis 2h", "nemesis: \"2h\" is neither a number of seconds nor stop (usage: nemesis [SECS|stop])"),
            ("nemesis -1", "nemesis: \"-1\" is neither a number of seconds nor stop (usage: nemesis [SECS|stop])"),
            ("nemesis \"stop\"", "nemesis: \"stop\" is neither a number of seconds nor stop (usage: nemesis [SECS|stop])"),
            ("nemesis 30 stop", "nemesis: too many arguments (usage: nemesis [SECS|stop])"),
            ("history save", "history: missing FILE (usage: history [save FILE])"),
            ("history save \"\"", "history: FILE must not be empty (usage: history [save FILE])"),
            ("history save a b", "history: too many arguments (usage: history [save FILE])"),
            ("history load a", "history: unknown subcommand \"load\" (usage: history [save FILE])"),
            ("history \"save\" a", "history: unknown subcommand \"save\" (usage: history [save FILE])"),
            ("quit now", "quit: too many arguments (usage: quit)"),
        ];
    for (line, want) in cases {
        let got = err(line);
        assert_eq!(got, *want, "{line:?}");
        assert!(!got.contains('\n'), "{line:?}: error is not one line");
    }
}

#[test]
fn node_range_follows_the_cluster_size() {
    let text = |line, nodes| parse(line, nodes).map_err(|e| e.to_string());
    assert_eq!(text("kill 7", 9), Ok(PromptCommand::Kill(7)));
    assert_eq!(
        text("kill 1", 0),
        Err("kill: node 1 does not exist (there are no nodes)".to_string())
    );
    assert_eq!(
        text("kill 2", 1),
        Err("kill: node 2 does not exist (nodes are 1..1)".to_string())
    );
}

#[test]
fn errors_name_untrusted_text_on_one_line() {
    let e = err("kill \"a\nb\"");
    assert!(!e.contains('\n'), "{e:?}");
    let e = err("\"bad\ncommand\"");
    assert!(!e.contains('\n'), "{e:?}");
}

fn every_variant() -> Vec<PromptCommand> {
    use LinkChange::*;
    use PromptCommand as C;
    vec![
        put("x", "1"),
        put("a b", ""),
        put("q\"uote", "back\\slash"),
        put("-", "-"),
        put("tab\there", "new\nline"),
        get("x"),
        del("\""),
        append("x", "hello world"),
        cas("x", None, "1"),
        cas("x", Some("-"), "-"),
        cas("x", Some(""), ""),
        C::Write,
        C::Retry,
        C::Kill(1),
        C::Restart(2),
        C::Isolate(3),
        C::Campaign(4),
        C::Snapshot(5),
        C::Partition(vec![vec![1, 2], vec![3, 4, 5]]),
        C::Partition(vec![vec![5]]),
        C::Heal,
        slow(2, ms(300)),
        slow(2, Duration::ZERO),
        slow(2, ms(2000)),
        slow(2, ms(1500)),
        slow(2, Duration::from_nanos(1_234_567)),
        slow(2, Duration::from_nanos(1)),
        slow(2, MAX_DURATION),
        link(1, 2, vec![Cut]),
        link(2, 1, vec![Up, Drop(0.0)]),
        link(5, 3, vec![Delay(ms(200)), Jitter(ms(50)), Drop(0.3), Cut]),
        link(1, 2, vec![Drop(1.0)]),
        C::Clock { node: 4, rate: 1.5 },
        C::Clock { node: 4, rate: 1.0 },
        C::Clock {
            node: 4,
            rate: 1e-9,
        },
        C::Clock {
            node: 4,
            rate: 1e300,
        },
        C::Speed(0.5),
        C::Speed(1.0 / 3.0),
        C::Pause,
        C::Resume,
        C::Step,
        C::DropMessage(17),
        C::DupMessage(0),
        C::DeliverMessage(u64::MAX),
        C::Nemesis(NEMESIS_DEFAULT),
        C::Nemesis(Duration::from_secs(1)),
        C::Nemesis(ms(1500)),
        C::Nemesis(MAX_DURATION),
        C::NemesisStop,
        C::History,
        C::HistorySave(s("h.jsonl")),
        C::HistorySave(s("a dir/\"quoted\" -")),
        C::HistorySave(s("-")),
        C::HistorySave(s("stop")),
        C::Help,
        C::Quit,
    ]
}

#[test]
fn display_round_trips_for_every_variant() {
    for cmd in every_variant() {
        let line = cmd.to_string();
        assert_eq!(parse(&line, N), Ok(cmd.clone()), "{line:?}");
        assert!(!line.contains("  "), "{line:?}");
    }
}

#[test]
fn display_is_canonical() {
    let cases = [
        ("timeout 3", "campaign 3"),
        ("compact 2", "snapshot 2"),
        ("DELETE x", "del x"),
        ("duplicate 4", "dup 4"),
        ("?", "help"),
        ("exit", "quit"),
        (
            "put greeting \"hello world\"",
            "put greeting \"hello world\"",
        ),
        ("cas k - \"a b\"", "cas k - \"a b\""),
        ("cas k \"-\" v", "cas k \"-\" v"),
        ("slow 1 1000ms", "slow 1 1s"),
        ("slow 1 0.3s", "slow 1 300ms"),
        ("slow 1 0ms", "slow 1 0"),
        ("slow 1 0.0015s", "slow 1 1.5ms"),
        (
            "link 1 2 DELAY 0.2s Drop .5e0",
            "link 1 2 delay 200ms drop 0.5",
        ),
        ("clock 2 1.50", "clock 2 1.5"),
        ("speed 2.0", "speed 2"),
        ("partition  1,2   3", "partition 1,2 3"),
        ("nemesis", "nemesis 30"),
        ("nemesis 60s", "nemesis 60"),
        ("nemesis 1.5s", "nemesis 1500ms"),
        ("nemesis Stop", "nemesis stop"),
        ("history SAVE \"a b\"", "history save \"a b\""),
    ];
    for (input, want) in cases {
        assert_eq!(ok(input).to_string(), want, "{input:?}");
    }
}

#[test]
fn every_variant_has_a_help_entry() {
    for cmd in every_variant() {
        let line = cmd.to_string();
        let name = line.split_whitespace().next().unwrap_or("");
        assert!(
            COMMANDS
                .iter()
                .any(|c| c.usage.split_whitespace().next() == Some(name)),
            "{name}"
        );
    }
}

/// The text under each error's span, drawn as carets under the line.
#[test]
fn errors_point_at_the_word_they_are_about() {
    let cases: &[(&str, &str)] = &[
        ("partition 1,2 1,3", "              ^"),
        ("partition 1,2 3,4,3", "                  ^"),
        ("partition 1,9", "            ^"),
        ("partition \"1, 9\"", "          ^^^^^^"),
        ("partition 1,,2", "          ^^^^"),
        ("partition", "          ^"),
        ("kill 12", "     ^^"),
        ("kill x", "     ^"),
        ("frobnicate 1 2", "^^^^^^^^^^"),
        ("", "^"),
        ("put x \"abc", "      ^^^^"),
        ("put", "    ^"),
        ("put x", "      ^"),
        ("put x 1 2 3", "        ^^^"),
        ("put \"\" 1", "    ^^"),
        ("heal all", "     ^^^"),
        ("slow 2 5m", "       ^^"),
        ("slow 2 3601s", "       ^^^^^"),
        ("link 1 1 cut", "       ^"),
        ("link 1 2 cut up", "             ^^"),
        ("link 1 2 up delay 1s cut", "                     ^^^"),
        ("link 1 2 cut cut", "             ^^^"),
        ("link 1 2 delay", "               ^"),
        ("link 1 2 drop 1.5", "              ^^^"),
        ("link 1 2 sever", "         ^^^^^"),
        ("clock 4 0", "        ^"),
        ("speed fast", "      ^^^^"),
        ("drop x", "     ^"),
        ("nemesis 2h", "        ^^"),
        ("nemesis 30 stop", "           ^^^^"),
        ("history load a", "        ^^^^"),
        ("history save \"\"", "             ^^"),
    ];
    for (line, want) in cases {
        let e = parse(line, N).expect_err(line);
        assert_eq!(e.span.carets(line), *want, "{line:?}: {e}");
    }
}

#[test]
fn a_node_in_two_groups_is_pointed_at() {
    let line = "partition 1,2 1,3";
    let e = parse(line, N).expect_err(line);
    assert_eq!(e.kind, PromptErrorKind::InTwoGroups(1));
    assert_eq!(e.span, Span::new(14, 15));
    assert_eq!(
        e.pointed(line),
        "partition 1,2 1,3\n              ^ partition: node 1 is in two groups"
    );
}

#[test]
fn a_bad_duration_points_at_all_of_it() {
    let e = duration("2 parsecs").expect_err("not a duration");
    assert_eq!(e.span, Span::new(0, 9));
    assert_eq!(
        e.to_string(),
        "bad duration \"2 parsecs\" (write it like 300ms, 2s or 1.5s)"
    );
}

fn command_like() -> impl Strategy<Value = String> {
    let names: Vec<&'static str> = vec![
        "put",
        "get",
        "del",
        "delete",
        "append",
        "cas",
        "write",
        "kill",
        "restart",
        "isolate",
        "campaign",
        "timeout",
        "snapshot",
        "compact",
        "transfer",
        "rules",
        "partition",
        "heal",
        "slow",
        "link",
        "clock",
        "speed",
        "pause",
        "resume",
        "step",
        "drop",
        "dup",
        "duplicate",
        "deliver",
        "nemesis",
        "history",
        "help",
        "?",
        "quit",
        "exit",
        "q",
    ];
    let word = prop_oneof![
        Just("-".to_string()),
        Just("cut".to_string()),
        Just("up".to_string()),
        Just("delay".to_string()),
        Just("jitter".to_string()),
        Just("drop".to_string()),
        Just("stop".to_string()),
        Just("save".to_string()),
        "[0-9]{1,3}(\\.[0-9]{0,3})?(ms|s|m)?",
        "[0-9,]{0,8}",
        "\"[a-z \\\\\"]{0,6}\"?",
        "\\PC{0,6}",
        any::<f64>().prop_map(|f| f.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
    ];
    (
        prop::sample::select(names),
        prop::collection::vec(word, 0..6),
        "[ \t]{0,2}",
    )
        .prop_map(|(name, words, tail)| format!("{name} {}{tail}", words.join(" ")))
}

fn link_change() -> impl Strategy<Value = LinkChange> {
    let duration = (0u64..=3_600_000_000_000).prop_map(Duration::from_nanos);
    prop_oneof![
        Just(LinkChange::Cut),
        Just(LinkChange::Up),
        duration.clone().prop_map(LinkChange::Delay),
        duration.prop_map(LinkChange::Jitter),
        (0.0f64..=1.0).prop_map(LinkChange::Drop),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn parse_and_complete_never_panic(line in "\\PC*|.*", nodes in 0usize..12) {
        if let Err(e) = parse(&line, nodes) {
            // The span lies within the line, or just past it where a word is missing.
            prop_assert!(e.span.start <= e.span.end && e.span.end <= line.len() + 1, "{:?}", e);
            prop_assert_eq!(e.pointed(&line).lines().count(), line.lines().count().max(1) + 1);
        }
        let completions = complete(&line, nodes);
        let mut sorted = completions.clone();
        sorted.sort();
        prop_assert_eq!(completions, sorted);
    }

    #[test]
    fn any_chars_never_panic(chars in prop::collection::vec(any::<char>(), 0..40), nodes in 0usize..12) {
        let line: String = chars.into_iter().collect();
        let _ = parse(&line, nodes);
        let _ = complete(&line, nodes);
    }

    #[test]
    fn command_like_input_never_panics(line in command_like(), nodes in 0usize..12) {
        if let Ok(cmd) = parse(&line, nodes) {
            // Whatever parses prints back to a line that parses to the same command.
            prop_assert_eq!(parse(&cmd.to_string(), nodes), Ok(cmd));
        }
        let _ = complete(&line, nodes);
    }

    #[test]
    fn words_round_trip(key in "\\PC{1,12}|.{1,12}", value in ".{0,12}", expected in proptest::option::of(".{0,8}")) {
        let cmds = [
            PromptCommand::Kv(KvOp::Put { key: key.clone(), value: value.clone() }),
            PromptCommand::Kv(KvOp::Append { key: key.clone(), value: value.clone() }),
            PromptCommand::Kv(KvOp::Get { key: key.clone() }),
            PromptCommand::Kv(KvOp::Cas { key: key.clone(), expected, new_value: value }),
        ];
        for cmd in cmds {
            prop_assert_eq!(parse(&cmd.to_string(), N), Ok(cmd));
        }
    }

    #[test]
    fn link_and_slow_round_trip(
        from in 1u64..=5,
        changes in prop::collection::vec(link_change(), 1..3),
        nanos in 0u64..=3_600_000_000_000,
        rate in 1e-6f64..1e6,
    ) {
        let to = from % 5 + 1;
        let mut seen = Vec::new();
        let changes: Vec<LinkChange> = changes
            .into_iter()
            .filter(|c| {
                let kind = std::mem::discriminant(c);
                let fresh = !seen.contains(&kind);
                seen.push(kind);
                fresh
            })
            .filter(|c| *c != LinkChange::Up)
            .collect();
        if !changes.is_empty() {
            let cmd = PromptCommand::Link { from, to, changes };
            prop_assert_eq!(parse(&cmd.to_string(), N), Ok(cmd));
        }
        let slow = PromptCommand::Slow { node: from, delay: Duration::from_nanos(nanos) };
        prop_assert_eq!(parse(&slow.to_string(), N), Ok(slow));
        let clock = PromptCommand::Clock { node: to, rate };
        prop_assert_eq!(parse(&clock.to_string(), N), Ok(clock));
        prop_assert_eq!(parse(&PromptCommand::Speed(rate).to_string(), N), Ok(PromptCommand::Speed(rate)));
    }
}
