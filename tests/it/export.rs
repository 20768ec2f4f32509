//! Exports of a recording's space-time diagram (`raftlab replay FILE --export OUT`).
//!
//! 1. A small hand-built recording (JSON lines made by the recorder's own `Encoder`, so the test
//!    needs no cluster and is the same on every machine): the model holds the expected arrows,
//!    drop, marks and bands; the SVG parses as XML with one lane per node and one arrow per
//!    message; the Mermaid text follows the `sequenceDiagram` grammar raftlab writes; the ShiViz
//!    log matches its own header's regular expression with vector clocks that count each host's
//!    events by one; the HTML page holds the SVG inline and no http(s) address. The SVG and the
//!    Mermaid text are insta snapshots (`INSTA_UPDATE=always cargo test --release --test it
//!    export::` rewrites them; read the diff).
//! 2. A live 3-node cluster recorded for a few seconds, exported in every format by the binary.
//! 3. Bad input: an unknown extension, a path that cannot be written, an empty or backwards
//!    window, a damaged recording, too many messages for Mermaid: one line on stderr, exit 2,
//!    nothing written.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use raftlab::cluster::{ClusterStatus, InFlightInfo, NodeState, Preset};
use raftlab::export::diagram::{BandKind, Fate, MarkKind};
use raftlab::export::{self, Format, SpaceTime, Window};
use raftlab::node::{Event, EventKind};
use raftlab::observe::cluster_view::ClusterView;
use raftlab::observe::feed::Category;
use raftlab::raft::{MessageKind, NodeId, Role, Status};
use raftlab::record::{Encoder, Header, Recording};

// ----------------------------------------------------------------------------------------------
// 1. A hand-built recording
// ----------------------------------------------------------------------------------------------

fn node(id: NodeId, role: Role, up: bool) -> NodeState {
    NodeState {
        id,
        addr: SocketAddr::from(([127, 0, 0, 1], 7000 + id as u16)),
        up,
        status: Status {
            id,
            role,
            term: 1,
            voted_for: Some(1),
            leader_id: Some(1),
            commit: 0,
            applied: 0,
            last_log_index: 0,
            last_log_term: 0,
            persisted_index: 0,
            first_index: 1,
            snapshot_index: 0,
            snapshot_term: 0,
            snapshot_bytes: 0,
            receiving_snapshot: None,
            election_elapsed: 0,
            election_timeout: 20,
            progress: Vec::new(),
            pre_candidate: false,
            transfer_target: None,
            voters: vec![1, 2, 3],
            learners: Vec::new(),
            conf_pending: false,
        },
        kv_len: 0,
        clock_rate: 1.0,
        slow: Duration::ZERO,
    }
}

/// The cluster at `ms`: node 3 down from 400 ms to 700 ms, cut off from 600 ms to 800 ms;
/// message #10 (2->1, seen only by the frames) in flight at 700 and 800 ms.
fn frame(ms: u64) -> ClusterView {
    let three_up = !(400..700).contains(&ms);
    let split = (600..800).contains(&ms);
    let leader = if ms >= 200 {
        Role::Leader
    } else {
        Role::Follower
    };
    let in_flight = if (700..900).contains(&ms) {
        vec![InFlightInfo {
            id: 10,
            from: 2,
            to: 1,
            kind: MessageKind::AppendEntriesReply,
            term: 1,
            sent_at: Duration::from_millis(700),
            due_at: Duration::from_millis(850),
            summary: "2->1 AppendEntriesReply{term:1 success match:1}".into(),
        }]
    } else {
        Vec::new()
    };
    ClusterView {
        at: Duration::from_millis(ms),
        status: ClusterStatus {
            nodes: vec![
                node(1, leader, true),
                node(2, Role::Follower, true),
                node(3, Role::Follower, three_up),
            ],
            paused: false,
            speed: 1.0,
            preset: Preset::Fast,
            tick: Duration::from_millis(10),
            groups: if split {
                vec![vec![1, 2], vec![3]]
            } else {
                vec![vec![1, 2, 3]]
            },
            cut_links: Vec::new(),
        },
        in_flight,
        links: Vec::new(),
        logs: Default::default(),
        kv: Default::default(),
    }
}

fn sent(ms: u64, id: u64, from: NodeId, to: NodeId, kind: MessageKind, delay: u64) -> String {
    Encoder::event(&Event {
        at: Duration::from_millis(ms),
        node: from,
        kind: EventKind::MessageSent {
            id,
            from,
            to,
            kind,
            term: 1,
            delay: Duration::from_millis(delay),
        },
    })
}

fn delivered(ms: u64, id: u64, from: NodeId, to: NodeId, kind: MessageKind) -> String {
    Encoder::event(&Event {
        at: Duration::from_millis(ms),
        node: to,
        kind: EventKind::MessageDelivered { id, from, to, kind },
    })
}

/// One second of a 3-node cluster: node 1 wins an election, sends heartbeats, a heartbeat to
/// node 3 (down) is dropped, an entry commits, node 3 is cut off, a reply seen only by frames.
fn story_lines() -> Vec<String> {
    use MessageKind as K;
    let header = Header {
        started: "2026-12-07T21:00:00Z".into(),
        started_unix_ms: 1_796_677_200_000,
        raftlab: "0.1.0".into(),
        ..Header::new(3, Preset::Fast, 7, "raftlab --nodes 3 --record story.jsonl")
    };
    let mut enc = Encoder::new();
    let mut lines = vec![Encoder::header(&header)];
    for ms in (0..=1_000).step_by(100) {
        lines.extend(enc.frame(&frame(ms), true));
    }
    let feed = |ms: u64, node: NodeId, c: Category, text: &str| {
        Encoder::feed(Duration::from_millis(ms), node, c, text)
    };
    lines.extend([
        feed(100, 1, Category::Election, "became candidate in term 1"),
        sent(100, 1, 1, 2, K::RequestVote, 10),
        sent(100, 2, 1, 3, K::RequestVote, 15),
        delivered(110, 1, 1, 2, K::RequestVote),
        sent(112, 3, 2, 1, K::RequestVoteReply, 12),
        delivered(115, 2, 1, 3, K::RequestVote),
        delivered(124, 3, 2, 1, K::RequestVoteReply),
        feed(125, 1, Category::Election, "became leader in term 1"),
        sent(200, 5, 1, 2, K::Heartbeat, 10),
        sent(200, 6, 1, 3, K::Heartbeat, 10),
        delivered(211, 5, 1, 2, K::Heartbeat),
        delivered(212, 6, 1, 3, K::Heartbeat),
        feed(400, 3, Category::Fault, "node down (killed)"),
        sent(450, 7, 1, 3, K::Heartbeat, 10),
        Encoder::event(&Event {
            at: Duration::from_millis(460),
            node: 1,
            kind: EventKind::MessageDropped {
                id: 7,
                from: 1,
                to: 3,
                kind: K::Heartbeat,
                why: "receiver down".into(),
            },
        }),
        sent(500, 8, 1, 2, K::AppendEntries, 10),
        delivered(510, 8, 1, 2, K::AppendEntries),
        sent(511, 9, 2, 1, K::AppendEntriesReply, 9),
        delivered(520, 9, 2, 1, K::AppendEntriesReply),
        feed(521, 1, Category::Replication, "commit 0 -> 1"),
        feed(530, 2, Category::Replication, "granted vote to 1 in term 1"),
    ]);
    lines
}

fn story() -> Recording {
    Recording::parse((story_lines().join("\n") + "\n").as_bytes()).expect("the story parses")
}

fn whole(rec: &Recording) -> SpaceTime {
    export::build(rec, Window::default()).expect("the story has a diagram")
}

#[test]
fn the_diagram_holds_every_message_mark_and_band() {
    let st = whole(&story());
    assert_eq!(st.nodes, vec![1, 2, 3]);
    let ids: Vec<u64> = st.arrows.iter().map(|a| a.id).collect();
    assert_eq!(
        ids,
        vec![1, 2, 3, 5, 6, 7, 8, 9, 10],
        "every message, by send time"
    );
    let by_id = |id: u64| st.arrows.iter().find(|a| a.id == id).expect("arrow");
    let vote = by_id(1);
    assert_eq!(
        (vote.from, vote.to, vote.kind),
        (1, 2, MessageKind::RequestVote)
    );
    assert_eq!(vote.sent, Duration::from_millis(100));
    assert_eq!(vote.end, Duration::from_millis(110), "ends at its delivery");
    assert_eq!(vote.fate, Fate::Delivered);
    let lost = by_id(7);
    assert_eq!(lost.fate, Fate::Dropped("receiver down".into()));
    assert_eq!(lost.end, Duration::from_millis(460), "ends at its drop");
    let unseen = by_id(10);
    assert_eq!(
        (unseen.sent, unseen.end, &unseen.fate),
        (
            Duration::from_millis(700),
            Duration::from_millis(850),
            &Fate::Delivered
        ),
        "a message only the frames saw arrives when due"
    );
    assert!(unseen.summary.contains("success match:1"));

    let marks: Vec<(NodeId, u64, MarkKind)> = st
        .marks
        .iter()
        .map(|m| (m.node, m.at.as_millis() as u64, m.kind))
        .collect();
    assert_eq!(
        marks,
        vec![
            (1, 100, MarkKind::Candidate),
            (1, 125, MarkKind::Leader),
            (1, 521, MarkKind::Commit),
        ],
        "a vote granted is not a mark"
    );
    let bands: Vec<(NodeId, u64, u64, BandKind)> = st
        .bands
        .iter()
        .map(|b| {
            (
                b.node,
                b.from.as_millis() as u64,
                b.to.as_millis() as u64,
                b.kind,
            )
        })
        .collect();
    assert_eq!(
        bands,
        vec![
            (3, 400, 700, BandKind::Down),
            (3, 600, 800, BandKind::Partitioned)
        ]
    );
}

#[test]
fn a_window_keeps_the_messages_sent_in_it() {
    let rec = story();
    let st = export::build(
        &rec,
        Window {
            from: Some(Duration::from_millis(150)),
            to: Some(Duration::from_millis(505)),
        },
    )
    .expect("a window with messages");
    let ids: Vec<u64> = st.arrows.iter().map(|a| a.id).collect();
    assert_eq!(ids, vec![5, 6, 7, 8]);
    let append = st.arrows.iter().find(|a| a.id == 8).expect("#8");
    assert_eq!(
        append.end,
        Duration::from_millis(510),
        "a delivery after the window's end still ends the arrow"
    );
    assert_eq!(st.marks.len(), 0);
    assert_eq!(
        st.bands.iter().map(|b| (b.from, b.to)).collect::<Vec<_>>(),
        vec![(Duration::from_millis(400), Duration::from_millis(505))],
        "bands are cut to the window"
    );
}

#[test]
fn the_svg_parses_with_one_lane_per_node_and_one_arrow_per_message() {
    let st = whole(&story());
    let text = export::render(&st, Format::Svg).expect("svg");
    let doc = roxmltree::Document::parse(&text).expect("the SVG is well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    let class = |n: &roxmltree::Node, c: &str| {
        n.attribute("class")
            .is_some_and(|v| v.split(' ').any(|w| w == c))
    };
    let count = |c: &str| doc.descendants().filter(|n| class(n, c)).count();
    assert_eq!(count("lane"), 3);
    assert_eq!(count("msg"), st.arrows.len());
    assert_eq!(count("dropped"), 1);
    assert_eq!(count("mark"), 3);
    assert_eq!(count("band"), 2);
    let drop = doc
        .descendants()
        .find(|n| class(n, "dropped"))
        .expect("the drop");
    assert!(
        drop.descendants().any(|n| n.text() == Some("✗")),
        "a drop ends in ✗"
    );
    assert_eq!(drop.attribute("data-id"), Some("7"));
    // The legend names every kind.
    for k in raftlab::export::diagram::KINDS {
        assert!(text.contains(&format!("marker id=\"head-{}\"", k.as_str())));
    }
    insta::assert_snapshot!("export_story_svg", text);
}

/// Checks `text` against the grammar the Mermaid export writes; returns the message lines.
fn mermaid_messages(text: &str) -> usize {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("sequenceDiagram"));
    let mut participants = Vec::new();
    let mut messages = 0;
    for line in lines {
        let body = line
            .strip_prefix("    ")
            .unwrap_or_else(|| panic!("not indented: {line:?}"));
        if body.starts_with("%% ") {
            continue;
        }
        if let Some(p) = body.strip_prefix("participant ") {
            let (id, label) = p.split_once(" as ").expect("participant n as label");
            assert!(
                id.starts_with('n') && id[1..].parse::<u64>().is_ok(),
                "{line}"
            );
            assert_eq!(label, format!("node {}", &id[1..]));
            participants.push(id.to_string());
            continue;
        }
        let (head, text) = body
            .split_once(": ")
            .unwrap_or_else(|| panic!("no ': ' in {line:?}"));
        assert!(
            !text.contains([';', '#', ':', '%']),
            "text Mermaid would misread: {line:?}"
        );
        if let Some(who) = head.strip_prefix("Note over ") {
            assert!(participants.iter().any(|p| p == who), "{line}");
            continue;
        }
        let arrow = ["->>", "-x", "-)"]
            .into_iter()
            .find(|a| head.contains(a))
            .unwrap_or_else(|| panic!("no arrow in {line:?}"));
        let (a, b) = head.split_once(arrow).expect("two ends");
        assert!(participants.iter().any(|p| p == a), "{line}");
        assert!(participants.iter().any(|p| p == b), "{line}");
        messages += 1;
    }
    messages
}

#[test]
fn the_mermaid_text_follows_the_sequence_diagram_grammar() {
    let st = whole(&story());
    let text = export::render(&st, Format::Mermaid).expect("mermaid");
    assert_eq!(mermaid_messages(&text), st.arrows.len());
    assert!(text.contains("    n1-xn3: "), "the drop is a -x arrow");
    assert!(text.contains("    Note over n1: 0.125s became leader in term 1"));
    assert!(
        text.contains("commit 0 → 1"),
        "-> in a text is not an arrow"
    );
    insta::assert_snapshot!("export_story_mermaid", text);
}

/// Checks a ShiViz log: the header's regular expression (as raftlab writes it, read by hand:
/// host, a space, `{...}`, a space, the event), vector clocks that hold their own host and count
/// its events 1, 2, 3..., and never go back. Returns the number of events.
fn shiviz_events(text: &str) -> usize {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(export::shiviz::REGEX));
    assert_eq!(lines.next(), Some(""), "one execution: an empty delimiter");
    let mut last: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>> =
        Default::default();
    let mut n = 0;
    for line in lines {
        let (host, rest) = line.split_once(' ').expect("host");
        assert!(!host.is_empty() && !host.contains(char::is_whitespace));
        let end = rest.find('}').expect("a clock");
        let (clock, event) = rest.split_at(end + 1);
        assert!(clock.starts_with('{') && !clock[1..].contains('{'));
        assert!(event.starts_with(' ') && event.len() > 1, "{line}");
        let clock: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(clock).expect("the clock is JSON");
        let own = clock.get(host).and_then(|v| v.as_u64()).expect("own entry");
        let before = last.get(host);
        let own_before = before
            .and_then(|c| c.get(host))
            .and_then(|v| v.as_u64())
            .unwrap_or(0);
        assert_eq!(
            own,
            own_before + 1,
            "{host} counts its events by one: {line}"
        );
        if let Some(before) = before {
            for (h, v) in before {
                let now = clock.get(h).and_then(|v| v.as_u64()).unwrap_or(0);
                assert!(now >= v.as_u64().unwrap_or(0), "clock went back: {line}");
            }
        }
        last.insert(host.to_string(), clock);
        n += 1;
    }
    n
}

#[test]
fn the_shiviz_log_matches_its_regex_with_monotone_vector_clocks() {
    let st = whole(&story());
    let text = export::render(&st, Format::ShiViz).expect("shiviz");
    let delivered = st
        .arrows
        .iter()
        .filter(|a| a.fate == Fate::Delivered)
        .count();
    let band_edges = st.bands.len() * 2;
    assert_eq!(
        shiviz_events(&text),
        st.arrows.len() + delivered + st.marks.len() + band_edges
    );
    // The receive of #1 knows node 1's send.
    let receive = text
        .lines()
        .find(|l| l.contains("receive RequestVote 1 from node1"))
        .expect("the receive");
    assert!(
        receive.starts_with("node2 {\"node1\":2,\"node2\":1}"),
        "{receive}"
    );
}

#[test]
fn the_html_page_holds_the_svg_and_fetches_nothing() {
    let st = whole(&story());
    let text = export::render(&st, Format::Html).expect("html");
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(text.contains("<svg "), "the SVG is inline");
    assert_eq!(text.matches("class=\"lane\"").count(), 3);
    assert_eq!(text.matches("<g class=\"msg").count(), st.arrows.len());
    assert!(text.contains("<script>"), "zoom and hover");
    assert!(
        !text.contains("http://") && !text.contains("https://"),
        "no network: not even the SVG namespace"
    );
}

// ----------------------------------------------------------------------------------------------
// 2. A live cluster, recorded and exported by the binary
// ----------------------------------------------------------------------------------------------

fn raftlab(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_raftlab"))
        .args(args)
        .env(
            "RAFTLAB_HOME",
            std::env::temp_dir().join("raftlab-export-test-home"),
        )
        .output()
        .expect("raftlab runs")
}

fn replay_export(rec: &Path, out: &Path, window: &[&str]) -> Output {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "replay".as_ref(),
        rec.as_os_str(),
        "--export".as_ref(),
        out.as_os_str(),
    ];
    args.extend(window.iter().map(std::ffi::OsStr::new));
    raftlab(&args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_recording_exports_in_every_format() {
    use raftlab::cluster::{Cluster, ClusterConfig};
    use raftlab::record::Recorder;
    let _real_time = crate::common::real_time();
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("live.jsonl");
    let cluster = Cluster::start(ClusterConfig::new(3, Preset::Fast))
        .await
        .expect("cluster starts");
    let recorder = Recorder::start(
        cluster.handle(),
        &path,
        Header::new(3, Preset::Fast, 0, "tests/export.rs"),
        None,
    )
    .expect("recorder starts");
    crate::common::in_process::eventually("a leader", || async {
        crate::common::in_process::agreed_leader(&cluster)
    })
    .await;
    // Long enough for heartbeats after the election.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    recorder.finish().await.expect("written");
    cluster.shutdown().await;

    let rec = Recording::load(&path).expect("loads");
    let st = whole(&rec);
    assert!(st.arrows.len() > 10, "a live run sends messages");
    assert!(st.marks.iter().any(|m| m.kind == MarkKind::Leader));
    for ext in ["svg", "html", "shiviz", "mmd"] {
        let out = dir.path().join(format!("live.{ext}"));
        // Mermaid takes a short window only: 40 ms from the first message.
        let first = st.arrows[0].sent.as_millis();
        let (from, to) = (format!("{first}ms"), format!("{}ms", first + 40));
        let window: Vec<&str> = if ext == "mmd" {
            vec!["--from", &from, "--to", &to]
        } else {
            Vec::new()
        };
        let run = replay_export(&path, &out, &window);
        let stdout = text(&run.stdout);
        assert!(run.status.success(), "{ext}: {stdout}{}", text(&run.stderr));
        assert_eq!(stdout.lines().count(), 1, "one line: {stdout}");
        assert!(stdout.starts_with(&format!("exported {}", out.display())));
        assert!(stdout.contains(" messages)"), "{stdout}");
        let written = std::fs::read_to_string(&out).expect("written");
        match ext {
            "svg" => {
                let doc = roxmltree::Document::parse(&written).expect("XML");
                let lanes = doc
                    .descendants()
                    .filter(|n| n.attribute("class") == Some("lane"))
                    .count();
                assert_eq!(lanes, 3);
                let msgs = doc
                    .descendants()
                    .filter(|n| {
                        n.attribute("class")
                            .is_some_and(|c| c.split(' ').any(|w| w == "msg"))
                    })
                    .count();
                assert_eq!(msgs, st.arrows.len());
                assert!(stdout.contains(&format!("{msgs} messages")));
            }
            "html" => assert!(!written.contains("http://") && !written.contains("https://")),
            "shiviz" => assert!(shiviz_events(&written) >= st.arrows.len()),
            _ => assert!(mermaid_messages(&written) <= 300),
        }
    }
}

// ----------------------------------------------------------------------------------------------
// 3. Bad input
// ----------------------------------------------------------------------------------------------

fn story_file(dir: &Path) -> PathBuf {
    let path = dir.join("story.jsonl");
    std::fs::write(&path, story_lines().join("\n") + "\n").expect("write the story");
    path
}

/// Runs an export that must fail: exit 2, one line on stderr containing `says`, nothing at
/// `out` (nor a partial file beside it).
fn refused(rec: &Path, out: &Path, window: &[&str], says: &str) {
    let run = replay_export(rec, out, window);
    let stderr = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(says), "{stderr:?} should say {says:?}");
    assert!(run.stdout.is_empty());
    assert!(!out.exists(), "nothing written at {}", out.display());
    if let Some(dir) = out.parent().filter(|d| d.is_dir()) {
        let left: Vec<_> = std::fs::read_dir(dir)
            .expect("dir")
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            .collect();
        assert!(left.is_empty(), "a partial file left behind");
    }
}

#[test]
fn bad_exports_are_one_line_and_exit_2_with_nothing_written() {
    let _real_time = crate::common::real_time();
    let dir = tempfile::tempdir().expect("temp dir");
    let rec = story_file(dir.path());
    let d = dir.path();
    refused(&rec, &d.join("out.png"), &[], "unknown export format");
    refused(&rec, &d.join("out"), &[], "unknown export format");
    refused(
        &rec,
        &d.join("no-such-dir").join("out.svg"),
        &[],
        "cannot write",
    );
    std::fs::create_dir(d.join("taken.svg")).expect("a directory");
    let run = replay_export(&rec, &d.join("taken.svg"), &[]);
    assert_eq!(run.status.code(), Some(2));
    assert!(text(&run.stderr).contains("cannot write"));
    refused(
        &rec,
        &d.join("late.svg"),
        &["--from", "5s"],
        "after the recording's end",
    );
    refused(
        &rec,
        &d.join("back.svg"),
        &["--from", "800ms", "--to", "300ms"],
        "is after --to",
    );
    refused(
        &rec,
        &d.join("quiet.svg"),
        &["--from", "900ms", "--to", "950ms"],
        "nothing happened",
    );
    // A damaged recording: a line in the middle is garbage.
    let mut lines = story_lines();
    lines.insert(5, "{\"type\":\"frame\",\"t\":".into());
    let damaged = d.join("damaged.jsonl");
    std::fs::write(&damaged, lines.join("\n") + "\n").expect("write");
    refused(&damaged, &d.join("damaged.svg"), &[], "line 6");
    refused(
        &d.join("missing.jsonl"),
        &d.join("missing.svg"),
        &[],
        "missing.jsonl",
    );
    // A flag of the export alone is refused by the parser (exit 2 as well).
    let run = raftlab(&[
        "replay".as_ref(),
        rec.as_os_str(),
        "--from".as_ref(),
        "1s".as_ref(),
    ]);
    assert_eq!(run.status.code(), Some(2));
}

#[test]
fn mermaid_refuses_a_long_window_naming_from_and_to() {
    let mut st = whole(&story());
    let one = st.arrows[0].clone();
    st.arrows = (0..=export::mermaid::LIMIT as u64)
        .map(|id| raftlab::export::diagram::Arrow { id, ..one.clone() })
        .collect();
    let err = export::render(&st, Format::Mermaid).expect_err("too many");
    let said = err.to_string();
    assert!(
        said.contains("301 messages") && said.contains("--from/--to"),
        "{said}"
    );
    st.arrows.truncate(export::mermaid::LIMIT);
    assert!(
        export::render(&st, Format::Mermaid).is_ok(),
        "the limit itself is fine"
    );
}

#[test]
fn the_extension_chooses_the_format() {
    let f = |p: &str| Format::of_path(Path::new(p)).ok();
    assert_eq!(f("a.svg"), Some(Format::Svg));
    assert_eq!(f("A.SVG"), Some(Format::Svg));
    assert_eq!(f("a.html"), Some(Format::Html));
    assert_eq!(f("a.htm"), Some(Format::Html));
    assert_eq!(f("a.mmd"), Some(Format::Mermaid));
    assert_eq!(f("a.shiviz"), Some(Format::ShiViz));
    assert_eq!(f("a.png"), None);
    assert_eq!(f("svg"), None);
}
