//! Recordings (`--record`) and their replay (`raftlab replay`).
//!
//! 1. A real 3-node cluster (fast preset, memory storage) is recorded while a client writes and
//!    the leader is killed and restarted; the recording's last frame must hold the node states
//!    the live cluster had at its end, and the frames in between must show the node down.
//! 2. Bad files: garbage, a last line cut short, another format version.
//! 3. The replay dashboard on a hand-made recording, drawn on ratatui's `TestBackend`: seeking
//!    back then forward draws the identical screen; play / pause changes the slider only; keys
//!    that would act on a cluster are refused; the screen with its slider is an insta snapshot
//!    (`INSTA_UPDATE=always cargo test --release --test replay` writes it; read it before
//!    committing).
//!
//! The cluster test runs on loaded 2-core machines: every wait polls a condition against a
//! generous deadline, never a bare sleep.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::Terminal;

use crate::common::in_process::{agreed_leader, eventually};
use raftlab::chaos::outcome_of;
use raftlab::check::{History, KvOp, KvOutput, Outcome};
use raftlab::cluster::{
    Cluster, ClusterConfig, ClusterHandle, ClusterStatus, InFlightInfo, NodeState, Preset,
};
use raftlab::node::{Event, EventKind};
use raftlab::observe::cluster_view::{ClusterView, LogWindow};
use raftlab::observe::feed::Category;
use raftlab::pb::{self, kv_client::KvClient};
use raftlab::raft::{Index, MessageKind, NodeId, Role, Status, Term};
use raftlab::record::{Encoder, Header, NoteKind, RecordError, RecordOptions, Recorder, Recording};
use raftlab::tui::action::ReplayAction;
use raftlab::tui::app::{AppState, Focus, Theme};
use raftlab::tui::replay::{ReplayState, READ_ONLY};
use raftlab::tui::view;

// ----------------------------------------------------------------------------------------------
// 1. A real cluster, recorded
// ----------------------------------------------------------------------------------------------

/// Puts `key=value` through the leader's Kv service with a session, recording each attempt in
/// `history`; retries (same session and sequence number) until one succeeds.
async fn put(c: &ClusterHandle, history: &History, key: &str, value: &str, seq: u64) {
    eventually(&format!("put {key}={value}"), || async {
        let leader = agreed_leader(c)?;
        let addr = c.addr(leader)?;
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .ok()?
            .connect_lazy();
        let mut kv = KvClient::new(channel);
        let mut req = tonic::Request::new(pb::PutRequest {
            key: key.into(),
            value: value.into(),
            client_id: 7,
            seq,
        });
        req.set_timeout(Duration::from_secs(3));
        let pending = history.invoke(
            7,
            KvOp::Put {
                key: key.into(),
                value: value.into(),
            },
        );
        match kv.put(req).await {
            Ok(r) => {
                let r = r.into_inner();
                pending.complete(Outcome::Ok(KvOutput::Put {
                    previous: r.had_previous.then_some(r.previous),
                }));
                Some(())
            }
            Err(status) => {
                pending.complete(outcome_of(&status));
                None
            }
        }
    })
    .await
}

/// Waits until the cluster's status stays the same over several polls (it is paused, and every
/// node has applied what it committed).
async fn stable_status(c: &ClusterHandle) -> ClusterStatus {
    let mut same = 0;
    let mut last = c.status();
    eventually("a paused cluster's status to settle", || {
        let now = c.status();
        let settled = now
            .nodes
            .iter()
            .all(|n| !n.up || n.status.applied == n.status.commit);
        same = if now == last && settled { same + 1 } else { 0 };
        last = now.clone();
        async move { (same >= 5).then_some(now) }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_run_replays_to_the_node_states_the_live_run_ended_with() {
    let _real_time = crate::common::real_time();
    let mut config = ClusterConfig::new(3, Preset::Fast);
    config.seed = 11;
    let cluster = Cluster::start(config).await.expect("cluster starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("run.jsonl");
    let history = History::new();
    let recorder = Recorder::start(
        cluster.handle(),
        &path,
        Header::new(3, Preset::Fast, 11, "tests/replay.rs"),
        Some(history.clone()),
    )
    .expect("recorder starts");

    let first = eventually("a leader", || async { agreed_leader(&cluster) }).await;
    let mut seq = 0;
    for i in 0..5 {
        seq += 1;
        put(&cluster, &history, &format!("k{i}"), &format!("v{i}"), seq).await;
    }
    recorder.note(NoteKind::Result, format!("killed node {first}"));
    cluster.kill(first).await.expect("kill the leader");
    let second = eventually("a new leader among the others", || async {
        agreed_leader(&cluster).filter(|l| *l != first)
    })
    .await;
    for i in 5..8 {
        seq += 1;
        put(&cluster, &history, &format!("k{i}"), &format!("v{i}"), seq).await;
    }
    cluster.restart(first).await.expect("restart");
    recorder.note(NoteKind::Narration, format!("node {first} is back"));
    eventually("the restarted node catches up", || async {
        let st = cluster.status();
        let leader = st.nodes.iter().find(|n| n.id == second)?;
        let back = st.nodes.iter().find(|n| n.id == first)?;
        (back.up && back.status.applied == leader.status.commit && leader.status.commit > 0)
            .then_some(())
    })
    .await;
    cluster.pause();
    let live = stable_status(&cluster).await;
    let live_kv: BTreeMap<NodeId, Vec<(String, String)>> = {
        let mut m = BTreeMap::new();
        for id in cluster.ids() {
            m.insert(id, cluster.kv(id).await.expect("kv of a running node"));
        }
        m
    };
    let summary = recorder.finish().await.expect("the recording is written");
    cluster.shutdown().await;

    assert_eq!(summary.path, path);
    assert_eq!(
        std::fs::metadata(&path).expect("file").len(),
        summary.bytes,
        "the summary counts every byte written"
    );
    let rec = Recording::load(&path).expect("the recording loads");
    assert!(rec.warnings().is_empty(), "{:?}", rec.warnings());
    assert_eq!(rec.header().nodes, 3);
    assert_eq!(rec.header().title, "tests/replay.rs");
    let end = rec.last_frame().expect("a last frame");
    // The same node states: role, term, vote, commit, applied, last log index and term, up...
    for (r, l) in end.status.nodes.iter().zip(&live.nodes) {
        let key = |n: &NodeState| {
            (
                n.id,
                n.up,
                n.status.role,
                n.status.term,
                n.status.voted_for,
                n.status.commit,
                n.status.applied,
                n.status.last_log_index,
                n.status.last_log_term,
            )
        };
        assert_eq!(key(r), key(l), "node {}", l.id);
    }
    // ... and everything else the dashboard draws from them, and the applied contents.
    assert_eq!(end.status, live);
    assert_eq!(end.kv, live_kv);
    assert_eq!(live_kv[&second].len(), 8);

    // The frames in between saw the old leader down, then up again.
    let down_at = (0..)
        .map(|i| rec.start() + Duration::from_millis(20 * i))
        .take_while(|t| *t <= rec.end())
        .find(|t| {
            rec.frame_at(*t, Default::default())
                .is_some_and(|v| v.status.nodes.iter().any(|n| n.id == first && !n.up))
        })
        .expect("a frame with the killed node down");
    assert!(down_at < rec.end());
    let feed = rec.feed_at(rec.end());
    assert!(
        feed.iter()
            .any(|l| l.text == format!("kill node {first}") && l.category == Category::Fault),
        "the kill is in the feed"
    );
    assert!(feed
        .iter()
        .any(|l| l.node == first && l.text.starts_with("node down")));
    assert!(feed.iter().any(|l| l.category == Category::Message));
    // The notes: the result and narration given, and every client operation of the history.
    assert_eq!(
        rec.result_at(rec.end()),
        Some(format!("killed node {first}").as_str())
    );
    assert_eq!(
        rec.narration_at(rec.end()),
        Some(format!("node {first} is back").as_str())
    );
    let ops: Vec<_> = rec
        .notes()
        .iter()
        .filter(|n| n.kind == NoteKind::Op)
        .collect();
    assert_eq!(ops.len(), history.len(), "one note per operation");
    let ok = ops
        .iter()
        .filter(|n| n.op.as_ref().is_some_and(|o| o.output.is_some()))
        .count();
    assert_eq!(
        ok,
        8,
        "{:?}",
        ops.iter().map(|n| &n.text).collect::<Vec<_>>()
    );
    assert!(ops.iter().all(|n| n.t >= rec.start() && n.t <= rec.end()));

    // The replay dashboard draws the end as the live one would have.
    let mut state = AppState::replay(Arc::new(rec), "run.jsonl".into(), 1.0, Theme::Mono);
    state.replay_update(ReplayAction::End);
    let text = screen_text(&draw(&state, 140, 45));
    assert!(text.contains("REPLAY"), "{text}");
    assert!(text.contains("■ end"), "{text}");
    assert!(text.contains("3/3 up"), "{text}");

    // 2. The same file, damaged in the ways a file gets damaged.
    let good = std::fs::read_to_string(&path).expect("read");
    let cut = &good[..good.len() - 7];
    let cut_path = dir.path().join("cut.jsonl");
    std::fs::write(&cut_path, cut).expect("write");
    let rec = Recording::load(&cut_path).expect("a last line cut short is tolerated");
    assert_eq!(rec.warnings().len(), 1, "{:?}", rec.warnings());
    let lines = good.lines().count();
    assert!(
        rec.warnings()[0].starts_with(&format!("line {lines}: cut short")),
        "{:?}",
        rec.warnings()
    );

    let garbage_path = dir.path().join("garbage.jsonl");
    let mut garbage: Vec<&str> = good.lines().collect();
    garbage.insert(3, "{\"type\":\"frame\",\"t\":[1,2]}");
    std::fs::write(&garbage_path, garbage.join("\n") + "\n").expect("write");
    match Recording::load(&garbage_path) {
        Err(e @ RecordError::Line { line: 4, .. }) => {
            assert!(e.to_string().starts_with("line 4: "), "{e}")
        }
        other => panic!("garbage at line 4 must be refused there: {other:?}"),
    }
    let version_path = dir.path().join("version.jsonl");
    std::fs::write(
        &version_path,
        good.replacen("\"format\":1,", "\"format\":2,", 1),
    )
    .expect("write");
    match Recording::load(&version_path) {
        Err(e @ RecordError::Version { found: 2 }) => {
            assert!(e.to_string().contains("recording format 2"), "{e}")
        }
        other => panic!("a wrong version must be refused: {other:?}"),
    }
    let no_header = dir.path().join("no-header.jsonl");
    std::fs::write(
        &no_header,
        good.lines().skip(1).collect::<Vec<_>>().join("\n"),
    )
    .expect("write");
    assert!(matches!(
        Recording::load(&no_header),
        Err(RecordError::NoHeader { .. })
    ));
    assert!(matches!(
        Recording::load(&dir.path().join("missing.jsonl")),
        Err(RecordError::Io(_))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finish_writes_the_state_at_the_end_whatever_the_sampling() {
    let _real_time = crate::common::real_time();
    // A frame an hour: the only frames are the first and the one `finish` captures.
    let cluster = Cluster::start(ClusterConfig::new(3, Preset::Fast))
        .await
        .expect("cluster starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("sparse.jsonl");
    let history = History::new();
    let recorder = Recorder::start_with(
        cluster.handle(),
        &path,
        Header::new(3, Preset::Fast, 0, "sparse"),
        Some(history.clone()),
        RecordOptions {
            frame_every: Duration::from_secs(3_600),
        },
    )
    .expect("recorder starts");
    eventually("a leader", || async { agreed_leader(&cluster) }).await;
    put(&cluster, &history, "x", "1", 1).await;
    eventually("every node applies the write", || async {
        let st = cluster.status();
        let top = st.nodes.iter().map(|n| n.status.commit).max()?;
        st.nodes
            .iter()
            .all(|n| n.status.applied == top && top > 0)
            .then_some(())
    })
    .await;
    let leader = agreed_leader(&cluster).expect("a leader");
    let follower = cluster
        .ids()
        .into_iter()
        .find(|id| *id != leader)
        .expect("a follower");
    cluster.kill(follower).await.expect("kill");
    cluster.pause();
    let live = stable_status(&cluster).await;
    let summary = recorder.finish().await.expect("written");
    cluster.shutdown().await;
    let rec = Recording::load(&path).expect("loads");
    assert_eq!(rec.frames(), 2, "the first frame and the final one");
    let end = rec.last_frame().expect("a last frame");
    assert_eq!(end.status, live);
    assert!(end
        .kv
        .values()
        .any(|kv| kv == &[("x".to_string(), "1".to_string())]));
    assert!(
        end.status.nodes.iter().any(|n| n.id == follower && !n.up),
        "the kill is in the final frame"
    );
    assert!(summary.duration > Duration::ZERO);
    // The operation completed after the first frame and before the last.
    let ops: Vec<_> = rec
        .notes()
        .iter()
        .filter(|n| n.kind == NoteKind::Op)
        .collect();
    assert!(!ops.is_empty());
    assert!(ops.iter().all(|n| n.t >= rec.start() && n.t <= rec.end()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_that_cannot_write_says_so() {
    let _real_time = crate::common::real_time();
    let cluster = Cluster::start(ClusterConfig::new(1, Preset::Fast))
        .await
        .expect("cluster starts");
    let dir = tempfile::tempdir().expect("temp dir");
    let err = Recorder::start(
        cluster.handle(),
        &dir.path().join("no/such/dir/run.jsonl"),
        Header::new(1, Preset::Fast, 0, "t"),
        None,
    )
    .expect_err("no such directory");
    assert!(err.to_string().contains("no/such/dir/run.jsonl"), "{err}");
    // /dev/full takes the file but no byte: the header already fails.
    if std::path::Path::new("/dev/full").exists() {
        let err = Recorder::start(
            cluster.handle(),
            std::path::Path::new("/dev/full"),
            Header::new(1, Preset::Fast, 0, "t"),
            None,
        )
        .expect_err("a full disk");
        assert!(err.to_string().contains("/dev/full"), "{err}");
    }
    cluster.shutdown().await;
}

// ----------------------------------------------------------------------------------------------
// 3. The replay dashboard on a hand-made recording
// ----------------------------------------------------------------------------------------------

fn node(id: NodeId, role: Role, term: Term, last: Index, commit: Index, up: bool) -> NodeState {
    NodeState {
        id,
        addr: SocketAddr::from(([127, 0, 0, 1], 7000 + id as u16)),
        up,
        status: Status {
            id,
            role,
            term,
            voted_for: Some(1),
            leader_id: (role != Role::Candidate).then_some(1),
            commit,
            applied: commit,
            last_log_index: last,
            last_log_term: if last == 0 { 0 } else { term },
            persisted_index: last,
            first_index: 1,
            snapshot_index: 0,
            snapshot_term: 0,
            snapshot_bytes: 0,
            receiving_snapshot: None,
            election_elapsed: (id as u32 * 3) % 11,
            election_timeout: 20,
            progress: Vec::new(),
            pre_candidate: false,
            transfer_target: None,
            voters: vec![1, 2, 3],
            learners: Vec::new(),
            conf_pending: false,
        },
        kv_len: commit as usize,
        clock_rate: 1.0,
        slow: Duration::ZERO,
    }
}

/// Three nodes at `ms`: node 1 leads term `term` over `last` entries (all of term 1) and
/// committed `commit`; node 3 is up or not. The followers' timers move every 100 ms, so every
/// 100 ms is a frame.
fn frame(ms: u64, term: Term, last: Index, commit: Index, three_up: bool) -> ClusterView {
    let mut nodes = vec![
        node(1, Role::Leader, term, last, commit, true),
        node(2, Role::Follower, term, last, commit, true),
        node(
            3,
            Role::Follower,
            term,
            last.min(2),
            commit.min(2),
            three_up,
        ),
    ];
    for n in &mut nodes[1..] {
        n.status.election_elapsed = (ms / 100 % 15) as u32;
    }
    let logs = nodes
        .iter()
        .map(|n| {
            (
                n.id,
                LogWindow {
                    entries: (1..=n.status.last_log_index).map(|i| (i, 1)).collect(),
                },
            )
        })
        .collect();
    let kv = nodes
        .iter()
        .map(|n| {
            let contents = (1..=n.status.applied)
                .map(|i| (format!("k{i}"), format!("v{i}")))
                .collect();
            (n.id, contents)
        })
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
        kv,
    }
}

fn heartbeat(id: u64, to: NodeId, sent_ms: u64) -> InFlightInfo {
    InFlightInfo {
        id,
        from: 1,
        to,
        kind: MessageKind::Heartbeat,
        term: 1,
        sent_at: Duration::from_millis(sent_ms),
        due_at: Duration::from_millis(sent_ms + 300),
        summary: format!("1->{to} AppendEntries{{term:1 heartbeat}}"),
    }
}

/// Ten seconds of a 3-node cluster: node 1 leads, two writes, node 3 killed at 6 s with a
/// heartbeat to it dropped, a result line for each.
fn story() -> Recording {
    let header = Header {
        started: "2025-11-26T21:30:00Z".into(),
        started_unix_ms: 1_764_192_600_000,
        ..Header::new(3, Preset::Fast, 5, "raftlab --nodes 3 --record story.jsonl")
    };
    let mut enc = Encoder::new();
    let mut lines = vec![Encoder::header(&header)];
    let mut push_frame = |v: ClusterView, lines: &mut Vec<String>| {
        if let Some(l) = enc.frame(&v, false) {
            lines.push(l);
        }
    };
    let feed = |ms: u64, node: NodeId, c: Category, text: &str| {
        Encoder::feed(Duration::from_millis(ms), node, c, text)
    };
    push_frame(frame(1_000, 1, 0, 0, true), &mut lines);
    lines.push(feed(
        1_050,
        1,
        Category::Election,
        "became leader in term 1",
    ));
    for ms in (1_100..=10_000).step_by(100) {
        let (last, commit) = match ms {
            ..=2_999 => (0, 0),
            3_000..=3_999 => (1, 1),
            _ => (2, 2),
        };
        let mut v = frame(ms, 1, last, commit, ms < 6_000);
        // Heartbeats in flight every half second, for 300 ms.
        if ms % 500 < 300 {
            v.in_flight = vec![heartbeat(ms / 500, 2, ms - ms % 500)];
            if ms < 6_000 {
                v.in_flight
                    .push(heartbeat(1_000 + ms / 500, 3, ms - ms % 500));
            }
        }
        push_frame(v, &mut lines);
    }
    lines.push(feed(
        2_900,
        1,
        Category::Client,
        "client put k1 v1 -> ok in 3.1 ms",
    ));
    lines.push(Encoder::note(
        Duration::from_millis(2_950),
        NoteKind::Result,
        "put k1 v1 → ok, new key (index 1, term 1) in 3.1 ms",
        None,
    ));
    lines.push(feed(3_000, 1, Category::Replication, "commit 0 -> 1"));
    lines.push(feed(3_900, 1, Category::Replication, "commit 1 -> 2"));
    lines.push(feed(6_000, 0, Category::Fault, "kill node 3"));
    lines.push(feed(6_000, 3, Category::Fault, "node down (killed)"));
    lines.push(Encoder::note(
        Duration::from_millis(6_010),
        NoteKind::Result,
        "killed node 3",
        None,
    ));
    lines.push(Encoder::event(&Event {
        at: Duration::from_millis(6_500),
        node: 1,
        kind: EventKind::MessageDropped {
            id: 77,
            from: 1,
            to: 3,
            kind: MessageKind::Heartbeat,
            why: "receiver down".into(),
        },
    }));
    Recording::parse((lines.join("\n") + "\n").as_bytes()).expect("the story parses")
}

fn replay_state() -> AppState {
    let mut state = AppState::replay(Arc::new(story()), "story.jsonl".into(), 1.0, Theme::Mono);
    // Tests drive the position themselves.
    state.replay_update(ReplayAction::PlayPause);
    assert!(!state.replay.as_ref().expect("a replay").playing);
    state
}

fn draw(state: &AppState, w: u16, h: u16) -> Terminal<TestBackend> {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("a test terminal");
    let mut layout = state.layout;
    terminal
        .draw(|f| view::view(state, &mut layout, f))
        .expect("the test backend never fails");
    terminal
}

fn buffer(state: &AppState, w: u16, h: u16) -> Buffer {
    draw(state, w, h).backend().buffer().clone()
}

fn screen_text(t: &Terminal<TestBackend>) -> String {
    let b = t.backend().buffer();
    (0..b.area.height)
        .map(|y| {
            (0..b.area.width)
                .map(|x| b[(x, y)].symbol())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn row(b: &Buffer, y: u16) -> String {
    (0..b.area.width).map(|x| b[(x, y)].symbol()).collect()
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// The replay's state.
fn rp(state: &AppState) -> &ReplayState {
    state.replay.as_ref().expect("a replay")
}

fn at(ms: u64) -> Duration {
    Duration::from_millis(ms)
}

#[test]
fn seeking_back_then_forward_draws_the_identical_screen() {
    let _real_time = crate::common::real_time();
    for (w, h) in [(140, 45), (80, 24)] {
        let mut state = replay_state();
        let t1 = at(6_620);
        // Arrive at t1 from an earlier moment, drawn.
        state.seek(at(2_950));
        let _ = buffer(&state, w, h);
        state.seek(t1);
        // Settle what the first draw learns (how many log cells fit).
        let _ = buffer(&state, w, h);
        state.refresh_replay();
        let first = buffer(&state, w, h);
        let mut others = Vec::new();
        for t in [0, 1_000, 2_950, 10_000, 4_321, 6_000, 6_499, 99_999] {
            state.seek(at(t));
            others.push(buffer(&state, w, h));
        }
        // By keys too: to the start, then forward.
        for k in [
            KeyCode::Home,
            KeyCode::Right,
            KeyCode::PageDown,
            KeyCode::End,
        ] {
            state.on_key(key(k));
            others.push(buffer(&state, w, h));
        }
        assert!(
            others.iter().all(|b| *b != first),
            "every other moment looks different ({w}x{h})"
        );
        state.seek(t1);
        assert_eq!(buffer(&state, w, h), first, "back at t1 ({w}x{h})");
        // Frame by frame from before t1 lands on the same screen too.
        state.seek(at(6_400));
        for _ in 0..3 {
            state.on_key(key(KeyCode::Char('.')));
        }
        assert_eq!(rp(&state).position, at(6_700));
        state.on_key(key(KeyCode::Char(',')));
        assert_eq!(rp(&state).position, at(6_600));
        state.seek(t1);
        assert_eq!(buffer(&state, w, h), first, "back at t1 again ({w}x{h})");
        // A dashboard that went straight to t1 draws the same: nothing of the tour stays.
        let mut fresh = replay_state();
        fresh.seek(t1);
        let _ = buffer(&fresh, w, h);
        fresh.refresh_replay();
        assert_eq!(buffer(&fresh, w, h), first, "fresh at t1 ({w}x{h})");
    }
}

#[test]
fn the_screen_at_a_moment_shows_that_moment() {
    let _real_time = crate::common::real_time();
    let mut state = replay_state();
    state.seek(at(6_620));
    let text = screen_text(&draw(&state, 140, 45));
    // Node 3 is down, the drop at 6.5 s is marked, the last result is the kill.
    assert!(text.contains("✕3"), "{text}");
    assert!(text.contains('✗'), "{text}");
    assert!(text.contains("killed node 3"), "{text}");
    assert!(text.contains("6.6s"), "{text}");
    state.seek(at(2_960));
    let text = screen_text(&draw(&state, 140, 45));
    assert!(text.contains("●3"), "{text}");
    assert!(
        !text.contains("kill node 3"),
        "the future is not in the feed: {text}"
    );
    assert!(text.contains("put k1 v1 → ok"), "{text}");
    // Before any result: what is being replayed.
    state.seek(at(1_000));
    let text = screen_text(&draw(&state, 140, 45));
    assert!(
        text.contains("replay of story.jsonl: raftlab --nodes 3 --record story.jsonl"),
        "{text}"
    );
}

#[test]
fn play_and_pause_change_only_the_slider() {
    let _real_time = crate::common::real_time();
    let mut state = replay_state();
    state.seek(at(4_000));
    let (w, h) = (140, 45);
    let paused = buffer(&state, w, h);
    state.on_key(key(KeyCode::Char(' ')));
    assert!(rp(&state).playing);
    let playing = buffer(&state, w, h);
    let slider = h - 1;
    for y in 0..h {
        if y == slider {
            assert_ne!(row(&paused, y), row(&playing, y));
            assert!(row(&paused, y).contains("❚❚ paused"), "{}", row(&paused, y));
            assert!(
                row(&playing, y).contains("▶ playing"),
                "{}",
                row(&playing, y)
            );
        } else {
            assert_eq!(row(&paused, y), row(&playing, y), "row {y}");
        }
    }
    // Speed changes the slider only too.
    state.on_key(key(KeyCode::Char('+')));
    let faster = buffer(&state, w, h);
    assert!(
        row(&faster, slider).contains("×2"),
        "{}",
        row(&faster, slider)
    );
    for y in 0..slider {
        assert_eq!(row(&playing, y), row(&faster, y), "row {y}");
    }
}

#[test]
fn playback_moves_by_speed_and_stops_at_the_end() {
    let _real_time = crate::common::real_time();
    let mut state = replay_state();
    state.seek(at(2_000));
    state.advance(Duration::from_millis(500));
    assert_eq!(rp(&state).position, at(2_000), "paused");
    state.replay_update(ReplayAction::PlayPause);
    state.replay_update(ReplayAction::Faster);
    state.advance(Duration::from_millis(500));
    assert_eq!(rp(&state).position, at(3_000));
    state.advance(Duration::from_secs(60));
    let r = rp(&state);
    assert_eq!(r.position, at(10_000));
    assert!(!r.playing, "stops at the end");
    // Play at the end starts over.
    state.replay_update(ReplayAction::PlayPause);
    assert_eq!(rp(&state).position, at(1_000));
    for _ in 0..10 {
        state.replay_update(ReplayAction::Faster);
    }
    assert_eq!(rp(&state).speed, 16.0);
    for _ in 0..10 {
        state.replay_update(ReplayAction::Slower);
    }
    assert_eq!(rp(&state).speed, 0.25);
}

#[test]
fn keys_that_act_on_a_cluster_are_read_only() {
    let _real_time = crate::common::real_time();
    let mut state = replay_state();
    state.seek(at(4_000));
    for c in ['k', 'r', 'i', 'w', 'h', 't', 'C', 'S', 'x'] {
        let effects = state.on_key(key(KeyCode::Char(c)));
        assert!(effects.is_empty(), "{c}");
        assert_eq!(state.status_line, READ_ONLY, "{c}");
    }
    // The prompt's cluster commands too; help still works.
    state.on_key(key(KeyCode::Char(':')));
    for c in "kill 2".chars() {
        state.on_key(key(KeyCode::Char(c)));
    }
    assert!(state.on_key(key(KeyCode::Enter)).is_empty());
    assert_eq!(state.status_line, READ_ONLY);
    state.on_key(key(KeyCode::Char(':')));
    for c in "help".chars() {
        state.on_key(key(KeyCode::Char(c)));
    }
    state.on_key(key(KeyCode::Enter));
    assert_eq!(state.focus, Focus::Help);
    state.on_key(key(KeyCode::Esc));
    // Selection and filters keep working; ← → seek instead of selecting.
    state.on_key(key(KeyCode::Tab));
    assert_eq!(state.selected, 2);
    state.on_key(key(KeyCode::Char('3')));
    assert_eq!(state.selected, 3);
    let kind = state.feed_kind;
    state.on_key(key(KeyCode::Char('f')));
    assert_ne!(state.feed_kind, kind);
    state.on_key(key(KeyCode::Right));
    assert_eq!(state.selected, 3);
    assert_eq!(rp(&state).position, at(5_000));
    state.on_key(KeyEvent::new(KeyCode::Left, KeyModifiers::SHIFT));
    assert_eq!(rp(&state).position, at(4_900));
}

#[test]
fn help_lists_the_replay_keys() {
    let _real_time = crate::common::real_time();
    let mut state = replay_state();
    state.on_key(key(KeyCode::Char('?')));
    let text = screen_text(&draw(&state, 140, 45));
    for needle in [
        "Replay keys (story.jsonl)",
        "play / pause",
        "forward 10 s",
        "previous frame",
        "play faster",
        "read-only\".",
    ] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!text.contains("kill the selected node"), "{text}");
    assert!(!text.contains("Verdict"), "no checker in a replay: {text}");
}

#[test]
fn screen_replay_with_the_slider() {
    let _real_time = crate::common::real_time();
    let mut state = replay_state();
    state.seek(at(6_620));
    for (w, h) in [(80, 24), (140, 45)] {
        let t = draw(&state, w, h);
        insta::assert_snapshot!(format!("replay_paused_{w}x{h}"), t.backend());
    }
}
