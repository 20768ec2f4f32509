//! Tests of the recording format end to end: what the encoder writes, the reader gives back.

use std::time::Duration;

use super::*;
use crate::cluster::{ClusterStatus, InFlightInfo, NodeState, Preset};
use crate::node::{Event, EventKind};
use crate::observe::cluster_view::{ClusterView, LogWant, LogWindow};
use crate::observe::feed::{Category, DropMark, FEED_CAPACITY};
use crate::raft::{Index, MessageKind, NodeId, Role, Status, Term};

fn node(id: NodeId, term: Term, role: Role, last: Index, up: bool) -> NodeState {
    NodeState {
        id,
        addr: std::net::SocketAddr::from(([127, 0, 0, 1], 7000 + id as u16)),
        up,
        status: Status {
            id,
            role,
            term,
            voted_for: Some(1),
            leader_id: Some(1),
            commit: last,
            applied: last,
            last_log_index: last,
            last_log_term: term,
            persisted_index: last,
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
            voters: Vec::new(),
            learners: Vec::new(),
            conf_pending: false,
        },
        kv_len: 0,
        clock_rate: 1.0,
        slow: Duration::ZERO,
    }
}

/// A 3-node view at `ms` where node 1 leads term `term` over `last` entries of that term.
fn view(ms: u64, term: Term, last: Index, kv: &[(&str, &str)]) -> ClusterView {
    let nodes: Vec<NodeState> = (1..=3)
        .map(|id| {
            let role = if id == 1 {
                Role::Leader
            } else {
                Role::Follower
            };
            node(id, term, role, last, true)
        })
        .collect();
    let logs = (1..=3)
        .map(|id| {
            (
                id,
                LogWindow {
                    entries: (1..=last)
                        .map(|i| (i, if i <= 2 { 1 } else { term }))
                        .collect(),
                },
            )
        })
        .collect();
    let contents: Vec<(String, String)> = kv
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    ClusterView {
        at: Duration::from_millis(ms),
        status: ClusterStatus {
            nodes,
            paused: false,
            speed: 1.0,
            preset: Preset::Fast,
            tick: Duration::from_millis(10),
            groups: vec![vec![1, 2, 3]],
            cut_links: Vec::new(),
        },
        in_flight: Vec::new(),
        links: Vec::new(),
        logs,
        kv: (1..=3).map(|id| (id, contents.clone())).collect(),
    }
}

fn header() -> String {
    Encoder::header(&Header::new(3, Preset::Fast, 7, "test"))
}

fn parse(lines: &[String]) -> Result<Recording, RecordError> {
    let text = lines.join("\n") + "\n";
    Recording::parse(text.as_bytes())
}

#[test]
fn frames_round_trip_through_diffs() {
    let mut views = vec![
        view(100, 1, 2, &[]),
        view(200, 2, 4, &[("x", "1")]),
        view(300, 2, 5, &[("x", "2"), ("y", "1")]),
    ];
    // Node 3 goes down; the cluster pauses with a message in flight; a key is deleted.
    let mut v = view(400, 2, 5, &[("y", "1")]);
    v.status.nodes[2].up = false;
    v.status.paused = true;
    v.in_flight.push(InFlightInfo {
        id: 9,
        from: 1,
        to: 2,
        kind: MessageKind::Heartbeat,
        term: 2,
        sent_at: Duration::from_millis(390),
        due_at: Duration::from_millis(420),
        summary: "1->2 heartbeat".into(),
    });
    views.push(v.clone());
    // One message arrives, two leave: a delta. Then the two swap places: in full.
    let msg = |id: u64| InFlightInfo {
        id,
        summary: format!("message {id}"),
        ..v.in_flight[0].clone()
    };
    let mut v5 = v.clone();
    v5.at = Duration::from_millis(450);
    v5.status.nodes[1].status.election_elapsed = 3;
    v5.in_flight = vec![v.in_flight[0].clone(), msg(10), msg(11)];
    views.push(v5.clone());
    let mut v6 = v5.clone();
    v6.at = Duration::from_millis(470);
    v6.in_flight = vec![msg(11), msg(12)];
    views.push(v6.clone());
    let mut v7 = v6.clone();
    v7.at = Duration::from_millis(480);
    v7.in_flight = vec![msg(12), msg(11)];
    views.push(v7);
    let mut enc = Encoder::new();
    let mut lines = vec![header()];
    for v in &views {
        lines.push(enc.frame(v, false).expect("each view changed something"));
    }
    // Unchanged: no line, unless asked for.
    assert!(
        lines[5].contains(r#""patch":[{"id":2,"status":{"election_elapsed":3}}]"#),
        "a patch holds only what changed: {}",
        lines[5]
    );
    assert!(
        lines[5].contains(r#""in_flight_add":[{"id":10"#),
        "{}",
        lines[5]
    );
    assert!(!lines[5].contains(r#""in_flight":"#), "{}", lines[5]);
    assert!(
        lines[6].contains(r#""in_flight_del":[9,10]"#),
        "{}",
        lines[6]
    );
    assert!(
        lines[7].contains(r#""in_flight":[{"id":12"#),
        "{}",
        lines[7]
    );
    let same = ClusterView {
        at: Duration::from_millis(500),
        ..views.last().unwrap().clone()
    };
    assert_eq!(enc.frame(&same, false), None);
    let end = enc.frame(&same, true).expect("always");
    assert_eq!(end, r#"{"type":"frame","t":500}"#);
    lines.push(end);
    // Later frames hold only what changed.
    assert!(!lines[4].contains("\"logs\""), "{}", lines[4]);
    let r = parse(&lines).expect("parses");
    assert_eq!(r.frames(), 8);
    assert_eq!(r.start(), Duration::from_millis(100));
    assert_eq!(r.duration(), Duration::from_millis(400));
    let all = LogWant {
        end: None,
        len: u64::MAX,
    };
    for v in &views {
        assert_eq!(r.frame_at(v.at, all).as_ref(), Some(v));
        // Between frames, the earlier one is in force.
        let mid = r.frame_at(v.at + Duration::from_millis(5), all).unwrap();
        assert_eq!(mid.status, v.status);
    }
    assert_eq!(r.frame_at(Duration::from_millis(99), all), None);
    assert_eq!(r.last_frame().unwrap().status, views[6].status);
    assert_eq!(
        r.frame_before(Duration::from_millis(300)),
        Some(Duration::from_millis(200))
    );
    assert_eq!(
        r.frame_after(Duration::from_millis(300)),
        Some(Duration::from_millis(400))
    );
}

#[test]
fn the_log_window_is_cut_as_the_poller_would_fetch_it() {
    let mut enc = Encoder::new();
    let v = view(100, 3, 40, &[]);
    let r = parse(&[header(), enc.frame(&v, false).unwrap()]).unwrap();
    let tail = r.frame_at(v.at, LogWant { end: None, len: 10 }).unwrap();
    let w = &tail.logs[&1].entries;
    assert_eq!(w.first(), Some(&(31, 3)));
    assert_eq!(w.last(), Some(&(40, 3)));
    let back = r
        .frame_at(
            v.at,
            LogWant {
                end: Some(5),
                len: 4,
            },
        )
        .unwrap();
    assert_eq!(back.logs[&2].entries, vec![(2, 1), (3, 3), (4, 3), (5, 3)]);
}

#[test]
fn feed_drops_results_and_narration_follow_the_time() {
    let mut enc = Encoder::new();
    let mut lines = vec![header(), enc.frame(&view(0, 1, 1, &[]), false).unwrap()];
    for i in 0..(FEED_CAPACITY as u64 + 10) {
        lines.push(Encoder::feed(
            Duration::from_millis(i),
            1,
            Category::Election,
            &format!("e{i}"),
        ));
    }
    lines.push(Encoder::event(&Event {
        at: Duration::from_millis(7),
        node: 2,
        kind: EventKind::MessageDropped {
            id: 3,
            from: 2,
            to: 3,
            kind: MessageKind::Heartbeat,
            why: "link cut".into(),
        },
    }));
    lines.push(Encoder::note(
        Duration::from_millis(10),
        NoteKind::Result,
        "first",
        None,
    ));
    lines.push(Encoder::note(
        Duration::from_millis(20),
        NoteKind::Narration,
        "story",
        None,
    ));
    lines.push(Encoder::note(
        Duration::from_millis(30),
        NoteKind::Result,
        "second",
        None,
    ));
    let r = parse(&lines).unwrap();
    let feed = r.feed_at(Duration::from_millis(7));
    // e0..=e7 and the drop (stamped 7, after e7 in the file).
    assert_eq!(feed.len(), 9);
    assert_eq!(feed[8].category, Category::Message);
    assert_eq!(feed[8].text, "dropped #3 2->3 Heartbeat (link cut)");
    assert_eq!(r.feed_at(r.end()).len(), FEED_CAPACITY);
    assert_eq!(
        r.feed_at(r.end()).last().unwrap().text,
        format!("e{}", FEED_CAPACITY + 9)
    );
    assert_eq!(r.drops_at(Duration::from_millis(6)), vec![]);
    assert_eq!(
        r.drops_at(Duration::from_millis(7)),
        vec![DropMark {
            at: Duration::from_millis(7),
            from: 2,
            to: 3
        }]
    );
    assert_eq!(r.result_at(Duration::from_millis(9)), None);
    assert_eq!(r.result_at(Duration::from_millis(25)), Some("first"));
    assert_eq!(r.result_at(Duration::from_millis(30)), Some("second"));
    assert_eq!(r.narration_at(Duration::from_millis(19)), None);
    assert_eq!(r.narration_at(Duration::from_millis(99)), Some("story"));
    assert!(r.has_narration());
}

#[test]
fn bad_files_get_clear_errors() {
    let frame = Encoder::new().frame(&view(0, 1, 1, &[]), false).unwrap();
    let err = |text: &str| Recording::parse(text.as_bytes()).unwrap_err().to_string();
    assert_eq!(err(""), "empty file: not a raftlab recording");
    assert!(
        err("hello\n").starts_with("line 1: not a raftlab recording"),
        "{}",
        err("hello\n")
    );
    assert!(err(&format!("{frame}\n")).contains("not of type \"header\""));
    let future = header().replace("\"format\":1", "\"format\":99");
    assert!(
        err(&format!("{future}\n")).contains("recording format 99"),
        "{}",
        err(&future)
    );
    let garbage = format!(
        "{}\n{frame}\n{{\"type\":\"frame\",\"t\":\"soon\"}}\n{frame}\n",
        header()
    );
    assert!(err(&garbage).starts_with("line 3: "), "{}", err(&garbage));
    let not_json = format!("{}\n{frame}\nxyz\n", header());
    assert!(err(&not_json).starts_with("line 3: "), "{}", err(&not_json));
    assert_eq!(
        err(&format!("{}\n", header())),
        RecordError::NoFrame.to_string()
    );
    let twice = format!("{}\n{frame}\n{}\n", header(), header());
    assert_eq!(err(&twice), "line 3: a second header");
}

#[test]
fn a_last_line_cut_short_is_dropped_with_a_warning() {
    let frame = Encoder::new().frame(&view(0, 1, 1, &[]), false).unwrap();
    let note = Encoder::note(Duration::from_millis(5), NoteKind::Result, "ok", None);
    let cut = &note[..note.len() / 2];
    let text = format!("{}\n{frame}\n{cut}", header());
    let r = Recording::parse(text.as_bytes()).expect("tolerated");
    assert_eq!(r.warnings().len(), 1, "{:?}", r.warnings());
    assert!(r.warnings()[0].contains("line 3"));
    assert!(r.notes().is_empty());
    // The same line cut short but followed by a newline is garbage.
    let text = format!("{}\n{frame}\n{cut}\n", header());
    assert!(Recording::parse(text.as_bytes()).is_err());
    // Unknown line types are skipped.
    let text = format!("{}\n{frame}\n{{\"type\":\"marker\",\"t\":1}}\n", header());
    let r = Recording::parse(text.as_bytes()).expect("skipped");
    assert_eq!(r.warnings(), ["1 lines of an unknown type skipped"]);
}
